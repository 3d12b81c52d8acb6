/*
 * Copyright (C) Imprest
 *
 * imprestctl: administration of the Redis records the gateway reads
 * (README.md, "Redis schema").  A short-lived process, so it uses
 * hiredis's synchronous API; every value travels as a binary-safe %b
 * argument, and every change that touches several keys is one MULTI/EXEC.
 * Output is one JSON object on stdout; errors are {"error":"..."} on
 * stderr with exit status 1, or 2 for usage errors.
 *
 *   ngx_http_imprest_ctl.c          main, usage, the command table, errors
 *   ngx_http_imprest_ctl_options.c  options and argument checks
 *   ngx_http_imprest_ctl_redis.c    connection, keys, commands, MULTI/EXEC
 *   ngx_http_imprest_ctl_output.c   the JSON output
 *   ngx_http_imprest_ctl_users.c    user add, user del
 *   ngx_http_imprest_ctl_orgs.c     org add, org del, member add, member del
 *   ngx_http_imprest_ctl_tokens.c   token mint, token revoke, token show
 *   ngx_http_imprest_ctl_apps.c     app create, list, show, delete, secret
 */

#ifndef _NGX_HTTP_IMPREST_CTL_H_INCLUDED_
#define _NGX_HTTP_IMPREST_CTL_H_INCLUDED_


#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_oauth.h"
#include "ngx_http_imprest_schema.h"


#define NGX_HTTP_IMPREST_CTL_OK           0
#define NGX_HTTP_IMPREST_CTL_ERROR        1
#define NGX_HTTP_IMPREST_CTL_USAGE        2
#define NGX_HTTP_IMPREST_CTL_HELP         3
#define NGX_HTTP_IMPREST_CTL_AGAIN        4     /* a WATCHed key changed */

#define NGX_HTTP_IMPREST_CTL_ID_MAX       128
#define NGX_HTTP_IMPREST_CTL_PREFIX_MAX   128
#define NGX_HTTP_IMPREST_CTL_NAME_MAX     256
#define NGX_HTTP_IMPREST_CTL_APP_NAME_MAX 100
#define NGX_HTTP_IMPREST_CTL_URI_MAX      2000
#define NGX_HTTP_IMPREST_CTL_CID_RANDOM   12            /* 96 bits */
#define NGX_HTTP_IMPREST_CTL_CID_LEN      28            /* "app_" 24 hex */
#define NGX_HTTP_IMPREST_CTL_AUD_MAX      512
#define NGX_HTTP_IMPREST_CTL_KEY_MAX      512
#define NGX_HTTP_IMPREST_CTL_TTL_MAX      315360000     /* ten years */
#define NGX_HTTP_IMPREST_CTL_EXP_MAX      253402300799LL /* 9999-12-31 */
#define NGX_HTTP_IMPREST_CTL_DEFAULT_TTL  7200
#define NGX_HTTP_IMPREST_CTL_RETRIES      10
#define NGX_HTTP_IMPREST_CTL_TIMEOUT      5

#define NGX_HTTP_IMPREST_CTL_DEFAULT_REDIS   "127.0.0.1:6379"
#define NGX_HTTP_IMPREST_CTL_DEFAULT_PREFIX  "imprest:"


typedef struct {
    redisContext   *redis;
    const char     *prefix;
    size_t          prefix_len;
    time_t          now;
    int             queued;     /* commands in the open MULTI */
    int             failed;     /* one could not be queued */
} ngx_http_imprest_ctl_t;


typedef struct {
    u_char          data[NGX_HTTP_IMPREST_CTL_KEY_MAX];
    size_t          len;
} ngx_http_imprest_ctl_key_t;


/*
 * one --option of a subcommand; list != NULL makes it repeatable, flag
 * makes it take no value (value is then "1" when given)
 */
typedef struct {
    const char     *name;
    const char     *value;
    const char    **list;
    int             n;
    int             flag;
} ngx_http_imprest_ctl_opt_t;


typedef int (*ngx_http_imprest_ctl_handler_pt)(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);


/* one try of a change that WATCHes keys (ngx_http_imprest_ctl_retry()) */
typedef int (*ngx_http_imprest_ctl_prepare_pt)(ngx_http_imprest_ctl_t *ctl,
    void *data);


typedef struct {
    const char                       *noun;
    const char                       *verb;
    ngx_http_imprest_ctl_handler_pt   handler;
} ngx_http_imprest_ctl_command_t;


