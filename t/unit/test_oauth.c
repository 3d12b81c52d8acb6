/*
 * Copyright (C) Imprest
 *
 * Unit tests of the nginx-free OAuth helpers.  Same conventions as
 * test_core.c: CHECK() counts and prints each failure as file:line; the
 * last line is "N passed, M failed" and the exit status is 1 when anything
 * failed.  Built with ASan and UBSan; every input and every output buffer
 * is a heap block of exactly the documented size, so that any read or
 * write past the end is reported.
 *
 * Expected values marked "independent" were computed with Python
 * (hashlib, base64, urllib.parse.quote, bytes.decode("utf-8", "replace"),
 * which substitutes maximal subparts as Unicode 3.9 describes).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_oauth.h"


static unsigned long  ngx_http_imprest_test_passed;
static unsigned long  ngx_http_imprest_test_failed;


#define CHECK(expr)                                                           \
    do {                                                                      \
        if (expr) {                                                           \
            ngx_http_imprest_test_passed++;                                   \
                                                                              \
        } else {                                                              \
            ngx_http_imprest_test_failed++;                                   \
            printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);   \
        }                                                                     \
    } while (0)

/* like CHECK, with a label for checks run in a loop */
#define CHECK_MSG(expr, fmt, arg)                                             \
    do {                                                                      \
        if (expr) {                                                           \
            ngx_http_imprest_test_passed++;                                   \
                                                                              \
        } else {                                                              \
            ngx_http_imprest_test_failed++;                                   \
            printf("%s:%d: CHECK failed: %s [" fmt "]\n", __FILE__,           \
                   __LINE__, #expr, arg);                                     \
        }                                                                     \
    } while (0)

#define S(lit)  (const unsigned char *) (lit), sizeof(lit) - 1
#define U(lit)  (const unsigned char *) (lit)

#define TEST_MAX_PARAMS  16
#define TEST_RANDOM      2000


/* exact-length heap copies, so that ASan sees any over-read */

static unsigned char *
dup_exact(const unsigned char *s, size_t len)
{
    unsigned char  *p;

    p = malloc(len ? len : 1);
    if (p == NULL) {
        perror("malloc");
        exit(2);
    }

    if (len) {
        memcpy(p, s, len);
    }

    return p;
}


static unsigned char *
alloc_exact(size_t len)
{
    unsigned char  *p;

    p = malloc(len ? len : 1);
    if (p == NULL) {
        perror("malloc");
        exit(2);
    }

    return p;
}


static int
mem_eq(const unsigned char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && memcmp(a, b, alen) == 0;
}


/* form parsing on an exact-size input and an exact-size scratch buffer */

typedef struct {
    int                        rc;
    size_t                     n;
    unsigned char             *in;
    unsigned char             *buf;
    ngx_http_imprest_param_t   params[TEST_MAX_PARAMS];
} test_form_t;


static void
form_parse(test_form_t *f, const unsigned char *s, size_t len, size_t max)
{
    f->in = dup_exact(s, len);
    f->buf = alloc_exact(len);
    f->n = 12345;
    f->rc = ngx_http_imprest_form_parse(f->in, len, f->buf, f->params, max,
                                        &f->n);
}


static void
form_free(test_form_t *f)
{
    free(f->in);
    free(f->buf);
}


static int
form_rc(const char *s, size_t len, size_t max)
{
    int          rc;
    test_form_t  f;

    form_parse(&f, U(s), len, max);
    rc = f.rc;

    if (rc != NGX_HTTP_IMPREST_FORM_OK && f.n != 0) {
        rc = 99;
    }

    form_free(&f);

    return rc;
}

#define FORM_RC(lit)  form_rc(lit, sizeof(lit) - 1, TEST_MAX_PARAMS)


static int
param_is(const ngx_http_imprest_param_t *p, const char *name,
    const char *value)
{
    return mem_eq(p->name, p->name_len, name)
           && mem_eq(p->value, p->value_len, value);
}


static void
test_form_parse(void)
{
    test_form_t  f;

    form_parse(&f, S("a=1&b=2"), TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 2);
    CHECK(param_is(&f.params[0], "a", "1"));
    CHECK(param_is(&f.params[1], "b", "2"));
    form_free(&f);

    /* WHATWG URL, 5.1: empty sequences are skipped */

    form_parse(&f, S("&&a=1&&&b=2&"), TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 2);
    CHECK(param_is(&f.params[0], "a", "1"));
    CHECK(param_is(&f.params[1], "b", "2"));
    form_free(&f);

    form_parse(&f, S(""), TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 0);
    form_free(&f);

    form_parse(&f, S("&&&"), 0);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 0);
    form_free(&f);

    /* no "=", empty value, empty name, "=" inside the value */

    form_parse(&f, S("a&b=&=x&c==d="), TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 4);
    CHECK(param_is(&f.params[0], "a", ""));
    CHECK(param_is(&f.params[1], "b", ""));
    CHECK(param_is(&f.params[2], "", "x"));
    CHECK(param_is(&f.params[3], "c", "=d="));
    form_free(&f);

    /* "+" is a space, "%2B" a plus; names are decoded too */

    form_parse(&f, S("scope=money_in+money_out&x=%2B%20+&client%5Fid=%4a%4A"),
               TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 3);
    CHECK(param_is(&f.params[0], "scope", "money_in money_out"));
    CHECK(param_is(&f.params[1], "x", "+  "));
    CHECK(param_is(&f.params[2], "client_id", "JJ"));
    form_free(&f);

    /* decoded once only: "%2525" is "%25"; "%26" and "%3D" are data */

    form_parse(&f, S("a=%2525&b=%26c%3Dd"), TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 2);
    CHECK(param_is(&f.params[0], "a", "%25"));
    CHECK(param_is(&f.params[1], "b", "&c=d"));
    form_free(&f);

    /* decoded CR, LF, overlong UTF-8 and high bytes are data, not errors */

    form_parse(&f, S("state=%0d%0aSet-Cookie:x&u=%C0%AF&r=\xc3\xa4"),
               TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 3);
    CHECK(param_is(&f.params[0], "state", "\r\nSet-Cookie:x"));
    CHECK(param_is(&f.params[1], "u", "\xc0\xaf"));
    CHECK(param_is(&f.params[2], "r", "\xc3\xa4"));
    form_free(&f);

    /* bad percent-encoding, in values and names, at the end and inside */

    CHECK(FORM_RC("%") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%0") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%0&b=1") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%G1") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%1G") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%%") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=%%41") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=% 1") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("%zz=1") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);
    CHECK(FORM_RC("a=1&b=2&c=x%") == NGX_HTTP_IMPREST_FORM_BAD_ENCODING);

    /* NUL, raw or decoded, and raw control characters */

    CHECK(FORM_RC("a=%00") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a%00=1") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a=x\0y") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a=x\ry") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a=x\ny") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a=x\ty") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a=x\x7fy") == NGX_HTTP_IMPREST_FORM_BAD_CHAR);
    CHECK(FORM_RC("a=%01") == NGX_HTTP_IMPREST_FORM_OK);
    CHECK(FORM_RC("a=%7F") == NGX_HTTP_IMPREST_FORM_OK);

    /* more than max pairs; empty pairs do not count */

    CHECK(form_rc("a&b&c", 5, 2) == NGX_HTTP_IMPREST_FORM_TOO_MANY);
    CHECK(form_rc("a&b&c", 5, 3) == NGX_HTTP_IMPREST_FORM_OK);
    CHECK(form_rc("a&&b&&", 6, 2) == NGX_HTTP_IMPREST_FORM_OK);
    CHECK(form_rc("a", 1, 0) == NGX_HTTP_IMPREST_FORM_TOO_MANY);
}


