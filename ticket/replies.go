package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// SavedReply is an agent's saved reply: used by name in a mail (#modele NAME) or inserted
// in the portal's comment box, in the requester's language.
type SavedReply struct {
	ID        int64     `db:"id" json:"-"`
	Name      string    `db:"name" json:"name"`
	Title     string    `db:"title" json:"title"`
	BodyFR    string    `db:"body_fr" json:"body_fr"`
	BodyEN    string    `db:"body_en" json:"body_en"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// Body is the reply's text in lang: the English version for "en" when there is one,
// else the French.
func (r SavedReply) Body(lang string) string {
	if lang == "en" && strings.TrimSpace(r.BodyEN) != "" {
		return r.BodyEN
	}
	return r.BodyFR
}

// ReplyField names the field of a saved reply that SaveReply refused.
type ReplyField struct {
	Field  string // name, title, body_fr or body_en
	Reason string // a text key of the portal: reply.err_<reason>
}

func (e *ReplyField) Error() string { return "ticket: saved reply: " + e.Field + ": " + e.Reason }

// Is makes a ReplyField match ErrInvalid.
func (e *ReplyField) Is(target error) bool { return target == ErrInvalid }

var replyNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// NormalizeReplyName is a saved reply's name as stored and looked up: lower case, trimmed.
func NormalizeReplyName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

const replyBodyMax = 20000

// SavedReplies lists the saved replies by name (agents only).
func (s *Service) SavedReplies(ctx context.Context, actor User) ([]SavedReply, error) {
	if !actor.Role.IsStaff() {
		return nil, fmt.Errorf("%w: saved replies are for agents", ErrForbidden)
	}
	out := []SavedReply{}
	if err := s.db.SelectContext(ctx, &out, s.rq.List); err != nil {
		return nil, fmt.Errorf("ticket: list saved replies: %w", err)
	}
	return out, nil
}

// SavedReply gives one saved reply by name (agents only); ErrNotFound when none has it.
func (s *Service) SavedReply(ctx context.Context, actor User, name string) (SavedReply, error) {
	if !actor.Role.IsStaff() {
		return SavedReply{}, fmt.Errorf("%w: saved replies are for agents", ErrForbidden)
	}
	return s.savedReply(ctx, s.db, name)
}

func (s *Service) savedReply(ctx context.Context, q sqlx.QueryerContext, name string) (SavedReply, error) {
	var r SavedReply
	err := sqlx.GetContext(ctx, q, &r, s.rq.ByName, NormalizeReplyName(name))
	if errors.Is(err, sql.ErrNoRows) {
		return SavedReply{}, fmt.Errorf("%w: no saved reply %q", ErrNotFound, name)
	}
	if err != nil {
		return SavedReply{}, fmt.Errorf("ticket: read saved reply %q: %w", name, err)
	}
	return r, nil
}

// SaveReply creates the saved reply of that name or replaces it (agents only). A refused
// field gives a *ReplyField.
func (s *Service) SaveReply(ctx context.Context, actor User, r SavedReply) (SavedReply, error) {
	if !actor.Role.IsStaff() {
		return SavedReply{}, fmt.Errorf("%w: saved replies are for agents", ErrForbidden)
	}
	r.Name = NormalizeReplyName(r.Name)
	r.Title = strings.TrimSpace(r.Title)
	r.BodyFR = strings.TrimSpace(strings.ReplaceAll(r.BodyFR, "\r\n", "\n"))
	r.BodyEN = strings.TrimSpace(strings.ReplaceAll(r.BodyEN, "\r\n", "\n"))
	switch {
	case r.Name == "":
		return SavedReply{}, &ReplyField{"name", "required"}
	case !replyNameRe.MatchString(r.Name):
		return SavedReply{}, &ReplyField{"name", "name"}
	case len(r.Title) > 200 || strings.ContainsAny(r.Title, "\x00\r\n"):
		return SavedReply{}, &ReplyField{"title", "title"}
	case r.BodyFR == "":
		return SavedReply{}, &ReplyField{"body_fr", "required"}
	case len(r.BodyFR) > replyBodyMax || strings.ContainsRune(r.BodyFR, 0):
		return SavedReply{}, &ReplyField{"body_fr", "too_long"}
	case len(r.BodyEN) > replyBodyMax || strings.ContainsRune(r.BodyEN, 0):
		return SavedReply{}, &ReplyField{"body_en", "too_long"}
	}
	r.UpdatedAt = s.now()
	if _, err := s.db.ExecContext(ctx, s.rq.Upsert, r.Name, r.Title, r.BodyFR, r.BodyEN, actor.ID, r.UpdatedAt); err != nil {
		return SavedReply{}, fmt.Errorf("ticket: save reply %q: %w", r.Name, err)
	}
	return s.savedReply(ctx, s.db, r.Name)
}

// DeleteReply removes a saved reply (agents only); ErrNotFound when none has that name.
func (s *Service) DeleteReply(ctx context.Context, actor User, name string) error {
	if !actor.Role.IsStaff() {
		return fmt.Errorf("%w: saved replies are for agents", ErrForbidden)
	}
	res, err := s.db.ExecContext(ctx, s.rq.Delete, NormalizeReplyName(name))
	if err != nil {
		return fmt.Errorf("ticket: delete saved reply %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no saved reply %q", ErrNotFound, name)
	}
	return nil
}

// ReplyPlaceholders are the values a saved reply's placeholders take on one ticket.
type ReplyPlaceholders struct {
	Requester, Key, Summary, Agent, Status string
}

// placeholderNames maps each placeholder, French and English, to its value.
func (p ReplyPlaceholders) values() map[string]string {
	return map[string]string{
		"demandeur": p.Requester, "requester": p.Requester,
		"cle": p.Key, "clé": p.Key, "key": p.Key, "reference": p.Key, "référence": p.Key,
		"resume": p.Summary, "résumé": p.Summary, "summary": p.Summary,
		"agent":  p.Agent,
		"statut": p.Status, "status": p.Status,
	}
}

var placeholderRe = regexp.MustCompile(`\{([\p{L}_]+)\}`)

// Fill replaces the placeholders of a text ({demandeur} or {requester}, {cle} or {key},
// {resume} or {summary}, {agent}, {statut} or {status}); unknown ones stay as written.
func (p ReplyPlaceholders) Fill(text string) string {
	vals := p.values()
	return placeholderRe.ReplaceAllStringFunc(text, func(m string) string {
		if v, ok := vals[strings.ToLower(m[1:len(m)-1])]; ok {
			return v
		}
		return m
	})
}

// replyPlaceholders are the values on ticket t, for agent, in lang.
func (s *Service) replyPlaceholders(ctx context.Context, q sqlx.QueryerContext, t *Ticket, agent User) (ReplyPlaceholders, string, error) {
	req, err := s.userByID(ctx, q, t.RequesterID)
	if err != nil {
		return ReplyPlaceholders{}, "", err
	}
	lang := req.Lang
	if lang != "en" {
		lang = "fr"
	}
	name := req.Name
	if name == "" {
		name = req.Email
	}
	agentName := agent.Name
	if agentName == "" {
		agentName = agent.Email
	}
	return ReplyPlaceholders{Requester: name, Key: t.Key, Summary: t.Summary, Agent: agentName, Status: t.Status.Label(lang)}, lang, nil
}

// ReplyFor gives saved reply name filled for ticket key, in its requester's language, as
// agent would send it (agents only).
func (s *Service) ReplyFor(ctx context.Context, agent User, key, name string) (string, error) {
	if !agent.Role.IsStaff() {
		return "", fmt.Errorf("%w: saved replies are for agents", ErrForbidden)
	}
	t, err := s.visibleTicket(ctx, s.db, key, agent)
	if err != nil {
		return "", err
	}
	r, err := s.savedReply(ctx, s.db, name)
	if err != nil {
		return "", err
	}
	p, lang, err := s.replyPlaceholders(ctx, s.db, t, agent)
	if err != nil {
		return "", err
	}
	return p.Fill(r.Body(lang)), nil
}

// templateLineRe is a line that uses a saved reply: "#modele NAME" ("#modèle",
// "#template").
var templateLineRe = regexp.MustCompile(`(?i)^#(?:modele|modèle|template):?\s+(\S+)$`)

// IsTemplateLine reports whether a line uses a saved reply, and which.
func IsTemplateLine(line string) (string, bool) {
	m := templateLineRe.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// expandTemplates replaces every "#modele NAME" line of an agent's text by the saved
// reply, filled for the ticket in its requester's language. unknown lists the names no
// saved reply has (the text is then not to be used). expanded says whether a line was
// replaced.
func (s *Service) expandTemplates(ctx context.Context, q sqlx.QueryerContext, t *Ticket, agent User, body string) (out string, expanded bool, unknown []string, err error) {
	lines := strings.Split(body, "\n")
	var p *ReplyPlaceholders
	var lang string
	for i, line := range lines {
		name, ok := IsTemplateLine(line)
		if !ok {
			continue
		}
		r, err := s.savedReply(ctx, q, name)
		if errors.Is(err, ErrNotFound) {
			unknown = append(unknown, name)
			continue
		}
		if err != nil {
			return "", false, nil, err
		}
		if p == nil {
			v, l, err := s.replyPlaceholders(ctx, q, t, agent)
			if err != nil {
				return "", false, nil, err
			}
			p, lang = &v, l
		}
		lines[i] = p.Fill(r.Body(lang))
		expanded = true
	}
	return strings.Join(lines, "\n"), expanded, unknown, nil
}

// UnknownReplyError: a comment uses a saved reply that does not exist. It matches
// ErrInvalid.
type UnknownReplyError struct{ Name string }

func (e *UnknownReplyError) Error() string { return fmt.Sprintf("ticket: no saved reply %q", e.Name) }

// Is makes an UnknownReplyError match ErrInvalid.
func (e *UnknownReplyError) Is(target error) bool { return target == ErrInvalid }

type replyQueries struct {
	List   string `query:"replies-list"`
	ByName string `query:"reply-by-name"`
	Upsert string `query:"reply-upsert"`
	Delete string `query:"reply-delete"`
}
