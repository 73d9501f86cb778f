package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guichet/guichet/coord"
	"github.com/guichet/guichet/mailin"
)

// newIMAPPollers builds one poller per --imap URL, delivering into d, keeping cursors in
// the database and taking the mailbox leases from locker.
func newIMAPPollers(e *env, a *app, d mailin.Deliverer, locker coord.Locker) ([]*mailin.IMAPPoller, error) {
	lk := imapLocker(locker)
	var pollers []*mailin.IMAPPoller
	for i, u := range e.cfg.IMAP {
		p, err := mailin.NewIMAPPoller(mailin.IMAPOptions{
			URL: u, Deliverer: d, Cursor: a.svc, Locker: lk, Logger: e.log,
			MaxMessageBytes: e.cfg.MaxMessageSize,
		})
		if err != nil {
			// The error names no password; the URL shown is redacted.
			return nil, fmt.Errorf("--imap %s: %w", e.cfg.redacted().IMAP[i], err)
		}
		pollers = append(pollers, p)
	}
	return pollers, nil
}

// runIMAP runs the pollers until the returned function is called; it waits for them
// until its context ends.
func runIMAP(e *env, pollers []*mailin.IMAPPoller) (stop func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				e.log.Error("IMAP poller stopped", "mailbox", p.Mailbox(), slog.Any("error", err))
			}
		}()
		e.log.Info("IMAP poller started", "mailbox", p.Mailbox())
	}
	return func(sctx context.Context) {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			e.log.Warn("IMAP pollers did not stop in time")
		}
	}
}

// imapLocker adapts a coord.Locker to the mailin.Locker of the pollers.
//
// The cursor of a mailbox keeps the fencing token of its last writer and refuses lower
// ones. coord.Memory counts tokens from 1 again in every process, so its tokens are
// offset by the process start time in microseconds, which keeps them above those that
// an earlier run saved.
func imapLocker(l coord.Locker) mailin.Locker {
	var offset int64
	if _, ok := l.(*coord.Memory); ok {
		offset = time.Now().UnixMicro()
	}
	return mailin.LockerFunc(func(ctx context.Context, name string, ttl time.Duration) (mailin.Lease, error) {
		lease, err := l.TryAcquire(ctx, name, ttl)
		switch {
		case errors.Is(err, coord.ErrHeld):
			return nil, fmt.Errorf("%w: %w", mailin.ErrLeaseHeld, err)
		case err != nil:
			return nil, err
		case offset != 0:
			return offsetLease{lease, offset}, nil
		}
		return lease, nil
	})
}

// offsetLease is a coord.Lease whose token is shifted by offset.
type offsetLease struct {
	coord.Lease
	offset int64
}

// Token returns the shifted fencing token.
func (l offsetLease) Token() int64 { return l.offset + l.Lease.Token() }
