package ticket

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// Words of the random tickets and comments: textVocab's in a good part of them, those of
// textRare in a few, and "merci" in every comment.
var (
	textVocab = []string{"imprimante", "imprimer", "wifi", "wifi", "wifi", "réseau", "élève", "compte",
		"bloqué", "salle", "vidéoprojecteur", "panne", "mot", "passe", "ent"}
	textRare = []string{"zorglub", "quasar", "nébuleuse", "zorro"}
)

// seedText fills s's database with random users, tickets (updated_at with ties, and old
// tickets bumped to the top), comments public and internal, and participants, through
// SQL like BenchmarkSearch's data set. It returns the agents and the customers.
func seedText(t testing.TB, s *Service, r *rand.Rand, tickets int) (agents, customers []User) {
	t.Helper()
	ctx := context.Background()
	db := s.db
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	uais := []string{"0690026D", "0690027E", "0690028F"}
	for i := range 2 {
		exec(`INSERT INTO users (id, email, name, role, created_at) VALUES (?, ?, ?, 'agent', ?)`,
			100+i, fmt.Sprintf("agent%d@support.test", i), fmt.Sprint("Agent ", i), base)
	}
	for i := range 12 {
		uai := uais[i%3]
		if i%5 == 4 {
			uai = "" // no establishment
		}
		exec(`INSERT INTO users (id, email, name, role, uai, created_at) VALUES (?, ?, ?, 'customer', ?, ?)`,
			200+i, fmt.Sprintf("client%d@ecole.test", i), fmt.Sprint("Client ", i), uai, base)
	}
	words := func(n int) string {
		var ws []string
		for range n {
			if r.IntN(40) == 0 {
				ws = append(ws, textRare[r.IntN(len(textRare))])
			} else {
				ws = append(ws, textVocab[r.IntN(len(textVocab))])
			}
		}
		return strings.Join(ws, " ")
	}
	at := base
	var updated []time.Time
	for i := 1; i <= tickets; i++ {
		if r.IntN(4) > 0 { // a quarter share the previous updated_at: the id breaks ties
			at = at.Add(time.Duration(1+r.IntN(90)) * time.Second)
		}
		requester := 200 + r.IntN(12)
		var assignee any
		if r.IntN(3) > 0 {
			assignee = 100 + r.IntN(2)
		}
		uai := uais[r.IntN(3)]
		if r.IntN(6) == 0 {
			uai = ""
		}
		summary := words(1 + r.IntN(3))
		if r.IntN(3) == 0 {
			summary = "Imprimante " + summary // a common word
		}
		exec(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, assignee_id, uai,
  request_type, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'email', ?, ?)`,
			i, fmt.Sprintf("AURAN1-%d", i), s.desk.ID, i, summary, words(r.IntN(5)),
			[]string{"new", "in_progress", "waiting", "waiting_user", "closed"}[r.IntN(5)],
			requester, assignee, uai, []string{"Incident", "Demande", ""}[r.IntN(3)], at, at)
		updated = append(updated, at)
		if r.IntN(6) == 0 {
			exec(`INSERT INTO participants (ticket_id, user_id, added_at) VALUES (?, ?, ?)`, i, 200+(requester-200+1+r.IntN(11))%12, at)
		}
	}
	// Comments, some of them later than every ticket: old tickets come back to the top.
	for range tickets / 2 {
		id := 1 + r.IntN(tickets)
		when := updated[id-1].Add(time.Second)
		if r.IntN(3) == 0 {
			at = at.Add(time.Duration(r.IntN(60)) * time.Second)
			when = at
		}
		vis := "public"
		if r.IntN(3) == 0 {
			vis = "internal"
		}
		body := words(1+r.IntN(4)) + " merci"
		if vis == "internal" || r.IntN(10) == 0 {
			body += " toner" // in every internal note, in few public comments
		}
		exec(`INSERT INTO comments (ticket_id, author_id, body, visibility, source, created_at) VALUES (?, ?, ?, ?, 'web', ?)`,
			id, 100, body, vis, when)
		exec(`UPDATE tickets SET updated_at = ? WHERE id = ? AND updated_at < ?`, when, id, when)
	}
	if s.dialect == SQLite {
		for _, q := range ftsIndexPending {
			exec(q)
		}
	}
	for i := range 2 {
		u, err := s.userByID(ctx, db, int64(100+i))
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, u)
	}
	for i := range 12 {
		u, err := s.userByID(ctx, db, int64(200+i))
		if err != nil {
			t.Fatal(err)
		}
		customers = append(customers, u)
	}
	return agents, customers
}

// referenceSearch is the list the way it was first written, and the simplest: the rules
// of access written out, every match of the text as one set from the full-text indexes,
// everything sorted. It returns the keys in the list's order.
func referenceSearch(t testing.TB, db *sqlx.DB, d Dialect, u User, f Filter) []string {
	t.Helper()
	var conds []string
	var args []any
	staff := u.Role.IsStaff()
	customer := func() {
		c := "(t.requester_id = ? OR EXISTS (SELECT 1 FROM participants p WHERE p.ticket_id = t.id AND p.user_id = ?)"
		args = append(args, u.ID, u.ID)
		if u.UAI != "" {
			c += " OR t.uai = ?"
			args = append(args, u.UAI)
		}
		conds = append(conds, c+")")
	}
	switch f.Scope {
	case "", ScopeAll:
		if !staff {
			customer()
		}
	case ScopeMine:
		conds, args = append(conds, "t.requester_id = ?"), append(args, u.ID)
	case ScopeParticipant:
		conds, args = append(conds, "EXISTS (SELECT 1 FROM participants p WHERE p.ticket_id = t.id AND p.user_id = ?)"), append(args, u.ID)
	case ScopeEstablishment:
		conds, args = append(conds, "t.uai = ? AND t.uai <> ''"), append(args, u.UAI)
	case ScopeAssigned:
		conds, args = append(conds, "t.assignee_id = ?"), append(args, u.ID)
	case ScopeUnassigned:
		conds = append(conds, "t.assignee_id IS NULL")
	}
	if len(f.Status) > 0 {
		var sts []string
		for _, st := range f.Status {
			sts = append(sts, "'"+string(st)+"'")
		}
		conds = append(conds, "t.status IN ("+strings.Join(sts, ", ")+")")
	}
	if f.Type != "" {
		conds, args = append(conds, "t.request_type = ?"), append(args, f.Type)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		words := searchWords(q)
		key := strings.ToUpper(q)
		vis := ""
		if !staff {
			vis = " AND c.visibility = 'public'"
		}
		switch {
		case len(words) == 0:
			conds, args = append(conds, "t.key = ?"), append(args, key)
		case d == Postgres:
			var tq []string
			for _, w := range words {
				tq = append(tq, w+":*")
			}
			query := strings.Join(tq, " & ")
			conds = append(conds, `(to_tsvector('french', t.summary || ' ' || t.description) @@ to_tsquery('french', ?)
  OR EXISTS (SELECT 1 FROM comments c WHERE c.ticket_id = t.id AND to_tsvector('french', c.body) @@ to_tsquery('french', ?)`+vis+`)
  OR t.key = ?)`)
			args = append(args, query, query, key)
		default:
			var fq []string
			for _, w := range words {
				fq = append(fq, `"`+w+`"*`)
			}
			query := strings.Join(fq, " ")
			conds = append(conds, `(t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)
  OR t.id IN (SELECT c.ticket_id FROM comments c WHERE c.id IN (SELECT rowid FROM comments_fts WHERE comments_fts MATCH ?)`+vis+`)
  OR t.key = ?)`)
			args = append(args, query, query, key)
		}
	}
	where := "1 = 1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	var keys []string
	q := "SELECT t.key FROM tickets t WHERE " + where + " ORDER BY t.updated_at DESC, t.id DESC"
	if err := db.Select(&keys, db.Rebind(q), args...); err != nil {
		t.Fatalf("reference: %v\n%s", err, q)
	}
	return keys
}

// randomFilter draws a filter for u: scopes, statuses, types, words, prefixes, keys.
func randomFilter(r *rand.Rand, u User) Filter {
	var f Filter
	scopes := []string{"", "", ScopeAll, ScopeMine, ScopeParticipant, ScopeEstablishment}
	if u.Role.IsStaff() {
		scopes = append(scopes, ScopeAssigned, ScopeUnassigned, "", "")
	}
	f.Scope = scopes[r.IntN(len(scopes))]
	if r.IntN(4) == 0 {
		for _, st := range []Status{StatusNew, StatusInProgress, StatusWaiting, StatusWaitingUser, StatusClosed} {
			if r.IntN(2) == 0 {
				f.Status = append(f.Status, st)
			}
		}
	}
	if r.IntN(6) == 0 {
		f.Type = []string{"Incident", "Demande"}[r.IntN(2)]
	}
	switch r.IntN(10) {
	case 8, 9:
		f.Q = textRare[r.IntN(len(textRare))]
	case 0:
		f.Q = fmt.Sprintf("auran1-%d", 1+r.IntN(300))
	case 1:
		f.Q = "merci" // in every comment
	case 2:
		f.Q = "imprim" // a prefix of the common word
	case 3:
		w := textVocab[r.IntN(len(textVocab))]
		f.Q = w[:1+r.IntN(len(w))] + " " + textVocab[r.IntN(len(textVocab))]
	default:
		f.Q = textVocab[r.IntN(len(textVocab))]
	}
	f.Limit = 1 + r.IntN(6)
	return f
}

// TestSearchTextPlans: whatever way a text search takes (the window filled, the window
// holding the whole list, the set; the count from the window, from the tickets' own text
// or from the set), its pages, their order, their cursors and the count are those of the
// reference query, for agents and for customers, who see only their own tickets, those
// they take part in and those of their establishment.
func TestSearchTextPlans(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, open(t), nil)
			r := rand.New(rand.NewPCG(14, 2026))
			agents, customers := seedText(t, s, r, 300)
			users := append(slices.Clone(agents), customers...)
			for i := range 120 {
				u := users[r.IntN(len(users))]
				f := randomFilter(r, u)
				s.textWindow = []int{1, 50, 100, defaultTextWindow}[r.IntN(4)]
				s.opt.ListCountCap = []int{2, 7, 40, 10000}[r.IntN(4)]
				want := referenceSearch(t, s.db, s.dialect, u, f)
				what := fmt.Sprintf("case %d: user %d (%s) %+v window %d cap %d", i, u.ID, u.Role, f, s.textWindow, s.opt.ListCountCap)
				checkPages(t, s, u, f, want, what)
			}
			// An agent's status filter alone with a word in many of its tickets: the count
			// of their own text merges the statuses' ids with the full-text index
			// (ownCount), capped or not, for one status or several.
			for _, sts := range [][]Status{{StatusWaiting}, {StatusNew, StatusClosed}, {StatusClosed, StatusInProgress, StatusClosed}} {
				for _, q := range []string{"imprimante", "imprim", "wifi", "wifi imprim", "zorglub"} {
					for _, c := range []struct{ window, limit, cap int }{{10, 1, 2}, {10, 2, 7}, {20, 3, 40}, {50, 5, 10000}} {
						s.textWindow, s.opt.ListCountCap = c.window, c.cap
						f := Filter{Status: sts, Q: q, Limit: c.limit}
						checkPages(t, s, agents[0], f, referenceSearch(t, s.db, s.dialect, agents[0], f), fmt.Sprintf("%+v %+v", f, c))
					}
				}
			}
			// A word of the internal notes is not a customer's: neither its pages nor
			// its count.
			for _, u := range customers {
				for _, c := range []struct{ window, limit, cap int }{{1, 1, 2}, {1, 1, 7}, {1, 2, 7}, {1, 1, 40}} {
					s.textWindow, s.opt.ListCountCap = c.window, c.cap
					f := Filter{Q: "toner", Limit: c.limit}
					checkPages(t, s, u, f, referenceSearch(t, s.db, s.dialect, u, f), fmt.Sprintf("user %d %+v", u.ID, c))
				}
			}
			// Customers never see another's ticket, whatever they search.
			for _, u := range customers {
				for _, q := range []string{"merci", "imprimante", "wifi", "auran1-7"} {
					s.textWindow = defaultTextWindow
					p, err := s.Search(ctx, u, Filter{Q: q, Limit: 100})
					if err != nil {
						t.Fatal(err)
					}
					for _, row := range p.Items {
						if _, err := s.DetailFor(ctx, u, row.Key); err != nil {
							t.Fatalf("customer %d found %s, which they may not see: %v", u.ID, row.Key, err)
						}
					}
				}
			}
		})
	}
}

// checkPages walks f's pages forward by their cursors, then back, and compares each with
// the reference list want.
func checkPages(t *testing.T, s *Service, u User, f Filter, want []string, what string) {
	t.Helper()
	ctx := context.Background()
	limit := f.Limit
	wantTotal := func(p Page) (int, bool) {
		switch {
		case len(want) <= s.opt.ListCountCap, p.Next == "" && len(p.Items) > 0:
			return len(want), false
		default:
			return max(s.opt.ListCountCap, p.To), true
		}
	}
	var pages []Page
	for pos := 0; ; {
		p, err := s.Search(ctx, u, f)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		end := min(pos+limit, len(want))
		if got := keysOf(p); fmt.Sprint(got) != fmt.Sprint(want[pos:end]) {
			t.Fatalf("%s: page %d\n got %v\nwant %v", what, len(pages)+1, got, want[pos:end])
		}
		total, capped := wantTotal(p)
		if p.Total != total || p.TotalCapped != capped {
			t.Fatalf("%s: page %d: total %d capped %v, want %d %v (%d match)", what, len(pages)+1, p.Total, p.TotalCapped, total, capped, len(want))
		}
		if len(p.Items) > 0 && (p.From != pos+1 || p.To != end) {
			t.Fatalf("%s: page %d is %d-%d, want %d-%d", what, len(pages)+1, p.From, p.To, pos+1, end)
		}
		if (p.Next != "") != (end < len(want)) || (p.Prev != "") != (pos > 0) {
			t.Fatalf("%s: page %d: next %q prev %q at %d-%d of %d", what, len(pages)+1, p.Next, p.Prev, pos+1, end, len(want))
		}
		pages = append(pages, p)
		if p.Next == "" {
			break
		}
		f.Cursor, pos = p.Next, end
	}
	for i := len(pages) - 1; i > 0; i-- {
		f.Cursor = pages[i].Prev
		p, err := s.Search(ctx, u, f)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		prev := pages[i-1]
		if fmt.Sprint(keysOf(p)) != fmt.Sprint(keysOf(prev)) || p.From != prev.From || p.To != prev.To || (p.Prev == "") != (prev.Prev == "") {
			t.Fatalf("%s: back to page %d: %v %d-%d, want %v %d-%d", what, i, keysOf(p), p.From, p.To, keysOf(prev), prev.From, prev.To)
		}
		if total, capped := wantTotal(p); p.Total != total || p.TotalCapped != capped {
			t.Fatalf("%s: back to page %d: total %d capped %v, want %d %v", what, i, p.Total, p.TotalCapped, total, capped)
		}
	}
}

// TestOwnCountMerge: on SQLite, the tickets of a filter by status, assignee or type (one
// of them or several) whose own text matches are the same, counted or listed, at every
// limit, whether the full-text index drives (each of its rows looked up in tickets) or is
// merged with the ids of the first condition; and they are the reference's.
func TestOwnCountMerge(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, openSQLite(t), nil)
	r := rand.New(rand.NewPCG(21, 2026))
	agents, _ := seedText(t, s, r, 300)
	var filters []Filter
	for _, sts := range [][]Status{nil, {StatusWaiting}, {StatusNew, StatusClosed}, {StatusClosed, StatusInProgress, StatusClosed}, {StatusNew, StatusInProgress, StatusWaiting, StatusWaitingUser, StatusClosed}} {
		for _, scope := range []string{"", ScopeAssigned} {
			for _, typ := range []string{"", "Incident", "Demande"} {
				if sts != nil || scope != "" || typ != "" {
					filters = append(filters, Filter{Status: sts, Scope: scope, Type: typ})
				}
			}
		}
	}
	// The lists themselves, for each agent: the first list's ids in id order (as the
	// merge reads them) that the others' checks keep are the filter's tickets, those of
	// the conditions written out; each list's ids come once.
	for _, f := range filters {
		for _, agent := range agents {
			w, _, err := s.searchWhere(agent, f)
			if err != nil {
				t.Fatal(err)
			}
			var want, got, first []int64
			if err := s.db.Select(&want, `SELECT t.id FROM tickets t WHERE `+w.sql()+` ORDER BY t.id`, w.args...); err != nil {
				t.Fatal(err)
			}
			l := w.lists[0]
			if err := s.db.Select(&first, `SELECT id FROM (`+l.sql+`
  ORDER BY 1 LIMIT -1) m`, l.args...); err != nil {
				t.Fatal(err)
			}
			if !slices.IsSorted(first) || len(slices.Compact(slices.Clone(first))) != len(first) {
				t.Fatalf("%+v agent %d: the first list is not in id order, each id once: %v", f, agent.ID, first)
			}
			q, args := `SELECT m.id FROM (`+l.sql+`
  ORDER BY 1 LIMIT -1) m`, slices.Clone(l.args)
			if len(w.lists) > 1 {
				cond, condArgs := checks(w.lists[1:], "m.id")
				q += ` WHERE ` + cond
				args = append(args, condArgs...)
			}
			if err := s.db.Select(&got, q, args...); err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%+v agent %d: lists give %v, want %v", f, agent.ID, got, want)
			}
		}
	}
	for _, f := range filters {
		// The reference: the conditions written out.
		conds, condArgs := []string{"1 = 1"}, []any{}
		if len(f.Status) > 0 {
			var marks []string
			for _, st := range f.Status {
				marks, condArgs = append(marks, "?"), append(condArgs, string(st))
			}
			conds = append(conds, "status IN ("+strings.Join(marks, ", ")+")")
		}
		if f.Scope == ScopeAssigned {
			conds, condArgs = append(conds, "assignee_id = ?"), append(condArgs, agents[0].ID)
		}
		if f.Type != "" {
			conds, condArgs = append(conds, "request_type = ?"), append(condArgs, f.Type)
		}
		for _, q := range []string{"imprimante", "imprim", "wifi", "wifi imprim", "zorglub", "absent"} {
			f.Q = q
			w, ts, err := s.searchWhere(agents[0], f)
			if err != nil {
				t.Fatal(err)
			}
			// One list per condition, but one for the assignee and the statuses, or
			// else the type.
			lists := len(w.conds)
			if f.Scope == ScopeAssigned && (len(f.Status) > 0 || f.Type != "") {
				lists--
			}
			if len(w.lists) != lists || len(w.lists) == 0 {
				t.Fatalf("%+v: %d lists for %d conditions", f, len(w.lists), len(w.conds))
			}
			queries := []string{ts.whole, ts.query}
			if err := s.expand(ctx, ts); err != nil {
				t.Fatal(err)
			}
			for _, query := range append(queries, ts.query) {
				var want []int64
				if err := s.db.Select(&want, `SELECT id FROM tickets WHERE id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)
  AND `+strings.Join(conds, " AND ")+` ORDER BY id DESC`, append([]any{query}, condArgs...)...); err != nil {
					t.Fatal(err)
				}
				// The first list and the full-text index come in id order from their
				// indexes: merged, never sorted; the other conditions looked up.
				mergeSQL, mergeArgs := s.ownIDsSQL(w, query, 10, true)
				var plan []struct {
					ID      int    `db:"id"`
					Parent  int    `db:"parent"`
					NotUsed int    `db:"notused"`
					Detail  string `db:"detail"`
				}
				if err := s.db.Select(&plan, "EXPLAIN QUERY PLAN "+mergeSQL, mergeArgs...); err != nil {
					t.Fatal(err)
				}
				var steps []string
				for _, p := range plan {
					steps = append(steps, p.Detail)
				}
				// The first list merged (the assignee's with the statuses', each
				// status once, else with the type's, else alone; else the statuses',
				// else the type's), the others sought, nothing looked up in the table.
				first, others := "tickets_status_ids", map[string]int{}
				merged := map[string]int{"tickets_status_ids": len(w.lists[0].statuses)}
				switch {
				case f.Scope == ScopeAssigned && len(f.Status) > 0:
					first, merged = "tickets_assignee_status_ids", map[string]int{"tickets_assignee_status_ids": len(w.lists[0].statuses)}
				case f.Scope == ScopeAssigned && f.Type != "":
					first, merged = "tickets_assignee_type_ids", map[string]int{"tickets_assignee_type_ids": 1}
				case f.Scope == ScopeAssigned:
					first, merged = "tickets_assignee_ids", map[string]int{"tickets_assignee_ids": 1}
				case len(f.Status) == 0:
					first, merged = "tickets_type_ids", map[string]int{"tickets_type_ids": 1}
				}
				if len(f.Status) > 0 && !strings.Contains(first, "status") {
					others["tickets_status_ids"] = 1
				}
				if f.Type != "" && !strings.Contains(first, "type") {
					others["tickets_type_ids"] = 1
				}
				all := strings.Join(steps, "; ")
				ok := strings.Count(all, "MERGE (INTERSECT)") == 1 && !strings.Contains(all, "TEMP B-TREE") && !strings.Contains(all, "PRIMARY KEY")
				for _, ix := range []string{"tickets_status_ids", "tickets_assignee_ids", "tickets_type_ids", "tickets_assignee_status_ids", "tickets_assignee_type_ids"} {
					ok = ok && strings.Count(all, "SEARCH t USING COVERING INDEX "+ix+" ") == merged[ix] &&
						strings.Count(all, "SEARCH l EXISTS USING COVERING INDEX "+ix+" ") == others[ix]
				}
				if !ok {
					t.Fatalf("%+v %s: plan %s", f, query, all)
				}
				for _, limit := range []int{1, 2, 7, 40, 1000} {
					for _, merge := range []bool{false, true} {
						n, err := s.ownCount(ctx, w, query, limit, merge)
						if err != nil {
							t.Fatal(err)
						}
						ids, err := s.ownIDs(ctx, w, query, limit, merge)
						if err != nil {
							t.Fatal(err)
						}
						if n != min(len(want), limit) || len(ids) != n {
							t.Fatalf("%+v %s limit %d merge %v: %d (%d ids), want %d", f, query, limit, merge, n, len(ids), min(len(want), limit))
						}
						if merge { // newest first, as the window
							if fmt.Sprint(ids) != fmt.Sprint(want[:n]) {
								t.Fatalf("%+v %s limit %d: %v, want %v", f, query, limit, ids, want[:n])
							}
							continue
						}
						for _, id := range ids {
							if !slices.Contains(want, id) {
								t.Fatalf("%+v %s limit %d: %d does not match", f, query, limit, id)
							}
						}
					}
				}
			}
		}
	}
	// The tickets of w with a comment that matches, the same whether each comment's
	// ticket is looked up or checked against the first list, and the reference's.
	for _, f := range filters {
		for _, q := range []string{"merci", "toner", "imprim", "zorglub"} {
			f.Q = q
			w, ts, err := s.searchWhere(agents[0], f)
			if err != nil {
				t.Fatal(err)
			}
			queries := []string{ts.whole, ts.cquery}
			if err := s.expand(ctx, ts); err != nil {
				t.Fatal(err)
			}
			for _, query := range append(queries, ts.cquery) {
				var want []int64
				if err := s.db.Select(&want, s.db.Rebind(`SELECT t.id FROM tickets t WHERE t.id IN (SELECT c.ticket_id FROM comments c
  WHERE c.id IN (SELECT rowid FROM comments_fts WHERE comments_fts MATCH ?)) AND `+w.sql()+` ORDER BY t.id`), append([]any{query}, w.args...)...); err != nil {
					t.Fatal(err)
				}
				for _, limit := range []int{1, 3, 1000} {
					for _, merge := range []bool{false, true} {
						ids, err := s.commentIDs(ctx, w, ts, query, limit, merge)
						if err != nil {
							t.Fatal(err)
						}
						n, err := s.commentCount(ctx, w, ts, query, limit, merge)
						if err != nil {
							t.Fatal(err)
						}
						slices.Sort(ids)
						if len(ids) != min(len(want), limit) || n != len(ids) || len(ids) != len(slices.Compact(slices.Clone(ids))) ||
							limit >= len(want) && fmt.Sprint(ids) != fmt.Sprint(want) {
							t.Fatalf("%+v %s limit %d merge %v: comments %v (%d), want %v", f, query, limit, merge, ids, n, want)
						}
						for _, id := range ids {
							if !slices.Contains(want, id) {
								t.Fatalf("%+v %s limit %d merge %v: %d has no such comment", f, query, limit, merge, id)
							}
						}
					}
				}
			}
		}
	}
	// Another condition than those: no lists.
	for _, f := range []Filter{{Status: []Status{StatusNew}, Scope: ScopeMine, Q: "wifi"}, {Scope: ScopeUnassigned, Type: "Incident", Q: "wifi"}} {
		w, _, err := s.searchWhere(agents[0], f)
		if err != nil {
			t.Fatal(err)
		}
		if w.lists != nil {
			t.Fatalf("%+v: lists %v with another condition", f, w.lists)
		}
	}
}

// TestSearchTextExpand: on SQLite, a word of ASCII letters and digits becomes the terms of
// each full-text index that begin with it when they are at most maxPrefixTerms, all of
// ASCII letters and digits (else it stays a prefix query); the pages and counts are the
// reference's either way.
func TestSearchTextExpand(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, openSQLite(t), nil)
	r := rand.New(rand.NewPCG(23, 2026))
	agents, customers := seedText(t, s, r, 120)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	var many []string
	for i := range maxPrefixTerms + 1 {
		many = append(many, fmt.Sprintf("x%d", i))
	}
	texts := []string{"Salle 12", "salles du fond", "sallex", "Réseau lent", "kappa", "kappaκ", strings.Join(many, " "), "mot passe wifi",
		"suite de auran1 77", "auran1 70"}
	for i, text := range texts {
		id := 1000 + i
		exec(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, uai, request_type, source, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, '', 'new', 200, '0690026D', 'Incident', 'email', ?, ?)`, id, fmt.Sprintf("AURAN1-%d", id), s.desk.ID, id, text, at, at.Add(time.Duration(i)*time.Minute))
		exec(`INSERT INTO comments (ticket_id, author_id, body, visibility, source, created_at) VALUES (?, 100, ?, 'public', 'web', ?)`,
			id, []string{"mercis bien", "kappa"}[i%2], at)
	}
	for _, q := range ftsIndexPending {
		exec(q)
	}
	for _, c := range []struct{ q, query, cquery string }{
		{"sall", `("salle" OR "salles" OR "sallex")`, `"salle"`},
		{"salle", `("salle" OR "salles" OR "sallex")`, `"salle"`},
		{"salles", `"salles"`, `"salles"`},
		{"res", `"reseau"`, `"reseau"`},
		{"x", `"x"*`, `"x"`},         // more terms than maxPrefixTerms
		{"kap", `"kap"*`, `"kappa"`}, // a term of other letters
		{"élè", `"élè"*`, `"élè"*`},  // a word of other letters
		{"merc", `"merc"`, `"merci" OR "mercis"`},
		{"wifi", `"wifi"`, `"wifi"`},
		{"mot pas", `"mot" AND "passe"`, `"mot" AND "passe"`},
	} {
		_, ts, err := s.searchWhere(agents[0], Filter{Q: c.q})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.expand(ctx, ts); err != nil {
			t.Fatal(err)
		}
		// Terms of the seeded tickets may join in (wifi, passe…): each expected
		// group is in the query, and the form is the expected one.
		for _, got := range []struct{ got, want string }{{ts.query, c.query}, {ts.cquery, c.cquery}} {
			for _, part := range strings.Split(strings.Trim(got.want, "()"), " OR ") {
				if !strings.Contains(got.got, part) {
					t.Errorf("%q: query %s, want %s in it (%s)", c.q, got.got, part, got.want)
				}
			}
			if strings.HasSuffix(got.want, "*") != strings.HasSuffix(got.got, "*") {
				t.Errorf("%q: query %s, want the form of %s", c.q, got.got, got.want)
			}
		}
		if c.q == "wifi" && (ts.query != ts.whole || ts.cquery != ts.whole) {
			t.Errorf("wifi: %s / %s, want the whole word %s", ts.query, ts.cquery, ts.whole)
		}
		for _, u := range []User{agents[0], customers[0]} {
			for _, cfg := range []struct{ window, limit, cap int }{{1, 1, 2}, {1, 2, 7}, {50, 3, 10000}, {defaultTextWindow, 2, 10000}} {
				s.textWindow, s.opt.ListCountCap = cfg.window, cfg.cap
				for _, f := range []Filter{{Q: c.q, Limit: cfg.limit}, {Q: c.q, Status: []Status{StatusNew}, Limit: cfg.limit}, {Q: c.q, Type: "Incident", Limit: cfg.limit}} {
					checkPages(t, s, u, f, referenceSearch(t, s.db, s.dialect, u, f), fmt.Sprintf("user %d %+v %+v", u.ID, f, cfg))
				}
			}
		}
	}
	// A key whose ticket's text does not match, with matches in the window and a
	// count under the cap: the key's ticket is counted with them.
	for _, cfg := range []struct{ window, limit, cap int }{{1, 1, 40}, {1, 2, 7}, {1, 1, 10000}} {
		s.textWindow, s.opt.ListCountCap = cfg.window, cfg.cap
		f := Filter{Q: "auran1-7", Limit: cfg.limit}
		want := referenceSearch(t, s.db, s.dialect, agents[0], f)
		if !slices.Contains(want, "AURAN1-7") || len(want) < 3 {
			t.Fatalf("reference %v: the key and two texts", want)
		}
		checkPages(t, s, agents[0], f, want, fmt.Sprintf("%+v %+v", f, cfg))
	}
}