static void
test_form_get(void)
{
    size_t                vlen;
    test_form_t           f;
    const unsigned char  *v;

    form_parse(&f, S("response_type=code&client_id=c1&state=&scope=a+b"
                     "&code=x&code=y&Code=z&redirect_uri=&redirect_uri=r"
                     "&client%5Fsecret=s&client_secret=t&e1=&e1="),
               TEST_MAX_PARAMS);
    CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 13);

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "client_id", 0, &v, &vlen)
          == 1);
    CHECK(mem_eq(v, vlen, "c1"));

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "scope", 0, &v, &vlen)
          == 1);
    CHECK(mem_eq(v, vlen, "a b"));

    /* absent; names are case-sensitive and compared whole */

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "nonce", 0, &v, &vlen)
          == 0);
    CHECK(v == NULL && vlen == 0);
    CHECK(ngx_http_imprest_form_get(f.params, f.n, "client", 0, &v, &vlen)
          == 0);
    CHECK(ngx_http_imprest_form_get(f.params, f.n, "CLIENT_ID", 0, &v,
                                    &vlen)
          == 0);

    /* AS-TOK-7, AS-AZ-2: repeated, and decoded names count as the same */

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "code", 0, &v, &vlen)
          == 2);
    CHECK(v == NULL && vlen == 0);
    CHECK(ngx_http_imprest_form_get(f.params, f.n, "client_secret", 0, &v,
                                    &vlen)
          == 2);

    /* AS-AZ-4: "state=" is present, but absent when empty means absent */

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "state", 0, &v, &vlen)
          == 1);
    CHECK(v != NULL && vlen == 0);
    CHECK(ngx_http_imprest_form_get(f.params, f.n, "state",
                                    NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT, &v,
                                    &vlen)
          == 0);
    CHECK(v == NULL && vlen == 0);

    /* an empty occurrence is omitted, so the other one is not repeated */

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "redirect_uri", 0, &v,
                                    &vlen)
          == 2);
    CHECK(ngx_http_imprest_form_get(f.params, f.n, "redirect_uri",
                                    NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT, &v,
                                    &vlen)
          == 1);
    CHECK(mem_eq(v, vlen, "r"));

    CHECK(ngx_http_imprest_form_get(f.params, f.n, "e1", 0, &v, &vlen)
          == 2);
    CHECK(ngx_http_imprest_form_get(f.params, f.n, "e1",
                                    NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT, &v,
                                    &vlen)
          == 0);

    form_free(&f);

    CHECK(ngx_http_imprest_form_get(NULL, 0, "code", 0, &v, &vlen) == 0);
}


static void
test_url_encode(void)
{
    size_t          i, n;
    unsigned char  *src, *dst;
    unsigned char   b[1], out[3];

    /* independent: urllib.parse.quote(s, safe="") */
    static const char  *vectors[][2] = {
        { "", "" },
        { "https://as.example", "https%3A%2F%2Fas.example" },
        { "a b+c&d=e#f%g", "a%20b%2Bc%26d%3De%23f%25g" },
        { "\r\nSet-Cookie:x", "%0D%0ASet-Cookie%3Ax" },
        { " !\"#$%&'()*+,-./",
          "%20%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F" },
        { "\xc3\xa4\xe2\x80\xae", "%C3%A4%E2%80%AE" },
        { "-._~AZaz09", "-._~AZaz09" },
        { "<script>", "%3Cscript%3E" }
    };

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        src = dup_exact(U(vectors[i][0]), strlen(vectors[i][0]));
        n = ngx_http_imprest_url_encode(NULL, src, strlen(vectors[i][0]));
        CHECK_MSG(n == strlen(vectors[i][1]), "vector %zu", i);

        dst = alloc_exact(n);
        CHECK_MSG(ngx_http_imprest_url_encode(dst, src, strlen(vectors[i][0]))
                  == n, "vector %zu", i);
        CHECK_MSG(mem_eq(dst, n, vectors[i][1]), "vector %zu", i);

        free(dst);
        free(src);
    }

    n = ngx_http_imprest_url_encode(out, U("\0"), 1);
    CHECK(n == 3 && memcmp(out, "%00", 3) == 0);

    /* every byte: unreserved as is, everything else %XX upper-case */

    for (i = 0; i < 256; i++) {
        b[0] = (unsigned char) i;
        n = ngx_http_imprest_url_encode(out, b, 1);

        if (strchr("-._~", (int) i) != NULL && i != 0) {
            CHECK_MSG(n == 1 && out[0] == i, "byte 0x%02zx", i);

        } else if ((i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z')
                   || (i >= '0' && i <= '9'))
        {
            CHECK_MSG(n == 1 && out[0] == i, "byte 0x%02zx", i);

        } else {
            CHECK_MSG(n == 3 && out[0] == '%'
                      && out[1] == "0123456789ABCDEF"[i >> 4]
                      && out[2] == "0123456789ABCDEF"[i & 0x0f],
                      "byte 0x%02zx", i);
        }
    }
}


/* builds into an exact-size buffer after measuring */

static int
redirect_is(const char *uri, const ngx_http_imprest_param_t *params,
    size_t n, const char *expect)
{
    int             ok;
    size_t          len, m;
    unsigned char  *u, *dst;

    u = dup_exact(U(uri), strlen(uri));
    len = ngx_http_imprest_redirect_build(NULL, u, strlen(uri), params, n);

    if (expect == NULL) {
        free(u);
        return len == 0;
    }

    dst = alloc_exact(len);
    m = ngx_http_imprest_redirect_build(dst, u, strlen(uri), params, n);

    ok = (m == len && mem_eq(dst, m, expect));

    if (!ok) {
        printf("  got \"%.*s\"\n", (int) m, dst);
    }

    free(dst);
    free(u);

    return ok;
}


#define PARAM(name, value)                                                    \
    { U(name), sizeof(name) - 1, U(value), sizeof(value) - 1 }

static void
test_redirect_build(void)
{
    size_t          i, n, len;
    unsigned char  *state, *dst, *u, *p;
    test_form_t     f;

    ngx_http_imprest_param_t  ok[] = {
        PARAM("code", "imp_ac_x"),
        PARAM("state", "s1"),
        PARAM("iss", "https://as.example")
    };

    ngx_http_imprest_param_t  err[] = {
        PARAM("error", "access_denied"),
        PARAM("error_description", "The user said \"no\"."),
        PARAM("state", ""),
        PARAM("iss", "https://as.example")
    };

    ngx_http_imprest_param_t  crlf[] = {
        PARAM("code", "c"),
        PARAM("state", "\r\nSet-Cookie:x&a=b#frag")
    };

    CHECK(redirect_is("https://c.example/cb", ok, 3,
                      "https://c.example/cb?code=imp_ac_x&state=s1"
                      "&iss=https%3A%2F%2Fas.example"));

    /* AS-RU-7, RFC 6749 3.1.2: the registered query is kept */

    CHECK(redirect_is("https://c.example/cb?a=1", ok, 1,
                      "https://c.example/cb?a=1&code=imp_ac_x"));
    CHECK(redirect_is("https://c.example/cb?", ok, 1,
                      "https://c.example/cb?code=imp_ac_x"));
    CHECK(redirect_is("https://c.example/cb?a=1&", ok, 1,
                      "https://c.example/cb?a=1&code=imp_ac_x"));
    CHECK(redirect_is("com.example.app:/cb", ok, 2,
                      "com.example.app:/cb?code=imp_ac_x&state=s1"));
    CHECK(redirect_is("https://c.example/cb", ok, 0,
                      "https://c.example/cb"));

    /* AS-AZ-4: an empty state is left out; errors carry iss (RFC 9207) */

    CHECK(redirect_is("https://c.example/cb", err, 4,
                      "https://c.example/cb?error=access_denied"
                      "&error_description=The%20user%20said%20%22no%22."
                      "&iss=https%3A%2F%2Fas.example"));

    /* AS-RU-7: CR LF and "#" in state stay inside the query */

    CHECK(redirect_is("https://c.example/cb", crlf, 2,
                      "https://c.example/cb?code=c"
                      "&state=%0D%0ASet-Cookie%3Ax%26a%3Db%23frag"));

    /* never a fragment, never a byte that could split a header */

    CHECK(redirect_is("https://c.example/cb#f", ok, 1, NULL));
    CHECK(redirect_is("https://c.example/cb?a=1#", ok, 1, NULL));
    CHECK(redirect_is("https://c.example/c b", ok, 1, NULL));
    CHECK(redirect_is("https://c.example/cb\r\nX: y", ok, 1, NULL));
    CHECK(redirect_is("https://c.example/\xc3\xa4", ok, 1, NULL));
    CHECK(redirect_is("https://c.example/\x7f", ok, 1, NULL));
    CHECK(redirect_is("", ok, 1, NULL));

    /*
     * AS-AZ-5: a 1 KB state made of "&=#%+" and every other byte but NUL
     * comes back byte for byte through the client's form parser.
     */

    len = 1024;
    state = alloc_exact(len);

    for (i = 0; i < len; i++) {
        state[i] = (i % 2) ? (unsigned char) "&=#%+"[i % 5]
                           : (unsigned char) (1 + i % 255);
    }

    crlf[1].value = state;
    crlf[1].value_len = len;

    u = dup_exact(S("https://c.example/cb?a=1"));
    n = ngx_http_imprest_redirect_build(NULL, u, 24, crlf, 2);
    dst = alloc_exact(n);
    CHECK(ngx_http_imprest_redirect_build(dst, u, 24, crlf, 2) == n);

    for (i = 0; i < n; i++) {
        CHECK_MSG(dst[i] > 0x20 && dst[i] < 0x7f && dst[i] != '#',
                  "offset %zu", i);
    }

    p = memchr(dst, '?', n);
    CHECK(p != NULL);

    if (p != NULL) {
        p++;
        form_parse(&f, p, (size_t) (dst + n - p), TEST_MAX_PARAMS);
        CHECK(f.rc == NGX_HTTP_IMPREST_FORM_OK && f.n == 3);
        CHECK(param_is(&f.params[0], "a", "1"));
        CHECK(param_is(&f.params[1], "code", "c"));
        CHECK(f.params[2].value_len == len
              && memcmp(f.params[2].value, state, len) == 0);
        form_free(&f);
    }

    free(dst);
    free(u);
    free(state);
}


