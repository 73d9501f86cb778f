package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// dbCounts is what the guichet child's database holds after a run.
type dbCounts struct {
	Inbound       int `json:"inbound"`
	Processed     int `json:"processed"`
	Tickets       int `json:"tickets"`
	Confirmations int `json:"confirmations"`
	AgentMails    int `json:"agent_mails"`
	OutboxPending int `json:"outbox_pending"`
	OutboxSent    int `json:"outbox_sent"`
}

func count(ctx context.Context, db *sql.DB) (dbCounts, error) {
	var c dbCounts
	for _, q := range []struct {
		dst *int
		sql string
	}{
		{&c.Inbound, `SELECT COUNT(*) FROM inbound`},
		{&c.Processed, `SELECT COUNT(*) FROM inbound WHERE state = 'processed'`},
		{&c.Tickets, `SELECT COUNT(*) FROM tickets`},
		{&c.Confirmations, `SELECT COUNT(*) FROM outbox WHERE kind = 'confirmation'`},
		{&c.AgentMails, `SELECT COUNT(*) FROM outbox WHERE kind = 'agent_new'`},
		{&c.OutboxPending, `SELECT COUNT(*) FROM outbox WHERE state = 'pending'`},
		{&c.OutboxSent, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return c, fmt.Errorf("verify: %s: %w", q.sql, err)
		}
	}
	return c, nil
}

// waitDrained counts until the outbox has no pending mail, or until wait has passed, and
// returns the last counts and how long the drain took.
func waitDrained(ctx context.Context, db *sql.DB, wait time.Duration) (dbCounts, time.Duration, error) {
	start := time.Now()
	for {
		c, err := count(ctx, db)
		if err != nil || c.OutboxPending == 0 || time.Since(start) > wait || ctx.Err() != nil {
			return c, time.Since(start), err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitProcessed waits until total inbound messages are processed (or wait has passed),
// and returns how long that took after the drive: zero when they already were.
func waitProcessed(ctx context.Context, db *sql.DB, total int, wait time.Duration) (time.Duration, error) {
	start := time.Now()
	for first := true; ; first = false {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbound WHERE state = 'processed'`).Scan(&n); err != nil {
			return 0, fmt.Errorf("verify: count processed: %w", err)
		}
		if n >= total && first {
			return 0, nil
		}
		if n >= total || time.Since(start) > wait || ctx.Err() != nil {
			return time.Since(start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}
