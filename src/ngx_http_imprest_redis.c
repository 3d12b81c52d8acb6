/*
 * Copyright (C) Imprest
 *
 * The worker's Redis link: hiredis's async API on nginx's event loop, the
 * handshake pipelined ahead of every command (AUTH, SELECT, FUNCTION and
 * SCRIPT LOAD, the eviction policy check), reconnects, and the command
 * queue.  What a reply may be, and when it reaches its command, is
 * ngx_http_imprest_redis_reply.c; the scripts and the function library
 * it loads, ngx_http_imprest_script.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_event.h>

#include "ngx_http_imprest_redis_int.h"
#include "ngx_http_imprest_metrics.h"


#define NGX_HTTP_IMPREST_REDIS_BACKOFF_MIN   100
#define NGX_HTTP_IMPREST_REDIS_FREE_CMDS     1024


static void ngx_http_imprest_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_imprest_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_imprest_redis_read_handler(ngx_event_t *ev);
static void ngx_http_imprest_redis_write_handler(ngx_event_t *ev);
static void ngx_http_imprest_redis_flush_handler(ngx_event_t *ev);
static void ngx_http_imprest_redis_add_read(void *privdata);
static void ngx_http_imprest_redis_del_read(void *privdata);
static void ngx_http_imprest_redis_add_write(void *privdata);
static void ngx_http_imprest_redis_del_write(void *privdata);
static void ngx_http_imprest_redis_cleanup(void *privdata);
static void ngx_http_imprest_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_imprest_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_imprest_redis_policy_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_imprest_redis_handshake_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static ngx_http_imprest_redis_cmd_t *ngx_http_imprest_redis_cmd_alloc(
    ngx_http_imprest_redis_peer_t *p, ngx_log_t *log);
static void ngx_http_imprest_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_http_imprest_redis_cmd_detach(void *data);
static ngx_int_t ngx_http_imprest_redis_durable(
    ngx_http_imprest_redis_peer_t *p, ngx_http_request_t *r,
    ngx_http_imprest_redis_script_t *script, u_char *buf, size_t len,
    ngx_http_imprest_redis_handler_pt handler, void *data);
static ngx_int_t ngx_http_imprest_redis_queue(
    ngx_http_imprest_redis_peer_t *p, ngx_http_request_t *r, u_char *buf,
    size_t len, ngx_http_imprest_redis_handler_pt handler, void *data);
static void ngx_http_imprest_redis_durable_script(ngx_http_request_t *r,
    void *data, redisReply *reply);
static void ngx_http_imprest_redis_durable_wait(ngx_http_request_t *r,
    void *data, redisReply *reply);
static redisReply *ngx_http_imprest_redis_copy_reply(ngx_pool_t *pool,
    redisReply *rep, ngx_uint_t depth);


/*
 * A durable write (wait=): the script's reply, copied, waits for the
 * reply of the WAIT pipelined behind it.
 */
typedef struct {
    ngx_http_imprest_redis_handler_pt   handler;
    void                               *data;
    redisReply                         *reply;
    ngx_uint_t                          failed;
} ngx_http_imprest_redis_durable_t;


/* this worker's link; the reader hooks, which get no privdata, use it */
ngx_http_imprest_redis_peer_t  *ngx_http_imprest_redis_peer;

void  (*ngx_http_imprest_redis_lost_handler)(void);

/* privdata of the FUNCTION LOAD and ROLE handshake steps */
static u_char  ngx_http_imprest_redis_function_load;
static u_char  ngx_http_imprest_redis_role;


