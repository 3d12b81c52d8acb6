/*
 * Copyright (C) Imprest
 *
 * imprest_register: dynamic client registration for automation.
 *
 *   POST   <base>              RFC 7591 3.1, registers an app
 *   GET    <base>/<client_id>  RFC 7592 2.1, reads it
 *   PUT    <base>/<client_id>  RFC 7592 2.2, replaces its metadata
 *   DELETE <base>/<client_id>  RFC 7592 2.3, deletes it
 *
 * Registration is never open: it needs the signed-in user (imprest_user,
 * who then owns the app, as with the portal's Create App) or an initial
 * access token that imprestctl issued (RFC 7591 3; "initial:" records).
 * The client configuration endpoint needs the registration access token
 * returned at registration (RFC 7592 3), whose SHA-256 is the record's
 * "rat".  The record keeps what the server enforces: confidential (a
 * secret digest) or public (PKCE), redirect URIs, scopes and name; the
 * answers say exactly that (see notes-register.md for the choices).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_pages.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


#define NGX_HTTP_IMPREST_REG_MAX_URIS     10
#define NGX_HTTP_IMPREST_REG_MAX_NAME     100
#define NGX_HTTP_IMPREST_REG_MAX_LIST     8
#define NGX_HTTP_IMPREST_REG_CID_RANDOM   12        /* 96 bits */
#define NGX_HTTP_IMPREST_REG_CID_LEN      28        /* "app_" 24 hex */

/* WWW-Authenticate of a 401 (RFC 6750 3) */
#define NGX_HTTP_IMPREST_REG_CHALLENGE    1         /* no credentials */
#define NGX_HTTP_IMPREST_REG_INVALID      2         /* invalid_token */


typedef enum {
    NGX_HTTP_IMPREST_REG_CREATE = 0,
    NGX_HTTP_IMPREST_REG_READ,
    NGX_HTTP_IMPREST_REG_UPDATE,
    NGX_HTTP_IMPREST_REG_DELETE
} ngx_http_imprest_reg_op_e;


