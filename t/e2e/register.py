#!/usr/bin/python3
"""Dynamic client registration (RFC 7591) and its management (RFC 7592),
then the developer guide's flow with the registered credentials, driven
by an off-the-shelf OAuth 2.0 client: Debian's python3-authlib.

Registration itself is plain requests following RFC 7591 3.1 (authlib
1.2 has no client-side registration helper); authlib's own RFC 7591
claims validator checks what the server answered.  Then authlib's
OAuth2Session, configured from the registration response only, walks
the guide: authorization URL, consent (approved through the page's HTML
form), code exchange, API call, refresh.  A public app registered by the
signed-in developer does the same with PKCE.  Finally the registration
is read, replaced and deleted, and the gate refuses the deleted app's
token on the very next request.

Run by t/e2e/run.sh, which starts the servers and sets E2E_* (and
E2E_INITIAL_TOKEN from "imprestctl initial-token create").
"""

import os
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7591 import ClientMetadataClaims
from authlib.common.security import generate_token

from e2elib import (BASE, ORG1, ORG2, PASSWORD, TIMEOUT, USER, Report,
                    approve, browser, metadata)

# loopback test server, plain HTTP: authlib refuses it otherwise
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

INITIAL = os.environ.get("E2E_INITIAL_TOKEN", "")
SECRETS = []


def redact(s):
    for x in SECRETS:
        s = s.replace(x, "<secret>")
    return s


T = Report(redact)
MD = {}


def register(body, auth=None, token=None, path="/oauth/register"):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    return requests.post(BASE + path, json=body, headers=headers, auth=auth,
                         timeout=TIMEOUT)


def configure(reg, method, body=None):
    return requests.request(method, reg["registration_client_uri"],
                            json=body,
                            headers={"Authorization": "Bearer "
                                     + reg["registration_access_token"]},
                            timeout=TIMEOUT)


def invoices(token, org=ORG1):
    return requests.get(BASE + "/api/v1/invoices",
                        headers={"Authorization": "Bearer " + token,
                                 "X-Organization-Id": org},
                        timeout=TIMEOUT)


def valid_claims(reg, name):
    """authlib's server-side RFC 7591 validator on our answer."""
    try:
        ClientMetadataClaims(reg, {}).validate()
        return T.check(True, name)
    except Exception as e:  # noqa: BLE001 - reported
        return T.check(False, name, "%s: %s" % (type(e).__name__, e))


def session_for(reg, **kw):
    """An authlib client configured from the registration response."""
    return OAuth2Session(reg["client_id"], reg.get("client_secret"),
                         scope=reg["scope"],
                         redirect_uri=reg["redirect_uris"][0],
                         token_endpoint_auth_method=reg[
                             "token_endpoint_auth_method"], **kw)


def guide_flow(reg, name, orgs, pkce=False):
    """Guide steps 2-4 and a refresh with authlib; returns the tokens."""
    kw = {"code_challenge_method": "S256"} if pkce else {}
    app = session_for(reg, **kw)
    verifier = generate_token(64) if pkce else None
    url, state = app.create_authorization_url(MD["authorization_endpoint"],
                                              code_verifier=verifier)
    location = approve(url, orgs)
    T.check(location.startswith(reg["redirect_uris"][0] + "?"),
            name + ": consent sends the user back to the registered URI",
            location)
    token = app.fetch_token(MD["token_endpoint"],
                            authorization_response=location, state=state,
                            code_verifier=verifier)
    SECRETS.extend([token.get("access_token", ""),
                    token.get("refresh_token", "")])
    T.check(token.get("access_token", "").startswith("imp_at_"),
            name + ": authlib exchanged the code ("
            + reg["token_endpoint_auth_method"] + ")")
    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": orgs[0]}, timeout=TIMEOUT)
    echo = r.json() if r.status_code == 200 else {}
    T.eq((r.status_code, echo.get("client_id"), echo.get("user_id")),
         (200, reg["client_id"], USER),
         name + ": the gate lets the app's call through")
    new = app.refresh_token(MD["token_endpoint"])
    SECRETS.extend([new.get("access_token", ""),
                    new.get("refresh_token", "")])
    T.check(new.get("access_token", "") not in ("", token["access_token"]),
            name + ": authlib refreshed the token")
    return app, new


def step_metadata():
    MD.update(metadata())
    T.eq(MD.get("registration_endpoint"), BASE + "/oauth/register",
         "metadata: registration_endpoint (RFC 8414 2)")


def step_never_open():
    r = register({"redirect_uris": ["https://auto.example/cb"]})
    T.eq((r.status_code, r.headers.get("WWW-Authenticate")),
         (401, 'Bearer realm="Imprest API"'),
         "register: without a user or initial token, 401")
    r = register({"redirect_uris": ["https://auto.example/cb"]},
                 token="imp_ia_" + "x" * 49)
    T.eq((r.status_code, r.json().get("error")), (401, "invalid_token"),
         "register: a forged initial access token, 401 invalid_token")
    r = register({"redirect_uris": ["https://auto.example/cb"]},
                 auth=(USER, PASSWORD))
    T.eq(r.status_code, 401,
         "register: HTTP Basic of a user is no credential at /oauth/register")