ngx_int_t
ngx_http_imprest_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_imprest_redis_conf_t *rcf)
{
    ngx_http_imprest_redis_peer_t  *p;

    p = ngx_pcalloc(cycle->pool, sizeof(ngx_http_imprest_redis_peer_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->conf = rcf;
    p->log = cycle->log;

    p->deferred = ngx_array_create(cycle->pool, 16,
                                   sizeof(ngx_http_imprest_redis_deferred_t));
    if (p->deferred == NULL) {
        return NGX_ERROR;
    }

    /* idle reconnect timers must not keep a shutting-down worker alive */
    p->retry.handler = ngx_http_imprest_redis_retry_handler;
    p->retry.data = p;
    p->retry.log = cycle->log;
    p->retry.cancelable = 1;

    p->flush.handler = ngx_http_imprest_redis_flush_handler;
    p->flush.data = p;
    p->flush.log = cycle->log;

    p->connect_timer.handler = ngx_http_imprest_redis_connect_timeout;
    p->connect_timer.data = p;
    p->connect_timer.log = cycle->log;
    p->connect_timer.cancelable = 1;

    ngx_http_imprest_redis_peer = p;

    if (rcf->sentinel) {
        /* the primary's address first: ngx_http_imprest_sentinel.c */
        return ngx_http_imprest_sentinel_init(cycle, p);
    }

    ngx_http_imprest_redis_connect(p);

    return NGX_OK;
}


void
ngx_http_imprest_redis_exit_worker(void)
{
    ngx_http_imprest_redis_cmd_t   *cmd;
    ngx_http_imprest_redis_peer_t  *p;

    p = ngx_http_imprest_redis_peer;
    if (p == NULL) {
        return;
    }

    p->exiting = 1;

    if (p->retry.timer_set) {
        ngx_del_timer(&p->retry);
    }

    ngx_http_imprest_redis_drop(p, NGX_LOG_INFO, "worker exiting");

    if (p->conf->sentinel) {
        ngx_http_imprest_sentinel_exit(p);
    }

    while (p->free_cmds) {
        cmd = p->free_cmds;
        p->free_cmds = cmd->data;
        ngx_free(cmd);
    }

    ngx_http_imprest_redis_peer = NULL;
}


void
ngx_http_imprest_redis_connect(ngx_http_imprest_redis_peer_t *p)
{
    int                             i, argc, port;
    u_char                         *host;
    const char                     *argv[4];
    size_t                          argvlen[4];
    u_char                          db[NGX_INT_T_LEN];
    redisAsyncContext              *ac;
    ngx_connection_t               *c;
    ngx_http_imprest_redis_conf_t  *rcf;

    rcf = p->conf;
    host = rcf->host;
    port = rcf->port;

    if (rcf->sentinel) {
        /* numeric, as a Sentinel announced it: no resolving here */
        ngx_http_imprest_sentinel_master(p, &host, &port);
    }

    if (rcf->unix_path) {
        ac = redisAsyncConnectUnix((char *) rcf->unix_path);

    } else {
        ac = redisAsyncConnect((char *) host, port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: out of memory", &rcf->addr);
        ngx_http_imprest_redis_schedule(p);
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: connect failed: %s",
                      &rcf->addr, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_imprest_redis_schedule(p);
        return;
    }

    c = ngx_get_connection(ac->c.fd, p->log);
    if (c == NULL) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: no free connection",
                      &rcf->addr);
        redisAsyncFree(ac);
        ngx_http_imprest_redis_schedule(p);
        return;
    }

    c->data = p;
    c->read->handler = ngx_http_imprest_redis_read_handler;
    c->write->handler = ngx_http_imprest_redis_write_handler;
    c->read->log = p->log;
    c->write->log = p->log;

    p->ac = ac;
    p->conn = c;
    p->ready = 0;
    p->handshake = (rcf->password.len ? 1 : 0) + (rcf->db ? 1 : 0)
                   + (rcf->library.len ? 1 : 0) + rcf->nscripts
                   + (rcf->sentinel ? 1 : 0);
    p->functions = 0;

    ac->data = p;
    ac->ev.data = p;
    ac->ev.addRead = ngx_http_imprest_redis_add_read;
    ac->ev.delRead = ngx_http_imprest_redis_del_read;
    ac->ev.addWrite = ngx_http_imprest_redis_add_write;
    ac->ev.delWrite = ngx_http_imprest_redis_del_write;
    ac->ev.cleanup = ngx_http_imprest_redis_cleanup;

    /* bounded replies, none unsolicited: ngx_http_imprest_redis_reply.c */
    ngx_http_imprest_redis_reader_hooks(ac);
    p->sent = 0;
    p->parsed = 0;
    p->generation++;

    redisAsyncSetConnectCallback(ac, ngx_http_imprest_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_imprest_redis_on_disconnect);

    ngx_add_timer(&p->connect_timer, rcf->connect_timeout);

    /*
     * The handshake is pipelined ahead of any request's command: hiredis
     * buffers it until the socket connects, and replies come back in
     * order, so no command can run unauthenticated or on the wrong db.
     */

    if (rcf->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (rcf->user.len) {
            argv[argc] = (char *) rcf->user.data;
            argvlen[argc++] = rcf->user.len;
        }

        argv[argc] = (char *) rcf->password.data;
        argvlen[argc++] = rcf->password.len;

        if (redisAsyncCommandArgv(ac, ngx_http_imprest_redis_handshake_reply,
                                  NULL, argc, argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        p->sent++;
    }

    if (rcf->sentinel) {
        /*
         * What a Sentinel said is checked with the server itself: a
         * replica (a demoted primary, or a Sentinel's stale view) fails
         * the handshake, and no command is sent before this reply (the
         * link is not ready until it is in).
         */
        argv[0] = "ROLE";
        argvlen[0] = 4;

        if (redisAsyncCommandArgv(ac, ngx_http_imprest_redis_handshake_reply,
                                  &ngx_http_imprest_redis_role, 1, argv,
                                  argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        p->sent++;
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rcf->db) - db;

        if (redisAsyncCommandArgv(ac, ngx_http_imprest_redis_handshake_reply,
                                  NULL, 2, argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        p->sent++;
    }

    if (rcf->library.len) {
        argv[0] = "FUNCTION";
        argvlen[0] = 8;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = "REPLACE";
        argvlen[2] = 7;
        argv[3] = (char *) rcf->library.data;
        argvlen[3] = rcf->library.len;

        if (redisAsyncCommandArgv(ac, ngx_http_imprest_redis_handshake_reply,
                                  &ngx_http_imprest_redis_function_load, 4,
                                  argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        p->sent++;
    }

    for (i = 0; i < (int) rcf->nscripts; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = (char *) rcf->scripts[i]->body.data;
        argvlen[2] = rcf->scripts[i]->body.len;

        if (redisAsyncCommandArgv(ac, ngx_http_imprest_redis_handshake_reply,
                                  rcf->scripts[i], 3, argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        p->sent++;
    }

    /*
     * R13: an allkeys-* eviction policy may evict a used-code or rotated
     * refresh-token marker and silently re-enable its reuse.  Checked on
     * every connection; a Redis that refuses CONFIG is not an error.
     */
    argv[0] = "CONFIG";
    argvlen[0] = 6;
    argv[1] = "GET";
    argvlen[1] = 3;
    argv[2] = "maxmemory-policy";
    argvlen[2] = sizeof("maxmemory-policy") - 1;

    if (redisAsyncCommandArgv(ac, ngx_http_imprest_redis_policy_reply, NULL,
                              3, argv, argvlen)
        != REDIS_OK)
    {
        goto failed;
    }

    p->sent++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, p->log, 0,
                   "imprest: redis %V connecting", &rcf->addr);

    return;

failed:

    ngx_http_imprest_redis_drop(p, NGX_LOG_ERR, "handshake not queued");
}


/*
 * Every way a context dies ends in hiredis's cleanup hook (below), which
 * forgets it and schedules the next attempt; drop() only starts that.
 * p->ac is cleared first so nothing re-enters a context being freed.
 */

void
ngx_http_imprest_redis_drop(ngx_http_imprest_redis_peer_t *p,
    ngx_uint_t level, const char *why)
{
    redisAsyncContext  *ac;

    ac = p->ac;
    if (ac == NULL) {
        return;
    }

    ngx_log_error(level, p->log, 0, "imprest: redis %V: closing "
                  "connection: %s", &p->conf->addr, why);

    p->ac = NULL;
    p->ready = 0;

    /* deferred by hiredis itself when called from inside a reply callback */
    redisAsyncFree(ac);
}


void
ngx_http_imprest_redis_reset(const char *why)
{
    if (ngx_http_imprest_redis_peer) {
        ngx_http_imprest_redis_drop(ngx_http_imprest_redis_peer, NGX_LOG_ERR,
                                    why);
    }
}


void
ngx_http_imprest_redis_schedule(ngx_http_imprest_redis_peer_t *p)
{
    if (p->exiting || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (p->retry.timer_set) {
        return;
    }

    /* first retry at once, then doubling up to "retry=" */
    ngx_add_timer(&p->retry, p->backoff);

    if (p->backoff == 0) {
        p->backoff = NGX_HTTP_IMPREST_REDIS_BACKOFF_MIN;

    } else {
        p->backoff *= 2;
    }

    if (p->backoff > p->conf->retry) {
        p->backoff = p->conf->retry;
    }
}


static void
ngx_http_imprest_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_imprest_redis_peer_t  *p;

    p = ev->data;

    if (p->ac == NULL && !p->exiting) {
        ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_REDIS_RECONNECT, 1);

        if (p->conf->sentinel) {
            /* ask a Sentinel again: the primary may have moved */
            ngx_http_imprest_sentinel_discover(p);
            return;
        }

        ngx_http_imprest_redis_connect(p);
    }
}


static void
ngx_http_imprest_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_imprest_redis_peer_t  *p;

    p = ev->data;

    if (!p->ready) {
        ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_REDIS_CONNECT_TIMEOUT,
                                     1);
        ngx_http_imprest_redis_drop(p, NGX_LOG_ERR, "connect timed out");
    }
}


static void
ngx_http_imprest_redis_read_handler(ngx_event_t *ev)
{
    redisReader                    *rd;
    ngx_connection_t               *c;
    ngx_http_imprest_redis_peer_t  *p;

    c = ev->data;
    p = c->data;

    if (p->ac == NULL) {
        return;
    }

    p->in_read = 1;
    p->unsolicited = 0;
    p->deferred->nelts = 0;

    redisAsyncHandleRead(p->ac);

    p->in_read = 0;

    /*
     * A bulk header such as "$999999999999" makes hiredis wait and buffer
     * forever: bound what one reply may make us hold.
     */
    if (p->ac) {
        rd = p->ac->c.reader;

        if (rd->len - rd->pos > p->conf->max_reply) {
            ngx_http_imprest_redis_drop(p, NGX_LOG_ERR,
                                        "reply exceeds max_reply");
        }
    }

    ngx_http_imprest_redis_deliver_deferred(p);

    /* the commands held while this batch was in flight */
    if (p->ac && p->held) {
        p->held = 0;

        if (!p->flush.posted) {
            ngx_post_event(&p->flush, &ngx_posted_events);
        }
    }
}


static void
ngx_http_imprest_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t               *c;
    ngx_http_imprest_redis_peer_t  *p;

    c = ev->data;
    p = c->data;

    if (p->ac == NULL) {
        return;
    }

    redisAsyncHandleWrite(p->ac);
}


/*
 * Level-triggered events: hiredis reads at most 16K per call and cannot
 * say whether the socket is drained, so edge-triggered mode could stall.
 */

static void
ngx_http_imprest_redis_add_read(void *privdata)
{
    ngx_http_imprest_redis_peer_t  *p = privdata;

    if (p->conn && !p->conn->read->active) {
        if (ngx_add_event(p->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, p->log, 0,
                          "imprest: redis: cannot add read event");
        }
    }
}


static void
ngx_http_imprest_redis_del_read(void *privdata)
{
    ngx_http_imprest_redis_peer_t  *p = privdata;

    if (p->conn && p->conn->read->active) {
        (void) ngx_del_event(p->conn->read, NGX_READ_EVENT, 0);
    }
}


/*
 * Commands are written once per event loop iteration, after every event
 * of the iteration has had its say: one write carries the commands of all
 * requests that arrived together, with no epoll_ctl() per command.  Only
 * a socket that cannot take everything (or one still connecting) waits
 * for a write event.
 *
 * While a written batch is unanswered, new commands are held and go out
 * together once its replies are read.  Redis runs one command at a time,
 * so they would have waited behind that batch anyway; holding them makes
 * one write (and one wakeup of Redis) per batch rather than one per loop
 * iteration, which is most of what the gate costs on loopback.  Nothing
 * waits longer than a reply or the command timeouts, which bound both.
 */

static void
ngx_http_imprest_redis_add_write(void *privdata)
{
    ngx_http_imprest_redis_peer_t  *p = privdata;

    if (p->conn == NULL) {
        return;
    }

    if (!p->flushing && p->ac && (p->ac->c.flags & REDIS_CONNECTED)) {
        if (p->inflight) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, p->log, 0,
                           "imprest: redis command held behind %ui in "
                           "flight", p->inflight);
            p->held = 1;
            return;
        }

        if (!p->flush.posted) {
            ngx_post_event(&p->flush, &ngx_posted_events);
        }

        return;
    }

    if (!p->conn->write->active) {
        if (ngx_add_event(p->conn->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, p->log, 0,
                          "imprest: redis: cannot add write event");
        }
    }
}


static void
ngx_http_imprest_redis_flush_handler(ngx_event_t *ev)
{
    ngx_http_imprest_redis_peer_t  *p = ev->data;

    if (p->ac == NULL) {
        return;
    }

    p->flushing = 1;
    redisAsyncHandleWrite(p->ac);
    p->flushing = 0;

    /* a failed write has already closed the link and failed them all */
    if (p->ac) {
        p->inflight = p->pending;
    }
}


static void
ngx_http_imprest_redis_del_write(void *privdata)
{
    ngx_http_imprest_redis_peer_t  *p = privdata;

    if (p->conn && p->conn->write->active) {
        (void) ngx_del_event(p->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis closes the socket itself right after this hook: release the
 * nginx connection around it without closing the descriptor.
 */

static void
ngx_http_imprest_redis_cleanup(void *privdata)
{
    ngx_connection_t               *c;
    ngx_http_imprest_redis_peer_t  *p = privdata;

    c = p->conn;

    p->ac = NULL;
    p->conn = NULL;
    p->ready = 0;

    if (p->connect_timer.timer_set) {
        ngx_del_timer(&p->connect_timer);
    }

    if (p->flush.posted) {
        ngx_delete_posted_event(&p->flush);
    }

    p->flushing = 0;
    p->held = 0;
    p->inflight = 0;
    ngx_http_imprest_metrics_redis_state(0);

    if (c) {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        c->read->closed = 1;
        c->write->closed = 1;

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    if (ngx_http_imprest_redis_lost_handler) {
        ngx_http_imprest_redis_lost_handler();
    }

    ngx_http_imprest_redis_schedule(p);
}


static void
ngx_http_imprest_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_imprest_redis_peer_t  *p = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: connect failed: %s",
                      &p->conf->addr, ac->errstr);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, p->log, 0,
                   "imprest: redis %V connected", &p->conf->addr);

    if (p->handshake == 0) {
        p->ready = 1;
        p->backoff = 0;
        ngx_http_imprest_metrics_redis_state(1);

        if (p->connect_timer.timer_set) {
            ngx_del_timer(&p->connect_timer);
        }
    }
}


static void
ngx_http_imprest_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_http_imprest_redis_peer_t  *p = ac->data;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: connection lost: %s",
                      &p->conf->addr, ac->errstr ? ac->errstr : "closed");
    }
}


static void
ngx_http_imprest_redis_handshake_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                       *rep = reply;
    ngx_http_imprest_redis_peer_t    *p = ac->data;
    ngx_http_imprest_redis_script_t  *s = privdata;

    if (rep == NULL || p->ac != ac) {
        return;
    }

    if (privdata == &ngx_http_imprest_redis_role) {
        if (ngx_http_imprest_sentinel_role(p, rep) != NGX_OK) {
            ngx_http_imprest_redis_drop(p, NGX_LOG_ERR,
                                        "ROLE: not the primary");
            return;
        }

        goto counted;
    }

    if (privdata == &ngx_http_imprest_redis_function_load) {
        if (rep->type == REDIS_REPLY_STRING) {
            p->functions = 1;

        } else {
            /* the scripts loaded next serve through EVALSHA instead */
            ngx_log_error(NGX_LOG_INFO, p->log, 0,
                          "imprest: redis %V: functions unavailable, "
                          "using scripts: %*s", &p->conf->addr,
                          (size_t) ngx_min(rep->len, 200), rep->str);
        }

        if (--p->handshake == 0) {
            p->ready = 1;
            ngx_http_imprest_metrics_redis_state(1);
        }

        return;
    }

    if (rep->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: %s failed: %*s", &p->conf->addr,
                      s ? "SCRIPT LOAD" : "AUTH/SELECT",
                      (size_t) ngx_min(rep->len, 200), rep->str);
        ngx_http_imprest_redis_drop(p, NGX_LOG_ERR, "handshake failed");
        return;
    }

    if (s == NULL) {
        if (rep->type != REDIS_REPLY_STATUS) {
            ngx_http_imprest_redis_drop(p, NGX_LOG_ERR,
                                        "unexpected handshake reply");
            return;
        }

    } else if (rep->type != REDIS_REPLY_STRING || rep->len != 40
               || ngx_strncmp(rep->str, s->sha1, 40) != 0)
    {
        ngx_http_imprest_redis_drop(p, NGX_LOG_ERR,
                                    "unexpected SCRIPT LOAD reply");
        return;
    }

