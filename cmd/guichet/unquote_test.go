package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// TestUnquoter: a sent mail is rendered again and its quote found; a mail that cannot
// be rendered, or templates that cannot be read, leave the generic rules (false).
func TestUnquoter(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sent := ticket.OutboxMail{Kind: ticket.MailConfirmation, TicketKey: "AURAN1-7", Lang: "fr", To: ticket.Address{Name: "Jeanne", Email: "jeanne@ecole.test"},
		Data: ticket.MailData{Ticket: ticket.TicketView{Key: "AURAN1-7", Summary: "Wifi en panne", Status: ticket.StatusNew}, DeskName: "Assistance ENT", Link: "http://127.0.0.1:8080/requests/AURAN1-7"}}
	tpl, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.RenderMail(&sent)
	if err != nil {
		t.Fatal(err)
	}
	reply := "Toujours rien ce matin.\n\n" + strings.ReplaceAll(r.Text, "\n", "\n> ")
	u := &unquoter{log: log}
	if got, ok := u.unquote(reply, []ticket.OutboxMail{sent}); !ok || got != "Toujours rien ce matin." {
		t.Errorf("unquote = %q, %v", got, ok)
	}
	broken := sent
	broken.Kind = "no_such_kind"
	if got, ok := u.unquote(reply, []ticket.OutboxMail{broken}); ok {
		t.Errorf("unrenderable mail: unquote = %q, true", got)
	}
	bad := &unquoter{dir: filepath.Join(t.TempDir(), "missing"), log: log}
	if got, ok := bad.unquote(reply, []ticket.OutboxMail{sent}); ok {
		t.Errorf("unreadable templates: unquote = %q, true", got)
	}
}
