#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""coda-server's control socket (DESIGN.md section 8) against the Linux kernel.

Runs in the kernel peer's network namespace (tests/wire/control.sh starts it
there). It drives coda's side through the control socket, a Unix socket
file, which is reachable from any namespace, and the Linux side with plain
sockets. Standard library only; run with Debian's /usr/bin/python3.

  ops    every operation of the control socket once: config, stats,
         malformed lines, unknown handles, listen/accept/recv/send/status
         and the passive close (CLOSE-WAIT, LAST-ACK, CLOSED), connect with
         and without sport, shutdown, abort, lookup of a TIME-WAIT entry
         and of a tuple never used.
  close  the close patterns, one connection each (a Linux client to a
         listener made through the control socket): client close first,
         coda close first, simultaneous close, SO_LINGER 0 on Linux, abort
         from coda, close with unread data on either side, and SHUT_WR on
         Linux with data flowing the other way. Each checks what both
         applications see (data, EOF, errno), which side holds TIME-WAIT
         (coda's with lookup, Linux's with ss), that coda's TIME-WAIT ends
         within 2 MSL plus the wheel's lateness and not before 2 MSL, and
         the FIN/RST sequence in a tcpdump capture of the peer's interface,
         read back with tshark.

Every line printed starts with "control_test:". Exit status 0 on success;
on failure a line "control_test: FAIL: <reason>" (naming the request, the
reply expected and the reply received), the last control exchanges, and
status 1. Every wait is bounded in time and count.
"""

import argparse
import array
import collections
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import time

U32 = 1 << 32
ERRNO_RE = re.compile(r"^E[A-Z0-9]+$")
STATES = {"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
          "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}
REASONS = {None, "normal", "reset", "refused", "timeout", "aborted"}
# The timing wheel may fire a TIME-WAIT this much late (docs/wheel.md: below
# 8/63 of the delay at worst, 63 ms at 2 MSL = 1 s): 7 %.
LATENESS = 1.07
# Slack for this script's own scheduling on a busy machine (polls, the
# control round trip) when checking an end time.
SLACK_S = 0.5
# Margin on the lower bound ("never early"): coda reads its clock once per burst.
EARLY_MARGIN_S = 0.02


def say(msg):
    print("control_test: " + msg, flush=True)


def check(msg):
    say("check: " + msg)


def ok(msg):
    say("ok: " + msg)


class Failure(Exception):
    pass


def j(obj):
    return json.dumps(obj, separators=(",", ":"))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def sdiff(a, b):
    """a - b in 32-bit sequence space."""
    return (a - b) % U32


# --- the control socket -------------------------------------------------------


class Control:
    """One client connection to the control socket: one JSON object per line
    each way. Every reply is checked for the fields the contract requires of
    every reply: "ok" (boolean), and on failure "error" (an errno name) and
    "message" (a sentence)."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.buf = b""
        self.n = 0
        self.history = collections.deque(maxlen=60)
        deadline = time.monotonic() + 10
        s = last = None
        for _ in range(200):
            t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                t.connect(path)
                s = t
                break
            except OSError as e:
                t.close()
                last = e
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if s is None:
            raise Failure("cannot connect to the control socket %s within 10 s: %s" % (path, last))
        self.s = s

    def dump(self):
        say("the last %d control exchanges (of %d):" % (len(self.history), self.n))
        for line in self.history:
            print("control_test:   " + line, flush=True)

    def send_line(self, raw):
        """Send one request line; the reply is read with read_reply()."""
        self.n += 1
        self.history.append("> " + raw.decode("utf-8", "replace")[:300])
        self.s.sendall(raw + b"\n")

    def read_reply(self, shown):
        deadline = time.monotonic() + self.timeout
        for _ in range(100000):
            if b"\n" in self.buf:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("no reply within %.0f s to the request %s" % (self.timeout, shown))
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise Failure("coda-server closed the control connection after the request %s"
                              " (a malformed or failed request must leave it usable)" % shown)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        self.history.append("< " + line.decode("utf-8", "replace")[:300])
        try:
            rep = json.loads(line)
        except ValueError as e:
            raise Failure("request %s: the reply is not JSON (%s): %r" % (shown, e, line[:300]))
        if not isinstance(rep, dict):
            raise Failure("request %s: the reply is not a JSON object: %s" % (shown, j(rep)))
        if "ok" not in rep or not isinstance(rep["ok"], bool):
            raise Failure("request %s: every reply must have a boolean \"ok\"; got %s"
                          % (shown, j(rep)))
        if not rep["ok"]:
            err, msg = rep.get("error"), rep.get("message")
            if not isinstance(err, str) or not ERRNO_RE.match(err):
                raise Failure("request %s: a failure must carry \"error\", an errno name "
                              "(\"EINVAL\", \"EAGAIN\" ...); got %s" % (shown, j(rep)))
            if not isinstance(msg, str) or not msg.strip():
                raise Failure("request %s: a failure must carry \"message\", a sentence; got %s"
                              % (shown, j(rep)))
        return rep

    def raw(self, raw):
        shown = repr(raw.decode("utf-8", "replace")[:200])
        self.send_line(raw)
        return self.read_reply(shown)

    def req(self, **kw):
        return self.raw(j(kw).encode())

    # Expectations.

    def ok(self, what, **kw):
        rep = self.req(**kw)
        if not rep["ok"]:
            raise Failure("%s: request %s: expected {\"ok\":true,...}, got %s" % (what, j(kw), j(rep)))
        return rep

    def err(self, what, errors, **kw):
        return self.raw_err(what, errors, j(kw).encode())

    def raw_err(self, what, errors, raw):
        rep = self.raw(raw)
        if rep["ok"] or rep["error"] not in errors:
            raise Failure("%s: request %r: expected {\"ok\":false,\"error\":%s,\"message\":...}, "
                          "got %s" % (what, raw.decode("utf-8", "replace")[:200],
                                      "|".join('"%s"' % e for e in errors), j(rep)))
        return rep

    def status(self, what, sock, listener=False):
        rep = self.ok(what, op="status", sock=sock)
        req = j({"op": "status", "sock": sock})
        st = rep.get("state")
        if st not in STATES:
            raise Failure("%s: request %s: \"state\" must be an RFC 9293 state name "
                          "(\"ESTABLISHED\", \"CLOSE-WAIT\" ...); got %s" % (what, req, j(rep)))
        if not listener:
            for k in ("snd_una", "snd_nxt", "rcv_nxt", "rcv_wnd"):
                v = rep.get(k)
                if not is_int(v) or not 0 <= v < U32:
                    raise Failure("%s: request %s: \"%s\" must be an unsigned 32-bit integer; "
                                  "got %s" % (what, req, k, j(rep)))
            if "close_reason" not in rep or rep["close_reason"] not in REASONS:
                raise Failure("%s: request %s: \"close_reason\" must be null, \"normal\", "
                              "\"reset\", \"refused\", \"timeout\" or \"aborted\"; got %s"
                              % (what, req, j(rep)))
        return rep

    def lookup(self, what, laddr, lport, raddr, rport):
        req = {"op": "lookup", "laddr": laddr, "lport": lport, "raddr": raddr, "rport": rport}
        rep = self.ok(what, **req)
        st = rep.get("state")
        if st not in STATES:
            raise Failure("%s: request %s: \"state\" must be an RFC 9293 state name; got %s"
                          % (what, j(req), j(rep)))
        if st == "TIME-WAIT" and not is_int(rep.get("expires_in_ms")):
            raise Failure("%s: request %s: a TIME-WAIT reply must carry an integer "
                          "\"expires_in_ms\"; got %s" % (what, j(req), j(rep)))
        return rep

    def close(self):
        self.s.close()


# --- coda's side, through the control socket ---------------------------------


def poll_status(c, what, sock, want, seconds, allowed, reason=False):
    """Poll status (every 20 ms, at most SECONDS) until its state is WANT;
    every state seen meanwhile must be in ALLOWED. Returns the last reply
    and the states seen, in order."""
    seen = []
    deadline = time.monotonic() + seconds
    rep = None
    for _ in range(int(seconds / 0.02) + 2):
        rep = c.status(what, sock)
        st = rep["state"]
        if not seen or seen[-1] != st:
            seen.append(st)
        if st != want and st not in allowed:
            raise Failure("%s: status of sock %d: expected %s (passing only through %s), got %s "
                          "(states seen: %s)" % (what, sock, want, ", ".join(sorted(allowed)) or
                                                 "nothing else", j(rep), " -> ".join(seen)))
        if st == want and (reason is False or rep["close_reason"] is not None):
            return rep, seen
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise Failure("%s: status of sock %d: not %s within %.1f s; last reply %s (states seen: %s)"
                  % (what, sock, want, seconds, j(rep), " -> ".join(seen)))


