package mailin

import (
	"context"
	"fmt"
	"time"
)

// wait returns when the mailbox may have new mail: with IDLE, when the server announces
// it or after IdleRefresh; without, after PollInterval. It returns an error when the
// connection broke or the server sent an untagged NO or BYE meanwhile (Dovecot's answer
// when the folder is deleted under an IDLE session: the session will announce nothing
// more, so a new one must be opened), and nil when ctx ended (the caller checks ctx).
func (p *IMAPPoller) wait(ctx context.Context, c *imapConn) error {
	c.watch.arm(c.canIdle)
	defer c.watch.disarm()
	if !c.canIdle {
		t := time.NewTimer(p.opt.PollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.wake:
		case text := <-c.watch.alert:
			return fmt.Errorf("mailin: imap: the server said %s while we waited", text)
		case <-c.cl.Closed():
			return fmt.Errorf("mailin: imap: connection closed")
		}
		return nil
	}
	idle, err := c.cl.Idle()
	if err != nil {
		return fmt.Errorf("mailin: imap: idle: %w", err)
	}
	t := time.NewTimer(p.opt.IdleRefresh)
	defer t.Stop()
	closed, alert := false, ""
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-c.wake:
	case alert = <-c.watch.alert:
	case <-c.cl.Closed():
		closed = true
	}
	cerr := idle.Close()
	werr := idle.Wait()
	switch {
	case alert != "":
		return fmt.Errorf("mailin: imap: the server said %s during IDLE", alert)
	case closed:
		return fmt.Errorf("mailin: imap: connection closed during idle")
	case cerr != nil:
		return fmt.Errorf("mailin: imap: end idle: %w", cerr)
	case werr != nil:
		return fmt.Errorf("mailin: imap: idle: %w", werr)
	}
	return nil
}
