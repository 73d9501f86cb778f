package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/guichet/guichet/bizhours"
)

// SLAPolicy is the desk's service levels, counted in its business hours.
type SLAPolicy struct {
	Calendar *bizhours.Calendar
	// FirstResponse is the business time allowed before an agent's first public answer
	// (a comment the requester sees); 0: no such target.
	FirstResponse time.Duration
	// Resolution is the business time allowed before the ticket is closed; 0: none.
	Resolution time.Duration
	// WarnBefore: when this much business time is left on a target, one warning mail goes
	// to the assignee (to every agent while nobody is assigned); 0: no warning.
	WarnBefore time.Duration
}

func (p *SLAPolicy) enabled() bool {
	return p != nil && p.Calendar != nil && (p.FirstResponse > 0 || p.Resolution > 0)
}

// The SLA measures, as events and mails name them.
const (
	SLAFirstResponse = "first_response"
	SLAResolution    = "resolution"
)

// ticket_sla.flags bits.
const (
	slaWarnedResponse   = 1
	slaWarnedResolution = 2
	slaBreachedResponse = 4
	slaBreachedResolved = 8
)

type slaRow struct {
	TicketID      int64      `db:"ticket_id"`
	ElapsedS      int64      `db:"elapsed_s"`
	RunningSince  *time.Time `db:"running_since"`
	RespondedAt   *time.Time `db:"responded_at"`
	ResponseS     *int64     `db:"response_s"`
	ResponseDue   *time.Time `db:"response_due"`
	ResolutionDue *time.Time `db:"resolution_due"`
	Due           *time.Time `db:"due"`
	NextCheck     *time.Time `db:"next_check"`
	ResolvedAt    *time.Time `db:"resolved_at"`
	Flags         int        `db:"flags"`
}

type slaQueries struct {
	Row        string `query:"sla-row"`
	Insert     string `query:"sla-insert"`
	Update     string `query:"sla-update"`
	ClaimFlag  string `query:"sla-claim-flag"`
	ToCheck    string `query:"sla-to-check"`
	NextCheck  string `query:"sla-next-check"`
	Missing    string `query:"sla-missing"`
	FirstReply string `query:"sla-first-answer"`
	Daily      string `query:"sla-daily"`
}

// slaCounters counts breaches found by this process, for /metrics.
type slaCounters struct{ response, resolution atomic.Int64 }

// slaBackfilled: CheckSLA gave their clock to the tickets made before (once per process).

// SLABreaches gives the first-response and resolution breaches this process recorded.
func (s *Service) SLABreaches() (firstResponse, resolution int64) {
	return s.slaCount.response.Load(), s.slaCount.resolution.Load()
}

// SLAPolicy is the desk's policy; nil when the desk has none.
func (s *Service) SLAPolicy() *SLAPolicy {
	if !s.opt.SLA.enabled() {
		return nil
	}
	return s.opt.SLA
}

// clockRuns reports whether the SLA clock runs in a status: not while waiting (for a third
// party or for the user) and not once closed.
func clockRuns(st Status) bool { return st == StatusNew || st == StatusInProgress }

// elapsedAt is the business time counted up to now.
func (p *SLAPolicy) elapsedAt(r *slaRow, now time.Time) time.Duration {
	d := time.Duration(r.ElapsedS) * time.Second
	if r.RunningSince != nil {
		d += p.Calendar.Between(*r.RunningSince, now)
	}
	return d
}

// plan recomputes the row's deadlines and next check from its clock and flags.
func (p *SLAPolicy) plan(r *slaRow) {
	r.ResponseDue, r.ResolutionDue, r.Due, r.NextCheck = nil, nil, nil, nil
	if r.RunningSince == nil {
		return
	}
	elapsed := time.Duration(r.ElapsedS) * time.Second
	at := func(target time.Duration) *time.Time {
		t, ok := p.Calendar.Add(*r.RunningSince, max(target-elapsed, 0))
		if !ok {
			return nil
		}
		t = t.UTC()
		return &t
	}
	next := func(t *time.Time) {
		if t != nil && (r.NextCheck == nil || t.Before(*r.NextCheck)) {
			r.NextCheck = t
		}
	}
	if p.FirstResponse > 0 && r.RespondedAt == nil {
		r.ResponseDue = at(p.FirstResponse)
		if r.Flags&slaBreachedResponse == 0 {
			next(r.ResponseDue)
			if p.WarnBefore > 0 && r.Flags&slaWarnedResponse == 0 {
				next(at(p.FirstResponse - p.WarnBefore))
			}
		}
	}
	if p.Resolution > 0 {
		r.ResolutionDue = at(p.Resolution)
		if r.Flags&slaBreachedResolved == 0 {
			next(r.ResolutionDue)
			if p.WarnBefore > 0 && r.Flags&slaWarnedResolution == 0 {
				next(at(p.Resolution - p.WarnBefore))
			}
		}
	}
	r.Due = r.ResolutionDue
	if r.ResponseDue != nil {
		r.Due = r.ResponseDue
	}
}

