/*
 * Copyright (C) Imprest
 *
 * The validation cache.  One shared-memory zone holds, for all workers,
 * the replies of the gate's token lookup (src/lua/token.lua, mode "g"),
 * keyed by the token's digest and the organization asked about: the
 * token's record and whether the user is a member of that organization.
 * A token itself is never stored.
 *
 * What makes it safe is Redis's own invalidation.  Each worker keeps a
 * second connection SUBSCRIBEd to __redis__:invalidate and turns on
 * CLIENT TRACKING on its command link with REDIRECT to it (hiredis 0.14
 * speaks RESP2, so the messages come by redirection), in BCAST mode for
 * the key prefixes the lookup reads ({p}at:, {p}user:, {p}client:).
 * BCAST, not the default mode, because Redis 7.0 tracks only the keys a
 * script declares (KEYS[1], the at: record) and not those it reads
 * inside (the user's memberships, the app's record): measured, see
 * notes-cache.md.  Any write by anyone under those prefixes (a
 * revocation's DEL, an expiry, an SREM by the accounting system, an app
 * deleted, a grant's organizations rewritten, a user's roles) names the
 * key to every worker of every gateway, which drops the entries that
 * depend on it: the token's ("at:<digest>"), the user's ("user:<uid>"
 * and any "user:<uid>:..." key), the app's ("client:<cid>").
 *
 * It fails safe.  A worker uses the zone only while its subscription is
 * confirmed, its command link has tracking on towards that subscription,
 * and a PING on the subscription was answered within confirm= (a PONG
 * comes behind every invalidation sent before it, on the same stream).
 * Otherwise requests bypass the zone.  Every entry names the worker that
 * stored it and that worker's generation: when the worker loses either
 * connection its generation moves and its entries are dead at once for
 * everyone; when it stops answering PINGs (a crash, a hang) they are dead
 * for everyone after confirm=.  A message that cannot be mapped to
 * entries (FLUSHALL, an unknown key kind) kills every entry.  The
 * record's "exp" is still checked on every hit, by the gate.
 *
 * A reply that was in flight while an invalidation it may depend on came
 * in is answered but not stored: each worker remembers the last
 * NGX_HTTP_IMPREST_CACHE_RING invalidations it saw.
 *
 * Concurrent misses for the same key within a worker wait on one Redis
 * command ("flights"); across workers they do not (no cheap cross-process
 * wake-up in nginx), so N workers may ask at most N times.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <hiredis/hiredis.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_cache.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_request.h"
#include "ngx_http_imprest_schema.h"


#define NGX_HTTP_IMPREST_CACHE_SLOTS     NGX_MAX_PROCESSES
#define NGX_HTTP_IMPREST_CACHE_RING      1024
#define NGX_HTTP_IMPREST_CACHE_FLIGHTS   256
#define NGX_HTTP_IMPREST_CACHE_MAX_BLOB  8192
#define NGX_HTTP_IMPREST_CACHE_MAX_ELTS  64
#define NGX_HTTP_IMPREST_CACHE_TAGS      3
#define NGX_HTTP_IMPREST_CACHE_CHANNEL   "__redis__:invalidate"


typedef struct {
    ngx_atomic_t                    gen;
    ngx_atomic_t                    confirmed;   /* msec: PING answered */
    ngx_atomic_t                    pid;
} ngx_http_imprest_cache_slot_t;


typedef struct ngx_http_imprest_cache_tag_s  ngx_http_imprest_cache_tag_t;

struct ngx_http_imprest_cache_tag_s {
    ngx_http_imprest_cache_tag_t   *next;        /* in its hash bucket */
    uint32_t                        hash;
    u_short                         len;
    ngx_queue_t                     links;
    u_char                          data[1];
};


typedef struct ngx_http_imprest_cache_entry_s  ngx_http_imprest_cache_entry_t;

typedef struct {
    ngx_queue_t                     queue;
    ngx_http_imprest_cache_tag_t   *tag;
    ngx_http_imprest_cache_entry_t *entry;
} ngx_http_imprest_cache_link_t;


struct ngx_http_imprest_cache_entry_s {
    ngx_http_imprest_cache_entry_t *next;        /* in its hash bucket */
    uint32_t                        hash;
    ngx_queue_t                     lru;
    ngx_http_imprest_cache_link_t   links[NGX_HTTP_IMPREST_CACHE_TAGS];
    ngx_uint_t                      nlinks;
    ngx_msec_t                      expire;
    ngx_uint_t                      epoch;
    ngx_uint_t                      gen;
    ngx_uint_t                      slot;
    u_short                         keylen;
    u_short                         bloblen;
    unsigned                        negative:1;
    u_char                          data[1];     /* key, then the reply */
};


/*
 * Chained hash tables, not rbtrees: a lookup touches its bucket and its
 * entry, two cache misses, where a tree of 10,000 entries in shared
 * memory cost fourteen (the tree walk was 5% of a worker's time).
 */
typedef struct {
    ngx_uint_t                      mask;        /* buckets - 1 */
    ngx_http_imprest_cache_entry_t **buckets;
    ngx_http_imprest_cache_tag_t  **tag_buckets;
    ngx_queue_t                     lru;
    ngx_queue_t                     neg;
    ngx_uint_t                      nneg;
    ngx_atomic_t                    epoch;
    ngx_http_imprest_cache_counters_t  counters;
    ngx_http_imprest_cache_slot_t   slots[NGX_HTTP_IMPREST_CACHE_SLOTS];
} ngx_http_imprest_cache_sh_t;


struct ngx_http_imprest_cache_flight_s {
    ngx_queue_t                     bucket;
    ngx_queue_t                     followers;
    ngx_http_imprest_cache_lookup_t *leader;
    uint32_t                        hash;
    size_t                          keylen;
    u_char                          key[1 + 64 + 36];
};


typedef enum {
    NGX_HTTP_IMPREST_INVAL_DOWN = 0,
    NGX_HTTP_IMPREST_INVAL_HANDSHAKE,
    NGX_HTTP_IMPREST_INVAL_SUBSCRIBED
} ngx_http_imprest_inval_state_e;


/* this worker's side of the cache */
typedef struct {
    ngx_http_imprest_cache_conf_t  *conf;
    ngx_http_imprest_redis_conf_t  *rcf;
    ngx_http_imprest_cache_sh_t    *sh;
    ngx_slab_pool_t                *shpool;
    ngx_http_imprest_cache_slot_t  *slot;
    ngx_uint_t                      slotn;
    ngx_log_t                      *log;

    /* the invalidation connection */
    ngx_addr_t                      addr;
    ngx_peer_connection_t           pc;
    ngx_connection_t               *c;
    redisReader                    *reader;
    ngx_http_imprest_inval_state_e  state;
    ngx_uint_t                      step;        /* handshake replies seen */
    long long                       id;          /* its CLIENT ID */
    ngx_uint_t                      instance;    /* subscriptions so far */
    ngx_msec_t                      started;
    ngx_msec_t                      next_connect;
    ngx_msec_t                      backoff;
    u_char                          out[512];
    u_char                         *out_pos;
    u_char                         *out_last;
    ngx_msec_t                      ping_sent;
    unsigned                        ping_out:1;

    /* tracking on the command link */
    ngx_uint_t                      tracked_link;   /* 0: not tracking */
    ngx_uint_t                      tracked_instance;
    ngx_uint_t                      req_link;
    ngx_uint_t                      req_instance;
    ngx_msec_t                      tracking_retry;
    unsigned                        tracking_pending:1;

    ngx_event_t                     tick;
    ngx_event_t                     wake;
    ngx_queue_t                     retry;       /* followers to wake */
    ngx_queue_t                     flights[NGX_HTTP_IMPREST_CACHE_FLIGHTS];

    uint64_t                        seq;         /* invalidations seen */
    uint64_t                        flush_seq;
    uint32_t                        ring[NGX_HTTP_IMPREST_CACHE_RING];
    unsigned                        exiting:1;
} ngx_http_imprest_cache_worker_t;


