package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/web"
)

// TestDiskChecks: each folder Guichet writes is checked on its own (any may be a mount);
// /healthz names "spool" when the spool's folder runs low and "disk" for the others,
// skips a folder not created yet, and passes where free space cannot be known.
func TestDiskChecks(t *testing.T) {
	const min = 100 << 20
	data := t.TempDir()
	cfg := Config{DataDir: data, DB: filepath.Join(data, "guichet.db"), MinFreeSpace: min}
	healthz := func(free map[string]uint64, spooled bool) (int, string, []string) {
		t.Helper()
		var asked []string
		fake := func(path string) (uint64, error) {
			asked = append(asked, strings.TrimPrefix(path, data))
			n, ok := free[path]
			if !ok {
				return 0, fmt.Errorf("statfs %s: %w", path, fs.ErrNotExist)
			}
			return n, nil
		}
		h := web.New(web.Options{Checks: diskChecks(cfg, spooled, fake)})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String(), asked
	}
	spool, sent, att := filepath.Join(data, "spool"), filepath.Join(data, "sent"), filepath.Join(data, "attachments")

	all := map[string]uint64{data: 1 << 40, spool: 1 << 40, sent: 1 << 40, att: 1 << 40}
	if code, body, asked := healthz(all, true); code != 200 || body != "ok\n" {
		t.Errorf("plenty of space: %d %q", code, body)
	} else if got := strings.Join(asked, " "); !strings.Contains(got, "/spool") || !strings.Contains(got, "/sent") || !strings.Contains(got, "/attachments") {
		t.Errorf("folders checked: %q", got)
	}

	lowSpool := map[string]uint64{data: 1 << 40, spool: min - 1, sent: 1 << 40, att: 1 << 40}
	if code, body, _ := healthz(lowSpool, true); code != http.StatusServiceUnavailable || body != "spool: unavailable\n" {
		t.Errorf("spool folder low (a mount of its own): %d %q; want 503 spool", code, body)
	}
	if code, body, _ := healthz(lowSpool, false); code != 200 {
		t.Errorf("spool folder low but no spool: %d %q; want 200", code, body)
	}

	lowData := map[string]uint64{data: 10 << 20, spool: 1 << 40}
	if code, body, _ := healthz(lowData, true); code != http.StatusServiceUnavailable || body != "disk: unavailable\n" {
		t.Errorf("data folder low: %d %q; want 503 disk", code, body)
	}
	// sent/ and attachments/ are not created yet: skipped, not failed.
	if code, body, _ := healthz(map[string]uint64{data: 1 << 40, spool: 1 << 40}, true); code != 200 {
		t.Errorf("folders not created yet: %d %q; want 200", code, body)
	}

	// A failing statfs (EIO, permission) is a failing check; an unknown one is not.
	broken := diskCheck{dirs: []string{data}, min: min, free: func(string) (uint64, error) { return 0, errors.New("input/output error") }}
	if err := broken.Ping(context.Background()); err == nil {
		t.Error("a statfs error passed the check")
	}
	unknown := diskCheck{dirs: []string{data}, min: min, free: func(string) (uint64, error) { return 0, errors.ErrUnsupported }}
	if err := unknown.Ping(context.Background()); err != nil {
		t.Errorf("free space unknown: %v; want a pass", err)
	}

	// --min-free-space 0: no check; PostgreSQL: no database folder to check.
	off := cfg
	off.MinFreeSpace = 0
	if m := diskChecks(off, true, freeSpace); len(m) != 0 {
		t.Errorf("--min-free-space 0: checks %v", m)
	}
	pg := cfg
	pg.DB = "postgres://u@db.example/guichet"
	pg.Relay = "smtp://relay.example:25"
	if d := diskChecks(pg, false, freeSpace)["disk"].(diskCheck); len(d.dirs) != 2 {
		t.Errorf("PostgreSQL with a relay: folders %q; want the data folder and attachments", d.dirs)
	}

	// The real statfs on a real folder: some space, and a missing folder is ErrNotExist.
	if n, err := freeSpace(data); err != nil && !errors.Is(err, errors.ErrUnsupported) || err == nil && n == 0 {
		t.Errorf("freeSpace(%s) = %d, %v", data, n, err)
	}
	if _, err := freeSpace(filepath.Join(data, "none")); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("freeSpace of a missing folder: %v; want ErrNotExist", err)
	}
}
