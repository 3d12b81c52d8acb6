/*
 * Copyright (C) Imprest
 *
 * ngx_http_imprest_module: OAuth 2.0 gate and authorization server for
 * Imprest's API.  This file holds only the module: directives, conf
 * create/merge, postconfiguration and worker init/exit.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_redis.h"
#include "ngx_http_imprest_conf_redis.h"
#include "ngx_http_imprest_script.h"
#include "ngx_http_imprest_gate.h"
#include "ngx_http_imprest_cache.h"
#include "ngx_http_imprest_orgs.h"
#include "ngx_http_imprest_oauth.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_metrics.h"


static ngx_int_t ngx_http_imprest_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_imprest_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_imprest_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_imprest_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_imprest_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_imprest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_imprest_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_imprest_realm(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_imprest_strip_header(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_imprest_require_scope(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_imprest_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_imprest_issuer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_imprest_scope(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_imprest_as_postconfiguration(ngx_conf_t *cf,
    ngx_http_imprest_main_conf_t *imcf);
static ngx_int_t ngx_http_imprest_init_process(ngx_cycle_t *cycle);
static void ngx_http_imprest_exit_process(ngx_cycle_t *cycle);
static void ngx_http_imprest_exit_master(ngx_cycle_t *cycle);


static ngx_conf_post_handler_pt  ngx_http_imprest_realm_p =
    ngx_http_imprest_realm;


/* imprest_consent_role: the least role that may connect apps to an org */
static ngx_conf_enum_t  ngx_http_imprest_consent_roles[] = {
    { ngx_string("member"), 0 },
    { ngx_string("admin"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_imprest_commands[] = {

    { ngx_string("imprest_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_imprest_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("imprest_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_imprest_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, cache),
      NULL },

    { ngx_string("imprest_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, cache),
      NULL },

    { ngx_string("imprest_gate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, gate),
      NULL },

    { ngx_string("imprest_require_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_imprest_require_scope,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("imprest_require_org"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, require_org),
      NULL },

    { ngx_string("imprest_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, realm),
      &ngx_http_imprest_realm_p },

    { ngx_string("imprest_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, audience),
      NULL },

    { ngx_string("imprest_identity_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, identity_headers),
      NULL },

    { ngx_string("imprest_strip_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_imprest_strip_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("imprest_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, retry_after),
      NULL },

    { ngx_string("imprest_organizations"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_ORGS,
      NULL },

    { ngx_string("imprest_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_imprest_issuer,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("imprest_scope"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_imprest_scope,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("imprest_code_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, code_ttl),
      NULL },

    { ngx_string("imprest_access_token_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, access_ttl),
      NULL },

    { ngx_string("imprest_refresh_token_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, refresh_ttl),
      NULL },

    { ngx_string("imprest_grant_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, grant_lifetime),
      NULL },

    { ngx_string("imprest_consent_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, consent_ttl),
      NULL },

    { ngx_string("imprest_pkce_required"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, pkce_required),
      NULL },

    { ngx_string("imprest_token_audience"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_imprest_main_conf_t, token_audience),
      NULL },

    { ngx_string("imprest_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, user),
      NULL },

    { ngx_string("imprest_login_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, login_url),
      NULL },

    { ngx_string("imprest_consent_role"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_imprest_loc_conf_t, consent_admins),
      &ngx_http_imprest_consent_roles },

    { ngx_string("imprest_authorize"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_AUTHORIZE,
      NULL },

    { ngx_string("imprest_portal"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_PORTAL,
      NULL },

    { ngx_string("imprest_connections"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_CONNECTIONS,
      NULL },

    { ngx_string("imprest_scopes"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_SCOPES,
      NULL },

    { ngx_string("imprest_register"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_REGISTER,
      NULL },

    { ngx_string("imprest_token"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_TOKEN,
      NULL },

    { ngx_string("imprest_revoke"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_REVOKE,
      NULL },

    { ngx_string("imprest_introspect"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_INTROSPECT,
      NULL },

    { ngx_string("imprest_metadata"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_IMPREST_EP_METADATA,
      NULL },

    { ngx_string("imprest_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_imprest_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_imprest_module_ctx = {
    ngx_http_imprest_preconfiguration,     /* preconfiguration */
    ngx_http_imprest_postconfiguration,    /* postconfiguration */

    ngx_http_imprest_create_main_conf,     /* create main configuration */
    ngx_http_imprest_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_imprest_create_loc_conf,      /* create location configuration */
    ngx_http_imprest_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_imprest_module = {
    NGX_MODULE_V1,
    &ngx_http_imprest_module_ctx,          /* module context */
    ngx_http_imprest_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_imprest_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_imprest_exit_process,         /* exit process */
    ngx_http_imprest_exit_master,          /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_imprest_preconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_imprest_cache_add_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_imprest_gate_add_variables(cf);
}


static ngx_int_t
ngx_http_imprest_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_imprest_main_conf_t  *imcf;

    if (ngx_http_imprest_metrics_postconfiguration(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_imprest_module);

    if (!imcf->used) {
        return NGX_OK;
    }

    if (!imcf->redis_set) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_gate and imprest_organizations need "
                           "\"imprest_redis\" in the http block");
        return NGX_ERROR;
    }

    if (ngx_http_imprest_script_add(cf, &imcf->redis,
                                    &ngx_http_imprest_script_token)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (imcf->as_used
        && ngx_http_imprest_as_postconfiguration(cf, imcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_imprest_script_library(cf, &imcf->redis) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!imcf->gate_used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_imprest_gate_handler;

    return NGX_OK;
}


static void *
ngx_http_imprest_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_imprest_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_imprest_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     imcf->redis.host = NULL;
     *     imcf->redis.unix_path = NULL;
     *     imcf->redis.user = { 0, NULL };
     *     imcf->redis.password = { 0, NULL };
     *     imcf->redis.nscripts = 0;
     */

    imcf->redis.db = NGX_CONF_UNSET;
    imcf->redis.timeout = NGX_CONF_UNSET_MSEC;
    imcf->redis.connect_timeout = NGX_CONF_UNSET_MSEC;
    imcf->redis.retry = NGX_CONF_UNSET_MSEC;
    imcf->redis.max_reply = NGX_CONF_UNSET_SIZE;
    imcf->redis.prefix.len = NGX_CONF_UNSET_SIZE;
    imcf->code_ttl = NGX_CONF_UNSET;
    imcf->access_ttl = NGX_CONF_UNSET;
    imcf->refresh_ttl = NGX_CONF_UNSET;
    imcf->grant_lifetime = NGX_CONF_UNSET;
    imcf->consent_ttl = NGX_CONF_UNSET;
    imcf->pkce_required = NGX_CONF_UNSET;

    return imcf;
}


static char *
ngx_http_imprest_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_imprest_main_conf_t  *imcf = conf;

    ngx_conf_init_value(imcf->redis.db, 0);
    ngx_conf_init_msec_value(imcf->redis.timeout, 500);
    ngx_conf_init_msec_value(imcf->redis.connect_timeout, 1000);
    ngx_conf_init_msec_value(imcf->redis.retry, 1000);
    ngx_conf_init_size_value(imcf->redis.max_reply, 4 * 1024 * 1024);

    if (imcf->redis.prefix.len == NGX_CONF_UNSET_SIZE) {
        ngx_str_set(&imcf->redis.prefix, "imprest:");
    }

    ngx_conf_init_value(imcf->code_ttl, 60);
    ngx_conf_init_value(imcf->access_ttl, 7200);
    ngx_conf_init_value(imcf->refresh_ttl, 30 * 86400);
    ngx_conf_init_value(imcf->grant_lifetime, 30 * 86400);
    ngx_conf_init_value(imcf->consent_ttl, 600);
    ngx_conf_init_value(imcf->pkce_required, 0);

    /* RFC 6749 4.1.2: a maximum lifetime of 10 minutes is RECOMMENDED */
    if (imcf->code_ttl < 1 || imcf->code_ttl > 600) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_code_ttl must be 1s to 10m");
        return NGX_CONF_ERROR;
    }

    if (imcf->access_ttl < 1 || imcf->refresh_ttl < 1
        || imcf->consent_ttl < 1)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest token and consent lifetimes must be "
                           "at least 1s");
        return NGX_CONF_ERROR;
    }

    /* an absolute end for each grant: refresh tokens never outlive it */
    if (imcf->grant_lifetime < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_grant_lifetime must be at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_imprest_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_imprest_loc_conf_t));
    if (ilcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ilcf->realm = { 0, NULL };
     *     ilcf->audience = { 0, NULL };
     *     ilcf->endpoint = NGX_HTTP_IMPREST_EP_NONE;
     */

    ilcf->gate = NGX_CONF_UNSET;
    ilcf->scope = NGX_CONF_UNSET_PTR;
    ilcf->require_org = NGX_CONF_UNSET;
    ilcf->identity_headers = NGX_CONF_UNSET;
    ilcf->strip_headers = NGX_CONF_UNSET_PTR;
    ilcf->retry_after = NGX_CONF_UNSET;
    ilcf->consent_admins = NGX_CONF_UNSET_UINT;
    ilcf->cache = NGX_CONF_UNSET;

    return ilcf;
}


static const char  *ngx_http_imprest_endpoint_names[] = {
    "",
    "imprest_organizations",
    "imprest_authorize",
    "imprest_token",
    "imprest_revoke",
    "imprest_introspect",
    "imprest_metadata",
    "imprest_portal",
    "imprest_connections",
    "imprest_scopes",
    "imprest_register"
};


static char *
ngx_http_imprest_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_imprest_loc_conf_t *prev = parent;
    ngx_http_imprest_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_imprest_main_conf_t  *imcf;

    ngx_conf_merge_value(conf->gate, prev->gate, 0);
    ngx_conf_merge_ptr_value(conf->scope, prev->scope, NULL);
    ngx_conf_merge_value(conf->require_org, prev->require_org, 1);
    ngx_conf_merge_str_value(conf->realm, prev->realm, "imprest");
    ngx_conf_merge_str_value(conf->audience, prev->audience, "");
    ngx_conf_merge_value(conf->identity_headers, prev->identity_headers, 1);
    ngx_conf_merge_ptr_value(conf->strip_headers, prev->strip_headers, NULL);
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 1);

    if (conf->user == NULL) {
        conf->user = prev->user;
    }

    ngx_conf_merge_str_value(conf->login_url, prev->login_url, "");
    ngx_conf_merge_uint_value(conf->consent_admins, prev->consent_admins, 0);
    ngx_conf_merge_value(conf->cache, prev->cache, 0);

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_imprest_module);

    if (conf->cache && imcf->cache == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"imprest_cache on\" needs "
                           "\"imprest_cache_zone\" in the http block");
        return NGX_CONF_ERROR;
    }

    /*
     * The cache's invalidation connection dials imprest_redis's fixed
     * address; it does not follow a Sentinel failover yet, and a cache
     * subscribed to the old primary would miss every invalidation of the
     * new one.  Refused rather than run unsafe.
     */
    if (conf->cache && imcf->redis.sentinel) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"imprest_cache on\" does not work with "
                           "\"imprest_redis sentinel:...\" yet");
        return NGX_CONF_ERROR;
    }

    /*
     * The authorization server's endpoints authenticate clients their own
     * way (RFC 6749 2.3); a Bearer gate in front of them would refuse every
     * client, so the combination is a configuration mistake, also when
     * "imprest_gate on" is inherited from the server block.
     */
    if (conf->gate && conf->endpoint > NGX_HTTP_IMPREST_EP_ORGS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"imprest_gate on\" reaches a location with "
                           "\"%s\": add \"imprest_gate off;\" there",
                           ngx_http_imprest_endpoint_names[conf->endpoint]);
        return NGX_CONF_ERROR;
    }

    if (conf->gate) {
        imcf->used = 1;
        imcf->gate_used = 1;
    }

    if (conf->endpoint == NGX_HTTP_IMPREST_EP_ORGS) {
        imcf->used = 1;
    }

    if (conf->endpoint > NGX_HTTP_IMPREST_EP_ORGS) {
        imcf->used = 1;
        imcf->as_used = 1;
    }

    /* RFC 7591 bodies are parsed in memory: one that spilled would be 413 */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (conf->endpoint == NGX_HTTP_IMPREST_EP_REGISTER
        && clcf->client_body_buffer_size < NGX_HTTP_IMPREST_REGISTER_MAX_BODY)
    {
        clcf->client_body_buffer_size = NGX_HTTP_IMPREST_REGISTER_MAX_BODY;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_imprest_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_imprest_main_conf_t  *imcf = conf;

    if (imcf->redis_set) {
        return "is duplicate";
    }

    imcf->redis_set = 1;

    return ngx_http_imprest_redis_parse(cf, &imcf->redis, cf->args->elts,
                                        cf->args->nelts);
}


/* the realm is sent inside a quoted-string (RFC 9110 11.6.1) */

static char *
ngx_http_imprest_realm(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *realm = data;

    ngx_uint_t  i;

    for (i = 0; i < realm->len; i++) {
        if (realm->data[i] < 0x20 || realm->data[i] == 0x7f
            || realm->data[i] == '"' || realm->data[i] == '\\')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "imprest_realm \"%V\" contains a quote, "
                               "backslash or control character", realm);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_imprest_strip_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_imprest_loc_conf_t *ilcf = conf;

    u_char       ch;
    ngx_str_t   *value, *s;
    ngx_uint_t   i, j;

    if (ilcf->strip_headers == NGX_CONF_UNSET_PTR) {
        ilcf->strip_headers = ngx_array_create(cf->pool, 4,
                                               sizeof(ngx_str_t));
        if (ilcf->strip_headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        for (j = 0; j < value[i].len; j++) {
            ch = ngx_tolower(value[i].data[j]);

            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
                  || ch == '-' || ch == '_'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "imprest_strip_header: invalid header "
                                   "name \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        if (value[i].len == 0) {
            return "has an empty header name";
        }

        s = ngx_array_push(ilcf->strip_headers);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * RFC 6749 3.3: scope-token = 1*NQCHAR.  A constant value is checked
 * here; one built from variables is used as it evaluates.
 */

static char *
ngx_http_imprest_require_scope(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_imprest_loc_conf_t *ilcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_compile_complex_value_t   ccv;

    if (ilcf->scope != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* "" clears an inherited requirement */
    if (value[1].len == 0) {
        ilcf->scope = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_strlchr(value[1].data, value[1].data + value[1].len, '$')
        == NULL)
    {
        for (i = 0; i < value[1].len; i++) {
            if (value[1].data[i] != ' '
                && (value[1].data[i] < 0x21 || value[1].data[i] > 0x7e
                    || value[1].data[i] == '"' || value[1].data[i] == '\\'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "imprest_require_scope: invalid scope "
                                   "\"%V\"", &value[1]);
                return NGX_CONF_ERROR;
            }
        }
    }

    ilcf->scope = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (ilcf->scope == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = ilcf->scope;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_imprest_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_imprest_loc_conf_t *ilcf = conf;

    ngx_str_t                     *uri;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_imprest_main_conf_t  *imcf;

    if (ilcf->endpoint) {
        return "is duplicate: one imprest endpoint per location";
    }

    ilcf->endpoint = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_imprest_module);
    uri = NULL;

    switch (cmd->offset) {

    case NGX_HTTP_IMPREST_EP_ORGS:
        clcf->handler = ngx_http_imprest_orgs_handler;
        break;

    case NGX_HTTP_IMPREST_EP_AUTHORIZE:
        clcf->handler = ngx_http_imprest_authorize_handler;
        break;

    case NGX_HTTP_IMPREST_EP_TOKEN:
        clcf->handler = ngx_http_imprest_token_ep_handler;
        break;

    case NGX_HTTP_IMPREST_EP_REVOKE:
        clcf->handler = ngx_http_imprest_revoke_handler;
        break;

    case NGX_HTTP_IMPREST_EP_INTROSPECT:
        clcf->handler = ngx_http_imprest_introspect_handler;
        break;

    case NGX_HTTP_IMPREST_EP_METADATA:
        clcf->handler = ngx_http_imprest_metadata_handler;
        break;

    case NGX_HTTP_IMPREST_EP_PORTAL:
        clcf->handler = ngx_http_imprest_portal_handler;
        uri = &imcf->portal_uri;
        break;

    case NGX_HTTP_IMPREST_EP_CONNECTIONS:
        clcf->handler = ngx_http_imprest_connections_handler;
        uri = &imcf->connections_uri;
        break;

    case NGX_HTTP_IMPREST_EP_SCOPES:
        clcf->handler = ngx_http_imprest_scopes_handler;
        uri = &imcf->scopes_uri;
        break;

    default: /* NGX_HTTP_IMPREST_EP_REGISTER */
        clcf->handler = ngx_http_imprest_register_handler;
        uri = &imcf->register_uri;
        break;
    }

    if (uri == NULL) {
        return NGX_CONF_OK;
    }

    /*
     * These serve pages (or RFC 7592 client URIs) below their location,
     * which must therefore be a prefix one; its name, without a trailing
     * "/", is the base of their links, and the first one of each kind is
     * what the other pages and the metadata link to.
     */
    if (clcf->regex || clcf->named || clcf->name.len == 0
        || clcf->name.data[0] != '/')
    {
        return "needs a prefix location (\"location /path/ { ... }\")";
    }

    ilcf->base = clcf->name;

    while (ilcf->base.len > 1
           && ilcf->base.data[ilcf->base.len - 1] == '/')
    {
        ilcf->base.len--;
    }

    if (ilcf->base.len == 1) {
        ilcf->base.len = 0;
    }

    if (uri->data == NULL) {
        *uri = ilcf->base;
        uri->data = uri->data ? uri->data : (u_char *) "";
    }

    return NGX_CONF_OK;
}


/*
 * RFC 8414 2: https, no query or fragment.  Plain http is allowed only for
 * a loopback host, which is what the demo and the tests use.
 */

static char *
ngx_http_imprest_issuer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_imprest_main_conf_t *imcf = conf;

    u_char     *p, *last, *host;
    ngx_str_t  *value;

    if (imcf->issuer.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    p = value[1].data;
    last = p + value[1].len;

    if (value[1].len > 8 && ngx_strncmp(p, "https://", 8) == 0) {
        host = p + 8;

    } else if (value[1].len > 7 && ngx_strncmp(p, "http://", 7) == 0) {
        host = p + 7;

        if (!((last - host >= 9 && ngx_strncmp(host, "127.0.0.1", 9) == 0
               && (last - host == 9 || host[9] == ':' || host[9] == '/'))
              || (last - host >= 5 && ngx_strncmp(host, "[::1]", 5) == 0
                  && (last - host == 5 || host[5] == ':' || host[5] == '/'))
              || (last - host >= 9 && ngx_strncmp(host, "localhost", 9) == 0
                  && (last - host == 9 || host[9] == ':'
                      || host[9] == '/'))))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "imprest_issuer \"%V\" must use https "
                               "(http only for a loopback host)", &value[1]);
            return NGX_CONF_ERROR;
        }

    } else {
        goto invalid;
    }

    if (host == last || *host == '/' || last[-1] == '/') {
        goto invalid;
    }

    for ( /* void */ ; p < last; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#' || *p == '"'
            || *p == '\\' || *p == '@')
        {
            goto invalid;
        }
    }

    imcf->issuer = value[1];

    /* what a browser's Origin names on a form POST from our pages */
    imcf->issuer_origin.data = ngx_pnalloc(cf->pool, value[1].len);
    if (imcf->issuer_origin.data == NULL) {
        return NGX_CONF_ERROR;
    }

    imcf->issuer_origin.len = ngx_http_imprest_uri_origin(
                                  imcf->issuer_origin.data, value[1].data,
                                  value[1].len);
    if (imcf->issuer_origin.len == 0) {
        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "imprest_issuer \"%V\" must be an https URL without "
                       "query, fragment or trailing slash", &value[1]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_imprest_scope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_imprest_main_conf_t *imcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_imprest_scope_t  *sc;

    value = cf->args->elts;

    /* RFC 6749 3.3: one scope-token */
    if (!ngx_http_imprest_scope_valid(value[1].data, value[1].len)
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, ' '))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_scope: invalid scope name \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_scope %V: the description is empty",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (imcf->scopes == NULL) {
        imcf->scopes = ngx_array_create(cf->pool, 8,
                                        sizeof(ngx_http_imprest_scope_t));
        if (imcf->scopes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    sc = imcf->scopes->elts;

    for (i = 0; i < imcf->scopes->nelts; i++) {
        if (sc[i].name.len == value[1].len
            && ngx_strncmp(sc[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "imprest_scope \"%V\" is declared twice",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    sc = ngx_array_push(imcf->scopes);
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    sc->name = value[1];
    sc->description = value[2];

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_imprest_as_postconfiguration(ngx_conf_t *cf,
    ngx_http_imprest_main_conf_t *imcf)
{
    u_char                           *p;
    ngx_uint_t                        i;
    ngx_http_imprest_scope_t         *sc;
    ngx_http_imprest_redis_script_t  *scripts[] = {
        &ngx_http_imprest_script_client,
        &ngx_http_imprest_script_consent_put,
        &ngx_http_imprest_script_consent_take,
        &ngx_http_imprest_script_redeem,
        &ngx_http_imprest_script_refresh,
        &ngx_http_imprest_script_revoke,
        &ngx_http_imprest_script_introspect,
        &ngx_http_imprest_script_disconnect,
        &ngx_http_imprest_script_connections,
        &ngx_http_imprest_script_app_create,
        &ngx_http_imprest_script_app,
        &ngx_http_imprest_script_apps,
        &ngx_http_imprest_script_initial
    };

    if (imcf->issuer.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the imprest authorization server needs "
                           "\"imprest_issuer\" in the http block");
        return NGX_ERROR;
    }

    if (imcf->scopes == NULL || imcf->scopes->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the imprest authorization server needs at least "
                           "one \"imprest_scope\" in the http block");
        return NGX_ERROR;
    }

    sc = imcf->scopes->elts;
    imcf->scope_names.len = 0;

    for (i = 0; i < imcf->scopes->nelts; i++) {
        imcf->scope_names.len += sc[i].name.len + 1;
    }

    imcf->scope_names.data = ngx_pnalloc(cf->pool, imcf->scope_names.len);
    if (imcf->scope_names.data == NULL) {
        return NGX_ERROR;
    }

    p = imcf->scope_names.data;

    for (i = 0; i < imcf->scopes->nelts; i++) {
        p = ngx_cpymem(p, sc[i].name.data, sc[i].name.len);
        *p++ = ' ';
    }

    imcf->scope_names.len--;

    for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        if (ngx_http_imprest_script_add(cf, &imcf->redis, scripts[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_imprest_metadata_build(cf, imcf);
}


static ngx_int_t
ngx_http_imprest_init_process(ngx_cycle_t *cycle)
{
    ngx_http_imprest_main_conf_t  *imcf;

    if (ngx_http_imprest_metrics_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_imprest_module);

    if (imcf == NULL || !imcf->used || !imcf->redis_set) {
        return NGX_OK;
    }

    if (ngx_http_imprest_redis_init_worker(cycle, &imcf->redis) != NGX_OK) {
        return NGX_ERROR;
    }

    if (imcf->cache && imcf->gate_used) {
        return ngx_http_imprest_cache_init_worker(cycle, imcf->cache,
                                                  &imcf->redis);
    }

    return NGX_OK;
}


static void
ngx_http_imprest_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_imprest_cache_exit_worker();
    ngx_http_imprest_redis_exit_worker();
    ngx_http_imprest_digest_free();
}


/* the master (and a single process, after exit_process) hashes too */

static void
ngx_http_imprest_exit_master(ngx_cycle_t *cycle)
{
    ngx_http_imprest_digest_free();
}
