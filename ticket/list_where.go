package ticket

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// where is the WHERE clause of a list query: conditions on tickets t, ANDed, with their
// "?" arguments in order.
type where struct {
	conds []string
	args  []any
	// lists are w's conditions as lists of ids in id order, from indexes, when each of
	// its conditions is one (a status filter, an assignee, a request type; nil
	// otherwise): a text search can then count its matches by merging such a list with
	// the full-text index's (ownCount). The most selective first: an assignee's, the
	// statuses', a type's; an assignee's with statuses, or else with a type, is one list
	// of both (the agent's own tickets of those statuses, or of that type).
	lists []idList
}

// idList is a SELECT of ticket ids in id order, from an index and nothing else, and its
// arguments.
type idList struct {
	sql  string
	args []any
	// check is the condition "the ticket {id} is in the list", from the same index (a
	// seek of its own per id), with the same arguments; none for an assignee's list with
	// statuses or a type, which is always the first.
	check string
	// statuses: the list of those statuses (each once), for the tests.
	statuses []string
}

// The id lists (see where.lists). Each reads a partial index whose condition only these
// queries write, so that the planner keeps the list's order indexes for every other
// query (migrations 0021, 0023 and 0024). A status filter is the UNION ALL of its
// statuses' lists (each status once: no id twice), merged in id order too.
const (
	statusIDsSQL   = `SELECT t.id FROM tickets t INDEXED BY tickets_status_ids WHERE t.status <> '' AND t.status = ?`
	assigneeIDsSQL = `SELECT t.id FROM tickets t INDEXED BY tickets_assignee_ids WHERE t.assignee_id <> 0 AND t.assignee_id = ?`
	typeIDsSQL     = `SELECT t.id FROM tickets t INDEXED BY tickets_type_ids WHERE t.request_type <> '' AND t.request_type = ?`
	// An assignee's with a status, and with a type.
	assigneeStatusIDsSQL = `SELECT t.id FROM tickets t INDEXED BY tickets_assignee_status_ids WHERE t.assignee_id <> 0 AND t.assignee_id = ? AND t.status = ?`
	assigneeTypeIDsSQL   = `SELECT t.id FROM tickets t INDEXED BY tickets_assignee_type_ids WHERE t.assignee_id <> 0 AND t.assignee_id = ? AND t.request_type = ?`
	// The checks: the same indexes, sought by (value, id).
	statusCheckSQL   = `EXISTS (SELECT 1 FROM tickets l INDEXED BY tickets_status_ids WHERE l.status <> '' AND l.status IN (%s) AND l.id = {id})`
	assigneeCheckSQL = `EXISTS (SELECT 1 FROM tickets l INDEXED BY tickets_assignee_ids WHERE l.assignee_id <> 0 AND l.assignee_id = ? AND l.id = {id})`
	typeCheckSQL     = `EXISTS (SELECT 1 FROM tickets l INDEXED BY tickets_type_ids WHERE l.request_type <> '' AND l.request_type = ? AND l.id = {id})`
)

// statusesList is the list of the tickets of statuses sts (sorted, each once): the UNION
// ALL of one list per status, of the assignee's tickets when assignee is not nil.
func statusesList(sts []string, assignee any) idList {
	l := idList{statuses: sts}
	if assignee == nil {
		l.check = fmt.Sprintf(statusCheckSQL, strings.TrimSuffix(strings.Repeat("?, ", len(sts)), ", "))
	}
	for i, st := range sts {
		if i > 0 {
			l.sql += "\n  UNION ALL "
		}
		if assignee == nil {
			l.sql += statusIDsSQL
			l.args = append(l.args, st)
		} else {
			l.sql += assigneeStatusIDsSQL
			l.args = append(l.args, assignee, st)
		}
	}
	return l
}

// checks is the condition that the ticket id (an expression) is in each of lists, and
// its arguments.
func checks(lists []idList, id string) (string, []any) {
	var conds []string
	var args []any
	for _, l := range lists {
		conds = append(conds, strings.ReplaceAll(l.check, "{id}", id))
		args = append(args, l.args...)
	}
	return strings.Join(conds, " AND "), args
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
	w.lists = nil // a condition without its list
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "1 = 1"
	}
	return strings.Join(w.conds, " AND ")
}

// Each scope is an id set that the planner can use an index for: the union of three
// index probes rather than an OR that would scan the table.
const (
	scopeMineSQL   = "t.requester_id = ?"
	scopePartSQL   = "t.id IN (SELECT p.ticket_id FROM participants p WHERE p.user_id = ?)"
	scopeEstabSQL  = "t.uai = ?"
	scopeCustomer  = "t.id IN (SELECT id FROM tickets WHERE requester_id = ? UNION SELECT ticket_id FROM participants WHERE user_id = ?)"
	scopeCustomerE = "t.id IN (SELECT id FROM tickets WHERE requester_id = ? UNION SELECT ticket_id FROM participants WHERE user_id = ? UNION SELECT id FROM tickets WHERE uai = ?)"
)

