package templates

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
	"text/template/parse"
)

// TestFoldEquivalent renders templates that call the catalogue functions everywhere a
// template can (a whole action, an argument, a pipeline's head and tail, a variable, if,
// with, range, a template call; HTML text, attributes, a URL, a script, a style) with the
// calls folded and not, and compares: the output must be the same bytes. The texts hold
// what escapers change (<, &, quotes, +, a NUL).
func TestFoldEquivalent(t *testing.T) {
	cat := map[string]string{
		"a": `Tom & "Jerry" <b>'s + 1</b>` + "\x00",
		"b": "javascript:alert(1)",
		"c": "a b/c?d=e&f",
	}
	f := func(fn string, arg *string) (string, bool) {
		switch {
		case fn == "t" && arg != nil:
			return cat[*arg], true
		case fn == "label" && arg != nil:
			return cat[*arg] + " :", true
		case fn == "statusCodes" && arg == nil:
			return "new (Nouveau)", true
		}
		return "", false
	}
	funcs := map[string]any{
		"t":           func(k string) string { return cat[k] },
		"label":       func(k string) string { return cat[k] + " :" },
		"statusCodes": func() string { return "new (Nouveau)" },
		"list":        func(v ...any) []any { return v },
	}
	const src = `{{define "p"}}[{{index . 0}}|{{index . 1}}]{{end}}` +
		`<p title="{{t "a"}}" data-x={{t "a"}}>{{t "a"}} {{label "c"}} {{statusCodes}}</p>` +
		`<a href="{{t "b"}}">{{t "c" | printf "%s!"}}</a><a href="/x?q={{t "c"}}">q</a>` +
		`<script>var s = {{t "a"}};</script><style>p { font-family: {{t "c"}}; }</style>` +
		`{{$v := t "a"}}{{$v}}{{if t "a"}}yes{{end}}{{with t "c"}}{{.}}{{end}}` +
		`{{range list (t "a") (t "b")}}<i>{{.}}</i>{{end}}{{template "p" (list (t "a") .)}}` +
		`{{or "" (t "c")}}{{"a" | t}}{{printf "%s" (label "a")}}` +
		`<title>{{t "a"}}</title><textarea>{{t "a"}}</textarea>`
	data := "v<&>"

	textOut := func(fold bool) string {
		tm := texttemplate.Must(texttemplate.New("x").Funcs(funcs).Parse(src))
		if fold {
			for _, d := range tm.Templates() {
				foldTexts(d.Tree, f, false)
			}
		}
		var b bytes.Buffer
		if err := tm.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	htmlOut := func(fold bool) string {
		tm := htmltemplate.Must(htmltemplate.New("x").Funcs(funcs).Parse(src))
		if fold {
			for _, d := range tm.Templates() {
				foldTexts(d.Tree, f, true)
			}
		}
		var b bytes.Buffer
		if err := tm.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if a, b := textOut(false), textOut(true); a != b {
		t.Errorf("text: folded output differs\nwant %q\ngot  %q", a, b)
	}
	if a, b := htmlOut(false), htmlOut(true); a != b {
		t.Errorf("html: folded output differs\nwant %q\ngot  %q", a, b)
	}
	if h := htmlOut(true); !strings.Contains(h, "Tom &amp; &#34;Jerry&#34;") || !strings.Contains(h, `href="#ZgotmplZ"`) {
		t.Errorf("html: escaping lost: %q", h)
	}
}

// TestMailTemplatesFolded checks that the embedded mail templates, as parsed, hold no
// call of the catalogue with a literal key any more: each would cost a reflective call
// per mail (see fold.go).
func TestMailTemplatesFolded(t *testing.T) {
	tm, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.mail) == 0 {
		t.Fatal("no mail templates")
	}
	for id, set := range tm.mail {
		var trees []*parse.Tree
		for _, d := range set.text.Templates() {
			trees = append(trees, d.Tree)
		}
		for _, d := range set.html.Templates() {
			trees = append(trees, d.Tree)
		}
		for _, tr := range trees {
			if tr == nil {
				continue
			}
			walkCommands(tr.Root, func(c *parse.CommandNode) {
				if _, ok := foldCmd(c, mailFolder(id.lang)); ok {
					t.Errorf("%s.%s %s: %s not folded", id.kind, id.lang, tr.ParseName, c)
				}
			})
		}
	}
}

// walkCommands calls fn for every command of the tree under n, arguments' pipelines too.
func walkCommands(n parse.Node, fn func(*parse.CommandNode)) {
	var pipe func(p *parse.PipeNode)
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			fn(c)
			for _, a := range c.Args {
				if sub, ok := a.(*parse.PipeNode); ok {
					pipe(sub)
				}
			}
		}
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkCommands(c, fn)
		}
	case *parse.ActionNode:
		pipe(n.Pipe)
	case *parse.IfNode:
		pipe(n.Pipe)
		walkCommands(n.List, fn)
		walkCommands(n.ElseList, fn)
	case *parse.RangeNode:
		pipe(n.Pipe)
		walkCommands(n.List, fn)
		walkCommands(n.ElseList, fn)
	case *parse.WithNode:
		pipe(n.Pipe)
		walkCommands(n.List, fn)
		walkCommands(n.ElseList, fn)
	case *parse.TemplateNode:
		pipe(n.Pipe)
	}
}
