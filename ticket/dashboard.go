package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Dashboard is the agents' summary of the desk: tickets by status now, and over the
// last weeks the tickets created and closed, the SLA breaches, the median business times
// to first response and to resolution.
type Dashboard struct {
	Weeks    []DashboardWeek // oldest first; each starts on a Monday, 00:00 in the zone asked
	ByStatus map[Status]int  // every ticket, now
	Total    int
	// Over the weeks shown: first answers given and tickets closed, with their medians in
	// the desk's business hours (zero when none), to the minute.
	Responded, Resolved                int
	MedianFirstResponse, MedianResolve time.Duration
	BreachesFirstResponse              int
	BreachesResolution                 int
	SLA                                bool // the desk has SLAs: the times and breaches mean something
	// Satisfaction over the weeks shown: the ratings first given, by count of each score.
	Ratings RatingGroup
}

// DashboardWeek is one week's counts.
type DashboardWeek struct {
	Start                                  time.Time
	Created, Closed                        int
	BreachesFirstResponse, BreachesResolve int
}

// Dashboard gives the desk's dashboard over the last weeks (including the current one),
// weeks starting on Monday in loc (agents only). Each figure is a count over one range of
// an index, so that it stays fast at a million tickets.
func (s *Service) Dashboard(ctx context.Context, actor User, weeks int, loc *time.Location) (Dashboard, error) {
	if !actor.Role.IsStaff() {
		return Dashboard{}, fmt.Errorf("%w: the dashboard is for agents", ErrForbidden)
	}
	if weeks < 1 || weeks > 104 {
		return Dashboard{}, fmt.Errorf("%w: %d weeks (1 to 104)", ErrInvalid, weeks)
	}
	if loc == nil {
		loc = time.UTC
	}
	d := Dashboard{ByStatus: map[Status]int{}, SLA: s.SLAPolicy() != nil}
	now := s.now().In(loc)
	y, m, day := now.Date()
	monday := time.Date(y, m, day-(int(now.Weekday())+6)%7, 0, 0, 0, 0, loc)
	starts := make([]time.Time, weeks+1)
	for i := range starts {
		starts[i] = monday.AddDate(0, 0, 7*(i-weeks+1)).UTC()
	}
	// One read transaction: the figures agree with one another.
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("ticket: dashboard: %w", err)
	}
	defer tx.Rollback()
	count := func(q string, args ...any) (int, error) {
		var n int
		if err := tx.GetContext(ctx, &n, q, args...); err != nil {
			return 0, fmt.Errorf("ticket: dashboard: %w", err)
		}
		return n, nil
	}
	if d.Total, err = count(s.dq.Total); err != nil {
		return d, err
	}
	open := 0
	for _, st := range Statuses {
		if st == StatusClosed {
			continue
		}
		n, err := count(s.dq.ByStatus, st)
		if err != nil {
			return d, err
		}
		d.ByStatus[st], open = n, open+n
	}
	d.ByStatus[StatusClosed] = max(d.Total-open, 0)
	for i := range weeks {
		w := DashboardWeek{Start: starts[i]}
		from, to := starts[i], starts[i+1]
		for _, c := range []struct {
			n    *int
			q    string
			args []any
		}{
			{&w.Created, s.dq.Created, []any{from, to}},
			{&w.Closed, s.dq.Closed, []any{from, to}},
			{&w.BreachesFirstResponse, s.dq.Events, []any{"sla_breach", from, to, SLAFirstResponse}},
			{&w.BreachesResolve, s.dq.Events, []any{"sla_breach", from, to, SLAResolution}},
		} {
			if *c.n, err = count(c.q, c.args...); err != nil {
				return d, err
			}
		}
		d.BreachesFirstResponse += w.BreachesFirstResponse
		d.BreachesResolution += w.BreachesResolve
		d.Weeks = append(d.Weeks, w)
	}
	// The histograms are by day (UTC): the period's days in the agent's calendar.
	from, to := starts[0].In(loc).Format(time.DateOnly), starts[weeks].In(loc).Format(time.DateOnly)
	if d.Responded, d.MedianFirstResponse, err = s.median(ctx, tx, SLAFirstResponse, from, to); err != nil {
		return d, err
	}
	if d.Resolved, d.MedianResolve, err = s.median(ctx, tx, SLAResolution, from, to); err != nil {
		return d, err
	}
	if err := tx.GetContext(ctx, &d.Ratings, s.fq.Totals, from, to); err != nil {
		return d, fmt.Errorf("ticket: dashboard satisfaction: %w", err)
	}
	return d, nil
}

// median reads the daily histograms of measure over [from, to) and gives the number of
// values and their median, to its bucket's lower bound (5 minutes under 2 h, 15 under
// 10 h, 1 h under 50 h, 10 h beyond).
func (s *Service) median(ctx context.Context, tx *sqlx.Tx, measure, from, to string) (int, time.Duration, error) {
	var rows []struct {
		M int `db:"m"`
		N int `db:"n"`
	}
	if err := tx.SelectContext(ctx, &rows, s.dq.Buckets, measure, from, to); err != nil {
		return 0, 0, fmt.Errorf("ticket: dashboard medians: %w", err)
	}
	total := 0
	for _, r := range rows {
		total += r.N
	}
	if total == 0 {
		return 0, 0, nil
	}
	// The lower median: the value at position (total+1)/2.
	seen, half := 0, (total+1)/2
	for _, r := range rows {
		if seen += r.N; seen >= half {
			return total, time.Duration(slaBucketStart(r.M)) * time.Minute, nil
		}
	}
	return total, 0, nil
}

type dashboardQueries struct {
	Total    string `query:"dash-total"`
	ByStatus string `query:"dash-by-status"`
	Created  string `query:"dash-created"`
	Closed   string `query:"dash-closed"`
	Events   string `query:"dash-events"`
	Buckets  string `query:"dash-buckets"`
}
