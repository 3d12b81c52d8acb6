-- KEYS[1] consent key; ARGV: ttl, uid, cid, redirect_uri, ru_given,
-- scope, state, challenge.  Returns 1.
redis.call('HSET', KEYS[1], 'uid', ARGV[2], 'cid', ARGV[3],
           'redirect_uri', ARGV[4], 'ru_given', ARGV[5],
           'scope', ARGV[6], 'state', ARGV[7], 'challenge', ARGV[8])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
