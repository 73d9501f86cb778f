package mailout

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/ticket"
)

// logBuffer collects the worker's logs for inspection.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestWorker(t *testing.T, q Queue, s Sender, edit func(*Options)) (*Worker, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opt := Options{
		Queue:        q,
		Sender:       s,
		Templates:    mustTemplates(t),
		Blobs:        blobs{},
		From:         "support@localhost",
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
		PollInterval: 20 * time.Millisecond,
	}
	if edit != nil {
		edit(&opt)
	}
	return NewWorker(opt), logs
}

func queued(n int) *fakeQueue {
	q := &fakeQueue{}
	for i := 1; i <= n; i++ {
		m := sampleMail()
		m.ID = int64(i)
		m.CreatedAt = time.Now()
		q.add(m)
	}
	return q
}

func TestDrainSends(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	q := queued(6)
	w, logs := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), nil)
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(snk.received()); got != 6 {
		t.Fatalf("%d mails received, want 6", got)
	}
	for i := int64(1); i <= 6; i++ {
		if r := q.row(i); r.state != ticket.OutboxSent || !strings.HasPrefix(r.response, "250") {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	if strings.Contains(logs.String(), "Nous avons bien reçu") {
		t.Error("a mail body was logged")
	}
}

func TestRetryThenSent(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	snk.dataErrs = []error{errTempfail}
	q := queued(1)
	var attempts []int
	w, _ := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), func(o *Options) {
		o.Backoff = func(n int) time.Duration { attempts = append(attempts, n); return time.Minute }
	})
	before := time.Now()
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := q.row(1)
	if r.state != ticket.OutboxPending || r.retries != 1 || !strings.Contains(r.errText, "451 4.7.1 Greylisted, try later") {
		t.Fatalf("after 451: %+v", r)
	}
	if r.next.Before(before.Add(time.Minute)) || r.next.After(time.Now().Add(time.Minute)) {
		t.Errorf("next = %s", r.next)
	}
	if len(attempts) != 1 || attempts[0] != 1 {
		t.Errorf("backoff called with %v", attempts)
	}
	// Not due yet: a drain sends nothing.
	if err := w.Drain(context.Background()); err != nil || len(snk.received()) != 0 {
		t.Fatalf("early drain: %v, %d received", err, len(snk.received()))
	}
	q.makeDue()
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := q.row(1); r.state != ticket.OutboxSent || len(snk.received()) != 1 {
		t.Errorf("after retry: %+v", r)
	}
}

func TestPermanentFailure(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	snk.rcptErr = errNoUser
	q := queued(1)
	w, _ := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), nil)
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := q.row(1)
	if r.state != ticket.OutboxFailed || !strings.Contains(r.errText, "550 5.1.1 No such user here") {
		t.Errorf("row = %+v", r)
	}
}

func TestGiveUpAfterMaxAge(t *testing.T) {
	q := &fakeQueue{}
	m := sampleMail()
	m.CreatedAt = time.Now().Add(-49 * time.Hour)
	q.add(m)
	temp := SenderFunc(func(context.Context, string, []string, []byte) error {
		return &ReplyError{Command: "DATA", Code: 421, EnhancedCode: "4.3.2", Message: "shutting down"}
	})
	w, _ := newTestWorker(t, q, temp, nil)
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := q.row(m.ID)
	if r.state != ticket.OutboxFailed || !strings.Contains(r.errText, "gave up") || !strings.Contains(r.errText, "421 4.3.2") {
		t.Errorf("row = %+v", r)
	}

	// Close to the limit, the retry is set at the limit.
	q = &fakeQueue{}
	m.CreatedAt = time.Now().Add(-48*time.Hour + 10*time.Second)
	q.add(m)
	w, _ = newTestWorker(t, q, temp, nil)
	w.opt.Backoff = func(int) time.Duration { return time.Hour }
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := q.row(m.ID); r.state != ticket.OutboxPending || r.next.After(m.CreatedAt.Add(48*time.Hour)) {
		t.Errorf("row = %+v", r)
	}
}

