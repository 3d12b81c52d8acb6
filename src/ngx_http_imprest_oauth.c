/*
 * Copyright (C) Imprest
 *
 * nginx-free OAuth 2.0 helpers: form parsing, redirect URIs, PKCE, HTTP
 * Basic client credentials, HTML escaping, scope lists.  See the header
 * for the contract of each function and the size of its output.
 */


#include <string.h>

#include <openssl/crypto.h>

#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_oauth.h"


static int ngx_http_imprest_oauth_hex(unsigned char c);
static int ngx_http_imprest_oauth_unescape(const unsigned char *src,
    size_t len, unsigned char *dst, size_t *dlen);
static const char *ngx_http_imprest_oauth_host_check(
    const unsigned char **pp, const unsigned char *last, int loopback);
static const char *ngx_http_imprest_oauth_path_check(const unsigned char *p,
    const unsigned char *last);
static int ngx_http_imprest_oauth_pkce_valid(const unsigned char *s,
    size_t len);
static int ngx_http_imprest_oauth_base64_decode(const unsigned char *src,
    size_t len, unsigned char *dst, size_t *dlen);
static int ngx_http_imprest_oauth_invisible(unsigned long cp);


static const unsigned char  ngx_http_imprest_oauth_hex_upper[] =
    "0123456789ABCDEF";

/* U+FFFD REPLACEMENT CHARACTER in UTF-8 */
static const unsigned char  ngx_http_imprest_oauth_fffd[] = "\xef\xbf\xbd";

/* private-use schemes that are URLs of their own, never a redirect */
static const char  *ngx_http_imprest_oauth_bad_schemes[] = {
    "javascript", "data", "file", "vbscript", "about", "blob"
};


int
ngx_http_imprest_form_parse(const unsigned char *p, size_t len,
    unsigned char *buf, ngx_http_imprest_param_t *params, size_t max,
    size_t *n)
{
    int                   rc;
    size_t                k, dlen;
    unsigned char        *b;
    const unsigned char  *last, *end, *eq;

    *n = 0;

    k = 0;
    b = buf;
    last = p + len;

    while (p < last) {

        end = memchr(p, '&', (size_t) (last - p));
        if (end == NULL) {
            end = last;
        }

        /* WHATWG URL, 5.1: empty sequences ("&&", leading "&") are skipped */

        if (end == p) {
            p++;
            continue;
        }

        if (k == max) {
            return NGX_HTTP_IMPREST_FORM_TOO_MANY;
        }

        eq = memchr(p, '=', (size_t) (end - p));
        if (eq == NULL) {
            eq = end;
        }

        rc = ngx_http_imprest_oauth_unescape(p, (size_t) (eq - p), b, &dlen);
        if (rc != NGX_HTTP_IMPREST_FORM_OK) {
            return rc;
        }

        params[k].name = b;
        params[k].name_len = dlen;
        b += dlen;

        if (eq < end) {
            eq++;
        }

        rc = ngx_http_imprest_oauth_unescape(eq, (size_t) (end - eq), b,
                                             &dlen);
        if (rc != NGX_HTTP_IMPREST_FORM_OK) {
            return rc;
        }

        params[k].value = b;
        params[k].value_len = dlen;
        b += dlen;

        k++;

        p = (end < last) ? end + 1 : last;
    }

    *n = k;

    return NGX_HTTP_IMPREST_FORM_OK;
}


int
ngx_http_imprest_form_get(const ngx_http_imprest_param_t *params, size_t n,
    const char *name, unsigned flags, const unsigned char **value,
    size_t *value_len)
{
    int     found;
    size_t  i, len;

    *value = NULL;
    *value_len = 0;

    found = 0;
    len = strlen(name);

    for (i = 0; i < n; i++) {
        if (params[i].name_len != len
            || memcmp(params[i].name, name, len) != 0)
        {
            continue;
        }

        /* RFC 6749, 3.1: sent without a value = omitted */

        if ((flags & NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT)
            && params[i].value_len == 0)
        {
            continue;
        }

        /* RFC 6749, 3.1, 3.2: MUST NOT be included more than once */

        if (found) {
            *value = NULL;
            *value_len = 0;
            return 2;
        }

        found = 1;
        *value = params[i].value;
        *value_len = params[i].value_len;
    }

    return found;
}


