package ticket

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memSpool is a ticket.Spool in memory: it records what was kept and what was done.
type memSpool struct {
	mu      sync.Mutex
	kept    int
	done    map[int]bool
	readErr atomic.Bool // Raw fails while set
}

type memKept struct {
	sp  *memSpool
	n   int
	raw []byte
}

func (m *memSpool) Keep(ctx context.Context, env Envelope, raw []byte) (Kept, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kept++
	return &memKept{sp: m, n: m.kept, raw: append([]byte(nil), raw...)}, nil
}

func (k *memKept) Raw() ([]byte, error) {
	if k.sp.readErr.Load() {
		return nil, errors.New("disk gone")
	}
	return k.raw, nil
}

func (k *memKept) Done() {
	k.sp.mu.Lock()
	defer k.sp.mu.Unlock()
	if k.sp.done == nil {
		k.sp.done = map[int]bool{}
	}
	if k.sp.done[k.n] {
		panic(fmt.Sprintf("record %d done twice", k.n))
	}
	k.sp.done[k.n] = true
}

func (m *memSpool) doneCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.done)
}

// TestReceiveSpooled: the raw message goes to the spool, not the database, until the
// committer stores and processes it, in arrival order (a reply right after its request
// threads onto it); each record is done once its transaction committed; a message
// delivered twice makes one ticket; an unparsable one is stored as failed.
func TestReceiveSpooled(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			ctx := context.Background()
			sp := &memSpool{}
			for i := range 30 {
				first := testMail(fmt.Sprintf("p%d@ecole.test", i), "Demande", fmt.Sprintf("q%d@x", i))
				reply := testMail(fmt.Sprintf("p%d@ecole.test", i), "Re: Demande", fmt.Sprintf("q%d.r@x", i), fmt.Sprintf("q%d@x", i))
				reply.Msg.InReplyTo = []string{fmt.Sprintf("q%d@x", i)}
				for _, d := range []Delivery{first, reply} {
					r, err := s.ReceiveSpooled(ctx, d, sp)
					if err != nil {
						t.Fatal(err)
					}
					if r.State != "pending" || r.InboundID != 0 {
						t.Fatalf("receipt: %+v", r)
					}
				}
			}
			// Delivered again: a request and a reply (whose stored receipt names its
			// comment); neither counts as done again.
			again := testMail("p0@ecole.test", "Re: Demande", "q0.r@x", "q0@x")
			again.Msg.InReplyTo = []string{"q0@x"}
			for _, d := range []Delivery{testMail("p0@ecole.test", "Demande", "q0@x"), again} {
				if _, err := s.ReceiveSpooled(ctx, d, sp); err != nil {
					t.Fatal(err)
				}
			}
			bad := testMail("p99@ecole.test", "Broken", "bad@x")
			bad.Msg, bad.ParseErr = nil, errors.New("no headers")
			if _, err := s.ReceiveSpooled(ctx, bad, sp); err != nil {
				t.Fatal(err)
			}
			waitBacklog(t, s)
			var tickets, comments, inbound, failed int
			db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
			db.Get(&comments, "SELECT COUNT(*) FROM comments")
			db.Get(&inbound, "SELECT COUNT(*) FROM inbound")
			db.Get(&failed, "SELECT COUNT(*) FROM inbound WHERE state = 'failed'")
			if tickets != 30 || comments != 30 || inbound != 61 || failed != 1 {
				t.Fatalf("tickets %d comments %d inbound %d failed %d, want 30 30 61 1", tickets, comments, inbound, failed)
			}
			var rawLen int
			if err := db.Get(&rawLen, db.Rebind("SELECT LENGTH(r.raw) FROM inbound i JOIN inbound_raw r ON r.id = i.id WHERE i.message_id = ?"), "q7.r@x"); err != nil {
				t.Fatal(err)
			}
			if rawLen == 0 {
				t.Fatal("raw message not stored from the spool")
			}
			if sp.kept != 63 || sp.doneCount() != 63 {
				t.Fatalf("kept %d done %d, want 63 63", sp.kept, sp.doneCount())
			}
			if got := s.ProcessCounts(); got["ticket_created"] != 30 || got["comment_added"] != 30 || got["done_elsewhere"] != 2 {
				t.Fatalf("outcomes: %v", got)
			}
		})
	}
}

// TestSpooledCloseAndReplay: Close stores what waits; a record handed again after a
// restart (EnqueueKept, as at start-up) is a duplicate, done without a second ticket.
func TestSpooledCloseAndReplay(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	sp := &memSpool{}
	var keeps []Kept
	for i := range 50 {
		d := testMail(fmt.Sprintf("c%d@ecole.test", i), "Demande", fmt.Sprintf("c%d@x", i))
		k, _ := sp.Keep(context.Background(), d.Env, d.Raw)
		keeps = append(keeps, k)
		if err := s.EnqueueKept(context.Background(), d, k); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if sp.doneCount() != 50 {
		t.Fatalf("done after Close: %d of 50", sp.doneCount())
	}
	s = newTestService(t, db, nil)
	sp2 := &memSpool{}
	for i := range 5 { // the same records found again in the spool
		d := testMail(fmt.Sprintf("c%d@ecole.test", i), "Demande", fmt.Sprintf("c%d@x", i))
		k, _ := sp2.Keep(context.Background(), d.Env, keeps[i].(*memKept).raw)
		if err := s.EnqueueKept(context.Background(), d, k); err != nil {
			t.Fatal(err)
		}
	}
	waitBacklog(t, s)
	var tickets int
	db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
	if tickets != 50 || sp2.doneCount() != 5 {
		t.Fatalf("tickets %d (want 50), replayed done %d (want 5)", tickets, sp2.doneCount())
	}
	if err := s.EnqueueKept(context.Background(), testMail("z@ecole.test", "x", "z@x"), &memKept{sp: sp2}); !errors.Is(err, ErrClosed) && err != nil {
		t.Fatal(err)
	}
}

// TestSpooledParkedAndRetried: a spooled message the database cannot take (here its
// bytes cannot be read back) is not lost: it is parked, not done, and stored by
// RetryParked once the cause is gone; meanwhile it holds its room in the backlog, so a
// long outage fills the backlog (new senders get a 451) rather than memory.
func TestSpooledParkedAndRetried(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	ctx := context.Background()
	sp := &memSpool{}
	sp.readErr.Store(true)
	if _, err := s.ReceiveSpooled(ctx, testMail("k@ecole.test", "Demande", "k@x"), sp); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Parked() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// parked, not done, and still holding its room in the backlog
	if s.Parked() != 1 || sp.doneCount() != 0 || s.Backlog() != 1 {
		t.Fatalf("parked %d done %d backlog %d, want 1 0 1", s.Parked(), sp.doneCount(), s.Backlog())
	}
	sp.readErr.Store(false)
	if n, err := s.RetryParked(ctx); n != 1 || err != nil {
		t.Fatalf("RetryParked: %d %v", n, err)
	}
	waitBacklog(t, s)
	var tickets int
	db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
	if tickets != 1 || sp.doneCount() != 1 || s.Parked() != 0 {
		t.Fatalf("tickets %d done %d parked %d, want 1 1 0", tickets, sp.doneCount(), s.Parked())
	}
}
