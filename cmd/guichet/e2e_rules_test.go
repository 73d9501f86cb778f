package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/internal/smtpsink"
)

// signedReplyTo returns the signed Reply-To of the last mail to rcpt and its Message-ID.
func signedReplyTo(t *testing.T, msgs []smtpsink.Message, rcpt string) (string, string) {
	t.Helper()
	to := mailTo(msgs, rcpt)
	if len(to) == 0 {
		t.Fatalf("no mail to %s", rcpt)
	}
	h := header(t, to[len(to)-1].Data)
	list, err := h.AddressList("Reply-To")
	if err != nil || len(list) != 1 {
		t.Fatalf("Reply-To: %v %v", list, err)
	}
	id, _ := h.MessageID()
	return list[0].Address, id
}

func (h *harness) countTo(rcpt string) int { return len(mailTo(h.sink.Messages(), rcpt)) }

// settle waits until the sink has received n mails and nothing more arrives for a moment.
func (h *harness) settle(n int) []smtpsink.Message {
	h.sink.WaitFor(n, 10*time.Second)
	for {
		before := h.sink.Count()
		time.Sleep(300 * time.Millisecond)
		if h.sink.Count() == before {
			return h.sink.Messages()
		}
	}
}

func events(tk map[string]any, kind string) []string {
	var out []string
	for _, e := range tk["events"].([]any) {
		m := e.(map[string]any)
		if m["kind"] == kind {
			out = append(out, fmt.Sprint(m["detail"]))
		}
	}
	return out
}

