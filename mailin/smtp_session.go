package mailin

import (
	"io"
	"net"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"
)

// Replies of the listener that do not depend on the Deliverer.
var (
	replyShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, please try again later"}
	replyNotAccepted  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Recipient not accepted here"}
)

// smtpBackend makes one session per connection (and again after STARTTLS).
type smtpBackend struct{ s *SMTPServer }

// NewSession implements smtp.Backend.
func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	if b.s.closing.Load() {
		return nil, replyShuttingDown
	}
	nc := c.Conn()
	ss := &smtpSession{s: b.s, conn: trackedOf(nc), helo: c.Hostname()}
	if ss.conn != nil {
		ss.conn.session(c)
	}
	if a := nc.RemoteAddr(); a != nil {
		ss.remote = a.String()
		if ta, ok := a.(*net.TCPAddr); ok {
			ss.remoteIP = ta.IP.String()
		}
	}
	_, ss.tls = c.TLSConnectionState()
	return ss, nil
}

// smtpSession is one SMTP or LMTP session: its envelope lasts from MAIL to Reset.
type smtpSession struct {
	s        *SMTPServer
	conn     *trackedConn // nil when Serve was bypassed
	helo     string
	remote   string
	remoteIP string
	tls      bool

	from  string
	utf8  bool
	size  int64 // MAIL FROM SIZE=, 0 when not given
	rcpts []string
}

var (
	_ smtp.Session     = (*smtpSession)(nil)
	_ smtp.LMTPSession = (*smtpSession)(nil)
)

// Mail implements smtp.Session. The null sender <> (bounces) arrives as "".
func (ss *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.closing.Load() {
		return replyShuttingDown
	}
	ss.setBusy(true)
	if ss.conn != nil {
		ss.conn.step()
	}
	ss.from = from
	ss.utf8 = opts != nil && opts.UTF8
	if opts != nil {
		ss.size = opts.Size
	}
	return nil
}

// Rcpt implements smtp.Session: only the support addresses, with any +extension, and
// postmaster are accepted. go-smtp answers 452 4.5.3 itself past MaxRecipients.
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.s.accepts(to) {
		ss.s.log.Info("recipient refused", "remote_addr", ss.remote, "from", ss.from, "rcpt", to)
		if ss.conn != nil {
			ss.conn.refused()
		}
		return replyNotAccepted
	}
	if ss.conn != nil {
		ss.conn.step()
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

// Data implements smtp.Session.
func (ss *smtpSession) Data(r io.Reader) error {
	return ss.receive(r)
}

// LMTPData implements smtp.LMTPSession. The message is delivered once for all its
// recipients, so they all get the same status: the one returned here, which go-smtp
// gives to every recipient that has none from the StatusCollector.
func (ss *smtpSession) LMTPData(r io.Reader, _ smtp.StatusCollector) error {
	return ss.receive(r)
}

// Reset implements smtp.Session. go-smtp calls it after the reply to the data, on RSET
// and on a new EHLO.
func (ss *smtpSession) Reset() {
	ss.from, ss.utf8, ss.size, ss.rcpts = "", false, 0, nil
	ss.setBusy(false)
}

// Logout implements smtp.Session.
func (ss *smtpSession) Logout() error {
	ss.setBusy(false)
	return nil
}

func (ss *smtpSession) setBusy(b bool) {
	if ss.conn != nil {
		ss.conn.setBusy(b)
	}
}

// envelopeRecipients returns the recipients without exact duplicates.
func (ss *smtpSession) envelopeRecipients() []string {
	out := make([]string, 0, len(ss.rcpts))
	for _, r := range ss.rcpts {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// accepts reports whether rcpt is one of ours: a support address, with or without a
// +extension, or postmaster at a support domain, which RFC 5321 §4.5.1 requires every
// server that delivers mail to accept. Postmaster's mail becomes a ticket like any other,
// so the agents read it; the automatic-mail rules keep it from answering the bounces and
// reports that are most of it.
func (s *SMTPServer) accepts(rcpt string) bool {
	if s.opt.Accept != nil {
		return s.opt.Accept(rcpt)
	}
	local, domain, ok := splitRcpt(rcpt)
	if !ok {
		return false
	}
	for _, a := range s.opt.SupportAddresses {
		sl, sd, _ := splitRcpt(a)
		if !strings.EqualFold(domain, sd) {
			continue
		}
		if strings.EqualFold(local, sl) || strings.EqualFold(local, "postmaster") {
			return true
		}
		if len(local) > len(sl) && local[len(sl)] == '+' && strings.EqualFold(local[:len(sl)], sl) {
			return true
		}
	}
	return false
}

// splitRcpt splits an address at its last "@".
func splitRcpt(a string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return "", "", false
	}
	return a[:i], a[i+1:], true
}