static const char *
register_check(const char *uri, size_t len)
{
    const char     *reason;
    unsigned char  *p;

    p = dup_exact(U(uri), len);
    reason = ngx_http_imprest_redirect_uri_register_check(p, len);
    free(p);

    return reason;
}


static int
reason_is(const char *uri, const char *expect)
{
    const char  *reason;

    reason = register_check(uri, strlen(uri));

    if (reason == NULL || strcmp(reason, expect) != 0) {
        printf("  reason: %s\n", reason ? reason : "(none)");
        return 0;
    }

    return 1;
}


static void
test_redirect_register(void)
{
    size_t          i;
    const char     *reason;
    unsigned char  *long_uri;

    static const char  *good[] = {
        "https://c.example/cb",
        "https://c.example",
        "https://c.example/",
        "https://c.example?x=1",
        "https://c.example:8443/cb",
        "https://c.example:1/cb",
        "https://c.example:65535/cb",
        "https://c.example/cb?a=1&b=two",
        "https://c.example/cb?next=..%2F..",
        "https://c.example/a%20b/c;p=1/~u/x.y/.well/..x/x..",
        "https://c-1.example_2.xn--bcher-kva.example/cb",
        "https://127.0.0.1/cb",
        "https://[2001:db8::1]:8443/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1",
        "http://127.0.0.1:8080/cb",
        "http://127.0.0.1:51234/cb?x=1",
        "http://[::1]/cb",
        "http://[::1]:1/cb",
        "com.example.app:/oauth2redirect/example-provider",
        "com.example.app://cb",
        "com.example.app:cb",
        "com.example-1.app+x:/cb"
    };

    /* AS-RU-5 and the hostile redirect_uri list of section 3 */
    static const char  *bad[] = {
        "https://a/cb#f",
        "https://a/cb#",
        "http://a/cb",
        "http://c.example/cb",
        "javascript:alert(1)",
        "javascript://c.example/%0aalert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:,x",
        "file:///x",
        "vbscript:msgbox(1)",
        "about:blank",
        "blob:https://c.example/uuid",
        "https://*.a/cb",
        "https://c.example/*",
        "/relative",
        "//evil",
        "cb",
        ":cb",
        "1https://c.example/cb",
        "https:/\\evil",
        "https://evil\\@good",
        "https://c.example\\cb",
        "https://c.example@evil/cb",
        "https://user:pw@c.example/cb",
        "https://c.example/cb@x",
        "HTTPS://c.example/cb",
        "Https://c.example/cb",
        "https://C.example/cb",
        "https://c.EXAMPLE/cb",
        "https://[2001:DB8::1]/cb",
        "https://c.example/x/../cb",
        "https://c.example/x/./cb",
        "https://c.example/..",
        "https://c.example/cb/.",
        "https://c.example/./",
        "https://c.example/%2E%2E/cb",
        "https://c.example/%2e%2e/cb",
        "https://c.example/x%2E/cb",
        "https://c.example/%252E%252E/",
        "https://c.example/a%2Fb",
        "https://c.example/a%2fb",
        "https://c.example/a%5Cb",
        "https://c.example/a%5cb",
        "https://c.example/cb%0d%0aLocation:%20https://evil",
        "https://c.example/cb?%00",
        "https://c.example/cb?%7F",
        "https://c.example/%",
        "https://c.example/%4",
        "https://c.example/%G1",
        "https://c.example/%%",
        "https://c.example/c b",
        "https://c.example/cb ",
        " https://c.example/cb",
        "https://c.example/cb\r\n",
        "https://c.example/\tcb",
        "https://c.ex\xc3\xa4mple/cb",
        "https://\xd0\xb0pple.example/cb",
        "https://c.example/\x7f",
        "https://c.example/\"",
        "https://c.example/<x>",
        "https://c.example/{x}",
        "https://c.example/a|b",
        "https://c.example/a^b",
        "https://c.example/a`b",
        "https://c.example/[x]",
        "https://c.example/cb?x=[1]",
        "https://c.example:0/cb",
        "https://c.example:080/cb",
        "https://c.example:65536/cb",
        "https://c.example:123456/cb",
        "https://c.example:/cb",
        "https://c.example:8a/cb",
        "https://c.example:-1/cb",
        "https:c.example/cb",
        "https:/c.example/cb",
        "https:",
        "https://",
        "https:///cb",
        "https://:443/cb",
        "https://c..example/cb",
        "https://.c.example/cb",
        "https://c.example./cb",
        "https://c.ex%61mple/cb",
        "https://c.example;x/cb",
        "https://[]/cb",
        "https://[::1/cb",
        "https://[::1]x/cb",
        "https://[fe80::1%25eth0]/cb",
        "http://localhost/cb",
        "http://localhost:8080/cb",
        "http://LOCALHOST/cb",
        "http://127.0.0.2/cb",
        "http://127.0.0.1.evil.example/cb",
        "http://127.1/cb",
        "http://[::2]/cb",
        "http://[0:0:0:0:0:0:0:1]/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1/../cb",
        "myapp:/cb",
        "ftp://c.example/cb",
        "wss://c.example/cb",
        "urn:ietf:wg:oauth:2.0:oob",
        "com.example.:/cb",
        "com..example:/cb",
        "com.example.app:",
        "com.example.app:/../cb",
        "com.example.app:/%2e%2e/cb",
        "com.example.app:/cb#x",
        "Com.example.app:/cb",
        "com.example_app.x:/cb"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        reason = register_check(good[i], strlen(good[i]));
        CHECK_MSG(reason == NULL, "%s", good[i]);

        if (reason) {
            printf("  reason: %s\n", reason);
        }
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reason = register_check(bad[i], strlen(bad[i]));
        CHECK_MSG(reason != NULL && reason[0] != '\0', "%s", bad[i]);
    }

    /* the reason names the rule */

    CHECK(reason_is("https://a/cb#f", "fragment"));
    CHECK(reason_is("https://*.a/cb", "wildcard"));
    CHECK(reason_is("/relative", "not an absolute URI"));
    CHECK(reason_is("HTTPS://c.example/cb", "upper-case scheme"));
    CHECK(reason_is("https://C.example/cb", "upper-case host"));
    CHECK(reason_is("javascript:alert(1)", "scheme not allowed"));
    CHECK(reason_is("data:text/html,<b>", "scheme not allowed"));
    CHECK(reason_is("http://localhost/cb",
                    "http is allowed only for 127.0.0.1 and [::1]"));
    CHECK(reason_is("https://c.example/x/../cb",
                    "\".\" or \"..\" path segment"));
    CHECK(reason_is("https://c.example@evil/cb", "userinfo (\"@\")"));

    CHECK(register_check("", 0) != NULL);
    CHECK(ngx_http_imprest_redirect_uri_register_check(NULL, 0) != NULL);

    /* a NUL inside, seen through the length and not as an end */

    CHECK(register_check("https://c.example/\0cb", 21) != NULL);

    /* the length limit: 2000 accepted, 2001 refused */

    long_uri = malloc(NGX_HTTP_IMPREST_REDIRECT_URI_MAX + 1);
    if (long_uri == NULL) {
        exit(2);
    }

    memcpy(long_uri, "https://c.example/", 18);
    memset(long_uri + 18, 'a', NGX_HTTP_IMPREST_REDIRECT_URI_MAX + 1 - 18);

    CHECK(register_check((char *) long_uri, NGX_HTTP_IMPREST_REDIRECT_URI_MAX)
          == NULL);
    CHECK(register_check((char *) long_uri,
                         NGX_HTTP_IMPREST_REDIRECT_URI_MAX + 1)
          != NULL);

    free(long_uri);
}


