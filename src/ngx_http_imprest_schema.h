/*
 * Copyright (C) Imprest
 *
 * The Redis schema: every key and field name the module, imprestctl and
 * the scripts (src/lua/) use, in one place.  nginx-free (libc, OpenSSL),
 * like the core.  Keys are "<prefix><kind><id>", the prefix being
 * imprest_redis's prefix= ("imprest:" by default):
 *
 *   at:<sha256hex(token)>      hash   an access token     (TOKEN_* fields)
 *   rt:<sha256hex(token)>      hash   a refresh token     (TOKEN_*, RT_*)
 *   ac:<sha256hex(code)>       hash   an authorization code
 *   consent:<sha256hex(rid)>   hash   a consent request awaiting a decision
 *   grant:<gid>                set    the keys of a grant's live tokens
 *   client:<client_id>         hash   an app                (CLIENT_*)
 *   user:<uid>                 hash   a user ("name")
 *   user:<uid>:orgs            set    the user's organization ids
 *   user:<uid>:clients         set    the apps the user owns (developer)
 *   org:<uuid>                 hash   an organization ("name")
 *   org:<uuid>:members         set    its members' uids (imprestctl's
 *                                     index for deleting an organization)
 *   clients                    set    every app's client_id (app list)
 *
 * A secret (token, code, request id) never appears in a key or a value:
 * only its SHA-256.  Every record but users, organizations, memberships
 * and apps has a TTL.
 */

#ifndef _NGX_HTTP_IMPREST_SCHEMA_H_INCLUDED_
#define _NGX_HTTP_IMPREST_SCHEMA_H_INCLUDED_


#include <stddef.h>


#define NGX_HTTP_IMPREST_KEY_AT            "at:"
#define NGX_HTTP_IMPREST_KEY_RT            "rt:"
#define NGX_HTTP_IMPREST_KEY_CODE          "ac:"
#define NGX_HTTP_IMPREST_KEY_CONSENT       "consent:"
#define NGX_HTTP_IMPREST_KEY_GRANT         "grant:"
#define NGX_HTTP_IMPREST_KEY_CLIENT        "client:"
#define NGX_HTTP_IMPREST_KEY_USER          "user:"
#define NGX_HTTP_IMPREST_KEY_ORG           "org:"
#define NGX_HTTP_IMPREST_KEY_ORGS_SUFFIX   ":orgs"
#define NGX_HTTP_IMPREST_KEY_CLIENTS_SUFFIX ":clients"
#define NGX_HTTP_IMPREST_KEY_MEMBERS_SUFFIX ":members"
#define NGX_HTTP_IMPREST_KEY_APPS          "clients"

/* token records (at:, rt:) */
#define NGX_HTTP_IMPREST_F_UID             "uid"
#define NGX_HTTP_IMPREST_F_CID             "cid"
#define NGX_HTTP_IMPREST_F_SCOPE           "scope"
#define NGX_HTTP_IMPREST_F_ORGS            "orgs"
#define NGX_HTTP_IMPREST_F_IAT             "iat"
#define NGX_HTTP_IMPREST_F_EXP             "exp"
#define NGX_HTTP_IMPREST_F_AUD             "aud"
#define NGX_HTTP_IMPREST_F_GID             "gid"
/* refresh tokens also: the grant's end, its access token and the one
 * before; and once rotated, the "used" marker */
#define NGX_HTTP_IMPREST_F_GEXP            "gexp"
#define NGX_HTTP_IMPREST_F_AT              "at"
#define NGX_HTTP_IMPREST_F_PAT             "pat"
#define NGX_HTTP_IMPREST_F_USED            "used"

/* apps (client:) */
#define NGX_HTTP_IMPREST_F_NAME            "name"
#define NGX_HTTP_IMPREST_F_SECRET          "secret"
#define NGX_HTTP_IMPREST_F_REDIRECT_URIS   "redirect_uris"
#define NGX_HTTP_IMPREST_F_INTROSPECT      "introspect"
#define NGX_HTTP_IMPREST_F_OWNER           "owner"
#define NGX_HTTP_IMPREST_F_CREATED         "created"


/*
 * "<prefix><kind><id>" into dst; with dst NULL only measures.  Returns the
 * length.
 */
size_t ngx_http_imprest_schema_key(unsigned char *dst,
    const unsigned char *prefix, size_t plen, const char *kind,
    const unsigned char *id, size_t idlen);

/*
 * "<prefix><kind><sha256hex(secret)>" into dst, which has room for
 * plen + strlen(kind) + 64 bytes.  Returns the length, 0 when SHA-256
 * failed.
 */
size_t ngx_http_imprest_schema_secret_key(unsigned char *dst,
    const unsigned char *prefix, size_t plen, const char *kind,
    const unsigned char *secret, size_t slen);


#endif /* _NGX_HTTP_IMPREST_SCHEMA_H_INCLUDED_ */
