package mailout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// DefaultHealthWindow is how many sends in a row must fail for the relay before
// RelayHealth reports it unavailable.
const DefaultHealthWindow = 3

// RelayHealth watches the outcome of each send and reports, as a /healthz check, a
// relay that refuses every mail: the last Window sends all failed for a reason that is
// the relay's or its configuration's (no connection, a TLS or AUTH failure, a refused
// sender, a policy refusal of the recipient such as "relay access denied"), not the
// recipient's or the message's (an unknown mailbox, a mailbox full, content refused).
// One failure is not enough: a relay restarting fails a send or two.
type RelayHealth struct {
	// Window is how many failures in a row make the relay unavailable;
	// DefaultHealthWindow when 0.
	Window int
	// Logger gets one ERROR line when the relay becomes unavailable, and one INFO line
	// when it sends again; slog.Default() when nil.
	Logger *slog.Logger

	mu     sync.Mutex
	streak int   // relay failures in a row
	last   error // the last of them
}

var _ Observer = (*RelayHealth)(nil)

// Observe records the outcome of one send: nil for a mail the relay accepted. A send
// cut short by the sender's own stop (context.Canceled) says nothing of the relay.
func (h *RelayHealth) Observe(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	window := h.Window
	if window <= 0 {
		window = DefaultHealthWindow
	}
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	h.mu.Lock()
	before := h.streak
	if err != nil && IsRelayFault(err) {
		h.streak++
		h.last = err
	} else {
		h.streak = 0
	}
	after := h.streak
	h.mu.Unlock()
	switch {
	case before < window && after >= window:
		log.Error("the relay refuses every mail: /healthz reports relay unavailable until a mail goes through",
			slog.Int("failures_in_a_row", after), slog.Any("error", err))
	case before >= window && after == 0:
		log.Info("the relay accepts mail again")
	}
}

// Ping implements the /healthz check: an error while the relay is unavailable.
func (h *RelayHealth) Ping(ctx context.Context) error {
	window := h.Window
	if window <= 0 {
		window = DefaultHealthWindow
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streak >= window {
		return fmt.Errorf("unavailable: the last %d sends failed: %w", h.streak, h.last)
	}
	return nil
}

// IsRelayFault reports whether a send failed because of the relay or of the way we
// reach it, so that every other mail would fail alike: anything but an answer about
// this recipient (RCPT refused with an enhanced code of class x.1 or x.2, e.g. 5.1.1
// no such user, 4.2.2 mailbox full, or a 5xx without an enhanced code, which cannot
// tell) or about this message (DATA refused with a 5xx: content, size). Policy refusals
// of a recipient (5.7.1 relay access denied) hit every mail, so they count.
func IsRelayFault(err error) bool {
	if err == nil {
		return false
	}
	var re *ReplyError
	if !errors.As(err, &re) {
		return true // no connection, TLS, timeouts: every mail waits on them
	}
	switch re.Command {
	case "RCPT":
		cls := ""
		if len(re.EnhancedCode) >= 3 {
			cls = re.EnhancedCode[2:3] // "5.1.1" → "1"
		}
		switch {
		case cls == "1" || cls == "2":
			return false
		case cls == "" && re.Code/100 == 5:
			return false
		}
		return true
	case "DATA":
		return re.Code/100 != 5
	}
	return true // GREETING, EHLO, STARTTLS, AUTH, MAIL
}
