/*
 * Copyright (C) Imprest
 *
 * imprestctl: the Redis connection, key names, commands and MULTI/EXEC.
 */


#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ngx_http_imprest_ctl.h"


static redisReply *ngx_http_imprest_ctl_vcommand(
    ngx_http_imprest_ctl_t *ctl, const char *fmt, va_list args);
static int ngx_http_imprest_ctl_vappend(ngx_http_imprest_ctl_t *ctl,
    const char *fmt, va_list args);
static redisReply *ngx_http_imprest_ctl_exec(ngx_http_imprest_ctl_t *ctl,
    int *aborted);
static int ngx_http_imprest_ctl_reply_cmp(const void *a, const void *b);


int
ngx_http_imprest_ctl_connect(ngx_http_imprest_ctl_t *ctl, const char *addr,
    const char *user, const char *password, const char *db)
{
    int              rc;
    char             host[256];
    size_t           len;
    long long        port;
    const char      *colon;
    redisReply      *reply;
    struct timeval   tv;

    tv.tv_sec = NGX_HTTP_IMPREST_CTL_TIMEOUT;
    tv.tv_usec = 0;

    if (strncmp(addr, "unix:", 5) == 0) {
        if (addr[5] == '\0') {
            return ngx_http_imprest_ctl_usage_error("invalid --redis");
        }

        ctl->redis = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        colon = strrchr(addr, ':');

        if (colon == NULL
            || ngx_http_imprest_ctl_number(colon + 1, 1, 65535, &port) != 0)
        {
            return ngx_http_imprest_ctl_usage_error(
                       "invalid --redis: HOST:PORT or unix:/path");
        }

        len = colon - addr;

        /* "[::1]:6379" */
        if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
            addr++;
            len -= 2;
        }

        if (len == 0 || len >= sizeof(host)) {
            return ngx_http_imprest_ctl_usage_error("invalid --redis host");
        }

        memcpy(host, addr, len);
        host[len] = '\0';

        ctl->redis = redisConnectWithTimeout(host, (int) port, tv);
    }

    if (ctl->redis == NULL) {
        return ngx_http_imprest_ctl_error("cannot allocate a Redis context");
    }

    if (ctl->redis->err) {
        return ngx_http_imprest_ctl_redis_error("cannot connect to Redis: %s",
                                                ctl->redis->errstr);
    }

    if (redisSetTimeout(ctl->redis, tv) != REDIS_OK) {
        return ngx_http_imprest_ctl_redis_error(
                   "cannot set the Redis timeout");
    }

    if (password) {
        rc = user ? ngx_http_imprest_ctl_run(ctl, "AUTH %b %b",
                                             user, strlen(user),
                                             password, strlen(password))
                  : ngx_http_imprest_ctl_run(ctl, "AUTH %b",
                                             password, strlen(password));
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    if (db) {
        rc = ngx_http_imprest_ctl_run(ctl, "SELECT %b", db, strlen(db));
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    /* answers NOAUTH now rather than in the middle of a change */

    reply = ngx_http_imprest_ctl_command(ctl, "PING");
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    rc = (reply->type == REDIS_REPLY_STATUS) ? NGX_HTTP_IMPREST_CTL_OK
         : ngx_http_imprest_ctl_redis_error("unexpected reply to PING");

    freeReplyObject(reply);

    return rc;
}


/*
 * "<prefix><kind><id><suffix>": ngx_http_imprest_schema_key() with the
 * suffix of a set (NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX, ...) or "".
 */

int
ngx_http_imprest_ctl_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const void *id,
    size_t len, const char *suffix)
{
    size_t  klen, slen;

    klen = ngx_http_imprest_schema_key(NULL, (const u_char *) ctl->prefix,
                                       ctl->prefix_len, kind, id, len);
    slen = strlen(suffix);

    if (klen + slen > sizeof(key->data)) {
        return ngx_http_imprest_ctl_error("key too long");
    }

    (void) ngx_http_imprest_schema_key(key->data,
                                       (const u_char *) ctl->prefix,
                                       ctl->prefix_len, kind, id, len);
    memcpy(key->data + klen, suffix, slen);

    key->len = klen + slen;

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* the next reply, error or not; NULL with the error recorded */

redisReply *
ngx_http_imprest_ctl_reply(ngx_http_imprest_ctl_t *ctl)
{
    void  *r;

    if (redisGetReply(ctl->redis, &r) != REDIS_OK || r == NULL) {
        (void) ngx_http_imprest_ctl_redis_error("Redis: %s",
                                          ctl->redis->err
                                          ? ctl->redis->errstr
                                          : "no reply");
        return NULL;
    }

    return r;
}


/* a reply that is not an error, or NULL with the error recorded */

static redisReply *
ngx_http_imprest_ctl_vcommand(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    va_list args)
{
    redisReply  *reply;

    reply = redisvCommand(ctl->redis, fmt, args);

    if (reply == NULL) {
        (void) ngx_http_imprest_ctl_redis_error("Redis: %s",
                                                ctl->redis->err
                                                ? ctl->redis->errstr
                                                : "no reply");
        return NULL;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        (void) ngx_http_imprest_ctl_redis_error("Redis: %.*s",
                                                (int) reply->len,
                                                reply->str);
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


redisReply *
ngx_http_imprest_ctl_command(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    ...)
{
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    reply = ngx_http_imprest_ctl_vcommand(ctl, fmt, args);
    va_end(args);

    return reply;
}


/* a command whose reply is of no interest, only that it is not an error */

int
ngx_http_imprest_ctl_run(ngx_http_imprest_ctl_t *ctl, const char *fmt, ...)
{
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    reply = ngx_http_imprest_ctl_vcommand(ctl, fmt, args);
    va_end(args);

    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(reply);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* WATCH of one key, or of two when other != NULL */

int
ngx_http_imprest_ctl_watch(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, ngx_http_imprest_ctl_key_t *other)
{
    if (other) {
        return ngx_http_imprest_ctl_run(ctl, "WATCH %b %b",
                                        key->data, key->len,
                                        other->data, other->len);
    }

    return ngx_http_imprest_ctl_run(ctl, "WATCH %b", key->data, key->len);
}


/*
 * EXISTS of one key: *n is its integer reply, or -1 when the reply is
 * not an integer.
 */

int
ngx_http_imprest_ctl_exists(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, long long *n)
{
    redisReply  *reply;

    reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", key->data,
                                         key->len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    *n = (reply->type == REDIS_REPLY_INTEGER) ? reply->integer : -1;
    freeReplyObject(reply);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* OK when key exists, the error what otherwise */

int
ngx_http_imprest_ctl_must_exist(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *what)
{
    int        rc;
    long long  n;

    rc = ngx_http_imprest_ctl_exists(ctl, key, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    return (n == 1) ? NGX_HTTP_IMPREST_CTL_OK
                    : ngx_http_imprest_ctl_not_found("%s", what);
}


/*
 * A transaction: ngx_http_imprest_ctl_multi() appends "MULTI", each
 * ngx_http_imprest_ctl_queue() one command, and ngx_http_imprest_ctl_exec()
 * (through ngx_http_imprest_ctl_exec_once() or ngx_http_imprest_ctl_retry())
 * "EXEC", then reads every reply.  Nothing is sent before the EXEC; a
 * command that cannot be queued is recorded and makes the EXEC fail
 * without sending (the connection is then dropped unused, and Redis
 * discards the MULTI).
 */

void
ngx_http_imprest_ctl_multi(ngx_http_imprest_ctl_t *ctl)
{
    ctl->queued = -1;
    ctl->failed = 0;

    ngx_http_imprest_ctl_queue(ctl, "MULTI");
}


void
ngx_http_imprest_ctl_queue(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    ...)
{
    va_list  args;

    if (ctl->failed) {
        return;
    }

    va_start(args, fmt);
    ctl->failed = ngx_http_imprest_ctl_vappend(ctl, fmt, args)
                  != NGX_HTTP_IMPREST_CTL_OK;
    va_end(args);

    ctl->queued++;
}


/* a command sent with the next read (a pipeline), outside a transaction */

int
ngx_http_imprest_ctl_append(ngx_http_imprest_ctl_t *ctl, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = ngx_http_imprest_ctl_vappend(ctl, fmt, args);
    va_end(args);

    return rc;
}


static int
ngx_http_imprest_ctl_vappend(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    va_list args)
{
    if (redisvAppendCommand(ctl->redis, fmt, args) != REDIS_OK) {
        return ngx_http_imprest_ctl_error("cannot queue a Redis command");
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * Returns EXEC's array; NULL with *aborted set when a WATCHed key changed
 * (the caller retries), NULL with the error recorded otherwise.  Every
 * reply is read even after an error, so none is left in the stream.
 */

static redisReply *
ngx_http_imprest_ctl_exec(ngx_http_imprest_ctl_t *ctl, int *aborted)
{
    int          i, queued, failed;
    redisReply  *reply;

    *aborted = 0;
    failed = 0;
    queued = ctl->queued;

    if (ctl->failed) {
        return NULL;
    }

    ngx_http_imprest_ctl_queue(ctl, "EXEC");

    if (ctl->failed) {
        return NULL;
    }

    for (i = 0; i < queued + 2; i++) {
        reply = ngx_http_imprest_ctl_reply(ctl);
        if (reply == NULL) {
            return NULL;
        }

        if (reply->type == REDIS_REPLY_ERROR) {
            if (!failed) {
                (void) ngx_http_imprest_ctl_redis_error("Redis: %.*s",
                                                  (int) reply->len,
                                                  reply->str);
                failed = 1;
            }

            freeReplyObject(reply);
            continue;
        }

        if (i < queued + 1) {
            freeReplyObject(reply);
            continue;
        }

        /* EXEC */

        if (failed) {
            freeReplyObject(reply);
            return NULL;
        }

        if (reply->type == REDIS_REPLY_NIL) {
            freeReplyObject(reply);
            *aborted = 1;
            return NULL;
        }

        if (reply->type != REDIS_REPLY_ARRAY
            || reply->elements != (size_t) queued)
        {
            freeReplyObject(reply);
            (void) ngx_http_imprest_ctl_error("unexpected reply to EXEC");
            return NULL;
        }

        for (i = 0; i < queued; i++) {
            if (reply->element[i]->type == REDIS_REPLY_ERROR) {
                (void) ngx_http_imprest_ctl_redis_error("Redis: %.*s",
                                              (int) reply->element[i]->len,
                                              reply->element[i]->str);
                freeReplyObject(reply);
                return NULL;
            }
        }

        return reply;
    }

    return NULL;
}


/* EXEC of a transaction that WATCHes nothing: an abort is an error */

redisReply *
ngx_http_imprest_ctl_exec_once(ngx_http_imprest_ctl_t *ctl)
{
    int          aborted;
    redisReply  *reply;

    reply = ngx_http_imprest_ctl_exec(ctl, &aborted);

    if (reply == NULL && aborted) {
        (void) ngx_http_imprest_ctl_conflict("EXEC aborted");
    }

    return reply;
}


/*
 * The "name" of a user or an org record: checked on the first (ctl NULL)
 * call, written on the second, with the id added to imprestctl's index
 * of users or organizations ("user list", "org list").
 */

int
ngx_http_imprest_ctl_set_name(ngx_http_imprest_ctl_t *ctl, const char *kind,
    const void *id, size_t len, const char *name)
{
    int                          rc;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key, index;

    rc = ngx_http_imprest_ctl_check_name(name, NGX_HTTP_IMPREST_CTL_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, kind, id, len, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &index,
                                  strcmp(kind, NGX_HTTP_IMPREST_KEY_USER) == 0
                                  ? NGX_HTTP_IMPREST_CTL_KEY_USERS
                                  : NGX_HTTP_IMPREST_CTL_KEY_ORGS,
                                  "", 0, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "HSET %b " NGX_HTTP_IMPREST_F_NAME " %b",
                               key.data, key.len, name, strlen(name));
    ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", index.data, index.len,
                               id, len);

    reply = ngx_http_imprest_ctl_exec_once(ctl);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    freeReplyObject(reply);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * "<prefix><kind><sha256hex(secret)>": a prefix has at most
 * NGX_HTTP_IMPREST_CTL_PREFIX_MAX bytes, so it always fits.  -1 when
 * SHA-256 failed.
 */

int
ngx_http_imprest_ctl_secret_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const u_char *secret,
    size_t len)
{
    key->len = ngx_http_imprest_schema_secret_key(key->data,
                   (const u_char *) ctl->prefix, ctl->prefix_len, kind,
                   secret, len);

    return key->len ? 0 : -1;
}


/* SMEMBERS of a set: an array reply, or NULL with the error recorded */

redisReply *
ngx_http_imprest_ctl_members(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *set)
{
    redisReply  *members;

    members = ngx_http_imprest_ctl_command(ctl, "SMEMBERS %b", set->data,
                                           set->len);
    if (members == NULL) {
        return NULL;
    }

    if (members->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(members);
        (void) ngx_http_imprest_ctl_error("unexpected reply to SMEMBERS");
        return NULL;
    }

    return members;
}


/* an integer reply above 0: DEL or SREM removed something */

int
ngx_http_imprest_ctl_positive(redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER && r->integer > 0;
}


/*
 * A change that WATCHes keys: prepare WATCHes and reads them, then opens
 * a transaction and queues the change, or returns
 * NGX_HTTP_IMPREST_CTL_AGAIN to be called again.  Then the EXEC; when a
 * WATCHed key changed, all of it again, at most
 * NGX_HTTP_IMPREST_CTL_RETRIES times.  Returns EXEC's array, or NULL
 * with the error recorded.
 */

redisReply *
ngx_http_imprest_ctl_retry(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_prepare_pt prepare, void *data)
{
    int          rc, try, aborted;
    redisReply  *reply;

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {
        rc = prepare(ctl, data);

        if (rc == NGX_HTTP_IMPREST_CTL_AGAIN) {
            continue;
        }

        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return NULL;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, &aborted);

        if (reply || !aborted) {
            return reply;
        }
    }

    (void) ngx_http_imprest_ctl_conflict(
               "too much concurrent change, retry");

    return NULL;
}


/*
 * The next n replies of a pipeline into out[]: all of them are read even
 * after an error (none is left in the stream); an error reply fails.
 */

int
ngx_http_imprest_ctl_replies(ngx_http_imprest_ctl_t *ctl, redisReply **out,
    size_t n)
{
    int     rc;
    size_t  i;

    rc = NGX_HTTP_IMPREST_CTL_OK;

    for (i = 0; i < n; i++) {
        out[i] = ngx_http_imprest_ctl_reply(ctl);

        if (out[i] == NULL) {
            /* the connection is broken: nothing more will come */
            return NGX_HTTP_IMPREST_CTL_REDIS;
        }

        if (out[i]->type == REDIS_REPLY_ERROR
            && rc == NGX_HTTP_IMPREST_CTL_OK)
        {
            rc = ngx_http_imprest_ctl_redis_error("Redis: %.*s",
                                                  (int) out[i]->len,
                                                  out[i]->str);
        }
    }

    return rc;
}


void
ngx_http_imprest_ctl_free_replies(redisReply **r, size_t n)
{
    size_t  i;

    if (r == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        if (r[i]) {
            freeReplyObject(r[i]);
        }
    }

    free(r);
}


/*
 * "<cmd> <prefix><kind><id><suffix> [arg]" for each string element of the
 * array reply ids ("HGET", "SCARD" ...; arg NULL: none), in one round
 * trip: an array of ids->elements replies (NULL for an element that is
 * no string), or NULL with the error recorded.
 * ngx_http_imprest_ctl_free_replies() releases it.
 */

redisReply **
ngx_http_imprest_ctl_each(ngx_http_imprest_ctl_t *ctl, const char *cmd,
    const char *kind, redisReply *ids, const char *suffix, const void *arg,
    size_t arg_len)
{
    int                          rc;
    size_t                       i, n;
    redisReply                 **out, **got, *m;
    ngx_http_imprest_ctl_key_t   key;

    out = calloc(ids->elements + 1, sizeof(redisReply *));
    got = calloc(ids->elements + 1, sizeof(redisReply *));

    if (out == NULL || got == NULL) {
        free(out);
        free(got);
        (void) ngx_http_imprest_ctl_error("out of memory");
        return NULL;
    }

    n = 0;
    rc = NGX_HTTP_IMPREST_CTL_OK;

    for (i = 0; i < ids->elements; i++) {
        m = ids->element[i];

        if (m->type != REDIS_REPLY_STRING) {
            continue;
        }

        rc = ngx_http_imprest_ctl_key(ctl, &key, kind, m->str, m->len,
                                      suffix);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            break;
        }

        rc = arg ? ngx_http_imprest_ctl_append(ctl, "%s %b %b", cmd,
                                               key.data, key.len,
                                               arg, arg_len)
                 : ngx_http_imprest_ctl_append(ctl, "%s %b", cmd,
                                               key.data, key.len);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            break;
        }

        n++;
    }

    /* what was appended is read even when the rest could not be */

    if (ngx_http_imprest_ctl_replies(ctl, got, n) != NGX_HTTP_IMPREST_CTL_OK
        || rc != NGX_HTTP_IMPREST_CTL_OK)
    {
        ngx_http_imprest_ctl_free_replies(got, n);
        free(out);
        return NULL;
    }

    n = 0;

    for (i = 0; i < ids->elements; i++) {
        if (ids->element[i]->type == REDIS_REPLY_STRING) {
            out[i] = got[n++];
        }
    }

    free(got);

    return out;
}


static int
ngx_http_imprest_ctl_reply_cmp(const void *a, const void *b)
{
    int                 rc;
    const redisReply   *x, *y;

    x = *(const redisReply * const *) a;
    y = *(const redisReply * const *) b;

    if (x->type != REDIS_REPLY_STRING || y->type != REDIS_REPLY_STRING) {
        return (x->type == REDIS_REPLY_STRING) - (y->type
                                                  == REDIS_REPLY_STRING);
    }

    rc = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);

    if (rc != 0) {
        return rc;
    }

    return (x->len > y->len) - (x->len < y->len);
}


/* the elements of an array reply (SMEMBERS) sorted: stable output */

void
ngx_http_imprest_ctl_sort(redisReply *arr)
{
    if (arr->elements > 1) {
        qsort(arr->element, arr->elements, sizeof(redisReply *),
              ngx_http_imprest_ctl_reply_cmp);
    }
}
