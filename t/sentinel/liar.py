#!/usr/bin/python3
# A Sentinel that lies, for t/sentinel/run.sh: it answers
# "SENTINEL get-master-addr-by-name" with whatever "HOST PORT" the file
# ANSWER holds at that moment (the test points it at a replica on
# purpose), accepts AUTH, PING and SUBSCRIBE like a Sentinel, and never
# publishes anything.  A real Sentinel cannot be made to name a replica;
# the real ones are tested in the same run.
#   liar.py PORT ANSWER
import socket
import sys
import threading

port, answer = int(sys.argv[1]), sys.argv[2]


def bulk(s):
    b = s.encode()
    return b'$%d\r\n%s\r\n' % (len(b), b)


def read_command(f):
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b'*'):
        return line.split()
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2])
    return args


def serve(conn):
    f = conn.makefile('rb')
    try:
        while True:
            args = read_command(f)
            if args is None:
                return
            cmd = args[0].upper() if args else b''
            if cmd == b'AUTH' or cmd == b'PING':
                conn.sendall(b'+OK\r\n' if cmd == b'AUTH' else b'+PONG\r\n')
            elif cmd == b'SENTINEL':
                with open(answer) as a:
                    host, p = a.read().split()
                conn.sendall(b'*2\r\n' + bulk(host) + bulk(p))
            elif cmd == b'SUBSCRIBE':
                for ch in args[1:]:
                    conn.sendall(b'*3\r\n' + bulk('subscribe')
                                 + bulk(ch.decode()) + b':1\r\n')
            else:
                conn.sendall(b'-ERR unknown command\r\n')
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
