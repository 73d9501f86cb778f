package mailin

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/ticket"
)

// failAcceptor fails every Accept with err while err is set.
type failAcceptor struct{ err error }

func (f *failAcceptor) Accept(context.Context, ticket.Delivery) (ticket.Receipt, error) {
	if f.err != nil {
		return ticket.Receipt{}, f.err
	}
	return ticket.Receipt{InboundID: 1, State: "processed"}, nil
}

// failBlobs fails every attachment write, as a full disk does.
type failBlobs struct{}

func (failBlobs) PutBlob(context.Context, io.Reader) (string, int64, error) {
	return "", 0, errors.New("no space left on device")
}

// TestIntakePing: /healthz's "intake" check fails while the last delivery failed on our
// side (a database that refuses writes, attachments that cannot be written: every
// sender gets 451 although the database still answers a ping), and only then: a refused
// message, a session that ended, an old failure, or a success since, do not count.
func TestIntakePing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	acc := &failAcceptor{}
	in := NewIntake(acc, parse.HashOnly{}, parse.Options{}, nil)
	in.health.now = func() time.Time { return now }
	mail := []byte("From: a@ecole.test\r\nSubject: t\r\n\r\nBonjour\r\n")
	env := ticket.Envelope{Channel: "smtp", From: "a@ecole.test"}

	if err := in.Ping(ctx); err != nil {
		t.Fatalf("fresh intake: %v", err)
	}
	acc.err = errors.New("database or disk is full")
	for range 3 {
		if err := in.Deliver(ctx, mail, env); err == nil {
			t.Fatal("Deliver succeeded with a failing store")
		}
	}
	err := in.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 deliveries in a row failed") || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("after three failures: Ping = %v, want the count and the error", err)
	}

	// A refused message (the sender's fault) and a session that ended change nothing.
	if err := in.Deliver(ctx, nil, env); !errors.Is(err, ErrRefused) {
		t.Fatalf("empty message: %v, want refused", err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	in.Deliver(gone, mail, env)
	if err := in.Ping(ctx); err == nil || !strings.Contains(err.Error(), "3 deliveries") {
		t.Fatalf("after a refusal and an ended session: Ping = %v, want still 3 failures", err)
	}

	// A failure older than the window no longer counts.
	now = now.Add(FailureWindow + time.Second)
	if err := in.Ping(ctx); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	// Failing again, then one success: healthy at once.
	in.Deliver(ctx, mail, env)
	if in.Ping(ctx) == nil {
		t.Fatal("a new failure does not count")
	}
	acc.err = nil
	if err := in.Deliver(ctx, mail, env); err != nil {
		t.Fatal(err)
	}
	if err := in.Ping(ctx); err != nil {
		t.Fatalf("after a success: %v", err)
	}

	// An attachment that cannot be written (parse.ErrStore) counts too.
	withFile := []byte("From: a@ecole.test\r\nSubject: t\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\ntexte\r\n" +
		"--X\r\nContent-Type: image/png; name=a.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--X--\r\n")
	in2 := NewIntake(&failAcceptor{}, failBlobs{}, parse.Options{}, nil)
	if err := in2.Deliver(ctx, withFile, env); !errors.Is(err, parse.ErrStore) {
		t.Fatalf("attachment write failing: %v, want parse.ErrStore", err)
	}
	if err := in2.Ping(ctx); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("after an attachment write failed: Ping = %v", err)
	}
}
