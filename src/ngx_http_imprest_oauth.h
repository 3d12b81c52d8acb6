/*
 * Copyright (C) Imprest
 *
 * nginx-free OAuth 2.0 helpers for the authorization server: form and
 * query parsing, redirect URI rules and building, PKCE, HTTP Basic client
 * credentials, HTML escaping for the consent page, scope lists.  libc and
 * OpenSSL libcrypto only (through the core), so that the module,
 * imprestctl and the unit tests run exactly the same code.
 *
 * Every function works on caller-provided buffers and allocates nothing;
 * the size each output needs is given with the function.  Inputs are
 * (pointer, length) pairs, never NUL-terminated strings, and are read only
 * within their length.
 */

#ifndef _NGX_HTTP_IMPREST_OAUTH_H_INCLUDED_
#define _NGX_HTTP_IMPREST_OAUTH_H_INCLUDED_


#include <stddef.h>


/* ngx_http_imprest_form_parse() results */
#define NGX_HTTP_IMPREST_FORM_OK             0
#define NGX_HTTP_IMPREST_FORM_BAD_ENCODING  -1
#define NGX_HTTP_IMPREST_FORM_BAD_CHAR      -2
#define NGX_HTTP_IMPREST_FORM_TOO_MANY      -3

/* ngx_http_imprest_form_get() flag: "name=" counts as absent */
#define NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT   0x01

/* ngx_http_imprest_basic_decode() results besides 0 */
#define NGX_HTTP_IMPREST_BASIC_INVALID      -1
#define NGX_HTTP_IMPREST_BASIC_DECLINED     -2

#define NGX_HTTP_IMPREST_REDIRECT_URI_MAX    2000

/* RFC 7636, 4.1: code_verifier = 43*128unreserved */
/* a scope list's bounds (RFC 6749 3.3 sets none; ours are generous) */
#define NGX_HTTP_IMPREST_SCOPE_MAX_LEN       2048
#define NGX_HTTP_IMPREST_SCOPE_MAX_TOKENS    256

#define NGX_HTTP_IMPREST_PKCE_MIN            43
#define NGX_HTTP_IMPREST_PKCE_MAX            128

/* BASE64URL(SHA256(verifier)) without padding */
#define NGX_HTTP_IMPREST_PKCE_S256_LEN       43


/*
 * One decoded name[=value] pair.  Both point into the scratch buffer given
 * to ngx_http_imprest_form_parse(); neither is NUL-terminated.  "name" and
 * "name=" both give value_len 0.
 */
typedef struct {
    const unsigned char  *name;
    size_t                name_len;
    const unsigned char  *value;
    size_t                value_len;
} ngx_http_imprest_param_t;


/*
 * application/x-www-form-urlencoded parsing (WHATWG URL, 5.1; RFC 6749,
 * Appendix B), for request bodies and query strings alike.  Splits p on
 * "&", skips empty pairs, splits each pair on its first "=", decodes "+"
 * to a space and "%XX" in names and values.
 *
 * buf is scratch of at least len bytes (decoding never grows); the decoded
 * names and values are written there and params[] points into it, so buf
 * must live as long as params.  At most max pairs are stored; *n gets
 * their number.
 *
 * Returns NGX_HTTP_IMPREST_FORM_OK, or with *n = 0:
 *   _BAD_ENCODING  "%" not followed by two hex digits ("%", "%0", "%G1",
 *                  "%%");
 *   _BAD_CHAR      a NUL, raw or "%00", or a raw control character
 *                  (0x01-0x1f, 0x7f): a conforming encoder never sends
 *                  them unencoded;
 *   _TOO_MANY      more than max pairs.
 */
int ngx_http_imprest_form_parse(const unsigned char *p, size_t len,
    unsigned char *buf, ngx_http_imprest_param_t *params, size_t max,
    size_t *n);

