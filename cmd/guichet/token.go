package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/guichet/guichet/ticket"
)

// cmdTokenCreate prints a new API token for the user with address EMAIL. The token is
// shown this once; only its hash is stored.
func cmdTokenCreate(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError{"usage: guichet token create EMAIL [--name N] [--json]"}
	}
	a, err := openExisting(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.svc.UserByEmail(ctx, e.args[0])
	if errors.Is(err, ticket.ErrNotFound) {
		return usageError{fmt.Sprintf("no user %s (add one with 'guichet user add')", e.args[0])}
	}
	if err != nil {
		return err
	}
	tok, err := a.svc.CreateToken(ctx, u, e.cfg.Name)
	if errors.Is(err, ticket.ErrInvalid) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	if e.cfg.JSON {
		return printJSON(e, map[string]string{"email": u.Email, "name": e.cfg.Name, "token": tok})
	}
	fmt.Fprintln(e.io.Stdout, tok)
	return nil
}
