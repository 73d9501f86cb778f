package mailin

import (
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"
)

// Connection modes: TLS, STARTTLS (when offered, or required), AUTHENTICATE PLAIN or
// LOGIN. The TLS servers refuse passwords in clear, so a poller that takes mail used TLS.
func TestIMAPConnectionModes(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	tests := []struct {
		name    string
		server  memOptions
		scheme  string
		query   string
		require bool
		client  *tls.Config
		works   bool
	}{
		{"plain, no STARTTLS offered", memOptions{}, "imap", "", false, nil, true},
		{"STARTTLS when offered", memOptions{tls: serverTLS}, "imap", "", false, clientTLS, true},
		{"STARTTLS required", memOptions{tls: serverTLS}, "imap", "", true, clientTLS, true},
		{"STARTTLS required by URL", memOptions{tls: serverTLS}, "imap", "starttls=require", false, clientTLS, true},
		{"STARTTLS required, not offered", memOptions{}, "imap", "starttls=require", false, nil, false},
		{"STARTTLS off: the server refuses the password", memOptions{tls: serverTLS}, "imap", "starttls=off", false, clientTLS, false},
		{"implicit TLS", memOptions{tls: serverTLS, implicit: true}, "imaps", "", false, clientTLS, true},
		{"implicit TLS, unknown certificate", memOptions{tls: serverTLS, implicit: true}, "imaps", "", false, nil, false},
		{"implicit TLS, verification off", memOptions{tls: serverTLS, implicit: true}, "imaps", "tls_skip_verify=true", false, nil, true},
		{"LOGIN when no SASL is offered", memOptions{loginOnly: true}, "imap", "", false, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemIMAP(t, tc.server)
			m.add("INBOX", nil, "a")
			sink := newIMAPSink()
			opt := memPoller(m, sink, newFakeCursors(), newFakeLocker())
			opt.URL, opt.RequireTLS, opt.TLSConfig = m.url(tc.scheme, tc.query), tc.require, tc.client
			startPoller(t, opt)
			if tc.works {
				waitFor(t, 5*time.Second, "a", func() bool { return sink.has("a@test") })
				return
			}
			waitFor(t, 5*time.Second, "a retry", func() bool { return m.ln.accepted() >= 2 })
			if sink.callCount("") != 0 {
				t.Fatal("mail taken")
			}
		})
	}
}

