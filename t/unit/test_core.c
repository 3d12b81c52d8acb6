/*
 * Copyright (C) Imprest
 *
 * Unit tests of the nginx-free core.  No framework: CHECK() counts and
 * prints each failure as file:line; the last line is "N passed, M failed"
 * and the exit status is 1 when anything failed.  Built with ASan and
 * UBSan by "make unit"; inputs are copied into buffers of exactly their
 * length so that any read past the end is reported.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_imprest_core.h"


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


#define TEST_TOKENS  10000
#define TEST_UUIDS   1000


/* RFC 4648, 10, in the unpadded base64url form */
static const char  *b64url_vectors[][2] = {
    { "", "" },
    { "f", "Zg" },
    { "fo", "Zm8" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg" },
    { "fooba", "Zm9vYmE" },
    { "foobar", "Zm9vYmFy" },
    { "\xfb\xff", "-_8" },
    { "\xff\xff\xbe", "__--" }
};

/*
 * Tokens computed by an independent implementation (Python hashlib and
 * base64): "imp_at_" + b64url(bytes 0..31) + b64url(sha256(...)[:4]), and
 * the same for "rt" with 32 bytes of 0xff.
 */
static const char  *known_at =
    "imp_at_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh88ZP6RA";
static const char  *known_rt =
    "imp_rt___________________________________________8wp5JUg";

/*
 * The rt body above with non-zero unused bits in its last character, each
 * with a correct checksum (same independent implementation): a decoder
 * that ignores those bits would take them for the same secret.
 */
static const char  *noncanonical_rt[] = {
    "imp_rt___________________________________________925oBzg",
    "imp_rt___________________________________________-zhvEjA",
    "imp_rt____________________________________________rBv_vA"
};

/*
 * 56 characters whose last 6 are the correct checksum of the first 50,
 * yet not of the token shape checked as "at": the shape is checked for
 * itself, not only through the checksum.
 */
static const char  *crafted_at[] = {
    "imp-at_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8hbIyoQ",
    "imp_at-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8PErmCQ",
    "Imp_at_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh875taww",
    "imp_ax_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8Z3HKaw",
    "imp_xt_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8MNoEyQ",
    "imp_at_AAECAwQFBgcICQoLDA0O.xAREhMUFRYXGBkaGxwdHh8VkeYfg",
    "imp_at_AAECAwQFBgcICQoLDA0O~xAREhMUFRYXGBkaGxwdHh8J5jd0g",
    "imp_at_AAECAwQFBgcICQoLDA0O+xAREhMUFRYXGBkaGxwdHh8GFZvYw",
    "imp_at_AAECAwQFBgcICQoLDA0O/xAREhMUFRYXGBkaGxwdHh8TD2xKA",
    "imp_at_AAECAwQFBgcICQoLDA0O=xAREhMUFRYXGBkaGxwdHh8inulpw",
    "imp_at_AAECAwQFBgcICQoLDA0O xAREhMUFRYXGBkaGxwdHh81xBTww",
    "imp_at_AAECAwQFBgcICQoLDA0O*xAREhMUFRYXGBkaGxwdHh8KWK7RA"
};

static const char  *types[] = { "at", "rt", "ac", "cs" };


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


static int
token_check_exact(const char *type, const unsigned char *tok, size_t len)
{
    int             rc;
    unsigned char  *p;

    p = dup_exact(tok, len);
    rc = ngx_http_imprest_token_check(type, p, len);
    free(p);

    return rc;
}


/*
 * Test oracles, not module code: a strict base64url decoder (RFC 4648 5,
 * no padding, canonical unused bits) to check the encoder by round trip,
 * and RFC 6750 2.1's b64token to check what the generator makes.
 */

static unsigned char  b64url_value[256];


static void
b64url_init(void)
{
    size_t       i;
    const char  *abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    memset(b64url_value, 0xff, sizeof(b64url_value));

    for (i = 0; i < 64; i++) {
        b64url_value[(unsigned char) abc[i]] = (unsigned char) i;
    }
}


static int
b64url_decode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t *dlen)
{
    size_t          i;
    unsigned char   v[4];
    unsigned char  *d;

    /* RFC 4648, 5 without padding; a lone trailing character is 6 bits */

    if (len % 4 == 1) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (b64url_value[src[i]] == 0xff) {
            return -1;
        }
    }

    /* RFC 4648, 3.5: the unused bits of the last character must be zero */

    if (len % 4 == 2
        && (b64url_value[src[len - 1]] & 0x0f))
    {
        return -1;
    }

    if (len % 4 == 3
        && (b64url_value[src[len - 1]] & 0x03))
    {
        return -1;
    }

    d = dst;

    while (len > 3) {
        for (i = 0; i < 4; i++) {
            v[i] = b64url_value[src[i]];
        }

        *d++ = (unsigned char) (v[0] << 2 | v[1] >> 4);
        *d++ = (unsigned char) (v[1] << 4 | v[2] >> 2);
        *d++ = (unsigned char) (v[2] << 6 | v[3]);

        src += 4;
        len -= 4;
    }

    if (len > 1) {
        v[0] = b64url_value[src[0]];
        v[1] = b64url_value[src[1]];

        *d++ = (unsigned char) (v[0] << 2 | v[1] >> 4);

        if (len == 3) {
            v[2] = b64url_value[src[2]];
            *d++ = (unsigned char) (v[1] << 4 | v[2] >> 2);
        }
    }

    *dlen = (size_t) (d - dst);

    return 0;
}


