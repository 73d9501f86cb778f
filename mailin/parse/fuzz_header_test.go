package parse

import (
	"fmt"
	"mime"
	"net/mail"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecodeHeader: RFC 2047 decoding gives valid UTF-8 whatever the input and
// fallback charset, leaves plain text alone, and reads back what mime's encoders wrote.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{
		"=?utf-8?q?Caf=C3=A9?= =?utf-8?b?w6l0w6k=?=", "=?iso-8859-1?Q?R=E9f=E9rence?=", "=?UTF-7?Q?+AOk-t+AOk-?=",
		"=?utf-8?b?w6?= =?utf-8?b?mQ==?=", "=?x-unknown?q?=FF?=", "R\xe9union", "Re: [#AURAN1-70] x", "=?utf-8?q?=00?=",
	} {
		f.Add(s, "windows-1252", "valeur")
	}
	for _, v := range headerValues(corpusMessages(), "Subject", "From", "To") {
		f.Add(v, "", "")
	}
	f.Fuzz(func(t *testing.T, s, fallback, plain string) {
		if out := decodeHeader(s, fallback); !utf8.ValidString(out) {
			t.Fatalf("decodeHeader(%q, %q) = %q: not UTF-8", s, fallback, out)
		}
		if out := decodeHeaderRaw(s, fallback); !utf8.ValidString(out) {
			t.Fatalf("decodeHeaderRaw(%q, %q) = %q: not UTF-8", s, fallback, out)
		}
		if !utf8.ValidString(plain) {
			return
		}
		if !strings.Contains(plain, "=?") && !strings.ContainsAny(plain, "\r\n") {
			if out := decodeHeader(plain, fallback); out != plain {
				t.Fatalf("plain %q decoded to %q", plain, out)
			}
		}
		for _, enc := range []mime.WordEncoder{mime.QEncoding, mime.BEncoding} {
			w := enc.Encode("utf-8", plain)
			if w == plain {
				continue // nothing to encode: mime leaves it as it is
			}
			if out := decodeHeader(w, fallback); out != plain {
				t.Fatalf("%q (encoding %q) decoded to %q", w, plain, out)
			}
		}
	})
}

// FuzzMediaParams: Content-Type and Content-Disposition parameters come out as valid
// UTF-8 with lower-case names, and an RFC 2231 file name, whole or in numbered
// segments, reads back as written.
func FuzzMediaParams(f *testing.F) {
	f.Add(`attachment; filename*=iso-8859-1'fr'R%E9sum%E9.pdf`, "Résumé du cours.pdf", "")
	f.Add(`text/plain; charset="utf-8"; format=flowed; name*0*=utf-8''a%20; name*1="b"`, "a/b\\c\x00", "windows-1252")
	f.Add(`multipart/mixed; boundary="=?utf-8?q?x?="; x*=''%FF`, "=?utf-8?q?=FF?=", "utf-7")
	for _, v := range headerValues(corpusMessages(), "Content-Type", "Content-Disposition") {
		f.Add(v, "", "")
	}
	f.Fuzz(func(t *testing.T, v, name, fallback string) {
		typ, params := parseMediaHeader(v, fallback)
		if strings.ContainsAny(typ, " \t\"(;") {
			t.Fatalf("media type %q", typ)
		}
		for k, p := range params {
			if !utf8.ValidString(p) {
				t.Fatalf("parameter %s = %q: not UTF-8", k, p)
			}
			if k != strings.ToLower(k) {
				t.Fatalf("parameter name %q not lower case", k)
			}
		}
		if !utf8.ValidString(name) {
			return
		}
		var pct strings.Builder
		for i := 0; i < len(name); i++ {
			fmt.Fprintf(&pct, "%%%02X", name[i])
		}
		enc := pct.String()
		_, params = parseMediaHeader("attachment; filename*=UTF-8''"+enc, fallback)
		if params["filename"] != name {
			t.Fatalf("filename*=UTF-8''%s read as %q, want %q", enc, params["filename"], name)
		}
		if strings.Contains(name, "=?") || strings.ContainsAny(name, "\r\n") {
			return // a segmented value is also read for encoded-words, and unfolded
		}
		cut := len(enc) / 3 / 2 * 3 // at a %XX boundary
		_, params = parseMediaHeader("attachment; filename*1*="+enc[cut:]+"; filename*0*=utf-8'fr'"+enc[:cut], fallback)
		if params["filename"] != name {
			t.Fatalf("segments %q + %q read as %q, want %q", enc[:cut], enc[cut:], params["filename"], name)
		}
	})
}

