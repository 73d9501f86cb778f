package parse

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestPrefilters checks each shortcut that keeps lines away from a quote or signature
// pattern against the pattern itself: on every line of the test data and of the corpora
// (when present), a line the pattern matches must pass the shortcut.
func TestPrefilters(t *testing.T) {
	lines := []string{
		"-----Original Message-----", "  -------- Message d'origine --------", "___________",
		"**********", "---- On Mon, Camille wrote ----", "De : Camille", "*From:* x", "Envoyé : lundi",
		"发件人：张三", "2014-03-20 8:48 GMT+01:00 Name <a@b.fr>", "Begin forwarded message:",
		"début du message réexpédié :", "  ---------- Forwarded message ---------", "-- ", "--", "__",
		"-Abhishek Kona", "Sent from my iPhone", "  Envoyé de mon iPad", "Get Outlook for iOS",
		"ſent from my phone", "Télécharger Outlook pour Android", "Wysłane z telefonu",
		"Le problème est apparu jeudi.", "", "   ", "Merci : à bientôt",
		"~~~~~~", "———", "* * *", "Outlook für iOS beziehen", "Pobierz aplikację Outlook dla systemu Android",
		"iPhoneから送信", "Xperiaから送信", "Sent via the Samsung Galaxy S7, an AT&T 4G LTE smartphone", "发自我的iPhone", "##- Please type your reply above this line -##",
		// every phrase of replyAboveRe, and the openings of the mobile patterns
		"Répondez au-dessus de cette ligne", "Bitte oberhalb dieser Zeile antworten", "Antworten Sie über dieser Zeile",
		"Responda por encima de esta línea", "Rispondi sopra questa riga", "Rispondi sopra questa linea",
		"Antwoord boven deze regel", "Antwoord boven deze lijn", "Responda acima desta linha", "Svara ovanför denna rad",
		"Svara ovanför den här rad", "Odpowiedz powyżej tej linii", "この行より上に返信してください", "Reply above the line",
		// (not "Download Outlook for Android", "Descargar …", "Hämta …": mayMobile has
		// always kept lines starting with "d" or "h" from outlookAppRe)
		"Scarica Outlook per Android", "Baixe o Outlook para iOS", "Skaffa Outlook för iOS", "Outlook for iOS", "o Outlook para Android", "Obtenir Outlook pour iOS",
		"Sendt fra min iPhone", "Skickat från min iPhone", "Wysłano z iPhone'a", "Verstuurd vanaf mijn iPhone", "Von meinem iPhone gesendet",
		"Enviado desde mi iPhone", "Inviato da iPhone", "Verzonden met iPhone", "Gesendet von meinem Handy",
		// Received fields
		"from mx.example.org by imap.example.org (Dovecot) with LMTP id x", "by mail with esmtp; with UTF8LMTPSA id y",
		// subjects
		"[Fwd: Impossible de me connecter]", "Re: [#AURAN1-1042] x", "TR : test", "Problème ENT-42",
		// forward markers
		"Begin doorgestuurd bericht:", "Anfang der weitergeleiteten Nachricht:", "Inicio del mensaje reenviado:",
		"Inizio messaggio inoltrato:", "Início da mensagem reencaminhada:", "Vidarebefordrat brev:",
		"Początek przekazywanej wiadomości:", "転送されたメッセージ：", "Forwarded message:", "  Début du message réexpédié :",
		// attributions, wrapped or not, and the verbs with their colon
		"On Mon, 10 Mar 2025 at 08:00, Camille <c@d.fr> wrote:", "Le lun. 10 mars 2025 à 08:00, Camille Durand <camille.durand@ac-lyon.fr> a écrit :",
		"Am 10.03.2025 um 08:00 schrieb Camille Durand:", "W dniu 10.03.2025 o 08:00, Jan napisał(a):", "10 марта 2025 г., в 08:00, Иван написал:",
		"2025/3/10 小明 写道：", "El 10 mar 2025, a las 8:00, Ana escribió:", "Den 10 mars 2025 skrev Sven:", "pe 20. lokakuuta 2025 klo 8.00 Matti kirjoitti:",
		"tir. 18. apr. 2025 kl. 08:00 skrev Ola", "ok On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:", "d. 10. mar. 2025 kl. 08:00 skrev", "vào 08:00 ngày 10 tháng 3, Minh viết:",
	}
	lines = withVariants(lines)
	var roots []string
	roots = append(roots, "testdata")
	roots = append(roots, corporaBase())
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil || len(b) > 4<<20 {
				return nil
			}
			lines = append(lines, strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")...)
			return nil
		})
	}
	lines = slices.Compact(slices.Sorted(slices.Values(lines)))
	t.Logf("%d lines", len(lines))
	rule := func(l string) bool { return isRuleByte(lead(l)) }
	checks := []struct {
		name string
		re   *regexp.Regexp
		pass func(string) bool
	}{
		{"originalRe", originalRe, rule},
		{"androidRe", androidRe, rule},
		{"ruleRe", ruleRe, rule},
		{"dateAddrRe", dateAddrRe, func(l string) bool { return isDigit(lead(l)) && strings.Contains(l, "@") }},
		{"hdrFromRe", hdrFromRe, hasColon},
		{"hdrDateRe", hdrDateRe, hasColon},
		{"hdrToRe", hdrToRe, hasColon},
		{"hdrSubjRe", hdrSubjRe, hasColon},
		{"forwardRe", forwardRe, mayForward},
		{"mobileRe", mobileRe, mayMobile},
		{"sigDelimRe", sigDelimRe, func(l string) bool { return l != "" && (l[0] == '-' || l[0] == '_' || l[0] == 0xe2) }},
		{"longRuleRe", longRuleRe, mayLongRule},
		{"outlookAppRe", outlookAppRe, mayMobile},
		{"cjkMobileRe", cjkMobileRe, mayCJKMobile},
		{"deviceRe", deviceRe, mayMobile},
		{"replyAboveRe", replyAboveRe, mayReplyAbove},
		{"dashNameRe", dashNameRe, func(l string) bool { return l != "" && l[0] == '-' }},
		{"sharedRe", sharedRe, matchWrote},
		{"prefixRe", prefixRe, hasColon},
		{"bracketHeadRe", bracketHeadRe, hasColon},
		{"fwdPrefixRe", fwdPrefixRe, hasColon},
		{"bareKeyRe", bareKeyRe, hasDashDigit},
		{"lmtpRe", lmtpRe, func(l string) bool { return containsFoldASCIIString(l, "lmtp") }},
	}
	// isIntro must say exactly what the one pattern it replaces said
	introRe := regexp.MustCompile(`(?i)^\s*(on|le|am|el|il|op|den|d\.|w dniu|dnia|em|dne|på|в|vào|\S*\d|\S{1,6}\s+\d|.*@|.*<)`)
	for _, l := range lines {
		if got, want := isIntro(l), introRe.MatchString(l); got != want {
			t.Errorf("isIntro(%q) = %v, the pattern says %v", l, got, want)
		}
	}
	// endsWithVerb must say what it said when it lower-cased a copy
	for _, l := range lines {
		want := false
		lt := strings.ToLower(tail(l, 64))
		for _, v := range wroteVerbList {
			want = want || strings.HasSuffix(lt, v)
		}
		if got := endsWithVerb(l); got != want {
			t.Errorf("endsWithVerb(%q) = %v, with a lower-cased copy %v", l, got, want)
		}
	}
	// matchWrote must say exactly what wroteRe says on the lines that end with a colon,
	// where isAttribution asks it, and on the lines made so (the pattern is slow: not on
	// lines longer than headers are)
	wrote := 0
	for _, l := range lines {
		if len(l) > 200 {
			continue
		}
		s := l
		if t := strings.TrimRight(l, " \t\n\f\r"); !strings.HasSuffix(t, ":") && !strings.HasSuffix(t, "：") {
			s = l + " :"
		}
		got, want := matchWrote(s), wroteRe.MatchString(s)
		if got != want {
			t.Errorf("matchWrote(%q) = %v, wroteRe says %v", s, got, want)
		}
		if want {
			wrote++
		}
	}
	if wrote == 0 {
		t.Error("wroteRe matched no line: the check tests nothing")
	}
	for _, c := range checks {
		matched := 0
		for _, l := range lines {
			if !c.re.MatchString(l) {
				continue
			}
			matched++
			if !c.pass(l) {
				t.Errorf("%s matches %q but its shortcut rejects it", c.name, l)
			}
		}
		if matched == 0 {
			t.Errorf("%s matched no line: the check tests nothing", c.name)
		}
	}
}

