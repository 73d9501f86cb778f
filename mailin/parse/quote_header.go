package parse

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Patterns of the lines that start quoted history, in the languages mail is written in.
var (
	// "-----Original Message-----", "-------- Oprindelig besked --------" and the like: a
	// title between dashes that names a message or a reply.
	originalRe = regexp.MustCompile(`(?i)^\s*[-_=*]{2,}\s*(?:[\p{L}'’ ]{0,30}\b)?(original|origine|ursprüngliche|originalnachricht|mensaje|messaggio|oorspronkelijk|origineel|originalmeddelande|originalmelding|opprinnelig|oprindelig|alkuperäinen|oryginalna|wiadomość|mensagem|исходное|původní|eredeti|reply message|antwort nachricht|reply above this line|antworten sie über dieser zeile)\b[\p{L}'’ ]{0,30}[-_=*]*\s*$`)
	// The same in languages without spaces between words, where \b does not apply.
	originalCJKRe = regexp.MustCompile(`^\s*[-_=*]{2,}\s*(元のメッセージ|原始邮件|原始郵件|원본 메시지)\s*[-_=*]*\s*$`)
	// Forwarded content is the point of the mail: nothing after it is stripped.
	forwardRe = regexp.MustCompile(`(?i)^\s*(?:[-_=*]{2,}\s*(forwarded message|message transféré|weitergeleitete nachricht|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|vidarebefordrat meddelande|videresendt meddelelse|przekazana wiadomość|wiadomość przekazana|mensagem encaminhada|mensagem reencaminhada|пересылаемое сообщение|転送メッセージ|转发的邮件|轉寄的郵件)|begin forwarded message:|début du message réexpédié\s*:|anfang der weitergeleiteten nachricht:|` +
		`inicio del mensaje reenviado\s*:|inizio messaggio inoltrato\s*:|begin doorgestuurd bericht\s*:|início da mensagem reencaminhada\s*:|` +
		`vidarebefordrat brev\s*:|początek przekazywanej wiadomości\s*:|転送されたメッセージ\s*[:：]|` +
		`forwarded message\s*:\s*$)`)
	// The verbs that end "On <date>, <someone> wrote:" headers.
	wroteVerbs = `wrote|writes|a écrit|a ecrit|schrieb|geschrieben|escribió|escribio|ha escrit|ha scritto|scrisse|schreef|het volgende geschreven|geschreven|skrev|pisze|napisał|napisała|napisał\(a\)|escreveu|пишет|написал|написала|написал\(а\)|написав|kirjoitti|napsal|napísal|έγραψε|a scris|írta|yazdı|viết|写道|寫道|작성|のメッセージ|のメール|書きました`
	wroteRe    = regexp.MustCompile(`(?i)(` + wroteVerbs + `)\s*[:：]?\s*$`)
	// the same verb with its colon, ending a line
	wroteColonRe = regexp.MustCompile(`(?i)\s(` + wroteVerbs + `)\s*[:：]\s*$`)
	// German and Scandinavian clients put the name after the verb: "Am … schrieb X:".
	wroteMidRe = regexp.MustCompile(`(?i)^\s*(on|le|am|el|il|op|den|em|w dniu|dnia)\s.*\d.*\s(` + wroteVerbs + `)\s[^:：]{1,80}[:：]\s*$`)
	// "On 11-Apr-2011, at 6:54 PM, X <x@y> sent:" — a weaker verb, only after "On <date>".
	sentRe = regexp.MustCompile(`(?i)^\s*on\s.*\d.*\ssent\s*:\s*$`)
	// "2014-03-20 8:48 GMT+01:00 Name <a@b>:" and other headers ending with an address.
	addrColonRe = regexp.MustCompile(`[\w.+-]+@[\w.-]+>?\s*["»]?\s*[:：]$`)
	// "2011/4/7 Name <a@b>" followed by quoted lines (Gmail in some locales).
	dateAddrRe = regexp.MustCompile(`^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b.{0,120}<[^<>\s]+@[^<>\s]+>\s*$`)
	// Lotus Notes puts the verb before the date, written in digits: "Sam Smith/ACME wrote
	// on 20/07/2013 10:00:00 AM:", "… schrieb am 20.07.2013 10:00:00:" ("As I wrote on
	// 03/12 to the team, here are the steps:" is a sentence).
	wroteOnRe = regexp.MustCompile(`(?i)\s(wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|escreveu|napisał)\s+(on|am|le|el|il|op|den|em|dnia)\s+[\d\s:./,-]{6,40}(\s?(am|pm|uhr))?\s*[:：]\s*$`)
	// A line that only continues a wrapped header: ">:" after "<a@b", "> wrote:".
	contRe = regexp.MustCompile(`^\s*>\s*\S{0,20}\s*[:：]\s*$`)
	// "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" on one line.
	sharedRe = regexp.MustCompile(`(?i)^(.*?\S)[\s-]*\s(On\s.{0,200}\d.{0,200}\s(?:` + wroteVerbs + `)\s*:)\s*$`)
	// Android: "---- On … wrote ----".
	androidRe = regexp.MustCompile(`(?i)^\s*-{2,}\s*.{0,80}\s(wrote|a écrit|schrieb)\s*-{2,}\s*$`)
	// A separator rule that may stand before a header block.
	ruleRe = regexp.MustCompile(`^\s*(_{3,}|-{3,}|={3,}|\*{3,})\s*$`)
)

