package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// limits bound the lengths of a record: Append refuses longer ones, and Open believes
// no header that claims more.
type limits struct{ meta, raw int64 }

func limitsOf(opt Options) limits {
	// a header holds 32-bit lengths
	return limits{meta: maxMeta, raw: min(opt.MaxMessageSize, math.MaxUint32-rawSlack) + rawSlack}
}

func (l limits) fits(metaLen, rawLen int64) bool { return metaLen <= l.meta && rawLen <= l.raw }

// Bad is a range of a segment file that held no valid record, which Open copied to a
// file of the corrupt/ folder before going on with the next valid record.
type Bad struct {
	Segment string // the segment file's name
	Offset  int64  // where the range begins in it
	Length  int64
	Reason  string // what was wrong with the range's first bytes
	Copy    string // the path of the copy
	// Tail is set when the range runs to the end of its segment from a record (not from
	// the segment header): what a crash leaves of a write it interrupted, never
	// acknowledged (or damage there).
	Tail bool
}

// Why a range holds no valid record.
const (
	reasonCut       = "cut short by the end of the segment"
	reasonHeader    = "no valid record header"
	reasonChecksum  = "payload checksum mismatch"
	reasonTooLong   = "length over the maximum message size"
	reasonSegHeader = "segment header unreadable"
)

// SetAside returns the ranges that Open found damaged and set aside, for the operator's
// log and metrics. Each is a file under the corrupt/ folder, left there for inspection.
func (s *Spool) SetAside() []Bad {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.setAside)
}

// load reads every segment left by an earlier run, and sets aside what holds no valid
// record. Each segment is sealed: appends go to new files, so a torn tail is never
// written after.
func (s *Spool) load() error {
	if err := s.removeParts(); err != nil {
		return err
	}
	names, err := filepath.Glob(filepath.Join(s.dir, "*"+suffix))
	if err != nil {
		return fmt.Errorf("spool: list segments: %w", err)
	}
	type numbered struct {
		num  uint64
		path string
	}
	var segs []numbered
	for _, p := range names {
		n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(p), suffix), 10, 64)
		if err != nil {
			continue // not ours
		}
		segs = append(segs, numbered{n, p})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].num < segs[j].num })
	for _, n := range segs {
		s.next = max(s.next, n.num+1)
		if err := s.loadSegment(n.num, n.path); err != nil {
			return err
		}
	}
	if len(s.setAside) > 0 {
		return syncDir(filepath.Join(s.dir, "corrupt"))
	}
	return nil
}

// loadSegment scans one segment, copies its damaged ranges aside, and keeps its records
// (or removes it when it holds none).
func (s *Spool) loadSegment(num uint64, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("spool: open segment: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: stat segment: %w", err)
	}
	res, err := scanSegment(f, fi.Size(), s.lim)
	if err == nil && res.newer != 0 {
		err = fmt.Errorf("format version %d is newer than this program reads (%d): run the newer version until the spool is empty", res.newer, segVersion)
	}
	if err == nil {
		err = s.setAsideRanges(f, path, fi.Size(), res.bad)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: read %s: %w", path, err)
	}
	if len(res.records) == 0 {
		f.Close()
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("spool: remove segment without records: %w", err)
		}
		return nil
	}
	seg := &segment{s: s, num: num, path: path, f: f, size: fi.Size(), sealed: true, live: len(res.records)}
	for _, r := range res.records {
		s.pending = append(s.pending, &Ref{seg: seg, data: r.data, metaLen: r.metaLen, rawLen: r.rawLen, crc: r.crc})
	}
	return nil
}

// setAsideRanges copies each bad range of a segment to a file of its own under corrupt/,
// synced, before the segment can be removed. The names are stable, so that a segment
// scanned again after a crash overwrites its copies rather than adding more.
func (s *Spool) setAsideRanges(f *os.File, path string, size int64, bad []badRange) error {
	if len(bad) == 0 {
		return nil
	}
	dir := filepath.Join(s.dir, "corrupt")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	base := filepath.Base(path)
	for _, b := range bad {
		cp := filepath.Join(dir, fmt.Sprintf("%s-%d.bad", strings.TrimSuffix(base, suffix), b.off))
		if err := copyRange(f, b.off, b.end-b.off, cp); err != nil {
			return err
		}
		s.setAside = append(s.setAside, Bad{Segment: base, Offset: b.off, Length: b.end - b.off, Reason: b.reason, Copy: cp, Tail: b.end == size && b.reason != reasonSegHeader})
	}
	return nil
}

