/*
 * Copyright (C) Imprest
 *
 * imprestctl: "org add", "org del", "member add" and "member del".
 */


#include <string.h>

#include "ngx_http_imprest_ctl.h"


int
ngx_http_imprest_ctl_org_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = { { "--name", NULL, NULL, 0, 0 } };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 1, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (n) {
        rc = ngx_http_imprest_ctl_check_uuid(pos[0], org);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                         NGX_HTTP_IMPREST_CTL_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (n == 0 && ngx_http_imprest_uuid_v4(org) != 0) {
        return ngx_http_imprest_ctl_error("RAND_bytes failed");
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "org:", org, sizeof(org), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl, "HSET %b name %b",
                                         key.data, key.len, opts[0].value,
                                         strlen(opts[0].value));
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(reply);

    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, "id", org, sizeof(org)) != 0
            || ngx_http_imprest_ctl_set_str(obj, "name", opts[0].value,
                                            strlen(opts[0].value)) != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


int
ngx_http_imprest_ctl_org_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, existed;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    ngx_http_imprest_ctl_key_t   record, set;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n ? pos[0] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_ctl_key(ctl, &record, "org:", org, sizeof(org), "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &set, "org:", org, sizeof(org),
                                    ":members")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_unlink_all(ctl, &record, &set, "user:",
                                         ":orgs", org, sizeof(org), 0,
                                         &existed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    return ngx_http_imprest_ctl_print_ok(existed);
}


/*
 * Deletes a user or an org (record and its set) and removes self from the
 * other side of every membership, in one MULTI/EXEC.  The set is WATCHed
 * while read, so a "member add" in between makes EXEC fail and the whole
 * step is retried instead of leaving a one-sided membership.  Members
 * that cannot be a uid (or, with uuids, a canonical UUID) name no key of
 * the schema and are only dropped with the set.
 */

int
ngx_http_imprest_ctl_unlink_all(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *record, ngx_http_imprest_ctl_key_t *set,
    const char *kind, const char *suffix, const void *self, size_t len,
    int uuids, int *existed)
{
    int                          rc, try, aborted, queued;
    size_t                       i;
    u_char                       canon[NGX_HTTP_IMPREST_UUID_LEN];
    redisReply                  *members, *reply, *m;
    ngx_http_imprest_ctl_key_t   other;

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b", set->data,
                                             set->len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);

        members = ngx_http_imprest_ctl_command(ctl, "SMEMBERS %b", set->data,
                                               set->len);
        if (members == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        if (members->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(members);
            return ngx_http_imprest_ctl_error("unexpected reply to SMEMBERS");
        }

        rc = ngx_http_imprest_ctl_append(ctl, "MULTI");
        queued = 0;

        if (rc == NGX_HTTP_IMPREST_CTL_OK) {
            rc = ngx_http_imprest_ctl_append(ctl, "DEL %b %b",
                                             record->data, record->len,
                                             set->data, set->len);
            queued++;
        }

        for (i = 0; rc == NGX_HTTP_IMPREST_CTL_OK && i < members->elements;
             i++)
        {
            m = members->element[i];

            if (m->type != REDIS_REPLY_STRING) {
                continue;
            }

            if (uuids) {
                if (!ngx_http_imprest_uuid_canonical((u_char *) m->str,
                                                     m->len, canon)
                    || memcmp(canon, m->str, sizeof(canon)) != 0)
                {
                    continue;
                }

            } else if (!ngx_http_imprest_id_valid((u_char *) m->str,
                                                  m->len))
            {
                continue;
            }

            rc = ngx_http_imprest_ctl_key(ctl, &other, kind, m->str, m->len,
                                          suffix);
            if (rc != NGX_HTTP_IMPREST_CTL_OK) {
                break;
            }

            rc = ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                             other.data, other.len,
                                             self, len);
            queued++;
        }

        freeReplyObject(members);

        if (rc == NGX_HTTP_IMPREST_CTL_OK) {
            rc = ngx_http_imprest_ctl_append(ctl, "EXEC");
        }

        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            /* the connection is dropped unused: Redis discards the MULTI */
            return rc;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, queued, &aborted);

        if (reply) {
            *existed = reply->element[0]->type == REDIS_REPLY_INTEGER
                       && reply->element[0]->integer > 0;
            freeReplyObject(reply);
            return NGX_HTTP_IMPREST_CTL_OK;
        }

        if (!aborted) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }
    }

    return ngx_http_imprest_ctl_error("too much concurrent change, retry");
}


int
ngx_http_imprest_ctl_member_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, try, aborted, exists;
    char                        *pos[2];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    size_t                       ulen;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   user, org_key, orgs, members;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 2, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n > 0 ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n > 1 ? pos[1] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    ulen = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &user, "user:", pos[0], ulen, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &orgs, "user:", pos[0], ulen,
                                    ":orgs")
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &org_key, "org:", org, sizeof(org),
                                    "")
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &members, "org:", org, sizeof(org),
                                    ":members")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    /*
     * The user and org are WATCHed while checked, so a concurrent
     * "user del" or "org del" cannot leave a membership of a deleted one.
     */

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b %b",
                                             user.data, user.len,
                                             org_key.data, org_key.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);

        reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", user.data,
                                             user.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        exists = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
        freeReplyObject(reply);

        if (!exists) {
            return ngx_http_imprest_ctl_error("no such user");
        }

        reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", org_key.data,
                                             org_key.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        exists = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
        freeReplyObject(reply);

        if (!exists) {
            return ngx_http_imprest_ctl_error("no such organization");
        }

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                           orgs.data, orgs.len,
                                           org, sizeof(org))
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                           members.data, members.len,
                                           pos[0], ulen)
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, 2, &aborted);

        if (reply) {
            freeReplyObject(reply);
            return ngx_http_imprest_ctl_print_ok(-1);
        }

        if (!aborted) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }
    }

    return ngx_http_imprest_ctl_error("too much concurrent change, retry");
}


int
ngx_http_imprest_ctl_member_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, aborted, existed;
    char                        *pos[2];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    size_t                       ulen;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   orgs, members;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 2, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n > 0 ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n > 1 ? pos[1] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    ulen = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &orgs, "user:", pos[0], ulen, ":orgs")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &members, "org:", org, sizeof(org),
                                    ":members")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (ngx_http_imprest_ctl_append(ctl, "MULTI") != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                       orgs.data, orgs.len,
                                       org, sizeof(org))
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                       members.data, members.len,
                                       pos[0], ulen)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "EXEC")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    reply = ngx_http_imprest_ctl_exec(ctl, 2, &aborted);
    if (reply == NULL) {
        return aborted ? ngx_http_imprest_ctl_error("EXEC aborted")
                       : NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = (reply->element[0]->type == REDIS_REPLY_INTEGER
               && reply->element[0]->integer > 0)
              || (reply->element[1]->type == REDIS_REPLY_INTEGER
                  && reply->element[1]->integer > 0);

    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}
