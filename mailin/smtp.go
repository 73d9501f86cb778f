package mailin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/guichet/guichet/ticket"
)

// ErrRefused marks a message that must be refused permanently: the SMTP listener answers
// 554 5.6.0 and the sender's MTA bounces it. Wrap it, or use Refuse to carry a reason.
var ErrRefused = errors.New("mailin: message refused")

// RefusedError is a permanent refusal with a reason that may be shown to the sender.
// It wraps ErrRefused.
type RefusedError struct {
	// Reason is a short text for the SMTP reply. Only printable ASCII of it is sent, at
	// most 200 bytes; leave it empty to send a generic text.
	Reason string
}

// Error implements error.
func (e *RefusedError) Error() string { return "mailin: message refused: " + e.Reason }

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// Refuse returns an error wrapping ErrRefused whose reason is shown in the SMTP reply.
func Refuse(reason string) error { return &RefusedError{Reason: reason} }

// Deliverer takes a message received by the SMTP or LMTP listener.
type Deliverer interface {
	// Deliver stores raw (the message as received, after a Received trace header) and env.
	// It returns nil only once raw is durably stored; it may also have been processed.
	// It returns an error wrapping ErrRefused when the message must be refused for good;
	// any other error is a temporary failure, and the sender will try again later. raw
	// must not be kept or changed after Deliver returns.
	Deliver(ctx context.Context, raw []byte, env ticket.Envelope) error
}

// Defaults of SMTPOptions.
const (
	DefaultSMTPAddr        = "127.0.0.1:2525"
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxHeaderBytes  = 256 << 10
	DefaultMaxRecipients   = 50
	DefaultMaxLineLength   = 64 << 10
	DefaultReadTimeout     = 5 * time.Minute
	DefaultWriteTimeout    = time.Minute
	DefaultDeliverTimeout  = 5 * time.Minute

	// DefaultMaxSessionTime bounds a whole connection. Postfix and Exim only bound each
	// read (5 min, RFC 5321 §4.5.3.2.7), so a client that keeps sending stays forever;
	// Exchange cuts every receive connection after 10 min. 30 min still lets a 25 MiB
	// message through at about 15 KB/s.
	DefaultMaxSessionTime = 30 * time.Minute
	// DefaultMaxJunkCommands is Postfix's smtpd_junk_command_limit.
	DefaultMaxJunkCommands = 100
	// DefaultMaxErrors is Postfix's smtpd_hard_error_limit.
	DefaultMaxErrors = 20
	// DefaultMaxConnections is Postfix's default_process_limit: at most that many
	// smtpd processes, hence sessions, at a time.
	DefaultMaxConnections = 100
	// DefaultMaxConnectionsPerIP is Postfix's default_destination_concurrency_limit: a
	// Postfix relay in front (every connection from one address) never opens more. It is
	// lower than Postfix's own smtpd_client_connection_count_limit (50) because each
	// session here may hold a whole message in memory.
	DefaultMaxConnectionsPerIP = 20
)

