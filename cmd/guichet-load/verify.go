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

// keyCheck is what checkKeys found of the tickets' keys and numbers.
type keyCheck struct {
	Desks  int    `json:"desks"`
	First  int    `json:"first"` // the smallest number, over the desks
	Last   int    `json:"last"`  // the largest
	NoGaps bool   `json:"no_gaps"`
	Why    string `json:"why,omitempty"`
}

func (k keyCheck) String() string {
	if !k.NoGaps {
		return "with gaps: " + k.Why
	}
	if k.Desks == 1 {
		return fmt.Sprintf("%d-%d without gaps", k.First, k.Last)
	}
	return fmt.Sprintf("without gaps on %d desks", k.Desks)
}

// checkKeys checks that each desk's tickets are numbered from 1 without gaps or
// repeats, and that their keys are distinct.
func checkKeys(ctx context.Context, db *sql.DB) (keyCheck, error) {
	rows, err := db.QueryContext(ctx, `SELECT desk_id, COUNT(*), COUNT(DISTINCT key), COUNT(DISTINCT number), MIN(number), MAX(number) FROM tickets GROUP BY desk_id`)
	if err != nil {
		return keyCheck{}, fmt.Errorf("verify: ticket keys: %w", err)
	}
	defer rows.Close()
	var ds []deskKeys
	for rows.Next() {
		var d deskKeys
		if err := rows.Scan(&d.desk, &d.tickets, &d.keys, &d.numbers, &d.min, &d.max); err != nil {
			return keyCheck{}, fmt.Errorf("verify: ticket keys: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return keyCheck{}, fmt.Errorf("verify: ticket keys: %w", err)
	}
	return judgeKeys(ds), nil
}

// deskKeys is one desk's row of checkKeys's query.
type deskKeys struct {
	desk                             int64
	tickets, keys, numbers, min, max int
}

func judgeKeys(ds []deskKeys) keyCheck {
	k := keyCheck{Desks: len(ds), NoGaps: true}
	if len(ds) == 0 {
		return keyCheck{Why: "no tickets"}
	}
	for i, d := range ds {
		if i == 0 || d.min < k.First {
			k.First = d.min
		}
		k.Last = max(k.Last, d.max)
		switch {
		case d.keys != d.tickets:
			k.NoGaps, k.Why = false, fmt.Sprintf("desk %d: %d keys for %d tickets", d.desk, d.keys, d.tickets)
		case d.numbers != d.tickets:
			k.NoGaps, k.Why = false, fmt.Sprintf("desk %d: %d numbers for %d tickets", d.desk, d.numbers, d.tickets)
		case d.min != 1 || d.max != d.tickets:
			k.NoGaps, k.Why = false, fmt.Sprintf("desk %d: numbers %d-%d for %d tickets", d.desk, d.min, d.max, d.tickets)
		}
		if !k.NoGaps {
			return k
		}
	}
	return k
}
