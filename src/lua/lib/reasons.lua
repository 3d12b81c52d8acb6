-- Why a redemption or a refresh was refused: {0, R.name}.  This table is
-- the one list of reasons: tools/lua-embed.sh also writes it into the
-- generated header as NGX_HTTP_IMPREST_REASON_<NAME>, and the token
-- endpoint (src/ngx_http_imprest_token.c) maps each code to its OAuth
-- error and description.  Codes are never reused.
local R = {
  unknown_code = 1,
  code_used = 2,
  code_other_client = 3,
  client_deleted = 4,
  code_expired = 5,
  redirect_uri_mismatch = 6,
  verifier_mismatch = 7,
  verifier_unexpected = 8,
  unknown_refresh_token = 9,
  refresh_token_used = 10,
  refresh_token_other_client = 11,
  refresh_token_expired = 12,
  grant_expired = 13,
  grant_revoked = 14,
  scope_exceeds_grant = 15,
}
