package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/ticket"
)

// TestServeReleasesStaleClaims: outbox rows claimed by a serve that died (here: claimed
// for an hour, then left) are sent as soon as serve starts again on the same data
// folder, not once their claim runs out.
func TestServeReleasesStaleClaims(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	msg := "From: Jeanne <jeanne@ecole.test>\r\nTo: support@localhost\r\nSubject: Vidéoprojecteur\r\nMessage-ID: <claim1@ecole.test>\r\n\r\nBonjour\r\n"
	if code := run(context.Background(), []string{"ingest", "--data-dir", dir, "--no-send"},
		IO{Stdin: strings.NewReader(msg), Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: func(string) string { return "" }}, nil); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errb.String())
	}

	ctx := context.Background()
	db, _, err := ticket.Open(ctx, filepath.Join(dir, "guichet.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := svc.ClaimOutbox(ctx, 10, time.Hour)
	if err != nil || len(claimed) != 1 || claimed[0].Kind != ticket.MailConfirmation {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	svc.Close()
	db.Close()

	h := startHarnessOn(t, dir)
	deadline := time.Now().Add(10 * time.Second)
	for h.countTo("jeanne@ecole.test") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the confirmation claimed by the earlier run was not sent within 10 s of the start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOwnsDatabase(t *testing.T) {
	dir := t.TempDir()
	noSpool := &app{}
	if noSpool.ownsDatabase(&env{cfg: Config{DataDir: dir, DB: filepath.Join(dir, "guichet.db")}}) {
		t.Error("without a spool, the database may be shared")
	}
	for _, c := range []struct {
		db   string
		want bool
	}{
		{filepath.Join(dir, "guichet.db"), true},
		{"sqlite://" + filepath.Join(dir, "other.db"), true},
		{filepath.Join(dir, "sub", "guichet.db"), false},
		{filepath.Join(t.TempDir(), "guichet.db"), false},
	} {
		got := sqliteInFolder(c.db, dir)
		if got != c.want {
			t.Errorf("sqliteInFolder(%q, %q) = %v, want %v", c.db, dir, got, c.want)
		}
	}
}
