package mailin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// keptRecorder is a SpoolEnqueuer that keeps what it is handed.
type keptRecorder struct {
	ds []ticket.Delivery
	ks []ticket.Kept
}

func (r *keptRecorder) EnqueueKept(ctx context.Context, d ticket.Delivery, k ticket.Kept) error {
	r.ds, r.ks = append(r.ds, d), append(r.ks, k)
	return nil
}

// TestReplayBigRecord: a big message staged in the spool and answered 250, found again
// at start-up, is read in pieces into the blob store like when it was received (never
// whole into memory), and its record goes once taken; a small record beside it is read
// back the ordinary way.
func TestReplayBigRecord(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trace := "Received: from x by y\r\n"
	big := trace + "From: jeanne@ecole.test\r\nSubject: gros\r\nMessage-ID: <big@test>\r\n\r\n" +
		strings.Repeat("une ligne de texte assez longue pour remplir le message.\r\n", 2*StageAt/56)
	env := ticket.Envelope{From: "jeanne@ecole.test", Recipients: []string{"support@localhost"}, Channel: "smtp", TraceLen: len(trace)}
	w, err := Spooler{S: sp}.Create(env)
	if err != nil {
		t.Fatal(err)
	}
	for r := strings.NewReader(big); r.Len() > 0; {
		io.CopyN(w, r, 64<<10)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := (Spooler{S: sp}).Keep(context.Background(), env, []byte("From: paul@ecole.test\r\nMessage-ID: <small@test>\r\n\r\npetit\r\n")); err != nil {
		t.Fatal(err)
	}
	sp.Close()

	sp, err = spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	store, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := NewIntake(&recordingAcceptor{}, parse.HashOnly{}, parse.Options{}, nil)
	in.RawBlobs = store
	rec := &keptRecorder{}
	n, err := in.Replay(context.Background(), sp, rec)
	if err != nil || n != 2 {
		t.Fatalf("replayed %d, %v; want 2", n, err)
	}
	d := rec.ds[0]
	if d.Msg == nil || d.Msg.MessageID != "big@test" || d.RawBlob == "" || d.RawSize != int64(len(big)) || d.Env.TraceLen != len(trace) {
		t.Fatalf("big record: %+v", d)
	}
	if sum := sha256.Sum256([]byte(big[len(trace):])); d.BodySum != hex.EncodeToString(sum[:]) {
		t.Fatalf("body hash %s: not that of the bytes after the trace header", d.BodySum)
	}
	rc, err := store.OpenBlob(context.Background(), d.RawBlob)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, []byte(big)) {
		t.Fatalf("blob holds %d bytes, want %d", len(got), len(big))
	}
	if s := rec.ds[1]; s.Msg == nil || s.Msg.MessageID != "small@test" || s.RawBlob != "" {
		t.Fatalf("small record: %+v", s)
	}
	before := len(sp.Segments())
	rec.ks[0].Done()
	if after := len(sp.Segments()); after != before-1 {
		t.Fatalf("segments %d after the big record is done, want %d", after, before-1)
	}
	rec.ks[1].Done()
}

// TestCleanStage: files older than the age are removed, newer ones (another process may
// be writing them) and a missing folder are left alone.
func TestCleanStage(t *testing.T) {
	if n, err := CleanStage(filepath.Join(t.TempDir(), "absent"), time.Hour); n != 0 || err != nil {
		t.Fatalf("missing folder: %d %v", n, err)
	}
	dir := t.TempDir()
	old, fresh := filepath.Join(dir, "msg-old"), filepath.Join(dir, "msg-new")
	os.WriteFile(old, []byte("x"), 0o600)
	os.WriteFile(fresh, []byte("y"), 0o600)
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, past, past)
	if n, err := CleanStage(dir, time.Hour); n != 1 || err != nil {
		t.Fatalf("removed %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("fresh file removed: %v", err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old file left: %v", err)
	}
}
