package ticket

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// retentionBenchService opens the dashboard's million tickets (see BenchmarkDashboard)
// with a Service whose clock stands an hour after their last week.
func retentionBenchService(b *testing.B) (*sqlx.DB, *Service, time.Time) {
	db := dashSQLite(b)
	now := dashEnd.Add(time.Hour)
	s, err := NewService(context.Background(), db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123"),
		Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return db, s, now
}

// BenchmarkRetentionIdle measures what serve's hourly retention pass costs when nothing
// is due, on the dashboard's million tickets (SQLite; see BenchmarkDashboard for
// $GUICHET_BENCH_DIR) with a 24-month retention whose earlier passes purged every
// ticket closed before the cutoff (marked so here, the texts left as they are): the due
// tickets' and the loose inbound messages' index look-ups, which must not walk the
// tickets already purged.
func BenchmarkRetentionIdle(b *testing.B) {
	db, s, now := retentionBenchService(b)
	ctx := context.Background()
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

// BenchmarkRetentionWeek measures a pass that has a week of tickets to purge (about
// 4,000 of the dashboard's million, with their events and SLA clocks; the data set has
// no comments, files or mail), batch after batch through the committer: the time per
// ticket, and so how long one batch holds the writer.
func BenchmarkRetentionWeek(b *testing.B) {
	db, s, now := retentionBenchService(b)
	ctx := context.Background()
	from, to := now.AddDate(0, -24, 0), now.AddDate(0, -24, 7)
	for _, q := range []string{
		// what earlier passes did (as in BenchmarkRetentionIdle)
		"UPDATE tickets SET purged_at = closed_at WHERE status = 'closed' AND closed_at < ? AND purged_at IS NULL",
		// the week purged by an earlier run of this benchmark is due again
		"UPDATE tickets SET purged_at = NULL WHERE closed_at >= ? AND closed_at < ?",
		// The data set's tickets are not in the text index (its generator skips it),
		// and the index's triggers take out a ticket's old text when it changes: put
		// in those of the week (an earlier run already put in, and changed, the rest).
		"INSERT INTO tickets_fts (rowid, summary, description) SELECT id, summary, description FROM tickets WHERE closed_at >= ? AND closed_at < ? AND summary <> ?",
	} {
		args := []any{from, to, ErasedText}[:strings.Count(q, "?")]
		if _, err := db.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		r, err := s.Purge(ctx, to, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		n += len(r.Tickets)
		b.StopTimer()
		if _, err := db.ExecContext(ctx, db.Rebind("UPDATE tickets SET purged_at = NULL WHERE closed_at >= ? AND closed_at < ?"), from, to); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/float64(b.N), "tickets/op")
	b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(n), "µs/ticket")
}
