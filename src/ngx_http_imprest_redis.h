/*
 * Copyright (C) Imprest
 *
 * Redis client for nginx workers: hiredis's async API driven by nginx's
 * event loop.  One persistent, pipelined connection per worker.
 */

#ifndef _NGX_HTTP_IMPREST_REDIS_H_INCLUDED_
#define _NGX_HTTP_IMPREST_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


#define NGX_HTTP_IMPREST_REDIS_MAX_SCRIPTS  16
#define NGX_HTTP_IMPREST_REDIS_MAX_ARGS     30


typedef struct {
    ngx_str_t                  name;       /* for logs */
    ngx_str_t                  body;       /* Lua source */
    u_char                     sha1[41];   /* hex, NUL-terminated */
    ngx_uint_t                 readonly;   /* a "no-writes" function */
    ngx_str_t                  fname;      /* its Redis function name */
    ngx_uint_t                 durable;    /* WAIT 1 after it (wait=) */
} ngx_http_imprest_redis_script_t;


typedef struct ngx_http_imprest_sentinel_conf_s
    ngx_http_imprest_sentinel_conf_t;


typedef struct {
    ngx_str_t                  addr;       /* as written, for logs */
    u_char                    *host;       /* numeric, NUL-terminated */
    int                        port;
    u_char                    *unix_path;  /* NUL-terminated or NULL */
    ngx_str_t                  user;
    ngx_str_t                  password;
    ngx_int_t                  db;
    ngx_str_t                  prefix;
    ngx_msec_t                 timeout;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 retry;
    size_t                     max_reply;
    ngx_uint_t                 nscripts;
    ngx_str_t                  library;    /* FUNCTION LOAD source */
    ngx_http_imprest_redis_script_t
                              *scripts[NGX_HTTP_IMPREST_REDIS_MAX_SCRIPTS];
    ngx_http_imprest_sentinel_conf_t
                              *sentinel;   /* NULL: a fixed address */
    ngx_msec_t                 wait;       /* 0: no WAIT after writes */
} ngx_http_imprest_redis_conf_t;


/*
 * Called exactly once per accepted command, never from inside
 * ngx_http_imprest_redis_command() itself, unless the request ended first
 * (then never).  reply is NULL when Redis could not answer (down, timeout,
 * error reply, malformed reply); it is freed when the handler returns, so
 * the handler copies what it keeps.
 */
typedef void (*ngx_http_imprest_redis_handler_pt)(ngx_http_request_t *r,
    void *data, redisReply *reply);


ngx_int_t ngx_http_imprest_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_imprest_redis_conf_t *rcf);
void ngx_http_imprest_redis_exit_worker(void);

/*
 * Sends EVALSHA of a registered script.  Returns NGX_OK when the command
 * is queued (the handler will run), NGX_ERROR when Redis is unavailable
 * right now (the caller answers 503 at once).
 */
ngx_int_t ngx_http_imprest_redis_eval(ngx_http_request_t *r,
    ngx_http_imprest_redis_script_t *script, int argc, const char **argv,
    const size_t *argvlen, ngx_http_imprest_redis_handler_pt handler,
    void *data);

/*
 * The cache's hooks on the link (ngx_http_imprest_cache.c): the link's
 * generation, a new one each connection (0 while there is none); a
 * command of no request (CLIENT TRACKING), pipelined like the others,
 * fn gets its reply or NULL; and the handler called whenever a
 * connection closes.
 */
ngx_uint_t ngx_http_imprest_redis_link(void);
ngx_int_t ngx_http_imprest_redis_send(int argc, const char **argv,
    const size_t *argvlen, redisCallbackFn *fn, void *privdata);
extern void (*ngx_http_imprest_redis_lost_handler)(void);

/* copies a string element of a reply into r->pool ("" stays static) */
ngx_int_t ngx_http_imprest_reply_str(ngx_http_request_t *r, redisReply *e,
    ngx_str_t *dst);

/* Drops the connection after a reply that breaks the protocol contract. */
void ngx_http_imprest_redis_reset(const char *why);


#endif /* _NGX_HTTP_IMPREST_REDIS_H_INCLUDED_ */
