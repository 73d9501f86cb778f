package templates

import (
	"strconv"
	"text/template/parse"
)

// Folding the catalogue's texts into the parsed templates.
//
// A mail's templates call t and label with a literal key tens of times ({{t "mail.none"}},
// (t "field.key"), {{label "mail.stop"}}), and text/template calls each through
// reflection: with html/template's escaper after each, that was a third of a mail's
// rendering, for texts that never change. After parsing the templates of one language,
// foldTexts replaces each such call by its text: a call inside a pipeline (an argument,
// the head of an if) becomes a string constant, and so does a whole action of the HTML
// part, which html/template still escapes for where it stands; a whole action of the
// text part becomes plain text. The golden files of every mail, in
// both languages, check that the output is byte for byte what the calls gave.

// folder gives the text of a catalogue function called with one literal argument (or
// none: arg is then nil), and whether it is one.
type folder func(fn string, arg *string) (string, bool)

// mailFolder folds mailFuncs' t and label for lang.
func mailFolder(lang string) folder {
	return func(fn string, arg *string) (string, bool) {
		switch {
		case fn == "t" && arg != nil:
			return lookup(lang, *arg), true
		case fn == "label" && arg != nil:
			return label(lang, *arg), true
		case fn == "statusCodes" && arg == nil:
			return statusCodes(lang), true
		}
		return "", false
	}
}

// foldTexts folds the calls of tree (see above). html says it is an html/template's
// tree: there a whole action stays an action, of a string constant, that html/template
// escapes for where it stands (text, attribute, URL, script), as it did the call's
// result. It must run before the first Execute (html/template rewrites a tree once, at
// its first execution).
func foldTexts(tree *parse.Tree, f folder, html bool) {
	if tree == nil || tree.Root == nil {
		return
	}
	foldList(tree.Root, f, html)
}

func foldList(list *parse.ListNode, f folder, html bool) {
	if list == nil {
		return
	}
	for i, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if s, ok := foldPipe(n.Pipe, f); ok && !html {
				list.Nodes[i] = &parse.TextNode{NodeType: parse.NodeText, Pos: n.Pos, Text: []byte(s)}
				continue
			}
			foldArgs(n.Pipe, f)
		case *parse.IfNode:
			foldBranch(&n.BranchNode, f, html)
		case *parse.RangeNode:
			foldBranch(&n.BranchNode, f, html)
		case *parse.WithNode:
			foldBranch(&n.BranchNode, f, html)
		case *parse.TemplateNode:
			foldArgs(n.Pipe, f)
		}
	}
}

func foldBranch(b *parse.BranchNode, f folder, html bool) {
	foldArgs(b.Pipe, f)
	foldList(b.List, f, html)
	foldList(b.ElseList, f, html)
}

// foldPipe returns the text of a pipeline that is one foldable call and nothing else.
func foldPipe(p *parse.PipeNode, f folder) (string, bool) {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 {
		return "", false
	}
	return foldCmd(p.Cmds[0], f)
}

func foldCmd(c *parse.CommandNode, f folder) (string, bool) {
	if len(c.Args) == 0 || len(c.Args) > 2 {
		return "", false
	}
	id, ok := c.Args[0].(*parse.IdentifierNode)
	if !ok {
		return "", false
	}
	if len(c.Args) == 1 {
		return f(id.Ident, nil)
	}
	arg, ok := c.Args[1].(*parse.StringNode)
	if !ok {
		return "", false
	}
	return f(id.Ident, &arg.Text)
}

// foldArgs folds, in a pipeline kept, its first command when it is a foldable call (a
// later command receives the previous one's result as an extra argument: never
// foldable) and every parenthesized foldable call among the commands' arguments.
func foldArgs(p *parse.PipeNode, f folder) {
	if p == nil {
		return
	}
	for i, c := range p.Cmds {
		if s, ok := foldCmd(c, f); ok && i == 0 {
			c.Args = []parse.Node{&parse.StringNode{NodeType: parse.NodeString, Pos: c.Pos, Quoted: strconv.Quote(s), Text: s}}
			continue
		}
		for j, a := range c.Args {
			sub, ok := a.(*parse.PipeNode)
			if !ok {
				continue
			}
			if s, ok := foldPipe(sub, f); ok {
				c.Args[j] = &parse.StringNode{NodeType: parse.NodeString, Pos: sub.Pos, Quoted: strconv.Quote(s), Text: s}
				continue
			}
			foldArgs(sub, f)
		}
	}
}
