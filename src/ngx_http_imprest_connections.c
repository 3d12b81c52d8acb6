/*
 * Copyright (C) Imprest
 *
 * Connected apps (imprest_connections): the other half of consent.  Below
 * the location:
 *
 *   ""                    GET   the signed-in user's apps: which of the
 *                               user's organizations each may reach, with
 *                               which scopes, since when
 *   "disconnect"          POST  cid, org ("" or absent: every one): ends
 *                               that access (src/lua/disconnect.lua)
 *   "org/<uuid>"          GET   an organization's admin sees every app
 *                               connected to it, by anyone
 *   "org/<uuid>/disconnect" POST  cid: the admin ends that app's access
 *
 * An organization leaves a grant in the grant's live token records, so
 * the gate refuses its tokens there from the next request and its refresh
 * token cannot bring the access back; the grant's other organizations go
 * on working.  Every form is CSRF-protected (ngx_http_imprest_pages.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_html.h"
#include "ngx_http_imprest_pages.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


/* one app's access to one organization, merged over its grants */
typedef struct {
    ngx_str_t                  cid;
    ngx_str_t                  client_name;
    ngx_str_t                  org;
    ngx_str_t                  scope;       /* a set, over the grants */
    time_t                     since;
} ngx_http_imprest_access_t;


typedef struct {
    ngx_str_t                  user;
    ngx_str_t                  org;          /* canonical; admin view */
    u_char                     org_buf[NGX_HTTP_IMPREST_UUID_LEN];
    unsigned                   admin:1;
} ngx_http_imprest_conn_t;