func TestRenderFailureIsPermanent(t *testing.T) {
	q := &fakeQueue{}
	m := sampleMail()
	m.Kind = "nonsense"
	q.add(m)
	sent := 0
	w, _ := newTestWorker(t, q, SenderFunc(func(context.Context, string, []string, []byte) error { sent++; return nil }), nil)
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := q.row(m.ID); r.state != ticket.OutboxFailed || sent != 0 {
		t.Errorf("row = %+v, sent %d", r, sent)
	}
}

// TestMarkSentFails: the relay took the mail, the queue could not record it. The row is
// neither retried nor failed, and the log says so.
func TestMarkSentFails(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	q := queued(1)
	q.SentErr = errors.New("database is locked")
	w, logs := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), nil)
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := q.row(1)
	if r.state != ticket.OutboxPending || r.retries != 0 || len(snk.received()) != 1 {
		t.Errorf("row = %+v, %d received", r, len(snk.received()))
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "not marked sent") {
		t.Errorf("logs:\n%s", logs)
	}
	// Still claimed: a second drain does not send it again.
	if err := w.Drain(context.Background()); err != nil || len(snk.received()) != 1 {
		t.Errorf("second drain: %v, %d received", err, len(snk.received()))
	}
}

func TestDrainClaimError(t *testing.T) {
	q := queued(1)
	q.ClaimErr = errors.New("no database")
	w, _ := newTestWorker(t, q, SenderFunc(func(context.Context, string, []string, []byte) error { return nil }), nil)
	if err := w.Drain(context.Background()); err == nil {
		t.Error("no error")
	}
}

