package mailin

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/guichet/guichet/internal/testcert"
)

// memIMAP is go-imap's in-memory server on 127.0.0.1:0 with one user, u / p.
type memIMAP struct {
	t    *testing.T
	user *imapmemserver.User
	addr string
	ln   *dropListener
}

type memOptions struct {
	rev2      bool        // IMAP4rev2 (MOVE, UIDPLUS…); else IMAP4rev1 alone (COPY fallback)
	tls       *tls.Config // offer STARTTLS, and refuse plain-text passwords
	implicit  bool        // speak TLS from the start
	loginOnly bool        // offer no AUTHENTICATE mechanism
}

func newMemIMAP(t *testing.T, o memOptions) *memIMAP {
	t.Helper()
	user := imapmemserver.NewUser("u", "p")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem := imapmemserver.New()
	mem.AddUser(user)
	caps := imap.CapSet{imap.CapIMAP4rev1: {}}
	if o.rev2 {
		caps[imap.CapIMAP4rev2] = struct{}{}
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if o.loginOnly {
				return loginOnlySession{mem.NewSession()}, nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		TLSConfig:    o.tls,
		InsecureAuth: o.tls == nil,
		Logger:       log.New(testWriter{t}, "imapserver: ", 0),
	})
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	}
	dl := &dropListener{Listener: l}
	go srv.Serve(dl)
	t.Cleanup(func() { srv.Close() })
	return &memIMAP{t: t, user: user, addr: l.Addr().String(), ln: dl}
}

// url is the poller's URL for the INBOX of u.
func (m *memIMAP) url(scheme, query string) string {
	u := scheme + "://u:p@" + m.addr + "/INBOX"
	if query != "" {
		u += "?" + query
	}
	return u
}

// add appends messages to folder, with flags.
func (m *memIMAP) add(folder string, flags []imap.Flag, ids ...string) {
	m.t.Helper()
	for _, id := range ids {
		if _, err := m.user.Append(folder, bytes.NewReader(testMessage(id)), &imap.AppendOptions{Flags: flags}); err != nil {
			m.t.Fatal(err)
		}
	}
}

func (m *memIMAP) count(folder string) int {
	st, err := m.user.Status(folder, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return -1
	}
	return int(*st.NumMessages)
}

// folder lists the Message-IDs (without @test) of folder with whether each is \Seen.
func (m *memIMAP) folder(name string) map[string]bool {
	m.t.Helper()
	c, err := imapclient.DialInsecure(m.addr, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "p").Wait(); err != nil {
		m.t.Fatal(err)
	}
	return folderSeen(m.t, c, name)
}

// folderSeen reads Message-IDs and \Seen flags of a folder through c.
func folderSeen(t *testing.T, c *imapclient.Client, name string) map[string]bool {
	t.Helper()
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", name, err)
	}
	out := map[string]bool{}
	if sel.NumMessages == 0 {
		return out
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", name, err)
	}
	for _, msg := range msgs {
		id := strings.TrimSuffix(strings.Trim(msg.Envelope.MessageID, "<>"), "@test")
		out[id] = slices.Contains(msg.Flags, imap.FlagSeen)
	}
	return out
}

// dropListener remembers its connections so that a test can cut them all.
type dropListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	n     int
}

func (l *dropListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.n++
		l.mu.Unlock()
	}
	return c, err
}

func (l *dropListener) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func (l *dropListener) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// loginOnlySession offers no SASL mechanism, so clients must use LOGIN.
type loginOnlySession struct{ imapserver.Session }

func (loginOnlySession) AuthenticateMechanisms() []string { return nil }
func (loginOnlySession) Authenticate(string) (sasl.Server, error) {
	return nil, imapserver.ErrAuthFailed
}

// testLogger logs to t at debug level.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// testTLS returns a server config with a fresh certificate for 127.0.0.1 and a client
// config that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) { return testcert.New(t) }

// startPoller runs a poller until the test ends or stop is called; setup may change it
// before it runs.
func startPoller(t *testing.T, opt IMAPOptions, setup ...func(*IMAPPoller)) (p *IMAPPoller, stop func()) {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = testLogger(t)
	}
	p, err := NewIMAPPoller(opt)
	if err != nil {
		t.Fatal(err)
	}
	p.minBackoff, p.maxBackoff = 10*time.Millisecond, 200*time.Millisecond
	for _, f := range setup {
		f(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("poller did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}
