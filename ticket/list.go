package ticket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scopes of the requests list (Filter.Scope).
const (
	ScopeMine          = "mine"          // created by (asked by) the user
	ScopeParticipant   = "participant"   // where the user is a participant
	ScopeEstablishment = "establishment" // every request of the user's establishment (UAI)
	ScopeAll           = "all"           // everything the user may see (the default)
	ScopeAssigned      = "assigned"      // agents: assigned to the user
	ScopeUnassigned    = "unassigned"    // agents: assigned to nobody
)

// Filter selects and pages the requests list.
type Filter struct {
	// Scope is one of the Scope constants; "" means ScopeAll. Customers may use mine,
	// participant, establishment and all (the three together); agents also assigned and
	// unassigned, and all is then every ticket.
	Scope  string
	Status []Status // any of these; none means every status
	Type   string   // request type, exactly
	// Q searches the summary, the description and the comments the user may read
	// (words, each a prefix, all required; case and, on SQLite, accents ignored), and
	// matches a ticket key exactly.
	Q      string
	Cursor string // Page.Next or Page.Prev of an earlier page; "" for the first page
	// Sort is "" (latest activity first) or SortDue (agents: the tickets whose SLA clock
	// runs, nearest deadline first; paused, closed and unmeasured tickets are not in that
	// view). A text search always lists by activity.
	Sort  string
	Limit int // rows per page: default 25, at most 100
}

