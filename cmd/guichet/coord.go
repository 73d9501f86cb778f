package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guichet/guichet/coord"
	"github.com/guichet/guichet/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// coordSet is the coordination of one `guichet serve`: in-process without --redis, shared
// through Redis with it. Leases fail closed, rate limits fail open (Limiter is wrapped
// in coord.FailOpen), signals degrade to the workers' polling; see coord.Redis.
type coordSet struct {
	Locker   coord.Locker   // IMAP mailbox leases
	Limiter  coord.Limiter  // never errs: fails open with Redis
	Backoff  coord.Backoff  // the portal's sign-in limits; never errs: fails open with Redis
	Notifier coord.Notifier // "work is waiting" signals
	Pinger   web.Pinger     // Redis's health check; nil without --redis

	ctx     context.Context // the life of the set: ends in closeFn
	log     *slog.Logger
	errs    *prometheus.CounterVec // coordination errors by operation; nil without Redis
	redisUp prometheus.Collector   // nil without Redis
}

// newCoord builds the coordination for --redis, or the in-process one without it.
//
// A malformed --redis URL refuses to start. An unreachable Redis does not: the instance
// logs an error and starts degraded, exactly as when Redis goes away later (SMTP intake
// goes on, IMAP mailboxes wait for their lease, limits fail open, workers poll), and
// /healthz answers 503 "redis" until Redis answers. An instance that refused to start
// while Redis is down would stop taking mail for nothing.
func newCoord(ctx context.Context, e *env) (c coordSet, closeFn func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	log := e.log.With("component", "coord")
	if e.cfg.Redis == "" {
		m := coord.NewMemory()
		return coordSet{Locker: m, Limiter: m, Backoff: m, Notifier: m, ctx: ctx, log: log}, cancel, nil
	}
	opt, err := redis.ParseURL(e.cfg.Redis)
	if err != nil {
		cancel()
		return coordSet{}, nil, usageError{fmt.Sprintf("--redis %s: %v", e.cfg.redacted().Redis, err)}
	}
	// go-redis logs dial failures through a process-wide logger; ours are rate-limited.
	redis.SetLogger(redisLogger{e.log.With("component", "redis")})
	client := redis.NewClient(opt)
	r := coord.NewRedis(client, coord.RedisOptions{Logger: e.log})
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	if err := r.Ping(pctx); err != nil {
		log.Error("redis unreachable at start: running degraded (IMAP waits, limits open, workers poll)",
			"redis", opt.Addr, slog.Any("error", err))
	}
	pcancel()
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "guichet_coord_errors_total", Help: "Redis coordination calls that failed, by operation.",
	}, []string{"op"})
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "guichet_redis_up", Help: "1 when Redis answered PING at the last scrape, else 0.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if r.Ping(ctx) != nil {
			return 0
		}
		return 1
	})
	lim := coord.NewFailOpen(r, coord.FailOpenOptions{Logger: log,
		OnError: func(error) { errs.WithLabelValues("rate_limit").Inc() }})
	backoff := coord.NewFailOpenBackoff(r, coord.FailOpenOptions{Logger: log,
		OnError: func(error) { errs.WithLabelValues("backoff").Inc() }})
	c = coordSet{Locker: r, Limiter: lim, Backoff: backoff, Notifier: r, Pinger: r, ctx: ctx, log: log, errs: errs, redisUp: up}
	return c, func() { cancel(); client.Close() }, nil
}

// webBackoff adapts coord.Backoff to web.Backoff (the same policy, in web's type).
type webBackoff struct{ coord.Backoff }

func (b webBackoff) Try(ctx context.Context, key string, p web.BackoffPolicy) (time.Duration, error) {
	return b.Backoff.Try(ctx, key, coord.BackoffPolicy(p))
}

var _ web.Backoff = webBackoff{}

// checks adds the Redis check, when there is one, to the /healthz checks.
func (c coordSet) checks(m map[string]web.Pinger) map[string]web.Pinger {
	if c.Pinger != nil {
		m["redis"] = c.Pinger
	}
	return m
}

// collectors are the coordination's metrics (none without Redis).
func (c coordSet) collectors() []prometheus.Collector {
	if c.errs == nil {
		return nil
	}
	return []prometheus.Collector{c.errs, c.redisUp}
}

// signal returns the channel a worker waits on for topic and the function that raises
// it (called after a commit). Raising wakes this instance's waiter at once and the other
// instances through the Notifier; the publishing happens in the background, so a slow or
// absent Redis never holds up the commit. A failed subscription leaves the waiter to its
// polling.
func (c coordSet) signal(topic string) (wake <-chan struct{}, raise func()) {
	var local coord.Signal
	log := c.log.With("topic", topic)
	if sub, err := c.Notifier.Subscribe(c.ctx, topic); err != nil {
		log.Warn("signal subscription failed: polling only", slog.Any("error", err))
	} else {
		go func() {
			for {
				select {
				case <-c.ctx.Done():
					return
				case <-sub:
					local.Notify()
				}
			}
		}()
	}
	pending := make(chan struct{}, 1)
	go func() {
		failing := false
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-pending:
			}
			ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
			err := c.Notifier.Notify(ctx, topic)
			cancel()
			if err != nil && c.errs != nil {
				c.errs.WithLabelValues("notify").Inc()
			}
			if err != nil && !failing && c.ctx.Err() == nil {
				log.Warn("cannot signal other instances: they will poll", slog.Any("error", err))
			} else if err == nil && failing {
				log.Info("signalling other instances again")
			}
			failing = err != nil
		}
	}()
	return local.C(), func() {
		local.Notify()
		select {
		case pending <- struct{}{}:
		default:
		}
	}
}

// redisLogger sends go-redis's own messages to slog at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}
