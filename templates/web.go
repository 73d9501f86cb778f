package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/guichet/guichet/ticket"
)

// Web pages
//
// The portal's pages live under web/: web/layout.html defines "base" (the page frame,
// navigation and footer), web/partials.html the pieces shared by pages (form fields,
// errors), and each page file web/<page>.html defines "title" and "content". Pages are
// parsed once per language by NewWeb and rendered by Web.Render into a buffer, so a
// failing template never sends half a page.

//go:embed web
var webEmbedded embed.FS

// Shared web files, parsed into every page.
const (
	webLayout   = "web/layout.html"
	webPartials = "web/partials.html"
)

// WebPages lists the page templates: web/<name>.html for each.
var WebPages = []string{
	"home", "login", "message", "error",
	"request_form", "requests", "ticket",
	"profile", "inbound", "stop",
	"confirm", "accessibility", "replies", "dashboard",
	"satisfaction", "satisfaction_report",
}

// Web is the parsed set of page templates. It is safe for concurrent use.
type Web struct {
	pages map[mailID]*htmltemplate.Template // kind field holds the page name
}

// NewWeb parses the embedded page templates, each replaced by the file of the same name
// in overrideDir when there is one ("" for none).
func NewWeb(overrideDir string) (*Web, error) {
	var over fs.FS
	if overrideDir != "" {
		if _, err := os.Stat(overrideDir); err != nil {
			return nil, fmt.Errorf("templates: override folder: %w", err)
		}
		over = os.DirFS(overrideDir)
	}
	read := func(name string) (string, error) {
		if over != nil {
			if b, err := fs.ReadFile(over, name); err == nil {
				return string(b), nil
			}
		}
		b, err := webEmbedded.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("templates: read %s: %w", name, err)
		}
		return string(b), nil
	}
	w := &Web{pages: make(map[mailID]*htmltemplate.Template)}
	for _, lang := range Langs {
		root := htmltemplate.New("web." + lang).Funcs(webFuncs(lang))
		for _, file := range []string{webLayout, webPartials} {
			body, err := read(file)
			if err != nil {
				return nil, err
			}
			if _, err := root.New(file).Parse(body); err != nil {
				return nil, fmt.Errorf("templates: parse %s: %w", file, err)
			}
		}
		for _, page := range WebPages {
			file := "web/" + page + ".html"
			body, err := read(file)
			if err != nil {
				return nil, err
			}
			set, err := root.Clone()
			if err != nil {
				return nil, fmt.Errorf("templates: clone for %s: %w", file, err)
			}
			if _, err := set.New(file).Parse(body); err != nil {
				return nil, fmt.Errorf("templates: parse %s: %w", file, err)
			}
			for _, def := range []string{"base", "title", "content"} {
				if set.Lookup(def) == nil {
					return nil, fmt.Errorf("templates: %s does not define %q", file, def)
				}
			}
			w.pages[mailID{ticket.MailKind(page), lang}] = set
		}
	}
	return w, nil
}

// Page is the data given to page templates: what every page shows (language, the signed
// in user, a flash message) and the page's own Data.
type Page struct {
	Lang  string    // "fr" or "en"
	User  *PageUser // nil when signed out
	Nav   string    // the navigation entry of the page ("new", "requests", ...)
	Flash string    // a message shown once at the top
	Data  any       // the page's own view
	Brand PageBrand // the service the portal serves; app.name when its Name is empty
	loc   *time.Location
}

// PageBrand is the service as pages show it, in the page's language: the header's name
// and logo, the home page's welcome line, the phone support of the home page and footer.
type PageBrand struct {
	Name, Welcome string
	Phone, Hours  string
	Tel           string // Phone as a tel: link's digits
	Logo          bool   // served at /logo
}

// PageUser is the signed-in user as pages show them.
type PageUser struct {
	Email     string
	Name      string
	Staff     bool
	HasAvatar bool
}

// NewPage returns a page in lang ("fr" by default) whose dates are shown in timeZone
// (DefaultTimeZone when empty or unknown).
func NewPage(lang, timeZone string) *Page {
	return &Page{Lang: normLang(lang), loc: location(timeZone)}
}

