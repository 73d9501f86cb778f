package spool

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// A big message does not go through Append, which takes its bytes whole: it is written
// as it arrives into a segment file of its own (Create), under a name that Open ignores
// (partSuffix) until Commit has written its record header, synced it and renamed it.
// The file is then an ordinary sealed segment holding one record, read back by Open like
// any other, and removed once the record is done. A crash before Commit leaves a .part
// file that was never acknowledged: Open removes it.

// partSuffix names a segment being written by a Writer.
const partSuffix = ".part"

// ErrTooBig is returned by Writer.Write past the spool's maximum message size.
var ErrTooBig = errors.New("spool: message over the maximum size")

// Writer writes one record's raw bytes to a segment file of its own as they arrive.
// It is not safe for concurrent use. Either Commit or Abort must be called.
type Writer struct {
	s        *Spool
	num      uint64
	path     string
	f        *os.File
	meta     []byte
	off      int64 // where the next raw byte goes
	rawStart int64
	crc      uint32
	err      error
	done     bool
}

// Create starts a record with meta whose raw bytes are then written to the returned
// Writer, straight to disk: nothing of them is kept in memory.
func (s *Spool) Create(meta []byte) (*Writer, error) {
	if !s.lim.fits(int64(len(meta)), 0) {
		return nil, fmt.Errorf("spool: meta of %d bytes is over the limit", len(meta))
	}
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	s.mu.Lock()
	num := s.next
	s.next++
	s.mu.Unlock()
	path := filepath.Join(s.dir, fmt.Sprintf("%016d%s", num, suffix))
	f, err := os.OpenFile(path+partSuffix, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: create segment: %w", err)
	}
	w := &Writer{s: s, num: num, path: path, f: f, meta: append([]byte(nil), meta...)}
	// segment header, then room for the record header, then meta; the record header is
	// written by Commit, once the raw length and checksum are known
	w.rawStart = segHeaderSize + recHeaderSize + int64(len(meta))
	if _, err := f.WriteAt(meta, segHeaderSize+recHeaderSize); err != nil {
		w.Abort()
		return nil, fmt.Errorf("spool: write meta: %w", err)
	}
	w.off = w.rawStart
	w.crc = crc32.Checksum(meta, castagnoli)
	return w, nil
}

// Write appends p to the record's raw bytes. Past the spool's maximum message size it
// writes nothing more and returns ErrTooBig.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errors.New("spool: write after commit or abort")
	}
	if w.off-w.rawStart+int64(len(p)) > w.s.lim.raw {
		w.err = ErrTooBig
		return 0, w.err
	}
	n, err := w.f.WriteAt(p, w.off)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.off += int64(n)
	if err != nil {
		w.err = fmt.Errorf("spool: write: %w", err)
		return n, w.err
	}
	return n, nil
}

// Size returns the raw bytes written so far.
func (w *Writer) Size() int64 { return w.off - w.rawStart }

// Commit writes the record's header, syncs the file and gives it its name: once it
// returns, the record is durable and is handed to the caller as a Ref, as Append does.
func (w *Writer) Commit() (*Ref, error) {
	if w.done {
		return nil, errors.New("spool: commit after commit or abort")
	}
	if w.err != nil {
		w.Abort()
		return nil, w.err
	}
	rawLen := w.off - w.rawStart
	seg := &segment{s: w.s, num: w.num, path: w.path, f: w.f, salt: newSalt(), size: w.off}
	head := segHeader(seg.salt)
	var hdr [recHeaderSize]byte
	putRecHeader(hdr[:], &seg.salt, len(w.meta), int(rawLen), w.crc)
	head = append(head, hdr[:]...)
	fail := func(what string, err error) (*Ref, error) {
		w.Abort()
		return nil, fmt.Errorf("spool: %s: %w", what, err)
	}
	if _, err := w.f.WriteAt(head, 0); err != nil {
		return fail("write record header", err)
	}
	if err := w.s.opt.Sync(w.f); err != nil {
		return fail("sync", err)
	}
	if err := os.Rename(w.path+partSuffix, w.path); err != nil {
		return fail("name segment", err)
	}
	if err := syncDir(w.s.dir); err != nil {
		// the name may not survive a crash: take the record back, unacknowledged
		os.Remove(w.path)
		w.f.Close()
		w.done = true
		return nil, err
	}
	w.done = true
	seg.sealed = true
	seg.live = 1
	return &Ref{seg: seg, data: segHeaderSize + recHeaderSize, metaLen: len(w.meta), rawLen: int(rawLen), crc: w.crc}, nil
}

// Abort drops the record: its file is removed. It is a no-op after Commit.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.path + partSuffix)
}

// removeParts removes the segments a Writer left unfinished: never acknowledged.
func (s *Spool) removeParts() error {
	names, err := filepath.Glob(filepath.Join(s.dir, "*"+suffix+partSuffix))
	if err != nil {
		return fmt.Errorf("spool: list unfinished segments: %w", err)
	}
	for _, n := range names {
		if err := os.Remove(n); err != nil {
			return fmt.Errorf("spool: remove unfinished segment: %w", err)
		}
	}
	return nil
}

// Section returns a reader of the record's raw bytes, without the meta, after checking
// the whole record against its checksum by reading it in pieces: nothing of it is held
// in memory. The reader is valid until Done.
func (r *Ref) Section() (*io.SectionReader, error) {
	g := r.seg
	g.s.mu.Lock()
	f := g.f
	g.s.mu.Unlock()
	if f == nil {
		return nil, errors.New("spool: record already done")
	}
	all := io.NewSectionReader(f, r.data, int64(r.metaLen)+int64(r.rawLen))
	h := crc32.New(castagnoli)
	buf := make([]byte, 64<<10)
	if _, err := io.CopyBuffer(h, all, buf); err != nil {
		return nil, fmt.Errorf("spool: read record: %w", err)
	}
	if h.Sum32() != r.crc {
		return nil, fmt.Errorf("spool: record at %s:%d: checksum mismatch", filepath.Base(g.path), r.data-recHeaderSize)
	}
	return io.NewSectionReader(f, r.data+int64(r.metaLen), int64(r.rawLen)), nil
}

// Meta returns the record's meta bytes.
func (r *Ref) Meta() ([]byte, error) {
	g := r.seg
	g.s.mu.Lock()
	f := g.f
	g.s.mu.Unlock()
	if f == nil {
		return nil, errors.New("spool: record already done")
	}
	b := make([]byte, r.metaLen)
	if _, err := f.ReadAt(b, r.data); err != nil {
		return nil, fmt.Errorf("spool: read record meta: %w", err)
	}
	return b, nil
}