typedef struct {
    ngx_http_imprest_reg_op_e      op;
    ngx_str_t                      uid;          /* owner, or "" */
    ngx_str_t                      cid;

    /* the registration access token: presented, or issued now */
    u_char                         rat[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                         rat_hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    u_char                         secret[NGX_HTTP_IMPREST_TOKEN_LEN];

    /* the metadata as validated (create, update) */
    ngx_str_t                      name;         /* "": the client id */
    ngx_str_t                      redirect_uris;
    ngx_str_t                      scope;
    ngx_uint_t                     public;
    ngx_str_t                      given_secret; /* update: as sent */

    ngx_http_imprest_app_t         app;          /* the stored record */
} ngx_http_imprest_reg_t;


static ngx_int_t ngx_http_imprest_register_post(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_register_initial(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_register_create(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);
static ngx_int_t ngx_http_imprest_register_created(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_register_put(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_register_manage(ngx_http_request_t *r,
    ngx_http_imprest_reg_op_e op);
static ngx_int_t ngx_http_imprest_register_managed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_register_secret(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_register_write(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);
static ngx_int_t ngx_http_imprest_register_updated(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);

static ngx_http_imprest_reg_t *ngx_http_imprest_register_begin(
    ngx_http_request_t *r, ngx_http_imprest_reg_op_e op);
static ngx_int_t ngx_http_imprest_register_bearer(ngx_http_request_t *r,
    const char *type, u_char *token);
static ngx_int_t ngx_http_imprest_register_metadata(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_reg_t *reg, ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_register_fields(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_reg_t *reg, json_t *j,
    ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_register_uris(ngx_http_request_t *r,
    ngx_http_imprest_reg_t *reg, json_t *v, ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_register_list(json_t *v, const char *one,
    const char *other, ngx_uint_t *seen);
static ngx_int_t ngx_http_imprest_register_body(ngx_http_request_t *r,
    ngx_str_t *body, ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_register_too_large(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_register_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_http_imprest_reg_t *reg, u_char *secret);
static json_t *ngx_http_imprest_register_split(ngx_str_t *list);
static ngx_int_t ngx_http_imprest_register_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *description,
    ngx_uint_t challenge);
static ngx_int_t ngx_http_imprest_register_unavailable(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_register_metadata_error(
    ngx_http_request_t *r, const char *description);


ngx_int_t
ngx_http_imprest_register_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  path;

    if (ngx_http_imprest_as_create(r) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_imprest_pages_path(r, &path) != NGX_OK) {
        return NGX_HTTP_NOT_FOUND;
    }

    if (path.len == 0) {
        /* RFC 7591 3.1: the registration endpoint takes POST only */
        if (r->method != NGX_HTTP_POST) {
            return ngx_http_imprest_not_allowed(r, "POST");
        }

        if (r->headers_in.content_length_n
            > NGX_HTTP_IMPREST_REGISTER_MAX_BODY)
        {
            return ngx_http_imprest_register_too_large(r);
        }

        return ngx_http_imprest_as_read_body(r,
                                             ngx_http_imprest_register_post);
    }

    /* RFC 7592 2: the client configuration endpoint */

    if (r->method == NGX_HTTP_PUT) {
        if (r->headers_in.content_length_n
            > NGX_HTTP_IMPREST_REGISTER_MAX_BODY)
        {
            return ngx_http_imprest_register_too_large(r);
        }

        return ngx_http_imprest_as_read_body(r,
                                             ngx_http_imprest_register_put);
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_imprest_register_manage(r, NGX_HTTP_IMPREST_REG_READ);

    } else if (r->method == NGX_HTTP_DELETE) {
        rc = ngx_http_imprest_register_manage(r, NGX_HTTP_IMPREST_REG_DELETE);

    } else {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD, PUT, DELETE");
    }

    if (rc == NGX_AGAIN) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


/* RFC 7591 3.1: POST <base>, once the body is in */

static ngx_int_t
ngx_http_imprest_register_post(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_str_t                         key;
    ngx_uint_t                        n;
    ngx_table_elt_t                  *origin;
    ngx_http_imprest_as_t            *as;
    ngx_http_imprest_reg_t           *reg;
    ngx_http_imprest_initial_args_t   a;
    ngx_http_imprest_script_call_t    call;
    u_char                            token[NGX_HTTP_IMPREST_TOKEN_LEN];

    reg = ngx_http_imprest_register_begin(r, NGX_HTTP_IMPREST_REG_CREATE);
    if (reg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    as = ngx_http_imprest_as_get(r);

    /* "" rather than NULL: the owner is logged and passed to Redis */

    if (as->ilcf->user == NULL
        || ngx_http_complex_value(r, as->ilcf->user, &reg->uid) != NGX_OK)
    {
        ngx_str_set(&reg->uid, "");
    }

    if (reg->uid.len
        && !ngx_http_imprest_id_valid(reg->uid.data, reg->uid.len))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: imprest_user gave an invalid user id");
        ngx_str_set(&reg->uid, "");
    }

    rc = ngx_http_imprest_register_bearer(r, NGX_HTTP_IMPREST_TOKEN_IA,
                                          token);

    if (rc == NGX_ERROR) {
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token", "malformed initial access token",
                   NGX_HTTP_IMPREST_REG_INVALID);
    }

    if (rc == NGX_DECLINED) {
        if (reg->uid.len == 0) {
            return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                       "invalid_token",
                       "registration needs a signed-in user or an initial "
                       "access token", NGX_HTTP_IMPREST_REG_CHALLENGE);
        }

        /*
         * The signed-in user's browser sends its credentials by itself.
         * A JSON body already needs a CORS preflight, which is never
         * answered here; a foreign Origin is refused all the same.
         */
        origin = ngx_http_imprest_find_header(r, "Origin",
                                              sizeof("Origin") - 1, &n);

        if (origin && (n != 1
                       || origin->value.len != as->imcf->issuer_origin.len
                       || ngx_strncasecmp(origin->value.data,
                                          as->imcf->issuer_origin.data,
                                          origin->value.len) != 0))
        {
            return ngx_http_imprest_register_error(r, NGX_HTTP_FORBIDDEN,
                       "access_denied", "a request from a foreign origin",
                       0);
        }

        return ngx_http_imprest_register_create(r, as);
    }

    /* RFC 7591 3: an initial access token, looked up in Redis */

    if (ngx_http_imprest_as_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_INITIAL,
                                token, NGX_HTTP_IMPREST_TOKEN_LEN, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_explicit_memzero(token, sizeof(token));

    a.key = key;
    a.now = ngx_time();

    ngx_http_imprest_script_initial_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_register_initial);
}


static ngx_int_t
ngx_http_imprest_register_initial(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t  rc;

    if (reply == NULL) {
        return ngx_http_imprest_register_unavailable(r);
    }

    rc = ngx_http_imprest_script_initial_reply(reply);

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the initial "
                                     "script");
        return ngx_http_imprest_register_unavailable(r);
    }

    if (rc != NGX_OK) {
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token",
                   "unknown, expired or revoked initial access token",
                   NGX_HTTP_IMPREST_REG_INVALID);
    }

    return ngx_http_imprest_register_create(r, as);
}


static ngx_int_t
ngx_http_imprest_register_create(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as)
{
    u_char                             *p;
    ngx_int_t                           rc;
    ngx_str_t                           key, digest;
    ngx_http_imprest_reg_t             *reg;
    ngx_http_imprest_app_create_args_t  a;
    ngx_http_imprest_script_call_t      call;
    u_char                              raw[NGX_HTTP_IMPREST_REG_CID_RANDOM];

    reg = as->data;

    if (ngx_http_imprest_register_metadata(r, as, reg, &rc) != NGX_OK) {
        return rc;
    }

    /* the server assigns the client id (RFC 7591 3.2.1) */

    p = ngx_pnalloc(r->pool, NGX_HTTP_IMPREST_REG_CID_LEN
                             + NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (RAND_bytes(raw, sizeof(raw)) != 1
        || ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_RA,
                                           reg->rat) != 0
        || (!reg->public
            && ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS,
                                               reg->secret) != 0)
        || ngx_http_imprest_digest_hex(reg->rat, NGX_HTTP_IMPREST_TOKEN_LEN,
                                       reg->rat_hex) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: RAND_bytes or SHA-256 failed");
        return ngx_http_imprest_register_unavailable(r);
    }

    reg->cid.data = p;
    p = ngx_cpymem(p, "app_", 4);
    p = ngx_hex_dump(p, raw, sizeof(raw));
    reg->cid.len = p - reg->cid.data;

    ngx_str_set(&digest, "");

    if (!reg->public) {
        digest.data = p;
        digest.len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;

        if (ngx_http_imprest_digest_hex(reg->secret,
                                        NGX_HTTP_IMPREST_TOKEN_LEN, p)
            != 0)
        {
            return ngx_http_imprest_register_unavailable(r);
        }
    }

    if (reg->name.len == 0) {
        /* RFC 7591 2: a client without a name is shown by its id */
        reg->name = reg->cid;
    }

    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   reg->cid.data, reg->cid.len, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    a.cid = reg->cid;
    a.name = reg->name;
    a.secret = digest;
    a.redirect_uris = reg->redirect_uris;
    a.scope = reg->scope;
    a.owner = reg->uid;
    a.created = ngx_time();
    a.rat.data = reg->rat_hex;
    a.rat.len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;

    reg->app.cid = reg->cid;
    reg->app.name = reg->name;
    reg->app.public = reg->public;
    reg->app.redirect_uris = reg->redirect_uris;
    reg->app.scope = reg->scope;
    reg->app.owner = reg->uid;
    reg->app.created = a.created;

    ngx_http_imprest_script_app_create_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_register_created);
}


static ngx_int_t
ngx_http_imprest_register_created(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                rc;
    ngx_http_imprest_reg_t  *reg;

    reg = as->data;

    /* fail closed: nothing is handed out unless the record was written */

    if (reply == NULL) {
        ngx_explicit_memzero(reg->secret, sizeof(reg->secret));
        ngx_explicit_memzero(reg->rat, sizeof(reg->rat));
        return ngx_http_imprest_register_unavailable(r);
    }

    rc = ngx_http_imprest_script_app_create_reply(reply);

    if (rc != NGX_OK) {
        ngx_explicit_memzero(reg->secret, sizeof(reg->secret));
        ngx_explicit_memzero(reg->rat, sizeof(reg->rat));

        if (rc == NGX_ERROR) {
            ngx_http_imprest_redis_reset("reply does not match the "
                                         "app_create script");

        } else {
            /* 96 random bits met an existing id: cannot happen */
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "imprest: a new client id exists already");
        }

        return ngx_http_imprest_register_unavailable(r);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: registered client %V (owner \"%V\")",
                  &reg->cid, &reg->uid);

    return ngx_http_imprest_register_send(r, NGX_HTTP_CREATED, reg,
                                          reg->public ? NULL : reg->secret);
}


/* RFC 7592 2.2: PUT <base>/<client_id>, once the body is in */

static ngx_int_t
ngx_http_imprest_register_put(ngx_http_request_t *r)
{
    return ngx_http_imprest_register_manage(r, NGX_HTTP_IMPREST_REG_UPDATE);
}


/*
 * RFC 7592 3: every operation on <base>/<client_id> is authorised by the
 * registration access token, checked inside the app script together with
 * the record, so an unknown client and a wrong token are one answer.
 */

static ngx_int_t
ngx_http_imprest_register_manage(ngx_http_request_t *r,
    ngx_http_imprest_reg_op_e op)
{
    ngx_int_t                        rc;
    ngx_str_t                        key, path;
    ngx_http_imprest_as_t           *as;
    ngx_http_imprest_reg_t          *reg;
    ngx_http_imprest_app_args_t      a;
    ngx_http_imprest_script_call_t   call;

    if (op != NGX_HTTP_IMPREST_REG_UPDATE) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    reg = ngx_http_imprest_register_begin(r, op);
    if (reg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    as = ngx_http_imprest_as_get(r);

    rc = ngx_http_imprest_register_bearer(r, NGX_HTTP_IMPREST_TOKEN_RA,
                                          reg->rat);

    if (rc == NGX_DECLINED) {
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token",
                   "the registration access token is required",
                   NGX_HTTP_IMPREST_REG_CHALLENGE);
    }

    (void) ngx_http_imprest_pages_path(r, &path);

    if (rc == NGX_ERROR
        || !ngx_http_imprest_id_valid(path.data, path.len))
    {
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token",
                   "unknown client or invalid registration access token",
                   NGX_HTTP_IMPREST_REG_INVALID);
    }

    reg->cid = path;

    if (ngx_http_imprest_digest_hex(reg->rat, NGX_HTTP_IMPREST_TOKEN_LEN,
                                    reg->rat_hex) != 0
        || ngx_http_imprest_as_id_key(r, as->imcf,
                                      NGX_HTTP_IMPREST_KEY_CLIENT,
                                      reg->cid.data, reg->cid.len, &key)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&a, sizeof(ngx_http_imprest_app_args_t));

    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    a.cid = reg->cid;
    a.rat.data = reg->rat_hex;
    a.rat.len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;
    a.op = (op == NGX_HTTP_IMPREST_REG_DELETE) ? "delete" : "get";

    ngx_http_imprest_script_app_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_register_managed);
}


static ngx_int_t
ngx_http_imprest_register_managed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                         rc, status;
    ngx_str_t                         key, empty = ngx_null_string;
    ngx_http_imprest_reg_t           *reg;
    ngx_http_imprest_client_args_t    a;
    ngx_http_imprest_script_call_t    call;

    reg = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_register_unavailable(r);
    }

    if (ngx_http_imprest_script_app_reply(r, reply, &status, &reg->app)
        != NGX_OK)
    {
        ngx_http_imprest_redis_reset("reply does not match the app script");
        return ngx_http_imprest_register_unavailable(r);
    }

    if (status != NGX_HTTP_IMPREST_APP_OK) {
        /* RFC 7592 3: an unknown client is not told apart from a bad token */
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token",
                   "unknown client or invalid registration access token",
                   NGX_HTTP_IMPREST_REG_INVALID);
    }

    reg->app.cid = reg->cid;

    switch (reg->op) {

    case NGX_HTTP_IMPREST_REG_READ:
        return ngx_http_imprest_register_send(r, NGX_HTTP_OK, reg, NULL);

    case NGX_HTTP_IMPREST_REG_DELETE:
        /*
         * RFC 7592 2.3.  The record is gone: every token of the app stops
         * at the gate and at the token endpoint from the next request on
         * (src/lua/lib/gone.lua).
         */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: deleted client %V", &reg->cid);

        return ngx_http_imprest_send(r, NGX_HTTP_NO_CONTENT,
                                     "application/json", &empty);

    default: /* NGX_HTTP_IMPREST_REG_UPDATE */
        break;
    }

    if (ngx_http_imprest_register_metadata(r, as, reg, &rc) != NGX_OK) {
        return rc;
    }

    if (reg->given_secret.data == NULL) {
        return ngx_http_imprest_register_write(r, as);
    }

    /*
     * RFC 7592 2.2: a client_secret sent back must be the one issued.
     * Only its digest is stored, read with the token endpoint's script.
     */
    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   reg->cid.data, reg->cid.len, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    ngx_str_null(&a.uid);

    ngx_http_imprest_script_client_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_register_secret);
}


