-- Connected apps: the live grants of an index.  ARGV: prefix, index
-- ("user", "client" or "org"), its id, admin ("" or a uid that must be an
-- admin member of the organization: index "org").
-- {0} not an admin | {1, n, then n times: gid, cid, app name, uid, user
--  name, scope, orgs, created, gexp; m, then id, name of the m
--  organizations named; k, then id, name of the k organizations that the
--  user of index "user" administers (k is 0 for the other indexes)}
-- For index "org" a grant's orgs are that organization only: an admin
-- sees what was granted of the books they administer, not the rest of
-- the user's.  Grants that expired leave the index here; grants of
-- deleted apps are not listed.
--! uses: schema hash gone
local p, id, admin = ARGV[1], ARGV[3], ARGV[4]
if admin ~= '' then
  if ARGV[2] ~= 'org'
     or redis.call('SISMEMBER', p .. K.user .. admin .. K.orgs_suffix,
                   id) ~= 1
     or redis.call('HGET', p .. K.user .. admin .. K.roles_suffix,
                   id) ~= 'admin' then
    return {0}
  end
end
local kind = {user = K.user, client = K.client, org = K.org}
local idx = p .. kind[ARGV[2]] .. id .. K.grants_suffix
local out, named, seen = {1, 0}, {}, {}
if ARGV[2] == 'org' then seen[id] = true named[1] = id end
local gids = redis.call('SMEMBERS', idx)
table.sort(gids)
for _, gid in ipairs(gids) do
  local i = hash(p .. K.grant .. gid .. K.info_suffix)
  if not i then
    redis.call('SREM', idx, gid)
  elseif not gone(p, i.cid) then
    local orgs = i.orgs or ''
    if ARGV[2] == 'org' then orgs = id end
    for o in string.gmatch(orgs, '%S+') do
      if not seen[o] then seen[o] = true named[#named + 1] = o end
    end
    out[2] = out[2] + 1
    local n = #out
    out[n + 1] = gid
    out[n + 2] = i.cid or ''
    out[n + 3] = redis.call('HGET', p .. K.client .. (i.cid or ''),
                            'name') or (i.cid or '')
    out[n + 4] = i.uid or ''
    out[n + 5] = redis.call('HGET', p .. K.user .. (i.uid or ''),
                            'name') or ''
    out[n + 6] = i.scope or ''
    out[n + 7] = orgs
    out[n + 8] = i.created or ''
    out[n + 9] = i.gexp or ''
  end
end
local function names(list)
  out[#out + 1] = #list
  for _, o in ipairs(list) do
    out[#out + 1] = o
    out[#out + 1] = redis.call('HGET', p .. K.org .. o, 'name') or ''
  end
end
names(named)
local admin_of = {}
if ARGV[2] == 'user' then
  local u = p .. K.user .. id
  local roles = redis.call('HGETALL', u .. K.roles_suffix)
  for j = 1, #roles, 2 do
    local o = roles[j]
    if roles[j + 1] == 'admin'
       and redis.call('SISMEMBER', u .. K.orgs_suffix, o) == 1 then
      admin_of[#admin_of + 1] = o
    end
  end
  table.sort(admin_of)
end
names(admin_of)
return out
