package parse

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/html"
)

// FuzzVisibleText: the visible part of a reply is made of lines of the text (trailing
// spaces removed), starts with no blank line and ends with no space.
func FuzzVisibleText(f *testing.F) {
	for _, s := range []string{
		"Merci !\n\nLe lun. 3 mars 2026 à 10:00, Support <support@x> a écrit :\n> Bonjour\n> test\n",
		"Réponse\r\n\r\n-----Original Message-----\r\nFrom: a\r\nSent: b\r\nTo: c\r\nSubject: d\r\n\r\nvieux",
		"> q1\na1\n> q2\na2\n-- \nJean\nSent from my iPhone", "---------- Forwarded message ---------\nDe : x\n\ntexte",
		"Voir\n\n-- \nJean\n\nBegin forwarded message:\n\n> vieux\n-- \nPaul",
		"\n\n  \t\u00a0\n", "On Mon, Jan 1, 2024 at 10:00 AM\nBob <b@x> wrote:\n>\n",
		// separators, "|" quotes, markers, bare and spread attributions, mobile lines
		"ok\n\n—\nSam\n\n***\nSam\n01 23 45 67 89\nᐧ\n\u200b\n", "ok\n\n~~~~\n| a | b |\n| q\n|\n",
		"ok\n\n##- Please type your reply above this line -##\nold", "ok\n\nSam wrote:\n| q\n\nanswer",
		"ok\n\nOn Sat, Jul 20, 2013 at 10:00 AM Sam\n\n<\nmailto:s@x\n> wrote:\nq", "ok\n\niPhoneから送信\nOutlook für iOS beziehen",
		"ok\n\n2013/7/20 sam via Support <info@example.com>\n\n> q", "ok\n\n-------- 元のメッセージ --------\nq",
		"ok\n\nPoczątek przekazywanej wiadomości:\nOd: x\n\nq", "ok\n\n2013/07/20 10:00 に Sam さんは書きました:\n> q",
	} {
		f.Add(s)
	}
	for _, b := range corpusSeeds(".txt") {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, fwd := range []bool{false, true} { // a reply's subject, a forward's
			v := visibleTextOf(text, fwd)
			if vc, cuts := visibleTextCuts(text, fwd); vc != v {
				t.Fatalf("recording the cuts changed the result: %q, %q", vc, v)
			} else {
				for _, c := range cuts {
					if c.Rule == "" || c.Text == "" {
						t.Fatalf("cut %+v without a rule or a text", c)
					}
				}
			}
			if v == "" {
				continue
			}
			norm := strings.ReplaceAll(text, "\r\n", "\n")
			lines := strings.Split(v, "\n")
			if strings.TrimSpace(lines[0]) == "" && lines[0] == "" {
				t.Fatalf("visible text starts with a blank line: %q", v)
			}
			if strings.TrimRight(v, " \t\n") != v {
				t.Fatalf("visible text ends with spaces: %q", v)
			}
			for _, l := range lines {
				if !strings.Contains(norm, l) {
					t.Fatalf("visible line %q is not in the text", l)
				}
			}
		}
	})
}

// FuzzHTMLToText: HTML becomes valid UTF-8 text without trailing spaces on its lines;
// text without markup only has its spaces collapsed.
func FuzzHTMLToText(f *testing.F) {
	htmlSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlToText(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("%q gives %q: not UTF-8", s, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimRight(l, " \t") != l {
				t.Fatalf("line %q ends with spaces", l)
			}
		}
		if !strings.ContainsAny(s, "<&\x00\r") && utf8.ValidString(s) {
			if want := strings.Join(strings.Fields(s), " "); out != want {
				t.Fatalf("plain %q gives %q, want %q", s, out, want)
			}
		}
		checkVisibleFromHTML(t, s)
	})
}

// checkVisibleFromHTML: the HTML quote stripper names a rule for each cut, leaves some
// text when it cuts, keeps UTF-8 valid, and cuts nothing from HTML without any of the
// structures it knows.
func checkVisibleFromHTML(t *testing.T, s string) {
	v, cuts := visibleFromHTML(s)
	if len(cuts) == 0 {
		if v != "" {
			t.Fatalf("%q: visible %q without a cut", s, v)
		}
		return
	}
	if v == "" {
		t.Fatalf("%q: cut %+v and left nothing", s, cuts)
	}
	if utf8.ValidString(s) && !utf8.ValidString(v) {
		t.Fatalf("%q gives %q: not UTF-8", s, v)
	}
	for _, c := range cuts {
		if c.Rule == "" {
			t.Fatalf("%q: cut %q without a rule", s, c.Text)
		}
	}
	lower := strings.ToLower(s)
	known := false
	for _, m := range []string{"quote", "cite", "blockquote", "divrplyfwdmsg", "appendonsend", "stopspelling", "zwchr", "border-top",
		"border-color", "zmail_extra", "mail-editor-reference-message-container", "__divider__",
		"mac_outlook_attribution_block", "outlookmessageheader"} {
		known = known || strings.Contains(lower, m)
	}
	if !known {
		t.Fatalf("%q: cut %+v with no quote structure", s, cuts)
	}
}

