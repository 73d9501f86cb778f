package parse

import (
	"context"
	"strings"
	"testing"
)

// TestVisibleTextForward checks the forward rule of the text path: from a forward
// marker on, everything stays, the marker included; the text above it goes through the
// usual rules; a forward inside the quoted history of a reply goes with that history.
func TestVisibleTextForward(t *testing.T) {
	const body = "From: Paul <paul@lycee.fr>\nDate: Tue, 3 Mar 2026 10:00\nSubject: Projector\nTo: support@lycee.fr\n\nThe projector in room 12 is dead.\n\n--\nPaul, physics\n\n> an older quote of his\n"
	tests := []struct {
		name, in string
		fwd      bool // the subject is a forward's
		want     string
	}{
		// each client's marker, with a note above; the forwarded signature ("--", the
		// trailing space a line loses) and trailing quote stay
		{"apple mail", "FYI\n\nBegin forwarded message:\n\n" + body, false, "FYI\n\nBegin forwarded message:\n\n" + body},
		{"gmail", "FYI\n\n---------- Forwarded message ---------\n" + body, false, "FYI\n\n---------- Forwarded message ---------\n" + body},
		{"thunderbird", "FYI\n\n-------- Forwarded Message --------\n" + body, false, "FYI\n\n-------- Forwarded Message --------\n" + body},
		{"outlook FW", "FYI\n\n-----Original Message-----\n" + body, true, "FYI\n\n-----Original Message-----\n" + body},
		{"outlook TR rule", "Pour vous\n\n________________________________\nDe : Paul <paul@lycee.fr>\nEnvoyé : lundi 3 mars 2026 10:00\nÀ : Jeanne\nObjet : Vidéoprojecteur\n\nIl est mort.", true, "Pour vous\n\n________________________________\nDe : Paul <paul@lycee.fr>\nEnvoyé : lundi 3 mars 2026 10:00\nÀ : Jeanne\nObjet : Vidéoprojecteur\n\nIl est mort."},
		{"gmail fr", "Voir ci-dessous\n\n---------- Message transféré ---------\nDe : Paul <paul@lycee.fr>\nDate: mar. 3 mars 2026 à 10:00\n\nIl est mort.", false, "Voir ci-dessous\n\n---------- Message transféré ---------\nDe : Paul <paul@lycee.fr>\nDate: mar. 3 mars 2026 à 10:00\n\nIl est mort."},
		{"thunderbird fr", "Voir ci-dessous\n\n-------- Message transféré --------\nSujet : Vidéo\n\nIl est mort.", false, "Voir ci-dessous\n\n-------- Message transféré --------\nSujet : Vidéo\n\nIl est mort."},
		{"apple mail fr", "Pour info\n\nDébut du message réexpédié :\n\nDe: Paul <paul@lycee.fr>\nObjet: Vidéo\n\nIl est mort.", false, "Pour info\n\nDébut du message réexpédié :\n\nDe: Paul <paul@lycee.fr>\nObjet: Vidéo\n\nIl est mort."},
		{"gmail de", "Zur Info\n\n---------- Weitergeleitete Nachricht ----------\nVon: Paul <paul@schule.de>\nDatum: Di., 3. März 2026 um 10:00\n\nDer Beamer ist kaputt.", false, "Zur Info\n\n---------- Weitergeleitete Nachricht ----------\nVon: Paul <paul@schule.de>\nDatum: Di., 3. März 2026 um 10:00\n\nDer Beamer ist kaputt."},
		{"gmail es", "Para ti\n\n---------- Mensaje reenviado ----------\nDe: Pablo <pablo@escuela.es>\nFecha: mar, 3 mar 2026 a las 10:00\n\nEl proyector no funciona.", false, "Para ti\n\n---------- Mensaje reenviado ----------\nDe: Pablo <pablo@escuela.es>\nFecha: mar, 3 mar 2026 a las 10:00\n\nEl proyector no funciona."},
		{"apple mail es", "Mira\n\nInicio del mensaje reenviado:\n\nDe: Pablo <pablo@escuela.es>\n\nNo funciona.\n\n--\nPablo", false, "Mira\n\nInicio del mensaje reenviado:\n\nDe: Pablo <pablo@escuela.es>\n\nNo funciona.\n\n--\nPablo"},
		{"apple mail it", "Vedi\n\nInizio messaggio inoltrato:\n\nDa: Paolo <paolo@scuola.it>\n\nNon funziona.\n\n--\nPaolo", false, "Vedi\n\nInizio messaggio inoltrato:\n\nDa: Paolo <paolo@scuola.it>\n\nNon funziona.\n\n--\nPaolo"},
		{"apple mail nl", "Zie hieronder\n\nBegin doorgestuurd bericht:\n\nVan: Piet <piet@school.nl>\n\nDe beamer is kapot.\n\n--\nPiet", false, "Zie hieronder\n\nBegin doorgestuurd bericht:\n\nVan: Piet <piet@school.nl>\n\nDe beamer is kapot.\n\n--\nPiet"},
		{"bare forwarded message line", "FYI\n\nForwarded message:\n\nFrom: Paul <paul@lycee.fr>\n\n> It is dead.", false, "FYI\n\nForwarded message:\n\nFrom: Paul <paul@lycee.fr>\n\n> It is dead."},
		{"forwarded message in a sentence", "The forwarded message: did you get it?\n\n-- \nJeanne", false, "The forwarded message: did you get it?"},
		// what stands above the marker still goes through the rules
		{"signature above the marker", "See below\n\n-- \nJeanne\nSupport desk\n\n---------- Forwarded message ---------\n" + body, false, "See below\n\n---------- Forwarded message ---------\n" + body},
		{"iphone above the marker", "FYI\n\nSent from my iPhone\n\nBegin forwarded message:\n\n" + body, false, "FYI\n\nBegin forwarded message:\n\n" + body},
		{"bare forward", "---------- Forwarded message ---------\n" + body, false, "---------- Forwarded message ---------\n" + body},
		{"bare forward after blank lines", "\n\nBegin forwarded message:\n\n" + body, false, "Begin forwarded message:\n\n" + body},
		// a forward in the quoted history of a reply is history
		{"reply quoting a forward", "Thanks, fixed.\n\nOn Wed, Mar 4, 2026 at 9:00 AM Jeanne <j@lycee.fr> wrote:\n> FYI\n>\n> ---------- Forwarded message ---------\n> From: Paul <paul@lycee.fr>\n>\n> It is dead.\n", false, "Thanks, fixed."},
		{"reply quoting a forward unquoted", "Thanks, fixed.\n\nFrom: Jeanne <j@lycee.fr>\nSent: Wednesday, March 4, 2026 9:00\nTo: support@lycee.fr\nSubject: FW: Projector\n\nFYI\n\n---------- Forwarded message ---------\nFrom: Paul <paul@lycee.fr>\n\nIt is dead.", false, "Thanks, fixed."},
		{"quoted marker is not a marker", "Done.\n\n> Begin forwarded message:\n> It is dead.", false, "Done."},
		// without a forward subject, Outlook's block is a reply's quote
		{"outlook RE", "FYI\n\n-----Original Message-----\n" + body, false, "FYI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.TrimRight(tt.want, "\n")
			if got := visibleTextOf(tt.in, tt.fwd); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestIsForwardSubject(t *testing.T) {
	for s, want := range map[string]bool{
		"FW: Projector": true, "Fwd: x": true, "TR : Vidéo": true, "WG: Beamer": true, "RV: proyector": true,
		"[#AURAN1-3] TR: Vidéo": true, "[Fwd: x]": true, "fwd[2]: x": true,
		"RE: FW: Projector": false, "Re: x": false, "Projector": false, "Transfer of data": false, "": false,
	} {
		if got := isForwardSubject(s); got != want {
			t.Errorf("isForwardSubject(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestMessageForwardOriginalText checks, through Message, that a plain text Outlook
// forward ("FW:" and "-----Original Message-----") keeps the forwarded mail visible.
func TestMessageForwardOriginalText(t *testing.T) {
	raw := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@lycee.fr\r\nSubject: FW: Projector\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nFor you.\r\n\r\n-----Original Message-----\r\nFrom: Paul <paul@lycee.fr>\r\nSent: Monday, March 2, 2026 10:00 AM\r\nTo: Jeanne\r\nSubject: Projector\r\n\r\nRoom 12's projector is dead.\r\n"
	in, err := Message(context.Background(), []byte(raw), HashOnly{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Visible, "For you.") || !strings.Contains(in.Visible, "-----Original Message-----") || !strings.Contains(in.Visible, "projector is dead") {
		t.Errorf("Visible %q lost the forward", in.Visible)
	}
}

// TestForwardMarkersByLanguage checks the forward markers of Gmail, Thunderbird and
// Apple Mail in the languages they are localised in: the marker and the forwarded mail
// stay, and nothing is cut.
func TestForwardMarkersByLanguage(t *testing.T) {
	const body = "\nDe : Paul <paul@lycee.fr>\nDate : 20/07/2013 10:00\nObjet : Vidéoprojecteur\n\nIl est mort.\n\n-- \nPaul"
	for _, m := range []string{
		"---------- Forwarded message ---------", "---------- Message transféré ---------", "---------- Weitergeleitete Nachricht ---------",
		"---------- Mensaje reenviado ---------", "---------- Messaggio inoltrato ---------", "---------- Doorgestuurd bericht ---------",
		"---------- Mensagem encaminhada ---------", "---------- Vidarebefordrat meddelande ---------", "---------- Przekazana wiadomość ---------",
		"---------- 転送メッセージ ---------", "-------- Forwarded Message --------", "-------- Message transféré --------",
		"-------- Weitergeleitete Nachricht --------", "-------- Messaggio Inoltrato --------", "-------- Wiadomość przekazana --------",
		"Begin forwarded message:", "Début du message réexpédié :", "Anfang der weitergeleiteten Nachricht:", "Inicio del mensaje reenviado:",
		"Inizio messaggio inoltrato:", "Begin doorgestuurd bericht:", "Início da mensagem reencaminhada:", "Vidarebefordrat brev:",
		"Początek przekazywanej wiadomości:", "転送されたメッセージ:",
	} {
		in := "Pour info.\n\n" + m + "\n" + body
		got, cuts := visibleTextCuts(in, false)
		if want := strings.TrimRight(strings.ReplaceAll(in, "-- \n", "--\n"), "\n"); got != want || len(cuts) != 0 {
			t.Errorf("%s: got %q, cuts %q", m, got, cuts)
		}
	}
}
