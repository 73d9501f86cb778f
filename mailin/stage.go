package mailin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
)

// Big messages.
//
// A message is read into memory up to StageAt bytes; one that goes on is written, from
// then on, to a Stage as it arrives: a record of the spool of its own (spool.Writer),
// synced before the 250, or, without a spool, a temporary file. It is then parsed from
// there in pieces (parse.MessageAt), and its raw bytes are copied, in pieces too, to a
// file of the blob store (Intake.RawBlobs, synced) that its inbound row names instead of
// holding them (ticket.Delivery.RawBlob). Nothing holds such a message whole in memory,
// so the memory of a server receiving big mail does not grow with their size.

// StageAt is the size past which a received message is staged on disk as it arrives
// instead of being held in memory (at least the header limit: the header is checked in
// memory).
const StageAt = 1 << 20

// Stage is where a message too big to hold in memory is written as it arrives. Abort
// drops it; DeliverStaged takes it over.
type Stage interface {
	io.Writer
	Abort()
}

// StagingDeliverer is a Deliverer that also takes big messages written to a Stage as
// they arrive; *Intake is one.
type StagingDeliverer interface {
	Deliverer
	// NewStage returns where a message received with env is to be written; nil (with
	// no error) when this deliverer holds messages in memory.
	NewStage(env ticket.Envelope) (Stage, error)
	// DeliverStaged is Deliver for a staged message: it returns nil only once the
	// message is durably stored, and takes the stage over in any case.
	DeliverStaged(ctx context.Context, st Stage, env ticket.Envelope) error
}

var _ StagingDeliverer = (*Intake)(nil)

// spoolStage is a message written to a spool record of its own.
type spoolStage struct{ w *spool.Writer }

func (s spoolStage) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s spoolStage) Abort()                      { s.w.Abort() }

// fileStage is a message written to a temporary file (no spool: the database keeps it
// once stored, through the blob store).
type fileStage struct {
	f    *os.File
	size int64
	max  int64
}

func (s *fileStage) Write(p []byte) (int, error) {
	if s.size+int64(len(p)) > s.max {
		return 0, spool.ErrTooBig
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("mailin: write staged message: %w", err)
	}
	return n, nil
}

func (s *fileStage) Abort() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// Create starts a spool record for a big message received with env.
func (p Spooler) Create(env ticket.Envelope) (*spool.Writer, error) {
	meta, err := json.Marshal(spoolMeta{Env: env})
	if err != nil {
		return nil, fmt.Errorf("mailin: encode envelope: %w", err)
	}
	return p.S.Create(meta)
}

// NewStage implements StagingDeliverer: a spool record when messages are spooled (as
// Deliver would), else a file of StageDir; nil when RawBlobs is not set.
func (i *Intake) NewStage(env ticket.Envelope) (Stage, error) {
	if i.RawBlobs == nil {
		return nil, nil
	}
	if sp, ok := i.spooled(env); ok {
		w, err := sp.Create(env)
		if err != nil {
			return nil, fmt.Errorf("mailin: stage message in the spool: %w", err)
		}
		return spoolStage{w}, nil
	}
	dir := i.StageDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mailin: stage folder: %w", err)
	}
	f, err := os.CreateTemp(dir, "msg-*")
	if err != nil {
		return nil, fmt.Errorf("mailin: stage message: %w", err)
	}
	max := i.StageMax
	if max <= 0 {
		max = spool.DefaultMaxMessageSize + 64<<10
	}
	return &fileStage{f: f, max: max}, nil
}

// spooled returns the spool a message received with env goes to, as in Deliver.
func (i *Intake) spooled(env ticket.Envelope) (Spooler, bool) {
	sp, ok := i.Spool.(Spooler)
	if !ok || !i.Queue || env.Channel == "imap" {
		return Spooler{}, false
	}
	if _, ok := i.acc.(SpoolEnqueuer); !ok {
		return Spooler{}, false
	}
	return sp, true
}

