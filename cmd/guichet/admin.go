package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/guichet/guichet/ticket"
)

func cmdMigrate(ctx context.Context, e *env) error {
	// migrate is how an administrator creates the data folder and the SQLite database
	// that the other administration commands refuse to create (see openExisting).
	if err := os.MkdirAll(e.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	db, _, err := ticket.Open(ctx, e.cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := ticket.Migrate(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.io.Stdout, "database schema is up to date")
		return nil
	}
	fmt.Fprintf(e.io.Stdout, "applied migrations %v\n", applied)
	return nil
}

func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.io.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdUserAdd(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError{"usage: guichet user add EMAIL --name N --role customer|agent|admin [--uai UAI] [--lang fr|en] [--password-stdin]"}
	}
	nu := ticket.NewUser{Email: e.args[0], Name: e.cfg.Name, Role: ticket.Role(e.cfg.Role), UAI: e.cfg.UAI, Lang: e.cfg.Lang}
	if e.cfg.PasswordStdin {
		line, err := bufio.NewReader(e.io.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return usageError{"--password-stdin: no password on stdin"}
		}
		nu.Password = strings.TrimRight(line, "\r\n")
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.svc.AddUser(ctx, nu)
	if errors.Is(err, ticket.ErrInvalid) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	if e.cfg.JSON {
		return printJSON(e, map[string]any{"email": u.Email, "name": u.Name, "role": u.Role, "uai": u.UAI, "lang": u.Lang})
	}
	fmt.Fprintf(e.io.Stdout, "user %s (%s) saved as %s\n", u.Email, u.Name, u.Role)
	return nil
}

func cmdEstablishmentAdd(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError{"usage: guichet establishment add UAI --name N [--academie A]"}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	est, err := a.svc.AddEstablishment(ctx, ticket.Establishment{UAI: e.args[0], Name: e.cfg.Name, Academie: e.cfg.Academie})
	if errors.Is(err, ticket.ErrInvalid) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	if e.cfg.JSON {
		return printJSON(e, est)
	}
	fmt.Fprintf(e.io.Stdout, "establishment %s (%s) saved\n", est.UAI, est.Name)
	return nil
}

func cmdTicketList(ctx context.Context, e *env) error {
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	offset, err := pageOffset(e.cfg)
	if err != nil {
		return err
	}
	// One more than a page tells whether another follows.
	items, err := a.svc.ListPage(ctx, e.cfg.Limit+1, offset)
	if err != nil {
		return err
	}
	more := len(items) > e.cfg.Limit
	if more {
		items = items[:e.cfg.Limit]
	}
	defer tellMore(e, more, "tickets", "tickets")
	if e.cfg.JSON {
		return printJSON(e, items)
	}
	tw := tabwriter.NewWriter(e.io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTATUS\tREQUESTER\tUPDATED\tSUMMARY")
	for _, t := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Key, t.Status.Label("fr"), t.Requester, t.UpdatedAt.Local().Format("2006-01-02 15:04"), t.Summary)
	}
	return tw.Flush()
}

func cmdTicketShow(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError{"usage: guichet ticket show KEY [--json]"}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := a.svc.Get(ctx, e.args[0])
	if err != nil {
		return err
	}
	if e.cfg.JSON {
		return printJSON(e, d)
	}
	w := e.io.Stdout
	fmt.Fprintf(w, "%s  %s\nStatut : %s\nDemandeur : %s <%s>\nSource : %s   Créé : %s\n", d.Key, d.Summary, d.StatusLabel,
		d.RequesterName, d.Requester, d.Source, d.CreatedAt.Local().Format("2006-01-02 15:04"))
	if len(d.Participants) > 0 {
		fmt.Fprintf(w, "Participants : %s\n", strings.Join(d.Participants, ", "))
	}
	fmt.Fprintf(w, "\n%s\n", d.Description)
	for _, f := range d.Attachments {
		fmt.Fprintf(w, "  [pièce jointe] %s (%s, %d octets)\n", f.Filename, f.ContentType, f.Size)
	}
	for _, c := range d.Comments {
		fmt.Fprintf(w, "\n--- %s, %s (%s, %s)\n%s\n", c.Author, c.CreatedAt.Local().Format("2006-01-02 15:04"), c.Visibility, c.Source, c.Body)
		for _, f := range c.Attachments {
			fmt.Fprintf(w, "  [pièce jointe] %s (%s, %d octets)\n", f.Filename, f.ContentType, f.Size)
		}
	}
	return nil
}

func cmdInboundList(ctx context.Context, e *env) error {
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	state := ""
	if e.cfg.Failed {
		state = "failed"
	}
	offset, err := pageOffset(e.cfg)
	if err != nil {
		return err
	}
	items, err := a.svc.ListInboundPage(ctx, state, e.cfg.Limit+1, offset)
	if err != nil {
		return err
	}
	more := len(items) > e.cfg.Limit
	if more {
		items = items[:e.cfg.Limit]
	}
	defer tellMore(e, more, "messages", "messages")
	if e.cfg.JSON {
		return printJSON(e, items)
	}
	tw := tabwriter.NewWriter(e.io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSTATE\tFROM\tSIZE\tNOTE")
	for _, m := range items {
		note := m.Error
		if note == "" && m.Automatic != "" {
			note = "automatic: " + m.Automatic
		}
		if m.Auth != nil && m.Auth.Ignored > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%s (%d Authentication-Results ignored)", note, m.Auth.Ignored))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.ReceivedAt.Local().Format("2006-01-02 15:04:05"), m.State, m.EnvelopeFrom, m.Size, note)
	}
	return tw.Flush()
}

// pageOffset checks --limit and --page and returns the rows to skip.
func pageOffset(c Config) (int, error) {
	if c.Limit < 1 || c.Limit > 1<<30 {
		return 0, usageError{fmt.Sprintf("--limit %d: from 1 to %d", c.Limit, 1<<30)}
	}
	if c.Page < 1 {
		return 0, usageError{fmt.Sprintf("--page %d: 1 or more", c.Page)}
	}
	// Past this the offset would overflow; no store holds that many rows anyway.
	if c.Page-1 > (1<<31)/c.Limit {
		return 0, usageError{fmt.Sprintf("--page %d: too far", c.Page)}
	}
	return (c.Page - 1) * c.Limit, nil
}

// tellMore says on stderr, in both languages, that the list printed is cut and how to
// see the rest: stdout stays the list alone (a JSON array with --json) for scripts.
func tellMore(e *env, more bool, en, fr string) {
	if !more {
		return
	}
	next := e.cfg.Page + 1
	fmt.Fprintf(e.io.Stderr, "guichet: only %d %s shown, more follow: run again with --page %d (or a larger --limit)\n", e.cfg.Limit, en, next)
	fmt.Fprintf(e.io.Stderr, "guichet : %d %s affichés seulement, d'autres suivent : relancez avec --page %d (ou un --limit plus grand)\n", e.cfg.Limit, fr, next)
}