func TestRunWakesAndStops(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	q := &fakeQueue{}
	wake := make(chan struct{}, 1)
	w, _ := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), func(o *Options) {
		o.Wake = wake
		o.PollInterval = time.Hour // only the wake-up can find the mail
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	time.Sleep(50 * time.Millisecond)
	m := sampleMail()
	m.CreatedAt = time.Now()
	q.add(m)
	wake <- struct{}{}
	waitFor(t, func() bool { return q.row(m.ID).state == ticket.OutboxSent })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// TestRunFinishesInFlight cancels Run while the relay is slow to answer DATA: the send
// completes and is marked before Run returns.
func TestRunFinishesInFlight(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	snk.delay = 300 * time.Millisecond
	q := queued(3)
	w, _ := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // the three sends are in flight
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	for i := int64(1); i <= 3; i++ {
		if r := q.row(i); r.state != ticket.OutboxSent {
			t.Errorf("row %d not sent: %+v", i, r)
		}
	}
}

func TestRunConcurrencyLimit(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	s := SenderFunc(func(context.Context, string, []string, []byte) error {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	q := queued(10)
	w, _ := newTestWorker(t, q, s, func(o *Options) { o.Concurrency = 3 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, func() bool {
		for i := int64(1); i <= 10; i++ {
			if q.row(i).state != ticket.OutboxSent {
				return false
			}
		}
		return true
	})
	cancel()
	<-done
	if peak > 3 || peak < 2 {
		t.Errorf("peak concurrency %d, want 2..3", peak)
	}
}

func TestRunNeedsOptions(t *testing.T) {
	if err := NewWorker(Options{}).Run(context.Background()); err == nil {
		t.Error("no error")
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 20: time.Hour} {
		for range 50 {
			d := DefaultBackoff(attempt)
			if d > want || d < want/2 {
				t.Errorf("DefaultBackoff(%d) = %s, want in [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The ticket package provides the queue, the blob package the attachments.
var (
	_ Queue      = (*ticket.Service)(nil)
	_ BlobReader = (*blob.Store)(nil)
)

// TestRunGivesBackClaimedRows: Run claims ahead of its free slots; when it stops, the
// rows it claimed and did not start are given back, due again at once.
func TestRunGivesBackClaimedRows(t *testing.T) {
	q := queued(10)
	started := make(chan struct{}, 10)
	unblock := make(chan struct{})
	slow := SenderFunc(func(ctx context.Context, from string, to []string, msg []byte) error {
		started <- struct{}{}
		<-unblock
		return nil
	})
	w, _ := newTestWorker(t, q, slow, func(o *Options) { o.Concurrency = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-started // one send in flight, three more claimed ahead
	cancel()
	close(unblock)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	released, claimed := q.released, 0
	for _, r := range q.rows {
		if r.state == ticket.OutboxPending && !r.claimedUntil.IsZero() {
			claimed++
		}
	}
	q.mu.Unlock()
	if released != 3 || claimed != 0 {
		t.Fatalf("given back %d rows, %d still claimed; want 3 and 0", released, claimed)
	}
	if r := q.row(1); r.state != ticket.OutboxSent {
		t.Errorf("the mail in flight: %+v", r)
	}
}

// TestRunClaimsAgainAfterFullClaim queues more mail than one claim takes (four per
// slot) and never wakes the worker: every row is sent long before the poll, because a
// full claim is followed by another once its rows are started. (Under load the wake-up
// for the rows left is taken before the full claim, and they waited for the poll: the
// outbox sent 16 mails every 2 s.)
func TestRunClaimsAgainAfterFullClaim(t *testing.T) {
	const n = 50
	q := queued(n)
	s := SenderFunc(func(context.Context, string, []string, []byte) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	w, _ := newTestWorker(t, q, s, func(o *Options) {
		o.Concurrency = 2 // claims of 8: 50 rows take seven
		o.PollInterval = time.Hour
		o.Wake = make(chan struct{}) // never
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sent := 0
		for i := int64(1); i <= n; i++ {
			if q.row(i).state == ticket.OutboxSent {
				sent++
			}
		}
		if sent == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows sent after 5 s without a wake-up", sent, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowMarks is a queue whose MarkSent waits until release is closed.
type slowMarks struct {
	*fakeQueue
	release chan struct{}
}

func (q slowMarks) MarkSent(ctx context.Context, id int64, response string) error {
	<-q.release
	return q.fakeQueue.MarkSent(ctx, id, response)
}

// TestRunSendsWhileMarking: with one sending slot, the second mail goes to the relay
// while the first one's mark (a database commit) is still waiting: the slot bounds the
// relay sessions, not the marks.
func TestRunSendsWhileMarking(t *testing.T) {
	q := slowMarks{fakeQueue: queued(2), release: make(chan struct{})}
	var mu sync.Mutex
	sends := 0
	s := SenderFunc(func(context.Context, string, []string, []byte) error {
		mu.Lock()
		sends++
		mu.Unlock()
		return nil
	})
	w, _ := newTestWorker(t, q, s, func(o *Options) { o.Concurrency = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return sends == 2 })
	close(q.release)
	waitFor(t, func() bool { return q.row(1).state == ticket.OutboxSent && q.row(2).state == ticket.OutboxSent })
	cancel()
	<-done
}

// TestClaimSize: claims double while they come back full, up to 32 rows per slot, and
// never beyond what the slots can start within a quarter of the lease at the measured
// speed; a claim that is not full starts over at four per slot.
func TestClaimSize(t *testing.T) {
	for _, c := range []struct {
		name     string
		sendTime time.Duration
		last     int
		full     bool
		want     int
	}{
		{"first claim", 0, 0, false, 16},
		{"full, no mail timed yet", 0, 16, true, 16},
		{"not full", time.Millisecond, 64, false, 16},
		{"full: doubles", time.Millisecond, 16, true, 32},
		{"full: doubles again", time.Millisecond, 64, true, 128},
		{"full: at most 32 per slot", time.Millisecond, 128, true, 128},
		{"slow relay: bounded by the lease", 10 * time.Second, 64, true, 30}, // 4 slots × 75 s / 10 s
		{"very slow relay: four per slot still", time.Minute, 64, true, 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := NewWorker(Options{Concurrency: 4, Lease: 5 * time.Minute})
			w.sendTime.Store(int64(c.sendTime))
			if got := w.claimSize(c.last, c.full); got != c.want {
				t.Errorf("claimSize(%d, %v) at %v per mail = %d, want %d", c.last, c.full, c.sendTime, got, c.want)
			}
		})
	}
}

// runUntilSent runs w until rows 1 to n of q are sent, then stops it.
func runUntilSent(t *testing.T, w *Worker, q *fakeQueue, n int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, func() bool {
		for i := int64(1); i <= n; i++ {
			if q.row(i).state != ticket.OutboxSent {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRunClaimsGrow: a backlog of 300 mails goes out in a few claims that grow (8, 16,
// 32, 64, …) rather than in 38 claims of 8.
func TestRunClaimsGrow(t *testing.T) {
	const n = 300
	q := queued(n)
	s := SenderFunc(func(context.Context, string, []string, []byte) error { return nil })
	w, _ := newTestWorker(t, q, s, func(o *Options) {
		o.Concurrency = 2
		o.PollInterval = time.Hour
		o.Wake = make(chan struct{}) // never
	})
	runUntilSent(t, w, q, n)
	q.mu.Lock()
	claims := append([]int(nil), q.claims...)
	q.mu.Unlock()
	if len(claims) < 2 || claims[0] != 8 || claims[1] != 16 {
		t.Fatalf("claims %v: want 8, then 16, …", claims)
	}
	if len(claims) > 10 {
		t.Errorf("%d claims for %d mails (%v): they did not grow", len(claims), n, claims)
	}
	for _, c := range claims {
		if c > 64 {
			t.Errorf("a claim of %d rows: over 32 per slot", c)
		}
	}
}

// slowClaims is a queue whose claims take a while (as a claim waits for the committer's
// next transaction) and that notes, at each claim, how many rows were claimed before
// and not sent yet.
type slowClaims struct {
	*fakeQueue
	mu     sync.Mutex
	unsent []int
}

func (q *slowClaims) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]ticket.OutboxMail, error) {
	q.fakeQueue.mu.Lock()
	n := 0
	for _, r := range q.fakeQueue.rows {
		if r.state == ticket.OutboxPending && r.claimedUntil.After(time.Now()) {
			n++
		}
	}
	q.fakeQueue.mu.Unlock()
	q.mu.Lock()
	q.unsent = append(q.unsent, n)
	q.mu.Unlock()
	time.Sleep(10 * time.Millisecond)
	return q.fakeQueue.ClaimOutbox(ctx, limit, lease)
}

// TestRunClaimsAhead: the claim after a full one starts while rows of the full one are
// still to send, so that the slots do not wait for it.
func TestRunClaimsAhead(t *testing.T) {
	const n = 200
	q := &slowClaims{fakeQueue: queued(n)}
	s := SenderFunc(func(context.Context, string, []string, []byte) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	w, _ := newTestWorker(t, q, s, func(o *Options) {
		o.Concurrency = 2
		o.PollInterval = time.Hour
		o.Wake = make(chan struct{}) // never
	})
	runUntilSent(t, w, q.fakeQueue, n)
	q.mu.Lock()
	defer q.mu.Unlock()
	ahead := 0
	for _, u := range q.unsent[1:] {
		if u > 2 { // more than the two slots have in flight: rows not started yet
			ahead++
		}
	}
	if ahead == 0 {
		t.Fatalf("every claim waited for the previous one's rows to be sent (unsent rows at each claim: %v)", q.unsent)
	}
}

// TestRunReleasesClaimAhead: a claim made ahead and not started when Run stops is given
// back with the rest.
func TestRunReleasesClaimAhead(t *testing.T) {
	q := queued(40)
	var calls atomic.Int32
	started := make(chan struct{}, 40)
	unblock := make(chan struct{})
	s := SenderFunc(func(ctx context.Context, from string, to []string, msg []byte) error {
		if calls.Add(1) <= 2 {
			return nil // the first two go: the claim of 4 is half sent
		}
		started <- struct{}{}
		<-unblock
		return nil
	})
	w, _ := newTestWorker(t, q, s, func(o *Options) { o.Concurrency = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-started // the third in flight, the fourth ahead
	waitFor(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.claims) >= 2 })
	cancel()
	close(unblock)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	sent, claimed := 0, 0
	for _, r := range q.rows {
		switch {
		case r.state == ticket.OutboxSent:
			sent++
		case r.state == ticket.OutboxPending && !r.claimedUntil.IsZero():
			claimed++
		}
	}
	if q.claims[0] != 4 || q.claims[1] != 8 {
		t.Errorf("claims %v, want 4 then 8 ahead", q.claims)
	}
	if sent != 3 || claimed != 0 || q.released != 9 {
		t.Fatalf("%d sent, %d left claimed, %d given back; want 3, 0 and 9 (one of the first claim, the 8 of the claim ahead)", sent, claimed, q.released)
	}
}
