/*
 * Copyright (C) Imprest
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_conf_redis.h"


char *
ngx_http_imprest_redis_parse(ngx_conf_t *cf,
    ngx_http_imprest_redis_conf_t *rcf, ngx_str_t *value, ngx_uint_t n)
{
    u_char          *p, *last;
    size_t           len;
    ngx_int_t        port;
    ngx_str_t        host, s;
    ngx_int_t        rc;
    ngx_uint_t       i, first;
    ngx_url_t        u;
    in_addr_t        a4;
    struct in6_addr  a6;

    rcf->addr = value[1];
    first = 2;

    if (value[1].len > 9 && ngx_strncmp(value[1].data, "sentinel:", 9) == 0) {
        /* the primary is found at run time: ngx_http_imprest_sentinel.c */
        rc = ngx_http_imprest_sentinel_parse(cf, rcf, value, n);
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        first = (ngx_uint_t) rc;

    } else if (value[1].len > 5
               && ngx_strncmp(value[1].data, "unix:", 5) == 0)
    {
        s.len = value[1].len - 5;
        s.data = value[1].data + 5;

        if (s.len == 0 || s.data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "imprest_redis: unix socket path \"%V\" "
                               "must be absolute", &value[1]);
            return NGX_CONF_ERROR;
        }

        rcf->unix_path = ngx_pnalloc(cf->pool, s.len + 1);
        if (rcf->unix_path == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(rcf->unix_path, s.data, s.len + 1);

    } else {
        p = value[1].data;
        last = p + value[1].len;

        if (p < last && *p == '[') {
            p = ngx_strlchr(p, last, ']');
            if (p == NULL || p + 1 == last || p[1] != ':') {
                goto bad_addr;
            }

            host.data = value[1].data + 1;
            host.len = p - host.data;
            p += 2;

        } else {
            p = ngx_strlchr(p, last, ':');
            if (p == NULL) {
                goto bad_addr;
            }

            host.data = value[1].data;
            host.len = p - host.data;
            p++;
        }

        port = ngx_atoi(p, last - p);
        if (port < 1 || port > 65535 || host.len == 0) {
            goto bad_addr;
        }

        rcf->host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rcf->host == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(rcf->host, host.data,
                           ngx_min(host.len + 1, NGX_SOCKADDR_STRLEN + 1));

        a4 = ngx_inet_addr(host.data, host.len);

        if (a4 == INADDR_NONE
            && (host.len > NGX_SOCKADDR_STRLEN
                || inet_pton(AF_INET6, (char *) rcf->host, &a6) != 1))
        {
            /*
             * hiredis would resolve a name with a blocking getaddrinfo()
             * on every reconnect: it is resolved here, once, as nginx
             * does for upstream servers, and the first address is used.
             */
            ngx_memzero(&u, sizeof(ngx_url_t));

            u.url = value[1];
            u.no_resolve = 0;

            if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "imprest_redis: cannot resolve \"%V\"%s%s",
                                   &host, u.err ? ": " : "",
                                   u.err ? u.err : "");
                return NGX_CONF_ERROR;
            }

            len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                rcf->host, NGX_SOCKADDR_STRLEN, 0);
            rcf->host[len] = '\0';
        }

        rcf->port = (int) port;
    }

    for (i = first; i < n; i++) {

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;
            rcf->timeout = ngx_parse_time(&s, 0);
            if (rcf->timeout == (ngx_msec_t) NGX_ERROR || rcf->timeout == 0) {
                goto bad_param;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            s.data = value[i].data + 16;
            s.len = value[i].len - 16;
            rcf->connect_timeout = ngx_parse_time(&s, 0);
            if (rcf->connect_timeout == (ngx_msec_t) NGX_ERROR
                || rcf->connect_timeout == 0)
            {
                goto bad_param;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "retry=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;
            rcf->retry = ngx_parse_time(&s, 0);
            if (rcf->retry == (ngx_msec_t) NGX_ERROR || rcf->retry == 0) {
                goto bad_param;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            rcf->db = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (rcf->db == NGX_ERROR) {
                goto bad_param;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            rcf->password.data = value[i].data + 9;
            rcf->password.len = value[i].len - 9;
            if (rcf->password.len == 0) {
                goto bad_param;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            rcf->user.data = value[i].data + 5;
            rcf->user.len = value[i].len - 5;
            if (rcf->user.len == 0) {
                goto bad_param;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            rcf->prefix.data = value[i].data + 7;
            rcf->prefix.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_reply=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;
            rcf->max_reply = ngx_parse_size(&s);
            if (rcf->max_reply == (size_t) NGX_ERROR
                || rcf->max_reply < 1024)
            {
                goto bad_param;
            }
            continue;
        }

        rc = ngx_http_imprest_sentinel_param(cf, rcf, &value[i]);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        goto bad_param;
    }

    if (rcf->user.len && rcf->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_redis: \"user=\" needs \"password=\"");
        return NGX_CONF_ERROR;
    }

    return ngx_http_imprest_sentinel_check(cf, rcf);

bad_addr:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "imprest_redis: invalid address \"%V\" (expected "
                       "IP:PORT, [IPv6]:PORT or unix:/path)", &value[1]);
    return NGX_CONF_ERROR;

bad_param:

    if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "imprest_redis: empty \"password=\"");
        return NGX_CONF_ERROR;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "imprest_redis: invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}
