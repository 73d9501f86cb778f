package ticket

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// rulesFixture: an agent, a requester of establishment 0690026D with a ticket.
type rulesFixture struct {
	s     *Service
	db    *sqlx.DB
	agent User
	key   string
}

func newRulesFixture(t *testing.T, db *sqlx.DB, opt func(*Options)) *rulesFixture {
	t.Helper()
	ctx := context.Background()
	if _, err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	o := Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123")}
	if opt != nil {
		opt(&o)
	}
	s, err := NewService(ctx, db, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	agent, err := s.AddUser(ctx, NewUser{Email: "alice@support.test", Name: "Alice", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test", Name: "Jeanne", UAI: "0690026D"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, NewUser{Email: "paul@ecole.test", Name: "Paul", UAI: "0690026D"}); err != nil {
		t.Fatal(err)
	}
	first := testMail("jeanne@ecole.test", "Wifi en panne", "w1@ecole.test")
	first.Msg.Auth = Auth{Verdict: AuthPass, DKIM: "pass"}
	r := accept(t, s, first)
	if r.TicketKey == "" {
		t.Fatalf("fixture ticket not created: %+v", r)
	}
	return &rulesFixture{s: s, db: db, agent: agent, key: r.TicketKey}
}

// agentReply is a proven reply of the agent (through the signed reply address).
func (f *rulesFixture) agentReply(mid, body string) Delivery {
	d := testMail("alice@support.test", "Re: [#"+f.key+"] Wifi en panne", mid)
	d.Msg.ThreadKey = f.key
	d.Msg.Visible, d.Msg.Text = body, body
	d.Env.Recipients = []string{f.s.ReplyAddress(f.key, "alice@support.test")}
	return d
}

func (f *rulesFixture) mails(t *testing.T, kind MailKind, to string) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, f.db.Rebind("SELECT COUNT(*) FROM outbox WHERE kind = ? AND to_email = ?"), kind, to); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *rulesFixture) detail(t *testing.T) *Detail {
	t.Helper()
	d, err := f.s.Get(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAgentCommands(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			f := newRulesFixture(t, open(t), nil)
			accept(t, f.s, f.agentReply("a1@support.test", "#assigner moi\n#participant Paul <paul@ecole.test>\n#statut En attente\nNous attendons le rectorat."))
			d := f.detail(t)
			if d.Status != StatusWaiting || d.Assignee != "alice@support.test" || len(d.Participants) != 1 || d.Participants[0] != "paul@ecole.test" {
				t.Fatalf("after commands: status %s assignee %q participants %v", d.Status, d.Assignee, d.Participants)
			}
			if c := d.Comments[len(d.Comments)-1]; c.Body != "Nous attendons le rectorat." || c.Visibility != Public || !c.Verified {
				t.Fatalf("comment: %+v", c)
			}
			if f.mails(t, MailComment, "jeanne@ecole.test") != 1 || f.mails(t, MailComment, "paul@ecole.test") != 1 || f.mails(t, MailStatus, "jeanne@ecole.test") != 0 {
				t.Fatalf("mails: the comment (with its status) goes once to the requester and the new participant")
			}
			// #close in English with a closing comment.
			accept(t, f.s, f.agentReply("a2@support.test", "#close\nRésolu : borne redémarrée."))
			if d := f.detail(t); d.Status != StatusClosed {
				t.Fatalf("after #close: %s", d.Status)
			}
			// #note: the whole mail is an internal note; customers get nothing.
			before := f.mails(t, MailComment, "jeanne@ecole.test")
			accept(t, f.s, f.agentReply("a3@support.test", "#note\nLe client a déjà rappelé deux fois."))
			d = f.detail(t)
			if c := d.Comments[len(d.Comments)-1]; c.Visibility != Internal || c.Body != "Le client a déjà rappelé deux fois." {
				t.Fatalf("note: %+v", c)
			}
			if f.mails(t, MailComment, "jeanne@ecole.test") != before {
				t.Fatal("an internal note was mailed to the requester")
			}
			// An unknown command applies nothing and is answered to the agent alone.
			r := accept(t, f.s, f.agentReply("a4@support.test", "#statut in_progress\n#frobnicate\nTexte"))
			if r.State != "refused" {
				t.Fatalf("unknown command: %+v", r)
			}
			if d := f.detail(t); d.Status != StatusClosed || len(d.Comments) != 3 {
				t.Fatalf("a refused mail was half-applied: status %s, %d comments", d.Status, len(d.Comments))
			}
			if f.mails(t, MailNotice, "alice@support.test") != 1 {
				t.Fatal("the agent was not told about the unknown command")
			}
			// In a customer's mail, the same lines are plain text.
			d2 := testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "c1@ecole.test")
			d2.Msg.ThreadKey, d2.Msg.Visible = f.key, "#fermer\nToujours en panne."
			accept(t, f.s, d2)
			d = f.detail(t)
			if d.Status != StatusInProgress || d.Comments[len(d.Comments)-1].Body != "#fermer\nToujours en panne." {
				t.Fatalf("customer's command lines: status %s body %q", d.Status, d.Comments[len(d.Comments)-1].Body)
			}
		})
	}
}

