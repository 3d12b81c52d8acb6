/*
 * Scope lists (ngx_http_imprest_scope_valid, _scope_set, _scope_subset,
 * _scope_has).  Input: "list\nother" (no newline: other is list).
 * Asserts: scope_valid agrees with a reference of RFC 6749 3.3 strict
 * syntax; scope_set into exactly len bytes returns 0 for an invalid or
 * oversized list, else a valid list with no repeated token, that is a
 * subset of the input and the input of it; scope_subset agrees with a
 * reference built on scope_has.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_oauth.h"
#include "ngx_http_imprest_core.h"

static int
nqchar(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int
valid_ref(const unsigned char *s, size_t len, size_t *ntok)
{
    size_t i;

    *ntok = 0;
    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ') {
        return 0;
    }
    *ntok = 1;
    for (i = 0; i < len; i++) {
        if (s[i] == ' ') {
            if (s[i + 1] == ' ') {      /* i + 1 < len: s[len-1] != ' ' */
                return 0;
            }
            (*ntok)++;
        } else if (!nqchar(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int
subset_ref(const unsigned char *sub, size_t slen, const unsigned char *set,
    size_t len)
{
    const unsigned char *pos = sub, *tok;
    size_t tlen;
    int any = 0;

    while ((tlen = ngx_http_imprest_list_next(&pos, sub + slen, &tok)) != 0) {
        if (!ngx_http_imprest_scope_has(set, len, tok, tlen)) {
            return 0;
        }
        any = 1;
    }
    return any;
}

static void
check_set(const unsigned char *s, size_t len)
{
    unsigned char *dst = fuzz_buf(len);
    const unsigned char *pos, *tok, *pos2, *tok2;
    size_t w, ntok, dtok, tlen, tlen2;
    int valid = valid_ref(s, len, &ntok);

    w = ngx_http_imprest_scope_set(dst, s, len);
    if (!valid || len > NGX_HTTP_IMPREST_SCOPE_MAX_LEN
        || ntok > NGX_HTTP_IMPREST_SCOPE_MAX_TOKENS)
    {
        CHECK(w == 0);
        free(dst);
        return;
    }
    CHECK(w > 0 && w <= len);
    CHECK(valid_ref(dst, w, &dtok) == 1 && dtok <= ntok);
    CHECK(ngx_http_imprest_scope_valid(dst, w) == 1);

    /* no repeats: each token occurs once after its first occurrence */
    pos = dst;
    while ((tlen = ngx_http_imprest_list_next(&pos, dst + w, &tok)) != 0) {
        pos2 = pos;
        while ((tlen2 = ngx_http_imprest_list_next(&pos2, dst + w, &tok2))
               != 0)
        {
            CHECK(!(tlen == tlen2 && memcmp(tok, tok2, tlen) == 0));
        }
    }

    CHECK(subset_ref(dst, w, s, len) == 1);
    CHECK(subset_ref(s, len, dst, w) == 1);
    CHECK(ngx_http_imprest_scope_subset(dst, w, s, len) == 1);
    CHECK(ngx_http_imprest_scope_subset(s, len, dst, w) == 1);
    free(dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t alen = nl ? (size_t) (nl - data) : size;
    size_t blen = nl ? size - alen - 1 : size;
    unsigned char *a = fuzz_dup(data, alen);
    unsigned char *b = fuzz_dup(nl ? nl + 1 : data, blen);
    size_t ntok;

    CHECK(ngx_http_imprest_scope_valid(a, alen) == valid_ref(a, alen, &ntok));
    CHECK(ngx_http_imprest_scope_valid(b, blen) == valid_ref(b, blen, &ntok));
    check_set(a, alen);
    check_set(b, blen);
    CHECK(ngx_http_imprest_scope_subset(a, alen, b, blen)
          == subset_ref(a, alen, b, blen));
    CHECK(ngx_http_imprest_scope_subset(b, blen, a, alen)
          == subset_ref(b, blen, a, alen));

    free(b);
    free(a);
    return 0;
}
