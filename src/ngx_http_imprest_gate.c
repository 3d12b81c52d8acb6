/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_gate.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_cache.h"
#include "ngx_http_imprest_request.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_schema.h"
#include "ngx_http_imprest_script.h"


typedef struct {
    ngx_http_imprest_ctx_t     *ctx;
    ngx_http_event_handler_pt   done;
    u_char                      mode;
    ngx_uint_t                  cached;   /* the cache is asked first */
    ngx_http_imprest_cache_lookup_t  cache;
} ngx_http_imprest_lookup_t;


static u_char *ngx_http_imprest_quoted(u_char *p, ngx_str_t *s);
static void ngx_http_imprest_scan_org(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx);
static ngx_http_imprest_outcome_e ngx_http_imprest_read_org(
    ngx_http_request_t *r, ngx_http_imprest_ctx_t *ctx);
static void ngx_http_imprest_lookup_reply(ngx_http_request_t *r, void *data,
    redisReply *reply);
static ngx_int_t ngx_http_imprest_copy_reply(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, redisReply *reply, u_char mode);
static void ngx_http_imprest_gate_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_set_headers(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_loc_conf_t *ilcf);
static ngx_uint_t ngx_http_imprest_header_is(ngx_str_t *key,
    const char *name, size_t len, ngx_uint_t prefix);
static ngx_int_t ngx_http_imprest_push_header(ngx_http_request_t *r,
    ngx_list_t *list, const char *name, ngx_str_t *value);
static ngx_int_t ngx_http_imprest_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_imprest_outcome_names[] = {
    ngx_null_string,
    ngx_string("ok"),
    ngx_string("no_token"),
    ngx_string("invalid_request"),
    ngx_string("invalid_token"),
    ngx_string("insufficient_scope"),
    ngx_string("org_forbidden"),
    ngx_string("redis_unavailable")
};


#define NGX_HTTP_IMPREST_VAR_USER    0
#define NGX_HTTP_IMPREST_VAR_CLIENT  1
#define NGX_HTTP_IMPREST_VAR_ORG     2
#define NGX_HTTP_IMPREST_VAR_SCOPE   3
#define NGX_HTTP_IMPREST_VAR_STATUS  4


