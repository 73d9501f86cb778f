package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// status changes a ticket's status: agents to any status, the requester to closed.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	key := r.PathValue("key")
	st, ok := ticket.ParseStatus(r.PostFormValue("status"))
	if !ok {
		h.fail(w, r, http.StatusBadRequest, "error.bad")
		return
	}
	if err := h.opt.Portal.ChangeStatus(r.Context(), u, key, st); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/requests/"+key, "ticket.saved", "")
}

// assign gives the ticket to an agent (agents only); "me" assigns oneself, an empty
// address unassigns.
func (h *Handler) assign(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	key := r.PathValue("key")
	email := strings.TrimSpace(r.PostFormValue("email"))
	if r.PostFormValue("me") != "" {
		email = u.Email
	}
	err := h.opt.Portal.Assign(r.Context(), u, key, email)
	if errors.Is(err, ticket.ErrInvalid) && u.Role.IsStaff() {
		h.showTicket(w, r, http.StatusUnprocessableEntity, func(v *ticketView) {
			v.AssignEmail, v.AssignError = email, h.pages.T(u.Lang, "err.agent")
		})
		return
	}
	if errors.Is(err, ticket.ErrForbidden) {
		err = ticket.ErrNotFound // customers do not learn that the route exists
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/requests/"+key, "ticket.saved", "")
}
