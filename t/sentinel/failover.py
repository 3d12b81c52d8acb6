#!/usr/bin/python3
# The failover under load, for t/sentinel/run.sh: 8 keep-alive clients
# send gated requests with a live token and with revoked ones while the
# primary is killed (SIGKILL), Sentinel fails over, and the old primary
# comes back as a replica.  Every answer must be 503 or the right one:
# 200 for the live token, 401 for the revoked ones (one revoked through
# the gateway just before the kill: its WAIT said a replica had it).
# Prints "ok"/"not ok" lines, the figures, and "N passed, M failed".
import base64
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

E = os.environ
gw_port = int(E['GW_PORT'])
org = E['ORG']
good, rev1, rev2 = E['GOOD'], E['REV1'], E['REV2']
p1_port, p2_port = E['P1_PORT'], E['P2_PORT']
s_ports = E['S_PORTS'].split()
p1_cmd = json.loads(E['P1_CMD'])
basic = base64.b64encode(('%s:%s' % (E['CID'], E['CSECRET'])).encode())

passed = failed = 0


def check(ok, what):
    global passed, failed
    print('%s - %s' % ('ok' if ok else 'not ok', what), flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


def cli(port, *args):
    r = subprocess.run(['redis-cli', '-p', str(port)] + list(args),
                       capture_output=True, text=True, timeout=5)
    return r.stdout.strip()


def gated(conn, token):
    conn.request('GET', '/api/v1/invoices', headers={
        'Authorization': 'Bearer ' + token, 'X-Organization-Id': org})
    r = conn.getresponse()
    r.read()
    return r.status


def revoke(token):
    c = http.client.HTTPConnection('127.0.0.1', gw_port, timeout=5)
    c.request('POST', '/oauth/revoke',
              body=urllib.parse.urlencode({'token': token}),
              headers={'Authorization': 'Basic ' + basic.decode(),
                       'Content-Type': 'application/x-www-form-urlencoded'})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


# (start, token name, status, end), appended by the clients
log = []
log_lock = threading.Lock()
stop = threading.Event()
# a revoked token must not be granted after the moment it was revoked
revoked_at = {'rev1': 0.0, 'rev2': None}


def client(n):
    conn = None
    names = [('good', good), ('rev1', rev1), ('rev2', rev2)]
    i = n
    while not stop.is_set():
        name, token = names[i % 3]
        i += 1
        t = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection('127.0.0.1', gw_port,
                                                  timeout=5)
            st = gated(conn, token)
        except (OSError, http.client.HTTPException):
            conn = None
            st = 'error'
        with log_lock:
            log.append((t, name, st, time.monotonic()))


def statuses(since, until, name):
    with log_lock:
        return [s for (t, n, s, e) in log
                if since <= t < until and n == name]


t0 = time.monotonic()
threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
for th in threads:
    th.start()

time.sleep(1.5)
st = revoke(rev2)
revoked_at['rev2'] = time.monotonic()
check(st == 200, 'the revocation just before the kill answered %s' % st)
os.kill(int(E['P1_PID']), signal.SIGKILL)
t_kill = time.monotonic()
print('# primary %s killed (SIGKILL)' % p1_port, flush=True)

# the failover: until a Sentinel names the replica and the gate serves
t_switch = t_up = None
deadline = t_kill + 25
while time.monotonic() < deadline and t_up is None:
    if t_switch is None:
        a = cli(s_ports[1], 'SENTINEL', 'get-master-addr-by-name', 'mymaster')
        if a.split() == ['127.0.0.1', p2_port]:
            t_switch = time.monotonic()
    now = time.monotonic()
    recent = statuses(now - 0.5, now, 'good')
    if t_switch and len(recent) > 20 and all(s == 200 for s in recent):
        t_up = now
    time.sleep(0.05)
check(t_switch is not None, 'Sentinel promoted the replica')
check(t_up is not None, 'the gate serves again without a reload')

# the old primary comes back, and Sentinel makes it a replica
p1 = subprocess.Popen(p1_cmd, stdin=subprocess.DEVNULL,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(E['P1_PIDFILE'], 'w') as f:
    f.write(str(p1.pid))
t_back = time.monotonic()
role = ''
while time.monotonic() < t_back + 30:
    role = cli(p1_port, 'ROLE').split('\n')[0]
    if role == 'slave':
        break
    time.sleep(0.2)
t_replica = time.monotonic()
check(role == 'slave', 'the old primary came back as a replica (%.1f s)'
      % (t_replica - t_back))
link = ''
while time.monotonic() < t_replica + 15:
    link = [l for l in cli(p1_port, 'INFO', 'replication').split('\n')
            if l.startswith('master_link_status')]
    if link == ['master_link_status:up\r'] or link == ['master_link_status:up']:
        break
    time.sleep(0.2)
time.sleep(2)
t_end = time.monotonic()
stop.set()
for th in threads:
    th.join()

good_all = statuses(t0, t_end, 'good')
bad = [s for s in good_all if s not in (200, 503)]
check(not bad, 'the live token got only 200 or 503 (%d answers; others: %s)'
      % (len(good_all), sorted(set(map(str, bad)))))
for name in ('rev1', 'rev2'):
    since = revoked_at[name]
    after = [s for (t, n, s, e) in log if n == name and t >= since]
    wrong = [s for s in after if s not in (401, 503)]
    check(after and not wrong,
          '%s, revoked, was never granted (%d answers: %s)'
          % (name, len(after), dict((str(s), after.count(s))
                                    for s in sorted(set(after), key=str))))

with log_lock:
    fails = [t for (t, n, s, e) in log if n == 'good' and s != 200]
    before = [s for (t, n, s, e) in log if n == 'good' and e < t_kill]
window = (max(fails) - min(fails)) if fails else 0.0
n503 = len(fails)
check(before and all(s == 200 for s in before),
      'answered before the kill: every live-token answer 200 (%d)'
      % len(before))
after_back = statuses(t_back, t_end, 'good')
check(after_back and all(s == 200 for s in after_back),
      'while the old primary rejoined as a replica: all 200 (%d answers)'
      % len(after_back))
check(window < 10, 'the 503s of the live token lasted %.2f s' % window)
print('# figures: %d gated requests in %.1f s; live token: %d answers, '
      '%d not 200, first to last 503 %.2f s; kill to Sentinel switch '
      '%.2f s; kill to serving again %.2f s'
      % (len(log), t_end - t0, len(good_all), n503, window,
         (t_switch or t_kill) - t_kill, (t_up or t_kill) - t_kill),
      flush=True)
print('%d passed, %d failed' % (passed, failed))
exit(1 if failed else 0)
