package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/guichet/guichet/ticket"
)

// mailParts returns the text and HTML parts of a mail we sent.
func mailParts(t *testing.T, raw []byte) (text, html string) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return text, html
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			b, _ := io.ReadAll(p.Body)
			switch ct, _, _ := h.ContentType(); ct {
			case "text/plain":
				text = string(b)
			case "text/html":
				html = string(b)
			}
		}
	}
}

// rewrap re-flows text at width columns, as an Outlook-style client does with the mail
// it quotes, and drops the lines that contain drop.
func rewrap(text string, width int, drop string) string {
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		var line string
		for _, l := range strings.Split(para, "\n") {
			if drop != "" && strings.Contains(l, drop) {
				continue
			}
			for _, w := range strings.Fields(l) {
				if line != "" && len(line)+1+len(w) > width {
					out = append(out, line)
					line = ""
				}
				if line != "" {
					line += " "
				}
				line += w
			}
		}
		out = append(out, line, "")
	}
	return strings.Join(out, "\n")
}

// TestEndToEndOwnQuote: the confirmation goes out; the requester answers it quoting it
// with no attribution line and no quote marker (re-wrapped, a line dropped), then from
// an HTML client that pasted our HTML under the answer: each comment shows only the new
// text, and the stored mail keeps the quote. A quote of a mail we did not send is left
// to the generic rules.
func TestEndToEndOwnQuote(t *testing.T) {
	h := startHarness(t)
	first := "From: Jeanne Martin <jeanne@ecole.test>\nTo: support@localhost\nSubject: Imprimante en panne\nMessage-ID: <oq1@ecole.test>\n\nL'imprimante de la salle B ne répond plus.\n"
	if err := h.send("jeanne@ecole.test", first); err != nil {
		t.Fatal(err)
	}
	conf := mailTo(h.sink.WaitFor(2, 10*time.Second), "jeanne@ecole.test")
	if len(conf) != 1 {
		t.Fatalf("%d confirmations", len(conf))
	}
	ch := header(t, conf[0].Data)
	confID, _ := ch.MessageID()
	text, html := mailParts(t, conf[0].Data)
	if !strings.Contains(text, "Nous avons bien reçu") || !strings.Contains(html, "<") {
		t.Fatalf("confirmation parts: %q / %q", text, html)
	}
	head := "From: Jeanne Martin <jeanne@ecole.test>\nTo: support@localhost\nSubject: RE: [#AURAN1-1] Nous avons bien reçu votre requête\nIn-Reply-To: <" + confID + ">\nReferences: <oq1@ecole.test> <" + confID + ">\n"
	plain := head + "Message-ID: <oq2@ecole.test>\nContent-Type: text/plain; charset=utf-8\n\nC'est la salle B2, au premier étage.\n\n" + rewrap(text, 72, "Statut") + "\n"
	if err := h.send("jeanne@ecole.test", plain); err != nil {
		t.Fatal(err)
	}
	body := html
	if i := strings.Index(strings.ToLower(body), "<body"); i >= 0 {
		body = body[i:]
	}
	htmlReply := head + "Message-ID: <oq3@ecole.test>\nContent-Type: text/html; charset=utf-8\n\n<html><body><div>Et aussi la salle C.</div><div><br></div>" + body + "\n"
	if err := h.send("jeanne@ecole.test", htmlReply); err != nil {
		t.Fatal(err)
	}
	foreign := head + "Message-ID: <oq4@ecole.test>\nContent-Type: text/plain; charset=utf-8\n\nJe transfère l'avis du collègue.\n\nLe 27/11/2026 à 09:00, Paul <paul@ecole.test> a écrit :\n> L'imprimante de la salle D ne marche pas non plus.\n> Elle affiche une erreur de papier.\n> Merci de regarder.\n"
	if err := h.send("jeanne@ecole.test", foreign); err != nil {
		t.Fatal(err)
	}
	h.waitProcessed()
	tk := h.show("AURAN1-1")
	comments := tk["comments"].([]any)
	want := []string{"C'est la salle B2, au premier étage.", "Et aussi la salle C.", "Je transfère l'avis du collègue."}
	if len(comments) != len(want) {
		t.Fatalf("%d comments: %v", len(comments), comments)
	}
	db, _, err := ticket.Open(context.Background(), filepath.Join(h.dataDir, "guichet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, w := range want {
		c := comments[i].(map[string]any)
		if c["body"] != w {
			t.Errorf("comment %d: body %q, want %q", i, c["body"], w)
		}
		id, _ := c["inbound_id"].(float64)
		var raw []byte
		if err := db.Get(&raw, db.Rebind("SELECT raw FROM inbound_raw WHERE id = ?"), int64(id)); err != nil {
			t.Fatalf("comment %d: stored mail: %v", i, err)
		}
		if i < 2 && !bytes.Contains(raw, []byte("Nous avons bien re")) {
			t.Errorf("comment %d: the stored mail lost the quote", i)
		}
	}
}
