package ticket

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// # Retention
//
// Purge removes the personal data of the tickets closed before a cutoff and keeps what
// the statistics count. Of each such ticket it keeps the row (key, desk, status,
// request type, establishment, académie, components, source, dates, requester and
// assignee as user ids), its satisfaction scores (their comments emptied), its
// comments' rows (author, visibility, source, dates: the texts replaced by ErasedText),
// its status and SLA events and its SLA clock; it
// removes the summary and the request form's free fields, the attachments' rows, the
// participants, the thread's Message-IDs, the outbox rows (the mail sent about it) and
// their .eml files, and empties the inbound rows of its mail (raw message, envelope,
// Message-ID): the ticket's and its comments' own mail at once, its other mail
// (duplicates, bounces, held mail) in the loose pass that follows. Files of the blob
// store go when no row points at them any more. Inbound messages attached to no ticket
// (automatic mail, duplicates, refused mail) received before the cutoff are emptied the
// same way; those waiting for an operator (failed, held, pending) are not touched.
//
// Customers left with nothing but purged tickets (no password, no API token, no live
// session, not on an establishment's whitelist, created before the cutoff) are
// anonymised as `guichet user erase` does.

// ErasedText takes the place of the texts that retention or an erasure removed.
const ErasedText = "[effacé / erased]"

// Files removes the files that rows pointed at, once no row does: content of the blob
// store by SHA-256, and the .eml files that the development sender wrote (their name in
// the outbox row's response, "written NAME"). A file already gone is not an error.
type Files interface {
	RemoveBlob(ctx context.Context, sum string) error
	RemoveSent(ctx context.Context, name string) error
}

// PurgeReport says what a retention run did (or, dry, would do).
type PurgeReport struct {
	Tickets      []string `json:"tickets"` // keys of the tickets purged
	Comments     int64    `json:"comments"`
	Attachments  int64    `json:"attachments"`
	Inbound      int64    `json:"inbound"` // inbound messages emptied
	Outbox       int64    `json:"outbox"`  // outbox rows deleted
	Users        int64    `json:"users"`   // users anonymised
	Blobs        []string `json:"-"`       // blob files no row points at any more
	SentFiles    []string `json:"-"`       // .eml files of the deleted outbox rows
	BlobsRemoved int      `json:"files_removed"`
	SentRemoved  int      `json:"sent_files_removed"`
}

// Empty reports whether the run found nothing to do.
func (r PurgeReport) Empty() bool {
	return len(r.Tickets) == 0 && r.Inbound == 0 && r.Users == 0
}

func (r *PurgeReport) add(o PurgeReport) {
	r.Tickets = append(r.Tickets, o.Tickets...)
	r.Comments += o.Comments
	r.Attachments += o.Attachments
	r.Inbound += o.Inbound
	r.Outbox += o.Outbox
	r.Users += o.Users
	r.Blobs = append(r.Blobs, o.Blobs...)
	r.SentFiles = append(r.SentFiles, o.SentFiles...)
}

// purgeBatch is how many tickets one transaction purges.
const purgeBatch = 100

