package mailout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/guichet/guichet/ticket"
)

// markTimeout bounds each write of a row's outcome.
const markTimeout = 15 * time.Second

// process renders, builds and sends one claimed row and records the outcome. A send
// already started is not cut short by ctx: it ends within SendTimeout.
//
// After the relay's 250 the very next thing is marking the row sent: a crash between the
// two sends the mail again when the row is claimed anew, so nothing (no log line, no
// metric, no other send) goes in between. sent, when not nil, is called as soon as the
// relay answered (or the send failed): it gives back the worker's sending slot, so that
// the next mail goes to the relay while this one's mark waits for its commit.
func (w *Worker) process(ctx context.Context, m ticket.OutboxMail, sent func()) {
	log := w.log.With(slog.Int64("outbox_id", m.ID), slog.String("kind", string(m.Kind)),
		slog.String("ticket", m.TicketKey), slog.Int("attempt", m.Attempts+1))
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opt.SendTimeout)
	defer cancel()

	start := time.Now()
	reply, tried, err := w.send(sendCtx, &m)
	if tried {
		w.timed(time.Since(start)) // before the slot is free: the next claim sees it
	}
	if sent != nil {
		sent()
	}
	markCtx, cancelMark := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancelMark()
	if err == nil {
		err := w.opt.Queue.MarkSent(markCtx, m.ID, reply)
		w.observe(nil)
		if err != nil {
			// The relay has the mail; the row stays claimed until its lease ends, and
			// may then be sent again. Say so loudly.
			log.Error("mail sent but not marked sent: it may be sent again when its lease expires",
				slog.String("response", reply), slog.Any("error", err))
			return
		}
		log.Info("mail sent", slog.String("response", reply))
		return
	}

	if tried {
		w.observe(err)
	}
	errText := err.Error()
	now := time.Now()
	deadline := m.CreatedAt.Add(w.opt.MaxAge)
	switch {
	case !IsTemporary(err):
		log.Warn("mail failed", slog.Any("error", err))
		w.markFailed(markCtx, log, m.ID, errText)
	case !m.CreatedAt.IsZero() && !now.Before(deadline):
		log.Warn("mail failed: giving up", slog.Duration("max_age", w.opt.MaxAge), slog.Any("error", err))
		w.markFailed(markCtx, log, m.ID, fmt.Sprintf("gave up after %s: %s", w.opt.MaxAge, errText))
	default:
		next := now.Add(w.opt.Backoff(m.Attempts + 1))
		if !m.CreatedAt.IsZero() && next.After(deadline) {
			next = deadline // one last try when the time is up
		}
		log.Warn("mail deferred", slog.Time("next", next), slog.Any("error", err))
		if err := w.opt.Queue.MarkRetry(markCtx, m.ID, next, errText); err != nil {
			log.Error("mark outbox row for retry", slog.Any("error", err))
		}
	}
}

func (w *Worker) markFailed(ctx context.Context, log *slog.Logger, id int64, errText string) {
	if err := w.opt.Queue.MarkFailed(ctx, id, errText); err != nil {
		log.Error("mark outbox row failed", slog.Any("error", err))
	}
}

// splitAttachments keeps, in order, the files that fit in budget bytes together; the
// others are left out (named in the mail, not attached).
func splitAttachments(files []ticket.Attachment, budget int64) (attach, left []ticket.Attachment) {
	for _, a := range files {
		if a.Size <= budget {
			attach = append(attach, a)
			budget -= a.Size
		} else {
			left = append(left, a)
		}
	}
	return attach, left
}

// observe tells Options.Observer the outcome of one send.
func (w *Worker) observe(err error) {
	if w.opt.Observer != nil {
		w.opt.Observer.Observe(err)
	}
}

// send renders, builds and sends m, and returns the receiver's answer. tried reports
// that the Sender was called: an error before it (render, build) is ours, not the
// relay's.
func (w *Worker) send(ctx context.Context, m *ticket.OutboxMail) (reply string, tried bool, err error) {
	if m.To.Email == "" {
		return "", false, permanent(errors.New("mailout: mail has no recipient"))
	}
	m.Data.Attachments, m.Data.NotAttached = splitAttachments(m.Data.Attachments, w.opt.MaxAttachBytes)
	r, err := w.opt.Templates.RenderMail(m)
	if err != nil {
		return "", false, permanent(fmt.Errorf("mailout: render: %w", err))
	}
	msg, err := BuildContext(ctx, m, r, BuildOptions{
		From:       w.opt.From,
		LoopHeader: w.opt.LoopHeader,
		Blobs:      w.opt.Blobs,
	})
	if err != nil {
		return "", false, err
	}
	to := []string{m.To.Email}
	if rs, ok := w.opt.Sender.(ReplySender); ok {
		reply, err := rs.SendReply(ctx, w.opt.From, to, msg)
		return reply, true, err
	}
	if err := w.opt.Sender.Send(ctx, w.opt.From, to, msg); err != nil {
		return "", true, err
	}
	return "sent", true, nil
}
