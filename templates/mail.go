package templates

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/guichet/guichet/ticket"
)

// Rendered is a rendered mail: its subject and its two alternative bodies.
type Rendered struct {
	Subject string // one line, with the [#KEY] token
	Text    string // text/plain part
	HTML    string // text/html part
}

// MailView is the data given to mail templates.
type MailView struct {
	Kind        ticket.MailKind
	Lang        string // "fr" or "en"
	Key         string // the ticket key, e.g. AURAN1-13
	Summary     string
	To          ticket.Address
	Ticket      ticket.TicketView
	Comment     *ticket.CommentView // comment mails only
	Notice      string              // notice mails only: what the agent is told, plain text
	Status      string              // label of the ticket's status, in Lang
	OldStatus   string              // label of the previous status, "" when unknown
	Link        string              // the ticket's page on the portal
	DeskName    string
	Attachments []ticket.Attachment // files attached to the mail
	NotAttached []ticket.Attachment // files too large to attach: on the ticket's page
	Internal    bool                // the comment is an internal note
	ByAgent     bool                // the comment's author is an agent
	ToAgent     bool                // the recipient is an agent or an admin: agent wording
	StopLink    string              // stops mail about this ticket to the recipient, "" for none
	// SLA warnings only: the target's name in Lang, the business time left ("1 h 30 min")
	// and when it runs out if nobody acts.
	SLAMeasure string
	SLALeft    string
	SLADue     time.Time
	// Merge mails only: the ticket merged into this one (Key).
	MergedKey, MergedSummary string
	// Rating: the answers of the satisfaction question of a closing mail to its requester,
	// from very satisfied to very dissatisfied, each a link to the rating page with it
	// preselected; RatingLink is the page with none. Empty in other mails.
	Rating     []RatingChoice
	RatingLink string

	loc *time.Location // the recipient's time zone
}

// Date formats t in the recipient's time zone, French style in French
// ("28/11/2026 13:21") and ISO style in English ("2026-11-28 13:21"). The zero time
// gives "".
func (v *MailView) Date(t time.Time) string { return formatDate(v.Lang, v.loc, t) }

// Field is one row of a mail's table of a ticket's fields: its name in the mail's
// language, the same with the colon the language puts after a label, and its value ("—"
// when the ticket has none).
type Field struct{ Name, Label, Value string }

// SummaryFields is the rows of the short table (reference, subject, status) that most mails
// show.
func (v *MailView) SummaryFields() []Field {
	return []Field{
		v.field("field.key", v.Key),
		v.field("field.summary", v.Summary),
		v.field("field.status", v.Status),
	}
}

// Fields is the rows of the table of every field of the ticket that an agent's mail about
// a new request shows.
func (v *MailView) Fields() []Field {
	none := lookup(v.Lang, "mail.none")
	or := func(s string) string {
		if s == "" {
			return none
		}
		return s
	}
	src := ""
	if s := v.Ticket.Source; s != "" {
		src = lookup(v.Lang, "source."+string(s))
	}
	t := &v.Ticket
	return []Field{
		v.field("field.key", v.Key),
		v.field("field.summary", v.Summary),
		v.field("field.status", v.Status),
		v.field("field.requester", formatAddress(t.Requester)),
		v.field("field.uai", or(t.UAI)),
		v.field("field.establishment", or(t.Establishment)),
		v.field("field.url", or(t.URL)),
		v.field("field.academie", or(t.Academie)),
		v.field("field.components", or(t.Components)),
		v.field("field.phone", or(t.Phone)),
		v.field("field.incident_start", or(t.IncidentStart)),
		v.field("field.affected_users", or(t.AffectedUsers)),
		v.field("field.request_type", or(t.RequestType)),
		v.field("field.source", or(src)),
		v.field("field.created_at", or(v.Date(t.CreatedAt))),
	}
}

func (v *MailView) field(key, value string) Field {
	return Field{Name: lookup(v.Lang, key), Label: label(v.Lang, key), Value: value}
}

// RatingChoice is one answer of the satisfaction question in a mail: its text key and
// the rating page with it preselected.
type RatingChoice struct{ Key, URL string }

// mailSet is the parsed templates of one kind in one language.
type mailSet struct {
	text *texttemplate.Template // defines "subject" and "text"
	html *htmltemplate.Template // defines "base" and "content"
}

func parseMailSet(src *source, kind ticket.MailKind, lang string) (*mailSet, error) {
	funcs := mailFuncs(lang)
	name := fmt.Sprintf("mail/%s.%s", kind, lang)

	text := texttemplate.New(name).Funcs(funcs)
	for _, file := range []string{mailCommonText, name + ".txt"} {
		body, origin, err := src.read(file)
		if err != nil {
			return nil, err
		}
		if _, err := text.New(origin).Parse(body); err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", origin, err)
		}
	}
	html := htmltemplate.New(name).Funcs(htmltemplate.FuncMap(funcs))
	for _, file := range []string{mailBase, mailCommonHTML, name + ".html"} {
		body, origin, err := src.read(file)
		if err != nil {
			return nil, err
		}
		if _, err := html.New(origin).Parse(body); err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", origin, err)
		}
	}
	fold := mailFolder(lang)
	for _, tm := range text.Templates() {
		foldTexts(tm.Tree, fold, false)
	}
	for _, tm := range html.Templates() {
		foldTexts(tm.Tree, fold, true)
	}
	for _, def := range []string{"subject", "text"} {
		if text.Lookup(def) == nil {
			return nil, fmt.Errorf("templates: %s.txt does not define %q", name, def)
		}
	}
	for _, def := range []string{"base", "content"} {
		if html.Lookup(def) == nil {
			return nil, fmt.Errorf("templates: %s.html does not define %q", name, def)
		}
	}
	return &mailSet{text: text, html: html}, nil
}

