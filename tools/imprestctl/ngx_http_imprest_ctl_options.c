/*
 * Copyright (C) Imprest
 *
 * imprestctl: the options and arguments of the subcommands, checked
 * before anything is sent.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_imprest_ctl.h"


static int ngx_http_imprest_ctl_check_scope(const char *s);


/*
 * "--name VALUE" or "--name=VALUE" at argv[*i]: the value, with *i moved
 * past it; NULL when argv[*i] is another option or the value is missing.
 */

const char *
ngx_http_imprest_ctl_optarg(int argc, char **argv, int *i, const char *name)
{
    size_t       n;
    const char  *arg;

    arg = argv[*i];
    n = strlen(name);

    if (strncmp(arg, name, n) != 0) {
        return NULL;
    }

    if (arg[n] == '=') {
        return arg + n + 1;
    }

    if (arg[n] != '\0' || *i + 1 >= argc) {
        return NULL;
    }

    (*i)++;

    return argv[*i];
}


int
ngx_http_imprest_ctl_parse(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, char **pos, int maxpos,
    int *npos)
{
    int          i, options;
    size_t       k;
    const char  *v;

    *npos = 0;
    options = 1;

    for (i = 0; i < argc; i++) {

        if (options && strcmp(argv[i], "--") == 0) {
            options = 0;
            continue;
        }

        if (!options || argv[i][0] != '-' || argv[i][1] == '\0') {
            if (*npos == maxpos) {
                return ngx_http_imprest_ctl_usage_error(
                           "too many arguments");
            }

            pos[(*npos)++] = argv[i];
            continue;
        }

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return NGX_HTTP_IMPREST_CTL_HELP;
        }

        /* every command takes it, after its name too */
        if (strcmp(argv[i], "--json") == 0) {
            ngx_http_imprest_ctl_json = 1;
            continue;
        }

        v = NULL;

        for (k = 0; k < nopts; k++) {
            if (opts[k].flag) {
                v = (strcmp(argv[i], opts[k].name) == 0) ? "1" : NULL;

            } else {
                v = ngx_http_imprest_ctl_optarg(argc, argv, &i,
                                                opts[k].name);
            }

            if (v) {
                break;
            }
        }

        if (v == NULL) {
            return ngx_http_imprest_ctl_usage_error(
                       "unknown or incomplete option \"%.64s\"", argv[i]);
        }

        if (opts[k].list) {
            opts[k].list[opts[k].n++] = v;

        } else if (opts[k].value) {
            return ngx_http_imprest_ctl_usage_error("%s given twice",
                                                    opts[k].name);
        }

        opts[k].value = v;
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* a decimal integer in [min, max], nothing else */

int
ngx_http_imprest_ctl_number(const char *s, long long min, long long max,
    long long *out)
{
    char       *end;
    long long   n;

    if (s[0] < '0' || s[0] > '9') {
        if (s[0] != '-' || min >= 0) {
            return -1;
        }
    }

    errno = 0;
    n = strtoll(s, &end, 10);

    if (errno || end == s || *end != '\0' || n < min || n > max) {
        return -1;
    }

    if (out) {
        *out = n;
    }

    return 0;
}


int
ngx_http_imprest_ctl_check_id(const char *what, const char *s)
{
    if (s == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing %s", what);
    }

    if (!ngx_http_imprest_id_valid((const u_char *) s, strlen(s))) {
        return ngx_http_imprest_ctl_usage_error(
                   "invalid %s: 1 to 128 of [A-Za-z0-9._@-]", what);
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_check_name(const char *s, size_t max)
{
    u_char   c, c1, c2;
    size_t   i, len;
    json_t  *utf8;

    if (s == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing --name");
    }

    len = strlen(s);

    if (len == 0 || len > max) {
        return ngx_http_imprest_ctl_usage_error(
                   "--name must be 1 to %d bytes", (int) max);
    }

    for (i = 0; i < len; i++) {
        if ((u_char) s[i] < 0x20 || s[i] == 0x7f) {
            return ngx_http_imprest_ctl_usage_error(
                       "--name must not contain control characters");
        }
    }

    /* names are shown on consent pages and in JSON: UTF-8 only */

    utf8 = json_stringn(s, len);
    if (utf8 == NULL) {
        return ngx_http_imprest_ctl_usage_error("--name is not UTF-8");
    }

    json_decref(utf8);

    /*
     * C1 controls, line separators and bidirectional overrides would let
     * a name rewrite how the text around it reads on a consent page.
     */

    for (i = 0; i + 1 < len; i++) {
        c = (u_char) s[i];
        c1 = (u_char) s[i + 1];
        c2 = (i + 2 < len) ? (u_char) s[i + 2] : 0;

        if ((c == 0xc2 && c1 >= 0x80 && c1 <= 0x9f)
            || (c == 0xe2 && c1 == 0x80
                && (c2 == 0x8e || c2 == 0x8f || (c2 >= 0xa8 && c2 <= 0xae)))
            || (c == 0xe2 && c1 == 0x81 && c2 >= 0xa6 && c2 <= 0xa9))
        {
            return ngx_http_imprest_ctl_usage_error(
                       "--name must not contain control or bidirectional "
                       "formatting characters");
        }
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * RFC 6749, 3.3: scope = scope-token *( SP scope-token ), scope-token =
 * 1*NQCHAR; "" is no scope.
 */

static int
ngx_http_imprest_ctl_check_scope(const char *s)
{
    size_t  i, len;

    len = strlen(s);

    for (i = 0; i < len; i++) {
        if (s[i] == ' ') {
            if (i == 0 || i == len - 1 || s[i + 1] == ' ') {
                return ngx_http_imprest_ctl_usage_error(
                           "--scope: tokens separated by single spaces");
            }

            continue;
        }

        if ((u_char) s[i] < 0x21 || (u_char) s[i] > 0x7e
            || s[i] == '"' || s[i] == '\\')
        {
            return ngx_http_imprest_ctl_usage_error(
                       "--scope: invalid character in a scope token");
        }
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * --scope checked (ngx_http_imprest_ctl_check_scope()) and as the server
 * keeps it: a set (RFC 6749 3.3), each token once in the order first
 * given, within the server's bounds.  *s then points to a static copy.
 */

int
ngx_http_imprest_ctl_scope_set(const char **s)
{
    int          rc;
    size_t       n;
    static char  set[NGX_HTTP_IMPREST_SCOPE_MAX_LEN + 1];

    rc = ngx_http_imprest_ctl_check_scope(*s);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if ((*s)[0] == '\0') {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    n = ngx_http_imprest_scope_set((u_char *) set, (const u_char *) *s,
                                   strlen(*s));
    if (n == 0) {
        return ngx_http_imprest_ctl_usage_error(
                   "--scope: at most %d bytes and %d tokens",
                   NGX_HTTP_IMPREST_SCOPE_MAX_LEN,
                   NGX_HTTP_IMPREST_SCOPE_MAX_TOKENS);
    }

    set[n] = '\0';
    *s = set;

    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_check_redirect_uri(const char *s)
{
    const char  *why;

    if (s == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing --redirect-uri");
    }

    /* the server's own rules (RFC 6749 3.1.2, RFC 8252 7, RFC 9700 2.1) */
    why = ngx_http_imprest_redirect_uri_register_check((const u_char *) s,
                                                       strlen(s));
    if (why) {
        return ngx_http_imprest_ctl_usage_error("--redirect-uri: %s", why);
    }

    /* stored space-separated: the check refuses whitespace already */
    return NGX_HTTP_IMPREST_CTL_OK;
}


int
ngx_http_imprest_ctl_check_uuid(const char *s, u_char *out)
{
    if (s == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing organization");
    }

    if (!ngx_http_imprest_uuid_canonical((const u_char *) s, strlen(s),
                                         out))
    {
        return ngx_http_imprest_ctl_usage_error(
                   "invalid organization: a UUID, 8-4-4-4-12 hex digits");
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * The arguments of a subcommand that takes one id (UID, CLIENT_ID) and
 * the options opts: *id is the checked id.
 */

int
ngx_http_imprest_ctl_parse_id(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, const char *what,
    const char **id)
{
    int    rc, n;
    char  *pos[1];

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, nopts, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    *id = n ? pos[0] : NULL;

    return ngx_http_imprest_ctl_check_id(what, *id);
}


/* an optional --owner: absent, or a uid */

int
ngx_http_imprest_ctl_check_owner(const char *owner)
{
    if (owner == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    return ngx_http_imprest_ctl_check_id("--owner", owner);
}


/* a membership role: "admin" or "member" */

int
ngx_http_imprest_ctl_check_role(const char *s)
{
    if (s == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing role");
    }

    if (strcmp(s, NGX_HTTP_IMPREST_ROLE_ADMIN) != 0
        && strcmp(s, NGX_HTTP_IMPREST_ROLE_MEMBER) != 0)
    {
        return ngx_http_imprest_ctl_usage_error(
                   "role: \"admin\" or \"member\"");
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}
