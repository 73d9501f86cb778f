package mailout

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// RelayOptions tune a RelaySender. The zero value is usable.
type RelayOptions struct {
	// TLS is the TLS policy; TLSAuto (the zero value) verifies a remote relay and not a
	// loopback one. See TLSPolicy.
	TLS TLSPolicy
	// TLSConfig is used for smtps and STARTTLS; its ServerName defaults to the relay's
	// host. Tests pass one that trusts their self-signed certificate. TLSOpportunistic
	// sets InsecureSkipVerify on a copy.
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO; "localhost" when empty.
	LocalName string
	// DialTimeout bounds the connection and TLS handshake; 30 s when zero.
	DialTimeout time.Duration
	// CommandTimeout bounds each command's answer; 1 min when zero.
	CommandTimeout time.Duration
	// SubmissionTimeout bounds the answer to the end of DATA; 5 min when zero.
	SubmissionTimeout time.Duration
	// MaxIdle is how many sessions stay open between messages; 4 when zero, none when
	// negative.
	MaxIdle int
	// IdleTimeout closes a session unused for this long; 30 s when zero (relays close
	// idle sessions after a few minutes: Postfix after 5).
	IdleTimeout time.Duration
	// MaxPerConn is how many messages one session carries at most; 100 when zero.
	MaxPerConn int
}

// RelaySender sends mail through an SMTP relay. It keeps a few sessions open between
// messages (up to MaxIdle, each for IdleTimeout and MaxPerConn messages), as MTAs do,
// so that a busy outbox does not pay a connection, a TLS handshake and AUTH per mail.
type RelaySender struct {
	addr     string // host:port
	host     string
	implicit bool      // smtps: TLS from the first byte
	policy   TLSPolicy // opt.TLS for host: never TLSAuto
	user     string
	pass     string
	opt      RelayOptions

	mu   sync.Mutex
	idle []*relayConn // most recently used last
}

// relayConn is an open session with the relay, ready for MAIL.
type relayConn struct {
	c     *smtp.Client
	used  int       // messages sent on it
	since time.Time // idle since
}

var _ ReplySender = (*RelaySender)(nil)

// NewRelaySender returns a sender to the relay at rawURL: smtp://[user:pass@]host[:port]
// (port 25 by default; STARTTLS as opt.TLS says) or smtps://… (implicit TLS, port 465 by
// default; refused with TLSNone). With credentials it authenticates with AUTH PLAIN,
// which it only does over TLS or to a loopback address.
func NewRelaySender(rawURL string, opt RelayOptions) (*RelaySender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mailout: relay: invalid URL") // the URL may hold a password
	}
	s := &RelaySender{opt: opt}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = "25"
	case "smtps":
		port, s.implicit = "465", true
	default:
		return nil, fmt.Errorf("mailout: relay: unknown scheme %q (want smtp or smtps)", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mailout: relay: URL has no host")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.addr = net.JoinHostPort(s.host, port)
	s.policy = opt.TLS.For(s.host)
	if s.implicit && s.policy == TLSNone {
		return nil, errors.New("mailout: relay: smtps:// always uses TLS: it cannot go with TLS policy none")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if s.opt.LocalName == "" {
		s.opt.LocalName = "localhost"
	}
	if s.opt.DialTimeout <= 0 {
		s.opt.DialTimeout = 30 * time.Second
	}
	if s.opt.CommandTimeout <= 0 {
		s.opt.CommandTimeout = time.Minute
	}
	if s.opt.SubmissionTimeout <= 0 {
		s.opt.SubmissionTimeout = 5 * time.Minute
	}
	if s.opt.MaxIdle == 0 {
		s.opt.MaxIdle = 4
	}
	if s.opt.IdleTimeout <= 0 {
		s.opt.IdleTimeout = 30 * time.Second
	}
	if s.opt.MaxPerConn <= 0 {
		s.opt.MaxPerConn = 100
	}
	return s, nil
}

// Policy returns the TLS policy in force for this relay (TLSAuto resolved).
func (s *RelaySender) Policy() TLSPolicy { return s.policy }

// String describes the relay without its password.
func (s *RelaySender) String() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: s.addr}
	if s.user != "" {
		u.User = url.User(s.user)
	}
	return u.String()
}

// Send implements Sender.
func (s *RelaySender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	_, err := s.SendReply(ctx, from, to, msg)
	return err
}

