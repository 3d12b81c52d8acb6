/*
 * Copyright (C) Imprest
 *
 * Redis Sentinel for the worker's Redis link: "imprest_redis
 * sentinel:NAME ADDR..." finds the primary by asking a Sentinel (hiredis
 * async on nginx's event loop, like the link itself), and the link checks
 * it with ROLE before any command (ngx_http_imprest_redis.c).  The same
 * Sentinel connection then stays subscribed to +switch-master: a
 * failover drops the link at once, and the link asks again whenever it
 * reconnects (after a disconnect, a timeout or a READONLY reply).
 * Sentinels are tried in turn, each attempt bounded by connect_timeout=.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_event.h>

#include "ngx_http_imprest_redis_int.h"
#include "ngx_http_imprest_conf_redis.h"


/* what a Sentinel connection may make us buffer: its replies are tiny */
#define NGX_HTTP_IMPREST_SENTINEL_MAX_BUF  65536

#define NGX_HTTP_IMPREST_SENTINEL_WAIT     100


typedef struct {
    ngx_str_t                       addr;      /* as written, for logs */
    u_char                         *host;      /* numeric */
    int                             port;
} ngx_http_imprest_sentinel_addr_t;


struct ngx_http_imprest_sentinel_conf_s {
    ngx_str_t                       name;      /* the master's name */
    ngx_array_t                    *addrs;     /* of ..._sentinel_addr_t */
    ngx_str_t                       password;
};


typedef struct {
    ngx_http_imprest_redis_peer_t  *peer;
    ngx_http_imprest_sentinel_conf_t
                                   *conf;
    redisAsyncContext              *ac;
    ngx_connection_t               *conn;
    ngx_event_t                     timeout;   /* bounds one query */
    ngx_event_t                     next;      /* opens a connection */
    ngx_log_t                      *log;
    ngx_uint_t                      idx;       /* the Sentinel asked */
    ngx_uint_t                      tries;     /* failed in this round */
    u_char                          host[NGX_SOCKADDR_STRLEN + 1];
    int                             port;      /* the primary, 0: none */
    u_char                          link_host[NGX_SOCKADDR_STRLEN + 1];
    int                             link_port; /* what the link dialled */
    unsigned                        querying:1;
    unsigned                        want_link:1;
    unsigned                        exiting:1;
} ngx_http_imprest_sentinel_t;


static void ngx_http_imprest_sentinel_open(ngx_http_imprest_sentinel_t *s);
static void ngx_http_imprest_sentinel_close(ngx_http_imprest_sentinel_t *s);
static void ngx_http_imprest_sentinel_failed(ngx_http_imprest_sentinel_t *s,
    const char *why);
static void ngx_http_imprest_sentinel_next_handler(ngx_event_t *ev);
static void ngx_http_imprest_sentinel_timeout_handler(ngx_event_t *ev);
static void ngx_http_imprest_sentinel_read_handler(ngx_event_t *ev);
static void ngx_http_imprest_sentinel_write_handler(ngx_event_t *ev);
static void ngx_http_imprest_sentinel_add_read(void *privdata);
static void ngx_http_imprest_sentinel_del_read(void *privdata);
static void ngx_http_imprest_sentinel_add_write(void *privdata);
static void ngx_http_imprest_sentinel_del_write(void *privdata);
static void ngx_http_imprest_sentinel_cleanup(void *privdata);
static void ngx_http_imprest_sentinel_release(void *privdata);
static void ngx_http_imprest_sentinel_quiet(ngx_connection_t *c);
static void ngx_http_imprest_sentinel_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_imprest_sentinel_on_disconnect(
    const redisAsyncContext *ac, int status);
static void ngx_http_imprest_sentinel_auth_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_imprest_sentinel_master_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_imprest_sentinel_message(redisAsyncContext *ac,
    void *reply, void *privdata);
