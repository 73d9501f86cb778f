package mailout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// Queue is the outbox as the worker sees it; the ticket store implements it.
type Queue interface {
	// ClaimOutbox returns up to limit pending rows that are due, claimed for lease: no
	// other claim returns them before the lease ends or they are marked. OutboxMail's
	// Attempts counts the sends tried before.
	ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]ticket.OutboxMail, error)
	// MarkSent records that the row was accepted, with the receiver's answer.
	MarkSent(ctx context.Context, id int64, response string) error
	// MarkRetry counts a failed attempt, releases the claim and makes the row due again
	// at next.
	MarkRetry(ctx context.Context, id int64, next time.Time, errText string) error
	// MarkFailed records that the row will never be sent, and why.
	MarkFailed(ctx context.Context, id int64, errText string) error
	// ReleaseOutbox gives back claimed rows that were not tried: they are due again at
	// once, and the claim does not count as an attempt.
	ReleaseOutbox(ctx context.Context, ids []int64) error
}

// Observer is told the outcome of each send: nil once the mail is marked sent, the
// Sender's error otherwise. Errors before the Sender is called are not reported.
type Observer interface {
	Observe(err error)
}

// Options configure a Worker. Queue, Sender, Templates and From are required.
type Options struct {
	Queue     Queue
	Sender    Sender
	Templates *templates.Templates
	Blobs     BlobReader // attachments; required when mails have some
	From      string     // the support address: envelope sender and From
	// LoopHeader names the loop header; DefaultLoopHeader when empty.
	LoopHeader string
	Logger     *slog.Logger // slog.Default() when nil
	// Wake, when it receives, makes the worker look for mail at once.
	Wake <-chan struct{}
	// PollInterval is how often the worker looks for due mail without a wake-up; 2 s.
	PollInterval time.Duration
	// Concurrency is the number of mails sent at the same time; 4.
	Concurrency int
	// Lease is how long a claimed row stays out of other claims; 5 min. It must exceed
	// SendTimeout.
	Lease time.Duration
	// SendTimeout bounds one render, build and send, and the end of Run waits at most
	// this long for sends in flight; 2 min.
	SendTimeout time.Duration
	// MaxAge is how long temporary failures are retried, from the row's creation; 48 h.
	MaxAge time.Duration
	// Backoff gives the delay before retry number attempt; DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Observer, when set, is told the outcome of every send (RelayHealth).
	Observer Observer
	// MaxAttachBytes is how much of a mail's files (their size before encoding) is
	// attached, in their order; DefaultMaxAttachBytes when 0, none when negative. The
	// files left out are named in the mail, with the ticket's page to get them: a
	// mail stays under the size relays accept (often 10 to 25 MB, and base64 adds a
	// third), and a send holds less in memory.
	MaxAttachBytes int64
}

// DefaultMaxAttachBytes is the default Options.MaxAttachBytes.
const DefaultMaxAttachBytes = 10 << 20

// Worker sends the outbox's mail.
type Worker struct {
	opt  Options
	log  *slog.Logger
	slot chan struct{} // one token per send in flight
	wg   sync.WaitGroup
	// sendTime is a moving average of how long one mail takes from its claim's start to
	// the relay's answer, in nanoseconds (0 until a mail went): it bounds the claims.
	sendTime atomic.Int64
}

// Claim sizes. A claim is a database write, which waits for the committer's next
// transaction (a few to tens of milliseconds while mail comes in): claiming four rows per
// sending slot, the sender spent most of a busy run waiting for claims (2 KB load, 398
// claims of 16 rows for 3,000 messages, 8 ms each at the median and 100 ms at the
// 99th percentile). After a full claim the next one doubles, up to maxClaimPerSlot rows
// per slot, as long as the rows claimed can all be started well within their lease at
// the speed mail goes out (see claimSize); a claim that is not full starts over from
// baseClaimPerSlot.
const (
	baseClaimPerSlot = 4
	maxClaimPerSlot  = 32
)

// claimSize is how many rows to claim next, given the last claim's size and whether it
// came back full.
func (w *Worker) claimSize(last int, full bool) int {
	base := baseClaimPerSlot * w.opt.Concurrency
	if !full || last < base {
		return base
	}
	n := min(2*last, maxClaimPerSlot*w.opt.Concurrency)
	// The last row of a claim starts after the others, Concurrency at a time: that wait
	// stays under a quarter of the lease.
	t := time.Duration(w.sendTime.Load())
	if t <= 0 {
		return base // no mail timed yet
	}
	bound := int(int64(w.opt.Concurrency) * int64(w.opt.Lease/4) / int64(t))
	return max(base, min(n, bound))
}

// timed records that one mail took d from its start to the relay's answer.
func (w *Worker) timed(d time.Duration) {
	old := w.sendTime.Load()
	if old == 0 {
		w.sendTime.Store(int64(d))
		return
	}
	w.sendTime.Store(old - old/8 + int64(d)/8) // lost updates between sends do not matter
}

