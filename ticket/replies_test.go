package ticket

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSaveReplyRules(t *testing.T) {
	ctx := context.Background()
	f := newRulesFixture(t, openSQLite(t), nil)
	jeanne, err := f.s.UserByEmail(ctx, "jeanne@ecole.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SaveReply(ctx, jeanne, SavedReply{Name: "x", BodyFR: "y"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a customer saved a reply: %v", err)
	}
	if _, err := f.s.SavedReplies(ctx, jeanne); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a customer listed saved replies: %v", err)
	}
	for _, tc := range []struct {
		r     SavedReply
		field string
	}{
		{SavedReply{Name: "", BodyFR: "x"}, "name"},
		{SavedReply{Name: "deux mots", BodyFR: "x"}, "name"},
		{SavedReply{Name: "-tiret", BodyFR: "x"}, "name"},
		{SavedReply{Name: strings.Repeat("a", 41), BodyFR: "x"}, "name"},
		{SavedReply{Name: "ok", BodyFR: "  "}, "body_fr"},
		{SavedReply{Name: "ok", BodyFR: "a\x00b"}, "body_fr"},
		{SavedReply{Name: "ok", BodyFR: strings.Repeat("a", replyBodyMax+1)}, "body_fr"},
		{SavedReply{Name: "ok", BodyFR: "x", BodyEN: strings.Repeat("a", replyBodyMax+1)}, "body_en"},
		{SavedReply{Name: "ok", Title: "deux\nlignes", BodyFR: "x"}, "title"},
	} {
		_, err := f.s.SaveReply(ctx, f.agent, tc.r)
		var fe *ReplyField
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveReply(%q, %q…): %v, want a refusal of %s", tc.r.Name, tc.r.BodyFR[:min(len(tc.r.BodyFR), 10)], err, tc.field)
		}
	}
	r, err := f.s.SaveReply(ctx, f.agent, SavedReply{Name: " MDP-Oublie ", Title: "Mot de passe oublié", BodyFR: "Bonjour {demandeur},\r\nvoici…", BodyEN: ""})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "mdp-oublie" || r.BodyFR != "Bonjour {demandeur},\nvoici…" || r.Body("en") != r.BodyFR {
		t.Fatalf("saved: %+v", r)
	}
	// Saving the name again replaces it.
	if _, err := f.s.SaveReply(ctx, f.agent, SavedReply{Name: "mdp-oublie", BodyFR: "Nouveau", BodyEN: "New"}); err != nil {
		t.Fatal(err)
	}
	list, err := f.s.SavedReplies(ctx, f.agent)
	if err != nil || len(list) != 1 || list[0].BodyFR != "Nouveau" || list[0].Body("en") != "New" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := f.s.DeleteReply(ctx, f.agent, "MDP-oublie"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteReply(ctx, f.agent, "mdp-oublie"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestReplyPlaceholders(t *testing.T) {
	p := ReplyPlaceholders{Requester: "Jeanne Martin", Key: "AURAN1-3", Summary: "Wifi", Agent: "Alice", Status: "En cours"}
	for in, want := range map[string]string{
		"Bonjour {demandeur},":                  "Bonjour Jeanne Martin,",
		"Hello {Requester}, about {key}":        "Hello Jeanne Martin, about AURAN1-3",
		"{clé} « {résumé} » ({statut}) {agent}": "AURAN1-3 « Wifi » (En cours) Alice",
		"{inconnu} {} {{key}} {cle":             "{inconnu} {} {AURAN1-3} {cle",
	} {
		if got := p.Fill(in); got != want {
			t.Errorf("Fill(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsTemplateLine(t *testing.T) {
	for line, want := range map[string]string{
		"#modele mdp":      "mdp",
		"  #modèle  mdp ":  "mdp",
		"#template mdp":    "mdp",
		"#MODELE: mdp":     "mdp",
		"#modele":          "",
		"#modele a b":      "",
		"voir #modele mdp": "",
	} {
		got, ok := IsTemplateLine(line)
		if got != want || ok != (want != "") {
			t.Errorf("IsTemplateLine(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

// TestSavedReplyByMail: "#modele NAME" in an agent's reply is replaced by the saved reply
// where the line stood, filled for the ticket, in the requester's language; commands
// around it still apply; an unknown name applies nothing and is answered to the agent.
func TestSavedReplyByMail(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRulesFixture(t, open(t), nil)
			if _, err := f.s.SaveReply(ctx, f.agent, SavedReply{Name: "redemarrer", BodyFR: "Bonjour {demandeur},\nredémarrez la borne ({cle}).", BodyEN: "Hello {requester},\nrestart the access point ({key})."}); err != nil {
				t.Fatal(err)
			}
			accept(t, f.s, f.agentReply("m1@support.test", "#modele redemarrer\n#statut in_progress\nCordialement,\nAlice"))
			d := f.detail(t)
			c := d.Comments[len(d.Comments)-1]
			want := "Bonjour Jeanne,\nredémarrez la borne (" + f.key + ").\nCordialement,\nAlice"
			if c.Body != want || c.Visibility != Public {
				t.Fatalf("comment %q, want %q", c.Body, want)
			}
			if d.Status != StatusInProgress {
				t.Fatalf("the command beside #modele was not applied: %s", d.Status)
			}
			// In the middle of the text, in English for a requester who reads English.
			if _, err := f.s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test", Name: "Jeanne", UAI: "0690026D", Lang: "en"}); err != nil {
				t.Fatal(err)
			}
			accept(t, f.s, f.agentReply("m2@support.test", "Hi,\n#template redemarrer\nBest"))
			if c := f.detail(t).Comments; c[len(c)-1].Body != "Hi,\nHello Jeanne,\nrestart the access point ("+f.key+").\nBest" {
				t.Fatalf("English comment %q", c[len(c)-1].Body)
			}
			// An unknown name: nothing applied, the agent alone is told.
			before := len(f.detail(t).Comments)
			r := accept(t, f.s, f.agentReply("m3@support.test", "#fermer\n#modele absent\nMerci"))
			if r.State != "refused" {
				t.Fatalf("unknown saved reply: %+v", r)
			}
			if d := f.detail(t); len(d.Comments) != before || d.Status == StatusClosed {
				t.Fatalf("a mail with an unknown saved reply was applied: %d comments, %s", len(d.Comments), d.Status)
			}
			if f.mails(t, MailNotice, "alice@support.test") != 1 {
				t.Fatal("the agent was not told about the unknown saved reply")
			}
			// A customer's "#modele" is plain text.
			d2 := testMail("jeanne@ecole.test", "Re: [#"+f.key+"] Wifi en panne", "m4@ecole.test")
			d2.Msg.ThreadKey, d2.Msg.Visible = f.key, "#modele redemarrer"
			accept(t, f.s, d2)
			if c := f.detail(t).Comments; c[len(c)-1].Body != "#modele redemarrer" {
				t.Fatalf("a customer's #modele was expanded: %q", c[len(c)-1].Body)
			}
		})
	}
}

// TestSavedReplyInPortal: an agent's comment from the portal expands its #modele lines,
// refuses an unknown one, and ReplyFor gives the text the comment box inserts.
func TestSavedReplyInPortal(t *testing.T) {
	ctx := context.Background()
	f := newRulesFixture(t, openSQLite(t), nil)
	if _, err := f.s.SaveReply(ctx, f.agent, SavedReply{Name: "merci", BodyFR: "Merci {demandeur}, {agent}"}); err != nil {
		t.Fatal(err)
	}
	text, err := f.s.ReplyFor(ctx, f.agent, f.key, "MERCI")
	if err != nil || text != "Merci Jeanne, Alice" {
		t.Fatalf("ReplyFor = %q, %v", text, err)
	}
	if _, err := f.s.ReplyFor(ctx, f.agent, f.key, "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReplyFor(absent) = %v", err)
	}
	if _, err := f.s.AddComment(ctx, f.agent, f.key, CommentInput{Body: "#modele merci", Source: SourceWeb}); err != nil {
		t.Fatal(err)
	}
	if c := f.detail(t).Comments; c[len(c)-1].Body != "Merci Jeanne, Alice" {
		t.Fatalf("portal comment %q", c[len(c)-1].Body)
	}
	_, err = f.s.AddComment(ctx, f.agent, f.key, CommentInput{Body: "#modele absent", Source: SourceWeb})
	var ue *UnknownReplyError
	if !errors.As(err, &ue) || ue.Name != "absent" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown saved reply from the portal: %v", err)
	}
}
