package ticket

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
)

// notifyConfirmTTL is how long a link confirming a notification address stays valid.
const notifyConfirmTTL = 24 * time.Hour

// RequestNotifyAddress starts changing u's notification address to email: it queues a
// confirm_address mail to that address with a link PublicURL/profile/confirm?t=TOKEN,
// valid 24 hours; mail goes there only once the link is followed (ConfirmNotifyAddress).
// A new request replaces a pending one. u's login address itself, or "", goes back to
// the login address at once.
func (s *Service) RequestNotifyAddress(ctx context.Context, u User, email string) error {
	addr := NormalizeEmail(email)
	if email != "" && addr == "" {
		return fmt.Errorf("%w: address %q", ErrInvalid, email)
	}
	if addr != "" {
		if _, err := mail.ParseAddress(addr); err != nil {
			return fmt.Errorf("%w: address %q", ErrInvalid, email)
		}
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if addr == "" || addr == u.Email {
			if _, err := tx.ExecContext(ctx, s.wq.SetPendingNotify, "", nil, nil, u.ID); err != nil {
				return fmt.Errorf("ticket: clear notification address: %w", err)
			}
			if _, err := tx.ExecContext(ctx, s.wq.ConfirmNotifyReset, u.ID); err != nil {
				return fmt.Errorf("ticket: clear notification address: %w", err)
			}
			return nil
		}
		token, hash, err := newToken("", 16)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.wq.SetPendingNotify, addr, hash, s.now().Add(notifyConfirmTTL), u.ID); err != nil {
			return fmt.Errorf("ticket: record notification address: %w", err)
		}
		link := s.opt.PublicURL + "/profile/confirm?t=" + url.QueryEscape(token)
		return s.enqueueAccountMail(ctx, tx, u, addr, MailConfirmAddress, link)
	})
}

// ConfirmNotifyAddress makes the pending notification address of the link's user their
// notification address, and returns the user. An unknown, used or expired token gives
// ErrNotFound.
func (s *Service) ConfirmNotifyAddress(ctx context.Context, token string) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, s.wq.ConfirmNotify, hashToken(token), s.now())
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: confirmation link", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("ticket: confirm notification address: %w", err)
		}
		u, err = s.userByID(ctx, tx, id)
		return err
	})
	return u, err
}

// enqueueAccountMail queues a mail about no ticket (sign-in link, address confirmation)
// to address to, in u's language and zone. Addresses that bounce get nothing.
func (s *Service) enqueueAccountMail(ctx context.Context, tx *sqlx.Tx, u User, to string, kind MailKind, link string) error {
	var bouncing int
	if err := tx.GetContext(ctx, &bouncing, s.q.UserBouncing, to, s.now()); err != nil {
		return fmt.Errorf("ticket: check bounces: %w", err)
	}
	if bouncing > 0 {
		s.log.Info("address is bouncing; mail not queued", "kind", string(kind))
		return nil
	}
	mid, err := s.newMessageID("account")
	if err != nil {
		return err
	}
	payload, err := json.Marshal(MailData{Link: link, DeskName: s.desk.Name})
	if err != nil {
		return fmt.Errorf("ticket: encode mail data: %w", err)
	}
	lang := u.Lang
	if lang != "en" {
		lang = "fr"
	}
	tz := u.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	now := s.now()
	if err := s.insertOutbox(ctx, tx, kind, nil, "", to, u.Name, u.Role, lang, tz, mid, "", "", "",
		string(payload), nil, now, now); err != nil {
		return fmt.Errorf("ticket: queue %s mail: %w", kind, err)
	}
	return nil
}