// Date formats t in the page's time zone, French style in French ("28/11/2026 13:21")
// and ISO style in English. The zero time gives "".
func (p *Page) Date(t time.Time) string { return formatDate(p.Lang, p.loc, t) }

// Day formats t's date alone in the page's zone: "07/12/2026" in French, "2026-12-07"
// in English.
func (p *Page) Day(t time.Time) string {
	loc := p.loc
	if loc == nil {
		loc = location("")
	}
	if p.Lang == "en" {
		return t.In(loc).Format("2006-01-02")
	}
	return t.In(loc).Format("02/01/2006")
}

// ISODate formats t for a <time datetime> attribute (RFC 3339, in the page's zone).
func (p *Page) ISODate(t time.Time) string {
	loc := p.loc
	if loc == nil {
		loc = location("")
	}
	return t.In(loc).Format(time.RFC3339)
}

// Zone is the name of the page's time zone.
func (p *Page) Zone() string {
	if p.loc == nil {
		return DefaultTimeZone
	}
	return p.loc.String()
}

// Render renders page name with p into w. Nothing is written when the template fails.
func (t *Web) Render(w io.Writer, name string, p *Page) error {
	if p == nil {
		return fmt.Errorf("templates: render page %s: no data", name)
	}
	p.Lang = normLang(p.Lang)
	set, ok := t.pages[mailID{ticket.MailKind(name), p.Lang}]
	if !ok {
		return fmt.Errorf("templates: no page %q", name)
	}
	var b bytes.Buffer
	if err := set.ExecuteTemplate(&b, "base", p); err != nil {
		return fmt.Errorf("templates: render page %s: %w", name, err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// T returns the portal text for key in lang (see T of Templates; web texts first).
func (t *Web) T(lang, key string) string { return webLookup(normLang(lang), key) }

func webLookup(lang, key string) string {
	if v, ok := webTexts[key]; ok {
		if lang == "en" && v[1] != "" {
			return v[1]
		}
		return v[0]
	}
	return lookup(lang, key)
}

// RequestTypeLabel is how request type v (a stored value, French) reads in lang: the
// catalogue's "reqtype.<v>" text when there is one, v itself otherwise (a type an
// operator added with --request-types has no translation).
func RequestTypeLabel(lang, v string) string {
	if t, ok := webTexts["reqtype."+v]; ok {
		if normLang(lang) == "en" && t[1] != "" {
			return t[1]
		}
		return t[0]
	}
	return v
}

// webFuncs returns the page template functions of one language.
func webFuncs(lang string) htmltemplate.FuncMap {
	return htmltemplate.FuncMap{
		"t": func(key string) string { return webLookup(lang, key) },
		"tf": func(key string, args ...any) string {
			return fmt.Sprintf(webLookup(lang, key), args...)
		},
		"label":    func(key string) string { return webLookup(lang, key) },
		"status":   func(s ticket.Status) string { return s.Label(lang) },
		"reqtype":  func(v string) string { return RequestTypeLabel(lang, v) },
		"statuses": func() []ticket.Status { return ticket.Statuses },
		"source": func(s ticket.Source) string {
			if s == "" {
				return ""
			}
			return lookup(lang, "source."+string(s))
		},
		// scores: the answers of the satisfaction question, very satisfied first.
		"scores": func() []int { return []int{5, 4, 3, 2, 1} },
		"size":   func(n int64) string { return formatSize(lang, n) },
		"lines":  splitLines,
		// sanitized marks HTML that the mail parser already sanitised (bluemonday) as
		// safe to show; nothing else may go through it.
		"sanitized": func(s string) htmltemplate.HTML { return htmltemplate.HTML(s) },
		"list":      func(v ...any) []any { return v },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"has": func(list []string, v string) bool {
			for _, s := range list {
				if s == v {
					return true
				}
			}
			return false
		},
		"initial": func(s string) string {
			s = strings.TrimSpace(s)
			for _, r := range s {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
	}
}

// webFileExists reports whether name is an embedded page template (for override checks).
func webFileExists(name string) bool {
	_, err := fs.Stat(webEmbedded, name)
	return err == nil
}
