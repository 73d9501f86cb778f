package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestEndToEndPostmaster: mail to postmaster at the support domain is accepted (RFC 5321
// §4.5.1) and reaches the agents as a ticket; a person who writes there gets the usual
// confirmation, a mailer-daemon's report to postmaster gets nothing back.
func TestEndToEndPostmaster(t *testing.T) {
	h := startHarness(t)
	if err := h.sendTo("jeanne@ecole.test", "PostMaster@localhost", "From: Jeanne <jeanne@ecole.test>\nTo: postmaster@localhost\n"+
		"Subject: Nos mails vous reviennent\nMessage-ID: <pm1@ecole.test>\n\nVotre serveur refuse nos messages.\n"); err != nil {
		t.Fatalf("RCPT TO:<PostMaster@localhost>: %v", err)
	}
	msgs := h.sink.WaitFor(2, 10*time.Second)
	if len(mailTo(msgs, "jeanne@ecole.test")) != 1 || len(mailTo(msgs, "alice@support.test")) != 1 {
		t.Fatalf("want a confirmation and an agent notification, got %d mails", len(msgs))
	}
	if l := h.list(); len(l) != 1 || l[0]["summary"] != "Nos mails vous reviennent" {
		t.Fatalf("tickets %v", l)
	}

	bounce := "From: Mail Delivery System <MAILER-DAEMON@mx.ecole.test>\nTo: postmaster@localhost\n" +
		"Subject: Undelivered Mail Returned to Sender\nMessage-ID: <pm2@mx.ecole.test>\nAuto-Submitted: auto-replied\n\n" +
		"This is the mail system at host mx.ecole.test.\n"
	if err := h.sendTo("", "postmaster@localhost", bounce); err != nil {
		t.Fatalf("bounce to postmaster: %v", err)
	}
	// A later mail as a barrier: the outbox sends in order, so once its two mails are out,
	// any mail the bounce caused would be too.
	if err := h.send("paul@ecole.test", "From: paul@ecole.test\nSubject: Autre chose\nMessage-ID: <pm3@ecole.test>\n\nBonjour\n"); err != nil {
		t.Fatal(err)
	}
	msgs = h.sink.WaitFor(4, 10*time.Second)
	if len(mailTo(msgs, "paul@ecole.test")) != 1 {
		t.Fatalf("barrier mail not confirmed: %d mails", len(msgs))
	}
	for _, m := range msgs {
		for _, to := range m.To {
			if strings.Contains(strings.ToLower(to), "mailer-daemon") || to == "" {
				t.Fatalf("mail sent to %q", to)
			}
		}
	}
	if n := h.sink.Count(); n != 4 {
		t.Fatalf("%d mails sent, want 4 (nothing answers the bounce)", n)
	}
	// The bounce is kept where admins look for automatic mail that belongs to no ticket.
	code, out, errs := h.cli("", "inbound", "list", "--json")
	if code != 0 {
		t.Fatalf("inbound list: %d %s", code, errs)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range items {
		if it["message_id"] == "pm2@mx.ecole.test" && it["automatic"] != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("bounce to postmaster not stored as automatic mail: %s", out)
	}
}
