/*
 * Redirect URI rules (ngx_http_imprest_redirect_uri_register_check,
 * _redirect_uri_match, _uri_origin, _redirect_build, _url_encode).
 * Input: "registered\npresented" (no newline: both the same).  Asserts:
 *   - match: an empty URI never matches; a URI accepted by register_check
 *     matches itself; a match differs from byte equality only for a
 *     registered http://127.0.0.1 or http://[::1] URI;
 *   - register_check: an accepted URI is at most REDIRECT_URI_MAX bytes,
 *     printable ASCII, without '#', '@', '*', '\\';
 *   - uri_origin: measuring equals writing, fits in len bytes, is the
 *     input's lower-cased prefix ("scheme:" or "scheme://host[:port]"),
 *     and its host part holds only [a-z0-9.:[]-];
 *   - redirect_build: measuring equals writing into exactly that many
 *     bytes, the result is %x21-7E and has no fragment;
 *   - url_encode: measuring equals writing, at most 3 * len, only
 *     unreserved characters and %XX with upper-case hex.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_oauth.h"

static int
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}

static int
uhex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static void
check_register(const unsigned char *u, size_t len)
{
    size_t i;

    if (ngx_http_imprest_redirect_uri_register_check(u, len) != NULL) {
        return;
    }
    CHECK(len > 0 && len <= NGX_HTTP_IMPREST_REDIRECT_URI_MAX);
    for (i = 0; i < len; i++) {
        CHECK(u[i] >= 0x21 && u[i] <= 0x7e);
        CHECK(u[i] != '#' && u[i] != '@' && u[i] != '*' && u[i] != '\\');
    }
    CHECK(ngx_http_imprest_redirect_uri_match(u, len, u, len) == 1);
}

static void
check_origin(const unsigned char *u, size_t len)
{
    unsigned char *dst = fuzz_buf(len);
    size_t m, w, i;

    m = ngx_http_imprest_uri_origin(NULL, u, len);
    w = ngx_http_imprest_uri_origin(dst, u, len);
    CHECK(m == w && w <= len);
    for (i = 0; i < w; i++) {
        unsigned char c = u[i];
        CHECK(dst[i] == ((c >= 'A' && c <= 'Z') ? (c | 0x20) : c));
    }
    if (w > 0) {
        const unsigned char *h = memchr(dst, ':', w);
        CHECK(h != NULL);
        if (h + 3 <= dst + w && h[1] == '/' && h[2] == '/') {
            for (h += 3; h < dst + w; h++) {
                unsigned char c = *h;
                CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                      || c == '.' || c == ':' || c == '[' || c == ']'
                      || c == '-');
            }
        } else {
            CHECK(h == dst + w - 1);         /* "scheme:" */
        }
    }
    free(dst);
}

static void
check_match(const unsigned char *r, size_t rlen, const unsigned char *p,
    size_t plen)
{
    int m = ngx_http_imprest_redirect_uri_match(r, rlen, p, plen);

    if (rlen == 0 || plen == 0) {
        CHECK(m == 0);
        return;
    }
    if (m && !(rlen == plen && memcmp(r, p, rlen) == 0)) {
        CHECK((rlen >= 16 && memcmp(r, "http://127.0.0.1", 16) == 0)
              || (rlen >= 12 && memcmp(r, "http://[::1]", 12) == 0));
    }
}

static void
check_url_encode(const unsigned char *s, size_t len)
{
    unsigned char *dst;
    size_t m, w, i;

    m = ngx_http_imprest_url_encode(NULL, s, len);
    CHECK(m <= 3 * len);
    dst = fuzz_buf(m);
    w = ngx_http_imprest_url_encode(dst, s, len);
    CHECK(m == w);
    for (i = 0; i < w; i++) {
        if (dst[i] == '%') {
            CHECK(i + 2 < w && uhex(dst[i + 1]) && uhex(dst[i + 2]));
            i += 2;
        } else {
            CHECK(unreserved(dst[i]));
        }
    }
    free(dst);
}

static void
check_build(const unsigned char *u, size_t len, const unsigned char *v,
    size_t vlen)
{
    ngx_http_imprest_param_t params[3];
    unsigned char *dst;
    size_t m, w, i;

    params[0].name = (const unsigned char *) "code";
    params[0].name_len = 4;
    params[0].value = v;
    params[0].value_len = vlen;
    params[1].name = (const unsigned char *) "state";
    params[1].name_len = 5;
    params[1].value = v;
    params[1].value_len = vlen / 2;
    params[2].name = (const unsigned char *) "iss";
    params[2].name_len = 3;
    params[2].value = (const unsigned char *) "";
    params[2].value_len = 0;

    m = ngx_http_imprest_redirect_build(NULL, u, len, params, 3);
    dst = fuzz_buf(m);
    w = ngx_http_imprest_redirect_build(dst, u, len, params, 3);
    CHECK(m == w);
    if (w) {
        CHECK(w >= len && memcmp(dst, u, len) == 0);
        for (i = 0; i < w; i++) {
            CHECK(dst[i] >= 0x21 && dst[i] <= 0x7e && dst[i] != '#');
        }
    }
    free(dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t rlen = nl ? (size_t) (nl - data) : size;
    size_t plen = nl ? size - rlen - 1 : size;
    unsigned char *r = fuzz_dup(data, rlen);
    unsigned char *p = fuzz_dup(nl ? nl + 1 : data, plen);

    check_register(r, rlen);
    check_register(p, plen);
    check_match(r, rlen, p, plen);
    check_origin(r, rlen);
    check_origin(p, plen);
    check_url_encode(p, plen);
    check_build(r, rlen, p, plen);

    free(p);
    free(r);
    return 0;
}
