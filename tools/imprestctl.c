/*
 * Copyright (C) Imprest
 *
 * imprestctl: administration of the Redis records the gateway reads
 * (README.md, "Redis schema").  A short-lived process, so it uses
 * hiredis's synchronous API; every value travels as a binary-safe %b
 * argument, and every change that touches several keys is one MULTI/EXEC.
 * Output is one JSON object on stdout; errors are {"error":"..."} on
 * stderr with exit status 1, or 2 for usage errors.
 */


#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_oauth.h"


#define NGX_HTTP_IMPREST_CTL_OK           0
#define NGX_HTTP_IMPREST_CTL_ERROR        1
#define NGX_HTTP_IMPREST_CTL_USAGE        2
#define NGX_HTTP_IMPREST_CTL_HELP         3

#define NGX_HTTP_IMPREST_CTL_ID_MAX       128
#define NGX_HTTP_IMPREST_CTL_PREFIX_MAX   128
#define NGX_HTTP_IMPREST_CTL_NAME_MAX     256
#define NGX_HTTP_IMPREST_CTL_APP_NAME_MAX 100
#define NGX_HTTP_IMPREST_CTL_URI_MAX      2000
#define NGX_HTTP_IMPREST_CTL_CID_RANDOM   12            /* 96 bits */
#define NGX_HTTP_IMPREST_CTL_CID_LEN      28            /* "app_" 24 hex */
#define NGX_HTTP_IMPREST_CTL_AUD_MAX      512
#define NGX_HTTP_IMPREST_CTL_KEY_MAX      512
#define NGX_HTTP_IMPREST_CTL_TTL_MAX      315360000     /* ten years */
#define NGX_HTTP_IMPREST_CTL_EXP_MAX      253402300799LL /* 9999-12-31 */
#define NGX_HTTP_IMPREST_CTL_DEFAULT_TTL  7200
#define NGX_HTTP_IMPREST_CTL_RETRIES      10
#define NGX_HTTP_IMPREST_CTL_TIMEOUT      5

#define NGX_HTTP_IMPREST_CTL_DEFAULT_REDIS   "127.0.0.1:6379"
#define NGX_HTTP_IMPREST_CTL_DEFAULT_PREFIX  "imprest:"


typedef struct {
    redisContext   *redis;
    const char     *prefix;
    size_t          prefix_len;
    time_t          now;
} ngx_http_imprest_ctl_t;


typedef struct {
    u_char          data[NGX_HTTP_IMPREST_CTL_KEY_MAX];
    size_t          len;
} ngx_http_imprest_ctl_key_t;


/*
 * one --option of a subcommand; list != NULL makes it repeatable, flag
 * makes it take no value (value is then "1" when given)
 */
typedef struct {
    const char     *name;
    const char     *value;
    const char    **list;
    int             n;
    int             flag;
} ngx_http_imprest_ctl_opt_t;


typedef int (*ngx_http_imprest_ctl_handler_pt)(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);


typedef struct {
    const char                       *noun;
    const char                       *verb;
    ngx_http_imprest_ctl_handler_pt   handler;
} ngx_http_imprest_ctl_command_t;


static int ngx_http_imprest_ctl_error(const char *fmt, ...);
static int ngx_http_imprest_ctl_usage_error(const char *fmt, ...);
static void ngx_http_imprest_ctl_usage(FILE *f);
static const char *ngx_http_imprest_ctl_optarg(int argc, char **argv,
    int *i, const char *name);
static int ngx_http_imprest_ctl_parse(int argc, char **argv,
    ngx_http_imprest_ctl_opt_t *opts, size_t nopts, char **pos,
    int maxpos, int *npos);
static int ngx_http_imprest_ctl_number(const char *s, long long min,
    long long max, long long *out);
static int ngx_http_imprest_ctl_check_id(const char *what, const char *s);
static int ngx_http_imprest_ctl_check_name(const char *s, size_t max);
static int ngx_http_imprest_ctl_check_scope(const char *s);
static int ngx_http_imprest_ctl_scope_set(const char **s);
static int ngx_http_imprest_ctl_check_redirect_uri(const char *s);
static int ngx_http_imprest_ctl_check_uuid(const char *s, u_char *out);
static int ngx_http_imprest_ctl_connect(ngx_http_imprest_ctl_t *ctl,
    const char *addr, const char *user, const char *password,
    const char *db);
static int ngx_http_imprest_ctl_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const void *id,
    size_t len, const char *suffix);
static redisReply *ngx_http_imprest_ctl_command(ngx_http_imprest_ctl_t *ctl,
    const char *fmt, ...);
static redisReply *ngx_http_imprest_ctl_exec(ngx_http_imprest_ctl_t *ctl,
    int queued, int *aborted);
static int ngx_http_imprest_ctl_append(ngx_http_imprest_ctl_t *ctl,
    const char *fmt, ...);
static int ngx_http_imprest_ctl_print(json_t *obj);
static int ngx_http_imprest_ctl_print_ok(int existed);
static int ngx_http_imprest_ctl_set_str(json_t *obj, const char *key,
    const void *s, size_t len);
static json_t *ngx_http_imprest_ctl_split(const char *s, size_t len);
static int ngx_http_imprest_ctl_read_token(const char *arg, u_char *tok);
static int ngx_http_imprest_ctl_check_token(const char *arg);

