/*
 * Copyright (C) Imprest
 *
 * Prometheus metrics (text exposition format 0.0.4).
 *
 * One shared memory zone, "imprest_metrics", exists when some location
 * says "imprest_metrics;".  It holds fixed arrays of counters: every
 * worker adds to the same words with ngx_atomic_fetch_add, so the totals
 * are exact sums over the workers with no lock and no per-worker merge at
 * scrape time.  Label sets are fixed at compile time (outcomes, endpoints,
 * grant types, error codes, worker slots): no token, user, organization
 * or client id ever becomes a label.
 *
 * On reload nginx reuses a zone of the same name and size, so counters go
 * on counting; they restart from zero only when nginx restarts or the
 * zone's layout changes (a module upgrade), which Prometheus treats as a
 * counter reset.  The per-worker Redis gauge is rewritten by the new
 * generation of workers: a generation number in the zone keeps the old
 * workers, still draining, from overwriting their successors' slots.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <time.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_lua.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_metrics.h"


#define NGX_HTTP_IMPREST_METRICS_VERSION   1

/* $imprest_status values, ngx_http_imprest_outcome_e */
#define NGX_HTTP_IMPREST_METRICS_OUTCOMES  8

/* ngx_http_imprest_endpoint_e */
#define NGX_HTTP_IMPREST_METRICS_ENDPOINTS 7

/* status classes: 0 other, 1xx .. 5xx */
#define NGX_HTTP_IMPREST_METRICS_CLASSES   6

#define NGX_HTTP_IMPREST_METRICS_GRANTS    3
#define NGX_HTTP_IMPREST_METRICS_RESULTS   9
#define NGX_HTTP_IMPREST_METRICS_BUCKETS   13


typedef struct {
    ngx_atomic_t   layout;       /* first in every version */
    ngx_atomic_t   generation;   /* of workers: bumped on each reload */
    ngx_atomic_t   counter[NGX_HTTP_IMPREST_M_N];
    ngx_atomic_t   gate[NGX_HTTP_IMPREST_METRICS_OUTCOMES];
    ngx_atomic_t   endpoint[NGX_HTTP_IMPREST_METRICS_ENDPOINTS]
                           [NGX_HTTP_IMPREST_METRICS_CLASSES];
    ngx_atomic_t   token[NGX_HTTP_IMPREST_METRICS_GRANTS]
                        [NGX_HTTP_IMPREST_METRICS_RESULTS];
    ngx_atomic_t   reuse[2];     /* code, refresh token */
    ngx_atomic_t   cache[NGX_HTTP_IMPREST_METRICS_CACHE_N];
    ngx_atomic_t   bucket[NGX_HTTP_IMPREST_METRICS_BUCKETS + 1];
    ngx_atomic_t   redis_us;     /* sum of the observed latencies */
    ngx_atomic_t   worker[NGX_MAX_PROCESSES];  /* generation << 1 | up */
} ngx_http_imprest_metrics_shm_t;


#define NGX_HTTP_IMPREST_METRICS_LAYOUT                                       \
    ((ngx_atomic_uint_t) NGX_HTTP_IMPREST_METRICS_VERSION * 0x100000          \
     + sizeof(ngx_http_imprest_metrics_shm_t))


typedef struct {
    u_char        *p;
    u_char        *last;
} ngx_http_imprest_metrics_out_t;


