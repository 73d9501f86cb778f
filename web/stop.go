package web

import (
	"errors"
	"net/http"

	"github.com/guichet/guichet/ticket"
)

// stopView is the data of the stop page.
type stopView struct {
	Key, Email, Token, Done string
}

// stopForm answers the stop link of every mail (/requests/{KEY}/stop?a=…&t=…): it asks
// to confirm with a button, since mail scanners follow links. No session is needed: the
// token proves the address got our mail. A wrong token is a 404.
func (h *Handler) stopForm(w http.ResponseWriter, r *http.Request) {
	r = h.optionalUser(r)
	q := r.URL.Query()
	v := stopView{Key: r.PathValue("key"), Email: q.Get("a"), Token: q.Get("t")}
	if !h.stopTokenOK(v) {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	h.render(w, r, http.StatusOK, "stop", h.page(w, r, "", v))
}

// stop mutes (or unmutes) mail about the ticket to the address.
func (h *Handler) stop(w http.ResponseWriter, r *http.Request) {
	r = h.optionalUser(r)
	v := stopView{Key: r.PathValue("key"), Email: r.PostFormValue("a"), Token: r.PostFormValue("t")}
	muted := r.PostFormValue("muted") != "0"
	err := h.opt.Portal.Mute(r.Context(), v.Key, v.Email, v.Token, muted)
	if errors.Is(err, ticket.ErrNotFound) || errors.Is(err, ticket.ErrInvalid) {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	p := h.page(w, r, "", &v)
	v.Done = h.pages.T(p.Lang, "stop.done")
	if !muted {
		v.Done = h.pages.T(p.Lang, "stop.resumed")
	}
	h.render(w, r, http.StatusOK, "stop", p)
}

// stopTokenOK checks a stop link's token without changing anything, when the service
// can (*ticket.Service has VerifyStopToken).
func (h *Handler) stopTokenOK(v stopView) bool {
	if s, ok := h.opt.Portal.(interface {
		VerifyStopToken(key, email, token string) bool
	}); ok {
		return s.VerifyStopToken(v.Key, ticket.NormalizeEmail(v.Email), v.Token)
	}
	return v.Token != ""
}
