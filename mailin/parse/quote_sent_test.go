package parse

import (
	"os"
	"strings"
	"testing"
	"time"
)

// sentConfirmation is the text part of a confirmation as Guichet sends it
// (templates/testdata/golden/confirmation.fr.txt).
const sentConfirmation = `Bonjour Élodie Martin,

Nous avons bien reçu votre requête et vous répondrons au plus vite.

Référence : AURAN1-13
Objet de la demande : Impossible d'accéder à l'ENT
Statut : Nouveau

Suivre votre demande : http://127.0.0.1:8080/requests/AURAN1-13

Répondez à ce message pour compléter votre demande, en gardant [#AURAN1-13] dans l'objet.

-- 
Assistance ENT
Ce message a été envoyé automatiquement par le service d'assistance.
`

// sentConfirmationHTML is the same mail's HTML part, as clients see it.
const sentConfirmationHTML = `<html><body><div class="mail">
<p>Bonjour Élodie Martin,</p>
<p>Nous avons bien reçu votre requête et vous répondrons au plus vite.</p>
<table><tr><th>Référence :</th><td>AURAN1-13</td></tr>
<tr><th>Objet de la demande :</th><td>Impossible d'accéder à l'ENT</td></tr>
<tr><th>Statut :</th><td>Nouveau</td></tr></table>
<p><a href="http://127.0.0.1:8080/requests/AURAN1-13">Suivre votre demande</a></p>
<p>Répondez à ce message pour compléter votre demande, en gardant [#AURAN1-13] dans l'objet.</p>
<p class="footer">Assistance ENT<br>Ce message a été envoyé automatiquement par le service d'assistance.</p>
</div></body></html>`

const ownAnswer = "Bonjour,\n\nLe problème revient chaque matin depuis lundi.\nJ'ai joint une capture.\n\nÉlodie"

// wrap re-wraps text at width columns, as a client that re-flows a quote does.
func wrap(text string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n\n") {
		var line string
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				out = append(out, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		out = append(out, line, "")
	}
	return strings.Join(out, "\n")
}

func prefix(text, p string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(p+l, " ")
	}
	return strings.Join(lines, "\n")
}

