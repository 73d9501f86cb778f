package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// v1Record encodes a record as the spool's format version 1 wrote it (no segment header,
// 16-byte record headers without a checksum of their own).
func v1Record(meta, raw []byte) []byte {
	h := make([]byte, v1HeaderSize, v1HeaderSize+len(meta)+len(raw))
	copy(h, v1Magic)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(meta)))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(raw)))
	binary.LittleEndian.PutUint32(h[12:], payloadCRC(meta, raw))
	return append(append(h, meta...), raw...)
}

// v1Segment writes a version 1 segment of n records, as a spool left by the previous
// version at an upgrade, and returns its path and each record's offset.
func v1Segment(t *testing.T, dir string, n int) (string, []byte, []int) {
	t.Helper()
	var b []byte
	var offs []int
	for i := range n {
		offs = append(offs, len(b))
		b = append(b, v1Record(fmt.Appendf(nil, "old%d", i), bytes.Repeat([]byte{'o'}, 50+i))...)
	}
	path := filepath.Join(dir, fmt.Sprintf("%016d%s", 7, suffix))
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return path, b, offs
}

// TestReadsVersion1: at an upgrade, the records of a spool left by the previous version
// are found; new ones go to a version 2 segment; the old file goes once its records are
// done.
func TestReadsVersion1(t *testing.T) {
	dir := t.TempDir()
	old, _, _ := v1Segment(t, dir, 3)
	s := mustOpen(t, dir, Options{})
	p := s.Pending()
	for i, ref := range p {
		meta, raw, err := ref.Read()
		if err != nil || string(meta) != fmt.Sprintf("old%d", i) || len(raw) != 50+i {
			t.Fatalf("record %d: %q %d %v", i, meta, len(raw), err)
		}
	}
	if len(p) != 3 || len(s.SetAside()) != 0 {
		t.Fatalf("%d records, set aside %+v", len(p), s.SetAside())
	}
	if _, err := s.Append([]byte("new"), []byte("n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	p = s.Pending()
	if len(p) != 4 {
		t.Fatalf("%d records after an append, want 4", len(p))
	}
	segs := s.Segments()
	if len(segs) != 2 || segs[0] != filepath.Base(old) {
		t.Fatalf("segments %v", segs)
	}
	b, _ := os.ReadFile(filepath.Join(dir, segs[1]))
	if v, _, ok := parseSegHeader(b); !ok || v != segVersion {
		t.Fatalf("new segment begins %q", b[:min(len(b), segHeaderSize)])
	}
	for _, ref := range p[:3] {
		ref.Done()
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("version 1 segment still there with its records done: %v", err)
	}
}

// TestVersion1Damage: in a version 1 segment, the records before the first bad one are
// kept and the rest is set aside whole (without a salted header checksum, a search for
// the next record could take one a sender wrote inside a message); a length of 1 GiB
// allocates nothing.
func TestVersion1Damage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hurt   func(b []byte, offs []int)
		reason string
	}{
		{"payload", func(b []byte, offs []int) { b[offs[1]+v1HeaderSize+6] ^= 1 }, reasonChecksum},
		{"length of 1 GiB", func(b []byte, offs []int) { binary.LittleEndian.PutUint32(b[offs[1]+8:], 1<<30) }, reasonTooLong},
		{"magic", func(b []byte, offs []int) { b[offs[1]] = 'g' }, reasonHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, b, offs := v1Segment(t, dir, 4)
			tc.hurt(b, offs)
			if err := os.WriteFile(path, b, 0o640); err != nil {
				t.Fatal(err)
			}
			var s *Spool
			n := allocated(func() { s = mustOpen(t, dir, Options{MaxMessageSize: 4096}) })
			defer s.Close()
			if n > 1<<20 {
				t.Fatalf("Open allocated %d bytes", n)
			}
			bad := s.SetAside()
			if p := s.Pending(); len(p) != 1 || len(bad) != 1 || bad[0].Offset != int64(offs[1]) ||
				bad[0].Length != int64(len(b)-offs[1]) || bad[0].Reason != tc.reason {
				t.Fatalf("%d records, set aside %+v", len(p), bad)
			}
		})
	}
}
