package mailin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/ticket"
)

// Acceptor stores and processes one delivery; *ticket.Service is one.
type Acceptor interface {
	// Accept returns nil once the raw message is durably stored.
	Accept(ctx context.Context, d ticket.Delivery) (ticket.Receipt, error)
}

// Receiver stores a delivery and leaves its processing for later; *ticket.Service is one.
type Receiver interface {
	// Receive returns once the raw message is durably stored; processing follows.
	Receive(ctx context.Context, d ticket.Delivery) (ticket.Receipt, error)
}

// Intake is the Deliverer behind every inbound channel (SMTP, LMTP, ingest, IMAP): it
// parses a message where it arrived (in the session's goroutine, so parsing runs in
// parallel) and hands raw bytes and parse result to the Acceptor, which stores both in
// one commit; a message kept in a spool first (Spool) is parsed after the 250 instead,
// by the service, in arrival order. A message that cannot be parsed is stored all the
// same, marked failed.
type Intake struct {
	acc   Acceptor
	blobs parse.BlobWriter
	opt   parse.Options
	log   *slog.Logger
	// OnReceipt, when set, is called with each receipt (metrics, logs).
	OnReceipt func(ticket.Envelope, ticket.Receipt)
	// Queue, when the Acceptor is also a Receiver, stores each message and answers
	// without waiting for its processing (the ticket, the mail it causes), which
	// follows in the committer's next transactions: a sender's 250 waits only for the
	// raw message's commit.
	Queue bool
	// Spool, with Queue and an Acceptor that is a SpoolReceiver, keeps each message in
	// a spool instead of the database before the 250: the database's work is then
	// entirely after it (ticket.Service.ReceiveSpooled). Mail taken over IMAP is not
	// spooled: no sender waits for its answer, the server keeps the message until the
	// poller moves it, and storing it at once tells a message fetched again after a
	// crash for the duplicate it is (in the receipt, the metrics and the log), which a
	// spool's "pending" cannot.
	Spool ticket.Spool
	// RawBlobs, when set, stores big messages (past StageAt) as files addressed by
	// their hash, synced, instead of in the database's raw column, and lets a
	// listener stage them on disk as they arrive (NewStage). *blob.Store is one.
	RawBlobs parse.BlobWriter
	// StageDir is where a big message is written as it arrives when it is not
	// spooled (default the system's temporary folder); StageMax bounds such a file
	// (default the spool's maximum message size plus 64 KiB of trace).
	StageDir string
	StageMax int64

	health health
}

// SpoolReceiver keeps a delivery in a spool and leaves storing and processing it for
// later; *ticket.Service is one.
type SpoolReceiver interface {
	ReceiveSpooled(ctx context.Context, d ticket.Delivery, sp ticket.Spool) (ticket.Receipt, error)
}

// NewIntake returns an Intake storing through acc, attachments through blobs.
func NewIntake(acc Acceptor, blobs parse.BlobWriter, opt parse.Options, log *slog.Logger) *Intake {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Intake{acc: acc, blobs: blobs, opt: opt, log: log}
}

var _ Deliverer = (*Intake)(nil)

// Deliver parses raw and stores it; see Deliverer. An empty message is refused.
func (i *Intake) Deliver(ctx context.Context, raw []byte, env ticket.Envelope) error {
	if len(raw) == 0 {
		return Refuse("empty message")
	}
	if i.spoolsFirst(env) {
		// parsed after the 250 (the attachments' files with it), in arrival order
		return i.hand(ctx, ticket.Delivery{Raw: raw, Env: env, Prepare: i.prepare}, nil)
	}
	msg, perr := i.Parse(ctx, raw, env)
	if errors.Is(perr, parse.ErrStore) {
		// Could not write an attachment (disk full?): try again later rather than store
		// a message whose files are missing.
		if ctx.Err() == nil {
			i.health.record(perr)
		}
		return perr
	}
	return i.hand(ctx, ticket.Delivery{Raw: raw, Env: env, Msg: msg, ParseErr: perr}, nil)
}

