package ticket

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// defaultTextWindow is how many rows of the list, in its order, a text search first looks
// at (at least; 20 pages when pages are longer).
const defaultTextWindow = 2000

// textSearch is the text part of a list query. A ticket matches when its summary and
// description have every word (each as a prefix), when one of its comments the user may
// read has them, or when its key is the text.
//
// How the matches are found depends on how many there are, which nobody knows
// beforehand (see searchText):
//   - a window: the first rows of the list in its order (a few thousand, from the order
//     index), and the matches among them. A common word fills the page there, and a
//     customer's own tickets are usually all in it. On PostgreSQL each row's stored
//     vector is checked; on SQLite the full-text index is read once and its rows kept
//     when they are in the window (one probe of FTS5 per row costs milliseconds, as a
//     prefix query merges its whole list each time).
//   - the set: every match, from the full-text indexes, then their page in the list's
//     order and their count, in one query. The way for a rare word; building it for a
//     common one is what cost a second at a million tickets.
type textSearch struct {
	query string // full-text query: "a:* & b:*" (PostgreSQL) or `"a"* "b"*` (FTS5)
	// whole is the query of the words as whole words ("a & b", `"a" "b"`): what it
	// matches, query matches too, and it is found several times faster (a GIN index
	// merges the lists of every lexeme of a prefix; FTS5 merges them before the first
	// row, where a whole word's list is read as far as needed).
	whole string
	key   string // the text as a ticket key
	staff bool   // internal comments count
	// cquery is query for the comments' index (SQLite): expand may turn a prefix into
	// other terms there than in the tickets' index.
	cquery string
	words  []string
}

func (s *Service) newTextSearch(words []string, key string, staff bool) *textSearch {
	terms := make([]string, len(words))
	for i, x := range words {
		if s.dialect == Postgres {
			terms[i] = x + ":*"
		} else {
			terms[i] = `"` + x + `"*`
		}
	}
	if s.dialect == Postgres {
		return &textSearch{query: strings.Join(terms, " & "), whole: strings.Join(words, " & "), key: key, staff: staff, words: words}
	}
	whole := make([]string, len(words))
	for i, x := range words {
		whole[i] = `"` + x + `"`
	}
	q := strings.Join(terms, " ")
	return &textSearch{query: q, cquery: q, whole: strings.Join(whole, " "), key: key, staff: staff, words: words}
}

// maxPrefixTerms: expand turns the prefix of a word into the terms that begin with it when
// there are at most this many.
const maxPrefixTerms = 16

// prefixTermsSQL lists the terms of a full-text index (its fts5vocab table, %s) that begin
// with the first argument, a word of ASCII letters and digits of the second's length, at
// most the third argument + 1 of them: one seek each, from one term to the next ("||
// char(1)": no term holds a control character, and fts5vocab reads "term > x" from x on).
const prefixTermsSQL = `WITH RECURSIVE n(term, i) AS (SELECT (SELECT term FROM %[1]s WHERE term >= ?1 LIMIT 1), 1
  UNION ALL SELECT (SELECT term FROM %[1]s WHERE term >= n.term || char(1) LIMIT 1), i + 1 FROM n
    WHERE n.term IS NOT NULL AND substr(n.term, 1, ?2) = ?1 AND i <= ?3)
SELECT term FROM n WHERE term IS NOT NULL AND substr(term, 1, ?2) = ?1`

