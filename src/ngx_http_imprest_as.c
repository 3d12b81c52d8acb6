/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_request.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


typedef struct {
    ngx_http_imprest_as_t         *as;
    ngx_int_t                    (*handler)(ngx_http_request_t *r);
} ngx_http_imprest_as_body_t;


static void ngx_http_imprest_as_reply(ngx_http_request_t *r, void *data,
    redisReply *reply);
static void ngx_http_imprest_as_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_as_client_checked(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);


ngx_http_imprest_as_t *
ngx_http_imprest_as_create(ngx_http_request_t *r)
{
    ngx_http_imprest_as_t       *as;
    ngx_http_imprest_request_t  *req;

    req = ngx_http_imprest_request(r);
    if (req == NULL) {
        return NULL;
    }

    if (req->as) {
        return req->as;
    }

    as = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_as_t));
    if (as == NULL) {
        return NULL;
    }

    as->imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);
    as->ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    req->as = as;

    return as;
}


ngx_http_imprest_as_t *
ngx_http_imprest_as_get(ngx_http_request_t *r)
{
    ngx_http_imprest_request_t  *req;

    req = ngx_http_imprest_request_get(r);

    return req ? req->as : NULL;
}


ngx_int_t
ngx_http_imprest_as_eval(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_http_imprest_script_call_t *c, ngx_http_imprest_as_step_pt step)
{
    as->step = step;

    if (ngx_http_imprest_redis_eval(r, c->script, c->argc, c->argv, c->len,
                                    ngx_http_imprest_as_reply, as)
        != NGX_OK)
    {
        /* fail closed, at once: the step answers 503 */
        return step(r, as, NULL);
    }

    /* notice a client that leaves while Redis is being asked */
    r->read_event_handler = ngx_http_test_reading;

    return NGX_AGAIN;
}