// dropLines removes the lines of text that contain any of subs.
func dropLines(text string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		keep := true
		for _, s := range subs {
			if strings.Contains(l, s) {
				keep = false
			}
		}
		if keep {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestStripSent: a quote of our own mail goes, by comparison with what we sent, even
// without any attribution line or quote marker; the person's words stay.
func TestStripSent(t *testing.T) {
	sent := []string{sentConfirmation}
	cases := []struct {
		name, text, want string
		ok               bool
	}{
		{"no marker", ownAnswer + "\n\n" + sentConfirmation, ownAnswer, true},
		{"rewrapped at 72 columns", ownAnswer + "\n\n" + wrap(sentConfirmation, 72), ownAnswer, true},
		{"rewrapped at 40 columns with > prefixes", ownAnswer + "\n\n" + prefix(wrap(sentConfirmation, 40), "> "), ownAnswer, true},
		{"| prefixes", ownAnswer + "\n\n" + prefix(sentConfirmation, "| "), ownAnswer, true},
		{"client dropped lines", ownAnswer + "\n\n" + dropLines(sentConfirmation, "Statut", "Suivre", "-- "), ownAnswer, true},
		{"attribution line in any language", ownAnswer + "\n\nW dniu 28.11.2026 o 17:21 Assistance ENT pisze:\n\n" + sentConfirmation, ownAnswer, true},
		{"bare date line is not an attribution", ownAnswer + "\n\n2026/11/28 Assistance ENT <support@example.org>\n" + prefix(sentConfirmation, "> "),
			ownAnswer + "\n\n2026/11/28 Assistance ENT <support@example.org>", true},
		{"HTML to text of our HTML part", ownAnswer + "\n\n" + htmlToText(sentConfirmationHTML), ownAnswer, true},
		{"case and spacing", ownAnswer + "\n\n" + strings.ToUpper(strings.ReplaceAll(sentConfirmation, " ", "   ")), ownAnswer, true},
		{"signature above the quote goes by the generic rules", ownAnswer + "\n-- \nÉlodie Martin\nCollège Jean Moulin\n\n" + sentConfirmation, ownAnswer, true},
		{"answer below the quote stays", prefix(sentConfirmation, "> ") + "\n\n" + ownAnswer, ownAnswer, true},
		{"lead-in line above a quote that an answer follows stays", "Vous m'avez écrit :\n" + prefix(sentConfirmation, "> ") + "\n\n" + ownAnswer,
			"Vous m'avez écrit :\n\n" + ownAnswer, true},
		{"Outlook header block above the quote", ownAnswer + "\n\n________________________________\nDe : Assistance ENT <support@example.org>\nEnvoyé : samedi 28 novembre 2026 17:21\nÀ : Élodie Martin\nObjet : [#AURAN1-13] Nous avons bien reçu votre requête\n\n" + wrap(sentConfirmation, 76), ownAnswer, true},
		{"older history below the quote goes", ownAnswer + "\n\n" + sentConfirmation + "\nLe 27/11/2026 à 09:00, Élodie Martin a écrit :\n> Bonjour, je ne peux plus me connecter.\n", ownAnswer, true},
		{"one sentence of ours repeated in the person's text", "Bonjour,\n\nVous m'avez écrit :\nNous avons bien reçu votre requête et vous répondrons au plus vite.\nCela fait pourtant trois jours que j'attends.\n\nÉlodie", "", false},
		{"two lines of ours repeated", "Bonjour,\n\nRéférence : AURAN1-13\nStatut : Nouveau\nToujours pas de nouvelles.\n", "", false},
		{"quote of a mail we did not send", ownAnswer + "\n\nAm 28.11.2026 schrieb Hans:\n> Können Sie mir bitte helfen?\n> Das Passwort geht nicht.\n> Danke für Ihre Zeit heute.\n", "", false},
		{"nothing but the quote", sentConfirmation, "", true},
		{"outlook text of our HTML: links in <>", ownAnswer + "\n\n" +
			strings.Replace(htmlToText(sentConfirmationHTML), "Suivre votre demande", "Suivre votre demande<http://127.0.0.1:8080/requests/AURAN1-13>", 1), ownAnswer, true},
		{"quote of a quote, >> and > |", ownAnswer + "\n\n" + prefix(wrap(sentConfirmation, 60), ">> "), ownAnswer, true},
		{"mobile signature and a japanese attribution above", ownAnswer + "\n\niPhoneから送信\n\n2026/11/28 17:21、Assistance ENT <support@example.org>のメール:\n\n" + prefix(sentConfirmation, "> "), ownAnswer, true},
		{"empty", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := StripSent(c.text, sent)
			if ok != c.ok || got != c.want {
				t.Errorf("StripSent = %q, %v\nwant       %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// TestStripSentFallback: for a mail we did not send, the generic rules apply (visibleText).
func TestStripSentFallback(t *testing.T) {
	text := ownAnswer + "\n\nOn Fri, 28 Nov 2026 at 17:21, Hans <hans@example.org> wrote:\n> Können Sie mir bitte helfen?\n> Das Passwort geht nicht.\n"
	if _, ok := StripSent(text, []string{sentConfirmation}); ok {
		t.Fatal("StripSent found our mail in a quote of another")
	}
	if got := visibleText(text); got != ownAnswer {
		t.Errorf("generic rules = %q", got)
	}
}

// TestStripSentHostile: NUL bytes, a sent text too short to compare, and huge inputs
// of repeated words finish quickly and cut nothing they should not.
func TestStripSentHostile(t *testing.T) {
	if _, ok := StripSent("a\x00b\n\x00\x00\n", []string{"\x00"}); ok {
		t.Error("NUL input matched")
	}
	if _, ok := StripSent(ownAnswer+"\n\nStatut : Nouveau\n", []string{"Statut : Nouveau"}); ok {
		t.Error("a sent text of three words matched")
	}
	if _, ok := StripSent(ownAnswer, nil); ok {
		t.Error("no sent text matched")
	}
	big := strings.Repeat("a a a a a a a a a a a a a a a a a a a b\n", 50000)
	sent := strings.Repeat("a ", 200000)
	deadline := 20 * time.Second * raceSlowdown
	if os.Getenv("CI") == "" {
		deadline = 60 * time.Second * raceSlowdown
	}
	start := time.Now()
	StripSent(big, []string{sent})
	if d := time.Since(start); d > deadline {
		t.Errorf("StripSent on huge input took %v", d)
	}
}
