-- "imprestctl token mint": an access token that the operator makes, of
-- no grant, written as redeem.lua and refresh.lua write theirs.
-- KEYS[1] the token; ARGV: uid, cid, scope, orgs, iat, exp, aud, ttl.
-- 1
--! uses: access
access(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6],
       ARGV[7], false, ARGV[8])
return 1