// SMTPOptions configures the inbound SMTP (or LMTP) listener. Zero values take the
// defaults above.
//
// # Limits and replies
//
//	limit / event                 option           default   reply
//	----------------------------  ---------------  --------  --------------------------------------
//	recipient not ours            SupportAddresses -         550 5.7.1 at RCPT (never an open relay);
//	                                                         postmaster@ a support domain is ours
//	too many recipients           MaxRecipients    50        452 4.5.3 at RCPT (the first 50 stay)
//	MAIL FROM SIZE= over limit    MaxMessageBytes  25 MiB    552 5.3.4 at MAIL
//	message reaches the limit     MaxMessageBytes  25 MiB    552 5.3.4 after DATA, nothing delivered
//	header section over limit     MaxHeaderBytes   256 KiB   552 5.3.4 after DATA, nothing delivered
//	line over limit in DATA       MaxLineLength    64 KiB    554 5.6.0, then the connection closes
//	command line over limit       MaxLineLength    64 KiB    500 5.4.0, connection closed (go-smtp)
//	no command or data for        ReadTimeout      5 min     421 4.4.2, connection closed
//	client not reading a reply    WriteTimeout     1 min     connection closed
//	a command line not in within  ReadTimeout      5 min     421 4.4.2, connection closed (the
//	                                                         whole line, not each byte)
//	session longer than           MaxSessionTime   30 min    421 4.4.2, connection closed; 451 4.4.2
//	                                                         first when it ends in the data
//	commands outside transactions MaxJunkCommands  100       421 4.7.0, connection closed
//	refused commands              MaxErrors        20        421 4.7.0, connection closed
//	connections at a time         MaxConnections   100       421 4.7.0 at connect, closed
//	connections from one address  MaxConnectionsPerIP 20     421 4.7.0 at connect, closed
//	Deliverer slower than         DeliverTimeout   5 min     451 4.3.0
//	Deliverer returns nil         -                -         250 2.0.0
//	Deliverer: ErrRefused         -                -         554 5.6.0 (RefusedError's reason or generic)
//	Deliverer: error/panic        -                -         451 4.3.0 Temporary failure, please retry
//	shutting down: new HELO/MAIL  -                -         421 4.3.2
//	shutting down: idle conn      -                -         421 4.4.2, connection closed
//
// The message size counts the bytes after dot-unstuffing, without the final ".". With DATA,
// go-smtp stops reading as soon as it has read MaxMessageBytes bytes, so the largest
// message accepted is one byte less; with BDAT it is MaxMessageBytes. An over-long line
// in DATA cannot be drained, so go-smtp closes the connection after the 554 and a client
// that is still writing may see a reset instead: hence the generous 64 KiB default (RFC
// 5321 says 1000 bytes, real mail is longer, and a lower limit bounces it for good).
// ReadTimeout also bounds each read of the message data: a sender idle that long mid-DATA
// gets 451 4.4.2.
//
// The counts of MaxJunkCommands and MaxErrors start again after each message delivered,
// as Postfix's do. A junk command is any command that does not take a transaction forward
// (NOOP, RSET, VRFY, HELO/EHLO, STARTTLS, an unknown or malformed command, a refused
// RCPT); MAIL, an accepted RCPT, DATA and BDAT are not. An error is a refused RCPT (not
// ours) or a message refused with a 5xx reply. go-smtp itself closes the connection after
// four unknown or unparsable commands (500 5.5.1). The five limits of this paragraph are
// off when negative.
type SMTPOptions struct {
	Addr   string // listen address (ListenAndServe); a path containing "/" is a Unix socket
	LMTP   bool   // speak LMTP (RFC 2033) instead of SMTP
	Domain string // host name announced in the greeting and Received headers; default os.Hostname

	// SupportAddresses are the accepted recipients: local@domain and local+anything@domain
	// for each, local part and domain compared without case.
	SupportAddresses []string
	// Accept, when set, decides alone which recipients are accepted.
	Accept func(rcpt string) bool

	MaxMessageBytes int64
	MaxHeaderBytes  int
	MaxRecipients   int
	MaxLineLength   int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	DeliverTimeout  time.Duration
	TLSConfig       *tls.Config // STARTTLS is offered when set

	MaxSessionTime      time.Duration
	MaxJunkCommands     int
	MaxErrors           int
	MaxConnections      int
	MaxConnectionsPerIP int

	Logger    *slog.Logger
	Deliverer Deliverer
}

// SMTPServer is the inbound SMTP or LMTP listener. It answers 250 only after its
// Deliverer has stored the message.
type SMTPServer struct {
	opt     SMTPOptions
	srv     *smtp.Server
	log     *slog.Logger
	channel string // "smtp" or "lmtp"

	ctx    context.Context // parent of every Deliver call; canceled when shutdown gives up
	cancel context.CancelFunc

	closing atomic.Bool
	mu      sync.Mutex
	addr    net.Addr
	conns   map[*trackedConn]struct{}
	perIP   map[string]int // connections by client address (TCP only)
}

