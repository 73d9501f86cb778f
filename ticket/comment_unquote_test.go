package ticket

import (
	"context"
	"strings"
	"testing"
)

// TestUnquoteSentMails: a reply naming our confirmation in References is given to
// Options.Unquote with that mail (sent, on its ticket), and the comment is what Unquote
// returns; when Unquote finds nothing, or the reply names no mail we sent, the parser's
// Visible stays.
func TestUnquoteSentMails(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			if _, err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			var calls [][]OutboxMail
			s, err := NewService(ctx, db, Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"),
				Unquote: func(text string, sent []OutboxMail) (string, bool) {
					calls = append(calls, sent)
					if i := strings.Index(text, "QUOTE"); i >= 0 {
						return text[:i], true
					}
					return "", false
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			accept(t, s, testMail("jeanne@ecole.test", "Imprimante en panne", "u1@ecole.test"))
			var conf struct {
				ID  int64  `db:"id"`
				MID string `db:"message_id"`
			}
			if err := db.Get(&conf, db.Rebind("SELECT id, message_id FROM outbox WHERE kind = ? ORDER BY id LIMIT 1"), MailConfirmation); err != nil {
				t.Fatal(err)
			}
			reply := func(mid, text string, refs ...string) string {
				t.Helper()
				d := testMail("jeanne@ecole.test", "Re: votre requête", mid, refs...)
				d.Msg.ThreadKey = "AURAN1-1"
				d.Msg.Text, d.Msg.Visible = text, "generic: "+text
				r := accept(t, s, d)
				det, err := s.Get(ctx, r.TicketKey)
				if err != nil {
					t.Fatal(err)
				}
				return det.Comments[len(det.Comments)-1].Body
			}
			// not sent yet: a pending mail was never seen by anyone
			calls = nil
			if got := reply("u2@ecole.test", "Merci\nQUOTE of ours", conf.MID); got != "generic: Merci\nQUOTE of ours" || len(calls) != 0 {
				t.Fatalf("pending mail: body %q, %d calls", got, len(calls))
			}
			if err := s.MarkSent(ctx, conf.ID, "250 ok"); err != nil {
				t.Fatal(err)
			}
			if got := reply("u3@ecole.test", "Merci\nQUOTE of ours", "other@ailleurs.test", conf.MID); got != "Merci" {
				t.Fatalf("quote of ours: body %q", got)
			}
			if len(calls) != 1 || len(calls[0]) != 1 || calls[0][0].Kind != MailConfirmation || calls[0][0].Data.Ticket.Key != "AURAN1-1" || calls[0][0].To.Email != "jeanne@ecole.test" {
				t.Fatalf("Unquote got %+v", calls)
			}
			if got := reply("u4@ecole.test", "Merci\nno quote", conf.MID); got != "generic: Merci\nno quote" {
				t.Fatalf("no quote found: body %q", got)
			}
			calls = nil
			if got := reply("u5@ecole.test", "Merci\nQUOTE of theirs", "other@ailleurs.test"); got != "generic: Merci\nQUOTE of theirs" || len(calls) != 0 {
				t.Fatalf("reply to a mail we did not send: body %q, %d calls", got, len(calls))
			}
		})
	}
}
