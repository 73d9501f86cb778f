package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustOpen(t *testing.T, dir string, opt Options) *Spool {
	t.Helper()
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAppendReadDone(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	ref, err := s.Append([]byte(`{"env":1}`), []byte("Subject: a\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	meta, raw, err := ref.Read()
	if err != nil || string(meta) != `{"env":1}` || string(raw) != "Subject: a\r\n\r\nbody\r\n" {
		t.Fatalf("read back %q %q %v", meta, raw, err)
	}
	if ref.Size() != len(raw) {
		t.Fatalf("size %d", ref.Size())
	}
	ref.Done()
	ref.Done() // idempotent
	s.Close()
	// the current segment had no live record left: nothing to find again
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	if p := s.Pending(); len(p) != 0 {
		t.Fatalf("%d records found after all were done", len(p))
	}
	if segs := s.Segments(); len(segs) != 0 {
		t.Fatalf("segments left: %v", segs)
	}
}

// TestReopenFindsWhatIsNotDone: records not done survive Close (and a crash: nothing
// more than the fsync is needed) and come back in order; done ones that share a segment
// with them come back too, for their owner to take as duplicates.
func TestReopenFindsWhatIsNotDone(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentSize: 300})
	var refs []*Ref
	for i := range 10 {
		ref, err := s.Append(fmt.Appendf(nil, "m%d", i), bytes.Repeat([]byte{byte('a' + i)}, 100))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if n := len(s.Segments()); n < 4 {
		t.Fatalf("%d segments for 10 records of 118 bytes at 300 a segment", n)
	}
	// done: 0-3 (their segments go), and 5; left: 4, 6-9
	for _, i := range []int{0, 1, 2, 3, 5} {
		refs[i].Done()
	}
	s.Close()

	s = mustOpen(t, dir, Options{SegmentSize: 300})
	defer s.Close()
	var got []string
	for _, ref := range s.Pending() {
		meta, raw, err := ref.Read()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 100 || raw[0] != 'a'+meta[1]-'0' {
			t.Fatalf("record %s holds %q", meta, raw[:5])
		}
		got = append(got, string(meta))
	}
	// 0-3 gone with their segments; 4 and 5 share one
	want := []string{"m4", "m5", "m6", "m7", "m8", "m9"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	if p := s.Pending(); p != nil {
		t.Fatalf("Pending twice: %d", len(p))
	}
}

// TestTornTail: a last record cut short or damaged (a crash during its write, never
// acknowledged) is set aside without failing Open, and the records before it are kept.
func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		hurt func(b []byte) []byte
		want int
	}{
		{"cut in the raw bytes", func(b []byte) []byte { return b[:len(b)-10] }, 2},
		{"cut in the header", func(b []byte) []byte { return b[:len(b)-110] }, 2},
		{"flipped byte", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, 2},
		{"garbage header", func(b []byte) []byte { copy(b[len(b)-116:], "XXXX"); return b }, 2},
		{"zeros after", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			for i := range 3 {
				if _, err := s.Append([]byte{'m', byte('0' + i)}, bytes.Repeat([]byte("x"), 98)); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*"+suffix))
			if len(segs) != 1 {
				t.Fatalf("segments %v", segs)
			}
			b, _ := os.ReadFile(segs[0])
			if err := os.WriteFile(segs[0], tc.hurt(b), 0o640); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, dir, Options{})
			defer s.Close()
			p := s.Pending()
			if len(p) != tc.want {
				t.Fatalf("%d records found, want %d", len(p), tc.want)
			}
			for i, ref := range p {
				if meta, _, err := ref.Read(); err != nil || string(meta) != fmt.Sprintf("m%d", i) {
					t.Fatalf("record %d: %q %v", i, meta, err)
				}
			}
			// appends after a torn tail go to a new segment and survive
			if _, err := s.Append([]byte("new"), []byte("y")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = mustOpen(t, dir, Options{})
			if n := len(s.Pending()); n != tc.want+1 {
				t.Fatalf("after one more append: %d records, want %d", n, tc.want+1)
			}
		})
	}
}

// TestConcurrentAppends: many writers share fsyncs; every acknowledged record reads
// back intact, and segments go once all their records are done.
func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	var syncs int
	var mu sync.Mutex
	s := mustOpen(t, dir, Options{SegmentSize: 64 << 10, Sync: func(f *os.File) error {
		mu.Lock()
		syncs++
		mu.Unlock()
		return f.Sync()
	}})
	const writers, each = 8, 100
	refs := make([][]*Ref, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				raw := bytes.Repeat([]byte{byte(w), byte(i)}, 500+i)
				ref, err := s.Append(fmt.Appendf(nil, "%d/%d", w, i), raw)
				if err != nil {
					t.Error(err)
					return
				}
				refs[w] = append(refs[w], ref)
			}
		})
	}
	wg.Wait()
	if syncs >= writers*each {
		t.Errorf("%d fsyncs for %d records: no group commit", syncs, writers*each)
	}
	t.Logf("%d records, %d fsyncs, %d segments", writers*each, syncs, len(s.Segments()))
	for w := range writers {
		for i, ref := range refs[w] {
			meta, raw, err := ref.Read()
			if err != nil || string(meta) != fmt.Sprintf("%d/%d", w, i) || len(raw) != 2*(500+i) || raw[0] != byte(w) || raw[1] != byte(i) {
				t.Fatalf("record %d/%d: %q (%d bytes) %v", w, i, meta, len(raw), err)
			}
			ref.Done()
		}
	}
	// all done: only the current segment may stay (it is removed at Close)
	if n := len(s.Segments()); n > 1 {
		t.Fatalf("%d segments left with every record done", n)
	}
	s.Close()
	if n := len(s.Segments()); n != 0 {
		t.Fatalf("%d segments left after Close", n)
	}
}

