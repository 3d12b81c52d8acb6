#!/usr/bin/python3
"""The developer guide, followed by a real OAuth 2.0 client library.

requests_oauthlib.OAuth2Session plays a third-party app: it discovers the
endpoints (RFC 8414), sends the user to /oauth/authorize, takes the code
from the redirect, exchanges it (client_secret_post, as the guide shows),
calls the API with the Bearer token and X-Organization-Id, refreshes,
and revokes.  The signed-in user approves on the consent page through its
HTML form.  A public app does the same with PKCE (S256).

Run by t/e2e/run.sh, which starts the servers and sets E2E_*.  oauthlib
refuses http:// endpoints unless OAUTHLIB_INSECURE_TRANSPORT=1: the test
server listens on loopback only, where plain HTTP is all there is, so
run.sh sets it.
"""

import base64
import hashlib
import os
import sys

import requests
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session

from e2elib import (BASE, CLIENT_ID, CLIENT_SECRET, ORG1, ORG2, OTHER_ORG,
                    PUBLIC_CLIENT_ID, PUBLIC_REDIRECT_URI, REDIRECT_URI,
                    TIMEOUT, Report, approve, browser, consent_form, query,
                    submit_consent)

# loopback test server, plain HTTP (see the docstring)
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

T = Report()
MD = {}


def invoices(token, org):
    return requests.get(BASE + "/api/v1/invoices",
                        headers={"Authorization": "Bearer " + token,
                                 "X-Organization-Id": org},
                        timeout=TIMEOUT)


def revoke(token, hint, client_id, client_secret=None):
    """RFC 7009, client credentials in the body as for the token
    endpoint.  Plain requests: an OAuth2Session would add its own Bearer
    token to the request."""
    data = {"token": token, "token_type_hint": hint, "client_id": client_id}
    if client_secret is not None:
        data["client_secret"] = client_secret
    return requests.post(MD["revocation_endpoint"], data=data,
                         timeout=TIMEOUT)


def refresh_fails(session, rt, name, **kw):
    try:
        session.refresh_token(MD["token_endpoint"], refresh_token=rt, **kw)
    except InvalidGrantError:
        return T.check(True, name)
    except OAuth2Error as e:
        return T.check(False, name, "%s: %s" % (e.error, e.description))
    return T.check(False, name, "a new token was issued")


def step_metadata():
    r = requests.get(BASE + "/.well-known/oauth-authorization-server",
                     timeout=TIMEOUT)
    T.eq(r.status_code, 200, "metadata: 200")
    MD.update(r.json())
    T.eq(MD.get("issuer"), BASE, "metadata: issuer is the configured one")
    for ep, path in (("authorization_endpoint", "/oauth/authorize"),
                     ("token_endpoint", "/oauth/token"),
                     ("revocation_endpoint", "/oauth/revoke"),
                     ("introspection_endpoint", "/oauth/introspect")):
        T.eq(MD.get(ep), BASE + path, "metadata: " + ep)
    T.check("S256" in MD.get("code_challenge_methods_supported", []),
            "metadata: PKCE S256 supported")
    T.check("client_secret_post"
            in MD.get("token_endpoint_auth_methods_supported", []),
            "metadata: client_secret_post supported")
    T.check(set(MD.get("scopes_supported", [])) >= {"money_in", "money_out"},
            "metadata: money_in and money_out listed")


