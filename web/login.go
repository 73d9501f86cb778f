package web

import (
	"errors"
	"log/slog"
	"net"
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

// login checks an address and password, within the rate limits, and opens a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	next := safeNext(r.PostFormValue("next"))
	view := loginView{Email: email, Next: next}
	p := h.page(w, r, "login", &view)
	if !h.allowLogin(r, email) {
		view.Error = h.pages.T(p.Lang, "login.limited")
		h.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	}
	u, err := h.opt.Portal.Authenticate(r.Context(), email, r.PostFormValue("password"))
	if err != nil {
		if !errors.Is(err, ticket.ErrBadCredentials) && !errors.Is(err, ticket.ErrNotFound) && !errors.Is(err, ticket.ErrInvalid) {
			h.failErr(w, r, err)
			return
		}
		view.Error = h.pages.T(p.Lang, "login.failed")
		h.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// allowLogin counts a sign-in attempt against the limits per address and per client
// IP. A limiter that fails lets the attempt through (fail open) and is logged: locking
// everyone out when Redis is down would be worse than a slower brute force.
func (h *Handler) allowLogin(r *http.Request, email string) bool {
	if h.opt.Limiter == nil {
		return true
	}
	keys := []string{"guichet:login:ip:" + clientIP(r)}
	if e := ticket.NormalizeEmail(email); e != "" {
		keys = append(keys, "guichet:login:addr:"+e)
	}
	allowed := true
	for _, k := range keys {
		ok, err := h.opt.Limiter.Allow(r.Context(), k, h.opt.LoginLimit, h.opt.LoginWindow)
		if err != nil {
			h.opt.Logger.Warn("sign-in rate limit unavailable: allowing", slog.Any("error", err))
			continue
		}
		if !ok {
			allowed = false
		}
	}
	return allowed
}

// clientIP is the address of the peer (proxies' headers are not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
