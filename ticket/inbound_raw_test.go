package ticket

import (
	"bytes"
	"context"
	"testing"

	"github.com/jmoiron/sqlx"
)

// TestInboundRawMigration: a database whose messages were stored in inbound.raw (before
// migration 22) keeps them readable after it, from inbound_raw; a message in the blob
// store and an empty (purged) one get no row there.
func TestInboundRawMigration(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			migrateBelow(t, db, 22)
			raw := []byte("From: a@ecole.test\r\nSubject: avant\r\n\r\nCorps \x00\xff\r\n")
			ins := db.Rebind(`INSERT INTO inbound (dedup_key, channel, size, raw, raw_blob, state, received_at) VALUES (?, 'smtp', ?, ?, ?, 'processed', CURRENT_TIMESTAMP)`)
			for _, r := range []struct {
				key  string
				raw  []byte
				blob string
			}{{"kept", raw, ""}, {"big", []byte{}, "abcd"}, {"purged", []byte{}, ""}} {
				if _, err := db.Exec(ins, r.key, len(r.raw), r.raw, r.blob); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			s := newTestService(t, db, nil)
			var kept int64
			if err := db.Get(&kept, db.Rebind("SELECT id FROM inbound WHERE dedup_key = ?"), "kept"); err != nil {
				t.Fatal(err)
			}
			got, err := s.InboundRaw(ctx, kept)
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("after the migration: %q, %v; want %q", got, err, raw)
			}
			var rows int
			if err := db.Get(&rows, "SELECT COUNT(*) FROM inbound_raw"); err != nil || rows != 1 {
				t.Fatalf("inbound_raw holds %d rows (%v), want 1", rows, err)
			}
		})
	}
}

// migrateBelow applies the migrations before version to a new database, as an older
// Guichet left it.
func migrateBelow(t *testing.T, db *sqlx.DB, version int) {
	t.Helper()
	ctx := context.Background()
	ms, err := migrations(DialectOf(db))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version < version {
			if err := applyMigration(ctx, conn, m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestInboundRowChangesLeaveRaw: processing a stored message changes its inbound row,
// never its bytes, which are in inbound_raw alone.
func TestInboundRowChangesLeaveRaw(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, open(t), nil)
			d := testMail("jeanne@ecole.test", "Imprimante", "raw1@ecole.test")
			r, err := s.Accept(ctx, d)
			if err != nil || r.State != "processed" {
				t.Fatalf("accept: %+v %v", r, err)
			}
			var back []byte
			if err := s.db.Get(&back, s.db.Rebind("SELECT raw FROM inbound_raw WHERE id = ?"), r.InboundID); err != nil || !bytes.Equal(back, d.Raw) {
				t.Fatalf("inbound_raw: %q %v, want %q", back, err, d.Raw)
			}
			got, err := s.InboundRaw(ctx, r.InboundID)
			if err != nil || !bytes.Equal(got, d.Raw) {
				t.Fatalf("InboundRaw: %q %v", got, err)
			}
		})
	}
}
