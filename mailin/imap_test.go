package mailin

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const memMailbox = "u@127.0.0.1/INBOX"

func memPoller(m *memIMAP, d Deliverer, cur CursorStore, lk Locker) IMAPOptions {
	return IMAPOptions{URL: m.url("imap", ""), Deliverer: d, Cursor: cur, Locker: lk,
		PollInterval: time.Hour, IdleRefresh: 300 * time.Millisecond, LeaseTTL: 300 * time.Millisecond, BatchSize: 2}
}

// Mail is taken once, marked \Seen and moved, read or not; a restart resumes from the
// cursor; IDLE brings new mail at once. With IMAP4rev1 alone the move is COPY + EXPUNGE.
func TestIMAPTakesMail(t *testing.T) {
	for _, rev2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "IMAP4rev1", true: "IMAP4rev2"}[rev2], func(t *testing.T) {
			m := newMemIMAP(t, memOptions{rev2: rev2})
			m.add("INBOX", nil, "a", "b", "c")
			m.add("INBOX", []imap.Flag{imap.FlagSeen}, "d", "e") // read in webmail first
			sink, cur, lk := newIMAPSink(), newFakeCursors(), newFakeLocker()
			opt := memPoller(m, sink, cur, lk)
			opt.IdleRefresh = time.Hour // only IDLE can bring new mail at once
			p, stop := startPoller(t, opt)
			if p.Mailbox() != memMailbox {
				t.Fatalf("Mailbox() = %q", p.Mailbox())
			}
			waitFor(t, 5*time.Second, "5 messages moved", func() bool {
				return m.count("Guichet/Traité") == 5 && m.count("INBOX") == 0
			})
			want := map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true}
			if got := m.folder("Guichet/Traité"); !maps.Equal(got, want) {
				t.Fatalf("Guichet/Traité = %v, want all five \\Seen", got)
			}
			if sink.stored() != 5 || sink.callCount("") != 5 {
				t.Fatalf("stored %d in %d calls, want 5 in 5", sink.stored(), sink.callCount(""))
			}
			// The cursor is saved once the batch is filed (moved): just after the move.
			waitFor(t, 5*time.Second, "cursor at UID 5", func() bool {
				v, last := cur.get(memMailbox)
				return v != 0 && last == 5
			})

			// IDLE: new mail is taken within a second (PollInterval and IdleRefresh are an
			// hour). The in-memory server reports nothing when IDLE starts, so wait until
			// the poller idles: mail appended just before would wait for IdleRefresh.
			time.Sleep(50 * time.Millisecond) // let the poller enter IDLE
			start := time.Now()
			m.add("INBOX", nil, "f")
			waitFor(t, time.Second, "IDLE wake-up", func() bool { return sink.has("f@test") })
			t.Logf("taken %v after APPEND", time.Since(start))
			stop()

			// Restart: mail left in INBOX past the cursor only.
			m.add("INBOX", nil, "g", "h")
			startPoller(t, memPoller(m, sink, cur, lk))
			waitFor(t, 5*time.Second, "8 messages", func() bool {
				return m.count("Guichet/Traité") == 8 && m.count("INBOX") == 0
			})
			if sink.stored() != 8 || sink.callCount("") != 8 {
				t.Fatalf("stored %d in %d calls, want 8 in 8", sink.stored(), sink.callCount(""))
			}
		})
	}
}

// A first sync of a big mailbox goes in batches; stopped halfway, it resumes from the
// cursor and takes each message once.
func TestIMAPBatchesResume(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("m%02d", i))
	}
	m.add("INBOX", nil, ids...)
	sink, cur, lk := newIMAPSink(), newFakeCursors(), newFakeLocker()
	stopAt := make(chan struct{})
	sink.onDeliver = func(mid string) {
		if mid == "m17@test" {
			close(stopAt)
		}
	}
	opt := memPoller(m, sink, cur, lk)
	opt.BatchSize = 5
	_, stop := startPoller(t, opt)
	<-stopAt
	stop()
	_, last := cur.get(memMailbox)
	if last < 15 || last > 20 {
		t.Fatalf("cursor after a stop at m17: %d, want 15..20 (batches of 5)", last)
	}
	sink.onDeliver = nil
	startPoller(t, opt)
	waitFor(t, 5*time.Second, "40 messages", func() bool { return m.count("Guichet/Traité") == 40 })
	if sink.stored() != 40 {
		t.Fatalf("stored %d", sink.stored())
	}
	if n := sink.callCount(""); n > 41 {
		t.Fatalf("%d deliveries for 40 messages: the restart did not resume from the cursor", n)
	}
}

