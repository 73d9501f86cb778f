package ticket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// notifyNewTicket queues the confirmation to the requester and a notification, with the
// request's fields and files, to every agent.
func (s *Service) notifyNewTicket(ctx context.Context, tx *sqlx.Tx, t *Ticket, requester, creator User, inReplyTo string, files []Attachment) error {
	data, err := s.mailDataFor(ctx, tx, t, nil, &requester)
	if err != nil {
		return err
	}
	th := newThread(inReplyTo)
	var recent int
	since := s.now().Add(-time.Hour)
	if err := tx.GetContext(ctx, &recent, s.q.CountRecentOutbox, requester.Email, MailConfirmation, since); err != nil {
		return fmt.Errorf("ticket: count confirmations: %w", err)
	}
	staff, err := s.staff(ctx, tx)
	if err != nil {
		return err
	}
	agents := make([]User, 0, len(staff))
	for _, a := range staff {
		if a.ID != requester.ID && a.ID != creator.ID {
			agents = append(agents, a)
		}
	}
	confirm := recent < s.opt.ConfirmationsPerHour
	mails := len(agents)
	if confirm {
		mails++
	}
	th.shared.expect(mails)
	if !confirm {
		s.log.Warn("confirmation rate limit reached; no confirmation sent", "ticket", t.Key, "limit_per_hour", s.opt.ConfirmationsPerHour)
	} else if err := s.enqueue(ctx, tx, t, requester, MailConfirmation, data, th); err != nil {
		return err
	}
	agentData := data
	agentData.Attachments = files
	for _, a := range agents {
		if err := s.enqueue(ctx, tx, t, a, MailAgentNew, agentData, th); err != nil {
			return err
		}
	}
	return nil
}