static ngx_int_t ngx_http_imprest_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_imprest_cache_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_uint_t ngx_http_imprest_cache_usable(void);
static ngx_uint_t ngx_http_imprest_cache_valid(
    ngx_http_imprest_cache_entry_t *e);
static ngx_http_imprest_cache_entry_t *ngx_http_imprest_cache_find(
    uint32_t hash, u_char *key, size_t len);
static ngx_http_imprest_cache_tag_t *ngx_http_imprest_cache_tag_find(
    uint32_t hash, u_char *s, size_t len);
static void ngx_http_imprest_cache_free(ngx_http_imprest_cache_entry_t *e);
static void *ngx_http_imprest_cache_alloc(size_t size);
static void ngx_http_imprest_cache_insert(ngx_http_imprest_cache_lookup_t *lk,
    u_char *blob, size_t bloblen, ngx_str_t *tags, ngx_uint_t ntags,
    ngx_uint_t negative, time_t exp);
static size_t ngx_http_imprest_cache_serialize(redisReply *rep, u_char *buf);
static redisReply *ngx_http_imprest_cache_rebuild(ngx_pool_t *pool,
    u_char *blob, size_t len);
static ngx_uint_t ngx_http_imprest_cache_seen(
    ngx_http_imprest_cache_lookup_t *lk, ngx_str_t *tags, ngx_uint_t ntags);
static void ngx_http_imprest_cache_cleanup(void *data);
static void ngx_http_imprest_cache_orphan(ngx_http_imprest_cache_flight_t *f);
static void ngx_http_imprest_cache_wake(ngx_event_t *ev);
static void ngx_http_imprest_cache_flush_own(const char *why);
static void ngx_http_imprest_cache_flush_all(void);
static void ngx_http_imprest_cache_link_lost(void);
static void ngx_http_imprest_cache_tick(ngx_event_t *ev);
static void ngx_http_imprest_cache_ping(void);
static void ngx_http_imprest_cache_connect(void);
static void ngx_http_imprest_cache_drop(ngx_uint_t level, const char *why);
static void ngx_http_imprest_cache_append(int argc, const char **argv,
    const size_t *len);
static void ngx_http_imprest_cache_write(ngx_event_t *ev);
static void ngx_http_imprest_cache_read(ngx_event_t *ev);
static ngx_int_t ngx_http_imprest_cache_message(redisReply *rep);
static void ngx_http_imprest_cache_invalidate(u_char *key, size_t len);
static void ngx_http_imprest_cache_track(void);
static void ngx_http_imprest_cache_track_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_imprest_cache_off_reply(redisAsyncContext *ac,
    void *reply, void *privdata);


static ngx_http_imprest_cache_worker_t  *ngx_http_imprest_cache_w;

static ngx_str_t  ngx_http_imprest_cache_states[] = {
    ngx_null_string,
    ngx_string("hit"),
    ngx_string("miss"),
    ngx_string("bypass")
};

static ngx_str_t  ngx_http_imprest_cache_var_name =
    ngx_string("imprest_cache");


/* configuration */

