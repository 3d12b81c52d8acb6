/*
 * Copyright (C) Imprest
 *
 * What the module's HTML pages share: the consent page, the developer
 * portal, connected apps and the scopes reference.  Who the signed-in
 * user is (imprest_user), the security headers, the page frame and its
 * stylesheet, and the CSRF protection of every form.
 */

#ifndef _NGX_HTTP_IMPREST_PAGES_H_INCLUDED_
#define _NGX_HTTP_IMPREST_PAGES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_html.h"


/* the hidden field and the cookie that carry the CSRF token */
#define NGX_HTTP_IMPREST_CSRF_FIELD   "csrf"
#define NGX_HTTP_IMPREST_CSRF_LEN     43        /* base64url of 32 bytes */

/* ngx_http_imprest_pages_send() flags */
#define NGX_HTTP_IMPREST_PAGE_INLINE  0  /* the consent page: inline style */
#define NGX_HTTP_IMPREST_PAGE_ASSETS  1  /* our stylesheet and script only */


/*
 * The signed-in user (imprest_user) into *user: NGX_OK; or NGX_DONE when
 * an answer was made instead (sign-in redirect, 401 or 403), *rc being
 * what to finalize the request with.
 */
ngx_int_t ngx_http_imprest_pages_user(ngx_http_request_t *r,
    ngx_http_imprest_loc_conf_t *ilcf, ngx_str_t *user, ngx_int_t *rc);

/* a short page of our own fixed title and message */
ngx_int_t ngx_http_imprest_message(ngx_http_request_t *r, ngx_uint_t status,
    const char *title, const char *message);

/*
 * Sends a page with the security headers: never framed, cached or
 * sniffed, Referrer-Policy same-origin, and a CSP allowing nothing but
 * forms posting to 'self' and form_to (an origin, or NULL), and styles:
 * inline ones (NGX_HTTP_IMPREST_PAGE_INLINE) or our stylesheet and script
 * (NGX_HTTP_IMPREST_PAGE_ASSETS).
 */
ngx_int_t ngx_http_imprest_pages_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body, ngx_str_t *form_to,
    ngx_uint_t flags);

/*
 * The frame of a portal page: doctype, head with the title and our
 * stylesheet (at base "/style.css"), the navigation between the pages
 * this configuration serves, and the signed-in user; _end closes it.
 */
void ngx_http_imprest_pages_begin(ngx_http_imprest_html_t *h,
    ngx_http_request_t *r, const char *title, ngx_str_t *user);
void ngx_http_imprest_pages_end(ngx_http_imprest_html_t *h);

/*
 * The path of this request below the location that serves it (without
 * the leading "/"), or NGX_DECLINED when the request is not below it.
 */
ngx_int_t ngx_http_imprest_pages_path(ngx_http_request_t *r,
    ngx_str_t *path);

/*
 * Serves our stylesheet or copy-button script when path names one:
 * NGX_DECLINED when it does not.
 */
ngx_int_t ngx_http_imprest_pages_asset(ngx_http_request_t *r,
    ngx_str_t *path);

/*
 * CSRF (double submit, OWASP): a random token in a cookie (__Host- and
 * Secure on an https issuer; HttpOnly, SameSite=Strict) and in a hidden
 * field of each form; a POST must carry both, equal, and an Origin that
 * is the issuer's when the browser sends one (a "null" origin is
 * refused).  _field writes the hidden field, and the cookie when the
 * request had none, so several tabs share one token.
 */
ngx_int_t ngx_http_imprest_pages_csrf_field(ngx_http_request_t *r,
    ngx_http_imprest_html_t *h);
/* NGX_OK, or NGX_DECLINED with *rc the 403 page already made */
ngx_int_t ngx_http_imprest_pages_csrf_check(ngx_http_request_t *r,
    ngx_str_t *field, ngx_int_t *rc);

/* a unix time as "2026-12-03 09:44 UTC" into h */
void ngx_http_imprest_pages_time(ngx_http_imprest_html_t *h, time_t t);


#endif /* _NGX_HTTP_IMPREST_PAGES_H_INCLUDED_ */
