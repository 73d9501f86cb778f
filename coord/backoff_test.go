package coord

import (
	"context"
	"testing"
	"time"
)

func TestBackoffPolicyDelay(t *testing.T) {
	p := BackoffPolicy{Free: 3, Base: time.Second, Max: 10 * time.Second}
	for n, want := range []time.Duration{0, 0, 0, 1, 2, 4, 8, 10, 10} {
		if got := p.Delay(n); got != want*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want*time.Second)
		}
	}
	if got := p.Delay(1 << 30); got != 10*time.Second {
		t.Errorf("Delay of a huge count = %v, want the cap", got)
	}
	if got := (BackoffPolicy{Free: 1, Base: time.Minute}).Delay(5); got != time.Minute {
		t.Errorf("Max below Base: %v, want Base", got)
	}
}

// backoffEnv is one Backoff seen by two callers (two instances on Redis) and a clock.
type backoffEnv struct {
	a, b    Backoff
	advance func(d time.Duration)
	unit    time.Duration
	exact   bool // waits are known to the millisecond (virtual time)
}

// testBackoff runs the documented behaviour of a Backoff: free tries, a wait that
// doubles up to its cap, refused tries that are not counted, Forgive, Reset, keys that
// are forgotten, and keys that do not mix.
func testBackoff(t *testing.T, e backoffEnv) {
	ctx := context.Background()
	u := e.unit
	p := BackoffPolicy{Free: 2, Base: u, Max: 4 * u, Forget: 20 * u}
	try := func(b Backoff, key string) time.Duration {
		t.Helper()
		wait, err := b.Try(ctx, key, p)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	mustGo := func(b Backoff, key, what string) {
		t.Helper()
		if w := try(b, key); w != 0 {
			t.Fatalf("%s: wait %v, want none", what, w)
		}
	}
	mustWait := func(b Backoff, key string, want time.Duration, what string) time.Duration {
		t.Helper()
		w := try(b, key)
		if w <= 0 || w > want || (e.exact && w != want) {
			t.Fatalf("%s: wait %v, want %v", what, w, want)
		}
		return w
	}
	mustGo(e.a, "k", "1st failure")
	mustGo(e.b, "k", "2nd failure (other instance)")
	mustWait(e.a, "k", u, "after 2 free failures")
	mustWait(e.b, "k", u, "hammering does not lengthen the wait")
	mustGo(e.a, "other", "another key")
	e.advance(u)
	mustGo(e.b, "k", "3rd failure after the wait")
	mustWait(e.a, "k", 2*u, "after 3 failures")
	e.advance(2 * u)
	mustGo(e.a, "k", "4th failure")
	mustWait(e.a, "k", 4*u, "after 4 failures")
	e.advance(4 * u)
	mustGo(e.a, "k", "5th failure")
	mustWait(e.b, "k", 4*u, "after 5 failures: capped")
	e.advance(4 * u)
	mustGo(e.a, "k", "6th try, a success")
	if err := e.b.Forgive(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	// Forgiven, the 6th try no longer counts: back to the wait of 5 failures, from the
	// time of the try.
	mustWait(e.a, "k", 4*u, "after a forgiven 6th try")
	if err := e.a.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	mustGo(e.b, "k", "after Reset")
	mustGo(e.a, "k", "after Reset, 2nd")
	mustWait(e.a, "k", u, "after Reset, 3rd")
	e.advance(20*u + u)
	mustGo(e.a, "k", "forgotten after Forget")
	mustGo(e.a, "k", "forgotten after Forget, 2nd")
	if err := e.a.Forgive(ctx, "never-seen"); err != nil {
		t.Fatalf("Forgive of an unknown key: %v", err)
	}
	mustGo(e.a, "never-seen", "Forgive of an unknown key gives no credit")
	mustGo(e.a, "never-seen", "2nd")
	mustWait(e.a, "never-seen", u, "3rd")
}

func TestMemoryBackoff(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemoryClock(func() time.Time { return now })
	testBackoff(t, backoffEnv{a: m, b: m, advance: func(d time.Duration) { now = now.Add(d) }, unit: time.Second, exact: true})
}

func TestRedisBackoff(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *redisEnv) {
		unit := time.Second
		if e.mr == nil {
			unit = 200 * time.Millisecond // real time: short, with slack for sleeps that overshoot
		}
		testBackoff(t, backoffEnv{a: e.a, b: e.b, advance: e.advance, unit: unit, exact: e.mr != nil})
		ctx := context.Background()
		if _, err := e.a.Try(ctx, "ttl", BackoffPolicy{Free: 1, Base: time.Second, Max: time.Minute, Forget: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if ttl := e.ca.PTTL(ctx, e.prefix+"backoff:ttl").Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("TTL of %sbackoff:ttl = %v, want (0, 1h]", e.prefix, ttl)
		}
	})
}

// TestRedisBackoffMatchesMemory runs the same tries on Memory and Redis.
func TestRedisBackoffMatchesMemory(t *testing.T) {
	e := newMiniEnv(t)
	now := e.now
	m := NewMemoryClock(func() time.Time { return now })
	p := BackoffPolicy{Free: 3, Base: 500 * time.Millisecond, Max: 5 * time.Second, Forget: time.Minute}
	ctx := context.Background()
	steps := []time.Duration{0, 0, 0, 0, 100 * time.Millisecond, 400 * time.Millisecond, 0, time.Second, 3 * time.Second,
		0, 5 * time.Second, 5 * time.Second, 0, 61 * time.Second, 0}
	for i, d := range steps {
		now = now.Add(d)
		e.advance(d)
		want, _ := m.Try(ctx, "k", p)
		got, err := e.a.Try(ctx, "k", p)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("step %d (+%v): redis waits %v, memory %v", i, d, got, want)
		}
	}
}
