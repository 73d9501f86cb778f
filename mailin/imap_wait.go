package mailin

import (
	"context"
	"fmt"
	"time"
)

// wait returns when the mailbox may have new mail: with IDLE, when the server announces
// it or after IdleRefresh; without, after PollInterval. It returns an error when the
// connection broke, and nil when ctx ended (the caller checks ctx).
func (p *IMAPPoller) wait(ctx context.Context, c *imapConn) error {
	if !c.canIdle {
		t := time.NewTimer(p.opt.PollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.wake:
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
	closed := false
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-c.wake:
	case <-c.cl.Closed():
		closed = true
	}
	cerr := idle.Close()
	werr := idle.Wait()
	switch {
	case closed:
		return fmt.Errorf("mailin: imap: connection closed during idle")
	case cerr != nil:
		return fmt.Errorf("mailin: imap: end idle: %w", cerr)
	case werr != nil:
		return fmt.Errorf("mailin: imap: idle: %w", werr)
	}
	return nil
}
