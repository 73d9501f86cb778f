// Package templates holds Guichet's embedded mail templates and its French and English
// texts. French is the first language and the fallback for any other.
//
// # Files
//
// Mail templates live under mail/, the portal's pages under web/ (see web.go); both are
// embedded in the binary. Mail templates are parsed once, by New; a folder given to New
// may replace any embedded file by a file of the same relative name
// (overrideDir/mail/confirmation.fr.txt replaces mail/confirmation.fr.txt).
//
// Each mail kind has, per language, two files:
//
//   - <kind>.<lang>.txt (text/template) defines "subject" and "text";
//   - <kind>.<lang>.html (html/template) defines "content", which the shared layout
//     "base" (mail/base.html) wraps into the HTML part.
//
// mail/common.txt and mail/common.html hold partials shared by every kind. The data given
// to the templates is described by MailView; the functions are t (a catalogue text, see
// T), label (the same followed by a colon), date (a time in the recipient's zone), status,
// statuses (every status code), source, size, addr, list and lines (plain text cut into
// lines, for HTML).
//
// Mail to agents (MailView.ToAgent) says what a reply does and lists the command lines a
// reply may start with (partial "agent_hint"); mail to customers never mentions commands.
// Every footer carries MailView.StopLink when there is one.
//
// # Rendering
//
// RenderMail never panics: a template that fails returns an error. Every subject carries
// the ticket's [#KEY] token; a subject template that forgets it gets it prepended, since
// threading depends on it.
package templates

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/guichet/guichet/ticket"
)

//go:embed mail
var embedded embed.FS

// Langs lists the languages of the templates, the first being the fallback.
var Langs = []string{"fr", "en"}

// MailKinds lists the mail kinds that have templates.
var MailKinds = []ticket.MailKind{
	ticket.MailConfirmation,
	ticket.MailAgentNew,
	ticket.MailComment,
	ticket.MailStatus,
	ticket.MailNotice,
	ticket.MailSLAWarning,
	ticket.MailMerged,
	ticket.MailSignIn,
	ticket.MailConfirmAddress,
}

// Shared mail files, parsed into every mail template set.
const (
	mailBase       = "mail/base.html"
	mailCommonHTML = "mail/common.html"
	mailCommonText = "mail/common.txt"
)

// Templates is the parsed set of templates. It is safe for concurrent use.
type Templates struct {
	mail map[mailID]*mailSet
	// bufs holds the buffers mails are rendered into: a body is copied out of its
	// buffer, which then serves the next mail instead of growing anew from nothing (a
	// good part of the outbox sender's garbage).
	bufs sync.Pool
}

// mailID names the templates of one kind in one language.
type mailID struct {
	kind ticket.MailKind
	lang string
}

// New parses the embedded templates, each replaced by the file of the same name in
// overrideDir when there is one ("" for none). A file under mail/ or web/ in overrideDir
// that matches no embedded file is an error, so that a misspelt override is not ignored.
func New(overrideDir string) (*Templates, error) {
	src, err := newSource(overrideDir)
	if err != nil {
		return nil, err
	}
	t := &Templates{mail: make(map[mailID]*mailSet)}
	for _, kind := range MailKinds {
		for _, lang := range Langs {
			set, err := parseMailSet(src, kind, lang)
			if err != nil {
				return nil, err
			}
			t.mail[mailID{kind, lang}] = set
		}
	}
	return t, nil
}

// source reads template files, from overrideDir first, then from the embedded files.
type source struct {
	override fs.FS // nil without override folder
}

func newSource(overrideDir string) (*source, error) {
	if overrideDir == "" {
		return &source{}, nil
	}
	info, err := os.Stat(overrideDir)
	if err != nil {
		return nil, fmt.Errorf("templates: override folder: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("templates: override folder %s is not a folder", overrideDir)
	}
	s := &source{override: os.DirFS(overrideDir)}
	if err := s.checkOverrides(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkOverrides refuses template files of the override folder that replace nothing.
func (s *source) checkOverrides() error {
	for _, dir := range []string{"mail", "web"} {
		err := fs.WalkDir(s.override, dir, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				if name == dir && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipDir
				}
				return err
			}
			if d.IsDir() || strings.HasPrefix(path.Base(name), ".") {
				return nil
			}
			if _, err := fs.Stat(embedded, name); err != nil && !webFileExists(name) {
				return fmt.Errorf("templates: override %s matches no embedded template", name)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("templates: override folder: %w", err)
		}
	}
	return nil
}

// read returns the content of a template file and where it came from.
func (s *source) read(name string) (text, origin string, err error) {
	if s.override != nil {
		b, err := fs.ReadFile(s.override, name)
		if err == nil {
			return string(b), "override " + name, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("templates: read override %s: %w", name, err)
		}
	}
	b, err := embedded.ReadFile(name)
	if err != nil {
		return "", "", fmt.Errorf("templates: read %s: %w", name, err)
	}
	return string(b), name, nil
}

// normLang maps a language tag to one of Langs ("en-GB" → "en"), French by default.
func normLang(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	for _, l := range Langs {
		if l == lang {
			return l
		}
	}
	return Langs[0]
}
