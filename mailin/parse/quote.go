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
// sign-off at the end) and a mobile "Sent from my iPhone" line are removed.
//
// A forward is the request, not history: from a forward marker ("Begin forwarded
// message:", "---------- Forwarded message ---------" and their translations, see
// forwardAt) on, nothing is removed, the marker included; the text above it goes through
// the rules above (a signature or "Sent from my iPhone" there goes). A marker inside the
// quoted history of a reply ("> ---------- Forwarded message", or below "On … wrote:")
// is history and goes with it. Lines lose their trailing spaces.
func visibleText(text string) string { return visibleTextOf(text, false) }

// visibleTextOf is visibleText for a mail whose subject says whether it is a forward
// ("FW:", "TR:", "WG:"): then an Outlook header block or "-----Original Message-----"
// line, which in a reply starts the quote, starts the forwarded mail and stays.
func visibleTextOf(text string, fwdSubject bool) string {
	return stripText(text, fwdSubject, nil)
}

// textCut is one part of a text that a rule removed: the rule's name and the lines it
// took, so that tests and debugging can say which rule removed what.
type textCut struct {
	Rule string
	Text string
}

// cutTrace collects the cuts of one text; a nil trace records nothing (the parser's
// path, which only needs the result).
type cutTrace struct{ cuts []textCut }

// add records that rule removed lines (nothing when they are blank).
func (c *cutTrace) add(rule string, lines []string) {
	if c == nil {
		return
	}
	if t := strings.TrimSpace(strings.Join(lines, "\n")); t != "" {
		c.cuts = append(c.cuts, textCut{Rule: rule, Text: t})
	}
}

// visibleTextCuts is visibleTextOf that also says which rules removed what.
func visibleTextCuts(text string, fwdSubject bool) (string, []textCut) {
	var tr cutTrace
	v := stripText(text, fwdSubject, &tr)
	return v, tr.cuts
}

// stripText is visibleTextOf, recording its cuts in tr.
func stripText(text string, fwdSubject bool, tr *cutTrace) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l != "" && isInvisible(l) {
			lines[i] = "" // zero-width spaces alone show as a blank line
		}
	}
	lines = splitShared(lines)
	if f, h := forwardAt(lines, fwdSubject); f >= 0 {
		// a copy: head shares lines' array, and appending to it would overwrite the marker
		head := append([]string{}, trimTrailingBlank(stripTail(lines[:f], tr))...)
		if len(head) > 0 {
			head = append(head, "")
		}
		lines = append(head, lines[f:]...)
	} else {
		lines = stripTail(stripQuotes(lines, h, tr), tr)
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	return strings.TrimRight(strings.Join(lines, "\n"), " \t\n")
}

// isInvisible reports whether l shows nothing: white space, no-break spaces and
// zero-width characters only.
func isInvisible(l string) bool {
	for _, r := range l {
		switch r {
		case ' ', '\t', '\r', '\u00a0', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		default:
			return false
		}
	}
	return true
}

// mayForward reports whether forwardRe can match l: after white space, it starts with
// a rule or with the first word of "Begin forwarded message:", "Begin doorgestuurd
// bericht:", "Début du message réexpédié :", "Anfang der weitergeleiteten Nachricht:",
// "Inicio del mensaje reenviado:", "Inizio messaggio inoltrato:", "Início da mensagem
// reencaminhada:", "Vidarebefordrat brev:", "Początek przekazywanej wiadomości:",
// "転送されたメッセージ:" or "Forwarded message:", in any case (as the pattern
// folds it).
func mayForward(l string) bool {
	if isRuleByte(lead(l)) {
		return true
	}
	t := trimLeftSpaceRE(l)
	for _, w := range forwardWords {
		if hasPrefixFold(t, w) {
			return true
		}
	}
	return false
}

// forwardWords are the first words of forwardRe's markers that do not start with a rule.
var forwardWords = []string{"begin ", "début", "anfang ", "inicio ", "inizio ", "início ", "vidarebefordrat ",
	"początek ", "転送されたメッセージ", "forwarded "}

