/*
 * Copyright (C) Imprest
 *
 * POST /oauth/token: authorization_code and refresh_token grants
 * (RFC 6749 4.1.3, 6; RFC 7636 4.5).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_lua.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


typedef struct {
    ngx_int_t                   code;
    const char                 *error;
    const char                 *description;
} ngx_http_imprest_reason_t;


typedef struct {
    u_char                           at[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                           rt[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                           gid[NGX_HTTP_IMPREST_UUID_LEN];
    ngx_str_t                        at_key;    /* their Redis keys */
    ngx_str_t                        rt_key;
    ngx_http_imprest_grant_reply_pt  decode;    /* the script's reply */
} ngx_http_imprest_token_ep_t;


static ngx_int_t ngx_http_imprest_token_ep_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_token_ep_code(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);
static ngx_int_t ngx_http_imprest_token_ep_refresh(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);
static ngx_int_t ngx_http_imprest_token_ep_issued(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_http_imprest_token_ep_t *ngx_http_imprest_token_ep_new(
    ngx_http_request_t *r, ngx_http_imprest_as_t *as);
static const ngx_http_imprest_reason_t *ngx_http_imprest_token_ep_reason(
    ngx_int_t code);
static ngx_int_t ngx_http_imprest_token_ep_unavailable(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);


static const char  *ngx_http_imprest_token_ep_params[] = {
    "grant_type", "code", "redirect_uri", "code_verifier", "refresh_token",
    "scope", NULL
};


ngx_int_t
ngx_http_imprest_token_ep_handler(ngx_http_request_t *r)
{
    /* RFC 6749 3.2: POST only */
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_imprest_not_allowed(r, "POST");
    }

    return ngx_http_imprest_as_read_body(r, ngx_http_imprest_token_ep_body);
}


static ngx_int_t
ngx_http_imprest_token_ep_body(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_str_t               grant, v;
    ngx_uint_t              i, n;
    ngx_http_imprest_as_t  *as;

    as = ngx_http_imprest_as_get(r);

    if (ngx_http_imprest_as_parse_body(r, as, &rc) != NGX_OK) {
        return rc;
    }

    /* RFC 6749 3.2: "MUST NOT be included more than once" */
    for (i = 0; ngx_http_imprest_token_ep_params[i]; i++) {
        if (ngx_http_imprest_as_param(as, ngx_http_imprest_token_ep_params[i],
                                      &v)
            == 2)
        {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                       "invalid_request", "a parameter is repeated");
        }
    }

    n = ngx_http_imprest_as_param(as, "grant_type", &grant);

    if (n == 0) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_request", "grant_type is required");
    }

    if (grant.len == sizeof("authorization_code") - 1
        && ngx_strncmp(grant.data, "authorization_code", grant.len) == 0)
    {
        return ngx_http_imprest_as_authenticate(r, as,
                                                ngx_http_imprest_token_ep_code);
    }

    if (grant.len == sizeof("refresh_token") - 1
        && ngx_strncmp(grant.data, "refresh_token", grant.len) == 0)
    {
        return ngx_http_imprest_as_authenticate(r, as,
                                             ngx_http_imprest_token_ep_refresh);
    }

    /* RFC 9700 2.4: no password grant; no implicit; nothing else */
    return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
               "unsupported_grant_type",
               "grant_type must be authorization_code or refresh_token");
}


static ngx_int_t
ngx_http_imprest_token_ep_code(ngx_http_request_t *r, ngx_http_imprest_as_t *as)
{
    u_char                           s256[NGX_HTTP_IMPREST_PKCE_S256_LEN];
    ngx_str_t                        code, ru, verifier;
    ngx_uint_t                       ru_given, has_verifier;
    ngx_http_imprest_token_ep_t     *t;
    ngx_http_imprest_main_conf_t    *imcf;
    ngx_http_imprest_redeem_args_t   a;
    ngx_http_imprest_script_call_t   call;

    imcf = as->imcf;

    if (ngx_http_imprest_as_param(as, "code", &code) == 0) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_request", "code is required");
    }

    /* shape and checksum: a garbage code costs no Redis round trip */
    if (!ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_AC, code.data,
                                      code.len))
    {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_grant", "unknown code");
    }

    ru_given = ngx_http_imprest_as_param(as, "redirect_uri", &ru);
    has_verifier = ngx_http_imprest_as_param(as, "code_verifier", &verifier);

    if (has_verifier) {
        /* RFC 7636 4.1: 43-128 unreserved characters, or nothing */
        if (!ngx_http_imprest_pkce_verifier_valid(verifier.data,
                                                  verifier.len)
            || ngx_http_imprest_pkce_s256(verifier.data, verifier.len, s256)
               != 0)
        {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                       "invalid_grant", "malformed code_verifier");
        }

    } else if (as->client_secret.len == 0) {
        /* RFC 9700 2.1.1: a public client proves itself with PKCE */
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_grant", "code_verifier is required");
    }

    t = ngx_http_imprest_token_ep_new(r, as);
    if (t == NULL) {
        return ngx_http_imprest_token_ep_unavailable(r, as);
    }

    t->decode = ngx_http_imprest_script_redeem_reply;

    if (ngx_http_imprest_as_key(r, imcf, NGX_HTTP_IMPREST_KEY_CODE, code.data,
                                code.len, &a.code_key)
        != NGX_OK)
    {
        return ngx_http_imprest_token_ep_unavailable(r, as);
    }

    a.at_key = t->at_key;
    a.rt_key = t->rt_key;

    if (ngx_http_imprest_as_id_key(r, imcf, NGX_HTTP_IMPREST_KEY_GRANT,
                                   t->gid, NGX_HTTP_IMPREST_UUID_LEN,
                                   &a.grant_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.prefix = imcf->redis.prefix;
    a.cid = as->client_id;

    if (ru_given) {
        a.redirect_uri = ru;

    } else {
        ngx_str_null(&a.redirect_uri);
    }

    a.ru_given = ru_given;
    a.s256.data = s256;
    a.s256.len = has_verifier ? NGX_HTTP_IMPREST_PKCE_S256_LEN : 0;
    a.now = ngx_time();
    a.at_ttl = imcf->access_ttl;
    a.rt_ttl = imcf->refresh_ttl;
    a.aud = imcf->token_audience;
    a.gid.data = t->gid;
    a.gid.len = NGX_HTTP_IMPREST_UUID_LEN;
    a.grant_lifetime = imcf->grant_lifetime;

    ngx_http_imprest_script_redeem_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_token_ep_issued);
}


