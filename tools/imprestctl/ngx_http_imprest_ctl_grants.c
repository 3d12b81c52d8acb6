/*
 * Copyright (C) Imprest
 *
 * imprestctl: "grant list" and "grant revoke", and the ending of grants
 * that deleting a user, an organization, a membership or an app does.
 * They run the gateway's own scripts (src/lua/connections.lua and
 * src/lua/disconnect.lua, embedded in src/ngx_http_imprest_lua.h), so the
 * CLI lists and ends grants exactly as the connected-apps pages do:
 * through the grant indexes, never a keyspace scan.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_imprest_lua.h"

#include "ngx_http_imprest_ctl.h"


/* src/lua/connections.lua, src/lua/disconnect.lua */
/* where the id-name pairs of the reply being printed end */
static size_t  ngx_http_imprest_ctl_names_end;


static const char  ngx_http_imprest_ctl_connections[] =
    NGX_HTTP_IMPREST_LUA_CONNECTIONS;
static const char  ngx_http_imprest_ctl_disconnect_lua[] =
    NGX_HTTP_IMPREST_LUA_DISCONNECT;


/* a grant in connections.lua's reply: gid, cid, app ... gexp */
#define NGX_HTTP_IMPREST_CTL_GRANT_FIELDS  9


static json_t *ngx_http_imprest_ctl_grant_json(redisReply **f,
    redisReply *r, size_t names);
static json_t *ngx_http_imprest_ctl_grant_orgs(redisReply *orgs,
    redisReply *r, size_t names);
static int ngx_http_imprest_ctl_grant_index(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, char **pos, int maxpos,
    int *npos, u_char *org);


/*
 * disconnect.lua: ends the grants of the index ("user", "client", "org"
 * or "grant") id, only those of app cid and of user uid when these are
 * not NULL; with org != NULL (a canonical UUID) only that organization
 * leaves them (a grant left with none ends).  *n: how many grants
 * changed.
 */

int
ngx_http_imprest_ctl_disconnect(ngx_http_imprest_ctl_t *ctl,
    const char *index, const void *id, size_t len, const char *cid,
    const char *uid, const u_char *org, long long *n)
{
    redisReply  *reply;

    cid = cid ? cid : "";
    uid = uid ? uid : "";

    reply = ngx_http_imprest_ctl_command(ctl,
                "EVAL %b 0 %b %b %b %b %b %b %b",
                ngx_http_imprest_ctl_disconnect_lua,
                sizeof(ngx_http_imprest_ctl_disconnect_lua) - 1,
                ctl->prefix, ctl->prefix_len,
                index, strlen(index),
                id, len,
                cid, strlen(cid),
                uid, strlen(uid),
                org ? (const char *) org : "",
                org ? (size_t) NGX_HTTP_IMPREST_UUID_LEN : 0,
                "", (size_t) 0);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer != 1
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_redis_error(
                   "unexpected reply of disconnect.lua");
    }

    *n = reply->element[1]->integer;
    freeReplyObject(reply);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * The options of "grant list" and "grant revoke" that choose an index:
 * --user, --client and --org (opts[0..2]), each checked; org is the
 * canonical --org.
 */