static void
ngx_http_imprest_as_reply(ngx_http_request_t *r, void *data,
    redisReply *reply)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_http_imprest_as_t  *as = data;

    c = r->connection;

    r->read_event_handler = ngx_http_block_reading;

    rc = as->step(r, as, reply);

    if (rc != NGX_AGAIN) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_imprest_as_read_body(ngx_http_request_t *r,
    ngx_int_t (*handler)(ngx_http_request_t *r))
{
    ngx_int_t                    rc;
    ngx_http_imprest_as_t       *as;
    ngx_http_imprest_as_body_t  *b;

    as = ngx_http_imprest_as_create(r);
    if (as == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_palloc(r->pool, sizeof(ngx_http_imprest_as_body_t));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->as = as;
    b->handler = handler;
    as->data = b;

    /* a body that does not fit in memory is refused, never read from disk */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_imprest_as_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_imprest_as_body_read(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_imprest_as_t       *as;
    ngx_http_imprest_as_body_t  *b;

    as = ngx_http_imprest_as_get(r);
    b = as->data;
    as->data = NULL;

    rc = b->handler(r);

    if (rc != NGX_AGAIN) {
        ngx_http_finalize_request(r, rc);
    }
}


ngx_int_t
ngx_http_imprest_as_parse_body(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_int_t *rc)
{
    u_char       *body, *p, *scratch;
    size_t        len;
    ngx_str_t    *ct;
    ngx_chain_t  *cl;

    /* RFC 6749 3.2: application/x-www-form-urlencoded */
    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;

    if (ct == NULL
        || ct->len < sizeof("application/x-www-form-urlencoded") - 1
        || ngx_strncasecmp(ct->data,
                           (u_char *) "application/x-www-form-urlencoded",
                           sizeof("application/x-www-form-urlencoded") - 1)
           != 0
        || (ct->len > sizeof("application/x-www-form-urlencoded") - 1
            && ct->data[sizeof("application/x-www-form-urlencoded") - 1]
               != ';'
            && ct->data[sizeof("application/x-www-form-urlencoded") - 1]
               != ' '))
    {
        *rc = ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                  "invalid_request",
                  "the body must be application/x-www-form-urlencoded");
        return NGX_DECLINED;
    }

    if (r->request_body == NULL || r->request_body->temp_file) {
        *rc = ngx_http_imprest_as_error(r, as,
                  NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "invalid_request",
                  "the request body is too large");
        return NGX_DECLINED;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            *rc = ngx_http_imprest_as_error(r, as,
                      NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "invalid_request",
                      "the request body is too large");
            return NGX_DECLINED;
        }

        len += cl->buf->last - cl->buf->pos;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    scratch = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL || scratch == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        /* a chunked body ends with an empty, data-less buffer */
        if (cl->buf->last > cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    if (ngx_http_imprest_form_parse(body, len, scratch, as->params,
                                    NGX_HTTP_IMPREST_AS_MAX_PARAMS,
                                    &as->nparams)
        != NGX_HTTP_IMPREST_FORM_OK)
    {
        *rc = ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                  "invalid_request", "malformed form body");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The body of a revocation or introspection request: a form with one
 * "token" and at most one "token_type_hint" (RFC 7009 2.1, RFC 7662 2.1),
 * from an authenticated client.
 */

ngx_int_t
ngx_http_imprest_as_token_request(ngx_http_request_t *r,
    ngx_http_imprest_as_next_pt next)
{
    ngx_int_t               rc;
    ngx_str_t               v;
    ngx_http_imprest_as_t  *as;

    as = ngx_http_imprest_as_get(r);

    if (ngx_http_imprest_as_parse_body(r, as, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_as_param(as, "token", &v) == 2
        || ngx_http_imprest_as_param(as, "token_type_hint", &v) == 2)
    {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_request", "a parameter is repeated");
    }

    return ngx_http_imprest_as_authenticate(r, as, next);
}


/*
 * The "token" of a revocation or introspection request.  Its prefix says
 * what it is, so token_type_hint (RFC 7009 2.1, RFC 7662 2.1: a hint the
 * server MAY ignore) is not needed.  Returns NGX_OK with *type ("at" or
 * "rt") and the record's key; NGX_DECLINED when it is none of our access
 * or refresh tokens (answered as an unknown token, without Redis); else
 * NGX_ERROR with the answer in *rc.
 */

ngx_int_t
ngx_http_imprest_as_token_key(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, const char **type, ngx_str_t *key,
    ngx_int_t *rc)
{
    ngx_str_t  token;

    if (ngx_http_imprest_as_param(as, "token", &token) == 0) {
        *rc = ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                  "invalid_request", "token is required");
        return NGX_ERROR;
    }

    if (ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_AT, token.data,
                                     token.len))
    {
        *type = "at";

    } else if (ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_RT,
                                            token.data, token.len))
    {
        *type = "rt";

    } else {
        return NGX_DECLINED;
    }

    if (ngx_http_imprest_as_key(r, as->imcf,
                                (*type)[0] == 'a' ? NGX_HTTP_IMPREST_KEY_AT
                                                  : NGX_HTTP_IMPREST_KEY_RT,
                                token.data, token.len, key)
        != NGX_OK)
    {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_imprest_as_param(ngx_http_imprest_as_t *as, const char *name,
    ngx_str_t *value)
{
    int             rc;
    size_t          len;
    const u_char   *v;

    rc = ngx_http_imprest_form_get(as->params, as->nparams, name,
                                   NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                   &v, &len);

    if (rc == 1) {
        value->data = (u_char *) v;
        value->len = len;

    } else {
        ngx_str_null(value);
    }

    return (ngx_uint_t) rc;
}


ngx_int_t
ngx_http_imprest_as_error(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_uint_t status, const char *error, const char *description)
{
    u_char           *p;
    size_t            len;
    ngx_str_t         body;
    ngx_table_elt_t  *h;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: %s: %s", error, description);
    ngx_http_imprest_metrics_token(as, error);

    /* RFC 6749 5.2: Basic authentication failures get the challenge */
    if (status == NGX_HTTP_UNAUTHORIZED) {
        h = ngx_http_imprest_add_header(r, "WWW-Authenticate",
                                        "Basic realm=\"imprest\"");
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.www_authenticate = h;
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_http_imprest_retry_after(r, as->ilcf->retry_after) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* descriptions are fixed ASCII without '"' or '\\' (RFC 6749 5.2) */
    len = sizeof("{\"error\":\"\",\"error_description\":\"\"}\n") - 1
          + ngx_strlen(error) + ngx_strlen(description);

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data,
                    "{\"error\":\"%s\",\"error_description\":\"%s\"}\n",
                    error, description);
    body.len = p - body.data;

    return ngx_http_imprest_send_json(r, status, &body);
}


ngx_int_t
ngx_http_imprest_as_key(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf, const char *kind, u_char *secret,
    size_t len, ngx_str_t *key)
{
    key->data = ngx_pnalloc(r->pool, imcf->redis.prefix.len
                                     + ngx_strlen(kind)
                                     + NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_http_imprest_schema_secret_key(key->data,
                                                  imcf->redis.prefix.data,
                                                  imcf->redis.prefix.len,
                                                  kind, secret, len);
    if (key->len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: SHA-256 failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_as_id_key(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf, const char *kind, u_char *id,
    size_t len, ngx_str_t *key)
{
    key->len = ngx_http_imprest_schema_key(NULL, imcf->redis.prefix.data,
                                           imcf->redis.prefix.len, kind, id,
                                           len);
    key->data = ngx_pnalloc(r->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_http_imprest_schema_key(key->data, imcf->redis.prefix.data,
                                       imcf->redis.prefix.len, kind, id,
                                       len);

    return NGX_OK;
}


/*
 * Returns NGX_OK (found), NGX_DECLINED (no such client), NGX_ERROR (the
 * reply is not the script's: the connection is reset; or no memory).
 */

ngx_int_t
ngx_http_imprest_as_client_reply(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                         rc;
    ngx_http_imprest_client_reply_t   cr;

    rc = ngx_http_imprest_script_client_reply(r, reply, &cr);

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the client script");
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_DECLINED : NGX_ERROR;
    }

    as->client_name = cr.name;
    as->client_secret = cr.secret;
    as->redirect_uris = cr.redirect_uris;
    as->client_scope = cr.scope;
    as->introspect = cr.introspect;
    as->orgs = cr.orgs;

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_as_authenticate(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_as_next_pt next)
{
    int                              rc;
    u_char                          *id, *secret;
    size_t                           id_len, secret_len;
    ngx_str_t                        arg, body_id, body_secret, key;
    ngx_uint_t                       nid, nsecret;
    ngx_table_elt_t                 *h;
    ngx_http_imprest_client_args_t   a;
    ngx_http_imprest_script_call_t   call;

    as->authenticated = next;

    /* RFC 6749 2.3.1: never in the request URI */
    if (ngx_http_arg(r, (u_char *) "client_secret", 13, &arg) == NGX_OK) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_request",
                   "client_secret must not be sent in the URI");
    }

    nid = ngx_http_imprest_as_param(as, "client_id", &body_id);
    nsecret = ngx_http_imprest_as_param(as, "client_secret", &body_secret);

    if (nid == 2 || nsecret == 2) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                   "invalid_request", "a parameter is repeated");
    }

    h = r->headers_in.authorization;

    if (h) {
        id = ngx_pnalloc(r->pool, h->value.len + 1);
        secret = ngx_pnalloc(r->pool, h->value.len + 1);
        if (id == NULL || secret == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_imprest_basic_decode(h->value.data, h->value.len,
                                           id, &id_len, secret, &secret_len);

        if (rc == NGX_HTTP_IMPREST_BASIC_DECLINED) {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                       "invalid_client",
                       "client authentication must use Basic");
        }

        as->basic = 1;

        if (rc != 0) {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                       "invalid_client", "malformed Basic credentials");
        }

        /* RFC 6749 2.3: one authentication method only */
        if (nsecret) {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                       "invalid_request",
                       "more than one client authentication method");
        }

        if (nid && (body_id.len != id_len
                    || ngx_strncmp(body_id.data, id, id_len) != 0))
        {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_BAD_REQUEST,
                       "invalid_request",
                       "client_id differs from the Basic credentials");
        }

        as->client_id.data = id;
        as->client_id.len = id_len;
        as->secret.data = secret;
        as->secret.len = secret_len;
        as->secret_given = 1;

    } else {
        if (nid == 0) {
            return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                       "invalid_client", "client authentication required");
        }

        as->client_id = body_id;

        if (nsecret) {
            as->secret = body_secret;
            as->secret_given = 1;
        }
    }

    if (!ngx_http_imprest_id_valid(as->client_id.data, as->client_id.len)) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                   "invalid_client", "unknown client or wrong secret");
    }

    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   as->client_id.data, as->client_id.len,
                                   &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* no uid: the client's organizations are not wanted here */
    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    ngx_str_null(&a.uid);

    ngx_http_imprest_script_client_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_as_client_checked);
}


