#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every hot path that prefetches must still prefetch once optimised: the
# wheel and the table, built at -O3 (tests/unit/meson.build), disassembled;
# each function below must hold a prefetch instruction itself or in a
# function it calls directly (three calls deep at most). gcc 12 used to
# delete them (lib/prefetch/coda_prefetch.h).
# Usage: test_prefetch.sh LIBRARY
set -u
lib=$1
dis=$(objdump -d --no-show-raw-insn "$lib") || { echo "objdump failed on $lib"; exit 1; }
# Lines "F defined" for each function F, "F prefetch" for each prefetch in
# it, "F call G" for each direct call from F to G.
facts=$(printf '%s\n' "$dis" | awk '
	/^[0-9a-f]+ <[^>]+>:$/ {
		f = $2; sub(/^</, "", f); sub(/>:$/, "", f); sub(/\..*/, "", f) # foo.isra.0: foo
		print f, "defined"; next
	}
	f == "" { next }
	/prefetch|prfm/ { print f, "prefetch" }
	/call|[[:space:]]bl[[:space:]]/ {
		if (match($0, /<[^>+]+>/)) {
			g = substr($0, RSTART + 1, RLENGTH - 2); sub(/\..*/, "", g)
			print f, "call", g
		}
	}')
prefetches() {
	printf '%s\n' "$facts" | awk -v root="$1" '
		$2 == "prefetch" { pf[$1] = 1 }
		$2 == "call" { calls[$1] = calls[$1] " " $3 }
		END {
			todo[root] = 1
			for (d = 0; d < 4; d++) {
				for (f in todo) {
					if (f in pf) { print "yes"; exit }
					n = split(calls[f], c, " ")
					for (i = 1; i <= n; i++) next_[c[i]] = 1
				}
				delete todo
				for (f in next_) todo[f] = 1
				delete next_
			}
			print "no"
		}'
}
fail=0
for f in coda_wheel_arm_burst coda_wheel_cancel_burst coda_wheel_advance coda_wheel_prefetch \
	coda_conntab_lookup_bulk coda_conntab_tw_expire; do
	if ! printf '%s\n' "$facts" | grep -q "^$f "; then
		echo "FAIL: $f not found in $lib"
		fail=1
	elif [ "$(prefetches "$f")" = yes ]; then
		echo "ok: $f prefetches"
	else
		echo "FAIL: $f prefetches nothing: the compiler deleted its prefetches"
		fail=1
	fi
done
exit $fail
