package mailout

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var fixedDate = time.Date(2026, 11, 28, 13, 21, 0, 0, time.FixedZone("CET", 3600))

func buildSample(t *testing.T, m ticket.OutboxMail, opt BuildOptions) []byte {
	t.Helper()
	r, err := mustTemplates(t).RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if opt.From == "" {
		opt.From = "support@localhost"
	}
	msg, err := Build(&m, r, opt)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func withAttachments() (ticket.OutboxMail, blobs) {
	m := sampleMail()
	m.Kind = ticket.MailAgentNew
	m.To = ticket.Address{Name: "Paul Agent", Email: "paul@support.example"}
	m.Data.Attachments = []ticket.Attachment{
		{Filename: "capture écran.png", ContentType: "image/png", Size: 8, SHA256: "aa"},
		{Filename: "journal.txt", ContentType: "text/plain", Size: 12, SHA256: "bb"},
	}
	return m, blobs{"aa": []byte("\x89PNG\r\n\x1a\n"), "bb": []byte("ligne 1\nfin\n")}
}

func TestBuildGolden(t *testing.T) {
	attach, b := withAttachments()
	tests := []struct {
		name string
		m    ticket.OutboxMail
		opt  BuildOptions
	}{
		{"confirmation", sampleMail(), BuildOptions{}},
		{"agent_new_attachments", attach, BuildOptions{Blobs: b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Date, tt.opt.Boundary = fixedDate, "b1"
			got := buildSample(t, tt.m, tt.opt)
			file := filepath.Join("testdata", "golden", tt.name+".eml")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (go test -update to accept):\n%s", file, got)
			}
		})
	}
}

func TestBuildParsesBack(t *testing.T) {
	m := sampleMail()
	r, err := mustTemplates(t).RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Build(&m, r, BuildOptions{From: "support@localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("\n")) && bytes.Count(raw, []byte("\r\n")) != bytes.Count(raw, []byte("\n")) {
		t.Error("bare LF in message")
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	check := func(key, want string) {
		t.Helper()
		if got := h.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	check("Message-Id", "<guichet.7.a1b2@localhost>")
	check("In-Reply-To", "<CAF00d@mail.ac-lyon.fr>")
	check("References", "<CAF00d@mail.ac-lyon.fr>")
	check("Auto-Submitted", "auto-replied")
	check("X-Auto-Response-Suppress", "All")
	check("X-Guichet-Loop", "support@localhost")
	check("Mime-Version", "1.0")
	if subj, _ := h.Subject(); subj != r.Subject {
		t.Errorf("subject = %q, want %q", subj, r.Subject)
	}
	if raw := h.Get("Subject"); !strings.Contains(raw, "=?utf-8?") {
		t.Errorf("subject not encoded: %q", raw)
	}
	from, _ := h.AddressList("From")
	if len(from) != 1 || from[0].Name != "Assistance ENT" || from[0].Address != "support@localhost" {
		t.Errorf("From = %v", from)
	}
	to, _ := h.AddressList("To")
	if len(to) != 1 || to[0].Name != "Élodie Martin" || to[0].Address != "elodie.martin@ac-lyon.fr" {
		t.Errorf("To = %v", to)
	}
	rt, _ := h.AddressList("Reply-To")
	if len(rt) != 1 || rt[0].Address != "support+AURAN1-13.k3j4h5@localhost" {
		t.Errorf("Reply-To = %v", rt)
	}
	if d, err := h.Date(); err != nil || d.IsZero() {
		t.Errorf("Date: %v %v", d, err)
	}
	if typ, _, _ := h.ContentType(); typ != "multipart/alternative" {
		t.Errorf("Content-Type = %s", typ)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ih, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			t.Fatalf("part is not inline: %T", p.Header)
		}
		typ, params, _ := ih.ContentType()
		if params["charset"] != "utf-8" {
			t.Errorf("%s charset = %q", typ, params["charset"])
		}
		body, _ := io.ReadAll(p.Body)
		parts = append(parts, typ)
		want := r.Text
		if typ == "text/html" {
			want = r.HTML
		}
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != want { // QP writes CRLF
			t.Errorf("%s part differs:\n%s", typ, body)
		}
	}
	if strings.Join(parts, ",") != "text/plain,text/html" {
		t.Errorf("parts = %v", parts)
	}
	if !bytes.Contains(raw, []byte("Content-Transfer-Encoding: quoted-printable")) {
		t.Error("parts are not quoted-printable")
	}
}

func TestBuildAttachments(t *testing.T) {
	m, b := withAttachments()
	raw := buildSample(t, m, BuildOptions{Blobs: b})
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if typ, _, _ := mr.Header.ContentType(); typ != "multipart/mixed" {
		t.Fatalf("Content-Type = %s", typ)
	}
	if mr.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", mr.Header.Get("Auto-Submitted"))
	}
	ps := readParts(t, mr)
	files := map[string]string{}
	for _, f := range ps.files {
		files[f.name] = f.body
	}
	if len(ps.inline) != 2 {
		t.Errorf("%d inline parts, want 2", len(ps.inline))
	}
	if files["capture écran.png"] != string(b["aa"]) || files["journal.txt"] != string(b["bb"]) {
		t.Errorf("attachments = %q", files)
	}
	if !bytes.Contains(raw, []byte("filename*=utf-8''capture%20%C3%A9cran.png")) {
		t.Error("non-ASCII file name not in RFC 2231 form")
	}
}

func TestBuildAgentCommentFrom(t *testing.T) {
	m := sampleMail()
	m.Kind = ticket.MailComment
	m.Data.Comment = &ticket.CommentView{
		Author:     ticket.Address{Name: "Paul Agent", Email: "paul@support.example"},
		AuthorRole: ticket.RoleAgent,
		Body:       "Bonjour",
		Visibility: ticket.Public,
		CreatedAt:  created,
	}
	raw := buildSample(t, m, BuildOptions{})
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	from, err := mr.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Paul Agent — Assistance ENT" {
		t.Errorf("From = %v, %v", from, err)
	}
	if mr.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", mr.Header.Get("Auto-Submitted"))
	}
}