counted:

    if (--p->handshake > 0) {
        return;
    }

    p->ready = 1;
    p->backoff = 0;
    ngx_http_imprest_metrics_redis_state(1);

    if (p->connect_timer.timer_set) {
        ngx_del_timer(&p->connect_timer);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, p->log, 0,
                   "imprest: redis %V ready", &p->conf->addr);
}


static void
ngx_http_imprest_redis_policy_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                     *rep = reply, *v;
    ngx_http_imprest_redis_peer_t  *p = ac->data;

    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[1]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    v = rep->element[1];

    /*
     * Every key the module writes has a TTL, so volatile-* policies evict
     * them just as allkeys-* do: a code's or a refresh token's single-use
     * marker, a grant's set.  Only noeviction keeps them.
     */
    if (v->len != 10 || ngx_strncmp(v->str, "noeviction", 10) != 0) {
        ngx_log_error(NGX_LOG_WARN, p->log, 0,
                      "imprest: redis %V: maxmemory-policy \"%*s\" may "
                      "evict the markers that make codes and refresh tokens "
                      "single-use, and grants; use noeviction",
                      &p->conf->addr, v->len, v->str);
    }
}


ngx_int_t
ngx_http_imprest_redis_eval(ngx_http_request_t *r,
    ngx_http_imprest_redis_script_t *script, int argc, const char **argv,
    const size_t *argvlen, ngx_http_imprest_redis_handler_pt handler,
    void *data)
{
    int                             i;
    u_char                         *buf, *b;
    size_t                          len;
    const char                     *av[NGX_HTTP_IMPREST_REDIS_MAX_ARGS + 2];
    size_t                          avlen[NGX_HTTP_IMPREST_REDIS_MAX_ARGS + 2];
    ngx_http_imprest_redis_peer_t  *p;

    p = ngx_http_imprest_redis_peer;

    if (argc > NGX_HTTP_IMPREST_REDIS_MAX_ARGS) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "imprest: too many Redis arguments");
        return NGX_ERROR;
    }

    /*
     * Behind Sentinel a command waits for ROLE to confirm the primary:
     * until then the gate answers 503 rather than ask a server that may
     * be a replica with a stale view.
     */
    if (p == NULL || p->ac == NULL || (p->conf->sentinel && !p->ready)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: redis unavailable");
        return NGX_ERROR;
    }

    /*
     * The command is formatted here (RESP is lengths and bytes) rather
     * than by hiredis's printf-style formatter, which showed in profiles.
     */
    if (p->functions && script->fname.len) {
        av[0] = "FCALL";
        avlen[0] = 5;
        av[1] = (char *) script->fname.data;
        avlen[1] = script->fname.len;

    } else {
        av[0] = "EVALSHA";
        avlen[0] = 7;
        av[1] = (char *) script->sha1;
        avlen[1] = 40;
    }

    len = sizeof("*\r\n") - 1 + NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        av[i + 2] = argv[i];
        avlen[i + 2] = argvlen[i];
    }

    for (i = 0; i < argc + 2; i++) {
        len += sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN + avlen[i];
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    b = ngx_sprintf(buf, "*%d\r\n", argc + 2);

    for (i = 0; i < argc + 2; i++) {
        b = ngx_sprintf(b, "$%uz\r\n", avlen[i]);

        /* an empty argument may come as { 0, NULL } */
        if (avlen[i]) {
            b = ngx_cpymem(b, av[i], avlen[i]);
        }

        *b++ = '\r';
        *b++ = '\n';
    }

    if (script->durable && p->conf->wait) {
        return ngx_http_imprest_redis_durable(p, r, script, buf, b - buf,
                                              handler, data);
    }

    if (ngx_http_imprest_redis_queue(p, r, buf, b - buf, handler, data)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "imprest: redis command queued: %V, %ui pending",
                   &script->name, p->pending);

    return NGX_OK;
}