static ngx_int_t ngx_http_imprest_sentinel_set(ngx_http_imprest_sentinel_t *s,
    u_char *host, size_t hlen, u_char *port, size_t plen);
static void ngx_http_imprest_sentinel_switched(
    ngx_http_imprest_sentinel_t *s, const char *why);


/* configuration */

ngx_int_t
ngx_http_imprest_sentinel_parse(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_str_t *value, ngx_uint_t n)
{
    size_t                             len;
    ngx_url_t                          u;
    ngx_uint_t                         i;
    ngx_http_imprest_sentinel_addr_t  *a;
    ngx_http_imprest_sentinel_conf_t  *sc;

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_http_imprest_sentinel_conf_t));
    if (sc == NULL) {
        return NGX_ERROR;
    }

    sc->name.data = value[1].data + 9;
    sc->name.len = value[1].len - 9;

    sc->addrs = ngx_array_create(cf->pool, 3,
                                 sizeof(ngx_http_imprest_sentinel_addr_t));
    if (sc->addrs == NULL) {
        return NGX_ERROR;
    }

    /* the Sentinels: every parameter up to the first "key=value" */
    for (i = 2; i < n; i++) {
        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')) {
            break;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[i];
        u.no_resolve = 0;

        /*
         * A name is resolved here, once, as for a fixed address: the
         * worker never resolves (hiredis would block on it).
         */
        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
            || u.no_port || u.family == AF_UNIX)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "imprest_redis: invalid Sentinel address "
                               "\"%V\"%s%s (expected HOST:PORT)", &value[i],
                               u.err ? ": " : "", u.err ? u.err : "");
            return NGX_ERROR;
        }

        a = ngx_array_push(sc->addrs);
        if (a == NULL) {
            return NGX_ERROR;
        }

        a->addr = value[i];
        a->port = (int) u.port;
        a->host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (a->host == NULL) {
            return NGX_ERROR;
        }

        len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                            a->host, NGX_SOCKADDR_STRLEN, 0);
        a->host[len] = '\0';
    }

    if (sc->name.len == 0 || sc->addrs->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_redis: \"%V\" needs a master name and "
                           "at least one Sentinel address", &value[1]);
        return NGX_ERROR;
    }

    rcf->sentinel = sc;

    /* behind Sentinel a failover may lose writes: WAIT by default */
    rcf->wait = NGX_HTTP_IMPREST_SENTINEL_WAIT;

    return (ngx_int_t) i;
}


