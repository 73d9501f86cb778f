package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timings of subscriptions: how long Subscribe waits for its first SUBSCRIBE to be
// confirmed, how often an idle subscription pings to find a dead connection, and the
// bounds of the reconnection backoff.
const (
	subscribeWait = 3 * time.Second
	pingEvery     = 15 * time.Second
	minBackoff    = 100 * time.Millisecond
	maxBackoff    = 5 * time.Second
)

// Notify implements Notifier with PUBLISH on <prefix>signal:<topic>. When Redis cannot
// be reached it returns the error (after go-redis's own few retries); signals are hints,
// so callers log it and go on.
func (r *Redis) Notify(ctx context.Context, topic string) error {
	if err := r.client.Publish(ctx, r.key("signal", topic), "1").Err(); err != nil {
		return fmt.Errorf("coord: notify %s: %w", topic, err)
	}
	return nil
}

// Subscribe implements Notifier with SUBSCRIBE on <prefix>signal:<topic>. The channel
// has a buffer of one, so wake-ups coalesce. Subscribe waits (a few seconds at most) for
// the subscription to be in place, so that a Notify after it returns is seen; when Redis
// cannot be reached it logs that and still returns the channel. A background loop keeps
// the subscription until ctx ends: after a dropped connection it resubscribes with
// backoff and then wakes the reader once, since signals may have been missed meanwhile.
// The channel is never closed. Subscribe fails only when ctx has ended.
func (r *Redis) Subscribe(ctx context.Context, topic string) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("coord: subscribe %s: %w", topic, err)
	}
	s := &subscription{r: r, channel: r.key("signal", topic), out: make(chan struct{}, 1), ready: make(chan error, 1),
		log: r.log.With("topic", topic)}
	s.warn = newLogEvery(s.log, time.Minute)
	go s.run(ctx)
	select {
	case err := <-s.ready:
		if err != nil {
			s.log.Warn("signals unavailable, relying on polling until Redis answers", slog.Any("error", err))
		}
	case <-time.After(subscribeWait):
		s.log.Warn("signals not yet subscribed, relying on polling until Redis answers")
	case <-ctx.Done():
		return nil, fmt.Errorf("coord: subscribe %s: %w", topic, ctx.Err())
	}
	return s.out, nil
}

// subscription is one topic's background loop.
type subscription struct {
	r       *Redis
	channel string
	out     chan struct{}
	ready   chan error // the outcome of the first attempt, sent once
	log     *slog.Logger
	warn    *logEvery

	reported bool // ready has been sent: later subscriptions wake the reader
}

func (s *subscription) wake() {
	select {
	case s.out <- struct{}{}:
	default:
	}
}

// report sends the first attempt's outcome to Subscribe.
func (s *subscription) report(err error) {
	if !s.reported {
		s.reported = true
		s.ready <- err
	}
}

// run subscribes again and again, with backoff, until ctx ends.
func (s *subscription) run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		subscribed, err := s.receive(ctx)
		if ctx.Err() != nil {
			return
		}
		s.report(err)
		if subscribed {
			backoff = minBackoff
			s.warn.Reset()
		}
		s.warn.Warn("signal subscription lost, resubscribing", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// receive holds one subscription on one connection until it fails; subscribed tells
// whether Redis confirmed it.
func (s *subscription) receive(ctx context.Context) (subscribed bool, err error) {
	ps := s.r.client.Subscribe(ctx)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() }) // unblocks a pending read
	defer stop()
	if err := ps.Subscribe(ctx, s.channel); err != nil {
		return false, err
	}
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && !pinged {
			pinged = true // idle: a ping must come back within the next period
			if err := ps.Ping(ctx); err != nil {
				return subscribed, err
			}
			continue
		}
		if err != nil {
			return subscribed, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == s.channel {
				subscribed = true
				if s.reported {
					s.wake() // back after a gap, or later than Subscribe waited
				}
				s.report(nil)
			}
		case *redis.Message:
			s.wake()
		}
	}
}
