package ticket

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ParseFunc turns a stored raw message back into an Inbound (mailin's parser).
type ParseFunc func(ctx context.Context, raw []byte, env Envelope) (*Inbound, error)

// RetryStats counts what Reprocess did.
type RetryStats struct {
	Tried, Processed, Failed int
}

// storedRow is a stored message read back to be processed again.
type storedRow struct {
	ID           int64  `db:"id"`
	Raw          []byte `db:"raw"`
	RawBlob      string `db:"raw_blob"`
	EnvelopeFrom string `db:"envelope_from"`
	Recipients   string `db:"recipients"`
	Channel      string `db:"channel"`
	RemoteAddr   string `db:"remote_addr"`
}

// Reprocess processes again the stored messages that failed or were left pending, up to
// maxAttempts tries each, one transaction per message. It runs at start-up so that a
// message that failed for a reason since fixed (a bug, a full disk), or that was stored
// but not yet processed when the process stopped, is not left behind.
func (s *Service) Reprocess(ctx context.Context, parse ParseFunc, maxAttempts int) (RetryStats, error) {
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	var rows []storedRow
	if err := s.db.SelectContext(ctx, &rows, s.q.InboundToRetry, maxAttempts, 500); err != nil {
		return RetryStats{}, fmt.Errorf("ticket: list messages to retry: %w", err)
	}
	return s.reprocessRows(ctx, parse, rows)
}

// ReprocessStale processes the messages stored more than olderThan ago and still
// pending: those of an instance that died before processing them (a live instance
// processes its own within seconds). Run it now and then; the row claim makes it safe
// alongside the instance that stored them.
func (s *Service) ReprocessStale(ctx context.Context, parse ParseFunc, olderThan time.Duration) (RetryStats, error) {
	var rows []storedRow
	if err := s.db.SelectContext(ctx, &rows, s.q.InboundStale, s.now().Add(-olderThan), 200); err != nil {
		return RetryStats{}, fmt.Errorf("ticket: list stale messages: %w", err)
	}
	return s.reprocessRows(ctx, parse, rows)
}

func (s *Service) reprocessRows(ctx context.Context, parse ParseFunc, rows []storedRow) (RetryStats, error) {
	var st RetryStats
	for _, r := range rows {
		st.Tried++
		env := Envelope{From: r.EnvelopeFrom, Channel: r.Channel, RemoteAddr: r.RemoteAddr}
		if r.Recipients != "" {
			env.Recipients = strings.Split(r.Recipients, ",")
		}
		if r.RawBlob != "" {
			// A big message, rarely here (it failed, or its instance died): read back
			// whole to be parsed again.
			raw, err := s.readRawBlob(ctx, r.ID, r.RawBlob)
			if err != nil {
				s.log.Error("stored message unreadable; left for a later retry", slog.Int64("inbound_id", r.ID), slog.Any("error", err))
				st.Failed++
				continue
			}
			r.Raw = raw
		}
		d := Delivery{Raw: r.Raw, Env: env}
		d.Msg, d.ParseErr = parse(ctx, r.Raw, env)
		rec, err := s.reprocessOne(ctx, r.ID, d)
		if err != nil {
			return st, err
		}
		if rec.State == "processed" {
			st.Processed++
		} else {
			st.Failed++
		}
	}
	return st, nil
}

// readRawBlob reads a big stored message whole.
func (s *Service) readRawBlob(ctx context.Context, id int64, sum string) ([]byte, error) {
	rc, err := s.openRawBlob(ctx, id, sum)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (s *Service) reprocessOne(ctx context.Context, id int64, d Delivery) (Receipt, error) {
	rec := Receipt{InboundID: id}
	err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		rec = Receipt{InboundID: id}
		// Claim the row: another instance retrying it at the same time waits on this
		// row lock, then finds it no longer failed and leaves it.
		res, err := tx.ExecContext(ctx, s.cq.ClaimRetry, id)
		if err != nil {
			return fmt.Errorf("ticket: claim inbound %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			rec.State = "processed"
			rec.Duplicate = true // done elsewhere meanwhile
			return nil
		}
		if d.Msg == nil {
			msg := "parse: unknown error"
			if d.ParseErr != nil {
				msg = "parse: " + d.ParseErr.Error()
			}
			rec.State, rec.Err = "failed", msg
			_, err := tx.ExecContext(ctx, s.q.InboundFailed, msg, s.now(), id)
			return err
		}
		return s.processSaved(ctx, tx, &rec, d)
	})
	if err != nil {
		return rec, fmt.Errorf("ticket: retry inbound %d: %w", id, err)
	}
	return rec, nil
}
