/*
 * Copyright (C) Imprest
 *
 * imprestctl: "initial-token create", "initial-token list" and
 * "initial-token revoke": the RFC 7591 3 initial access tokens that let
 * automation register apps at imprest_register without a signed-in user.
 *
 * A token is printed once; Redis keeps initial:<sha256hex(token)> (exp,
 * created, note) with the key's TTL at exp, so it ends by itself, and the
 * index "initials" (a sorted set of those digests by exp) so that "list"
 * and a revocation by digest prefix never scan the keyspace.  The index
 * is pruned of expired digests whenever it is written or listed, and
 * expires itself with its last token.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ngx_http_imprest_ctl.h"


#define NGX_HTTP_IMPREST_CTL_INITIAL_TTL     86400     /* one day */
#define NGX_HTTP_IMPREST_CTL_NOTE_MAX        256
#define NGX_HTTP_IMPREST_CTL_DIGEST_SHOWN    12
#define NGX_HTTP_IMPREST_CTL_DIGEST_MIN      8


int ngx_http_imprest_ctl_initial_create(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
int ngx_http_imprest_ctl_initial_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_initial_revoke(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);

static int ngx_http_imprest_ctl_initial_note(const char *note);
static int ngx_http_imprest_ctl_initial_arg(const char *arg, int read_stdin,
    u_char *digest, size_t *len);
static int ngx_http_imprest_ctl_initial_find(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *index, const u_char *prefix, size_t len,
    u_char *digest);


int
ngx_http_imprest_ctl_initial_create(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1], exp_s[32], now_s[32], ttl_s[32];
    char                         idx_s[32];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    json_t                      *obj;
    long long                    ttl, exp, idx_exp;
    const char                  *note;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key, index;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--ttl", NULL, NULL, 0, 0 },
        { "--note", NULL, NULL, 0, 0 }
    };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 2, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ttl = NGX_HTTP_IMPREST_CTL_INITIAL_TTL;

    if (opts[0].value
        && ngx_http_imprest_ctl_number(opts[0].value, 1,
                                       NGX_HTTP_IMPREST_CTL_TTL_MAX, &ttl)
           != 0)
    {
        return ngx_http_imprest_ctl_usage_error(
                   "--ttl must be 1 to %d seconds",
                   NGX_HTTP_IMPREST_CTL_TTL_MAX);
    }

    note = opts[1].value ? opts[1].value : "";

    rc = ngx_http_imprest_ctl_initial_note(note);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_IA, tok) != 0
        || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0
        || ngx_http_imprest_ctl_secret_key(ctl, &key,
                                           NGX_HTTP_IMPREST_KEY_INITIAL,
                                           tok, sizeof(tok)) != 0)
    {
        OPENSSL_cleanse(tok, sizeof(tok));
        return ngx_http_imprest_ctl_error("RAND_bytes or SHA-256 failed");
    }

    rc = ngx_http_imprest_ctl_key(ctl, &index,
                                  NGX_HTTP_IMPREST_KEY_INITIALS, "", 0, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    exp = (long long) ctl->now + ttl;

    /*
     * The index lives as long as its longest-lived token.  Read first,
     * then written in the transaction: two concurrent creates can only
     * leave it the later of their two expiries, never a shorter one
     * than a token written before.
     */
    reply = ngx_http_imprest_ctl_command(ctl, "TTL %b", index.data,
                                         index.len);
    if (reply == NULL) {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    idx_exp = exp;

    if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0
        && (long long) ctl->now + reply->integer > exp)
    {
        idx_exp = (long long) ctl->now + reply->integer;
    }

    freeReplyObject(reply);

    snprintf(exp_s, sizeof(exp_s), "%lld", exp);
    snprintf(now_s, sizeof(now_s), "%lld", (long long) ctl->now);
    snprintf(ttl_s, sizeof(ttl_s), "%lld", ttl);
    snprintf(idx_s, sizeof(idx_s), "%lld", idx_exp);

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "HSET %b " NGX_HTTP_IMPREST_F_EXP " %s "
                               NGX_HTTP_IMPREST_F_CREATED " %s "
                               NGX_HTTP_IMPREST_F_NOTE " %b",
                               key.data, key.len, exp_s, now_s,
                               note, strlen(note));
    ngx_http_imprest_ctl_queue(ctl, "EXPIRE %b %s", key.data, key.len,
                               ttl_s);
    ngx_http_imprest_ctl_queue(ctl, "ZREMRANGEBYSCORE %b -inf %s",
                               index.data, index.len, now_s);
    ngx_http_imprest_ctl_queue(ctl, "ZADD %b %s %b", index.data, index.len,
                               exp_s, hex, sizeof(hex));
    ngx_http_imprest_ctl_queue(ctl, "EXPIREAT %b %s", index.data, index.len,
                               idx_s);

    reply = ngx_http_imprest_ctl_exec_once(ctl);
    if (reply == NULL) {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    freeReplyObject(reply);

    /* RFC 7591 3: the operator hands this to the automation, once */
    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, "initial_access_token", tok,
                                         sizeof(tok)) != 0
            || ngx_http_imprest_ctl_set_str(obj, "digest", hex,
                                      NGX_HTTP_IMPREST_CTL_DIGEST_SHOWN) != 0
            || json_object_set_new(obj, "expires_at", json_integer(exp)) != 0
            || json_object_set_new(obj, "expires_in", json_integer(ttl)) != 0
            || ngx_http_imprest_ctl_set_str(obj, "note", note, strlen(note))
               != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));

    return rc;
}


