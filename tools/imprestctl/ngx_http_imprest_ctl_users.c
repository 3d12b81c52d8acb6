/*
 * Copyright (C) Imprest
 *
 * imprestctl: "user add", "user del", "user list" and "user show".
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_http_imprest_ctl.h"


int
ngx_http_imprest_ctl_user_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc;
    const char                  *uid;
    ngx_http_imprest_ctl_opt_t   opts[] = { { "--name", NULL, NULL, 0, 0 } };

    rc = ngx_http_imprest_ctl_parse_id(argc, argv, opts, 1, "UID", &uid);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_set_name(ctl, NGX_HTTP_IMPREST_KEY_USER, uid,
                                       strlen(uid), opts[0].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    return ngx_http_imprest_ctl_print(json_pack("{s:b,s:s,s:s}", "ok", 1,
                                                "uid", uid,
                                                "name", opts[0].value));
}


int
ngx_http_imprest_ctl_user_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int          rc;
    const char  *uid;

    rc = ngx_http_imprest_ctl_parse_id(argc, argv, NULL, 0, "UID", &uid);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    return ngx_http_imprest_ctl_unlink_all(ctl, NGX_HTTP_IMPREST_KEY_USER,
                                           uid, strlen(uid),
                                           NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX,
                                           NGX_HTTP_IMPREST_KEY_ORG,
                                           NGX_HTTP_IMPREST_KEY_MEMBERS_SUFFIX,
                                           1);
}


/* the users imprestctl added: uid, name, how many organizations */

int
ngx_http_imprest_ctl_user_list(ngx_http_imprest_ctl_t *ctl, int argc,
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

    rc = ngx_http_imprest_ctl_key(ctl, &set, NGX_HTTP_IMPREST_CTL_KEY_USERS,
                                  "", 0, "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    ids = ngx_http_imprest_ctl_members(ctl, &set);
    if (ids == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    ngx_http_imprest_ctl_sort(ids);

    names = ngx_http_imprest_ctl_each(ctl, "HGET", NGX_HTTP_IMPREST_KEY_USER,
                                      ids, "", NGX_HTTP_IMPREST_F_NAME,
                                      sizeof(NGX_HTTP_IMPREST_F_NAME) - 1);
    counts = names ? ngx_http_imprest_ctl_each(ctl, "SCARD",
                                               NGX_HTTP_IMPREST_KEY_USER, ids,
                                               NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX,
                                               NULL, 0)
                   : NULL;

    arr = (counts != NULL) ? json_array() : NULL;
    rc = NGX_HTTP_IMPREST_CTL_OK;

    for (i = 0; arr && i < ids->elements; i++) {
        m = ids->element[i];

        /* deleted by another writer: no longer a user */

        if (names[i] == NULL || names[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        row = json_pack("{s:s%,s:s%,s:I}", "uid", m->str, m->len,
                        "name", names[i]->str, names[i]->len,
                        "orgs", (json_int_t)
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

    } else if (ngx_http_imprest_ctl_failed() == 0) {
        rc = ngx_http_imprest_ctl_error("out of memory");
    }

    if (names) {
        ngx_http_imprest_ctl_free_replies(names, ids->elements);
    }

    freeReplyObject(ids);

    if (arr == NULL) {
        return rc != NGX_HTTP_IMPREST_CTL_OK ? rc : NGX_HTTP_IMPREST_CTL_ERROR;
    }

    return ngx_http_imprest_ctl_print(json_pack("{s:o}", "users", arr));
}


/* the user, their organizations with roles, the apps they own */

int
ngx_http_imprest_ctl_user_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc;
    size_t                       len;
    json_t                      *orgs, *apps, *obj;
    const char                  *uid;
    redisReply                  *name, *owned;
    ngx_http_imprest_ctl_key_t   key, set;

    rc = ngx_http_imprest_ctl_parse_id(argc, argv, NULL, 0, "UID", &uid);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    len = strlen(uid);

    if (ngx_http_imprest_ctl_key(ctl, &key, NGX_HTTP_IMPREST_KEY_USER, uid,
                                 len, "") != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &set, NGX_HTTP_IMPREST_KEY_USER, uid,
                                    len, NGX_HTTP_IMPREST_KEY_CLIENTS_SUFFIX)
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    name = ngx_http_imprest_ctl_command(ctl,
                                        "HGET %b " NGX_HTTP_IMPREST_F_NAME,
                                        key.data, key.len);
    if (name == NULL) {
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    if (name->type != REDIS_REPLY_STRING) {
        freeReplyObject(name);
        return ngx_http_imprest_ctl_not_found("no such user");
    }

    orgs = ngx_http_imprest_ctl_user_orgs(ctl, uid, len);
    if (orgs == NULL) {
        freeReplyObject(name);
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    owned = ngx_http_imprest_ctl_members(ctl, &set);
    if (owned == NULL) {
        json_decref(orgs);
        freeReplyObject(name);
        return NGX_HTTP_IMPREST_CTL_REDIS;
    }

    ngx_http_imprest_ctl_sort(owned);

    apps = json_array();

    for (len = 0; apps && len < owned->elements; len++) {
        if (owned->element[len]->type == REDIS_REPLY_STRING
            && json_array_append_new(apps,
                   json_stringn(owned->element[len]->str,
                                owned->element[len]->len)) != 0)
        {
            json_decref(apps);
            apps = NULL;
        }
    }

    freeReplyObject(owned);

    obj = apps ? json_pack("{s:s,s:s%,s:o,s:o}", "uid", uid,
                           "name", name->str, name->len,
                           "apps", apps, "orgs", orgs)
               : NULL;

    if (obj == NULL) {
        json_decref(orgs);
    }

    freeReplyObject(name);

    return ngx_http_imprest_ctl_print(obj);
}
