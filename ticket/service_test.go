package ticket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// stores lists the databases the store tests run on: SQLite always, PostgreSQL when
// GUICHET_TEST_POSTGRES is set.
func stores(t *testing.T) map[string]func(t *testing.T) *sqlx.DB {
	m := map[string]func(t *testing.T) *sqlx.DB{"sqlite": openSQLite}
	if os.Getenv("GUICHET_TEST_POSTGRES") != "" {
		m["postgres"] = openPostgres
	} else {
		t.Log("GUICHET_TEST_POSTGRES unset: PostgreSQL store tests skipped")
	}
	return m
}

func openSQLite(t *testing.T) *sqlx.DB {
	db, _, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T) *sqlx.DB {
	base := os.Getenv("GUICHET_TEST_POSTGRES")
	admin, _, err := Open(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "guichet_t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	db, _, err := Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		admin.Close()
	})
	return db
}

func newTestService(t *testing.T, db *sqlx.DB, now *time.Time) *Service {
	t.Helper()
	if _, err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	opt := Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123")}
	if now != nil {
		opt.Now = func() time.Time { return *now }
	}
	s, err := NewService(context.Background(), db, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testMail(from, subject, mid string, refs ...string) Delivery {
	return Delivery{
		Raw: []byte("From: " + from + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + mid + ">\r\n\r\nbody of " + mid + "\r\n"),
		Env: Envelope{From: from, Recipients: []string{"support@localhost"}, Channel: "test"},
		Msg: &Inbound{
			MessageID: mid, From: Address{Name: "Jeanne Martin", Email: from}, Subject: subject,
			Summary: subject, Text: "body of " + mid, Visible: "body of " + mid, References: refs,
		},
	}
}

func accept(t *testing.T, s *Service, d Delivery) Receipt {
	t.Helper()
	r, err := s.Accept(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func outboxKinds(t *testing.T, db *sqlx.DB) map[string]int {
	var rows []struct {
		Kind string `db:"kind"`
		To   string `db:"to_email"`
	}
	if err := db.Select(&rows, "SELECT kind, to_email FROM outbox ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, r := range rows {
		m[r.Kind+" "+r.To]++
	}
	return m
}

func TestMailThreadsOntoTicket(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			s := newTestService(t, db, nil)
			if _, err := s.AddUser(ctx, NewUser{Email: "alice@support.test", Name: "Alice", Role: RoleAgent}); err != nil {
				t.Fatal(err)
			}
			r := accept(t, s, testMail("jeanne@ecole.test", "Imprimante en panne", "m1@ecole.test"))
			if !r.Created || r.TicketKey != "AURAN1-1" || r.State != "processed" {
				t.Fatalf("first mail: %+v", r)
			}
			// The same message again: a duplicate, nothing new.
			r2 := accept(t, s, testMail("jeanne@ecole.test", "Imprimante en panne", "m1@ecole.test"))
			if !r2.Duplicate || r2.TicketKey != "AURAN1-1" {
				t.Fatalf("duplicate: %+v", r2)
			}
			// By token.
			d := testMail("jeanne@ecole.test", "Re: [#AURAN1-1] Imprimante en panne", "m2@ecole.test")
			d.Msg.ThreadKey = "AURAN1-1"
			if r := accept(t, s, d); r.TicketKey != "AURAN1-1" || r.Created || r.CommentID == 0 {
				t.Fatalf("reply by token: %+v", r)
			}
			// By References to our confirmation.
			var confirmation string
			if err := db.Get(&confirmation, db.Rebind("SELECT message_id FROM outbox WHERE kind = ? ORDER BY id LIMIT 1"), MailConfirmation); err != nil {
				t.Fatal(err)
			}
			if r := accept(t, s, testMail("jeanne@ecole.test", "Re: votre requête", "m3@ecole.test", confirmation)); r.TicketKey != "AURAN1-1" || r.Created {
				t.Fatalf("reply by references: %+v", r)
			}
			// A stranger with the token gets a ticket of their own.
			d = testMail("eve@ailleurs.test", "Re: [#AURAN1-1] Imprimante en panne", "m4@ailleurs.test")
			d.Msg.ThreadKey = "AURAN1-1"
			if r := accept(t, s, d); r.TicketKey != "AURAN1-2" || !r.Created {
				t.Fatalf("stranger: %+v", r)
			}
			// The agent answers through the signed reply address: waiting_user.
			d = testMail("alice@support.test", "Re: Imprimante", "m5@support.test")
			d.Env.Recipients = []string{s.ReplyAddress("AURAN1-1", "alice@support.test")}
			if r := accept(t, s, d); r.TicketKey != "AURAN1-1" {
				t.Fatalf("agent reply: %+v", r)
			}
			det, err := s.Get(ctx, "AURAN1-1")
			if err != nil {
				t.Fatal(err)
			}
			if det.Status != StatusWaitingUser || len(det.Comments) != 3 || det.Requester != "jeanne@ecole.test" {
				t.Fatalf("detail: status %s, %d comments, requester %s", det.Status, len(det.Comments), det.Requester)
			}
			got := outboxKinds(t, db)
			want := map[string]int{
				"confirmation jeanne@ecole.test": 1, "agent_new alice@support.test": 2,
				"confirmation eve@ailleurs.test": 1, "comment alice@support.test": 2, "comment jeanne@ecole.test": 1,
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("outbox:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestReopenWindow(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			db := open(t)
			s := newTestService(t, db, &now)
			accept(t, s, testMail("jeanne@ecole.test", "Wifi", "a1@x"))
			tk, _ := s.ticketByKey(context.Background(), db, "AURAN1-1")
			tx := db.MustBegin()
			if err := s.setStatus(context.Background(), tx, tk, StatusClosed); err != nil {
				t.Fatal(err)
			}
			tx.Commit()
			now = now.Add(3 * 24 * time.Hour)
			d := testMail("jeanne@ecole.test", "Re: [#AURAN1-1] Wifi", "a2@x")
			d.Msg.ThreadKey = "AURAN1-1"
			if r := accept(t, s, d); r.TicketKey != "AURAN1-1" {
				t.Fatalf("within window: %+v", r)
			}
			if det, _ := s.Get(context.Background(), "AURAN1-1"); det.Status != StatusInProgress {
				t.Fatalf("reopened status %s", det.Status)
			}
			tk, _ = s.ticketByKey(context.Background(), db, "AURAN1-1")
			tx = db.MustBegin()
			s.setStatus(context.Background(), tx, tk, StatusClosed)
			tx.Commit()
			now = now.Add(15 * 24 * time.Hour)
			d = testMail("jeanne@ecole.test", "Re: [#AURAN1-1] Wifi", "a3@x")
			d.Msg.ThreadKey = "AURAN1-1"
			r := accept(t, s, d)
			if !r.Created || r.TicketKey != "AURAN1-2" {
				t.Fatalf("after window: %+v", r)
			}
			nt, _ := s.ticketByKey(context.Background(), db, "AURAN1-2")
			if nt.LinkedTicket == nil || *nt.LinkedTicket != tk.ID {
				t.Fatalf("new ticket not linked to the old one")
			}
		})
	}
}

func TestAutomaticAndFailures(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			d := testMail("robot@ecole.test", "Absence du bureau", "auto1@x")
			d.Msg.Automatic, d.Msg.AutoReason = true, "auto_submitted"
			r := accept(t, s, d)
			if r.Created || r.TicketKey != "" || r.State != "processed" {
				t.Fatalf("automatic unthreaded: %+v", r)
			}
			accept(t, s, testMail("jeanne@ecole.test", "Wifi", "w1@x"))
			d = testMail("robot@ecole.test", "Re: [#AURAN1-1] Absence", "auto2@x")
			d.Msg.ThreadKey, d.Msg.Automatic, d.Msg.AutoReason = "AURAN1-1", true, "auto_submitted"
			if r := accept(t, s, d); r.TicketKey != "AURAN1-1" || r.CommentID == 0 {
				t.Fatalf("automatic threaded: %+v", r)
			}
			if n := len(outboxKinds(t, db)); n != 1 {
				t.Fatalf("automatic mail caused mail: %d outbox rows", n)
			}
			// A message that could not be parsed is stored as failed.
			r = accept(t, s, Delivery{Raw: []byte("garbage"), Env: Envelope{Channel: "test"}, ParseErr: fmt.Errorf("no header")})
			if r.State != "failed" || !strings.Contains(r.Err, "no header") {
				t.Fatalf("unparsable: %+v", r)
			}
			// A message without a sender fails processing, stays stored, and is retried.
			d = testMail("", "Sans expéditeur", "nofrom@x")
			d.Env.From = ""
			if r := accept(t, s, d); r.State != "failed" {
				t.Fatalf("no sender: %+v", r)
			}
			failed, err := s.ListInbound(context.Background(), "failed", 10)
			if err != nil || len(failed) != 2 {
				t.Fatalf("failed list: %v %v", failed, err)
			}
			st, err := s.Reprocess(context.Background(), func(ctx context.Context, raw []byte, env Envelope) (*Inbound, error) {
				return &Inbound{From: Address{Email: "fixed@ecole.test"}, Summary: "Réparé", Text: string(raw)}, nil
			}, 5)
			if err != nil || st.Processed != 2 {
				t.Fatalf("reprocess: %+v %v", st, err)
			}
		})
	}
}