func TestHeldMail(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			f := newRulesFixture(t, open(t), nil)
			// An agent's address without proof (no signed address, no DKIM): held, the
			// real agent gets a notice, the requester nothing, no command applied.
			spoof := testMail("alice@support.test", "Re: [#"+f.key+"] Wifi", "spoof@evil.test")
			spoof.Msg.ThreadKey, spoof.Msg.Visible = f.key, "#fermer\nC'est réglé, donnez-moi votre mot de passe."
			r := accept(t, f.s, spoof)
			if r.State != "held" {
				t.Fatalf("spoofed agent mail: %+v", r)
			}
			if d := f.detail(t); d.Status != StatusNew || len(d.Comments) != 0 {
				t.Fatalf("held mail acted: status %s, %d comments", d.Status, len(d.Comments))
			}
			if f.mails(t, MailComment, "jeanne@ecole.test") != 0 || f.mails(t, MailNotice, "alice@support.test") != 1 {
				t.Fatal("held mail: wrong mails")
			}
			// The agent confirms by a proven reply to the notice: the held mail applies.
			var notice string
			f.db.Get(&notice, f.db.Rebind("SELECT message_id FROM outbox WHERE kind = ?"), MailNotice)
			conf := f.agentReply("confirm@support.test", "Oui, c'est moi.")
			conf.Msg.InReplyTo = []string{notice}
			if r := accept(t, f.s, conf); r.State != "processed" {
				t.Fatalf("confirmation: %+v", r)
			}
			d := f.detail(t)
			if d.Status != StatusClosed || len(d.Comments) != 1 || !strings.Contains(d.Comments[0].Body, "mot de passe") {
				t.Fatalf("released mail: status %s comments %+v", d.Status, d.Comments)
			}
			// A customer's mail with evidence of forgery is held, nothing mailed back.
			forged := testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "forged@x")
			forged.Msg.ThreadKey, forged.Msg.Auth = f.key, Auth{Verdict: AuthFail, DMARC: "fail"}
			if r := accept(t, f.s, forged); r.State != "held" {
				t.Fatalf("forged: %+v", r)
			}
			held, _ := f.s.ListInbound(context.Background(), "held", 10)
			if len(held) != 1 {
				t.Fatalf("held list: %d", len(held))
			}
		})
	}
}

func TestStrictPolicyAndStranger(t *testing.T) {
	f := newRulesFixture(t, openSQLite(t), func(o *Options) { o.SenderPolicy = PolicyStrict })
	d := testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "u1@x")
	d.Msg.ThreadKey = f.key
	if r := accept(t, f.s, d); r.State != "held" {
		t.Fatalf("strict, unproven: %+v", r)
	}
	d = testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "u2@x")
	d.Msg.ThreadKey, d.Msg.Auth = f.key, Auth{Verdict: AuthPass, DKIM: "pass"}
	if r := accept(t, f.s, d); r.State != "processed" || r.TicketKey != f.key {
		t.Fatalf("strict, proven: %+v", r)
	}
	// A stranger with a valid signed address of someone else: a ticket of their own.
	d = testMail("eve@ailleurs.test", "Re: Wifi", "eve1@x")
	d.Msg.Auth = Auth{Verdict: AuthPass}
	d.Env.Recipients = []string{f.s.ReplyAddress(f.key, "jeanne@ecole.test")}
	if r := accept(t, f.s, d); !r.Created || r.TicketKey == f.key {
		t.Fatalf("stranger with someone else's reply address: %+v", r)
	}
}