static ngx_int_t
ngx_http_imprest_token_ep_refresh(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as)
{
    u_char                            *p;
    size_t                             len;
    ngx_str_t                          rt, scope;
    ngx_uint_t                         has_scope;
    ngx_http_imprest_token_ep_t       *t;
    ngx_http_imprest_main_conf_t      *imcf;
    ngx_http_imprest_script_call_t     call;
    ngx_http_imprest_refresh_args_t    a;

    imcf = as->imcf;

    if (ngx_http_imprest_as_param(as, "refresh_token", &rt) == 0) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_request", "refresh_token is required");
    }

    if (!ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_RT, rt.data,
                                      rt.len))
    {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_grant", "unknown refresh token");
    }

    has_scope = ngx_http_imprest_as_param(as, "scope", &scope);

    if (has_scope) {
        /* RFC 6749 3.3: a set; repeats are dropped before Redis sees it */
        p = ngx_pnalloc(r->pool, scope.len);
        if (p == NULL) {
            return ngx_http_imprest_token_ep_unavailable(r, as);
        }

        len = ngx_http_imprest_scope_set(p, scope.data, scope.len);

        if (len == 0) {
            /* which refusal: only worth telling apart on this path */
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                       "invalid_scope",
                       ngx_http_imprest_scope_valid(scope.data, scope.len)
                       ? "the scope is too long" : "malformed scope");
        }

        scope.data = p;
        scope.len = len;
    }

    t = ngx_http_imprest_token_ep_new(r, as);
    if (t == NULL) {
        return ngx_http_imprest_token_ep_unavailable(r, as);
    }

    t->decode = ngx_http_imprest_script_refresh_reply;

    if (ngx_http_imprest_as_key(r, imcf, NGX_HTTP_IMPREST_KEY_RT, rt.data,
                                rt.len, &a.old_key)
        != NGX_OK)
    {
        return ngx_http_imprest_token_ep_unavailable(r, as);
    }

    a.at_key = t->at_key;
    a.rt_key = t->rt_key;

    a.prefix = imcf->redis.prefix;
    a.cid = as->client_id;

    if (has_scope) {
        a.scope = scope;

    } else {
        ngx_str_null(&a.scope);
    }

    a.now = ngx_time();
    a.at_ttl = imcf->access_ttl;
    a.rt_ttl = imcf->refresh_ttl;
    a.grant_lifetime = imcf->grant_lifetime;

    ngx_http_imprest_script_refresh_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_token_ep_issued);
}


static ngx_http_imprest_token_ep_t *
ngx_http_imprest_token_ep_new(ngx_http_request_t *r, ngx_http_imprest_as_t *as)
{
    ngx_http_imprest_token_ep_t  *t;

    t = ngx_palloc(r->pool, sizeof(ngx_http_imprest_token_ep_t));
    if (t == NULL) {
        return NULL;
    }

    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_AT, t->at)
        != 0
        || ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_RT, t->rt)
           != 0
        || ngx_http_imprest_uuid_v4(t->gid) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: RAND_bytes failed");
        return NULL;
    }

    if (ngx_http_imprest_as_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_AT, t->at,
                                NGX_HTTP_IMPREST_TOKEN_LEN, &t->at_key)
        != NGX_OK
        || ngx_http_imprest_as_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_RT,
                                   t->rt, NGX_HTTP_IMPREST_TOKEN_LEN,
                                   &t->rt_key)
           != NGX_OK)
    {
        return NULL;
    }

    as->data = t;

    return t;
}


/*
 * What a refusal of the redemption or refresh script (src/lua/lib/
 * reasons.lua) means to the client (RFC 6749 5.2).  The descriptions are
 * fixed ASCII without '"' or '\\'.
 */