/*
 * wait=: the script, then "WAIT 1 <wait>" in the same write.  WAIT covers
 * every write this connection made before it, so its count says whether
 * the script's effects reached a replica that Sentinel may promote.  The
 * request sees the script's reply only when one did; otherwise it gets
 * NULL (503), although the primary has applied the write: an answer that
 * a failover could take back is never given.
 */

static ngx_int_t
ngx_http_imprest_redis_durable(ngx_http_imprest_redis_peer_t *p,
    ngx_http_request_t *r, ngx_http_imprest_redis_script_t *script,
    u_char *buf, size_t len, ngx_http_imprest_redis_handler_pt handler,
    void *data)
{
    u_char                            *w, *last;
    u_char                             ms[NGX_INT_T_LEN];
    size_t                             mslen;
    ngx_http_imprest_redis_durable_t  *d;

    d = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_redis_durable_t));
    if (d == NULL) {
        return NGX_ERROR;
    }

    d->handler = handler;
    d->data = data;

    mslen = ngx_sprintf(ms, "%M", p->conf->wait) - ms;

    w = ngx_pnalloc(r->pool, sizeof("*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n"
                                    "$\r\n\r\n") + NGX_INT_T_LEN * 2);
    if (w == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(w, "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$%uz\r\n%*s\r\n",
                       mslen, mslen, ms);

    if (ngx_http_imprest_redis_queue(p, r, buf, len,
                                     ngx_http_imprest_redis_durable_script, d)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * Should WAIT not be queued, the script still runs and its reply is
     * dropped: the caller answers 503 at once, its handler never runs.
     */
    if (ngx_http_imprest_redis_queue(p, r, w, last - w,
                                     ngx_http_imprest_redis_durable_wait, d)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "imprest: redis command queued: %V and WAIT, "
                   "%ui pending", &script->name, p->pending);

    return NGX_OK;
}


static void
ngx_http_imprest_redis_durable_script(ngx_http_request_t *r, void *data,
    redisReply *reply)
{
    ngx_http_imprest_redis_durable_t  *d = data;

    if (reply == NULL) {
        d->failed = 1;
        return;
    }

    /* hiredis frees it when this returns: WAIT's reply comes later */
    d->reply = ngx_http_imprest_redis_copy_reply(r->pool, reply, 0);

    if (d->reply == NULL) {
        d->failed = 1;
    }
}


static void
ngx_http_imprest_redis_durable_wait(ngx_http_request_t *r, void *data,
    redisReply *reply)
{
    ngx_http_imprest_redis_durable_t  *d = data;

    if (d->failed) {
        d->handler(r, d->data, NULL);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < 1)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: redis %V: no replica acknowledged the "
                      "write within wait=%M, answering 503",
                      &ngx_http_imprest_redis_peer->conf->addr,
                      ngx_http_imprest_redis_peer->conf->wait);
        d->handler(r, d->data, NULL);
        return;
    }

    d->handler(r, d->data, d->reply);
}


