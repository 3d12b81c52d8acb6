/*
 * Copyright (C) Imprest
 *
 * What our HTML pages share (ngx_http_imprest_pages.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ngx_http_imprest_core.h"
#include "ngx_http_imprest_oauth.h"
#include "ngx_http_imprest_pages.h"
#include "ngx_http_imprest_request.h"
#include "ngx_http_imprest_response.h"


static ngx_int_t ngx_http_imprest_pages_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static void ngx_http_imprest_pages_cookie_name(ngx_http_request_t *r,
    ngx_str_t *name);
static void ngx_http_imprest_pages_link(ngx_http_imprest_html_t *h,
    ngx_str_t *base, const char *path, const char *text);


/*
 * The stylesheet and the copy button's script: small, ours, served by
 * every page location at <base>/style.css and <base>/copy.js, so that the
 * pages' CSP needs no 'unsafe-inline'.
 */

static const char  ngx_http_imprest_pages_css[] =
    ":root{--ink:#1d2433;--muted:#5b6475;--line:#d9dee7;--bg:#f6f7f9;"
    "--accent:#1f5fbf;--bad:#b3261e;--ok:#1b7f3b}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,"
    "sans-serif;color:var(--ink);background:var(--bg)}"
    "header{background:#fff;border-bottom:1px solid var(--line)}"
    "header div,main{max-width:60rem;margin:0 auto;padding:.75rem 1rem}"
    "header div{display:flex;gap:1.25rem;align-items:center;flex-wrap:wrap}"
    "header b{margin-right:auto}header a{color:var(--accent);"
    "text-decoration:none}header a[aria-current]{font-weight:600;"
    "text-decoration:underline}"
    "h1{font-size:1.5rem;margin:1rem 0}h2{font-size:1.15rem;margin:1.5rem 0"
    " .5rem}"
    "section,form.card{background:#fff;border:1px solid var(--line);"
    "border-radius:.5rem;padding:1rem 1.25rem;margin:1rem 0}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;"
    "vertical-align:top;padding:.45rem .5rem;border-bottom:1px solid "
    "var(--line)}th{font-size:.85rem;color:var(--muted);font-weight:600}"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;"
    "font-size:.9em;word-break:break-all}"
    "label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input[type=text],input[type=url],textarea,select{width:100%;"
    "font:inherit;padding:.45rem .55rem;border:1px solid var(--line);"
    "border-radius:.35rem}textarea{min-height:5.5rem}"
    ".hint{color:var(--muted);font-size:.9rem;margin:.2rem 0}"
    ".error{color:var(--bad);font-size:.9rem;margin:.25rem 0}"
    ".invalid{border-color:var(--bad)!important}"
    ".notice{border-left:4px solid var(--ok);background:#fff;padding:.75rem"
    " 1rem;margin:1rem 0}.notice.bad{border-color:var(--bad)}"
    ".choice{display:flex;gap:.5rem;align-items:baseline;font-weight:400;"
    "margin:.3rem 0}"
    "button,.button{font:inherit;padding:.45rem 1rem;border-radius:.35rem;"
    "border:1px solid var(--accent);background:var(--accent);color:#fff;"
    "cursor:pointer;text-decoration:none;display:inline-block}"
    "button.quiet{background:#fff;color:var(--accent)}"
    "button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}"
    ".actions{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1rem}"
    ".actions form{margin:0}"
    ".secret{display:block;user-select:all;-webkit-user-select:all;"
    "background:var(--bg);border:1px dashed var(--muted);padding:.6rem;"
    "border-radius:.35rem;margin:.5rem 0}"
    "@media (max-width:40rem){th:nth-child(n+4),td:nth-child(n+4)"
    "{display:none}}\n";

static const char  ngx_http_imprest_pages_js[] =
    "document.querySelectorAll('button[data-copy]').forEach(function(b){\n"
    "  b.hidden = false;\n"
    "  b.addEventListener('click', function(){\n"
    "    var t = document.getElementById(b.getAttribute('data-copy'));\n"
    "    if (!t) return;\n"
    "    var s = window.getSelection(), g = document.createRange();\n"
    "    g.selectNodeContents(t); s.removeAllRanges(); s.addRange(g);\n"
    "    var done = function(){ b.textContent = 'Copied'; };\n"
    "    if (navigator.clipboard) {\n"
    "      navigator.clipboard.writeText(t.textContent).then(done,\n"
    "        function(){ document.execCommand('copy'); done(); });\n"
    "    } else { document.execCommand('copy'); done(); }\n"
    "  });\n"
    "});\n";


/*
 * Who the user is comes from nginx (imprest_user): auth_basic's
 * $remote_user in the demo, a header from auth_request in production.
 */

/*
 * Returns NGX_OK when the user is known, or NGX_DONE when a response was
 * produced instead (*rc is what to finalize the request with).
 */

