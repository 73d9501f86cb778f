package coord

import (
	"context"
	"time"
)

// Backoff slows down repeated failures per key (a sign-in address, a client address):
// the first Free tries go through at once, then each further try must wait a delay that
// doubles with every failure, up to Max. Unlike a Limiter it counts failures only, so
// a busy but honest key is never held up, and it never locks a key for good: the delay
// is capped, and a key is forgotten Forget after its last counted try.
//
// Try counts a try as a failure before the caller knows how it ends, so that parallel
// tries cannot all slip in before the first one fails; the caller then uncounts a try
// that succeeded (Forgive) or forgets the key altogether (Reset). A try refused with a
// wait is not counted, so hammering a waiting key does not lengthen its wait.
type Backoff interface {
	// Try returns 0 and counts one failure of key when it may try now, or how long it
	// must still wait (and counts nothing).
	Try(ctx context.Context, key string, p BackoffPolicy) (wait time.Duration, err error)
	// Forgive uncounts one try of key, one that succeeded or was not the key's fault.
	Forgive(ctx context.Context, key string) error
	// Reset forgets every failure of key.
	Reset(ctx context.Context, key string) error
}

// BackoffPolicy is how a Backoff treats one kind of key.
type BackoffPolicy struct {
	// Free is the number of failures that cost no wait.
	Free int
	// Base is the wait after failure Free (and then 2×Base, 4×Base, …).
	Base time.Duration
	// Max caps the wait (at least Base).
	Max time.Duration
	// Forget is how long after its last counted try a key is forgotten (at least Max,
	// so that a key is never forgotten while it must still wait).
	Forget time.Duration
}

// Delay is the wait after n counted failures: 0 below Free, then Base doubled for each
// failure past Free, at most Max.
func (p BackoffPolicy) Delay(n int) time.Duration {
	p = p.norm()
	if n < p.Free || p.Base <= 0 {
		return 0
	}
	d := p.Base
	for i := p.Free; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// norm applies the documented minimums.
func (p BackoffPolicy) norm() BackoffPolicy {
	p.Free = max(p.Free, 0)
	p.Max = max(p.Max, p.Base)
	p.Forget = max(p.Forget, p.Max, time.Millisecond)
	return p
}
