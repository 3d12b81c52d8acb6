/*
 * Copyright (C) Imprest
 *
 * The page writer: HTML built into a buffer that grows to what is
 * written, so no page is sized from a guess.  Text is escaped on the way
 * in (ngx_http_imprest_html_escape); markup is our own literals.  A
 * failed allocation is remembered and reported once, by _done.
 */

#ifndef _NGX_HTTP_IMPREST_HTML_H_INCLUDED_
#define _NGX_HTTP_IMPREST_HTML_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_pool_t  *pool;
    u_char      *data;
    size_t       len;
    size_t       size;
    unsigned     failed:1;
} ngx_http_imprest_html_t;


void ngx_http_imprest_html_init(ngx_http_imprest_html_t *h, ngx_pool_t *pool,
    size_t size);
void ngx_http_imprest_html_raw(ngx_http_imprest_html_t *h, const void *s,
    size_t len);
void ngx_http_imprest_html_text(ngx_http_imprest_html_t *h, ngx_str_t *s);

/* the page written so far; NGX_ERROR when an allocation failed */
ngx_int_t ngx_http_imprest_html_done(ngx_http_imprest_html_t *h,
    ngx_str_t *page);

#define ngx_http_imprest_html_lit(h, s)                                       \
    ngx_http_imprest_html_raw(h, s, sizeof(s) - 1)


#endif /* _NGX_HTTP_IMPREST_HTML_H_INCLUDED_ */
