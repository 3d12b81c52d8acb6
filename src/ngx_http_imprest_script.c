/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/evp.h>

#include "ngx_http_imprest_lua.h"
#include "ngx_http_imprest_schema.h"
#include "ngx_http_imprest_script.h"


static ngx_int_t ngx_http_imprest_script_sha1(ngx_log_t *log,
    ngx_http_imprest_redis_script_t *s);
static void ngx_http_imprest_script_begin(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_redis_script_t *script, const char *nkeys);
static void ngx_http_imprest_script_str(ngx_http_imprest_script_call_t *c,
    ngx_str_t *s);
static void ngx_http_imprest_script_flag(ngx_http_imprest_script_call_t *c,
    ngx_uint_t flag);
static void ngx_http_imprest_script_num(ngx_http_imprest_script_call_t *c,
    time_t n);
static void ngx_http_imprest_script_cstr(ngx_http_imprest_script_call_t *c,
    const char *s);
static ngx_int_t ngx_http_imprest_script_time(redisReply *e, time_t *t);
static ngx_int_t ngx_http_imprest_script_app_fields(ngx_http_request_t *r,
    redisReply **e, ngx_http_imprest_app_t *out);
static ngx_int_t ngx_http_imprest_script_pairs(ngx_http_request_t *r,
    redisReply *rep, size_t *i, ngx_array_t **out);
static redisReply **ngx_http_imprest_script_array(redisReply *rep);
static ngx_int_t ngx_http_imprest_script_grant_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_grant_reply_t *out, size_t n,
    size_t scope);


/* src/lua/token.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_token = {
    ngx_string("token"),
    ngx_string(NGX_HTTP_IMPREST_LUA_TOKEN),
    "",
    1,
    ngx_null_string,
    0
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
    ngx_null_string,
    0
};


/* src/lua/consent_put.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_put = {
    ngx_string("consent_put"),
    ngx_string(NGX_HTTP_IMPREST_LUA_CONSENT_PUT),
    "",
    0,
    ngx_null_string,
    0
};


/* src/lua/consent_take.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_take = {
    ngx_string("consent_take"),
    ngx_string(NGX_HTTP_IMPREST_LUA_CONSENT_TAKE),
    "",
    0,
    ngx_null_string,
    1                   /* durable: single-use or revoking (wait=) */
};


/* src/lua/redeem.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_redeem = {
    ngx_string("redeem"),
    ngx_string(NGX_HTTP_IMPREST_LUA_REDEEM),
    "",
    0,
    ngx_null_string,
    1                   /* durable: single-use or revoking (wait=) */
};


/* src/lua/refresh.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_refresh = {
    ngx_string("refresh"),
    ngx_string(NGX_HTTP_IMPREST_LUA_REFRESH),
    "",
    0,
    ngx_null_string,
    1                   /* durable: single-use or revoking (wait=) */
};


/* src/lua/revoke.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_revoke = {
    ngx_string("revoke"),
    ngx_string(NGX_HTTP_IMPREST_LUA_REVOKE),
    "",
    0,
    ngx_null_string,
    1                   /* durable: single-use or revoking (wait=) */
};


/* src/lua/introspect.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_introspect = {
    ngx_string("introspect"),
    ngx_string(NGX_HTTP_IMPREST_LUA_INTROSPECT),
    "",
    1,
    ngx_null_string,
    0
};


/*
 * The portal's, connected apps' and registration's scripts: apps made,
 * changed and listed; grants listed and ended through their indexes
 * (src/lua/lib/grants.lua).
 */

/* src/lua/disconnect.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_disconnect = {
    ngx_string("disconnect"),
    ngx_string(NGX_HTTP_IMPREST_LUA_DISCONNECT),
    "",
    0,
    ngx_null_string,
    1                   /* durable: single-use or revoking (wait=) */
};

