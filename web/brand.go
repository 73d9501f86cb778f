package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Brand is what the portal shows of the service it serves (§2.2, §3): its name in the
// header, the home page's welcome line, a logo, and the phone support. Texts are given
// per language, French first; an empty English text falls back to the French one.
type Brand struct {
	Name    [2]string // the header's name; DefaultBrandName when both are empty
	Welcome [2]string // the home page's welcome line; "" for the catalogue's, naming Name
	Phone   string    // the phone support number; "" shows no phone line
	Hours   [2]string // when the phone support answers; DefaultBrandHours when both are empty
	// Logo is an image shown before the name (PNG, JPEG, GIF, WebP or SVG); nil for none.
	Logo []byte
}

// Defaults of Brand: the user guide's.
var (
	DefaultBrandName  = [2]string{"ma classe en Auvergne-Rhône-Alpes — Assistance ENT", "ma classe en Auvergne-Rhône-Alpes — ENT support"}
	DefaultBrandHours = [2]string{"du lundi au vendredi de 08h à 18h", "Monday to Friday, 8 am to 6 pm"}
)

// ParseBilingual reads a text given as "French|English" (or one text for both).
func ParseBilingual(s string) [2]string {
	fr, en, _ := strings.Cut(s, "|")
	return [2]string{strings.TrimSpace(fr), strings.TrimSpace(en)}
}

// CheckLogo reports whether b is an image the portal may show as its logo: one of the
// types browsers draw in an <img>, and at most 1 MiB (it is served on every page).
func CheckLogo(b []byte) error {
	if len(b) > 1<<20 {
		return fmt.Errorf("web: logo: %d bytes, at most %d", len(b), 1<<20)
	}
	if logoType(b) == "" {
		return fmt.Errorf("web: logo: not a PNG, JPEG, GIF, WebP or SVG image")
	}
	return nil
}

// logoType is the content type of a logo, "" when it is not an image we serve.
func logoType(b []byte) string {
	switch ct := http.DetectContentType(b); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return ct
	}
	head := strings.ToLower(string(b[:min(len(b), 512)]))
	if strings.Contains(head, "<svg") {
		return "image/svg+xml"
	}
	return ""
}

func (b Brand) withDefaults() Brand {
	if b.Name == [2]string{} {
		b.Name = DefaultBrandName
	}
	if b.Hours == [2]string{} {
		b.Hours = DefaultBrandHours
	}
	return b
}

// pick is a bilingual text in lang.
func pick(v [2]string, lang string) string {
	if lang == "en" && v[1] != "" {
		return v[1]
	}
	return v[0]
}

// logo serves the configured logo. An SVG logo is sandboxed so that, opened on its own,
// it can run nothing.
func (h *Handler) logo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", logoType(h.opt.Brand.Logo))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(h.opt.Brand.Logo)))
	w.Write(h.opt.Brand.Logo)
}
