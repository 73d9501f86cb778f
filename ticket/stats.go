package ticket

import (
	"context"
	"fmt"
	"time"
)

// Stats are the counts an operator watches: stored mail by state, outbox by state with
// the age of the oldest pending mail, and tickets by status.
type Stats struct {
	Inbound         map[string]int // processed, failed, held, refused, pending
	Outbox          map[string]int // pending, sent, failed
	OutboxRetrying  int            // pending mails that failed at least once
	OldestPending   time.Duration  // age of the oldest pending mail; 0 when none
	TicketsByStatus map[Status]int
}

// Stats reads the counts; the queries use the state indexes.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Inbound: map[string]int{}, Outbox: map[string]int{}, TicketsByStatus: map[Status]int{}}
	var rows []struct {
		State  string `db:"state"`
		N      int    `db:"n"`
		Oldest any    `db:"oldest"` // a time; SQLite gives aggregates as text
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.StatsInbound); err != nil {
		return st, fmt.Errorf("ticket: inbound stats: %w", err)
	}
	for _, r := range rows {
		st.Inbound[r.State] = r.N
	}
	rows = rows[:0]
	if err := s.db.SelectContext(ctx, &rows, s.q.StatsOutbox); err != nil {
		return st, fmt.Errorf("ticket: outbox stats: %w", err)
	}
	for _, r := range rows {
		st.Outbox[r.State] = r.N
		if t, ok := asTime(r.Oldest); ok && r.State == string(OutboxPending) {
			st.OldestPending = s.now().Sub(t)
		}
	}
	if err := s.db.GetContext(ctx, &st.OutboxRetrying, s.q.StatsRetrying); err != nil {
		return st, fmt.Errorf("ticket: outbox stats: %w", err)
	}
	rows = rows[:0]
	if err := s.db.SelectContext(ctx, &rows, s.q.StatsTickets); err != nil {
		return st, fmt.Errorf("ticket: ticket stats: %w", err)
	}
	for _, r := range rows {
		st.TicketsByStatus[Status(r.State)] = r.N
	}
	return st, nil
}

// asTime reads a timestamp that a driver returned as a time or, for SQLite aggregates,
// as text in the driver's format.
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p, true
			}
		}
	case []byte:
		return asTime(string(t))
	}
	return time.Time{}, false
}
