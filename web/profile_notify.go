package web

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// notifySave asks for a new notification address: it is used only once confirmed from
// the link mailed to it.
func (h *Handler) notifySave(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	email := strings.TrimSpace(r.PostFormValue("notify_email"))
	if _, err := mail.ParseAddress(email); err != nil || ticket.NormalizeEmail(email) == "" {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) {
			v.NotifyEmail, v.Errors["notify_email"] = email, h.pages.T(u.Lang, "err.email")
		})
		return
	}
	err := h.opt.Portal.RequestNotifyAddress(r.Context(), u, email)
	if errors.Is(err, ticket.ErrInvalid) {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) {
			v.NotifyEmail, v.Errors["notify_email"] = email, h.pages.T(u.Lang, "err.email")
		})
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/profile", "profile.notify_sent", "")
}

// confirmNotifyForm answers the link mailed to a new notification address (after
// sign-in, like every page) with a button that posts it: the GET changes nothing, since
// mail scanners open links before the person does.
func (h *Handler) confirmNotifyForm(w http.ResponseWriter, r *http.Request) {
	p := h.page(w, r, "profile", nil)
	p.Data = confirmView{Title: h.pages.T(p.Lang, "profile.notify"), Text: h.pages.T(p.Lang, "profile.notify_confirm_text"),
		Action: "/profile/confirm", Button: h.pages.T(p.Lang, "profile.notify_confirm"),
		Fields: []hiddenField{{"t", r.URL.Query().Get("t")}}}
	h.render(w, r, http.StatusOK, "confirm", p)
}

// confirmNotify confirms a notification address (the POST of confirmNotifyForm's button).
func (h *Handler) confirmNotify(w http.ResponseWriter, r *http.Request) {
	p := h.page(w, r, "profile", nil)
	key, code := "profile.notify_ok", http.StatusOK
	if _, err := h.opt.Portal.ConfirmNotifyAddress(r.Context(), r.PostFormValue("t")); err != nil {
		if !errors.Is(err, ticket.ErrNotFound) && !errors.Is(err, ticket.ErrInvalid) {
			h.failErr(w, r, err)
			return
		}
		key, code = "profile.notify_bad", http.StatusNotFound
	}
	p.Data = messageView{Title: h.pages.T(p.Lang, "profile.notify"), Text: h.pages.T(p.Lang, key),
		Link: "/profile", LinkText: h.pages.T(p.Lang, "profile.title")}
	h.render(w, r, code, "message", p)
}
