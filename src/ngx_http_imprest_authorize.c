/*
 * Copyright (C) Imprest
 *
 * /oauth/authorize: the authorization endpoint (RFC 6749 4.1.1) and the
 * consent page.  GET validates the request and shows the page; the page
 * POSTs the user's decision back here.
 *
 * Until the client and its redirect URI are known to be good, errors are
 * shown on our own page and never redirected (RFC 6749 4.1.2.1); after
 * that they go back to the client with error, state and iss (RFC 9207).
 * The request itself is kept server-side under a random request id that
 * the page carries, bound to the user, so hidden fields cannot change what
 * is granted.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_as.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_html.h"
#include "ngx_http_imprest_metrics.h"
#include "ngx_http_imprest_pages.h"
#include "ngx_http_imprest_response.h"
#include "ngx_http_imprest_script.h"


#define NGX_HTTP_IMPREST_TOKEN_CR       "cr"
#define NGX_HTTP_IMPREST_MAX_ORGS       64

/* the limit as text for our pages: one number, written once */
#define NGX_HTTP_IMPREST_STR(n)         NGX_HTTP_IMPREST_STR_(n)
#define NGX_HTTP_IMPREST_STR_(n)        #n
#define NGX_HTTP_IMPREST_MAX_ORGS_TEXT                                        \
    NGX_HTTP_IMPREST_STR(NGX_HTTP_IMPREST_MAX_ORGS)

/* more organizations than this: one list box instead of checkboxes */
#define NGX_HTTP_IMPREST_CONSENT_CHECKBOXES  20


typedef struct {
    ngx_str_t                  user;
    ngx_str_t                  redirect_uri;
    ngx_str_t                  state;
    ngx_str_t                  scope;
    ngx_str_t                  challenge;
    ngx_uint_t                 ru_given;
    u_char                     rid[NGX_HTTP_IMPREST_TOKEN_LEN];
    u_char                     code[NGX_HTTP_IMPREST_TOKEN_LEN];
} ngx_http_imprest_authz_t;


static ngx_int_t ngx_http_imprest_authorize_get(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_authorize_client(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_authorize_stored(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_int_t ngx_http_imprest_authorize_post(ngx_http_request_t *r);
static ngx_int_t ngx_http_imprest_authorize_decided(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply);
static ngx_uint_t ngx_http_imprest_authorize_in_catalogue(
    ngx_http_imprest_main_conf_t *imcf, ngx_str_t *scope);
static ngx_int_t ngx_http_imprest_redirect(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_uint_t status, ngx_str_t *uri,
    const char *code, const char *error, const char *description,
    ngx_str_t *state);
static ngx_int_t ngx_http_imprest_consent_page(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_authz_t *az);


static const char  *ngx_http_imprest_authorize_single[] = {
    "response_type", "scope", "state", "code_challenge",
    "code_challenge_method", NULL
};


ngx_int_t
ngx_http_imprest_authorize_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_imprest_authorize_get(r);

        if (rc == NGX_AGAIN) {
            r->main->count++;
            return NGX_DONE;
        }

        return rc;
    }

    if (r->method == NGX_HTTP_POST) {
        return ngx_http_imprest_as_read_body(r,
                                             ngx_http_imprest_authorize_post);
    }

    /* RFC 6749 3.1: GET, and POST for our own consent form */
    return ngx_http_imprest_not_allowed(r, "GET, HEAD, POST");
}


static ngx_int_t
ngx_http_imprest_authorize_get(ngx_http_request_t *r)
{
    int                              n;
    u_char                          *scratch;
    size_t                           len;
    ngx_int_t                        rc;
    ngx_str_t                        cid, key;
    const u_char                    *v;
    ngx_http_imprest_as_t           *as;
    ngx_http_imprest_authz_t        *az;
    ngx_http_imprest_client_args_t   a;
    ngx_http_imprest_script_call_t   call;

    as = ngx_http_imprest_as_create(r);
    if (as == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    az = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_authz_t));
    if (az == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    as->data = az;

    if (ngx_http_imprest_pages_user(r, as->ilcf, &az->user, &rc) != NGX_OK) {
        return rc;
    }

    scratch = ngx_pnalloc(r->pool, r->args.len + 1);
    if (scratch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_imprest_form_parse(r->args.data, r->args.len, scratch,
                                    as->params,
                                    NGX_HTTP_IMPREST_AS_MAX_PARAMS,
                                    &as->nparams)
        != NGX_HTTP_IMPREST_FORM_OK)
    {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request", "The request is malformed.");
    }

    n = ngx_http_imprest_form_get(as->params, as->nparams, "client_id",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len);
    if (n != 1) {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request",
                   n ? "The client_id parameter is repeated."
                     : "The client_id parameter is missing.");
    }

    cid.data = (u_char *) v;
    cid.len = len;

    n = ngx_http_imprest_form_get(as->params, as->nparams, "redirect_uri",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len);
    if (n == 2) {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request",
                   "The redirect_uri parameter is repeated.");
    }

    az->ru_given = n;
    az->redirect_uri.data = (u_char *) v;
    az->redirect_uri.len = len;

    if (!ngx_http_imprest_id_valid(cid.data, cid.len)) {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Unknown application",
                   "This application is not registered.");
    }

    as->client_id = cid;

    if (ngx_http_imprest_as_id_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CLIENT,
                                   cid.data, cid.len, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.key = key;
    a.prefix = as->imcf->redis.prefix;
    a.uid = az->user;

    ngx_http_imprest_script_client_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_authorize_client);
}