/*
 * Looks up the parameter called name (a C string, compared byte for
 * byte).  Returns 0 when absent, 1 when present once (*value and
 * *value_len set), 2 when repeated (RFC 6749, 3.1 and 3.2: "MUST NOT be
 * included more than once"; the caller answers invalid_request).  *value
 * is NULL and *value_len 0 unless 1 is returned.
 *
 * With NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT, occurrences with an empty value
 * are ignored, as if omitted (RFC 6749, 3.1: "parameters sent without a
 * value MUST be treated as if they were omitted from the request"): so
 * "state=" is absent, and "state=&state=x" is "x" present once.
 */
int ngx_http_imprest_form_get(const ngx_http_imprest_param_t *params,
    size_t n, const char *name, unsigned flags, const unsigned char **value,
    size_t *value_len);

/*
 * Percent-encodes every byte but RFC 3986, 2.3 unreserved characters
 * (ALPHA DIGIT "-" "." "_" "~"), with upper-case hex (RFC 3986, 2.1).
 * dst needs at most 3 * len bytes; with dst NULL only measures.  Returns
 * the encoded length.
 */
size_t ngx_http_imprest_url_encode(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * Builds the redirection of an authorization response (RFC 6749, 4.1.2
 * and 4.1.2.1; RFC 9207, 2): the registered redirect URI with each of
 * params[0..n) whose value is not empty appended as name=value, both
 * percent-encoded, in the given order.  An existing query is kept (RFC
 * 6749, 3.1.2) and extended with "&", or a query is started with "?".
 * Nothing is ever put in a fragment.
 *
 * With dst NULL only measures.  Returns the length written, or 0 when uri
 * is empty, has a fragment (RFC 6749, 3.1.2) or a byte outside %x21-7E,
 * so that the result is always safe in a Location header.
 */
size_t ngx_http_imprest_redirect_build(unsigned char *dst,
    const unsigned char *uri, size_t len,
    const ngx_http_imprest_param_t *params, size_t n);

/*
 * Registration rules for a redirect URI (RFC 6749, 3.1.2; RFC 9700, 2.1
 * and 2.6; RFC 8252, 7.1 and 7.3; RFC 7591, 2):
 *   - absolute, at most NGX_HTTP_IMPREST_REDIRECT_URI_MAX bytes, printable
 *     ASCII only, no fragment, no "@" (userinfo), no "*" (wildcard), no
 *     backslash, no '"' "<" ">" "^" "`" "{" "|" "}", valid "%XX" and none
 *     of %00-%1F and %7F;
 *   - lower-case scheme and host, so that exact comparison is enough;
 *   - "https://host[:port]", or "http://" only with host 127.0.0.1 or
 *     [::1] (RFC 8252, 8.3: "localhost" is NOT RECOMMENDED, so refused),
 *     or a private-use scheme with a "." (reverse domain name, RFC 8252,
 *     7.1), not javascript, data, file, vbscript, about or blob;
 *   - no "." or ".." path segment and no %2E, %2F, %5C or %25 in the path
 *     (encoded dot, slash, backslash, double encoding).
 * Returns NULL when acceptable, else a short reason (a static string).
 */
const char *ngx_http_imprest_redirect_uri_register_check(
    const unsigned char *uri, size_t len);

/*
 * The origin of an absolute URI (RFC 6454, 4), for an Origin comparison
 * or a CSP source expression: "scheme://host[:port]" of an http(s) URI,
 * lower-cased into dst (NULL: only measure), with a default port (":443"
 * for https, ":80" for http) dropped as browsers do; "scheme:" of any
 * other scheme.  Returns its length, or 0 when the URI has no origin that
 * can be written safely (a character outside [a-z0-9.:[]-] in it).  dst
 * holds at most len bytes.
 */
size_t ngx_http_imprest_uri_origin(unsigned char *dst,
    const unsigned char *uri, size_t len);

/*
 * Does the presented redirect URI match the registered one?  Exact byte
 * comparison (RFC 9700, 2.1; RFC 6749, 3.1.2.3): no case folding, no
 * normalisation, no trailing slash tolerance.  Only exception, RFC 8252,
 * 7.3: a registered "http://127.0.0.1" or "http://[::1]" URI without a
 * port matches the same URI with any port from 1 to 65535 (digits only,
 * no leading zero) after the host; the rest must still be identical.
 * Returns 1 or 0; an empty URI never matches.
 */
int ngx_http_imprest_redirect_uri_match(const unsigned char *registered,
    size_t rlen, const unsigned char *presented, size_t plen);

/*
 * RFC 7636, 4.1 and 4.2: 43 to 128 characters of [A-Za-z0-9-._~].
 * Return 1 when valid.
 */
int ngx_http_imprest_pkce_challenge_valid(const unsigned char *s,
    size_t len);
int ngx_http_imprest_pkce_verifier_valid(const unsigned char *s,
    size_t len);

/*
 * RFC 7636, 4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) into out
 * (NGX_HTTP_IMPREST_PKCE_S256_LEN bytes, not NUL-terminated).  Does not
 * check the verifier's syntax.  Returns 0, or -1 when OpenSSL fails.
 */
int ngx_http_imprest_pkce_s256(const unsigned char *verifier, size_t len,
    unsigned char *out);

/*
 * HTTP Basic client authentication (RFC 6749, 2.3.1; RFC 7617, 2): value
 * is the Authorization header value, "Basic" in any case (RFC 9110, 11.1),
 * one or more spaces, then standard base64 with padding (RFC 4648, 4) of
 * id ":" secret, each application/x-www-form-urlencoded (RFC 6749, 2.3.1,
 * so a ":" in either travels as %3A).  The decoded id and secret go to
 * id and secret, each at least len bytes.  The secret is split at the
 * first ":", so a client that does not encode a ":" in its secret still
 * works.
 *
 * Returns 0; NGX_HTTP_IMPREST_BASIC_DECLINED when the scheme is not Basic;
 * NGX_HTTP_IMPREST_BASIC_INVALID for missing credentials, bad or
 * non-canonical base64, no ":", an empty id, bad percent-encoding or a
 * NUL or control character.  Bytes of secret past *secret_len, and all of
 * both buffers after an error, are wiped.
 */
int ngx_http_imprest_basic_decode(const unsigned char *value, size_t len,
    unsigned char *id, size_t *id_len, unsigned char *secret,
    size_t *secret_len);

/*
 * HTML escaping of untrusted text for element content and quoted
 * attribute values on the consent page: & < > " ' become entities; TAB,
 * CR and LF become a space; other C0 and C1 controls, DEL, the bidi
 * controls (U+061C, U+200E/F, U+202A-E, U+2066-9), zero-width and
 * invisible characters (U+200B-D, U+2060-4, U+FEFF), U+2028/9, and each
 * maximal ill-formed UTF-8 subsequence (Unicode 15, 3.9; overlong forms,
 * surrogates, truncated sequences) become U+FFFD.  dst needs at most
 * 6 * len bytes; with dst NULL only measures.  Returns the length.
 */
size_t ngx_http_imprest_html_escape(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * RFC 6749, 3.3: scope = scope-token *( SP scope-token ), scope-token =
 * 1*NQCHAR (%x21 / %x23-5B / %x5D-7E).  Strict: exactly one space between
 * tokens, none leading or trailing, not empty.  Returns 1 when valid.
 */
int ngx_http_imprest_scope_valid(const unsigned char *list, size_t len);

/*
 * RFC 6749, 3.3: a scope is a set.  Writes the tokens of src to dst
 * (room for len bytes), each once, in the order of their first
 * occurrence, separated by one space.  Returns the length written; 0 when
 * src is not a valid list (ngx_http_imprest_scope_valid) or is longer than
 * NGX_HTTP_IMPREST_SCOPE_MAX_LEN bytes or NGX_HTTP_IMPREST_SCOPE_MAX_TOKENS
 * tokens.  dst may not overlap src.
 */
size_t ngx_http_imprest_scope_set(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * 1 when sub has at least one token and each of its tokens is one of the
 * tokens of set (case-sensitive, RFC 6749, 3.3); else 0.
 */
int ngx_http_imprest_scope_subset(const unsigned char *sub, size_t slen,
    const unsigned char *set, size_t len);


#endif /* _NGX_HTTP_IMPREST_OAUTH_H_INCLUDED_ */