size_t
ngx_http_imprest_url_encode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t         i, n;
    unsigned char  c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        /* RFC 3986, 2.3: unreserved characters are never encoded */

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            if (dst) {
                dst[n] = c;
            }

            n++;
            continue;
        }

        /* RFC 3986, 2.1: upper-case hex digits */

        if (dst) {
            dst[n] = '%';
            dst[n + 1] = ngx_http_imprest_oauth_hex_upper[c >> 4];
            dst[n + 2] = ngx_http_imprest_oauth_hex_upper[c & 0x0f];
        }

        n += 3;
    }

    return n;
}


size_t
ngx_http_imprest_redirect_build(unsigned char *dst, const unsigned char *uri,
    size_t len, const ngx_http_imprest_param_t *params, size_t n)
{
    size_t         i, k;
    unsigned char  sep;

    if (uri == NULL || len == 0) {
        return 0;
    }

    /*
     * The URI was checked at registration, but this output becomes a
     * Location header: refuse anything that could split it or carry a
     * fragment (RFC 6749, 3.1.2) rather than trust what storage returns.
     */

    sep = '?';

    for (i = 0; i < len; i++) {
        if (uri[i] <= 0x20 || uri[i] >= 0x7f || uri[i] == '#') {
            return 0;
        }

        if (uri[i] == '?') {
            sep = '&';
        }
    }

    /* "https://c/cb?" and "https://c/cb?a=1&" need no extra separator */

    if (uri[len - 1] == '?' || uri[len - 1] == '&') {
        sep = '\0';
    }

    if (dst) {
        memcpy(dst, uri, len);
    }

    k = len;

    /* RFC 6749, 3.1.2: the query component MUST be retained */

    for (i = 0; i < n; i++) {
        if (params[i].name_len == 0 || params[i].value_len == 0) {
            continue;
        }

        if (sep) {
            if (dst) {
                dst[k] = sep;
            }

            k++;
        }

        sep = '&';

        k += ngx_http_imprest_url_encode(dst ? dst + k : NULL,
                                         params[i].name, params[i].name_len);

        if (dst) {
            dst[k] = '=';
        }

        k++;

        k += ngx_http_imprest_url_encode(dst ? dst + k : NULL,
                                         params[i].value,
                                         params[i].value_len);
    }

    return k;
}


