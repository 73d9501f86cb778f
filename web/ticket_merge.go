package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// merge merges the ticket into another one (agents): its comments, files, participants
// and thread go there, it is closed with a link, its requester is told once. A refusal
// (unknown key, the same ticket, another school, already merged) is said at the field.
func (h *Handler) merge(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	key := r.PathValue("key")
	into := strings.ToUpper(strings.TrimSpace(r.PostFormValue("into")))
	dst, err := h.opt.Portal.Merge(r.Context(), u, key, into)
	var me *ticket.MergeError
	if errors.As(err, &me) {
		h.showTicket(w, r, http.StatusUnprocessableEntity, func(v *ticketView) {
			v.MergeInto = into
			v.MergeError = strings.Replace(h.pages.T(u.Lang, "merge.err_"+me.Reason), "%s", me.Key, 1)
		})
		return
	}
	if errors.Is(err, ticket.ErrForbidden) {
		err = ticket.ErrNotFound // customers do not learn that the route exists
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/requests/"+dst.Key, "merge.done", key)
}