def expect_state(c, what, sock, state, reason="any"):
    rep = c.status(what, sock)
    if rep["state"] != state or (reason != "any" and rep["close_reason"] != reason):
        exp = {"ok": True, "state": state}
        if reason != "any":
            exp["close_reason"] = reason
        raise Failure("%s: request %s: expected %s, got %s" % (
            what, j({"op": "status", "sock": sock}), j(exp)[:-1] + ",...}", j(rep)))
    return rep


def recv_reply(c, what, sock, mx):
    """One recv: ("data", bytes), ("eof", b"") or ("error", ERRNO)."""
    rep = c.req(op="recv", sock=sock, max=mx)
    req = j({"op": "recv", "sock": sock, "max": mx})
    if not rep["ok"]:
        return "error", rep["error"], rep
    hx, eof = rep.get("hex"), rep.get("eof")
    if not isinstance(hx, str) or not isinstance(eof, bool):
        raise Failure("%s: request %s: expected {\"ok\":true,\"hex\":STRING,\"eof\":BOOL}, got %s"
                      % (what, req, j(rep)))
    try:
        data = bytes.fromhex(hx)
    except ValueError:
        raise Failure("%s: request %s: \"hex\" is not hexadecimal: %s" % (what, req, j(rep)[:300]))
    if len(data) > mx:
        raise Failure("%s: request %s: %d bytes returned, more than \"max\" %d"
                      % (what, req, len(data), mx))
    if eof and data:
        raise Failure("%s: request %s: \"eof\":true with %d bytes of data (EOF comes after the "
                      "data, with an empty \"hex\")" % (what, req, len(data)))
    if not eof and not data:
        raise Failure("%s: request %s: \"ok\":true with no data and \"eof\":false (nothing to "
                      "read is the error EAGAIN); got %s" % (what, req, j(rep)))
    return ("eof" if eof else "data"), data, rep


def coda_recv_all(c, what, sock, n, seconds=5.0, mx=65536):
    got = bytearray()
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.01) + 100):
        kind, val, rep = recv_reply(c, what, sock, mx)
        if kind == "data":
            got += val
            if len(got) >= n:
                break
            continue
        if kind == "eof":
            raise Failure("%s: recv on sock %d: EOF after %d of the %d bytes the Linux side sent"
                          % (what, sock, len(got), n))
        if val != "EAGAIN":
            raise Failure("%s: recv on sock %d after %d of %d bytes: expected data (or EAGAIN "
                          "while none has arrived), got %s" % (what, sock, len(got), n, j(rep)))
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if len(got) < n:
        raise Failure("%s: recv on sock %d: %d of the %d bytes the Linux side sent within %.0f s"
                      % (what, sock, len(got), n, seconds))
    if len(got) > n:
        raise Failure("%s: recv on sock %d: %d bytes, but the Linux side sent %d"
                      % (what, sock, len(got), n))
    return bytes(got)


