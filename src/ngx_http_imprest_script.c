/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/evp.h>

#include "ngx_http_imprest_script.h"


/*
 * A token of a deleted app is dead: "imprestctl app delete" removes only
 * the client record, and every script that accepts a token checks here
 * that the record is still there.  That is one EXISTS inside a call that
 * is made anyway (no extra round trip), it holds from the very next
 * request on every gateway, and it needs no per-client index of tokens
 * (which would grow with every grant and need pruning of its own) nor a
 * sweep that a large app would make slow.  Only ids of the registered-app
 * shape ("app_" and 24 lower-case hex digits, the only ones "app create"
 * makes) name apps; a token minted by the operator for any other client
 * id ("imprestctl token mint --client batch-job") belongs to no app and
 * is not checked.
 */

#define NGX_HTTP_IMPREST_LUA_GONE                                             \
"local function gone(p, cid)\n"                                               \
"  return type(cid) == 'string' and #cid == 28\n"                             \
"         and string.find(cid, '^app_[0-9a-f]+$') ~= nil\n"                   \
"         and redis.call('EXISTS', p .. 'client:' .. cid) == 0\n"             \
"end\n"


/*
 * The token lookup.  KEYS[1] is "{prefix}at:<sha256hex(token)>";
 * ARGV[1] the key prefix, ARGV[2] the mode, ARGV[3] the organization.
 *
 * Reply: {0} when there is no such record or its app was deleted, else
 *   {1, uid, cid, scope, exp, aud, ...} followed by
 *   mode "g" (gate):  granted (0/1: ARGV[3] is one of the token's
 *                     organizations), member (0/1: the user still
 *                     belongs to it)
 *   mode "o" (orgs):  id, name pairs of the token's organizations the
 *                     user still belongs to
 * Every element is a string or an integer: a nil anywhere means the reply
 * did not come from this script.  The user's key is derived from the
 * record, so this needs a single (non-cluster) Redis.
 */

ngx_http_imprest_redis_script_t  ngx_http_imprest_script_token = {
    ngx_string("token"),
    ngx_string(
NGX_HTTP_IMPREST_LUA_GONE
"local f = redis.call('HMGET', KEYS[1], 'uid', 'cid', 'scope', 'exp',\n"
"                     'aud', 'orgs')\n"
"if not f[1] or gone(ARGV[1], f[2]) then return {0} end\n"
"local out = {1, f[1], f[2] or '', f[3] or '', f[4] or '', f[5] or ''}\n"
"local uk = ARGV[1] .. 'user:' .. f[1] .. ':orgs'\n"
"if ARGV[2] == 'g' then\n"
"  local granted, member = 0, 0\n"
"  for o in string.gmatch(f[6] or '', '%S+') do\n"
"    if o == ARGV[3] then granted = 1 break end\n"
"  end\n"
"  if granted == 1 then member = redis.call('SISMEMBER', uk, ARGV[3]) end\n"
"  out[7] = granted\n"
"  out[8] = member\n"
"else\n"
"  for o in string.gmatch(f[6] or '', '%S+') do\n"
"    if redis.call('SISMEMBER', uk, o) == 1 then\n"
"      out[#out + 1] = o\n"
"      out[#out + 1] = redis.call('HGET', ARGV[1] .. 'org:' .. o,\n"
"                                 'name') or ''\n"
"    end\n"
"  end\n"
"end\n"
"return out\n"),
    "",
    1,
    ngx_null_string
};


