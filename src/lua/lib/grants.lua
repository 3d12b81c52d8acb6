-- (needs the schema lib: K)
-- The grant indexes (src/ngx_http_imprest_schema.h): the gids of a
-- user's, an app's and an organization's grants, so that connected apps
-- are listed and ended without a keyspace scan.  Each index lives as
-- long as the longest grant in it could (its lifetime), and a gid whose
-- grant expired is dropped by the next script that reads the index.
--
-- index_keys(p, uid, cid, orgs): the keys of the indexes a grant is in
local function index_keys(p, uid, cid, orgs)
  local ks = {p .. K.user .. uid .. K.grants_suffix,
              p .. K.client .. cid .. K.grants_suffix}
  for o in string.gmatch(orgs or '', '%S+') do
    ks[#ks + 1] = p .. K.org .. o .. K.grants_suffix
  end
  return ks
end
-- grant_index(p, gid, uid, cid, orgs, ttl): adds gid to its indexes,
-- each made to live at least ttl seconds more
local function grant_index(p, gid, uid, cid, orgs, ttl)
  for _, k in ipairs(index_keys(p, uid, cid, orgs)) do
    redis.call('SADD', k, gid)
    if redis.call('TTL', k) < ttl then redis.call('EXPIRE', k, ttl) end
  end
end
-- grant_unindex(p, gid, uid, cid, orgs): removes gid from them
local function grant_unindex(p, gid, uid, cid, orgs)
  for _, k in ipairs(index_keys(p, uid, cid, orgs)) do
    redis.call('SREM', k, gid)
  end
end
