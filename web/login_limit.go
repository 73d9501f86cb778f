package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/guichet/guichet/ticket"
)

// Backoff slows down repeated failures per key (coord.Backoff, adapted in cmd): Try
// returns 0 and counts a failure when the key may try now, or how long it must wait;
// Forgive uncounts a try that succeeded; Reset forgets the key's failures.
type Backoff interface {
	Try(ctx context.Context, key string, p BackoffPolicy) (wait time.Duration, err error)
	Forgive(ctx context.Context, key string) error
	Reset(ctx context.Context, key string) error
}

// BackoffPolicy is coord.BackoffPolicy: Free failures cost no wait, then each further
// try waits Base, doubled per failure, at most Max; a key is forgotten Forget after its
// last failure.
type BackoffPolicy struct {
	Free      int
	Base, Max time.Duration
	Forget    time.Duration
}

// SignInLimits are the policies of the sign-in limits. Only failures count: a school
// whose staff all sign in from one address is never held up by its successful
// sign-ins.
type SignInLimits struct {
	// Account counts wrong passwords per account (from anywhere), and a success resets
	// it. Its wait stays short, so that someone guessing from many addresses slows the
	// guessing down without locking the real user out (who can also ask for a sign-in
	// link by mail, which no wrong password delays).
	Account BackoffPolicy
	// Client counts wrong passwords per client address (IPv6: per /64); successes do
	// not count. Its wait grows longer: one address that keeps guessing is one party.
	Client BackoffPolicy
	// LinkAccount counts sign-in links asked for one address, so that the form cannot
	// flood someone's mailbox; LinkClient counts those asked from one client address.
	LinkAccount BackoffPolicy
	LinkClient  BackoffPolicy
}

// DefaultSignInLimits are the limits when Options.SignIn leaves a policy zero.
var DefaultSignInLimits = SignInLimits{
	Account:     BackoffPolicy{Free: 5, Base: 2 * time.Second, Max: time.Minute, Forget: 15 * time.Minute},
	Client:      BackoffPolicy{Free: 20, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: time.Hour},
	LinkAccount: BackoffPolicy{Free: 3, Base: time.Minute, Max: time.Hour, Forget: 24 * time.Hour},
	LinkClient:  BackoffPolicy{Free: 20, Base: time.Minute, Max: time.Hour, Forget: time.Hour},
}

// withDefaults fills the zero policies of l from DefaultSignInLimits.
func (l SignInLimits) withDefaults() SignInLimits {
	d := DefaultSignInLimits
	for _, p := range []struct{ v, def *BackoffPolicy }{
		{&l.Account, &d.Account}, {&l.Client, &d.Client}, {&l.LinkAccount, &d.LinkAccount}, {&l.LinkClient, &d.LinkClient},
	} {
		if *p.v == (BackoffPolicy{}) {
			*p.v = *p.def
		}
	}
	return l
}

// limitKey is a Backoff key with its policy.
type limitKey struct {
	key string
	p   BackoffPolicy
}

// passwordKeys are the keys a password try counts against: the client's, then the
// account's (none for an address that is not one).
func (h *Handler) passwordKeys(r *http.Request, email string) []limitKey {
	keys := []limitKey{{"signin:client:" + clientNet(r), h.opt.SignIn.Client}}
	if ticket.NormalizeEmail(email) != "" {
		keys = append(keys, h.accountKey(email))
	}
	return keys
}

// accountKey is the key of an account's wrong passwords, at sign-in and on the profile
// (where a taken-over session could otherwise guess the current password unslowed).
func (h *Handler) accountKey(email string) limitKey {
	return limitKey{"signin:account:" + addrKey(email), h.opt.SignIn.Account}
}

// addrKey is the normalised address as a key: readable as is, or its SHA-256 when it is
// longer than any real address (RFC 5321 §4.5.3.1.3), so that a hostile form cannot make
// the limits keep megabytes per try.
func addrKey(email string) string {
	e := ticket.NormalizeEmail(email)
	if len(e) <= 254 {
		return e
	}
	sum := sha256.Sum256([]byte(e))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// linkKeys are the keys a request for a sign-in link counts against.
func (h *Handler) linkKeys(r *http.Request, email string) []limitKey {
	keys := []limitKey{{"signin-link:client:" + clientNet(r), h.opt.SignIn.LinkClient}}
	if ticket.NormalizeEmail(email) != "" {
		keys = append(keys, limitKey{"signin-link:account:" + addrKey(email), h.opt.SignIn.LinkAccount})
	}
	return keys
}

// try counts one try against every key, in order, and returns 0, or the wait of the
// first key that must wait (then the keys already counted are forgiven: the try did
// not happen). A Backoff that fails lets the try through (fail open, logged): locking
// everyone out when Redis is down would be worse than a slower guesser.
func (h *Handler) try(ctx context.Context, keys []limitKey) time.Duration {
	if h.opt.Backoff == nil {
		return 0
	}
	for i, k := range keys {
		wait, err := h.opt.Backoff.Try(ctx, k.key, k.p)
		if err != nil {
			h.opt.Logger.Warn("sign-in limit unavailable: allowing", slog.Any("error", err))
			continue
		}
		if wait > 0 {
			h.forgive(ctx, keys[:i])
			return wait
		}
	}
	return 0
}

// forgive uncounts a try of keys (it succeeded, or failed through no fault of its own).
func (h *Handler) forgive(ctx context.Context, keys []limitKey) {
	if h.opt.Backoff == nil {
		return
	}
	for _, k := range keys {
		if err := h.opt.Backoff.Forgive(ctx, k.key); err != nil {
			h.opt.Logger.Warn("sign-in limit unavailable: success not uncounted", slog.Any("error", err))
		}
	}
}

// reset forgets the failures of keys (an account whose password was right).
func (h *Handler) reset(ctx context.Context, keys []limitKey) {
	if h.opt.Backoff == nil {
		return
	}
	for _, k := range keys {
		if err := h.opt.Backoff.Reset(ctx, k.key); err != nil {
			h.opt.Logger.Warn("sign-in limit unavailable: failures not reset", slog.Any("error", err))
		}
	}
}

// retryAfter sets Retry-After (RFC 9110 §10.2.3) to wait in whole seconds, rounded up,
// and returns the French or English words for it.
func (h *Handler) retryAfter(w http.ResponseWriter, lang string, wait time.Duration) string {
	secs := int64((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	switch {
	case secs <= 1:
		return h.pages.T(lang, "wait.second")
	case secs < 60:
		return strings.Replace(h.pages.T(lang, "wait.seconds"), "%d", strconv.FormatInt(secs, 10), 1)
	case secs <= 60:
		return h.pages.T(lang, "wait.minute")
	}
	return strings.Replace(h.pages.T(lang, "wait.minutes"), "%d", strconv.FormatInt((secs+59)/60, 10), 1)
}

// clientNet is the client whose failures count together: the peer's address (proxies'
// headers are not trusted), or its /64 for IPv6, since one party holds a whole /64.
func clientNet(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// acceptLang is the portal language a signed-out visitor prefers (Accept-Language,
// RFC 9110 §12.5.4): English when it comes before French, else French.
func acceptLang(header string) string {
	best, bestQ := "fr", 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if (lang == "fr" || lang == "en") && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}
