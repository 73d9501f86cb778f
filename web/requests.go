package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/guichet/guichet/ticket"
)

// listView is the data of the requests list (§7).
type listView struct {
	Scope, Status, Type, Q string
	Sort                   string // agents: "" or "due"
	Scopes                 []scopeOption
	Types                  []string
	Rows                   []ticket.ListRow
	From, To, Total        int
	TotalCapped            bool
	PrevURL, NextURL       string
	// SLA is, for agents, each row's pending target by ticket id; ShowSLA adds the column.
	SLA     map[int64]*slaView
	ShowSLA bool
	Agent   bool
}

type scopeOption struct {
	Value, Label string
	Selected     bool
}

// Scopes offered to customers and to agents, the default first. A customer's first
// choice is the guide's "Quel que soit le créateur": every request they may see (theirs,
// those they take part in, their establishment's), the access rule's own query.
var (
	customerScopes = []string{ticket.ScopeAll, ticket.ScopeMine, ticket.ScopeParticipant, ticket.ScopeEstablishment}
	agentScopes    = []string{ticket.ScopeAll, ticket.ScopeAssigned, ticket.ScopeUnassigned, ticket.ScopeMine, ticket.ScopeParticipant}
)

// requests lists the tickets the user may see with the filters of §7: scope, status,
// request type, text search; pages of 25 by keyset cursors.
func (h *Handler) requests(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	q := r.URL.Query()
	v := &listView{Scope: q.Get("scope"), Status: q.Get("status"), Type: q.Get("type"), Q: q.Get("q")}
	scopes := customerScopes
	if u.Role.IsStaff() {
		scopes = agentScopes
	}
	if !slices.Contains(scopes, v.Scope) {
		v.Scope = scopes[0]
	}
	for _, s := range scopes {
		label := "scope." + s
		if s == ticket.ScopeAll && !u.Role.IsStaff() {
			label = "scope.any_creator" // for a customer, "all" is all they may see
		}
		v.Scopes = append(v.Scopes, scopeOption{Value: s, Label: label, Selected: s == v.Scope})
	}
	f := ticket.Filter{Scope: v.Scope, Type: v.Type, Q: v.Q, Cursor: q.Get("page")}
	if q.Get("sort") == ticket.SortDue && u.Role.IsStaff() {
		v.Sort, f.Sort = ticket.SortDue, ticket.SortDue
	}
	if v.Status != "" {
		st, ok := ticket.ParseStatus(v.Status)
		if !ok {
			v.Status = ""
		} else {
			v.Status, f.Status = string(st), []ticket.Status{st}
		}
	}
	page, err := h.opt.Portal.Search(r.Context(), u, f)
	if errors.Is(err, ticket.ErrInvalid) && f.Cursor != "" {
		f.Cursor = "" // a stale or forged cursor: start again
		page, err = h.opt.Portal.Search(r.Context(), u, f)
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	v.Rows, v.From, v.To, v.Total, v.TotalCapped = page.Items, page.From, page.To, page.Total, page.TotalCapped
	if u.Role.IsStaff() {
		v.Agent = true
		v.SLA = map[int64]*slaView{}
		for _, row := range page.Items {
			if row.SLA != nil {
				v.ShowSLA = true
				v.SLA[row.ID] = slaNow(row.SLA)
			}
		}
	}
	link := func(cursor string) string {
		if cursor == "" {
			return ""
		}
		p := url.Values{"scope": {v.Scope}, "page": {cursor}}
		for k, val := range map[string]string{"status": v.Status, "type": v.Type, "q": v.Q, "sort": v.Sort} {
			if val != "" {
				p.Set(k, val)
			}
		}
		return "/requests?" + p.Encode()
	}
	v.PrevURL, v.NextURL = link(page.Prev), link(page.Next)
	if v.Types, err = h.opt.Portal.RequestTypes(r.Context()); err != nil {
		h.failErr(w, r, err)
		return
	}
	for _, t := range h.opt.RequestTypes {
		if !slices.Contains(v.Types, t) {
			v.Types = append(v.Types, t)
		}
	}
	h.render(w, r, http.StatusOK, "requests", h.page(w, r, "requests", v))
}
