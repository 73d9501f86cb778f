package mailin

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// TestSMTPStagedInSpool: a message past StageAt is written to a spool record of its own
// as it arrives, synced before the 250, and handed over with that record (no second copy
// in memory or in the spool); one past the size limit gets a 552 and leaves nothing in
// the spool; a small one goes the ordinary way.
func TestSMTPStagedInSpool(t *testing.T) {
	var syncs atomic.Int64
	sp, err := spool.Open(t.TempDir(), spool.Options{Sync: func(f *os.File) error {
		syncs.Add(1)
		return f.Sync()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	store, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := &keptRecorder{}
	in := NewIntake(spoolAcceptor{rec}, parse.HashOnly{}, parse.Options{}, nil)
	in.Queue, in.Spool, in.RawBlobs = true, Spooler{S: sp}, store
	_, addr := startSMTP(t, SMTPOptions{Deliverer: in, MaxMessageBytes: 4 * StageAt})

	msg := func(mid string, lines int) string {
		return "From: jeanne@ecole.test\r\nSubject: gros\r\nMessage-ID: <" + mid + ">\r\n\r\n" +
			strings.Repeat("une ligne de texte assez longue pour remplir le message.\r\n", lines)
	}
	if _, err := smtpSend(t, addr, smtpTx{from: "jeanne@ecole.test", to: []string{"support@localhost"}, msg: msg("big@test", 3*StageAt/56)}); err != nil {
		t.Fatalf("big message: %v", err)
	}
	if len(rec.ds) != 1 || rec.ds[0].RawBlob == "" || rec.ds[0].Msg == nil || rec.ds[0].Msg.MessageID != "big@test" {
		t.Fatalf("big message handed over as %+v", rec.ds)
	}
	if syncs.Load() == 0 {
		t.Fatal("250 before the staged record was synced")
	}
	if n := len(sp.Segments()); n != 1 {
		t.Fatalf("%d segments for one big message, want its own one", n)
	}
	rec.ks[0].Done()
	if n := len(sp.Segments()); n != 0 {
		t.Fatalf("%d segments left once it is done", n)
	}

	_, err = smtpSend(t, addr, smtpTx{from: "paul@ecole.test", to: []string{"support@localhost"}, msg: msg("huge@test", 5*StageAt/56)})
	checkSMTPReply(t, err, 552, smtp.EnhancedCode{5, 3, 4})
	if len(rec.ds) != 1 {
		t.Fatalf("over-size message handed over")
	}
	if segs := sp.Segments(); len(segs) != 0 {
		t.Fatalf("over-size message left %v in the spool", segs)
	}

	if _, err := smtpSend(t, addr, smtpTx{from: "luc@ecole.test", to: []string{"support@localhost"}, msg: msg("small@test", 10)}); err != nil {
		t.Fatalf("small message: %v", err)
	}
}

// spoolAcceptor is an Acceptor that takes spooled deliveries (EnqueueKept) and, as
// ReceiveSpooled, keeps small ones in the spool first.
type spoolAcceptor struct{ *keptRecorder }

func (a spoolAcceptor) Accept(ctx context.Context, d ticket.Delivery) (ticket.Receipt, error) {
	return ticket.Receipt{}, errors.New("not spooled")
}

func (a spoolAcceptor) ReceiveSpooled(ctx context.Context, d ticket.Delivery, sp ticket.Spool) (ticket.Receipt, error) {
	k, err := sp.Keep(ctx, d.Env, d.Raw)
	if err != nil {
		return ticket.Receipt{}, err
	}
	k.Done()
	return ticket.Receipt{State: "pending"}, nil
}