ngx_int_t
ngx_http_imprest_pages_user(ngx_http_request_t *r,
    ngx_http_imprest_loc_conf_t *ilcf, ngx_str_t *user, ngx_int_t *rc)
{
    u_char           *p;
    size_t            len;
    ngx_str_t         uri, empty = ngx_null_string;
    ngx_table_elt_t  *h;

    if (ilcf->user == NULL
        || ngx_http_complex_value(r, ilcf->user, user) != NGX_OK)
    {
        user->len = 0;
    }

    if (user->len) {
        if (!ngx_http_imprest_id_valid(user->data, user->len)) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "imprest: imprest_user gave an invalid user id");
            *rc = ngx_http_imprest_message(r, NGX_HTTP_FORBIDDEN,
                      "Not allowed",
                      "Your account cannot use this page.");
            return NGX_DONE;
        }

        return NGX_OK;
    }

    if (ilcf->login_url.len == 0) {
        *rc = ngx_http_imprest_message(r, NGX_HTTP_UNAUTHORIZED,
                  "Sign in required", "Please sign in to continue.");
        return NGX_DONE;
    }

    /* back to this very request after the login: a relative URI only */
    uri = r->unparsed_uri;

    len = ilcf->login_url.len + sizeof("?return_to=") - 1
          + ngx_http_imprest_url_encode(NULL, uri.data, uri.len);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    /*
     * Not r->headers_out.location: nginx would make a relative one
     * absolute from the Host header (RFC 9700 4.11: no open redirects).
     */
    h = ngx_http_imprest_add_header(r, "Location", NULL);
    if (h == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    h->value.data = p;

    p = ngx_cpymem(p, ilcf->login_url.data, ilcf->login_url.len);
    p = ngx_cpymem(p, "?return_to=", sizeof("?return_to=") - 1);
    p += ngx_http_imprest_url_encode(p, uri.data, uri.len);

    h->value.len = p - h->value.data;

    *rc = ngx_http_imprest_pages_send(r, NGX_HTTP_MOVED_TEMPORARILY, &empty,
                                      NULL, NGX_HTTP_IMPREST_PAGE_INLINE);
    return NGX_DONE;
}




ngx_int_t
ngx_http_imprest_message(ngx_http_request_t *r, ngx_uint_t status,
    const char *title, const char *message)
{
    u_char     *p;
    ngx_str_t   body;

    body.len = sizeof("<!doctype html><html lang=\"en\"><head>"
                      "<meta charset=\"utf-8\"><title>Imprest: </title>"
                      "</head><body><main><h1></h1><p></p></main></body>"
                      "</html>\n") - 1
               + 2 * ngx_strlen(title) + ngx_strlen(message);

    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* title and message are our own fixed texts */
    p = ngx_sprintf(body.data,
                    "<!doctype html><html lang=\"en\"><head>"
                    "<meta charset=\"utf-8\"><title>Imprest: %s</title>"
                    "</head><body><main><h1>%s</h1><p>%s</p></main></body>"
                    "</html>\n", title, title, message);
    body.len = p - body.data;

    return ngx_http_imprest_pages_send(r, status, &body, NULL,
                                       NGX_HTTP_IMPREST_PAGE_INLINE);
}




/*
 * Our pages: never framed, cached, sniffed or followed by a Referer that
 * would carry a code onwards (same-origin: no Referer to another origin,
 * and the form's POST keeps a real Origin header).  form_to: the origin a
 * form's answer may redirect to, besides 'self'.
 */

ngx_int_t
ngx_http_imprest_pages_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body, ngx_str_t *form_to, ngx_uint_t flags)
{
    u_char                       *p;
    size_t                        len, head_len;
    ngx_uint_t                    i;
    const char                   *csp_head;
    ngx_table_elt_t              *h;
    ngx_http_imprest_loc_conf_t  *ilcf;

    static const char  csp_inline[] =
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";
    static const char  csp_assets[] =
        "default-src 'none'; style-src 'self'; script-src 'self'; "
        "img-src 'self'; form-action 'self'";
    static const char  csp_tail[] =
        "; frame-ancestors 'none'; base-uri 'none'";

    static const char  *headers[] = {
        "X-Frame-Options", "DENY",
        "Referrer-Policy", "same-origin",
        "X-Content-Type-Options", "nosniff"
    };

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i += 2) {
        if (ngx_http_imprest_add_header(r, headers[i], headers[i + 1])
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (flags & NGX_HTTP_IMPREST_PAGE_ASSETS) {
        csp_head = csp_assets;
        head_len = sizeof(csp_assets) - 1;

    } else {
        csp_head = csp_inline;
        head_len = sizeof(csp_inline) - 1;
    }

    len = head_len + sizeof(csp_tail)
          + (form_to ? 1 + form_to->len : 0);

    h = ngx_http_imprest_add_header(r, "Content-Security-Policy", NULL);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, len);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(h->value.data, csp_head, head_len);

    if (form_to && form_to->len) {
        *p++ = ' ';
        p = ngx_cpymem(p, form_to->data, form_to->len);
    }

    p = ngx_cpymem(p, csp_tail, sizeof(csp_tail) - 1);
    h->value.len = p - h->value.data;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_http_imprest_retry_after(r, ilcf->retry_after) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_imprest_send(r, status, "text/html; charset=utf-8", body);
}