const char *
ngx_http_imprest_redirect_uri_register_check(const unsigned char *uri,
    size_t len)
{
    size_t                i, slen;
    const char           *reason;
    unsigned char         c;
    const unsigned char  *p, *last;

    if (uri == NULL || len == 0) {
        return "empty";
    }

    if (len > NGX_HTTP_IMPREST_REDIRECT_URI_MAX) {
        return "longer than 2000 characters";
    }

    /* RFC 3986, 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */

    for (i = 0; i < len; i++) {
        c = uri[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            continue;
        }

        if (i > 0
            && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
        {
            continue;
        }

        break;
    }

    if (i == 0 || i == len || uri[i] != ':') {
        return "not an absolute URI";
    }

    slen = i;

    for (i = 0; i < slen; i++) {
        if (uri[i] >= 'A' && uri[i] <= 'Z') {
            return "upper-case scheme";
        }
    }

    for (i = 0;
         i < sizeof(ngx_http_imprest_oauth_bad_schemes)
             / sizeof(ngx_http_imprest_oauth_bad_schemes[0]);
         i++)
    {
        if (slen == strlen(ngx_http_imprest_oauth_bad_schemes[i])
            && memcmp(uri, ngx_http_imprest_oauth_bad_schemes[i], slen) == 0)
        {
            return "scheme not allowed";
        }
    }

    /* characters anywhere in the URI (RFC 3986, 2) */

    for (i = slen + 1; i < len; i++) {
        c = uri[i];

        if (c <= 0x20 || c >= 0x7f) {
            return "whitespace, control or non-ASCII character";
        }

        switch (c) {

        /* RFC 6749, 3.1.2: MUST NOT include a fragment component */
        case '#':
            return "fragment";

        /* RFC 9700, 2.1: exact string matching, no patterns */
        case '*':
            return "wildcard";

        /*
         * RFC 9700, 4.1.1: "https://good@evil" reads as a good host to a
         * person and as evil to a browser.  Refused anywhere, so that no
         * parser can find userinfo in it.
         */
        case '@':
            return "userinfo (\"@\")";

        /* WHATWG URL reads "\" as "/" in special schemes; RFC 3986 not */
        case '\\':
            return "backslash";

        case '"': case '<': case '>': case '^': case '`':
        case '{': case '|': case '}':
            return "character not allowed in a URI";

        case '%':
            if (len - i < 3
                || ngx_http_imprest_oauth_hex(uri[i + 1]) < 0
                || ngx_http_imprest_oauth_hex(uri[i + 2]) < 0)
            {
                return "bad percent-encoding";
            }

            if (ngx_http_imprest_oauth_hex(uri[i + 1]) < 2
                || (uri[i + 1] == '7' && (uri[i + 2] | 0x20) == 'f'))
            {
                return "percent-encoded control character";
            }

            break;

        default:
            break;
        }
    }

    p = uri + slen + 1;
    last = uri + len;

    if ((slen == 5 && memcmp(uri, "https", 5) == 0)
        || (slen == 4 && memcmp(uri, "http", 4) == 0))
    {
        if (last - p < 2 || p[0] != '/' || p[1] != '/') {
            return "no authority (\"//host\")";
        }

        p += 2;

        /* RFC 9700, 2.6; RFC 8252, 7.3 and 8.3 */

        reason = ngx_http_imprest_oauth_host_check(&p, last, slen == 4);
        if (reason) {
            return reason;
        }

        return ngx_http_imprest_oauth_path_check(p, last);
    }

    /*
     * RFC 8252, 7.1: a private-use scheme is a reverse domain name the
     * app controls, so it has a "."; "myapp:" could be anyone's.
     */

    if (memchr(uri, '.', slen) == NULL) {
        return "scheme not allowed (https, loopback http, or reverse-DNS "
               "private-use scheme)";
    }

    if (uri[slen - 1] == '.') {
        return "private-use scheme is not a reverse domain name";
    }

    for (i = 1; i < slen; i++) {
        if (uri[i] == '.' && uri[i - 1] == '.') {
            return "private-use scheme is not a reverse domain name";
        }
    }

    if (p == last) {
        return "empty path";
    }

    return ngx_http_imprest_oauth_path_check(p, last);
}


size_t
ngx_http_imprest_uri_origin(unsigned char *dst, const unsigned char *uri,
    size_t len)
{
    size_t         i, n, olen, colon;
    unsigned char  c, scheme[6];

    for (i = 0; i < len && uri[i] != ':'; i++) {
        c = uri[i];
        c = (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;

        if (!((c >= 'a' && c <= 'z')
              || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-'
                            || c == '.'))))
        {
            return 0;
        }

        if (i < sizeof(scheme)) {
            scheme[i] = c;
        }
    }

    if (i == 0 || i == len) {
        return 0;
    }

    n = i;
    olen = n + 1;                                   /* "scheme:" */

    if ((n == 5 && memcmp(scheme, "https", 5) == 0)
        || (n == 4 && memcmp(scheme, "http", 4) == 0))
    {
        if (len - n < 4 || uri[n + 1] != '/' || uri[n + 2] != '/') {
            return 0;
        }

        colon = 0;

        for (olen = n + 3; olen < len; olen++) {
            c = uri[olen];

            if (c == '/' || c == '?' || c == '#') {
                break;
            }

            if (c == ':') {
                colon = olen;       /* a port, unless inside "[...]" */

            } else if (c == ']') {
                colon = 0;

            } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                         || (c >= '0' && c <= '9') || c == '.' || c == '-'
                         || c == '['))
            {
                return 0;
            }
        }

        if (olen == n + 3 || colon == olen - 1) {
            return 0;
        }

        /* browsers leave a default port out of the origin they send */
        if (colon
            && ((n == 5 && olen - colon == 4
                 && memcmp(uri + colon, ":443", 4) == 0)
                || (n == 4 && olen - colon == 3
                    && memcmp(uri + colon, ":80", 3) == 0)))
        {
            olen = colon;
        }
    }

    if (dst) {
        for (i = 0; i < olen; i++) {
            c = uri[i];
            dst[i] = (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;
        }
    }

    return olen;
}


