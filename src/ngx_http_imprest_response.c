/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_response.h"


static u_char *ngx_http_imprest_quoted(u_char *p, ngx_str_t *s);


/* quoted-string content: '"' and '\\' escaped, controls replaced */

static u_char *
ngx_http_imprest_quoted(u_char *p, ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '"' || s->data[i] == '\\') {
            *p++ = '\\';
            *p++ = s->data[i];

        } else if (s->data[i] < 0x20 || s->data[i] == 0x7f) {
            *p++ = '?';

        } else {
            *p++ = s->data[i];
        }
    }

    return p;
}


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


ngx_int_t
ngx_http_imprest_send_outcome(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_loc_conf_t *ilcf)
{
    u_char           *p;
    size_t            len, dlen;
    ngx_str_t         body, error, desc;
    ngx_uint_t        status;
    ngx_table_elt_t  *h;

    desc.data = (u_char *) (ctx->description ? ctx->description : "");
    desc.len = ngx_strlen(desc.data);

    switch (ctx->outcome) {

    case NGX_HTTP_IMPREST_NO_TOKEN:
        status = NGX_HTTP_UNAUTHORIZED;
        ngx_str_set(&error, "invalid_request");
        break;

    case NGX_HTTP_IMPREST_INVALID_REQUEST:
        status = NGX_HTTP_BAD_REQUEST;
        ngx_str_set(&error, "invalid_request");
        break;

    case NGX_HTTP_IMPREST_INVALID_TOKEN:
        status = NGX_HTTP_UNAUTHORIZED;
        ngx_str_set(&error, "invalid_token");
        break;

    case NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE:
        status = NGX_HTTP_FORBIDDEN;
        ngx_str_set(&error, "insufficient_scope");
        break;

    case NGX_HTTP_IMPREST_ORG_FORBIDDEN:
        status = NGX_HTTP_FORBIDDEN;
        ngx_str_set(&error, "access_denied");
        break;

    default: /* NGX_HTTP_IMPREST_REDIS_UNAVAILABLE */
        status = NGX_HTTP_SERVICE_UNAVAILABLE;
        ngx_str_set(&error, "temporarily_unavailable");
        break;
    }

    /*
     * RFC 6750 3: a request without credentials gets the challenge with
     * no error code; the others name theirs.  Organization refusals are
     * not a token problem, so they carry no challenge.
     */
    if (status == NGX_HTTP_UNAUTHORIZED || status == NGX_HTTP_BAD_REQUEST
        || ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE)
    {
        len = sizeof("Bearer realm=\"\"") - 1 + ilcf->realm.len;

        if (ctx->outcome != NGX_HTTP_IMPREST_NO_TOKEN) {
            len += sizeof(", error=\"\", error_description=\"\"") - 1
                   + error.len + desc.len;
        }

        if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
            len += sizeof(", scope=\"\"") - 1 + 2 * ctx->required.len;
        }

        h = ngx_http_imprest_add_header(r, "WWW-Authenticate", NULL);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = p;

        /*
         * realm and descriptions hold no '"' or '\\'; the required scope may
         * come from a variable, so it is escaped (RFC 9110 5.6.4)
         */
        p = ngx_sprintf(p, "Bearer realm=\"%V\"", &ilcf->realm);

        if (ctx->outcome != NGX_HTTP_IMPREST_NO_TOKEN) {
            p = ngx_sprintf(p, ", error=\"%V\", error_description=\"%V\"",
                            &error, &desc);
        }

        if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
            p = ngx_cpymem(p, ", scope=\"", sizeof(", scope=\"") - 1);
            p = ngx_http_imprest_quoted(p, &ctx->required);
            *p++ = '"';
        }

        h->value.len = p - h->value.data;
        r->headers_out.www_authenticate = h;
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_http_imprest_retry_after(r, ilcf->retry_after) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dlen = ngx_http_imprest_json_escape(NULL, desc.data, desc.len);

    len = sizeof("{\"error\":\"\",\"error_description\":\"\"}\n") - 1
          + error.len + dlen;

    if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
        len += sizeof(",\"scope\":\"\"") - 1
               + ngx_http_imprest_json_escape(NULL, ctx->required.data,
                                              ctx->required.len);
    }

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data, "{\"error\":\"%V\",\"error_description\":\"",
                    &error);
    p += ngx_http_imprest_json_escape(p, desc.data, desc.len);
    *p++ = '"';

    if (ctx->outcome == NGX_HTTP_IMPREST_INSUFFICIENT_SCOPE) {
        p = ngx_cpymem(p, ",\"scope\":\"", sizeof(",\"scope\":\"") - 1);
        p += ngx_http_imprest_json_escape(p, ctx->required.data,
                                          ctx->required.len);
        *p++ = '"';
    }

    *p++ = '}';
    *p++ = '\n';
    body.len = p - body.data;

    return ngx_http_imprest_send_json(r, status, &body);
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
    ngx_str_t  body;

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
