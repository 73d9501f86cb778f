package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// NormalizeEmail lower-cases an address and trims it; it returns "" for something that
// is not an address.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Trim(s, "<>")
	if i := strings.LastIndexByte(s, '@'); i <= 0 || i == len(s)-1 || strings.ContainsAny(s, " \t\r\n,;<>") {
		return ""
	}
	return s
}

func (s *Service) userByEmail(ctx context.Context, q sqlx.QueryerContext, email string) (User, error) {
	var u User
	err := sqlx.GetContext(ctx, q, &u, s.q.UserByEmail, email)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: user %s", ErrNotFound, email)
	}
	if err != nil {
		return User{}, fmt.Errorf("ticket: read user %s: %w", email, err)
	}
	return u, nil
}

// ensureUser returns the user with addr's address, creating a customer if none exists and
// filling in a display name that was missing.
func (s *Service) ensureUser(ctx context.Context, tx *sqlx.Tx, addr Address) (User, error) {
	email := NormalizeEmail(addr.Email)
	if email == "" {
		return User{}, fmt.Errorf("%w: address %q", ErrInvalid, addr.Email)
	}
	var u User
	err := tx.GetContext(ctx, &u, s.q.EnsureUser, email, cleanName(addr.Name), RoleCustomer, "", "fr", "Europe/Paris", s.now())
	if err != nil {
		return User{}, fmt.Errorf("ticket: create user %s: %w", email, err)
	}
	return u, nil
}

// cleanName keeps a display name on one line, without quotes and not an address.
func cleanName(n string) string {
	n = strings.Join(strings.Fields(n), " ")
	n = strings.Trim(n, `"' `)
	if NormalizeEmail(n) != "" {
		return ""
	}
	return n
}

// NewUser describes a user to create or update with AddUser.
type NewUser struct {
	Email    string
	Name     string
	Role     Role
	UAI      string
	Lang     string
	Password string // empty keeps the current password
}

// AddUser creates a user or updates the one with that address.
func (s *Service) AddUser(ctx context.Context, nu NewUser) (User, error) {
	email := NormalizeEmail(nu.Email)
	if email == "" {
		return User{}, fmt.Errorf("%w: address %q", ErrInvalid, nu.Email)
	}
	if _, err := mail.ParseAddress(email); err != nil {
		return User{}, fmt.Errorf("%w: address %q: %v", ErrInvalid, nu.Email, err)
	}
	switch nu.Role {
	case "":
		nu.Role = RoleCustomer
	case RoleCustomer, RoleAgent, RoleAdmin:
	default:
		return User{}, fmt.Errorf("%w: role %q (customer, agent or admin)", ErrInvalid, nu.Role)
	}
	if nu.UAI != "" {
		nu.UAI = strings.ToUpper(strings.TrimSpace(nu.UAI))
		if err := ValidateUAI(nu.UAI); err != nil {
			return User{}, err
		}
	}
	if nu.Lang == "" {
		nu.Lang = "fr"
	}
	if nu.Lang != "fr" && nu.Lang != "en" {
		return User{}, fmt.Errorf("%w: language %q (fr or en)", ErrInvalid, nu.Lang)
	}
	hash := ""
	if nu.Password != "" {
		if len(nu.Password) < 8 {
			return User{}, fmt.Errorf("%w: password: at least 8 characters", ErrInvalid)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(nu.Password), bcrypt.DefaultCost)
		if err != nil {
			return User{}, fmt.Errorf("ticket: hash password: %w", err)
		}
		hash = string(h)
	}
	if _, err := s.exec(ctx, s.q.UpsertUser, email, cleanName(nu.Name), nu.Role, nu.UAI, nu.Lang, "Europe/Paris", hash, s.now()); err != nil {
		return User{}, fmt.Errorf("ticket: save user %s: %w", email, err)
	}
	s.forgetStaff()
	return s.userByEmail(ctx, s.db, email)
}

// AddEstablishment creates or renames an establishment; its UAI must be valid.
func (s *Service) AddEstablishment(ctx context.Context, e Establishment) (Establishment, error) {
	e.UAI = strings.ToUpper(strings.TrimSpace(e.UAI))
	if err := ValidateUAI(e.UAI); err != nil {
		return Establishment{}, err
	}
	e.Name = strings.TrimSpace(e.Name)
	if e.Name == "" {
		return Establishment{}, fmt.Errorf("%w: establishment name is required", ErrInvalid)
	}
	if _, err := s.exec(ctx, s.q.UpsertEstab, e.UAI, e.Name, strings.TrimSpace(e.Academie)); err != nil {
		return Establishment{}, fmt.Errorf("ticket: save establishment %s: %w", e.UAI, err)
	}
	return e, nil
}

const uaiLetters = "ABCDEFGHJKLMNPRSTUVWXYZ"

// ValidateUAI checks a UAI (RNE): seven digits then the check letter picked by the
// number's remainder modulo 23 from ABCDEFGHJKLMNPRSTUVWXYZ.
func ValidateUAI(uai string) error {
	if len(uai) != 8 {
		return fmt.Errorf("%w: UAI %q: seven digits and a letter expected", ErrInvalid, uai)
	}
	n := 0
	for _, c := range uai[:7] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: UAI %q: seven digits and a letter expected", ErrInvalid, uai)
		}
		n = n*10 + int(c-'0')
	}
	if want := uaiLetters[n%23]; strings.ToUpper(uai[7:]) != string(want) {
		return fmt.Errorf("%w: UAI %q: the check letter should be %c", ErrInvalid, uai, want)
	}
	return nil
}
