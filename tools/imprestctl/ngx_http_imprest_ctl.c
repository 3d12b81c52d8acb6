/*
 * Copyright (C) Imprest
 *
 * imprestctl: main, its usage text, the command table and the error
 * that is printed.
 */


#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_imprest_ctl.h"


static void ngx_http_imprest_ctl_usage(FILE *f);


static char  ngx_http_imprest_ctl_errstr[512];


/* ngx_http_imprest_ctl_initial.c */
int ngx_http_imprest_ctl_initial_create(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);
int ngx_http_imprest_ctl_initial_list(ngx_http_imprest_ctl_t *ctl, int argc,
    char **argv);
int ngx_http_imprest_ctl_initial_revoke(ngx_http_imprest_ctl_t *ctl,
    int argc, char **argv);


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
    { "initial-token", "create", ngx_http_imprest_ctl_initial_create },
    { "initial-token", "list", ngx_http_imprest_ctl_initial_list },
    { "initial-token", "revoke", ngx_http_imprest_ctl_initial_revoke },
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
"  initial-token create [--ttl SECONDS] [--note TEXT]\n"
"                                RFC 7591 initial access token for\n"
"                                imprest_register, printed once (Redis\n"
"                                keeps its SHA-256); lives --ttl seconds\n"
"                                (default 86400)\n"
"  initial-token list            digest prefix, note, created, expires_at\n"
"  initial-token revoke DIGEST_PREFIX|TOKEN\n"
"                                (TOKEN \"-\": stdin); stops it at once\n"
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


/*
 * Records the message that main prints and returns rc: through
 * ngx_http_imprest_ctl_error() (exit status 1) and
 * ngx_http_imprest_ctl_usage_error() (2).
 */

int
ngx_http_imprest_ctl_fail(int rc, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ngx_http_imprest_ctl_errstr,
              sizeof(ngx_http_imprest_ctl_errstr), fmt, args);
    va_end(args);

    return rc;
}
