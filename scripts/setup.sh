#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup.sh - make a Debian 12 machine ready to build, test and run coda.
#
# 1. Installs the build and test dependencies with apt, only those missing;
#    "apt-get update" runs only when something has to be installed.
# 2. Reserves 2 MiB hugepages for DPDK when fewer than 256 (512 MiB) are
#    free, and mounts hugetlbfs on /dev/hugepages if nothing is mounted.
#    When that cannot be done (a container, no root, no memory) it says so in
#    one line and still succeeds: the scripts then run DPDK with --no-huge.
#
# Run as root, or as a user with sudo. Idempotent: a second run does no work,
# takes well under a second and prints only its summary line.
set -euo pipefail

PACKAGES=(
	build-essential gcc clang libclang-rt-dev lld
	meson ninja-build pkg-config
	libdpdk-dev dpdk dpdk-dev libnuma-dev
	libcmocka-dev libjansson-dev
	python3 python3-pyelftools
	clang-format
	iproute2 iputils-ping ethtool tcpdump tshark curl wrk netcat-openbsd
)
HUGE_PAGES_WANTED=256	# free 2 MiB pages, i.e. 512 MiB
HUGE_DIR=/sys/kernel/mm/hugepages/hugepages-2048kB
HUGE_MNT=/dev/hugepages

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Privilege: root as is; otherwise sudo when it exists (non-interactive under CI).
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		if [ "${CI:-}" = "true" ]; then SUDO=(sudo -n); else SUDO=(sudo); fi
	else
		SUDO=(none)
	fi
fi
as_root() {
	if [ "${SUDO[0]:-}" = none ]; then return 1; fi
	"${SUDO[@]}" "$@"
}

# --- 1. packages ------------------------------------------------------------

missing_packages() {
	# One dpkg-query for all; a package dpkg has never heard of prints nothing.
	local installed
	installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PACKAGES[@]}" \
		2>/dev/null | awk '$1 == "ii" { print $2 }') || true
	local p
	for p in "${PACKAGES[@]}"; do
		grep -qxF "$p" <<<"$installed" || printf '%s\n' "$p"
	done
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script is for Debian 12"
mapfile -t missing < <(missing_packages)
pkg_summary="all ${#PACKAGES[@]} packages present"
if [ "${#missing[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
	[ "${SUDO[0]:-}" = none ] && die "not root and no sudo; as root run: apt-get install ${missing[*]}"
	aptlog=$(mktemp /tmp/coda-setup-apt.XXXXXX)
	apt_env=(env DEBIAN_FRONTEND=noninteractive)
	apt_opts=(-q -o DPkg::Lock::Timeout=300)
	run_apt() { as_root "${apt_env[@]}" apt-get "${apt_opts[@]}" "$@" >>"$aptlog" 2>&1; }
	if ! run_apt update; then
		tail -n 20 "$aptlog" >&2
		die "apt-get update failed (full log: $aptlog)"
	fi
	if ! run_apt install -y --no-install-recommends "${missing[@]}"; then
		tail -n 30 "$aptlog" >&2
		die "apt-get install failed (full log: $aptlog)"
	fi
	rm -f "$aptlog"
	mapfile -t still < <(missing_packages)
	[ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
	pkg_summary="installed ${missing[*]}"
fi

# --- 2. hugepages -----------------------------------------------------------

free_2m_pages() {
	if [ -r "$HUGE_DIR/free_hugepages" ]; then
		cat "$HUGE_DIR/free_hugepages"
	else
		echo 0
	fi
}

hugetlbfs_mounted() {
	awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts
}

# Grows the 2 MiB pool until HUGE_PAGES_WANTED pages are free; never shrinks
# what others reserved. Prints nothing on success, the reason on failure.
reserve_hugepages() {
	local free total got
	[ -e "$HUGE_DIR/nr_hugepages" ] || { echo "kernel has no 2 MiB hugepages"; return; }
	[ "${SUDO[0]:-}" != none ] || { echo "not root and no sudo"; return; }
	free=$(free_2m_pages)
	total=$(cat "$HUGE_DIR/nr_hugepages")
	if ! echo "$((total + HUGE_PAGES_WANTED - free))" |
		as_root tee "$HUGE_DIR/nr_hugepages" >/dev/null 2>&1; then
		echo "cannot write $HUGE_DIR/nr_hugepages"
		return
	fi
	got=$(free_2m_pages)
	if [ "$got" -lt "$HUGE_PAGES_WANTED" ]; then
		# Do not keep a pool too small to use.
		echo "$total" | as_root tee "$HUGE_DIR/nr_hugepages" >/dev/null 2>&1 || true
		echo "kernel gave only $got free 2 MiB pages of $HUGE_PAGES_WANTED wanted"
	fi
}

huge_summary=
if [ "$(free_2m_pages)" -lt "$HUGE_PAGES_WANTED" ]; then
	why=$(reserve_hugepages)
	if [ -n "$why" ]; then
		log "no hugepages ($why); DPDK programs will run with --no-huge"
		huge_summary="no hugepages"
	fi
fi
if [ -z "$huge_summary" ]; then
	huge_summary="$(free_2m_pages) free 2 MiB hugepages"
	# DPDK's --in-memory mode needs no mount; everything else does.
	if ! hugetlbfs_mounted; then
		if as_root mkdir -p "$HUGE_MNT" 2>/dev/null &&
			as_root mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_MNT" 2>/dev/null; then
			huge_summary="$huge_summary, hugetlbfs on $HUGE_MNT"
		else
			huge_summary="$huge_summary (hugetlbfs not mounted: only --in-memory can use them)"
		fi
	fi
fi

log "ok: $pkg_summary; $huge_summary"