// expand (SQLite) writes each word of ts as the terms of the full-text index that begin
// with it, when they are few: "salle" OR "salles" rather than "salle"*. FTS5 merges the
// whole lists of a prefix's terms before it gives its first row (30-60 ms for a word in
// every ticket of a million), where it reads a term's list from the first id asked for
// on, and only as far as needed. Only words of ASCII letters and digits, which the
// tokenizer keeps as they are, and terms of them: the query's words and the index's
// terms are then the same bytes.
func (s *Service) expand(ctx context.Context, ts *textSearch) error {
	if s.dialect != SQLite {
		return nil
	}
	for _, target := range []struct {
		table string
		query *string
	}{{"tickets_fts_terms", &ts.query}, {"comments_fts_terms", &ts.cquery}} {
		groups := make([]string, len(ts.words))
		whole := true // every word is its only term, or none: the words as whole words
		for i, word := range ts.words {
			groups[i] = `"` + word + `"*`
			if !plainWord(word) {
				whole = false
				continue
			}
			var terms []string
			if err := s.db.SelectContext(ctx, &terms, fmt.Sprintf(prefixTermsSQL, target.table), word, len(word), maxPrefixTerms); err != nil {
				return fmt.Errorf("ticket: terms beginning with %q: %w", word, err)
			}
			if len(terms) > maxPrefixTerms || slices.ContainsFunc(terms, func(t string) bool { return !plainWord(t) }) {
				whole = false
				continue
			}
			switch {
			case len(terms) == 0 || len(terms) == 1 && terms[0] == word:
				groups[i] = `"` + word + `"` // the word alone, or not in the index: nothing matches
			case len(terms) == 1:
				groups[i], whole = `"`+terms[0]+`"`, false
			default:
				groups[i], whole = `("`+strings.Join(terms, `" OR "`)+`")`, false
			}
		}
		if whole {
			*target.query = ts.whole
		} else {
			// FTS5 reads "a b" as a AND b between phrases only, not before a group.
			*target.query = strings.Join(groups, " AND ")
		}
	}
	return nil
}

