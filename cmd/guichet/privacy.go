package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/ticket"
)

// retentionPeriod is --retention: how long after its closing a ticket keeps its personal
// data. "0" keeps it forever; else a whole number and a unit, "24mo" (months), "2y"
// (years), "90d" (days), "6w" (weeks), or a Go duration ("720h").
type retentionPeriod struct {
	text   string
	months int
	dur    time.Duration
}

func (r *retentionPeriod) String() string {
	if r.text == "" {
		return "0"
	}
	return r.text
}

// Set parses a period (see retentionPeriod).
func (r *retentionPeriod) Set(v string) error {
	p, err := parseRetention(v)
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// parseRetention reads a --retention value.
func parseRetention(v string) (retentionPeriod, error) {
	v = strings.TrimSpace(v)
	if v == "0" || v == "" {
		return retentionPeriod{}, nil
	}
	bad := fmt.Errorf("retention period %q: 0 (keep forever), or a number and a unit: 24mo, 2y, 90d, 6w, or a Go duration such as 720h", v)
	for _, u := range []struct {
		suffix string
		months int
		dur    time.Duration
	}{{"mo", 1, 0}, {"y", 12, 0}, {"d", 0, 24 * time.Hour}, {"w", 0, 7 * 24 * time.Hour}} {
		num, ok := strings.CutSuffix(v, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || n > 1200 || strings.HasPrefix(num, "+") {
			return retentionPeriod{}, bad
		}
		return retentionPeriod{text: v, months: n * u.months, dur: time.Duration(n) * u.dur}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > 100*365*24*time.Hour {
		return retentionPeriod{}, bad
	}
	return retentionPeriod{text: v, dur: d}, nil
}

// Off reports whether the period keeps data forever.
func (r retentionPeriod) Off() bool { return r.months == 0 && r.dur == 0 }

// Cutoff is the closing date before which a ticket is past the period, at now.
func (r retentionPeriod) Cutoff(now time.Time) time.Time {
	return now.AddDate(0, -r.months, 0).Add(-r.dur)
}

// privacyFlags registers the flags of retention and of a person's data.
func (c *Config) privacyFlags(fs *flag.FlagSet, name string) {
	switch name {
	case "serve", "retention run":
		fs.Var(&c.Retention, "retention", "how long after its closing a ticket keeps its personal data: 0 (forever), or e.g. 24mo, 2y, 90d, 6w, 720h")
	}
	switch name {
	case "retention run":
		fs.BoolVar(&c.DryRun, "dry-run", false, "say what would be removed, remove nothing")
	case "audit list":
		fs.IntVar(&c.Limit, "limit", 100, "at most this many entries, newest first")
	case "user export":
		fs.StringVar(&c.Out, "out", "", "folder (new or empty) or .zip file to write the export and the files into; none: the JSON on stdout, without the files")
	}
}

// dataFiles removes files of the data folder for the ticket service: blob content and
// the .eml files of the development sender.
type dataFiles struct {
	blobs *blob.Store
	sent  string
}

var _ ticket.Files = dataFiles{}

func (f dataFiles) RemoveBlob(ctx context.Context, sum string) error {
	return f.blobs.RemoveBlob(ctx, sum)
}

func (f dataFiles) RemoveSent(ctx context.Context, name string) error {
	if name != filepath.Base(name) || !strings.HasSuffix(name, ".eml") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("remove sent mail: %q is not a file name of the sent folder", name)
	}
	if err := os.Remove(filepath.Join(f.sent, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sent mail: %w", err)
	}
	return nil
}

func (a *app) files(e *env) dataFiles {
	return dataFiles{blobs: a.blobs, sent: filepath.Join(e.cfg.DataDir, "sent")}
}

// actor names who runs a command, for the audit log: the system user.
func actor(e *env) string {
	for _, v := range []string{"USER", "LOGNAME"} {
		if u := e.io.Getenv(v); u != "" {
			return "cli:" + u
		}
	}
	return "cli"
}

func cmdRetentionRun(ctx context.Context, e *env) error {
	if len(e.args) != 0 {
		return usageError{"usage: guichet retention run [--retention P] [--dry-run] [--json]"}
	}
	if e.cfg.Retention.Off() {
		return usageError{"--retention is 0 (keep forever): nothing to do; give a period, e.g. --retention 24mo / " +
			"--retention vaut 0 (conservation illimitée) : rien à faire ; donnez une durée, par exemple --retention 24mo"}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	cutoff := e.cfg.Retention.Cutoff(time.Now())
	rep, err := a.svc.Purge(ctx, cutoff, e.cfg.DryRun, a.files(e))
	if err != nil {
		return err
	}
	if e.cfg.JSON {
		if rep.Tickets == nil {
			rep.Tickets = []string{}
		}
		return printJSON(e, struct {
			Cutoff time.Time `json:"cutoff"`
			DryRun bool      `json:"dry_run"`
			ticket.PurgeReport
		}{cutoff, e.cfg.DryRun, rep})
	}
	w := e.io.Stdout
	en, fr := "removed", "supprimés"
	if e.cfg.DryRun {
		en, fr = "would be removed (dry run)", "seraient supprimés (essai)"
	}
	fmt.Fprintf(w, "tickets closed before %s: %d purged, %d comments emptied, %d attachments, %d inbound messages emptied, %d outbox mails deleted, %d users anonymised; files %s: %d attachments or raw mails, %d sent mails\n",
		cutoff.Format(time.RFC3339), len(rep.Tickets), rep.Comments, rep.Attachments, rep.Inbound, rep.Outbox, rep.Users, en, rep.BlobsRemoved, rep.SentRemoved)
	fmt.Fprintf(w, "demandes fermées avant le %s : %d purgées, %d commentaires vidés, %d pièces jointes, %d courriels reçus vidés, %d courriels envoyés effacés, %d utilisateurs anonymisés ; fichiers %s : %d pièces jointes ou courriels bruts, %d courriels envoyés\n",
		cutoff.Format(time.RFC3339), len(rep.Tickets), rep.Comments, rep.Attachments, rep.Inbound, rep.Outbox, rep.Users, fr, rep.BlobsRemoved, rep.SentRemoved)
	if len(rep.Tickets) > 0 {
		fmt.Fprintf(w, "%s\n", strings.Join(rep.Tickets, " "))
	}
	return nil
}

// personError maps the ticket errors of a person's commands to the command's.
func personError(email string, err error) error {
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		return usageError{fmt.Sprintf("no user with address %q / aucun utilisateur n'a l'adresse %q", email, email)}
	case errors.Is(err, ticket.ErrInvalid):
		return usageError{err.Error()}
	case errors.Is(err, ticket.ErrLastAdmin):
		return fmt.Errorf("%s is the last administrator: make another one first (guichet user add … --role admin) / "+
			"%s est le dernier administrateur : créez-en un autre d'abord", email, email)
	}
	return err
}

func cmdUserErase(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError{"usage: guichet user erase EMAIL [--json]"}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.svc.Erase(ctx, e.args[0], actor(e), a.files(e))
	if err != nil {
		return personError(e.args[0], err)
	}
	if e.cfg.JSON {
		return printJSON(e, rep)
	}
	if rep.AlreadyErased {
		fmt.Fprintf(e.io.Stdout, "user %d was already erased (%s): nothing done / l'utilisateur %d était déjà effacé : rien n'a été fait\n", rep.UserID, rep.Pseudonym, rep.UserID)
		return nil
	}
	fmt.Fprintf(e.io.Stdout, "user %d erased, now %s: %d comments and %d requests emptied, %d files (%d removed from disk), %d inbound mails emptied, %d mails to them deleted\n",
		rep.UserID, rep.Pseudonym, rep.Comments, rep.Tickets, rep.Attachments, rep.FilesRemoved, rep.Inbound, rep.Outbox)
	fmt.Fprintf(e.io.Stdout, "utilisateur %d effacé, désormais %s : %d commentaires et %d demandes vidés, %d fichiers (%d supprimés du disque), %d courriels reçus vidés, %d courriels qui lui étaient adressés effacés\n",
		rep.UserID, rep.Pseudonym, rep.Comments, rep.Tickets, rep.Attachments, rep.FilesRemoved, rep.Inbound, rep.Outbox)
	return nil
}

func cmdAuditList(ctx context.Context, e *env) error {
	if len(e.args) != 0 {
		return usageError{"usage: guichet audit list [--json] [--limit N]"}
	}
	if e.cfg.Limit < 1 || e.cfg.Limit > 1<<30 {
		return usageError{fmt.Sprintf("--limit %d: from 1 to %d", e.cfg.Limit, 1<<30)}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	log, err := a.svc.AuditLog(ctx, e.cfg.Limit)
	if err != nil {
		return err
	}
	if e.cfg.JSON {
		if log == nil {
			log = []ticket.AuditEntry{}
		}
		return printJSON(e, log)
	}
	tw := tabwriter.NewWriter(e.io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tUSER\tDETAIL")
	for _, l := range log {
		user := "-"
		if l.UserID != nil {
			user = strconv.FormatInt(*l.UserID, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.At.Local().Format("2006-01-02 15:04:05"), l.Actor, l.Action, user, l.Detail)
	}
	return tw.Flush()
}

// exportName is the JSON file of an export folder or zip.
const exportName = "guichet-export.json"

func cmdUserExport(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError{"usage: guichet user export EMAIL [--out DIR|FILE.zip]"}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.svc.Export(ctx, e.args[0])
	if err != nil {
		return personError(e.args[0], err)
	}
	files := 0
	if e.cfg.Out != "" {
		if files, err = writeExport(ctx, e.cfg.Out, a.blobs, x); err != nil {
			return err
		}
	} else if err := printJSON(e, x); err != nil {
		return err
	}
	if err := a.svc.Audit(ctx, actor(e), "export", x.User.ID, fmt.Sprintf("tickets=%d files=%d to_file=%t", len(x.Tickets), files, e.cfg.Out != "")); err != nil {
		return err
	}
	if e.cfg.Out != "" {
		fmt.Fprintf(e.io.Stdout, "export of user %d written to %s (%d tickets, %d files) / export de l'utilisateur %d écrit dans %s (%d demandes, %d fichiers)\n",
			x.User.ID, e.cfg.Out, len(x.Tickets), files, x.User.ID, e.cfg.Out, len(x.Tickets), files)
	}
	return nil
}

// exportSink receives the entries of an export: a folder or a zip file.
type exportSink interface {
	create(name string) (io.WriteCloser, error)
	close() error
}

type dirSink struct{ dir string }

func (d dirSink) create(name string) (io.WriteCloser, error) {
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
func (d dirSink) close() error { return nil }

type zipSink struct {
	f *os.File
	z *zip.Writer
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (s zipSink) create(name string) (io.WriteCloser, error) {
	w, err := s.z.Create(name)
	return nopCloser{w}, err
}
func (s zipSink) close() error {
	err := s.z.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeExport writes the export's JSON and the content of its files into out: a .zip
// file (created, never overwritten), or else a folder that must be new or empty. Files
// go under files/, named by their order and their (cleaned) name; their path is in the
// JSON. Content missing from the blob store is marked "missing". It returns how many
// files it wrote.
func writeExport(ctx context.Context, out string, blobs *blob.Store, x *ticket.Export) (int, error) {
	var sink exportSink
	if strings.HasSuffix(strings.ToLower(out), ".zip") {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return 0, fmt.Errorf("--out: %w", err)
		}
		sink = zipSink{f: f, z: zip.NewWriter(f)}
	} else {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return 0, fmt.Errorf("--out: %w", err)
		}
		if es, err := os.ReadDir(out); err != nil || len(es) > 0 {
			return 0, usageError{fmt.Sprintf("--out %s: a new or empty folder expected / un dossier nouveau ou vide est attendu", out)}
		}
		sink = dirSink{out}
	}
	n, err := fillExport(ctx, sink, blobs, x)
	if cerr := sink.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write the export to %s: %w", out, err)
	}
	return n, nil
}

func fillExport(ctx context.Context, sink exportSink, blobs *blob.Store, x *ticket.Export) (int, error) {
	n := 0
	paths := map[string]string{} // sha256 → path written
	for i := range x.Files {
		f := &x.Files[i]
		if p, ok := paths[f.SHA256]; ok {
			f.Path = p
			continue
		}
		rc, err := blobs.OpenBlob(ctx, f.SHA256)
		if errors.Is(err, blob.ErrMissing) {
			f.Missing = true
			continue
		}
		if err != nil {
			return n, err
		}
		p := fmt.Sprintf("files/%03d-%s", n+1, safeFileName(f.Filename))
		w, err := sink.create(p)
		if err == nil {
			_, err = io.Copy(w, rc)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		rc.Close()
		if err != nil {
			return n, err
		}
		f.Path, paths[f.SHA256] = p, p
		n++
	}
	w, err := sink.create(exportName)
	if err != nil {
		return n, err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	err = enc.Encode(x)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// safeFileName makes a file name from a mail safe to write: no folders, no control
// characters, no leading dot, at most 100 bytes.
func safeFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == ':' {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	for len(name) > 100 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		name = "file"
	}
	return name
}

// watchRetention applies --retention once at start and then every hour: the query that
// finds nothing to do is one look-up in an index, and an idle run logs nothing.
func watchRetention(e *env, a *app) (stop func()) {
	if e.cfg.Retention.Off() {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			rep, err := a.svc.Purge(ctx, e.cfg.Retention.Cutoff(time.Now()), false, a.files(e))
			switch {
			case err != nil && ctx.Err() == nil:
				e.log.Error("retention run failed", slog.Any("error", err))
			case !rep.Empty():
				e.log.Info("retention: personal data of old tickets removed", "tickets", len(rep.Tickets), "inbound", rep.Inbound,
					"users", rep.Users, "files", rep.BlobsRemoved, "sent_files", rep.SentRemoved)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
