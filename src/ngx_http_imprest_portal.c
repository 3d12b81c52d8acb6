/*
 * Copyright (C) Imprest
 *
 * imprest_portal: the developer portal.  Below its location (the base):
 *
 *   ""                    GET   My Apps: the signed-in developer's apps
 *   "new"                 GET   the Create App form; POST creates the app
 *                               and shows its client secret, once
 *   "apps/<cid>"          GET   one app and its edit form; POST edits the
 *                               name, redirect URIs and scopes (303 back)
 *   "apps/<cid>/rotate"   POST  a new client secret, shown once; the old
 *                               one stops working at once
 *   "apps/<cid>/delete"   GET   a confirmation page; POST (with "confirm")
 *                               deletes the app: every token of it stops
 *                               at the gate at once (src/lua/lib/gone.lua)
 *   "style.css", "copy.js"      the pages' assets (no sign-in)
 *
 * The developer is the signed-in user (imprest_user), as on the consent
 * page.  Only the owner sees or changes an app: another user's app, like
 * an unknown one, is a 404 (src/lua/app.lua checks the owner in the same
 * call), so client ids are never confirmed to others.  Every POST passes
 * the CSRF check first; every value is escaped on its way into a page;
 * when Redis cannot answer, a 503 page and nothing written.  Plain forms:
 * nothing needs JavaScript (copy.js only un-hides the copy buttons).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_html.h"
#include "ngx_http_imprest_pages.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


#define NGX_HTTP_IMPREST_PORTAL_NAME_MAX   100      /* characters */
#define NGX_HTTP_IMPREST_PORTAL_URIS_MAX   10
#define NGX_HTTP_IMPREST_PORTAL_CID_LEN    (4 + 24) /* "app_" 24 hex */

/* the routes below the base */
#define NGX_HTTP_IMPREST_PORTAL_HOME       0
#define NGX_HTTP_IMPREST_PORTAL_NEW        1
#define NGX_HTTP_IMPREST_PORTAL_APP        2
#define NGX_HTTP_IMPREST_PORTAL_ROTATE     3
#define NGX_HTTP_IMPREST_PORTAL_DELETE     4

/* the app's type on the Create App form */
#define NGX_HTTP_IMPREST_PORTAL_NO_TYPE       -1
#define NGX_HTTP_IMPREST_PORTAL_CONFIDENTIAL  0
#define NGX_HTTP_IMPREST_PORTAL_PUBLIC        1


