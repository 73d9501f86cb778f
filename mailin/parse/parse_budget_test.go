package parse

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestTextBudget: the text read from one message is bounded as a whole, across its
// parts: past maxTextBytes the rest is cut, with a warning, and files still go on being
// stored after it.
func TestTextBudget(t *testing.T) {
	line := "Une ligne du texte visible, assez longue pour en faire beaucoup.\r\n" // 66 bytes
	part := func(n int) string {
		return "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat(line, n) + "\r\n"
	}
	file := "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n"
	for _, c := range []struct {
		name      string
		body      string
		truncated bool
	}{
		{"one small part", part(100), false},
		{"two parts within the budget", part(7000) + part(7000), false},
		{"one part over", part(maxTextBytes/66 + 100), true},
		{"two parts over together", part(maxTextBytes/66/2+100) + part(maxTextBytes/66/2+100), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := "From: a@ecole.test\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" + c.body + file + "--b--\r\n"
			in, err := Message(context.Background(), []byte(raw), HashOnly{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(in.Warnings, "\n"), "truncated")
			if warned != c.truncated {
				t.Fatalf("truncation warning %v, want %v: %q", warned, c.truncated, in.Warnings)
			}
			if len(in.Text) > maxTextBytes {
				t.Fatalf("%d bytes of text, over %d", len(in.Text), maxTextBytes)
			}
			if c.truncated && len(in.Text) < maxTextBytes*9/10 {
				t.Fatalf("only %d bytes of text kept", len(in.Text))
			}
			if len(in.Attachments) != 1 || in.Attachments[0].Filename != "a.pdf" {
				t.Fatalf("attachments after the text: %+v", in.Attachments)
			}
		})
	}
}

// TestMessageAtSameAsMessage: every fixture read in pieces (MessageAt) gives what it
// gives read whole (Message), with an mbox line in front too.
func TestMessageAtSameAsMessage(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{raw, append([]byte("From x@y Mon Dec  7 10:00:00 2026\n"), raw...)} {
			opt := Options{AuthServID: "mx.guichet.test", Channel: "ingest"}
			whole, errW := Message(context.Background(), in, HashOnly{}, opt)
			pieces, errP := MessageAt(context.Background(), bytes.NewReader(in), int64(len(in)), HashOnly{}, opt)
			if (errW == nil) != (errP == nil) || !reflect.DeepEqual(whole, pieces) {
				t.Errorf("%s: in pieces %+v (%v), whole %+v (%v)", filepath.Base(f), pieces, errP, whole, errW)
			}
		}
	}
}