// RenderMail renders the subject and bodies of an outbound mail, in the recipient's
// language (French when it has no templates) and time zone.
func (t *Templates) RenderMail(m *ticket.OutboxMail) (Rendered, error) {
	if m == nil {
		return Rendered{}, fmt.Errorf("templates: render: no mail")
	}
	lang := normLang(m.Lang)
	set, ok := t.mail[mailID{m.Kind, lang}]
	if !ok {
		return Rendered{}, fmt.Errorf("templates: render: no templates for mail kind %q", m.Kind)
	}
	if m.Kind == ticket.MailComment && m.Data.Comment == nil {
		return Rendered{}, fmt.Errorf("templates: render %s: comment mail without a comment", m.TicketKey)
	}
	if m.Kind == ticket.MailMerged && m.Data.Merged == nil {
		return Rendered{}, fmt.Errorf("templates: render a merge mail without the merged ticket")
	}
	if m.Kind == ticket.MailSLAWarning && m.Data.SLA == nil {
		return Rendered{}, fmt.Errorf("templates: render an SLA warning without its target")
	}
	if m.Kind == ticket.MailNotice && strings.TrimSpace(m.Data.Notice) == "" {
		return Rendered{}, fmt.Errorf("templates: render %s: notice mail without a notice", m.TicketKey)
	}
	if (m.Kind == ticket.MailSignIn || m.Kind == ticket.MailConfirmAddress) && m.Data.Link == "" {
		return Rendered{}, fmt.Errorf("templates: render %s mail without a link", m.Kind)
	}
	view := newMailView(m, lang)

	var r Rendered
	subject, err := t.execText(set.text, "subject", view)
	if err != nil {
		return Rendered{}, err
	}
	r.Subject = strings.Join(strings.Fields(subject), " ")
	if token := "[#" + view.Key + "]"; view.Key != "" && !strings.Contains(r.Subject, token) { // mail about no ticket has no token
		r.Subject = strings.TrimSpace(token + " " + r.Subject)
	}
	if r.Text, err = t.execText(set.text, "text", view); err != nil {
		return Rendered{}, err
	}
	r.Text = strings.TrimSpace(r.Text) + "\n"
	if r.HTML, err = t.execHTML(set.html, view); err != nil {
		return Rendered{}, err
	}
	return r, nil
}

// maxPooledBuf is the largest render buffer kept for the next mail (see Templates.bufs):
// a rare huge mail does not keep its memory.
const maxPooledBuf = 256 << 10

func (t *Templates) getBuf() *bytes.Buffer {
	if b, ok := t.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (t *Templates) putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuf {
		b.Reset()
		t.bufs.Put(b)
	}
}

func (t *Templates) execText(set *texttemplate.Template, name string, view *MailView) (string, error) {
	b := t.getBuf()
	defer t.putBuf(b)
	if err := set.ExecuteTemplate(b, name, view); err != nil {
		return "", fmt.Errorf("templates: render %s %s: %w", set.Name(), name, err)
	}
	return b.String(), nil
}

func (t *Templates) execHTML(set *htmltemplate.Template, view *MailView) (string, error) {
	b := t.getBuf()
	defer t.putBuf(b)
	if err := set.ExecuteTemplate(b, "base", view); err != nil {
		return "", fmt.Errorf("templates: render %s: %w", set.Name(), err)
	}
	return b.String(), nil
}

func newMailView(m *ticket.OutboxMail, lang string) *MailView {
	d := m.Data
	key := d.Ticket.Key
	if key == "" {
		key = m.TicketKey
	}
	v := &MailView{
		Kind:        m.Kind,
		Lang:        lang,
		Key:         key,
		Summary:     d.Ticket.Summary,
		To:          m.To,
		Ticket:      d.Ticket,
		Comment:     d.Comment,
		Notice:      strings.TrimSpace(strings.ReplaceAll(d.Notice, "\r\n", "\n")),
		Status:      d.Ticket.Status.Label(lang),
		Link:        d.Link,
		DeskName:    d.DeskName,
		Attachments: d.Attachments,
		NotAttached: d.NotAttached,
		ToAgent:     m.ToRole.IsStaff(),
		StopLink:    d.StopLink,
		loc:         location(m.TimeZone),
	}
	if v.DeskName == "" {
		v.DeskName = lookup(lang, "desk.default")
	}
	if d.OldStatus != "" {
		v.OldStatus = d.OldStatus.Label(lang)
	}
	if m := d.Merged; m != nil {
		v.MergedKey, v.MergedSummary = m.Key, m.Summary
	}
	if w := d.SLA; w != nil {
		v.SLAMeasure = lookup(lang, "sla."+w.Measure)
		v.SLALeft = FormatBusinessDuration(w.Left)
		v.SLADue = w.Due
	}
	if d.RatingURL != "" && !v.ToAgent {
		v.RatingLink = d.RatingURL
		for score := 5; score >= 1; score-- {
			v.Rating = append(v.Rating, RatingChoice{Key: fmt.Sprintf("rating.%d", score), URL: fmt.Sprintf("%s&n=%d", d.RatingURL, score)})
		}
	}
	if c := d.Comment; c != nil {
		v.Internal = c.Visibility == ticket.Internal
		v.ByAgent = c.AuthorRole.IsStaff()
	}
	return v
}