char *
ngx_http_imprest_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_imprest_cache_conf_t  **ccfp = (void *) ((char *) conf
                                                      + cmd->offset);

    u_char                         *p;
    ssize_t                         size;
    ngx_str_t                      *value, name, s;
    ngx_uint_t                      i;
    ngx_msec_t                      ms;
    ngx_http_imprest_cache_conf_t  *ccf;

    if (*ccfp) {
        return "is duplicate";
    }

    ccf = ngx_pcalloc(cf->pool, sizeof(ngx_http_imprest_cache_conf_t));
    if (ccf == NULL) {
        return NGX_CONF_ERROR;
    }

    ccf->max_age = 60000;
    ccf->negative = 2000;
    ccf->confirm = 50;

    value = cf->args->elts;
    size = 0;
    name.len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                goto invalid;
            }

            name.len = p - name.data;
            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (name.len == 0 || size == NGX_ERROR) {
                goto invalid;
            }

            if (size < (ssize_t) (16 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "imprest_cache_zone \"%V\" is too small",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0
            || ngx_strncmp(value[i].data, "negative=", 9) == 0
            || ngx_strncmp(value[i].data, "confirm=", 8) == 0)
        {
            p = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            s.data = p;
            s.len = value[i].data + value[i].len - p;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                goto invalid;
            }

            if (value[i].data[0] == 'm') {
                ccf->max_age = ms;

            } else if (value[i].data[0] == 'n') {
                ccf->negative = ms;

            } else {
                /* the PING period is a fifth of it: at least 5ms */
                if (ms < 5 || ms > 1000) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "imprest_cache_zone: confirm= must "
                                       "be 5ms to 1s");
                    return NGX_CONF_ERROR;
                }

                ccf->confirm = ms;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_cache_zone needs \"zone=NAME:SIZE\"");
        return NGX_CONF_ERROR;
    }

    /* negative entries: at most an eighth of the zone (~256 bytes each) */
    ccf->negative_max = size / 8 / 256;

    ccf->zone = ngx_shared_memory_add(cf, &name, size,
                                      &ngx_http_imprest_module);
    if (ccf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ccf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    ccf->zone->init = ngx_http_imprest_cache_init_zone;
    ccf->zone->data = ccf;

    *ccfp = ccf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "imprest_cache_zone: invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * A reload with the same zone keeps its entries: they stay valid only as
 * long as the workers that stored them (the old ones, while they finish)
 * keep confirming their subscriptions.
 */

static ngx_int_t
ngx_http_imprest_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_imprest_cache_conf_t  *octx = data;

    size_t                          len, n;
    ngx_http_imprest_cache_sh_t    *sh;
    ngx_http_imprest_cache_conf_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_alloc(ctx->shpool, sizeof(ngx_http_imprest_cache_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(sh, sizeof(ngx_http_imprest_cache_sh_t));

    /* about one bucket per 512 bytes of zone, a power of two */
    for (n = 256; n < shm_zone->shm.size / 512; n *= 2) { /* void */ }

    sh->mask = n - 1;
    sh->buckets = ngx_slab_alloc(ctx->shpool, n * sizeof(void *));
    sh->tag_buckets = ngx_slab_alloc(ctx->shpool, n * sizeof(void *));

    if (sh->buckets == NULL || sh->tag_buckets == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(sh->buckets, n * sizeof(void *));
    ngx_memzero(sh->tag_buckets, n * sizeof(void *));

    ngx_queue_init(&sh->lru);
    ngx_queue_init(&sh->neg);
    sh->epoch = 1;

    ctx->sh = sh;
    ctx->shpool->data = sh;

    len = sizeof(" in imprest_cache_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in imprest_cache_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone evicts: that is not worth a [crit] */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_cache_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_imprest_cache_var_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_imprest_cache_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_imprest_cache_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t                   s;
    ngx_http_imprest_request_t  *req;

    req = ngx_http_imprest_request_get(r);

    s = (req && req->checked) ? req->check.cache : 0;

    if (s == NGX_HTTP_IMPREST_CACHE_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ngx_http_imprest_cache_states[s].len;
    v->data = ngx_http_imprest_cache_states[s].data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


ngx_http_imprest_cache_counters_t *
ngx_http_imprest_cache_counters(void)
{
    if (ngx_http_imprest_cache_w == NULL) {
        return NULL;
    }

    return &ngx_http_imprest_cache_w->sh->counters;
}


/* the worker */

ngx_int_t
ngx_http_imprest_cache_init_worker(ngx_cycle_t *cycle,
    ngx_http_imprest_cache_conf_t *ccf, ngx_http_imprest_redis_conf_t *rcf)
{
    ngx_uint_t                        i;
    ngx_http_imprest_cache_worker_t  *w;

    /* the cache manager and loader run init_process too: not theirs */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_imprest_cache_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->conf = ccf;
    w->rcf = rcf;
    w->sh = ccf->sh;
    w->shpool = ccf->shpool;
    w->log = cycle->log;
    w->slotn = (ngx_uint_t) ngx_process_slot % NGX_HTTP_IMPREST_CACHE_SLOTS;
    w->slot = &w->sh->slots[w->slotn];

    /* whatever a previous process in this slot stored is dead */
    (void) ngx_atomic_fetch_add(&w->slot->gen, 1);
    w->slot->confirmed = 0;
    w->slot->pid = ngx_pid;

    if (rcf->unix_path) {
        w->addr.sockaddr = ngx_pcalloc(cycle->pool,
                                       sizeof(struct sockaddr_un));
        if (w->addr.sockaddr == NULL) {
            return NGX_ERROR;
        }

        w->addr.sockaddr->sa_family = AF_UNIX;
        (void) ngx_cpystrn((u_char *)
                           ((struct sockaddr_un *) w->addr.sockaddr)->sun_path,
                           rcf->unix_path,
                           sizeof(((struct sockaddr_un *) 0)->sun_path));
        w->addr.socklen = sizeof(struct sockaddr_un);

    } else {
        if (ngx_parse_addr(cycle->pool, &w->addr, rcf->host,
                           ngx_strlen(rcf->host))
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "imprest: cache: bad redis address \"%s\"",
                          rcf->host);
            return NGX_ERROR;
        }

        ngx_inet_set_port(w->addr.sockaddr, (in_port_t) rcf->port);
    }

    w->addr.name = rcf->addr;

    w->tick.handler = ngx_http_imprest_cache_tick;
    w->tick.data = w;
    w->tick.log = cycle->log;
    w->tick.cancelable = 1;

    w->wake.handler = ngx_http_imprest_cache_wake;
    w->wake.data = w;
    w->wake.log = cycle->log;

    ngx_queue_init(&w->retry);

    for (i = 0; i < NGX_HTTP_IMPREST_CACHE_FLIGHTS; i++) {
        ngx_queue_init(&w->flights[i]);
    }

    ngx_http_imprest_cache_w = w;
    ngx_http_imprest_redis_lost_handler = ngx_http_imprest_cache_link_lost;

    /* the clock is the master's from before the fork: timeouts need now */
    ngx_time_update();

    ngx_http_imprest_cache_connect();
    ngx_add_timer(&w->tick, ngx_max(w->conf->confirm / 5, 1));

    return NGX_OK;
}


void
ngx_http_imprest_cache_exit_worker(void)
{
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    if (w == NULL) {
        return;
    }

    w->exiting = 1;

    if (w->tick.timer_set) {
        ngx_del_timer(&w->tick);
    }

    if (w->wake.posted) {
        ngx_delete_posted_event(&w->wake);
    }

    ngx_http_imprest_cache_drop(NGX_LOG_INFO, "worker exiting");

    ngx_http_imprest_redis_lost_handler = NULL;
    ngx_http_imprest_cache_w = NULL;
}


/* may this worker read and write the zone now? */

static ngx_uint_t
ngx_http_imprest_cache_usable(void)
{
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    return w->state == NGX_HTTP_IMPREST_INVAL_SUBSCRIBED
           && w->tracked_link != 0
           && w->tracked_instance == w->instance
           && w->tracked_link == ngx_http_imprest_redis_link()
           && (ngx_msec_int_t) (ngx_current_msec - w->slot->confirmed)
              <= (ngx_msec_int_t) w->conf->confirm;
}


/* under the zone's lock */

static ngx_uint_t
ngx_http_imprest_cache_valid(ngx_http_imprest_cache_entry_t *e)
{
    ngx_http_imprest_cache_sh_t    *sh;
    ngx_http_imprest_cache_slot_t  *s;

    sh = ngx_http_imprest_cache_w->sh;
    s = &sh->slots[e->slot];

    return e->epoch == sh->epoch
           && e->gen == s->gen
           && (ngx_msec_int_t) (ngx_current_msec - s->confirmed)
              <= (ngx_msec_int_t) ngx_http_imprest_cache_w->conf->confirm
           && (ngx_msec_int_t) (e->expire - ngx_current_msec) > 0;
}


ngx_int_t
ngx_http_imprest_cache_get(ngx_http_request_t *r,
    ngx_http_imprest_cache_lookup_t *lk, ngx_str_t *token_key,
    ngx_str_t *org, redisReply **rep, ngx_uint_t *state)
{
    u_char                           *p, *blob;
    size_t                            hex, bloblen;
    ngx_queue_t                      *q, *bucket;
    ngx_http_imprest_cache_flight_t  *f;
    ngx_http_imprest_cache_entry_t   *e;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    lk->r = r;
    lk->store = 0;
    lk->leader = 0;
    lk->follower = 0;
    lk->retry = 0;
    lk->flight = NULL;

    if (w == NULL) {
        *state = NGX_HTTP_IMPREST_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    hex = w->rcf->prefix.len + sizeof(NGX_HTTP_IMPREST_KEY_AT) - 1;

    if (token_key->len != hex + 64 || org->len > 36) {
        *state = NGX_HTTP_IMPREST_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    if (!ngx_http_imprest_cache_usable()) {
        (void) ngx_atomic_fetch_add(&w->sh->counters.bypasses, 1);
        ngx_http_imprest_metrics_cache(NGX_HTTP_IMPREST_METRICS_CACHE_BYPASS);
        *state = NGX_HTTP_IMPREST_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    p = lk->key;
    *p++ = 'g';
    p = ngx_cpymem(p, token_key->data + hex, 64);
    p = ngx_cpymem(p, org->data, org->len);
    lk->keylen = p - lk->key;
    lk->hash = ngx_murmur_hash2(lk->key, lk->keylen);

    ngx_shmtx_lock(&w->shpool->mutex);

    e = ngx_http_imprest_cache_find(lk->hash, lk->key, lk->keylen);

    if (e && ngx_http_imprest_cache_valid(e)) {
        ngx_queue_remove(&e->lru);
        ngx_queue_insert_head(e->negative ? &w->sh->neg : &w->sh->lru,
                              &e->lru);

        bloblen = e->bloblen;
        blob = ngx_pnalloc(r->pool, bloblen);

        if (blob) {
            ngx_memcpy(blob, e->data + e->keylen, bloblen);
        }

        ngx_shmtx_unlock(&w->shpool->mutex);

        if (blob) {
            *rep = ngx_http_imprest_cache_rebuild(r->pool, blob, bloblen);

            if (*rep) {
                (void) ngx_atomic_fetch_add(&w->sh->counters.hits, 1);
                ngx_http_imprest_metrics_cache(
                    NGX_HTTP_IMPREST_METRICS_CACHE_HIT);
                *state = NGX_HTTP_IMPREST_CACHE_HIT;
                return NGX_OK;
            }
        }

        *state = NGX_HTTP_IMPREST_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    if (e) {
        ngx_http_imprest_cache_free(e);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    *state = NGX_HTTP_IMPREST_CACHE_MISS;

    if (lk->cln == NULL) {
        lk->cln = ngx_pool_cleanup_add(r->pool, 0);
        if (lk->cln == NULL) {
            return NGX_DECLINED;
        }
    }

    lk->cln->handler = ngx_http_imprest_cache_cleanup;
    lk->cln->data = lk;

    bucket = &w->flights[lk->hash % NGX_HTTP_IMPREST_CACHE_FLIGHTS];

    for (q = ngx_queue_head(bucket);
         q != ngx_queue_sentinel(bucket);
         q = ngx_queue_next(q))
    {
        f = ngx_queue_data(q, ngx_http_imprest_cache_flight_t, bucket);

        if (f->hash == lk->hash && f->keylen == lk->keylen
            && ngx_memcmp(f->key, lk->key, lk->keylen) == 0)
        {
            lk->follower = 1;
            lk->flight = f;
            ngx_queue_insert_tail(&f->followers, &lk->queue);
            (void) ngx_atomic_fetch_add(&w->sh->counters.coalesced, 1);
            return NGX_AGAIN;
        }
    }

    (void) ngx_atomic_fetch_add(&w->sh->counters.misses, 1);
    ngx_http_imprest_metrics_cache(NGX_HTTP_IMPREST_METRICS_CACHE_MISS);

    lk->store = 1;
    lk->seq = w->seq;
    lk->gen = w->slot->gen;

    f = ngx_alloc(sizeof(ngx_http_imprest_cache_flight_t), r->connection->log);
    if (f == NULL) {
        return NGX_DECLINED;
    }

    f->hash = lk->hash;
    f->keylen = lk->keylen;
    ngx_memcpy(f->key, lk->key, lk->keylen);
    f->leader = lk;
    ngx_queue_init(&f->followers);
    ngx_queue_insert_tail(bucket, &f->bucket);

    lk->leader = 1;
    lk->flight = f;

    return NGX_DECLINED;
}


void
ngx_http_imprest_cache_store(ngx_http_imprest_cache_lookup_t *lk,
    redisReply *reply, ngx_int_t found, ngx_str_t *uid, ngx_str_t *cid)
{
    size_t                            len, n;
    u_char                           *tp;
    time_t                            exp;
    ngx_str_t                         tags[NGX_HTTP_IMPREST_CACHE_TAGS];
    ngx_uint_t                        ntags;
    ngx_queue_t                      *q;
    redisReply                       *e;
    ngx_http_imprest_cache_flight_t  *f;
    ngx_http_imprest_cache_lookup_t  *fl;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;
    u_char                            blob[NGX_HTTP_IMPREST_CACHE_MAX_BLOB];
    u_char                            tbuf[sizeof("at:") + 64
                                           + sizeof("client:") + 128
                                           + sizeof("user:") + 128];

    if (!lk->leader) {
        return;
    }

    f = lk->flight;
    lk->leader = 0;
    lk->flight = NULL;

    if (lk->cln) {
        lk->cln->handler = NULL;
    }

    ngx_queue_remove(&f->bucket);

    if (w && lk->store && reply && (found == NGX_OK || found == NGX_DECLINED)
        && ngx_http_imprest_cache_usable() && w->slot->gen == lk->gen)
    {
        len = ngx_http_imprest_cache_serialize(reply, blob);

        /* the tags: the keys (without the prefix) whose change kills it */
        tp = tbuf;
        ntags = 0;

        tags[ntags].data = tp;
        tp = ngx_cpymem(tp, "at:", 3);
        tp = ngx_cpymem(tp, lk->key + 1, 64);
        tags[ntags++].len = tp - tags[0].data;

        exp = 0;

        if (found == NGX_OK) {
            if (uid->len && uid->len <= 128) {
                tags[ntags].data = tp;
                tp = ngx_cpymem(tp, NGX_HTTP_IMPREST_KEY_USER,
                                sizeof(NGX_HTTP_IMPREST_KEY_USER) - 1);
                tp = ngx_cpymem(tp, uid->data, uid->len);
                tags[ntags].len = tp - tags[ntags].data;
                ntags++;
            }

            if (cid->len && cid->len <= 128) {
                tags[ntags].data = tp;
                tp = ngx_cpymem(tp, NGX_HTTP_IMPREST_KEY_CLIENT,
                                sizeof(NGX_HTTP_IMPREST_KEY_CLIENT) - 1);
                tp = ngx_cpymem(tp, cid->data, cid->len);
                tags[ntags].len = tp - tags[ntags].data;
                ntags++;
            }

            /* element 4 of the token reply is exp: see src/lua/token.lua */
            if (reply->elements > 4) {
                e = reply->element[4];
                n = (e->type == REDIS_REPLY_STRING) ? e->len : 0;
                exp = (n > 0) ? ngx_atotm((u_char *) e->str, n) : 0;
            }
        }

        if (len && (found == NGX_DECLINED || (ntags == 3 && exp > 0))
            && !ngx_http_imprest_cache_seen(lk, tags, ntags))
        {
            ngx_http_imprest_cache_insert(lk, blob, len, tags, ntags,
                                          found == NGX_DECLINED, exp);
        }
    }

    /* the followers get the same reply, before it is freed */
    while (!ngx_queue_empty(&f->followers)) {
        q = ngx_queue_head(&f->followers);
        ngx_queue_remove(q);

        fl = ngx_queue_data(q, ngx_http_imprest_cache_lookup_t, queue);
        fl->follower = 0;
        fl->flight = NULL;

        if (fl->cln) {
            fl->cln->handler = NULL;
        }

        fl->handler(fl->r, fl->data, reply);
    }

    ngx_free(f);
}


void
ngx_http_imprest_cache_abandon(ngx_http_imprest_cache_lookup_t *lk)
{
    ngx_http_imprest_cache_flight_t  *f;

    if (lk->cln) {
        lk->cln->handler = NULL;
    }

    if (!lk->leader) {
        return;
    }

    f = lk->flight;
    lk->leader = 0;
    lk->flight = NULL;

    ngx_http_imprest_cache_orphan(f);
}


/* a request ends while it leads or follows a flight */

static void
ngx_http_imprest_cache_cleanup(void *data)
{
    ngx_http_imprest_cache_lookup_t  *lk = data;

    ngx_http_imprest_cache_flight_t  *f;

    if (lk->follower) {
        ngx_queue_remove(&lk->queue);
        lk->follower = 0;
        lk->flight = NULL;
        return;
    }

    if (lk->leader) {
        f = lk->flight;
        lk->leader = 0;
        lk->flight = NULL;

        /* its command is detached and will call nobody: others ask again */
        ngx_http_imprest_cache_orphan(f);
    }
}


static void
ngx_http_imprest_cache_orphan(ngx_http_imprest_cache_flight_t *f)
{
    ngx_queue_t                      *q;
    ngx_http_imprest_cache_lookup_t  *fl;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    ngx_queue_remove(&f->bucket);

    while (!ngx_queue_empty(&f->followers)) {
        q = ngx_queue_head(&f->followers);
        ngx_queue_remove(q);

        fl = ngx_queue_data(q, ngx_http_imprest_cache_lookup_t, queue);
        fl->flight = NULL;
        fl->retry = 1;

        /* still "follower": its cleanup takes it off the retry queue */
        ngx_queue_insert_tail(&w->retry, q);
    }

    ngx_free(f);

    if (!ngx_queue_empty(&w->retry) && !w->wake.posted) {
        ngx_post_event(&w->wake, &ngx_posted_events);
    }
}


/* from the posted-events queue, never inside another request's cleanup */

static void
ngx_http_imprest_cache_wake(ngx_event_t *ev)
{
    ngx_queue_t                      *q;
    ngx_http_imprest_cache_lookup_t  *fl;
    ngx_http_imprest_cache_worker_t  *w = ev->data;

    while (!ngx_queue_empty(&w->retry)) {
        q = ngx_queue_head(&w->retry);
        ngx_queue_remove(q);

        fl = ngx_queue_data(q, ngx_http_imprest_cache_lookup_t, queue);
        fl->follower = 0;

        if (fl->cln) {
            fl->cln->handler = NULL;
        }

        fl->handler(fl->r, fl->data, NULL);
    }
}


/* the zone: entries, tags, eviction; all under the lock */

static ngx_http_imprest_cache_entry_t *
ngx_http_imprest_cache_find(uint32_t hash, u_char *key, size_t len)
{
    ngx_http_imprest_cache_sh_t     *sh;
    ngx_http_imprest_cache_entry_t  *e;

    sh = ngx_http_imprest_cache_w->sh;

    for (e = sh->buckets[hash & sh->mask]; e; e = e->next) {
        if (e->hash == hash && e->keylen == len
            && ngx_memcmp(e->data, key, len) == 0)
        {
            return e;
        }
    }

    return NULL;
}


static ngx_http_imprest_cache_tag_t *
ngx_http_imprest_cache_tag_find(uint32_t hash, u_char *s, size_t len)
{
    ngx_http_imprest_cache_sh_t   *sh;
    ngx_http_imprest_cache_tag_t  *t;

    sh = ngx_http_imprest_cache_w->sh;

    for (t = sh->tag_buckets[hash & sh->mask]; t; t = t->next) {
        if (t->hash == hash && t->len == len
            && ngx_memcmp(t->data, s, len) == 0)
        {
            return t;
        }
    }

    return NULL;
}


static void
ngx_http_imprest_cache_free(ngx_http_imprest_cache_entry_t *e)
{
    ngx_uint_t                        i;
    ngx_http_imprest_cache_tag_t     *t, **tp;
    ngx_http_imprest_cache_entry_t  **ep;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    for (i = 0; i < e->nlinks; i++) {
        t = e->links[i].tag;
        ngx_queue_remove(&e->links[i].queue);

        if (ngx_queue_empty(&t->links)) {
            for (tp = &w->sh->tag_buckets[t->hash & w->sh->mask];
                 *tp != t;
                 tp = &(*tp)->next)
            { /* void */ }

            *tp = t->next;
            ngx_slab_free_locked(w->shpool, t);
        }
    }

    for (ep = &w->sh->buckets[e->hash & w->sh->mask];
         *ep != e;
         ep = &(*ep)->next)
    { /* void */ }

    *ep = e->next;
    ngx_queue_remove(&e->lru);

    if (e->negative) {
        w->sh->nneg--;
    }

    ngx_slab_free_locked(w->shpool, e);
}


/*
 * LRU: negative entries go first (they are the cheapest to lose), then
 * the least recently used positive ones, until the slab has room.
 */

static void *
ngx_http_imprest_cache_alloc(size_t size)
{
    void                             *p;
    ngx_uint_t                        i;
    ngx_queue_t                      *q;
    ngx_http_imprest_cache_entry_t   *e;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    for (i = 0; i < 64; i++) {
        p = ngx_slab_alloc_locked(w->shpool, size);
        if (p) {
            return p;
        }

        if (!ngx_queue_empty(&w->sh->neg)) {
            q = ngx_queue_last(&w->sh->neg);

        } else if (!ngx_queue_empty(&w->sh->lru)) {
            q = ngx_queue_last(&w->sh->lru);

        } else {
            return NULL;
        }

        e = ngx_queue_data(q, ngx_http_imprest_cache_entry_t, lru);
        ngx_http_imprest_cache_free(e);
        (void) ngx_atomic_fetch_add(&w->sh->counters.evictions, 1);
    }

    return NULL;
}


static void
ngx_http_imprest_cache_insert(ngx_http_imprest_cache_lookup_t *lk,
    u_char *blob, size_t bloblen, ngx_str_t *tags, ngx_uint_t ntags,
    ngx_uint_t negative, time_t exp)
{
    uint32_t                          hash;
    ngx_msec_t                        ttl;
    ngx_uint_t                        i;
    ngx_queue_t                      *q;
    ngx_http_imprest_cache_tag_t     *t;
    ngx_http_imprest_cache_entry_t   *e, *old;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    if (negative) {
        ttl = w->conf->negative;

    } else {
        if (exp <= ngx_time()) {
            return;
        }

        /*
         * A second past exp, so that at exp it is the gate's check of
         * every hit that refuses the token, not only this expiry.
         */
        ttl = w->conf->max_age;

        if ((ngx_msec_t) (exp - ngx_time() + 1) < ttl / 1000) {
            ttl = (ngx_msec_t) (exp - ngx_time() + 1) * 1000;
        }
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    old = ngx_http_imprest_cache_find(lk->hash, lk->key, lk->keylen);
    if (old) {
        ngx_http_imprest_cache_free(old);
    }

    /* forged well-formed tokens must not push real entries out */
    if (negative && w->sh->nneg >= w->conf->negative_max
        && !ngx_queue_empty(&w->sh->neg))
    {
        q = ngx_queue_last(&w->sh->neg);
        ngx_http_imprest_cache_free(ngx_queue_data(q,
                                        ngx_http_imprest_cache_entry_t, lru));
        (void) ngx_atomic_fetch_add(&w->sh->counters.evictions, 1);
    }

    e = ngx_http_imprest_cache_alloc(offsetof(ngx_http_imprest_cache_entry_t,
                                              data)
                                     + lk->keylen + bloblen);
    if (e == NULL) {
        goto done;
    }

    e->nlinks = 0;
    e->negative = negative;
    e->keylen = (u_short) lk->keylen;
    e->bloblen = (u_short) bloblen;
    e->epoch = w->sh->epoch;
    e->gen = lk->gen;
    e->slot = w->slotn;
    e->expire = ngx_current_msec + ttl;
    ngx_memcpy(e->data, lk->key, lk->keylen);
    ngx_memcpy(e->data + lk->keylen, blob, bloblen);

    e->hash = lk->hash;
    e->next = w->sh->buckets[lk->hash & w->sh->mask];
    w->sh->buckets[lk->hash & w->sh->mask] = e;
    ngx_queue_insert_head(negative ? &w->sh->neg : &w->sh->lru, &e->lru);

    if (negative) {
        w->sh->nneg++;
    }

    /* each tag is linked at once, so evicting for the next cannot free it */
    for (i = 0; i < ntags; i++) {
        hash = ngx_murmur_hash2(tags[i].data, tags[i].len);

        t = ngx_http_imprest_cache_tag_find(hash, tags[i].data, tags[i].len);

        if (t == NULL) {
            t = ngx_http_imprest_cache_alloc(
                    offsetof(ngx_http_imprest_cache_tag_t, data)
                    + tags[i].len);

            if (t == NULL) {
                goto failed;
            }

            /* the allocation may have evicted e itself */
            if (ngx_http_imprest_cache_find(lk->hash, lk->key, lk->keylen)
                != e)
            {
                ngx_slab_free_locked(w->shpool, t);
                goto done;
            }

            t->hash = hash;
            t->len = (u_short) tags[i].len;
            ngx_memcpy(t->data, tags[i].data, tags[i].len);
            ngx_queue_init(&t->links);
            t->next = w->sh->tag_buckets[hash & w->sh->mask];
            w->sh->tag_buckets[hash & w->sh->mask] = t;
        }

        e->links[i].tag = t;
        e->links[i].entry = e;
        ngx_queue_insert_tail(&t->links, &e->links[i].queue);
        e->nlinks++;
    }

    (void) ngx_atomic_fetch_add(&w->sh->counters.stores, 1);

    goto done;

failed:

    ngx_http_imprest_cache_free(e);

done:

    ngx_shmtx_unlock(&w->shpool->mutex);
}


/*
 * Did an invalidation that may concern these tags arrive while the
 * reply was in flight?  Then the reply may predate it: not stored.
 */

static ngx_uint_t
ngx_http_imprest_cache_seen(ngx_http_imprest_cache_lookup_t *lk,
    ngx_str_t *tags, ngx_uint_t ntags)
{
    uint32_t                          h[NGX_HTTP_IMPREST_CACHE_TAGS];
    uint64_t                          s;
    ngx_uint_t                        i;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    if (w->seq == lk->seq) {
        return 0;
    }

    if (w->seq - lk->seq >= NGX_HTTP_IMPREST_CACHE_RING
        || w->flush_seq > lk->seq)
    {
        return 1;
    }

    for (i = 0; i < ntags; i++) {
        h[i] = ngx_murmur_hash2(tags[i].data, tags[i].len);
    }

    for (s = lk->seq + 1; s <= w->seq; s++) {
        for (i = 0; i < ntags; i++) {
            if (w->ring[s % NGX_HTTP_IMPREST_CACHE_RING] == h[i]) {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * A stored reply: a flat array of integers and strings (the token
 * script's shape), as [n:2] then per element 'i' [8] or 's' [len:4]
 * bytes.  Returns 0 for anything else: not stored.
 */

static size_t
ngx_http_imprest_cache_serialize(redisReply *rep, u_char *buf)
{
    u_char      *p;
    size_t       i, need;
    uint32_t     n;
    redisReply  *e;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0
        || rep->elements > NGX_HTTP_IMPREST_CACHE_MAX_ELTS)
    {
        return 0;
    }

    p = buf;
    *p++ = (u_char) rep->elements;
    *p++ = 0;

    for (i = 0; i < rep->elements; i++) {
        e = rep->element[i];

        if (e->type == REDIS_REPLY_INTEGER) {
            if (p + 9 > buf + NGX_HTTP_IMPREST_CACHE_MAX_BLOB) {
                return 0;
            }

            *p++ = 'i';
            ngx_memcpy(p, &e->integer, 8);
            p += 8;

        } else if (e->type == REDIS_REPLY_STRING) {
            need = 5 + e->len;

            if (e->len > 65535
                || p + need > buf + NGX_HTTP_IMPREST_CACHE_MAX_BLOB)
            {
                return 0;
            }

            *p++ = 's';
            n = (uint32_t) e->len;
            ngx_memcpy(p, &n, 4);
            p += 4;
            p = ngx_cpymem(p, e->str, e->len);

        } else {
            return 0;
        }
    }

    return p - buf;
}


static redisReply *
ngx_http_imprest_cache_rebuild(ngx_pool_t *pool, u_char *blob, size_t len)
{
    u_char      *p, *last;
    size_t       i, n;
    uint32_t     sl;
    redisReply  *rep, *e;

    p = blob;
    last = blob + len;

    if (len < 2) {
        return NULL;
    }

    n = p[0];
    p += 2;

    rep = ngx_pcalloc(pool, sizeof(redisReply) + n * sizeof(redisReply *)
                            + n * sizeof(redisReply));
    if (rep == NULL) {
        return NULL;
    }

    rep->type = REDIS_REPLY_ARRAY;
    rep->elements = n;
    rep->element = (redisReply **) (rep + 1);
    e = (redisReply *) (rep->element + n);

    for (i = 0; i < n; i++, e++) {
        rep->element[i] = e;

        if (p < last && *p == 'i' && last - p >= 9) {
            e->type = REDIS_REPLY_INTEGER;
            ngx_memcpy(&e->integer, p + 1, 8);
            p += 9;
            continue;
        }

        if (p < last && *p == 's' && last - p >= 5) {
            ngx_memcpy(&sl, p + 1, 4);
            p += 5;

            if ((size_t) (last - p) < sl) {
                return NULL;
            }

            e->type = REDIS_REPLY_STRING;
            e->len = sl;
            e->str = (char *) p;
            p += sl;
            continue;
        }

        return NULL;
    }

    return rep;
}


/* flushes */

static void
ngx_http_imprest_cache_flush_own(const char *why)
{
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    w->tracked_link = 0;

    (void) ngx_atomic_fetch_add(&w->slot->gen, 1);
    (void) ngx_atomic_fetch_add(&w->sh->counters.flushes, 1);

    /* a reply in flight now may have been read before a lost message */
    w->flush_seq = ++w->seq;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "imprest: cache: this worker's entries flushed: %s", why);
}


static void
ngx_http_imprest_cache_flush_all(void)
{
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    (void) ngx_atomic_fetch_add(&w->sh->epoch, 1);
    (void) ngx_atomic_fetch_add(&w->sh->counters.flushes, 1);
    w->flush_seq = ++w->seq;
}


/* the command link closed: its tracking ended with it */

static void
ngx_http_imprest_cache_link_lost(void)
{
    if (ngx_http_imprest_cache_w) {
        ngx_http_imprest_cache_flush_own("command link closed");
    }
}


/* the invalidation connection */

static void
ngx_http_imprest_cache_tick(ngx_event_t *ev)
{
    ngx_msec_t                        limit;
    ngx_http_imprest_cache_worker_t  *w = ev->data;

    if (w->exiting || ngx_exiting || ngx_quit || ngx_terminate) {
        if (!w->exiting) {
            w->exiting = 1;
            ngx_http_imprest_cache_drop(NGX_LOG_INFO, "worker exiting");
        }

        return;
    }

    ngx_add_timer(&w->tick, ngx_max(w->conf->confirm / 5, 1));

    if (w->state == NGX_HTTP_IMPREST_INVAL_DOWN) {
        if ((ngx_msec_int_t) (ngx_current_msec - w->next_connect) >= 0) {
            ngx_http_imprest_cache_connect();
        }

        return;
    }

    if (w->state == NGX_HTTP_IMPREST_INVAL_HANDSHAKE) {
        if (ngx_current_msec - w->started > w->rcf->connect_timeout) {
            ngx_http_imprest_cache_drop(NGX_LOG_ERR,
                                        "subscription timed out");
        }

        return;
    }

    if (!w->tracking_pending
        && (w->tracked_link == 0 || w->tracked_instance != w->instance
            || w->tracked_link != ngx_http_imprest_redis_link())
        && (ngx_msec_int_t) (ngx_current_msec - w->tracking_retry) >= 0)
    {
        ngx_http_imprest_cache_track();
    }

    if (w->ping_out) {
        /* late PONGs only bypass; a hung connection is replaced */
        limit = ngx_max(w->rcf->timeout, 4 * w->conf->confirm);

        if (ngx_current_msec - w->ping_sent > limit) {
            ngx_http_imprest_cache_drop(NGX_LOG_ERR, "PING unanswered");
        }

        return;
    }

    ngx_http_imprest_cache_ping();
}


static void
ngx_http_imprest_cache_ping(void)
{
    const char                       *argv[1];
    size_t                            len[1];
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    argv[0] = "PING";
    len[0] = 4;
    ngx_http_imprest_cache_append(1, argv, len);

    w->ping_sent = ngx_current_msec;
    w->ping_out = 1;

    ngx_http_imprest_cache_write(w->c->write);
}


static void
ngx_http_imprest_cache_connect(void)
{
    int                               argc;
    ngx_int_t                         rc;
    const char                       *argv[4];
    size_t                            len[4];
    ngx_connection_t                 *c;
    ngx_peer_connection_t            *pc;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    pc = &w->pc;
    ngx_memzero(pc, sizeof(ngx_peer_connection_t));

    pc->sockaddr = w->addr.sockaddr;
    pc->socklen = w->addr.socklen;
    pc->name = &w->addr.name;
    pc->get = ngx_event_get_peer;
    pc->log = w->log;
    pc->log_error = NGX_ERROR_ERR;

    w->next_connect = ngx_current_msec + (w->backoff ? w->backoff : 100);
    w->backoff = w->backoff ? ngx_min(w->backoff * 2, w->rcf->retry) : 100;

    rc = ngx_event_connect_peer(pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        if (pc->connection) {
            ngx_close_connection(pc->connection);
            pc->connection = NULL;
        }

        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "imprest: cache: redis %V: cannot connect the "
                      "invalidation connection", &w->rcf->addr);
        return;
    }

    c = pc->connection;
    c->data = w;
    c->read->handler = ngx_http_imprest_cache_read;
    c->write->handler = ngx_http_imprest_cache_write;
    c->read->log = w->log;
    c->write->log = w->log;

    w->c = c;
    w->reader = redisReaderCreate();
    if (w->reader == NULL) {
        ngx_http_imprest_cache_drop(NGX_LOG_ERR, "out of memory");
        return;
    }

    w->state = NGX_HTTP_IMPREST_INVAL_HANDSHAKE;
    w->step = 0;
    w->started = ngx_current_msec;
    w->ping_out = 0;
    w->out_pos = w->out;
    w->out_last = w->out;

    if (w->rcf->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        len[argc++] = 4;

        if (w->rcf->user.len) {
            argv[argc] = (char *) w->rcf->user.data;
            len[argc++] = w->rcf->user.len;
        }

        argv[argc] = (char *) w->rcf->password.data;
        len[argc++] = w->rcf->password.len;

        ngx_http_imprest_cache_append(argc, argv, len);
    }

    argv[0] = "CLIENT";
    len[0] = 6;
    argv[1] = "ID";
    len[1] = 2;
    ngx_http_imprest_cache_append(2, argv, len);

    argv[0] = "SUBSCRIBE";
    len[0] = 9;
    argv[1] = NGX_HTTP_IMPREST_CACHE_CHANNEL;
    len[1] = sizeof(NGX_HTTP_IMPREST_CACHE_CHANNEL) - 1;
    ngx_http_imprest_cache_append(2, argv, len);

    if (rc == NGX_OK) {
        ngx_http_imprest_cache_write(c->write);
    }
}


/*
 * Closing the subscription ends this worker's protection: its entries go
 * at once, and it bypasses the zone until a new one is confirmed.
 */

static void
ngx_http_imprest_cache_drop(ngx_uint_t level, const char *why)
{
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    if (w == NULL) {
        return;
    }

    if (w->c) {
        ngx_log_error(level, w->log, 0,
                      "imprest: cache: redis %V: invalidation connection "
                      "closed: %s", &w->rcf->addr, why);

        ngx_close_connection(w->c);
        w->c = NULL;
    }

    if (w->reader) {
        redisReaderFree(w->reader);
        w->reader = NULL;
    }

    if (w->state == NGX_HTTP_IMPREST_INVAL_SUBSCRIBED) {
        ngx_http_imprest_cache_flush_own(why);
    }

    w->state = NGX_HTTP_IMPREST_INVAL_DOWN;
    w->tracked_link = 0;
    w->ping_out = 0;
    w->slot->confirmed = 0;
}


static void
ngx_http_imprest_cache_append(int argc, const char **argv, const size_t *len)
{
    int                               i;
    size_t                            need;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    need = NGX_INT_T_LEN + 3;

    for (i = 0; i < argc; i++) {
        need += NGX_SIZE_T_LEN + 5 + len[i];
    }

    if (w->out_pos == w->out_last) {
        w->out_pos = w->out;
        w->out_last = w->out;
    }

    if ((size_t) (w->out + sizeof(w->out) - w->out_last) < need) {
        /* only a PING can queue behind the handshake: this never grows */
        ngx_log_error(NGX_LOG_ALERT, w->log, 0,
                      "imprest: cache: invalidation connection buffer full");
        return;
    }

    w->out_last = ngx_sprintf(w->out_last, "*%d\r\n", argc);

    for (i = 0; i < argc; i++) {
        w->out_last = ngx_sprintf(w->out_last, "$%uz\r\n", len[i]);
        w->out_last = ngx_cpymem(w->out_last, argv[i], len[i]);
        *w->out_last++ = '\r';
        *w->out_last++ = '\n';
    }
}


static void
ngx_http_imprest_cache_write(ngx_event_t *ev)
{
    ssize_t                           n;
    ngx_connection_t                 *c;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    c = ev->data;

    if (w == NULL || w->c != c) {
        return;
    }

    if (ev->timedout) {
        ngx_http_imprest_cache_drop(NGX_LOG_ERR, "connect timed out");
        return;
    }

    while (w->out_pos < w->out_last) {
        n = c->send(c, w->out_pos, w->out_last - w->out_pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_imprest_cache_drop(NGX_LOG_ERR, "write failed");
            return;
        }

        w->out_pos += n;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_imprest_cache_drop(NGX_LOG_ERR, "write event failed");
    }
}


static void
ngx_http_imprest_cache_read(ngx_event_t *ev)
{
    void                             *reply;
    ssize_t                           n;
    ngx_connection_t                 *c;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;
    u_char                            buf[16384];

    c = ev->data;

    if (w == NULL || w->c != c) {
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_imprest_cache_drop(NGX_LOG_ERR,
                                        n == 0 ? "closed by Redis"
                                               : "read failed");
            return;
        }

        if (redisReaderFeed(w->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_imprest_cache_drop(NGX_LOG_ERR, "out of memory");
            return;
        }

        for ( ;; ) {
            reply = NULL;

            if (redisReaderGetReply(w->reader, &reply) != REDIS_OK) {
                ngx_http_imprest_cache_drop(NGX_LOG_ERR, "protocol error");
                return;
            }

            if (reply == NULL) {
                break;
            }

            n = ngx_http_imprest_cache_message(reply);
            freeReplyObject(reply);

            if (n != NGX_OK) {
                return;
            }
        }

        /* one invalidation message naming very many keys is fine; more
         * unparsed than max_reply is not */
        if (w->reader->len - w->reader->pos > w->rcf->max_reply) {
            ngx_http_imprest_cache_drop(NGX_LOG_ERR,
                                        "message exceeds max_reply");
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_imprest_cache_drop(NGX_LOG_ERR, "read event failed");
    }
}


static ngx_uint_t
ngx_http_imprest_cache_is(redisReply *e, const char *s)
{
    size_t  n;

    n = ngx_strlen(s);

    return e->type == REDIS_REPLY_STRING && e->len == n
           && ngx_strncmp(e->str, s, n) == 0;
}


/* NGX_OK, or the connection was dropped */

static ngx_int_t
ngx_http_imprest_cache_message(redisReply *rep)
{
    size_t                            i;
    redisReply                       *keys;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    if (w->state == NGX_HTTP_IMPREST_INVAL_HANDSHAKE) {

        if (w->step == 0 && w->rcf->password.len) {
            w->step++;

            if (rep->type != REDIS_REPLY_STATUS) {
                ngx_http_imprest_cache_drop(NGX_LOG_ERR, "AUTH failed");
                return NGX_ERROR;
            }

            return NGX_OK;
        }

        if (rep->type == REDIS_REPLY_INTEGER) {
            w->id = rep->integer;
            w->step++;
            return NGX_OK;
        }

        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
            && ngx_http_imprest_cache_is(rep->element[0], "subscribe")
            && ngx_http_imprest_cache_is(rep->element[1],
                                         NGX_HTTP_IMPREST_CACHE_CHANNEL)
            && w->id > 0)
        {
            w->state = NGX_HTTP_IMPREST_INVAL_SUBSCRIBED;
            w->instance++;
            w->tracked_link = 0;
            w->backoff = 0;

            ngx_log_error(NGX_LOG_INFO, w->log, 0,
                          "imprest: cache: redis %V: invalidation "
                          "connection subscribed", &w->rcf->addr);

            /* confirmed by its first PONG; tracking turned on at once */
            ngx_http_imprest_cache_ping();
            ngx_http_imprest_cache_track();
            return NGX_OK;
        }

        ngx_http_imprest_cache_drop(NGX_LOG_ERR, "unexpected reply to the "
                                    "subscription");
        return NGX_ERROR;
    }

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2
        && ngx_http_imprest_cache_is(rep->element[0], "pong"))
    {
        if (w->ping_out) {
            w->ping_out = 0;
            w->slot->confirmed = w->ping_sent;
        }

        return NGX_OK;
    }

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
        && ngx_http_imprest_cache_is(rep->element[0], "message")
        && ngx_http_imprest_cache_is(rep->element[1],
                                     NGX_HTTP_IMPREST_CACHE_CHANNEL))
    {
        keys = rep->element[2];

        /* FLUSHALL, FLUSHDB: every key */
        if (keys->type == REDIS_REPLY_NIL) {
            (void) ngx_atomic_fetch_add(&w->sh->counters.invalidations, 1);
            ngx_http_imprest_metrics_cache(
                NGX_HTTP_IMPREST_METRICS_CACHE_INVALIDATION);
            ngx_http_imprest_cache_flush_all();
            return NGX_OK;
        }

        if (keys->type == REDIS_REPLY_STRING) {
            ngx_http_imprest_cache_invalidate((u_char *) keys->str,
                                              keys->len);
            return NGX_OK;
        }

        if (keys->type == REDIS_REPLY_ARRAY) {
            for (i = 0; i < keys->elements; i++) {
                if (keys->element[i]->type != REDIS_REPLY_STRING) {
                    ngx_http_imprest_cache_flush_all();
                    continue;
                }

                ngx_http_imprest_cache_invalidate(
                    (u_char *) keys->element[i]->str, keys->element[i]->len);
            }

            return NGX_OK;
        }
    }

    ngx_http_imprest_cache_drop(NGX_LOG_ERR, "unexpected message");

    return NGX_ERROR;
}


/*
 * The key Redis names, mapped to the tag of the entries that depend on
 * it: "at:<digest>" (the token), "user:<uid>" for any "user:<uid>..."
 * key (memberships, roles), "client:<cid>" (the app).  A key of our
 * prefix that maps to nothing known flushes everything.
 */

static void
ngx_http_imprest_cache_invalidate(u_char *key, size_t len)
{
    u_char                           *s, *p;
    size_t                            n, plen;
    uint32_t                          hash;
    ngx_queue_t                      *q;
    ngx_http_imprest_cache_tag_t     *t;
    ngx_http_imprest_cache_link_t    *l;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    (void) ngx_atomic_fetch_add(&w->sh->counters.invalidations, 1);
    ngx_http_imprest_metrics_cache(
        NGX_HTTP_IMPREST_METRICS_CACHE_INVALIDATION);

    plen = w->rcf->prefix.len;

    if (len < plen || ngx_memcmp(key, w->rcf->prefix.data, plen) != 0) {
        return;
    }

    s = key + plen;
    n = len - plen;

#define NGX_HTTP_IMPREST_STARTS(k)                                           \
    (n > sizeof(k) - 1 && ngx_memcmp(s, k, sizeof(k) - 1) == 0)

    if (NGX_HTTP_IMPREST_STARTS(NGX_HTTP_IMPREST_KEY_AT)) {
        /* the whole key */

    } else if (NGX_HTTP_IMPREST_STARTS(NGX_HTTP_IMPREST_KEY_USER)) {
        p = ngx_strlchr(s + sizeof(NGX_HTTP_IMPREST_KEY_USER) - 1, s + n,
                        ':');
        if (p) {
            n = p - s;
        }

    } else if (NGX_HTTP_IMPREST_STARTS(NGX_HTTP_IMPREST_KEY_CLIENT)) {
        p = ngx_strlchr(s + sizeof(NGX_HTTP_IMPREST_KEY_CLIENT) - 1, s + n,
                        ':');
        if (p) {
            n = p - s;
        }

    } else {
        ngx_http_imprest_cache_flush_all();
        return;
    }

#undef NGX_HTTP_IMPREST_STARTS

    hash = ngx_murmur_hash2(s, n);

    w->ring[++w->seq % NGX_HTTP_IMPREST_CACHE_RING] = hash;

    ngx_shmtx_lock(&w->shpool->mutex);

    t = ngx_http_imprest_cache_tag_find(hash, s, n);

    while (t) {
        q = ngx_queue_head(&t->links);
        l = ngx_queue_data(q, ngx_http_imprest_cache_link_t, queue);

        /* freeing the tag's last entry frees the tag */
        if (ngx_queue_next(q) == ngx_queue_sentinel(&t->links)) {
            t = NULL;
        }

        ngx_http_imprest_cache_free(l->entry);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


/* CLIENT TRACKING on the command link, redirected to the subscription */

static void
ngx_http_imprest_cache_track(void)
{
    u_char                           *p;
    ngx_str_t                        *pfx;
    ngx_uint_t                        i, link;
    const char                       *argv[12];
    size_t                            len[12];
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;
    static u_char                     id[NGX_INT64_LEN];
    static u_char                     prefixes[3][256];
    static const char                *kinds[3] = {
        NGX_HTTP_IMPREST_KEY_AT, NGX_HTTP_IMPREST_KEY_USER,
        NGX_HTTP_IMPREST_KEY_CLIENT
    };

    link = ngx_http_imprest_redis_link();
    if (link == 0 || w->tracking_pending) {
        return;
    }

    pfx = &w->rcf->prefix;

    if (pfx->len > 200) {
        return;
    }

    argv[0] = "CLIENT";
    len[0] = 6;
    argv[1] = "TRACKING";
    len[1] = 8;
    argv[2] = "off";
    len[2] = 3;
    argv[3] = "REDIRECT";
    len[3] = 8;
    argv[4] = (char *) id;
    len[4] = ngx_sprintf(id, "%L", w->id) - id;
    argv[5] = "BCAST";
    len[5] = 5;

    /* every key kind the token lookup reads (src/lua/token.lua) */
    for (i = 0; i < 3; i++) {
        p = ngx_sprintf(prefixes[i], "%V%s", pfx, kinds[i]);
        argv[6 + 2 * i] = "PREFIX";
        len[6 + 2 * i] = 6;
        argv[7 + 2 * i] = (char *) prefixes[i];
        len[7 + 2 * i] = p - prefixes[i];
    }

    /*
     * Off first: a link that had tracking on (towards a subscription now
     * gone) would refuse the same prefixes again as "overlapping".
     */
    if (ngx_http_imprest_redis_send(3, argv, len,
                                    ngx_http_imprest_cache_off_reply, NULL)
        != NGX_OK)
    {
        return;
    }

    argv[2] = "on";
    len[2] = 2;

    if (ngx_http_imprest_redis_send(12, argv, len,
                                    ngx_http_imprest_cache_track_reply, NULL)
        != NGX_OK)
    {
        return;
    }

    w->tracking_pending = 1;
    w->req_link = link;
    w->req_instance = w->instance;
}


static void
ngx_http_imprest_cache_track_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                       *rep = reply;
    ngx_http_imprest_cache_worker_t  *w = ngx_http_imprest_cache_w;

    if (w == NULL) {
        return;
    }

    w->tracking_pending = 0;

    if (rep == NULL) {
        return;
    }

    if (rep->type != REDIS_REPLY_STATUS) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "imprest: cache: redis %V: CLIENT TRACKING refused, "
                      "cache bypassed: %*s", &w->rcf->addr,
                      (size_t) ngx_min(rep->len, 200),
                      rep->str ? rep->str : "");

        w->tracking_retry = ngx_current_msec + w->rcf->retry;
        return;
    }

    if (w->state == NGX_HTTP_IMPREST_INVAL_SUBSCRIBED
        && w->req_instance == w->instance
        && w->req_link == ngx_http_imprest_redis_link())
    {
        w->tracked_link = w->req_link;
        w->tracked_instance = w->req_instance;

        ngx_log_error(NGX_LOG_INFO, w->log, 0,
                      "imprest: cache: redis %V: tracking on",
                      &w->rcf->addr);
    }
}


static void
ngx_http_imprest_cache_off_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    /* what matters is the reply to "on", which comes next */
}
