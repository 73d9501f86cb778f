package mailin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// imapConn is one logged-in connection with the poller's folder selected.
type imapConn struct {
	cl      *imapclient.Client
	wake    chan struct{} // the server announced new mail (EXISTS)
	watch   *statusWatch  // untagged NO and BYE while waiting
	delim   rune          // the server's hierarchy delimiter, 0 for a flat namespace
	canIdle bool
	made    map[string]bool // folders known to exist, by server name
	log     *slog.Logger
}

// cursor is where a poller stands in the selected folder.
type cursor struct {
	validity uint32
	last     uint32
}

// connect dials the server as the URL says and logs in.
func (p *IMAPPoller) connect(ctx context.Context) (*imapConn, error) {
	c := &imapConn{wake: make(chan struct{}, 1), watch: newStatusWatch(), made: map[string]bool{}, log: p.log}
	opts := &imapclient.Options{
		TLSConfig:   p.opt.TLSConfig,
		DebugWriter: c.watch, // the only way to the untagged NO and BYE; see statusWatch
		Dialer:      &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case c.wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	t := p.t
	mode := p.starttls()
	var err error
	switch {
	case t.implicitTLS:
		c.cl, err = imapclient.DialTLS(t.addr, opts)
	case mode == "off":
		c.cl, err = imapclient.DialInsecure(t.addr, opts)
	case p.sawSTARTTLS:
		c.cl, err = imapclient.DialStartTLS(t.addr, opts)
	default:
		// Look at the capabilities, then start over with STARTTLS. Once seen, it is
		// required (sawSTARTTLS), so an attacker cannot strip it later. Not offered:
		// "require" refuses here, before any password is sent; "auto" goes on in clear.
		c.cl, err = imapclient.DialInsecure(t.addr, opts)
		if err == nil {
			if err = c.cl.WaitGreeting(); err == nil {
				switch {
				case c.cl.Caps().Has(imap.CapStartTLS):
					c.cl.Close()
					p.sawSTARTTLS = true
					c.cl, err = imapclient.DialStartTLS(t.addr, opts)
				case mode == "require":
					c.cl.Close()
					c.cl = nil
					return nil, fmt.Errorf("mailin: imap: %s offers no STARTTLS: the password is not sent in clear "+
						"to a host that is not loopback (use imaps://, or add ?starttls=off to the URL to allow it)", t.addr)
				}
			}
		}
	}
	if err != nil {
		if c.cl != nil {
			c.cl.Close()
		}
		return nil, fmt.Errorf("mailin: imap: connect to %s: %w", t.addr, err)
	}
	if err := ctx.Err(); err != nil {
		c.cl.Close()
		return nil, err
	}
	if err := p.login(c.cl); err != nil {
		c.cl.Close()
		return nil, err
	}
	c.watch.start()
	c.canIdle = c.cl.Caps().Has(imap.CapIdle)
	return c, nil
}

// login uses AUTHENTICATE PLAIN when offered, else LOGIN.
func (p *IMAPPoller) login(cl *imapclient.Client) error {
	caps := cl.Caps()
	if !p.t.implicitTLS && !p.sawSTARTTLS && !p.loopback(p.t.host) {
		// Only where the URL asked for it (starttls=off or auto): on loopback the password
		// does not leave the machine, and the default elsewhere refused in connect.
		p.log.Warn("sending the password without TLS, as the URL allows", "addr", p.t.addr, "starttls", p.starttls())
	}
	var err error
	switch {
	case caps.Has(imap.AuthCap(sasl.Plain)):
		err = cl.Authenticate(sasl.NewPlainClient("", p.t.user, p.t.pass))
	case caps.Has(imap.CapLoginDisabled):
		return errors.New("mailin: imap: login: the server allows neither LOGIN nor AUTHENTICATE PLAIN")
	default:
		err = cl.Login(p.t.user, p.t.pass).Wait()
	}
	if err != nil {
		return fmt.Errorf("mailin: imap: login as %s: %w", p.t.user, err)
	}
	return nil
}

// open learns the delimiter, makes the Processed folder, selects the mailbox and reads
// the cursor; a UIDVALIDITY change starts the cursor over (the Deliverer's deduplication
// keeps mail taken before from being taken twice).
func (p *IMAPPoller) open(ctx context.Context, c *imapConn) (cursor, error) {
	list, err := c.cl.List("", "", nil).Collect()
	if err != nil {
		return cursor{}, fmt.Errorf("mailin: imap: list: %w", err)
	}
	if len(list) > 0 {
		c.delim = list[0].Delim
	}
	if err := c.ensure(p.opt.Processed); err != nil {
		return cursor{}, err
	}
	sel, err := c.cl.Select(p.t.mailbox, nil).Wait()
	if err != nil {
		return cursor{}, fmt.Errorf("mailin: imap: select %s: %w", p.t.mailbox, err)
	}
	if sel.UIDValidity == 0 {
		return cursor{}, fmt.Errorf("mailin: imap: select %s: the server sent no UIDVALIDITY", p.t.mailbox)
	}
	validity, last, err := p.opt.Cursor.IMAPCursor(ctx, p.name)
	if err != nil {
		return cursor{}, fmt.Errorf("mailin: imap: read cursor: %w", err)
	}
	cur := cursor{validity: sel.UIDValidity, last: last}
	if validity != sel.UIDValidity {
		if validity != 0 {
			p.log.Warn("UIDVALIDITY changed; taking the whole mailbox again",
				slog.Uint64("old", uint64(validity)), slog.Uint64("new", uint64(sel.UIDValidity)))
		}
		cur.last = 0
	}
	p.log.Info("mailbox open", slog.Uint64("uid_validity", uint64(cur.validity)), slog.Uint64("last_uid", uint64(cur.last)),
		slog.Uint64("messages", uint64(sel.NumMessages)), slog.Bool("idle", c.canIdle), slog.Bool("move", c.cl.Caps().Has(imap.CapMove)))
	return cur, nil
}

// recheck asks the folder's UIDVALIDITY after each wait: a folder deleted and recreated
// under the session (or whose UIDs the server renumbered) is another folder, whose UIDs
// the cursor knows nothing of; the session may not have been told, and would wait on the
// old one forever. Then the folder is selected again and read from its start.
func (p *IMAPPoller) recheck(ctx context.Context, c *imapConn, cur *cursor) error {
	st, err := c.cl.Status(p.t.mailbox, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		return fmt.Errorf("mailin: imap: status %s: %w", p.t.mailbox, err)
	}
	if st.UIDValidity == 0 || st.UIDValidity == cur.validity {
		return nil // 0: a server that does not say cannot be checked
	}
	p.log.Warn("the folder changed under the session (deleted and recreated?); selecting it again",
		slog.Uint64("old", uint64(cur.validity)), slog.Uint64("new", uint64(st.UIDValidity)))
	clear(c.made) // the other folders may have gone too
	next, err := p.open(ctx, c)
	if err != nil {
		return err
	}
	*cur = next
	return nil
}

// folder turns a "/"-separated folder name into the server's.
func (c *imapConn) folder(name string) string {
	if c.delim != 0 && c.delim != '/' {
		return strings.ReplaceAll(name, "/", string(c.delim))
	}
	return name
}

// ensure creates folder name (and, on most servers, its parents) when missing.
func (c *imapConn) ensure(name string) error {
	name = c.folder(name)
	if c.made[name] {
		return nil
	}
	exists := func() (bool, error) {
		l, err := c.cl.List("", name, nil).Collect()
		return len(l) > 0, err
	}
	ok, err := exists()
	if err != nil {
		return fmt.Errorf("mailin: imap: list %s: %w", name, err)
	}
	if !ok {
		cerr := c.cl.Create(name, nil).Wait()
		if ok, err = exists(); err != nil || !ok {
			return fmt.Errorf("mailin: imap: create folder %s: %w", name, errors.Join(cerr, err))
		}
		c.log.Info("folder created", "folder", name)
		_ = c.cl.Subscribe(name).Wait() // so that webmail shows it; not needed by us
	}
	c.made[name] = true
	return nil
}

// logout says goodbye and closes the connection.
func (c *imapConn) logout() {
	if err := c.cl.Logout().Wait(); err != nil {
		c.log.Debug("logout", slog.Any("error", err))
	}
	c.cl.Close()
}
