package ticket

import "time"

// MailKind names the kind of an outbound mail; templates are chosen by it.
type MailKind string

// The outbound mail kinds.
const (
	MailConfirmation MailKind = "confirmation" // to the requester of a new ticket
	MailAgentNew     MailKind = "agent_new"    // to agents, about a new ticket
	MailComment      MailKind = "comment"      // a comment, to those who should read it
	MailStatus       MailKind = "status"       // a status change
	MailNotice       MailKind = "notice"       // to one agent: a command refused, a mail held
	MailSLAWarning   MailKind = "sla_warning"  // to the assignee (or every agent): a target is about to be missed
	MailMerged       MailKind = "merged"       // to a merged ticket's requester: it goes on in the target
	// MailSignIn carries a sign-in link (MailData.Link); it is about no ticket.
	MailSignIn MailKind = "signin"
	// MailConfirmAddress asks to confirm a new notification address (MailData.Link); it
	// is about no ticket.
	MailConfirmAddress MailKind = "confirm_address"
)

// OutboxState is where an outbox row stands.
type OutboxState string

// Outbox states.
const (
	OutboxPending OutboxState = "pending"
	OutboxSent    OutboxState = "sent"
	OutboxFailed  OutboxState = "failed"
)

// OutboxMail is one outbound mail waiting in the outbox, with everything needed to render
// and send it: the rows are written in the same transaction as the change that caused
// them, and the snapshot in Data is what the mail says.
type OutboxMail struct {
	ID         int64
	Kind       MailKind
	TicketKey  string
	To         Address
	ToRole     Role     // the recipient's role: agents get agent wording
	Lang       string   // "fr" or "en"
	TimeZone   string   // IANA name for dates in the mail
	MessageID  string   // minted at enqueue time, without angle brackets
	InReplyTo  string   // without angle brackets
	References []string // without angle brackets, oldest first
	ReplyTo    string   // the signed reply address for this recipient
	Attempts   int
	CreatedAt  time.Time
	Data       MailData
}

// MailData is the snapshot of a ticket and of the change that an outbound mail tells about.
type MailData struct {
	Ticket      TicketView   `json:"ticket,omitzero"`
	Comment     *CommentView `json:"comment,omitempty"`
	OldStatus   Status       `json:"old_status,omitempty"`
	Link        string       `json:"link"` // the ticket's page on the portal
	DeskName    string       `json:"desk_name"`
	Attachments []Attachment `json:"attachments,omitempty"` // files to attach (agent notifications)
	StopLink    string       `json:"stop_link,omitempty"`   // stops mail about this ticket to this recipient
	Notice      string       `json:"notice,omitempty"`      // for MailNotice: what the agent is told
	SLA         *SLAWarning  `json:"sla,omitempty"`         // for MailSLAWarning
	Merged      *MergedView  `json:"merged,omitempty"`      // for MailMerged: the ticket merged into this one
	// RatingURL is the rating page of the closing this mail tells, for its requester
	// ("" otherwise); the mail adds &n=1…5 to preselect an answer.
	RatingURL string `json:"rating_url,omitempty"`
	// NotAttached lists files too large to attach, named in the mail with a pointer to
	// the portal. The sender sets it from Attachments (mailout: its attachment budget);
	// it is never stored.
	NotAttached []Attachment `json:"-"`
}

// TicketView is the part of a ticket that mail shows.
type TicketView struct {
	Key           string    `json:"key"`
	Summary       string    `json:"summary"`
	Description   string    `json:"description"`
	Status        Status    `json:"status"`
	Requester     Address   `json:"requester"`
	UAI           string    `json:"uai,omitempty"`
	Establishment string    `json:"establishment,omitempty"`
	URL           string    `json:"url,omitempty"`
	Academie      string    `json:"academie,omitempty"`
	Components    string    `json:"components,omitempty"`
	Phone         string    `json:"phone,omitempty"`
	IncidentStart string    `json:"incident_start,omitempty"`
	AffectedUsers string    `json:"affected_users,omitempty"`
	RequestType   string    `json:"request_type,omitempty"`
	Source        Source    `json:"source"`
	CreatedAt     time.Time `json:"created_at"`
}

// CommentView is the part of a comment that mail shows.
type CommentView struct {
	Author     Address    `json:"author"`
	AuthorRole Role       `json:"author_role"`
	Body       string     `json:"body"`
	Visibility Visibility `json:"visibility"`
	CreatedAt  time.Time  `json:"created_at"`
}