// Purge applies the retention policy to the tickets closed before cutoff (see
// "Retention" above), a transaction per batch, and then removes the files that no row
// points at through files (nil: none removed). With dry set it changes nothing and
// reports what it would do. Open tickets are never touched, whatever the cutoff.
func (s *Service) Purge(ctx context.Context, cutoff time.Time, dry bool, files Files) (PurgeReport, error) {
	var total PurgeReport
	cutoff = cutoff.UTC()
	if dry {
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return total, fmt.Errorf("ticket: retention: %w", err)
		}
		defer tx.Rollback()
		for {
			r, err := s.purgeTx(ctx, tx, cutoff)
			if err != nil {
				return total, err
			}
			total.add(r)
			if r.Empty() {
				break
			}
		}
		// what would be removed: the files no row would point at after the commit
		seen := map[string]bool{}
		for _, sum := range total.Blobs {
			var used bool
			if seen[sum] {
				continue
			}
			seen[sum] = true
			if err := tx.GetContext(ctx, &used, s.pq.BlobReferenced, sum, sum, sum); err != nil {
				return total, fmt.Errorf("ticket: retention: is %s used: %w", sum, err)
			}
			if !used {
				total.BlobsRemoved++
			}
		}
		total.SentRemoved = len(total.SentFiles)
		return total, nil
	}
	// Read first, outside the committer: an idle pass (serve's hourly one, mostly) is two
	// index look-ups and no write transaction.
	var due, loose []int64
	if err := s.db.SelectContext(ctx, &due, s.pq.RetentionDue, cutoff, 1); err != nil {
		return total, fmt.Errorf("ticket: retention: due tickets: %w", err)
	}
	if err := s.db.SelectContext(ctx, &loose, s.pq.RetentionLoose, cutoff, 1); err != nil {
		return total, fmt.Errorf("ticket: retention: loose inbound: %w", err)
	}
	if len(due) == 0 && len(loose) == 0 {
		return total, nil
	}
	for {
		var r PurgeReport
		err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
			var err error
			r, err = s.purgeTx(ctx, tx, cutoff)
			return err
		})
		if err != nil {
			return total, err
		}
		total.add(r)
		if r.Empty() {
			break
		}
	}
	if !total.Empty() {
		if err := s.Audit(ctx, "retention", "retention", 0, fmt.Sprintf("cutoff=%s tickets=%d inbound=%d users=%d",
			cutoff.Format(time.RFC3339), len(total.Tickets), total.Inbound, total.Users)); err != nil {
			return total, err
		}
	}
	var err error
	total.BlobsRemoved, total.SentRemoved, err = s.removeFiles(ctx, files, total.Blobs, total.SentFiles)
	return total, err
}

// purgeTx purges one batch: the tickets, then the loose inbound messages, then the
// people left with nothing.
func (s *Service) purgeTx(ctx context.Context, tx *sqlx.Tx, cutoff time.Time) (PurgeReport, error) {
	var r PurgeReport
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, s.pq.RetentionDue, cutoff, purgeBatch); err != nil {
		return r, fmt.Errorf("ticket: retention: due tickets: %w", err)
	}
	people := map[int64]bool{}
	for _, id := range ids {
		if err := s.purgeTicket(ctx, tx, id, people, &r); err != nil {
			return r, err
		}
	}
	var loose []int64
	if err := tx.SelectContext(ctx, &loose, s.pq.RetentionLoose, cutoff, purgeBatch); err != nil {
		return r, fmt.Errorf("ticket: retention: loose inbound: %w", err)
	}
	for _, id := range loose {
		if err := s.purgeInbound(ctx, tx, id, &r); err != nil {
			return r, err
		}
	}
	uids := make([]int64, 0, len(people))
	for id := range people {
		uids = append(uids, id)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	for _, id := range uids {
		var idle int
		if err := tx.GetContext(ctx, &idle, s.pq.UserIdle, id, cutoff, s.now()); err != nil {
			return r, fmt.Errorf("ticket: retention: user %d: %w", id, err)
		}
		if idle == 0 {
			continue
		}
		var u Person
		if err := tx.GetContext(ctx, &u, s.pq.PersonByID, id); err != nil {
			return r, fmt.Errorf("ticket: retention: user %d: %w", id, err)
		}
		if err := s.anonymise(ctx, tx, u, &r); err != nil {
			return r, err
		}
		r.Users++
	}
	return r, nil
}

