"""Shared pieces of the end-to-end tests (t/e2e/run.sh sets the E2E_*
environment): the report (one line per check, then "N passed, M failed"),
the signed-in user's browser, and the consent page driven like a person
would, through its HTML form."""

import os
import sys
import traceback
import urllib.parse
from html.parser import HTMLParser

import requests

BASE = os.environ.get("E2E_BASE", "http://127.0.0.1:29951")
USER = os.environ.get("E2E_USER", "alice")
PASSWORD = os.environ.get("E2E_PASSWORD", "")
ORG1 = os.environ.get("E2E_ORG1", "3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b")
ORG2 = os.environ.get("E2E_ORG2", "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
OTHER_ORG = os.environ.get("E2E_OTHER_ORG",
                           "a1b2c3d4-e5f6-4789-abcd-ef0123456789")
CLIENT_ID = os.environ.get("E2E_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("E2E_CLIENT_SECRET", "")
REDIRECT_URI = os.environ.get("E2E_REDIRECT_URI", "https://app.example/cb")
PUBLIC_CLIENT_ID = os.environ.get("E2E_PUBLIC_CLIENT_ID", "")
PUBLIC_REDIRECT_URI = os.environ.get("E2E_PUBLIC_REDIRECT_URI",
                                     "https://public.example/cb")

TIMEOUT = 10


class Report:
    """redact: applied to every detail printed (a secret must not reach
    a log the test keeps)."""

    def __init__(self, redact=str):
        self.passed = 0
        self.failed = 0
        self.redact = redact

    def check(self, ok, name, detail=None):
        if ok:
            self.passed += 1
            print("ok - " + name, flush=True)
        else:
            self.failed += 1
            line = "not ok - " + name
            if detail is not None:
                line += ": " + self.redact(str(detail))
            print(line, flush=True)
        return bool(ok)

    def eq(self, got, want, name):
        return self.check(got == want, name,
                          "got %r, want %r" % (got, want))

    def run(self, name, fn, *args):
        """Runs one flow; an unexpected exception fails it and the run
        goes on with the next flow."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            self.check(False, name + " raised " + type(e).__name__, e)
            traceback.print_exc(file=sys.stdout)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed),
              flush=True)
        return 1 if self.failed or not self.passed else 0


def metadata():
    r = requests.get(BASE + "/.well-known/oauth-authorization-server",
                     timeout=TIMEOUT)
    r.raise_for_status()
    return r.json()


def browser():
    """The user's browser: signed in (HTTP Basic in this set-up)."""
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    return s


class FormParser(HTMLParser):
    """Collects every <form>, its inputs and its submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"),
                               "method": (a.get("method") or "get").lower(),
                               "hidden": {}, "checkboxes": [],
                               "buttons": []})
        elif not self.forms:
            return
        elif tag == "input":
            t = (a.get("type") or "text").lower()
            f = self.forms[-1]
            if t == "hidden":
                f["hidden"][a.get("name")] = a.get("value") or ""
            elif t == "checkbox":
                f["checkboxes"].append({"name": a.get("name"),
                                        "value": a.get("value"),
                                        "checked": "checked" in a})
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            self.forms[-1]["buttons"].append((a.get("name"), a.get("value")))


def consent_form(page):
    p = FormParser()
    p.feed(page)
    p.close()
    if len(p.forms) != 1:
        raise AssertionError("the consent page has %d forms" % len(p.forms))
    return p.forms[0]


def submit_consent(brw, page_url, form, orgs, decision="approve"):
    """Submits the consent form as the browser would: the form's hidden
    fields, the chosen organizations' checkboxes, the pressed button.
    The 303 is not followed (it goes to the app).  Returns the response."""
    data = list(form["hidden"].items())
    data += [("org", o) for o in orgs]
    data.append(("decision", decision))
    action = urllib.parse.urljoin(page_url, form["action"] or page_url)
    return brw.post(action, data=data, allow_redirects=False,
                    timeout=TIMEOUT)


def query(url):
    """The query of a redirect URI as a dict of single values."""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query,
                              keep_blank_values=True)
    return {k: v[0] if len(v) == 1 else v for k, v in q.items()}


def approve(authorization_url, orgs, brw=None):
    """Opens the consent page at authorization_url as the signed-in user
    and approves it for orgs.  Returns the Location it redirects to."""
    brw = brw or browser()
    page = brw.get(authorization_url, timeout=TIMEOUT)
    if page.status_code != 200:
        raise AssertionError("consent page: %d %s"
                             % (page.status_code, page.text[:200]))
    form = consent_form(page.text)
    r = submit_consent(brw, page.url, form, orgs)
    if r.status_code != 303:
        raise AssertionError("consent approval: %d %s"
                             % (r.status_code, r.text[:200]))
    return r.headers["Location"]