static ngx_int_t ngx_http_imprest_conn_get(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_conn_post(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_conn_start(ngx_http_request_t *r,
    ngx_http_imprest_as_t **asp, ngx_http_imprest_conn_t **cp,
    ngx_str_t *path, ngx_int_t *rc);
static ngx_int_t ngx_http_imprest_conn_route(ngx_http_request_t *r,
    ngx_http_imprest_conn_t *c, ngx_str_t *path, ngx_uint_t post);
static ngx_int_t ngx_http_imprest_conn_listed(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_conn_user_page(ngx_http_request_t *r,
    ngx_http_imprest_conn_t *c, ngx_http_imprest_connections_reply_t *cr);
static ngx_int_t ngx_http_imprest_conn_admin_page(ngx_http_request_t *r,
    ngx_http_imprest_conn_t *c, ngx_http_imprest_connections_reply_t *cr);
static ngx_int_t ngx_http_imprest_conn_done(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_str_t *ngx_http_imprest_conn_org_name(
    ngx_http_imprest_connections_reply_t *cr, ngx_str_t *id);
static void ngx_http_imprest_conn_form(ngx_http_imprest_html_t *h,
    ngx_http_request_t *r, ngx_str_t *action, ngx_str_t *cid,
    ngx_str_t *org, const char *label);
static ngx_int_t ngx_http_imprest_conn_send(ngx_http_request_t *r,
    ngx_http_imprest_html_t *h);
static int ngx_libc_cdecl ngx_http_imprest_conn_cmp(const void *one,
    const void *two);


ngx_int_t
ngx_http_imprest_connections_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  path;

    if (ngx_http_imprest_pages_path(r, &path) != NGX_OK) {
        return ngx_http_imprest_message(r, NGX_HTTP_NOT_FOUND, "Not found",
                                        "There is no such page.");
    }

    rc = ngx_http_imprest_pages_asset(r, &path);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_imprest_conn_get(r);

        if (rc == NGX_AGAIN) {
            r->main->count++;
            return NGX_DONE;
        }

        return rc;
    }

    if (r->method == NGX_HTTP_POST) {
        return ngx_http_imprest_as_read_body(r, ngx_http_imprest_conn_post);
    }

    return ngx_http_imprest_not_allowed(r, "GET, HEAD, POST");
}


/* the request state, the user, and the page the path names */

static ngx_int_t
ngx_http_imprest_conn_start(ngx_http_request_t *r,
    ngx_http_imprest_as_t **asp, ngx_http_imprest_conn_t **cp,
    ngx_str_t *path, ngx_int_t *rc)
{
    ngx_http_imprest_as_t    *as;
    ngx_http_imprest_conn_t  *c;

    as = ngx_http_imprest_as_create(r);
    c = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_conn_t));

    if (as == NULL || c == NULL
        || ngx_http_imprest_pages_path(r, path) != NGX_OK)
    {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    if (ngx_http_imprest_pages_user(r, as->ilcf, &c->user, rc) != NGX_OK) {
        return NGX_DONE;
    }

    *asp = as;
    *cp = c;

    return NGX_OK;
}


/*
 * "" and "disconnect" are the user's; "org/<uuid>" and its "/disconnect"
 * an admin's.  NGX_OK, or NGX_DECLINED: no such page.
 */

static ngx_int_t
ngx_http_imprest_conn_route(ngx_http_request_t *r, ngx_http_imprest_conn_t *c,
    ngx_str_t *path, ngx_uint_t post)
{
    size_t   n;
    u_char  *p;

    if (path->len == 0) {
        return post ? NGX_DECLINED : NGX_OK;
    }

    if (path->len == sizeof("disconnect") - 1
        && ngx_strncmp(path->data, "disconnect", path->len) == 0)
    {
        return post ? NGX_OK : NGX_DECLINED;
    }

    n = sizeof("org/") - 1;

    if (path->len < n + NGX_HTTP_IMPREST_UUID_LEN
        || ngx_strncmp(path->data, "org/", n) != 0
        || !ngx_http_imprest_uuid_canonical(path->data + n,
                                            NGX_HTTP_IMPREST_UUID_LEN,
                                            c->org_buf))
    {
        return NGX_DECLINED;
    }

    c->org.data = c->org_buf;
    c->org.len = NGX_HTTP_IMPREST_UUID_LEN;
    c->admin = 1;

    p = path->data + n + NGX_HTTP_IMPREST_UUID_LEN;
    n = path->len - n - NGX_HTTP_IMPREST_UUID_LEN;

    if (n == 0) {
        return post ? NGX_DECLINED : NGX_OK;
    }

    if (n == sizeof("/disconnect") - 1
        && ngx_strncmp(p, "/disconnect", n) == 0)
    {
        return post ? NGX_OK : NGX_DECLINED;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_imprest_conn_get(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_str_t                             path;
    ngx_http_imprest_as_t                *as;
    ngx_http_imprest_conn_t              *c;
    ngx_http_imprest_script_call_t        call;
    ngx_http_imprest_connections_args_t   a;

    if (ngx_http_imprest_conn_start(r, &as, &c, &path, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_conn_route(r, c, &path, 0) != NGX_OK) {
        return ngx_http_imprest_message(r, NGX_HTTP_NOT_FOUND, "Not found",
                                        "There is no such page.");
    }

    as->data = c;

    a.prefix = as->imcf->redis.prefix;

    if (c->admin) {
        a.index = "org";
        a.id = c->org;
        a.admin = c->user;

    } else {
        a.index = "user";
        a.id = c->user;
        ngx_str_null(&a.admin);
    }

    ngx_http_imprest_script_connections_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_conn_listed);
}


static ngx_int_t
ngx_http_imprest_conn_listed(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    redisReply *reply)
{
    ngx_int_t                              rc;
    ngx_http_imprest_conn_t               *c;
    ngx_http_imprest_connections_reply_t   cr;

    c = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable", "Please try again in a moment.");
    }

    rc = ngx_http_imprest_script_connections_reply(r, reply, &cr);

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the connections "
                                     "script");
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable", "Please try again in a moment.");
    }

    if (rc == NGX_ABORT) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_imprest_message(r, NGX_HTTP_FORBIDDEN, "Not allowed",
                   "Only an admin of this organization can see the apps "
                   "connected to it.");
    }

    if (c->admin) {
        return ngx_http_imprest_conn_admin_page(r, c, &cr);
    }

    return ngx_http_imprest_conn_user_page(r, c, &cr);
}


