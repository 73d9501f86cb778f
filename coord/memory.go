package coord

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process coordination of a single instance: leases, limits and
// signals held in memory. It implements Locker, Limiter, Backoff and Notifier.
//
// Rate-limit and backoff keys come from the outside (every address tried at /login), so
// they must not stay for the life of the process: each entry knows when it expires, and
// the calls that add entries sweep the expired ones now and then (see sweep), without a
// goroutine.
type Memory struct {
	now func() time.Time

	mu       sync.Mutex
	leases   map[string]*memLease
	fence    map[string]int64
	windows  map[string]*memWindow
	backoffs map[string]*memBackoff
	subs     map[string][]chan struct{}

	nextSweep time.Time // a sweep is due at this time…
	sweepSize int       // …or when this many windows and backoffs are held
}

// memWindow is the sliding window of one Limiter key.
type memWindow struct {
	events  []time.Time // allowed events, oldest first
	expires time.Time   // when the newest event leaves the window
}

// memBackoff is the failure count of one Backoff key.
type memBackoff struct {
	n       int       // counted failures
	last    time.Time // the last counted try
	expires time.Time // when the key is forgotten
}

// NewMemory returns an empty in-process coordinator.
func NewMemory() *Memory { return NewMemoryClock(time.Now) }

// NewMemoryClock returns an empty in-process coordinator that reads the time from now,
// so that tests can drive its windows, delays and leases.
func NewMemoryClock(now func() time.Time) *Memory {
	return &Memory{now: now, leases: map[string]*memLease{}, fence: map[string]int64{},
		windows: map[string]*memWindow{}, backoffs: map[string]*memBackoff{}, subs: map[string][]chan struct{}{},
		sweepSize: minSweepSize}
}

var (
	_ Locker   = (*Memory)(nil)
	_ Limiter  = (*Memory)(nil)
	_ Backoff  = (*Memory)(nil)
	_ Notifier = (*Memory)(nil)
)

type memLease struct {
	m       *Memory
	name    string
	token   int64
	ttl     time.Duration
	expires time.Time
}

// TryAcquire implements Locker.
func (m *Memory) TryAcquire(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && m.now().Before(l.expires) {
		return nil, ErrHeld
	}
	m.fence[name]++
	l := &memLease{m: m, name: name, token: m.fence[name], ttl: ttl, expires: m.now().Add(ttl)}
	m.leases[name] = l
	return l, nil
}

func (l *memLease) Name() string { return l.name }
func (l *memLease) Token() int64 { return l.token }

func (l *memLease) Renew(ctx context.Context) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	cur, ok := l.m.leases[l.name]
	if !ok || cur != l || !l.m.now().Before(l.expires) {
		return ErrLost
	}
	l.expires = l.m.now().Add(l.ttl)
	return nil
}

func (l *memLease) Release(ctx context.Context) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if cur, ok := l.m.leases[l.name]; ok && cur == l {
		delete(l.m.leases, l.name)
	}
	return nil
}

// Allow implements Limiter with a sliding window.
func (m *Memory) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	defer m.sweep(now)
	w := m.windows[key]
	if w == nil {
		w = &memWindow{}
	}
	i := 0
	for i < len(w.events) && !w.events[i].After(now.Add(-window)) {
		i++
	}
	w.events = w.events[i:]
	if len(w.events) >= limit {
		if len(w.events) == 0 {
			delete(m.windows, key)
		}
		return false, nil
	}
	w.events = append(w.events, now)
	w.expires = now.Add(window)
	m.windows[key] = w
	return true, nil
}

// Notify implements Notifier.
func (m *Memory) Notify(ctx context.Context, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.subs[topic] {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	return nil
}

// Subscribe implements Notifier.
func (m *Memory) Subscribe(ctx context.Context, topic string) (<-chan struct{}, error) {
	c := make(chan struct{}, 1)
	m.mu.Lock()
	m.subs[topic] = append(m.subs[topic], c)
	m.mu.Unlock()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		defer m.mu.Unlock()
		list := m.subs[topic]
		for i, x := range list {
			if x == c {
				m.subs[topic] = append(list[:i], list[i+1:]...)
				break
			}
		}
	}()
	return c, nil
}
