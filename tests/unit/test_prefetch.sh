#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every hot path that prefetches must still prefetch once optimised: the
# wheel and the table, built at -O3 without LTO (tests/unit/meson.build),
# disassembled. Each function below must reach at least the given number
# of prefetch instructions, in its own code or in functions it calls
# directly (three calls deep at most, each function counted once; with
# F=N instead of F:N, in its own code only). gcc 12
# used to delete most of them (lib/prefetch/coda_prefetch.h): built at -O3,
# the code of 2026-11-26 reached 0, 0, 0, 1, 2 and 1 of the minimums below
# (8, 1, 57, 1, 4 and 3 with coda_prefetch()).
# Usage: test_prefetch.sh OBJDUMP LIBRARY
set -u
objdump=$1
lib=$2
dis=$("$objdump" -d --no-show-raw-insn "$lib") || { echo "objdump failed on $lib"; exit 1; }
# Lines "F defined" for each function F, "F prefetch" for each prefetch
# instruction in it, "F call G" for each direct call or tail jump from F
# to G (a jump inside F names F+offset and is not counted). Local
# suffixes (foo.isra.0, foo.cold) name foo.
facts=$(printf '%s\n' "$dis" | awk '
	/file format|^Disassembly of section/ { f = ""; next }
	/^[0-9a-f]+ <[^>]+>:$/ {
		f = $2; sub(/^</, "", f); sub(/>:$/, "", f); sub(/\..*/, "", f)
		print f, "defined"; next
	}
	f == "" { next }
	/:\t(prefetch[a-z0-9]*|prfm)[ \t]/ { print f, "prefetch" }
	/:\t(call[a-z]*|bl|jmp[a-z]*|b)[ \t]/ { # a jump to another function: a tail call
		if (match($0, /<[^>+]+>/)) {
			g = substr($0, RSTART + 1, RLENGTH - 2); sub(/\..*/, "", g)
			print f, "call", g
		}
	}')
# The prefetch instructions function $1 reaches, $2 levels of calls deep (1: its own).
prefetches() {
	printf '%s\n' "$facts" | awk -v root="$1" -v depth="$2" '
		$2 == "prefetch" { pf[$1]++ }
		$2 == "call" { calls[$1] = calls[$1] " " $3 }
		END {
			todo[root] = 1
			for (d = 0; d < depth; d++) {
				for (f in todo) {
					if (f in seen) continue
					seen[f] = 1
					total += pf[f]
					n = split(calls[f], c, " ")
					for (i = 1; i <= n; i++) next_[c[i]] = 1
				}
				delete todo
				for (f in next_) todo[f] = 1
				delete next_
			}
			print total + 0
		}'
}
fail=0
for want in coda_wheel_arm_burst:1 coda_wheel_cancel_burst:1 coda_wheel_advance:2 slot_grow=3 \
	coda_wheel_prefetch:1 coda_conntab_lookup_bulk:4 coda_conntab_tw_expire:2; do
	case $want in
	*=*) f=${want%=*} min=${want#*=} depth=1 ;; # its own code only
	*) f=${want%:*} min=${want#*:} depth=4 ;;
	esac
	if ! printf '%s\n' "$facts" | grep -q "^$f defined"; then
		echo "FAIL: $f not found in $lib"
		fail=1
		continue
	fi
	n=$(prefetches "$f" "$depth")
	if [ "$n" -ge "$min" ]; then
		echo "ok: $f reaches $n prefetch instructions (at least $min)"
	else
		echo "FAIL: $f reaches $n prefetch instructions, fewer than $min: the compiler deleted some"
		fail=1
	fi
done
exit $fail
