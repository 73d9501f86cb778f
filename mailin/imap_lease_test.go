package mailin

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Two pollers on one mailbox: one takes all the mail; when it stops, the other takes over.
func TestIMAPLeaseOnePollerPerMailbox(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	cur, lk := newFakeCursors(), newFakeLocker()
	sinks := []*imapSink{newIMAPSink(), newIMAPSink()}
	stops := make([]func(), 2)
	for i, s := range sinks {
		_, stops[i] = startPoller(t, memPoller(m, s, cur, lk))
	}
	for i := range 10 {
		m.add("INBOX", nil, fmt.Sprintf("m%d", i))
	}
	waitFor(t, 5*time.Second, "10 messages", func() bool { return m.count("Guichet/Traité") == 10 })
	holder := 0
	if sinks[1].stored() > 0 {
		holder = 1
	}
	if a, b := sinks[holder].stored(), sinks[1-holder].stored(); a != 10 || b != 0 {
		t.Fatalf("holder stored %d, other %d; want 10 and 0", a, b)
	}
	if n := sinks[holder].callCount(""); n != 10 {
		t.Fatalf("%d deliveries for 10 messages", n)
	}

	stops[holder]() // releases the lease
	m.add("INBOX", nil, "later")
	waitFor(t, 5*time.Second, "take-over", func() bool { return sinks[1-holder].has("later@test") })
}

// A poller whose lease is taken from it stops taking mail, and takes it again once it
// gets the lease back.
func TestIMAPLeaseLost(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	sink, cur := newIMAPSink(), newFakeCursors()
	lk := newFakeLocker()
	var tries atomic.Int32
	counting := LockerFunc(func(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
		tries.Add(1)
		return lk.TryAcquire(ctx, name, ttl)
	})
	startPoller(t, memPoller(m, sink, cur, counting))
	m.add("INBOX", nil, "a")
	waitFor(t, 5*time.Second, "a", func() bool { return sink.has("a@test") })

	lk.steal("imap:" + memMailbox) // another instance, after this one stalled
	waitFor(t, 5*time.Second, "the lease lost", func() bool { return tries.Load() >= 2 })
	m.add("INBOX", nil, "b")
	time.Sleep(300 * time.Millisecond)
	if sink.has("b@test") {
		t.Fatal("mail taken without the lease")
	}
	lk.release("imap:" + memMailbox)
	waitFor(t, 5*time.Second, "b once the lease is back", func() bool { return sink.has("b@test") })
}

// A cursor saved by a newer lease holder is never overwritten: the stale poller stops.
func TestIMAPStaleCursor(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	sink, cur, lk := newIMAPSink(), newFakeCursors(), newFakeLocker()
	cur.set(memMailbox, 1, 0, 100) // written under fence 100; our lease will have fence 1
	var tries atomic.Int32
	counting := LockerFunc(func(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
		tries.Add(1)
		return lk.TryAcquire(ctx, name, ttl)
	})
	startPoller(t, memPoller(m, sink, cur, counting))
	m.add("INBOX", nil, "a")
	waitFor(t, 5*time.Second, "a session restart after the refused save", func() bool { return tries.Load() >= 2 })
	if v, last := cur.get(memMailbox); v != 1 || last != 0 {
		t.Fatalf("cursor overwritten by a stale holder: %d, %d", v, last)
	}
	if !sink.has("a@test") || sink.callCount("a@test") != 1 {
		t.Fatalf("calls %v: a is stored, and moved, before the cursor is saved", sink.calls)
	}
}
