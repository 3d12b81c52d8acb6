/*
 * application/x-www-form-urlencoded (ngx_http_imprest_form_parse,
 * ngx_http_imprest_form_get).  The first input byte picks max (0-31), the
 * rest is the body.  Asserts: scratch of exactly len bytes suffices; on OK
 * n <= max and every name and value lies inside the scratch and holds no
 * NUL or raw control character; on an error n is 0; form_get agrees with
 * counting the parsed names, and its value is NULL/0 unless it returns 1.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_oauth.h"

#define MAXP 32

static void
check_field(const unsigned char *buf, size_t len, const unsigned char *f,
    size_t flen)
{
    size_t i;

    if (flen == 0) {
        return;
    }
    CHECK(f >= buf && f + flen <= buf + len);
    for (i = 0; i < flen; i++) {
        CHECK(f[i] != 0);
    }
}

static void
check_get(const ngx_http_imprest_param_t *params, size_t n,
    const char *name, unsigned flags)
{
    const unsigned char *v = (const unsigned char *) "x";
    size_t vlen = 99, i, count = 0, nlen = strlen(name);
    int rc;

    for (i = 0; i < n; i++) {
        if (params[i].name_len == nlen
            && memcmp(params[i].name, name, nlen) == 0
            && !((flags & NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT)
                 && params[i].value_len == 0))
        {
            count++;
        }
    }

    rc = ngx_http_imprest_form_get(params, n, name, flags, &v, &vlen);
    CHECK(rc == (count == 0 ? 0 : count == 1 ? 1 : 2));
    if (rc != 1) {
        CHECK(v == NULL && vlen == 0);
    } else {
        CHECK(v != NULL || vlen == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = { "a", "grant_type", "code", "state",
                                   "redirect_uri", "scope", "" };
    ngx_http_imprest_param_t params[MAXP];
    unsigned char *p, *buf;
    size_t len, max, n = 12345, i, total;
    int rc;

    if (size < 1) {
        return 0;
    }
    max = data[0] % MAXP;
    len = size - 1;
    p = fuzz_dup(data + 1, len);
    buf = fuzz_buf(len);

    rc = ngx_http_imprest_form_parse(p, len, buf, params, max, &n);
    CHECK(rc == NGX_HTTP_IMPREST_FORM_OK
          || rc == NGX_HTTP_IMPREST_FORM_BAD_ENCODING
          || rc == NGX_HTTP_IMPREST_FORM_BAD_CHAR
          || rc == NGX_HTTP_IMPREST_FORM_TOO_MANY);

    if (rc != NGX_HTTP_IMPREST_FORM_OK) {
        CHECK(n == 0);
    } else {
        CHECK(n <= max);
        total = 0;
        for (i = 0; i < n; i++) {
            check_field(buf, len, params[i].name, params[i].name_len);
            check_field(buf, len, params[i].value, params[i].value_len);
            total += params[i].name_len + params[i].value_len;
        }
        CHECK(total <= len);
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            check_get(params, n, names[i], 0);
            check_get(params, n, names[i], NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT);
        }
        if (n > 0 && params[0].name_len > 0 && params[0].name_len < 64) {
            char name[64];
            memcpy(name, params[0].name, params[0].name_len);
            name[params[0].name_len] = 0;
            if (strlen(name) == params[0].name_len) {
                check_get(params, n, name, 0);
                check_get(params, n, name, NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT);
            }
        }
    }

    free(buf);
    free(p);
    return 0;
}
