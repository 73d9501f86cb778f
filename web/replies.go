package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// repliesView is the agents' page of saved replies: the list, and the form to add one or
// change the one being edited.
type repliesView struct {
	Replies   []ticket.SavedReply
	Form      ticket.SavedReply
	Editing   bool
	Errors    map[string]string
	ErrorList []fieldError
}

// replyFields orders the form's fields: name, input id, label text key.
var replyFields = [][3]string{
	{"name", "r-name", "reply.name"},
	{"title", "r-title", "reply.title"},
	{"body_fr", "r-body-fr", "reply.body_fr"},
	{"body_en", "r-body-en", "reply.body_en"},
}

// replies lists the saved replies with an empty form; /agent/replies/{name} fills the
// form with that reply to change it.
func (h *Handler) replies(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	v := &repliesView{}
	if name := r.PathValue("name"); name != "" {
		sr, err := h.opt.Portal.SavedReply(r.Context(), u, name)
		if err != nil {
			h.failErr(w, r, err)
			return
		}
		v.Form, v.Editing = sr, true
	}
	h.showReplies(w, r, http.StatusOK, v)
}

func (h *Handler) showReplies(w http.ResponseWriter, r *http.Request, code int, v *repliesView) {
	u, _ := currentUser(r)
	list, err := h.opt.Portal.SavedReplies(r.Context(), u)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	v.Replies = list
	for _, f := range replyFields {
		if text, ok := v.Errors[f[0]]; ok {
			v.ErrorList = append(v.ErrorList, fieldError{ID: f[1], Label: f[2], Text: text})
		}
	}
	h.render(w, r, code, "replies", h.page(w, r, "replies", v))
}

// replySave adds a saved reply or replaces the one of that name.
func (h *Handler) replySave(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	in := ticket.SavedReply{
		Name: r.PostFormValue("name"), Title: r.PostFormValue("title"),
		BodyFR: r.PostFormValue("body_fr"), BodyEN: r.PostFormValue("body_en"),
	}
	saved, err := h.opt.Portal.SaveReply(r.Context(), u, in)
	var fe *ticket.ReplyField
	if errors.As(err, &fe) {
		h.showReplies(w, r, http.StatusUnprocessableEntity, &repliesView{Form: in, Editing: r.PostFormValue("editing") != "",
			Errors: map[string]string{fe.Field: h.pages.T(u.Lang, "reply.err_"+fe.Reason)}})
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/agent/replies", "replies.saved", saved.Name)
}

// replyDelete removes a saved reply.
func (h *Handler) replyDelete(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	name := r.PathValue("name")
	if err := h.opt.Portal.DeleteReply(r.Context(), u, name); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/agent/replies", "replies.deleted", strings.ToLower(name))
}
