package coord

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func waitWake(t *testing.T, c <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(within):
		t.Fatalf("%s: no wake-up within %v", what, within)
	}
}

func noWake(t *testing.T, c <-chan struct{}, during time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
		t.Fatalf("%s: unexpected wake-up", what)
	case <-time.After(during):
	}
}

func TestRedisNotifyAcrossInstances(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *redisEnv) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		onB, err := e.b.Subscribe(ctx, "outbox")
		if err != nil {
			t.Fatal(err)
		}
		onA, err := e.a.Subscribe(ctx, "outbox")
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.b.Subscribe(ctx, "portal")
		if err != nil {
			t.Fatal(err)
		}
		noWake(t, onB, 100*time.Millisecond, "before any Notify")
		if err := e.a.Notify(ctx, "outbox"); err != nil {
			t.Fatal(err)
		}
		waitWake(t, onB, 2*time.Second, "Notify on A, Subscribe on B")
		waitWake(t, onA, 2*time.Second, "Notify on A, Subscribe on A")
		noWake(t, other, 200*time.Millisecond, "another topic")

		// Coalescing: ten signals while nobody reads wake the reader once.
		for range 10 {
			if err := e.a.Notify(ctx, "outbox"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond) // let all ten arrive
		waitWake(t, onB, time.Second, "ten Notify")
		noWake(t, onB, 200*time.Millisecond, "ten Notify coalesced")
	})
}

func TestRedisSubscribeEndsWithContext(t *testing.T) {
	forEachRedis(t, func(t *testing.T, e *redisEnv) {
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := e.b.Subscribe(ctx, "outbox"); err != nil {
			t.Fatal(err)
		}
		ch := e.prefix + "signal:outbox"
		if n := e.ca.PubSubNumSub(context.Background(), ch).Val()[ch]; n != 1 {
			t.Fatalf("%d subscribers of %s, want 1", n, ch)
		}
		cancel()
		deadline := time.Now().Add(3 * time.Second)
		for e.ca.PubSubNumSub(context.Background(), ch).Val()[ch] != 0 {
			if time.Now().After(deadline) {
				t.Fatal("subscription still there after its context ended")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := e.b.Subscribe(ctx, "outbox"); err == nil {
			t.Error("Subscribe with an ended context succeeded")
		}
	})
}

// TestRedisResubscribeAfterRestart stops the server under a subscription and starts a
// new one on the same address: the subscriber wakes once when it is back (signals may
// have been lost) and then receives signals again.
func TestRedisResubscribeAfterRestart(t *testing.T) {
	e := newMiniEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	onB, err := e.b.Subscribe(ctx, "outbox")
	if err != nil {
		t.Fatal(err)
	}
	addr := e.mr.Addr()
	e.mr.Close()
	time.Sleep(300 * time.Millisecond) // the subscription notices and retries
	if err := e.a.Notify(ctx, "outbox"); err == nil {
		t.Fatal("Notify succeeded with the server down")
	}
	m2 := miniredis.NewMiniRedis()
	if err := m2.StartAddr(addr); err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer m2.Close()
	waitWake(t, onB, 10*time.Second, "resubscribed after the restart")
	noWake(t, onB, 200*time.Millisecond, "one wake-up for the reconnection")
	deadline := time.Now().Add(5 * time.Second)
	for e.a.Notify(ctx, "outbox") != nil { // A's pool may still be backing off
		if time.Now().After(deadline) {
			t.Fatal("Notify still failing after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitWake(t, onB, 2*time.Second, "Notify after the restart")
}
