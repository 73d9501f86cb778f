package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// passwordSave changes the password: the current one (when there is one), the new one
// twice. A wrong current password counts against the account's sign-in limit, like a
// wrong password at sign-in, so a session in other hands cannot guess it unslowed.
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
	keys := []limitKey{h.accountKey(u.Email)}
	if wait := h.try(r.Context(), keys); wait > 0 {
		msg := strings.Replace(h.pages.T(u.Lang, "login.pw_limited"), "%s", h.retryAfter(w, u.Lang, wait), 1)
		h.showProfile(w, r, http.StatusTooManyRequests, func(v *profileView) { v.Errors["current"] = msg })
		return
	}
	err := h.opt.Portal.SetPassword(r.Context(), u, cur, next)
	switch {
	case errors.Is(err, ticket.ErrBadCredentials):
		fail("current", "err.password")
	case errors.Is(err, ticket.ErrInvalid):
		h.forgive(r.Context(), keys)
		fail("new", "err.password_len")
	case err != nil:
		h.forgive(r.Context(), keys)
		h.failErr(w, r, err)
	default:
		h.reset(r.Context(), keys)
		h.redirect(w, r, "/profile", "profile.password_ok", "")
	}
}
