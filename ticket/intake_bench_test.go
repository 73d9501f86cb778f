package ticket

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchDelivery is a new request from its own sender (so that no confirmation is held
// back by the per-sender limit), with a 2 KB raw message.
func benchDelivery(i int64) Delivery {
	from := fmt.Sprintf("camille.durand.%d@ac-lyon.fr", i)
	mid := fmt.Sprintf("bench.%d@ac-lyon.fr", i)
	subject := fmt.Sprintf("Impossible de me connecter à l'ENT (n° %d)", i)
	text := strings.Repeat("Bonjour, depuis ce matin plusieurs enseignants n'arrivent plus à accéder à leur espace. ", 18)
	raw := "From: Camille Durand <" + from + ">\r\nTo: support@localhost\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + mid + ">\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + text + "\r\n"
	return Delivery{
		Raw: []byte(raw),
		Env: Envelope{From: from, Recipients: []string{"support@localhost"}, Channel: "smtp", RemoteAddr: "127.0.0.1:40000"},
		Msg: &Inbound{
			MessageID: mid, From: Address{Name: "Camille Durand", Email: from}, To: []Address{{Email: "support@localhost"}},
			Subject: subject, Summary: subject, Text: text, Visible: text,
		},
	}
}

// BenchmarkAccept measures group commit on SQLite without SMTP: 8 goroutines call Accept
// with new requests (each makes a ticket, a confirmation and a mail to the one agent).
// "batch" is the mean number of messages per transaction that queued mail (each
// message queues some; OnOutbox counts them, not the claims). With_outbox adds four
// goroutines that claim and mark sent the queued mail as mailout's worker does, with
// no network in between: the write lock is then shared as in `guichet serve`.
func BenchmarkAccept(b *testing.B) {
	b.Run("alone", func(b *testing.B) { benchAccept(b, 0) })
	b.Run("with_outbox", func(b *testing.B) { benchAccept(b, 4) })
}

func benchAccept(b *testing.B, senders int) {
	ctx := context.Background()
	db, _, err := Open(ctx, filepath.Join(b.TempDir(), "g.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	var batches atomic.Int64
	s, err := NewService(ctx, db, Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"),
		OnOutbox: func() { batches.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddUser(ctx, NewUser{Email: "alice@support.test", Name: "Alice", Role: RoleAgent}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range senders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ms, err := s.ClaimOutbox(ctx, 1, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if len(ms) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				if err := s.MarkSent(ctx, ms[0].ID, "250 2.0.0 OK"); err != nil {
					b.Error(err)
					return
				}
				sent.Add(1)
			}
		})
	}
	var next atomic.Int64
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // 8 goroutines on 2 or 8 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	batches.Store(0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := s.Accept(ctx, benchDelivery(next.Add(1)))
			if err != nil || !r.Created {
				b.Errorf("accept: %+v %v", r, err)
				return
			}
		}
	})
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "batch")
	}
	if senders > 0 {
		b.ReportMetric(float64(sent.Load())/b.Elapsed().Seconds(), "sent/s")
	}
}
