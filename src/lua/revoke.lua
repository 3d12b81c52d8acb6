-- RFC 7009.  KEYS[1] the token's record; ARGV: prefix, cid, type ("at" or
-- "rt").  A refresh token takes its whole grant with it, also one
-- already rotated (a revocation racing a refresh must not be lost); an
-- access token leaves its grant's set, which holds live tokens only.
-- Another client's token is left alone.  {1} revoked | {0} nothing done
--! uses: schema grants revoke
local t = redis.call('HMGET', KEYS[1], 'cid', 'gid', 'used')
if not t[1] or t[1] ~= ARGV[2] then return {0} end
if ARGV[3] == 'rt' then revoke(ARGV[1], t[2]) end
if ARGV[3] == 'at' and t[2] and t[2] ~= '' then
  redis.call('SREM', ARGV[1] .. K.grant .. t[2], KEYS[1])
end
redis.call('DEL', KEYS[1])
return {1}