static ngx_int_t
ngx_http_imprest_authorize_client(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    int                                   n;
    u_char                               *p;
    size_t                                len;
    ngx_int_t                             rc;
    ngx_str_t                             rt, method, registered, ru, key;
    ngx_uint_t                            i, nuris, found;
    const u_char                         *v, *cur, *last, *uri;
    ngx_http_imprest_authz_t             *az;
    ngx_http_imprest_script_call_t        call;
    ngx_http_imprest_consent_put_args_t   a;

    az = as->data;

    rc = reply ? ngx_http_imprest_as_client_reply(r, as, reply) : NGX_ERROR;

    if (rc == NGX_ERROR) {
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable",
                   "Please try again in a moment.");
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Unknown application",
                   "This application is not registered.");
    }

    /* RFC 6749 3.1.2.3: exact match among the registered URIs */
    cur = as->redirect_uris.data;
    last = cur + as->redirect_uris.len;
    nuris = 0;
    found = 0;

    while ((registered.len = ngx_http_imprest_list_next(&cur, last, &uri))
           != 0)
    {
        registered.data = (u_char *) uri;
        nuris++;

        if (az->ru_given) {
            if (!found
                && ngx_http_imprest_redirect_uri_match(registered.data,
                                                       registered.len,
                                                       az->redirect_uri.data,
                                                       az->redirect_uri.len))
            {
                found = 1;
            }

        } else if (nuris == 1) {
            ru = registered;
        }
    }

    if (az->ru_given) {
        if (!found) {
            return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                       "Invalid redirect URI",
                       "The redirect_uri is not registered for this "
                       "application.");
        }

    } else {
        /* RFC 6749 3.1.2.3: required when several are registered */
        if (nuris != 1) {
            return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                       "Invalid request",
                       "The redirect_uri parameter is required.");
        }

        az->redirect_uri = ru;
    }

    /* from here on, errors go back to the client */

    n = ngx_http_imprest_form_get(as->params, as->nparams, "state",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len);
    if (n == 1) {
        az->state.data = (u_char *) v;
        az->state.len = len;
    }

    for (i = 0; ngx_http_imprest_authorize_single[i]; i++) {
        if (ngx_http_imprest_form_get(as->params, as->nparams,
                                      ngx_http_imprest_authorize_single[i],
                                      NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                      &v, &len)
            == 2)
        {
            return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                       &az->redirect_uri, NULL, "invalid_request",
                       "a parameter is repeated", n == 1 ? &az->state : NULL);
        }
    }

    if (n == 2) {
        ngx_str_null(&az->state);
    }

    if (ngx_http_imprest_form_get(as->params, as->nparams, "response_type",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len)
        != 1)
    {
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                   &az->redirect_uri, NULL, "invalid_request",
                   "response_type is required", &az->state);
    }

    rt.data = (u_char *) v;
    rt.len = len;

    /* RFC 9700 2.1.2: the code flow only */
    if (rt.len != 4 || ngx_strncmp(rt.data, "code", 4) != 0) {
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                   &az->redirect_uri, NULL, "unsupported_response_type",
                   "only response_type=code is supported", &az->state);
    }

    /* RFC 6749 3.3: without a scope, what the application registered */
    if (ngx_http_imprest_form_get(as->params, as->nparams, "scope",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len)
        == 1)
    {
        az->scope.data = (u_char *) v;
        az->scope.len = len;

    } else {
        az->scope = as->client_scope;
    }

    /* RFC 6749 3.3: a set, bounded; repeats are dropped here, once */
    p = ngx_pnalloc(r->pool, az->scope.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    az->scope.len = ngx_http_imprest_scope_set(p, az->scope.data,
                                               az->scope.len);
    az->scope.data = p;

    if (az->scope.len == 0
        || !ngx_http_imprest_scope_subset(az->scope.data, az->scope.len,
                                          as->client_scope.data,
                                          as->client_scope.len)
        || !ngx_http_imprest_authorize_in_catalogue(as->imcf, &az->scope))
    {
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                   &az->redirect_uri, NULL, "invalid_scope",
                   "the requested scope is unknown or not allowed for this "
                   "application", &az->state);
    }

    /* RFC 7636 4.3, 4.4.1; RFC 9700 2.1.1: S256 only */
    n = ngx_http_imprest_form_get(as->params, as->nparams,
                                  "code_challenge_method",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len);
    method.data = (u_char *) v;
    method.len = len;

    if (ngx_http_imprest_form_get(as->params, as->nparams, "code_challenge",
                                  NGX_HTTP_IMPREST_FORM_EMPTY_ABSENT,
                                  &v, &len)
        == 1)
    {
        az->challenge.data = (u_char *) v;
        az->challenge.len = len;

        if (n != 1 || method.len != 4
            || ngx_strncmp(method.data, "S256", 4) != 0)
        {
            return ngx_http_imprest_redirect(r, as,
                       NGX_HTTP_MOVED_TEMPORARILY, &az->redirect_uri, NULL,
                       "invalid_request",
                       "code_challenge_method must be S256", &az->state);
        }

        if (!ngx_http_imprest_pkce_challenge_valid(az->challenge.data,
                                                   az->challenge.len))
        {
            return ngx_http_imprest_redirect(r, as,
                       NGX_HTTP_MOVED_TEMPORARILY, &az->redirect_uri, NULL,
                       "invalid_request", "malformed code_challenge",
                       &az->state);
        }

    } else if (n) {
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                   &az->redirect_uri, NULL, "invalid_request",
                   "code_challenge_method without code_challenge",
                   &az->state);

    } else if (as->client_secret.len == 0 || as->imcf->pkce_required) {
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                   &az->redirect_uri, NULL, "invalid_request",
                   "code_challenge is required", &az->state);
    }

    if (as->orgs == NULL || as->orgs->nelts == 0) {
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_MOVED_TEMPORARILY,
                   &az->redirect_uri, NULL, "access_denied",
                   "the user belongs to no organization", &az->state);
    }

    /* keep the validated request server-side, under a random id */
    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_CR, az->rid)
        != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_imprest_as_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CONSENT,
                                az->rid, NGX_HTTP_IMPREST_TOKEN_LEN, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.key = key;
    a.ttl = as->imcf->consent_ttl;
    a.uid = az->user;
    a.cid = as->client_id;
    a.redirect_uri = az->redirect_uri;
    a.ru_given = az->ru_given;
    a.scope = az->scope;
    a.state = az->state;
    a.challenge = az->challenge;

    ngx_http_imprest_script_consent_put_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_authorize_stored);
}


