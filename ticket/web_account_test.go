package ticket

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// lastLink returns the link of the newest outbox mail of kind to address to, and its
// token.
func lastLink(t *testing.T, db *sqlx.DB, kind MailKind, to string) (link, token string) {
	t.Helper()
	var data string
	err := db.Get(&data, db.Rebind("SELECT data FROM outbox WHERE kind = ? AND to_email = ? ORDER BY id DESC LIMIT 1"), kind, to)
	if err != nil {
		t.Fatalf("no %s mail to %s: %v", kind, to, err)
	}
	var md struct {
		Link string `json:"link"`
	}
	if err := jsonUnmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(md.Link)
	if err != nil {
		t.Fatal(err)
	}
	return md.Link, u.Query().Get("t")
}

func TestAccountPasswordProfileAvatar(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, open(t), nil)
			u, err := s.AddUser(ctx, NewUser{Email: "Jeanne@Ecole.test", Name: "Jeanne", Password: "correct horse"})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.Authenticate(ctx, "jeanne@ecole.test ", "correct horse"); err != nil || got.ID != u.ID {
				t.Fatalf("good password: %v %v", got, err)
			}
			for _, c := range [][2]string{{"jeanne@ecole.test", "wrong"}, {"nobody@ecole.test", "correct horse"}, {"jeanne@ecole.test", ""}} {
				if _, err := s.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
					t.Errorf("Authenticate(%q, %q) = %v, want ErrBadCredentials", c[0], c[1], err)
				}
			}
			nopw, _ := s.AddUser(ctx, NewUser{Email: "sans@ecole.test"})
			if _, err := s.Authenticate(ctx, "sans@ecole.test", ""); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("user without password: %v", err)
			}
			if err := s.SetPassword(ctx, nopw, "", "premier mot"); err != nil {
				t.Fatalf("first password needs no old one: %v", err)
			}
			if err := s.SetPassword(ctx, u, "wrong", "nouveau mot de passe"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("wrong old password: %v", err)
			}
			if err := s.SetPassword(ctx, u, "correct horse", "court"); !errors.Is(err, ErrInvalid) {
				t.Errorf("short password: %v", err)
			}
			if err := s.SetPassword(ctx, u, "correct horse", "nouveau mot de passe"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, "jeanne@ecole.test", "nouveau mot de passe"); err != nil {
				t.Fatal(err)
			}

			u2, err := s.UpdateProfile(ctx, u, Profile{Name: "  Jeanne   Martin ", TimeZone: "America/Montreal", Lang: "en"})
			if err != nil || u2.Name != "Jeanne Martin" || u2.TimeZone != "America/Montreal" || u2.Lang != "en" {
				t.Fatalf("profile: %+v %v", u2, err)
			}
			if u3, err := s.UpdateProfile(ctx, u, Profile{Name: "J"}); err != nil || u3.TimeZone != DefaultTimeZone || u3.Lang != "fr" {
				t.Fatalf("profile defaults: %+v %v", u3, err)
			}
			for _, p := range []Profile{{TimeZone: "Mars/Olympus"}, {TimeZone: "Local"}, {Lang: "de"}} {
				if _, err := s.UpdateProfile(ctx, u, p); !errors.Is(err, ErrInvalid) {
					t.Errorf("profile %+v: %v", p, err)
				}
			}

			sum := strings.Repeat("ab", 32)
			if err := s.SetAvatar(ctx, u, "image/svg+xml", sum, 100); !errors.Is(err, ErrInvalid) {
				t.Errorf("svg avatar: %v", err)
			}
			if err := s.SetAvatar(ctx, u, "image/png", sum, MaxAvatarSize+1); !errors.Is(err, ErrInvalid) {
				t.Errorf("big avatar: %v", err)
			}
			if err := s.SetAvatar(ctx, u, "image/png", sum, 1000); err != nil {
				t.Fatal(err)
			}
			a, err := s.Account(ctx, u.ID)
			if err != nil || a.AvatarSHA256 != sum || a.AvatarType != "image/png" || !a.HasPassword || a.Email != "jeanne@ecole.test" {
				t.Fatalf("account: %+v %v", a, err)
			}
			if err := s.SetAvatar(ctx, u, "", "", 0); err != nil {
				t.Fatal(err)
			}
			if a, _ := s.Account(ctx, u.ID); a.AvatarSHA256 != "" || a.AvatarType != "" {
				t.Fatalf("avatar not removed: %+v", a)
			}
			if _, err := s.Account(ctx, 9999); !errors.Is(err, ErrNotFound) {
				t.Fatalf("missing account: %v", err)
			}
		})
	}
}

