package mailin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// batchBytes bounds the bodies fetched together into memory, whatever BatchSize says
// (a message past StageAt is fetched alone onto disk when the Deliverer stages, and
// does not count).
const batchBytes = 8 << 20

// tempDeliverError stops a sync when the Deliverer failed for now on message uid.
type tempDeliverError struct {
	uid uint32
	err error
}

func (e *tempDeliverError) Error() string {
	return fmt.Sprintf("mailin: imap: deliver uid %d: %v", e.uid, e.err)
}
func (e *tempDeliverError) Unwrap() error { return e.err }

// pending is a message found past the cursor.
type pending struct {
	uid  uint32
	size int64
}

// sync takes every message past the cursor, in batches, until none is left.
func (p *IMAPPoller) sync(ctx context.Context, c *imapConn, lease Lease, cur *cursor) error {
	for {
		list, err := p.listNew(c, cur.last)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		p.log.Debug("new mail", slog.Int("count", len(list)))
		for len(list) > 0 {
			n, bytes := 0, int64(0)
			for n < len(list) && n < p.opt.BatchSize && (n == 0 || bytes+list[n].size <= batchBytes) {
				if list[n].size <= p.opt.MaxMessageBytes && !p.staged(list[n]) {
					bytes += list[n].size
				}
				n++
			}
			if err := p.batch(ctx, c, lease, cur, list[:n]); err != nil {
				return err
			}
			list = list[n:]
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
}

// listNew returns the UIDs and sizes of the messages past last, in UID order.
func (p *IMAPPoller) listNew(c *imapConn, last uint32) ([]pending, error) {
	set := imap.UIDSet{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}} // last+1:*
	msgs, err := c.cl.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("mailin: imap: list new mail: %w", err)
	}
	var out []pending
	for _, m := range msgs {
		// "n:*" also answers the last message when n is past it: keep UIDs > last only.
		if uint32(m.UID) > last {
			out = append(out, pending{uid: uint32(m.UID), size: m.RFC822Size})
		}
	}
	slices.SortFunc(out, func(a, b pending) int { return cmp.Compare(a.uid, b.uid) })
	return out, nil
}

// batch fetches the bodies of list, delivers them in order, marks and moves those taken,
// then saves the cursor. A temporary failure ends the batch at that message, after the
// messages before it have been marked, moved and counted.
func (p *IMAPPoller) batch(ctx context.Context, c *imapConn, lease Lease, cur *cursor, list []pending) error {
	var want imap.UIDSet
	for _, m := range list {
		if m.size <= p.opt.MaxMessageBytes && !p.staged(m) {
			want.AddNum(imap.UID(m.uid))
		}
	}
	bodies := map[uint32][]byte{}
	if len(want) > 0 {
		section := &imap.FetchItemBodySection{Peek: true} // BODY.PEEK[]: fetching sets no \Seen
		msgs, err := c.cl.Fetch(want, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return fmt.Errorf("mailin: imap: fetch: %w", err)
		}
		for _, m := range msgs {
			if b := m.FindBodySection(section); b != nil {
				bodies[uint32(m.UID)] = b
			}
		}
	}
	var taken, refused imap.UIDSet
	last := cur.last
	var stop error
	for _, m := range list {
		if ctx.Err() != nil {
			stop = ctx.Err()
			break
		}
		raw, ok := bodies[m.uid]
		staged := p.staged(m) && m.size <= p.opt.MaxMessageBytes
		var err error
		if staged {
			ok, err = p.deliverStaged(ctx, c, m)
		}
		switch {
		case m.size > p.opt.MaxMessageBytes || errors.Is(err, spool.ErrTooBig):
			p.log.Warn("message too large; moved aside", slog.Uint64("uid", uint64(m.uid)), slog.Int64("size", m.size))
			refused.AddNum(imap.UID(m.uid))
		case !ok && err == nil:
			p.log.Debug("message gone before it was fetched", slog.Uint64("uid", uint64(m.uid)))
		default:
			if !staged {
				err = p.opt.Deliverer.Deliver(ctx, raw, ticket.Envelope{Channel: "imap", RemoteAddr: p.t.host})
			}
			switch {
			case err == nil:
				taken.AddNum(imap.UID(m.uid))
			case errors.Is(err, ErrRefused):
				p.log.Warn("message refused; moved aside", slog.Uint64("uid", uint64(m.uid)), slog.Any("error", err))
				refused.AddNum(imap.UID(m.uid))
			default:
				stop = &tempDeliverError{uid: m.uid, err: err}
			}
		}
		if stop != nil {
			break
		}
		last = m.uid
	}
	if err := p.file(c, taken, refused); err != nil {
		return err
	}
	if last != cur.last {
		next := cursor{validity: cur.validity, last: last}
		if err := p.saveCursor(context.WithoutCancel(ctx), lease, next); err != nil {
			return err
		}
		*cur = next
	}
	return stop
}

