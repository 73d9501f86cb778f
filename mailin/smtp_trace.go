package mailin

import (
	"strings"
	"time"
)

// traceHeader returns the Received header (RFC 5321 section 4.4) that the listener puts
// before the message. It is the only change to the data: the Deliverer gets this header
// followed by the message byte for byte. The protocol names are RFC 3848's and RFC
// 6531's; a client that said HELO is still reported as ESMTP.
func (ss *smtpSession) traceHeader(now time.Time) []byte {
	proto := "ESMTP"
	switch {
	case ss.s.opt.LMTP && ss.utf8:
		proto = "UTF8LMTP"
	case ss.s.opt.LMTP:
		proto = "LMTP"
	case ss.utf8:
		proto = "UTF8SMTP"
	}
	if ss.tls {
		proto += "S"
	}

	var b strings.Builder
	b.WriteString("Received: from ")
	b.WriteString(traceToken(ss.helo))
	if ip := ss.remoteIP; ip != "" {
		if strings.Contains(ip, ":") {
			ip = "IPv6:" + ip
		}
		b.WriteString(" ([" + ip + "])")
	}
	b.WriteString("\r\n\tby " + traceToken(ss.s.opt.Domain) + " (Guichet) with " + proto)
	if rcpts := ss.envelopeRecipients(); len(rcpts) == 1 && traceASCII(rcpts[0]) {
		b.WriteString("\r\n\tfor <" + rcpts[0] + ">")
	}
	b.WriteString("; " + now.Format(time.RFC1123Z) + "\r\n")
	return []byte(b.String())
}

// traceToken keeps the characters of a host name or address literal, at most 255.
func traceToken(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if b.Len() >= 255 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// traceASCII reports whether s is printable ASCII without spaces.
func traceASCII(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return s != ""
}
