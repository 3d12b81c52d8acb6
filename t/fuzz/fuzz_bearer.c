/*
 * The Authorization header value (src/ngx_http_imprest_core.h,
 * ngx_http_imprest_bearer_parse, the gate's first check).
 *   - agrees with a reference of RFC 6750 2.1 as the gate reads it:
 *     "Bearer" in any case, then SP or HTAB or the end, else declined;
 *     "Bearer" then no SP is malformed; else the token is all that
 *     follows the spaces, inside the value;
 *   - round trip: "Bearer" + 1..4 spaces + the input (its leading spaces
 *     cut) yields the input exactly;
 *   - a token the gate would look up is 56 bytes of the token alphabet.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_core.h"

#include <strings.h>

static int
bearer_ref(const unsigned char *v, size_t len, size_t *off)
{
    size_t  i;

    if (len < 6 || strncasecmp((const char *) v, "bearer", 6) != 0
        || (len > 6 && v[6] != ' ' && v[6] != '\t'))
    {
        return NGX_HTTP_IMPREST_BEARER_DECLINED;
    }

    if (len == 6 || v[6] != ' ') {
        return NGX_HTTP_IMPREST_BEARER_MALFORMED;
    }

    for (i = 6; i < len && v[i] == ' '; i++) {
        /* void */
    }

    *off = i;
    return NGX_HTTP_IMPREST_BEARER_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc, ref;
    size_t                off, tlen, n, cut;
    unsigned char        *v, *w;
    const unsigned char  *tok;

    v = fuzz_dup(data, size);

    tok = NULL;
    tlen = (size_t) -1;
    rc = ngx_http_imprest_bearer_parse(v, size, &tok, &tlen);
    off = 0;
    ref = bearer_ref(v, size, &off);
    CHECK(rc == ref);

    if (rc == NGX_HTTP_IMPREST_BEARER_OK) {
        CHECK(tok == v + off);
        CHECK(tlen == size - off);
        CHECK(tlen == 0 || tok[0] != ' ');

        if (ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_AT, tok,
                                         tlen))
        {
            CHECK(tlen == NGX_HTTP_IMPREST_TOKEN_LEN);
            CHECK(memcmp(tok, "imp_at_", 7) == 0);
        }

    } else {
        CHECK(tok == NULL && tlen == (size_t) -1);
    }

    /* round trip: the input as the token of a Bearer value */
    for (cut = 0; cut < size && data[cut] == ' '; cut++) {
        /* void */
    }

    n = size ? 1 + data[0] % 4 : 1;
    w = fuzz_buf(6 + n + size - cut);
    memcpy(w, size && (data[size - 1] & 1) ? "BeArEr" : "Bearer", 6);
    memset(w + 6, ' ', n);
    memcpy(w + 6 + n, data + cut, size - cut);

    CHECK(ngx_http_imprest_bearer_parse(w, 6 + n + size - cut, &tok, &tlen)
          == NGX_HTTP_IMPREST_BEARER_OK);
    CHECK(tok == w + 6 + n && tlen == size - cut);
    CHECK(memcmp(tok, data + cut, tlen) == 0);

    free(w);
    free(v);

    return 0;
}
