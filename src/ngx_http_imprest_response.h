/*
 * Copyright (C) Imprest
 *
 * Response helpers: sending a body (never cached), JSON, headers, 405.
 */

#ifndef _NGX_HTTP_IMPREST_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_IMPREST_RESPONSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"


/* sends status and body, never cached; returns what to finalize with */
ngx_int_t ngx_http_imprest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_str_t *body);

/* sends status and body (application/json, no-store); returns for finalize */
ngx_int_t ngx_http_imprest_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);

/* the last request header called name (any case), and how many there are */
ngx_table_elt_t *ngx_http_imprest_find_header(ngx_http_request_t *r,
    const char *name, size_t len, ngx_uint_t *n);

/* a response header; value NULL leaves it for the caller to set */
ngx_table_elt_t *ngx_http_imprest_add_header(ngx_http_request_t *r,
    const char *name, const char *value);

ngx_int_t ngx_http_imprest_retry_after(ngx_http_request_t *r,
    time_t seconds);

/* 405 with Allow, JSON body */
ngx_int_t ngx_http_imprest_not_allowed(ngx_http_request_t *r,
    const char *allow);

/* JSON string escaping: returns the escaped length, writes when dst */
size_t ngx_http_imprest_json_escape(u_char *dst, u_char *src, size_t len);


#endif /* _NGX_HTTP_IMPREST_RESPONSE_H_INCLUDED_ */
