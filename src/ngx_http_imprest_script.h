/*
 * Copyright (C) Imprest
 *
 * The Redis scripts (src/lua/): their C descriptions, the EVALSHA names
 * and the function library the workers load.  Each validation is one
 * Redis round trip.
 */

#ifndef _NGX_HTTP_IMPREST_SCRIPT_H_INCLUDED_
#define _NGX_HTTP_IMPREST_SCRIPT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_imprest_redis.h"


#define NGX_HTTP_IMPREST_SCRIPT_MAX_ARGS  16
#define NGX_HTTP_IMPREST_SCRIPT_MAX_NUMS  4


/*
 * One call of a script: EVALSHA's numkeys, KEYS and ARGV, built by
 * ngx_http_imprest_script_NAME_call() in the order of the script's header
 * (src/lua/NAME.lua) from its named arguments.  It lives as long as the
 * command is being queued; the strings it points to, as long as the
 * arguments' own.
 */
typedef struct {
    ngx_http_imprest_redis_script_t  *script;
    int                               argc;
    const char                       *argv[NGX_HTTP_IMPREST_SCRIPT_MAX_ARGS];
    size_t                            len[NGX_HTTP_IMPREST_SCRIPT_MAX_ARGS];
    u_char                            num[NGX_HTTP_IMPREST_SCRIPT_MAX_NUMS]
                                         [NGX_TIME_T_LEN];
    ngx_uint_t                        nnum;
} ngx_http_imprest_script_call_t;


/* src/lua/token.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the token's record */
    ngx_str_t   prefix;
    u_char      mode;               /* 'g' (gate) or 'o' (orgs) */
    ngx_str_t   org;                /* mode 'g': the organization, or "" */
} ngx_http_imprest_token_args_t;

/* src/lua/client.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the client's record */
    ngx_str_t   prefix;
    ngx_str_t   uid;                /* "": no organizations wanted */
} ngx_http_imprest_client_args_t;

/* src/lua/consent_put.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the consent request */
    time_t      ttl;
    ngx_str_t   uid;
    ngx_str_t   cid;
    ngx_str_t   redirect_uri;
    ngx_uint_t  ru_given;
    ngx_str_t   scope;
    ngx_str_t   state;
    ngx_str_t   challenge;
} ngx_http_imprest_consent_put_args_t;

/* src/lua/consent_take.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the consent request */
    ngx_str_t   code_key;           /* KEYS[2], the code to store */
    ngx_str_t   prefix;
    ngx_str_t   uid;
    ngx_str_t   decision;           /* "approve" or "deny" */
    ngx_str_t   orgs;               /* space-separated */
    time_t      code_ttl;
    time_t      now;
    ngx_uint_t  admins;             /* only admins may grant an org */
} ngx_http_imprest_consent_take_args_t;

/* src/lua/redeem.lua */
typedef struct {
    ngx_str_t   code_key;           /* KEYS[1] */
    ngx_str_t   at_key;             /* KEYS[2], the new access token */
    ngx_str_t   rt_key;             /* KEYS[3], the new refresh token */
    ngx_str_t   grant_key;          /* KEYS[4], the new grant */
    ngx_str_t   prefix;
    ngx_str_t   cid;
    ngx_str_t   redirect_uri;       /* "" unless given */
    ngx_uint_t  ru_given;
    ngx_str_t   s256;               /* of the verifier, or "" */
    time_t      now;
    time_t      at_ttl;
    time_t      rt_ttl;
    ngx_str_t   aud;
    ngx_str_t   gid;
    time_t      grant_lifetime;
} ngx_http_imprest_redeem_args_t;

/* src/lua/refresh.lua */
typedef struct {
    ngx_str_t   old_key;            /* KEYS[1], the presented refresh token */
    ngx_str_t   at_key;             /* KEYS[2], the new access token */
    ngx_str_t   rt_key;             /* KEYS[3], the new refresh token */
    ngx_str_t   prefix;
    ngx_str_t   cid;
    ngx_str_t   scope;              /* requested, or "" */
    time_t      now;
    time_t      at_ttl;
    time_t      rt_ttl;
    time_t      grant_lifetime;
} ngx_http_imprest_refresh_args_t;

/* src/lua/revoke.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the token's record */
    ngx_str_t   prefix;
    ngx_str_t   cid;
    const char *type;               /* "at" or "rt" */
} ngx_http_imprest_revoke_args_t;

/* src/lua/introspect.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the token's record */
    ngx_str_t   prefix;
} ngx_http_imprest_introspect_args_t;

/* src/lua/disconnect.lua */
typedef struct {
    ngx_str_t   prefix;
    const char *index;              /* "user", "client", "org", "grant" */
    ngx_str_t   id;
    ngx_str_t   cid;                /* "": any app */
    ngx_str_t   uid;                /* "": any user */
    ngx_str_t   org;                /* "": whole grants */
    ngx_str_t   admin;              /* "": no admin check */
} ngx_http_imprest_disconnect_args_t;

