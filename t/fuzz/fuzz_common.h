/*
 * Shared helpers of the libFuzzer targets (tools/fuzz.sh builds them).
 * CHECK aborts, so a broken invariant is reported like a crash.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
                    __LINE__, #c);                                        \
            abort();                                                      \
        }                                                                 \
    } while (0)

/* an exact-size heap copy, so ASan sees any read past len (never NULL) */
static inline unsigned char *
fuzz_dup(const uint8_t *p, size_t len)
{
    unsigned char *d = malloc(len ? len : 1);
    CHECK(d != NULL);
    if (len) {
        memcpy(d, p, len);
    }
    return d;
}

/* an exact-size heap buffer, poisoned with 0xAA (never NULL) */
static inline unsigned char *
fuzz_buf(size_t len)
{
    unsigned char *d = malloc(len ? len : 1);
    CHECK(d != NULL);
    memset(d, 0xAA, len ? len : 1);
    return d;
}

#endif
