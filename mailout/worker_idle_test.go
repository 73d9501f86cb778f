package mailout

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guichet/guichet/ticket"
)

// countingQueue counts the claims made through it.
type countingQueue struct {
	Queue
	claims atomic.Int64
}

func (q *countingQueue) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]ticket.OutboxMail, error) {
	q.claims.Add(1)
	return q.Queue.ClaimOutbox(ctx, limit, lease)
}

// TestWorkerIdleClaimsBounded runs the worker on a real ticket service wired as serve
// wires them (the service's OnOutbox raises the worker's Wake). With an empty outbox the
// worker claims once at start and then once per PollInterval: its own claim's commit
// woke it again, thousands of times a second. Mail queued afterwards still goes out at
// once, long before the next poll.
func TestWorkerIdleClaimsBounded(t *testing.T) {
	ctx := context.Background()
	db, _, err := ticket.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := ticket.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	wake := make(chan struct{}, 1)
	svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080",
		Secret: []byte("0123456789abcdef0123"), OnOutbox: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })

	var mu sync.Mutex
	var sent []string
	q := &countingQueue{Queue: svc}
	w, logs := newTestWorker(t, q, SenderFunc(func(_ context.Context, _ string, to []string, _ []byte) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, to...)
		return nil
	}), func(o *Options) {
		o.Wake = wake
		o.PollInterval = time.Hour // any claim after the first is a wake-up
	})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		stop()
		<-done
	}()

	time.Sleep(time.Second)
	if n := q.claims.Load(); n > 2 {
		t.Fatalf("an idle worker claimed %d times in 1 s with a 1 h poll interval; want 1", n)
	}

	d := ticket.Delivery{
		Raw: []byte("From: jeanne@ac-lyon.fr\r\nSubject: Imprimante\r\nMessage-ID: <idle.1@ac-lyon.fr>\r\n\r\nEn panne.\r\n"),
		Env: ticket.Envelope{From: "jeanne@ac-lyon.fr", Recipients: []string{"support@localhost"}, Channel: "test"},
		Msg: &ticket.Inbound{MessageID: "idle.1@ac-lyon.fr", From: ticket.Address{Email: "jeanne@ac-lyon.fr"},
			Subject: "Imprimante", Summary: "Imprimante", Text: "En panne.", Visible: "En panne."},
	}
	if r, err := svc.Accept(ctx, d); err != nil || !r.Created {
		t.Fatalf("accept: %+v %v", r, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(sent)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the confirmation was not sent within 10 s of its commit (claims: %d)\n%s", q.claims.Load(), logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The wake-up's claim took the mail; the marks that followed woke nothing.
	time.Sleep(500 * time.Millisecond)
	if n := q.claims.Load(); n > 4 {
		t.Fatalf("%d claims for one mail; the worker's own commits woke it again", n)
	}
}
