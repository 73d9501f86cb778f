package ticket

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// commentFromMail adds a mail as a public comment, applies the status rules of the
// contract and queues the mail it causes.
func (s *Service) commentFromMail(ctx context.Context, tx *sqlx.Tx, inboundID int64, t *Ticket, author User, m *Inbound) (processResult, error) {
	body := strings.TrimSpace(m.Visible)
	if body == "" {
		body = strings.TrimSpace(m.Text)
	}
	c := newComment{author: author, body: body, html: m.HTML, visibility: Public, source: SourceEmail, inboundID: &inboundID, attachments: m.Attachments}
	id, err := s.insertComment(ctx, tx, t, c)
	if err != nil {
		return processResult{}, err
	}
	if err := s.addThreadMessage(ctx, tx, m.MessageID, t.ID); err != nil {
		return processResult{}, err
	}
	old := t.Status
	next := nextStatusAfterComment(t.Status, author.Role.IsStaff())
	if err := s.setStatus(ctx, tx, t, next); err != nil {
		return processResult{}, err
	}
	cv := &CommentView{Author: Address{Name: author.Name, Email: author.Email}, AuthorRole: author.Role, Body: body, Visibility: Public, CreatedAt: s.now()}
	if err := s.notifyComment(ctx, tx, t, author, cv, old, m.MessageID, m.Attachments); err != nil {
		return processResult{}, err
	}
	if err := s.inboundDone(ctx, tx, inboundID, "", t.ID, id); err != nil {
		return processResult{}, err
	}
	return processResult{key: t.Key, commentID: id}, nil
}

// nextStatusAfterComment is the contract's rule for a public comment: an agent's reply
// waits on the user; a customer's reply on a waiting or closed ticket puts it back in
// progress.
func nextStatusAfterComment(cur Status, byStaff bool) Status {
	if byStaff {
		return StatusWaitingUser
	}
	switch cur {
	case StatusWaiting, StatusWaitingUser, StatusClosed:
		return StatusInProgress
	}
	return cur
}

type newComment struct {
	author      User
	body, html  string
	visibility  Visibility
	source      Source
	automatic   bool
	inboundID   *int64
	attachments []Attachment
}

func (s *Service) insertComment(ctx context.Context, tx *sqlx.Tx, t *Ticket, c newComment) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, s.q.InsertComment, t.ID, c.author.ID, c.body, c.html, c.visibility, c.source, b2i(c.automatic), c.inboundID, s.now())
	if err != nil {
		return 0, fmt.Errorf("ticket: insert comment on %s: %w", t.Key, err)
	}
	if err := s.insertAttachments(ctx, tx, t.ID, &id, c.attachments); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, s.q.TicketTouch, s.now(), t.ID); err != nil {
		return 0, fmt.Errorf("ticket: touch %s: %w", t.Key, err)
	}
	return id, nil
}

func (s *Service) setStatus(ctx context.Context, tx *sqlx.Tx, t *Ticket, st Status) error {
	if st == t.Status {
		return nil
	}
	now := s.now()
	var closedAt any
	if st == StatusClosed {
		closedAt = now
	}
	if _, err := tx.ExecContext(ctx, s.q.TicketSetStatus, st, now, closedAt, t.ID); err != nil {
		return fmt.Errorf("ticket: set status of %s: %w", t.Key, err)
	}
	t.Status = st
	t.UpdatedAt = now
	return nil
}

// automatic stores automatic mail (auto-replies, bounces, lists, our own mail coming
// back): as an internal, automatic comment when it belongs to a ticket, else only in the
// inbound list. It changes no status and sends nothing.
func (s *Service) automatic(ctx context.Context, tx *sqlx.Tx, inboundID int64, t *Ticket, author User, m *Inbound) (processResult, error) {
	reason := m.AutoReason
	if reason == "" {
		reason = "automatic"
	}
	if t == nil {
		return processResult{}, s.inboundDone(ctx, tx, inboundID, reason, 0, 0)
	}
	body := strings.TrimSpace(m.Text)
	c := newComment{author: author, body: body, html: m.HTML, visibility: Internal, source: SourceEmail, automatic: true, inboundID: &inboundID, attachments: m.Attachments}
	id, err := s.insertComment(ctx, tx, t, c)
	if err != nil {
		return processResult{}, err
	}
	if err := s.inboundDone(ctx, tx, inboundID, reason, t.ID, id); err != nil {
		return processResult{}, err
	}
	return processResult{key: t.Key, commentID: id}, nil
}

// recordBounce marks the address of the mail that bounced, found by its Message-ID in the
// outbox, so that no mail goes to it for BounceHold. A DSN that names no mail of ours
// marks nothing: anyone can write a DSN.
func (s *Service) recordBounce(ctx context.Context, tx *sqlx.Tx, b *Bounce) error {
	if b.OriginalMessageID == "" || !b.Permanent {
		return nil
	}
	var to string
	if err := tx.GetContext(ctx, &to, s.q.OutboxByMessageID, b.OriginalMessageID); err != nil {
		return nil // not ours
	}
	if _, err := tx.ExecContext(ctx, s.q.SetBouncing, s.now().Add(s.opt.BounceHold), to); err != nil {
		return fmt.Errorf("ticket: mark %s bouncing: %w", to, err)
	}
	s.log.Info("address bounced; holding mail to it", "until", s.now().Add(s.opt.BounceHold))
	return nil
}
