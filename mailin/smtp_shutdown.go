package mailin

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// shutdownGrace is how long Shutdown still waits, once its context is done, for the
// canceled deliveries to answer 451 before it closes every connection.
const shutdownGrace = time.Second

// Shutdown stops accepting connections and lets every transaction in progress (from MAIL
// to the reply after the data) finish with its 250 or 4xx reply, while connections
// between transactions are closed with 421. New sessions and transactions get 421 4.3.2.
// When ctx is done first, the deliveries still running see their context canceled and
// answer 451; after at most one more second the remaining connections are closed and
// Shutdown returns ctx's error.
func (s *SMTPServer) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(ctx) }()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		// go-smtp sets a fresh read deadline before each command, so idle connections are
		// nudged again until they are gone.
		s.kickIdle()
		select {
		case err := <-done:
			if ctx.Err() != nil {
				break loop
			}
			s.cancel()
			if err != nil {
				return fmt.Errorf("mailin: %s shutdown: %w", s.channel, err)
			}
			return nil
		case <-tick.C:
		case <-ctx.Done():
			break loop
		}
	}

	s.log.Warn("shutdown deadline reached, canceling deliveries", "connections", s.connCount())
	s.cancel()
	grace := time.Now().Add(shutdownGrace)
	for s.connCount() > 0 && time.Now().Before(grace) {
		s.kickIdle()
		time.Sleep(20 * time.Millisecond)
	}
	s.srv.Close()
	return fmt.Errorf("mailin: %s shutdown: %w", s.channel, ctx.Err())
}

// kickIdle sets a past read deadline on every connection outside a transaction: its
// pending read fails and go-smtp answers 421 4.4.2 and closes it.
func (s *SMTPServer) kickIdle() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kick()
	}
}

func (s *SMTPServer) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// trackingListener registers every accepted connection, so Shutdown can reach the idle
// ones, which go-smtp's own Shutdown waits for.
type trackingListener struct {
	net.Listener
	s *SMTPServer
}

// Accept implements net.Listener.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

// trackedConn is an accepted connection; busy is set from MAIL to the end of the
// transaction, when Shutdown must leave the connection alone.
type trackedConn struct {
	net.Conn
	s *SMTPServer

	mu   sync.Mutex
	busy bool
	once sync.Once
}

// Close implements net.Conn and forgets the connection.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

func (c *trackedConn) setBusy(b bool) {
	c.mu.Lock()
	c.busy = b
	c.mu.Unlock()
}

func (c *trackedConn) kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.busy {
		c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// trackedOf finds the trackedConn under a go-smtp connection (possibly a *tls.Conn).
func trackedOf(c net.Conn) *trackedConn {
	for c != nil {
		switch v := c.(type) {
		case *trackedConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