int
ngx_http_imprest_ctl_initial_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1], now_s[32];
    size_t                       i;
    json_t                      *obj, *arr, *one, *exp, *created;
    redisReply                  *digests, *reply, *prune;
    ngx_http_imprest_ctl_key_t   key, index;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &index,
                                  NGX_HTTP_IMPREST_KEY_INITIALS, "", 0, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    snprintf(now_s, sizeof(now_s), "%lld", (long long) ctl->now);

    prune = ngx_http_imprest_ctl_command(ctl, "ZREMRANGEBYSCORE %b -inf %s",
                                         index.data, index.len, now_s);
    if (prune == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(prune);

    digests = ngx_http_imprest_ctl_command(ctl, "ZRANGE %b 0 -1",
                                           index.data, index.len);
    if (digests == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (digests->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(digests);
        return ngx_http_imprest_ctl_error("unexpected reply to ZRANGE");
    }

    /* one round trip: every HMGET is sent before the first reply is read */

    for (i = 0; i < digests->elements; i++) {
        if (digests->element[i]->type != REDIS_REPLY_STRING
            || ngx_http_imprest_ctl_key(ctl, &key,
                                        NGX_HTTP_IMPREST_KEY_INITIAL,
                                        digests->element[i]->str,
                                        digests->element[i]->len, "")
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "HMGET %b "
                                           NGX_HTTP_IMPREST_F_EXP " "
                                           NGX_HTTP_IMPREST_F_CREATED " "
                                           NGX_HTTP_IMPREST_F_NOTE,
                                           key.data, key.len)
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            freeReplyObject(digests);
            return ngx_http_imprest_ctl_error("unexpected index member");
        }
    }

    obj = json_object();
    arr = json_array();
    rc = (obj && arr) ? NGX_HTTP_IMPREST_CTL_OK
                      : ngx_http_imprest_ctl_error("out of memory");
    for (i = 0; i < digests->elements; i++) {
        reply = ngx_http_imprest_ctl_reply(ctl);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            break;
        }

        if (rc != NGX_HTTP_IMPREST_CTL_OK
            || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
            || reply->element[0]->type != REDIS_REPLY_STRING)
        {
            /* revoked meanwhile (nil fields), or an error seen before */
            freeReplyObject(reply);
            continue;
        }

        exp = ngx_http_imprest_ctl_number_json(reply->element[0]->str,
                                               reply->element[0]->len, 0,
                                               NULL);
        created = reply->element[1]->type == REDIS_REPLY_STRING
                  ? ngx_http_imprest_ctl_number_json(reply->element[1]->str,
                                                     reply->element[1]->len,
                                                     0, NULL)
                  : json_null();
        one = json_object();

        if (one == NULL
            || ngx_http_imprest_ctl_set_str(one, "digest",
                   digests->element[i]->str,
                   digests->element[i]->len
                   < NGX_HTTP_IMPREST_CTL_DIGEST_SHOWN
                   ? digests->element[i]->len
                   : NGX_HTTP_IMPREST_CTL_DIGEST_SHOWN) != 0
            || ngx_http_imprest_ctl_set_str(one, "note",
                   reply->element[2]->type == REDIS_REPLY_STRING
                   ? reply->element[2]->str : "",
                   reply->element[2]->type == REDIS_REPLY_STRING
                   ? reply->element[2]->len : 0) != 0
            || json_object_set_new(one, "created", created) != 0
            || json_object_set_new(one, "expires_at", exp) != 0
            || json_array_append_new(arr, one) != 0)
        {
            rc = ngx_http_imprest_ctl_error(
                     "record is not valid UTF-8 or out of memory");
        }

        freeReplyObject(reply);
    }

    freeReplyObject(digests);

    if (rc != NGX_HTTP_IMPREST_CTL_OK
        || json_object_set_new(obj, "initial_tokens", arr) != 0)
    {
        json_decref(obj);
        return rc != NGX_HTTP_IMPREST_CTL_OK
               ? rc : ngx_http_imprest_ctl_error("out of memory");
    }

    return ngx_http_imprest_ctl_print(obj);
}


