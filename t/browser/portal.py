"""Issue 9 in a real browser (t/browser/run.sh sets the BROWSER_*
environment; consent.py is the consent page's own run): headless Chromium
over https, the app's redirect URI on another origin.

  developer  dave signs in to the portal, creates an app (name, the
             cross-origin redirect URI, scopes, confidential), reads its
             secret once (a reload does not show it again), edits its
             name and rotates the secret (the old one stops at once)
  member     bob is only a member of Acme, whose admins alone may connect
             apps (imprest_consent_role admin): the consent page shows
             Acme as admins only and offers nothing to approve
  user       alice, admin of Acme and Beta, approves the app for both and
             lands on its callback with code and state; the token works
             in both organizations
  other      carol, admin of Beta, connects the app to Beta too
  disconnect alice disconnects the app from Acme on her connected apps
             page: the gate refuses its token there at once, Beta still
             works
  admin      alice, as Beta's admin, disconnects the app carol connected:
             carol's token stops in Beta at once

Each user is a browser of their own (a profile each), signed in with HTTP
basic auth on the issuer's /oauth/signin.  Any Content Security Policy
violation in a console fails the run.  Screenshots go to
BROWSER_ARTIFACTS.  Prints one line per check, then "N passed, M failed".
"""

import base64
import json
import os
import re
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
from selenium.common.exceptions import (NoSuchElementException,
                                        TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ENV = os.environ
ISSUER = ENV["BROWSER_ISSUER"]              # https://127.0.0.1:PORT
REDIRECT_URI = ENV["BROWSER_REDIRECT_URI"]  # https://localhost:PORT/cb
PASSWORDS = json.loads(ENV["BROWSER_PASSWORDS"])   # user -> password
ORG_ACME = ENV["BROWSER_ORG1"]
ORG_BETA = ENV["BROWSER_ORG2"]
CA_FILE = ENV["BROWSER_CA_FILE"]
ARTIFACTS = ENV["BROWSER_ARTIFACTS"]
PROFILE = ENV["BROWSER_PROFILE"]
DRIVER_PORTS = [int(p) for p in ENV["BROWSER_DRIVER_PORTS"].split(",")]
CHROMIUM = ENV.get("BROWSER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = ENV.get("BROWSER_CHROMEDRIVER", "/usr/bin/chromedriver")
PORTAL = ISSUER + "/developer"
CONNECTIONS = ISSUER + "/account/connections"

TIMEOUT = 10


def redact(text):
    for p in PASSWORDS.values():
        text = text.replace(p, "[password]")
    return text


T = Report(redact=redact)
console = []
browsers = []


def start_browser(user):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--ignore-certificate-errors",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-sync", "--disable-component-update",
                "--password-store=basic", "--disable-crash-reporter",
                "--disable-breakpad", "--remote-debugging-pipe",
                "--window-size=1100,1000",
                "--user-data-dir=" + os.path.join(PROFILE, user)):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER,
                      port=DRIVER_PORTS[len(browsers)])
    drv = webdriver.Chrome(service=service, options=opts)
    drv.set_page_load_timeout(TIMEOUT)
    browsers.append(drv)
    sign_in(drv, user)
    return drv


def sign_in(drv, user):
    """Basic auth for the issuer's realm, kept by the browser for every
    page of that realm (the portal, consent and connected apps)."""
    u = urllib.parse.urlsplit(ISSUER + "/oauth/signin")
    netloc = "%s:%s@%s" % (user, urllib.parse.quote(PASSWORDS[user],
                                                    safe=""), u.netloc)
    drv.get(urllib.parse.urlunsplit(u._replace(netloc=netloc)))
    body = drv.find_element(By.TAG_NAME, "body").text
    T.eq(body.strip(), "signed in as " + user, user + " signs in")


def csp_check(drv, tag):
    try:
        entries = drv.get_log("browser")
    except WebDriverException as e:
        T.check(False, tag + ": the console can be read", e)
        return
    console.extend(entries)
    bad = [e["message"] for e in entries
           if "Content Security Policy" in e.get("message", "")
           or "Content-Security-Policy" in e.get("message", "")]
    T.check(not bad, tag + ": no Content Security Policy violation", bad)


def shot(drv, name):
    drv.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


def body_text(drv):
    return drv.find_element(By.TAG_NAME, "body").text


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(
        u._replace(netloc=u.netloc.rpartition("@")[2], query="",
                   fragment=""))


