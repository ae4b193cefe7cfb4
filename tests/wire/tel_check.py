#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks the replies of dpdk-telemetry.py, for the wire telemetry test.

  tel_check.py FILE COMMAND CHECK... [-- COMMAND CHECK...]...

FILE holds what dpdk-telemetry.py printed for the COMMANDs, sent in this
order on one connection (`printf '/coda/stats\n/coda/tw\n' | dpdk-telemetry.py
-f PREFIX`): one JSON object per line, {"/coda/stats": {...}}. A COMMAND is
written as sent, parameters included ("/coda/conn,198.18.0.1,7000,..."); its
reply is the object whose only key is COMMAND without its parameters. Each
group, COMMAND and its CHECKs, is separated from the next by "--".

CHECK, on the reply:
  KEY>N KEY>=N KEY==N KEY<=N   an integer value compared with N
  KEY=TEXT                     a string value equal to TEXT
  KEY?                         KEY exists
  PREFIX*                      at least one key starts with PREFIX
  null                         the reply is null: DPDK's answer when the
                               command's callback returns an error (and to
                               a command nobody registered)
  print:KEY                    print the value of KEY alone on stdout (the
                               ok lines go to stderr then)

Prints "tel_check: ok: ..." per check, and on the first failed check
"tel_check: FAIL: ..." and exits 1; exit status 2 when a reply is missing
(dpdk-telemetry.py could not connect, or coda-server stopped answering) or
is not JSON. Standard library only.
"""

import json
import re
import sys


def say(msg, err=False):
    print("tel_check: " + msg, file=sys.stderr if err else sys.stdout, flush=True)


def short(cmd):
    """A long command, shortened for the messages."""
    return cmd if len(cmd) <= 64 else cmd[:60] + "..."


def check_reply(cmd, reply, checks, quiet):
    """0 when every check passes, else 1 (or 2 for a bad check)."""
    for c in checks:
        if c == "null":
            if reply is not None:
                say("FAIL: %s: reply %s, expected null (an error)"
                    % (cmd, json.dumps(reply)[:200]))
                return 1
            say("ok: %s: null (an error)" % cmd, quiet)
            continue
        if not isinstance(reply, dict):
            say("FAIL: %s: reply %s, expected a dictionary" % (cmd, json.dumps(reply)[:200]))
            return 1
        keys = " ".join(sorted(reply))
        if c.startswith("print:"):
            k = c[6:]
            if k not in reply:
                say("FAIL: %s: no key %s (keys: %s)" % (cmd, k, keys))
                return 1
            print(reply[k])
            continue
        if c.endswith("?"):
            k = c[:-1]
            if k not in reply:
                say("FAIL: %s: no key %s (keys: %s)" % (cmd, k, keys))
                return 1
            say("ok: %s: %s = %s" % (cmd, k, json.dumps(reply[k])), quiet)
            continue
        if c.endswith("*"):
            p = c[:-1]
            ks = [k for k in reply if k.startswith(p)]
            if not ks:
                say("FAIL: %s: no key starts with %s (keys: %s)" % (cmd, p, keys))
                return 1
            say("ok: %s: %d keys %s... (%s)" % (cmd, len(ks), p, " ".join(sorted(ks))), quiet)
            continue
        m = re.match(r"^([A-Za-z0-9_]+)(>=|<=|==|>)(-?[0-9]+)$", c)
        if m:
            k, op, n = m.group(1), m.group(2), int(m.group(3))
            if k not in reply:
                say("FAIL: %s: no key %s (keys: %s)" % (cmd, k, keys))
                return 1
            v = reply[k]
            if not isinstance(v, int) or isinstance(v, bool):
                say("FAIL: %s: %s = %s, expected an integer" % (cmd, k, json.dumps(v)))
                return 1
            good = {">": v > n, ">=": v >= n, "==": v == n, "<=": v <= n}[op]
            if not good:
                say("FAIL: %s: %s = %d, expected %s %d" % (cmd, k, v, op, n))
                return 1
            say("ok: %s: %s = %d (%s %d)" % (cmd, k, v, op, n), quiet)
            continue
        m = re.match(r"^([A-Za-z0-9_]+)=(.*)$", c)
        if m:
            k, want = m.group(1), m.group(2)
            if k not in reply:
                say("FAIL: %s: no key %s (keys: %s)" % (cmd, k, keys))
                return 1
            if reply[k] != want:
                say("FAIL: %s: %s = %s, expected \"%s\"" % (cmd, k, json.dumps(reply[k]), want))
                return 1
            say("ok: %s: %s = \"%s\"" % (cmd, k, want), quiet)
            continue
        say("FAIL: bad check '%s'" % c)
        return 2
    return 0


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        say("usage: tel_check.py FILE COMMAND CHECK... [-- COMMAND CHECK...]...")
        return 2
    path = args.pop(0)
    groups = [[]]
    for a in args:
        if a == "--":
            groups.append([])
        else:
            groups[-1].append(a)
    if any(len(g) < 2 for g in groups):
        say("FAIL: every group needs a COMMAND and at least one CHECK")
        return 2
    quiet = any(c.startswith("print:") for g in groups for c in g[1:])
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    replies = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            say("FAIL: a reply line is not JSON (%s): %s" % (e, line[:200]))
            return 2
        replies.append(obj)
    for i, g in enumerate(groups):
        cmd, checks = g[0], g[1:]
        name = cmd.split(",", 1)[0]
        if i >= len(replies):
            say("FAIL: %s: no reply in dpdk-telemetry.py's output (%d repl%s to %d commands): %s"
                % (short(cmd), len(replies), "y" if len(replies) == 1 else "ies", len(groups),
                   text.strip()[-300:] or "(nothing)"))
            return 2
        r = replies[i]
        if not isinstance(r, dict) or list(r) != [name]:
            say("FAIL: %s: the reply is %s, expected {\"%s\": ...}"
                % (short(cmd), json.dumps(r)[:200], name))
            return 2
        ret = check_reply(short(cmd), r[name], checks, quiet)
        if ret != 0:
            return ret
    return 0


if __name__ == "__main__":
    sys.exit(main())
