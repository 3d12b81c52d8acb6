/*
 * Copyright (C) Imprest
 *
 * imprestctl: the JSON object printed on stdout.
 */


#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ngx_http_imprest_ctl.h"


/* prints and releases obj; a NULL obj is an allocation that failed */

int
ngx_http_imprest_ctl_print(json_t *obj)
{
    int  rc;

    if (obj == NULL) {
        return ngx_http_imprest_ctl_error("out of memory");
    }

    rc = NGX_HTTP_IMPREST_CTL_OK;

    if (json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0
        || fputc('\n', stdout) == EOF
        || fflush(stdout) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot write the output");
    }

    json_decref(obj);

    return rc;
}


int
ngx_http_imprest_ctl_print_ok(int existed)
{
    json_t  *obj;

    obj = json_object();

    if (obj
        && (json_object_set_new(obj, "ok", json_true()) != 0
            || (existed >= 0
                && json_object_set_new(obj, "existed",
                                       json_boolean(existed)) != 0)))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * {"ok":true,"existed":...} from the EXEC of a transaction whose first
 * command is a DEL (or SREM); releases the reply.
 */

int
ngx_http_imprest_ctl_print_deleted(redisReply *reply)
{
    int  existed;

    existed = ngx_http_imprest_ctl_positive(reply->element[0]);
    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}


/* -1 when s is not UTF-8 or memory runs out */

int
ngx_http_imprest_ctl_set_str(json_t *obj, const char *key, const void *s,
    size_t len)
{
    return json_object_set_new(obj, key, json_stringn(s, len));
}


/* a space-separated list as a JSON array; NULL: not UTF-8 or no memory */

json_t *
ngx_http_imprest_ctl_split(const char *s, size_t len)
{
    json_t      *arr;
    const char  *e, *q;

    arr = json_array();
    e = s + len;

    while (arr && s < e) {
        q = memchr(s, ' ', e - s);
        q = q ? q : e;

        if (q > s && json_array_append_new(arr, json_stringn(s, q - s)) != 0)
        {
            json_decref(arr);
            return NULL;
        }

        s = q + 1;
    }

    return arr;
}


/* {"<k1>":"<v1>","<k2>":"<v2>"} */

int
ngx_http_imprest_ctl_print_pair(const char *k1, const void *v1, size_t l1,
    const char *k2, const void *v2, size_t l2)
{
    json_t  *obj;

    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, k1, v1, l1) != 0
            || ngx_http_imprest_ctl_set_str(obj, k2, v2, l2) != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * A number of a record (a time) as a JSON number when it is a decimal
 * integer of at least min, with *n set; otherwise as the string it is.
 */

json_t *
ngx_http_imprest_ctl_number_json(const char *s, size_t len, long long min,
    long long *n)
{
    char       num[32];
    long long  t;

    if (len < sizeof(num)) {
        memcpy(num, s, len);
        num[len] = '\0';

        if (ngx_http_imprest_ctl_number(num, min, LLONG_MAX, &t) == 0) {
            if (n) {
                *n = t;
            }

            return json_integer(t);
        }
    }

    return json_stringn(s, len);
}