ngx_int_t
ngx_http_imprest_sentinel_param(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_str_t *value)
{
    ngx_str_t  s;

    if (value->len > 18
        && ngx_strncmp(value->data, "sentinel_password=", 18) == 0)
    {
        if (rcf->sentinel == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "imprest_redis: \"sentinel_password=\" "
                               "needs a \"sentinel:NAME\" address");
            return NGX_ERROR;
        }

        rcf->sentinel->password.data = value->data + 18;
        rcf->sentinel->password.len = value->len - 18;
        return NGX_OK;
    }

    if (value->len > 5 && ngx_strncmp(value->data, "wait=", 5) == 0) {
        s.data = value->data + 5;
        s.len = value->len - 5;

        if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
            rcf->wait = 0;
            return NGX_OK;
        }

        rcf->wait = ngx_parse_time(&s, 0);

        if (rcf->wait == (ngx_msec_t) NGX_ERROR || rcf->wait == 0) {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


char *
ngx_http_imprest_sentinel_check(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf)
{
    ngx_msec_t  timeout;

    /* "timeout=" is merged later; its default is 500ms */
    timeout = (rcf->timeout == NGX_CONF_UNSET_MSEC) ? 500 : rcf->timeout;

    /*
     * WAIT holds the connection on the Redis side: the commands pipelined
     * behind it, whose timers run from when they were queued, must still
     * be answered in time.
     */
    if (rcf->wait && rcf->wait * 2 > timeout) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_redis: \"wait=%M\" must be at most half "
                           "of \"timeout=%M\"", rcf->wait, timeout);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the worker */

ngx_int_t
ngx_http_imprest_sentinel_init(ngx_cycle_t *cycle,
    ngx_http_imprest_redis_peer_t *p)
{
    ngx_http_imprest_sentinel_t  *s;

    s = ngx_pcalloc(cycle->pool, sizeof(ngx_http_imprest_sentinel_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->peer = p;
    s->conf = p->conf->sentinel;
    s->log = cycle->log;

    s->timeout.handler = ngx_http_imprest_sentinel_timeout_handler;
    s->timeout.data = s;
    s->timeout.log = cycle->log;
    s->timeout.cancelable = 1;

    s->next.handler = ngx_http_imprest_sentinel_next_handler;
    s->next.data = s;
    s->next.log = cycle->log;
    s->next.cancelable = 1;

    p->sentinel = s;

    ngx_http_imprest_sentinel_discover(p);

    return NGX_OK;
}


void
ngx_http_imprest_sentinel_exit(ngx_http_imprest_redis_peer_t *p)
{
    ngx_http_imprest_sentinel_t  *s = p->sentinel;

    if (s == NULL) {
        return;
    }

    s->exiting = 1;

    if (s->timeout.timer_set) {
        ngx_del_timer(&s->timeout);
    }

    if (s->next.timer_set) {
        ngx_del_timer(&s->next);
    }

    ngx_http_imprest_sentinel_close(s);
}


/*
 * The link needs an address: ask a Sentinel, on a fresh connection (a
 * subscribed one cannot ask); its answer connects the link.
 */

void
ngx_http_imprest_sentinel_discover(ngx_http_imprest_redis_peer_t *p)
{
    ngx_http_imprest_sentinel_t  *s = p->sentinel;

    s->want_link = 1;

    if (s->querying) {
        return;
    }

    if (s->next.timer_set) {
        ngx_del_timer(&s->next);
    }

    ngx_http_imprest_sentinel_open(s);
}


void
ngx_http_imprest_sentinel_master(ngx_http_imprest_redis_peer_t *p,
    u_char **host, int *port)
{
    ngx_http_imprest_sentinel_t  *s = p->sentinel;

    (void) ngx_cpystrn(s->link_host, s->host, NGX_SOCKADDR_STRLEN + 1);
    s->link_port = s->port;

    *host = s->link_host;
    *port = s->link_port;
}


ngx_int_t
ngx_http_imprest_sentinel_role(ngx_http_imprest_redis_peer_t *p,
    redisReply *rep)
{
    redisReply                   *e;
    ngx_http_imprest_sentinel_t  *s = p->sentinel;

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        e = rep->element[0];

        if (e->type == REDIS_REPLY_STRING && e->len == 6
            && ngx_strncmp(e->str, "master", 6) == 0)
        {
            ngx_log_error(NGX_LOG_INFO, p->log, 0,
                          "imprest: redis %V: primary %s:%d confirmed",
                          &p->conf->addr, s->link_host, s->link_port);
            return NGX_OK;
        }

        if (e->type == REDIS_REPLY_STRING) {
            ngx_log_error(NGX_LOG_ERR, p->log, 0,
                          "imprest: redis %V: ROLE says \"%*s\"",
                          &p->conf->addr, (size_t) ngx_min(e->len, 20),
                          e->str);
            return NGX_DECLINED;
        }
    }

    if (rep->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "imprest: redis %V: ROLE failed: %*s", &p->conf->addr,
                      (size_t) ngx_min(rep->len, 200), rep->str);
    }

    return NGX_DECLINED;
}


static void
ngx_http_imprest_sentinel_open(ngx_http_imprest_sentinel_t *s)
{
    int                                argc;
    const char                        *argv[3];
    size_t                             argvlen[3];
    redisAsyncContext                 *ac;
    ngx_connection_t                  *c;
    ngx_http_imprest_sentinel_addr_t  *a;

    if (s->exiting || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* a subscribed connection cannot ask: a new one replaces it */
    ngx_http_imprest_sentinel_close(s);

    a = s->conf->addrs->elts;
    a = &a[s->idx];

    s->querying = 1;

    ac = redisAsyncConnect((char *) a->host, a->port);

    if (ac == NULL) {
        ngx_http_imprest_sentinel_failed(s, "out of memory");
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "imprest: redis sentinel %V: connect failed: %s",
                      &a->addr, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_imprest_sentinel_failed(s, "connect failed");
        return;
    }

    c = ngx_get_connection(ac->c.fd, s->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_imprest_sentinel_failed(s, "no free connection");
        return;
    }

    c->data = s;
    c->read->handler = ngx_http_imprest_sentinel_read_handler;
    c->write->handler = ngx_http_imprest_sentinel_write_handler;
    c->read->log = s->log;
    c->write->log = s->log;

    s->ac = ac;
    s->conn = c;

    ac->data = s;
    ac->ev.data = s;
    ac->ev.addRead = ngx_http_imprest_sentinel_add_read;
    ac->ev.delRead = ngx_http_imprest_sentinel_del_read;
    ac->ev.addWrite = ngx_http_imprest_sentinel_add_write;
    ac->ev.delWrite = ngx_http_imprest_sentinel_del_write;
    ac->ev.cleanup = ngx_http_imprest_sentinel_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_imprest_sentinel_on_connect);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_http_imprest_sentinel_on_disconnect);

    ngx_add_timer(&s->timeout, s->peer->conf->connect_timeout);

    /*
     * One pipeline: AUTH, the question, then SUBSCRIBE.  hiredis hands
     * the replies of the commands sent before SUBSCRIBE to their own
     * callbacks, and every message after it to the subscription's, and
     * Sentinel runs them back to back: no switch falls between the
     * answer and the subscription.
     */

    if (s->conf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (char *) s->conf->password.data;
        argvlen[1] = s->conf->password.len;

        if (redisAsyncCommandArgv(ac, ngx_http_imprest_sentinel_auth_reply,
                                  NULL, 2, argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }
    }

    argc = 0;
    argv[argc] = "SENTINEL";
    argvlen[argc++] = 8;
    argv[argc] = "get-master-addr-by-name";
    argvlen[argc++] = sizeof("get-master-addr-by-name") - 1;
    argv[argc] = (char *) s->conf->name.data;
    argvlen[argc++] = s->conf->name.len;

    if (redisAsyncCommandArgv(ac, ngx_http_imprest_sentinel_master_reply,
                              NULL, argc, argv, argvlen)
        != REDIS_OK)
    {
        goto failed;
    }

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = "+switch-master";
    argvlen[1] = sizeof("+switch-master") - 1;

    if (redisAsyncCommandArgv(ac, ngx_http_imprest_sentinel_message, NULL,
                              2, argv, argvlen)
        != REDIS_OK)
    {
        goto failed;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->log, 0,
                   "imprest: redis sentinel %V: asking", &a->addr);

    return;

failed:

    ngx_http_imprest_sentinel_failed(s, "commands not queued");
}


/*
 * A context we close is cut off from us first: hiredis defers the free
 * when called from one of its callbacks, and by then a new context may
 * be ours.  Its events go now, its connection when hiredis closes the
 * descriptor.
 */

static void
ngx_http_imprest_sentinel_close(ngx_http_imprest_sentinel_t *s)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ac = s->ac;
    if (ac == NULL) {
        return;
    }

    c = s->conn;

    s->ac = NULL;
    s->conn = NULL;

    ac->ev.addRead = NULL;
    ac->ev.delRead = NULL;
    ac->ev.addWrite = NULL;
    ac->ev.delWrite = NULL;
    ac->ev.cleanup = ngx_http_imprest_sentinel_release;
    ac->ev.data = c;
    ac->data = NULL;

    if (c) {
        c->data = NULL;
        ngx_http_imprest_sentinel_quiet(c);
    }

    redisAsyncFree(ac);
}


