package parse

import (
	"regexp"
	"strings"
)

// tokenRe matches the ticket token [#KEY] of Guichet's subjects. Its letters are
// ASCII on purpose: with (?i), [A-Z] would also match the Kelvin sign and the long s,
// and a key would not be ASCII.
var tokenRe = regexp.MustCompile(`\[#\s*([A-Za-z][A-Za-z0-9]{1,15}-[0-9]+)\s*\]`)

// bareKeyRe matches a ticket key written as a word. Unlike the token, a bare key must be
// written in upper case: "utf-8" or "covid-19" in a sentence are not keys.
var bareKeyRe = regexp.MustCompile(`[A-Z][A-Z0-9]{1,15}-[0-9]+`)

// prefixRe matches one reply or forward prefix at the start of a subject, with an
// optional count (Re[2], Re(2), Re^2) and an optional space before the colon (French
// typography), ASCII or full-width colon.
var prefixRe = regexp.MustCompile(`(?i)^\s*(?:` +
	`re|r|aw|antw|antwort|wg|fw|fwd|fwdd|tr|réf|ref|rép|rep|sv|vs|vb|vl|doorst|rif|i|odp|pd|ynt|ilt|` +
	`απ|σχετ|προώθ|回复|回覆|转发|轉寄|轉發|答复|答覆|enc|res|rv|wtr|atb|fs|továbbítás|vá|` +
	`отв|ответ|пересл|翻訳|返信|転送|회신|전달` +
	`)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*`)

// bracketHeadRe matches the start of a subject wrapped as "[Fwd: …]" (the whole
// subject must also end with "]").
var bracketHeadRe = regexp.MustCompile(`(?i)^\s*\[\s*(?:fwd?|fw|tr|wg|re)\s*:`)

// prefixHead is how much of a subject the prefix patterns look at: a prefix is short,
// and reading only the head keeps stripping thousands of them linear (a regexp call
// costs the length of its input).
const prefixHead = 100

// normalizeSubject returns the summary of a subject (ticket token and reply/forward
// prefixes removed, whitespace collapsed), the key of its first [#KEY] token (upper
// case, "" when none), and the keys written as bare words in the rest of the subject
// (upper case, without duplicates).
//
// A summary normalises to itself: tokens are removed until none is left (removing
// "[#AB-1]" from "[#[#AB-1]CD-2]" leaves a token), after whitespace is collapsed (which
// can join "[#" and a key), and prefixes are stripped until none is left.
func normalizeSubject(s string) (summary, threadKey string, bareKeys []string) {
	s = joinFields(s, " ")
	if m := tokenRe.FindStringSubmatch(s); m != nil {
		threadKey = strings.ToUpper(m[1])
	}
	for tokenRe.MatchString(s) {
		s = tokenRe.ReplaceAllString(s, " ")
	}
	s = joinFields(s, " ")
	for {
		head := s[:min(len(s), prefixHead)]
		if !hasColon(head) {
			break // prefixRe and bracketHeadRe end with a colon
		}
		if loc := prefixRe.FindStringIndex(head); loc != nil {
			s = s[loc[1]:]
			continue
		}
		if t := strings.TrimRight(s, " "); strings.HasSuffix(t, "]") && bracketHeadRe.MatchString(head) {
			s = t[strings.IndexByte(t, '[')+1 : len(t)-1]
			continue
		}
		break
	}
	summary = strings.TrimSpace(s)
	if !hasDashDigit(summary) {
		return summary, threadKey, nil // a key holds "-" and a digit
	}
	seen := map[string]bool{}
	for _, loc := range bareKeyRe.FindAllStringIndex(summary, -1) {
		if !keyBoundary(summary, loc[0]-1) || !keyBoundary(summary, loc[1]) {
			continue
		}
		k := strings.ToUpper(summary[loc[0]:loc[1]])
		if !seen[k] && k != threadKey {
			seen[k] = true
			bareKeys = append(bareKeys, k)
		}
	}
	return summary, threadKey, bareKeys
}

// keyBoundary reports whether the byte at i (outside s counts) may border a bare key:
// not a letter, digit or one of the characters that join words into identifiers,
// versions, paths, addresses or URLs.
func keyBoundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i]
	if c >= 0x80 || c == '_' || c == '-' || c == '/' || c == '@' || c == '#' || c == '=' ||
		c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return false
	}
	if c == '.' && i+1 < len(s) && s[i+1] != ' ' {
		return false // "v2.AB-1", "host.AB-1.example" but not "… AB-1."
	}
	return true
}

// fwdPrefixRe matches a subject whose first prefix is a forward's ("FW:", "Fwd:", "TR:",
// "WG:", "RV:", "I:", "Doorst:", "VB:", "PD:", "ENC:", "转发:", "[Fwd: …"), after any
// ticket tokens. A reply to a forward ("RE: FW: …") is a reply.
var fwdPrefixRe = regexp.MustCompile(`(?i)^\s*(?:\[#[^\]]{0,40}\]\s*)*\[?\s*(?:` +
	`fw|fwd|fwdd|tr|wg|rv|enc|i|doorst|vs|vb|vl|pd|wtr|fs|továbbítás|προώθ|转发|轉寄|轉發|пересл|転送|전달` +
	`)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]`)

// isForwardSubject reports whether a subject says its mail is a forward.
func isForwardSubject(s string) bool {
	head := s[:min(len(s), prefixHead)]
	return hasColon(head) && fwdPrefixRe.MatchString(head) // the pattern ends with a colon
}

// hasDashDigit reports whether s holds a "-" followed by an ASCII digit, as every match
// of bareKeyRe does.
func hasDashDigit(s string) bool {
	for i := strings.IndexByte(s, '-'); i >= 0 && i+1 < len(s); {
		if isDigit(s[i+1]) {
			return true
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}
