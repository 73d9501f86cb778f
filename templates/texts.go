package templates

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones for recipients, even where the system has none

	"github.com/guichet/guichet/ticket"
)

// DefaultTimeZone is the zone of dates in mail when the recipient has none.
const DefaultTimeZone = "Europe/Paris"

// texts is the catalogue of short texts: key → {French, English}. Status labels are
// ticket.Status.Label's.
var texts = map[string][2]string{
	"desk.default": {"Assistance", "Support"},
	// SLA targets, in warnings and on the portal.
	"sla.first_response": {"délai de première réponse", "time to first response"},
	"sla.resolution":     {"délai de résolution", "time to resolution"},

	"field.key":            {"Référence", "Reference"},
	"field.summary":        {"Objet de la demande", "Subject"},
	"field.status":         {"Statut", "Status"},
	"field.requester":      {"Demandeur", "Requester"},
	"field.uai":            {"RNE/UAI", "RNE/UAI"},
	"field.establishment":  {"Établissement", "School"},
	"field.url":            {"URL", "URL"},
	"field.academie":       {"Académie", "Académie"},
	"field.components":     {"Composants", "Components"},
	"field.phone":          {"Téléphone de contact", "Contact phone"},
	"field.incident_start": {"Date de début de l'incident", "Incident start"},
	"field.affected_users": {"Utilisateur(s) concerné(s)", "Affected user(s)"},
	"field.request_type":   {"Type de demande", "Request type"},
	"field.source":         {"Canal", "Channel"},
	"field.created_at":     {"Créée le", "Created"},
	"field.description":    {"Description", "Description"},
	"field.attachments":    {"Pièces jointes", "Attachments"},
	"mail.not_attached":    {"trop volumineux pour l'e-mail : sur la page de la requête", "too large for mail: on the request's page"},

	"source.email": {"E-mail", "Email"},
	"source.web":   {"Portail", "Portal"},
	"source.phone": {"Téléphone", "Phone"},

	"mail.none":            {"—", "—"},
	"mail.view_request":    {"Voir la demande", "View the request"},
	"mail.reply_hint":      {"Répondez à ce message pour compléter votre demande.", "Reply to this message to add to your request."},
	"mail.agent_hint":      {"Vous pouvez répondre au demandeur en répondant à ce message.", "You can answer the requester by replying to this message."},
	"mail.internal_note":   {"Note interne", "Internal note"},
	"mail.internal_hint":   {"Note interne : visible uniquement par les agents, le demandeur ne la reçoit pas.", "Internal note: visible to agents only, the requester does not receive it."},
	"mail.automatic":       {"Ce message a été envoyé automatiquement par le service d'assistance.", "This message was sent automatically by the support desk."},
	"mail.rating_question": {"Êtes-vous satisfait(e) de la réponse apportée à votre demande ?", "Are you satisfied with the answer given to your request?"},
	"mail.rating_hint":     {"Choisissez une réponse : une page s'ouvre où vous pouvez ajouter un commentaire, puis enregistrer votre avis. Vous pourrez le modifier pendant 7 jours.", "Choose an answer: a page opens where you can add a comment, then save your rating. You can change it for 7 days."},
	"mail.rating_comment":  {"Répondre avec un commentaire", "Answer with a comment"},
	"rating.5":             {"Très satisfait(e)", "Very satisfied"},
	"rating.4":             {"Satisfait(e)", "Satisfied"},
	"rating.3":             {"Ni satisfait(e) ni insatisfait(e)", "Neither satisfied nor dissatisfied"},
	"rating.2":             {"Insatisfait(e)", "Dissatisfied"},
	"rating.1":             {"Très insatisfait(e)", "Very dissatisfied"},
	"mail.stop":            {"Ne plus recevoir de messages pour cette demande", "Stop receiving mail about this request"},

	// Agent wording: what a reply does, and the command lines it may start with. Mail to
	// customers never shows these.
	"mail.agent_reply":    {"Répondre à ce message répond au demandeur", "Replying to this message answers the requester"},
	"mail.agent_note":     {"Une ligne #note en tête de la réponse en fait une note interne, que le demandeur ne reçoit pas.", "A line #note at the top of your reply makes it an internal note, which the requester does not receive."},
	"mail.agent_commands": {"Commandes, une par ligne en tête de la réponse : #statut <code>, #fermer, #assigner <adresse|moi>, #participant <adresse>.", "Commands, one per line at the top of your reply: #status <code>, #close, #assign <address|me>, #participant <address>."},
	"mail.status_codes":   {"Codes de statut", "Status codes"},
}

