package parse

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// dsnInfo is what a message/delivery-status part says (RFC 3464).
type dsnInfo struct {
	recipients []string // failed (or delayed, when none failed) recipients
	status     string   // the first such recipient's status code
	failed     bool
}

var statusCode = regexp.MustCompile(`[245]\.\d{1,3}\.\d{1,3}`)

// deliveryStatus reads a message/delivery-status part: one per-message block, then one
// block per recipient.
func (w *walker) deliveryStatus(r io.Reader) {
	b := w.readLimited(r, "message/delivery-status")
	if w.inMessage > 0 {
		return
	}
	info := parseDeliveryStatus(b)
	if w.dsn == nil {
		w.dsn = info
	}
}

// parseDeliveryStatus parses the body of a message/delivery-status part.
func parseDeliveryStatus(b []byte) *dsnInfo {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	br := bufio.NewReader(bytes.NewReader(b))
	type rcpt struct{ addr, action, status string }
	var failed, delayed, other []rcpt
	for i := 0; i < 1000; i++ {
		// blocks are separated by blank lines; skip extra ones
		for {
			c, err := br.Peek(1)
			if err != nil || (c[0] != '\n' && c[0] != '\r') {
				break
			}
			_, _ = br.ReadByte()
		}
		if _, err := br.Peek(1); err != nil {
			break
		}
		h, err := textproto.ReadHeader(br)
		rc := rcpt{
			addr:   dsnAddress(h.Get("Final-Recipient")),
			action: strings.ToLower(strings.TrimSpace(h.Get("Action"))),
			status: statusCode.FindString(h.Get("Status")),
		}
		if rc.addr == "" {
			rc.addr = dsnAddress(h.Get("Original-Recipient"))
		}
		if rc.addr != "" {
			switch {
			case rc.action == "failed" || rc.action == "" && strings.HasPrefix(rc.status, "5"):
				failed = append(failed, rc)
			case rc.action == "delayed":
				delayed = append(delayed, rc)
			default:
				other = append(other, rc)
			}
		}
		if err != nil && !strings.Contains(err.Error(), "malformed") {
			break
		}
	}
	info := &dsnInfo{}
	list := failed
	if len(list) == 0 {
		list = delayed
	}
	info.failed = len(failed) > 0
	for _, rc := range list {
		info.recipients = append(info.recipients, rc.addr)
		if info.status == "" {
			info.status = rc.status
		}
	}
	if len(list) == 0 && len(other) > 0 && info.status == "" {
		info.status = other[0].status
	}
	return info
}

// dsnAddress reads "rfc822; someone@example.com".
func dsnAddress(v string) string {
	if _, a, ok := strings.Cut(v, ";"); ok {
		v = a
	}
	v = strings.Trim(strings.TrimSpace(v), "<>")
	if !strings.Contains(v, "@") {
		return ""
	}
	return v
}
