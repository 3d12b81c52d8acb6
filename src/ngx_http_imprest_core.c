/*
 * Copyright (C) Imprest
 *
 * nginx-free core: token format, digests, identifiers.  libc and OpenSSL
 * libcrypto only, so that the module, imprestctl and the unit tests run
 * exactly the same code.
 */


#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_core.h"


#define NGX_HTTP_IMPREST_TOKEN_BODY_LEN   43
#define NGX_HTTP_IMPREST_TOKEN_CHECK_LEN  6
#define NGX_HTTP_IMPREST_TOKEN_CHECK_BYTES 4
#define NGX_HTTP_IMPREST_TOKEN_SIGNED_LEN                                     \
    (NGX_HTTP_IMPREST_TOKEN_PREFIX_LEN + NGX_HTTP_IMPREST_TOKEN_BODY_LEN)


static int ngx_http_imprest_token_type_valid(const char *type);


static const unsigned char  ngx_http_imprest_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const unsigned char  ngx_http_imprest_hex[] = "0123456789abcdef";


/*
 * Value of a base64url character, or 0xff.  A table rather than a chain of
 * comparisons: token_check runs on every request before any Redis I/O.
 */
static const unsigned char  ngx_http_imprest_b64url_value[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   /*  !"#$%&' */
    0xff, 0xff, 0xff, 0xff, 0xff, 62,   0xff, 0xff,   /* ()*+,-./ */
    52,   53,   54,   55,   56,   57,   58,   59,     /* 01234567 */
    60,   61,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   /* 89:;<=>? */
    0xff, 0,    1,    2,    3,    4,    5,    6,      /* @ABCDEFG */
    7,    8,    9,    10,   11,   12,   13,   14,     /* HIJKLMNO */
    15,   16,   17,   18,   19,   20,   21,   22,     /* PQRSTUVW */
    23,   24,   25,   0xff, 0xff, 0xff, 0xff, 63,     /* XYZ[\]^_ */
    0xff, 26,   27,   28,   29,   30,   31,   32,     /* `abcdefg */
    33,   34,   35,   36,   37,   38,   39,   40,     /* hijklmno */
    41,   42,   43,   44,   45,   46,   47,   48,     /* pqrstuvw */
    49,   50,   51,   0xff, 0xff, 0xff, 0xff, 0xff,   /* xyz{|}~  */

    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};


int
ngx_http_imprest_token_generate(const char *type, unsigned char *out)
{
    unsigned char  rnd[NGX_HTTP_IMPREST_TOKEN_RANDOM_BYTES];
    unsigned char  digest[NGX_HTTP_IMPREST_DIGEST_LEN];

    if (!ngx_http_imprest_token_type_valid(type)) {
        return -1;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -1;
    }

    memcpy(out, "imp_", 4);
    out[4] = (unsigned char) type[0];
    out[5] = (unsigned char) type[1];
    out[6] = '_';

    (void) ngx_http_imprest_base64url_encode(rnd, sizeof(rnd),
                                    out + NGX_HTTP_IMPREST_TOKEN_PREFIX_LEN);

    /* the random bytes are the secret: do not leave them on the stack */
    OPENSSL_cleanse(rnd, sizeof(rnd));

    if (ngx_http_imprest_digest(out, NGX_HTTP_IMPREST_TOKEN_SIGNED_LEN, digest)
        != 0)
    {
        OPENSSL_cleanse(out, NGX_HTTP_IMPREST_TOKEN_LEN);
        return -1;
    }

    (void) ngx_http_imprest_base64url_encode(digest,
                                    NGX_HTTP_IMPREST_TOKEN_CHECK_BYTES,
                                    out + NGX_HTTP_IMPREST_TOKEN_SIGNED_LEN);

    return 0;
}


