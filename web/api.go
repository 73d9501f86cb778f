package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// Tickets is what the JSON API needs of the ticket service (*ticket.Service). Each
// method applies the access rules itself: a ticket the user may not see is
// ticket.ErrNotFound, like a missing one.
type Tickets interface {
	TokenUser(ctx context.Context, plain string) (ticket.User, error)
	Search(ctx context.Context, u ticket.User, f ticket.Filter) (ticket.Page, error)
	DetailFor(ctx context.Context, u ticket.User, key string) (*ticket.Detail, error)
	CreateTicket(ctx context.Context, creator ticket.User, req ticket.TicketRequest) (*ticket.Ticket, error)
	AddComment(ctx context.Context, actor ticket.User, key string, in ticket.CommentInput) (int64, error)
	ChangeStatus(ctx context.Context, actor ticket.User, key string, st ticket.Status) error
}

var _ Tickets = (*ticket.Service)(nil)

// maxAPIBody caps the JSON body of an API request.
const maxAPIBody = 1 << 20

// apiRoutes registers the JSON API under /api/v1/. Every route needs a bearer token
// (a personal access token, see ticket.Service.CreateToken). The API keeps no cookie,
// so cross-site requests cannot ride on a browser session.
func (h *Handler) apiRoutes() {
	m := h.mux
	m.Handle("GET /api/v1/tickets", h.bearer(h.apiList))
	m.Handle("POST /api/v1/tickets", h.bearer(h.apiCreate))
	m.Handle("GET /api/v1/tickets/{key}", h.bearer(h.apiGet))
	m.Handle("POST /api/v1/tickets/{key}/comments", h.bearer(h.apiComment))
	m.Handle("POST /api/v1/tickets/{key}/status", h.bearer(h.apiStatus))
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiErr{Error: "no such route"})
	})
}

// apiHandler is an API handler that runs for an authenticated user.
type apiHandler func(w http.ResponseWriter, r *http.Request, u ticket.User)

// bearer authenticates the request's bearer token, answering 401 with a
// WWW-Authenticate challenge when it is missing or wrong.
func (h *Handler) bearer(next apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="guichet"`)
			writeJSON(w, http.StatusUnauthorized, apiErr{Error: "a bearer token is required"})
			return
		}
		u, err := h.opt.Tickets.TokenUser(r.Context(), strings.TrimSpace(token))
		if err != nil {
			h.apiError(w, r, err)
			return
		}
		next(w, r, u)
	})
}

// apiErr is the body of every API error; Field names the input at fault, if known.
type apiErr struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// apiError maps a ticket error to its HTTP answer. Not found and not visible give the
// same 404; anything unexpected is logged and answered 500 without details.
func (h *Handler) apiError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ticket.ErrBadCredentials):
		w.Header().Set("WWW-Authenticate", `Bearer realm="guichet", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, apiErr{Error: "invalid token"})
	case errors.Is(err, ticket.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiErr{Error: "not found"})
	case errors.Is(err, ticket.ErrForbidden):
		writeJSON(w, http.StatusForbidden, apiErr{Error: reason(err, ticket.ErrForbidden)})
	case errors.Is(err, ticket.ErrInvalid):
		msg := reason(err, ticket.ErrInvalid)
		writeJSON(w, http.StatusUnprocessableEntity, apiErr{Error: msg, Field: fieldOf(msg)})
	default:
		h.opt.Logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, slog.Any("error", err))
		writeJSON(w, http.StatusInternalServerError, apiErr{Error: "internal error"})
	}
}

// reason is err's text after the sentinel's ("ticket: invalid input: the summary is
// required" → "the summary is required").
func reason(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()); i >= 0 {
		msg = strings.TrimPrefix(msg[i+len(sentinel.Error()):], ":")
	}
	if msg = strings.TrimSpace(msg); msg == "" {
		msg = strings.TrimPrefix(sentinel.Error(), "ticket: ")
	}
	return msg
}

// fieldOf guesses the input named by a validation message.
func fieldOf(msg string) string {
	low := strings.ToLower(msg)
	for _, f := range []struct{ word, field string }{
		{"summary", "summary"}, {"description", "description"}, {"uai", "uai"}, {"status", "status"},
		{"comment", "body"}, {"participant", "participants"}, {"scope", "scope"}, {"cursor", "cursor"},
	} {
		if strings.Contains(low, f.word) {
			return f.field
		}
	}
	return ""
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// readJSON decodes the request body into v: one JSON object, no unknown field, at most
// maxAPIBody bytes. It answers 400 itself and returns false on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErr{Error: "invalid JSON body: " + err.Error()})
		return false
	}
	return true
}
