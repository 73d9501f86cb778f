package parse

import (
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlCut is one part of an HTML body that stripQuotedHTML removed: the rule that found
// it and the text it held, so that tests and logs can say which rule removed what.
type htmlCut struct {
	Rule string
	Text string
	// Kept marks a forwarded message the rule found and kept whole: it starts at Start
	// in the HTML, and the text rules must not cut it either.
	Kept  bool
	Start int
}

// Bounds of the HTML quote search. Past them the HTML is left alone and the text rules
// decide: a hostile body (nesting 400 000 blockquotes deep) costs linear time.
const (
	maxQuoteNodes      = 50000
	maxQuoteDepth      = 256
	maxQuoteCandidates = 50
	endTagSearch       = 16 // open elements an end tag may close at once
)

// hnode is one element of the light tree stripQuotedHTML builds: byte offsets in the
// source, and the attributes that name client quote structures (typ only on a
// blockquote, style and nameAttr on a div, marker on an hr: where quoteRule reads them).
type hnode struct {
	tag                   atom.Atom
	name                  string // for tags without an atom
	class, id, typ, style string
	nameAttr, marker      string // name="quote" (GMX, Web.de), data-marker (Zimbra)
	start, end            int
	parent                *hnode
	kids                  []*hnode
}

func (n *hnode) hasClass(c string) bool {
	for _, f := range strings.Fields(n.class) {
		if strings.EqualFold(f, c) {
			return true
		}
	}
	return false
}

// voidTags never have content: they are not pushed on the open elements.
var voidTags = map[atom.Atom]bool{atom.Br: true, atom.Hr: true, atom.Img: true, atom.Meta: true,
	atom.Link: true, atom.Input: true, atom.Wbr: true, atom.Area: true, atom.Base: true, atom.Col: true,
	atom.Embed: true, atom.Source: true, atom.Track: true, atom.Param: true}

// buildHTMLTree tokenizes s into a tree of elements. Unclosed elements end where their
// parent ends (or at the end of s); an end tag closes the nearest open element of its
// name among the last endTagSearch, else it is ignored, so the cost stays linear.
// It returns nil when s has more than maxQuoteNodes elements or nests deeper than
// maxQuoteDepth.
func buildHTMLTree(s string) *hnode {
	root := &hnode{start: 0, end: len(s)}
	stack := []*hnode{root}
	var slab []hnode // nodes are cut from chunks of growing size, not allocated one by one
	newNode := func() *hnode {
		if len(slab) == cap(slab) {
			slab = make([]hnode, 0, min(256, max(16, 2*cap(slab))))
		}
		slab = slab[:len(slab)+1]
		return &slab[len(slab)-1]
	}
	z := html.NewTokenizer(strings.NewReader(s))
	off, count := 0, 0
	for {
		tt := z.Next()
		raw := len(z.Raw())
		pos := off
		off += raw
		switch tt {
		case html.ErrorToken:
			for _, n := range stack[1:] {
				n.end = len(s)
			}
			return root
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			n := newNode()
			*n = hnode{tag: atom.Lookup(name), start: pos, end: off}
			if n.tag == 0 {
				n.name = string(name)
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				// quoteRule reads type on a blockquote, style and name on a div, the
				// marker on an hr only: the others are not kept
				switch string(k) {
				case "class":
					n.class = string(v)
				case "id":
					n.id = string(v)
				case "type":
					if n.tag == atom.Blockquote {
						n.typ = string(v)
					}
				case "style":
					if n.tag == atom.Div {
						n.style = string(v)
					}
				case "name":
					if n.tag == atom.Div {
						n.nameAttr = string(v)
					}
				case "data-marker":
					if n.tag == atom.Hr {
						n.marker = string(v)
					}
				}
			}
			if count++; count > maxQuoteNodes {
				return nil
			}
			top := stack[len(stack)-1]
			n.parent = top
			top.kids = append(top.kids, n)
			if tt == html.SelfClosingTagToken || voidTags[n.tag] {
				continue
			}
			if len(stack) > maxQuoteDepth {
				return nil
			}
			stack = append(stack, n)
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			for i := len(stack) - 1; i > 0 && i >= len(stack)-endTagSearch; i-- {
				if stack[i].tag == a && (a != 0 || stack[i].name == string(name)) {
					for _, n := range stack[i+1:] {
						n.end = pos
					}
					stack[i].end = off
					stack = stack[:i]
					break
				}
			}
		}
	}
}

// Outlook's reply header block is a div with a thin top border (#E1E1E1 in recent
// versions, #B5C4DF in older ones) holding the From/Sent/To/Subject paragraphs; Word
// writes "border-top:solid #E1E1E1 1.0pt", the web and new Outlook "border-top: 1pt solid
// rgb(225, 225, 225)" or the border's parts one by one.
var outlookBorderRe = regexp.MustCompile(`(?i)border-top\s*:\s*(solid\s+#(e1e1e1|b5c4df)\s+1(\.0)?pt|1(\.0)?pt\s+solid\s+(#e1e1e1|#b5c4df|rgb\(\s*(225,\s*225,\s*225|181,\s*196,\s*223)\s*\)))|border-color\s*:\s*rgb\(\s*(225,\s*225,\s*225|181,\s*196,\s*223)\s*\)`)

// fwdSubjectRe matches the Subject line of a forwarded mail's header block: "Subject:
// FW: …", "Objet : TR : …", "Betreff: WG: …".
var fwdSubjectRe = regexp.MustCompile(`(?i)^\s*\*{0,2}\s*(subject|objet|sujet|betreff|asunto|oggetto|onderwerp|assunto|ämne|emne|temat)\s*\*{0,2}\s*[:：]\s*\*{0,2}\s*(fwd?|tr|wg|rv|enc|vs|vb|doorst|pd|i)\s*:`)

// quoteRule says which client structure n is and whether the quoted history runs from
// it to the end of the body (Outlook, Hotmail, Zimbra: the header block and the quoted
// mail are siblings) or is the element alone.
func quoteRule(n *hnode) (rule string, toEnd bool) {
	switch {
	case n.tag == atom.Blockquote && n.hasClass("gmail_quote") && (n.parent == nil || !isGmailContainer(n.parent)):
		// Gmail's "quote" formatting button writes this blockquote in the person's own
		// text; a reply's quote sits in a div.gmail_quote with its gmail_attr
		return "gmail_blockquote", false // only with an attribution before it
	case n.hasClass("gmail_quote") || n.hasClass("gmail_quote_container"):
		return "gmail_quote", false
	case n.hasClass("yahoo_quoted"):
		return "yahoo_quoted", false
	case n.hasClass("protonmail_quote"):
		return "protonmail_quote", false
	case n.hasClass("tutanota_quote"):
		return "tutanota_quote", false
	case n.hasClass("zmail_extra"):
		return "zoho_extra", false
	case n.tag == atom.Div && strings.EqualFold(n.nameAttr, "quote"):
		return "gmx_quote", false
	case n.tag == atom.Blockquote && strings.EqualFold(strings.TrimSpace(n.typ), "cite"):
		return "blockquote_cite", false
	case n.tag == atom.Div && strings.EqualFold(n.id, "mail-editor-reference-message-container"):
		return "outlook_reference_message", true
	case n.tag == atom.Div && (strings.EqualFold(n.id, "MAC_OUTLOOK_ATTRIBUTION_BLOCK") || n.hasClass("OutlookMessageHeader")):
		return "outlook_message_header", true
	case n.tag == atom.Div && strings.EqualFold(n.id, "divRplyFwdMsg"):
		return "outlook_divRplyFwdMsg", true
	case n.tag == atom.Div && strings.EqualFold(n.id, "appendonsend"):
		return "outlook_appendonsend", true
	case n.tag == atom.Hr && strings.EqualFold(n.id, "stopSpelling"):
		return "outlook_stopSpelling", true
	case n.tag == atom.Hr && strings.EqualFold(n.id, "zwchr"):
		return "zimbra_zwchr", true
	case n.tag == atom.Hr && n.marker == "__DIVIDER__":
		return "zimbra_divider", true
	case n.tag == atom.Div && outlookBorderRe.MatchString(n.style):
		return "outlook_header_border", true
	case n.tag == atom.Blockquote:
		return "blockquote_attributed", false // only with an attribution before it
	}
	return "", false
}

// isGmailContainer reports whether n is the div Gmail puts a reply's quote in.
func isGmailContainer(n *hnode) bool {
	return n.tag != atom.Blockquote && (n.hasClass("gmail_quote") || n.hasClass("gmail_quote_container") || n.hasClass("gmail_extra"))
}

// quoteCandidate is one quoted region found in the HTML.
type quoteCandidate struct {
	rule       string
	start, end int
}

// stripQuotedHTML removes from an HTML body the quoted history that mail clients mark
// by structure (Gmail's gmail_quote, blockquote type=cite of Apple Mail, Thunderbird
// and Roundcube, Outlook's divRplyFwdMsg, appendonsend and top-bordered header block,
// Hotmail's hr#stopSpelling, Yahoo's yahoo_quoted, Proton's protonmail_quote, Zimbra's
// hr#zwchr or hr data-marker=__DIVIDER__, GMX's and Web.de's div name=quote, Tutanota's
// tutanota_quote, Zoho's zmail_extra, new Outlook's mail-editor-reference-message-container,
// Outlook for Mac's MAC_OUTLOOK_ATTRIBUTION_BLOCK and old Outlook's OutlookMessageHeader) with the attribution element just before it (moz-cite-prefix, gmail_attr,
// reply-intro or an "On … wrote:" line).
//
// A quote goes only when nothing the person wrote follows it but blank space or a
// signature: text after a quote is an inline answer, and then the HTML is returned
// whole, since the answers need their questions. A forwarded message (its marker line
// or a "Subject: FW:" header block) is the request and stays, with what it holds.
func stripQuotedHTML(s string) (string, []htmlCut) { return stripQuotedHTMLOf(s, false) }

// stripQuotedHTMLOf is stripQuotedHTML for a mail whose subject says whether it is a
// forward ("FW:", "TR :", "WG:"): then Outlook's and Zimbra's header structures, which
// start the quote in a reply, start the forwarded mail (its header block shows the
// forwarded mail's own subject, without "FW:"), and it stays.
func stripQuotedHTMLOf(s string, fwdSubject bool) (string, []htmlCut) {
	if !mayQuoteHTML(s) {
		return s, nil // no element quoteRule names: no tree to build
	}
	root := buildHTMLTree(s)
	if root == nil {
		return s, nil
	}
	var cands []quoteCandidate
	var fwd *htmlCut
	stop, tries := false, 0
	var walk func(n *hnode)
	walk = func(n *hnode) {
		for i, k := range n.kids {
			if stop {
				return
			}
			rule, toEnd := quoteRule(k)
			if rule == "" {
				walk(k)
				continue
			}
			// each look costs up to a few kilobytes of conversion: a body made of
			// thousands of blockquotes is left to the text rules
			if tries++; tries > 4*maxQuoteCandidates {
				stop, cands = true, nil
				return
			}
			start, end := k.start, k.end
			if toEnd {
				end = len(s)
				if !headerFollows(s, start) {
					walk(k)
					continue
				}
				// Outlook puts a rule before divRplyFwdMsg: it goes with it
				if i > 0 && n.kids[i-1].tag == atom.Hr && blankHTML(s[n.kids[i-1].end:start]) {
					start = n.kids[i-1].start
				}
			} else {
				// the attribution, maybe followed by Apple Mail's <br class="Apple-interchange-newline">
				j := i - 1
				for j >= 0 && n.kids[j].tag == atom.Br {
					j--
				}
				if j >= 0 {
					if p := n.kids[j]; blankHTML(s[p.end:start]) && isAttributionNode(s, p) {
						start = p.start
					}
				}
				if (rule == "blockquote_attributed" || rule == "gmail_blockquote") && start == k.start {
					walk(k) // a bare blockquote may be a citation of the reply itself
					continue
				}
			}
			if (fwdSubject && toEnd) || isForwardHTML(s, start, end) {
				// the rest is the forwarded mail, and maybe the quotes it holds: all of
				// it stays, and a quote before it is not the last content
				fwd = &htmlCut{Rule: rule + "_forward", Kept: true, Start: start}
				stop = true
				return
			}
			cands = append(cands, quoteCandidate{rule: rule, start: start, end: end})
			if toEnd || len(cands) > maxQuoteCandidates {
				stop = true
			}
		}
	}
	walk(root)
	if fwd != nil {
		fwd.Text = htmlToText(s[fwd.Start:])
		return s, []htmlCut{*fwd}
	}
	if len(cands) == 0 || len(cands) > maxQuoteCandidates {
		return s, nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].start < cands[j].start })
	// the quotes must be followed only by blank space, signatures or other quotes; what
	// follows the first one holds what follows the others, so one look is enough
	var rest strings.Builder
	pos := cands[0].end
	for _, d := range cands[1:] {
		if d.start > pos {
			rest.WriteString(s[pos:d.start])
		}
		pos = max(pos, d.end)
	}
	if pos < len(s) {
		rest.WriteString(s[pos:])
	}
	if !onlySignature(rest.String()) {
		return s, nil
	}
	var b strings.Builder
	var cuts []htmlCut
	pos = 0
	for _, c := range cands {
		if c.start < pos {
			continue
		}
		b.WriteString(s[pos:c.start])
		cuts = append(cuts, htmlCut{Rule: c.rule, Text: htmlToText(s[c.start:c.end])})
		pos = c.end
	}
	b.WriteString(s[pos:])
	return b.String(), cuts
}

