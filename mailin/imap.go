package mailin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults of IMAPOptions.
const (
	DefaultIMAPProcessed   = "Guichet/Traité"
	DefaultIMAPRefused     = "Guichet/Refusé"
	DefaultIMAPPoll        = 30 * time.Second
	DefaultIMAPBatch       = 50
	DefaultIMAPIdleRefresh = 25 * time.Minute
	DefaultIMAPLeaseTTL    = time.Minute
)

// IMAPOptions configures an IMAPPoller. Zero values take the defaults above.
//
// # URL
//
// imaps://user:pass@host:993/INBOX speaks TLS from the start; imap://user:pass@host:143/INBOX
// upgrades with STARTTLS. To a host that is not loopback (127.0.0.0/8, ::1, "localhost")
// STARTTLS is required: a server that does not offer it gets no password, and the poller
// retries, logging why. To a loopback host the password may go in clear (the traffic does
// not leave the machine), STARTTLS being used when offered. Once the poller has seen the
// offer it always upgrades, so that a later connection cannot be downgraded. The user
// name and password are percent-decoded; the path names the folder, INBOX when empty.
// Query parameters:
//
//	starttls=require      imap:// only: fail unless the server offers STARTTLS (the default
//	                      for a host that is not loopback)
//	starttls=auto         imap:// only: STARTTLS when offered, else in clear (the default
//	                      for loopback; elsewhere logged as a warning at each login)
//	starttls=off          imap:// only: never upgrade, the password in clear
//	tls_skip_verify=true  do not verify the server's certificate (a self-signed one)
type IMAPOptions struct {
	URL        string
	RequireTLS bool // as starttls=require: imap:// fails without STARTTLS, even on loopback

	// Processed is the folder taken mail is moved to, "/" separating levels whatever the
	// server's delimiter; Refused takes mail that the Deliverer refused for good. Both are
	// created when missing.
	Processed string
	Refused   string

	TLSConfig *tls.Config // for TLS and STARTTLS; ServerName defaults to the URL's host
	Deliverer Deliverer
	Cursor    CursorStore // required: where the mailbox's UIDVALIDITY and last UID are kept
	Locker    Locker      // required: one poller per mailbox among all instances
	Logger    *slog.Logger

	PollInterval    time.Duration // how often to look for mail when the server has no IDLE
	BatchSize       int           // messages fetched together at most
	IdleRefresh     time.Duration // IDLE is restarted (and the mailbox looked at) this often
	LeaseTTL        time.Duration // the lease is renewed every third of it
	MaxMessageBytes int64         // larger messages are refused; default DefaultMaxMessageBytes
}

// CursorStore keeps, per mailbox, how far a poller has taken mail; *ticket.Service is one.
type CursorStore interface {
	// IMAPCursor returns the saved UIDVALIDITY and last UID taken, zeros when none.
	IMAPCursor(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error)
	// SaveIMAPCursor saves them under the lease whose fencing token is fence. It returns
	// an error wrapping ticket.ErrStaleLease when a newer lease holder has saved.
	SaveIMAPCursor(ctx context.Context, mailbox string, uidValidity, lastUID uint32, fence int64) error
}

// Locker hands out the lease that lets one poller at a time read a mailbox. It has the
// shape of coord.Locker; cmd adapts one to the other (see LockerFunc).
type Locker interface {
	// TryAcquire takes the lease on name for ttl. When another holder has it, it returns
	// at once with an error wrapping ErrLeaseHeld; any other error is retried alike.
	TryAcquire(ctx context.Context, name string, ttl time.Duration) (Lease, error)
}

// Lease is a held, expiring lock; coord.Lease is one.
type Lease interface {
	Name() string
	// Token is the fencing token given to SaveIMAPCursor.
	Token() int64
	// Renew extends the lease; an error means it is lost and the work must stop.
	Renew(ctx context.Context) error
	Release(ctx context.Context) error
}

// LockerFunc adapts a function to a Locker.
type LockerFunc func(ctx context.Context, name string, ttl time.Duration) (Lease, error)

// TryAcquire calls f.
func (f LockerFunc) TryAcquire(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
	return f(ctx, name, ttl)
}

var _ Locker = (LockerFunc)(nil)

