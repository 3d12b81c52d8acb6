/*
 * Copyright (C) Imprest
 *
 * nginx-free bounds on a Redis reply: see ngx_http_imprest_resp.h.
 */


#include "ngx_http_imprest_resp.h"


ngx_http_imprest_resp_verdict_e
ngx_http_imprest_resp_admit(const redisReadTask *task, size_t size,
    size_t elements, int awaited, size_t max_reply, size_t *total,
    int *oversized)
{
    size_t  cost;

    if (task->parent == NULL) {
        if (!awaited) {
            return NGX_HTTP_IMPREST_RESP_REFUSE;
        }

        *total = 0;
        *oversized = 0;
    }

    if (*oversized) {
        return NGX_HTTP_IMPREST_RESP_DISCARD;
    }

    if (elements > NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS) {
        *oversized = 1;
        return NGX_HTTP_IMPREST_RESP_OVER;
    }

    /* no overflow: elements is bounded, size is at most a length + 1 */
    cost = elements * sizeof(redisReply *) + sizeof(redisReply);

    if (size > max_reply || cost > max_reply - size
        || *total > max_reply - size - cost)
    {
        *oversized = 1;
        return NGX_HTTP_IMPREST_RESP_OVER;
    }

    *total += size + cost;

    return NGX_HTTP_IMPREST_RESP_BUILD;
}