/* src/lua/connections.lua */
typedef struct {
    ngx_str_t   prefix;
    const char *index;              /* "user", "client", "org" */
    ngx_str_t   id;
    ngx_str_t   admin;              /* "": no admin check */
} ngx_http_imprest_connections_args_t;

/* src/lua/app_create.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the client's record */
    ngx_str_t   prefix;
    ngx_str_t   cid;
    ngx_str_t   name;
    ngx_str_t   secret;             /* digest, or "": public */
    ngx_str_t   redirect_uris;      /* space-separated */
    ngx_str_t   scope;
    ngx_str_t   owner;              /* or "" */
    time_t      created;
    ngx_str_t   rat;                /* digest, or "" */
} ngx_http_imprest_app_create_args_t;

/* src/lua/app.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the client's record */
    ngx_str_t   prefix;
    ngx_str_t   cid;
    ngx_str_t   owner;              /* or "" */
    ngx_str_t   rat;                /* digest, or "" */
    const char *op;                 /* "get", "update", "rotate", "delete" */
    ngx_str_t   name;               /* update */
    ngx_str_t   redirect_uris;      /* update */
    ngx_str_t   scope;              /* update */
    ngx_str_t   secret;             /* rotate: the new digest */
} ngx_http_imprest_app_args_t;

/* src/lua/apps.lua */
typedef struct {
    ngx_str_t   prefix;
    ngx_str_t   owner;
} ngx_http_imprest_apps_args_t;

/* src/lua/initial.lua */
typedef struct {
    ngx_str_t   key;                /* KEYS[1], the token's record */
    time_t      now;
} ngx_http_imprest_initial_args_t;


/*
 * The replies, decoded by ngx_http_imprest_script_NAME_reply() into named
 * fields (strings in r->pool).  Each decoder returns NGX_OK (the success
 * shape), NGX_DECLINED (the script's "not found" or refusal shape),
 * NGX_ERROR (not this script's reply: the caller resets the link) or, for
 * the token and client scripts, NGX_ABORT (out of memory, the link kept).
 */

/* {0} | {1, uid, cid, scope, exp, aud, ...}: see src/lua/token.lua */
typedef struct {
    ngx_str_t     uid;
    ngx_str_t     cid;
    ngx_str_t     scope;
    ngx_str_t     exp;
    ngx_str_t     aud;
    ngx_uint_t    granted;          /* mode 'g' */
    ngx_uint_t    member;           /* mode 'g' */
    ngx_array_t  *orgs;             /* mode 'o': ngx_keyval_t, id and name */
} ngx_http_imprest_token_reply_t;

/* one of a user's organizations */
typedef struct {
    ngx_str_t     id;
    ngx_str_t     name;
    unsigned      admin:1;          /* the user's role there */
} ngx_http_imprest_org_t;

/*
 * {0} | {1, name, secret, redirect_uris, scope, introspect,
 *        id, name, role, ...}
 */
typedef struct {
    ngx_str_t     name;
    ngx_str_t     secret;           /* digest, or "" */
    ngx_str_t     redirect_uris;
    ngx_str_t     scope;
    ngx_str_t     introspect;
    ngx_array_t  *orgs;             /* ngx_http_imprest_org_t */
} ngx_http_imprest_client_reply_t;

/* the consent_take script's first element */
#define NGX_HTTP_IMPREST_CONSENT_UNKNOWN     0
#define NGX_HTTP_IMPREST_CONSENT_APPROVED    1
#define NGX_HTTP_IMPREST_CONSENT_DENIED      2
#define NGX_HTTP_IMPREST_CONSENT_OTHER_USER  3
#define NGX_HTTP_IMPREST_CONSENT_NO_ORG      4

/* NGX_DECLINED: unknown or another user's; the strings otherwise */
typedef struct {
    ngx_int_t     status;           /* NGX_HTTP_IMPREST_CONSENT_* */
    ngx_str_t     redirect_uri;
    ngx_str_t     state;
    ngx_str_t     cid;
} ngx_http_imprest_consent_take_reply_t;

/* redeem and refresh: {1, ...} | {0, reason} */
typedef struct {
    ngx_str_t     scope;            /* the access token's */
    ngx_int_t     reason;           /* NGX_DECLINED: a REASON_* code */
} ngx_http_imprest_grant_reply_t;

typedef ngx_int_t (*ngx_http_imprest_grant_reply_pt)(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_grant_reply_t *out);

/* {0} | {1, uid, cid, scope, orgs, iat, exp, aud} */
typedef struct {
    ngx_str_t     uid;
    ngx_str_t     cid;
    ngx_str_t     scope;
    ngx_str_t     orgs;
    ngx_str_t     iat;
    ngx_str_t     exp;
    ngx_str_t     aud;
} ngx_http_imprest_introspect_reply_t;

/* connections: one grant */
typedef struct {
    ngx_str_t     gid;
    ngx_str_t     cid;
    ngx_str_t     client_name;
    ngx_str_t     uid;
    ngx_str_t     user_name;
    ngx_str_t     scope;
    ngx_str_t     orgs;             /* space-separated */
    time_t        created;
    time_t        gexp;
} ngx_http_imprest_grant_t;