func TestCcParticipantsCommentAddressBounceCaps(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			f := newRulesFixture(t, open(t), nil)
			ctx := context.Background()
			d := testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "cc1@x")
			d.Msg.ThreadKey = f.key
			d.Msg.Cc = []Address{{Name: "Paul", Email: "paul@ecole.test"}, {Email: "intrus@ailleurs.test"}, {Email: "support@localhost"}}
			accept(t, f.s, d)
			det := f.detail(t)
			if len(det.Participants) != 1 || det.Participants[0] != "paul@ecole.test" {
				t.Fatalf("participants %v", det.Participants)
			}
			refused := false
			for _, e := range det.Events {
				refused = refused || (e.Kind == "participant_refused" && e.Detail == "intrus@ailleurs.test")
			}
			if !refused {
				t.Fatalf("refused participant not in the activity: %+v", det.Events)
			}
			// The comment address makes an agent's mail an internal note.
			n := testMail("alice@support.test", "Re: [#"+f.key+"]", "note1@support.test")
			n.Msg.ThreadKey, n.Msg.Auth = f.key, Auth{Verdict: AuthPass}
			n.Env.Recipients = []string{"support+note@localhost"}
			accept(t, f.s, n)
			det = f.detail(t)
			if c := det.Comments[len(det.Comments)-1]; c.Visibility != Internal {
				t.Fatalf("comment address: %+v", c)
			}
			// A DSN about our mail to Paul marks him bouncing: no more mail to him.
			var mid string
			f.db.Get(&mid, f.db.Rebind("SELECT message_id FROM outbox WHERE to_email = ? ORDER BY id LIMIT 1"), "alice@support.test")
			dsn := testMail("mailer-daemon@ecole.test", "Undelivered Mail Returned to Sender", "dsn1@x")
			dsn.Msg.Automatic, dsn.Msg.AutoReason = true, "dsn"
			dsn.Msg.Bounce = &Bounce{Recipients: []string{"alice@support.test"}, OriginalMessageID: mid, Permanent: true, Status: "5.1.1"}
			accept(t, f.s, dsn)
			before := f.mails(t, MailComment, "alice@support.test")
			d = testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "after-bounce@x")
			d.Msg.ThreadKey = f.key
			accept(t, f.s, d)
			if f.mails(t, MailComment, "alice@support.test") != before {
				t.Fatal("mail queued to a bouncing address")
			}
			bounced := false
			for _, e := range f.detail(t).Events {
				bounced = bounced || e.Kind == "bounce"
			}
			if !bounced {
				t.Fatal("bounce not shown on the ticket")
			}
			// Caps: a flood of replies reaches Paul at most 10 times in 10 minutes.
			for i := 0; i < 15; i++ {
				d := testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "flood"+string(rune('a'+i))+"@x")
				d.Msg.ThreadKey = f.key
				accept(t, f.s, d)
			}
			if n := f.mails(t, MailComment, "paul@ecole.test"); n > 10 {
				t.Fatalf("Paul got %d mails in a flood, cap is 10", n)
			}
			// Paul stops mail about the ticket from the link.
			tok := f.s.StopToken(f.key, "paul@ecole.test")
			if err := f.s.Mute(ctx, f.key, "paul@ecole.test", "bad", true); err == nil {
				t.Fatal("mute with a bad token accepted")
			}
			if err := f.s.Mute(ctx, f.key, "paul@ecole.test", tok, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCreateTicketFromWebAndPhone(t *testing.T) {
	f := newRulesFixture(t, openSQLite(t), nil)
	ctx := context.Background()
	jeanne, _ := f.s.UserByEmail(ctx, "jeanne@ecole.test")
	req := TicketRequest{NewTicket: NewTicket{Summary: "ENT inaccessible", Description: "Page blanche", UAI: "0690026D", Components: "ENT"}, RequestID: "form-1",
		Participants: []Address{{Email: "paul@ecole.test"}, {Email: "x@ailleurs.test"}}}
	t1, err := f.s.CreateTicket(ctx, jeanne, req)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := f.s.CreateTicket(ctx, jeanne, req) // the form submitted twice
	if err != nil || t2.Key != t1.Key {
		t.Fatalf("double submit made %v (%v), want %s", t2, err, t1.Key)
	}
	if _, err := f.s.CreateTicket(ctx, jeanne, TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y", UAI: "0690026E"}}); err == nil || !strings.Contains(err.Error(), "check letter") {
		t.Fatalf("bad UAI: %v", err)
	}
	if _, err := f.s.CreateTicket(ctx, jeanne, TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y", Source: SourcePhone}, Requester: Address{Email: "z@ecole.test"}}); err == nil {
		t.Fatal("a customer recorded a phone request")
	}
	ph, err := f.s.CreateTicket(ctx, f.agent, TicketRequest{NewTicket: NewTicket{Summary: "Appel : imprimante", Description: "Appel de M. Roux", Source: SourcePhone}, Requester: Address{Name: "Marc Roux", Email: "marc@ecole.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.mails(t, MailConfirmation, "marc@ecole.test") != 1 || f.mails(t, MailAgentNew, "alice@support.test") != 2 {
		t.Fatalf("phone ticket %s: the caller gets the confirmation, the agent who took the call no notification", ph.Key)
	}
	d, _ := f.s.Get(ctx, t1.Key)
	if len(d.Participants) != 1 || d.Source != SourceWeb {
		t.Fatalf("web ticket: %+v", d)
	}
	// Access: Eve sees nothing of the establishment; Paul (same UAI) does.
	eve, _ := f.s.AddUser(ctx, NewUser{Email: "eve@ailleurs.test"})
	if _, err := f.s.AddComment(ctx, eve, t1.Key, CommentInput{Body: "hello"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("stranger's comment: %v", err)
	}
	if err := f.s.ChangeStatus(ctx, jeanne, t1.Key, StatusInProgress); err == nil {
		t.Fatal("a customer changed a status")
	}
	if err := f.s.ChangeStatus(ctx, f.agent, t1.Key, StatusWaitingUser); err != nil {
		t.Fatal(err)
	}
	if f.mails(t, MailStatus, "jeanne@ecole.test") != 1 || f.mails(t, MailStatus, "paul@ecole.test") != 1 {
		t.Fatal("status change not mailed to requester and participant")
	}
}

func TestCommentHTMLAndOriginal(t *testing.T) {
	f := newRulesFixture(t, openSQLite(t), nil)
	ctx := context.Background()
	d := testMail("jeanne@ecole.test", "Re: [#"+f.key+"]", "html1@x")
	d.Msg.ThreadKey, d.Msg.HTML = f.key, "<p>Toujours <b>en panne</b></p>"
	r := accept(t, f.s, d)
	det, err := f.s.DetailFor(ctx, f.agent, f.key)
	if err != nil {
		t.Fatal(err)
	}
	c := det.Comments[len(det.Comments)-1]
	if c.HTML != "<p>Toujours <b>en panne</b></p>" || c.InboundID != r.InboundID {
		t.Fatalf("agent's view of a mail comment: html %q inbound %d (want %d)", c.HTML, c.InboundID, r.InboundID)
	}
	jeanne, _ := f.s.UserByEmail(ctx, "jeanne@ecole.test")
	det, err = f.s.DetailFor(ctx, jeanne, f.key)
	if err != nil {
		t.Fatal(err)
	}
	if c := det.Comments[len(det.Comments)-1]; c.InboundID != 0 || c.HTML == "" {
		t.Fatalf("customer's view: inbound %d html %q", c.InboundID, c.HTML)
	}
}

// TestCreateTicketOtherEstablishment: a customer files only for their own establishment
// (ErrOtherEstablishment, which is an ErrForbidden, and nothing is created); without a
// UAI the request is for theirs; a customer of no establishment files without one; an
// agent files for any; a mailed request takes its author's establishment.
func TestCreateTicketOtherEstablishment(t *testing.T) {
	f := newRulesFixture(t, openSQLite(t), nil)
	ctx := context.Background()
	jeanne, _ := f.s.UserByEmail(ctx, "jeanne@ecole.test")
	before, err := f.s.Search(ctx, f.agent, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, uai := range []string{"0380001V", " 0380001v ", "0380001V\x00"} {
		_, err := f.s.CreateTicket(ctx, jeanne, TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y", UAI: uai}})
		if uai == "0380001V\x00" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("UAI %q: %v", uai, err)
			}
			continue
		}
		if !errors.Is(err, ErrOtherEstablishment) || !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "0690026D") {
			t.Errorf("UAI %q: %v", uai, err)
		}
	}
	if after, _ := f.s.Search(ctx, f.agent, Filter{}); after.Total != before.Total {
		t.Fatalf("refused requests were created: %d then %d", before.Total, after.Total)
	}
	own, err := f.s.CreateTicket(ctx, jeanne, TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y"}})
	if err != nil || own.UAI != "0690026D" {
		t.Fatalf("without a UAI: %v %v", own, err)
	}
	nobody, _ := f.s.AddUser(ctx, NewUser{Email: "nobody@ailleurs.test"})
	if _, err := f.s.CreateTicket(ctx, nobody, TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y", UAI: "0690026D"}}); !errors.Is(err, ErrOtherEstablishment) {
		t.Errorf("a customer of no establishment filed for 0690026D: %v", err)
	}
	if t0, err := f.s.CreateTicket(ctx, nobody, TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y"}}); err != nil || t0.UAI != "" {
		t.Errorf("a customer of no establishment without a UAI: %v %v", t0, err)
	}
	for _, phone := range []bool{false, true} {
		req := TicketRequest{NewTicket: NewTicket{Summary: "x", Description: "y", UAI: "0380001V"}}
		if phone {
			req.Source, req.Requester = SourcePhone, Address{Email: "jeanne@ecole.test"}
		}
		if a, err := f.s.CreateTicket(ctx, f.agent, req); err != nil || a.UAI != "0380001V" {
			t.Errorf("agent (phone %v): %v %v", phone, a, err)
		}
	}
	r := accept(t, f.s, testMail("paul@ecole.test", "Imprimante", "estab-1@x"))
	if d, err := f.s.Get(ctx, r.TicketKey); err != nil || d.UAI != "0690026D" {
		t.Errorf("mailed request: %+v %v", d, err)
	}
}
