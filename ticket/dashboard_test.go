package ticket

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestDashboard: three weeks of a desk with a fake clock: created and closed per week
// (Monday to Monday in Paris), status counts, SLA breaches, medians in business hours.
func TestDashboard(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			now := paris("2026-11-23 09:00") // Monday
			s := slaService(t, db, &now)     // first response 4h, resolution 16h, Default calendar
			agent, err := s.AddUser(ctx, NewUser{Email: "paul@support.test", Name: "Paul", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			mk := func(i int) string {
				return accept(t, s, testMail(fmt.Sprintf("u%d@ecole.test", i), fmt.Sprintf("Demande %d", i), fmt.Sprintf("d%d@x", i))).TicketKey
			}
			// Week 1: two tickets; the first answered after 1h and closed after 3h.
			k1, k2 := mk(1), mk(2)
			now = paris("2026-11-23 10:00")
			if _, err := s.AddComment(ctx, agent, k1, CommentInput{Body: "Réponse", Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			now = paris("2026-11-23 12:00")
			if err := s.ChangeStatus(ctx, agent, k1, StatusClosed); err != nil {
				t.Fatal(err)
			}
			// Week 2: one ticket answered after 5h (late); k2 closed, never answered: both of
			// its targets missed.
			now = paris("2026-11-30 09:00")
			k3 := mk(3)
			now = paris("2026-11-30 14:00")
			if _, err := s.AddComment(ctx, agent, k3, CommentInput{Body: "Réponse", Source: SourceWeb}); err != nil {
				t.Fatal(err)
			}
			if err := s.ChangeStatus(ctx, agent, k2, StatusClosed); err != nil {
				t.Fatal(err)
			}
			// Week 3 (this week): one new ticket.
			now = paris("2026-12-07 08:30")
			mk(4)
			now = paris("2026-12-08 11:00")

			jeanne, _ := s.UserByEmail(ctx, "u1@ecole.test")
			if _, err := s.Dashboard(ctx, jeanne, 3, parisTZ); !errors.Is(err, ErrForbidden) {
				t.Fatalf("a customer's dashboard: %v", err)
			}
			if _, err := s.Dashboard(ctx, agent, 0, parisTZ); !errors.Is(err, ErrInvalid) {
				t.Fatalf("0 weeks: %v", err)
			}
			d, err := s.Dashboard(ctx, agent, 3, parisTZ)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, w := range d.Weeks {
				got += fmt.Sprintf("%s c%d f%d b%d/%d; ", w.Start.In(parisTZ).Format("01-02"), w.Created, w.Closed, w.BreachesFirstResponse, w.BreachesResolve)
			}
			if want := "11-23 c2 f1 b0/0; 11-30 c1 f1 b2/1; 12-07 c1 f0 b0/0; "; got != want {
				t.Errorf("weeks: %s\nwant   %s", got, want)
			}
			if d.Total != 4 || d.ByStatus[StatusClosed] != 2 || d.ByStatus[StatusNew] != 1 || d.ByStatus[StatusWaitingUser] != 1 {
				t.Errorf("statuses: total %d %v", d.Total, d.ByStatus)
			}
			// First answers: 1h and 5h: the lower median is 1h. Resolutions: k1 1h (its clock
			// stopped at the answer, waiting for the user), k2 55h (never answered).
			if d.Responded != 2 || d.MedianFirstResponse != time.Hour {
				t.Errorf("first response: %d, median %v", d.Responded, d.MedianFirstResponse)
			}
			if d.Resolved != 2 || d.MedianResolve != time.Hour {
				t.Errorf("resolution: %d, median %v", d.Resolved, d.MedianResolve)
			}
			if d.BreachesFirstResponse != 2 || d.BreachesResolution != 1 || !d.SLA {
				t.Errorf("breaches %d/%d", d.BreachesFirstResponse, d.BreachesResolution)
			}
		})
	}
}

func TestSLABuckets(t *testing.T) {
	prev := -1
	for m := int64(0); m < 30000; m++ {
		b := slaBucket(m)
		if b < prev || b > 127 {
			t.Fatalf("slaBucket(%d) = %d after %d", m, b, prev)
		}
		if start := slaBucketStart(b); start > m || slaBucket(start) != b {
			t.Fatalf("bucket %d of %d min starts at %d", b, m, start)
		}
		prev = b
	}
	for m, want := range map[int64]int{0: 0, 4: 0, 5: 1, 119: 23, 120: 24, 599: 55, 600: 56, 2999: 95, 3000: 96, 1 << 40: 127, -5: 0} {
		if got := slaBucket(m); got != want {
			t.Errorf("slaBucket(%d) = %d, want %d", m, got, want)
		}
	}
}

// TestDashboardReopened: a reopened ticket's closing no longer counts in the resolution
// times; closed again, its new time does.
func TestDashboardReopened(t *testing.T) {
	ctx := context.Background()
	now := paris("2026-12-07 09:00")
	s := slaService(t, openSQLite(t), &now)
	agent, err := s.AddUser(ctx, NewUser{Email: "paul@support.test", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	k := accept(t, s, testMail("u@ecole.test", "Demande", "r1@x")).TicketKey
	resolved := func() (int, time.Duration) {
		d, err := s.Dashboard(ctx, agent, 1, parisTZ)
		if err != nil {
			t.Fatal(err)
		}
		return d.Resolved, d.MedianResolve
	}
	now = paris("2026-12-07 10:00")
	if err := s.ChangeStatus(ctx, agent, k, StatusClosed); err != nil {
		t.Fatal(err)
	}
	if n, m := resolved(); n != 1 || m != time.Hour {
		t.Fatalf("closed: %d, %v", n, m)
	}
	now = paris("2026-12-07 11:00")
	if err := s.ChangeStatus(ctx, agent, k, StatusInProgress); err != nil {
		t.Fatal(err)
	}
	if n, _ := resolved(); n != 0 {
		t.Fatalf("reopened: %d resolved", n)
	}
	now = paris("2026-12-07 13:00")
	if err := s.ChangeStatus(ctx, agent, k, StatusClosed); err != nil {
		t.Fatal(err)
	}
	if n, m := resolved(); n != 1 || m != 3*time.Hour {
		t.Fatalf("closed again: %d, %v", n, m)
	}
}
