/*
 * Copyright (C) Imprest
 *
 * imprestctl: "org add", "org del", "org list", "org show", "member add",
 * "member set-role", "member del" and "member list".  A membership is
 * both sides (user:<uid>:orgs, org:<uuid>:members) and its role in
 * user:<uid>:roles (absent: "member"), changed together.
 */


#include <stdlib.h>
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
    ngx_http_imprest_ctl_key_t   roles;
    const char                  *role;      /* NULL: keep, or "member" */
    int                          existed;
} ngx_http_imprest_ctl_member_t;


/* one "user del" or "org del" */

typedef struct {
    ngx_http_imprest_ctl_key_t   record;
    ngx_http_imprest_ctl_key_t   set;
    ngx_http_imprest_ctl_key_t   roles;     /* a user's */
    ngx_http_imprest_ctl_key_t   index;     /* users, orgs */
    const char                  *kind;
    const char                  *suffix;
    const void                  *self;
    size_t                       len;
    int                          uuids;
} ngx_http_imprest_ctl_unlink_t;


static int ngx_http_imprest_ctl_unlink_try(ngx_http_imprest_ctl_t *ctl,
    void *data);
static int ngx_http_imprest_ctl_member_args(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv, ngx_http_imprest_ctl_opt_t *opts, size_t nopts,
    int npos, ngx_http_imprest_ctl_member_t *mb, char **pos);
static int ngx_http_imprest_ctl_member_role_try(ngx_http_imprest_ctl_t *ctl,
    void *data);
static json_t *ngx_http_imprest_ctl_rows(redisReply *ids, redisReply **names,
    redisReply **roles, const char *id_key, int org_roles);
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
 * membership (<kind><member><suffix>) and the roles of those memberships
 * (a user's roles hash; for an org, its field in each member's), and from
 * imprestctl's index, in one MULTI/EXEC.  The set is WATCHed while read,
 * so a "member add" in between makes EXEC fail and the whole step is
 * retried instead of leaving a one-sided membership.  Then the grants
 * end: a user's all, an org leaves every grant (disconnect.lua).
 * Prints {"ok":true,"existed":...,"grants_changed":N}.
 * Members that cannot be a uid (or, with uuids, a canonical UUID) name no
 * key of the schema and are only dropped with the set.
 */

int
ngx_http_imprest_ctl_unlink_all(ngx_http_imprest_ctl_t *ctl, const char *own,
    const void *self, size_t len, const char *set, const char *kind,
    const char *suffix, int uuids)
{
    int                            rc, existed, is_user;
    json_t                        *obj;
    long long                      changed;
    redisReply                    *reply;
    ngx_http_imprest_ctl_unlink_t  u;

    is_user = (strcmp(own, NGX_HTTP_IMPREST_KEY_USER) == 0);

    if (ngx_http_imprest_ctl_key(ctl, &u.record, own, self, len, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &u.set, own, self, len, set)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &u.roles, own, self, len,
                                    NGX_HTTP_IMPREST_KEY_ROLES_SUFFIX)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &u.index,
                                    is_user ? NGX_HTTP_IMPREST_CTL_KEY_USERS
                                            : NGX_HTTP_IMPREST_CTL_KEY_ORGS,
                                    "", 0, "")
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

    existed = ngx_http_imprest_ctl_positive(reply->element[0]);
    freeReplyObject(reply);

    /* after the change: a grant made in between meets no membership */

    rc = ngx_http_imprest_ctl_disconnect(ctl, is_user ? "user" : "org",
                                         self, len, NULL, NULL,
                                         is_user ? NULL : self, &changed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    obj = json_pack("{s:b,s:b,s:I}", "ok", 1, "existed", existed,
                    "grants_changed", (json_int_t) changed);

    return ngx_http_imprest_ctl_print(obj);
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

    /* a user's roles go with the user; an org has none of its own */

    if (u->uuids) {
        ngx_http_imprest_ctl_queue(ctl, "DEL %b %b %b", u->record.data,
                                   u->record.len, u->set.data, u->set.len,
                                   u->roles.data, u->roles.len);
    } else {
        ngx_http_imprest_ctl_queue(ctl, "DEL %b %b", u->record.data,
                                   u->record.len, u->set.data, u->set.len);
    }

    ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", u->index.data,
                               u->index.len, u->self, u->len);

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

        if (u->uuids) {
            continue;
        }

        /* an org: its role in each member's roles */

        rc = ngx_http_imprest_ctl_key(ctl, &other, u->kind, m->str, m->len,
                                      NGX_HTTP_IMPREST_KEY_ROLES_SUFFIX);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            break;
        }

        ngx_http_imprest_ctl_queue(ctl, "HDEL %b %b", other.data, other.len,
                                   u->self, u->len);
    }

    freeReplyObject(members);

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        /* the connection is dropped unused: Redis discards the MULTI */
        return rc;
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * "UID ORG_UUID" (and npos - 2 more positional arguments into pos) with
 * the options opts, checked, and with ctl their keys
 */