static int ngx_http_imprest_ctl_user_add(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_user_del(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_org_add(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_org_del(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_unlink_all(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *record, ngx_http_imprest_ctl_key_t *set,
    const char *kind, const char *suffix, const void *self, size_t len,
    int uuids, int *existed);
static int ngx_http_imprest_ctl_member_add(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_member_del(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_token_mint(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_token_key(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv, ngx_http_imprest_ctl_key_t *key);
static int ngx_http_imprest_ctl_token_revoke(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_token_show(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_app_json(const void *cid, size_t len,
    redisReply *r, int full, const u_char *secret, json_t **out);
static int ngx_http_imprest_ctl_app_create(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_app_list(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_reply_cmp(const void *a, const void *b);
static int ngx_http_imprest_ctl_app_show(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_app_delete(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
static int ngx_http_imprest_ctl_app_secret(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);


static char  ngx_http_imprest_ctl_errstr[512];


static ngx_http_imprest_ctl_command_t  ngx_http_imprest_ctl_commands[] = {
    { "user", "add", ngx_http_imprest_ctl_user_add },
    { "user", "del", ngx_http_imprest_ctl_user_del },
    { "org", "add", ngx_http_imprest_ctl_org_add },
    { "org", "del", ngx_http_imprest_ctl_org_del },
    { "member", "add", ngx_http_imprest_ctl_member_add },
    { "member", "del", ngx_http_imprest_ctl_member_del },
    { "token", "mint", ngx_http_imprest_ctl_token_mint },
    { "token", "revoke", ngx_http_imprest_ctl_token_revoke },
    { "token", "show", ngx_http_imprest_ctl_token_show },
    { "app", "create", ngx_http_imprest_ctl_app_create },
    { "app", "list", ngx_http_imprest_ctl_app_list },
    { "app", "show", ngx_http_imprest_ctl_app_show },
    { "app", "delete", ngx_http_imprest_ctl_app_delete },
    { "app", "secret", ngx_http_imprest_ctl_app_secret },
    { NULL, NULL, NULL }
};


int
main(int argc, char **argv)
{
    int                              i, rc;
    json_t                          *err;
    const char                      *addr, *user, *password, *db, *v;
    ngx_http_imprest_ctl_t           ctl;
    ngx_http_imprest_ctl_command_t  *cmd;

    memset(&ctl, 0, sizeof(ngx_http_imprest_ctl_t));

    addr = getenv("IMPREST_REDIS");
    if (addr == NULL || addr[0] == '\0') {
        addr = NGX_HTTP_IMPREST_CTL_DEFAULT_REDIS;
    }

    ctl.prefix = getenv("IMPREST_PREFIX");
    if (ctl.prefix == NULL) {
        ctl.prefix = NGX_HTTP_IMPREST_CTL_DEFAULT_PREFIX;
    }

    /* an environment variable keeps the password out of "ps" */
    password = getenv("IMPREST_REDIS_PASSWORD");
    user = NULL;
    db = NULL;
    cmd = NULL;

    for (i = 1; i < argc; i++) {

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ngx_http_imprest_ctl_usage(stdout);
            return NGX_HTTP_IMPREST_CTL_OK;
        }

        if (strncmp(argv[i], "-", 1) != 0) {
            break;
        }

        if ((v = ngx_http_imprest_ctl_optarg(argc, argv, &i, "--redis"))) {
            addr = v;

        } else if ((v = ngx_http_imprest_ctl_optarg(argc, argv, &i,
                                                    "--password")))
        {
            password = v;

        } else if ((v = ngx_http_imprest_ctl_optarg(argc, argv, &i,
                                                    "--user")))
        {
            user = v;

        } else if ((v = ngx_http_imprest_ctl_optarg(argc, argv, &i,
                                                    "--db")))
        {
            db = v;

        } else if ((v = ngx_http_imprest_ctl_optarg(argc, argv, &i,
                                                    "--prefix")))
        {
            ctl.prefix = v;

        } else {
            rc = ngx_http_imprest_ctl_usage_error(
                     "unknown or incomplete option \"%.64s\"", argv[i]);
            goto done;
        }
    }

    if (argc - i < 2) {
        rc = ngx_http_imprest_ctl_usage_error("missing command");
        goto done;
    }

    for (cmd = ngx_http_imprest_ctl_commands; cmd->noun; cmd++) {
        if (strcmp(cmd->noun, argv[i]) == 0
            && strcmp(cmd->verb, argv[i + 1]) == 0)
        {
            break;
        }
    }

    if (cmd->noun == NULL) {
        rc = ngx_http_imprest_ctl_usage_error("unknown command");
        goto done;
    }

    ctl.prefix_len = strlen(ctl.prefix);

    if (ctl.prefix_len > NGX_HTTP_IMPREST_CTL_PREFIX_MAX) {
        rc = ngx_http_imprest_ctl_usage_error("prefix is too long");
        goto done;
    }

    if (db && ngx_http_imprest_ctl_number(db, 0, INT_MAX, NULL) != 0) {
        rc = ngx_http_imprest_ctl_usage_error("invalid --db");
        goto done;
    }

    if (user && (password == NULL || !ngx_http_imprest_id_valid(
                     (const u_char *) user, strlen(user))))
    {
        rc = ngx_http_imprest_ctl_usage_error(
                 "--user needs a valid ACL user name and --password");
        goto done;
    }

    /* options and arguments are checked before anything is sent */

    rc = cmd->handler(NULL, argc - i - 2, argv + i + 2);

    if (rc == NGX_HTTP_IMPREST_CTL_HELP) {
        ngx_http_imprest_ctl_usage(stdout);
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    rc = ngx_http_imprest_ctl_connect(&ctl, addr, user, password, db);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    ctl.now = time(NULL);

    rc = cmd->handler(&ctl, argc - i - 2, argv + i + 2);

done:

    if (ctl.redis) {
        redisFree(ctl.redis);
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        err = json_pack("{s:s}", "error", ngx_http_imprest_ctl_errstr);

        if (err == NULL
            || json_dumpf(err, stderr, JSON_COMPACT) != 0
            || fputc('\n', stderr) == EOF)
        {
            fputs("{\"error\":\"internal error\"}\n", stderr);
        }

        json_decref(err);

        if (rc == NGX_HTTP_IMPREST_CTL_USAGE) {
            fputs("(imprestctl --help for usage)\n", stderr);
        }
    }

    return rc;
}


static void
ngx_http_imprest_ctl_usage(FILE *f)
{
    fputs(
"usage: imprestctl [OPTIONS] COMMAND ...\n"
"\n"
"options:\n"
"  --redis HOST:PORT | --redis unix:/path/to.sock\n"
"                     Redis to write (default: $IMPREST_REDIS or "
NGX_HTTP_IMPREST_CTL_DEFAULT_REDIS ")\n"
"  --password P       AUTH password (default: $IMPREST_REDIS_PASSWORD)\n"
"  --user ACLUSER     Redis 6 ACL user name (needs a password)\n"
"  --db N             SELECT this database\n"
"  --prefix PFX       key prefix (default: $IMPREST_PREFIX or \""
NGX_HTTP_IMPREST_CTL_DEFAULT_PREFIX "\")\n"
"  --help             this text\n"
"\n"
"commands:\n"
"  user add UID --name NAME\n"
"  user del UID                  also removes the user's memberships\n"
"  org add [ORG_UUID] --name NAME\n"
"                                without ORG_UUID a random v4 UUID\n"
"  org del ORG_UUID              also removes the org's memberships\n"
"  member add UID ORG_UUID       user and org must exist\n"
"  member del UID ORG_UUID\n"
"  token mint --user UID --client CID [--scope \"a b\"] [--org ORG_UUID]...\n"
"             [--ttl SECONDS] [--exp UNIX] [--aud AUDIENCE]\n"
"             [--token TOKEN]   (record this well-formed token, \"-\": stdin)\n"
"                                new access token; the Redis key lives\n"
"                                --ttl seconds (default 7200), the record\n"
"                                says exp (default now + ttl); user and\n"
"                                memberships are not checked here, the\n"
"                                gate checks them on every request\n"
"  token revoke TOKEN            deletes the record (TOKEN \"-\": stdin)\n"
"  token show TOKEN              prints the record (TOKEN \"-\": stdin)\n"
"  app create --name NAME --redirect-uri URI [--redirect-uri URI]...\n"
"             --scope \"a b\" [--owner UID] [--public] [--introspect]\n"
"             [--client-id app_HEX24] [--secret imp_cs_...]\n"
"                                new OAuth client app_<24 hex>; prints its\n"
"                                client_secret once (Redis keeps only the\n"
"                                SHA-256); --public: no secret, PKCE only;\n"
"                                --introspect: may call introspection;\n"
"                                --owner must be an existing user\n"
"  app list [--owner UID]        all apps, or those UID owns\n"
"  app show CLIENT_ID\n"
"  app delete CLIENT_ID          its access and refresh tokens stop\n"
"                                working at once\n"
"  app secret CLIENT_ID          new client secret, printed once; the old\n"
"                                one stops working at once\n"
"\n"
"Redirect URIs are matched exactly: https://HOST[:PORT][/PATH][?QUERY],\n"
"http://127.0.0.1[:PORT]... or http://[::1][:PORT]... (loopback only), or\n"
"a private-use scheme with a dot (com.example.app:/cb); no fragment,\n"
"userinfo, wildcard, space or backslash, at most 2000 bytes.  Scopes:\n"
"RFC 6749 scope tokens separated by single spaces.  App names: 1 to 100\n"
"bytes of printable UTF-8.\n"
"\n"
"UID and client ids: 1 to 128 of [A-Za-z0-9._@-].  Output: one JSON\n"
"object on stdout; errors: {\"error\":...} on stderr, exit status 1, or 2\n"
"for usage errors.\n", f);
}


static int
ngx_http_imprest_ctl_error(const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ngx_http_imprest_ctl_errstr,
              sizeof(ngx_http_imprest_ctl_errstr), fmt, args);
    va_end(args);

    return NGX_HTTP_IMPREST_CTL_ERROR;
}


static int
ngx_http_imprest_ctl_usage_error(const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ngx_http_imprest_ctl_errstr,
              sizeof(ngx_http_imprest_ctl_errstr), fmt, args);
    va_end(args);

    return NGX_HTTP_IMPREST_CTL_USAGE;
}


/*
 * "--name VALUE" or "--name=VALUE" at argv[*i]: the value, with *i moved
 * past it; NULL when argv[*i] is another option or the value is missing.
 */

static const char *
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


static int
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

        if (strcmp(argv[i], "--help") == 0) {
            return NGX_HTTP_IMPREST_CTL_HELP;
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

static int
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


static int
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


static int
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
 * A checked --scope as the server keeps it: a set (RFC 6749 3.3), each
 * token once in the order first given, within the server's bounds.
 * *s then points to a static copy.
 */

static int
ngx_http_imprest_ctl_scope_set(const char **s)
{
    size_t       n;
    static char  set[NGX_HTTP_IMPREST_SCOPE_MAX_LEN + 1];

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


static int
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


static int
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


static int
ngx_http_imprest_ctl_connect(ngx_http_imprest_ctl_t *ctl, const char *addr,
    const char *user, const char *password, const char *db)
{
    int              rc;
    char             host[256];
    size_t           len;
    long long        port;
    const char      *colon;
    redisReply      *reply;
    struct timeval   tv;

    tv.tv_sec = NGX_HTTP_IMPREST_CTL_TIMEOUT;
    tv.tv_usec = 0;

    if (strncmp(addr, "unix:", 5) == 0) {
        if (addr[5] == '\0') {
            return ngx_http_imprest_ctl_usage_error("invalid --redis");
        }

        ctl->redis = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        colon = strrchr(addr, ':');

        if (colon == NULL
            || ngx_http_imprest_ctl_number(colon + 1, 1, 65535, &port) != 0)
        {
            return ngx_http_imprest_ctl_usage_error(
                       "invalid --redis: HOST:PORT or unix:/path");
        }

        len = colon - addr;

        /* "[::1]:6379" */
        if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
            addr++;
            len -= 2;
        }

        if (len == 0 || len >= sizeof(host)) {
            return ngx_http_imprest_ctl_usage_error("invalid --redis host");
        }

        memcpy(host, addr, len);
        host[len] = '\0';

        ctl->redis = redisConnectWithTimeout(host, (int) port, tv);
    }

    if (ctl->redis == NULL) {
        return ngx_http_imprest_ctl_error("cannot allocate a Redis context");
    }

    if (ctl->redis->err) {
        return ngx_http_imprest_ctl_error("cannot connect to Redis: %s",
                                          ctl->redis->errstr);
    }

    if (redisSetTimeout(ctl->redis, tv) != REDIS_OK) {
        return ngx_http_imprest_ctl_error("cannot set the Redis timeout");
    }

    if (password) {
        if (user) {
            reply = ngx_http_imprest_ctl_command(ctl, "AUTH %b %b",
                                                 user, strlen(user),
                                                 password, strlen(password));

        } else {
            reply = ngx_http_imprest_ctl_command(ctl, "AUTH %b",
                                                 password, strlen(password));
        }

        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);
    }

    if (db) {
        reply = ngx_http_imprest_ctl_command(ctl, "SELECT %b", db, strlen(db));
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);
    }

    /* answers NOAUTH now rather than in the middle of a change */

    reply = ngx_http_imprest_ctl_command(ctl, "PING");
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = (reply->type == REDIS_REPLY_STATUS) ? NGX_HTTP_IMPREST_CTL_OK
         : ngx_http_imprest_ctl_error("unexpected reply to PING");

    freeReplyObject(reply);

    return rc;
}


static int
ngx_http_imprest_ctl_key(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *key, const char *kind, const void *id,
    size_t len, const char *suffix)
{
    size_t   klen, slen;
    u_char  *p;

    klen = strlen(kind);
    slen = strlen(suffix);

    if (ctl->prefix_len + klen + len + slen > sizeof(key->data)) {
        return ngx_http_imprest_ctl_error("key too long");
    }

    p = key->data;
    memcpy(p, ctl->prefix, ctl->prefix_len);
    p += ctl->prefix_len;
    memcpy(p, kind, klen);
    p += klen;
    memcpy(p, id, len);
    p += len;
    memcpy(p, suffix, slen);
    p += slen;

    key->len = p - key->data;

    return NGX_HTTP_IMPREST_CTL_OK;
}


/* a reply that is not an error, or NULL with the error recorded */

static redisReply *
ngx_http_imprest_ctl_command(ngx_http_imprest_ctl_t *ctl, const char *fmt,
    ...)
{
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    reply = redisvCommand(ctl->redis, fmt, args);
    va_end(args);

    if (reply == NULL) {
        (void) ngx_http_imprest_ctl_error("Redis: %s",
                                          ctl->redis->err
                                          ? ctl->redis->errstr
                                          : "no reply");
        return NULL;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        (void) ngx_http_imprest_ctl_error("Redis: %.*s", (int) reply->len,
                                          reply->str);
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


static int
ngx_http_imprest_ctl_append(ngx_http_imprest_ctl_t *ctl, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        return ngx_http_imprest_ctl_error("cannot queue a Redis command");
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


/*
 * Reads the replies to an appended "MULTI", queued commands and "EXEC".
 * Returns EXEC's array; NULL with *aborted set when a WATCHed key changed
 * (the caller retries), NULL with the error recorded otherwise.  Every
 * reply is read even after an error, so none is left in the stream.
 */

static redisReply *
ngx_http_imprest_ctl_exec(ngx_http_imprest_ctl_t *ctl, int queued,
    int *aborted)
{
    int          i, failed;
    void        *r;
    redisReply  *reply;

    *aborted = 0;
    failed = 0;

    for (i = 0; i < queued + 2; i++) {
        if (redisGetReply(ctl->redis, &r) != REDIS_OK || r == NULL) {
            (void) ngx_http_imprest_ctl_error("Redis: %s",
                                              ctl->redis->err
                                              ? ctl->redis->errstr
                                              : "no reply");
            return NULL;
        }

        reply = r;

        if (reply->type == REDIS_REPLY_ERROR) {
            if (!failed) {
                (void) ngx_http_imprest_ctl_error("Redis: %.*s",
                                                  (int) reply->len,
                                                  reply->str);
                failed = 1;
            }

            freeReplyObject(reply);
            continue;
        }

        if (i < queued + 1) {
            freeReplyObject(reply);
            continue;
        }

        /* EXEC */

        if (failed) {
            freeReplyObject(reply);
            return NULL;
        }

        if (reply->type == REDIS_REPLY_NIL) {
            freeReplyObject(reply);
            *aborted = 1;
            return NULL;
        }

        if (reply->type != REDIS_REPLY_ARRAY
            || reply->elements != (size_t) queued)
        {
            freeReplyObject(reply);
            (void) ngx_http_imprest_ctl_error("unexpected reply to EXEC");
            return NULL;
        }

        for (i = 0; i < queued; i++) {
            if (reply->element[i]->type == REDIS_REPLY_ERROR) {
                (void) ngx_http_imprest_ctl_error("Redis: %.*s",
                                              (int) reply->element[i]->len,
                                              reply->element[i]->str);
                freeReplyObject(reply);
                return NULL;
            }
        }

        return reply;
    }

    return NULL;
}


/* prints and releases obj; a NULL obj is an allocation that failed */

static int
ngx_http_imprest_ctl_print(json_t *obj)
{
    int  rc;

    if (obj == NULL) {
        return ngx_http_imprest_ctl_error("out of memory");
    }

    rc = NGX_HTTP_IMPREST_CTL_OK;

    if (json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0
        || fputc('\n', stdout) == EOF
        || fflush(stdout) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot write the output");
    }

    json_decref(obj);

    return rc;
}


static int
ngx_http_imprest_ctl_print_ok(int existed)
{
    json_t  *obj;

    obj = json_object();

    if (obj
        && (json_object_set_new(obj, "ok", json_true()) != 0
            || (existed >= 0
                && json_object_set_new(obj, "existed",
                                       json_boolean(existed)) != 0)))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


/* -1 when s is not UTF-8 or memory runs out */

static int
ngx_http_imprest_ctl_set_str(json_t *obj, const char *key, const void *s,
    size_t len)
{
    return json_object_set_new(obj, key, json_stringn(s, len));
}


/* a space-separated list as a JSON array; NULL: not UTF-8 or no memory */

static json_t *
ngx_http_imprest_ctl_split(const char *s, size_t len)
{
    json_t      *arr;
    const char  *e, *q;

    arr = json_array();
    e = s + len;

    while (arr && s < e) {
        q = memchr(s, ' ', e - s);
        q = q ? q : e;

        if (q > s && json_array_append_new(arr, json_stringn(s, q - s)) != 0)
        {
            json_decref(arr);
            return NULL;
        }

        s = q + 1;
    }

    return arr;
}


static int
ngx_http_imprest_ctl_read_token(const char *arg, u_char *tok)
{
    int     rc;
    char    line[4096];
    size_t  len;

    if (arg == NULL) {
        return ngx_http_imprest_ctl_usage_error("missing TOKEN");
    }

    /* "-": from stdin, so that the token is not in "ps" or shell history */

    if (strcmp(arg, "-") == 0) {
        if (fgets(line, sizeof(line), stdin) == NULL) {
            return ngx_http_imprest_ctl_usage_error("no TOKEN on stdin");
        }

        len = strcspn(line, "\r\n");
        arg = line;

    } else {
        len = strlen(arg);
    }

    if (ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_AT,
                                     (const u_char *) arg, len))
    {
        memcpy(tok, arg, NGX_HTTP_IMPREST_TOKEN_LEN);
        rc = NGX_HTTP_IMPREST_CTL_OK;

    } else {
        rc = ngx_http_imprest_ctl_usage_error(
                 "TOKEN is not a well-formed access token");
    }

    OPENSSL_cleanse(line, sizeof(line));

    return rc;
}


/* the first, offline pass: a TOKEN argument is checked, stdin is not read */

static int
ngx_http_imprest_ctl_check_token(const char *arg)
{
    int     rc;
    u_char  tok[NGX_HTTP_IMPREST_TOKEN_LEN];

    if (arg != NULL && strcmp(arg, "-") == 0) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    rc = ngx_http_imprest_ctl_read_token(arg, tok);
    OPENSSL_cleanse(tok, sizeof(tok));

    return rc;
}


/*
 * Each handler is called twice: with ctl == NULL to check its arguments
 * before any connection, then to do the work.
 */

static int
ngx_http_imprest_ctl_user_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = { { "--name", NULL, NULL, 0, 0 } };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 1, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                         NGX_HTTP_IMPREST_CTL_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "user:", pos[0], strlen(pos[0]),
                                  "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl, "HSET %b name %b",
                                         key.data, key.len, opts[0].value,
                                         strlen(opts[0].value));
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(-1);
}


static int
ngx_http_imprest_ctl_user_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, existed;
    char                        *pos[1];
    ngx_http_imprest_ctl_key_t   record, set;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_ctl_key(ctl, &record, "user:", pos[0],
                                 strlen(pos[0]), "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &set, "user:", pos[0],
                                    strlen(pos[0]), ":orgs")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_unlink_all(ctl, &record, &set, "org:",
                                         ":members", pos[0], strlen(pos[0]),
                                         1, &existed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    return ngx_http_imprest_ctl_print_ok(existed);
}


static int
ngx_http_imprest_ctl_org_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = { { "--name", NULL, NULL, 0, 0 } };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 1, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (n) {
        rc = ngx_http_imprest_ctl_check_uuid(pos[0], org);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                         NGX_HTTP_IMPREST_CTL_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (n == 0 && ngx_http_imprest_uuid_v4(org) != 0) {
        return ngx_http_imprest_ctl_error("RAND_bytes failed");
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "org:", org, sizeof(org), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl, "HSET %b name %b",
                                         key.data, key.len, opts[0].value,
                                         strlen(opts[0].value));
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    freeReplyObject(reply);

    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, "id", org, sizeof(org)) != 0
            || ngx_http_imprest_ctl_set_str(obj, "name", opts[0].value,
                                            strlen(opts[0].value)) != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


static int
ngx_http_imprest_ctl_org_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, existed;
    char                        *pos[1];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    ngx_http_imprest_ctl_key_t   record, set;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n ? pos[0] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    if (ngx_http_imprest_ctl_key(ctl, &record, "org:", org, sizeof(org), "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &set, "org:", org, sizeof(org),
                                    ":members")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_unlink_all(ctl, &record, &set, "user:",
                                         ":orgs", org, sizeof(org), 0,
                                         &existed);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    return ngx_http_imprest_ctl_print_ok(existed);
}


/*
 * Deletes a user or an org (record and its set) and removes self from the
 * other side of every membership, in one MULTI/EXEC.  The set is WATCHed
 * while read, so a "member add" in between makes EXEC fail and the whole
 * step is retried instead of leaving a one-sided membership.  Members
 * that cannot be a uid (or, with uuids, a canonical UUID) name no key of
 * the schema and are only dropped with the set.
 */

static int
ngx_http_imprest_ctl_unlink_all(ngx_http_imprest_ctl_t *ctl,
    ngx_http_imprest_ctl_key_t *record, ngx_http_imprest_ctl_key_t *set,
    const char *kind, const char *suffix, const void *self, size_t len,
    int uuids, int *existed)
{
    int                          rc, try, aborted, queued;
    size_t                       i;
    u_char                       canon[NGX_HTTP_IMPREST_UUID_LEN];
    redisReply                  *members, *reply, *m;
    ngx_http_imprest_ctl_key_t   other;

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b", set->data,
                                             set->len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);

        members = ngx_http_imprest_ctl_command(ctl, "SMEMBERS %b", set->data,
                                               set->len);
        if (members == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        if (members->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(members);
            return ngx_http_imprest_ctl_error("unexpected reply to SMEMBERS");
        }

        rc = ngx_http_imprest_ctl_append(ctl, "MULTI");
        queued = 0;

        if (rc == NGX_HTTP_IMPREST_CTL_OK) {
            rc = ngx_http_imprest_ctl_append(ctl, "DEL %b %b",
                                             record->data, record->len,
                                             set->data, set->len);
            queued++;
        }

        for (i = 0; rc == NGX_HTTP_IMPREST_CTL_OK && i < members->elements;
             i++)
        {
            m = members->element[i];

            if (m->type != REDIS_REPLY_STRING) {
                continue;
            }

            if (uuids) {
                if (!ngx_http_imprest_uuid_canonical((u_char *) m->str,
                                                     m->len, canon)
                    || memcmp(canon, m->str, sizeof(canon)) != 0)
                {
                    continue;
                }

            } else if (!ngx_http_imprest_id_valid((u_char *) m->str,
                                                  m->len))
            {
                continue;
            }

            rc = ngx_http_imprest_ctl_key(ctl, &other, kind, m->str, m->len,
                                          suffix);
            if (rc != NGX_HTTP_IMPREST_CTL_OK) {
                break;
            }

            rc = ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                             other.data, other.len,
                                             self, len);
            queued++;
        }

        freeReplyObject(members);

        if (rc == NGX_HTTP_IMPREST_CTL_OK) {
            rc = ngx_http_imprest_ctl_append(ctl, "EXEC");
        }

        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            /* the connection is dropped unused: Redis discards the MULTI */
            return rc;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, queued, &aborted);

        if (reply) {
            *existed = reply->element[0]->type == REDIS_REPLY_INTEGER
                       && reply->element[0]->integer > 0;
            freeReplyObject(reply);
            return NGX_HTTP_IMPREST_CTL_OK;
        }

        if (!aborted) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }
    }

    return ngx_http_imprest_ctl_error("too much concurrent change, retry");
}


static int
ngx_http_imprest_ctl_member_add(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, try, aborted, exists;
    char                        *pos[2];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    size_t                       ulen;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   user, org_key, orgs, members;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 2, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n > 0 ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n > 1 ? pos[1] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    ulen = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &user, "user:", pos[0], ulen, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &orgs, "user:", pos[0], ulen,
                                    ":orgs")
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &org_key, "org:", org, sizeof(org),
                                    "")
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &members, "org:", org, sizeof(org),
                                    ":members")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    /*
     * The user and org are WATCHed while checked, so a concurrent
     * "user del" or "org del" cannot leave a membership of a deleted one.
     */

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b %b",
                                             user.data, user.len,
                                             org_key.data, org_key.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);

        reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", user.data,
                                             user.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        exists = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
        freeReplyObject(reply);

        if (!exists) {
            return ngx_http_imprest_ctl_error("no such user");
        }

        reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", org_key.data,
                                             org_key.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        exists = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
        freeReplyObject(reply);

        if (!exists) {
            return ngx_http_imprest_ctl_error("no such organization");
        }

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                           orgs.data, orgs.len,
                                           org, sizeof(org))
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                           members.data, members.len,
                                           pos[0], ulen)
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, 2, &aborted);

        if (reply) {
            freeReplyObject(reply);
            return ngx_http_imprest_ctl_print_ok(-1);
        }

        if (!aborted) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }
    }

    return ngx_http_imprest_ctl_error("too much concurrent change, retry");
}


