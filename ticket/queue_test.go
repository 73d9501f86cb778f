package ticket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// waitBacklog waits until s has processed everything Receive queued.
func waitBacklog(t *testing.T, s *Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Backlog() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("backlog still %d after 10 s", s.Backlog())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestReceiveProcessesInOrder: Receive answers once the message is stored (pending), and
// processing follows in arrival order: a reply received right after its new request
// threads onto the ticket the request made, and a duplicate is known at once.
func TestReceiveProcessesInOrder(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			ctx := context.Background()
			var ids []int64
			for i := range 20 {
				first := testMail(fmt.Sprintf("p%d@ecole.test", i), "Demande", fmt.Sprintf("q%d@x", i))
				reply := testMail(fmt.Sprintf("p%d@ecole.test", i), "Re: Demande", fmt.Sprintf("q%d.r@x", i), fmt.Sprintf("q%d@x", i))
				reply.Msg.InReplyTo = []string{fmt.Sprintf("q%d@x", i)}
				for _, d := range []Delivery{first, reply} {
					r, err := s.Receive(ctx, d)
					if err != nil {
						t.Fatal(err)
					}
					if r.State != "pending" || r.Duplicate || r.InboundID == 0 || r.TicketKey != "" {
						t.Fatalf("receipt: %+v", r)
					}
					ids = append(ids, r.InboundID)
				}
			}
			r, err := s.Receive(ctx, testMail("p0@ecole.test", "Demande", "q0@x"))
			if err != nil || !r.Duplicate {
				t.Fatalf("duplicate: %+v %v", r, err)
			}
			waitBacklog(t, s)
			var tickets, comments, pending int
			db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
			db.Get(&comments, "SELECT COUNT(*) FROM comments")
			db.Get(&pending, "SELECT COUNT(*) FROM inbound WHERE state <> 'processed'")
			if tickets != 20 || comments != 20 || pending != 0 {
				t.Fatalf("tickets %d comments %d unprocessed %d, want 20 20 0", tickets, comments, pending)
			}
			if got := s.ProcessCounts(); got["ticket_created"] != 20 || got["comment_added"] != 20 {
				t.Fatalf("outcomes: %v", got)
			}
			var confirmations int
			db.Get(&confirmations, "SELECT COUNT(*) FROM outbox WHERE kind = 'confirmation'")
			if got := confirmations; got != 20 {
				t.Fatalf("confirmations: %d", got)
			}
		})
	}
}

// TestCloseDrainsQueue: what Receive stored is processed before Close returns, even when
// the senders stop waiting at once.
func TestCloseDrainsQueue(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := s.Receive(context.Background(), testMail(fmt.Sprintf("c%d@ecole.test", i), "Demande", fmt.Sprintf("d%d@x", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s.Close()
	var processed int
	db.Get(&processed, "SELECT COUNT(*) FROM inbound WHERE state = 'processed'")
	if processed != 50 {
		t.Fatalf("processed after Close: %d of 50", processed)
	}
	if _, err := s.Receive(context.Background(), testMail("late@ecole.test", "Demande", "late@x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Close: %v", err)
	}
}

// TestReprocessStale: a message stored and left pending (its instance died before
// processing it) is processed by the sweep once it is old enough, and only once.
func TestReprocessStale(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			s := newTestService(t, db, &now)
			ctx := context.Background()
			d := testMail("ines@ecole.test", "Projecteur", "stale@x")
			// What Receive stores, without the queue: the row a dead instance leaves.
			if err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
				_, err := s.store(ctx, tx, d)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			parse := func(ctx context.Context, raw []byte, env Envelope) (*Inbound, error) { return d.Msg, nil }
			if st, err := s.ReprocessStale(ctx, parse, 2*time.Minute); err != nil || st.Tried != 0 {
				t.Fatalf("fresh message swept: %+v %v", st, err)
			}
			now = now.Add(3 * time.Minute)
			if st, err := s.ReprocessStale(ctx, parse, 2*time.Minute); err != nil || st.Processed != 1 {
				t.Fatalf("stale message: %+v %v", st, err)
			}
			if st, err := s.ReprocessStale(ctx, parse, 2*time.Minute); err != nil || st.Tried != 0 {
				t.Fatalf("swept twice: %+v %v", st, err)
			}
			var n int
			db.Get(&n, "SELECT COUNT(*) FROM tickets")
			if n != 1 {
				t.Fatalf("tickets: %d", n)
			}
		})
	}
}

// TestBacklogBounds: room is taken by count and by weight, waits when full, and gives
// up with the context.
func TestBacklogBounds(t *testing.T) {
	b := newBacklog(2, 1000)
	ctx := context.Background()
	if err := b.acquire(ctx, 400); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 400); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.acquire(short, 1); err == nil {
		t.Fatal("a third message got room past the count")
	}
	got := make(chan error, 1)
	go func() { got <- b.acquire(ctx, 700) }()
	b.release(400)
	select {
	case err := <-got:
		t.Fatalf("room past the weight: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.release(400)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	b.release(700)
	if err := b.acquire(ctx, 5000); err != nil || b.len() != 1 {
		t.Fatalf("a message heavier than the budget, alone: %v %d", err, b.len())
	}
}

// TestWALStartsOver: a write that begins while frames remain uncopied appends to the
// WAL, so under a steady flow of writes the WAL would only grow (by about 50 KB a
// message) whatever the checkpoints copy. After the checkpointer's passes the committer
// copies what was written meanwhile and its next write starts the WAL over: under the
// same flow, the file stops growing.
func TestWALStartsOver(t *testing.T) {
	dir := t.TempDir()
	db, _, err := Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := newTestService(t, db, nil)
	walSize := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, "g.db-wal"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				if _, err := s.Accept(context.Background(), testMail(fmt.Sprintf("z%d@ecole.test", i), "Demande", fmt.Sprintf("z%d@x", i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// The checkpointer's passes, every 100 ms instead of every second.
	var half int64
	var halfMsgs int64
	for tick := 1; tick <= 14; tick++ {
		time.Sleep(100 * time.Millisecond)
		s.checkpoint("PASSIVE")
		if tick == 7 {
			half, halfMsgs = walSize(), n.Load()
		}
	}
	close(stop)
	wg.Wait()
	end, msgs := walSize(), n.Load()
	t.Logf("WAL %d bytes after %d messages, %d after %d", half, halfMsgs, end, msgs)
	if msgs-halfMsgs < 200 {
		t.Skipf("only %d messages in the second half: too slow a machine to tell", msgs-halfMsgs)
	}
	// Without the restart the WAL grows with the messages (twice as many: about twice
	// the size); with it, only when some 100 ms see more writes than any before. Since a
	// message also writes its SLA clock and the dashboard's indexes, the three copying
	// passes that allow the restart complete less often at full speed on a loaded
	// machine: a run that restarted late grows by up to three quarters of the no-restart
	// growth; only one that grows by nine tenths of it or more never started over.
	if float64(end)/float64(half) > 1+0.9*(float64(msgs)/float64(halfMsgs)-1) {
		t.Fatalf("the WAL kept growing (%d bytes half-way, %d at the end): it never started over", half, end)
	}
}
