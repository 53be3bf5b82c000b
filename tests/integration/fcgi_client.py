#!/usr/bin/python3
# fcgi_client.py SOCKET METHOD URI [NAME=VALUE...] - one FastCGI request
# straight to mxfeed-fcgi's unix socket, as any local process could
# send it (no nginx in between).  The body, if any, is read from stdin
# when CONTENT_LENGTH is not given.  Prints the response (headers and
# body) and exits 0; exits 3 when the service closed the connection
# without an answer, 4 when it could not connect.  Standard library
# only: the tests run it as another user (setpriv) to check the peer.
import socket
import struct
import sys


def record(rtype, content, req_id=1):
    out = b""
    while True:
        chunk, content = content[:65535], content[65535:]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBB", 1, rtype, req_id, len(chunk), pad, 0)
        out += chunk + b"\0" * pad
        if not content:
            return out


def nv(name, value):
    def ln(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def main():
    if len(sys.argv) < 4:
        sys.stderr.write("usage: fcgi_client.py SOCKET METHOD URI [NAME=VALUE...]\n")
        return 2
    path, method, uri = sys.argv[1:4]
    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": uri.split("?")[0],
              "REQUEST_URI": uri, "QUERY_STRING": uri.partition("?")[2],
              "REQUEST_SCHEME": "http", "HTTP_HOST": "127.0.0.1"}
    for a in sys.argv[4:]:
        k, _, v = a.partition("=")
        params[k] = v
    body = b""
    if method in ("POST", "PUT", "PATCH") and "CONTENT_LENGTH" not in params:
        body = sys.stdin.buffer.read()
        params["CONTENT_LENGTH"] = str(len(body))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
    except OSError as e:
        sys.stderr.write("connect: %s\n" % e)
        return 4
    pv = b"".join(nv(k.encode(), v.encode()) for k, v in params.items())
    msg = record(1, struct.pack(">HB5x", 1, 0))  # BEGIN_REQUEST, responder
    msg += record(4, pv) + record(4, b"")
    msg += (record(5, body) if body else b"") + record(5, b"")
    try:
        s.sendall(msg)
    except OSError:
        pass
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError:
        pass
    out, ended = b"", False
    while len(data) >= 8:
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[:8])
        content = data[8:8 + clen]
        data = data[8 + clen + plen:]
        if rtype == 6:  # STDOUT
            out += content
        elif rtype == 3:  # END_REQUEST
            ended = True
    if not out:
        sys.stderr.write("no answer (connection closed)\n")
        return 3
    sys.stdout.buffer.write(out)
    return 0 if ended or out else 3


sys.exit(main())
