package parse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/guichet/guichet/ticket"
)

// FuzzParse walks any message with a BlobWriter that cannot fail: Message must then never
// fail (but for a message without a header), never stop on a panic, and give text that
// is valid UTF-8, a visible part made of the text's lines, and attachments that name
// their content and are no bigger than the message.
func FuzzParse(f *testing.F) {
	for _, c := range issueCases {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, b := range corpusMessages() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := Message(context.Background(), raw, HashOnly{}, Options{})
		if errors.Is(err, ErrNoHeader) {
			return
		}
		if err != nil {
			t.Fatalf("Message failed with a BlobWriter that cannot fail: %v", err)
		}
		for _, w := range in.Warnings {
			if strings.HasPrefix(w, "parser stopped early") {
				t.Fatalf("Message panicked: %s", w)
			}
		}
		checkUTF8(t, map[string]string{"subject": in.Subject, "summary": in.Summary, "text": in.Text,
			"visible": in.Visible, "html": in.HTML, "from name": in.From.Name, "from address": in.From.Email})
		for _, l := range [][]ticket.Address{in.To, in.Cc, in.ReplyTo} {
			for _, a := range l {
				checkUTF8(t, map[string]string{"name": a.Name, "address": a.Email})
			}
		}
		// The visible part is made of lines of the text, or, when a client's HTML quote
		// structure decided it (visibleFromHTML), of the HTML part read as text, which
		// may differ from the text/plain part (another wording, no-break spaces).
		htmlText := ""
		if in.HTML != "" {
			htmlText = htmlToText(in.HTML)
		}
		for _, l := range strings.Split(in.Visible, "\n") {
			if !strings.Contains(in.Text, l) && !strings.Contains(htmlText, l) {
				t.Fatalf("visible line %q is in neither the text %q nor the HTML's text %q", l, in.Text, htmlText)
			}
		}
		for _, a := range in.Attachments {
			checkUTF8(t, map[string]string{"filename": a.Filename})
			if a.Size > int64(len(raw)) {
				t.Fatalf("attachment %q of %d bytes from a %d-byte message", a.Filename, a.Size, len(raw))
			}
			if _, err := hex.DecodeString(a.SHA256); err != nil || len(a.SHA256) != 64 || a.Size < 0 {
				t.Fatalf("attachment %+v", a)
			}
			if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\") {
				t.Fatalf("attachment file name %q", a.Filename)
			}
		}
	})
}

// checkUTF8 fails t for any field that is not valid UTF-8.
func checkUTF8(t *testing.T, fields map[string]string) {
	t.Helper()
	for k, v := range fields {
		if !utf8.ValidString(v) {
			t.Fatalf("%s is not valid UTF-8: %q", k, v)
		}
	}
}

// FuzzTransferDecode: the base64 and quoted-printable decoders give back what the
// standard encoders wrote, and on any input give no more bytes than they read.
func FuzzTransferDecode(f *testing.F) {
	f.Add([]byte("Bonjour, ça va ?\r\n=20 \x00\xff"), []byte("SGVsbG8=\r\nV29y bGQ=\r\n!!"))
	f.Add([]byte{}, []byte("=\r\n=3D=4\r\n=C3=A9  \r\n"))
	f.Fuzz(func(t *testing.T, data, junk []byte) {
		enc := base64.StdEncoding.EncodeToString(data)
		var wrapped strings.Builder
		for len(enc) > 76 {
			wrapped.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		wrapped.WriteString(enc)
		got, broken := decodeAll(t, "base64", []byte(wrapped.String()))
		if !bytes.Equal(got, data) || broken {
			t.Fatalf("base64 of %q decodes to %q (broken %v)", data, got, broken)
		}
		var qp bytes.Buffer
		qw := quotedprintable.NewWriter(&qp)
		qw.Binary = true
		_, _ = qw.Write(data)
		_ = qw.Close()
		if got, _ := decodeAll(t, "quoted-printable", qp.Bytes()); !bytes.Equal(got, data) {
			t.Fatalf("quoted-printable %q of %q decodes to %q", qp.Bytes(), data, got)
		}
		for _, enc := range []string{"base64", "quoted-printable", "x-uuencode"} {
			if got, _ := decodeAll(t, enc, junk); len(got) > len(junk) {
				t.Fatalf("%s: %d bytes out of %d", enc, len(got), len(junk))
			}
		}
	})
}

func decodeAll(t *testing.T, enc string, b []byte) ([]byte, bool) {
	t.Helper()
	d, _ := newTransferDecoder(enc, bytes.NewReader(b), int64(len(b)))
	out, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("%s: reading from memory failed: %v", enc, err)
	}
	return out, d.broken()
}

