-- RFC 7591 3: is this initial access token valid?  KEYS[1] its record
-- ("initial:<sha256hex>", made by "imprestctl initial-token create"; it
-- expires with its key); ARGV[1] now.  {1} | {0}
local e = redis.call('HGET', KEYS[1], 'exp')
if not e or tonumber(e) <= tonumber(ARGV[1]) then return {0} end
return {1}
