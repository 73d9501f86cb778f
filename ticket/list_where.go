package ticket

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// where is the WHERE clause of a list query: conditions on tickets t, ANDed, with their
// "?" arguments in order.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
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

// searchWhere builds the conditions of f for u, access rules first.
func (s *Service) searchWhere(u User, f Filter) (*where, error) {
	w := &where{}
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
			return nil, fmt.Errorf("%w: scope %q is for agents", ErrInvalid, f.Scope)
		}
		if f.Scope == ScopeAssigned {
			w.add("t.assignee_id = ?", u.ID)
		} else {
			w.add("t.assignee_id IS NULL")
		}
	default:
		return nil, fmt.Errorf("%w: scope %q", ErrInvalid, f.Scope)
	}
	if len(f.Status) > 0 {
		marks := make([]string, len(f.Status))
		var args []any
		for i, st := range f.Status {
			if !st.Valid() {
				return nil, fmt.Errorf("%w: status %q", ErrInvalid, st)
			}
			marks[i] = "?"
			args = append(args, string(st))
		}
		w.add("t.status IN ("+strings.Join(marks, ", ")+")", args...)
	}
	if typ := strings.TrimSpace(f.Type); typ != "" {
		w.add("t.request_type = ?", typ)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		s.textWhere(w, q, staff)
	}
	return w, nil
}

// textWhere adds the text search: the tickets whose summary or description has every
// word (as a prefix), those with a comment that has them (public comments only for
// customers), and the ticket whose key is q.
func (s *Service) textWhere(w *where, q string, staff bool) {
	words := searchWords(q)
	key := strings.ToUpper(q)
	if len(words) == 0 {
		w.add("t.key = ?", key)
		return
	}
	vis := " AND c.visibility = 'public'"
	if staff {
		vis = ""
	}
	if s.dialect == Postgres {
		tsq := make([]string, len(words))
		for i, x := range words {
			tsq[i] = x + ":*"
		}
		query := strings.Join(tsq, " & ")
		w.add(`t.id IN (SELECT id FROM tickets WHERE to_tsvector('french', summary || ' ' || description) @@ to_tsquery('french', ?)
  UNION SELECT c.ticket_id FROM comments c WHERE to_tsvector('french', c.body) @@ to_tsquery('french', ?)`+vis+`
  UNION SELECT id FROM tickets WHERE key = ?)`, query, query, key)
		return
	}
	fts := make([]string, len(words))
	for i, x := range words {
		fts[i] = `"` + x + `"*`
	}
	query := strings.Join(fts, " ")
	// "+" keeps SQLite from driving the query by this set: a common word matches a large
	// part of the tickets, and walking tickets_updated while probing the set finds a page
	// sooner than sorting the set. A scope set, when there is one, still drives.
	w.add(`+t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?
  UNION SELECT c.ticket_id FROM comments c WHERE c.id IN (SELECT rowid FROM comments_fts WHERE comments_fts MATCH ?)`+vis+`
  UNION SELECT id FROM tickets WHERE key = ?)`, query, query, key)
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
