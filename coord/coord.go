// Package coord holds what several parts of Guichet, or several instances of it, must
// agree on: "work is waiting" signals, leases, rate limits and failure backoffs. This
// file is the in-process implementation used by a single instance; a Redis
// implementation shares the same interfaces between instances.
package coord

import "sync"

// Signal is a "work is waiting" wake-up: Notify never blocks, and a waiter reading C
// after any number of Notify calls wakes once.
type Signal struct {
	once sync.Once
	c    chan struct{}
}

func (s *Signal) init() { s.once.Do(func() { s.c = make(chan struct{}, 1) }) }

// Notify wakes a waiter, now or at its next wait.
func (s *Signal) Notify() {
	s.init()
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// C is the channel to wait on.
func (s *Signal) C() <-chan struct{} {
	s.init()
	return s.c
}
