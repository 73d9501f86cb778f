package parse

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestFirstCharset(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"", ""},
		{"Subject: x\r\n\r\nno parameter here = at all", ""},
		{"Content-Type: text/plain; charset=ISO-8859-1\r\n", "iso-8859-1"},
		{"Content-Type: text/plain; CHARSET=\"Windows-1252\"\r\n", "windows-1252"},
		{"Content-Type: text/plain; Charset='koi8-r'\r\n", "koi8-r"},
		{"charset=iso-8859-15", "iso-8859-15"}, // at the very start
		{"=charset=big5", "big5"},
		{"harset=iso-8859-1", ""}, // too short to be the key
		{"Content-Type: text/plain; charset=utf-8\r\n\r\n--b\r\nContent-Type: text/html; charset=us-ascii\r\n" +
			"--b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n", "iso-8859-2"}, // UTF-8 and ASCII are skipped
		{"a=b; c=d; e==f; charset=", ""},           // named but empty
		{"QP=C3=A9 =\r\ncharset=gb2312", "gb2312"}, // after many "="
		{"Content-Type: text/plain; charset=" + string(make([]byte, 3)), ""},
	} {
		if got := firstCharset([]byte(c.raw)); got != c.want {
			t.Errorf("firstCharset(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}

// TestFirstCharsetAt: read in pieces, the first charset is the same as over the whole,
// wherever it falls against the pieces' edges.
func TestFirstCharsetAt(t *testing.T) {
	filler := strings.Repeat("QP=C3=A9 a=b; ", charsetChunk/7+10)
	for _, at := range []int{0, 5, charsetChunk - 40, charsetChunk - 20, charsetChunk - 8, charsetChunk - 1, charsetChunk, charsetChunk + 3, 2*charsetChunk - 12} {
		for _, tail := range []string{"", " charset=iso-8859-1 then charset=koi8-r"} {
			raw := []byte(filler[:at] + "Content-Type: text/plain; charset=\"windows-1252\"\r\n" + filler + tail)
			want := firstCharset(raw)
			if want != "windows-1252" {
				t.Fatalf("at %d: whole gives %q", at, want)
			}
			if got := firstCharsetAt(bytes.NewReader(raw), int64(len(raw))); got != want {
				t.Errorf("at %d: in pieces %q, whole %q", at, got, want)
			}
		}
	}
	raw := []byte(filler + filler)
	if got := firstCharsetAt(bytes.NewReader(raw), int64(len(raw))); got != "" {
		t.Errorf("none: got %q", got)
	}
}

// TestMessageAtHeaderEdges: the header read in pieces and an mbox line in front are
// read as Message reads them whole.
func TestMessageAtHeaderEdges(t *testing.T) {
	hdr := "From: Jeanne <jeanne@ecole.test>\r\nSubject: gros fichier\r\n" +
		"Authentication-Results: mx.test; dkim=pass header.d=ecole.test\r\n" +
		"X-Long: " + strings.Repeat("x", 40<<10) + "\r\n\r\n"
	raw := []byte("\r\nFrom jeanne@ecole.test Mon Dec  7 10:00:00 2026\r\n" + hdr + strings.Repeat("corps du message\r\n", 20000))
	opt := Options{AuthServID: "mx.test", Channel: "ingest"}
	in, err := MessageAt(context.Background(), bytes.NewReader(raw), int64(len(raw)), HashOnly{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if in.Subject != "gros fichier" || in.From.Email != "jeanne@ecole.test" || !strings.HasPrefix(in.Text, "corps du message") {
		t.Fatalf("read %q from %q, text %.40q", in.Subject, in.From.Email, in.Text)
	}
	if in.Auth.DKIM != "pass" {
		t.Fatalf("auth from the header read in pieces: %+v", in.Auth)
	}
	if got := headerBytes(bytes.NewReader([]byte(hdr + "body"))); string(got) != hdr {
		t.Fatalf("headerBytes: %d bytes, want %d", len(got), len(hdr))
	}
}

// FuzzConvertText: convertText is convertCharset with CRLF made LF, whatever the charset
// and the bytes (and it may change only its own copy of them).
func FuzzConvertText(f *testing.F) {
	for _, cs := range []string{"", "UTF-8", " \"utf-8\" ", "us-ascii", "x-unknown", "iso-8859-1", "windows-1252", "utf-16le", "utf-7", "iso-2022-jp", "shift_jis", "nonsense"} {
		for _, s := range []string{"", "a\r\nb", "\r\r\n\r", "é\r\n\xe9\r\n", "\xc3\r\n\xa9", "+AOk-\r\n", "a\x00\r\x00\n\x00", "\r\n\r\n", "\x1b$B$3\x1b(B\r\n"} {
			f.Add(cs, []byte(s))
		}
	}
	for _, b := range corpusSeeds(".txt") {
		f.Add("utf-8", b)
	}
	f.Fuzz(func(t *testing.T, cs string, b []byte) {
		want, wantKnown := convertCharset(cs, b)
		want = strings.ReplaceAll(want, "\r\n", "\n")
		got, known := convertText(cs, append([]byte(nil), b...))
		if got != want || known != wantKnown {
			t.Fatalf("convertText(%q, %q) = %q, %v; convertCharset and ReplaceAll say %q, %v", cs, b, got, known, want, wantKnown)
		}
	})
}