// plainWord: w is of ASCII lower-case letters and digits only.
func plainWord(w string) bool {
	for _, r := range w {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return w != ""
}

// visibility is the condition on comments c that the user may read.
func (ts *textSearch) visibility() string {
	if ts.staff {
		return ""
	}
	return " AND c.visibility = 'public'"
}

// setWhere is w and "t is in the set of matches".
func (s *Service) setWhere(w *where, ts *textSearch) *where {
	out := &where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
	vis := ts.visibility()
	if s.dialect == Postgres {
		// An array, not IN: the planner, which cannot estimate a prefix query (it says
		// 2 % of the rows whatever the word), then looks the matches up by id rather
		// than hashing them against the whole table.
		out.add(`t.id = ANY (ARRAY(SELECT id FROM tickets WHERE search @@ to_tsquery('french', ?)
  UNION SELECT c.ticket_id FROM comments c WHERE c.search @@ to_tsquery('french', ?)`+vis+`
  UNION SELECT id FROM tickets WHERE key = ?))`, ts.query, ts.query, ts.key)
		return out
	}
	out.add(`t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?
  UNION SELECT c.ticket_id FROM comments c WHERE c.id IN (SELECT rowid FROM comments_fts WHERE comments_fts MATCH ?)`+vis+`
  UNION SELECT id FROM tickets WHERE key = ?)`, ts.query, ts.cquery, ts.key)
	return out
}

// window is what windowProbe found: seen rows of the list after the cursor (all of them
// when fewer than the window's size), matched of them matching, and the ids of the
// first matches in the list's order (at most the limit asked for).
type window struct {
	seen, matched int
	ids           []int64
}

// windowProbe looks for the matches of ts among the first size rows of the list w
// selects, after cur, in the list's order (backwards for a backward cursor).
func (s *Service) windowProbe(ctx context.Context, w *where, ts *textSearch, cur *cursor, size, limit int) (window, error) {
	cond, args := w.sql(), slices.Clone(w.args)
	order := "DESC"
	if cur != nil {
		c, a, o := cursorCond(cur)
		cond += c
		args = append(args, a...)
		order = o
	}
	args = append(args, size)
	vis := ts.visibility()
	var q string
	if s.dialect == Postgres {
		q = `WITH w AS MATERIALIZED (SELECT t.id, t.updated_at, t.key, t.search FROM tickets t WHERE ` + cond + `
  ORDER BY t.updated_at ` + order + `, t.id ` + order + ` LIMIT ?),
m AS MATERIALIZED (SELECT w.id FROM w WHERE w.search @@ to_tsquery('french', ?) OR w.key = ?
  UNION SELECT c.ticket_id FROM comments c WHERE c.ticket_id IN (SELECT id FROM w) AND c.search @@ to_tsquery('french', ?)` + vis + `)`
		args = append(args, ts.query, ts.key, ts.query)
	} else {
		// "+rowid IN": the window filters what the full-text index returns; as a
		// constraint of the virtual table, each of its ids would be a full-text query of
		// its own (a prefix query merges its whole list each time: milliseconds). The
		// lower bound is one: FTS5 starts there, and skips the older rows. The window
		// comes from the order index alone (the key is looked up by its own).
		q = `WITH w AS MATERIALIZED (SELECT t.id, t.updated_at FROM tickets t WHERE ` + cond + `
  ORDER BY t.updated_at ` + order + `, t.id ` + order + ` LIMIT ?),
wc AS MATERIALIZED (SELECT c.id FROM comments c WHERE c.ticket_id IN (SELECT id FROM w)),
m AS MATERIALIZED (SELECT rowid AS id FROM tickets_fts WHERE tickets_fts MATCH ?
    AND rowid >= (SELECT MIN(id) FROM w) AND +rowid IN (SELECT id FROM w)
  UNION SELECT c.ticket_id FROM comments c WHERE c.id IN (SELECT rowid FROM comments_fts WHERE comments_fts MATCH ?
    AND rowid >= (SELECT MIN(id) FROM wc) AND +rowid IN (SELECT id FROM wc))` + vis + `
  UNION SELECT id FROM tickets WHERE key = ? AND id IN (SELECT id FROM w))`
		args = append(args, ts.query, ts.cquery, ts.key)
	}
	q += `
SELECT x.seen, x.matched, p.id FROM (SELECT (SELECT COUNT(*) FROM w) AS seen, (SELECT COUNT(*) FROM m) AS matched) x
LEFT JOIN (SELECT w.id FROM w WHERE w.id IN (SELECT id FROM m) ORDER BY w.updated_at ` + order + `, w.id ` + order + ` LIMIT ?) p ON 1 = 1`
	args = append(args, limit)
	var out []struct {
		Seen    int           `db:"seen"`
		Matched int           `db:"matched"`
		ID      sql.NullInt64 `db:"id"`
	}
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return window{}, fmt.Errorf("ticket: search the list's first rows: %w", err)
	}
	var win window
	for _, r := range out {
		win.seen, win.matched = r.Seen, r.Matched
		if r.ID.Valid {
			win.ids = append(win.ids, r.ID.Int64)
		}
	}
	return win, nil
}

// mergeDensity: ownCount merges the list of w's first condition with the full-text index
// (see there) when at least one ticket in mergeDensity of the window's matches the text.
const mergeDensity = 16

