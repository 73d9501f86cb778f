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

// The committer.
//
// One goroutine, the committer, makes every change of a running Service: the intake's
// (Accept, Receive, ReceiveSpooled, Reprocess) and every other write, through write,
// writeLazy and exec (tickets, comments, statuses, participants, the outbox's claims and
// marks, users, establishments, the whitelist, profiles, passwords, avatars, sessions,
// sign-in links, API tokens, IMAP cursors). Many writes share one transaction (group
// commit), each in a savepoint of its own. So SQLite has one writer per process, whose
// writes never wait in its busy handler for each other (and never fail when it gives
// up), and a change commits together with its outbox rows.
//
// These writes do not go through it, on purpose:
//   - Migrate, and NewService's two writes before it starts the committer (the default
//     desk, the shared signing key): nothing of this Service writes yet.
//   - The SQLite checkpointer's wal_checkpoint (service.go): it copies committed pages
//     from the WAL into the database file and changes no data. PASSIVE never takes the
//     write lock; the TRUNCATE of every minute takes it while it runs (the committer
//     then waits in the busy handler, well within busy_timeout).
//   - Another process on the same SQLite file (`guichet user add`, `guichet ingest`, a
//     second `serve`) has a committer of its own: the two meet in SQLite's lock, where
//     a write waits up to busy_timeout (Open: 10 s).
// Reads use the pool directly: in WAL mode they never wait for the writer.

// Delivery is one inbound message handed to Accept: the raw bytes exactly as received, the
// envelope, and what the parser made of it (Msg nil and ParseErr set when it could not).
type Delivery struct {
	Raw      []byte
	Env      Envelope
	Msg      *Inbound
	ParseErr error
	// RawBlob, when set, names the file of Options.RawBlobs that holds the raw message
	// instead of Raw: a big message, never held whole in memory. Whoever sets it has made
	// the file durable first. RawSize is then the message's length and BodySum the hex
	// SHA-256 of its bytes after the trace header (what bodyHash computes from Raw).
	RawBlob string
	RawSize int64
	BodySum string
	// Prepare, when set, fills Msg and ParseErr from Raw (Msg is nil until then): a
	// delivery given to ReceiveSpooled is then parsed after the sender's 250, by the
	// Service's preparer, in arrival order, and its attachments are written there, off
	// the 250's path. An error means it could not be done now (an attachment could not
	// be written): it is tried again later, and the messages behind it wait.
	Prepare func(ctx context.Context, d *Delivery) error
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

// intakeReq is one write for the committer: a delivery to store and process (queue set:
// to store, and queue for processing), or (fn set) another change, run in its own
// savepoint.
type intakeReq struct {
	ctx    context.Context
	d      Delivery
	queue  bool
	weight int64 // the backlog room it took (queue)
	fn     func(ctx context.Context, tx *sqlx.Tx) error
	lazy   bool      // a background write (the outbox's claims and marks) that may wait a little
	mark   *sentMark // an outbox row marked sent (fn does it alone): marks share a savepoint
	done   chan intakeRes
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
// Receive is the same with the processing done after the commit.
func (s *Service) Accept(ctx context.Context, d Delivery) (Receipt, error) {
	res := s.submit(ctx, &intakeReq{ctx: ctx, d: d, done: make(chan intakeRes, 1)})
	return res.r, res.err
}

// write runs fn in the committer's next transaction, in a savepoint of its own, and
// returns fn's error (or the commit's); see "The committer" above for why every write
// of a running Service comes here. fn may run more than once (when a batch fails as a whole it is retried alone) and
// must not call write itself.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	return s.submit(ctx, &intakeReq{ctx: ctx, fn: fn, done: make(chan intakeRes, 1)}).err
}

// exec runs one statement through the committer (see write) and returns how many rows
// it changed.
func (s *Service) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// writeLazy is write for background work that nobody waits on: the committer may hold
// it up to lazyLinger so that it shares a transaction (and its fsync) with others.
func (s *Service) writeLazy(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	return s.submit(ctx, &intakeReq{ctx: ctx, fn: fn, lazy: true, done: make(chan intakeRes, 1)}).err
}

// lazyLinger is how long a transaction of background writes alone waits for company.
// Without it the outbox sender's claims and marks, which come one by one, would each
// cost a commit of their own: several per mail received.
const lazyLinger = 2 * time.Millisecond

func (s *Service) submit(ctx context.Context, req *intakeReq) intakeRes {
	// The read lock keeps Close from stopping the committer between the check and the
	// send: a request sent is always answered.
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return intakeRes{err: ErrClosed}
	}
	if !req.lazy {
		s.urgent.Add(1)
	}
	select {
	case s.reqs <- req:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		if !req.lazy {
			s.urgent.Add(-1)
		}
		return intakeRes{err: fmt.Errorf("ticket: write: %w", ctx.Err())}
	}
	// Once queued the request is always answered; wait for it even if ctx ends, so the
	// caller never reports a failure for a change that was in fact committed.
	return <-req.done
}

