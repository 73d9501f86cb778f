package mailin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// Replies to the message data.
var (
	replyTooBig       = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big"}
	replyHeaderTooBig = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message header too big"}
	replyLineTooLong  = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Line too long"}
	replyReadTimeout  = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout reading message data, please retry"}
	replyTemporary    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, please retry"}
)

// maxReadChunk bounds one read of the message data, so the read deadline is renewed
// often and ReadTimeout measures inactivity, not the time of the whole transfer.
const maxReadChunk = 64 << 10

// receive reads the message, checks its limits and delivers it. It returns nil (250) or
// a *smtp.SMTPError, never another error: go-smtp would turn that into a 554.
func (ss *smtpSession) receive(r io.Reader) (reply error) {
	start := time.Now()
	if ss.conn != nil {
		ss.conn.setReceiving(true, false)
		defer func() {
			if e, ok := reply.(*smtp.SMTPError); ok && e.Code >= 500 {
				ss.conn.refused()
			}
			ss.conn.setReceiving(false, reply == nil)
		}()
	}
	s := ss.s
	log := s.log.With("remote_addr", ss.remote, "helo", ss.helo, "from", ss.from,
		"rcpt_count", len(ss.rcpts), "tls", ss.tls)

	trace := ss.traceHeader(start)
	env := ticket.Envelope{From: ss.from, Recipients: ss.envelopeRecipients(), Channel: s.channel, RemoteAddr: ss.remote, TraceLen: len(trace)}
	raw, rest, err := ss.readHead(r, trace)
	if err != nil {
		reply := readReply(err)
		log.Warn("message not received", "code", reply.Code, slog.Any("error", err),
			"duration", time.Since(start))
		return reply
	}
	if headerTooBig(raw[len(trace):], s.opt.MaxHeaderBytes) {
		log.Warn("message refused", "code", replyHeaderTooBig.Code, "size", len(raw)-len(trace), "reason", "header too big")
		return replyHeaderTooBig
	}
	if rest != nil {
		// longer than the head: staged on disk as it arrives, or read whole
		if sd, ok := s.opt.Deliverer.(StagingDeliverer); ok {
			return ss.receiveStaged(sd, raw, rest, env, start, log)
		}
		if raw, err = ss.readRest(raw, rest, len(trace)); err != nil {
			reply := readReply(err)
			log.Warn("message not received", "code", reply.Code, slog.Any("error", err),
				"duration", time.Since(start))
			return reply
		}
	}
	return ss.deliverLogged(raw, env, start, log)
}

// headLimit is how much of a message readHead holds in memory: StageAt, or more when the
// header limit is higher (the header is checked in memory).
func (ss *smtpSession) headLimit() int64 {
	return max(StageAt, int64(ss.s.opt.MaxHeaderBytes)+4)
}

// readHead reads the message data after prefix into one buffer, up to headLimit bytes
// (or MaxMessageBytes, when lower: a message over it is an error, never cut). rest is
// nil when the message ended within them, else the reader of what follows.
func (ss *smtpSession) readHead(r io.Reader, prefix []byte) (head []byte, rest io.Reader, err error) {
	max := ss.s.opt.MaxMessageBytes
	limit := min(ss.headLimit(), max+1)
	hint := int64(64 << 10)
	if ss.size > 0 {
		hint = ss.size + 4<<10 // SIZE= is an estimate; the slack also avoids a last grow at EOF
	}
	hint = min(hint, limit)
	buf := bytes.NewBuffer(make([]byte, 0, int64(len(prefix))+hint))
	buf.Write(prefix)
	dr := &deadlineReader{r: r, conn: ss.conn, d: ss.s.opt.ReadTimeout}
	if _, err := buf.ReadFrom(io.LimitReader(dr, limit)); err != nil {
		return nil, nil, err
	}
	n := int64(buf.Len() - len(prefix))
	if n > max {
		return nil, nil, smtp.ErrDataTooLarge
	}
	if n < limit {
		return buf.Bytes(), nil, nil
	}
	return buf.Bytes(), dr, nil
}

// readRest reads the rest of a message after its head, whole into memory (a Deliverer
// that stages nothing), up to MaxMessageBytes.
func (ss *smtpSession) readRest(head []byte, rest io.Reader, prefix int) ([]byte, error) {
	max := ss.s.opt.MaxMessageBytes
	buf := bytes.NewBuffer(head)
	if _, err := buf.ReadFrom(io.LimitReader(rest, max+1-int64(len(head)-prefix))); err != nil {
		return nil, err
	}
	if int64(buf.Len()-prefix) > max {
		return nil, smtp.ErrDataTooLarge
	}
	return buf.Bytes(), nil
}