// ownCount counts, up to limit, the tickets of w whose own text matches query (comments
// and key left out): when that reaches the limit, so does the count of the matches.
func (s *Service) ownCount(ctx context.Context, w *where, query string, limit int, merge bool) (int, error) {
	q, args := s.ownIDsSQL(w, query, limit, merge)
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM (`+q+`) c`), args...); err != nil {
		return 0, fmt.Errorf("ticket: count text matches: %w", err)
	}
	return n, nil
}

// ownIDs is ownCount's list: the ids of the tickets counted (SQLite).
func (s *Service) ownIDs(ctx context.Context, w *where, query string, limit int, merge bool) ([]int64, error) {
	q, args := s.ownIDsSQL(w, query, limit, merge)
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("ticket: list text matches: %w", err)
	}
	return ids, nil
}

// ownIDsSQL is the query of the ids of at most limit tickets of w whose own text matches
// query, and its arguments.
//
// On SQLite the full-text index drives, each of its rows looked up in tickets for w's
// conditions: a microsecond each, 50 ms for a common word filtered by a status at a
// million tickets (50,000 rows read for 10,000 found), 0.5 s for an agent's own tickets
// (143,000 rows read for 9,500). When each of w's conditions has its list of ids in id
// order (where.lists) and merge is set, the first list and the full-text index's, both
// in id order, are merged instead (INTERSECT with ORDER BY, a MERGE in the plan), no row
// looked up but those of the merge when w has other conditions: 10-25 ms there. The
// merge reads the list from the newest id down to the last match counted, all of it when
// the text matches few (tens of ms for a million): the caller sets merge when the
// window, the newest rows of the list, found the text in many of its rows. Newest
// first, as the window: a word of the last weeks in a status of years is counted
// without reading the years.
func (s *Service) ownIDsSQL(w *where, query string, limit int, merge bool) (q string, args []any) {
	switch {
	case s.dialect == Postgres:
		q = `SELECT t.id FROM tickets t WHERE ` + w.sql() + ` AND t.search @@ to_tsquery('french', ?) LIMIT ?`
		args = append(slices.Clone(w.args), query, limit)
	case len(w.conds) == 0:
		q = `SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ? LIMIT ?`
		args = []any{query, limit}
	case merge && len(w.lists) == 1:
		l := w.lists[0]
		q = l.sql + `
  INTERSECT SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ? ORDER BY 1 DESC LIMIT ?`
		args = append(slices.Clone(l.args), query, limit)
	case merge && len(w.lists) > 1:
		// Merging three lists or more costs what it reads of each (a type's is a
		// quarter of the tickets): the first, the shortest, is merged, and the
		// tickets it gives are sought in the indexes of the other lists, in id order
		// (their pages come again one after the other; looking each ticket up in the
		// table cost half as much again). "LIMIT -1" (none) keeps the merge's order,
		// which SQLite drops from a subquery without a limit.
		l := w.lists[0]
		cond, condArgs := checks(w.lists[1:], "m.id")
		q = `SELECT m.id FROM (` + l.sql + `
  INTERSECT SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ? ORDER BY 1 DESC LIMIT -1) m
  WHERE ` + cond + ` LIMIT ?`
		args = append(append(append(slices.Clone(l.args), query), condArgs...), limit)
	default:
		// The full-text index drives, each of its rows looked up in tickets.
		q = `SELECT f.rowid FROM tickets_fts f CROSS JOIN tickets t ON t.id = f.rowid
  WHERE f.tickets_fts MATCH ? AND ` + w.sql() + ` LIMIT ?`
		args = append(append([]any{query}, w.args...), limit)
	}
	return q, args
}

// commentCount counts, up to limit, the tickets of w with a comment the user may read
// that matches query: when that reaches the limit, so does the count of the matches. The
// comments come from the full-text index; DISTINCT keeps the first of each ticket as they
// come, so the count stops at the limit.
func (s *Service) commentCount(ctx context.Context, w *where, ts *textSearch, query string, limit int, merge bool) (int, error) {
	q, args := s.commentIDsSQL(w, ts, query, limit, merge)
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM (`+q+`) x`), args...); err != nil {
		return 0, fmt.Errorf("ticket: count comment matches: %w", err)
	}
	return n, nil
}

// commentIDs is commentCount's list: the ids of the tickets counted.
func (s *Service) commentIDs(ctx context.Context, w *where, ts *textSearch, query string, limit int, merge bool) ([]int64, error) {
	q, args := s.commentIDsSQL(w, ts, query, limit, merge)
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("ticket: list comment matches: %w", err)
	}
	return ids, nil
}