func copyRange(f *os.File, off, n int64, path string) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("set aside: %w", err)
	}
	_, err = io.Copy(out, io.NewSectionReader(f, off, n))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set aside to %s: %w", path, err)
	}
	return nil
}

// found is a valid record found by a scan.
type found struct {
	data            int64 // offset of its meta
	metaLen, rawLen int
	crc             uint32
}

// badRange is a range of a segment, [off, end), that holds no valid record.
type badRange struct {
	off, end int64
	reason   string
}

// scanResult is what a scan found in one segment.
type scanResult struct {
	records []found
	bad     []badRange
	newer   byte // the segment's format version when newer than this code reads
}

// window is the size of the one buffer a scan reads through, whatever the lengths.
const window = 64 << 10

// scanner reads a segment through a window, so that neither a record's length nor the
// segment's size decides what it allocates.
type scanner struct {
	r      io.ReaderAt
	size   int64
	lim    limits
	buf    []byte // the bytes at winOff
	winOff int64
	err    error // the first read error: ends the scan
	res    scanResult
}

// scanSegment reads the records of a segment of size bytes and the ranges between them
// that hold none. Only a read error fails it.
func scanSegment(r io.ReaderAt, size int64, lim limits) (scanResult, error) {
	sc := &scanner{r: r, size: size, lim: lim, buf: make([]byte, 0, window)}
	head := sc.at(0, segHeaderSize)
	switch version, k, ok := parseSegHeader(head); {
	case size == 0 || sc.err != nil:
		// created, killed before its header was written: never held a record
	case len(head) >= 4 && string(head[:4]) == v1Magic:
		sc.scanV1()
	case !ok && len(head) < segHeaderSize:
		sc.res.bad = append(sc.res.bad, badRange{0, size, reasonCut})
	case !ok || version < segVersion:
		sc.damagedHeader(head)
	case version > segVersion:
		sc.res.newer = version
	default:
		sc.scanV2(&k)
	}
	if sc.err != nil {
		return scanResult{}, sc.err
	}
	return sc.res, nil
}

// damagedHeader reads a version 2 segment whose header does not check. When the damage
// spared its salt, the records' own checksums prove it: they are read, and the header
// alone is set aside. Otherwise the whole segment is.
func (sc *scanner) damagedHeader(head []byte) {
	var k salt
	copy(k[:], head[8:16])
	sc.scanV2(&k)
	if len(sc.res.records) == 0 {
		sc.res.bad = []badRange{{0, sc.size, reasonSegHeader}}
		return
	}
	if len(sc.res.bad) > 0 && sc.res.bad[0].off == segHeaderSize {
		sc.res.bad[0].off, sc.res.bad[0].reason = 0, reasonSegHeader
	} else {
		sc.res.bad = slices.Insert(sc.res.bad, 0, badRange{0, segHeaderSize, reasonSegHeader})
	}
}

// scanV2 reads records from the end of the segment header to the end of the segment.
// After a record that does not check it goes on at the next place where a record magic
// begins and the record checks: never inside a record that checked, and never at a
// record inside a message's bytes, whose header checksum cannot match the segment's salt.
func (sc *scanner) scanV2(k *salt) {
	off := int64(segHeaderSize)
	bad := badRange{off: -1}
	for off < sc.size && sc.err == nil {
		rec, reason := sc.recordV2(off, k)
		if reason != "" {
			if bad.off < 0 {
				bad = badRange{off: off, reason: reason}
			}
			off = sc.find(off+1, recMagicBytes)
			continue
		}
		if bad.off >= 0 {
			bad.end = off
			sc.res.bad = append(sc.res.bad, bad)
			bad.off = -1
		}
		sc.res.records = append(sc.res.records, rec)
		off = rec.data + int64(rec.metaLen) + int64(rec.rawLen)
	}
	if bad.off >= 0 {
		bad.end = sc.size
		sc.res.bad = append(sc.res.bad, bad)
	}
}

