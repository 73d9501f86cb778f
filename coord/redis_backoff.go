package coord

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// tryScript is Backoff.Try on the hash KEYS[1] (fields n: counted failures, last: the
// last counted try in ms of the server's clock). ARGV: free, base ms, max ms, forget
// ms. It returns the wait in ms, or 0 after counting the try; the delay is
// BackoffPolicy.Delay's: 0 below free, then base doubled per failure past free, at
// most max.
var tryScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free, base, max, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 'n', 'last')
local n, last = tonumber(v[1]) or 0, tonumber(v[2]) or 0
if n >= free and base > 0 then
	local d = math.min(base * 2 ^ (n - free), max)
	local wait = last + d - now
	if wait > 0 then
		return math.ceil(wait)
	end
end
redis.call('HSET', KEYS[1], 'n', n + 1, 'last', now)
redis.call('PEXPIRE', KEYS[1], forget)
return 0
`)

// forgiveScript uncounts one failure of KEYS[1], forgetting the key at none.
var forgiveScript = redis.NewScript(`
if redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then
	redis.call('DEL', KEYS[1])
end
return 0
`)

// Try implements Backoff with the hash <prefix>backoff:<key>, in one Lua script on the
// Redis server's clock (ms), so that instances with skewed clocks count alike and
// parallel tries on several instances are counted one by one. An error means Redis
// could not be asked; FailOpenBackoff lets the try through then.
func (r *Redis) Try(ctx context.Context, key string, p BackoffPolicy) (time.Duration, error) {
	p = p.norm()
	ms, err := tryScript.Run(ctx, r.client, []string{r.key("backoff", key)},
		p.Free, p.Base.Milliseconds(), millis(p.Max), millis(p.Forget)).Int64()
	if err != nil {
		return 0, fmt.Errorf("coord: backoff %s: %w", key, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Forgive implements Backoff.
func (r *Redis) Forgive(ctx context.Context, key string) error {
	if err := forgiveScript.Run(ctx, r.client, []string{r.key("backoff", key)}).Err(); err != nil {
		return fmt.Errorf("coord: forgive %s: %w", key, err)
	}
	return nil
}

// Reset implements Backoff.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key("backoff", key)).Err(); err != nil {
		return fmt.Errorf("coord: reset %s: %w", key, err)
	}
	return nil
}
