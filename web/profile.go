package web

import (
	_ "embed"
	"net/http"
	"strings"
	"time"

	"github.com/guichet/guichet/ticket"
)

//go:embed zones.txt
var zonesFile string

// timeZones lists the IANA zones offered on the profile page.
var timeZones = func() []string {
	var out []string
	for _, l := range strings.Split(zonesFile, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}()

// profileView is the data of the profile page (§9).
type profileView struct {
	Email, Name, NotifyEmail, PendingNotify string
	TimeZone, Lang                          string
	Zones                                   []zoneGroup
	HasAvatar                               bool
	Tokens                                  []ticket.APIToken
	NewToken                                string
	Errors                                  map[string]string
	ErrorList                               []fieldError // Errors in the page's order, for the summary
}

// profileFields orders the profile page's fields as formFields does the request form's.
var profileFields = [][3]string{
	{"avatar", "p-avatar", "profile.avatar"},
	{"name", "p-name", "profile.name"},
	{"time_zone", "p-tz", "profile.tz"},
	{"notify_email", "p-notify", "profile.notify"},
	{"current", "p-current", "profile.current"},
	{"new", "p-new", "profile.new"},
	{"confirm", "p-confirm", "profile.confirm"},
	{"token_name", "p-token-name", "profile.token_name"},
}

// profile shows the profile page.
func (h *Handler) profile(w http.ResponseWriter, r *http.Request) {
	h.showProfile(w, r, http.StatusOK, nil)
}

// showProfile renders the profile page; edit, when not nil, fills in what a form sent.
func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request, code int, edit func(*profileView)) {
	u, _ := currentUser(r)
	a, err := h.opt.Portal.Account(r.Context(), u.ID)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	tokens, err := h.opt.Portal.ListTokens(r.Context(), u)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	live := tokens[:0]
	for _, t := range tokens {
		if t.RevokedAt == nil {
			live = append(live, t)
		}
	}
	v := &profileView{
		Email: a.Email, Name: a.Name, NotifyEmail: a.NotifyEmail, PendingNotify: a.PendingNotifyEmail,
		TimeZone: a.TimeZone, Lang: a.Lang, HasAvatar: a.AvatarSHA256 != "", Tokens: live,
		Errors: map[string]string{},
	}
	if v.TimeZone == "" {
		v.TimeZone = ticket.DefaultTimeZone
	}
	v.Zones = zoneGroups(v.TimeZone)
	if edit != nil {
		edit(v)
	}
	v.ErrorList = errorList(v.Errors, profileFields...)
	h.render(w, r, code, "profile", h.page(w, r, "profile", v))
}

// profileSave saves the display name, time zone and language.
func (h *Handler) profileSave(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	p := ticket.Profile{Name: r.PostFormValue("name"), TimeZone: r.PostFormValue("time_zone"), Lang: r.PostFormValue("lang")}
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" || p.TimeZone == "Local" {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) {
			v.Name, v.Errors["time_zone"] = p.Name, h.pages.T(u.Lang, "err.timezone")
		})
		return
	}
	if _, err := h.opt.Portal.UpdateProfile(r.Context(), u, p); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/profile", "profile.saved", "")
}