static void
ngx_http_imprest_sentinel_quiet(ngx_connection_t *c)
{
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
}


static void
ngx_http_imprest_sentinel_release(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c) {
        c->read->closed = 1;
        c->write->closed = 1;

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }
}


/*
 * This Sentinel could not answer: the next one, at once, until each has
 * failed once; then the link's back-off decides when to ask again.
 */

static void
ngx_http_imprest_sentinel_failed(ngx_http_imprest_sentinel_t *s,
    const char *why)
{
    ngx_http_imprest_sentinel_addr_t  *a;

    a = s->conf->addrs->elts;

    ngx_log_error(NGX_LOG_ERR, s->log, 0,
                  "imprest: redis sentinel %V: %s", &a[s->idx].addr, why);

    if (s->timeout.timer_set) {
        ngx_del_timer(&s->timeout);
    }

    s->querying = 0;
    ngx_http_imprest_sentinel_close(s);

    if (s->exiting) {
        return;
    }

    s->idx = (s->idx + 1) % s->conf->addrs->nelts;

    if (++s->tries < s->conf->addrs->nelts) {
        /* from the event loop: we may be inside hiredis here */
        if (!s->next.timer_set) {
            ngx_add_timer(&s->next, 1);
        }

        return;
    }

    s->tries = 0;

    if (s->want_link) {
        s->want_link = 0;

        if (s->peer->ac == NULL) {
            ngx_http_imprest_redis_schedule(s->peer);
        }

        return;
    }

    /* only the watch was lost: the link is fine, look again later */
    if (!s->next.timer_set) {
        ngx_add_timer(&s->next, s->peer->conf->retry);
    }
}