def step_confidential():
    r = register({"client_name": "Auto Books",
                  "redirect_uris": ["https://auto.example/cb"],
                  "scope": "money_in money_out",
                  "token_endpoint_auth_method": "client_secret_post",
                  "grant_types": ["authorization_code", "refresh_token"],
                  "response_types": ["code"],
                  "logo_uri": "https://auto.example/logo.png"},
                 token=INITIAL)
    T.eq(r.status_code, 201, "register: 201 with the initial access token")
    reg = r.json()
    SECRETS.extend([reg.get("client_secret", ""),
                    reg.get("registration_access_token", "")])
    T.check("no-store" in r.headers.get("Cache-Control", ""),
            "register: Cache-Control no-store")
    T.check(reg.get("client_secret", "").startswith("imp_cs_")
            and reg.get("client_secret_expires_at") == 0,
            "register: a client secret that does not expire")
    valid_claims(reg, "register: authlib's RFC 7591 validator accepts it")
    T.eq(reg.get("registration_client_uri"),
         BASE + "/oauth/register/" + reg.get("client_id", ""),
         "register: registration_client_uri")

    app, tok = guide_flow(reg, "confidential", [ORG1])

    r = configure(reg, "GET")
    got = r.json() if r.status_code == 200 else {}
    want = dict(reg)
    del want["client_secret"]
    T.eq((r.status_code, got), (200, want),
         "RFC 7592 read: the registration, without the secret")

    body = dict(want, client_name="Auto Books Renamed",
                redirect_uris=["https://auto.example/cb",
                               "https://auto.example/cb2"],
                client_secret=reg["client_secret"])
    for k in ("registration_access_token", "registration_client_uri",
              "client_secret_expires_at", "client_id_issued_at"):
        body.pop(k)
    r = configure(reg, "PUT", body)
    got = r.json() if r.status_code == 200 else {}
    T.eq((r.status_code, got.get("client_name"), got.get("redirect_uris")),
         (200, "Auto Books Renamed", body["redirect_uris"]),
         "RFC 7592 update: replaced")
    page = browser().get(session_for(dict(reg, redirect_uris=[
        "https://auto.example/cb2"])).create_authorization_url(
            MD["authorization_endpoint"])[0], timeout=TIMEOUT)
    T.check(page.status_code == 200 and "Auto Books Renamed" in page.text,
            "update: the consent page shows the new name and accepts the "
            "new redirect URI")

    r = configure(dict(reg, registration_access_token="imp_ra_" + "y" * 49),
                  "DELETE")
    T.eq(r.status_code, 401, "RFC 7592 delete: a wrong token, 401")
    r = configure(reg, "DELETE")
    T.eq((r.status_code, r.text), (204, ""), "RFC 7592 delete: 204")
    T.eq(invoices(tok["access_token"]).status_code, 401,
         "after delete: the gate refuses the app's access token at once")
    r = requests.post(MD["token_endpoint"],
                      data={"grant_type": "refresh_token",
                            "refresh_token": tok["refresh_token"]},
                      auth=(reg["client_id"], reg["client_secret"]),
                      timeout=TIMEOUT)
    T.eq((r.status_code, r.json().get("error")), (401, "invalid_client"),
         "after delete: the refresh token is refused")
    T.eq(configure(reg, "GET").status_code, 401,
         "after delete: the registration is gone (401)")


def step_developer_public():
    r = register({"client_name": "Auto Pocket",
                  "redirect_uris": ["http://127.0.0.1/cb"],
                  "scope": "money_in",
                  "token_endpoint_auth_method": "none"},
                 auth=(USER, PASSWORD), path="/developer/register")
    T.eq(r.status_code, 201, "register: 201 for the signed-in developer")
    reg = r.json()
    SECRETS.append(reg.get("registration_access_token", ""))
    T.check("client_secret" not in reg
            and reg.get("token_endpoint_auth_method") == "none",
            "register: a public app has no secret")
    valid_claims(reg, "register: authlib's validator accepts the public app")
    T.eq(reg.get("registration_client_uri"),
         BASE + "/oauth/register/" + reg.get("client_id", ""),
         "register: its client URI is under the metadata's endpoint")
    app, tok = guide_flow(reg, "public with PKCE", [ORG2], pkce=True)
    r = configure(reg, "DELETE")
    T.eq(r.status_code, 204, "public app: deleted")
    T.eq(invoices(tok["access_token"], ORG2).status_code, 401,
         "public app: its token stops at the gate at once")


def main():
    if not INITIAL:
        print("E2E_INITIAL_TOKEN: run me from t/e2e/run.sh")
        return 2
    SECRETS.append(INITIAL)
    T.run("metadata", step_metadata)
    if not MD:
        return T.finish()
    T.run("never open", step_never_open)
    T.run("confidential app, initial access token", step_confidential)
    T.run("public app, signed-in developer", step_developer_public)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