static int
match_n(const char *registered, size_t rlen, const char *presented,
    size_t plen)
{
    int             rc;
    unsigned char  *r, *p;

    r = dup_exact(U(registered), rlen);
    p = dup_exact(U(presented), plen);

    rc = ngx_http_imprest_redirect_uri_match(r, rlen, p, plen);

    free(p);
    free(r);

    return rc;
}


static int
match(const char *registered, const char *presented)
{
    return match_n(registered, strlen(registered), presented,
                   strlen(presented));
}


static void
test_redirect_match(void)
{
    size_t       i;
    const char  *reg;

    /* AS-RU-1 */
    static const char  *ru1[] = {
        "HTTPS://c.example/cb",
        "https://C.example/cb",
        "https://c.example/cb/",
        "https://c.example/CB",
        "https://c.example/cb?x=1",
        "https://c.example/cb?",
        "https://c.example/cb#",
        "https://c.example/x/../cb",
        "https://c.example/%2E%2E/cb",
        "https://c.example/%252E%252E/",
        "https://c.example/%63b",
        "https://c.example:444/cb",
        "https://c.example:443/cb",
        "https://c.example.evil/cb",
        "https://c.example@evil/cb",
        "https://evil/c.example/cb",
        "https://c.example/c",
        "https://c.example/cbx",
        "https://c.example//cb",
        "http://c.example/cb",
        "https://c.example/cb ",
        "https:/\\evil",
        "//evil",
        ""
    };

    /* AS-RU-2 and fosite GHSA-rfq3-w54c-f9q5 */
    static const char  *ru2_bad[] = {
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:51234",
        "http://127.0.0.1:51234/CB",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:051234/cb",
        "http://127.0.0.1:00080/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:123456/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:-1/cb",
        "http://127.0.0.1:+80/cb",
        "http://127.0.0.1: 80/cb",
        "http://127.0.0.1:80a/cb",
        "http://127.0.0.1:8080:9090/cb",
        "http://127.0.0.1:51234@evil/cb",
        "http://127.0.0.1:51234.evil.example/cb",
        "http://127.0.0.1.evil.example:51234/cb",
        "http://127.0.0.1:",
        "http://localhost:51234/cb",
        "http://[::1]:51234/cb",
        "https://127.0.0.1:51234/cb",
        "HTTP://127.0.0.1:51234/cb",
        "http://127.0.0.1:51234\\@evil/cb",
        "http://127.0.0.1"
    };

    reg = "https://c.example/cb";

    CHECK(match(reg, reg));

    for (i = 0; i < sizeof(ru1) / sizeof(ru1[0]); i++) {
        CHECK_MSG(!match(reg, ru1[i]), "%s", ru1[i]);
    }

    /* a NUL is a byte like any other, not the end */

    CHECK(!match_n(reg, 20, "https://c.example/cb\0", 21));
    CHECK(!match_n("https://c.example/cb\0", 21, reg, 20));
    CHECK(match_n("https://c.example/c\0b", 21, "https://c.example/c\0b",
                  21));
    CHECK(!match_n("https://c.example/c\0b", 21, "https://c.example/c\0c",
                   21));
    CHECK(!match_n("http://127.0.0.1/cb", 19, "http://127.0.0.1:80/cb\0",
                   23));
    CHECK(!match("", ""));

    /* a registered URI is compared as bytes, whatever it looks like */

    CHECK(match("https://c.example/cb?a=1", "https://c.example/cb?a=1"));
    CHECK(!match("https://c.example/cb?a=1", "https://c.example/cb?a=1&b"));
    CHECK(match("https://c.example/%7E", "https://c.example/%7E"));
    CHECK(!match("https://c.example/%7E", "https://c.example/%7e"));
    CHECK(!match("https://c.example/%7E", "https://c.example/~"));
    CHECK(!match("https://c.example/cb/", "https://c.example/cb"));

    /* AS-RU-2, RFC 8252 7.3: any port for a portless loopback URI */

    reg = "http://127.0.0.1/cb";

    CHECK(match(reg, "http://127.0.0.1/cb"));
    CHECK(match(reg, "http://127.0.0.1:51234/cb"));
    CHECK(match(reg, "http://127.0.0.1:1/cb"));
    CHECK(match(reg, "http://127.0.0.1:80/cb"));
    CHECK(match(reg, "http://127.0.0.1:65535/cb"));

    for (i = 0; i < sizeof(ru2_bad) / sizeof(ru2_bad[0]); i++) {
        CHECK_MSG(!match(reg, ru2_bad[i]), "%s", ru2_bad[i]);
    }

    reg = "http://[::1]/cb";

    CHECK(match(reg, "http://[::1]:51234/cb"));
    CHECK(match(reg, "http://[::1]/cb"));
    CHECK(!match(reg, "http://[::1]:51234/other"));
    CHECK(!match(reg, "http://127.0.0.1:51234/cb"));
    CHECK(!match(reg, "http://[::1]:0/cb"));
    CHECK(!match(reg, "http://[0::1]:51234/cb"));

    /* loopback without a path, or with a query right after the host */

    CHECK(match("http://127.0.0.1", "http://127.0.0.1:8080"));
    CHECK(!match("http://127.0.0.1", "http://127.0.0.1:8080/"));
    CHECK(match("http://127.0.0.1?a=1", "http://127.0.0.1:8080?a=1"));
    CHECK(!match("http://127.0.0.1?a=1", "http://127.0.0.1:8080?a=2"));

    /* a registered port is part of the URI: no other port matches */

    reg = "http://127.0.0.1:8080/cb";

    CHECK(match(reg, "http://127.0.0.1:8080/cb"));
    CHECK(!match(reg, "http://127.0.0.1:8081/cb"));
    CHECK(!match(reg, "http://127.0.0.1/cb"));
    CHECK(!match(reg, "http://127.0.0.1:8080:8081/cb"));
    CHECK(!match(reg, "http://127.0.0.1:1:8080/cb"));

    /* only loopback addresses over http, and only those exact hosts */

    CHECK(!match("https://127.0.0.1/cb", "https://127.0.0.1:8080/cb"));
    CHECK(!match("http://127.0.0.10/cb", "http://127.0.0.10:8080/cb"));
    CHECK(!match("http://127.0.0.1.evil/cb", "http://127.0.0.1.evil:1/cb"));
    CHECK(!match("http://127.0.0.1.evil/cb", "http://127.0.0.1:1.evil/cb"));
    CHECK(!match("http://[::1]x/cb", "http://[::1]:1x/cb"));
    CHECK(!match("http://localhost/cb", "http://localhost:8080/cb"));
    CHECK(!match("https://c.example/cb", "https://c.example:443/cb"));
}


