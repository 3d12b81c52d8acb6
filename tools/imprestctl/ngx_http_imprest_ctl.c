/*
 * Copyright (C) Imprest
 *
 * imprestctl: main, its usage text, the command table and the error
 * that is printed.
 */


#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_imprest_ctl.h"


typedef struct {
    const char  *noun;
    const char  *verb;
    const char  *synopsis;   /* after "imprestctl NOUN VERB" */
    const char  *text;       /* what it does, lines indented by 4 */
} ngx_http_imprest_ctl_help_t;


static void ngx_http_imprest_ctl_usage(FILE *f, const char *noun,
    const char *verb);
static int ngx_http_imprest_ctl_known_noun(const char *noun);


static char  ngx_http_imprest_ctl_errstr[512];
static int   ngx_http_imprest_ctl_status;


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
    { "user", "list", ngx_http_imprest_ctl_user_list },
    { "user", "show", ngx_http_imprest_ctl_user_show },
    { "org", "add", ngx_http_imprest_ctl_org_add },
    { "org", "del", ngx_http_imprest_ctl_org_del },
    { "org", "list", ngx_http_imprest_ctl_org_list },
    { "org", "show", ngx_http_imprest_ctl_org_show },
    { "member", "add", ngx_http_imprest_ctl_member_add },
    { "member", "set-role", ngx_http_imprest_ctl_member_set_role },
    { "member", "del", ngx_http_imprest_ctl_member_del },
    { "member", "list", ngx_http_imprest_ctl_member_list },
    { "app", "create", ngx_http_imprest_ctl_app_create },
    { "app", "list", ngx_http_imprest_ctl_app_list },
    { "app", "show", ngx_http_imprest_ctl_app_show },
    { "app", "edit", ngx_http_imprest_ctl_app_edit },
    { "app", "rotate-secret", ngx_http_imprest_ctl_app_secret },
    { "app", "secret", ngx_http_imprest_ctl_app_secret },
    { "app", "delete", ngx_http_imprest_ctl_app_delete },
    { "grant", "list", ngx_http_imprest_ctl_grant_list },
    { "grant", "revoke", ngx_http_imprest_ctl_grant_revoke },
    { "token", "mint", ngx_http_imprest_ctl_token_mint },
    { "token", "revoke", ngx_http_imprest_ctl_token_revoke },
    { "token", "show", ngx_http_imprest_ctl_token_show },
    { "initial-token", "create", ngx_http_imprest_ctl_initial_create },
    { "initial-token", "list", ngx_http_imprest_ctl_initial_list },
    { "initial-token", "revoke", ngx_http_imprest_ctl_initial_revoke },
    { NULL, NULL, NULL }
};


/* "imprestctl NOUN VERB --help", and together "imprestctl --help" */