static ngx_http_variable_t  ngx_http_imprest_vars[] = {

    { ngx_string("imprest_user_id"), NULL, ngx_http_imprest_variable,
      NGX_HTTP_IMPREST_VAR_USER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("imprest_client_id"), NULL, ngx_http_imprest_variable,
      NGX_HTTP_IMPREST_VAR_CLIENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("imprest_org_id"), NULL, ngx_http_imprest_variable,
      NGX_HTTP_IMPREST_VAR_ORG, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("imprest_scope"), NULL, ngx_http_imprest_variable,
      NGX_HTTP_IMPREST_VAR_SCOPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("imprest_status"), NULL, ngx_http_imprest_variable,
      NGX_HTTP_IMPREST_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_imprest_gate_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_uint_t                     lookup;
    ngx_http_imprest_ctx_t        *ctx;
    ngx_http_imprest_loc_conf_t   *ilcf;
    ngx_http_imprest_main_conf_t  *imcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    if (!ilcf->gate) {
        return NGX_DECLINED;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);

    ctx = ngx_http_imprest_gate_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->waiting) {
        return NGX_AGAIN;
    }

    lookup = 0;

    if (ctx->token_key.len == 0) {
        ctx->outcome = ngx_http_imprest_gate_read_token(r, ctx, imcf);

        if (ctx->outcome == NGX_HTTP_IMPREST_OK && ilcf->require_org) {
            ctx->outcome = ngx_http_imprest_read_org(r, ctx);
        }

        if (ctx->outcome != NGX_HTTP_IMPREST_OK) {
            goto answer;
        }

        lookup = 1;

    } else if (ilcf->require_org && ctx->org_id.len == 0) {
        /* an internal redirect from a location that did not need one */
        ctx->outcome = ngx_http_imprest_read_org(r, ctx);
        if (ctx->outcome != NGX_HTTP_IMPREST_OK) {
            goto answer;
        }

        lookup = 1;

    } else if (!ctx->looked_up) {
        lookup = 1;
    }

    if (lookup) {
        rc = ngx_http_imprest_gate_lookup(r, ctx, imcf, 'g',
                                     ngx_http_imprest_gate_resume);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }
    }

    ctx->outcome = ngx_http_imprest_gate_decide(r, ctx, ilcf,
                                                ilcf->require_org);

    if (ctx->outcome == NGX_HTTP_IMPREST_OK) {
        ngx_http_imprest_metrics_gate(ctx->outcome);

        if (ngx_http_imprest_set_headers(r, ctx, ilcf) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_OK;
    }

answer:

    ngx_http_imprest_metrics_gate(ctx->outcome);
    rc = ngx_http_imprest_gate_answer(r, ctx, ilcf);

    /* the access phase would treat NGX_OK as "allowed": finalize here */
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_http_imprest_ctx_t *
ngx_http_imprest_gate_ctx(ngx_http_request_t *r)
{
    ngx_http_imprest_request_t  *req;

    req = ngx_http_imprest_request(r);
    if (req == NULL) {
        return NULL;
    }

    req->checked = 1;

    return &req->check;
}


ngx_http_imprest_outcome_e
ngx_http_imprest_gate_read_token(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_main_conf_t *imcf)
{
    size_t            len;
    u_char           *p, *last, *key;
    ngx_str_t         arg, *prefix;
    const u_char     *tok;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL) {
        /* RFC 6750 2.3, RFC 9700 4.3.2: URI tokens are not accepted */
        if (ngx_http_arg(r, (u_char *) "access_token", 12, &arg) == NGX_OK) {
            ctx->description = "tokens in the URI are not accepted";

        } else {
            ctx->description = "a bearer token is required";
        }

        return NGX_HTTP_IMPREST_NO_TOKEN;
    }

    /*
     * RFC 6750 2.1: credentials = "Bearer" 1*SP b64token; the scheme is
     * case-insensitive (RFC 9110 11.1).  Another scheme is "no token".
     */
    switch (ngx_http_imprest_bearer_parse(h->value.data, h->value.len,
                                          &tok, &len))
    {
    case NGX_HTTP_IMPREST_BEARER_DECLINED:
        ctx->description = "a bearer token is required";
        return NGX_HTTP_IMPREST_NO_TOKEN;

    case NGX_HTTP_IMPREST_BEARER_MALFORMED:
        ctx->description = "malformed Authorization header";
        return NGX_HTTP_IMPREST_INVALID_TOKEN;
    }

    p = (u_char *) tok;
    last = p + len;

    /* RFC 6750 2: one method only */
    if (ngx_http_arg(r, (u_char *) "access_token", 12, &arg) == NGX_OK) {
        ctx->description = "more than one method used to send the token";
        return NGX_HTTP_IMPREST_INVALID_REQUEST;
    }

    /*
     * The shape and checksum are verified before Redis is asked, so a
     * malformed or mistyped token never costs a round trip.  Our tokens'
     * alphabet is a subset of RFC 6750's b64token: this check covers it.
     */
    if (!ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_AT, p,
                                      last - p))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: malformed bearer token (%uz bytes)",
                      (size_t) (last - p));
        ctx->description = "malformed token";
        return NGX_HTTP_IMPREST_INVALID_TOKEN;
    }

    prefix = &imcf->redis.prefix;

    key = ngx_pnalloc(r->pool, prefix->len + sizeof(NGX_HTTP_IMPREST_KEY_AT)
                               - 1 + NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
    if (key == NULL) {
        ctx->description = "out of memory";
        return NGX_HTTP_IMPREST_REDIS_UNAVAILABLE;
    }

    ctx->token_key.len = ngx_http_imprest_schema_secret_key(key,
                             prefix->data, prefix->len,
                             NGX_HTTP_IMPREST_KEY_AT, p, last - p);

    if (ctx->token_key.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: SHA-256 failed");
        ctx->description = "internal error";
        return NGX_HTTP_IMPREST_REDIS_UNAVAILABLE;
    }

    ctx->token_key.data = key;

    return NGX_HTTP_IMPREST_OK;
}


