/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/evp.h>

#include "ngx_http_imprest_script.h"


/*
 * The token lookup.  KEYS[1] is "{prefix}at:<sha256hex(token)>";
 * ARGV[1] the key prefix, ARGV[2] the mode, ARGV[3] the organization.
 *
 * Reply: {0} when there is no such record, else
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
"local f = redis.call('HMGET', KEYS[1], 'uid', 'cid', 'scope', 'exp',\n"
"                     'aud', 'orgs')\n"
"if not f[1] then return {0} end\n"
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
    ""
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
