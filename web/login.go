package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// loginView is the data of the sign-in page.
type loginView struct {
	Email string
	Next  string
	Error string
}

// loginForm shows the sign-in page; a signed-in user goes straight to next.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := h.sessionUser(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", h.page(w, r, "login", loginView{Next: next}))
}

// login checks an address and password, within the sign-in limits (see SignInLimits),
// and opens a session. A try that must wait is answered 429 with Retry-After and is not
// checked (nor counted); a wrong password counts against the account and the client; a
// right one resets the account's count.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	next := safeNext(r.PostFormValue("next"))
	view := loginView{Email: email, Next: next}
	p := h.page(w, r, "login", &view)
	keys := h.passwordKeys(r, email)
	if wait := h.try(r.Context(), keys); wait > 0 {
		view.Error = strings.Replace(h.pages.T(p.Lang, "login.limited"), "%s", h.retryAfter(w, p.Lang, wait), 1)
		h.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	}
	u, err := h.opt.Portal.Authenticate(r.Context(), email, r.PostFormValue("password"))
	if err != nil {
		if !errors.Is(err, ticket.ErrBadCredentials) && !errors.Is(err, ticket.ErrNotFound) && !errors.Is(err, ticket.ErrInvalid) {
			h.forgive(r.Context(), keys) // the database failed, not the visitor
			h.failErr(w, r, err)
			return
		}
		view.Error = h.pages.T(p.Lang, "login.failed")
		h.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}
	h.forgive(r.Context(), keys[:1])
	h.reset(r.Context(), keys[1:])
	if err := h.startSession(w, r, u); err != nil {
		h.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session and goes home.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := h.opt.Portal.EndSession(r.Context(), c.Value); err != nil && !errors.Is(err, ticket.ErrNotFound) {
			h.opt.Logger.Error("end session", slog.Any("error", err))
		}
	}
	h.clearSession(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
