package ticket

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jmoiron/sqlx"
)

// commentFromMail adds a mail as a comment. An agent's mail may carry commands on its
// first lines (applied only with proof of sender); a mail to the comment address, or
// with #note, is an internal note. An unknown or refused command applies nothing: the
// agent alone is told what went wrong.
func (s *Service) commentFromMail(ctx context.Context, tx *sqlx.Tx, inboundID int64, t *Ticket, author User, d Delivery, proven bool) (processResult, error) {
	m := d.Msg
	body, err := s.visible(ctx, tx, t, m)
	if err != nil {
		return processResult{}, err
	}
	if body == "" {
		body = strings.TrimSpace(m.Text)
	}
	vis := Public
	var cmds []Command
	dropHTML := false // a saved reply was expanded: the HTML still has its #modele line
	if author.Role.IsStaff() {
		var errs []string
		cmds, body, errs = ParseCommands(body)
		if len(errs) == 0 {
			errs = s.checkCommands(ctx, tx, t, cmds)
		}
		var unknown []string
		body, dropHTML, unknown, err = s.expandTemplates(ctx, tx, t, author, body)
		if err != nil {
			return processResult{}, err
		}
		for _, name := range unknown {
			errs = append(errs, fmt.Sprintf("réponse enregistrée inconnue « #modele %s » / unknown saved reply", name))
		}
		if len(errs) > 0 {
			notice := "Votre message sur " + t.Key + " n'a pas été appliqué / Your mail was not applied:\n- " + strings.Join(errs, "\n- ")
			if _, err := s.enqueueNotice(ctx, tx, t, author, notice); err != nil {
				return processResult{}, err
			}
			if _, err := tx.ExecContext(ctx, s.cq.InboundSetState, "refused", strings.Join(errs, "; "), t.ID, nil, s.now(), inboundID); err != nil {
				return processResult{}, fmt.Errorf("ticket: mark refused: %w", err)
			}
			return processResult{key: t.Key, state: "refused"}, nil
		}
		if s.toCommentAddress(d) {
			vis = Internal
		}
		for _, c := range cmds {
			if c.Kind == CmdNote {
				vis = Internal
			}
		}
	}
	if err := s.addThreadMessage(ctx, tx, m.MessageID, t.ID); err != nil {
		return processResult{}, err
	}
	if err := s.addCcParticipants(ctx, tx, t, author, m); err != nil {
		return processResult{}, err
	}
	// A merge goes first: the rest of the mail (comment, other commands) is for the target.
	for _, c := range cmds {
		if c.Kind != CmdMerge {
			continue
		}
		dst, err := s.ticketByKey(ctx, tx, c.Arg)
		if err != nil {
			return processResult{}, err
		}
		if err := s.merge(ctx, tx, t, dst, author); err != nil {
			return processResult{}, err
		}
		t = dst
	}
	statusSet := false
	for _, c := range cmds {
		var err error
		switch c.Kind {
		case CmdStatus, CmdClose:
			st := c.Status
			if c.Kind == CmdClose {
				st = StatusClosed
			}
			// With a public comment, its mail carries the new status: no second mail.
			err = s.changeStatus(ctx, tx, t, author, st, body == "" || vis == Internal)
			statusSet = true
		case CmdAssign:
			err = s.assign(ctx, tx, t, author, s.meOr(c.Arg, author))
		case CmdParticipant:
			addr := parseCommandAddress(c.Arg)
			var ok bool
			if ok, err = s.addParticipant(ctx, tx, t, author, addr); err == nil && !ok {
				s.log.Info("participant refused by whitelist", "ticket", t.Key)
			}
		}
		if err != nil {
			return processResult{}, err
		}
	}
	var id int64
	if body != "" || len(m.Attachments) > 0 {
		in := CommentInput{Body: body, HTML: m.HTML, Visibility: vis, Source: SourceEmail, Attachments: m.Attachments, Verified: proven, KeepStatus: statusSet}
		if len(cmds) > 0 || dropHTML {
			in.HTML = "" // the HTML still has the command or #modele lines
		}
		var err error
		if id, err = s.addComment(ctx, tx, t, author, in, &inboundID, m.MessageID); err != nil {
			return processResult{}, err
		}
	}
	if err := s.inboundDone(ctx, tx, inboundID, "", t.ID, id); err != nil {
		return processResult{}, err
	}
	return processResult{key: t.Key, commentID: id}, nil
}

