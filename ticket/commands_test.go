package ticket

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestParseCommands(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		cmds       string
		rest       string
		errs       int
	}{
		{"none", "Bonjour,\n#statut fermé", "[]", "Bonjour,\n#statut fermé", 0},
		{"french status label", "#statut En attente utilisateur\nMerci de redémarrer.", "[status:waiting_user]", "Merci de redémarrer.", 0},
		{"english code", "#status in_progress\n\nOn regarde.", "[status:in_progress]", "On regarde.", 0},
		{"close alone", "#fermer\n", "[close:]", "", 0},
		{"close english and note", "#close\n#note\nRésolu côté serveur.", "[close: note:]", "Résolu côté serveur.", 0},
		{"assign me", "#assigner moi\nJe prends.", "[assign:moi]", "Je prends.", 0},
		{"participant", "  #participant Paul <paul@ecole.test>\nAjouté.", "[participant:Paul <paul@ecole.test>]", "Ajouté.", 0},
		{"unknown", "#foo bar\nTexte", "[]", "Texte", 1},
		{"bad status", "#statut peut-être\nTexte", "[]", "Texte", 1},
		{"reference is not a command", "#AURAN1-3 est lié\nTexte", "[]", "#AURAN1-3 est lié\nTexte", 0},
		{"number is not a command", "#1 priorité", "[]", "#1 priorité", 0},
		{"after text", "Texte\n#fermer", "[]", "Texte\n#fermer", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds, rest, errs := ParseCommands(tc.body)
			var got []string
			for _, c := range cmds {
				arg := c.Arg
				if c.Kind == CmdStatus {
					arg = string(c.Status)
				}
				got = append(got, string(c.Kind)+":"+arg)
			}
			if fmt.Sprint(got) != tc.cmds && !(len(got) == 0 && tc.cmds == "[]") {
				t.Errorf("commands %v, want %s", got, tc.cmds)
			}
			if rest != tc.rest {
				t.Errorf("rest %q, want %q", rest, tc.rest)
			}
			if len(errs) != tc.errs {
				t.Errorf("errors %v, want %d", errs, tc.errs)
			}
		})
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("ticket: x: %w", &pgconn.PgError{Code: "40P01"}), true},
		{&pgconn.PgError{Code: "40001"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{fmt.Errorf("sqlite: database is locked (5) (SQLITE_BUSY)"), true},
		{ErrInvalid, false},
	} {
		if got := isRetryable(tc.err); got != tc.want {
			t.Errorf("isRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
