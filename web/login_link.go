package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// messageView is the data of a page that only says something.
type messageView struct {
	Title, Text    string
	Link, LinkText string
}

// loginLinkRequest mails a sign-in link. The answer is the same whether the address is
// known or not, so that addresses cannot be probed. Every request counts against the
// link limits of the address and of the client (SignInLimits.LinkAccount, LinkClient),
// known address or not, so that the form cannot flood a mailbox; past them it answers
// 429 with Retry-After.
func (h *Handler) loginLinkRequest(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	p := h.page(w, r, "login", nil)
	if wait := h.try(r.Context(), h.linkKeys(r, email)); wait > 0 {
		msg := strings.Replace(h.pages.T(p.Lang, "login.link_limited"), "%s", h.retryAfter(w, p.Lang, wait), 1)
		p.Data = loginView{Email: email, Next: safeNext(r.PostFormValue("next")), Error: msg}
		h.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	}
	if err := h.opt.Portal.RequestSignInLink(r.Context(), email); err != nil {
		// Invalid addresses get the same answer as unknown ones; other failures are
		// logged, and the answer stays the same so that it tells nothing.
		level := slog.LevelError
		if errors.Is(err, ticket.ErrInvalid) || errors.Is(err, ticket.ErrNotFound) {
			level = slog.LevelInfo
		}
		h.opt.Logger.Log(r.Context(), level, "sign-in link not sent", slog.Any("error", err))
	}
	p.Data = messageView{Title: h.pages.T(p.Lang, "login.link_title_ok"), Text: h.pages.T(p.Lang, "login.link_sent"),
		Link: "/login", LinkText: h.pages.T(p.Lang, "login.title")}
	h.render(w, r, http.StatusOK, "message", p)
}

// loginLink opens a session from a sign-in link (single use, 15 minutes). A GET that
// signs in is acceptable here: the token is single use and only its holder has it.
func (h *Handler) loginLink(w http.ResponseWriter, r *http.Request) {
	u, err := h.opt.Portal.UseSignInLink(r.Context(), r.URL.Query().Get("t"))
	if err != nil {
		p := h.page(w, r, "login", nil)
		p.Data = loginView{Error: h.pages.T(p.Lang, "login.link_bad"), Next: "/"}
		h.render(w, r, http.StatusNotFound, "login", p)
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