/* the frame of our pages */

void
ngx_http_imprest_pages_begin(ngx_http_imprest_html_t *h,
    ngx_http_request_t *r, const char *title, ngx_str_t *user)
{
    ngx_str_t                      t;
    ngx_http_imprest_loc_conf_t   *ilcf;
    ngx_http_imprest_main_conf_t  *imcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);
    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);

    t.data = (u_char *) title;
    t.len = ngx_strlen(title);

    ngx_http_imprest_html_lit(h, "<!doctype html><html lang=\"en\"><head>"
        "<meta charset=\"utf-8\"><meta name=\"viewport\" "
        "content=\"width=device-width,initial-scale=1\"><title>");
    ngx_http_imprest_html_text(h, &t);
    ngx_http_imprest_html_lit(h, ": Imprest</title><link rel=\"stylesheet\" "
                                 "href=\"");
    ngx_http_imprest_html_text(h, &ilcf->base);
    ngx_http_imprest_html_lit(h, "/style.css\"></head><body><header><div>"
                                 "<b>Imprest</b>");

    if (imcf->portal_uri.data) {
        ngx_http_imprest_pages_link(h, &imcf->portal_uri, "/", "My Apps");
    }

    if (imcf->connections_uri.data) {
        ngx_http_imprest_pages_link(h, &imcf->connections_uri, "/",
                                    "Connected apps");
    }

    if (imcf->scopes_uri.data) {
        ngx_http_imprest_pages_link(h, &imcf->scopes_uri, "", "Scopes");
    }

    if (user && user->len) {
        ngx_http_imprest_html_lit(h, "<span class=\"hint\">Signed in as "
                                     "<b>");
        ngx_http_imprest_html_text(h, user);
        ngx_http_imprest_html_lit(h, "</b></span>");
    }

    ngx_http_imprest_html_lit(h, "</div></header><main><h1>");
    ngx_http_imprest_html_text(h, &t);
    ngx_http_imprest_html_lit(h, "</h1>");
}


static void
ngx_http_imprest_pages_link(ngx_http_imprest_html_t *h, ngx_str_t *base,
    const char *path, const char *text)
{
    ngx_http_imprest_html_lit(h, "<a href=\"");
    ngx_http_imprest_html_text(h, base);
    ngx_http_imprest_html_raw(h, path, ngx_strlen(path));
    ngx_http_imprest_html_lit(h, "\">");
    ngx_http_imprest_html_raw(h, text, ngx_strlen(text));
    ngx_http_imprest_html_lit(h, "</a>");
}


void
ngx_http_imprest_pages_end(ngx_http_imprest_html_t *h)
{
    ngx_http_imprest_html_lit(h, "</main></body></html>\n");
}


void
ngx_http_imprest_pages_time(ngx_http_imprest_html_t *h, time_t t)
{
    u_char     buf[sizeof("2026-12-03 09:44 UTC")];
    ngx_tm_t   tm;

    if (t <= 0) {
        ngx_http_imprest_html_lit(h, "-");
        return;
    }

    ngx_gmtime(t, &tm);

    ngx_http_imprest_html_raw(h, buf,
        ngx_snprintf(buf, sizeof(buf), "%4d-%02d-%02d %02d:%02d UTC",
                     tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                     tm.ngx_tm_hour, tm.ngx_tm_min)
        - buf);
}