func TestNotifyAddress(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			db := open(t)
			s := newTestService(t, db, &now)
			if _, err := s.AddUser(ctx, NewUser{Email: "alice@support.test", Role: RoleAgent}); err != nil {
				t.Fatal(err)
			}
			u, _ := s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test", Name: "Jeanne"})
			if err := s.RequestNotifyAddress(ctx, u, "pas une adresse"); !errors.Is(err, ErrInvalid) {
				t.Fatalf("bad address: %v", err)
			}
			if err := s.RequestNotifyAddress(ctx, u, "Jeanne.Perso@Maison.test"); err != nil {
				t.Fatal(err)
			}
			link, token := lastLink(t, db, MailConfirmAddress, "jeanne.perso@maison.test")
			if !strings.HasPrefix(link, "http://127.0.0.1:8080/profile/confirm?t=") || len(token) < 20 {
				t.Fatalf("link %q", link)
			}
			if a, _ := s.Account(ctx, u.ID); a.PendingNotifyEmail != "jeanne.perso@maison.test" || a.NotifyEmail != "" {
				t.Fatalf("pending: %+v", a)
			}
			// Not confirmed yet: mail about tickets still goes to the login address.
			tk, err := s.CreateTicket(ctx, u, TicketRequest{NewTicket: NewTicket{Summary: "Wifi", Description: "en panne"}})
			if err != nil {
				t.Fatal(err)
			}
			if n := countOutbox(t, db, MailConfirmation, "jeanne@ecole.test"); n != 1 {
				t.Fatalf("confirmation to login address: %d", n)
			}
			if _, err := s.ConfirmNotifyAddress(ctx, "forged"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("forged token: %v", err)
			}
			got, err := s.ConfirmNotifyAddress(ctx, token)
			if err != nil || got.ID != u.ID {
				t.Fatalf("confirm: %+v %v", got, err)
			}
			if _, err := s.ConfirmNotifyAddress(ctx, token); !errors.Is(err, ErrNotFound) {
				t.Fatalf("token used twice: %v", err)
			}
			if a, _ := s.Account(ctx, u.ID); a.NotifyEmail != "jeanne.perso@maison.test" || a.PendingNotifyEmail != "" {
				t.Fatalf("confirmed: %+v", a)
			}
			agent, _ := s.UserByEmail(ctx, "alice@support.test")
			if _, err := s.AddComment(ctx, agent, tk.Key, CommentInput{Body: "Redémarrez la borne."}); err != nil {
				t.Fatal(err)
			}
			if n := countOutbox(t, db, MailComment, "jeanne.perso@maison.test"); n != 1 {
				t.Fatalf("comment to the notification address: %d", n)
			}
			// An expired link does nothing.
			if err := s.RequestNotifyAddress(ctx, u, "autre@maison.test"); err != nil {
				t.Fatal(err)
			}
			_, token = lastLink(t, db, MailConfirmAddress, "autre@maison.test")
			now = now.Add(25 * time.Hour)
			if _, err := s.ConfirmNotifyAddress(ctx, token); !errors.Is(err, ErrNotFound) {
				t.Fatalf("expired token: %v", err)
			}
			// Back to the login address.
			if err := s.RequestNotifyAddress(ctx, u, ""); err != nil {
				t.Fatal(err)
			}
			if a, _ := s.Account(ctx, u.ID); a.NotifyEmail != "" || a.PendingNotifyEmail != "" {
				t.Fatalf("reset: %+v", a)
			}
		})
	}
}

func countOutbox(t *testing.T, db *sqlx.DB, kind MailKind, to string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, db.Rebind("SELECT COUNT(*) FROM outbox WHERE kind = ? AND to_email = ?"), kind, to); err != nil {
		t.Fatal(err)
	}
	return n
}
