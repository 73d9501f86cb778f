package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The documentation is checked where it is cheap: the flags table of docs/reference.md
// against the flags every command registers (read from Config.flags, so that a new flag
// without its row fails here), and no page sends the reader to files outside the
// repository.

const referencePath = "../../docs/reference.md"

// docFlagRow is one row of the reference's flags table.
type docFlagRow struct {
	line     int
	flag     string
	commands []string // nil: every command
	def      string   // the default cell as written
}

// registeredFlags returns, for each command, its flags and their defaults.
func registeredFlags() map[string]map[string]string {
	out := map[string]map[string]string{}
	for name := range commands {
		var c Config
		m := map[string]string{}
		c.flags(name).VisitAll(func(f *flag.Flag) { m[f.Name] = f.DefValue })
		out[name] = m
	}
	return out
}

// splitRow splits a Markdown table row into its cells; `\|` stays inside a cell.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var backticked = regexp.MustCompile("`([^`]*)`")

// parseFlagsTable reads the table whose header is "| flag | commands | default | meaning |".
func parseFlagsTable(t *testing.T, text string) []docFlagRow {
	t.Helper()
	var rows []docFlagRow
	in := false
	for i, line := range strings.Split(text, "\n") {
		cells := splitRow(line)
		switch {
		case !strings.HasPrefix(strings.TrimSpace(line), "|"):
			in = false
			continue
		case len(cells) == 4 && cells[0] == "flag" && cells[1] == "commands" && cells[2] == "default":
			in = true
			continue
		case !in || strings.HasPrefix(cells[0], "---"):
			continue
		}
		if len(cells) != 4 {
			t.Errorf("%s:%d: a row of the flags table needs 4 cells, has %d", referencePath, i+1, len(cells))
			continue
		}
		m := backticked.FindStringSubmatch(cells[0])
		if m == nil || !strings.HasPrefix(m[1], "--") || m[0] != cells[0] {
			t.Errorf("%s:%d: the flag cell %q is not one `--flag`", referencePath, i+1, cells[0])
			continue
		}
		r := docFlagRow{line: i + 1, flag: strings.TrimPrefix(m[1], "--"), def: cells[2]}
		if cells[1] != "every command" {
			for _, c := range backticked.FindAllStringSubmatch(cells[1], -1) {
				r.commands = append(r.commands, c[1])
			}
			if len(r.commands) == 0 {
				t.Errorf("%s:%d: commands cell %q: \"every command\" or `command` names expected", referencePath, i+1, cells[1])
				continue
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// defaultMatches reports whether a default cell says what the code's default is: "none"
// for an empty default, else the value in backquotes (durations compared as durations,
// so `5m` is 5m0s).
func defaultMatches(cell, def string) bool {
	if def == "" {
		return strings.HasPrefix(cell, "none")
	}
	m := backticked.FindStringSubmatch(cell)
	if m == nil || !strings.HasPrefix(cell, "`") {
		return false
	}
	if m[1] == def {
		return true
	}
	a, err1 := time.ParseDuration(m[1])
	b, err2 := time.ParseDuration(def)
	return err1 == nil && err2 == nil && a == b
}

// TestDocsFlags holds docs/reference.md's flags table to the flags the commands
// register: every flag of every command has a row with its default, and every row is a
// flag of the commands it names.
func TestDocsFlags(t *testing.T) {
	text, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("read the reference: %v", err)
	}
	rows := parseFlagsTable(t, string(text))
	if len(rows) == 0 {
		t.Fatalf("%s: no flags table (| flag | commands | default | meaning |) found", referencePath)
	}
	reg := registeredFlags()
	var all []string
	for name := range reg {
		all = append(all, name)
	}
	sort.Strings(all)

	documented := map[[2]string]int{} // {command, flag} → line of its row
	for _, r := range rows {
		cmds := r.commands
		if cmds == nil {
			cmds = all
		}
		wrong := map[string][]string{} // the code's default → the commands that have it
		for _, c := range cmds {
			flags, ok := reg[c]
			if !ok {
				t.Errorf("%s:%d: --%s: no command %q", referencePath, r.line, r.flag, c)
				continue
			}
			def, ok := flags[r.flag]
			if !ok {
				t.Errorf("%s:%d: --%s is not a flag of `guichet %s`", referencePath, r.line, r.flag, c)
				continue
			}
			if prev, dup := documented[[2]string{c, r.flag}]; dup {
				t.Errorf("%s:%d: --%s of %s is already documented at line %d", referencePath, r.line, r.flag, c, prev)
			}
			documented[[2]string{c, r.flag}] = r.line
			if !defaultMatches(r.def, def) {
				wrong[def] = append(wrong[def], c)
			}
		}
		for def, cs := range wrong {
			want := "`" + def + "`"
			if def == "" {
				want = "none"
			}
			t.Errorf("%s:%d: --%s: the default cell says %q, the code's default is %s (%s)", referencePath, r.line, r.flag, r.def, want, strings.Join(cs, ", "))
		}
	}
	for _, c := range all {
		var missing []string
		for f := range reg[c] {
			if _, ok := documented[[2]string{c, f}]; !ok {
				missing = append(missing, "--"+f)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: flags of `guichet %s` without a row in the flags table (its commands cell must name %q, or say \"every command\"): %s",
				referencePath, c, c, strings.Join(missing, ", "))
		}
	}
}

// TestDocsStandAlone: the README and docs/ describe a clone as a user gets it, so they
// never point at files beside the repository (the design notes and corpora of the
// project's own workspace are not in a clone).
func TestDocsStandAlone(t *testing.T) {
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "../../README.md")
	if len(pages) < 3 {
		t.Fatalf("expected README.md, docs/deploy.md and docs/reference.md, found %v", pages)
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "../shared") || strings.Contains(line, "shared/DESIGN") || strings.Contains(line, "/work/") {
				t.Errorf("%s:%d: points outside the repository: %s", p, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestDocsFlagsTableParser: the checks above would pass on a table they cannot read, so
// the parser is held to a small table with each kind of row.
func TestDocsFlagsTableParser(t *testing.T) {
	text := strings.Join([]string{
		"| flag | commands | default | meaning |",
		"|---|---|---|---|",
		"| `--a` | every command | none | x \\| y |",
		"| `--b` | `user add`, `ticket list` | `5m` | z |",
		"",
		"| other | table |",
		"| `--c` | x |",
	}, "\n")
	rows := parseFlagsTable(t, text)
	if len(rows) != 2 {
		t.Fatalf("rows = %+v, want 2", rows)
	}
	if rows[0].flag != "a" || rows[0].commands != nil || rows[0].def != "none" {
		t.Errorf("row 0 = %+v", rows[0])
	}
	if rows[1].flag != "b" || strings.Join(rows[1].commands, ",") != "user add,ticket list" {
		t.Errorf("row 1 = %+v", rows[1])
	}
	for _, c := range []struct {
		cell, def string
		ok        bool
	}{
		{"none", "", true}, {"none: derived", "", true}, {"`x`", "", false},
		{"`5m`", "5m0s", true}, {"`336h`", "336h0m0s", true}, {"`6m`", "5m0s", false},
		{"`false`", "false", true}, {"`true`", "false", false}, {"none", "100", false},
		{"`100` (a hundred)", "100", true}, {"a hundred `100`", "100", false},
	} {
		if got := defaultMatches(c.cell, c.def); got != c.ok {
			t.Errorf("defaultMatches(%q, %q) = %v, want %v", c.cell, c.def, got, c.ok)
		}
	}
}

// TestDocsCommands: every command has a row in docs/reference.md's commands table, and
// every row there names a command.
func TestDocsCommands(t *testing.T) {
	text, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("read the reference: %v", err)
	}
	documented := map[string]bool{}
	rowCmd := regexp.MustCompile("^\\| `guichet ([a-z]+(?: [a-z]+)?)")
	for i, line := range strings.Split(string(text), "\n") {
		m := rowCmd.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := m[1]
		if _, ok := commands[name]; !ok {
			// "guichet user add" is matched whole; a one-word command matches its word.
			if first, _, _ := strings.Cut(name, " "); commands[first] != nil {
				name = first
			} else {
				t.Errorf("%s:%d: no command %q", referencePath, i+1, m[1])
				continue
			}
		}
		documented[name] = true
	}
	for name := range commands {
		if !documented[name] {
			t.Errorf("%s: the commands table has no row for `guichet %s`", referencePath, name)
		}
	}
}

// TestDocsCalendars parses the business-hours calendars the README shows, as serve's
// --business-hours would.
func TestDocsCalendars(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(text), "**Service levels (SLAs)")
	if !ok {
		t.Fatal("README: the Service levels paragraph is gone")
	}
	rest, _, _ = strings.Cut(rest, "\n**")
	n := 0
	for i, block := range strings.Split(rest, "```") {
		if i%2 == 0 {
			continue // outside a code block
		}
		for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
			c := &Config{BusinessHours: line, SLAFirstResponse: time.Hour}
			if _, err := c.sla(); err != nil {
				t.Errorf("README calendar %q: %v", line, err)
			}
			n++
		}
	}
	if n == 0 {
		t.Error("README: no calendar example under Service levels")
	}
}
