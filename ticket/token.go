package ticket

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// TokenPrefix starts every API token, so that a leaked one is easy to recognise.
const TokenPrefix = "gch_"

// APIToken is a personal access token of the JSON API, without its secret.
type APIToken struct {
	ID        int64      `db:"id" json:"id"`
	Name      string     `db:"name" json:"name"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	LastUsed  *time.Time `db:"last_used" json:"last_used,omitempty"`
	RevokedAt *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

// newToken returns a random token of n bytes, base64url-encoded after prefix, and the
// hash under which it is stored.
func newToken(prefix string, n int) (plain, hash string, err error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("ticket: make token: %w", err)
	}
	plain = prefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, hashToken(plain), nil
}

// hashToken is the SHA-256 of a token, in hex: what the database keeps. Tokens are
// random and long, so no slow hash is needed.
func hashToken(plain string) string {
	h := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a new API token for u, named name, and returns it. Only its hash is
// kept: the token is shown once.
func (s *Service) CreateToken(ctx context.Context, u User, name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if len([]rune(name)) > 100 {
		return "", fmt.Errorf("%w: token name: at most 100 characters", ErrInvalid)
	}
	plain, hash, err := newToken(TokenPrefix, 32)
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var id int64
		return tx.GetContext(ctx, &id, s.wq.InsertAPIToken, u.ID, name, hash, s.now())
	})
	if err != nil {
		return "", fmt.Errorf("ticket: create token for #%d: %w", u.ID, err)
	}
	return plain, nil
}

// TokenUser returns the user of an API token; ErrBadCredentials when the token is
// unknown or revoked. It records when the token was last used (to the minute).
func (s *Service) TokenUser(ctx context.Context, plain string) (User, error) {
	if !strings.HasPrefix(plain, TokenPrefix) || len(plain) > 200 {
		return User{}, ErrBadCredentials
	}
	var row struct {
		TokenID  int64      `db:"token_id"`
		LastUsed *time.Time `db:"last_used"`
		User
	}
	err := s.db.GetContext(ctx, &row, s.wq.APITokenUser, hashToken(plain))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("ticket: read token: %w", err)
	}
	now := s.now()
	if row.LastUsed != nil && now.Sub(*row.LastUsed) < time.Minute {
		return row.User, nil // recorded less than a minute ago: no write
	}
	if _, err := s.exec(ctx, s.wq.TouchAPIToken, now, row.TokenID, now.Add(-time.Minute)); err != nil {
		return User{}, fmt.Errorf("ticket: record token use: %w", err)
	}
	return row.User, nil
}

// ListTokens lists u's API tokens, revoked ones included, oldest first.
func (s *Service) ListTokens(ctx context.Context, u User) ([]APIToken, error) {
	out := []APIToken{}
	if err := s.db.SelectContext(ctx, &out, s.wq.APITokens, u.ID); err != nil {
		return nil, fmt.Errorf("ticket: list tokens of #%d: %w", u.ID, err)
	}
	return out, nil
}

// RevokeToken revokes u's token id; ErrNotFound when u has no such active token.
func (s *Service) RevokeToken(ctx context.Context, u User, id int64) error {
	n, err := s.exec(ctx, s.wq.RevokeAPIToken, s.now(), id, u.ID)
	if err != nil {
		return fmt.Errorf("ticket: revoke token %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: token %d", ErrNotFound, id)
	}
	return nil
}
