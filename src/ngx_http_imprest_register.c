/*
 * Copyright (C) Imprest
 *
 * PLACEHOLDER while the register handler is written on its branch: answers 404
 * so that nothing half-built is served.  Replaced before issue 9 closes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_endpoints.h"


ngx_int_t
ngx_http_imprest_register_handler(ngx_http_request_t *r)
{
    return NGX_HTTP_NOT_FOUND;
}
