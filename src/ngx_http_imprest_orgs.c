/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_gate.h"
#include "ngx_http_imprest_orgs.h"
#include "ngx_http_imprest_response.h"


static void ngx_http_imprest_orgs_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_orgs_respond(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx);


ngx_int_t
ngx_http_imprest_orgs_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_imprest_ctx_t        *ctx;
    ngx_http_imprest_loc_conf_t   *ilcf;
    ngx_http_imprest_main_conf_t  *imcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD");
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);
    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    ctx = ngx_http_imprest_gate_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->token_key.len == 0) {
        ctx->outcome = ngx_http_imprest_gate_read_token(r, ctx, imcf);

        if (ctx->outcome != NGX_HTTP_IMPREST_OK) {
            return ngx_http_imprest_gate_answer(r, ctx, ilcf);
        }
    }

    rc = ngx_http_imprest_gate_lookup(r, ctx, imcf, 'o',
                                 ngx_http_imprest_orgs_done);

    if (rc == NGX_AGAIN) {
        r->main->count++;
        return NGX_DONE;
    }

    return ngx_http_imprest_orgs_respond(r, ctx);
}


static void
ngx_http_imprest_orgs_done(ngx_http_request_t *r)
{
    ngx_http_imprest_ctx_t  *ctx;

    ctx = ngx_http_imprest_gate_ctx(r);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_imprest_orgs_respond(r, ctx));
}


static ngx_int_t
ngx_http_imprest_orgs_respond(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx)
{
    u_char                       *p;
    size_t                        len;
    ngx_str_t                     body;
    ngx_uint_t                    i;
    ngx_keyval_t                 *kv;
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    ctx->outcome = ngx_http_imprest_gate_decide(r, ctx, ilcf, 0);

    if (ctx->outcome != NGX_HTTP_IMPREST_OK) {
        return ngx_http_imprest_gate_answer(r, ctx, ilcf);
    }

    len = sizeof("{\"organizations\":[]}\n") - 1;
    kv = ctx->orgs ? ctx->orgs->elts : NULL;

    for (i = 0; kv && i < ctx->orgs->nelts; i++) {
        len += sizeof("{\"id\":\"\",\"name\":\"\"},") - 1
               + ngx_http_imprest_json_escape(NULL, kv[i].key.data,
                                              kv[i].key.len)
               + ngx_http_imprest_json_escape(NULL, kv[i].value.data,
                                              kv[i].value.len);
    }

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body.data, "{\"organizations\":[",
                   sizeof("{\"organizations\":[") - 1);

    for (i = 0; kv && i < ctx->orgs->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
        p += ngx_http_imprest_json_escape(p, kv[i].key.data, kv[i].key.len);
        p = ngx_cpymem(p, "\",\"name\":\"", sizeof("\",\"name\":\"") - 1);
        p += ngx_http_imprest_json_escape(p, kv[i].value.data,
                                          kv[i].value.len);
        p = ngx_cpymem(p, "\"}", 2);
    }

    p = ngx_cpymem(p, "]}\n", 3);
    body.len = p - body.data;

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &body);
}
