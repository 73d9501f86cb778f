package mailout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

func relay(t *testing.T, url string, opt RelayOptions) *RelaySender {
	t.Helper()
	s, err := NewRelaySender(url, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleBytes(t *testing.T) []byte {
	return buildSample(t, sampleMail(), BuildOptions{})
}

func TestRelayPlain(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	s := relay(t, "smtp://"+snk.Addr, RelayOptions{})
	msg := sampleBytes(t)
	reply, err := s.SendReply(context.Background(), "support@localhost", []string{"elodie.martin@ac-lyon.fr"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reply, "250") {
		t.Errorf("reply = %q", reply)
	}
	got := snk.received()
	if len(got) != 1 {
		t.Fatalf("%d messages received", len(got))
	}
	r := got[0]
	if r.From != "support@localhost" || len(r.To) != 1 || r.To[0] != "elodie.martin@ac-lyon.fr" || r.TLS {
		t.Errorf("envelope = %+v", r)
	}
	if !bytes.Equal(r.Data, msg) {
		t.Error("received bytes differ from the sent message")
	}
	mr, err := mail.CreateReader(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatal(err)
	}
	if subj, _ := mr.Header.Subject(); !strings.HasPrefix(subj, "[#AURAN1-13] Nous avons bien reçu votre requête") {
		t.Errorf("subject = %q", subj)
	}
	if typ, _, _ := mr.Header.ContentType(); typ != "multipart/alternative" {
		t.Errorf("type = %s", typ)
	}
}

func TestRelaySTARTTLSAndAuth(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	snk := startSink(t, sinkOptions{startTLS: srvTLS, user: "guichet", pass: "s3cret"})

	s := relay(t, "smtp://guichet:s3cret@"+snk.Addr, RelayOptions{TLSConfig: cliTLS, TLS: TLSVerify})
	if strings.Contains(s.String(), "s3cret") {
		t.Errorf("String() shows the password: %s", s)
	}
	if err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t)); err != nil {
		t.Fatal(err)
	}
	got := snk.received()
	if len(got) != 1 || !got[0].TLS || got[0].User != "guichet" {
		t.Fatalf("received = %+v", got)
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		s := relay(t, "smtp://"+snk.Addr, RelayOptions{TLS: TLSVerify})
		err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t))
		if err == nil || !IsTemporary(err) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := relay(t, "smtp://guichet:nope@"+snk.Addr, RelayOptions{TLSConfig: cliTLS})
		err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t))
		var re *ReplyError
		if !errors.As(err, &re) || re.Command != "AUTH" || re.Code != 535 {
			t.Fatalf("err = %v", err)
		}
		if !IsTemporary(err) {
			t.Error("an AUTH failure must not fail the mail for good")
		}
	})
}

// TestRelayReusesSessions: consecutive mails share one session (one TLS handshake, one
// AUTH); a session the relay closed while idle is replaced without losing or doubling a
// mail; a session idle too long, or that carried MaxPerConn mails, is not reused.
func TestRelayReusesSessions(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	snk := startSink(t, sinkOptions{startTLS: srvTLS, user: "guichet", pass: "s3cret"})
	s := relay(t, "smtp://guichet:s3cret@"+snk.Addr, RelayOptions{TLSConfig: cliTLS, TLS: TLSVerify, MaxPerConn: 5})
	ctx := context.Background()
	send := func(to string) {
		t.Helper()
		if _, err := s.SendReply(ctx, "support@localhost", []string{to}, sampleBytes(t)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		send(fmt.Sprintf("r%d@example.com", i))
	}
	if n := snk.sessions(); n != 1 {
		t.Fatalf("3 mails took %d sessions, want 1", n)
	}
	for _, r := range snk.received() {
		if !r.TLS || r.User != "guichet" {
			t.Fatalf("a mail on the reused session went without TLS or AUTH: %+v", r)
		}
	}
	snk.hangUp() // the relay ends the idle session
	time.Sleep(50 * time.Millisecond)
	send("after-hangup@example.com")
	if got := snk.received(); len(got) != 4 || got[3].To[0] != "after-hangup@example.com" || snk.sessions() != 2 {
		t.Fatalf("after the relay hung up: %d mails, %d sessions", len(got), snk.sessions())
	}
	send("r4@example.com") // the 2nd session's 2nd mail
	for i := range 4 {
		send(fmt.Sprintf("m%d@example.com", i))
	}
	if n := snk.sessions(); n != 3 {
		t.Errorf("MaxPerConn 5: %d sessions after 9 mails on the 2nd and 3rd, want 3", n)
	}

	quick := relay(t, "smtp://guichet:s3cret@"+snk.Addr, RelayOptions{TLSConfig: cliTLS, IdleTimeout: time.Millisecond})
	before := snk.sessions()
	for range 2 {
		if _, err := quick.SendReply(ctx, "support@localhost", []string{"x@example.com"}, sampleBytes(t)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := snk.sessions() - before; n != 2 {
		t.Errorf("IdleTimeout 1ms: %d sessions for 2 mails, want 2", n)
	}
	s.Close()
	quick.Close()
}

func TestRelayAuthPlainLoopback(t *testing.T) {
	snk := startSink(t, sinkOptions{user: "u", pass: "p"})
	s := relay(t, "smtp://u:p@"+snk.Addr, RelayOptions{})
	if err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t)); err != nil {
		t.Fatal(err)
	}
	if got := snk.received(); len(got) != 1 || got[0].User != "u" {
		t.Errorf("received = %+v", got)
	}
}

func TestRelayRequireTLSWithoutSTARTTLS(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	s := relay(t, "smtp://"+snk.Addr, RelayOptions{TLS: TLSVerify})
	err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("err = %v", err)
	}
	if len(snk.received()) != 0 {
		t.Error("message sent in clear")
	}
}

