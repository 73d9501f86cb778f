package parse

import (
	"fmt"
	"testing"
)

func TestNormalizeSubject(t *testing.T) {
	tests := []struct {
		in, summary, key string
		bare             []string
	}{
		{"Re: [#AURAN1-13] Problème de connexion", "Problème de connexion", "AURAN1-13", nil},
		{"RE: TR : Réf : Fwd: imprimante", "imprimante", "", nil},
		{"Re: Fwd: TR : bonjour", "bonjour", "", nil},
		{"AW: WG: Antw: SV: VS: Doorst: RIF: R: I: Odp: PD: YNT: ILT: test", "test", "", nil},
		{"ΑΠ: ΣΧΕΤ: θέμα", "θέμα", "", nil},
		{"回复：转发：答复: 问题", "问题", "", nil},
		{"Re[2]: Re(3): Re^4: x", "x", "", nil},
		{"[Fwd: the original]", "the original", "", nil},
		{"tr: [#auran1-7]   espaces   multiples ", "espaces multiples", "AURAN1-7", nil},
		{"Question about AURAN1-13 and AURAN1-14", "Question about AURAN1-13 and AURAN1-14", "", []string{"AURAN1-13", "AURAN1-14"}},
		{"Re: [#AURAN1-1] see AURAN1-2", "see AURAN1-2", "AURAN1-1", []string{"AURAN1-2"}},
		{"utf-8 and covid-19 are not keys, nor x/AB-1 or AB-1.2", "utf-8 and covid-19 are not keys, nor x/AB-1 or AB-1.2", "", nil},
		{"Réponse attendue", "Réponse attendue", "", nil},
		{"Ref. 12", "Ref. 12", "", nil},
		{"", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, k, b := normalizeSubject(tt.in)
			if s != tt.summary || k != tt.key || fmt.Sprint(b) != fmt.Sprint(tt.bare) {
				t.Errorf("got %q %q %q, want %q %q %q", s, k, b, tt.summary, tt.key, tt.bare)
			}
		})
	}
}