// committer is the one writer. Each transaction takes the writes waiting (up to
// MaxBatch), then processes queued messages for a time slice, then commits.
func (s *Service) committer() {
	defer s.wg.Done()
	// held are the marks sent (MarkSent) taken while spooled messages gather: nobody
	// waits on them, so they wait with the messages and join their transaction instead
	// of cutting the gathering short (under load, with two mails per message, close to
	// half of the commits were marks alone). Other writes, claims included (the next
	// mails wait on them), end the gathering as before.
	var held []*intakeReq
	for {
		s.takeIncoming()
		var first *intakeReq
		if s.gathering() && len(held) < s.opt.MaxBatch {
			// spooled messages wait, and nobody waits for them: let a few more join
			// them, for fewer and fuller transactions
			t := time.NewTimer(time.Until(s.queue[0].at.Add(spoolGather)))
			select {
			case r := <-s.reqs:
				s.took(r)
				if r.lazy && r.mark != nil {
					held = append(held, r)
				} else {
					first = r
				}
			case q := <-s.incoming:
				s.queue = append(s.queue, q)
			case <-t.C:
			case <-s.stop:
			}
			t.Stop()
			if first == nil {
				continue
			}
		} else if len(s.queue) > 0 {
			select {
			case first = <-s.reqs:
				s.took(first)
			default: // nothing waits: a transaction of queued messages alone
			}
		} else if len(held) == 0 {
			select {
			case first = <-s.reqs:
				s.took(first)
			case q := <-s.incoming:
				s.queue = append(s.queue, q)
				continue
			case <-s.stop:
				s.drain()
				return
			}
		}
		batch := held
		held = nil
		if first != nil {
			batch = append(batch, first)
		}
	fill:
		for len(batch) < s.opt.MaxBatch {
			select {
			case r := <-s.reqs:
				s.took(r)
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(s.queue) == 0 && allLazy(batch) {
			batch = s.linger(batch)
		}
		s.resetWAL()
		s.commitBatch(batch)
	}
}

// spoolGather is how long spooled messages, whose senders already have their 250, may
// wait for others to share their transaction: a fuller transaction writes each shared
// page and syncs the WAL once for all, and fewer fsyncs leave the disk to the spool's
// (measured, 2 KB load, runs interleaved: +15 % processed, p50 of the 250 4.1 → 3.0 ms;
// its p99 did not move beyond the noise).
const spoolGather = 50 * time.Millisecond

// gathering reports whether the queue holds only spooled messages, fewer than a batch,
// the oldest received less than spoolGather ago, and the service is not stopping.
func (s *Service) gathering() bool {
	if len(s.queue) == 0 || len(s.queue) >= s.opt.MaxBatch || s.queue[0].kept == nil {
		return false
	}
	select {
	case <-s.stop:
		return false
	default:
	}
	return time.Since(s.queue[0].at) < spoolGather
}

// took counts a write taken off reqs.
func (s *Service) took(r *intakeReq) {
	if !r.lazy {
		s.urgent.Add(-1)
	}
}

// takeIncoming moves the spooled deliveries handed over since the last transaction to
// the end of the queue.
func (s *Service) takeIncoming() {
	for {
		select {
		case q := <-s.incoming:
			s.queue = append(s.queue, q)
		default:
			return
		}
	}
}

func allLazy(batch []*intakeReq) bool {
	for _, r := range batch {
		if !r.lazy {
			return false
		}
	}
	return len(batch) > 0
}

// linger waits up to lazyLinger for more writes to join a batch of background ones, and
// stops waiting as soon as one that someone waits for arrives.
func (s *Service) linger(batch []*intakeReq) []*intakeReq {
	t := time.NewTimer(lazyLinger)
	defer t.Stop()
	for len(batch) < s.opt.MaxBatch {
		select {
		case r := <-s.reqs:
			s.took(r)
			batch = append(batch, r)
			if !r.lazy {
				return batch
			}
		case <-t.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
	return batch
}

// drain answers the writes still waiting and processes the queued messages, then
// returns: Close leaves nothing stored unprocessed that it could process.
func (s *Service) drain() {
	<-s.prepDone // what was handed over is in incoming
	for {
		select {
		case r := <-s.reqs:
			s.took(r)
			s.commitBatch([]*intakeReq{r})
			continue
		default:
		}
		s.takeIncoming()
		if len(s.queue) == 0 {
			return
		}
		s.commitBatch(nil)
	}
}

// commitBatch commits a batch, with queued messages processed after it; when the batch
// as a whole fails, each write is tried alone so that one bad message cannot fail the
// others. A write that lost a deadlock or a serialization conflict (PostgreSQL, several
// instances) is tried again, alone, a few times before its error is returned.
func (s *Service) commitBatch(batch []*intakeReq) {
	res, done, err := s.commit(context.Background(), batch, len(s.queue) > 0)
	switch {
	case err == nil:
		s.answer(batch, res, nil)
		s.queueDone(done)
	case len(batch) == 0:
		s.queueFailed(err)
	default:
		// A write the database refused, a lock conflict, or a queued message that
		// failed the transaction: each write again alone, the queue left for later.
		for _, r := range batch {
			s.commitAlone(r)
		}
	}
}

// commitAlone commits one write in a transaction of its own.
func (s *Service) commitAlone(r *intakeReq) {
	batch := []*intakeReq{r}
	res, _, err := s.commit(context.Background(), batch, false)
	for try := 1; err != nil && isRetryable(err) && try <= 4; try++ {
		s.log.Info("write lost a lock conflict; trying again", "try", try, slog.Any("error", err))
		time.Sleep(time.Duration(try*try) * 5 * time.Millisecond)
		res, _, err = s.commit(context.Background(), batch, false)
	}
	s.answer(batch, res, err)
}

// answer tells each write of a batch its result, queues the stored messages to process,
// and wakes the outbox sender after a commit that queued mail (txMail).
func (s *Service) answer(batch []*intakeReq, res []intakeRes, err error) {
	for i, r := range batch {
		if err != nil {
			r.done <- intakeRes{err: err}
			continue
		}
		if r.queue && res[i].err == nil && toProcess(res[i].r) {
			d := r.d
			d.Raw = nil // in the database; the queue keeps only the parse result
			s.queue = append(s.queue, queued{id: res[i].r.InboundID, d: d, weight: r.weight})
		}
		r.done <- res[i]
	}
	if err == nil && s.txMail > 0 && s.opt.OnOutbox != nil {
		s.opt.OnOutbox()
	}
}

// commit runs a batch in one transaction: the other writes first (outbox claims and
// marks, web changes), then the deliveries, then (withQueue) queued messages for a time
// slice. Taking the outbox rows' locks before the desk counter's, in every instance,
// keeps two instances from deadlocking on them.
func (s *Service) commit(ctx context.Context, batch []*intakeReq, withQueue bool) ([]intakeRes, []Receipt, error) {
	started := time.Now()
	s.txMail = 0
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("ticket: intake: begin: %w", err)
	}
	defer tx.Rollback()
	out := make([]intakeRes, len(batch))
	stores := false
	ran, err := s.markSentTogether(ctx, tx, batch, out)
	if err != nil {
		return nil, nil, err // the whole batch again: its locks are tangled
	}
	for i, r := range batch {
		if r.fn == nil || ran != nil && ran[i] {
			continue
		}
		out[i].err = s.runOp(ctx, tx, r.fn)
		if isRetryable(out[i].err) {
			return nil, nil, out[i].err // the whole batch again: its locks are tangled
		}
	}
	for i, r := range batch {
		if r.fn != nil {
			continue
		}
		stores = true
		store := s.storeProcess
		if r.queue {
			store = s.store // processed later, by processQueued
		}
		rec, err := store(ctx, tx, r.d)
		if err != nil {
			return nil, nil, err
		}
		out[i].r = rec
	}
	var done []Receipt
	if withQueue {
		if done, err = s.processQueued(ctx, tx, started, stores); err != nil {
			return nil, nil, err
		}
	}
	if err := s.indexPending(ctx, tx); err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("ticket: intake: commit: %w", err)
	}
	return out, done, nil
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
	mail := s.txMail
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in a write", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("ticket: write: panic: %v", p)
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
				s.log.Error("rollback to savepoint", slog.Any("error", rerr))
			}
			s.txMail = mail // its outbox rows are gone with it
		}
		tx.ExecContext(ctx, "RELEASE SAVEPOINT op")
	}()
	return fn(ctx, tx)
}

