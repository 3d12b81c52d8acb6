/*
 * Copyright (C) Imprest
 *
 * POST /oauth/revoke: RFC 7009 token revocation.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


static ngx_int_t ngx_http_imprest_revoke_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_revoke_auth(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);
static ngx_int_t ngx_http_imprest_revoke_done(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_revoke_ok(ngx_http_request_t *r);


ngx_int_t
ngx_http_imprest_revoke_handler(ngx_http_request_t *r)
{
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_imprest_not_allowed(r, "POST");
    }

    return ngx_http_imprest_as_read_body(r, ngx_http_imprest_revoke_body);
}


static ngx_int_t
ngx_http_imprest_revoke_body(ngx_http_request_t *r)
{
    return ngx_http_imprest_as_token_request(r, ngx_http_imprest_revoke_auth);
}


static ngx_int_t
ngx_http_imprest_revoke_auth(ngx_http_request_t *r, ngx_http_imprest_as_t *as)
{
    ngx_int_t                        rc;
    ngx_str_t                        key;
    const char                      *type;
    ngx_http_imprest_revoke_args_t   a;
    ngx_http_imprest_script_call_t   call;

    switch (ngx_http_imprest_as_token_key(r, as, &type, &key, &rc)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        /* RFC 7009 2.2: an invalid token is answered 200 */
        return ngx_http_imprest_revoke_ok(r);

    default:
        return rc;
    }

    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    a.cid = as->client_id;
    a.type = type;

    ngx_http_imprest_script_revoke_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_revoke_done);
}


static ngx_int_t
ngx_http_imprest_revoke_done(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    redisReply *reply)
{
    ngx_int_t  rc;

    /* RFC 7009 2.2.1: the token may still be valid, so say so with 503 */
    if (reply == NULL) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "temporarily_unavailable",
                   "the authorization service is unavailable");
    }

    rc = ngx_http_imprest_script_revoke_reply(reply);

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the revoke script");

        return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "temporarily_unavailable",
                   "the authorization service is unavailable");
    }

    ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_REVOKED, rc == NGX_OK);
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: revocation by client \"%V\": %s", &as->client_id,
                  (rc == NGX_OK) ? "revoked" : "nothing to do");

    return ngx_http_imprest_revoke_ok(r);
}


static ngx_int_t
ngx_http_imprest_revoke_ok(ngx_http_request_t *r)
{
    ngx_str_t  body;

    /* RFC 7009 2.2: 200 whether or not there was anything to revoke */
    ngx_str_set(&body, "{}\n");

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &body);
}
