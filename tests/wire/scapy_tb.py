#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A scapy test bench against coda-server: TCP segments written by hand.

Run by scapy.sh in namespace K, where the veth has no IP address (K's kernel
never answers anything): frames are built with scapy and sent and received on
a raw AF_PACKET socket on that veth. coda-server (namespace D) has a static
neighbour entry for the bench's address, so no ARP is needed, and is driven
through its control socket (docs/control.md). Each case is named after its
CASES.md id (/work/shared/conformance/CASES.md); the expected segments are
those of tests/conformance/test_conf_rst_tw.c.

  scapy_tb.py --control SOCK --iface IF --mac MAC --coda-mac MAC
              --coda A.B.C.D --peer A.B.C.D [--port P] [--closed-port P]
              [--msl-ms N] [CASE...]

Exit status 0: every case passed; 1: a case failed (the message says what was
expected, what came, and every segment seen from coda in that case).
Needs /usr/bin/python3 with Debian's python3-scapy.
"""

import argparse
import json
import random
import select
import socket
import sys
import time

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, TCP, Raw  # noqa: E402

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
WAIT = 1.0        # seconds to wait for each expected segment
QUIET = 0.4       # seconds of silence that mean "no reply"
M32 = 0xFFFFFFFF


class Fail(Exception):
    pass


def say(msg):
    print("scapy_tb: " + msg, flush=True)


def add(a, b):
    return (a + b) & M32


# ---------------------------------------------------------------------------
# The control socket


class Control:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(path)
        self.f = self.s.makefile("rw")

    def rpc(self, **req):
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        line = self.f.readline()
        if not line:
            raise Fail("control socket closed by coda-server (request %s)" % json.dumps(req))
        return json.loads(line)

    def ok(self, **req):
        r = self.rpc(**req)
        if not r.get("ok"):
            raise Fail("control %s failed: %s" % (json.dumps(req), json.dumps(r)))
        return r


# ---------------------------------------------------------------------------
# The wire


def fmt_flags(t):
    return str(t.flags) or "-"


class Seg:
    """A TCP segment from coda, with its numbers relative to the ISNs."""

    def __init__(self, pkt, t0):
        ip = pkt[IP]
        t = pkt[TCP]
        self.t = time.monotonic() - t0
        self.sport, self.dport = t.sport, t.dport
        self.flags = fmt_flags(t)
        self.seq, self.ack = t.seq, t.ack
        self.win = t.window
        self.opts = t.options
        self.len = len(bytes(t.payload))
        if ip.len:
            self.len = ip.len - ip.ihl * 4 - t.dataofs * 4

    def rel(self, conn):
        s, a = self.seq, self.ack
        if conn is not None:
            if conn.irs is not None:
                s = "S%+d" % (((self.seq - conn.irs) + 2**31) % 2**32 - 2**31)
            a = "R%+d" % (((self.ack - conn.iss) + 2**31) % 2**32 - 2**31)
        return "%.3fs %d>%d [%s] seq=%s ack=%s win=%d len=%d opts=%s" % (
            self.t, self.sport, self.dport, self.flags, s, a, self.win, self.len, self.opts)


class Wire:
    def __init__(self, a):
        self.a = a
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((a.iface, 0))
        self.t0 = time.monotonic()
        self.seen = []    # every segment from coda in the current case

    def send(self, sport, dport, flags, seq, ack=0, data=b"", options=None, window=65535):
        pkt = (Ether(src=self.a.mac, dst=self.a.coda_mac) /
               IP(src=self.a.peer, dst=self.a.coda) /
               TCP(sport=sport, dport=dport, flags=flags, seq=seq & M32, ack=ack & M32,
                   window=window, options=options or []))
        if data:
            pkt = pkt / Raw(data)
        self.s.send(bytes(pkt))

    def _recv(self, deadline):
        """The next TCP segment from coda before deadline, or None."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            data, addr = self.s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            try:
                pkt = Ether(data)
            except Exception:
                continue
            if IP not in pkt or TCP not in pkt or pkt[IP].src != self.a.coda:
                continue
            return Seg(pkt, self.t0)

    def drain(self):
        while self._recv(time.monotonic() + 0.01) is not None:
            pass
        self.seen = []

    def expect(self, what, sport, timeout=WAIT):
        """The first segment from coda to our port sport within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            seg = self._recv(deadline)
            if seg is None:
                raise Fail("expected %s, got nothing within %.1f s" % (what, timeout))
            self.seen.append(seg)
            if seg.dport == sport:
                return seg

    def collect(self, sport, duration):
        """Every segment from coda to sport within duration."""
        out = []
        deadline = time.monotonic() + duration
        while True:
            seg = self._recv(deadline)
            if seg is None:
                return out
            self.seen.append(seg)
            if seg.dport == sport:
                out.append(seg)

    def expect_none(self, what, sport, duration=QUIET):
        segs = self.collect(sport, duration)
        if segs:
            raise Fail("expected no segment %s within %.1f s, got %d" % (what, duration, len(segs)))


# ---------------------------------------------------------------------------
# Connections


class Conn:
    """One connection from the bench's side. iss: our ISN, irs: coda's.
    snd_nxt / rcv_nxt are the bench's (R and S+... in CASES.md terms are
    rcv_nxt = coda's RCV.NXT = our snd_nxt)."""

    def __init__(self, sport, dport):
        self.sport, self.dport = sport, dport
        self.iss = random.randrange(1 << 32)
        self.irs = None
        self.snd_nxt = self.iss    # coda's RCV.NXT once synchronized ("R")
        self.rcv_nxt = None        # coda's SND.NXT ("S")
        self.sock = None
        self.ts = False            # RFC 7323 timestamps on this connection
        self.tsval = random.randrange(1 << 20, 1 << 30)   # our TSval ("T")
        self.ts_recent = 0         # coda's last TSval, echoed in our TSecr


