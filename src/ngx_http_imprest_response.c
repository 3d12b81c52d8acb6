/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_response.h"


size_t
ngx_http_imprest_json_escape(u_char *dst, u_char *src, size_t len)
{
    u_char  *p, *last;
    size_t   n;

    static u_char  hex[] = "0123456789abcdef";

    n = 0;
    last = src + len;

    for (p = src; p < last; p++) {

        if (*p == '"' || *p == '\\') {
            if (dst) {
                *dst++ = '\\';
                *dst++ = *p;
            }
            n += 2;

        } else if (*p < 0x20 || *p == 0x7f) {
            if (dst) {
                dst = ngx_cpymem(dst, "\\u00", 4);
                *dst++ = hex[*p >> 4];
                *dst++ = hex[*p & 0xf];
            }
            n += 6;

        } else {
            if (dst) {
                *dst++ = *p;
            }
            n++;
        }
    }

    return n;
}


ngx_int_t
ngx_http_imprest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /* RFC 6749 5.1, RFC 6750 3: credentials answers are never cached */
    if (ngx_http_imprest_add_header(r, "Cache-Control", "no-store") == NULL
        || ngx_http_imprest_add_header(r, "Pragma", "no-cache") == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD || body->len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, body->len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, body->data, body->len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_imprest_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    return ngx_http_imprest_send(r, status, "application/json", body);
}


ngx_table_elt_t *
ngx_http_imprest_find_header(ngx_http_request_t *r, const char *name,
    size_t len, ngx_uint_t *n)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    *n = 0;
    found = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            (*n)++;
            found = &h[i];
        }
    }

    return found;
}


ngx_int_t
ngx_http_imprest_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_int_t  rc;
    ngx_str_t  body;

    /* a body we will not read must not be taken for the next request */
    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_add_header(r, "Allow", allow) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&body, "{\"error\":\"invalid_request\","
                       "\"error_description\":\"method not allowed\"}\n");

    return ngx_http_imprest_send_json(r, NGX_HTTP_NOT_ALLOWED, &body);
}


ngx_table_elt_t *
ngx_http_imprest_add_header(ngx_http_request_t *r, const char *name,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);

    if (value) {
        h->value.data = (u_char *) value;
        h->value.len = ngx_strlen(value);

    } else {
        ngx_str_null(&h->value);
    }

    return h;
}


ngx_int_t
ngx_http_imprest_retry_after(ngx_http_request_t *r, time_t seconds)
{
    ngx_table_elt_t  *h;

    h = ngx_http_imprest_add_header(r, "Retry-After", NULL);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "%T", seconds) - h->value.data;

    return NGX_OK;
}
