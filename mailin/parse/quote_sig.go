package parse

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	// Mobile signatures: "Sent from my iPhone", "Envoyé de mon iPhone", "Get Outlook for iOS".
	mobileRe = regexp.MustCompile(`(?i)^\s*(sent from my|sent from|sent with|sent via|sent using|envoyé de mon|envoyé depuis|envoyé avec|envoyé à partir de|envoyé de|von meinem|gesendet von|gesendet mit|enviado desde|enviado do|enviado de|inviato da|inviato dal|inviato con|verzonden met|verzonden vanaf|verzonden vanuit|verstuurd vanaf|verstuurd met|sendt fra|skickat från|wysłane z|wysłane ze|wysłano z|wysłano ze|get outlook for|obtenir outlook pour|télécharger outlook pour)\b[^,;!?]{0,80}$`)
	// Outlook's mobile apps: "Get Outlook for iOS", "Outlook für iOS beziehen", "Pobierz
	// aplikację Outlook dla systemu Android": the app's own line, its verb and nothing else
	// ("I cannot use Outlook for iOS" is the person's).
	outlookAppRe = regexp.MustCompile(`(?i)^\s*(get|download|obtenir|télécharger|obtener|descargar|scarica|ottieni|baixe|baixar|obter|skaffa|hämta|pobierz|pobierz aplikację)?\s*(o\s+)?outlook\s+(for|pour|für|para|per|voor|för|dla systemu|dla|na|til|pro)\s+(ios|android)(\s+(beziehen|downloaden|herunterladen|hämta|holen))?\s*\.?\s*$`)
	// Phones localised in Japanese and Chinese: "iPhoneから送信", "发自我的iPhone" (a device
	// named in Latin letters: "会社のパソコンから送信" is a sentence).
	cjkMobileRe = regexp.MustCompile(`^\s*([\p{Latin}\d !.'-]{1,40}\s?(から送信|より送信)|(发自我的|發自我的|从我的|從我的|寄自我的)\s?[\p{Latin}\d !.'-]{1,40}(发送|傳送)?)\s*$`)
	// A signature delimiter: "-- ", "--", "__" (mailing-list footers), and "—" or "–",
	// which phones' smart punctuation makes of "--".
	sigDelimRe = regexp.MustCompile(`^(--|—|–|_{2,})\s*$`)
	// A longer rule ("----", "====", "***", "~~~", "####", "+++", "———"): a separator only when what
	// follows looks like a signature or a footer (see sigBlock).
	longRuleRe = regexp.MustCompile(`^\s*(?:[-=*~#+—–]\s?){3,}\s*$`)
	// A one-line sign-off "-Abhishek Kona" ending the text.
	dashNameRe = regexp.MustCompile(`^-\p{L}[\p{L}.'’-]*(\s+\p{L}[\p{L}.'’-]*){0,3}\s*$`)
)

// maxSigLines is the longest signature, in lines, that a delimiter may start.
const maxSigLines = 20

// cutSignature removes a signature and what follows it: a delimiter line ("-- ", "__")
// with at most maxSigLines after it, a mobile "Sent from my …" line, or a "-Name" sign-off
// after a blank line as the last line. The first line is never a signature.
func cutSignature(lines []string, tr *cutTrace) []string {
	_, out := cutSignatureFrom(lines, tr, 1)
	return out
}

// maxRuleTail bounds where a delimiter may stand: among the last maxRuleTail lines (a
// "-- " has at most maxSigLines after it, a long rule's signature ten non-blank lines).
const maxRuleTail = 2 * maxSigLines

// cutSignatureFrom is cutSignature for lines whose lines[1:clean] are known to hold no
// mobile line (an earlier call looked): it looks there no more, so that stripTail,
// which calls it until nothing changes, costs linear time. It returns how far lines
// are now known to hold none, and the lines.
func cutSignatureFrom(lines []string, tr *cutTrace, clean int) (int, []string) {
	last := len(lines) - 1
	for last >= 0 && strings.TrimSpace(lines[last]) == "" {
		last--
	}
	win := max(1, last-maxRuleTail) // before it, only a mobile line may start a signature
	for i := max(1, clean); i < win; i++ {
		if lines[i] != "" && isMobileLine(lines[i]) {
			tr.add("mobile_signature", lines[i:])
			return i, lines[:i]
		}
	}
	for i := win; i <= last; i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if (l[0] == '-' || l[0] == '_' || l[0] == 0xe2) && sigDelimRe.MatchString(l) && last-i <= maxSigLines &&
			(l[0] != 0xe2 || sigBlock(lines[i+1:last+1])) { // "—" may also part two paragraphs
			tr.add("signature_delimiter", lines[i:])
			return win, lines[:i]
		}
		if strings.TrimSpace(l) == trackerMark && last-i <= maxSigLines {
			tr.add("invisible_separator", lines[i:])
			return win, lines[:i]
		}
		if mayLongRule(l) && (strings.TrimSpace(lines[i-1]) == "" || !isUnderline(l)) &&
			longRuleRe.MatchString(l) && sigBlock(lines[i+1:last+1]) {
			tr.add("separator", lines[i:])
			return win, lines[:i]
		}
		if isMobileLine(l) {
			tr.add("mobile_signature", lines[i:])
			return win, lines[:i]
		}
		if i == last && l[0] == '-' && dashNameRe.MatchString(l) && strings.TrimSpace(lines[i-1]) == "" {
			tr.add("dash_name_signoff", lines[i:])
			return win, lines[:i]
		}
	}
	return win, lines
}

// trackerMark is the invisible character ("ᐧ", U+1427) that mail trackers (Mailtrack,
// Streak) add on a line of its own below the text: what follows it is not the reply.
const trackerMark = "\u1427"

