package mailout

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"
)

// ReplyError is a negative answer of the relay to one command, with its code, enhanced
// code and text as the relay sent them.
type ReplyError struct {
	Command      string // GREETING, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA
	Code         int    // e.g. 550
	EnhancedCode string // e.g. "5.1.1"; "" when the relay gave none
	Message      string
}

// Error returns e.g. "mailout: relay answered RCPT with 550 5.1.1 no such user".
func (e *ReplyError) Error() string {
	return fmt.Sprintf("mailout: relay answered %s with %s", e.Command, e.Reply())
}

// Reply returns the relay's answer: code, enhanced code and text.
func (e *ReplyError) Reply() string {
	s := fmt.Sprint(e.Code)
	if e.EnhancedCode != "" {
		s += " " + e.EnhancedCode
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	return s
}

// Temporary reports whether the answer is worth retrying: every 4xx, and also a 5xx to
// the session's setup (greeting, EHLO, STARTTLS, AUTH). Those say the relay refuses us,
// not this message: a wrong password must not fail every mail of the queue at once.
func (e *ReplyError) Temporary() bool {
	switch e.Command {
	case "MAIL", "RCPT", "DATA":
		return e.Code/100 != 5
	}
	return true
}

// replyError turns an *smtp.SMTPError into a *ReplyError for cmd, and wraps others.
func replyError(cmd string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		re := &ReplyError{Command: cmd, Code: se.Code, Message: strings.TrimSpace(se.Message)}
		if c := se.EnhancedCode; c != smtp.NoEnhancedCode && c != smtp.EnhancedCodeNotSet {
			re.EnhancedCode = fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
		}
		return re
	}
	return fmt.Errorf("mailout: relay %s: %w", cmd, err)
}

// permanentError marks an error that retrying will not cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Temporary() bool { return false }

// permanent marks err as permanent; nil stays nil.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsTemporary reports whether a send that failed with err should be retried.
//
// Replies of the relay decide first (see ReplyError.Temporary; a bare *smtp.SMTPError
// counts by its code: 4xx temporary, 5xx permanent). Then an error that says it is
// temporary or not (a Temporary() bool method, as the errors of Build that no retry will
// cure) is taken at its word. Everything else — network errors, timeouts, a relay that
// cannot be reached, a full disk — is temporary: Options.MaxAge bounds its retries.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var re *ReplyError
	if errors.As(err, &re) {
		return re.Temporary()
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code/100 != 5
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		if _, isNet := t.(interface{ Timeout() bool }); !isNet {
			return t.Temporary()
		}
	}
	return true
}
