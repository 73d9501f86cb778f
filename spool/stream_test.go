package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriterCommitReopen: a record written in pieces reads back whole, survives a
// reopen among the records of Append, and its file goes once it is done.
func TestWriterCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	small, err := s.Append([]byte("m0"), []byte("small"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create([]byte(`{"env":2}`))
	if err != nil {
		t.Fatal(err)
	}
	piece := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var want bytes.Buffer
	for range 40 {
		if _, err := w.Write(piece); err != nil {
			t.Fatal(err)
		}
		want.Write(piece)
	}
	if w.Size() != int64(want.Len()) {
		t.Fatalf("size %d, want %d", w.Size(), want.Len())
	}
	ref, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := ref.Section()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(sec)
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read back %d bytes, want %d", len(got), want.Len())
	}
	if m, err := ref.Meta(); err != nil || string(m) != `{"env":2}` {
		t.Fatalf("meta %q %v", m, err)
	}
	s.Close()

	s = mustOpen(t, dir, Options{})
	p := s.Pending()
	if len(p) != 2 {
		t.Fatalf("%d records after reopen, want 2", len(p))
	}
	meta, raw, err := p[1].Read()
	if err != nil || string(meta) != `{"env":2}` || !bytes.Equal(raw, want.Bytes()) {
		t.Fatalf("reopened record: meta %q, %d bytes, %v", meta, len(raw), err)
	}
	before := len(s.Segments())
	p[1].Done()
	if after := len(s.Segments()); after != before-1 {
		t.Fatalf("segments %d after done, want %d", after, before-1)
	}
	p[0].Done()
	small.Done()
	s.Close()
}

// TestWriterAbortAndPart: an aborted record leaves nothing, and a file left unfinished
// by a crash (never acknowledged) is removed at Open, not taken for damage.
func TestWriterAbortAndPart(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	w, err := s.Create([]byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	w.Abort()
	if _, err := w.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
	// as a crash leaves it: written, never committed
	w2, err := s.Create([]byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	w2.Write([]byte("Subject: x\r\n\r\nhalf"))
	s.Close()
	w2.f.Close()
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	if p := s.Pending(); len(p) != 0 {
		t.Fatalf("%d records from unfinished writes", len(p))
	}
	if bad := s.SetAside(); len(bad) != 0 {
		t.Fatalf("unfinished write set aside as damage: %+v", bad)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range left {
		if strings.HasSuffix(f, partSuffix) || strings.HasSuffix(f, suffix) {
			t.Fatalf("file left: %s", f)
		}
	}
}

// TestWriterTooBig: past the maximum size the writer refuses more and its record is
// never committed.
func TestWriterTooBig(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{MaxMessageSize: 100 << 10})
	defer s.Close()
	w, err := s.Create([]byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	piece := make([]byte, 32<<10)
	for range 5 { // 160 KiB: within the 64 KiB of trace slack, then over
		_, err = w.Write(piece)
	}
	if _, err2 := w.Write(piece); !errors.Is(err2, ErrTooBig) {
		t.Fatalf("write past the limit: %v (%v)", err2, err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrTooBig) {
		t.Fatalf("commit of an over-size record: %v", err)
	}
}

// TestSectionChecksum: a record whose bytes changed on disk is not handed out.
func TestSectionChecksum(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer s.Close()
	w, _ := s.Create([]byte("m"))
	w.Write(bytes.Repeat([]byte("x"), 200<<10))
	ref, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(ref.seg.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("y"), ref.data+100<<10)
	f.Close()
	if _, err := ref.Section(); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("changed record read without error: %v", err)
	}
}
