package ticket

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOutboxSharesData: the mails of one change write the ticket and comment they tell
// once (outbox_data), each row keeping only its own part; a change with one mail keeps
// it whole in its row. What the outbox gives back to send is the same either way.
func TestOutboxSharesData(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			s := newTestService(t, db, nil)
			agents := []string{"alice@support.test", "bob@support.test", "chloe@support.test"}
			var alice User
			for i, a := range agents {
				u, err := s.AddUser(ctx, NewUser{Email: a, Name: fmt.Sprint("Agent ", i), Role: RoleAgent})
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					alice = u
				}
			}
			d := testMail("jeanne@ecole.test", "Imprimante en panne", "m1@ecole.test")
			long := strings.Repeat("La salle 12 n'imprime plus. ", 80)
			d.Msg.Text, d.Msg.Visible = long, long
			r := accept(t, s, d)

			type row struct {
				Kind   string `db:"kind"`
				To     string `db:"to_email"`
				Data   string `db:"data"`
				DataID *int64 `db:"data_id"`
			}
			var rows []row
			if err := db.Select(&rows, "SELECT kind, to_email, data, data_id FROM outbox ORDER BY id"); err != nil {
				t.Fatal(err)
			}
			var shared int
			if err := db.Get(&shared, "SELECT COUNT(*) FROM outbox_data"); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 4 || shared != 1 {
				t.Fatalf("%d outbox rows and %d outbox_data rows; want 4 and 1", len(rows), shared)
			}
			for _, w := range rows {
				if w.DataID == nil || strings.Contains(w.Data, "salle 12") || len(w.Data) > 600 {
					t.Errorf("%s to %s: data_id %v, own data %d bytes: %.80q", w.Kind, w.To, w.DataID, len(w.Data), w.Data)
				}
			}

			// A public comment by an agent goes to the requester alone: one mail, whole.
			if _, err := s.AddComment(ctx, alice, r.TicketKey, CommentInput{Body: "Le technicien passe demain.", Visibility: Public, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			if err := db.Get(&shared, "SELECT COUNT(*) FROM outbox_data"); err != nil {
				t.Fatal(err)
			}
			var last row
			if err := db.Get(&last, "SELECT kind, to_email, data, data_id FROM outbox ORDER BY id DESC LIMIT 1"); err != nil {
				t.Fatal(err)
			}
			if shared != 1 || last.DataID != nil || !strings.Contains(last.Data, "Le technicien passe demain.") {
				t.Fatalf("one mail: %d outbox_data rows, last row %+v", shared, last)
			}

			// The requester's answer goes to the three agents: one more shared copy.
			jeanne, err := s.UserByEmail(ctx, "jeanne@ecole.test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddComment(ctx, jeanne, r.TicketKey, CommentInput{Body: "Merci, je serai là.", Visibility: Public, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			if err := db.Get(&shared, "SELECT COUNT(*) FROM outbox_data"); err != nil {
				t.Fatal(err)
			}
			rows = nil
			if err := db.Select(&rows, "SELECT kind, to_email, data, data_id FROM outbox WHERE kind = 'comment' ORDER BY id"); err != nil {
				t.Fatal(err)
			}
			if shared != 2 || len(rows) != 4 {
				t.Fatalf("after the requester's answer: %d outbox_data rows, %d comment mails; want 2 and 4", shared, len(rows))
			}
			for _, w := range rows[1:] {
				if w.DataID == nil || strings.Contains(w.Data, "Merci, je serai") {
					t.Errorf("comment to %s: data_id %v, own data %.80q", w.To, w.DataID, w.Data)
				}
			}

			mails, err := s.ClaimOutbox(ctx, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(mails) != 8 {
				t.Fatalf("claimed %d mails, want 8", len(mails))
			}
			comments := map[string]string{}
			for _, m := range mails {
				tv := m.Data.Ticket
				if tv.Key != r.TicketKey || tv.Summary != "Imprimante en panne" || tv.Description != strings.TrimSpace(long) ||
					tv.Requester.Email != "jeanne@ecole.test" || tv.CreatedAt.IsZero() {
					t.Errorf("%s to %s: ticket %s %q, description of %d bytes, requester %s, created %s",
						m.Kind, m.To.Email, tv.Key, tv.Summary, len(tv.Description), tv.Requester.Email, tv.CreatedAt)
				}
				if m.Data.Link != s.link(r.TicketKey) || m.Data.DeskName == "" || m.Data.StopLink != s.StopLink(r.TicketKey, m.To.Email) {
					t.Errorf("%s to %s: link %q, desk %q, stop link %q", m.Kind, m.To.Email, m.Data.Link, m.Data.DeskName, m.Data.StopLink)
				}
				switch m.Kind {
				case MailComment:
					if m.Data.Comment == nil {
						t.Errorf("comment mail to %s without its comment", m.To.Email)
					} else {
						comments[m.To.Email] = m.Data.Comment.Body
					}
				default:
					if m.Data.Comment != nil {
						t.Errorf("%s to %s carries a comment", m.Kind, m.To.Email)
					}
				}
			}
			want := map[string]string{"jeanne@ecole.test": "Le technicien passe demain."}
			for _, a := range agents {
				want[a] = "Merci, je serai là."
			}
			if fmt.Sprint(comments) != fmt.Sprint(want) {
				t.Errorf("comment mails:\n got %v\nwant %v", comments, want)
			}
		})
	}
}