static int
ngx_http_imprest_ctl_member_del(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, aborted, existed;
    char                        *pos[2];
    u_char                       org[NGX_HTTP_IMPREST_UUID_LEN];
    size_t                       ulen;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   orgs, members;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 2, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("UID", n > 0 ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_uuid(n > 1 ? pos[1] : NULL, org);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    ulen = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &orgs, "user:", pos[0], ulen, ":orgs")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &members, "org:", org, sizeof(org),
                                    ":members")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (ngx_http_imprest_ctl_append(ctl, "MULTI") != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                       orgs.data, orgs.len,
                                       org, sizeof(org))
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                       members.data, members.len,
                                       pos[0], ulen)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "EXEC")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    reply = ngx_http_imprest_ctl_exec(ctl, 2, &aborted);
    if (reply == NULL) {
        return aborted ? ngx_http_imprest_ctl_error("EXEC aborted")
                       : NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = (reply->element[0]->type == REDIS_REPLY_INTEGER
               && reply->element[0]->integer > 0)
              || (reply->element[1]->type == REDIS_REPLY_INTEGER
                  && reply->element[1]->integer > 0);

    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}


static int
ngx_http_imprest_ctl_token_mint(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, i, j, norgs, aborted;
    char                        *pos[1], iat_s[32], exp_s[32], ttl_s[32];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    u_char                      *orgs, *p;
    size_t                       len, orgs_len;
    json_t                      *obj, *arr;
    const char                  *scope, *aud, *s;
    long long                    ttl, exp;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--user", NULL, NULL, 0, 0 },
        { "--client", NULL, NULL, 0, 0 },
        { "--scope", NULL, NULL, 0, 0 },
        { "--org", NULL, NULL, 0, 0 },
        { "--ttl", NULL, NULL, 0, 0 },
        { "--exp", NULL, NULL, 0, 0 },
        { "--aud", NULL, NULL, 0, 0 },
        { "--token", NULL, NULL, 0, 0 }
    };

    exp = 0;

    /* at most one org per argument: argc bounds the list */

    opts[3].list = malloc((argc + 1) * sizeof(char *));
    orgs = malloc((argc + 1) * (NGX_HTTP_IMPREST_UUID_LEN + 1));

    if (opts[3].list == NULL || orgs == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 8, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /*
     * --token records a token made elsewhere (test suites that must know
     * their tokens before any request runs); it must be well-formed.
     */
    if (opts[7].value) {
        rc = ngx_http_imprest_ctl_read_token(opts[7].value, tok);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    rc = ngx_http_imprest_ctl_check_id("--user", opts[0].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_id("--client", opts[1].value);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /* an empty or absent --scope makes a token without scopes */

    scope = opts[2].value ? opts[2].value : "";

    rc = ngx_http_imprest_ctl_check_scope(scope);
    if (rc == NGX_HTTP_IMPREST_CTL_OK) {
        rc = ngx_http_imprest_ctl_scope_set(&scope);
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /* canonical, duplicates dropped, space-separated */

    norgs = 0;
    p = orgs;

    for (i = 0; i < opts[3].n; i++) {
        rc = ngx_http_imprest_ctl_check_uuid(opts[3].list[i], p);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        for (j = 0; j < norgs; j++) {
            if (memcmp(orgs + j * (NGX_HTTP_IMPREST_UUID_LEN + 1), p,
                       NGX_HTTP_IMPREST_UUID_LEN) == 0)
            {
                break;
            }
        }

        if (j < norgs) {
            continue;
        }

        p[NGX_HTTP_IMPREST_UUID_LEN] = ' ';
        p += NGX_HTTP_IMPREST_UUID_LEN + 1;
        norgs++;
    }

    orgs_len = norgs ? (size_t) (p - orgs) - 1 : 0;

    ttl = NGX_HTTP_IMPREST_CTL_DEFAULT_TTL;

    if (opts[4].value
        && ngx_http_imprest_ctl_number(opts[4].value, 1,
                                       NGX_HTTP_IMPREST_CTL_TTL_MAX, &ttl)
           != 0)
    {
        rc = ngx_http_imprest_ctl_usage_error("--ttl: 1 to %d seconds",
                                              NGX_HTTP_IMPREST_CTL_TTL_MAX);
        goto done;
    }

    if (opts[5].value
        && ngx_http_imprest_ctl_number(opts[5].value, 1,
                                       NGX_HTTP_IMPREST_CTL_EXP_MAX, &exp)
           != 0)
    {
        rc = ngx_http_imprest_ctl_usage_error("--exp: unix seconds");
        goto done;
    }

    /* RFC 9068-style "aud": a printable, space-free resource indicator */

    aud = opts[6].value ? opts[6].value : "";
    len = strlen(aud);

    if (len > NGX_HTTP_IMPREST_CTL_AUD_MAX) {
        rc = ngx_http_imprest_ctl_usage_error("--aud is too long");
        goto done;
    }

    for (s = aud; *s; s++) {
        if ((u_char) *s < 0x21 || (u_char) *s > 0x7e) {
            rc = ngx_http_imprest_ctl_usage_error(
                     "--aud: printable ASCII without spaces");
            goto done;
        }
    }

    if (ctl == NULL) {
        goto done;
    }

    if (opts[5].value == NULL) {
        exp = (long long) ctl->now + ttl;
    }

    if ((opts[7].value == NULL
         && ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_AT, tok)
            != 0)
        || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a token");
        goto done;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "at:", hex, sizeof(hex), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    snprintf(iat_s, sizeof(iat_s), "%lld", (long long) ctl->now);
    snprintf(exp_s, sizeof(exp_s), "%lld", exp);
    snprintf(ttl_s, sizeof(ttl_s), "%lld", ttl);

    /*
     * The record and its TTL in one step: a record without a TTL would
     * never expire by itself.
     */

    if (ngx_http_imprest_ctl_append(ctl, "MULTI") != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl,
               "HSET %b uid %b cid %b scope %b orgs %b iat %b exp %b aud %b",
               key.data, key.len,
               opts[0].value, strlen(opts[0].value),
               opts[1].value, strlen(opts[1].value),
               scope, strlen(scope),
               orgs, orgs_len,
               iat_s, strlen(iat_s),
               exp_s, strlen(exp_s),
               aud, strlen(aud))
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "EXPIRE %b %b",
                                       key.data, key.len,
                                       ttl_s, strlen(ttl_s))
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "EXEC")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    reply = ngx_http_imprest_ctl_exec(ctl, 2, &aborted);
    if (reply == NULL) {
        rc = aborted ? ngx_http_imprest_ctl_error("EXEC aborted")
                     : NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    freeReplyObject(reply);

    obj = json_object();
    arr = json_array();

    if (obj == NULL || arr == NULL
        || ngx_http_imprest_ctl_set_str(obj, "access_token", tok,
                                        sizeof(tok)) != 0
        || json_object_set_new(obj, "token_type", json_string("Bearer"))
           != 0
        || json_object_set_new(obj, "expires_in",
                               json_integer(exp > (long long) ctl->now
                                            ? exp - (long long) ctl->now
                                            : 0)) != 0
        || json_object_set_new(obj, "exp", json_integer(exp)) != 0
        || ngx_http_imprest_ctl_set_str(obj, "scope", scope, strlen(scope))
           != 0)
    {
        json_decref(obj);
        json_decref(arr);
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    for (i = 0; i < norgs; i++) {
        if (json_array_append_new(arr,
                json_stringn((char *) orgs + i * (NGX_HTTP_IMPREST_UUID_LEN
                                                  + 1),
                             NGX_HTTP_IMPREST_UUID_LEN)) != 0)
        {
            json_decref(obj);
            json_decref(arr);
            rc = ngx_http_imprest_ctl_error("out of memory");
            goto done;
        }
    }

    if (json_object_set_new(obj, "orgs", arr) != 0) {
        json_decref(obj);
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));
    free(opts[3].list);
    free(orgs);

    return rc;
}


/*
 * The one TOKEN argument of "token revoke" and "token show": checked on
 * the first (ctl NULL) call, read and turned into its record's key on the
 * second.
 */

static int
ngx_http_imprest_ctl_token_key(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv, ngx_http_imprest_ctl_key_t *key)
{
    int     rc, n;
    char   *pos[1];
    u_char  tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char  hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (ctl == NULL) {
        return ngx_http_imprest_ctl_check_token(n ? pos[0] : NULL);
    }

    rc = ngx_http_imprest_ctl_read_token(pos[0], tok);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_digest_hex(tok, sizeof(tok), hex);
    OPENSSL_cleanse(tok, sizeof(tok));

    if (rc != 0) {
        return ngx_http_imprest_ctl_error("SHA-256 failed");
    }

    return ngx_http_imprest_ctl_key(ctl, key, "at:", hex, sizeof(hex), "");
}


static int
ngx_http_imprest_ctl_token_revoke(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, existed;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;

    /* stdin ("-") is read once, on the second call */

    rc = ngx_http_imprest_ctl_token_key(ctl, argc, argv, &key);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl, "DEL %b", key.data, key.len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    existed = reply->type == REDIS_REPLY_INTEGER && reply->integer > 0;
    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}


static int
ngx_http_imprest_ctl_token_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, aborted;
    char                         num[32], field[65];
    size_t                       i, flen;
    json_t                      *obj, *v;
    long long                    exp, t;
    const char                  *f;
    redisReply                  *reply, *h, *k, *val, *ttl;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_token_key(ctl, argc, argv, &key);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    /* the record and its TTL as of one moment */

    if (ngx_http_imprest_ctl_append(ctl, "MULTI") != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "HGETALL %b", key.data, key.len)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "TTL %b", key.data, key.len)
           != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_append(ctl, "EXEC")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    reply = ngx_http_imprest_ctl_exec(ctl, 2, &aborted);
    if (reply == NULL) {
        return aborted ? ngx_http_imprest_ctl_error("EXEC aborted")
                       : NGX_HTTP_IMPREST_CTL_ERROR;
    }

    h = reply->element[0];
    ttl = reply->element[1];

    if (h->type != REDIS_REPLY_ARRAY || h->elements % 2
        || ttl->type != REDIS_REPLY_INTEGER)
    {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("unexpected reply to HGETALL");
    }

    if (h->elements == 0) {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("no such token");
    }

    obj = json_object();
    if (obj == NULL) {
        freeReplyObject(reply);
        return ngx_http_imprest_ctl_error("out of memory");
    }

    /* the key ends with the token's digest */
    rc = ngx_http_imprest_ctl_set_str(obj, "digest",
                                      key.data + key.len
                                      - NGX_HTTP_IMPREST_DIGEST_HEX_LEN,
                                      NGX_HTTP_IMPREST_DIGEST_HEX_LEN);
    exp = -1;

    for (i = 0; rc == 0 && i < h->elements; i += 2) {
        k = h->element[i];
        val = h->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        f = k->str;
        flen = k->len;

        if (flen == 4 && memcmp(f, "orgs", 4) == 0) {
            rc = json_object_set_new(obj, "orgs",
                                     ngx_http_imprest_ctl_split(val->str,
                                                                val->len));
            continue;
        }

        if ((flen == 3 && memcmp(f, "iat", 3) == 0)
            || (flen == 3 && memcmp(f, "exp", 3) == 0))
        {
            /* numbers as numbers when they are numbers */

            v = NULL;

            if (val->len < sizeof(num)) {
                memcpy(num, val->str, val->len);
                num[val->len] = '\0';

                if (ngx_http_imprest_ctl_number(num, LLONG_MIN, LLONG_MAX,
                                                &t) == 0)
                {
                    v = json_integer(t);

                    if (f[0] == 'e') {
                        exp = t;
                    }
                }
            }

            if (v == NULL) {
                v = json_stringn(val->str, val->len);
            }

            rc = json_object_set_new(obj, f[0] == 'e' ? "exp" : "iat", v);
            continue;
        }

        if (flen >= sizeof(field) || memchr(f, '\0', flen)) {
            continue;
        }

        memcpy(field, f, flen);
        field[flen] = '\0';

        rc = ngx_http_imprest_ctl_set_str(obj, field, val->str, val->len);
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "ttl", json_integer(ttl->integer));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "expired",
                                 json_boolean(exp >= 0
                                              && exp <= (long long) ctl->now));
    }

    freeReplyObject(reply);

    if (rc != 0) {
        json_decref(obj);
        return ngx_http_imprest_ctl_error(
                   "record is not valid UTF-8 or out of memory");
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * The JSON of one app from the reply to HMGET of the fields below, with
 * client_secret (a token just made, shown once) when secret != NULL.
 * Returns 0 with *out set, 1 when there is no such record, or -1 when a
 * value is not UTF-8 or memory runs out.
 */

#define NGX_HTTP_IMPREST_CTL_APP_FIELDS                                     \
    "name owner secret redirect_uris scope introspect created"

static int
ngx_http_imprest_ctl_app_json(const void *cid, size_t len, redisReply *r,
    int full, const u_char *secret, json_t **out)
{
    int          rc;
    char         num[32];
    size_t       i, vlen[7];
    json_t      *obj, *created;
    long long    t;
    const char  *v[7];

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7) {
        return -1;
    }

    rc = 1;

    for (i = 0; i < 7; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING) {
            v[i] = r->element[i]->str;
            vlen[i] = r->element[i]->len;
            rc = 0;

        } else {
            v[i] = "";
            vlen[i] = 0;
        }
    }

    if (rc == 1) {
        return 1;
    }

    obj = json_object();
    if (obj == NULL) {
        return -1;
    }

    /* a client without a secret digest is public: it must use PKCE */

    rc = ngx_http_imprest_ctl_set_str(obj, "client_id", cid, len);

    if (rc == 0 && secret) {
        rc = ngx_http_imprest_ctl_set_str(obj, "client_secret", secret,
                                          NGX_HTTP_IMPREST_TOKEN_LEN);
    }

    if (rc == 0) {
        rc = ngx_http_imprest_ctl_set_str(obj, "name", v[0], vlen[0]);
    }

    if (rc == 0) {
        rc = ngx_http_imprest_ctl_set_str(obj, "owner", v[1], vlen[1]);
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "public", json_boolean(vlen[2] == 0));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "redirect_uris",
                                 ngx_http_imprest_ctl_split(v[3], vlen[3]));
    }

    if (rc == 0) {
        rc = ngx_http_imprest_ctl_set_str(obj, "scope", v[4], vlen[4]);
    }

    if (rc == 0 && full) {
        rc = json_object_set_new(obj, "introspect",
                                 json_boolean(vlen[5] == 1
                                              && v[5][0] == '1'));
    }

    if (rc == 0 && full) {
        created = NULL;

        if (vlen[6] > 0 && vlen[6] < sizeof(num)) {
            memcpy(num, v[6], vlen[6]);
            num[vlen[6]] = '\0';

            if (ngx_http_imprest_ctl_number(num, 0, LLONG_MAX, &t) == 0) {
                created = json_integer(t);
            }
        }

        if (created == NULL) {
            created = json_stringn(v[6], vlen[6]);
        }

        rc = json_object_set_new(obj, "created", created);
    }

    if (rc != 0) {
        json_decref(obj);
        return -1;
    }

    *out = obj;

    return 0;
}