// TestEndToEndMailRules runs the flows of the mail rules over loopback: commands in
// English, an unknown command, the comment address, a tampered reply address, a
// stranger with someone else's token, a failing DMARC result, Cc participants, an
// out-of-office reply and a DSN on a thread, and a flood stopped by the caps. The test
// client plays the MTA in front (--trusted-relays), whose DMARC result counts.
func TestEndToEndMailRules(t *testing.T) {
	h := startHarness(t, "--trusted-relays", "127.0.0.1/32")
	for _, args := range [][]string{
		{"establishment", "add", "0690026D", "--name", "Collège Jean Moulin", "--academie", "Lyon"},
		{"user", "add", "jeanne@ecole.test", "--name", "Jeanne", "--uai", "0690026D"},
		{"user", "add", "paul@ecole.test", "--name", "Paul", "--uai", "0690026D"},
	} {
		if code, _, errs := h.cli("", args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	// Jeanne writes, Cc Paul (same school: participant) and an outsider (refused).
	if err := h.send("jeanne@ecole.test", "From: Jeanne <jeanne@ecole.test>\nTo: support@localhost\nCc: Paul <paul@ecole.test>, intrus@ailleurs.test\nSubject: Vidéoprojecteur\nMessage-ID: <v1@ecole.test>\n\nLe vidéoprojecteur de la salle 4 clignote.\n"); err != nil {
		t.Fatal(err)
	}
	msgs := h.settle(2)
	tk := h.show("AURAN1-1")
	if p := tk["participants"].([]any); len(p) != 1 || p[0] != "paul@ecole.test" {
		t.Fatalf("participants %v", p)
	}
	if r := events(tk, "participant_refused"); len(r) != 1 || r[0] != "intrus@ailleurs.test" {
		t.Fatalf("refused participants in the activity: %v", r)
	}
	signed, notifID := signedReplyTo(t, msgs, "alice@support.test")

	// English commands through the signed address.
	reply := func(mid, to, body string, extra ...string) string {
		return "From: Alice Agent <alice@support.test>\nTo: " + to + "\nSubject: Re: [#AURAN1-1] Vidéoprojecteur\nMessage-ID: <" + mid + ">\nIn-Reply-To: <" + notifID + ">\n" + strings.Join(extra, "") + "\n" + body
	}
	if err := h.sendTo("alice@support.test", signed, reply("e1@support.test", signed, "#status waiting\n#assign me\nWe asked the vendor.\n")); err != nil {
		t.Fatal(err)
	}
	msgs = h.settle(4)
	tk = h.show("AURAN1-1")
	if tk["status"] != "waiting" || tk["assignee"] != "alice@support.test" {
		t.Fatalf("English commands: %v %v", tk["status"], tk["assignee"])
	}
	if h.countTo("jeanne@ecole.test") != 2 || h.countTo("paul@ecole.test") != 1 {
		t.Fatalf("the answer goes to the requester and the participant once each")
	}

	// An unknown command: nothing applied, the agent alone is told.
	before := len(msgs)
	if err := h.sendTo("alice@support.test", signed, reply("e2@support.test", signed, "#close\n#frobnicate\nDone.\n")); err != nil {
		t.Fatal(err)
	}
	msgs = h.settle(before + 1)
	if len(msgs) != before+1 || len(mailTo(msgs[before:], "alice@support.test")) != 1 || !bytes.Contains(msgs[before].Data, []byte("frobnicate")) {
		t.Fatalf("unknown command: %d new mails", len(msgs)-before)
	}
	if tk := h.show("AURAN1-1"); tk["status"] != "waiting" || len(tk["comments"].([]any)) != 1 {
		t.Fatalf("a refused mail was applied: %v", tk["status"])
	}

	// The comment address: an internal note, nothing to the customers.
	before = len(msgs)
	if err := h.sendTo("alice@support.test", signed, reply("e3@support.test", "support+note@localhost", "Le fournisseur rappelle demain.\n", "Cc: support+note@localhost\n")); err != nil {
		t.Fatal(err)
	}
	msgs = h.settle(before)
	tk = h.show("AURAN1-1")
	cs := tk["comments"].([]any)
	if last := cs[len(cs)-1].(map[string]any); last["visibility"] != "internal" {
		t.Fatalf("comment address: %v", last)
	}
	if h.countTo("jeanne@ecole.test") != 2 {
		t.Fatal("an internal note reached the requester")
	}

	// A tampered signed address proves nothing: the agent's mail is held.
	tampered := strings.Replace(signed, ".", ".x", 1)
	if err := h.sendTo("alice@support.test", tampered, reply("e4@support.test", tampered, "#close\nClosing.\n")); err != nil {
		t.Fatal(err)
	}
	h.settle(0)
	if tk := h.show("AURAN1-1"); tk["status"] != "waiting" {
		t.Fatalf("a mail through a tampered address acted: %v", tk["status"])
	}
	if _, out, _ := h.cli("", "inbound", "list", "--json"); strings.Count(out, `"state": "held"`) != 1 {
		t.Fatalf("the agent mail through a tampered address is not held:\n%s", out)
	}

	// A stranger replying through Jeanne's signed address gets a ticket of their own.
	jeanneSigned, _ := signedReplyTo(t, h.sink.Messages(), "jeanne@ecole.test")
	if err := h.sendTo("eve@ailleurs.test", jeanneSigned, "From: eve@ailleurs.test\nTo: "+jeanneSigned+"\nSubject: Re: [#AURAN1-1] Vidéoprojecteur\nMessage-ID: <eve1@ailleurs.test>\n\nJe m'invite.\n"); err != nil {
		t.Fatal(err)
	}
	h.settle(0)
	if l := h.list(); len(l) != 2 || l[0]["requester"] != "eve@ailleurs.test" {
		t.Fatalf("stranger: %v", l)
	}

	// A customer's mail that our MTA (a trusted relay) found failing DMARC is held,
	// nothing mailed back.
	before = h.sink.Count()
	if err := h.send("jeanne@ecole.test", "Authentication-Results: localhost; dmarc=fail header.from=ecole.test; spf=fail smtp.mailfrom=ecole.test\nFrom: Jeanne <jeanne@ecole.test>\nTo: support@localhost\nSubject: Re: [#AURAN1-1] Vidéoprojecteur\nMessage-ID: <forged@x>\n\nCliquez ici.\n"); err != nil {
		t.Fatal(err)
	}
	if msgs = h.settle(before); len(msgs) != before {
		t.Fatal("a held mail caused mail")
	}
	if _, out, _ := h.cli("", "inbound", "list", "--json"); strings.Count(out, `"state": "held"`) != 2 {
		t.Fatalf("the tampered agent mail and the forged mail should both be held:\n%s", out)
	}

	// An out-of-office reply and a DSN on the thread: stored, no mail, no status change,
	// the bouncing address marked and shown.
	_, paulMsg := signedReplyTo(t, h.sink.Messages(), "paul@ecole.test")
	before = h.sink.Count()
	if err := h.send("paul@ecole.test", "From: Paul <paul@ecole.test>\nTo: support@localhost\nSubject: Absent : [#AURAN1-1] Vidéoprojecteur\nAuto-Submitted: auto-replied\nMessage-ID: <oof@ecole.test>\n\nJe suis absent jusqu'à lundi.\n"); err != nil {
		t.Fatal(err)
	}
	dsn := "From: MAILER-DAEMON@ecole.test\nTo: support@localhost\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn1@ecole.test>\nContent-Type: multipart/report; report-type=delivery-status; boundary=D\n\n--D\nContent-Type: text/plain\n\nThe mail could not be delivered.\n--D\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.ecole.test\n\nFinal-Recipient: rfc822; paul@ecole.test\nAction: failed\nStatus: 5.1.1\n\n--D\nContent-Type: text/rfc822-headers\n\nFrom: support@localhost\nMessage-ID: <" + paulMsg + ">\nSubject: [#AURAN1-1] Vidéoprojecteur\n\n--D--\n"
	if err := h.sendTo("", "support@localhost", dsn); err != nil {
		t.Fatal(err)
	}
	if msgs = h.settle(before); len(msgs) != before {
		t.Fatalf("automatic mail caused %d mails", len(msgs)-before)
	}
	tk = h.show("AURAN1-1")
	if tk["status"] != "waiting" || len(events(tk, "bounce")) != 1 {
		t.Fatalf("after OOF and DSN: status %v, bounces %v", tk["status"], events(tk, "bounce"))
	}

	// A flood from an auto-responder that does not say so: the caps stop the ping-pong.
	for i := 0; i < 14; i++ {
		body := fmt.Sprintf("From: Jeanne <jeanne@ecole.test>\nTo: support@localhost\nSubject: Re: [#AURAN1-1] Vidéoprojecteur\nMessage-ID: <flood%d@ecole.test>\n\nMessage %d reçu.\n", i, i)
		if err := h.send("jeanne@ecole.test", body); err != nil {
			t.Fatal(err)
		}
	}
	h.settle(0)
	// Alice has had the notification, the OOF-free thread, and at most 10 mails about
	// AURAN1-1 in these ten minutes.
	if n := h.countTo("alice@support.test"); n > 12 || n < 10 {
		t.Fatalf("Alice got %d mails during a flood", n)
	}
}
