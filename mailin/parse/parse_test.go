package parse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

func parseFixture(t *testing.T, name string, opt Options) *ticket.Inbound {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", name))
	if err != nil {
		t.Fatal(err)
	}
	in, err := Message(context.Background(), raw, HashOnly{}, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return in
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestParseLatin1Reply(t *testing.T) {
	in := parseFixture(t, "latin1_body.eml", Options{})
	if in.From != (ticket.Address{Name: "René Dupré", Email: "rene@example.fr"}) {
		t.Errorf("From = %+v", in.From)
	}
	if in.Subject != "Re: Problème d'accès [#AURAN1-13]" || in.Summary != "Problème d'accès" || in.ThreadKey != "AURAN1-13" {
		t.Errorf("subject %q summary %q key %q", in.Subject, in.Summary, in.ThreadKey)
	}
	if in.MessageID != "abc@example.fr" || len(in.References) != 2 || in.InReplyTo[0] != "x1@guichet" {
		t.Errorf("ids %q %q %q", in.MessageID, in.InReplyTo, in.References)
	}
	if !strings.Contains(in.Text, "le problème persiste") || in.Visible != "Bonjour, le problème persiste." {
		t.Errorf("text %q visible %q", in.Text, in.Visible)
	}
	if in.Date.IsZero() || in.Automatic || in.HTML != "" {
		t.Errorf("date %v automatic %v html %q", in.Date, in.Automatic, in.HTML)
	}
}

func TestParseRFC2231Filename(t *testing.T) {
	in := parseFixture(t, "rfc2231.eml", Options{})
	if in.Subject != "été folded" {
		t.Errorf("subject %q", in.Subject)
	}
	if len(in.Attachments) != 1 {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	a := in.Attachments[0]
	if a.Filename != "résumé.pdf" || a.ContentType != "application/pdf" || a.Size != 13 || a.SHA256 != sha("%PDF-1.4 test") || a.Inline {
		t.Errorf("attachment %+v", a)
	}
}

func TestParseHTMLOnly(t *testing.T) {
	in := parseFixture(t, "html_only.eml", Options{})
	if in.Text != "Hello & welcome\n\n- one\n- two\n\nline\nbreak" {
		t.Errorf("text %q", in.Text)
	}
	if strings.Contains(in.HTML, "script") || strings.Contains(in.HTML, "alert") || strings.Contains(in.HTML, "tracker.example") {
		t.Errorf("html not sanitised: %q", in.HTML)
	}
	if !strings.Contains(in.HTML, `src="cid:logo@x"`) {
		t.Errorf("cid image lost: %q", in.HTML)
	}
}

func TestParseInlineImageWithoutDisposition(t *testing.T) {
	in := parseFixture(t, "inline_image.eml", Options{})
	if len(in.Attachments) != 1 {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	a := in.Attachments[0]
	if !a.Inline || a.ContentID != "img1@x" || a.ContentType != "image/png" || a.Filename != "attachment.png" || a.Size == 0 {
		t.Errorf("attachment %+v", a)
	}
}

func TestParseForward(t *testing.T) {
	in := parseFixture(t, "forward.eml", Options{})
	if len(in.Attachments) != 1 || in.Attachments[0].Filename != "Original subject.eml" || in.Attachments[0].ContentType != "message/rfc822" {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	raw := "From: e@example.com\nSubject: Original subject\nMessage-ID: <orig@example.com>\n\nOriginal body text"
	if in.Attachments[0].SHA256 != sha(raw) {
		t.Errorf("eml hash: stored bytes differ from the part (size %d)", in.Attachments[0].Size)
	}
	if !strings.Contains(in.Text, "Original body text") || !strings.HasPrefix(in.Text, "see below") {
		t.Errorf("text %q", in.Text)
	}
	if in.Summary != "original" {
		t.Errorf("summary %q", in.Summary)
	}
}

func TestParseDSN(t *testing.T) {
	in := parseFixture(t, "dsn.eml", Options{})
	if !in.Automatic || in.AutoReason != "dsn" {
		t.Errorf("automatic %v %q", in.Automatic, in.AutoReason)
	}
	b := in.Bounce
	if b == nil || !b.Permanent || b.Status != "5.1.1" || len(b.Recipients) != 1 || b.Recipients[0] != "gone@example.net" ||
		b.OriginalMessageID != "out-1@guichet.example.org" {
		t.Fatalf("bounce %+v", b)
	}
	if !strings.Contains(in.Text, "could not be delivered") {
		t.Errorf("text %q", in.Text)
	}
}

func TestParseBrokenBase64(t *testing.T) {
	in := parseFixture(t, "broken_base64.eml", Options{})
	if len(in.Attachments) != 1 || in.Attachments[0].Size == 0 {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	if len(in.Warnings) == 0 || in.Text != "body ok" {
		t.Errorf("warnings %q text %q", in.Warnings, in.Text)
	}
}

func TestParseUnknownCharset(t *testing.T) {
	in := parseFixture(t, "unknown_charset.eml", Options{})
	if in.Text != "café ok" || len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0], "x-klingon") {
		t.Errorf("text %q warnings %q", in.Text, in.Warnings)
	}
}

func TestParseDepthCap(t *testing.T) {
	in := parseFixture(t, "deep.eml", Options{MaxDepth: 20})
	found := false
	for _, w := range in.Warnings {
		found = found || strings.Contains(w, "deeper than 20")
	}
	if !found || strings.Contains(in.Text, "deep text") {
		t.Errorf("warnings %q text %q", in.Warnings, in.Text)
	}
	in = parseFixture(t, "deep.eml", Options{MaxDepth: 30})
	if in.Text != "deep text" {
		t.Errorf("with MaxDepth 30: text %q warnings %q", in.Text, in.Warnings)
	}
}

func TestParseUUEncoded(t *testing.T) {
	in := parseFixture(t, "uuencode.eml", Options{})
	if len(in.Attachments) != 1 || in.Attachments[0].Filename != "hello.txt" || in.Attachments[0].SHA256 != sha("hello") {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	if in.Text != "See file\nbye" {
		t.Errorf("text %q", in.Text)
	}
}

func TestParseNoHeader(t *testing.T) {
	for _, raw := range []string{"", "\n\nbody only", " leading space\n\nx"} {
		if _, err := Message(context.Background(), []byte(raw), HashOnly{}, Options{}); err == nil {
			t.Errorf("%q: no error", raw)
		}
	}
}

// TestParseNeverPanics feeds truncated and mangled versions of every fixture.
func TestParseNeverPanics(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for cut := 0; cut < len(raw); cut += 7 {
			_, _ = Message(context.Background(), raw[:cut], HashOnly{}, Options{})
			mangled := append([]byte(nil), raw...)
			mangled[cut] ^= 0x55
			_, _ = Message(context.Background(), mangled, HashOnly{}, Options{})
		}
	}
}

func TestParseAddressLenient(t *testing.T) {
	tests := []struct {
		in   string
		want ticket.Address
		ok   bool
	}{
		{"Jo <jo@example.com>", ticket.Address{Name: "Jo", Email: "jo@example.com"}, true},
		{"jo@example.com (Jo Smith)", ticket.Address{Name: "Jo Smith", Email: "jo@example.com"}, true},
		{`"=?utf-8?q?Ren=C3=A9?=" <r@example.com>`, ticket.Address{Name: "René", Email: "r@example.com"}, true},
		{"Smith, Jo <jo@example.com>", ticket.Address{Name: "Smith, Jo", Email: "jo@example.com"}, true},
		{"<power quadrant@example.com>", ticket.Address{Email: "powerquadrant@example.com"}, true},
		{"", ticket.Address{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseAddressLenient(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	l := parseAddressListLenient("a@x.org, Smith, Jo <jo@x.org>, undisclosed-recipients:;, <broken")
	if len(l) != 3 || l[1].Email != "jo@x.org" {
		t.Errorf("list %+v", l)
	}
}

// TestParseDateCommon checks the shortcut of parseDateLenient against mail.ParseDate:
// whenever it answers, ParseDate gives the same time, on the Date fields of the test
// data and the corpora and on variants of them.
func TestParseDateCommon(t *testing.T) {
	dates := []string{
		"Mon, 10 Mar 2025 08:00:00 +0100", "Mon, 10 Mar 2025 08:00:00 -0000", "Tue, 1 Apr 2025 23:59:59 +1400",
		"Mon, 10 Mar 2025 08:00 +0100", "10 Mar 2025 08:00:00 +0100", "Mon, 10 Mar 25 08:00:00 +0100",
		"Mon, 10 Mar 2025 08:00:00 GMT", "Mon, 10 Mar 2025 08:00:00 +0100 (CET)", "Fri, 31 Feb 2025 08:00:00 +0100",
		"Mon, 10 Mar 2025 08:00:00 +01000", "Mon, 10 Mar 2025 08:00:00 +01", "Mon, 10-Mar-2025 08:00:00 +0100",
		"Sun, 10 Mar 2025 08:00:00 +0100", "Mon,  10 Mar 2025 08:00:00 +0100", "Monday, 10 Mar 2025 08:00:00 +0100",
		"Mon, 10 Mar 2025 24:00:00 +0100", "Mon, 10 Mar 2025 08:00:60 +0100", "Mon, 10 Mar 2025 08:00:00 +2500", "",
	}
	var roots []string
	for _, m := range append(corpusMessages(), corpusSeeds(".eml", ".msg")...) {
		roots = append(roots, string(m))
	}
	_ = filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil {
				roots = append(roots, string(b))
			}
		}
		return nil
	})
	dates = append(dates, headerValues(stringsToBytes(roots), "Date", "Resent-Date")...)
	for _, d := range dates[:len(dates):len(dates)] {
		dates = append(dates, strings.ToUpper(d), strings.ToLower(d), " "+d, d+" ", strings.Replace(d, "+", "-", 1),
			strings.Replace(d, " ", "\r\n ", 1), strings.Replace(d, ",", "", 1))
	}
	fast := 0
	for _, d := range dates {
		got, ok := parseDateCommon(strings.TrimSpace(d))
		if !ok {
			continue
		}
		fast++
		want, err := mail.ParseDate(strings.TrimSpace(d))
		if err != nil || !got.Equal(want) || got.Location().String() != want.Location().String() || got.String() != want.String() {
			t.Errorf("parseDateCommon(%q) = %v, mail.ParseDate says %v, %v", d, got, want, err)
		}
	}
	if fast < 10 {
		t.Errorf("the shortcut read only %d dates of %d: the check tests little", fast, len(dates))
	}
	t.Logf("%d of %d dates read by the shortcut", fast, len(dates))
}

func stringsToBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