/*
 * The authorization server's scripts.  Each state change is one atomic
 * script, so two concurrent redemptions of a code or refreshes of a token
 * cannot both win.  Tokens are made in C (RAND_bytes) and only their
 * digests are passed in.  A grant ("{p}grant:<gid>") is the set of keys
 * of the live tokens of one authorization, so that reuse of a code or of
 * a rotated refresh token can revoke all of them (RFC 6749 4.1.2,
 * RFC 9700 4.14.2).
 *
 * A grant holds at most three keys: its refresh token, the access token
 * issued with it and the one issued before that (so that requests still
 * in flight with it when the app refreshes do not fail).  A refresh takes
 * the rotated-out refresh token and the access token before the previous
 * one out of the set and deletes that access token; the spent refresh
 * token's "used" marker is kept outside the set, with its own TTL, for
 * reuse detection (which deletes it with the grant).  Revoking a grant
 * thus costs at most five DELs (three members, the set, the presented
 * token's record), however often it was refreshed.
 *
 * A grant also ends at a fixed time, "gexp" in its refresh tokens
 * (imprest_grant_lifetime after the code was redeemed): a refresh
 * token, its TTL and the grant's set never reach past it, and a refresh
 * after it is invalid_grant.  Access tokens keep their own lifetime.
 */

#define NGX_HTTP_IMPREST_LUA_HASH                                             \
"local function hash(k)\n"                                                    \
"  local l = redis.call('HGETALL', k)\n"                                      \
"  if #l == 0 then return nil end\n"                                          \
"  local t = {}\n"                                                            \
"  for i = 1, #l, 2 do t[l[i]] = l[i + 1] end\n"                              \
"  return t\n"                                                                \
"end\n"

/* bounded by the three keys of a grant, see above */
#define NGX_HTTP_IMPREST_LUA_REVOKE                                           \
"local function revoke(p, gid)\n"                                             \
"  if not gid or gid == '' then return end\n"                                 \
"  local g = p .. 'grant:' .. gid\n"                                          \
"  for _, k in ipairs(redis.call('SMEMBERS', g)) do\n"                        \
"    redis.call('DEL', k)\n"                                                  \
"  end\n"                                                                     \
"  redis.call('DEL', g)\n"                                                    \
"end\n"


