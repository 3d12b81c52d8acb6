-- refresh_token grant with rotation.  KEYS[1] presented refresh token,
-- KEYS[2] new access token, KEYS[3] new refresh token; ARGV: prefix, cid,
-- requested scope (or ""), now, at ttl, rt ttl, grant lifetime.
-- {1, access token scope, refresh token scope} |
-- {0, reason code (lib/reasons.lua)}
--
-- A refresh token without "gexp" was issued before grants had a
-- lifetime: its grant gets a whole one from this refresh on.  The grant's
-- set lives as long as its newest refresh token; both restart with each
-- refresh but never reach past gexp.
--! uses: schema reasons hash grants revoke gone access
local t = hash(KEYS[1])
if not t then return {0, R.unknown_refresh_token} end
if t.used == '1' then
  revoke(ARGV[1], t.gid)
  redis.call('DEL', KEYS[1])
  return {0, R.refresh_token_used}
end
if t.cid ~= ARGV[2] then
  return {0, R.refresh_token_other_client}
end
if gone(ARGV[1], t.cid) then return {0, R.client_deleted} end
local now = tonumber(ARGV[4])
if tonumber(t.exp or 0) <= now then
  return {0, R.refresh_token_expired}
end
local gexp = tonumber(t.gexp or '') or now + tonumber(ARGV[7])
if gexp <= now then return {0, R.grant_expired} end
local g = ARGV[1] .. K.grant .. (t.gid or '')
if redis.call('EXISTS', g) == 0 then return {0, R.grant_revoked} end
local scope = t.scope
if ARGV[3] ~= '' then
  local have = {}
  for s in string.gmatch(t.scope, '%S+') do have[s] = true end
  for s in string.gmatch(ARGV[3], '%S+') do
    if not have[s] then return {0, R.scope_exceeds_grant} end
  end
  scope = ARGV[3]
end
local rtt = math.min(tonumber(ARGV[6]), gexp - now)
local ate, rte = now + tonumber(ARGV[5]), now + rtt
access(KEYS[2], t.uid, t.cid, scope, t.orgs, now, ate, t.aud or '',
       t.gid, ARGV[5])
redis.call('HSET', KEYS[3], 'uid', t.uid, 'cid', t.cid, 'scope', t.scope,
           'orgs', t.orgs, 'iat', now, 'exp', rte, 'aud', t.aud or '',
           'gid', t.gid, 'gexp', gexp, 'at', KEYS[2],
           'pat', t.at or '')
redis.call('EXPIRE', KEYS[3], rtt)
redis.call('SREM', g, KEYS[1])
if (t.pat or '') ~= '' then
  redis.call('SREM', g, t.pat)
  redis.call('DEL', t.pat)
end
redis.call('SADD', g, KEYS[2], KEYS[3])
redis.call('EXPIRE', g, rtt)
redis.call('EXPIRE', g .. K.info_suffix, rtt)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'used', '1', 'gid', t.gid, 'cid', t.cid)
redis.call('EXPIRE', KEYS[1], rtt)
return {1, scope, t.scope}