static ngx_int_t
ngx_http_imprest_register_secret(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                rc;
    ngx_http_imprest_reg_t  *reg;
    u_char                   digest[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];

    reg = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_register_unavailable(r);
    }

    rc = ngx_http_imprest_as_client_reply(r, as, reply);

    if (rc == NGX_ERROR) {
        return ngx_http_imprest_register_unavailable(r);
    }

    if (rc == NGX_DECLINED) {
        /* deleted since the token was checked */
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token",
                   "unknown client or invalid registration access token",
                   NGX_HTTP_IMPREST_REG_INVALID);
    }

    rc = as->client_secret.len == NGX_HTTP_IMPREST_DIGEST_HEX_LEN
         && ngx_http_imprest_digest_hex(reg->given_secret.data,
                                        reg->given_secret.len, digest) == 0
         && ngx_http_imprest_const_eq(digest, as->client_secret.data,
                                      NGX_HTTP_IMPREST_DIGEST_HEX_LEN);

    ngx_explicit_memzero(reg->given_secret.data, reg->given_secret.len);

    if (!rc) {
        return ngx_http_imprest_register_metadata_error(r,
                   "client_secret is not the one issued to this client");
    }

    return ngx_http_imprest_register_write(r, as);
}


static ngx_int_t
ngx_http_imprest_register_write(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as)
{
    ngx_str_t                        key;
    ngx_http_imprest_reg_t          *reg;
    ngx_http_imprest_app_args_t      a;
    ngx_http_imprest_script_call_t   call;

    reg = as->data;

    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   reg->cid.data, reg->cid.len, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (reg->name.len == 0) {
        reg->name = reg->cid;
    }

    ngx_memzero(&a, sizeof(ngx_http_imprest_app_args_t));

    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    a.cid = reg->cid;
    a.rat.data = reg->rat_hex;
    a.rat.len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;
    a.op = "update";
    a.name = reg->name;
    a.redirect_uris = reg->redirect_uris;
    a.scope = reg->scope;

    ngx_http_imprest_script_app_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_register_updated);
}


