// Package spool keeps inbound messages durably on disk from the moment they are received
// until the database has taken them: an append-only log of records in segment files.
// Appends are group-committed (the appends waiting are written, then one fsync covers
// them all), so a sender's 250 waits for one fsync of a sequential file and not for a
// database transaction. A record is forgotten once its owner calls Done; a segment file
// whose records are all done is removed. After a crash, Open finds the records of the
// segments left and hands them back (Pending), done or not: their owner must take a
// record it has already taken as a duplicate.
//
// A record on disk is a 16-byte header (magic "GSP1", meta length, raw length, CRC-32C of
// meta and raw, little-endian) followed by meta and raw. A torn or corrupt record ends
// the reading of its segment: it was never acknowledged, since the fsync that would have
// acknowledged it did not complete.
package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

const (
	magic      = "GSP1"
	headerSize = 16
	// DefaultSegmentSize is the size past which appends go to a new segment file.
	DefaultSegmentSize = 16 << 20
	// maxRecord bounds the lengths read from a header, so that a corrupt header cannot
	// make Open allocate gigabytes.
	maxRecord = 1 << 30
	// maxBatch and maxBatchBytes bound what one fsync covers.
	maxBatch      = 256
	maxBatchBytes = 16 << 20
	suffix        = ".spool"
	// rotateDone is the size past which a segment whose records are all done is left
	// for a new one (and removed): what a restart reads again stays small when the
	// database keeps up, without a new file at every message.
	rotateDone = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("spool: closed")

// Options tune a Spool; the zero value is the default.
type Options struct {
	SegmentSize int64 // default DefaultSegmentSize
	// Sync replaces the fsync of a segment (tests inject failures with it).
	Sync func(f *os.File) error
}

// Spool is an open spool folder. Its methods are safe for concurrent use.
type Spool struct {
	dir     string
	opt     Options
	lock    *os.File
	reqs    chan *appendReq
	stop    chan struct{}
	stopped chan struct{}

	closeMu sync.RWMutex
	closed  bool // under closeMu

	mu      sync.Mutex
	pending []*Ref // records found by Open, handed out once by Pending
	next    uint64 // number of the next segment file

	cur *segment // the segment appends go to; only the writer goroutine touches it
}

// segment is one file of the log.
type segment struct {
	s      *Spool
	num    uint64
	path   string
	f      *os.File
	size   int64
	live   int  // records appended or found and not yet done; under Spool.mu
	sealed bool // no more appends: removed once live is 0; under Spool.mu
	broken bool // a write or fsync failed: the writer moves on to a new segment
}

// Ref is one record of the spool.
type Ref struct {
	seg     *segment
	off     int64
	metaLen int
	rawLen  int
	once    sync.Once
}

type appendReq struct {
	meta, raw []byte
	done      chan appendRes
}

type appendRes struct {
	ref *Ref
	err error
}

// Open opens (creating it if needed) the spool folder dir, takes its lock (one process
// per folder), and reads the records its segments hold; Pending returns them.
func Open(dir string, opt Options) (*Spool, error) {
	if opt.SegmentSize <= 0 {
		opt.SegmentSize = DefaultSegmentSize
	}
	if opt.Sync == nil {
		opt.Sync = datasync
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: open lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool: %s is in use by another process: %w", dir, err)
	}
	s := &Spool{dir: dir, opt: opt, lock: lock, reqs: make(chan *appendReq, maxBatch),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// load reads every segment left by an earlier run. Each is sealed: appends go to new
// files, so a torn tail is never written after.
func (s *Spool) load() error {
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
		f, err := os.Open(n.path)
		if err != nil {
			return fmt.Errorf("spool: open segment: %w", err)
		}
		seg := &segment{s: s, num: n.num, path: n.path, f: f, sealed: true}
		refs, size, err := scan(f, seg)
		if err != nil {
			f.Close()
			return fmt.Errorf("spool: read %s: %w", n.path, err)
		}
		seg.size = size
		if len(refs) == 0 {
			f.Close()
			if err := os.Remove(n.path); err != nil {
				return fmt.Errorf("spool: remove empty segment: %w", err)
			}
			continue
		}
		seg.live = len(refs)
		s.pending = append(s.pending, refs...)
	}
	return nil
}

// scan reads the records of one segment up to its end or its first bad record.
func scan(f *os.File, seg *segment) ([]*Ref, int64, error) {
	r := bufio.NewReaderSize(f, 64<<10)
	var refs []*Ref
	var off int64
	hdr := make([]byte, headerSize)
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return refs, off, nil
			}
			return nil, 0, err
		}
		ml, rl := binary.LittleEndian.Uint32(hdr[4:]), binary.LittleEndian.Uint32(hdr[8:])
		if string(hdr[:4]) != magic || uint64(ml)+uint64(rl) > maxRecord {
			return refs, off, nil
		}
		n := int(ml) + int(rl)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return refs, off, nil
			}
			return nil, 0, err
		}
		if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(hdr[12:]) {
			return refs, off, nil
		}
		refs = append(refs, &Ref{seg: seg, off: off, metaLen: int(ml), rawLen: int(rl)})
		off += int64(headerSize + n)
	}
}

