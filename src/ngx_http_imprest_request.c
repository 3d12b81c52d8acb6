/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_request.h"


static void ngx_http_imprest_request_marker(void *data);


static void
ngx_http_imprest_request_marker(void *data)
{
    /* identifies the context among the pool cleanups; nothing to release */
}


ngx_http_imprest_request_t *
ngx_http_imprest_request_get(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r, ngx_http_imprest_module);
}


ngx_http_imprest_request_t *
ngx_http_imprest_request(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_imprest_request_t  *req;

    req = ngx_http_get_module_ctx(r, ngx_http_imprest_module);
    if (req) {
        return req;
    }

    /*
     * Internal redirects clear r->ctx but keep the pool: the token check
     * survives them, so a try_files or error_page jump into another gated
     * location re-applies that location's rules to the same looked-up
     * record instead of seeing the already stripped header.  An
     * endpoint's state belongs to the location that ran it.
     */
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_imprest_request_marker) {
            req = cln->data;
            if (req->check.waiting) {
                continue;
            }

            req->as = NULL;

            ngx_http_set_ctx(r, req, ngx_http_imprest_module);
            return req;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_imprest_request_t));
    if (cln == NULL) {
        return NULL;
    }

    req = cln->data;
    ngx_memzero(req, sizeof(ngx_http_imprest_request_t));
    cln->handler = ngx_http_imprest_request_marker;

    ngx_http_set_ctx(r, req, ngx_http_imprest_module);

    return req;
}