static void
ngx_http_imprest_sentinel_next_handler(ngx_event_t *ev)
{
    ngx_http_imprest_sentinel_t  *s = ev->data;

    if (!s->querying) {
        ngx_http_imprest_sentinel_open(s);
    }
}


static void
ngx_http_imprest_sentinel_timeout_handler(ngx_event_t *ev)
{
    ngx_http_imprest_sentinel_t  *s = ev->data;

    if (s->querying) {
        ngx_http_imprest_sentinel_failed(s, "timed out");
    }
}


static void
ngx_http_imprest_sentinel_read_handler(ngx_event_t *ev)
{
    redisReader                  *rd;
    ngx_connection_t             *c;
    ngx_http_imprest_sentinel_t  *s;

    c = ev->data;
    s = c->data;

    if (s == NULL || s->ac == NULL) {
        return;
    }

    redisAsyncHandleRead(s->ac);

    if (s->ac) {
        rd = s->ac->c.reader;

        if (rd->len - rd->pos > NGX_HTTP_IMPREST_SENTINEL_MAX_BUF) {
            ngx_http_imprest_sentinel_failed(s, "reply too large");
        }
    }
}


static void
ngx_http_imprest_sentinel_write_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c;
    ngx_http_imprest_sentinel_t  *s;

    c = ev->data;
    s = c->data;

    if (s && s->ac) {
        redisAsyncHandleWrite(s->ac);
    }
}


static void
ngx_http_imprest_sentinel_add_read(void *privdata)
{
    ngx_http_imprest_sentinel_t  *s = privdata;

    if (s->conn && !s->conn->read->active) {
        if (ngx_add_event(s->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, s->log, 0,
                          "imprest: redis sentinel: cannot add read event");
        }
    }
}