func TestConcurrentIntakeKeys(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			const n = 200
			var wg sync.WaitGroup
			keys := make(chan string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r, err := s.Accept(context.Background(), testMail(fmt.Sprintf("u%d@ecole.test", i%7), "Demande", fmt.Sprintf("c%d@x", i)))
					if err != nil {
						t.Error(err)
					}
					keys <- r.TicketKey
				}(i)
			}
			wg.Wait()
			close(keys)
			seen := map[string]bool{}
			for k := range keys {
				seen[k] = true
			}
			for i := 1; i <= n; i++ {
				if !seen[fmt.Sprintf("AURAN1-%d", i)] {
					t.Fatalf("key AURAN1-%d missing: keys have a gap or a duplicate", i)
				}
			}
		})
	}
}

func TestOutboxClaimOnce(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			for i := 0; i < 5; i++ {
				accept(t, s, testMail(fmt.Sprintf("u%d@ecole.test", i), "Demande", fmt.Sprintf("o%d@x", i)))
			}
			ctx := context.Background()
			a, err := s.ClaimOutbox(ctx, 3, time.Minute)
			if err != nil || len(a) != 3 {
				t.Fatalf("claim a: %d %v", len(a), err)
			}
			b, _ := s.ClaimOutbox(ctx, 10, time.Minute)
			if len(b) != 2 {
				t.Fatalf("claim b got %d rows, want the 2 left", len(b))
			}
			if a[0].Data.Ticket.Key == "" || a[0].ReplyTo == "" || a[0].MessageID == "" {
				t.Fatalf("claimed row incomplete: %+v", a[0])
			}
			if err := s.MarkSent(ctx, a[0].ID, "250 ok"); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkRetry(ctx, a[1].ID, time.Now().Add(-time.Second), "451 later"); err != nil {
				t.Fatal(err)
			}
			c, _ := s.ClaimOutbox(ctx, 10, time.Minute)
			if len(c) != 1 || c[0].ID != a[1].ID || c[0].Attempts != 1 {
				t.Fatalf("retry claim: %+v", c)
			}
			// Rows claimed and not tried are given back: due at once, no attempt counted;
			// a row sent meanwhile is left as it is.
			if err := s.ReleaseOutbox(ctx, []int64{b[0].ID, b[1].ID, a[0].ID}); err != nil {
				t.Fatal(err)
			}
			d, _ := s.ClaimOutbox(ctx, 10, time.Minute)
			if len(d) != 2 || d[0].ID != b[0].ID || d[1].ID != b[1].ID || d[0].Attempts != 0 || d[1].Attempts != 0 {
				t.Fatalf("claim after release: %+v", d)
			}
		})
	}
}

