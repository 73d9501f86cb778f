package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Blobs keeps attachment content on disk under a folder, addressed by SHA-256
// (dir/ab/cdef…). Content is written to a temporary file and renamed, so a reader never
// sees half a file. Files are not fsynced one by one: the raw message stored in the
// database is the durable copy, and Repair can rewrite a missing file from it.
type Blobs struct {
	dir string
}

// NewBlobs returns a Blobs storing under dir, creating it if needed.
func NewBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("ticket: blobs dir: %w", err)
	}
	return &Blobs{dir: dir}, nil
}

func (b *Blobs) path(sum string) string {
	return filepath.Join(b.dir, sum[:2], sum[2:])
}

// PutBlob stores r's content and returns its SHA-256 (hex) and size.
func (b *Blobs) PutBlob(ctx context.Context, r io.Reader) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("ticket: blob temp file: %w", err)
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("ticket: write blob: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := b.path(sum)
	if st, err := os.Stat(dst); err == nil && st.Size() == n {
		return sum, n, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", 0, fmt.Errorf("ticket: blob dir: %w", err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("ticket: store blob: %w", err)
	}
	return sum, n, nil
}

// ErrBlobMissing is returned by OpenBlob for content that is not stored.
var ErrBlobMissing = errors.New("ticket: attachment content missing")

// OpenBlob opens the content with the given SHA-256.
func (b *Blobs) OpenBlob(ctx context.Context, sum string) (io.ReadCloser, error) {
	if len(sum) != 64 {
		return nil, fmt.Errorf("%w: bad hash %q", ErrBlobMissing, sum)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return nil, fmt.Errorf("%w: bad hash %q", ErrBlobMissing, sum)
	}
	f, err := os.Open(b.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrBlobMissing, sum)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: open blob: %w", err)
	}
	return f, nil
}