// staged reports a message big enough to be fetched alone and written to a Stage as
// it arrives (when the Deliverer stages messages) rather than fetched with others into
// memory.
func (p *IMAPPoller) staged(m pending) bool {
	_, ok := p.opt.Deliverer.(StagingDeliverer)
	return ok && m.size > StageAt
}

// deliverStaged fetches one big message alone, writes its body to a Stage as it comes
// off the connection, and delivers it from there. ok is false when the server had no
// such message any more. A body past the stage's limit (the server's size was wrong)
// is spool.ErrTooBig.
func (p *IMAPPoller) deliverStaged(ctx context.Context, c *imapConn, m pending) (ok bool, err error) {
	sd := p.opt.Deliverer.(StagingDeliverer)
	env := ticket.Envelope{Channel: "imap", RemoteAddr: p.t.host}
	st, err := sd.NewStage(env)
	if err != nil {
		return false, err
	}
	if st == nil {
		// this Deliverer holds messages in memory after all: fetch it so
		msgs, err := c.cl.Fetch(imap.UIDSetNum(imap.UID(m.uid)), &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			return false, fmt.Errorf("mailin: imap: fetch: %w", err)
		}
		for _, msg := range msgs {
			for _, b := range msg.BodySection {
				return true, sd.Deliver(ctx, b.Bytes, env)
			}
		}
		return false, nil
	}
	cmd := c.cl.Fetch(imap.UIDSetNum(imap.UID(m.uid)), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}) // BODY.PEEK[]: no \Seen
	var werr error
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			if b, isBody := item.(imapclient.FetchItemDataBodySection); isBody && b.Literal != nil && !ok {
				ok = true
				_, werr = io.CopyBuffer(st, b.Literal, make([]byte, maxReadChunk))
			}
		}
	}
	if err := cmd.Close(); err != nil {
		st.Abort()
		return false, fmt.Errorf("mailin: imap: fetch: %w", err)
	}
	if werr != nil || !ok {
		st.Abort()
		return ok, werr
	}
	return true, sd.DeliverStaged(ctx, st, env)
}

// file marks the messages taken \Seen and moves them to Processed, and moves the refused
// ones to Refused. The server refusing a flag or a move (NO) is logged, not retried: the
// cursor has passed those messages and they are stored. A broken connection is an error.
func (p *IMAPPoller) file(c *imapConn, taken, refused imap.UIDSet) error {
	if len(taken) > 0 {
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
		if err := c.cl.Store(taken, store, nil).Close(); err != nil {
			if err := connErr(err); err != nil {
				return fmt.Errorf("mailin: imap: mark seen: %w", err)
			}
			p.log.Warn("mark seen refused", "uids", taken.String(), slog.Any("error", err))
		}
		if err := p.move(c, taken, p.opt.Processed); err != nil {
			return err
		}
	}
	if len(refused) > 0 {
		if err := p.move(c, refused, p.opt.Refused); err != nil {
			return err
		}
	}
	return nil
}

func (p *IMAPPoller) move(c *imapConn, uids imap.UIDSet, folder string) error {
	err := c.ensure(folder)
	if err == nil {
		// MOVE, or COPY + STORE \Deleted + (UID) EXPUNGE where MOVE is missing.
		_, err = c.cl.Move(uids, c.folder(folder)).Wait()
	}
	if err != nil {
		if err := connErr(err); err != nil {
			return fmt.Errorf("mailin: imap: move to %s: %w", folder, err)
		}
		p.log.Warn("move refused; messages left in place", "folder", folder, "uids", uids.String(), slog.Any("error", err))
	}
	return nil
}

// connErr returns err unless it is the server's answer (NO or BAD) to a command, after
// which the connection is still usable.
func connErr(err error) error {
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		return nil
	}
	return err
}