int
ngx_http_imprest_redirect_uri_match(const unsigned char *registered,
    size_t rlen, const unsigned char *presented, size_t plen)
{
    size_t                i, k, digits;
    unsigned long         port;
    const unsigned char  *p, *last;

    static const char    *loopback[] = { "http://127.0.0.1", "http://[::1]" };

    if (rlen == 0 || plen == 0) {
        return 0;
    }

    /* RFC 9700, 2.1; RFC 6749, 3.1.2.3: simple string comparison */

    if (rlen == plen && memcmp(registered, presented, rlen) == 0) {
        return 1;
    }

    /*
     * RFC 8252, 7.3: a native app listening on a loopback interface gets
     * its port from the OS at run time, so the port is the only part
     * allowed to differ, and only when none was registered.
     */

    for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        k = strlen(loopback[i]);

        if (rlen < k
            || memcmp(registered, loopback[i], k) != 0
            || (rlen > k && registered[k] != '/' && registered[k] != '?'))
        {
            continue;
        }

        if (plen < k + 2
            || memcmp(presented, loopback[i], k) != 0
            || presented[k] != ':')
        {
            return 0;
        }

        p = presented + k + 1;
        last = presented + plen;

        /* RFC 3986, 3.2.3: port = *DIGIT; here 1-65535, no leading zero */

        port = 0;
        digits = 0;

        while (p < last && *p >= '0' && *p <= '9' && digits < 6) {
            port = port * 10 + (unsigned long) (*p - '0');
            digits++;
            p++;
        }

        if (digits == 0 || digits > 5 || presented[k + 1] == '0'
            || port > 65535)
        {
            return 0;
        }

        return (size_t) (last - p) == rlen - k
               && memcmp(p, registered + k, rlen - k) == 0;
    }

    return 0;
}


int
ngx_http_imprest_pkce_challenge_valid(const unsigned char *s, size_t len)
{
    /* RFC 7636, 4.2: the challenge shares the verifier's alphabet */

    return ngx_http_imprest_oauth_pkce_valid(s, len);
}


int
ngx_http_imprest_pkce_verifier_valid(const unsigned char *s, size_t len)
{
    /* RFC 7636, 4.1: code-verifier = 43*128unreserved */

    return ngx_http_imprest_oauth_pkce_valid(s, len);
}


int
ngx_http_imprest_pkce_s256(const unsigned char *verifier, size_t len,
    unsigned char *out)
{
    unsigned char  md[NGX_HTTP_IMPREST_DIGEST_LEN];

    /* RFC 7636, 4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) */

    if (ngx_http_imprest_digest(verifier, len, md) != 0) {
        return -1;
    }

    (void) ngx_http_imprest_base64url_encode(md, sizeof(md), out);

    return 0;
}


