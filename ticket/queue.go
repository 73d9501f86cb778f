package ticket

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// Defaults of the processing queue behind Receive.
const (
	DefaultBacklog      = 2048
	DefaultBacklogBytes = 32 << 20
	// processSlice is how long a transaction that also carries stores (or while stores
	// wait) spends processing queued messages when the backlog is nearly empty: a sender
	// waiting for its 250 waits about this long for the transaction before its own. The
	// slice grows with the backlog, by up to processSliceGrowth when it is full, so that
	// processing keeps up with a sustained flow and the 250s slow down to its pace.
	processSlice       = 250 * time.Microsecond
	processSliceGrowth = 4 * time.Millisecond
	// processIdleSlice is the same when no write that someone waits for is waiting:
	// longer transactions commit more messages per fsync and write each page they
	// share once.
	processIdleSlice = 40 * time.Millisecond
)

// queued is a received message waiting to be processed: its parse result without the
// raw bytes, which are in the database (Receive) or in a spool (ReceiveSpooled).
type queued struct {
	id     int64 // the inbound row (Receive); 0 when the raw message is in a spool
	kept   Kept  // the spooled raw message (ReceiveSpooled); stored when processed
	d      Delivery
	weight int64
	tries  int
	at     time.Time // when it was handed to the committer (spooled)
}

// Kept is a delivery's raw message kept durably outside the database, in a spool, until
// the Service has stored it.
type Kept interface {
	// Raw reads the raw message back.
	Raw() ([]byte, error)
	// Done tells the spool that the message is in the database: it may forget it.
	Done()
}

// Spool keeps raw messages durably outside the database (package spool, through
// mailin).
type Spool interface {
	// Keep returns once the raw message is durably written.
	Keep(ctx context.Context, env Envelope, raw []byte) (Kept, error)
}

// backlog bounds the messages stored but not yet processed, by count and by an estimate
// of the memory their parse results hold. Receive waits for room before storing, so that
// a sender faster than processing is slowed down at its 250 instead of filling memory.
type backlog struct {
	mu       sync.Mutex
	n        int
	bytes    int64
	maxN     int
	maxBytes int64
	freed    chan struct{} // closed and replaced at each release
}

func newBacklog(maxN int, maxBytes int64) *backlog {
	return &backlog{maxN: maxN, maxBytes: maxBytes, freed: make(chan struct{})}
}

// acquire takes room for one message of weight w; a message heavier than the whole
// budget gets it once the backlog is empty.
func (b *backlog) acquire(ctx context.Context, w int64) error {
	for {
		b.mu.Lock()
		if b.n < b.maxN && (b.bytes+w <= b.maxBytes || b.n == 0) {
			b.n++
			b.bytes += w
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("ticket: wait for processing room: %w", ctx.Err())
		}
	}
}

func (b *backlog) release(w int64) {
	b.mu.Lock()
	b.n--
	b.bytes -= w
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

func (b *backlog) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// weight estimates the memory a queued message holds.
func weight(d Delivery) int64 {
	w := int64(1024)
	if d.Prepare != nil {
		w += int64(len(d.Raw)) // held until parsed, which holds about as much
	}
	if m := d.Msg; m != nil {
		w += int64(len(m.Text) + len(m.Visible) + len(m.HTML) + len(m.Subject))
		w += int64(len(m.Attachments)+len(m.References)+len(m.To)+len(m.Cc)) * 128
	}
	return w
}

// Receive stores a delivery durably and returns once it is committed, like Accept, but
// leaves its processing (the ticket or comment, the mail it causes) to the committer's
// following transactions, in arrival order. The Receipt's State is "pending" (or
// "failed" when the message could not be parsed, or Duplicate). A message stored but not
// yet processed when the process dies is processed at the next start (Reprocess) or by
// another instance's sweep (ReprocessStale). Receive first waits for room in the
// backlog (Options.Backlog, Options.BacklogBytes); ctx bounds that wait.
func (s *Service) Receive(ctx context.Context, d Delivery) (Receipt, error) {
	w := weight(d)
	if err := s.backlog.acquire(ctx, w); err != nil {
		return Receipt{}, err
	}
	req := &intakeReq{ctx: ctx, d: d, queue: true, weight: w, done: make(chan intakeRes, 1)}
	res := s.submit(ctx, req)
	if res.err != nil || !toProcess(res.r) {
		s.backlog.release(w) // nothing was queued
	}
	return res.r, res.err
}

// ReceiveSpooled is Receive with the raw message made durable in a spool instead of the
// database: it returns once sp has kept it, and the committer stores and processes it
// later, in arrival order, many messages per transaction. The database's work is then
// entirely off the sender's 250. The message is in the database once its Kept is Done;
// until then a process that dies leaves it in the spool, for EnqueueKept at the next
// start. The Receipt only says "pending": whether the message is a duplicate is known
// when it is stored. ReceiveSpooled first waits for room in the backlog, as Receive.
func (s *Service) ReceiveSpooled(ctx context.Context, d Delivery, sp Spool) (Receipt, error) {
	w := weight(d)
	if err := s.backlog.acquire(ctx, w); err != nil {
		return Receipt{}, err
	}
	k, err := sp.Keep(ctx, d.Env, d.Raw)
	if err != nil {
		s.backlog.release(w)
		return Receipt{}, fmt.Errorf("ticket: spool message: %w", err)
	}
	if d.Prepare == nil {
		d.Raw = nil // in the spool, read back when stored
	}
	if err := s.handOver(queued{kept: k, d: d, weight: w}); err != nil {
		return Receipt{}, err
	}
	return Receipt{State: "pending"}, nil
}

// EnqueueKept queues a delivery whose raw message a spool already holds (found there at
// start-up) to be stored and processed like those of ReceiveSpooled. A message already
// stored is taken as a duplicate. It waits for room in the backlog.
func (s *Service) EnqueueKept(ctx context.Context, d Delivery, k Kept) error {
	d.Raw = nil
	w := weight(d)
	if err := s.backlog.acquire(ctx, w); err != nil {
		return err
	}
	return s.handOver(queued{kept: k, d: d, weight: w})
}

// handOver gives a spooled delivery to the committer, through the preparer, or gives
// its room in the backlog back when the service is closed. It never blocks: the
// channels have room for a full backlog, and the caller holds its part of it.
func (s *Service) handOver(q queued) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		s.backlog.release(q.weight)
		return ErrClosed
	}
	s.preparing <- q
	return nil
}

