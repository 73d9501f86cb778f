package mailin

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// rawClient is a test client that writes bytes and reads replies as they come.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw connects from local (an IP, or "" for any) and reads the first reply.
func dialRaw(t *testing.T, addr, local string) (*rawClient, string) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	return c, c.reply()
}

// reply reads one whole reply (its last line), or "EOF" when the server closed.
func (c *rawClient) reply() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return "EOF"
			}
			c.t.Fatalf("reading reply: %v (got %q)", err, line)
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// cmd sends one command line and returns its reply.
func (c *rawClient) cmd(line string) string {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("write %q: %v", line, err)
	}
	return c.reply()
}

// dribble writes s one byte every interval, over and over, until a write fails or stop
// is closed; it returns the time the server's first reply line arrived after the start,
// and that line.
func dribble(t *testing.T, c *rawClient, s string, interval time.Duration) (string, time.Duration) {
	t.Helper()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			if _, err := c.conn.Write([]byte{s[i%len(s)]}); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	// Replies to whole commands (NOOP's 250) do not end the wait: only a 4xx or the end.
	for {
		got := c.reply()
		if !strings.HasPrefix(got, "250") {
			return got, time.Since(start)
		}
	}
}

// wantClosed checks that the server closed the connection after its last reply.
func (c *rawClient) wantClosed() {
	c.t.Helper()
	if got := c.reply(); got != "EOF" {
		c.t.Fatalf("after the 421: %q, want the connection closed", got)
	}
}

// A command line must arrive whole within ReadTimeout: one byte at a time does not
// renew it.
func TestSMTPSlowCommandLine(t *testing.T) {
	_, addr := startSMTP(t, SMTPOptions{Deliverer: &fakeDeliverer{}, ReadTimeout: 400 * time.Millisecond, MaxSessionTime: -1, MaxJunkCommands: -1})
	c, _ := dialRaw(t, addr, "")
	got, took := dribble(t, c, "EHLO a-very-long-name.example.org", 20*time.Millisecond)
	if !strings.HasPrefix(got, "421 4.4.2") {
		t.Fatalf("got %q, want 421 4.4.2", got)
	}
	if took > 5*time.Second {
		t.Fatalf("cut off after %v", took)
	}
	c.wantClosed()
}

// The same through TLS: the 421 is written on the TLS layer.
func TestSMTPSlowCommandLineTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	_, addr := startSMTP(t, SMTPOptions{Deliverer: &fakeDeliverer{}, TLSConfig: serverTLS, ReadTimeout: 400 * time.Millisecond,
		MaxSessionTime: -1, MaxJunkCommands: -1})
	c, _ := dialRaw(t, addr, "")
	c.cmd("EHLO client.test")
	c.startTLS(clientTLS)
	got, took := dribble(t, c, "MAIL FROM:<someone@example.org>", 20*time.Millisecond)
	if !strings.HasPrefix(got, "421 4.4.2") {
		t.Fatalf("got %q, want 421 4.4.2", got)
	}
	if took > 5*time.Second {
		t.Fatalf("cut off after %v", took)
	}
	c.wantClosed()
}

// startTLS sends STARTTLS and continues on TLS.
func (c *rawClient) startTLS(cfg *tls.Config) {
	c.t.Helper()
	if got := c.cmd("STARTTLS"); !strings.HasPrefix(got, "220") {
		c.t.Fatalf("STARTTLS: %q", got)
	}
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	if got := c.cmd("EHLO client.test"); !strings.HasPrefix(got, "250") {
		c.t.Fatalf("EHLO: %q", got)
	}
}