// NewWorker returns a worker with opt's defaults filled in.
func NewWorker(opt Options) *Worker {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.LoopHeader == "" {
		opt.LoopHeader = DefaultLoopHeader
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 2 * time.Second
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.SendTimeout <= 0 {
		opt.SendTimeout = 2 * time.Minute
	}
	if opt.Lease <= 0 {
		opt.Lease = max(5*time.Minute, 2*opt.SendTimeout)
	}
	if opt.MaxAttachBytes == 0 {
		opt.MaxAttachBytes = DefaultMaxAttachBytes
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = 48 * time.Hour
	}
	if opt.Backoff == nil {
		opt.Backoff = DefaultBackoff
	}
	return &Worker{
		opt:  opt,
		log:  opt.Logger.With("component", "mailout"),
		slot: make(chan struct{}, opt.Concurrency),
	}
}

func (w *Worker) check() error {
	if w.opt.Queue == nil || w.opt.Sender == nil || w.opt.Templates == nil || w.opt.From == "" {
		return errors.New("mailout: worker needs Queue, Sender, Templates and From")
	}
	return nil
}

// Run sends due mail until ctx is done. It claims rows ahead, four per sending slot and
// more while claims come back full (see claimSize; one claim, and one transaction, for
// many mails), claims the next ones while the second half of a full claim goes out,
// starts one as each slot frees,
// looks again at once while rows keep coming, and otherwise waits for Wake or
// PollInterval. When ctx is done it claims nothing more, gives back the rows claimed
// and not started, and returns once the sends in flight have finished (each bounded by
// SendTimeout). It returns nil then, and an error only when the options are incomplete.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	defer w.closeSender() // after the sends in flight
	defer w.wg.Wait()
	timer := time.NewTimer(w.opt.PollInterval)
	defer timer.Stop()
	var ahead []ticket.OutboxMail // claimed, not started
	var next chan claimed         // a claim in flight, started while ahead still held rows
	defer func() {
		w.release(ahead)
		if next != nil {
			w.release((<-next).rows)
		}
	}()
	more := false // the last claim was full: more may be due
	n := 0        // the last claim's size
	for {
		free := w.acquire(ctx)
		if free == 0 {
			return nil // ctx is done
		}
		if len(ahead) == 0 {
			var c claimed
			if next != nil {
				c, next = <-next, nil
			} else {
				c = w.claim(ctx, w.claimSize(n, more))
			}
			n = c.n
			ahead, more = c.rows, c.err == nil && len(c.rows) == c.n
		}
		start := min(free, len(ahead))
		for i := start; i < free; i++ {
			<-w.slot // give back the slots that found no row
		}
		for _, m := range ahead[:start] {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				// the slot bounds the relay sessions: it is given back once the relay
				// answered, and the mark (a database commit) joins the others
				w.process(ctx, m, func() { <-w.slot })
			}()
		}
		ahead = ahead[start:]
		if more && next == nil && len(ahead) <= n/2 {
			// The next claim goes now, while the rest of this one goes out: a claim
			// waits for the committer's next transaction, and the slots would wait
			// with it.
			ch, size := make(chan claimed, 1), w.claimSize(n, true)
			next = ch
			go func() { ch <- w.claim(ctx, size) }()
		}
		if len(ahead) > 0 || more {
			// more to send, or more may be due: a full claim is followed by another
			// once its rows are started, not by a wait for a wake-up that may have
			// come (and been taken) before the claim
			continue
		}
		timer.Reset(w.opt.PollInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-w.opt.Wake:
		case <-timer.C:
		}
		timer.Stop() // since Go 1.23, Reset after Stop never sees a stale tick
	}
}

// claimed is the outcome of one claim of n rows.
type claimed struct {
	rows []ticket.OutboxMail
	n    int
	err  error
}

func (w *Worker) claim(ctx context.Context, n int) claimed {
	rows, err := w.opt.Queue.ClaimOutbox(ctx, n, w.opt.Lease)
	if err != nil && ctx.Err() == nil {
		w.log.Error("claim outbox", slog.Any("error", err))
	}
	return claimed{rows: rows, n: n, err: err}
}

// release gives back rows claimed and not started.
func (w *Worker) release(rows []ticket.OutboxMail) {
	if len(rows) == 0 {
		return
	}
	ids := make([]int64, len(rows))
	for i, m := range rows {
		ids[i] = m.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), markTimeout)
	defer cancel()
	if err := w.opt.Queue.ReleaseOutbox(ctx, ids); err != nil {
		w.log.Warn("give back claimed mail; it is sent when its claim expires", slog.Int("rows", len(ids)), slog.Any("error", err))
	}
}

// acquire waits for one free sending slot, takes every other free one, and returns how
// many it took; 0 when ctx ended first.
func (w *Worker) acquire(ctx context.Context) int {
	select {
	case <-ctx.Done():
		return 0
	case w.slot <- struct{}{}:
	}
	if ctx.Err() != nil {
		// select picks at random when a slot frees as ctx ends: never start a send
		// after the stop.
		<-w.slot
		return 0
	}
	n := 1
	for n < w.opt.Concurrency {
		select {
		case w.slot <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

// closeSender ends what the sender keeps open between mails (the relay's sessions).
func (w *Worker) closeSender() {
	if c, ok := w.opt.Sender.(io.Closer); ok {
		if err := c.Close(); err != nil {
			w.log.Warn("close the sender", slog.Any("error", err))
		}
	}
}

// Drain sends, now, every mail that is due, and returns when a claim finds none left
// (mails that failed temporarily are due later, so they end the drain too). The commands
// that change tickets outside serve, such as ingest, call it. It returns the first
// queue error.
func (w *Worker) Drain(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	defer w.closeSender()
	seen := make(map[int64]bool)
	for ctx.Err() == nil {
		rows, err := w.opt.Queue.ClaimOutbox(ctx, w.opt.Concurrency, w.opt.Lease)
		if err != nil {
			return fmt.Errorf("mailout: drain: %w", err)
		}
		var wg sync.WaitGroup
		fresh := 0
		for _, m := range rows {
			if seen[m.ID] {
				continue // the queue gave it back: a mark failed; don't loop on it
			}
			seen[m.ID] = true
			fresh++
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.process(ctx, m, nil)
			}()
		}
		wg.Wait()
		if fresh == 0 {
			return nil
		}
	}
	return ctx.Err()
}
