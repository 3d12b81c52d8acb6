-- authorization_code redemption.  KEYS[1] code, KEYS[2] new access token,
-- KEYS[3] new refresh token, KEYS[4] new grant; ARGV: prefix, cid,
-- redirect_uri, ru_given, s256 (of the verifier, or ""), now, at ttl,
-- rt ttl, aud, gid, grant lifetime.
-- {1, uid, scope, orgs} | {0, reason code (lib/reasons.lua)}
-- The grant is the set KEYS[4], its info record KEYS[4]..":info" and its
-- place in the user's, the app's and each organization's index.
--! uses: schema reasons hash grants revoke gone access
local c = hash(KEYS[1])
if not c then return {0, R.unknown_code} end
if c.used == '1' then
  revoke(ARGV[1], c.gid)
  return {0, R.code_used}
end
if c.cid ~= ARGV[2] then return {0, R.code_other_client} end
if gone(ARGV[1], c.cid) then return {0, R.client_deleted} end
local now = tonumber(ARGV[6])
if tonumber(c.exp or 0) <= now then
  redis.call('DEL', KEYS[1])
  return {0, R.code_expired}
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 1 then ttl = 1 end
local function burn(why)
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'used', '1', 'gid', '')
  redis.call('EXPIRE', KEYS[1], ttl)
  return {0, why}
end
if (c.ru_given == '1' or ARGV[4] == '1')
   and (ARGV[4] ~= '1' or c.redirect_uri ~= ARGV[3]) then
  return burn(R.redirect_uri_mismatch)
end
if (c.challenge or '') ~= '' then
  if ARGV[5] ~= c.challenge then
    return burn(R.verifier_mismatch)
  end
elseif ARGV[5] ~= '' then
  return burn(R.verifier_unexpected)
end
local life = tonumber(ARGV[11])
local rtt = math.min(tonumber(ARGV[8]), life)
local iat, ate, rte = now, now + tonumber(ARGV[7]), now + rtt
access(KEYS[2], c.uid, c.cid, c.scope, c.orgs, iat, ate, ARGV[9],
       ARGV[10], ARGV[7])
redis.call('HSET', KEYS[3], 'uid', c.uid, 'cid', c.cid, 'scope', c.scope,
           'orgs', c.orgs, 'iat', iat, 'exp', rte, 'aud', ARGV[9],
           'gid', ARGV[10], 'gexp', now + life, 'at', KEYS[2])
redis.call('EXPIRE', KEYS[3], rtt)
redis.call('SADD', KEYS[4], KEYS[2], KEYS[3])
redis.call('EXPIRE', KEYS[4], rtt)
local info = KEYS[4] .. K.info_suffix
redis.call('HSET', info, 'uid', c.uid, 'cid', c.cid, 'scope', c.scope,
           'orgs', c.orgs, 'gexp', now + life, 'created', now)
redis.call('EXPIRE', info, rtt)
grant_index(ARGV[1], ARGV[10], c.uid, c.cid, c.orgs, life)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'used', '1', 'gid', ARGV[10])
redis.call('EXPIRE', KEYS[1], ttl)
return {1, c.uid, c.scope, c.orgs}