typedef struct {
    ngx_str_t                  user;
    ngx_uint_t                 route;
    ngx_str_t                  cid;
    u_char                     cid_buf[NGX_HTTP_IMPREST_PORTAL_CID_LEN];

    /* the form, as typed (POST) or from the record (GET) */
    ngx_str_t                  name;
    ngx_str_t                  uris_typed;   /* the textarea */
    ngx_str_t                  uris;         /* checked, space-separated */
    ngx_str_t                  scope;        /* checked, catalogue order */
    u_char                    *chosen;       /* per catalogue scope */
    ngx_int_t                  type;

    /* what is wrong with it: a message per field */
    const char                *name_err;
    const char                *uris_err;
    ngx_str_t                  uris_err_uri; /* the line at fault */
    ngx_uint_t                 uris_err_line;
    ngx_uint_t                 uris_count;
    const char                *scope_err;
    const char                *type_err;
    const char                *confirm_err;

    ngx_http_imprest_app_t     app;

    u_char                     secret[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                     digest[NGX_HTTP_IMPREST_DIGEST_HEX_LEN];

    ngx_str_t                  csrf;         /* the hidden field, once */

    unsigned                   posted:1;     /* values are the POST's */
    unsigned                   retried:1;    /* a second client id drawn */
} ngx_http_imprest_portal_t;


static ngx_int_t ngx_http_imprest_portal_new(ngx_http_request_t *r,
    ngx_http_imprest_as_t **asp, ngx_http_imprest_portal_t **pp,
    ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_portal_route(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_str_t *path);
static ngx_int_t ngx_http_imprest_portal_get(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p);
static ngx_int_t ngx_http_imprest_portal_post(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_portal_body(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_portal_validate(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_uint_t with_type);
static ngx_uint_t ngx_http_imprest_portal_name_ok(ngx_str_t *name);
static void ngx_http_imprest_portal_chosen(ngx_http_imprest_as_t *as,
    ngx_http_imprest_portal_t *p, ngx_str_t *scope);
static ngx_int_t ngx_http_imprest_portal_call(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p, const char *op,
    ngx_http_imprest_as_step_pt step);
static ngx_int_t ngx_http_imprest_portal_create(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p);
static ngx_int_t ngx_http_imprest_portal_listed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_portal_created(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_portal_got(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_portal_changed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_portal_app_reply(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, redisReply *reply, ngx_int_t *status);
static ngx_int_t ngx_http_imprest_portal_see_other(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, const char *path);
static ngx_int_t ngx_http_imprest_portal_message(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_uint_t status, const char *title,
    const char *text);
static ngx_int_t ngx_http_imprest_portal_unavailable(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p);
static ngx_int_t ngx_http_imprest_portal_not_found(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p);
static ngx_int_t ngx_http_imprest_portal_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_http_imprest_html_t *h);
static ngx_int_t ngx_http_imprest_portal_home(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_array_t *apps);
static ngx_int_t ngx_http_imprest_portal_form_page(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_uint_t status);
static ngx_int_t ngx_http_imprest_portal_app_page(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_uint_t status);
static ngx_int_t ngx_http_imprest_portal_delete_page(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_uint_t status);
static ngx_int_t ngx_http_imprest_portal_secret_page(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_uint_t created);
static ngx_int_t ngx_http_imprest_portal_fields(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_http_imprest_html_t *h, ngx_uint_t with_type);
static void ngx_http_imprest_portal_error(ngx_http_imprest_html_t *h,
    const char *id, const char *text);
static void ngx_http_imprest_portal_lines(ngx_http_imprest_html_t *h,
    ngx_str_t *s, const char *sep);
static void ngx_http_imprest_portal_link(ngx_http_imprest_html_t *h,
    ngx_http_request_t *r, ngx_str_t *cid, const char *tail);
static ngx_int_t ngx_http_imprest_portal_form_open(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_http_imprest_html_t *h, ngx_str_t *cid,
    const char *tail, const char *id);
static void ngx_http_imprest_portal_facts(ngx_http_imprest_html_t *h,
    ngx_http_imprest_app_t *app);


ngx_int_t
ngx_http_imprest_portal_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   path;
    ngx_http_imprest_as_t      *as;
    ngx_http_imprest_portal_t  *p;

    if (ngx_http_imprest_pages_path(r, &path) != NGX_OK) {
        return ngx_http_imprest_message(r, NGX_HTTP_NOT_FOUND, "Not found",
                                        "There is no such page.");
    }

    /* the stylesheet and the script need no sign-in */
    rc = ngx_http_imprest_pages_asset(r, &path);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (r->method == NGX_HTTP_POST) {
        /* the state is made once the body is in: see _post */
        return ngx_http_imprest_as_read_body(r, ngx_http_imprest_portal_post);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD, POST");
    }

    if (ngx_http_imprest_portal_new(r, &as, &p, &rc) != NGX_OK) {
        return rc;
    }

    if (p->route == NGX_HTTP_IMPREST_PORTAL_ROTATE) {
        return ngx_http_imprest_not_allowed(r, "POST");
    }

    rc = ngx_http_imprest_portal_get(r, as, p);

    if (rc == NGX_AGAIN) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


/*
 * The request's state, the signed-in user and the route: NGX_OK; or
 * NGX_DONE when an answer was made instead (a sign-in redirect, a 404
 * page), *rc being what to finalize the request with.
 */

static ngx_int_t
ngx_http_imprest_portal_new(ngx_http_request_t *r,
    ngx_http_imprest_as_t **asp, ngx_http_imprest_portal_t **pp,
    ngx_int_t *rc)
{
    ngx_str_t                   path;
    ngx_http_imprest_as_t      *as;
    ngx_http_imprest_portal_t  *p;

    as = ngx_http_imprest_as_create(r);
    if (as == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    p = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_portal_t));
    if (p == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    as->data = p;
    p->type = NGX_HTTP_IMPREST_PORTAL_NO_TYPE;

    p->chosen = ngx_pcalloc(r->pool, as->imcf->scopes->nelts);
    if (p->chosen == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    if (ngx_http_imprest_pages_user(r, as->ilcf, &p->user, rc) != NGX_OK) {
        return NGX_DONE;
    }

    if (ngx_http_imprest_pages_path(r, &path) != NGX_OK
        || ngx_http_imprest_portal_route(r, p, &path) != NGX_OK)
    {
        *rc = ngx_http_imprest_portal_not_found(r, p);
        return NGX_DONE;
    }

    *asp = as;
    *pp = p;

    return NGX_OK;
}


/* "", "new", "apps/<cid>", "apps/<cid>/rotate", "apps/<cid>/delete" */

static ngx_int_t
ngx_http_imprest_portal_route(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_str_t *path)
{
    u_char  *s, *last;
    size_t   i, n;

    if (path->len == 0) {
        p->route = NGX_HTTP_IMPREST_PORTAL_HOME;
        return NGX_OK;
    }

    if (path->len == 3 && ngx_strncmp(path->data, "new", 3) == 0) {
        p->route = NGX_HTTP_IMPREST_PORTAL_NEW;
        return NGX_OK;
    }

    s = path->data;
    last = s + path->len;
    n = NGX_HTTP_IMPREST_PORTAL_CID_LEN;

    if ((size_t) (last - s) < 5 + n || ngx_strncmp(s, "apps/app_", 9) != 0) {
        return NGX_DECLINED;
    }

    s += 5;

    /* only the ids the portal and registration make: "app_" 24 hex */
    for (i = 4; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return NGX_DECLINED;
        }
    }

    ngx_memcpy(p->cid_buf, s, n);
    p->cid.data = p->cid_buf;
    p->cid.len = n;
    s += n;

    if (s == last) {
        p->route = NGX_HTTP_IMPREST_PORTAL_APP;

    } else if (last - s == 7 && ngx_strncmp(s, "/rotate", 7) == 0) {
        p->route = NGX_HTTP_IMPREST_PORTAL_ROTATE;

    } else if (last - s == 7 && ngx_strncmp(s, "/delete", 7) == 0) {
        p->route = NGX_HTTP_IMPREST_PORTAL_DELETE;

    } else {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_imprest_portal_get(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_http_imprest_portal_t *p)
{
    ngx_int_t                        rc;
    ngx_http_imprest_apps_args_t     a;
    ngx_http_imprest_script_call_t   call;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    switch (p->route) {

    case NGX_HTTP_IMPREST_PORTAL_HOME:
        a.prefix = as->imcf->redis.prefix;
        a.owner = p->user;

        ngx_http_imprest_script_apps_call(&call, &a);

        return ngx_http_imprest_as_eval(r, as, &call,
                                        ngx_http_imprest_portal_listed);

    case NGX_HTTP_IMPREST_PORTAL_NEW:
        return ngx_http_imprest_portal_form_page(r, as, p, NGX_HTTP_OK);

    default: /* APP, DELETE */
        return ngx_http_imprest_portal_call(r, as, p, "get",
                                            ngx_http_imprest_portal_got);
    }
}


static ngx_int_t
ngx_http_imprest_portal_post(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   v, *field;
    ngx_http_imprest_as_t      *as;
    ngx_http_imprest_portal_t  *p;

    if (ngx_http_imprest_portal_new(r, &as, &p, &rc) != NGX_OK) {
        return rc;
    }

    if (p->route == NGX_HTTP_IMPREST_PORTAL_HOME) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_imprest_portal_body(r, as, &rc) != NGX_OK) {
        return rc;
    }

    /* before anything else: the form must be ours (pages.h) */
    field = (ngx_http_imprest_as_param(as, NGX_HTTP_IMPREST_CSRF_FIELD, &v)
             == 1) ? &v : NULL;

    if (ngx_http_imprest_pages_csrf_check(r, field, &rc) != NGX_OK) {
        return rc;
    }

    p->posted = 1;

    switch (p->route) {

    case NGX_HTTP_IMPREST_PORTAL_NEW:
        if (ngx_http_imprest_portal_validate(r, as, p, 1) != NGX_OK) {
            return ngx_http_imprest_portal_form_page(r, as, p,
                                                     NGX_HTTP_BAD_REQUEST);
        }

        return ngx_http_imprest_portal_create(r, as, p);

    case NGX_HTTP_IMPREST_PORTAL_APP:
        if (ngx_http_imprest_portal_validate(r, as, p, 0) != NGX_OK) {
            /* the page shows the app too: read it (and its owner) */
            return ngx_http_imprest_portal_call(r, as, p, "get",
                                                ngx_http_imprest_portal_got);
        }

        return ngx_http_imprest_portal_call(r, as, p, "update",
                                            ngx_http_imprest_portal_changed);

    case NGX_HTTP_IMPREST_PORTAL_ROTATE:
        if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS,
                                            p->secret)
            != 0
            || ngx_http_imprest_digest_hex(p->secret,
                                           NGX_HTTP_IMPREST_TOKEN_LEN,
                                           p->digest)
               != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_imprest_portal_call(r, as, p, "rotate",
                                            ngx_http_imprest_portal_changed);

    default: /* DELETE */
        if (ngx_http_imprest_as_param(as, "confirm", &v) != 1
            || v.len != 3 || ngx_strncmp(v.data, "yes", 3) != 0)
        {
            p->confirm_err = "Tick the box to confirm that the app and all "
                             "of its access end now.";

            return ngx_http_imprest_portal_call(r, as, p, "get",
                                                ngx_http_imprest_portal_got);
        }

        return ngx_http_imprest_portal_call(r, as, p, "delete",
                                            ngx_http_imprest_portal_changed);
    }
}


/*
 * The form body into as->params (at most NGX_HTTP_IMPREST_AS_MAX_PARAMS
 * fields), with our own pages for what is wrong with it: this is a
 * browser's form, not an OAuth client's request.
 */

static ngx_int_t
ngx_http_imprest_portal_body(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_int_t *rc)
{
    int                          n;
    u_char                      *body, *p, *scratch;
    size_t                       len, ctlen;
    ngx_str_t                   *ct;
    ngx_chain_t                 *cl;
    ngx_http_imprest_portal_t   *pt;

    static const char  form[] = "application/x-www-form-urlencoded";

    pt = as->data;
    ctlen = sizeof(form) - 1;

    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;

    if (ct == NULL || ct->len < ctlen
        || ngx_strncasecmp(ct->data, (u_char *) form, ctlen) != 0
        || (ct->len > ctlen && ct->data[ctlen] != ';'
            && ct->data[ctlen] != ' '))
    {
        *rc = ngx_http_imprest_portal_message(r, pt, NGX_HTTP_BAD_REQUEST,
                  "Invalid form", "The form was not sent as a web form "
                  "(application/x-www-form-urlencoded).");
        return NGX_DECLINED;
    }

    len = 0;

    /* never read from disk: a body that did not fit in memory is refused */
    if (r->request_body == NULL || r->request_body->temp_file) {
        goto too_large;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            goto too_large;
        }

        len += cl->buf->last - cl->buf->pos;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    scratch = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL || scratch == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last > cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    n = ngx_http_imprest_form_parse(body, len, scratch, as->params,
                                    NGX_HTTP_IMPREST_AS_MAX_PARAMS,
                                    &as->nparams);

    if (n == NGX_HTTP_IMPREST_FORM_TOO_MANY) {
        *rc = ngx_http_imprest_portal_message(r, pt,
                  NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "Form too large",
                  "The form has more fields than this page ever sends.");
        return NGX_DECLINED;
    }

    if (n != NGX_HTTP_IMPREST_FORM_OK) {
        *rc = ngx_http_imprest_portal_message(r, pt, NGX_HTTP_BAD_REQUEST,
                  "Invalid form", "The form is malformed.");
        return NGX_DECLINED;
    }

    return NGX_OK;

too_large:

    *rc = ngx_http_imprest_portal_message(r, pt,
              NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "Form too large",
              "The form is larger than this page ever sends.");
    return NGX_DECLINED;
}


/* checks the fields, with a message for each one that is wrong */

static ngx_int_t
ngx_http_imprest_portal_validate(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_uint_t with_type)
{
    u_char                    *d, *s, *e, *last, *line;
    size_t                     i, j, len;
    ngx_str_t                  v, uri;
    ngx_uint_t                 n, nlines, bad;
    const char                *reason;
    ngx_http_imprest_scope_t  *sc;

    bad = 0;

    /* the app's name: what users read on the consent page */
    n = ngx_http_imprest_as_param(as, "name", &v);

    while (v.len && (v.data[0] == ' ' || v.data[0] == '\t')) {
        v.data++;
        v.len--;
    }

    while (v.len && (v.data[v.len - 1] == ' '
                     || v.data[v.len - 1] == '\t'))
    {
        v.len--;
    }

    p->name = v;

    if (n == 2) {
        p->name_err = "Send the name once.";

    } else if (v.len == 0) {
        p->name_err = "Enter the app's name.";

    } else if (!ngx_http_imprest_portal_name_ok(&v)) {
        p->name_err = "Use at most 100 characters of text: no control "
                      "characters.";
    }

    /* redirect URIs: one per line */
    n = ngx_http_imprest_as_param(as, "redirect_uris", &v);
    p->uris_typed = v;

    if (n == 2) {
        p->uris_err = "Send the redirect URIs once.";
        goto scopes;
    }

    d = ngx_pnalloc(r->pool, v.len + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    p->uris.data = d;
    s = v.data;
    last = v.data + v.len;
    nlines = 0;

    while (s < last) {
        line = s;

        while (s < last && *s != '\n' && *s != '\r') {
            s++;
        }

        e = s;

        if (s < last && *s == '\r') {
            s++;
        }

        if (s < last && *s == '\n') {
            s++;
        }

        nlines++;

        while (line < e && (*line == ' ' || *line == '\t')) {
            line++;
        }

        while (e > line && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        if (e == line) {
            continue;
        }

        uri.data = line;
        uri.len = e - line;

        reason = ngx_http_imprest_redirect_uri_register_check(uri.data,
                                                              uri.len);
        if (reason) {
            p->uris_err = reason;
            p->uris_err_uri = uri;
            p->uris_err_line = nlines;
            goto scopes;
        }

        /* a set: a URI listed twice counts once */
        if (ngx_http_imprest_scope_has(p->uris.data, d - p->uris.data,
                                       uri.data, uri.len))
        {
            continue;
        }

        if (++p->uris_count > NGX_HTTP_IMPREST_PORTAL_URIS_MAX) {
            p->uris_err = "Enter at most 10 redirect URIs.";
            goto scopes;
        }

        if (d > p->uris.data) {
            *d++ = ' ';
        }

        d = ngx_cpymem(d, uri.data, uri.len);
    }

    p->uris.len = d - p->uris.data;

    if (p->uris.len == 0) {
        p->uris_err = "Enter at least one redirect URI.";
    }

scopes:

    if (p->uris_err) {
        bad = 1;
    }

    /* scopes: checkboxes of the catalogue, at least one */
    sc = as->imcf->scopes->elts;

    for (i = 0; i < as->nparams; i++) {
        if (as->params[i].name_len != 5
            || ngx_strncmp(as->params[i].name, "scope", 5) != 0)
        {
            continue;
        }

        for (j = 0; j < as->imcf->scopes->nelts; j++) {
            if (sc[j].name.len == as->params[i].value_len
                && ngx_strncmp(sc[j].name.data, as->params[i].value,
                               sc[j].name.len) == 0)
            {
                p->chosen[j] = 1;
                break;
            }
        }

        if (j == as->imcf->scopes->nelts) {
            p->scope_err = "Choose scopes from the list only.";
        }
    }

    len = 0;

    for (j = 0; j < as->imcf->scopes->nelts; j++) {
        if (p->chosen[j]) {
            len += sc[j].name.len + 1;
        }
    }

    if (len == 0 && p->scope_err == NULL) {
        p->scope_err = "Choose at least one scope.";
    }

    p->scope.data = ngx_pnalloc(r->pool, len + 1);
    if (p->scope.data == NULL) {
        return NGX_ERROR;
    }

    d = p->scope.data;

    for (j = 0; j < as->imcf->scopes->nelts; j++) {
        if (p->chosen[j]) {
            if (d > p->scope.data) {
                *d++ = ' ';
            }

            d = ngx_cpymem(d, sc[j].name.data, sc[j].name.len);
        }
    }

    p->scope.len = d - p->scope.data;

    /* confidential (a server keeping a secret) or public (PKCE only) */
    if (with_type) {
        n = ngx_http_imprest_as_param(as, "type", &v);

        if (n == 1 && v.len == 12
            && ngx_strncmp(v.data, "confidential", 12) == 0)
        {
            p->type = NGX_HTTP_IMPREST_PORTAL_CONFIDENTIAL;

        } else if (n == 1 && v.len == 6
                   && ngx_strncmp(v.data, "public", 6) == 0)
        {
            p->type = NGX_HTTP_IMPREST_PORTAL_PUBLIC;

        } else {
            p->type_err = "Choose confidential or public.";
        }
    }

    if (bad || p->name_err || p->scope_err || p->type_err) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * 1 to 100 characters of well-formed UTF-8 without C0 or C1 controls or
 * DEL.  Other invisible characters (bidi controls) are allowed but shown
 * as U+FFFD by the escaping on every page (ngx_http_imprest_html_escape).
 */

static ngx_uint_t
ngx_http_imprest_portal_name_ok(ngx_str_t *name)
{
    u_char      c, *s, *last;
    size_t      n, k, i;
    ngx_uint_t  chars;

    s = name->data;
    last = s + name->len;
    chars = 0;

    while (s < last) {
        c = *s;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return 0;
            }

            s++;
            chars++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;

        } else {
            return 0;
        }

        if ((size_t) (last - s) < n + 1) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            if ((s[k] & 0xc0) != 0x80) {
                return 0;
            }
        }

        /* overlong forms, surrogates, beyond U+10FFFF, C1 controls */
        i = s[1];

        if ((c == 0xe0 && i < 0xa0) || (c == 0xed && i > 0x9f)
            || (c == 0xf0 && i < 0x90) || (c == 0xf4 && i > 0x8f)
            || (c == 0xc2 && i < 0xa0))
        {
            return 0;
        }

        s += n + 1;
        chars++;
    }

    return chars >= 1 && chars <= NGX_HTTP_IMPREST_PORTAL_NAME_MAX;
}


/* the boxes to tick for a stored scope list */

static void
ngx_http_imprest_portal_chosen(ngx_http_imprest_as_t *as,
    ngx_http_imprest_portal_t *p, ngx_str_t *scope)
{
    ngx_uint_t                 j;
    ngx_http_imprest_scope_t  *sc;

    sc = as->imcf->scopes->elts;

    for (j = 0; j < as->imcf->scopes->nelts; j++) {
        p->chosen[j] = ngx_http_imprest_scope_has(scope->data, scope->len,
                                                  sc[j].name.data,
                                                  sc[j].name.len);
    }
}


/* src/lua/app.lua on p->cid, as its owner */

static ngx_int_t
ngx_http_imprest_portal_call(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_http_imprest_portal_t *p, const char *op,
    ngx_http_imprest_as_step_pt step)
{
    ngx_http_imprest_app_args_t      a;
    ngx_http_imprest_script_call_t   call;

    ngx_memzero(&a, sizeof(ngx_http_imprest_app_args_t));

    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   p->cid.data, p->cid.len, &a.key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.prefix = as->imcf->redis.prefix;
    a.cid = p->cid;
    a.owner = p->user;
    ngx_str_set(&a.rat, "");
    a.op = op;
    a.name = p->name;
    a.redirect_uris = p->uris;
    a.scope = p->scope;
    a.secret.data = p->digest;
    a.secret.len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;

    ngx_http_imprest_script_app_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call, step);
}


/*
 * A new app: "app_" and 24 hex digits from RAND_bytes, and for a
 * confidential one a client secret (ngx_http_imprest_token_generate) of
 * which only the SHA-256 is stored, as imprestctl does.
 */

static ngx_int_t
ngx_http_imprest_portal_create(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p)
{
    u_char                               rnd[12];
    ngx_http_imprest_script_call_t       call;
    ngx_http_imprest_app_create_args_t   a;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p->cid_buf, "app_", 4);
    (void) ngx_hex_dump(p->cid_buf + 4, rnd, sizeof(rnd));
    p->cid.data = p->cid_buf;
    p->cid.len = NGX_HTTP_IMPREST_PORTAL_CID_LEN;

    ngx_memzero(&a, sizeof(ngx_http_imprest_app_create_args_t));

    if (p->type == NGX_HTTP_IMPREST_PORTAL_CONFIDENTIAL) {
        if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CS,
                                            p->secret)
            != 0
            || ngx_http_imprest_digest_hex(p->secret,
                                           NGX_HTTP_IMPREST_TOKEN_LEN,
                                           p->digest)
               != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        a.secret.data = p->digest;
        a.secret.len = NGX_HTTP_IMPREST_DIGEST_HEX_LEN;

    } else {
        ngx_str_set(&a.secret, "");
    }

    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   p->cid.data, p->cid.len, &a.key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.prefix = as->imcf->redis.prefix;
    a.cid = p->cid;
    a.name = p->name;
    a.redirect_uris = p->uris;
    a.scope = p->scope;
    a.owner = p->user;
    a.created = ngx_time();
    ngx_str_set(&a.rat, "");

    ngx_http_imprest_script_app_create_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_portal_created);
}


static ngx_int_t
ngx_http_imprest_portal_created(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                   rc;
    ngx_http_imprest_portal_t  *p;

    p = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_portal_unavailable(r, p);
    }

    rc = ngx_http_imprest_script_app_create_reply(reply);

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the app_create "
                                     "script");
        return ngx_http_imprest_portal_unavailable(r, p);
    }

    if (rc == NGX_DECLINED) {
        /* 96 random bits met an existing id: never expected; once more */
        if (p->retried) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "imprest: two new client ids in a row exist");
            return ngx_http_imprest_portal_unavailable(r, p);
        }

        p->retried = 1;

        return ngx_http_imprest_portal_create(r, as, p);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: user \"%V\" created app \"%V\"", &p->user,
                  &p->cid);

    p->app.cid = p->cid;
    p->app.name = p->name;
    p->app.public = (p->type == NGX_HTTP_IMPREST_PORTAL_PUBLIC);

    return ngx_http_imprest_portal_secret_page(r, p, 1);
}


