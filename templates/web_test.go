package templates

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebFilesDeclared checks that every embedded page file is parsed by NewWeb and that
// every declared page has its file.
func TestWebFilesDeclared(t *testing.T) {
	declared := map[string]bool{webLayout: false, webPartials: false}
	for _, p := range WebPages {
		declared["web/"+p+".html"] = false
	}
	err := fs.WalkDir(webEmbedded, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := declared[name]; !ok {
			t.Errorf("embedded file %s is not declared in WebPages", name)
		}
		declared[name] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, seen := range declared {
		if !seen {
			t.Errorf("declared page %s is not embedded", name)
		}
	}
	if _, err := NewWeb(""); err != nil {
		t.Fatal(err)
	}
}

// TestWebTextsExist checks that every text key the page templates name exists, in
// French and in English.
func TestWebTextsExist(t *testing.T) {
	re := regexp.MustCompile(`(?:\bt|\btf|"label"|"hint"|"Label") "([a-z_]+\.[a-z_.]+)"`)
	err := fs.WalkDir(webEmbedded, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webEmbedded.ReadFile(name)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			for _, lang := range Langs {
				if got := webLookup(lang, m[1]); got == m[1] || got == "" {
					t.Errorf("%s: text %q has no %s text", name, m[1], lang)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range webTexts {
		if v[0] == "" || v[1] == "" {
			t.Errorf("web text %q lacks a language", k)
		}
		if strings.Count(v[0], "%") != strings.Count(v[1], "%") {
			t.Errorf("web text %q: French and English take different arguments", k)
		}
	}
}

func TestWebRender(t *testing.T) {
	w, err := NewWeb("")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Langs {
		p := NewPage(lang, "America/New_York")
		p.Data = map[string]any{"Title": "<b>x</b>", "Text": "y", "Link": "", "LinkText": ""}
		var b bytes.Buffer
		if err := w.Render(&b, "message", p); err != nil {
			t.Fatal(err)
		}
		s := b.String()
		if !strings.Contains(s, `<html lang="`+lang+`">`) || !strings.Contains(s, "&lt;b&gt;x&lt;/b&gt;") {
			t.Errorf("%s: %s", lang, s)
		}
		if strings.Contains(s, "style=") || strings.Contains(s, "<script>") {
			t.Error("inline style or script would break the Content-Security-Policy")
		}
	}
	p := NewPage("fr", "America/New_York")
	if got := p.Date(time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)); got != "02/01/2026 10:04" {
		t.Errorf("date %q", got)
	}
	if err := w.Render(&bytes.Buffer{}, "nope", p); err == nil {
		t.Error("unknown page rendered")
	}
}

// TestWebNoInlineStyle: the pages' Content-Security-Policy forbids inline styles and
// scripts, so no template may have them.
func TestWebNoInlineStyle(t *testing.T) {
	bad := regexp.MustCompile(`\sstyle=|<script>|<script [^>]*>[^<]|\son[a-z]+=`)
	fs.WalkDir(webEmbedded, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := webEmbedded.ReadFile(name)
		if m := bad.Find(b); m != nil {
			t.Errorf("%s has %q", name, m)
		}
		return nil
	})
}
