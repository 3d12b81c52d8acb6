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

    return ngx_http_imprest_ctl_print_ok(-1);
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
