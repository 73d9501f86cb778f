package mailin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// Spooler stores raw messages in a spool for a ticket.Service (ticket.Spool): the
// envelope as JSON in the record's meta, the message as its raw bytes.
type Spooler struct{ S *spool.Spool }

var _ ticket.Spool = Spooler{}

// spoolMeta is what a spool record keeps beside the raw message.
type spoolMeta struct {
	Env ticket.Envelope `json:"env"`
}

// Keep writes env and raw to the spool and returns once they are on disk.
func (p Spooler) Keep(ctx context.Context, env ticket.Envelope, raw []byte) (ticket.Kept, error) {
	meta, err := json.Marshal(spoolMeta{Env: env})
	if err != nil {
		return nil, fmt.Errorf("mailin: encode envelope: %w", err)
	}
	ref, err := p.S.Append(meta, raw)
	if err != nil {
		return nil, err
	}
	return kept{ref}, nil
}

// kept is a spool record as a ticket.Kept.
type kept struct{ ref *spool.Ref }

func (k kept) Raw() ([]byte, error) {
	_, raw, err := k.ref.Read()
	return raw, err
}

func (k kept) Done() { k.ref.Done() }

// SpoolEnqueuer takes spooled messages back after a restart; *ticket.Service is one.
type SpoolEnqueuer interface {
	EnqueueKept(ctx context.Context, d ticket.Delivery, k ticket.Kept) error
}

// Replay parses the messages that sp held at start-up (received, answered 250, not yet
// in the database when the process stopped) and queues them, oldest first, to be stored
// and processed; those already stored are duplicates, done at no cost. A record that
// cannot be read or parsed for lack of disk stays in the spool for the next start. It
// returns how many records it queued.
func (i *Intake) Replay(ctx context.Context, sp *spool.Spool, to SpoolEnqueuer) (int, error) {
	n := 0
	for _, ref := range sp.Pending() {
		if ref.Size() > StageAt && i.RawBlobs != nil {
			// a big message: read in pieces, as when it was received
			ok, err := i.replayBig(ctx, ref, to)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
			continue
		}
		metaB, raw, err := ref.Read()
		if err != nil {
			i.log.Error("spooled message unreadable; left in the spool", slog.Any("error", err))
			continue
		}
		var meta spoolMeta
		if err := json.Unmarshal(metaB, &meta); err != nil {
			i.log.Error("spooled message without a readable envelope; left in the spool", slog.Any("error", err))
			continue
		}
		msg, perr := i.Parse(ctx, raw, meta.Env)
		if errors.Is(perr, parse.ErrStore) {
			i.log.Error("spooled message: attachments could not be written; left in the spool", slog.Any("error", perr))
			continue
		}
		if err := to.EnqueueKept(ctx, ticket.Delivery{Env: meta.Env, Msg: msg, ParseErr: perr}, kept{ref}); err != nil {
			return n, fmt.Errorf("mailin: queue spooled message: %w", err)
		}
		n++
	}
	return n, nil
}
