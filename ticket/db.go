package ticket

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite" // SQLite, no cgo
)

//go:embed migrations
var migrationFS embed.FS

// Dialect names a database engine: "sqlite" or "postgres".
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

func init() {
	// sqlx knows pgx's placeholders but not modernc's driver name.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Open opens the database named by dsn: a postgres:// URL, or else a SQLite file path
// (created if missing) opened in WAL mode with synchronous=FULL, so that a commit is on
// disk when it returns. On both, every text argument of a statement is made valid UTF-8
// without NUL (see text.go).
func Open(ctx context.Context, dsn string) (*sqlx.DB, Dialect, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, "", fmt.Errorf("ticket: open postgres: %w", err)
		}
		// every text argument made valid UTF-8 without NUL (text.go)
		db := sqlx.NewDb(sql.OpenDB(textConnector{stdlib.GetConnector(*cfg)}), "pgx")
		db.SetMaxOpenConns(20)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, "", fmt.Errorf("ticket: connect postgres: %w", err)
		}
		return db, Postgres, nil
	}
	db, err := openSQLiteFile(ctx, strings.TrimPrefix(dsn, "sqlite://"), sqliteBusyTimeout)
	if err != nil {
		return nil, "", err
	}
	return db, SQLite, nil
}

// sqliteBusyTimeout is how long a SQLite write waits for the write lock held by another
// connection before it fails with SQLITE_BUSY. Within one process the committer is the
// only writer (see intake.go); this covers the other processes on the same file.
const sqliteBusyTimeout = 10 * time.Second

func openSQLiteFile(ctx context.Context, path string, busy time.Duration) (*sqlx.DB, error) {
	q := url.Values{}
	// Checkpoints run in the background (Service.checkpointer), not in the commit of
	// whichever write crosses the WAL's size limit. Savepoints (one per message) keep
	// their statement journals in memory rather than in a temporary file written page by
	// page. Pages stay at SQLite's 4 KiB: BenchmarkAccept runs 7 % slower with 8 KiB
	// pages and 20 % slower with 16 KiB ones (200 KB messages 5-10 % faster). A
	// page_size pragma would not take effect here anyway: the driver runs these pragmas
	// in alphabetical order, and journal_mode's write fixes the page size first.
	busyPragma := fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds())
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", busyPragma, "foreign_keys(1)", "wal_autocheckpoint(0)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("ticket: sqlite path %q: %w", path, err)
	}
	connector := &stmtCacheConnector{dsn: "file:" + abs + "?" + q.Encode(), drv: &sqlite.Driver{}}
	db := sqlx.NewDb(sql.OpenDB(connector), "sqlite")
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ticket: open sqlite %s: %w", abs, err)
	}
	return db, nil
}

// DialectOf tells the dialect of an open database from its driver.
func DialectOf(db *sqlx.DB) Dialect {
	if db.DriverName() == "sqlite" {
		return SQLite
	}
	return Postgres
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("ticket: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("ticket: migration file %q is not NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("ticket: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// ErrSchemaOutdated is returned by CheckSchema when migrations are pending.
var ErrSchemaOutdated = errors.New("ticket: database schema is outdated; run 'guichet migrate'")

// Migrate applies every pending migration, each in its own transaction together with its
// version row. On PostgreSQL it holds an advisory lock so that instances starting together
// migrate once. It returns the versions applied.
func Migrate(ctx context.Context, db *sqlx.DB) ([]int, error) {
	d := DialectOf(db)
	ms, err := migrations(d)
	if err != nil {
		return nil, err
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("ticket: migrate: %w", err)
	}
	defer conn.Close()
	if d == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7243001)`); err != nil {
			return nil, fmt.Errorf("ticket: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7243001)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return nil, fmt.Errorf("ticket: migrate: version table: %w", err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if err := applyMigration(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// appliedVersions lists the migrations already applied. Every missing one is applied,
// not only those above the highest, so that migrations written on parallel branches all
// land.
func appliedVersions(ctx context.Context, q sqlx.QueryerContext) (map[int]bool, error) {
	var vs []int
	if err := sqlx.SelectContext(ctx, q, &vs, `SELECT version FROM schema_migrations`); err != nil {
		return nil, fmt.Errorf("ticket: read schema versions: %w", err)
	}
	done := map[int]bool{}
	for _, v := range vs {
		done[v] = true
	}
	return done, nil
}

func applyMigration(ctx context.Context, conn *sqlx.Conn, m migration) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ticket: migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("ticket: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.version, m.name, time.Now().UTC()); err != nil {
		return fmt.Errorf("ticket: migration %s: record version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ticket: migration %s: commit: %w", m.name, err)
	}
	return nil
}

// CheckSchema returns ErrSchemaOutdated when the database lacks migrations this binary has.
func CheckSchema(ctx context.Context, db *sqlx.DB) error {
	ms, err := migrations(DialectOf(db))
	if err != nil {
		return err
	}
	done, err := appliedVersions(ctx, db)
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrSchemaOutdated, err)
	}
	for _, m := range ms {
		if !done[m.version] {
			return fmt.Errorf("%w: migration %s not applied", ErrSchemaOutdated, m.name)
		}
	}
	return nil
}
