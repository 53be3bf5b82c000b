#!/usr/bin/python3
# tarpit.py PORT LOG - accept TCP connections on 127.0.0.1:PORT and never
# answer (an SMTP server that hangs); one line per accepted connection
# in LOG.  For test_probe_limit.sh.
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        c, a = s.accept()
        held.append(c)
        log.write("accepted %s:%d\n" % a)
