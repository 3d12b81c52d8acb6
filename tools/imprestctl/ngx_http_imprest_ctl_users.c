/*
 * Copyright (C) Imprest
 *
 * imprestctl: "user add" and "user del".
 */


#include <string.h>

#include "ngx_http_imprest_ctl.h"


int
ngx_http_imprest_ctl_user_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = { { "--name", NULL, NULL, 0, 0 } };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 1, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                         NGX_HTTP_IMPREST_CTL_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "user:", pos[0], strlen(pos[0]),
                                  "");
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

    return ngx_http_imprest_ctl_print_ok(-1);
}


int
ngx_http_imprest_ctl_user_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, existed;
    char                        *pos[1];
    ngx_http_imprest_ctl_key_t   record, set;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_ctl_key(ctl, &record, "user:", pos[0],
                                 strlen(pos[0]), "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &set, "user:", pos[0],
                                    strlen(pos[0]), ":orgs")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_unlink_all(ctl, &record, &set, "org:",
                                         ":members", pos[0], strlen(pos[0]),
                                         1, &existed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    return ngx_http_imprest_ctl_print_ok(existed);
}
