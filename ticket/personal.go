package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// # The rights of the people in the tickets
//
// Erase anonymises a person: their user row gets a pseudonym that stays the same for
// that row ("utilisateur-supprimé-<id>", address utilisateur-supprime-<id>@supprime.invalid),
// loses its password, avatar, notification address, sessions, sign-in links, API
// tokens, participations and whitelist entries, and stops getting mail (it is marked
// bouncing); a staff member becomes a customer. What they wrote is removed: the texts
// of their comments and of the requests they made (summary and form fields) become
// ErasedText, the comments of their satisfaction ratings are emptied (scores kept),
// the files they sent go, the inbound mail they sent is emptied, and the
// mail sent to them (outbox rows and .eml files) is deleted. The rows stay, so that the
// counts of the statistics hold. Out of scope, and said so in the README: what other
// people wrote about them (agents' internal notes, other people's comments) and the
// mail already sent to other people.

// Person is a user row as the export and the erasure read it.
type Person struct {
	User
	HasPassword  bool   `db:"has_password"`
	AvatarSHA256 string `db:"avatar_sha256"`
	// PendingNotify is a notification address waiting for its confirmation.
	PendingNotify string     `db:"pending_notify_email"`
	ErasedAt      *time.Time `db:"erased_at"`
}

// ErrLastAdmin is returned by Erase for the last administrator left.
var ErrLastAdmin = errors.New("ticket: the last administrator cannot be erased")

// Pseudonym is the stable name and address that Erase gives user id.
func Pseudonym(id int64) (name, email string) {
	return fmt.Sprintf("utilisateur-supprimé-%d", id), fmt.Sprintf("utilisateur-supprime-%d@supprime.invalid", id)
}

// person reads a user by address (normalised here); ErrNotFound if none.
func (s *Service) person(ctx context.Context, q sqlx.QueryerContext, email string) (Person, error) {
	addr := NormalizeEmail(email)
	if addr == "" {
		return Person{}, fmt.Errorf("%w: address %q", ErrInvalid, email)
	}
	var p Person
	err := sqlx.GetContext(ctx, q, &p, s.pq.Person, addr)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, fmt.Errorf("%w: user %s", ErrNotFound, addr)
	}
	if err != nil {
		return Person{}, fmt.Errorf("ticket: read user %s: %w", addr, err)
	}
	return p, nil
}

// EraseReport says what Erase did. AlreadyErased: the address is an erased user's
// pseudonym; nothing was done.
type EraseReport struct {
	UserID        int64  `json:"user_id"`
	Pseudonym     string `json:"pseudonym"`
	AlreadyErased bool   `json:"already_erased"`
	Comments      int64  `json:"comments"`
	Tickets       int64  `json:"tickets"`
	Attachments   int64  `json:"attachments"`
	Inbound       int64  `json:"inbound"`
	Outbox        int64  `json:"outbox"`
	FilesRemoved  int    `json:"files_removed"`
	SentRemoved   int    `json:"sent_files_removed"`
}

// Erase anonymises the user with that address (see "The rights of the people in the
// tickets" above) in one transaction, records it in the audit log under actor, and
// then removes the files no row points at through files (nil: none). It refuses the
// last administrator (ErrLastAdmin); an unknown address is ErrNotFound.
func (s *Service) Erase(ctx context.Context, email, actor string, files Files) (EraseReport, error) {
	var rep EraseReport
	var pr PurgeReport
	err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		rep, pr = EraseReport{}, PurgeReport{}
		p, err := s.person(ctx, tx, email)
		if err != nil {
			return err
		}
		rep.UserID = p.ID
		rep.Pseudonym, _ = Pseudonym(p.ID)
		if p.ErasedAt != nil {
			rep.AlreadyErased = true
			return nil
		}
		if p.Role == RoleAdmin {
			var n int
			if err := tx.GetContext(ctx, &n, s.pq.AdminsLeft); err != nil {
				return fmt.Errorf("ticket: erase: count administrators: %w", err)
			}
			if n <= 1 {
				return ErrLastAdmin
			}
		}
		fail := func(what string, err error) error {
			return fmt.Errorf("ticket: erase user %d: %s: %w", p.ID, what, err)
		}
		var sums []string
		if err := tx.SelectContext(ctx, &sums, s.pq.PersonCommentSums, p.ID, p.ID); err != nil {
			return fail("files", err)
		}
		pr.Blobs = append(pr.Blobs, sums...)
		if rep.Attachments, err = execCount(ctx, tx, s.pq.PersonAttachmentsDelete, p.ID, p.ID); err != nil {
			return fail("files", err)
		}
		if rep.Comments, err = execCount(ctx, tx, s.pq.PersonCommentsBlank, ErasedText, p.ID); err != nil {
			return fail("comments", err)
		}
		if rep.Tickets, err = execCount(ctx, tx, s.pq.PersonTicketsBlank, ErasedText, p.ID); err != nil {
			return fail("requests", err)
		}
		if _, err := s.blankRatingComments(ctx, tx, s.fq.BlankPerson, p.ID); err != nil {
			return fail("satisfaction comments", err)
		}
		var inbound []int64
		if err := tx.SelectContext(ctx, &inbound, s.pq.PersonInbound, p.Email, "mid:"+likeEscape(p.Email)+":%", p.ID, p.ID); err != nil {
			return fail("inbound mail", err)
		}
		for _, id := range inbound {
			if err := s.purgeInbound(ctx, tx, id, &pr); err != nil {
				return err
			}
		}
		if err := s.anonymise(ctx, tx, p, &pr); err != nil {
			return err
		}
		rep.Inbound, rep.Outbox = pr.Inbound, pr.Outbox
		return s.audit(ctx, tx, actor, "erase", p.ID, fmt.Sprintf("comments=%d tickets=%d files=%d inbound=%d outbox=%d",
			rep.Comments, rep.Tickets, rep.Attachments, rep.Inbound, rep.Outbox))
	})
	if err != nil {
		return rep, err
	}
	rep.FilesRemoved, rep.SentRemoved, err = s.removeFiles(ctx, files, pr.Blobs, pr.SentFiles)
	return rep, err
}

