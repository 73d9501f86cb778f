package web

import "net/http"

// accessibilityView is the data of the accessibility statement.
type accessibilityView struct {
	SupportAddress string
}

// accessibility shows the accessibility statement RGAA asks for: the conformity state
// and how it was checked, what is not accessible, how to report a problem (the desk's
// address and phone support) and the recourse. Open to everyone, signed in or not.
func (h *Handler) accessibility(w http.ResponseWriter, r *http.Request) {
	r = h.optionalUser(r)
	h.render(w, r, http.StatusOK, "accessibility",
		h.page(w, r, "accessibility", accessibilityView{SupportAddress: h.opt.Portal.SupportAddress()}))
}

// notFound answers a path the portal does not have with its 404 page (rather than the
// bare text of net/http), in the user's language and with their navigation.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, h.optionalUser(r), http.StatusNotFound, "error.not_found")
}
