package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/guichet/guichet/internal/smtpsink"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// runWith runs one guichet command with the given stdin and environment.
func runWith(stdin string, env map[string]string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }}, nil)
	return code, out.String(), errb.String()
}

// sentMails reads the mail written under <dataDir>/sent (no --relay), oldest first.
func sentMails(t *testing.T, dataDir string) []*mail.Message {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "sent", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var out []*mail.Message
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, m)
	}
	return out
}

// An MTA's pipe runs `ingest` with no environment: the configuration file alone must
// give the confirmation its addresses and links (issue 11: they were @localhost and
// http://127.0.0.1:8080, and replies bounced).
func TestIngestWithOnlyConfigFile(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	conf := writeConf(t, 0o640,
		"# as deploy/guichet.conf.example",
		"data-dir = "+dataDir,
		"support-address = support@support.example.org",
		`desk = "AURAN1=Assistance ENT"`,
		"public-url = https://support.example.org")
	msg := "From: Jeanne <jeanne@ecole.test>\r\nTo: support@support.example.org\r\nSubject: Imprimante en panne\r\n" +
		"Message-ID: <conf1@ecole.test>\r\n\r\nElle ne marche plus.\r\n"
	code, _, errs := runWith(msg, nil, "ingest", "--config", conf, "--sender=jeanne@ecole.test", "--recipient=support@support.example.org")
	if code != 0 {
		t.Fatalf("ingest: exit %d %s", code, errs)
	}
	sent := sentMails(t, dataDir)
	if len(sent) != 1 {
		t.Fatalf("%d mails sent, want the confirmation", len(sent))
	}
	h := sent[0].Header
	rt, err := h.AddressList("Reply-To")
	if err != nil || len(rt) != 1 || !strings.HasSuffix(rt[0].Address, "@support.example.org") || !strings.HasPrefix(rt[0].Address, "support+auran1-1.") {
		t.Fatalf("Reply-To %v (%v), want the signed address at support.example.org", rt, err)
	}
	if mid := h.Get("Message-ID"); !strings.HasSuffix(mid, "@support.example.org>") {
		t.Fatalf("Message-ID %q not at the support domain", mid)
	}
	body, _ := io.ReadAll(sent[0].Body)
	all := strings.Join([]string{h.Get("From"), h.Get("List-Unsubscribe"), string(body)}, "\n")
	if !strings.Contains(all, "https://support.example.org/") {
		t.Fatalf("no link to the public URL:\n%s", all)
	}
	for _, bad := range []string{"localhost", "127.0.0.1"} {
		if strings.Contains(all, bad) || strings.Contains(h.Get("Message-ID"), bad) {
			t.Fatalf("the confirmation still names %s:\n%s", bad, all)
		}
	}
}