func (s *Service) slaRowTx(ctx context.Context, q sqlx.QueryerContext, ticketID int64) (*slaRow, error) {
	var r slaRow
	err := sqlx.GetContext(ctx, q, &r, s.sq.Row, ticketID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: read SLA clock of ticket %d: %w", ticketID, err)
	}
	return &r, nil
}

func (s *Service) slaSave(ctx context.Context, tx *sqlx.Tx, r *slaRow) error {
	_, err := tx.ExecContext(ctx, s.sq.Update, r.ElapsedS, r.RunningSince, r.RespondedAt, r.ResponseS,
		r.ResponseDue, r.ResolutionDue, r.Due, r.NextCheck, r.ResolvedAt, r.Flags, r.TicketID)
	if err != nil {
		return fmt.Errorf("ticket: save SLA clock of ticket %d: %w", r.TicketID, err)
	}
	return nil
}

func (s *Service) slaInsert(ctx context.Context, tx *sqlx.Tx, r *slaRow) error {
	_, err := tx.ExecContext(ctx, s.sq.Insert, r.TicketID, r.ElapsedS, r.RunningSince, r.RespondedAt, r.ResponseS,
		r.ResponseDue, r.ResolutionDue, r.Due, r.NextCheck, r.ResolvedAt, r.Flags)
	if err != nil {
		return fmt.Errorf("ticket: start SLA clock of ticket %d: %w", r.TicketID, err)
	}
	return nil
}

// slaStart starts a new ticket's clock. answered: the ticket was recorded by an agent for
// someone else (a phone call), which is the first response.
func (s *Service) slaStart(ctx context.Context, tx *sqlx.Tx, t *Ticket, answered bool) error {
	p := s.SLAPolicy()
	if p == nil {
		return nil
	}
	now := t.CreatedAt.UTC()
	r := &slaRow{TicketID: t.ID, RunningSince: &now}
	if answered {
		r.RespondedAt, r.ResponseS = &now, new(int64)
	}
	p.plan(r)
	return s.slaInsert(ctx, tx, r)
}

// slaStatus stops or restarts the clock when a status change crosses between running and
// waiting or closed.
func (s *Service) slaStatus(ctx context.Context, tx *sqlx.Tx, t *Ticket, old, st Status, now time.Time) error {
	p := s.SLAPolicy()
	if p == nil || (clockRuns(old) == clockRuns(st) && (old == StatusClosed) == (st == StatusClosed)) {
		return nil
	}
	r, err := s.slaRowTx(ctx, tx, t.ID)
	if err != nil || r == nil {
		return err
	}
	if clockRuns(st) {
		if r.RunningSince == nil {
			n := now.UTC()
			r.RunningSince = &n
		}
	} else if r.RunningSince != nil {
		r.ElapsedS += int64(p.Calendar.Between(*r.RunningSince, now) / time.Second)
		r.RunningSince = nil
	}
	if st == StatusClosed {
		n := now.UTC()
		r.ResolvedAt = &n
		if err := s.slaBreachCheck(ctx, tx, p, t, r, now); err != nil {
			return err
		}
		if err := s.slaCount1(ctx, tx, SLAResolution, n, r.ElapsedS, 1); err != nil {
			return err
		}
	} else if r.ResolvedAt != nil {
		// Reopened: its closing no longer counts in the dashboard's resolution times.
		if err := s.slaCount1(ctx, tx, SLAResolution, *r.ResolvedAt, r.ElapsedS, -1); err != nil {
			return err
		}
		r.ResolvedAt = nil
	}
	p.plan(r)
	return s.slaSave(ctx, tx, r)
}

// slaResponded records an agent's first public answer.
func (s *Service) slaResponded(ctx context.Context, tx *sqlx.Tx, t *Ticket, now time.Time) error {
	p := s.SLAPolicy()
	if p == nil {
		return nil
	}
	r, err := s.slaRowTx(ctx, tx, t.ID)
	if err != nil || r == nil || r.RespondedAt != nil {
		return err
	}
	n := now.UTC()
	took := int64(p.elapsedAt(r, now) / time.Second)
	r.RespondedAt, r.ResponseS = &n, &took
	if err := s.slaCount1(ctx, tx, SLAFirstResponse, n, took, 1); err != nil {
		return err
	}
	if err := s.slaBreachCheck(ctx, tx, p, t, r, now); err != nil {
		return err
	}
	p.plan(r)
	return s.slaSave(ctx, tx, r)
}

