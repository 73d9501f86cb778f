package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guichet/guichet/mailin"
	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// TestTakenOutcomesWithSpool: with the spool on (serve's default on SQLite), a message
// fetched again over IMAP (after a crash between storing and moving it) counts as a
// duplicate in guichet_mail_taken_total, and its log line names the stored message; a
// spooled SMTP message's line says "spooled" instead of a meaningless inbound_id=0.
func TestTakenOutcomesWithSpool(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, _, err := ticket.Open(ctx, filepath.Join(dir, "guichet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ticket.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	defer svc.Close() // before the spool: it marks what it stores done there
	var logs syncBuffer
	in := mailin.NewIntake(svc, parse.HashOnly{}, parse.Options{}, slog.New(slog.NewTextHandler(&logs, nil)))
	in.Queue, in.Spool = true, mailin.Spooler{S: sp}
	metrics := newMetrics(svc, in, nil)

	msg := func(id string) []byte {
		return []byte("From: a@ecole.test\r\nTo: support@localhost\r\nSubject: test\r\nMessage-ID: <" + id + "@x>\r\n\r\nBonjour\r\n")
	}
	imapEnv := ticket.Envelope{Channel: "imap", RemoteAddr: "imap.example.org"}
	for range 2 {
		if err := in.Deliver(ctx, msg("imap1"), imapEnv); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Deliver(ctx, msg("smtp1"), ticket.Envelope{Channel: "smtp", From: "a@ecole.test", Recipients: []string{"support@localhost"}}); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`guichet_mail_taken_total{channel="imap",outcome="stored"} 1`,
		`guichet_mail_taken_total{channel="imap",outcome="duplicate"} 1`,
		`guichet_mail_taken_total{channel="smtp",outcome="stored"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in:\n%s", want, grepLines(body, "guichet_mail_taken_total"))
		}
	}

	lines := grepLines(logs.String(), `msg="message taken"`)
	imapLines := regexp.MustCompile(`channel=imap inbound_id=([1-9][0-9]*) `).FindAllStringSubmatch(lines, -1)
	if len(imapLines) != 2 || imapLines[0][1] != imapLines[1][1] || !strings.Contains(lines, "duplicate=true") {
		t.Errorf("IMAP lines should name the same stored message, the second a duplicate:\n%s", lines)
	}
	if !strings.Contains(lines, "channel=smtp spooled=true") || strings.Contains(lines, "inbound_id=0") {
		t.Errorf("the spooled SMTP line should say spooled and no id:\n%s", lines)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