int
ngx_http_imprest_basic_decode(const unsigned char *value, size_t len,
    unsigned char *id, size_t *id_len, unsigned char *secret,
    size_t *secret_len)
{
    size_t                i, dlen, ilen, slen;
    unsigned char        *colon;
    const unsigned char  *p, *last;

    *id_len = 0;
    *secret_len = 0;

    /* RFC 9110, 11.1: the auth-scheme is case-insensitive */

    if (len < 5
        || (value[0] | 0x20) != 'b' || (value[1] | 0x20) != 'a'
        || (value[2] | 0x20) != 's' || (value[3] | 0x20) != 'i'
        || (value[4] | 0x20) != 'c'
        || (len > 5 && value[5] != ' '))
    {
        return NGX_HTTP_IMPREST_BASIC_DECLINED;
    }

    /* RFC 9110, 11.4: credentials = auth-scheme [ 1*SP token68 ] */

    p = value + 5;
    last = value + len;

    while (p < last && *p == ' ') {
        p++;
    }

    dlen = 0;

    if (p == last
        || ngx_http_imprest_oauth_base64_decode(p, (size_t) (last - p),
                                                secret, &dlen)
           != 0)
    {
        goto invalid;
    }

    /* RFC 7617, 2: user-id ":" password; the user-id has no ":" */

    colon = memchr(secret, ':', dlen);
    if (colon == NULL) {
        goto invalid;
    }

    i = (size_t) (colon - secret);

    /* RFC 6749, 2.3.1: both are application/x-www-form-urlencoded */

    if (ngx_http_imprest_oauth_unescape(secret, i, id, &ilen) != 0
        || ilen == 0)
    {
        goto invalid;
    }

    /* in place: decoding never writes ahead of what it reads */

    if (ngx_http_imprest_oauth_unescape(secret + i + 1, dlen - i - 1, secret,
                                        &slen)
        != 0)
    {
        goto invalid;
    }

    /* the rest of the decoded credentials must not linger */

    OPENSSL_cleanse(secret + slen, dlen - slen);

    *id_len = ilen;
    *secret_len = slen;

    return 0;

invalid:

    OPENSSL_cleanse(id, len);
    OPENSSL_cleanse(secret, len);

    return NGX_HTTP_IMPREST_BASIC_INVALID;
}


size_t
ngx_http_imprest_html_escape(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t                i, j, k, need, rlen;
    unsigned char         c, lo, hi;
    unsigned long         cp;
    const unsigned char  *rep;

    k = 0;
    i = 0;

    while (i < len) {
        c = src[i];
        j = i + 1;
        rep = src + i;
        rlen = 1;

        if (c < 0x80) {

            switch (c) {

            case '&':
                rep = (const unsigned char *) "&amp;";
                rlen = sizeof("&amp;") - 1;
                break;

            case '<':
                rep = (const unsigned char *) "&lt;";
                rlen = sizeof("&lt;") - 1;
                break;

            case '>':
                rep = (const unsigned char *) "&gt;";
                rlen = sizeof("&gt;") - 1;
                break;

            case '"':
                rep = (const unsigned char *) "&quot;";
                rlen = sizeof("&quot;") - 1;
                break;

            case '\'':
                rep = (const unsigned char *) "&#39;";
                rlen = sizeof("&#39;") - 1;
                break;

            case '\t': case '\n': case '\r':
                rep = (const unsigned char *) " ";
                break;

            default:
                if (c < 0x20 || c == 0x7f) {
                    rep = ngx_http_imprest_oauth_fffd;
                    rlen = 3;
                }
            }

        } else if (c >= 0xc2 && c <= 0xf4) {

            /*
             * Unicode 15, 3.9, table 3-7: the second byte's range depends
             * on the first, which excludes overlong forms, surrogates and
             * code points above U+10FFFF.
             */

            lo = 0x80;
            hi = 0xbf;

            if (c <= 0xdf) {
                need = 1;
                cp = c & 0x1f;

            } else if (c <= 0xef) {
                need = 2;
                cp = c & 0x0f;
                lo = (c == 0xe0) ? 0xa0 : 0x80;
                hi = (c == 0xed) ? 0x9f : 0xbf;

            } else {
                need = 3;
                cp = c & 0x07;
                lo = (c == 0xf0) ? 0x90 : 0x80;
                hi = (c == 0xf4) ? 0x8f : 0xbf;
            }

            for ( /* void */ ; need; j++, need--) {
                if (j == len || src[j] < lo || src[j] > hi) {
                    break;
                }

                cp = (cp << 6) | (src[j] & 0x3f);
                lo = 0x80;
                hi = 0xbf;
            }

            /*
             * An ill-formed sequence gives one U+FFFD for its maximal
             * subpart, src[i..j), and decoding resumes at src[j] (Unicode
             * 15, 3.9, "U+FFFD substitution of maximal subparts").
             */

            if (need || ngx_http_imprest_oauth_invisible(cp)) {
                rep = ngx_http_imprest_oauth_fffd;
                rlen = 3;

            } else {
                rlen = j - i;
            }

        } else {

            /* 0x80-0xc1 (continuation, overlong lead) and 0xf5-0xff */

            rep = ngx_http_imprest_oauth_fffd;
            rlen = 3;
        }

        if (dst) {
            memcpy(dst + k, rep, rlen);
        }

        k += rlen;
        i = j;
    }

    return k;
}