// notifyComment queues a comment's mail per the contract: an agent's public comment goes
// to the requester and the participants; a customer's comment to the agents (the assignee
// if there is one) and the other customer-side participants; an internal note to agents
// only. Nobody is sent their own comment.
func (s *Service) notifyComment(ctx context.Context, tx *sqlx.Tx, t *Ticket, author User, c *CommentView, old Status, inReplyTo string, files []Attachment) error {
	data, err := s.mailData(ctx, tx, t, c)
	if err != nil {
		return err
	}
	data.OldStatus = old
	data.Attachments = files
	th, err := s.threadOf(ctx, tx, t, inReplyTo)
	if err != nil {
		return err
	}
	var to []User
	seen := map[int64]bool{author.ID: true}
	add := func(u User) {
		if !seen[u.ID] {
			seen[u.ID] = true
			to = append(to, u)
		}
	}
	parts, err := s.participants(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	customerSide := func() error {
		req, err := s.userByID(ctx, tx, t.RequesterID)
		if err != nil {
			return err
		}
		for _, u := range customerSideOf(req, parts) {
			add(u)
		}
		return nil
	}
	agents := func() error {
		if t.AssigneeID != nil {
			a, err := s.userByID(ctx, tx, *t.AssigneeID)
			if err != nil {
				return err
			}
			add(a)
		} else {
			staff, err := s.staff(ctx, tx)
			if err != nil {
				return err
			}
			for _, a := range staff {
				add(a)
			}
		}
		for _, p := range parts {
			if p.Role.IsStaff() {
				add(p)
			}
		}
		return nil
	}
	switch {
	case c.Visibility == Internal:
		err = agents()
	case author.Role.IsStaff():
		err = customerSide()
		if err == nil {
			for _, p := range parts { // staff participants follow the thread too
				if p.Role.IsStaff() {
					add(p)
				}
			}
		}
	default:
		if err = agents(); err == nil {
			err = customerSide()
		}
	}
	if err != nil {
		return err
	}
	th.shared.expect(len(to))
	for _, u := range to {
		if c.Visibility == Internal && !u.Role.IsStaff() {
			continue
		}
		if err := s.enqueue(ctx, tx, t, u, MailComment, data, th); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) userByID(ctx context.Context, q sqlx.QueryerContext, id int64) (User, error) {
	var u User
	if err := sqlx.GetContext(ctx, q, &u, s.q.UserByID, id); err != nil {
		return User{}, fmt.Errorf("ticket: read user #%d: %w", id, err)
	}
	return u, nil
}

func (s *Service) staff(ctx context.Context, q sqlx.QueryerContext) ([]User, error) {
	s.staffMu.Lock()
	defer s.staffMu.Unlock()
	if s.staffCache != nil && s.now().Sub(s.staffAt) < staffCacheTTL {
		return s.staffCache, nil
	}
	var us []User
	if err := sqlx.SelectContext(ctx, q, &us, s.q.StaffUsers); err != nil {
		return nil, fmt.Errorf("ticket: read agents: %w", err)
	}
	s.staffCache, s.staffAt = us, s.now()
	return us, nil
}

// staffCacheTTL is how long the list of agents is reused: it is read for every new
// ticket, and changes seldom (AddUser on this instance resets it at once).
const staffCacheTTL = 2 * time.Second

func (s *Service) forgetStaff() {
	s.staffMu.Lock()
	s.staffCache = nil
	s.staffMu.Unlock()
}

// mailData builds the snapshot that a mail about t tells.
func (s *Service) mailData(ctx context.Context, q sqlx.QueryerContext, t *Ticket, c *CommentView) (MailData, error) {
	return s.mailDataFor(ctx, q, t, c, nil)
}

// mailDataFor is mailData with the requester already at hand (nil: read it).
func (s *Service) mailDataFor(ctx context.Context, q sqlx.QueryerContext, t *Ticket, c *CommentView, requester *User) (MailData, error) {
	var req User
	if requester != nil {
		req = *requester
	} else {
		var err error
		if req, err = s.userByID(ctx, q, t.RequesterID); err != nil {
			return MailData{}, err
		}
	}
	tv := TicketView{
		Key: t.Key, Summary: t.Summary, Description: t.Description, Status: t.Status,
		Requester: Address{Name: req.Name, Email: req.Email}, UAI: t.UAI, URL: t.URL, Academie: t.Academie,
		Components: t.Components, Phone: t.Phone, IncidentStart: t.IncidentStart, AffectedUsers: t.AffectedUsers,
		RequestType: t.RequestType, Source: t.Source, CreatedAt: t.CreatedAt,
	}
	if t.UAI != "" {
		var e Establishment
		if err := sqlx.GetContext(ctx, q, &e, s.q.Establishment, t.UAI); err == nil {
			tv.Establishment = e.Name
			if tv.Academie == "" {
				tv.Academie = e.Academie
			}
		}
	}
	return MailData{Ticket: tv, Comment: c, Link: s.link(t.Key), DeskName: s.desk.Name}, nil
}

type attachmentRow struct {
	CommentID   *int64 `db:"comment_id"`
	Filename    string `db:"filename"`
	ContentType string `db:"content_type"`
	Size        int64  `db:"size"`
	SHA256      string `db:"sha256"`
	Inline      int    `db:"inline"`
	ContentID   string `db:"content_id"`
	Truncated   int    `db:"truncated"`
}

func (r attachmentRow) attachment() Attachment {
	return Attachment{Filename: r.Filename, ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256, Inline: r.Inline != 0, ContentID: r.ContentID, Truncated: r.Truncated != 0}
}

// mailThread is how the mails of one change thread: the mail they answer and the
// References they carry. fresh marks a ticket created in this very change: nobody has
// muted it or been mailed about it yet, so those checks are skipped.
type mailThread struct {
	inReplyTo string
	refs      []string
	fresh     bool
	shared    *sharedMail // nil: every mail is written whole
}

// sharedMail is the ticket and comment that the mails of one change tell. When the
// change queues more than one mail (many), they are written once to outbox_data and
// every row points there (one copy instead of one per recipient); a single mail is
// written whole in its row.
type sharedMail struct {
	many    bool // the change expects more than one mail
	ticket  TicketView
	comment *CommentView
	dataID  int64 // their outbox_data row, 0 before the first mail
}

// expect tells how many mails the change is about to queue.
func (sm *sharedMail) expect(n int) {
	if sm != nil {
		sm.many = n > 1
	}
}

// same reports whether d tells the same ticket and comment as the last mail.
func (sm *sharedMail) same(d *MailData) bool {
	if sm.dataID == 0 || sm.ticket != d.Ticket || (sm.comment == nil) != (d.Comment == nil) {
		return false
	}
	return sm.comment == nil || *sm.comment == *d.Comment
}

// threadOf reads t's thread once for all the mails of a change.
func (s *Service) threadOf(ctx context.Context, tx *sqlx.Tx, t *Ticket, inReplyTo string) (mailThread, error) {
	var refs []string
	if err := tx.SelectContext(ctx, &refs, s.q.ThreadLastMessages, t.ID); err != nil {
		return mailThread{}, fmt.Errorf("ticket: read thread: %w", err)
	}
	if inReplyTo == "" && len(refs) > 0 {
		inReplyTo = refs[len(refs)-1]
	}
	if inReplyTo != "" && !contains(refs, inReplyTo) {
		refs = append(refs, inReplyTo)
	}
	return mailThread{inReplyTo: inReplyTo, refs: refs, shared: &sharedMail{}}, nil
}

// newThread is the thread of a ticket created from the mail inReplyTo (may be empty).
func newThread(inReplyTo string) mailThread {
	th := mailThread{inReplyTo: inReplyTo, fresh: true, shared: &sharedMail{}}
	if inReplyTo != "" {
		th.refs = []string{inReplyTo}
	}
	return th
}

// enqueue writes one outbox row for u, minting the mail's Message-ID (replies to it are
// threaded through the outbox's message_id). Addresses that bounced recently, muted
// participants and recipients past the per-ticket cap get nothing.
func (s *Service) enqueue(ctx context.Context, tx *sqlx.Tx, t *Ticket, u User, kind MailKind, data MailData, th mailThread) error {
	_, err := s.enqueueID(ctx, tx, t, u, kind, data, th)
	return err
}

// enqueueID is enqueue returning the queued mail's Message-ID ("" when none was queued).
func (s *Service) enqueueID(ctx context.Context, tx *sqlx.Tx, t *Ticket, u User, kind MailKind, data MailData, th mailThread) (string, error) {
	if u.BouncingUntil != nil && u.BouncingUntil.After(s.now()) {
		s.log.Info("address is bouncing; mail not queued", "ticket", t.Key, "kind", string(kind))
		return "", nil
	}
	to := u.Email
	if u.NotifyEmail != "" {
		to = u.NotifyEmail // a confirmed notification address
	}
	if !th.fresh {
		if kind != MailConfirmation && kind != MailNotice {
			if muted, err := s.isMuted(ctx, tx, t.ID, u.ID); err != nil {
				return "", err
			} else if muted {
				return "", nil
			}
		}
		// A cap per ticket and recipient stops ping-pong with a mailer we failed to
		// recognise as automatic.
		var recent int
		if err := tx.GetContext(ctx, &recent, s.cq.CountRecentToTkt, t.ID, to, s.now().Add(-s.opt.TicketCapWindow)); err != nil {
			return "", fmt.Errorf("ticket: count recent mail: %w", err)
		}
		if recent >= s.opt.TicketCap {
			s.log.Warn("mail cap per ticket and recipient reached; mail not queued", "ticket", t.Key, "kind", string(kind), "cap", s.opt.TicketCap)
			return "", nil
		}
	}
	data.StopLink = s.StopLink(t.Key, u.Email)
	if (kind == MailStatus || kind == MailComment) && t.closedNow {
		// The mail that tells the requester of the closing asks for their rating.
		link, err := s.ratingURLFor(ctx, tx, t, u)
		if err != nil {
			return "", err
		}
		data.RatingURL = link
	}
	mid, err := s.newMessageID(t.Key)
	if err != nil {
		return "", err
	}
	payload, dataID, err := s.mailPayload(ctx, tx, &data, th.shared)
	if err != nil {
		return "", fmt.Errorf("ticket: queue %s mail for %s: %w", kind, t.Key, err)
	}
	lang := u.Lang
	if lang != "en" {
		lang = "fr"
	}
	tz := u.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	now := s.now()
	err = s.insertOutbox(ctx, tx, kind, t.ID, t.Key, to, u.Name, u.Role, lang, tz, mid, th.inReplyTo,
		strings.Join(th.refs, " "), s.ReplyAddress(t.Key, u.Email), string(payload), dataID, now, now)
	if err != nil {
		return "", fmt.Errorf("ticket: queue %s mail for %s: %w", kind, t.Key, err)
	}
	return mid, nil
}

// insertOutbox writes one outbox row (the insert-outbox query's arguments) and counts
// it for the committer's transaction, which wakes the sender once it commits; every
// outbox row is written here.
func (s *Service) insertOutbox(ctx context.Context, tx *sqlx.Tx, args ...any) error {
	if _, err := tx.ExecContext(ctx, s.q.InsertOutbox, args...); err != nil {
		return err
	}
	s.txMail++
	return nil
}

// mailPayload returns what an outbox row for data holds: the whole of data and no
// outbox_data row, or, when its change queues several mails (sm.many), only its own part
// and the outbox_data row that holds the ticket and comment they all tell (written by
// the first of them).
func (s *Service) mailPayload(ctx context.Context, tx *sqlx.Tx, data *MailData, sm *sharedMail) ([]byte, *int64, error) {
	if sm == nil || !sm.many {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, nil, fmt.Errorf("encode mail data: %w", err)
		}
		return b, nil, nil
	}
	if !sm.same(data) {
		shared, err := json.Marshal(MailData{Ticket: data.Ticket, Comment: data.Comment})
		if err != nil {
			return nil, nil, fmt.Errorf("encode shared mail data: %w", err)
		}
		*sm = sharedMail{many: true, ticket: data.Ticket, comment: data.Comment}
		if err := tx.GetContext(ctx, &sm.dataID, s.q.InsertOutboxData, string(shared)); err != nil {
			return nil, nil, fmt.Errorf("write shared mail data: %w", err)
		}
	}
	b, err := json.Marshal(ownPart(*data))
	if err != nil {
		return nil, nil, fmt.Errorf("encode mail data: %w", err)
	}
	id := sm.dataID
	return b, &id, nil
}

// ownPart is data without the ticket and comment it shares with the other mails of its
// change (decoded over them when the mail is sent).
func ownPart(data MailData) MailData {
	data.Ticket, data.Comment = TicketView{}, nil
	return data
}

func (s *Service) newMessageID(key string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ticket: message id: %w", err)
	}
	return fmt.Sprintf("%s.%d.%s@%s", strings.ToLower(key), s.now().UnixMilli(), hex.EncodeToString(b[:]), s.domain), nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