static redisReply *
ngx_http_imprest_redis_copy_reply(ngx_pool_t *pool, redisReply *rep,
    ngx_uint_t depth)
{
    size_t       i;
    redisReply  *c;

    /* the scripts' replies nest two levels at most */
    if (depth > 4) {
        return NULL;
    }

    c = ngx_pcalloc(pool, sizeof(redisReply));
    if (c == NULL) {
        return NULL;
    }

    c->type = rep->type;
    c->integer = rep->integer;

    if (rep->str) {
        c->len = rep->len;
        c->str = ngx_pnalloc(pool, rep->len + 1);
        if (c->str == NULL) {
            return NULL;
        }

        ngx_memcpy(c->str, rep->str, rep->len);
        c->str[rep->len] = '\0';
    }

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
        c->elements = rep->elements;
        c->element = ngx_palloc(pool, rep->elements * sizeof(redisReply *));
        if (c->element == NULL) {
            return NULL;
        }

        for (i = 0; i < rep->elements; i++) {
            c->element[i] = ngx_http_imprest_redis_copy_reply(pool,
                                                rep->element[i], depth + 1);
            if (c->element[i] == NULL) {
                return NULL;
            }
        }
    }

    return c;
}


/*
 * One formatted command onto the link, its timer started.  NGX_OK: the
 * handler will run (unless the request ends first).
 */

