package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ErrBadCredentials is returned when an address and password, or an API token, do not
// open an account. It says nothing of which part was wrong.
var ErrBadCredentials = errors.New("ticket: bad credentials")

// DefaultTimeZone is the time zone of a user who chose none.
const DefaultTimeZone = "Europe/Paris"

// MaxAvatarSize is the largest avatar image accepted, in bytes.
const MaxAvatarSize = 1 << 20

// AvatarTypes are the image types accepted as avatars.
var AvatarTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// webQueries are the statements of the portal and the API (queries_web.sql).
type webQueries struct {
	Account            string `query:"account"`
	PasswordByEmail    string `query:"password-by-email"`
	PasswordByID       string `query:"password-by-id"`
	SetPassword        string `query:"set-password"`
	UpdateProfile      string `query:"update-profile"`
	SetAvatar          string `query:"set-avatar"`
	SetPendingNotify   string `query:"set-pending-notify"`
	ConfirmNotify      string `query:"confirm-notify"`
	ConfirmNotifyReset string `query:"confirm-notify-reset"`
	InsertSession      string `query:"insert-session"`
	Session            string `query:"session"`
	TouchSession       string `query:"touch-session"`
	DeleteSession      string `query:"delete-session"`
	DeleteExpiredSess  string `query:"delete-expired-sessions"`
	InsertSignInLink   string `query:"insert-signin-link"`
	CountRecentSignIn  string `query:"count-recent-signin-links"`
	UseSignInLink      string `query:"use-signin-link"`
	DeleteOldSignIn    string `query:"delete-old-signin-links"`
	InsertAPIToken     string `query:"insert-api-token"`
	APITokenUser       string `query:"api-token-user"`
	TouchAPIToken      string `query:"touch-api-token"`
	APITokens          string `query:"api-tokens"`
	RevokeAPIToken     string `query:"revoke-api-token"`
	RequestTypes       string `query:"request-types"`
}

// Account is a user with the profile fields that only the portal shows. The confirmed
// notification address is User.NotifyEmail.
type Account struct {
	User
	AvatarSHA256       string `db:"avatar_sha256"` // "" for none; the image is in the blob store under this hash
	AvatarType         string `db:"avatar_type"`
	PendingNotifyEmail string `db:"pending_notify_email"` // waiting for confirmation
	HasPassword        bool   `db:"has_password"`
}

// Account returns the account of user userID; ErrNotFound if none.
func (s *Service) Account(ctx context.Context, userID int64) (Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, s.wq.Account, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("%w: user #%d", ErrNotFound, userID)
	}
	if err != nil {
		return Account{}, fmt.Errorf("ticket: read account #%d: %w", userID, err)
	}
	return a, nil
}

// dummyHash is compared against when the address is unknown, so that an unknown address
// takes as long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("guichet-dummy-password"), bcrypt.DefaultCost)

type passwordRow struct {
	ID   int64  `db:"id"`
	Hash string `db:"password_hash"`
}

// Authenticate returns the user with that address and password, or ErrBadCredentials.
// A user without a password never signs in with one.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	var row passwordRow
	err := s.db.GetContext(ctx, &row, s.wq.PasswordByEmail, NormalizeEmail(email))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("ticket: authenticate: %w", err)
	}
	hash := []byte(row.Hash)
	if row.Hash == "" {
		hash = dummyHash
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !ok || row.Hash == "" || password == "" {
		return User{}, ErrBadCredentials
	}
	return s.userByID(ctx, s.db, row.ID)
}

// SetPassword changes u's password. The current one is required when u has one
// (ErrBadCredentials when wrong); the new one needs at least 8 characters.
func (s *Service) SetPassword(ctx context.Context, u User, old, new string) error {
	if len([]rune(new)) < 8 {
		return fmt.Errorf("%w: password: at least 8 characters", ErrInvalid)
	}
	if len(new) > 72 {
		return fmt.Errorf("%w: password: at most 72 bytes", ErrInvalid)
	}
	var row passwordRow
	if err := s.db.GetContext(ctx, &row, s.wq.PasswordByID, u.ID); err != nil {
		return fmt.Errorf("ticket: read password of #%d: %w", u.ID, err)
	}
	if row.Hash != "" && bcrypt.CompareHashAndPassword([]byte(row.Hash), []byte(old)) != nil {
		return ErrBadCredentials
	}
	h, err := bcrypt.GenerateFromPassword([]byte(new), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("ticket: hash password: %w", err)
	}
	if _, err := s.exec(ctx, s.wq.SetPassword, string(h), u.ID); err != nil {
		return fmt.Errorf("ticket: set password of #%d: %w", u.ID, err)
	}
	return nil
}

// Profile is what a user edits of their account.
type Profile struct {
	Name     string // display name
	TimeZone string // IANA name; "" means DefaultTimeZone
	Lang     string // "fr" or "en"; "" means "fr"
}

// UpdateProfile saves u's display name, time zone and language and returns the user.
func (s *Service) UpdateProfile(ctx context.Context, u User, p Profile) (User, error) {
	name := strings.Join(strings.Fields(p.Name), " ")
	if len([]rune(name)) > 200 {
		return User{}, fmt.Errorf("%w: name: at most 200 characters", ErrInvalid)
	}
	tz := strings.TrimSpace(p.TimeZone)
	if tz == "" {
		tz = DefaultTimeZone
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return User{}, fmt.Errorf("%w: time zone %q", ErrInvalid, tz)
	}
	lang := p.Lang
	if lang == "" {
		lang = "fr"
	}
	if lang != "fr" && lang != "en" {
		return User{}, fmt.Errorf("%w: language %q (fr or en)", ErrInvalid, lang)
	}
	if _, err := s.exec(ctx, s.wq.UpdateProfile, name, tz, lang, u.ID); err != nil {
		return User{}, fmt.Errorf("ticket: update profile of #%d: %w", u.ID, err)
	}
	return s.userByID(ctx, s.db, u.ID)
}

// SetAvatar records u's avatar: content of type contentType, stored by the caller in
// the blob store under sha256 (hex), size bytes. Only AvatarTypes up to MaxAvatarSize are
// accepted. An empty sha256 removes the avatar.
func (s *Service) SetAvatar(ctx context.Context, u User, contentType, sha256 string, size int64) error {
	if sha256 == "" {
		contentType = ""
	} else {
		if !slices.Contains(AvatarTypes, contentType) {
			return fmt.Errorf("%w: avatar: PNG, JPEG, GIF or WebP image expected", ErrInvalid)
		}
		if size <= 0 || size > MaxAvatarSize {
			return fmt.Errorf("%w: avatar: at most %d bytes", ErrInvalid, MaxAvatarSize)
		}
		if len(sha256) != 64 || strings.Trim(strings.ToLower(sha256), "0123456789abcdef") != "" {
			return fmt.Errorf("%w: avatar: bad content hash", ErrInvalid)
		}
	}
	if _, err := s.exec(ctx, s.wq.SetAvatar, strings.ToLower(sha256), contentType, u.ID); err != nil {
		return fmt.Errorf("ticket: set avatar of #%d: %w", u.ID, err)
	}
	return nil
}