// TestManyWriters: more writers than the request channel holds, on a slow disk, neither
// deadlock nor lose a record.
func TestManyWriters(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{Sync: func(f *os.File) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	}})
	// no deferred Close: a stuck writer would keep it from returning
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 4 * maxBatch {
		wg.Go(func() {
			for j := range 3 {
				if ref, err := s.Append(fmt.Appendf(nil, "%d/%d", i, j), []byte("x")); err == nil {
					ref.Done()
					ok.Add(1)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("appends stuck")
	}
	if ok.Load() != 12*maxBatch {
		t.Fatalf("%d appends of %d", ok.Load(), 12*maxBatch)
	}
	s.Close()
}

// TestSyncFailure: when the fsync fails, the appends it covered fail (the sender gets a
// 4xx and sends again) and the spool goes on in a new segment.
// TestDoneSegmentsGo: once every record of a segment past 1 MiB is done, the next append
// starts a new segment and the old one is removed, so a restart reads little again.
func TestDoneSegmentsGo(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	defer s.Close()
	raw := bytes.Repeat([]byte("z"), 300<<10)
	for i := range 12 {
		ref, err := s.Append([]byte{byte(i)}, raw)
		if err != nil {
			t.Fatal(err)
		}
		ref.Done()
	}
	// 12 × 300 KiB, each done before the next: a new segment every 4 records at most
	if segs := s.Segments(); len(segs) != 1 {
		t.Fatalf("segments %v, want only the current one", segs)
	}
	if fi, err := os.Stat(filepath.Join(dir, s.Segments()[0])); err != nil || fi.Size() > 1<<20+300<<10+64 {
		t.Fatalf("current segment: %v %v", fi.Size(), err)
	}
}

func TestSyncFailure(t *testing.T) {
	dir := t.TempDir()
	fail := true
	s := mustOpen(t, dir, Options{Sync: func(f *os.File) error {
		if fail {
			return errors.New("EIO")
		}
		return f.Sync()
	}})
	if _, err := s.Append([]byte("a"), []byte("1")); err == nil {
		t.Fatal("append acknowledged without its fsync")
	}
	fail = false
	before := s.Segments()
	ref, err := s.Append([]byte("b"), []byte("2"))
	if err != nil {
		t.Fatal(err)
	}
	// the failed segment is left for a new one, and removed: it holds nothing acknowledged
	if after := s.Segments(); len(before) != 1 || len(after) != 1 || after[0] == before[0] {
		t.Fatalf("segments %v, then %v", before, after)
	}
	if _, raw, err := ref.Read(); err != nil || string(raw) != "2" {
		t.Fatalf("read %q %v", raw, err)
	}
	s.Close()
}

func TestOneProcessPerFolder(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a second Open on the same folder succeeded")
	}
	s.Close()
	if _, err := s.Append(nil, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	s2 := mustOpen(t, dir, Options{})
	s2.Close()
}

func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{2 << 10, 200 << 10} {
		b.Run(fmt.Sprintf("%dKB_8writers", size>>10), func(b *testing.B) {
			s := mustOpenB(b)
			defer s.Close()
			raw := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			b.SetParallelism(4) // 8 writers on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ref, err := s.Append([]byte(`{"env":{}}`), raw)
					if err != nil {
						b.Error(err)
						return
					}
					ref.Done()
				}
			})
		})
	}
}

func mustOpenB(b *testing.B) *Spool {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
