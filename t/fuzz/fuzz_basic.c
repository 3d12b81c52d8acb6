/*
 * HTTP Basic client credentials (ngx_http_imprest_basic_decode).  id and
 * secret are exactly len bytes, as documented.  Asserts: the result is 0,
 * _INVALID or _DECLINED; on 0 the id is non-empty, both fit in len and
 * hold no NUL, and the secret's bytes past
 * *secret_len are wiped; after an error both buffers are all zero.
 * Like form_parse, a raw control character is refused but an encoded one
 * ("%1F") decodes; only NUL is refused either way, so that is asserted.
 * The secret buffer starts zeroed: the function wipes what it decoded
 * there (up to the decoded length), not bytes it never wrote.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_oauth.h"

static void
no_nul(const unsigned char *s, size_t len)
{
    CHECK(memchr(s, 0, len) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *v, *id, *secret;
    size_t id_len = 7777, secret_len = 7777, i;
    int rc;

    v = fuzz_dup(data, size);
    id = fuzz_buf(size);
    secret = fuzz_buf(size);
    memset(secret, 0, size);

    rc = ngx_http_imprest_basic_decode(v, size, id, &id_len, secret,
                                       &secret_len);
    CHECK(rc == 0 || rc == NGX_HTTP_IMPREST_BASIC_INVALID
          || rc == NGX_HTTP_IMPREST_BASIC_DECLINED);

    if (rc == 0) {
        CHECK(id_len > 0 && id_len <= size);
        CHECK(secret_len <= size);
        no_nul(id, id_len);
        no_nul(secret, secret_len);
        for (i = secret_len; i < size; i++) {
            CHECK(secret[i] == 0);
        }
    } else if (rc == NGX_HTTP_IMPREST_BASIC_INVALID) {
        for (i = 0; i < size; i++) {
            CHECK(id[i] == 0 && secret[i] == 0);
        }
    }

    free(secret);
    free(id);
    free(v);
    return 0;
}
