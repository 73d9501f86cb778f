package ticket

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRetentionIdle measures what serve's hourly retention pass costs when nothing
// is due, on the dashboard's million tickets (SQLite; see BenchmarkDashboard for
// $GUICHET_BENCH_DIR) with a 24-month retention whose earlier passes purged every
// ticket closed before the cutoff (marked so here, the texts left as they are): the due
// tickets' and the loose inbound messages' index look-ups, which must not walk the
// tickets already purged.
func BenchmarkRetentionIdle(b *testing.B) {
	db := dashSQLite(b)
	ctx := context.Background()
	now := dashEnd.Add(time.Hour)
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123"),
		Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	cutoff := now.AddDate(0, -24, 0)
	res, err := db.ExecContext(ctx, db.Rebind("UPDATE tickets SET purged_at = closed_at WHERE status = 'closed' AND closed_at < ? AND purged_at IS NULL"), cutoff)
	if err != nil {
		b.Fatal(err)
	}
	var purged int
	if err := db.GetContext(ctx, &purged, "SELECT COUNT(*) FROM tickets WHERE purged_at IS NOT NULL"); err != nil {
		b.Fatal(err)
	}
	n, _ := res.RowsAffected()
	b.Logf("%d tickets purged by earlier passes (%d marked now)", purged, n)
	for b.Loop() {
		r, err := s.Purge(ctx, cutoff, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !r.Empty() {
			b.Fatalf("something was due: %+v", r)
		}
	}
}