func htmlSeeds(f *testing.F) {
	for _, s := range []string{
		`<p onclick="x()">Bonjour <a href="https://x.test/a">lien</a><br><img src="cid:img1" onerror=alert(1)></p>`,
		`<script>alert(1)</script><style>p{}</style><blockquote>cité<blockquote>deux</blockquote></blockquote>`,
		`<a href="java&#x09;script:alert(1)">x</a><a href=" JaVaScRiPt:alert(1)">y</a><svg onload=alert(1)>`,
		`<img src="data:image/png;base64,iVBORw0KGgo="><img src="http://tracker.test/p.gif"><iframe srcdoc="<script>">`,
		`<pre>  garde
  les   espaces </pre><ul><li>un<li>deux</ul><table><tr><td>a<td>b</table>&nbsp;&amp;&#0;&#xD800;`,
		`Merci<div class="gmail_quote"><div class="gmail_attr">Le lun. 3 mars 2026, X a écrit :</div><blockquote class="gmail_quote">q</blockquote></div>`,
		`<p>OK</p><div class="moz-cite-prefix">On 3/3/26, X wrote:</div><blockquote type="cite">q</blockquote><pre class="moz-signature">-- x</pre>`,
		`<p>Fait</p><div style="border:none;border-top:solid #E1E1E1 1.0pt"><p><b>De :</b> X<br><b>Envoyé :</b> lundi<br><b>Objet :</b> RE: y</p></div><p>q</p>`,
		`<div>ok</div><hr id="zwchr"><b>From: </b>x<br><b>To: </b>y<br><b>Sent: </b>z<br>q<hr id="stopSpelling"><div id="divRplyFwdMsg">`,
		`<div>ok</div><div name="quote"><b>Von:</b> x<br><b>Gesendet:</b> y<div name="quoted-content">q</div></div>`,
		`<div>ok</div><div class="tutanota_quote">On 3/3/26, x wrote:<blockquote class="tutanota_quote">q</blockquote></div><div class="zmail_extra"><blockquote>q</blockquote></div>`,
		`<div>ok</div><div id="mail-editor-reference-message-container"><div style="border-style: solid none none; border-color: rgb(181, 196, 223)"><b>From:</b> x<br><b>Sent:</b> y</div>q</div><hr data-marker="__DIVIDER__">`,
		`<div>ok</div><div id="MAC_OUTLOOK_ATTRIBUTION_BLOCK"><b>From: </b>x<br><b>Date: </b>y</div><blockquote>q</blockquote><div class=OutlookMessageHeader><hr><b>From:</b> x<br><b>Sent:</b> y</div>`,
		"<scr<script>ipt>alert(1)</script><math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>\x00",
		`<form action="javascript:x"><button formaction="javascript:y">b</button></form><base href="javascript:z">`,
	} {
		f.Add(s)
	}
	for _, b := range corpusSeeds(".html") {
		f.Add(string(b))
	}
}

// FuzzSanitizeHTML: what the portal shows has no script or other active element, no
// event handler, no style, no javascript: (or vbscript:, data:text) URL, and images
// only from cid: and data:image sources.
func FuzzSanitizeHTML(f *testing.F) {
	htmlSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		out := sanitizeHTML(s)
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Fatalf("%q sanitised to %q: script", s, out)
		}
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if activeElements[tok.Data] {
				t.Fatalf("%q sanitised to %q: element %s", s, out, tok.Data)
			}
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" || key == "srcdoc" || key == "formaction" {
					t.Fatalf("%q sanitised to %q: attribute %s", s, out, a.Key)
				}
				url := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' || r == 0x7f {
						return -1
					}
					return r
				}, a.Val))
				if strings.HasPrefix(url, "javascript:") || strings.HasPrefix(url, "vbscript:") || strings.HasPrefix(url, "data:text") {
					t.Fatalf("%q sanitised to %q: URL %s", s, out, a.Val)
				}
				if tok.Data == "img" && key == "src" && !strings.HasPrefix(url, "cid:") && !strings.HasPrefix(url, "data:image/") {
					t.Fatalf("%q sanitised to %q: remote image %s", s, out, a.Val)
				}
			}
		}
	})
}

