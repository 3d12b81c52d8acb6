/*
 * Copyright (C) Imprest
 *
 * GET /.well-known/oauth-authorization-server: RFC 8414 metadata, built
 * from the configuration once, so it never depends on Host or
 * X-Forwarded-* and is served even when Redis is down.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_imprest_module.h"
#include "ngx_http_imprest_endpoints.h"
#include "ngx_http_imprest_response.h"


static json_t *ngx_http_imprest_metadata_url(ngx_str_t *issuer,
    const char *path);
static json_t *ngx_http_imprest_metadata_list(const char **items);
static json_t *ngx_http_imprest_metadata_doc(ngx_str_t *origin,
    ngx_str_t *path);


static const char  *ngx_http_imprest_md_response_types[] = { "code", NULL };
static const char  *ngx_http_imprest_md_response_modes[] = { "query", NULL };
static const char  *ngx_http_imprest_md_grant_types[] = {
    "authorization_code", "refresh_token", NULL
};
static const char  *ngx_http_imprest_md_auth_methods[] = {
    "client_secret_basic", "client_secret_post", "none", NULL
};
static const char  *ngx_http_imprest_md_secret_methods[] = {
    "client_secret_basic", "client_secret_post", NULL
};
static const char  *ngx_http_imprest_md_pkce[] = { "S256", NULL };


ngx_int_t
ngx_http_imprest_metadata_build(ngx_conf_t *cf,
    ngx_http_imprest_main_conf_t *imcf)
{
    char                      *s;
    json_t                    *j, *scopes;
    ngx_uint_t                 i;
    ngx_http_imprest_scope_t  *sc;

    j = json_object();
    scopes = json_array();
    if (j == NULL || scopes == NULL) {
        json_decref(j);
        json_decref(scopes);
        return NGX_ERROR;
    }

    sc = imcf->scopes ? imcf->scopes->elts : NULL;

    for (i = 0; sc && i < imcf->scopes->nelts; i++) {
        json_array_append_new(scopes, json_stringn((char *) sc[i].name.data,
                                                   sc[i].name.len));
    }

    json_object_set_new(j, "issuer",
                        json_stringn((char *) imcf->issuer.data,
                                     imcf->issuer.len));
    json_object_set_new(j, "authorization_endpoint",
        ngx_http_imprest_metadata_url(&imcf->issuer, "/oauth/authorize"));
    json_object_set_new(j, "token_endpoint",
        ngx_http_imprest_metadata_url(&imcf->issuer, "/oauth/token"));
    json_object_set_new(j, "revocation_endpoint",
        ngx_http_imprest_metadata_url(&imcf->issuer, "/oauth/revoke"));
    json_object_set_new(j, "introspection_endpoint",
        ngx_http_imprest_metadata_url(&imcf->issuer, "/oauth/introspect"));
    if (imcf->register_uri.data) {  /* the first imprest_register */
        json_object_set_new(j, "registration_endpoint",
            json_sprintf("%.*s%.*s", (int) imcf->issuer_origin.len,
                         imcf->issuer_origin.data,
                         (int) imcf->register_uri.len,
                         imcf->register_uri.data));
    }
    json_object_set_new(j, "scopes_supported", scopes);
    json_object_set_new(j, "response_types_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_response_types));
    json_object_set_new(j, "response_modes_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_response_modes));
    json_object_set_new(j, "grant_types_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_grant_types));
    json_object_set_new(j, "token_endpoint_auth_methods_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_auth_methods));
    json_object_set_new(j, "revocation_endpoint_auth_methods_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_auth_methods));
    json_object_set_new(j, "introspection_endpoint_auth_methods_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_secret_methods));
    /* RFC 9700 2.1.1: S256 only */
    json_object_set_new(j, "code_challenge_methods_supported",
        ngx_http_imprest_metadata_list(ngx_http_imprest_md_pkce));
    /* RFC 9207 3 */
    json_object_set_new(j, "authorization_response_iss_parameter_supported",
                        json_true());

    /*
     * RFC 8414 2 "service_documentation": human-readable information for
     * developers; ours is the Scopes reference (imprest_scopes), at the
     * issuer's origin.
     */
    if (imcf->scopes_uri.data) {
        json_object_set_new(j, "service_documentation",
            ngx_http_imprest_metadata_doc(&imcf->issuer_origin,
                                          &imcf->scopes_uri));
    }

    s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);

    if (s == NULL) {
        return NGX_ERROR;
    }

    imcf->metadata.len = ngx_strlen(s) + 1;
    imcf->metadata.data = ngx_pnalloc(cf->pool, imcf->metadata.len);
    if (imcf->metadata.data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(imcf->metadata.data, s, imcf->metadata.len - 1);
    imcf->metadata.data[imcf->metadata.len - 1] = '\n';
    free(s);

    return NGX_OK;
}


static json_t *
ngx_http_imprest_metadata_url(ngx_str_t *issuer, const char *path)
{
    json_t  *j;
    char     buf[2048];

    if (issuer->len + ngx_strlen(path) + 1 > sizeof(buf)) {
        return json_null();
    }

    ngx_sprintf((u_char *) buf, "%V%s%Z", issuer, path);
    j = json_string(buf);

    return j ? j : json_null();
}


static json_t *
ngx_http_imprest_metadata_doc(ngx_str_t *origin, ngx_str_t *path)
{
    json_t  *j;
    char     buf[2048];

    if (origin->len + path->len + 1 > sizeof(buf)) {
        return json_null();
    }

    ngx_sprintf((u_char *) buf, "%V%V%Z", origin, path);
    j = json_string(buf);

    return j ? j : json_null();
}


static json_t *
ngx_http_imprest_metadata_list(const char **items)
{
    json_t  *a;

    a = json_array();
    if (a == NULL) {
        return json_null();
    }

    while (*items) {
        json_array_append_new(a, json_string(*items++));
    }

    return a;
}


ngx_int_t
ngx_http_imprest_metadata_handler(ngx_http_request_t *r)
{
    ngx_http_imprest_main_conf_t  *imcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_imprest_not_allowed(r, "GET, HEAD");
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_imprest_module);

    return ngx_http_imprest_send_json(r, NGX_HTTP_OK, &imcf->metadata);
}
