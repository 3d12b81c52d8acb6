/*
 * Copyright (C) Imprest
 *
 * Plumbing shared by the authorization server's endpoints: the request
 * state, chains of Redis steps, form bodies, client authentication
 * (RFC 6749 2.3) and RFC 6749 5.2 error answers.
 */

#ifndef _NGX_HTTP_IMPREST_AS_H_INCLUDED_
#define _NGX_HTTP_IMPREST_AS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_oauth.h"
#include "ngx_http_imprest_redis.h"
#include "ngx_http_imprest_schema.h"
#include "ngx_http_imprest_script.h"


#define NGX_HTTP_IMPREST_AS_MAX_PARAMS  100


typedef struct ngx_http_imprest_as_s  ngx_http_imprest_as_t;

/*
 * A step consumes one Redis reply (NULL: Redis could not answer) and
 * returns NGX_AGAIN after queueing the next step, or the value to finalize
 * the request with.
 */
typedef ngx_int_t (*ngx_http_imprest_as_step_pt)(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);

typedef ngx_int_t (*ngx_http_imprest_as_next_pt)(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as);


struct ngx_http_imprest_as_s {
    ngx_http_imprest_main_conf_t   *imcf;
    ngx_http_imprest_loc_conf_t    *ilcf;
    ngx_http_imprest_as_step_pt     step;

    ngx_http_imprest_param_t        params[NGX_HTTP_IMPREST_AS_MAX_PARAMS];
    size_t                          nparams;

    /* client authentication (RFC 6749 2.3.1) */
    ngx_str_t                       client_id;
    ngx_str_t                       secret;          /* as presented */
    ngx_http_imprest_as_next_pt     authenticated;   /* next step */
    unsigned                        basic:1;
    unsigned                        secret_given:1;

    /* the client's record */
    ngx_str_t                       client_name;
    ngx_str_t                       client_secret;   /* digest, or "" */
    ngx_str_t                       redirect_uris;
    ngx_str_t                       client_scope;
    ngx_str_t                       introspect;
    ngx_array_t                    *orgs;   /* ngx_http_imprest_org_t */

    void                           *data;            /* the endpoint's */
};


ngx_http_imprest_as_t *ngx_http_imprest_as_create(ngx_http_request_t *r);

/* the endpoint state of this location, once created; or NULL */
ngx_http_imprest_as_t *ngx_http_imprest_as_get(ngx_http_request_t *r);

/* queues a script call (ngx_http_imprest_script_NAME_call()), then step */
ngx_int_t ngx_http_imprest_as_eval(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_as_step_pt step);

/* POST handlers: reads the body, then runs handler(r) */
ngx_int_t ngx_http_imprest_as_read_body(ngx_http_request_t *r,
    ngx_int_t (*handler)(ngx_http_request_t *r));

/* parses the form body into as->params; NGX_DECLINED: answered already */
ngx_int_t ngx_http_imprest_as_parse_body(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_int_t *rc);

/* a revocation or introspection body, then client authentication */
ngx_int_t ngx_http_imprest_as_token_request(ngx_http_request_t *r,
    ngx_http_imprest_as_next_pt next);

/* the "token" parameter: its type and record key (see the .c file) */
ngx_int_t ngx_http_imprest_as_token_key(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, const char **type, ngx_str_t *key,
    ngx_int_t *rc);

/* 0 absent, 1 once, 2 repeated (RFC 6749 3.1, 3.2) */
ngx_uint_t ngx_http_imprest_as_param(ngx_http_imprest_as_t *as,
    const char *name, ngx_str_t *value);

/* RFC 6749 5.2 JSON error, Cache-Control: no-store */
ngx_int_t ngx_http_imprest_as_error(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_uint_t status, const char *error,
    const char *description);

/*
 * RFC 6749 2.3.1: reads the client's credentials (Basic or the body),
 * looks the client up and checks its secret, then runs next.  Failures
 * answer invalid_client / invalid_request themselves.
 */
ngx_int_t ngx_http_imprest_as_authenticate(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_as_next_pt next);

/*
 * Redis keys (ngx_http_imprest_schema.h), in r->pool: the record of a
 * secret, "{prefix}{kind}{sha256hex(secret)}", and of an identifier,
 * "{prefix}{kind}{id}"; kind is one of NGX_HTTP_IMPREST_KEY_*.
 */
ngx_int_t ngx_http_imprest_as_key(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf, const char *kind, u_char *secret,
    size_t len, ngx_str_t *key);
ngx_int_t ngx_http_imprest_as_id_key(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf, const char *kind, u_char *id,
    size_t len, ngx_str_t *key);

/* copies the client fields of a "client" script reply into as */
ngx_int_t ngx_http_imprest_as_client_reply(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);


#endif /* _NGX_HTTP_IMPREST_AS_H_INCLUDED_ */