// DeliverStaged implements StagingDeliverer.
func (i *Intake) DeliverStaged(ctx context.Context, st Stage, env ticket.Envelope) error {
	switch st := st.(type) {
	case spoolStage:
		ref, err := st.w.Commit()
		if err != nil {
			err = fmt.Errorf("mailin: spool message: %w", err)
			i.health.record(err)
			return err
		}
		// durable from here; until handed over, a failure takes it back (the sender
		// gets a 4xx and sends it again)
		sec, err := ref.Section()
		if err != nil {
			ref.Done()
			return fmt.Errorf("mailin: read spooled message: %w", err)
		}
		d, err := i.prepareBig(ctx, sec, env)
		if err != nil {
			ref.Done()
			return err
		}
		if err := i.hand(ctx, d, kept{ref}); err != nil {
			ref.Done()
			return err
		}
		return nil
	case *fileStage:
		defer st.Abort() // the blob store keeps it once stored
		d, err := i.prepareBig(ctx, io.NewSectionReader(st.f, 0, st.size), env)
		if err != nil {
			return err
		}
		return i.hand(ctx, d, nil)
	default:
		st.Abort()
		return fmt.Errorf("mailin: stage of an unknown kind %T", st)
	}
}

// prepareBig parses a big message from r in pieces and copies it to the blob store
// (synced: the inbound row that names it may be committed next), hashing its bytes after
// the trace header on the way.
func (i *Intake) prepareBig(ctx context.Context, r *io.SectionReader, env ticket.Envelope) (ticket.Delivery, error) {
	msg, perr := i.ParseAt(ctx, r, r.Size(), env)
	if errors.Is(perr, parse.ErrStore) {
		if ctx.Err() == nil {
			i.health.record(perr)
		}
		return ticket.Delivery{}, perr
	}
	body := sha256.New()
	tee := io.TeeReader(io.NewSectionReader(r, 0, r.Size()), &skipWriter{skip: int64(env.TraceLen), w: body})
	sum, n, err := i.RawBlobs.PutBlob(ctx, tee)
	if err != nil {
		err = fmt.Errorf("%w: raw message: %w", parse.ErrStore, err)
		if ctx.Err() == nil {
			i.health.record(err)
		}
		return ticket.Delivery{}, err
	}
	return ticket.Delivery{Env: env, Msg: msg, ParseErr: perr,
		RawBlob: sum, RawSize: n, BodySum: hex.EncodeToString(body.Sum(nil))}, nil
}

// skipWriter writes to w what comes after its first skip bytes.
type skipWriter struct {
	skip int64
	w    io.Writer
}

func (s *skipWriter) Write(p []byte) (int, error) {
	n := len(p)
	if s.skip > 0 {
		k := min(s.skip, int64(len(p)))
		s.skip -= k
		p = p[k:]
	}
	if len(p) > 0 {
		if _, err := s.w.Write(p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// ParseAt is Parse reading the message from r in pieces.
func (i *Intake) ParseAt(ctx context.Context, r io.ReaderAt, size int64, env ticket.Envelope) (*ticket.Inbound, error) {
	opt := i.parseOptions(env)
	in, err := parse.MessageAt(ctx, r, size, i.blobs, opt)
	if in != nil && in.Auth.Ignored > 0 {
		i.logIgnored(env, opt, in.Auth.Ignored)
	}
	return in, err
}

// replayBig queues a big spooled record found at start-up, read in pieces.
func (i *Intake) replayBig(ctx context.Context, ref *spool.Ref, to SpoolEnqueuer) (bool, error) {
	metaB, err := ref.Meta()
	if err != nil {
		i.log.Error("spooled message unreadable; left in the spool", slog.Any("error", err))
		return false, nil
	}
	var meta spoolMeta
	if err := json.Unmarshal(metaB, &meta); err != nil {
		i.log.Error("spooled message without a readable envelope; left in the spool", slog.Any("error", err))
		return false, nil
	}
	sec, err := ref.Section()
	if err != nil {
		i.log.Error("spooled message unreadable; left in the spool", slog.Any("error", err))
		return false, nil
	}
	d, err := i.prepareBig(ctx, sec, meta.Env)
	if err != nil {
		i.log.Error("spooled message: attachments could not be written; left in the spool", slog.Any("error", err))
		return false, nil
	}
	if err := to.EnqueueKept(ctx, d, kept{ref}); err != nil {
		return false, fmt.Errorf("mailin: queue spooled message: %w", err)
	}
	return true, nil
}

// CleanStage removes the files of a stage folder (Intake.StageDir) older than age: what
// a process that died left of messages it was receiving, never acknowledged. Other
// processes sharing the folder may be writing newer ones. It returns how many it removed.
func CleanStage(dir string, age time.Duration) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mailin: list stage folder: %w", err)
	}
	n := 0
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n, nil
}
