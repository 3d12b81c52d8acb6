/*
 * Copyright (C) Imprest
 *
 * imprest_scopes: the Scopes reference, public.  Below its location (the
 * base, e.g. /developer/scopes):
 *
 *   base, base "/"         the catalogue as an HTML page, or as JSON when
 *                          the Accept header prefers application/json
 *   base ".json"           {"scopes":[{"name":..,"description":..},..]}
 *   base "/style.css", base "/copy.js"   the pages' assets
 *
 * The catalogue is the configuration's (imprest_scope), so the page never
 * needs Redis.  The metadata links here (RFC 8414 service_documentation).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_html.h"
#include "ngx_http_imprest_pages.h"
#include "ngx_http_imprest_response.h"


static ngx_uint_t ngx_http_imprest_scopes_wants_json(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_scopes_json(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf);
static ngx_int_t ngx_http_imprest_scopes_html(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf);


ngx_int_t
ngx_http_imprest_scopes_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      path, *base;
    ngx_uint_t                     json;
    ngx_http_imprest_loc_conf_t   *ilcf;
    ngx_http_imprest_main_conf_t  *imcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);
    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);
    base = &ilcf->base;

    /* the JSON twin: base ".json", caught by the prefix location */
    json = (r->uri.len == base->len + 5
            && ngx_strncmp(r->uri.data, base->data, base->len) == 0
            && ngx_strncmp(r->uri.data + base->len, ".json", 5) == 0);

    if (!json) {
        if (ngx_http_imprest_pages_path(r, &path) != NGX_OK) {
            return ngx_http_imprest_message(r, NGX_HTTP_NOT_FOUND,
                                            "Not found",
                                            "There is no such page.");
        }

        rc = ngx_http_imprest_pages_asset(r, &path);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        if (path.len != 0) {
            return ngx_http_imprest_message(r, NGX_HTTP_NOT_FOUND,
                                            "Not found",
                                            "There is no such page.");
        }
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (json) {
        return ngx_http_imprest_scopes_json(r, imcf);
    }

    /* one URI, two representations (RFC 9110 12.5.5) */
    if (ngx_http_imprest_add_header(r, "Vary", "Accept") == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_imprest_scopes_wants_json(r)) {
        return ngx_http_imprest_scopes_json(r, imcf);
    }

    return ngx_http_imprest_scopes_html(r, imcf);
}


/*
 * RFC 9110 12.5.1: JSON when application/json has a higher quality than
 * text/html, each taking the most specific range that covers it
 * (the type and subtype, then the type with any subtype, then any
 * type).  Without an Accept header, or on a tie (curl's default), HTML.
 */

static ngx_uint_t
ngx_http_imprest_scopes_wants_json(ngx_http_request_t *r)
{
    u_char           *s, *last, *e, *t, *te;
    ngx_int_t         q, html, qj[3], qh[3];
    ngx_uint_t        i, n;
    ngx_table_elt_t  *h;

    h = ngx_http_imprest_find_header(r, "Accept", sizeof("Accept") - 1, &n);
    if (h == NULL) {
        return 0;
    }

    /* per specificity: exact, type wildcard, full wildcard; -1: none */
    for (i = 0; i < 3; i++) {
        qj[i] = -1;
        qh[i] = -1;
    }

    s = h->value.data;
    last = s + h->value.len;

    while (s < last) {
        e = s;

        while (e < last && *e != ',') {
            e++;
        }

        /* the media range */
        t = s;

        while (t < e && *t == ' ') {
            t++;
        }

        te = t;

        while (te < e && *te != ';' && *te != ' ') {
            te++;
        }

        /* its q parameter, in thousandths */
        q = 1000;

        for (s = te; s > t && s + 2 < e; s++) {
            if ((s[0] == 'q' || s[0] == 'Q') && s[1] == '='
                && (s[-1] == ';' || s[-1] == ' '))
            {
                s += 2;
                q = (*s == '1') ? 1000 : 0;

                if (s + 1 < e && s[1] == '.') {
                    s += 2;

                    for (i = 100; i && s < e && *s >= '0' && *s <= '9';
                         i /= 10)
                    {
                        if (q < 1000) {
                            q += (*s - '0') * i;
                        }

                        s++;
                    }
                }

                break;
            }
        }

#define ngx_http_imprest_is(lit)                                              \
        ((size_t) (te - t) == sizeof(lit) - 1                                 \
         && ngx_strncasecmp(t, (u_char *) lit, sizeof(lit) - 1) == 0)

        if (ngx_http_imprest_is("application/json")) {
            qj[0] = ngx_max(qj[0], q);

        } else if (ngx_http_imprest_is("text/html")) {
            qh[0] = ngx_max(qh[0], q);

        } else if (ngx_http_imprest_is("application/*")) {
            qj[1] = ngx_max(qj[1], q);

        } else if (ngx_http_imprest_is("text/*")) {
            qh[1] = ngx_max(qh[1], q);

        } else if (ngx_http_imprest_is("*/*")) {
            qj[2] = ngx_max(qj[2], q);
            qh[2] = ngx_max(qh[2], q);
        }

#undef ngx_http_imprest_is

        s = e + 1;
    }

    /* the most specific range that covers each */
    q = qj[0] >= 0 ? qj[0] : (qj[1] >= 0 ? qj[1] : qj[2]);
    html = qh[0] >= 0 ? qh[0] : (qh[1] >= 0 ? qh[1] : qh[2]);

    return q > 0 && q > html;
}