/* src/lua/connections.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_connections = {
    ngx_string("connections"),
    ngx_string(NGX_HTTP_IMPREST_LUA_CONNECTIONS),
    "",
    0,
    ngx_null_string,
    0
};

/* src/lua/app_create.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_app_create = {
    ngx_string("app_create"),
    ngx_string(NGX_HTTP_IMPREST_LUA_APP_CREATE),
    "",
    0,
    ngx_null_string,
    0
};

/* src/lua/app.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_app = {
    ngx_string("app"),
    ngx_string(NGX_HTTP_IMPREST_LUA_APP),
    "",
    0,
    ngx_null_string,
    0
};

/* src/lua/apps.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_apps = {
    ngx_string("apps"),
    ngx_string(NGX_HTTP_IMPREST_LUA_APPS),
    "",
    0,
    ngx_null_string,
    0
};

/* src/lua/initial.lua */
ngx_http_imprest_redis_script_t  ngx_http_imprest_script_initial = {
    ngx_string("initial"),
    ngx_string(NGX_HTTP_IMPREST_LUA_INITIAL),
    "",
    1,
    ngx_null_string,
    0
};


/* EVALSHA's name of a script: the SHA-1 of its body */

static ngx_int_t
ngx_http_imprest_script_sha1(ngx_log_t *log,
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


/* the scripts a configuration uses, each once */

ngx_int_t
ngx_http_imprest_script_add(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_http_imprest_redis_script_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < rcf->nscripts; i++) {
        if (rcf->scripts[i] == s) {
            return NGX_OK;
        }
    }

    if (ngx_http_imprest_script_sha1(cf->log, s) != NGX_OK) {
        return NGX_ERROR;
    }

    if (rcf->nscripts == NGX_HTTP_IMPREST_REDIS_MAX_SCRIPTS) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0, "too many Redis scripts");
        return NGX_ERROR;
    }

    rcf->scripts[rcf->nscripts++] = s;

    return NGX_OK;
}


/*
 * Redis 7 functions cost about half of what EVALSHA of the same Lua costs
 * per call (measured: 6 against 12 us for the token lookup).  Every script
 * becomes a function of one library whose name carries a digest of the
 * scripts, so gateways of different versions sharing a Redis never call
 * each other's code.  Redis < 7, a replica (FUNCTION LOAD writes) or an
 * ACL without the permission: the scripts are used through EVALSHA.
 */

ngx_int_t
ngx_http_imprest_script_library(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf)
{
    u_char                           *p, hash[13];
    u_char                            md[EVP_MAX_MD_SIZE];
    size_t                            len;
    ngx_uint_t                        i;
    unsigned int                      mdlen;
    EVP_MD_CTX                       *ctx;
    ngx_http_imprest_redis_script_t  *sc;

    if (rcf->nscripts == 0) {
        return NGX_OK;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NGX_ERROR;
    }

    for (i = 0; i < rcf->nscripts; i++) {
        sc = rcf->scripts[i];
        if (EVP_DigestUpdate(ctx, sc->body.data, sc->body.len) != 1) {
            EVP_MD_CTX_free(ctx);
            return NGX_ERROR;
        }
    }

    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        EVP_MD_CTX_free(ctx);
        return NGX_ERROR;
    }

    EVP_MD_CTX_free(ctx);

    ngx_hex_dump(hash, md, 6);
    hash[12] = '\0';

    len = sizeof("#!lua name=imprest_\n") - 1 + 12;

    for (i = 0; i < rcf->nscripts; i++) {
        sc = rcf->scripts[i];
        len += sizeof("redis.register_function{function_name='imprest__',"
                      " callback=function(KEYS, ARGV)\n\nend,"
                      " flags={'no-writes'}}\n") - 1
               + sc->name.len + 12 + sc->body.len;
    }

    rcf->library.data = ngx_pnalloc(cf->pool, len);
    if (rcf->library.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(rcf->library.data, "#!lua name=imprest_%s\n", hash);

    for (i = 0; i < rcf->nscripts; i++) {
        sc = rcf->scripts[i];

        sc->fname.data = ngx_pnalloc(cf->pool, sizeof("imprest__") - 1
                                               + sc->name.len + 12);
        if (sc->fname.data == NULL) {
            return NGX_ERROR;
        }

        sc->fname.len = ngx_sprintf(sc->fname.data, "imprest_%V_%s",
                                    &sc->name, hash)
                        - sc->fname.data;

        /* KEYS and ARGV as parameters: the bodies run unchanged */
        p = ngx_sprintf(p, "redis.register_function{function_name='%V', "
                        "callback=function(KEYS, ARGV)\n%V\nend%s}\n",
                        &sc->fname, &sc->body,
                        sc->readonly ? ", flags={'no-writes'}" : "");
    }

    rcf->library.len = p - rcf->library.data;

    return NGX_OK;
}


/*
 * The calls.  Each builds numkeys, KEYS and ARGV in the order of its
 * script's header comment; an empty string is passed as "" and a number
 * in decimal, as the scripts read them.
 */

