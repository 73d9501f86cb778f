package parse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hand-written matchers that say exactly what a case-insensitive pattern says, without
// running it. A (?i) pattern compares runes under simple Unicode case folding: "k"
// matches "K" and the Kelvin sign, "s" the long s "ſ"; foldRune compares the same way
// (as strings.EqualFold does), rune by rune, so a matcher built on it is exact.

// foldRune reports whether a and b are equal under simple case folding: one is in the
// other's unicode.SimpleFold orbit.
func foldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if b < a {
		a, b = b, a
	}
	if b < utf8.RuneSelf {
		return 'A' <= a && a <= 'Z' && b == a+'a'-'A'
	}
	r := unicode.SimpleFold(a)
	for r != a && r < b {
		r = unicode.SimpleFold(r)
	}
	return r == b
}

// hasPrefixFold reports whether s starts with p under simple case folding: whether
// `(?i)^p` (p taken literally) matches s.
func hasPrefixFold(s, p string) bool {
	for _, pr := range p {
		if s == "" {
			return false
		}
		sr, n := utf8.DecodeRuneInString(s)
		if !foldRune(sr, pr) {
			return false
		}
		s = s[n:]
	}
	return true
}

// hasSuffixFold reports whether s ends with p under simple case folding: whether
// `(?i)p$` (p taken literally, valid UTF-8) matches s. It decodes s backwards; a
// pattern decodes forwards, but both find the same runes in a valid encoding that ends
// s, since a decoder never takes the first byte of a valid encoding (an ASCII or a
// leading byte) into the bytes before it.
func hasSuffixFold(s, p string) bool {
	for p != "" {
		if s == "" {
			return false
		}
		pr, pn := utf8.DecodeLastRuneInString(p)
		sr, sn := utf8.DecodeLastRuneInString(s)
		if !foldRune(sr, pr) {
			return false
		}
		p, s = p[:len(p)-pn], s[:len(s)-sn]
	}
	return true
}

// isSpaceRE reports the bytes that \s matches in a pattern: [\t\n\f\r ].
func isSpaceRE(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\f' || b == '\r'
}

// trimLeftSpaceRE drops the leading bytes that \s matches.
func trimLeftSpaceRE(s string) string {
	for s != "" && isSpaceRE(s[0]) {
		s = s[1:]
	}
	return s
}

// trimRightSpaceRE drops the trailing bytes that \s matches.
func trimRightSpaceRE(s string) string {
	for s != "" && isSpaceRE(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// wroteVerbLits is wroteVerbs as literal strings (the pattern's "\(" unescaped).
var wroteVerbLits = func() []string {
	var vs []string
	for v := range strings.SplitSeq(wroteVerbs, "|") {
		vs = append(vs, strings.NewReplacer(`\(`, "(", `\)`, ")").Replace(v))
	}
	return vs
}()

// matchWrote says what wroteRe says of s, `(?i)(verbs)\s*[:：]?\s*$`: after the white
// space that ends s, an optional colon and the white space before it, s ends with one
// of the verbs (none of which ends with white space or a colon).
func matchWrote(s string) bool {
	t := trimRightSpaceRE(s)
	if strings.HasSuffix(t, ":") {
		t = trimRightSpaceRE(t[:len(t)-1])
	} else if strings.HasSuffix(t, "：") {
		t = trimRightSpaceRE(t[:len(t)-len("：")])
	}
	for _, v := range wroteVerbLits {
		if hasSuffixFold(t, v) {
			return true
		}
	}
	return false
}