// receiveStaged writes a big message to a stage as it arrives, head first, through one
// buffer of maxReadChunk bytes, and delivers it from there. Past MaxMessageBytes it stops
// writing and drops the stage; go-smtp reads and discards the rest before the 552.
func (ss *smtpSession) receiveStaged(sd StagingDeliverer, head []byte, rest io.Reader, env ticket.Envelope, start time.Time, log *slog.Logger) error {
	st, err := sd.NewStage(env)
	if err != nil {
		log.Error("message not received: cannot stage it", "code", replyTemporary.Code, slog.Any("error", err))
		return replyTemporary
	}
	if st == nil {
		raw, err := ss.readRest(head, rest, env.TraceLen)
		if err != nil {
			reply := readReply(err)
			log.Warn("message not received", "code", reply.Code, slog.Any("error", err), "duration", time.Since(start))
			return reply
		}
		return ss.deliverLogged(raw, env, start, log)
	}
	max := ss.s.opt.MaxMessageBytes
	size := int64(len(head) - env.TraceLen)
	_, err = st.Write(head)
	head = nil // the stage has it
	if err == nil {
		buf := make([]byte, maxReadChunk)
		for {
			n, rerr := rest.Read(buf)
			size += int64(n)
			if size > max {
				err = smtp.ErrDataTooLarge
				break
			}
			if n > 0 {
				if _, werr := st.Write(buf[:n]); werr != nil {
					err = fmt.Errorf("stage message: %w", werr)
					break
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
		}
	}
	if err != nil {
		st.Abort()
		reply := readReply(err)
		if errors.Is(err, spool.ErrTooBig) {
			reply = replyTooBig
		}
		log.Warn("message not received", "code", reply.Code, "size", size, slog.Any("error", err),
			"duration", time.Since(start))
		return reply
	}
	deliverStart := time.Now()
	if err := ss.deliverStaged(sd, st, env); err != nil {
		reply := deliveryReply(err)
		log.Warn("message not delivered", "code", reply.Code, "size", size, "staged", true, slog.Any("error", err),
			"deliver_duration", time.Since(deliverStart), "duration", time.Since(start))
		return reply
	}
	log.Info("message delivered", "code", 250, "size", size, "staged", true,
		"deliver_duration", time.Since(deliverStart), "duration", time.Since(start))
	return nil
}

// deliverLogged delivers raw and logs the outcome.
func (ss *smtpSession) deliverLogged(raw []byte, env ticket.Envelope, start time.Time, log *slog.Logger) error {
	size := len(raw) - env.TraceLen
	deliverStart := time.Now()
	if err := ss.deliver(raw, env); err != nil {
		reply := deliveryReply(err)
		log.Warn("message not delivered", "code", reply.Code, "size", size, slog.Any("error", err),
			"deliver_duration", time.Since(deliverStart), "duration", time.Since(start))
		return reply
	}
	log.Info("message delivered", "code", 250, "size", size,
		"deliver_duration", time.Since(deliverStart), "duration", time.Since(start))
	return nil
}

// readReply maps an error reading the data to its reply.
func readReply(err error) *smtp.SMTPError {
	var ne net.Error
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge):
		return replyTooBig
	case errors.Is(err, smtp.ErrTooLongLine):
		return replyLineTooLong
	case errors.As(err, &ne) && ne.Timeout():
		return replyReadTimeout
	default: // connection lost, BDAT aborted: the client will hardly read this
		return replyTemporary
	}
}

// deadlineReader renews the read deadline of conn before each bounded read, up to the
// session's end.
type deadlineReader struct {
	r    io.Reader
	conn *trackedConn // nil when Serve was bypassed
	d    time.Duration
}

// Read implements io.Reader.
func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.conn != nil && d.d > 0 {
		d.conn.setDataDeadline(time.Now().Add(d.d))
	}
	if len(p) > maxReadChunk {
		p = p[:maxReadChunk]
	}
	return d.r.Read(p)
}

// headerTooBig reports whether the header section of msg (up to its blank line, or the
// whole message when there is none) is longer than limit bytes.
func headerTooBig(msg []byte, limit int) bool {
	if len(msg) <= limit {
		return false
	}
	w := msg[:min(len(msg), limit+3)] // room for a blank line right after limit bytes
	if bytes.HasPrefix(w, []byte("\n")) || bytes.HasPrefix(w, []byte("\r\n")) {
		return false
	}
	end := -1
	if i := bytes.Index(w, []byte("\n\r\n")); i >= 0 {
		end = i + 1
	}
	if i := bytes.Index(w, []byte("\n\n")); i >= 0 && (end < 0 || i+1 < end) {
		end = i + 1
	}
	return end < 0 || end > limit
}

// deliverStaged calls DeliverStaged as deliver calls Deliver.
func (ss *smtpSession) deliverStaged(sd StagingDeliverer, st Stage, env ticket.Envelope) (err error) {
	ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.opt.DeliverTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mailin: deliver panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return sd.DeliverStaged(ctx, st, env)
}

// deliver calls the Deliverer with its own deadline, and turns a panic into an error.
func (ss *smtpSession) deliver(raw []byte, env ticket.Envelope) (err error) {
	ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.opt.DeliverTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mailin: deliver panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return ss.s.opt.Deliverer.Deliver(ctx, raw, env)
}

// deliveryReply maps a Deliverer error: ErrRefused is permanent, anything else temporary.
func deliveryReply(err error) *smtp.SMTPError {
	if !errors.Is(err, ErrRefused) {
		return replyTemporary
	}
	msg := "Message refused"
	var re *RefusedError
	if errors.As(err, &re) {
		if reason := smtpReplyText(re.Reason, 200); reason != "" {
			msg += ": " + reason
		}
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: msg}
}

// smtpReplyText keeps the printable ASCII of s, at most n bytes of it.
func smtpReplyText(s string, n int) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if b.Len() >= n {
			break
		}
		if c >= ' ' && c <= '~' {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}