static ngx_int_t ngx_http_imprest_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_shm_zone_t *ngx_http_imprest_metrics_zone(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_imprest_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_metrics_log_handler(ngx_http_request_t *r);
static void ngx_http_imprest_metrics_family(ngx_http_imprest_metrics_out_t *o,
    const char *name, const char *type, const char *help);
static void ngx_http_imprest_metrics_render(ngx_http_imprest_metrics_out_t *o,
    ngx_http_imprest_metrics_shm_t *m, ngx_uint_t workers);
static uint64_t ngx_http_imprest_metrics_now(void);


static ngx_str_t  ngx_http_imprest_metrics_name = ngx_string("imprest_metrics");

/* this worker's view of the zone; NULL: metrics off (or not a worker yet) */
static ngx_http_imprest_metrics_shm_t  *ngx_http_imprest_metrics_shm;
static ngx_atomic_uint_t                ngx_http_imprest_metrics_generation;
static ngx_uint_t                       ngx_http_imprest_metrics_slot;


/* the gate's $imprest_status values (ngx_http_imprest_gate.c), in order */
static const char  *ngx_http_imprest_metrics_outcomes[] = {
    "", "ok", "no_token", "invalid_request", "invalid_token",
    "insufficient_scope", "org_forbidden", "redis_unavailable"
};

static const char  *ngx_http_imprest_metrics_endpoints[] = {
    "", "organizations", "authorize", "token", "revoke", "introspect",
    "metadata"
};

static const char  *ngx_http_imprest_metrics_classes[] = {
    "other", "1xx", "2xx", "3xx", "4xx", "5xx"
};

static const char  *ngx_http_imprest_metrics_grants[] = {
    "authorization_code", "refresh_token", "other"
};

/* "issued", then the RFC 6749 5.2 codes the token endpoint sends */
static const char  *ngx_http_imprest_metrics_results[] = {
    "issued", "invalid_request", "invalid_client", "invalid_grant",
    "invalid_scope", "unauthorized_client", "unsupported_grant_type",
    "temporarily_unavailable", "other"
};

static const char  *ngx_http_imprest_metrics_caches[] = {
    "hit", "miss", "bypass"
};

/* upper bounds, microseconds, and as Prometheus's "le" labels */
static const uint64_t  ngx_http_imprest_metrics_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000
};

static const char  *ngx_http_imprest_metrics_le[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"
};


char *
ngx_http_imprest_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    size_t                     size;
    ngx_shm_zone_t            *shm_zone;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate or follows another content handler";
    }

    /* the slab pool's own pages, then the counters */
    size = 8 * ngx_pagesize
           + ngx_align(sizeof(ngx_http_imprest_metrics_shm_t), ngx_pagesize);

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_imprest_metrics_name, size,
                                     &ngx_http_imprest_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_imprest_metrics_init_zone;

    clcf->handler = ngx_http_imprest_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_imprest_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_uint_t                       i;
    ngx_slab_pool_t                 *shpool;
    ngx_http_imprest_metrics_shm_t  *m, *old = data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old) {
        if (old->layout == NGX_HTTP_IMPREST_METRICS_LAYOUT) {
            /* a reload: the counters go on, the gauges are the new
             * workers' to set */
            old->generation++;

            for (i = 0; i < NGX_MAX_PROCESSES; i++) {
                old->worker[i] = old->generation << 1;
            }

            shm_zone->data = old;
            return NGX_OK;
        }

        /* another module version's counters: start again */
        ngx_slab_free(shpool, old);
    }

    m = ngx_slab_calloc(shpool, sizeof(ngx_http_imprest_metrics_shm_t));
    if (m == NULL) {
        return NGX_ERROR;
    }

    m->layout = NGX_HTTP_IMPREST_METRICS_LAYOUT;
    m->generation = 1;

    for (i = 0; i < NGX_MAX_PROCESSES; i++) {
        m->worker[i] = m->generation << 1;
    }

    shm_zone->data = m;

    return NGX_OK;
}


static ngx_shm_zone_t *
ngx_http_imprest_metrics_zone(ngx_cycle_t *cycle)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_imprest_module
            && zone[i].shm.name.len == ngx_http_imprest_metrics_name.len
            && ngx_strncmp(zone[i].shm.name.data,
                           ngx_http_imprest_metrics_name.data,
                           ngx_http_imprest_metrics_name.len)
               == 0)
        {
            return &zone[i];
        }
    }
}


/* the endpoints' answers are counted in the log phase, whatever they were */

ngx_int_t
ngx_http_imprest_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (ngx_http_imprest_metrics_zone(cf->cycle) == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_imprest_metrics_log_handler;

    return NGX_OK;
}


