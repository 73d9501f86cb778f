package mailin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/guichet/guichet/ticket"
)

// fakeDeliverer records deliveries; its fields inject failures.
type fakeDeliverer struct {
	err     error         // returned by Deliver
	panics  bool          // Deliver panics
	block   chan struct{} // when set, Deliver waits for it to close, or for ctx
	started chan struct{} // when set, gets a value as each Deliver starts

	mu    sync.Mutex
	calls []fakeDelivery
}

type fakeDelivery struct {
	raw []byte
	env ticket.Envelope
}

func (f *fakeDeliverer) Deliver(ctx context.Context, raw []byte, env ticket.Envelope) error {
	f.mu.Lock()
	f.calls = append(f.calls, fakeDelivery{raw: bytes.Clone(raw), env: env})
	err, panics, block, started := f.err, f.panics, f.block, f.started
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if panics {
		panic("fake deliverer panic")
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return fmt.Errorf("fake: %w", ctx.Err())
		}
	}
	return err
}

func (f *fakeDeliverer) deliveries() []fakeDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeDelivery(nil), f.calls...)
}

// smtpLogBuffer is a log sink safe for the server's goroutines.
type smtpLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *smtpLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *smtpLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSMTP serves opt on a loopback port until the test ends.
func startSMTP(t *testing.T, opt SMTPOptions) (*SMTPServer, string) {
	t.Helper()
	if opt.SupportAddresses == nil && opt.Accept == nil {
		opt.SupportAddresses = []string{"support@localhost"}
	}
	if opt.Domain == "" {
		opt.Domain = "mx.guichet.test"
	}
	srv, err := NewSMTPServer(opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, l.Addr().String()
}

// smtpTx is one mail sent by the test client.
type smtpTx struct {
	from string
	to   []string
	msg  string
	opts *smtp.MailOptions
}

// send runs tx on a new connection; it returns the stage that failed ("mail", "rcpt",
// "data") and the server's error, or "" and nil.
func smtpSend(t *testing.T, addr string, tx smtpTx) (string, error) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	stage, err := smtpSendOn(c, tx)
	if err == nil {
		c.Quit()
	}
	return stage, err
}

func smtpSendOn(c *smtp.Client, tx smtpTx) (string, error) {
	if err := c.Mail(tx.from, tx.opts); err != nil {
		return "mail", err
	}
	for _, to := range tx.to {
		if err := c.Rcpt(to, nil); err != nil {
			return "rcpt", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "data", err
	}
	if _, err := w.Write([]byte(tx.msg)); err != nil {
		return "data", err
	}
	if err := w.Close(); err != nil {
		return "data", err
	}
	return "", nil
}

// checkSMTPReply fails unless err is an SMTP reply with code and enhanced code.
func checkSMTPReply(t *testing.T, err error, code int, enh smtp.EnhancedCode) *smtp.SMTPError {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("got %v (%T), want SMTP reply %d %v", err, err, code, enh)
	}
	if se.Code != code || se.EnhancedCode != enh {
		t.Fatalf("got reply %d %v %q, want %d %v", se.Code, se.EnhancedCode, se.Message, code, enh)
	}
	return se
}

const smtpTestMessage = "From: Jeanne <jeanne@example.org>\r\n" +
	"To: support@localhost\r\n" +
	"Subject: Impossible de me connecter\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Bonjour,\r\n" +
	".leading dot survives unstuffing\r\n" +
	"SECRET-BODY-TEXT\r\n"

// checkDelivered checks that d is msg after one Received header.
func checkDelivered(t *testing.T, d fakeDelivery, msg string) {
	t.Helper()
	raw := string(d.raw)
	if !strings.HasSuffix(raw, msg) {
		t.Fatalf("raw does not end with the message sent:\n%q", raw)
	}
	trace := strings.TrimSuffix(raw, msg)
	if !strings.HasPrefix(trace, "Received: from client.test ([127.0.0.1])\r\n\tby mx.guichet.test (Guichet) with ") ||
		strings.Count(trace, "\r\n") != strings.Count(trace, "\r\n\t")+1 {
		t.Fatalf("unexpected trace header %q", trace)
	}
}

