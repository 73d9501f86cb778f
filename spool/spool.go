// Package spool keeps inbound messages durably on disk from the moment they are received
// until the database has taken them: an append-only log of records in segment files.
// Appends are group-committed (the appends waiting are written, then one fsync covers
// them all), so a sender's 250 waits for one fsync of a sequential file and not for a
// database transaction. A record is forgotten once its owner calls Done; a segment file
// whose records are all done is removed. After a crash, Open finds the records of the
// segments left and hands them back (Pending), done or not: their owner must take a
// record it has already taken as a duplicate.
//
// # Damage
//
// Every record checks itself: its header carries its lengths, the checksum of its payload
// and a checksum of its own (format.go). Open trusts no length beyond the limits of
// Options, reads payloads through a fixed buffer (a corrupt length allocates nothing),
// and never stops at a bad record: the bytes that hold no valid record (a torn write
// after a crash, a flipped bit, a run of zeros, garbage) are copied to a file of the
// corrupt/ folder and reported by SetAside, and the scan goes on at the next valid
// record, so every good record after the damage is kept. A torn tail was never
// acknowledged (the fsync that would have acknowledged it did not complete); damage
// elsewhere may have been, which is why its bytes are kept for an operator.
//
// # Files
//
// spool.go holds the append path (the writer goroutine, group commit, segments), scan.go
// what Open reads back and sets aside, and format.go the bytes on disk, with the
// previous format that Open still reads at an upgrade.
package spool

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
)

const (
	// DefaultSegmentSize is the size past which appends go to a new segment file.
	DefaultSegmentSize = 16 << 20
	// DefaultMaxMessageSize is Options.MaxMessageSize's default (that of
	// --max-message-size).
	DefaultMaxMessageSize = 25 << 20
	// rawSlack is what a record's raw bytes may hold beyond the maximum message size:
	// the trace header (Received:) that the listener puts in front of the message, a few
	// hundred bytes.
	rawSlack = 64 << 10
	// maxMeta bounds a record's meta: the envelope as JSON, a few hundred bytes, at most
	// some kilobytes with many recipients.
	maxMeta = 1 << 20
	// maxBatch and maxBatchBytes bound what one fsync covers.
	maxBatch      = 256
	maxBatchBytes = 16 << 20
	suffix        = ".spool"
	// rotateDone is the size past which a segment whose records are all done is left
	// for a new one (and removed): what a restart reads again stays small when the
	// database keeps up, without a new file at every message.
	rotateDone = 1 << 20
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("spool: closed")

// Options tune a Spool; the zero value is the default.
type Options struct {
	SegmentSize int64 // default DefaultSegmentSize
	// MaxMessageSize is the largest message Append takes (beyond it, a trace header of
	// up to 64 KiB), and the largest that Open believes a record header: a longer length
	// is damage, never read nor allocated. Default DefaultMaxMessageSize. Lowering it
	// below the size of a message the spool still holds sets that message aside (whole,
	// in corrupt/) at the next Open.
	MaxMessageSize int64
	// Sync replaces the fsync of a segment (tests inject failures with it).
	Sync func(f *os.File) error
}

// Spool is an open spool folder. Its methods are safe for concurrent use.
type Spool struct {
	dir     string
	opt     Options
	lim     limits
	lock    *os.File
	reqs    chan *appendReq
	stop    chan struct{}
	stopped chan struct{}

	closeMu sync.RWMutex
	closed  bool // under closeMu

	mu       sync.Mutex
	pending  []*Ref // records found by Open, handed out once by Pending
	setAside []Bad  // what Open set aside
	next     uint64 // number of the next segment file

	cur *segment // the segment appends go to; only the writer goroutine touches it
}

// segment is one file of the log.
type segment struct {
	s      *Spool
	num    uint64
	path   string
	f      *os.File
	salt   salt // its records' header checksum key (format version 2)
	size   int64
	live   int  // records appended or found and not yet done; under Spool.mu
	sealed bool // no more appends: removed once live is 0; under Spool.mu
	broken bool // a write or fsync failed: the writer moves on to a new segment
}

// Ref is one record of the spool.
type Ref struct {
	seg     *segment
	data    int64 // offset of its meta in the segment
	metaLen int
	rawLen  int
	crc     uint32 // of meta and raw, checked again by Read
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
	if opt.MaxMessageSize <= 0 {
		opt.MaxMessageSize = DefaultMaxMessageSize
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
	s := &Spool{dir: dir, opt: opt, lim: limitsOf(opt), lock: lock, reqs: make(chan *appendReq, maxBatch),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	go s.writer()
	return s, nil
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
// next Open. A record over the limits (Options.MaxMessageSize) is refused: Open would
// not believe its length.
func (s *Spool) Append(meta, raw []byte) (*Ref, error) {
	if !s.lim.fits(int64(len(meta)), int64(len(raw))) {
		return nil, fmt.Errorf("spool: record of %d+%d bytes is over the limit", len(meta), len(raw))
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
		n := int64(recHeaderSize + len(r.meta) + len(r.raw))
		if seg == nil || seg.broken || (seg.size > segHeaderSize && seg.size+n > s.opt.SegmentSize) || s.allDone(seg) {
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
	seg := &segment{s: s, num: num, path: path, f: f, salt: newSalt(), size: segHeaderSize}
	// synced with the segment's first records
	if _, err := f.WriteAt(segHeader(seg.salt), 0); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: write segment header: %w", err)
	}
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
	var hdr [recHeaderSize]byte
	crc := payloadCRC(meta, raw)
	putRecHeader(hdr[:], &g.salt, len(meta), len(raw), crc)
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
	return &Ref{seg: g, data: off + recHeaderSize, metaLen: len(meta), rawLen: len(raw), crc: crc}, nil
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

// Read returns the record's meta and raw bytes, read back from its segment and checked
// against the checksum they were written (or found) with.
func (r *Ref) Read() (meta, raw []byte, err error) {
	g := r.seg
	g.s.mu.Lock()
	f := g.f
	g.s.mu.Unlock()
	if f == nil {
		return nil, nil, errors.New("spool: record already done")
	}
	buf := make([]byte, r.metaLen+r.rawLen)
	if _, err := f.ReadAt(buf, r.data); err != nil {
		return nil, nil, fmt.Errorf("spool: read record: %w", err)
	}
	if crc32.Checksum(buf, castagnoli) != r.crc {
		// the disk changed it since: the next Open sets it aside
		return nil, nil, fmt.Errorf("spool: record at %s:%d: checksum mismatch", filepath.Base(g.path), r.data-recHeaderSize)
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
