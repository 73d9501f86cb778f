package ticket

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Bonjour é", "Bonjour é"},
		{"a\x00b", "a\uFFFDb"},
		{"a\xffb", "a\uFFFDb"},
		{"a\xff\xfe\x00b", "a\uFFFD\uFFFDb"}, // a run of invalid bytes is one U+FFFD
		{"\xc3", "\uFFFD"},                   // cut inside a character
		{"alice@ecole.test\x00", "alice@ecole.test\uFFFD"},
	} {
		if got := cleanText(c.in); got != c.want {
			t.Errorf("cleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// hostileMail is a delivery with a NUL and invalid UTF-8 in every text that reaches the
// database: subject, body, display name, Message-ID, envelope sender, attachment name.
func hostileMail() Delivery {
	const bad = "\x00\xff"
	from := "jeanne" + bad + "@ecole.test"
	raw := []byte("From: \"Jeanne " + bad + "\" <jeanne@ecole.test>\r\nSubject: Imprimante " + bad + " HS\r\n" +
		"Message-ID: <nul" + bad + "@ecole.test>\r\n\r\nelle ne marche plus " + bad + "\r\n")
	return Delivery{
		Raw: raw,
		Env: Envelope{From: from, Recipients: []string{"support@localhost"}, Channel: "test"},
		Msg: &Inbound{
			MessageID: "nul" + bad + "@ecole.test", From: Address{Name: "Jeanne " + bad, Email: "jeanne@ecole.test"},
			Subject: "Imprimante " + bad + " HS", Summary: "Imprimante " + bad + " HS",
			Text: "elle ne marche plus " + bad, Visible: "elle ne marche plus " + bad, HTML: "<p>" + bad + "</p>",
			References: []string{"ref" + bad + "@x"}, Warnings: []string{"charset " + bad},
			Attachments: []Attachment{{Filename: "photo" + bad + ".png", ContentType: "image/png", Size: 3,
				SHA256: strings.Repeat("ab", 32)}},
		},
	}
}

func clean(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

// A NUL or invalid UTF-8 in any text of a mail makes a ticket and a confirmation on both
// stores (PostgreSQL refused the text: the message failed, or got a 451 forever), with
// the text cleaned and the raw message kept byte for byte.
func TestHostileTextMakesTicket(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			s := newTestService(t, db, nil)
			d := hostileMail()
			raw := bytes.Clone(d.Raw)
			r, err := s.Accept(ctx, d)
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if !r.Created || r.State != "processed" || r.Err != "" {
				t.Fatalf("receipt %+v, want a new ticket", r)
			}
			got, err := s.InboundRaw(ctx, r.InboundID)
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("raw message changed: %q (%v), want %q", got, err, raw)
			}
			if !bytes.Equal(d.Raw, raw) || d.Msg.Subject != hostileMail().Msg.Subject {
				t.Error("Accept changed the caller's delivery")
			}
			tk, err := s.Get(ctx, r.TicketKey)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Summary != "Imprimante \uFFFD\uFFFD HS" || !strings.HasPrefix(tk.Description, "elle ne marche plus \uFFFD") {
				t.Errorf("ticket text %q / %q", tk.Summary, tk.Description)
			}
			if len(tk.Attachments) != 1 || tk.Attachments[0].Filename != "photo\uFFFD\uFFFD.png" {
				t.Errorf("attachments %+v", tk.Attachments)
			}
			if n := outboxKinds(t, db)["confirmation jeanne@ecole.test"]; n != 1 {
				t.Errorf("confirmations: %v", outboxKinds(t, db))
			}
			// a message that could not be parsed, with a NUL in its error, is stored
			// failed, not refused
			pe := Delivery{Raw: []byte("x\x00"), Env: Envelope{From: "a\x00@b.test", Channel: "test"}, ParseErr: errString("bad header \x00\xff")}
			if r3, err := s.Accept(ctx, pe); err != nil || r3.State != "failed" {
				t.Errorf("unparsable message: %+v %v", r3, err)
			}
			var texts []string
			for _, q := range []string{
				"SELECT summary FROM tickets", "SELECT description FROM tickets", "SELECT name FROM users",
				"SELECT message_id FROM inbound", "SELECT envelope_from FROM inbound", "SELECT dedup_key FROM inbound",
				"SELECT error FROM inbound",
				"SELECT filename FROM attachments", "SELECT message_id FROM thread_messages", "SELECT data FROM outbox",
			} {
				var vs []string
				if err := db.Select(&vs, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				texts = append(texts, vs...)
			}
			for _, v := range texts {
				if !clean(v) {
					t.Errorf("unclean text in the database: %q", v)
				}
			}
			// the same delivery again is a duplicate: the dedup key is stable
			if r2 := accept(t, s, hostileMail()); !r2.Duplicate || r2.TicketKey != r.TicketKey {
				t.Errorf("second delivery: %+v", r2)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// Text from the portal or the API (a form, a JSON body, a search) with a NUL or invalid
// UTF-8 is stored cleaned (or found nothing), never an error from PostgreSQL.
func TestHostileWebInput(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			s := newTestService(t, db, nil)
			u, err := s.AddUser(ctx, NewUser{Email: "paul@ecole.test", Name: "Paul \x00\xff", Password: "correct horse"})
			if err != nil {
				t.Fatalf("AddUser: %v", err)
			}
			tk, err := s.CreateTicket(ctx, u, TicketRequest{NewTicket: NewTicket{Summary: "Objet \x00", Description: "Texte \xff\x00",
				Phone: "04\x00", IncidentStart: "hier\xff"}, RequestID: "req\x00"})
			if err != nil {
				t.Fatalf("CreateTicket: %v", err)
			}
			if _, err := s.AddComment(ctx, u, tk.Key, CommentInput{Body: "suite \x00\xfe", Attachments: []Attachment{
				{Filename: "a\x00.txt", ContentType: "text/plain", Size: 1, SHA256: strings.Repeat("cd", 32)}}}); err != nil {
				t.Fatalf("AddComment: %v", err)
			}
			if _, err := s.UpdateProfile(ctx, u, Profile{Name: "Paul \x00 Martin"}); err != nil {
				t.Fatalf("UpdateProfile: %v", err)
			}
			if _, err := s.CreateToken(ctx, u, "jeton \x00\xff"); err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			if _, err := s.Search(ctx, u, Filter{Q: "Objet \x00\xff"}); err != nil {
				t.Fatalf("Search: %v", err)
			}
			if _, err := s.DetailFor(ctx, u, tk.Key+"\x00"); err == nil {
				t.Error("DetailFor a key with a NUL found a ticket")
			} else if strings.Contains(err.Error(), "0x00") || strings.Contains(err.Error(), "UTF8") {
				t.Errorf("DetailFor a key with a NUL: %v", err)
			}
			if _, err := s.UserByEmail(ctx, "paul@ecole.test\x00"); err == nil || strings.Contains(err.Error(), "UTF8") {
				t.Errorf("UserByEmail with a NUL: %v", err)
			}
			got, err := s.Get(ctx, tk.Key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Summary != "Objet \uFFFD" || got.Phone != "04\uFFFD" || len(got.Comments) == 0 {
				t.Errorf("ticket %+v", got)
			}
			for _, c := range got.Comments {
				if !clean(c.Body) {
					t.Errorf("comment %q", c.Body)
				}
			}
		})
	}
}

// Every text argument of every statement is cleaned by the connection, named string
// types included, and byte arguments are not: a write that forgets to clean its input
// still cannot bring a NUL to PostgreSQL.
func TestStatementTextCleaned(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			if _, err := Migrate(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			ins := db.Rebind("INSERT INTO settings (name, value) VALUES (?, ?)")
			for k, v := range map[string]any{"plain": "a\x00b\xff", "named": Status("in\x00progress")} {
				if _, err := db.Exec(ins, k, v); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
			}
			var got []string
			if err := db.Select(&got, "SELECT value FROM settings WHERE name IN ('plain', 'named') ORDER BY name"); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != "in\uFFFDprogress" || got[1] != "a\uFFFDb\uFFFD" {
				t.Errorf("stored %q", got)
			}
			raw := []byte("From: a\x00\xff\r\n")
			var id int64
			if err := db.Get(&id, db.Rebind(`INSERT INTO inbound (dedup_key, channel, size, state, received_at) VALUES (?, 'test', ?, 'failed', CURRENT_TIMESTAMP) RETURNING id`),
				"k\x00", len(raw)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(db.Rebind(`INSERT INTO inbound_raw (id, raw) VALUES (?, ?)`), id, raw); err != nil {
				t.Fatal(err)
			}
			var back []byte
			if err := db.Get(&back, "SELECT raw FROM inbound_raw"); err != nil || !bytes.Equal(back, raw) {
				t.Errorf("raw %q %v, want %q", back, err, raw)
			}
		})
	}
}
