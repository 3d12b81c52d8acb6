/*
 * Copyright (C) Imprest
 *
 * imprestctl: "app create", "app list", "app show", "app edit",
 * "app delete" and "app rotate-secret" (or "app secret").
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_ctl.h"


/* one app command: what its tries need */

typedef struct {
    const char                  *id;
    size_t                       id_len;
    ngx_http_imprest_ctl_opt_t  *opts;
    const char                  *owner;
    size_t                       owner_len;
    const u_char                *hex;
    size_t                       hex_len;
    const u_char                *uris;
    size_t                       uris_len;
    const char                  *introspect;
    char                         created[32];
    u_char                       cid[NGX_HTTP_IMPREST_CTL_CID_LEN];
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_key_t   all;
    ngx_http_imprest_ctl_key_t   user;
    ngx_http_imprest_ctl_key_t   owned;
    ngx_http_imprest_ctl_key_t   grants;
    int                          queued;
} ngx_http_imprest_ctl_app_t;


static int ngx_http_imprest_ctl_app_json(const void *cid, size_t len,
    redisReply *r, int full, const u_char *secret, json_t **out);
static int ngx_http_imprest_ctl_app_create_try(ngx_http_imprest_ctl_t *ctl,
    void *data);
static int ngx_http_imprest_ctl_app_key(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv, ngx_http_imprest_ctl_app_t *app);
static int ngx_http_imprest_ctl_app_delete_try(ngx_http_imprest_ctl_t *ctl,
    void *data);
static int ngx_http_imprest_ctl_app_secret_try(ngx_http_imprest_ctl_t *ctl,
    void *data);
static int ngx_http_imprest_ctl_app_uris(ngx_http_imprest_ctl_opt_t *opt,
    u_char **out, size_t *len);
static int ngx_http_imprest_ctl_app_edit_try(ngx_http_imprest_ctl_t *ctl,
    void *data);


/*
 * The JSON of one app from the reply to HMGET of the fields below, with
 * client_secret (a token just made, shown once) when secret != NULL.
 * Returns 0 with *out set, 1 when there is no such record, or -1 when a
 * value is not UTF-8 or memory runs out.
 */

#define NGX_HTTP_IMPREST_CTL_APP_FIELDS                                     \
    NGX_HTTP_IMPREST_F_NAME " " NGX_HTTP_IMPREST_F_OWNER " "                  \
    NGX_HTTP_IMPREST_F_SECRET " " NGX_HTTP_IMPREST_F_REDIRECT_URIS " "        \
    NGX_HTTP_IMPREST_F_SCOPE " " NGX_HTTP_IMPREST_F_INTROSPECT " "            \
    NGX_HTTP_IMPREST_F_CREATED

static int
ngx_http_imprest_ctl_app_json(const void *cid, size_t len, redisReply *r,
    int full, const u_char *secret, json_t **out)
{
    int          rc;
    size_t       i, vlen[7];
    json_t      *obj;
    const char  *v[7];

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7) {
        return -1;
    }

    rc = 1;

    for (i = 0; i < 7; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING) {
            v[i] = r->element[i]->str;
            vlen[i] = r->element[i]->len;
            rc = 0;

        } else {
            v[i] = "";
            vlen[i] = 0;
        }
    }

    if (rc == 1) {
        return 1;
    }

    obj = json_object();
    if (obj == NULL) {
        return -1;
    }

    /* a client without a secret digest is public: it must use PKCE */

    rc = ngx_http_imprest_ctl_set_str(obj, "client_id", cid, len);

    if (rc == 0 && secret) {
        rc = ngx_http_imprest_ctl_set_str(obj, "client_secret", secret,
                                          NGX_HTTP_IMPREST_TOKEN_LEN);
    }

    if (rc == 0) {
        rc = ngx_http_imprest_ctl_set_str(obj, "name", v[0], vlen[0]);
    }

    if (rc == 0) {
        rc = ngx_http_imprest_ctl_set_str(obj, "owner", v[1], vlen[1]);
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "public", json_boolean(vlen[2] == 0));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "redirect_uris",
                                 ngx_http_imprest_ctl_split(v[3], vlen[3]));
    }

    if (rc == 0) {
        rc = ngx_http_imprest_ctl_set_str(obj, "scope", v[4], vlen[4]);
    }

    if (rc == 0 && full) {
        rc = json_object_set_new(obj, "introspect",
                                 json_boolean(vlen[5] == 1
                                              && v[5][0] == '1'));
    }

    if (rc == 0 && full) {
        rc = json_object_set_new(obj, "created",
                                 ngx_http_imprest_ctl_number_json(v[6],
                                                                  vlen[6],
                                                                  0, NULL));
    }

    if (rc != 0) {
        json_decref(obj);
        return -1;
    }

    *out = obj;

    return 0;
}


