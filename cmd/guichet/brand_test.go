package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --portal-name, --portal-welcome, --support-hours take "French|English"; --portal-logo
// must name a readable image of at most 1 MiB, or serve does not start.
func TestBrandFlags(t *testing.T) {
	dir := t.TempDir()
	c := &Config{}
	if err := c.flags("serve").Parse([]string{"--portal-name", "Assistance|Support", "--support-phone", " 04 00 00 00 00 ",
		"--support-hours", "de 8h à 18h", "--portal-welcome", "Bienvenue"}); err != nil {
		t.Fatal(err)
	}
	b, err := c.brand()
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != [2]string{"Assistance", "Support"} || b.Hours != [2]string{"de 8h à 18h", ""} || b.Welcome[0] != "Bienvenue" ||
		b.Phone != "04 00 00 00 00" || b.Logo != nil {
		t.Errorf("brand %+v", b)
	}
	png := filepath.Join(dir, "logo.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644)
	c.PortalLogo = png
	if b, err := c.brand(); err != nil || len(b.Logo) == 0 {
		t.Errorf("a PNG logo: %v", err)
	}
	for name, content := range map[string][]byte{"page.html": []byte("<html><script>x</script></html>"), "big.svg": []byte("<svg>" + strings.Repeat(" ", 2<<20))} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o644)
		c.PortalLogo = p
		if _, err := c.brand(); err == nil || !strings.Contains(err.Error(), "--portal-logo") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c.PortalLogo = filepath.Join(dir, "missing.png")
	if _, err := c.brand(); err == nil || !strings.Contains(err.Error(), "--portal-logo") {
		t.Errorf("missing file: %v", err)
	}
}
