package mailin

import (
	"bytes"
	"net"
	"regexp"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// headerField is one field of a raw header, unfolded, in the order of the message.
type headerField struct{ key, value string }

// rawHeaderFields returns the fields of the header of raw in their order, top first.
// Lines without a colon are skipped.
func rawHeaderFields(raw []byte) []headerField {
	var out []headerField
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		line := raw
		if i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break // end of the header
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].value += " " + strings.TrimSpace(string(line))
			continue
		}
		k, v, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		out = append(out, headerField{strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)})
	}
	return out
}

// trustedResults returns the results of the Authentication-Results fields (RFC 8601)
// that our own MTA added: anyone can write that header, so a field counts only when
//
//   - its authserv-id equals authServID (case-insensitive), and
//   - it stands in the top block of the header, above the hop where the mail entered
//     our systems. Reading from the top, Received fields of internal hops are passed
//     (our SMTP listener's, an LMTP delivery, a provider's internal "Received: by"
//     without from); the first Received field of a hop from outside — a from-clause
//     whose address literal is public, or, without one, whose host is neither localhost
//     nor in authServID's organizational domain — ends the block, and so does any
//     Received field once one of our results has been read (our MTA writes its
//     results just above the Received field of the hop it checked).
//
// Fields below were written before the mail reached us and are ignored, as are fields
// of other authserv-ids. Malformed fields are read as far as they parse.
func trustedResults(fields []headerField, authServID string) []authres.Result {
	authServID = strings.ToLower(strings.TrimSpace(authServID))
	if authServID == "" {
		return nil
	}
	var out []authres.Result
	found := false
	for _, f := range fields {
		switch f.key {
		case "received":
			if found || !internalHop(f.value, authServID) {
				return out
			}
		case "authentication-results":
			id, res, _ := authres.Parse(stripComments(f.value))
			if strings.EqualFold(id, authServID) {
				found = true
				out = append(out, res...)
			}
		}
	}
	return out
}

var (
	receivedFromRe = regexp.MustCompile(`(?i)^\s*from\s+(\S+)(.*?)(?:\sby\s|;|$)`)
	addrLiteralRe  = regexp.MustCompile(`\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]`)
)

// internalHop reports whether a Received field records a hop inside our systems: no
// from-clause, a loopback or private address literal, or (without one) a from-host
// that is localhost or in the organizational domain of authServID.
func internalHop(v, authServID string) bool {
	m := receivedFromRe.FindStringSubmatch(v)
	if m == nil {
		return true // "Received: by …": a hop inside one host
	}
	if lit := addrLiteralRe.FindStringSubmatch(m[0]); lit != nil {
		ip := net.ParseIP(lit[1])
		return ip != nil && (ip.IsLoopback() || ip.IsPrivate())
	}
	host := strings.ToLower(strings.Trim(m[1], "[]"))
	return host == "localhost" || aligned(host, authServID)
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