/*
 * RFC 7636 4.6 with S256 as the token endpoint does it: the verifier's
 * syntax in C, then its transform against the stored challenge (the Lua
 * compares the two strings).
 */

static int
pkce_matches(const unsigned char *v, size_t vlen, const unsigned char *c,
    size_t clen)
{
    unsigned char  s256[NGX_HTTP_IMPREST_PKCE_S256_LEN];

    return ngx_http_imprest_pkce_verifier_valid(v, vlen)
           && clen == NGX_HTTP_IMPREST_PKCE_S256_LEN
           && ngx_http_imprest_pkce_s256(v, vlen, s256) == 0
           && memcmp(s256, c, clen) == 0;
}


static void
test_pkce(void)
{
    size_t          i, len;
    unsigned char  *v, *c, *out;
    unsigned char   buf[NGX_HTTP_IMPREST_PKCE_MAX + 1];
    unsigned char   s256[NGX_HTTP_IMPREST_PKCE_S256_LEN];

    /* RFC 7636, Appendix B (AS-PK-7) */
    static const char  *appb_v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const char  *appb_c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    /* independent: base64.urlsafe_b64encode(hashlib.sha256(v).digest()) */
    static const char  *vectors[][2] = {
        { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          "DwBzhbb51LfusnSGBa_hqYSgo7-j8BTQnip4TOnlzRo" },
        { "0123456789abcdefghijklmnopqrstuvwxyz-._~ABCDEFG",
          "TwbcY8lvCc-4qurjvU8PIMRtVl88IA4hfYas9VdO1ak" }
    };

    v = dup_exact(U(appb_v), 43);
    c = dup_exact(U(appb_c), 43);
    out = alloc_exact(NGX_HTTP_IMPREST_PKCE_S256_LEN);

    CHECK(ngx_http_imprest_pkce_s256(v, 43, out) == 0);
    CHECK(memcmp(out, appb_c, 43) == 0);
    CHECK(ngx_http_imprest_pkce_verifier_valid(v, 43));
    CHECK(ngx_http_imprest_pkce_challenge_valid(c, 43));
    CHECK(pkce_matches(v, 43, c, 43));

    /* AS-PK-4: wrong verifier; a verifier equal to its challenge (plain) */

    CHECK(!pkce_matches(c, 43, c, 43));
    v[0] = 'e';
    CHECK(!pkce_matches(v, 43, c, 43));
    v[0] = 'd';
    CHECK(!pkce_matches(v, 42, c, 43));
    CHECK(!pkce_matches(v, 43, c, 42));
    CHECK(!pkce_matches(v, 0, c, 43));

    free(out);
    free(c);
    free(v);

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        len = strlen(vectors[i][0]);
        v = dup_exact(U(vectors[i][0]), len);
        c = dup_exact(U(vectors[i][1]), 43);

        CHECK_MSG(ngx_http_imprest_pkce_s256(v, len, s256) == 0
                  && memcmp(s256, vectors[i][1], 43) == 0, "vector %zu", i);
        CHECK_MSG(pkce_matches(v, len, c, 43),
                  "vector %zu", i);

        free(c);
        free(v);
    }

    /* independent: 128 "~" */

    memset(buf, '~', sizeof(buf));
    v = dup_exact(buf, 128);
    c = dup_exact(S("zNhOm5Jyonenca7bQzzpjUpwFDVrfhrbbOGCqgWA6HU"));
    CHECK(pkce_matches(v, 128, c, 43));
    free(c);
    free(v);

    /* AS-PK-3, AS-PK-5: 43 to 128 characters (Keycloak A-1-8/9) */

    memset(buf, 'a', sizeof(buf));

    for (len = 0; len <= NGX_HTTP_IMPREST_PKCE_MAX + 1; len++) {
        v = dup_exact(buf, len);
        CHECK_MSG(ngx_http_imprest_pkce_verifier_valid(v, len)
                  == (len >= 43 && len <= 128), "length %zu", len);
        CHECK_MSG(ngx_http_imprest_pkce_challenge_valid(v, len)
                  == (len >= 43 && len <= 128), "length %zu", len);
        free(v);
    }

    /* AS-PK-5: even a verifier whose hash matches is refused if invalid */

    for (len = 42; len <= 129; len += 87) {
        v = dup_exact(buf, len);
        CHECK(ngx_http_imprest_pkce_s256(v, len, s256) == 0);
        c = dup_exact(s256, 43);
        CHECK_MSG(!pkce_matches(v, len, c, 43),
                  "length %zu", len);
        free(c);
        free(v);
    }

    memcpy(buf, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX %", 44);
    v = dup_exact(buf, 43);
    CHECK(ngx_http_imprest_pkce_s256(v, 43, s256) == 0);
    c = dup_exact(s256, 43);
    CHECK(!pkce_matches(v, 43, c, 43));
    free(c);
    free(v);

    /* AS-PK-3: "=", "+", "/", "%" and every other byte outside unreserved */

    for (i = 0; i < 256; i++) {
        memcpy(buf, appb_c, 43);
        buf[20] = (unsigned char) i;
        c = dup_exact(buf, 43);

        CHECK_MSG(ngx_http_imprest_pkce_challenge_valid(c, 43)
                  == ((i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z')
                      || (i >= '0' && i <= '9')
                      || i == '-' || i == '.' || i == '_' || i == '~'),
                  "byte 0x%02zx", i);
        CHECK_MSG(ngx_http_imprest_pkce_verifier_valid(c, 43)
                  == ngx_http_imprest_pkce_challenge_valid(c, 43),
                  "byte 0x%02zx", i);
        free(c);
    }

    CHECK(!ngx_http_imprest_pkce_challenge_valid(
              S("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=")));
    CHECK(!ngx_http_imprest_pkce_challenge_valid(
              S("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM")));
    CHECK(!ngx_http_imprest_pkce_challenge_valid(
              S("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM")));
    CHECK(!ngx_http_imprest_pkce_challenge_valid(
              S("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=")));
    CHECK(!ngx_http_imprest_pkce_challenge_valid(NULL, 43));
}


/* Basic decoding with exact-size input and output buffers */

typedef struct {
    int             rc;
    size_t          id_len;
    size_t          secret_len;
    size_t          len;
    unsigned char  *id;
    unsigned char  *secret;
} test_basic_t;


static void
basic(test_basic_t *b, const char *value, size_t len)
{
    unsigned char  *v;

    v = dup_exact(U(value), len);

    b->len = len;
    b->id = alloc_exact(len);
    b->secret = alloc_exact(len);
    memset(b->id, 0xa5, len);
    memset(b->secret, 0xa5, len);
    b->id_len = 777;
    b->secret_len = 777;

    b->rc = ngx_http_imprest_basic_decode(v, len, b->id, &b->id_len,
                                          b->secret, &b->secret_len);
    free(v);
}


static void
basic_free(test_basic_t *b)
{
    free(b->id);
    free(b->secret);
}


static int
zeroed(const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }

    return 1;
}


static int
basic_rc(const char *value)
{
    int           rc;
    test_basic_t  b;

    basic(&b, value, strlen(value));
    rc = b.rc;

    /* nothing is handed out, and what was decoded is wiped */

    if (rc != 0
        && (b.id_len != 0 || b.secret_len != 0
            || (rc == NGX_HTTP_IMPREST_BASIC_INVALID
                && (!zeroed(b.id, b.len) || !zeroed(b.secret, b.len)))))
    {
        rc = 99;
    }

    basic_free(&b);

    return rc;
}


