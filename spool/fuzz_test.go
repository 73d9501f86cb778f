package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fuzzLimits are small, so that lengths past them are common in the fuzzer's inputs.
var fuzzLimits = limits{meta: 256, raw: 4096}

// FuzzSpoolScan reads a segment file of arbitrary bytes. Whatever they are: no panic; each
// record found checks (its lengths within the limits, its payload's checksum) and every
// byte is either in a record found or in a range set aside, in order, none twice; and
// when the bytes begin with a segment header, a valid record appended after them is found
// (unless a record found before it holds it). Seeded with segments the spool wrote.
func FuzzSpoolScan(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seg []byte) {
		var tail found
		_, k, ok := parseSegHeader(seg)
		if ok {
			meta, raw := []byte(`{"m":"tail"}`), []byte("Subject: tail\r\n\r\nthe last one\r\n")
			h := make([]byte, recHeaderSize)
			putRecHeader(h, &k, len(meta), len(raw), payloadCRC(meta, raw))
			tail = found{data: int64(len(seg) + recHeaderSize), metaLen: len(meta), rawLen: len(raw)}
			seg = append(append(append(slices.Clip(seg), h...), meta...), raw...)
		}
		size := int64(len(seg))
		res, err := scanSegment(bytes.NewReader(seg), size, fuzzLimits)
		if err != nil {
			t.Fatalf("scan of bytes in memory: %v", err)
		}
		if res.newer != 0 {
			return
		}
		type span struct {
			off, end int64
			what     string
		}
		var spans []span
		hdr := int64(recHeaderSize)
		if len(seg) >= 4 && string(seg[:4]) == v1Magic {
			hdr = v1HeaderSize
		}
		for _, r := range res.records {
			end := r.data + int64(r.metaLen) + int64(r.rawLen)
			if !fuzzLimits.fits(int64(r.metaLen), int64(r.rawLen)) || r.data < hdr || end > size {
				t.Fatalf("record %+v in %d bytes: over the limits or out of the segment", r, size)
			}
			if payloadCRC(seg[r.data:end], nil) != r.crc {
				t.Fatalf("record %+v: checksum does not hold", r)
			}
			if hdr == recHeaderSize {
				// the salt, read from the segment header even where that does not check
				var k salt
				copy(k[:], seg[8:16])
				if _, _, _, ok := parseRecHeader(seg[r.data-hdr:r.data], &k); !ok {
					t.Fatalf("record %+v: header does not check", r)
				}
			}
			spans = append(spans, span{r.data - hdr, end, "record"})
		}
		for _, b := range res.bad {
			if b.off >= b.end || b.reason == "" {
				t.Fatalf("bad range %+v", b)
			}
			spans = append(spans, span{b.off, b.end, "bad"})
		}
		slices.SortFunc(spans, func(a, b span) int { return int(a.off - b.off) })
		if len(spans) > 0 {
			if first := spans[0].off; first != 0 && !(ok && first == segHeaderSize) {
				t.Fatalf("first %s at %d", spans[0].what, first)
			}
			for i := 1; i < len(spans); i++ {
				if spans[i].off != spans[i-1].end {
					t.Fatalf("%s [%d, %d) then %s at %d: a gap or an overlap", spans[i-1].what, spans[i-1].off, spans[i-1].end, spans[i].what, spans[i].off)
				}
			}
			if last := spans[len(spans)-1].end; last != size {
				t.Fatalf("last span ends at %d of %d", last, size)
			}
		} else if size != 0 && !(ok && size == segHeaderSize) {
			t.Fatalf("%d bytes: nothing found, nothing set aside", size)
		}
		if ok && !slices.ContainsFunc(res.records, func(r found) bool {
			return r.data == tail.data || (r.data < tail.data && r.data+int64(r.metaLen+r.rawLen) > tail.data-recHeaderSize)
		}) {
			t.Fatalf("the valid record appended at %d was not found: records %+v, bad %+v", tail.data-recHeaderSize, res.records, res.bad)
		}
	})
}

// fuzzSeeds returns segments the spool wrote (a version 2 segment of a few records,
// one with a damaged record, one cut short), and a version 1 segment.
func fuzzSeeds(f *testing.F) [][]byte {
	dir := f.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 4 {
		if _, err := s.Append(fmt.Appendf(nil, `{"m":%d}`, i), bytes.Repeat([]byte{'a' + byte(i)}, 20*i+3)); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	seg, err := os.ReadFile(filepath.Join(dir, s.Segments()[0]))
	if err != nil {
		f.Fatal(err)
	}
	damaged := slices.Clone(seg)
	damaged[segHeaderSize+recHeaderSize+3] ^= 1
	var v1 []byte
	for i := range 3 {
		v1 = append(v1, v1Record(fmt.Appendf(nil, "old%d", i), []byte("raw"))...)
	}
	return [][]byte{seg, damaged, seg[:len(seg)-9], seg[:segHeaderSize], v1, nil}
}
