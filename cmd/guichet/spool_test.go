package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/spool"
	"github.com/prometheus/client_golang/prometheus"
)

// TestOpenSpoolReportsDamage: what the spool set aside at start is logged, with where its
// copy is, and counted in a metric; the spool opens with the configured maximum message
// size, so a record over it (80 KiB: over 1 KiB and the 64 KiB a trace header may add)
// is not believed.
func TestOpenSpoolReportsDamage(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"Subject: a\r\n\r\na\r\n", strings.Repeat("x", 80<<10), "Subject: c\r\n\r\nc\r\n"} {
		if _, err := sp.Append([]byte(`{"env":{}}`), []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	var logs bytes.Buffer
	e := &env{cfg: Config{DataDir: dir, Spool: "on", MaxMessageSize: 1024}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	a := &app{}
	if err := a.openSpool(e); err != nil {
		t.Fatal(err)
	}
	defer a.spool.Close()
	if n := len(a.spool.Pending()); n != 2 {
		t.Fatalf("%d records kept, want the 2 under --max-message-size", n)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "damaged bytes set aside") ||
		!strings.Contains(out, "reason=\"length over the maximum message size\"") || !strings.Contains(out, filepath.Join(dir, "spool", "corrupt")) {
		t.Fatalf("log:\n%s", out)
	}
	ms := a.spoolMetrics()
	if len(ms) != 1 {
		t.Fatalf("%d collectors", len(ms))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ms...)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "guichet_spool_set_aside_ranges" || mfs[0].GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Fatalf("metrics %v %v", mfs, err)
	}
	if off := (&app{}).spoolMetrics(); off != nil {
		t.Fatalf("metrics without a spool: %v", off)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", "corrupt")); err != nil {
		t.Fatal(err)
	}
}