// searchWhere builds the conditions of f for u, access rules first, and the text search
// of f.Q when it has words (nil otherwise: a text without words can only be a ticket
// key, a condition of w).
func (s *Service) searchWhere(u User, f Filter) (*where, *textSearch, error) {
	w := &where{}
	var lists []idList // the lists of w's conditions so far (see where.lists)
	var assignee any   // the assignee of the scope, whose list may take in the next one
	listed := 0        // how many of w's conditions have their list
	staff := u.Role.IsStaff()
	switch f.Scope {
	case "", ScopeAll:
		if !staff {
			if u.UAI != "" {
				w.add(scopeCustomerE, u.ID, u.ID, u.UAI)
			} else {
				w.add(scopeCustomer, u.ID, u.ID)
			}
		}
	case ScopeMine:
		w.add(scopeMineSQL, u.ID)
	case ScopeParticipant:
		w.add(scopePartSQL, u.ID)
	case ScopeEstablishment:
		if u.UAI == "" {
			w.add("1 = 0") // no establishment, no request of it
		} else {
			w.add(scopeEstabSQL, u.UAI)
		}
	case ScopeAssigned, ScopeUnassigned:
		if !staff {
			return nil, nil, fmt.Errorf("%w: scope %q is for agents", ErrInvalid, f.Scope)
		}
		if f.Scope == ScopeAssigned {
			w.add("t.assignee_id = ?", u.ID)
			lists = append(lists, idList{sql: assigneeIDsSQL, check: assigneeCheckSQL, args: []any{u.ID}})
			assignee, listed = u.ID, listed+1
		} else {
			w.add("t.assignee_id IS NULL")
		}
	default:
		return nil, nil, fmt.Errorf("%w: scope %q", ErrInvalid, f.Scope)
	}
	if len(f.Status) > 0 {
		marks := make([]string, len(f.Status))
		var args []any
		for i, st := range f.Status {
			if !st.Valid() {
				return nil, nil, fmt.Errorf("%w: status %q", ErrInvalid, st)
			}
			marks[i] = "?"
			args = append(args, string(st))
		}
		w.add("t.status IN ("+strings.Join(marks, ", ")+")", args...)
		var sts []string
		for _, st := range f.Status {
			sts = append(sts, string(st))
		}
		slices.Sort(sts)
		sts = slices.Compact(sts)
		if assignee != nil {
			// The assignee's tickets of these statuses: one list for both conditions.
			lists[len(lists)-1], assignee = statusesList(sts, assignee), nil
		} else {
			lists = append(lists, statusesList(sts, nil))
		}
		listed++
	}
	if typ := strings.TrimSpace(f.Type); typ != "" {
		w.add("t.request_type = ?", typ)
		listed++
		if assignee != nil {
			// The assignee's tickets of this type: one list for both conditions.
			lists[len(lists)-1] = idList{sql: assigneeTypeIDsSQL, args: []any{assignee, typ}}
		} else {
			lists = append(lists, idList{sql: typeIDsSQL, check: typeCheckSQL, args: []any{typ}})
		}
	}
	if listed == len(w.conds) {
		w.lists = lists // each condition has its list
	}
	q := strings.TrimSpace(f.Q)
	if q == "" {
		return w, nil, nil
	}
	words := searchWords(q)
	key := strings.ToUpper(q)
	if len(words) == 0 {
		w.add("t.key = ?", key)
		return w, nil, nil
	}
	return w, s.newTextSearch(words, key, staff), nil
}

// searchWords cuts q into lower-case words of letters and digits (at most 8), the only
// characters that reach a full-text query.
func searchWords(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > 8 {
		words = words[:8]
	}
	return words
}

// cursor is where a page starts: after (or, Back, before) the row (At, ID), Pos being
// the 0-based position of the page's first row, for "1-25 de 300".
type cursor struct {
	At   time.Time `json:"t"`
	ID   int64     `json:"i"`
	Pos  int       `json:"p"`
	Back bool      `json:"b,omitempty"`
}

func encodeCursor(c cursor) string {
	c.At = c.At.UTC()
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID <= 0 || c.Pos < 0 || c.At.IsZero() {
		return nil, fmt.Errorf("%w: page cursor", ErrInvalid)
	}
	c.At = c.At.UTC()
	return &c, nil
}
