package coord

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript is a sliding-window limiter on the sorted set KEYS[1]: every allowed event
// is a member scored with the server's time in ms. Events at or before now-window
// (ARGV[1] ms) drop out; the event is recorded, and 1 returned, only while fewer than
// ARGV[2] remain; refused events are not recorded. ARGV[3] makes the member unique.
// The clock is Redis's (TIME), so instances with skewed clocks count alike.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], window)
	return 0
end
redis.call('ZADD', KEYS[1], string.format('%d', now), string.format('%d', now) .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 1
`)

// Allow implements Limiter with a sliding window kept in the sorted set
// <prefix>rate:<key>, atomically in one Lua script (ZREMRANGEBYSCORE, ZCARD, ZADD,
// PEXPIRE), on the Redis server's clock with millisecond resolution. Like Memory, at most
// limit events are allowed in any window, and refused events do not count. An error
// means Redis could not be asked: wrap the Limiter in FailOpen to allow then.
func (r *Redis) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	n, err := allowScript.Run(ctx, r.client, []string{r.key("rate", key)}, millis(window), limit, randomID()).Int64()
	if err != nil {
		return false, fmt.Errorf("coord: rate limit %s: %w", key, err)
	}
	return n == 1, nil
}
