package coord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the coordination of several instances through one Redis server (go-redis/v9).
// It implements Locker, Limiter, Backoff and Notifier; every key it writes starts with
// RedisOptions.Prefix:
//
//	<prefix>lease:<name>   the holder of a lease (SET NX PX, random holder id)
//	<prefix>fence:<name>   the fencing counter of a lease (INCR, never expires)
//	<prefix>rate:<key>     a sorted set of the events of a sliding window
//	<prefix>backoff:<key>  the failure count of a Backoff key (a hash: n, last)
//	<prefix>signal:<topic> the pub/sub channel of a "work is waiting" signal
//
// # When Redis is unreachable
//
// Mail intake goes on: SMTP, LMTP and `guichet ingest` never touch Redis before they
// store a message, and each kind of coordination degrades on purpose:
//
//   - Leases fail closed. TryAcquire returns an error (never ErrHeld, never a lease), so
//     an IMAP mailbox is not read until Redis answers again: no two instances read the
//     same mailbox. A holder whose Renew keeps failing gets ErrLost (joined with the
//     cause) once its TTL has passed since the last successful renewal, and must stop.
//   - Rate limits fail open, through FailOpen: Allow answers true and the error is logged
//     (at most once a minute). A confirmation sent twice is better than one lost.
//     Backoffs fail open too, through FailOpenBackoff: a try goes through uncounted.
//     Locking every user out of the portal while Redis is down would be worse than a
//     password guesser that goes unslowed for that time.
//   - Signals degrade to polling. Notify returns an error at once (callers log it and go
//     on); a subscription keeps its channel, reconnects in the background with backoff,
//     and wakes its reader once when it is back, since signals may have been missed. The
//     workers keep their own poll interval meanwhile, so nothing waits longer than that.
type Redis struct {
	client *redis.Client
	prefix string
	log    *slog.Logger
}

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// Prefix starts every key and channel name; "guichet:" when empty.
	Prefix string
	// Logger receives connection problems of subscriptions; discarded when nil.
	Logger *slog.Logger
}

var (
	_ Locker   = (*Redis)(nil)
	_ Limiter  = (*Redis)(nil)
	_ Backoff  = (*Redis)(nil)
	_ Notifier = (*Redis)(nil)
)

// NewRedis returns the Redis coordination over client. The caller keeps ownership of
// client and closes it after the last use (subscriptions end with their context).
func NewRedis(client *redis.Client, opt RedisOptions) *Redis {
	if opt.Prefix == "" {
		opt.Prefix = "guichet:"
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Redis{client: client, prefix: opt.Prefix, log: opt.Logger.With("component", "coord")}
}

// OpenRedis parses a redis:// (or rediss://) URL, connects, and checks the server with
// PING; on an error nothing stays open.
func OpenRedis(ctx context.Context, url string) (*redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("coord: parse redis url: %w", err)
	}
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("coord: ping redis at %s: %w", o.Addr, err)
	}
	return c, nil
}

// Ping checks that Redis answers (for /healthz).
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("coord: ping redis: %w", err)
	}
	return nil
}

func (r *Redis) key(kind, id string) string { return r.prefix + kind + ":" + id }

// randomID returns 16 random bytes in hex: lease holders and window members.
func randomID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// millis is d in whole milliseconds, at least 1 (PX and PEXPIRE refuse 0).
func millis(d time.Duration) int64 {
	if ms := d.Milliseconds(); ms > 0 {
		return ms
	}
	return 1
}
