package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// formView is the data of the request form (§4), also used for phone requests (§2.2).
type formView struct {
	Phone        bool
	Action       string
	Form         requestForm
	Errors       map[string]string
	ErrorList    []fieldError
	Kept         []keptFile
	RequestID    string
	Academies    []string
	Components   []string
	RequestTypes []string
	// Establishments are the UAIs a customer may file for (a select when several);
	// nil for agents, who may file for any. UAIRequired is false for a customer who
	// belongs to none: their request goes without one.
	Establishments []string
	UAIRequired    bool
}

func (h *Handler) newFormView(r *http.Request, phone bool) *formView {
	v := &formView{Phone: phone, Action: "/requests/new", Academies: h.opt.Academies, Components: h.components(),
		RequestTypes: h.opt.RequestTypes, RequestID: newRequestID()}
	if phone {
		v.Action = "/agent/phone"
	}
	if len(v.RequestTypes) > 0 {
		v.Form.RequestType = v.RequestTypes[0]
	}
	v.UAIRequired = true
	if u, ok := currentUser(r); ok && !phone {
		v.Form.UAI = u.UAI
		if !u.Role.IsStaff() {
			v.Establishments = u.Establishments()
			v.UAIRequired = len(v.Establishments) > 0
			if len(v.Establishments) > 0 {
				v.Form.UAI = v.Establishments[0]
			}
		}
	}
	return v
}

// newRequestID makes the hidden id that turns a double submit into one ticket.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestForm shows the empty request form.
func (h *Handler) requestForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "request_form", h.page(w, r, "new", h.newFormView(r, false)))
}

// requestCreate validates the form and creates the ticket; with errors it shows the
// form again with everything typed, files included, and each error next to its field.
func (h *Handler) requestCreate(w http.ResponseWriter, r *http.Request) {
	h.createFromForm(w, r, false)
}

func (h *Handler) createFromForm(w http.ResponseWriter, r *http.Request, phone bool) {
	u, _ := currentUser(r)
	if err := h.parseUpload(w, r); err != nil {
		h.failErr(w, r, err)
		return
	}
	view := h.newFormView(r, phone)
	nav := "new"
	if phone {
		nav = "phone"
	}
	p := h.page(w, r, nav, view)
	view.Form = readRequestForm(r)
	if id := strings.TrimSpace(r.PostFormValue("request_id")); id != "" && len(id) <= 64 {
		view.RequestID = id
	}
	view.Errors = h.validate(view.Form, p.Lang, phone)
	if !view.UAIRequired && view.Form.UAI == "" {
		delete(view.Errors, "uai") // a customer of no establishment files without one
	}
	if _, bad := view.Errors["uai"]; !bad && !ticket.MayFileFor(u, view.Form.UAI) {
		view.Errors["uai"] = h.otherEstablishment(p.Lang, u)
	}
	files, err := h.storeFiles(r, "attachments")
	switch {
	case errors.Is(err, errTooBig):
		view.Errors["attachments"] = strings.Replace(h.pages.T(p.Lang, "err.too_big"), "%s", sizeText(p.Lang, h.opt.MaxUpload), 1)
	case err != nil:
		h.opt.Logger.Warn("store upload", "error", err)
		view.Errors["attachments"] = h.pages.T(p.Lang, "err.upload")
	}
	if len(view.Errors) == 0 {
		req := ticket.TicketRequest{RequestID: view.RequestID, NewTicket: ticket.NewTicket{
			Summary: view.Form.Summary, Description: view.Form.Description, UAI: view.Form.UAI, URL: view.Form.URL,
			Academie: view.Form.Academie, Components: strings.Join(view.Form.Components, ", "), Phone: view.Form.Phone,
			IncidentStart: view.Form.IncidentStart, AffectedUsers: view.Form.AffectedUsers,
			RequestType: view.Form.RequestType, Source: ticket.SourceWeb, Attachments: files,
		}}
		if phone {
			req.Source = ticket.SourcePhone
			req.Requester = ticket.Address{Email: view.Form.CallerEmail, Name: view.Form.CallerName}
		}
		t, err := h.opt.Portal.CreateTicket(r.Context(), u, req)
		if err == nil {
			flash := "ticket.created_ok"
			if phone {
				flash = "ticket.phone_created_ok" // words for the agent, not the caller
			}
			h.redirect(w, r, "/requests/"+t.Key, flash, t.Key)
			return
		}
		switch {
		case errors.Is(err, ticket.ErrOtherEstablishment):
			view.Errors["uai"] = h.otherEstablishment(p.Lang, u)
		case !errors.Is(err, ticket.ErrInvalid):
			h.failErr(w, r, err)
			return
		default:
			// The service's own checks: name the field when we can tell which.
			field := "summary"
			if strings.Contains(err.Error(), "UAI") {
				field = "uai"
			} else if strings.Contains(err.Error(), "description") {
				field = "description"
			}
			view.Errors[field] = h.pages.T(p.Lang, "err.generic")
		}
	}
	for _, f := range files {
		view.Kept = append(view.Kept, h.keepToken(f))
	}
	view.ErrorList = errorList(view.Errors)
	h.render(w, r, http.StatusUnprocessableEntity, "request_form", p)
}

// otherEstablishment is the error of the UAI field when a customer names an
// establishment they do not belong to.
func (h *Handler) otherEstablishment(lang string, u ticket.User) string {
	if e := u.Establishments(); len(e) > 0 {
		return strings.Replace(h.pages.T(lang, "err.uai_other"), "%s", strings.Join(e, ", "), 1)
	}
	return h.pages.T(lang, "err.uai_none")
}

// sizeText formats a size in whole megabytes.
func sizeText(lang string, n int64) string {
	if lang == "en" {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d Mo", n>>20)
}