// recordV2 checks the record at off, or says why it does not check. A payload is read
// only once its header checks and its lengths are within the limits.
func (sc *scanner) recordV2(off int64, k *salt) (found, string) {
	h := sc.at(off, recHeaderSize)
	if len(h) < recHeaderSize {
		return found{}, reasonCut
	}
	ml, rl, crc, ok := parseRecHeader(h, k)
	if !ok {
		return found{}, reasonHeader
	}
	end := off + recHeaderSize + int64(ml) + int64(rl)
	switch {
	case !sc.lim.fits(int64(ml), int64(rl)):
		return found{}, reasonTooLong
	case end > sc.size:
		return found{}, reasonCut
	case sc.crc(off+recHeaderSize, end) != crc:
		return found{}, reasonChecksum
	}
	return found{data: off + recHeaderSize, metaLen: int(ml), rawLen: int(rl), crc: crc}, ""
}

// scanV1 reads the records of a segment in format version 1 up to its first bad one,
// and sets the rest aside whole: without a salted header checksum, a search for the
// next record could take one that a sender wrote inside a message.
func (sc *scanner) scanV1() {
	for off := int64(0); off < sc.size && sc.err == nil; {
		reason := reasonCut
		var ml, rl uint32
		var end int64
		h := sc.at(off, v1HeaderSize)
		if len(h) == v1HeaderSize {
			ml, rl = binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:])
			crc := binary.LittleEndian.Uint32(h[12:])
			end = off + v1HeaderSize + int64(ml) + int64(rl)
			switch {
			case string(h[:4]) != v1Magic:
				reason = reasonHeader
			case !sc.lim.fits(int64(ml), int64(rl)):
				reason = reasonTooLong
			case end > sc.size:
			case sc.crc(off+v1HeaderSize, end) != crc:
				reason = reasonChecksum
			default:
				sc.res.records = append(sc.res.records, found{data: off + v1HeaderSize, metaLen: int(ml), rawLen: int(rl), crc: crc})
				off = end
				continue
			}
		}
		sc.res.bad = append(sc.res.bad, badRange{off, sc.size, reason})
		return
	}
}

// at returns the n bytes (n <= window) at off, fewer only at the end of the segment or
// after a read error.
func (sc *scanner) at(off int64, n int) []byte {
	if off >= sc.size {
		return nil
	}
	end := min(off+int64(n), sc.size)
	if off >= sc.winOff && end <= sc.winOff+int64(len(sc.buf)) {
		return sc.buf[off-sc.winOff : end-sc.winOff]
	}
	if sc.err != nil {
		return nil
	}
	m, err := sc.r.ReadAt(sc.buf[:cap(sc.buf)], off)
	if err != nil && !errors.Is(err, io.EOF) {
		sc.err = err
		return nil
	}
	sc.buf, sc.winOff = sc.buf[:m], off
	return sc.buf[:min(int64(m), end-off)]
}

// crc is the checksum of the bytes [from, end), read through the window.
func (sc *scanner) crc(from, end int64) uint32 {
	var c uint32
	for p := from; p < end; {
		w := sc.at(p, int(min(end-p, window)))
		if len(w) == 0 {
			break
		}
		c = crc32.Update(c, castagnoli, w)
		p += int64(len(w))
	}
	return c
}

// find returns the offset of the first magic at or after from, or the segment's size.
func (sc *scanner) find(from int64, magic []byte) int64 {
	for p := from; p < sc.size; {
		w := sc.at(p, window)
		if i := bytes.Index(w, magic); i >= 0 {
			return p + int64(i)
		}
		if len(w) < len(magic) || p+int64(len(w)) >= sc.size {
			break
		}
		p += int64(len(w) - len(magic) + 1)
	}
	return sc.size
}