// NewSMTPServer checks opt, fills in defaults and returns a server ready to Serve.
func NewSMTPServer(opt SMTPOptions) (*SMTPServer, error) {
	if opt.Deliverer == nil {
		return nil, errors.New("mailin: smtp: no Deliverer")
	}
	if opt.Accept == nil {
		if len(opt.SupportAddresses) == 0 {
			return nil, errors.New("mailin: smtp: no support address")
		}
		for _, a := range opt.SupportAddresses {
			if local, domain, ok := splitRcpt(a); !ok || local == "" || domain == "" {
				return nil, fmt.Errorf("mailin: smtp: bad support address %q", a)
			}
		}
	}
	if opt.MaxMessageBytes < 0 || opt.MaxHeaderBytes < 0 || opt.MaxRecipients < 0 || opt.MaxLineLength < 0 {
		return nil, errors.New("mailin: smtp: negative limit")
	}
	setDefaults(&opt)

	s := &SMTPServer{opt: opt, log: opt.Logger, channel: "smtp", conns: map[*trackedConn]struct{}{}, perIP: map[string]int{}}
	if opt.LMTP {
		s.channel = "lmtp"
	}
	s.log = s.log.With("component", s.channel)
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(&smtpBackend{s: s})
	srv.Addr = opt.Addr
	srv.Network = "tcp"
	if strings.Contains(opt.Addr, "/") {
		srv.Network = "unix"
	}
	srv.LMTP = opt.LMTP
	srv.Domain = opt.Domain
	srv.MaxMessageBytes = opt.MaxMessageBytes
	srv.MaxRecipients = opt.MaxRecipients
	srv.MaxLineLength = opt.MaxLineLength
	srv.ReadTimeout = opt.ReadTimeout
	srv.WriteTimeout = opt.WriteTimeout
	srv.TLSConfig = markTLS(opt.TLSConfig)
	srv.EnableSMTPUTF8 = true // 8BITMIME is always on in go-smtp
	srv.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	s.srv = srv
	return s, nil
}

func setDefaults(opt *SMTPOptions) {
	if opt.Addr == "" {
		opt.Addr = DefaultSMTPAddr
	}
	if opt.Domain == "" {
		opt.Domain, _ = os.Hostname()
		if opt.Domain == "" {
			opt.Domain = "localhost"
		}
	}
	if opt.MaxMessageBytes == 0 {
		opt.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opt.MaxHeaderBytes == 0 {
		opt.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if opt.MaxRecipients == 0 {
		opt.MaxRecipients = DefaultMaxRecipients
	}
	if opt.MaxLineLength == 0 {
		opt.MaxLineLength = DefaultMaxLineLength
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	if opt.DeliverTimeout == 0 {
		opt.DeliverTimeout = DefaultDeliverTimeout
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MaxSessionTime == 0 {
		opt.MaxSessionTime = DefaultMaxSessionTime
	}
	if opt.MaxJunkCommands == 0 {
		opt.MaxJunkCommands = DefaultMaxJunkCommands
	}
	if opt.MaxErrors == 0 {
		opt.MaxErrors = DefaultMaxErrors
	}
	if opt.MaxConnections == 0 {
		opt.MaxConnections = DefaultMaxConnections
	}
	if opt.MaxConnectionsPerIP == 0 {
		opt.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
}

// ListenAndServe listens on the Addr of the options and serves until Shutdown.
func (s *SMTPServer) ListenAndServe() error {
	l, err := net.Listen(s.srv.Network, s.opt.Addr)
	if err != nil {
		return fmt.Errorf("mailin: %s listen: %w", s.channel, err)
	}
	return s.Serve(l)
}

// Serve accepts connections on l until Shutdown, after which it returns nil.
func (s *SMTPServer) Serve(l net.Listener) error {
	if s.closing.Load() {
		if l != nil {
			l.Close()
		}
		return fmt.Errorf("mailin: %s serve: %w", s.channel, smtp.ErrServerClosed)
	}
	s.mu.Lock()
	s.addr = l.Addr()
	s.mu.Unlock()
	s.log.Info("listening", "addr", l.Addr().String(), "starttls", s.opt.TLSConfig != nil)
	if err := s.srv.Serve(&trackingListener{Listener: l, s: s}); err != nil {
		return fmt.Errorf("mailin: %s serve: %w", s.channel, err)
	}
	return nil
}

// Addr returns the address the server listens on, or nil before Serve.
func (s *SMTPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}