def step_confidential():
    """Guide steps 2-4 with a confidential app, then refresh and revoke."""
    app = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                        scope=["money_in", "money_out"])
    url, state = app.authorization_url(MD["authorization_endpoint"])
    T.check(len(state) >= 20, "authorize: oauthlib made a random state")

    r = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    T.eq(r.status_code, 401, "authorize: not signed in is 401 (auth_basic)")

    brw = browser()
    page = brw.get(url, timeout=TIMEOUT)
    T.eq(page.status_code, 200, "consent page: 200 for the signed-in user")
    T.check(page.headers.get("Content-Type", "").startswith("text/html"),
            "consent page: text/html")
    T.check("no-store" in page.headers.get("Cache-Control", ""),
            "consent page: Cache-Control no-store")
    form = consent_form(page.text)
    T.eq(form["method"], "post", "consent page: the form POSTs")
    T.check(form["hidden"].get("request_id", "").startswith("imp_cr_"),
            "consent page: hidden request_id", form["hidden"])
    T.eq(sorted(c["value"] for c in form["checkboxes"]
                if c["name"] == "org"),
         sorted([ORG1, ORG2]),
         "consent page: one org checkbox per membership")
    T.eq(sorted(form["buttons"]),
         [("decision", "approve"), ("decision", "deny")],
         "consent page: Approve and Deny buttons")
    T.check("E2E Books" in page.text, "consent page: names the app")

    r = submit_consent(brw, page.url, form, [ORG1])
    T.eq(r.status_code, 303, "approve: 303 See Other")
    location = r.headers.get("Location", "")
    T.check(location.startswith(REDIRECT_URI + "?"),
            "approve: back to the registered redirect_uri", location)
    q = query(location)
    T.check(q.get("code", "").startswith("imp_ac_"), "approve: a code")
    T.eq(q.get("state"), state, "approve: state round-trips")
    T.eq(q.get("iss"), MD["issuer"], "approve: iss is the metadata issuer")

    # guide step 3, client_secret_post: client_id and secret in the body;
    # the library's compliance hook shows us the raw token response
    seen = []
    app.register_compliance_hook("access_token_response",
                                 lambda r: seen.append(r) or r)
    token = app.fetch_token(MD["token_endpoint"],
                            authorization_response=location,
                            client_secret=CLIENT_SECRET,
                            include_client_id=True)
    T.check(token.get("access_token", "").startswith("imp_at_"),
            "token: access token")
    T.check(token.get("refresh_token", "").startswith("imp_rt_"),
            "token: refresh token")
    T.eq(token.get("token_type"), "Bearer", "token: token_type Bearer")
    T.check(isinstance(token.get("expires_in"), int)
            and token["expires_in"] > 0, "token: expires_in",
            token.get("expires_in"))
    T.eq(token.get("scope"), ["money_in", "money_out"], "token: scope")
    at1, rt1 = token["access_token"], token["refresh_token"]
    if seen:
        h = seen[0].headers
        T.check(h.get("Content-Type", "").startswith("application/json")
                and "no-store" in h.get("Cache-Control", ""),
                "token: JSON with Cache-Control no-store (RFC 6749 5.1)",
                dict(h))

    # guide step 4, with the session's own Bearer header
    r = app.get(BASE + "/api/v1/me/organizations", timeout=TIMEOUT)
    T.eq(r.status_code, 200, "me/organizations: 200")
    T.eq(r.json().get("organizations"), [{"id": ORG1, "name": "Acme Ltd"}],
         "me/organizations: only the organization ticked on consent")

    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": ORG1}, timeout=TIMEOUT)
    T.eq(r.status_code, 200, "invoices: 200 for the granted organization")
    echo = r.json() if r.status_code == 200 else {}
    T.eq((echo.get("user_id"), echo.get("client_id"),
          echo.get("organization_id"), echo.get("scope")),
         ("alice", CLIENT_ID, ORG1, "money_in money_out"),
         "invoices: the upstream saw user, app, org and scope")
    T.eq(echo.get("authorization_seen"), "",
         "invoices: the token did not reach the upstream")

    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": ORG2}, timeout=TIMEOUT)
    T.eq((r.status_code, r.json().get("error")), (403, "access_denied"),
         "invoices: 403 for a membership not ticked on consent")
    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": OTHER_ORG}, timeout=TIMEOUT)
    T.eq(r.status_code, 403, "invoices: 403 for someone else's organization")

    r = requests.post(MD["introspection_endpoint"],
                      data={"token": at1, "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET},
                      timeout=TIMEOUT)
    j = r.json()
    T.eq((r.status_code, j.get("active"), j.get("client_id")),
         (200, True, CLIENT_ID), "introspect: the access token is active")

    # refresh (rotation): the session sends client_id and secret in the body
    new = app.refresh_token(MD["token_endpoint"], client_id=CLIENT_ID,
                            client_secret=CLIENT_SECRET)
    at2, rt2 = new.get("access_token", ""), new.get("refresh_token", "")
    T.check(at2.startswith("imp_at_") and at2 != at1,
            "refresh: a new access token")
    T.check(rt2.startswith("imp_rt_") and rt2 != rt1,
            "refresh: a new refresh token (rotation)")
    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": ORG1}, timeout=TIMEOUT)
    T.eq(r.status_code, 200, "invoices: 200 with the refreshed token")

    # revoke the access token the app holds now
    r = revoke(at2, "access_token", CLIENT_ID, CLIENT_SECRET)
    T.eq(r.status_code, 200, "revoke: 200")
    r = invoices(at2, ORG1)
    T.eq(r.status_code, 401, "invoices: 401 after revocation")
    T.check('error="invalid_token"' in r.headers.get("WWW-Authenticate", ""),
            "invoices: WWW-Authenticate says invalid_token",
            r.headers.get("WWW-Authenticate"))
    r = requests.post(MD["introspection_endpoint"],
                      data={"token": at2, "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET},
                      timeout=TIMEOUT)
    T.eq((r.status_code, r.json()), (200, {"active": False}),
         "introspect: the revoked token is inactive")

    # the rotated-out refresh token is dead; presenting it again is
    # treated as theft and takes the whole grant down (RFC 9700 4.14.2)
    refresh_fails(app, rt1, "refresh: the old refresh token is refused",
                  client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    refresh_fails(app, rt2,
                  "refresh: its reuse revoked the current refresh token too",
                  client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    T.eq(invoices(at1, ORG1).status_code, 401,
         "invoices: ... and the first access token")

    # a wrong secret is invalid_client
    r = requests.post(MD["token_endpoint"],
                      data={"grant_type": "refresh_token",
                            "refresh_token": rt2, "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET[:-1] + "x"},
                      timeout=TIMEOUT)
    T.eq((r.status_code, r.json().get("error")), (401, "invalid_client"),
         "token: a wrong client_secret is invalid_client")


def step_deny():
    app = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                        scope=["money_in"])
    url, state = app.authorization_url(MD["authorization_endpoint"])
    brw = browser()
    page = brw.get(url, timeout=TIMEOUT)
    r = submit_consent(brw, page.url, consent_form(page.text), [ORG1],
                       decision="deny")
    q = query(r.headers.get("Location", ""))
    T.eq((r.status_code, q.get("error"), q.get("state"), q.get("iss"),
          "code" in q),
         (303, "access_denied", state, MD["issuer"], False),
         "deny: 303 to the app with access_denied, state and iss, no code")


def step_basic_and_state():
    """The library's default client authentication (client_secret_basic),
    and a state full of characters that need encoding."""
    odd = "a+b/c=d&e f%25~\u00e9"
    app = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                        scope=["money_in"], state=odd)
    url, state = app.authorization_url(MD["authorization_endpoint"])
    location = approve(url, [ORG1])
    T.eq(query(location).get("state"), odd,
         "state: +/=&, space, %, ~ and UTF-8 round-trip")
    token = app.fetch_token(MD["token_endpoint"],
                            authorization_response=location,
                            client_secret=CLIENT_SECRET)
    T.check(token.get("access_token", "").startswith("imp_at_"),
            "basic: fetch_token with client_secret_basic (the default)")
    new = app.refresh_token(MD["token_endpoint"],
                            auth=(CLIENT_ID, CLIENT_SECRET))
    T.check(new.get("access_token", "") not in ("", token["access_token"]),
            "basic: refresh_token with client_secret_basic")
    r = requests.post(MD["revocation_endpoint"],
                      data={"token": new["access_token"]},
                      auth=(CLIENT_ID, CLIENT_SECRET), timeout=TIMEOUT)
    T.eq((r.status_code, invoices(new["access_token"], ORG1).status_code),
         (200, 401), "basic: revoke with client_secret_basic")


def step_authorize_errors():
    """Errors before the redirect URI is trusted stay on our page; after,
    they go back to the app with state and iss."""
    app = OAuth2Session(CLIENT_ID, redirect_uri="https://evil.example/cb",
                        scope=["money_in"])
    url, _ = app.authorization_url(MD["authorization_endpoint"])
    r = browser().get(url, allow_redirects=False, timeout=TIMEOUT)
    T.check(r.status_code == 400 and "Location" not in r.headers,
            "authorize: an unregistered redirect_uri is not redirected to",
            r.status_code)

    app = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                        scope=["money_in", "payroll"])
    url, state = app.authorization_url(MD["authorization_endpoint"])
    r = browser().get(url, allow_redirects=False, timeout=TIMEOUT)
    q = query(r.headers.get("Location", ""))
    T.eq((r.status_code, q.get("error"), q.get("state"), q.get("iss")),
         (302, "invalid_scope", state, MD["issuer"]),
         "authorize: an unknown scope goes back as invalid_scope")


def step_consent_origin():
    """What a browser adds to the consent POST: Origin is the issuer's
    origin.  A page on another site is refused, and so is "null", which a
    cross-site page can produce (a sandboxed iframe, a no-referrer
    policy)."""
    for origin, want, name in (
            (MD["issuer"], 303, "consent: Origin of the issuer accepted"),
            ("null", 403, "consent: Origin null is refused"),
            ("https://evil.example", 403,
             "consent: a cross-site Origin is refused")):
        app = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                            scope=["money_in"])
        url, _ = app.authorization_url(MD["authorization_endpoint"])
        brw = browser()
        page = brw.get(url, timeout=TIMEOUT)
        brw.headers["Origin"] = origin
        r = submit_consent(brw, page.url, consent_form(page.text), [ORG1])
        T.eq(r.status_code, want, name)


def step_code_replay():
    """RFC 6749 4.1.2: a code works once; a second use revokes what the
    first one issued."""
    app = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                        scope=["money_in"])
    url, _ = app.authorization_url(MD["authorization_endpoint"])
    location = approve(url, [ORG1, ORG2])
    token = app.fetch_token(MD["token_endpoint"],
                            authorization_response=location,
                            client_secret=CLIENT_SECRET,
                            include_client_id=True)
    T.eq(token.get("scope"), ["money_in"], "replay: first redemption works")
    T.eq(invoices(token["access_token"], ORG2).status_code, 200,
         "replay: both ticked organizations granted")
    again = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI,
                          scope=["money_in"])
    try:
        again.fetch_token(MD["token_endpoint"], code=query(location)["code"],
                          client_secret=CLIENT_SECRET,
                          include_client_id=True)
        T.check(False, "replay: second redemption refused", "issued tokens")
    except InvalidGrantError:
        T.check(True, "replay: second redemption refused (invalid_grant)")
    T.eq(invoices(token["access_token"], ORG1).status_code, 401,
         "replay: the first redemption's access token is revoked")