def coda_recv_eof(c, what, sock, seconds=5.0):
    """recv until "eof":true; no data may come first."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.01) + 100):
        kind, val, rep = recv_reply(c, what, sock, 65536)
        if kind == "eof":
            return rep
        if kind == "data":
            raise Failure("%s: recv on sock %d: expected EOF (\"eof\":true), got %d more bytes"
                          % (what, sock, len(val)))
        if val != "EAGAIN":
            raise Failure("%s: recv on sock %d: expected EOF (\"eof\":true, the Linux side's FIN),"
                          " got %s" % (what, sock, j(rep)))
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise Failure("%s: recv on sock %d: no EOF (\"eof\":true) within %.0f s after the Linux side's"
                  " FIN" % (what, sock, seconds))


def coda_recv_error(c, what, sock, errno_name, seconds=3.0):
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.01) + 100):
        kind, val, rep = recv_reply(c, what, sock, 65536)
        if kind == "error" and val == errno_name:
            return rep
        if kind != "error" or val != "EAGAIN":
            raise Failure("%s: recv on sock %d: expected the error %s, got %s"
                          % (what, sock, errno_name, j(rep)))
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise Failure("%s: recv on sock %d: still EAGAIN after %.0f s, expected %s"
                  % (what, sock, seconds, errno_name))


def coda_send_all(c, what, sock, data, seconds=20.0, idle=None, chunk=32768):
    """send all of DATA (replies may take fewer bytes; EAGAIN while the buffer
    is full). IDLE is called between attempts (the Linux side reads)."""
    off = 0
    deadline = time.monotonic() + seconds
    for _ in range(100000):
        if off >= len(data):
            return
        part = data[off:off + chunk]
        rep = c.req(op="send", sock=sock, hex=part.hex())
        if rep["ok"]:
            n = rep.get("n")
            if not is_int(n) or not 0 <= n <= len(part):
                raise Failure("%s: send of %d bytes on sock %d: expected {\"ok\":true,\"n\":0..%d}, "
                              "got %s" % (what, len(part), sock, len(part), j(rep)))
            off += n
        elif rep["error"] != "EAGAIN":
            raise Failure("%s: send of %d bytes on sock %d (%d of %d sent): expected "
                          "{\"ok\":true,\"n\":N} (or EAGAIN while the buffer is full), got %s"
                          % (what, len(part), sock, off, len(data), j(rep)))
        if idle:
            idle()
        if off < len(data) and (not rep["ok"] or rep["n"] == 0):
            time.sleep(0.005)
        if time.monotonic() > deadline:
            break
    raise Failure("%s: send on sock %d: %d of %d bytes taken within %.0f s"
                  % (what, sock, off, len(data), seconds))


def coda_accept(c, what, lsock, seconds=5.0):
    deadline = time.monotonic() + seconds
    rep = None
    for _ in range(int(seconds / 0.01) + 100):
        rep = c.req(op="accept", sock=lsock)
        if rep["ok"]:
            if not is_int(rep.get("sock")) or not isinstance(rep.get("peer"), str):
                raise Failure("%s: request %s: expected {\"ok\":true,\"sock\":ID,\"peer\":"
                              "\"A.B.C.D:PORT\"}, got %s"
                              % (what, j({"op": "accept", "sock": lsock}), j(rep)))
            return rep
        if rep["error"] != "EAGAIN":
            raise Failure("%s: request %s: expected a connection (or EAGAIN while none waits), "
                          "got %s" % (what, j({"op": "accept", "sock": lsock}), j(rep)))
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise Failure("%s: accept on sock %d: still EAGAIN %.0f s after the Linux client connected"
                  % (what, lsock, seconds))


# --- the Linux side -----------------------------------------------------------


def fam_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def hostport(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


def linux_connect(addr, port, timeout=10.0):
    s = socket.socket(fam_of(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
    except OSError as e:
        s.close()
        raise Failure("Linux connect to %s: %s" % (hostport(addr, port), e))
    return s


def linux_recv_exact(s, what, n, seconds=10.0):
    got = bytearray()
    deadline = time.monotonic() + seconds
    for _ in range(100000):
        if len(got) >= n:
            return bytes(got)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError as e:
            raise Failure("%s: Linux recv after %d of %d bytes: %s" % (what, len(got), n, e))
        if not d:
            raise Failure("%s: Linux recv: EOF after %d of the %d bytes coda sent"
                          % (what, len(got), n))
        got += d
    raise Failure("%s: Linux recv: %d of the %d bytes coda sent within %.0f s"
                  % (what, len(got), n, seconds))


def linux_recv_eof(s, what, seconds=5.0):
    s.settimeout(seconds)
    try:
        d = s.recv(65536)
    except socket.timeout:
        raise Failure("%s: Linux recv: no EOF (coda's FIN) within %.0f s" % (what, seconds))
    except OSError as e:
        raise Failure("%s: Linux recv: expected EOF (coda's FIN), got the error %s"
                      % (what, e))
    if d:
        raise Failure("%s: Linux recv: expected EOF (coda's FIN), got %d bytes" % (what, len(d)))


def linux_expect_reset(s, what, seconds=5.0):
    s.settimeout(seconds)
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        return
    except socket.timeout:
        raise Failure("%s: Linux recv: expected ECONNRESET (coda's RST), nothing within %.0f s"
                      % (what, seconds))
    except OSError as e:
        raise Failure("%s: Linux recv: expected ECONNRESET (coda's RST), got %s" % (what, e))
    if not d:
        raise Failure("%s: Linux recv: expected ECONNRESET (coda's RST), got EOF (a FIN)" % what)
    raise Failure("%s: Linux recv: expected ECONNRESET (coda's RST), got %d bytes"
                  % (what, len(d)))


def linux_inq(s):
    buf = array.array("i", [0])
    fcntl.ioctl(s.fileno(), termios.FIONREAD, buf)
    return buf[0]


def ss_states(local, remote):
    """States of the kernel's TCP sockets local -> remote ("A:P", "[A]:P")."""
    out = subprocess.run(["ss", "-Htan"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=10).stdout.decode()
    st = []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5 and f[3] == local and f[4] == remote:
            st.append(f[0])
    return st


def linux_tw(what, local, remote, want, seconds=3.0):
    """The kernel's socket local -> remote is in TIME-WAIT (WANT True) or gone
    (WANT False), within SECONDS."""
    deadline = time.monotonic() + seconds
    st = []
    for _ in range(int(seconds / 0.05) + 2):
        st = ss_states(local, remote)
        if want and st == ["TIME-WAIT"]:
            return
        if not want and not st:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise Failure("%s: Linux socket %s -> %s: expected %s, ss -tan shows %s after %.0f s" % (
        what, local, remote, "TIME-WAIT" if want else "gone (no TIME-WAIT on Linux's side)",
        " ".join(st) or "nothing", seconds))


# --- TIME-WAIT on coda's side ---------------------------------------------------


def coda_tw_check(c, what, tup, msl_ms, t_fin):
    """coda holds TUP in TIME-WAIT, entered after T_FIN (the Linux side's last
    FIN left): expires_in_ms within (0, 2 MSL * LATENESS], the entry lasts
    at least 2 MSL from T_FIN and is gone within 2 MSL * LATENESS (+ slack)."""
    two = 2 * msl_ms / 1000.0
    rep = None
    deadline = time.monotonic() + 2.0
    for _ in range(200):
        rep = c.lookup(what, *tup)
        if rep["state"] == "TIME-WAIT" or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    t_obs = time.monotonic()
    req = j(dict(op="lookup", laddr=tup[0], lport=tup[1], raddr=tup[2], rport=tup[3]))
    if rep["state"] != "TIME-WAIT":
        raise Failure("%s: request %s: expected {\"ok\":true,\"state\":\"TIME-WAIT\","
                      "\"expires_in_ms\":T} (coda closed first), got %s" % (what, req, j(rep)))
    exp = rep["expires_in_ms"]
    hi = 2 * msl_ms * LATENESS
    if not 0 < exp <= hi:
        raise Failure("%s: request %s: expires_in_ms %d, expected 0 < T <= 2*MSL*%.2f = %.0f "
                      "(MSL %d ms)" % (what, req, exp, LATENESS, hi, msl_ms))
    lasts = (t_obs - t_fin) + exp / 1000.0
    if lasts < two - EARLY_MARGIN_S:
        raise Failure("%s: request %s: expires_in_ms %d, %.0f ms after the Linux FIN: the entry "
                      "would last %.0f ms, less than 2*MSL = %.0f ms"
                      % (what, req, exp, (t_obs - t_fin) * 1000, lasts * 1000, two * 1000))
    ok("%s: coda lookup %s:%d <- %s:%d: TIME-WAIT, expires_in_ms %d (%.0f ms after the Linux FIN)"
       % (what, tup[0], tup[1], tup[2], tup[3], exp, (t_obs - t_fin) * 1000))
    return rep


def coda_tw_gone(c, what, tup, msl_ms, t_fin):
    two = 2 * msl_ms / 1000.0
    end = t_fin + two * LATENESS + SLACK_S
    req = j(dict(op="lookup", laddr=tup[0], lport=tup[1], raddr=tup[2], rport=tup[3]))
    rep = None
    t_req = t_fin
    for _ in range(1000):
        # The reply describes a moment between t_req and now: "early" is
        # judged by now, "late" by t_req, so that this script's own delays
        # never make coda look wrong.
        t_req = time.monotonic()
        rep = c.lookup(what, *tup)
        now = time.monotonic()
        if rep["state"] == "CLOSED":
            if now - t_fin < two - EARLY_MARGIN_S:
                raise Failure("%s: request %s: CLOSED %.0f ms after the Linux FIN, before 2*MSL = "
                              "%.0f ms: TIME-WAIT ended early" % (what, req, (now - t_fin) * 1000,
                                                                 two * 1000))
            ok("%s: coda's TIME-WAIT entry gone %.0f ms after the Linux FIN (2*MSL = %.0f ms, "
               "bound %.0f ms + %.0f ms slack)" % (what, (now - t_fin) * 1000, two * 1000,
                                                   two * LATENESS * 1000, SLACK_S * 1000))
            return
        if rep["state"] != "TIME-WAIT":
            raise Failure("%s: request %s: expected TIME-WAIT until it ends, then CLOSED; got %s"
                          % (what, req, j(rep)))
        if t_req > end:
            break
        time.sleep(0.02)
    raise Failure("%s: request %s: still %s %.0f ms after the Linux FIN; expected CLOSED within "
                  "2*MSL*%.2f = %.0f ms (+%.0f ms slack)"
                  % (what, req, j(rep), (t_req - t_fin) * 1000, LATENESS,
                     two * LATENESS * 1000, SLACK_S * 1000))


def coda_no_tw(c, what, tup):
    rep = c.lookup(what, *tup)
    if rep["state"] != "CLOSED":
        raise Failure("%s: request %s: expected {\"ok\":true,\"state\":\"CLOSED\"} (no TIME-WAIT "
                      "on coda's side), got %s"
                      % (what, j(dict(op="lookup", laddr=tup[0], lport=tup[1], raddr=tup[2],
                                      rport=tup[3])), j(rep)))


# --- ops -------------------------------------------------------------------------


def cmd_ops(a):
    c = Control(a.control, a.reply_timeout)
    try:
        ops(a, c)
    except Failure:
        c.dump()
        raise
    finally:
        c.close()


def ops(a, c):
    coda, peer = a.coda, a.peer
    msl = 500

    say("== config")
    check("config msl_ms %d, rfc1337 false, delayed_ack_ms 40: {\"ok\":true}" % msl)
    c.ok("config", op="config", set={"msl_ms": msl, "rfc1337": False, "delayed_ack_ms": 40})
    ok("config accepted")
    check("config with an unknown key (and msl_ms 60000 beside it): EINVAL, nothing changes")
    c.err("config unknown key", ["EINVAL"], op="config",
          set={"msl_ms": 60000, "no_such_key": 1})
    ok("unknown key refused with EINVAL")
    check("config with a value of the wrong type (msl_ms \"x\"): EINVAL")
    c.err("config wrong type", ["EINVAL"], op="config", set={"msl_ms": "x"})
    ok("wrong type refused with EINVAL")

    say("== stats")
    check("stats: \"counters\" is an object of numbers")
    rep = c.ok("stats", op="stats")
    cnt = rep.get("counters")
    if not isinstance(cnt, dict) or not cnt:
        raise Failure("stats: request {\"op\":\"stats\"}: expected {\"ok\":true,\"counters\":"
                      "{NAME:VALUE,...}} (non-empty), got %s" % j(rep)[:400])
    bad = [k for k, v in cnt.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
    if bad:
        raise Failure("stats: counters that are not numbers: %s"
                      % ", ".join("%s=%s" % (k, j(cnt[k])) for k in bad[:10]))
    ok("stats: %d counters, all numbers (e.g. %s)" % (
        len(cnt), ", ".join("%s=%s" % (k, cnt[k]) for k in list(cnt)[:4])))

    say("== malformed lines: EINVAL with a message, and the connection stays usable")
    for raw, why in ((b"this is not json", "not JSON"),
                     (b'{"op":"stats"', "truncated JSON"),
                     (b'["op","stats"]', "not an object"),
                     (b'{"sock":1}', "no \"op\""),
                     (b'{"op":42}', "\"op\" not a string"),
                     (b'{"op":"bogus"}', "unknown op"),
                     (b'{"op":"listen","port":"x","backlog":1}', "port of the wrong type"),
                     (b'{"op":"listen","port":70000,"backlog":1}', "port out of range")):
        check("%s: %s -> EINVAL; then stats still answers" % (why, raw.decode()))
        c.raw_err("malformed line (%s)" % why, ["EINVAL"], raw)
        c.ok("stats after a malformed line (%s)" % why, op="stats")
        ok("%s: EINVAL, connection still usable" % why)

    say("== unknown handles")
    names = []
    for req in ({"op": "status", "sock": 9999}, {"op": "recv", "sock": 9999, "max": 10},
                {"op": "send", "sock": 9999, "hex": "00"}, {"op": "close", "sock": 9999},
                {"op": "abort", "sock": 9999}, {"op": "accept", "sock": 9999},
                {"op": "shutdown", "sock": 9999, "how": "wr"}):
        check("%s on a sock never handed out: an errno name" % j(req))
        rep = c.req(**req)
        if rep["ok"]:
            raise Failure("unknown handle: request %s: expected {\"ok\":false,\"error\":ERRNO,...}"
                          " (docs/control.md: EBADF), got %s" % (j(req), j(rep)))
        names.append("%s: %s" % (req["op"], rep["error"]))
    ok("unknown handle errors: %s" % ", ".join(names))
    odd = [n for n in names if not n.endswith(" EBADF")]
    if odd:
        say("note: not EBADF (docs/control.md names EBADF for no such socket): %s" % ", ".join(odd))

    say("== listen, accept, recv, send, status; the client closes first (CLOSE-WAIT, LAST-ACK)")
    check("listen port %d backlog 8: a sock" % a.port)
    rep = c.ok("listen", op="listen", port=a.port, backlog=8)
    lsock = rep.get("sock")
    if not is_int(lsock):
        raise Failure("listen: request %s: expected {\"ok\":true,\"sock\":ID}, got %s"
                      % (j({"op": "listen", "port": a.port, "backlog": 8}), j(rep)))
    ok("listening, sock %d" % lsock)
    check("status of the listener: LISTEN")
    rep = c.status("status of the listener", lsock, listener=True)
    if rep["state"] != "LISTEN":
        raise Failure("status of the listener: request %s: expected {\"ok\":true,\"state\":"
                      "\"LISTEN\",...}, got %s" % (j({"op": "status", "sock": lsock}), j(rep)))
    ok("LISTEN")
    check("accept with no connection waiting: EAGAIN")
    c.err("accept, nothing waiting", ["EAGAIN"], op="accept", sock=lsock)
    ok("EAGAIN")

    what = "passive"
    cl = linux_connect(coda, a.port)
    lport = cl.getsockname()[1]
    say("Linux client %s -> %s connected" % (hostport(peer, lport), hostport(coda, a.port)))
    check("accept: a sock and \"peer\":\"%s\"" % hostport(peer, lport))
    rep = coda_accept(c, what, lsock)
    s1 = rep["sock"]
    if rep["peer"] != hostport(peer, lport):
        raise Failure("%s: request %s: expected \"peer\":\"%s\", got %s" % (
            what, j({"op": "accept", "sock": lsock}), hostport(peer, lport), j(rep)))
    ok("accepted sock %d, peer %s" % (s1, rep["peer"]))
    check("accept again: EAGAIN")
    c.err("accept again", ["EAGAIN"], op="accept", sock=lsock)
    ok("EAGAIN")
    check("status: ESTABLISHED, snd_una == snd_nxt (nothing in flight), close_reason null")
    st0 = c.status(what, s1)
    if st0["state"] != "ESTABLISHED" or st0["close_reason"] is not None or \
            st0["snd_una"] != st0["snd_nxt"] or st0["rcv_wnd"] == 0:
        raise Failure("%s: request %s: expected {\"ok\":true,\"state\":\"ESTABLISHED\", snd_una "
                      "== snd_nxt, rcv_wnd > 0, \"close_reason\":null}, got %s"
                      % (what, j({"op": "status", "sock": s1}), j(st0)))
    ok(j(st0))

    up = os.urandom(3000)
    check("the client sends %d bytes; recv (max 1000) returns them all, \"eof\":false" % len(up))
    cl.sendall(up)
    got = coda_recv_all(c, what, s1, len(up), mx=1000)
    if got != up:
        raise Failure("%s: recv: the bytes differ from those the Linux client sent" % what)
    ok("%d bytes received, identical" % len(got))
    check("recv with nothing more to read: EAGAIN")
    c.err("recv, nothing to read", ["EAGAIN"], op="recv", sock=s1, max=100)
    ok("EAGAIN")
    down = os.urandom(5000)
    check("send %d bytes (hex); the client receives them" % len(down))
    coda_send_all(c, what, s1, down)
    if linux_recv_exact(cl, what, len(down)) != down:
        raise Failure("%s: the Linux client received bytes different from those sent" % what)
    ok("the client received the %d bytes" % len(down))
    check("status: ESTABLISHED; snd_nxt advanced by %d, rcv_nxt by %d (mod 2^32); snd_una "
          "reaches snd_nxt; rcv_wnd > 0" % (len(down), len(up)))
    rep, _ = poll_status(c, what, s1, "ESTABLISHED", 3, set())
    for _ in range(150):
        if rep["snd_una"] == rep["snd_nxt"]:
            break
        time.sleep(0.02)
        rep = c.status(what, s1)
    if rep["state"] != "ESTABLISHED" or sdiff(rep["snd_nxt"], st0["snd_nxt"]) != len(down) or \
            sdiff(rep["rcv_nxt"], st0["rcv_nxt"]) != len(up) or \
            rep["snd_una"] != rep["snd_nxt"] or rep["rcv_wnd"] <= 0 or \
            rep["close_reason"] is not None:
        raise Failure("%s: status after %d bytes in and %d out: expected ESTABLISHED, snd_nxt = "
                      "%d + %d, rcv_nxt = %d + %d (mod 2^32), snd_una = snd_nxt (the client "
                      "ACKed), rcv_wnd > 0, close_reason null; got %s (before: %s)"
                      % (what, len(up), len(down), st0["snd_nxt"], len(down), st0["rcv_nxt"],
                         len(up), j(rep), j(st0)))
    ok(j(rep))

    check("the client shuts down its write side: recv returns \"eof\":true, status CLOSE-WAIT "
          "with rcv_nxt advanced by one more (the FIN)")
    cl.shutdown(socket.SHUT_WR)
    coda_recv_eof(c, what, s1)
    rep, _ = poll_status(c, what, s1, "CLOSE-WAIT", 2, {"ESTABLISHED"})
    if sdiff(rep["rcv_nxt"], st0["rcv_nxt"]) != len(up) + 1:
        raise Failure("%s: status in CLOSE-WAIT: rcv_nxt %d, expected %d + %d + 1 (data and FIN)"
                      ": %s" % (what, rep["rcv_nxt"], st0["rcv_nxt"], len(up), j(rep)))
    ok("EOF; %s" % j(rep))
    check("close: {\"ok\":true}; the client reads EOF; status goes LAST-ACK -> CLOSED with "
          "close_reason \"normal\" within 3 s")
    c.ok(what, op="close", sock=s1)
    linux_recv_eof(cl, what)
    rep, seen = poll_status(c, what, s1, "CLOSED", 3, {"CLOSE-WAIT", "LAST-ACK"})
    if rep["close_reason"] != "normal":
        raise Failure("%s: status after close and the client's ACK: expected {\"ok\":true,"
                      "\"state\":\"CLOSED\",...,\"close_reason\":\"normal\"}, got %s"
                      % (what, j(rep)))
    ok("states seen after close: %s; %s" % (" -> ".join(seen), j(rep)))
    cl.close()
    check("close again: EBADF; status still CLOSED, close_reason \"normal\"")
    c.err(what + ", second close", ["EBADF"], op="close", sock=s1)
    expect_state(c, what + ", status after the second close", s1, "CLOSED", "normal")
    ok("EBADF, then CLOSED normal")
    check("coda holds no TIME-WAIT for it (the client closed first)")
    coda_no_tw(c, what, (coda, a.port, peer, lport))
    ok("lookup: CLOSED")

    if a.coda6:
        what = "passive IPv6"
        say("== IPv6: the listener takes IPv6 connections too")
        cl = linux_connect(a.coda6, a.port)
        lport6 = cl.getsockname()[1]
        check("accept: \"peer\":\"%s\"" % hostport(a.peer6, lport6))
        rep = coda_accept(c, what, lsock)
        s6 = rep["sock"]
        if rep["peer"] != hostport(a.peer6, lport6):
            raise Failure("%s: request %s: expected \"peer\":\"%s\", got %s" % (
                what, j({"op": "accept", "sock": lsock}), hostport(a.peer6, lport6), j(rep)))
        ok("accepted sock %d, peer %s" % (s6, rep["peer"]))
        cl.close()
        coda_recv_eof(c, what, s6)
        c.ok(what, op="close", sock=s6)
        poll_status(c, what, s6, "CLOSED", 3, {"ESTABLISHED", "CLOSE-WAIT", "LAST-ACK"})
        ok("closed")

    ls = socket.socket(fam_of(peer), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((peer, a.peer_port))
    ls.listen(8)
    ls.settimeout(10)

    what = "connect with sport"
    say("== connect with sport, data both ways, shutdown rd, abort")
    sport = a.sport
    req = {"op": "connect", "addr": peer, "port": a.peer_port, "sport": sport}
    check("%s: a sock at once; status ESTABLISHED within 10 s" % j(req))
    rep = c.ok(what, **req)
    s2 = rep.get("sock")
    if not is_int(s2):
        raise Failure("%s: request %s: expected {\"ok\":true,\"sock\":ID}, got %s"
                      % (what, j(req), j(rep)))
    rep, seen = poll_status(c, what, s2, "ESTABLISHED", 10, {"SYN-SENT", "CLOSED"})
    ok("sock %d: %s" % (s2, " -> ".join(seen)))
    try:
        lc, addr = ls.accept()
    except socket.timeout:
        raise Failure("%s: the Linux listener got no connection within 10 s" % what)
    check("the Linux listener sees the peer %s" % hostport(coda, sport))
    if addr[0] != coda or addr[1] != sport:
        raise Failure("%s: the Linux listener's peer is %s, expected %s (sport %d)"
                      % (what, hostport(addr[0], addr[1]), hostport(coda, sport), sport))
    ok("peer %s" % hostport(addr[0], addr[1]))
    check("send 2000 bytes each way")
    d1, d2 = os.urandom(2000), os.urandom(2000)
    coda_send_all(c, what, s2, d1)
    if linux_recv_exact(lc, what, len(d1)) != d1:
        raise Failure("%s: the Linux side received bytes different from those sent" % what)
    lc.sendall(d2)
    if coda_recv_all(c, what, s2, len(d2)) != d2:
        raise Failure("%s: recv: bytes different from those the Linux side sent" % what)
    ok("2000 bytes each way")
    check("shutdown how \"sideways\": EINVAL; shutdown rd: {\"ok\":true}, then recv says "
          "\"eof\":true (POSIX; docs/control.md)")
    c.err(what, ["EINVAL"], op="shutdown", sock=s2, how="sideways")
    c.ok(what, op="shutdown", sock=s2, how="rd")
    kind, val, rep = recv_reply(c, what, s2, 100)
    if kind != "eof":
        raise Failure("%s: recv after shutdown rd: expected {\"ok\":true,\"hex\":\"\","
                      "\"eof\":true}, got %s" % (what, j(rep)))
    ok("EINVAL, then EOF after shutdown rd")
    check("abort: {\"ok\":true}; the Linux side gets ECONNRESET; status CLOSED, close_reason "
          "\"aborted\"")
    c.ok(what, op="abort", sock=s2)
    linux_expect_reset(lc, what)
    lc.close()
    rep, _ = poll_status(c, what, s2, "CLOSED", 2, {"ESTABLISHED"})
    if rep["close_reason"] != "aborted":
        raise Failure("%s: status after abort: expected {\"ok\":true,\"state\":\"CLOSED\",...,"
                      "\"close_reason\":\"aborted\"}, got %s" % (what, j(rep)))
    ok("ECONNRESET on Linux; %s" % j(rep))
    check("abort again: EBADF; no TIME-WAIT on either side")
    c.err(what + ", second abort", ["EBADF"], op="abort", sock=s2)
    coda_no_tw(c, what, (coda, sport, peer, a.peer_port))
    linux_tw(what, hostport(peer, a.peer_port), hostport(coda, sport), False)
    ok("EBADF; lookup CLOSED; Linux socket gone")

    what = "connect, coda closes first"
    say("== connect without sport; coda closes first: TIME-WAIT on coda's side, then lookup")
    req = {"op": "connect", "addr": peer, "port": a.peer_port}
    check("%s: a sock; ESTABLISHED" % j(req))
    rep = c.ok(what, **req)
    s3 = rep.get("sock")
    if not is_int(s3):
        raise Failure("%s: request %s: expected {\"ok\":true,\"sock\":ID}, got %s"
                      % (what, j(req), j(rep)))
    poll_status(c, what, s3, "ESTABLISHED", 10, {"SYN-SENT", "CLOSED"})
    try:
        lc, addr = ls.accept()
    except socket.timeout:
        raise Failure("%s: the Linux listener got no connection within 10 s" % what)
    cport = addr[1]
    if addr[0] != coda:
        raise Failure("%s: the Linux listener's peer is %s, expected %s"
                      % (what, addr[0], coda))
    ok("sock %d, coda's port %d" % (s3, cport))
    d = os.urandom(100)
    coda_send_all(c, what, s3, d)
    if linux_recv_exact(lc, what, len(d)) != d:
        raise Failure("%s: the Linux side received bytes different from those sent" % what)
    check("close: the Linux side reads EOF; status FIN-WAIT-2 (the FIN is ACKed)")
    c.ok(what, op="close", sock=s3)
    linux_recv_eof(lc, what)
    rep, seen = poll_status(c, what, s3, "FIN-WAIT-2", 3, {"ESTABLISHED", "FIN-WAIT-1"})
    ok("EOF on Linux; coda %s" % " -> ".join(seen))
    tup = (coda, cport, peer, a.peer_port)
    check("the Linux side closes: lookup says TIME-WAIT, 0 < expires_in_ms <= 2*MSL*%.2f "
          "(MSL %d ms from config, unchanged by the refused one); status TIME-WAIT; Linux holds "
          "no TIME-WAIT"
          % (LATENESS, msl))
    t_fin = time.monotonic()
    lc.close()
    coda_tw_check(c, what, tup, msl, t_fin)
    rep = c.status(what, s3)
    if rep["state"] != "TIME-WAIT":
        raise Failure("%s: request %s: expected \"state\":\"TIME-WAIT\" (docs/control.md: after "
                      "close, status follows the table), got %s"
                      % (what, j({"op": "status", "sock": s3}), j(rep)))
    linux_tw(what, hostport(peer, a.peer_port), hostport(coda, cport), False)
    ok("status %s; Linux socket gone" % j(rep))
    check("a tuple never used: lookup CLOSED; a bad address: EINVAL")
    rep = c.lookup("lookup, never used", coda, 9, peer, 1)
    if rep["state"] != "CLOSED":
        raise Failure("lookup of a tuple never used: request %s: expected {\"ok\":true,"
                      "\"state\":\"CLOSED\"}, got %s" % (
                          j(dict(op="lookup", laddr=coda, lport=9, raddr=peer, rport=1)), j(rep)))
    c.err("lookup, bad address", ["EINVAL"], op="lookup", laddr="not-an-address", lport=1,
          raddr=peer, rport=1)
    ok("CLOSED; EINVAL")
    check("coda's TIME-WAIT entry is gone within 2*MSL*%.2f; then status CLOSED, close_reason "
          "\"normal\"" % LATENESS)
    coda_tw_gone(c, what, tup, msl, t_fin)
    expect_state(c, what, s3, "CLOSED", "normal")
    ok("CLOSED normal")
    ls.close()

    say("== stats after all that")
    rep = c.ok("stats", op="stats")
    cnt = rep.get("counters")
    if not isinstance(cnt, dict) or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                        for v in cnt.values()):
        raise Failure("stats: expected {\"ok\":true,\"counters\":{NAME:NUMBER,...}}, got %s"
                      % j(rep)[:400])
    ok("stats: %s" % ", ".join("%s=%s" % (k, v) for k, v in cnt.items() if v)[:600])
    c.close()
    say("result: passed (%d control requests)" % c.n)


# --- close patterns -------------------------------------------------------------


class Capture:
    """tcpdump on the peer's interface, to a file, for the listener's port."""

    def __init__(self, iface, path, port):
        self.path = path
        # --immediate-mode: packets are handed over at once, not in blocks
        # that a stop would lose; -U: written to the file at once.
        self.p = subprocess.Popen(["tcpdump", "-i", iface, "-nn", "--immediate-mode", "-U",
                                   "-B", "8192",
                                   "-w", path,
                                   "tcp port %d" % port],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = b""
        deadline = time.monotonic() + 10
        while b"listening on" not in err:
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                self.stop()
                raise Failure("tcpdump -i %s did not start capturing within 10 s: %s"
                              % (iface, err.decode("utf-8", "replace").strip()))
            r, _, _ = select.select([self.p.stderr], [], [], left)
            if r:
                d = os.read(self.p.stderr.fileno(), 4096)
                if not d:
                    time.sleep(0.05)
                err += d

    def stop(self):
        """SIGINT; returns tcpdump's closing lines (its packet counts)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        try:
            err = self.p.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            err = ""
        self.p.stderr.close()
        return " ".join(err.split())

    def packets(self):
        """The TCP segments in the file, read back with tshark: tuples (src,
        sport, dst, dport, flags, line, seq, ack) with tcpdump's conventions.
        flags in tcpdump's letters and order (F S R P, "." for ACK, U E W e;
        "none"); seq the sequence number a FIN occupies: the end of the range
        when the segment carries data, the start otherwise, None for a bare
        ACK; ack None unless the ACK flag is set. Both relative per connection
        and direction, absolute in SYNs (as tcpdump prints them). line: a
        tcpdump-style summary of the segment, for failure messages."""
        tshark_or_fail()
        fields = ["frame.number", "frame.time_relative", "ip.src", "ipv6.src", "tcp.srcport",
                  "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.seq_raw",
                  "tcp.ack", "tcp.ack_raw", "tcp.len", "tcp.window_size_value"]
        # Relative numbers need the sequence analysis: both set, whatever
        # a preferences file says.
        cmd = ["tshark", "-n", "-o", "tcp.analyze_sequence_numbers:TRUE",
               "-o", "tcp.relative_sequence_numbers:TRUE", "-r", self.path, "-Y", "tcp and not icmp and not icmpv6",
               "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]
        for f in fields:
            cmd += ["-e", f]
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        except subprocess.TimeoutExpired:
            raise Failure("tshark -r %s did not finish within 30 s" % self.path)
        if r.returncode != 0:
            raise Failure("tshark -r %s failed (status %d): %s" % (
                self.path, r.returncode,
                " ".join(r.stderr.decode("utf-8", "replace").split())[:400]))
        pk = []
        for row in r.stdout.decode("utf-8", "replace").splitlines():
            v = dict(zip(fields, row.split("\t")))
            if len(v) != len(fields) or not v["tcp.flags"]:
                continue
            try:
                src = v["ip.src"] or v["ipv6.src"]
                dst = v["ip.dst"] or v["ipv6.dst"]
                sport, dport = int(v["tcp.srcport"]), int(v["tcp.dstport"])
                fl = int(v["tcp.flags"], 0)
                length = int(v["tcp.len"] or 0)
                rel_seq, raw_seq = int(v["tcp.seq"]), int(v["tcp.seq_raw"])
                rel_ack, raw_ack = int(v["tcp.ack"] or 0), int(v["tcp.ack_raw"] or 0)
            except (KeyError, ValueError):
                raise Failure("tshark -r %s: a line not understood: %r" % (self.path, row))
            flags = "".join(c for bit, c in TCP_FLAG_LETTERS if fl & bit) or "none"
            syn = fl & 0x02
            base = raw_seq if syn else rel_seq
            ack = (raw_ack if syn else rel_ack) if fl & 0x10 else None
            # The sequence number a FIN occupies: the end of the range when
            # the segment carries data.
            if length > 0:
                seq, seqtxt = base + length, "seq %d:%d" % (base, base + length)
            elif fl & 0x07:
                seq, seqtxt = base, "seq %d" % base
            else:
                seq, seqtxt = None, None
            ip = "IP6" if ":" in src else "IP"
            line = "#%s %.6f %s %s.%d > %s.%d: Flags [%s]%s%s, win %s, length %d" % (
                v["frame.number"], float(v["frame.time_relative"] or 0), ip, src, sport, dst,
                dport, flags, ", " + seqtxt if seqtxt else "",
                ", ack %d" % ack if ack is not None else "", v["tcp.window_size_value"],
                length)
            pk.append((src, sport, dst, dport, flags, line, seq, ack))
        return pk


# tcpdump's letters for the TCP flags, in its order (print-tcp.c).
TCP_FLAG_LETTERS = [(0x001, "F"), (0x002, "S"), (0x004, "R"), (0x008, "P"), (0x010, "."),
                    (0x020, "U"), (0x040, "E"), (0x080, "W"), (0x100, "e")]


def tshark_or_fail():
    if not shutil.which("tshark"):
        raise Failure("tshark not found: the capture is read with tshark (scripts/setup.sh "
                      "installs it; or apt-get install tshark)")


class Conn:
    pass


def new_conn(a, c, what, lsock):
    k = Conn()
    k.lin = linux_connect(a.coda, a.port)
    k.lport = k.lin.getsockname()[1]
    rep = coda_accept(c, what, lsock)
    k.sock = rep["sock"]
    if rep["peer"] != hostport(a.peer, k.lport):
        raise Failure("%s: request %s: expected \"peer\":\"%s\", got %s" % (
            what, j({"op": "accept", "sock": lsock}), hostport(a.peer, k.lport), j(rep)))
    k.what = what
    k.tup = (a.coda, a.port, a.peer, k.lport)
    k.local = hostport(a.peer, k.lport)
    k.remote = hostport(a.coda, a.port)
    say("%s: Linux %s <-> coda %s, sock %d" % (what, k.local, k.remote, k.sock))
    return k


def exchange(c, what, k, n_up=1000, n_down=1000):
    up, down = os.urandom(n_up), os.urandom(n_down)
    k.lin.sendall(up)
    if coda_recv_all(c, what, k.sock, n_up) != up:
        raise Failure("%s: coda received bytes different from those Linux sent" % what)
    coda_send_all(c, what, k.sock, down)
    if linux_recv_exact(k.lin, what, n_down) != down:
        raise Failure("%s: Linux received bytes different from those coda sent" % what)


def finish_closed(c, what, k, reason, allowed, seconds=3):
    rep, seen = poll_status(c, what, k.sock, "CLOSED", seconds, allowed)
    if reason is not None and rep["close_reason"] not in reason:
        raise Failure("%s: status of sock %d once CLOSED: expected close_reason %s, got %s"
                      % (what, k.sock, " or ".join('"%s"' % r for r in reason), j(rep)))
    return rep, seen


def p_client_first(a, c, lsock):
    what = "client-close-first"
    check("%s: Linux close(); coda recv EOF, status CLOSE-WAIT; coda close: LAST-ACK -> "
          "CLOSED \"normal\"; TIME-WAIT on Linux's side only" % what)
    k = new_conn(a, c, what, lsock)
    exchange(c, what, k)
    k.lin.close()
    coda_recv_eof(c, what, k.sock)
    poll_status(c, what, k.sock, "CLOSE-WAIT", 2, {"ESTABLISHED"})
    c.ok(what, op="close", sock=k.sock)
    rep, seen = finish_closed(c, what, k, ["normal"], {"CLOSE-WAIT", "LAST-ACK"})
    linux_tw(what, k.local, k.remote, True)
    coda_no_tw(c, what, k.tup)
    ok("%s: coda EOF, %s, close_reason %s; Linux TIME-WAIT, coda none"
       % (what, " -> ".join(seen), rep["close_reason"]))
    return [(k, "linux-fin-first")]


def p_coda_first(a, c, lsock):
    what = "coda-close-first"
    check("%s: coda close; Linux reads EOF, closes; coda TIME-WAIT (lookup), Linux none; the "
          "entry ends after 2*MSL (<= 2*MSL*%.2f); status CLOSED \"normal\"" % (what, LATENESS))
    k = new_conn(a, c, what, lsock)
    exchange(c, what, k)
    c.ok(what, op="close", sock=k.sock)
    linux_recv_eof(k.lin, what)
    poll_status(c, what, k.sock, "FIN-WAIT-2", 3, {"ESTABLISHED", "FIN-WAIT-1"})
    t_fin = time.monotonic()
    k.lin.close()
    coda_tw_check(c, what, k.tup, a.msl_ms, t_fin)
    linux_tw(what, k.local, k.remote, False)
    coda_tw_gone(c, what, k.tup, a.msl_ms, t_fin)
    expect_state(c, what, k.sock, "CLOSED", "normal")
    ok("%s: Linux EOF; coda TIME-WAIT then CLOSED \"normal\"; Linux none" % what)
    return [(k, "coda-fin-first")]


# Delays (s) between the control request "shutdown wr" and Linux's
# shutdown(SHUT_WR): the request takes a while to reach coda's wire, so the
# FINs cross only for some delay. Tried in order until both sides end in
# TIME-WAIT (the FINs crossed: CLOSING on both sides).
SIMUL_DELAYS = (0, 0.0001, 0.0002, 0.0004, 0.0007, 0.001, 0.0015, 0.002)


def p_simultaneous(a, c, lsock):
    what = "simultaneous"
    check("%s: coda shutdown wr and Linux shutdown(SHUT_WR) at nearly the same time (up to %d "
          "tries, until the FINs cross); each reads EOF; both close; at least one side holds "
          "TIME-WAIT, both when the FINs crossed; coda's ends in time; no RST"
          % (what, len(SIMUL_DELAYS)))
    done = []
    for i, delay in enumerate(SIMUL_DELAYS):
        w = "%s #%d (delay %.1f ms)" % (what, i + 1, delay * 1000)
        k = new_conn(a, c, w, lsock)
        exchange(c, w, k)
        req = {"op": "shutdown", "sock": k.sock, "how": "wr"}
        c.send_line(j(req).encode())
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < delay:
            pass
        t_fin = time.monotonic()
        k.lin.shutdown(socket.SHUT_WR)
        rep = c.read_reply(j(req))
        if not rep["ok"]:
            raise Failure("%s: request %s: expected {\"ok\":true}, got %s" % (w, j(req), j(rep)))
        linux_recv_eof(k.lin, w)
        coda_recv_eof(c, w, k.sock)
        k.lin.close()
        c.ok(w, op="close", sock=k.sock)
        # Both sides settle (the last ACKs) within 3 s.
        for _ in range(60):
            time.sleep(0.05)
            lst = ss_states(k.local, k.remote)
            rep = c.lookup(w, *k.tup)
            if lst in ([], ["TIME-WAIT"]) and rep["state"] in ("TIME-WAIT", "CLOSED"):
                break
        k.sides = []
        if lst == ["TIME-WAIT"]:
            k.sides.append("Linux")
        elif lst:
            raise Failure("%s: Linux socket %s -> %s: expected TIME-WAIT or gone within 3 s, ss "
                          "shows %s" % (w, k.local, k.remote, " ".join(lst)))
        if rep["state"] == "TIME-WAIT":
            k.sides.append("coda")
        elif rep["state"] != "CLOSED":
            raise Failure("%s: lookup: expected TIME-WAIT or CLOSED within 3 s after both closed, "
                          "got %s" % (w, j(rep)))
        if not k.sides:
            raise Failure("%s: neither side holds TIME-WAIT after the close (Linux: gone; "
                          "coda: %s)" % (w, j(rep)))
        ok("%s: EOF both ways; TIME-WAIT on %s" % (w, " and ".join(k.sides)))
        if "coda" in k.sides:
            coda_tw_check(c, w, k.tup, a.msl_ms, t_fin)
            coda_tw_gone(c, w, k.tup, a.msl_ms, t_fin)
        else:
            finish_closed(c, w, k, ["normal"], {"FIN-WAIT-1", "FIN-WAIT-2", "CLOSING",
                                                "LAST-ACK", "CLOSE-WAIT", "TIME-WAIT"})
        expect_state(c, w, k.sock, "CLOSED", "normal")
        done.append((k, "fins"))
        if len(k.sides) == 2:
            ok("%s: the FINs crossed (TIME-WAIT on both sides) at try %d" % (what, i + 1))
            break
    else:
        say("note: %s: the FINs never crossed in %d tries (best effort; the capture shows who "
            "sent first)" % (what, len(SIMUL_DELAYS)))
    return done


def p_linger0(a, c, lsock):
    what = "linux-linger0"
    check("%s: Linux SO_LINGER {1, 0} close (RST); coda status CLOSED \"reset\", recv "
          "ECONNRESET; no TIME-WAIT anywhere" % what)
    k = new_conn(a, c, what, lsock)
    exchange(c, what, k)
    k.lin.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    k.lin.close()
    rep, _ = finish_closed(c, what, k, ["reset"], {"ESTABLISHED"})
    coda_recv_error(c, what, k.sock, "ECONNRESET")
    c.ok(what + ", close after the reset", op="close", sock=k.sock)
    expect_state(c, what, k.sock, "CLOSED", "reset")
    coda_no_tw(c, what, k.tup)
    linux_tw(what, k.local, k.remote, False)
    ok("%s: coda CLOSED \"reset\", recv ECONNRESET; no TIME-WAIT" % what)
    return [(k, "linux-rst")]


def p_coda_abort(a, c, lsock):
    what = "coda-abort"
    check("%s: coda abort; Linux recv ECONNRESET; status CLOSED \"aborted\"; no TIME-WAIT"
          % what)
    k = new_conn(a, c, what, lsock)
    exchange(c, what, k)
    c.ok(what, op="abort", sock=k.sock)
    linux_expect_reset(k.lin, what)
    k.lin.close()
    finish_closed(c, what, k, ["aborted"], {"ESTABLISHED"})
    coda_no_tw(c, what, k.tup)
    linux_tw(what, k.local, k.remote, False)
    ok("%s: Linux ECONNRESET; coda CLOSED \"aborted\"; no TIME-WAIT" % what)
    return [(k, "coda-rst")]


def p_unread_coda(a, c, lsock):
    what = "unread-coda"
    check("%s: Linux sends 100 bytes coda never reads; coda close sends RST: Linux recv "
          "ECONNRESET; coda CLOSED; no TIME-WAIT" % what)
    k = new_conn(a, c, what, lsock)
    exchange(c, what, k)
    st0 = c.status(what, k.sock)
    k.lin.sendall(os.urandom(100))
    for _ in range(150):
        rep = c.status(what, k.sock)
        if sdiff(rep["rcv_nxt"], st0["rcv_nxt"]) >= 100:
            break
        time.sleep(0.02)
    else:
        raise Failure("%s: coda's rcv_nxt did not advance by 100 within 3 s: %s -> %s"
                      % (what, j(st0), j(rep)))
    c.ok(what, op="close", sock=k.sock)
    linux_expect_reset(k.lin, what)
    k.lin.close()
    rep, _ = finish_closed(c, what, k, None, {"ESTABLISHED"})
    if rep["close_reason"] not in ("aborted", "normal"):
        raise Failure("%s: status after close with unread data: expected close_reason "
                      "\"aborted\" (or \"normal\"), got %s" % (what, j(rep)))
    coda_no_tw(c, what, k.tup)
    linux_tw(what, k.local, k.remote, False)
    ok("%s: Linux ECONNRESET; coda CLOSED, close_reason \"%s\"; no TIME-WAIT"
       % (what, rep["close_reason"]))
    return [(k, "coda-rst")]


def p_unread_linux(a, c, lsock):
    what = "unread-linux"
    check("%s: coda sends 100 bytes Linux never reads; Linux close sends RST: coda status "
          "CLOSED \"reset\", recv ECONNRESET; no TIME-WAIT" % what)
    k = new_conn(a, c, what, lsock)
    exchange(c, what, k)
    coda_send_all(c, what, k.sock, os.urandom(100))
    for _ in range(150):
        if linux_inq(k.lin) >= 100:
            break
        time.sleep(0.02)
    else:
        raise Failure("%s: the 100 bytes coda sent did not reach Linux within 3 s" % what)
    k.lin.close()
    finish_closed(c, what, k, ["reset"], {"ESTABLISHED"})
    coda_recv_error(c, what, k.sock, "ECONNRESET")
    c.ok(what + ", close after the reset", op="close", sock=k.sock)
    coda_no_tw(c, what, k.tup)
    linux_tw(what, k.local, k.remote, False)
    ok("%s: coda CLOSED \"reset\", recv ECONNRESET; no TIME-WAIT" % what)
    return [(k, "linux-rst")]


def p_shutwr_data_back(a, c, lsock):
    what = "linux-shutwr-data-back"
    n = 256 * 1024
    check("%s: Linux sends 1000 bytes and shuts down its write side; coda reads them and EOF, "
          "then sends %d bytes in CLOSE-WAIT and closes; Linux receives all of them, then EOF; "
          "TIME-WAIT on Linux's side only" % (what, n))
    k = new_conn(a, c, what, lsock)
    up = os.urandom(1000)
    k.lin.sendall(up)
    k.lin.shutdown(socket.SHUT_WR)
    if coda_recv_all(c, what, k.sock, len(up)) != up:
        raise Failure("%s: coda received bytes different from those Linux sent" % what)
    coda_recv_eof(c, what, k.sock)
    poll_status(c, what, k.sock, "CLOSE-WAIT", 2, {"ESTABLISHED"})
    down = os.urandom(n)
    got = bytearray()
    k.lin.setblocking(False)

    def drain():
        for _ in range(64):
            try:
                d = k.lin.recv(65536)
            except BlockingIOError:
                return
            if not d:
                raise Failure("%s: Linux read EOF after %d of %d bytes, while coda was still "
                              "sending" % (what, len(got), n))
            got.extend(d)

    coda_send_all(c, what, k.sock, down, seconds=40, idle=drain)
    c.ok(what, op="close", sock=k.sock)
    k.lin.setblocking(True)
    rest = linux_recv_exact(k.lin, what, n - len(got), seconds=20) if len(got) < n else b""
    got.extend(rest)
    linux_recv_eof(k.lin, what)
    if bytes(got) != down:
        raise Failure("%s: Linux received %d bytes, different from the %d coda sent"
                      % (what, len(got), n))
    k.lin.close()
    rep, seen = finish_closed(c, what, k, ["normal"], {"CLOSE-WAIT", "LAST-ACK"}, seconds=10)
    linux_tw(what, k.local, k.remote, True)
    coda_no_tw(c, what, k.tup)
    ok("%s: %d bytes then EOF on Linux; coda %s \"normal\"; Linux TIME-WAIT, coda none"
       % (what, n, " -> ".join(seen)))
    return [(k, "linux-fin-first")]


PATTERNS = [("client-close-first", p_client_first), ("coda-close-first", p_coda_first),
            ("simultaneous", p_simultaneous), ("linux-linger0", p_linger0),
            ("coda-abort", p_coda_abort), ("unread-coda", p_unread_coda),
            ("unread-linux", p_unread_linux), ("linux-shutwr-data-back", p_shutwr_data_back)]


def check_capture(name, k, kind, pk):
    """The FIN/RST sequence of one connection in the capture."""
    seq = []
    for _src, sp, _dst, dp, flags, line, sq, ack in pk:
        if sp == k.lport and dp == k.tup[1]:
            seq.append(("L", flags, line, sq, ack))
        elif dp == k.lport and sp == k.tup[1]:
            seq.append(("C", flags, line, sq, ack))
    # The trace, runs of segments without SYN, FIN or RST folded ("C[.]x12").
    runs = []
    for d, f, _, _, _ in seq:
        if runs and runs[-1][0] == (d, f) and not set(f) & set("SFR"):
            runs[-1][1] += 1
        else:
            runs.append([(d, f), 1])
    trace = "; ".join("%s[%s]%s" % (d, f, "x%d" % n if n > 1 else "") for (d, f), n in runs)
    fins = [d for d, f, _, _, _ in seq if "F" in f]
    rsts = [d for d, f, _, _, _ in seq if "R" in f]

    def bad(why):
        # SYN, FIN and RST segments, and the last 5 of the connection.
        for i, (_, f, line, _, _) in enumerate(seq):
            if set(f) & set("SFR") or i >= len(seq) - 5:
                print("control_test:   | " + line, flush=True)
        raise Failure("capture, %s (Linux port %d; L = Linux, C = coda): %s; saw %s"
                      % (name, k.lport, why, trace))

    if not seq or "S" not in seq[0][1]:
        bad("the capture does not start with the client's SYN")
    if kind == "linux-fin-first":
        if rsts:
            bad("expected no RST")
        if fins[:1] != ["L"] or "C" not in fins:
            bad("expected Linux's FIN first, then coda's")
    elif kind == "coda-fin-first":
        if rsts:
            bad("expected no RST")
        if fins[:1] != ["C"] or "L" not in fins:
            bad("expected coda's FIN first, then Linux's")
    elif kind == "fins":
        if rsts:
            bad("expected no RST")
        if "L" not in fins or "C" not in fins:
            bad("expected a FIN each way")
        # The FINs crossed when neither acknowledges the other's.
        lf = next(x for x in seq if x[0] == "L" and "F" in x[1])
        cf = next(x for x in seq if x[0] == "C" and "F" in x[1])
        crossed = cf[4] == lf[3] and lf[4] == cf[3]
        first = "Linux" if fins[0] == "L" else "coda"
        if crossed and sorted(k.sides) != ["Linux", "coda"]:
            bad("the FINs crossed (each acknowledges only the data before the other's FIN), "
                "so both sides go through CLOSING to TIME-WAIT; TIME-WAIT was on %s only"
                % " and ".join(k.sides))
        if not crossed and first not in k.sides:
            bad("%s's FIN came first and the other FIN acknowledged it, so %s must hold "
                "TIME-WAIT; it was on %s" % (first, first, " and ".join(k.sides)))
        trace += " (%s)" % ("the FINs crossed" if crossed else first + "'s FIN first")
    elif kind == "linux-rst":
        if "L" not in rsts:
            bad("expected an RST from Linux")
        if "C" in rsts:
            bad("coda answered an RST with an RST (RFC 9293 3.10.7.1: never)")
        if fins:
            bad("expected no FIN")
    elif kind == "coda-rst":
        if "C" not in rsts:
            bad("expected an RST from coda")
        if "C" in fins:
            bad("expected no FIN from coda (RST instead)")
    return trace


def cmd_close(a):
    c = Control(a.control, a.reply_timeout)
    cap = None
    try:
        if a.pcap:
            tshark_or_fail()
            cap = Capture(a.iface, a.pcap, a.port)
            say("tcpdump -i %s tcp port %d -> %s" % (a.iface, a.port, a.pcap))
        rep = c.ok("listen", op="listen", port=a.port, backlog=16)
        lsock = rep.get("sock")
        if not is_int(lsock):
            raise Failure("listen: expected {\"ok\":true,\"sock\":ID}, got %s" % j(rep))
        say("coda listens on %s, sock %d; MSL %d ms" % (hostport(a.coda, a.port), lsock,
                                                         a.msl_ms))
        done = []
        for name, fn in PATTERNS:
            if a.only and name not in a.only:
                continue
            say("== %s" % name)
            done.extend((k.what, k, kind) for k, kind in fn(a, c, lsock))
        if cap:
            time.sleep(0.3)
            stats = cap.stop()
            pk = cap.packets()
            say("== the capture: %d packets (tcpdump: %s)" % (len(pk), stats))
            for name, k, kind in done:
                check("capture, %s: %s" % (name, {
                    "linux-fin-first": "Linux's FIN first, then coda's; no RST",
                    "coda-fin-first": "coda's FIN first, then Linux's; no RST",
                    "fins": "a FIN each way; no RST",
                    "linux-rst": "an RST from Linux, none from coda; no FIN",
                    "coda-rst": "an RST from coda, no FIN from coda"}[kind]))
                ok("%s: %s" % (name, check_capture(name, k, kind, pk)))
        say("result: passed (%d patterns, %d control requests)" % (len(done), c.n))
    except Failure:
        c.dump()
        raise
    finally:
        if cap:
            cap.stop()
        c.close()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cmd", choices=("ops", "close"))
    p.add_argument("--control", required=True, help="the control socket's path")
    p.add_argument("--coda", required=True, help="coda's IPv4 address")
    p.add_argument("--peer", required=True, help="this (the Linux) side's IPv4 address")
    p.add_argument("--coda6", help="coda's IPv6 address (ops: an IPv6 accept too)")
    p.add_argument("--peer6")
    p.add_argument("--port", type=int, default=7200, help="the port coda listens on")
    p.add_argument("--peer-port", type=int, default=7300, help="the Linux listener's port")
    p.add_argument("--sport", type=int, default=40123, help="coda's source port (ops)")
    p.add_argument("--msl-ms", type=int, default=500, help="coda's MSL (close)")
    p.add_argument("--iface", help="the peer's interface, for tcpdump (close)")
    p.add_argument("--pcap", help="capture to this file and check FIN/RST (close)")
    p.add_argument("--only", action="append", help="close: run only these patterns")
    p.add_argument("--reply-timeout", type=float, default=5.0)
    a = p.parse_args()
    if a.pcap and not a.iface:
        p.error("--pcap needs --iface")
    try:
        {"ops": cmd_ops, "close": cmd_close}[a.cmd](a)
    except Failure as e:
        say("FAIL: %s" % e)
        return 1
    except (OSError, subprocess.SubprocessError) as e:
        say("FAIL: unexpected error: %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