static ngx_http_imprest_ctl_help_t  ngx_http_imprest_ctl_help[] = {

    { "user", "add", "UID --name NAME",
"    Adds the user, or renames one.\n" },
    { "user", "del", "UID",
"    Deletes the user with their memberships and roles, and ends their\n"
"    grants (their tokens stop at once).  Not an error when absent\n"
"    (\"existed\": false).\n" },
    { "user", "list", "",
"    The users added with imprestctl: uid, name, organizations.\n" },
    { "user", "show", "UID",
"    The user, their organizations with roles, and the apps they own.\n" },

    { "org", "add", "[ORG_UUID] --name NAME",
"    Adds the organization (without ORG_UUID: a random v4 UUID), or\n"
"    renames one.\n" },
    { "org", "del", "ORG_UUID",
"    Deletes the organization with its memberships and roles, and takes\n"
"    it out of every grant (a grant left with none ends).\n" },
    { "org", "list", "",
"    The organizations added with imprestctl: id, name, members.\n" },
    { "org", "show", "ORG_UUID",
"    The organization and its members with their roles.\n" },

    { "member", "add", "UID ORG_UUID [--role admin|member]",
"    Makes the user a member (user and organization must exist).  The\n"
"    role is --role, or \"member\" for a new membership; re-adding without\n"
"    --role keeps the role.\n" },
    { "member", "set-role", "UID ORG_UUID admin|member",
"    Changes the role of an existing membership.\n" },
    { "member", "del", "UID ORG_UUID",
"    Ends the membership and its role, and takes the organization out of\n"
"    the user's grants (a grant left with none ends).\n" },
    { "member", "list", "--user UID | --org ORG_UUID",
"    The user's organizations, or the organization's members, with the\n"
"    role of each.\n" },

    { "app", "create",
"--name NAME --redirect-uri URI [--redirect-uri URI]...\n"
"        --scope \"a b\" [--owner UID] [--public] [--introspect]\n"
"        [--client-id app_HEX24] [--secret imp_cs_...]",
"    New OAuth client app_<24 hex>; prints its client_secret once (Redis\n"
"    keeps only its SHA-256); --public: no secret, PKCE only;\n"
"    --introspect: may call introspection; --owner must be a user.\n" },
    { "app", "list", "[--owner UID]",
"    All apps, or those UID owns.\n" },
    { "app", "show", "CLIENT_ID",
"    One app (never its secret).\n" },
    { "app", "edit",
"CLIENT_ID [--name NAME] [--redirect-uri URI]...\n"
"        [--scope \"a b\"]",
"    Changes what is given; --redirect-uri replaces the whole list.  The\n"
"    same checks as \"app create\".\n" },
    { "app", "rotate-secret", "CLIENT_ID",
"    A new client secret, printed once; the old one stops working at once.\n"
"    (\"app secret\" is the old name.)\n" },
    { "app", "delete", "CLIENT_ID",
"    Deletes the app: its access and refresh tokens stop working at once\n"
"    (every script that accepts a token checks that its app exists), and\n"
"    its grants are no longer listed.\n" },

    { "grant", "list", "--user UID | --client CLIENT_ID | --org ORG_UUID",
"    The live grants (connected apps) of a user, an app or an\n"
"    organization: gid, app, user, organizations, scope, created,\n"
"    expires.  Read through the grant indexes (no keyspace scan); for\n"
"    --org a grant's organizations are that one only.\n" },
    { "grant", "revoke",
"GID | --user UID [--client CLIENT_ID] [--org ORG_UUID]\n"
"        | --client CLIENT_ID [--org ORG_UUID] | --org ORG_UUID",
"    Ends grants: their access and refresh tokens stop at the gate at\n"
"    once.  With --org (and --user or --client) only that organization\n"
"    leaves the grants, which keep the others; a grant left with none\n"
"    ends.  The gateway's own script (disconnect.lua) does it.  Prints\n"
"    how many grants changed; GID unknown: exit status 5.\n" },

    { "token", "mint",
"--user UID --client CID [--scope \"a b\"] [--org ORG_UUID]...\n"
"        [--ttl SECONDS] [--exp UNIX] [--aud AUDIENCE] [--token TOKEN]",
"    A new access token (--token TOKEN: record this well-formed one, \"-\":\n"
"    stdin); the Redis key lives --ttl seconds (default 7200), the record\n"
"    says exp (default now + ttl).  User and memberships are not checked\n"
"    here: the gate checks them on every request.  It belongs to no\n"
"    grant.\n" },
    { "token", "revoke", "TOKEN",
"    Deletes the token's record (TOKEN \"-\": stdin).\n" },
    { "token", "show", "TOKEN",
"    The token's record (TOKEN \"-\": stdin).\n" },

    { "initial-token", "create", "[--ttl SECONDS] [--note TEXT]",
"    An RFC 7591 initial access token for imprest_register, printed once\n"
"    (Redis keeps its SHA-256); it lives --ttl seconds (default 86400) and\n"
"    may register apps until then.\n" },
    { "initial-token", "list", "",
"    Digest prefix, note, created, expires_at: never the token.\n" },
    { "initial-token", "revoke", "DIGEST_PREFIX|TOKEN",
"    Stops it at once (TOKEN \"-\": stdin; a prefix of 8 or more hex\n"
"    digits that matches exactly one token).\n" },

    { NULL, NULL, NULL, NULL }
};


int
main(int argc, char **argv)
{
    int                              i, rc;
    const char                      *addr, *user, *password, *db, *v;
    ngx_http_imprest_ctl_t           ctl;
    ngx_http_imprest_ctl_command_t  *cmd;

    memset(&ctl, 0, sizeof(ngx_http_imprest_ctl_t));

    /* display widths of UTF-8 names in tables (wcwidth()) */
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        (void) setlocale(LC_CTYPE, "");
    }

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
            ngx_http_imprest_ctl_usage(stdout, NULL, NULL);
            return NGX_HTTP_IMPREST_CTL_OK;
        }

        if (strncmp(argv[i], "-", 1) != 0) {
            break;
        }

        if (strcmp(argv[i], "--json") == 0) {
            ngx_http_imprest_ctl_json = 1;

        } else if ((v = ngx_http_imprest_ctl_optarg(argc, argv, &i,
                                                    "--redis")))
        {
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

    if (argc - i < 1) {
        rc = ngx_http_imprest_ctl_usage_error("missing command");
        goto done;
    }

    /* "imprestctl grant --help", "imprestctl grant" */

    if (argc - i < 2 || strcmp(argv[i + 1], "--help") == 0
        || strcmp(argv[i + 1], "-h") == 0)
    {
        if (!ngx_http_imprest_ctl_known_noun(argv[i])) {
            rc = ngx_http_imprest_ctl_usage_error("unknown command");
            goto done;
        }

        if (argc - i >= 2) {
            ngx_http_imprest_ctl_usage(stdout, argv[i], NULL);
            return NGX_HTTP_IMPREST_CTL_OK;
        }

        ngx_http_imprest_ctl_usage(stderr, argv[i], NULL);
        rc = ngx_http_imprest_ctl_usage_error("missing subcommand");
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
        if (ngx_http_imprest_ctl_known_noun(argv[i])) {
            ngx_http_imprest_ctl_usage(stderr, argv[i], NULL);
        }

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
        ngx_http_imprest_ctl_usage(stdout, cmd->noun, cmd->verb);
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
        /* the kind of the failure recorded, whatever was returned */

        if (ngx_http_imprest_ctl_status != 0) {
            rc = ngx_http_imprest_ctl_status;

        } else if (rc >= NGX_HTTP_IMPREST_CTL_HELP) {
            rc = NGX_HTTP_IMPREST_CTL_ERROR;
        }

        ngx_http_imprest_ctl_print_error(ngx_http_imprest_ctl_errstr[0]
                                         ? ngx_http_imprest_ctl_errstr
                                         : "failed");

        /* with --json stderr is one JSON object, nothing else */

        if (rc == NGX_HTTP_IMPREST_CTL_USAGE && !ngx_http_imprest_ctl_json) {
            fputs("(imprestctl --help for usage)\n", stderr);
        }
    }

    return rc;
}


