package mailin

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// idleClient connects and says EHLO, then waits.
func idleClient(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n') // greeting
	conn.Write([]byte("EHLO idle.test\r\n"))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "250 ") {
			return conn, r
		}
	}
}

// sendAsync sends one message on its own connection and reports the outcome.
func sendAsync(t *testing.T, addr string) <-chan error {
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := smtpSendOn(c, smtpTx{from: "a@example.org", to: []string{"support@localhost"}, msg: smtpTestMessage})
		done <- err
	}()
	return done
}

func TestSMTPShutdownInFlight(t *testing.T) {
	fake := &fakeDeliverer{block: make(chan struct{}), started: make(chan struct{}, 1)}
	srv, addr := startSMTP(t, SMTPOptions{Deliverer: fake})
	idle, idleR := idleClient(t, addr)
	sent := sendAsync(t, addr)
	<-fake.started

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()

	// The idle connection is told to go away.
	idle.SetReadDeadline(time.Now().Add(3 * time.Second))
	if line, err := idleR.ReadString('\n'); err != nil || !strings.HasPrefix(line, "421 4.") {
		t.Fatalf("idle connection got %q, %v; want a 421", line, err)
	}
	// No new connection gets in.
	time.Sleep(50 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if line, _ := bufio.NewReader(c).ReadString('\n'); strings.HasPrefix(line, "220") {
			t.Errorf("new connection greeted during shutdown: %q", line)
		}
		c.Close()
	}
	// The delivery in flight holds the shutdown...
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a delivery in flight", err)
	case err := <-sent:
		t.Fatalf("client got %v before the delivery finished", err)
	case <-time.After(200 * time.Millisecond):
	}
	// ...and ends with its 250.
	close(fake.block)
	if err := <-sent; err != nil {
		t.Fatalf("client got %v, want 250", err)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

func TestSMTPShutdownDeadline(t *testing.T) {
	fake := &fakeDeliverer{block: make(chan struct{}), started: make(chan struct{}, 1)}
	srv, addr := startSMTP(t, SMTPOptions{Deliverer: fake})
	sent := sendAsync(t, addr)
	<-fake.started

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond+shutdownGrace+3*time.Second { // a bound, with slack for a loaded machine
		t.Errorf("Shutdown took %v", d)
	}
	// The delivery was canceled and the client got a temporary failure, not a reset.
	checkSMTPReply(t, <-sent, 451, smtp.EnhancedCode{4, 3, 0})
}

func TestSMTPListenAndServe(t *testing.T) {
	tests := []struct {
		name    string
		opt     SMTPOptions
		network string
	}{
		{"smtp over tcp", SMTPOptions{Addr: "127.0.0.1:0"}, "tcp"},
		{"lmtp over a unix socket", SMTPOptions{LMTP: true}, "unix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeDeliverer{}
			tt.opt.Deliverer = fake
			tt.opt.SupportAddresses = []string{"support@localhost"}
			if tt.network == "unix" {
				dir, err := os.MkdirTemp("", "lmtp")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				tt.opt.Addr = filepath.Join(dir, "lmtp.sock")
			}
			srv, err := NewSMTPServer(tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if srv.Addr() != nil {
				t.Fatal("Addr before listening")
			}
			served := make(chan error, 1)
			go func() { served <- srv.ListenAndServe() }()
			var addr net.Addr
			for i := 0; addr == nil && i < 200; i++ {
				time.Sleep(5 * time.Millisecond)
				addr = srv.Addr()
			}
			if addr == nil || addr.Network() != tt.network {
				t.Fatalf("Addr() = %v", addr)
			}
			conn, err := net.Dial(addr.Network(), addr.String())
			if err != nil {
				t.Fatal(err)
			}
			c := smtp.NewClient(conn)
			if tt.opt.LMTP {
				c = smtp.NewClientLMTP(conn)
			}
			defer c.Close()
			tx := smtpTx{from: "a@example.org", to: []string{"support@localhost"}, msg: smtpTestMessage}
			if stage, err := smtpSendOn(c, tx); err != nil {
				t.Fatalf("%s: %v", stage, err)
			}
			c.Quit()
			if err := srv.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-served; err != nil {
				t.Fatalf("ListenAndServe: %v", err)
			}
			if err := srv.Serve(nil); err == nil {
				t.Fatal("Serve after Shutdown succeeded")
			}
			if got := fake.deliveries(); len(got) != 1 || !strings.HasSuffix(string(got[0].raw), smtpTestMessage) {
				t.Fatalf("deliveries %+v", got)
			}
		})
	}
}
