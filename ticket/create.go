package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// CreateTicket creates a ticket on creator's behalf and queues the confirmation to the
// requester and the notification to agents, in one transaction. The summary and
// description are required, and the UAI's check letter must be right when one is given.
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