func TestSMTPDelivery(t *testing.T) {
	utf8Msg := "From: Jérôme <jérôme@exemple.fr>\r\nSubject: Problème d'accès\r\n\r\nÉlève bloqué.\r\n"
	tests := []struct {
		name      string
		fake      *fakeDeliverer
		tx        smtpTx
		wantStage string
		wantCode  int
		wantEnh   smtp.EnhancedCode
		wantText  string // in the reply, when set
		wantCalls int
		wantProto string // in the Received header, when delivered
	}{
		{name: "accepted", tx: smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}},
			wantCalls: 1, wantProto: "with ESMTP\r\n\tfor <support@localhost>; "},
		{name: "plus key extension", tx: smtpTx{from: "jeanne@example.org", to: []string{"support+AURAN1-13.abcd@localhost"}},
			wantCalls: 1},
		{name: "plus note extension and case", tx: smtpTx{from: "jeanne@example.org", to: []string{"Support+note@LocalHost"}},
			wantCalls: 1},
		{name: "null sender", tx: smtpTx{from: "", to: []string{"support@localhost"}}, wantCalls: 1},
		{name: "smtputf8", tx: smtpTx{from: "jérôme@exemple.fr", to: []string{"support+café@localhost"}, msg: utf8Msg,
			opts: &smtp.MailOptions{UTF8: true}}, wantCalls: 1, wantProto: "with UTF8SMTP; "},
		{name: "other local part", tx: smtpTx{from: "jeanne@example.org", to: []string{"sales@localhost"}},
			wantStage: "rcpt", wantCode: 550, wantEnh: smtp.EnhancedCode{5, 7, 1}},
		{name: "local part prefix", tx: smtpTx{from: "jeanne@example.org", to: []string{"supportx@localhost"}},
			wantStage: "rcpt", wantCode: 550, wantEnh: smtp.EnhancedCode{5, 7, 1}},
		{name: "other domain", tx: smtpTx{from: "jeanne@example.org", to: []string{"support@example.com"}},
			wantStage: "rcpt", wantCode: 550, wantEnh: smtp.EnhancedCode{5, 7, 1}},
		{name: "temporary failure", fake: &fakeDeliverer{err: errors.New("database is locked")},
			tx:        smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}},
			wantStage: "data", wantCode: 451, wantEnh: smtp.EnhancedCode{4, 3, 0}, wantText: "Temporary failure, please retry", wantCalls: 1},
		{name: "deliverer panics", fake: &fakeDeliverer{panics: true},
			tx:        smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}},
			wantStage: "data", wantCode: 451, wantEnh: smtp.EnhancedCode{4, 3, 0}, wantCalls: 1},
		{name: "refused", fake: &fakeDeliverer{err: fmt.Errorf("ticket: held: %w", ErrRefused)},
			tx:        smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}},
			wantStage: "data", wantCode: 554, wantEnh: smtp.EnhancedCode{5, 6, 0}, wantText: "Message refused", wantCalls: 1},
		{name: "refused with reason", fake: &fakeDeliverer{err: Refuse("mail loop detected\r\n")},
			tx:        smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}},
			wantStage: "data", wantCode: 554, wantEnh: smtp.EnhancedCode{5, 6, 0}, wantText: "Message refused: mail loop detected", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tt.fake
			if fake == nil {
				fake = &fakeDeliverer{}
			}
			_, addr := startSMTP(t, SMTPOptions{Deliverer: fake})
			if tt.tx.msg == "" {
				tt.tx.msg = smtpTestMessage
			}
			stage, err := smtpSend(t, addr, tt.tx)
			if stage != tt.wantStage {
				t.Fatalf("failed at %q (%v), want %q", stage, err, tt.wantStage)
			}
			if tt.wantCode != 0 {
				se := checkSMTPReply(t, err, tt.wantCode, tt.wantEnh)
				if tt.wantText != "" && se.Message != tt.wantText {
					t.Errorf("reply text %q, want %q", se.Message, tt.wantText)
				}
			}
			got := fake.deliveries()
			if len(got) != tt.wantCalls {
				t.Fatalf("%d deliveries, want %d", len(got), tt.wantCalls)
			}
			if len(got) == 0 {
				return
			}
			checkDelivered(t, got[0], tt.tx.msg)
			env := got[0].env
			if env.From != tt.tx.from || env.Channel != "smtp" || !strings.HasPrefix(env.RemoteAddr, "127.0.0.1:") ||
				strings.Join(env.Recipients, ",") != strings.Join(tt.tx.to, ",") {
				t.Errorf("envelope %+v, want from %q to %q", env, tt.tx.from, tt.tx.to)
			}
			if tt.wantProto != "" && !strings.Contains(string(got[0].raw), tt.wantProto) {
				t.Errorf("trace header lacks %q:\n%s", tt.wantProto, got[0].raw)
			}
		})
	}
}

// After a failed fakeDelivery the connection stays usable.
func TestSMTPConnectionReuseAfterPanic(t *testing.T) {
	fake := &fakeDeliverer{panics: true}
	_, addr := startSMTP(t, SMTPOptions{Deliverer: fake})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tx := smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}, msg: smtpTestMessage}
	_, err = smtpSendOn(c, tx)
	checkSMTPReply(t, err, 451, smtp.EnhancedCode{4, 3, 0})
	fake.mu.Lock()
	fake.panics = false
	fake.mu.Unlock()
	if stage, err := smtpSendOn(c, tx); err != nil {
		t.Fatalf("second message failed at %s: %v", stage, err)
	}
	if n := len(fake.deliveries()); n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
}

func TestSMTPLogsNoBody(t *testing.T) {
	var logs smtpLogBuffer
	fake := &fakeDeliverer{}
	_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := smtpSend(t, addr, smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}, msg: smtpTestMessage}); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "message delivered") || !strings.Contains(out, "size=") {
		t.Errorf("no fakeDelivery line in logs:\n%s", out)
	}
	if strings.Contains(out, "SECRET-BODY-TEXT") || strings.Contains(out, "Impossible") {
		t.Errorf("logs contain the message:\n%s", out)
	}
}

func TestNewSMTPServerErrors(t *testing.T) {
	fake := &fakeDeliverer{}
	tests := []struct {
		name string
		opt  SMTPOptions
	}{
		{"no deliverer", SMTPOptions{SupportAddresses: []string{"support@localhost"}}},
		{"no address", SMTPOptions{Deliverer: fake}},
		{"bad address", SMTPOptions{Deliverer: fake, SupportAddresses: []string{"support"}}},
		{"negative limit", SMTPOptions{Deliverer: fake, SupportAddresses: []string{"support@localhost"}, MaxRecipients: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSMTPServer(tt.opt); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
