package parse

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestParseCutOffPart: a message that ends inside a part (no closing boundary) keeps the
// part as received, flagged truncated, whatever the part (a file, an attached message);
// only the BlobWriter's own failure is ErrStore.
func TestParseCutOffPart(t *testing.T) {
	head := "From: a@b.test\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\ntext\r\n--X\r\n"
	for name, c := range map[string]struct {
		tail, file string
		size       int64
	}{
		"file":    {"Content-Type: image/png; name=a.png\r\n\r\nrawbytes\r\n", "a.png", 8},
		"base64":  {"Content-Type: image/png; name=a.png\r\nContent-Transfer-Encoding: base64\r\n\r\ncmF3Ynl0ZXM=\r\n", "a.png", 8},
		"message": {"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhello\r\n", "inner.eml", 23},
	} {
		raw := []byte(head + c.tail)
		in, err := Message(context.Background(), raw, HashOnly{}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(in.Text, "text") || len(in.Attachments) != 1 {
			t.Fatalf("%s: text %q, attachments %+v", name, in.Text, in.Attachments)
		}
		a := in.Attachments[0]
		if a.Filename != c.file || a.Size != c.size || !a.Truncated {
			t.Errorf("%s: attachment %+v", name, a)
		}
		if _, err := Message(context.Background(), raw, failingBlobs{}, Options{}); !errors.Is(err, ErrStore) {
			t.Errorf("%s: a failing BlobWriter gives %v, want ErrStore", name, err)
		}
		whole, err := Message(context.Background(), append(raw, "--X--\r\n"...), HashOnly{}, Options{})
		if err != nil || len(whole.Attachments) != 1 || whole.Attachments[0].Truncated {
			t.Errorf("%s: the whole message: %v %+v", name, err, whole.Attachments)
		}
	}
}

// TestParseEmptyMediaType: "multipart/" is read as multipart/mixed, "/0" as text.
func TestParseEmptyMediaType(t *testing.T) {
	raw := "Content-Type: multipart/; boundary=R\r\n\r\n--R\r\nContent-Type: /0\r\n\r\nbonjour\r\n--R--\r\n"
	in, err := Message(context.Background(), []byte(raw), HashOnly{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Text != "bonjour" || len(in.Attachments) != 0 {
		t.Fatalf("text %q, attachments %+v", in.Text, in.Attachments)
	}
}

// unflowRef is unflow as it was written first, with the lines of the result apart: the
// reference the faster one must agree with.
func unflowRef(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var out []string
	var cur strings.Builder
	curDepth := -1
	flush := func() {
		if curDepth >= 0 {
			out = append(out, strings.Repeat(">", curDepth)+cur.String())
		}
		cur.Reset()
		curDepth = -1
	}
	for _, l := range lines {
		depth := 0
		for depth < len(l) && l[depth] == '>' {
			depth++
		}
		body := l[depth:]
		body = strings.TrimPrefix(body, " ") // space-stuffing
		if depth > 0 {
			body = " " + body
		}
		if curDepth >= 0 && depth != curDepth {
			flush()
		}
		if curDepth < 0 {
			curDepth = depth
		} else if depth > 0 {
			body = strings.TrimPrefix(body, " ")
		}
		soft := strings.HasSuffix(body, " ") && l != "-- "
		if soft && delsp {
			body = body[:len(body)-1]
		}
		cur.WriteString(body)
		if !soft {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

// FuzzUnflow: unflow joins every text as unflowRef does, with and without DelSp.
func FuzzUnflow(f *testing.F) {
	for _, s := range []string{
		"", "\n", " ", "a \nb", "a \n", "> a \n> b\n>> c \n> d", ">\n> \n>  \n> x", "-- \nsig", "a  \n b \n\nc",
		"> a \nb \nc", ">", "> ", ">> ", " > x", "a\r\nb \r\nc", "> \n> \n", "x \n> y \n> \nz",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	for _, b := range corpusSeeds(".txt", ".eml") {
		f.Add(strings.ReplaceAll(string(b), "\r\n", "\n"), false)
	}
	f.Fuzz(func(t *testing.T, s string, delsp bool) {
		if got, want := unflow(s, delsp), unflowRef(s, delsp); got != want {
			t.Fatalf("unflow(%q, %v) = %q, the reference says %q", s, delsp, got, want)
		}
	})
}