// Outlook-style header names ("From:", "De :", "Envoyé :", "*Subject:*"), by kind.
var (
	hdrPrefix  = `(?i)^\s*\*{0,2}\s*(`
	hdrSuffix  = `)\s*\*{0,2}\s*[:：]`
	hdrFromRe  = regexp.MustCompile(hdrPrefix + `from|de|von|van|da|fra|från|od|lähettäjä|от|feladó|z|remitente|mittente|expéditeur|发件人|寄件者|差出人` + hdrSuffix)
	hdrDateRe  = regexp.MustCompile(hdrPrefix + `sent|date|envoyé|envoye|gesendet|datum|dato|verzonden|inviato|data|sendt|skickat|wysłano|wysłane|enviado|enviada|fecha|отправлено|дата|lähetetty|päivämäärä|küldve|odesláno|message du|发送时间|日期|寄件日期|送信日時` + hdrSuffix)
	hdrToRe    = regexp.MustCompile(hdrPrefix + `to|à|a|an|aan|til|till|do|para|кому|vastaanottaja|címzett|komu|cc|copie à|kopie|收件人|收件者|宛先` + hdrSuffix)
	hdrSubjRe  = regexp.MustCompile(hdrPrefix + `subject|objet|sujet|betreff|onderwerp|oggetto|emne|ämne|temat|assunto|asunto|тема|aihe|tárgy|předmět|主题|主旨|件名` + hdrSuffix)
	hdrOneLine = regexp.MustCompile(`(?i)\s\*{0,2}(sent|date|to|subject|envoyé|à|objet)\s*\*{0,2}\s*:`)
)

// headerKind returns 'f', 'd', 't' or 's' for a From, Date/Sent, To/Cc or Subject header
// line, or 0.
func headerKind(l string) byte {
	if !hasColon(l) {
		return 0 // every header pattern ends with a colon
	}
	switch {
	case hdrFromRe.MatchString(l):
		return 'f'
	case hdrDateRe.MatchString(l):
		return 'd'
	case hdrToRe.MatchString(l):
		return 't'
	case hdrSubjRe.MatchString(l):
		return 's'
	}
	return 0
}

// headerBlockAt reports whether an Outlook-style header block starts at line i: header
// lines of at least two kinds, one of them From or Date ("From:/Sent:", "Date:/To:"),
// close together. A wrapped address list may put one plain line between them.
func headerBlockAt(lines []string, i int) bool {
	k := headerKind(lines[i])
	if k == 0 {
		return false
	}
	if _, rest, _ := strings.Cut(lines[i], ":"); k == 'f' && hdrOneLine.MatchString(rest) {
		return true // "From: x Date: y" flattened from HTML
	}
	kinds := map[byte]bool{k: true}
	plain := 0
	for j := i + 1; j < len(lines) && j <= i+8; j++ {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			continue
		}
		kj := headerKind(lines[j])
		if kj == 0 {
			if plain++; plain > 1 {
				break
			}
			continue
		}
		kinds[kj] = true
	}
	if len(kinds) < 2 {
		return false
	}
	if kinds['f'] {
		return true
	}
	// without From ("Date:/To:"), ask for a real mail header: a time and an address,
	// so that "Date : 12 mars / À : salle 3" in a message stays
	block := strings.Join(lines[i:min(len(lines), i+6)], "\n")
	return kinds['d'] && strings.Contains(block, "@") && timeRe.MatchString(block)
}

