package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// Delivery is one inbound message handed to Accept: the raw bytes exactly as received, the
// envelope, and what the parser made of it (Msg nil and ParseErr set when it could not).
type Delivery struct {
	Raw      []byte
	Env      Envelope
	Msg      *Inbound
	ParseErr error
}

// Receipt tells what Accept did with a delivery.
type Receipt struct {
	InboundID int64  // the stored raw message
	Duplicate bool   // the same message was stored before; nothing new was done
	State     string // "processed", "failed" or "pending"
	TicketKey string // the ticket created or commented on, if any
	CommentID int64  // the comment added, if any
	Created   bool   // a new ticket was created
	Err       string // why processing failed; the message stays stored
}

// intakeReq is one write for the committer: a delivery to store and process, or (fn set)
// another change, run in its own savepoint.
type intakeReq struct {
	ctx  context.Context
	d    Delivery
	fn   func(ctx context.Context, tx *sqlx.Tx) error
	done chan intakeRes
}

type intakeRes struct {
	r   Receipt
	err error
}

// Accept stores a delivery durably and processes it, returning once both are committed.
// Many concurrent calls are committed together in one transaction (group commit), each
// message in its own savepoint: a message that fails to process is stored as failed with
// its error, and the others go on. An error means nothing was stored (a temporary failure:
// the sender should retry). A second delivery of the same message (same Message-ID from
// the same sender, or the same bytes when there is no Message-ID) is a Duplicate.
func (s *Service) Accept(ctx context.Context, d Delivery) (Receipt, error) {
	res := s.submit(ctx, &intakeReq{ctx: ctx, d: d, done: make(chan intakeRes, 1)})
	return res.r, res.err
}

// write runs fn in the committer's next transaction, in a savepoint of its own, and
// returns fn's error (or the commit's). Every write of the Service goes through the
// committer: one writer, group-committed, so that SQLite's writers never sleep in its
// busy handler waiting for each other, and a change and its outbox rows commit together.
// fn may run more than once (when a batch fails as a whole it is retried alone) and
// must not call write itself.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	return s.submit(ctx, &intakeReq{ctx: ctx, fn: fn, done: make(chan intakeRes, 1)}).err
}

func (s *Service) submit(ctx context.Context, req *intakeReq) intakeRes {
	select {
	case s.reqs <- req:
	case <-s.stop:
		return intakeRes{err: ErrClosed}
	case <-ctx.Done():
		return intakeRes{err: fmt.Errorf("ticket: write: %w", ctx.Err())}
	}
	// Once queued the request is always answered; wait for it even if ctx ends, so the
	// caller never reports a failure for a change that was in fact committed.
	return <-req.done
}

func (s *Service) committer() {
	defer s.wg.Done()
	for {
		var first *intakeReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Answer what is queued, then stop.
			for {
				select {
				case r := <-s.reqs:
					s.commitBatch([]*intakeReq{r})
				default:
					return
				}
			}
		}
		batch := []*intakeReq{first}
	fill:
		for len(batch) < s.opt.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commitBatch(batch)
	}
}

// commitBatch commits a batch; when the batch as a whole fails, each message is tried
// alone so that one bad message cannot fail the others. A write that lost a deadlock
// or a serialization conflict (PostgreSQL, several instances) is tried again, alone, a
// few times before its error is returned.
func (s *Service) commitBatch(batch []*intakeReq) {
	res, err := s.commit(context.Background(), batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			s.commitBatch([]*intakeReq{r})
		}
		return
	}
	for try := 1; err != nil && isRetryable(err) && try <= 4; try++ {
		s.log.Info("write lost a lock conflict; trying again", "try", try, slog.Any("error", err))
		time.Sleep(time.Duration(try*try) * 5 * time.Millisecond)
		res, err = s.commit(context.Background(), batch)
	}
	for i, r := range batch {
		if err != nil {
			r.done <- intakeRes{err: err}
			continue
		}
		r.done <- res[i]
	}
	if err == nil && s.opt.OnOutbox != nil {
		s.opt.OnOutbox()
	}
}

// commit runs a batch in one transaction: the other writes first (outbox claims and
// marks, web changes), then the deliveries. Taking the outbox rows' locks before the
// desk counter's, in every instance, keeps two instances from deadlocking on them.
func (s *Service) commit(ctx context.Context, batch []*intakeReq) ([]intakeRes, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ticket: intake: begin: %w", err)
	}
	defer tx.Rollback()
	out := make([]intakeRes, len(batch))
	for i, r := range batch {
		if r.fn == nil {
			continue
		}
		out[i].err = s.runOp(ctx, tx, r.fn)
		if isRetryable(out[i].err) {
			return nil, out[i].err // the whole batch again: its locks are tangled
		}
	}
	for i, r := range batch {
		if r.fn != nil {
			continue
		}
		rec, err := s.store(ctx, tx, r.d)
		if err != nil {
			return nil, err
		}
		if !rec.Duplicate {
			if err := s.processSaved(ctx, tx, &rec, r.d); err != nil {
				return nil, err
			}
		}
		out[i].r = rec
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("ticket: intake: commit: %w", err)
	}
	return out, nil
}