/*
 * Counts the X-Organization-Id lines and keeps the last value.  After the
 * gate rewrote the headers (an internal redirect from a location that did
 * not check the organization), the client's lines are in ctx.
 */

static void
ngx_http_imprest_scan_org(ngx_http_request_t *r, ngx_http_imprest_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    if (ctx->org_scanned) {
        return;
    }

    ctx->org_scanned = 1;

    h = ngx_http_imprest_find_header(r, "X-Organization-Id",
                                     sizeof("X-Organization-Id") - 1,
                                     &ctx->org_lines);
    if (h) {
        ctx->org_raw = h->value;
    }
}


static ngx_http_imprest_outcome_e
ngx_http_imprest_read_org(ngx_http_request_t *r, ngx_http_imprest_ctx_t *ctx)
{
    u_char  *org;

    ngx_http_imprest_scan_org(r, ctx);

    if (ctx->org_lines == 0) {
        ctx->description = "the X-Organization-Id header is required";
        return NGX_HTTP_IMPREST_INVALID_REQUEST;
    }

    /* never "first wins" or "last wins" */
    if (ctx->org_lines > 1) {
        ctx->description = "X-Organization-Id must be sent once";
        return NGX_HTTP_IMPREST_INVALID_REQUEST;
    }

    org = ngx_pnalloc(r->pool, NGX_HTTP_IMPREST_UUID_LEN);
    if (org == NULL) {
        ctx->description = "out of memory";
        return NGX_HTTP_IMPREST_REDIS_UNAVAILABLE;
    }

    if (!ngx_http_imprest_uuid_canonical(ctx->org_raw.data, ctx->org_raw.len,
                                         org))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: X-Organization-Id is not a UUID");
        ctx->description = "X-Organization-Id must be a UUID";
        return NGX_HTTP_IMPREST_INVALID_REQUEST;
    }

    ctx->org_id.data = org;
    ctx->org_id.len = NGX_HTTP_IMPREST_UUID_LEN;

    return NGX_HTTP_IMPREST_OK;
}


ngx_int_t
ngx_http_imprest_gate_lookup(ngx_http_request_t *r, ngx_http_imprest_ctx_t *ctx,
    ngx_http_imprest_main_conf_t *imcf, u_char mode,
    ngx_http_event_handler_pt done)
{
    ngx_int_t                        rc;
    ngx_uint_t                       state;
    redisReply                      *rep;
    ngx_http_imprest_lookup_t       *lk;
    ngx_http_imprest_loc_conf_t     *ilcf;
    ngx_http_imprest_token_args_t    a;
    ngx_http_imprest_script_call_t   call;

    lk = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_lookup_t));
    if (lk == NULL) {
        ctx->unavailable = 1;
        ctx->looked_up = 1;
        return NGX_OK;
    }

    lk->ctx = ctx;
    lk->done = done;
    lk->mode = mode;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    /* the validation cache: the same reply, from shared memory */
    if (mode == 'g' && ilcf->cache && imcf->cache) {
        lk->cached = 1;
        lk->cache.handler = ngx_http_imprest_lookup_reply;
        lk->cache.data = lk;

        rc = ngx_http_imprest_cache_get(r, &lk->cache, &ctx->token_key,
                                        &ctx->org_id, &rep, &state);
        ctx->cache = state;

        if (rc == NGX_OK) {
            ctx->looked_up = 1;
            ctx->found = 0;
            ctx->unavailable = 0;

            if (ngx_http_imprest_copy_reply(r, ctx, rep, mode) != NGX_OK) {
                ctx->unavailable = 1;
            }

            return NGX_OK;
        }

        if (rc == NGX_AGAIN) {
            ctx->waiting = 1;
            r->read_event_handler = ngx_http_test_reading;
            return NGX_AGAIN;
        }
    }

    a.key = ctx->token_key;
    a.prefix = imcf->redis.prefix;
    a.mode = mode;
    a.org = ctx->org_id;

    ngx_http_imprest_script_token_call(&call, &a);

    if (ngx_http_imprest_redis_eval(r, call.script, call.argc, call.argv,
                                    call.len, ngx_http_imprest_lookup_reply,
                                    lk)
        != NGX_OK)
    {
        if (lk->cached) {
            ngx_http_imprest_cache_abandon(&lk->cache);
        }

        /* fail closed, at once */
        ctx->unavailable = 1;
        ctx->looked_up = 1;
        return NGX_OK;
    }

    ctx->waiting = 1;

    /*
     * No outcome until the reply: the shape checks passed, nothing more.
     * A request that ends meanwhile (client gone, stream reset) is logged
     * with an empty $imprest_status and no organization, not as "ok".
     */
    ctx->outcome = NGX_HTTP_IMPREST_NONE;

    /* notice a client that leaves while Redis is being asked */
    r->read_event_handler = ngx_http_test_reading;

    return NGX_AGAIN;
}