// timeRe matches a time of day, "10:55".
var timeRe = regexp.MustCompile(`\b\d{1,2}:\d{2}\b`)

// quoteHeaderAt returns the number of lines of the quote header that starts at line i,
// or 0 when none does.
func quoteHeaderAt(lines []string, i int) int {
	n, _ := quoteHeader(lines, i)
	return n
}

// quotingRe: Horde's and webmails' "Quoting Sam <sam@example.com>:", "Zitat von Sam:",
// "Citando Sam:" (only right above quoted lines).
var quotingRe = regexp.MustCompile(`(?i)^\s*(quoting|zitat von|citation de|citando|citaat van|cytuję|cytując)\s.{1,100}[:：]\s*$`)

// ruleBareAttribution names a short "X wrote:" line right above quoted lines.
const ruleBareAttribution = "bare_attribution"

// quoteHeader is quoteHeaderAt, with the name of the rule that found the header.
func quoteHeader(lines []string, i int) (int, string) {
	l := lines[i]
	if strings.TrimSpace(l) == "" || isQuoted(l) {
		return 0, ""
	}
	if len(l) <= 120 && isReplyAboveMarker(l) {
		return 1, "reply_above_marker"
	}
	dash := isRuleByte(lead(l)) // originalRe, androidRe and ruleRe start with a rule
	if dash && (originalRe.MatchString(l) || originalCJKRe.MatchString(l)) {
		return 1, "original_message"
	}
	if dash && androidRe.MatchString(l) {
		return 1, "android_attribution"
	}
	if dash && ruleRe.MatchString(l) {
		// a rule followed by a header block
		seen := 0
		for j := i + 1; j < len(lines) && seen < 3; j++ {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			seen++
			if headerBlockAt(lines, j) {
				return 1, "rule_header_block"
			}
		}
		return 0, ""
	}
	if headerBlockAt(lines, i) {
		return 1, "header_block"
	}
	if len(l) < 200 && isDigit(lead(l)) && strings.Contains(l, "@") && dateAddrRe.MatchString(l) && nextQuoted(lines, i+1) {
		// only above quoted lines: "2013-07-20 10:00 sending to <bob@x.org>" in a log
		// the person pasted is theirs
		return 1, "date_name_address"
	}
	// "On … wrote:" over up to four lines; HTML turned into text may put a blank line
	// between them ("… John Smith", "", "<mailto:j@x>", "> wrote:"), which is crossed
	// when the part above does not end a sentence and the part below is the address
	joined := strings.TrimSpace(l)
	intro := -1 // isIntro(l), once needed
	parts, blank := 1, 0
	if len(joined) > maxAttribution {
		parts = 5 // joined only grows: isAttribution would say no to all (a paragraph)
	}
	for j := i; j < len(lines) && j < i+6 && parts <= 4; j++ {
		if j > i {
			if intro < 0 {
				intro = 0
				if isIntro(l) {
					intro = 1
				}
			}
			if intro == 0 {
				break
			}
			next := strings.TrimSpace(lines[j])
			if next == "" {
				if blank++; blank > 1 || strings.ContainsAny(joined[len(joined)-1:], ".!?") {
					break
				}
				continue
			}
			if len(next) > 200 || (isQuoted(next) && !contRe.MatchString(next)) {
				break
			}
			if blank > 0 && next[0] != '<' && next[0] != '>' && !strings.HasPrefix(next, "mailto:") {
				break
			}
			blank = 0
			parts++
			joined = joinHeader(joined, next)
		}
		if isAttribution(joined) {
			if parts > 1 && startsLater(lines, i, j) {
				break // the header starts below: line i is the reply's ("… écrivez à a@b.fr")
			}
			return j - i + 1, "attribution"
		}
	}
	if len(l) <= 120 && hasColon(l) && (wroteColonRe.MatchString(l) || quotingRe.MatchString(l)) && nextQuoted(lines, i+1) {
		// "Sam Smith wrote:", "Sam a écrit :" without date or address: only right
		// above quoted lines (stripQuotes keeps it when an answer follows the quote)
		return 1, ruleBareAttribution
	}
	return 0, ""
}

