/*
 * Copyright (C) Imprest
 *
 * imprestctl: "org add", "org del", "member add" and "member del".
 */


#include <string.h>

#include "ngx_http_imprest_ctl.h"


/* the keys of a membership: the user, the org and the set of each */

typedef struct {
    const char                  *uid;
    size_t                       ulen;
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    ngx_http_imprest_ctl_key_t   user;
    ngx_http_imprest_ctl_key_t   orgs;
    ngx_http_imprest_ctl_key_t   org_key;
    ngx_http_imprest_ctl_key_t   members;
} ngx_http_imprest_ctl_member_t;


/* one "user del" or "org del" */

typedef struct {
    ngx_http_imprest_ctl_key_t   record;
    ngx_http_imprest_ctl_key_t   set;
    const char                  *kind;
    const char                  *suffix;
    const void                  *self;
    size_t                       len;
    int                          uuids;
} ngx_http_imprest_ctl_unlink_t;


static int ngx_http_imprest_ctl_unlink_try(ngx_http_imprest_ctl_t *ctl,
    void *data);
static int ngx_http_imprest_ctl_member_args(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv, ngx_http_imprest_ctl_member_t *mb);
static int ngx_http_imprest_ctl_member_try(ngx_http_imprest_ctl_t *ctl,
    void *data);


int
ngx_http_imprest_ctl_org_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
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

    /* the name is checked on the first call, before an id is made */

    if (ctl && n == 0 && ngx_http_imprest_uuid_v4(org) != 0) {
        return ngx_http_imprest_ctl_error("RAND_bytes failed");
    }

    rc = ngx_http_imprest_ctl_set_name(ctl, NGX_HTTP_IMPREST_KEY_ORG, org,
                                       sizeof(org), opts[0].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    return ngx_http_imprest_ctl_print_pair("id", org, sizeof(org), "name",
                                           opts[0].value,
                                           strlen(opts[0].value));
}


int
ngx_http_imprest_ctl_org_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int          rc, n;
    char        *pos[1];
    u_char       org[NGX_HTTP_IMPREST_UUID_LEN];

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n ? pos[0] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    return ngx_http_imprest_ctl_unlink_all(ctl, NGX_HTTP_IMPREST_KEY_ORG,
                                           org, sizeof(org),
                                           NGX_HTTP_IMPREST_KEY_MEMBERS_SUFFIX,
                                           NGX_HTTP_IMPREST_KEY_USER,
                                           NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX,
                                           0);
}


/*
 * Deletes a user or an org (the record <own><self> and its set
 * <own><self><set>) and removes self from the other side of every
 * membership (<kind><member><suffix>), in one MULTI/EXEC.  The set is
 * WATCHed while read, so a "member add" in between makes EXEC fail and the
 * whole step is retried instead of leaving a one-sided membership.
 * Prints {"ok":true,"existed":...}.
 * Members that cannot be a uid (or, with uuids, a canonical UUID) name no
 * key of the schema and are only dropped with the set.
 */