static void
ngx_http_imprest_lookup_reply(ngx_http_request_t *r, void *data,
    redisReply *reply)
{
    ngx_int_t                   found;
    ngx_connection_t           *c;
    ngx_http_imprest_ctx_t     *ctx;
    ngx_http_imprest_lookup_t  *lk = data;

    ctx = lk->ctx;
    c = r->connection;

    ctx->waiting = 0;

    if (lk->cached && lk->cache.retry) {
        /* the miss this request waited on was abandoned: ask again */
        r->read_event_handler = ngx_http_block_reading;
        lk->done(r);
        ngx_http_run_posted_requests(c);
        return;
    }

    ctx->looked_up = 1;
    ctx->found = 0;
    ctx->unavailable = 0;
    found = NGX_ERROR;

    if (reply == NULL) {
        ctx->unavailable = 1;

    } else if (ngx_http_imprest_copy_reply(r, ctx, reply, lk->mode)
               != NGX_OK)
    {
        ctx->unavailable = 1;

    } else {
        found = ctx->found ? NGX_OK : NGX_DECLINED;
    }

    if (lk->cached) {
        ngx_http_imprest_cache_store(&lk->cache, reply, found,
                                     &ctx->user_id, &ctx->client_id);
    }

    r->read_event_handler = ngx_http_block_reading;

    lk->done(r);

    ngx_http_run_posted_requests(c);
}


/*
 * The reply must have exactly the script's shape; anything else (a
 * garbage reply, a nil where the script never returns one) means this
 * connection is not talking to our script, and it is dropped.
 */

static ngx_int_t
ngx_http_imprest_copy_reply(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, redisReply *reply, u_char mode)
{
    ngx_int_t                        rc;
    ngx_http_imprest_token_reply_t   tr;

    rc = ngx_http_imprest_script_token_reply(r, reply, mode, &tr);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the token script");
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->user_id = tr.uid;
    ctx->client_id = tr.cid;
    ctx->scope = tr.scope;
    ctx->aud = tr.aud;
    ctx->exp = ngx_atotm(tr.exp.data, tr.exp.len);

    if (mode == 'g') {
        ctx->granted = tr.granted;
        ctx->member = tr.member;

    } else {
        ctx->orgs = tr.orgs;
    }

    ctx->found = 1;

    return NGX_OK;
}