static void
ngx_http_imprest_sentinel_del_read(void *privdata)
{
    ngx_http_imprest_sentinel_t  *s = privdata;

    if (s->conn && s->conn->read->active) {
        (void) ngx_del_event(s->conn->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_imprest_sentinel_add_write(void *privdata)
{
    ngx_http_imprest_sentinel_t  *s = privdata;

    if (s->conn && !s->conn->write->active) {
        if (ngx_add_event(s->conn->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, s->log, 0,
                          "imprest: redis sentinel: cannot add write event");
        }
    }
}


static void
ngx_http_imprest_sentinel_del_write(void *privdata)
{
    ngx_http_imprest_sentinel_t  *s = privdata;

    if (s->conn && s->conn->write->active) {
        (void) ngx_del_event(s->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/* as the link's: hiredis closes the descriptor right after this hook */

static void
ngx_http_imprest_sentinel_cleanup(void *privdata)
{
    ngx_connection_t             *c;
    ngx_http_imprest_sentinel_t  *s = privdata;

    c = s->conn;

    s->ac = NULL;
    s->conn = NULL;

    if (c) {
        ngx_http_imprest_sentinel_quiet(c);
        ngx_http_imprest_sentinel_release(c);
    }

    if (s->exiting) {
        return;
    }

    /* hiredis gave up on it: during the question, or the watch */
    if (s->querying) {
        ngx_http_imprest_sentinel_failed(s, "connection lost");
        return;
    }

    /*
     * Only the watch is lost, the link is fine: ask again after retry=,
     * not at once, so a Sentinel that keeps closing cannot spin us.
     * Meanwhile a demotion still reaches the link: Sentinel closes the
     * clients of the server it demotes, and a write gets READONLY.
     */
    ngx_log_error(NGX_LOG_WARN, s->log, 0,
                  "imprest: redis sentinel: watch lost, asking again");

    if (!s->next.timer_set) {
        ngx_add_timer(&s->next, s->peer->conf->retry);
    }
}


static void
ngx_http_imprest_sentinel_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_imprest_sentinel_t  *s = ac->data;

    if (s != NULL && status != REDIS_OK) {
        /* hiredis frees the context after this: cleanup moves on */
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "imprest: redis sentinel: connect failed: %s",
                      ac->errstr);
    }
}


static void
ngx_http_imprest_sentinel_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_imprest_sentinel_t  *s = ac->data;

    if (s != NULL && status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "imprest: redis sentinel: connection lost: %s",
                      ac->errstr ? ac->errstr : "closed");
    }
}


static void
ngx_http_imprest_sentinel_auth_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                   *rep = reply;
    ngx_http_imprest_sentinel_t  *s = ac->data;

    if (rep == NULL || s == NULL || s->ac != ac) {
        return;
    }

    if (rep->type != REDIS_REPLY_STATUS) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "imprest: redis sentinel: AUTH failed: %*s",
                      (size_t) ngx_min(rep->len, 200),
                      rep->str ? rep->str : "");
        ngx_http_imprest_sentinel_failed(s, "AUTH failed");
    }
}


static void
ngx_http_imprest_sentinel_master_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                     *rep = reply, *h, *pt;
    ngx_http_imprest_sentinel_t    *s = ac->data;
    ngx_http_imprest_redis_peer_t  *p;

    if (rep == NULL || s == NULL || s->ac != ac || !s->querying) {
        return;
    }

    p = s->peer;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[1]->type != REDIS_REPLY_STRING)
    {
        if (rep->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, s->log, 0,
                          "imprest: redis sentinel: %*s",
                          (size_t) ngx_min(rep->len, 200), rep->str);
        }

        ngx_http_imprest_sentinel_failed(s, rep->type == REDIS_REPLY_NIL
                                         ? "does not know the master name"
                                         : "unexpected reply");
        return;
    }

    h = rep->element[0];
    pt = rep->element[1];

    if (ngx_http_imprest_sentinel_set(s, (u_char *) h->str, h->len,
                                      (u_char *) pt->str, pt->len)
        != NGX_OK)
    {
        ngx_http_imprest_sentinel_failed(s, "announced a host name or "
                                         "invalid address (use IPs, "
                                         "resolve-hostnames no)");
        return;
    }

    if (s->timeout.timer_set) {
        ngx_del_timer(&s->timeout);
    }

    s->querying = 0;
    s->tries = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, s->log, 0,
                   "imprest: redis sentinel: primary is %s:%d",
                   s->host, s->port);

    if (s->want_link) {
        s->want_link = 0;

        if (p->ac == NULL && !p->exiting) {
            if (p->retry.timer_set) {
                ngx_del_timer(&p->retry);
            }

            ngx_http_imprest_redis_connect(p);
        }

        return;
    }

    /* a new watch: the link may be on a server that is no longer it */
    ngx_http_imprest_sentinel_switched(s, "the primary moved");
}


