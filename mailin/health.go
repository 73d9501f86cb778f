package mailin

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// FailureWindow is how long a delivery that failed on our side (a 451, `ingest` exit 75)
// keeps Intake.Ping failing, unless a delivery succeeds meanwhile.
const FailureWindow = 5 * time.Minute

// health remembers whether the last delivery that reached storage failed on our side.
// The database may answer a ping while every message gets 451 (disk full, the spool
// folder read-only, a table the database refuses to write): only the intake's own
// outcome tells, so /healthz asks it (Intake.Ping).
type health struct {
	mu       sync.Mutex
	now      func() time.Time
	failedAt time.Time // the first of the failures since the last success; zero: none
	lastAt   time.Time // the last of them
	failures int
	lastErr  error
}

func (h *health) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failures, h.lastErr, h.failedAt, h.lastAt = 0, nil, time.Time{}, time.Time{}
		return
	}
	t := h.clock()
	if h.failures == 0 {
		h.failedAt = t
	}
	h.failures++
	h.lastAt, h.lastErr = t, err
}

func (h *health) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

// Ping fails while the last delivery that reached storage failed on our side and that
// failure is less than FailureWindow old: it names how many failed in a row, since when,
// and the last error. A refused message (empty, too big) is the sender's fault and does
// not count; a message stored but not processed is stored, so it counts as a success.
func (i *Intake) Ping(ctx context.Context) error {
	h := &i.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures == 0 || h.clock().Sub(h.lastAt) > FailureWindow {
		return nil
	}
	return fmt.Errorf("%d deliveries in a row failed since %s: %w",
		h.failures, h.failedAt.UTC().Format(time.RFC3339), h.lastErr)
}