// FuzzUU: a uuencoded file in a text body comes out as an attachment with its exact
// content, the text keeps its other lines; on any text, the lines kept are lines of the
// text, in order.
func FuzzUU(f *testing.F) {
	f.Add([]byte("Cat"), "photo.jpg", "begin 644 x\nM86)C\n`\nend\n")
	f.Add(bytes.Repeat([]byte{0, 0xff, '\n'}, 40), "a b.bin", "begin 0644 y\n#86)C\nend")
	f.Fuzz(func(t *testing.T, data []byte, name, text string) {
		w := &walker{ctx: context.Background(), blobs: HashOnly{}, opt: Options{}.withDefaults()}
		name = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return -1
			}
			return r
		}, name))
		if name != "" {
			body := "avant\nbegin 644 " + name + "\n" + uuencode(data) + "`\nend\naprès"
			if got := w.extractUU(body); got != "avant\naprès" {
				t.Fatalf("text left: %q", got)
			}
			sum := sha256.Sum256(data)
			if len(w.attachments) != 1 || w.attachments[0].Size != int64(len(data)) || w.attachments[0].SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("attachments %+v for %d bytes", w.attachments, len(data))
			}
		}
		w.attachments = nil
		left := w.extractUU(text)
		if left == "" {
			return
		}
		kept := strings.Split(left, "\n")
		in := strings.Split(text, "\n")
		j := 0
		for _, l := range kept {
			for j < len(in) && in[j] != l {
				j++
			}
			if j == len(in) {
				t.Fatalf("line %q is not a line of the text, in order", l)
			}
			j++
		}
	})
}

// uuencode writes data as uuencoded lines (45 bytes a line, "`" for zero).
func uuencode(data []byte) string {
	enc := func(v byte) byte {
		if v&0x3f == 0 {
			return '`'
		}
		return ' ' + v&0x3f
	}
	var b strings.Builder
	for len(data) > 0 {
		n := min(len(data), 45)
		b.WriteByte(enc(byte(n)))
		for i := 0; i < n; i += 3 {
			var q [3]byte
			copy(q[:], data[i:min(i+3, n)])
			b.Write([]byte{enc(q[0] >> 2), enc(q[0]<<4 | q[1]>>4), enc(q[1]<<2 | q[2]>>6), enc(q[2])})
		}
		b.WriteByte('\n')
		data = data[n:]
	}
	return b.String()
}

// appendQPLineRef is appendQPLine as it was first written, a byte at a time.
func appendQPLineRef(dst, line []byte) []byte {
	hardBreak := bytes.HasSuffix(line, []byte("\n"))
	line = bytes.TrimRight(line, "\r\n")
	trimmed := bytes.TrimRight(line, " \t")
	soft := bytes.HasSuffix(trimmed, []byte("="))
	if soft {
		line = trimmed[:len(trimmed)-1]
	} else if hardBreak {
		line = trimmed
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
			dst = append(dst, unhex(line[i+1])<<4|unhex(line[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	if hardBreak && !soft {
		dst = append(dst, '\n')
	}
	return dst
}

// FuzzQPDecoder: the quoted-printable decoder gives what decoding each line read by a
// 4 KB bufio.Reader with appendQPLineRef gives, also when it reads through the small
// reader of a small message, after its header.
func FuzzQPDecoder(f *testing.F) {
	for _, s := range []string{"", "=", "=\r\n", "a=3Db=3\r\n=C3=A9 \t\r\nx=\n=zz=4", strings.Repeat("a=C3=A9", 1000) + "\r\nfin=",
		"soft =\r\nbreak\r\n", "=4=41\n\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []byte
		src := bufio.NewReader(bytes.NewReader(b))
		for {
			line, err := src.ReadSlice('\n')
			want = appendQPLineRef(want, line)
			if err != nil && err != bufio.ErrBufferFull {
				break
			}
		}
		got, _ := decodeAll(t, "quoted-printable", b)
		if !bytes.Equal(got, want) {
			t.Fatalf("qp(%q) = %q, want %q", b, got, want)
		}
		msg := append([]byte("Content-Transfer-Encoding: quoted-printable\r\n\r\n"), b...)
		br := bufio.NewReaderSize(bytes.NewReader(msg), min(4096, max(16, len(msg)))) // as message makes it
		if _, err := br.ReadSlice('\n'); err != nil {
			t.Fatal(err)
		}
		if _, err := br.ReadSlice('\n'); err != nil {
			t.Fatal(err)
		}
		d, _ := newTransferDecoder("quoted-printable", br, int64(len(msg)))
		if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("qp(%q) through the message's reader = %q, %v; want %q", b, got, err, want)
		}
	})
}
