package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// ticketView is the data of the ticket page (§5, §8).
type ticketView struct {
	Key, Summary, Description string
	Status                    ticket.Status
	Requester, Desk, Assignee string
	CreatedAt, UpdatedAt      time.Time
	Fields                    []fieldView
	Attachments               []fileView
	Participants              []participantView
	Activity                  []activityView
	Staff, CanComment         bool
	CanClose                  bool
	SLA                       []slaView           // agents only
	Replies                   []ticket.SavedReply // agents only: what the comment box can insert
	Reply                     string              // the saved reply just inserted
	// Satisfaction: agents see every rating of the ticket, its requester their own and,
	// while the closing can be rated, the link to do it (RateURL, until RateUntil).
	Ratings   []ticket.Rating
	RateURL   string
	RateUntil time.Time
	Rated     bool // the current closing is rated: the link changes the rating

	// What a form that failed sends back.
	CommentBody, CommentError          string
	ParticipantEmail, ParticipantError string
	AssignEmail, AssignError           string
	MergeInto, MergeError              string
	MergedInto                         string // the ticket this one was merged into
}

type fieldView struct{ Label, Value, Link string }

type fileView struct {
	Filename string
	Size     int64
	URL      string
}

type participantView struct {
	Email, Name string // Name: the display name, or the address when none is known
	CanRemove   bool
}

// activityView is one entry of the activity stream: a comment or an event.
type activityView struct {
	Kind                          string // "comment" or "event"
	ID                            int64
	At                            time.Time
	Author, Body, Text            string
	Source                        ticket.Source
	Internal, Automatic, Verified bool
	Attachments                   []fileView
	InboundID                     int64
	HTML                          string // sanitised HTML of a mail comment
}

