package coord

import (
	"context"
	"errors"
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
