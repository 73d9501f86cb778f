package parse

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// ruleCase is one text-rule expectation: the visible text, and the rules that removed
// something, in the order they fired (none when the text stays whole).
type ruleCase struct {
	name, in, want string
	rules          []string
}

// runRuleCases checks the visible text and which rule removed what.
func runRuleCases(t *testing.T, tests []ruleCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cuts := visibleTextCuts(tt.in, false)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			var rules []string
			for _, c := range cuts {
				rules = append(rules, c.Rule)
			}
			if !slices.Equal(rules, tt.rules) {
				t.Errorf("rules %q, want %q (cuts %q)", rules, tt.rules, cuts)
			}
		})
	}
}

// quoted puts "> " before every line of s.
func quoted(s string) string {
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}

// TestAttributionsByClient checks the attribution lines mail clients write above a
// quote, in the languages they are localised in: Gmail (web and Android), Apple Mail
// and iOS, Thunderbird, Outlook for Mac, old Gmail's "date name <address>" form.
func TestAttributionsByClient(t *testing.T) {
	const q = "\n\n> Bonjour,\n> le vidéoprojecteur ne marche pas.\n"
	attr := []struct{ name, line string }{
		{"gmail en", "On Sat, Jul 20, 2013 at 10:00 AM Sam Smith <sam@example.com> wrote:"},
		{"gmail fr", "Le sam. 20 juil. 2013 à 10:00, Sam Smith <sam@example.com> a écrit :"},
		{"gmail de", "Am Sa., 20. Juli 2013 um 10:00 Uhr schrieb Sam Smith <sam@example.com>:"},
		{"gmail es", "El sáb, 20 jul 2013 a las 10:00, Sam Smith (<sam@example.com>) escribió:"},
		{"gmail it", "Il giorno sab 20 lug 2013 alle ore 10:00 Sam Smith <sam@example.com> ha scritto:"},
		{"gmail nl", "Op za 20 jul. 2013 om 10:00 schreef Sam Smith <sam@example.com>:"},
		{"gmail pt", "Em sáb., 20 de jul. de 2013 às 10:00, Sam Smith <sam@example.com> escreveu:"},
		{"gmail sv", "Den lör 20 juli 2013 kl 10:00 skrev Sam Smith <sam@example.com>:"},
		{"gmail pl", "sob., 20 lip 2013 o 10:00 Sam Smith <sam@example.com> napisał(a):"},
		{"gmail ja", "2013年7月20日(土) 10:00 Sam Smith <sam@example.com>:"},
		{"gmail android", "On Sat, 20 Jul 2013, 10:00 Sam Smith, <sam@example.com> wrote:"},
		{"old gmail date name address", "2013/7/20 sam via Support <info@example.com>"},
		{"old gmail date name address colon", "2013/7/20 Sam Smith <sam@example.com>:"},
		{"apple en", "On 20 Jul 2013, at 10:00, Sam Smith <sam@example.com> wrote:"},
		{"apple fr", "Le 20 juil. 2013 à 10:00, Sam Smith <sam@example.com> a écrit :"},
		{"apple de", "Am 20.07.2013 um 10:00 schrieb Sam Smith <sam@example.com>:"},
		{"apple ja", "2013/07/20 10:00、Sam Smith <sam@example.com>のメール:"},
		{"ios at time", "On Jul 20, 2013, at 10:00 AM, Sam Smith <sam@example.com> wrote:"},
		{"thunderbird en", "On 7/20/2013 10:00 AM, Sam Smith wrote:"},
		{"thunderbird fr", "Le 20/07/2013 à 10:00, Sam Smith a écrit :"},
		{"thunderbird de", "Am 20.07.2013 um 10:00 schrieb Sam Smith:"},
		{"thunderbird es", "El 20/07/13 a las 10:00, Sam Smith escribió:"},
		{"thunderbird it", "Il 20/07/2013 10:00, Sam Smith ha scritto:"},
		{"thunderbird nl", "Op 20-07-2013 om 10:00 schreef Sam Smith:"},
		{"thunderbird pt", "Em 20/07/2013 10:00, Sam Smith escreveu:"},
		{"thunderbird sv", "Den 2013-07-20 kl. 10:00, skrev Sam Smith:"},
		{"thunderbird pl", "W dniu 20.07.2013 o 10:00, Sam Smith pisze:"},
		{"thunderbird ja", "2013/07/20 10:00 に Sam Smith さんは書きました:"},
		{"outlook mac", `On 7/20/13, 10:00 AM, "Sam Smith" <sam@example.com> wrote:`},
		{"bracketed address", "On 20/07/2013 10:00, Sam Smith [mailto:sam@example.com] wrote:"},
		{"bracketed date", "[20/07/2013 10:00] Sam Smith <sam@example.com>:"},
		{"name and address only", "Sam Smith <sam@example.com> wrote:"},
		{"name only, quote below", "Sam Smith wrote:"},
		{"name only fr, quote below", "Sam Smith a écrit :"},
		{"name only, horde", "Quoting Sam Smith <sam@example.com>:"},
		{"name only, horde de", "Zitat von Sam Smith <sam@example.com>:"},
		{"gmail mobile javascript link", "On Saturday, July 20, 2013, sam via Support <\ninfo@example.com\n<javascript:_e(%7B%7D,'cvml','info@example.com');>> wrote:"},
		{"gmail wrapped", "On Sat, Jul 20, 2013 at 10:00 AM Sam Smith <\nsam@example.com> wrote:"},
		{"gmail fr wrapped three lines", "Le sam. 20 juil. 2013 à 10:00, Sam Smith\n<sam@example.com>\na écrit :"},
		{"de wrapped", "Am 20.07.2013 um 10:00 schrieb Sam Smith\n<sam@example.com>:"},
		{"mutt", "On Sat, Jul 20, 2013 at 10:00:00AM +0200, Sam Smith wrote:"},
		{"mutt fr", "Le samedi 20 juillet 2013 à 10:00:00 +0200, Sam Smith a écrit :"},
		{"alpine", "On Sat, 20 Jul 2013, Sam Smith wrote:"},
		{"gnus", "Sam Smith <sam@example.com> writes:"},
		{"evolution", "On Sat, 2013-07-20 at 10:00 +0200, Sam Smith wrote:"},
		{"claws two lines", "On Sat, 20 Jul 2013 10:00:00 +0200\nSam Smith <sam@example.com> wrote:"},
		{"kmail de", "Am Samstag, 20. Juli 2013, 10:00:00 CEST schrieb Sam Smith:"},
		{"web.de text", "Sam Smith <sam@example.com> hat am 20. Juli 2013 um 10:00 geschrieben:"},
		{"russian", "20 июля 2013 г., в 10:00, Sam Smith <sam@example.com> написал(а):"},
		{"lotus notes", "Sam Smith/ACME wrote on 20/07/2013 10:00:00 AM:"},
		{"lotus notes de", `"Sam Smith" <sam@example.com> schrieb am 20.07.2013 10:00:00:`},
		{"chinese gmail", "Sam Smith <sam@example.com> 于2013年7月20日周六 上午10:00写道："},
	}
	var tests []ruleCase
	for _, a := range attr {
		tests = append(tests, ruleCase{a.name, "C'est réparé, merci.\n\n" + a.line + q, "C'est réparé, merci.", []string{"attribution"}})
	}
	for i := range tests {
		if strings.HasPrefix(tests[i].name, "name only") {
			tests[i].rules = []string{"bare_attribution"}
		}
		if strings.HasPrefix(tests[i].name, "old gmail date name address") && !strings.HasSuffix(tests[i].name, "colon") {
			tests[i].rules = []string{"date_name_address"}
		}
	}
	runRuleCases(t, tests)
}