int
ngx_http_imprest_token_check(const char *type, const unsigned char *tok,
    size_t len)
{
    size_t          i;
    unsigned char   v;
    unsigned char   digest[NGX_HTTP_IMPREST_DIGEST_LEN];
    unsigned char   check[NGX_HTTP_IMPREST_TOKEN_CHECK_LEN];

    if (len != NGX_HTTP_IMPREST_TOKEN_LEN
        || tok == NULL
        || !ngx_http_imprest_token_type_valid(type))
    {
        return 0;
    }

    if (memcmp(tok, "imp_", 4) != 0
        || tok[4] != (unsigned char) type[0]
        || tok[5] != (unsigned char) type[1]
        || tok[6] != '_')
    {
        return 0;
    }

    for (i = NGX_HTTP_IMPREST_TOKEN_PREFIX_LEN; i < len; i++) {
        if (ngx_http_imprest_b64url_value[tok[i]] == 0xff) {
            return 0;
        }
    }

    /*
     * 32 bytes take 43 characters whose last one carries 2 unused bits:
     * they must be zero, so that exactly one string encodes each secret.
     */

    v = ngx_http_imprest_b64url_value[tok[NGX_HTTP_IMPREST_TOKEN_SIGNED_LEN
                                          - 1]];
    if (v & 0x03) {
        return 0;
    }

    if (ngx_http_imprest_digest(tok, NGX_HTTP_IMPREST_TOKEN_SIGNED_LEN, digest)
        != 0)
    {
        return 0;
    }

    /*
     * Comparing the re-encoded checksum also rejects a last checksum
     * character with non-zero unused bits.
     */

    (void) ngx_http_imprest_base64url_encode(digest,
                                    NGX_HTTP_IMPREST_TOKEN_CHECK_BYTES, check);

    return memcmp(check, tok + NGX_HTTP_IMPREST_TOKEN_SIGNED_LEN,
                  NGX_HTTP_IMPREST_TOKEN_CHECK_LEN) == 0;
}


/*
 * Every gated request hashes twice (checksum, Redis key).  With OpenSSL 3,
 * EVP_sha256() makes each EVP_Digest() look the algorithm up again, under
 * locks, and allocate a context: the algorithm is fetched once and one
 * context reused.  Callers are single-threaded (nginx workers, the CLI).
 * ngx_http_imprest_digest_free() releases both: nginx unloads the module
 * at exit, and with it the only pointers to them.
 */

static EVP_MD_CTX    *ngx_http_imprest_digest_ctx;
static const EVP_MD  *ngx_http_imprest_digest_md;


int
ngx_http_imprest_digest(const unsigned char *data, size_t len,
    unsigned char *out)
{
    unsigned int         n;
    EVP_MD_CTX          *ctx;
    const EVP_MD        *md;

    ctx = ngx_http_imprest_digest_ctx;
    md = ngx_http_imprest_digest_md;

    if (md == NULL) {
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
        md = EVP_sha256();
#endif
        if (md == NULL) {
            return -1;
        }

        ngx_http_imprest_digest_md = md;
    }

    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL) {
            return -1;
        }

        ngx_http_imprest_digest_ctx = ctx;
    }

    n = 0;

    if (EVP_DigestInit_ex(ctx, md, NULL) != 1
        || EVP_DigestUpdate(ctx, data, len) != 1
        || EVP_DigestFinal_ex(ctx, out, &n) != 1
        || n != NGX_HTTP_IMPREST_DIGEST_LEN)
    {
        return -1;
    }

    return 0;
}


void
ngx_http_imprest_digest_free(void)
{
    EVP_MD_CTX_free(ngx_http_imprest_digest_ctx);
    ngx_http_imprest_digest_ctx = NULL;

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MD_free((EVP_MD *) ngx_http_imprest_digest_md);
#endif
    ngx_http_imprest_digest_md = NULL;
}


int
ngx_http_imprest_digest_hex(const unsigned char *data, size_t len,
    unsigned char *out)
{
    size_t         i;
    unsigned char  md[NGX_HTTP_IMPREST_DIGEST_LEN];

    if (ngx_http_imprest_digest(data, len, md) != 0) {
        return -1;
    }

    for (i = 0; i < sizeof(md); i++) {
        out[2 * i] = ngx_http_imprest_hex[md[i] >> 4];
        out[2 * i + 1] = ngx_http_imprest_hex[md[i] & 0x0f];
    }

    return 0;
}


int
ngx_http_imprest_uuid_canonical(const unsigned char *s, size_t len,
    unsigned char *out)
{
    size_t         i;
    unsigned char  c;

    if (s == NULL || len != NGX_HTTP_IMPREST_UUID_LEN) {
        return 0;
    }

    /* RFC 9562, 4: 8-4-4-4-12 hex digits, nothing else */

    for (i = 0; i < NGX_HTTP_IMPREST_UUID_LEN; i++) {
        c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }

            continue;
        }

        if (c >= '0' && c <= '9') {
            continue;
        }

        c |= 0x20;

        if (c < 'a' || c > 'f') {
            return 0;
        }
    }

    /* written only once the whole input is known to be valid */

    for (i = 0; i < NGX_HTTP_IMPREST_UUID_LEN; i++) {
        c = s[i];
        out[i] = (c >= 'A' && c <= 'F') ? (unsigned char) (c | 0x20) : c;
    }

    return 1;
}


