package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/guichet/guichet/internal/smtpsink"
)

// harness runs `guichet serve` in-process on free loopback ports, with a relay sink.
type harness struct {
	t        testing.TB
	dataDir  string
	smtpAddr string
	httpAddr string
	sink     *smtpsink.Sink
	stop     context.CancelFunc
	done     chan int
	extra    []string
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// cli runs one guichet command against the harness's data folder.
func (h *harness) cli(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	args = append(args, "--data-dir", h.dataDir)
	code := run(context.Background(), args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, nil)
	return code, out.String(), errb.String()
}

func startHarness(t testing.TB, extra ...string) *harness {
	t.Helper()
	return startHarnessOn(t, t.TempDir(), extra...)
}

// startHarnessOn is startHarness on an existing data folder.
func startHarnessOn(t testing.TB, dataDir string, extra ...string) *harness {
	t.Helper()
	sink, err := smtpsink.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	h := &harness{t: t, dataDir: dataDir, sink: sink, done: make(chan int, 1), extra: extra}
	if code, _, errs := h.cli("", "migrate"); code != 0 { // user add needs the database (openExisting)
		t.Fatalf("migrate: %d %s", code, errs)
	}
	if code, _, errs := h.cli("", "user", "add", "alice@support.test", "--name", "Alice Agent", "--role", "agent"); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	args := append([]string{"serve", "--data-dir", h.dataDir, "--smtp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--relay", "smtp://" + sink.Addr(), "--log-level", "warn"}, extra...)
	logs := &syncBuffer{}
	ready := make(chan [2]string, 1)
	sio := IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Getenv: func(string) string { return "" },
		Ready: func(smtpAddr, httpAddr string) { ready <- [2]string{smtpAddr, httpAddr} }}
	go func() { h.done <- run(ctx, args, sio, nil) }()
	select {
	case a := <-ready:
		h.smtpAddr, h.httpAddr = a[0], a[1]
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start listening:\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-h.done:
			if code != 0 {
				t.Errorf("serve exited with %d: %s", code, logs)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + h.httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return h
}

// send delivers raw over SMTP and returns the server's error (nil for 250); after a 250
// it waits until the server has processed the message.
func (h *harness) send(from string, raw string) error {
	return h.sendTo(from, "support@localhost", raw)
}

// waitProcessed waits until serve has processed every message it answered 250 to: the
// 250 comes once a message is stored, its processing right after.
func (h *harness) waitProcessed() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + h.httpAddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "\nguichet_intake_backlog 0\n") {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("messages still waiting to be processed after 10 s (%v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) show(key string) map[string]any {
	h.t.Helper()
	code, out, errs := h.cli("", "ticket", "show", "--json", key)
	if code != 0 {
		h.t.Fatalf("ticket show %s: %d %s", key, code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) list() []map[string]any {
	h.t.Helper()
	code, out, errs := h.cli("", "ticket", "list", "--json")
	if code != 0 {
		h.t.Fatalf("ticket list: %d %s", code, errs)
	}
	var l []map[string]any
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		h.t.Fatal(err)
	}
	return l
}

func header(t *testing.T, raw []byte) mail.Header {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return r.Header
}

// mailTo returns the messages of the sink addressed to rcpt.
func mailTo(msgs []smtpsink.Message, rcpt string) []smtpsink.Message {
	var out []smtpsink.Message
	for _, m := range msgs {
		for _, to := range m.To {
			if to == rcpt {
				out = append(out, m)
			}
		}
	}
	return out
}

const firstMail = `From: =?ISO-8859-1?Q?Jos=E9_Mart=EDn?= <jose@ecole.test>
To: support@localhost
Subject: =?ISO-8859-1?Q?Imprimante_en_panne_=E0_l'=E9cole?=
Message-ID: <first@ecole.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Bonjour, l'imprimante de la salle B ne r=E9pond plus.

--b1
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=UTF-8''rapport%20d%27incident%20;
 filename*1*=%C3%A9cole.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK
--b1--
`

func TestEndToEndMailThreads(t *testing.T) {
	h := startHarness(t)
	if err := h.send("jose@ecole.test", firstMail); err != nil {
		t.Fatalf("first mail: %v", err)
	}
	msgs := h.sink.WaitFor(2, 10*time.Second)
	conf := mailTo(msgs, "jose@ecole.test")
	agent := mailTo(msgs, "alice@support.test")
	if len(conf) != 1 || len(agent) != 1 {
		t.Fatalf("want 1 confirmation and 1 agent notification, got %d and %d", len(conf), len(agent))
	}
	ch := header(t, conf[0].Data)
	subj, _ := ch.Subject()
	if !strings.Contains(subj, "[#AURAN1-1]") || ch.Get("Auto-Submitted") != "auto-replied" || ch.Get("X-Auto-Response-Suppress") != "All" {
		t.Fatalf("confirmation headers: subject %q auto-submitted %q", subj, ch.Get("Auto-Submitted"))
	}
	if !bytes.Contains(conf[0].Data, []byte("Nous avons bien re=C3=A7u votre requ=C3=AAte et vous r=C3=A9pondrons au")) {
		t.Fatalf("confirmation lacks the guide's text:\n%s", conf[0].Data)
	}
	if ah := header(t, agent[0].Data); ah.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("agent notification Auto-Submitted %q", ah.Get("Auto-Submitted"))
	}
	if !bytes.Contains(agent[0].Data, []byte("rapport")) || !bytes.Contains(agent[0].Data, []byte("JVBERi0xLjQK")) {
		t.Fatalf("agent notification does not carry the attachment")
	}
	tk := h.show("AURAN1-1")
	if tk["summary"] != "Imprimante en panne à l'école" || tk["status"] != "new" || tk["status_label"] != "Nouveau" || tk["source"] != "email" || tk["requester"] != "jose@ecole.test" {
		t.Fatalf("ticket: %v", tk)
	}
	atts := tk["attachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["filename"] != "rapport d'incident école.pdf" {
		t.Fatalf("attachments: %v", atts)
	}
	if !strings.Contains(tk["description"].(string), "ne répond plus") {
		t.Fatalf("description: %q", tk["description"])
	}

	// The same message delivered again: still one ticket and one confirmation.
	if err := h.send("jose@ecole.test", firstMail); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	// A reply by token, quoting the confirmation.
	confID, _ := ch.MessageID()
	reply := "From: jose@ecole.test\nTo: support@localhost\nSubject: RE: [#AURAN1-1] Nous avons bien reçu votre requête\nMessage-ID: <r1@ecole.test>\nContent-Type: text/plain; charset=utf-8\n\nC'est la salle B2.\n\nLe sam. 28 nov. 2026 à 13:00, Assistance ENT <support@localhost> a écrit :\n> Nous avons bien reçu votre requête\n"
	if err := h.send("jose@ecole.test", reply); err != nil {
		t.Fatal(err)
	}
	// A reply found only by References.
	byRef := "From: jose@ecole.test\nTo: support@localhost\nSubject: Autre chose\nMessage-ID: <r2@ecole.test>\nIn-Reply-To: <" + confID + ">\nReferences: <first@ecole.test> <" + confID + ">\n\nEt aussi la salle C.\n"
	if err := h.send("jose@ecole.test", byRef); err != nil {
		t.Fatal(err)
	}
	// An out-of-office answer carrying the token: stored, never answered.
	auto := "From: absent@ecole.test\nTo: support@localhost\nSubject: Absent: [#AURAN1-1]\nAuto-Submitted: auto-replied\nMessage-ID: <oof@ecole.test>\n\nJe suis absent.\n"
	if err := h.send("absent@ecole.test", auto); err != nil {
		t.Fatal(err)
	}
	// An HTML-only mail becomes a ticket with readable text.
	htmlOnly := "From: Zoé <zoe@ecole.test>\nTo: support@localhost\nSubject: =?UTF-8?B?UHJvYmzDqG1lIGQnYWNjw6hz?=\nMessage-ID: <h1@ecole.test>\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>Je n'arrive pas à me <b>connecter</b>.</p></body></html>\n"
	if err := h.send("zoe@ecole.test", htmlOnly); err != nil {
		t.Fatal(err)
	}
	msgs = h.sink.WaitFor(6, 10*time.Second)
	tk = h.show("AURAN1-1")
	comments := tk["comments"].([]any)
	if len(comments) != 3 {
		t.Fatalf("AURAN1-1 has %d comments, want 2 replies and 1 automatic: %v", len(comments), comments)
	}
	c0 := comments[0].(map[string]any)
	if c0["body"] != "C'est la salle B2." || c0["visibility"] != "public" {
		t.Fatalf("first reply: %v", c0)
	}
	if c2 := comments[2].(map[string]any); c2["visibility"] != "internal" || c2["automatic"] != true {
		t.Fatalf("automatic mail comment: %v", c2)
	}
	h2 := h.show("AURAN1-2")
	if h2["summary"] != "Problème d'accès" || strings.Contains(h2["description"].(string), "<") || strings.Contains(h2["description"].(string), "alert") ||
		!strings.Contains(h2["description"].(string), "Je n'arrive pas à me connecter.") {
		t.Fatalf("HTML-only ticket: %q / %q", h2["summary"], h2["description"])
	}
	if l := h.list(); len(l) != 2 {
		t.Fatalf("%d tickets, want 2", len(l))
	}
	// Mail out: jose 1 confirmation; alice 1 + 2 comments + 1 for Zoé; zoe 1; none for the automatic mail.
	time.Sleep(300 * time.Millisecond)
	msgs = h.sink.Messages()
	if n := len(mailTo(msgs, "jose@ecole.test")); n != 1 {
		t.Errorf("jose got %d mails, want 1 confirmation", n)
	}
	if n := len(mailTo(msgs, "alice@support.test")); n != 4 {
		t.Errorf("alice got %d mails, want 4", n)
	}
	if n := len(mailTo(msgs, "absent@ecole.test")); n != 0 {
		t.Errorf("automatic mail was answered")
	}
}

func TestEndToEndOversizeRefused(t *testing.T) {
	h := startHarness(t, "--max-message-size", "65536")
	big := "From: a@ecole.test\nTo: support@localhost\nSubject: gros\n\n" + strings.Repeat("x", 100) + "\n"
	big += strings.Repeat(strings.Repeat("y", 99)+"\n", 800)
	err := h.send("a@ecole.test", big)
	if err == nil || !strings.Contains(err.Error(), "552") {
		t.Fatalf("oversize: %v, want 552", err)
	}
	code, out, _ := h.cli("", "inbound", "list", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("something was stored: %s", out)
	}
	if err := smtp.SendMail(h.smtpAddr, nil, "a@ecole.test", []string{"someone@elsewhere.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("open relay: %v", err)
	}
}

func TestIngestExitCodes(t *testing.T) {
	dir := t.TempDir()
	ingest := func(stdin string, extra ...string) (int, string) {
		var out, errb bytes.Buffer
		args := append([]string{"ingest", "--data-dir", dir, "--no-send"}, extra...)
		code := run(context.Background(), args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, nil)
		return code, errb.String()
	}
	msg := "From: a@ecole.test\r\nTo: support@localhost\r\nSubject: Par le pipe\r\nMessage-ID: <pipe1@ecole.test>\r\n\r\nBonjour\r\n"
	if code, errs := ingest(msg); code != 0 {
		t.Fatalf("stored: exit %d %s", code, errs)
	}
	if code, _ := ingest(msg); code != 0 {
		t.Fatalf("duplicate: exit %d", code)
	}
	if code, _ := ingest(""); code != 65 {
		t.Fatalf("empty: exit %d, want 65", code)
	}
	if code, _ := ingest(msg+strings.Repeat("z", 5000), "--max-message-size", "2048"); code != 65 {
		t.Fatalf("oversize: exit %d, want 65", code)
	}
	// A database that cannot be opened is a temporary failure.
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, []byte("x"), 0o600)
	if code, _ := ingest(msg, "--db", filepath.Join(blocker, "sub", "g.db")); code != 75 {
		t.Fatalf("database unavailable: exit %d, want 75", code)
	}
	var out bytes.Buffer
	run(context.Background(), []string{"ticket", "list", "--json", "--data-dir", dir}, IO{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }}, nil)
	var l []map[string]any
	json.Unmarshal(out.Bytes(), &l)
	if len(l) != 1 || l[0]["summary"] != "Par le pipe" {
		t.Fatalf("tickets after ingest: %s", out.String())
	}
}

func TestFlagsAnywhereAndEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GUICHET_DATA_DIR": dir}
	var out, errb bytes.Buffer
	// The administration commands need the database migrate creates (openExisting).
	if code := run(context.Background(), []string{"migrate"}, IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, nil); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	code := run(context.Background(), []string{"establishment", "add", "--name", "Collège Jean Moulin", "0690026D", "--academie", "Lyon"},
		IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, nil)
	if code != 0 {
		t.Fatalf("establishment add: %d %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "guichet.db")); err != nil {
		t.Fatalf("GUICHET_DATA_DIR not used: %v", err)
	}
	errb.Reset()
	code = run(context.Background(), []string{"establishment", "add", "0690026E", "--name", "X"}, IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, nil)
	if code != exitUsage || !strings.Contains(errb.String(), "check letter") {
		t.Fatalf("bad UAI: %d %s", code, errb.String())
	}
	code = run(context.Background(), []string{"ticket", "show", "--json", "AURAN1-99"}, IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, nil)
	if code == 0 {
		t.Fatal("show of a missing ticket succeeded")
	}
	_ = fmt.Sprint()
}

func TestEndToEndNoMessageIDAndEnglish(t *testing.T) {
	h := startHarness(t)
	if code, _, errs := h.cli("", "user", "add", "tom@school.test", "--name", "Tom Smith", "--lang", "en"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	// Without a Message-ID, the same bytes delivered twice are one message.
	noID := "From: Tom Smith <tom@school.test>\nTo: support@localhost\nSubject: Cannot log in\n\nMy password is refused.\n"
	for i := 0; i < 2; i++ {
		if err := h.send("tom@school.test", noID); err != nil {
			t.Fatal(err)
		}
	}
	msgs := h.sink.WaitFor(2, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if l := h.list(); len(l) != 1 {
		t.Fatalf("%d tickets from one message delivered twice", len(l))
	}
	conf := mailTo(h.sink.Messages(), "tom@school.test")
	if len(conf) != 1 {
		t.Fatalf("%d confirmations, want 1 (%d mails in all)", len(conf), len(msgs))
	}
	if !bytes.Contains(conf[0].Data, []byte("We have received your request")) {
		t.Fatalf("confirmation to an English user is not in English:\n%s", conf[0].Data)
	}
}
