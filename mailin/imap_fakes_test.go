package mailin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/ticket"
)

// imapSink records the Message-IDs it is given and deduplicates them like the real
// intake. tempFail makes the next n deliveries of a Message-ID fail for now; refuse makes
// them fail for good.
type imapSink struct {
	mu        sync.Mutex
	calls     []string       // every call, in order
	taken     map[string]int // Message-ID → times stored (1 at most, or the dedup failed)
	tempFail  map[string]int
	refuse    map[string]bool
	onDeliver func(mid string) // called before the outcome is decided
}

func newIMAPSink() *imapSink {
	return &imapSink{taken: map[string]int{}, tempFail: map[string]int{}, refuse: map[string]bool{}}
}

func (f *imapSink) Deliver(ctx context.Context, raw []byte, env ticket.Envelope) error {
	if env.Channel != "imap" || env.From != "" || env.Recipients != nil {
		return fmt.Errorf("unexpected envelope %+v", env)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Refuse("unreadable")
	}
	mid := strings.Trim(m.Header.Get("Message-Id"), "<>")
	f.mu.Lock()
	f.calls = append(f.calls, mid)
	hook := f.onDeliver
	f.mu.Unlock()
	if hook != nil {
		hook(mid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse[mid] {
		return Refuse("test refusal")
	}
	if f.tempFail[mid] > 0 {
		f.tempFail[mid]--
		return errors.New("database unavailable")
	}
	if f.taken[mid] == 0 { // a duplicate is accepted and not stored again
		f.taken[mid] = 1
	}
	return nil
}

// stored returns how many distinct messages were stored.
func (f *imapSink) stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.taken)
}

func (f *imapSink) has(mid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.taken[mid] > 0
}

func (f *imapSink) callCount(mid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == mid || mid == "" {
			n++
		}
	}
	return n
}

// fakeCursors is a CursorStore with the fencing rule of ticket.Service.
type fakeCursors struct {
	mu sync.Mutex
	m  map[string][3]int64 // validity, last, fence
}

func newFakeCursors() *fakeCursors { return &fakeCursors{m: map[string][3]int64{}} }

func (c *fakeCursors) IMAPCursor(ctx context.Context, mailbox string) (uint32, uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.m[mailbox]
	return uint32(v[0]), uint32(v[1]), nil
}

func (c *fakeCursors) SaveIMAPCursor(ctx context.Context, mailbox string, validity, last uint32, fence int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[mailbox]; ok && old[2] > fence {
		return fmt.Errorf("fake: fence %d < %d: %w", fence, old[2], ticket.ErrStaleLease)
	}
	c.m[mailbox] = [3]int64{int64(validity), int64(last), fence}
	return nil
}

func (c *fakeCursors) get(mailbox string) (validity, last uint32) {
	v, l, _ := c.IMAPCursor(context.Background(), mailbox)
	return v, l
}

func (c *fakeCursors) set(mailbox string, validity, last uint32, fence int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[mailbox] = [3]int64{int64(validity), int64(last), fence}
}

// fakeLocker works like coord.Memory: expiring leases with a growing fencing token.
type fakeLocker struct {
	mu     sync.Mutex
	leases map[string]*fakeLease
	fence  int64
}

type fakeLease struct {
	l       *fakeLocker
	name    string
	token   int64
	ttl     time.Duration
	expires time.Time
}

func newFakeLocker() *fakeLocker { return &fakeLocker{leases: map[string]*fakeLease{}} }

func (l *fakeLocker) TryAcquire(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.leases[name]; ok && time.Now().Before(cur.expires) {
		return nil, fmt.Errorf("fake: %w", ErrLeaseHeld)
	}
	l.fence++
	ls := &fakeLease{l: l, name: name, token: l.fence, ttl: ttl, expires: time.Now().Add(ttl)}
	l.leases[name] = ls
	return ls, nil
}

// steal hands the lease on name to someone else, as when a holder stalls past its TTL.
func (l *fakeLocker) steal(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fence++
	l.leases[name] = &fakeLease{l: l, name: name, token: l.fence, ttl: time.Hour, expires: time.Now().Add(time.Hour)}
}

func (l *fakeLocker) release(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.leases, name)
}

func (s *fakeLease) Name() string { return s.name }
func (s *fakeLease) Token() int64 { return s.token }
func (s *fakeLease) Renew(ctx context.Context) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if cur := s.l.leases[s.name]; cur != s || !time.Now().Before(s.expires) {
		return errors.New("fake: lease lost")
	}
	s.expires = time.Now().Add(s.ttl)
	return nil
}
func (s *fakeLease) Release(ctx context.Context) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.leases[s.name] == s {
		delete(s.l.leases, s.name)
	}
	return nil
}

// testMessage returns a small message with Message-ID <id@test>.
func testMessage(id string) []byte {
	return []byte("From: Alice <alice@example.org>\r\nTo: support@localhost\r\nSubject: test " + id +
		"\r\nMessage-ID: <" + id + "@test>\r\nDate: Mon, 02 Jan 2006 15:04:05 +0100\r\n\r\nHello " + id + ".\r\n")
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
