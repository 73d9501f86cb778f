package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// get returns the status and body of an HTTP GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeWithRedis runs serve on miniredis: /healthz checks Redis, queued mail is
// signalled to other instances on guichet:signal:outbox, and losing Redis turns /healthz
// to 503 naming it, while mail intake goes on.
func TestServeWithRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	watcher := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer watcher.Close()
	h := startHarness(t, "--redis", "redis://"+mr.Addr()+"/0")
	base := "http://" + h.httpAddr
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz with Redis up: %d %q", code, body)
	}
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, "guichet_redis_up 1") {
		t.Errorf("/metrics lacks guichet_redis_up 1")
	}
	// Sign-in limits are counted in Redis, so that every instance sees them.
	resp, err := http.PostForm(base+"/login", url.Values{"email": {"nobody@example.org"}, "password": {"devine"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !mr.Exists("guichet:backoff:signin:account:nobody@example.org") ||
		!mr.Exists("guichet:backoff:signin:client:127.0.0.1") {
		t.Errorf("wrong password: %d; keys %v, want the account's and the client's failures in Redis", resp.StatusCode, mr.Keys())
	}
	if n := mr.PubSubNumSub("guichet:signal:outbox")["guichet:signal:outbox"]; n != 1 {
		t.Errorf("%d subscribers of guichet:signal:outbox, want the outbox sender", n)
	}

	sub := watcher.Subscribe(context.Background(), "guichet:signal:outbox")
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil { // the confirmation
		t.Fatal(err)
	}
	if err := h.send("parent@example.org", "From: parent@example.org\nTo: support@localhost\nSubject: Imprimante\nMessage-ID: <r1@example.org>\n\nElle ne marche plus.\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.ReceiveTimeout(context.Background(), 5*time.Second); err != nil {
		t.Errorf("no signal published after a mail was queued: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(mailTo(h.sink.Messages(), "parent@example.org")) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no confirmation at the relay")
		}
		time.Sleep(50 * time.Millisecond)
	}

	mr.Close()
	code, body := get(t, base+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "redis") {
		t.Errorf("/healthz with Redis gone: %d %q; want 503 naming redis", code, body)
	}
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, "guichet_redis_up 0") {
		t.Errorf("/metrics lacks guichet_redis_up 0")
	}
	if err := h.send("prof@example.org", "From: prof@example.org\nTo: support@localhost\nSubject: Tableau\nMessage-ID: <r2@example.org>\n\nLe TNI est noir.\n"); err != nil {
		t.Errorf("intake with Redis gone: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(mailTo(h.sink.Messages(), "prof@example.org")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no confirmation with Redis gone (the sender polls)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeRedisDownAtStart: an unreachable Redis does not stop the instance from
// starting (degraded, /healthz 503 "redis"); a malformed URL is a usage error.
func TestServeRedisDownAtStart(t *testing.T) {
	dead := freeAddr(t) // nothing listens there
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	sio := IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Getenv: func(string) string { return "" },
		Ready: func(_, httpAddr string) { ready <- httpAddr }}
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", t.TempDir(), "--smtp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--redis", "redis://" + dead, "--log-level", "error"}, sio, nil)
	}()
	var httpAddr string
	select {
	case httpAddr = <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start listening:\n%s", logs)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "redis") {
				t.Errorf("/healthz: %d %q; want 503 naming redis", resp.StatusCode, b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start with Redis down: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited with %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}

	var errb bytes.Buffer
	sio.Stderr = &errb
	if code := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--redis", "http://x"}, sio, nil); code != exitUsage {
		t.Errorf("--redis http://x: exit %d, want %d: %s", code, exitUsage, errb.String())
	}
}
