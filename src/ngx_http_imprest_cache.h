/*
 * Copyright (C) Imprest
 *
 * The validation cache: what the gate's token lookup returned, in one
 * shared-memory zone for all workers, kept exactly as long as Redis's own
 * invalidation messages (client-side caching, CLIENT TRACKING ... BCAST,
 * redirected to a subscribed connection of each worker) say it is
 * current.  See ngx_http_imprest_cache.c for the rules.
 */

#ifndef _NGX_HTTP_IMPREST_CACHE_H_INCLUDED_
#define _NGX_HTTP_IMPREST_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_redis.h"


/*
 * The zone's counters, for the operations metrics (issue 9): read them
 * with ngx_http_imprest_cache_counters(); each is only ever incremented,
 * atomically, by any worker.
 */
typedef struct {
    ngx_atomic_t                    hits;         /* answered from the zone */
    ngx_atomic_t                    misses;       /* asked Redis, may store */
    ngx_atomic_t                    bypasses;     /* asked Redis: unsafe */
    ngx_atomic_t                    coalesced;    /* waited on another miss */
    ngx_atomic_t                    invalidations; /* keys Redis named */
    ngx_atomic_t                    flushes;      /* one worker's, or all */
    ngx_atomic_t                    evictions;    /* LRU, to make room */
    ngx_atomic_t                    stores;       /* entries written */
} ngx_http_imprest_cache_counters_t;


typedef struct {
    ngx_shm_zone_t                 *zone;
    ngx_msec_t                      max_age;
    ngx_msec_t                      negative;
    ngx_msec_t                      confirm;
    ngx_uint_t                      negative_max;
    void                           *sh;          /* in the zone */
    ngx_slab_pool_t                *shpool;
} ngx_http_imprest_cache_conf_t;


/* $imprest_cache */
#define NGX_HTTP_IMPREST_CACHE_NONE    0
#define NGX_HTTP_IMPREST_CACHE_HIT     1
#define NGX_HTTP_IMPREST_CACHE_MISS    2
#define NGX_HTTP_IMPREST_CACHE_BYPASS  3


typedef struct ngx_http_imprest_cache_flight_s  ngx_http_imprest_cache_flight_t;

/*
 * One cache-aware lookup, in the gate's lookup state (r->pool).  A miss
 * either leads a flight (it sends the command) or follows one (it waits
 * for the leader's reply, which its handler then gets too).
 */
typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_imprest_redis_handler_pt   handler;
    void                               *data;
    ngx_http_imprest_cache_flight_t    *flight;
    ngx_queue_t                         queue;      /* a follower's link */
    ngx_pool_cleanup_t                 *cln;
    uint64_t                            seq;        /* invalidations seen */
    ngx_uint_t                          gen;
    uint32_t                            hash;
    size_t                              keylen;
    u_char                              key[1 + 64 + 36];
    unsigned                            store:1;
    unsigned                            leader:1;
    unsigned                            follower:1;
    unsigned                            retry:1;    /* leader gone: ask again */
} ngx_http_imprest_cache_lookup_t;


char *ngx_http_imprest_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_imprest_cache_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_imprest_cache_init_worker(ngx_cycle_t *cycle,
    ngx_http_imprest_cache_conf_t *ccf, ngx_http_imprest_redis_conf_t *rcf);
void ngx_http_imprest_cache_exit_worker(void);

/*
 * Before the gate asks Redis: NGX_OK, a hit (*rep is the stored reply,
 * rebuilt in r->pool); NGX_AGAIN, another request of this worker is
 * asking Redis the same question and lk->handler will get its reply (or
 * be called with lk->retry set); NGX_DECLINED, ask Redis, then pass the
 * reply to ngx_http_imprest_cache_store().  *state is what
 * $imprest_cache says.
 */
ngx_int_t ngx_http_imprest_cache_get(ngx_http_request_t *r,
    ngx_http_imprest_cache_lookup_t *lk, ngx_str_t *token_key,
    ngx_str_t *org, redisReply **rep, ngx_uint_t *state);

/*
 * The reply of a lookup that got NGX_DECLINED (NULL: no answer).  found:
 * NGX_OK (a record, of user uid and client cid), NGX_DECLINED (none: a
 * negative entry), anything else: not stored.  Followers get the reply
 * before this returns.
 */
void ngx_http_imprest_cache_store(ngx_http_imprest_cache_lookup_t *lk,
    redisReply *reply, ngx_int_t found, ngx_str_t *uid, ngx_str_t *cid);

/* the lookup failed before anything was sent: followers ask again */
void ngx_http_imprest_cache_abandon(ngx_http_imprest_cache_lookup_t *lk);

ngx_http_imprest_cache_counters_t *ngx_http_imprest_cache_counters(void);


#endif /* _NGX_HTTP_IMPREST_CACHE_H_INCLUDED_ */