// T returns the text for key in lang ("fr", "en"; French for any other), the French text
// when the language has none, and the key itself when the catalogue has no such text.
func (t *Templates) T(lang, key string) string { return lookup(normLang(lang), key) }

func lookup(lang, key string) string {
	v, ok := texts[key]
	if !ok {
		return key
	}
	if lang == "en" && v[1] != "" {
		return v[1]
	}
	return v[0]
}

// mailFuncs returns the template functions of one language.
func mailFuncs(lang string) map[string]any {
	return map[string]any{
		"t":      func(key string) string { return lookup(lang, key) },
		"status": func(s ticket.Status) string { return s.Label(lang) },
		"source": func(s ticket.Source) string {
			if s == "" {
				return ""
			}
			return lookup(lang, "source."+string(s))
		},
		"size":        func(n int64) string { return formatSize(lang, n) },
		"label":       func(key string) string { return label(lang, key) },
		"statusCodes": func() string { return statusCodes(lang) },
		"addr":        formatAddress,
		"list":        func(v ...any) []any { return v },
		"lines":       splitLines,
		"statuses":    func() []ticket.Status { return ticket.Statuses },
	}
}

// label is the text of key followed by a colon: "Statut :" in French (whose typography
// puts a space before it), "Status:" in English.
func label(lang, key string) string {
	if lang == "en" {
		return lookup(lang, key) + ":"
	}
	return lookup(lang, key) + " :"
}

// statusCodes lists the statuses' codes with their labels in lang, as agents' mails
// show them: "new (Nouveau), open (Ouvert), …".
func statusCodes(lang string) string {
	var b strings.Builder
	for i, s := range ticket.Statuses {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(s) + " (" + s.Label(lang) + ")")
	}
	return b.String()
}

// formatSize formats a file size for people: "12 Ko" in French, "12 KB" in English.
func formatSize(lang string, n int64) string {
	units := []string{"o", "Ko", "Mo", "Go"}
	if lang == "en" {
		units = []string{"B", "KB", "MB", "GB"}
	}
	if n < 1024 {
		return fmt.Sprintf("%d %s", n, units[0])
	}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := fmt.Sprintf("%.1f %s", f, units[i])
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// locations caches loaded time zones: name → *time.Location.
var locations sync.Map

// formatDate formats t in loc (nil: the default time zone) for readers of lang: French
// style ("28/11/2026 13:21") unless lang is "en" (ISO style, "2026-11-28 13:21"). The zero
// time gives "". Mails and pages share it, so a date reads the same in both.
func formatDate(lang string, loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = location("")
	}
	if lang == "en" {
		return t.In(loc).Format("2006-01-02 15:04")
	}
	return t.In(loc).Format("02/01/2006 15:04")
}

// Location is the time zone of that name, DefaultTimeZone when it is empty or unknown.
func Location(name string) *time.Location { return location(name) }

// location loads an IANA time zone, DefaultTimeZone when name is empty or unknown.
func location(name string) *time.Location {
	for _, n := range []string{name, DefaultTimeZone} {
		if n == "" {
			continue
		}
		if loc, ok := locations.Load(n); ok {
			return loc.(*time.Location)
		}
		if loc, err := time.LoadLocation(n); err == nil {
			locations.Store(n, loc)
			return loc
		}
	}
	return time.UTC
}

// formatAddress shows a mailbox to people: "Name <address>", or the bare address.
func formatAddress(a ticket.Address) string {
	switch {
	case a.Name == "":
		return a.Email
	case a.Email == "":
		return a.Name
	}
	return a.Name + " <" + a.Email + ">"
}

// splitLines cuts plain text into its lines, for HTML that shows them with <br>.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")
}

// FormatBusinessDuration writes a business duration the way both languages read it:
// "45 min", "2 h", "2 h 30 min"; negative durations are written as their size.
func FormatBusinessDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	m := int((d + 30*time.Second) / time.Minute)
	h, m := m/60, m%60
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %02d min", h, m)
}