func (s *Service) purgeTicket(ctx context.Context, tx *sqlx.Tx, id int64, people map[int64]bool, r *PurgeReport) error {
	var key string
	if err := tx.GetContext(ctx, &key, s.pq.TicketKey, id); err != nil {
		return fmt.Errorf("ticket: retention: ticket %d: %w", id, err)
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("ticket: retention: %s of %s: %w", what, key, err)
	}
	var uids []int64
	if err := tx.SelectContext(ctx, &uids, s.pq.TicketPeople, id, id, id); err != nil {
		return fail("people", err)
	}
	for _, u := range uids {
		people[u] = true
	}
	var sums []string
	if err := tx.SelectContext(ctx, &sums, s.pq.TicketSums, id); err != nil {
		return fail("attachments", err)
	}
	r.Blobs = append(r.Blobs, sums...)
	n, err := execCount(ctx, tx, s.pq.TicketAttachmentsDelete, id)
	if err != nil {
		return fail("attachments", err)
	}
	r.Attachments += n
	if n, err = execCount(ctx, tx, s.pq.TicketCommentsBlank, ErasedText, id); err != nil {
		return fail("comments", err)
	}
	r.Comments += n
	if _, err := s.blankRatingComments(ctx, tx, s.fq.BlankTicket, id); err != nil {
		return fail("satisfaction comments", err)
	}
	for _, q := range []string{s.pq.TicketParticipantsDelete, s.pq.TicketThreadDelete, s.pq.TicketEventsBlank} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fail("participants, thread and events", err)
		}
	}
	var inbound []int64
	if err := tx.SelectContext(ctx, &inbound, s.pq.TicketInbound, id, id); err != nil {
		return fail("inbound mail", err)
	}
	for _, in := range inbound {
		if err := s.purgeInbound(ctx, tx, in, r); err != nil {
			return err
		}
	}
	if err := s.deleteOutbox(ctx, tx, r, s.pq.TicketOutboxDelete, id, s.now()); err != nil {
		return fail("mail sent", err)
	}
	if _, err := tx.ExecContext(ctx, s.pq.TicketPurge, ErasedText, s.now(), id); err != nil {
		return fail("ticket", err)
	}
	r.Tickets = append(r.Tickets, key)
	return nil
}

// purgeInbound empties one inbound row: raw message (column or blob file), envelope,
// Message-ID and the sender's address in its deduplication key.
func (s *Service) purgeInbound(ctx context.Context, tx *sqlx.Tx, id int64, r *PurgeReport) error {
	var sum string
	if err := tx.GetContext(ctx, &sum, s.pq.InboundBlob, id); err != nil {
		return fmt.Errorf("ticket: empty inbound message %d: %w", id, err)
	}
	n, err := execCount(ctx, tx, s.pq.InboundPurge, s.now(), id)
	if err != nil {
		return fmt.Errorf("ticket: empty inbound message %d: %w", id, err)
	}
	if n == 0 {
		return nil // emptied already
	}
	if _, err := tx.ExecContext(ctx, s.pq.InboundRawPurge, id); err != nil {
		return fmt.Errorf("ticket: empty inbound message %d: %w", id, err)
	}
	if sum != "" {
		r.Blobs = append(r.Blobs, sum)
	}
	r.Inbound++
	return nil
}

// deleteOutbox runs an outbox-deleting query (with RETURNING response, data_id,
// ticket_id), notes the .eml files of the rows and empties their data rows left unused.
func (s *Service) deleteOutbox(ctx context.Context, tx *sqlx.Tx, r *PurgeReport, query string, args ...any) error {
	var rows []struct {
		Response string `db:"response"`
		DataID   *int64 `db:"data_id"`
		TicketID *int64 `db:"ticket_id"`
	}
	if err := tx.SelectContext(ctx, &rows, query, args...); err != nil {
		return err
	}
	data := map[[2]int64]bool{} // {data id, ticket id}
	for _, row := range rows {
		if name, ok := sentFile(row.Response); ok {
			r.SentFiles = append(r.SentFiles, name)
		}
		if row.DataID != nil && row.TicketID != nil {
			data[[2]int64{*row.DataID, *row.TicketID}] = true
		}
	}
	for d := range data {
		if _, err := tx.ExecContext(ctx, s.pq.OutboxDataBlank, d[0], d[1], d[0]); err != nil {
			return err
		}
	}
	r.Outbox += int64(len(rows))
	return nil
}

