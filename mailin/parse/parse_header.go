package parse

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"unicode/utf8"

	gmcharset "github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// maxDecodedHeader bounds what one decoded header value may grow to.
const maxDecodedHeader = 64 << 10

// decodeHeader decodes RFC 2047 encoded-words in a header value, leniently: words in
// any charset go-message knows, adjacent words joined (also when a multibyte character
// is split across two words), broken base64 padding tolerated, and raw 8-bit bytes that
// are not UTF-8 read as fallback (Windows-1252 when empty). Folded whitespace is
// unfolded. It never fails: what cannot be decoded is kept as it was.
func decodeHeader(s, fallback string) string {
	s = unfold(s)
	if !strings.Contains(s, "=?") {
		return headerText(fallback, s)
	}
	var out strings.Builder
	var pending []byte // bytes of consecutive encoded-words in one charset
	pendingCS := ""
	flush := func() {
		if len(pending) > 0 {
			out.WriteString(toUTF8(pendingCS, pending))
			pending, pendingCS = nil, ""
		}
	}
	rest := s
	afterWord := false
	for rest != "" {
		i := strings.Index(rest, "=?")
		if i < 0 {
			flush()
			out.WriteString(headerText(fallback, rest))
			break
		}
		cs, enc, text, n, ok := parseEncodedWord(rest[i:])
		if !ok {
			flush()
			out.WriteString(headerText(fallback, rest[:i+2]))
			rest = rest[i+2:]
			afterWord = false
			continue
		}
		between := rest[:i]
		if !(afterWord && strings.TrimSpace(between) == "") {
			flush()
			out.WriteString(headerText(fallback, between))
		}
		b := decodeWordBytes(enc, text)
		if pendingCS != "" && !strings.EqualFold(pendingCS, cs) {
			flush()
		}
		pendingCS = cs
		pending = append(pending, b...)
		rest = rest[i+n:]
		afterWord = true
		if out.Len() > maxDecodedHeader {
			break
		}
	}
	flush()
	return out.String()
}

// parseEncodedWord reads "=?charset?enc?text?=" at the start of s.
func parseEncodedWord(s string) (cs, enc, text string, n int, ok bool) {
	if !strings.HasPrefix(s, "=?") {
		return
	}
	q1 := strings.IndexByte(s[2:], '?')
	if q1 <= 0 || len(s) < 2+q1+3 {
		return
	}
	cs = s[2 : 2+q1]
	enc = s[2+q1+1 : 2+q1+2]
	if s[2+q1+2] != '?' {
		return
	}
	body := s[2+q1+3:]
	end := strings.Index(body, "?=")
	if end < 0 {
		return
	}
	text = body[:end]
	if k := strings.IndexByte(cs, '*'); k >= 0 { // RFC 2231 language suffix
		cs = cs[:k]
	}
	switch enc {
	case "b", "B", "q", "Q":
	default:
		return
	}
	return cs, enc, text, 2 + q1 + 3 + end + 2, true
}

// decodeWordBytes decodes the text of one encoded-word, tolerating bad padding.
func decodeWordBytes(enc, text string) []byte {
	if enc == "q" || enc == "Q" {
		var b []byte
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				b = append(b, ' ')
			case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
				b = append(b, unhex(text[i+1])<<4|unhex(text[i+2]))
				i += 2
			default:
				b = append(b, c)
			}
		}
		return b
	}
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '=' {
			return -1
		}
		return r
	}, text)
	b, err := base64.RawStdEncoding.DecodeString(clean)
	if err != nil {
		// keep the longest decodable prefix
		for len(clean) > 0 && err != nil {
			clean = clean[:len(clean)-1]
			b, err = base64.RawStdEncoding.DecodeString(clean)
		}
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// toUTF8 converts b from charset cs. UTF-8 and ASCII labels, an empty label and unknown
// charsets fall back to Windows-1252 for bytes that are not valid UTF-8.
func toUTF8(cs string, b []byte) string {
	s, _ := convertCharset(cs, b)
	return s
}

// convertCharset converts b from charset cs to UTF-8 and reports whether cs was known.
func convertCharset(cs string, b []byte) (string, bool) {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch {
	case isUTF8Name(cs):
		if utf8.Valid(b) {
			return string(b), true
		}
		return latin1(b), cs != "x-unknown" && cs != "unknown-8bit"
	}
	if strings.HasSuffix(cs, "utf-7") {
		return decodeUTF7(b), true
	}
	if isASCII(b) && !strings.Contains(cs, "utf-7") && !strings.Contains(cs, "2022") && !strings.Contains(cs, "16") {
		return string(b), true
	}
	r, err := gmcharset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		if utf8.Valid(b) {
			return string(b), false
		}
		return latin1(b), false
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return strings.ToValidUTF8(string(out), "\uFFFD"), true
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

// isUTF8Name reports the charset names (lower case, trimmed) that convertCharset reads
// as UTF-8 when the text is valid UTF-8.
func isUTF8Name(cs string) bool {
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "x-unknown", "unknown-8bit", "default":
		return true
	}
	return false
}

// convertText is convertCharset for a body text, with its CRLF line ends made LF (as
// strings.ReplaceAll(s, "\r\n", "\n") does). b is the caller's, and may be changed: the
// most common case, valid UTF-8, drops the CRs from b itself and copies it once. (A CR
// goes only before an LF, so the bytes stay valid UTF-8 and their characters the same.)
func convertText(cs string, b []byte) (string, bool) {
	if isUTF8Name(strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))) && utf8.Valid(b) {
		return string(dropCRBeforeLF(b)), true
	}
	s, known := convertCharset(cs, b)
	return strings.ReplaceAll(s, "\r\n", "\n"), known
}

