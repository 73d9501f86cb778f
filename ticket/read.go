package ticket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Detail is a ticket as `guichet ticket show --json` and the API print it.
type Detail struct {
	Key           string          `json:"key"`
	Summary       string          `json:"summary"`
	Description   string          `json:"description"`
	Status        Status          `json:"status"`
	StatusLabel   string          `json:"status_label"`
	Requester     string          `json:"requester"`
	RequesterName string          `json:"requester_name"`
	Participants  []string        `json:"participants"`
	UAI           string          `json:"uai"`
	URL           string          `json:"url"`
	Academie      string          `json:"academie"`
	Components    string          `json:"components"`
	Phone         string          `json:"phone"`
	IncidentStart string          `json:"incident_start"`
	AffectedUsers string          `json:"affected_users"`
	RequestType   string          `json:"request_type"`
	Source        Source          `json:"source"`
	Desk          string          `json:"desk"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Attachments   []Attachment    `json:"attachments"`
	Comments      []CommentDetail `json:"comments"`
	Events        []Event         `json:"events"`
	Assignee      string          `json:"assignee,omitempty"`
	// MergedInto is the key of the ticket this one was merged into, "" when none.
	MergedInto string `json:"merged_into,omitempty"`
	// SLA is the ticket's SLA, for agents only (nil for customers and without a clock).
	SLA *SLAState `json:"-"`
	// Names maps the addresses of the people the ticket shows (requester, participants,
	// assignee, those its events name) to their display names, for the portal; an
	// address without a known name is absent.
	Names map[string]string `json:"-"`
}

// Event is activity that is not a comment: a status change, a participant added or
// refused, a bounce, a held message.
type Event struct {
	ID        int64     `db:"id" json:"-"`
	Kind      string    `db:"kind" json:"kind"`
	Detail    string    `db:"detail" json:"detail"`
	Actor     string    `db:"actor" json:"actor,omitempty"`
	ActorName string    `db:"actor_name" json:"-"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// CommentDetail is one comment of a Detail.
type CommentDetail struct {
	ID         int64      `json:"id"`
	Author     string     `json:"author"`
	AuthorName string     `json:"author_name"`
	Body       string     `json:"body"`
	Visibility Visibility `json:"visibility"`
	Source     Source     `json:"source"`
	Automatic  bool       `json:"automatic"`
	Verified   bool       `json:"verified"` // the author's identity was proven
	// HTML is the sanitised HTML of a comment that came as HTML mail (with its quoted
	// history); Body is what the author wrote.
	HTML string `json:"html,omitempty"`
	// InboundID is the stored mail the comment came from (agents may view it raw).
	InboundID   int64        `json:"inbound_id,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	Attachments []Attachment `json:"attachments"`
}

type commentRow struct {
	ID          int64      `db:"id"`
	AuthorEmail string     `db:"author_email"`
	AuthorName  string     `db:"author_name"`
	AuthorRole  Role       `db:"author_role"`
	Body        string     `db:"body"`
	Visibility  Visibility `db:"visibility"`
	Source      Source     `db:"source"`
	Automatic   int        `db:"automatic"`
	Verified    int        `db:"verified"`
	BodyHTML    string     `db:"body_html"`
	InboundID   *int64     `db:"inbound_id"`
	CreatedAt   time.Time  `db:"created_at"`
}

// Get returns a ticket with its comments, participants and files; ErrNotFound if none.
func (s *Service) Get(ctx context.Context, key string) (*Detail, error) {
	t, err := s.ticketByKey(ctx, s.db, key)
	if err != nil {
		return nil, err
	}
	return s.detail(ctx, t)
}

// detail reads the rest of a ticket already at hand.
func (s *Service) detail(ctx context.Context, t *Ticket) (*Detail, error) {
	key := t.Key
	req, err := s.userByID(ctx, s.db, t.RequesterID)
	if err != nil {
		return nil, err
	}
	d := &Detail{
		Key: t.Key, Summary: t.Summary, Description: t.Description, Status: t.Status, StatusLabel: t.Status.Label("fr"),
		Requester: req.Email, RequesterName: req.Name, Participants: []string{}, UAI: t.UAI, URL: t.URL,
		Academie: t.Academie, Components: t.Components, Phone: t.Phone, IncidentStart: t.IncidentStart,
		AffectedUsers: t.AffectedUsers, RequestType: t.RequestType, Source: t.Source, Desk: s.desk.Key,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Attachments: []Attachment{}, Comments: []CommentDetail{},
	}
	var into []string
	if err := s.db.SelectContext(ctx, &into, s.mq.MovedKey, t.ID); err != nil {
		return nil, fmt.Errorf("ticket: read merge of %s: %w", key, err)
	}
	if len(into) > 0 {
		d.MergedInto = into[0]
	}
	ps, err := s.participants(ctx, s.db, t.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		d.Participants = append(d.Participants, p.Email)
	}
	var files []attachmentRow
	if err := s.db.SelectContext(ctx, &files, s.q.Attachments, t.ID); err != nil {
		return nil, fmt.Errorf("ticket: read attachments of %s: %w", key, err)
	}
	byComment := map[int64][]Attachment{}
	for _, f := range files {
		if f.CommentID == nil {
			d.Attachments = append(d.Attachments, f.attachment())
		} else {
			byComment[*f.CommentID] = append(byComment[*f.CommentID], f.attachment())
		}
	}
	var cs []commentRow
	if err := s.db.SelectContext(ctx, &cs, s.q.Comments, t.ID); err != nil {
		return nil, fmt.Errorf("ticket: read comments of %s: %w", key, err)
	}
	for _, c := range cs {
		as := byComment[c.ID]
		if as == nil {
			as = []Attachment{}
		}
		d.Comments = append(d.Comments, CommentDetail{
			ID: c.ID, Author: c.AuthorEmail, AuthorName: c.AuthorName, Body: c.Body, Visibility: c.Visibility,
			Source: c.Source, Automatic: c.Automatic != 0, Verified: c.Verified != 0, HTML: c.BodyHTML, InboundID: deref(c.InboundID), CreatedAt: c.CreatedAt, Attachments: as,
		})
	}
	d.Events = []Event{}
	if err := s.db.SelectContext(ctx, &d.Events, s.cq.Events, t.ID); err != nil {
		return nil, fmt.Errorf("ticket: read events of %s: %w", key, err)
	}
	d.Names = map[string]string{}
	name := func(u User) {
		if u.Name != "" {
			d.Names[u.Email] = u.Name
		}
	}
	name(req)
	for _, p := range ps {
		name(p)
	}
	if t.AssigneeID != nil {
		if a, err := s.userByID(ctx, s.db, *t.AssigneeID); err == nil {
			d.Assignee = a.Email
			name(a)
		}
	}
	looked := map[string]bool{}
	for _, e := range d.Events {
		if e.ActorName != "" {
			d.Names[e.Actor] = e.ActorName
		}
		switch e.Kind {
		case "participant_added", "participant_removed", "participant_refused", "assigned", "phone":
		default:
			continue
		}
		// Someone removed or refused may not be a participant any more; a few lookups of
		// distinct addresses (a ticket names few people), and at most 50.
		addr := NormalizeEmail(e.Detail)
		if addr == "" || looked[addr] || d.Names[addr] != "" || len(looked) >= 50 {
			continue
		}
		looked[addr] = true
		if u, err := s.userByEmail(ctx, s.db, addr); err == nil {
			name(u)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return d, nil
}

// ListItem is one line of `guichet ticket list --json`.
type ListItem struct {
	Key       string    `db:"key" json:"key"`
	Summary   string    `db:"summary" json:"summary"`
	Status    Status    `db:"status" json:"status"`
	Requester string    `db:"requester" json:"requester"`
	Source    Source    `db:"source" json:"source"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// List returns up to limit tickets, most recently updated first.
func (s *Service) List(ctx context.Context, limit int) ([]ListItem, error) {
	return s.ListPage(ctx, limit, 0)
}

// ListPage is List after skipping offset tickets, for `guichet ticket list --page`.
func (s *Service) ListPage(ctx context.Context, limit, offset int) ([]ListItem, error) {
	if limit <= 0 {
		limit = 1000
	}
	out := []ListItem{}
	if err := s.db.SelectContext(ctx, &out, s.q.TicketList, limit, max(offset, 0)); err != nil {
		return nil, fmt.Errorf("ticket: list tickets: %w", err)
	}
	return out, nil
}

// InboundItem is one stored inbound message, for `guichet inbound list`.
type InboundItem struct {
	ID           int64     `db:"id" json:"id"`
	MessageID    string    `db:"message_id" json:"message_id"`
	EnvelopeFrom string    `db:"envelope_from" json:"envelope_from"`
	Channel      string    `db:"channel" json:"channel"`
	Size         int64     `db:"size" json:"size"`
	State        string    `db:"state" json:"state"`
	Error        string    `db:"error" json:"error"`
	Attempts     int       `db:"attempts" json:"attempts"`
	Automatic    string    `db:"automatic" json:"automatic"`
	ReceivedAt   time.Time `db:"received_at" json:"received_at"`
	TicketID     *int64    `db:"ticket_id" json:"-"`
	// Auth is the sender authentication recorded (results that counted, fields ignored),
	// nil when there was nothing to record.
	Auth     *Auth  `db:"-" json:"auth,omitempty"`
	AuthJSON string `db:"auth" json:"-"`
}

// ListInbound returns stored inbound messages, newest first; state "" means all.
func (s *Service) ListInbound(ctx context.Context, state string, limit int) ([]InboundItem, error) {
	return s.ListInboundPage(ctx, state, limit, 0)
}

// ListInboundPage is ListInbound after skipping offset messages, for `guichet inbound
// list --page`.
func (s *Service) ListInboundPage(ctx context.Context, state string, limit, offset int) ([]InboundItem, error) {
	if limit <= 0 {
		limit = 100
	}
	out := []InboundItem{}
	if err := s.db.SelectContext(ctx, &out, s.q.InboundList, state, state, limit, max(offset, 0)); err != nil {
		return nil, fmt.Errorf("ticket: list inbound: %w", err)
	}
	for i := range out {
		if out[i].AuthJSON == "" {
			continue
		}
		// A record that does not decode is left out: the list is for looking, and
		// the rest of the row still says what happened to the message.
		var a Auth
		if json.Unmarshal([]byte(out[i].AuthJSON), &a) == nil {
			out[i].Auth = &a
		}
	}
	return out, nil
}

// InboundRaw returns the raw bytes of a stored inbound message (whole in memory: see
// OpenInboundRaw).
func (s *Service) InboundRaw(ctx context.Context, id int64) ([]byte, error) {
	rc, err := s.OpenInboundRaw(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("ticket: read inbound message %d: %w", id, err)
	}
	return raw, nil
}

// OpenInboundRaw returns a reader of a stored inbound message's raw bytes: from the
// blob store for a big message (raw_blob), else from its row.
func (s *Service) OpenInboundRaw(ctx context.Context, id int64) (io.ReadCloser, error) {
	var row struct {
		Raw     []byte `db:"raw"`
		RawBlob string `db:"raw_blob"`
	}
	if err := s.db.GetContext(ctx, &row, s.q.InboundRaw, id); err != nil {
		return nil, fmt.Errorf("%w: inbound message %d", ErrNotFound, id)
	}
	if row.RawBlob == "" {
		return io.NopCloser(bytes.NewReader(row.Raw)), nil
	}
	return s.openRawBlob(ctx, id, row.RawBlob)
}

// openRawBlob opens the blob that holds a big inbound message.
func (s *Service) openRawBlob(ctx context.Context, id int64, sum string) (io.ReadCloser, error) {
	if s.opt.RawBlobs == nil {
		return nil, fmt.Errorf("ticket: inbound message %d is in the blob store, which this service was not given", id)
	}
	rc, err := s.opt.RawBlobs.OpenBlob(ctx, sum)
	if err != nil {
		return nil, fmt.Errorf("ticket: open inbound message %d: %w", id, err)
	}
	return rc, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
