package coord

import (
	"context"
	"testing"
	"time"
)

// allowN calls Allow n times and returns the answers as a string of + and -.
func allowN(t *testing.T, l Limiter, key string, n, limit int, window time.Duration) string {
	t.Helper()
	s := ""
	for range n {
		ok, err := l.Allow(context.Background(), key, limit, window)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			s += "+"
		} else {
			s += "-"
		}
	}
	return s
}

func TestRedisLimiterShared(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *redisEnv) {
		w := e.scale()
		if got := allowN(t, e.a, "sender:a@x.test", 2, 3, w); got != "++" {
			t.Fatalf("instance A: %s", got)
		}
		if got := allowN(t, e.b, "sender:a@x.test", 3, 3, w); got != "+--" {
			t.Fatalf("instance B after two on A: %s, want +--", got)
		}
		if got := allowN(t, e.a, "sender:b@x.test", 1, 3, w); got != "+" {
			t.Fatalf("another key: %s", got)
		}
		ttl := e.ca.PTTL(context.Background(), e.prefix+"rate:sender:a@x.test").Val()
		if ttl <= 0 || ttl > w {
			t.Errorf("TTL of %srate:sender:a@x.test = %v, want (0, %v]", e.prefix, ttl, w)
		}
		e.advance(w + w/2)
		if got := allowN(t, e.b, "sender:a@x.test", 4, 3, w); got != "+++-" {
			t.Fatalf("after the window: %s, want +++-", got)
		}
		if got := allowN(t, e.a, "zero", 1, 0, w); got != "-" {
			t.Errorf("limit 0: %s", got)
		}
	})
}

// TestRedisLimiterBoundary checks the sliding window to the millisecond, on miniredis's
// clock: an event drops out exactly one window after it happened.
func TestRedisLimiterBoundary(t *testing.T) {
	e := newMiniEnv(t)
	const w = time.Minute
	if got := allowN(t, e.a, "k", 1, 3, w); got != "+" { // t0
		t.Fatal(got)
	}
	e.advance(30 * time.Second)
	if got := allowN(t, e.a, "k", 3, 3, w); got != "++-" { // t0+30s twice
		t.Fatalf("at t0+30s: %s", got)
	}
	e.advance(30*time.Second - time.Millisecond)
	if got := allowN(t, e.b, "k", 1, 3, w); got != "-" {
		t.Fatalf("1 ms before the first event leaves the window: %s", got)
	}
	e.advance(time.Millisecond)
	if got := allowN(t, e.b, "k", 2, 3, w); got != "+-" {
		t.Fatalf("when the first event leaves the window: %s, want +-", got)
	}
	e.advance(30*time.Second - time.Millisecond)
	if got := allowN(t, e.a, "k", 1, 3, w); got != "-" {
		t.Fatalf("1 ms before the t0+30s events leave: %s", got)
	}
	e.advance(time.Millisecond)
	if got := allowN(t, e.a, "k", 3, 3, w); got != "++-" {
		t.Fatalf("when the t0+30s events leave: %s, want ++-", got)
	}
}

// TestRedisLimiterMatchesMemory runs the same sequence on Memory and Redis.
func TestRedisLimiterMatchesMemory(t *testing.T) {
	e := newMiniEnv(t)
	m := NewMemory()
	now := e.now
	m.now = func() time.Time { return now }
	steps := []time.Duration{0, 0, 10 * time.Second, 0, 50 * time.Second, 0, 0, 10 * time.Second, time.Second, 0, 59 * time.Second, 0}
	for i, d := range steps {
		now = now.Add(d)
		e.advance(d)
		want := allowN(t, m, "k", 1, 3, time.Minute)
		if got := allowN(t, e.a, "k", 1, 3, time.Minute); got != want {
			t.Fatalf("step %d (+%v): redis %s, memory %s", i, d, got, want)
		}
	}
}
