package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// tokenCreate creates an API token and shows it once.
func (h *Handler) tokenCreate(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) { v.Errors["token_name"] = h.pages.T(u.Lang, "err.required") })
		return
	}
	plain, err := h.opt.Portal.CreateToken(r.Context(), u, name)
	if errors.Is(err, ticket.ErrInvalid) {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) { v.Errors["token_name"] = h.pages.T(u.Lang, "err.too_long") })
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	// Shown in the answer to the POST itself, never put in a URL or a cookie.
	h.showProfile(w, r, http.StatusOK, func(v *profileView) { v.NewToken = plain })
}

// tokenRevoke revokes one of the user's tokens.
func (h *Handler) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err := h.opt.Portal.RevokeToken(r.Context(), u, id); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/profile", "profile.token_revoked", "")
}
