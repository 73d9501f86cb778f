package ticket

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestMerge: Paul's duplicate of Jeanne's request is merged into it: its request,
// comments, files, participants and thread move; it is closed pointing there; Paul is
// told once; his later mail to the old key, the old thread or the old signed address
// lands on the target; a customer of another school is never let into a ticket through a
// merge.
func TestMerge(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRulesFixture(t, open(t), nil)
			// Paul's duplicate, with a file, then a comment of his on it.
			dup := testMail("paul@ecole.test", "Le wifi ne marche plus", "p1@ecole.test")
			dup.Msg.Auth = Auth{Verdict: AuthPass, DKIM: "pass"}
			dup.Msg.Attachments = []Attachment{{Filename: "capture.png", ContentType: "image/png", Size: 3, SHA256: strings.Repeat("ab", 32)}}
			dkey := accept(t, f.s, dup).TicketKey
			reply := testMail("paul@ecole.test", "Re: [#"+dkey+"] Le wifi ne marche plus", "p2@ecole.test")
			reply.Msg.ThreadKey, reply.Msg.Visible = dkey, "Toujours pas de wifi en salle 12."
			accept(t, f.s, reply)
			before := f.mails(t, MailMerged, "paul@ecole.test")

			// Refusals first: itself, unknown, a customer.
			for _, tc := range []struct{ into, reason string }{{dkey, "same"}, {"AURAN1-99", "unknown"}, {"", "required"}} {
				_, err := f.s.Merge(ctx, f.agent, dkey, tc.into)
				var me *MergeError
				if !errors.As(err, &me) || me.Reason != tc.reason || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Merge into %q: %v, want %s", tc.into, err, tc.reason)
				}
			}
			paul, _ := f.s.UserByEmail(ctx, "paul@ecole.test")
			if _, err := f.s.Merge(ctx, paul, dkey, f.key); !errors.Is(err, ErrForbidden) {
				t.Fatalf("a customer merged: %v", err)
			}

			dst, err := f.s.Merge(ctx, f.agent, dkey, f.key)
			if err != nil || dst.Key != f.key {
				t.Fatalf("Merge: %v %+v", err, dst)
			}
			d := f.detail(t)
			var bodies []string
			for _, c := range d.Comments {
				bodies = append(bodies, c.Body)
			}
			all := strings.Join(bodies, "\n---\n")
			if !strings.Contains(all, "["+dkey+"] Le wifi ne marche plus\n\nbody of p1@ecole.test") || !strings.Contains(all, "Toujours pas de wifi en salle 12.") {
				t.Fatalf("target's comments after the merge:\n%s", all)
			}
			found := false
			for _, c := range d.Comments {
				for _, a := range c.Attachments {
					found = found || a.Filename == "capture.png"
				}
			}
			if !found {
				t.Fatal("the duplicate's file did not move with its request")
			}
			if !strings.Contains(strings.Join(d.Participants, " "), "paul@ecole.test") {
				t.Fatalf("Paul is not a participant of the target: %v", d.Participants)
			}
			old, err := f.s.Get(ctx, dkey)
			if err != nil {
				t.Fatal(err)
			}
			if old.Status != StatusClosed || old.MergedInto != f.key || len(old.Comments) != 0 {
				t.Fatalf("merged ticket: status %s, into %q, %d comments", old.Status, old.MergedInto, len(old.Comments))
			}
			if n := f.mails(t, MailMerged, "paul@ecole.test") - before; n != 1 {
				t.Fatalf("Paul told %d times", n)
			}
			if _, err := f.s.Merge(ctx, f.agent, dkey, f.key); !isMergeReason(err, "already") {
				t.Fatalf("merged twice: %v", err)
			}

			// Later mail to the old key, the old thread, the old signed address lands on the
			// target; Paul, now a participant, may comment there.
			n := len(d.Comments)
			for i, m := range []Delivery{
				func() Delivery {
					m := testMail("paul@ecole.test", "Re: [#"+dkey+"] Le wifi", "p3@ecole.test")
					m.Msg.ThreadKey, m.Msg.Visible = dkey, "par la clé"
					return m
				}(),
				func() Delivery {
					m := testMail("paul@ecole.test", "Re: Le wifi", "p4@ecole.test", "p2@ecole.test")
					m.Msg.InReplyTo, m.Msg.Visible = []string{"p2@ecole.test"}, "par le fil"
					return m
				}(),
				func() Delivery {
					m := testMail("paul@ecole.test", "Re: Le wifi", "p5@ecole.test")
					m.Env.Recipients, m.Msg.Visible = []string{f.s.ReplyAddress(dkey, "paul@ecole.test")}, "par l'adresse signée"
					return m
				}(),
			} {
				if r := accept(t, f.s, m); r.TicketKey != f.key || r.Created {
					t.Fatalf("mail %d after the merge: %+v, want a comment on %s", i, r, f.key)
				}
			}
			if d := f.detail(t); len(d.Comments) != n+3 {
				t.Fatalf("target has %d comments, want %d", len(d.Comments), n+3)
			}
			// Events: agents and customers see both ends of the merge.
			j, _ := f.s.UserByEmail(ctx, "jeanne@ecole.test")
			dj, err := f.s.DetailFor(ctx, j, f.key)
			if err != nil {
				t.Fatal(err)
			}
			seen := false
			for _, e := range dj.Events {
				seen = seen || (e.Kind == "merged_from" && e.Detail == dkey)
			}
			if !seen {
				t.Fatalf("the target's activity does not say what was merged: %+v", dj.Events)
			}
		})
	}
}