// mayQuoteHTML reports whether an element of s may be one that quoteRule names, from
// what its source must hold: a "<blockquote" start tag, or an attribute with a value
// ("class", "id", "name", "data-marker" before white space and "=": names are ASCII,
// in any case, and never escaped), or a style attribute whose value says "border" (in
// any case, or escaped: s holds a "&").
func mayQuoteHTML(s string) bool {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		i += j + 1
		if len(s)-i >= len("blockquote") && equalFoldASCII(s[i:i+len("blockquote")], "blockquote") {
			return true
		}
	}
	style := false
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '=')
		if j < 0 {
			break
		}
		k := i + j // the name ends before white space and the "="
		for k > 0 && isHTMLSpace(s[k-1]) {
			k--
		}
		for _, name := range quoteAttrNames {
			if k >= len(name) && equalFoldASCII(s[k-len(name):k], name) {
				return true
			}
		}
		style = style || k >= len("style") && equalFoldASCII(s[k-len("style"):k], "style")
		i += j + 1
	}
	return style && (strings.IndexByte(s, '&') >= 0 || containsFoldASCIIString(s, "border"))
}

// quoteAttrNames are the attributes whose value alone may make an element one of
// quoteRule's.
var quoteAttrNames = []string{"class", "id", "name", "data-marker"}

