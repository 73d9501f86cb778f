package mailout

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sender delivers one built message to its recipients. Its error tells, through
// IsTemporary, whether the send may be tried again.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// ReplySender is an optional interface of a Sender that reports what the receiving side
// answered (e.g. the relay's "250 2.0.0 queued as …"); the worker records it with the
// sent row.
type ReplySender interface {
	Sender
	SendReply(ctx context.Context, from string, to []string, msg []byte) (string, error)
}

// SenderFunc adapts a function to the Sender interface.
type SenderFunc func(ctx context.Context, from string, to []string, msg []byte) error

var _ Sender = (SenderFunc)(nil)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, from string, to []string, msg []byte) error {
	return f(ctx, from, to, msg)
}

// DefaultBackoff is the delay before retry number attempt (1 for the first retry): 30 s
// doubled at each attempt, at most an hour, with jitter taking up to half of it off.
func DefaultBackoff(attempt int) time.Duration {
	const first, limit = 30 * time.Second, time.Hour
	if attempt < 1 {
		attempt = 1
	}
	d := first
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d - rand.N(d/2)
}
