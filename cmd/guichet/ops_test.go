package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveOn runs `guichet serve` in-process on dataDir with args (no relay unless args
// give one: mail goes to <dataDir>/sent) and returns its HTTP address once it listens;
// it is stopped at the end of the test.
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
	return httpAddr
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

func TestMetricsRoute(t *testing.T) {
	for _, c := range []struct {
		http, metrics string
		onPortal      bool
		listen        string
	}{
		{"127.0.0.1:8080", "", true, ""},
		{"[::1]:8080", "", true, ""},
		{"localhost:8080", "", true, ""},
		{"127.3.2.1:8080", "", true, ""},
		{"0.0.0.0:8080", "", false, ""},
		{":8080", "", false, ""},
		{"[::]:8080", "", false, ""},
		{"192.0.2.10:8080", "", false, ""},
		{"portal.example:8080", "", false, ""}, // not looked up: may be public
		{"127.0.0.1.example:8080", "", false, ""},
		{"0.0.0.0:8080", "127.0.0.1:9100", false, "127.0.0.1:9100"},
		{"127.0.0.1:8080", "127.0.0.1:9100", false, "127.0.0.1:9100"},
		{"0.0.0.0:8080", "0.0.0.0:8080", true, ""}, // asked for on the portal
		{"127.0.0.1:8080", "off", false, ""},
		{"0.0.0.0:8080", "off", false, ""},
	} {
		onPortal, listen := metricsRoute(c.http, c.metrics)
		if onPortal != c.onPortal || listen != c.listen {
			t.Errorf("metricsRoute(%q, %q) = %v, %q; want %v, %q", c.http, c.metrics, onPortal, listen, c.onPortal, c.listen)
		}
	}
}

// loopbackURL turns a listener's address (perhaps [::]:port) into a URL on 127.0.0.1.
func loopbackURL(t *testing.T, addr, path string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + port + path
}

// TestServeMetricsPlacement: /metrics is on the portal's listener when that is loopback,
// not when it listens on every interface, and with --metrics-addr only on a listener of
// its own.
func TestServeMetricsPlacement(t *testing.T) {
	t.Run("loopback portal", func(t *testing.T) {
		addr := serveOn(t, t.TempDir())
		if code, body := get(t, loopbackURL(t, addr, "/metrics")); code != 200 || !strings.Contains(body, "guichet_intake_backlog") {
			t.Errorf("/metrics on a loopback portal: %d %.200q", code, body)
		}
	})
	t.Run("public portal", func(t *testing.T) {
		addr := serveOn(t, t.TempDir(), "--http-addr", "0.0.0.0:0")
		if code, body := get(t, loopbackURL(t, addr, "/metrics")); code != http.StatusNotFound {
			t.Errorf("/metrics on a portal listening on every interface: %d %.200q; want 404", code, body)
		}
		if code, _ := get(t, loopbackURL(t, addr, "/healthz")); code != 200 {
			t.Errorf("/healthz: %d", code)
		}
	})
	t.Run("own listener", func(t *testing.T) {
		maddr := freeAddr(t)
		addr := serveOn(t, t.TempDir(), "--metrics-addr", maddr)
		if code, _ := get(t, loopbackURL(t, addr, "/metrics")); code != http.StatusNotFound {
			t.Errorf("/metrics on the portal with --metrics-addr: %d; want 404", code)
		}
		if code, body := get(t, "http://"+maddr+"/metrics"); code != 200 || !strings.Contains(body, "guichet_intake_backlog") {
			t.Errorf("/metrics on --metrics-addr: %d %.200q", code, body)
		}
		for _, path := range []string{"/", "/healthz", "/login"} {
			if code, _ := get(t, "http://"+maddr+path); code != http.StatusNotFound {
				t.Errorf("%s on --metrics-addr: %d; want 404 (only /metrics there)", path, code)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		addr := serveOn(t, t.TempDir(), "--metrics-addr", "off")
		if code, _ := get(t, loopbackURL(t, addr, "/metrics")); code != http.StatusNotFound {
			t.Errorf("/metrics with --metrics-addr off: %d; want 404", code)
		}
	})
}

// TestServeHealthzLowDisk: with less free space than --min-free-space (here more than
// any disk has, rather than a full disk), /healthz answers 503 naming the disk while the
// database still answers.
func TestServeHealthzLowDisk(t *testing.T) {
	addr := serveOn(t, t.TempDir(), "--spool", "off", "--min-free-space", "4611686018427387904") // 4 EiB
	if code, body := get(t, "http://"+addr+"/healthz"); code != http.StatusServiceUnavailable || body != "disk: unavailable\n" {
		t.Errorf("/healthz with the disk below --min-free-space: %d %q; want 503 disk", code, body)
	}
}