// isHTMLSpace reports the white space the tokenizer skips around "=" in a tag.
func isHTMLSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }

// containsFoldASCIIString reports whether s holds the lower-case ASCII word w, which
// starts with a letter, with its ASCII letters in any case.
func containsFoldASCIIString(s, w string) bool {
	lo, up := w[0], w[0]-'a'+'A'
	nextLo, nextUp := strings.IndexByte(s, lo), strings.IndexByte(s, up)
	for nextLo >= 0 || nextUp >= 0 {
		i := nextLo
		if i < 0 || nextUp >= 0 && nextUp < i {
			i = nextUp
		}
		if len(s)-i >= len(w) && equalFoldASCII(s[i:i+len(w)], w) {
			return true
		}
		if i == nextLo {
			if nextLo = strings.IndexByte(s[i+1:], lo); nextLo >= 0 {
				nextLo += i + 1
			}
		} else {
			if nextUp = strings.IndexByte(s[i+1:], up); nextUp >= 0 {
				nextUp += i + 1
			}
		}
	}
	return false
}

// blankHTML reports whether a stretch of HTML shows nothing but blank space.
func blankHTML(s string) bool {
	// a long stretch is not the gap between an attribution and its quote: not looking
	// keeps the cost of many candidates linear
	return len(s) <= 4096 && htmlToText(s) == ""
}

