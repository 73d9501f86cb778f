package mailout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDirSender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sent")
	s := NewDirSender(dir)
	s.Now = func() time.Time { return fixedDate }
	msg := sampleBytes(t)
	reply, err := s.SendReply(context.Background(), "support@localhost", []string{"elodie.martin@ac-lyon.fr"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d files, want 1 (no temporary file left)", len(entries))
	}
	name := entries[0].Name()
	if name != "20261128T122100.000000000Z-guichet.7.a1b2_localhost.eml" || reply != "written "+name {
		t.Errorf("file %s, reply %q", name, reply)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	head := "Return-Path: <support@localhost>\r\nDelivered-To: elodie.martin@ac-lyon.fr\r\n"
	if !strings.HasPrefix(string(b), head) || !bytes.Equal(b[len(head):], msg) {
		t.Errorf("file content:\n%s", b)
	}

	if err := s.Send(context.Background(), "support@localhost", []string{"x@y.z"}, []byte("no header")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files, want 2", len(entries))
	}
}

// TestDirRemoveStaleTemp: the temporary files left by writes killed mid-way are removed
// once old enough; a write that may be in progress, the mail written, and anything that
// is not a regular temporary file stay.
func TestDirRemoveStaleTemp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sent")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := now.Add(-time.Hour)
	files := map[string]time.Time{
		".tmp-123.eml":    old, // killed write: removed
		".tmp-456.eml":    now, // maybe in progress: kept
		".tmp-789.eml":    old, // killed write: removed
		"20261128-a.eml":  old, // mail written: kept
		".tmp-123.eml.gz": old, // not ours: kept
		"tmp-123.eml":     old, // not ours: kept
	}
	for name, at := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("Return-Path: <x>\r\n\x00truncat"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	// A folder and a link bearing a temporary file's name are not temporary files.
	if err := os.Mkdir(filepath.Join(dir, ".tmp-dir.eml"), 0o750); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "precious.eml")
	if err := os.WriteFile(outside, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, ".tmp-link.eml")); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(dir, ".tmp-dir.eml"), old, old)

	s := NewDirSender(dir)
	s.Now = func() time.Time { return now }
	n, err := s.RemoveStaleTemp(StaleTempAge)
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want 2", n, err)
	}
	var left []string
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		left = append(left, e.Name())
	}
	want := ".tmp-123.eml.gz .tmp-456.eml .tmp-dir.eml .tmp-link.eml 20261128-a.eml tmp-123.eml"
	if got := strings.Join(left, " "); got != want {
		t.Errorf("left %q\nwant %q", got, want)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the link's target: %v", err)
	}

	// A missing folder (nothing sent yet) has nothing to clean.
	if n, err := NewDirSender(filepath.Join(dir, "none")).RemoveStaleTemp(StaleTempAge); n != 0 || err != nil {
		t.Errorf("missing folder: %d, %v", n, err)
	}
}