// sentFile is the name of the .eml file that a development sender's response
// ("written NAME") names; false for other responses and for names that are not a plain
// file name of that folder.
func sentFile(response string) (string, bool) {
	name, ok := strings.CutPrefix(response, "written ")
	if !ok || name == "" || path.Base(name) != name || strings.ContainsAny(name, `/\`) ||
		strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".eml") {
		return "", false
	}
	return name, true
}

// removeFiles removes, after the commit, the blob files that no row points at any more
// (checked once more, each just before its removal: mail received meanwhile may bring
// the same content back) and the .eml files.
func (s *Service) removeFiles(ctx context.Context, files Files, sums, sent []string) (blobs, eml int, err error) {
	if files == nil {
		return 0, 0, nil
	}
	seen := map[string]bool{}
	for _, sum := range sums {
		if sum == "" || seen[sum] {
			continue
		}
		seen[sum] = true
		var used bool
		if err := s.db.GetContext(ctx, &used, s.pq.BlobReferenced, sum, sum, sum); err != nil {
			return blobs, eml, fmt.Errorf("ticket: retention: is %s used: %w", sum, err)
		}
		if used {
			continue
		}
		if err := files.RemoveBlob(ctx, sum); err != nil {
			return blobs, eml, err
		}
		blobs++
	}
	for _, name := range sent {
		if err := files.RemoveSent(ctx, name); err != nil {
			return blobs, eml, err
		}
		eml++
	}
	return blobs, eml, nil
}

func execCount(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// privacyQueries are the statements of retention.go, personal.go, export.go
// (queries_privacy.sql).
type privacyQueries struct {
	RetentionDue             string `query:"retention-due"`
	RetentionLoose           string `query:"retention-loose-inbound"`
	TicketKey                string `query:"ticket-key"`
	TicketPeople             string `query:"ticket-people"`
	TicketSums               string `query:"ticket-attachment-sums"`
	TicketAttachmentsDelete  string `query:"ticket-attachments-delete"`
	TicketCommentsBlank      string `query:"ticket-comments-blank"`
	TicketParticipantsDelete string `query:"ticket-participants-delete"`
	TicketThreadDelete       string `query:"ticket-thread-delete"`
	TicketEventsBlank        string `query:"ticket-events-blank"`
	TicketPurge              string `query:"ticket-purge"`
	TicketInbound            string `query:"ticket-inbound"`
	InboundPurge             string `query:"inbound-purge"`
	InboundRawPurge          string `query:"inbound-raw-purge"`
	InboundBlob              string `query:"inbound-blob"`
	TicketOutboxDelete       string `query:"ticket-outbox-delete"`
	UserOutboxDelete         string `query:"user-outbox-delete"`
	OutboxDataBlank          string `query:"outbox-data-blank"`
	BlobReferenced           string `query:"blob-referenced"`
	UserIdle                 string `query:"retention-user-idle"`
	Person                   string `query:"person"`
	PersonByID               string `query:"person-by-id"`
	Anonymise                string `query:"person-anonymise"`
	SessionsDelete           string `query:"person-sessions-delete"`
	SigninDelete             string `query:"person-signin-delete"`
	TokensDelete             string `query:"person-tokens-delete"`
	ParticipationsDelete     string `query:"person-participations-delete"`
	WhitelistDelete          string `query:"person-whitelist-delete"`
	EventsRename             string `query:"person-events-rename"`
	AdminsLeft               string `query:"admins-left"`
	PersonCommentSums        string `query:"person-comment-sums"`
	PersonAttachmentsDelete  string `query:"person-attachments-delete"`
	PersonCommentsBlank      string `query:"person-comments-blank"`
	PersonTicketsBlank       string `query:"person-tickets-blank"`
	PersonInbound            string `query:"person-inbound"`
	PersonTickets            string `query:"person-tickets"`
	PersonTicketComments     string `query:"person-ticket-comments"`
	PersonTicketFiles        string `query:"person-ticket-files"`
	PersonEvents             string `query:"person-events"`
	PersonTokens             string `query:"person-tokens"`
	PersonCounts             string `query:"person-counts"`
	PersonMail               string `query:"person-mail"`
	PersonInboundList        string `query:"person-inbound-list"`
	PersonWhitelists         string `query:"person-whitelists"`
	AuditInsert              string `query:"audit-insert"`
	AuditList                string `query:"audit-list"`
}