static int
is_b64token(const unsigned char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    /* RFC 6750, 2.1: at least one character before any "=" */

    n = 0;

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~'
            || c == '+' || c == '/')
        {
            n++;
            continue;
        }

        break;
    }

    if (n == 0) {
        return 0;
    }

    for ( /* void */ ; i < len; i++) {
        if (s[i] != '=') {
            return 0;
        }
    }

    return 1;
}


static int
b64token_exact(const unsigned char *s, size_t len)
{
    int             rc;
    unsigned char  *p;

    p = dup_exact(s, len);
    rc = is_b64token(p, len);
    free(p);

    return rc;
}


static int
uuid_exact(const unsigned char *s, size_t len, unsigned char *out)
{
    int             rc;
    unsigned char  *p;

    p = dup_exact(s, len);
    rc = ngx_http_imprest_uuid_canonical(p, len, out);
    free(p);

    return rc;
}


static int
scope_exact(const char *list, const char *want)
{
    int             rc;
    size_t          len, wlen;
    unsigned char  *l, *w;

    len = strlen(list);
    wlen = strlen(want);

    l = dup_exact((const unsigned char *) list, len);
    w = dup_exact((const unsigned char *) want, wlen);
    rc = ngx_http_imprest_scope_has(l, len, w, wlen);
    free(l);
    free(w);

    return rc;
}


static int
id_exact(const unsigned char *s, size_t len)
{
    int             rc;
    unsigned char  *p;

    p = dup_exact(s, len);
    rc = ngx_http_imprest_id_valid(p, len);
    free(p);

    return rc;
}


static int
cmp_token(const void *a, const void *b)
{
    return memcmp(a, b, NGX_HTTP_IMPREST_TOKEN_LEN);
}


static int
cmp_uuid(const void *a, const void *b)
{
    return memcmp(a, b, NGX_HTTP_IMPREST_UUID_LEN);
}


static int
is_b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}


