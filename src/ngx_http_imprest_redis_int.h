/*
 * Copyright (C) Imprest
 *
 * Internal to the Redis client: the per-worker link and its commands,
 * shared by the connection and command queue (ngx_http_imprest_redis.c)
 * and the reply hooks (ngx_http_imprest_redis_reply.c).
 */

#ifndef _NGX_HTTP_IMPREST_REDIS_INT_H_INCLUDED_
#define _NGX_HTTP_IMPREST_REDIS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_redis.h"


typedef struct {
    ngx_http_imprest_redis_conf_t  *conf;
    redisAsyncContext              *ac;
    ngx_connection_t               *conn;
    ngx_event_t                     retry;
    ngx_event_t                     connect_timer;
    ngx_event_t                     flush;
    ngx_msec_t                      backoff;
    ngx_log_t                      *log;
    ngx_uint_t                      pending;
    ngx_uint_t                      inflight;  /* written, unanswered */
    ngx_uint_t                      handshake;
    void                           *free_cmds;
    ngx_uint_t                      nfree;
    ngx_uint_t                      sent;      /* commands on this link */
    ngx_uint_t                      parsed;    /* top-level replies */
    ngx_uint_t                      generation; /* connections so far */
    size_t                          reply_size;
    ngx_array_t                    *deferred;  /* of ..._deferred_t */
    redisReply                     *retained;
    void                           *sentinel;  /* sentinel.c's state */
    unsigned                        in_read:1;
    unsigned                        flushing:1;
    unsigned                        held:1;
    unsigned                        unsolicited:1;
    unsigned                        ready:1;
    unsigned                        functions:1;
    unsigned                        exiting:1;
    unsigned                        oversized:1;  /* the reply in parse */
} ngx_http_imprest_redis_peer_t;


/*
 * A command outlives its request when the request ends first: the request
 * pool cleanup detaches it (r = NULL) and hiredis still owns it until the
 * reply or the disconnect arrives, so a late reply touches nothing freed
 * and is never handed to another request.
 */
typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_imprest_redis_handler_pt   handler;
    void                               *data;
    ngx_pool_cleanup_t                 *cln;
    ngx_event_t                         timer;
    uint64_t                            start;   /* metrics: queued, us */
} ngx_http_imprest_redis_cmd_t;


/*
 * Replies parsed during one read are handed over only once the whole read
 * is parsed: bytes nobody asked for anywhere in it mean the stream cannot
 * be trusted, and then none of its replies is.
 */
typedef struct {
    ngx_http_imprest_redis_cmd_t       *cmd;
    redisReply                         *reply;
} ngx_http_imprest_redis_deferred_t;


extern ngx_http_imprest_redis_peer_t  *ngx_http_imprest_redis_peer;


/* ngx_http_imprest_redis.c */
void ngx_http_imprest_redis_drop(ngx_http_imprest_redis_peer_t *p,
    ngx_uint_t level, const char *why);
void ngx_http_imprest_redis_cmd_free(ngx_http_imprest_redis_peer_t *p,
    ngx_http_imprest_redis_cmd_t *cmd);
void ngx_http_imprest_redis_connect(ngx_http_imprest_redis_peer_t *p);
void ngx_http_imprest_redis_schedule(ngx_http_imprest_redis_peer_t *p);

/* ngx_http_imprest_sentinel.c */
ngx_int_t ngx_http_imprest_sentinel_init(ngx_cycle_t *cycle,
    ngx_http_imprest_redis_peer_t *p);
void ngx_http_imprest_sentinel_exit(ngx_http_imprest_redis_peer_t *p);
void ngx_http_imprest_sentinel_discover(ngx_http_imprest_redis_peer_t *p);
void ngx_http_imprest_sentinel_master(ngx_http_imprest_redis_peer_t *p,
    u_char **host, int *port);
ngx_int_t ngx_http_imprest_sentinel_role(ngx_http_imprest_redis_peer_t *p,
    redisReply *rep);

/* ngx_http_imprest_redis_reply.c */
void ngx_http_imprest_redis_reader_hooks(redisAsyncContext *ac);
void ngx_http_imprest_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
void ngx_http_imprest_redis_deliver_deferred(
    ngx_http_imprest_redis_peer_t *p);


#endif /* _NGX_HTTP_IMPREST_REDIS_INT_H_INCLUDED_ */
