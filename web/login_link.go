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
	if err := h.opt.Portal.RequestSignInLink(r.Context(), email, safeNext(r.PostFormValue("next"))); err != nil {
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

// confirmView is the data of a page that asks to confirm an action with a button: the
// target of a link in a mail, which mail scanners open before the person does.
type confirmView struct {
	Title, Text, Action, Button string
	Fields                      []hiddenField
}

type hiddenField struct{ Name, Value string }

// loginLinkForm answers the sign-in link of a mail (/login/link?t=…&next=…) with a
// button that posts it: the GET changes nothing, since mail scanners (Outlook Safe Links
// and others) open every link of a mail before the person does, and would spend it.
func (h *Handler) loginLinkForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := h.page(w, r, "login", nil)
	p.Data = confirmView{Title: h.pages.T(p.Lang, "login.title"), Text: h.pages.T(p.Lang, "login.link_use_text"),
		Action: "/login/link/use", Button: h.pages.T(p.Lang, "login.link_use"),
		Fields: []hiddenField{{"t", q.Get("t")}, {"next", safeNext(q.Get("next"))}}}
	h.render(w, r, http.StatusOK, "confirm", p)
}

// loginLink spends a sign-in link (single use, 15 minutes; the POST of loginLinkForm's
// button), opens a session and goes to the page asked for (next, a local path).
func (h *Handler) loginLink(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	u, err := h.opt.Portal.UseSignInLink(r.Context(), r.PostFormValue("t"))
	if err != nil {
		if !errors.Is(err, ticket.ErrNotFound) && !errors.Is(err, ticket.ErrInvalid) {
			h.failErr(w, r, err)
			return
		}
		p := h.page(w, r, "login", nil)
		p.Data = loginView{Error: h.pages.T(p.Lang, "login.link_bad"), Next: next}
		h.render(w, r, http.StatusNotFound, "login", p)
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