int
ngx_http_imprest_ctl_app_create(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, public;
    char                        *pos[1];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    u_char                      *uris;
    size_t                       len, owner_len;
    json_t                      *obj;
    const char                  *owner, *introspect;
    redisReply                  *reply;
    ngx_http_imprest_ctl_app_t   app;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--name", NULL, NULL, 0, 0 },
        { "--redirect-uri", NULL, NULL, 0, 0 },
        { "--scope", NULL, NULL, 0, 0 },
        { "--owner", NULL, NULL, 0, 0 },
        { "--public", NULL, NULL, 0, 1 },
        { "--introspect", NULL, NULL, 0, 1 },
        { "--client-id", NULL, NULL, 0, 0 },
        { "--secret", NULL, NULL, 0, 0 }
    };

    uris = NULL;
    public = 0;

    /* at most one URI per argument: argc bounds the list */

    opts[1].list = malloc((argc + 1) * sizeof(char *));
    if (opts[1].list == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 8, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /*
     * --client-id and --secret record an app whose credentials were made
     * elsewhere (a migration, or a test suite that must know them before
     * any request runs): both must have the server's own shapes.
     */
    if (opts[6].value) {
        len = strlen(opts[6].value);

        if (len != NGX_HTTP_IMPREST_CTL_CID_LEN
            || strncmp(opts[6].value, "app_", 4) != 0
            || strspn(opts[6].value + 4, "0123456789abcdef") != len - 4)
        {
            rc = ngx_http_imprest_ctl_usage_error(
                     "--client-id: app_ and 24 lower-case hex digits");
            goto done;
        }
    }

    if (opts[7].value
        && (opts[4].value
            || !ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_CS,
                                             (u_char *) opts[7].value,
                                             strlen(opts[7].value))))
    {
        rc = ngx_http_imprest_ctl_usage_error(
                 "--secret: a well-formed client secret, not with --public");
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                         NGX_HTTP_IMPREST_CTL_APP_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    rc = ngx_http_imprest_ctl_app_uris(&opts[1], NULL, NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    if (opts[2].value == NULL || opts[2].value[0] == '\0') {
        rc = ngx_http_imprest_ctl_usage_error("missing --scope");
        goto done;
    }

    rc = ngx_http_imprest_ctl_scope_set(&opts[2].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    owner = opts[3].value;

    rc = ngx_http_imprest_ctl_check_owner(owner);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        goto done;
    }

    owner_len = owner ? strlen(owner) : 0;
    public = (opts[4].value != NULL);
    introspect = opts[5].value ? "1" : "0";

    rc = ngx_http_imprest_ctl_app_uris(&opts[1], &uris, &len);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /* only the digest is stored: the secret is printed once, below */

    if (opts[7].value) {
        memcpy(tok, opts[7].value, sizeof(tok));
    }

    if (!public
        && ((opts[7].value == NULL
             && ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS,
                                                tok)
                != 0)
            || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0))
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a client secret");
        goto done;
    }

    snprintf(app.created, sizeof(app.created), "%lld",
             (long long) ctl->now);

    app.opts = opts;
    app.owner = owner;
    app.owner_len = owner_len;
    app.hex = hex;
    app.hex_len = public ? 0 : sizeof(hex);
    app.uris = uris;
    app.uris_len = len;
    app.introspect = introspect;

    if (ngx_http_imprest_ctl_key(ctl, &app.all, NGX_HTTP_IMPREST_KEY_APPS,
                                 "", 0, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || (owner
            && (ngx_http_imprest_ctl_key(ctl, &app.user,
                                         NGX_HTTP_IMPREST_KEY_USER, owner,
                                         owner_len, "")
                != NGX_HTTP_IMPREST_CTL_OK
                || ngx_http_imprest_ctl_key(ctl, &app.owned,
                                            NGX_HTTP_IMPREST_KEY_USER, owner,
                                            owner_len,
                                            NGX_HTTP_IMPREST_KEY_CLIENTS_SUFFIX)
                   != NGX_HTTP_IMPREST_CTL_OK)))
    {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    reply = ngx_http_imprest_ctl_retry(ctl,
                                       ngx_http_imprest_ctl_app_create_try,
                                       &app);
    if (reply == NULL) {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    rc = ngx_http_imprest_ctl_app_json(app.cid, sizeof(app.cid),
                                       reply->element[app.queued - 1], 1,
                                       public ? NULL : tok, &obj);
    freeReplyObject(reply);

    if (rc != 0) {
        rc = ngx_http_imprest_ctl_error("unexpected reply to HMGET");
        goto done;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));
    free(opts[1].list);
    free(uris);

    return rc;
}


/*
 * The new id and the owner are WATCHed while checked: an id is never
 * reused, and a concurrent "user del" makes EXEC fail and the owner check
 * run again.
 */

static int
ngx_http_imprest_ctl_app_create_try(ngx_http_imprest_ctl_t *ctl,
    void *data)
{
    ngx_http_imprest_ctl_app_t *app = data;

    int                          rc, i;
    u_char                       rnd[NGX_HTTP_IMPREST_CTL_CID_RANDOM];
    long long                    exists;
    ngx_http_imprest_ctl_opt_t  *opts;

    opts = app->opts;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return ngx_http_imprest_ctl_error("RAND_bytes failed");
    }

    memcpy(app->cid, "app_", 4);

    for (i = 0; i < (int) sizeof(rnd); i++) {
        app->cid[4 + 2 * i] = "0123456789abcdef"[rnd[i] >> 4];
        app->cid[5 + 2 * i] = "0123456789abcdef"[rnd[i] & 0x0f];
    }

    if (opts[6].value) {
        memcpy(app->cid, opts[6].value, sizeof(app->cid));
    }

    rc = ngx_http_imprest_ctl_key(ctl, &app->key, NGX_HTTP_IMPREST_KEY_CLIENT,
                                  app->cid, sizeof(app->cid), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_watch(ctl, &app->key,
                                    app->owner ? &app->user : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_exists(ctl, &app->key, &exists);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (exists != 0) {
        rc = ngx_http_imprest_ctl_run(ctl, "UNWATCH");
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }

        if (opts[6].value) {
            return ngx_http_imprest_ctl_conflict("app already exists");
        }

        return NGX_HTTP_IMPREST_CTL_AGAIN;
    }

    if (app->owner) {
        rc = ngx_http_imprest_ctl_must_exist(ctl, &app->user,
                                             "no such user (--owner)");
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    /* the record as stored comes back in the same EXEC */

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl,
        "HSET %b " NGX_HTTP_IMPREST_F_NAME " %b " NGX_HTTP_IMPREST_F_SECRET
        " %b " NGX_HTTP_IMPREST_F_REDIRECT_URIS " %b "
        NGX_HTTP_IMPREST_F_SCOPE " %b " NGX_HTTP_IMPREST_F_OWNER " %b "
        NGX_HTTP_IMPREST_F_INTROSPECT " %b " NGX_HTTP_IMPREST_F_CREATED " %b",
        app->key.data, app->key.len,
        opts[0].value, strlen(opts[0].value),
        app->hex, app->hex_len,
        app->uris, app->uris_len,
        opts[2].value, strlen(opts[2].value),
        app->owner ? app->owner : "", app->owner_len,
        app->introspect, (size_t) 1,
        app->created, strlen(app->created));
    ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", app->all.data,
                               app->all.len, app->cid, sizeof(app->cid));

    if (app->owner) {
        ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", app->owned.data,
                                   app->owned.len, app->cid,
                                   sizeof(app->cid));
    }

    ngx_http_imprest_ctl_queue(ctl,
                               "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                               app->key.data, app->key.len);

    app->queued = ctl->queued;

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_app_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    size_t                       i, queued, owner_len;
    json_t                      *obj, *arr, *app;
    const char                  *owner;
    redisReply                  *members, *r, *m, **replies, **ids;
    ngx_http_imprest_ctl_key_t   set, key;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--owner", NULL, NULL, 0, 0 }
    };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 1, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    owner = opts[0].value;

    rc = ngx_http_imprest_ctl_check_owner(owner);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    owner_len = owner ? strlen(owner) : 0;

    if (owner) {
        rc = ngx_http_imprest_ctl_key(ctl, &set, NGX_HTTP_IMPREST_KEY_USER,
                                      owner, owner_len,
                                      NGX_HTTP_IMPREST_KEY_CLIENTS_SUFFIX);
    } else {
        rc = ngx_http_imprest_ctl_key(ctl, &set,
                                      NGX_HTTP_IMPREST_KEY_APPS, "", 0,
                                      "");
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    members = ngx_http_imprest_ctl_members(ctl, &set);
    if (members == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    obj = NULL;
    arr = NULL;

    /* replies[i] answers ids[i]; NULL-terminated for the cleanup */

    replies = calloc(members->elements + 1, sizeof(redisReply *));
    ids = malloc((members->elements + 1) * sizeof(redisReply *));

    if (replies == NULL || ids == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    /* stable output: by client id */

    ngx_http_imprest_ctl_sort(members);

    /* one round trip: every HMGET is sent before the first reply is read */

    queued = 0;

    for (i = 0; i < members->elements; i++) {
        m = members->element[i];

        /* a member that cannot be a client id names no key of the schema */

        if (m->type != REDIS_REPLY_STRING
            || !ngx_http_imprest_id_valid((u_char *) m->str, m->len))
        {
            continue;
        }

        rc = ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_CLIENT,
                                      m->str, m->len, "");
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        rc = ngx_http_imprest_ctl_append(ctl,
                 "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                 key.data, key.len);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        ids[queued++] = m;
    }

    for (i = 0; i < queued; i++) {
        replies[i] = ngx_http_imprest_ctl_reply(ctl);
        if (replies[i] == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }
    }

    obj = json_object();
    arr = json_array();

    if (obj == NULL || arr == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    for (i = 0; i < queued; i++) {
        m = ids[i];
        r = replies[i];

        if (r->type == REDIS_REPLY_ERROR) {
            rc = ngx_http_imprest_ctl_error("Redis: %.*s", (int) r->len,
                                            r->str);
            goto done;
        }

        rc = ngx_http_imprest_ctl_app_json(m->str, m->len, r, 0, NULL, &app);

        if (rc == 1) {
            /* in the set, but deleted: not an app */
            continue;
        }

        if (rc != 0) {
            rc = ngx_http_imprest_ctl_error(
                     "record of \"%.*s\" is not valid UTF-8 or out of memory",
                     (int) m->len, m->str);
            goto done;
        }

        /* a stale entry in the owner's set: the record names its owner */

        if (owner
            && (r->element[1]->type != REDIS_REPLY_STRING
                || r->element[1]->len != owner_len
                || memcmp(r->element[1]->str, owner, owner_len) != 0))
        {
            json_decref(app);
            continue;
        }

        if (json_array_append_new(arr, app) != 0) {
            rc = ngx_http_imprest_ctl_error("out of memory");
            goto done;
        }
    }

    if (json_object_set_new(obj, "apps", arr) != 0) {
        arr = NULL;
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    arr = NULL;
    rc = ngx_http_imprest_ctl_print(obj);
    obj = NULL;

done:

    if (replies) {
        for (i = 0; replies[i]; i++) {
            freeReplyObject(replies[i]);
        }

        free(replies);
    }

    free(ids);
    freeReplyObject(members);
    json_decref(arr);
    json_decref(obj);

    return rc;
}


/* the one CLIENT_ID argument, checked, and with ctl its record's key */

static int
ngx_http_imprest_ctl_app_key(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv, ngx_http_imprest_ctl_app_t *app)
{
    int  rc;

    rc = ngx_http_imprest_ctl_parse_id(argc, argv, NULL, 0, "CLIENT_ID",
                                       &app->id);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    app->id_len = strlen(app->id);

    return ngx_http_imprest_ctl_key(ctl, &app->key,
                                    NGX_HTTP_IMPREST_KEY_CLIENT, app->id,
                                    app->id_len, "");
}


int
ngx_http_imprest_ctl_app_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc;
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_app_t   app;

    rc = ngx_http_imprest_ctl_app_key(ctl, argc, argv, &app);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl,
                "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                app.key.data, app.key.len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_app_json(app.id, app.id_len, reply, 1, NULL,
                                       &obj);
    freeReplyObject(reply);

    if (rc == 1) {
        return ngx_http_imprest_ctl_not_found("no such app");
    }

    if (rc != 0) {
        return ngx_http_imprest_ctl_error(
                   "record is not valid UTF-8 or out of memory");
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * Deletes the record and removes the id from both sets in one MULTI/EXEC.
 * The record is WATCHed while its owner is read, so a concurrent change of
 * owner cannot leave the id in a set.  The app's tokens are not looked
 * for: every script that accepts a token refuses one whose app record is
 * gone (src/lua/lib/gone.lua), so they die with this DEL.  Its grant
 * index goes too, as with the portal's delete (src/lua/app.lua); the
 * users' and organizations' indexes do not list grants of deleted apps
 * (connections.lua) and forget them as they expire.
 */

int
ngx_http_imprest_ctl_app_delete(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc;
    redisReply                  *reply;
    ngx_http_imprest_ctl_app_t   app;

    rc = ngx_http_imprest_ctl_app_key(ctl, argc, argv, &app);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_ctl_key(ctl, &app.all, NGX_HTTP_IMPREST_KEY_APPS,
                                 "", 0, "") != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &app.grants,
                                    NGX_HTTP_IMPREST_KEY_CLIENT, app.id,
                                    app.id_len,
                                    NGX_HTTP_IMPREST_KEY_GRANTS_SUFFIX)
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    reply = ngx_http_imprest_ctl_retry(ctl,
                                       ngx_http_imprest_ctl_app_delete_try,
                                       &app);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    return ngx_http_imprest_ctl_print_deleted(reply);
}


static int
ngx_http_imprest_ctl_app_delete_try(ngx_http_imprest_ctl_t *ctl,
    void *data)
{
    ngx_http_imprest_ctl_app_t *app = data;

    int          rc, owned;
    redisReply  *owner;

    rc = ngx_http_imprest_ctl_watch(ctl, &app->key, NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    owner = ngx_http_imprest_ctl_command(ctl,
                "HGET %b " NGX_HTTP_IMPREST_F_OWNER,
                app->key.data, app->key.len);
    if (owner == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    /* an owner that cannot be a uid names no key of the schema */

    owned = 0;

    if (owner->type == REDIS_REPLY_STRING
        && ngx_http_imprest_id_valid((u_char *) owner->str, owner->len))
    {
        rc = ngx_http_imprest_ctl_key(ctl, &app->owned,
                                      NGX_HTTP_IMPREST_KEY_USER, owner->str,
                                      owner->len,
                                      NGX_HTTP_IMPREST_KEY_CLIENTS_SUFFIX);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            freeReplyObject(owner);
            return rc;
        }

        owned = 1;
    }

    freeReplyObject(owner);

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "DEL %b", app->key.data, app->key.len);
    ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", app->all.data,
                               app->all.len, app->id, app->id_len);
    ngx_http_imprest_ctl_queue(ctl, "DEL %b", app->grants.data,
                               app->grants.len);

    if (owned) {
        ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", app->owned.data,
                                   app->owned.len, app->id, app->id_len);
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * A new client secret; the old one stops working at once.  The record is
 * WATCHed while checked, so a concurrent "app delete" cannot be undone by
 * an HSET that recreates a partial record.
 */

int
ngx_http_imprest_ctl_app_secret(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc;
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    redisReply                  *reply;
    ngx_http_imprest_ctl_app_t   app;

    rc = ngx_http_imprest_ctl_app_key(ctl, argc, argv, &app);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS, tok) != 0
        || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a client secret");
        goto done;
    }

    app.hex = hex;
    app.hex_len = sizeof(hex);

    reply = ngx_http_imprest_ctl_retry(ctl,
                                       ngx_http_imprest_ctl_app_secret_try,
                                       &app);
    if (reply == NULL) {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    freeReplyObject(reply);

    rc = ngx_http_imprest_ctl_print_pair("client_id", app.id, app.id_len,
                                         "client_secret", tok, sizeof(tok));

done:

    OPENSSL_cleanse(tok, sizeof(tok));

    return rc;
}


static int
ngx_http_imprest_ctl_app_secret_try(ngx_http_imprest_ctl_t *ctl,
    void *data)
{
    ngx_http_imprest_ctl_app_t *app = data;

    int          rc;
    redisReply  *reply;

    rc = ngx_http_imprest_ctl_watch(ctl, &app->key, NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl,
                "HMGET %b " NGX_HTTP_IMPREST_F_NAME " "
                NGX_HTTP_IMPREST_F_SECRET, app->key.data, app->key.len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        rc = ngx_http_imprest_ctl_error("unexpected reply to HMGET");

    } else if (reply->element[0]->type != REDIS_REPLY_STRING) {
        rc = ngx_http_imprest_ctl_not_found("no such app");

    } else if (reply->element[1]->type != REDIS_REPLY_STRING
               || reply->element[1]->len == 0)
    {
        /* a public client stays public: it has no secret to rotate */
        rc = ngx_http_imprest_ctl_conflict("a public app has no secret");
    }

    freeReplyObject(reply);

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "HSET %b " NGX_HTTP_IMPREST_F_SECRET " %b",
                               app->key.data, app->key.len,
                               app->hex, app->hex_len);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * The --redirect-uri list checked (the server's rules) and, with out,
 * as stored: exact strings, duplicates dropped, space-separated, in a
 * malloc'ed *out of *len bytes.
 */

static int
ngx_http_imprest_ctl_app_uris(ngx_http_imprest_ctl_opt_t *opt, u_char **out,
    size_t *len)
{
    int      rc, i, j;
    size_t   size;
    u_char  *uris, *p;

    if (opt->n == 0) {
        return ngx_http_imprest_ctl_usage_error("missing --redirect-uri");
    }

    size = 0;

    for (i = 0; i < opt->n; i++) {
        rc = ngx_http_imprest_ctl_check_redirect_uri(opt->list[i]);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }

        size += strlen(opt->list[i]) + 1;
    }

    if (out == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    uris = malloc(size);
    if (uris == NULL) {
        return ngx_http_imprest_ctl_error("out of memory");
    }

    p = uris;

    for (i = 0; i < opt->n; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(opt->list[i], opt->list[j]) == 0) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if (p > uris) {
            *p++ = ' ';
        }

        p = (u_char *) stpcpy((char *) p, opt->list[i]);
    }

    *out = uris;
    *len = p - uris;

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * Changes what is given of name, redirect URIs (the whole list) and
 * scope, checked as "app create" checks them, and prints the app as it
 * is then.  The record is WATCHed while checked, so a concurrent
 * "app delete" is not undone by an HSET that recreates a partial record.
 */

int
ngx_http_imprest_ctl_app_edit(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    u_char                      *uris;
    size_t                       len;
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_app_t   app;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--name", NULL, NULL, 0, 0 },
        { "--redirect-uri", NULL, NULL, 0, 0 },
        { "--scope", NULL, NULL, 0, 0 }
    };

    uris = NULL;

    opts[1].list = malloc((argc + 1) * sizeof(char *));
    if (opts[1].list == NULL) {
        return ngx_http_imprest_ctl_error("out of memory");
    }

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 3, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    if (opts[0].value == NULL && opts[1].n == 0 && opts[2].value == NULL) {
        rc = ngx_http_imprest_ctl_usage_error(
                 "nothing to change: --name, --redirect-uri or --scope");
        goto done;
    }

    if (opts[0].value) {
        rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                             NGX_HTTP_IMPREST_CTL_APP_NAME_MAX);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    if (opts[1].n) {
        rc = ngx_http_imprest_ctl_app_uris(&opts[1], ctl ? &uris : NULL,
                                           &len);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    if (opts[2].value) {
        if (opts[2].value[0] == '\0') {
            rc = ngx_http_imprest_ctl_usage_error("--scope is empty");
            goto done;
        }

        rc = ngx_http_imprest_ctl_scope_set(&opts[2].value);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    if (ctl == NULL) {
        goto done;
    }

    app.id = pos[0];
    app.id_len = strlen(pos[0]);
    app.opts = opts;
    app.uris = uris;
    app.uris_len = uris ? len : 0;

    rc = ngx_http_imprest_ctl_key(ctl, &app.key, NGX_HTTP_IMPREST_KEY_CLIENT,
                                  app.id, app.id_len, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    reply = ngx_http_imprest_ctl_retry(ctl,
                                       ngx_http_imprest_ctl_app_edit_try,
                                       &app);
    if (reply == NULL) {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    rc = ngx_http_imprest_ctl_app_json(app.id, app.id_len,
                                       reply->element[app.queued - 1], 1,
                                       NULL, &obj);
    freeReplyObject(reply);

    if (rc != 0) {
        rc = ngx_http_imprest_ctl_error("unexpected reply to HMGET");
        goto done;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    free(opts[1].list);
    free(uris);

    return rc;
}


static int
ngx_http_imprest_ctl_app_edit_try(ngx_http_imprest_ctl_t *ctl, void *data)
{
    ngx_http_imprest_ctl_app_t *app = data;

    int                          rc;
    redisReply                  *r;
    ngx_http_imprest_ctl_opt_t  *opts;

    opts = app->opts;

    rc = ngx_http_imprest_ctl_watch(ctl, &app->key, NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    r = ngx_http_imprest_ctl_command(ctl, "HGET %b " NGX_HTTP_IMPREST_F_NAME,
                                     app->key.data, app->key.len);
    if (r == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    rc = (r->type == REDIS_REPLY_STRING)
         ? NGX_HTTP_IMPREST_CTL_OK
         : ngx_http_imprest_ctl_not_found("no such app");

    freeReplyObject(r);

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);

    if (opts[0].value) {
        ngx_http_imprest_ctl_queue(ctl, "HSET %b " NGX_HTTP_IMPREST_F_NAME
                                   " %b", app->key.data, app->key.len,
                                   opts[0].value, strlen(opts[0].value));
    }

    if (app->uris) {
        ngx_http_imprest_ctl_queue(ctl, "HSET %b "
                                   NGX_HTTP_IMPREST_F_REDIRECT_URIS " %b",
                                   app->key.data, app->key.len,
                                   app->uris, app->uris_len);
    }

    if (opts[2].value) {
        ngx_http_imprest_ctl_queue(ctl, "HSET %b " NGX_HTTP_IMPREST_F_SCOPE
                                   " %b", app->key.data, app->key.len,
                                   opts[2].value, strlen(opts[2].value));
    }

    ngx_http_imprest_ctl_queue(ctl,
                               "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                               app->key.data, app->key.len);

    app->queued = ctl->queued;

    return NGX_HTTP_IMPREST_CTL_OK;
}