int
ngx_http_imprest_ctl_unlink_all(ngx_http_imprest_ctl_t *ctl, const char *own,
    const void *self, size_t len, const char *set, const char *kind,
    const char *suffix, int uuids)
{
    redisReply                    *reply;
    ngx_http_imprest_ctl_unlink_t  u;

    if (ngx_http_imprest_ctl_key(ctl, &u.record, own, self, len, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &u.set, own, self, len, set)
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    u.kind = kind;
    u.suffix = suffix;
    u.self = self;
    u.len = len;
    u.uuids = uuids;

    reply = ngx_http_imprest_ctl_retry(ctl, ngx_http_imprest_ctl_unlink_try,
                                       &u);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    return ngx_http_imprest_ctl_print_deleted(reply);
}


static int
ngx_http_imprest_ctl_unlink_try(ngx_http_imprest_ctl_t *ctl, void *data)
{
    ngx_http_imprest_ctl_unlink_t *u = data;

    int                          rc;
    size_t                       i;
    u_char                       canon[NGX_HTTP_IMPREST_UUID_LEN];
    redisReply                  *members, *m;
    ngx_http_imprest_ctl_key_t   other;

    rc = ngx_http_imprest_ctl_watch(ctl, &u->set, NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    members = ngx_http_imprest_ctl_members(ctl, &u->set);
    if (members == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "DEL %b %b", u->record.data,
                               u->record.len, u->set.data, u->set.len);

    rc = NGX_HTTP_IMPREST_CTL_OK;

    for (i = 0; i < members->elements; i++) {
        m = members->element[i];

        if (m->type != REDIS_REPLY_STRING) {
            continue;
        }

        if (u->uuids) {
            if (!ngx_http_imprest_uuid_canonical((u_char *) m->str, m->len,
                                                 canon)
                || memcmp(canon, m->str, sizeof(canon)) != 0)
            {
                continue;
            }

        } else if (!ngx_http_imprest_id_valid((u_char *) m->str, m->len)) {
            continue;
        }

        rc = ngx_http_imprest_ctl_key(ctl, &other, u->kind, m->str, m->len,
                                      u->suffix);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            break;
        }

        ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", other.data, other.len,
                                   u->self, u->len);
    }

    freeReplyObject(members);

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        /* the connection is dropped unused: Redis discards the MULTI */
        return rc;
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* "UID ORG_UUID", checked, and with ctl their keys */

static int
ngx_http_imprest_ctl_member_args(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv, ngx_http_imprest_ctl_member_t *mb)
{
    int    rc, n;
    char  *pos[2];

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 2, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n > 0 ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n > 1 ? pos[1] : NULL, mb->org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    mb->uid = pos[0];
    mb->ulen = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &mb->user, NGX_HTTP_IMPREST_KEY_USER,
                                 mb->uid, mb->ulen, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &mb->orgs, NGX_HTTP_IMPREST_KEY_USER,
                                    mb->uid, mb->ulen,
                                    NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &mb->org_key,
                                    NGX_HTTP_IMPREST_KEY_ORG, mb->org,
                                    sizeof(mb->org), "")
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &mb->members,
                                    NGX_HTTP_IMPREST_KEY_ORG, mb->org,
                                    sizeof(mb->org),
                                    NGX_HTTP_IMPREST_KEY_MEMBERS_SUFFIX)
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_member_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                            rc;
    redisReply                    *reply;
    ngx_http_imprest_ctl_member_t  mb;

    rc = ngx_http_imprest_ctl_member_args(ctl, argc, argv, &mb);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_retry(ctl, ngx_http_imprest_ctl_member_try,
                                       &mb);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(-1);
}


/*
 * The user and org are WATCHed while checked, so a concurrent "user del"
 * or "org del" cannot leave a membership of a deleted one.
 */

static int
ngx_http_imprest_ctl_member_try(ngx_http_imprest_ctl_t *ctl, void *data)
{
    ngx_http_imprest_ctl_member_t *mb = data;

    int  rc;

    rc = ngx_http_imprest_ctl_watch(ctl, &mb->user, &mb->org_key);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_must_exist(ctl, &mb->user, "no such user");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_must_exist(ctl, &mb->org_key,
                                         "no such organization");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", mb->orgs.data,
                               mb->orgs.len, mb->org, sizeof(mb->org));
    ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", mb->members.data,
                               mb->members.len, mb->uid, mb->ulen);

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_member_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                            rc, existed;
    redisReply                    *reply;
    ngx_http_imprest_ctl_member_t  mb;

    rc = ngx_http_imprest_ctl_member_args(ctl, argc, argv, &mb);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", mb.orgs.data, mb.orgs.len,
                               mb.org, sizeof(mb.org));
    ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", mb.members.data,
                               mb.members.len, mb.uid, mb.ulen);

    reply = ngx_http_imprest_ctl_exec_once(ctl);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = ngx_http_imprest_ctl_positive(reply->element[0])
              || ngx_http_imprest_ctl_positive(reply->element[1]);

    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}
