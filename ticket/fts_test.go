package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/jmoiron/sqlx"
)

// TestTextIndexAtCommit: on SQLite the text index is written once per transaction, from
// the rows the triggers noted; rows inserted, changed, rolled back or deleted before the
// commit end up indexed with their last values or not at all, and FTS5's own integrity
// check agrees with the tables.
func TestTextIndexAtCommit(t *testing.T) {
	db := openSQLite(t)
	s := newTestService(t, db, nil)
	ctx := context.Background()
	var tid int64
	for i := range 20 {
		r := accept(t, s, testMail(fmt.Sprintf("f%d@ecole.test", i), fmt.Sprintf("Vidéoprojecteur salle %d", i), fmt.Sprintf("f%d@x", i)))
		if i == 0 {
			db.Get(&tid, db.Rebind("SELECT id FROM tickets WHERE key = ?"), r.TicketKey)
		}
	}
	var author int64
	db.Get(&author, "SELECT requester_id FROM tickets WHERE id = ?", tid)
	insert := func(ctx context.Context, tx *sqlx.Tx, body string) (int64, error) {
		var id int64
		err := tx.GetContext(ctx, &id, `INSERT INTO comments (ticket_id, author_id, body, visibility, source, created_at)
VALUES (?, ?, ?, 'public', 'web', CURRENT_TIMESTAMP) RETURNING id`, tid, author, body)
		return id, err
	}
	var kept, edited int64
	steps := []func(ctx context.Context, tx *sqlx.Tx) error{
		func(ctx context.Context, tx *sqlx.Tx) error { // rolled back with its savepoint
			insert(ctx, tx, "annulé fantôme")
			return errors.New("refused")
		},
		func(ctx context.Context, tx *sqlx.Tx) error { // inserted then changed: indexed as changed
			id, err := insert(ctx, tx, "premier jet brouillon")
			if err == nil {
				_, err = tx.ExecContext(ctx, "UPDATE comments SET body = 'version corrigée' WHERE id = ?", id)
			}
			kept = id
			return err
		},
		func(ctx context.Context, tx *sqlx.Tx) error { // inserted then deleted: never indexed
			id, err := insert(ctx, tx, "éphémère")
			if err == nil {
				_, err = tx.ExecContext(ctx, "DELETE FROM comments WHERE id = ?", id)
			}
			return err
		},
		func(ctx context.Context, tx *sqlx.Tx) error {
			id, err := insert(ctx, tx, "ancienne formulation")
			edited = id
			return err
		},
		func(ctx context.Context, tx *sqlx.Tx) error { // indexed, then changed: reindexed
			_, err := tx.ExecContext(ctx, "UPDATE comments SET body = 'nouvelle formulation' WHERE id = ?", edited)
			return err
		},
		func(ctx context.Context, tx *sqlx.Tx) error { // an indexed ticket's summary changed
			_, err := tx.ExecContext(ctx, "UPDATE tickets SET summary = 'Tableau interactif' WHERE id = ?", tid)
			return err
		},
	}
	for i, st := range steps {
		err := s.write(ctx, st)
		if (i == 0) != (err != nil) {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	match := func(table, q string) []int64 {
		var ids []int64
		if err := db.Select(&ids, fmt.Sprintf("SELECT rowid FROM %s WHERE %[1]s MATCH ? ORDER BY rowid", table), q); err != nil {
			t.Fatalf("%s MATCH %q: %v", table, q, err)
		}
		return ids
	}
	for _, c := range []struct {
		table, q string
		want     []int64
	}{
		{"comments_fts", "fantome", nil},
		{"comments_fts", "brouillon", nil},
		{"comments_fts", "corrigee", []int64{kept}},
		{"comments_fts", "ephemere", nil},
		{"comments_fts", "ancienne", nil},
		{"comments_fts", "nouvelle", []int64{edited}},
		{"tickets_fts", "tableau", []int64{tid}},
	} {
		if got := match(c.table, c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s %q: %v, want %v", c.table, c.q, got, c.want)
		}
	}
	if n := len(match("tickets_fts", "videoprojecteur")); n != 19 {
		t.Errorf("%d tickets found by their first summary, want 19", n)
	}
	var pending int
	db.Get(&pending, "SELECT COUNT(*) FROM fts_pending")
	if pending != 0 {
		t.Errorf("%d rows still waiting to be indexed after the commits", pending)
	}
	for _, tbl := range []string{"tickets_fts", "comments_fts"} {
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO %s (%[1]s, rank) VALUES ('integrity-check', 1)", tbl)); err != nil {
			t.Errorf("%s integrity check: %v", tbl, err)
		}
	}
}