func TestValidateUAI(t *testing.T) {
	for uai, ok := range map[string]bool{"0690026D": true, "0690026E": false, "069002D": false, "X690026D": false, "0000000A": true} {
		if err := ValidateUAI(uai); (err == nil) != ok {
			t.Errorf("ValidateUAI(%q) = %v, want ok=%v", uai, err, ok)
		}
	}
}

func TestReplyAddress(t *testing.T) {
	s := &Service{opt: Options{Secret: []byte("0123456789abcdef")}, local: "support", domain: "localhost"}
	a := s.ReplyAddress("AURAN1-13", "Jeanne@Ecole.test")
	if key, ok := s.VerifyReplyAddress(a, "jeanne@ecole.test"); !ok || key != "AURAN1-13" {
		t.Fatalf("verify %s: %v %v", a, key, ok)
	}
	if _, ok := s.VerifyReplyAddress(a, "eve@ailleurs.test"); ok {
		t.Fatal("token accepted for another sender")
	}
	if _, ok := s.VerifyReplyAddress(strings.Replace(a, "auran1-13", "auran1-14", 1), "jeanne@ecole.test"); ok {
		t.Fatal("token accepted for another ticket")
	}
}

func TestOutboxConcurrentClaims(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			const n = 60
			for i := 0; i < n; i++ {
				accept(t, s, testMail(fmt.Sprintf("u%d@ecole.test", i), "Demande", fmt.Sprintf("cc%d@x", i)))
			}
			var mu sync.Mutex
			seen := map[int64]int{}
			var wg sync.WaitGroup
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						rows, err := s.ClaimOutbox(context.Background(), 4, time.Minute)
						if err != nil {
							t.Error(err)
							return
						}
						if len(rows) == 0 {
							return
						}
						mu.Lock()
						for _, r := range rows {
							seen[r.ID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Fatalf("claimed %d distinct rows, want %d", len(seen), n)
			}
			for id, c := range seen {
				if c != 1 {
					t.Fatalf("row %d claimed %d times", id, c)
				}
			}
		})
	}
}