static void
ngx_http_imprest_gate_resume(ngx_http_request_t *r)
{
    /* back to the access phase, which finds the answer in ctx */
    if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


ngx_http_imprest_outcome_e
ngx_http_imprest_gate_decide(ngx_http_request_t *r, ngx_http_imprest_ctx_t *ctx,
    ngx_http_imprest_loc_conf_t *ilcf, ngx_uint_t check_org)
{
    size_t         n;
    ngx_str_t      required;
    const u_char  *p, *last, *start;

    if (ctx->unavailable) {
        ctx->description = "the authorization service is unavailable";
        return NGX_HTTP_IMPREST_REDIS_UNAVAILABLE;
    }

    if (!ctx->found) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: unknown, expired or revoked token");
        ctx->description = "unknown, expired or revoked token";
        return NGX_HTTP_IMPREST_INVALID_TOKEN;
    }

    if (ctx->exp == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: token record of user \"%V\" has no valid "
                      "\"exp\"", &ctx->user_id);
        ctx->description = "unknown, expired or revoked token";
        return NGX_HTTP_IMPREST_INVALID_TOKEN;
    }

    /* RFC 6819 5.1.5.3: the record's own expiry, not only the Redis TTL */
    if (ctx->exp <= ngx_time()) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: expired token of user \"%V\"",
                      &ctx->user_id);
        ctx->description = "unknown, expired or revoked token";
        return NGX_HTTP_IMPREST_INVALID_TOKEN;
    }

    /* RFC 9700 2.3: a token for another resource is not valid here */
    if (ilcf->audience.len
        && (ctx->aud.len != ilcf->audience.len
            || ngx_strncmp(ctx->aud.data, ilcf->audience.data,
                           ctx->aud.len) != 0))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: token audience \"%V\" is not \"%V\"",
                      &ctx->aud, &ilcf->audience);
        ctx->description = "the token is not valid for this resource";
        return NGX_HTTP_IMPREST_INVALID_TOKEN;
    }

    /*
     * One answer whether the organization does not exist, is not granted
     * to this token, or no longer has this user: no enumeration.
     */
    if (check_org && !(ctx->granted && ctx->member)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: organization %V refused for user \"%V\" "
                      "(granted:%d member:%d)", &ctx->org_id, &ctx->user_id,
                      ctx->granted, ctx->member);
        ctx->description = "the token may not act on this organization";
        return NGX_HTTP_IMPREST_ORG_FORBIDDEN;
    }

    if (ilcf->scope == NULL) {
        return NGX_HTTP_IMPREST_OK;
    }

    if (ngx_http_complex_value(r, ilcf->scope, &required) != NGX_OK) {
        ctx->description = "internal error";
        return NGX_HTTP_IMPREST_REDIS_UNAVAILABLE;
    }

    /* RFC 6749 3.3: every required token, exact and case-sensitive */
    p = required.data;
    last = p + required.len;

    while ((n = ngx_http_imprest_list_next(&p, last, &start)) != 0)
    {
        if (!ngx_http_imprest_scope_has(ctx->scope.data, ctx->scope.len,
                                        start, n))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "imprest: token of user \"%V\" lacks scope "
                          "\"%*s\"", &ctx->user_id, n, start);

            ctx->required = required;
            ctx->description = "the token lacks a required scope";
            return NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE;
        }
    }

    return NGX_HTTP_IMPREST_OK;
}


/*
 * What reaches the upstream: the client's credentials and any copy of
 * the identity headers it sent are removed (also "_" spellings, which a
 * CGI-style upstream folds into the same name), then the gate's own are
 * added.  RFC 9700 4.13.
 */