static ngx_int_t
ngx_http_imprest_register_updated(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                status;
    ngx_http_imprest_reg_t  *reg;

    reg = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_register_unavailable(r);
    }

    if (ngx_http_imprest_script_app_reply(r, reply, &status, &reg->app)
        != NGX_OK)
    {
        ngx_http_imprest_redis_reset("reply does not match the app script");
        return ngx_http_imprest_register_unavailable(r);
    }

    if (status != NGX_HTTP_IMPREST_APP_OK) {
        return ngx_http_imprest_register_error(r, NGX_HTTP_UNAUTHORIZED,
                   "invalid_token",
                   "unknown client or invalid registration access token",
                   NGX_HTTP_IMPREST_REG_INVALID);
    }

    reg->app.cid = reg->cid;

    return ngx_http_imprest_register_send(r, NGX_HTTP_OK, reg, NULL);
}


static ngx_http_imprest_reg_t *
ngx_http_imprest_register_begin(ngx_http_request_t *r,
    ngx_http_imprest_reg_op_e op)
{
    ngx_http_imprest_as_t   *as;
    ngx_http_imprest_reg_t  *reg;

    as = ngx_http_imprest_as_get(r);
    if (as == NULL) {
        return NULL;
    }

    reg = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_reg_t));
    if (reg == NULL) {
        return NULL;
    }

    reg->op = op;
    as->data = reg;

    return reg;
}