static int
basic_is(const char *value, const char *id, const char *secret)
{
    int           ok;
    test_basic_t  b;

    basic(&b, value, strlen(value));

    ok = b.rc == 0
         && mem_eq(b.id, b.id_len, id)
         && mem_eq(b.secret, b.secret_len, secret);

    basic_free(&b);

    return ok;
}


static void
test_basic(void)
{
    size_t          i, j, n, ilen, slen, enc;
    test_basic_t    b;
    unsigned char   id[40], secret[40], raw[256], hdr[400];

    /* independent: base64.b64encode() */

    CHECK(basic_is("Basic Y2xpZW50OnNlY3JldA==", "client", "secret"));
    CHECK(basic_is("basic Y2xpZW50OnNlY3JldA==", "client", "secret"));
    CHECK(basic_is("BASIC Y2xpZW50OnNlY3JldA==", "client", "secret"));
    CHECK(basic_is("bAsIc   Y2xpZW50OnNlY3JldA==", "client", "secret"));
    CHECK(basic_is("Basic aW1wX2NzX3g6eQ==", "imp_cs_x", "y"));

    /* AS-TOK-6: secret "a:b%+c", id "my client", each form-encoded */

    CHECK(basic_is("Basic bXklMjBjbGllbnQ6YSUzQWIlMjUlMkJj", "my client",
                   "a:b%+c"));
    CHECK(basic_is("Basic bXkrY2xpZW50OmElM0FiJTI1JTJCYw==", "my client",
                   "a:b%+c"));

    /* "%3A" in the id; a raw ":" in the secret; empty secret; UTF-8 */

    CHECK(basic_is("Basic YSUzQWI6Yw==", "a:b", "c"));
    CHECK(basic_is("Basic aWQ6YTpi", "id", "a:b"));
    CHECK(basic_is("Basic Y2xpZW50Og==", "client", ""));
    CHECK(basic_is("Basic w6Q6w7Y=", "\xc3\xa4", "\xc3\xb6"));

    /* another scheme is declined, not an error */

    CHECK(basic_rc("") == NGX_HTTP_IMPREST_BASIC_DECLINED);
    CHECK(basic_rc("Bearer Y2xpZW50OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_DECLINED);
    CHECK(basic_rc("Basi") == NGX_HTTP_IMPREST_BASIC_DECLINED);
    CHECK(basic_rc("Basicx Y2xpZW50OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_DECLINED);
    CHECK(basic_rc("Basic\tY2xpZW50OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_DECLINED);
    CHECK(basic_rc(" Basic Y2xpZW50OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_DECLINED);

    /* no credentials */

    CHECK(basic_rc("Basic") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic ") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic    ") == NGX_HTTP_IMPREST_BASIC_INVALID);

    /* bad or non-canonical base64 */

    CHECK(basic_rc("Basic Y2xpZW50OnNlY3JldA")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50OnNlY3JldA=")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50OnNlY3JldA== ")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50 OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xp-W50OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xp_W50OnNlY3JldA==")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50OnNlY3Jl=A==")
          == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2=="
                   "Y2xpZW50OnNlY3JldA==") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic ====") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y===") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Zh==") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Zm9=") == NGX_HTTP_IMPREST_BASIC_INVALID);

    /*
     * Non-zero unused bits (RFC 4648, 3.5): lenient decoders, Python's
     * among them, read these as "a:bc" and "id:ab", the canonical forms
     * of which are accepted.
     */

    CHECK(basic_is("Basic YTpiYw==", "a", "bc"));
    CHECK(basic_rc("Basic YTpiYx==") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_is("Basic aWQ6YWI=", "id", "ab"));
    CHECK(basic_rc("Basic aWQ6YWJ=") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic \"Y2xpZW50OnNlY3JldA==\"")
          == NGX_HTTP_IMPREST_BASIC_INVALID);

    /* no colon, empty id, bad percent-encoding, NUL, control character */

    CHECK(basic_rc("Basic Y2xpZW50c2VjcmV0") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic OnNlY3JldA==") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50OmEleno=") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2wlaWVudDp4") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50OiUwMA==") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Y2xpZW50OmEB") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Zg==") == NGX_HTTP_IMPREST_BASIC_INVALID);
    CHECK(basic_rc("Basic Zm8=") == NGX_HTTP_IMPREST_BASIC_INVALID);

    /* the decoded credentials past the secret are wiped */

    basic(&b, "Basic YSUzQWI6cyUyNTI=", 22);
    CHECK(b.rc == 0 && mem_eq(b.id, b.id_len, "a:b")
          && mem_eq(b.secret, b.secret_len, "s%2"));
    CHECK(zeroed(b.secret + b.secret_len, 11 - b.secret_len));
    basic_free(&b);

    /*
     * Round trip against OpenSSL's base64 encoder: random ids and secrets
     * of bytes 0x01-0xff, form-encoded, joined with ":", encoded.
     */

    for (i = 0; i < TEST_RANDOM; i++) {
        ilen = 1 + (size_t) rand() % sizeof(id);
        slen = (size_t) rand() % sizeof(secret);

        for (j = 0; j < ilen; j++) {
            id[j] = (unsigned char) (1 + rand() % 255);
        }

        for (j = 0; j < slen; j++) {
            secret[j] = (unsigned char) (1 + rand() % 255);
        }

        n = ngx_http_imprest_url_encode(raw, id, ilen);
        raw[n++] = ':';
        n += ngx_http_imprest_url_encode(raw + n, secret, slen);

        memcpy(hdr, "Basic ", 6);
        enc = (size_t) EVP_EncodeBlock(hdr + 6, raw, (int) n);

        basic(&b, (char *) hdr, 6 + enc);

        CHECK_MSG(b.rc == 0
                  && b.id_len == ilen && memcmp(b.id, id, ilen) == 0
                  && b.secret_len == slen
                  && memcmp(b.secret, secret, slen) == 0,
                  "round %zu", i);

        basic_free(&b);
    }
}


static int
html_is(const char *src, size_t len, const char *expect)
{
    int             ok;
    size_t          n, m;
    unsigned char  *s, *dst;

    s = dup_exact(U(src), len);
    n = ngx_http_imprest_html_escape(NULL, s, len);
    dst = alloc_exact(n);
    m = ngx_http_imprest_html_escape(dst, s, len);

    ok = (m == n && mem_eq(dst, m, expect));

    if (!ok) {
        printf("  got \"%.*s\"\n", (int) m, dst);
    }

    free(dst);
    free(s);

    return ok;
}

#define HTML_IS(lit, expect)  html_is(lit, sizeof(lit) - 1, expect)

#define FFFD  "\xef\xbf\xbd"


/*
 * A second, differently written UTF-8 check for the random test: decode
 * by bit pattern, then refuse overlong forms, surrogates and values above
 * U+10FFFF by the value.
 */