// signatureClassRe finds the signature blocks clients mark: Gmail's gmail_signature,
// Thunderbird's moz-signature, Outlook's id="Signature" and its mobile app's
// ms-outlook-mobile-signature, iOS Mail's AppleMailSignature.
var signatureClassRe = regexp.MustCompile(`(?i)(class\s*=\s*["']?[^"'>]*(gmail_signature|moz-signature)|id\s*=\s*["']?(signature\b|ms-outlook-mobile-signature|AppleMailSignature))`)

// onlySignature reports whether the HTML after a quote holds nothing the person wrote:
// blank space, a marked signature block, or text that the text rules see as a
// signature ("-- " and what follows, "Sent from my iPhone").
func onlySignature(s string) bool {
	t := htmlToText(s)
	if t == "" {
		return true
	}
	if signatureClassRe.MatchString(s) && len(t) < 2000 {
		return true
	}
	lines := append([]string{"x"}, strings.Split(t, "\n")...)
	return len(cutSignature(lines, nil)) == 1
}

// headerFollows reports whether a mail header block (From/Sent/To/Subject) starts in
// the first lines of the text from HTML offset start: Outlook's and Zimbra's markers are
// trusted only with the header block they introduce.
func headerFollows(s string, start int) bool {
	lines := nonBlankLines(htmlToText(s[start:min(len(s), start+8000)]), 12)
	for i := range lines {
		if headerBlockAt(lines, i) {
			return true
		}
	}
	return false
}

