-- One app, read or changed by its owner or with its registration access
-- token (RFC 7592).  KEYS[1] its client key; ARGV: prefix, cid, owner uid
-- or "", rat digest or "" (one of the two must match the record), op
-- ("get", "update", "rotate", "delete"), then for "update": name,
-- redirect_uris, scope; for "rotate": the new secret digest.
-- {0} no such app | {2} neither owner nor token match |
-- {1, name, public (0/1), redirect_uris, scope, owner, created} the
-- record after the change (for "delete": before it)
--
-- "rotate" replaces the digest, so the old secret fails from the next
-- request.  "delete" removes the record and the app leaves the app lists:
-- every script that accepts a token checks that its app's record exists
-- (lib/gone.lua), so all of its tokens stop at the next request, on every
-- gateway.
--! uses: schema
local f = redis.call('HMGET', KEYS[1], 'name', 'secret', 'redirect_uris',
                     'scope', 'owner', 'created', 'rat')
if not f[1] then return {0} end
local owner, rat = f[5] or '', f[7] or ''
if not ((ARGV[3] ~= '' and ARGV[3] == owner)
        or (ARGV[4] ~= '' and ARGV[4] == rat)) then
  return {2}
end
local op = ARGV[5]
if op == 'update' then
  redis.call('HSET', KEYS[1], 'name', ARGV[6], 'redirect_uris', ARGV[7],
             'scope', ARGV[8])
  f[1], f[3], f[4] = ARGV[6], ARGV[7], ARGV[8]
elseif op == 'rotate' then
  if (f[2] or '') == '' then return {2} end
  redis.call('HSET', KEYS[1], 'secret', ARGV[6])
elseif op == 'delete' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', ARGV[1] .. K.apps, ARGV[2])
  if owner ~= '' then
    redis.call('SREM', ARGV[1] .. K.user .. owner .. K.clients_suffix,
               ARGV[2])
  end
  redis.call('DEL', ARGV[1] .. K.client .. ARGV[2] .. K.grants_suffix)
end
local public = 0
if (f[2] or '') == '' then public = 1 end
return {1, f[1], public, f[3] or '', f[4] or '', owner, f[6] or ''}
