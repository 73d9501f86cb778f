// Package ticket is Guichet's domain: desks, tickets, comments, statuses and their rules,
// users, establishments, the thread's Message-IDs and the outbox. Every change goes through
// Service, and a change commits together with the outbox rows of the mail it causes.
//
// # Storage
//
// The store uses sqlx with "?" placeholders rebound per driver (SQLite through
// modernc.org/sqlite, PostgreSQL through pgx's stdlib driver). Migrations are embedded,
// numbered SQL files applied one transaction each.
//
// # Intake
//
// Raw inbound mail is stored and processed in one transaction per batch of messages
// (group commit): each message gets its own savepoint, so a message that fails to
// process is still stored, with its error, and retried later.
package ticket

import (
	"strings"
	"time"
)

// Status is a ticket's status code, as the external contract names it.
type Status string

// The statuses of the contract.
const (
	StatusNew         Status = "new"
	StatusInProgress  Status = "in_progress"
	StatusWaiting     Status = "waiting"
	StatusWaitingUser Status = "waiting_user"
	StatusClosed      Status = "closed"
)

// Statuses lists every status in display order.
var Statuses = []Status{StatusNew, StatusInProgress, StatusWaiting, StatusWaitingUser, StatusClosed}

var statusLabels = map[Status][2]string{
	StatusNew:         {"Nouveau", "New"},
	StatusInProgress:  {"En cours", "In progress"},
	StatusWaiting:     {"En attente", "Waiting"},
	StatusWaitingUser: {"En attente utilisateur", "Waiting for user"},
	StatusClosed:      {"Fermé", "Closed"},
}

// Label returns the status's label in lang ("fr" or "en"; French for anything else).
func (s Status) Label(lang string) string {
	l, ok := statusLabels[s]
	if !ok {
		return string(s)
	}
	if lang == "en" {
		return l[1]
	}
	return l[0]
}

// Valid reports whether s is one of the contract's statuses.
func (s Status) Valid() bool { _, ok := statusLabels[s]; return ok }

// ParseStatus accepts a status code or its French or English label, in any case.
func ParseStatus(v string) (Status, bool) {
	v = strings.TrimSpace(strings.ToLower(v))
	for s, l := range statusLabels {
		if v == string(s) || v == strings.ToLower(l[0]) || v == strings.ToLower(l[1]) {
			return s, true
		}
	}
	return "", false
}

// Source is the channel a ticket or comment came from.
type Source string

// The sources of the contract.
const (
	SourceEmail Source = "email"
	SourceWeb   Source = "web"
	SourcePhone Source = "phone"
)

// Visibility tells who sees a comment.
type Visibility string

// Comment visibilities.
const (
	Public   Visibility = "public"
	Internal Visibility = "internal"
)

// Role is a user's role.
type Role string

// User roles.
const (
	RoleCustomer Role = "customer"
	RoleAgent    Role = "agent"
	RoleAdmin    Role = "admin"
)

// IsStaff reports whether the role answers tickets (agents and admins).
func (r Role) IsStaff() bool { return r == RoleAgent || r == RoleAdmin }

// Address is a mailbox: a display name and an address.
type Address struct {
	Name  string `json:"name"`
	Email string `json:"address"`
}

// Attachment describes a file of a mail or a comment. Its content is kept in the blob store
// (package blob) under its SHA256.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id,omitempty"`
	// Truncated: the mail ended inside this file (no closing boundary, data cut off);
	// the content is what was received.
	Truncated bool `json:"truncated,omitempty"`
}

// Envelope is what the transport said about a message: SMTP MAIL FROM and RCPT TO, or
// their equivalent for ingest and IMAP.
type Envelope struct {
	From       string   // MAIL FROM; empty for bounces (<>)
	Recipients []string // RCPT TO
	Channel    string   // "smtp", "lmtp", "ingest", "imap"
	RemoteAddr string
	// TraceLen is the length of the trace header (Received:) that the receiving listener
	// put in front of the message; the content hash used for deduplication skips it.
	TraceLen int
}

// Inbound is one parsed inbound mail, as mailin hands it to the Service.
type Inbound struct {
	MessageID   string    // without angle brackets; empty when the mail had none
	InReplyTo   []string  // without angle brackets
	References  []string  // without angle brackets
	From        Address   // the author (From:, else Sender:)
	ReplyTo     []Address // Reply-To:
	To          []Address
	Cc          []Address
	Subject     string    // decoded subject
	Summary     string    // subject without reply/forward prefixes and without the token
	ThreadKey   string    // the ticket key of a [#KEY] token in the subject, if any
	BareKeys    []string  // bare KEY-N words found in the subject (threading rule 4)
	Date        time.Time // Date: header, zero when absent or unreadable
	Text        string    // the whole body as text
	Visible     string    // the new part of a reply: quotes and signature removed
	HTML        string    // sanitised HTML body, when the mail had one
	Automatic   bool      // auto-reply, bounce, list, loop: stored, never answered
	AutoReason  string    // why Automatic is set
	Bounce      *Bounce   // set for delivery status notifications
	Attachments []Attachment
	Warnings    []string // what could not be read (broken part, unknown charset, ...)
	Auth        Auth     // sender authentication: DKIM, SPF, DMARC
}

