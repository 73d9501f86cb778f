package ticket

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/guichet/guichet/bizhours"
)

// The dashboard's data set: a million tickets over five years (one every 150 s, about
// 4,000 a week, a busy regional desk), the older ones closed, each with an SLA clock, a
// first answer and a closing time that vary with its number; a million status events
// and 50,000 SLA breaches.
const (
	dashTickets = 1_000_000
	dashStep    = 150 // seconds between two tickets
)

// dashEnd is the data set's last ticket's creation: the benchmark's clock.
var dashEnd = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(dashTickets * dashStep * time.Second)

// BenchmarkDashboard measures the agents' dashboard over twelve weeks at a million
// tickets, on SQLite (kept in $GUICHET_BENCH_DIR/dashboard.db when set) and, with
// GUICHET_TEST_POSTGRES, on PostgreSQL (a new database, dropped after).
func BenchmarkDashboard(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDashboard(b, dashSQLite(b)) })
	if os.Getenv("GUICHET_TEST_POSTGRES") == "" {
		b.Log("GUICHET_TEST_POSTGRES unset: PostgreSQL skipped")
		return
	}
	b.Run("postgres", func(b *testing.B) { benchDashboard(b, dashPostgres(b)) })
}

func benchDashboard(b *testing.B, db *sqlx.DB) {
	ctx := context.Background()
	now := dashEnd.Add(time.Hour)
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123"),
		Now: func() time.Time { return now },
		SLA: &SLAPolicy{Calendar: bizhours.MustDefault(), FirstResponse: 8 * time.Hour, Resolution: 40 * time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	agent, err := s.userByID(ctx, db, 2)
	if err != nil {
		b.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	var d Dashboard
	for b.Loop() {
		if d, err = s.Dashboard(ctx, agent, 12, paris); err != nil {
			b.Fatal(err)
		}
	}
	created := 0
	for _, w := range d.Weeks {
		created += w.Created
	}
	if d.Total != dashTickets || created < 40_000 || d.Responded == 0 || d.Resolved == 0 {
		b.Fatalf("implausible dashboard: total %d, created %d, responded %d, resolved %d", d.Total, created, d.Responded, d.Resolved)
	}
	b.ReportMetric(float64(created), "created")
	b.ReportMetric(float64(d.Resolved), "resolved")
}

func dashSQLite(b *testing.B) *sqlx.DB {
	db, path, existed := benchSQLiteOpen(b, "dashboard.db")
	if existed {
		var n int
		if db.Get(&n, "SELECT COUNT(*) FROM sla_daily"); n > 0 {
			b.Logf("sqlite: reusing %s", path)
			return db
		}
	}
	dashGenerate(b, db, dashGenSQLite)
	return db
}

func dashPostgres(b *testing.B) *sqlx.DB {
	ctx := context.Background()
	// $GUICHET_BENCH_DASH_PG_DB names a database kept between runs (generated once).
	db, name, _ := benchPGOpen(b, "GUICHET_BENCH_DASH_PG_DB", "guichet_dash_")
	if _, err := Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	var n int
	if db.Get(&n, "SELECT COUNT(*) FROM sla_daily"); n > 0 {
		b.Logf("postgres: reusing database %s", name)
		return db
	}
	dashGenerate(b, db, dashGenPostgres)
	if _, err := db.Exec("VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return db
}

func dashGenerate(b *testing.B, db *sqlx.DB, gen []string) {
	ctx := context.Background()
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	start := time.Now()
	tx := db.MustBegin()
	for _, q := range gen {
		if _, err := tx.Exec(q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	// The daily histograms, filled as migration 0020 fills them for existing clocks.
	dialect := "sqlite"
	if db.DriverName() != "sqlite" {
		dialect = "postgres"
	}
	mig, err := migrationFS.ReadFile("migrations/" + dialect + "/0020_dashboard.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range strings.Split(string(mig), ";\n") {
		if i := strings.Index(q, "INSERT INTO sla_daily"); i >= 0 {
			if _, err := tx.Exec(q[i:]); err != nil {
				b.Fatalf("%v\n%s", err, q[i:])
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d tickets in %v", dashTickets, time.Since(start).Round(time.Millisecond))
}

// A ticket i is created at 2021-01-01 + 150 i seconds; answered (i % 600) minutes later
// (business time, the same figure); tickets older than 30 days before the end are
// closed (i*7907 % 432000) seconds after creation, with (i*31 % 180000) business seconds
// on their clock; newer ones cycle through the statuses.
var dashGenSQLite = []string{
	`INSERT INTO users (id, email, name, role, created_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
SELECT i + 1, 'agent' || i || '@support.test', 'Agent ' || i, 'agent', '2021-01-01 00:00:00+00:00' FROM n`,
	`INSERT INTO users (id, email, name, role, created_at) VALUES (1000, 'client@ecole.test', 'Client', 'customer', '2021-01-01 00:00:00+00:00')`,
	fmt.Sprintf(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, uai, source, created_at, updated_at, closed_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %[1]d),
c(i, created, old) AS (SELECT i, unixepoch('2021-01-01') + i * %[2]d, i < %[1]d - 17280 FROM n)
SELECT i, 'AURAN1-' || i, 1, i, 'Demande ' || i, '', 
  CASE WHEN old THEN 'closed' ELSE CASE i %% 4 WHEN 0 THEN 'new' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'waiting_user' ELSE 'closed' END END,
  1000, 'U0000001', 'email',
  strftime('%%Y-%%m-%%d %%H:%%M:%%S', created, 'unixepoch') || '+00:00',
  strftime('%%Y-%%m-%%d %%H:%%M:%%S', created + 3600, 'unixepoch') || '+00:00',
  CASE WHEN old OR i %% 4 = 3 THEN strftime('%%Y-%%m-%%d %%H:%%M:%%S', created + (i * 7907) %% 432000, 'unixepoch') || '+00:00' END
FROM c`, dashTickets, dashStep),
	fmt.Sprintf(`UPDATE desks SET next_number = %d WHERE id = 1`, dashTickets),
	fmt.Sprintf(`INSERT INTO ticket_sla (ticket_id, elapsed_s, responded_at, response_s, resolved_at, flags)
SELECT id, (id * 31) %% 180000, strftime('%%Y-%%m-%%d %%H:%%M:%%S', unixepoch('2021-01-01') + id * %d + (id %% 600) * 60, 'unixepoch') || '+00:00',
  (id %% 600) * 60, closed_at, CASE WHEN id %% 20 = 0 THEN 4 ELSE 0 END FROM tickets`, dashStep),
	`INSERT INTO events (ticket_id, actor_id, kind, detail, created_at)
SELECT id, 2, 'status', 'new → in_progress', updated_at FROM tickets`,
	`INSERT INTO events (ticket_id, kind, detail, created_at)
SELECT id, 'sla_breach', 'first_response', updated_at FROM tickets WHERE id % 20 = 0`,
	`DELETE FROM fts_pending`,
	`ANALYZE`,
}

var dashGenPostgres = []string{
	`INSERT INTO users (id, email, name, role, created_at)
SELECT i + 1, 'agent' || i || '@support.test', 'Agent ' || i, 'agent', '2021-01-01Z' FROM generate_series(1, 10) i`,
	`INSERT INTO users (id, email, name, role, created_at) VALUES (1000, 'client@ecole.test', 'Client', 'customer', '2021-01-01Z')`,
	fmt.Sprintf(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, uai, source, created_at, updated_at, closed_at)
SELECT i, 'AURAN1-' || i, 1, i, 'Demande ' || i, '',
  CASE WHEN old THEN 'closed' ELSE CASE i %% 4 WHEN 0 THEN 'new' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'waiting_user' ELSE 'closed' END END,
  1000, 'U0000001', 'email', created, created + interval '1 hour',
  CASE WHEN old OR i %% 4 = 3 THEN created + make_interval(secs => (i::bigint * 7907) %% 432000) END
FROM (SELECT i, timestamptz '2021-01-01Z' + make_interval(secs => i::bigint * %[2]d) AS created, i < %[1]d - 17280 AS old
  FROM generate_series(1, %[1]d) i) c`, dashTickets, dashStep),
	fmt.Sprintf(`UPDATE desks SET next_number = %d WHERE id = 1`, dashTickets),
	`SELECT setval(pg_get_serial_sequence('tickets', 'id'), 1000000)`,
	fmt.Sprintf(`INSERT INTO ticket_sla (ticket_id, elapsed_s, responded_at, response_s, resolved_at, flags)
SELECT id, (id * 31) %% 180000, timestamptz '2021-01-01Z' + make_interval(secs => id * %d + (id %% 600) * 60),
  (id %% 600) * 60, closed_at, CASE WHEN id %% 20 = 0 THEN 4 ELSE 0 END FROM tickets`, dashStep),
	`INSERT INTO events (ticket_id, actor_id, kind, detail, created_at)
SELECT id, 2, 'status', 'new → in_progress', updated_at FROM tickets`,
	`INSERT INTO events (ticket_id, kind, detail, created_at)
SELECT id, 'sla_breach', 'first_response', updated_at FROM tickets WHERE id % 20 = 0`,
}
