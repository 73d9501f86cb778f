package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// flashCookie carries a message to the page after a redirect: a text key, and an
// argument after "|".
const flashCookie = "guichet_flash"

// flashAreas are the prefixes of the text keys a flash cookie may name: nothing else is
// shown, so that a forged cookie cannot put an arbitrary text on the page.
var flashAreas = []string{"ticket.", "profile.", "replies.", "merge."}

// page starts the data of a page for r's user (when signed out: Paris time, and French
// unless Accept-Language puts English first).
func (h *Handler) page(w http.ResponseWriter, r *http.Request, nav string, data any) *templates.Page {
	u, ok := currentUser(r)
	if !ok {
		p := templates.NewPage(acceptLang(r.Header.Get("Accept-Language")), "")
		p.Nav, p.Data = nav, data
		p.Brand = h.brand(p.Lang)
		return p
	}
	p := templates.NewPage(u.Lang, u.TimeZone)
	p.Nav, p.Data = nav, data
	p.Brand = h.brand(p.Lang)
	p.User = &templates.PageUser{Email: u.Email, Name: u.Name, Staff: u.Role.IsStaff()}
	if a, err := h.opt.Portal.Account(r.Context(), u.ID); err == nil {
		p.User.HasAvatar = a.AvatarSHA256 != ""
	}
	if c, err := r.Cookie(flashCookie); err == nil && c.Value != "" {
		if v, err := url.QueryUnescape(c.Value); err == nil {
			key, arg, _ := strings.Cut(v, "|")
			if slices.ContainsFunc(flashAreas, func(a string) bool { return strings.HasPrefix(key, a) }) {
				if arg != "" {
					p.Flash = strings.Replace(h.pages.T(p.Lang, key), "%s", arg, 1)
				} else {
					p.Flash = h.pages.T(p.Lang, key)
				}
			}
		}
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	}
	return p
}

// brand is the service as the pages of lang show it.
func (h *Handler) brand(lang string) templates.PageBrand {
	b := h.opt.Brand
	v := templates.PageBrand{Name: pick(b.Name, lang), Welcome: pick(b.Welcome, lang), Phone: b.Phone,
		Hours: pick(b.Hours, lang), Logo: len(b.Logo) > 0}
	v.Tel = strings.Map(func(r rune) rune {
		if r == '+' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, v.Phone)
	if v.Welcome == "" {
		v.Welcome = strings.Replace(h.pages.T(lang, "home.welcome"), "%s", v.Name, 1)
	}
	return v
}

// render writes a page with status code.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, p *templates.Page) {
	var b strings.Builder
	if err := h.pages.Render(&b, name, p); err != nil {
		h.opt.Logger.Error("render page", "page", name, slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(b.String()))
}

// redirect sends the browser to target after a POST, with a flash message (a text key
// and an optional argument) for the next page.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, target, flashKey, arg string) {
	if flashKey != "" {
		v := flashKey
		if arg != "" {
			v += "|" + arg
		}
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(v), Path: "/", MaxAge: 60,
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// errorView is the data of the error page.
type errorView struct {
	Code int
	Text string
}

// fail renders the error page with code and the text of key.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, key string) {
	p := h.page(w, r, "", nil)
	p.Data = errorView{Code: code, Text: h.pages.T(p.Lang, key)}
	h.render(w, r, code, "error", p)
}

// failErr maps a ticket error to a page: not found (or not visible) → 404, forbidden →
// 403, invalid → 400, anything else → 500 (logged).
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "error.not_found")
	case errors.Is(err, ticket.ErrForbidden):
		h.fail(w, r, http.StatusForbidden, "error.forbidden")
	case errors.Is(err, ticket.ErrInvalid):
		h.fail(w, r, http.StatusBadRequest, "error.bad")
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
			return
		}
		h.opt.Logger.Error("portal request failed", "path", r.URL.Path, slog.Any("error", err))
		h.fail(w, r, http.StatusInternalServerError, "error.server")
	}
}
