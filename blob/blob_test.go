package blob

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syncLog records what a Store synced, in order, and can fail.
type syncLog struct {
	synced []string
	fail   error
}

func (l *syncLog) sync(f *os.File) error {
	if l.fail != nil {
		return l.fail
	}
	l.synced = append(l.synced, f.Name())
	return nil
}

func newLogged(t *testing.T) (*Store, *syncLog) {
	t.Helper()
	b, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := &syncLog{}
	b.sync = l.sync
	return b, l
}

// A portal upload or an avatar (no other copy of it exists) is durable when PutBlob
// returns: its file synced before the rename, then its folder, and the top folder when
// its folder is new.
func TestPutBlobSyncs(t *testing.T) {
	ctx := context.Background()
	b, l := newLogged(t)
	sum, n, err := b.PutBlob(ctx, strings.NewReader("photo de l'écran"))
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Dir(b.path(sum))
	if len(l.synced) != 3 || filepath.Dir(l.synced[0]) != filepath.Join(b.dir, "tmp") || l.synced[1] != sub || l.synced[2] != b.dir {
		t.Fatalf("synced %q, want the temporary file, then %s, then %s", l.synced, sub, b.dir)
	}
	if st, err := os.Stat(b.path(sum)); err != nil || st.Size() != n {
		t.Fatalf("blob: %v", err)
	}

	// The same content again (say written unsynced by a mail first): synced again.
	l.synced = nil
	mail := b.ForMail()
	if _, _, err := mail.PutBlob(ctx, strings.NewReader("pièce jointe d'un mail")); err != nil {
		t.Fatal(err)
	}
	if len(l.synced) != 0 {
		t.Fatalf("a mail attachment was synced: %q", l.synced)
	}
	sum2, _, err := b.PutBlob(ctx, strings.NewReader("pièce jointe d'un mail"))
	if err != nil {
		t.Fatal(err)
	}
	// The folder was made by the unsynced put: its entry in the top folder is synced
	// now, once.
	if len(l.synced) != 3 || l.synced[1] != filepath.Dir(b.path(sum2)) || l.synced[2] != b.dir {
		t.Fatalf("content already there unsynced: synced %q, want the file, its folder and the top folder", l.synced)
	}
	l.synced = nil
	if _, _, err := b.PutBlob(ctx, strings.NewReader("pièce jointe d'un mail")); err != nil {
		t.Fatal(err)
	}
	if len(l.synced) != 2 || l.synced[1] != filepath.Dir(b.path(sum2)) {
		t.Fatalf("a third put: synced %q, want the file and its folder", l.synced)
	}

	// A sync that fails fails the put: the caller must not commit a change that
	// points at content that may not survive.
	l.fail = errors.New("EIO")
	if _, _, err := b.PutBlob(ctx, strings.NewReader("autre chose")); err == nil {
		t.Fatal("PutBlob succeeded with a failing sync")
	}
	rc, err := b.OpenBlob(ctx, sum)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "photo de l'écran" {
		t.Fatalf("read back %q", got)
	}
}

// TestOpenMissing: content that is not stored, or a malformed hash, reads as ErrMissing,
// which consumers (web) recognise as fs.ErrNotExist without importing this package.
func TestOpenMissing(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range []string{
		strings.Repeat("ab", 32), // well-formed, not stored
		"../../etc/passwd",       // not a hash
		"",
	} {
		_, err := s.OpenBlob(context.Background(), sum)
		if !errors.Is(err, ErrMissing) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenBlob(%q) = %v, want ErrMissing matching fs.ErrNotExist", sum, err)
		}
	}
}

// TestRemoveBlob: removed content reads as missing; removing it again, or content never
// stored, is no error; a hash that is not one (a path, say) is refused.
func TestRemoveBlob(t *testing.T) {
	ctx := context.Background()
	b, _ := newLogged(t)
	sum, _, err := b.PutBlob(ctx, strings.NewReader("pièce jointe"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveBlob(ctx, sum); err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenBlob(ctx, sum); !errors.Is(err, ErrMissing) {
		t.Fatalf("open after remove: %v", err)
	}
	if err := b.RemoveBlob(ctx, sum); err != nil {
		t.Fatalf("remove twice: %v", err)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("z", 64), sum[:63]} {
		if err := b.RemoveBlob(ctx, bad); err == nil {
			t.Errorf("RemoveBlob(%q) = nil", bad)
		}
	}
}

// lineReader hands its content over in pieces of at most n bytes, as a decoder of
// base64 lines does.
type lineReader struct {
	data []byte
	n    int
}

func (r *lineReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// BenchmarkPutBlobMail stores a 144 KiB attachment as the mail intake does (no sync),
// read 57 bytes at a time as from a base64 decoder; each is a new blob.
func BenchmarkPutBlobMail(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m := s.ForMail()
	data := make([]byte, 144<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		binary.LittleEndian.PutUint64(data, uint64(i)) // a new content each time
		if _, n, err := m.PutBlob(context.Background(), &lineReader{data: data, n: 57}); err != nil || n != int64(len(data)) {
			b.Fatal(n, err)
		}
	}
}

// TestPutBlobFolderGone: a put remembers the folders it made, and makes one again that
// went away meanwhile (removed by hand); no temporary file is left behind.
func TestPutBlobFolderGone(t *testing.T) {
	ctx := context.Background()
	b, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mail := b.ForMail()
	sum, _, err := mail.PutBlob(ctx, strings.NewReader("premier"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(b.path(sum))); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{mail, b} {
		got, _, err := s.PutBlob(ctx, strings.NewReader("premier"))
		if err != nil || got != sum {
			t.Fatalf("put after its folder went: %s, %v", got, err)
		}
		if _, err := os.Stat(b.path(sum)); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Dir(b.path(sum))); err != nil {
			t.Fatal(err)
		}
	}
	left, err := os.ReadDir(filepath.Join(b.dir, "tmp"))
	if err != nil || len(left) != 0 {
		t.Fatalf("temporary files left: %v %v", left, err)
	}
}

// TestDirIndex: every folder name has its own index.
func TestDirIndex(t *testing.T) {
	for i := range 256 {
		sum := fmt.Sprintf("%02x", i) + strings.Repeat("0", 62)
		if got := dirIndex(sum); int(got) != i {
			t.Fatalf("dirIndex(%s…) = %d, want %d", sum[:2], got, i)
		}
	}
}
