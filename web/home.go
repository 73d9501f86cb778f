package web

import "net/http"

// homeView is the data of the home page (§3).
type homeView struct {
	SupportAddress string
}

// home shows the links of §3: the request form, the list, the profile, sign in or out.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "home", h.page(w, r, "home", homeView{SupportAddress: h.opt.Portal.SupportAddress()}))
}
