package web

import (
	"errors"
	"net/http"

	"github.com/guichet/guichet/ticket"
)

// passwordSave changes the password: the current one (when there is one), the new one
// twice.
func (h *Handler) passwordSave(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	cur, next, confirm := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	fail := func(field, key string) {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) { v.Errors[field] = h.pages.T(u.Lang, key) })
	}
	if len([]rune(next)) < 8 {
		fail("new", "err.password_len")
		return
	}
	if next != confirm {
		fail("confirm", "err.password_eq")
		return
	}
	err := h.opt.Portal.SetPassword(r.Context(), u, cur, next)
	switch {
	case errors.Is(err, ticket.ErrBadCredentials):
		fail("current", "err.password")
	case errors.Is(err, ticket.ErrInvalid):
		fail("new", "err.password_len")
	case err != nil:
		h.failErr(w, r, err)
	default:
		h.redirect(w, r, "/profile", "profile.password_ok", "")
	}
}