/*
 * The Bearer token of the request (RFC 6750 2.1: scheme in any case, one
 * or more spaces) if it is a well-formed token of the given type, copied
 * into token: NGX_OK.  NGX_DECLINED: no Authorization header, or another
 * scheme (such as auth_basic's sign-in).  NGX_ERROR: a Bearer header
 * whose token is not one of ours.
 */

static ngx_int_t
ngx_http_imprest_register_bearer(ngx_http_request_t *r, const char *type,
    u_char *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL) {
        return NGX_DECLINED;
    }

    p = h->value.data;
    last = p + h->value.len;

    if (last - p < 6 || ngx_strncasecmp(p, (u_char *) "bearer", 6) != 0
        || (last - p > 6 && p[6] != ' '))
    {
        return NGX_DECLINED;
    }

    p += 6;

    while (p < last && *p == ' ') {
        p++;
    }

    if (!ngx_http_imprest_token_check(type, p, last - p)) {
        return NGX_ERROR;
    }

    ngx_memcpy(token, p, NGX_HTTP_IMPREST_TOKEN_LEN);

    return NGX_OK;
}


/*
 * The client metadata of a POST or PUT body (RFC 7591 2, RFC 7592 2.2)
 * into reg.  NGX_OK, or NGX_DECLINED with the 400 (or 413) in *rc.
 */

static ngx_int_t
ngx_http_imprest_register_metadata(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_reg_t *reg, ngx_int_t *rc)
{
    size_t         len;
    json_t        *j;
    ngx_str_t      body, *ct;
    ngx_int_t      n;
    json_error_t   err;

    /* RFC 7591 3.1, RFC 7592 2.2: application/json */
    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;
    len = sizeof("application/json") - 1;

    if (ct == NULL || ct->len < len
        || ngx_strncasecmp(ct->data, (u_char *) "application/json", len)
           != 0
        || (ct->len > len && ct->data[len] != ';' && ct->data[len] != ' '))
    {
        *rc = ngx_http_imprest_register_metadata_error(r,
                  "the body must be application/json");
        return NGX_DECLINED;
    }

    if (ngx_http_imprest_register_body(r, &body, rc) != NGX_OK) {
        return NGX_DECLINED;
    }

    /*
     * Strict: one JSON object, nothing after it, valid UTF-8, no "\u0000"
     * (jansson refuses it without JSON_ALLOW_NUL), nesting bounded by
     * jansson, and a member named twice refused rather than one of the
     * two silently winning (parsers that disagree on which would read
     * another registration than ours).
     */
    j = json_loadb((char *) body.data, body.len, JSON_REJECT_DUPLICATES,
                   &err);

    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        *rc = ngx_http_imprest_register_metadata_error(r,
                  "the body must be one JSON object, without repeated "
                  "members");
        return NGX_DECLINED;
    }

    n = ngx_http_imprest_register_fields(r, as, reg, j, rc);

    json_decref(j);

    return n;
}