// slaBreachCheck records the breaches that are due at now and not yet recorded: the
// watcher finds them when their deadline passes, but a first answer or a closing may come
// before its next pass.
func (s *Service) slaBreachCheck(ctx context.Context, tx *sqlx.Tx, p *SLAPolicy, t *Ticket, r *slaRow, now time.Time) error {
	elapsed := p.elapsedAt(r, now)
	if p.FirstResponse > 0 && r.Flags&slaBreachedResponse == 0 {
		took := elapsed
		if r.ResponseS != nil {
			took = time.Duration(*r.ResponseS) * time.Second
		}
		if took > p.FirstResponse {
			if err := s.slaBreach(ctx, tx, t, r, SLAFirstResponse); err != nil {
				return err
			}
		}
	}
	if p.Resolution > 0 && r.Flags&slaBreachedResolved == 0 && elapsed > p.Resolution {
		return s.slaBreach(ctx, tx, t, r, SLAResolution)
	}
	return nil
}

// slaBreach marks a breach once (the flag is claimed in the database, so that instances
// sharing it count it once), records it in the activity (agents only) and counts it.
func (s *Service) slaBreach(ctx context.Context, tx *sqlx.Tx, t *Ticket, r *slaRow, measure string) error {
	bit := slaBreachedResponse
	if measure == SLAResolution {
		bit = slaBreachedResolved
	}
	ok, err := s.slaClaim(ctx, tx, r, bit)
	if err != nil || !ok {
		return err
	}
	if err := s.event(ctx, tx, t.ID, 0, "sla_breach", measure); err != nil {
		return err
	}
	if measure == SLAResolution {
		s.slaCount.resolution.Add(1)
	} else {
		s.slaCount.response.Add(1)
	}
	return nil
}

func (s *Service) slaClaim(ctx context.Context, tx *sqlx.Tx, r *slaRow, bit int) (bool, error) {
	res, err := tx.ExecContext(ctx, s.sq.ClaimFlag, bit, r.TicketID, bit)
	if err != nil {
		return false, fmt.Errorf("ticket: mark SLA of ticket %d: %w", r.TicketID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ticket: mark SLA of ticket %d: %w", r.TicketID, err)
	}
	r.Flags |= bit
	return n == 1, nil
}

// CheckSLA acts on the clocks whose next check has come: it sends the one warning of a
// target about to be missed and records breaches. It gives how many tickets it looked at
// and when the next check is due (zero: none is planned).
func (s *Service) CheckSLA(ctx context.Context) (int, time.Time, error) {
	p := s.SLAPolicy()
	if p == nil {
		return 0, time.Time{}, nil
	}
	if !s.slaBackfilled.Load() {
		if err := s.slaBackfill(ctx, p); err != nil {
			return 0, time.Time{}, err
		}
		s.slaBackfilled.Store(true)
	}
	now := s.now()
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.sq.ToCheck, now, 200); err != nil {
		return 0, time.Time{}, fmt.Errorf("ticket: SLA clocks to check: %w", err)
	}
	for _, id := range ids {
		if err := s.inTx(ctx, func(tx *sqlx.Tx) error { return s.slaCheckOne(ctx, tx, p, id, now) }); err != nil {
			return 0, time.Time{}, err
		}
	}
	var next []time.Time
	if err := s.db.SelectContext(ctx, &next, s.sq.NextCheck); err != nil {
		return 0, time.Time{}, fmt.Errorf("ticket: next SLA check: %w", err)
	}
	if len(next) == 0 {
		return len(ids), time.Time{}, nil
	}
	return len(ids), next[0], nil
}