// preparer hands the spooled deliveries on to the committer in the order they were
// handed over, parsing on the way those that have not been (Delivery.Prepare): the
// sender has its 250 once the message is in the spool, and the parse, the attachments'
// files and the database's work all follow it. Once the service stops it hands on what
// it holds and closes prepDone.
func (s *Service) preparer() {
	defer s.wg.Done()
	defer close(s.prepDone)
	for {
		select {
		case q := <-s.preparing:
			s.prepare(q)
		case <-s.stop:
			// closed is set: nothing more is handed over
			for {
				select {
				case q := <-s.preparing:
					s.prepare(q)
				default:
					return
				}
			}
		}
	}
}

// prepareRetry bounds the wait between two tries of a delivery that could not be
// prepared; the first wait is Service.prepareWait (a second).
const prepareRetry = 30 * time.Second

// prepare runs q's Prepare, trying again while it fails (the messages behind it wait,
// the backlog fills and new senders get a 451), and hands q to the committer. A delivery
// still failing when the service stops is left in its spool for the next start.
func (s *Service) prepare(q queued) {
	for wait := s.prepareWait; q.d.Prepare != nil; wait = min(2*wait, prepareRetry) {
		err := runPrepare(&q.d)
		if err == nil {
			q.d.Prepare, q.d.Raw = nil, nil // in the spool, read back when stored
			break
		}
		select {
		case <-s.stop:
			s.log.Error("received message not parsed; left in the spool for the next start",
				"from", q.d.Env.From, slog.Any("error", err))
			s.backlog.release(q.weight)
			return
		default:
		}
		s.log.Error("received message not parsed; tried again, the messages after it wait",
			"from", q.d.Env.From, "retry_in", wait, slog.Any("error", err))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.stop:
		}
		t.Stop()
	}
	q.at = time.Now()
	s.incoming <- q
}

// runPrepare calls d.Prepare. A panic in it becomes the delivery's parse error: the
// message is stored as failed, as one that cannot be parsed, and neither the process
// nor the messages behind it stop there.
func runPrepare(d *Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			d.Msg, d.ParseErr = nil, fmt.Errorf("ticket: parse panicked: %v\n%s", p, debug.Stack())
			err = nil
		}
	}()
	return d.Prepare(context.Background(), d)
}

// RetryParked queues again the spooled deliveries that the database refused (see
// queueFailed); the serve command calls it from time to time. It returns how many.
// Parked deliveries keep their room in the backlog, so that while the database refuses
// them, the backlog fills and new senders get a 451 instead of a 250 that would pile
// up messages (and their parse results in memory) without bound.
func (s *Service) RetryParked(ctx context.Context) (int, error) {
	s.parkMu.Lock()
	parked := s.parked
	s.parked = nil
	s.parkMu.Unlock()
	for i, q := range parked {
		q.tries = 0
		if err := s.handOver(q); err != nil {
			return i, err // closed: the rest stay in the spool for the next start
		}
	}
	return len(parked), nil
}

// Parked returns how many spooled deliveries wait for RetryParked.
func (s *Service) Parked() int {
	s.parkMu.Lock()
	defer s.parkMu.Unlock()
	return len(s.parked)
}