class Bench:
    def __init__(self, a):
        self.a = a
        self.w = Wire(a)
        self.ctl = Control(a.control)
        self.next_sport = random.randrange(20000, 30000)
        self.listener = self.ctl.ok(op="listen", port=a.port, backlog=16)["sock"]
        self.conn = None

    def sport(self):
        self.next_sport += 1
        return self.next_sport

    def csend(self, flags, seq, ack=0, data=b"", options=None, c=None):
        """A segment on connection c (the current one), with TSopt if it uses timestamps."""
        c = c or self.conn
        opts = list(options or [])
        if c.ts and not any(o[0] == "Timestamp" for o in opts):
            opts.append(("Timestamp", (c.tsval, c.ts_recent)))
        self.w.send(c.sport, c.dport, flags, seq, ack, data=data, options=opts)

    def check_ts(self, seg, what, tsecr):
        """seg carries TSopt with TSecr = tsecr; remember coda's TSval."""
        ts = [o[1] for o in seg.opts if o[0] == "Timestamp"]
        if not ts or ts[0][1] != tsecr & M32:
            raise Fail("%s: expected TSopt with TSecr %d, got options %s" % (what, tsecr & M32, seg.opts))
        self.conn.ts_recent = ts[0][0]
        say("  ok: %s: TSval %d TSecr %d" % (what, ts[0][0], ts[0][1]))

    # assertion helpers --------------------------------------------------
    def check_seg(self, seg, what, flags, seq=None, ack=None):
        c = self.conn
        bad = []
        if seg.flags != flags:
            bad.append("flags %s (expected %s)" % (seg.flags, flags))
        if seq is not None and seg.seq != seq & M32:
            bad.append("seq %d (expected %d)" % (seg.seq, seq & M32))
        if ack is not None and seg.ack != ack & M32:
            bad.append("ack %d (expected %d)" % (seg.ack, ack & M32))
        if bad:
            raise Fail("%s: got %s: %s" % (what, seg.rel(c), "; ".join(bad)))
        say("  ok: %s: %s" % (what, seg.rel(c)))

    def status(self, c=None):
        return self.ctl.ok(op="status", sock=(c or self.conn).sock)

    def lookup(self, c=None):
        c = c or self.conn
        return self.ctl.ok(op="lookup", laddr=self.a.coda, lport=c.dport,
                           raddr=self.a.peer, rport=c.sport)

    def expect_state(self, state, reason=False, via_lookup=False):
        c = self.conn
        r = self.lookup(c) if via_lookup else self.status(c)
        if r["state"] != state or (reason is not False and r.get("close_reason") != reason):
            raise Fail("coda's %s: expected state %s%s, got %s" % (
                "lookup" if via_lookup else "status", state,
                "" if reason is False else " close_reason %s" % json.dumps(reason), json.dumps(r)))
        say("  ok: coda %s: %s%s" % ("lookup" if via_lookup else "status", r["state"],
                                      "" if reason is False else " (close_reason %s)" % r.get("close_reason")))
        return r

    # the connection's life ---------------------------------------------
    def accept(self, what):
        """The listener's next connection: `accept` polled while it says EAGAIN (WAIT s)."""
        deadline = time.monotonic() + WAIT
        while True:
            r = self.ctl.rpc(op="accept", sock=self.listener)
            if r.get("ok"):
                return r
            if r.get("error") != "EAGAIN" or time.monotonic() > deadline:
                raise Fail("%s: %s" % (what, json.dumps(r)))
            time.sleep(0.01)

    def handshake(self, check_options=False, ts=False):
        """SYN (MSS only, or MSS and TSopt) -> SYN-ACK -> ACK, accepted through the control socket."""
        c = self.conn = Conn(self.sport(), self.a.port)
        self.w.drain()
        c.ts = ts
        self.csend("S", c.iss, options=[("MSS", 1460)])
        seg = self.w.expect("SYN-ACK to our SYN", c.sport)
        c.irs = seg.seq
        self.check_seg(seg, "SYN-ACK", "SA", ack=c.iss + 1)
        if ts:
            self.check_ts(seg, "SYN-ACK echoes our TSval", c.tsval)
            c.tsval = add(c.tsval, 10)
        if check_options:
            names = [o[0] for o in seg.opts]
            mss = [o[1] for o in seg.opts if o[0] == "MSS"]
            if not mss or not 536 <= mss[0] <= 1460:
                raise Fail("SYN-ACK: expected an MSS option in 536..1460, got options %s" % seg.opts)
            extra = [n for n in names if n in ("WScale", "Timestamp", "SAckOK", "SAck")]
            if extra:
                raise Fail("SYN-ACK: our SYN offered only MSS, yet coda's SYN-ACK carries %s" % extra)
            say("  ok: SYN-ACK options %s (MSS %d, nothing we did not offer)" % (seg.opts, mss[0]))
        c.snd_nxt = add(c.iss, 1)
        c.rcv_nxt = add(c.irs, 1)
        self.csend("A", c.snd_nxt, c.rcv_nxt)
        r = self.accept("accept after the handshake")
        want = "%s:%d" % (self.a.peer, c.sport)
        if r.get("peer") != want:
            raise Fail("accept: expected peer %s, got %s" % (want, json.dumps(r)))
        c.sock = r["sock"]
        self.expect_state("ESTABLISHED")
        return c

    def to_close_wait(self):
        c = self.conn
        self.csend("FA", c.snd_nxt, c.rcv_nxt)
        c.snd_nxt = add(c.snd_nxt, 1)
        seg = self.w.expect("ACK of our FIN", c.sport)
        self.check_seg(seg, "ACK of our FIN (B1)", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
        self.expect_state("CLOSE-WAIT")

    def active_close_to_fin_wait_2(self):
        c = self.conn
        self.ctl.ok(op="close", sock=c.sock)
        seg = self.w.expect("coda's FIN after close", c.sport)
        self.check_seg(seg, "coda's FIN (A1)", "FA", seq=c.rcv_nxt, ack=c.snd_nxt)
        c.rcv_nxt = add(c.rcv_nxt, 1)
        self.csend("A", c.snd_nxt, c.rcv_nxt)
        self.w.expect_none("after our ACK of coda's FIN", c.sport, 0.15)
        self.expect_state("FIN-WAIT-2", via_lookup=True)

    def to_time_wait(self):
        self.active_close_to_fin_wait_2()
        c = self.conn
        self.csend("FA", c.snd_nxt, c.rcv_nxt)
        c.snd_nxt = add(c.snd_nxt, 1)
        seg = self.w.expect("ACK of our FIN in FIN-WAIT-2", c.sport)
        self.check_seg(seg, "ACK of our FIN in FIN-WAIT-2", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
        r = self.expect_state("TIME-WAIT", via_lookup=True)
        limit = 2 * self.a.msl_ms * 1.07 + 500
        if not 0 < r.get("expires_in_ms", -1) <= limit:
            raise Fail("TIME-WAIT expires_in_ms %s, expected in (0, %d]" % (r.get("expires_in_ms"), limit))

    def cleanup_conn(self):
        """Leave nothing of the current connection in coda: RST at RCV.NXT."""
        c = self.conn
        if c is None or c.rcv_nxt is None:
            return
        self.w.send(c.sport, c.dport, "R", c.snd_nxt)


# ---------------------------------------------------------------------------
# Cases


def case_handshake_B1_B3(b):
    """handshake by hand (SYN-ACK ack=ISS+1, options), passive close B1/B3."""
    c = b.handshake(check_options=True)
    b.w.expect_none("after the handshake's ACK", c.sport, 0.2)
    b.to_close_wait()
    b.ctl.ok(op="close", sock=c.sock)
    seg = b.w.expect("coda's FIN in CLOSE-WAIT after close", c.sport)
    b.check_seg(seg, "coda's FIN (B3, LAST-ACK)", "FA", seq=c.rcv_nxt, ack=c.snd_nxt)
    c.rcv_nxt = add(c.rcv_nxt, 1)
    b.w.send(c.sport, c.dport, "A", c.snd_nxt, c.rcv_nxt)
    b.w.expect_none("after our ACK of coda's FIN", c.sport, 0.2)
    b.expect_state("CLOSED", reason="normal")
    b.expect_state("CLOSED", via_lookup=True)


def case_E8_ack_no_tcb(b):
    """< . seq=x ack=y to a closed port -> > R seq=y (no ACK bit)."""
    sp, x, y = b.sport(), random.randrange(1 << 32), random.randrange(1 << 32)
    b.conn = None
    b.w.drain()
    b.w.send(sp, b.a.closed_port, "A", x, y)
    seg = b.w.expect("RST to an ACK for a closed port", sp)
    b.check_seg(seg, "RST <SEQ=SEG.ACK>", "R", seq=y)
    b.w.expect_none("after that RST", sp, 0.2)


def case_E8_syn_no_tcb(b):
    """< S seq=x to a closed port -> > R. seq=0 ack=x+1."""
    sp, x = b.sport(), random.randrange(1 << 32)
    b.conn = None
    b.w.drain()
    b.w.send(sp, b.a.closed_port, "S", x, options=[("MSS", 1460)])
    seg = b.w.expect("RST,ACK to a SYN for a closed port", sp)
    b.check_seg(seg, "RST,ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>", "RA", seq=0, ack=x + 1)


def case_E8_data_no_ack_no_tcb(b):
    """< P seq=x len=10 (no ACK) to a closed port -> > R. seq=0 ack=x+10."""
    sp, x = b.sport(), random.randrange(1 << 32)
    b.conn = None
    b.w.drain()
    b.w.send(sp, b.a.closed_port, "P", x, data=b"0123456789")
    seg = b.w.expect("RST,ACK to data without ACK for a closed port", sp)
    b.check_seg(seg, "RST,ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>", "RA", seq=0, ack=x + 10)


def case_E7_rst_no_tcb(b):
    """< R and < R. to a closed port -> nothing."""
    sp = b.sport()
    b.conn = None
    b.w.drain()
    b.w.send(sp, b.a.closed_port, "R", random.randrange(1 << 32))
    b.w.send(sp, b.a.closed_port, "RA", random.randrange(1 << 32), random.randrange(1 << 32))
    b.w.expect_none("in answer to an RST for a closed port", sp)
    say("  ok: no answer to R / R. for a closed port")


def case_F1_rst_exact_established(b):
    """< R seq=RCV.NXT in ESTABLISHED -> no reply, CLOSED, close_reason reset."""
    c = b.handshake()
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    b.w.expect_none("in answer to the exact RST", c.sport)
    b.expect_state("CLOSED", reason="reset")
    c.rcv_nxt = None


def case_F2_rst_in_window_established(b):
    """< R seq=RCV.NXT+100 -> challenge ACK > . seq=SND.NXT ack=RCV.NXT, stays."""
    c = b.handshake()
    b.w.send(c.sport, c.dport, "R", c.snd_nxt + 100)
    seg = b.w.expect("challenge ACK to an in-window RST", c.sport)
    b.check_seg(seg, "challenge ACK", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after the challenge ACK", c.sport, 0.2)
    b.expect_state("ESTABLISHED", reason=None)
    # F2: a following exact RST then works (after the challenge interval
    # nothing is needed for this: an exact RST is never rate limited).
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    b.w.expect_none("in answer to the exact RST", c.sport)
    b.expect_state("CLOSED", reason="reset")
    c.rcv_nxt = None


def case_G1_syn_established(b):
    """< S in ESTABLISHED (seq far away) -> challenge ACK, stays."""
    c = b.handshake()
    b.w.send(c.sport, c.dport, "S", c.snd_nxt + 5000, options=[("MSS", 1460)])
    seg = b.w.expect("challenge ACK to a SYN in ESTABLISHED", c.sport)
    b.check_seg(seg, "challenge ACK", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after the challenge ACK", c.sport, 0.2)
    b.expect_state("ESTABLISHED", reason=None)


def case_F10_challenge_ack_rate_limited(b):
    """5 in-window RSTs back to back -> 1 challenge ACK; 0.6 s later another."""
    c = b.handshake()
    t_burst = time.monotonic()
    for i in range(5):
        b.w.send(c.sport, c.dport, "R", c.snd_nxt + 10 + i)
    segs = b.w.collect(c.sport, 0.3)
    if len(segs) != 1:
        raise Fail("expected exactly 1 challenge ACK for 5 in-window RSTs within 0.3 s, got %d" % len(segs))
    b.check_seg(segs[0], "the one challenge ACK of the burst", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    time.sleep(max(0, t_burst + 0.65 - time.monotonic()))   # past the 500 ms interval
    b.w.seen = []
    b.w.send(c.sport, c.dport, "R", c.snd_nxt + 50)
    seg = b.w.expect("a challenge ACK once the 500 ms interval has passed", c.sport)
    b.check_seg(seg, "challenge ACK after the interval", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.expect_state("ESTABLISHED", reason=None)


def case_H4_rst_time_wait_rfc1337_on(b):
    """TIME-WAIT (coda closed first); < R seq=RCV.NXT -> ignored, still TIME-WAIT."""
    c = b.handshake()
    b.to_time_wait()
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    b.w.expect_none("in answer to an RST in TIME-WAIT", c.sport)
    b.expect_state("TIME-WAIT", via_lookup=True)


def case_H4_rst_time_wait_rfc1337_off(b):
    """config rfc1337 false: < R seq=RCV.NXT in TIME-WAIT -> entry gone."""
    b.ctl.ok(op="config", set={"rfc1337": False})
    try:
        c = b.handshake()
        b.to_time_wait()
        b.w.send(c.sport, c.dport, "R", c.snd_nxt)
        b.w.expect_none("in answer to an RST in TIME-WAIT", c.sport)
        b.expect_state("CLOSED", via_lookup=True)
    finally:
        b.ctl.ok(op="config", set={"rfc1337": True})


def case_H2_fin_retransmit_time_wait(b):
    """TIME-WAIT; the peer's FIN again (< F. seq=R-1) -> > . seq=S+1 ack=R, still TIME-WAIT."""
    c = b.handshake()
    b.to_time_wait()
    b.w.send(c.sport, c.dport, "FA", c.snd_nxt - 1, c.rcv_nxt)
    seg = b.w.expect("ACK of the retransmitted FIN in TIME-WAIT", c.sport)
    b.check_seg(seg, "re-ACK of the FIN", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after the re-ACK", c.sport, 0.2)
    b.expect_state("TIME-WAIT", via_lookup=True)


def case_H7_syn_reopens_time_wait(b):
    """TIME-WAIT (no timestamps); < S seq=RCV.NXT+100000 -> > S. ack=ISN+1."""
    c = b.handshake()
    b.to_time_wait()
    isn2 = add(c.snd_nxt, 100000)
    b.w.send(c.sport, c.dport, "S", isn2, options=[("MSS", 1460)])
    seg = b.w.expect("SYN-ACK to a SYN with a higher ISN in TIME-WAIT", c.sport)
    b.check_seg(seg, "SYN-ACK (reopened)", "SA", ack=isn2 + 1)
    # Finish the new handshake and accept it, then reset it.
    b.w.send(c.sport, c.dport, "A", isn2 + 1, seg.seq + 1)
    r = b.accept("accept of the reopened connection")
    c.sock, c.snd_nxt, c.rcv_nxt = r["sock"], add(isn2, 1), add(seg.seq, 1)
    b.expect_state("ESTABLISHED")


def case_G4_oow_fin_wait_2(b):
    """FIN-WAIT-2 (orphaned); < P. seq=R+2^20 len=10 (outside the window) -> > . seq=S ack=R, no RST."""
    c = b.handshake()
    b.active_close_to_fin_wait_2()
    b.w.send(c.sport, c.dport, "PA", c.snd_nxt + (1 << 20), c.rcv_nxt, data=b"0123456789")
    seg = b.w.expect("ACK to an out-of-window segment in FIN-WAIT-2", c.sport)
    b.check_seg(seg, "ACK <SEQ=SND.NXT><ACK=RCV.NXT>", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after that ACK", c.sport)
    b.expect_state("FIN-WAIT-2", via_lookup=True)


def case_G4_oow_close_wait(b):
    """CLOSE-WAIT; < P. seq=R+2^20 len=10 (outside the window) -> > . seq=S ack=R, nothing else."""
    c = b.handshake()
    b.to_close_wait()
    b.w.send(c.sport, c.dport, "PA", c.snd_nxt + (1 << 20), c.rcv_nxt, data=b"0123456789")
    seg = b.w.expect("ACK to an out-of-window segment in CLOSE-WAIT", c.sport)
    b.check_seg(seg, "ACK <SEQ=SND.NXT><ACK=RCV.NXT>", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after that ACK", c.sport)
    b.expect_state("CLOSE-WAIT")
    r = b.status()
    if r["rcv_nxt"] != c.snd_nxt:
        raise Fail("status rcv_nxt %d, expected %d: the out-of-window data was taken" % (r["rcv_nxt"], c.snd_nxt))


def case_B7_fin_retransmit_close_wait(b):
    """CLOSE-WAIT; the peer's FIN again (< F. seq=R-1, old duplicate) -> > . seq=S ack=R, still CLOSE-WAIT."""
    c = b.handshake()
    b.to_close_wait()
    b.w.send(c.sport, c.dport, "FA", c.snd_nxt - 1, c.rcv_nxt)
    seg = b.w.expect("ACK of the retransmitted FIN in CLOSE-WAIT", c.sport)
    b.check_seg(seg, "re-ACK of the FIN", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after that ACK", c.sport, 0.2)
    b.expect_state("CLOSE-WAIT")


def case_F3_rst_out_of_window_established(b):
    """< R seq=R-1, < R. seq=R+2^30, < R seq=R-2^30 in ESTABLISHED -> nothing, stays."""
    c = b.handshake()
    b.w.send(c.sport, c.dport, "R", c.snd_nxt - 1)
    b.w.send(c.sport, c.dport, "RA", c.snd_nxt + 0x40000000, c.rcv_nxt)
    b.w.send(c.sport, c.dport, "R", c.snd_nxt - 0x40000000)
    b.w.expect_none("in answer to RSTs outside the window", c.sport)
    b.expect_state("ESTABLISHED", reason=None)
    # Still synchronized: data is taken and ACKed.
    b.w.send(c.sport, c.dport, "PA", c.snd_nxt, c.rcv_nxt, data=b"x")
    c.snd_nxt = add(c.snd_nxt, 1)
    seg = b.w.expect("ACK (and echo) of one byte after the dropped RSTs", c.sport)
    b.check_seg(seg, "ACK of our byte", "PA" if seg.len else "A", seq=c.rcv_nxt, ack=c.snd_nxt)


def rst_in_window_then_exact(b, state, attached):
    c = b.conn
    b.w.send(c.sport, c.dport, "R", c.snd_nxt + 1)
    seg = b.w.expect("challenge ACK to an in-window RST in " + state, c.sport)
    b.check_seg(seg, "challenge ACK", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after the challenge ACK", c.sport, 0.2)
    b.expect_state(state, via_lookup=not attached)
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    b.w.expect_none("in answer to the exact RST in " + state, c.sport)
    if attached:
        b.expect_state("CLOSED", reason="reset")
    b.expect_state("CLOSED", via_lookup=True)
    c.rcv_nxt = None


def case_F4_rst_close_wait(b):
    """CLOSE-WAIT; < R seq=R+1 -> challenge ACK > . seq=S ack=R; < R seq=R -> CLOSED (reset)."""
    b.handshake()
    b.to_close_wait()
    rst_in_window_then_exact(b, "CLOSE-WAIT", True)


def case_F4_rst_fin_wait_2(b):
    """FIN-WAIT-2 (orphaned); < R seq=R+1 -> challenge ACK > . seq=S+1 ack=R; < R seq=R -> gone."""
    b.handshake()
    b.active_close_to_fin_wait_2()
    rst_in_window_then_exact(b, "FIN-WAIT-2", False)


def syn_challenge(b, state, attached):
    c = b.conn
    b.w.send(c.sport, c.dport, "S", c.snd_nxt + 5000, options=[("MSS", 1460)])
    seg = b.w.expect("challenge ACK to a SYN in " + state, c.sport)
    b.check_seg(seg, "challenge ACK", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after the challenge ACK", c.sport, 0.2)
    b.expect_state(state, via_lookup=not attached)


def case_G1_syn_close_wait(b):
    """CLOSE-WAIT; < S seq=R+5000 -> challenge ACK > . seq=S ack=R, stays."""
    b.handshake()
    b.to_close_wait()
    syn_challenge(b, "CLOSE-WAIT", True)


def case_G1_syn_fin_wait_2(b):
    """FIN-WAIT-2 (orphaned); < S seq=R+5000 -> challenge ACK > . seq=S+1 ack=R, stays."""
    b.handshake()
    b.active_close_to_fin_wait_2()
    syn_challenge(b, "FIN-WAIT-2", False)


def case_H8_syn_below_rcv_nxt_time_wait(b):
    """TIME-WAIT (no timestamps); < S seq=R-1000 -> challenge ACK > . seq=S+1 ack=R, still TIME-WAIT."""
    c = b.handshake()
    b.to_time_wait()
    b.w.send(c.sport, c.dport, "S", c.snd_nxt - 1000, options=[("MSS", 1460)])
    seg = b.w.expect("challenge ACK to a SYN below RCV.NXT in TIME-WAIT", c.sport)
    b.check_seg(seg, "challenge ACK (not a SYN-ACK)", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after the challenge ACK", c.sport, 0.2)
    b.expect_state("TIME-WAIT", via_lookup=True)


def case_H3_time_wait_expiry(b):
    """TIME-WAIT; within 2 MSL + the wheel's lateness the entry goes; < . then gets > R seq=SEG.ACK."""
    c = b.handshake()
    b.to_time_wait()
    t_tw = time.monotonic()
    limit = 2 * b.a.msl_ms / 1000.0 + 0.5
    while True:
        r = b.lookup(c)
        if r["state"] == "CLOSED":
            break
        if time.monotonic() - t_tw > limit:
            raise Fail("TIME-WAIT still there %.2f s after it was entered (MSL %d ms): %s" % (
                time.monotonic() - t_tw, b.a.msl_ms, json.dumps(r)))
        time.sleep(0.05)
    gone = time.monotonic() - t_tw
    if gone < 2 * b.a.msl_ms / 1000.0 - 0.1:
        raise Fail("TIME-WAIT gone after %.2f s, before 2 MSL (MSL %d ms)" % (gone, b.a.msl_ms))
    say("  ok: coda lookup: CLOSED %.2f s after TIME-WAIT was entered (2 MSL = %.1f s)" % (
        gone, 2 * b.a.msl_ms / 1000.0))
    b.w.expect_none("when TIME-WAIT expired", c.sport, 0.1)
    b.w.send(c.sport, c.dport, "A", c.snd_nxt, c.rcv_nxt)
    seg = b.w.expect("RST to an ACK for the expired TIME-WAIT tuple", c.sport)
    b.check_seg(seg, "RST <SEQ=SEG.ACK> (no TCB)", "R", seq=c.rcv_nxt)
    b.w.expect_none("after that RST", c.sport, 0.2)
    c.rcv_nxt = None


def case_TS_handshake(b):
    """SYN with TSopt -> SYN-ACK echoes TSval in TSecr; data with TSopt -> ACK echoes it too."""
    c = b.handshake(ts=True)
    b.csend("PA", c.snd_nxt, c.rcv_nxt, data=b"y")
    c.snd_nxt = add(c.snd_nxt, 1)
    seg = b.w.expect("ACK (and echo) of one byte, with timestamps", c.sport)
    b.check_seg(seg, "ACK of our byte", "PA" if seg.len else "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.check_ts(seg, "that ACK echoes our TSval", c.tsval)


def case_H9_syn_newer_tsval_reopens_time_wait(b):
    """TIME-WAIT with timestamps (TS.Recent T); < S seq=R-1000 TSval=T+1000 -> > S. ack=ISN+1 TSecr=T+1000."""
    c = b.handshake(ts=True)
    b.to_time_wait()
    isn2 = add(c.snd_nxt, -1000)
    tsval2 = add(c.tsval, 1000)
    b.w.send(c.sport, c.dport, "S", isn2, options=[("MSS", 1460), ("Timestamp", (tsval2, 0))])
    seg = b.w.expect("SYN-ACK to a SYN with a newer TSval in TIME-WAIT", c.sport)
    b.check_seg(seg, "SYN-ACK (reopened, RFC 6191)", "SA", ack=isn2 + 1)
    b.check_ts(seg, "SYN-ACK echoes the new TSval", tsval2)
    if not 0 < ((seg.seq - c.rcv_nxt) & M32) < 1 << 31:
        raise Fail("reopened SYN-ACK: ISN %d is not above the old SND.NXT %d" % (seg.seq, c.rcv_nxt))
    c.tsval = tsval2
    b.w.expect_none("after the SYN-ACK", c.sport, 0.1)
    b.csend("A", isn2 + 1, seg.seq + 1)
    r = b.accept("accept of the reopened connection")
    c.sock, c.snd_nxt, c.rcv_nxt = r["sock"], add(isn2, 1), add(seg.seq, 1)
    b.expect_state("ESTABLISHED")


def case_PAWS_old_tsval_established(b):
    """ESTABLISHED with timestamps (TS.Recent T); < P. seq=R TSval=T-1000 len=1 -> > . seq=S ack=R TSecr=T, data dropped."""
    c = b.handshake(ts=True)
    t = c.tsval
    b.w.send(c.sport, c.dport, "PA", c.snd_nxt, c.rcv_nxt, data=b"z",
             options=[("Timestamp", (add(t, -1000), c.ts_recent))])
    seg = b.w.expect("ACK to a segment failing PAWS", c.sport)
    b.check_seg(seg, "ACK <SEQ=SND.NXT><ACK=RCV.NXT>", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.check_ts(seg, "that ACK carries TSecr = TS.Recent", t)
    b.w.expect_none("after that ACK", c.sport, 0.2)
    r = b.expect_state("ESTABLISHED", reason=None)
    if r["rcv_nxt"] != c.snd_nxt:
        raise Fail("status rcv_nxt %d, expected %d: the PAWS-failing data was taken" % (r["rcv_nxt"], c.snd_nxt))


def case_E9_ack_listen(b):
    """LISTEN; < . seq=x ack=y -> > R seq=y; < R to the listener -> nothing."""
    sp, x, y = b.sport(), random.randrange(1 << 32), random.randrange(1 << 32)
    b.conn = None
    b.w.drain()
    b.w.send(sp, b.a.port, "A", x, y)
    seg = b.w.expect("RST to an ACK for the listener", sp)
    b.check_seg(seg, "RST <SEQ=SEG.ACK>", "R", seq=y)
    b.w.expect_none("after that RST", sp, 0.2)
    sp2 = b.sport()
    b.w.send(sp2, b.a.port, "R", random.randrange(1 << 32))
    b.w.send(sp2, b.a.port, "RA", random.randrange(1 << 32), random.randrange(1 << 32))
    b.w.expect_none("in answer to an RST for the listener", sp2)
    say("  ok: no answer to R / R. for the listener")
    b.handshake()   # the listener is unharmed


# ---------------------------------------------------------------------------
# SYN-SENT, SYN-RECEIVED and the closing states FIN-WAIT-1, CLOSING, LAST-ACK,
# where coda has a SYN, SYN-ACK or FIN outstanding: its retransmissions of
# that segment (same flags, same seq) may come at any time and are skipped
# by expect_r / none_r.


def expect_r(b, what, timeout=WAIT):
    c = b.conn
    deadline = time.monotonic() + timeout
    while True:
        seg = b.w.expect(what, c.sport, max(0.001, deadline - time.monotonic()))
        if (seg.flags, seg.seq) in c.retx:
            say("  (skipped a retransmission: %s)" % seg.rel(c))
            continue
        return seg


def none_r(b, what, duration=QUIET):
    c = b.conn
    segs = [s for s in b.w.collect(c.sport, duration) if (s.flags, s.seq) not in c.retx]
    if segs:
        raise Fail("expected no segment %s within %.1f s, got %d" % (what, duration, len(segs)))


def syn_sent(b):
    """coda connects to the bench: returns after coda's SYN; c.irs = coda's ISS."""
    c = b.conn = Conn(b.sport(), 0)
    c.retx = set()
    b.w.drain()
    c.sock = b.ctl.ok(op="connect", addr=b.a.peer, port=c.sport)["sock"]
    seg = b.w.expect("coda's SYN after connect", c.sport)
    c.dport = seg.sport
    c.irs = seg.seq
    c.retx.add(("S", seg.seq))
    b.check_seg(seg, "coda's SYN", "S")
    b.expect_state("SYN-SENT")
    return c


def abort_conn(b):
    c = b.conn
    b.ctl.rpc(op="abort", sock=c.sock)
    c.rcv_nxt = None


def case_F6_rst_bad_ack_syn_sent(b):
    """SYN-SENT; < R. ack=ISS, < R. ack=ISS+2, < R (no ACK) -> dropped, still SYN-SENT; then < S. opens it."""
    c = syn_sent(b)
    iss = c.irs
    try:
        b.w.send(c.sport, c.dport, "RA", 0, iss)
        b.w.send(c.sport, c.dport, "RA", 0, iss + 2)
        b.w.send(c.sport, c.dport, "R", c.iss)
        none_r(b, "in answer to RSTs that do not ack our SYN")
        b.expect_state("SYN-SENT", reason=None)
    except Fail:
        abort_conn(b)
        raise
    # The open goes on.
    b.w.send(c.sport, c.dport, "SA", c.iss, iss + 1, options=[("MSS", 1460)])
    c.snd_nxt, c.rcv_nxt = add(c.iss, 1), add(iss, 1)
    seg = expect_r(b, "ACK of our SYN-ACK")
    b.check_seg(seg, "ACK (opened)", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.expect_state("ESTABLISHED")


def case_F6_rst_refused_syn_sent(b):
    """SYN-SENT; < R. seq=0 ack=ISS+1 -> nothing sent, CLOSED (close_reason refused)."""
    c = syn_sent(b)
    b.w.send(c.sport, c.dport, "RA", 0, c.irs + 1)
    b.w.expect_none("after the RST", c.sport)
    b.expect_state("CLOSED", reason="refused")
    b.expect_state("CLOSED", via_lookup=True)


def case_E9_bad_ack_syn_sent(b):
    """SYN-SENT; < . ack=ISS+1000 -> > R seq=ISS+1000; < S. ack=ISS -> > R seq=ISS; still SYN-SENT, then opens."""
    c = syn_sent(b)
    iss = c.irs
    try:
        b.w.send(c.sport, c.dport, "A", c.iss, iss + 1000)
        seg = expect_r(b, "RST to an unacceptable ACK in SYN-SENT")
        b.check_seg(seg, "RST <SEQ=SEG.ACK>", "R", seq=iss + 1000)
        none_r(b, "after that RST", 0.2)
        b.expect_state("SYN-SENT", reason=None)
        b.w.send(c.sport, c.dport, "SA", c.iss, iss, options=[("MSS", 1460)])
        seg = expect_r(b, "RST to a SYN-ACK acking ISS in SYN-SENT")
        b.check_seg(seg, "RST <SEQ=SEG.ACK>", "R", seq=iss)
        none_r(b, "after that RST", 0.2)
        b.expect_state("SYN-SENT", reason=None)
    except Fail:
        abort_conn(b)
        raise
    b.w.send(c.sport, c.dport, "SA", c.iss, iss + 1, options=[("MSS", 1460)])
    c.snd_nxt, c.rcv_nxt = add(c.iss, 1), add(iss, 1)
    seg = expect_r(b, "ACK of our SYN-ACK")
    b.check_seg(seg, "ACK (opened)", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.expect_state("ESTABLISHED")


def syn_received(b):
    """The bench's SYN, coda's SYN-ACK, no ACK yet."""
    c = b.conn = Conn(b.sport(), b.a.port)
    c.retx = set()
    b.w.drain()
    b.w.send(c.sport, c.dport, "S", c.iss, options=[("MSS", 1460)])
    seg = b.w.expect("SYN-ACK to our SYN", c.sport)
    c.irs = seg.seq
    c.retx.add(("SA", seg.seq))
    b.check_seg(seg, "SYN-ACK", "SA", ack=c.iss + 1)
    c.snd_nxt, c.rcv_nxt = add(c.iss, 1), add(c.irs, 1)
    b.expect_state("SYN-RECEIVED", via_lookup=True)
    return c


def case_F7_rst_syn_received(b):
    """SYN-RECEIVED; < R seq=IRS+1 -> nothing, half-open gone; < . then gets > R; the listener stays."""
    c = syn_received(b)
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    none_r(b, "in answer to the exact RST in SYN-RECEIVED")
    b.expect_state("CLOSED", via_lookup=True)
    b.w.send(c.sport, c.dport, "A", c.snd_nxt, c.rcv_nxt)
    seg = expect_r(b, "RST to the handshake's ACK after the RST")
    b.check_seg(seg, "RST <SEQ=SEG.ACK> (from the listener)", "R", seq=c.rcv_nxt)
    r = b.ctl.rpc(op="accept", sock=b.listener)
    if r.get("error") != "EAGAIN":
        raise Fail("accept after the RST in SYN-RECEIVED: expected EAGAIN, got %s" % json.dumps(r))
    say("  ok: accept: EAGAIN")
    c.rcv_nxt = None
    b.handshake()   # the listener is unharmed


def case_F7_rst_in_window_syn_received(b):
    """SYN-RECEIVED; < R seq=IRS+2 -> challenge ACK > . seq=ISS+1 ack=IRS+1; < R seq=IRS+1 -> gone."""
    c = syn_received(b)
    b.w.send(c.sport, c.dport, "R", c.snd_nxt + 1)
    seg = expect_r(b, "challenge ACK to an in-window RST in SYN-RECEIVED")
    b.check_seg(seg, "challenge ACK", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    none_r(b, "after the challenge ACK", 0.2)
    b.expect_state("SYN-RECEIVED", via_lookup=True)
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    none_r(b, "in answer to the exact RST in SYN-RECEIVED")
    b.expect_state("CLOSED", via_lookup=True)
    c.rcv_nxt = None


def to_fin_wait_1(b):
    """close; coda's FIN (> F. seq=S ack=R) is not ACKed: orphaned FIN-WAIT-1."""
    c = b.handshake()
    c.retx = set()
    b.ctl.ok(op="close", sock=c.sock)
    seg = b.w.expect("coda's FIN after close", c.sport)
    b.check_seg(seg, "coda's FIN (A1)", "FA", seq=c.rcv_nxt, ack=c.snd_nxt)
    c.retx.add(("FA", seg.seq))
    c.rcv_nxt = add(c.rcv_nxt, 1)   # coda's SND.NXT; its SND.UNA is one below
    b.expect_state("FIN-WAIT-1", via_lookup=True)
    return c


def to_closing(b):
    """FIN-WAIT-1, then our FIN (not acking coda's): > . seq=S+1 ack=R+1, CLOSING."""
    c = to_fin_wait_1(b)
    b.w.send(c.sport, c.dport, "FA", c.snd_nxt, c.rcv_nxt - 1)
    c.snd_nxt = add(c.snd_nxt, 1)
    seg = expect_r(b, "ACK of our FIN in FIN-WAIT-1")
    b.check_seg(seg, "ACK of our FIN (C1)", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.expect_state("CLOSING", via_lookup=True)
    return c


def to_last_ack(b):
    """CLOSE-WAIT, close: > F. seq=S ack=R, not ACKed: orphaned LAST-ACK."""
    c = b.handshake()
    c.retx = set()
    b.to_close_wait()
    b.ctl.ok(op="close", sock=c.sock)
    seg = b.w.expect("coda's FIN in CLOSE-WAIT after close", c.sport)
    b.check_seg(seg, "coda's FIN (B3)", "FA", seq=c.rcv_nxt, ack=c.snd_nxt)
    c.retx.add(("FA", seg.seq))
    c.rcv_nxt = add(c.rcv_nxt, 1)
    b.expect_state("LAST-ACK", via_lookup=True)
    return c


def rst_matrix_r(b, state, in_window=True):
    """In-window RST -> challenge ACK > . seq=SND.NXT ack=R, stays; exact RST -> gone, nothing sent."""
    c = b.conn
    if in_window:
        b.w.send(c.sport, c.dport, "R", c.snd_nxt + 1)
        seg = expect_r(b, "challenge ACK to an in-window RST in " + state)
        b.check_seg(seg, "challenge ACK", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
        none_r(b, "after the challenge ACK", 0.2)
        b.expect_state(state, via_lookup=True)
    b.w.send(c.sport, c.dport, "R", c.snd_nxt)
    none_r(b, "in answer to the exact RST in " + state)
    b.expect_state("CLOSED", via_lookup=True)
    c.rcv_nxt = None


def oow_r(b, state):
    """< P. seq=R+2^20 len=10 (not acking coda's FIN) -> > . seq=SND.NXT ack=R, stays."""
    c = b.conn
    b.w.send(c.sport, c.dport, "PA", c.snd_nxt + (1 << 20), c.rcv_nxt - 1, data=b"0123456789")
    seg = expect_r(b, "ACK to an out-of-window segment in " + state)
    b.check_seg(seg, "ACK <SEQ=SND.NXT><ACK=RCV.NXT>", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    none_r(b, "after that ACK")
    b.expect_state(state, via_lookup=True)


def case_F4_rst_fin_wait_1(b):
    """FIN-WAIT-1 (orphaned); < R seq=R+1 -> challenge ACK > . seq=S+1 ack=R; < R seq=R -> gone."""
    to_fin_wait_1(b)
    rst_matrix_r(b, "FIN-WAIT-1")


def case_G4_oow_fin_wait_1(b):
    """FIN-WAIT-1 (orphaned); < P. seq=R+2^20 len=10 -> > . seq=S+1 ack=R, no RST."""
    to_fin_wait_1(b)
    oow_r(b, "FIN-WAIT-1")


def case_F4_rst_closing(b):
    """CLOSING (orphaned); < R seq=R+2 -> challenge ACK > . seq=S+1 ack=R+1; < R seq=R+1 -> gone."""
    to_closing(b)
    rst_matrix_r(b, "CLOSING")


def case_G4_oow_closing(b):
    """CLOSING (orphaned); < P. seq=R+1+2^20 len=10 -> > . seq=S+1 ack=R+1."""
    to_closing(b)
    oow_r(b, "CLOSING")


def case_F4_rst_last_ack(b):
    """LAST-ACK (orphaned); < R seq=R+1 -> challenge ACK > . seq=S+1 ack=R; < R seq=R -> gone."""
    to_last_ack(b)
    rst_matrix_r(b, "LAST-ACK")


def case_G4_oow_last_ack(b):
    """LAST-ACK (orphaned); < P. seq=R+2^20 len=10 -> > . seq=S+1 ack=R."""
    to_last_ack(b)
    oow_r(b, "LAST-ACK")


def case_H6_oow_time_wait(b):
    """TIME-WAIT; < P. seq=R+2^20 len=10 -> > . seq=S+1 ack=R (one per interval), still TIME-WAIT."""
    c = b.handshake()
    b.to_time_wait()
    b.w.send(c.sport, c.dport, "PA", c.snd_nxt + (1 << 20), c.rcv_nxt, data=b"0123456789")
    seg = b.w.expect("ACK to an out-of-window segment in TIME-WAIT", c.sport)
    b.check_seg(seg, "ACK <SEQ=SND.NXT><ACK=RCV.NXT>", "A", seq=c.rcv_nxt, ack=c.snd_nxt)
    b.w.expect_none("after that ACK", c.sport, 0.2)
    b.expect_state("TIME-WAIT", via_lookup=True)


CASES = [
    ("handshake-B1-B3", case_handshake_B1_B3),
    ("E8-ack-no-tcb", case_E8_ack_no_tcb),
    ("E8-syn-no-tcb", case_E8_syn_no_tcb),
    ("E8-data-no-ack-no-tcb", case_E8_data_no_ack_no_tcb),
    ("E7-rst-no-tcb", case_E7_rst_no_tcb),
    ("F1-rst-exact-established", case_F1_rst_exact_established),
    ("F2-rst-in-window-established", case_F2_rst_in_window_established),
    ("G1-syn-established", case_G1_syn_established),
    ("F10-challenge-ack-rate-limit", case_F10_challenge_ack_rate_limited),
    ("H4-rst-time-wait-rfc1337-on", case_H4_rst_time_wait_rfc1337_on),
    ("H4-rst-time-wait-rfc1337-off", case_H4_rst_time_wait_rfc1337_off),
    ("H2-fin-retransmit-time-wait", case_H2_fin_retransmit_time_wait),
    ("H7-syn-reopens-time-wait", case_H7_syn_reopens_time_wait),
    ("G4-oow-fin-wait-2", case_G4_oow_fin_wait_2),
    ("G4-oow-close-wait", case_G4_oow_close_wait),
    ("B7-fin-retransmit-close-wait", case_B7_fin_retransmit_close_wait),
    ("F3-rst-out-of-window-established", case_F3_rst_out_of_window_established),
    ("F4-rst-close-wait", case_F4_rst_close_wait),
    ("F4-rst-fin-wait-2", case_F4_rst_fin_wait_2),
    ("G1-syn-close-wait", case_G1_syn_close_wait),
    ("G1-syn-fin-wait-2", case_G1_syn_fin_wait_2),
    ("H8-syn-below-rcv-nxt-time-wait", case_H8_syn_below_rcv_nxt_time_wait),
    ("H3-time-wait-expiry", case_H3_time_wait_expiry),
    ("TS-handshake", case_TS_handshake),
    ("H9-syn-newer-tsval-reopens-time-wait", case_H9_syn_newer_tsval_reopens_time_wait),
    ("PAWS-old-tsval-established", case_PAWS_old_tsval_established),
    ("E9-ack-listen", case_E9_ack_listen),
    ("F6-rst-bad-ack-syn-sent", case_F6_rst_bad_ack_syn_sent),
    ("F6-rst-refused-syn-sent", case_F6_rst_refused_syn_sent),
    ("E9-bad-ack-syn-sent", case_E9_bad_ack_syn_sent),
    ("F7-rst-syn-received", case_F7_rst_syn_received),
    ("F7-rst-in-window-syn-received", case_F7_rst_in_window_syn_received),
    ("F4-rst-fin-wait-1", case_F4_rst_fin_wait_1),
    ("G4-oow-fin-wait-1", case_G4_oow_fin_wait_1),
    ("F4-rst-closing", case_F4_rst_closing),
    ("G4-oow-closing", case_G4_oow_closing),
    ("F4-rst-last-ack", case_F4_rst_last_ack),
    ("G4-oow-last-ack", case_G4_oow_last_ack),
    ("H6-oow-time-wait", case_H6_oow_time_wait),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--control", required=True)
    p.add_argument("--iface", required=True)
    p.add_argument("--mac", required=True)
    p.add_argument("--coda-mac", required=True)
    p.add_argument("--coda", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--port", type=int, default=7200)
    p.add_argument("--closed-port", type=int, default=7999)
    p.add_argument("--msl-ms", type=int, default=1000)
    p.add_argument("cases", nargs="*")
    a = p.parse_args()
    names = [n for n, _ in CASES]
    for n in a.cases:
        if n not in names:
            p.error("unknown case %s (cases: %s)" % (n, " ".join(names)))
    b = Bench(a)
    failed = []
    t_all = time.monotonic()
    for name, fn in CASES:
        if a.cases and name not in a.cases:
            continue
        say("case %s: %s" % (name, fn.__doc__.strip()))
        t = time.monotonic()
        b.conn = None
        b.w.seen = []
        try:
            fn(b)
            say("PASS %s (%.2f s)" % (name, time.monotonic() - t))
        except Fail as e:
            failed.append(name)
            say("FAIL %s: %s" % (name, e))
            say("  segments from coda in this case (S/R relative to the ISNs):")
            for seg in b.w.seen:
                say("    " + seg.rel(b.conn))
            if not b.w.seen:
                say("    (none)")
        finally:
            try:
                b.cleanup_conn()
            except Exception:
                pass
    say("%d cases, %d failed%s, %.1f s" % (
        len([n for n in names if not a.cases or n in a.cases]), len(failed),
        (": " + " ".join(failed)) if failed else "", time.monotonic() - t_all))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
