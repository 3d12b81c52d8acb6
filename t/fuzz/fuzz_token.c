/*
 * Token format, UUIDs, identifiers (src/ngx_http_imprest_core.h).
 *   token_check: 1 only for 56 bytes "imp_" TYPE "_" + 49 base64url chars;
 *   uuid_canonical: on 1, 36 bytes, lower-case 8-4-4-4-12, idempotent, and
 *     the input equals the output up to case;
 *   id_valid: agrees with a reference of "1 to 128 of [A-Za-z0-9._@-]";
 *   list_next / scope_has: every token list_next yields is found.
 */
#include "fuzz_common.h"
#include "ngx_http_imprest_core.h"

#include <ctype.h>

static int
b64url(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_';
}

static int
id_ref(const unsigned char *s, size_t len)
{
    size_t i;

    if (len < 1 || len > 128) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!(isalnum(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '@'
              || s[i] == '-'))
        {
            return 0;
        }
    }
    return 1;
}

static void
check_token(const char *type, const unsigned char *s, size_t len)
{
    size_t i;

    if (!ngx_http_imprest_token_check(type, s, len)) {
        return;
    }
    CHECK(len == NGX_HTTP_IMPREST_TOKEN_LEN);
    CHECK(memcmp(s, "imp_", 4) == 0);
    CHECK(memcmp(s + 4, type, 2) == 0);
    CHECK(s[6] == '_');
    for (i = NGX_HTTP_IMPREST_TOKEN_PREFIX_LEN; i < len; i++) {
        CHECK(b64url(s[i]));
    }
}

static void
check_uuid(const unsigned char *s, size_t len)
{
    unsigned char out[NGX_HTTP_IMPREST_UUID_LEN], again[NGX_HTTP_IMPREST_UUID_LEN];
    size_t i;

    if (!ngx_http_imprest_uuid_canonical(s, len, out)) {
        return;
    }
    CHECK(len == NGX_HTTP_IMPREST_UUID_LEN);
    for (i = 0; i < NGX_HTTP_IMPREST_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            CHECK(out[i] == '-');
        } else {
            CHECK(isdigit(out[i]) || (out[i] >= 'a' && out[i] <= 'f'));
        }
        CHECK(tolower(s[i]) == out[i]);
    }
    CHECK(ngx_http_imprest_uuid_canonical(out, sizeof(out), again) == 1);
    CHECK(memcmp(out, again, sizeof(out)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *types[] = { "at", "rt", "ac", "cs" };
    const unsigned char *pos, *last, *tok;
    unsigned char *s;
    size_t i, tlen, count;

    s = fuzz_dup(data, size);

    for (i = 0; i < 4; i++) {
        check_token(types[i], s, size);
    }
    /* the input's own type letters, so the checksum path is reached */
    if (size >= 7) {
        char type[3] = { (char) s[4], (char) s[5], 0 };
        if (type[0] && type[1]) {
            check_token(type, s, size);
        }
    }

    check_uuid(s, size);

    CHECK(ngx_http_imprest_id_valid(s, size) == id_ref(s, size));

    pos = s;
    last = s + size;
    count = 0;
    while ((tlen = ngx_http_imprest_list_next(&pos, last, &tok)) != 0) {
        CHECK(tok >= s && tok + tlen <= last && pos <= last);
        CHECK(memchr(tok, ' ', tlen) == NULL);
        CHECK(ngx_http_imprest_scope_has(s, size, tok, tlen) == 1);
        CHECK(++count <= size);
    }

    free(s);
    return 0;
}
