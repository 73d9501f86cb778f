package templates

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

// accountFixtures are the mails about no ticket: sign-in links and address
// confirmations. They carry a link and no [#KEY] token.
func accountFixtures() map[string]ticket.OutboxMail {
	mk := func(kind ticket.MailKind, to, link string) ticket.OutboxMail {
		return ticket.OutboxMail{
			ID: 2, Kind: kind, To: ticket.Address{Name: "Élodie Martin", Email: to}, ToRole: ticket.RoleCustomer,
			TimeZone: "Europe/Paris", MessageID: "account.1@localhost", CreatedAt: created,
			Data: ticket.MailData{Link: link, DeskName: "Assistance ENT"},
		}
	}
	return map[string]ticket.OutboxMail{
		"signin":          mk(ticket.MailSignIn, "elodie.martin@ac-lyon.fr", "http://127.0.0.1:8080/login/link?t=Zm9vYmFy"),
		"confirm_address": mk(ticket.MailConfirmAddress, "elodie@maison.example", "http://127.0.0.1:8080/profile/confirm?t=YmFyYmF6"),
	}
}

func TestAccountMailGolden(t *testing.T) {
	tm := mustNew(t, "")
	for name, m := range accountFixtures() {
		for _, lang := range Langs {
			t.Run(name+"."+lang, func(t *testing.T) {
				m.Lang = lang
				r, err := tm.RenderMail(&m)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(r.Subject, "[#") {
					t.Errorf("subject %q has a ticket token", r.Subject)
				}
				if !strings.Contains(r.Text, m.Data.Link) || !strings.Contains(r.HTML, `href="`+m.Data.Link+`"`) {
					t.Errorf("link missing:\n%s\n%s", r.Text, r.HTML)
				}
				for ext, got := range map[string]string{"subject": r.Subject + "\n", "txt": r.Text, "html": r.HTML} {
					golden(t, filepath.Join("testdata", "golden", name+"."+lang+"."+ext), got)
				}
			})
		}
	}
}

func TestAccountMailTexts(t *testing.T) {
	tm := mustNew(t, "")
	m := accountFixtures()["signin"]
	m.Lang = "fr"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	want := "Pour vous connecter au portail d'assistance, suivez ce lien (valable 15 minutes, une seule fois) :"
	if !strings.Contains(r.Text, want) || r.Subject != "Votre lien de connexion au portail d'assistance" {
		t.Errorf("French sign-in mail:\n%s\n%s", r.Subject, r.Text)
	}
	m.Data.Link = ""
	if _, err := tm.RenderMail(&m); err == nil {
		t.Error("a sign-in mail without a link rendered")
	}
	c := accountFixtures()["confirm_address"]
	c.Lang = "en"
	if r, err := tm.RenderMail(&c); err != nil || r.Subject != "Confirm your notification address" {
		t.Errorf("English confirmation: %q %v", r.Subject, err)
	}
}