static int
ngx_http_imprest_ctl_grant_index(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, char **pos, int maxpos,
    int *npos, u_char *org)
{
    int  rc;

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, nopts, pos, maxpos,
                                    npos);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (opts[0].value) {
        rc = ngx_http_imprest_ctl_check_id("--user", opts[0].value);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    if (opts[1].value) {
        rc = ngx_http_imprest_ctl_check_id("--client", opts[1].value);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    if (opts[2].value) {
        rc = ngx_http_imprest_ctl_check_uuid(opts[2].value, org);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_grant_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, given;
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    size_t                       i, count, names, end, len;
    json_t                      *obj, *arr, *g;
    const char                  *index, *id;
    redisReply                  *reply;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--user", NULL, NULL, 0, 0 },
        { "--client", NULL, NULL, 0, 0 },
        { "--org", NULL, NULL, 0, 0 }
    };

    rc = ngx_http_imprest_ctl_grant_index(argc, argv, opts, 3, NULL, 0, &n,
                                          org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    given = (opts[0].value != NULL) + (opts[1].value != NULL)
            + (opts[2].value != NULL);

    if (given != 1) {
        return ngx_http_imprest_ctl_usage_error(
                   "one of --user, --client or --org");
    }

    if (ctl == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    if (opts[0].value) {
        index = "user";
        id = opts[0].value;
        len = strlen(id);

    } else if (opts[1].value) {
        index = "client";
        id = opts[1].value;
        len = strlen(id);

    } else {
        index = "org";
        id = (const char *) org;
        len = sizeof(org);
    }

    reply = ngx_http_imprest_ctl_command(ctl,
                "EVAL %b 0 %b %b %b %b",
                ngx_http_imprest_ctl_connections,
                sizeof(ngx_http_imprest_ctl_connections) - 1,
                ctl->prefix, ctl->prefix_len,
                index, strlen(index),
                id, len,
                "", (size_t) 0);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    /* {1, n, n times 9 fields, then id, name of each organization} */

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer != 1
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->integer < 0
        || (size_t) reply->element[1]->integer
           > (reply->elements - 2) / NGX_HTTP_IMPREST_CTL_GRANT_FIELDS)
    {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_redis_error(
                   "unexpected reply of connections.lua");
    }

    count = (size_t) reply->element[1]->integer;
    names = 2 + count * NGX_HTTP_IMPREST_CTL_GRANT_FIELDS;

    /*
     * then m, m id-name pairs (the organizations named), k, k pairs (the
     * organizations an index "user" administers: not used here)
     */
    if (names >= reply->elements
        || reply->element[names]->type != REDIS_REPLY_INTEGER
        || reply->element[names]->integer < 0
        || (size_t) reply->element[names]->integer
           > (reply->elements - names - 1) / 2)
    {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_redis_error(
                   "unexpected reply of connections.lua");
    }

    end = names + 1 + 2 * (size_t) reply->element[names]->integer;

    if (end >= reply->elements
        || reply->element[end]->type != REDIS_REPLY_INTEGER
        || reply->element[end]->integer < 0
        || (size_t) reply->element[end]->integer * 2
           != reply->elements - end - 1)
    {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_redis_error(
                   "unexpected reply of connections.lua");
    }

    for (i = 2; i < reply->elements; i++) {
        if (i != names && i != end
            && reply->element[i]->type != REDIS_REPLY_STRING)
        {
            freeReplyObject(reply);
            return ngx_http_imprest_ctl_redis_error(
                       "unexpected reply of connections.lua");
        }
    }

    /* the pairs, for the lookups below: [names, end) */
    names++;
    ngx_http_imprest_ctl_names_end = end;

    obj = json_object();
    arr = json_array();

    if (obj == NULL || arr == NULL
        || json_object_set_new(obj, "grants", arr) != 0)
    {
        json_decref(obj);
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("out of memory");
    }

    for (i = 0; i < count; i++) {
        g = ngx_http_imprest_ctl_grant_json(reply->element + 2
                                            + i
                                            * NGX_HTTP_IMPREST_CTL_GRANT_FIELDS,
                                            reply, names);

        if (g == NULL || json_array_append_new(arr, g) != 0) {
            json_decref(obj);
            freeReplyObject(reply);
            return ngx_http_imprest_ctl_error(
                       "a grant is not valid UTF-8 or out of memory");
        }
    }

    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_cols(obj,
                                           "gid app uid orgs scope created "
                                           "expires");
}


static json_t *
ngx_http_imprest_ctl_grant_json(redisReply **f, redisReply *r,
    size_t names)
{
    json_t  *g;

    g = json_object();
    if (g == NULL) {
        return NULL;
    }

    if (ngx_http_imprest_ctl_set_str(g, "gid", f[0]->str, f[0]->len) != 0
        || ngx_http_imprest_ctl_set_str(g, "client_id", f[1]->str, f[1]->len)
           != 0
        || ngx_http_imprest_ctl_set_str(g, "app", f[2]->str, f[2]->len) != 0
        || ngx_http_imprest_ctl_set_str(g, "uid", f[3]->str, f[3]->len) != 0
        || ngx_http_imprest_ctl_set_str(g, "user", f[4]->str, f[4]->len) != 0
        || ngx_http_imprest_ctl_set_str(g, "scope", f[5]->str, f[5]->len)
           != 0
        || json_object_set_new(g, "orgs",
                               ngx_http_imprest_ctl_grant_orgs(f[6], r,
                                                               names))
           != 0
        || json_object_set_new(g, "created",
                               ngx_http_imprest_ctl_number_json(f[7]->str,
                                                                f[7]->len, 0,
                                                                NULL))
           != 0
        || json_object_set_new(g, "expires",
                               ngx_http_imprest_ctl_number_json(f[8]->str,
                                                                f[8]->len, 0,
                                                                NULL))
           != 0)
    {
        json_decref(g);
        return NULL;
    }

    return g;
}


/* a grant's space-separated orgs as [{"id","name"}], names from the tail */

static json_t *
ngx_http_imprest_ctl_grant_orgs(redisReply *orgs, redisReply *r,
    size_t names)
{
    size_t       i, j;
    json_t      *arr, *o, *ids;
    const char  *id;
    redisReply  *k, *v;

    ids = ngx_http_imprest_ctl_split(orgs->str, orgs->len);
    if (ids == NULL) {
        return NULL;
    }

    arr = json_array();
    if (arr == NULL) {
        json_decref(ids);
        return NULL;
    }

    json_array_foreach(ids, i, o) {
        id = json_string_value(o);
        v = NULL;

        for (j = names; j + 1 < ngx_http_imprest_ctl_names_end; j += 2) {
            k = r->element[j];

            if (k->len == json_string_length(o)
                && memcmp(k->str, id, k->len) == 0)
            {
                v = r->element[j + 1];
                break;
            }
        }

        if (json_array_append_new(arr,
                json_pack("{s:O,s:s%}", "id", o, "name",
                          v ? v->str : "", v ? v->len : 0)) != 0)
        {
            json_decref(ids);
            json_decref(arr);
            return NULL;
        }
    }

    json_decref(ids);

    return arr;
}


int
ngx_http_imprest_ctl_grant_revoke(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    json_t                      *obj;
    size_t                       len;
    long long                    changed;
    const char                  *index, *id, *cid;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--user", NULL, NULL, 0, 0 },
        { "--client", NULL, NULL, 0, 0 },
        { "--org", NULL, NULL, 0, 0 }
    };

    rc = ngx_http_imprest_ctl_grant_index(argc, argv, opts, 3, pos, 1, &n,
                                          org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (n) {
        if (opts[0].value || opts[1].value || opts[2].value) {
            return ngx_http_imprest_ctl_usage_error(
                       "GID or --user, --client, --org, not both");
        }

        rc = ngx_http_imprest_ctl_check_id("GID", pos[0]);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }

    } else if (opts[0].value == NULL && opts[1].value == NULL
               && opts[2].value == NULL)
    {
        return ngx_http_imprest_ctl_usage_error(
                   "missing GID, --user, --client or --org");
    }

    if (ctl == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    /* the narrowest index; the other options filter */

    cid = NULL;

    if (n) {
        index = "grant";
        id = pos[0];
        len = strlen(id);

    } else if (opts[0].value) {
        index = "user";
        id = opts[0].value;
        len = strlen(id);
        cid = opts[1].value;

    } else if (opts[1].value) {
        index = "client";
        id = opts[1].value;
        len = strlen(id);

    } else {
        index = "org";
        id = (const char *) org;
        len = sizeof(org);
    }

    rc = ngx_http_imprest_ctl_disconnect(ctl, index, id, len, cid, NULL,
                                         opts[2].value ? org : NULL,
                                         &changed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (n && changed == 0) {
        return ngx_http_imprest_ctl_not_found("no such grant");
    }

    obj = json_pack("{s:b,s:I}", "ok", 1, "grants_changed",
                    (json_int_t) changed);

    return ngx_http_imprest_ctl_print(obj);
}
