/*
 * Copyright (C) Imprest
 *
 * The request context: one type in the module's ctx slot, whatever the
 * location does (gate, organizations, authorization server endpoint).
 */

#ifndef _NGX_HTTP_IMPREST_REQUEST_H_INCLUDED_
#define _NGX_HTTP_IMPREST_REQUEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"


/* finds or creates the request's context; NULL: out of memory */
ngx_http_imprest_request_t *ngx_http_imprest_request(ngx_http_request_t *r);

/* the context if one exists, without creating it */
ngx_http_imprest_request_t *ngx_http_imprest_request_get(
    ngx_http_request_t *r);


#endif /* _NGX_HTTP_IMPREST_REQUEST_H_INCLUDED_ */