static void
ngx_http_imprest_script_begin(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_redis_script_t *script, const char *nkeys)
{
    c->script = script;
    c->nnum = 0;
    c->argv[0] = nkeys;
    c->len[0] = 1;
    c->argc = 1;
}


static void
ngx_http_imprest_script_str(ngx_http_imprest_script_call_t *c, ngx_str_t *s)
{
    c->argv[c->argc] = s->len ? (const char *) s->data : "";
    c->len[c->argc++] = s->len;
}


static void
ngx_http_imprest_script_flag(ngx_http_imprest_script_call_t *c,
    ngx_uint_t flag)
{
    c->argv[c->argc] = flag ? "1" : "0";
    c->len[c->argc++] = 1;
}


static void
ngx_http_imprest_script_cstr(ngx_http_imprest_script_call_t *c,
    const char *s)
{
    c->argv[c->argc] = s;
    c->len[c->argc++] = ngx_strlen(s);
}


static void
ngx_http_imprest_script_num(ngx_http_imprest_script_call_t *c, time_t n)
{
    u_char  *p;

    p = c->num[c->nnum++];

    c->argv[c->argc] = (const char *) p;
    c->len[c->argc++] = ngx_sprintf(p, "%T", n) - p;
}


void
ngx_http_imprest_script_token_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_token_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_token, "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->prefix);

    c->argv[c->argc] = (a->mode == 'g') ? "g" : "o";
    c->len[c->argc++] = 1;

    ngx_http_imprest_script_str(c, &a->org);
}


void
ngx_http_imprest_script_client_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_client_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_client, "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->uid);
}


void
ngx_http_imprest_script_consent_put_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_consent_put_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_consent_put,
                                  "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_num(c, a->ttl);
    ngx_http_imprest_script_str(c, &a->uid);
    ngx_http_imprest_script_str(c, &a->cid);
    ngx_http_imprest_script_str(c, &a->redirect_uri);
    ngx_http_imprest_script_flag(c, a->ru_given);
    ngx_http_imprest_script_str(c, &a->scope);
    ngx_http_imprest_script_str(c, &a->state);
    ngx_http_imprest_script_str(c, &a->challenge);
}


void
ngx_http_imprest_script_consent_take_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_consent_take_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_consent_take,
                                  "2");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->code_key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->uid);
    ngx_http_imprest_script_str(c, &a->decision);
    ngx_http_imprest_script_str(c, &a->orgs);
    ngx_http_imprest_script_num(c, a->code_ttl);
    ngx_http_imprest_script_num(c, a->now);
    ngx_http_imprest_script_flag(c, a->admins);
}


void
ngx_http_imprest_script_redeem_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_redeem_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_redeem, "4");
    ngx_http_imprest_script_str(c, &a->code_key);
    ngx_http_imprest_script_str(c, &a->at_key);
    ngx_http_imprest_script_str(c, &a->rt_key);
    ngx_http_imprest_script_str(c, &a->grant_key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->cid);
    ngx_http_imprest_script_str(c, &a->redirect_uri);
    ngx_http_imprest_script_flag(c, a->ru_given);
    ngx_http_imprest_script_str(c, &a->s256);
    ngx_http_imprest_script_num(c, a->now);
    ngx_http_imprest_script_num(c, a->at_ttl);
    ngx_http_imprest_script_num(c, a->rt_ttl);
    ngx_http_imprest_script_str(c, &a->aud);
    ngx_http_imprest_script_str(c, &a->gid);
    ngx_http_imprest_script_num(c, a->grant_lifetime);
}


void
ngx_http_imprest_script_refresh_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_refresh_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_refresh, "3");
    ngx_http_imprest_script_str(c, &a->old_key);
    ngx_http_imprest_script_str(c, &a->at_key);
    ngx_http_imprest_script_str(c, &a->rt_key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->cid);
    ngx_http_imprest_script_str(c, &a->scope);
    ngx_http_imprest_script_num(c, a->now);
    ngx_http_imprest_script_num(c, a->at_ttl);
    ngx_http_imprest_script_num(c, a->rt_ttl);
    ngx_http_imprest_script_num(c, a->grant_lifetime);
}


void
ngx_http_imprest_script_revoke_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_revoke_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_revoke, "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->cid);

    c->argv[c->argc] = a->type;
    c->len[c->argc++] = 2;
}


