"""A real browser through the developer guide's step 2 (t/browser/run.sh
sets the BROWSER_* environment): headless Chromium signs in (HTTP basic
auth on the issuer's /oauth/signin, the test's stand-in for Imprest's
sign-in), opens the consent page of an https issuer, presses Approve and
must land on the app's redirect URI, on another origin, with `code`, the
same `state` and `iss`; the code is then exchanged at /oauth/token and the
token used on a gated API path.  Deny must land there with
error=access_denied and the same `state`.  Any Content Security Policy
violation in the browser's console fails the run.  Prints one line per
check, then "N passed, M failed"."""

import base64
import json
import os
import secrets
import ssl
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from e2elib import Report  # noqa: E402 - after its directory is known

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ENV = os.environ
ISSUER = ENV["BROWSER_ISSUER"]              # https://127.0.0.1:PORT
REDIRECT_URI = ENV["BROWSER_REDIRECT_URI"]  # https://localhost:PORT/cb
CLIENT_ID = ENV["BROWSER_CLIENT_ID"]
CLIENT_SECRET = ENV["BROWSER_CLIENT_SECRET"]
USER = ENV["BROWSER_USER"]
PASSWORD = ENV["BROWSER_PASSWORD"]
ORG1 = ENV["BROWSER_ORG1"]
CA_FILE = ENV["BROWSER_CA_FILE"]
ARTIFACTS = ENV["BROWSER_ARTIFACTS"]
PROFILE = ENV["BROWSER_PROFILE"]
DRIVER_PORT = int(ENV["BROWSER_DRIVER_PORT"])
CHROMIUM = ENV.get("BROWSER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = ENV.get("BROWSER_CHROMEDRIVER", "/usr/bin/chromedriver")

TIMEOUT = 10


def redact(text):
    """What we print or keep never holds the user's password."""
    return text.replace(PASSWORD, "[password]") if PASSWORD else text


T = Report(redact=redact)
console = []          # every browser console entry of the run


def start_browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new",
                "--no-sandbox",              # we may be root
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--ignore-certificate-errors",   # the test's own cert
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-sync",
                "--disable-component-update",
                "--password-store=basic",
                "--disable-crash-reporter",  # crashpad: a session of its own
                "--disable-breakpad",
                # DevTools over a pipe: no TCP port of its own
                "--remote-debugging-pipe",
                "--window-size=1024,900",
                "--user-data-dir=" + PROFILE):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, port=DRIVER_PORT)
    drv = webdriver.Chrome(service=service, options=opts)
    drv.set_page_load_timeout(TIMEOUT)
    return drv


def drain_console(drv):
    try:
        entries = drv.get_log("browser")
    except WebDriverException as e:
        T.check(False, "the browser's console log can be read", e)
        return []
    console.extend(entries)
    return entries


def csp_violations(entries):
    return [e["message"] for e in entries
            if "Content Security Policy" in e.get("message", "")
            or "Content-Security-Policy" in e.get("message", "")]


def shot(drv, name):
    path = os.path.join(ARTIFACTS, name)
    drv.save_screenshot(path)
    return path


def authorize_url(state):
    q = urllib.parse.urlencode({
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "money_in money_out",
        "state": state,
    })
    return ISSUER + "/oauth/authorize?" + q


def sign_in(drv):
    """Opens the sign-in page with the user's credentials in the URL:
    Chromium answers the basic-auth challenge with them and keeps them for
    the realm, so the consent page and its form's POST (same realm, no
    credentials in their URLs) are signed in too."""
    u = urllib.parse.urlsplit(ISSUER + "/oauth/signin")
    netloc = "%s:%s@%s" % (urllib.parse.quote(USER, safe=""),
                           urllib.parse.quote(PASSWORD, safe=""), u.netloc)
    drv.get(urllib.parse.urlunsplit(u._replace(netloc=netloc)))
    body = drv.find_element(By.TAG_NAME, "body").text
    T.eq(body.strip(), "signed in as " + USER, "the user signs in")


def query_of(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query,
                                 keep_blank_values=True)


def without_query(url):
    """scheme://host:port/path of a URL: no query (a code), no
    credentials (the signed-in URL's password)."""
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(
        u._replace(netloc=u.netloc.rpartition("@")[2], query="", fragment=""))


def on_redirect_uri(drv):
    return without_query(drv.current_url) == REDIRECT_URI


