-- access(k, uid, cid, scope, orgs, iat, exp, aud, gid, ttl): writes the
-- access-token record at k (src/ngx_http_imprest_schema.h, "at:") and
-- lets the key live ttl seconds.  gid false: a token of no grant (one
-- that "imprestctl token mint" makes), which has no gid field.
local function access(k, uid, cid, scope, orgs, iat, exp, aud, gid, ttl)
  if gid == false then
    redis.call('HSET', k, 'uid', uid, 'cid', cid, 'scope', scope,
               'orgs', orgs, 'iat', iat, 'exp', exp, 'aud', aud)
  else
    redis.call('HSET', k, 'uid', uid, 'cid', cid, 'scope', scope,
               'orgs', orgs, 'iat', iat, 'exp', exp, 'aud', aud,
               'gid', gid)
  end
  redis.call('EXPIRE', k, ttl)
end