// TestMigrateSearchVectors: a PostgreSQL database with tickets and comments from before
// migration 0014 is migrated up; the stored vectors are filled for the existing rows, and
// the text search finds them by their words and by their comments', and new rows too.
func TestMigrateSearchVectors(t *testing.T) {
	if _, ok := stores(t)["postgres"]; !ok {
		t.Skip("GUICHET_TEST_POSTGRES unset: the migration is PostgreSQL's")
	}
	ctx := context.Background()
	db := openPostgres(t)
	migrateBelow(t, db, 14)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	exec(`INSERT INTO desks (key, name) VALUES ('AURAN1', 'Assistance')`)
	exec(`INSERT INTO users (id, email, role, created_at) VALUES (1, 'agent@support.test', 'agent', ?), (2, 'client@ecole.test', 'customer', ?)`, at, at)
	for i := 1; i <= 40; i++ {
		summary := "Vidéoprojecteur en panne"
		if i%10 == 0 {
			summary = "Imprimante bloquée"
		}
		exec(`INSERT INTO tickets (id, key, desk_id, number, summary, description, status, requester_id, source, created_at, updated_at)
  VALUES (?, ?, (SELECT id FROM desks), ?, ?, 'salle 12', 'new', 2, 'email', ?, ?)`, i, fmt.Sprint("AURAN1-", i), i, summary, at, at.Add(time.Duration(i)*time.Minute))
	}
	exec(`UPDATE desks SET next_number = 40`)
	exec(`SELECT setval(pg_get_serial_sequence('tickets', 'id'), 40)`)
	exec(`INSERT INTO comments (ticket_id, author_id, body, visibility, source, created_at) VALUES
  (7, 1, 'Le toner est commandé', 'public', 'web', ?), (8, 1, 'Toner en rupture', 'internal', 'web', ?)`, at, at)
	if applied, err := Migrate(ctx, db); err != nil || !slices.Contains(applied, 14) {
		t.Fatalf("migrate: %v %v", applied, err)
	}
	var empty int
	if err := db.Get(&empty, `SELECT (SELECT COUNT(*) FROM tickets WHERE search IS NULL OR search = ''::tsvector)
  + (SELECT COUNT(*) FROM comments WHERE search IS NULL OR search = ''::tsvector)`); err != nil || empty != 0 {
		t.Fatalf("rows without a vector: %d %v", empty, err)
	}
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	agent, _ := s.userByID(ctx, db, 1)
	client, _ := s.userByID(ctx, db, 2)
	for _, c := range []struct {
		u    User
		q    string
		want []string
	}{
		{agent, "imprimantes", []string{"AURAN1-40", "AURAN1-30", "AURAN1-20", "AURAN1-10"}},
		{agent, "toner", []string{"AURAN1-8", "AURAN1-7"}},
		{client, "toner", []string{"AURAN1-7"}}, // the internal comment is not the customer's
		{client, "vidéo panne", nil},
	} {
		for _, window := range []int{1, defaultTextWindow} {
			s.textWindow = window
			p, err := s.Search(ctx, c.u, Filter{Q: c.q, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if p.Total != 36 || len(p.Items) != 4 || p.Items[0].Key != "AURAN1-39" {
					t.Fatalf("%q: %v of %d", c.q, keysOf(p), p.Total)
				}
				continue
			}
			if fmt.Sprint(keysOf(p)) != fmt.Sprint(c.want) || p.Total != len(c.want) {
				t.Fatalf("%q (window %d): %v of %d, want %v", c.q, window, keysOf(p), p.Total, c.want)
			}
		}
	}
	// Rows written after the migration have their vectors too.
	tk, err := s.CreateTicket(ctx, client, TicketRequest{NewTicket: NewTicket{Summary: "Tableau numérique", Description: "Écran figé"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddComment(ctx, agent, tk.Key, CommentInput{Body: "Calibrage du stylet"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"tableau", "stylet"} {
		if p, err := s.Search(ctx, client, Filter{Q: q}); err != nil || fmt.Sprint(keysOf(p)) != fmt.Sprint([]string{tk.Key}) {
			t.Fatalf("%q after the migration: %v %v", q, keysOf(p), err)
		}
	}
}

// FuzzSearchText: any text typed in the search box gives a page (never an error: the
// words become full-text queries, prefix and whole-word), the one the reference query
// gives, on SQLite.
func FuzzSearchText(f *testing.F) {
	for _, q := range []string{"imprimante", "IMPRIM", "élève réseau", `"wifi"*`, "AURAN1-7", "a OR b NOT c", "zorglub*",
		"x:* & !y", "NEAR(a b)", "^ent", "\x00\xff", "l'école", "１２３", "ǅ", strings.Repeat("wifi ", 20)} {
		f.Add(q)
	}
	dir, err := os.MkdirTemp("", "guichet-fuzz-search")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	db, _, err := Open(ctx, filepath.Join(dir, "g.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := Migrate(ctx, db); err != nil {
		f.Fatal(err)
	}
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	agents, customers := seedText(f, s, rand.New(rand.NewPCG(1, 2)), 120)
	f.Fuzz(func(t *testing.T, q string) {
		for _, u := range []User{agents[0], customers[1]} {
			s.textWindow = 1
			p, err := s.Search(ctx, u, Filter{Q: q, Limit: 5})
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			want := referenceSearch(t, db, SQLite, u, Filter{Q: q})
			if got := keysOf(p); fmt.Sprint(got) != fmt.Sprint(want[:min(5, len(want))]) || p.Total != len(want) && !p.TotalCapped {
				t.Fatalf("%q: %v of %d, want %v of %d", q, got, p.Total, want[:min(5, len(want))], len(want))
			}
		}
	})
}
