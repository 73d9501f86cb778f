package ticket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/blob"
	"github.com/jmoiron/sqlx"
)

// testFiles removes files from a real blob store and a sent folder, as cmd's adapter does.
type testFiles struct {
	blobs *blob.Store
	sent  string
}

func (f testFiles) RemoveBlob(ctx context.Context, sum string) error {
	return f.blobs.RemoveBlob(ctx, sum)
}

func (f testFiles) RemoveSent(ctx context.Context, name string) error {
	err := os.Remove(filepath.Join(f.sent, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// privacyFixture is a service on a store with a blob folder and a sent folder, and a
// clock the test moves.
type privacyFixture struct {
	s     *Service
	db    *sqlx.DB
	now   *time.Time
	files testFiles
	blobs string
}

func newPrivacyFixture(t *testing.T, db *sqlx.DB) *privacyFixture {
	t.Helper()
	now := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	f := &privacyFixture{db: db, now: &now, blobs: t.TempDir()}
	f.s = newTestService(t, db, f.now)
	b, err := blob.Open(f.blobs)
	if err != nil {
		t.Fatal(err)
	}
	f.s.opt.RawBlobs = b
	f.files = testFiles{blobs: b, sent: t.TempDir()}
	return f
}

// put stores content in the blob folder and returns it as an attachment.
func (f *privacyFixture) put(t *testing.T, name, content string) Attachment {
	t.Helper()
	sum, n, err := f.files.blobs.PutBlob(context.Background(), strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	return Attachment{Filename: name, ContentType: "text/plain", Size: n, SHA256: sum}
}

func (f *privacyFixture) blobExists(sum string) bool {
	_, err := os.Stat(filepath.Join(f.blobs, sum[:2], sum[2:]))
	return err == nil
}

// markSent marks the outbox rows of a ticket sent by the development sender and writes
// their .eml files; it returns the file names.
func (f *privacyFixture) markSent(t *testing.T, key string) []string {
	t.Helper()
	var ids []int64
	if err := f.db.Select(&ids, f.db.Rebind("SELECT id FROM outbox WHERE ticket_key = ?"), key); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, id := range ids {
		name := key + "-" + string(rune('a'+len(names))) + ".eml"
		if err := os.WriteFile(filepath.Join(f.files.sent, name), []byte("To: someone\r\n\r\nhello\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Exec(f.db.Rebind("UPDATE outbox SET state = 'sent', response = ? WHERE id = ?"), "written "+name, id); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		t.Fatalf("no outbox rows for %s", key)
	}
	return names
}

func (f *privacyFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, f.db.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestRetentionPurge: a ticket closed before the cutoff loses its texts, files, raw
// mail, thread, participants and sent mail, and keeps its row, status, dates and
// comment rows; a file shared with a recent ticket stays; an open ticket stays whatever
// the clock says; a requester left with nothing is anonymised; a dry run changes
// nothing; a second run finds nothing.
func TestRetentionPurge(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newPrivacyFixture(t, open(t))
			s := f.s
			agent, err := s.AddUser(ctx, NewUser{Email: "alice@support.test", Name: "Alice", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			shared := f.put(t, "planning.txt", "the same file, sent twice")
			own := f.put(t, "bulletin.txt", "only on the old ticket")

			// The old ticket's first mail is stored as a blob file (a big message).
			d := testMail("jeanne@ecole.test", "Imprimante en panne", "old1@ecole.test")
			d.Msg.Attachments = []Attachment{shared, own}
			raw := append([]byte(nil), d.Raw...)
			rawSum, rawSize, err := f.files.blobs.PutBlob(ctx, bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			body := sha256.Sum256(raw)
			d.Raw, d.RawBlob, d.RawSize, d.BodySum = nil, rawSum, rawSize, hex.EncodeToString(body[:])
			old := accept(t, s, d)
			if !old.Created {
				t.Fatalf("old ticket: %+v", old)
			}
			paul, err := s.AddUser(ctx, NewUser{Email: "paul@ecole.test", Name: "Paul"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.db.Exec(f.db.Rebind("INSERT INTO participants (ticket_id, user_id, added_at) SELECT id, ?, ? FROM tickets WHERE key = ?"), paul.ID, *f.now, old.TicketKey); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddComment(ctx, agent, old.TicketKey, CommentInput{Body: "Bonjour Jeanne, voici la réponse", Visibility: Public, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			// A mail on the ticket that no ticket or comment row names (as a bounce or a
			// duplicate): the loose pass empties it.
			reply := testMail("jeanne@ecole.test", "Re: [#"+old.TicketKey+"] Imprimante en panne", "old2@ecole.test")
			reply.Msg.ThreadKey = old.TicketKey
			rr := accept(t, s, reply)
			if rr.CommentID == 0 {
				t.Fatalf("reply: %+v", rr)
			}
			if _, err := f.db.Exec(f.db.Rebind("UPDATE comments SET inbound_id = NULL WHERE id = ?"), rr.CommentID); err != nil {
				t.Fatal(err)
			}
			if err := s.ChangeStatus(ctx, agent, old.TicketKey, StatusClosed); err != nil {
				t.Fatal(err)
			}
			sentNames := f.markSent(t, old.TicketKey)
			rate := "INSERT INTO satisfaction_ratings (ticket_id, requester_id, closed_at, score, comment, rated_at, updated_at) " +
				"SELECT id, requester_id, ?, 4, 'Merci Alice, très rapide', ?, ? FROM tickets WHERE key = ?"
			if _, err := f.db.Exec(f.db.Rebind(rate), *f.now, *f.now, *f.now, old.TicketKey); err != nil {
				t.Fatal(err)
			}

			// A recent, open ticket of someone else that holds the shared file.
			*f.now = f.now.AddDate(1, 0, 0)
			d2 := testMail("paul@ecole.test", "Toujours ouvert", "open1@ecole.test")
			d2.Msg.Attachments = []Attachment{shared}
			recent := accept(t, s, d2)

			// Years later: the old ticket is past a 24-month retention; the open one,
			// however old, is not touched.
			*f.now = f.now.AddDate(5, 0, 0)
			cutoff := f.now.AddDate(0, -24, 0)

			dry, err := s.Purge(ctx, cutoff, true, f.files)
			if err != nil {
				t.Fatal(err)
			}
			if len(dry.Tickets) != 1 || dry.Tickets[0] != old.TicketKey || dry.BlobsRemoved != 2 || dry.SentRemoved != len(sentNames) {
				t.Fatalf("dry run: %+v (want %s, 2 files: own attachment and raw mail)", dry, old.TicketKey)
			}
			if got, _ := s.Get(ctx, old.TicketKey); got.Summary != "Imprimante en panne" || !f.blobExists(own.SHA256) {
				t.Fatalf("the dry run changed something: %q", got.Summary)
			}

			if n := f.count(t, "SELECT COUNT(*) FROM outbox_data WHERE data LIKE '%Imprimante%'"); n == 0 {
				t.Fatal("no shared mail data names the old ticket: the check below would prove nothing")
			}
			rep, err := s.Purge(ctx, cutoff, false, f.files)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Tickets) != 1 || rep.Comments != 2 || rep.Attachments != 2 || rep.Inbound != 2 || rep.Users != 1 ||
				rep.BlobsRemoved != 2 || rep.SentRemoved != len(sentNames) {
				t.Fatalf("report: %+v", rep)
			}
			got, err := s.Get(ctx, old.TicketKey)
			if err != nil {
				t.Fatal(err)
			}
			if got.Summary != ErasedText || got.Description != "" || got.Status != StatusClosed || len(got.Participants) != 0 || len(got.Attachments) != 0 {
				t.Fatalf("purged ticket: %+v", got)
			}
			for _, c := range got.Comments {
				if c.Body != ErasedText || len(c.Attachments) != 0 {
					t.Fatalf("purged comment: %+v", c)
				}
			}
			if len(got.Comments) != 2 {
				t.Fatalf("comment rows: %d, want 2 (kept for the counts)", len(got.Comments))
			}
			if n := f.count(t, "SELECT COUNT(*) FROM satisfaction_ratings WHERE score = 4 AND comment = ''"); n != 1 {
				t.Fatalf("satisfaction rating: %d rows with the score kept and the comment emptied, want 1", n)
			}
			if f.blobExists(own.SHA256) || f.blobExists(rawSum) {
				t.Fatal("the old ticket's own file or raw mail is still on disk")
			}
			if !f.blobExists(shared.SHA256) {
				t.Fatal("the file shared with the open ticket was removed")
			}
			for _, n := range sentNames {
				if _, err := os.Stat(filepath.Join(f.files.sent, n)); !os.IsNotExist(err) {
					t.Fatalf("sent file %s still there: %v", n, err)
				}
			}
			if n := f.count(t, "SELECT COUNT(*) FROM outbox_data WHERE data LIKE '%Imprimante%'"); n != 0 {
				t.Fatalf("%d shared mail data rows still tell the old ticket", n)
			}
			if n := f.count(t, "SELECT COUNT(*) FROM outbox WHERE ticket_key = ?", old.TicketKey); n != 0 {
				t.Fatalf("%d outbox rows left", n)
			}
			if n := f.count(t, "SELECT COUNT(*) FROM inbound WHERE id IN (?, ?) AND (raw_blob <> '' OR envelope_from <> '' OR message_id <> '' OR dedup_key LIKE '%jeanne%' OR purged_at IS NULL OR EXISTS (SELECT 1 FROM inbound_raw r WHERE r.id = inbound.id))", old.InboundID, rr.InboundID); n != 0 {
				t.Fatal("the old inbound row still holds mail data")
			}
			if n := f.count(t, "SELECT COUNT(*) FROM thread_messages t JOIN tickets k ON k.id = t.ticket_id WHERE k.key = ?", old.TicketKey); n != 0 {
				t.Fatalf("%d thread messages left", n)
			}
			if _, err := s.UserByEmail(ctx, "jeanne@ecole.test"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("jeanne, requester of the purged ticket only: %v", err)
			}
			if _, err := s.UserByEmail(ctx, "paul@ecole.test"); err != nil {
				t.Fatalf("paul, requester of an open ticket: %v", err)
			}
			open, err := s.Get(ctx, recent.TicketKey)
			if err != nil || open.Summary != "Toujours ouvert" || len(open.Attachments) != 1 {
				t.Fatalf("open ticket: %+v, %v", open, err)
			}
			log, err := s.AuditLog(ctx, 10)
			if err != nil || len(log) != 1 || log[0].Action != "retention" || strings.Contains(log[0].Detail, "jeanne") {
				t.Fatalf("audit log: %+v, %v", log, err)
			}

			again, err := s.Purge(ctx, cutoff, false, f.files)
			if err != nil || !again.Empty() {
				t.Fatalf("second run: %+v, %v", again, err)
			}
			if log, _ := s.AuditLog(ctx, 10); len(log) != 1 {
				t.Fatalf("an idle run wrote to the audit log: %+v", log)
			}
			// A clock set far ahead purges closed tickets, never open ones.
			if _, err := s.Purge(ctx, f.now.AddDate(100, 0, 0), false, f.files); err != nil {
				t.Fatal(err)
			}
			if open, _ := s.Get(ctx, recent.TicketKey); open.Summary != "Toujours ouvert" {
				t.Fatalf("open ticket purged by a clock in the future: %+v", open)
			}
		})
	}
}
