package ticket

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guichet/guichet/internal/sqlitero"
	"github.com/jmoiron/sqlx"
)

// wakeCounter is a Service whose OnOutbox calls are counted.
func wakeCounter(t *testing.T, db *sqlx.DB) (*Service, *atomic.Int64) {
	t.Helper()
	if _, err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	var wakes atomic.Int64
	s, err := NewService(context.Background(), db, Options{PublicURL: "http://127.0.0.1:8080",
		Secret: []byte("0123456789abcdef0123"), OnOutbox: func() { wakes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &wakes
}

// TestOnOutboxOnlyWhenMailQueued: the sender is woken after a commit that queued mail, and
// after no other: not after its own claims and marks (it woke itself forever, and an idle
// server wrote 25 MB every 10 s), nor after a write whose mail was rolled back.
func TestOnOutboxOnlyWhenMailQueued(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, wakes := wakeCounter(t, open(t))
			// The committer wakes the sender after answering the writes of a commit:
			// once a later write is answered, the earlier commits' wakes are counted.
			settle := func() {
				t.Helper()
				if err := s.write(ctx, func(context.Context, *sqlx.Tx) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			for range 5 {
				if _, err := s.ClaimOutbox(ctx, 16, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.MarkSent(ctx, 424242, "250 ok"); err != nil {
				t.Fatal(err)
			}
			settle()
			if n := wakes.Load(); n != 0 {
				t.Fatalf("claims and marks of an empty outbox woke the sender %d times, want 0", n)
			}

			u, err := s.AddUser(ctx, NewUser{Email: "jeanne@ac-lyon.fr", Name: "Jeanne", Role: RoleCustomer})
			if err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			err = s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
				if err := s.enqueueAccountMail(ctx, tx, u, u.Email, MailSignIn, "http://x/login"); err != nil {
					return err
				}
				return boom // the savepoint, and the mail in it, are rolled back
			})
			if !errors.Is(err, boom) {
				t.Fatalf("write: %v, want boom", err)
			}
			settle()
			if n := wakes.Load(); n != 0 {
				t.Fatalf("a write whose mail was rolled back woke the sender %d times, want 0", n)
			}

			accept(t, s, testMail("jeanne@ac-lyon.fr", "Imprimante en panne", "wake.1@ac-lyon.fr"))
			settle()
			if n := wakes.Load(); n != 1 {
				t.Fatalf("a new ticket (a confirmation queued) woke the sender %d times, want 1", n)
			}
			ms, err := s.ClaimOutbox(ctx, 16, time.Minute)
			if err != nil || len(ms) != 1 {
				t.Fatalf("claim: %d rows, %v; want the confirmation", len(ms), err)
			}
			if err := s.MarkSent(ctx, ms[0].ID, "250 ok"); err != nil {
				t.Fatal(err)
			}
			settle()
			if n := wakes.Load(); n != 1 {
				t.Fatalf("claiming and marking the confirmation woke the sender again (%d wakes)", n)
			}
		})
	}
}

// TestIdleClaimWritesNothing: a claim that finds nothing commits no change to the SQLite
// file. The text-search indexing that ends every transaction emptied its list with a
// DELETE without WHERE, which rewrites the table's root page even when it is empty: a
// page in the WAL, and a checkpoint, for every claim of an idle server.
func TestIdleClaimWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	db, _, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, _ := wakeCounter(t, db)
	ctx := context.Background()
	// Some text to index first, so that the list has been used.
	accept(t, s, testMail("jeanne@ac-lyon.fr", "Imprimante en panne", "idle.1@ac-lyon.fr"))

	// data_version changes when another connection commits a change to the file.
	watch, err := sqlitero.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	version := func() int64 {
		t.Helper()
		var v int64
		if err := watch.QueryRow("PRAGMA data_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := s.ClaimOutbox(ctx, 16, time.Minute); err != nil { // takes the mail queued
		t.Fatal(err)
	}
	before := version()
	for range 3 {
		ms, err := s.ClaimOutbox(ctx, 16, time.Minute)
		if err != nil || len(ms) != 0 {
			t.Fatalf("claim: %d rows, %v; want none", len(ms), err)
		}
	}
	if after := version(); after != before {
		t.Fatalf("claims that found nothing changed the database (data_version %d → %d)", before, after)
	}
}
