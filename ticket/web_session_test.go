package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestSessions(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			db := open(t)
			s := newTestService(t, db, &now)
			u, _ := s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test"})
			tok, err := s.NewSession(ctx, u.ID, time.Hour)
			if err != nil || len(tok) < 40 {
				t.Fatalf("session token %q: %v", tok, err)
			}
			var stored int
			db.Get(&stored, db.Rebind("SELECT COUNT(*) FROM sessions WHERE token_hash = ?"), tok)
			if stored != 0 {
				t.Fatal("the token is stored in clear")
			}
			if got, err := s.SessionUser(ctx, tok); err != nil || got.ID != u.ID {
				t.Fatalf("session user: %v %v", got, err)
			}
			// Sliding: used at 50 minutes, still valid at 100.
			now = now.Add(50 * time.Minute)
			if _, err := s.SessionUser(ctx, tok); err != nil {
				t.Fatal(err)
			}
			now = now.Add(50 * time.Minute)
			if _, err := s.SessionUser(ctx, tok); err != nil {
				t.Fatalf("sliding expiry: %v", err)
			}
			now = now.Add(61 * time.Minute)
			if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
				t.Fatalf("expired session: %v", err)
			}
			tok2, _ := s.NewSession(ctx, u.ID, time.Hour)
			if err := s.EndSession(ctx, tok2); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionUser(ctx, tok2); !errors.Is(err, ErrNotFound) {
				t.Fatalf("ended session: %v", err)
			}
			for _, bad := range []string{"", "nope"} {
				if _, err := s.SessionUser(ctx, bad); !errors.Is(err, ErrNotFound) {
					t.Fatalf("token %q: %v", bad, err)
				}
			}
		})
	}
}

func TestSignInLinks(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			db := open(t)
			s := newTestService(t, db, &now)
			u, _ := s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test", Lang: "en"})
			if err := s.RequestSignInLink(ctx, "inconnu@ecole.test", ""); err != nil {
				t.Fatalf("unknown address: %v", err)
			}
			var n int
			db.Get(&n, "SELECT COUNT(*) FROM outbox")
			if n != 0 {
				t.Fatal("mail sent to an unknown address")
			}
			if err := s.RequestSignInLink(ctx, "Jeanne@ecole.test", ""); err != nil {
				t.Fatal(err)
			}
			link, token := lastLink(t, db, MailSignIn, "jeanne@ecole.test")
			if !strings.HasPrefix(link, "http://127.0.0.1:8080/login/link?t=") {
				t.Fatalf("link %q", link)
			}
			var row struct {
				TicketID *int64 `db:"ticket_id"`
				Key      string `db:"ticket_key"`
				Lang     string `db:"lang"`
			}
			db.Get(&row, db.Rebind("SELECT ticket_id, ticket_key, lang FROM outbox WHERE kind = ?"), MailSignIn)
			if row.TicketID != nil || row.Key != "" || row.Lang != "en" {
				t.Fatalf("outbox row %+v", row)
			}
			// Two uses at once: exactly one wins.
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if got, err := s.UseSignInLink(ctx, token); err == nil && got.ID == u.ID {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d uses of a single-use link succeeded", wins)
			}
			s.RequestSignInLink(ctx, "jeanne@ecole.test", "")
			_, token = lastLink(t, db, MailSignIn, "jeanne@ecole.test")
			now = now.Add(16 * time.Minute)
			if _, err := s.UseSignInLink(ctx, token); !errors.Is(err, ErrNotFound) {
				t.Fatalf("expired link: %v", err)
			}
			// A cap on links per user.
			for range 8 {
				if err := s.RequestSignInLink(ctx, "jeanne@ecole.test", ""); err != nil {
					t.Fatal(err)
				}
			}
			if c := countOutbox(t, db, MailSignIn, "jeanne@ecole.test"); c != 2+signInLinksPerTTL {
				t.Fatalf("%d sign-in mails, want %d", c, 2+signInLinksPerTTL)
			}
		})
	}
}

func TestAPITokens(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, open(t), nil)
			u, _ := s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test"})
			other, _ := s.AddUser(ctx, NewUser{Email: "paul@ecole.test"})
			tok, err := s.CreateToken(ctx, u, " script  de suivi ")
			if err != nil || !strings.HasPrefix(tok, TokenPrefix) || len(tok) < 40 {
				t.Fatalf("token %q: %v", tok, err)
			}
			if got, err := s.TokenUser(ctx, tok); err != nil || got.ID != u.ID || got.Email != "jeanne@ecole.test" {
				t.Fatalf("token user: %+v %v", got, err)
			}
			for _, bad := range []string{"", "gch_nope", tok + "x", strings.TrimPrefix(tok, TokenPrefix)} {
				if _, err := s.TokenUser(ctx, bad); !errors.Is(err, ErrBadCredentials) {
					t.Errorf("token %q: %v", bad, err)
				}
			}
			ts, err := s.ListTokens(ctx, u)
			if err != nil || len(ts) != 1 || ts[0].Name != "script de suivi" || ts[0].LastUsed == nil || ts[0].RevokedAt != nil {
				t.Fatalf("tokens: %+v %v", ts, err)
			}
			if err := s.RevokeToken(ctx, other, ts[0].ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("someone else's token revoked: %v", err)
			}
			if err := s.RevokeToken(ctx, u, ts[0].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenUser(ctx, tok); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("revoked token: %v", err)
			}
			if ts, _ := s.ListTokens(ctx, u); len(ts) != 1 || ts[0].RevokedAt == nil {
				t.Fatalf("revoked token listed: %+v", ts)
			}
		})
	}
}