static ngx_int_t
ngx_http_imprest_scopes_json(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf)
{
    char                      *s;
    json_t                    *j, *list, *one;
    ngx_str_t                  body;
    ngx_uint_t                 i;
    ngx_http_imprest_scope_t  *sc;

    j = json_object();
    list = json_array();

    if (j == NULL || list == NULL || json_object_set_new(j, "scopes", list)) {
        json_decref(j);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sc = imcf->scopes->elts;

    for (i = 0; i < imcf->scopes->nelts; i++) {
        one = json_object();

        if (one == NULL || json_array_append_new(list, one)
            || json_object_set_new(one, "name",
                   json_stringn((char *) sc[i].name.data, sc[i].name.len))
            || json_object_set_new(one, "description",
                   json_stringn((char *) sc[i].description.data,
                                sc[i].description.len)))
        {
            json_decref(j);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    s = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(j);

    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = ngx_strlen(s) + 1;
    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body.data, s, body.len - 1);
    body.data[body.len - 1] = '\n';
    free(s);

    if (ngx_http_imprest_add_header(r, "X-Content-Type-Options", "nosniff")
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &body);
}


static ngx_int_t
ngx_http_imprest_scopes_html(ngx_http_request_t *r,
    ngx_http_imprest_main_conf_t *imcf)
{
    ngx_str_t                     body;
    ngx_uint_t                    i;
    ngx_http_imprest_html_t       h;
    ngx_http_imprest_scope_t     *sc;
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);
    sc = imcf->scopes->elts;

    ngx_http_imprest_html_init(&h, r->pool, 2048 + 256 * imcf->scopes->nelts);
    ngx_http_imprest_pages_begin(&h, r, "Scopes", NULL);

    ngx_http_imprest_html_lit(&h, "<p>What an app may ask for. An app "
        "registers the scopes it needs; on the consent page each user "
        "sees their descriptions and grants them for the organizations "
        "they choose. Also as <a id=\"scopes-json\" href=\"");
    ngx_http_imprest_html_text(&h, &ilcf->base);
    ngx_http_imprest_html_lit(&h, ".json\">JSON</a>.</p><section><table "
        "id=\"scopes\"><thead><tr><th>Scope</th><th>Description</th></tr>"
        "</thead><tbody>");

    for (i = 0; i < imcf->scopes->nelts; i++) {
        ngx_http_imprest_html_lit(&h, "<tr id=\"scope-");
        ngx_http_imprest_html_text(&h, &sc[i].name);
        ngx_http_imprest_html_lit(&h, "\"><td><code>");
        ngx_http_imprest_html_text(&h, &sc[i].name);
        ngx_http_imprest_html_lit(&h, "</code></td><td>");
        ngx_http_imprest_html_text(&h, &sc[i].description);
        ngx_http_imprest_html_lit(&h, "</td></tr>");
    }

    ngx_http_imprest_html_lit(&h, "</tbody></table></section>");
    ngx_http_imprest_pages_end(&h);

    if (ngx_http_imprest_html_done(&h, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_imprest_pages_send(r, NGX_HTTP_OK, &body, NULL,
                                       NGX_HTTP_IMPREST_PAGE_ASSETS);
}