static int
utf8_valid(const unsigned char *p, size_t len)
{
    size_t         i, k, n;
    unsigned long  cp;

    static const unsigned long  min[] = { 0, 0x80, 0x800, 0x10000 };

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            cp = p[i];

        } else if ((p[i] & 0xe0) == 0xc0) {
            n = 2;
            cp = p[i] & 0x1f;

        } else if ((p[i] & 0xf0) == 0xe0) {
            n = 3;
            cp = p[i] & 0x0f;

        } else if ((p[i] & 0xf8) == 0xf0) {
            n = 4;
            cp = p[i] & 0x07;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        if (cp < min[n - 1] || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}


static void
test_html_escape(void)
{
    size_t          i, j, len, n;
    unsigned char  *src, *dst;

    /* independent: Python's "replace" decoding plus the same mapping */

    CHECK(HTML_IS("<script>alert('x')</script>",
                  "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    CHECK(HTML_IS("\"><img src=x onerror=alert(1)>",
                  "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    CHECK(HTML_IS("&amp;", "&amp;amp;"));
    CHECK(HTML_IS("javascript:alert(1)", "javascript:alert(1)"));
    CHECK(HTML_IS("", ""));

    /* U+202E RTL override, U+200B zero width space, BOM, isolates, ALM */

    CHECK(HTML_IS("Acme\xe2\x80\xae\x65xe.evil", "Acme" FFFD "exe.evil"));
    CHECK(HTML_IS("pay\xe2\x80\x8bpal", "pay" FFFD "pal"));
    CHECK(HTML_IS("\xef\xbb\xbf\x62om", FFFD "bom"));
    CHECK(HTML_IS("\xe2\x81\xa6iso\xe2\x81\xa9", FFFD "iso" FFFD));
    CHECK(HTML_IS("\xd8\x9c", FFFD));
    CHECK(HTML_IS("\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xaa\xe2\x80\xab"
                  "\xe2\x80\xac\xe2\x80\xad\xe2\x81\xa7\xe2\x81\xa8"
                  "\xe2\x81\xa0\xe2\x81\xa4\xe2\x80\x8c\xe2\x80\x8d",
                  FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD
                  FFFD));

    /* neighbours of the refused ranges are kept */

    CHECK(HTML_IS("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    CHECK(HTML_IS("\xe2\x80\x90\xe2\x80\xa7\xe2\x80\xaf\xe2\x80\xa8",
                  "\xe2\x80\x90\xe2\x80\xa7\xe2\x80\xaf" FFFD));
    CHECK(HTML_IS("\xe2\x80\x8a\xe2\x81\xaa\xef\xbb\xbe",
                  "\xe2\x80\x8a\xe2\x81\xaa\xef\xbb\xbe"));
    CHECK(HTML_IS("\xc2\x85\xc2\x9f\xc2\xa0", FFFD FFFD "\xc2\xa0"));
    CHECK(HTML_IS("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"));
    CHECK(HTML_IS(FFFD, FFFD));

    /* ill-formed UTF-8: one U+FFFD per maximal subpart */

    CHECK(HTML_IS("\xc0\xaf", FFFD FFFD));
    CHECK(HTML_IS("\xed\xa0\x80", FFFD FFFD FFFD));
    CHECK(HTML_IS("\xe2\x82", FFFD));
    CHECK(HTML_IS("\xe2\x82\x41", FFFD "A"));
    CHECK(HTML_IS("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD));
    CHECK(HTML_IS("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD));
    CHECK(HTML_IS("\xe0\x9f\xbf", FFFD FFFD FFFD));
    CHECK(HTML_IS("\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD));
    CHECK(HTML_IS("\xff\xfe", FFFD FFFD));
    CHECK(HTML_IS("\x80\xbf", FFFD FFFD));
    CHECK(HTML_IS("\xf0\x9f\x98", FFFD));
    CHECK(HTML_IS("\xf0\x9f\x98\x41\xe2", FFFD "A" FFFD));
    CHECK(HTML_IS("\xe2\x82<", FFFD "&lt;"));

    /* controls */

    CHECK(HTML_IS("a\0b\x01\x63\x7f\x64", "a" FFFD "b" FFFD "c" FFFD "d"));
    CHECK(HTML_IS("line1\r\nline2\tx", "line1  line2 x"));

    /* the documented bound: 6 bytes out per byte in */

    CHECK(ngx_http_imprest_html_escape(NULL, S("\"\"\"")) == 18);

    /*
     * Random bytes: the output is well-formed UTF-8 without markup
     * characters or controls, every "&" starts one of the five entities,
     * and it fits 6 * len.
     */

    for (i = 0; i < TEST_RANDOM; i++) {
        len = (size_t) rand() % 64;
        src = alloc_exact(len);

        for (j = 0; j < len; j++) {
            src[j] = (unsigned char) ((rand() % 4) ? 0x80 + rand() % 0x80
                                                   : rand() % 0x80);
        }

        n = ngx_http_imprest_html_escape(NULL, src, len);
        dst = alloc_exact(n);

        CHECK_MSG(ngx_http_imprest_html_escape(dst, src, len) == n
                  && n <= 6 * len && utf8_valid(dst, n),
                  "round %zu", i);

        for (j = 0; j < n; j++) {
            if (dst[j] == '&') {
                CHECK_MSG((n - j >= 5 && memcmp(dst + j, "&amp;", 5) == 0)
                          || (n - j >= 4 && memcmp(dst + j, "&lt;", 4) == 0)
                          || (n - j >= 4 && memcmp(dst + j, "&gt;", 4) == 0)
                          || (n - j >= 6
                              && memcmp(dst + j, "&quot;", 6) == 0)
                          || (n - j >= 5
                              && memcmp(dst + j, "&#39;", 5) == 0),
                          "round %zu", i);
            }

            CHECK_MSG(dst[j] >= 0x20 && dst[j] != 0x7f && dst[j] != '<'
                      && dst[j] != '>' && dst[j] != '"' && dst[j] != '\'',
                      "round %zu", i);
        }

        free(dst);
        free(src);
    }
}


static int
scope_valid(const char *s, size_t len)
{
    int             rc;
    unsigned char  *p;

    p = dup_exact(U(s), len);
    rc = ngx_http_imprest_scope_valid(p, len);
    free(p);

    return rc;
}

#define SCOPE_VALID(lit)  scope_valid(lit, sizeof(lit) - 1)


static int
subset(const char *sub, const char *set)
{
    int             rc;
    unsigned char  *a, *b;

    a = dup_exact(U(sub), strlen(sub));
    b = dup_exact(U(set), strlen(set));
    rc = ngx_http_imprest_scope_subset(a, strlen(sub), b, strlen(set));
    free(b);
    free(a);

    return rc;
}


static void
test_scope(void)
{
    size_t          i, n;
    unsigned char   c[1];
    unsigned char  *big;

    CHECK(SCOPE_VALID("read"));
    CHECK(SCOPE_VALID("read write"));
    CHECK(SCOPE_VALID("money_in money_out"));
    CHECK(SCOPE_VALID("!"));
    CHECK(SCOPE_VALID("a#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"));
    CHECK(SCOPE_VALID("read read"));

    CHECK(!SCOPE_VALID(""));
    CHECK(!SCOPE_VALID(" "));
    CHECK(!SCOPE_VALID("read  write"));
    CHECK(!SCOPE_VALID(" read"));
    CHECK(!SCOPE_VALID("read "));
    CHECK(!SCOPE_VALID("read\twrite"));
    CHECK(!SCOPE_VALID("read\nwrite"));
    CHECK(!SCOPE_VALID("re\"ad"));
    CHECK(!SCOPE_VALID("re\\ad"));
    CHECK(!SCOPE_VALID("read\0"));
    CHECK(!SCOPE_VALID("r\xc3\xa9\x61\x64"));
    CHECK(!SCOPE_VALID("read\x7f"));
    CHECK(!ngx_http_imprest_scope_valid(NULL, 0));

    /* RFC 6749, A.4: NQCHAR is %x21 / %x23-5B / %x5D-7E */

    for (i = 0; i < 256; i++) {
        c[0] = (unsigned char) i;
        CHECK_MSG(scope_valid((char *) c, 1)
                  == (i == 0x21 || (i >= 0x23 && i <= 0x5b)
                      || (i >= 0x5d && i <= 0x7e)),
                  "byte 0x%02zx", i);
    }

    CHECK(subset("read", "read write"));
    CHECK(subset("write read", "read write"));
    CHECK(subset("read write", "read write"));
    CHECK(subset("read read", "read"));
    CHECK(subset("money_in", "money_in money_out"));

    CHECK(!subset("read admin", "read write"));
    CHECK(!subset("admin", "read write"));
    CHECK(!subset("READ", "read"));
    CHECK(!subset("rea", "read"));
    CHECK(!subset("read", "readonly unread READ"));
    CHECK(!subset("read", "rea d"));
    CHECK(!subset("read write", "read"));
    CHECK(!subset("", "read"));
    CHECK(!subset(" ", "read"));
    CHECK(!subset("read", ""));
    CHECK(!ngx_http_imprest_scope_subset(NULL, 0, U("read"), 4));

    /* 10 000 tokens, the last one not granted */

    n = 10000 * 5;
    big = alloc_exact(n);

    for (i = 0; i < n; i += 5) {
        memcpy(big + i, "read ", 5);
    }

    memcpy(big + n - 5, "admin", 5);

    CHECK(ngx_http_imprest_scope_valid(big, n));
    CHECK(!ngx_http_imprest_scope_valid(big, n - 5));
    CHECK(ngx_http_imprest_scope_valid(big, n - 6));
    CHECK(!ngx_http_imprest_scope_subset(big, n, U("read"), 4));
    CHECK(ngx_http_imprest_scope_subset(big, n, U("read admin"), 10));
    CHECK(ngx_http_imprest_scope_subset(big, n - 6, U("read"), 4));

    free(big);
}


/*
 * Random input for the parsers: nothing but ASan and UBSan reports and
 * the invariants of their outputs.
 */

static void
test_random(void)
{
    size_t          i, j, len, total;
    const char     *alphabet;
    test_form_t     f;
    test_basic_t    b;
    unsigned char  *s;

    alphabet = "%&=+aZ09Gg.:/?#@\\[]*\x80\xff\0\r ";

    for (i = 0; i < TEST_RANDOM; i++) {
        len = (size_t) rand() % 48;
        s = alloc_exact(len);

        for (j = 0; j < len; j++) {
            s[j] = (unsigned char) ((rand() % 3)
                                    ? alphabet[rand() % 26]
                                    : rand() % 256);
        }

        form_parse(&f, s, len, 4);

        if (f.rc == NGX_HTTP_IMPREST_FORM_OK) {
            total = 0;

            for (j = 0; j < f.n; j++) {
                total += f.params[j].name_len + f.params[j].value_len;
            }

            CHECK_MSG(f.n <= 4 && total <= len, "round %zu", i);

        } else {
            CHECK_MSG(f.n == 0, "round %zu", i);
        }

        form_free(&f);

        (void) ngx_http_imprest_redirect_uri_register_check(s, len);
        (void) ngx_http_imprest_redirect_uri_match(s, len, s, len);
        (void) ngx_http_imprest_redirect_uri_match(
                                       U("http://127.0.0.1/cb"), 19, s, len);
        (void) ngx_http_imprest_scope_valid(s, len);
        (void) ngx_http_imprest_scope_subset(s, len, s, len);
        (void) ngx_http_imprest_pkce_challenge_valid(s, len);

        basic(&b, (char *) s, len);
        CHECK_MSG(b.rc != 0 || (b.id_len > 0 && b.id_len <= len
                                && b.secret_len <= len),
                  "round %zu", i);
        basic_free(&b);

        free(s);
    }
}


static int
origin_is(const char *uri, const char *want)
{
    size_t          n, len;
    unsigned char  *in, *out;

    len = strlen(uri);
    in = dup_exact((const unsigned char *) uri, len);
    out = alloc_exact(len);

    n = ngx_http_imprest_uri_origin(NULL, in, len);

    if (n != ngx_http_imprest_uri_origin(out, in, len)
        || n != strlen(want) || memcmp(out, want, n) != 0)
    {
        printf("origin of \"%s\": \"%.*s\", want \"%s\"\n",
               uri, (int) n, out, want);
        n = (size_t) -1;
    }

    free(in);
    free(out);

    return n != (size_t) -1;
}


/* RFC 6454, 4: what the Origin check and the consent CSP compare */

static void
test_origin(void)
{
    CHECK(origin_is("https://auth.example.com",
                    "https://auth.example.com"));
    CHECK(origin_is("https://auth.example.com/oauth",
                    "https://auth.example.com"));
    CHECK(origin_is("HTTPS://Auth.Example.COM/x", "https://auth.example.com"));
    CHECK(origin_is("https://a.example:8443/cb?x=1", "https://a.example:8443"));
    CHECK(origin_is("https://a.example:443/cb", "https://a.example"));
    CHECK(origin_is("http://127.0.0.1:80/cb", "http://127.0.0.1"));
    CHECK(origin_is("http://127.0.0.1:443/cb", "http://127.0.0.1:443"));
    CHECK(origin_is("https://a.example:80/cb", "https://a.example:80"));
    CHECK(origin_is("http://127.0.0.1:51234/cb", "http://127.0.0.1:51234"));
    CHECK(origin_is("http://[::1]:8080/cb", "http://[::1]:8080"));
    CHECK(origin_is("http://[::1]/cb", "http://[::1]"));
    CHECK(origin_is("https://a.example#f", "https://a.example"));
    CHECK(origin_is("com.example.app:/cb", "com.example.app:"));
    /* nothing that could break out of a header or a CSP source list */
    CHECK(origin_is("https://a.example;script-src/cb", ""));
    CHECK(origin_is("https://a example/cb", ""));
    CHECK(origin_is("https://a.example,evil/cb", ""));
    CHECK(origin_is("https://a'b/cb", ""));
    CHECK(origin_is("https:///cb", ""));
    CHECK(origin_is("https:/a.example", ""));
    CHECK(origin_is("https://a.example:/cb", ""));
    CHECK(origin_is("https://u@a.example/cb", ""));
    CHECK(origin_is("noscheme", ""));
    CHECK(origin_is(":x", ""));
    CHECK(origin_is("", ""));
}


static int
scope_set_is(const char *in, const char *want)
{
    size_t          n, len;
    unsigned char  *src, *dst;

    len = strlen(in);
    src = dup_exact((const unsigned char *) in, len);
    dst = alloc_exact(len);

    n = ngx_http_imprest_scope_set(dst, src, len);

    if (n != strlen(want) || memcmp(dst, want, n) != 0) {
        printf("scope set of \"%.60s\": \"%.*s\", want \"%s\"\n",
               in, (int) n, dst, want);
        n = (size_t) -1;
    }

    free(src);
    free(dst);

    return n != (size_t) -1;
}


static void
test_scope_set(void)
{
    size_t  i;
    char    big[NGX_HTTP_IMPREST_SCOPE_MAX_LEN + 16];

    CHECK(scope_set_is("a", "a"));
    CHECK(scope_set_is("a b", "a b"));
    CHECK(scope_set_is("a a", "a"));
    CHECK(scope_set_is("b a b a c", "b a c"));
    CHECK(scope_set_is("money_in money_in money_in", "money_in"));
    CHECK(scope_set_is("ab a ab", "ab a"));
    CHECK(scope_set_is("A a", "A a"));          /* case-sensitive */
    CHECK(scope_set_is("", ""));
    CHECK(scope_set_is("a  b", ""));
    CHECK(scope_set_is(" a", ""));
    CHECK(scope_set_is("a ", ""));

    /* 256 tokens pass, however many repeat; 257 do not */
    for (i = 0; i < 256; i++) {
        memcpy(big + 2 * i, "x ", 2);
    }

    big[2 * 256 - 1] = '\0';
    CHECK(scope_set_is(big, "x"));

    big[2 * 256 - 1] = ' ';
    big[2 * 256] = 'x';
    big[2 * 256 + 1] = '\0';
    CHECK(scope_set_is(big, ""));

    /* the longest list passes, one byte more does not */
    memset(big, 'y', NGX_HTTP_IMPREST_SCOPE_MAX_LEN + 1);
    big[NGX_HTTP_IMPREST_SCOPE_MAX_LEN] = '\0';
    CHECK(scope_set_is(big, big));

    big[NGX_HTTP_IMPREST_SCOPE_MAX_LEN] = 'y';
    big[NGX_HTTP_IMPREST_SCOPE_MAX_LEN + 1] = '\0';
    CHECK(scope_set_is(big, ""));
}


int
main(void)
{
    srand(1);

    test_form_parse();
    test_form_get();
    test_url_encode();
    test_redirect_build();
    test_redirect_register();
    test_redirect_match();
    test_origin();
    test_pkce();
    test_basic();
    test_html_escape();
    test_scope();
    test_scope_set();
    test_random();

    printf("%lu passed, %lu failed\n", ngx_http_imprest_test_passed,
           ngx_http_imprest_test_failed);

    return ngx_http_imprest_test_failed ? 1 : 0;
}
