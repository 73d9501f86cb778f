package ticket

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// Size of the generated data set of BenchmarkSearch.
const (
	benchTickets   = 1_000_000
	benchCustomers = 20_000 // ten per establishment
	benchAgents    = 10
)

// BenchmarkSearch measures the requests list over a million tickets: first pages for an
// agent and for a customer, a deep page by cursor, a status filter and text searches.
// The database is generated once per run in b.TempDir() (or kept in
// $GUICHET_BENCH_DIR, reused when it is already there) and shared by the sub-benchmarks.
// PostgreSQL runs too when GUICHET_TEST_POSTGRES is set: in a new database dropped after,
// or in the one $GUICHET_BENCH_PG_DB names, kept and reused.
func BenchmarkSearch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchQueries(b, benchSQLite(b)) })
	if os.Getenv("GUICHET_TEST_POSTGRES") == "" {
		b.Log("GUICHET_TEST_POSTGRES unset: PostgreSQL skipped")
		return
	}
	b.Run("postgres", func(b *testing.B) { benchQueries(b, benchPostgres(b)) })
}

func benchSQLite(b *testing.B) *sqlx.DB {
	ctx := context.Background()
	db, path, existed := benchSQLiteOpen(b, "bench.db")
	if existed {
		var n int
		if db.Get(&n, "SELECT COUNT(*) FROM tickets"); n == benchTickets {
			// Comments numbered in an index's order came from an earlier generator.
			var first int64
			if db.Get(&first, "SELECT ticket_id FROM comments WHERE id = 1"); first > benchTickets/2 {
				b.Fatalf("sqlite: %s was generated with its comments out of date order: delete it", path)
			}
			b.Logf("sqlite: reusing %s", path)
			return db
		}
	}
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	start := time.Now()
	tx := db.MustBegin()
	for _, q := range benchGenSQLite {
		if _, err := tx.Exec(q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("sqlite: generated %d tickets in %v", benchTickets, time.Since(start).Round(time.Millisecond))
	return db
}

func benchPostgres(b *testing.B) *sqlx.DB {
	ctx := context.Background()
	db, name, exists := benchPGOpen(b, "GUICHET_BENCH_PG_DB", "guichet_bench_")
	if _, err := Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	if exists {
		var n int
		if db.Get(&n, "SELECT COUNT(*) FROM tickets"); n == benchTickets {
			b.Logf("postgres: reusing database %s", name)
			return db
		}
		if n != 0 {
			b.Fatalf("postgres: database %s holds %d tickets, neither none nor the data set", name, n)
		}
	}
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	start := time.Now()
	tx := db.MustBegin()
	for _, q := range benchGenPostgres {
		if _, err := tx.Exec(q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec("VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("postgres: generated %d tickets in %v", benchTickets, time.Since(start).Round(time.Millisecond))
	return db
}

var benchGenPostgres = []string{
	fmt.Sprintf(`INSERT INTO users (id, email, name, role, uai, created_at)
SELECT 1000 + i, 'client' || i || '@ecole.test', 'Client ' || i, 'customer', 'U' || lpad((i / 10)::text, 7, '0'), '2025-01-01Z'
FROM generate_series(1, %d) i`, benchCustomers),
	fmt.Sprintf(`INSERT INTO users (id, email, name, role, created_at)
SELECT i + 1, 'agent' || i || '@support.test', 'Agent ' || i, 'agent', '2025-01-01Z' FROM generate_series(1, %d) i`, benchAgents),
	fmt.Sprintf(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, assignee_id, uai,
  request_type, source, created_at, updated_at)
SELECT i, 'AURAN1-' || i, 1, i,
  CASE i %% 7 WHEN 0 THEN 'Imprimante hors service' WHEN 1 THEN 'Accès ENT impossible' WHEN 2 THEN 'Mot de passe oublié'
    WHEN 3 THEN 'Vidéoprojecteur en panne' WHEN 4 THEN 'Messagerie lente' WHEN 5 THEN 'Compte élève bloqué' ELSE 'Wifi instable' END
    || ' salle ' || (i %% 40),
  'Demande numéro ' || i || CASE WHEN i %% 1000 = 0 THEN ' avec le mot rare zorglub' ELSE ' décrite par l''établissement' END,
  CASE i %% 5 WHEN 0 THEN 'new' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'waiting' WHEN 3 THEN 'waiting_user' ELSE 'closed' END,
  1000 + 1 + (i::bigint * 7919) %% %[2]d,
  CASE WHEN i %% 3 = 0 THEN NULL ELSE 2 + i %% %[3]d END,
  'U' || lpad(((1 + (i::bigint * 7919) %% %[2]d) / 10)::text, 7, '0'),
  CASE i %% 4 WHEN 0 THEN 'Incident' WHEN 1 THEN 'Demande d''assistance' WHEN 2 THEN 'Demande d''information' ELSE '' END,
  'email',
  timestamptz '2025-01-01Z' + make_interval(secs => i * 30),
  timestamptz '2025-01-01Z' + make_interval(secs => i * 30 + (i::bigint * 7907) %% 2000000)
FROM generate_series(1, %[1]d) i`, benchTickets, benchCustomers, benchAgents),
	fmt.Sprintf(`UPDATE desks SET next_number = %d WHERE id = 1`, benchTickets),
	`SELECT setval(pg_get_serial_sequence('tickets', 'id'), 1000000)`,
	`INSERT INTO comments (ticket_id, author_id, body, visibility, source, created_at)
SELECT id, requester_id, 'Toujours le même problème ce matin, merci de votre aide ' || id,
  CASE WHEN id % 50 = 0 THEN 'internal' ELSE 'public' END, 'email', updated_at FROM tickets WHERE id % 5 = 0 ORDER BY updated_at, id`,
	`INSERT INTO participants (ticket_id, user_id, added_at)
SELECT id, 1000 + 1 + (id * 104729) % 20000, created_at FROM tickets WHERE id % 10 = 0 AND 1000 + 1 + (id * 104729) % 20000 <> requester_id`,
}

// Generation: users, then tickets whose requester, establishment, status, type, words
// and dates vary with their number, then comments (one ticket in five, one in ten of
// them internal; numbered in the order of their dates, as the service numbers them as
// they come) and participants (one ticket in ten).
var benchGenSQLite = []string{
	fmt.Sprintf(`INSERT INTO users (id, email, name, role, uai, created_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
SELECT 1000 + i, 'client' || i || '@ecole.test', 'Client ' || i, 'customer', printf('U%%07d', i / 10), '2025-01-01 00:00:00+00:00' FROM n`, benchCustomers),
	fmt.Sprintf(`INSERT INTO users (id, email, name, role, created_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
SELECT i + 1, 'agent' || i || '@support.test', 'Agent ' || i, 'agent', '2025-01-01 00:00:00+00:00' FROM n`, benchAgents),
	fmt.Sprintf(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, assignee_id, uai,
  request_type, source, created_at, updated_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %[1]d)
SELECT i, 'AURAN1-' || i, 1, i,
  CASE i %% 7 WHEN 0 THEN 'Imprimante hors service' WHEN 1 THEN 'Accès ENT impossible' WHEN 2 THEN 'Mot de passe oublié'
    WHEN 3 THEN 'Vidéoprojecteur en panne' WHEN 4 THEN 'Messagerie lente' WHEN 5 THEN 'Compte élève bloqué' ELSE 'Wifi instable' END
    || ' salle ' || (i %% 40),
  'Demande numéro ' || i || CASE WHEN i %% 1000 = 0 THEN ' avec le mot rare zorglub' ELSE ' décrite par l''établissement' END,
  CASE i %% 5 WHEN 0 THEN 'new' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'waiting' WHEN 3 THEN 'waiting_user' ELSE 'closed' END,
  1000 + 1 + (i * 7919) %% %[2]d,
  CASE WHEN i %% 3 = 0 THEN NULL ELSE 2 + i %% %[3]d END,
  printf('U%%07d', (1 + (i * 7919) %% %[2]d) / 10),
  CASE i %% 4 WHEN 0 THEN 'Incident' WHEN 1 THEN 'Demande d''assistance' WHEN 2 THEN 'Demande d''information' ELSE '' END,
  'email',
  strftime('%%Y-%%m-%%d %%H:%%M:%%S', '2025-01-01', '+' || (i * 30) || ' seconds') || '+00:00',
  strftime('%%Y-%%m-%%d %%H:%%M:%%S', '2025-01-01', '+' || (i * 30 + (i * 7907) %% 2000000) || ' seconds') || '+00:00'
FROM n`, benchTickets, benchCustomers, benchAgents),
	fmt.Sprintf(`UPDATE desks SET next_number = %d WHERE id = 1`, benchTickets),
	`INSERT INTO comments (ticket_id, author_id, body, visibility, source, created_at)
SELECT id, requester_id, 'Toujours le même problème ce matin, merci de votre aide ' || id,
  CASE WHEN id % 50 = 0 THEN 'internal' ELSE 'public' END, 'email', updated_at FROM tickets WHERE id % 5 = 0 ORDER BY updated_at, id`,
	`INSERT INTO participants (ticket_id, user_id, added_at)
SELECT id, 1000 + 1 + (id * 104729) % 20000, created_at FROM tickets WHERE id % 10 = 0 AND 1000 + 1 + (id * 104729) % 20000 <> requester_id`,
	ftsIndexPending[0], ftsIndexPending[1], ftsIndexPending[2],
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU is the CPU time used by each PostgreSQL backend of db's database, read
// from /proc; nil when the server's processes cannot be read (another machine).
func backendsCPU(db *sqlx.DB) map[int]time.Duration {
	if DialectOf(db) != Postgres {
		return nil
	}
	var pids []int
	if err := db.Select(&pids, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"); err != nil {
		return nil
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			return nil
		}
		f := strings.Fields(string(b[i+1:])) // state, ppid, … utime is the 12th, stime the 13th
		if len(f) < 13 {
			return nil
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return out
}

// validBenchDBName: the name goes into CREATE DATABASE as it is.
func validBenchDBName(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return s != ""
}

// benchQueries runs the sub-benchmarks of one store.
func benchQueries(b *testing.B, db *sqlx.DB) {
	ctx := context.Background()
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	agent, err := s.userByID(ctx, db, 2)
	if err != nil {
		b.Fatal(err)
	}
	customer, err := s.userByID(ctx, db, 1000+4242)
	if err != nil {
		b.Fatal(err)
	}
	// A cursor half-way down the agent's list.
	var mid struct {
		ID int64     `db:"id"`
		At time.Time `db:"updated_at"`
	}
	if err := db.Get(&mid, "SELECT id, updated_at FROM tickets ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET 500000"); err != nil {
		b.Fatal(err)
	}
	deep := encodeCursor(cursor{At: mid.At, ID: mid.ID, Pos: 500001})
	for _, c := range []struct {
		name string
		u    User
		f    Filter
	}{
		{"agent-first-page", agent, Filter{}},
		{"customer-mine", customer, Filter{Scope: ScopeMine}},
		{"customer-all-scopes", customer, Filter{}},
		{"agent-deep-page-cursor", agent, Filter{Cursor: deep}},
		{"agent-status-waiting", agent, Filter{Status: []Status{StatusWaiting}}},
		{"agent-assigned", agent, Filter{Scope: ScopeAssigned}},
		{"agent-text-common", agent, Filter{Q: "imprimante"}},
		{"agent-text-rare", agent, Filter{Q: "zorglub"}},
		{"customer-text", customer, Filter{Q: "wifi"}},
		{"agent-status-text-common", agent, Filter{Status: []Status{StatusWaiting}, Q: "imprimante"}},
		{"agent-text-comments", agent, Filter{Q: "merci"}}, // in every comment, in no ticket's text
		// Other filters with a common word: the agent's own tickets (66,667, 9,524 of
		// them with the word: under the cap), with a type, a type alone (over the cap),
		// open statuses, a word of every comment.
		{"agent-assigned-text-common", agent, Filter{Scope: ScopeAssigned, Q: "imprimante"}},
		{"agent-assigned-type-text", agent, Filter{Scope: ScopeAssigned, Type: "Incident", Q: "imprimante"}},
		{"agent-type-text-common", agent, Filter{Type: "Incident", Q: "imprimante"}},
		{"agent-assigned-status-text", agent, Filter{Scope: ScopeAssigned, Status: []Status{StatusNew, StatusInProgress, StatusWaiting}, Q: "imprimante"}},
		{"agent-assigned-text-comments", agent, Filter{Scope: ScopeAssigned, Q: "merci"}},
		{"customer-type-text", customer, Filter{Type: "Incident", Q: "wifi"}},
		// A word of every ticket, and the start of a common word, with a status.
		{"agent-status-text-every", agent, Filter{Status: []Status{StatusClosed}, Q: "salle"}},
		{"agent-status-text-prefix", agent, Filter{Status: []Status{StatusWaiting}, Q: "imprim"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var p Page
			cpu, server := processCPU(), backendsCPU(db)
			for b.Loop() {
				if p, err = s.Search(ctx, c.u, c.f); err != nil {
					b.Fatal(err)
				}
			}
			// On a shared machine the time a search waits for a CPU is in ns/op; the CPU
			// it took is here: SQLite works in this process, PostgreSQL in its backends
			// (read from /proc when the server runs here, in 10 ms ticks).
			if s.dialect == SQLite {
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
			} else if after := backendsCPU(db); server != nil && after != nil {
				var used time.Duration
				for pid, t := range after {
					used += t - server[pid]
				}
				b.ReportMetric(float64(used)/float64(b.N)/1e6, "server-cpu-ms/op")
			}
			b.ReportMetric(float64(p.Total), "total")
			if len(p.Items) == 0 && c.name != "agent-text-rare" {
				b.Fatalf("no rows: %+v", p)
			}
		})
	}
}

// benchPGOpen opens a database for a PostgreSQL benchmark on the GUICHET_TEST_POSTGRES
// server: the one the environment variable env names, kept between runs (created when
// missing; existed says it was there), or else a new one named prefix+<time>, dropped
// after.
func benchPGOpen(b *testing.B, env, prefix string) (db *sqlx.DB, name string, existed bool) {
	ctx := context.Background()
	base := os.Getenv("GUICHET_TEST_POSTGRES")
	admin, _, err := Open(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	name, keep := os.Getenv(env), true
	if name == "" {
		name, keep = fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()), false
	}
	if !validBenchDBName(name) {
		b.Fatalf("%s %q: lower-case letters, digits and _ only", env, name)
	}
	if err := admin.Get(&existed, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name); err != nil {
		b.Fatal(err)
	}
	if !existed {
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			b.Fatal(err)
		}
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	if db, _, err = Open(ctx, u.String()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db.Close()
		if !keep {
			admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		}
		admin.Close()
	})
	return db, name, existed
}

// benchSQLiteOpen opens and migrates the SQLite file of a benchmark's data set: in
// $GUICHET_BENCH_DIR, kept between runs (existed says it was there), or in a temporary
// folder.
func benchSQLiteOpen(b *testing.B, file string) (db *sqlx.DB, path string, existed bool) {
	ctx := context.Background()
	dir := os.Getenv("GUICHET_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path = filepath.Join(dir, file)
	_, statErr := os.Stat(path)
	db, _, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	return db, path, statErr == nil
}