// Pending returns, once, the records that Open found, oldest first. Each must be
// marked Done once taken (or left, to be found again at the next Open).
func (s *Spool) Pending() []*Ref {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = nil
	return p
}

// Append writes a record and returns once it is on disk (fsync'd). meta and raw are
// not kept. A failed Append may still have left the record on disk, to be found by the
// next Open.
func (s *Spool) Append(meta, raw []byte) (*Ref, error) {
	if uint64(len(meta))+uint64(len(raw)) > maxRecord {
		return nil, fmt.Errorf("spool: record of %d bytes is too large", len(meta)+len(raw))
	}
	req := &appendReq{meta: meta, raw: raw, done: make(chan appendRes, 1)}
	// Sent under the read lock so that Close cannot stop the writer between the check
	// and the send. The writer never takes closeMu, so a send waiting for room in a
	// full channel always gets it.
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	s.reqs <- req
	s.closeMu.RUnlock()
	res := <-req.done
	return res.ref, res.err
}

// writer is the one goroutine that appends: it takes the requests waiting, writes
// them, syncs once, and answers them.
func (s *Spool) writer() {
	defer close(s.stopped)
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Close has set closed under closeMu: nothing more is sent.
			for {
				select {
				case r := <-s.reqs:
					s.commit([]*appendReq{r})
				default:
					return
				}
			}
		}
		batch, bytes := []*appendReq{first}, len(first.meta)+len(first.raw)
	fill:
		for len(batch) < maxBatch && bytes < maxBatchBytes {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				bytes += len(r.meta) + len(r.raw)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit writes a batch to the current segment, syncs it and answers each request.
func (s *Spool) commit(batch []*appendReq) {
	refs := make([]*Ref, len(batch))
	errs := make([]error, len(batch))
	seg := s.cur
	wrote := 0
	for i, r := range batch {
		n := int64(headerSize + len(r.meta) + len(r.raw))
		if seg == nil || seg.broken || (seg.size > 0 && seg.size+n > s.opt.SegmentSize) || s.allDone(seg) {
			if wrote > 0 {
				// records already written to seg in this batch: sync them first
				if err := s.opt.Sync(seg.f); err != nil {
					s.fail(seg, batch[:i], refs[:i], errs[:i], fmt.Errorf("spool: sync: %w", err))
				}
				wrote = 0
			}
			next, err := s.newSegment()
			if err != nil {
				errs[i] = err
				continue
			}
			seg = next
		}
		ref, err := seg.write(r.meta, r.raw)
		if err != nil {
			seg.broken = true
			errs[i] = fmt.Errorf("spool: write: %w", err)
			continue
		}
		refs[i] = ref
		wrote++
	}
	if wrote > 0 {
		if err := s.opt.Sync(seg.f); err != nil {
			s.fail(seg, batch, refs, errs, fmt.Errorf("spool: sync: %w", err))
		}
	}
	for i, r := range batch {
		if errs[i] != nil {
			r.done <- appendRes{err: errs[i]}
		} else {
			r.done <- appendRes{ref: refs[i]}
		}
	}
}

// allDone reports a segment of at least rotateDone bytes whose records are all done:
// starting a new one removes it, so that a restart does not read it again.
func (s *Spool) allDone(g *segment) bool {
	if g.size < rotateDone {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return g.live == 0
}

// fail marks the records of seg in a batch as failed: their sync did not complete.
func (s *Spool) fail(seg *segment, batch []*appendReq, refs []*Ref, errs []error, err error) {
	seg.broken = true
	for i := range batch {
		if refs[i] != nil && refs[i].seg == seg && errs[i] == nil {
			refs[i].Done() // not acknowledged: nobody will mark it done
			errs[i], refs[i] = err, nil
		}
	}
}

// newSegment seals the current segment and starts a new file.
func (s *Spool) newSegment() (*segment, error) {
	s.mu.Lock()
	num := s.next
	s.next++
	old := s.cur
	s.mu.Unlock()
	path := filepath.Join(s.dir, fmt.Sprintf("%016d%s", num, suffix))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: create segment: %w", err)
	}
	// the new file's name must survive a crash too
	if err := syncDir(s.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	seg := &segment{s: s, num: num, path: path, f: f}
	s.mu.Lock()
	s.cur = seg
	if old != nil {
		old.sealed = true
		s.removeIfDone(old)
	}
	s.mu.Unlock()
	return seg, nil
}

// datasync flushes a segment's data and the metadata needed to read it back (its size),
// not its times: fdatasync, a third cheaper than fsync for appends here.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: open folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync folder: %w", err)
	}
	return nil
}