// TestBareAttributionLeadIn checks that a "You wrote:" line above a quote that an answer
// follows stays: it may be the person's own words.
func TestBareAttributionLeadIn(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{"lead-in kept", "You wrote:\n> which room?\n\nRoom 12.", "You wrote:\n> which room?\n\nRoom 12.", nil},
		{"bare attribution ending the mail", "Room 12.\n\nSam wrote:\n> which room?", "Room 12.", []string{"bare_attribution"}},
		{"sentence ending with wrote", "This is what I wrote:\nthe projector is broken.", "This is what I wrote:\nthe projector is broken.", nil},
	})
}

// TestMobileSignatures checks the one-line signatures phones and mobile apps add, in the
// languages they are localised in, alone and above an attribution.
func TestMobileSignatures(t *testing.T) {
	sigs := []string{
		"Sent from my iPhone", "Envoyé de mon iPhone", "Von meinem iPhone gesendet", "Enviado desde mi iPhone",
		"Inviato da iPhone", "Verzonden met mijn iPhone", "Verstuurd vanaf mijn iPhone", "Enviado do meu iPhone",
		"Skickat från min iPhone", "Wysłane z iPhone'a", "iPhoneから送信", "Sent from my Galaxy",
		"Envoyé depuis mon smartphone Samsung Galaxy.", "Sent from Yahoo Mail on Android", "Sent from Mail for Windows",
		"Get Outlook for iOS", "Get Outlook for Android", "Obtenir Outlook pour Android", "Outlook für iOS beziehen",
		"Obtener Outlook para iOS", "Scarica Outlook per Android", "Outlook voor iOS downloaden",
		"Baixe o Outlook para Android", "Skaffa Outlook för iOS", "Pobierz aplikację Outlook dla systemu Android",
		"Get Outlook for iOS<https://aka.ms/o0ukef>", "Sent from Yahoo Mail for iPhone<https://overview.mail.yahoo.com/?.src=iOS>",
		"Sent via the Samsung Galaxy S7, an AT&T 4G LTE smartphone", "Envoyé de mon téléphone, excusez les fautes",
		"Envoyé à partir de Outlook pour Android", "Inviato dal mio smartphone Huawei", "Wysłano z iPhone'a", "Verzonden vanuit Outlook", "Gesendet mit der WEB.DE Mail App", "Von meinem Samsung Galaxy Smartphone gesendet.",
	}
	var tests []ruleCase
	for _, s := range sigs {
		tests = append(tests, ruleCase{"alone " + s, "D'accord, merci.\n\n" + s, "D'accord, merci.", []string{"mobile_signature"}})
		tests = append(tests, ruleCase{"with attribution " + s,
			"D'accord, merci.\n\n" + s + "\n\nOn 20 Jul 2013, at 10:00, Sam <sam@example.com> wrote:\n\n> Bonjour",
			"D'accord, merci.", []string{"attribution", "mobile_signature"}})
	}
	tests = append(tests,
		ruleCase{"mobile line shares the attribution's line",
			"D'accord.\n\nSent from my iPhone On 20 Jul 2013, at 10:00, Sam <sam@example.com> wrote:\n> Bonjour",
			"D'accord.", []string{"attribution", "mobile_signature"}},
		ruleCase{"a sentence is not a signature", "Envoyé de mon bureau, c'est plus simple pour moi.", "Envoyé de mon bureau, c'est plus simple pour moi.", nil},
		ruleCase{"a japanese sentence ending in 送信", "了解です。\n\n資料は会社のパソコンから送信", "了解です。\n\n資料は会社のパソコンから送信", nil},
		ruleCase{"outlook app named in a sentence", "Merci.\n\nI cannot use Outlook for iOS", "Merci.\n\nI cannot use Outlook for iOS", nil},
		ruleCase{"a phone sent for repair", "Merci.\n\nSent the iPhone to the repair shop, still waiting.\nSam", "Merci.\n\nSent the iPhone to the repair shop, still waiting.\nSam", nil},
		ruleCase{"outlook in a sentence", "Get Outlook for iOS to work again: it crashes on start since the update, on every phone of the school.", "Get Outlook for iOS to work again: it crashes on start since the update, on every phone of the school.", nil},
	)
	runRuleCases(t, tests)
}

