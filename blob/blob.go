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
	"sync"
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
}

// Open returns a Store storing under dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: blobs dir: %w", err)
	}
	bufs := &sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	return &Store{dir: dir, sync: (*os.File).Sync, bufs: bufs}, nil
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
	defer os.Remove(f.Name())
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
	_, err = os.Stat(sub)
	newSub := errors.Is(err, os.ErrNotExist)
	if err := os.MkdirAll(sub, 0o750); err != nil {
		return "", 0, fmt.Errorf("blob: blob dir: %w", err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("blob: store blob: %w", err)
	}
	if b.noSync {
		return sum, n, nil
	}
	if err := b.syncDir(sub); err != nil {
		return "", 0, err
	}
	if newSub {
		if err := b.syncDir(b.dir); err != nil {
			return "", 0, err
		}
	}
	return sum, n, nil
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