// A client that keeps sending whole NOOPs slowly, each within ReadTimeout, is cut off at
// MaxSessionTime; so is one that sends its message one byte at a time.
func TestSMTPSessionTime(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		name := map[bool]string{false: "smtp", true: "lmtp"}[lmtp]
		t.Run(name+" commands", func(t *testing.T) {
			_, addr := startSMTP(t, SMTPOptions{Deliverer: &fakeDeliverer{}, LMTP: lmtp, ReadTimeout: 10 * time.Second,
				MaxSessionTime: time.Second, MaxJunkCommands: -1})
			c, _ := dialRaw(t, addr, "")
			got, took := dribble(t, c, "NOOP\r\n", 10*time.Millisecond)
			if !strings.HasPrefix(got, "421 4.4.2") {
				t.Fatalf("got %q, want 421 4.4.2", got)
			}
			if took > 6*time.Second {
				t.Fatalf("cut off after %v", took)
			}
			c.wantClosed()
		})
		t.Run(name+" data", func(t *testing.T) {
			fake := &fakeDeliverer{}
			_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, LMTP: lmtp, ReadTimeout: 10 * time.Second,
				MaxSessionTime: time.Second})
			c, _ := dialRaw(t, addr, "")
			hello := "EHLO client.test"
			if lmtp {
				hello = "LHLO client.test"
			}
			for _, cmd := range []string{hello, "MAIL FROM:<a@example.org>", "RCPT TO:<support@localhost>", "DATA"} {
				if got := c.cmd(cmd); got[0] != '2' && got[0] != '3' {
					t.Fatalf("%s: %q", cmd, got)
				}
			}
			got, took := dribble(t, c, "Subject: slow\r\n", 10*time.Millisecond)
			if !strings.HasPrefix(got, "451 4.4.2") {
				t.Fatalf("got %q, want 451 4.4.2", got)
			}
			if took > 6*time.Second {
				t.Fatalf("cut off after %v", took)
			}
			if got := c.reply(); !strings.HasPrefix(got, "421 4.4.2") {
				t.Fatalf("after the 451: %q, want 421 4.4.2", got)
			}
			c.wantClosed()
			if n := len(fake.deliveries()); n != 0 {
				t.Fatalf("%d deliveries", n)
			}
		})
	}
}

// NOOP, RSET and the like outside a transaction are counted; a delivered message starts
// the count again.
func TestSMTPJunkCommands(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		t.Run(map[bool]string{false: "smtp", true: "lmtp"}[lmtp], func(t *testing.T) {
			fake := &fakeDeliverer{}
			_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, LMTP: lmtp, MaxJunkCommands: 5})
			c, _ := dialRaw(t, addr, "")
			hello := "EHLO client.test"
			if lmtp {
				hello = "LHLO client.test"
			}
			// 1 + 3 junk commands, then a message, then 5 more: the fifth is the last one.
			for _, cmd := range []string{hello, "NOOP", "RSET", "NOOP", "MAIL FROM:<a@example.org>",
				"RCPT TO:<support@localhost>", "DATA"} {
				if got := c.cmd(cmd); got[0] != '2' && got[0] != '3' {
					t.Fatalf("%s: %q", cmd, got)
				}
			}
			if got := c.cmd("Subject: x\r\n\r\nbody\r\n."); !strings.HasPrefix(got, "250") {
				t.Fatalf("message: %q", got)
			}
			// Pipelined, as a flooding client would: the 421 comes in place of the sixth reply.
			c.conn.Write([]byte(strings.Repeat("NOOP\r\n", 20)))
			for i := 0; i < 5; i++ {
				if got := c.reply(); !strings.HasPrefix(got, "250") {
					t.Fatalf("NOOP %d: %q", i+1, got)
				}
			}
			if got := c.reply(); !strings.HasPrefix(got, "421 4.7.0") {
				t.Fatalf("sixth NOOP: %q, want 421 4.7.0", got)
			}
			c.wantClosed()
			if n := len(fake.deliveries()); n != 1 {
				t.Fatalf("%d deliveries, want 1", n)
			}
		})
	}
}

// Refused recipients count as errors; past MaxErrors the session ends with 421.
func TestSMTPErrorLimit(t *testing.T) {
	_, addr := startSMTP(t, SMTPOptions{Deliverer: &fakeDeliverer{}, MaxErrors: 3})
	c, _ := dialRaw(t, addr, "")
	c.cmd("EHLO client.test")
	c.cmd("MAIL FROM:<a@example.org>")
	for i := 0; i < 3; i++ {
		if got := c.cmd("RCPT TO:<user" + string(rune('a'+i)) + "@elsewhere.test>"); !strings.HasPrefix(got, "550 5.7.1") {
			t.Fatalf("RCPT %d: %q", i, got)
		}
	}
	if got := c.cmd("RCPT TO:<support@localhost>"); !strings.HasPrefix(got, "421 4.7.0") {
		t.Fatalf("after 3 errors: %q, want 421 4.7.0", got)
	}
	c.wantClosed()
}