// forwardAt returns the index of the line that starts a forwarded mail, or -1 when a
// quote header comes first (a forward inside the quoted history of a reply is history)
// or there is none; and then the index of the first quote header (len(lines) if none),
// where stripQuotes may start instead of looking at every line again. A forward marker is never quoted ("> Begin forwarded message:" is
// part of a quote). When the subject is a forward's, an Outlook-style quote header
// ("-----Original Message-----", a rule and a header block, a header block) marks the
// forwarded mail too: Outlook writes the same lines for a reply and a forward.
func forwardAt(lines []string, fwdSubject bool) (fwd, hdr int) {
	for i := 0; i < len(lines); i++ {
		if mayForward(lines[i]) && forwardRe.MatchString(lines[i]) {
			return i, i
		}
		if quoteHeaderAt(lines, i) == 0 {
			continue
		}
		if fwdSubject && isOutlookHeader(lines, i) {
			return i, i
		}
		return -1, i
	}
	return -1, len(lines)
}

// isOutlookHeader reports whether the quote header at line i is Outlook's kind: an
// "-----Original Message-----" line, a rule before a header block or a header block, as
// opposed to an "On … wrote:" attribution.
func isOutlookHeader(lines []string, i int) bool {
	l := lines[i]
	if isRuleByte(lead(l)) && (originalRe.MatchString(l) || ruleRe.MatchString(l)) {
		return true
	}
	return headerBlockAt(lines, i)
}

// trimTrailingBlank drops the blank lines at the end.
func trimTrailingBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// stripQuotes removes the quoted history that starts at the first quote header, which
// is not before line from.
func stripQuotes(lines []string, from int, tr *cutTrace) []string {
	bare := 0 // "X wrote:" lines passed over: each costs a look at the rest of the text
	for i := from; i < len(lines); i++ {
		n, rule := quoteHeader(lines, i)
		if n == 0 || (rule == ruleBareAttribution && bare >= maxBareSkips) {
			continue
		}
		j := skipBlank(lines, i+n)
		if j == len(lines) || !isQuoted(lines[j]) {
			tr.add(rule, lines[i:])
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
		var sub cutTrace
		rest := stripTail(lines[skipBlank(lines, k):], &sub)
		if len(rest) == 0 {
			tr.add(rule, lines[i:])
			return lines[:i]
		}
		if rule == ruleBareAttribution {
			bare++
			continue // "You wrote:" above a quote and an answer may be the person's lead-in
		}
		for _, l := range rest {
			if isQuoted(l) {
				return lines // interleaved answers: keep them with their questions
			}
		}
		tr.add(rule+"+quote_block", lines[i:k])
		if tr != nil {
			tr.cuts = append(tr.cuts, sub.cuts...)
		}
		return append(append([]string{}, lines[:i]...), rest...)
	}
	return lines
}

// maxBareSkips bounds how many bare "X wrote:" lines with an answer below stripQuotes
// passes over before it ignores the others (an inline reply quoting a thread has a few;
// a hostile text thousands, each costing a look at the rest).
const maxBareSkips = 4

// skipBlank returns the index of the first non-blank line from i on.
func skipBlank(lines []string, i int) int {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	return i
}

// stripTail removes, until nothing changes, trailing blank lines, a trailing block of
// quoted lines (unless the whole text is quoted) and a signature.
func stripTail(lines []string, tr *cutTrace) []string {
	clean := 1 // lines[1:clean] hold no mobile signature: cutSignatureFrom looked
	for {
		n := len(lines)
		lines = trimTrailingQuote(lines, tr)
		clean, lines = cutSignatureFrom(lines, tr, clean)
		if len(lines) == n {
			return lines
		}
	}
}

// pipeOnly reports whether the non-blank lines are a single line quoted with "|".
func pipeOnly(lines []string) bool {
	n := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if n++; n > 1 || t[0] != '|' {
			return false
		}
	}
	return n == 1
}

// trimTrailingQuote drops the block of quoted ("> ") and blank lines at the end.
func trimTrailingQuote(lines []string, tr *cutTrace) []string {
	end := len(lines)
	for end > 0 {
		if strings.TrimSpace(lines[end-1]) == "" || inQuote(lines, end-1) {
			end--
			continue
		}
		break
	}
	if end == 0 || pipeOnly(lines[end:]) {
		// keep a text that is all quote, and a lone "| …" line (a shell pipe the person
		// pasted, more likely than a one-line quote), without their trailing blank lines
		for end = len(lines); end > 0 && strings.TrimSpace(lines[end-1]) == ""; end-- {
		}
	}
	tr.add("trailing_quote", lines[end:])
	return lines[:end]
}