// commentIDsSQL is commentIDs' query and its arguments. On SQLite, when merge is set
// (the text is in many of the window's rows) and w's conditions have their lists of ids
// (where.lists), the first list is read once into a temporary index that each comment's
// ticket is checked against, where a ticket looked up for each comment cost 100-150 ms
// for an agent's own tickets with a word in every comment at a million tickets (30,000
// comments read for 10,000 tickets found); the other lists are sought for the comments it
// keeps.
func (s *Service) commentIDsSQL(w *where, ts *textSearch, query string, limit int, merge bool) (string, []any) {
	join, cond, args := "", "", []any{query}
	if len(w.conds) > 0 {
		join, cond = " JOIN tickets t ON t.id = c.ticket_id", " AND "+w.sql()
		args = append(args, w.args...)
	}
	if s.dialect == Postgres {
		q := `SELECT DISTINCT c.ticket_id FROM comments c` + join + `
  WHERE c.search @@ to_tsquery('french', ?)` + ts.visibility() + cond + ` LIMIT ?`
		return q, append(args, limit)
	}
	if merge && len(w.lists) > 0 {
		l := w.lists[0]
		join, cond, args = "", " AND c.ticket_id IN ("+l.sql+")", append([]any{query}, l.args...)
		if len(w.lists) > 1 {
			more, moreArgs := checks(w.lists[1:], "c.ticket_id")
			cond += " AND " + more
			args = append(args, moreArgs...)
		}
	}
	q := `SELECT DISTINCT c.ticket_id FROM comments_fts f CROSS JOIN comments c ON c.id = f.rowid` + join + `
  WHERE f.comments_fts MATCH ?` + ts.visibility() + cond + ` LIMIT ?`
	return q, append(args, limit)
}

// unionCount counts, up to limit, the tickets of w that match ts (SQLite): those whose own
// text matches, those with a comment that does, and the key, each list of ids found
// apart (the two first counted up to the limit already, ownCount and commentCount, so
// short) and merged here. The set of every match (setWhere) would be built from the
// whole of the full-text indexes, not only the tickets of w: 0.5-2 s for an agent's own
// tickets with a word in 9,500 of them at a million tickets.
func (s *Service) unionCount(ctx context.Context, w *where, ts *textSearch, limit int, merge bool) (int, error) {
	own, err := s.ownIDs(ctx, w, ts.query, limit, merge)
	if err != nil || len(own) >= limit {
		return len(own), err
	}
	comments, err := s.commentIDs(ctx, w, ts, ts.cquery, limit, merge)
	if err != nil || len(comments) >= limit {
		return len(comments), err
	}
	var key []int64
	if err := s.db.SelectContext(ctx, &key, s.db.Rebind(`SELECT t.id FROM tickets t WHERE t.key = ? AND `+w.sql()),
		append([]any{ts.key}, w.args...)...); err != nil {
		return 0, fmt.Errorf("ticket: find the key: %w", err)
	}
	seen := make(map[int64]bool, len(own)+len(comments)+len(key))
	for _, ids := range [][]int64{own, comments, key} {
		for _, id := range ids {
			seen[id] = true
		}
	}
	return min(len(seen), limit), nil
}

