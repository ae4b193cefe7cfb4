#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Linux-side peers for tests/wire/http.sh: coda-server's http mode and
--close-after. Plain sockets, standard library only (Debian's /usr/bin/python3).

  requests     raw HTTP/1.1 exchanges with `coda-server --mode http`:
               pipelining (GET, HEAD, POST with a body, GET) answered in order
               on one connection, a request sent a byte at a time, HTTP/1.0
               with and without keep-alive, "Connection: close", and the
               errors (400 malformed, 400 no Host, 400 oversize, 501
               Transfer-Encoding, 505 HTTP/2.0), each of which must be
               followed by the server's FIN (EOF, not RST). Every body must be
               --body bytes of coda's pattern.
  close-after  connect, send --bytes random bytes (reading meanwhile) and do
               NOT shut down: the server must close first. echo: exactly the
               bytes sent come back, then EOF; discard: EOF with no data. Then
               close. Prints the local port.

Every line printed starts with "http_check:". Exit status 0 on success; on
failure a line "http_check: FAIL: <reason>" and status 1. Every blocking step
has a deadline, so the script never hangs.
"""

import argparse
import os
import select
import socket
import sys
import threading
import time

LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n"
TIMEOUT = 10.0


def say(msg):
    print("http_check: " + msg, flush=True)


class Failure(Exception):
    pass


def body_of(n):
    return (LINE * (n // len(LINE) + 1))[:n]


def connect(host, port):
    try:
        s = socket.create_connection((host, port), timeout=TIMEOUT)
    except OSError as e:
        raise Failure("connect to %s port %d: %s" % (host, port, e))
    s.settimeout(TIMEOUT)
    return s


class Conn:
    """A connection with a read buffer, reading HTTP responses."""

    def __init__(self, host, port, what):
        self.s = connect(host, port)
        self.buf = b""
        self.what = what

    def send(self, data):
        self.s.sendall(data)

    def _more(self):
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            raise Failure("%s: no answer within %.0f s (have %d bytes: %r)"
                          % (self.what, TIMEOUT, len(self.buf), self.buf[:200]))
        except ConnectionResetError:
            raise Failure("%s: connection reset (RST) by the server" % self.what)
        if not chunk:
            raise Failure("%s: EOF in the middle of a response (have %r)"
                          % (self.what, self.buf[:200]))
        self.buf += chunk

    def response(self, head_request=False):
        """(status, headers dict (lowercase names), body)."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] != "HTTP/1.1" or not parts[1].isdigit():
            raise Failure("%s: bad status line %r" % (self.what, lines[0][:100]))
        status = int(parts[1])
        if status == 100:
            return self.response(head_request)
        hdrs = {}
        for l in lines[1:]:
            name, _, value = l.partition(":")
            if name.lower() in hdrs:
                raise Failure("%s: header %s given twice" % (self.what, name))
            hdrs[name.lower()] = value.strip()
        if "content-length" not in hdrs:
            raise Failure("%s: no Content-Length in %r" % (self.what, head))
        n = int(hdrs["content-length"])
        if head_request:
            n = 0
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def expect_eof(self):
        """The server closed: EOF (its FIN), not RST, and nothing more."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.buf:
                raise Failure("%s: %d bytes after the last response: %r"
                              % (self.what, len(self.buf), self.buf[:100]))
            if time.monotonic() > deadline:
                raise Failure("%s: the server did not close within %.0f s" % (self.what, TIMEOUT))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                raise Failure("%s: RST instead of the server's FIN" % self.what)
            if not chunk:
                return
            self.buf += chunk

    def close(self):
        self.s.close()


def check_ok(what, got, body_len, head=False, conn=None):
    status, hdrs, body = got
    if status != 200:
        raise Failure("%s: status %d, expected 200" % (what, status))
    if int(hdrs["content-length"]) != body_len:
        raise Failure("%s: Content-Length %s, expected %d" % (what, hdrs["content-length"], body_len))
    if not head and body != body_of(body_len):
        raise Failure("%s: the body (%d bytes) is not coda's pattern of %d bytes"
                      % (what, len(body), body_len))
    if conn is not None and hdrs.get("connection", "").lower() != conn:
        raise Failure("%s: Connection: %r, expected %r" % (what, hdrs.get("connection"), conn))
    if conn is None and "connection" in hdrs:
        raise Failure("%s: unexpected Connection: %s" % (what, hdrs["connection"]))
    say("ok: %s: 200, %d body bytes%s" % (what, 0 if head else len(body),
                                           ", Connection: " + conn if conn else ""))


def req(path, method="GET", version="HTTP/1.1", extra=""):
    return ("%s %s %s\r\nHost: coda\r\n%s\r\n" % (method, path, version, extra)).encode()


def cmd_requests(a):
    n = a.body
    # 1. Pipelining: four requests in one write, answered in order.
    c = Conn(a.host, a.port, "pipelined requests")
    c.send(req("/1") + req("/2", "HEAD") + req("/3", "POST", extra="Content-Length: 5\r\n") +
           b"hello" + req("/4"))
    check_ok("pipelined GET /1", c.response(), n)
    check_ok("pipelined HEAD /2 (no body)", c.response(head_request=True), n, head=True)
    check_ok("pipelined POST /3 (5-byte body read and dropped)", c.response(), n)
    check_ok("pipelined GET /4", c.response(), n)
    # 2. The same connection, a request a byte at a time for its first 20 bytes.
    r = req("/5")
    for i in range(20):
        c.send(r[i:i + 1])
        time.sleep(0.005)
    c.send(r[20:])
    check_ok("GET /5 sent a byte at a time, same connection", c.response(), n)
    # 3. Connection: close: the response says so, then the server's FIN.
    c.send(req("/6", extra="Connection: close\r\n"))
    check_ok("GET /6 with Connection: close", c.response(), n, conn="close")
    c.expect_eof()
    say("ok: the server closed after the Connection: close response (EOF)")
    c.close()

    # 4. HTTP/1.0: closes unless keep-alive is asked for.
    c = Conn(a.host, a.port, "HTTP/1.0")
    c.send(req("/7", version="HTTP/1.0", extra="Connection: keep-alive\r\n"))
    check_ok("HTTP/1.0 GET with keep-alive", c.response(), n, conn="keep-alive")
    c.send(req("/8", version="HTTP/1.0"))
    check_ok("HTTP/1.0 GET without keep-alive, same connection", c.response(), n, conn="close")
    c.expect_eof()
    say("ok: the server closed after the HTTP/1.0 response (EOF)")
    c.close()

    # 5. Errors: the status, Connection: close, then the server's FIN (not RST).
    big = "X-Big: " + "a" * (a.max_request + 100) + "\r\n"
    for what, data, want in (
            ("a malformed request line", b"BLAH\r\n\r\n", 400),
            ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\n\r\n", 400),
            ("a head longer than http_max_request", req("/", extra=big), 400),
            ("Transfer-Encoding: chunked", req("/", "POST", extra="Transfer-Encoding: chunked\r\n"),
             501),
            ("HTTP/2.0", req("/", version="HTTP/2.0"), 505)):
        c = Conn(a.host, a.port, what)
        c.send(data)
        status, hdrs, _ = c.response()
        if status != want:
            raise Failure("%s: status %d, expected %d" % (what, status, want))
        if hdrs.get("connection", "").lower() != "close":
            raise Failure("%s: no Connection: close with the %d" % (what, status))
        c.expect_eof()
        say("ok: %s: %d, Connection: close, then the server's FIN" % (what, status))
        c.close()
    return 0


def cmd_close_after(a):
    s = connect(a.host, a.port)
    s.settimeout(None)
    say("local-port %d" % s.getsockname()[1])
    data = os.urandom(a.bytes)
    err = []

    def sender():
        try:
            s.sendall(data)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = b""
    deadline = time.monotonic() + a.timeout
    while True:
        if time.monotonic() > deadline:
            raise Failure("no EOF within %.0f s after %d bytes back (the server never closed)"
                          % (a.timeout, len(got)))
        if not select.select([s], [], [], 0.5)[0]:
            continue
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            raise Failure("RST from the server after %d bytes back, expected its FIN" % len(got))
        if not chunk:
            break
        got += chunk
    t.join(5)
    if err:
        raise Failure("sending: %s" % err[0])
    want = data if a.mode == "echo" else b""
    if got != want:
        raise Failure("%d bytes came back before the server's FIN, expected %d%s"
                      % (len(got), len(want), "" if len(got) != len(want) else " (they differ)"))
    say("ok: sent %d bytes without shutting down; %d came back, then the server's FIN"
        % (a.bytes, len(got)))
    s.close()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("requests")
    q.add_argument("--host", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--body", type=int, required=True)
    q.add_argument("--max-request", type=int, default=8192)
    q = sub.add_parser("close-after")
    q.add_argument("--host", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--bytes", type=int, required=True)
    q.add_argument("--mode", choices=("echo", "discard"), required=True)
    q.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()
    try:
        return cmd_requests(a) if a.cmd == "requests" else cmd_close_after(a)
    except Failure as e:
        say("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
