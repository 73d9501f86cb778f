package ticket

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParseCommands: commands are read only from '#' lines at the top, each one valid
// for its kind; the rest is the text that follows them, as written.
func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		"#statut closed\n\nMerci", "#status En attente utilisateur\r\n#assign me\r\n#note\r\nInterne",
		"#fermer\n#inconnu\n#participant\n#close now\nTexte\n#statut new", "#AURAN1-3 voir\n#123",
		"  \n\t#Statut: fermé\n##titre", "#", "#\x00\n#statut \xff", "Texte\n#statut closed",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, rest, errs := ParseCommands(body)
		norm := strings.ReplaceAll(body, "\r\n", "\n")
		if !strings.Contains(norm, rest) {
			t.Fatalf("rest %q is not part of the body", rest)
		}
		lines := strings.Split(norm, "\n")
		if len(cmds)+len(errs) > len(lines) {
			t.Fatalf("%d commands and %d errors from %d lines", len(cmds), len(errs), len(lines))
		}
		for _, c := range cmds {
			if !strings.HasPrefix(c.Line, "#") || !strings.Contains(norm, c.Line) {
				t.Fatalf("command line %q", c.Line)
			}
			switch c.Kind {
			case CmdStatus:
				if _, ok := statusLabels[c.Status]; !ok {
					t.Fatalf("%q: status %q", c.Line, c.Status)
				}
			case CmdAssign, CmdParticipant:
				if c.Arg == "" {
					t.Fatalf("%q without an address", c.Line)
				}
			case CmdClose, CmdNote:
				if c.Arg != "" {
					t.Fatalf("%q with an argument", c.Line)
				}
			default:
				t.Fatalf("%q: kind %q", c.Line, c.Kind)
			}
		}
		first := strings.TrimSpace(norm)
		if !strings.HasPrefix(first, "#") && (len(cmds) > 0 || len(errs) > 0 || rest != first) {
			t.Fatalf("no command line first, yet %v %q, rest %q", cmds, errs, rest)
		}
	})
}

// FuzzValidateUAI: ValidateUAI accepts exactly seven ASCII digits and the check letter
// (either case) of their number modulo 23.
func FuzzValidateUAI(f *testing.F) {
	for _, s := range []string{"0690026D", "0690026E", "0690026d", "069002", "０690026D", "0690026D ", "\x00690026D", "0690026\xff"} {
		f.Add(s, uint32(690026))
	}
	f.Fuzz(func(t *testing.T, s string, n uint32) {
		want := len(s) == 8
		num := 0
		for i := 0; want && i < 7; i++ {
			want = s[i] >= '0' && s[i] <= '9'
			num = num*10 + int(s[i]-'0')
		}
		want = want && (s[7] == uaiLetters[num%23] || s[7] == uaiLetters[num%23]+'a'-'A')
		if got := ValidateUAI(s) == nil; got != want {
			t.Fatalf("ValidateUAI(%q) valid = %v, want %v", s, got, want)
		}
		n %= 10000000
		good := fmt.Sprintf("%07d%c", n, uaiLetters[n%23])
		if err := ValidateUAI(good); err != nil {
			t.Fatalf("%s: %v", good, err)
		}
		bad := fmt.Sprintf("%07d%c", n, uaiLetters[(n+1)%23])
		if ValidateUAI(bad) == nil {
			t.Fatalf("%s accepted", bad)
		}
	})
}