// toProcess tells whether a stored delivery waits for processing: it is not a duplicate
// and could be parsed.
func toProcess(r Receipt) bool { return !r.Duplicate && r.State == "pending" }

// Backlog returns how many stored messages wait to be processed in this process.
func (s *Service) Backlog() int { return s.backlog.len() }

// ProcessCounts returns how many queued messages were processed, by outcome
// ("ticket_created", "comment_added", "held", "failed", …), since the start.
func (s *Service) ProcessCounts() map[string]int64 {
	out := map[string]int64{}
	s.outcomes.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (s *Service) countOutcome(r Receipt) {
	o := r.State
	switch {
	case r.State == "duplicate":
		o = "duplicate" // kept apart, see store
	case r.Duplicate:
		// Before CommentID: the receipt of a spooled message stored before names the
		// comment that message added, which this delivery did not add again.
		o = "done_elsewhere"
	case r.Created:
		o = "ticket_created"
	case r.CommentID != 0:
		o = "comment_added"
	}
	v, _ := s.outcomes.LoadOrStore(o, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// processQueued processes the queue's first messages inside tx, after its other writes,
// for as long as the time slice allows (at least one), and returns their receipts.
func (s *Service) processQueued(ctx context.Context, tx *sqlx.Tx, started time.Time, carriesStores bool) ([]Receipt, error) {
	var out []Receipt
	slice := processSlice + time.Duration(float64(processSliceGrowth)*float64(len(s.queue))/float64(s.opt.Backlog))
	for _, q := range s.queue {
		if len(out) > 0 {
			el := time.Since(started)
			if len(out) >= s.opt.MaxBatch || el >= processIdleSlice ||
				(el >= slice && (carriesStores || s.urgent.Load() > 0)) {
				break
			}
		}
		if q.kept != nil {
			rec, err := s.storeKept(ctx, tx, q)
			if err != nil {
				return nil, err
			}
			out = append(out, rec)
			continue
		}
		rec := Receipt{InboundID: q.id}
		// Claim the row: an instance sweeping stale messages, or Reprocess, may have
		// done it meanwhile; on PostgreSQL the row lock makes the other wait.
		res, err := tx.ExecContext(ctx, s.cq.ClaimRetry, q.id)
		if err != nil {
			return nil, fmt.Errorf("ticket: claim inbound %d: %w", q.id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			rec.State, rec.Duplicate = "processed", true
		} else if err := s.processSaved(ctx, tx, &rec, q.d); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// storeKept stores and processes a spooled delivery, as Accept does in one transaction.
func (s *Service) storeKept(ctx context.Context, tx *sqlx.Tx, q queued) (Receipt, error) {
	if q.d.RawBlob != "" {
		// a big message: already in the blob store, never read back whole
		return s.storeProcess(ctx, tx, q.d)
	}
	raw, err := q.kept.Raw()
	if err != nil {
		return Receipt{}, fmt.Errorf("ticket: read spooled message: %w", err)
	}
	d := q.d
	d.Raw = raw
	return s.storeProcess(ctx, tx, d)
}

// queueDone takes the first n messages off the queue once their transaction committed.
func (s *Service) queueDone(recs []Receipt) {
	for i, r := range recs {
		q := s.queue[i]
		if q.kept != nil {
			q.kept.Done()
		}
		s.backlog.release(q.weight)
		s.countOutcome(r)
		if r.Err != "" {
			s.log.Warn("inbound message failed", slog.Int64("inbound_id", r.InboundID), slog.String("error", r.Err))
		} else if !r.Duplicate {
			s.log.Info("inbound message processed", slog.Int64("inbound_id", r.InboundID), slog.String("state", r.State),
				slog.String("ticket", r.TicketKey), slog.Bool("created", r.Created))
		}
	}
	clear(s.queue[:len(recs)])
	s.queue = s.queue[len(recs):]
	if len(s.queue) == 0 {
		s.queue = nil // let the array go
	}
}

// queueFailed handles a transaction that failed with queued messages in it: the first
// one is tried again a few times, then left to Reprocess (its row stays pending), so
// that one message the database cannot take never blocks the others.
func (s *Service) queueFailed(err error) {
	q := &s.queue[0]
	q.tries++
	if q.tries < 3 {
		time.Sleep(time.Duration(q.tries*q.tries) * 50 * time.Millisecond)
		return
	}
	if q.kept != nil {
		// not in the database: kept in the spool, and here for RetryParked, still
		// holding its room in the backlog
		s.log.Error("spooled message could not be stored; it stays in the spool for the next retry", slog.Any("error", err))
		s.parkMu.Lock()
		s.parked = append(s.parked, *q)
		s.parkMu.Unlock()
	} else {
		s.log.Error("queued message could not be processed; it stays pending for the next retry",
			slog.Int64("inbound_id", q.id), slog.Any("error", err))
		s.backlog.release(q.weight)
	}
	s.queue[0] = queued{}
	s.queue = s.queue[1:]
}
