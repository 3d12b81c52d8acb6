-- The token lookup.  KEYS[1] is "{prefix}at:<sha256hex(token)>";
-- ARGV[1] the key prefix, ARGV[2] the mode, ARGV[3] the organization.
--
-- Reply: {0} when there is no such record or its app was deleted, else
--   {1, uid, cid, scope, exp, aud, ...} followed by
--   mode "g" (gate):  granted (0/1: ARGV[3] is one of the token's
--                     organizations), member (0/1: the user still
--                     belongs to it)
--   mode "o" (orgs):  id, name pairs of the token's organizations the
--                     user still belongs to
-- Every element is a string or an integer: a nil anywhere means the reply
-- did not come from this script.  The user's key is derived from the
-- record, so this needs a single (non-cluster) Redis.
--! uses: schema gone
local f = redis.call('HMGET', KEYS[1], 'uid', 'cid', 'scope', 'exp',
                     'aud', 'orgs')
if not f[1] or gone(ARGV[1], f[2]) then return {0} end
local out = {1, f[1], f[2] or '', f[3] or '', f[4] or '', f[5] or ''}
local uk = ARGV[1] .. K.user .. f[1] .. K.orgs_suffix
if ARGV[2] == 'g' then
  local granted, member = 0, 0
  for o in string.gmatch(f[6] or '', '%S+') do
    if o == ARGV[3] then granted = 1 break end
  end
  if granted == 1 then member = redis.call('SISMEMBER', uk, ARGV[3]) end
  out[7] = granted
  out[8] = member
else
  for o in string.gmatch(f[6] or '', '%S+') do
    if redis.call('SISMEMBER', uk, o) == 1 then
      out[#out + 1] = o
      out[#out + 1] = redis.call('HGET', ARGV[1] .. K.org .. o,
                                 'name') or ''
    end
  end
end
return out
