package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// forgedClose is issue 10's attack on AURAN1-1: a client on loopback writes as alice, an
// agent, with a header that claims our MTA (authserv-id "localhost", the support
// domain) found her DMARC and DKIM passing, and closes the ticket.
const forgedClose = "From: alice@support.test\nTo: support@localhost\nSubject: Re: [#AURAN1-1] Tableau numérique\n" +
	"Message-ID: <forged-ar@evil.test>\n" +
	"Authentication-Results: localhost; dmarc=pass header.from=support.test; dkim=pass header.d=support.test\n\n" +
	"#statut closed\nC'est réglé, merci de me renvoyer votre mot de passe.\n"

// openTicket has Jeanne open AURAN1-1 and waits for her confirmation and Alice's
// notification.
func openTicket(t *testing.T, h *harness) {
	t.Helper()
	if err := h.send("jeanne@ecole.test", "From: Jeanne <jeanne@ecole.test>\nTo: support@localhost\nSubject: Tableau numérique\nMessage-ID: <t1@ecole.test>\n\nLe TNI de la salle 12 ne s'allume plus.\n"); err != nil {
		t.Fatal(err)
	}
	h.settle(2)
}

// inboundAuth returns the auth record of the stored message with Message-ID id, as
// `guichet inbound list --json` shows it, and its state.
func inboundAuth(t *testing.T, h *harness, id string) (map[string]any, string) {
	t.Helper()
	code, out, errs := h.cli("", "inbound", "list", "--json")
	if code != 0 {
		t.Fatalf("inbound list: %d %s", code, errs)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("inbound list: %v\n%s", err, out)
	}
	for _, it := range items {
		if it["message_id"] == id {
			a, _ := it["auth"].(map[string]any)
			return a, it["state"].(string)
		}
	}
	t.Fatalf("message %s not stored:\n%s", id, out)
	return nil, ""
}

// TestEndToEndForgedResultsIgnored: with a default serve (no --trusted-relays) the
// issue's forged header counts for nothing: the ticket stays open, nothing reaches
// Jeanne, the mail is held as agent mail without proof (Alice is asked to confirm), and
// the stored message records the ignored header; Guichet's own DKIM check was the
// only proof looked for.
func TestEndToEndForgedResultsIgnored(t *testing.T) {
	h := startHarness(t)
	openTicket(t, h)
	if err := h.send("alice@support.test", forgedClose); err != nil {
		t.Fatal(err)
	}
	msgs := h.settle(3)
	if tk := h.show("AURAN1-1"); tk["status"] == "closed" || len(tk["comments"].([]any)) != 0 {
		t.Fatalf("the forged mail acted: status %v, comments %v", tk["status"], tk["comments"])
	}
	if n := len(mailTo(msgs, "jeanne@ecole.test")); n != 1 {
		t.Fatalf("Jeanne got %d mails, want only her confirmation", n)
	}
	toAlice := mailTo(msgs, "alice@support.test")
	if len(toAlice) != 2 || !bytes.Contains(toAlice[1].Data, []byte("retenu")) {
		t.Fatalf("Alice was not asked to confirm the held mail (%d mails)", len(toAlice))
	}
	auth, state := inboundAuth(t, h, "forged-ar@evil.test")
	// Guichet's own DKIM check ran instead, and found no signature.
	if state != "held" || auth["verdict"] != "none" || auth["ignored"] != 1.0 || auth["source"] != "dkim-check" {
		t.Fatalf("stored as %s with auth %v, want held, verdict none from our DKIM check, 1 ignored", state, auth)
	}
	if _, out, _ := h.cli("", "inbound", "list"); !strings.Contains(out, "(1 Authentication-Results ignored)") {
		t.Fatalf("inbound list does not show the ignored header:\n%s", out)
	}
}

// TestEndToEndTrustedRelayResults: behind an MTA on loopback (--trusted-relays
// 127.0.0.1/32) the same header is the MTA's word and counts: the ticket is closed by a
// verified comment that Jeanne gets in Alice's name.
func TestEndToEndTrustedRelayResults(t *testing.T) {
	h := startHarness(t, "--trusted-relays", "127.0.0.1/32")
	openTicket(t, h)
	if err := h.send("alice@support.test", forgedClose); err != nil {
		t.Fatal(err)
	}
	msgs := h.settle(3)
	tk := h.show("AURAN1-1")
	comments := tk["comments"].([]any)
	if tk["status"] != "closed" || len(comments) != 1 || comments[0].(map[string]any)["verified"] != true {
		t.Fatalf("from a trusted relay: status %v, comments %v", tk["status"], comments)
	}
	toJeanne := mailTo(msgs, "jeanne@ecole.test")
	if len(toJeanne) != 2 || !bytes.Contains(toJeanne[1].Data, []byte("Alice Agent")) {
		t.Fatalf("Jeanne got %d mails, want the confirmation and Alice's answer", len(toJeanne))
	}
	if auth, state := inboundAuth(t, h, "forged-ar@evil.test"); state != "processed" || auth["verdict"] != "pass" || auth["ignored"] != nil {
		t.Fatalf("stored as %s with auth %v", state, auth)
	}
}

