/*
 * HTML escaping (ngx_http_imprest_html_escape).  Asserts: the measured
 * length is at most 6 * len, writing into exactly that many bytes gives
 * the same length, and the output has no < > " ', no C0 control or DEL,
 * every '&' starts an entity ("&...;"), and it is well-formed UTF-8
 * without C1 controls, surrogates or the listed invisible characters.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_oauth.h"

/* decodes one well-formed UTF-8 sequence at s[i..n): its length, 0 if bad */
static size_t
utf8(const unsigned char *s, size_t i, size_t n, unsigned *cp)
{
    unsigned c = s[i];
    size_t k, len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2; *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3; *cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4; *cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + len > n) {
        return 0;
    }
    for (k = 1; k < len; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            return 0;
        }
        *cp = (*cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000)
        || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
    {
        return 0;
    }
    return len;
}

static int
forbidden(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c
           || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e)
           || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069)
           || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff
           || cp == '<' || cp == '>' || cp == '"' || cp == '\'';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *s = fuzz_dup(data, size), *dst;
    size_t m, w, i, k;
    unsigned cp;

    m = ngx_http_imprest_html_escape(NULL, s, size);
    CHECK(m <= 6 * size);
    dst = fuzz_buf(m);
    w = ngx_http_imprest_html_escape(dst, s, size);
    CHECK(w == m);

    for (i = 0; i < w; i += k) {
        k = utf8(dst, i, w, &cp);
        CHECK(k != 0);
        CHECK(!forbidden(cp));
        if (cp == '&') {
            size_t j = i + 1;
            while (j < w && j < i + 10 && dst[j] != ';' && dst[j] != '&') {
                j++;
            }
            CHECK(j < w && dst[j] == ';' && j > i + 1);
        }
    }

    free(dst);
    free(s);
    return 0;
}