// headStartRe: how the first line of an attribution starts, "On …", "Le …", "Am …", a date.
var headStartRe = regexp.MustCompile(`(?i)^\s*((on|le|am|el|il|op|den|em|dne|dnia|w dniu|på)\s|\d)`)

// startsLater reports whether the attribution found over lines i..j starts below line i:
// line i does not open like one, and the lines after it, opening like one, make one alone.
func startsLater(lines []string, i, j int) bool {
	if headStartRe.MatchString(lines[i]) {
		return false
	}
	k := skipBlank(lines, i+1)
	if k > j || !headStartRe.MatchString(lines[k]) {
		return false
	}
	n, _ := quoteHeader(lines, k)
	return n > 0 && k+n-1 == j
}

// joinHeader joins the lines of a wrapped header, without a space inside "<a@b>".
func joinHeader(a, b string) string {
	if strings.HasSuffix(a, "<") || strings.HasPrefix(b, ">") {
		return a + b
	}
	return a + " " + b
}

// isAttribution reports whether s, a line or joined lines, is an "On <date>, <someone>
// wrote:" header in one of the known languages.
func isAttribution(s string) bool {
	if len(s) > maxAttribution {
		return false
	}
	// Every pattern below is anchored at the end: a header ends with a colon, or (wroteRe
	// only) with a verb. Most lines end with neither, and the patterns are costly on
	// prose ("Le … 14 h." makes wroteMidRe backtrack), so look at the end first.
	t := strings.TrimRight(s, " \t\r\n\f")
	if !strings.HasSuffix(t, ":") && !strings.HasSuffix(t, "：") {
		return endsWithVerb(t) && looksLikeHeader(s)
	}
	if matchWrote(s) && looksLikeHeader(s) { // wroteRe, without its cost
		return true
	}
	if wroteMidRe.MatchString(s) || sentRe.MatchString(s) || wroteOnRe.MatchString(s) {
		return true
	}
	return len(s) < 300 && addrColonRe.MatchString(s) && strings.ContainsAny(s, "0123456789") &&
		headerKind(s) == 0
}

// maxAttribution is the longest attribution, in bytes, lines joined.
const maxAttribution = 400

// wroteVerbList is wroteVerbs as plain lower-case strings.
var wroteVerbList = func() []string {
	var vs []string
	for v := range strings.SplitSeq(wroteVerbs, "|") {
		vs = append(vs, strings.ToLower(strings.NewReplacer(`\(`, "(", `\)`, ")").Replace(v)))
	}
	return vs
}()

// endsWithVerb reports whether t ends with one of the verbs of wroteRe: what wroteRe
// matches in a line that does not end with a colon, without its cost. It compares t
// lower-cased (strings.ToLower of its last 64 bytes) with the verbs, rune by rune from
// the end, without making the lower-cased copy (see hasLowerSuffix).
func endsWithVerb(t string) bool {
	t = tail(t, 64)
	last, _ := utf8.DecodeLastRuneInString(t)
	for _, v := range verbsByLast[unicode.ToLower(last)] {
		if hasLowerSuffix(t, v) {
			return true
		}
	}
	return false
}

// verbsByLast is wroteVerbList by the last rune of each verb.
var verbsByLast = func() map[rune][]string {
	m := map[rune][]string{}
	for _, v := range wroteVerbList {
		r, _ := utf8.DecodeLastRuneInString(v)
		m[r] = append(m[r], v)
	}
	return m
}()

// hasLowerSuffix reports whether strings.ToLower(t) ends with v, a valid lower-case
// string: ToLower lower-cases rune by rune (a byte that is not UTF-8 becomes U+FFFD,
// which v does not hold), and the runes that end a valid encoding read the same
// backwards.
func hasLowerSuffix(t, v string) bool {
	for v != "" {
		if t == "" {
			return false
		}
		vr, vn := utf8.DecodeLastRuneInString(v)
		tr, tn := utf8.DecodeLastRuneInString(t)
		if unicode.ToLower(tr) != vr {
			return false
		}
		v, t = v[:len(v)-vn], t[:len(t)-tn]
	}
	return true
}