// isForwardHTML reports whether the region [start, end) of s is a forwarded message:
// a forward marker line in its first lines or just before it, or a header block whose
// Subject is "FW:", "TR :", "WG:"…
func isForwardHTML(s string, start, end int) bool {
	lines := nonBlankLines(htmlToText(s[start:min(end, start+8000)]), 12)
	before := nonBlankLines(htmlToText(s[max(0, start-2000):start]), -1)
	if len(before) > 0 {
		lines = append([]string{before[len(before)-1]}, lines...)
	}
	for i, l := range lines {
		if isQuoted(l) {
			if i > 1 || (i == 1 && len(before) == 0) {
				continue // a forward quoted in a reply is part of that quote
			}
			// Apple Mail puts "Begin forwarded message:" inside its blockquote
			l = strings.TrimLeft(l, "> ")
		}
		l = strings.TrimSpace(l)
		if forwardRe.MatchString(l) || fwdSubjectRe.MatchString(l) {
			return true
		}
	}
	return false
}

// isAttributionNode reports whether the element n, just before a quote, is its
// attribution: marked by class (Thunderbird's moz-cite-prefix, Gmail's gmail_attr,
// Roundcube's reply-intro) or made of one "On … wrote:" header in the known languages.
func isAttributionNode(s string, n *hnode) bool {
	if n.hasClass("moz-cite-prefix") || n.hasClass("gmail_attr") || strings.EqualFold(n.id, "reply-intro") {
		return true
	}
	if n.end-n.start > 4000 {
		return false
	}
	lines := nonBlankLines(htmlToText(s[n.start:n.end]), -1)
	if len(lines) == 0 || len(lines) > 3 {
		return false
	}
	return quoteHeaderAt(lines, 0) == len(lines) || isAttribution(strings.Join(lines, " "))
}

// nonBlankLines returns the first n (all when n < 0) non-blank lines of t.
func nonBlankLines(t string, n int) []string {
	var out []string
	for _, l := range strings.Split(t, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n >= 0 && len(out) == n {
			break
		}
		out = append(out, l)
	}
	return out
}

// visibleFromHTML returns the visible text of an HTML body whose quoted history a client
// structure marks: the HTML without it, as text, through the text rules (signatures,
// leftover attribution lines). It returns "" and no cuts when no structure is found or
// nothing would be left, and the caller keeps the text path.
func visibleFromHTML(s string) (string, []htmlCut) { return visibleFromHTMLOf(s, false) }

// visibleFromHTMLOf is visibleFromHTML for a mail whose subject may be a forward's (see
// stripQuotedHTMLOf).
func visibleFromHTMLOf(s string, fwdSubject bool) (string, []htmlCut) {
	stripped, cuts := stripQuotedHTMLOf(s, fwdSubject)
	if len(cuts) == 0 {
		return "", nil
	}
	if c := cuts[0]; c.Kept {
		// the text rules apply to what the person wrote above the forward, and the
		// forward stays whole: its header block must not read as a quote header
		head := visibleText(htmlToText(s[:c.Start]))
		if head == "" {
			return c.Text, cuts
		}
		if c.Text == "" {
			return head, cuts
		}
		return head + "\n\n" + c.Text, cuts
	}
	v := visibleText(htmlToText(stripped))
	if v == "" {
		return "", nil
	}
	return v, cuts
}
