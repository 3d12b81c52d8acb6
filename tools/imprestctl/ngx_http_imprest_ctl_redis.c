/*
 * Copyright (C) Imprest
 *
 * imprestctl: the Redis connection, key names, commands and MULTI/EXEC.
 */


#include <stdarg.h>
#include <string.h>
#include <sys/time.h>

#include "ngx_http_imprest_ctl.h"


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
        return ngx_http_imprest_ctl_error("cannot connect to Redis: %s",
                                          ctl->redis->errstr);
    }

    if (redisSetTimeout(ctl->redis, tv) != REDIS_OK) {
        return ngx_http_imprest_ctl_error("cannot set the Redis timeout");
    }

    if (password) {
        if (user) {
            reply = ngx_http_imprest_ctl_command(ctl, "AUTH %b %b",
                                                 user, strlen(user),
                                                 password, strlen(password));

        } else {
            reply = ngx_http_imprest_ctl_command(ctl, "AUTH %b",
                                                 password, strlen(password));
        }

        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);
    }

    if (db) {
        reply = ngx_http_imprest_ctl_command(ctl, "SELECT %b", db, strlen(db));
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);
    }

    /* answers NOAUTH now rather than in the middle of a change */

    reply = ngx_http_imprest_ctl_command(ctl, "PING");
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = (reply->type == REDIS_REPLY_STATUS) ? NGX_HTTP_IMPREST_CTL_OK
         : ngx_http_imprest_ctl_error("unexpected reply to PING");

    freeReplyObject(reply);

    return rc;
}


int
ngx_http_imprest_ctl_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const void *id,
    size_t len, const char *suffix)
{
    size_t   klen, slen;
    u_char  *p;

    klen = strlen(kind);
    slen = strlen(suffix);

    if (ctl->prefix_len + klen + len + slen > sizeof(key->data)) {
        return ngx_http_imprest_ctl_error("key too long");
    }

    p = key->data;
    memcpy(p, ctl->prefix, ctl->prefix_len);
    p += ctl->prefix_len;
    memcpy(p, kind, klen);
    p += klen;
    memcpy(p, id, len);
    p += len;
    memcpy(p, suffix, slen);
    p += slen;

    key->len = p - key->data;

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* a reply that is not an error, or NULL with the error recorded */

redisReply *
ngx_http_imprest_ctl_command(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    ...)
{
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    reply = redisvCommand(ctl->redis, fmt, args);
    va_end(args);

    if (reply == NULL) {
        (void) ngx_http_imprest_ctl_error("Redis: %s",
                                          ctl->redis->err
                                          ? ctl->redis->errstr
                                          : "no reply");
        return NULL;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        (void) ngx_http_imprest_ctl_error("Redis: %.*s", (int) reply->len,
                                          reply->str);
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


int
ngx_http_imprest_ctl_append(ngx_http_imprest_ctl_t *ctl, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        return ngx_http_imprest_ctl_error("cannot queue a Redis command");
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * Reads the replies to an appended "MULTI", queued commands and "EXEC".
 * Returns EXEC's array; NULL with *aborted set when a WATCHed key changed
 * (the caller retries), NULL with the error recorded otherwise.  Every
 * reply is read even after an error, so none is left in the stream.
 */

redisReply *
ngx_http_imprest_ctl_exec(ngx_http_imprest_ctl_t *ctl, int queued,
    int *aborted)
{
    int          i, failed;
    void        *r;
    redisReply  *reply;

    *aborted = 0;
    failed = 0;

    for (i = 0; i < queued + 2; i++) {
        if (redisGetReply(ctl->redis, &r) != REDIS_OK || r == NULL) {
            (void) ngx_http_imprest_ctl_error("Redis: %s",
                                              ctl->redis->err
                                              ? ctl->redis->errstr
                                              : "no reply");
            return NULL;
        }

        reply = r;

        if (reply->type == REDIS_REPLY_ERROR) {
            if (!failed) {
                (void) ngx_http_imprest_ctl_error("Redis: %.*s",
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
                (void) ngx_http_imprest_ctl_error("Redis: %.*s",
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
