#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# main.sh - the main job: set the machine up, build the release configuration
# and run the headline benchmark. Today that is coda-perf-wheel (the timing
# wheel against rte_timer, same run); later it becomes coda-bench's default.
#
#   bash scripts/main.sh [BENCHMARK OPTIONS...]
#
# Options are passed to the benchmark after its own --json option. The JSON
# result (format in DESIGN.md §10) is written to build/release/coda-perf-wheel.json.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

builddir=build/release
bench=$builddir/tests/perf/coda-perf-wheel
json=$builddir/coda-perf-wheel.json
hugepage_mb_wanted=512

log() { printf 'main: %s\n' "$*"; }
die() { printf 'main: error: %s\n' "$*" >&2; exit 1; }

bash scripts/setup.sh

# Configure once; reuse an existing configuration, wipe only a broken one.
setup_opts=(--buildtype=release -Dwerror=false)
if [ ! -f "$builddir/build.ninja" ] || [ ! -f "$builddir/meson-private/coredata.dat" ]; then
	setup_log=$(mktemp /tmp/coda-main-setup.XXXXXX)
	if [ -d "$builddir" ]; then
		log "$builddir is not a usable build directory; reconfiguring it"
		meson setup --wipe "$builddir" "${setup_opts[@]}" >"$setup_log" 2>&1 ||
			{ rm -rf "$builddir" && meson setup "$builddir" "${setup_opts[@]}" >"$setup_log" 2>&1; } ||
			{ cat "$setup_log" >&2; die "meson setup $builddir failed"; }
	else
		meson setup "$builddir" "${setup_opts[@]}" >"$setup_log" 2>&1 ||
			{ cat "$setup_log" >&2; die "meson setup $builddir failed"; }
	fi
	rm -f "$setup_log"
fi
meson compile -C "$builddir" || die "build failed"
[ -x "$bench" ] || die "$bench was not built"

# Free hugepage memory over every page size, in MiB.
free_hugepage_mb() {
	local d kb free total=0
	for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
		[ -r "$d/free_hugepages" ] || continue
		kb=${d##*hugepages-}
		kb=${kb%kB}
		free=$(cat "$d/free_hugepages")
		total=$((total + free * kb / 1024))
	done
	echo "$total"
}

# One lcore: the first CPU this process may run on (normally 0).
lcore=$(awk '/^Cpus_allowed_list:/ { split($2, a, /[-,]/); print a[1] }' /proc/self/status)
eal=(--no-pci -l "${lcore:-0}" '--log-level=lib.*:error')
if [ "$(free_hugepage_mb)" -ge "$hugepage_mb_wanted" ]; then
	eal+=(--in-memory)
else
	# DPDK 22.11 rejects --in-memory with --no-huge (no-huge implies legacy
	# memory), so use a private, unshared runtime directory instead.
	prefix=coda-main-$$
	eal+=(--no-huge -m "$hugepage_mb_wanted" --no-shconf "--file-prefix=$prefix")
	if [ "$(id -u)" -eq 0 ]; then
		rundir=/var/run/dpdk/$prefix
	else
		rundir=${XDG_RUNTIME_DIR:-/tmp}/dpdk/$prefix
	fi
	trap 'rm -rf "$rundir"' EXIT
	log "fewer than $hugepage_mb_wanted MiB of free hugepages: running with --no-huge"
fi

rm -f "$json"
log "running $bench ${eal[*]} -- --json $json $*"
"$bench" "${eal[@]}" -- --json "$json" "$@"
[ -s "$json" ] || die "$bench exited 0 but wrote no $json"
log "results written to $root/$json"
