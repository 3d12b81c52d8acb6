/*
 * PKCE (ngx_http_imprest_pkce_verifier_valid, _challenge_valid,
 * _pkce_s256).  Asserts: both validators agree with a reference of "43 to
 * 128 of [A-Za-z0-9-._~]"; pkce_s256 writes exactly 43 base64url bytes
 * (the output buffer is exactly that size) that are a valid challenge and
 * equal a second run's.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_oauth.h"

static int
ref(const unsigned char *s, size_t len)
{
    size_t i;

    if (len < NGX_HTTP_IMPREST_PKCE_MIN || len > NGX_HTTP_IMPREST_PKCE_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
              || c == '~'))
        {
            return 0;
        }
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *s = fuzz_dup(data, size);
    unsigned char *out = fuzz_buf(NGX_HTTP_IMPREST_PKCE_S256_LEN);
    unsigned char again[NGX_HTTP_IMPREST_PKCE_S256_LEN];
    size_t i;

    CHECK(ngx_http_imprest_pkce_verifier_valid(s, size) == ref(s, size));
    CHECK(ngx_http_imprest_pkce_challenge_valid(s, size) == ref(s, size));

    CHECK(ngx_http_imprest_pkce_s256(s, size, out) == 0);
    CHECK(ngx_http_imprest_pkce_s256(s, size, again) == 0);
    CHECK(memcmp(out, again, sizeof(again)) == 0);
    for (i = 0; i < NGX_HTTP_IMPREST_PKCE_S256_LEN; i++) {
        unsigned char c = out[i];
        CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_');
    }
    CHECK(ngx_http_imprest_pkce_challenge_valid(out,
              NGX_HTTP_IMPREST_PKCE_S256_LEN) == 1);

    free(out);
    free(s);
    return 0;
}