int
ngx_http_imprest_uuid_v4(unsigned char *out)
{
    size_t         i, n;
    unsigned char  b[16];

    if (RAND_bytes(b, sizeof(b)) != 1) {
        return -1;
    }

    /* RFC 9562, 5.4: version 4, variant 10 */
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);

    n = 0;

    for (i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[n++] = '-';
        }

        out[n++] = ngx_http_imprest_hex[b[i] >> 4];
        out[n++] = ngx_http_imprest_hex[b[i] & 0x0f];
    }

    return 0;
}


size_t
ngx_http_imprest_list_next(const unsigned char **pos,
    const unsigned char *last, const unsigned char **tok)
{
    const unsigned char  *p;

    /* RFC 6749, 3.3: tokens are delimited by %x20 only */

    p = *pos;

    while (p < last && *p == ' ') {
        p++;
    }

    *tok = p;

    while (p < last && *p != ' ') {
        p++;
    }

    *pos = p;

    return p - *tok;
}


int
ngx_http_imprest_scope_has(const unsigned char *list, size_t len,
    const unsigned char *want, size_t wlen)
{
    size_t                n;
    const unsigned char  *p, *last, *tok;

    if (wlen == 0 || list == NULL) {
        return 0;
    }

    p = list;
    last = list + len;

    while ((n = ngx_http_imprest_list_next(&p, last, &tok)) != 0) {
        if (n == wlen && memcmp(tok, want, wlen) == 0) {
            return 1;
        }
    }

    return 0;
}


int
ngx_http_imprest_id_valid(const unsigned char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (s == NULL || len == 0 || len > 128) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '.' || c == '_' || c == '@' || c == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
ngx_http_imprest_const_eq(const unsigned char *a, const unsigned char *b,
    size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}


size_t
ngx_http_imprest_base64url_encode(const unsigned char *src, size_t len,
    unsigned char *dst)
{
    unsigned char  *d;

    d = dst;

    while (len > 2) {
        *d++ = ngx_http_imprest_b64url[(src[0] >> 2) & 0x3f];
        *d++ = ngx_http_imprest_b64url[((src[0] & 0x03) << 4)
                                       | (src[1] >> 4)];
        *d++ = ngx_http_imprest_b64url[((src[1] & 0x0f) << 2)
                                       | (src[2] >> 6)];
        *d++ = ngx_http_imprest_b64url[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        *d++ = ngx_http_imprest_b64url[(src[0] >> 2) & 0x3f];

        if (len == 1) {
            *d++ = ngx_http_imprest_b64url[(src[0] & 0x03) << 4];

        } else {
            *d++ = ngx_http_imprest_b64url[((src[0] & 0x03) << 4)
                                           | (src[1] >> 4)];
            *d++ = ngx_http_imprest_b64url[(src[1] & 0x0f) << 2];
        }
    }

    return (size_t) (d - dst);
}


static int
ngx_http_imprest_token_type_valid(const char *type)
{
    /* exactly two lower-case letters; reads type[2] only after type[1] */

    return type != NULL
           && type[0] >= 'a' && type[0] <= 'z'
           && type[1] >= 'a' && type[1] <= 'z'
           && type[2] == '\0';
}


int
ngx_http_imprest_bearer_parse(const unsigned char *value, size_t len,
    const unsigned char **tok, size_t *tok_len)
{
    size_t                i;
    const unsigned char  *p, *last;
    static const char     scheme[] = "bearer";

    /* another scheme, or a longer name such as "Bearers", is not ours */
    if (len < 6 || (len > 6 && value[6] != ' ' && value[6] != '\t')) {
        return NGX_HTTP_IMPREST_BEARER_DECLINED;
    }

    for (i = 0; i < 6; i++) {
        if ((value[i] | 0x20) != (unsigned char) scheme[i]) {
            return NGX_HTTP_IMPREST_BEARER_DECLINED;
        }
    }

    p = value + 6;
    last = value + len;

    if (p == last || *p != ' ') {
        return NGX_HTTP_IMPREST_BEARER_MALFORMED;
    }

    while (p < last && *p == ' ') {
        p++;
    }

    *tok = p;
    *tok_len = last - p;

    return NGX_HTTP_IMPREST_BEARER_OK;
}