// TestTrustedRelaysFlag: the flag and its variable take CIDRs and bare addresses; a bad
// value stops the start with a message naming the flag.
func TestTrustedRelaysFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		ok   bool
	}{
		{[]string{"--trusted-relays", "127.0.0.1/32, ::1, 10.0.0.0/8,192.168.1.7"}, "", true},
		{nil, "127.0.0.1,fd00::/8", true},
		{[]string{"--trusted-relays", ""}, "", true},
		{[]string{"--trusted-relays", "127.0.0.1/33"}, "", false},
		{[]string{"--trusted-relays", "localhost"}, "", false},
		{[]string{"--trusted-relays", "fe80::1%eth0"}, "", false},
		{nil, "10.0.0.0/8;127.0.0.1", false},
	} {
		var out, errb bytes.Buffer
		dir := t.TempDir()
		args := append([]string{"migrate", "--data-dir", dir}, tc.args...)
		code := run(t.Context(), args, IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			if k == "GUICHET_TRUSTED_RELAYS" {
				return tc.env
			}
			return ""
		}}, nil)
		if tc.ok && code != 0 {
			t.Errorf("%v %q: exit %d: %s", tc.args, tc.env, code, errb.String())
		}
		if !tc.ok && (code != exitUsage || !strings.Contains(errb.String(), "--trusted-relays")) {
			t.Errorf("%v %q: exit %d, %q: want a usage error naming --trusted-relays", tc.args, tc.env, code, errb.String())
		}
	}
}

// TestIngestTrustsLocalMTA: `guichet ingest` is run by the local MTA, which wrote the top
// of the header: its results there count without --trusted-relays, and a sender's
// header below the MTA's Received does not.
func TestIngestTrustsLocalMTA(t *testing.T) {
	dir := t.TempDir()
	cli := func(stdin string, args ...string) string {
		var out, errb bytes.Buffer
		args = append(args, "--data-dir", dir, "--support-address", "support@support.test")
		code := run(t.Context(), args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, nil)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	status := func() string {
		out := cli("", "ticket", "show", "--json", "AURAN1-1")
		var tk map[string]any
		if err := json.Unmarshal([]byte(out), &tk); err != nil {
			t.Fatal(err)
		}
		return tk["status"].(string)
	}
	cli("", "migrate")
	cli("", "user", "add", "alice@support.test", "--name", "Alice Agent", "--role", "agent")
	cli("From: Jeanne <jeanne@ecole.test>\nTo: support@support.test\nSubject: Tableau\nMessage-ID: <t1@ecole.test>\n\nIl ne marche plus.\n", "ingest", "--no-send")

	const entry = "Received: from client.evil.test (client.evil.test [198.51.100.7])\n\tby mx.support.test (Postfix) with ESMTP id 1; Mon, 7 Dec 2026 04:00:00 +0000\n"
	const closeMail = "From: alice@support.test\nTo: support@support.test\nSubject: Re: [#AURAN1-1] Tableau\n\n#statut closed\nRéglé.\n"
	const claim = "Authentication-Results: support.test; dmarc=pass header.from=support.test\n"
	// An MTA without checks: the sender's own header is below the MTA's hop.
	cli(entry+claim+"Message-ID: <below@evil.test>\n"+closeMail, "ingest", "--no-send")
	if s := status(); s == "closed" {
		t.Fatal("a header below the local MTA's hop counted")
	}
	// The MTA's milter wrote its result at the top.
	cli(claim+entry+"Message-ID: <top@support.test>\n"+closeMail, "ingest", "--no-send")
	if s := status(); s != "closed" {
		t.Fatalf("the local MTA's result did not count: status %s", s)
	}
	out := cli("", "inbound", "list", "--json")
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		a, _ := it["auth"].(map[string]any)
		got[it["message_id"].(string)] = fmt.Sprintf("%v %v %v", it["state"], a["verdict"], a["ignored"])
	}
	if got["below@evil.test"] != "held none 1" || got["top@support.test"] != "processed pass <nil>" {
		t.Fatalf("stored: %v", got)
	}
}
