/*
 * Copyright (C) Imprest
 *
 * Types shared by the module's files.
 */

#ifndef _NGX_HTTP_IMPREST_MODULE_H_INCLUDED_
#define _NGX_HTTP_IMPREST_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_redis.h"
#include "ngx_http_imprest_cache.h"


/* the outcome of a check, also $imprest_status */
typedef enum {
    NGX_HTTP_IMPREST_NONE = 0,
    NGX_HTTP_IMPREST_OK,
    NGX_HTTP_IMPREST_NO_TOKEN,
    NGX_HTTP_IMPREST_INVALID_REQUEST,
    NGX_HTTP_IMPREST_INVALID_TOKEN,
    NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE,
    NGX_HTTP_IMPREST_ORG_FORBIDDEN,
    NGX_HTTP_IMPREST_REDIS_UNAVAILABLE
} ngx_http_imprest_outcome_e;


/* the authorization server's content handlers */
typedef enum {
    NGX_HTTP_IMPREST_EP_NONE = 0,
    NGX_HTTP_IMPREST_EP_ORGS,
    NGX_HTTP_IMPREST_EP_AUTHORIZE,
    NGX_HTTP_IMPREST_EP_TOKEN,
    NGX_HTTP_IMPREST_EP_REVOKE,
    NGX_HTTP_IMPREST_EP_INTROSPECT,
    NGX_HTTP_IMPREST_EP_METADATA,
    NGX_HTTP_IMPREST_EP_PORTAL,
    NGX_HTTP_IMPREST_EP_CONNECTIONS,
    NGX_HTTP_IMPREST_EP_SCOPES,
    NGX_HTTP_IMPREST_EP_REGISTER
} ngx_http_imprest_endpoint_e;


typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       description;
} ngx_http_imprest_scope_t;


typedef struct {
    ngx_http_imprest_redis_conf_t   redis;

    ngx_str_t                       issuer;
    ngx_str_t                       issuer_origin; /* RFC 6454 */
    ngx_array_t                    *scopes;      /* ngx_http_imprest_scope_t */
    ngx_str_t                       scope_names; /* space-separated */
    time_t                          code_ttl;
    time_t                          access_ttl;
    time_t                          refresh_ttl;
    time_t                          grant_lifetime;
    time_t                          consent_ttl;
    ngx_flag_t                      pkce_required;
    ngx_str_t                       token_audience;
    ngx_str_t                       metadata;    /* RFC 8414 JSON */
    ngx_http_imprest_cache_conf_t  *cache;       /* imprest_cache_zone */

    /* where the pages and registration are served (location names) */
    ngx_str_t                       portal_uri;
    ngx_str_t                       connections_uri;
    ngx_str_t                       scopes_uri;
    ngx_str_t                       register_uri;

    unsigned                        redis_set:1;
    unsigned                        used:1;
    unsigned                        gate_used:1;
    unsigned                        as_used:1;
} ngx_http_imprest_main_conf_t;


typedef struct {
    ngx_flag_t                      gate;
    ngx_http_complex_value_t       *scope;
    ngx_str_t                       realm;
    ngx_flag_t                      require_org;
    ngx_str_t                       audience;
    ngx_flag_t                      identity_headers;
    ngx_array_t                    *strip_headers;   /* ngx_str_t */
    time_t                          retry_after;
    ngx_uint_t                      endpoint;
    ngx_http_complex_value_t       *user;
    ngx_str_t                       login_url;
    ngx_uint_t                      consent_admins; /* imprest_consent_role */
    ngx_str_t                       base;   /* an endpoint's location name,
                                               without a trailing "/" */
    ngx_flag_t                      cache;
} ngx_http_imprest_loc_conf_t;


/*
 * The token check's state, part of the request context below.  It
 * survives internal redirects (see ngx_http_imprest_request()).
 */
typedef struct {
    ngx_http_imprest_outcome_e      outcome;
    const char                     *description;
    ngx_str_t                       token_key;    /* Redis key */
    ngx_str_t                       org_id;       /* canonical */
    ngx_str_t                       org_raw;      /* as the client sent */
    ngx_uint_t                      org_lines;
    ngx_str_t                       user_id;
    ngx_str_t                       client_id;
    ngx_str_t                       scope;        /* granted */
    ngx_str_t                       aud;
    ngx_str_t                       required;     /* scope hint */
    time_t                          exp;
    ngx_array_t                    *orgs;         /* ngx_keyval_t */
    unsigned                        waiting:1;
    unsigned                        looked_up:1;
    unsigned                        found:1;
    unsigned                        granted:1;
    unsigned                        member:1;
    unsigned                        unavailable:1;
    unsigned                        org_scanned:1;
    unsigned                        cache:2;      /* $imprest_cache */
} ngx_http_imprest_ctx_t;


/*
 * The one thing the module's ctx slot ever holds for a request (see
 * ngx_http_imprest_request.c): the token check of the gate and of
 * /api/v1/me/organizations, and an authorization server endpoint's state.
 * The $imprest_* variables read the check only, and only once one ran.
 */
typedef struct {
    ngx_http_imprest_ctx_t          check;
    struct ngx_http_imprest_as_s   *as;           /* or NULL */
    ngx_str_t                       csrf;         /* a page's CSRF token */
    unsigned                        checked:1;
} ngx_http_imprest_request_t;


extern ngx_module_t  ngx_http_imprest_module;


#endif /* _NGX_HTTP_IMPREST_MODULE_H_INCLUDED_ */
