package mailin

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
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
// ones, which go-smtp's own Shutdown waits for, and refuses those over the limits.
type trackingListener struct {
	net.Listener
	s *SMTPServer
}

// Accept implements net.Listener. A connection over MaxConnections or
// MaxConnectionsPerIP gets 421 4.7.0 and is closed here: go-smtp never sees it.
func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// trackedConn is an accepted connection; busy is set from MAIL to the end of the
// transaction, when Shutdown must leave the connection alone.
//
// It also keeps the session's limits (smtp_limits.go): go-smtp sets a read deadline
// before each command line it reads, so SetReadDeadline is where a new command is
// counted and where the session's end is enforced.
type trackedConn struct {
	net.Conn
	s   *SMTPServer
	ip  string    // client address for MaxConnectionsPerIP; "" when not counted
	end time.Time // MaxSessionTime after the connection; zero when unlimited

	mu   sync.Mutex
	busy bool
	once sync.Once

	smtpConn   *smtp.Conn // set by the first NewSession; its Conn() is the TLS layer after STARTTLS
	tlsStarted bool       // a TLS handshake began, maybe before any session
	started    bool       // the first command line was asked for
	txStep     bool       // the current command took a transaction forward
	receiving  bool       // the message data is being read (BDAT chunks arrive meanwhile)
	draining   bool       // the message was read; go-smtp reads what is left, then replies
	junk       int        // commands that took no transaction forward, since the last message
	errs       int        // refused commands, since the last message
}

// Close implements net.Conn and forgets the connection, which gives its slot back.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		if c.ip != "" {
			if c.s.perIP[c.ip]--; c.s.perIP[c.ip] <= 0 {
				delete(c.s.perIP, c.ip)
			}
		}
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