/* by app name, then client id, then organization */

static int ngx_libc_cdecl
ngx_http_imprest_conn_cmp(const void *one, const void *two)
{
    ngx_int_t                         rc;
    const ngx_http_imprest_access_t  *a = one, *b = two;

    rc = ngx_memn2cmp(a->client_name.data, b->client_name.data,
                      a->client_name.len, b->client_name.len);

    if (rc == 0) {
        rc = ngx_memn2cmp(a->cid.data, b->cid.data, a->cid.len, b->cid.len);
    }

    if (rc == 0) {
        rc = ngx_memn2cmp(a->org.data, b->org.data, a->org.len, b->org.len);
    }

    return (int) rc;
}


static ngx_int_t
ngx_http_imprest_conn_user_page(ngx_http_request_t *r,
    ngx_http_imprest_conn_t *c, ngx_http_imprest_connections_reply_t *cr)
{
    u_char                        *p;
    size_t                         len;
    ngx_str_t                      action, all, tok, *name;
    ngx_uint_t                     i, j, k, n, first;
    const u_char                  *pos, *last, *t;
    ngx_keyval_t                  *kv;
    ngx_http_imprest_html_t        h;
    ngx_http_imprest_grant_t      *g;
    ngx_http_imprest_access_t     *acc, *x;
    ngx_http_imprest_loc_conf_t   *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    /* (app, organization) pairs: every grant's organizations, merged */
    g = cr->grants->elts;
    n = 0;

    for (i = 0; i < cr->grants->nelts; i++) {
        pos = g[i].orgs.data;
        last = pos + g[i].orgs.len;

        while (ngx_http_imprest_list_next(&pos, last, &t) != 0) {
            n++;
        }
    }

    acc = ngx_pcalloc(r->pool,
                      (n ? n : 1) * sizeof(ngx_http_imprest_access_t));
    if (acc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;

    for (i = 0; i < cr->grants->nelts; i++) {
        pos = g[i].orgs.data;
        last = pos + g[i].orgs.len;

        while ((tok.len = ngx_http_imprest_list_next(&pos, last, &t)) != 0) {
            tok.data = (u_char *) t;
            acc[n].cid = g[i].cid;
            acc[n].client_name = g[i].client_name;
            acc[n].org = tok;
            acc[n].scope = g[i].scope;
            acc[n].since = g[i].created;
            n++;
        }
    }

    ngx_qsort(acc, n, sizeof(ngx_http_imprest_access_t),
              ngx_http_imprest_conn_cmp);

    /* merge the pairs several grants share: scopes united, earliest */
    k = 0;

    for (i = 0; i < n; i++) {
        if (k && acc[k - 1].cid.len == acc[i].cid.len
            && ngx_strncmp(acc[k - 1].cid.data, acc[i].cid.data,
                           acc[i].cid.len) == 0
            && acc[k - 1].org.len == acc[i].org.len
            && ngx_strncmp(acc[k - 1].org.data, acc[i].org.data,
                           acc[i].org.len) == 0)
        {
            x = &acc[k - 1];
            x->since = ngx_min(x->since, acc[i].since);

            len = x->scope.len + 1 + acc[i].scope.len;
            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            tok.data = p;
            p = ngx_cpymem(p, x->scope.data, x->scope.len);

            pos = acc[i].scope.data;
            last = pos + acc[i].scope.len;

            while ((len = ngx_http_imprest_list_next(&pos, last, &t)) != 0) {
                if (!ngx_http_imprest_scope_has(tok.data, p - tok.data, t,
                                                len))
                {
                    *p++ = ' ';
                    p = ngx_cpymem(p, t, len);
                }
            }

            x->scope.data = tok.data;
            x->scope.len = p - tok.data;
            continue;
        }

        acc[k++] = acc[i];
    }

    ngx_http_imprest_html_init(&h, r->pool, 2048 + 512 * k);
    ngx_http_imprest_pages_begin(&h, r, "Connected apps", &c->user);

    if (r->args.len == sizeof("done=1") - 1
        && ngx_strncmp(r->args.data, "done=1", r->args.len) == 0)
    {
        ngx_http_imprest_html_lit(&h, "<p class=\"notice\" role=\"status\">"
            "Disconnected. The app's access there ended at once.</p>");
    }

    ngx_http_imprest_html_lit(&h, "<p class=\"hint\">These apps can reach "
        "the books of your organizations listed with them. Disconnecting "
        "ends that access at once: the app cannot use or renew it.</p>");

    action.len = ilcf->base.len + sizeof("/disconnect") - 1;
    action.data = ngx_pnalloc(r->pool, action.len);
    if (action.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ngx_cpymem(action.data, ilcf->base.data, ilcf->base.len),
               "/disconnect", sizeof("/disconnect") - 1);

    ngx_str_null(&all);

    if (k == 0) {
        ngx_http_imprest_html_lit(&h, "<section><p>No app is connected to "
                                      "your organizations.</p></section>");
    }

    for (i = 0; i < k; i = j) {
        ngx_http_imprest_html_lit(&h, "<section class=\"app\" data-client=\"");
        ngx_http_imprest_html_text(&h, &acc[i].cid);
        ngx_http_imprest_html_lit(&h, "\"><h2>");
        ngx_http_imprest_html_text(&h, &acc[i].client_name);
        ngx_http_imprest_html_lit(&h, "</h2><p class=\"hint\">Client ID "
                                      "<code>");
        ngx_http_imprest_html_text(&h, &acc[i].cid);
        ngx_http_imprest_html_lit(&h, "</code></p><table><thead><tr>"
            "<th>Organization</th><th>Scopes</th><th>Since</th><th></th>"
            "</tr></thead><tbody>");

        first = i;

        for (j = i; j < k && acc[j].cid.len == acc[first].cid.len
                    && ngx_strncmp(acc[j].cid.data, acc[first].cid.data,
                                   acc[j].cid.len) == 0; j++)
        {
            name = ngx_http_imprest_conn_org_name(cr, &acc[j].org);

            ngx_http_imprest_html_lit(&h, "<tr data-org=\"");
            ngx_http_imprest_html_text(&h, &acc[j].org);
            ngx_http_imprest_html_lit(&h, "\"><td>");
            ngx_http_imprest_html_text(&h, name);
            ngx_http_imprest_html_lit(&h, "</td><td><code>");
            ngx_http_imprest_html_text(&h, &acc[j].scope);
            ngx_http_imprest_html_lit(&h, "</code></td><td>");
            ngx_http_imprest_pages_time(&h, acc[j].since);
            ngx_http_imprest_html_lit(&h, "</td><td>");
            ngx_http_imprest_conn_form(&h, r, &action, &acc[j].cid,
                                       &acc[j].org, "Disconnect");
            ngx_http_imprest_html_lit(&h, "</td></tr>");
        }

        ngx_http_imprest_html_lit(&h, "</tbody></table>");

        if (j - first > 1) {
            ngx_http_imprest_html_lit(&h, "<div class=\"actions\">");
            ngx_http_imprest_conn_form(&h, r, &action, &acc[first].cid, &all,
                                       "Disconnect from all organizations");
            ngx_http_imprest_html_lit(&h, "</div>");
        }

        ngx_http_imprest_html_lit(&h, "</section>");
    }

    /* the organizations the user administers: their admin views */
    if (cr->admin_of->nelts) {
        kv = cr->admin_of->elts;

        ngx_http_imprest_html_lit(&h, "<h2>Organizations you administer</h2>"
            "<p class=\"hint\">See and end every app connected to them, by "
            "anyone.</p><ul>");

        for (i = 0; i < cr->admin_of->nelts; i++) {
            ngx_http_imprest_html_lit(&h, "<li><a href=\"");
            ngx_http_imprest_html_text(&h, &ilcf->base);
            ngx_http_imprest_html_lit(&h, "/org/");
            ngx_http_imprest_html_text(&h, &kv[i].key);
            ngx_http_imprest_html_lit(&h, "\">");
            ngx_http_imprest_html_text(&h, kv[i].value.len ? &kv[i].value
                                                           : &kv[i].key);
            ngx_http_imprest_html_lit(&h, "</a></li>");
        }

        ngx_http_imprest_html_lit(&h, "</ul>");
    }

    return ngx_http_imprest_conn_send(r, &h);
}


static ngx_int_t
ngx_http_imprest_conn_admin_page(ngx_http_request_t *r,
    ngx_http_imprest_conn_t *c, ngx_http_imprest_connections_reply_t *cr)
{
    ngx_str_t                     action, *org_name, *who;
    ngx_uint_t                    i, j;
    ngx_http_imprest_html_t       h;
    ngx_http_imprest_grant_t     *g;
    ngx_http_imprest_access_t    *acc;
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    org_name = ngx_http_imprest_conn_org_name(cr, &c->org);

    /* the grants in app order: acc[i] stands for g's element i */
    g = cr->grants->elts;

    acc = ngx_pcalloc(r->pool, (cr->grants->nelts ? cr->grants->nelts : 1)
                               * sizeof(ngx_http_imprest_access_t));
    if (acc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < cr->grants->nelts; i++) {
        acc[i].cid = g[i].cid;
        acc[i].client_name = g[i].client_name;
        acc[i].scope = g[i].scope;
        acc[i].since = g[i].created;
        /* sorted by user within an app */
        acc[i].org = g[i].uid;
    }

    ngx_qsort(acc, cr->grants->nelts, sizeof(ngx_http_imprest_access_t),
              ngx_http_imprest_conn_cmp);

    action.len = ilcf->base.len + sizeof("/org/") - 1
                 + NGX_HTTP_IMPREST_UUID_LEN + sizeof("/disconnect") - 1;
    action.data = ngx_pnalloc(r->pool, action.len);
    if (action.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_sprintf(action.data, "%V/org/%V/disconnect", &ilcf->base,
                       &c->org);

    ngx_http_imprest_html_init(&h, r->pool, 2048 + 512 * cr->grants->nelts);
    ngx_http_imprest_pages_begin(&h, r, "Apps connected to an organization",
                                 &c->user);

    ngx_http_imprest_html_lit(&h, "<p>Organization <b>");
    ngx_http_imprest_html_text(&h, org_name);
    ngx_http_imprest_html_lit(&h, "</b> <code>");
    ngx_http_imprest_html_text(&h, &c->org);
    ngx_http_imprest_html_lit(&h, "</code>. As its admin you see every app "
        "any member connected to it, and can end that access.</p>");

    if (r->args.len == sizeof("done=1") - 1
        && ngx_strncmp(r->args.data, "done=1", r->args.len) == 0)
    {
        ngx_http_imprest_html_lit(&h, "<p class=\"notice\" role=\"status\">"
            "Disconnected. The app's access to this organization ended at "
            "once, for everyone who had connected it.</p>");
    }

    if (cr->grants->nelts == 0) {
        ngx_http_imprest_html_lit(&h, "<section><p>No app is connected to "
                                      "this organization.</p></section>");
    }

    for (i = 0; i < cr->grants->nelts; i = j) {
        ngx_http_imprest_html_lit(&h, "<section class=\"app\" data-client=\"");
        ngx_http_imprest_html_text(&h, &acc[i].cid);
        ngx_http_imprest_html_lit(&h, "\"><h2>");
        ngx_http_imprest_html_text(&h, &acc[i].client_name);
        ngx_http_imprest_html_lit(&h, "</h2><p class=\"hint\">Client ID "
            "<code>");
        ngx_http_imprest_html_text(&h, &acc[i].cid);
        ngx_http_imprest_html_lit(&h, "</code></p><table><thead><tr>"
            "<th>Connected by</th><th>Scopes</th><th>Since</th></tr></thead>"
            "<tbody>");

        for (j = i; j < cr->grants->nelts
                    && acc[j].cid.len == acc[i].cid.len
                    && ngx_strncmp(acc[j].cid.data, acc[i].cid.data,
                                   acc[j].cid.len) == 0; j++)
        {
            who = &acc[j].org;

            ngx_http_imprest_html_lit(&h, "<tr><td>");
            ngx_http_imprest_html_text(&h, who);
            ngx_http_imprest_html_lit(&h, "</td><td><code>");
            ngx_http_imprest_html_text(&h, &acc[j].scope);
            ngx_http_imprest_html_lit(&h, "</code></td><td>");
            ngx_http_imprest_pages_time(&h, acc[j].since);
            ngx_http_imprest_html_lit(&h, "</td></tr>");
        }

        ngx_http_imprest_html_lit(&h, "</tbody></table>"
                                      "<div class=\"actions\">");
        ngx_http_imprest_conn_form(&h, r, &action, &acc[i].cid, NULL,
                                   "Disconnect from this organization");
        ngx_http_imprest_html_lit(&h, "</div></section>");
    }

    return ngx_http_imprest_conn_send(r, &h);
}


static ngx_str_t *
ngx_http_imprest_conn_org_name(ngx_http_imprest_connections_reply_t *cr,
    ngx_str_t *id)
{
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    kv = cr->orgs->elts;

    for (i = 0; i < cr->orgs->nelts; i++) {
        if (kv[i].key.len == id->len
            && ngx_strncmp(kv[i].key.data, id->data, id->len) == 0)
        {
            return kv[i].value.len ? &kv[i].value : id;
        }
    }

    return id;
}


/* a one-button form: cid, and org unless NULL */

static void
ngx_http_imprest_conn_form(ngx_http_imprest_html_t *h, ngx_http_request_t *r,
    ngx_str_t *action, ngx_str_t *cid, ngx_str_t *org, const char *label)
{
    ngx_http_imprest_html_lit(h, "<form method=\"post\" action=\"");
    ngx_http_imprest_html_text(h, action);
    ngx_http_imprest_html_lit(h, "\">");

    if (ngx_http_imprest_pages_csrf_field(r, h) != NGX_OK) {
        h->failed = 1;
    }

    ngx_http_imprest_html_lit(h, "<input type=\"hidden\" name=\"cid\" "
                                 "value=\"");
    ngx_http_imprest_html_text(h, cid);
    ngx_http_imprest_html_lit(h, "\">");

    if (org) {
        ngx_http_imprest_html_lit(h, "<input type=\"hidden\" name=\"org\" "
                                     "value=\"");
        ngx_http_imprest_html_text(h, org);
        ngx_http_imprest_html_lit(h, "\">");
    }

    ngx_http_imprest_html_lit(h, "<button type=\"submit\" class=\"danger\">");
    ngx_http_imprest_html_raw(h, label, ngx_strlen(label));
    ngx_http_imprest_html_lit(h, "</button></form>");
}


static ngx_int_t
ngx_http_imprest_conn_send(ngx_http_request_t *r, ngx_http_imprest_html_t *h)
{
    ngx_str_t  body;

    ngx_http_imprest_pages_end(h);

    if (ngx_http_imprest_html_done(h, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_imprest_pages_send(r, NGX_HTTP_OK, &body, NULL,
                                       NGX_HTTP_IMPREST_PAGE_ASSETS);
}


/* the disconnect forms */

static ngx_int_t
ngx_http_imprest_conn_post(ngx_http_request_t *r)
{
    u_char                              *org;
    ngx_int_t                            rc;
    ngx_str_t                            path, csrf, cid, o;
    ngx_uint_t                           n;
    ngx_http_imprest_as_t               *as;
    ngx_http_imprest_conn_t             *c;
    ngx_http_imprest_script_call_t       call;
    ngx_http_imprest_disconnect_args_t   a;

    if (ngx_http_imprest_conn_start(r, &as, &c, &path, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_conn_route(r, c, &path, 1) != NGX_OK) {
        return ngx_http_imprest_message(r, NGX_HTTP_NOT_FOUND, "Not found",
                                        "There is no such page.");
    }

    if (ngx_http_imprest_as_parse_body(r, as, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_as_param(as, NGX_HTTP_IMPREST_CSRF_FIELD, &csrf)
        != 1)
    {
        csrf.len = 0;
    }

    if (ngx_http_imprest_pages_csrf_check(r, &csrf, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_as_param(as, "cid", &cid) != 1
        || !ngx_http_imprest_id_valid(cid.data, cid.len))
    {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request", "The app to disconnect is missing.");
    }

    a.prefix = as->imcf->redis.prefix;
    a.cid = cid;

    if (c->admin) {
        /* an admin ends the app's access to the organization, for all */
        a.index = "org";
        a.id = c->org;
        ngx_str_null(&a.uid);
        a.org = c->org;
        a.admin = c->user;

    } else {
        a.index = "user";
        a.id = c->user;
        a.uid = c->user;
        ngx_str_null(&a.admin);

        n = ngx_http_imprest_as_param(as, "org", &o);

        if (n == 2) {
            return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                       "Invalid request", "Choose one organization.");
        }

        if (n == 0 || o.len == 0) {
            ngx_str_null(&a.org);

        } else {
            org = ngx_pnalloc(r->pool, NGX_HTTP_IMPREST_UUID_LEN);
            if (org == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (!ngx_http_imprest_uuid_canonical(o.data, o.len, org)) {
                return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                           "Invalid request", "The organization is invalid.");
            }

            a.org.data = org;
            a.org.len = NGX_HTTP_IMPREST_UUID_LEN;
        }
    }

    as->data = c;

    ngx_http_imprest_script_disconnect_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call, ngx_http_imprest_conn_done);
}


static ngx_int_t
ngx_http_imprest_conn_done(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    redisReply *reply)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_str_t                     empty = ngx_null_string;
    ngx_uint_t                    n;
    ngx_table_elt_t              *h;
    ngx_http_imprest_conn_t      *c;

    c = as->data;

    if (reply == NULL) {
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable",
                   "Nothing was changed. Please try again in a moment.");
    }

    rc = ngx_http_imprest_script_disconnect_reply(reply, &n);

    if (rc == NGX_ERROR) {
        ngx_http_imprest_redis_reset("reply does not match the disconnect "
                                     "script");
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable", "Please try again in a moment.");
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_imprest_message(r, NGX_HTTP_FORBIDDEN, "Not allowed",
                   "Only an admin of this organization can disconnect apps "
                   "from it.");
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: user \"%V\" disconnected an app (%ui grants)",
                  &c->user, n);

    /* RFC 9110 15.4.4: 303 back to the page (POST, redirect, GET) */
    h = ngx_http_imprest_add_header(r, "Location", NULL);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, as->ilcf->base.len + sizeof("/org/")
                                + NGX_HTTP_IMPREST_UUID_LEN
                                + sizeof("?done=1"));
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (c->admin) {
        p = ngx_sprintf(h->value.data, "%V/org/%V?done=1", &as->ilcf->base,
                        &c->org);

    } else {
        p = ngx_sprintf(h->value.data, "%V/?done=1", &as->ilcf->base);
    }

    h->value.len = p - h->value.data;

    return ngx_http_imprest_pages_send(r, NGX_HTTP_SEE_OTHER, &empty, NULL,
                                       NGX_HTTP_IMPREST_PAGE_ASSETS);
}
