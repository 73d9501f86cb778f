package parse

import (
	"mime"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/guichet/guichet/ticket"
)

// addrParser decodes encoded-words in display names with every charset go-message
// knows.
var addrParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charsetReader}}

// parseAddressLenient reads one mailbox ("Name <a@b>", "a@b (Name)", "a@b", and broken
// forms such as unquoted specials, spaces in the address or a missing domain). The
// name is RFC 2047-decoded. It reports false when no address could be found.
func parseAddressLenient(s string) (ticket.Address, bool) {
	s = strings.TrimSpace(unfold(s))
	if s == "" {
		return ticket.Address{}, false
	}
	if a, err := addrParser.Parse(s); err == nil && a.Address != "" {
		return ticket.Address{Name: cleanName(a.Name), Email: a.Address}, true
	}
	var name, addr string
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 {
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			gt = len(s) - lt
		}
		addr = s[lt+1 : lt+gt]
		name = s[:lt]
		if lt+gt+1 < len(s) && name == "" {
			name = s[lt+gt+1:]
		}
	} else {
		addr = s
		if op := strings.IndexByte(s, '('); op >= 0 {
			addr = s[:op]
			name = strings.TrimSuffix(s[op+1:], ")")
		}
		// "Name name@example.com": the word with the @ is the address
		if f := strings.Fields(addr); len(f) > 1 && !strings.Contains(addr, `"`) {
			for i, w := range f {
				if strings.Contains(w, "@") && !strings.HasPrefix(w, "@") {
					addr = w
					name = strings.Join(append(f[:i:i], f[i+1:]...), " ") + " " + name
					break
				}
			}
		}
	}
	addr = strings.Trim(strings.Join(strings.Fields(addr), ""), `<>;,`)
	addr = strings.ReplaceAll(addr, `"`, "")
	if addr == "" || strings.HasSuffix(addr, "@") {
		return ticket.Address{}, false
	}
	return ticket.Address{Name: cleanName(name), Email: addr}, true
}

// cleanName unquotes and decodes a display name. net/mail's word decoder passes the
// bytes of a UTF-8 encoded-word as they are, valid or not: bytes that do not form UTF-8
// become U+FFFD.
func cleanName(n string) string {
	n = strings.ToValidUTF8(strings.TrimSpace(n), "\uFFFD")
	n = strings.TrimSpace(strings.Trim(n, `"'`))
	n = strings.ReplaceAll(n, `\"`, `"`)
	if strings.Contains(n, "=?") {
		n = decodeHeader(n, "")
	}
	return joinFields(n, " ")
}

// parseAddressListLenient reads an address list, keeping every mailbox that parses:
// groups are flattened, unquoted names with commas ("Smith, Jo <j@x>") are rejoined,
// and unreadable items are skipped.
func parseAddressListLenient(s string) []ticket.Address {
	s = strings.TrimSpace(unfold(s))
	if s == "" {
		return nil
	}
	if l, err := addrParser.ParseList(s); err == nil {
		out := make([]ticket.Address, 0, len(l))
		for _, a := range l {
			if a.Address != "" {
				out = append(out, ticket.Address{Name: cleanName(a.Name), Email: a.Address})
			}
		}
		return out
	}
	items := splitAddressList(s)
	var out []ticket.Address
	for i := 0; i < len(items); i++ {
		it := items[i]
		// "Smith, Jo <j@x>": a piece with neither @ nor < belongs to the next one.
		for !strings.ContainsAny(it, "@<") && i+1 < len(items) {
			i++
			it += "," + items[i]
		}
		if a, ok := parseAddressLenient(it); ok {
			out = append(out, a)
		}
	}
	return out
}

// splitAddressList splits at commas outside quotes, angle brackets and comments, and
// drops group syntax ("name:" and ";").
func splitAddressList(s string) []string {
	var items []string
	var cur strings.Builder
	inQuote, angle, paren := false, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			i++
			c = s[i]
		case c == '"' && paren == 0:
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case (c == ',' || c == ';') && angle == 0 && paren == 0:
			items = append(items, cur.String())
			cur.Reset()
			continue
		case c == ':' && angle == 0 && paren == 0 && !strings.Contains(cur.String(), "@"):
			cur.Reset() // group name
			continue
		}
		cur.WriteByte(c)
	}
	items = append(items, cur.String())
	out := items[:0]
	for _, it := range items {
		if strings.TrimSpace(it) != "" {
			out = append(out, strings.TrimSpace(it))
		}
	}
	return out
}

// parseMsgID returns the first message identifier of a header value without angle
// brackets, tolerating ids without brackets and with several "@".
func parseMsgID(v string) string {
	ids := parseMsgIDList(v)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// parseMsgIDList returns every message identifier of a References or In-Reply-To
// value, without angle brackets. Values without brackets are split on whitespace.
func parseMsgIDList(v string) []string {
	v = strings.TrimSpace(unfold(v))
	var ids []string
	if strings.Contains(v, "<") {
		for {
			lt := strings.IndexByte(v, '<')
			if lt < 0 {
				break
			}
			gt := strings.IndexByte(v[lt:], '>')
			if gt < 0 {
				if id := strings.TrimSpace(v[lt+1:]); id != "" && !strings.ContainsAny(id, " \t") {
					ids = append(ids, id)
				}
				break
			}
			if id := strings.TrimSpace(v[lt+1 : lt+gt]); id != "" {
				ids = append(ids, joinFields(id, ""))
			}
			v = v[lt+gt+1:]
		}
		return ids
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if strings.Contains(f, "@") || len(ids) == 0 && f != "" {
			ids = append(ids, f)
		}
	}
	return ids
}

// joinFields is strings.Join(strings.Fields(s), sep) without building the fields when
// the result is s itself: s has no white space (unicode.IsSpace, as Fields splits at)
// other than single spaces between words, and sep is " " for those.
func joinFields(s, sep string) string {
	single := sep == " "
	prevSpace := true // at the start, a space would be leading
	for _, r := range s {
		if isFieldSpace(r) {
			if !single || r != ' ' || prevSpace {
				return joinFieldsCopy(s, sep)
			}
			prevSpace = true
			continue
		}
		prevSpace = false
	}
	if prevSpace && s != "" {
		return joinFieldsCopy(s, sep) // a trailing space
	}
	return s
}

// joinFieldsCopy is strings.Join(strings.Fields(s), sep), written in one pass.
func joinFieldsCopy(s, sep string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := -1 // of the word being read
	for i, r := range s {
		if !isFieldSpace(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if b.Len() > 0 {
				b.WriteString(sep)
			}
			b.WriteString(s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s[start:])
	}
	return b.String()
}

// isFieldSpace reports the white space strings.Fields splits at (unicode.IsSpace; a
// byte that is not UTF-8 reads as U+FFFD, which is not space).
func isFieldSpace(r rune) bool {
	return r < utf8.RuneSelf && asciiSpace[r] || r >= utf8.RuneSelf && unicode.IsSpace(r)
}

// asciiSpace are the ASCII bytes unicode.IsSpace reports.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