// ListRow is one line of the requests list.
type ListRow struct {
	ID           int64     `db:"id" json:"-"`
	Type         string    `db:"request_type" json:"type"`
	Key          string    `db:"key" json:"key"`
	Summary      string    `db:"summary" json:"summary"`
	Desk         string    `db:"desk" json:"desk"`
	Status       Status    `db:"status" json:"status"`
	StatusLabel  string    `db:"-" json:"status_label"`
	Creator      string    `db:"-" json:"creator"` // the requester's name, else address
	CreatorName  string    `db:"creator_name" json:"-"`
	CreatorEmail string    `db:"creator_email" json:"creator_email"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
	// SLA is the ticket's SLA, for agents only (nil for customers and without a clock).
	SLA *SLAState `db:"-" json:"-"`
	// Due is the pending SLA deadline, read by the SortDue view for its cursor.
	Due *time.Time `db:"due" json:"-"`
}

// Page is one page of the requests list, newest activity first. From and To are the
// 1-based positions of its first and last rows among Total ("1-3 de 3"); both are 0
// when the page is empty. Next and Prev are opaque cursors, "" at either end.
type Page struct {
	Items []ListRow `json:"items"`
	Total int       `json:"total"`
	// TotalCapped: more than Total tickets match (the count stops at
	// Options.ListCountCap, so a search over a million tickets stays fast).
	TotalCapped bool   `json:"total_capped,omitempty"`
	From        int    `json:"from"`
	To          int    `json:"to"`
	Next        string `json:"next,omitempty"`
	Prev        string `json:"prev,omitempty"`
}

// Search returns one page of the tickets u may see that match f. Access is part of the
// query's WHERE clause: a customer's search never returns another's ticket. Paging is
// by keyset on (updated_at, id), so a deep page costs what the first one does. Bad
// scopes, statuses or cursors give ErrInvalid.
func (s *Service) Search(ctx context.Context, u User, f Filter) (Page, error) {
	if f.Limit <= 0 {
		f.Limit = 25
	}
	if f.Limit > 100 {
		f.Limit = 100
	}
	w, text, err := s.searchWhere(u, f)
	if err != nil {
		return Page{}, err
	}
	cur, err := decodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	var rows []ListRow
	var total int
	byDue := f.Sort == SortDue && text == nil
	if f.Sort != "" && f.Sort != SortDue {
		return Page{}, fmt.Errorf("%w: sort %q", ErrInvalid, f.Sort)
	}
	if f.Sort == SortDue && !u.Role.IsStaff() {
		return Page{}, fmt.Errorf("%w: sorting by deadline is for agents", ErrInvalid)
	}
	if byDue {
		if rows, err = s.searchRowsDue(ctx, w, cur, f.Limit+1); err == nil {
			total, err = s.countDue(ctx, w)
		}
	} else if text != nil {
		rows, total, err = s.searchText(ctx, w, text, cur, f.Limit+1)
	} else if rows, err = s.searchRows(ctx, w, cur, f.Limit+1); err == nil {
		total, err = s.countCapped(ctx, w)
	}
	if err != nil {
		return Page{}, err
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	// start is the 0-based position of the page's first row; a backward page came
	// nearest first and is turned around.
	start, hasNext, hasPrev := 0, more, cur != nil
	if cur != nil && !cur.Back {
		start = cur.Pos
	}
	if cur != nil && cur.Back {
		slices.Reverse(rows)
		hasNext, hasPrev = true, more
		if more {
			start = max(cur.Pos, 0)
		}
	}
	p := Page{Total: total, Items: rows}
	if total > s.opt.ListCountCap {
		p.Total, p.TotalCapped = s.opt.ListCountCap, true
	}
	for i := range p.Items {
		r := &p.Items[i]
		r.StatusLabel = r.Status.Label("fr")
		r.Creator = r.CreatorName
		if r.Creator == "" {
			r.Creator = r.CreatorEmail
		}
	}
	if n := len(rows); n > 0 {
		first, last := rows[0], rows[n-1]
		firstAt, lastAt := first.UpdatedAt, last.UpdatedAt
		if byDue && first.Due != nil && last.Due != nil {
			firstAt, lastAt = *first.Due, *last.Due
		}
		if hasNext {
			p.Next = encodeCursor(cursor{At: lastAt, ID: last.ID, Pos: start + n})
		}
		if hasPrev {
			p.Prev = encodeCursor(cursor{At: firstAt, ID: first.ID, Pos: max(start-f.Limit, 0), Back: true})
		}
		p.From, p.To = start+1, start+n
		if p.Total < p.To { // rows came or went between the two queries, or the count was capped
			p.Total = p.To
			if !hasNext {
				p.TotalCapped = false // this page ends the list: the count is exact
			}
		}
	}
	if p.Items == nil {
		p.Items = []ListRow{}
	}
	if err := s.withSLA(ctx, u, p.Items); err != nil {
		return Page{}, err
	}
	return p, nil
}

// countCapped counts the tickets of w, up to Options.ListCountCap+1.
func (s *Service) countCapped(ctx context.Context, w *where) (int, error) {
	var n int
	q := fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM tickets t WHERE %s LIMIT %d) c", w.sql(), s.opt.ListCountCap+1)
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(q), w.args...); err != nil {
		return 0, fmt.Errorf("ticket: count tickets: %w", err)
	}
	return n, nil
}

// cursorCond is the condition on tickets t of the rows after cur (" AND …"), its
// arguments, and the order in which they come: newest first, or oldest first when
// going back.
func cursorCond(cur *cursor) (string, []any, string) {
	op, order := "<", "DESC"
	if cur.Back {
		op, order = ">", "ASC"
	}
	return " AND (t.updated_at, t.id) " + op + " (?, ?)", []any{cur.At, cur.ID}, order
}

// searchRows runs the list query for one page (limit rows), after the cursor.
func (s *Service) searchRows(ctx context.Context, w *where, cur *cursor, limit int) ([]ListRow, error) {
	cond, args := w.sql(), slices.Clone(w.args)
	order := "DESC"
	if cur != nil {
		c, a, o := cursorCond(cur)
		cond += c
		args = append(args, a...)
		order = o
	}
	// The page is chosen from tickets alone, then joined: the planner cannot be tempted
	// to drive the query from users.
	q := `SELECT t.id, t.request_type, t.key, t.summary, d.name AS desk, t.status, u.name AS creator_name,
  u.email AS creator_email, t.created_at, t.updated_at
FROM (SELECT t.id, t.request_type, t.key, t.summary, t.status, t.desk_id, t.requester_id, t.created_at, t.updated_at
  FROM tickets t WHERE ` + cond + ` ORDER BY t.updated_at ` + order + `, t.id ` + order + ` LIMIT ?) t
JOIN desks d ON d.id = t.desk_id JOIN users u ON u.id = t.requester_id
ORDER BY t.updated_at ` + order + `, t.id ` + order
	args = append(args, limit)
	var rows []ListRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("ticket: list tickets: %w", err)
	}
	return rows, nil
}

// RequestTypes lists the request types in use, in order.
func (s *Service) RequestTypes(ctx context.Context) ([]string, error) {
	out := []string{}
	if err := s.db.SelectContext(ctx, &out, s.wq.RequestTypes); err != nil {
		return nil, fmt.Errorf("ticket: list request types: %w", err)
	}
	return out, nil
}

// publicEvents are the event kinds that customers see.
var publicEvents = []string{"status", "participant_added", "participant_removed", "followed_by", "phone", "merged_into", "merged_from"}

// DetailFor returns ticket key as u may see it: ErrNotFound when u may not see it (the
// same answer as for a missing ticket). Customers get neither internal comments nor
// the events of internal kinds (assignment, held mail, bounces, …), nor the assignee.
func (s *Service) DetailFor(ctx context.Context, u User, key string) (*Detail, error) {
	t, err := s.visibleTicket(ctx, s.db, strings.ToUpper(strings.TrimSpace(key)), u)
	if err != nil {
		return nil, err
	}
	d, err := s.detail(ctx, t)
	if err != nil {
		return nil, err
	}
	if u.Role.IsStaff() {
		if s.SLAPolicy() != nil {
			states, err := s.SLAStates(ctx, []int64{t.ID})
			if err != nil {
				return nil, err
			}
			if st, ok := states[t.ID]; ok {
				d.SLA = &st
			}
		}
		return d, nil
	}
	comments := d.Comments[:0]
	for _, c := range d.Comments {
		if c.Visibility == Public {
			c.InboundID = 0 // the stored mail is for agents
			comments = append(comments, c)
		}
	}
	d.Comments = comments
	events := d.Events[:0]
	for _, e := range d.Events {
		if slices.Contains(publicEvents, e.Kind) {
			events = append(events, e)
		}
	}
	d.Events = events
	d.Assignee = ""
	return d, nil
}

// SortDue is Filter.Sort for the agents' view by SLA deadline.
const SortDue = "due"

// searchRowsDue is searchRows for SortDue: the tickets of w whose SLA clock runs, nearest
// deadline first, by keyset on (due, id) along the partial index ticket_sla_due.
func (s *Service) searchRowsDue(ctx context.Context, w *where, cur *cursor, limit int) ([]ListRow, error) {
	cond, args := w.sql(), slices.Clone(w.args)
	order := "ASC"
	if cur != nil {
		op := ">"
		if cur.Back {
			op, order = "<", "DESC"
		}
		cond += " AND (sl.due, t.id) " + op + " (?, ?)"
		args = append(args, cur.At.UTC(), cur.ID)
	}
	q := `SELECT t.id, t.request_type, t.key, t.summary, d.name AS desk, t.status, u.name AS creator_name,
  u.email AS creator_email, t.created_at, t.updated_at, t.due
FROM (SELECT t.id, t.request_type, t.key, t.summary, t.status, t.desk_id, t.requester_id, t.created_at, t.updated_at, sl.due
  FROM ticket_sla sl JOIN tickets t ON t.id = sl.ticket_id
  WHERE sl.due IS NOT NULL AND ` + cond + ` ORDER BY sl.due ` + order + `, t.id ` + order + ` LIMIT ?) t
JOIN desks d ON d.id = t.desk_id JOIN users u ON u.id = t.requester_id
ORDER BY t.due ` + order + `, t.id ` + order
	args = append(args, limit)
	var rows []ListRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("ticket: list tickets by deadline: %w", err)
	}
	return rows, nil
}

// countDue counts the tickets of the SortDue view, up to Options.ListCountCap+1.
func (s *Service) countDue(ctx context.Context, w *where) (int, error) {
	var n int
	q := fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM ticket_sla sl JOIN tickets t ON t.id = sl.ticket_id WHERE sl.due IS NOT NULL AND %s LIMIT %d) c",
		w.sql(), s.opt.ListCountCap+1)
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(q), w.args...); err != nil {
		return 0, fmt.Errorf("ticket: count tickets by deadline: %w", err)
	}
	return n, nil
}
