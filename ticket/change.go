package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// ErrForbidden is returned when a person may see a ticket but not make that change.
var ErrForbidden = errors.New("ticket: not allowed")

// changeQueries are the statements of changes made by people (queries_change.sql).
type changeQueries struct {
	RemoveParticipant  string `query:"remove-participant"`
	MuteParticipant    string `query:"mute-participant"`
	ParticipantMuted   string `query:"participant-muted"`
	Assign             string `query:"assign"`
	InsertEvent        string `query:"insert-event"`
	Events             string `query:"events"`
	Whitelisted        string `query:"whitelisted"`
	InsertWhitelist    string `query:"insert-whitelist"`
	TicketByRequestID  string `query:"ticket-by-request-id"`
	SetRequestID       string `query:"set-request-id"`
	SetCommentVerified string `query:"set-comment-verified"`
	SetInboundAuth     string `query:"set-inbound-auth"`
	HoldInbound        string `query:"hold-inbound"`
	InsertHeldNotice   string `query:"insert-held-notice"`
	HeldNotice         string `query:"held-notice"`
	InboundRow         string `query:"inbound-row"`
	CountRecentToTkt   string `query:"count-recent-to-ticket"`
	InboundSetState    string `query:"inbound-set-state"`
	OutboxBounced      string `query:"outbox-bounced"`
	ClaimRetry         string `query:"claim-retry"`
}

// inTx runs fn as one write of the committer (see write).
func (s *Service) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error { return fn(tx) })
}

// UserByEmail returns the user with that address; ErrNotFound if none.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.userByEmail(ctx, s.db, NormalizeEmail(email))
}

// canSee: agents see every ticket; a customer sees the tickets they asked, those they
// take part in, and those of their establishment.
func (s *Service) canSee(ctx context.Context, q sqlx.QueryerContext, t *Ticket, u User) (bool, error) {
	if u.Role.IsStaff() || u.ID == t.RequesterID || (u.UAI != "" && u.UAI == t.UAI) {
		return true, nil
	}
	return s.isParticipant(ctx, q, t.ID, u.ID)
}

func (s *Service) isParticipant(ctx context.Context, q sqlx.QueryerContext, ticketID, userID int64) (bool, error) {
	ps, err := s.participants(ctx, q, ticketID)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.ID == userID {
			return true, nil
		}
	}
	return false, nil
}

// visibleTicket returns the ticket if u may see it, else ErrNotFound (the same answer
// as for a ticket that does not exist, so keys cannot be probed).
func (s *Service) visibleTicket(ctx context.Context, q sqlx.QueryerContext, key string, u User) (*Ticket, error) {
	t, err := s.ticketByKey(ctx, q, key)
	if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, q, t, u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: ticket %s", ErrNotFound, key)
	}
	return t, nil
}

// CommentInput is a comment to add to a ticket.
type CommentInput struct {
	Body        string
	HTML        string // sanitised HTML, when the comment came as HTML mail
	Visibility  Visibility
	Source      Source
	Attachments []Attachment
	Verified    bool // the author's identity was proven (signed address, DKIM/DMARC, web session)
	// KeepStatus skips the status rule of public comments: the caller set the status.
	KeepStatus bool
}

// AddComment adds actor's comment to ticket key, applies the status rules and queues
// the mail it causes. Internal notes are for agents only.
func (s *Service) AddComment(ctx context.Context, actor User, key string, in CommentInput) (int64, error) {
	if strings.TrimSpace(in.Body) == "" && len(in.Attachments) == 0 {
		return 0, fmt.Errorf("%w: the comment is empty", ErrInvalid)
	}
	if in.Visibility == "" {
		in.Visibility = Public
	}
	if in.Visibility == Internal && !actor.Role.IsStaff() {
		return 0, fmt.Errorf("%w: internal notes are for agents", ErrForbidden)
	}
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.visibleTicket(ctx, tx, key, actor)
		if err != nil {
			return err
		}
		if ok, err := s.mayComment(ctx, tx, t, actor); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: only the requester, participants and agents comment", ErrForbidden)
		}
		if actor.Role.IsStaff() {
			body, expanded, unknown, err := s.expandTemplates(ctx, tx, t, actor, in.Body)
			if err != nil {
				return err
			}
			if len(unknown) > 0 {
				return &UnknownReplyError{Name: unknown[0]}
			}
			if expanded {
				in.Body, in.HTML = body, ""
			}
		}
		id, err = s.addComment(ctx, tx, t, actor, in, nil, "")
		return err
	})
	return id, err
}

