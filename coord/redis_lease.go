package coord

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// acquireScript takes the lease KEYS[1] for holder ARGV[1] for ARGV[2] ms and, only
// then, draws the next fencing token from KEYS[2]; 0 when the lease is held. Both in one
// script, so tokens grow in the order the lease changes hands.
//
// The fence counter starts from Redis's clock in microseconds when it does not exist,
// so that a Redis that lost its data (or an instance moving from in-process
// coordination to Redis) still hands out tokens above those already stored with the
// guarded data.
var acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	if redis.call('EXISTS', KEYS[2]) == 0 then
		local t = redis.call('TIME')
		redis.call('SET', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])))
	end
	return redis.call('INCR', KEYS[2])
end
return 0
`)

// renewScript extends KEYS[1] by ARGV[2] ms if holder ARGV[1] still has it: 1, else 0.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes KEYS[1] if holder ARGV[1] still has it: 1, else 0.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// TryAcquire implements Locker: SET NX PX of a random holder id on <prefix>lease:<name>,
// and a fencing token from INCR <prefix>fence:<name>. It returns ErrHeld when another
// holder has the lease, and another error (fail closed: no lease) when Redis cannot be
// asked.
func (r *Redis) TryAcquire(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
	holder := randomID()
	start := time.Now()
	token, err := acquireScript.Run(ctx, r.client, []string{r.key("lease", name), r.key("fence", name)}, holder, millis(ttl)).Int64()
	if err != nil {
		return nil, fmt.Errorf("coord: acquire lease %s: %w", name, err)
	}
	if token == 0 {
		return nil, ErrHeld
	}
	return &redisLease{r: r, name: name, holder: holder, token: token, ttl: ttl, until: start.Add(ttl)}, nil
}

// redisLease is a lease held in Redis. until is the local, conservative end of the lease
// (measured from before the last successful request): past it, failing to reach Redis
// means the lease is lost.
type redisLease struct {
	r      *Redis
	name   string
	holder string
	token  int64
	ttl    time.Duration

	mu    sync.Mutex
	until time.Time
}

func (l *redisLease) Name() string { return l.name }
func (l *redisLease) Token() int64 { return l.token }

// Renew extends the lease if this holder still has it; ErrLost when it does not, or when
// Redis has not answered since the lease's TTL ran out (wrapped with the cause).
func (l *redisLease) Renew(ctx context.Context) error {
	start := time.Now()
	ok, err := renewScript.Run(ctx, l.r.client, []string{l.r.key("lease", l.name)}, l.holder, millis(l.ttl)).Int64()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil && !start.Before(l.until):
		return fmt.Errorf("coord: renew lease %s: %w: %w", l.name, ErrLost, err)
	case err != nil:
		return fmt.Errorf("coord: renew lease %s: %w", l.name, err)
	case ok == 0:
		l.until = time.Time{}
		return ErrLost
	}
	l.until = start.Add(l.ttl)
	return nil
}

// Release deletes the lease if this holder still has it; a lease already taken by
// another holder is left alone (and nil is returned, as by Memory).
func (l *redisLease) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.r.client, []string{l.r.key("lease", l.name)}, l.holder).Err(); err != nil {
		return fmt.Errorf("coord: release lease %s: %w", l.name, err)
	}
	l.mu.Lock()
	l.until = time.Time{}
	l.mu.Unlock()
	return nil
}
