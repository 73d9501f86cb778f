package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectQuoteRules: inspect's text output says which quote rule removed what, and
// --json carries the same as quote_cuts.
func TestInspectQuoteRules(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "reply.eml")
	raw := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@localhost\r\nSubject: Re: Projecteur\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"C'est réparé, merci.\r\n\r\nLe sam. 20 juil. 2013 à 10:00, Support <support@localhost> a écrit :\r\n> Bonjour,\r\n> est-ce réparé ?\r\n\r\nEnvoyé de mon iPhone\r\n"
	if err := os.WriteFile(f, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dataDir: dir}
	code, out, errs := h.cli("", "inspect", f)
	if code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Quote rule: attribution+quote_block, 3 lines removed") ||
		!strings.Contains(out, "Quote rule: mobile_signature, 1 line removed") || !strings.HasSuffix(strings.TrimSpace(out), "--- visible ---\nC'est réparé, merci.") {
		t.Errorf("inspect output:\n%s", out)
	}
	code, out, errs = h.cli("", "inspect", "--json", f)
	if code != 0 || !strings.Contains(out, `"quote_cuts": [`) || !strings.Contains(out, `"rule": "attribution+quote_block"`) {
		t.Errorf("inspect --json exit %d: %s %s", code, out, errs)
	}
}
