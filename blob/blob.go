// Package blob keeps file content on disk, addressed by its SHA-256: the attachments of
// mails and comments, portal uploads and avatars. It has no database code; the rows that
// point at a file hold its hash.
//
// # Layout
//
// A file lives at dir/ab/cdef…, where abcdef… is the hex SHA-256 of its content, so the
// same content is stored once whoever puts it. Content is written to a temporary file
// under dir/tmp and renamed into place, so a reader never sees half a file.
//
// # Durability
//
// Store.PutBlob makes the content durable before it returns: the file is synced before
// the rename, and its folder after it (and the top folder when the ab/ folder is new), so
// that a change that points at the content, committed after PutBlob returns, never
// outlives it in a power cut. Portal uploads and avatars need this: no other copy of them
// exists.
//
// Mail attachments go through the Store that Store.ForMail returns, which does not sync:
// the raw message, durable in the spool or the database before the 250, keeps their
// bytes, so syncing each attachment would cost a flush per file for nothing. A file lost
// in a crash then reads as ErrMissing.
package blob

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
)

// Store keeps content under a folder, addressed by SHA-256; see the package doc for when
// PutBlob is durable.
type Store struct {
	dir    string
	noSync bool
	// sync flushes a file or a folder to disk ((*os.File).Sync); tests count its calls.
	sync func(*os.File) error
	// bufs hold what PutBlob gathers, 64 KiB at a time, before writing it to its file
	// (shared with the ForMail copy).
	bufs *sync.Pool
	// dirs tells, for each ab/ folder (by its byte), what PutBlob knows of it: dirMade
	// once it exists, dirSynced once this process has also synced the top folder after
	// that, so that a put does not look for its folder each time (two stats and a mkdir)
	// and a synced put makes a folder's entry durable once, even when an unsynced put
	// made the folder (shared with the ForMail copy).
	dirs *[256]atomic.Uint32
}

// What Store.dirs knows of a folder.
const (
	dirUnknown uint32 = iota
	dirMade
	dirSynced
)

// Open returns a Store storing under dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: blobs dir: %w", err)
	}
	bufs := &sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	return &Store{dir: dir, sync: (*os.File).Sync, bufs: bufs, dirs: new([256]atomic.Uint32)}, nil
}

// ForMail returns a Store on the same folder whose PutBlob does not sync (see the
// package doc).
func (b *Store) ForMail() *Store {
	m := *b
	m.noSync = true
	return &m
}

func (b *Store) path(sum string) string {
	return filepath.Join(b.dir, sum[:2], sum[2:])
}

// PutBlob stores r's content and returns its SHA-256 (hex) and size; see the package doc
// for when it is durable.
func (b *Store) PutBlob(ctx context.Context, r io.Reader) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: blob temp file: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	// Buffered: a decoder hands over a line's worth at a time (57 bytes of base64), and
	// each would be a write to the file of its own.
	bw := b.bufs.Get().(*bufio.Writer)
	bw.Reset(f)
	n, err := io.Copy(io.MultiWriter(bw, h), r)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	b.bufs.Put(bw)
	if err == nil && !b.noSync {
		err = b.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob: write blob: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := b.path(sum)
	if b.noSync {
		// The same content may be there already. (A synced put renames over it anyway:
		// the file there may not have been synced.)
		if st, err := os.Stat(dst); err == nil && st.Size() == n {
			return sum, n, nil
		}
	}
	sub := filepath.Dir(dst)
	known := &b.dirs[dirIndex(sum)]
	if known.Load() == dirUnknown {
		if err := b.makeDir(sub, known); err != nil {
			return "", 0, err
		}
	}
	err = os.Rename(f.Name(), dst)
	if errors.Is(err, fs.ErrNotExist) {
		// the folder went away since (removed by hand?): made again
		known.Store(dirUnknown)
		if err := b.makeDir(sub, known); err != nil {
			return "", 0, err
		}
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob: store blob: %w", err)
	}
	renamed = true
	if b.noSync {
		return sum, n, nil
	}
	if err := b.syncDir(sub); err != nil {
		return "", 0, err
	}
	if known.Load() != dirSynced {
		// the folder's own entry, once: it may be new, or made by an unsynced put
		if err := b.syncDir(b.dir); err != nil {
			return "", 0, err
		}
		known.Store(dirSynced)
	}
	return sum, n, nil
}

// makeDir makes a blob's folder and records that it exists.
func (b *Store) makeDir(sub string, known *atomic.Uint32) error {
	if err := os.MkdirAll(sub, 0o750); err != nil {
		return fmt.Errorf("blob: blob dir: %w", err)
	}
	known.CompareAndSwap(dirUnknown, dirMade)
	return nil
}

// dirIndex is the byte that names a hash's folder (its first two hex digits).
func dirIndex(sum string) byte {
	b, _ := strconv.ParseUint(sum[:2], 16, 8) // sum is PutBlob's own hex
	return byte(b)
}

// syncDir makes the entries of a folder (a file renamed into it) durable.
func (b *Store) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: open blob folder: %w", err)
	}
	defer d.Close()
	if err := b.sync(d); err != nil {
		return fmt.Errorf("blob: sync blob folder: %w", err)
	}
	return nil
}

// ErrMissing is returned by OpenBlob for content that is not stored. It matches
// fs.ErrNotExist, so that consumers test for it without importing this package.
var ErrMissing = fmt.Errorf("blob: attachment content missing: %w", fs.ErrNotExist)

// OpenBlob opens the content with the given SHA-256.
func (b *Store) OpenBlob(ctx context.Context, sum string) (io.ReadCloser, error) {
	if len(sum) != 64 {
		return nil, fmt.Errorf("%w: bad hash %q", ErrMissing, sum)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return nil, fmt.Errorf("%w: bad hash %q", ErrMissing, sum)
	}
	f, err := os.Open(b.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrMissing, sum)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: open blob: %w", err)
	}
	return f, nil
}

// RemoveBlob removes the content with the given SHA-256. Content that is not stored is
// no error. The caller checks first that no row points at it: the same content is
// stored once for every row that holds its hash.
func (b *Store) RemoveBlob(ctx context.Context, sum string) error {
	if len(sum) != 64 {
		return fmt.Errorf("blob: remove: bad hash %q", sum)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return fmt.Errorf("blob: remove: bad hash %q", sum)
	}
	if err := os.Remove(b.path(sum)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: remove: %w", err)
	}
	return nil
}
