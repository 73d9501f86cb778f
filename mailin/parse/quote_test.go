package parse

import (
	"strings"
	"testing"
)

func TestVisibleText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"french gmail", "Merci, c'est réglé.\n\nLe mar. 3 mars 2026 à 10:00, Support <support@example.org> a écrit :\n> Bonjour\n", "Merci, c'est réglé."},
		{"french gmail three lines", "Merci.\n\nLe lun. 13 mai 2019 à 13:41, Assistance ENT\n<support+AURAN1-13.abc@example.org>\na écrit :\n\n> Bonjour\n", "Merci."},
		{"french no address", "Ok pour moi.\n\nLe lun. 13 mai 2019 à 13:41, Jean Dupont a écrit :\n> Bonjour", "Ok pour moi."},
		{"french thunderbird", "Bien reçu.\n\nLe 13/05/2019 à 13:41, Jean Dupont a écrit :\n> Bonjour\n> --\n> Jean", "Bien reçu."},
		{"english two lines", "Thanks\n\nOn Tue, Mar 3, 2026 at 10:00 AM Support <\nsupport@example.org> wrote:\n\n> Hi\n", "Thanks"},
		{"german", "Danke!\n\nAm 25.06.2015 um 10:55 schrieb Hans Muster:\n> Hallo", "Danke!"},
		{"spanish", "Gracias\n\nEl 25 jun. 2015, a las 10:55, Ana <ana@example.es> escribió:\n> Hola", "Gracias"},
		{"outlook french", "Voici le fichier.\n\nDe : Support <support@example.org>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : Jean <j@example.fr>\nObjet : RE: [#AURAN1-1] test\n\nancien texte", "Voici le fichier."},
		{"outlook french bold", "Voici.\n\n*De :* Support <support@example.org>\n*Envoyé :* mardi 3 mars 2026 10:00\n*À :* Jean\n*Objet :* test\n\nancien", "Voici."},
		{"outlook french date", "Voici.\n\nDe : Support <support@example.org>\nDate : mardi 3 mars 2026 10:00\nÀ : Jean\nObjet : test\n\nancien", "Voici."},
		{"outlook english", "Done.\r\n\r\nFrom: Support\r\nSent: Tuesday\r\nTo: Jo\r\nSubject: test\r\n\r\nold", "Done."},
		{"original message", "ok\n-----Message d'origine-----\nDe : x", "ok"},
		{"original message en", "ok\n\n-----Original Message-----\nFrom: x", "ok"},
		{"reply message", "ok\n\n-----Reply Message-----\n\nold", "ok"},
		{"underscore rule", "ok\n________________________________\nFrom: x@y\nSent: now", "ok"},
		{"iphone fr", "D'accord\n\nEnvoyé de mon iPhone", "D'accord"},
		{"iphone en", "Sure\n\nSent from my iPhone\n\n> quoted", "Sure"},
		{"samsung", "Sure\n\nSent from my Samsung Galaxy smartphone.", "Sure"},
		{"envoyé depuis", "Oui\n\nEnvoyé depuis mon appareil mobile Orange", "Oui"},
		{"outlook ios", "Yes\n\nGet Outlook for iOS\n________________________________\nFrom: a@b.c\nSent: Monday\nTo: d@e.f\nSubject: x", "Yes"},
		{"not a mobile signature", "Sent from my desk, this is easier.", "Sent from my desk, this is easier."},
		{"signature", "Réponse\n\n-- \nJean Dupont\nCollège Y", "Réponse"},
		{"trailing quote", "answer\n\n> question\n> more\n", "answer"},
		{"inline answers kept", "> question 1\nanswer 1\n> question 2\nanswer 2\n> tail", "> question 1\nanswer 1\n> question 2\nanswer 2"},
		{"interleaved under a header", "On Tue, Mar 3, 2026 at 10:00 AM Bob <b@example.org> wrote:\n\n> Which room?\n\nRoom 3.\n\n> Which day?\n\nMonday.\n\n> Bob", "On Tue, Mar 3, 2026 at 10:00 AM Bob <b@example.org> wrote:\n\n> Which room?\n\nRoom 3.\n\n> Which day?\n\nMonday."},
		{"bottom post", "On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi\n\nHello\n\nRegards", "Hello\n\nRegards"},
		{"shared line", "ok On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi", "ok"},
		{"wrapped quote line", "Merci\n\nLe 3 mars 2026 à 10:00, X <x@y.fr> a écrit :\n> une ligne longue qui a été coupée par le client de\nmessagerie sans chevron\n> suite", "Merci"},
		{"forward kept", "FYI\n\n---------- Forwarded message ---------\nFrom: a@b\nDate: Tue, 3 Mar 2026\nSubject: x\n\nbody", "FYI\n\n---------- Forwarded message ---------\nFrom: a@b\nDate: Tue, 3 Mar 2026\nSubject: x\n\nbody"},
		{"sentence with wrote", "The doc I wrote:\nis attached", "The doc I wrote:\nis attached"},
		{"appointment kept", "Rendez-vous :\nDate : 12 mars\nÀ : salle 3\n\nMerci", "Rendez-vous :\nDate : 12 mars\nÀ : salle 3\n\nMerci"},
		{"dash list kept", "À faire :\n\n- vérifier\n- relancer", "À faire :\n\n- vérifier\n- relancer"},
		{"all quoted stays", "> only a quote", "> only a quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := visibleText(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// BenchmarkVisibleTextLongQuote measures the stripper on a reply quoting 750 KB, the
// corpus case that naive regular expressions make quadratic.
func BenchmarkVisibleTextLongQuote(b *testing.B) {
	body := "Thanks, that works.\n\nOn Tue, Nov 3, 2026 at 10:00, Someone <someone@example.org> wrote:\n" +
		strings.Repeat("> "+strings.Repeat("quoted text ", 8)+"\n", 7500)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if got := visibleText(body); got != "Thanks, that works." {
			b.Fatalf("visible %q", got)
		}
	}
}

// TestEndsWithVerb checks the shortcut of isAttribution against wroteRe itself.
func TestEndsWithVerb(t *testing.T) {
	for _, l := range []string{
		"On Mon, 10 Mar 2025, Camille <c@d.fr> wrote", "Le 10 mars 2025, Camille a écrit",
		"Am 10.03.2025 schrieb", "W dniu 10.03.2025 Jan napisał(a)", "10 марта 2025 г., Иван написал",
		"Le problème est apparu après la mise à jour de jeudi, vers 14 h.", "I wrote this myself.",
		"Ce qu'il a ÉCRIT", "Camille WROTE", "2025/3/10 小明 写道", "rewrote", "",
	} {
		if got, want := endsWithVerb(l), wroteRe.MatchString(l); got != want {
			t.Errorf("endsWithVerb(%q) = %v, wroteRe says %v", l, got, want)
		}
	}
}