func TestIMAPWrongPassword(t *testing.T) {
	m := newMemIMAP(t, memOptions{})
	m.add("INBOX", nil, "a")
	var logs strings.Builder
	sink := newIMAPSink()
	opt := memPoller(m, sink, newFakeCursors(), newFakeLocker())
	opt.URL = strings.Replace(m.url("imap", ""), "u:p@", "u:s3cr3t-w0rd@", 1)
	opt.Logger = newTextLogger(&logs)
	_, stop := startPoller(t, opt)
	waitFor(t, 5*time.Second, "retries", func() bool { return m.ln.accepted() >= 3 })
	stop()
	if sink.callCount("") != 0 {
		t.Fatal("mail taken")
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Fatalf("password in the logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "login as u") {
		t.Fatalf("no login error in the logs:\n%s", logs.String())
	}
}

func TestNewIMAPPoller(t *testing.T) {
	ok := IMAPOptions{Deliverer: newIMAPSink(), Cursor: newFakeCursors(), Locker: newFakeLocker()}
	tests := []struct {
		url, mailbox, err string
	}{
		{"imaps://guichet:pw@Mail.Example.org/INBOX", "guichet@mail.example.org/INBOX", ""},
		{"imap://guichet:pw@mail.example.org:10143", "guichet@mail.example.org/INBOX", ""},
		{"imap://a%40b.fr:p%2Fw@mail.example.org/Support/Entr%C3%A9e", "a@b.fr@mail.example.org/Support/Entrée", ""},
		{"imap://guichet:pw@mail.example.org/inbox", "guichet@mail.example.org/INBOX", ""},
		{"pop3://guichet:pw@mail.example.org/", "", "scheme"},
		{"imap://mail.example.org/INBOX", "", "no user"},
		{"imap://guichet:pw@/INBOX", "", "no host"},
		{"imap://guichet:pw@mail.example.org/?starttls=maybe", "", "starttls"},
		{"imap://guichet:pw%zz@mail.example.org/", "", "unreadable"},
	}
	for _, tc := range tests {
		opt := ok
		opt.URL = tc.url
		p, err := NewIMAPPoller(opt)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case err == nil && p.Mailbox() != tc.mailbox:
			t.Errorf("%s: mailbox %q, want %q", tc.url, p.Mailbox(), tc.mailbox)
		case err != nil && strings.Contains(err.Error(), "pw"):
			t.Errorf("%s: the password is in the error %q", tc.url, err)
		}
	}
	for name, opt := range map[string]IMAPOptions{
		"no Deliverer": {URL: "imap://u:p@h/", Cursor: ok.Cursor, Locker: ok.Locker},
		"no Cursor":    {URL: "imap://u:p@h/", Deliverer: ok.Deliverer, Locker: ok.Locker},
		"no Locker":    {URL: "imap://u:p@h/", Deliverer: ok.Deliverer, Cursor: ok.Cursor},
	} {
		if _, err := NewIMAPPoller(opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Without starttls in the URL, imap:// requires STARTTLS unless the host is loopback;
// what the URL says wins.
func TestIMAPSTARTTLSPolicy(t *testing.T) {
	tests := []struct {
		host, query string
		require     bool
		want        string
	}{
		{"127.0.0.1", "", false, "auto"},
		{"127.8.9.10", "", false, "auto"},
		{"[::1]", "", false, "auto"},
		{"localhost", "", false, "auto"},
		{"LocalHost.", "", false, "auto"},
		{"mail.example.org", "", false, "require"},
		{"localhost.example.org", "", false, "require"},
		{"10.0.0.1", "", false, "require"},
		{"[::ffff:192.0.2.1]", "", false, "require"},
		{"127.0.0.1.nip.io", "", false, "require"},
		{"127.0.0.1", "", true, "require"},
		{"127.0.0.1", "starttls=require", false, "require"},
		{"mail.example.org", "starttls=off", false, "off"},
		{"mail.example.org", "starttls=auto", false, "auto"},
		{"mail.example.org", "starttls=off", true, "require"},
	}
	for _, tc := range tests {
		u := "imap://u:p@" + tc.host + "/INBOX"
		if tc.query != "" {
			u += "?" + tc.query
		}
		p, err := NewIMAPPoller(IMAPOptions{URL: u, RequireTLS: tc.require, Deliverer: newIMAPSink(), Cursor: newFakeCursors(), Locker: newFakeLocker()})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if got := p.starttls(); got != tc.want {
			t.Errorf("%s (RequireTLS %v): %q, want %q", u, tc.require, got, tc.want)
		}
	}
}

// A server that offers no STARTTLS gets no password when its host is not loopback (the
// loopback check is made to say so of 127.0.0.1 here): nothing is taken, the log says
// why; the URL may allow it, with a warning. On loopback it goes in clear, silently.
func TestIMAPPlainPasswordOnlyToLoopback(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	remote := func(p *IMAPPoller) { p.loopback = func(string) bool { return false } }
	tests := []struct {
		name   string
		server memOptions
		query  string
		setup  []func(*IMAPPoller)
		works  bool
		log    string // in the log, when not empty
	}{
		{"remote, no STARTTLS: refused", memOptions{}, "", []func(*IMAPPoller){remote}, false, "offers no STARTTLS"},
		{"remote, STARTTLS offered", memOptions{tls: serverTLS}, "", []func(*IMAPPoller){remote}, true, ""},
		{"remote, starttls=off", memOptions{}, "starttls=off", []func(*IMAPPoller){remote}, true, "sending the password without TLS"},
		{"remote, starttls=auto", memOptions{}, "starttls=auto", []func(*IMAPPoller){remote}, true, "sending the password without TLS"},
		{"loopback, no STARTTLS", memOptions{}, "", nil, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemIMAP(t, tc.server)
			m.add("INBOX", nil, "a")
			px := newIMAPProxy(t, m.addr)
			var logs syncBuffer
			sink := newIMAPSink()
			opt := memPoller(m, sink, newFakeCursors(), newFakeLocker())
			opt.URL = strings.Replace(m.url("imap", tc.query), m.addr, px.addr, 1)
			opt.TLSConfig = clientTLS
			opt.Logger = newTextLogger(&logs)
			_, stop := startPoller(t, opt, tc.setup...)
			if tc.works {
				waitFor(t, 5*time.Second, "a", func() bool { return sink.has("a@test") })
			} else {
				waitFor(t, 5*time.Second, "retries", func() bool { return px.conns() >= 3 })
			}
			stop()
			out := logs.String()
			if tc.log != "" && !strings.Contains(out, tc.log) {
				t.Fatalf("%q not in the log:\n%s", tc.log, out)
			}
			if tc.log == "" && strings.Contains(out, "without TLS") {
				t.Fatalf("a warning about TLS:\n%s", out)
			}
			if tc.works {
				return
			}
			if sink.callCount("") != 0 {
				t.Fatal("mail taken")
			}
			if sent := strings.ToUpper(px.clientSent()); strings.Contains(sent, "LOGIN") || strings.Contains(sent, "AUTHENTICATE") {
				t.Fatalf("credentials sent in clear:\n%s", sent)
			}
		})
	}
}

// syncBuffer is a strings.Builder that the poller's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
