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
 *   grant:<gid>:info           hash   who granted what (GRANT_* fields),
 *                                     as long-lived as the set
 *   client:<client_id>         hash   an app                (CLIENT_*)
 *   user:<uid>                 hash   a user ("name")
 *   user:<uid>:orgs            set    the user's organization ids
 *   user:<uid>:clients         set    the apps the user owns (developer)
 *   user:<uid>:roles           hash   organization uuid -> "admin" or
 *                                     "member" (absent: "member"); written
 *                                     by the accounting system
 *   user:<uid>:grants          set    gids of the user's grants    \
 *   client:<client_id>:grants  set    gids of the app's grants      > index
 *   org:<uuid>:grants          set    gids granting the org        /
 *   initial:<sha256hex(tok)>   hash   an RFC 7591 initial access token
 *   initials                   zset   their digests by exp (imprestctl's
 *                                     index for "initial-token list")
 *   org:<uuid>                 hash   an organization ("name")
 *   org:<uuid>:members         set    its members' uids (imprestctl's
 *                                     index for deleting an organization)
 *   clients                    set    every app's client_id (app list)
 *
 * A secret (token, code, request id) never appears in a key or a value:
 * only its SHA-256.  Every record but users, organizations, memberships
 * and apps has a TTL.
 *
 * The three grant indexes are kept by the scripts that make and end
 * grants (src/lua/redeem.lua, lib/revoke.lua, disconnect.lua) in the same
 * atomic call, and each lives as long as its longest-lived grant: a gid
 * whose grant expired is dropped by the script that next reads the
 * index (src/lua/connections.lua), so no index is ever scanned for
 * keys and none outgrows its live grants for long.
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
#define NGX_HTTP_IMPREST_KEY_ROLES_SUFFIX  ":roles"
#define NGX_HTTP_IMPREST_KEY_GRANTS_SUFFIX ":grants"
#define NGX_HTTP_IMPREST_KEY_INFO_SUFFIX   ":info"
#define NGX_HTTP_IMPREST_KEY_INITIAL       "initial:"
#define NGX_HTTP_IMPREST_KEY_INITIALS      "initials"

/* membership roles (user:<uid>:roles values) */
#define NGX_HTTP_IMPREST_ROLE_ADMIN        "admin"
#define NGX_HTTP_IMPREST_ROLE_MEMBER       "member"

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
/* an app without a secret digest is public (PKCE only) */
/* SHA-256 of the RFC 7592 registration access token, or absent */
#define NGX_HTTP_IMPREST_F_RAT             "rat"

/*
 * grant:<gid>:info: uid, cid, scope, orgs (as in token records: the orgs
 * still granted), gexp (the grant's end) and created (unix time of the
 * code's redemption)
 */

/* initial:<digest>: exp (F_EXP), created (F_CREATED), note */
#define NGX_HTTP_IMPREST_F_NOTE            "note"


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