// TestBuildNoHeaderInjection puts CR and LF everywhere a sender controls text.
func TestBuildNoHeaderInjection(t *testing.T) {
	m, b := withAttachments()
	m.Kind = ticket.MailComment
	m.To.Name = "Bob\r\nBcc: victim@example.com"
	m.Data.DeskName = "Desk\nX-Injected: desk"
	m.Data.Comment = &ticket.CommentView{
		Author:     ticket.Address{Name: "Eve\r\nX-Injected: author", Email: "eve@support.example"},
		AuthorRole: ticket.RoleAgent,
		Body:       "hi",
	}
	m.Data.Attachments[1].Filename = "a\r\nX-Injected: file.txt"
	r := templates.Rendered{Subject: "[#AURAN1-13] hello\r\nBcc: victim@example.com\r\n\r\nbody", Text: "t", HTML: "<p>h</p>"}
	raw, err := Build(&m, r, BuildOptions{From: "support@localhost", Blobs: b})
	if err != nil {
		t.Fatal(err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"Bcc", "X-Injected"} {
		if mr.Header.Has(key) {
			t.Errorf("header %s injected", key)
		}
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("X-Injected") != "" {
			t.Error("part header injected")
		}
	}
	if subj, _ := mr.Header.Subject(); strings.ContainsAny(subj, "\r\n") {
		t.Errorf("subject %q", subj)
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	r := templates.Rendered{Subject: "[#AURAN1-13] x", Text: "t", HTML: "h"}
	tests := []struct {
		name string
		edit func(*ticket.OutboxMail, *BuildOptions)
	}{
		{"no from", func(m *ticket.OutboxMail, o *BuildOptions) { o.From = "" }},
		{"bad to", func(m *ticket.OutboxMail, o *BuildOptions) { m.To.Email = "a@b.c\r\nBcc: d@e.f" }},
		{"named to", func(m *ticket.OutboxMail, o *BuildOptions) { m.To.Email = "Bob <a@b.c>" }},
		{"bad message id", func(m *ticket.OutboxMail, o *BuildOptions) { m.MessageID = "x@y>\r\nBcc: z" }},
		{"bad reference", func(m *ticket.OutboxMail, o *BuildOptions) { m.References = []string{"no-at"} }},
		{"bad reply-to", func(m *ticket.OutboxMail, o *BuildOptions) { m.ReplyTo = "x y@z" }},
		{"attachments without blobs", func(m *ticket.OutboxMail, o *BuildOptions) {
			m.Data.Attachments = []ticket.Attachment{{Filename: "a", SHA256: "aa"}}
		}},
		{"missing blob", func(m *ticket.OutboxMail, o *BuildOptions) {
			m.Data.Attachments = []ticket.Attachment{{Filename: "a", SHA256: "zz"}}
			o.Blobs = blobs{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMail()
			opt := BuildOptions{From: "support@localhost"}
			tt.edit(&m, &opt)
			_, err := Build(&m, r, opt)
			if err == nil {
				t.Fatal("no error")
			}
			if IsTemporary(err) {
				t.Errorf("error %v is temporary", err)
			}
		})
	}
	t.Run("blob read error is temporary", func(t *testing.T) {
		m := sampleMail()
		m.Data.Attachments = []ticket.Attachment{{Filename: "a", SHA256: "aa"}}
		_, err := Build(&m, r, BuildOptions{From: "support@localhost", Blobs: failingBlobs{}})
		if err == nil || !IsTemporary(err) {
			t.Errorf("err = %v", err)
		}
	})
}

type failingBlobs struct{}

func (failingBlobs) OpenBlob(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("disk on fire")
}