static ngx_int_t
ngx_http_imprest_register_fields(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_reg_t *reg, json_t *j,
    ngx_int_t *rc)
{
    u_char        *p;
    size_t         len, i;
    json_t        *v;
    ngx_uint_t     seen;
    const char    *s;

    /* RFC 7592 2.2: the client's own client_id, and no other */

    if (reg->op == NGX_HTTP_IMPREST_REG_UPDATE) {
        v = json_object_get(j, "client_id");

        if (!json_is_string(v)
            || json_string_length(v) != reg->cid.len
            || ngx_strncmp(json_string_value(v), reg->cid.data,
                           reg->cid.len) != 0)
        {
            *rc = ngx_http_imprest_register_metadata_error(r,
                      "client_id must be this client's");
            return NGX_DECLINED;
        }
    }

    /* token_endpoint_auth_method: a secret, or a public app with PKCE */

    v = json_object_get(j, "token_endpoint_auth_method");

    if (v == NULL || json_is_null(v)) {
        reg->public = 0;        /* RFC 7591 2: client_secret_basic */

    } else if (!json_is_string(v)) {
        goto invalid_method;

    } else {
        s = json_string_value(v);

        if (ngx_strcmp(s, "none") == 0) {
            reg->public = 1;

        } else if (ngx_strcmp(s, "client_secret_basic") == 0
                   || ngx_strcmp(s, "client_secret_post") == 0)
        {
            reg->public = 0;

        } else {
            goto invalid_method;
        }
    }

    if (reg->op == NGX_HTTP_IMPREST_REG_UPDATE
        && reg->public != reg->app.public)
    {
        *rc = ngx_http_imprest_register_metadata_error(r,
                  "token_endpoint_auth_method cannot change between "
                  "\"none\" and a client secret");
        return NGX_DECLINED;
    }

    /* RFC 7592 2.2: a client_secret sent must be the current one */

    v = json_object_get(j, "client_secret");

    if (reg->op == NGX_HTTP_IMPREST_REG_UPDATE && v && !json_is_null(v)) {
        if (!json_is_string(v) || reg->public) {
            *rc = ngx_http_imprest_register_metadata_error(r,
                      "client_secret is not the one issued to this client");
            return NGX_DECLINED;
        }

        len = json_string_length(v);

        reg->given_secret.data = ngx_pnalloc(r->pool, len + 1);
        if (reg->given_secret.data == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_DECLINED;
        }

        ngx_memcpy(reg->given_secret.data, json_string_value(v), len);
        reg->given_secret.len = len;
    }

    /* response_types and grant_types, consistent (RFC 7591 2.1) */

    v = json_object_get(j, "response_types");
    seen = 0;

    if (v && !json_is_null(v)
        && (ngx_http_imprest_register_list(v, "code", NULL, &seen) != NGX_OK
            || seen != 1))
    {
        *rc = ngx_http_imprest_register_metadata_error(r,
                  "response_types may only be [\"code\"]");
        return NGX_DECLINED;
    }

    v = json_object_get(j, "grant_types");
    seen = 0;

    if (v && !json_is_null(v)
        && (ngx_http_imprest_register_list(v, "authorization_code",
                                           "refresh_token", &seen)
            != NGX_OK
            || !(seen & 1)))
    {
        *rc = ngx_http_imprest_register_metadata_error(r,
                  "grant_types must be authorization_code, with or without "
                  "refresh_token");
        return NGX_DECLINED;
    }

    /* client_name: shown on the consent page (escaped there) */

    v = json_object_get(j, "client_name");
    ngx_str_null(&reg->name);

    if (v && !json_is_null(v)) {
        if (!json_is_string(v)
            || json_string_length(v) > NGX_HTTP_IMPREST_REG_MAX_NAME)
        {
            goto invalid_name;
        }

        len = json_string_length(v);
        s = json_string_value(v);

        for (i = 0; i < len; i++) {
            if ((u_char) s[i] < 0x20 || s[i] == 0x7f) {
                goto invalid_name;
            }
        }

        if (len) {
            reg->name.data = ngx_pnalloc(r->pool, len);
            if (reg->name.data == NULL) {
                *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                return NGX_DECLINED;
            }

            ngx_memcpy(reg->name.data, s, len);
            reg->name.len = len;
        }
    }

    /* scope: a subset of the catalogue; omitted, the whole catalogue */

    v = json_object_get(j, "scope");

    if (v == NULL || json_is_null(v)
        || (json_is_string(v) && json_string_length(v) == 0))
    {
        reg->scope = as->imcf->scope_names;

    } else {
        if (!json_is_string(v)
            || json_string_length(v) > NGX_HTTP_IMPREST_SCOPE_MAX_LEN)
        {
            goto invalid_scope;
        }

        len = json_string_length(v);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_DECLINED;
        }

        reg->scope.data = p;
        reg->scope.len = ngx_http_imprest_scope_set(p,
                             (const u_char *) json_string_value(v), len);

        if (reg->scope.len == 0
            || !ngx_http_imprest_scope_subset(reg->scope.data,
                                              reg->scope.len,
                                              as->imcf->scope_names.data,
                                              as->imcf->scope_names.len))
        {
            goto invalid_scope;
        }
    }

    return ngx_http_imprest_register_uris(r, reg,
                                          json_object_get(j, "redirect_uris"),
                                          rc);

invalid_method:

    *rc = ngx_http_imprest_register_metadata_error(r,
              "token_endpoint_auth_method must be client_secret_basic, "
              "client_secret_post or none");
    return NGX_DECLINED;

invalid_name:

    *rc = ngx_http_imprest_register_metadata_error(r,
              "client_name must be a string of at most 100 bytes without "
              "control characters");
    return NGX_DECLINED;

invalid_scope:

    *rc = ngx_http_imprest_register_metadata_error(r,
              "scope must be space-separated scopes of the catalogue "
              "(scopes_supported)");
    return NGX_DECLINED;
}


/* redirect_uris: required, each checked as the portal does (RFC 7591 2) */

