package coord

import (
	"context"
	"errors"
	"time"
)

// Errors of leases.
var (
	// ErrHeld is returned by TryAcquire when another holder has the lease.
	ErrHeld = errors.New("coord: lease held by another holder")
	// ErrLost is returned by Renew when the lease expired and was taken, or is gone.
	ErrLost = errors.New("coord: lease lost")
)

// Lease is a held, expiring lock on a name (an IMAP mailbox, say). Renew it well before
// its TTL passes; once lost, stop the work it guards.
type Lease interface {
	// Name is what the lease locks.
	Name() string
	// Token is the fencing token: it grows every time the lease changes hands, so a
	// store can refuse a write from a holder that lost the lease without knowing it.
	Token() int64
	// Renew extends the lease by its TTL; ErrLost when it is no longer ours.
	Renew(ctx context.Context) error
	// Release gives the lease up.
	Release(ctx context.Context) error
}

// Locker hands out leases.
type Locker interface {
	// TryAcquire takes the lease on name for ttl, or returns ErrHeld at once.
	TryAcquire(ctx context.Context, name string, ttl time.Duration) (Lease, error)
}

// Limiter counts events per key in a sliding or fixed window.
type Limiter interface {
	// Allow records one event for key and reports whether it is within limit events per
	// window. On an error the caller decides whether to fail open or closed.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error)
}

// Notifier carries "work is waiting" signals between instances.
type Notifier interface {
	// Notify wakes every subscriber of topic, here and in other instances.
	Notify(ctx context.Context, topic string) error
	// Subscribe returns a channel that receives (coalesced) wake-ups for topic until ctx
	// ends.
	Subscribe(ctx context.Context, topic string) (<-chan struct{}, error)
}
