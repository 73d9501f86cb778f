package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// TicketRequest is a request made from the portal, the API or by an agent on the phone.
type TicketRequest struct {
	NewTicket
	// Requester is who the request is for. Empty means the creator; an agent recording a
	// phone call sets the caller here (and Source to SourcePhone).
	Requester Address
	// Participants are added when allowed (see AddParticipant); refusals are recorded.
	Participants []Address
	// RequestID makes a double-submitted form create one ticket: a second request with
	// the same RequestID returns the first ticket.
	RequestID string
}

// ErrOtherEstablishment is returned (it matches ErrForbidden) when a customer files a
// request for an establishment they do not belong to: such a request would show, with
// their name, in that school's list and not in their own colleagues'.
var ErrOtherEstablishment = fmt.Errorf("%w: customers file requests only for their own establishment", ErrForbidden)

// Establishments are the UAIs of the establishments u belongs to (today at most one: the
// account's UAI).
func (u User) Establishments() []string {
	if u.UAI == "" {
		return nil
	}
	return []string{u.UAI}
}

// MayFileFor tells whether u may file a request for the establishment uai (normalised,
// or "" for none): agents and admins for any, customers only for their own, or for none.
func MayFileFor(u User, uai string) bool {
	return uai == "" || u.Role.IsStaff() || slices.Contains(u.Establishments(), uai)
}

// CreateTicket creates a ticket on creator's behalf and queues the confirmation to the
// requester and the notification to agents, in one transaction. The summary and
// description are required, and the UAI's check letter must be right when one is given.
// A customer files only for their own establishment (ErrOtherEstablishment otherwise);
// without a UAI the request is for the requester's.
func (s *Service) CreateTicket(ctx context.Context, creator User, req TicketRequest) (*Ticket, error) {
	req.Summary = strings.Join(strings.Fields(req.Summary), " ")
	req.Description = strings.TrimSpace(req.Description)
	if req.Summary == "" {
		return nil, fmt.Errorf("%w: the summary is required", ErrInvalid)
	}
	if req.Description == "" {
		return nil, fmt.Errorf("%w: the description is required", ErrInvalid)
	}
	req.UAI = strings.ToUpper(strings.TrimSpace(req.UAI))
	if req.UAI != "" {
		if err := ValidateUAI(req.UAI); err != nil {
			return nil, err
		}
	}
	if !MayFileFor(creator, req.UAI) {
		return nil, fmt.Errorf("%w (UAI %s; theirs: %s)", ErrOtherEstablishment, req.UAI, orNone(creator.Establishments()))
	}
	if req.Source == "" {
		req.Source = SourceWeb
	}
	if req.Source == SourcePhone && !creator.Role.IsStaff() {
		return nil, fmt.Errorf("%w: only agents record phone requests", ErrForbidden)
	}
	if req.Requester.Email != "" && NormalizeEmail(req.Requester.Email) != creator.Email && !creator.Role.IsStaff() {
		return nil, fmt.Errorf("%w: only agents create requests for someone else", ErrForbidden)
	}
	var t *Ticket
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if req.RequestID != "" {
			var key string
			err := tx.GetContext(ctx, &key, s.cq.TicketByRequestID, req.RequestID)
			if err == nil {
				t, err = s.ticketByKey(ctx, tx, key)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("ticket: check request id: %w", err)
			}
		}
		requester := creator
		if req.Requester.Email != "" {
			var err error
			if requester, err = s.ensureUser(ctx, tx, req.Requester); err != nil {
				return err
			}
		}
		if req.UAI == "" {
			req.UAI = requester.UAI
		}
		var err error
		t, err = s.insertTicket(ctx, tx, requester, req.NewTicket, nil)
		if err != nil {
			return err
		}
		if req.RequestID != "" {
			if _, err := tx.ExecContext(ctx, s.cq.SetRequestID, req.RequestID, t.ID); err != nil {
				return fmt.Errorf("ticket: record request id: %w", err)
			}
		}
		if req.Source == SourcePhone {
			// The activity says which agent took the call, and for whom.
			if err := s.event(ctx, tx, t.ID, creator.ID, "phone", requester.Email); err != nil {
				return err
			}
		}
		if creator.Role.IsStaff() && creator.ID != requester.ID {
			// An agent recording a request for someone (a phone call) has answered them.
			if err := s.slaResponded(ctx, tx, t, t.CreatedAt); err != nil {
				return err
			}
		}
		for _, p := range req.Participants {
			if _, err := s.addParticipant(ctx, tx, t, creator, p); err != nil {
				return err
			}
		}
		return s.notifyNewTicket(ctx, tx, t, requester, creator, "", req.Attachments)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// orNone joins UAIs for an error message.
func orNone(uais []string) string {
	if len(uais) == 0 {
		return "none"
	}
	return strings.Join(uais, ", ")
}