static ngx_int_t
ngx_http_imprest_authorize_stored(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    if (reply == NULL
        || ngx_http_imprest_script_consent_put_reply(reply) != NGX_OK)
    {
        if (reply) {
            ngx_http_imprest_redis_reset(
                "reply does not match the consent script");
        }

        /* the redirect URI is known, but no page without a stored request */
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable",
                   "Please try again in a moment.");
    }

    return ngx_http_imprest_consent_page(r, as, as->data);
}


static ngx_uint_t
ngx_http_imprest_authorize_in_catalogue(ngx_http_imprest_main_conf_t *imcf,
    ngx_str_t *scope)
{
    return ngx_http_imprest_scope_subset(scope->data, scope->len,
                                         imcf->scope_names.data,
                                         imcf->scope_names.len);
}


static ngx_int_t
ngx_http_imprest_authorize_post(ngx_http_request_t *r)
{
    u_char                                *p, *orgs;
    size_t                                 i, norgs;
    ngx_uint_t                             norigins;
    ngx_int_t                              rc;
    ngx_str_t                              rid, decision, key, ckey;
    ngx_table_elt_t                       *h;
    ngx_http_imprest_as_t                 *as;
    ngx_http_imprest_authz_t              *az;
    ngx_http_imprest_script_call_t         call;
    ngx_http_imprest_consent_take_args_t   a;

    as = ngx_http_imprest_as_get(r);

    az = ngx_pcalloc(r->pool, sizeof(ngx_http_imprest_authz_t));
    if (az == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    as->data = az;

    if (ngx_http_imprest_pages_user(r, as->ilcf, &az->user, &rc) != NGX_OK) {
        return rc;
    }

    /*
     * A browser names the page's origin (RFC 6454, 7) on every POST: one
     * that is not the issuer's is a cross-site submission, and so is
     * "null", which a foreign page can produce (a sandboxed frame, a
     * redirect chain).  The request id already binds the form to this
     * user; this is defence in depth.  Our pages' Referrer-Policy
     * (same-origin) keeps the browser sending the real origin.
     */
    h = ngx_http_imprest_find_header(r, "Origin", sizeof("Origin") - 1,
                                     &norigins);

    if (h && (norigins != 1
              || h->value.len != as->imcf->issuer_origin.len
              || ngx_strncasecmp(h->value.data, as->imcf->issuer_origin.data,
                                 h->value.len) != 0))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: consent form posted from a foreign origin");

        return ngx_http_imprest_message(r, NGX_HTTP_FORBIDDEN, "Not allowed",
                                     "This form was not sent from this "
                                     "site.");
    }

    if (ngx_http_imprest_as_parse_body(r, as, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_imprest_as_param(as, "request_id", &rid) != 1
        || !ngx_http_imprest_token_check(NGX_HTTP_IMPREST_TOKEN_CR,
                                         rid.data, rid.len)
        || ngx_http_imprest_as_param(as, "decision", &decision) != 1
        || !((decision.len == 7
              && ngx_strncmp(decision.data, "approve", 7) == 0)
             || (decision.len == 4
                 && ngx_strncmp(decision.data, "deny", 4) == 0)))
    {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request",
                   "This authorization request is unknown or has expired.");
    }

    /* the chosen organizations: canonical UUIDs, space-separated */
    orgs = ngx_pnalloc(r->pool, NGX_HTTP_IMPREST_MAX_ORGS
                                * (NGX_HTTP_IMPREST_UUID_LEN + 1));
    if (orgs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = orgs;
    norgs = 0;

    for (i = 0; i < as->nparams; i++) {
        if (as->params[i].name_len != 3
            || ngx_strncmp(as->params[i].name, "org", 3) != 0)
        {
            continue;
        }

        if (norgs == NGX_HTTP_IMPREST_MAX_ORGS) {
            return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                       "Too many organizations",
                       "Choose at most " NGX_HTTP_IMPREST_MAX_ORGS_TEXT
                       " organizations for one application.");
        }

        if (!ngx_http_imprest_uuid_canonical(as->params[i].value,
                                                as->params[i].value_len, p))
        {
            return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                       "Invalid request", "The organization list is invalid.");
        }

        /* a set, like a scope: a repeated organization counts once */
        if (ngx_http_imprest_scope_has(orgs, p - orgs, p,
                                       NGX_HTTP_IMPREST_UUID_LEN))
        {
            continue;
        }

        p += NGX_HTTP_IMPREST_UUID_LEN;
        *p++ = ' ';
        norgs++;
    }

    if (norgs) {
        p--;
    }

    if (ngx_http_imprest_token_generate(NGX_HTTP_IMPREST_TOKEN_AC, az->code)
        != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_imprest_as_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CONSENT,
                                rid.data, rid.len, &key)
        != NGX_OK
        || ngx_http_imprest_as_key(r, as->imcf, NGX_HTTP_IMPREST_KEY_CODE,
                                   az->code, NGX_HTTP_IMPREST_TOKEN_LEN,
                                   &ckey)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a.key = key;
    a.code_key = ckey;
    a.prefix = as->imcf->redis.prefix;
    a.uid = az->user;
    a.decision = decision;
    a.orgs.data = orgs;
    a.orgs.len = p - orgs;
    a.code_ttl = as->imcf->code_ttl;
    a.now = ngx_time();
    a.admins = as->ilcf->consent_admins;

    ngx_http_imprest_script_consent_take_call(&call, &a);

    return ngx_http_imprest_as_eval(r, as, &call,
                                    ngx_http_imprest_authorize_decided);
}


