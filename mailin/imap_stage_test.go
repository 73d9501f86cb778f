package mailin

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/ticket"
)

// recordingAcceptor keeps what an Intake hands it.
type recordingAcceptor struct {
	mu sync.Mutex
	ds []ticket.Delivery
}

func (a *recordingAcceptor) Accept(ctx context.Context, d ticket.Delivery) (ticket.Receipt, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ds = append(a.ds, d)
	return ticket.Receipt{InboundID: int64(len(a.ds)), State: "processed"}, nil
}

func (a *recordingAcceptor) deliveries() []ticket.Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ticket.Delivery(nil), a.ds...)
}

// TestIMAPBigMailStaged: a message past StageAt is fetched alone and written to a stage
// as it comes off the connection, parsed from there, and handed over as a blob of the
// store (RawBlob), byte for byte what the server holds; the small ones around it go the
// ordinary way, in order.
func TestIMAPBigMailStaged(t *testing.T) {
	m := newMemIMAP(t, memOptions{rev2: true})
	big := "From: jeanne@ecole.test\r\nSubject: gros\r\nMessage-ID: <big@test>\r\n\r\n" +
		strings.Repeat("une ligne de texte assez longue pour remplir le message.\r\n", 3*StageAt/56)
	m.add("INBOX", nil, "a")
	if _, err := m.user.Append("INBOX", strings.NewReader(big), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	m.add("INBOX", nil, "c")
	store, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	acc := &recordingAcceptor{}
	in := NewIntake(acc, parse.HashOnly{}, parse.Options{}, nil)
	in.RawBlobs, in.StageDir = store, t.TempDir()
	startPoller(t, memPoller(m, in, newFakeCursors(), newFakeLocker()))
	waitFor(t, time.Minute, "3 messages moved", func() bool { return m.count("Guichet/Traité") == 3 })
	ds := acc.deliveries()
	if len(ds) != 3 {
		t.Fatalf("%d deliveries, want 3", len(ds))
	}
	for i, mid := range []string{"a@test", "big@test", "c@test"} {
		if ds[i].Msg == nil || ds[i].Msg.MessageID != mid {
			t.Fatalf("delivery %d: %+v, want %s", i, ds[i].Msg, mid)
		}
	}
	if ds[0].RawBlob != "" || ds[0].Raw == nil || ds[2].RawBlob != "" {
		t.Fatal("small messages staged")
	}
	d := ds[1]
	if d.Raw != nil || d.RawBlob == "" || d.RawSize != int64(len(big)) || d.BodySum == "" {
		t.Fatalf("big message: raw %d bytes, blob %q, size %d, body sum %q", len(d.Raw), d.RawBlob, d.RawSize, d.BodySum)
	}
	if !strings.HasPrefix(d.Msg.Text, "une ligne de texte") {
		t.Fatalf("big message parsed from the stage: %.40q", d.Msg.Text)
	}
	rc, err := store.OpenBlob(context.Background(), d.RawBlob)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, []byte(big)) {
		t.Fatalf("stored %d bytes, want the %d the server holds", len(got), len(big))
	}
}
