package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

func instanceService(t *testing.T, db *sqlx.DB, instance string) *Service {
	t.Helper()
	s, err := NewService(context.Background(), db, Options{
		PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"), Instance: instance,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func outboxIDs(ms []OutboxMail) []int64 {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}

// TestReleaseInstanceClaims: an instance that starts again under the identity of one
// that died gets back at once the outbox rows that one had claimed (not those it
// marked sent), and leaves the claims of every other instance, which may be sending.
func TestReleaseInstanceClaims(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			seed := newTestService(t, db, nil)
			for i := range 6 {
				accept(t, seed, testMail(fmt.Sprintf("r%d@ecole.test", i), "Demande", fmt.Sprintf("rel%d@x", i)))
			}
			x := instanceService(t, db, "web-1-3f2a9c01")
			y := instanceService(t, db, "web-2-77aa0b12")
			anon := instanceService(t, db, "") // guichet ingest: claims without an identity
			xs, err := x.ClaimOutbox(ctx, 3, time.Hour)
			if err != nil || len(xs) != 3 {
				t.Fatalf("claim x: %d %v", len(xs), err)
			}
			ys, _ := y.ClaimOutbox(ctx, 2, time.Hour)
			as, _ := anon.ClaimOutbox(ctx, 10, time.Hour)
			if len(ys) != 2 || len(as) == 0 {
				t.Fatalf("claim y: %d, anonymous: %d", len(ys), len(as))
			}
			if err := x.MarkSent(ctx, xs[0].ID, "250 ok"); err != nil {
				t.Fatal(err)
			}

			// x dies; it starts again with the same identity.
			x.Close()
			x2 := instanceService(t, db, "web-1-3f2a9c01")
			if n, err := x2.ReleaseInstanceClaims(ctx, "web-1-3f2a9c01"); err != nil || n != 2 {
				t.Fatalf("released %d, %v; want x's 2 rows not sent", n, err)
			}
			got, err := x2.ClaimOutbox(ctx, 100, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if want := outboxIDs(xs[1:]); !slices.Equal(outboxIDs(got), want) {
				t.Fatalf("due after the release: %v, want x's unsent rows %v (y's and the anonymous claims stay)", outboxIDs(got), want)
			}
			// The claims now carry the new run's identity: a second start finds them.
			if n, _ := x2.ReleaseInstanceClaims(ctx, "web-1-3f2a9c01"); n != 2 {
				t.Errorf("second release: %d, want 2", n)
			}
			if n, _ := x2.ReleaseInstanceClaims(ctx, "web-3-unknown"); n != 0 {
				t.Errorf("an unknown identity released %d rows", n)
			}
			if _, err := x2.ReleaseInstanceClaims(ctx, ""); !errors.Is(err, ErrInvalid) {
				t.Errorf("empty identity: %v, want ErrInvalid", err)
			}
			if more, _ := y.ClaimOutbox(ctx, 100, time.Hour); len(more) != 2 {
				t.Errorf("y finds %d rows due, want x's 2 released again", len(more))
			}
		})
	}
}
