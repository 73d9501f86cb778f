package main

import (
	"bytes"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// sendTo delivers raw to rcpt over SMTP.
// After a 250 it waits until the server has processed the message.
func (h *harness) sendTo(from, rcpt, raw string) error {
	err := smtp.SendMail(h.smtpAddr, nil, from, []string{rcpt}, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err == nil {
		h.waitProcessed()
	}
	return err
}

// TestEndToEndAgentWorksFromMail: the agent answers a notification from a mail client
// (through the signed Reply-To), with commands; the requester gets a clean comment; the
// requester's answer reaches the agent; a spoofed agent mail is held.
func TestEndToEndAgentWorksFromMail(t *testing.T) {
	h := startHarness(t)
	if err := h.send("jeanne@ecole.test", "From: Jeanne <jeanne@ecole.test>\nTo: support@localhost\nSubject: Tableau numérique\nMessage-ID: <t1@ecole.test>\n\nLe TNI de la salle 12 ne s'allume plus.\n"); err != nil {
		t.Fatal(err)
	}
	msgs := h.sink.WaitFor(2, 10*time.Second)
	notif := mailTo(msgs, "alice@support.test")
	if len(notif) != 1 {
		t.Fatalf("agent notification: %d", len(notif))
	}
	nh := header(t, notif[0].Data)
	replyTo := nh.Get("Reply-To")
	start, end := strings.Index(replyTo, "<"), strings.Index(replyTo, ">")
	if start < 0 || end < start || !strings.HasPrefix(replyTo[start+1:end], "support+auran1-1.") {
		t.Fatalf("Reply-To %q is not the signed address", replyTo)
	}
	signed := replyTo[start+1 : end]
	notifID, _ := nh.MessageID()

	// Alice answers from Thunderbird: commands on top, the quoted notification below.
	reply := "From: Alice Agent <alice@support.test>\nTo: " + signed + "\nSubject: Re: [#AURAN1-1] Tableau numérique\n" +
		"Message-ID: <a1@support.test>\nIn-Reply-To: <" + notifID + ">\nContent-Type: text/plain; charset=utf-8\n\n" +
		"#assigner moi\n#statut En attente utilisateur\nPouvez-vous vérifier que la multiprise est allumée ?\n\n" +
		"Le 28/11/2026 à 13:00, Assistance ENT a écrit :\n> Le TNI de la salle 12 ne s'allume plus.\n"
	if err := h.sendTo("alice@support.test", signed, reply); err != nil {
		t.Fatal(err)
	}
	msgs = h.sink.WaitFor(3, 10*time.Second)
	toJeanne := mailTo(msgs, "jeanne@ecole.test")
	if len(toJeanne) != 2 {
		t.Fatalf("Jeanne got %d mails, want the confirmation and the answer", len(toJeanne))
	}
	answer := toJeanne[1].Data
	if !bytes.Contains(answer, []byte("multiprise")) || bytes.Contains(answer, []byte("#assigner")) || bytes.Contains(answer, []byte("a =C3=A9crit")) {
		t.Fatalf("the answer is not clean:\n%s", answer)
	}
	ah := header(t, answer)
	if from, err := ah.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Alice Agent — Assistance ENT" || from[0].Address != "support@localhost" {
		t.Fatalf("answer From %v (%v): want the agent's name and the support address", from, err)
	}
	tk := h.show("AURAN1-1")
	if tk["status"] != "waiting_user" || tk["assignee"] != "alice@support.test" {
		t.Fatalf("after the agent's reply: %v / %v", tk["status"], tk["assignee"])
	}
	c := tk["comments"].([]any)[0].(map[string]any)
	if c["body"] != "Pouvez-vous vérifier que la multiprise est allumée ?" || c["verified"] != true {
		t.Fatalf("agent comment: %v", c)
	}

	// Jeanne answers: in progress, and Alice (the assignee) gets it.
	jr := "From: Jeanne <jeanne@ecole.test>\nTo: support@localhost\nSubject: RE: [#AURAN1-1] Tableau numérique\nMessage-ID: <t2@ecole.test>\n\nOui, elle est allumée.\n\n-----Message d'origine-----\nDe : Assistance ENT\n> Pouvez-vous vérifier\n"
	if err := h.send("jeanne@ecole.test", jr); err != nil {
		t.Fatal(err)
	}
	msgs = h.sink.WaitFor(4, 10*time.Second)
	if n := len(mailTo(msgs, "alice@support.test")); n != 2 {
		t.Fatalf("Alice got %d mails, want the notification and Jeanne's answer", n)
	}
	if tk := h.show("AURAN1-1"); tk["status"] != "in_progress" {
		t.Fatalf("after the customer's answer: %v", tk["status"])
	}

	// Someone forges Alice's address without proof: held, nothing reaches Jeanne, and
	// the status does not change; Alice is asked to confirm.
	forged := "From: Alice Agent <alice@support.test>\nTo: support@localhost\nSubject: Re: [#AURAN1-1] Tableau numérique\nMessage-ID: <evil@evil.test>\n\n#fermer\nMerci de me donner votre mot de passe.\n"
	if err := h.send("alice@support.test", forged); err != nil {
		t.Fatal(err)
	}
	msgs = h.sink.WaitFor(5, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	msgs = h.sink.Messages()
	if n := len(mailTo(msgs, "jeanne@ecole.test")); n != 2 {
		t.Fatalf("the forged mail reached Jeanne (%d mails)", n)
	}
	if tk := h.show("AURAN1-1"); tk["status"] != "in_progress" {
		t.Fatalf("the forged command applied: %v", tk["status"])
	}
	notices := mailTo(msgs, "alice@support.test")
	if len(notices) != 3 || !bytes.Contains(notices[2].Data, []byte("retenu")) {
		t.Fatalf("Alice was not asked to confirm the held mail (%d mails)", len(notices))
	}
	code, out, _ := h.cli("", "inbound", "list", "--json")
	if code != 0 || !strings.Contains(out, `"held"`) {
		t.Fatalf("held mail not listed: %s", out)
	}
}