var activeElements = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true,
	"embed": true, "applet": true, "form": true, "input": true, "button": true, "textarea": true,
	"select": true, "link": true, "meta": true, "base": true, "svg": true, "math": true, "noscript": true,
	"template": true,
}

// FuzzUTF7: UTF-7 decodes to valid UTF-8 whatever the bytes, and reads back any text
// written in UTF-7.
func FuzzUTF7(f *testing.F) {
	f.Add([]byte("Hi Mom -+Jjo--!"), "Café +1 € 日本語 😀")
	f.Add([]byte("+AOk-t+AOk-\xff+2D3cAA-+"), "+-+")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		if out := decodeUTF7(b); !utf8.ValidString(out) {
			t.Fatalf("%q decodes to %q: not UTF-8", b, out)
		}
		if !utf8.ValidString(s) {
			return
		}
		enc := encodeUTF7(s)
		if out := decodeUTF7([]byte(enc)); out != s {
			t.Fatalf("%q (UTF-7 of %q) decodes to %q", enc, s, out)
		}
	})
}

// encodeUTF7 writes s in UTF-7: ASCII but "+" as it is, "+" as "+-", other runs as
// "+" modified base64 of UTF-16 "-".
func encodeUTF7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		var u []byte
		for _, c := range utf16.Encode(run) {
			u = append(u, byte(c>>8), byte(c))
		}
		b.WriteString("+" + base64.RawStdEncoding.EncodeToString(u) + "-")
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '+':
			flush()
			b.WriteString("+-")
		case r < 0x80:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}

// FuzzCheckDKIM: DKIM verification of any message against any key record gives one of
// RFC 8601's results; a pass names its domain and needs a signature.
func FuzzCheckDKIM(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	var b strings.Builder
	if err := dkim.Sign(&b, strings.NewReader(dkimMsg), &dkim.SignOptions{
		Domain: "lycee.fr", Selector: "s1", Signer: priv,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	}); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(b.String()), record)
	f.Add([]byte(strings.Replace(b.String(), "réglé", "cassé", 1)), record)
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from; bh=; b=\r\nFrom: a@x\r\n\r\n"), "v=DKIM1; p=")
	files, _ := filepath.Glob(filepath.Join("testdata", "auth", "*.eml"))
	for _, p := range files {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw, record)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, txt string) {
		lookup := func(context.Context, string) ([]string, error) {
			if txt == "" {
				return nil, errors.New("no such host")
			}
			return []string{txt}, nil
		}
		a := checkDKIM(context.Background(), bytes.NewReader(skipMboxLine(raw)), "jean@lycee.fr", lookup)
		if !dkimResults[a.DKIM] {
			t.Fatalf("DKIM result %q", a.DKIM)
		}
		if a.DKIM == "pass" && (a.DKIMDomain == "" || !signatureRe.Match(raw)) {
			t.Fatalf("pass without a domain or a signature: %+v", a)
		}
	})
}

var dkimResults = map[string]bool{"pass": true, "fail": true, "none": true, "neutral": true,
	"temperror": true, "permerror": true, "policy": true}

var signatureRe = regexp.MustCompile(`(?i)dkim-signature\s*:`)

// FuzzDropSpaceBeforeLF: dropSpaceBeforeLF does what replacing `[ \t]+\n` with "\n"
// does; endsWithVerb says what lower-casing a copy said.
func FuzzDropSpaceBeforeLF(f *testing.F) {
	for _, s := range []string{"", "\n", " \n", "a \t \nb  \n", "a b", " \t", "\n \n\t\n", "x\t\n\n y \n", "a écrit \n", "WROTE", "İ\u212a napisał(a)"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`[ \t]+\n`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := dropSpaceBeforeLF(s), re.ReplaceAllString(s, "\n"); got != want {
			t.Fatalf("dropSpaceBeforeLF(%q) = %q, want %q", s, got, want)
		}
		want := false
		lt := strings.ToLower(tail(s, 64))
		for _, v := range wroteVerbList {
			want = want || strings.HasSuffix(lt, v)
		}
		if got := endsWithVerb(s); got != want {
			t.Fatalf("endsWithVerb(%q) = %v, with a lower-cased copy %v", s, got, want)
		}
	})
}
