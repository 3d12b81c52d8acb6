/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/evp.h>

#include "ngx_http_imprest_lua.h"
#include "ngx_http_imprest_script.h"


/* src/lua/token.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_token = {
    ngx_string("token"),
    ngx_string(NGX_HTTP_IMPREST_LUA_TOKEN),
    "",
    1,
    ngx_null_string
};


/*
 * The authorization server's scripts.  Each state change is one atomic
 * script, so two concurrent redemptions of a code or refreshes of a token
 * cannot both win.  Tokens are made in C (RAND_bytes) and only their
 * digests are passed in.  Grants and their bounds: src/lua/lib/revoke.lua
 * and src/lua/refresh.lua.
 */

/* src/lua/client.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_client = {
    ngx_string("client"),
    ngx_string(NGX_HTTP_IMPREST_LUA_CLIENT),
    "",
    1,
    ngx_null_string
};


/* src/lua/consent_put.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_put = {
    ngx_string("consent_put"),
    ngx_string(NGX_HTTP_IMPREST_LUA_CONSENT_PUT),
    "",
    0,
    ngx_null_string
};


/* src/lua/consent_take.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_take = {
    ngx_string("consent_take"),
    ngx_string(NGX_HTTP_IMPREST_LUA_CONSENT_TAKE),
    "",
    0,
    ngx_null_string
};


/* src/lua/redeem.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_redeem = {
    ngx_string("redeem"),
    ngx_string(NGX_HTTP_IMPREST_LUA_REDEEM),
    "",
    0,
    ngx_null_string
};


/* src/lua/refresh.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_refresh = {
    ngx_string("refresh"),
    ngx_string(NGX_HTTP_IMPREST_LUA_REFRESH),
    "",
    0,
    ngx_null_string
};


/* src/lua/revoke.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_revoke = {
    ngx_string("revoke"),
    ngx_string(NGX_HTTP_IMPREST_LUA_REVOKE),
    "",
    0,
    ngx_null_string
};


/* src/lua/introspect.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_introspect = {
    ngx_string("introspect"),
    ngx_string(NGX_HTTP_IMPREST_LUA_INTROSPECT),
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