// SendReply sends msg and returns the relay's answer to the end of DATA, e.g.
// "250 2.0.0 Ok: queued as 4F2A1". A negative answer is a *ReplyError. It uses an idle
// session when there is one; when the relay closed that session meanwhile (the MAIL
// command finds it gone, or answered 421), it tries once more on a new one: nothing of
// the message was sent yet.
func (s *RelaySender) SendReply(ctx context.Context, from string, to []string, msg []byte) (string, error) {
	if len(to) == 0 {
		return "", permanent(errors.New("mailout: relay: no recipient"))
	}
	for {
		rc, reused := s.take()
		if rc == nil {
			c, err := s.connect(ctx)
			if err != nil {
				return "", ctxErr(ctx, err)
			}
			rc = &relayConn{c: c}
		}
		stop := context.AfterFunc(ctx, func() { rc.c.Close() }) // unblocks any read or write
		reply, atMail, err := s.transaction(rc.c, from, to, msg)
		live := stop() // false: ctx ended and closed the connection
		if err != nil {
			rc.c.Close()
			if reused && atMail && ctx.Err() == nil {
				continue // a stale idle session: nothing was sent on it
			}
			return "", ctxErr(ctx, err)
		}
		rc.used++
		if live {
			s.give(rc)
		}
		return reply, nil
	}
}

// take returns the most recently used idle session, closing those that idled too long;
// nil when there is none.
func (s *RelaySender) take() (*relayConn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.idle) > 0 {
		rc := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(rc.since) < s.opt.IdleTimeout {
			return rc, true
		}
		go rc.c.Quit()
	}
	return nil, false
}

// give keeps a session for the next message, or ends it when it carried enough or
// enough are kept.
func (s *RelaySender) give(rc *relayConn) {
	s.mu.Lock()
	if rc.used < s.opt.MaxPerConn && len(s.idle) < s.opt.MaxIdle {
		rc.since = time.Now()
		s.idle = append(s.idle, rc)
		rc = nil
	}
	// Sessions idle too long are ended here too, so that a quiet outbox does not keep
	// them open until the relay times them out.
	var stale []*relayConn
	keep := s.idle[:0]
	for _, i := range s.idle {
		if time.Since(i.since) >= s.opt.IdleTimeout {
			stale = append(stale, i)
		} else {
			keep = append(keep, i)
		}
	}
	s.idle = keep
	s.mu.Unlock()
	if rc != nil {
		stale = append(stale, rc)
	}
	if len(stale) > 0 {
		// In the background: the caller marks the mail sent next, and a QUIT waits for
		// the relay's answer. Every moment between the relay's 250 and that mark is one
		// in which a crash sends the mail twice.
		go func() {
			for _, i := range stale {
				i.c.Quit() // the message is accepted; a failed QUIT changes nothing
			}
		}()
	}
}

