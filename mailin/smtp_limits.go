package mailin

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// limitReply is a 421 reply of the session limits, written by the listener itself.
type limitReply struct{ status, text string }

// Replies of the session limits. Postfix answers the same code and enhanced code to a
// client over its connection count, its junk command limit or its hard error limit.
var (
	replyTooManyConns  = &limitReply{"421 4.7.0", "Too many connections, please try again later"}
	replyTooManyFromIP = &limitReply{"421 4.7.0", "Too many connections from your address, please try again later"}
	replyTooManyJunk   = &limitReply{"421 4.7.0", "Too many commands without a message, closing connection"}
	replyTooManyErrors = &limitReply{"421 4.7.0", "Too many errors, closing connection"}
	replySessionOver   = &limitReply{"421 4.4.2", "Session too long, closing connection"}
	replyLineTimeout   = &limitReply{"421 4.4.2", "Timeout waiting for a command line, closing connection"}
	replyClosing       = &limitReply{"421 4.3.2", "Service shutting down, please try again later"}
)

// write sends the reply to w, within timeout.
func (r *limitReply) write(w net.Conn, domain string, timeout time.Duration) {
	w.SetWriteDeadline(time.Now().Add(timeout))
	fmt.Fprintf(w, "%s %s %s\r\n", r.status, domain, r.text)
}

// errSessionLimit ends a session from inside go-smtp's command loop: go-smtp ends a
// connection quietly on an error that is net.ErrClosed, after our own 421.
var errSessionLimit = fmt.Errorf("mailin: session limit reached: %w", net.ErrClosed)

// admit registers c, or answers 421 4.7.0 and closes it when it is over MaxConnections
// or MaxConnectionsPerIP, and then returns nil.
func (s *SMTPServer) admit(c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, s: s}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		tc.ip = ta.IP.String()
	}
	if d := s.opt.MaxSessionTime; d > 0 {
		tc.end = time.Now().Add(d)
	}
	var reply *limitReply
	s.mu.Lock()
	switch {
	case s.opt.MaxConnections > 0 && len(s.conns) >= s.opt.MaxConnections:
		reply = replyTooManyConns
	case tc.ip != "" && s.opt.MaxConnectionsPerIP > 0 && s.perIP[tc.ip] >= s.opt.MaxConnectionsPerIP:
		reply = replyTooManyFromIP
	default:
		s.conns[tc] = struct{}{}
		if tc.ip != "" {
			s.perIP[tc.ip]++
		}
	}
	n := len(s.conns)
	s.mu.Unlock()
	if reply == nil {
		return tc
	}
	s.log.Warn("connection refused", "remote_addr", addrString(c.RemoteAddr()), "reason", reply.text, "connections", n)
	// A goroutine, so that a client that does not read cannot stall the accept loop.
	go func() {
		reply.write(c, s.opt.Domain, s.opt.WriteTimeout)
		c.Close()
	}()
	return nil
}

// SetReadDeadline implements net.Conn. go-smtp calls it (through the TLS layer after
// STARTTLS) before it reads each command line, and only then: the message data's reads
// use setDataDeadline. So here the command just answered is counted, the limits are
// checked, and no deadline goes past the session's end. Once a limit is reached it answers
// 421 itself and returns an error that makes go-smtp close the connection without more.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if reply := c.command(); reply != nil {
		c.s.log.Warn("session closed", "remote_addr", addrString(c.RemoteAddr()), "reason", reply.text)
		c.replyAndEnd(reply)
		return errSessionLimit
	}
	return c.setDataDeadline(t)
}

// Read implements net.Conn. A read of a command line that times out ends the session
// here, with a 421 and the connection closed. go-smtp reads lines through a bufio.Reader,
// whose ReadLine drops the error when part of a line has arrived and returns that part as
// a whole line: a client that sends a command one byte at a time would see each piece
// answered as a command, and stay. The piece is still handed to go-smtp, which can only
// answer it on the closed connection.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		inData := c.receiving || c.draining
		c.mu.Unlock()
		// In the message data the deadlineReader sees the error and answers 451 itself.
		if !inData {
			reply := replyLineTimeout
			switch {
			case c.s.closing.Load():
				reply = replyClosing
			case !c.end.IsZero() && !time.Now().Before(c.end):
				reply = replySessionOver
			}
			c.s.log.Info("session closed", "remote_addr", addrString(c.RemoteAddr()), "reason", reply.text)
			c.replyAndEnd(reply)
			c.Conn.Close()
		}
	}
	return n, err
}

// setDataDeadline sets the read deadline, at the latest the session's end.
func (c *trackedConn) setDataDeadline(t time.Time) error {
	if !c.end.IsZero() && (t.IsZero() || t.After(c.end)) {
		t = c.end
	}
	return c.Conn.SetReadDeadline(t)
}

// command counts the command that was just answered and returns the 421 to send instead
// of reading the next one, or nil.
func (c *trackedConn) command() *limitReply {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started && !c.txStep && !c.receiving {
		c.junk++
	}
	c.started, c.txStep, c.draining = true, false, false
	o := &c.s.opt
	switch {
	case !c.end.IsZero() && !time.Now().Before(c.end):
		return replySessionOver
	case o.MaxErrors > 0 && c.errs >= o.MaxErrors:
		return replyTooManyErrors
	case o.MaxJunkCommands > 0 && c.junk >= o.MaxJunkCommands:
		return replyTooManyJunk
	}
	return nil
}

// replyAndEnd writes reply on the layer the client reads: the TLS connection after
// STARTTLS. A TLS handshake begun before any session leaves no such layer within reach,
// and the connection then closes without a reply.
func (c *trackedConn) replyAndEnd(reply *limitReply) {
	c.mu.Lock()
	var w net.Conn = c.Conn
	if c.smtpConn != nil {
		w = c.smtpConn.Conn()
	} else if c.tlsStarted {
		w = nil
	}
	c.mu.Unlock()
	if w != nil {
		reply.write(w, c.s.opt.Domain, c.s.opt.WriteTimeout)
	}
}

// session records the go-smtp connection of a new session.
func (c *trackedConn) session(sc *smtp.Conn) {
	c.mu.Lock()
	c.smtpConn = sc
	c.mu.Unlock()
}

// step marks the current command as one that took a transaction forward.
func (c *trackedConn) step() {
	c.mu.Lock()
	c.txStep = true
	c.mu.Unlock()
}

// refused counts a refused command.
func (c *trackedConn) refused() {
	c.mu.Lock()
	c.errs++
	c.mu.Unlock()
}

// setReceiving marks the reading of the message data; a delivered message starts the
// counts again.
func (c *trackedConn) setReceiving(on, delivered bool) {
	c.mu.Lock()
	c.receiving = on
	c.draining = !on // go-smtp still drains the data after receive returns, then replies
	if on {
		c.txStep = true
	}
	if delivered {
		c.junk, c.errs = 0, 0
	}
	c.mu.Unlock()
}

// markTLS returns a copy of cfg that tells each connection that its TLS handshake began,
// or nil for nil.
func markTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	cfg = cfg.Clone()
	next := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if tc := trackedOf(h.Conn); tc != nil {
			tc.mu.Lock()
			tc.tlsStarted = true
			tc.mu.Unlock()
		}
		if next != nil {
			return next(h)
		}
		return nil, nil
	}
	return cfg
}

// addrString is a.String(), or "" for none: a Unix socket's peer may have no address.
func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