func (s *Service) slaCheckOne(ctx context.Context, tx *sqlx.Tx, p *SLAPolicy, id int64, now time.Time) error {
	r, err := s.slaRowTx(ctx, tx, id)
	if err != nil || r == nil {
		return err
	}
	if r.NextCheck == nil || r.NextCheck.After(now) {
		return nil // another instance got there first
	}
	var t Ticket
	if err := tx.GetContext(ctx, &t, s.q.TicketByID, id); err != nil {
		return fmt.Errorf("ticket: read ticket %d for its SLA: %w", id, err)
	}
	if err := s.slaBreachCheck(ctx, tx, p, &t, r, now); err != nil {
		return err
	}
	elapsed := p.elapsedAt(r, now)
	warn := func(target time.Duration, warned, breached int, measure string, due *time.Time) error {
		if target <= 0 || p.WarnBefore <= 0 || r.Flags&(warned|breached) != 0 || elapsed < target-p.WarnBefore {
			return nil
		}
		ok, err := s.slaClaim(ctx, tx, r, warned)
		if err != nil || !ok {
			return err
		}
		return s.slaWarn(ctx, tx, &t, measure, target-elapsed, due)
	}
	if r.RespondedAt == nil {
		if err := warn(p.FirstResponse, slaWarnedResponse, slaBreachedResponse, SLAFirstResponse, r.ResponseDue); err != nil {
			return err
		}
	}
	if err := warn(p.Resolution, slaWarnedResolution, slaBreachedResolved, SLAResolution, r.ResolutionDue); err != nil {
		return err
	}
	p.plan(r)
	return s.slaSave(ctx, tx, r)
}

// slaWarn mails the warning to the assignee, or to every agent while nobody is assigned,
// and records it in the activity.
func (s *Service) slaWarn(ctx context.Context, tx *sqlx.Tx, t *Ticket, measure string, left time.Duration, due *time.Time) error {
	var to []User
	if t.AssigneeID != nil {
		u, err := s.userByID(ctx, tx, *t.AssigneeID)
		if err != nil {
			return err
		}
		to = []User{u}
	} else {
		us, err := s.staff(ctx, tx)
		if err != nil {
			return err
		}
		to = us
	}
	data, err := s.mailData(ctx, tx, t, nil)
	if err != nil {
		return err
	}
	data.SLA = &SLAWarning{Measure: measure, Left: max(left, 0)}
	if due != nil {
		data.SLA.Due = *due
	}
	th, err := s.threadOf(ctx, tx, t, "")
	if err != nil {
		return err
	}
	for _, u := range to {
		if err := s.enqueue(ctx, tx, t, u, MailSLAWarning, data, th); err != nil {
			return err
		}
	}
	return s.event(ctx, tx, t.ID, 0, "sla_warning", measure)
}

// SLAWarning is what a warning mail says: which target, how much business time is left,
// and when it runs out if the clock keeps running.
type SLAWarning struct {
	Measure string        `json:"measure"`
	Left    time.Duration `json:"left"`
	Due     time.Time     `json:"due,omitzero"`
}

