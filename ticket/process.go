package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

type processResult struct {
	key       string
	commentID int64
	created   bool
	state     string // "processed" when empty; "held" or "refused"
}

// threadMatch tells which rule of the contract found a message's ticket.
type threadMatch string

const (
	matchSigned     threadMatch = "signed_address"
	matchToken      threadMatch = "subject_token"
	matchReferences threadMatch = "references"
	matchBareKey    threadMatch = "bare_key"
)

// thread finds the ticket a message belongs to, in the contract's order; a ticket merged
// into another gives that other one.
func (s *Service) thread(ctx context.Context, tx *sqlx.Tx, d Delivery, author User) (*Ticket, threadMatch, error) {
	t, how, err := s.threadDirect(ctx, tx, d, author)
	if err != nil || t == nil {
		return t, how, err
	}
	if t, err = s.followMerge(ctx, tx, t); err != nil {
		return nil, "", err
	}
	return t, how, nil
}

func (s *Service) threadDirect(ctx context.Context, tx *sqlx.Tx, d Delivery, author User) (*Ticket, threadMatch, error) {
	m := d.Msg
	// (1) a signed reply address among the recipients.
	addrs := append([]string{}, d.Env.Recipients...)
	for _, a := range append(append([]Address{}, m.To...), m.Cc...) {
		addrs = append(addrs, a.Email)
	}
	for _, a := range addrs {
		if key, ok := s.VerifyReplyAddress(a, author.Email); ok {
			t, err := s.ticketByKey(ctx, tx, key)
			if err == nil {
				return t, matchSigned, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return nil, "", err
			}
		}
	}
	// (2) a [#KEY] token of a known ticket in the subject.
	if m.ThreadKey != "" {
		t, err := s.ticketByKey(ctx, tx, strings.ToUpper(m.ThreadKey))
		if err == nil {
			return t, matchToken, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
	}
	// (3) a Message-ID of the thread in In-Reply-To or References, newest first.
	ids := append([]string{}, m.InReplyTo...)
	if m.Bounce != nil && m.Bounce.OriginalMessageID != "" {
		ids = append(ids, m.Bounce.OriginalMessageID)
	}
	for i := len(m.References) - 1; i >= 0; i-- {
		ids = append(ids, m.References[i])
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		var tid int64
		err := tx.GetContext(ctx, &tid, s.q.ThreadMessage, id, id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("ticket: thread by references: %w", err)
		}
		t, err := s.ticketByID(ctx, tx, tid)
		if err != nil {
			return nil, "", err
		}
		return t, matchReferences, nil
	}
	// (4) a bare KEY in the subject, only from someone of that ticket.
	for _, k := range m.BareKeys {
		t, err := s.ticketByKey(ctx, tx, strings.ToUpper(k))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		ok, err := s.mayComment(ctx, tx, t, author)
		if err != nil {
			return nil, "", err
		}
		if ok {
			return t, matchBareKey, nil
		}
	}
	return nil, "", nil
}

// mayComment: the requester, the participants and the agents may comment on a ticket.
func (s *Service) mayComment(ctx context.Context, tx sqlx.QueryerContext, t *Ticket, u User) (bool, error) {
	if u.Role.IsStaff() || u.ID == t.RequesterID {
		return true, nil
	}
	ps, err := s.participants(ctx, tx, t.ID)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.ID == u.ID {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) ticketByKey(ctx context.Context, q sqlx.QueryerContext, key string) (*Ticket, error) {
	var t Ticket
	err := sqlx.GetContext(ctx, q, &t, s.q.TicketByKey, strings.ToUpper(key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: ticket %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: read ticket %s: %w", key, err)
	}
	return &t, nil
}

func (s *Service) ticketByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*Ticket, error) {
	var t Ticket
	err := sqlx.GetContext(ctx, q, &t, s.q.TicketByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: ticket #%d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: read ticket #%d: %w", id, err)
	}
	return &t, nil
}

func (s *Service) participants(ctx context.Context, q sqlx.QueryerContext, ticketID int64) ([]User, error) {
	var us []User
	if err := sqlx.SelectContext(ctx, q, &us, s.q.Participants, ticketID); err != nil {
		return nil, fmt.Errorf("ticket: read participants: %w", err)
	}
	return us, nil
}

func (s *Service) createFromMail(ctx context.Context, tx *sqlx.Tx, inboundID int64, author User, d Delivery, linked *Ticket) (processResult, error) {
	m := d.Msg
	summary := strings.TrimSpace(m.Summary)
	if summary == "" {
		summary = "(sans objet)"
	}
	nt := NewTicket{
		Summary: summary, Description: strings.TrimSpace(m.Text), DescriptionHTML: m.HTML, UAI: author.UAI,
		Source: SourceEmail, Attachments: m.Attachments,
	}
	if linked != nil {
		nt.LinkedTicketID = &linked.ID
	}
	t, err := s.insertTicket(ctx, tx, author, nt, &inboundID)
	if err != nil {
		return processResult{}, err
	}
	if linked != nil {
		if err := s.event(ctx, tx, linked.ID, author.ID, "followed_by", t.Key); err != nil {
			return processResult{}, err
		}
	}
	if err := s.addThreadMessage(ctx, tx, m.MessageID, t.ID); err != nil {
		return processResult{}, err
	}
	if err := s.addCcParticipants(ctx, tx, t, author, m); err != nil {
		return processResult{}, err
	}
	if err := s.notifyNewTicket(ctx, tx, t, author, author, m.MessageID, m.Attachments); err != nil {
		return processResult{}, err
	}
	if err := s.inboundDone(ctx, tx, inboundID, "", t.ID, 0); err != nil {
		return processResult{}, err
	}
	return processResult{key: t.Key, created: true}, nil
}

// NewTicket holds the fields of a new ticket.
type NewTicket struct {
	Summary, Description, DescriptionHTML     string
	UAI, URL, Academie, Components, Phone     string
	IncidentStart, AffectedUsers, RequestType string
	Source                                    Source
	LinkedTicketID                            *int64
	Attachments                               []Attachment
}

// insertTicket allocates the desk's next number and inserts the ticket with its files.
func (s *Service) insertTicket(ctx context.Context, tx *sqlx.Tx, requester User, nt NewTicket, inboundID *int64) (*Ticket, error) {
	if nt.RequestType == "" {
		nt.RequestType = s.opt.DefaultRequestType
	}
	var n int64
	if err := tx.GetContext(ctx, &n, s.q.NextNumber, s.desk.ID); err != nil {
		return nil, fmt.Errorf("ticket: allocate number: %w", err)
	}
	now := s.now()
	t := &Ticket{
		Key: s.desk.Key + "-" + strconv.FormatInt(n, 10), DeskID: s.desk.ID, Number: n,
		Summary: nt.Summary, Description: nt.Description, Status: StatusNew, RequesterID: requester.ID,
		UAI: nt.UAI, URL: nt.URL, Academie: nt.Academie, Components: nt.Components, Phone: nt.Phone,
		IncidentStart: nt.IncidentStart, AffectedUsers: nt.AffectedUsers, RequestType: nt.RequestType,
		Source: nt.Source, LinkedTicket: nt.LinkedTicketID, CreatedAt: now, UpdatedAt: now,
	}
	err := tx.GetContext(ctx, &t.ID, s.q.InsertTicket, t.Key, t.DeskID, t.Number, t.Summary, t.Description, nt.DescriptionHTML,
		t.Status, t.RequesterID, t.UAI, t.URL, t.Academie, t.Components, t.Phone, t.IncidentStart, t.AffectedUsers,
		t.RequestType, t.Source, inboundID, t.LinkedTicket, now, now)
	if err != nil {
		return nil, fmt.Errorf("ticket: insert ticket %s: %w", t.Key, err)
	}
	if err := s.insertAttachments(ctx, tx, t.ID, nil, nt.Attachments); err != nil {
		return nil, err
	}
	if err := s.slaStart(ctx, tx, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Service) insertAttachments(ctx context.Context, tx *sqlx.Tx, ticketID int64, commentID *int64, as []Attachment) error {
	for _, a := range as {
		if _, err := tx.ExecContext(ctx, s.q.InsertAttachment, ticketID, commentID, a.Filename, a.ContentType, a.Size, a.SHA256, b2i(a.Inline), a.ContentID, b2i(a.Truncated)); err != nil {
			return fmt.Errorf("ticket: insert attachment %q: %w", a.Filename, err)
		}
	}
	return nil
}

func (s *Service) addThreadMessage(ctx context.Context, tx *sqlx.Tx, messageID string, ticketID int64) error {
	if messageID == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q.InsertThreadMsg, messageID, ticketID, s.now()); err != nil {
		return fmt.Errorf("ticket: record thread message: %w", err)
	}
	return nil
}

func (s *Service) inboundDone(ctx context.Context, tx *sqlx.Tx, inboundID int64, automatic string, ticketID, commentID int64) error {
	_, err := tx.ExecContext(ctx, s.q.InboundDone, "processed", "", automatic, nullID(ticketID), nullID(commentID), s.now(), inboundID)
	if err != nil {
		return fmt.Errorf("ticket: mark inbound %d processed: %w", inboundID, err)
	}
	return nil
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