static ngx_int_t
ngx_http_imprest_set_headers(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_loc_conf_t *ilcf)
{
    ngx_uint_t        i, j, drop;
    ngx_str_t        *strip;
    ngx_list_t        old, *list;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *nh;

    /*
     * Rebuilt in every gated location the request passes through: after
     * an internal redirect this location's strip list applies too, and
     * the gate's own headers of the previous pass are replaced.  The
     * organization the client sent is kept in ctx for a later location.
     */
    ngx_http_imprest_scan_org(r, ctx);

    /* rebuilt rather than edited in place: ngx_list_t cannot delete */
    old = r->headers_in.headers;
    list = &r->headers_in.headers;

    if (ngx_list_init(list, r->pool, 20, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    part = &old.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        drop = ngx_http_imprest_header_is(&h[i].key, "authorization", 13, 0)
               || ngx_http_imprest_header_is(&h[i].key, "x-organization-id",
                                             17, 0)
               || ngx_http_imprest_header_is(&h[i].key, "x-imprest-", 10, 1);

        if (!drop && ilcf->strip_headers) {
            strip = ilcf->strip_headers->elts;

            for (j = 0; j < ilcf->strip_headers->nelts; j++) {
                if (ngx_http_imprest_header_is(&h[i].key,
                                               (char *) strip[j].data,
                                               strip[j].len, 0))
                {
                    drop = 1;
                    break;
                }
            }
        }

        if (drop) {
            continue;
        }

        nh = ngx_list_push(list);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        *nh = h[i];
    }

    r->headers_in.authorization = NULL;

    if (ctx->org_id.len
        && ngx_http_imprest_push_header(r, list, "X-Organization-Id",
                                        &ctx->org_id) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ilcf->identity_headers) {
        if (ngx_http_imprest_push_header(r, list, "X-Imprest-User-Id",
                                         &ctx->user_id) != NGX_OK
            || ngx_http_imprest_push_header(r, list, "X-Imprest-Client-Id",
                                            &ctx->client_id) != NGX_OK
            || ngx_http_imprest_push_header(r, list, "X-Imprest-Scope",
                                            &ctx->scope) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ctx->org_id.len
            && ngx_http_imprest_push_header(r, list, "X-Imprest-Org-Id",
                                            &ctx->org_id) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* case-insensitive, with "_" matching "-"; prefix: starts with name */

static ngx_uint_t
ngx_http_imprest_header_is(ngx_str_t *key, const char *name, size_t len,
    ngx_uint_t prefix)
{
    u_char      c;
    ngx_uint_t  i;

    if (prefix ? key->len < len : key->len != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = ngx_tolower(key->data[i]);

        if (c == '_') {
            c = '-';
        }

        if (c != (u_char) ngx_tolower(name[i])) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_imprest_push_header(ngx_http_request_t *r, ngx_list_t *list,
    const char *name, ngx_str_t *value)
{
    size_t            len;
    ngx_table_elt_t  *h;

    h = ngx_list_push(list);
    if (h == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(name);

    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value = *value;

    h->lowcase_key = ngx_pnalloc(r->pool, len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_gate_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_imprest_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* quoted-string content: '"' and '\\' escaped, controls replaced */

static u_char *
ngx_http_imprest_quoted(u_char *p, ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '"' || s->data[i] == '\\') {
            *p++ = '\\';
            *p++ = s->data[i];

        } else if (s->data[i] < 0x20 || s->data[i] == 0x7f) {
            *p++ = '?';

        } else {
            *p++ = s->data[i];
        }
    }

    return p;
}


ngx_int_t
ngx_http_imprest_gate_answer(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_loc_conf_t *ilcf)
{
    u_char           *p;
    size_t            len, dlen;
    ngx_str_t         body, error, desc;
    ngx_uint_t        status;
    ngx_table_elt_t  *h;

    desc.data = (u_char *) (ctx->description ? ctx->description : "");
    desc.len = ngx_strlen(desc.data);

    switch (ctx->outcome) {

    case NGX_HTTP_IMPREST_NO_TOKEN:
        status = NGX_HTTP_UNAUTHORIZED;
        ngx_str_set(&error, "invalid_request");
        break;

    case NGX_HTTP_IMPREST_INVALID_REQUEST:
        status = NGX_HTTP_BAD_REQUEST;
        ngx_str_set(&error, "invalid_request");
        break;

    case NGX_HTTP_IMPREST_INVALID_TOKEN:
        status = NGX_HTTP_UNAUTHORIZED;
        ngx_str_set(&error, "invalid_token");
        break;

    case NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE:
        status = NGX_HTTP_FORBIDDEN;
        ngx_str_set(&error, "insufficient_scope");
        break;

    case NGX_HTTP_IMPREST_ORG_FORBIDDEN:
        status = NGX_HTTP_FORBIDDEN;
        ngx_str_set(&error, "access_denied");
        break;

    default: /* NGX_HTTP_IMPREST_REDIS_UNAVAILABLE */
        status = NGX_HTTP_SERVICE_UNAVAILABLE;
        ngx_str_set(&error, "temporarily_unavailable");
        break;
    }

    /*
     * RFC 6750 3: a request without credentials gets the challenge with
     * no error code; the others name theirs.  Organization refusals are
     * not a token problem, so they carry no challenge.
     */
    if (status == NGX_HTTP_UNAUTHORIZED || status == NGX_HTTP_BAD_REQUEST
        || ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE)
    {
        len = sizeof("Bearer realm=\"\"") - 1 + ilcf->realm.len;

        if (ctx->outcome != NGX_HTTP_IMPREST_NO_TOKEN) {
            len += sizeof(", error=\"\", error_description=\"\"") - 1
                   + error.len + desc.len;
        }

        if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
            len += sizeof(", scope=\"\"") - 1 + 2 * ctx->required.len;
        }

        h = ngx_http_imprest_add_header(r, "WWW-Authenticate", NULL);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = p;

        /*
         * realm and descriptions hold no '"' or '\\'; the required scope may
         * come from a variable, so it is escaped (RFC 9110 5.6.4)
         */
        p = ngx_sprintf(p, "Bearer realm=\"%V\"", &ilcf->realm);

        if (ctx->outcome != NGX_HTTP_IMPREST_NO_TOKEN) {
            p = ngx_sprintf(p, ", error=\"%V\", error_description=\"%V\"",
                            &error, &desc);
        }

        if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
            p = ngx_cpymem(p, ", scope=\"", sizeof(", scope=\"") - 1);
            p = ngx_http_imprest_quoted(p, &ctx->required);
            *p++ = '"';
        }

        h->value.len = p - h->value.data;
        r->headers_out.www_authenticate = h;
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_http_imprest_retry_after(r, ilcf->retry_after) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dlen = ngx_http_imprest_json_escape(NULL, desc.data, desc.len);

    len = sizeof("{\"error\":\"\",\"error_description\":\"\"}\n") - 1
          + error.len + dlen;

    if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
        len += sizeof(",\"scope\":\"\"") - 1
               + ngx_http_imprest_json_escape(NULL, ctx->required.data,
                                              ctx->required.len);
    }

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data, "{\"error\":\"%V\",\"error_description\":\"",
                    &error);
    p += ngx_http_imprest_json_escape(p, desc.data, desc.len);
    *p++ = '"';

    if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
        p = ngx_cpymem(p, ",\"scope\":\"", sizeof(",\"scope\":\"") - 1);
        p += ngx_http_imprest_json_escape(p, ctx->required.data,
                                          ctx->required.len);
        *p++ = '"';
    }

    *p++ = '}';
    *p++ = '\n';
    body.len = p - body.data;

    return ngx_http_imprest_send_json(r, status, &body);
}


static ngx_int_t
ngx_http_imprest_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                   *s;
    ngx_http_imprest_ctx_t      *ctx;
    ngx_http_imprest_request_t  *req;

    req = ngx_http_imprest_request_get(r);

    /* empty wherever no token check ran: endpoints, other locations */
    if (req == NULL || !req->checked) {
        v->not_found = 1;
        return NGX_OK;
    }

    ctx = &req->check;

    /*
     * Identity is published once the token itself was found valid (so a
     * 403 is logged with who was refused); the organization only when it
     * was accepted.
     */
    if (data != NGX_HTTP_IMPREST_VAR_STATUS
        && ctx->outcome != NGX_HTTP_IMPREST_OK
        && (data == NGX_HTTP_IMPREST_VAR_ORG
            || (ctx->outcome != NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE
                && ctx->outcome != NGX_HTTP_IMPREST_ORG_FORBIDDEN)))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_IMPREST_VAR_USER:
        s = &ctx->user_id;
        break;

    case NGX_HTTP_IMPREST_VAR_CLIENT:
        s = &ctx->client_id;
        break;

    case NGX_HTTP_IMPREST_VAR_ORG:
        s = &ctx->org_id;
        break;

    case NGX_HTTP_IMPREST_VAR_SCOPE:
        s = &ctx->scope;
        break;

    default: /* NGX_HTTP_IMPREST_VAR_STATUS */
        s = &ngx_http_imprest_outcome_names[ctx->outcome];
        break;
    }

    /* an empty value may have no data pointer: nothing for a log to copy */
    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
