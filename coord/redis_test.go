package coord

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// redisEnv is two instances of Redis coordination (two clients, one key prefix) on one
// server: miniredis, or the real Redis named by GUICHET_TEST_REDIS.
type redisEnv struct {
	a, b   *Redis
	ca, cb *redis.Client
	prefix string
	mr     *miniredis.Miniredis // nil on a real server
	now    time.Time            // miniredis's clock
}

// advance lets d pass for TTLs and for the server's TIME: miniredis's clock moves, a real
// server is waited for.
func (e *redisEnv) advance(d time.Duration) {
	if e.mr == nil {
		time.Sleep(d)
		return
	}
	e.now = e.now.Add(d)
	e.mr.SetTime(e.now)
	e.mr.FastForward(d)
}

// scale is how long a "long" TTL or window is: virtual time is free, real time is not.
func (e *redisEnv) scale() time.Duration {
	if e.mr == nil {
		return 2 * time.Second // slack for a loaded machine: sleeps overshoot
	}
	return time.Minute
}

// forEachRedis runs f on miniredis and, when GUICHET_TEST_REDIS is set, on that server.
func forEachRedis(t *testing.T, f func(t *testing.T, e *redisEnv)) {
	t.Run("miniredis", func(t *testing.T) { f(t, newMiniEnv(t)) })
	t.Run("redis", func(t *testing.T) {
		url := os.Getenv("GUICHET_TEST_REDIS")
		if url == "" {
			t.Skip("GUICHET_TEST_REDIS not set (e.g. redis://127.0.0.1:6379/0): real Redis not tested")
		}
		f(t, newRealEnv(t, url))
	})
}

func newMiniEnv(t *testing.T) *redisEnv {
	t.Helper()
	mr := miniredis.RunT(t)
	e := &redisEnv{mr: mr, now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), prefix: "guichet:"}
	mr.SetTime(e.now)
	e.ca, e.cb = miniClient(t, mr.Addr()), miniClient(t, mr.Addr())
	e.a, e.b = NewRedis(e.ca, RedisOptions{}), NewRedis(e.cb, RedisOptions{})
	return e
}

// miniClient connects to addr and gives up at once when nobody answers there.
func miniClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

func newRealEnv(t *testing.T, url string) *redisEnv {
	t.Helper()
	ctx := context.Background()
	e := &redisEnv{prefix: "guichet-test:" + randomID()[:12] + ":"}
	for _, c := range []**redis.Client{&e.ca, &e.cb} {
		cl, err := OpenRedis(ctx, url)
		if err != nil {
			t.Fatalf("GUICHET_TEST_REDIS=%s: %v", url, err)
		}
		*c = cl
	}
	t.Cleanup(func() {
		keys, err := e.ca.Keys(ctx, e.prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = e.ca.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("clean up %s*: %v", e.prefix, err)
		}
		e.ca.Close()
		e.cb.Close()
	})
	e.a, e.b = NewRedis(e.ca, RedisOptions{Prefix: e.prefix}), NewRedis(e.cb, RedisOptions{Prefix: e.prefix})
	return e
}

func TestRedisLeaseExclusive(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *redisEnv) {
		ctx := context.Background()
		la, err := e.a.TryAcquire(ctx, "imap:box1", e.scale())
		if err != nil {
			t.Fatal(err)
		}
		if la.Name() != "imap:box1" || la.Token() < 1 {
			t.Errorf("lease %q token %d", la.Name(), la.Token())
		}
		if _, err := e.b.TryAcquire(ctx, "imap:box1", e.scale()); !errors.Is(err, ErrHeld) {
			t.Fatalf("second instance: %v, want ErrHeld", err)
		}
		if _, err := e.a.TryAcquire(ctx, "imap:box1", e.scale()); !errors.Is(err, ErrHeld) {
			t.Fatalf("same instance again: %v, want ErrHeld", err)
		}
		lb, err := e.b.TryAcquire(ctx, "imap:box2", e.scale())
		if err != nil {
			t.Fatalf("another name: %v", err)
		}
		if n, _ := e.ca.Exists(ctx, e.prefix+"lease:imap:box1", e.prefix+"fence:imap:box1").Result(); n != 2 {
			t.Errorf("keys %slease:… and %sfence:…: %d of 2 exist", e.prefix, e.prefix, n)
		}
		if err := la.Release(ctx); err != nil {
			t.Fatal(err)
		}
		lb2, err := e.b.TryAcquire(ctx, "imap:box1", e.scale())
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		if lb2.Token() <= la.Token() {
			t.Errorf("token %d after %d: fencing tokens must grow", lb2.Token(), la.Token())
		}
		lb.Release(ctx)
		lb2.Release(ctx)
	})
}

func TestRedisLeaseRenewExpireTakeover(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *redisEnv) {
		ctx := context.Background()
		ttl := e.scale()
		la, err := e.a.TryAcquire(ctx, "box", ttl)
		if err != nil {
			t.Fatal(err)
		}
		e.advance(ttl * 6 / 10)
		if err := la.Renew(ctx); err != nil {
			t.Fatalf("renew in time: %v", err)
		}
		e.advance(ttl * 6 / 10) // past the first TTL, within the renewed one
		if _, err := e.b.TryAcquire(ctx, "box", ttl); !errors.Is(err, ErrHeld) {
			t.Fatalf("renewed lease taken: %v", err)
		}
		e.advance(ttl * 6 / 10) // past the renewed TTL
		lb, err := e.b.TryAcquire(ctx, "box", ttl)
		if err != nil {
			t.Fatalf("takeover after expiry: %v", err)
		}
		if lb.Token() <= la.Token() {
			t.Errorf("takeover token %d, first %d: want bigger", lb.Token(), la.Token())
		}
		if err := la.Renew(ctx); !errors.Is(err, ErrLost) {
			t.Errorf("renew by the old holder: %v, want ErrLost", err)
		}
		if err := la.Release(ctx); err != nil {
			t.Errorf("release by the old holder: %v", err)
		}
		if _, err := e.a.TryAcquire(ctx, "box", ttl); !errors.Is(err, ErrHeld) {
			t.Errorf("the old holder's Release freed the new holder's lease: %v", err)
		}
		if err := lb.Renew(ctx); err != nil {
			t.Errorf("the new holder lost its lease: %v", err)
		}
		if err := lb.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := lb.Renew(ctx); !errors.Is(err, ErrLost) {
			t.Errorf("renew after release: %v, want ErrLost", err)
		}
		lc, err := e.a.TryAcquire(ctx, "box", ttl)
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		if lc.Token() <= lb.Token() {
			t.Errorf("token %d after %d", lc.Token(), lb.Token())
		}
	})
}