static ngx_int_t
ngx_http_imprest_register_uris(ngx_http_request_t *r,
    ngx_http_imprest_reg_t *reg, json_t *v, ngx_int_t *rc)
{
    u_char      *p, *buf;
    size_t       i, k, n, len;
    json_t      *e, *f;
    const char  *reason;
    u_char       msg[128];

    if (!json_is_array(v) || json_array_size(v) == 0) {
        *rc = ngx_http_imprest_register_error(r, NGX_HTTP_BAD_REQUEST,
                  "invalid_redirect_uri",
                  "redirect_uris must be an array of one or more URIs", 0);
        return NGX_DECLINED;
    }

    n = json_array_size(v);

    if (n > NGX_HTTP_IMPREST_REG_MAX_URIS) {
        *rc = ngx_http_imprest_register_error(r, NGX_HTTP_BAD_REQUEST,
                  "invalid_redirect_uri",
                  "at most 10 redirect_uris", 0);
        return NGX_DECLINED;
    }

    len = 0;

    for (i = 0; i < n; i++) {
        e = json_array_get(v, i);

        if (!json_is_string(e)) {
            ngx_sprintf(msg, "redirect_uris[%uz]: not a string%Z", i);
            goto invalid;
        }

        reason = ngx_http_imprest_redirect_uri_register_check(
                     (const u_char *) json_string_value(e),
                     json_string_length(e));

        if (reason) {
            ngx_sprintf(msg, "redirect_uris[%uz]: %s%Z", i, reason);
            goto invalid;
        }

        for (k = 0; k < i; k++) {
            f = json_array_get(v, k);

            if (json_string_length(f) == json_string_length(e)
                && ngx_memcmp(json_string_value(f), json_string_value(e),
                              json_string_length(e)) == 0)
            {
                ngx_sprintf(msg, "redirect_uris[%uz]: repeated%Z", i);
                goto invalid;
            }
        }

        len += json_string_length(e) + 1;
    }

    /* stored space-separated: the check admits no space in a URI */

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    p = buf;

    for (i = 0; i < n; i++) {
        e = json_array_get(v, i);

        if (i) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, json_string_value(e), json_string_length(e));
    }

    reg->redirect_uris.data = buf;
    reg->redirect_uris.len = p - buf;

    return NGX_OK;

invalid:

    *rc = ngx_http_imprest_register_error(r, NGX_HTTP_BAD_REQUEST,
              "invalid_redirect_uri", (char *) msg, 0);
    return NGX_DECLINED;
}


/*
 * A JSON array of at most NGX_HTTP_IMPREST_REG_MAX_LIST strings, each one
 * or other (bit 1, bit 2 of *seen); NGX_ERROR on anything else.
 */

