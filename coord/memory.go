package coord

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process coordination of a single instance: leases, limits and
// signals held in memory. It implements Locker, Limiter and Notifier.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	leases  map[string]*memLease
	fence   map[string]int64
	windows map[string][]time.Time
	subs    map[string][]chan struct{}
}

// NewMemory returns an empty in-process coordinator.
func NewMemory() *Memory {
	return &Memory{now: time.Now, leases: map[string]*memLease{}, fence: map[string]int64{}, windows: map[string][]time.Time{}, subs: map[string][]chan struct{}{}}
}

var (
	_ Locker   = (*Memory)(nil)
	_ Limiter  = (*Memory)(nil)
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
	ts := m.windows[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= limit {
		m.windows[key] = ts
		return false, nil
	}
	m.windows[key] = append(ts, now)
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
