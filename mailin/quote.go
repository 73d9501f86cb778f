package mailin

import (
	"regexp"
	"strings"
)

// Patterns of the lines that start quoted history, in the languages mail is written in.
var (
	// "-----Original Message-----" and its translations.
	originalRe = regexp.MustCompile(`(?i)^\s*[-_=*]{2,}\s*(original message|message d'origine|message d’origine|ursprüngliche nachricht|originalnachricht|mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht|originalmeddelande|originalmelding|opprinnelig melding|oprindelig meddelelse|alkuperäinen viesti|wiadomość oryginalna|oryginalna wiadomość|mensagem original|исходное сообщение|původní zpráva|eredeti üzenet|reply above this line|antworten sie über dieser zeile)\s*[-_=*]*\s*$`)
	// Forwarded content is the point of the mail: nothing after it is stripped.
	forwardRe = regexp.MustCompile(`(?i)^\s*(?:[-_=*]{2,}\s*(forwarded message|message transféré|weitergeleitete nachricht|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|vidarebefordrat meddelande|videresendt meddelelse|przekazana wiadomość|mensagem encaminhada|пересылаемое сообщение)|begin forwarded message:|début du message réexpédié\s*:|anfang der weitergeleiteten nachricht:)`)
	// The verbs of "On <date>, <someone> wrote:" headers.
	wroteRe = regexp.MustCompile(`(?i)(wrote|writes|a écrit|a ecrit|schrieb|escribió|escribio|ha scritto|scrisse|schreef|skrev|pisze|napisał|napisała|napisał\(a\)|escreveu|пишет|написал|написала|kirjoitti|napsal|napísal|έγραψε|a scris|írta|yazdı|viết|写道|寫道|wrote the following|ha escrit|작성|のメッセージ)\s*[:：]?\s*$`)
	// Outlook-style header blocks: "From: …" followed by Sent/Date, To, Subject lines.
	fromLineRe = regexp.MustCompile(`(?i)^\s*[*>]*\s*(from|de|von|van|da|fra|från|od|lähettäjä|от|feladó|od:|z|remitente|mittente|expéditeur|发件人|寄件者|差出人)\s*\*?\s*[:：]`)
	hdrLineRe  = regexp.MustCompile(`(?i)^\s*[*>]*\s*(sent|date|envoyé|envoye|gesendet|datum|verzonden|inviato|data|sendt|skickat|wysłano|wysłane|enviado|enviada|fecha|отправлено|дата|lähetetty|küldve|odesláno|to|à|a|an|aan|til|till|do|para|кому|vastaanottaja|címzett|komu|cc|objet|subject|betreff|onderwerp|oggetto|emne|ämne|temat|assunto|asunto|тема|aihe|tárgy|předmět|发送时间|收件人|主题|日期|寄件日期|收件者|主旨|送信日時|宛先|件名)\s*\*?\s*[:：]`)
	// Words that open a quote header written over several lines.
	introRe      = regexp.MustCompile(`(?i)^\s*(on|le|am|el|il|op|den|d\.|w dniu|dnia|em|dne|på|в|vào|\S*\d|.*@|.*<)`)
	underscoreRe = regexp.MustCompile(`^\s*(_{10,}|-{20,})\s*$`)
	// "2014-03-20 8:48 GMT+01:00 Name <a@b>:" and other headers ending with an address.
	addrColonRe = regexp.MustCompile(`[\w.+-]+@[\w.-]+>?\s*["»]?\s*[:：]$`)
	// Mobile signatures: "Sent from my iPhone" and the like.
	mobileRe  = regexp.MustCompile(`(?i)^\s*(sent from my|sent from|sent with|sent via|sent using|envoyé de mon|envoyé depuis|envoyé avec|envoyé à partir de|von meinem|gesendet von|gesendet mit|enviado desde|enviado do|enviado de|inviato da|verzonden met|verzonden vanaf|verstuurd vanaf|sendt fra|skickat från|wysłane z|get outlook for|obtenir outlook pour|télécharger outlook pour)\b[^,;!?]{0,80}$`)
	androidRe = regexp.MustCompile(`(?i)^\s*-{2,}\s*.{0,80}\s(wrote|a écrit|schrieb)\s*-{2,}\s*$`)
)