def https(url, data=None, headers=None, method=None):
    ctx = ssl.create_default_context(cafile=CA_FILE)
    req = urllib.request.Request(url, data=data, headers=headers or {},
                                 method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=TIMEOUT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def token_request(client_id, secret, **form):
    basic = base64.b64encode(("%s:%s" % (client_id, secret)).encode())
    return https(ISSUER + "/oauth/token",
                 urllib.parse.urlencode(form).encode(),
                 {"Content-Type": "application/x-www-form-urlencoded",
                  "Authorization": "Basic " + basic.decode()})


def api(token, org):
    return https(ISSUER + "/api/v1/invoices",
                 headers={"Authorization": "Bearer " + token,
                          "X-Organization-Id": org})[0]


def submit(drv, button):
    """Clicks a submit button and waits for the next page."""
    old = drv.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(drv, TIMEOUT).until(lambda d: _stale(old))


def _stale(el):
    try:
        el.tag_name
        return False
    except WebDriverException:
        return True


# --- the developer portal ---------------------------------------------------

APP = {}


def developer_flow():
    drv = start_browser("dave")
    drv.get(PORTAL + "/")
    T.eq(path_of(drv.current_url), PORTAL + "/", "developer: My Apps opens")
    shot(drv, "portal-my-apps-empty")
    drv.get(PORTAL + "/new")
    form = drv.find_element(By.ID, "create").find_element(By.XPATH,
                                                          "./ancestor::form")
    form.find_element(By.NAME, "name").send_keys("Browser Books")
    form.find_element(By.NAME, "redirect_uris").send_keys(REDIRECT_URI)
    for box in form.find_elements(By.CSS_SELECTOR,
                                  "input[type=checkbox][name=scope]"):
        if not box.is_selected():
            box.click()
    form.find_element(By.CSS_SELECTOR,
                      "input[type=radio][value=confidential]").click()
    shot(drv, "portal-create-form")
    submit(drv, drv.find_element(By.ID, "create"))
    shot(drv, "portal-created-secret")
    csp_check(drv, "developer: create")
    page = body_text(drv)
    m = re.search(r"\bapp_[0-9a-f]{24}\b", page)
    T.check(m, "developer: the new app's client_id is shown", page[:300])
    secret_el = drv.find_element(By.ID, "secret")
    secret = secret_el.text.strip()
    T.check(secret.startswith("imp_cs_"),
            "developer: the client secret is shown once", secret[:10])
    copy = drv.find_elements(By.CSS_SELECTOR, "button[data-copy=secret]")
    T.check(copy and copy[0].is_displayed(),
            "developer: the copy button is shown (our script ran under the "
            "CSP)")
    if not m or not secret:
        return
    cid = m.group(0)
    drv.refresh()
    T.check(secret not in drv.page_source,
            "developer: the secret is not shown again on reload")
    drv.get(PORTAL + "/")
    T.check(cid in body_text(drv) and "Browser Books" in body_text(drv),
            "developer: My Apps lists the app")
    shot(drv, "portal-my-apps")

    # edit the name
    drv.get(PORTAL + "/apps/" + cid)
    form = drv.find_element(By.ID, "save").find_element(By.XPATH,
                                                        "./ancestor::form")
    name = form.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("Browser Books Pro")
    submit(drv, drv.find_element(By.ID, "save"))
    T.check("Browser Books Pro" in body_text(drv),
            "developer: the edited name is shown")
    shot(drv, "portal-edited")

    # rotate the secret: the old one stops at once
    drv.get(PORTAL + "/apps/" + cid)
    submit(drv, drv.find_element(By.ID, "rotate"))
    shot(drv, "portal-rotated")
    new_secret = drv.find_element(By.ID, "secret").text.strip()
    T.check(new_secret.startswith("imp_cs_") and new_secret != secret,
            "developer: rotation shows a new secret once")
    status, _ = token_request(cid, secret, grant_type="refresh_token",
                              refresh_token="imp_rt_" + "A" * 49)
    T.eq(status, 401, "developer: the old secret is refused at once")
    status, body = token_request(cid, new_secret, grant_type="refresh_token",
                                 refresh_token="imp_rt_" + "A" * 49)
    T.check(status == 400 and "invalid_grant" in body,
            "developer: the new secret authenticates (an unknown refresh "
            "token is then invalid_grant)", (status, body))
    csp_check(drv, "developer: edit and rotate")
    APP.update(client_id=cid, secret=new_secret)


# --- consent with roles -----------------------------------------------------

def authorize_url(state):
    return ISSUER + "/oauth/authorize?" + urllib.parse.urlencode({
        "client_id": APP["client_id"], "response_type": "code",
        "redirect_uri": REDIRECT_URI, "scope": "money_in money_out",
        "state": state})


def org_box(drv, org):
    try:
        return drv.find_element(
            By.CSS_SELECTOR, "input[type=checkbox][name=org][value='%s']"
            % org)
    except NoSuchElementException:
        return None


def member_flow():
    drv = start_browser("bob")
    drv.get(authorize_url(secrets.token_urlsafe(8)))
    shot(drv, "consent-member-not-admin")
    box = org_box(drv, ORG_ACME)
    T.check(box is not None and not box.is_enabled(),
            "member: Acme is shown but cannot be chosen")
    T.check("admins only" in body_text(drv),
            "member: it is marked admins only")
    approve = drv.find_element(By.CSS_SELECTOR,
                               "button[name=decision][value=approve]")
    T.check(not approve.is_enabled(),
            "member: there is nothing to approve")
    csp_check(drv, "member")


def connect(user, orgs, tag):
    """user approves the app for orgs; returns its access token."""
    drv = start_browser(user)
    state = secrets.token_urlsafe(12)
    drv.get(authorize_url(state))
    for org in orgs:
        box = org_box(drv, org)
        T.check(box is not None and box.is_enabled(),
                "%s: an organization the user administers is offered" % tag)
        if box is not None and not box.is_selected():
            box.click()
    shot(drv, tag + "-consent")
    drv.find_element(By.CSS_SELECTOR,
                     "button[name=decision][value=approve]").click()
    try:
        WebDriverWait(drv, TIMEOUT).until(
            lambda d: path_of(d.current_url) == REDIRECT_URI)
    except TimeoutException:
        pass
    shot(drv, tag + "-callback")
    csp_check(drv, tag + ": consent")
    T.eq(path_of(drv.current_url), REDIRECT_URI,
         tag + ": lands on the app's cross-origin callback")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(drv.current_url).query)
    T.eq(q.get("state"), [state], tag + ": with the same state")
    code = q.get("code", [""])[0]
    T.check(code, tag + ": with a code")
    status, body = token_request(APP["client_id"], APP["secret"],
                                 grant_type="authorization_code", code=code,
                                 redirect_uri=REDIRECT_URI)
    T.eq(status, 200, tag + ": the code is exchanged")
    token = json.loads(body).get("access_token", "") if status == 200 else ""
    for org in orgs:
        T.eq(api(token, org), 200, tag + ": the token works in " + org)
    return drv, token


