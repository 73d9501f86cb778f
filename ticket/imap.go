package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrStaleLease is returned (wrapped) by SaveIMAPCursor when a writer holding a newer
// lease on the mailbox has saved its cursor: the caller has lost its lease and must stop.
var ErrStaleLease = errors.New("ticket: stale lease")

// imapQueries are the statements of queries_imap.sql.
type imapQueries struct {
	Cursor     string `query:"imap-cursor"`
	SaveCursor string `query:"imap-cursor-save"`
}

// IMAPCursor returns where the poller of mailbox stands: the UIDVALIDITY of the folder
// when it last saved, and the highest UID taken since. Both are zero for a mailbox never
// polled.
func (s *Service) IMAPCursor(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	var row struct {
		UIDValidity int64 `db:"uid_validity"`
		LastUID     int64 `db:"last_uid"`
	}
	err = s.db.GetContext(ctx, &row, s.iq.Cursor, mailbox)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("ticket: read imap cursor of %s: %w", mailbox, err)
	}
	return uint32(row.UIDValidity), uint32(row.LastUID), nil
}

// SaveIMAPCursor records the cursor of mailbox, written under the lease whose fencing
// token is fence. It refuses, with an error wrapping ErrStaleLease, when a higher fence
// has been stored: another poller took the lease since. Saving with the same or a higher
// fence replaces the cursor, which may move back (a UIDVALIDITY change starts over).
func (s *Service) SaveIMAPCursor(ctx context.Context, mailbox string, uidValidity, lastUID uint32, fence int64) error {
	n, err := s.exec(ctx, s.iq.SaveCursor, mailbox, int64(uidValidity), int64(lastUID), fence, s.now())
	if err != nil {
		return fmt.Errorf("ticket: save imap cursor of %s: %w", mailbox, err)
	}
	if n == 0 {
		return fmt.Errorf("ticket: save imap cursor of %s with fence %d: %w", mailbox, fence, ErrStaleLease)
	}
	return nil
}