static ngx_int_t
ngx_http_imprest_as_client_checked(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t  rc;
    u_char     digest[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];

    if (reply == NULL) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "temporarily_unavailable",
                   "the authorization service is unavailable");
    }

    rc = ngx_http_imprest_as_client_reply(r, as, reply);

    if (rc == NGX_ERROR) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "temporarily_unavailable",
                   "the authorization service is unavailable");
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                   "invalid_client", "unknown client or wrong secret");
    }

    if (as->client_secret.len) {
        /* a confidential client: its secret, compared in constant time */
        if (!as->secret_given
            || as->client_secret.len != NGX_HTTP_IMPREST_DIGEST_HEX_LEN
            || ngx_http_imprest_digest_hex(as->secret.data, as->secret.len,
                                           digest) != 0
            || !ngx_http_imprest_const_eq(digest, as->client_secret.data,
                                          NGX_HTTP_IMPREST_DIGEST_HEX_LEN))
        {
            if (as->secret.len) {
                ngx_explicit_memzero(as->secret.data, as->secret.len);
            }

            return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                       "invalid_client", "unknown client or wrong secret");
        }

        /* the presented secret is not kept in memory longer than needed */
        ngx_explicit_memzero(as->secret.data, as->secret.len);

    } else if (as->secret_given) {
        /* a public client has no secret to present */
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_UNAUTHORIZED,
                   "invalid_client", "unknown client or wrong secret");
    }

    return as->authenticated(r, as);
}
