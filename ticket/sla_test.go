package ticket

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/guichet/guichet/bizhours"
)

var parisTZ, _ = time.LoadLocation("Europe/Paris")

func paris(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, parisTZ)
	if err != nil {
		panic(err)
	}
	return t
}

func slaService(t *testing.T, db *sqlx.DB, now *time.Time) *Service {
	t.Helper()
	if _, err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	opt := Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"),
		Now: func() time.Time { return *now },
		SLA: &SLAPolicy{Calendar: bizhours.MustDefault(), FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour, WarnBefore: time.Hour}}
	s, err := NewService(context.Background(), db, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func eventKinds(t *testing.T, db *sqlx.DB, kind string) []string {
	t.Helper()
	var out []string
	if err := db.Select(&out, db.Rebind("SELECT detail FROM events WHERE kind = ? ORDER BY id"), kind); err != nil {
		t.Fatal(err)
	}
	return out
}

func slaOf(t *testing.T, s *Service, key string) SLAState {
	t.Helper()
	tk, err := s.ticketByKey(context.Background(), s.db, key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.SLAStates(context.Background(), []int64{tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := m[tk.ID]
	if !ok {
		t.Fatalf("%s has no SLA clock", key)
	}
	return st
}

// TestSLAClock follows one ticket through a week with a fake clock: the warning before the
// first-response deadline (once), the clock paused while waiting for the user, the breach
// recorded when it passes, the first answer, the resolution.
func TestSLAClock(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			now := paris("2026-12-07 16:00") // Monday
			s := slaService(t, db, &now)
			agent, err := s.AddUser(ctx, NewUser{Email: "paul@support.test", Name: "Paul Agent", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			accept(t, s, testMail("jeanne@ecole.test", "Wifi", "s1@x"))

			st := slaOf(t, s, "AURAN1-1")
			if st.Measure != SLAFirstResponse || st.Left != 4*time.Hour || !st.Due.Equal(paris("2026-12-08 10:00")) || st.Paused {
				t.Fatalf("new ticket: %+v, want 4h to first response, due Tuesday 10:00", st)
			}
			if st.Resolution.Due.IsZero() || !st.Resolution.Due.Equal(paris("2026-12-09 12:00")) {
				t.Fatalf("resolution due %v, want Wednesday 12:00", st.Resolution.Due.In(parisTZ))
			}

			// Tuesday 08:30: no warning yet; the next check is the warning, at 09:00.
			now = paris("2026-12-08 08:30")
			if _, next, err := s.CheckSLA(ctx); err != nil || !next.Equal(paris("2026-12-08 09:00")) {
				t.Fatalf("CheckSLA: next %v, %v; want Tuesday 09:00", next.In(parisTZ), err)
			}
			if n := outboxKinds(t, db)["sla_warning paul@support.test"]; n != 0 {
				t.Fatalf("warned too early (%d)", n)
			}
			// 09:05: one warning to the agent (nobody is assigned), once.
			now = paris("2026-12-08 09:05")
			for range 2 {
				if _, _, err := s.CheckSLA(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := outboxKinds(t, db)["sla_warning paul@support.test"]; n != 1 {
				t.Fatalf("warnings to the agent: %d, want 1", n)
			}
			if ev := eventKinds(t, db, "sla_warning"); len(ev) != 1 || ev[0] != SLAFirstResponse {
				t.Fatalf("warning events %v", ev)
			}

			// 09:30 the agent puts it on hold for the user, without answering publicly: the
			// clock stops with 30 minutes left.
			now = paris("2026-12-08 09:30")
			if err := s.ChangeStatus(ctx, agent, "AURAN1-1", StatusWaitingUser); err != nil {
				t.Fatal(err)
			}
			now = paris("2026-12-09 15:00")
			if _, _, err := s.CheckSLA(ctx); err != nil {
				t.Fatal(err)
			}
			st = slaOf(t, s, "AURAN1-1")
			if !st.Paused || st.Left != 30*time.Minute || !st.Due.IsZero() || st.Breached {
				t.Fatalf("paused: %+v, want 30 min left, no due date", st)
			}
			if ev := eventKinds(t, db, "sla_breach"); len(ev) != 0 {
				t.Fatalf("breach while paused: %v", ev)
			}

			// Wednesday 15:00 it is back in progress; at 15:45 the first response is late.
			if err := s.ChangeStatus(ctx, agent, "AURAN1-1", StatusInProgress); err != nil {
				t.Fatal(err)
			}
			if st = slaOf(t, s, "AURAN1-1"); !st.Due.Equal(paris("2026-12-09 15:30")) {
				t.Fatalf("restarted: due %v, want Wednesday 15:30", st.Due.In(parisTZ))
			}
			now = paris("2026-12-09 15:45")
			if _, _, err := s.CheckSLA(ctx); err != nil {
				t.Fatal(err)
			}
			if ev := eventKinds(t, db, "sla_breach"); len(ev) != 1 || ev[0] != SLAFirstResponse {
				t.Fatalf("breach events %v", ev)
			}
			if r, _ := s.SLABreaches(); r != 1 {
				t.Fatalf("first-response breaches counted: %d", r)
			}
			st = slaOf(t, s, "AURAN1-1")
			if !st.Breached || st.Left != -15*time.Minute {
				t.Fatalf("late: %+v", st)
			}

			// The agent answers at 16:00: first response took 4h30 of business time.
			now = paris("2026-12-09 16:00")
			if _, err := s.AddComment(ctx, agent, "AURAN1-1", CommentInput{Body: "Bonjour, redémarrez la borne.", Visibility: Public, Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			st = slaOf(t, s, "AURAN1-1")
			if !st.FirstResponse.Done || st.FirstResponse.Took != 4*time.Hour+30*time.Minute || st.Measure != SLAResolution {
				t.Fatalf("answered: %+v", st)
			}
			// The answer put the ticket on hold for the user: the clock waits for Jeanne.
			if !st.Paused {
				t.Fatalf("after the agent's answer the clock runs: %+v", st)
			}
			// Jeanne replies Thursday 09:00: the clock runs again. Only the resolution's own
			// warning is still to come (Friday 09:30, 1h before 16h), no second breach.
			now = paris("2026-12-10 09:00")
			d := testMail("jeanne@ecole.test", "Re: [#AURAN1-1] Wifi", "s2@x")
			d.Msg.ThreadKey = "AURAN1-1"
			accept(t, s, d)
			now = paris("2026-12-10 17:00")
			if _, next, err := s.CheckSLA(ctx); err != nil || !next.Equal(paris("2026-12-11 09:30")) {
				t.Fatalf("next check %v, %v; want Friday 09:30", next.In(parisTZ), err)
			}
			now = paris("2026-12-11 09:45")
			if _, _, err := s.CheckSLA(ctx); err != nil {
				t.Fatal(err)
			}
			if n := outboxKinds(t, db)["sla_warning paul@support.test"]; n != 2 {
				t.Fatalf("warnings: %d, want 2 (first response, resolution)", n)
			}
			if ev := eventKinds(t, db, "sla_breach"); len(ev) != 1 {
				t.Fatalf("breach events %v", ev)
			}
			// Closed Friday 11:00 after 16h30 of business time (the 16h target missed at
			// 10:30), recorded at closing even before the watcher's next pass.
			now = paris("2026-12-11 11:00")
			if err := s.ChangeStatus(ctx, agent, "AURAN1-1", StatusClosed); err != nil {
				t.Fatal(err)
			}
			if ev := eventKinds(t, db, "sla_breach"); len(ev) != 2 || ev[1] != SLAResolution {
				t.Fatalf("breach events after closing %v", ev)
			}
			st = slaOf(t, s, "AURAN1-1")
			if !st.Paused || !st.Resolution.Done || st.Measure != "" {
				t.Fatalf("closed: %+v", st)
			}
			if _, next, _ := s.CheckSLA(ctx); !next.IsZero() {
				t.Fatalf("a check is still planned after closing: %v", next)
			}
		})
	}
}

// TestSLAPhoneAndBackfill: a request recorded by an agent for a caller is answered at once;
// tickets made before the desk had SLAs get a clock from their history.
func TestSLAPhoneAndBackfill(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			now := paris("2026-12-07 10:00")
			plain := newTestService(t, db, &now)
			accept(t, plain, testMail("jeanne@ecole.test", "Avant", "b1@x"))
			plain.Close()

			now = paris("2026-12-07 11:00")
			s := slaService(t, db, &now)
			agent, err := s.AddUser(ctx, NewUser{Email: "paul@support.test", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.CheckSLA(ctx); err != nil {
				t.Fatal(err)
			}
			if st := slaOf(t, s, "AURAN1-1"); st.Measure != SLAFirstResponse || st.Left != 3*time.Hour {
				t.Fatalf("backfilled: %+v, want 3h left from its creation", st)
			}
			tk, err := s.CreateTicket(ctx, agent, TicketRequest{
				Requester: Address{Email: "marie@ecole.test", Name: "Marie"},
				NewTicket: NewTicket{Summary: "Appel : mot de passe", Description: "Oublié.", Source: SourcePhone}})
			if err != nil {
				t.Fatal(err)
			}
			if st := slaOf(t, s, tk.Key); !st.FirstResponse.Done || st.FirstResponse.Took != 0 || st.Measure != SLAResolution {
				t.Fatalf("phone request: %+v, want answered at once", st)
			}
		})
	}
}

// TestSLASortDue: agents list the tickets whose clock runs, nearest deadline first, page
// by page both ways; paused tickets are not in that view; customers cannot ask for it.
func TestSLASortDue(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			now := paris("2026-12-07 09:00")
			s := slaService(t, db, &now)
			agent, err := s.AddUser(ctx, NewUser{Email: "paul@support.test", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for i := range 4 {
				now = paris("2026-12-07 09:00").Add(time.Duration(i) * time.Hour)
				keys = append(keys, accept(t, s, testMail(fmt.Sprintf("u%d@ecole.test", i), fmt.Sprintf("D%d", i), fmt.Sprintf("s%d@x", i))).TicketKey)
			}
			// The oldest is answered (its resolution deadline now matters, later than the
			// others' first response); the second is paused.
			if _, err := s.AddComment(ctx, agent, keys[0], CommentInput{Body: "Réponse", Source: SourceWeb, KeepStatus: true}); err != nil {
				t.Fatal(err)
			}
			if err := s.ChangeStatus(ctx, agent, keys[1], StatusWaiting); err != nil {
				t.Fatal(err)
			}
			want := []string{keys[2], keys[3], keys[0]}
			var got []string
			f := Filter{Sort: SortDue, Limit: 1}
			var back string
			for {
				p, err := s.Search(ctx, agent, f)
				if err != nil {
					t.Fatal(err)
				}
				if p.Total != 3 {
					t.Fatalf("total %d, want 3", p.Total)
				}
				for _, r := range p.Items {
					got = append(got, r.Key)
				}
				if p.Next == "" {
					back = p.Prev
					break
				}
				f.Cursor = p.Next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("by deadline: %v, want %v", got, want)
			}
			p, err := s.Search(ctx, agent, Filter{Sort: SortDue, Limit: 1, Cursor: back})
			if err != nil || len(p.Items) != 1 || p.Items[0].Key != keys[3] {
				t.Fatalf("back one page: %+v %v", p.Items, err)
			}
			cust, _ := s.UserByEmail(ctx, "u0@ecole.test")
			if _, err := s.Search(ctx, cust, Filter{Sort: SortDue}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("a customer sorted by deadline: %v", err)
			}
			if _, err := s.Search(ctx, agent, Filter{Sort: "bogus"}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("bogus sort: %v", err)
			}
		})
	}
}
