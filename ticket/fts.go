package ticket

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ftsIndexPending indexes, on SQLite, the tickets and comments that their insert
// triggers noted in fts_pending (migration 0007); the writer runs it once per
// transaction, after every savepoint is released: FTS5 writes a segment at each
// savepoint, so indexing inside them cost one segment (and its merging) per message.
// Each table's statement runs only when rows of that table are noted: an FTS5 insert
// that inserts nothing still costs as much as a small one (measured: 66 µs for the
// comments of a transaction of new tickets, which have none).
var ftsIndexPending = []string{
	`INSERT INTO tickets_fts (rowid, summary, description)
SELECT t.id, t.summary, t.description FROM fts_pending p JOIN tickets t ON t.id = p.id WHERE p.tbl = 'tickets'`,
	`INSERT INTO comments_fts (rowid, body)
SELECT c.id, c.body FROM fts_pending p JOIN comments c ON c.id = p.id WHERE p.tbl = 'comments'`,
	`DELETE FROM fts_pending`,
}

// ftsPendingTables tells whether fts_pending notes tickets, and comments (its primary
// key starts with tbl: one step into the index for each).
const ftsPendingTables = `SELECT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'tickets'), EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'comments')`

// indexPending runs ftsIndexPending in tx (SQLite only; PostgreSQL's search needs none).
func (s *Service) indexPending(ctx context.Context, tx *sqlx.Tx) error {
	if s.dialect != SQLite {
		return nil
	}
	// Most transactions (the outbox sender's claims and marks, web changes) note
	// nothing; the DELETE, with no WHERE, would still rewrite the table's root page
	// (SQLite's truncate optimisation): a page in the WAL and a checkpoint per claim,
	// every two seconds of an idle server.
	var pending [2]bool
	if err := tx.QueryRowContext(ctx, ftsPendingTables).Scan(&pending[0], &pending[1]); err != nil {
		return fmt.Errorf("ticket: index text search: %w", err)
	}
	if !pending[0] && !pending[1] {
		return nil
	}
	for i, q := range ftsIndexPending {
		if i < len(pending) && !pending[i] {
			continue
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("ticket: index text search: %w", err)
		}
	}
	return nil
}