/* {0} | {1, n, grants..., m, org id, name..., k, org id, name...} */
typedef struct {
    ngx_array_t  *grants;           /* ngx_http_imprest_grant_t */
    ngx_array_t  *orgs;             /* ngx_keyval_t, id and name */
    ngx_array_t  *admin_of;         /* ngx_keyval_t: index "user" */
} ngx_http_imprest_connections_reply_t;

/* app: {0} | {2} | {1, name, public, redirect_uris, scope, owner, created};
 * apps: one of these each */
typedef struct {
    ngx_str_t     cid;
    ngx_str_t     name;
    ngx_uint_t    public;
    ngx_str_t     redirect_uris;    /* space-separated */
    ngx_str_t     scope;
    ngx_str_t     owner;
    time_t        created;
} ngx_http_imprest_app_t;

/* the app script's first element */
#define NGX_HTTP_IMPREST_APP_UNKNOWN     0
#define NGX_HTTP_IMPREST_APP_OK          1
#define NGX_HTTP_IMPREST_APP_FORBIDDEN   2


extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_token;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_client;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_put;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_consent_take;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_redeem;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_refresh;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_revoke;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_introspect;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_disconnect;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_connections;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_app_create;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_app;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_apps;
extern ngx_http_imprest_redis_script_t  ngx_http_imprest_script_initial;


/* adds s to the scripts the workers load (EVALSHA name and function) */
ngx_int_t ngx_http_imprest_script_add(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_http_imprest_redis_script_t *s);

/* builds the Redis function library of every added script */
ngx_int_t ngx_http_imprest_script_library(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf);

/* the calls: c is filled from the named arguments, ready to be queued */
void ngx_http_imprest_script_token_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_token_args_t *a);
void ngx_http_imprest_script_client_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_client_args_t *a);
void ngx_http_imprest_script_consent_put_call(
    ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_consent_put_args_t *a);
void ngx_http_imprest_script_consent_take_call(
    ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_consent_take_args_t *a);
void ngx_http_imprest_script_redeem_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_redeem_args_t *a);
void ngx_http_imprest_script_refresh_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_refresh_args_t *a);
void ngx_http_imprest_script_revoke_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_revoke_args_t *a);
void ngx_http_imprest_script_introspect_call(
    ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_introspect_args_t *a);
void ngx_http_imprest_script_disconnect_call(
    ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_disconnect_args_t *a);
void ngx_http_imprest_script_connections_call(
    ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_connections_args_t *a);
void ngx_http_imprest_script_app_create_call(
    ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_app_create_args_t *a);
void ngx_http_imprest_script_app_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_app_args_t *a);
void ngx_http_imprest_script_apps_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_apps_args_t *a);
void ngx_http_imprest_script_initial_call(ngx_http_imprest_script_call_t *c,
    ngx_http_imprest_initial_args_t *a);

/* the replies */
ngx_int_t ngx_http_imprest_script_token_reply(ngx_http_request_t *r,
    redisReply *rep, u_char mode, ngx_http_imprest_token_reply_t *out);
ngx_int_t ngx_http_imprest_script_client_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_client_reply_t *out);
ngx_int_t ngx_http_imprest_script_consent_put_reply(redisReply *rep);
ngx_int_t ngx_http_imprest_script_consent_take_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_consent_take_reply_t *out);
ngx_int_t ngx_http_imprest_script_redeem_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_grant_reply_t *out);
ngx_int_t ngx_http_imprest_script_refresh_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_grant_reply_t *out);
ngx_int_t ngx_http_imprest_script_revoke_reply(redisReply *rep);
ngx_int_t ngx_http_imprest_script_introspect_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_introspect_reply_t *out);
/* NGX_OK: {1, n}, *n set | NGX_DECLINED: {0}, not an admin */
ngx_int_t ngx_http_imprest_script_disconnect_reply(redisReply *rep,
    ngx_uint_t *n);
/* NGX_DECLINED: {0}, not an admin */
ngx_int_t ngx_http_imprest_script_connections_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_http_imprest_connections_reply_t *out);
/* NGX_OK: {1} | NGX_DECLINED: {0}, the id exists */
ngx_int_t ngx_http_imprest_script_app_create_reply(redisReply *rep);
/* NGX_OK with *status one of NGX_HTTP_IMPREST_APP_*; out filled on _OK */
ngx_int_t ngx_http_imprest_script_app_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_int_t *status, ngx_http_imprest_app_t *out);
/* out: ngx_http_imprest_app_t */
ngx_int_t ngx_http_imprest_script_apps_reply(ngx_http_request_t *r,
    redisReply *rep, ngx_array_t **out);
/* NGX_OK: valid | NGX_DECLINED: unknown or expired */
ngx_int_t ngx_http_imprest_script_initial_reply(redisReply *rep);


#endif /* _NGX_HTTP_IMPREST_SCRIPT_H_INCLUDED_ */