static const ngx_http_imprest_reason_t  ngx_http_imprest_token_ep_reasons[] = {
    { NGX_HTTP_IMPREST_REASON_UNKNOWN_CODE, "invalid_grant",
      "unknown code" },
    { NGX_HTTP_IMPREST_REASON_CODE_USED, "invalid_grant",
      "code already used" },
    { NGX_HTTP_IMPREST_REASON_CODE_OTHER_CLIENT, "invalid_grant",
      "code issued to another client" },
    { NGX_HTTP_IMPREST_REASON_CLIENT_DELETED, "invalid_grant",
      "client deleted" },
    { NGX_HTTP_IMPREST_REASON_CODE_EXPIRED, "invalid_grant",
      "code expired" },
    { NGX_HTTP_IMPREST_REASON_REDIRECT_URI_MISMATCH, "invalid_grant",
      "redirect_uri does not match the authorization request" },
    { NGX_HTTP_IMPREST_REASON_VERIFIER_MISMATCH, "invalid_grant",
      "code_verifier does not match" },
    { NGX_HTTP_IMPREST_REASON_VERIFIER_UNEXPECTED, "invalid_grant",
      "code_verifier sent for a code issued without PKCE" },
    { NGX_HTTP_IMPREST_REASON_UNKNOWN_REFRESH_TOKEN, "invalid_grant",
      "unknown refresh token" },
    { NGX_HTTP_IMPREST_REASON_REFRESH_TOKEN_USED, "invalid_grant",
      "refresh token already used" },
    { NGX_HTTP_IMPREST_REASON_REFRESH_TOKEN_OTHER_CLIENT, "invalid_grant",
      "refresh token issued to another client" },
    { NGX_HTTP_IMPREST_REASON_REFRESH_TOKEN_EXPIRED, "invalid_grant",
      "refresh token expired" },
    { NGX_HTTP_IMPREST_REASON_GRANT_EXPIRED, "invalid_grant",
      "grant expired" },
    { NGX_HTTP_IMPREST_REASON_GRANT_REVOKED, "invalid_grant",
      "grant revoked" },
    { NGX_HTTP_IMPREST_REASON_SCOPE_EXCEEDS_GRANT, "invalid_scope",
      "scope exceeds the grant" },
    { 0, NULL, NULL }
};


/* NULL: not one of the scripts' codes, so not their reply */

static const ngx_http_imprest_reason_t *
ngx_http_imprest_token_ep_reason(ngx_int_t code)
{
    const ngx_http_imprest_reason_t  *rs;

    for (rs = ngx_http_imprest_token_ep_reasons; rs->error; rs++) {
        if (rs->code == code) {
            return rs;
        }
    }

    return NULL;
}


/*
 * Both grants answer {1, ...scope...} or {0, reason}; the tokens were
 * made before the script ran and are handed out only now that it stored
 * them.
 */

static ngx_int_t
ngx_http_imprest_token_ep_issued(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    u_char                            *p;
    ngx_int_t                          rc;
    ngx_str_t                          body;
    ngx_http_imprest_token_ep_t       *t;
    ngx_http_imprest_grant_reply_t     gr;
    const ngx_http_imprest_reason_t   *reason;

    if (reply == NULL) {
        return ngx_http_imprest_token_ep_unavailable(r, as);
    }

    t = as->data;

    rc = t->decode(r, reply, &gr);

    if (rc == NGX_DECLINED) {
        ngx_http_imprest_metrics_refusal(gr.reason);
        reason = ngx_http_imprest_token_ep_reason(gr.reason);
        if (reason == NULL) {
            goto bad;
        }

        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                                         reason->error, reason->description);
    }

    /* exactly the script's success shape, or nothing is handed out */
    if (rc != NGX_OK) {
        goto bad;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: tokens issued to client \"%V\"", &as->client_id);
    ngx_http_imprest_metrics_token(as, NULL);

    /* RFC 6749 5.1, in the developer guide's order */
    body.len = sizeof("{\"access_token\":\"\",\"refresh_token\":\"\","
                      "\"token_type\":\"Bearer\",\"expires_in\":,"
                      "\"scope\":\"\"}\n") - 1
               + 2 * NGX_HTTP_IMPREST_TOKEN_LEN + NGX_TIME_T_LEN
               + gr.scope.len;

    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data,
                    "{\"access_token\":\"%*s\",\"refresh_token\":\"%*s\","
                    "\"token_type\":\"Bearer\",\"expires_in\":%T,"
                    "\"scope\":\"%V\"}\n",
                    (size_t) NGX_HTTP_IMPREST_TOKEN_LEN, t->at,
                    (size_t) NGX_HTTP_IMPREST_TOKEN_LEN, t->rt,
                    as->imcf->access_ttl, &gr.scope);
    body.len = p - body.data;

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &body);

bad:

    ngx_http_imprest_redis_reset("reply does not match the token script");

    return ngx_http_imprest_token_ep_unavailable(r, as);
}


static ngx_int_t
ngx_http_imprest_token_ep_unavailable(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as)
{
    return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
               "temporarily_unavailable",
               "the authorization service is unavailable");
}