// hand stores a parsed delivery (queued, spooled or accepted, as the Intake is set up);
// k, when set, is the spool record that already holds it (a big message staged there).
func (i *Intake) hand(ctx context.Context, d ticket.Delivery, k ticket.Kept) error {
	env := d.Env
	var rec ticket.Receipt
	var err error
	spooled := false
	if k != nil {
		enq, ok := i.acc.(SpoolEnqueuer)
		if !ok {
			return fmt.Errorf("mailin: store message: %T takes no spooled message", i.acc)
		}
		err = enq.EnqueueKept(ctx, d, k)
		rec, spooled = ticket.Receipt{State: "pending"}, true
	} else if i.spoolsFirst(env) {
		rec, err = i.acc.(SpoolReceiver).ReceiveSpooled(ctx, d, i.Spool)
		spooled = true
	} else if r, ok := i.acc.(Receiver); ok && i.Queue {
		rec, err = r.Receive(ctx, d)
	} else {
		rec, err = i.acc.Accept(ctx, d)
	}
	if err != nil {
		err = fmt.Errorf("mailin: store message: %w", err)
		if ctx.Err() == nil && !errors.Is(err, ErrRefused) {
			// Not a session that ended or a shutdown: our own failure.
			i.health.record(err)
		}
		return err
	}
	if d.Prepare == nil {
		i.health.record(nil) // else once it is parsed (prepare)
	}
	size := int64(len(d.Raw))
	if d.RawBlob != "" {
		size = d.RawSize
	}
	attrs := []any{slog.String("channel", env.Channel), slog.Int64("inbound_id", rec.InboundID), slog.Int64("size", size), slog.String("state", rec.State)}
	if spooled {
		// Not in the database yet: no id, and whether it is a duplicate is known when
		// it is stored (the committer logs its id when it processes it).
		attrs[1] = slog.Bool("spooled", true)
	}
	if rec.TicketKey != "" {
		attrs = append(attrs, slog.String("ticket", rec.TicketKey), slog.Bool("created", rec.Created))
	}
	if rec.Duplicate {
		attrs = append(attrs, slog.Bool("duplicate", true))
	}
	if rec.Err != "" {
		i.log.Warn("message stored but not processed", append(attrs, slog.String("error", rec.Err))...)
	} else {
		i.log.Info("message taken", attrs...)
	}
	if i.OnReceipt != nil {
		i.OnReceipt(env, rec)
	}
	return nil
}

// spoolsFirst tells whether a message received with env goes to the spool before the
// 250 (ticket.Service.ReceiveSpooled), the database's work following it.
func (i *Intake) spoolsFirst(env ticket.Envelope) bool {
	_, ok := i.acc.(SpoolReceiver)
	return ok && i.Queue && i.Spool != nil && env.Channel != "imap"
}

// prepare is the ticket.Delivery.Prepare of a message spooled before it was parsed: the
// service's preparer calls it after the 250. An attachment that could not be written
// (disk full?) is an error, tried again later; the message stays in the spool meanwhile.
func (i *Intake) prepare(ctx context.Context, d *ticket.Delivery) error {
	msg, perr := i.Parse(ctx, d.Raw, d.Env)
	if errors.Is(perr, parse.ErrStore) {
		i.health.record(perr)
		return perr
	}
	i.health.record(nil)
	d.Msg, d.ParseErr = msg, perr
	return nil
}

// Parse parses raw as received with env; it is also the ticket.ParseFunc used to retry
// stored messages.
func (i *Intake) Parse(ctx context.Context, raw []byte, env ticket.Envelope) (*ticket.Inbound, error) {
	opt := i.parseOptions(env)
	in, err := parse.Message(ctx, raw, i.blobs, opt)
	if in != nil && in.Auth.Ignored > 0 {
		i.logIgnored(env, opt, in.Auth.Ignored)
	}
	return in, err
}

// parseOptions are the parser's options for a message received with env.
func (i *Intake) parseOptions(env ticket.Envelope) parse.Options {
	opt := i.opt
	opt.EnvelopeFrom = env.From
	opt.HasEnvelope = env.Channel == "smtp" || env.Channel == "lmtp"
	opt.Channel, opt.RemoteAddr = env.Channel, env.RemoteAddr
	return opt
}

// logIgnored records that Authentication-Results fields of our authserv-id did not
// count. From an SMTP/LMTP client outside --trusted-relays it is a warning: a forgery, or
// an MTA in front that the operator forgot to list.
func (i *Intake) logIgnored(env ticket.Envelope, opt parse.Options, n int) {
	attrs := []any{slog.String("channel", env.Channel), slog.String("remote_addr", env.RemoteAddr),
		slog.String("envelope_from", env.From), slog.String("authserv_id", opt.AuthServID), slog.Int("count", n)}
	if (env.Channel == "smtp" || env.Channel == "lmtp") && !parse.RelayTrusted(opt.TrustedRelays, env.RemoteAddr) {
		i.log.Warn("authentication-results ignored: client not in --trusted-relays", attrs...)
		return
	}
	i.log.Info("authentication-results ignored: below the trusted MTA's entry hop", attrs...)
}