// write appends one record at the end of the segment (not synced).
func (g *segment) write(meta, raw []byte) (*Ref, error) {
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(meta)))
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(raw)))
	crc := crc32.Update(crc32.Checksum(meta, castagnoli), castagnoli, raw)
	binary.LittleEndian.PutUint32(hdr[12:], crc)
	off := g.size
	// header and meta together (both small), then raw from the caller's buffer
	head := append(hdr[:], meta...)
	if _, err := g.f.WriteAt(head, off); err != nil {
		return nil, err
	}
	if _, err := g.f.WriteAt(raw, off+int64(len(head))); err != nil {
		return nil, err
	}
	g.size += int64(len(head) + len(raw))
	// live from now on, so that sealing the segment later in the batch keeps it
	g.s.mu.Lock()
	g.live++
	g.s.mu.Unlock()
	return &Ref{seg: g, off: off, metaLen: len(meta), rawLen: len(raw)}, nil
}

// removeIfDone removes a sealed segment without live records. Called under s.mu.
func (s *Spool) removeIfDone(g *segment) {
	if !g.sealed || g.live > 0 || g.f == nil {
		return
	}
	g.f.Close()
	g.f = nil
	os.Remove(g.path) // a failure leaves a file whose records are all duplicates
}

// Read returns the record's meta and raw bytes, read back from its segment.
func (r *Ref) Read() (meta, raw []byte, err error) {
	g := r.seg
	g.s.mu.Lock()
	f := g.f
	g.s.mu.Unlock()
	if f == nil {
		return nil, nil, errors.New("spool: record already done")
	}
	buf := make([]byte, r.metaLen+r.rawLen)
	if _, err := f.ReadAt(buf, r.off+headerSize); err != nil {
		return nil, nil, fmt.Errorf("spool: read record: %w", err)
	}
	return buf[:r.metaLen:r.metaLen], buf[r.metaLen:], nil
}

// Size returns the length of the record's raw bytes.
func (r *Ref) Size() int { return r.rawLen }

// Done tells the spool that the record's owner has taken it for good; the record is not
// handed out again unless the process dies before its segment is removed. Done is
// idempotent.
func (r *Ref) Done() {
	r.once.Do(func() {
		s := r.seg.s
		s.mu.Lock()
		r.seg.live--
		s.removeIfDone(r.seg)
		s.mu.Unlock()
	})
}

// Segments returns the names of the segment files, for tests and diagnostics.
func (s *Spool) Segments() []string {
	names, _ := filepath.Glob(filepath.Join(s.dir, "*"+suffix))
	slices.Sort(names)
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// Close waits for the appends in flight, then closes the files and the lock. Records
// not done stay on disk for the next Open.
func (s *Spool) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	<-s.stopped
	s.closeFiles()
	return nil
}

func (s *Spool) closeFiles() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.sealed = true
		if s.cur.f != nil && s.cur.live == 0 {
			s.removeIfDone(s.cur)
		}
	}
	// files of live segments stay open until their refs are done or the process ends;
	// the lock goes with the process too, but release it now for a reopen in tests
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}
