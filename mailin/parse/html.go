package parse

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText converts an HTML body to readable text: no tags, nothing of script, style,
// head or title; paragraphs, divs, line breaks, list items and table rows become line
// breaks; entities are decoded; blockquote content is prefixed with "> " so that the
// quote stripper sees it as quoted; a link whose text is not its address keeps the
// address in angle brackets.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	t := &textWriter{}
	skip := 0 // inside script/style/head/title
	pre := 0
	var href string
	var linkText strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return t.String()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			txt := string(z.Text())
			if href != "" {
				linkText.WriteString(txt)
			}
			t.text(txt, pre > 0)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			start := tt != html.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.Br:
				t.newline(1)
			case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Ul, atom.Ol:
				t.newline(2)
			case atom.Div, atom.Tr, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Dt, atom.Dd, atom.Center, atom.Address, atom.Form:
				t.newline(1)
			case atom.Hr:
				t.newline(1)
				if start {
					t.text("________________________________", true)
					t.newline(1)
				}
			case atom.Li:
				t.newline(1)
				if start {
					t.text("- ", true)
				}
			case atom.Td, atom.Th:
				if start {
					t.text(" ", true)
				}
			case atom.Pre:
				t.newline(1)
				if start && tt == html.StartTagToken {
					pre++
				} else if !start && pre > 0 {
					pre--
				}
			case atom.Blockquote:
				t.newline(1)
				if tt == html.StartTagToken {
					t.quote++
				} else if !start && t.quote > 0 {
					t.quote--
				}
			case atom.A:
				if tt == html.StartTagToken {
					href, linkText = "", strings.Builder{}
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = strings.TrimSpace(string(v))
						}
					}
					if !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "https://") {
						href = ""
					}
				} else if tt == html.EndTagToken && href != "" {
					lt := strings.TrimSpace(linkText.String())
					if lt != "" && !strings.Contains(href, lt) && !strings.Contains(lt, href) {
						t.text(" <"+href+">", true)
					}
					href = ""
				}
			}
		}
	}
}

// textWriter builds the text of htmlToText, collapsing whitespace and blank lines.
type textWriter struct {
	b       strings.Builder
	pending int  // line breaks to write before the next text
	space   bool // a space to write before the next text
	started bool
	quote   int
}

func (t *textWriter) newline(n int) {
	if t.started && n > t.pending {
		t.pending = n
	}
	t.space = false
}

func (t *textWriter) text(s string, verbatim bool) {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	if !verbatim {
		if strings.TrimSpace(s) == "" {
			if s != "" {
				t.space = true
			}
			return
		}
		lead := s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r'
		last := s[len(s)-1]
		trail := last == ' ' || last == '\n' || last == '\t' || last == '\r'
		s = joinFields(s, " ")
		if lead {
			t.space = true
		}
		t.write(s)
		t.space = trail
		return
	}
	for i, l := range strings.Split(s, "\n") {
		if i > 0 {
			t.pending = max(t.pending, 1)
			t.started = true
		}
		if l != "" {
			t.write(l)
		}
	}
}

func (t *textWriter) write(s string) {
	if t.pending > 0 && t.started {
		for i := 0; i < t.pending; i++ {
			t.b.WriteString("\n")
			if i < t.pending-1 && t.quote > 0 {
				t.b.WriteString(strings.Repeat(">", t.quote))
			}
		}
		t.b.WriteString(strings.Repeat("> ", t.quote))
		t.space = false
	} else if !t.started {
		t.b.WriteString(strings.Repeat("> ", t.quote))
	} else if t.space {
		t.b.WriteString(" ")
	}
	t.pending, t.space, t.started = 0, false, true
	t.b.WriteString(s)
}

func (t *textWriter) String() string {
	return strings.TrimSpace(dropSpaceBeforeLF(t.b.String()))
}

// dropSpaceBeforeLF removes the runs of spaces and tabs that end lines: what replacing
// `[ \t]+\n` with "\n" does (each match is a whole run, as the run's first byte is the
// leftmost start and the run is taken greedily).
func dropSpaceBeforeLF(s string) string {
	var b []byte
	last := 0 // s[last:] is not copied to b yet
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		nl := i + j
		k := nl
		for k > i && (s[k-1] == ' ' || s[k-1] == '\t') {
			k--
		}
		if k < nl {
			if b == nil {
				b = make([]byte, 0, len(s))
			}
			b = append(b, s[last:k]...)
			last = nl
		}
		i = nl + 1
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

// sanitizer is bluemonday's UGC policy without remote images: an img keeps only a cid:
// or data: source, so showing the HTML fetches nothing.
var sanitizer = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardURLs()
	p.AllowURLSchemes("mailto", "http", "https", "cid", "data")
	p.AllowStandardAttributes()
	p.AllowElements("a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code",
		"dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
		"h4", "h5", "h6", "hr", "i", "ins", "kbd", "mark", "p", "pre", "q", "rp", "rt", "ruby", "s",
		"samp", "small", "span", "strike", "strong", "sub", "summary", "sup", "time", "tt", "u", "var", "wbr", "center", "font")
	p.AllowAttrs("href").OnElements("a")
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("alt", "width", "height").OnElements("img")
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^(?i)(cid:[^\s"'<>]+|data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+)$`)).OnElements("img")
	return p
}()

// sanitizeHTML returns HTML safe to show in the portal: no script, no event handlers,
// no style, no remote images (only cid: and data: image sources survive).
func sanitizeHTML(s string) string {
	return strings.TrimSpace(sanitizer.Sanitize(s))
}
