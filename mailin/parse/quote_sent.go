package parse

import (
	"strings"
	"unicode"
)

// Limits of StripSent's comparison, so that a huge reply or a huge sent mail costs
// bounded time: only the last maxSentLines lines of the reply and the first maxSentWords
// words of each sent text are compared, and at most maxSentTries places in a sent text
// are tried for one line.
const (
	maxSentLines = 4000
	maxSentWords = 20000
	maxSentTries = 64
)

// How close a quote of ours must be to what we sent. A run of reply lines counts as our
// quote when it has at least minSentLines lines and minSentWords words found, in order,
// in a text we sent, and those lines are at least 60 % of the run's lines; between two
// lines of the run at most maxSentSkip words of ours may be missing (lines the client
// dropped), and at most maxSentGap lines in a row may differ (a link or a button that
// the client's HTML-to-text wrote its way). One sentence of ours that a person repeats
// in their own text is far below this, so it stays.
const (
	minSentLines = 3
	minSentWords = 12
	maxSentSkip  = 40
	maxSentGap   = 2
)

// StripSent returns the new part of a reply whose text quotes a mail we sent, whose
// text is one of sent, and true; or "" and false when no quote of ours is found, and
// the caller keeps what the generic rules found (visibleText). It works without any
// marker: the reply's lines are compared with what we sent word by word (so re-wrapping,
// "> " or "| " prefixes, letter case, spacing and lines the client dropped do not
// matter), and the first run of lines that matches closely enough is cut. When nothing
// but quotes follows the run, a short line ending in ":" right above it goes too (an
// attribution line in any language). The text above the run goes through the generic
// rules (a signature or a quote header left there goes too); text below it that the
// generic rules keep (an answer written under the quote) stays.
func StripSent(text string, sent []string) (string, bool) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	base := 0
	if len(lines) > maxSentLines {
		base = len(lines) - maxSentLines
	}
	words := make([][]string, len(lines))
	for i := base; i < len(lines); i++ {
		words[i] = sentWords(stripQuotePrefix(lines[i]))
	}
	best := sentRun{start: -1}
	for _, s := range sent {
		toks := sentWords(s)
		if len(toks) > maxSentWords {
			toks = toks[:maxSentWords]
		}
		if len(toks) < minSentWords {
			continue
		}
		r := findSentRun(lines, words, base, newSentIndex(toks))
		if r.start >= 0 && (best.start < 0 || r.start < best.start) {
			best = r
		}
	}
	if best.start < 0 {
		return "", false
	}
	start, end := best.start, best.end
	for end < len(lines) && stripQuotePrefix(lines[end]) == "" { // blank quoted lines close the quote
		end++
	}
	below := visibleText(strings.Join(lines[end:], "\n"))
	if allQuoted(lines[end:]) {
		below = ""
	}
	// an attribution line right above a quote that ends the reply: short, ending with a
	// colon. Above a quote that an answer follows, such a line may be the person's own
	// lead-in ("You wrote:"): it stays.
	if a := prevNonBlank(lines, start); a >= 0 && below == "" {
		l := strings.TrimSpace(lines[a])
		if len([]rune(l)) <= 120 && (strings.HasSuffix(l, ":") || strings.HasSuffix(l, "：")) {
			start = a
		}
	}
	above := visibleText(strings.Join(lines[:start], "\n"))
	if below != "" {
		if above != "" {
			above += "\n\n"
		}
		above += below
	}
	return above, true
}

// allQuoted reports whether every non-blank line is a quoted one: what the generic rules
// keep of a text that is all quote is not an answer.
func allQuoted(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" && stripQuotePrefix(l) == strings.TrimSpace(l) {
			return false
		}
	}
	return true
}

// prevNonBlank returns the index of the last non-blank line before i, or -1.
func prevNonBlank(lines []string, i int) int {
	for i--; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return i
		}
	}
	return -1
}

