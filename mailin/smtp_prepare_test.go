package mailin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// failingBlobs is a BlobWriter that fails while fail is set, and counts what it stored.
type failingBlobs struct {
	fail   atomic.Bool
	stored atomic.Int64
}

func (b *failingBlobs) PutBlob(ctx context.Context, r io.Reader) (string, int64, error) {
	if b.fail.Load() {
		return "", 0, errors.New("no space left on device")
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	b.stored.Add(1)
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// preparingAcceptor keeps spooled deliveries as ReceiveSpooled does and records them,
// unprepared, for the test to prepare.
type preparingAcceptor struct {
	mu       sync.Mutex
	ds       []ticket.Delivery // spooled
	accepted []ticket.Delivery // not spooled
}

func (a *preparingAcceptor) Accept(ctx context.Context, d ticket.Delivery) (ticket.Receipt, error) {
	a.mu.Lock()
	a.accepted = append(a.accepted, d)
	a.mu.Unlock()
	return ticket.Receipt{State: "processed"}, nil
}

func (a *preparingAcceptor) ReceiveSpooled(ctx context.Context, d ticket.Delivery, sp ticket.Spool) (ticket.Receipt, error) {
	if _, err := sp.Keep(ctx, d.Env, d.Raw); err != nil {
		return ticket.Receipt{}, err
	}
	a.mu.Lock()
	a.ds = append(a.ds, d)
	a.mu.Unlock()
	return ticket.Receipt{State: "pending"}, nil
}

// TestSMTPParsedAfter250: a spooled message gets its 250 once in the spool, before it is
// parsed and before its attachment is written (Delivery.Prepare, run by the service
// after the 250); an attachment that cannot be written then (disk full) makes Prepare
// fail with parse.ErrStore, to be tried again, and the intake's health report it until
// a try succeeds.
func TestSMTPParsedAfter250(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	blobs := &failingBlobs{}
	blobs.fail.Store(true)
	acc := &preparingAcceptor{}
	in := NewIntake(acc, blobs, parse.Options{}, nil)
	in.Queue, in.Spool = true, Spooler{S: sp}
	_, addr := startSMTP(t, SMTPOptions{Deliverer: in})

	msg := "From: jeanne@ecole.test\r\nSubject: avec pièce jointe\r\nMessage-ID: <pj@test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLe document est joint.\r\n" +
		"--b\r\nContent-Type: application/pdf; name=doc.pdf\r\nContent-Disposition: attachment; filename=doc.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + strings.Repeat("JVBERi0xLjQKJcfsj6IK\r\n", 50) + "--b--\r\n"
	if _, err := smtpSend(t, addr, smtpTx{from: "jeanne@ecole.test", to: []string{"support@localhost"}, msg: msg}); err != nil {
		t.Fatalf("250 refused while attachments cannot be written: %v", err)
	}
	if len(acc.ds) != 1 {
		t.Fatalf("%d deliveries handed over, want 1", len(acc.ds))
	}
	d := acc.ds[0]
	if d.Msg != nil || d.Prepare == nil || len(d.Raw) == 0 || blobs.stored.Load() != 0 {
		t.Fatalf("handed over parsed (Msg %v, Prepare set %v, %d raw bytes, %d blobs)", d.Msg, d.Prepare != nil, len(d.Raw), blobs.stored.Load())
	}
	if err := in.Ping(context.Background()); err != nil {
		t.Fatalf("health before the parse: %v", err)
	}

	if err := d.Prepare(context.Background(), &d); !errors.Is(err, parse.ErrStore) {
		t.Fatalf("prepare while the disk is full: %v, want parse.ErrStore", err)
	}
	if d.Msg != nil {
		t.Fatal("a failed prepare filled the message in")
	}
	if err := in.Ping(context.Background()); err == nil {
		t.Fatal("health does not report the attachment that could not be written")
	}

	blobs.fail.Store(false)
	if err := d.Prepare(context.Background(), &d); err != nil {
		t.Fatalf("prepare again: %v", err)
	}
	if d.Msg == nil || d.Msg.MessageID != "pj@test" || len(d.Msg.Attachments) != 1 || blobs.stored.Load() != 1 || d.ParseErr != nil {
		t.Fatalf("prepared: %+v, parse error %v, %d blobs", d.Msg, d.ParseErr, blobs.stored.Load())
	}
	if err := in.Ping(context.Background()); err != nil {
		t.Fatalf("health after the parse: %v", err)
	}
}

// TestIMAPParsedBeforeHandOver: mail fetched over IMAP is not spooled, so it is parsed
// before it is handed over, as before.
func TestIMAPParsedBeforeHandOver(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	rec := &preparingAcceptor{}
	in := NewIntake(rec, &failingBlobs{}, parse.Options{}, nil)
	in.Queue, in.Spool = true, Spooler{S: sp}
	raw := []byte("From: a@ecole.test\r\nSubject: x\r\nMessage-ID: <i@test>\r\n\r\ntexte\r\n")
	if err := in.Deliver(context.Background(), raw, ticket.Envelope{Channel: "imap"}); err != nil {
		t.Fatal(err)
	}
	if len(rec.ds) != 0 || len(rec.accepted) != 1 || rec.accepted[0].Msg == nil || rec.accepted[0].Prepare != nil {
		t.Fatalf("IMAP delivery handed over as %+v (spooled %+v)", rec.accepted, rec.ds)
	}
}
