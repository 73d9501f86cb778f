package web

import "net/http"

// phoneForm shows the request form for a request taken on the phone (§2.2): the agent
// fills it in on the caller's behalf.
func (h *Handler) phoneForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "request_form", h.page(w, r, "phone", h.newFormView(r, true)))
}

// phoneCreate creates the ticket with source phone and the caller as requester; the
// caller gets the usual confirmation.
func (h *Handler) phoneCreate(w http.ResponseWriter, r *http.Request) { h.createFromForm(w, r, true) }