// anonymise gives user p its pseudonym and removes what identifies them outside the
// tickets: sessions, links, tokens, participations, whitelist entries, the mail sent to
// them; events naming their address name the pseudonym instead.
func (s *Service) anonymise(ctx context.Context, tx *sqlx.Tx, p Person, r *PurgeReport) error {
	name, email := Pseudonym(p.ID)
	fail := func(what string, err error) error {
		return fmt.Errorf("ticket: anonymise user %d: %s: %w", p.ID, what, err)
	}
	if p.AvatarSHA256 != "" {
		r.Blobs = append(r.Blobs, p.AvatarSHA256)
	}
	notify := p.NotifyEmail
	if notify == "" {
		notify = p.Email
	}
	// the confirmation mail of a pending notification address goes to that address
	if err := s.deleteOutbox(ctx, tx, r, s.pq.UserOutboxDelete, p.Email, notify, p.PendingNotify, s.now()); err != nil {
		return fail("mail sent", err)
	}
	for _, q := range []string{s.pq.SessionsDelete, s.pq.SigninDelete, s.pq.TokensDelete, s.pq.ParticipationsDelete} {
		if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
			return fail("sessions, tokens and participations", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.pq.WhitelistDelete, p.Email); err != nil {
		return fail("whitelists", err)
	}
	if _, err := tx.ExecContext(ctx, s.pq.EventsRename, p.Email, email, "%"+likeEscape(p.Email)+"%"); err != nil {
		return fail("events", err)
	}
	// Mail to the pseudonym would bounce: it is held as bouncing for a century.
	now := s.now()
	if _, err := tx.ExecContext(ctx, s.pq.Anonymise, email, name, now.AddDate(100, 0, 0), now, p.ID); err != nil {
		return fail("user", err)
	}
	s.forgetStaff() // a staff member may have gone
	return nil
}

// likeEscape makes s match only itself in a LIKE pattern with ESCAPE '\\': an address
// may hold '_', which LIKE reads as any one character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID     int64     `db:"id" json:"id"`
	At     time.Time `db:"at" json:"at"`
	Actor  string    `db:"actor" json:"actor"`
	Action string    `db:"action" json:"action"`
	UserID *int64    `db:"user_id" json:"user_id,omitempty"`
	Detail string    `db:"detail" json:"detail"`
}

// Audit records in the audit log that actor did action to user id (0: none), with a
// detail that must hold no personal data.
func (s *Service) Audit(ctx context.Context, actor, action string, userID int64, detail string) error {
	return s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return s.audit(ctx, tx, actor, action, userID, detail)
	})
}

func (s *Service) audit(ctx context.Context, tx *sqlx.Tx, actor, action string, userID int64, detail string) error {
	var uid *int64
	if userID != 0 {
		uid = &userID
	}
	if _, err := tx.ExecContext(ctx, s.pq.AuditInsert, s.now(), actor, action, uid, detail); err != nil {
		return fmt.Errorf("ticket: audit %s: %w", action, err)
	}
	return nil
}

// AuditLog returns the newest limit entries of the audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	if err := s.db.SelectContext(ctx, &out, s.pq.AuditList, limit); err != nil {
		return nil, fmt.Errorf("ticket: read the audit log: %w", err)
	}
	return out, nil
}