// A UIDVALIDITY change rescans from UID 1; the Deliverer's dedup absorbs what was taken.
func TestIMAPUIDValidityChange(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	// The folder is re-created (new UIDVALIDITY) holding a message taken before.
	if err := m.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := m.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	m.add("INBOX", nil, "old", "new")
	sink, cur, lk := newIMAPSink(), newFakeCursors(), newFakeLocker()
	sink.taken["old@test"] = 1
	cur.set(memMailbox, 1, 50, 0) // UIDVALIDITY 1, far past the new UIDs
	startPoller(t, memPoller(m, sink, cur, lk))
	waitFor(t, 5*time.Second, "the cursor on the new UIDVALIDITY", func() bool {
		v, last := cur.get(memMailbox)
		return v == 2 && last == 2
	})
	if !sink.has("new@test") || sink.callCount("old@test") != 1 || sink.stored() != 2 || m.count("INBOX") != 0 {
		t.Fatalf("calls %v", sink.calls)
	}
}

// A temporary failure leaves the message in INBOX and stops the batch; the next round
// takes it, then the rest. A refused message goes to Guichet/Refusé without blocking.
func TestIMAPDeliverFailures(t *testing.T) {
	m := newMemIMAP(t, memOptions{})
	m.add("INBOX", nil, "a", "tmp", "bad", "b")
	sink, cur, lk := newIMAPSink(), newFakeCursors(), newFakeLocker()
	sink.tempFail["tmp@test"] = 2
	sink.refuse["bad@test"] = true
	inInbox := make(chan int, 3)
	sink.onDeliver = func(mid string) {
		if mid == "tmp@test" {
			inInbox <- m.count("INBOX")
		}
	}
	startPoller(t, memPoller(m, sink, cur, lk))
	waitFor(t, 5*time.Second, "cursor at 4", func() bool { _, last := cur.get(memMailbox); return last == 4 })
	// First try: a, tmp, bad and b in INBOX (a is moved after its batch ends); the
	// retries see tmp, bad and b there.
	if got := []int{<-inInbox, <-inInbox, <-inInbox}; got[1] < 3 || got[2] < 3 {
		t.Fatalf("INBOX sizes at each try of tmp: %v; tmp must stay until it is taken", got)
	}
	if got := slices.Sorted(maps.Keys(m.folder("Guichet/Traité"))); !slices.Equal(got, []string{"a", "b", "tmp"}) {
		t.Fatalf("Guichet/Traité = %v", got)
	}
	if got := m.folder("Guichet/Refusé"); len(got) != 1 || got["bad"] {
		t.Fatalf("Guichet/Refusé = %v, want bad, unread", got)
	}
	if n := sink.callCount("tmp@test"); n != 3 {
		t.Fatalf("tmp tried %d times, want 3", n)
	}
	if n := sink.callCount("bad@test"); n != 1 {
		t.Fatalf("bad tried %d times, want 1", n)
	}
}

// A message over MaxMessageBytes is moved aside unfetched.
func TestIMAPTooLarge(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	m.add("INBOX", nil, "small")
	big := append(testMessage("big"), make([]byte, 4096)...)
	if _, err := m.user.Append("INBOX", bytes.NewReader(big), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	sink := newIMAPSink()
	opt := memPoller(m, sink, newFakeCursors(), newFakeLocker())
	opt.MaxMessageBytes = 1024
	startPoller(t, opt)
	waitFor(t, 5*time.Second, "INBOX empty", func() bool { return m.count("INBOX") == 0 })
	if sink.callCount("big@test") != 0 || !sink.has("small@test") || m.count("Guichet/Refusé") != 1 {
		t.Fatalf("calls %v, refused %d", sink.calls, m.count("Guichet/Refusé"))
	}
}

// A dropped connection is re-established and mail keeps coming.
func TestIMAPReconnects(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	m.add("INBOX", nil, "a")
	sink := newIMAPSink()
	startPoller(t, memPoller(m, sink, newFakeCursors(), newFakeLocker()))
	waitFor(t, 5*time.Second, "a", func() bool { return sink.has("a@test") })
	for i := range 3 {
		before := m.ln.accepted()
		m.ln.drop()
		waitFor(t, 5*time.Second, "a new connection", func() bool { return m.ln.accepted() > before })
		id := fmt.Sprintf("after%d", i)
		m.add("INBOX", nil, id)
		waitFor(t, 5*time.Second, id, func() bool { return sink.has(id + "@test") })
	}
}
