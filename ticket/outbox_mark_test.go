package ticket

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// TestMarkSentTogether: marks that meet in one transaction share a savepoint, and a mark
// the database refuses fails only its own caller; the others are committed.
func TestMarkSentTogether(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	for i := range 4 {
		accept(t, s, testMail(fmt.Sprintf("user%d@ecole.test", i), "Panne", fmt.Sprintf("mark.%d@ecole.test", i)))
	}
	mails, err := s.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 4 {
		t.Fatalf("claimed %d mails, want 4", len(mails))
	}
	bad := mails[1].ID
	if _, err := db.Exec(fmt.Sprintf(`CREATE TRIGGER refuse_mark BEFORE UPDATE OF state ON outbox
		WHEN NEW.id = %d AND NEW.state = 'sent' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`, bad)); err != nil {
		t.Fatal(err)
	}

	// Hold the committer in a write until the four marks wait, so that they are taken
	// in one batch.
	hold, entered := make(chan struct{}), make(chan struct{})
	holdDone := make(chan error, 1)
	go func() {
		holdDone <- s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
			close(entered)
			<-hold
			return nil
		})
	}()
	<-entered
	errs := make([]error, len(mails))
	var wg sync.WaitGroup
	for i, m := range mails {
		wg.Go(func() { errs[i] = s.MarkSent(ctx, m.ID, fmt.Sprintf("250 2.0.0 queued as %d", m.ID)) })
	}
	for deadline := time.Now().Add(5 * time.Second); len(s.reqs) < len(mails); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d marks waiting, want %d", len(s.reqs), len(mails))
		}
	}
	close(hold)
	wg.Wait()
	if err := <-holdDone; err != nil {
		t.Fatal(err)
	}
	for i, m := range mails {
		var row struct {
			State    string  `db:"state"`
			Response *string `db:"response"`
		}
		if err := db.Get(&row, "SELECT state, response FROM outbox WHERE id = ?", m.ID); err != nil {
			t.Fatal(err)
		}
		if m.ID == bad {
			if errs[i] == nil || row.State == "sent" {
				t.Errorf("refused mark %d: error %v, state %s", m.ID, errs[i], row.State)
			}
			continue
		}
		want := fmt.Sprintf("250 2.0.0 queued as %d", m.ID)
		if errs[i] != nil || row.State != "sent" || row.Response == nil || *row.Response != want {
			t.Errorf("mark %d: error %v, state %s, response %v", m.ID, errs[i], row.State, row.Response)
		}
	}
}

// TestMarkSentTogetherRuns: the marks of a batch are run by markSentTogether when there
// are two or more, and left to the usual one savepoint each when alone.
func TestMarkSentTogetherRuns(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	accept(t, s, testMail("a@ecole.test", "Panne", "run.1@ecole.test"))
	accept(t, s, testMail("b@ecole.test", "Panne", "run.2@ecole.test"))
	mails, err := s.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(mails) != 2 {
		t.Fatalf("claimed %d mails, %v; want 2", len(mails), err)
	}
	other := &intakeReq{fn: func(context.Context, *sqlx.Tx) error { return nil }}
	markReq := func(id int64) *intakeReq {
		m := &sentMark{id: id, response: "250 OK"}
		return &intakeReq{mark: m, fn: func(ctx context.Context, tx *sqlx.Tx) error { return s.markSent(ctx, tx, m) }}
	}
	for _, tc := range []struct {
		name  string
		batch []*intakeReq
		want  []bool // nil: nothing run together
		sent  int    // rows marked sent in the transaction
	}{
		{"one mark", []*intakeReq{other, markReq(mails[0].ID)}, nil, 0},
		{"two marks", []*intakeReq{markReq(mails[0].ID), other, markReq(mails[1].ID)}, []bool{true, false, true}, 2},
	} {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]intakeRes, len(tc.batch))
		ran, err := s.markSentTogether(ctx, tx, tc.batch, out)
		if err != nil {
			t.Fatal(err)
		}
		var sent int
		if err := tx.Get(&sent, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'"); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		if fmt.Sprint(ran) != fmt.Sprint(tc.want) {
			t.Errorf("%s: ran %v, want %v", tc.name, ran, tc.want)
		}
		if sent != tc.sent {
			t.Errorf("%s: %d rows sent in the transaction, want %d", tc.name, sent, tc.sent)
		}
	}
}

// TestMarkJoinsGathering: a mark sent while spooled messages gather for company does not
// end the gathering (nobody waits on it): it commits with them, when the gathering ends,
// not at once in a transaction of its own.
func TestMarkJoinsGathering(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	accept(t, s, testMail("a@ecole.test", "Panne", "gather.0@ecole.test"))
	mails, err := s.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(mails) != 1 {
		t.Fatalf("claimed %d mails, %v; want 1", len(mails), err)
	}
	sp := &memSpool{}
	for try := 1; ; try++ {
		start := time.Now()
		mid := fmt.Sprintf("gather.%d@ecole.test", try)
		if _, err := s.ReceiveSpooled(ctx, testMail(fmt.Sprintf("b%d@ecole.test", try), "Panne", mid), sp); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // the committer takes the message and gathers
		if err := s.MarkSent(ctx, mails[0].ID, "250 OK"); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		var processed int
		if err := db.Get(&processed, "SELECT COUNT(*) FROM inbound WHERE message_id = ? AND state = 'processed'", mid); err != nil {
			t.Fatal(err)
		}
		if processed == 0 && try < 5 {
			// The mark came before the message reached the committer, and committed
			// alone: nothing was gathering yet. Again.
			waitBacklog(t, s)
			continue
		}
		if processed == 0 || took < spoolGather {
			t.Fatalf("mark committed after %s, message processed with it: %v; want it held until the gathering ended (%s)",
				took, processed > 0, spoolGather)
		}
		return
	}
}