// TestOutlookHeaderBlocks checks Outlook's header blocks in the languages it is
// localised in, with and without addresses, with and without the rule above them.
func TestOutlookHeaderBlocks(t *testing.T) {
	blocks := []struct{ name, block string }{
		{"en", "From: Sam Smith <sam@example.com>\nSent: Saturday, July 20, 2013 10:00 AM\nTo: Support <support@example.org>\nSubject: RE: Projector"},
		{"en no address", "From: Sam Smith\nSent: Saturday, July 20, 2013 10:00 AM\nTo: Support\nSubject: RE: Projector"},
		{"en mailto", "From: Sam Smith [mailto:sam@example.com]\nSent: Saturday, July 20, 2013 10:00 AM\nTo: Support\nCc: Jo\nSubject: RE: Projector"},
		{"fr", "De : Sam Smith <sam@example.com>\nEnvoyé : samedi 20 juillet 2013 10:00\nÀ : Support <support@example.org>\nObjet : RE: Vidéoprojecteur"},
		{"fr no address", "De : Sam Smith\nEnvoyé : samedi 20 juillet 2013 10:00\nÀ : Support\nObjet : RE: Vidéoprojecteur"},
		{"fr bold", "*De :* Sam Smith\n*Envoyé :* samedi 20 juillet 2013 10:00\n*À :* Support\n*Objet :* RE: Vidéoprojecteur"},
		{"de", "Von: Sam Smith <sam@example.com>\nGesendet: Samstag, 20. Juli 2013 10:00\nAn: Support\nBetreff: AW: Beamer"},
		{"es", "De: Sam Smith <sam@example.com>\nEnviado el: sábado, 20 de julio de 2013 10:00\nPara: Support\nAsunto: RE: Proyector"},
		{"es old", "De: Sam Smith\nEnviado: sábado, 20 de julio de 2013 10:00\nPara: Support\nAsunto: RE: Proyector"},
		{"it", "Da: Sam Smith <sam@example.com>\nInviato: sabato 20 luglio 2013 10:00\nA: Support\nOggetto: R: Proiettore"},
		{"nl", "Van: Sam Smith <sam@example.com>\nVerzonden: zaterdag 20 juli 2013 10:00\nAan: Support\nOnderwerp: RE: Beamer"},
		{"pt", "De: Sam Smith <sam@example.com>\nEnviada em: sábado, 20 de julho de 2013 10:00\nPara: Support\nAssunto: RE: Projetor"},
		{"sv", "Från: Sam Smith <sam@example.com>\nSkickat: den 20 juli 2013 10:00\nTill: Support\nÄmne: SV: Projektor"},
		{"pl", "Od: Sam Smith <sam@example.com>\nWysłano: sobota, 20 lipca 2013 10:00\nDo: Support\nTemat: RE: Projektor"},
		{"ja", "差出人: Sam Smith <sam@example.com>\n送信日時: 2013年7月20日 10:00\n宛先: Support\n件名: RE: プロジェクター"},
	}
	var tests []ruleCase
	for _, b := range blocks {
		old := "\n\nBonjour,\nle vidéoprojecteur ne marche pas."
		tests = append(tests,
			ruleCase{b.name, "Réparé.\n\n" + b.block + old, "Réparé.", []string{"header_block"}},
			ruleCase{b.name + " under a rule", "Réparé.\n\n________________________________\n" + b.block + old, "Réparé.", []string{"rule_header_block"}},
			ruleCase{b.name + " under original message", "Réparé.\n\n-----Original Message-----\n" + b.block + old, "Réparé.", []string{"original_message"}},
		)
	}
	for _, o := range []string{"-----Message d'origine-----", "-----Ursprüngliche Nachricht-----", "-------- Mensaje original --------",
		"-------- Messaggio originale --------", "-------- Oorspronkelijk bericht --------", "-------- Mensagem original --------",
		"-------- Originalmeddelande --------", "-------- Oryginalna wiadomość --------", "-------- 元のメッセージ --------",
		"-------- Original message --------"} {
		tests = append(tests, ruleCase{o, "Réparé.\n\n" + o + "\nSam: le vidéoprojecteur ne marche pas.", "Réparé.", []string{"original_message"}})
	}
	tests = append(tests,
		ruleCase{"appointment stays", "Rendez-vous :\nDate : 12 mars\nÀ : salle 3\nObjet : formation\n\nMerci", "Rendez-vous :\nDate : 12 mars\nÀ : salle 3\nObjet : formation\n\nMerci", nil},
	)
	runRuleCases(t, tests)
}

