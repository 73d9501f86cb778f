package coord

import (
	"context"
	"time"
)

// Try implements Backoff.
func (m *Memory) Try(ctx context.Context, key string, p BackoffPolicy) (time.Duration, error) {
	p = p.norm()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	defer m.sweep(now)
	b := m.backoffs[key]
	if b != nil && !now.Before(b.expires) {
		b = nil
	}
	if b == nil {
		b = &memBackoff{}
		m.backoffs[key] = b
	} else if wait := b.last.Add(p.Delay(b.n)).Sub(now); wait > 0 {
		return wait, nil
	}
	b.n++
	b.last, b.expires = now, now.Add(p.Forget)
	return 0, nil
}

// Forgive implements Backoff.
func (m *Memory) Forgive(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.backoffs[key]; b != nil {
		if b.n--; b.n <= 0 {
			delete(m.backoffs, key)
		}
	}
	return nil
}

// Reset implements Backoff.
func (m *Memory) Reset(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.backoffs, key)
	m.sweep(m.now())
	return nil
}

// Sweeping: the expired windows and backoffs are removed at most sweepEvery after they
// expire, or sooner when their number has doubled since the last sweep (never below
// minSweepSize). A sweep walks every entry, so doubling keeps its cost amortised to O(1)
// per added key, and the held entries stay within about twice the live ones however
// many distinct keys pass through.
const (
	sweepEvery   = time.Minute
	minSweepSize = 1024
)

// sweep removes the expired entries when a sweep is due; m.mu is held.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.nextSweep) && len(m.windows)+len(m.backoffs) < m.sweepSize {
		return
	}
	for k, w := range m.windows {
		if !now.Before(w.expires) {
			delete(m.windows, k)
		}
	}
	for k, b := range m.backoffs {
		if !now.Before(b.expires) {
			delete(m.backoffs, k)
		}
	}
	m.nextSweep = now.Add(sweepEvery)
	m.sweepSize = max(2*(len(m.windows)+len(m.backoffs)), minSweepSize)
}

// held is the number of rate-limit windows and backoff keys in memory (for tests).
func (m *Memory) held() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.windows) + len(m.backoffs)
}
