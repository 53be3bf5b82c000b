#!/usr/bin/env python3
"""journal_sink.py - a stand-in for journald's native socket, for tests

    journal_sink.py SOCKET OUT

Binds a unix datagram socket at SOCKET (normally
/run/systemd/journal/socket, inside a private mount namespace) and
appends every entry it receives to OUT as one JSON object per line
({"FIELD": "value", ...}).  It decodes the native protocol as
sd_journal_sendv() writes it: one entry per datagram, each field either
"KEY=value\\n" or "KEY\\n" + a 64-bit little-endian length + the value +
"\\n" (values holding a newline); an entry too big for a datagram comes
as a sealed memfd passed with SCM_RIGHTS, read here the same way.  A
malformed entry is written as {"_BAD": "why"} so the test sees it.
Runs until killed.
"""
import array
import json
import os
import socket
import struct
import sys


def decode(data):
    entry = {}
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            raise ValueError("field without a newline")
        line = data[i:nl]
        eq = line.find(b"=")
        if eq >= 0:
            key, value = line[:eq], line[eq + 1:]
            i = nl + 1
        else:
            key = line
            if nl + 9 > len(data):
                raise ValueError("binary field cut short")
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            start = nl + 9
            value = data[start:start + n]
            if len(value) != n or data[start + n:start + n + 1] != b"\n":
                raise ValueError("binary field of a wrong length")
            i = start + n + 1
        k = key.decode("ascii")
        if not k or k[0] == "_" or not all(c.isupper() or c.isdigit() or c == "_" for c in k):
            raise ValueError("bad field name %r" % k)
        entry[k] = value.decode("utf-8", "replace")
    return entry


def main():
    path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    with open(out + ".ready", "w"):
        pass
    while True:
        fds = array.array("i")
        data, anc, _flags, _addr = s.recvmsg(1 << 17, socket.CMSG_SPACE(4 * fds.itemsize))
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(cdata[:len(cdata) - (len(cdata) % fds.itemsize)])
        for fd in fds:
            with os.fdopen(fd, "rb") as f:
                data = f.read()
        try:
            entry = decode(data)
        except (ValueError, UnicodeDecodeError) as e:
            entry = {"_BAD": str(e)}
        with open(out, "a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