/*
 * KEYS[1] client key; ARGV[1] prefix, ARGV[2] uid or "".
 * {0} | {1, name, secret, redirect_uris, scope, introspect,
 *        org id, org name, ...}   (the user's organizations, if a uid)
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_client = {
    ngx_string("client"),
    ngx_string(
"local c = redis.call('HMGET', KEYS[1], 'name', 'secret', 'redirect_uris',\n"
"                     'scope', 'introspect')\n"
"if not c[1] then return {0} end\n"
"local out = {1, c[1], c[2] or '', c[3] or '', c[4] or '', c[5] or ''}\n"
"if ARGV[2] ~= '' then\n"
"  local orgs = redis.call('SMEMBERS', ARGV[1] .. 'user:' .. ARGV[2] ..\n"
"                          ':orgs')\n"
"  table.sort(orgs)\n"
"  for _, o in ipairs(orgs) do\n"
"    out[#out + 1] = o\n"
"    out[#out + 1] = redis.call('HGET', ARGV[1] .. 'org:' .. o,\n"
"                               'name') or ''\n"
"  end\n"
"end\n"
"return out\n"),
    "",
    1,
    ngx_null_string
};


/*
 * KEYS[1] consent key; ARGV: ttl, uid, cid, redirect_uri, ru_given,
 * scope, state, challenge.  Returns 1.
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_put = {
    ngx_string("consent_put"),
    ngx_string(
"redis.call('HSET', KEYS[1], 'uid', ARGV[2], 'cid', ARGV[3],\n"
"           'redirect_uri', ARGV[4], 'ru_given', ARGV[5], 'scope', ARGV[6],\n"
"           'state', ARGV[7], 'challenge', ARGV[8])\n"
"redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
"return 1\n"),
    "",
    0,
    ngx_null_string
};


/*
 * The consent decision.  KEYS[1] consent key, KEYS[2] code key;
 * ARGV: prefix, uid, decision ("approve"/"deny"), orgs (space-separated),
 * code ttl, now.
 * {0} unknown or expired request | {3} another user's request |
 * {4, redirect_uri, state, cid} an organization the user does not belong
 * to | {1, redirect_uri, state, cid} approved, code stored |
 * {2, redirect_uri, state, cid} denied
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_take = {
    ngx_string("consent_take"),
    ngx_string(
NGX_HTTP_IMPREST_LUA_HASH
"local c = hash(KEYS[1])\n"
"if not c then return {0} end\n"
"if c.uid ~= ARGV[2] then return {3} end\n"
"redis.call('DEL', KEYS[1])\n"
"local ru, st, cid = c.redirect_uri or '', c.state or '', c.cid or ''\n"
"if ARGV[3] ~= 'approve' then return {2, ru, st, cid} end\n"
"local n = 0\n"
"for o in string.gmatch(ARGV[4], '%S+') do\n"
"  if redis.call('SISMEMBER', ARGV[1] .. 'user:' .. ARGV[2] .. ':orgs',\n"
"                o) ~= 1 then return {4, ru, st, cid} end\n"
"  n = n + 1\n"
"end\n"
"if n == 0 then return {4, ru, st, cid} end\n"
"redis.call('HSET', KEYS[2], 'cid', c.cid or '', 'uid', c.uid,\n"
"           'redirect_uri', ru, 'ru_given', c.ru_given or '0',\n"
"           'scope', c.scope or '', 'orgs', ARGV[4],\n"
"           'challenge', c.challenge or '',\n"
"           'exp', tonumber(ARGV[6]) + tonumber(ARGV[5]))\n"
"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
"return {1, ru, st, cid}\n"),
    "",
    0,
    ngx_null_string
};


/*
 * authorization_code redemption.  KEYS[1] code, KEYS[2] new access token,
 * KEYS[3] new refresh token, KEYS[4] new grant; ARGV: prefix, cid,
 * redirect_uri, ru_given, s256 (of the verifier, or ""), now, at ttl,
 * rt ttl, aud, gid, grant lifetime.
 * {1, uid, scope, orgs} | {0, reason}
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_redeem = {
    ngx_string("redeem"),
    ngx_string(
NGX_HTTP_IMPREST_LUA_HASH
NGX_HTTP_IMPREST_LUA_REVOKE
NGX_HTTP_IMPREST_LUA_GONE
"local c = hash(KEYS[1])\n"
"if not c then return {0, 'unknown code'} end\n"
"if c.used == '1' then\n"
"  revoke(ARGV[1], c.gid)\n"
"  return {0, 'code already used'}\n"
"end\n"
"if c.cid ~= ARGV[2] then return {0, 'code issued to another client'} end\n"
"if gone(ARGV[1], c.cid) then return {0, 'client deleted'} end\n"
"local now = tonumber(ARGV[6])\n"
"if tonumber(c.exp or 0) <= now then\n"
"  redis.call('DEL', KEYS[1])\n"
"  return {0, 'code expired'}\n"
"end\n"
"local ttl = redis.call('TTL', KEYS[1])\n"
"if ttl < 1 then ttl = 1 end\n"
"local function burn(why)\n"
"  redis.call('DEL', KEYS[1])\n"
"  redis.call('HSET', KEYS[1], 'used', '1', 'gid', '')\n"
"  redis.call('EXPIRE', KEYS[1], ttl)\n"
"  return {0, why}\n"
"end\n"
"if (c.ru_given == '1' or ARGV[4] == '1')\n"
"   and (ARGV[4] ~= '1' or c.redirect_uri ~= ARGV[3]) then\n"
"  return burn('redirect_uri does not match the authorization request')\n"
"end\n"
"if (c.challenge or '') ~= '' then\n"
"  if ARGV[5] ~= c.challenge then\n"
"    return burn('code_verifier does not match')\n"
"  end\n"
"elseif ARGV[5] ~= '' then\n"
"  return burn('code_verifier sent for a code issued without PKCE')\n"
"end\n"
"local life = tonumber(ARGV[11])\n"
"local rtt = math.min(tonumber(ARGV[8]), life)\n"
"local iat, ate, rte = now, now + tonumber(ARGV[7]), now + rtt\n"
"redis.call('HSET', KEYS[2], 'uid', c.uid, 'cid', c.cid, 'scope', c.scope,\n"
"           'orgs', c.orgs, 'iat', iat, 'exp', ate, 'aud', ARGV[9],\n"
"           'gid', ARGV[10])\n"
"redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
"redis.call('HSET', KEYS[3], 'uid', c.uid, 'cid', c.cid, 'scope', c.scope,\n"
"           'orgs', c.orgs, 'iat', iat, 'exp', rte, 'aud', ARGV[9],\n"
"           'gid', ARGV[10], 'gexp', now + life, 'at', KEYS[2])\n"
"redis.call('EXPIRE', KEYS[3], rtt)\n"
"redis.call('SADD', KEYS[4], KEYS[2], KEYS[3])\n"
"redis.call('EXPIRE', KEYS[4], rtt)\n"
"redis.call('DEL', KEYS[1])\n"
"redis.call('HSET', KEYS[1], 'used', '1', 'gid', ARGV[10])\n"
"redis.call('EXPIRE', KEYS[1], ttl)\n"
"return {1, c.uid, c.scope, c.orgs}\n"),
    "",
    0,
    ngx_null_string
};


/*
 * refresh_token grant with rotation.  KEYS[1] presented refresh token,
 * KEYS[2] new access token, KEYS[3] new refresh token; ARGV: prefix, cid,
 * requested scope (or ""), now, at ttl, rt ttl, grant lifetime.
 * {1, access token scope, refresh token scope} | {0, reason}
 *
 * A refresh token without "gexp" was issued before grants had a
 * lifetime: its grant gets a whole one from this refresh on.  The grant's
 * set lives as long as its newest refresh token; both restart with each
 * refresh but never reach past gexp.
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_refresh = {
    ngx_string("refresh"),
    ngx_string(
NGX_HTTP_IMPREST_LUA_HASH
NGX_HTTP_IMPREST_LUA_REVOKE
NGX_HTTP_IMPREST_LUA_GONE
"local t = hash(KEYS[1])\n"
"if not t then return {0, 'unknown refresh token'} end\n"
"if t.used == '1' then\n"
"  revoke(ARGV[1], t.gid)\n"
"  redis.call('DEL', KEYS[1])\n"
"  return {0, 'refresh token already used'}\n"
"end\n"
"if t.cid ~= ARGV[2] then\n"
"  return {0, 'refresh token issued to another client'}\n"
"end\n"
"if gone(ARGV[1], t.cid) then return {0, 'client deleted'} end\n"
"local now = tonumber(ARGV[4])\n"
"if tonumber(t.exp or 0) <= now then return {0, 'refresh token expired'} end\n"
"local gexp = tonumber(t.gexp or '') or now + tonumber(ARGV[7])\n"
"if gexp <= now then return {0, 'grant expired'} end\n"
"local g = ARGV[1] .. 'grant:' .. (t.gid or '')\n"
"if redis.call('EXISTS', g) == 0 then return {0, 'grant revoked'} end\n"
"local scope = t.scope\n"
"if ARGV[3] ~= '' then\n"
"  local have = {}\n"
"  for s in string.gmatch(t.scope, '%S+') do have[s] = true end\n"
"  for s in string.gmatch(ARGV[3], '%S+') do\n"
"    if not have[s] then return {0, 'scope exceeds the grant'} end\n"
"  end\n"
"  scope = ARGV[3]\n"
"end\n"
"local rtt = math.min(tonumber(ARGV[6]), gexp - now)\n"
"local ate, rte = now + tonumber(ARGV[5]), now + rtt\n"
"redis.call('HSET', KEYS[2], 'uid', t.uid, 'cid', t.cid, 'scope', scope,\n"
"           'orgs', t.orgs, 'iat', now, 'exp', ate, 'aud', t.aud or '',\n"
"           'gid', t.gid)\n"
"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
"redis.call('HSET', KEYS[3], 'uid', t.uid, 'cid', t.cid, 'scope', t.scope,\n"
"           'orgs', t.orgs, 'iat', now, 'exp', rte, 'aud', t.aud or '',\n"
"           'gid', t.gid, 'gexp', gexp, 'at', KEYS[2],\n"
"           'pat', t.at or '')\n"
"redis.call('EXPIRE', KEYS[3], rtt)\n"
"redis.call('SREM', g, KEYS[1])\n"
"if (t.pat or '') ~= '' then\n"
"  redis.call('SREM', g, t.pat)\n"
"  redis.call('DEL', t.pat)\n"
"end\n"
"redis.call('SADD', g, KEYS[2], KEYS[3])\n"
"redis.call('EXPIRE', g, rtt)\n"
"redis.call('DEL', KEYS[1])\n"
"redis.call('HSET', KEYS[1], 'used', '1', 'gid', t.gid, 'cid', t.cid)\n"
"redis.call('EXPIRE', KEYS[1], rtt)\n"
"return {1, scope, t.scope}\n"),
    "",
    0,
    ngx_null_string
};


/*
 * RFC 7009.  KEYS[1] the token's record; ARGV: prefix, cid, type ("at" or
 * "rt").  A refresh token takes its whole grant with it, also one
 * already rotated (a revocation racing a refresh must not be lost); an
 * access token leaves its grant's set, which holds live tokens only.
 * Another client's token is left alone.  {1} revoked | {0} nothing done
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_revoke = {
    ngx_string("revoke"),
    ngx_string(
NGX_HTTP_IMPREST_LUA_REVOKE
"local t = redis.call('HMGET', KEYS[1], 'cid', 'gid', 'used')\n"
"if not t[1] or t[1] ~= ARGV[2] then return {0} end\n"
"if ARGV[3] == 'rt' then revoke(ARGV[1], t[2]) end\n"
"if ARGV[3] == 'at' and t[2] and t[2] ~= '' then\n"
"  redis.call('SREM', ARGV[1] .. 'grant:' .. t[2], KEYS[1])\n"
"end\n"
"redis.call('DEL', KEYS[1])\n"
"return {1}\n"),
    "",
    0,
    ngx_null_string
};


/*
 * RFC 7662.  KEYS[1] the token's record; ARGV[1] the prefix.
 * {0} | {1, uid, cid, scope, orgs, iat, exp, aud}
 */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_introspect = {
    ngx_string("introspect"),
    ngx_string(
NGX_HTTP_IMPREST_LUA_GONE
"local t = redis.call('HMGET', KEYS[1], 'uid', 'cid', 'scope', 'orgs',\n"
"                     'iat', 'exp', 'aud', 'used')\n"
"if not t[1] or t[8] == '1' or gone(ARGV[1], t[2]) then return {0} end\n"
"return {1, t[1], t[2] or '', t[3] or '', t[4] or '', t[5] or '',\n"
"        t[6] or '', t[7] or ''}\n"),
    "",
    1,
    ngx_null_string
};


ngx_int_t
ngx_http_imprest_script_init(ngx_log_t *log,
    ngx_http_imprest_redis_script_t *s)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  mdlen;

    if (s->sha1[0]) {
        return NGX_OK;
    }

    /* EVALSHA needs the SHA-1 of the body: a name, not a security check */
    if (EVP_Digest(s->body.data, s->body.len, md, &mdlen, EVP_sha1(), NULL)
        != 1 || mdlen != 20)
    {
        ngx_log_error(NGX_LOG_EMERG, log, 0, "imprest: SHA-1 failed");
        return NGX_ERROR;
    }

    ngx_hex_dump(s->sha1, md, 20);
    s->sha1[40] = '\0';

    return NGX_OK;
}