def consent(drv, decision, state, tag):
    """Opens the consent page signed in, presses the button of
    `decision`; returns the URL the browser lands on (None: it stayed)."""
    drv.get(authorize_url(state))
    T.eq(without_query(drv.current_url), ISSUER + "/oauth/authorize",
         tag + ": the consent page is served by the issuer")
    body = drv.find_element(By.TAG_NAME, "body").text
    T.check("Signed in as " + USER in body,
            tag + ": the consent page knows the signed-in user", body[:200])
    boxes = drv.find_elements(By.CSS_SELECTOR,
                              'input[type=checkbox][name=org]')
    T.check(any(b.get_attribute("value") == ORG1 for b in boxes),
            tag + ": the consent page offers the user's organization")
    for b in boxes:
        if b.get_attribute("value") == ORG1 and not b.is_selected():
            b.click()
    shot(drv, tag + "-consent.png")
    drv.find_element(By.CSS_SELECTOR,
                     'button[name=decision][value=%s]' % decision).click()
    try:
        WebDriverWait(drv, TIMEOUT).until(on_redirect_uri)
    except TimeoutException:
        pass
    landed = on_redirect_uri(drv)
    shot(drv, tag + "-landing.png")
    entries = drain_console(drv)
    violations = csp_violations(entries)
    T.check(not violations,
            tag + ": no Content Security Policy violation in the console",
            violations)
    T.check(landed, tag + ": the browser lands on the app's redirect URI "
            "(another origin)", "stayed on " + without_query(drv.current_url))
    return drv.current_url if landed else None


def https_request(url, data=None, headers=None):
    ctx = ssl.create_default_context(cafile=CA_FILE)
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=TIMEOUT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def approve_flow(drv):
    state = secrets.token_urlsafe(12)
    url = consent(drv, "approve", state, "approve")
    if url is None:
        return
    q = query_of(url)
    T.check(len(q.get("code", [""])[0]) > 0,
            "approve: the redirect carries a code", sorted(q))
    T.eq(q.get("state"), [state], "approve: the redirect carries the same state")
    T.eq(q.get("iss"), [ISSUER], "approve: the redirect names the issuer (iss)")
    T.check("error" not in q, "approve: the redirect carries no error", q)
    if "code" not in q:
        return

    form = urllib.parse.urlencode({
        "grant_type": "authorization_code",
        "code": q["code"][0],
        "redirect_uri": REDIRECT_URI,
    }).encode()
    basic = base64.b64encode(("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode())
    status, body = https_request(
        ISSUER + "/oauth/token", form,
        {"Content-Type": "application/x-www-form-urlencoded",
         "Authorization": "Basic " + basic.decode()})
    T.eq(status, 200, "approve: the code is exchanged at /oauth/token")
    try:
        tokens = json.loads(body)
    except ValueError:
        tokens = {}
    T.eq(tokens.get("token_type"), "Bearer", "approve: a Bearer token")
    token = tokens.get("access_token", "")
    if not token:
        return

    status, body = https_request(
        ISSUER + "/api/v1/invoices",
        headers={"Authorization": "Bearer " + token,
                 "X-Organization-Id": ORG1})
    T.eq(status, 200, "approve: the token opens the gated /api/v1/invoices")
    try:
        seen = json.loads(body)
    except ValueError:
        seen = {}
    T.eq((seen.get("user_id"), seen.get("client_id"),
          seen.get("organization_id")), (USER, CLIENT_ID, ORG1),
         "approve: the upstream sees the user, the app and the organization")


def deny_flow(drv):
    state = secrets.token_urlsafe(12)
    url = consent(drv, "deny", state, "deny")
    if url is None:
        return
    q = query_of(url)
    T.eq(q.get("error"), ["access_denied"],
         "deny: the redirect says error=access_denied")
    T.eq(q.get("state"), [state], "deny: the redirect carries the same state")
    T.check("code" not in q, "deny: the redirect carries no code", sorted(q))


def main():
    drv = None
    try:
        drv = start_browser()
        sign_in(drv)
        for name, fn in (("approve", approve_flow), ("deny", deny_flow)):
            try:
                fn(drv)
            except Exception as e:  # noqa: BLE001 - reported, not swallowed
                T.check(False, name + " raised " + type(e).__name__, e)
                traceback.print_exc(file=sys.stdout)
                try:
                    shot(drv, name + "-error.png")
                except Exception:  # noqa: BLE001
                    pass
    except Exception as e:  # noqa: BLE001
        T.check(False, "the browser starts", e)
        traceback.print_exc(file=sys.stdout)
    finally:
        if drv is not None:
            rest = csp_violations(drain_console(drv))
            T.check(not rest, "no Content Security Policy violation in the "
                    "console after the flows either", rest)
            drv.quit()
    with open(os.path.join(ARTIFACTS, "console.log"), "w") as f:
        for e in console:
            f.write(redact("%s %s %s\n" % (e.get("timestamp"),
                                           e.get("level"), e.get("message"))))
    print("%d passed, %d failed" % (T.passed, T.failed), flush=True)
    return 0 if T.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