// AuthVerdict sums up what sender authentication says of a mail's From.
type AuthVerdict string

// Verdicts of sender authentication.
const (
	// AuthPass: an aligned DKIM signature or a DMARC pass: proof that the From domain
	// sent it.
	AuthPass AuthVerdict = "pass"
	// AuthNone: no proof either way (no signature, no result, neutral, temporary errors).
	AuthNone AuthVerdict = "none"
	// AuthFail: evidence of forgery: DMARC fail, or DKIM and SPF both failing.
	AuthFail AuthVerdict = "fail"
)

// Auth records the sender-authentication results of one mail.
type Auth struct {
	Verdict    AuthVerdict `json:"verdict"`
	DKIM       string      `json:"dkim,omitempty"`        // pass, fail, none, neutral, temperror, permerror, policy
	DKIMDomain string      `json:"dkim_domain,omitempty"` // d= of the signature that passed (or failed)
	SPF        string      `json:"spf,omitempty"`
	SPFDomain  string      `json:"spf_domain,omitempty"` // the MAIL FROM (or HELO) domain checked
	DMARC      string      `json:"dmarc,omitempty"`
	Source     string      `json:"source,omitempty"` // "authentication-results" (our authserv-id) or "dkim-check" (our own)
	// Ignored counts the Authentication-Results fields with our authserv-id that did
	// not count: from an SMTP client not in --trusted-relays, or below the trusted MTA's
	// entry hop (RFC 8601 section 5). Forged, most likely.
	Ignored int `json:"ignored,omitempty"`
}

// Bounce is what a delivery status notification says.
type Bounce struct {
	Recipients        []string // the addresses that failed
	OriginalMessageID string   // Message-ID of the mail that bounced, when found
	Permanent         bool
	Status            string // e.g. "5.1.1"
}

// Ticket is one request.
type Ticket struct {
	ID            int64      `db:"id" json:"-"`
	Key           string     `db:"key" json:"key"`
	DeskID        int64      `db:"desk_id" json:"-"`
	Number        int64      `db:"number" json:"-"`
	Summary       string     `db:"summary" json:"summary"`
	Description   string     `db:"description" json:"description"`
	Status        Status     `db:"status" json:"status"`
	RequesterID   int64      `db:"requester_id" json:"-"`
	AssigneeID    *int64     `db:"assignee_id" json:"-"`
	UAI           string     `db:"uai" json:"uai"`
	URL           string     `db:"url" json:"url"`
	Academie      string     `db:"academie" json:"academie"`
	Components    string     `db:"components" json:"components"`
	Phone         string     `db:"phone" json:"phone"`
	IncidentStart string     `db:"incident_start" json:"incident_start"`
	AffectedUsers string     `db:"affected_users" json:"affected_users"`
	RequestType   string     `db:"request_type" json:"request_type"`
	Source        Source     `db:"source" json:"source"`
	LinkedTicket  *int64     `db:"linked_ticket_id" json:"-"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at" json:"updated_at"`
	ClosedAt      *time.Time `db:"closed_at" json:"-"`

	// closedNow: the change in progress closed the ticket (setStatus), so that its mails
	// to the requester ask for a rating, whichever mail tells the closing.
	closedNow bool
}

// User is a person known to Guichet: a requester created from a sender, or an agent.
type User struct {
	ID        int64     `db:"id"`
	Email     string    `db:"email"`
	Name      string    `db:"name"`
	Role      Role      `db:"role"`
	UAI       string    `db:"uai"`
	Lang      string    `db:"lang"`
	TimeZone  string    `db:"time_zone"`
	CreatedAt time.Time `db:"created_at"`
	// BouncingUntil: mail to this address bounced; none goes to it before this time.
	BouncingUntil *time.Time `db:"bouncing_until"`
	// NotifyEmail is a confirmed address that gets the user's mail instead of Email.
	NotifyEmail string `db:"notify_email"`
}

// Establishment is a school, known by its UAI (RNE).
type Establishment struct {
	UAI      string `db:"uai" json:"uai"`
	Name     string `db:"name" json:"name"`
	Academie string `db:"academie" json:"academie"`
}