ngx_int_t
ngx_http_imprest_pages_path(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_http_imprest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_imprest_module);

    if (r->uri.len < ilcf->base.len
        || ngx_strncmp(r->uri.data, ilcf->base.data, ilcf->base.len) != 0)
    {
        return NGX_DECLINED;
    }

    path->data = r->uri.data + ilcf->base.len;
    path->len = r->uri.len - ilcf->base.len;

    if (path->len && path->data[0] != '/') {
        /* "/developerX" under "location /developer" */
        return NGX_DECLINED;
    }

    if (path->len) {
        path->data++;
        path->len--;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_pages_asset(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_str_t    body;
    const char  *type;

    if (path->len == sizeof("style.css") - 1
        && ngx_strncmp(path->data, "style.css", path->len) == 0)
    {
        body.data = (u_char *) ngx_http_imprest_pages_css;
        body.len = sizeof(ngx_http_imprest_pages_css) - 1;
        type = "text/css; charset=utf-8";

    } else if (path->len == sizeof("copy.js") - 1
               && ngx_strncmp(path->data, "copy.js", path->len) == 0)
    {
        body.data = (u_char *) ngx_http_imprest_pages_js;
        body.len = sizeof(ngx_http_imprest_pages_js) - 1;
        type = "text/javascript; charset=utf-8";

    } else {
        return NGX_DECLINED;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_imprest_add_header(r, "X-Content-Type-Options", "nosniff")
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_imprest_send(r, NGX_HTTP_OK, type, &body);
}


/* CSRF: double submit */

static void
ngx_http_imprest_pages_cookie_name(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_http_imprest_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);

    /* RFC 6265bis 4.1.3.2: __Host- needs Secure, Path=/ and no Domain */
    if (imcf->issuer.len > 8
        && ngx_strncmp(imcf->issuer.data, "https://", 8) == 0)
    {
        ngx_str_set(name, "__Host-imprest_csrf");

    } else {
        ngx_str_set(name, "imprest_csrf");
    }
}


/* the request's CSRF cookie when it has exactly one well-formed one */

static ngx_int_t
ngx_http_imprest_pages_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char  c;
    size_t  i;

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name,
                                          value)
        == NGX_DECLINED
        || value->len != NGX_HTTP_IMPREST_CSRF_LEN)
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < value->len; i++) {
        c = value->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_pages_csrf_field(ngx_http_request_t *r,
    ngx_http_imprest_html_t *h)
{
    u_char                      *p, rnd[32];
    ngx_str_t                    name, value;
    ngx_table_elt_t             *set;
    ngx_http_imprest_request_t  *req;

    req = ngx_http_imprest_request(r);
    if (req == NULL) {
        return NGX_ERROR;
    }

    ngx_http_imprest_pages_cookie_name(r, &name);

    if (req->csrf.len) {
        /* a page of several forms: one token, one cookie */
        value = req->csrf;

    } else if (ngx_http_imprest_pages_cookie(r, &name, &value) != NGX_OK) {
        value.data = ngx_pnalloc(r->pool, NGX_HTTP_IMPREST_CSRF_LEN);
        if (value.data == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return NGX_ERROR;
        }

        value.len = ngx_http_imprest_base64url_encode(rnd, sizeof(rnd),
                                                      value.data);

        set = ngx_http_imprest_add_header(r, "Set-Cookie", NULL);
        if (set == NULL) {
            return NGX_ERROR;
        }

        set->value.data = ngx_pnalloc(r->pool, name.len + 1 + value.len
                              + sizeof("; Path=/; HttpOnly; SameSite=Strict;"
                                       " Secure") - 1);
        if (set->value.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(set->value.data, "%V=%V; Path=/; HttpOnly; "
                        "SameSite=Strict", &name, &value);

        if (name.data[0] == '_') {
            p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
        }

        set->value.len = p - set->value.data;
    }

    req->csrf = value;

    ngx_http_imprest_html_lit(h, "<input type=\"hidden\" name=\""
                                 NGX_HTTP_IMPREST_CSRF_FIELD "\" value=\"");
    ngx_http_imprest_html_text(h, &value);
    ngx_http_imprest_html_lit(h, "\">");

    return NGX_OK;
}


ngx_int_t
ngx_http_imprest_pages_csrf_check(ngx_http_request_t *r, ngx_str_t *field,
    ngx_int_t *rc)
{
    ngx_str_t                      name, value;
    ngx_uint_t                     n;
    ngx_table_elt_t               *origin;
    ngx_http_imprest_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);

    /* as on the consent page: a foreign or "null" origin is refused */
    origin = ngx_http_imprest_find_header(r, "Origin", sizeof("Origin") - 1,
                                          &n);

    if (origin && (n != 1
                   || origin->value.len != imcf->issuer_origin.len
                   || ngx_strncasecmp(origin->value.data,
                                      imcf->issuer_origin.data,
                                      origin->value.len) != 0))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: a form posted from a foreign origin");
        goto refused;
    }

    ngx_http_imprest_pages_cookie_name(r, &name);

    if (field == NULL || field->len != NGX_HTTP_IMPREST_CSRF_LEN
        || ngx_http_imprest_pages_cookie(r, &name, &value) != NGX_OK
        || CRYPTO_memcmp(field->data, value.data, value.len) != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: a form posted without its CSRF token");
        goto refused;
    }

    return NGX_OK;

refused:

    *rc = ngx_http_imprest_message(r, NGX_HTTP_FORBIDDEN, "Not allowed",
              "This form was not sent from this site, or it expired: go "
              "back, reload the page and try again.");

    return NGX_DECLINED;
}
