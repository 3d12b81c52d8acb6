/*
 * The RESP reply bounds (src/ngx_http_imprest_resp.h) on a real hiredis
 * 0.14 reader, with object functions wrapped as the module wraps them
 * (src/ngx_http_imprest_redis_reply.c): hiredis's own constructors for
 * what ngx_http_imprest_resp_admit() admits, a static "discarded" object
 * for a reply over the limits, NULL (the reader fails) for a reply no
 * command asked for.
 *
 * Input: 2 bytes max_reply, 1 byte commands sent, 1 byte feed chunk
 * size, then the bytes the "server" sends, fed in chunks.
 *   - what the constructors allocate for one reply (measured by ASan's
 *     allocator) is at most max_reply, and no built array has more than
 *     NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS elements;
 *   - a reply handed over whole (not oversized) has every element built;
 *   - the reader is refused only when every command has its reply;
 *   - when the bytes end on a reply boundary, a sentinel reply sent next
 *     comes out exactly, alone: a discarded reply left the link in step;
 *   - at start (LLVMFuzzerInitialize), an array over the element cap,
 *     too long for -max_len, is discarded with the link kept in step;
 *   - no leak (libFuzzer's per-input leak check, LSan).
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_resp.h"

#include <sanitizer/allocator_interface.h>

static redisReplyObjectFunctions  fuzz_default_fns;
static redisReply                 fuzz_discarded;

static struct {
    size_t   max_reply;
    size_t   sent;
    size_t   parsed;
    size_t   total;
    int      oversized;
    int      refused;
    size_t   discarded;     /* replies handed over as discarded */
    size_t   allocated;     /* by hiredis's constructors, this reply */
} st;

static void *
fuzz_verdict(const redisReadTask *task, size_t size, size_t elements)
{
    ngx_http_imprest_resp_verdict_e  v;

    v = ngx_http_imprest_resp_admit(task, size, elements, st.parsed < st.sent,
                                    st.max_reply, &st.total, &st.oversized);

    if (v == NGX_HTTP_IMPREST_RESP_REFUSE) {
        CHECK(task->parent == NULL);
        CHECK(st.parsed >= st.sent);
        st.refused = 1;
        return NULL;
    }

    if (task->parent == NULL) {
        st.parsed++;
        st.allocated = 0;
    }

    if (v == NGX_HTTP_IMPREST_RESP_BUILD) {
        CHECK(!st.oversized);
        CHECK(elements <= NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS);
        return (void *) 1;
    }

    CHECK(st.oversized);
    return &fuzz_discarded;
}

/* what a constructor allocated, as ASan's allocator counts it */
static void
fuzz_count(size_t before)
{
    size_t  after = __sanitizer_get_current_allocated_bytes();

    CHECK(after >= before);
    st.allocated += after - before;
    CHECK(st.allocated <= st.max_reply);
}

static void *
fuzz_create_string(const redisReadTask *task, char *str, size_t len)
{
    void    *obj;
    size_t   before;

    obj = fuzz_verdict(task, len + 1, 0);
    if (obj != (void *) 1) {
        return obj;
    }

    before = __sanitizer_get_current_allocated_bytes();
    obj = fuzz_default_fns.createString(task, str, len);
    fuzz_count(before);
    return obj;
}

static void *
fuzz_create_array(const redisReadTask *task, int elements)
{
    void    *obj;
    size_t   before;

    CHECK(elements >= 0);
    obj = fuzz_verdict(task, 0, (size_t) elements);
    if (obj != (void *) 1) {
        return obj;
    }

    before = __sanitizer_get_current_allocated_bytes();
    obj = fuzz_default_fns.createArray(task, elements);
    fuzz_count(before);
    return obj;
}

static void *
fuzz_create_integer(const redisReadTask *task, long long value)
{
    void    *obj;
    size_t   before;

    obj = fuzz_verdict(task, 0, 0);
    if (obj != (void *) 1) {
        return obj;
    }

    before = __sanitizer_get_current_allocated_bytes();
    obj = fuzz_default_fns.createInteger(task, value);
    fuzz_count(before);
    return obj;
}

static void *
fuzz_create_nil(const redisReadTask *task)
{
    void    *obj;
    size_t   before;

    obj = fuzz_verdict(task, 0, 0);
    if (obj != (void *) 1) {
        return obj;
    }

    before = __sanitizer_get_current_allocated_bytes();
    obj = fuzz_default_fns.createNil(task);
    fuzz_count(before);
    return obj;
}

static void
fuzz_free_object(void *obj)
{
    if (obj != &fuzz_discarded) {
        fuzz_default_fns.freeObject(obj);
    }
}

static redisReplyObjectFunctions  fuzz_fns = {
    fuzz_create_string,
    fuzz_create_array,
    fuzz_create_integer,
    fuzz_create_nil,
    fuzz_free_object
};

/* a reply handed over whole: every element built, within the cap */
static void
fuzz_check_whole(const redisReply *r, int depth)
{
    size_t  i;

    CHECK(r != NULL && r != &fuzz_discarded);
    CHECK(depth < 9);

    if (r->type == REDIS_REPLY_ARRAY) {
        CHECK(r->elements <= NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS);
        for (i = 0; i < r->elements; i++) {
            fuzz_check_whole(r->element[i], depth + 1);
        }

    } else if (r->type == REDIS_REPLY_STRING
               || r->type == REDIS_REPLY_STATUS
               || r->type == REDIS_REPLY_ERROR)
    {
        CHECK(r->str != NULL && r->str[r->len] == '\0');
    }
}

