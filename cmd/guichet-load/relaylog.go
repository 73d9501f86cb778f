package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// relayLog follows the relay sink's "got RCPT…" lines: which addresses received mail,
// how many each, and when the first arrived.
type relayLog struct {
	mu  sync.Mutex
	got map[string]relayEntry
	now func() time.Time
}

type relayEntry struct {
	n     int
	first time.Time
}

func newRelayLog() *relayLog {
	return &relayLog{got: make(map[string]relayEntry), now: time.Now}
}

// line takes a line of the sink's output and tells whether it was a "got" line.
func (r *relayLog) line(l string) bool {
	rest, ok := strings.CutPrefix(l, "got ")
	if !ok {
		return false
	}
	t := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range strings.Fields(rest) {
		a = strings.ToLower(a)
		e := r.got[a]
		if e.n == 0 {
			e.first = t
		}
		e.n++
		r.got[a] = e
	}
	return true
}

// count returns how many mails addr received.
func (r *relayLog) count(addr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[strings.ToLower(addr)].n
}

// firstAt returns when addr first received mail, zero if never.
func (r *relayLog) firstAt(addr string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[strings.ToLower(addr)].first
}

// wait waits until every address of addrs received mail, for at most d, and returns when
// the last of them first did.
func (r *relayLog) wait(ctx context.Context, addrs []string, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	pending := make([]string, len(addrs))
	for i, a := range addrs {
		pending[i] = strings.ToLower(a)
	}
	var last time.Time
	for {
		r.mu.Lock()
		left := pending[:0]
		for _, a := range pending {
			e := r.got[a]
			if e.n == 0 {
				left = append(left, a)
			} else if e.first.After(last) {
				last = e.first
			}
		}
		r.mu.Unlock()
		pending = left
		if len(pending) == 0 {
			return last, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Time{}, fmt.Errorf("%d of %d confirmations did not reach the relay sink within %s", len(pending), len(addrs), d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
