package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/guichet/guichet/mailin"
	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/ticket"
)

// cmdIngest stores one message read from stdin, for an MTA's pipe transport. Exit codes
// follow sysexits: 0 stored, 65 refused (empty or too big: the MTA bounces it), 75 a
// temporary failure (the MTA keeps it and tries again).
func cmdIngest(ctx context.Context, e *env) error {
	max := e.cfg.MaxMessageSize
	// the first MiB in memory; a longer message is staged on disk as it is read
	raw, err := io.ReadAll(io.LimitReader(e.io.Stdin, min(max, mailin.StageAt)+1))
	if err != nil {
		return exitError{exitTempFail, fmt.Errorf("read message: %w", err)}
	}
	if int64(len(raw)) > max {
		return exitError{exitDataErr, fmt.Errorf("message larger than %d bytes refused", max)}
	}
	if len(raw) == 0 {
		return exitError{exitDataErr, errors.New("empty message refused")}
	}
	a, err := openApp(ctx, e, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	in := newIntake(e, a)
	env := ingestEnvelope(e)
	if int64(len(raw)) > mailin.StageAt {
		err = ingestStaged(ctx, e, in, raw, env)
	} else {
		err = in.Deliver(ctx, raw, env)
	}
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return err
		}
		if errors.Is(err, mailin.ErrRefused) {
			return exitError{exitDataErr, err}
		}
		return exitError{exitTempFail, err}
	}
	if !e.cfg.NoSend {
		sendCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := sendQueued(sendCtx, e, a); err != nil {
			// The message is stored; the server's sender will deliver the mail later.
			e.log.Warn("mail queued but not sent yet", "error", err)
		}
	}
	return nil
}

// ingestStaged writes a message longer than mailin.StageAt to a stage, head then the
// rest of stdin in pieces, up to --max-message-size, and delivers it from there.
func ingestStaged(ctx context.Context, e *env, in *mailin.Intake, head []byte, env ticket.Envelope) error {
	max := e.cfg.MaxMessageSize
	st, err := in.NewStage(env)
	if err != nil {
		return err
	}
	if st == nil { // an Intake without a blob store holds messages in memory
		rest, err := io.ReadAll(io.LimitReader(e.io.Stdin, max+1-int64(len(head))))
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if int64(len(head)+len(rest)) > max {
			return exitError{exitDataErr, fmt.Errorf("message larger than %d bytes refused", max)}
		}
		return in.Deliver(ctx, append(head, rest...), env)
	}
	if _, err := st.Write(head); err != nil {
		st.Abort()
		return fmt.Errorf("stage message: %w", err)
	}
	n, err := io.Copy(st, io.LimitReader(e.io.Stdin, max+1-int64(len(head))))
	if err != nil {
		st.Abort()
		return fmt.Errorf("read message: %w", err)
	}
	if int64(len(head))+n > max {
		st.Abort()
		return exitError{exitDataErr, fmt.Errorf("message larger than %d bytes refused", max)}
	}
	return in.DeliverStaged(ctx, st, env)
}

// ingestEnvelope is the envelope the MTA gave: --sender and --recipient (Postfix's pipe
// passes ${sender} and ${original_recipient} as arguments: it sets no environment),
// else $SENDER and $RECIPIENT (as procmail-style callers set them). A reply reaching the
// signed reply address only by the envelope (Bcc) threads by it, as over LMTP.
func ingestEnvelope(e *env) ticket.Envelope {
	env := ticket.Envelope{Channel: "ingest", From: e.io.Getenv("SENDER")}
	if e.cfg.Sender.set {
		env.From = e.cfg.Sender.v // empty: a bounce's null sender, whatever $SENDER says
	}
	for _, r := range e.cfg.Recipients {
		if r = strings.TrimSpace(r); r != "" {
			env.Recipients = append(env.Recipients, r)
		}
	}
	if len(e.cfg.Recipients) == 0 {
		if r := strings.TrimSpace(e.io.Getenv("RECIPIENT")); r != "" {
			env.Recipients = []string{r}
		}
	}
	return env
}

// newIntake builds the intake of app a: parse, then store and process.
func newIntake(e *env, a *app) *mailin.Intake {
	// attachments of mail are not synced: the raw message keeps their bytes (see package
	// blob); a big raw message, kept in the blob store, is
	in := mailin.NewIntake(a.svc, a.blobs.ForMail(), parseOptions(e.cfg), e.log.With("component", "intake"))
	in.RawBlobs = a.blobs
	in.StageDir = filepath.Join(e.cfg.DataDir, "stage")
	in.StageMax = e.cfg.MaxMessageSize + 64<<10
	return in
}

// parseOptions are the parser's settings from the configuration (already validated).
func parseOptions(c Config) parse.Options {
	relays, _ := c.trustedRelays()
	return parse.Options{
		LoopValue: c.SupportAddress, SupportAddresses: []string{c.SupportAddress},
		AuthServID: c.AuthServID, CheckDKIM: c.CheckDKIM, TrustedRelays: relays,
	}
}

func cmdInspect(ctx context.Context, e *env) error {
	var r io.Reader = e.io.Stdin
	if len(e.args) > 1 {
		return usageError{"usage: guichet inspect [--json] [FILE]"}
	}
	if len(e.args) == 1 && e.args[0] != "-" {
		f, err := os.Open(e.args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, e.cfg.MaxMessageSize+1))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	res, err := parse.Inspect(ctx, raw, parseOptions(e.cfg))
	if err != nil {
		return exitError{exitDataErr, err}
	}
	if e.cfg.JSON {
		return printJSON(e, res)
	}
	w := e.io.Stdout
	fmt.Fprintf(w, "From:       %s <%s>\nSubject:    %s\nSummary:    %s\nMessage-ID: %s\nThread key: %s\n", res.From.Name, res.From.Email, res.Subject, res.Summary, res.MessageID, res.ThreadKey)
	fmt.Fprintf(w, "Automatic:  %v %s\n", res.Automatic.Value, res.Automatic.Reason)
	for _, a := range res.Attachments {
		fmt.Fprintf(w, "Attachment: %s (%s, %d bytes, inline=%v)\n", a.Filename, a.ContentType, a.Size, a.Inline)
	}
	for _, wn := range res.Warnings {
		fmt.Fprintf(w, "Warning:    %s\n", wn)
	}
	for _, c := range res.QuoteCuts {
		what := "removed"
		if c.Kept {
			what = "kept (a forward)"
		}
		n, unit := strings.Count(c.Text, "\n")+1, "lines"
		if n == 1 {
			unit = "line"
		}
		fmt.Fprintf(w, "Quote rule: %s, %d %s %s\n", c.Rule, n, unit, what)
	}
	fmt.Fprintf(w, "\n--- visible ---\n%s\n", res.Visible)
	return nil
}
