package web

import (
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/guichet/guichet/ticket"
)

// requestForm is what the request form (§4) holds, as typed.
type requestForm struct {
	Summary, UAI, URL, Academie, Description string
	Components                               []string
	Phone, IncidentStart, AffectedUsers      string
	RequestType                              string
	CallerEmail, CallerName                  string // phone requests only
}

// fieldError names a wrong field in the list at the top of the form.
type fieldError struct {
	ID, Label, Text string
}

// formFields orders the form's fields: name, input id, label text key.
var formFields = [][3]string{
	{"caller_email", "f-caller-email", "phone.email"},
	{"caller_name", "f-caller-name", "phone.name"},
	{"request_type", "f-type", "field.request_type"},
	{"summary", "f-summary", "field.summary"},
	{"uai", "f-uai", "field.uai"},
	{"url", "f-url", "field.url"},
	{"academie", "f-academie", "field.academie"},
	{"description", "f-description", "field.description"},
	{"components", "f-components", "field.components"},
	{"attachments", "f-attachments", "field.attachments"},
	{"phone", "f-phone", "field.phone"},
	{"incident_start", "f-incident-start", "field.incident_start"},
	{"affected_users", "f-affected-users", "field.affected_users"},
}

// readRequestForm reads the posted form; it must have been parsed.
func readRequestForm(r *http.Request) requestForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return requestForm{
		Summary: v("summary"), UAI: strings.ToUpper(v("uai")), URL: v("url"), Academie: v("academie"),
		Description: strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("description"), "\r\n", "\n")),
		Components:  r.PostForm["components"], Phone: v("phone"), IncidentStart: v("incident_start"),
		AffectedUsers: v("affected_users"), RequestType: v("request_type"),
		CallerEmail: v("caller_email"), CallerName: v("caller_name"),
	}
}

// validate returns the wrong fields of f, by name, with the reason in lang.
func (h *Handler) validate(f requestForm, lang string, phone bool) map[string]string {
	e := map[string]string{}
	t := func(key string) string { return h.pages.T(lang, key) }
	required := func(name, v string) {
		if v == "" {
			e[name] = t("err.required")
		}
	}
	long := func(name, v string, max int) {
		if _, bad := e[name]; !bad && utf8.RuneCountInString(v) > max {
			e[name] = t("err.too_long")
		}
	}
	if phone {
		required("caller_email", f.CallerEmail)
		if f.CallerEmail != "" {
			if _, err := mail.ParseAddress(f.CallerEmail); err != nil || ticket.NormalizeEmail(f.CallerEmail) == "" {
				e["caller_email"] = t("err.email")
			}
		}
		long("caller_name", f.CallerName, 200)
	}
	required("summary", f.Summary)
	long("summary", f.Summary, 250)
	required("description", f.Description)
	long("description", f.Description, 50000)
	required("uai", f.UAI)
	if f.UAI != "" {
		if !uaiShape(f.UAI) {
			e["uai"] = t("err.uai_format")
		} else if ticket.ValidateUAI(f.UAI) != nil {
			e["uai"] = t("err.uai_letter")
		}
	}
	if f.URL != "" {
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e["url"] = t("err.url")
		}
		long("url", f.URL, 2000)
	}
	if f.Academie != "" && !slices.Contains(h.opt.Academies, f.Academie) {
		e["academie"] = t("err.choice")
	}
	if f.RequestType != "" && !slices.Contains(h.opt.RequestTypes, f.RequestType) {
		e["request_type"] = t("err.choice")
	}
	comps := h.components()
	for _, c := range f.Components {
		if !slices.Contains(comps, c) {
			e["components"] = t("err.choice")
		}
	}
	long("phone", f.Phone, 100)
	long("incident_start", f.IncidentStart, 200)
	long("affected_users", f.AffectedUsers, 2000)
	return e
}

// uaiShape: seven digits and a letter, whatever the letter.
func uaiShape(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, c := range s[:7] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s[7] >= 'A' && s[7] <= 'Z'
}

// errorList orders field errors as the fields (formFields, or those given) appear.
func errorList(e map[string]string, fields ...[3]string) []fieldError {
	if fields == nil {
		fields = formFields
	}
	var out []fieldError
	for _, f := range fields {
		if msg, ok := e[f[0]]; ok {
			out = append(out, fieldError{ID: f[1], Label: f[2], Text: msg})
		}
	}
	return out
}

// components lists the form's "Composants" for the default desk.
func (h *Handler) components() []string {
	if c, ok := h.opt.Components[h.opt.Portal.DefaultDesk().Key]; ok {
		return c
	}
	return h.opt.Components[""]
}