static ngx_int_t
ngx_http_imprest_redis_queue(ngx_http_imprest_redis_peer_t *p,
    ngx_http_request_t *r, u_char *buf, size_t len,
    ngx_http_imprest_redis_handler_pt handler, void *data)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_imprest_redis_cmd_t  *cmd;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* heap, not r->pool: hiredis may hold it after the request is gone */
    cmd = ngx_http_imprest_redis_cmd_alloc(p, r->connection->log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    if (redisAsyncFormattedCommand(p->ac, ngx_http_imprest_redis_reply, cmd,
                                   (char *) buf, len)
        != REDIS_OK)
    {
        ngx_http_imprest_redis_cmd_free(p, cmd);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "imprest: redis command not queued");
        return NGX_ERROR;
    }

    p->sent++;

    cmd->r = r;
    cmd->handler = handler;
    cmd->data = data;
    cmd->cln = cln;

    cln->handler = ngx_http_imprest_redis_cmd_detach;
    cln->data = cmd;

    cmd->timer.handler = ngx_http_imprest_redis_cmd_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = p->log;

    ngx_add_timer(&cmd->timer, p->conf->timeout);

    p->pending++;
    cmd->start = ngx_http_imprest_metrics_redis_start();

    return NGX_OK;
}


ngx_uint_t
ngx_http_imprest_redis_link(void)
{
    ngx_http_imprest_redis_peer_t  *p = ngx_http_imprest_redis_peer;

    return (p && p->ac) ? p->generation : 0;
}


