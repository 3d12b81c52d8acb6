/*
 * Copyright (C) Imprest
 *
 * The authorization server's content handlers, one file each:
 * ngx_http_imprest_authorize.c, _token.c, _revoke.c, _introspect.c,
 * _metadata.c; the pages and registration below.
 */

#ifndef _NGX_HTTP_IMPREST_ENDPOINTS_H_INCLUDED_
#define _NGX_HTTP_IMPREST_ENDPOINTS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"


ngx_int_t ngx_http_imprest_authorize_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_token_ep_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_revoke_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_introspect_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_metadata_handler(ngx_http_request_t *r);

/* the pages: _portal.c, _connections.c, _scopes.c; RFC 7591: _register.c */
ngx_int_t ngx_http_imprest_portal_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_connections_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_scopes_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_imprest_register_handler(ngx_http_request_t *r);

/* RFC 7591/7592 bodies: read in memory, so the location buffers this much */
#define NGX_HTTP_IMPREST_REGISTER_MAX_BODY  65536

/* RFC 8414: the document, built once at configuration time */
ngx_int_t ngx_http_imprest_metadata_build(ngx_conf_t *cf,
    ngx_http_imprest_main_conf_t *imcf);


#endif /* _NGX_HTTP_IMPREST_ENDPOINTS_H_INCLUDED_ */
