/*
 * Copyright (C) Imprest
 *
 * The "imprest_redis" directive's parameters: the address (resolved once,
 * here) and the key=value options, into the Redis client's conf.
 */

#ifndef _NGX_HTTP_IMPREST_CONF_REDIS_H_INCLUDED_
#define _NGX_HTTP_IMPREST_CONF_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_redis.h"


char *ngx_http_imprest_redis_parse(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_str_t *value, ngx_uint_t n);

/* ngx_http_imprest_sentinel.c: "sentinel:NAME ADDR..." and its options */
ngx_int_t ngx_http_imprest_sentinel_parse(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_str_t *value, ngx_uint_t n);
ngx_int_t ngx_http_imprest_sentinel_param(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_str_t *value);
char *ngx_http_imprest_sentinel_check(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf);


#endif /* _NGX_HTTP_IMPREST_CONF_REDIS_H_INCLUDED_ */
