/*
 * Copyright (C) Imprest
 *
 * nginx-free core shared by the module, imprestctl and the unit tests:
 * token format, digests, identifiers.  Depends on libc and OpenSSL only.
 */

#ifndef _NGX_HTTP_IMPREST_CORE_H_INCLUDED_
#define _NGX_HTTP_IMPREST_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * Token layout: "imp_" TYPE "_" BODY CHECK
 *   TYPE  two letters: "at" access token, "rt" refresh token,
 *         "ac" authorization code, "cs" client secret,
 *         "ra" RFC 7592 registration access token,
 *         "ia" RFC 7591 initial access token
 *   BODY  43 base64url chars = 32 bytes (256 bits) from RAND_bytes
 *   CHECK 6 base64url chars = first 4 bytes of SHA-256("imp_" TYPE "_" BODY)
 * Total length 7 + 43 + 6 = 56.  Every character is in RFC 6750's b64token
 * set and in the RFC 6749 A.11-A.17 VSCHAR set.
 */

#define NGX_HTTP_IMPREST_TOKEN_LEN          56
#define NGX_HTTP_IMPREST_TOKEN_PREFIX_LEN   7
#define NGX_HTTP_IMPREST_TOKEN_RANDOM_BYTES 32

#define NGX_HTTP_IMPREST_TOKEN_AT  "at"
#define NGX_HTTP_IMPREST_TOKEN_RT  "rt"
#define NGX_HTTP_IMPREST_TOKEN_AC  "ac"
#define NGX_HTTP_IMPREST_TOKEN_CS  "cs"
#define NGX_HTTP_IMPREST_TOKEN_RA  "ra"
#define NGX_HTTP_IMPREST_TOKEN_IA  "ia"

/* raw SHA-256: 32 bytes */
#define NGX_HTTP_IMPREST_DIGEST_LEN         32

/* hex SHA-256: 64 chars, no terminating NUL counted */
#define NGX_HTTP_IMPREST_DIGEST_HEX_LEN     64

#define NGX_HTTP_IMPREST_UUID_LEN           36


/*
 * Writes a new token of the given two-letter type into out (at least
 * NGX_HTTP_IMPREST_TOKEN_LEN bytes, not NUL-terminated).
 * Returns 0, or -1 when type is not two lower-case letters or RAND_bytes
 * fails.
 */
int ngx_http_imprest_token_generate(const char *type, unsigned char *out);

/*
 * Checks the shape and checksum of a token of the expected type without
 * any I/O.  Returns 1 when well-formed, 0 otherwise.
 */
int ngx_http_imprest_token_check(const char *type, const unsigned char *tok,
    size_t len);

/*
 * An Authorization header value for the Bearer scheme (RFC 6750 2.1:
 * credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive,
 * RFC 9110 11.1).  Returns NGX_HTTP_IMPREST_BEARER_OK with *tok, *tok_len
 * set to what follows the spaces (not checked: token_check does that),
 * NGX_HTTP_IMPREST_BEARER_DECLINED for another scheme (the request has no
 * bearer token), NGX_HTTP_IMPREST_BEARER_MALFORMED for "Bearer" not
 * followed by a space.
 */
#define NGX_HTTP_IMPREST_BEARER_OK          0
#define NGX_HTTP_IMPREST_BEARER_DECLINED    1
#define NGX_HTTP_IMPREST_BEARER_MALFORMED   2

int ngx_http_imprest_bearer_parse(const unsigned char *value, size_t len,
    const unsigned char **tok, size_t *tok_len);

/*
 * Raw SHA-256 of data into out (NGX_HTTP_IMPREST_DIGEST_LEN bytes), for
 * example for the RFC 7636 S256 code challenge.  Returns 0, or -1 when
 * OpenSSL fails.
 */
int ngx_http_imprest_digest(const unsigned char *data, size_t len,
    unsigned char *out);

/*
 * Frees what ngx_http_imprest_digest() keeps between calls (the next call
 * makes it again): at process exit, as nginx unloads the module.
 */
void ngx_http_imprest_digest_free(void);

/*
 * Lower-case hex SHA-256 of data into out (64 bytes, not NUL-terminated).
 * Returns 0, or -1 when OpenSSL fails.
 */
int ngx_http_imprest_digest_hex(const unsigned char *data, size_t len,
    unsigned char *out);


/*
 * UUID in 8-4-4-4-12 hex form (either case, no braces, no urn: prefix).
 * On success writes the lower-case form into out (36 bytes) and returns 1.
 */
int ngx_http_imprest_uuid_canonical(const unsigned char *s, size_t len,
    unsigned char *out);

/*
 * A random (version 4, RFC 9562 5.4) UUID in lower-case 8-4-4-4-12 form
 * into out (36 bytes, not NUL-terminated).  Returns 0, or -1 when
 * RAND_bytes fails.
 */
int ngx_http_imprest_uuid_v4(unsigned char *out);

/*
 * Space-separated lists (scopes, organizations): the next token at or
 * after *pos, leading spaces skipped.  Returns its length, 0 at the end,
 * and moves *pos past it.
 */
size_t ngx_http_imprest_list_next(const unsigned char **pos,
    const unsigned char *last, const unsigned char **tok);

/*
 * RFC 6749 3.3: is the scope token want (wlen bytes) one of the
 * space-delimited, case-sensitive tokens of list?  Returns 1 or 0.
 */
int ngx_http_imprest_scope_has(const unsigned char *list, size_t len,
    const unsigned char *want, size_t wlen);

/*
 * Identifiers of users and clients used inside Redis key names:
 * 1 to 128 of [A-Za-z0-9._@-].  Returns 1 when valid.
 */
int ngx_http_imprest_id_valid(const unsigned char *s, size_t len);

/*
 * Constant-time comparison of two equal-length buffers: 1 when equal.
 */
int ngx_http_imprest_const_eq(const unsigned char *a, const unsigned char *b,
    size_t len);

/* base64url without padding; returns the encoded length */
size_t ngx_http_imprest_base64url_encode(const unsigned char *src, size_t len,
    unsigned char *dst);


#endif /* _NGX_HTTP_IMPREST_CORE_H_INCLUDED_ */