static int
ngx_http_imprest_ctl_app_create(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, i, j, try, aborted, queued;
    int                          exists, public;
    char                        *pos[1], created[32];
    u_char                       cid[NGX_HTTP_IMPREST_CTL_CID_LEN];
    u_char                       rnd[NGX_HTTP_IMPREST_CTL_CID_RANDOM];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    u_char                      *uris, *p;
    size_t                       len, owner_len;
    json_t                      *obj;
    const char                  *owner, *introspect;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key, all, user, owned;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--name", NULL, NULL, 0, 0 },
        { "--redirect-uri", NULL, NULL, 0, 0 },
        { "--scope", NULL, NULL, 0, 0 },
        { "--owner", NULL, NULL, 0, 0 },
        { "--public", NULL, NULL, 0, 1 },
        { "--introspect", NULL, NULL, 0, 1 },
        { "--client-id", NULL, NULL, 0, 0 },
        { "--secret", NULL, NULL, 0, 0 }
    };

    uris = NULL;
    public = 0;

    /* at most one URI per argument: argc bounds the list */

    opts[1].list = malloc((argc + 1) * sizeof(char *));
    if (opts[1].list == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 8, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    /*
     * --client-id and --secret record an app whose credentials were made
     * elsewhere (a migration, or a test suite that must know them before
     * any request runs): both must have the server's own shapes.
     */
    if (opts[6].value) {
        len = strlen(opts[6].value);

        if (len != NGX_HTTP_IMPREST_CTL_CID_LEN
            || strncmp(opts[6].value, "app_", 4) != 0
            || strspn(opts[6].value + 4, "0123456789abcdef") != len - 4)
        {
            rc = ngx_http_imprest_ctl_usage_error(
                     "--client-id: app_ and 24 lower-case hex digits");
            goto done;
        }
    }

    if (opts[7].value
        && (opts[4].value
            || !ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_CS,
                                             (u_char *) opts[7].value,
                                             strlen(opts[7].value))))
    {
        rc = ngx_http_imprest_ctl_usage_error(
                 "--secret: a well-formed client secret, not with --public");
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_name(opts[0].value,
                                         NGX_HTTP_IMPREST_CTL_APP_NAME_MAX);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    if (opts[1].n == 0) {
        rc = ngx_http_imprest_ctl_usage_error("missing --redirect-uri");
        goto done;
    }

    len = 0;

    for (i = 0; i < opts[1].n; i++) {
        rc = ngx_http_imprest_ctl_check_redirect_uri(opts[1].list[i]);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        len += strlen(opts[1].list[i]) + 1;
    }

    if (opts[2].value == NULL || opts[2].value[0] == '\0') {
        rc = ngx_http_imprest_ctl_usage_error("missing --scope");
        goto done;
    }

    rc = ngx_http_imprest_ctl_check_scope(opts[2].value);
    if (rc == NGX_HTTP_IMPREST_CTL_OK) {
        rc = ngx_http_imprest_ctl_scope_set(&opts[2].value);
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        goto done;
    }

    owner = opts[3].value;

    if (owner) {
        rc = ngx_http_imprest_ctl_check_id("--owner", owner);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }
    }

    if (ctl == NULL) {
        goto done;
    }

    owner_len = owner ? strlen(owner) : 0;
    public = (opts[4].value != NULL);
    introspect = opts[5].value ? "1" : "0";

    /* exact strings, duplicates dropped, space-separated */

    uris = malloc(len);
    if (uris == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    p = uris;

    for (i = 0; i < opts[1].n; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(opts[1].list[i], opts[1].list[j]) == 0) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if (p > uris) {
            *p++ = ' ';
        }

        p = (u_char *) stpcpy((char *) p, opts[1].list[i]);
    }

    /* only the digest is stored: the secret is printed once, below */

    if (opts[7].value) {
        memcpy(tok, opts[7].value, sizeof(tok));
    }

    if (!public
        && ((opts[7].value == NULL
             && ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS,
                                                tok)
                != 0)
            || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0))
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a client secret");
        goto done;
    }

    snprintf(created, sizeof(created), "%lld", (long long) ctl->now);

    if (ngx_http_imprest_ctl_key(ctl, &all, "clients", "", 0, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || (owner
            && (ngx_http_imprest_ctl_key(ctl, &user, "user:", owner,
                                         owner_len, "")
                != NGX_HTTP_IMPREST_CTL_OK
                || ngx_http_imprest_ctl_key(ctl, &owned, "user:", owner,
                                            owner_len, ":clients")
                   != NGX_HTTP_IMPREST_CTL_OK)))
    {
        rc = NGX_HTTP_IMPREST_CTL_ERROR;
        goto done;
    }

    /*
     * The new id and the owner are WATCHed while checked: an id is never
     * reused, and a concurrent "user del" makes EXEC fail and the owner
     * check run again.
     */

    queued = owner ? 4 : 3;
    reply = NULL;

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            rc = ngx_http_imprest_ctl_error("RAND_bytes failed");
            goto done;
        }

        memcpy(cid, "app_", 4);

        for (i = 0; i < (int) sizeof(rnd); i++) {
            cid[4 + 2 * i] = "0123456789abcdef"[rnd[i] >> 4];
            cid[5 + 2 * i] = "0123456789abcdef"[rnd[i] & 0x0f];
        }

        if (opts[6].value) {
            memcpy(cid, opts[6].value, sizeof(cid));
        }

        rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", cid, sizeof(cid),
                                      "");
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        if (owner) {
            reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b %b",
                                                 key.data, key.len,
                                                 user.data, user.len);
        } else {
            reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b",
                                                 key.data, key.len);
        }

        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        freeReplyObject(reply);

        reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", key.data,
                                             key.len);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        exists = reply->type != REDIS_REPLY_INTEGER || reply->integer != 0;
        freeReplyObject(reply);

        if (exists) {
            reply = ngx_http_imprest_ctl_command(ctl, "UNWATCH");
            if (reply == NULL) {
                rc = NGX_HTTP_IMPREST_CTL_ERROR;
                goto done;
            }

            freeReplyObject(reply);

            if (opts[6].value) {
                rc = ngx_http_imprest_ctl_error("app already exists");
                goto done;
            }

            continue;
        }

        if (owner) {
            reply = ngx_http_imprest_ctl_command(ctl, "EXISTS %b", user.data,
                                                 user.len);
            if (reply == NULL) {
                rc = NGX_HTTP_IMPREST_CTL_ERROR;
                goto done;
            }

            exists = reply->type == REDIS_REPLY_INTEGER
                     && reply->integer == 1;
            freeReplyObject(reply);

            if (!exists) {
                rc = ngx_http_imprest_ctl_error("no such user (--owner)");
                goto done;
            }
        }

        /* the record as stored comes back in the same EXEC */

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl,
                   "HSET %b name %b secret %b redirect_uris %b scope %b"
                   " owner %b introspect %b created %b",
                   key.data, key.len,
                   opts[0].value, strlen(opts[0].value),
                   hex, public ? (size_t) 0 : sizeof(hex),
                   uris, (size_t) (p - uris),
                   opts[2].value, strlen(opts[2].value),
                   owner ? owner : "", owner_len,
                   introspect, (size_t) 1,
                   created, strlen(created))
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                           all.data, all.len,
                                           cid, sizeof(cid))
               != NGX_HTTP_IMPREST_CTL_OK
            || (owner
                && ngx_http_imprest_ctl_append(ctl, "SADD %b %b",
                                               owned.data, owned.len,
                                               cid, sizeof(cid))
                   != NGX_HTTP_IMPREST_CTL_OK)
            || ngx_http_imprest_ctl_append(ctl,
                   "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                   key.data, key.len)
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, queued, &aborted);

        if (reply) {
            break;
        }

        if (!aborted) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }
    }

    if (try == NGX_HTTP_IMPREST_CTL_RETRIES) {
        rc = ngx_http_imprest_ctl_error("too much concurrent change, retry");
        goto done;
    }

    rc = ngx_http_imprest_ctl_app_json(cid, sizeof(cid),
                                       reply->element[queued - 1], 1,
                                       public ? NULL : tok, &obj);
    freeReplyObject(reply);

    if (rc != 0) {
        rc = ngx_http_imprest_ctl_error("unexpected reply to HMGET");
        goto done;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));
    free(opts[1].list);
    free(uris);

    return rc;
}


