package parse

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
	}
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
		{"replyAboveRe", replyAboveRe, func(string) bool { return true }},
		{"dashNameRe", dashNameRe, func(l string) bool { return l != "" && l[0] == '-' }},
	}
	// isIntro must say exactly what the one pattern it replaces said
	introRe := regexp.MustCompile(`(?i)^\s*(on|le|am|el|il|op|den|d\.|w dniu|dnia|em|dne|på|в|vào|\S*\d|\S{1,6}\s+\d|.*@|.*<)`)
	for _, l := range lines {
		if got, want := isIntro(l), introRe.MatchString(l); got != want {
			t.Errorf("isIntro(%q) = %v, the pattern says %v", l, got, want)
		}
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