// The limits reply through TLS after STARTTLS.
func TestSMTPJunkCommandsAfterSTARTTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	_, addr := startSMTP(t, SMTPOptions{Deliverer: &fakeDeliverer{}, TLSConfig: serverTLS, MaxJunkCommands: 4})
	c, _ := dialRaw(t, addr, "")
	c.cmd("EHLO client.test")
	c.startTLS(clientTLS)
	if got := c.cmd("NOOP"); !strings.HasPrefix(got, "250") {
		t.Fatalf("NOOP: %q", got)
	}
	if got := c.cmd("NOOP"); !strings.HasPrefix(got, "421 4.7.0") {
		t.Fatalf("fifth command: %q, want 421 4.7.0", got)
	}
	c.wantClosed()
}

// Connections over MaxConnections, or over MaxConnectionsPerIP from one address, get
// 421 4.7.0; a closed session gives its slot back; mail within the limits goes through.
func TestSMTPConnectionLimits(t *testing.T) {
	t.Run("overall", func(t *testing.T) {
		fake := &fakeDeliverer{}
		_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, MaxConnections: 2, MaxConnectionsPerIP: 10})
		a, _ := dialRaw(t, addr, "")
		b, greet := dialRaw(t, addr, "127.0.0.2")
		if !strings.HasPrefix(greet, "220") {
			t.Fatalf("second connection: %q", greet)
		}
		_, got := dialRaw(t, addr, "127.0.0.3")
		if !strings.HasPrefix(got, "421 4.7.0") || !strings.Contains(got, "Too many connections") {
			t.Fatalf("third connection: %q, want 421 4.7.0", got)
		}
		if got := b.cmd("QUIT"); !strings.HasPrefix(got, "221") {
			t.Fatalf("QUIT: %q", got)
		}
		waitAccepted(t, addr, "")
		// a still works.
		for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<a@example.org>", "RCPT TO:<support@localhost>", "DATA", "Subject: x\r\n\r\nok\r\n."} {
			if got := a.cmd(cmd); got[0] != '2' && got[0] != '3' {
				t.Fatalf("%s: %q", cmd, got)
			}
		}
		if n := len(fake.deliveries()); n != 1 {
			t.Fatalf("%d deliveries", n)
		}
	})
	t.Run("per address", func(t *testing.T) {
		_, addr := startSMTP(t, SMTPOptions{Deliverer: &fakeDeliverer{}, MaxConnections: 10, MaxConnectionsPerIP: 2})
		dialRaw(t, addr, "127.0.0.1")
		b, _ := dialRaw(t, addr, "127.0.0.1")
		_, got := dialRaw(t, addr, "127.0.0.1")
		if !strings.HasPrefix(got, "421 4.7.0") || !strings.Contains(got, "from your address") {
			t.Fatalf("third connection from one address: %q, want 421 4.7.0", got)
		}
		if _, got := dialRaw(t, addr, "127.0.0.2"); !strings.HasPrefix(got, "220") {
			t.Fatalf("connection from another address: %q", got)
		}
		b.conn.Close() // without QUIT
		waitAccepted(t, addr, "127.0.0.1")
	})
}

// waitAccepted polls until a new connection from local is greeted with 220: the server
// sees a closed connection a moment after the client does.
func waitAccepted(t *testing.T, addr, local string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, got := dialRaw(t, addr, local)
		c.conn.Close()
		if strings.HasPrefix(got, "220") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back: %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postmaster at a support domain is accepted, in any case, and delivered like mail to
// the support address (RFC 5321 §4.5.1).
func TestSMTPPostmaster(t *testing.T) {
	fake := &fakeDeliverer{}
	_, addr := startSMTP(t, SMTPOptions{Deliverer: fake})
	for _, rcpt := range []string{"postmaster@localhost", "PostMaster@LOCALHOST"} {
		if stage, err := smtpSend(t, addr, smtpTx{from: "", to: []string{rcpt}, msg: smtpTestMessage}); err != nil {
			t.Fatalf("%s: %s: %v", rcpt, stage, err)
		}
	}
	stage, err := smtpSend(t, addr, smtpTx{from: "a@example.org", to: []string{"postmaster@elsewhere.test"}, msg: smtpTestMessage})
	if stage != "rcpt" {
		t.Fatalf("postmaster of another domain: stage %q, %v", stage, err)
	}
	checkSMTPReply(t, err, 550, smtp.EnhancedCode{5, 7, 1})
	got := fake.deliveries()
	if len(got) != 2 || got[1].env.Recipients[0] != "PostMaster@LOCALHOST" || got[0].env.From != "" {
		t.Fatalf("deliveries %+v", got)
	}
}