static int
ngx_http_imprest_ctl_app_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    size_t                       i, queued, owner_len;
    json_t                      *obj, *arr, *app;
    const char                  *owner;
    redisReply                  *members, *r, *m, **replies, **ids;
    ngx_http_imprest_ctl_key_t   set, key;
    ngx_http_imprest_ctl_opt_t   opts[] = {
        { "--owner", NULL, NULL, 0, 0 }
    };

    rc = ngx_http_imprest_ctl_parse(argc, argv, opts, 1, pos, 0, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    owner = opts[0].value;

    if (owner) {
        rc = ngx_http_imprest_ctl_check_id("--owner", owner);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }
    }

    if (ctl == NULL) {
        return NGX_HTTP_IMPREST_CTL_OK;
    }

    owner_len = owner ? strlen(owner) : 0;

    if (owner) {
        rc = ngx_http_imprest_ctl_key(ctl, &set, "user:", owner, owner_len,
                                      ":clients");
    } else {
        rc = ngx_http_imprest_ctl_key(ctl, &set, "clients", "", 0, "");
    }

    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    members = ngx_http_imprest_ctl_command(ctl, "SMEMBERS %b", set.data,
                                           set.len);
    if (members == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    if (members->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(members);
        return ngx_http_imprest_ctl_error("unexpected reply to SMEMBERS");
    }

    obj = NULL;
    arr = NULL;

    /* replies[i] answers ids[i]; NULL-terminated for the cleanup */

    replies = calloc(members->elements + 1, sizeof(redisReply *));
    ids = malloc((members->elements + 1) * sizeof(redisReply *));

    if (replies == NULL || ids == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    /* stable output: by client id */

    if (members->elements > 1) {
        qsort(members->element, members->elements, sizeof(redisReply *),
              ngx_http_imprest_ctl_reply_cmp);
    }

    /* one round trip: every HMGET is sent before the first reply is read */

    queued = 0;

    for (i = 0; i < members->elements; i++) {
        m = members->element[i];

        /* a member that cannot be a client id names no key of the schema */

        if (m->type != REDIS_REPLY_STRING
            || !ngx_http_imprest_id_valid((u_char *) m->str, m->len))
        {
            continue;
        }

        rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", m->str, m->len,
                                      "");
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        rc = ngx_http_imprest_ctl_append(ctl,
                 "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                 key.data, key.len);
        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            goto done;
        }

        ids[queued++] = m;
    }

    for (i = 0; i < queued; i++) {
        if (redisGetReply(ctl->redis, (void **) &replies[i]) != REDIS_OK
            || replies[i] == NULL)
        {
            rc = ngx_http_imprest_ctl_error("Redis: %s",
                                            ctl->redis->err
                                            ? ctl->redis->errstr
                                            : "no reply");
            goto done;
        }
    }

    obj = json_object();
    arr = json_array();

    if (obj == NULL || arr == NULL) {
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    for (i = 0; i < queued; i++) {
        m = ids[i];
        r = replies[i];

        if (r->type == REDIS_REPLY_ERROR) {
            rc = ngx_http_imprest_ctl_error("Redis: %.*s", (int) r->len,
                                            r->str);
            goto done;
        }

        rc = ngx_http_imprest_ctl_app_json(m->str, m->len, r, 0, NULL, &app);

        if (rc == 1) {
            /* in the set, but deleted: not an app */
            continue;
        }

        if (rc != 0) {
            rc = ngx_http_imprest_ctl_error(
                     "record of \"%.*s\" is not valid UTF-8 or out of memory",
                     (int) m->len, m->str);
            goto done;
        }

        /* a stale entry in the owner's set: the record names its owner */

        if (owner
            && (r->element[1]->type != REDIS_REPLY_STRING
                || r->element[1]->len != owner_len
                || memcmp(r->element[1]->str, owner, owner_len) != 0))
        {
            json_decref(app);
            continue;
        }

        if (json_array_append_new(arr, app) != 0) {
            rc = ngx_http_imprest_ctl_error("out of memory");
            goto done;
        }
    }

    if (json_object_set_new(obj, "apps", arr) != 0) {
        arr = NULL;
        rc = ngx_http_imprest_ctl_error("out of memory");
        goto done;
    }

    arr = NULL;
    rc = ngx_http_imprest_ctl_print(obj);
    obj = NULL;

done:

    if (replies) {
        for (i = 0; replies[i]; i++) {
            freeReplyObject(replies[i]);
        }

        free(replies);
    }

    free(ids);
    freeReplyObject(members);
    json_decref(arr);
    json_decref(obj);

    return rc;
}


static int
ngx_http_imprest_ctl_reply_cmp(const void *a, const void *b)
{
    int                 rc;
    const redisReply   *x, *y;

    x = *(const redisReply * const *) a;
    y = *(const redisReply * const *) b;

    if (x->type != REDIS_REPLY_STRING || y->type != REDIS_REPLY_STRING) {
        return (x->type == REDIS_REPLY_STRING) - (y->type
                                                  == REDIS_REPLY_STRING);
    }

    rc = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);

    if (rc != 0) {
        return rc;
    }

    return (x->len > y->len) - (x->len < y->len);
}