static ngx_int_t
ngx_http_imprest_portal_listed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                   rc;
    ngx_array_t                *apps;
    ngx_http_imprest_portal_t  *p;

    p = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_portal_unavailable(r, p);
    }

    rc = ngx_http_imprest_script_apps_reply(r, reply, &apps);

    if (rc == NGX_ABORT) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_http_imprest_redis_reset("reply does not match the apps script");
        return ngx_http_imprest_portal_unavailable(r, p);
    }

    return ngx_http_imprest_portal_home(r, as, p, apps);
}


/* NGX_OK with *status and p->app, or NGX_ERROR: Redis could not answer */

static ngx_int_t
ngx_http_imprest_portal_app_reply(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, redisReply *reply, ngx_int_t *status)
{
    if (reply == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_imprest_script_app_reply(r, reply, status, &p->app)
        != NGX_OK)
    {
        ngx_http_imprest_redis_reset("reply does not match the app script");
        return NGX_ERROR;
    }

    p->app.cid = p->cid;

    return NGX_OK;
}


/* "get": the app's page, the delete confirmation, or why rotate refused */

static ngx_int_t
ngx_http_imprest_portal_got(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    redisReply *reply)
{
    ngx_int_t                   status;
    ngx_http_imprest_portal_t  *p;

    p = as->data;

    if (ngx_http_imprest_portal_app_reply(r, p, reply, &status) != NGX_OK) {
        return ngx_http_imprest_portal_unavailable(r, p);
    }

    /* another user's app is as unknown as one that does not exist */
    if (status != NGX_HTTP_IMPREST_APP_OK) {
        return ngx_http_imprest_portal_not_found(r, p);
    }

    switch (p->route) {

    case NGX_HTTP_IMPREST_PORTAL_ROTATE:
        return ngx_http_imprest_portal_message(r, p, NGX_HTTP_BAD_REQUEST,
                   "No secret to rotate",
                   "This is a public app: it has no client secret (it "
                   "proves itself with PKCE).");

    case NGX_HTTP_IMPREST_PORTAL_DELETE:
        return ngx_http_imprest_portal_delete_page(r, p,
                   p->posted ? NGX_HTTP_BAD_REQUEST : NGX_HTTP_OK);

    default: /* APP */
        if (p->posted) {
            return ngx_http_imprest_portal_app_page(r, as, p,
                                                    NGX_HTTP_BAD_REQUEST);
        }

        p->name = p->app.name;
        p->uris_typed = p->app.redirect_uris;
        ngx_http_imprest_portal_chosen(as, p, &p->app.scope);

        return ngx_http_imprest_portal_app_page(r, as, p, NGX_HTTP_OK);
    }
}


