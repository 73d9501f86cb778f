package mailin

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// messageOfSize returns a message of exactly n bytes (n >= 100) with short lines.
func messageOfSize(n int) string {
	head := "From: a@example.org\r\nSubject: size\r\n\r\n"
	body := strings.Repeat(strings.Repeat("x", 68)+"\r\n", n/70+1)
	msg := head + body
	msg = msg[:n-2] + "\r\n"
	return msg
}

func TestSMTPLimits(t *testing.T) {
	hugeHeader := "From: a@example.org\r\nX-Filler: " + strings.Repeat("y", 300) + "\r\n\r\nbody\r\n"
	tests := []struct {
		name      string
		opt       SMTPOptions
		tx        smtpTx
		wantStage string // "" when delivered
		wantCode  int
		wantEnh   smtp.EnhancedCode
	}{
		{name: "message below limit", opt: SMTPOptions{MaxMessageBytes: 1000},
			tx: smtpTx{msg: messageOfSize(999)}},
		{name: "message at limit", opt: SMTPOptions{MaxMessageBytes: 1000},
			tx:        smtpTx{msg: messageOfSize(1000)},
			wantStage: "data", wantCode: 552, wantEnh: smtp.EnhancedCode{5, 3, 4}},
		{name: "message far over limit", opt: SMTPOptions{MaxMessageBytes: 1000},
			tx:        smtpTx{msg: messageOfSize(100000)},
			wantStage: "data", wantCode: 552, wantEnh: smtp.EnhancedCode{5, 3, 4}},
		{name: "SIZE over limit", opt: SMTPOptions{MaxMessageBytes: 1000},
			tx:        smtpTx{msg: messageOfSize(500), opts: &smtp.MailOptions{Size: 1001}},
			wantStage: "mail", wantCode: 552, wantEnh: smtp.EnhancedCode{5, 3, 4}},
		{name: "SIZE hint honoured", opt: SMTPOptions{MaxMessageBytes: 100000},
			tx: smtpTx{msg: messageOfSize(50000), opts: &smtp.MailOptions{Size: 50000}}},
		{name: "header within limit", opt: SMTPOptions{MaxHeaderBytes: 400},
			tx: smtpTx{msg: hugeHeader}},
		{name: "header over limit", opt: SMTPOptions{MaxHeaderBytes: 200},
			tx:        smtpTx{msg: hugeHeader},
			wantStage: "data", wantCode: 552, wantEnh: smtp.EnhancedCode{5, 3, 4}},
		{name: "header only message over limit", opt: SMTPOptions{MaxHeaderBytes: 200},
			tx:        smtpTx{msg: "Subject: " + strings.Repeat("z", 300) + "\r\n"},
			wantStage: "data", wantCode: 552, wantEnh: smtp.EnhancedCode{5, 3, 4}},
		{name: "too many recipients", opt: SMTPOptions{MaxRecipients: 2},
			tx:        smtpTx{to: []string{"support@localhost", "support+a@localhost", "support+b@localhost"}},
			wantStage: "rcpt", wantCode: 452, wantEnh: smtp.EnhancedCode{4, 5, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeDeliverer{}
			tt.opt.Deliverer = fake
			_, addr := startSMTP(t, tt.opt)
			tt.tx.from = "a@example.org"
			if tt.tx.to == nil {
				tt.tx.to = []string{"support@localhost"}
			}
			stage, err := smtpSend(t, addr, tt.tx)
			if stage != tt.wantStage {
				t.Fatalf("failed at %q (%v), want %q", stage, err, tt.wantStage)
			}
			got := fake.deliveries()
			if tt.wantStage != "" {
				checkSMTPReply(t, err, tt.wantCode, tt.wantEnh)
				if len(got) != 0 {
					t.Fatalf("Deliverer called %d times", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d deliveries, want 1", len(got))
			}
			checkDelivered(t, got[0], tt.tx.msg)
		})
	}
}

// The recipients accepted before the limit still get the message.
func TestSMTPTooManyRecipientsKeepsFirst(t *testing.T) {
	fake := &fakeDeliverer{}
	_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, MaxRecipients: 2})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	for i, to := range []string{"support@localhost", "support+x@localhost", "support+y@localhost"} {
		err := c.Rcpt(to, nil)
		if i < 2 && err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			checkSMTPReply(t, err, 452, smtp.EnhancedCode{4, 5, 3})
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(smtpTestMessage))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := fake.deliveries()
	if len(got) != 1 || strings.Join(got[0].env.Recipients, ",") != "support@localhost,support+x@localhost" {
		t.Fatalf("deliveries %+v", got)
	}
}

// A line over MaxLineLength in DATA gets 554 5.6.0, and nothing is delivered.
func TestSMTPLineTooLong(t *testing.T) {
	fake := &fakeDeliverer{}
	_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, MaxLineLength: 200})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	reply := func() string {
		var last string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading reply: %v (after %q)", err, last)
			}
			last = line
			if len(line) < 4 || line[3] != '-' {
				return strings.TrimSpace(line)
			}
		}
	}
	reply() // greeting
	// The client writes its whole message before it reads the answer to DATA, as the
	// go-smtp and net/smtp clients do when the message fits in the socket buffers.
	for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<a@example.org>", "RCPT TO:<support@localhost>", "DATA"} {
		conn.Write([]byte(cmd + "\r\n"))
		reply()
	}
	conn.Write([]byte("Subject: long\r\n\r\n" + strings.Repeat("w", 500) + "\r\n.\r\n"))
	if got := reply(); !strings.HasPrefix(got, "554 5.6.0") {
		t.Fatalf("reply %q, want 554 5.6.0", got)
	}
	if n := len(fake.deliveries()); n != 0 {
		t.Fatalf("Deliverer called %d times", n)
	}
}

func TestHeaderTooBig(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		limit int
		want  bool
	}{
		{"short message", "A: b\r\n\r\nbody", 10, false},
		{"header exactly at limit", "A: b\r\n\r\nbody body body", 6, false},
		{"header one over limit", "A: bc\r\n\r\nbody body body", 6, true},
		{"LF only", "A: b\n\nbody body body body", 5, false},
		{"empty header", "\r\nbody body body body", 2, false},
		{"no blank line", "A: b\r\nC: d\r\nE: f\r\n", 8, true},
		{"blank line far away", "A: " + strings.Repeat("b", 50) + "\r\n\r\nx", 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerTooBig([]byte(tt.msg), tt.limit); got != tt.want {
				t.Fatalf("headerTooBig(%q, %d) = %v, want %v", tt.msg, tt.limit, got, tt.want)
			}
		})
	}
}