def s256(verifier):
    d = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode("ascii")


def public_session():
    client = WebApplicationClient(PUBLIC_CLIENT_ID)
    verifier = client.create_code_verifier(64)
    challenge = client.create_code_challenge(verifier, "S256")
    T.eq(challenge, s256(verifier), "pkce: oauthlib's S256 matches hashlib")
    app = OAuth2Session(client=client, redirect_uri=PUBLIC_REDIRECT_URI,
                        scope=["money_in"])
    url, state = app.authorization_url(MD["authorization_endpoint"],
                                       code_challenge=challenge,
                                       code_challenge_method="S256")
    return app, url, state, verifier


def step_public_pkce():
    # a public app must use PKCE
    app = OAuth2Session(PUBLIC_CLIENT_ID, redirect_uri=PUBLIC_REDIRECT_URI,
                        scope=["money_in"])
    url, state = app.authorization_url(MD["authorization_endpoint"])
    r = browser().get(url, allow_redirects=False, timeout=TIMEOUT)
    q = query(r.headers.get("Location", ""))
    T.eq((r.status_code, q.get("error"), q.get("state")),
         (302, "invalid_request", state),
         "pkce: a public app without code_challenge is sent back an error")

    app, url, state, verifier = public_session()
    location = approve(url, [ORG2])
    q = query(location)
    T.check(location.startswith(PUBLIC_REDIRECT_URI + "?"),
            "pkce: back to the public app's redirect_uri", location)
    T.eq(q.get("state"), state, "pkce: state round-trips")
    T.eq(q.get("iss"), MD["issuer"], "pkce: iss is the metadata issuer")

    # no secret: client_id in the body and the verifier
    token = app.fetch_token(MD["token_endpoint"],
                            authorization_response=location,
                            include_client_id=True, code_verifier=verifier)
    T.check(token.get("access_token", "").startswith("imp_at_"),
            "pkce: token issued for the right code_verifier")
    r = app.get(BASE + "/api/v1/me/organizations", timeout=TIMEOUT)
    T.eq(r.json().get("organizations"), [{"id": ORG2, "name": "Beta Books"}],
         "pkce: me/organizations lists the ticked organization")
    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": ORG2}, timeout=TIMEOUT)
    T.eq((r.status_code, r.json().get("client_id"), r.json().get("scope")),
         (200, PUBLIC_CLIENT_ID, "money_in"), "pkce: invoices 200")

    new = app.refresh_token(MD["token_endpoint"], client_id=PUBLIC_CLIENT_ID)
    T.check(new.get("access_token", "") not in ("", token["access_token"]),
            "pkce: refresh works for the public app")
    r = app.get(BASE + "/api/v1/invoices",
                headers={"X-Organization-Id": ORG2}, timeout=TIMEOUT)
    T.eq(r.status_code, 200, "pkce: invoices 200 with the refreshed token")

    # revoking the refresh token revokes the grant, access tokens included
    r = revoke(new["refresh_token"], "refresh_token", PUBLIC_CLIENT_ID)
    T.eq(r.status_code, 200, "pkce: revoke the refresh token: 200")
    T.eq(invoices(new["access_token"], ORG2).status_code, 401,
         "pkce: its access token is 401 after the grant's revocation")
    refresh_fails(app, new["refresh_token"],
                  "pkce: the revoked refresh token is refused",
                  client_id=PUBLIC_CLIENT_ID)

    # a wrong verifier fails, and burns the code for the right one too
    app, url, state, verifier = public_session()
    location = approve(url, [ORG1])
    wrong = WebApplicationClient(PUBLIC_CLIENT_ID).create_code_verifier(64)
    for v, name in ((wrong, "pkce: a wrong code_verifier is invalid_grant"),
                    (verifier, "pkce: ... and the code is then burnt")):
        try:
            app.fetch_token(MD["token_endpoint"],
                            authorization_response=location,
                            include_client_id=True, code_verifier=v)
            T.check(False, name, "tokens issued")
        except InvalidGrantError:
            T.check(True, name)


def main():
    if not (CLIENT_ID and CLIENT_SECRET and PUBLIC_CLIENT_ID):
        print("E2E_CLIENT_ID, E2E_CLIENT_SECRET, E2E_PUBLIC_CLIENT_ID: "
              "run me from t/e2e/run.sh")
        return 2
    T.run("metadata", step_metadata)
    if not MD:
        return T.finish()
    T.run("confidential app", step_confidential)
    T.run("deny", step_deny)
    T.run("code replay", step_code_replay)
    T.run("client_secret_basic and state", step_basic_and_state)
    T.run("authorize errors", step_authorize_errors)
    T.run("consent Origin", step_consent_origin)
    T.run("public app with PKCE", step_public_pkce)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
