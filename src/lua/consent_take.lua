-- The consent decision.  KEYS[1] consent key, KEYS[2] code key;
-- ARGV: prefix, uid, decision ("approve"/"deny"), orgs (space-separated),
-- code ttl, now, admins ("1": only an admin of an organization may grant
-- it, imprest_consent_role admin).
-- {0} unknown or expired request | {3} another user's request |
-- {4, redirect_uri, state, cid} an organization the user does not belong
-- to, or may not grant | {1, redirect_uri, state, cid} approved, code
-- stored |
-- {2, redirect_uri, state, cid} denied
--! uses: schema hash
local c = hash(KEYS[1])
if not c then return {0} end
if c.uid ~= ARGV[2] then return {3} end
redis.call('DEL', KEYS[1])
local ru, st, cid = c.redirect_uri or '', c.state or '', c.cid or ''
if ARGV[3] ~= 'approve' then return {2, ru, st, cid} end
local n = 0
local uk = ARGV[1] .. K.user .. ARGV[2] .. K.orgs_suffix
local rk = ARGV[1] .. K.user .. ARGV[2] .. K.roles_suffix
for o in string.gmatch(ARGV[4], '%S+') do
  if redis.call('SISMEMBER', uk, o) ~= 1
     or (ARGV[7] == '1' and redis.call('HGET', rk, o) ~= 'admin') then
    return {4, ru, st, cid}
  end
  n = n + 1
end
if n == 0 then return {4, ru, st, cid} end
redis.call('HSET', KEYS[2], 'cid', c.cid or '', 'uid', c.uid,
           'redirect_uri', ru, 'ru_given', c.ru_given or '0',
           'scope', c.scope or '', 'orgs', ARGV[4],
           'challenge', c.challenge or '',
           'exp', tonumber(ARGV[6]) + tonumber(ARGV[5]))
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {1, ru, st, cid}