func TestStats(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := newTestService(t, db, nil)
			accept(t, s, testMail("a@ecole.test", "Un", "s1@x"))
			accept(t, s, Delivery{Raw: []byte("x"), Env: Envelope{Channel: "test"}, ParseErr: fmt.Errorf("broken")})
			st, err := s.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Inbound["processed"] != 1 || st.Inbound["failed"] != 1 || st.Outbox["pending"] != 1 || st.TicketsByStatus[StatusNew] != 1 {
				t.Fatalf("stats %+v", st)
			}
			if st.OldestPending < 0 || st.OldestPending > time.Minute {
				t.Fatalf("oldest pending %v", st.OldestPending)
			}
		})
	}
}

// TestReprocessOnce: two instances retrying the same failed message at start-up make
// one ticket.
func TestReprocessOnce(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a := newTestService(t, db, nil)
			b, err := NewService(context.Background(), db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef0123")})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for i := 0; i < 10; i++ {
				accept(t, a, Delivery{Raw: []byte(fmt.Sprintf("m%d", i)), Env: Envelope{Channel: "test"}, ParseErr: fmt.Errorf("broken")})
			}
			parse := func(ctx context.Context, raw []byte, env Envelope) (*Inbound, error) {
				return &Inbound{From: Address{Email: "x@ecole.test"}, MessageID: string(raw), Summary: "Réparé", Text: string(raw)}, nil
			}
			var wg sync.WaitGroup
			for _, s := range []*Service{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.Reprocess(context.Background(), parse, 5); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			var n int
			db.Get(&n, "SELECT COUNT(*) FROM tickets")
			if n != 10 {
				t.Fatalf("%d tickets from 10 messages retried by two instances", n)
			}
		})
	}
}
