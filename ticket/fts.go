package ticket

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ftsIndexPending indexes, on SQLite, the tickets and comments that their insert
// triggers noted in fts_pending (migration 0007), then empties the list. The writer runs
// it once per transaction, after every savepoint is released: FTS5 writes a segment at
// each savepoint, so indexing inside them cost one segment (and its merging) per message.
var ftsIndexPending = []string{
	`INSERT INTO tickets_fts (rowid, summary, description)
SELECT t.id, t.summary, t.description FROM fts_pending p JOIN tickets t ON t.id = p.id WHERE p.tbl = 'tickets'`,
	`INSERT INTO comments_fts (rowid, body)
SELECT c.id, c.body FROM fts_pending p JOIN comments c ON c.id = p.id WHERE p.tbl = 'comments'`,
	`DELETE FROM fts_pending`,
}

// ftsAnyPending tells whether fts_pending notes any row.
const ftsAnyPending = `SELECT EXISTS (SELECT 1 FROM fts_pending)`

// indexPending runs ftsIndexPending in tx (SQLite only; PostgreSQL's search needs none).
func (s *Service) indexPending(ctx context.Context, tx *sqlx.Tx) error {
	if s.dialect != SQLite {
		return nil
	}
	// Most transactions (the outbox sender's claims and marks, web changes) note
	// nothing; the DELETE, with no WHERE, would still rewrite the table's root page
	// (SQLite's truncate optimisation): a page in the WAL and a checkpoint per claim,
	// every two seconds of an idle server.
	var pending bool
	if err := tx.GetContext(ctx, &pending, ftsAnyPending); err != nil {
		return fmt.Errorf("ticket: index text search: %w", err)
	}
	if !pending {
		return nil
	}
	for _, q := range ftsIndexPending {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("ticket: index text search: %w", err)
		}
	}
	return nil
}
