/*
 * Copyright (C) Imprest
 *
 * The reply side of the Redis link: hiredis's reader hooks that bound
 * what a reply may make the worker allocate and refuse replies nobody
 * asked for, and the delivery of replies to the commands that asked,
 * deferred until the whole read is parsed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_event.h>

#include "ngx_http_imprest_redis_int.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_resp.h"


#define NGX_HTTP_IMPREST_REDIS_MAX_ELEMENTS  NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS


static void ngx_http_imprest_redis_deliver(ngx_http_imprest_redis_peer_t *p,
    ngx_http_imprest_redis_cmd_t *cmd, redisReply *rep);
static void ngx_http_imprest_redis_free_object(void *obj);
static ngx_int_t ngx_http_imprest_redis_admit(const redisReadTask *task,
    size_t size, size_t elements);
static void ngx_http_imprest_redis_free_reply(redisReply *reply);
static void *ngx_http_imprest_redis_create_array(const redisReadTask *task,
    int elements);
static void *ngx_http_imprest_redis_create_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_imprest_redis_create_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_imprest_redis_create_nil(const redisReadTask *task);


/* hiredis's own constructors, wrapped by ours */
static redisReplyObjectFunctions       ngx_http_imprest_redis_default_fns;

/*
 * What the reader builds, instead of the real objects, for a reply over
 * the limits: the bytes are consumed and dropped, the link stays in step,
 * and only the command that asked gets an error.
 */
static redisReply                      ngx_http_imprest_redis_discarded;
static redisReplyObjectFunctions       ngx_http_imprest_redis_reader_fns = {
    ngx_http_imprest_redis_create_string,
    ngx_http_imprest_redis_create_array,
    ngx_http_imprest_redis_create_integer,
    ngx_http_imprest_redis_create_nil,
    ngx_http_imprest_redis_free_object
};


/*
 * hiredis's reply constructors are wrapped: to bound what a reply
 * announcing millions of elements makes it allocate, and to refuse a
 * reply nobody asked for (hiredis asserts on one, taking the worker
 * down, or would hand it to the next command).
 */

void
ngx_http_imprest_redis_reader_hooks(redisAsyncContext *ac)
{
    if (ngx_http_imprest_redis_default_fns.freeObject == NULL) {
        ngx_http_imprest_redis_default_fns = *ac->c.reader->fn;
    }

    ac->c.reader->fn = &ngx_http_imprest_redis_reader_fns;
}


/* every command's callback: inside a read, the reply waits for its end */

void
ngx_http_imprest_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                         *rep = reply;
    ngx_http_imprest_redis_cmd_t       *cmd = privdata;
    ngx_http_imprest_redis_peer_t      *p = ac->data;
    ngx_http_imprest_redis_deferred_t  *d;

    p->pending--;

    if (p->inflight) {
        p->inflight--;
    }

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    ngx_http_imprest_metrics_redis_reply(rep ? cmd->start : 0);

    if (p->oversized) {
        /* hiredis frees what it built of it (free_object skips ours) */
        rep = &ngx_http_imprest_redis_discarded;
    }

    if (rep && p->in_read) {
        d = ngx_array_push(p->deferred);

        if (d) {
            /* kept past this callback: hiredis must not free it */
            d->cmd = cmd;
            d->reply = rep;

            if (rep != &ngx_http_imprest_redis_discarded) {
                p->retained = rep;
            }

            return;
        }

        rep = NULL;
    }

    ngx_http_imprest_redis_deliver(p, cmd, rep);
}


/* after a read is parsed: none of its replies if any was unsolicited */

void
ngx_http_imprest_redis_deliver_deferred(ngx_http_imprest_redis_peer_t *p)
{
    ngx_uint_t                          i;
    ngx_http_imprest_redis_deferred_t  *d;

    d = p->deferred->elts;

    for (i = 0; i < p->deferred->nelts; i++) {
        if (p->unsolicited) {
            ngx_http_imprest_redis_deliver(p, d[i].cmd, NULL);

        } else {
            ngx_http_imprest_redis_deliver(p, d[i].cmd, d[i].reply);
        }

        ngx_http_imprest_redis_free_reply(d[i].reply);
    }

    p->deferred->nelts = 0;
}


static void
ngx_http_imprest_redis_deliver(ngx_http_imprest_redis_peer_t *p,
    ngx_http_imprest_redis_cmd_t *cmd, redisReply *rep)
{
    void                               *data;
    ngx_http_request_t                 *r;
    ngx_http_imprest_redis_handler_pt   handler;

    if (cmd->cln) {
        cmd->cln->handler = NULL;
    }

    r = cmd->r;
    handler = cmd->handler;
    data = cmd->data;

    ngx_http_imprest_redis_cmd_free(p, cmd);

    if (rep == &ngx_http_imprest_redis_discarded) {
        if (r) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "imprest: redis %V: reply discarded: over "
                          "max_reply or %d elements in an array",
                          &p->conf->addr, NGX_HTTP_IMPREST_REDIS_MAX_ELEMENTS);
        }

        rep = NULL;

    } else if (rep == NULL) {
        if (r) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "imprest: redis %V: no reply: %s", &p->conf->addr,
                          p->unsolicited ? "unsolicited reply on the link"
                          : (p->ac && p->ac->err) ? p->ac->errstr
                          : "connection closed");
        }

    } else if (rep->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: error reply: %*s", &p->conf->addr,
                      (size_t) ngx_min(rep->len, 200), rep->str);

        /*
         * Errors that say this connection is the wrong place to be
         * (a demoted primary, scripts flushed, credentials revoked,
         * still loading) are cured only by reconnecting.
         */
        if ((rep->len >= 8 && ngx_strncmp(rep->str, "READONLY", 8) == 0)
            || (rep->len >= 8 && ngx_strncmp(rep->str, "NOSCRIPT", 8) == 0)
            || (rep->len >= 22
                && ngx_strncmp(rep->str, "ERR Function not found", 22) == 0)
            || (rep->len >= 6 && ngx_strncmp(rep->str, "NOAUTH", 6) == 0)
            || (rep->len >= 7 && ngx_strncmp(rep->str, "LOADING", 7) == 0)
            || (rep->len >= 10
                && ngx_strncmp(rep->str, "MASTERDOWN", 10) == 0)
            || (rep->len >= 9 && ngx_strncmp(rep->str, "WRONGPASS", 9) == 0))
        {
            ngx_http_imprest_redis_drop(p, NGX_LOG_ERR, "error reply");
        }

        rep = NULL;
    }

    if (r) {
        handler(r, data, rep);
    }
}