void
ngx_http_imprest_script_introspect_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_introspect_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_introspect,
                                  "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->prefix);
}


void
ngx_http_imprest_script_disconnect_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_disconnect_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_disconnect,
                                  "0");
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_cstr(c, a->index);
    ngx_http_imprest_script_str(c, &a->id);
    ngx_http_imprest_script_str(c, &a->cid);
    ngx_http_imprest_script_str(c, &a->uid);
    ngx_http_imprest_script_str(c, &a->org);
    ngx_http_imprest_script_str(c, &a->admin);
}


void
ngx_http_imprest_script_connections_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_connections_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_connections,
                                  "0");
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_cstr(c, a->index);
    ngx_http_imprest_script_str(c, &a->id);
    ngx_http_imprest_script_str(c, &a->admin);
}


void
ngx_http_imprest_script_app_create_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_app_create_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_app_create,
                                  "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->cid);
    ngx_http_imprest_script_str(c, &a->name);
    ngx_http_imprest_script_str(c, &a->secret);
    ngx_http_imprest_script_str(c, &a->redirect_uris);
    ngx_http_imprest_script_str(c, &a->scope);
    ngx_http_imprest_script_str(c, &a->owner);
    ngx_http_imprest_script_num(c, a->created);
    ngx_http_imprest_script_str(c, &a->rat);
}


void
ngx_http_imprest_script_app_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_app_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_app, "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->cid);
    ngx_http_imprest_script_str(c, &a->owner);
    ngx_http_imprest_script_str(c, &a->rat);
    ngx_http_imprest_script_cstr(c, a->op);

    if (ngx_strcmp(a->op, "update") == 0) {
        ngx_http_imprest_script_str(c, &a->name);
        ngx_http_imprest_script_str(c, &a->redirect_uris);
        ngx_http_imprest_script_str(c, &a->scope);

    } else if (ngx_strcmp(a->op, "rotate") == 0) {
        ngx_http_imprest_script_str(c, &a->secret);
    }
}


void
ngx_http_imprest_script_apps_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_apps_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_apps, "0");
    ngx_http_imprest_script_str(c, &a->prefix);
    ngx_http_imprest_script_str(c, &a->owner);
}


void
ngx_http_imprest_script_initial_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_initial_args_t *a)
{
    ngx_http_imprest_script_begin(c, &ngx_http_imprest_script_initial, "1");
    ngx_http_imprest_script_str(c, &a->key);
    ngx_http_imprest_script_num(c, a->now);
}


/*
 * The replies.  Each must have exactly its script's shape: anything else
 * (a garbage reply, a nil where the script never returns one) means the
 * connection is not talking to our script.
 */

/* the elements of {integer, ...}, or NULL */

static redisReply **
ngx_http_imprest_script_array(redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1
        || rep->element[0]->type != REDIS_REPLY_INTEGER)
    {
        return NULL;
    }

    return rep->element;
}


