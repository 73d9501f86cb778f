package mailin

import "testing"

func TestVisibleText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"french gmail", "Merci, c'est réglé.\n\nLe mar. 3 mars 2026 à 10:00, Support <support@example.org> a écrit :\n> Bonjour\n", "Merci, c'est réglé."},
		{"english two lines", "Thanks\n\nOn Tue, Mar 3, 2026 at 10:00 AM Support <\nsupport@example.org> wrote:\n\n> Hi\n", "Thanks"},
		{"outlook french", "Voici le fichier.\n\nDe : Support <support@example.org>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : Jean <j@example.fr>\nObjet : RE: [#AURAN1-1] test\n\nancien texte", "Voici le fichier."},
		{"outlook english", "Done.\r\n\r\nFrom: Support\r\nSent: Tuesday\r\nTo: Jo\r\nSubject: test\r\n\r\nold", "Done."},
		{"original message", "ok\n-----Message d'origine-----\nDe : x", "ok"},
		{"original message en", "ok\n\n-----Original Message-----\nFrom: x", "ok"},
		{"underscore rule", "ok\n________________________________\nFrom: x@y\nSent: now", "ok"},
		{"iphone fr", "D'accord\n\nEnvoyé de mon iPhone", "D'accord"},
		{"iphone en", "Sure\n\nSent from my iPhone\n\n> quoted", "Sure"},
		{"not a mobile signature", "Sent from my desk, this is easier.", "Sent from my desk, this is easier."},
		{"signature", "Réponse\n\n-- \nJean Dupont\nCollège Y", "Réponse"},
		{"trailing quote", "answer\n\n> question\n> more\n", "answer"},
		{"inline answers kept", "> question 1\nanswer 1\n> question 2\nanswer 2\n> tail", "> question 1\nanswer 1\n> question 2\nanswer 2"},
		{"forward kept", "FYI\n\n---------- Forwarded message ---------\nFrom: a@b\nDate: Tue, 3 Mar 2026\nSubject: x\n\nbody", "FYI\n\n---------- Forwarded message ---------\nFrom: a@b\nDate: Tue, 3 Mar 2026\nSubject: x\n\nbody"},
		{"sentence with wrote", "The doc I wrote:\nis attached", "The doc I wrote:\nis attached"},
		{"all quoted stays", "> only a quote", "> only a quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VisibleText(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
