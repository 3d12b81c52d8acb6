/*
 * Copyright (C) Imprest
 *
 * The gate: Bearer token, organization and scope checks in the access
 * phase, and the token lookup shared with the content handlers.
 */

#ifndef _NGX_HTTP_IMPREST_GATE_H_INCLUDED_
#define _NGX_HTTP_IMPREST_GATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_imprest_module.h"


ngx_int_t ngx_http_imprest_gate_handler(ngx_http_request_t *r);

ngx_http_imprest_ctx_t *ngx_http_imprest_gate_ctx(ngx_http_request_t *r);

/*
 * Reads the Bearer token (RFC 6750 2.1) into ctx->token_key.  Returns
 * NGX_HTTP_IMPREST_OK or the failed outcome (ctx->description set).
 */
ngx_http_imprest_outcome_e ngx_http_imprest_gate_read_token(
    ngx_http_request_t *r, ngx_http_imprest_ctx_t *ctx,
    ngx_http_imprest_main_conf_t *imcf);

/*
 * Starts the token lookup; mode 'g' (gate, with ctx->org_id) or 'o'
 * (the list of organizations).  done runs when the answer is in ctx.
 */
ngx_int_t ngx_http_imprest_gate_lookup(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_main_conf_t *imcf,
    u_char mode, ngx_http_event_handler_pt done);

/* applies a location's rules to a looked-up record */
ngx_http_imprest_outcome_e ngx_http_imprest_gate_decide(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_loc_conf_t *ilcf,
    ngx_uint_t check_org);

/*
 * The answer to a failed outcome of ctx: RFC 6750 3 status, challenge
 * and JSON body (also the organizations endpoint's token errors).
 */
ngx_int_t ngx_http_imprest_gate_answer(ngx_http_request_t *r,
    ngx_http_imprest_ctx_t *ctx, ngx_http_imprest_loc_conf_t *ilcf);

ngx_int_t ngx_http_imprest_gate_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_IMPREST_GATE_H_INCLUDED_ */