// searchText finds one page (limit rows, after cur) of the tickets of w that match ts,
// and their count up to the cap (cap+1 meaning "more"): the page from the window when
// the window holds it, else from the set; the count from the window when it saw the
// whole list, else "more" when the tickets' own text, or their comments, already match
// more than the cap (the words as whole words first), else from the set (PostgreSQL) or
// the union of the lists of ids (SQLite, unionCount). On SQLite the words are first
// turned into the terms that begin with them when they are few (expand).
func (s *Service) searchText(ctx context.Context, w *where, ts *textSearch, cur *cursor, limit int) ([]ListRow, int, error) {
	size := max(s.textWindow, 20*limit)
	if err := s.expand(ctx, ts); err != nil {
		return nil, 0, err
	}
	win, err := s.windowProbe(ctx, w, ts, cur, size, limit)
	if err != nil {
		return nil, 0, err
	}
	inWindow := len(win.ids) == limit || win.seen < size
	total := -1
	if !inWindow {
		// A rare word: the set of every match gives the page and the count at once.
		if win, err = s.setProbe(ctx, w, ts, cur, limit); err != nil {
			return nil, 0, err
		}
		total = win.matched
	}
	var rows []ListRow
	if len(win.ids) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(win.ids)), ", ")
		ids := &where{conds: []string{"t.id IN (" + marks + ")"}}
		for _, id := range win.ids {
			ids.args = append(ids.args, id)
		}
		if rows, err = s.searchRows(ctx, ids, cur, limit); err != nil {
			return nil, 0, err
		}
	}
	if total >= 0 {
		return rows, total, nil
	}
	if cur == nil && len(rows) < limit {
		return rows, len(rows), nil // the first page ends the list: there is nothing to count
	}
	capped := s.opt.ListCountCap + 1
	whole := win
	if cur != nil {
		whole.seen = size // after a cursor, the window says nothing of the whole list
		if win.seen < size {
			// The rest of the list is short: the list may be too.
			if whole, err = s.windowProbe(ctx, w, ts, nil, size, 0); err != nil {
				return nil, 0, err
			}
		}
	}
	if whole.seen < size {
		return rows, whole.matched, nil
	}
	merge := whole.matched*mergeDensity >= whole.seen
	if s.dialect == SQLite {
		// The words as whole words first when a prefix is left (its list is merged
		// whole before its first row), then every match, own text, comments and key.
		counts := []func() (int, error){func() (int, error) { return s.unionCount(ctx, w, ts, capped, merge) }}
		if ts.cquery != ts.whole {
			counts = append([]func() (int, error){func() (int, error) { return s.commentCount(ctx, w, ts, ts.whole, capped, merge) }}, counts...)
		}
		if ts.query != ts.whole {
			counts = append([]func() (int, error){func() (int, error) { return s.ownCount(ctx, w, ts.whole, capped, merge) }}, counts...)
		}
		for _, count := range counts {
			n, err := count()
			if err != nil || n >= capped {
				return rows, n, err
			}
			total = n
		}
		return rows, total, nil
	}
	counts := []func(query string) (int, error){
		func(query string) (int, error) { return s.ownCount(ctx, w, query, capped, merge) },
		func(query string) (int, error) { return s.commentCount(ctx, w, ts, query, capped, merge) },
	}
	for _, count := range counts {
		for _, query := range []string{ts.whole, ts.query} {
			n, err := count(query)
			if err != nil || n >= capped {
				return rows, n, err
			}
		}
	}
	total, err = s.countCapped(ctx, s.setWhere(w, ts))
	return rows, total, err
}

// setProbe finds every match of ts in the list w selects (as the set of matches) and
// returns their number and the ids of the first ones after cur (at most limit).
func (s *Service) setProbe(ctx context.Context, w *where, ts *textSearch, cur *cursor, limit int) (window, error) {
	set := s.setWhere(w, ts)
	args := slices.Clone(set.args)
	after, order := "", "DESC"
	if cur != nil {
		c, a, o := cursorCond(cur)
		after, order = c, o
		args = append(args, a...)
	}
	args = append(args, limit)
	q := `WITH s AS MATERIALIZED (SELECT t.id, t.updated_at FROM tickets t WHERE ` + set.sql() + `)
SELECT x.matched, p.id FROM (SELECT COUNT(*) AS matched FROM s) x
LEFT JOIN (SELECT t.id FROM s t WHERE 1 = 1` + after + ` ORDER BY t.updated_at ` + order + `, t.id ` + order + ` LIMIT ?) p ON 1 = 1`
	var out []struct {
		Matched int           `db:"matched"`
		ID      sql.NullInt64 `db:"id"`
	}
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return window{}, fmt.Errorf("ticket: search the matches: %w", err)
	}
	var win window
	for _, r := range out {
		win.matched = r.Matched
		if r.ID.Valid {
			win.ids = append(win.ids, r.ID.Int64)
		}
	}
	return win, nil
}
