"""The gate, the consent page and the token endpoint over HTTP/2 (TLS,
ALPN h2), with Debian's python3-h2 driving the frames, so that streams can
be multiplexed, reset (RST_STREAM) and abandoned at will.  Run by
t/e2e/http2.sh, which sets the H2_* environment; prints one line per check
and "N passed, M failed".

Redis is made slow with CLIENT PAUSE (every command of every client
waits), so that requests are provably pending on their Redis reply when
the client resets their stream or closes the connection; the connection,
the worker and later requests must be unharmed.  At the end Redis is
killed, with requests pending, and every endpoint must answer 503."""

import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.errors
import h2.events

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Report, consent_form, query  # noqa: E402

PORT = int(os.environ["H2_PORT"])
CERT = os.environ["H2_CERT"]
AUTHORITY = "127.0.0.1:%d" % PORT
REDIS_PORT = os.environ["H2_REDIS_PORT"]
REDIS_PID = int(os.environ["H2_REDIS_PID"])
USER = os.environ["H2_USER"]
PASSWORD = os.environ["H2_PASSWORD"]
ORG = os.environ["H2_ORG"]
OTHER_ORG = os.environ["H2_OTHER_ORG"]
CLIENT_ID = os.environ["H2_CLIENT_ID"]
CLIENT_SECRET = os.environ["H2_CLIENT_SECRET"]
REDIRECT_URI = os.environ["H2_REDIRECT_URI"]
TOKEN = os.environ["H2_TOKEN"]
TOKEN_NO_SCOPE = os.environ["H2_TOKEN_NO_SCOPE"]
PAUSE_MS = 2000

SECRETS = [PASSWORD, CLIENT_SECRET, TOKEN, TOKEN_NO_SCOPE]


def redact(s):
    for x in SECRETS:
        if x:
            s = s.replace(x, "<secret>")
    return s


T = Report(redact)


def well_formed(kind):
    """A token of the module's format (prefix, 256 random bits, checksum)
    that no record has: it passes the in-memory checks and needs Redis."""
    head = "imp_%s_" % kind + base64.urlsafe_b64encode(
        os.urandom(32)).decode().rstrip("=")
    tail = base64.urlsafe_b64encode(
        hashlib.sha256(head.encode()).digest()[:4]).decode().rstrip("=")
    return head + tail


def redis(*args):
    return subprocess.run(["redis-cli", "-p", REDIS_PORT] + list(args),
                          capture_output=True, text=True, timeout=10).stdout


