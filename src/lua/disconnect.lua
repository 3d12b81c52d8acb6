-- Ends grants, or an organization's part of them: connected apps
-- (src/ngx_http_imprest_connections.c) and "imprestctl grant revoke".
-- ARGV: prefix, index ("user", "client", "org" or "grant"), its id, cid
-- (only grants of this app; "" any), uid (only grants of this user; ""
-- any), org ("" ends the whole grants; else only this organization
-- leaves them, and a grant left with none ends), admin ("" or a uid that
-- must be an admin member of org).
-- {1, grants changed} | {0} admin is not an admin of org
--
-- An organization leaves a grant by being taken out of the "orgs" of its
-- live token records (the grant's set: at most three) and of its info:
-- the gate refuses the tokens there from the next request, and the
-- refresh token, which hands its orgs on, cannot bring the access back.
--! uses: schema hash grants revoke
local p, cid, uid = ARGV[1], ARGV[4], ARGV[5]
local org, admin = ARGV[6], ARGV[7]
if admin ~= '' then
  if org == ''
     or redis.call('SISMEMBER', p .. K.user .. admin .. K.orgs_suffix,
                   org) ~= 1
     or redis.call('HGET', p .. K.user .. admin .. K.roles_suffix,
                   org) ~= 'admin' then
    return {0}
  end
end
local idx, gids
if ARGV[2] == 'grant' then
  gids = {ARGV[3]}
else
  local kind = {user = K.user, client = K.client, org = K.org}
  idx = p .. kind[ARGV[2]] .. ARGV[3] .. K.grants_suffix
  gids = redis.call('SMEMBERS', idx)
end
local n = 0
for _, gid in ipairs(gids) do
  local g = p .. K.grant .. gid
  local i = hash(g .. K.info_suffix)
  if not i then
    if idx then redis.call('SREM', idx, gid) end
  elseif (cid == '' or i.cid == cid) and (uid == '' or i.uid == uid) then
    if org == '' then
      revoke(p, gid)
      n = n + 1
    else
      local rest, had = {}, false
      for o in string.gmatch(i.orgs or '', '%S+') do
        if o == org then had = true else rest[#rest + 1] = o end
      end
      if had then
        n = n + 1
        if #rest == 0 then
          revoke(p, gid)
        else
          local orgs = table.concat(rest, ' ')
          for _, k in ipairs(redis.call('SMEMBERS', g)) do
            if redis.call('EXISTS', k) == 1 then
              redis.call('HSET', k, 'orgs', orgs)
            end
          end
          redis.call('HSET', g .. K.info_suffix, 'orgs', orgs)
          redis.call('SREM', p .. K.org .. org .. K.grants_suffix, gid)
        end
      end
    end
  end
end
return {1, n}