// stripQuotePrefix removes quote marks (">", "|", "＞", repeated, with spaces between) from the
// start of a line, and the spaces around it.
func stripQuotePrefix(l string) string {
	l = strings.TrimSpace(l)
	for l != "" && (l[0] == '>' || l[0] == '|' || strings.HasPrefix(l, "＞")) {
		if l[0] == '>' || l[0] == '|' {
			l = l[1:]
		} else {
			l = l[len("＞"):]
		}
		l = strings.TrimLeft(l, " \t\u00a0")
	}
	return l
}

// sentWords splits a text into lower-case words of letters and digits: punctuation,
// spacing and line breaks do not count, so re-wrapped and re-typeset text compares equal.
func sentWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// sentIndex is a sent text's words, with where each word occurs.
type sentIndex struct {
	toks []string
	at   map[string][]int
}

func newSentIndex(toks []string) sentIndex {
	at := make(map[string][]int)
	for i, t := range toks {
		at[t] = append(at[t], i)
	}
	return sentIndex{toks: toks, at: at}
}

// find returns the first place p in [from, to] where the words w occur in a row, or -1.
func (x sentIndex) find(w []string, from, to int) int {
	tries := 0
	for _, p := range x.at[w[0]] {
		if p < from {
			continue
		}
		if p > to || tries == maxSentTries {
			break
		}
		tries++
		if p+len(w) <= len(x.toks) && equalWords(x.toks[p:p+len(w)], w) {
			return p
		}
	}
	return -1
}

// has reports whether most of w (at least 70 %) are words of the sent text.
func (x sentIndex) has(w []string) bool {
	n := 0
	for _, t := range w {
		if len(x.at[t]) > 0 {
			n++
		}
	}
	return n*10 >= len(w)*7
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sentRun is a run of reply lines [start, end) found in a sent text.
type sentRun struct{ start, end int }

// findSentRun returns the first run of lines that quotes the sent text x closely enough,
// or a run with start -1.
func findSentRun(lines []string, words [][]string, base int, x sentIndex) sentRun {
	var (
		active           bool
		start, last, pos int
		nLines, nWords   int
		gaps, nonblank   int
	)
	valid := func() bool {
		return active && nLines >= minSentLines && nWords >= minSentWords && nLines*10 >= nonblank*6
	}
	begin := func(i, p int) {
		active, start, last, pos = true, i, i, p+len(words[i])
		nLines, nWords, gaps, nonblank = 1, len(words[i]), 0, 1
		// a line of ours right above that the first search passed over (a short
		// greeting): the run starts there if it ends where this line starts
		for j := prevNonBlank(lines, i); j >= base && len(words[j]) > 0; j = prevNonBlank(lines, j) {
			q := p - len(words[j])
			if q < 0 || !equalWords(x.toks[q:p], words[j]) {
				break
			}
			start, p = j, q
			nLines, nWords, nonblank = nLines+1, nWords+len(words[j]), nonblank+1
		}
	}
	for i := base; i < len(lines); i++ {
		w := words[i]
		if len(w) == 0 {
			continue
		}
		if active {
			if p := x.find(w, pos, pos+maxSentSkip); p >= 0 {
				pos, last = p+len(w), i
				nLines, nWords, gaps = nLines+1, nWords+len(w), 0
				nonblank++
				continue
			}
			// a line that differs inside an established run: a quote mark says it is
			// quoted, or most of its words are ours (a link written another way)
			if nLines >= minSentLines && gaps < maxSentGap && (stripQuotePrefix(lines[i]) != strings.TrimSpace(lines[i]) || x.has(w)) {
				gaps++
				nonblank++
				continue
			}
			if valid() {
				return sentRun{start: start, end: last + 1}
			}
			active = false
		}
		if p := x.find(w, 0, len(x.toks)); p >= 0 {
			begin(i, p)
		}
	}
	if valid() {
		// lines of the run's tail that did not match are still part of it when only
		// blank or quoted lines follow: the end moves past quoted lines
		end := last + 1
		for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || isQuoted(lines[end])) {
			end++
		}
		return sentRun{start: start, end: end}
	}
	return sentRun{start: -1}
}
