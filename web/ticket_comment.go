package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// comment adds a comment with its files (§8). It follows the rules of a comment by
// mail: a customer's reply moves the ticket to "En cours", an agent's public reply to
// "En attente utilisateur"; agents may make it an internal note.
func (h *Handler) comment(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	key := r.PathValue("key")
	if err := h.parseUpload(w, r); err != nil {
		h.failErr(w, r, err)
		return
	}
	body := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"))
	files, err := h.storeFiles(r, "attachments")
	if err != nil {
		msg := "err.upload"
		if errors.Is(err, errTooBig) {
			msg = "err.too_big"
		}
		h.showTicket(w, r, http.StatusUnprocessableEntity, func(v *ticketView) {
			v.CommentBody = body
			v.CommentError = strings.Replace(h.pages.T(u.Lang, msg), "%s", sizeText(u.Lang, h.opt.MaxUpload), 1)
		})
		return
	}
	in := ticket.CommentInput{Body: body, Visibility: ticket.Public, Source: ticket.SourceWeb, Attachments: files, Verified: true}
	if r.PostFormValue("internal") != "" {
		in.Visibility = ticket.Internal
	}
	_, err = h.opt.Portal.AddComment(r.Context(), u, key, in)
	var unknown *ticket.UnknownReplyError
	if errors.As(err, &unknown) {
		h.showTicket(w, r, http.StatusUnprocessableEntity, func(v *ticketView) {
			v.CommentBody = body
			v.CommentError = strings.Replace(h.pages.T(u.Lang, "ticket.reply_unknown"), "%s", unknown.Name, 1)
		})
		return
	}
	if errors.Is(err, ticket.ErrInvalid) {
		h.showTicket(w, r, http.StatusUnprocessableEntity, func(v *ticketView) {
			v.CommentBody = body
			v.CommentError = h.pages.T(u.Lang, "err.comment")
		})
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/requests/"+key+"#activity-title", "ticket.comment_added", "")
}