// tail returns the last n bytes of s or a little more, cut at a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[i:]
}

// looksLikeHeader rejects sentences that merely end with "wrote:": a quote header
// names a date, a time or an address.
func looksLikeHeader(s string) bool {
	return strings.ContainsAny(s, "0123456789@") || strings.Contains(s, "<")
}

// The patterns above are costly on prose, line after line; these checks, each a
// condition without which a pattern cannot match, keep most lines away from them.

// lead returns the first byte of l after the white space that \s matches, or 0.
func lead(l string) byte {
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case ' ', '\t', '\n', '\f', '\r':
			continue
		}
		return l[i]
	}
	return 0
}

// isIntro reports whether l may open a quote header written over several lines: it
// holds an address ("@" or "<"), or it opens with a word that such headers open with,
// or with a short word and a number ("pe 20. lokakuuta …", "tir. 18. apr. …"). It says
// what `(?i)^\s*(on|le|am|el|il|op|den|d\.|w dniu|dnia|em|dne|på|в|vào|\S*\d|\S{1,6}\s+\d)`
// says (TestPrefilters checks that), written out because a pattern costs a lot on
// every line: after white space, one of introWords (no word boundary), or a first word
// that holds a digit (\S*\d), or a first word of one to six characters, white space and
// a digit (\S{1,6}\s+\d). \S is any character but the white space of \s, a byte that is not
// UTF-8 included (a pattern reads it as U+FFFD, one character, as DecodeRuneInString).
func isIntro(l string) bool {
	if strings.IndexByte(l, '@') >= 0 || strings.IndexByte(l, '<') >= 0 {
		return true
	}
	t := trimLeftSpaceRE(l)
	for _, w := range introWords {
		if hasPrefixFold(t, w) {
			return true
		}
	}
	i, n := 0, 0 // the first word is t[:i], n characters
	for i < len(t) && !isSpaceRE(t[i]) {
		if isDigit(t[i]) {
			return true // no byte of a multibyte character is an ASCII digit
		}
		_, w := utf8.DecodeRuneInString(t[i:])
		i += w
		n++
	}
	if n < 1 || n > 6 {
		return false
	}
	j := i
	for j < len(t) && isSpaceRE(t[j]) {
		j++
	}
	return j > i && j < len(t) && isDigit(t[j])
}

// introWords are the words that isIntro's pattern opens with.
var introWords = []string{"on", "le", "am", "el", "il", "op", "den", "d.", "w dniu", "dnia", "em", "dne", "på", "в", "vào"}

// isRuleByte reports a byte that rules are drawn with: "-----", "_____", "=====", "*****".
func isRuleByte(b byte) bool { return b == '-' || b == '_' || b == '=' || b == '*' }

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// hasColon reports an ASCII or a full-width colon.
func hasColon(l string) bool {
	return strings.IndexByte(l, ':') >= 0 || strings.Contains(l, "：")
}

// isQuoted reports whether a line is quoted with ">" (or the full-width "＞"), or with
// "|" as some clients and mailing-list archives do; a table row drawn with "|" ("| salle | état |") is not a quote.
func isQuoted(l string) bool {
	l = strings.TrimLeft(l, " \t")
	if l == "" {
		return false
	}
	if l[0] == '>' || strings.HasPrefix(l, "＞") { // Japanese mailers may quote with a full-width ">"
		return true
	}
	if l[0] != '|' {
		return false
	}
	t := strings.TrimRight(l, " \t\r")
	return len(t) == 1 || t[len(t)-1] != '|' || strings.Count(t, "|") < 2
}

// replyAboveRe finds the line helpdesks and notification services put at the top of
// their mail so that replies stay above it ("##- Please type your reply above this line
// -##", "Répondez au-dessus de cette ligne"): what follows it is their quoted mail.
var replyAboveRe = regexp.MustCompile(`(?i)(above this line|above the line|au-dessus de cette ligne|oberhalb dieser zeile|über dieser zeile|por encima de esta línea|sopra questa (riga|linea)|boven deze (regel|lijn)|acima desta linha|ovanför (denna|den här) rad|powyżej tej linii|この行より上)`)