static void
ngx_http_imprest_redis_free_object(void *obj)
{
    ngx_http_imprest_redis_peer_t  *p;

    p = ngx_http_imprest_redis_peer;

    if (obj == &ngx_http_imprest_redis_discarded) {
        return;
    }

    if (p && obj == p->retained) {
        /* a deferred reply: freed once delivered */
        p->retained = NULL;
        return;
    }

    ngx_http_imprest_redis_default_fns.freeObject(obj);
}


/*
 * What one reply makes the worker allocate, counted as hiredis builds it:
 * "max_reply=" bounds the whole reply, not only the unparsed bytes, and
 * an array may have at most NGX_HTTP_IMPREST_REDIS_MAX_ELEMENTS elements.
 * A reply over either limit is discarded as it is read (its objects are
 * never built), so the one command that asked fails and the link, and
 * every command pipelined behind it, carries on.  The decision is
 * ngx_http_imprest_resp_admit() (nginx-free, fuzzed by t/fuzz/fuzz_resp.c).
 *
 * Returns 1 to build the object, 0 to fail the reader (hiredis then
 * drops the link: a reply nobody asked for), -1 to discard it.
 */

static ngx_int_t
ngx_http_imprest_redis_admit(const redisReadTask *task, size_t size,
    size_t elements)
{
    int                              oversized;
    ngx_http_imprest_resp_verdict_e  v;
    ngx_http_imprest_redis_peer_t   *p;

    p = ngx_http_imprest_redis_peer;

    if (p == NULL) {
        return 0;
    }

    oversized = p->oversized;

    v = ngx_http_imprest_resp_admit(task, size, elements,
                                    p->parsed < p->sent, p->conf->max_reply,
                                    &p->reply_size, &oversized);

    p->oversized = oversized;

    switch (v) {

    case NGX_HTTP_IMPREST_RESP_REFUSE:
        /* more replies than commands sent: the server speaks out of turn */
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: unsolicited reply", &p->conf->addr);
        p->unsolicited = 1;
        return 0;

    case NGX_HTTP_IMPREST_RESP_OVER:
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: discarding a reply over "
                      "max_reply=%uz or %d elements in an array",
                      &p->conf->addr, p->conf->max_reply,
                      NGX_HTTP_IMPREST_REDIS_MAX_ELEMENTS);
        break;

    default:
        break;
    }

    if (task->parent == NULL) {
        p->parsed++;
    }

    return v == NGX_HTTP_IMPREST_RESP_BUILD ? 1 : -1;
}


static void
ngx_http_imprest_redis_free_reply(redisReply *reply)
{
    if (reply != &ngx_http_imprest_redis_discarded) {
        ngx_http_imprest_redis_default_fns.freeObject(reply);
    }
}


/* returning NULL makes hiredis fail the reader and drop the connection */

static void *
ngx_http_imprest_redis_create_array(const redisReadTask *task, int elements)
{
    switch (ngx_http_imprest_redis_admit(task, 0, (size_t) elements)) {
    case 0:
        return NULL;
    case -1:
        return &ngx_http_imprest_redis_discarded;
    }

    return ngx_http_imprest_redis_default_fns.createArray(task, elements);
}


static void *
ngx_http_imprest_redis_create_string(const redisReadTask *task, char *str,
    size_t len)
{
    switch (ngx_http_imprest_redis_admit(task, len + 1, 0)) {
    case 0:
        return NULL;
    case -1:
        return &ngx_http_imprest_redis_discarded;
    }

    return ngx_http_imprest_redis_default_fns.createString(task, str, len);
}


static void *
ngx_http_imprest_redis_create_integer(const redisReadTask *task,
    long long value)
{
    switch (ngx_http_imprest_redis_admit(task, 0, 0)) {
    case 0:
        return NULL;
    case -1:
        return &ngx_http_imprest_redis_discarded;
    }

    return ngx_http_imprest_redis_default_fns.createInteger(task, value);
}


static void *
ngx_http_imprest_redis_create_nil(const redisReadTask *task)
{
    switch (ngx_http_imprest_redis_admit(task, 0, 0)) {
    case 0:
        return NULL;
    case -1:
        return &ngx_http_imprest_redis_discarded;
    }

    return ngx_http_imprest_redis_default_fns.createNil(task);
}
