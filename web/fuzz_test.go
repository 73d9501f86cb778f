package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/guichet/guichet/ticket"
)

// deskOnly is the part of a Portal the form reads: the default desk.
type deskOnly struct{ Portal }

func (deskOnly) DefaultDesk() ticket.Desk { return ticket.Desk{Key: "AURAN1", Name: "Assistance ENT"} }

// FuzzRequestForm: whatever is posted, a field the form accepts holds what its rule
// says (a required text within its length, a valid UAI in upper case, an http(s) URL,
// a listed choice), and only files the portal itself signed come back as kept files.
func FuzzRequestForm(f *testing.F) {
	h := New(Options{Portal: deskOnly{}, Secret: []byte("fuzz secret"),
		Components: map[string][]string{"": {"ENT", "Messagerie"}}})
	kept := h.keepToken(ticket.Attachment{SHA256: strings.Repeat("ab", 32), Filename: "a.png", ContentType: "image/png", Size: 3})
	for _, s := range []string{
		url.Values{"summary": {"Objet"}, "uai": {"0690026d"}, "description": {"Texte\r\nligne"}, "url": {"https://ent.test/"},
			"components": {"ENT"}, "kept": {kept.Token, kept.Token + "x", "a.b"}}.Encode(),
		"summary=%20&uai=0690026E&url=javascript:alert(1)&academie=Mars&components=x&kept=..&caller_email=a%00@b",
		"uai=%EF%BC%90690026D&summary=" + strings.Repeat("é", 251) + "&url=http://&phone=%FF",
		"summary=a&summary=b&uai=06900%32%36D&description=%0D%0A&caller_email=%22a%20b%22%40c&caller_name=x",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, phone bool) {
		r := httptest.NewRequest(http.MethodPost, "/requests/new", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return // the handler answers 400
		}
		form := readRequestForm(r)
		bad := h.validate(form, "fr", phone)
		ok := func(field string) bool { _, b := bad[field]; return !b }
		if ok("summary") && (form.Summary == "" || utf8.RuneCountInString(form.Summary) > 250 || form.Summary != strings.TrimSpace(form.Summary)) {
			t.Fatalf("summary %q accepted", form.Summary)
		}
		if ok("description") && form.Description == "" {
			t.Fatal("empty description accepted")
		}
		if ok("uai") && (ticket.ValidateUAI(form.UAI) != nil || form.UAI != strings.ToUpper(form.UAI)) {
			t.Fatalf("UAI %q accepted", form.UAI)
		}
		if ok("url") && form.URL != "" {
			u, err := url.Parse(form.URL)
			if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
				t.Fatalf("URL %q accepted", form.URL)
			}
		}
		if ok("academie") && form.Academie != "" && !slices.Contains(h.opt.Academies, form.Academie) {
			t.Fatalf("académie %q accepted", form.Academie)
		}
		for _, c := range form.Components {
			if ok("components") && !slices.Contains(h.components(), c) {
				t.Fatalf("component %q accepted", c)
			}
		}
		if phone && ok("caller_email") && ticket.NormalizeEmail(form.CallerEmail) == "" {
			t.Fatalf("caller address %q accepted", form.CallerEmail)
		}
		for _, a := range h.keptFiles(r) {
			if !slices.Contains(r.PostForm["kept"], h.keepToken(a).Token) {
				t.Fatalf("kept file %+v was not signed by the portal", a)
			}
		}
	})
}

// FuzzUploadFilename: an uploaded file's name is a base name of at most 200 bytes of
// valid UTF-8, without control characters, quotes or path separators, never empty, "."
// or "..".
func FuzzUploadFilename(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", `C:\Users\x\"a".pdf`, "..", ".", "/", "a\x00b\r\n.txt", strings.Repeat("é", 150), "\xff\xfe.png", " \u202e gpj.exe "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := cleanFilename(name)
		if got == "" || got == "." || got == ".." || len(got) > 200 || !utf8.ValidString(got) ||
			strings.ContainsAny(got, `/\"`) || strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("cleanFilename(%q) = %q", name, got)
		}
	})
}

// FuzzSafeNext: whatever comes as next, the redirect stays on this site: "/" or a path
// that no browser reads as another host (no //, no backslash, no control character or
// space, which browsers drop or fold into slashes).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/requests/AURAN1-1?x=1", "//evil.test", "/\\evil.test", "/\t/evil.test", "https://evil.test",
		"/%2F/evil.test", "javascript:alert(1)", "/\x00", "/./../evil", "\xef\xbc\x8f\xef\xbc\x8fevil.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "/" {
			return
		}
		if got != next || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsRune(got, '\\') ||
			strings.IndexFunc(got, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 || !utf8.ValidString(got) {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if u, err := url.Parse(got); err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q: parses to host %q scheme %q (%v)", next, got, u.Host, u.Scheme, err)
		}
	})
}
