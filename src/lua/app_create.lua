-- A new app (the developer portal and RFC 7591 registration; imprestctl
-- makes the same record).  KEYS[1] its client key; ARGV: prefix, cid,
-- name, secret digest ("" public), redirect_uris (space-separated),
-- scope, owner uid ("" none), created (unix time), rat digest (RFC 7592
-- registration access token, "" none).
-- {1} | {0} the id exists (the caller drew a random one: never reused)
--! uses: schema
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], 'name', ARGV[3], 'secret', ARGV[4],
           'redirect_uris', ARGV[5], 'scope', ARGV[6], 'owner', ARGV[7],
           'introspect', '0', 'created', ARGV[8])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'rat', ARGV[9]) end
redis.call('SADD', ARGV[1] .. K.apps, ARGV[2])
if ARGV[7] ~= '' then
  redis.call('SADD', ARGV[1] .. K.user .. ARGV[7] .. K.clients_suffix,
             ARGV[2])
end
return {1}