// dropCRBeforeLF removes, in place, each CR that an LF follows, and returns what is left
// of b.
func dropCRBeforeLF(b []byte) []byte {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return b
	}
	out := b[:i]
	for {
		rest := b[i+1:] // after a CR that an LF follows
		j := bytes.Index(rest, []byte("\r\n"))
		if j < 0 {
			return append(out, rest...)
		}
		out = append(out, rest[:j]...) // copy moves bytes down, never over unread ones
		i += 1 + j
	}
}

func latin1(b []byte) string {
	s, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// unfold removes header folding: CRLF or LF followed by whitespace becomes the
// whitespace, and any remaining line break is dropped.
func unfold(s string) string {
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n ", " ")
	s = strings.ReplaceAll(s, "\n\t", "\t")
	return strings.ReplaceAll(s, "\n", "")
}

// headerText converts raw header text: valid UTF-8 is kept (8-bit header bytes that
// form UTF-8 almost always are), anything else is read in the fallback charset.
func headerText(fallback, s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return toUTF8(fallback, []byte(s))
}

// firstCharset returns the first charset parameter named in raw (other than UTF-8 and
// ASCII), a better guess than Windows-1252 for raw 8-bit header bytes. It scans raw in
// place, from one "=" to the next (bytes.IndexByte is vectorised: a 200 KB base64
// attachment has few of them).
func firstCharset(raw []byte) string { return firstCharsetBefore(raw, len(raw)) }

// charsetChunk and charsetOverlap are the pieces firstCharsetAt reads: each piece is
// read with the bytes around it that a match across its edges needs.
const (
	charsetChunk   = 256 << 10
	charsetOverlap = 64
)

// firstCharsetAt is firstCharset over the size bytes of r, read in pieces.
func firstCharsetAt(r io.ReaderAt, size int64) string {
	buf := make([]byte, min(size, charsetChunk)+2*charsetOverlap)
	for start := int64(0); start < size; start += charsetChunk {
		from := max(0, start-charsetOverlap)
		n, _ := r.ReadAt(buf[:min(int64(len(buf)), size-from)], from)
		// a match whose "=" is before the piece's end; one in the overlap before it
		// was seen with the piece before
		if cs := firstCharsetBefore(buf[:n], int(min(start+charsetChunk, size)-from)); cs != "" {
			return cs
		}
	}
	return ""
}

// firstCharsetBefore is firstCharset counting only the "=" signs before limit.
func firstCharsetBefore(raw []byte, limit int) string {
	const key = "charset"
	for i := 0; ; {
		k := bytes.IndexByte(raw[i:], '=')
		if k < 0 || i+k >= limit {
			return ""
		}
		eq := i + k
		i = eq + 1
		if eq < len(key) || !bytes.EqualFold(raw[eq-len(key):eq], []byte(key)) {
			continue
		}
		j := eq + 1
		for j < len(raw) && (raw[j] == '"' || raw[j] == '\'') {
			j++
		}
		k = j
		for k < len(raw) && k-j < 40 && (raw[k] == '-' || raw[k] == '_' || raw[k] == '.' || raw[k] == ':' ||
			raw[k] >= '0' && raw[k] <= '9' || raw[k] >= 'a' && raw[k] <= 'z' || raw[k] >= 'A' && raw[k] <= 'Z') {
			k++
		}
		cs := strings.ToLower(string(raw[j:k]))
		if cs != "" && cs != "utf-8" && cs != "us-ascii" && cs != "utf8" {
			return cs
		}
		i = max(i, k)
	}
}
