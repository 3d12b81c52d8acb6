/*
 * Copyright (C) Imprest
 *
 * POST /oauth/introspect: RFC 7662 token introspection, for clients
 * registered as allowed to introspect (resource servers).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


static ngx_int_t ngx_http_imprest_introspect_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_introspect_auth(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);
static ngx_int_t ngx_http_imprest_introspect_done(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_introspect_inactive(ngx_http_request_t *r);


ngx_int_t
ngx_http_imprest_introspect_handler(ngx_http_request_t *r)
{
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_imprest_not_allowed(r, "POST");
    }

    return ngx_http_imprest_as_read_body(r,
                                         ngx_http_imprest_introspect_body);
}


static ngx_int_t
ngx_http_imprest_introspect_body(ngx_http_request_t *r)
{
    return ngx_http_imprest_as_token_request(r,
                                             ngx_http_imprest_introspect_auth);
}


static ngx_int_t
ngx_http_imprest_introspect_auth(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as)
{
    ngx_int_t                            rc;
    ngx_str_t                            key;
    const char                          *type;
    ngx_http_imprest_script_call_t       call;
    ngx_http_imprest_introspect_args_t   a;

    if (as->introspect.len != 1 || as->introspect.data[0] != '1'
        || as->client_secret.len == 0)
    {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_FORBIDDEN,
                   "unauthorized_client",
                   "this client may not introspect tokens");
    }

    switch (ngx_http_imprest_as_token_key(r, as, &type, &key, &rc)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_imprest_introspect_inactive(r);

    default:
        return rc;
    }

    as->data = (void *) type;

    a.key = key;
    a.prefix = as->imcf->redis.prefix;

    ngx_http_imprest_script_introspect_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_introspect_done);
}


static ngx_int_t
ngx_http_imprest_introspect_done(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    char                                 *s;
    size_t                                n;
    time_t                                iat, exp;
    const u_char                         *p, *tok;
    json_t                               *j, *orgs;
    ngx_int_t                             rc;
    ngx_str_t                             body;
    ngx_http_imprest_introspect_reply_t   f;

    if (reply == NULL) {
        return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "temporarily_unavailable",
                   "the authorization service is unavailable");
    }

    rc = ngx_http_imprest_script_introspect_reply(r, reply, &f);

    if (rc == NGX_DECLINED) {
        return ngx_http_imprest_introspect_inactive(r);
    }

    if (rc != NGX_OK) {
        goto bad;
    }

    iat = ngx_atotm(f.iat.data, f.iat.len);
    exp = ngx_atotm(f.exp.data, f.exp.len);

    if (exp == NGX_ERROR || exp <= ngx_time()) {
        return ngx_http_imprest_introspect_inactive(r);
    }

    /* RFC 7662 2.2 */
    j = json_object();
    orgs = json_array();
    if (j == NULL || orgs == NULL) {
        json_decref(j);
        json_decref(orgs);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json_object_set_new(j, "active", json_true());
    json_object_set_new(j, "scope", json_stringn((char *) f.scope.data,
                                                 f.scope.len));
    json_object_set_new(j, "client_id", json_stringn((char *) f.cid.data,
                                                     f.cid.len));
    json_object_set_new(j, "sub", json_stringn((char *) f.uid.data,
                                               f.uid.len));
    json_object_set_new(j, "exp", json_integer(exp));
    json_object_set_new(j, "iat", json_integer(iat == NGX_ERROR ? 0 : iat));
    json_object_set_new(j, "token_type",
                        json_string(ngx_strcmp(as->data, "at") == 0
                                    ? "Bearer" : "refresh_token"));
    json_object_set_new(j, "iss",
                        json_stringn((char *) as->imcf->issuer.data,
                                     as->imcf->issuer.len));

    if (f.aud.len) {
        json_object_set_new(j, "aud", json_stringn((char *) f.aud.data,
                                                   f.aud.len));
    }

    p = f.orgs.data;

    while ((n = ngx_http_imprest_list_next(&p, f.orgs.data + f.orgs.len,
                                           &tok))
           != 0)
    {
        json_array_append_new(orgs, json_stringn((char *) tok, n));
    }

    json_object_set_new(j, "organizations", orgs);

    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);

    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = ngx_strlen(s);
    body.data = ngx_pnalloc(r->pool, body.len + 1);
    if (body.data == NULL) {
        free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body.data, s, body.len);
    body.data[body.len++] = '\n';
    free(s);
    ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_INTROSPECT_ACTIVE, 1);

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &body);

bad:

    ngx_http_imprest_redis_reset("reply does not match the introspect script");

    return ngx_http_imprest_as_error(r, as, NGX_HTTP_SERVICE_UNAVAILABLE,
               "temporarily_unavailable",
               "the authorization service is unavailable");
}


static ngx_int_t
ngx_http_imprest_introspect_inactive(ngx_http_request_t *r)
{
    ngx_str_t  body;

    /* RFC 7662 2.2: nothing more, so nothing is disclosed */
    ngx_str_set(&body, "{\"active\":false}\n");
    ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_INTROSPECT_INACTIVE, 1);

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &body);
}
