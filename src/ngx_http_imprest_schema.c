/*
 * Copyright (C) Imprest
 */


#include <string.h>

#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_schema.h"


size_t
ngx_http_imprest_schema_key(unsigned char *dst, const unsigned char *prefix,
    size_t plen, const char *kind, const unsigned char *id, size_t idlen)
{
    size_t  klen;

    klen = strlen(kind);

    if (dst) {
        memcpy(dst, prefix, plen);
        memcpy(dst + plen, kind, klen);
        memcpy(dst + plen + klen, id, idlen);
    }

    return plen + klen + idlen;
}


size_t
ngx_http_imprest_schema_secret_key(unsigned char *dst,
    const unsigned char *prefix, size_t plen, const char *kind,
    const unsigned char *secret, size_t slen)
{
    size_t  klen;

    klen = strlen(kind);

    memcpy(dst, prefix, plen);
    memcpy(dst + plen, kind, klen);

    if (ngx_http_imprest_digest_hex(secret, slen, dst + plen + klen) != 0) {
        return 0;
    }

    return plen + klen + NGX_HTTP_IMPREST_DIGEST_HEX_LEN;
}
