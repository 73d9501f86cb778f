package mailin

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/ticket"
)

// fuzzConn is a client connection played from bytes: reads give the input and then EOF,
// writes are kept. Deadlines are ignored, so nothing waits on a clock.
type fuzzConn struct {
	r      *bytes.Reader
	mu     sync.Mutex
	out    bytes.Buffer
	once   sync.Once
	closed chan struct{}
}

func newFuzzConn(in []byte) *fuzzConn {
	return &fuzzConn{r: bytes.NewReader(in), closed: make(chan struct{})}
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.r.Read(p)
}

func (c *fuzzConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *fuzzConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fuzzConn) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func (c *fuzzConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}
}
func (c *fuzzConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// chanListener hands out the connections sent on ch.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }

// discardDeliverer stores nothing and never fails.
type discardDeliverer struct{}

func (discardDeliverer) Deliver(context.Context, []byte, ticket.Envelope) error { return nil }

// fuzzServer serves opt on a chanListener until the test ends.
func fuzzServer(f *testing.F, opt SMTPOptions) *chanListener {
	opt.SupportAddresses = []string{"support@localhost"}
	opt.Domain = "mx.guichet.test"
	opt.Deliverer = discardDeliverer{}
	srv, err := NewSMTPServer(opt)
	if err != nil {
		f.Fatal(err)
	}
	l := &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	return l
}

// FuzzSMTPSession plays bytes as a client's side of an SMTP session (LMTP when the first
// byte is odd) and checks that the server does not panic, that the session ends once the
// input does, and that everything it wrote is well-formed replies.
func FuzzSMTPSession(f *testing.F) {
	seeds := []string{
		"EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<support@localhost>\r\nDATA\r\nSubject: t\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n",
		"LHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<support+x@localhost>\r\nRCPT TO:<postmaster@LOCALHOST>\r\nDATA\r\nSubject: t\r\n\r\nb\r\n.\r\n",
		"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<support@localhost>\r\nBDAT 5\r\nhelloBDAT 3 LAST\r\nabcQUIT\r\n",
		"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<support@localhost>\r\nBDAT 4294967295 LAST\r\nshort",
		strings.Repeat("NOOP\r\n", 40),
		"EHLO c\r\nMAIL FROM:<a@b.c>\r\n" + strings.Repeat("RCPT TO:<x@elsewhere.test>\r\n", 8),
		"HELP\r\nEXPN x\r\nVRFY x\r\nFOO\r\n\r\nMAIL\r\nRCPT TO:<\r\nDATA x\r\n",
		"EHLO c\r\nSTARTTLS\r\nAUTH PLAIN AGFAYg==\r\nRSET\r\nQUIT\r\n",
		"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<support@localhost>\r\nDATA\r\n" +
			"Content-Type:multipart/;boundary=R\n\n--R\nContent-Type:/0\r\n.\r\n",
		"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<support@localhost>\r\nDATA\r\n" + strings.Repeat("x", 1200) + "\r\n.\r\n",
		"EHLO c\r\nMAIL FROM:<a\x00@b.c>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<support@localhost\r\nDATA\r\nunterminated",
		"EHLO " + strings.Repeat("h", 1100) + "\r\n",
		"EHLO c\nMAIL FROM:<a@b.c>\nRCPT TO:<support@localhost>\nDATA\nbare LF\n.\n",
	}
	for _, s := range seeds {
		f.Add(append([]byte{0}, s...))
		f.Add(append([]byte{1}, strings.ReplaceAll(s, "EHLO", "LHLO")...))
	}
	limits := SMTPOptions{MaxMessageBytes: 4096, MaxHeaderBytes: 1024, MaxRecipients: 5, MaxLineLength: 1000,
		MaxJunkCommands: 20, MaxErrors: 5, MaxConnections: 4, MaxConnectionsPerIP: 4}
	smtpL := fuzzServer(f, limits)
	limits.LMTP = true
	lmtpL := fuzzServer(f, limits)

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 16<<10 {
			return
		}
		l := smtpL
		if data[0]&1 == 1 {
			l = lmtpL
		}
		c := newFuzzConn(data[1:])
		select {
		case l.ch <- c:
		case <-time.After(5 * time.Second):
			t.Fatal("server does not accept")
		}
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not end; replies so far:\n%q", c.output())
		}
		checkReplies(t, c.output())
	})
}

// checkReplies fails unless out is a sequence of well-formed replies: CRLF-terminated
// lines, each a reply code 2xx-5xx then "-" (more lines follow, same code) or " ", the
// first the 220 greeting.
func checkReplies(t *testing.T, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "220 ") {
		t.Fatalf("no greeting: %q", out)
	}
	if !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("output does not end with CRLF: %q", out)
	}
	cont := ""
	for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
			line[2] < '0' || line[2] > '9' || (line[3] != ' ' && line[3] != '-') {
			t.Fatalf("malformed reply line %q in:\n%q", line, out)
		}
		if strings.ContainsAny(line, "\n") {
			t.Fatalf("bare LF in reply line %q", line)
		}
		if cont != "" && line[:3] != cont {
			t.Fatalf("continuation %q of a %s reply", line, cont)
		}
		cont = ""
		if line[3] == '-' {
			cont = line[:3]
		}
	}
	if cont != "" {
		t.Fatalf("last reply unfinished: %q", out)
	}
}
