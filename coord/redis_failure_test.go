package coord

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisDown checks the documented policy with the server gone: limits fail open
// (through FailOpen, logged once), leases fail closed, Notify errors at once, and
// Subscribe returns a channel that works when the server is back.
func TestRedisDown(t *testing.T) {
	e := newMiniEnv(t)
	ctx := context.Background()
	const ttl = time.Second
	acquired := time.Now()
	held, err := e.a.TryAcquire(ctx, "box", ttl)
	if err != nil {
		t.Fatal(err)
	}
	addr := e.mr.Addr()
	e.mr.Close()

	t.Run("lease fails closed", func(t *testing.T) {
		l, err := e.b.TryAcquire(ctx, "box2", time.Minute)
		if err == nil || errors.Is(err, ErrHeld) || l != nil {
			t.Fatalf("TryAcquire without a server = %v, %v; want another error than ErrHeld", l, err)
		}
		if err := held.Renew(ctx); err == nil || errors.Is(err, ErrLost) {
			t.Errorf("Renew within the TTL without a server: %v; want an error, not yet ErrLost", err)
		}
		time.Sleep(time.Until(acquired.Add(ttl + 100*time.Millisecond)))
		if err := held.Renew(ctx); !errors.Is(err, ErrLost) {
			t.Errorf("Renew past the TTL without a server: %v; want ErrLost", err)
		}
	})
	t.Run("limiter fails open", func(t *testing.T) {
		if _, err := e.a.Allow(ctx, "k", 1, time.Minute); err == nil {
			t.Fatal("Allow without a server: no error")
		}
		logs := &syncBuffer{}
		errs := 0
		fo := NewFailOpen(e.a, FailOpenOptions{Logger: slog.New(slog.NewTextHandler(logs, nil)), OnError: func(error) { errs++ }})
		for range 3 {
			ok, err := fo.Allow(ctx, "k", 1, time.Minute)
			if !ok || err != nil {
				t.Fatalf("FailOpen.Allow = %v, %v; want true, nil", ok, err)
			}
		}
		if errs != 3 {
			t.Errorf("onError called %d times, want 3", errs)
		}
		if n := strings.Count(logs.String(), "fail open"); n != 1 {
			t.Errorf("%d warnings logged for 3 errors within a minute, want 1:\n%s", n, logs)
		}
	})
	t.Run("backoff fails open", func(t *testing.T) {
		p := BackoffPolicy{Free: 0, Base: time.Minute, Max: time.Hour}
		if _, err := e.a.Try(ctx, "k", p); err == nil {
			t.Fatal("Try without a server: no error")
		}
		logs := &syncBuffer{}
		errs := 0
		fo := NewFailOpenBackoff(e.a, FailOpenOptions{Logger: slog.New(slog.NewTextHandler(logs, nil)), OnError: func(error) { errs++ }})
		for range 3 {
			if wait, err := fo.Try(ctx, "k", p); wait != 0 || err != nil {
				t.Fatalf("FailOpenBackoff.Try = %v, %v; want 0, nil", wait, err)
			}
		}
		if err := fo.Forgive(ctx, "k"); err != nil {
			t.Errorf("Forgive: %v", err)
		}
		if err := fo.Reset(ctx, "k"); err != nil {
			t.Errorf("Reset: %v", err)
		}
		if errs != 5 {
			t.Errorf("onError called %d times, want 5", errs)
		}
		if n := strings.Count(logs.String(), "backoff unavailable"); n != 1 {
			t.Errorf("%d warnings logged for 5 errors within a minute, want 1:\n%s", n, logs)
		}
	})
	t.Run("notify errors without blocking", func(t *testing.T) {
		start := time.Now()
		if err := e.a.Notify(ctx, "outbox"); err == nil {
			t.Fatal("Notify without a server: no error")
		}
		if d := time.Since(start); d > 6*time.Second { // a bound (it must not hang), with slack
			t.Errorf("Notify took %v", d)
		}
	})
	t.Run("subscribe degrades then recovers", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		start := time.Now()
		c, err := e.b.Subscribe(sctx, "outbox")
		if err != nil || c == nil {
			t.Fatalf("Subscribe without a server = %v, %v; want a channel", c, err)
		}
		if d := time.Since(start); d > subscribeWait+4*time.Second {
			t.Errorf("Subscribe took %v", d)
		}
		m2 := miniredis.NewMiniRedis()
		if err := m2.StartAddr(addr); err != nil {
			t.Fatal(err)
		}
		defer m2.Close()
		waitWake(t, c, 10*time.Second, "subscribed once the server is up")
		deadline := time.Now().Add(5 * time.Second)
		for e.a.Notify(ctx, "outbox") != nil {
			if time.Now().After(deadline) {
				t.Fatal("Notify still failing with the server up")
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitWake(t, c, 2*time.Second, "Notify with the server up")
	})
}

func TestOpenRedis(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	c, err := OpenRedis(ctx, "redis://"+mr.Addr()+"/0")
	if err != nil {
		t.Fatal(err)
	}
	if err := NewRedis(c, RedisOptions{}).Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	c.Close()
	if _, err := OpenRedis(ctx, "http://"+mr.Addr()); err == nil {
		t.Error("OpenRedis accepted an http URL")
	}
	addr := mr.Addr()
	mr.Close()
	if _, err := OpenRedis(ctx, "redis://"+addr); err == nil || !strings.HasPrefix(err.Error(), "coord: ping redis") {
		t.Errorf("OpenRedis with no server: %v", err)
	}
}