/* takes the replies the reader has; 0 on a reader error */
static int
fuzz_drain(redisReader *rd, size_t *replies)
{
    void  *reply;

    for ( ;; ) {
        reply = NULL;

        if (redisReaderGetReply(rd, &reply) != REDIS_OK) {
            CHECK(reply == NULL);
            CHECK(rd->err != 0);
            return 0;
        }

        if (reply == NULL) {
            return 1;
        }

        (*replies)++;

        if (reply != &fuzz_discarded && !st.oversized) {
            fuzz_check_whole(reply, 0);
        }

        /* the module hands an oversized reply over as discarded */
        if (reply == &fuzz_discarded || st.oversized) {
            st.discarded++;
        }

        fuzz_free_object(reply);
    }
}

static const char  fuzz_sentinel[] = "*2\r\n$8\r\nsentinel\r\n:4242\r\n";

/*
 * Feeds the bytes in chunks of chunk to a fresh reader for sent
 * commands; returns the replies handed over (st says the rest).
 */
static size_t
fuzz_one(size_t max_reply, size_t sent, size_t chunk, const uint8_t *data,
    size_t size)
{
    size_t        off, n, replies;
    void         *reply;
    redisReader  *rd;
    redisReply   *r;
    char         *buf;

    if (fuzz_default_fns.freeObject == NULL) {
        rd = redisReaderCreate();
        CHECK(rd != NULL);
        fuzz_default_fns = *rd->fn;
        redisReaderFree(rd);
    }

    memset(&st, 0, sizeof(st));
    st.max_reply = max_reply;
    st.sent = sent;

    rd = redisReaderCreateWithFunctions(&fuzz_fns);
    CHECK(rd != NULL);

    buf = (char *) fuzz_dup(data, size);
    replies = 0;

    for (off = 0; off < size; off += n) {
        n = size - off < chunk ? size - off : chunk;

        if (redisReaderFeed(rd, buf + off, n) != REDIS_OK
            || !fuzz_drain(rd, &replies))
        {
            break;
        }
    }

    CHECK(replies == st.parsed || replies + 1 == st.parsed || rd->err);
    CHECK(!st.refused || rd->err);

    /* on a reply boundary (hiredis 0.14 may have a fresh root task set) */
    if (!rd->err && rd->pos == rd->len
        && (rd->ridx == -1 || (rd->ridx == 0 && rd->rstack[0].type == -1)))
    {
        /* the next reply must come out exactly, and alone */
        CHECK(replies == st.parsed);
        st.sent = st.parsed + 1;

        /* the bound is per reply: the sentinel's own must let it in */
        if (st.max_reply < 1024) {
            st.max_reply = 1024;
        }

        CHECK(redisReaderFeed(rd, fuzz_sentinel, sizeof(fuzz_sentinel) - 1)
              == REDIS_OK);

        reply = NULL;
        CHECK(redisReaderGetReply(rd, &reply) == REDIS_OK);
        r = reply;
        CHECK(r != NULL && r != &fuzz_discarded && !st.oversized);
        CHECK(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        CHECK(r->element[0]->type == REDIS_REPLY_STRING
              && r->element[0]->len == 8
              && memcmp(r->element[0]->str, "sentinel", 8) == 0);
        CHECK(r->element[1]->type == REDIS_REPLY_INTEGER
              && r->element[1]->integer == 4242);
        fuzz_free_object(reply);

        reply = NULL;
        CHECK(redisReaderGetReply(rd, &reply) == REDIS_OK && reply == NULL);
        CHECK(rd->pos == rd->len);
        replies++;
    }

    redisReaderFree(rd);
    free(buf);

    return replies;
}

/* an array of n integers and "+OK", in step after it or not */
static size_t
fuzz_array_of(size_t max_reply, size_t n)
{
    char    *b, *p;
    size_t   replies;

    b = malloc(32 + n * 4 + 5);
    CHECK(b != NULL);
    p = b + sprintf(b, "*%zu\r\n", n);
    while (n--) {
        memcpy(p, ":1\r\n", 4);
        p += 4;
    }
    memcpy(p, "+OK\r\n", 5);
    p += 5;

    replies = fuzz_one(max_reply, 2, 4096, (uint8_t *) b, p - b);
    free(b);
    return replies;
}

/*
 * The element cap cannot be reached within -max_len, so it is checked
 * once at start: 65537 elements are discarded and the link stays in
 * step (the sentinel comes out), 65536 are built.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t  big = (size_t) 64 << 20;

    CHECK(fuzz_array_of(big, NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS + 1) == 3);
    CHECK(st.discarded == 1);
    CHECK(fuzz_array_of(big, NGX_HTTP_IMPREST_RESP_MAX_ELEMENTS) == 3);
    CHECK(st.discarded == 0);
    /* and max_reply: 3 integers cost more than 4 redisReply */
    CHECK(fuzz_array_of(4 * sizeof(redisReply), 3) == 3);
    CHECK(st.discarded == 1);
    CHECK(fuzz_array_of(5 * sizeof(redisReply) + 3 * sizeof(redisReply *), 3)
          == 3);
    CHECK(st.discarded == 0);

    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) {
        return 0;
    }

    fuzz_one(64 + ((size_t) data[0] << 8 | data[1]) * 8, data[2] % 16,
             1 + data[3] % 64, data + 4, size - 4);

    return 0;
}