// ErrLeaseHeld is wrapped by Locker.TryAcquire when another poller holds the lease.
var ErrLeaseHeld = errors.New("mailin: lease held by another poller")

// imapTarget is what the URL names.
type imapTarget struct {
	implicitTLS bool
	starttls    string // "auto", "require" or "off"; "" when the URL does not say
	addr        string // host:port
	host        string
	user, pass  string
	mailbox     string
}

// NewIMAPPoller checks opt and fills in defaults. It does not connect.
func NewIMAPPoller(opt IMAPOptions) (*IMAPPoller, error) {
	t, err := parseIMAPURL(opt.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case opt.Deliverer == nil:
		return nil, errors.New("mailin: imap: no Deliverer")
	case opt.Cursor == nil:
		return nil, errors.New("mailin: imap: no CursorStore")
	case opt.Locker == nil:
		return nil, errors.New("mailin: imap: no Locker")
	case opt.BatchSize < 0 || opt.MaxMessageBytes < 0:
		return nil, errors.New("mailin: imap: negative limit")
	}
	if opt.RequireTLS && !t.implicitTLS {
		t.starttls = "require"
	}
	if opt.Processed == "" {
		opt.Processed = DefaultIMAPProcessed
	}
	if opt.Refused == "" {
		opt.Refused = DefaultIMAPRefused
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = DefaultIMAPPoll
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = DefaultIMAPBatch
	}
	if opt.IdleRefresh <= 0 {
		opt.IdleRefresh = DefaultIMAPIdleRefresh
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = DefaultIMAPLeaseTTL
	}
	if opt.MaxMessageBytes == 0 {
		opt.MaxMessageBytes = DefaultMaxMessageBytes
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if opt.TLSConfig != nil {
		tlsConfig = opt.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = t.host
	}
	if u, _ := url.Parse(opt.URL); u.Query().Get("tls_skip_verify") == "true" {
		tlsConfig.InsecureSkipVerify = true // #nosec G402: asked for in the URL, for tests
	}
	opt.TLSConfig = tlsConfig
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	name := t.user + "@" + strings.ToLower(t.host) + "/" + t.mailbox
	return &IMAPPoller{
		opt: opt, t: t, name: name,
		log:        opt.Logger.With("component", "imap", "mailbox", name),
		minBackoff: time.Second, maxBackoff: time.Minute,
		loopback: isLoopbackHost,
	}, nil
}

// starttls returns how an imap:// connection upgrades: as the URL (or RequireTLS) says,
// else "require" unless the host is loopback, where "auto" lets a local server without
// TLS in.
func (p *IMAPPoller) starttls() string {
	switch {
	case p.t.starttls != "":
		return p.t.starttls
	case p.loopback(p.t.host):
		return "auto"
	}
	return "require"
}

// isLoopbackHost reports whether host is "localhost" or a loopback address. Names are
// not resolved: what a name resolves to may change, and an attacker may choose it.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseIMAPURL(s string) (imapTarget, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url's error quotes the whole URL, password included.
		return imapTarget{}, errors.New("mailin: imap: unreadable URL")
	}
	var t imapTarget
	switch u.Scheme {
	case "imaps":
		t.implicitTLS = true
	case "imap":
		switch v := u.Query().Get("starttls"); v {
		case "", "auto", "require", "off":
			t.starttls = v
		default:
			return t, fmt.Errorf("mailin: imap: starttls=%q: auto, require or off expected", v)
		}
	default:
		return t, fmt.Errorf("mailin: imap: scheme %q: imap or imaps expected", u.Scheme)
	}
	t.host = u.Hostname()
	if t.host == "" {
		return t, errors.New("mailin: imap: URL has no host")
	}
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "993", false: "143"}[t.implicitTLS]
	}
	t.addr = net.JoinHostPort(t.host, port)
	if u.User == nil || u.User.Username() == "" {
		return t, errors.New("mailin: imap: URL has no user")
	}
	t.user = u.User.Username()
	t.pass, _ = u.User.Password()
	t.mailbox = strings.Trim(u.Path, "/")
	if t.mailbox == "" || strings.EqualFold(t.mailbox, "INBOX") {
		t.mailbox = "INBOX"
	}
	return t, nil
}

// Mailbox returns the name the poller's lease and cursor go by: user@host/folder.
func (p *IMAPPoller) Mailbox() string { return p.name }
