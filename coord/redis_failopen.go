package coord

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// FailOpen is a Limiter that allows when the one it wraps cannot answer in time: the
// error is logged (at most once a minute, with the number of errors since) and Allow
// returns true, nil. It is how Guichet uses the Redis limiter: a confirmation sent
// although it might have been over the cap is better than mail held up or lost because
// Redis is down.
type FailOpen struct {
	limiter Limiter
	opt     FailOpenOptions
	warn    *logEvery
}

// FailOpenOptions configures NewFailOpen.
type FailOpenOptions struct {
	// Timeout bounds each Allow of the wrapped limiter (an unreachable host must not
	// stall intake); 1s when zero.
	Timeout time.Duration
	// Logger receives the rate-limited warnings; discarded when nil.
	Logger *slog.Logger
	// OnError, when not nil, is called on every error (to count it in a metric).
	OnError func(error)
}

var _ Limiter = (*FailOpen)(nil)

// NewFailOpen wraps limiter.
func NewFailOpen(limiter Limiter, opt FailOpenOptions) *FailOpen {
	opt = opt.norm()
	return &FailOpen{limiter: limiter, opt: opt, warn: newLogEvery(opt.Logger, time.Minute)}
}

// norm applies the documented defaults.
func (opt FailOpenOptions) norm() FailOpenOptions {
	if opt.Timeout <= 0 {
		opt.Timeout = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return opt
}

// Allow implements Limiter; it never returns an error.
func (f *FailOpen) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	tctx, cancel := context.WithTimeout(ctx, f.opt.Timeout)
	defer cancel()
	ok, err := f.limiter.Allow(tctx, key, limit, window)
	if err == nil {
		return ok, nil
	}
	if f.opt.OnError != nil {
		f.opt.OnError(err)
	}
	f.warn.Warn("rate limit unavailable, allowing (fail open)", err)
	return true, nil
}

// logEvery logs one warning per interval and counts the ones it held back, so that an
// outage of Redis does not flood the log.
type logEvery struct {
	log   *slog.Logger
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newLogEvery(log *slog.Logger, every time.Duration) *logEvery {
	return &logEvery{log: log, every: every}
}

// Warn logs msg with err, unless it logged less than an interval ago.
func (l *logEvery) Warn(msg string, err error) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	l.log.Warn(msg, slog.Any("error", err), "suppressed", n)
}

// Reset lets the next warning through at once (after a recovery).
func (l *logEvery) Reset() {
	l.mu.Lock()
	l.last = time.Time{}
	l.mu.Unlock()
}

// FailOpenBackoff is a Backoff that lets a try through when the one it wraps cannot
// answer in time: the error is logged like FailOpen's and Try returns 0, nil (so is a
// failed Forgive or Reset: the count then only errs on the strict side).
type FailOpenBackoff struct {
	backoff Backoff
	opt     FailOpenOptions
	warn    *logEvery
}

var _ Backoff = (*FailOpenBackoff)(nil)

// NewFailOpenBackoff wraps backoff; opt is read as NewFailOpen's.
func NewFailOpenBackoff(backoff Backoff, opt FailOpenOptions) *FailOpenBackoff {
	opt = opt.norm()
	return &FailOpenBackoff{backoff: backoff, opt: opt, warn: newLogEvery(opt.Logger, time.Minute)}
}

// Try implements Backoff; it never returns an error.
func (f *FailOpenBackoff) Try(ctx context.Context, key string, p BackoffPolicy) (time.Duration, error) {
	tctx, cancel := context.WithTimeout(ctx, f.opt.Timeout)
	defer cancel()
	wait, err := f.backoff.Try(tctx, key, p)
	if err != nil {
		f.fail("backoff unavailable, allowing (fail open)", err)
		return 0, nil
	}
	return wait, nil
}

// Forgive implements Backoff; it never returns an error.
func (f *FailOpenBackoff) Forgive(ctx context.Context, key string) error {
	tctx, cancel := context.WithTimeout(ctx, f.opt.Timeout)
	defer cancel()
	if err := f.backoff.Forgive(tctx, key); err != nil {
		f.fail("backoff unavailable, a success stays counted", err)
	}
	return nil
}

// Reset implements Backoff; it never returns an error.
func (f *FailOpenBackoff) Reset(ctx context.Context, key string) error {
	tctx, cancel := context.WithTimeout(ctx, f.opt.Timeout)
	defer cancel()
	if err := f.backoff.Reset(tctx, key); err != nil {
		f.fail("backoff unavailable, failures not reset", err)
	}
	return nil
}

func (f *FailOpenBackoff) fail(msg string, err error) {
	if f.opt.OnError != nil {
		f.opt.OnError(err)
	}
	f.warn.Warn(msg, err)
}
