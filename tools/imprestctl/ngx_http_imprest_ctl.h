/*
 * Copyright (C) Imprest
 *
 * imprestctl: administration of the Redis records the gateway reads
 * (README.md, "Redis schema").  A short-lived process, so it uses
 * hiredis's synchronous API; every value travels as a binary-safe %b
 * argument, and every change that touches several keys is one MULTI/EXEC.
 * Every command builds one JSON object; it is printed as a table (the
 * default) or, with --json, as compact JSON on stdout.  Errors go to
 * stderr ({"error":"..."} with --json) with the exit status of their kind
 * (NGX_HTTP_IMPREST_CTL_ERROR ... _NOT_FOUND below).
 *
 *   ngx_http_imprest_ctl.c          main, help, the command table, errors
 *   ngx_http_imprest_ctl_options.c  options and argument checks
 *   ngx_http_imprest_ctl_redis.c    connection, keys, commands, MULTI/EXEC
 *   ngx_http_imprest_ctl_output.c   JSON and table output
 *   ngx_http_imprest_ctl_users.c    user add, del, list, show
 *   ngx_http_imprest_ctl_orgs.c     org add, del, list, show; member add,
 *                                   set-role, del, list
 *   ngx_http_imprest_ctl_tokens.c   token mint, token revoke, token show
 *   ngx_http_imprest_ctl_apps.c     app create, list, show, edit,
 *                                   rotate-secret, delete
 *   ngx_http_imprest_ctl_grants.c   grant list, grant revoke (the
 *                                   module's connections.lua and
 *                                   disconnect.lua)
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


/* exit statuses (imprestctl --help, "exit status") */
#define NGX_HTTP_IMPREST_CTL_OK           0
#define NGX_HTTP_IMPREST_CTL_ERROR        1     /* any other failure */
#define NGX_HTTP_IMPREST_CTL_USAGE        2     /* bad command line */
#define NGX_HTTP_IMPREST_CTL_REDIS        3     /* Redis down or erring */
#define NGX_HTTP_IMPREST_CTL_CONFLICT     4     /* exists, or refused */
#define NGX_HTTP_IMPREST_CTL_NOT_FOUND    5     /* no such thing */

/* handler results that are no exit status */
#define NGX_HTTP_IMPREST_CTL_HELP         100
#define NGX_HTTP_IMPREST_CTL_AGAIN        101   /* a WATCHed key changed */

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

#define NGX_HTTP_IMPREST_CTL_ROLE_MAX  6            /* "member" */

/*
 * imprestctl's own indexes of the users and organizations it added (for
 * "user list" and "org list": no keyspace scan).  Not named
 * NGX_HTTP_IMPREST_KEY_*: no script reads them.
 */
#define NGX_HTTP_IMPREST_CTL_KEY_USERS  "users"
#define NGX_HTTP_IMPREST_CTL_KEY_ORGS   "orgs"

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
#define ngx_http_imprest_ctl_redis_error(...)                               \
    ngx_http_imprest_ctl_fail(NGX_HTTP_IMPREST_CTL_REDIS, __VA_ARGS__)
#define ngx_http_imprest_ctl_conflict(...)                                  \
    ngx_http_imprest_ctl_fail(NGX_HTTP_IMPREST_CTL_CONFLICT, __VA_ARGS__)
#define ngx_http_imprest_ctl_not_found(...)                                 \
    ngx_http_imprest_ctl_fail(NGX_HTTP_IMPREST_CTL_NOT_FOUND, __VA_ARGS__)

/* the exit status of the last failure recorded, 0 when none was */
int ngx_http_imprest_ctl_failed(void);

/* --json (global or after a command): JSON instead of tables */
extern int  ngx_http_imprest_ctl_json;

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
int ngx_http_imprest_ctl_check_role(const char *s);
int ngx_http_imprest_ctl_disconnect(ngx_http_imprest_ctl_t *ctl,
    const char *index, const void *id, size_t len, const char *cid,
    const char *uid, const u_char *org, long long *n);
int ngx_http_imprest_ctl_replies(ngx_http_imprest_ctl_t *ctl,
    redisReply **out, size_t n);
void ngx_http_imprest_ctl_free_replies(redisReply **r, size_t n);
redisReply **ngx_http_imprest_ctl_each(ngx_http_imprest_ctl_t *ctl,
    const char *cmd, const char *kind, redisReply *ids, const char *suffix,
    const void *arg, size_t arg_len);
void ngx_http_imprest_ctl_sort(redisReply *arr);
json_t *ngx_http_imprest_ctl_user_orgs(ngx_http_imprest_ctl_t *ctl,
    const char *uid, size_t len);
json_t *ngx_http_imprest_ctl_org_members(ngx_http_imprest_ctl_t *ctl,
    const u_char *org);
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
int ngx_http_imprest_ctl_print_cols(json_t *obj, const char *cols);
void ngx_http_imprest_ctl_print_error(const char *msg);
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
int ngx_http_imprest_ctl_user_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_user_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_org_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_org_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_member_set_role(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
int ngx_http_imprest_ctl_member_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_app_edit(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_grant_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_grant_revoke(ngx_http_imprest_ctl_t *ctl, int argc,
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
