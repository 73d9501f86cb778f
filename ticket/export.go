package ticket

import (
	"context"
	"fmt"
	"time"
)

// Export is what Guichet holds about one person (`guichet user export`): their user
// row, the tickets they asked, take part in, are assigned or commented on, with the
// comments they wrote and those they could see (internal notes for staff only), the
// events that they caused or that name them, their API tokens (names and dates, never
// the secret), how many sessions and sign-in links they have, the mail sent to them, the
// mail they sent, and the files they sent (content written beside by the command).
type Export struct {
	Format      string          `json:"format"` // "guichet-export/1"
	ExportedAt  time.Time       `json:"exported_at"`
	User        ExportUser      `json:"user"`
	Sessions    int             `json:"sessions"`
	SignInLinks int             `json:"signin_links"`
	APITokens   []ExportToken   `json:"api_tokens"`
	Whitelisted []string        `json:"whitelisted_for"` // UAIs of the establishments whose whitelist names them
	Tickets     []ExportTicket  `json:"tickets"`
	Events      []ExportEvent   `json:"events"`
	MailSent    []ExportMail    `json:"mail_sent_to_them"`
	MailIn      []ExportInbound `json:"mail_received_from_them"`
	Files       []ExportFile    `json:"files"`
	// The satisfaction ratings they gave as a requester, and those given about their
	// work (agents).
	RatingsGiven []ExportRating `json:"satisfaction_ratings_given"`
	RatingsAbout []ExportRating `json:"satisfaction_ratings_about_them"`
}

// ExportUser is the user row, without the password hash.
type ExportUser struct {
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Role          Role       `json:"role"`
	UAI           string     `json:"uai"`
	Lang          string     `json:"lang"`
	TimeZone      string     `json:"time_zone"`
	NotifyEmail   string     `json:"notify_email"`
	PendingNotify string     `json:"pending_notify_email"`
	HasPassword   bool       `json:"has_password"`
	HasAvatar     bool       `json:"has_avatar"`
	CreatedAt     time.Time  `json:"created_at"`
	BouncingUntil *time.Time `json:"bouncing_until"`
	ErasedAt      *time.Time `json:"erased_at"`
}