int
ngx_http_imprest_scope_valid(const unsigned char *list, size_t len)
{
    size_t         i;
    unsigned char  c;

    /* RFC 6749, 3.3 */

    if (list == NULL || len == 0 || list[0] == ' ' || list[len - 1] == ' ') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = list[i];

        if (c == ' ') {
            if (list[i - 1] == ' ') {
                return 0;
            }

            continue;
        }

        /* NQCHAR = %x21 / %x23-5B / %x5D-7E */

        if (c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e) {
            return 0;
        }
    }

    return 1;
}


size_t
ngx_http_imprest_scope_set(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t                n, tokens;
    const unsigned char  *p, *last, *start;

    if (len > NGX_HTTP_IMPREST_SCOPE_MAX_LEN
        || !ngx_http_imprest_scope_valid(src, len))
    {
        return 0;
    }

    n = 0;
    tokens = 0;
    p = src;
    last = src + len;

    while (p < last) {
        start = p;

        while (p < last && *p != ' ') {
            p++;
        }

        if (++tokens > NGX_HTTP_IMPREST_SCOPE_MAX_TOKENS) {
            return 0;
        }

        if (!ngx_http_imprest_scope_has(dst, n, start, (size_t) (p - start))) {
            if (n) {
                dst[n++] = ' ';
            }

            memcpy(dst + n, start, (size_t) (p - start));
            n += (size_t) (p - start);
        }

        p++;    /* the one space, or past the end */
    }

    return n;
}


int
ngx_http_imprest_scope_subset(const unsigned char *sub, size_t slen,
    const unsigned char *set, size_t len)
{
    size_t                tokens;
    const unsigned char  *p, *last, *start;

    if (sub == NULL) {
        return 0;
    }

    tokens = 0;
    p = sub;
    last = sub + slen;

    while (p < last) {

        while (p < last && *p == ' ') {
            p++;
        }

        start = p;

        while (p < last && *p != ' ') {
            p++;
        }

        if (p == start) {
            break;
        }

        if (!ngx_http_imprest_scope_has(set, len, start, (size_t) (p - start)))
        {
            return 0;
        }

        tokens++;
    }

    return tokens > 0;
}


static int
ngx_http_imprest_oauth_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * application/x-www-form-urlencoded decoding of src into dst (at most len
 * bytes; dst may be src or lie before it: a byte is written only after
 * the bytes it comes from were read).
 */

