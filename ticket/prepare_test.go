package ticket

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// preparedMail is testMail handed over unparsed: its Prepare fills Msg in, after gate
// (when set) is closed.
func preparedMail(from, subject, mid string, gate <-chan struct{}, refs ...string) Delivery {
	d := testMail(from, subject, mid, refs...)
	msg := d.Msg
	d.Msg = nil
	d.Prepare = func(ctx context.Context, d *Delivery) error {
		if gate != nil {
			<-gate
		}
		if len(d.Raw) == 0 {
			return errors.New("prepared without its raw bytes")
		}
		d.Msg = msg
		return nil
	}
	return d
}

// TestSpooledPrepare: a delivery handed over unparsed (Delivery.Prepare) is kept and
// answered before it is parsed; the parses follow in arrival order, so a reply parsed
// after its request still threads onto it; the backlog counts the raw bytes held
// meanwhile, and gives them back once stored.
func TestSpooledPrepare(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	ctx := context.Background()
	sp := &memSpool{}
	gate := make(chan struct{})
	for i := range 10 {
		first := preparedMail(fmt.Sprintf("p%d@ecole.test", i), "Demande", fmt.Sprintf("q%d@x", i), gate)
		reply := preparedMail(fmt.Sprintf("p%d@ecole.test", i), "Re: Demande", fmt.Sprintf("q%d.r@x", i), nil, fmt.Sprintf("q%d@x", i))
		for _, d := range []Delivery{first, reply} {
			done := make(chan error, 1)
			go func() {
				_, err := s.ReceiveSpooled(ctx, d, sp)
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReceiveSpooled waited for the parse")
			}
		}
	}
	if sp.kept != 20 {
		t.Fatalf("kept %d, want 20", sp.kept)
	}
	var tickets int
	db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
	if tickets != 0 || s.Backlog() != 20 {
		t.Fatalf("before the parses: %d tickets, backlog %d; want 0, 20", tickets, s.Backlog())
	}
	close(gate)
	waitBacklog(t, s)
	var comments int
	db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
	db.Get(&comments, "SELECT COUNT(*) FROM comments")
	if tickets != 10 || comments != 10 || sp.doneCount() != 20 {
		t.Fatalf("tickets %d comments %d done %d, want 10 10 20", tickets, comments, sp.doneCount())
	}
	if got := s.ProcessCounts(); got["ticket_created"] != 10 || got["comment_added"] != 10 {
		t.Fatalf("outcomes: %v", got)
	}
	s.backlog.mu.Lock()
	bytes := s.backlog.bytes
	s.backlog.mu.Unlock()
	if bytes != 0 {
		t.Fatalf("backlog bytes %d after all stored", bytes)
	}
}

// TestSpooledPrepareRetried: a delivery that cannot be prepared (an attachment could not
// be written) is tried again, later, while the messages behind it wait: none is lost
// and the order holds.
func TestSpooledPrepareRetried(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	s.prepareWait = 5 * time.Millisecond
	ctx := context.Background()
	sp := &memSpool{}
	first := preparedMail("a@ecole.test", "Demande", "a1@x", nil)
	ok := first.Prepare
	var tries atomic.Int32
	first.Prepare = func(ctx context.Context, d *Delivery) error {
		if tries.Add(1) <= 2 {
			return errors.New("disk full")
		}
		return ok(ctx, d)
	}
	reply := preparedMail("a@ecole.test", "Re: Demande", "a2@x", nil, "a1@x")
	for _, d := range []Delivery{first, reply} {
		if _, err := s.ReceiveSpooled(ctx, d, sp); err != nil {
			t.Fatal(err)
		}
	}
	waitBacklog(t, s)
	var tickets, comments int
	db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
	db.Get(&comments, "SELECT COUNT(*) FROM comments")
	if tries.Load() != 3 || tickets != 1 || comments != 1 || sp.doneCount() != 2 {
		t.Fatalf("tries %d tickets %d comments %d done %d, want 3 1 1 2", tries.Load(), tickets, comments, sp.doneCount())
	}
}

// TestSpooledPrepareFailingAtClose: Close does not wait for a delivery that still cannot
// be prepared: it stays in the spool (not done) for the next start, and its room in the
// backlog is given back.
func TestSpooledPrepareFailingAtClose(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	s.prepareWait = time.Hour
	sp := &memSpool{}
	d := testMail("a@ecole.test", "Demande", "a1@x")
	d.Msg = nil
	tried := make(chan struct{}, 1)
	d.Prepare = func(ctx context.Context, d *Delivery) error {
		select {
		case tried <- struct{}{}:
		default:
		}
		return errors.New("disk full")
	}
	if _, err := s.ReceiveSpooled(context.Background(), d, sp); err != nil {
		t.Fatal(err)
	}
	<-tried
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the failing delivery")
	}
	var inbound int
	db.Get(&inbound, "SELECT COUNT(*) FROM inbound")
	if sp.kept != 1 || sp.doneCount() != 0 || inbound != 0 || s.Backlog() != 0 {
		t.Fatalf("kept %d done %d inbound %d backlog %d, want 1 0 0 0", sp.kept, sp.doneCount(), inbound, s.Backlog())
	}
}

// TestSpooledPreparePanics: a Prepare that panics does not end the process: its message
// is stored as failed (its raw bytes kept), and the one behind it is processed.
func TestSpooledPreparePanics(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	sp := &memSpool{}
	bad := preparedMail("a@ecole.test", "Demande", "a1@x", nil)
	bad.Prepare = func(ctx context.Context, d *Delivery) error { panic("index out of range") }
	for _, d := range []Delivery{bad, preparedMail("b@ecole.test", "Autre", "b1@x", nil)} {
		if _, err := s.ReceiveSpooled(context.Background(), d, sp); err != nil {
			t.Fatal(err)
		}
	}
	waitBacklog(t, s)
	var tickets, failed int
	db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
	db.Get(&failed, "SELECT COUNT(*) FROM inbound WHERE state = 'failed'")
	if tickets != 1 || failed != 1 || sp.doneCount() != 2 {
		t.Fatalf("tickets %d failed %d done %d, want 1 1 2", tickets, failed, sp.doneCount())
	}
}