// Probe opens a session with the relay as a send would (connection, TLS as the policy
// says, EHLO, AUTH) and ends it with QUIT, sending no mail: a check at start that shows a
// wrong address, certificate or password before the first mail waits on it.
func (s *RelaySender) Probe(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return ctxErr(ctx, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Quit(); err != nil {
		c.Close()
	}
	return nil
}

// Close ends the idle sessions with QUIT.
func (s *RelaySender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, rc := range idle {
		rc.c.Quit()
	}
	return nil
}

// transaction sends one message on an open session. atMail reports a failure of the
// MAIL command that a stale session explains (the connection is gone, or the relay
// answered 421 because it is closing it).
func (s *RelaySender) transaction(c *smtp.Client, from string, to []string, msg []byte) (reply string, atMail bool, err error) {
	var opts *smtp.MailOptions
	if !isASCII(from) || !allASCII(to) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(from, opts); err != nil {
		var se *smtp.SMTPError
		stale := !errors.As(err, &se) || se.Code == 421
		return "", stale, replyError("MAIL", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return "", false, replyError("RCPT", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", false, replyError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return "", false, fmt.Errorf("mailout: relay DATA: %w", err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", false, replyError("DATA", err)
	}
	return strings.TrimSpace("250 " + resp.StatusText), false, nil
}

// auth authenticates a new session when the URL has credentials.
func (s *RelaySender) auth(c *smtp.Client, secure bool) error {
	if s.user == "" {
		return nil
	}
	if !secure && !isLoopback(s.host) {
		return errors.New("mailout: relay: refusing AUTH over an unencrypted connection")
	}
	if !c.SupportsAuth(sasl.Plain) {
		return errors.New("mailout: relay: AUTH PLAIN not offered")
	}
	if err := c.Auth(sasl.NewPlainClient("", s.user, s.pass)); err != nil {
		return replyError("AUTH", err)
	}
	return nil
}

// connect dials the relay and returns a client that said EHLO (over TLS when the URL
// asks for it or the relay offers STARTTLS) and authenticated when the URL has
// credentials.
func (s *RelaySender) connect(ctx context.Context) (*smtp.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, s.opt.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("mailout: relay: %w", err)
	}
	secure := false
	if s.implicit {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, certError(s.host, err)
		}
		conn, secure = tc, true
	} else if s.policy != TLSNone {
		if conn, secure, err = s.startTLS(dctx, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout = s.opt.CommandTimeout
	c.SubmissionTimeout = s.opt.SubmissionTimeout
	if err := c.Hello(s.opt.LocalName); err != nil {
		c.Close()
		return nil, replyError("EHLO", err)
	}
	if err := s.auth(c, secure); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// startTLS reads the greeting, says EHLO and, when the relay offers it, upgrades the
// connection with STARTTLS; under TLSVerify a relay that does not offer it is an error. go-smtp's client cannot start TLS on a connection it already
// greeted, so this first exchange is done here, and the connection is handed over with
// the greeting replayed; the client then says EHLO again, as RFC 3207 requires after
// STARTTLS (and as RFC 5321 allows on a plain session).
func (s *RelaySender) startTLS(ctx context.Context, conn net.Conn) (net.Conn, bool, error) {
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})

	// The relay sends nothing unasked, so the reader holds no byte past each reply.
	tp := textproto.NewReader(bufio.NewReader(conn))
	code, msg, err := tp.ReadResponse(220)
	if err != nil {
		return conn, false, exchangeError("GREETING", code, msg, err)
	}
	greeting := fmt.Sprintf("%d %s\r\n", code, strings.ReplaceAll(msg, "\n", " "))
	if _, err := fmt.Fprintf(conn, "EHLO %s\r\n", s.opt.LocalName); err != nil {
		return conn, false, fmt.Errorf("mailout: relay EHLO: %w", err)
	}
	code, msg, err = tp.ReadResponse(250)
	if err != nil {
		return conn, false, exchangeError("EHLO", code, msg, err)
	}
	offered := false
	for _, line := range strings.Split(msg, "\n")[1:] {
		if strings.EqualFold(strings.Fields(line + " x")[0], "STARTTLS") {
			offered = true
		}
	}
	if !offered {
		if s.policy == TLSVerify {
			return conn, false, errors.New("mailout: relay does not offer STARTTLS, which TLS policy verify requires")
		}
		return &greetedConn{Conn: conn, r: io.MultiReader(strings.NewReader(greeting), conn)}, false, nil
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return conn, false, fmt.Errorf("mailout: relay STARTTLS: %w", err)
	}
	if code, msg, err = tp.ReadResponse(220); err != nil {
		return conn, false, exchangeError("STARTTLS", code, msg, err)
	}
	tc := tls.Client(conn, s.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		return conn, false, certError(s.host, err)
	}
	return &greetedConn{Conn: tc, r: io.MultiReader(strings.NewReader(greeting), tc)}, true, nil
}

func (s *RelaySender) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.opt.TLSConfig != nil {
		cfg = s.opt.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.host
	}
	if s.policy == TLSOpportunistic {
		// As an MTA does by default: encryption against passive listeners, and any
		// certificate, since relays' are often self-signed (Debian's Postfix).
		cfg.InsecureSkipVerify = true // #nosec G402: the opportunistic policy, chosen by the operator or for loopback
	}
	return cfg
}

// exchangeError turns a reply read by net/textproto into a *ReplyError.
func exchangeError(cmd string, code int, msg string, err error) error {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("mailout: relay %s: %w", cmd, err)
	}
	return replyError(cmd, &smtp.SMTPError{Code: te.Code, Message: te.Msg, EnhancedCode: parseEnhanced(&te.Msg)})
}

// parseEnhanced takes an enhanced status code ("5.7.0 ") off the front of msg.
func parseEnhanced(msg *string) smtp.EnhancedCode {
	code, rest, _ := strings.Cut(*msg, " ")
	var e smtp.EnhancedCode
	if n, err := fmt.Sscanf(code, "%d.%d.%d", &e[0], &e[1], &e[2]); err != nil || n != 3 {
		return smtp.EnhancedCodeNotSet
	}
	*msg = rest
	return e
}

// greetedConn replays bytes already read (the greeting) before the connection's own.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (c *greetedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// ctxErr prefers the context's error when the context ended the exchange.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(l []string) bool {
	for _, s := range l {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
