/*
 * Copyright (C) Imprest
 *
 * GET /api/v1/me/organizations: the organizations a token may act on.
 */

#ifndef _NGX_HTTP_IMPREST_ORGS_H_INCLUDED_
#define _NGX_HTTP_IMPREST_ORGS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_imprest_orgs_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_IMPREST_ORGS_H_INCLUDED_ */