static void
test_digest(void)
{
    size_t         n;
    unsigned char  hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN + 1];
    unsigned char  raw[NGX_HTTP_IMPREST_DIGEST_LEN];
    unsigned char  b64[64];

    /* FIPS 180-2, B.1 */
    memset(hex, 'x', sizeof(hex));
    CHECK(ngx_http_imprest_digest_hex(S("abc"), hex) == 0);
    CHECK(memcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                      "b00361a396177a9cb410ff61f20015ad", 64) == 0);
    CHECK(hex[64] == 'x');

    CHECK(ngx_http_imprest_digest_hex((const unsigned char *) "", 0, hex)
          == 0);
    CHECK(memcmp(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                      "27ae41e4649b934ca495991b7852b855", 64) == 0);

    CHECK(ngx_http_imprest_digest(S("abc"), raw) == 0);
    CHECK(raw[0] == 0xba && raw[1] == 0x78 && raw[31] == 0xad);

    /* RFC 7636, Appendix B: S256 of the verifier is the challenge */
    CHECK(ngx_http_imprest_digest(
              S("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), raw) == 0);
    n = ngx_http_imprest_base64url_encode(raw, sizeof(raw), b64);
    CHECK(n == 43);
    CHECK(memcmp(b64, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", 43)
          == 0);

    /* and a wrong verifier does not give it */
    CHECK(ngx_http_imprest_digest(
              S("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"), raw) == 0);
    n = ngx_http_imprest_base64url_encode(raw, sizeof(raw), b64);
    CHECK(memcmp(b64, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", 43)
          != 0);

    /*
     * what nginx's exit hooks call (exit_process, then exit_master in a
     * single process): twice is harmless, and a later digest is made anew
     * (under ASan a stale context would be a use after free)
     */
    ngx_http_imprest_digest_free();
    ngx_http_imprest_digest_free();
    memset(hex, 'x', sizeof(hex));
    CHECK(ngx_http_imprest_digest_hex(S("abc"), hex) == 0);
    CHECK(memcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                      "b00361a396177a9cb410ff61f20015ad", 64) == 0);
    ngx_http_imprest_digest_free();
}


static void
test_base64url(void)
{
    size_t          i, j, n, len, dlen;
    const char     *src, *enc;
    unsigned char   buf[128], dec[128], rnd[64], *p;

    for (i = 0; i < sizeof(b64url_vectors) / sizeof(b64url_vectors[0]);
         i++)
    {
        src = b64url_vectors[i][0];
        enc = b64url_vectors[i][1];
        len = strlen(enc);

        n = ngx_http_imprest_base64url_encode((const unsigned char *) src,
                                              strlen(src), buf);
        CHECK_MSG(n == len && memcmp(buf, enc, n) == 0, "encode %s", enc);

        p = dup_exact((const unsigned char *) enc, len);
        dlen = 999;
        CHECK_MSG(b64url_decode(p, len, dec, &dlen) == 0
                  && dlen == strlen(src) && memcmp(dec, src, dlen) == 0,
                  "decode %s", enc);
        free(p);
    }

    /* round trip of every length up to 64 */
    for (len = 0; len <= sizeof(rnd); len++) {
        for (j = 0; j < len; j++) {
            rnd[j] = (unsigned char) (rand() & 0xff);
        }

        n = ngx_http_imprest_base64url_encode(rnd, len, buf);
        CHECK_MSG(n == (len * 4 + 2) / 3, "length %zu", len);

        for (j = 0; j < n; j++) {
            if (!is_b64url_char(buf[j])) {
                break;
            }
        }
        CHECK_MSG(j == n, "charset, length %zu", len);

        p = dup_exact(buf, n);
        CHECK_MSG(b64url_decode(p, n, dec, &dlen) == 0
                  && dlen == len && memcmp(dec, rnd, len) == 0,
                  "round trip, length %zu", len);
        free(p);
    }

    /* no padding, no standard-alphabet characters, no 4n+1 lengths */
    CHECK(b64url_decode(S("Zg=="), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm+v"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm/v"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm 9"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm9\x80"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Z"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm9vY"), dec, &dlen) == -1);

    /* RFC 4648, 3.5: non-zero unused bits are not canonical */
    CHECK(b64url_decode(S("Zh"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm9"), dec, &dlen) == -1);
    CHECK(b64url_decode(S("Zm8"), dec, &dlen) == 0
          && dlen == 2);
}


static void
test_token_known(void)
{
    size_t          i, len;
    unsigned char   tok[NGX_HTTP_IMPREST_TOKEN_LEN];

    len = strlen(known_at);
    CHECK(len == NGX_HTTP_IMPREST_TOKEN_LEN);

    CHECK(token_check_exact("at", (const unsigned char *) known_at, len));
    CHECK(token_check_exact("rt", (const unsigned char *) known_rt, len));

    /* the type is part of both the prefix and the checksum */
    CHECK(!token_check_exact("rt", (const unsigned char *) known_at, len));
    CHECK(!token_check_exact("at", (const unsigned char *) known_rt, len));

    memcpy(tok, known_at, len);
    tok[4] = 'r';
    CHECK(!token_check_exact("rt", tok, len));

    /* bad expected types never match */
    CHECK(!token_check_exact(NULL, (const unsigned char *) known_at, len));
    CHECK(!token_check_exact("", (const unsigned char *) known_at, len));
    CHECK(!token_check_exact("a", (const unsigned char *) known_at, len));
    CHECK(!token_check_exact("att", (const unsigned char *) known_at, len));
    CHECK(!token_check_exact("AT", (const unsigned char *) known_at, len));

    /*
     * Non-canonical unused bits: "A" (0) at the end of the checksum
     * carries 4 unused bits, "8" (60) at the end of the rt body 2.
     */

    for (i = 1; i < 16; i++) {
        memcpy(tok, known_at, len);
        tok[len - 1] = "ABCDEFGHIJKLMNOP"[i];
        CHECK_MSG(!token_check_exact("at", tok, len), "checksum bits %zu", i);
    }

    for (i = 0; i < 3; i++) {
        CHECK_MSG(!token_check_exact("rt",
                      (const unsigned char *) noncanonical_rt[i], len),
                  "body bits %s", noncanonical_rt[i]);
    }

    for (i = 0; i < sizeof(crafted_at) / sizeof(crafted_at[0]); i++) {
        CHECK_MSG(strlen(crafted_at[i]) == len
                  && !token_check_exact("at",
                         (const unsigned char *) crafted_at[i], len),
                  "crafted %s", crafted_at[i]);
    }

    /* the checksum is checked, not only the shape */
    memcpy(tok, known_at, len);
    tok[len - 2] = tok[len - 2] == 'R' ? 'S' : 'R';
    CHECK(!token_check_exact("at", tok, len));
}


static void
test_token_flip(const char *type, const unsigned char *valid)
{
    int             bad;
    size_t          i;
    unsigned int    c;
    unsigned char   tok[NGX_HTTP_IMPREST_TOKEN_LEN];

    /* every other byte value at every position is rejected */

    for (i = 0; i < NGX_HTTP_IMPREST_TOKEN_LEN; i++) {
        bad = 0;

        for (c = 0; c < 256; c++) {
            if (c == valid[i]) {
                continue;
            }

            memcpy(tok, valid, NGX_HTTP_IMPREST_TOKEN_LEN);
            tok[i] = (unsigned char) c;

            if (ngx_http_imprest_token_check(type, tok,
                                             NGX_HTTP_IMPREST_TOKEN_LEN))
            {
                bad++;
            }
        }

        CHECK_MSG(bad == 0, "flip at %zu", i);
    }
}


static void
test_token_lengths(const unsigned char *valid)
{
    size_t          len;
    unsigned char   buf[300];

    /* a valid token followed by more base64url characters */
    memcpy(buf, valid, NGX_HTTP_IMPREST_TOKEN_LEN);
    memset(buf + NGX_HTTP_IMPREST_TOKEN_LEN, 'A',
           sizeof(buf) - NGX_HTTP_IMPREST_TOKEN_LEN);

    for (len = 0; len <= sizeof(buf); len++) {
        if (len == NGX_HTTP_IMPREST_TOKEN_LEN) {
            CHECK(token_check_exact("at", buf, len));
            continue;
        }

        CHECK_MSG(!token_check_exact("at", buf, len), "length %zu", len);
    }

    /* the token with its first character dropped, or one prepended */
    CHECK(!token_check_exact("at", valid + 1,
                             NGX_HTTP_IMPREST_TOKEN_LEN - 1));

    buf[0] = 'x';
    memcpy(buf + 1, valid, NGX_HTTP_IMPREST_TOKEN_LEN);
    CHECK(!token_check_exact("at", buf, NGX_HTTP_IMPREST_TOKEN_LEN + 1));
}


static void
test_token_generate(void)
{
    int             ok;
    size_t          i, j;
    unsigned char  *toks, *t, tok[NGX_HTTP_IMPREST_TOKEN_LEN + 1];

    toks = malloc((size_t) TEST_TOKENS * NGX_HTTP_IMPREST_TOKEN_LEN);
    if (toks == NULL) {
        perror("malloc");
        exit(2);
    }

    ok = 1;

    for (i = 0; i < TEST_TOKENS; i++) {
        t = toks + i * NGX_HTTP_IMPREST_TOKEN_LEN;

        if (ngx_http_imprest_token_generate("at", t) != 0) {
            ok = 0;
            break;
        }
    }

    CHECK(ok);

    /* all well-formed, in the b64token and VSCHAR sets */

    for (i = 0; ok && i < TEST_TOKENS; i++) {
        t = toks + i * NGX_HTTP_IMPREST_TOKEN_LEN;

        if (!ngx_http_imprest_token_check("at", t,
                                          NGX_HTTP_IMPREST_TOKEN_LEN)
            || !is_b64token(t, NGX_HTTP_IMPREST_TOKEN_LEN)
            || memcmp(t, "imp_at_", 7) != 0
            || ngx_http_imprest_token_check("rt", t,
                                            NGX_HTTP_IMPREST_TOKEN_LEN))
        {
            ok = 0;
            CHECK_MSG(0, "token %zu", i);
            break;
        }

        for (j = NGX_HTTP_IMPREST_TOKEN_PREFIX_LEN;
             j < NGX_HTTP_IMPREST_TOKEN_LEN;
             j++)
        {
            if (!is_b64url_char(t[j])) {
                ok = 0;
                CHECK_MSG(0, "token %zu charset", i);
                break;
            }
        }
    }

    CHECK(ok);

    /* all distinct */
    qsort(toks, TEST_TOKENS, NGX_HTTP_IMPREST_TOKEN_LEN, cmp_token);

    for (i = 1; i < TEST_TOKENS; i++) {
        if (cmp_token(toks + (i - 1) * NGX_HTTP_IMPREST_TOKEN_LEN,
                      toks + i * NGX_HTTP_IMPREST_TOKEN_LEN) == 0)
        {
            break;
        }
    }

    CHECK(i == TEST_TOKENS);

    test_token_flip("at", toks);
    test_token_lengths(toks);

    free(toks);

    /* every type, and no type accepts another's token */

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        memset(tok, 0, sizeof(tok));
        CHECK(ngx_http_imprest_token_generate(types[i], tok) == 0);
        CHECK(tok[4] == types[i][0] && tok[5] == types[i][1]);
        CHECK(tok[NGX_HTTP_IMPREST_TOKEN_LEN] == 0);

        for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
            CHECK_MSG(token_check_exact(types[j], tok,
                                        NGX_HTTP_IMPREST_TOKEN_LEN)
                      == (i == j), "%s", types[j]);
        }
    }

    CHECK(ngx_http_imprest_token_generate(NULL, tok) == -1);
    CHECK(ngx_http_imprest_token_generate("", tok) == -1);
    CHECK(ngx_http_imprest_token_generate("a", tok) == -1);
    CHECK(ngx_http_imprest_token_generate("abc", tok) == -1);
    CHECK(ngx_http_imprest_token_generate("AT", tok) == -1);
    CHECK(ngx_http_imprest_token_generate("a_", tok) == -1);
}


static void
test_b64token(void)
{
    unsigned int   c;
    unsigned char  s[3];

    /* RFC 6750, 2.1 */
    CHECK(b64token_exact(S("abc")));
    CHECK(b64token_exact(S("abc==")));
    CHECK(b64token_exact(S("a=")));
    CHECK(b64token_exact(S("x")));
    CHECK(b64token_exact(S("AZaz09-._~+/")));
    CHECK(b64token_exact((const unsigned char *) known_at,
                         strlen(known_at)));

    CHECK(!b64token_exact(S("")));
    CHECK(!b64token_exact(S("\"abc\"")));
    CHECK(!b64token_exact(S("a,b")));
    CHECK(!b64token_exact(S("a;b")));
    CHECK(!b64token_exact(S("a b")));
    CHECK(!b64token_exact(S("abc ")));
    CHECK(!b64token_exact(S(" abc")));
    CHECK(!b64token_exact(S("ab=cd")));
    CHECK(!b64token_exact(S("===")));
    CHECK(!b64token_exact(S("=")));
    CHECK(!b64token_exact(S("=abc")));
    CHECK(!b64token_exact(S("ab\x80")));
    CHECK(!b64token_exact(S("\xc3\xa9")));
    CHECK(!b64token_exact(S("a\tb")));
    CHECK(!b64token_exact(S("a\0b")));
    CHECK(!b64token_exact(S("a==b")));

    /* exactly 66 bytes may follow a first character, and "=" ends it */
    for (c = 0; c < 256; c++) {
        s[0] = 'a';
        s[1] = (unsigned char) c;
        s[2] = 'b';

        CHECK_MSG(b64token_exact(s, 3)
                  == (is_b64url_char((unsigned char) c) || c == '.'
                      || c == '~' || c == '+' || c == '/'),
                  "byte 0x%02x", c);
    }
}


static void
test_uuid(void)
{
    size_t          i, j;
    unsigned int    c;
    unsigned char   out[NGX_HTTP_IMPREST_UUID_LEN], s[40];
    unsigned char  *u;

    static const char  *lower = "123e4567-e89b-12d3-a456-426614174000";
    static const char  *bad[] = {
        "123e4567-e89b-12d3-a456-42661417400",          /* 35 */
        "123e4567-e89b-12d3-a456-4266141740000",        /* 37 */
        "{123e4567-e89b-12d3-a456-426614174000}",
        "{123e4567-e89b-12d3-a456-4266141740}",         /* braces, 36 */
        "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
        "123e4567e89b12d3a456426614174000",
        "123e4567e-89b-12d3-a456-426614174000",         /* shifted hyphen */
        "123e4567-e89b-12d3-a456_426614174000",
        "123e4567 e89b 12d3 a456 426614174000",
        "123e4567-e89b-12d3-a456-42661417400 ",
        " 23e4567-e89b-12d3-a456-426614174000",
        "123e 567-e89b-12d3-a456-426614174000",
        "123e4567-e89b-12d3-a456-4266141740g0",
        "123e4567-e89b-12d3-a456-42661417400\n",
        "123e4567-e89b-12d3-a456-+26614174000",
        "0x3e4567-e89b-12d3-a456-426614174000",
        /* fullwidth "１" (U+FF11) in place of three hex digits: 36 bytes */
        "\xef\xbc\x91" "e4567-e89b-12d3-a456-426614174000",
        "123e4567-e89b-12d3-a456-4266141740\xef\xbc\x90",
        ""
    };

    CHECK(uuid_exact((const unsigned char *) lower, 36, out) == 1);
    CHECK(memcmp(out, lower, 36) == 0);

    memset(out, 0, sizeof(out));
    CHECK(uuid_exact(S("123E4567-E89B-12D3-A456-426614174000"), out) == 1);
    CHECK(memcmp(out, lower, 36) == 0);

    CHECK(uuid_exact(S("ABCDEFAB-CDEF-ABCD-EFAB-CDEFABCDEF01"), out) == 1);
    CHECK(memcmp(out, "abcdefab-cdef-abcd-efab-cdefabcdef01", 36) == 0);

    CHECK(uuid_exact(S("00000000-0000-0000-0000-000000000000"), out) == 1);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(out, 'z', sizeof(out));
        CHECK_MSG(uuid_exact((const unsigned char *) bad[i], strlen(bad[i]),
                             out) == 0, "%s", bad[i]);

        /* nothing written on failure */
        for (j = 0; j < sizeof(out); j++) {
            if (out[j] != 'z') {
                break;
            }
        }
        CHECK_MSG(j == sizeof(out), "out touched by %s", bad[i]);
    }

    /* only hex digits at a digit position, only "-" at a hyphen's */
    for (c = 0; c < 256; c++) {
        memcpy(s, lower, 36);
        s[0] = (unsigned char) c;
        CHECK_MSG(uuid_exact(s, 36, out)
                  == ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                      || (c >= 'A' && c <= 'F')),
                  "byte 0x%02x", c);

        memcpy(s, lower, 36);
        s[23] = (unsigned char) c;
        CHECK_MSG(uuid_exact(s, 36, out) == (c == '-'), "hyphen 0x%02x", c);
    }

    /* generated v4 UUIDs: canonical, version 4, variant 10, distinct */

    u = malloc((size_t) TEST_UUIDS * NGX_HTTP_IMPREST_UUID_LEN);
    if (u == NULL) {
        perror("malloc");
        exit(2);
    }

    for (i = 0; i < TEST_UUIDS; i++) {
        s[36] = 'z';
        if (ngx_http_imprest_uuid_v4(s) != 0
            || s[36] != 'z'
            || uuid_exact(s, 36, out) != 1
            || memcmp(out, s, 36) != 0
            || s[14] != '4'
            || strchr("89ab", s[19]) == NULL)
        {
            CHECK_MSG(0, "uuid %zu", i);
            break;
        }

        memcpy(u + i * NGX_HTTP_IMPREST_UUID_LEN, s, 36);
    }

    CHECK(i == TEST_UUIDS);

    qsort(u, TEST_UUIDS, NGX_HTTP_IMPREST_UUID_LEN, cmp_uuid);

    for (i = 1; i < TEST_UUIDS; i++) {
        if (cmp_uuid(u + (i - 1) * NGX_HTTP_IMPREST_UUID_LEN,
                     u + i * NGX_HTTP_IMPREST_UUID_LEN) == 0)
        {
            break;
        }
    }

    CHECK(i == TEST_UUIDS);

    free(u);
}


static void
test_scope(void)
{
    /* RFC 6749, 3.3: space-delimited, case-sensitive, whole tokens */
    CHECK(!scope_exact("readonly unread READ", "read"));
    CHECK(scope_exact("readonly unread READ", "READ"));
    CHECK(scope_exact("readonly unread READ", "unread"));
    CHECK(scope_exact("read", "read"));
    CHECK(scope_exact("read write", "read"));
    CHECK(scope_exact("read write", "write"));
    CHECK(scope_exact("a b read", "read"));
    CHECK(scope_exact("  read  ", "read"));
    CHECK(scope_exact("write  read", "read"));

    CHECK(!scope_exact("", "read"));
    CHECK(!scope_exact("   ", "read"));
    CHECK(!scope_exact("read", ""));
    CHECK(!scope_exact("read write", " "));
    CHECK(!scope_exact("read write", "read write"));
    CHECK(!scope_exact("reads", "read"));
    CHECK(!scope_exact("rea", "read"));
    CHECK(!scope_exact("xread", "read"));
    CHECK(!scope_exact("Read", "read"));
    CHECK(!scope_exact("read\twrite", "read"));
    CHECK(!scope_exact("read,write", "read"));

    /* the list length is honoured */
    CHECK(ngx_http_imprest_scope_has(S("readx"), S("read")) == 0);
    CHECK(ngx_http_imprest_scope_has((const unsigned char *) "readx", 4,
                                     S("read")) == 1);
    CHECK(ngx_http_imprest_scope_has((const unsigned char *) "read", 3,
                                     S("read")) == 0);
}


static void
test_id(void)
{
    unsigned int   c;
    unsigned char  s[130];

    CHECK(id_exact(S("alice")));
    CHECK(id_exact(S("a")));
    CHECK(id_exact(S("Alice.Smith_01@example-corp.com")));
    CHECK(id_exact(S("client-42")));

    memset(s, 'a', sizeof(s));
    CHECK(id_exact(s, 128));
    CHECK(!id_exact(s, 129));
    CHECK(!id_exact(s, 0));

    CHECK(!id_exact(S("a b")));
    CHECK(!id_exact(S("a:b")));
    CHECK(!id_exact(S("a*")));
    CHECK(!id_exact(S("a/b")));
    CHECK(!id_exact(S("{a}")));
    CHECK(!id_exact(S("a\nb")));
    CHECK(!id_exact(S("a\0b")));
    CHECK(!id_exact(S("\xc3\xa4")));

    for (c = 0; c < 256; c++) {
        s[0] = 'x';
        s[1] = (unsigned char) c;

        CHECK_MSG(id_exact(s, 2)
                  == ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                      || (c >= '0' && c <= '9') || c == '.' || c == '_'
                      || c == '@' || c == '-'),
                  "byte 0x%02x", c);
    }
}