static ngx_int_t
ngx_http_imprest_register_list(json_t *v, const char *one,
    const char *other, ngx_uint_t *seen)
{
    size_t       i;
    json_t      *e;
    const char  *s;

    if (!json_is_array(v) || json_array_size(v) == 0
        || json_array_size(v) > NGX_HTTP_IMPREST_REG_MAX_LIST)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < json_array_size(v); i++) {
        e = json_array_get(v, i);

        if (!json_is_string(e)) {
            return NGX_ERROR;
        }

        s = json_string_value(e);

        if (ngx_strcmp(s, one) == 0
            && json_string_length(e) == ngx_strlen(one))
        {
            *seen |= 1;

        } else if (other && ngx_strcmp(s, other) == 0
                   && json_string_length(e) == ngx_strlen(other))
        {
            *seen |= 2;

        } else {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the body, in memory (the location's buffer is raised to fit it) */

static ngx_int_t
ngx_http_imprest_register_body(ngx_http_request_t *r, ngx_str_t *body,
    ngx_int_t *rc)
{
    u_char       *p;
    size_t        len;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->temp_file) {
        *rc = ngx_http_imprest_register_too_large(r);
        return NGX_DECLINED;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            *rc = ngx_http_imprest_register_too_large(r);
            return NGX_DECLINED;
        }

        len += cl->buf->last - cl->buf->pos;
    }

    if (len > NGX_HTTP_IMPREST_REGISTER_MAX_BODY) {
        *rc = ngx_http_imprest_register_too_large(r);
        return NGX_DECLINED;
    }

    body->data = ngx_pnalloc(r->pool, len + 1);
    if (body->data == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last > cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    body->len = p - body->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_imprest_register_too_large(ngx_http_request_t *r)
{
    return ngx_http_imprest_register_error(r,
               NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "invalid_client_metadata",
               "the body is larger than 64 KB", 0);
}


/*
 * RFC 7591 3.2.1 and RFC 7592 3: the client information response.  The
 * values are those the server enforces: a confidential app may use
 * client_secret_basic or client_secret_post (it is told the RFC's
 * default), every app may use refresh tokens.  The client secret is
 * only ever shown when it is issued.
 */

static ngx_int_t
ngx_http_imprest_register_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_imprest_reg_t *reg, u_char *secret)
{
    int                      err;
    char                    *s;
    u_char                  *p;
    size_t                   len;
    json_t                  *j, *a;
    ngx_str_t                body;
    ngx_http_imprest_as_t   *as;
    ngx_http_imprest_app_t  *app;

    as = ngx_http_imprest_as_get(r);
    app = &reg->app;

    j = json_object();
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err = json_object_set_new(j, "client_id",
              json_stringn((char *) app->cid.data, app->cid.len));

    if (secret) {
        err |= json_object_set_new(j, "client_secret",
                   json_stringn((char *) secret, NGX_HTTP_IMPREST_TOKEN_LEN));
    }

    err |= json_object_set_new(j, "client_id_issued_at",
                               json_integer(app->created));

    if (!app->public) {
        /* RFC 7591 3.2.1: 0, the secret does not expire */
        err |= json_object_set_new(j, "client_secret_expires_at",
                                   json_integer(0));
    }

    err |= json_object_set_new(j, "client_name",
               json_stringn((char *) app->name.data, app->name.len));
    err |= json_object_set_new(j, "redirect_uris",
               ngx_http_imprest_register_split(&app->redirect_uris));
    err |= json_object_set_new(j, "scope",
               json_stringn((char *) app->scope.data, app->scope.len));
    err |= json_object_set_new(j, "token_endpoint_auth_method",
               json_string(app->public ? "none" : "client_secret_basic"));

    a = json_array();
    if (a) {
        err |= json_array_append_new(a, json_string("authorization_code"));
        err |= json_array_append_new(a, json_string("refresh_token"));
    }

    err |= json_object_set_new(j, "grant_types", a);

    a = json_array();
    if (a) {
        err |= json_array_append_new(a, json_string("code"));
    }

    err |= json_object_set_new(j, "response_types", a);

    err |= json_object_set_new(j, "registration_access_token",
               json_stringn((char *) reg->rat, NGX_HTTP_IMPREST_TOKEN_LEN));

    /*
     * RFC 7592 3: under the registration endpoint of the metadata (the
     * first imprest_register location), also for an app registered at
     * another one: that may sit behind auth_basic, which would take the
     * Authorization header the registration access token needs.
     */
    len = as->imcf->issuer_origin.len + as->imcf->register_uri.len + 1
          + app->cid.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        json_decref(j);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(p, "%V%V/%V", &as->imcf->issuer_origin,
                &as->imcf->register_uri, &app->cid);

    err |= json_object_set_new(j, "registration_client_uri",
                               json_stringn((char *) p, len));

    s = err ? NULL : json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(j);

    ngx_explicit_memzero(reg->secret, sizeof(reg->secret));
    ngx_explicit_memzero(reg->rat, sizeof(reg->rat));

    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(s);

    body.data = ngx_pnalloc(r->pool, len + 1);
    if (body.data == NULL) {
        ngx_explicit_memzero(s, len);
        free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body.data, s, len);
    *p++ = '\n';
    body.len = p - body.data;

    /* the copy in jansson's memory holds the secrets too */
    ngx_explicit_memzero(s, len);
    free(s);

    return ngx_http_imprest_send_json(r, status, &body);
}


static json_t *
ngx_http_imprest_register_split(ngx_str_t *list)
{
    size_t         len;
    json_t        *a;
    const u_char  *pos, *tok;

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    pos = list->data;

    while ((len = ngx_http_imprest_list_next(&pos, list->data + list->len,
                                             &tok)))
    {
        if (json_array_append_new(a, json_stringn((char *) tok, len)) != 0) {
            json_decref(a);
            return NULL;
        }
    }

    return a;
}


/* RFC 7591 3.2.2, RFC 6750 3: JSON errors, never cached */

static ngx_int_t
ngx_http_imprest_register_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *description, ngx_uint_t challenge)
{
    u_char                       *p;
    size_t                        len, dlen;
    ngx_str_t                     body;
    ngx_table_elt_t              *h;
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: register: %s: %s", error, description);

    if (status == NGX_HTTP_UNAUTHORIZED) {
        /* RFC 6750 3.1: no error code when no credentials came at all */
        len = sizeof("Bearer realm=\"\"") - 1 + ilcf->realm.len;

        if (challenge == NGX_HTTP_IMPREST_REG_INVALID) {
            len += sizeof(", error=\"invalid_token\"") - 1;
        }

        h = ngx_http_imprest_add_header(r, "WWW-Authenticate", NULL);
        p = ngx_pnalloc(r->pool, len);
        if (h == NULL || p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = p;
        p = ngx_sprintf(p, "Bearer realm=\"%V\"", &ilcf->realm);

        if (challenge == NGX_HTTP_IMPREST_REG_INVALID) {
            p = ngx_cpymem(p, ", error=\"invalid_token\"",
                           sizeof(", error=\"invalid_token\"") - 1);
        }

        h->value.len = p - h->value.data;
        r->headers_out.www_authenticate = h;
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_http_imprest_retry_after(r, ilcf->retry_after) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dlen = ngx_strlen(description);

    len = sizeof("{\"error\":\"\",\"error_description\":\"\"}\n") - 1
          + ngx_strlen(error)
          + ngx_http_imprest_json_escape(NULL, (u_char *) description, dlen);

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data, "{\"error\":\"%s\",\"error_description\":\"",
                    error);
    p += ngx_http_imprest_json_escape(p, (u_char *) description, dlen);
    p = ngx_cpymem(p, "\"}\n", 3);
    body.len = p - body.data;

    return ngx_http_imprest_send_json(r, status, &body);
}


static ngx_int_t
ngx_http_imprest_register_unavailable(ngx_http_request_t *r)
{
    return ngx_http_imprest_register_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
               "temporarily_unavailable",
               "the registration service is unavailable", 0);
}


static ngx_int_t
ngx_http_imprest_register_metadata_error(ngx_http_request_t *r,
    const char *description)
{
    return ngx_http_imprest_register_error(r, NGX_HTTP_BAD_REQUEST,
               "invalid_client_metadata", description, 0);
}
