package web

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// participantAdd adds a participant (§5): only people the establishment allows; a
// refusal is shown next to the field.
func (h *Handler) participantAdd(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	key := r.PathValue("key")
	email := strings.TrimSpace(r.PostFormValue("email"))
	fail := func(textKey string) {
		h.showTicket(w, r, http.StatusUnprocessableEntity, func(v *ticketView) {
			v.ParticipantEmail, v.ParticipantError = email, h.pages.T(u.Lang, textKey)
		})
	}
	if _, err := mail.ParseAddress(email); err != nil || ticket.NormalizeEmail(email) == "" {
		fail("err.email")
		return
	}
	err := h.opt.Portal.AddParticipant(r.Context(), u, key, ticket.Address{Email: email})
	switch {
	case err == nil:
		h.redirect(w, r, "/requests/"+key, "ticket.participant_ok", "")
	case errors.Is(err, ticket.ErrForbidden):
		// Either not on the whitelist, or the user may not add people: the message
		// says what the service checked.
		fail("err.not_allowed")
	case errors.Is(err, ticket.ErrInvalid):
		fail("err.email")
	default:
		h.failErr(w, r, err)
	}
}

// participantRemove removes a participant: agents and the requester remove anyone,
// participants themselves.
func (h *Handler) participantRemove(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	key := r.PathValue("key")
	if err := h.opt.Portal.RemoveParticipant(r.Context(), u, key, r.PostFormValue("email")); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/requests/"+key, "ticket.saved", "")
}
