/*
 * Copyright (C) Imprest
 *
 * The Redis scripts (src/lua/): their C descriptions, the EVALSHA names
 * and the function library the workers load.  Each validation is one
 * Redis round trip.
 */

#ifndef _NGX_HTTP_IMPREST_SCRIPT_H_INCLUDED_
#define _NGX_HTTP_IMPREST_SCRIPT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_imprest_redis.h"


/* reply layout of the token script: see ngx_http_imprest_script.c */
#define NGX_HTTP_IMPREST_TOK_FOUND   0
#define NGX_HTTP_IMPREST_TOK_UID     1
#define NGX_HTTP_IMPREST_TOK_CID     2
#define NGX_HTTP_IMPREST_TOK_SCOPE   3
#define NGX_HTTP_IMPREST_TOK_EXP     4
#define NGX_HTTP_IMPREST_TOK_AUD     5
#define NGX_HTTP_IMPREST_TOK_NFIELDS 6
#define NGX_HTTP_IMPREST_TOK_GRANTED 6
#define NGX_HTTP_IMPREST_TOK_MEMBER  7


extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_token;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_client;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_put;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_take;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_redeem;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_refresh;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_revoke;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_introspect;


/* adds s to the scripts the workers load (EVALSHA name and function) */
ngx_int_t ngx_http_imprest_script_add(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_http_imprest_redis_script_t *s);

/* builds the Redis function library of every added script */
ngx_int_t ngx_http_imprest_script_library(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf);


#endif /* _NGX_HTTP_IMPREST_SCRIPT_H_INCLUDED_ */
