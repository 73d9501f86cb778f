package ticket

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// The web's and the IMAP poller's writes (sessions, sign-in links, tokens, profile,
// password, avatar, whitelist, users, establishments, IMAP cursors) go through the
// committer like the intake's: while many messages are accepted and the committer's
// transactions hold SQLite's write lock longer than the busy timeout, none of them fails
// with SQLITE_BUSY. (When they wrote on their own connection they waited in SQLite's
// busy handler and failed once it gave up.)
func TestRuntimeWritesUnderIntake(t *testing.T) {
	ctx := context.Background()
	const busy = 100 * time.Millisecond
	db, err := openSQLiteFile(ctx, filepath.Join(t.TempDir(), "g.db"), busy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	s, err := NewService(ctx, db, Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"),
		Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	u, err := s.AddUser(ctx, NewUser{Email: "paul@ecole.test", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var load sync.WaitGroup
	var accepted atomic.Int64
	for i := range 4 { // senders, without pause
		load.Add(1)
		go func() {
			defer load.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Accept(ctx, testMail(fmt.Sprintf("p%d@ecole.test", i), "Demande", fmt.Sprintf("m%d.%d@x", i, n))); err != nil {
					t.Errorf("Accept: %v", err)
					return
				}
				accepted.Add(1)
			}
		}()
	}
	load.Add(1)
	go func() { // long transactions: the write lock held for three busy timeouts
		defer load.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, s.q.InsertSetting, "hold", "x") // holds the write lock
				time.Sleep(3 * busy)
				return err
			})
		}
	}()
	time.Sleep(busy) // the load under way

	ops := map[string]func(round int) error{
		"session": func(int) error {
			tok, err := s.NewSession(ctx, u.ID, 24*time.Hour)
			if err != nil {
				return err
			}
			clock.Add(int64(61 * time.Second)) // so that the next use is written
			if _, err := s.SessionUser(ctx, tok); err != nil {
				return err
			}
			return s.EndSession(ctx, tok)
		},
		"sign-in link": func(int) error {
			if err := s.RequestSignInLink(ctx, "paul@ecole.test", ""); err != nil {
				return err
			}
			var data string
			if err := db.Get(&data, db.Rebind("SELECT data FROM outbox WHERE kind = ? ORDER BY id DESC LIMIT 1"), MailSignIn); err != nil {
				return err
			}
			var md struct {
				Link string `json:"link"`
			}
			if err := jsonUnmarshal(data, &md); err != nil {
				return err
			}
			l, err := url.Parse(md.Link)
			if err != nil {
				return err
			}
			_, err = s.UseSignInLink(ctx, l.Query().Get("t"))
			return err
		},
		"token": func(int) error {
			tok, err := s.CreateToken(ctx, u, "script")
			if err != nil {
				return err
			}
			clock.Add(int64(61 * time.Second))
			if _, err := s.TokenUser(ctx, tok); err != nil {
				return err
			}
			toks, err := s.ListTokens(ctx, u)
			if err != nil {
				return err
			}
			return s.RevokeToken(ctx, u, toks[len(toks)-1].ID)
		},
		"profile": func(r int) error {
			if _, err := s.UpdateProfile(ctx, u, Profile{Name: fmt.Sprintf("Paul %d", r)}); err != nil {
				return err
			}
			return s.SetAvatar(ctx, u, "image/png", strings.Repeat("ab", 32), 100)
		},
		"password": func(r int) error {
			return s.SetPassword(ctx, u, "correct horse", "correct horse")
		},
		"whitelist": func(r int) error {
			return s.AllowParticipant(ctx, "0690026D", fmt.Sprintf("invite%d@ailleurs.test", r))
		},
		"users": func(r int) error {
			if _, err := s.AddEstablishment(ctx, Establishment{UAI: "0690026D", Name: fmt.Sprintf("Collège %d", r)}); err != nil {
				return err
			}
			_, err := s.AddUser(ctx, NewUser{Email: fmt.Sprintf("agent%d@support.test", r), Role: RoleAgent})
			return err
		},
		"imap cursor": func(r int) error {
			return s.SaveIMAPCursor(ctx, "support@imap.test/INBOX", 1, uint32(r+1), 1)
		},
	}
	var wg sync.WaitGroup
	for name, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 3 {
				if err := op(r); err != nil {
					t.Errorf("%s, round %d, during intake: %v", name, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	load.Wait()
	if accepted.Load() == 0 {
		t.Fatal("no message accepted meanwhile")
	}
}
