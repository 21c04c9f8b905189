/**
 * The two Lua scripts instances share state through. Every key of a namespace carries the
 * same `{namespace}` hash tag, so both scripts touch one slot and run on Redis Cluster.
 *
 * Per deployment:
 *   <tag>:u:<id>   hash  r<epoch second> → requests, t<epoch second> → tokens (a 61 s window)
 *   <tag>:l:<id>   hash  instance → "<granted>|<expiry ms>": budget leases (see SYNC)
 *   <tag>:f:<id>   hash  instance → requests in flight there
 * Per namespace:
 *   <tag>:i        hash  instance → heartbeat expiry ms
 *   <tag>:cd:<id>  string, the epoch ms a cooldown ends (PX = its length)
 *   <tag>:cooldowns  pub/sub channel: "<instance>|<id>|<until ms>"
 *
 * Exactness. An instance may admit requests for a deployment with an rpm without asking Redis
 * only within a lease: at each sync it is granted floor((rpm − counted − others' leases) /
 * live instances). Redis always holds counted + outstanding leases ≥ what was really sent, and
 * never lets that exceed rpm: past its lease an instance reserves each request atomically
 * (RESERVE), which counts every lease. A lease lives 61 s unless its holder replaces it at its
 * next sync, so a crashed instance's unflushed requests still count for a whole window.
 */

/**
 * KEYS: [instances, then per deployment: usage, leases, inflight]
 * ARGV: [instance, nowMs, heartbeatTtlMs, nDeployments,
 *        then per deployment: rpm (−1 = none), carry, k, k × (second, requests, tokens), localInFlight]
 * `carry` is the part of this instance's lease it had not spent when it sent the sync: it may
 * still spend it while the reply travels, so the new lease entry holds max(new share, carry)
 * and the instance spends at most its new share in all (see DeploymentState.applyShared).
 * Returns: [liveInstances, then per deployment: requests, tokens, remoteInFlight, grant (−1 = no rpm), leasedByOthers]
 */
export const SYNC = `
local inst = ARGV[1]
local now = tonumber(ARGV[2])
local hbTtl = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], inst, now + hbTtl)
redis.call('PEXPIRE', KEYS[1], hbTtl * 4)
local live = {}
local count = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) > now then live[all[i]] = true; count = count + 1 else redis.call('HDEL', KEYS[1], all[i]) end
end
local oldest = math.floor(now / 1000) - 60
local out = { count }
local a = 5
for d = 0, n - 1 do
  local uk = KEYS[2 + d * 3]
  local lk = KEYS[3 + d * 3]
  local fk = KEYS[4 + d * 3]
  local rpm = tonumber(ARGV[a])
  local carry = tonumber(ARGV[a + 1])
  local k = tonumber(ARGV[a + 2])
  a = a + 3
  for j = 1, k do
    local s = ARGV[a]
    local rq = tonumber(ARGV[a + 1])
    local tk = tonumber(ARGV[a + 2])
    a = a + 3
    if rq ~= 0 then redis.call('HINCRBY', uk, 'r' .. s, rq) end
    if tk ~= 0 then redis.call('HINCRBY', uk, 't' .. s, tk) end
  end
  redis.call('HSET', fk, inst, ARGV[a])
  a = a + 1
  redis.call('PEXPIRE', fk, hbTtl * 4)
  local req, tok = 0, 0
  local f = redis.call('HGETALL', uk)
  for i = 1, #f, 2 do
    local name = f[i]
    local s = tonumber(string.sub(name, 2))
    if s == nil or s < oldest then redis.call('HDEL', uk, name)
    elseif string.sub(name, 1, 1) == 'r' then req = req + tonumber(f[i + 1])
    else tok = tok + tonumber(f[i + 1]) end
  end
  if #f > 0 then redis.call('PEXPIRE', uk, 125000) end
  local remote = 0
  local fl = redis.call('HGETALL', fk)
  for i = 1, #fl, 2 do
    if fl[i] ~= inst then
      if live[fl[i]] then remote = remote + tonumber(fl[i + 1]) else redis.call('HDEL', fk, fl[i]) end
    end
  end
  -- This instance's admits under its old lease were just flushed: the lease is spent.
  redis.call('HDEL', lk, inst)
  local leased = 0
  local ls = redis.call('HGETALL', lk)
  for i = 1, #ls, 2 do
    local v = ls[i + 1]
    local sep = string.find(v, '|', 1, true)
    local q = tonumber(string.sub(v, 1, sep - 1))
    local exp = tonumber(string.sub(v, sep + 1))
    if exp > now then leased = leased + q else redis.call('HDEL', lk, ls[i]) end
  end
  local grant = -1
  if rpm >= 0 then
    -- A fair share of what nobody else holds, re-split every round as instances come and go.
    grant = 0
    local free = rpm - req - leased
    if free > 0 and count > 0 then grant = math.floor(free / count) end
    -- Whatever this instance may still spend from its old lease while the reply travels stays held.
    local hold = math.max(grant, carry)
    if hold > 0 then
      redis.call('HSET', lk, inst, hold .. '|' .. (now + 61000))
      redis.call('PEXPIRE', lk, 125000)
    end
  end
  out[#out + 1] = req
  out[#out + 1] = tok
  out[#out + 1] = remote
  out[#out + 1] = grant
  out[#out + 1] = leased
end
return out
`;

/**
 * One request past an instance's lease: counted only if requests in the window plus every
 * outstanding lease leave room.
 * KEYS: [usage, leases]  ARGV: [nowMs, rpm]
 * Returns: [1, 0] when reserved, or [0, ms until the window frees enough].
 */
export const RESERVE = `
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local sec = math.floor(now / 1000)
local oldest = sec - 60
local req = 0
local bySecond = {}
local f = redis.call('HGETALL', KEYS[1])
for i = 1, #f, 2 do
  local name = f[i]
  if string.sub(name, 1, 1) == 'r' then
    local s = tonumber(string.sub(name, 2))
    if s ~= nil and s >= oldest then
      local v = tonumber(f[i + 1])
      req = req + v
      bySecond[s] = v
    end
  end
end
local leased = 0
local ls = redis.call('HGETALL', KEYS[2])
for i = 1, #ls, 2 do
  local v = ls[i + 1]
  local sep = string.find(v, '|', 1, true)
  if tonumber(string.sub(v, sep + 1)) > now then leased = leased + tonumber(string.sub(v, 1, sep - 1)) end
end
if req + leased + 1 <= rpm then
  redis.call('HINCRBY', KEYS[1], 'r' .. sec, 1)
  redis.call('PEXPIRE', KEYS[1], 125000)
  return { 1, 0 }
end
local total = req + leased
for s = oldest, sec do
  total = total - (bySecond[s] or 0)
  if total + 1 <= rpm then return { 0, (s + 61) * 1000 - now } end
end
return { 0, 1000 }
`;
