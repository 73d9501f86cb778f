package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/guichet/guichet/ticket"
)

// sessionCookie names the cookie holding the session token.
const sessionCookie = "guichet_session"

type userKey struct{}

// currentUser returns the signed-in user of r, set by h.user or h.optionalUser.
func currentUser(r *http.Request) (ticket.User, bool) {
	u, ok := r.Context().Value(userKey{}).(ticket.User)
	return u, ok
}

// sessionUser reads the session cookie; ok is false without a valid session.
func (h *Handler) sessionUser(r *http.Request) (ticket.User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return ticket.User{}, false
	}
	u, err := h.opt.Portal.SessionUser(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, ticket.ErrNotFound) {
			h.opt.Logger.Error("read session", slog.Any("error", err))
		}
		return ticket.User{}, false
	}
	return u, true
}

// user lets signed-in users through; others are sent to /login?next=<this page> (or
// get 401 for a POST, whose form would be lost anyway).
func (h *Handler) user(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := h.sessionUser(r)
		if !ok {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				h.fail(w, r, http.StatusUnauthorized, "login.required")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(withUser(r.Context(), u)))
	})
}

// agent lets agents and admins through; customers get a 404, as for a page that does
// not exist.
func (h *Handler) agent(next http.HandlerFunc) http.Handler {
	return h.user(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := currentUser(r); !u.Role.IsStaff() {
			h.fail(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		next(w, r)
	})
}

// post wraps a state-changing route: cross-origin browser requests are refused.
func (h *Handler) post(next http.Handler) http.Handler { return h.csrf.Handler(next) }

// crossOrigin answers a request refused by CrossOriginProtection.
func (h *Handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.opt.Logger.Warn("cross-origin request refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"),
		"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	h.fail(w, r, http.StatusForbidden, "error.forbidden")
}

// startSession opens a session for u and sets its cookie.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u ticket.User) error {
	token, err := h.opt.Portal.NewSession(r.Context(), u.ID, h.opt.SessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(ticket.SessionMaxAge.Seconds()),
	})
	return nil
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// safeNext keeps a redirect target on this site: a path such as /requests/X?y=z, and
// "/" for anything else: a URL with a scheme or a host, //host, backslashes (browsers
// read them as slashes), control characters or spaces (browsers drop tabs and newlines,
// so "/\t/host" would become //host), or more than maxNext bytes.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsRune(next, '\\') || strings.IndexFunc(next, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 ||
		!utf8.ValidString(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// maxNext caps the length of a redirect target kept across sign-in.
const maxNext = 2048

func withUser(ctx context.Context, u ticket.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// optionalUser adds the signed-in user, if any, to r's context.
func (h *Handler) optionalUser(r *http.Request) *http.Request {
	if u, ok := h.sessionUser(r); ok {
		return r.WithContext(withUser(r.Context(), u))
	}
	return r
}
