package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// apiList answers GET /api/v1/tickets?scope=&status=&type=&q=&cursor=&limit= with
// {items, total, from, to, next, prev}. status may be repeated or comma-separated.
func (h *Handler) apiList(w http.ResponseWriter, r *http.Request, u ticket.User) {
	q := r.URL.Query()
	f := ticket.Filter{Scope: q.Get("scope"), Type: q.Get("type"), Q: q.Get("q"), Cursor: q.Get("cursor")}
	for _, v := range q["status"] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			st, ok := ticket.ParseStatus(s)
			if !ok {
				writeJSON(w, http.StatusUnprocessableEntity, apiErr{Error: "unknown status " + strconv.Quote(s), Field: "status"})
				return
			}
			f.Status = append(f.Status, st)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeJSON(w, http.StatusUnprocessableEntity, apiErr{Error: "limit: a number from 1 to 100 expected", Field: "limit"})
			return
		}
		f.Limit = n
	}
	p, err := h.opt.Tickets.Search(r.Context(), u, f)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// apiTicketIn is the body of POST /api/v1/tickets.
type apiTicketIn struct {
	Summary       string   `json:"summary"`
	Description   string   `json:"description"`
	UAI           string   `json:"uai"`
	URL           string   `json:"url"`
	Academie      string   `json:"academie"`
	Components    string   `json:"components"`
	Phone         string   `json:"phone"`
	IncidentStart string   `json:"incident_start"`
	AffectedUsers string   `json:"affected_users"`
	RequestType   string   `json:"request_type"`
	Participants  []string `json:"participants"`
}

// apiCreate answers POST /api/v1/tickets: 201 with the new ticket (as GET returns it),
// 422 naming the field at fault. The same Idempotency-Key header from the same user
// returns the ticket made the first time.
func (h *Handler) apiCreate(w http.ResponseWriter, r *http.Request, u ticket.User) {
	var in apiTicketIn
	if !readJSON(w, r, &in) {
		return
	}
	bad := func(field, msg string) {
		writeJSON(w, http.StatusUnprocessableEntity, apiErr{Error: msg, Field: field})
	}
	switch {
	case strings.TrimSpace(in.Summary) == "":
		bad("summary", "the summary is required")
		return
	case strings.TrimSpace(in.Description) == "":
		bad("description", "the description is required")
		return
	case len(in.Summary) > 500:
		bad("summary", "the summary is too long (500 characters at most)")
		return
	}
	if uai := strings.ToUpper(strings.TrimSpace(in.UAI)); uai != "" {
		if err := ticket.ValidateUAI(uai); err != nil {
			bad("uai", reason(err, ticket.ErrInvalid))
			return
		}
	}
	req := ticket.TicketRequest{NewTicket: ticket.NewTicket{
		Summary: in.Summary, Description: in.Description, UAI: in.UAI, URL: in.URL, Academie: in.Academie,
		Components: in.Components, Phone: in.Phone, IncidentStart: in.IncidentStart, AffectedUsers: in.AffectedUsers,
		RequestType: in.RequestType, Source: ticket.SourceWeb,
	}}
	for _, p := range in.Participants {
		if ticket.NormalizeEmail(p) == "" {
			bad("participants", "not an address: "+strconv.Quote(p))
			return
		}
		req.Participants = append(req.Participants, ticket.Address{Email: p})
	}
	if k := strings.TrimSpace(r.Header.Get("Idempotency-Key")); k != "" {
		if len(k) > 200 {
			bad("Idempotency-Key", "the idempotency key is too long (200 characters at most)")
			return
		}
		// Scoped to the user: another user's key never returns this user's ticket.
		req.RequestID = "api:" + strconv.FormatInt(u.ID, 10) + ":" + k
	}
	t, err := h.opt.Tickets.CreateTicket(r.Context(), u, req)
	if errors.Is(err, ticket.ErrOtherEstablishment) {
		writeJSON(w, http.StatusForbidden, apiErr{Error: reason(err, ticket.ErrForbidden), Field: "uai"})
		return
	}
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	d, err := h.opt.Tickets.DetailFor(r.Context(), u, t.Key)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tickets/"+t.Key)
	writeJSON(w, http.StatusCreated, d)
}

// apiGet answers GET /api/v1/tickets/{key} with the object of `ticket show --json`,
// without internal comments and events for customers.
func (h *Handler) apiGet(w http.ResponseWriter, r *http.Request, u ticket.User) {
	d, err := h.opt.Tickets.DetailFor(r.Context(), u, strings.ToUpper(r.PathValue("key")))
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// apiComment answers POST /api/v1/tickets/{key}/comments {body, visibility}: 201 with
// the comment's id. The status rules of comments apply as for mail.
func (h *Handler) apiComment(w http.ResponseWriter, r *http.Request, u ticket.User) {
	var in struct {
		Body       string            `json:"body"`
		Visibility ticket.Visibility `json:"visibility"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Visibility != "" && in.Visibility != ticket.Public && in.Visibility != ticket.Internal {
		writeJSON(w, http.StatusUnprocessableEntity, apiErr{Error: "visibility: public or internal", Field: "visibility"})
		return
	}
	id, err := h.opt.Tickets.AddComment(r.Context(), u, strings.ToUpper(r.PathValue("key")), ticket.CommentInput{
		Body: in.Body, Visibility: in.Visibility, Source: ticket.SourceWeb, Verified: true,
	})
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

// apiStatus answers POST /api/v1/tickets/{key}/status {status} (a code or a label)
// with the ticket after the change.
func (h *Handler) apiStatus(w http.ResponseWriter, r *http.Request, u ticket.User) {
	var in struct {
		Status string `json:"status"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	st, ok := ticket.ParseStatus(in.Status)
	if !ok {
		writeJSON(w, http.StatusUnprocessableEntity, apiErr{Error: "unknown status " + strconv.Quote(in.Status), Field: "status"})
		return
	}
	key := strings.ToUpper(r.PathValue("key"))
	if err := h.opt.Tickets.ChangeStatus(r.Context(), u, key, st); err != nil {
		h.apiError(w, r, err)
		return
	}
	d, err := h.opt.Tickets.DetailFor(r.Context(), u, key)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
