package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// SenderPolicy says what mail without proof of sender may do.
type SenderPolicy string

// Sender policies.
const (
	// PolicyDefault: customers' mail without proof is accepted (marked unverified);
	// mail with evidence of forgery is held; mail in an agent's name acts only with
	// proof.
	PolicyDefault SenderPolicy = "default"
	// PolicyStrict holds every mail without proof.
	PolicyStrict SenderPolicy = "strict"
)

// process applies one stored, parsed message: a comment on the ticket it belongs to, a
// new ticket, or a held message. It runs inside the intake transaction.
func (s *Service) process(ctx context.Context, tx *sqlx.Tx, inboundID int64, d Delivery) (processResult, error) {
	m := d.Msg
	from := m.From
	if NormalizeEmail(from.Email) == "" {
		from = Address{Email: d.Env.From}
	}
	if NormalizeEmail(from.Email) == "" {
		return processResult{}, fmt.Errorf("%w: the message has no sender address", ErrInvalid)
	}
	if a := m.Auth; a.DKIM != "" || a.SPF != "" || a.DMARC != "" || a.Ignored > 0 {
		auth, _ := json.Marshal(a)
		if _, err := tx.ExecContext(ctx, s.cq.SetInboundAuth, string(auth), inboundID); err != nil {
			return processResult{}, fmt.Errorf("ticket: record authentication: %w", err)
		}
	}
	if m.Bounce != nil {
		if err := s.recordBounce(ctx, tx, m.Bounce); err != nil {
			return processResult{}, err
		}
	}
	author, err := s.ensureUser(ctx, tx, from)
	if err != nil {
		return processResult{}, err
	}
	t, how, err := s.thread(ctx, tx, d, author)
	if err != nil {
		return processResult{}, err
	}
	if m.Automatic {
		if m.AutoReason == "loop" {
			s.log.Info("our own mail came back; stored, not answered", "inbound_id", inboundID)
		}
		return s.automatic(ctx, tx, inboundID, t, author, m)
	}
	proven := how == matchSigned || m.Auth.Verdict == AuthPass
	if author.Role.IsStaff() && proven {
		if res, ok, err := s.releaseHeld(ctx, tx, inboundID, author, m); ok || err != nil {
			return res, err
		}
	}
	switch {
	case m.Auth.Verdict == AuthFail:
		return s.hold(ctx, tx, inboundID, t, m, "forged", nil)
	case s.opt.SenderPolicy == PolicyStrict && !proven:
		return s.hold(ctx, tx, inboundID, t, m, "unproven", nil)
	case author.Role.IsStaff() && !proven && t != nil:
		return s.hold(ctx, tx, inboundID, t, m, "agent_unproven", &author)
	}
	return s.apply(ctx, tx, inboundID, d, t, author, proven)
}

// apply posts a message that passed the sender checks.
func (s *Service) apply(ctx context.Context, tx *sqlx.Tx, inboundID int64, d Delivery, t *Ticket, author User, proven bool) (processResult, error) {
	if t != nil {
		allowed, err := s.mayComment(ctx, tx, t, author)
		if err != nil {
			return processResult{}, err
		}
		if !allowed {
			// Same answer as for an unknown key, so keys cannot be probed.
			s.log.Info("mail from someone outside a ticket opens a new ticket", "ticket", t.Key)
			t = nil
		}
	}
	if t == nil {
		return s.createFromMail(ctx, tx, inboundID, author, d, nil)
	}
	if t.Status == StatusClosed && !author.Role.IsStaff() && t.ClosedAt != nil && s.now().Sub(*t.ClosedAt) > s.opt.ReopenWindow {
		return s.createFromMail(ctx, tx, inboundID, author, d, t)
	}
	return s.commentFromMail(ctx, tx, inboundID, t, author, d, proven)
}

// hold keeps a message stored without posting it: shown to agents, nothing mailed back
// to its sender. When agent is set (mail in an agent's name without proof), that agent
// gets a notice and may release the message by replying to it.
func (s *Service) hold(ctx context.Context, tx *sqlx.Tx, inboundID int64, t *Ticket, m *Inbound, reason string, agent *User) (processResult, error) {
	msg, err := json.Marshal(m)
	if err != nil {
		return processResult{}, fmt.Errorf("ticket: keep held message: %w", err)
	}
	var tid any
	key := ""
	if t != nil {
		tid, key = t.ID, t.Key
	}
	if _, err := tx.ExecContext(ctx, s.cq.HoldInbound, reason, string(msg), tid, s.now(), inboundID); err != nil {
		return processResult{}, fmt.Errorf("ticket: hold message %d: %w", inboundID, err)
	}
	if t != nil {
		if err := s.event(ctx, tx, t.ID, 0, "held", fmt.Sprintf("%d %s", inboundID, reason)); err != nil {
			return processResult{}, err
		}
	}
	s.log.Warn("message held", "inbound_id", inboundID, "reason", reason, "ticket", key)
	if agent != nil && t != nil {
		notice := "Un message envoyé en votre nom sur " + t.Key + " a été retenu faute de preuve d'expéditeur (objet : « " + m.Subject + " »). " +
			"Si vous l'avez bien envoyé, répondez à ce message pour le confirmer ; sinon, ignorez-le.\n\n" +
			"A message sent in your name on " + t.Key + " was held for lack of proof of sender. If you sent it, reply to this message to confirm it; otherwise ignore it."
		mid, err := s.enqueueNotice(ctx, tx, t, *agent, notice)
		if err != nil {
			return processResult{}, err
		}
		if mid != "" {
			if _, err := tx.ExecContext(ctx, s.cq.InsertHeldNotice, mid, inboundID, agent.ID, s.now()); err != nil {
				return processResult{}, fmt.Errorf("ticket: record held notice: %w", err)
			}
		}
	}
	return processResult{key: key, state: "held"}, nil
}

