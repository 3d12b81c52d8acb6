-- (needs the schema lib: K)
-- gone(prefix, cid): true when cid names an app that was deleted.
--
-- A token of a deleted app is dead: "imprestctl app delete" removes only
-- the client record, and every script that accepts a token checks here
-- that the record is still there.  That is one EXISTS inside a call that
-- is made anyway (no extra round trip), it holds from the very next
-- request on every gateway, and it needs no per-client index of tokens
-- (which would grow with every grant and need pruning of its own) nor a
-- sweep that a large app would make slow.  Only ids of the registered-app
-- shape ("app_" and 24 lower-case hex digits, the only ones "app create"
-- makes) name apps; a token minted by the operator for any other client
-- id ("imprestctl token mint --client batch-job") belongs to no app and
-- is not checked.
local function gone(p, cid)
  return type(cid) == 'string' and #cid == 28
         and string.find(cid, '^app_[0-9a-f]+$') ~= nil
         and redis.call('EXISTS', p .. K.client .. cid) == 0
end