// addComment inserts a comment, applies the status rule of public comments and queues
// its mail. It is shared by mail, web and API.
func (s *Service) addComment(ctx context.Context, tx *sqlx.Tx, t *Ticket, author User, in CommentInput, inboundID *int64, inReplyTo string) (int64, error) {
	c := newComment{author: author, body: in.Body, html: in.HTML, visibility: in.Visibility, source: in.Source, inboundID: inboundID, attachments: in.Attachments}
	id, err := s.insertComment(ctx, tx, t, c)
	if err != nil {
		return 0, err
	}
	if in.Verified {
		if _, err := tx.ExecContext(ctx, s.cq.SetCommentVerified, 1, id); err != nil {
			return 0, fmt.Errorf("ticket: mark comment verified: %w", err)
		}
	}
	old := t.Status
	if in.Visibility == Public && !in.KeepStatus {
		if err := s.setStatus(ctx, tx, t, nextStatusAfterComment(t.Status, author.Role.IsStaff())); err != nil {
			return 0, err
		}
	}
	cv := &CommentView{Author: Address{Name: author.Name, Email: author.Email}, AuthorRole: author.Role, Body: in.Body, Visibility: in.Visibility, CreatedAt: s.now()}
	if err := s.notifyComment(ctx, tx, t, author, cv, old, inReplyTo, in.Attachments); err != nil {
		return 0, err
	}
	return id, nil
}

// ChangeStatus sets ticket key's status and mails the requester and participants.
// Agents change any status; a requester may close their own ticket.
func (s *Service) ChangeStatus(ctx context.Context, actor User, key string, st Status) error {
	if !st.Valid() {
		return fmt.Errorf("%w: status %q", ErrInvalid, st)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.visibleTicket(ctx, tx, key, actor)
		if err != nil {
			return err
		}
		if !actor.Role.IsStaff() && !(actor.ID == t.RequesterID && st == StatusClosed) {
			return fmt.Errorf("%w: only agents change the status", ErrForbidden)
		}
		return s.changeStatus(ctx, tx, t, actor, st, true)
	})
}

func (s *Service) changeStatus(ctx context.Context, tx *sqlx.Tx, t *Ticket, actor User, st Status, notify bool) error {
	old := t.Status
	if old == st {
		return nil
	}
	if err := s.setStatus(ctx, tx, t, st); err != nil {
		return err
	}
	if err := s.event(ctx, tx, t.ID, actor.ID, "status", string(old)+" → "+string(st)); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	return s.notifyStatus(ctx, tx, t, actor, old)
}

// notifyStatus mails a status change to the requester and participants, but not to who
// made it.
func (s *Service) notifyStatus(ctx context.Context, tx *sqlx.Tx, t *Ticket, actor User, old Status) error {
	data, err := s.mailData(ctx, tx, t, nil)
	if err != nil {
		return err
	}
	data.OldStatus = old
	to, err := s.customerSide(ctx, tx, t)
	if err != nil {
		return err
	}
	th, err := s.threadOf(ctx, tx, t, "")
	if err != nil {
		return err
	}
	th.shared.expect(len(to))
	for _, u := range to {
		if u.ID == actor.ID {
			continue
		}
		if err := s.enqueue(ctx, tx, t, u, MailStatus, data, th); err != nil {
			return err
		}
	}
	return nil
}

// customerSide is the requester and the customer participants of t.
func (s *Service) customerSide(ctx context.Context, q sqlx.QueryerContext, t *Ticket) ([]User, error) {
	req, err := s.userByID(ctx, q, t.RequesterID)
	if err != nil {
		return nil, err
	}
	ps, err := s.participants(ctx, q, t.ID)
	if err != nil {
		return nil, err
	}
	return customerSideOf(req, ps), nil
}

// customerSideOf is the requester followed by the participants who are not agents.
func customerSideOf(requester User, participants []User) []User {
	out := []User{requester}
	for _, p := range participants {
		if p.ID != requester.ID && !p.Role.IsStaff() {
			out = append(out, p)
		}
	}
	return out
}

func (s *Service) event(ctx context.Context, tx *sqlx.Tx, ticketID, actorID int64, kind, detail string) error {
	var actor any
	if actorID != 0 {
		actor = actorID
	}
	if _, err := tx.ExecContext(ctx, s.cq.InsertEvent, ticketID, actor, kind, detail, s.now()); err != nil {
		return fmt.Errorf("ticket: record %s event: %w", kind, err)
	}
	return nil
}