// FuzzAddress: a mailbox found has an address; names and addresses read from valid
// UTF-8 are valid UTF-8, names have no stray spaces; "Name <local@domain>" as net/mail
// writes it reads back.
func FuzzAddress(f *testing.F) {
	f.Add("Jean Dupont <jean@lycee.fr>", "Jean Dupont", "jean", "lycee.fr")
	f.Add(`"Smith, Jo" <j@x>, =?utf-8?q?Ren=C3=A9?= <r@y>; grp: a@b, c@d;`, "Müller, Hans", "h.m", "example.com")
	f.Add("=?utf-8?q?=FF=00?= <a@b>", "  Zoé\t(école)  ", "a", "b")
	f.Add("jean@lycee.fr (Jean) <broken", `"quoted"`, "x", "y")
	for _, v := range headerValues(corpusMessages(), "From", "To", "Cc", "Reply-To") {
		f.Add(v, "", "a", "b.c")
	}
	f.Fuzz(func(t *testing.T, raw, name, local, domain string) {
		valid := utf8.ValidString(raw)
		check := func(a mailAddress) {
			if a.Email == "" {
				t.Fatalf("%q: a mailbox without address", raw)
			}
			if a.Name != strings.Join(strings.Fields(a.Name), " ") {
				t.Fatalf("%q: name %q has stray spaces", raw, a.Name)
			}
			if valid && (!utf8.ValidString(a.Name) || !utf8.ValidString(a.Email)) {
				t.Fatalf("%q: read as %q <%q>: not UTF-8", raw, a.Name, a.Email)
			}
		}
		if a, ok := parseAddressLenient(raw); ok {
			check(mailAddress(a))
		}
		for _, a := range parseAddressListLenient(raw) {
			check(mailAddress(a))
		}
		if !atomRe.MatchString(local) || !atomRe.MatchString(domain) || !utf8.ValidString(name) || strings.Contains(name, "=?") {
			return
		}
		for _, r := range name {
			if !unicode.IsPrint(r) && r != ' ' {
				return
			}
		}
		want := strings.Join(strings.Fields(name), " ")
		if strings.Trim(want, `"' `) != want || strings.Contains(want, `\`) {
			return // quotes around or backslashes in a name are read leniently
		}
		s := (&mail.Address{Name: name, Address: local + "@" + domain}).String()
		a, ok := parseAddressLenient(s)
		if !ok || a.Email != local+"@"+domain || a.Name != want {
			t.Fatalf("%q read as %q <%s> (%v), want %q <%s@%s>", s, a.Name, a.Email, ok, want, local, domain)
		}
	})
}

type mailAddress struct{ Name, Email string }

var atomRe = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9]+)*$`)

// FuzzNormalizeSubject: a summary is trimmed, has no token left and normalises to
// itself; keys are upper-case ASCII keys.
func FuzzNormalizeSubject(f *testing.F) {
	for _, s := range []string{
		"Re: [#AURAN1-70] x", "RE : TR: Fwd: [Fwd: Réf. : AW: tableau]", "[#[#AB-1]CD-2] x",
		"Re[2]: Re(3): Re^4: sujet AURAN1-3 et AURAN1-3, utf-8 covid-19", "回复：转发: 問題",
		strings.Repeat("Re: ", 60) + "boucle", "[#ſK-1] [#\u212aEY-2]", "[#\u212aEY-2] x", "[#\u3000AB-1] x", "\xff\x00 [# ab-12 ]",
	} {
		f.Add(s)
	}
	for _, v := range headerValues(corpusMessages(), "Subject") {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		summary, key, bare := normalizeSubject(s)
		if summary != strings.TrimSpace(summary) {
			t.Fatalf("%q: summary %q not trimmed", s, summary)
		}
		if key != "" && !keyRe.MatchString(key) {
			t.Fatalf("%q: thread key %q", s, key)
		}
		seen := map[string]bool{}
		for _, k := range bare {
			if !keyRe.MatchString(k) || k == key || seen[k] {
				t.Fatalf("%q: bare keys %q (thread key %q)", s, bare, key)
			}
			seen[k] = true
		}
		again, key2, _ := normalizeSubject(summary)
		if again != summary || key2 != "" {
			t.Fatalf("%q: summary %q normalises again to %q (key %q)", s, summary, again, key2)
		}
	})
}

var keyRe = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}-[0-9]+$`)

// FuzzJoinFields: joinFields is strings.Join(strings.Fields(s), sep).
func FuzzJoinFields(f *testing.F) {
	for _, s := range []string{"", " ", "a", "a b", " a", "a ", "a  b", "a\tb", "a\u00a0b", "a\u3000b", "a\x85b", "\xc2\x85",
		"\xff \xfe", "Re: [#AB-1]  x", "a\vb", "é è"} {
		f.Add(s, " ")
		f.Add(s, "")
	}
	for _, v := range headerValues(corpusMessages(), "Subject", "From", "To", "Message-Id") {
		f.Add(v, " ")
	}
	f.Fuzz(func(t *testing.T, s, sep string) {
		if got, want := joinFields(s, sep), strings.Join(strings.Fields(s), sep); got != want {
			t.Fatalf("joinFields(%q, %q) = %q, want %q", s, sep, got, want)
		}
	})
}

// TestParseMemo: what the memo of one message answers is what the parsers answer,
// whatever fallback charset each caller gives for the same value.
func TestParseMemo(t *testing.T) {
	values := []string{"", "text/plain; charset=UTF-8; format=flowed", "text/plain; name=\"caf\xe9.txt\"",
		"attachment; filename*=UTF-8''caf%C3%A9.txt", "attachment; filename*0*=''caf%E9; filename*1=.txt",
		"application/pdf; name==?utf-8?q?caf=C3=A9?=.pdf", "text/plain; charset=\"iso-8859-1\"", "inline; filename=\"\xe9t\xe9.png\""}
	values = append(values, headerValues(corpusMessages(), "Content-Type", "Content-Disposition")...)
	fallbacks := []string{"", "utf-8", "iso-8859-1", "windows-1252", "utf-16le", "utf-7", "shift_jis", "koi8-r"}
	for _, v := range values {
		var m parseMemo
		for _, fb := range fallbacks {
			mt, params := m.mediaHeader(v, fb)
			wmt, wparams := parseMediaHeader(v, fb)
			if mt != wmt || !reflect.DeepEqual(params, wparams) {
				t.Fatalf("mediaHeader(%q, %q) = %q %q, parseMediaHeader says %q %q", v, fb, mt, params, wmt, wparams)
			}
		}
	}
	for _, v := range headerValues(corpusMessages(), "From", "To", "Sender") {
		var m parseMemo
		for range 2 {
			if got, want := m.addressList(v), parseAddressListLenient(v); !reflect.DeepEqual(got, want) {
				t.Fatalf("addressList(%q) = %v, want %v", v, got, want)
			}
		}
	}
}
