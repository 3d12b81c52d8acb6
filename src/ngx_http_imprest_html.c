/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_imprest_html.h"
#include "ngx_http_imprest_oauth.h"


static u_char *ngx_http_imprest_html_reserve(ngx_http_imprest_html_t *h,
    size_t n);


void
ngx_http_imprest_html_init(ngx_http_imprest_html_t *h, ngx_pool_t *pool,
    size_t size)
{
    h->pool = pool;
    h->len = 0;
    h->failed = 0;
    h->size = size;
    h->data = ngx_pnalloc(pool, size);

    if (h->data == NULL) {
        h->size = 0;
        h->failed = 1;
    }
}


/* room for n more bytes: the buffer at least doubles when it grows */

static u_char *
ngx_http_imprest_html_reserve(ngx_http_imprest_html_t *h, size_t n)
{
    u_char  *data;
    size_t   size;

    if (h->failed) {
        return NULL;
    }

    if (n <= h->size - h->len) {
        return h->data + h->len;
    }

    if (n > NGX_MAX_SIZE_T_VALUE / 2 - h->len) {
        h->failed = 1;
        return NULL;
    }

    size = ngx_max(2 * h->size, h->len + n);

    data = ngx_pnalloc(h->pool, size);
    if (data == NULL) {
        h->failed = 1;
        return NULL;
    }

    ngx_memcpy(data, h->data, h->len);

    if (h->size) {
        ngx_pfree(h->pool, h->data);
    }

    h->data = data;
    h->size = size;

    return h->data + h->len;
}


void
ngx_http_imprest_html_raw(ngx_http_imprest_html_t *h, const void *s,
    size_t len)
{
    u_char  *p;

    p = ngx_http_imprest_html_reserve(h, len);

    if (p) {
        ngx_memcpy(p, s, len);
        h->len += len;
    }
}


void
ngx_http_imprest_html_text(ngx_http_imprest_html_t *h, ngx_str_t *s)
{
    u_char  *p;
    size_t   len;

    len = ngx_http_imprest_html_escape(NULL, s->data, s->len);

    p = ngx_http_imprest_html_reserve(h, len);

    if (p) {
        h->len += ngx_http_imprest_html_escape(p, s->data, s->len);
    }
}


ngx_int_t
ngx_http_imprest_html_done(ngx_http_imprest_html_t *h, ngx_str_t *page)
{
    if (h->failed) {
        return NGX_ERROR;
    }

    page->data = h->data;
    page->len = h->len;

    return NGX_OK;
}