/* "update", "rotate", "delete" */

static ngx_int_t
ngx_http_imprest_portal_changed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                   status;
    ngx_http_imprest_portal_t  *p;

    p = as->data;

    if (ngx_http_imprest_portal_app_reply(r, p, reply, &status) != NGX_OK) {
        return ngx_http_imprest_portal_unavailable(r, p);
    }

    if (status == NGX_HTTP_IMPREST_APP_FORBIDDEN
        && p->route == NGX_HTTP_IMPREST_PORTAL_ROTATE)
    {
        /* not the owner's, or a public app: which one, for the owner */
        return ngx_http_imprest_portal_call(r, as, p, "get",
                                            ngx_http_imprest_portal_got);
    }

    if (status != NGX_HTTP_IMPREST_APP_OK) {
        return ngx_http_imprest_portal_not_found(r, p);
    }

    switch (p->route) {

    case NGX_HTTP_IMPREST_PORTAL_ROTATE:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: user \"%V\" rotated the secret of app "
                      "\"%V\"", &p->user, &p->cid);

        return ngx_http_imprest_portal_secret_page(r, p, 0);

    case NGX_HTTP_IMPREST_PORTAL_DELETE:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: user \"%V\" deleted app \"%V\"", &p->user,
                      &p->cid);

        return ngx_http_imprest_portal_see_other(r, p, "/?deleted");

    default: /* APP */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: user \"%V\" changed app \"%V\"", &p->user,
                      &p->cid);

        return ngx_http_imprest_portal_see_other(r, p, "?saved");
    }
}


