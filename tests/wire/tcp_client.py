#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Linux-side TCP peers for the wire tests (tests/wire/wire.sh).

Plain sockets, standard library only; run with Debian's /usr/bin/python3.

  echo          connect, send N random bytes while reading, shutdown(SHUT_WR),
                read to EOF, compare what came back with what was sent, close.
  discard       connect, send N random bytes, shutdown(SHUT_WR), expect EOF
                with no data, close.
  listen        listen (wildcard address of the family), accept one
                connection from --expect-peer, send N random bytes while
                reading, compare the echo, shutdown(SHUT_WR), read to EOF,
                close. The peer of `coda-server --connect`.
  hold          connect, send N random bytes and check their echo, then hold
                the connection open (nothing sent, nothing expected) until
                --release-file exists; then shutdown(SHUT_WR), read to EOF
                (no more data allowed), close. --ready-file is written once
                the echo is checked, with the local port. For the telemetry
                test: coda is queried while the connection is ESTABLISHED.
  echo-connect  connect and echo everything until EOF, then shutdown(SHUT_WR)
                and close (what `coda-server --mode echo --connect` does; for
                the harness self-test).
  server        a kernel stand-in for coda-server's listener: echo, discard or
                sink, any number of connections, until SIGTERM/SIGINT (for the
                harness self-test, see fake_coda_server.py).