func isMergeReason(err error, reason string) bool {
	var me *MergeError
	return errors.As(err, &me) && me.Reason == reason
}

// TestMergeAcrossSchools: tickets of two establishments are not merged, from the portal
// or by mail; the mail command is refused as a whole, the agent alone told.
func TestMergeAcrossSchools(t *testing.T) {
	ctx := context.Background()
	f := newRulesFixture(t, openSQLite(t), nil)
	if _, err := f.s.AddUser(ctx, NewUser{Email: "eve@ailleurs.test", Name: "Eve", UAI: "0380001V"}); err != nil {
		t.Fatal(err)
	}
	eveTicket, err := f.s.CreateTicket(ctx, f.agent, TicketRequest{Requester: Address{Email: "eve@ailleurs.test"},
		NewTicket: NewTicket{Summary: "Wifi", Description: "En panne aussi.", UAI: "0380001V", Source: SourcePhone}})
	if err != nil {
		t.Fatal(err)
	}
	jt, _ := f.s.ticketByKey(ctx, f.db, f.key)
	if jt.UAI == eveTicket.UAI {
		t.Fatalf("fixture: both tickets at %q", jt.UAI)
	}
	if _, err := f.s.Merge(ctx, f.agent, eveTicket.Key, f.key); !isMergeReason(err, "establishment") {
		t.Fatalf("merge across schools: %v", err)
	}
	r := accept(t, f.s, f.agentReply("m1@support.test", "#fusionner "+eveTicket.Key+"\nDoublon."))
	if r.State != "refused" {
		t.Fatalf("#fusionner across schools: %+v", r)
	}
	if f.mails(t, MailNotice, "alice@support.test") != 1 {
		t.Fatal("the agent was not told")
	}
	if d := f.detail(t); d.MergedInto != "" || d.Status == StatusClosed {
		t.Fatalf("refused merge applied: %+v", d.Status)
	}
}

// TestMergeByMail: "#fusionner KEY" in an agent's reply merges its ticket into KEY; the
// rest of the mail is a comment there.
func TestMergeByMail(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRulesFixture(t, open(t), nil)
			second := testMail("jeanne@ecole.test", "Wifi toujours", "w2@ecole.test")
			second.Msg.Auth = Auth{Verdict: AuthPass, DKIM: "pass"}
			skey := accept(t, f.s, second).TicketKey
			d := testMail("alice@support.test", "Re: [#"+skey+"] Wifi toujours", "m1@support.test")
			d.Msg.ThreadKey, d.Msg.Visible, d.Msg.Text = skey, "#fusionner "+strings.ToLower(f.key)+"\nJe regroupe avec votre première demande.", ""
			d.Env.Recipients = []string{f.s.ReplyAddress(skey, "alice@support.test")}
			if r := accept(t, f.s, d); r.TicketKey != f.key || r.State == "refused" {
				t.Fatalf("#fusionner: %+v", r)
			}
			old, _ := f.s.Get(ctx, skey)
			if old.MergedInto != f.key || old.Status != StatusClosed {
				t.Fatalf("merged by mail: into %q, %s", old.MergedInto, old.Status)
			}
			c := f.detail(t).Comments
			if c[len(c)-1].Body != "Je regroupe avec votre première demande." {
				t.Fatalf("the rest of the mail: %q", c[len(c)-1].Body)
			}
			// A malformed key is a refused command.
			if r := accept(t, f.s, f.agentReply("m2@support.test", "#merge pas-une-cle")); r.State != "refused" {
				t.Fatalf("#merge with a bad key: %+v", r)
			}
		})
	}
}