// A requester's reply that reaches the signed reply address only through the envelope
// (Bcc: the To header names the plain support address, no In-Reply-To, no key in the
// subject) threads when the pipe passes the envelope (--recipient=${original_recipient}),
// as it does over LMTP; without it, it opens a new ticket.
func TestIngestEnvelopeRecipientThreads(t *testing.T) {
	dataDir := t.TempDir()
	conf := writeConf(t, 0o640, "data-dir = "+dataDir, "support-address = support@support.example.org", "public-url = https://support.example.org")
	first := "From: jeanne@ecole.test\r\nTo: support@support.example.org\r\nSubject: Wifi en panne\r\nMessage-ID: <bcc1@ecole.test>\r\n\r\nPlus de wifi.\r\n"
	if code, _, errs := runWith(first, nil, "ingest", "--config", conf, "--sender=jeanne@ecole.test", "--recipient=support@support.example.org"); code != 0 {
		t.Fatalf("first: %d %s", code, errs)
	}
	rt, err := sentMails(t, dataDir)[0].Header.AddressList("Reply-To")
	if err != nil || len(rt) != 1 {
		t.Fatalf("Reply-To: %v %v", rt, err)
	}
	signed := rt[0].Address
	reply := func(id string) string {
		return "From: jeanne@ecole.test\r\nTo: support@support.example.org\r\nSubject: encore\r\nMessage-ID: <" + id + "@ecole.test>\r\n\r\nToujours pas.\r\n"
	}
	tickets := func() []map[string]any {
		code, out, errs := runWith("", nil, "ticket", "list", "--json", "--config", conf)
		if code != 0 {
			t.Fatalf("ticket list: %d %s", code, errs)
		}
		var l []map[string]any
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	// Through the envelope: a comment on AURAN1-1.
	if code, _, errs := runWith(reply("bcc2"), nil, "ingest", "--config", conf, "--sender=jeanne@ecole.test", "--recipient="+signed); code != 0 {
		t.Fatalf("reply: %d %s", code, errs)
	}
	if l := tickets(); len(l) != 1 {
		t.Fatalf("%d tickets after a reply to the signed address by the envelope, want 1", len(l))
	}
	code, out, errs := runWith("", nil, "ticket", "show", "--json", "AURAN1-1", "--config", conf)
	if code != 0 || !strings.Contains(out, "Toujours pas.") {
		t.Fatalf("the reply is not a comment of AURAN1-1: %d %s %s", code, out, errs)
	}
	// $RECIPIENT still works when the flag is absent.
	if code, _, errs := runWith(reply("bcc3"), map[string]string{"SENDER": "jeanne@ecole.test", "RECIPIENT": signed}, "ingest", "--config", conf); code != 0 {
		t.Fatalf("reply by $RECIPIENT: %d %s", code, errs)
	}
	if l := tickets(); len(l) != 1 {
		t.Fatalf("%d tickets after a reply with $RECIPIENT, want 1", len(l))
	}
	// Without the envelope, nothing ties it to the ticket: the behaviour issue 11 found.
	if code, _, errs := runWith(reply("bcc4"), nil, "ingest", "--config", conf); code != 0 {
		t.Fatalf("reply without envelope: %d %s", code, errs)
	}
	if l := tickets(); len(l) != 2 {
		t.Fatalf("%d tickets after a reply without envelope, want 2 (a new one)", len(l))
	}
}

// --sender= (empty) is a bounce's null sender and wins over $SENDER; --sender=ADDR too.
func TestIngestSenderFlag(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"SENDER": "from-env@ecole.test"}
	for i, args := range [][]string{{"--sender="}, {"--sender=flag@ecole.test"}, nil} {
		msg := "From: a@ecole.test\r\nTo: support@localhost\r\nSubject: s\r\nMessage-ID: <snd" + string(rune('0'+i)) + "@ecole.test>\r\n\r\nx\r\n"
		if code, _, errs := runWith(msg, env, append([]string{"ingest", "--no-send", "--data-dir", dataDir}, args...)...); code != 0 {
			t.Fatalf("ingest %v: %d %s", args, code, errs)
		}
	}
	code, out, errs := runWith("", nil, "inbound", "list", "--json", "--data-dir", dataDir)
	if code != 0 {
		t.Fatalf("inbound list: %d %s", code, errs)
	}
	var items []struct {
		EnvelopeFrom string `json:"envelope_from"`
	}
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.EnvelopeFrom)
	}
	// newest first: no flag ($SENDER), --sender=flag@, --sender= (null)
	if want := []string{"from-env@ecole.test", "flag@ecole.test", ""}; !slices.Equal(got, want) {
		t.Fatalf("envelope senders %q, want %q", got, want)
	}
}

// Postfix copies a pipe command's stderr into the delivery status: a message stored and
// its confirmation sent must leave it empty; --log-level still turns logs on.
func TestIngestLogsOnlyProblems(t *testing.T) {
	dataDir := t.TempDir()
	msg := func(id string) string {
		return "From: a@ecole.test\r\nTo: support@localhost\r\nSubject: s\r\nMessage-ID: <" + id + "@ecole.test>\r\n\r\nx\r\n"
	}
	// The first run migrates the database and sends the confirmation: both logged at INFO.
	code, out, errs := runWith(msg("q1"), nil, "ingest", "--data-dir", dataDir)
	if code != 0 || errs != "" || out != "" {
		t.Fatalf("ingest by default: exit %d, stdout %q, stderr %q (want nothing)", code, out, errs)
	}
	code, _, errs = runWith(msg("q2"), nil, "ingest", "--data-dir", dataDir, "--log-level", "debug")
	if code != 0 || !strings.Contains(errs, "level=") {
		t.Fatalf("ingest --log-level debug: exit %d, stderr %q (want logs)", code, errs)
	}
	// A problem is still told: the message refused.
	code, _, errs = runWith("", nil, "ingest", "--data-dir", dataDir)
	if code != exitDataErr || !strings.Contains(errs, "empty message") {
		t.Fatalf("empty message: %d %q", code, errs)
	}
}

