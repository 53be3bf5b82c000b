#!/usr/bin/python3
"""smtp_tls.py PORT CERT KEY - a minimal SMTP server with STARTTLS on
127.0.0.1:PORT for probe tests: it greets, offers STARTTLS, takes the
handshake with CERT/KEY, accepts MAIL and RCPT and never takes DATA.
One connection at a time, until killed."""
import socket
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(4)


def session(conn):
    f = conn.makefile("rwb", buffering=0)
    tls = False
    f.write(b"220 tls.test ESMTP\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            f.write(b"250 tls.test\r\n" if tls else b"250-tls.test\r\n250 STARTTLS\r\n")
        elif verb == b"STAR" and not tls:
            f.write(b"220 go ahead\r\n")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rwb", buffering=0)
            tls = True
        elif verb == b"QUIT":
            f.write(b"221 bye\r\n")
            return
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            f.write(b"250 ok\r\n")
        else:
            f.write(b"502 not here\r\n")


while True:
    c, _ = srv.accept()
    try:
        c.settimeout(10)
        session(c)
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.close()
