/*
 * Copyright (C) Imprest
 *
 * imprestctl: "token mint", "token revoke" and "token show".
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ngx_http_imprest_lua.h"

#include "ngx_http_imprest_ctl.h"


/* src/lua/mint.lua */
static const char  ngx_http_imprest_ctl_mint[] = NGX_HTTP_IMPREST_LUA_MINT;


static int ngx_http_imprest_ctl_token_key(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv, ngx_http_imprest_ctl_key_t *key);


int
ngx_http_imprest_ctl_read_token(const char *arg, u_char *tok)
{
    int     rc;
    char    line[4096];
    size_t  len;

    if (arg == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing TOKEN");
    }

    /* "-": from stdin, so that the token is not in "ps" or shell history */

    if (strcmp(arg, "-") == 0) {
        if (fgets(line, sizeof(line), stdin) == NULL) {
            return ngx_http_imprest_ctl_usage_error("no TOKEN on stdin");
        }

        len = strcspn(line, "\r\n");
        arg = line;

    } else {
        len = strlen(arg);
    }

    if (ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_AT,
                                     (const u_char *) arg, len))
    {
        memcpy(tok, arg, NGX_HTTP_IMPREST_TOKEN_LEN);
        rc = NGX_HTTP_IMPREST_CTL_OK;

    } else {
        rc = ngx_http_imprest_ctl_usage_error(
                 "TOKEN is not a well-formed access token");
    }

    OPENSSL_cleanse(line, sizeof(line));

    return rc;
}


/* the first, offline pass: a TOKEN argument is checked, stdin is not read */

int
ngx_http_imprest_ctl_check_token(const char *arg)
{
    int     rc;
    u_char  tok[NGX_HTTP_IMPREST_TOKEN_LEN];

    if (arg != NULL && strcmp(arg, "-") == 0) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    rc = ngx_http_imprest_ctl_read_token(arg, tok);
    OPENSSL_cleanse(tok, sizeof(tok));

    return rc;
}