ngx_int_t
ngx_http_imprest_redis_send(int argc, const char **argv,
    const size_t *argvlen, redisCallbackFn *fn, void *privdata)
{
    ngx_http_imprest_redis_peer_t  *p = ngx_http_imprest_redis_peer;

    if (p == NULL || p->ac == NULL) {
        return NGX_ERROR;
    }

    if (redisAsyncCommandArgv(p->ac, fn, privdata, argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    p->sent++;

    return NGX_OK;
}


/* commands are recycled: one malloc() per command showed in profiles */

static ngx_http_imprest_redis_cmd_t *
ngx_http_imprest_redis_cmd_alloc(ngx_http_imprest_redis_peer_t *p,
    ngx_log_t *log)
{
    ngx_http_imprest_redis_cmd_t  *cmd;

    cmd = p->free_cmds;

    if (cmd) {
        p->free_cmds = cmd->data;
        p->nfree--;
        ngx_memzero(cmd, sizeof(ngx_http_imprest_redis_cmd_t));
        return cmd;
    }

    return ngx_calloc(sizeof(ngx_http_imprest_redis_cmd_t), log);
}


void
ngx_http_imprest_redis_cmd_free(ngx_http_imprest_redis_peer_t *p,
    ngx_http_imprest_redis_cmd_t *cmd)
{
    if (p == NULL || p->nfree >= NGX_HTTP_IMPREST_REDIS_FREE_CMDS) {
        ngx_free(cmd);
        return;
    }

    cmd->data = p->free_cmds;
    p->free_cmds = cmd;
    p->nfree++;
}


/* a string element of a reply, copied into the request pool */

ngx_int_t
ngx_http_imprest_reply_str(ngx_http_request_t *r, redisReply *e,
    ngx_str_t *dst)
{
    if (e->type != REDIS_REPLY_STRING) {
        return NGX_ERROR;
    }

    dst->len = e->len;

    if (e->len == 0) {
        dst->data = (u_char *) "";
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(r->pool, e->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, e->str, e->len);

    return NGX_OK;
}


static void
ngx_http_imprest_redis_cmd_detach(void *data)
{
    ngx_http_imprest_redis_cmd_t  *cmd = data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, cmd->r->connection->log, 0,
                   "imprest: request ended, redis command detached");

    cmd->r = NULL;
    cmd->cln = NULL;

    /*
     * The timer stays: a detached command still bounds how long a hung
     * Redis can hold the connection.
     */
}


static void
ngx_http_imprest_redis_cmd_timeout(ngx_event_t *ev)
{
    ngx_http_imprest_redis_cmd_t   *cmd;
    ngx_http_imprest_redis_peer_t  *p;

    cmd = ev->data;
    p = ngx_http_imprest_redis_peer;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "imprest: redis command timed out%s",
                  cmd->r ? "" : " (request already gone)");

    /*
     * Replies are matched to commands by order on the connection, so a
     * late reply can only be discarded by discarding the connection: every
     * command still pending on it fails (its handler sees NULL) and the
     * next request starts on a fresh connection.
     */
    ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_REDIS_CMD_TIMEOUT, 1);

    if (p) {
        ngx_http_imprest_redis_drop(p, NGX_LOG_ERR, "command timed out");
    }
}