ngx_int_t
ngx_http_imprest_script_token_reply(ngx_http_request_t *r, redisReply *rep,
    u_char mode, ngx_http_imprest_token_reply_t *out)
{
    size_t         i;
    redisReply   **e;
    ngx_keyval_t  *kv;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (e[0]->integer == 0) {
        return (rep->elements == 1) ? NGX_DECLINED : NGX_ERROR;
    }

    if (e[0]->integer != 1 || rep->elements < 6
        || ngx_http_imprest_reply_str(r, e[1], &out->uid) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[2], &out->cid) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[3], &out->scope) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[4], &out->exp) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[5], &out->aud) != NGX_OK)
    {
        return NGX_ERROR;
    }

    out->granted = 0;
    out->member = 0;
    out->orgs = NULL;

    if (mode == 'g') {
        /* granted, member */
        if (rep->elements != 8
            || e[6]->type != REDIS_REPLY_INTEGER
            || e[7]->type != REDIS_REPLY_INTEGER)
        {
            return NGX_ERROR;
        }

        out->granted = (e[6]->integer == 1);
        out->member = (e[7]->integer == 1);

        return NGX_OK;
    }

    /* id, name pairs */
    if ((rep->elements - 6) % 2) {
        return NGX_ERROR;
    }

    out->orgs = ngx_array_create(r->pool, 4, sizeof(ngx_keyval_t));
    if (out->orgs == NULL) {
        return NGX_ABORT;
    }

    for (i = 6; i < rep->elements; i += 2) {
        kv = ngx_array_push(out->orgs);
        if (kv == NULL) {
            return NGX_ABORT;
        }

        if (ngx_http_imprest_reply_str(r, e[i], &kv->key) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 1], &kv->value) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_script_client_reply(ngx_http_request_t *r, redisReply *rep,
    ngx_http_imprest_client_reply_t *out)
{
    size_t                   i;
    ngx_str_t                role;
    redisReply             **e;
    ngx_http_imprest_org_t  *org;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (e[0]->integer == 0 && rep->elements == 1) {
        return NGX_DECLINED;
    }

    if (e[0]->integer != 1 || rep->elements < 6
        || (rep->elements - 6) % 3
        || ngx_http_imprest_reply_str(r, e[1], &out->name) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[2], &out->secret) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[3], &out->redirect_uris)
           != NGX_OK
        || ngx_http_imprest_reply_str(r, e[4], &out->scope) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[5], &out->introspect) != NGX_OK)
    {
        return NGX_ERROR;
    }

    out->orgs = ngx_array_create(r->pool, 4, sizeof(ngx_http_imprest_org_t));
    if (out->orgs == NULL) {
        return NGX_ABORT;
    }

    for (i = 6; i < rep->elements; i += 3) {
        org = ngx_array_push(out->orgs);
        if (org == NULL
            || ngx_http_imprest_reply_str(r, e[i], &org->id) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 1], &org->name) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 2], &role) != NGX_OK)
        {
            return NGX_ERROR;
        }

        org->admin = (role.len == sizeof(NGX_HTTP_IMPREST_ROLE_ADMIN) - 1
                      && ngx_strncmp(role.data, NGX_HTTP_IMPREST_ROLE_ADMIN,
                                     role.len) == 0);
    }

    return NGX_OK;
}


/* 1 */

ngx_int_t
ngx_http_imprest_script_consent_put_reply(redisReply *rep)
{
    if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_script_consent_take_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_consent_take_reply_t *out)
{
    redisReply  **e;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    out->status = e[0]->integer;

    switch (out->status) {

    case NGX_HTTP_IMPREST_CONSENT_UNKNOWN:
    case NGX_HTTP_IMPREST_CONSENT_OTHER_USER:
        return NGX_DECLINED;

    case NGX_HTTP_IMPREST_CONSENT_APPROVED:
    case NGX_HTTP_IMPREST_CONSENT_DENIED:
    case NGX_HTTP_IMPREST_CONSENT_NO_ORG:
        if (rep->elements != 4
            || ngx_http_imprest_reply_str(r, e[1], &out->redirect_uri)
               != NGX_OK
            || ngx_http_imprest_reply_str(r, e[2], &out->state) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[3], &out->cid) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;

    default:
        return NGX_ERROR;
    }
}


/*
 * Both grants: {0, reason} (any integer: the caller knows which it
 * answers), or {1, ...} of n elements, every one after the first a
 * string, the access token's scope at index scope.
 */

static ngx_int_t
ngx_http_imprest_script_grant_reply(ngx_http_request_t *r, redisReply *rep,
    ngx_http_imprest_grant_reply_t *out, size_t n, size_t scope)
{
    size_t        i;
    redisReply  **e;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2
        || rep->element[0]->type != REDIS_REPLY_INTEGER)
    {
        return NGX_ERROR;
    }

    e = rep->element;

    if (e[0]->integer == 0) {
        if (rep->elements != 2 || e[1]->type != REDIS_REPLY_INTEGER) {
            return NGX_ERROR;
        }

        out->reason = e[1]->integer;

        return NGX_DECLINED;
    }

    if (e[0]->integer != 1 || rep->elements != n) {
        return NGX_ERROR;
    }

    for (i = 1; i < n; i++) {
        if (e[i]->type != REDIS_REPLY_STRING) {
            return NGX_ERROR;
        }
    }

    return ngx_http_imprest_reply_str(r, e[scope], &out->scope);
}


/* {1, uid, scope, orgs} */

ngx_int_t
ngx_http_imprest_script_redeem_reply(ngx_http_request_t *r, redisReply *rep,
    ngx_http_imprest_grant_reply_t *out)
{
    return ngx_http_imprest_script_grant_reply(r, rep, out, 4, 2);
}


/* {1, access token scope, refresh token scope} */

