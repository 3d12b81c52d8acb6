/*
 * Copyright (C) Imprest
 *
 * imprestctl: "app create", "app list", "app show", "app delete" and
 * "app secret".
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_ctl.h"


static int ngx_http_imprest_ctl_app_json(const void *cid, size_t len,
    redisReply *r, int full, const u_char *secret, json_t **out);
static int ngx_http_imprest_ctl_reply_cmp(const void *a, const void *b);


/*
 * The JSON of one app from the reply to HMGET of the fields below, with
 * client_secret (a token just made, shown once) when secret != NULL.
 * Returns 0 with *out set, 1 when there is no such record, or -1 when a
 * value is not UTF-8 or memory runs out.
 */

#define NGX_HTTP_IMPREST_CTL_APP_FIELDS                                     \
    "name owner secret redirect_uris scope introspect created"

static int
ngx_http_imprest_ctl_app_json(const void *cid, size_t len, redisReply *r,
    int full, const u_char *secret, json_t **out)
{
    int          rc;
    char         num[32];
    size_t       i, vlen[7];
    json_t      *obj, *created;
    long long    t;
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
        created = NULL;

        if (vlen[6] > 0 && vlen[6] < sizeof(num)) {
            memcpy(num, v[6], vlen[6]);
            num[vlen[6]] = '\0';

            if (ngx_http_imprest_ctl_number(num, 0, LLONG_MAX, &t) == 0) {
                created = json_integer(t);
            }
        }

        if (created == NULL) {
            created = json_stringn(v[6], vlen[6]);
        }

        rc = json_object_set_new(obj, "created", created);
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
    int                          rc, n, i, j, try, aborted, queued;
    int                          exists, public;
    char                        *pos[1], created[32];
    u_char                       cid[NGX_HTTP_IMPREST_CTL_CID_LEN];
    u_char                       rnd[NGX_HTTP_IMPREST_CTL_CID_RANDOM];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    u_char                      *uris, *p;
    size_t                       len, owner_len;
    json_t                      *obj;
    const char                  *owner, *introspect;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key, all, user, owned;
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

    if (opts[1].n == 0) {
        rc = ngx_http_imprest_ctl_usage_error("missing --redirect-uri");
        goto done;
    }

    len = 0;

    for (i = 0; i < opts[1].n; i++) {
        rc = ngx_http_imprest_ctl_check_redirect_uri(opts[1].list[i]);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        len += strlen(opts[1].list[i]) + 1;
    }

    if (opts[2].value == NULL || opts[2].value[0] == '\0') {
        rc = ngx_http_imprest_ctl_usage_error("missing --scope");
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_scope(opts[2].value);
    if (rc == NGX_HTTP_IMPREST_CTL_OK) {
        rc = ngx_http_imprest_ctl_scope_set(&opts[2].value);
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    owner = opts[3].value;

    if (owner) {
        rc = ngx_http_imprest_ctl_check_id("--owner", owner);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    if (ctl == NULL) {
        goto done;
    }

    owner_len = owner ? strlen(owner) : 0;
    public = (opts[4].value != NULL);
    introspect = opts[5].value ? "1" : "0";

    /* exact strings, duplicates dropped, space-separated */

    uris = malloc(len);
    if (uris == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    p = uris;

    for (i = 0; i < opts[1].n; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(opts[1].list[i], opts[1].list[j]) == 0) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if (p > uris) {
            *p++ = ' ';
        }

        p = (u_char *) stpcpy((char *) p, opts[1].list[i]);
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

    snprintf(created, sizeof(created), "%lld", (long long) ctl->now);

    if (ngx_http_imprest_ctl_key(ctl, &all, "clients", "", 0, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || (owner
            && (ngx_http_imprest_ctl_key(ctl, &user, "user:", owner,
                                         owner_len, "")
                != NGX_HTTP_IMPREST_CTL_OK
                || ngx_http_imprest_ctl_key(ctl, &owned, "user:", owner,
                                            owner_len, ":clients")
                   != NGX_HTTP_IMPREST_CTL_OK)))
    {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    /*
     * The new id and the owner are WATCHed while checked: an id is never
     * reused, and a concurrent "user del" makes EXEC fail and the owner
     * check run again.
     */

    queued = owner ? 4 : 3;
    reply = NULL;

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            rc = ngx_http_imprest_ctl_error("RAND_bytes failed");
            goto done;
        }

        memcpy(cid, "app_", 4);

        for (i = 0; i < (int) sizeof(rnd); i++) {
            cid[4 + 2 * i] = "0123456789abcdef"[rnd[i] >> 4];
            cid[5 + 2 * i] = "0123456789abcdef"[rnd[i] & 0x0f];
        }

        if (opts[6].value) {
            memcpy(cid, opts[6].value, sizeof(cid));
        }

        rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", cid, sizeof(cid),
                                      "");
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        if (owner) {
            reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b %b",
                                                 key.data, key.len,
                                                 user.data, user.len);
        } else {
            reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b",
                                                 key.data, key.len);
        }

        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        freeReplyObject(reply);

        reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", key.data,
                                             key.len);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        exists = reply->type != REDIS_REPLY_INTEGER || reply->integer != 0;
        freeReplyObject(reply);

        if (exists) {
            reply = ngx_http_imprest_ctl_command(ctl, "UNWATCH");
            if (reply == NULL) {
                rc = NGX_HTTP_IMPREST_CTL_ERROR;
                goto done;
            }

            freeReplyObject(reply);

            if (opts[6].value) {
                rc = ngx_http_imprest_ctl_error("app already exists");
                goto done;
            }

            continue;
        }

        if (owner) {
            reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", user.data,
                                                 user.len);
            if (reply == NULL) {
                rc = NGX_HTTP_IMPREST_CTL_ERROR;
                goto done;
            }

            exists = reply->type == REDIS_REPLY_INTEGER
                     && reply->integer == 1;
            freeReplyObject(reply);

            if (!exists) {
                rc = ngx_http_imprest_ctl_error("no such user (--owner)");
                goto done;
            }
        }

        /* the record as stored comes back in the same EXEC */

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl,
                   "HSET %b name %b secret %b redirect_uris %b scope %b"
                   " owner %b introspect %b created %b",
                   key.data, key.len,
                   opts[0].value, strlen(opts[0].value),
                   hex, public ? (size_t) 0 : sizeof(hex),
                   uris, (size_t) (p - uris),
                   opts[2].value, strlen(opts[2].value),
                   owner ? owner : "", owner_len,
                   introspect, (size_t) 1,
                   created, strlen(created))
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                           all.data, all.len,
                                           cid, sizeof(cid))
               != NGX_HTTP_IMPREST_CTL_OK
            || (owner
                && ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                               owned.data, owned.len,
                                               cid, sizeof(cid))
                   != NGX_HTTP_IMPREST_CTL_OK)
            || ngx_http_imprest_ctl_append(ctl,
                   "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                   key.data, key.len)
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, queued, &aborted);

        if (reply) {
            break;
        }

        if (!aborted) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }
    }

    if (try == NGX_HTTP_IMPREST_CTL_RETRIES) {
        rc = ngx_http_imprest_ctl_error("too much concurrent change, retry");
        goto done;
    }

    rc = ngx_http_imprest_ctl_app_json(cid, sizeof(cid),
                                       reply->element[queued - 1], 1,
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

    if (owner) {
        rc = ngx_http_imprest_ctl_check_id("--owner", owner);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    if (ctl == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    owner_len = owner ? strlen(owner) : 0;

    if (owner) {
        rc = ngx_http_imprest_ctl_key(ctl, &set, "user:", owner, owner_len,
                                      ":clients");
    } else {
        rc = ngx_http_imprest_ctl_key(ctl, &set, "clients", "", 0, "");
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    members = ngx_http_imprest_ctl_command(ctl, "SMEMBERS %b", set.data,
                                           set.len);
    if (members == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (members->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(members);
        return ngx_http_imprest_ctl_error("unexpected reply to SMEMBERS");
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

    if (members->elements > 1) {
        qsort(members->element, members->elements, sizeof(redisReply *),
              ngx_http_imprest_ctl_reply_cmp);
    }

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

        rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", m->str, m->len,
                                      "");
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
        if (redisGetReply(ctl->redis, (void **) &replies[i]) != REDIS_OK
            || replies[i] == NULL)
        {
            rc = ngx_http_imprest_ctl_error("Redis: %s",
                                            ctl->redis->err
                                            ? ctl->redis->errstr
                                            : "no reply");
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


static int
ngx_http_imprest_ctl_reply_cmp(const void *a, const void *b)
{
    int                 rc;
    const redisReply   *x, *y;

    x = *(const redisReply * const *) a;
    y = *(const redisReply * const *) b;

    if (x->type != REDIS_REPLY_STRING || y->type != REDIS_REPLY_STRING) {
        return (x->type == REDIS_REPLY_STRING) - (y->type
                                                  == REDIS_REPLY_STRING);
    }

    rc = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);

    if (rc != 0) {
        return rc;
    }

    return (x->len > y->len) - (x->len < y->len);
}


int
ngx_http_imprest_ctl_app_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", pos[0],
                                  strlen(pos[0]), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl,
                "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                key.data, key.len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_app_json(pos[0], strlen(pos[0]), reply, 1,
                                       NULL, &obj);
    freeReplyObject(reply);

    if (rc == 1) {
        return ngx_http_imprest_ctl_error("no such app");
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
 * gone (src/ngx_http_imprest_script.c), so they die with this DEL.
 */

int
ngx_http_imprest_ctl_app_delete(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, try, aborted, queued, existed;
    char                        *pos[1];
    size_t                       len;
    redisReply                  *reply, *owner;
    ngx_http_imprest_ctl_key_t   key, all, owned;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    len = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &key, "client:", pos[0], len, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &all, "clients", "", 0, "")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b", key.data,
                                             key.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);

        owner = ngx_http_imprest_ctl_command(ctl, "HGET %b owner", key.data,
                                             key.len);
        if (owner == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        /* an owner that cannot be a uid names no key of the schema */

        queued = 2;

        if (owner->type == REDIS_REPLY_STRING
            && ngx_http_imprest_id_valid((u_char *) owner->str, owner->len))
        {
            rc = ngx_http_imprest_ctl_key(ctl, &owned, "user:", owner->str,
                                          owner->len, ":clients");
            if (rc != NGX_HTTP_IMPREST_CTL_OK) {
                freeReplyObject(owner);
                return rc;
            }

            queued = 3;
        }

        freeReplyObject(owner);

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "DEL %b", key.data, key.len)
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                           all.data, all.len, pos[0], len)
               != NGX_HTTP_IMPREST_CTL_OK
            || (queued == 3
                && ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                               owned.data, owned.len,
                                               pos[0], len)
                   != NGX_HTTP_IMPREST_CTL_OK)
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, queued, &aborted);

        if (reply) {
            existed = reply->element[0]->type == REDIS_REPLY_INTEGER
                      && reply->element[0]->integer > 0;
            freeReplyObject(reply);
            return ngx_http_imprest_ctl_print_ok(existed);
        }

        if (!aborted) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }
    }

    return ngx_http_imprest_ctl_error("too much concurrent change, retry");
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
    int                          rc, n, try, aborted;
    char                        *pos[1];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", pos[0],
                                  strlen(pos[0]), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS, tok) != 0
        || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a client secret");
        goto done;
    }

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b", key.data,
                                             key.len);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        freeReplyObject(reply);

        reply = ngx_http_imprest_ctl_command(ctl, "HMGET %b name secret",
                                             key.data, key.len);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            freeReplyObject(reply);
            rc = ngx_http_imprest_ctl_error("unexpected reply to HMGET");
            goto done;
        }

        if (reply->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(reply);
            rc = ngx_http_imprest_ctl_error("no such app");
            goto done;
        }

        /* a public client stays public: it has no secret to rotate */

        if (reply->element[1]->type != REDIS_REPLY_STRING
            || reply->element[1]->len == 0)
        {
            freeReplyObject(reply);
            rc = ngx_http_imprest_ctl_error("a public app has no secret");
            goto done;
        }

        freeReplyObject(reply);

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "HSET %b secret %b",
                                           key.data, key.len,
                                           hex, sizeof(hex))
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, 1, &aborted);

        if (reply) {
            freeReplyObject(reply);
            break;
        }

        if (!aborted) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }
    }

    if (try == NGX_HTTP_IMPREST_CTL_RETRIES) {
        rc = ngx_http_imprest_ctl_error("too much concurrent change, retry");
        goto done;
    }

    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, "client_id", pos[0],
                                         strlen(pos[0])) != 0
            || ngx_http_imprest_ctl_set_str(obj, "client_secret", tok,
                                            sizeof(tok)) != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));

    return rc;
}