static int
ngx_http_imprest_ctl_app_show(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n;
    char                        *pos[1];
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", pos[0],
                                  strlen(pos[0]), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    reply = ngx_http_imprest_ctl_command(ctl,
                "HMGET %b " NGX_HTTP_IMPREST_CTL_APP_FIELDS,
                key.data, key.len);
    if (reply == NULL) {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    rc = ngx_http_imprest_ctl_app_json(pos[0], strlen(pos[0]), reply, 1,
                                       NULL, &obj);
    freeReplyObject(reply);

    if (rc == 1) {
        return ngx_http_imprest_ctl_error("no such app");
    }

    if (rc != 0) {
        return ngx_http_imprest_ctl_error(
                   "record is not valid UTF-8 or out of memory");
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * Deletes the record and removes the id from both sets in one MULTI/EXEC.
 * The record is WATCHed while its owner is read, so a concurrent change of
 * owner cannot leave the id in a set.  The app's tokens are not looked
 * for: every script that accepts a token refuses one whose app record is
 * gone (src/ngx_http_imprest_script.c), so they die with this DEL.
 */

static int
ngx_http_imprest_ctl_app_delete(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, try, aborted, queued, existed;
    char                        *pos[1];
    size_t                       len;
    redisReply                  *reply, *owner;
    ngx_http_imprest_ctl_key_t   key, all, owned;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    len = strlen(pos[0]);

    if (ngx_http_imprest_ctl_key(ctl, &key, "client:", pos[0], len, "")
        != NGX_HTTP_IMPREST_CTL_OK
        || ngx_http_imprest_ctl_key(ctl, &all, "clients", "", 0, "")
           != NGX_HTTP_IMPREST_CTL_OK)
    {
        return NGX_HTTP_IMPREST_CTL_ERROR;
    }

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b", key.data,
                                             key.len);
        if (reply == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        freeReplyObject(reply);

        owner = ngx_http_imprest_ctl_command(ctl, "HGET %b owner", key.data,
                                             key.len);
        if (owner == NULL) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        /* an owner that cannot be a uid names no key of the schema */

        queued = 2;

        if (owner->type == REDIS_REPLY_STRING
            && ngx_http_imprest_id_valid((u_char *) owner->str, owner->len))
        {
            rc = ngx_http_imprest_ctl_key(ctl, &owned, "user:", owner->str,
                                          owner->len, ":clients");
            if (rc != NGX_HTTP_IMPREST_CTL_OK) {
                freeReplyObject(owner);
                return rc;
            }

            queued = 3;
        }

        freeReplyObject(owner);

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "DEL %b", key.data, key.len)
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                           all.data, all.len, pos[0], len)
               != NGX_HTTP_IMPREST_CTL_OK
            || (queued == 3
                && ngx_http_imprest_ctl_append(ctl, "SREM %b %b",
                                               owned.data, owned.len,
                                               pos[0], len)
                   != NGX_HTTP_IMPREST_CTL_OK)
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, queued, &aborted);

        if (reply) {
            existed = reply->element[0]->type == REDIS_REPLY_INTEGER
                      && reply->element[0]->integer > 0;
            freeReplyObject(reply);
            return ngx_http_imprest_ctl_print_ok(existed);
        }

        if (!aborted) {
            return NGX_HTTP_IMPREST_CTL_ERROR;
        }
    }

    return ngx_http_imprest_ctl_error("too much concurrent change, retry");
}


