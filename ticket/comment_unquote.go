package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// maxUnquoteRefs bounds how many of a reply's In-Reply-To and References are looked up
// as mails we sent: the last ones, the mails it answers most directly.
const maxUnquoteRefs = 10

// visible returns the new part of a reply: without the quote of a mail we sent on t
// when Options.Unquote finds one (it knows the exact text we sent, so it needs no
// attribution line or quote marker), else the parser's Visible (the generic rules).
// The full mail stays with the comment's inbound row and HTML.
func (s *Service) visible(ctx context.Context, tx *sqlx.Tx, t *Ticket, m *Inbound) (string, error) {
	generic := strings.TrimSpace(m.Visible)
	if s.opt.Unquote == nil || strings.TrimSpace(m.Text) == "" {
		return generic, nil
	}
	sent, err := s.sentMails(ctx, tx, t, m)
	if err != nil || len(sent) == 0 {
		return generic, err
	}
	if v, ok := s.opt.Unquote(m.Text, sent); ok {
		return strings.TrimSpace(v), nil
	}
	return generic, nil
}

// sentMails returns the mails we sent on t that the reply m names in In-Reply-To or
// References, most recent reference first.
func (s *Service) sentMails(ctx context.Context, tx *sqlx.Tx, t *Ticket, m *Inbound) ([]OutboxMail, error) {
	ids := append(append([]string{}, m.InReplyTo...), m.References...)
	seen := make(map[string]bool, len(ids))
	var out []OutboxMail
	for i := len(ids) - 1; i >= 0 && len(seen) < maxUnquoteRefs; i-- {
		id := strings.Trim(strings.TrimSpace(ids[i]), "<>")
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		var r outboxRow
		err := tx.GetContext(ctx, &r, s.q.OutboxSentMail, id, t.ID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ticket: look up sent mail %s: %w", id, err)
		}
		om, err := r.mail()
		if err != nil {
			return nil, err
		}
		out = append(out, om)
	}
	return out, nil
}