int
ngx_http_imprest_ctl_token_mint(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, i, j, norgs;
    char                        *pos[1], iat_s[32], exp_s[32], ttl_s[32];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                      *orgs, *p;
    size_t                       len, orgs_len;
    json_t                      *obj, *arr;
    const char                  *scope, *aud, *s;
    long long                    ttl, exp;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--user", NULL, NULL, 0, 0 },
        { "--client", NULL, NULL, 0, 0 },
        { "--scope", NULL, NULL, 0, 0 },
        { "--org", NULL, NULL, 0, 0 },
        { "--ttl", NULL, NULL, 0, 0 },
        { "--exp", NULL, NULL, 0, 0 },
        { "--aud", NULL, NULL, 0, 0 },
        { "--token", NULL, NULL, 0, 0 }
    };

    exp = 0;

    /* at most one org per argument: argc bounds the list */

    opts[3].list = malloc((argc + 1) * sizeof(char *));
    orgs = malloc((argc + 1) * (NGX_HTTP_IMPREST_UUID_LEN + 1));

    if (opts[3].list == NULL || orgs == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 8, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /*
     * --token records a token made elsewhere (test suites that must know
     * their tokens before any request runs); it must be well-formed.
     */
    if (opts[7].value) {
        rc = ngx_http_imprest_ctl_read_token(opts[7].value, tok);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    rc = ngx_http_imprest_ctl_check_id("--user", opts[0].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_id("--client", opts[1].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /* an empty or absent --scope makes a token without scopes */

    scope = opts[2].value ? opts[2].value : "";

    rc = ngx_http_imprest_ctl_scope_set(&scope);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /* canonical, duplicates dropped, space-separated */

    norgs = 0;
    p = orgs;

    for (i = 0; i < opts[3].n; i++) {
        rc = ngx_http_imprest_ctl_check_uuid(opts[3].list[i], p);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        for (j = 0; j < norgs; j++) {
            if (memcmp(orgs + j * (NGX_HTTP_IMPREST_UUID_LEN + 1), p,
                       NGX_HTTP_IMPREST_UUID_LEN) == 0)
            {
                break;
            }
        }

        if (j < norgs) {
            continue;
        }

        p[NGX_HTTP_IMPREST_UUID_LEN] = ' ';
        p += NGX_HTTP_IMPREST_UUID_LEN + 1;
        norgs++;
    }

    orgs_len = norgs ? (size_t) (p - orgs) - 1 : 0;

    ttl = NGX_HTTP_IMPREST_CTL_DEFAULT_TTL;

    if (opts[4].value
        && ngx_http_imprest_ctl_number(opts[4].value, 1,
                                       NGX_HTTP_IMPREST_CTL_TTL_MAX, &ttl)
           != 0)
    {
        rc = ngx_http_imprest_ctl_usage_error("--ttl: 1 to %d seconds",
                                              NGX_HTTP_IMPREST_CTL_TTL_MAX);
        goto done;
    }

    if (opts[5].value
        && ngx_http_imprest_ctl_number(opts[5].value, 1,
                                       NGX_HTTP_IMPREST_CTL_EXP_MAX, &exp)
           != 0)
    {
        rc = ngx_http_imprest_ctl_usage_error("--exp: unix seconds");
        goto done;
    }

    /* RFC 9068-style "aud": a printable, space-free resource indicator */

    aud = opts[6].value ? opts[6].value : "";
    len = strlen(aud);

    if (len > NGX_HTTP_IMPREST_CTL_AUD_MAX) {
        rc = ngx_http_imprest_ctl_usage_error("--aud is too long");
        goto done;
    }

    for (s = aud; *s; s++) {
        if ((u_char) *s < 0x21 || (u_char) *s > 0x7e) {
            rc = ngx_http_imprest_ctl_usage_error(
                     "--aud: printable ASCII without spaces");
            goto done;
        }
    }

    if (ctl == NULL) {
        goto done;
    }

    if (opts[5].value == NULL) {
        exp = (long long) ctl->now + ttl;
    }

    if ((opts[7].value == NULL
         && ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_AT, tok)
            != 0)
        || ngx_http_imprest_ctl_secret_key(ctl, &key, NGX_HTTP_IMPREST_KEY_AT,
                                           tok, sizeof(tok)) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a token");
        goto done;
    }

    snprintf(iat_s, sizeof(iat_s), "%lld", (long long) ctl->now);
    snprintf(exp_s, sizeof(exp_s), "%lld", exp);
    snprintf(ttl_s, sizeof(ttl_s), "%lld", ttl);

    /*
     * The record and its TTL in one step (a record without a TTL would
     * never expire by itself), by the function that writes the gateway's
     * own access tokens (src/lua/lib/access.lua).
     */

    reply = ngx_http_imprest_ctl_command(ctl,
                "EVAL %b 1 %b %b %b %b %b %b %b %b %b",
                ngx_http_imprest_ctl_mint,
                sizeof(ngx_http_imprest_ctl_mint) - 1,
                key.data, key.len,
                opts[0].value, strlen(opts[0].value),
                opts[1].value, strlen(opts[1].value),
                scope, strlen(scope),
                orgs, orgs_len,
                iat_s, strlen(iat_s),
                exp_s, strlen(exp_s),
                aud, strlen(aud),
                ttl_s, strlen(ttl_s));
    if (reply == NULL) {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    freeReplyObject(reply);

    obj = json_object();
    arr = json_array();

    if (obj == NULL || arr == NULL
        || ngx_http_imprest_ctl_set_str(obj, "access_token", tok,
                                        sizeof(tok)) != 0
        || json_object_set_new(obj, "token_type", json_string("Bearer"))
           != 0
        || json_object_set_new(obj, "expires_in",
                               json_integer(exp > (long long) ctl->now
                                            ? exp - (long long) ctl->now
                                            : 0)) != 0
        || json_object_set_new(obj, "exp", json_integer(exp)) != 0
        || ngx_http_imprest_ctl_set_str(obj, "scope", scope, strlen(scope))
           != 0)
    {
        json_decref(obj);
        json_decref(arr);
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    for (i = 0; i < norgs; i++) {
        if (json_array_append_new(arr,
                json_stringn((char *) orgs + i * (NGX_HTTP_IMPREST_UUID_LEN
                                                  + 1),
                             NGX_HTTP_IMPREST_UUID_LEN)) != 0)
        {
            json_decref(obj);
            json_decref(arr);
            rc = ngx_http_imprest_ctl_error("out of memory");
            goto done;
        }
    }

    if (json_object_set_new(obj, "orgs", arr) != 0) {
        json_decref(obj);
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));
    free(opts[3].list);
    free(orgs);

    return rc;
}


/*
 * The one TOKEN argument of "token revoke" and "token show": checked on
 * the first (ctl NULL) call, read and turned into its record's key on the
 * second.
 */

static int
ngx_http_imprest_ctl_token_key(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv, ngx_http_imprest_ctl_key_t *key)
{
    int     rc, n;
    char   *pos[1];
    u_char  tok[NGX_HTTP_IMPREST_TOKEN_LEN];

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (ctl == NULL) {
        return ngx_http_imprest_ctl_check_token(n ? pos[0] : NULL);
    }

    rc = ngx_http_imprest_ctl_read_token(pos[0], tok);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_secret_key(ctl, key, NGX_HTTP_IMPREST_KEY_AT,
                                         tok, sizeof(tok));
    OPENSSL_cleanse(tok, sizeof(tok));

    if (rc != 0) {
        return ngx_http_imprest_ctl_error("SHA-256 failed");
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_token_revoke(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, existed;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;

    /* stdin ("-") is read once, on the second call */

    rc = ngx_http_imprest_ctl_token_key(ctl, argc, argv, &key);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl, "DEL %b", key.data, key.len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = reply->type == REDIS_REPLY_INTEGER && reply->integer > 0;
    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}


int
ngx_http_imprest_ctl_token_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc;
    char                         field[65];
    size_t                       i, flen;
    json_t                      *obj;
    long long                    exp;
    const char                  *f;
    redisReply                  *reply, *h, *k, *val, *ttl;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_token_key(ctl, argc, argv, &key);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    /* the record and its TTL as of one moment */

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "HGETALL %b", key.data, key.len);
    ngx_http_imprest_ctl_queue(ctl, "TTL %b", key.data, key.len);

    reply = ngx_http_imprest_ctl_exec_once(ctl);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    h = reply->element[0];
    ttl = reply->element[1];

    if (h->type != REDIS_REPLY_ARRAY || h->elements % 2
        || ttl->type != REDIS_REPLY_INTEGER)
    {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("unexpected reply to HGETALL");
    }

    if (h->elements == 0) {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_not_found("no such token");
    }

    obj = json_object();
    if (obj == NULL) {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("out of memory");
    }

    /* the key ends with the token's digest */
    rc = ngx_http_imprest_ctl_set_str(obj, "digest",
                                      key.data + key.len
                                      - NGX_HTTP_IMPREST_DIGEST_HEX_LEN,
                                      NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
    exp = -1;

    for (i = 0; rc == 0 && i < h->elements; i += 2) {
        k = h->element[i];
        val = h->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        f = k->str;
        flen = k->len;

        if (flen == 4 && memcmp(f, NGX_HTTP_IMPREST_F_ORGS, 4) == 0) {
            rc = json_object_set_new(obj, NGX_HTTP_IMPREST_F_ORGS,
                                     ngx_http_imprest_ctl_split(val->str,
                                                                val->len));
            continue;
        }

        if (flen == 3 && memcmp(f, NGX_HTTP_IMPREST_F_IAT, 3) == 0) {
            rc = json_object_set_new(obj, NGX_HTTP_IMPREST_F_IAT,
                                     ngx_http_imprest_ctl_number_json(
                                         val->str, val->len, LLONG_MIN,
                                         NULL));
            continue;
        }

        if (flen == 3 && memcmp(f, NGX_HTTP_IMPREST_F_EXP, 3) == 0) {
            rc = json_object_set_new(obj, NGX_HTTP_IMPREST_F_EXP,
                                     ngx_http_imprest_ctl_number_json(
                                         val->str, val->len, LLONG_MIN,
                                         &exp));
            continue;
        }

        if (flen >= sizeof(field) || memchr(f, '\0', flen)) {
            continue;
        }

        memcpy(field, f, flen);
        field[flen] = '\0';

        rc = ngx_http_imprest_ctl_set_str(obj, field, val->str, val->len);
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "ttl", json_integer(ttl->integer));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "expired",
                                 json_boolean(exp >= 0
                                              && exp <= (long long) ctl->now));
    }

    freeReplyObject(reply);

    if (rc != 0) {
        json_decref(obj);
        return ngx_http_imprest_ctl_error(
                   "record is not valid UTF-8 or out of memory");
    }

    return ngx_http_imprest_ctl_print(obj);
}