// slaBackfill gives a clock to the open tickets created before SLAs existed (or while
// none was set): counted from their creation, with their first public answer by an agent;
// time spent waiting before now is not known and counts as running.
func (s *Service) slaBackfill(ctx context.Context, p *SLAPolicy) error {
	for {
		var rows []struct {
			ID        int64     `db:"id"`
			Status    Status    `db:"status"`
			CreatedAt time.Time `db:"created_at"`
			UpdatedAt time.Time `db:"updated_at"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.sq.Missing, 500); err != nil {
			return fmt.Errorf("ticket: tickets without SLA clock: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			for _, t := range rows {
				created := t.CreatedAt.UTC()
				r := &slaRow{TicketID: t.ID, RunningSince: &created}
				var first []time.Time
				if err := tx.SelectContext(ctx, &first, s.sq.FirstReply, t.ID); err != nil {
					return fmt.Errorf("ticket: first answer on ticket %d: %w", t.ID, err)
				}
				if len(first) > 0 {
					f := first[0].UTC()
					took := int64(p.Calendar.Between(created, f) / time.Second)
					r.RespondedAt, r.ResponseS = &f, &took
				}
				if !clockRuns(t.Status) {
					r.ElapsedS = int64(p.Calendar.Between(created, t.UpdatedAt) / time.Second)
					r.RunningSince = nil
				}
				p.plan(r)
				if err := s.slaInsert(ctx, tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(rows) < 500 {
			return nil
		}
	}
}

// SLAState is a ticket's SLA as agents see it.
type SLAState struct {
	Measure  string        // the target that matters now: SLAFirstResponse until answered, then SLAResolution; "" when met or none
	Left     time.Duration // business time left on it; negative once breached
	Due      time.Time     // when it runs out if the clock keeps running; zero while paused
	Paused   bool          // the clock is stopped (waiting, closed)
	Breached bool          // a target was missed (now or earlier)
	// FirstResponse and Resolution detail both targets.
	FirstResponse, Resolution SLATarget
}

// SLATarget is one target's state.
type SLATarget struct {
	Set      bool          // the desk has this target
	Done     bool          // answered (first response) or closed (resolution)
	Took     time.Duration // business time it took, when done
	Left     time.Duration // business time left; negative when breached
	Due      time.Time     // zero while paused or done
	Breached bool
}

// SLAStates gives the SLA of the tickets among ids that have a clock, at now.
func (s *Service) SLAStates(ctx context.Context, ids []int64) (map[int64]SLAState, error) {
	p := s.SLAPolicy()
	out := map[int64]SLAState{}
	if p == nil || len(ids) == 0 {
		return out, nil
	}
	// The ticket's status comes with its clock: a closed ticket's clock shows done.
	q, args, err := sqlx.In(`SELECT s.ticket_id, s.elapsed_s, s.running_since, s.responded_at, s.response_s, s.response_due,
		s.resolution_due, s.due, s.next_check, s.resolved_at, s.flags, t.status
		FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id WHERE s.ticket_id IN (?)`, ids)
	if err != nil {
		return nil, fmt.Errorf("ticket: SLA states: %w", err)
	}
	var rows []struct {
		slaRow
		Status Status `db:"status"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("ticket: SLA states: %w", err)
	}
	now := s.now()
	for i := range rows {
		r := &rows[i]
		out[r.TicketID] = p.state(&r.slaRow, r.Status == StatusClosed, now)
	}
	return out, nil
}

func (p *SLAPolicy) state(r *slaRow, closed bool, now time.Time) SLAState {
	elapsed := p.elapsedAt(r, now)
	st := SLAState{Paused: r.RunningSince == nil}
	if p.FirstResponse > 0 {
		ft := SLATarget{Set: true}
		if r.ResponseS != nil {
			ft.Done, ft.Took = true, time.Duration(*r.ResponseS)*time.Second
			ft.Left = p.FirstResponse - ft.Took
		} else {
			ft.Left = p.FirstResponse - elapsed
			if r.ResponseDue != nil && !st.Paused {
				ft.Due = *r.ResponseDue
			}
		}
		ft.Breached = ft.Left < 0 || r.Flags&slaBreachedResponse != 0
		st.FirstResponse = ft
	}
	if p.Resolution > 0 {
		rt := SLATarget{Set: true, Done: closed, Left: p.Resolution - elapsed}
		if closed {
			rt.Took = elapsed
		} else if r.ResolutionDue != nil && !st.Paused {
			rt.Due = *r.ResolutionDue
		}
		rt.Breached = rt.Left < 0 || r.Flags&slaBreachedResolved != 0
		st.Resolution = rt
	}
	switch {
	case st.FirstResponse.Set && !st.FirstResponse.Done:
		st.Measure, st.Left, st.Due = SLAFirstResponse, st.FirstResponse.Left, st.FirstResponse.Due
	case st.Resolution.Set && !st.Resolution.Done:
		st.Measure, st.Left, st.Due = SLAResolution, st.Resolution.Left, st.Resolution.Due
	}
	st.Breached = st.FirstResponse.Breached || st.Resolution.Breached
	return st
}

// withSLA gives agents the SLA of each row.
func (s *Service) withSLA(ctx context.Context, u User, rows []ListRow) error {
	if !u.Role.IsStaff() || s.SLAPolicy() == nil || len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	states, err := s.SLAStates(ctx, ids)
	if err != nil {
		return err
	}
	for i := range rows {
		if st, ok := states[rows[i].ID]; ok {
			rows[i].SLA = &st
		}
	}
	return nil
}

// slaCount1 adds delta to the dashboard's daily histogram of measure: the day (UTC) of at,
// the bucket of secs (migration 0020).
func (s *Service) slaCount1(ctx context.Context, tx *sqlx.Tx, measure string, at time.Time, secs int64, delta int) error {
	if _, err := tx.ExecContext(ctx, s.sq.Daily, at.UTC().Format(time.DateOnly), measure, slaBucket(secs/60), delta); err != nil {
		return fmt.Errorf("ticket: count %s time: %w", measure, err)
	}
	return nil
}

// slaBucket is the histogram bucket of a time in minutes: 5-minute buckets up to 2 h, 15
// up to 10 h, 1 h up to 50 h, 10 h beyond (the last, 127, open).
func slaBucket(m int64) int {
	switch {
	case m < 0:
		return 0
	case m < 120:
		return int(m / 5)
	case m < 600:
		return 24 + int((m-120)/15)
	case m < 3000:
		return 56 + int((m-600)/60)
	}
	return int(min(96+(m-3000)/600, 127))
}

// slaBucketStart is the lower bound of a bucket, in minutes.
func slaBucketStart(b int) int64 {
	switch {
	case b < 24:
		return int64(b) * 5
	case b < 56:
		return 120 + int64(b-24)*15
	case b < 96:
		return 600 + int64(b-56)*60
	}
	return 3000 + int64(b-96)*600
}