ngx_int_t
ngx_http_imprest_script_refresh_reply(ngx_http_request_t *r, redisReply *rep,
    ngx_http_imprest_grant_reply_t *out)
{
    return ngx_http_imprest_script_grant_reply(r, rep, out, 3, 1);
}


/* {1} revoked: NGX_OK | {0} nothing done: NGX_DECLINED */

ngx_int_t
ngx_http_imprest_script_revoke_reply(redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1
        || rep->element[0]->type != REDIS_REPLY_INTEGER)
    {
        return NGX_ERROR;
    }

    return rep->element[0]->integer ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_imprest_script_introspect_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_introspect_reply_t *out)
{
    redisReply  **e;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (e[0]->integer == 0 && rep->elements == 1) {
        return NGX_DECLINED;
    }

    if (e[0]->integer != 1 || rep->elements != 8
        || ngx_http_imprest_reply_str(r, e[1], &out->uid) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[2], &out->cid) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[3], &out->scope) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[4], &out->orgs) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[5], &out->iat) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[6], &out->exp) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[7], &out->aud) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a unix time sent as a string ("" is 0) */

static ngx_int_t
ngx_http_imprest_script_time(redisReply *e, time_t *t)
{
    if (e->type != REDIS_REPLY_STRING) {
        return NGX_ERROR;
    }

    if (e->len == 0) {
        *t = 0;
        return NGX_OK;
    }

    *t = ngx_atotm((u_char *) e->str, e->len);

    return (*t == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* {1, n} | {0} */

ngx_int_t
ngx_http_imprest_script_disconnect_reply(redisReply *rep, ngx_uint_t *n)
{
    redisReply  **e;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (e[0]->integer == 0 && rep->elements == 1) {
        return NGX_DECLINED;
    }

    if (e[0]->integer != 1 || rep->elements != 2
        || e[1]->type != REDIS_REPLY_INTEGER || e[1]->integer < 0)
    {
        return NGX_ERROR;
    }

    *n = (ngx_uint_t) e[1]->integer;

    return NGX_OK;
}


/* {0} | {1, n, 9 strings per grant, m, m pairs, k, k pairs} */

ngx_int_t
ngx_http_imprest_script_connections_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_connections_reply_t *out)
{
    size_t                     i, n;
    ngx_int_t                  rc;
    redisReply               **e;
    ngx_http_imprest_grant_t  *g;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (e[0]->integer == 0 && rep->elements == 1) {
        return NGX_DECLINED;
    }

    if (e[0]->integer != 1 || rep->elements < 2
        || e[1]->type != REDIS_REPLY_INTEGER || e[1]->integer < 0
        || (size_t) e[1]->integer > (rep->elements - 2) / 9)
    {
        return NGX_ERROR;
    }

    n = (size_t) e[1]->integer;

    out->grants = ngx_array_create(r->pool, n ? n : 1,
                                   sizeof(ngx_http_imprest_grant_t));
    if (out->grants == NULL) {
        return NGX_ABORT;
    }

    for (i = 2; i < 2 + 9 * n; i += 9) {
        g = ngx_array_push(out->grants);
        if (g == NULL) {
            return NGX_ABORT;
        }

        if (ngx_http_imprest_reply_str(r, e[i], &g->gid) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 1], &g->cid) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 2], &g->client_name)
               != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 3], &g->uid) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 4], &g->user_name)
               != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 5], &g->scope) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[i + 6], &g->orgs) != NGX_OK
            || ngx_http_imprest_script_time(e[i + 7], &g->created) != NGX_OK
            || ngx_http_imprest_script_time(e[i + 8], &g->gexp) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    rc = ngx_http_imprest_script_pairs(r, rep, &i, &out->orgs);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_imprest_script_pairs(r, rep, &i, &out->admin_of);
    if (rc != NGX_OK) {
        return rc;
    }

    return (i == rep->elements) ? NGX_OK : NGX_ERROR;
}


/* {..., m, then m id, name pairs, ...} from element *i on */

