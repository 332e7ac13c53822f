"""The registry's Lua scripts: each decision is one script on Redis's clock, so concurrent processes
cannot both pass the cap or both announce one transition, and the processes' clocks do not matter.

Keys (one hash tag, so a Redis Cluster keeps them in one slot):
- `{chat:sockets}:<user_id>`: the user's open sockets (channel names), each scored with its expiry;
- `{chat:sockets}:users`: the users announced online, each scored with the latest expiry of their
  sockets. A user a stopping process hands over with no socket left is scored `now + grace`: still
  announced, so a reconnect within the grace announces nothing, and a sweep after it announces one who
  did not come back offline.
"""

NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

# KEYS: user key, users key. ARGV: conn, ttl seconds, cap (0: none), user id.
# 0: refused (the cap is reached); 1: opened; 2: opened, and the user was not announced online.
OPEN = (
    NOW
    + """
local ttl = tonumber(ARGV[2])
local expiry = now + ttl
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local cap = tonumber(ARGV[3])
if cap > 0 and not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= cap then
  return 0
end
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 2000))
local score = redis.call('ZSCORE', KEYS[2], ARGV[4])
if (not score) or tonumber(score) < expiry then redis.call('ZADD', KEYS[2], expiry, ARGV[4]) end
if score then return 1 end
return 2
"""
)

# One socket closed: KEYS user key, users key; ARGV conn, user id. 1 when it was the user's last.
CLOSE = (
    NOW
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last == 0 then return redis.call('ZREM', KEYS[2], ARGV[2]) end
redis.call('ZADD', KEYS[2], last[2], ARGV[2])
return 0
"""
)

# A stopping process hands its sockets over, all in one call: KEYS users key; ARGV grace seconds, user
# key prefix, then conn, user id pairs. A user left with no socket stays announced (see the module).
HAND_OVER = (
    NOW
    + """
local until_ = now + tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  local conn, uid = ARGV[i], ARGV[i + 1]
  local key = ARGV[2] .. uid
  redis.call('ZREM', key, conn)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if redis.call('ZSCORE', KEYS[1], uid) then
    if #last == 0 then redis.call('ZADD', KEYS[1], until_, uid) else redis.call('ZADD', KEYS[1], last[2], uid) end
  end
end
return 0
"""
)

# KEYS: users key. ARGV: ttl seconds, user key prefix, then conn, user id pairs.
# Extends the sockets still registered; returns the conns that were not (a sweep removed them).
REFRESH = (
    NOW
    + """
local ttl = tonumber(ARGV[1])
local expiry = now + ttl
local missing = {}
for i = 3, #ARGV, 2 do
  local conn, uid = ARGV[i], ARGV[i + 1]
  local key = ARGV[2] .. uid
  local score = redis.call('ZSCORE', KEYS[1], uid)
  if score and redis.call('ZSCORE', key, conn) then
    redis.call('ZADD', key, expiry, conn)
    redis.call('PEXPIRE', key, math.ceil(ttl * 2000))
    if tonumber(score) < expiry then redis.call('ZADD', KEYS[1], expiry, uid) end
  else
    redis.call('ZREM', key, conn)
    table.insert(missing, conn)
  end
end
return missing
"""
)

# KEYS: users key. ARGV: user key prefix, batch size. Returns the users whose sockets all expired.
SWEEP = (
    NOW
    + """
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local gone = {}
for _, uid in ipairs(stale) do
  local key = ARGV[1] .. uid
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('ZREM', KEYS[1], uid)
    table.insert(gone, uid)
  else
    redis.call('ZADD', KEYS[1], last[2], uid)
  end
end
return gone
"""
)

# KEYS: users key. ARGV: user ids. 1 or 0 per user: online now.
READ = (
    NOW
    + """
local out = {}
for i, uid in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], uid)
  if score and tonumber(score) > now then out[i] = 1 else out[i] = 0 end
end
return out
"""
)
