package parse

import (
	"strings"
)

// visibleText returns the new part of a reply, what a helpdesk agent needs to read.
//
// The quoted history starts at a quote header: "On … wrote:" and its translations ("Le …
// a écrit :", "Am … schrieb X:", also wrapped over several lines), an Outlook header
// block ("From:/Sent:/To:/Subject:", "De :/Envoyé :/À :/Objet :", bold forms), a
// "-----Original Message-----" line or a separator rule before a header block.
//
//   - Top-posting: the header and everything after it go.
//   - Bottom-posting: when one block of "> " lines follows the header and new text
//     follows that block, the header and the block go and the new text stays.
//   - Inline replies: when quoted lines and answers alternate, everything stays, so the
//     answers keep their questions; only a trailing quote goes.
//
// Then a trailing block of "> " lines, a "-- " signature (or "__" rule, a lone "-Name"
// sign-off at the end) and a mobile "Sent from my iPhone" line are removed. A forwarded
// message ("---------- Forwarded message ---------") is kept with what follows it.
// Lines lose their trailing spaces.
func visibleText(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	lines = splitShared(lines)
	lines = stripTail(stripQuotes(lines))
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	return strings.TrimRight(strings.Join(lines, "\n"), " \t\n")
}

// mayForward reports whether forwardRe can match l: it starts with a rule or with the
// first letter of "Begin forwarded message:", "Début du message réexpédié :" or "Anfang
// der weitergeleiteten Nachricht:".
func mayForward(l string) bool {
	switch b := lead(l); b | 0x20 {
	case 'b', 'd', 'a':
		return true
	default:
		return isRuleByte(b) || b >= 0x80
	}
}

// stripQuotes removes the quoted history that starts at the first quote header.
func stripQuotes(lines []string) []string {
	for i := 0; i < len(lines); i++ {
		if mayForward(lines[i]) && forwardRe.MatchString(lines[i]) {
			return lines
		}
		n := quoteHeaderAt(lines, i)
		if n == 0 {
			continue
		}
		j := skipBlank(lines, i+n)
		if j == len(lines) || !isQuoted(lines[j]) {
			return lines[:i]
		}
		// the header introduces a block of quoted lines: is there new text after it?
		k := j
		for e := j; e < len(lines); e++ {
			if inQuote(lines, e) {
				k = e + 1
			} else if strings.TrimSpace(lines[e]) != "" {
				break
			}
		}
		rest := stripTail(lines[skipBlank(lines, k):])
		if len(rest) == 0 {
			return lines[:i]
		}
		for _, l := range rest {
			if isQuoted(l) {
				return lines // interleaved answers: keep them with their questions
			}
		}
		return append(append([]string{}, lines[:i]...), rest...)
	}
	return lines
}

// skipBlank returns the index of the first non-blank line from i on.
func skipBlank(lines []string, i int) int {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	return i
}

// stripTail removes, until nothing changes, trailing blank lines, a trailing block of
// quoted lines (unless the whole text is quoted) and a signature.
func stripTail(lines []string) []string {
	for {
		n := len(lines)
		lines = trimTrailingQuote(lines)
		lines = cutSignature(lines)
		if len(lines) == n {
			return lines
		}
	}
}

// trimTrailingQuote drops the block of quoted ("> ") and blank lines at the end.
func trimTrailingQuote(lines []string) []string {
	end := len(lines)
	for end > 0 {
		if strings.TrimSpace(lines[end-1]) == "" || inQuote(lines, end-1) {
			end--
			continue
		}
		break
	}
	if end == 0 {
		// keep a text that is all quote, without its trailing blank lines
		for end = len(lines); end > 0 && strings.TrimSpace(lines[end-1]) == ""; end-- {
		}
	}
	return lines[:end]
}
