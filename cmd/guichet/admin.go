package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/guichet/guichet/ticket"
)

func cmdMigrate(ctx context.Context, e *env) error {
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
		return usageError{"usage: guichet user add EMAIL --name N --role customer|agent|admin [--uai UAI] [--password-stdin]"}
	}
	nu := ticket.NewUser{Email: e.args[0], Name: e.cfg.Name, Role: ticket.Role(e.cfg.Role), UAI: e.cfg.UAI, Lang: e.cfg.Lang}
	if e.cfg.PasswordStdin {
		line, err := bufio.NewReader(e.io.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return usageError{"--password-stdin: no password on stdin"}
		}
		nu.Password = strings.TrimRight(line, "\r\n")
	}
	a, err := openApp(ctx, e, nil)
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
	a, err := openApp(ctx, e, nil)
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
	a, err := openApp(ctx, e, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	items, err := a.svc.List(ctx, e.cfg.Limit)
	if err != nil {
		return err
	}
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
	a, err := openApp(ctx, e, nil)
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
	a, err := openApp(ctx, e, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	state := ""
	if e.cfg.Failed {
		state = "failed"
	}
	items, err := a.svc.ListInbound(ctx, state, e.cfg.Limit)
	if err != nil {
		return err
	}
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