// isRetryable reports a failure that trying again can cure: a PostgreSQL deadlock,
// serialization failure or lock timeout, or SQLite being busy.
func isRetryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40P01", "40001", "55P03":
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// runOp runs one write in a savepoint; its failure rolls back only its own changes.
func (s *Service) runOp(ctx context.Context, tx *sqlx.Tx, fn func(ctx context.Context, tx *sqlx.Tx) error) (err error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return fmt.Errorf("ticket: savepoint: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in a write", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("ticket: write: panic: %v", p)
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
				s.log.Error("rollback to savepoint", slog.Any("error", rerr))
			}
		}
		tx.ExecContext(ctx, "RELEASE SAVEPOINT op")
	}()
	return fn(ctx, tx)
}

// DedupKey is the key that makes a second delivery of the same message a duplicate: the
// Message-ID with the sender's address, else a hash of the bytes.
func DedupKey(d Delivery) string {
	if d.Msg != nil && d.Msg.MessageID != "" {
		return "mid:" + strings.ToLower(d.Msg.From.Email) + ":" + d.Msg.MessageID
	}
	body := d.Raw
	if d.Env.TraceLen > 0 && d.Env.TraceLen <= len(body) {
		body = body[d.Env.TraceLen:]
	}
	h := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(h[:])
}

func (s *Service) store(ctx context.Context, tx *sqlx.Tx, d Delivery) (Receipt, error) {
	key := DedupKey(d)
	mid := ""
	if d.Msg != nil {
		mid = d.Msg.MessageID
	}
	state, perr := "pending", ""
	if d.Msg == nil {
		state = "failed"
		perr = "parse: unknown error"
		if d.ParseErr != nil {
			perr = "parse: " + d.ParseErr.Error()
		}
	}
	var id int64
	rows, err := tx.QueryxContext(ctx, s.q.InsertInbound, key, mid, d.Env.From, strings.Join(d.Env.Recipients, ","),
		d.Env.Channel, d.Env.RemoteAddr, len(d.Raw), d.Raw, state, perr, s.now())
	if err != nil {
		return Receipt{}, fmt.Errorf("ticket: store inbound: %w", err)
	}
	inserted := rows.Next()
	if inserted {
		err = rows.Scan(&id)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("ticket: store inbound: %w", err)
	}
	if !inserted {
		var prev struct {
			ID        int64  `db:"id"`
			State     string `db:"state"`
			TicketID  *int64 `db:"ticket_id"`
			CommentID *int64 `db:"comment_id"`
		}
		if err := tx.GetContext(ctx, &prev, s.q.InboundByDedup, key); err != nil {
			return Receipt{}, fmt.Errorf("ticket: read duplicate inbound: %w", err)
		}
		rec := Receipt{InboundID: prev.ID, Duplicate: true, State: prev.State}
		if prev.TicketID != nil {
			var t Ticket
			if err := tx.GetContext(ctx, &t, s.q.TicketByID, *prev.TicketID); err == nil {
				rec.TicketKey = t.Key
			}
		}
		if prev.CommentID != nil {
			rec.CommentID = *prev.CommentID
		}
		return rec, nil
	}
	return Receipt{InboundID: id, State: state, Err: perr}, nil
}

// processSaved processes a stored message inside a savepoint; a failure (or a panic)
// rolls back only this message's changes and records the error on its inbound row.
//
// A failure that trying again can cure (see isRetryable) is returned instead: the caller
// runs the batch again rather than leave the message failed until the next start.
func (s *Service) processSaved(ctx context.Context, tx *sqlx.Tx, rec *Receipt, d Delivery) error {
	if d.Msg == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT msg"); err != nil {
		rec.State, rec.Err = "failed", "savepoint: "+err.Error()
		return nil
	}
	res, err := s.processGuarded(ctx, tx, rec.InboundID, d)
	if isRetryable(err) {
		return err
	}
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT msg"); rerr != nil {
			s.log.Error("rollback to savepoint", slog.Any("error", rerr))
		}
		tx.ExecContext(ctx, "RELEASE SAVEPOINT msg")
		rec.State, rec.Err = "failed", err.Error()
		if _, uerr := tx.ExecContext(ctx, s.q.InboundFailed, err.Error(), s.now(), rec.InboundID); uerr != nil {
			s.log.Error("record inbound failure", slog.Int64("inbound_id", rec.InboundID), slog.Any("error", uerr))
		}
		s.log.Warn("inbound message failed", slog.Int64("inbound_id", rec.InboundID), slog.Any("error", err))
		return nil
	}
	tx.ExecContext(ctx, "RELEASE SAVEPOINT msg")
	rec.State = "processed"
	if res.state != "" {
		rec.State = res.state
	}
	rec.TicketKey, rec.CommentID, rec.Created = res.key, res.commentID, res.created
	return nil
}

func (s *Service) processGuarded(ctx context.Context, tx *sqlx.Tx, inboundID int64, d Delivery) (res processResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic while processing inbound mail", slog.Int64("inbound_id", inboundID), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("ticket: process inbound %d: panic: %v", inboundID, p)
		}
	}()
	return s.process(ctx, tx, inboundID, d)
}
