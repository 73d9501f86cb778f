package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Lifetimes of sessions and sign-in links.
const (
	// SignInLinkTTL is how long a sign-in link sent by mail stays valid.
	SignInLinkTTL = 15 * time.Minute
	// SessionMaxAge caps a session's life however active it is.
	SessionMaxAge = 30 * 24 * time.Hour
	// signInLinksPerTTL caps the sign-in links mailed to one user per SignInLinkTTL.
	signInLinksPerTTL = 5
)

type sessionRow struct {
	UserID    int64     `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
	LastSeen  time.Time `db:"last_seen"`
}

// NewSession opens a session for user userID that ends after ttl without use, and
// returns its token (256 random bits; only its SHA-256 is stored). Expired sessions are
// cleared on the way.
func (s *Service) NewSession(ctx context.Context, userID int64, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("%w: session lifetime %v", ErrInvalid, ttl)
	}
	token, hash, err := newToken("", 32)
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.wq.DeleteExpiredSess, now); err != nil {
			return fmt.Errorf("ticket: clear sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.wq.InsertSession, hash, userID, now, now.Add(ttl), now); err != nil {
			return fmt.Errorf("ticket: open session for #%d: %w", userID, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// SessionUser returns the user of a session; ErrNotFound when the token is unknown or
// the session expired. Each use (at most once a minute is written) pushes the expiry
// back by the session's idle lifetime, up to SessionMaxAge after it opened.
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, fmt.Errorf("%w: session", ErrNotFound)
	}
	hash := hashToken(token)
	now := s.now()
	var row sessionRow
	err := s.db.GetContext(ctx, &row, s.wq.Session, hash, now)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: session", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("ticket: read session: %w", err)
	}
	if now.Sub(row.LastSeen) >= time.Minute {
		exp := now.Add(row.ExpiresAt.Sub(row.LastSeen))
		if max := row.CreatedAt.Add(SessionMaxAge); exp.After(max) {
			exp = max
		}
		if _, err := s.exec(ctx, s.wq.TouchSession, now, exp, hash); err != nil {
			return User{}, fmt.Errorf("ticket: touch session: %w", err)
		}
	}
	return s.userByID(ctx, s.db, row.UserID)
}

// EndSession ends a session (sign-out); an unknown token is not an error.
func (s *Service) EndSession(ctx context.Context, token string) error {
	if _, err := s.exec(ctx, s.wq.DeleteSession, hashToken(token)); err != nil {
		return fmt.Errorf("ticket: end session: %w", err)
	}
	return nil
}

// RequestSignInLink mails a sign-in link (PublicURL/login/link?t=TOKEN&next=NEXT, single
// use, valid SignInLinkTTL) to the user with that address. next is the page to open once
// signed in: a local path the caller has checked (the portal checks it again when the link
// is used); "" or anything not starting with "/" leaves it out. For an unknown address it
// does nothing and returns nil, so that accounts cannot be probed; past a few links per
// quarter of an hour to one user, it sends no more.
func (s *Service) RequestSignInLink(ctx context.Context, email, next string) error {
	addr := NormalizeEmail(email)
	if addr == "" {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.userByEmail(ctx, tx, addr)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		now := s.now()
		var recent int
		if err := tx.GetContext(ctx, &recent, s.wq.CountRecentSignIn, u.ID, now.Add(-SignInLinkTTL)); err != nil {
			return fmt.Errorf("ticket: count sign-in links: %w", err)
		}
		if recent >= signInLinksPerTTL {
			s.log.Warn("sign-in links per user capped; none sent", "user_id", u.ID)
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.wq.DeleteOldSignIn, now.Add(-24*time.Hour)); err != nil {
			return fmt.Errorf("ticket: clear sign-in links: %w", err)
		}
		token, hash, err := newToken("", 32)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.wq.InsertSignInLink, hash, u.ID, now, now.Add(SignInLinkTTL)); err != nil {
			return fmt.Errorf("ticket: record sign-in link: %w", err)
		}
		link := s.opt.PublicURL + "/login/link?t=" + url.QueryEscape(token)
		if next != "/" && strings.HasPrefix(next, "/") {
			link += "&next=" + url.QueryEscape(next)
		}
		// To the login address: the link proves that one controls it.
		return s.enqueueAccountMail(ctx, tx, u, u.Email, MailSignIn, link)
	})
}

// UseSignInLink consumes a sign-in link and returns its user; ErrNotFound when the
// token is unknown, used or expired. One UPDATE … RETURNING marks it used, so that two
// concurrent uses cannot both succeed.
func (s *Service) UseSignInLink(ctx context.Context, token string) (User, error) {
	now := s.now()
	var id int64
	err := s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &id, s.wq.UseSignInLink, now, hashToken(token), now)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: sign-in link", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("ticket: use sign-in link: %w", err)
	}
	return s.userByID(ctx, s.db, id)
}