static void
test_const_eq(void)
{
#define U(lit)  (const unsigned char *) (lit)

    CHECK(ngx_http_imprest_const_eq(U("secret"), U("secret"), 6));
    CHECK(!ngx_http_imprest_const_eq(U("secret"), U("Secret"), 6));
    CHECK(!ngx_http_imprest_const_eq(U("secret"), U("secreT"), 6));
    CHECK(!ngx_http_imprest_const_eq(U("\x00\x01"), U("\x00\x02"), 2));
    CHECK(ngx_http_imprest_const_eq(U("secret"), U("secreT"), 5));
    CHECK(ngx_http_imprest_const_eq(U("a"), U("b"), 0));

#undef U
}


static void
test_bearer(void)
{
    size_t                len;
    const unsigned char  *tok, *v;

#define B(lit)  ngx_http_imprest_bearer_parse(S(lit), &tok, &len)

    CHECK(B("Bearer abc") == NGX_HTTP_IMPREST_BEARER_OK && len == 3
          && memcmp(tok, "abc", 3) == 0);
    CHECK(B("bEARER    abc") == NGX_HTTP_IMPREST_BEARER_OK && len == 3);
    CHECK(B("Bearer ") == NGX_HTTP_IMPREST_BEARER_OK && len == 0);
    CHECK(B("Bearer a b") == NGX_HTTP_IMPREST_BEARER_OK && len == 3);
    CHECK(B("Bearer") == NGX_HTTP_IMPREST_BEARER_MALFORMED);
    CHECK(B("Bearer\tabc") == NGX_HTTP_IMPREST_BEARER_MALFORMED);
    CHECK(B("Bearers abc") == NGX_HTTP_IMPREST_BEARER_DECLINED);
    CHECK(B("Basic YTpi") == NGX_HTTP_IMPREST_BEARER_DECLINED);
    CHECK(B("Beare") == NGX_HTTP_IMPREST_BEARER_DECLINED);
    CHECK(B("") == NGX_HTTP_IMPREST_BEARER_DECLINED);
    CHECK(B("Bearer\000abc") == NGX_HTTP_IMPREST_BEARER_DECLINED);

    v = (const unsigned char *) "Bearer  x";
    CHECK(ngx_http_imprest_bearer_parse(v, 9, &tok, &len)
          == NGX_HTTP_IMPREST_BEARER_OK && tok == v + 8 && len == 1);

#undef B
}


int
main(void)
{
    srand(1);

    b64url_init();

    test_digest();
    test_base64url();
    test_token_known();
    test_token_generate();
    test_b64token();
    test_uuid();
    test_scope();
    test_id();
    test_const_eq();
    test_bearer();

    printf("%lu passed, %lu failed\n", ngx_http_imprest_test_passed,
           ngx_http_imprest_test_failed);

    return ngx_http_imprest_test_failed ? 1 : 0;
}
