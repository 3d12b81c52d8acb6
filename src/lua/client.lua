-- KEYS[1] client key; ARGV[1] prefix, ARGV[2] uid or "".
-- {0} | {1, name, secret, redirect_uris, scope, introspect,
--        org id, org name, role, ...}   (the user's organizations, if a
--        uid; role "admin" or "member", user:<uid>:roles)
--! uses: schema
local c = redis.call('HMGET', KEYS[1], 'name', 'secret', 'redirect_uris',
                     'scope', 'introspect')
if not c[1] then return {0} end
local out = {1, c[1], c[2] or '', c[3] or '', c[4] or '', c[5] or ''}
if ARGV[2] ~= '' then
  local u = ARGV[1] .. K.user .. ARGV[2]
  local orgs = redis.call('SMEMBERS', u .. K.orgs_suffix)
  table.sort(orgs)
  for _, o in ipairs(orgs) do
    out[#out + 1] = o
    out[#out + 1] = redis.call('HGET', ARGV[1] .. K.org .. o,
                               'name') or ''
    if redis.call('HGET', u .. K.roles_suffix, o) == 'admin' then
      out[#out + 1] = 'admin'
    else
      out[#out + 1] = 'member'
    end
  end
end
return out
