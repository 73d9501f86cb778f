package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveOn runs `guichet serve` in-process on dataDir with args (no relay unless args
// give one: mail goes to <dataDir>/sent), waits until /healthz answers 200 and returns
// its HTTP address; it is stopped at the end of the test.
func serveOn(t *testing.T, dataDir string, args ...string) (httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args = append([]string{"serve", "--data-dir", dataDir, "--smtp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--log-level", "info"}, args...)
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan int, 1)
	sio := IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Getenv: func(string) string { return "" },
		Ready: func(_, httpAddr string) { ready <- httpAddr }}
	go func() { done <- run(ctx, args, sio, nil) }()
	select {
	case httpAddr = <-ready:
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d:\n%s", code, logs)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not start listening:\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited with %d:\n%s", code, logs)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s")
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, "http://"+httpAddr+"/healthz")
		if code == http.StatusOK {
			return httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy: %d\n%s", code, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeRemovesStaleSentTemp: the temporary file a killed write left in the sent
// folder is removed when serve starts; a fresh one (perhaps an ingest writing now) and
// the mail written stay.
func TestServeRemovesStaleSentTemp(t *testing.T) {
	dir := t.TempDir()
	sent := filepath.Join(dir, "sent")
	if err := os.MkdirAll(sent, 0o750); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{".tmp-1.eml", ".tmp-2.eml", "20261128T122100Z-a.eml"} {
		p := filepath.Join(sent, name)
		if err := os.WriteFile(p, []byte("Return-Path: <support@localhost>\r\nDelivered-To: x@y.z\r\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if name != ".tmp-2.eml" {
			os.Chtimes(p, old, old)
		}
	}
	serveOn(t, dir)
	if _, err := os.Stat(filepath.Join(sent, ".tmp-1.eml")); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	for _, name := range []string{".tmp-2.eml", "20261128T122100Z-a.eml"} {
		if _, err := os.Stat(filepath.Join(sent, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