// ticketPage shows a ticket to someone who may see it; anyone else gets the 404 of a
// ticket that does not exist.
//
// An agent's "Insérer la réponse" button sends the comment box here by GET, with the
// chosen saved reply (reply) and what was typed (body): the page comes back with the
// reply, filled for this ticket, added to the text.
func (h *Handler) ticketPage(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	q := r.URL.Query()
	name := strings.TrimSpace(q.Get("reply"))
	if name == "" || !u.Role.IsStaff() {
		h.showTicket(w, r, http.StatusOK, nil)
		return
	}
	body := strings.TrimSpace(strings.ReplaceAll(q.Get("body"), "\r\n", "\n"))
	text, err := h.opt.Portal.ReplyFor(r.Context(), u, r.PathValue("key"), name)
	if errors.Is(err, ticket.ErrNotFound) {
		h.showTicket(w, r, http.StatusOK, func(v *ticketView) {
			v.CommentBody = body
			v.CommentError = strings.Replace(h.pages.T(u.Lang, "ticket.reply_unknown"), "%s", name, 1)
		})
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if body != "" {
		text = body + "\n\n" + text
	}
	h.showTicket(w, r, http.StatusOK, func(v *ticketView) { v.CommentBody, v.Reply = text, ticket.NormalizeReplyName(name) })
}

// showTicket renders the ticket page; edit, when not nil, fills in a failed form.
func (h *Handler) showTicket(w http.ResponseWriter, r *http.Request, code int, edit func(*ticketView)) {
	u, _ := currentUser(r)
	d, err := h.opt.Portal.DetailFor(r.Context(), u, r.PathValue("key"))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	p := h.page(w, r, "requests", nil)
	v := h.ticketView(d, u, p.Lang)
	if v.Staff && v.CanComment {
		if v.Replies, err = h.opt.Portal.SavedReplies(r.Context(), u); err != nil {
			h.failErr(w, r, err)
			return
		}
	}
	rs, err := h.opt.Portal.RatingsOf(r.Context(), u, d.Key)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	v.Ratings, v.RateURL, v.RateUntil, v.Rated = rs.Ratings, rs.RateURL, rs.Until, rs.Rated
	if edit != nil {
		edit(v)
	}
	p.Data = v
	h.render(w, r, code, "ticket", p)
}

func (h *Handler) ticketView(d *ticket.Detail, u ticket.User, lang string) *ticketView {
	staff := u.Role.IsStaff()
	var sla []slaView
	if staff {
		sla = slaTargets(d.SLA)
	}
	isRequester := strings.EqualFold(d.Requester, u.Email)
	isParticipant := slices.ContainsFunc(d.Participants, func(p string) bool { return strings.EqualFold(p, u.Email) })
	v := &ticketView{
		Key: d.Key, Summary: d.Summary, Description: d.Description, Status: d.Status, Desk: d.Desk,
		Requester: d.RequesterName, Assignee: displayName(d, d.Assignee), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Staff: staff, CanComment: staff || isRequester || isParticipant, SLA: sla,
		CanClose: isRequester && d.Status != ticket.StatusClosed, MergedInto: d.MergedInto,
	}
	if desk := h.opt.Portal.DefaultDesk(); desk.Key == d.Desk && desk.Name != "" {
		v.Desk = desk.Name
	}
	if v.Requester == "" {
		v.Requester = d.Requester
	} else {
		v.Requester += " <" + d.Requester + ">"
	}
	add := func(label, value string) {
		if value != "" {
			v.Fields = append(v.Fields, fieldView{Label: label, Value: value})
		}
	}
	add("field.request_type", templates.RequestTypeLabel(lang, d.RequestType))
	add("field.uai", d.UAI)
	if d.URL != "" {
		f := fieldView{Label: "field.url", Value: d.URL}
		if strings.HasPrefix(d.URL, "https://") || strings.HasPrefix(d.URL, "http://") {
			f.Link = d.URL
		}
		v.Fields = append(v.Fields, f)
	}
	add("field.academie", d.Academie)
	add("field.components", d.Components)
	add("field.phone", d.Phone)
	add("field.incident_start", d.IncidentStart)
	add("field.affected_users", d.AffectedUsers)
	add("field.source", h.pages.T(lang, "source."+string(d.Source)))
	for _, a := range d.Attachments {
		v.Attachments = append(v.Attachments, fileOf(d.Key, a))
	}
	for _, p := range d.Participants {
		v.Participants = append(v.Participants, participantView{Email: p, Name: displayName(d, p),
			CanRemove: staff || isRequester || strings.EqualFold(p, u.Email)})
	}
	for _, c := range d.Comments {
		if c.Visibility == ticket.Internal && !staff {
			continue // DetailFor already drops them; never show one by mistake
		}
		a := activityView{Kind: "comment", ID: c.ID, At: c.CreatedAt, Author: c.AuthorName, Body: c.Body,
			Source: c.Source, Internal: c.Visibility == ticket.Internal, Automatic: c.Automatic, Verified: c.Verified, InboundID: c.InboundID, HTML: c.HTML}
		if a.Author == "" {
			a.Author = c.Author
		}
		for _, f := range c.Attachments {
			a.Attachments = append(a.Attachments, fileOf(d.Key, f))
		}
		v.Activity = append(v.Activity, a)
	}
	for _, e := range d.Events {
		switch e.Kind {
		case "participant_added", "participant_refused", "participant_removed", "assigned", "phone":
			e.Detail = displayName(d, e.Detail)
		}
		v.Activity = append(v.Activity, activityView{Kind: "event", ID: e.ID, At: e.CreatedAt, Author: displayName(d, e.Actor),
			Text: h.eventText(lang, e)})
	}
	slices.SortStableFunc(v.Activity, func(a, b activityView) int { return a.At.Compare(b.At) })
	return v
}

// displayName is how the page names the person of address addr: their display name, or
// the address when no name is known.
func displayName(d *ticket.Detail, addr string) string {
	if n := d.Names[addr]; n != "" {
		return n
	}
	if n := d.Names[ticket.NormalizeEmail(addr)]; n != "" {
		return n
	}
	return addr
}

func fileOf(key string, a ticket.Attachment) fileView {
	return fileView{Filename: a.Filename, Size: a.Size, URL: "/requests/" + key + "/attachments/" + a.SHA256}
}

// eventText says what an event did, in lang.
func (h *Handler) eventText(lang string, e ticket.Event) string {
	t := func(key string, args ...string) string {
		s := h.pages.T(lang, key)
		for _, a := range args {
			s = strings.Replace(s, "%s", a, 1)
		}
		return s
	}
	switch e.Kind {
	case "status":
		from, to, ok := strings.Cut(e.Detail, " → ")
		if ok {
			return t("event.status", ticket.Status(from).Label(lang), ticket.Status(to).Label(lang))
		}
	case "assigned":
		if e.Detail == "" {
			return t("event.unassigned")
		}
		return t("event.assigned", e.Detail)
	case "participant_added", "participant_refused", "participant_removed", "muted", "followed_by", "held", "held_released", "bounce", "phone":
		return t("event."+e.Kind, e.Detail)
	case "merged_into", "merged_from":
		return t("event."+e.Kind, e.Detail)
	case "sla_warning", "sla_breach":
		return t("event."+e.Kind, t("sla.measure."+e.Detail))
	case "rating":
		if n, err := strconv.Atoi(e.Detail); err == nil && n >= 1 && n <= 5 {
			return t("event.rating", t("rating."+e.Detail))
		}
	}
	return t("event.other", e.Kind, e.Detail)
}
