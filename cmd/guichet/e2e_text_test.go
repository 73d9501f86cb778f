package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/ticket"
)

// testPostgresDB creates an empty database on GUICHET_TEST_POSTGRES for one test and
// returns its URL; it skips the test when the variable is unset.
func testPostgresDB(t *testing.T) string {
	t.Helper()
	base := os.Getenv("GUICHET_TEST_POSTGRES")
	if base == "" {
		t.Skip("GUICHET_TEST_POSTGRES unset: PostgreSQL end-to-end test skipped")
	}
	admin, _, err := ticket.Open(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "guichet_e2e_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestEndToEndHostileText: over SMTP, a NUL and invalid UTF-8 in the envelope sender,
// the Message-ID, the display name, the Subject and the body make a ticket and a
// confirmation, on SQLite and on PostgreSQL (where the message failed, or got a 451 on
// every try), and the stored raw message keeps the bytes received.
func TestEndToEndHostileText(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			var extra []string
			dir := t.TempDir()
			dsn := filepath.Join(dir, "guichet.db")
			if store == "postgres" {
				dsn = testPostgresDB(t)
				extra = []string{"--db", dsn}
			}
			h := startHarnessOn(t, dir, extra...)
			raw := "From: \"Jeanne \x00\xff\" <jeanne@ecole.test>\nTo: support@localhost\nSubject: Imprimante \x00\xe9 HS\n" +
				"Message-ID: <nul\x00\xff@ecole.test>\n\nElle ne marche plus \x00 depuis \xe9t\xe9.\n"
			sent := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
			err := smtp.SendMail(h.smtpAddr, nil, "jeanne\x00@ecole.test", []string{"support@localhost"}, sent)
			if err != nil {
				t.Fatalf("SMTP: %v", err)
			}
			h.waitProcessed()
			msgs := h.sink.WaitFor(2, 10*time.Second)
			if len(mailTo(msgs, "jeanne@ecole.test")) != 1 {
				t.Fatalf("no confirmation to jeanne@ecole.test among %d mails", len(msgs))
			}
			code, out, errs := h.cli("", append([]string{"ticket", "show", "--json", "AURAN1-1"}, extra...)...)
			if code != 0 {
				t.Fatalf("ticket show: %d %s", code, errs)
			}
			var tk struct{ Summary, Description, Requester string }
			if err := json.Unmarshal([]byte(out), &tk); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(tk.Summary, "Imprimante \uFFFD") || !strings.Contains(tk.Description, "Elle ne marche plus \uFFFD") ||
				tk.Requester != "jeanne@ecole.test" {
				t.Errorf("ticket %+v", tk)
			}
			code, out, errs = h.cli("", append([]string{"inbound", "list", "--json"}, extra...)...)
			if code != 0 || !strings.Contains(out, `"state": "processed"`) {
				t.Fatalf("inbound list: %d %s %s", code, out, errs)
			}
			db, _, err := ticket.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var stored []byte
			if err := db.Get(&stored, "SELECT raw FROM inbound_raw"); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(stored, sent) { // after the trace header serve puts in front
				t.Errorf("stored raw message %q does not end with the bytes sent %q", stored, sent)
			}
		})
	}
}