// TestSeparators checks separator lines: what follows a real one (a signature, a
// footer) goes; a rule inside the reply, with the person's text after it, stays.
func TestSeparators(t *testing.T) {
	const sig = "\nSam Smith\nLycée Jean Moulin\n01 23 45 67 89"
	runRuleCases(t, []ruleCase{
		{"dash dash space", "Réparé.\n\n-- " + sig, "Réparé.", []string{"signature_delimiter"}},
		{"dash dash", "Réparé.\n\n--" + sig, "Réparé.", []string{"signature_delimiter"}},
		{"em dash", "Réparé.\n\n—" + sig, "Réparé.", []string{"signature_delimiter"}},
		{"en dash", "Réparé.\n\n–" + sig, "Réparé.", []string{"signature_delimiter"}},
		{"underscores", "Réparé.\n\n___" + sig, "Réparé.", []string{"signature_delimiter"}},
		{"mailing list footer", "Réparé.\n\n_______________________________________________\nsupport mailing list\nsupport@lists.example.org\nhttps://lists.example.org/listinfo/support", "Réparé.", []string{"signature_delimiter"}},
		{"stars", "Réparé.\n\n***" + sig, "Réparé.", []string{"separator"}},
		{"tildes", "Réparé.\n\n~~~~~~~~" + sig, "Réparé.", []string{"separator"}},
		{"equals", "Réparé.\n\n====" + sig, "Réparé.", []string{"separator"}},
		{"hashes", "Réparé.\n\n#####" + sig, "Réparé.", []string{"separator"}},
		{"markdown heading stays", "Réparé.\n\n### Détails\nSam Smith", "Réparé.\n\n### Détails\nSam Smith", nil},
		{"long dashes name only", "Réparé.\n\n----------\nSam", "Réparé.", []string{"separator"}},
		{"em dashes", "Réparé.\n\n———\nSam Smith\nsam@example.com", "Réparé.", []string{"separator"}},
		{"product footer", "Merci, c'est bon.\n\n---\nReply to this email directly or view it on the tracker:\nhttps://tracker.example.org/issues/12", "Merci, c'est bon.", []string{"separator"}},
		{"tracker mark", "Réparé.\nᐧ", "Réparé.", []string{"invisible_separator"}},
		{"notification footer of sentences with links", "Merci.\n\n---\n[Visit Topic](https://forum.example.org/t/12) or reply to this email to respond.\n\nTo unsubscribe from these emails, visit your [user preferences](https://forum.example.org/my/preferences).", "Merci.", []string{"separator"}},
		{"stars right under the text", "Réparé.\n***\nSam Smith", "Réparé.", []string{"separator"}},
		{"tildes right under the text", "Réparé.\n~~~~\nSam Smith\nsam@example.com", "Réparé.", []string{"separator"}},
		{"dashes right under a line are an underline", "Réparé\n-------\nSam Smith", "Réparé\n-------\nSam Smith", nil},
		{"tracker mark before a quote", "Réparé.\n\nᐧ\n\nOn Sat, Jul 20, 2013 at 10:00 AM Sam <sam@example.com> wrote:\n> Bonjour", "Réparé.", []string{"attribution", "invisible_separator"}},
		{"zero width line", "Réparé.\n\u200b\n-- \nSam", "Réparé.", []string{"signature_delimiter"}},
		// rules inside the reply
		{"rule between sections", "Voici le journal :\n\n----------\nErreur 500 sur /login\nErreur 500 sur /accueil\n----------\n\nPouvez-vous regarder ?", "Voici le journal :\n\n----------\nErreur 500 sur /login\nErreur 500 sur /accueil\n----------\n\nPouvez-vous regarder ?", nil},
		{"underlined heading", "Problème\n========\nLe vidéoprojecteur ne marche pas.\nMerci", "Problème\n========\nLe vidéoprojecteur ne marche pas.\nMerci", nil},
		{"rule then a question", "Réparé.\n\n----\nPouvez-vous confirmer ?", "Réparé.\n\n----\nPouvez-vous confirmer ?", nil},
		{"rule then sentences", "Point 1 : le vidéoprojecteur.\n\n****\n\nPoint 2 : la salle 12 n'a plus de chaises depuis lundi.\nMerci de regarder.", "Point 1 : le vidéoprojecteur.\n\n****\n\nPoint 2 : la salle 12 n'a plus de chaises depuis lundi.\nMerci de regarder.", nil},
		{"dash list stays", "À faire :\n- vérifier\n- relancer", "À faire :\n- vérifier\n- relancer", nil},
		{"first line never a signature", "--\nSam", "--\nSam", nil},
		{"em dash between paragraphs stays", "Point 1 : le vidéoprojecteur.\n—\nPoint 2 : la salle 12 n'a plus de chaises depuis lundi.", "Point 1 : le vidéoprojecteur.\n—\nPoint 2 : la salle 12 n'a plus de chaises depuis lundi.", nil},
	})
}

