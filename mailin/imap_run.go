package mailin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/guichet/guichet/ticket"
)

// IMAPPoller takes the mail of one IMAP folder into a Deliverer.
//
// # Delivery contract
//
// A message is marked \Seen and moved to the Processed folder only after the Deliverer
// has stored it; then the cursor (UIDVALIDITY, last UID) is saved. A crash in between
// fetches the message again on the next run, and the Deliverer's deduplication (by
// Message-ID and sender, else by content) makes it one ticket or comment. Mail is found
// by UID, not by the \Seen flag, so mail already read in webmail is taken too. A message
// the Deliverer refuses (ErrRefused) is moved to the Refused folder; any other error
// stops the batch and the message is tried again after a pause.
//
// # Leases
//
// Before it connects, the poller takes the lease "imap:<user@host/folder>" so that one
// instance at a time reads a mailbox; it renews it while it works and, when the renewal
// fails or the store refuses the cursor as stale, it drops the connection and starts over.
type IMAPPoller struct {
	opt  IMAPOptions
	t    imapTarget
	name string
	log  *slog.Logger

	minBackoff, maxBackoff time.Duration          // reconnect and retry pauses; tests shorten them
	sawSTARTTLS            bool                   // the server offered STARTTLS once: always use it
	loopback               func(host string) bool // isLoopbackHost; tests make a host remote
	lastSync               atomic.Int64           // Unix nanoseconds of the last complete sync
}

// LastSync is when the poller last read the mailbox to its end (zero before the first
// time): its age is the IMAP lag that metrics show.
func (p *IMAPPoller) LastSync() time.Time {
	n := p.lastSync.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// errLeaseLost ends a session whose lease could not be renewed or whose cursor was
// refused as stale.
var errLeaseLost = errors.New("mailin: imap: lease lost")

// Run takes mail until ctx is done, then logs out and returns nil. Connection failures,
// authentication failures and lost leases are logged and retried with a growing pause
// (1 s to 1 min, with jitter).
func (p *IMAPPoller) Run(ctx context.Context) error {
	fails := 0
	for ctx.Err() == nil {
		lease, err := p.acquire(ctx)
		if err != nil {
			return nil // ctx is done
		}
		start := time.Now()
		err = p.session(ctx, lease)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := lease.Release(rctx); rerr != nil {
			p.log.Debug("release lease", slog.Any("error", rerr))
		}
		cancel()
		if ctx.Err() != nil {
			break
		}
		if time.Since(start) > 2*p.maxBackoff {
			fails = 0 // it worked for a while: start the pauses over
		}
		fails++
		pause := p.backoff(fails)
		if errors.Is(err, errLeaseLost) {
			p.log.Warn("lease lost; reconnecting", slog.Any("error", err), slog.Duration("pause", pause))
		} else {
			p.log.Warn("connection ended; reconnecting", slog.Any("error", err), slog.Duration("pause", pause))
		}
		if !sleep(ctx, pause) {
			break
		}
	}
	p.log.Info("stopped")
	return nil
}

// acquire waits until it holds the lease or ctx is done.
func (p *IMAPPoller) acquire(ctx context.Context) (Lease, error) {
	logged := false
	for {
		lease, err := p.opt.Locker.TryAcquire(ctx, "imap:"+p.name, p.opt.LeaseTTL)
		if err == nil {
			p.log.Debug("lease taken", slog.Int64("fence", lease.Token()))
			return lease, nil
		}
		switch {
		case errors.Is(err, ErrLeaseHeld) && !logged:
			p.log.Info("mailbox read by another instance; waiting for its lease")
			logged = true
		case !errors.Is(err, ErrLeaseHeld):
			p.log.Warn("take lease", slog.Any("error", err))
		}
		if !sleep(ctx, jitter(p.opt.LeaseTTL/3)) {
			return nil, ctx.Err()
		}
	}
}

// session connects, then takes mail and waits for more until ctx ends, the lease is
// lost or the connection fails.
func (p *IMAPPoller) session(ctx context.Context, lease Lease) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go p.keepLease(sctx, cancel, lease)

	c, err := p.connect(sctx)
	if err != nil {
		return err
	}
	defer c.logout()
	cur, err := p.open(sctx, c)
	if err != nil {
		return err
	}
	fails := 0
	for {
		err := p.sync(sctx, c, lease, &cur)
		var tmp *tempDeliverError
		switch {
		case sctx.Err() != nil:
			return context.Cause(sctx)
		case errors.As(err, &tmp):
			fails++
			pause := p.backoff(fails)
			p.log.Warn("message not taken; will retry", slog.Uint64("uid", uint64(tmp.uid)),
				slog.Any("error", tmp.err), slog.Duration("pause", pause))
			if !sleep(sctx, pause) {
				return context.Cause(sctx)
			}
			continue
		case err != nil:
			return err
		}
		fails = 0
		p.lastSync.Store(time.Now().UnixNano())
		if err := p.wait(sctx, c); err != nil {
			if sctx.Err() != nil {
				return context.Cause(sctx)
			}
			return err
		}
		if sctx.Err() != nil {
			return context.Cause(sctx)
		}
		if err := p.recheck(sctx, c, &cur); err != nil {
			if sctx.Err() != nil {
				return context.Cause(sctx)
			}
			return err
		}
	}
}

// keepLease renews the lease every third of its TTL; when that fails it cancels the
// session with errLeaseLost.
func (p *IMAPPoller) keepLease(ctx context.Context, cancel context.CancelCauseFunc, lease Lease) {
	t := time.NewTicker(p.opt.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := lease.Renew(ctx); err != nil {
			if ctx.Err() == nil {
				cancel(fmt.Errorf("%w: renew: %w", errLeaseLost, err))
			}
			return
		}
	}
}

// saveCursor saves cur under lease; a stale refusal cancels nothing but returns
// errLeaseLost, which ends the session.
func (p *IMAPPoller) saveCursor(ctx context.Context, lease Lease, cur cursor) error {
	err := p.opt.Cursor.SaveIMAPCursor(ctx, p.name, cur.validity, cur.last, lease.Token())
	if errors.Is(err, ticket.ErrStaleLease) {
		return fmt.Errorf("%w: a newer lease holder saved the cursor (or the locker's tokens were reset): %w", errLeaseLost, err)
	}
	if err != nil {
		return fmt.Errorf("mailin: imap: save cursor: %w", err)
	}
	return nil
}

// backoff returns the pause after n failures in a row: min·2ⁿ⁻¹ up to max, ±20 %.
func (p *IMAPPoller) backoff(n int) time.Duration {
	d := p.minBackoff
	for i := 1; i < n && d < p.maxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, p.maxBackoff))
}

// jitter returns d ± 20 %.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*4/5 + rand.N(d*2/5+1)
}

// sleep waits for d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
