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
	raw, err := ss.readMessage(r, trace)
	if err != nil {
		reply := readReply(err)
		log.Warn("message not received", "code", reply.Code, slog.Any("error", err),
			"duration", time.Since(start))
		return reply
	}
	size := len(raw) - len(trace)
	if headerTooBig(raw[len(trace):], s.opt.MaxHeaderBytes) {
		log.Warn("message refused", "code", replyHeaderTooBig.Code, "size", size, "reason", "header too big")
		return replyHeaderTooBig
	}

	env := ticket.Envelope{From: ss.from, Recipients: ss.envelopeRecipients(), Channel: s.channel, RemoteAddr: ss.remote, TraceLen: len(trace)}
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

// readMessage reads the whole message data after prefix into one buffer of at most
// MaxMessageBytes (plus prefix); a message that does not fit is an error, never cut.
func (ss *smtpSession) readMessage(r io.Reader, prefix []byte) ([]byte, error) {
	max := ss.s.opt.MaxMessageBytes
	hint := int64(64 << 10)
	if ss.size > 0 {
		hint = ss.size + 4<<10 // SIZE= is an estimate; the slack also avoids a last grow at EOF
	}
	hint = min(hint, max+1)
	buf := bytes.NewBuffer(make([]byte, 0, int64(len(prefix))+hint))
	buf.Write(prefix)
	dr := &deadlineReader{r: io.LimitReader(r, max+1), conn: ss.conn, d: ss.s.opt.ReadTimeout}
	if _, err := buf.ReadFrom(dr); err != nil {
		return nil, err
	}
	if int64(buf.Len()-len(prefix)) > max {
		return nil, smtp.ErrDataTooLarge
	}
	return buf.Bytes(), nil
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
