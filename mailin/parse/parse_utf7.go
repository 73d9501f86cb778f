package parse

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// decodeUTF7 decodes UTF-7 (RFC 2152), which golang.org/x/text does not provide: "+"
// starts modified base64 of UTF-16 units up to "-" or any non-base64 byte; "+-" is "+".
// UTF-7 is 7-bit: a byte above 0x7F that does not form UTF-8 becomes U+FFFD, so that
// the result is UTF-8 like every other charset's.
func decodeUTF7(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			out.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(b) && isB64(b[j]) {
			j++
		}
		if j == i+1 {
			out.WriteByte('+')
			if j < len(b) && b[j] == '-' {
				i = j
			}
			continue
		}
		raw, _ := base64.RawStdEncoding.DecodeString(string(b[i+1 : j]))
		if len(raw) == 0 {
			enc := string(b[i+1 : j])
			raw, _ = base64.RawStdEncoding.DecodeString(enc[:len(enc)-len(enc)%4])
		}
		units := make([]uint16, 0, len(raw)/2)
		for k := 0; k+1 < len(raw); k += 2 {
			units = append(units, uint16(raw[k])<<8|uint16(raw[k+1]))
		}
		out.WriteString(string(utf16.Decode(units)))
		i = j - 1
		if j < len(b) && b[j] == '-' {
			i = j
		}
	}
	return strings.ToValidUTF8(out.String(), "\uFFFD")
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}
