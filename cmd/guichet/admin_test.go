package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The administration commands never create a data folder or a database: run on a
// mistyped --data-dir, or before `guichet migrate`, they say so and exit 1 (issue 11:
// they created an empty database owned by whoever ran them, and printed an empty list).
func TestAdminRefusesMissingDatabase(t *testing.T) {
	cmds := [][]string{
		{"ticket", "list"}, {"ticket", "list", "--json"}, {"ticket", "show", "AURAN1-1"}, {"inbound", "list"},
		{"user", "add", "a@ecole.test", "--name", "A"}, {"establishment", "add", "0690026D", "--name", "X"},
		{"token", "create", "a@ecole.test"},
		{"user", "export", "a@ecole.test"}, {"user", "erase", "a@ecole.test"}, {"retention", "run", "--retention", "24mo"}, {"audit", "list"},
	}
	t.Run("missing folder", func(t *testing.T) {
		root := t.TempDir()
		missing := filepath.Join(root, "guichet-dta") // a typo
		for _, c := range cmds {
			code, out, errs := runWith("", nil, append(c, "--data-dir", missing)...)
			if code != 1 || out != "" || !strings.Contains(errs, "no data folder "+missing) || !strings.Contains(errs, "guichet migrate") ||
				!strings.Contains(errs, "--data-dir") || !strings.Contains(errs, "pas de dossier de données") {
				t.Fatalf("%v: exit %d, stdout %q, stderr %q", c, code, out, errs)
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Fatalf("%v created %s (%v)", c, missing, err)
			}
		}
	})
	t.Run("folder without database", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "guichet.db")
		for _, c := range cmds {
			code, out, errs := runWith("", nil, append(c, "--data-dir", dir)...)
			if code != 1 || out != "" || !strings.Contains(errs, "no database "+db) || !strings.Contains(errs, "run 'guichet migrate'") {
				t.Fatalf("%v: exit %d, stdout %q, stderr %q", c, code, out, errs)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("%v created %v in the data folder", c, ents)
			}
		}
	})
	t.Run("migrate creates them, then they work", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if code, _, errs := runWith("", nil, "migrate", "--data-dir", dir); code != 0 {
			t.Fatalf("migrate: %d %s", code, errs)
		}
		if code, out, errs := runWith("", nil, "ticket", "list", "--json", "--data-dir", dir); code != 0 || strings.TrimSpace(out) != "[]" {
			t.Fatalf("ticket list after migrate: %d %q %s", code, out, errs)
		}
	})
}

// ticket list and inbound list say on stderr when they cut the list, and page through it;
// stdout stays the list alone (a JSON array with --json).
func TestListsPage(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 5; i++ {
		msg := fmt.Sprintf("From: a%d@ecole.test\r\nTo: support@localhost\r\nSubject: Demande %d\r\nMessage-ID: <page%d@ecole.test>\r\n\r\nx\r\n", i, i, i)
		if code, _, errs := runWith(msg, nil, "ingest", "--no-send", "--data-dir", dir); code != 0 {
			t.Fatalf("ingest %d: %d %s", i, code, errs)
		}
	}
	keys := func(out string) []string {
		var l []map[string]any
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("not a JSON array: %v\n%s", err, out)
		}
		var k []string
		for _, it := range l {
			if v, ok := it["key"]; ok {
				k = append(k, fmt.Sprint(v))
			} else {
				k = append(k, fmt.Sprint(it["id"]))
			}
		}
		return k
	}
	for _, tc := range []struct {
		args []string
		want string
		more string // the page the notice points to; "" for no notice
	}{
		{[]string{"ticket", "list", "--json", "--limit", "2"}, "AURAN1-5 AURAN1-4", "--page 2"},
		{[]string{"ticket", "list", "--json", "--limit", "2", "--page", "2"}, "AURAN1-3 AURAN1-2", "--page 3"},
		{[]string{"ticket", "list", "--json", "--limit", "2", "--page", "3"}, "AURAN1-1", ""},
		{[]string{"ticket", "list", "--json", "--limit", "5"}, "AURAN1-5 AURAN1-4 AURAN1-3 AURAN1-2 AURAN1-1", ""},
		{[]string{"ticket", "list", "--json", "--page", "9"}, "", ""},
		{[]string{"inbound", "list", "--json", "--limit", "3"}, "5 4 3", "--page 2"},
		{[]string{"inbound", "list", "--json", "--limit", "3", "--page", "2"}, "2 1", ""},
	} {
		code, out, errs := runWith("", nil, append(tc.args, "--data-dir", dir)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", tc.args, code, errs)
		}
		if got := strings.Join(keys(out), " "); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
		if tc.more == "" && errs != "" {
			t.Errorf("%v: a notice on a whole list: %q", tc.args, errs)
		}
		if tc.more != "" && (!strings.Contains(errs, "more follow: run again with "+tc.more) || !strings.Contains(errs, "relancez avec "+tc.more)) {
			t.Errorf("%v: stderr %q, want a notice pointing to %s", tc.args, errs, tc.more)
		}
	}
	// In text mode the notice is on stderr too, after a table of --limit rows.
	code, out, errs := runWith("", nil, "ticket", "list", "--limit", "1", "--data-dir", dir)
	if code != 0 || strings.Count(out, "AURAN1-") != 1 || !strings.Contains(errs, "only 1 tickets shown") {
		t.Fatalf("text mode: %d %q %q", code, out, errs)
	}
	for _, bad := range [][]string{{"--page", "0"}, {"--limit", "0"}, {"--limit", "-3"}, {"--page", "99999999999"}, {"--limit", "9223372036854775807"}} {
		code, _, errs := runWith("", nil, append([]string{"ticket", "list", "--data-dir", dir}, bad...)...)
		if code != exitUsage {
			t.Errorf("ticket list %v: exit %d %s, want %d", bad, code, errs, exitUsage)
		}
	}
}