// DedupKey is the key that makes a second delivery of the same message a duplicate: the
// Message-ID with the sender's address, else a hash of the bytes.
func DedupKey(d Delivery) string { return dedupKey(d, bodyHash(d)) }

func dedupKey(d Delivery, sum string) string {
	if d.Msg != nil && d.Msg.MessageID != "" {
		return "mid:" + strings.ToLower(d.Msg.From.Email) + ":" + d.Msg.MessageID
	}
	return "sha256:" + sum
}

// bodyHash is the SHA-256 (hex) of a delivery's bytes after the trace header that the
// listener put in front (which differs from one delivery to the next).
func bodyHash(d Delivery) string {
	if d.RawBlob != "" {
		return d.BodySum
	}
	body := d.Raw
	if d.Env.TraceLen > 0 && d.Env.TraceLen <= len(body) {
		body = body[d.Env.TraceLen:]
	}
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// store stores a delivery's raw message, or tells that it is a duplicate. A delivery
// with the Message-ID and sender of a stored message but other bytes is not that
// message again: a replay with another body, or a client that reuses Message-IDs. It is
// stored apart, as state "duplicate" with a note naming the first one, and not processed:
// processing it would make a second ticket or comment from what claims to be the same
// mail, and dropping it would lose mail. An operator sees it in `guichet inbound list`.
func (s *Service) store(ctx context.Context, tx *sqlx.Tx, d Delivery) (Receipt, error) {
	d = cleanDelivery(d)
	sum := bodyHash(d)
	key := dedupKey(d, sum)
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
	id, inserted, err := s.insertInbound(ctx, tx, key, mid, d, state, perr, sum)
	if err != nil {
		return Receipt{}, err
	}
	if inserted {
		return Receipt{InboundID: id, State: state, Err: perr}, nil
	}
	rec, prevSum, err := s.duplicateOf(ctx, tx, key)
	if err != nil || !strings.HasPrefix(key, "mid:") || prevSum == "" || prevSum == sum {
		return rec, err
	}
	note := fmt.Sprintf("duplicate: the Message-ID and sender of inbound %d with a different body; not processed", rec.InboundID)
	altKey := "body:" + sum + ":" + key // the same other body again is a plain duplicate of this one
	id, inserted, err = s.insertInbound(ctx, tx, altKey, mid, d, "duplicate", note, sum)
	if err != nil {
		return Receipt{}, err
	}
	if !inserted {
		rec, _, err = s.duplicateOf(ctx, tx, altKey)
		return rec, err
	}
	return Receipt{InboundID: id, Duplicate: true, State: "duplicate", Err: note}, nil
}

// insertInbound inserts a raw message under key unless one is stored under it already.
func (s *Service) insertInbound(ctx context.Context, tx *sqlx.Tx, key, mid string, d Delivery, state, note, sum string) (int64, bool, error) {
	var id int64
	raw, size := d.Raw, int64(len(d.Raw))
	if d.RawBlob != "" {
		raw, size = []byte{}, d.RawSize // the bytes are in the blob store
	}
	args := []any{key, mid, d.Env.From, strings.Join(d.Env.Recipients, ","),
		d.Env.Channel, d.Env.RemoteAddr, size, state, note, s.now(), sum, d.RawBlob}
	if s.dialect == Postgres {
		args = append(args, raw, raw) // insert-inbound@postgres stores them too
	}
	rows, err := tx.QueryxContext(ctx, s.q.InsertInbound, args...)
	if err != nil {
		return 0, false, fmt.Errorf("ticket: store inbound: %w", err)
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
		return 0, false, fmt.Errorf("ticket: store inbound: %w", err)
	}
	if inserted && len(raw) > 0 && s.dialect != Postgres {
		// apart from the row, which later changes would otherwise write again whole
		if _, err := tx.ExecContext(ctx, s.q.InsertInboundRaw, id, raw); err != nil {
			return 0, false, fmt.Errorf("ticket: store inbound: %w", err)
		}
	}
	return id, inserted, nil
}

// duplicateOf returns the receipt of a delivery that duplicates the message stored
// under key, and that message's body hash.
func (s *Service) duplicateOf(ctx context.Context, tx *sqlx.Tx, key string) (Receipt, string, error) {
	var prev struct {
		ID        int64  `db:"id"`
		State     string `db:"state"`
		TicketID  *int64 `db:"ticket_id"`
		CommentID *int64 `db:"comment_id"`
		BodySHA   string `db:"body_sha256"`
	}
	if err := tx.GetContext(ctx, &prev, s.q.InboundByDedup, key); err != nil {
		return Receipt{}, "", fmt.Errorf("ticket: read duplicate inbound: %w", err)
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
	return rec, prev.BodySHA, nil
}

// storeProcess stores a delivery and processes it in the same transaction, unless it is
// a duplicate.
func (s *Service) storeProcess(ctx context.Context, tx *sqlx.Tx, d Delivery) (Receipt, error) {
	rec, err := s.store(ctx, tx, d)
	if err != nil || rec.Duplicate {
		return rec, err
	}
	if err := s.processSaved(ctx, tx, &rec, d); err != nil {
		return Receipt{}, err
	}
	return rec, nil
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
	d = cleanDelivery(d)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT msg"); err != nil {
		rec.State, rec.Err = "failed", "savepoint: "+err.Error()
		return nil
	}
	mail := s.txMail
	res, err := s.processGuarded(ctx, tx, rec.InboundID, d)
	if isRetryable(err) {
		return err
	}
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT msg"); rerr != nil {
			s.log.Error("rollback to savepoint", slog.Any("error", rerr))
		}
		s.txMail = mail // its outbox rows are gone with it
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