int
ngx_http_imprest_ctl_initial_revoke(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, existed;
    char                        *pos[1];
    u_char                       digest[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    size_t                       len;
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key, index;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (n == 0) {
        return ngx_http_imprest_ctl_usage_error(
                   "missing DIGEST_PREFIX or TOKEN");
    }

    len = 0;

    /* the first pass checks an argument; stdin is read on the second */
    rc = ngx_http_imprest_ctl_initial_arg(pos[0], ctl != NULL, digest, &len);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &index,
                                  NGX_HTTP_IMPREST_KEY_INITIALS, "", 0, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (len < NGX_HTTP_IMPREST_DIGEST_HEX_LEN) {
        rc = ngx_http_imprest_ctl_initial_find(ctl, &index, digest, len,
                                               digest);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_INITIAL,
                                  digest, sizeof(digest), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "DEL %b", key.data, key.len);
    ngx_http_imprest_ctl_queue(ctl, "ZREM %b %b", index.data, index.len,
                               digest, sizeof(digest));

    reply = ngx_http_imprest_ctl_exec_once(ctl);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = ngx_http_imprest_ctl_positive(reply->element[0]);
    freeReplyObject(reply);

    obj = json_object();

    if (obj
        && (json_object_set_new(obj, "ok", json_true()) != 0
            || json_object_set_new(obj, "existed", json_boolean(existed == 1))
               != 0
            || ngx_http_imprest_ctl_set_str(obj, "digest", digest,
                                      NGX_HTTP_IMPREST_CTL_DIGEST_SHOWN)
               != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


/* a note: at most 256 bytes of UTF-8 without control characters */

static int
ngx_http_imprest_ctl_initial_note(const char *note)
{
    size_t   i, len;
    json_t  *utf8;

    len = strlen(note);

    if (len > NGX_HTTP_IMPREST_CTL_NOTE_MAX) {
        return ngx_http_imprest_ctl_usage_error(
                   "--note must be at most %d bytes",
                   NGX_HTTP_IMPREST_CTL_NOTE_MAX);
    }

    for (i = 0; i < len; i++) {
        if ((u_char) note[i] < 0x20 || note[i] == 0x7f) {
            return ngx_http_imprest_ctl_usage_error(
                       "--note must not contain control characters");
        }
    }

    utf8 = json_stringn(note, len);
    if (utf8 == NULL) {
        return ngx_http_imprest_ctl_usage_error("--note is not UTF-8");
    }

    json_decref(utf8);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * The argument of "revoke": an initial access token (or "-": one on
 * stdin), whose whole digest goes to digest (*len 64); or a digest
 * prefix of 8 to 64 lower-case hex digits, copied (*len its length).
 */

static int
ngx_http_imprest_ctl_initial_arg(const char *arg, int read_stdin,
    u_char *digest, size_t *len)
{
    int     rc;
    char    line[4096];
    size_t  i, n;

    if (strcmp(arg, "-") == 0) {
        if (!read_stdin) {
            return NGX_HTTP_IMPREST_CTL_OK;
        }

        if (fgets(line, sizeof(line), stdin) == NULL) {
            return ngx_http_imprest_ctl_usage_error("no TOKEN on stdin");
        }

        n = strcspn(line, "\r\n");
        arg = line;

    } else {
        line[0] = '\0';
        n = strlen(arg);
    }

    if (ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_IA,
                                     (const u_char *) arg, n))
    {
        rc = ngx_http_imprest_digest_hex((const u_char *) arg, n, digest)
             == 0 ? NGX_HTTP_IMPREST_CTL_OK
                  : ngx_http_imprest_ctl_error("SHA-256 failed");
        *len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;
        OPENSSL_cleanse(line, sizeof(line));
        return rc;
    }

    OPENSSL_cleanse(line, sizeof(line));

    if (arg == line || n < NGX_HTTP_IMPREST_CTL_DIGEST_MIN
        || n > NGX_HTTP_IMPREST_DIGEST_HEX_LEN)
    {
        return ngx_http_imprest_ctl_usage_error(
                   "not an initial access token nor a digest prefix of "
                   "%d to %d lower-case hex digits",
                   NGX_HTTP_IMPREST_CTL_DIGEST_MIN,
                   NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
    }

    for (i = 0; i < n; i++) {
        if (!((arg[i] >= '0' && arg[i] <= '9')
              || (arg[i] >= 'a' && arg[i] <= 'f')))
        {
            return ngx_http_imprest_ctl_usage_error(
                       "not an initial access token nor a digest prefix of "
                       "%d to %d lower-case hex digits",
                       NGX_HTTP_IMPREST_CTL_DIGEST_MIN,
                       NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
        }
    }

    memcpy(digest, arg, n);
    *len = n;

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* the one live digest of the index that starts with prefix */

static int
ngx_http_imprest_ctl_initial_find(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *index, const u_char *prefix, size_t len,
    u_char *digest)
{
    int          rc;
    char         now_s[32];
    size_t       i, found;
    redisReply  *reply, *e;
    u_char       want[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];

    memcpy(want, prefix, len);
    snprintf(now_s, sizeof(now_s), "%lld", (long long) ctl->now);

    reply = ngx_http_imprest_ctl_command(ctl, "ZRANGEBYSCORE %b (%s +inf",
                                         index->data, index->len, now_s);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("unexpected reply to "
                                          "ZRANGEBYSCORE");
    }

    found = 0;

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type == REDIS_REPLY_STRING
            && e->len == NGX_HTTP_IMPREST_DIGEST_HEX_LEN
            && memcmp(e->str, want, len) == 0)
        {
            if (found++ == 0) {
                memcpy(digest, e->str, NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
            }
        }
    }

    freeReplyObject(reply);

    if (found == 1) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    rc = found ? ngx_http_imprest_ctl_error("the digest prefix matches %d "
                                            "initial access tokens: give "
                                            "more digits", (int) found)
               : ngx_http_imprest_ctl_error("no such initial access token");

    return rc;
}