class H2:
    """One HTTP/2 connection over TLS; streams answered as they come."""

    def __init__(self):
        ctx = ssl.create_default_context(cafile=CERT)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.alpn = self.sock.selected_alpn_protocol()
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.streams = {}
        self.closed = None
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send(self, method, path, headers=(), body=None, end=True,
             length=True):
        sid = self.conn.get_next_available_stream_id()
        hs = [(":method", method), (":scheme", "https"),
              (":authority", AUTHORITY), (":path", path)] + list(headers)
        if body is not None and length:
            hs.append(("content-length", str(len(body))))
        self.conn.send_headers(sid, hs, end_stream=body is None and end)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end)
        self.streams[sid] = {"status": None, "headers": {}, "body": b"",
                             "ended": False, "reset": None}
        self.flush()
        return sid

    def data(self, sid, body, end=True):
        self.conn.send_data(sid, body, end_stream=end)
        self.flush()

    def reset(self, sid):
        self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        self.flush()

    def close(self):
        self.sock.close()

    def pump(self, done, timeout):
        """Reads frames until done() or timeout seconds; returns done()."""
        deadline = time.time() + timeout
        while not done():
            left = deadline - time.time()
            if left <= 0 or self.closed:
                return done()
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return done()
            if not data:
                self.closed = "EOF"
                return done()
            for ev in self.conn.receive_data(data):
                st = self.streams.get(getattr(ev, "stream_id", None))
                if isinstance(ev, h2.events.ResponseReceived) and st:
                    st["headers"] = dict(ev.headers)
                    st["status"] = int(st["headers"][":status"])
                elif isinstance(ev, h2.events.DataReceived):
                    if st:
                        st["body"] += ev.data
                    self.conn.acknowledge_received_data(
                        ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and st:
                    st["ended"] = True
                elif isinstance(ev, h2.events.StreamReset) and st:
                    st["reset"] = ev.error_code
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    self.closed = "GOAWAY %s" % ev.error_code
            self.flush()
        return True

    def ended(self, *sids):
        return lambda: all(self.streams[s]["ended"] or self.streams[s]["reset"]
                           for s in sids)

    def wait(self, sid, timeout=10):
        self.pump(self.ended(sid), timeout)
        return self.streams[sid]

    def json(self, sid):
        try:
            return json.loads(self.streams[sid]["body"])
        except ValueError:
            return None


def bearer(tok, org=ORG, extra=()):
    hs = [("authorization", "Bearer " + tok)] if tok else []
    if org:
        hs.append(("x-organization-id", org))
    return hs + list(extra)


BASIC = [("authorization", "Basic " + base64.b64encode(
    ("%s:%s" % (USER, PASSWORD)).encode()).decode())]
FORM = [("content-type", "application/x-www-form-urlencoded")]


def authorize_path(state):
    return "/oauth/authorize?" + urllib.parse.urlencode({
        "client_id": CLIENT_ID, "response_type": "code",
        "redirect_uri": REDIRECT_URI, "scope": "money_in money_out",
        "state": state})


def refresh_body(rt):
    return urllib.parse.urlencode({
        "grant_type": "refresh_token", "refresh_token": rt,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).encode()


def gate_statuses():
    """Every answer of the gate, as concurrent streams of one connection."""
    c = H2()
    T.eq(c.alpn, "h2", "ALPN: h2 negotiated")
    cases = [
        ("valid token", bearer(TOKEN, extra=[("x-imprest-user-id", "mallory")]),
         200, None),
        ("no token", bearer(None), 401, None),
        ("malformed token", bearer("imp_at_nonsense"), 401, "invalid_token"),
        ("unknown token", bearer(well_formed("at")), 401, "invalid_token"),
        ("organization not granted", bearer(TOKEN, OTHER_ORG), 403,
         "access_denied"),
        ("scope missing", bearer(TOKEN_NO_SCOPE), 403, "insufficient_scope"),
        ("organization header missing", bearer(TOKEN, None), 400,
         "invalid_request"),
        ("organization header twice", bearer(TOKEN, extra=[
            ("x-organization-id", ORG)]), 400, "invalid_request"),
    ]
    sids = [c.send("GET", "/api/v1/invoices/42", hs) for _, hs, _, _ in cases]
    c.pump(c.ended(*sids), 10)
    for (what, _, want, err), sid in zip(cases, sids):
        st = c.streams[sid]
        T.eq(st["status"], want, "gate over h2, %s: %d" % (what, want))
        if err:
            T.eq((c.json(sid) or {}).get("error"), err,
                 "gate over h2, %s: error %s" % (what, err))
    st = c.streams[sids[0]]
    up = c.json(sids[0]) or {}
    T.eq(up.get("user_id"), USER,
         "gate over h2: the upstream got the token's user, not the client's")
    T.eq(up.get("authorization_seen"), "",
         "gate over h2: the token did not reach the upstream")
    T.check(c.streams[sids[1]]["headers"].get("www-authenticate", "")
            .startswith("Bearer realm="),
            "gate over h2, no token: WWW-Authenticate Bearer")
    T.check('scope="money_in"' in c.streams[sids[5]]["headers"]
            .get("www-authenticate", ""),
            "gate over h2, scope missing: scope=\"money_in\" in the challenge")
    sid = c.send("GET", "/api/v1/me/organizations", bearer(TOKEN, None))
    st = c.wait(sid)
    T.check(st["status"] == 200 and [o["id"] for o in
            (c.json(sid) or {}).get("organizations", [])] == [ORG],
            "organizations over h2: 200, the granted organization",
            st["status"])
    c.close()


def consent_and_token():
    """The guide's flow over h2: consent page, approval, code exchange
    (the body in two DATA frames, no content-length), the API call, a
    refresh, a bad secret, a revocation."""
    c = H2()
    sid = c.send("GET", authorize_path("h2-state-1"), BASIC)
    st = c.wait(sid)
    T.eq(st["status"], 200, "consent page over h2: 200")
    T.check(st["headers"].get("content-type", "").startswith("text/html"),
            "consent page over h2: text/html")
    T.check("content-security-policy" in st["headers"],
            "consent page over h2: a Content-Security-Policy")
    form = consent_form(st["body"].decode())
    data = list(form["hidden"].items()) + [("org", ORG),
                                           ("decision", "approve")]
    sid = c.send("POST", "/oauth/authorize", BASIC + FORM,
                 urllib.parse.urlencode(data).encode())
    st = c.wait(sid)
    T.eq(st["status"], 303, "consent approval over h2: 303")
    loc = st["headers"].get("location", "")
    q = query(loc)
    T.check(loc.startswith(REDIRECT_URI + "?") and q.get("code", "")
            .startswith("imp_ac_") and q.get("state") == "h2-state-1"
            and q.get("iss") == "https://" + AUTHORITY,
            "consent approval over h2: code, state and iss to the app",
            loc.split("code=")[0])

    body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": q.get("code", ""),
        "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).encode()
    sid = c.send("POST", "/oauth/token", FORM, body[:20], end=False,
                 length=False)
    c.pump(lambda: False, 0.2)
    c.data(sid, body[20:])
    st = c.wait(sid)
    tok = c.json(sid) or {}
    T.eq(st["status"], 200, "token over h2 (body in two DATA frames, no "
         "content-length): 200")
    T.check(tok.get("access_token", "").startswith("imp_at_")
            and tok.get("refresh_token", "").startswith("imp_rt_")
            and tok.get("token_type") == "Bearer",
            "token over h2: access and refresh tokens", sorted(tok))
    T.check("no-store" in st["headers"].get("cache-control", ""),
            "token over h2: Cache-Control no-store")
    SECRETS.extend([tok.get("access_token"), tok.get("refresh_token")])

    sid = c.send("GET", "/api/v1/invoices", bearer(tok.get("access_token")))
    T.eq(c.wait(sid)["status"], 200, "the new token over h2: gate 200")

    sid = c.send("POST", "/oauth/token", FORM,
                 refresh_body(tok.get("refresh_token", "")))
    st = c.wait(sid)
    new = c.json(sid) or {}
    T.check(st["status"] == 200 and new.get("refresh_token", "") not in
            ("", tok.get("refresh_token")),
            "refresh over h2: 200, a new refresh token", st["status"])
    SECRETS.extend([new.get("access_token"), new.get("refresh_token")])

    bad = urllib.parse.urlencode({
        "grant_type": "refresh_token", "refresh_token": new.get(
            "refresh_token", ""), "client_id": CLIENT_ID,
        "client_secret": "imp_cs_wrong"}).encode()
    sid = c.send("POST", "/oauth/token", FORM, bad)
    st = c.wait(sid)
    T.check(st["status"] == 401 and (c.json(sid) or {}).get("error")
            == "invalid_client", "token over h2, wrong secret: 401 "
            "invalid_client", st["status"])

    sid = c.send("POST", "/oauth/revoke", FORM, urllib.parse.urlencode({
        "token": new.get("access_token", ""), "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).encode())
    T.eq(c.wait(sid)["status"], 200, "revoke over h2: 200")
    sid = c.send("GET", "/api/v1/invoices", bearer(new.get("access_token")))
    T.eq(c.wait(sid)["status"], 401, "the revoked token over h2: gate 401")
    c.close()


def pending_requests(c, tag):
    """A gated call, the consent page and a token request, all of which
    need Redis: streams on connection c.  Returns their ids."""
    return [
        c.send("GET", "/api/v1/invoices/" + tag, bearer(TOKEN)),
        c.send("GET", authorize_path("h2-" + tag), BASIC),
        c.send("POST", "/oauth/token", FORM, refresh_body(well_formed("rt"))),
    ]


def reset_while_pending():
    """RST_STREAM on streams whose Redis replies are pending: the same
    connection goes on serving, at once for what needs no Redis, and once
    Redis answers for what does; the late replies touch nothing freed."""
    c = H2()
    sid = c.send("GET", "/api/v1/invoices", bearer(TOKEN))
    T.eq(c.wait(sid)["status"], 200, "before the pause: gate 200")

    t0 = time.time()
    T.eq(redis("CLIENT", "PAUSE", str(PAUSE_MS), "ALL").strip(), "OK",
         "Redis paused for %d ms" % PAUSE_MS)
    sids = pending_requests(c, "reset")
    c.pump(lambda: False, 0.4)
    T.check(not any(c.streams[s]["status"] for s in sids),
            "paused Redis: the gate, consent and token streams are pending",
            [c.streams[s]["status"] for s in sids])
    for s in sids:
        c.reset(s)
    # a token request with its body half sent, reset too (no Redis yet)
    half = c.send("POST", "/oauth/token", FORM, b"grant_type=refr",
                  end=False, length=False)
    c.reset(half)

    sid = c.send("GET", "/health")
    st = c.wait(sid, 1)
    T.check(st["status"] == 200 and time.time() - t0 < PAUSE_MS / 1000.0,
            "after the resets, while Redis is paused: the same connection "
            "serves /health at once", (st["status"], time.time() - t0))
    sid = c.send("GET", "/api/v1/invoices", bearer(TOKEN))
    st = c.wait(sid, 10)
    T.check(st["status"] == 200 and time.time() - t0 >= PAUSE_MS / 1000.0
            - 0.1, "after the resets: a gated stream on the same "
            "connection gets 200 once Redis answers",
            (st["status"], round(time.time() - t0, 2)))
    c.pump(lambda: False, 0.3)
    T.check(all(c.streams[s]["status"] is None for s in sids + [half]),
            "the reset streams got no response")
    T.check(c.closed is None, "the connection stayed open", c.closed)
    sid = c.send("POST", "/oauth/token", FORM, refresh_body(well_formed("rt")))
    st = c.wait(sid)
    T.check(st["status"] == 400 and (c.json(sid) or {}).get("error")
            == "invalid_grant", "the token endpoint on the same connection "
            "still answers (unknown refresh token: 400 invalid_grant)",
            st["status"])
    c.close()


def reset_race():
    """300 streams, every other one reset right after its HEADERS (Redis
    not paused: the reset races the lookup's reply, on either side of
    it), then the connection must answer a gated stream."""
    c = H2()
    kept = []
    for i in range(300):
        sid = c.send("GET", "/api/v1/invoices/race%d" % i, bearer(TOKEN))
        if i % 2:
            c.reset(sid)
        else:
            kept.append(sid)
        if i % 50 == 49:
            c.pump(c.ended(*kept), 10)
    c.pump(c.ended(*kept), 10)
    T.eq(sum(c.streams[s]["status"] == 200 for s in kept), len(kept),
         "reset race: the %d streams not reset got 200" % len(kept))
    sid = c.send("GET", "/api/v1/invoices", bearer(TOKEN))
    T.eq(c.wait(sid)["status"], 200,
         "reset race: the connection then serves a gated stream")
    c.close()


def close_while_pending():
    """The whole connection closed with 30 streams pending on Redis (10
    of each kind), then fresh connections: every worker still answers."""
    redis("CLIENT", "PAUSE", str(PAUSE_MS), "ALL")
    c = H2()
    for i in range(10):
        pending_requests(c, "close%d" % i)
    c.pump(lambda: False, 0.3)
    c.close()
    time.sleep(PAUSE_MS / 1000.0)
    ok = 0
    for i in range(4):
        d = H2()
        sids = [d.send("GET", "/api/v1/invoices", bearer(TOKEN)),
                d.send("GET", authorize_path("after%d" % i), BASIC)]
        d.pump(d.ended(*sids), 10)
        ok += all(d.streams[s]["status"] == 200 for s in sids)
        d.close()
    T.eq(ok, 4, "after a connection closed with 30 requests pending: 4 new "
         "connections get 200 from the gate and the consent page")


def redis_down():
    """Redis killed with requests pending (paused), then down: 503 from
    the gate (with Retry-After), the consent page and the token endpoint."""
    c = H2()
    redis("CLIENT", "PAUSE", "5000", "ALL")
    sids = pending_requests(c, "down")
    c.pump(lambda: False, 0.3)
    os.kill(REDIS_PID, signal.SIGKILL)
    c.pump(c.ended(*sids), 5)
    T.eq([c.streams[s]["status"] for s in sids], [503, 503, 503],
         "Redis killed under pending streams: gate, consent page, token "
         "endpoint 503")
    time.sleep(0.3)
    sids = pending_requests(c, "down2")
    c.pump(c.ended(*sids), 5)
    T.eq([c.streams[s]["status"] for s in sids], [503, 503, 503],
         "Redis down: gate, consent page, token endpoint 503")
    st = c.streams[sids[0]]
    T.check(st["headers"].get("retry-after") and (c.json(sids[0]) or {})
            .get("error") == "temporarily_unavailable",
            "Redis down, gate over h2: Retry-After, temporarily_unavailable",
            st["headers"])
    T.eq((c.json(sids[2]) or {}).get("error"), "temporarily_unavailable",
         "Redis down, token endpoint over h2: temporarily_unavailable")
    sid = c.send("GET", "/health")
    T.eq(c.wait(sid)["status"], 200, "Redis down: /health still 200")
    c.close()


T.run("gate", gate_statuses)
T.run("consent and token", consent_and_token)
T.run("reset while pending", reset_while_pending)
T.run("reset race", reset_race)
T.run("close while pending", close_while_pending)
T.run("redis down", redis_down)
sys.exit(T.finish())