// withVariants adds to lines the forms a case-insensitive pattern
// must see the same as its shortcut does: upper case, title case, the long s and the
// Kelvin sign (which fold to "s" and "k"), a lone byte that is not UTF-8, white space
// and a colon around.
func withVariants(lines []string) []string {
	out := lines[:len(lines):len(lines)]
	add := func(l string) { out = append(out, l) }
	for _, l := range lines {
		add(strings.ToUpper(l))
		add(strings.Title(l)) //nolint:staticcheck // a rough title case is enough here
		add(strings.NewReplacer("s", "ſ", "k", "\u212a").Replace(l))
		add("\xe2" + l)
		add(l + "\xc3")
		add(" \t" + l + " \f")
	}
	return out
}

// TestFoldASCII checks what replyAboveKeys rely on: under simple case folding, as (?i)
// compares, each of their letters is equal only to itself and its other ASCII case.
func TestFoldASCII(t *testing.T) {
	// and "border", which mayQuoteHTML looks for as outlookBorderRe would (tag and
	// attribute names are lower-cased in ASCII only by the tokenizer), and "lmtp",
	// which isLMTPHop looks for before lmtpRe
	for _, k := range append(replyAboveKeys, []byte("border"), []byte("lmtp")) {
		for _, c := range string(k) {
			orbit := []rune{c}
			for r := unicode.SimpleFold(c); r != c; r = unicode.SimpleFold(r) {
				orbit = append(orbit, r)
			}
			if len(orbit) != 2 || orbit[1] != unicode.ToUpper(c) {
				t.Errorf("%q folds with %q", c, orbit)
			}
		}
	}
	for _, c := range []struct {
		a, b rune
		want bool
	}{{'k', '\u212a', true}, {'K', '\u212a', true}, {'s', 'ſ', true}, {'S', 'ſ', true}, {'é', 'É', true},
		{'a', 'b', false}, {'i', 'İ', false}, {'å', '\u212b', true}, {'в', 'В', true}, {'1', '1', true}} {
		if got := foldRune(c.a, c.b); got != c.want || foldRune(c.b, c.a) != c.want {
			t.Errorf("foldRune(%q, %q) = %v", c.a, c.b, got)
		}
		re := regexp.MustCompile("(?i)^" + regexp.QuoteMeta(string(c.a)) + "$")
		if re.MatchString(string(c.b)) != c.want {
			t.Errorf("the pattern disagrees on %q, %q", c.a, c.b)
		}
	}
}
