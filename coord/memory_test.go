package coord

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestMemoryLease(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	m := NewMemory()
	m.now = func() time.Time { return now }
	a, err := m.TryAcquire(ctx, "imap:box", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.TryAcquire(ctx, "imap:box", 10*time.Second); !errors.Is(err, ErrHeld) {
		t.Fatalf("second acquire: %v, want ErrHeld", err)
	}
	now = now.Add(5 * time.Second)
	if err := a.Renew(ctx); err != nil {
		t.Fatalf("renew: %v", err)
	}
	now = now.Add(11 * time.Second) // expired
	b, err := m.TryAcquire(ctx, "imap:box", 10*time.Second)
	if err != nil {
		t.Fatalf("acquire after expiry: %v", err)
	}
	if b.Token() <= a.Token() {
		t.Fatalf("fencing token did not grow: %d then %d", a.Token(), b.Token())
	}
	if err := a.Renew(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("renew of a lost lease: %v, want ErrLost", err)
	}
	a.Release(ctx) // must not release b's lease
	if _, err := m.TryAcquire(ctx, "imap:box", time.Second); !errors.Is(err, ErrHeld) {
		t.Fatalf("old holder's release freed the new holder's lease")
	}
}

func TestMemoryLimiter(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	m := NewMemory()
	m.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := m.Allow(ctx, "k", 3, time.Minute); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	if ok, _ := m.Allow(ctx, "k", 3, time.Minute); ok {
		t.Fatal("fourth event within the window allowed")
	}
	now = now.Add(61 * time.Second)
	if ok, _ := m.Allow(ctx, "k", 3, time.Minute); !ok {
		t.Fatal("event after the window refused")
	}
}

func TestMemoryNotify(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := NewMemory()
	c, _ := m.Subscribe(ctx, "outbox")
	m.Notify(ctx, "outbox")
	m.Notify(ctx, "outbox")
	select {
	case <-c:
	case <-time.After(time.Second):
		t.Fatal("no wake-up")
	}
}

// TestMemoryForgetsKeys: rate-limit windows and backoff keys leave memory once they
// expire, so that every address ever tried at /login does not stay for the life of
// the process.
func TestMemoryForgetsKeys(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	m := NewMemoryClock(func() time.Time { return now })
	p := BackoffPolicy{Free: 1, Base: time.Second, Max: time.Minute, Forget: time.Minute}
	for i := range 1000 {
		m.Allow(ctx, fmt.Sprintf("ip:%d", i), 3, time.Minute)
		m.Try(ctx, fmt.Sprintf("acct:%d", i), p)
	}
	if n := m.held(); n != 2000 {
		t.Fatalf("%d entries held, want 2000", n)
	}
	now = now.Add(time.Minute + sweepEvery)
	m.Reset(ctx, "unrelated") // any call may sweep; this one adds nothing
	if n := m.held(); n != 0 {
		t.Fatalf("%d entries still held after their window", n)
	}
	// Refused events and forgiven tries leave nothing behind either.
	m.Allow(ctx, "zero", 0, time.Minute)
	m.Try(ctx, "ok", p)
	m.Forgive(ctx, "ok")
	if n := m.held(); n != 0 {
		t.Fatalf("%d entries held after a refused event and a forgiven try", n)
	}
}

// TestMemoryBoundedUnderDistinctKeys passes 100k distinct keys through, each live for
// one second, 1 ms apart: about 1000 are live at any time, and memory must hold only
// a small multiple of that, never all 100k.
func TestMemoryBoundedUnderDistinctKeys(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	m := NewMemoryClock(func() time.Time { return now })
	p := BackoffPolicy{Free: 5, Base: time.Second, Max: time.Second, Forget: time.Second}
	most := 0
	for i := range 100_000 {
		now = now.Add(time.Millisecond)
		if i%2 == 0 {
			m.Allow(ctx, fmt.Sprintf("ip:%d", i), 10, time.Second)
		} else {
			m.Try(ctx, fmt.Sprintf("acct:%d", i), p)
		}
		most = max(most, m.held())
	}
	if most > 4*minSweepSize {
		t.Fatalf("up to %d entries held for about 1000 live keys", most)
	}
}
