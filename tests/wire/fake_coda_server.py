#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A kernel stand-in for coda-server, for the wire harness self-test only.

Takes coda-server's command line (EAL options, --, application options) and,
instead of running a DPDK port, puts --addr/--addr6 on the af_packet vdev's
interface (iface=...) so that the Linux kernel of the DPDK-side namespace
answers ARP, ND and ping, and serves --port in --mode with
tcp_client.py's server; --connect runs tcp_client.py echo-connect. It prints
"coda-server: ready", and on SIGTERM/SIGINT removes the addresses again,
prints the summary lines coda-server prints and exits 0.

Only the af_packet topology can be faked this way (a tap needs a process
behind it). It lets the harness check its own assertions, namespaces and
cleanup before coda-server exists, and tells an environment problem from a
coda-server bug.
"""

import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def say(msg):
    print("coda-server: " + msg, flush=True)


def run(*cmd):
    subprocess.run(cmd, check=True, timeout=10)


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        say("usage: fake_coda_server.py [EAL options] -- --addr A/LEN ...")
        return 2
    i = argv.index("--")
    eal, app = argv[:i], argv[i + 1:]
    iface = None
    for e in eal:
        m = re.match(r"--vdev=net_af_packet\d*,(?:.*,)?iface=([^,]+)", e)
        if m:
            iface = m.group(1)
    if not iface:
        say("the fake supports only --vdev=net_af_packet0,iface=IF")
        return 2
    addr = addr6 = None
    port = None
    mode = "echo"
    connects = []
    k = 0
    while k < len(app):
        o = app[k]
        v = app[k + 1] if k + 1 < len(app) else None
        if o == "--addr":
            addr = v
        elif o == "--addr6":
            addr6 = v
        elif o == "--port":
            port = int(v)
        elif o == "--mode":
            mode = v
        elif o == "--connect":
            connects.append(v)
        elif o in ("--neigh", "--msl-ms"):
            pass
        elif o == "--no-offload":
            k += 1
            continue
        else:
            say("unknown option %s" % o)
            return 2
        k += 2
    if not addr or port is None:
        say("--addr and --port are required")
        return 2

    # A plain flag: Event.set() in a signal handler can deadlock against the
    # main thread's own Event.wait().
    stop = []

    def on_signal(_sig, _frm):
        stop.append(True)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    conf6 = "/proc/sys/net/ipv6/conf/%s/" % iface
    run("ip", "addr", "replace", addr, "dev", iface)
    binds = [addr.split("/")[0]]
    if addr6:
        for f, v in (("accept_dad", "0"), ("disable_ipv6", "0")):
            with open(conf6 + f, "w") as fh:
                fh.write(v)
        run("ip", "-6", "addr", "replace", addr6, "dev", iface, "nodad")
        binds.append(addr6.split("/")[0])
    run("ip", "link", "set", iface, "up")

    cmd = [PY, os.path.join(HERE, "tcp_client.py"), "server", "--port", str(port),
           "--mode", mode]
    for b in binds:
        cmd += ["--bind", b]
    ready = "/tmp/codaw-fake-%d.ready" % os.getpid()
    cmd += ["--ready-file", ready]
    server = subprocess.Popen(cmd)
    for _ in range(100):  # at most 10 s for the server to listen
        if os.path.exists(ready) or server.poll() is not None:
            break
        time.sleep(0.1)
    if os.path.exists(ready):
        os.unlink(ready)
    else:
        say("the kernel server did not start listening")
        stop.append(True)
    helpers = []
    for c in connects:
        m = re.match(r"^\[(.*)\]:(\d+)$", c) or re.match(r"^([^:]+):(\d+)$", c)
        if not m:
            say("bad --connect %s" % c)
            stop.append(True)
            break
        helpers.append(subprocess.Popen([PY, os.path.join(HERE, "tcp_client.py"),
                                         "echo-connect", "--host", m.group(1),
                                         "--port", m.group(2), "--timeout", "60"]))
    say("fake (kernel) on %s: %s port %d, mode %s" % (iface, " ".join(binds), port, mode))
    failed = bool(stop)
    if not failed:
        say("ready")
    while not stop:
        time.sleep(0.1)
        if server.poll() is not None:
            say("the server process exited with status %d" % server.returncode)
            break
    say("stopping")
    for p in [server] + helpers:
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            say("pid %d ignored SIGTERM for 5 s; killing it" % p.pid)
            p.kill()
            p.wait()
    run("ip", "addr", "flush", "dev", iface)
    if addr6:
        with open(conf6 + "disable_ipv6", "w") as fh:
            fh.write("1")
    say("stopped")
    say("mbufs in use 0, at start 0")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