static int
ngx_http_imprest_oauth_unescape(const unsigned char *src, size_t len,
    unsigned char *dst, size_t *dlen)
{
    int            hi, lo;
    size_t         i, n;
    unsigned char  c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%') {
            if (len - i < 3) {
                return NGX_HTTP_IMPREST_FORM_BAD_ENCODING;
            }

            hi = ngx_http_imprest_oauth_hex(src[i + 1]);
            lo = ngx_http_imprest_oauth_hex(src[i + 2]);

            if (hi < 0 || lo < 0) {
                return NGX_HTTP_IMPREST_FORM_BAD_ENCODING;
            }

            c = (unsigned char) (hi << 4 | lo);
            i += 2;

            /* a NUL would cut the value short in C strings and logs */

            if (c == '\0') {
                return NGX_HTTP_IMPREST_FORM_BAD_CHAR;
            }

        } else if (c < 0x20 || c == 0x7f) {
            return NGX_HTTP_IMPREST_FORM_BAD_CHAR;
        }

        dst[n++] = c;
    }

    *dlen = n;

    return NGX_HTTP_IMPREST_FORM_OK;
}


/*
 * The authority of an http or https redirect URI: lower-case host, then
 * an optional port; *pp is left at the path.  loopback: http, where only
 * 127.0.0.1 and [::1] are allowed.
 */

static const char *
ngx_http_imprest_oauth_host_check(const unsigned char **pp,
    const unsigned char *last, int loopback)
{
    size_t                digits;
    unsigned long         port;
    unsigned char         c;
    const unsigned char  *p, *host, *end;

    p = *pp;
    host = p;

    if (p < last && *p == '[') {

        /* RFC 3986, 3.2.2: IP-literal = "[" IPv6address "]" */

        p++;

        while (p < last && *p != ']') {
            c = *p;

            if (c >= 'A' && c <= 'F') {
                return "upper-case host";
            }

            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                  || c == ':' || c == '.'))
            {
                return "invalid host";
            }

            p++;
        }

        if (p == last || p == host + 1) {
            return "invalid host";
        }

        p++;

    } else {

        /* RFC 3986, 3.2.2: reg-name, here DNS-like labels */

        while (p < last && *p != ':' && *p != '/' && *p != '?') {
            c = *p;

            if (c >= 'A' && c <= 'Z') {
                return "upper-case host";
            }

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || c == '-' || c == '_' || c == '.'))
            {
                return "invalid host";
            }

            if (c == '.' && (p == host || p[-1] == '.')) {
                return "invalid host";
            }

            p++;
        }

        if (p == host || p[-1] == '.') {
            return "invalid host";
        }
    }

    end = p;

    /* RFC 9700, 2.6: http only for loopback; RFC 8252, 8.3: no localhost */

    if (loopback
        && !((end - host == 9 && memcmp(host, "127.0.0.1", 9) == 0)
             || (end - host == 5 && memcmp(host, "[::1]", 5) == 0)))
    {
        return "http is allowed only for 127.0.0.1 and [::1]";
    }

    if (p < last && *p == ':') {
        p++;

        port = 0;
        digits = 0;

        while (p < last && *p >= '0' && *p <= '9' && digits < 6) {
            port = port * 10 + (unsigned long) (*p - '0');
            digits++;
            p++;
        }

        if (digits == 0 || digits > 5 || end[1] == '0' || port > 65535) {
            return "invalid port";
        }
    }

    if (p < last && *p != '/' && *p != '?') {
        return "invalid authority";
    }

    *pp = p;

    return NULL;
}


/*
 * Path and query of a redirect URI whose characters were already checked
 * one by one.
 */