static int
ngx_http_imprest_ctl_member_args(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv, ngx_http_imprest_ctl_opt_t *opts, size_t nopts, int npos,
    ngx_http_imprest_ctl_member_t *mb, char **pos)
{
    int  rc, n;

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, nopts, pos, npos, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n > 0 ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n > 1 ? pos[1] : NULL, mb->org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (n < npos) {
        return ngx_http_imprest_ctl_usage_error("missing role");
    }

    if (ctl == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
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
        || ngx_http_imprest_ctl_key(ctl, &mb->roles,
                                    NGX_HTTP_IMPREST_KEY_USER,
                                    mb->uid, mb->ulen,
                                    NGX_HTTP_IMPREST_KEY_ROLES_SUFFIX)
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


/* {"ok":true,"uid":...,"org":...,"role":...,"existed":...} */

static int
ngx_http_imprest_ctl_member_print(ngx_http_imprest_ctl_member_t *mb,
    const char *role, size_t role_len)
{
    return ngx_http_imprest_ctl_print(
               json_pack("{s:b,s:s%,s:s%,s:s%,s:b}", "ok", 1,
                         "uid", mb->uid, mb->ulen,
                         "org", mb->org, sizeof(mb->org),
                         "role", role, role_len,
                         "existed", mb->existed));
}


int
ngx_http_imprest_ctl_member_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                            rc;
    char                          *pos[2];
    redisReply                    *reply, *role;
    ngx_http_imprest_ctl_opt_t     opts[] = {
        { "--role", NULL, NULL, 0, 0 }
    };
    ngx_http_imprest_ctl_member_t  mb;

    rc = ngx_http_imprest_ctl_member_args(ctl, argc, argv, opts, 1, 2, &mb,
                                          pos);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (opts[0].value) {
        rc = ngx_http_imprest_ctl_check_role(opts[0].value);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    if (ctl == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    mb.role = opts[0].value;

    reply = ngx_http_imprest_ctl_retry(ctl, ngx_http_imprest_ctl_member_try,
                                       &mb);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    /* the role as it is now: the last command of the transaction */

    role = reply->element[reply->elements - 1];

    rc = ngx_http_imprest_ctl_member_print(&mb,
             role->type == REDIS_REPLY_STRING ? role->str
                                              : NGX_HTTP_IMPREST_ROLE_MEMBER,
             role->type == REDIS_REPLY_STRING
             ? role->len : sizeof(NGX_HTTP_IMPREST_ROLE_MEMBER) - 1);

    freeReplyObject(reply);

    return rc;
}


/*
 * The user, the org and the user's orgs are WATCHed while checked, so a
 * concurrent "user del" or "org del" cannot leave a membership of a
 * deleted one, and the role written is that of a membership known new or
 * old.
 */

static int
ngx_http_imprest_ctl_member_try(ngx_http_imprest_ctl_t *ctl, void *data)
{
    ngx_http_imprest_ctl_member_t *mb = data;

    int          rc;
    const char  *role;
    redisReply  *r;

    rc = ngx_http_imprest_ctl_run(ctl, "WATCH %b %b %b",
                                  mb->user.data, mb->user.len,
                                  mb->org_key.data, mb->org_key.len,
                                  mb->orgs.data, mb->orgs.len);
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

    r = ngx_http_imprest_ctl_command(ctl, "SISMEMBER %b %b", mb->orgs.data,
                                     mb->orgs.len, mb->org, sizeof(mb->org));
    if (r == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    mb->existed = (r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);

    /* a new membership is a "member" unless --role says otherwise */

    role = mb->role;

    if (role == NULL && !mb->existed) {
        role = NGX_HTTP_IMPREST_ROLE_MEMBER;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", mb->orgs.data,
                               mb->orgs.len, mb->org, sizeof(mb->org));
    ngx_http_imprest_ctl_queue(ctl, "SADD %b %b", mb->members.data,
                               mb->members.len, mb->uid, mb->ulen);

    if (role) {
        ngx_http_imprest_ctl_queue(ctl, "HSET %b %b %s", mb->roles.data,
                                   mb->roles.len, mb->org, sizeof(mb->org),
                                   role);
    }

    ngx_http_imprest_ctl_queue(ctl, "HGET %b %b", mb->roles.data,
                               mb->roles.len, mb->org, sizeof(mb->org));

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_member_set_role(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                            rc;
    char                          *pos[3];
    redisReply                    *reply;
    ngx_http_imprest_ctl_member_t  mb;

    rc = ngx_http_imprest_ctl_member_args(ctl, argc, argv, NULL, 0, 3, &mb,
                                          pos);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_role(pos[2]);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    mb.role = pos[2];

    reply = ngx_http_imprest_ctl_retry(ctl,
                                       ngx_http_imprest_ctl_member_role_try,
                                       &mb);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(reply);

    mb.existed = 1;

    return ngx_http_imprest_ctl_member_print(&mb, mb.role, strlen(mb.role));
}


/* the membership is WATCHed while checked: a "member del" wins or waits */

static int
ngx_http_imprest_ctl_member_role_try(ngx_http_imprest_ctl_t *ctl,
    void *data)
{
    ngx_http_imprest_ctl_member_t *mb = data;

    int          rc;
    redisReply  *r;

    rc = ngx_http_imprest_ctl_watch(ctl, &mb->orgs, NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    r = ngx_http_imprest_ctl_command(ctl, "SISMEMBER %b %b", mb->orgs.data,
                                     mb->orgs.len, mb->org, sizeof(mb->org));
    if (r == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    rc = (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
         ? NGX_HTTP_IMPREST_CTL_OK
         : ngx_http_imprest_ctl_not_found("no such membership");

    freeReplyObject(r);

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "HSET %b %b %s", mb->roles.data,
                               mb->roles.len, mb->org, sizeof(mb->org),
                               mb->role);

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * Both sides and the role in one MULTI/EXEC; then the organization leaves
 * the user's grants (disconnect.lua), so that access does not come back
 * with a later membership.
 */

int
ngx_http_imprest_ctl_member_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                            rc, existed;
    char                          *pos[2];
    json_t                        *obj;
    long long                      changed;
    redisReply                    *reply;
    ngx_http_imprest_ctl_member_t  mb;

    rc = ngx_http_imprest_ctl_member_args(ctl, argc, argv, NULL, 0, 2, &mb,
                                          pos);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    ngx_http_imprest_ctl_multi(ctl);
    ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", mb.orgs.data, mb.orgs.len,
                               mb.org, sizeof(mb.org));
    ngx_http_imprest_ctl_queue(ctl, "SREM %b %b", mb.members.data,
                               mb.members.len, mb.uid, mb.ulen);
    ngx_http_imprest_ctl_queue(ctl, "HDEL %b %b", mb.roles.data,
                               mb.roles.len, mb.org, sizeof(mb.org));

    reply = ngx_http_imprest_ctl_exec_once(ctl);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = ngx_http_imprest_ctl_positive(reply->element[0])
              || ngx_http_imprest_ctl_positive(reply->element[1]);

    freeReplyObject(reply);

    rc = ngx_http_imprest_ctl_disconnect(ctl, "user", mb.uid, mb.ulen, NULL,
                                         NULL, mb.org, &changed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    obj = json_pack("{s:b,s:b,s:I}", "ok", 1, "existed", existed,
                    "grants_changed", (json_int_t) changed);

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * Rows of a membership list from the sorted ids, their names (HGET name,
 * NULL reply: no record) and their roles: [{"<id_key>","name","role"}].
 * With org_roles roles[0] is the roles hash (HGETALL) of one user, read
 * by org id; else roles[i] is the role of ids[i].  NULL: out of memory or
 * not UTF-8.
 */

static json_t *
ngx_http_imprest_ctl_rows(redisReply *ids, redisReply **names,
    redisReply **roles, const char *id_key, int org_roles)
{
    size_t       i, j;
    json_t      *arr, *row;
    const char  *role;
    size_t       role_len;
    redisReply  *m, *n, *r, *h;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }

    for (i = 0; i < ids->elements; i++) {
        m = ids->element[i];
        n = names[i];

        if (m->type != REDIS_REPLY_STRING || n == NULL) {
            continue;
        }

        role = NGX_HTTP_IMPREST_ROLE_MEMBER;
        role_len = sizeof(NGX_HTTP_IMPREST_ROLE_MEMBER) - 1;
        r = NULL;

        if (org_roles) {
            h = roles[0];

            for (j = 0; h->type == REDIS_REPLY_ARRAY && j + 1 < h->elements;
                 j += 2)
            {
                if (h->element[j]->type == REDIS_REPLY_STRING
                    && h->element[j]->len == m->len
                    && memcmp(h->element[j]->str, m->str, m->len) == 0)
                {
                    r = h->element[j + 1];
                    break;
                }
            }

        } else {
            r = roles[i];
        }

        if (r && r->type == REDIS_REPLY_STRING) {
            role = r->str;
            role_len = r->len;
        }

        row = json_pack("{s:s%,s:s%,s:s%}", id_key, m->str, m->len,
                        "name", n->type == REDIS_REPLY_STRING ? n->str : "",
                        n->type == REDIS_REPLY_STRING ? n->len : 0,
                        "role", role, role_len);

        if (row == NULL || json_array_append_new(arr, row) != 0) {
            json_decref(arr);
            return NULL;
        }
    }

    return arr;
}


/* a user's organizations: [{"id","name","role"}], sorted by id */

json_t *
ngx_http_imprest_ctl_user_orgs(ngx_http_imprest_ctl_t *ctl, const char *uid,
    size_t len)
{
    json_t                      *arr;
    redisReply                  *ids, **names, *roles;
    ngx_http_imprest_ctl_key_t   set, key;

    if (ngx_http_imprest_ctl_key(ctl, &set, NGX_HTTP_IMPREST_KEY_USER, uid,
                                 len, NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX)
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_USER,
                                    uid, len,
                                    NGX_HTTP_IMPREST_KEY_ROLES_SUFFIX)
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NULL;
    }

    ids = ngx_http_imprest_ctl_members(ctl, &set);
    if (ids == NULL) {
        return NULL;
    }

    ngx_http_imprest_ctl_sort(ids);

    names = ngx_http_imprest_ctl_each(ctl, "HGET", NGX_HTTP_IMPREST_KEY_ORG,
                                      ids, "", NGX_HTTP_IMPREST_F_NAME,
                                      sizeof(NGX_HTTP_IMPREST_F_NAME) - 1);
    if (names == NULL) {
        freeReplyObject(ids);
        return NULL;
    }

    roles = ngx_http_imprest_ctl_command(ctl, "HGETALL %b", key.data,
                                         key.len);
    if (roles == NULL) {
        ngx_http_imprest_ctl_free_replies(names, ids->elements);
        freeReplyObject(ids);
        return NULL;
    }

    /* an organization whose record is gone still shows: it is a member */

    arr = ngx_http_imprest_ctl_rows(ids, names, &roles, "id", 1);

    if (arr == NULL) {
        (void) ngx_http_imprest_ctl_error("not valid UTF-8 or out of memory");
    }

    freeReplyObject(roles);
    ngx_http_imprest_ctl_free_replies(names, ids->elements);
    freeReplyObject(ids);

    return arr;
}


/* an organization's members: [{"uid","name","role"}], sorted by uid */

json_t *
ngx_http_imprest_ctl_org_members(ngx_http_imprest_ctl_t *ctl,
    const u_char *org)
{
    json_t                      *arr;
    redisReply                  *ids, **names, **roles;
    ngx_http_imprest_ctl_key_t   set;

    if (ngx_http_imprest_ctl_key(ctl, &set, NGX_HTTP_IMPREST_KEY_ORG, org,
                                 NGX_HTTP_IMPREST_UUID_LEN,
                                 NGX_HTTP_IMPREST_KEY_MEMBERS_SUFFIX)
        != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NULL;
    }

    ids = ngx_http_imprest_ctl_members(ctl, &set);
    if (ids == NULL) {
        return NULL;
    }

    ngx_http_imprest_ctl_sort(ids);

    names = ngx_http_imprest_ctl_each(ctl, "HGET", NGX_HTTP_IMPREST_KEY_USER,
                                      ids, "", NGX_HTTP_IMPREST_F_NAME,
                                      sizeof(NGX_HTTP_IMPREST_F_NAME) - 1);
    if (names == NULL) {
        freeReplyObject(ids);
        return NULL;
    }

    roles = ngx_http_imprest_ctl_each(ctl, "HGET", NGX_HTTP_IMPREST_KEY_USER,
                                      ids, NGX_HTTP_IMPREST_KEY_ROLES_SUFFIX,
                                      org, NGX_HTTP_IMPREST_UUID_LEN);
    if (roles == NULL) {
        ngx_http_imprest_ctl_free_replies(names, ids->elements);
        freeReplyObject(ids);
        return NULL;
    }

    arr = ngx_http_imprest_ctl_rows(ids, names, roles, "uid", 0);

    if (arr == NULL) {
        (void) ngx_http_imprest_ctl_error("not valid UTF-8 or out of memory");
    }

    ngx_http_imprest_ctl_free_replies(roles, ids->elements);
    ngx_http_imprest_ctl_free_replies(names, ids->elements);
    freeReplyObject(ids);

    return arr;
}


int
ngx_http_imprest_ctl_member_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    json_t                      *arr;
    long long                    exists;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--user", NULL, NULL, 0, 0 },
        { "--org", NULL, NULL, 0, 0 }
    };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 2, NULL, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if ((opts[0].value == NULL) == (opts[1].value == NULL)) {
        return ngx_http_imprest_ctl_usage_error("one of --user or --org");
    }

    rc = opts[0].value ? ngx_http_imprest_ctl_check_id("--user",
                                                       opts[0].value)
                       : ngx_http_imprest_ctl_check_uuid(opts[1].value, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = opts[0].value
         ? ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_USER,
                                    opts[0].value, strlen(opts[0].value), "")
         : ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_ORG, org,
                                    sizeof(org), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_exists(ctl, &key, &exists);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    if (exists != 1) {
        return ngx_http_imprest_ctl_not_found(opts[0].value
                                              ? "no such user"
                                              : "no such organization");
    }

    if (opts[0].value) {
        arr = ngx_http_imprest_ctl_user_orgs(ctl, opts[0].value,
                                             strlen(opts[0].value));
        if (arr == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        return ngx_http_imprest_ctl_print(json_pack("{s:o}", "orgs", arr));
    }

    arr = ngx_http_imprest_ctl_org_members(ctl, org);
    if (arr == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    return ngx_http_imprest_ctl_print(json_pack("{s:o}", "members", arr));
}


int
ngx_http_imprest_ctl_org_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    json_t                      *arr, *obj;
    redisReply                  *name;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n ? pos[0] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_ORG, org,
                                  sizeof(org), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    name = ngx_http_imprest_ctl_command(ctl,
                                        "HGET %b " NGX_HTTP_IMPREST_F_NAME,
                                        key.data, key.len);
    if (name == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    if (name->type != REDIS_REPLY_STRING) {
        freeReplyObject(name);
        return ngx_http_imprest_ctl_not_found("no such organization");
    }

    arr = ngx_http_imprest_ctl_org_members(ctl, org);
    if (arr == NULL) {
        freeReplyObject(name);
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    obj = json_pack("{s:s%,s:s%,s:o}", "id", org, sizeof(org),
                    "name", name->str, name->len, "members", arr);
    freeReplyObject(name);

    return ngx_http_imprest_ctl_print(obj);
}


int
ngx_http_imprest_ctl_org_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    size_t                       i;
    json_t                      *arr, *row;
    redisReply                  *ids, **names, **counts, *m;
    ngx_http_imprest_ctl_key_t   set;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, NULL, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &set, NGX_HTTP_IMPREST_CTL_KEY_ORGS,
                                  "", 0, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ids = ngx_http_imprest_ctl_members(ctl, &set);
    if (ids == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    ngx_http_imprest_ctl_sort(ids);

    names = ngx_http_imprest_ctl_each(ctl, "HGET", NGX_HTTP_IMPREST_KEY_ORG,
                                      ids, "", NGX_HTTP_IMPREST_F_NAME,
                                      sizeof(NGX_HTTP_IMPREST_F_NAME) - 1);
    counts = names
             ? ngx_http_imprest_ctl_each(ctl, "SCARD",
                                         NGX_HTTP_IMPREST_KEY_ORG, ids,
                                         NGX_HTTP_IMPREST_KEY_MEMBERS_SUFFIX,
                                         NULL, 0)
             : NULL;

    arr = (counts != NULL) ? json_array() : NULL;
    rc = (counts != NULL) ? NGX_HTTP_IMPREST_CTL_OK
                          : NGX_HTTP_IMPREST_CTL_ERROR;

    for (i = 0; arr && i < ids->elements; i++) {
        m = ids->element[i];

        /* deleted by another writer: no longer an organization */

        if (names[i] == NULL || names[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        row = json_pack("{s:s%,s:s%,s:I}", "id", m->str, m->len,
                        "name", names[i]->str, names[i]->len,
                        "members", (json_int_t)
                        (counts[i]->type == REDIS_REPLY_INTEGER
                         ? counts[i]->integer : 0));

        if (row == NULL || json_array_append_new(arr, row) != 0) {
            json_decref(arr);
            arr = NULL;
            rc = ngx_http_imprest_ctl_error(
                     "not valid UTF-8 or out of memory");
        }
    }

    if (counts) {
        ngx_http_imprest_ctl_free_replies(counts, ids->elements);
    }

    if (names) {
        ngx_http_imprest_ctl_free_replies(names, ids->elements);
    }

    freeReplyObject(ids);

    if (arr == NULL) {
        return rc == NGX_HTTP_IMPREST_CTL_OK ? ngx_http_imprest_ctl_error(
                                                   "out of memory")
                                             : rc;
    }

    return ngx_http_imprest_ctl_print(json_pack("{s:o}", "orgs", arr));
}