// releaseHeld: an agent's proven reply to a held-message notice applies the held message
// (as proven) and is itself not posted.
func (s *Service) releaseHeld(ctx context.Context, tx *sqlx.Tx, inboundID int64, agent User, m *Inbound) (processResult, bool, error) {
	for _, id := range append(append([]string{}, m.InReplyTo...), m.References...) {
		var n struct {
			InboundID int64 `db:"inbound_id"`
			UserID    int64 `db:"user_id"`
		}
		if err := tx.GetContext(ctx, &n, s.cq.HeldNotice, id); err != nil || n.UserID != agent.ID {
			continue
		}
		var row struct {
			ID           int64  `db:"id"`
			EnvelopeFrom string `db:"envelope_from"`
			Recipients   string `db:"recipients"`
			Channel      string `db:"channel"`
			RemoteAddr   string `db:"remote_addr"`
			State        string `db:"state"`
			HeldMsg      string `db:"held_msg"`
			TicketID     *int64 `db:"ticket_id"`
		}
		if err := tx.GetContext(ctx, &row, s.cq.InboundRow, n.InboundID); err != nil {
			return processResult{}, true, fmt.Errorf("ticket: read held message %d: %w", n.InboundID, err)
		}
		res := processResult{state: "processed"}
		if row.State == "held" {
			var held Inbound
			if err := json.Unmarshal([]byte(row.HeldMsg), &held); err != nil {
				return processResult{}, true, fmt.Errorf("ticket: decode held message %d: %w", n.InboundID, err)
			}
			var t *Ticket
			if row.TicketID != nil {
				var err error
				if t, err = s.ticketByID(ctx, tx, *row.TicketID); err != nil {
					return processResult{}, true, err
				}
			}
			env := Envelope{From: row.EnvelopeFrom, Channel: row.Channel, RemoteAddr: row.RemoteAddr}
			if row.Recipients != "" {
				env.Recipients = strings.Split(row.Recipients, ",")
			}
			r, err := s.apply(ctx, tx, row.ID, Delivery{Env: env, Msg: &held}, t, agent, true)
			if err != nil {
				return processResult{}, true, err
			}
			if t != nil {
				if err := s.event(ctx, tx, t.ID, agent.ID, "held_released", fmt.Sprint(row.ID)); err != nil {
					return processResult{}, true, err
				}
			}
			res.key = r.key
		}
		// The confirming reply is stored, not posted.
		if _, err := tx.ExecContext(ctx, s.cq.InboundSetState, "processed", "confirmation of held message "+fmt.Sprint(row.ID), nil, nil, s.now(), inboundID); err != nil {
			return processResult{}, true, fmt.Errorf("ticket: mark confirmation: %w", err)
		}
		return res, true, nil
	}
	return processResult{}, false, nil
}

// enqueueNotice queues a notice to one agent about ticket t and returns its Message-ID.
func (s *Service) enqueueNotice(ctx context.Context, tx *sqlx.Tx, t *Ticket, agent User, notice string) (string, error) {
	data, err := s.mailData(ctx, tx, t, nil)
	if err != nil {
		return "", err
	}
	data.Notice = notice
	th, err := s.threadOf(ctx, tx, t, "")
	if err != nil {
		return "", err
	}
	return s.enqueueID(ctx, tx, t, agent, MailNotice, data, th)
}

// ourAddress reports whether addr is the support address or one of its +extensions.
func (s *Service) ourAddress(addr string) bool {
	local, domain, ok := strings.Cut(NormalizeEmail(addr), "@")
	if !ok || domain != s.domain {
		return false
	}
	base, _, _ := strings.Cut(local, "+")
	return base == s.local
}

// toCommentAddress reports whether the mail was sent to the comment address.
func (s *Service) toCommentAddress(d Delivery) bool {
	addrs := append([]string{}, d.Env.Recipients...)
	for _, a := range append(append([]Address{}, d.Msg.To...), d.Msg.Cc...) {
		addrs = append(addrs, a.Email)
	}
	for _, a := range addrs {
		if NormalizeEmail(a) == s.commentAddress {
			return true
		}
	}
	return false
}

// addCcParticipants makes the mail's other recipients participants when they are
// allowed; the others are listed in the ticket's activity.
func (s *Service) addCcParticipants(ctx context.Context, tx *sqlx.Tx, t *Ticket, author User, m *Inbound) error {
	for _, a := range append(append([]Address{}, m.To...), m.Cc...) {
		email := NormalizeEmail(a.Email)
		if email == "" || s.ourAddress(email) || email == author.Email {
			continue
		}
		if _, err := s.addParticipant(ctx, tx, t, author, Address{Name: a.Name, Email: email}); err != nil && !errors.Is(err, ErrInvalid) {
			return err
		}
	}
	return nil
}
