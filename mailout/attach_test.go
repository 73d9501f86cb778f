package mailout

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"github.com/guichet/guichet/ticket"
)

func TestSplitAttachments(t *testing.T) {
	files := []ticket.Attachment{{Filename: "a", Size: 4}, {Filename: "b", Size: 10}, {Filename: "c", Size: 3}, {Filename: "d", Size: 0}}
	for _, c := range []struct {
		budget       int64
		attach, left string
	}{
		{100, "a b c d", ""},
		{17, "a b c d", ""},
		{8, "a c d", "b"}, // b does not fit; c, after it, still does
		{3, "c d", "a b"},
		{-1, "", "a b c d"},
	} {
		at, lf := splitAttachments(files, c.budget)
		if names(at) != c.attach || names(lf) != c.left {
			t.Errorf("budget %d: attached %q, left %q; want %q and %q", c.budget, names(at), names(lf), c.attach, c.left)
		}
	}
}

func names(as []ticket.Attachment) string {
	var n []string
	for _, a := range as {
		n = append(n, a.Filename)
	}
	return strings.Join(n, " ")
}

// TestWorkerLeavesLargeFilesOut: files past the worker's budget are not attached but
// named in both bodies, with the ticket's page.
func TestWorkerLeavesLargeFilesOut(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 6000)
	m := sampleMail()
	m.ID = 1
	m.Kind = ticket.MailAgentNew
	m.ToRole = ticket.RoleAgent
	m.To = ticket.Address{Name: "Paul Agent", Email: "paul@support.example"}
	m.Data.Attachments = []ticket.Attachment{
		{Filename: "petit.txt", ContentType: "text/plain", Size: 12, SHA256: "aa"},
		{Filename: "vidéo.mp4", ContentType: "video/mp4", Size: int64(len(big)), SHA256: "bb"},
		{Filename: "journal.txt", ContentType: "text/plain", Size: 12, SHA256: "cc"},
	}
	q := &fakeQueue{}
	q.add(m)
	var sent []byte
	w, _ := newTestWorker(t, q, SenderFunc(func(_ context.Context, _ string, _ []string, msg []byte) error {
		sent = msg
		return nil
	}), func(o *Options) {
		o.Blobs = blobs{"aa": []byte("ligne 1\nfin\n"), "bb": big, "cc": []byte("ligne 2\nfin\n")}
		o.MaxAttachBytes = 1000
	})
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent == nil {
		t.Fatal("nothing sent")
	}
	r, err := mail.CreateReader(bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	ps := readParts(t, r)
	var files []string
	for _, f := range ps.files {
		files = append(files, f.name)
	}
	bodies := ps.inline
	if fmt.Sprint(files) != "[petit.txt journal.txt]" {
		t.Errorf("attached %v, want petit.txt and journal.txt", files)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d bodies, want text and HTML", len(bodies))
	}
	for _, b := range bodies {
		if !strings.Contains(b, "vidéo.mp4") || !strings.Contains(b, "trop volumineux pour l") || !strings.Contains(b, "petit.txt") {
			t.Errorf("body does not name the file left out:\n%s", b)
		}
	}
	if bytes.Contains(sent, []byte("eHh4eHh4")) { // base64 of "xxxxxx"
		t.Error("the large file was attached")
	}
}