// lmtpSend delivers raw to one recipient over LMTP and returns the reply to the message.
func lmtpSend(t *testing.T, addr, from, rcpt, raw string) error {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := textproto.NewConn(nc)
	if _, _, err := c.ReadResponse(220); err != nil {
		return err
	}
	for _, s := range []struct {
		line string
		code int
	}{{"LHLO client.test", 250}, {"MAIL FROM:<" + from + ">", 250}, {"RCPT TO:<" + rcpt + ">", 250}, {"DATA", 354}} {
		if err := c.PrintfLine("%s", s.line); err != nil {
			return err
		}
		if _, _, err := c.ReadResponse(s.code); err != nil {
			return err
		}
	}
	w := c.DotWriter()
	io.WriteString(w, raw)
	w.Close()
	_, _, err = c.ReadResponse(250) // one reply per recipient: one here
	return err
}

// The Bcc reply threads the same way over LMTP (RCPT TO the signed address) as through
// ingest --recipient, in one data folder served by `serve --lmtp`.
func TestBccReplyThreadsByLMTPAndIngest(t *testing.T) {
	h := startHarness(t, "--lmtp")
	first := "From: jeanne@ecole.test\r\nTo: support@localhost\r\nSubject: Wifi en panne\r\nMessage-ID: <lm1@ecole.test>\r\n\r\nPlus de wifi.\r\n"
	if err := lmtpSend(t, h.smtpAddr, "jeanne@ecole.test", "support@localhost", first); err != nil {
		t.Fatal(err)
	}
	h.waitProcessed()
	// The agents' notification may reach the relay first: wait for Jeanne's confirmation.
	var conf []smtpsink.Message
	for deadline := time.Now().Add(10 * time.Second); len(conf) == 0 && time.Now().Before(deadline); {
		conf = mailTo(h.sink.WaitFor(h.sink.Count()+1, 200*time.Millisecond), "jeanne@ecole.test")
	}
	if len(conf) != 1 {
		t.Fatalf("%d confirmations", len(conf))
	}
	m, err := mail.ReadMessage(bytes.NewReader(conf[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := m.Header.AddressList("Reply-To")
	if err != nil || len(rt) != 1 {
		t.Fatalf("Reply-To %v %v", rt, err)
	}
	reply := func(id, body string) string {
		return "From: jeanne@ecole.test\r\nTo: support@localhost\r\nSubject: encore\r\nMessage-ID: <" + id + "@ecole.test>\r\n\r\n" + body + "\r\n"
	}
	if err := lmtpSend(t, h.smtpAddr, "jeanne@ecole.test", rt[0].Address, reply("lm2", "Par LMTP.")); err != nil {
		t.Fatal(err)
	}
	h.waitProcessed()
	if code, _, errs := h.cli(reply("lm3", "Par le pipe."), "ingest", "--no-send", "--sender=jeanne@ecole.test", "--recipient="+rt[0].Address); code != 0 {
		t.Fatalf("ingest: %d %s", code, errs)
	}
	if l := h.list(); len(l) != 1 {
		t.Fatalf("%d tickets, want 1: both replies on AURAN1-1", len(l))
	}
	code, out, errs := h.cli("", "ticket", "show", "--json", "AURAN1-1")
	if code != 0 || !strings.Contains(out, "Par LMTP.") || !strings.Contains(out, "Par le pipe.") {
		t.Fatalf("replies not on AURAN1-1: %d %s %s", code, out, errs)
	}
}
