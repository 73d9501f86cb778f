// Package smtpsink is an SMTP server that keeps (or discards) what it receives, on
// loopback: the relay in end-to-end tests, and the bare baseline in intake benchmarks.
package smtpsink

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message the sink received.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool // received over STARTTLS
}

// Sink is a running SMTP sink.
type Sink struct {
	// Discard makes the sink read and drop message data (for benchmarks).
	discard bool
	srv     *smtp.Server
	ln      net.Listener

	mu   sync.Mutex
	msgs []Message
	n    int
	wake chan struct{}
}

// Start listens on 127.0.0.1:0 and serves until Close. With discard, message data is read
// and dropped, and only counted.
func Start(discard bool) (*Sink, error) {
	return start(discard, nil)
}

// StartTLS is Start with STARTTLS offered with cfg, as a stock Postfix offers it with its
// self-signed certificate.
func StartTLS(cfg *tls.Config) (*Sink, error) {
	return start(false, cfg)
}

func start(discard bool, cfg *tls.Config) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{discard: discard, ln: ln, wake: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, c: c}, nil }))
	s.srv.TLSConfig = cfg
	s.srv.Domain = "sink.localhost"
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.MaxRecipients = 1000
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

// Count is the number of messages received.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Messages returns a copy of the messages received (none when discarding).
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until at least n messages arrived or timeout passed, and returns them.
func (s *Sink) WaitFor(n int, timeout time.Duration) []Message {
	deadline := time.Now().Add(timeout)
	for s.Count() < n && time.Now().Before(deadline) {
		select {
		case <-s.wake:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s.Messages()
}

type session struct {
	s    *Sink
	c    *smtp.Conn
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *session) Data(r io.Reader) error {
	var data []byte
	var err error
	if ss.s.discard {
		_, err = io.Copy(io.Discard, r)
	} else {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.n++
	if !ss.s.discard {
		_, isTLS := ss.c.TLSConnectionState()
		ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Data: data, TLS: isTLS})
	}
	ss.s.mu.Unlock()
	select {
	case ss.s.wake <- struct{}{}:
	default:
	}
	return nil
}
func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