Every line printed starts with "tcp_client:". Exit status 0 on success; on
failure a line "tcp_client: FAIL: <reason>" and status 1. Every blocking step
has a deadline (--timeout), so the script never hangs.
"""

import argparse
import ipaddress
import os
import selectors
import signal
import socket
import sys
import threading
import time

CHUNK = 65536


def say(msg):
    print("tcp_client: " + msg, flush=True)


class Failure(Exception):
    pass


def family_of(addr):
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


def connect(host, port, timeout):
    fam = family_of(host)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
    except socket.timeout:
        s.close()
        raise Failure("connect to %s port %d timed out after %.1f s (no SYN-ACK; "
                      "ARP/ND or the listener not working?)" % (host, port, timeout))
    except ConnectionRefusedError:
        s.close()
        raise Failure("connect to %s port %d refused (RST answered the SYN: "
                      "nothing listening on that port?)" % (host, port))
    except OSError as e:
        s.close()
        raise Failure("connect to %s port %d failed: %s" % (host, port, e))
    local = s.getsockname()
    say("connected %s port %d -> %s port %d in %.3f s" % (local[0], local[1], host, port,
                                                           time.monotonic() - t0))
    say("local-port %d" % local[1])
    return s


def exchange(s, data, deadline, what, expect_echo=True):
    """Send data while reading; shut down the write side once everything is
    sent; read until EOF. Returns the bytes received."""
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    n = len(data)
    sent = 0
    got = bytearray()
    shut = False
    eof = False
    try:
        while not eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("%s: timed out: sent %d of %d bytes%s, received %d bytes, "
                              "no EOF" % (what, sent, n,
                                          " and shutdown(SHUT_WR)" if shut else "",
                                          len(got)))
            for _key, ev in sel.select(min(left, 1.0)):
                if ev & selectors.EVENT_READ:
                    try:
                        chunk = s.recv(CHUNK)
                    except BlockingIOError:
                        chunk = None
                    if chunk is not None:
                        if not chunk:
                            eof = True
                        else:
                            got += chunk
                            if not expect_echo:
                                raise Failure("%s: received %d bytes of data; expected "
                                              "none" % (what, len(got)))
                            if len(got) > n:
                                raise Failure("%s: received %d bytes, more than the %d "
                                              "sent" % (what, len(got), n))
                if ev & selectors.EVENT_WRITE and sent < n:
                    try:
                        sent += s.send(data[sent:sent + CHUNK])
                    except BlockingIOError:
                        pass
            if sent == n and not shut:
                s.shutdown(socket.SHUT_WR)
                shut = True
                sel.modify(s, selectors.EVENT_READ)
                say("%s: sent %d bytes, shutdown(SHUT_WR)" % (what, n))
        if sent < n:
            raise Failure("%s: EOF (peer's FIN) after sending only %d of %d bytes"
                          % (what, sent, n))
    except ConnectionResetError:
        raise Failure("%s: connection reset (RST) after sending %d of %d bytes and "
                      "receiving %d" % (what, sent, n, len(got)))
    except BrokenPipeError:
        raise Failure("%s: broken pipe (peer closed) after sending %d of %d bytes and "
                      "receiving %d" % (what, sent, n, len(got)))
    finally:
        sel.close()
    say("%s: EOF after %d bytes received" % (what, len(got)))
    return bytes(got)


def check_echo(what, data, got):
    if got != data:
        if len(got) != len(data):
            raise Failure("%s: echo has %d bytes, sent %d (first difference at offset %d)"
                          % (what, len(got), len(data), first_difference(got, data)))
        raise Failure("%s: echo differs from what was sent at offset %d (of %d)"
                      % (what, first_difference(got, data), len(data)))
    say("%s: the %d bytes echoed match" % (what, len(data)))


def cmd_echo(a):
    data = os.urandom(a.bytes)
    t0 = time.monotonic()
    s = connect(a.host, a.port, a.connect_timeout)
    try:
        got = exchange(s, data, t0 + a.timeout, "echo")
        check_echo("echo", data, got)
    finally:
        s.close()
    say("echo: done in %.2f s" % (time.monotonic() - t0))


def cmd_discard(a):
    data = os.urandom(a.bytes)
    t0 = time.monotonic()
    s = connect(a.host, a.port, a.connect_timeout)
    try:
        exchange(s, data, t0 + a.timeout, "discard", expect_echo=False)
    finally:
        s.close()
    say("discard: %d bytes sent, EOF with no data back, done in %.2f s"
        % (a.bytes, time.monotonic() - t0))


def cmd_hold(a):
    data = os.urandom(a.bytes)
    t0 = time.monotonic()
    s = connect(a.host, a.port, a.connect_timeout)
    try:
        # The echo, without our FIN: read exactly len(data) bytes back.
        s.settimeout(1.0)
        s.sendall(data)
        got = bytearray()
        while len(got) < len(data):
            if time.monotonic() - t0 > a.timeout:
                raise Failure("hold: timed out: %d of %d bytes echoed" % (len(got), len(data)))
            try:
                chunk = s.recv(CHUNK)
            except socket.timeout:
                continue
            if not chunk:
                raise Failure("hold: EOF after %d of %d bytes echoed" % (len(got), len(data)))
            got += chunk
        check_echo("hold", data, bytes(got))
        if a.ready_file:
            tmp = a.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % s.getsockname()[1])
            os.rename(tmp, a.ready_file)
        say("hold: holding the connection until %s exists (at most %.0f s)"
            % (a.release_file, a.hold_timeout))
        # Held: nothing may arrive (no data, no FIN, no RST) until released.
        t1 = time.monotonic()
        s.settimeout(0.05)
        while not os.path.exists(a.release_file):
            if time.monotonic() - t1 > a.hold_timeout:
                raise Failure("hold: not released within %.0f s" % a.hold_timeout)
            try:
                chunk = s.recv(CHUNK)
            except socket.timeout:
                continue
            if not chunk:
                raise Failure("hold: EOF (peer's FIN) while the connection was held, "
                              "after %.2f s" % (time.monotonic() - t1))
            raise Failure("hold: %d unexpected bytes while the connection was held"
                          % len(chunk))
        say("hold: released after %.2f s" % (time.monotonic() - t1))
        exchange(s, b"", time.monotonic() + a.timeout, "hold")
    except ConnectionResetError:
        raise Failure("hold: connection reset (RST)")
    finally:
        s.close()
    say("hold: done in %.2f s" % (time.monotonic() - t0))


def cmd_listen(a):
    fam = socket.AF_INET6 if a.family == 6 else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    ls.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.port))
    ls.listen(4)
    say("listening on IPv%d port %d" % (a.family, a.port))
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write("ready\n")
    ls.settimeout(a.accept_timeout)
    t0 = time.monotonic()
    try:
        c, peer = ls.accept()
    except socket.timeout:
        raise Failure("listen: no connection within %.0f s (did coda resolve this "
                      "address and send its SYN?)" % a.accept_timeout)
    finally:
        ls.close()
    say("listen: accepted from %s port %d after %.2f s" % (peer[0], peer[1],
                                                           time.monotonic() - t0))
    say("peer-port %d" % peer[1])
    try:
        if a.expect_peer and ipaddress.ip_address(peer[0]) != ipaddress.ip_address(a.expect_peer):
            raise Failure("listen: connection from %s, expected %s" % (peer[0], a.expect_peer))
        data = os.urandom(a.bytes)
        exchange_listener(c, data, time.monotonic() + a.timeout)
    finally:
        c.close()


def exchange_listener(c, data, deadline):
    """Send data while reading its echo; once the whole echo is in, shut down
    the write side and read to EOF (no more data allowed)."""
    c.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
    n = len(data)
    sent = 0
    got = bytearray()
    shut = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("listen: timed out: sent %d of %d bytes, %d echoed back%s"
                              % (sent, n, len(got),
                                 ", shutdown(SHUT_WR) done, no EOF" if shut else ""))
            for _key, ev in sel.select(min(left, 1.0)):
                if ev & selectors.EVENT_READ:
                    try:
                        chunk = c.recv(CHUNK)
                    except BlockingIOError:
                        chunk = None
                    if chunk is not None:
                        if not chunk:
                            if not shut:
                                raise Failure("listen: EOF after %d of %d bytes echoed, "
                                              "before our shutdown" % (len(got), n))
                            say("listen: EOF after our shutdown(SHUT_WR)")
                            return bytes(got)
                        got += chunk
                        if len(got) > n:
                            raise Failure("listen: received %d bytes, more than the %d "
                                          "sent" % (len(got), n))
                if ev & selectors.EVENT_WRITE and sent < n:
                    try:
                        sent += c.send(data[sent:sent + CHUNK])
                    except BlockingIOError:
                        pass
            if sent == n and not shut:
                sel.modify(c, selectors.EVENT_READ)
            if len(got) == n and not shut:
                check_echo("listen", data, bytes(got))
                c.shutdown(socket.SHUT_WR)
                shut = True
                say("listen: shutdown(SHUT_WR)")
    except ConnectionResetError:
        raise Failure("listen: connection reset (RST) after sending %d of %d bytes, "
                      "%d echoed" % (sent, n, len(got)))
    finally:
        sel.close()


def serve_conn(c, mode, deadline=None):
    """Echo, discard or sink one connection (blocking, with a deadline)."""
    try:
        c.settimeout(1.0)
        while True:
            if deadline and time.monotonic() > deadline:
                return
            if mode == "sink":
                time.sleep(0.2)
                continue
            try:
                d = c.recv(CHUNK)
            except socket.timeout:
                continue
            if not d:
                break
            if mode == "echo":
                c.sendall(d)
        c.shutdown(socket.SHUT_WR)
    except OSError as e:
        say("server: connection error: %s" % e)
    finally:
        c.close()


def cmd_echo_connect(a):
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < a.connect_timeout:
        try:
            s = socket.create_connection((a.host, a.port), timeout=2)
            break
        except OSError as e:
            last = e
            time.sleep(0.2)
    else:
        raise Failure("echo-connect: cannot connect to %s port %d: %s" % (a.host, a.port, last))
    say("echo-connect: connected to %s port %d" % (a.host, a.port))
    serve_conn(s, "echo", t0 + a.timeout)


def cmd_server(a):
    stop = []  # a plain flag: Event.set() in a signal handler can deadlock

    def on_signal(_sig, _frm):
        stop.append(True)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    socks = []
    for addr in a.bind:
        fam = family_of(addr)
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, a.port))
        ls.listen(16)
        ls.settimeout(0.2)
        socks.append(ls)
    say("server: %s on %s port %d" % (a.mode, ", ".join(a.bind), a.port))
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write("ready\n")
    t0 = time.monotonic()
    while not stop and time.monotonic() - t0 < a.timeout:
        for ls in socks:
            try:
                c, _peer = ls.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve_conn, args=(c, a.mode, t0 + a.timeout),
                             daemon=True).start()
    for ls in socks:
        ls.close()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("echo", "discard", "echo-connect"):
        q = sub.add_parser(name)
        q.add_argument("--host", required=True)
        q.add_argument("--port", type=int, required=True)
        q.add_argument("--bytes", type=int, default=100 * 1024)
        q.add_argument("--connect-timeout", type=float, default=10.0)
        q.add_argument("--timeout", type=float, default=60.0,
                       help="deadline for the whole exchange, seconds")
    q = sub.add_parser("hold")
    q.add_argument("--host", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--bytes", type=int, default=1000)
    q.add_argument("--connect-timeout", type=float, default=10.0)
    q.add_argument("--timeout", type=float, default=15.0,
                   help="deadline for the echo, and for the close, seconds")
    q.add_argument("--ready-file")
    q.add_argument("--release-file", required=True)
    q.add_argument("--hold-timeout", type=float, default=60.0)
    q = sub.add_parser("listen")
    q.add_argument("--family", type=int, choices=(4, 6), required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--bytes", type=int, default=10 * 1024)
    q.add_argument("--expect-peer")
    q.add_argument("--accept-timeout", type=float, default=30.0)
    q.add_argument("--timeout", type=float, default=30.0)
    q.add_argument("--ready-file")
    q = sub.add_parser("server")
    q.add_argument("--bind", action="append", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--mode", choices=("echo", "discard", "sink"), default="echo")
    q.add_argument("--timeout", type=float, default=300.0)
    q.add_argument("--ready-file")
    a = p.parse_args()
    try:
        {"echo": cmd_echo, "discard": cmd_discard, "listen": cmd_listen,
         "hold": cmd_hold,
         "echo-connect": cmd_echo_connect, "server": cmd_server}[a.cmd](a)
    except Failure as e:
        say("FAIL: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