// checkCommands validates commands before any is applied, so that nothing is half-done.
func (s *Service) checkCommands(ctx context.Context, q sqlx.QueryerContext, t *Ticket, cmds []Command) []string {
	var errs []string
	for _, c := range cmds {
		switch c.Kind {
		case CmdAssign:
			if isMe(c.Arg) {
				continue
			}
			u, err := s.userByEmail(ctx, q, parseCommandAddress(c.Arg).Email)
			if err != nil || !u.Role.IsStaff() {
				errs = append(errs, fmt.Sprintf("« %s » : %s n'est pas un agent / is not an agent", c.Line, c.Arg))
			}
		case CmdMerge:
			dst, err := s.ticketByKey(ctx, q, c.Arg)
			if err != nil {
				errs = append(errs, fmt.Sprintf("« %s » : demande %s inconnue / unknown ticket", c.Line, c.Arg))
				continue
			}
			var me *MergeError
			if err := s.checkMerge(ctx, q, t, dst); errors.As(err, &me) {
				errs = append(errs, fmt.Sprintf("« %s » : %s", c.Line, mergeRefusal(me)))
			} else if err != nil {
				errs = append(errs, fmt.Sprintf("« %s » : %v", c.Line, err))
			}
		case CmdParticipant:
			a := parseCommandAddress(c.Arg)
			if a.Email == "" {
				errs = append(errs, fmt.Sprintf("« %s » : adresse invalide / invalid address", c.Line))
				continue
			}
			if ok, err := s.mayParticipate(ctx, q, t, a.Email); err != nil || !ok {
				errs = append(errs, fmt.Sprintf("« %s » : %s n'est pas autorisé (établissement, liste blanche ou agent) / not allowed", c.Line, a.Email))
			}
		}
	}
	return errs
}

func isMe(arg string) bool {
	a := strings.ToLower(strings.TrimSpace(arg))
	return a == "moi" || a == "me"
}

func (s *Service) meOr(arg string, me User) string {
	if isMe(arg) {
		return me.Email
	}
	return parseCommandAddress(arg).Email
}

// parseCommandAddress reads "Name <addr>" or "addr".
func parseCommandAddress(arg string) Address {
	if a, err := mail.ParseAddress(arg); err == nil {
		return Address{Name: a.Name, Email: NormalizeEmail(a.Address)}
	}
	return Address{Email: NormalizeEmail(arg)}
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
	if c.author.Role.IsStaff() && c.visibility == Public && !c.automatic {
		if err := s.slaResponded(ctx, tx, t, s.now()); err != nil {
			return 0, err
		}
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
	if err := s.slaStatus(ctx, tx, t, t.Status, st, now); err != nil {
		return err
	}
	t.Status = st
	t.UpdatedAt = now
	t.ClosedAt, t.closedNow = nil, st == StatusClosed
	if st == StatusClosed {
		t.ClosedAt = &now
	}
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
// outbox, so that no mail goes to it for BounceHold, and shows it on the ticket. A DSN
// that names no mail of ours marks nothing: anyone can write a DSN.
func (s *Service) recordBounce(ctx context.Context, tx *sqlx.Tx, b *Bounce) error {
	if b.OriginalMessageID == "" || !b.Permanent {
		return nil
	}
	var row struct {
		To       string `db:"to_email"`
		TicketID int64  `db:"ticket_id"`
	}
	if err := tx.GetContext(ctx, &row, s.cq.OutboxBounced, b.OriginalMessageID); err != nil {
		return nil // not ours
	}
	until := s.now().Add(s.opt.BounceHold)
	if _, err := tx.ExecContext(ctx, s.q.SetBouncing, until, row.To); err != nil {
		return fmt.Errorf("ticket: mark %s bouncing: %w", row.To, err)
	}
	s.forgetStaff()
	s.log.Info("address bounced; holding mail to it", "until", until)
	return s.event(ctx, tx, row.TicketID, 0, "bounce", row.To+" "+b.Status)
}