// sigBlock reports whether the lines after a long rule look like a signature or a
// footer rather than more of the reply: one to ten lines, no other rule; lines with
// contact details (an address, a link, a phone number: a footer's "view it on …
// https://…"), and otherwise no question and no sentence of six words or more; either
// some contact details or only short lines without final punctuation (a name, a title).
func sigBlock(lines []string) bool {
	n, contact, short := 0, false, true
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if n++; n > 10 || longRuleRe.MatchString(t) || sigDelimRe.MatchString(t) {
			return false
		}
		end := t[len(t)-1]
		if strings.Contains(t, "@") || strings.Contains(t, "://") || strings.Contains(t, "www.") || countDigits(t) >= 6 {
			contact = true // a footer's sentence carries its link ("reply to this email or visit …")
			continue
		}
		if end == '?' || (len(strings.Fields(t)) >= 6 && (end == '.' || end == '!')) {
			return false
		}
		if utf8.RuneCountInString(t) > 50 || strings.ContainsRune(".!:;,", rune(end)) {
			short = false
		}
	}
	return n > 0 && (contact || short)
}

// isMobileLine reports whether l is a phone's or a mobile app's one-line signature,
// maybe followed by the link that HTML-to-text leaves ("Get Outlook for
// iOS<https://aka.ms/o0ukef>").
func isMobileLine(l string) bool {
	if strings.HasSuffix(strings.TrimSpace(l), ">") {
		if m := trailingLinkRe.FindStringIndex(l); m != nil {
			l = l[:m[0]]
		}
	}
	if mayMobile(l) && (mobileRe.MatchString(l) || outlookAppRe.MatchString(l) || deviceRe.MatchString(l)) {
		return true
	}
	return mayCJKMobile(l) && cjkMobileRe.MatchString(l)
}

// trailingLinkRe is a link in angle brackets ending a line.
var trailingLinkRe = regexp.MustCompile(`\s*<(https?|mailto):[^<>\s]*>\s*$`)

// deviceRe: "Sent via the Samsung Galaxy S7, an AT&T 4G LTE smartphone", "Envoyé de mon
// téléphone, excusez les fautes": a comma is allowed when the line names a device
// before it ("Sent from my desk, easier than my phone." is a sentence).
var deviceRe = regexp.MustCompile(`(?i)^\s*(sent (from|via|with|using)|envoyé (de|depuis|à partir de|avec)|enviado (desde|do|de|con)|inviato (da|dal|con)|verzonden (met|vanaf|vanuit)|verstuurd (met|vanaf)|gesendet (von|mit)|skickat (från|med)|wysłane (z|ze))\s[^,]{0,100}\b(iphone|ipad|android|samsung|galaxy|smartphone|blackberry|mobile|huawei|xiaomi|pixel|tablet|téléphone|telefono|teléfono|handy|telefoon|telefon)\b.{0,60}$`)

// isUnderline reports whether a rule is made of "-" or "=" only, as the line under a
// heading is ("Problème" over "========"): only after a blank line is it a separator.
func isUnderline(l string) bool {
	return strings.Trim(l, "-= \t") == ""
}

// mayLongRule reports whether longRuleRe can match l: it starts with a rule's character.
func mayLongRule(l string) bool {
	b := lead(l)
	return isRuleByte(b) || b == '~' || b == '#' || b == '+' || b == 0xe2 // "—" and "–" start with 0xe2
}

// mayCJKMobile reports whether cjkMobileRe can match l.
func mayCJKMobile(l string) bool {
	return len(l) <= 200 && (strings.Contains(l, "送信") || strings.Contains(l, "自我的") ||
		strings.Contains(l, "从我的") || strings.Contains(l, "從我的"))
}

// countDigits returns how many ASCII digits s holds.
func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// mayMobile reports whether mobileRe, outlookAppRe or deviceRe can match l: it starts
// with the first letter of one of their phrases ("Sent …", "Envoyé …", "Von …",
// "Gesendet …", "Get …", "Inviato …", "Wysłane …", "Obtenir …", "Télécharger …", and
// outlookAppRe's "Baixe …", "Pobierz …"; not "d" or "h": "Download …" and "Hämta …" do
// not get through), is short enough, and opens with one of mobileStarts.
func mayMobile(l string) bool {
	b := lead(l)
	switch b | 0x20 {
	case 's', 'e', 'v', 'g', 'i', 'w', 'o', 't', 'b', 'p':
		return len(strings.TrimLeft(l, " \t\n\f\r")) <= 400 && mobileStart(l)
	}
	return b >= 0x80 && mobileStart(l) // a letter that folds to one of them ("ſ")
}

// mobileStarts are how the lines of mobileRe, outlookAppRe and deviceRe start, after
// white space: "sen" (sent, sendt), "envoy", "von", "gesendet", "enviado", "inviato",
// "verzonden", "verstuurd", "skickat", "wysła" (wysłane, wysłano), "get", "télécharger"
// for mobileRe and deviceRe; outlookAppRe's verbs, and "o" for its "outlook" and "o
// outlook" without a verb (and obtenir, obtener, obter, ottieni).
var mobileStarts = []string{"sen", "envoy", "von", "gesendet", "enviado", "inviato", "verzonden",
	"verstuurd", "skickat", "wysła", "get", "télécharger", "download", "descargar", "scarica",
	"baix", "skaffa", "hämta", "pobierz", "o"}

// mobileStart reports whether l starts, after white space, with one of mobileStarts
// under the patterns' case folding.
func mobileStart(l string) bool {
	t := trimLeftSpaceRE(l)
	for _, p := range mobileStarts {
		if hasPrefixFold(t, p) {
			return true
		}
	}
	return false
}
