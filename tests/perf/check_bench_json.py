#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check a coda-perf-* JSON file against DESIGN.md section 10.

usage: check_bench_json.py [--bench NAME] [--baselines A,B] [--baselines-any A,B] FILE
                          [-- CMD ARGS...]

With a command after `--`, FILE is removed, the command is run (it must exit
0, and is expected to write FILE through its --json option), then FILE is
checked. The check is about format and completeness only: the keys and their
types, every figure positive with its baseline beside it, `ratio` equal to
baseline/coda (better=lower) or coda/baseline (better=higher) within 1e-6
relative. It asserts no timing goal: a benchmark is not a test.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys

TOP_KEYS = {"bench", "machine", "results"}
RESULT_KEYS = {"metric", "unit", "coda", "baseline_name", "baseline", "ratio", "better"}
REL_TOL = 1e-6


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check(doc, bench=None, baselines=(), any_of=()):
    """Return a list of problems (empty when the document is valid)."""
    errs = []
    if not isinstance(doc, dict):
        return ["top level is not an object"]
    if set(doc) != TOP_KEYS:
        errs.append("top-level keys are %s, expected %s" % (sorted(doc), sorted(TOP_KEYS)))
    name = doc.get("bench")
    if not isinstance(name, str) or not name:
        errs.append("bench is not a non-empty string")
    elif bench is not None and name != bench:
        errs.append("bench is %r, expected %r" % (name, bench))
    machine = doc.get("machine")
    if not isinstance(machine, str) or not re.match(r"^[1-9][0-9]* x \S", machine):
        errs.append("machine %r is not '<nproc> x <model>'" % (machine,))
    results = doc.get("results")
    if not isinstance(results, list) or not results:
        errs.append("results is not a non-empty array")
        return errs
    seen = {}
    for i, r in enumerate(results):
        where = "results[%d]" % i
        if not isinstance(r, dict):
            errs.append("%s is not an object" % where)
            continue
        if set(r) != RESULT_KEYS:
            errs.append("%s keys are %s, expected %s" % (where, sorted(r), sorted(RESULT_KEYS)))
            continue
        where += " (%r vs %r)" % (r["metric"], r["baseline_name"])
        for k in ("metric", "unit", "baseline_name"):
            if not isinstance(r[k], str) or not r[k]:
                errs.append("%s: %s is not a non-empty string" % (where, k))
        bad = False
        for k in ("coda", "baseline", "ratio"):
            if not is_number(r[k]) or not math.isfinite(r[k]) or r[k] <= 0:
                errs.append("%s: %s = %r is not a finite number > 0" % (where, k, r[k]))
                bad = True
        if r["better"] not in ("lower", "higher"):
            errs.append("%s: better = %r, expected 'lower' or 'higher'" % (where, r["better"]))
            bad = True
        if not bad:
            if r["better"] == "lower":
                want = r["baseline"] / r["coda"]
            else:
                want = r["coda"] / r["baseline"]
            if abs(r["ratio"] - want) > REL_TOL * want:
                errs.append("%s: ratio %r, expected %r (%s is better)"
                            % (where, r["ratio"], want, r["better"]))
        key = (r["metric"], r["baseline_name"])
        if key in seen:
            errs.append("%s: duplicate of results[%d]" % (where, seen[key]))
        seen[key] = i
    for metric in sorted({m for m, _ in seen}):
        for b in baselines:
            if (metric, b) not in seen:
                errs.append("metric %r has no result against baseline %r" % (metric, b))
    # --baselines-any: each metric against one of them, and each one used.
    for metric in sorted({m for m, _ in seen}):
        if any_of and not any((metric, b) in seen for b in any_of):
            errs.append("metric %r has no result against any of %r" % (metric, list(any_of)))
    for b in any_of:
        if not any(name == b for _, name in seen):
            errs.append("baseline %r is never used" % b)
    return errs


def main():
    argv = sys.argv[1:]
    cmd = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", help="expected value of 'bench'")
    ap.add_argument("--baselines", default="",
                    help="comma-separated baseline names every metric must have")
    ap.add_argument("--baselines-any", default="",
                    help="comma-separated baseline names: each metric must have a result "
                         "against one of them, and each must be used")
    ap.add_argument("file")
    args = ap.parse_args(argv)
    baselines = [b for b in args.baselines.split(",") if b]
    any_of = [b for b in args.baselines_any.split(",") if b]

    if cmd:
        try:
            os.unlink(args.file)
        except FileNotFoundError:
            pass
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            print("FAIL: %s exited %d" % (" ".join(cmd), rc), file=sys.stderr)
            return 1
    try:
        with open(args.file, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print("FAIL: cannot read %s: %s" % (args.file, e), file=sys.stderr)
        return 1
    errs = check(doc, args.bench, baselines, any_of)
    for e in errs:
        print("FAIL: %s: %s" % (args.file, e), file=sys.stderr)
    if errs:
        return 1
    print("ok: %s: %d results, each with its baseline" % (args.file, len(doc["results"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
