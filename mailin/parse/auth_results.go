package parse

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// headerField is one field of a raw header, unfolded, in the order of the message.
type headerField struct{ key, value string }

// rawHeaderFields returns the fields of the header of raw in their order, top first.
// Lines without a colon are skipped. Folded lines are joined in one pass: a header of
// many short continuation lines costs its length, not its square. The header is copied
// once (and once more lower-cased, when it is ASCII, for the names); a value is a piece
// of that copy unless it was folded.
func rawHeaderFields(raw []byte) []headerField {
	end := 0 // the header is raw[:end], up to its blank line
	for end < len(raw) {
		line, next := raw[end:], len(raw)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], end+i+1
		}
		if len(bytes.TrimRight(line, "\r")) == 0 {
			break
		}
		end = next
	}
	hdr := string(raw[:end])
	out := make([]headerField, 0, strings.Count(hdr, "\n")+1) // at most a field a line
	var val strings.Builder
	cur, folded := "", false // the value so far: cur, or val once a line was folded into it
	flush := func() {
		if len(out) > 0 {
			if folded {
				out[len(out)-1].value = strings.TrimSpace(val.String())
			} else {
				out[len(out)-1].value = strings.TrimSpace(cur)
			}
		}
		val.Reset()
		cur, folded = "", false
	}
	for off := 0; off < len(hdr); {
		line := hdr[off:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
			off += i + 1
		} else {
			off = len(hdr)
		}
		line = strings.TrimRight(line, "\r")
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			if !folded {
				val.WriteString(cur)
				folded = true
			}
			val.WriteByte(' ')
			val.WriteString(strings.TrimSpace(line))
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		flush()
		out = append(out, headerField{key: lowerFieldName(strings.TrimSpace(k))})
		cur = v
	}
	flush()
	return out
}

// fieldNames are the field names of most headers, lower case: lowerFieldName returns
// them without a copy.
var fieldNames = []string{"received", "authentication-results", "date", "from", "to", "cc", "subject", "message-id",
	"mime-version", "content-type", "content-transfer-encoding", "in-reply-to", "references", "reply-to",
	"return-path", "dkim-signature", "arc-seal", "arc-message-signature", "arc-authentication-results",
	"x-mailer", "user-agent", "content-language", "thread-topic", "thread-index", "list-unsubscribe",
	"delivered-to", "received-spf", "x-originating-ip", "sender", "precedence"}

// lowerFieldName is strings.ToLower(k), a field name.
func lowerFieldName(k string) string {
	for _, n := range fieldNames {
		if len(n) == len(k) && equalFoldASCII(k, n) {
			return n
		}
	}
	return strings.ToLower(k)
}

// trustedResults returns the results of the Authentication-Results fields (RFC 8601)
// that count, and how many fields of our authserv-id were ignored. Anyone can write
// that header, so a field counts only when a trusted MTA wrote it (RFC 8601 section 5),
// and we know who wrote the top of the header:
//
//   - on SMTP and LMTP, the client, trusted only when its address is in
//     opt.TrustedRelays. From any other client every field of ours is ignored, wherever
//     it stands: the whole header is the client's. From a trusted relay, the listener's
//     own Received field (always the first) is passed over;
//   - on ingest, the local MTA that runs it; on IMAP, the mailbox provider's MTA; both
//     trusted (we chose them). Without a channel (inspect) the header reads as ingest's.
//
// Below that point, topResults picks the fields the trusted MTA added.
func trustedResults(fields []headerField, opt Options) ([]authres.Result, int) {
	id := strings.TrimSuffix(strings.TrimSpace(opt.AuthServID), ".")
	if id == "" {
		return nil, 0
	}
	switch opt.Channel {
	case "smtp", "lmtp":
		if !RelayTrusted(opt.TrustedRelays, opt.RemoteAddr) {
			return nil, len(ourResults(fields, id))
		}
		if len(fields) > 0 && fields[0].key == "received" {
			fields = fields[1:]
		}
	}
	return topResults(fields, id)
}

// topResults returns the results of the topmost Authentication-Results fields with
// authserv-id id, in a header whose top a trusted MTA wrote, and the number of fields
// of id it ignored. The MTA writes its results above the Received field of the hop it
// checked — where the mail entered it — so reading from the top:
//
//   - fields of id count, and fields of other authserv-ids are passed over;
//   - a Received field of a delivery inside the trusted system (LMTP, as Dovecot
//     writes when it files the mail in the mailbox) is passed over, as long as no field
//     of id has been read yet;
//   - any other Received field ends the block. It records an SMTP hop, and the first
//     one is the trusted MTA's entry hop, whose client wrote all that follows.
//
// Fields of id below the block are ignored (and counted): forged, or from an earlier
// pass. Results whose checks ran behind another SMTP hop (a content filter that
// re-injects the mail) are thus not read; Guichet's own DKIM check remains.
// Malformed fields are read as far as they parse.
func topResults(fields []headerField, id string) ([]authres.Result, int) {
	var out []authres.Result
	found, closed, ignored := false, false, 0
	for _, f := range fields {
		switch f.key {
		case "received":
			if found || !isLMTPHop(f.value) {
				closed = true
			}
		case "authentication-results":
			fid, res := readResults(f.value)
			if !strings.EqualFold(fid, id) {
				continue
			}
			if closed {
				ignored++
				continue
			}
			found = true
			out = append(out, res...)
		}
	}
	return out, ignored
}

// ourResults returns the Authentication-Results fields of fields with authserv-id id.
func ourResults(fields []headerField, id string) []headerField {
	var out []headerField
	for _, f := range fields {
		if f.key != "authentication-results" {
			continue
		}
		if fid, _ := readResults(f.value); strings.EqualFold(fid, id) {
			out = append(out, f)
		}
	}
	return out
}

// readResults parses one Authentication-Results value: its authserv-id and the results
// that parse (authres.Parse stops at the first bad one and returns those before it).
func readResults(v string) (string, []authres.Result) {
	id, res, _ := authres.Parse(stripComments(v))
	return strings.TrimSuffix(id, "."), res
}

// lmtpRe matches the protocol of an LMTP hop (RFC 3848: LMTP, LMTPS, LMTPA, LMTPSA, and
// RFC 6531's UTF8LMTP…).
var lmtpRe = regexp.MustCompile(`(?i)\swith\s+(?:UTF8)?LMTP[SA]{0,2}\b`)

// isLMTPHop reports whether a Received field records an LMTP delivery: a hop inside the
// mail system, never a client's entry from outside (LMTP is not spoken on the Internet,
// RFC 2033 section 5).
func isLMTPHop(v string) bool {
	// the pattern holds "lmtp", whose letters fold only to ASCII (TestFoldASCII)
	return containsFoldASCIIString(v, "lmtp") && lmtpRe.MatchString(v)
}

// RelayTrusted reports whether remote, an "ip:port" (or a bare IP), is in trusted. A
// client on a Unix socket or with an unreadable address is not.
func RelayTrusted(trusted []netip.Prefix, remote string) bool {
	if len(trusted) == 0 {
		return false
	}
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		ip = ap.Addr()
	} else if a, err := netip.ParseAddr(remote); err == nil {
		ip = a
	} else {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// stripComments removes RFC 5322 comments ("(…)", nested) outside quoted strings, which
// authres.Parse does not expect ("mx.example.org (Postfix); dkim=pass (2048-bit key)").
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case quoted && r == '"':
			quoted = false
		case depth == 0 && r == '"':
			quoted = true
		case !quoted && r == '(':
			depth++
			continue
		case !quoted && r == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
