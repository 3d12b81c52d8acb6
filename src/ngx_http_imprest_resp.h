/*
 * Copyright (C) Imprest
 *
 * nginx-free bounds on a Redis (RESP) reply as hiredis's reader builds
 * it: the decision behind ngx_http_imprest_redis_reply.c's reader hooks,
 * apart so that t/fuzz/fuzz_resp.c can drive it with a real reader.
 * Depends on libc and hiredis's headers only.
 */

#ifndef _NGX_HTTP_IMPREST_RESP_H_INCLUDED_
#define _NGX_HTTP_IMPREST_RESP_H_INCLUDED_


#include <stddef.h>
#include <hiredis/hiredis.h>


/*
 * Elements in one array: a user's 10,000 organizations are 20,000
 * (id, name) elements.  What one reply may hold overall is max_reply=.
 */
#define NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS  65536


typedef enum {
    /* fail the reader (hiredis drops the link): nobody asked for it */
    NGX_HTTP_IMPREST_RESP_REFUSE = 0,
    /* build the object */
    NGX_HTTP_IMPREST_RESP_BUILD,
    /* build nothing: the reply is over a limit already */
    NGX_HTTP_IMPREST_RESP_DISCARD,
    /* build nothing: this object takes the reply over a limit */
    NGX_HTTP_IMPREST_RESP_OVER
} ngx_http_imprest_resp_verdict_e;


/*
 * What the object hiredis is about to build for task costs: size bytes
 * of payload (a string's len + 1) and, for an array, elements pointers,
 * plus the redisReply itself, in the running *total of its reply.  The
 * whole reply may cost at most max_reply, an array have at most
 * NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS elements; a reply over either is
 * discarded as it is read (*oversized set, its objects never built), so
 * the bytes are consumed and the link stays in step.
 *
 * A top-level object (task->parent NULL) starts a reply: it is refused
 * unless awaited (a command waits for a reply), else *total and
 * *oversized start again.  awaited is not read for other objects.
 */
ngx_http_imprest_resp_verdict_e ngx_http_imprest_resp_admit(
    const redisReadTask *task, size_t size, size_t elements, int awaited,
    size_t max_reply, size_t *total, int *oversized);


#endif /* _NGX_HTTP_IMPREST_RESP_H_INCLUDED_ */