static ngx_int_t
ngx_http_imprest_authorize_decided(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, redisReply *reply)
{
    ngx_int_t                               rc;
    ngx_str_t                               code;
    ngx_http_imprest_authz_t               *az;
    ngx_http_imprest_consent_take_reply_t   cr;

    az = as->data;

    if (reply == NULL) {
        /* no code is handed out unless it was stored */
        return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Temporarily unavailable",
                   "Please try again in a moment.");
    }

    rc = ngx_http_imprest_script_consent_take_reply(r, reply, &cr);

    if (rc == NGX_ERROR) {
        goto bad;
    }

    if (rc == NGX_DECLINED) {
        if (cr.status == NGX_HTTP_IMPREST_CONSENT_OTHER_USER) {
            return ngx_http_imprest_message(r, NGX_HTTP_FORBIDDEN,
                       "Not allowed",
                       "This authorization request belongs to another user.");
        }

        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request",
                   "This authorization request is unknown or has expired.");
    }

    as->client_id = cr.cid;

    if (cr.status == NGX_HTTP_IMPREST_CONSENT_NO_ORG) {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid request",
                   as->ilcf->consent_admins
                   ? "Choose at least one organization, each one you are "
                     "an admin of."
                   : "Choose at least one of your organizations.");
    }

    /* RFC 9700 4.12: 303, so the browser does not re-POST the form */
    if (cr.status == NGX_HTTP_IMPREST_CONSENT_DENIED) {
        ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_CONSENT_DENIED, 1);
        return ngx_http_imprest_redirect(r, as, NGX_HTTP_SEE_OTHER,
                   &cr.redirect_uri, NULL, "access_denied",
                   "the user denied the request", &cr.state);
    }

    code.data = az->code;
    code.len = NGX_HTTP_IMPREST_TOKEN_LEN;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "imprest: user \"%V\" approved a request", &az->user);
    ngx_http_imprest_metrics_add(NGX_HTTP_IMPREST_M_CONSENT_APPROVED, 1);

    return ngx_http_imprest_redirect(r, as, NGX_HTTP_SEE_OTHER,
                                     &cr.redirect_uri, (char *) code.data,
                                     NULL, NULL, &cr.state);

