package ticket

import (
	"bytes"
	"context"
	"testing"
)

// The same Message-ID from the same sender with another body is kept, as a "duplicate"
// that names the first message, and not processed; the same bytes again (whatever the
// trace header in front) stay a plain duplicate, stored once.
func TestDuplicateWithDifferentBody(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			s := newTestService(t, db, nil)
			first := testMail("jeanne@ecole.test", "Imprimante", "m1@ecole.test")
			first.Raw, first.Env.TraceLen = append([]byte("Received: from z\r\n"), first.Raw...), len("Received: from z\r\n")
			r1 := accept(t, s, first)
			if !r1.Created {
				t.Fatalf("first: %+v", r1)
			}
			// the same bytes behind another trace header: a plain duplicate
			same := testMail("jeanne@ecole.test", "Imprimante", "m1@ecole.test")
			trace := []byte("Received: from x by y; Mon, 7 Dec 2026 04:00:00 +0000\r\n")
			same.Raw, same.Env.TraceLen = append(trace, same.Raw...), len(trace)
			if r := accept(t, s, same); !r.Duplicate || r.InboundID != r1.InboundID || r.State != "processed" {
				t.Fatalf("same bytes again: %+v", r)
			}
			other := testMail("jeanne@ecole.test", "Imprimante", "m1@ecole.test")
			other.Raw = bytes.Replace(other.Raw, []byte("body of"), []byte("another body of"), 1)
			other.Msg.Text = "another body"
			r2 := accept(t, s, other)
			if !r2.Duplicate || r2.State != "duplicate" || r2.InboundID == r1.InboundID || r2.Created || r2.CommentID != 0 {
				t.Fatalf("other body: %+v", r2)
			}
			// the other body again: a plain duplicate of the kept one
			if r := accept(t, s, other); !r.Duplicate || r.InboundID != r2.InboundID {
				t.Fatalf("other body again: %+v (kept as %d)", r, r2.InboundID)
			}
			// through Receive (processing queued) as well
			third := testMail("jeanne@ecole.test", "Imprimante", "m1@ecole.test")
			third.Raw = append(third.Raw, "P.S.\r\n"...)
			r3, err := s.Receive(ctx, third)
			if err != nil || r3.State != "duplicate" || !r3.Duplicate {
				t.Fatalf("Receive, third body: %+v %v", r3, err)
			}
			waitBacklog(t, s)
			raw, err := s.InboundRaw(ctx, r2.InboundID)
			if err != nil || !bytes.Equal(raw, other.Raw) {
				t.Fatalf("kept raw message %q %v", raw, err)
			}
			items, err := s.ListInbound(ctx, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			states := map[string]int{}
			for _, it := range items {
				states[it.State]++
				if it.State == "duplicate" && (it.MessageID != "m1@ecole.test" || it.Error == "") {
					t.Errorf("duplicate listed as %+v", it)
				}
			}
			if states["processed"] != 1 || states["duplicate"] != 2 || len(items) != 3 {
				t.Errorf("inbound list states %v, want 1 processed and 2 duplicates", states)
			}
			var tickets, comments int
			db.Get(&tickets, "SELECT COUNT(*) FROM tickets")
			db.Get(&comments, "SELECT COUNT(*) FROM comments")
			if tickets != 1 || comments != 0 {
				t.Errorf("tickets %d comments %d, want 1 and 0", tickets, comments)
			}
			if n := outboxKinds(t, db)["confirmation jeanne@ecole.test"]; n != 1 {
				t.Errorf("confirmations %d, want 1", n)
			}
		})
	}
}