static const char *
ngx_http_imprest_oauth_path_check(const unsigned char *p,
    const unsigned char *last)
{
    const unsigned char  *seg;

    seg = p;

    for ( /* void */ ; p <= last; p++) {

        if (p == last || *p == '/' || *p == '?') {

            /* RFC 3986, 5.2.4: dot segments would be removed by a client */

            if ((p - seg == 1 && seg[0] == '.')
                || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
            {
                return "\".\" or \"..\" path segment";
            }

            if (p == last || *p == '?') {
                break;
            }

            seg = p + 1;
            continue;
        }

        /* RFC 3986, 3.2.2: "[" and "]" belong in an IP literal only */

        if (*p == '[' || *p == ']') {
            return "character not allowed in a URI";
        }

        /*
         * Encoded ".", "/", "\" or "%" in the path: decoded by one party
         * and not by another they make "../" out of an exact match.  The
         * "%XX" was already checked to be complete.
         */

        if (*p == '%') {
            if ((p[1] == '2' && (p[2] == 'e' || p[2] == 'E'
                                 || p[2] == 'f' || p[2] == 'F'
                                 || p[2] == '5'))
                || (p[1] == '5' && (p[2] == 'c' || p[2] == 'C')))
            {
                return "encoded \".\", \"/\", \"\\\" or \"%\" in the path";
            }
        }
    }

    /* the query: only the characters that are not allowed anywhere */

    for ( /* void */ ; p < last; p++) {
        if (*p == '[' || *p == ']') {
            return "character not allowed in a URI";
        }
    }

    return NULL;
}


static int
ngx_http_imprest_oauth_pkce_valid(const unsigned char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (s == NULL
        || len < NGX_HTTP_IMPREST_PKCE_MIN
        || len > NGX_HTTP_IMPREST_PKCE_MAX)
    {
        return 0;
    }

    /* RFC 7636, 4.1: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/*
 * Standard base64 with padding (RFC 4648, 4), canonical only: length a
 * multiple of 4, "=" only as the last one or two characters, zero unused
 * bits (RFC 4648, 3.5).  dst needs len / 4 * 3 bytes.
 */

static int
ngx_http_imprest_oauth_base64_decode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t *dlen)
{
    size_t         i, pad, n;
    unsigned long  acc;
    unsigned char  c, v;

    if (len == 0 || len % 4 != 0) {
        return -1;
    }

    pad = 0;

    if (src[len - 1] == '=') {
        pad = (src[len - 2] == '=') ? 2 : 1;
    }

    n = 0;
    acc = 0;

    for (i = 0; i < len - pad; i++) {
        c = src[i];

        if (c >= 'A' && c <= 'Z') {
            v = (unsigned char) (c - 'A');

        } else if (c >= 'a' && c <= 'z') {
            v = (unsigned char) (c - 'a' + 26);

        } else if (c >= '0' && c <= '9') {
            v = (unsigned char) (c - '0' + 52);

        } else if (c == '+') {
            v = 62;

        } else if (c == '/') {
            v = 63;

        } else {
            return -1;
        }

        acc = (acc << 6) | v;

        if (i % 4 == 3) {
            dst[n++] = (unsigned char) (acc >> 16);
            dst[n++] = (unsigned char) (acc >> 8);
            dst[n++] = (unsigned char) acc;
            acc = 0;
        }
    }

    if (pad == 2) {
        if (acc & 0x0f) {
            return -1;
        }

        dst[n++] = (unsigned char) (acc >> 4);

    } else if (pad == 1) {
        if (acc & 0x03) {
            return -1;
        }

        dst[n++] = (unsigned char) (acc >> 10);
        dst[n++] = (unsigned char) (acc >> 2);
    }

    *dlen = n;

    return 0;
}


/*
 * Code points that change how the text around them reads without being
 * seen: C1 controls, bidi controls, zero-width and invisible characters,
 * line and paragraph separators.
 */

static int
ngx_http_imprest_oauth_invisible(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f)
           || cp == 0x061c
           || (cp >= 0x200b && cp <= 0x200f)
           || (cp >= 0x2028 && cp <= 0x202e)
           || (cp >= 0x2060 && cp <= 0x2069)
           || cp == 0xfeff;
}