// isReplyAboveMarker reports whether l is such a marker line: the phrase and a word asking
// for a reply, in a line of at most ten words (a sentence that mentions "above this
// line" is not one).
func isReplyAboveMarker(l string) bool {
	return mayReplyAbove(l) && len(strings.Fields(l)) <= 10 && replyAboveRe.MatchString(l) && replyWordRe.MatchString(l)
}

// replyAboveKeys are words of replyAboveRe's phrases, one in each: "above" (this line,
// the line), "ligne" (au-dessus de cette ligne), "zeile" (oberhalb/über dieser zeile),
// "cima" (por encima de esta línea, acima desta linha), "opra" (sopra questa riga),
// "boven" (boven deze regel), "ovanf" (ovanför denna rad), "powy" (powyżej tej linii);
// the Japanese phrase is checked as it is. Their letters are ASCII and none is k or s,
// so the pattern's case folding matches them only in ASCII, upper or lower case
// (TestFoldASCII checks that).
var replyAboveKeys = [][]byte{[]byte("above"), []byte("ligne"), []byte("zeile"), []byte("cima"),
	[]byte("opra"), []byte("boven"), []byte("ovanf"), []byte("powy")}

// mayReplyAbove reports whether replyAboveRe can match l: l holds one of replyAboveKeys
// in any case, or the Japanese phrase.
func mayReplyAbove(l string) bool {
	var buf [256]byte
	if len(l) > len(buf) {
		return true // let the pattern say
	}
	if strings.Contains(l, "この行より上") {
		return true
	}
	b := buf[:len(l)]
	for i := 0; i < len(l); i++ {
		c := l[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	for _, k := range replyAboveKeys {
		if bytes.Contains(b, k) {
			return true
		}
	}
	return false
}

// replyWordRe: the marker asks for a reply ("type your reply", "répondez", "antworten",
// "escriba su respuesta", "rispondi", "antwoord", "responda", "svara", "odpowiedz",
// "返信"); "see the note above this line" is not one.
var replyWordRe = regexp.MustCompile(`(?i)(repl|respon|answer|type|write|répon|repon|écri|antwort|schreib|respuest|escrib|rispond|scriv|antwoord|schrijf|svar|odpowi|napisz|返信|回复|回覆)`)

// inQuote reports whether line i belongs to a quoted block: it is quoted, or it is a
// long quoted line that the sender's client wrapped without repeating the ">" — an
// unquoted line right between two quoted lines that carries a link or continues a long
// line (it does not start with a capital letter).
func inQuote(lines []string, i int) bool {
	if isQuoted(lines[i]) {
		return true
	}
	l := lines[i]
	if i == 0 || i+1 >= len(lines) || strings.TrimSpace(l) == "" || !isQuoted(lines[i-1]) || !isQuoted(lines[i+1]) {
		return false
	}
	if strings.Contains(l, "://") || strings.Contains(lines[i-1], "://") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(l)
	return !unicode.IsUpper(r) && utf8.RuneCountInString(strings.TrimSpace(lines[i-1])) >= 30
}

// nextQuoted reports whether the first non-blank line from i on is quoted.
func nextQuoted(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return isQuoted(lines[i])
		}
	}
	return false
}

// splitShared puts an "On … wrote:" header that shares its line with the reply ("ok On
// Wed, … wrote:") on a line of its own, when quoted lines follow.
func splitShared(lines []string) []string {
	for i := 0; i < len(lines); i++ {
		if isQuoted(lines[i]) || !nextQuoted(lines, i+1) {
			continue
		}
		if t := strings.TrimSpace(lines[i]); len(t) >= 3 && strings.EqualFold(t[:3], "on ") {
			continue
		}
		if !matchWrote(lines[i]) {
			continue // sharedRe ends like wroteRe: without a verb at the end, no match
		}
		m := sharedRe.FindStringSubmatch(lines[i])
		if m == nil || !isAttribution(m[2]) {
			continue
		}
		head := strings.TrimRight(m[1], " -")
		out := append([]string{}, lines[:i]...)
		out = append(out, head, m[2])
		return append(out, lines[i+1:]...)
	}
	return lines
}