func TestRelaySMTPS(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	snk := startSink(t, sinkOptions{implicit: srvTLS, user: "u", pass: "p"})
	s := relay(t, "smtps://u:p@"+snk.Addr, RelayOptions{TLSConfig: cliTLS})
	if err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t)); err != nil {
		t.Fatal(err)
	}
	if got := snk.received(); len(got) != 1 || !got[0].TLS || got[0].User != "u" {
		t.Errorf("received = %+v", got)
	}
}

func TestRelayReplies(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*sink)
		command   string
		reply     string
		temporary bool
	}{
		{"451 on DATA", func(s *sink) { s.dataErrs = []error{errTempfail} }, "DATA", "451 4.7.1 Greylisted, try later", true},
		{"550 on DATA", func(s *sink) { s.dataErrs = []error{errNoUser} }, "DATA", "550 5.1.1 No such user here", false},
		{"550 on RCPT", func(s *sink) { s.rcptErr = errNoUser }, "RCPT", "550 5.1.1 No such user here", false},
		{"451 on RCPT", func(s *sink) { s.rcptErr = errTempfail }, "RCPT", "451 4.7.1 Greylisted, try later", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snk := startSink(t, sinkOptions{})
			tt.setup(snk)
			s := relay(t, "smtp://"+snk.Addr, RelayOptions{})
			err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t))
			var re *ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if re.Command != tt.command || re.Reply() != tt.reply {
				t.Errorf("got %s %q, want %s %q", re.Command, re.Reply(), tt.command, tt.reply)
			}
			if !strings.Contains(err.Error(), tt.reply) {
				t.Errorf("error text %q lacks the reply", err)
			}
			if IsTemporary(err) != tt.temporary {
				t.Errorf("IsTemporary = %v", !tt.temporary)
			}
		})
	}
}

func TestRelayNetworkErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := relay(t, "smtp://"+addr, RelayOptions{DialTimeout: time.Second})
	err = s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, []byte("x"))
	if err == nil || !IsTemporary(err) {
		t.Errorf("refused: err = %v", err)
	}

	// A relay that accepts and never speaks: the context ends the wait.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s = relay(t, "smtp://"+l.Addr().String(), RelayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, "support@localhost", []string{"a@example.com"}, []byte("x"))
	if err == nil || !IsTemporary(err) || time.Since(start) > 5*time.Second {
		t.Errorf("silent relay: err = %v after %s", err, time.Since(start))
	}
}

func TestNewRelaySender(t *testing.T) {
	tests := []struct {
		url, addr string
		ok        bool
	}{
		{"smtp://relay.example.org", "relay.example.org:25", true},
		{"smtp://u:p@relay.example.org:587", "relay.example.org:587", true},
		{"smtps://relay.example.org", "relay.example.org:465", true},
		{"http://relay.example.org", "", false},
		{"smtp://", "", false},
		{"smtp://u:p@[::1", "", false},
	}
	for _, tt := range tests {
		s, err := NewRelaySender(tt.url, RelayOptions{})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.url, err)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), ":p@") {
				t.Errorf("%s: error shows the password: %v", tt.url, err)
			}
			continue
		}
		if s.addr != tt.addr {
			t.Errorf("%s: addr = %s, want %s", tt.url, s.addr, tt.addr)
		}
	}
	// Credentials never go in clear to a remote relay.
	s, _ := NewRelaySender("smtp://u:p@192.0.2.1:25", RelayOptions{})
	if err := s.auth(nil, false); err == nil {
		t.Error("AUTH over plain text to a remote relay")
	}
}

// TestRelayAnswersBeforeQuit: a session ended after a mail (here MaxPerConn 1) is closed
// in the background: SendReply returns on the relay's 250 without waiting for the answer
// to QUIT, since the worker marks the mail sent only then, and a crash before that mark
// sends it twice.
func TestRelayAnswersBeforeQuit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		fmt.Fprint(c, "220 slow.test ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"):
				fmt.Fprint(c, "250-slow.test\r\n250 8BITMIME\r\n")
			case cmd == "DATA":
				fmt.Fprint(c, "354 go on\r\n")
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == ".\r\n" {
						break
					}
				}
				fmt.Fprint(c, "250 2.0.0 Ok: queued as 1\r\n")
			case cmd == "QUIT":
				<-quit // never answers while the test runs
				return
			default:
				fmt.Fprint(c, "250 2.0.0 Ok\r\n")
			}
		}
	}()
	s := relay(t, "smtp://"+l.Addr().String(), RelayOptions{MaxPerConn: 1, CommandTimeout: 20 * time.Second})
	start := time.Now()
	reply, err := s.SendReply(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t))
	if err != nil || !strings.HasPrefix(reply, "250") {
		t.Fatalf("reply %q, err %v", reply, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("SendReply waited %s for the answer to QUIT", d)
	}
}
