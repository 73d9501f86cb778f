package ticket

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestIMAPCursor(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := newTestService(t, open(t), nil)
			ctx := context.Background()
			const mbox = "guichet@imap.example/INBOX"

			v, last, err := s.IMAPCursor(ctx, mbox)
			if err != nil || v != 0 || last != 0 {
				t.Fatalf("cursor of a new mailbox = %d, %d, %v; want zeros", v, last, err)
			}
			steps := []struct {
				name     string
				validity uint32
				last     uint32
				fence    int64
				stale    bool
				want     [2]uint32
			}{
				{"first save", 7, 10, 1, false, [2]uint32{7, 10}},
				{"same fence advances", 7, 25, 1, false, [2]uint32{7, 25}},
				{"higher fence takes over", 7, 30, 3, false, [2]uint32{7, 30}},
				{"lower fence refused", 7, 99, 2, true, [2]uint32{7, 30}},
				{"uidvalidity change starts over", 8, 0, 3, false, [2]uint32{8, 0}},
				{"largest uint32 values", 1<<32 - 1, 1<<32 - 2, 4, false, [2]uint32{1<<32 - 1, 1<<32 - 2}},
			}
			for _, st := range steps {
				err := s.SaveIMAPCursor(ctx, mbox, st.validity, st.last, st.fence)
				if st.stale != errors.Is(err, ErrStaleLease) || (!st.stale && err != nil) {
					t.Fatalf("%s: SaveIMAPCursor = %v, stale expected: %v", st.name, err, st.stale)
				}
				v, last, err := s.IMAPCursor(ctx, mbox)
				if err != nil || [2]uint32{v, last} != st.want {
					t.Fatalf("%s: cursor = %d, %d, %v; want %v", st.name, v, last, err, st.want)
				}
			}
			// Other mailboxes are independent.
			if v, last, _ := s.IMAPCursor(ctx, "other@imap.example/INBOX"); v != 0 || last != 0 {
				t.Fatalf("other mailbox = %d, %d", v, last)
			}
			if err := s.SaveIMAPCursor(ctx, "other@imap.example/INBOX", 1, 1, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Two writers racing with different fences: the higher fence always wins, whatever the
// order, and the loser learns it.
func TestIMAPCursorFenceRace(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := newTestService(t, open(t), nil)
			ctx := context.Background()
			const mbox = "race@imap.example/INBOX"
			var wg sync.WaitGroup
			errs := make([]error, 40)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					fence := int64(1 + i%2) // writers of fence 1 and 2 interleave
					errs[i] = s.SaveIMAPCursor(ctx, mbox, 5, uint32(100*fence+int64(i)), fence)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil && !errors.Is(err, ErrStaleLease) {
					t.Fatalf("writer %d: %v", i, err)
				}
				if i%2 == 1 && err != nil {
					t.Fatalf("writer %d holds the highest fence but was refused: %v", i, err)
				}
			}
			_, last, err := s.IMAPCursor(ctx, mbox)
			if err != nil || last < 200 {
				t.Fatalf("final cursor %d, %v: a stale writer overwrote the newer one", last, err)
			}
		})
	}
}