// TestQuotePrefixes checks quotes marked with "|" as well as ">", and that a table
// drawn with "|" stays.
func TestQuotePrefixes(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{"pipe quote", "Réparé.\n\nSam Smith wrote:\n| Bonjour,\n| le vidéoprojecteur ne marche pas.", "Réparé.", []string{"bare_attribution"}},
		{"pipe trailing quote", "Réparé.\n\n| Bonjour,\n| le vidéoprojecteur ne marche pas.", "Réparé.", []string{"trailing_quote"}},
		{"pipe under attribution", "Réparé.\n\nLe 20/07/2013 à 10:00, Sam Smith a écrit :\n|Bonjour,\n|le vidéoprojecteur ne marche pas.", "Réparé.", []string{"attribution"}},
		{"a pasted pipe stays", "Voici la commande :\ncat /var/log/mail.log\n  | grep refused", "Voici la commande :\ncat /var/log/mail.log\n  | grep refused", nil},
		{"table stays", "Voici les salles :\n\n| salle | état |\n| 12 | en panne |", "Voici les salles :\n\n| salle | état |\n| 12 | en panne |", nil},
		{"nested", "Réparé.\n\n> | Bonjour,\n> | ça ne marche pas.", "Réparé.", []string{"trailing_quote"}},
		{"full-width quote marks", "直りました。\n\n2013年7月20日(土) 10:00 Sam Smith <sam@example.com>:\n＞こんにちは\n＞プロジェクターが壊れています。", "直りました。", []string{"attribution"}},
		{"full-width trailing quote", "直りました。\n\n＞こんにちは\n＞プロジェクターが壊れています。", "直りました。", []string{"trailing_quote"}},
	})
}