// ExportToken is an API token, without its secret.
type ExportToken struct {
	Name      string     `db:"name" json:"name"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	LastUsed  *time.Time `db:"last_used" json:"last_used"`
	RevokedAt *time.Time `db:"revoked_at" json:"revoked_at"`
}

// ExportTicket is one ticket the person has to do with; Roles says how
// (requester, participant, assignee, commenter).
type ExportTicket struct {
	ID          int64           `db:"id" json:"-"`
	Key         string          `db:"key" json:"key"`
	Summary     string          `db:"summary" json:"summary"`
	Description string          `db:"description" json:"description"`
	Status      Status          `db:"status" json:"status"`
	UAI         string          `db:"uai" json:"uai"`
	Source      Source          `db:"source" json:"source"`
	CreatedAt   time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time       `db:"updated_at" json:"updated_at"`
	ClosedAt    *time.Time      `db:"closed_at" json:"closed_at"`
	PurgedAt    *time.Time      `db:"purged_at" json:"purged_at"`
	Requester   bool            `db:"requester" json:"-"`
	Assignee    bool            `db:"assignee" json:"-"`
	Participant bool            `db:"participant" json:"-"`
	Commenter   bool            `db:"commenter" json:"-"`
	Roles       []string        `json:"roles"`
	Comments    []ExportComment `json:"comments"`
}

// ExportComment is a comment the person wrote (Mine) or could see.
type ExportComment struct {
	ID          int64        `db:"id" json:"id"`
	AuthorID    int64        `db:"author_id" json:"-"`
	AuthorName  string       `db:"author_name" json:"author_name"`
	Mine        bool         `json:"mine"`
	Body        string       `db:"body" json:"body"`
	Visibility  Visibility   `db:"visibility" json:"visibility"`
	Source      Source       `db:"source" json:"source"`
	CreatedAt   time.Time    `db:"created_at" json:"created_at"`
	Attachments []ExportFile `json:"attachments"`
}

// ExportFile is a file of a ticket. Path is where the command wrote its content, relative
// to the export folder ("" when not written).
type ExportFile struct {
	Ticket      string `json:"ticket"`
	CommentID   *int64 `db:"comment_id" json:"comment_id"`
	Filename    string `db:"filename" json:"filename"`
	ContentType string `db:"content_type" json:"content_type"`
	Size        int64  `db:"size" json:"size"`
	SHA256      string `db:"sha256" json:"sha256"`
	SenderID    int64  `db:"sender_id" json:"-"`
	Path        string `json:"path,omitempty"`
	Missing     bool   `json:"missing,omitempty"`
}

// ExportEvent is an event of a ticket that the person caused (ByThem) or that names them.
type ExportEvent struct {
	Ticket    string    `db:"key" json:"ticket"`
	Kind      string    `db:"kind" json:"kind"`
	Detail    string    `db:"detail" json:"detail"`
	ByThem    bool      `db:"by_them" json:"by_them"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// ExportMail is a mail sent (or to send) to the person.
type ExportMail struct {
	Kind      string     `db:"kind" json:"kind"`
	Ticket    string     `db:"ticket_key" json:"ticket"`
	State     string     `db:"state" json:"state"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	SentAt    *time.Time `db:"sent_at" json:"sent_at"`
}

// ExportInbound is a mail the person sent to the support address.
type ExportInbound struct {
	ID         int64      `db:"id" json:"id"`
	ReceivedAt time.Time  `db:"received_at" json:"received_at"`
	Channel    string     `db:"channel" json:"channel"`
	Size       int64      `db:"size" json:"size"`
	State      string     `db:"state" json:"state"`
	MessageID  string     `db:"message_id" json:"message_id"`
	PurgedAt   *time.Time `db:"purged_at" json:"purged_at"`
}

// Export reads what Guichet holds about the user with that address (any case); an
// unknown address is ErrNotFound. The files listed are the attachments they sent and
// their avatar; the command copies their content.
func (s *Service) Export(ctx context.Context, email string) (*Export, error) {
	p, err := s.person(ctx, s.db, email)
	if err != nil {
		return nil, err
	}
	x := &Export{Format: "guichet-export/1", ExportedAt: s.now(), User: ExportUser{
		ID: p.ID, Email: p.Email, Name: p.Name, Role: p.Role, UAI: p.UAI, Lang: p.Lang, TimeZone: p.TimeZone,
		NotifyEmail: p.NotifyEmail, PendingNotify: p.PendingNotify, HasPassword: p.HasPassword, HasAvatar: p.AvatarSHA256 != "",
		CreatedAt: p.CreatedAt, BouncingUntil: p.BouncingUntil, ErasedAt: p.ErasedAt,
	}}
	fail := func(what string, err error) (*Export, error) {
		return nil, fmt.Errorf("ticket: export user %d: %s: %w", p.ID, what, err)
	}
	var counts struct {
		Sessions int `db:"sessions"`
		Links    int `db:"signin_links"`
	}
	if err := s.db.GetContext(ctx, &counts, s.pq.PersonCounts, p.ID, p.ID); err != nil {
		return fail("sessions", err)
	}
	x.Sessions, x.SignInLinks = counts.Sessions, counts.Links
	x.APITokens = []ExportToken{}
	if err := s.db.SelectContext(ctx, &x.APITokens, s.pq.PersonTokens, p.ID); err != nil {
		return fail("tokens", err)
	}
	x.Whitelisted = []string{}
	if err := s.db.SelectContext(ctx, &x.Whitelisted, s.pq.PersonWhitelists, p.Email); err != nil {
		return fail("whitelists", err)
	}
	x.Tickets = []ExportTicket{}
	uid := p.ID
	if err := s.db.SelectContext(ctx, &x.Tickets, s.pq.PersonTickets, uid, uid, uid, uid, uid, uid, uid, uid); err != nil {
		return fail("tickets", err)
	}
	x.Files = []ExportFile{}
	for i := range x.Tickets {
		t := &x.Tickets[i]
		for _, r := range []struct {
			on   bool
			name string
		}{{t.Requester, "requester"}, {t.Participant, "participant"}, {t.Assignee, "assignee"}, {t.Commenter, "commenter"}} {
			if r.on {
				t.Roles = append(t.Roles, r.name)
			}
		}
		var cs []ExportComment
		if err := s.db.SelectContext(ctx, &cs, s.pq.PersonTicketComments, t.ID); err != nil {
			return fail("comments of "+t.Key, err)
		}
		var fs []ExportFile
		if err := s.db.SelectContext(ctx, &fs, s.pq.PersonTicketFiles, t.ID); err != nil {
			return fail("files of "+t.Key, err)
		}
		t.Comments = []ExportComment{}
		for _, c := range cs {
			c.Mine = c.AuthorID == p.ID
			if !c.Mine && c.Visibility == Internal && !p.Role.IsStaff() {
				continue // a customer never saw it
			}
			c.Attachments = []ExportFile{}
			for _, f := range fs {
				if f.CommentID != nil && *f.CommentID == c.ID {
					f.Ticket = t.Key
					c.Attachments = append(c.Attachments, f)
				}
			}
			t.Comments = append(t.Comments, c)
		}
		for _, f := range fs {
			if f.SenderID == p.ID {
				f.Ticket = t.Key
				x.Files = append(x.Files, f)
			}
		}
	}
	if p.AvatarSHA256 != "" {
		x.Files = append(x.Files, ExportFile{Filename: "avatar", SHA256: p.AvatarSHA256})
	}
	x.Events = []ExportEvent{}
	if err := s.db.SelectContext(ctx, &x.Events, s.pq.PersonEvents, p.ID, p.ID, "%"+likeEscape(p.Email)+"%"); err != nil {
		return fail("events", err)
	}
	x.MailSent = []ExportMail{}
	notify := p.NotifyEmail
	if notify == "" {
		notify = p.Email
	}
	if err := s.db.SelectContext(ctx, &x.MailSent, s.pq.PersonMail, p.Email, notify, p.PendingNotify); err != nil {
		return fail("mail sent", err)
	}
	if x.RatingsGiven, x.RatingsAbout, err = s.exportRatings(ctx, s.db, p.ID); err != nil {
		return fail("satisfaction ratings", err)
	}
	x.MailIn = []ExportInbound{}
	if err := s.db.SelectContext(ctx, &x.MailIn, s.pq.PersonInboundList, p.Email, "mid:"+likeEscape(p.Email)+":%", p.ID, p.ID); err != nil {
		return fail("mail received", err)
	}
	return x, nil
}