/*
 * RFC 9110 15.4.4: after a change, 303 to the page that shows it, so that
 * reloading does not post again.  A relative Location: nginx would make
 * one absolute from the Host header (see ngx_http_imprest_pages_user).
 */

static ngx_int_t
ngx_http_imprest_portal_see_other(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, const char *path)
{
    u_char                       *d;
    size_t                        len;
    ngx_str_t                     empty = ngx_null_string;
    ngx_table_elt_t              *h;
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    /* "/?deleted" from the base; "?saved" from the app's page */
    len = ilcf->base.len + sizeof("/apps/") - 1 + p->cid.len
          + ngx_strlen(path) + 1;

    d = ngx_pnalloc(r->pool, len);
    if (d == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_http_imprest_add_header(r, "Location", NULL);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.data = d;
    d = ngx_cpymem(d, ilcf->base.data, ilcf->base.len);

    if (path[0] == '?') {
        d = ngx_cpymem(d, "/apps/", sizeof("/apps/") - 1);
        d = ngx_cpymem(d, p->cid.data, p->cid.len);
    }

    d = ngx_cpymem(d, path, ngx_strlen(path));
    h->value.len = d - h->value.data;

    return ngx_http_imprest_pages_send(r, NGX_HTTP_SEE_OTHER, &empty, NULL,
                                       NGX_HTTP_IMPREST_PAGE_ASSETS);
}


/* the pages */

static ngx_int_t
ngx_http_imprest_portal_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_imprest_html_t *h)
{
    ngx_str_t  body;

    ngx_http_imprest_pages_end(h);

    if (ngx_http_imprest_html_done(h, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_imprest_pages_send(r, status, &body, NULL,
                                       NGX_HTTP_IMPREST_PAGE_ASSETS);
}


/* a framed page of our own fixed title and text */

static ngx_int_t
ngx_http_imprest_portal_message(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_uint_t status, const char *title,
    const char *text)
{
    ngx_http_imprest_html_t  h;

    ngx_http_imprest_html_init(&h, r->pool, 1024);
    ngx_http_imprest_pages_begin(&h, r, title, p ? &p->user : NULL);
    ngx_http_imprest_html_lit(&h, "<p>");
    ngx_http_imprest_html_raw(&h, text, ngx_strlen(text));
    ngx_http_imprest_html_lit(&h, "</p><p><a href=\"");
    ngx_http_imprest_portal_link(&h, r, NULL, "");
    ngx_http_imprest_html_lit(&h, "\">Back to My Apps</a></p>");

    return ngx_http_imprest_portal_send(r, status, &h);
}


static ngx_int_t
ngx_http_imprest_portal_unavailable(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p)
{
    return ngx_http_imprest_portal_message(r, p,
               NGX_HTTP_SERVICE_UNAVAILABLE, "Temporarily unavailable",
               "Nothing was changed. Please try again in a moment.");
}


static ngx_int_t
ngx_http_imprest_portal_not_found(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p)
{
    return ngx_http_imprest_portal_message(r, p, NGX_HTTP_NOT_FOUND,
               "Not found", "There is no such page or app.");
}


/* My Apps */

static ngx_int_t
ngx_http_imprest_portal_home(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_http_imprest_portal_t *p, ngx_array_t *apps)
{
    ngx_uint_t                i;
    ngx_http_imprest_app_t   *app;
    ngx_http_imprest_html_t   h;

    app = apps->elts;

    ngx_http_imprest_html_init(&h, r->pool, 2048 + 512 * apps->nelts);
    ngx_http_imprest_pages_begin(&h, r, "My Apps", &p->user);

    if (r->args.len == 7 && ngx_strncmp(r->args.data, "deleted", 7) == 0) {
        ngx_http_imprest_html_lit(&h, "<p class=\"notice\" role=\"status\" "
            "id=\"notice\">The app was deleted: none of its tokens works "
            "any more.</p>");
    }

    ngx_http_imprest_html_lit(&h, "<p class=\"actions\"><a class=\"button\" "
                                  "id=\"create-app\" href=\"");
    ngx_http_imprest_portal_link(&h, r, NULL, "new");
    ngx_http_imprest_html_lit(&h, "\">Create App</a></p>");

    if (apps->nelts == 0) {
        ngx_http_imprest_html_lit(&h, "<p id=\"no-apps\">You have no apps "
                                      "yet.</p>");
        return ngx_http_imprest_portal_send(r, NGX_HTTP_OK, &h);
    }

    ngx_http_imprest_html_lit(&h, "<section><table id=\"apps\"><thead><tr>"
        "<th>Name</th><th>Client ID</th><th>Type</th><th>Redirect URIs</th>"
        "<th>Scopes</th><th>Created</th></tr></thead><tbody>");

    for (i = 0; i < apps->nelts; i++) {
        ngx_http_imprest_html_lit(&h, "<tr><td><a href=\"");
        ngx_http_imprest_portal_link(&h, r, &app[i].cid, "");
        ngx_http_imprest_html_lit(&h, "\">");
        ngx_http_imprest_html_text(&h, &app[i].name);
        ngx_http_imprest_html_lit(&h, "</a></td><td><code>");
        ngx_http_imprest_html_text(&h, &app[i].cid);
        ngx_http_imprest_html_lit(&h, "</code></td><td>");

        if (app[i].public) {
            ngx_http_imprest_html_lit(&h, "Public");

        } else {
            ngx_http_imprest_html_lit(&h, "Confidential");
        }

        ngx_http_imprest_html_lit(&h, "</td><td class=\"mono\">");
        ngx_http_imprest_portal_lines(&h, &app[i].redirect_uris, "<br>");
        ngx_http_imprest_html_lit(&h, "</td><td>");
        ngx_http_imprest_portal_lines(&h, &app[i].scope, "<br>");
        ngx_http_imprest_html_lit(&h, "</td><td>");
        ngx_http_imprest_pages_time(&h, app[i].created);
        ngx_http_imprest_html_lit(&h, "</td></tr>");
    }

    ngx_http_imprest_html_lit(&h, "</tbody></table></section>");

    return ngx_http_imprest_portal_send(r, NGX_HTTP_OK, &h);
}


/* Create App */

static ngx_int_t
ngx_http_imprest_portal_form_page(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_uint_t status)
{
    ngx_http_imprest_html_t  h;

    ngx_http_imprest_html_init(&h, r->pool, 4096);
    ngx_http_imprest_pages_begin(&h, r, "Create App", &p->user);

    if (ngx_http_imprest_portal_form_open(r, p, &h, NULL, "new", "app-form")
        != NGX_OK
        || ngx_http_imprest_portal_fields(r, as, p, &h, 1) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_imprest_html_lit(&h, "<div class=\"actions\"><button "
        "type=\"submit\" id=\"create\">Create App</button><a href=\"");
    ngx_http_imprest_portal_link(&h, r, NULL, "");
    ngx_http_imprest_html_lit(&h, "\">Cancel</a></div></form>");

    return ngx_http_imprest_portal_send(r, status, &h);
}


/* one app: what it is, its edit form, its secret and its deletion */

static ngx_int_t
ngx_http_imprest_portal_app_page(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_uint_t status)
{
    u_char                   *title;
    ngx_http_imprest_html_t   h;

    /* the page is titled with the app's name (escaped by pages_begin) */
    title = ngx_pnalloc(r->pool, p->app.name.len + 1);
    if (title == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_cpystrn(title, p->app.name.data, p->app.name.len + 1);

    ngx_http_imprest_html_init(&h, r->pool, 8192);
    ngx_http_imprest_pages_begin(&h, r, p->app.name.len ? (char *) title
                                                        : "App", &p->user);

    if (!p->posted && r->args.len == 5
        && ngx_strncmp(r->args.data, "saved", 5) == 0)
    {
        ngx_http_imprest_html_lit(&h, "<p class=\"notice\" role=\"status\" "
                                      "id=\"notice\">Changes saved.</p>");
    }

    ngx_http_imprest_portal_facts(&h, &p->app);

    ngx_http_imprest_html_lit(&h, "<h2>Edit</h2>");

    if (ngx_http_imprest_portal_form_open(r, p, &h, &p->cid, "", "app-form")
        != NGX_OK
        || ngx_http_imprest_portal_fields(r, as, p, &h, 0) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_imprest_html_lit(&h, "<div class=\"actions\"><button "
        "type=\"submit\" id=\"save\">Save changes</button></div></form>");

    if (!p->app.public) {
        ngx_http_imprest_html_lit(&h, "<h2>Client secret</h2>");

        if (ngx_http_imprest_portal_form_open(r, p, &h, &p->cid, "/rotate",
                                              "rotate-form")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_imprest_html_lit(&h, "<p class=\"hint\">A new secret is "
            "shown once; the current one stops working at once.</p>"
            "<div class=\"actions\"><button type=\"submit\" class=\"quiet\" "
            "id=\"rotate\">Rotate secret</button></div></form>");
    }

    ngx_http_imprest_html_lit(&h, "<h2>Delete</h2><p><a id=\"delete\" "
                                  "href=\"");
    ngx_http_imprest_portal_link(&h, r, &p->cid, "/delete");
    ngx_http_imprest_html_lit(&h, "\">Delete this app</a></p>");

    return ngx_http_imprest_portal_send(r, status, &h);
}


static ngx_int_t
ngx_http_imprest_portal_delete_page(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_uint_t status)
{
    ngx_http_imprest_html_t  h;

    ngx_http_imprest_html_init(&h, r->pool, 4096);
    ngx_http_imprest_pages_begin(&h, r, "Delete app", &p->user);

    ngx_http_imprest_html_lit(&h, "<p>Delete <b id=\"app-name\">");
    ngx_http_imprest_html_text(&h, &p->app.name);
    ngx_http_imprest_html_lit(&h, "</b> (<code>");
    ngx_http_imprest_html_text(&h, &p->cid);
    ngx_http_imprest_html_lit(&h, "</code>)? Every access and refresh token "
        "of the app stops working at once, and this cannot be undone.</p>");

    if (ngx_http_imprest_portal_form_open(r, p, &h, &p->cid, "/delete",
                                          "delete-form")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (p->confirm_err) {
        ngx_http_imprest_portal_error(&h, "confirm-error", p->confirm_err);
    }

    ngx_http_imprest_html_lit(&h, "<label class=\"choice\"><input "
        "type=\"checkbox\" name=\"confirm\" value=\"yes\" id=\"confirm\"");

    if (p->confirm_err) {
        ngx_http_imprest_html_lit(&h, " aria-invalid=\"true\" "
                                      "aria-describedby=\"confirm-error\"");
    }

    ngx_http_imprest_html_lit(&h, "><span>Yes, delete this app and end "
        "all of its access</span></label><div class=\"actions\"><button "
        "type=\"submit\" class=\"danger\" id=\"delete\">Delete app</button>"
        "<a href=\"");
    ngx_http_imprest_portal_link(&h, r, &p->cid, "");
    ngx_http_imprest_html_lit(&h, "\">Cancel</a></div></form>");

    return ngx_http_imprest_portal_send(r, status, &h);
}


/*
 * The client secret, the only time it is shown (never stored but as its
 * digest): in a block that one click selects without JavaScript
 * (user-select: all), with a copy button that copy.js shows.
 */

static ngx_int_t
ngx_http_imprest_portal_secret_page(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_uint_t created)
{
    ngx_str_t                     secret;
    ngx_http_imprest_html_t       h;
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    secret.data = p->secret;
    secret.len = NGX_HTTP_IMPREST_TOKEN_LEN;

    ngx_http_imprest_html_init(&h, r->pool, 4096);
    ngx_http_imprest_pages_begin(&h, r,
                                 created ? "App created" : "New client secret",
                                 &p->user);

    ngx_http_imprest_html_lit(&h, "<section><p><b>");
    ngx_http_imprest_html_text(&h, &p->app.name);
    ngx_http_imprest_html_lit(&h, "</b></p><label for=\"client_id\">Client "
                                  "ID</label><code class=\"secret\" "
                                  "id=\"client_id\">");
    ngx_http_imprest_html_text(&h, &p->cid);
    ngx_http_imprest_html_lit(&h, "</code><button type=\"button\" "
        "class=\"quiet\" data-copy=\"client_id\" hidden>Copy</button>");

    if (created && p->app.public) {
        ngx_http_imprest_html_lit(&h, "<p class=\"hint\">A public app has "
            "no client secret: it uses PKCE (S256) on every authorization "
            "request.</p>");

    } else {
        ngx_http_imprest_html_lit(&h, "<p class=\"notice\" role=\"alert\" "
            "id=\"secret-notice\">Copy the client secret now: it is shown "
            "only this once. Keep it on your server, never in a browser or "
            "mobile app.");

        if (!created) {
            ngx_http_imprest_html_lit(&h, " The previous secret no longer "
                                          "works.");
        }

        ngx_http_imprest_html_lit(&h, "</p><label for=\"secret\">Client "
                                      "secret</label><code class=\"secret\" "
                                      "id=\"secret\">");
        ngx_http_imprest_html_text(&h, &secret);
        ngx_http_imprest_html_lit(&h, "</code><button type=\"button\" "
            "class=\"quiet\" data-copy=\"secret\" hidden>Copy</button>");
    }

    ngx_http_imprest_html_lit(&h, "</section><p class=\"actions\"><a "
                                  "class=\"button\" id=\"to-app\" href=\"");
    ngx_http_imprest_portal_link(&h, r, &p->cid, "");
    ngx_http_imprest_html_lit(&h, "\">Go to the app</a><a href=\"");
    ngx_http_imprest_portal_link(&h, r, NULL, "");
    ngx_http_imprest_html_lit(&h, "\">Back to My Apps</a></p><script src=\"");
    ngx_http_imprest_html_text(&h, &ilcf->base);
    ngx_http_imprest_html_lit(&h, "/copy.js\" defer></script>");

    /* the page is the only copy: wipe ours once it is written */
    ngx_explicit_memzero(p->secret, sizeof(p->secret));

    return ngx_http_imprest_portal_send(r, NGX_HTTP_OK, &h);
}


/*
 * The fields of the Create App and edit forms, with what was typed and a
 * message next to each field that is wrong.  Names and ids are stable
 * (the browser tests use them): name, redirect_uris, scope (scope-NAME),
 * type (type-confidential, type-public); errors FIELD-error.
 */

static ngx_int_t
ngx_http_imprest_portal_fields(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_portal_t *p,
    ngx_http_imprest_html_t *h, ngx_uint_t with_type)
{
    u_char                     num[NGX_INT_T_LEN];
    ngx_uint_t                 j, checked;
    ngx_http_imprest_scope_t  *sc;

    /* the name */
    ngx_http_imprest_html_lit(h, "<label for=\"name\">App name</label>"
        "<p class=\"hint\" id=\"name-hint\">Shown to users when they are "
        "asked to let the app in; up to 100 characters.</p>");

    if (p->name_err) {
        ngx_http_imprest_portal_error(h, "name-error", p->name_err);
    }

    ngx_http_imprest_html_lit(h, "<input type=\"text\" id=\"name\" "
                                 "name=\"name\" autocomplete=\"off\"");

    if (p->name_err) {
        ngx_http_imprest_html_lit(h, " class=\"invalid\" aria-invalid=\"true\""
                                     " aria-describedby=\"name-error\"");
    }

    ngx_http_imprest_html_lit(h, " value=\"");
    ngx_http_imprest_html_text(h, &p->name);
    ngx_http_imprest_html_lit(h, "\">");

    /* the redirect URIs */
    ngx_http_imprest_html_lit(h, "<label for=\"redirect_uris\">Redirect "
        "URIs</label><p class=\"hint\" id=\"redirect_uris-hint\">One per "
        "line, at most 10, each compared exactly: <code>https://</code>; "
        "<code>http://</code> only on <code>127.0.0.1</code> or "
        "<code>[::1]</code> for apps on the user's computer (RFC 8252); or, "
        "for native apps, a private-use scheme named after a domain you "
        "own, such as <code>com.example.app:/callback</code>. No wildcards, "
        "no fragment.</p>");

    if (p->uris_err) {
        ngx_http_imprest_html_lit(h, "<p class=\"error\" "
                                     "id=\"redirect_uris-error\">");

        if (p->uris_err_uri.len) {
            ngx_http_imprest_html_lit(h, "Line ");
            ngx_http_imprest_html_raw(h, num,
                ngx_sprintf(num, "%ui", p->uris_err_line) - num);
            ngx_http_imprest_html_lit(h, ", <code>");
            ngx_http_imprest_html_text(h, &p->uris_err_uri);
            ngx_http_imprest_html_lit(h, "</code>: ");
        }

        ngx_http_imprest_html_raw(h, p->uris_err, ngx_strlen(p->uris_err));
        ngx_http_imprest_html_lit(h, "</p>");
    }

    ngx_http_imprest_html_lit(h, "<textarea id=\"redirect_uris\" "
        "name=\"redirect_uris\" rows=\"4\" spellcheck=\"false\" "
        "autocomplete=\"off\"");

    if (p->uris_err) {
        ngx_http_imprest_html_lit(h, " class=\"invalid\" aria-invalid=\"true\""
                                     " aria-describedby="
                                     "\"redirect_uris-error\"");
    }

    /* the newline after the tag is dropped by HTML parsers (HTML 13.1.2.5) */
    ngx_http_imprest_html_lit(h, ">\n");

    if (p->posted) {
        ngx_http_imprest_portal_lines(h, &p->uris_typed, NULL);

    } else {
        ngx_http_imprest_portal_lines(h, &p->uris_typed, "\n");
    }

    ngx_http_imprest_html_lit(h, "</textarea>");

    /* the scopes */
    ngx_http_imprest_html_lit(h, "<fieldset id=\"scopes\"><legend>Scopes"
        "</legend><p class=\"hint\">What the app may ask users for; each "
        "user still chooses on the consent page.</p>");

    if (p->scope_err) {
        ngx_http_imprest_portal_error(h, "scope-error", p->scope_err);
    }

    sc = as->imcf->scopes->elts;

    for (j = 0; j < as->imcf->scopes->nelts; j++) {
        checked = p->chosen[j];

        ngx_http_imprest_html_lit(h, "<label class=\"choice\"><input "
                                     "type=\"checkbox\" name=\"scope\" "
                                     "value=\"");
        ngx_http_imprest_html_text(h, &sc[j].name);
        ngx_http_imprest_html_lit(h, "\" id=\"scope-");
        ngx_http_imprest_html_text(h, &sc[j].name);
        ngx_http_imprest_html_lit(h, "\"");

        if (checked) {
            ngx_http_imprest_html_lit(h, " checked");
        }

        ngx_http_imprest_html_lit(h, "><span><code>");
        ngx_http_imprest_html_text(h, &sc[j].name);
        ngx_http_imprest_html_lit(h, "</code> ");
        ngx_http_imprest_html_text(h, &sc[j].description);
        ngx_http_imprest_html_lit(h, "</span></label>");
    }

    ngx_http_imprest_html_lit(h, "</fieldset>");

    if (!with_type) {
        return NGX_OK;
    }

    /* confidential or public: chosen once, at creation */
    ngx_http_imprest_html_lit(h, "<fieldset id=\"type\"><legend>Type"
                                 "</legend>");

    if (p->type_err) {
        ngx_http_imprest_portal_error(h, "type-error", p->type_err);
    }

    ngx_http_imprest_html_lit(h, "<label class=\"choice\"><input "
        "type=\"radio\" name=\"type\" value=\"confidential\" "
        "id=\"type-confidential\"");

    if (p->type == NGX_HTTP_IMPREST_PORTAL_CONFIDENTIAL
        || (!p->posted && p->type == NGX_HTTP_IMPREST_PORTAL_NO_TYPE))
    {
        ngx_http_imprest_html_lit(h, " checked");
    }

    ngx_http_imprest_html_lit(h, "><span><b>Confidential</b>: a web server "
        "that keeps a client secret.</span></label><label class=\"choice\">"
        "<input type=\"radio\" name=\"type\" value=\"public\" "
        "id=\"type-public\"");

    if (p->type == NGX_HTTP_IMPREST_PORTAL_PUBLIC) {
        ngx_http_imprest_html_lit(h, " checked");
    }

    ngx_http_imprest_html_lit(h, "><span><b>Public</b>: a browser or "
        "native app that cannot keep a secret; no secret, PKCE only."
        "</span></label></fieldset>");

    return NGX_OK;
}


static void
ngx_http_imprest_portal_error(ngx_http_imprest_html_t *h, const char *id,
    const char *text)
{
    ngx_http_imprest_html_lit(h, "<p class=\"error\" id=\"");
    ngx_http_imprest_html_raw(h, id, ngx_strlen(id));
    ngx_http_imprest_html_lit(h, "\">");
    ngx_http_imprest_html_raw(h, text, ngx_strlen(text));
    ngx_http_imprest_html_lit(h, "</p>");
}


/*
 * The items of s, escaped, each followed by sep: s is split at spaces
 * (a stored list) or, with sep NULL, at line ends (what was typed in the
 * textarea, kept as typed, each line ending "\n").  The escaping makes a
 * line end a space, hence the split.
 */

static void
ngx_http_imprest_portal_lines(ngx_http_imprest_html_t *h, ngx_str_t *s,
    const char *sep)
{
    u_char     *c, *last, *start;
    ngx_str_t   item;

    c = s->data;
    last = c + s->len;

    while (c < last) {
        start = c;

        if (sep) {
            while (c < last && *c != ' ') {
                c++;
            }

        } else {
            while (c < last && *c != '\r' && *c != '\n') {
                c++;
            }
        }

        item.data = start;
        item.len = c - start;

        if (sep) {
            if (c < last) {
                c++;                        /* the space */
            }

        } else {
            if (c < last && *c == '\r') {
                c++;
            }

            if (c < last && *c == '\n') {
                c++;
            }
        }

        if (sep && item.len == 0) {
            continue;
        }

        ngx_http_imprest_html_text(h, &item);

        if (sep) {
            ngx_http_imprest_html_raw(h, sep, ngx_strlen(sep));

        } else {
            ngx_http_imprest_html_lit(h, "\n");
        }
    }
}


/* base "/" tail, or base "/apps/" cid tail; escaped for an attribute */

static void
ngx_http_imprest_portal_link(ngx_http_imprest_html_t *h,
    ngx_http_request_t *r, ngx_str_t *cid, const char *tail)
{
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    ngx_http_imprest_html_text(h, &ilcf->base);

    if (cid) {
        ngx_http_imprest_html_lit(h, "/apps/");
        ngx_http_imprest_html_text(h, cid);

    } else {
        ngx_http_imprest_html_lit(h, "/");
    }

    ngx_http_imprest_html_raw(h, tail, ngx_strlen(tail));
}


/*
 * A form and its CSRF field.  The field is made once per page and copied
 * into each form: ngx_http_imprest_pages_csrf_field() draws a new token
 * (and another Set-Cookie) on each call while the request has no cookie,
 * so the app page's second form would otherwise carry a token that the
 * last cookie does not match.
 */

static ngx_int_t
ngx_http_imprest_portal_form_open(ngx_http_request_t *r,
    ngx_http_imprest_portal_t *p, ngx_http_imprest_html_t *h, ngx_str_t *cid,
    const char *tail, const char *id)
{
    ngx_http_imprest_html_t  field;

    if (p->csrf.len == 0) {
        ngx_http_imprest_html_init(&field, r->pool, 128);

        if (ngx_http_imprest_pages_csrf_field(r, &field) != NGX_OK
            || ngx_http_imprest_html_done(&field, &p->csrf) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_http_imprest_html_lit(h, "<form class=\"card\" method=\"post\" id=\"");
    ngx_http_imprest_html_raw(h, id, ngx_strlen(id));
    ngx_http_imprest_html_lit(h, "\" action=\"");
    ngx_http_imprest_portal_link(h, r, cid, tail);
    ngx_http_imprest_html_lit(h, "\">");
    ngx_http_imprest_html_raw(h, p->csrf.data, p->csrf.len);

    return NGX_OK;
}


/* the app as stored */

static void
ngx_http_imprest_portal_facts(ngx_http_imprest_html_t *h,
    ngx_http_imprest_app_t *app)
{
    ngx_http_imprest_html_lit(h, "<section><table id=\"app\"><tbody>"
                                 "<tr><th>Name</th><td id=\"app-name\">");
    ngx_http_imprest_html_text(h, &app->name);
    ngx_http_imprest_html_lit(h, "</td></tr><tr><th>Client ID</th><td>"
                                 "<code id=\"client_id\">");
    ngx_http_imprest_html_text(h, &app->cid);
    ngx_http_imprest_html_lit(h, "</code></td></tr><tr><th>Type</th><td "
                                 "id=\"app-type\">");

    if (app->public) {
        ngx_http_imprest_html_lit(h, "Public (PKCE, no secret)");

    } else {
        ngx_http_imprest_html_lit(h, "Confidential");
    }

    ngx_http_imprest_html_lit(h, "</td></tr><tr><th>Redirect URIs</th>"
                                 "<td class=\"mono\">");
    ngx_http_imprest_portal_lines(h, &app->redirect_uris, "<br>");
    ngx_http_imprest_html_lit(h, "</td></tr><tr><th>Scopes</th>"
                                 "<td class=\"mono\">");
    ngx_http_imprest_portal_lines(h, &app->scope, "<br>");
    ngx_http_imprest_html_lit(h, "</td></tr><tr><th>Created</th><td>");
    ngx_http_imprest_pages_time(h, app->created);
    ngx_http_imprest_html_lit(h, "</td></tr></tbody></table></section>");
}