// TestReplyAboveMarker checks the markers helpdesks and notification services put in
// their mail ("##- Please type your reply above this line -##"): the quoted
// notification below them goes, even without an attribution or quote marks.
func TestReplyAboveMarker(t *testing.T) {
	const notif = "\n\nYour request #12 has been updated.\nSam: the projector is dead.\n\nThis email is a service from Example Support."
	var tests []ruleCase
	for _, m := range []string{"##- Please type your reply above this line -##", "-- Reply above this line --",
		"Please reply above this line", "## Répondez au-dessus de cette ligne ##", "Bitte antworten Sie oberhalb dieser Zeile",
		"Escriba su respuesta por encima de esta línea", "Rispondi sopra questa riga", "Antwoord boven deze regel",
		"Responda acima desta linha", "Svara ovanför denna rad", "Odpowiedz powyżej tej linii", "この行より上に返信してください"} {
		tests = append(tests, ruleCase{m, "Réparé.\n\n" + m + notif, "Réparé.", []string{"reply_above_marker"}})
	}
	tests = append(tests,
		ruleCase{"a note about the line above stays", "Réparé.\n\nSee the error above this line.\nIt came back today.", "Réparé.\n\nSee the error above this line.\nIt came back today.", nil},
		ruleCase{"marker in a sentence stays", "I wrote my answer above this line because the form asked me to, and it was lost.", "I wrote my answer above this line because the form asked me to, and it was lost.", nil},
	)
	runRuleCases(t, tests)
}

