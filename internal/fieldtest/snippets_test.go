package fieldtest

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsHaveFieldSnippets runs without Postfix: every block the field test builds from
// is in docs/deploy.md, once, and holds what the test relies on, so a doc change that
// drops or renames one fails here even where Postfix is not installed.
func TestDocsHaveFieldSnippets(t *testing.T) {
	s, err := ExtractFile(filepath.Join("..", "..", "docs", "deploy.md"), AllSnippets...)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ConfValues(s[SnipConfig])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range conf {
		got[kv[0]] = kv[1]
	}
	for _, name := range []string{"support-address", "data-dir", "smtp-addr", "relay", "trusted-relays"} {
		if got[name] == "" {
			t.Errorf("guichet.conf snippet has no %s", name)
		}
	}
	if !strings.Contains(s[SnipMasterPipe], "--config /etc/guichet/guichet.conf") || !strings.Contains(s[SnipMasterPipe], "${sender}") {
		t.Errorf("the pipe's master.cf line lost its configuration or envelope:\n%s", s[SnipMasterPipe])
	}
	cmds, err := Commands(s[SnipSetup])
	if err != nil || len(cmds) == 0 || cmds[0][0] != "guichet" || cmds[0][1] != "migrate" {
		t.Errorf("the set-up does not start with guichet migrate: %q %v", cmds, err)
	}
	if !strings.Contains(s[SnipServeLMTP], "--lmtp") {
		t.Errorf("the serve command is not LMTP: %s", s[SnipServeLMTP])
	}
}

// TestExtractHostile: fences of either kind, a duplicate name, an unclosed fence.
func TestExtractHostile(t *testing.T) {
	s, err := Extract([]byte("text\n~~~conf field-test=a\nx = 1\n~~~\n```\nplain\n```\n  ```sh field-test=b\nrun\n  ```\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s["a"] != "x = 1\n" || s["b"] != "run\n" || len(s) != 2 {
		t.Fatalf("got %q", s)
	}
	if _, err := Extract([]byte("```c field-test=a\n1\n```\n```c field-test=a\n2\n```\n")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := Extract([]byte("```c field-test=a\n1\n")); err == nil || !strings.Contains(err.Error(), "never closed") {
		t.Fatalf("unclosed: %v", err)
	}
	if _, err := Extract([]byte("```c field-test=a\n\x00\xff\n```\n")); err != nil {
		t.Fatalf("binary body: %v", err)
	}
	cmds, err := Commands("# c\nsudo -u guichet guichet user add a@b --name \"Alice Agent\" --x '' \n\n  guichet migrate\n")
	if err != nil || len(cmds) != 2 || strings.Join(cmds[0], "|") != "guichet|user|add|a@b|--name|Alice Agent|--x|" || strings.Join(cmds[1], "|") != "guichet|migrate" {
		t.Fatalf("commands %q %v", cmds, err)
	}
	if _, err := Commands("guichet \"open\n"); err == nil {
		t.Fatal("an unclosed quote passed")
	}
	if _, err := ConfValues("a = 1\nbroken line\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("malformed conf: %v", err)
	}
}
