package ticket

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestExportErase: the export of a customer lists their tickets, the comments they
// could see (not internal notes), the files they sent, their tokens by name, their
// sessions; an agent's export has the internal notes. Erasing the last admin is
// refused; erasing a customer (address in odd case) removes what they wrote, their
// files (a file someone else also sent stays), sessions and tokens, and records it
// without their address; a second erase of the address finds no one, and of the
// pseudonym does nothing.
func TestExportErase(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newPrivacyFixture(t, open(t))
			s := f.s
			admin, err := s.AddUser(ctx, NewUser{Email: "root@support.test", Name: "Root", Role: RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			agent, err := s.AddUser(ctx, NewUser{Email: "alice@support.test", Name: "Alice", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			shared := f.put(t, "planning.txt", "a file both sent")
			own := f.put(t, "photo.txt", "jeanne's own file")
			d := testMail("jeanne_m@ecole.test", "Imprimante en panne", "j1@ecole.test")
			d.Msg.Attachments = []Attachment{own, shared}
			r := accept(t, s, d)
			d2 := testMail("paul@ecole.test", "Autre demande", "p1@ecole.test")
			d2.Msg.Attachments = []Attachment{shared}
			r2 := accept(t, s, d2)
			// an address that jeanne_m's LIKE pattern would match without escaping
			d3 := testMail("jeanneXm@ecole.test", "Homonyme", "x1@ecole.test")
			r3 := accept(t, s, d3)
			if _, err := s.AddComment(ctx, agent, r.TicketKey, CommentInput{Body: "Note sur Jeanne", Visibility: Internal, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddComment(ctx, agent, r.TicketKey, CommentInput{Body: "Réponse publique", Visibility: Public, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			jeanne, err := s.UserByEmail(ctx, "jeanne_m@ecole.test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddComment(ctx, jeanne, r.TicketKey, CommentInput{Body: "Merci, ça remarche", Visibility: Public, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateToken(ctx, jeanne, "script de Jeanne"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.NewSession(ctx, jeanne.ID, time.Hour); err != nil {
				t.Fatal(err)
			}

			rate := "INSERT INTO satisfaction_ratings (ticket_id, requester_id, closed_at, score, comment, rated_at, updated_at) " +
				"SELECT id, requester_id, ?, 2, 'Trop lent', ?, ? FROM tickets WHERE key = ?"
			if _, err := f.db.Exec(f.db.Rebind(rate), *f.now, *f.now, *f.now, r.TicketKey); err != nil {
				t.Fatal(err)
			}
			x, err := s.Export(ctx, "  Jeanne_M@Ecole.TEST ")
			if err != nil {
				t.Fatal(err)
			}
			if x.User.Email != "jeanne_m@ecole.test" || x.Sessions != 1 || len(x.APITokens) != 1 || x.APITokens[0].Name != "script de Jeanne" {
				t.Fatalf("export: user %+v, sessions %d, tokens %+v", x.User, x.Sessions, x.APITokens)
			}
			if len(x.Tickets) != 1 || x.Tickets[0].Key != r.TicketKey || strings.Join(x.Tickets[0].Roles, ",") != "requester,commenter" {
				t.Fatalf("export tickets: %+v", x.Tickets)
			}
			var bodies []string
			for _, c := range x.Tickets[0].Comments {
				bodies = append(bodies, c.Body)
			}
			if strings.Join(bodies, "|") != "Réponse publique|Merci, ça remarche" {
				t.Fatalf("comments a customer could see: %q", bodies)
			}
			if len(x.RatingsGiven) != 1 || x.RatingsGiven[0].Comment != "Trop lent" || x.RatingsGiven[0].Score != 2 {
				t.Fatalf("export ratings: %+v", x.RatingsGiven)
			}
			if len(x.Files) != 2 || len(x.MailIn) != 1 || len(x.MailSent) == 0 {
				t.Fatalf("export files %+v, mail in %+v, mail sent %d", x.Files, x.MailIn, len(x.MailSent))
			}
			ax, err := s.Export(ctx, "alice@support.test")
			if err != nil {
				t.Fatal(err)
			}
			if len(ax.Tickets) != 1 || len(ax.Tickets[0].Comments) != 3 || !ax.Tickets[0].Comments[0].Mine || ax.Tickets[0].Comments[0].Visibility != Internal {
				t.Fatalf("agent's export: %+v", ax.Tickets)
			}
			if _, err := s.Export(ctx, "nobody@ecole.test"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown address: %v", err)
			}

			if _, err := s.Erase(ctx, "root@support.test", "test", f.files); !errors.Is(err, ErrLastAdmin) {
				t.Fatalf("last admin: %v", err)
			}
			rep, err := s.Erase(ctx, "JEANNE_M@ecole.test", "test", f.files)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Comments != 1 || rep.Tickets != 1 || rep.Attachments != 2 || rep.Inbound != 1 || rep.FilesRemoved != 1 || rep.Outbox == 0 {
				t.Fatalf("erase report: %+v", rep)
			}
			if n := f.count(t, "SELECT COUNT(*) FROM satisfaction_ratings WHERE score = 2 AND comment = ''"); n != 1 {
				t.Fatal("her satisfaction comment was not emptied (or the score not kept)")
			}
			if f.blobExists(own.SHA256) || !f.blobExists(shared.SHA256) {
				t.Fatalf("files: own kept %v, shared kept %v", f.blobExists(own.SHA256), f.blobExists(shared.SHA256))
			}
			got, err := s.Get(ctx, r.TicketKey)
			if err != nil {
				t.Fatal(err)
			}
			pseudoName, pseudoEmail := Pseudonym(jeanne.ID)
			if got.Summary != ErasedText || got.Requester != pseudoEmail || got.RequesterName != pseudoName {
				t.Fatalf("ticket after erase: summary %q, requester %q %q", got.Summary, got.RequesterName, got.Requester)
			}
			for _, c := range got.Comments {
				if mine := c.Author == pseudoEmail; mine != (c.Body == ErasedText) {
					t.Fatalf("comment by %s: %q", c.Author, c.Body)
				}
			}
			if n := f.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = ?", jeanne.ID) + f.count(t, "SELECT COUNT(*) FROM api_tokens WHERE user_id = ?", jeanne.ID); n != 0 {
				t.Fatalf("%d sessions and tokens left", n)
			}
			if n := f.count(t, "SELECT COUNT(*) FROM outbox WHERE to_email = ?", "jeanne_m@ecole.test"); n != 0 {
				t.Fatalf("%d outbox rows to her left", n)
			}
			if n := f.count(t, "SELECT COUNT(*) FROM inbound WHERE envelope_from <> '' AND (id = ? OR id = ?)", r2.InboundID, r3.InboundID); n != 2 {
				t.Fatalf("other people's mail emptied too: %d of 2 left", n)
			}
			if other, err := s.Get(ctx, r3.TicketKey); err != nil || other.Summary != "Homonyme" {
				t.Fatalf("look-alike address's ticket: %+v, %v", other, err)
			}
			log, err := s.AuditLog(ctx, 10)
			if err != nil || len(log) != 1 || log[0].Action != "erase" || log[0].UserID == nil || *log[0].UserID != jeanne.ID {
				t.Fatalf("audit: %+v, %v", log, err)
			}
			if strings.Contains(log[0].Detail+log[0].Actor, "jeanne") {
				t.Fatalf("the audit log keeps the erased address: %+v", log[0])
			}
			if _, err := s.Erase(ctx, "jeanne_m@ecole.test", "test", f.files); !errors.Is(err, ErrNotFound) {
				t.Fatalf("erase twice by address: %v", err)
			}
			if rep, err := s.Erase(ctx, pseudoEmail, "test", f.files); err != nil || !rep.AlreadyErased {
				t.Fatalf("erase the pseudonym: %+v, %v", rep, err)
			}
			// a second admin: now the first may go
			if _, err := s.AddUser(ctx, NewUser{Email: "root2@support.test", Role: RoleAdmin}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Erase(ctx, admin.Email, "test", f.files); err != nil {
				t.Fatalf("erase an admin with another left: %v", err)
			}
		})
	}
}
