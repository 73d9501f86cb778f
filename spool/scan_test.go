package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// written is a spool folder holding one segment that the spool wrote, and where each of
// its records begins.
type written struct {
	dir, path string
	b         []byte  // the segment's bytes
	offs      []int64 // each record's header offset
	metas     []string
}

// writeRecords appends n records of different sizes to a new spool and reads back its
// one segment.
func writeRecords(t *testing.T, n int) written {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	w := written{dir: dir}
	off := int64(segHeaderSize)
	for i := range n {
		meta := fmt.Sprintf(`{"m":%d}`, i)
		raw := bytes.Repeat([]byte{byte('a' + i)}, 40+37*i)
		if _, err := s.Append([]byte(meta), raw); err != nil {
			t.Fatal(err)
		}
		w.offs = append(w.offs, off)
		w.metas = append(w.metas, meta)
		off += int64(recHeaderSize + len(meta) + len(raw))
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	w.path = segs[0]
	b, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != off {
		t.Fatalf("segment of %d bytes, want %d", len(b), off)
	}
	w.b = b
	return w
}

// reopen writes b as the segment, opens the spool and returns what it found: the metas
// of the records (each read back and checked) and what it set aside.
func (w written) reopen(t *testing.T, b []byte, opt Options) (*Spool, []string, []Bad) {
	t.Helper()
	if err := os.WriteFile(w.path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, w.dir, opt)
	t.Cleanup(func() { s.Close() })
	var metas []string
	for _, ref := range s.Pending() {
		meta, raw, err := ref.Read()
		if err != nil {
			t.Fatal(err)
		}
		var i int
		if _, err := fmt.Sscanf(string(meta), `{"m":%d}`, &i); err != nil || !bytes.Equal(raw, bytes.Repeat([]byte{byte('a' + i)}, 40+37*i)) {
			t.Fatalf("record %q holds %d bytes %.10q", meta, len(raw), raw)
		}
		metas = append(metas, string(meta))
	}
	return s, metas, s.SetAside()
}

// TestDamageIsSetAside: damage at each place of a real segment costs only the records it
// touches. The scan goes on at the next good record, every later one is kept, and the
// damaged bytes are reported and copied to corrupt/ as they were.
func TestDamageIsSetAside(t *testing.T) {
	garbage := []byte("GSR2\x00\x00\x00\x01junk between records\xff\xfe")
	for _, tc := range []struct {
		name   string
		hurt   func(w written) []byte
		keep   []int
		reason string
		bad    func(w written, size int64) [][2]int64
	}{
		{"length in a header", func(w written) []byte { w.b[w.offs[2]+8] ^= 0x40; return w.b },
			[]int{0, 1, 3, 4, 5}, reasonHeader, between(2, 3)},
		{"length of 1 GiB in a header", func(w written) []byte {
			binary.LittleEndian.PutUint32(w.b[w.offs[2]+8:], 1<<30)
			return w.b
		}, []int{0, 1, 3, 4, 5}, reasonHeader, between(2, 3)},
		{"byte of a payload", func(w written) []byte { w.b[w.offs[2]+recHeaderSize+30] ^= 1; return w.b },
			[]int{0, 1, 3, 4, 5}, reasonChecksum, between(2, 3)},
		{"payload checksum", func(w written) []byte { w.b[w.offs[2]+13] ^= 0x80; return w.b },
			[]int{0, 1, 3, 4, 5}, reasonHeader, between(2, 3)},
		{"header checksum", func(w written) []byte { w.b[w.offs[2]+19] ^= 4; return w.b },
			[]int{0, 1, 3, 4, 5}, reasonHeader, between(2, 3)},
		{"first record's magic", func(w written) []byte { w.b[w.offs[0]] = 'X'; return w.b },
			[]int{1, 2, 3, 4, 5}, reasonHeader, between(0, 1)},
		{"two records", func(w written) []byte {
			w.b[w.offs[1]+recHeaderSize+3] ^= 1
			w.b[w.offs[4]+5] ^= 1
			return w.b
		}, []int{0, 2, 3, 5}, reasonChecksum, func(w written, size int64) [][2]int64 {
			return [][2]int64{{w.offs[1], w.offs[2]}, {w.offs[4], w.offs[5]}}
		}},
		{"tail cut in a payload", func(w written) []byte { return w.b[:w.offs[5]+recHeaderSize+30] },
			[]int{0, 1, 2, 3, 4}, reasonCut, toEnd(5)},
		{"tail cut in a header", func(w written) []byte { return w.b[:w.offs[5]+7] },
			[]int{0, 1, 2, 3, 4}, reasonCut, toEnd(5)},
		{"run of zeros over two records", func(w written) []byte {
			clear(w.b[w.offs[2]+10 : w.offs[3]+15])
			return w.b
		}, []int{0, 1, 4, 5}, reasonHeader, between(2, 4)},
		{"zeros after the last record", func(w written) []byte { return append(w.b, make([]byte, 4096)...) },
			[]int{0, 1, 2, 3, 4, 5}, reasonHeader, func(w written, size int64) [][2]int64 {
				return [][2]int64{{int64(len(w.b)), size}}
			}},
		{"garbage between records", func(w written) []byte {
			return slices.Insert(w.b, int(w.offs[3]), garbage...)
		}, []int{0, 1, 2, 3, 4, 5}, reasonHeader, func(w written, size int64) [][2]int64 {
			return [][2]int64{{w.offs[3], w.offs[3] + int64(len(garbage))}}
		}},
		{"segment header's magic", func(w written) []byte { w.b[1] = 'X'; return w.b },
			[]int{0, 1, 2, 3, 4, 5}, reasonSegHeader, func(w written, size int64) [][2]int64 {
				return [][2]int64{{0, segHeaderSize}}
			}},
		{"segment header's salt", func(w written) []byte { w.b[9] ^= 1; return w.b },
			nil, reasonSegHeader, func(w written, size int64) [][2]int64 { return [][2]int64{{0, size}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := writeRecords(t, 6)
			hurt := tc.hurt(w)
			damaged := slices.Clone(hurt)
			s, metas, bad := w.reopen(t, hurt, Options{})
			var want []string
			for _, i := range tc.keep {
				want = append(want, w.metas[i])
			}
			if fmt.Sprint(metas) != fmt.Sprint(want) {
				t.Fatalf("records %v, want %v", metas, want)
			}
			wantBad := tc.bad(w, int64(len(damaged)))
			if len(bad) != len(wantBad) {
				t.Fatalf("set aside %+v, want ranges %v", bad, wantBad)
			}
			for i, b := range bad {
				if b.Segment != filepath.Base(w.path) || b.Offset != wantBad[i][0] || b.Offset+b.Length != wantBad[i][1] || (i == 0 && b.Reason != tc.reason) {
					t.Fatalf("set aside %+v, want [%d, %d) %q", b, wantBad[i][0], wantBad[i][1], tc.reason)
				}
				cp, err := os.ReadFile(b.Copy)
				if err != nil || !bytes.Equal(cp, damaged[b.Offset:b.Offset+b.Length]) {
					t.Fatalf("copy %s: %d bytes, %v", b.Copy, len(cp), err)
				}
				if b.Tail != (b.Offset+b.Length == int64(len(damaged)) && b.Reason != reasonSegHeader) {
					t.Fatalf("set aside %+v: Tail wrong", b)
				}
				if filepath.Dir(b.Copy) != filepath.Join(w.dir, "corrupt") {
					t.Fatalf("copy at %s", b.Copy)
				}
			}
			// a new append goes to a new segment; everything kept is found again, and the
			// damage set aside again under the same names (not a second copy)
			if _, err := s.Append([]byte(`{"m":0}`), bytes.Repeat([]byte("a"), 40)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			copies, _ := os.ReadDir(filepath.Join(w.dir, "corrupt"))
			s = mustOpen(t, w.dir, Options{})
			defer s.Close()
			if n := len(s.Pending()); n != len(tc.keep)+1 {
				t.Fatalf("after one more append: %d records, want %d", n, len(tc.keep)+1)
			}
			again, _ := os.ReadDir(filepath.Join(w.dir, "corrupt"))
			if len(tc.keep) > 0 && (len(s.SetAside()) != len(bad) || len(again) != len(copies)) {
				t.Fatalf("second open: set aside %d (%d copies), first %d (%d copies)", len(s.SetAside()), len(again), len(bad), len(copies))
			}
		})
	}
}

// between is the bad range from record i's header to record j's.
func between(i, j int) func(w written, size int64) [][2]int64 {
	return func(w written, size int64) [][2]int64 { return [][2]int64{{w.offs[i], w.offs[j]}} }
}

// toEnd is the bad range from record i's header to the end of the segment.
func toEnd(i int) func(w written, size int64) [][2]int64 {
	return func(w written, size int64) [][2]int64 { return [][2]int64{{w.offs[i], size}} }
}

// TestSegmentWithoutRecordGoes: a segment whose every record is damaged is removed once
// its bytes are set aside; an empty file (killed before its header) goes silently.
func TestSegmentWithoutRecordGoes(t *testing.T) {
	w := writeRecords(t, 2)
	b := slices.Clone(w.b)
	b[w.offs[0]+recHeaderSize] ^= 1
	b[w.offs[1]+recHeaderSize] ^= 1
	empty := filepath.Join(w.dir, fmt.Sprintf("%016d%s", 99, suffix))
	if err := os.WriteFile(empty, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	s, metas, bad := w.reopen(t, b, Options{})
	if len(metas) != 0 || len(bad) != 1 || bad[0].Offset != w.offs[0] || bad[0].Length != int64(len(b))-w.offs[0] {
		t.Fatalf("records %v, set aside %+v", metas, bad)
	}
	if segs := s.Segments(); len(segs) != 0 {
		t.Fatalf("segments left: %v", segs)
	}
	if cp, err := os.ReadFile(bad[0].Copy); err != nil || !bytes.Equal(cp, b[w.offs[0]:]) {
		t.Fatalf("copy: %d bytes, %v", len(cp), err)
	}
}

// TestRecordInsideMessageNotTaken: a message may carry, in its raw bytes, something
// shaped like a record with an envelope of the sender's choosing. When the record that
// holds it is damaged, the scan searches those bytes for the next record: the one in
// the message does not check (its header checksum lacks the segment's salt), so it is
// set aside with the rest, not handed out.
func TestRecordInsideMessageNotTaken(t *testing.T) {
	var forged []byte
	for _, k := range []salt{{}, {1, 2, 3, 4, 5, 6, 7, 8}} {
		meta, raw := []byte(`{"env":{"From":"agent@ecole.test","RemoteAddr":"10.0.0.1:25"}}`), []byte("Subject: forged\r\n\r\nx\r\n")
		h := make([]byte, recHeaderSize)
		putRecHeader(h, &k, len(meta), len(raw), payloadCRC(meta, raw))
		forged = append(append(append(forged, h...), meta...), raw...)
	}
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	for i, raw := range [][]byte{[]byte("first"), append([]byte("Subject: hi\r\n\r\n"), forged...), []byte("last")} {
		if _, err := s.Append(fmt.Appendf(nil, "m%d", i), raw); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, s.Segments()[0])
	b, _ := os.ReadFile(path)
	second := int64(segHeaderSize + recHeaderSize + 2 + 5)
	b[second+4] ^= 1 // the message's record: its meta length
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	var got []string
	for _, ref := range s.Pending() {
		meta, _, err := ref.Read()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(meta))
	}
	if fmt.Sprint(got) != "[m0 m2]" {
		t.Fatalf("records %q, want m0 and m2 only", got)
	}
	if bad := s.SetAside(); len(bad) != 1 || bad[0].Offset != second || bad[0].Length != int64(recHeaderSize+2+15+len(forged)) {
		t.Fatalf("set aside %+v", bad)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeLengthAllocatesNothing: a header that claims 1 GiB (with a header checksum that
// holds, as a writer with a larger limit would leave it) is refused by its length before
// any byte of its payload is read: Open allocates a few buffers, not the length, and
// finds the record after it.
func TestHugeLengthAllocatesNothing(t *testing.T) {
	w := writeRecords(t, 3)
	b := slices.Clone(w.b)
	h := b[w.offs[1] : w.offs[1]+recHeaderSize]
	ml, _, crc, ok := parseRecHeader(h, saltOf(t, b))
	if !ok {
		t.Fatal("record header does not check")
	}
	putRecHeader(h, saltOf(t, b), int(ml), 1<<30, crc)
	if err := os.WriteFile(w.path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	var s *Spool
	n := allocated(func() { s = mustOpen(t, w.dir, Options{MaxMessageSize: 4096}) })
	defer s.Close()
	if n > 1<<20 {
		t.Fatalf("Open allocated %d bytes for a segment of %d", n, len(b))
	}
	if p, bad := s.Pending(), s.SetAside(); len(p) != 2 || len(bad) != 1 || bad[0].Reason != reasonTooLong || bad[0].Offset != w.offs[1] {
		t.Fatalf("%d records, set aside %+v", len(p), bad)
	}
}

func saltOf(t *testing.T, seg []byte) *salt {
	t.Helper()
	_, k, ok := parseSegHeader(seg)
	if !ok {
		t.Fatal("segment header does not check")
	}
	return &k
}

// TestLowerLimitSetsAsideWhole: a message the spool took under a larger
// --max-message-size is over the limit after a restart with a smaller one: it is set
// aside whole (header, envelope and message, to be taken by hand), and the records
// around it are kept.
func TestLowerLimitSetsAsideWhole(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	big := bytes.Repeat([]byte("B"), 100<<10)
	for i, raw := range [][]byte{[]byte("small"), big, []byte("small")} {
		if _, err := s.Append(fmt.Appendf(nil, "m%d", i), raw); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = mustOpen(t, dir, Options{MaxMessageSize: 1024})
	defer s.Close()
	bad := s.SetAside()
	if n := len(s.Pending()); n != 2 || len(bad) != 1 || bad[0].Reason != reasonTooLong {
		t.Fatalf("%d records, set aside %+v", n, bad)
	}
	cp, err := os.ReadFile(bad[0].Copy)
	if err != nil || len(cp) != recHeaderSize+2+len(big) || !bytes.HasSuffix(cp, big) {
		t.Fatalf("copy of %d bytes, %v", len(cp), err)
	}
}

// TestAppendLimit: Append refuses what Open would not believe.
func TestAppendLimit(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{MaxMessageSize: 1024})
	defer s.Close()
	if _, err := s.Append(nil, make([]byte, 1024+rawSlack)); err != nil {
		t.Fatalf("message at the limit: %v", err)
	}
	if _, err := s.Append(nil, make([]byte, 1024+rawSlack+1)); err == nil {
		t.Fatal("message over the limit taken")
	}
	if _, err := s.Append(make([]byte, maxMeta+1), []byte("x")); err == nil {
		t.Fatal("meta over the limit taken")
	}
	// a header's lengths are 32 bits: a larger maximum cannot make one wrap
	if l := limitsOf(Options{MaxMessageSize: 1 << 40}); l.fits(0, 1<<32) || !l.fits(0, 1<<32-1) {
		t.Fatalf("limits %+v", l)
	}
}

// TestReadChecksRecord: a record changed on disk after it was written is not handed out
// as it is by Read.
func TestReadChecksRecord(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	defer s.Close()
	ref, err := s.Append([]byte("m"), []byte("Subject: a\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, s.Segments()[0]), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), segHeaderSize+recHeaderSize+5)
	f.Close()
	if _, _, err := ref.Read(); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("read of a changed record: %v", err)
	}
}

// TestNewerFormatRefused: a segment from a newer version (after a downgrade) stops Open
// with a clear error rather than being set aside as damage.
func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	h := segHeader(salt{})
	h[4] = segVersion + 1
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(h[:16], castagnoli))
	path := filepath.Join(dir, fmt.Sprintf("%016d%s", 1, suffix))
	if err := os.WriteFile(path, append(h, "GSR3 some record"...), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("segment gone: %v", err)
	}
}