// TestAttributionOverBlankLines checks attributions that HTML-to-text conversion spread
// over lines with blank lines between, and that a sentence above a blank line does not
// join a header below it.
func TestAttributionOverBlankLines(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{"a log line with a date and an address stays", "Voici le journal :\n\n2013-07-20 10:00:01 sending to <bob@example.org>\n2013-07-20 10:00:02 refused", "Voici le journal :\n\n2013-07-20 10:00:01 sending to <bob@example.org>\n2013-07-20 10:00:02 refused", nil},
		{"date name address first line stays", "2013/7/20 sam via Support <info@example.com>\nBonjour", "2013/7/20 sam via Support <info@example.com>\nBonjour", nil},
		{"spread attribution", "Réparé.\n\nOn Sat, Jul 20, 2013 at 10:00 AM Sam Smith\n\n<\nmailto:sam@example.com\n> wrote:\nBonjour", "Réparé.", []string{"attribution"}},
		{"fr spread", "Réparé.\n\nLe sam. 20 juil. 2013 à 10:00, Sam Smith\n\n<sam@example.com> a écrit :\nBonjour", "Réparé.", []string{"attribution"}},
		{"a line with an address above an attribution stays", "Merci, écrivez-moi à sam@example.com\n\nLe 20/07/2013 à 10:00, Support a écrit :\n> Bonjour", "Merci, écrivez-moi à sam@example.com", []string{"attribution"}},
		{"a line with an address right above an attribution stays", "Merci, écrivez-moi à sam@example.com\nLe 20/07/2013 à 10:00, Support a écrit :\n> Bonjour", "Merci, écrivez-moi à sam@example.com", []string{"attribution"}},
		{"a name with an address right above an attribution stays", "Réparé.\nSam Smith <sam@example.com>\nOn Sat, Jul 20, 2013 at 10:00 AM Support <support@example.org> wrote:\n> Bonjour", "Réparé.\nSam Smith <sam@example.com>", []string{"attribution"}},
		{"wrote on a date in a sentence", "As I wrote on 03/12 to the team, here are the steps:\n1. restart\n2. wait", "As I wrote on 03/12 to the team, here are the steps:\n1. restart\n2. wait", nil},
		{"sentence above stays", "On Saturday at 10 I will come.\n\nHere is what I wrote:\nthe projector is dead.", "On Saturday at 10 I will come.\n\nHere is what I wrote:\nthe projector is dead.", nil},
	})
}

// TestVisibleTextHostileTails: texts made of thousands of signatures, separators, quote
// marks or attributions cost linear time. Each rule removes one tail, so a stripper that
// looked at every line again after each removal was quadratic (20 KB of "----"
// signatures took 4 s, 40 KB 12 s); 300 KB of each now takes well under a second.
func TestVisibleTextHostileTails(t *testing.T) {
	deadline := 20 * time.Second * raceSlowdown // a loaded machine; the quadratic took minutes
	for _, unit := range []string{
		"text\n\n----\nSam\n", "text\n--\nSam\n", "ᐧ\n\u200b\n—\n", "| a\n|\n", "x\n\n\n\n\n----\n",
		"Merci à a@b.fr\nLe 20/07/2013 à 10:00, X a écrit :\n", "On Sat\n\n<\n",
		"##- Please type your reply above this line -##\n", "Sent from my iPhone, Samsung Galaxy\n",
		"Sam wrote:\n| q\n", "2013/7/20 sam <s@x.org>\n\n",
	} {
		s := strings.Repeat(unit, 300000/len(unit))
		start := time.Now()
		visibleText(s)
		d := time.Since(start)
		if d > deadline {
			t.Errorf("%q × %d took %v", unit, 300000/len(unit), d)
		}
		t.Logf("%q × %d: %v", unit, 300000/len(unit), d)
	}
}