/*
 * The pointer is taken from the cycle each worker runs, never kept from
 * configuration time: the master may have parsed (and dropped) other
 * configurations since.
 */

ngx_int_t
ngx_http_imprest_metrics_init_worker(ngx_cycle_t *cycle)
{
    ngx_shm_zone_t  *zone;

    ngx_http_imprest_metrics_shm = NULL;

    zone = ngx_http_imprest_metrics_zone(cycle);
    if (zone == NULL || zone->data == NULL) {
        return NGX_OK;
    }

    ngx_http_imprest_metrics_shm = zone->data;
    ngx_http_imprest_metrics_generation =
                                 ngx_http_imprest_metrics_shm->generation;

    /* cache manager and loader processes run this too: no slot of theirs */
    ngx_http_imprest_metrics_slot = (ngx_process == NGX_PROCESS_WORKER
                                     || ngx_process == NGX_PROCESS_SINGLE)
                                    && ngx_worker < NGX_MAX_PROCESSES;

    ngx_http_imprest_metrics_redis_state(0);

    return NGX_OK;
}


void
ngx_http_imprest_metrics_add(ngx_http_imprest_metric_e m, ngx_uint_t n)
{
    if (ngx_http_imprest_metrics_shm == NULL || n == 0
        || (ngx_uint_t) m >= NGX_HTTP_IMPREST_M_N)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->counter[m],
                                (ngx_atomic_int_t) n);
}


void
ngx_http_imprest_metrics_gate(ngx_uint_t outcome)
{
    if (ngx_http_imprest_metrics_shm == NULL
        || outcome >= NGX_HTTP_IMPREST_METRICS_OUTCOMES)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->gate[outcome],
                                1);
}


void
ngx_http_imprest_metrics_cache(ngx_http_imprest_metrics_cache_e kind)
{
    if (ngx_http_imprest_metrics_shm == NULL
        || (ngx_uint_t) kind >= NGX_HTTP_IMPREST_METRICS_CACHE_N)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->cache[kind],
                                1);
}


void
ngx_http_imprest_metrics_token(ngx_http_imprest_as_t *as, const char *error)
{
    ngx_str_t   grant;
    ngx_uint_t  g, i;

    if (ngx_http_imprest_metrics_shm == NULL
        || as->ilcf->endpoint != NGX_HTTP_IMPREST_EP_TOKEN)
    {
        return;
    }

    g = NGX_HTTP_IMPREST_METRICS_GRANTS - 1;

    if (ngx_http_imprest_as_param(as, "grant_type", &grant) == 1) {
        for (i = 0; i < NGX_HTTP_IMPREST_METRICS_GRANTS - 1; i++) {
            if (grant.len == ngx_strlen(ngx_http_imprest_metrics_grants[i])
                && ngx_strncmp(grant.data, ngx_http_imprest_metrics_grants[i],
                               grant.len)
                   == 0)
            {
                g = i;
                break;
            }
        }
    }

    i = 0;

    if (error) {
        for (i = 1; i < NGX_HTTP_IMPREST_METRICS_RESULTS - 1; i++) {
            if (ngx_strcmp(error, ngx_http_imprest_metrics_results[i]) == 0) {
                break;
            }
        }
    }

    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->token[g][i], 1);
}


void
ngx_http_imprest_metrics_refusal(ngx_int_t reason)
{
    ngx_uint_t  i;

    if (ngx_http_imprest_metrics_shm == NULL) {
        return;
    }

    /* RFC 9700 4.14.2, RFC 6749 4.1.2: a spent code or token shown again */
    if (reason == NGX_HTTP_IMPREST_REASON_CODE_USED) {
        i = 0;

    } else if (reason == NGX_HTTP_IMPREST_REASON_REFRESH_TOKEN_USED) {
        i = 1;

    } else {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->reuse[i], 1);
}