static ngx_int_t
ngx_http_imprest_script_pairs(ngx_http_request_t *r, redisReply *rep,
    size_t *i, ngx_array_t **out)
{
    size_t         j, m;
    redisReply   **e;
    ngx_keyval_t  *kv;

    e = rep->element;
    j = *i;

    if (j >= rep->elements || e[j]->type != REDIS_REPLY_INTEGER
        || e[j]->integer < 0
        || (size_t) e[j]->integer > (rep->elements - j - 1) / 2)
    {
        return NGX_ERROR;
    }

    m = (size_t) e[j]->integer;
    j++;

    *out = ngx_array_create(r->pool, m ? m : 1, sizeof(ngx_keyval_t));
    if (*out == NULL) {
        return NGX_ABORT;
    }

    for ( /* void */ ; m; m--, j += 2) {
        kv = ngx_array_push(*out);
        if (kv == NULL) {
            return NGX_ABORT;
        }

        if (ngx_http_imprest_reply_str(r, e[j], &kv->key) != NGX_OK
            || ngx_http_imprest_reply_str(r, e[j + 1], &kv->value) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    *i = j;

    return NGX_OK;
}


/* {1} | {0} */

ngx_int_t
ngx_http_imprest_script_app_create_reply(redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1
        || rep->element[0]->type != REDIS_REPLY_INTEGER
        || (rep->element[0]->integer != 0 && rep->element[0]->integer != 1))
    {
        return NGX_ERROR;
    }

    return rep->element[0]->integer ? NGX_OK : NGX_DECLINED;
}


/* name, public, redirect_uris, scope, owner, created at e[0..5] */

static ngx_int_t
ngx_http_imprest_script_app_fields(ngx_http_request_t *r, redisReply **e,
    ngx_http_imprest_app_t *out)
{
    if (e[1]->type != REDIS_REPLY_INTEGER
        || ngx_http_imprest_reply_str(r, e[0], &out->name) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[2], &out->redirect_uris)
           != NGX_OK
        || ngx_http_imprest_reply_str(r, e[3], &out->scope) != NGX_OK
        || ngx_http_imprest_reply_str(r, e[4], &out->owner) != NGX_OK
        || ngx_http_imprest_script_time(e[5], &out->created) != NGX_OK)
    {
        return NGX_ERROR;
    }

    out->public = (e[1]->integer == 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_script_app_reply(ngx_http_request_t *r, redisReply *rep,
    ngx_int_t *status, ngx_http_imprest_app_t *out)
{
    redisReply  **e;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL) {
        return NGX_ERROR;
    }

    *status = e[0]->integer;

    switch (*status) {

    case NGX_HTTP_IMPREST_APP_UNKNOWN:
    case NGX_HTTP_IMPREST_APP_FORBIDDEN:
        return (rep->elements == 1) ? NGX_OK : NGX_ERROR;

    case NGX_HTTP_IMPREST_APP_OK:
        if (rep->elements != 7) {
            return NGX_ERROR;
        }

        return ngx_http_imprest_script_app_fields(r, &e[1], out);

    default:
        return NGX_ERROR;
    }
}


/* {n, then cid, name, public, redirect_uris, scope, created each} */

ngx_int_t
ngx_http_imprest_script_apps_reply(ngx_http_request_t *r, redisReply *rep,
    ngx_array_t **out)
{
    size_t                   i, n;
    redisReply             **e, *f[6];
    ngx_http_imprest_app_t  *app;

    e = ngx_http_imprest_script_array(rep);
    if (e == NULL || e[0]->integer < 0
        || (size_t) e[0]->integer != (rep->elements - 1) / 6
        || (rep->elements - 1) % 6)
    {
        return NGX_ERROR;
    }

    n = (size_t) e[0]->integer;

    *out = ngx_array_create(r->pool, n ? n : 1,
                            sizeof(ngx_http_imprest_app_t));
    if (*out == NULL) {
        return NGX_ABORT;
    }

    for (i = 1; i < rep->elements; i += 6) {
        app = ngx_array_push(*out);
        if (app == NULL) {
            return NGX_ABORT;
        }

        /* the fields in the app script's order, the owner being ours */
        f[0] = e[i + 1];
        f[1] = e[i + 2];
        f[2] = e[i + 3];
        f[3] = e[i + 4];
        f[4] = e[i + 1];
        f[5] = e[i + 5];

        if (ngx_http_imprest_reply_str(r, e[i], &app->cid) != NGX_OK
            || ngx_http_imprest_script_app_fields(r, f, app) != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_str_null(&app->owner);
    }

    return NGX_OK;
}


/* {1} | {0} */

ngx_int_t
ngx_http_imprest_script_initial_reply(redisReply *rep)
{
    return ngx_http_imprest_script_app_create_reply(rep);
}