bad:

    ngx_http_imprest_redis_reset("reply does not match the consent script");

    return ngx_http_imprest_message(r, NGX_HTTP_SERVICE_UNAVAILABLE,
               "Temporarily unavailable", "Please try again in a moment.");
}


/*
 * The authorization response (RFC 6749 4.1.2, 4.1.2.1) with iss
 * (RFC 9207 2); code is NGX_HTTP_IMPREST_TOKEN_LEN bytes when set.
 */

static ngx_int_t
ngx_http_imprest_redirect(ngx_http_request_t *r, ngx_http_imprest_as_t *as,
    ngx_uint_t status, ngx_str_t *uri, const char *code, const char *error,
    const char *description, ngx_str_t *state)
{
    size_t                     n, len;
    u_char                    *p;
    ngx_http_imprest_param_t   params[5];

    n = 0;

    if (code) {
        params[n].name = (u_char *) "code";
        params[n].name_len = 4;
        params[n].value = (u_char *) code;
        params[n].value_len = NGX_HTTP_IMPREST_TOKEN_LEN;
        n++;
    }

    if (error) {
        params[n].name = (u_char *) "error";
        params[n].name_len = 5;
        params[n].value = (u_char *) error;
        params[n].value_len = ngx_strlen(error);
        n++;

        params[n].name = (u_char *) "error_description";
        params[n].name_len = sizeof("error_description") - 1;
        params[n].value = (u_char *) description;
        params[n].value_len = ngx_strlen(description);
        n++;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "imprest: authorization error to client \"%V\": %s: %s",
                      &as->client_id, error, description);
    }

    if (state && state->len) {
        params[n].name = (u_char *) "state";
        params[n].name_len = 5;
        params[n].value = state->data;
        params[n].value_len = state->len;
        n++;
    }

    params[n].name = (u_char *) "iss";
    params[n].name_len = 3;
    params[n].value = as->imcf->issuer.data;
    params[n].value_len = as->imcf->issuer.len;
    n++;

    len = ngx_http_imprest_redirect_build(NULL, uri->data, uri->len, params,
                                          n);
    if (len == 0) {
        return ngx_http_imprest_message(r, NGX_HTTP_BAD_REQUEST,
                   "Invalid redirect URI",
                   "The application's redirect URI is not usable.");
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_imprest_redirect_build(p, uri->data, uri->len, params, n);

    /* absolute: nginx leaves it as it is */
    r->headers_out.location = ngx_http_imprest_add_header(r, "Location",
                                                          NULL);
    if (r->headers_out.location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.location->value.data = p;
    r->headers_out.location->value.len = len;

    ngx_http_clear_content_length(r);

    {
        ngx_str_t  empty = ngx_null_string;

        /* no-store, and nothing that could leak the code onwards */
        (void) ngx_http_imprest_pages_send(r, status, &empty, NULL, 0);
    }

    return NGX_OK;
}


/* the picker lists organizations by name, as people look for them */

static int ngx_libc_cdecl
ngx_http_imprest_org_cmp(const void *one, const void *two)
{
    size_t                         n;
    ngx_int_t                      rc;
    const ngx_str_t               *an, *bn;
    const ngx_http_imprest_org_t  *a = one, *b = two;

    an = a->name.len ? &a->name : &a->id;
    bn = b->name.len ? &b->name : &b->id;

    n = ngx_min(an->len, bn->len);
    rc = ngx_strncasecmp(an->data, bn->data, n);

    if (rc == 0 && an->len != bn->len) {
        rc = an->len < bn->len ? -1 : 1;
    }

    return rc ? (int) rc : ngx_strcmp(a->id.data, b->id.data);
}


static ngx_int_t
ngx_http_imprest_consent_page(ngx_http_request_t *r,
    ngx_http_imprest_as_t *as, ngx_http_imprest_authz_t *az)
{
    u_char                     num[NGX_INT_T_LEN];
    const u_char              *last, *start, *t;
    ngx_str_t                  body, tok, rid, form_to, *name;
    ngx_uint_t                 i, j, picker, grantable, may;
    ngx_http_imprest_org_t    *org;
    ngx_http_imprest_html_t    h;
    ngx_http_imprest_scope_t  *sc;

    rid.data = az->rid;
    rid.len = NGX_HTTP_IMPREST_TOKEN_LEN;

    sc = as->imcf->scopes->elts;
    org = as->orgs->elts;

    /* a start; the writer grows to what the page needs */
    ngx_http_imprest_html_init(&h, r->pool,
                               2048 + 128 * as->orgs->nelts);

    ngx_http_imprest_html_lit(&h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>Authorize an application: Imprest</title><style>"
        "body{font-family:sans-serif;max-width:34em;margin:2em auto;"
        "padding:0 1em;color:#222}h1{font-size:1.4em}"
        "li{margin:.4em 0}.s{font-family:monospace}"
        "select{width:100%;font-size:1em}"
        "button{font-size:1em;padding:.5em 1.5em;margin-right:1em}"
        "</style></head><body><main><h1>");
    ngx_http_imprest_html_text(&h, &as->client_name);
    ngx_http_imprest_html_lit(&h, " wants to access your Imprest account</h1>"
                                  "<p>Signed in as <b>");
    ngx_http_imprest_html_text(&h, &az->user);
    ngx_http_imprest_html_lit(&h, "</b>. <b>");
    ngx_http_imprest_html_text(&h, &as->client_name);
    ngx_http_imprest_html_lit(&h, "</b> asks to:</p><ul>");

    /* the requested scopes (a set: no repeats), from the catalogue */
    start = az->scope.data;
    last = az->scope.data + az->scope.len;

    while ((tok.len = ngx_http_imprest_list_next(&start, last, &t)) != 0) {
        tok.data = (u_char *) t;

        for (j = 0; j < as->imcf->scopes->nelts; j++) {
            if (sc[j].name.len == tok.len
                && ngx_strncmp(sc[j].name.data, tok.data, tok.len) == 0)
            {
                ngx_http_imprest_html_lit(&h, "<li>");
                ngx_http_imprest_html_text(&h, &sc[j].description);
                ngx_http_imprest_html_lit(&h, " <span class=\"s\">(");
                ngx_http_imprest_html_text(&h, &sc[j].name);
                ngx_http_imprest_html_lit(&h, ")</span></li>");
                break;
            }
        }
    }

    ngx_http_imprest_html_lit(&h, "</ul><form method=\"post\" action=\"");
    ngx_http_imprest_html_text(&h, &r->uri);
    ngx_http_imprest_html_lit(&h, "\"><input type=\"hidden\" "
                                  "name=\"request_id\" value=\"");
    ngx_http_imprest_html_text(&h, &rid);
    ngx_http_imprest_html_lit(&h, "\"><fieldset><legend>On behalf of these "
                                  "organizations</legend>");

    /*
     * A few organizations are checkboxes; a bookkeeper's thousands are
     * one list box in name order, which browsers let people scroll, jump
     * in by typing a name, and multi-select, without script.
     */
    picker = as->orgs->nelts > NGX_HTTP_IMPREST_CONSENT_CHECKBOXES;

    /* imprest_consent_role admin: the others are shown, not offered */
    grantable = 0;

    for (i = 0; i < as->orgs->nelts; i++) {
        if (!as->ilcf->consent_admins || org[i].admin) {
            grantable++;
        }
    }

    if (grantable < as->orgs->nelts) {
        ngx_http_imprest_html_lit(&h, "<p>Only an organization's admins can "
            "connect applications to it: those marked <i>admins only</i> "
            "cannot be chosen here. Ask one of their admins.</p>");
    }

    if (picker) {
        ngx_qsort(org, as->orgs->nelts, sizeof(ngx_http_imprest_org_t),
                  ngx_http_imprest_org_cmp);

        ngx_http_imprest_html_lit(&h, "<p><label for=\"org\">Choose up to "
            NGX_HTTP_IMPREST_MAX_ORGS_TEXT " of your ");
        ngx_http_imprest_html_raw(&h, num,
                                  ngx_sprintf(num, "%ui", as->orgs->nelts)
                                  - num);
        ngx_http_imprest_html_lit(&h, " organizations (type a name to jump "
            "to it; hold Ctrl, or Cmd on a Mac, to choose several):</label>"
            "</p><select id=\"org\" name=\"org\" multiple size=\"15\" "
            "required>");
    }

    for (i = 0; i < as->orgs->nelts; i++) {
        name = org[i].name.len ? &org[i].name : &org[i].id;
        may = !as->ilcf->consent_admins || org[i].admin;

        if (picker) {
            ngx_http_imprest_html_lit(&h, "<option value=\"");
            ngx_http_imprest_html_text(&h, &org[i].id);
            ngx_http_imprest_html_lit(&h, "\"");

            if (!may) {
                ngx_http_imprest_html_lit(&h, " disabled");
            }

            ngx_http_imprest_html_lit(&h, ">");
            ngx_http_imprest_html_text(&h, name);

            if (!may) {
                ngx_http_imprest_html_lit(&h, " (admins only)");
            }

            ngx_http_imprest_html_lit(&h, "</option>");
            continue;
        }

        ngx_http_imprest_html_lit(&h, "<div><label><input type=\"checkbox\" "
                                      "name=\"org\" value=\"");
        ngx_http_imprest_html_text(&h, &org[i].id);
        ngx_http_imprest_html_lit(&h, "\"");

        if (!may) {
            ngx_http_imprest_html_lit(&h, " disabled");

        } else if (grantable == 1) {
            ngx_http_imprest_html_lit(&h, " checked");
        }

        ngx_http_imprest_html_lit(&h, "> ");
        ngx_http_imprest_html_text(&h, name);

        if (!may) {
            ngx_http_imprest_html_lit(&h, " <i>admins only</i>");
        }

        ngx_http_imprest_html_lit(&h, "</label></div>");
    }

    if (picker) {
        ngx_http_imprest_html_lit(&h, "</select>");
    }

    ngx_http_imprest_html_lit(&h, "</fieldset><p>You will be sent back to "
                                  "<span class=\"s\">");
    ngx_http_imprest_html_text(&h, &az->redirect_uri);
    ngx_http_imprest_html_lit(&h, "</span>.</p><p><button type=\"submit\" "
        "name=\"decision\" value=\"approve\"");

    if (grantable == 0) {
        ngx_http_imprest_html_lit(&h, " disabled");
    }

    ngx_http_imprest_html_lit(&h, ">Approve</button>"
        "<button type=\"submit\" name=\"decision\" value=\"deny\" "
        "formnovalidate>Deny</button></p></form></main></body></html>\n");

    if (ngx_http_imprest_html_done(&h, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The form posts to us, and the answer redirects to the client, on
     * another origin for any third-party app: browsers apply form-action
     * to that redirect too, so the client's origin is allowed as well.
     */
    form_to.data = ngx_pnalloc(r->pool, az->redirect_uri.len);
    if (form_to.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    form_to.len = ngx_http_imprest_uri_origin(form_to.data,
                                              az->redirect_uri.data,
                                              az->redirect_uri.len);

    return ngx_http_imprest_pages_send(r, NGX_HTTP_OK, &body, &form_to, 0);
}