/*
 * Latency is taken from the command's queueing to its reply's parsing, so
 * it includes the time a command is held behind a batch in flight: what a
 * request waits.  CLOCK_MONOTONIC through the vDSO costs tens of
 * nanoseconds; nginx's cached clock has only milliseconds.
 */

static uint64_t
ngx_http_imprest_metrics_now(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


uint64_t
ngx_http_imprest_metrics_redis_start(void)
{
    if (ngx_http_imprest_metrics_shm == NULL) {
        return 0;
    }

    return ngx_http_imprest_metrics_now();
}


void
ngx_http_imprest_metrics_redis_reply(uint64_t start)
{
    uint64_t    now, us;
    ngx_uint_t  i;

    if (ngx_http_imprest_metrics_shm == NULL || start == 0) {
        return;
    }

    now = ngx_http_imprest_metrics_now();
    us = (now > start) ? now - start : 0;

    for (i = 0; i < NGX_HTTP_IMPREST_METRICS_BUCKETS; i++) {
        if (us <= ngx_http_imprest_metrics_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&ngx_http_imprest_metrics_shm->redis_us,
                                (ngx_atomic_int_t) us);
}


void
ngx_http_imprest_metrics_redis_state(ngx_uint_t connected)
{
    ngx_atomic_t       *slot;
    ngx_atomic_uint_t   old, set;

    if (ngx_http_imprest_metrics_shm == NULL
        || !ngx_http_imprest_metrics_slot)
    {
        return;
    }

    slot = &ngx_http_imprest_metrics_shm->worker[ngx_worker];
    set = (ngx_http_imprest_metrics_generation << 1) | (connected ? 1 : 0);

    for ( ;; ) {
        old = *slot;

        /* a worker of an older generation, draining after a reload */
        if ((old >> 1) > ngx_http_imprest_metrics_generation) {
            return;
        }

        if (ngx_atomic_cmp_set(slot, old, set)) {
            return;
        }
    }
}


static ngx_int_t
ngx_http_imprest_metrics_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                    status, c;
    ngx_http_imprest_loc_conf_t  *ilcf;

    if (ngx_http_imprest_metrics_shm == NULL) {
        return NGX_OK;
    }

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    if (ilcf->endpoint == NGX_HTTP_IMPREST_EP_NONE
        || ilcf->endpoint >= NGX_HTTP_IMPREST_METRICS_ENDPOINTS)
    {
        return NGX_OK;
    }

    /* as $status */
    status = r->err_status ? r->err_status : r->headers_out.status;
    c = (status >= 100 && status < 600) ? status / 100 : 0;

    (void) ngx_atomic_fetch_add(
               &ngx_http_imprest_metrics_shm->endpoint[ilcf->endpoint][c], 1);

    return NGX_OK;
}


static ngx_int_t
ngx_http_imprest_metrics_handler(ngx_http_request_t *r)
{
    size_t                           size;
    ngx_str_t                        body;
    ngx_uint_t                       workers;
    ngx_core_conf_t                 *ccf;
    ngx_http_imprest_metrics_out_t   o;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_imprest_metrics_shm == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "imprest: metrics zone not attached");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    workers = (ngx_process == NGX_PROCESS_SINGLE) ? 1
              : (ngx_uint_t) ccf->worker_processes;
    workers = ngx_min(workers, NGX_MAX_PROCESSES);

    /* at most 200 bytes a line, 120 lines and one per worker */
    size = (120 + workers) * 200;

    o.p = ngx_pnalloc(r->pool, size);
    if (o.p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = o.p;
    o.last = o.p + size;

    ngx_http_imprest_metrics_render(&o, ngx_http_imprest_metrics_shm,
                                    workers);

    if (o.p == o.last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "imprest: metrics page over %uz bytes", size);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = o.p - body.data;

    return ngx_http_imprest_send(r, NGX_HTTP_OK,
                                 "text/plain; version=0.0.4; charset=utf-8",
                                 &body);
}


static void
ngx_http_imprest_metrics_family(ngx_http_imprest_metrics_out_t *o,
    const char *name, const char *type, const char *help)
{
    o->p = ngx_slprintf(o->p, o->last, "# HELP %s %s\n# TYPE %s %s\n",
                        name, help, name, type);
}


#define ngx_http_imprest_metrics_line(o, ...)                                 \
    (o)->p = ngx_slprintf((o)->p, (o)->last, __VA_ARGS__)


static void
ngx_http_imprest_metrics_render(ngx_http_imprest_metrics_out_t *o,
    ngx_http_imprest_metrics_shm_t *m, ngx_uint_t workers)
{
    ngx_uint_t         i, j;
    ngx_atomic_uint_t  v, n;

    ngx_http_imprest_metrics_family(o, "imprest_gate_requests_total",
        "counter",
        "Gate decisions by outcome (the values of $imprest_status).");

    for (i = 1; i < NGX_HTTP_IMPREST_METRICS_OUTCOMES; i++) {
        ngx_http_imprest_metrics_line(o,
            "imprest_gate_requests_total{outcome=\"%s\"} %uA\n",
            ngx_http_imprest_metrics_outcomes[i], m->gate[i]);
    }

    ngx_http_imprest_metrics_family(o, "imprest_endpoint_requests_total",
        "counter", "Authorization server and organizations endpoint "
        "requests by endpoint and response status class.");

    for (i = 1; i < NGX_HTTP_IMPREST_METRICS_ENDPOINTS; i++) {
        for (j = 0; j < NGX_HTTP_IMPREST_METRICS_CLASSES; j++) {
            ngx_http_imprest_metrics_line(o,
                "imprest_endpoint_requests_total{endpoint=\"%s\","
                "code=\"%s\"} %uA\n", ngx_http_imprest_metrics_endpoints[i],
                ngx_http_imprest_metrics_classes[j], m->endpoint[i][j]);
        }
    }

    ngx_http_imprest_metrics_family(o, "imprest_token_requests_total",
        "counter", "Token endpoint answers by grant type and result "
        "(issued, or the RFC 6749 error code).");

    for (i = 0; i < NGX_HTTP_IMPREST_METRICS_GRANTS; i++) {
        for (j = 0; j < NGX_HTTP_IMPREST_METRICS_RESULTS; j++) {
            ngx_http_imprest_metrics_line(o,
                "imprest_token_requests_total{grant_type=\"%s\","
                "result=\"%s\"} %uA\n", ngx_http_imprest_metrics_grants[i],
                ngx_http_imprest_metrics_results[j], m->token[i][j]);
        }
    }

    ngx_http_imprest_metrics_family(o, "imprest_tokens_issued_total",
        "counter", "Token pairs issued for an authorization code "
        "(new grants).");
    ngx_http_imprest_metrics_line(o, "imprest_tokens_issued_total %uA\n",
                                  m->token[0][0]);

    ngx_http_imprest_metrics_family(o, "imprest_tokens_refreshed_total",
        "counter", "Token pairs issued for a refresh token (rotations).");
    ngx_http_imprest_metrics_line(o, "imprest_tokens_refreshed_total %uA\n",
                                  m->token[1][0]);

    ngx_http_imprest_metrics_family(o, "imprest_tokens_revoked_total",
        "counter", "Revocation requests that ended a live token's grant "
        "(RFC 7009).");
    ngx_http_imprest_metrics_line(o, "imprest_tokens_revoked_total %uA\n",
                                  m->counter[NGX_HTTP_IMPREST_M_REVOKED]);

    ngx_http_imprest_metrics_family(o, "imprest_token_reuse_detected_total",
        "counter", "Spent authorization codes and rotated refresh tokens "
        "presented again.");
    ngx_http_imprest_metrics_line(o,
        "imprest_token_reuse_detected_total{kind=\"code\"} %uA\n"
        "imprest_token_reuse_detected_total{kind=\"refresh_token\"} %uA\n",
        m->reuse[0], m->reuse[1]);

    ngx_http_imprest_metrics_family(o, "imprest_introspections_total",
        "counter", "Introspection answers by the token's state (RFC 7662).");
    ngx_http_imprest_metrics_line(o,
        "imprest_introspections_total{active=\"true\"} %uA\n"
        "imprest_introspections_total{active=\"false\"} %uA\n",
        m->counter[NGX_HTTP_IMPREST_M_INTROSPECT_ACTIVE],
        m->counter[NGX_HTTP_IMPREST_M_INTROSPECT_INACTIVE]);

    ngx_http_imprest_metrics_family(o, "imprest_consent_decisions_total",
        "counter", "Consent forms decided (approved: an authorization code "
        "issued).");
    ngx_http_imprest_metrics_line(o,
        "imprest_consent_decisions_total{decision=\"approved\"} %uA\n"
        "imprest_consent_decisions_total{decision=\"denied\"} %uA\n",
        m->counter[NGX_HTTP_IMPREST_M_CONSENT_APPROVED],
        m->counter[NGX_HTTP_IMPREST_M_CONSENT_DENIED]);

    ngx_http_imprest_metrics_family(o, "imprest_cache_lookups_total",
        "counter", "Token cache lookups by result.");

    for (i = 0; i < NGX_HTTP_IMPREST_METRICS_CACHE_INVALIDATION; i++) {
        ngx_http_imprest_metrics_line(o,
            "imprest_cache_lookups_total{result=\"%s\"} %uA\n",
            ngx_http_imprest_metrics_caches[i], m->cache[i]);
    }

    ngx_http_imprest_metrics_family(o, "imprest_cache_invalidations_total",
        "counter", "Token cache entries dropped by invalidation.");
    ngx_http_imprest_metrics_line(o,
        "imprest_cache_invalidations_total %uA\n",
        m->cache[NGX_HTTP_IMPREST_METRICS_CACHE_INVALIDATION]);

    ngx_http_imprest_metrics_family(o,
        "imprest_redis_command_duration_seconds", "histogram",
        "Redis script calls, from queueing to the reply.");

    n = 0;

    for (i = 0; i <= NGX_HTTP_IMPREST_METRICS_BUCKETS; i++) {
        n += m->bucket[i];
        ngx_http_imprest_metrics_line(o,
            "imprest_redis_command_duration_seconds_bucket{le=\"%s\"} %uA\n",
            ngx_http_imprest_metrics_le[i], n);
    }

    v = m->redis_us;

    ngx_http_imprest_metrics_line(o,
        "imprest_redis_command_duration_seconds_sum %uA.%06uA\n"
        "imprest_redis_command_duration_seconds_count %uA\n",
        v / 1000000, v % 1000000, n);

    ngx_http_imprest_metrics_family(o, "imprest_redis_timeouts_total",
        "counter", "Redis commands and connection attempts that timed out.");
    ngx_http_imprest_metrics_line(o,
        "imprest_redis_timeouts_total{kind=\"command\"} %uA\n"
        "imprest_redis_timeouts_total{kind=\"connect\"} %uA\n",
        m->counter[NGX_HTTP_IMPREST_M_REDIS_CMD_TIMEOUT],
        m->counter[NGX_HTTP_IMPREST_M_REDIS_CONNECT_TIMEOUT]);

    ngx_http_imprest_metrics_family(o, "imprest_redis_reconnects_total",
        "counter", "Redis connection attempts after a worker's first.");
    ngx_http_imprest_metrics_line(o, "imprest_redis_reconnects_total %uA\n",
        m->counter[NGX_HTTP_IMPREST_M_REDIS_RECONNECT]);

    ngx_http_imprest_metrics_family(o, "imprest_redis_connected", "gauge",
        "1 when the worker's Redis link is ready, 0 otherwise (worker: "
        "nginx's worker slot, 0 to worker_processes - 1).");

    for (i = 0; i < workers; i++) {
        ngx_http_imprest_metrics_line(o,
            "imprest_redis_connected{worker=\"%ui\"} %uA\n", i,
            m->worker[i] & 1);
    }
}
