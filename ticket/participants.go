package ticket

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// AllowParticipant puts an address on an establishment's whitelist: people who may be
// added as participants to its tickets without belonging to it.
func (s *Service) AllowParticipant(ctx context.Context, uai, email string) error {
	uai = strings.ToUpper(strings.TrimSpace(uai))
	if err := ValidateUAI(uai); err != nil {
		return err
	}
	email = NormalizeEmail(email)
	if email == "" {
		return fmt.Errorf("%w: address", ErrInvalid)
	}
	if _, err := s.exec(ctx, s.cq.InsertWhitelist, uai, email, s.now()); err != nil {
		return fmt.Errorf("ticket: whitelist %s for %s: %w", email, uai, err)
	}
	return nil
}

// mayParticipate: agents, people of the ticket's establishment and those on its
// whitelist may be participants.
func (s *Service) mayParticipate(ctx context.Context, q sqlx.QueryerContext, t *Ticket, email string) (bool, error) {
	u, err := s.userByEmail(ctx, q, email)
	if err == nil && (u.Role.IsStaff() || (t.UAI != "" && u.UAI == t.UAI)) {
		return true, nil
	}
	if t.UAI == "" {
		return false, nil
	}
	var n int
	if err := sqlx.GetContext(ctx, q, &n, s.cq.Whitelisted, t.UAI, email); err != nil {
		return false, fmt.Errorf("ticket: check whitelist: %w", err)
	}
	return n > 0, nil
}

// AddParticipant adds addr to ticket key on actor's behalf: an agent, the requester or a
// participant may add people allowed by mayParticipate.
func (s *Service) AddParticipant(ctx context.Context, actor User, key string, addr Address) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.visibleTicket(ctx, tx, key, actor)
		if err != nil {
			return err
		}
		if ok, err := s.mayComment(ctx, tx, t, actor); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: only the requester, participants and agents add participants", ErrForbidden)
		}
		added, err := s.addParticipant(ctx, tx, t, actor, addr)
		if err != nil {
			return err
		}
		if !added {
			return fmt.Errorf("%w: %s is not on the establishment's whitelist", ErrForbidden, NormalizeEmail(addr.Email))
		}
		return nil
	})
}

// addParticipant adds addr when allowed; it records a refusal on the ticket and
// returns false otherwise.
func (s *Service) addParticipant(ctx context.Context, tx *sqlx.Tx, t *Ticket, actor User, addr Address) (bool, error) {
	email := NormalizeEmail(addr.Email)
	if email == "" {
		return false, fmt.Errorf("%w: participant address %q", ErrInvalid, addr.Email)
	}
	ok, err := s.mayParticipate(ctx, tx, t, email)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, s.event(ctx, tx, t.ID, actor.ID, "participant_refused", email)
	}
	u, err := s.ensureUser(ctx, tx, Address{Name: addr.Name, Email: email})
	if err != nil {
		return false, err
	}
	if u.ID == t.RequesterID {
		return true, nil
	}
	res, err := tx.ExecContext(ctx, s.q.InsertParticipant, t.ID, u.ID, s.now())
	if err != nil {
		return false, fmt.Errorf("ticket: add participant: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, s.event(ctx, tx, t.ID, actor.ID, "participant_added", email)
	}
	return true, nil
}

// RemoveParticipant removes a participant; agents remove anyone, people themselves.
func (s *Service) RemoveParticipant(ctx context.Context, actor User, key, email string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.visibleTicket(ctx, tx, key, actor)
		if err != nil {
			return err
		}
		u, err := s.userByEmail(ctx, tx, NormalizeEmail(email))
		if err != nil {
			return err
		}
		if !actor.Role.IsStaff() && actor.ID != u.ID && actor.ID != t.RequesterID {
			return fmt.Errorf("%w: only agents and the requester remove participants", ErrForbidden)
		}
		if _, err := tx.ExecContext(ctx, s.cq.RemoveParticipant, t.ID, u.ID); err != nil {
			return fmt.Errorf("ticket: remove participant: %w", err)
		}
		return s.event(ctx, tx, t.ID, actor.ID, "participant_removed", u.Email)
	})
}

// Assign gives ticket key to the agent with address email; an empty email unassigns.
func (s *Service) Assign(ctx context.Context, actor User, key, email string) error {
	if !actor.Role.IsStaff() {
		return fmt.Errorf("%w: only agents assign", ErrForbidden)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.visibleTicket(ctx, tx, key, actor)
		if err != nil {
			return err
		}
		return s.assign(ctx, tx, t, actor, email)
	})
}

func (s *Service) assign(ctx context.Context, tx *sqlx.Tx, t *Ticket, actor User, email string) error {
	var id any
	detail := ""
	if email != "" {
		u, err := s.userByEmail(ctx, tx, NormalizeEmail(email))
		if err != nil || !u.Role.IsStaff() {
			return fmt.Errorf("%w: %s is not an agent", ErrInvalid, email)
		}
		id, detail = u.ID, u.Email
		t.AssigneeID = &u.ID
	} else {
		t.AssigneeID = nil
	}
	if _, err := tx.ExecContext(ctx, s.cq.Assign, id, s.now(), t.ID); err != nil {
		return fmt.Errorf("ticket: assign %s: %w", t.Key, err)
	}
	return s.event(ctx, tx, t.ID, actor.ID, "assigned", detail)
}

// Mute stops (or restarts) mail about ticket key to a participant, from the link that
// every notification carries. token is StopToken(key, email).
func (s *Service) Mute(ctx context.Context, key, email, token string, muted bool) error {
	email = NormalizeEmail(email)
	if !s.VerifyStopToken(key, email, token) {
		return fmt.Errorf("%w: ticket %s", ErrNotFound, key)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.ticketByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		u, err := s.userByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		if u.ID == t.RequesterID {
			// The requester is not a participant row: add one to carry the flag.
			if _, err := tx.ExecContext(ctx, s.q.InsertParticipant, t.ID, u.ID, s.now()); err != nil {
				return fmt.Errorf("ticket: mute: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.cq.MuteParticipant, b2i(muted), t.ID, u.ID); err != nil {
			return fmt.Errorf("ticket: mute: %w", err)
		}
		return s.event(ctx, tx, t.ID, u.ID, "muted", fmt.Sprint(muted))
	})
}

func (s *Service) isMuted(ctx context.Context, q sqlx.QueryerContext, ticketID, userID int64) (bool, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, s.cq.ParticipantMuted, ticketID, userID); err != nil {
		return false, fmt.Errorf("ticket: read mute: %w", err)
	}
	return n > 0, nil
}