// VisibleText returns the new part of a reply: the quoted history under a quote header
// ("On … wrote:", "Le … a écrit :", Outlook "From:/De :" blocks, "-----Original
// Message-----", an underscore rule before such a block), a trailing block of "> "
// lines, a "-- " signature and a mobile "Sent from my iPhone" line are removed. Answers
// written between quoted lines are kept with their quotes; a forwarded message is kept.
func VisibleText(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i := 0; i < len(lines); i++ {
		if forwardRe.MatchString(lines[i]) {
			break
		}
		if isQuoteHeader(lines, i) {
			cut = i
			break
		}
	}
	lines = lines[:cut]
	lines = trimTrailingQuote(lines)
	lines = cutSignature(lines)
	return strings.TrimRight(strings.Join(lines, "\n"), " \t\n")
}

// isQuoteHeader reports whether the quoted history starts at line i.
func isQuoteHeader(lines []string, i int) bool {
	l := lines[i]
	if originalRe.MatchString(l) || androidRe.MatchString(l) {
		return true
	}
	if underscoreRe.MatchString(l) {
		// a rule followed by a header block
		for j := i + 1; j < len(lines) && j <= i+3; j++ {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			return fromLineRe.MatchString(lines[j]) || hdrLineRe.MatchString(lines[j])
		}
		return false
	}
	if fromLineRe.MatchString(l) && headerBlock(lines, i) {
		return true
	}
	// "On … wrote:" over up to three lines
	if strings.HasPrefix(strings.TrimSpace(l), ">") {
		return false
	}
	joined := strings.TrimSpace(l)
	for j := i; j < len(lines) && j < i+3; j++ {
		if j > i {
			if !introRe.MatchString(l) {
				break
			}
			next := strings.TrimSpace(lines[j])
			if next == "" || strings.HasPrefix(next, ">") {
				break
			}
			joined += " " + next
		}
		if len(joined) < 400 && wroteRe.MatchString(joined) && looksLikeHeader(joined) {
			return true
		}
		if len(joined) < 300 && addrColonRe.MatchString(joined) && strings.ContainsAny(joined, "0123456789") &&
			!fromLineRe.MatchString(joined) {
			return true
		}
	}
	return false
}

// looksLikeHeader rejects sentences that merely end with "wrote:": a quote header
// names a date, a time or an address.
func looksLikeHeader(s string) bool {
	return strings.ContainsAny(s, "0123456789@") || strings.Contains(s, "<")
}

// headerBlock reports whether at least two header lines (Sent, To, Subject, …) follow
// the "From:" line at i within a few lines.
func headerBlock(lines []string, i int) bool {
	n := 0
	for j := i + 1; j < len(lines) && j <= i+8; j++ {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			continue
		}
		if hdrLineRe.MatchString(lines[j]) {
			n++
			if n >= 2 {
				return true
			}
		}
	}
	return n >= 1 && strings.Contains(lines[i], "@") && i+1 < len(lines) && hdrLineRe.MatchString(lines[i+1])
}

// trimTrailingQuote drops the block of quoted ("> ") and blank lines at the end.
func trimTrailingQuote(lines []string) []string {
	end := len(lines)
	for end > 0 {
		t := strings.TrimSpace(lines[end-1])
		if t == "" || strings.HasPrefix(t, ">") {
			end--
			continue
		}
		break
	}
	// keep everything if the whole text is quoted
	for _, l := range lines[:end] {
		if strings.TrimSpace(l) != "" {
			return lines[:end]
		}
	}
	return lines
}

// cutSignature removes a "-- " signature and a mobile signature line with what follows.
func cutSignature(lines []string) []string {
	for i, l := range lines {
		if i == 0 {
			continue
		}
		t := strings.TrimRight(l, " \t")
		if t == "--" || t == "-- " || l == "-- " {
			if len(lines)-i <= 20 {
				return lines[:i]
			}
		}
		if mobileRe.MatchString(l) {
			return lines[:i]
		}
	}
	return lines
}