/*
 * "+switch-master": "<name> <old ip> <old port> <new ip> <new port>".
 * Only an address is taken from it; the link still checks ROLE.
 */

static void
ngx_http_imprest_sentinel_message(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    u_char                       *f[5], *q, *last;
    size_t                        fl[5];
    ngx_uint_t                    k;
    redisReply                   *rep = reply, *m;
    ngx_http_imprest_sentinel_t  *s = ac->data;

    if (rep == NULL || s == NULL || s->ac != ac) {
        return;
    }

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[0]->len != 7
        || ngx_strncmp(rep->element[0]->str, "message", 7) != 0
        || rep->element[2]->type != REDIS_REPLY_STRING)
    {
        /* the subscription's confirmation, or nothing we use */
        return;
    }

    m = rep->element[2];
    q = (u_char *) m->str;
    last = q + m->len;

    for (k = 0; k < 5; k++) {
        while (q < last && *q == ' ') {
            q++;
        }

        f[k] = q;

        while (q < last && *q != ' ') {
            q++;
        }

        fl[k] = q - f[k];

        if (fl[k] == 0) {
            return;
        }
    }

    if (fl[0] != s->conf->name.len
        || ngx_strncmp(f[0], s->conf->name.data, fl[0]) != 0)
    {
        return;
    }

    if (ngx_http_imprest_sentinel_set(s, f[3], fl[3], f[4], fl[4])
        != NGX_OK)
    {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, s->log, 0,
                  "imprest: redis %V: Sentinel switched the primary to "
                  "%s:%d", &s->peer->conf->addr, s->host, s->port);

    ngx_http_imprest_sentinel_switched(s, "Sentinel switched the primary");
}


static void
ngx_http_imprest_sentinel_switched(ngx_http_imprest_sentinel_t *s,
    const char *why)
{
    ngx_http_imprest_redis_peer_t  *p = s->peer;

    if (p->ac) {
        if (s->link_port == s->port
            && ngx_strcmp(s->link_host, s->host) == 0)
        {
            return;
        }

        /* its cleanup schedules the retry, which asks a Sentinel */
        ngx_http_imprest_redis_drop(p, NGX_LOG_WARN, why);
        return;
    }

    /* disconnected and backing off: no need to wait for the back-off */
    if (p->retry.timer_set && !s->querying) {
        ngx_del_timer(&p->retry);
        ngx_add_timer(&p->retry, 1);
    }
}


static ngx_int_t
ngx_http_imprest_sentinel_set(ngx_http_imprest_sentinel_t *s, u_char *host,
    size_t hlen, u_char *port, size_t plen)
{
    u_char           buf[NGX_SOCKADDR_STRLEN + 1];
    ngx_int_t        n;
    struct in6_addr  a6;

    if (hlen == 0 || hlen > NGX_SOCKADDR_STRLEN) {
        return NGX_ERROR;
    }

    n = ngx_atoi(port, plen);
    if (n < 1 || n > 65535) {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(buf, host, hlen + 1);

    /* numeric only: hiredis would resolve a name with a blocking call */
    if (ngx_inet_addr(buf, hlen) == INADDR_NONE
        && inet_pton(AF_INET6, (char *) buf, &a6) != 1)
    {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(s->host, buf, hlen + 1);
    s->port = (int) n;

    return NGX_OK;
}