static int
ngx_http_imprest_ctl_known_noun(const char *noun)
{
    ngx_http_imprest_ctl_command_t  *cmd;

    for (cmd = ngx_http_imprest_ctl_commands; cmd->noun; cmd++) {
        if (strcmp(cmd->noun, noun) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * Every command (noun NULL), a noun's commands, or one command.  A
 * command without an entry in ngx_http_imprest_ctl_help gets the whole
 * text.
 */

static void
ngx_http_imprest_ctl_usage(FILE *f, const char *noun, const char *verb)
{
    int                           n;
    ngx_http_imprest_ctl_help_t  *h;

    n = 0;

    if (noun) {
        for (h = ngx_http_imprest_ctl_help; h->noun; h++) {
            if (strcmp(h->noun, noun) == 0
                && (verb == NULL || strcmp(h->verb, verb) == 0))
            {
                fprintf(f, "%simprestctl [OPTIONS] %s %s%s%s\n%s",
                        n ? "\n" : "usage: ", h->noun, h->verb,
                        h->synopsis[0] ? " " : "", h->synopsis, h->text);
                n++;
            }
        }

        if (n) {
            fputs(
"\n"
"Options (before the command): --redis, --password, --user, --db, --prefix,\n"
"--json; --json may also follow the command.  imprestctl --help: all of\n"
"them, the rules for names, URIs and scopes, and the exit statuses.\n", f);
            return;
        }
    }

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
"  --json             JSON output, for scripts (also after a command)\n"
"  --help             this text; \"imprestctl NOUN --help\" and\n"
"                     \"imprestctl NOUN VERB --help\": one part of it\n"
"\n"
"commands:\n", f);

    for (h = ngx_http_imprest_ctl_help; h->noun; h++) {
        fprintf(f, "\n  %s %s%s%s\n%s", h->noun, h->verb,
                h->synopsis[0] ? " " : "", h->synopsis, h->text);
    }

    fputs(
"\n"
"Redirect URIs are matched exactly: https://HOST[:PORT][/PATH][?QUERY],\n"
"http://127.0.0.1[:PORT]... or http://[::1][:PORT]... (loopback only), or\n"
"a private-use scheme with a dot (com.example.app:/cb); no fragment,\n"
"userinfo, wildcard, space or backslash, at most 2000 bytes.  Scopes:\n"
"RFC 6749 scope tokens separated by single spaces.  App names: 1 to 100\n"
"bytes of printable UTF-8; user and organization names: 1 to 256.\n"
"UID and client ids: 1 to 128 of [A-Za-z0-9._@-].\n"
"\n"
"Output: a table or \"key  value\" lines (times in UTC, long names cut\n"
"with \"...\"); with --json one JSON object on stdout, whole.  Errors: a\n"
"line on stderr ({\"error\":\"...\"} with --json).\n"
"\n"
"exit status:\n"
"  0  done (a delete of what is not there too: \"existed\": false)\n"
"  1  any other failure\n"
"  2  usage: unknown command or option, invalid argument\n"
"  3  Redis unavailable, refused the login, or answered an error\n"
"  4  conflict or refused: the app exists, a public app has no secret,\n"
"     too much concurrent change\n"
"  5  not found: no such user, organization, membership, app, grant or\n"
"     token\n", f);
}


/*
 * Records the message that main prints and the exit status rc, and
 * returns rc: through ngx_http_imprest_ctl_error() (1),
 * ngx_http_imprest_ctl_usage_error() (2), ngx_http_imprest_ctl_redis_error()
 * (3), ngx_http_imprest_ctl_conflict() (4), ngx_http_imprest_ctl_not_found()
 * (5).
 */

int
ngx_http_imprest_ctl_fail(int rc, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ngx_http_imprest_ctl_errstr,
              sizeof(ngx_http_imprest_ctl_errstr), fmt, args);
    va_end(args);

    ngx_http_imprest_ctl_status = rc;

    return rc;
}


int
ngx_http_imprest_ctl_failed(void)
{
    return ngx_http_imprest_ctl_status;
}
