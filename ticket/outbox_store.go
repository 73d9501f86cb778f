package ticket

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

type outboxRow struct {
	ID        int64     `db:"id"`
	Kind      string    `db:"kind"`
	TicketKey string    `db:"ticket_key"`
	ToEmail   string    `db:"to_email"`
	ToName    string    `db:"to_name"`
	ToRole    string    `db:"to_role"`
	Lang      string    `db:"lang"`
	TimeZone  string    `db:"time_zone"`
	MessageID string    `db:"message_id"`
	InReplyTo string    `db:"in_reply_to"`
	Refs      string    `db:"refs"`
	ReplyTo   string    `db:"reply_to"`
	Data      string    `db:"data"`
	Shared    string    `db:"shared"` // outbox_data: the part shared with the other mails of its change
	Attempts  int       `db:"attempts"`
	CreatedAt time.Time `db:"created_at"`
}

// ClaimOutbox claims up to limit pending mails that are due, for lease: no other worker
// gets them until the lease ends or they are marked. The claim is one UPDATE … RETURNING,
// so two workers (or instances) never claim the same row.
func (s *Service) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxMail, error) {
	var rows []outboxRow
	err := s.writeLazy(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		now := s.now()
		rows = rows[:0]
		return tx.SelectContext(ctx, &rows, s.q.OutboxClaim, now.Add(lease), s.opt.Instance, now, now, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: claim outbox: %w", err)
	}
	out := make([]OutboxMail, 0, len(rows))
	for _, r := range rows {
		m, err := r.mail()
		if err != nil {
			return nil, err
		}
		m.Attempts = r.Attempts - 1 // the claim counted the attempt it starts
		out = append(out, m)
	}
	return out, nil
}

// mail decodes an outbox row.
func (r outboxRow) mail() (OutboxMail, error) {
	m := OutboxMail{
		ID: r.ID, Kind: MailKind(r.Kind), TicketKey: r.TicketKey, To: Address{Name: r.ToName, Email: r.ToEmail}, ToRole: Role(r.ToRole),
		Lang: r.Lang, TimeZone: r.TimeZone, MessageID: r.MessageID, InReplyTo: r.InReplyTo,
		References: strings.Fields(r.Refs), ReplyTo: r.ReplyTo, Attempts: r.Attempts, CreatedAt: r.CreatedAt,
	}
	if r.Shared != "" {
		if err := json.Unmarshal([]byte(r.Shared), &m.Data); err != nil {
			return OutboxMail{}, fmt.Errorf("ticket: outbox row %d: decode shared data: %w", r.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(r.Data), &m.Data); err != nil {
		return OutboxMail{}, fmt.Errorf("ticket: outbox row %d: decode data: %w", r.ID, err)
	}
	return m, nil
}

// MarkSent records that the relay accepted mail id, with its answer. Like the other
// marks it is a background write (writeLazy): the sending slot is free once the relay
// answered, so nobody waits on it, and it may wait in the committer for company: up to
// lazyLinger, or while spooled messages gather (spoolGather), whose transaction it then
// joins. Until it commits a crash sends the mail again (at-least-once); that window is
// milliseconds, against the relay's round trip. Under load this took close to half of
// the commits away (marks alone, each with its WAL write and fsync).
//
// The marks that meet in one transaction share a savepoint (see markSentTogether).
func (s *Service) MarkSent(ctx context.Context, id int64, response string) error {
	mark := &sentMark{id: id, response: response}
	req := &intakeReq{ctx: ctx, mark: mark, lazy: true, done: make(chan intakeRes, 1),
		fn: func(ctx context.Context, tx *sqlx.Tx) error { return s.markSent(ctx, tx, mark) }}
	if err := s.submit(ctx, req).err; err != nil {
		return fmt.Errorf("ticket: mark outbox %d sent: %w", id, err)
	}
	return nil
}

// sentMark is one outbox row to mark sent with the relay's answer.
type sentMark struct {
	id       int64
	response string
}

func (s *Service) markSent(ctx context.Context, tx *sqlx.Tx, m *sentMark) error {
	_, err := tx.ExecContext(ctx, s.q.OutboxSent, m.response, s.now(), m.id)
	return err
}

// markSentTogether runs the marks of a transaction's batch (MarkSent) in one savepoint
// rather than one each: the outbox sender marks two mails per message received, and a
// savepoint and its release were two of the three statements of each mark. When the
// group fails, each mark is run alone in its own savepoint, so that one bad mark fails
// only its caller. It returns the retryable error that must fail the whole batch, if any;
// the marks' own results are in out, and ran tells which requests were handled.
func (s *Service) markSentTogether(ctx context.Context, tx *sqlx.Tx, batch []*intakeReq, out []intakeRes) (ran []bool, err error) {
	var idx []int
	for i, r := range batch {
		if r.mark != nil {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return nil, nil // nothing to share: the usual one savepoint per write
	}
	err = s.runOp(ctx, tx, func(ctx context.Context, tx *sqlx.Tx) error {
		for _, i := range idx {
			if err := s.markSent(ctx, tx, batch[i].mark); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && isRetryable(err) {
		return nil, err
	}
	ran = make([]bool, len(batch))
	for _, i := range idx {
		ran[i] = true
		if err != nil { // the group was rolled back: each alone
			out[i].err = s.runOp(ctx, tx, batch[i].fn)
			if isRetryable(out[i].err) {
				return nil, out[i].err
			}
		}
	}
	return ran, nil
}

// ReleaseOutbox gives back claimed rows that were not tried (the sender is stopping):
// they are due again at once, for any instance, without counting an attempt.
func (s *Service) ReleaseOutbox(ctx context.Context, ids []int64) error {
	if err := s.writeLazy(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.q.OutboxRelease, id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("ticket: release outbox rows: %w", err)
	}
	return nil
}

// ReleaseStaleClaims gives back every claimed outbox row: for a caller that knows no other
// process can be sending (serve on SQLite holds its data folder's lock, and only serve
// sends), claims found at start are those of a process that died; without this they
// would wait for their lease (--outbox-lease) to end. Those mails may have reached the
// relay before the death: they are sent again (at-least-once). It returns how many.
func (s *Service) ReleaseStaleClaims(ctx context.Context) (int64, error) {
	var n int64
	if err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.OutboxReleaseAll)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}); err != nil {
		return 0, fmt.Errorf("ticket: release stale outbox claims: %w", err)
	}
	return n, nil
}

// ReleaseInstanceClaims gives back the outbox rows claimed by instance (Options.Instance
// of the process that claimed them), for the instance itself when it starts: a process
// with that identity that is starting holds none, so the claims found are those of its
// previous run, which died; without this they would wait for their lease
// (--outbox-lease) to end. Rows claimed by other instances are left alone: they may be
// sending them. Those mails may have reached the relay before the death: they are sent
// again (at-least-once). It returns how many.
func (s *Service) ReleaseInstanceClaims(ctx context.Context, instance string) (int64, error) {
	if instance == "" {
		return 0, fmt.Errorf("%w: release outbox claims: no instance identity", ErrInvalid)
	}
	n, err := s.exec(ctx, s.q.OutboxReleaseInstance, instance)
	if err != nil {
		return 0, fmt.Errorf("ticket: release outbox claims of instance %q: %w", instance, err)
	}
	return n, nil
}

// MarkRetry schedules mail id again at next, after a temporary failure.
func (s *Service) MarkRetry(ctx context.Context, id int64, next time.Time, errText string) error {
	if err := s.writeLazy(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.OutboxRetry, next.UTC(), errText, id)
		return err
	}); err != nil {
		return fmt.Errorf("ticket: reschedule outbox %d: %w", id, err)
	}
	return nil
}

// MarkFailed gives up on mail id after a permanent failure, keeping the reason.
func (s *Service) MarkFailed(ctx context.Context, id int64, errText string) error {
	if err := s.writeLazy(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.OutboxFailed, errText, id)
		return err
	}); err != nil {
		return fmt.Errorf("ticket: mark outbox %d failed: %w", id, err)
	}
	return nil
}
