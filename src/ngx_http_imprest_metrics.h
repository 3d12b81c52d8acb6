/*
 * Copyright (C) Imprest
 *
 * Prometheus metrics: counters in one shared memory zone, summed over the
 * workers by construction (every worker adds to the same words with
 * ngx_atomic_fetch_add, no lock), served by "imprest_metrics;" in the
 * text exposition format 0.0.4.  Without that directive there is no zone
 * and every hook below returns at once.
 */

#ifndef _NGX_HTTP_IMPREST_METRICS_H_INCLUDED_
#define _NGX_HTTP_IMPREST_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* plain counters, for ngx_http_imprest_metrics_add() */
typedef enum {
    NGX_HTTP_IMPREST_M_REVOKED = 0,        /* a live token ended (RFC 7009) */
    NGX_HTTP_IMPREST_M_INTROSPECT_ACTIVE,
    NGX_HTTP_IMPREST_M_INTROSPECT_INACTIVE,
    NGX_HTTP_IMPREST_M_CONSENT_APPROVED,   /* a code issued */
    NGX_HTTP_IMPREST_M_CONSENT_DENIED,
    NGX_HTTP_IMPREST_M_REDIS_CMD_TIMEOUT,
    NGX_HTTP_IMPREST_M_REDIS_CONNECT_TIMEOUT,
    NGX_HTTP_IMPREST_M_REDIS_RECONNECT,    /* attempts after the first */
    NGX_HTTP_IMPREST_M_N
} ngx_http_imprest_metric_e;


/*
 * The token cache's events (the cache calls ngx_http_imprest_metrics_cache):
 * a lookup answered from the cache, one that went to Redis, one that the
 * cache was not allowed to answer, and an entry dropped by invalidation.
 */
typedef enum {
    NGX_HTTP_IMPREST_METRICS_CACHE_HIT = 0,
    NGX_HTTP_IMPREST_METRICS_CACHE_MISS,
    NGX_HTTP_IMPREST_METRICS_CACHE_BYPASS,
    NGX_HTTP_IMPREST_METRICS_CACHE_INVALIDATION,
    NGX_HTTP_IMPREST_METRICS_CACHE_N
} ngx_http_imprest_metrics_cache_e;


struct ngx_http_imprest_as_s;


/* "imprest_metrics;" and its zone */
char *ngx_http_imprest_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_imprest_metrics_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_imprest_metrics_init_worker(ngx_cycle_t *cycle);

/* the hooks: each one branch when metrics are off, one atomic add when on */
void ngx_http_imprest_metrics_add(ngx_http_imprest_metric_e m, ngx_uint_t n);
void ngx_http_imprest_metrics_gate(ngx_uint_t outcome);
void ngx_http_imprest_metrics_cache(ngx_http_imprest_metrics_cache_e kind);

/*
 * A token endpoint answer: error NULL for issued tokens, else the RFC 6749
 * 5.2 error code sent; the grant type is read from as's parameters.  Any
 * other endpoint's as is ignored.
 */
void ngx_http_imprest_metrics_token(struct ngx_http_imprest_as_s *as,
    const char *error);

/* a refusal of the redemption or refresh script: counts reuse detections */
void ngx_http_imprest_metrics_refusal(ngx_int_t reason);

/* Redis: a command's start (0 when metrics are off), its reply, the link */
uint64_t ngx_http_imprest_metrics_redis_start(void);
void ngx_http_imprest_metrics_redis_reply(uint64_t start);
void ngx_http_imprest_metrics_redis_state(ngx_uint_t connected);


#endif /* _NGX_HTTP_IMPREST_METRICS_H_INCLUDED_ */