/*
 * A new client secret; the old one stops working at once.  The record is
 * WATCHed while checked, so a concurrent "app delete" cannot be undone by
 * an HSET that recreates a partial record.
 */

static int
ngx_http_imprest_ctl_app_secret(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv)
{
    int                          rc, n, try, aborted;
    char                        *pos[1];
    u_char                       tok[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                       hex[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];
    json_t                      *obj;
    redisReply                  *reply;
    ngx_http_imprest_ctl_key_t   key;

    rc = ngx_http_imprest_ctl_parse(argc, argv, NULL, 0, pos, 1, &n);
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_check_id("CLIENT_ID", n ? pos[0] : NULL);
    if (rc != NGX_HTTP_IMPREST_CTL_OK || ctl == NULL) {
        return rc;
    }

    rc = ngx_http_imprest_ctl_key(ctl, &key, "client:", pos[0],
                                  strlen(pos[0]), "");
    if (rc != NGX_HTTP_IMPREST_CTL_OK) {
        return rc;
    }

    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS, tok) != 0
        || ngx_http_imprest_digest_hex(tok, sizeof(tok), hex) != 0)
    {
        rc = ngx_http_imprest_ctl_error("cannot generate a client secret");
        goto done;
    }

    for (try = 0; try < NGX_HTTP_IMPREST_CTL_RETRIES; try++) {

        reply = ngx_http_imprest_ctl_command(ctl, "WATCH %b", key.data,
                                             key.len);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        freeReplyObject(reply);

        reply = ngx_http_imprest_ctl_command(ctl, "HMGET %b name secret",
                                             key.data, key.len);
        if (reply == NULL) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            freeReplyObject(reply);
            rc = ngx_http_imprest_ctl_error("unexpected reply to HMGET");
            goto done;
        }

        if (reply->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(reply);
            rc = ngx_http_imprest_ctl_error("no such app");
            goto done;
        }

        /* a public client stays public: it has no secret to rotate */

        if (reply->element[1]->type != REDIS_REPLY_STRING
            || reply->element[1]->len == 0)
        {
            freeReplyObject(reply);
            rc = ngx_http_imprest_ctl_error("a public app has no secret");
            goto done;
        }

        freeReplyObject(reply);

        if (ngx_http_imprest_ctl_append(ctl, "MULTI")
            != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "HSET %b secret %b",
                                           key.data, key.len,
                                           hex, sizeof(hex))
               != NGX_HTTP_IMPREST_CTL_OK
            || ngx_http_imprest_ctl_append(ctl, "EXEC")
               != NGX_HTTP_IMPREST_CTL_OK)
        {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }

        reply = ngx_http_imprest_ctl_exec(ctl, 1, &aborted);

        if (reply) {
            freeReplyObject(reply);
            break;
        }

        if (!aborted) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
            goto done;
        }
    }

    if (try == NGX_HTTP_IMPREST_CTL_RETRIES) {
        rc = ngx_http_imprest_ctl_error("too much concurrent change, retry");
        goto done;
    }

    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, "client_id", pos[0],
                                         strlen(pos[0])) != 0
            || ngx_http_imprest_ctl_set_str(obj, "client_secret", tok,
                                            sizeof(tok)) != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    rc = ngx_http_imprest_ctl_print(obj);

done:

    OPENSSL_cleanse(tok, sizeof(tok));

    return rc;
}