/*
 * Each handler is called twice: with ctl == NULL to check its arguments
 * before any connection, then to do the work.
 */

int ngx_http_imprest_ctl_fail(int rc, const char *fmt, ...);

#define ngx_http_imprest_ctl_error(...)                                     \
    ngx_http_imprest_ctl_fail(NGX_HTTP_IMPREST_CTL_ERROR, __VA_ARGS__)
#define ngx_http_imprest_ctl_usage_error(...)                               \
    ngx_http_imprest_ctl_fail(NGX_HTTP_IMPREST_CTL_USAGE, __VA_ARGS__)

const char *ngx_http_imprest_ctl_optarg(int argc, char **argv, int *i,
    const char *name);
int ngx_http_imprest_ctl_parse(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, char **pos, int maxpos,
    int *npos);
int ngx_http_imprest_ctl_number(const char *s, long long min,
    long long max, long long *out);
int ngx_http_imprest_ctl_check_id(const char *what, const char *s);
int ngx_http_imprest_ctl_check_name(const char *s, size_t max);
int ngx_http_imprest_ctl_scope_set(const char **s);
int ngx_http_imprest_ctl_check_redirect_uri(const char *s);
int ngx_http_imprest_ctl_check_uuid(const char *s, u_char *out);
int ngx_http_imprest_ctl_check_owner(const char *owner);
int ngx_http_imprest_ctl_parse_id(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, const char *what,
    const char **id);

int ngx_http_imprest_ctl_connect(ngx_http_imprest_ctl_t *ctl,
    const char *addr, const char *user, const char *password,
    const char *db);
int ngx_http_imprest_ctl_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const void *id,
    size_t len, const char *suffix);
int ngx_http_imprest_ctl_secret_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const u_char *secret,
    size_t len);
redisReply *ngx_http_imprest_ctl_reply(ngx_http_imprest_ctl_t *ctl);
redisReply *ngx_http_imprest_ctl_command(ngx_http_imprest_ctl_t *ctl,
    const char *fmt, ...);
int ngx_http_imprest_ctl_run(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    ...);
int ngx_http_imprest_ctl_watch(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, ngx_http_imprest_ctl_key_t *other);
int ngx_http_imprest_ctl_exists(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, long long *n);
int ngx_http_imprest_ctl_append(ngx_http_imprest_ctl_t *ctl,
    const char *fmt, ...);
int ngx_http_imprest_ctl_must_exist(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *what);
void ngx_http_imprest_ctl_multi(ngx_http_imprest_ctl_t *ctl);
void ngx_http_imprest_ctl_queue(ngx_http_imprest_ctl_t *ctl,
    const char *fmt, ...);
redisReply *ngx_http_imprest_ctl_exec_once(ngx_http_imprest_ctl_t *ctl);
redisReply *ngx_http_imprest_ctl_members(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *set);
int ngx_http_imprest_ctl_positive(redisReply *r);
redisReply *ngx_http_imprest_ctl_retry(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_prepare_pt prepare, void *data);
int ngx_http_imprest_ctl_set_name(ngx_http_imprest_ctl_t *ctl,
    const char *kind, const void *id, size_t len, const char *name);

int ngx_http_imprest_ctl_print(json_t *obj);
int ngx_http_imprest_ctl_print_ok(int existed);
int ngx_http_imprest_ctl_print_deleted(redisReply *reply);
int ngx_http_imprest_ctl_set_str(json_t *obj, const char *key,
    const void *s, size_t len);
json_t *ngx_http_imprest_ctl_split(const char *s, size_t len);
int ngx_http_imprest_ctl_print_pair(const char *k1, const void *v1,
    size_t l1, const char *k2, const void *v2, size_t l2);
json_t *ngx_http_imprest_ctl_number_json(const char *s, size_t len,
    long long min, long long *n);

int ngx_http_imprest_ctl_unlink_all(ngx_http_imprest_ctl_t *ctl,
    const char *own, const void *self, size_t len, const char *set,
    const char *kind, const char *suffix, int uuids);

int ngx_http_imprest_ctl_user_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_user_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_org_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_org_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_member_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_member_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_token_mint(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_token_revoke(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_token_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_app_create(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_app_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_app_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_app_delete(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_app_secret(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);


#endif /* _NGX_HTTP_IMPREST_CTL_H_INCLUDED_ */
