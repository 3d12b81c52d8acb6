-- RFC 7662.  KEYS[1] the token's record; ARGV[1] the prefix.
-- {0} | {1, uid, cid, scope, orgs, iat, exp, aud}
--! uses: schema gone
local t = redis.call('HMGET', KEYS[1], 'uid', 'cid', 'scope', 'orgs',
                     'iat', 'exp', 'aud', 'used')
if not t[1] or t[8] == '1' or gone(ARGV[1], t[2]) then return {0} end
return {1, t[1], t[2] or '', t[3] or '', t[4] or '', t[5] or '',
        t[6] or '', t[7] or ''}