def user_flows():
    alice, t_alice = connect("alice", [ORG_ACME, ORG_BETA], "user")
    carol, t_carol = connect("carol", [ORG_BETA], "other")

    # alice ends the app's access to Acme on her connected apps page
    alice.get(CONNECTIONS + "/")
    shot(alice, "connections-before")
    row = alice.find_element(
        By.CSS_SELECTOR, "section.app[data-client='%s'] tr[data-org='%s']"
        % (APP["client_id"], ORG_ACME))
    T.check("Acme" in row.text and "money_in" in row.text,
            "disconnect: the page shows Acme with the scopes", row.text)
    submit(alice, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    shot(alice, "connections-after")
    T.check("Disconnected" in body_text(alice),
            "disconnect: the page confirms")
    csp_check(alice, "disconnect")
    T.eq(api(t_alice, ORG_ACME), 403,
         "disconnect: the gate refuses the token in Acme at once")
    T.eq(api(t_alice, ORG_BETA), 200, "disconnect: Beta still works")

    # alice, Beta's admin, ends the app carol connected to Beta
    T.eq(api(t_carol, ORG_BETA), 200, "admin: carol's token works in Beta")
    alice.get(CONNECTIONS + "/")
    link = alice.find_element(By.CSS_SELECTOR,
                              "a[href$='/org/%s']" % ORG_BETA)
    submit(alice, link)
    shot(alice, "admin-view")
    T.check("carol" in body_text(alice),
            "admin: the admin view shows the app carol connected")
    section = alice.find_element(By.CSS_SELECTOR,
                                 "section.app[data-client='%s']"
                                 % APP["client_id"])
    submit(alice, section.find_element(By.CSS_SELECTOR,
                                       "button[type=submit]"))
    shot(alice, "admin-after")
    csp_check(alice, "admin")
    # Beta was all that either grant had left: both grants end (401)
    T.eq(api(t_carol, ORG_BETA), 401,
         "admin: carol's token is refused in Beta at once (her grant, "
         "left with no organization, ended)")
    T.eq(api(t_alice, ORG_BETA), 401,
         "admin: and so is alice's own (the app left Beta for everyone)")
    alice.get(CONNECTIONS + "/")
    T.check(APP["client_id"] not in alice.page_source,
            "admin: alice's own page no longer lists the app")


def main():
    try:
        for name, fn in (("developer", developer_flow),
                         ("member", member_flow),
                         ("user", user_flows)):
            if name != "developer" and not APP:
                T.check(False, name + ": needs the app the developer made")
                continue
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported
                T.check(False, name + " raised " + type(e).__name__, e)
                traceback.print_exc(file=sys.stdout)
                for i, d in enumerate(browsers):
                    try:
                        shot(d, "%s-error-%d" % (name, i))
                    except Exception:  # noqa: BLE001
                        pass
    finally:
        for d in browsers:
            try:
                csp_check(d, "at the end")
                d.quit()
            except Exception:  # noqa: BLE001
                pass
    with open(os.path.join(ARTIFACTS, "portal-console.log"), "w") as f:
        for e in console:
            f.write(redact("%s %s %s\n" % (e.get("timestamp"),
                                           e.get("level"), e.get("message"))))
    print("%d passed, %d failed" % (T.passed, T.failed), flush=True)
    return 0 if T.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
