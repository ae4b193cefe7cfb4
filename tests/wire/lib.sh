# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# tests/wire/lib.sh - shared by tests/wire/wire.sh; sourced, not run.
#
# Network namespaces and the two topologies (af_packet over a veth pair, and
# a DPDK tap), coda-server started in its namespace with its log, bounded
# waits, assertions, and a cleanup trap that removes everything this run made
# (namespaces, links, DPDK runtime files, processes) on success, failure,
# SIGINT and SIGTERM. Every name carries this shell's pid, so parallel runs
# never collide. Every command that could block runs under `timeout`, and
# every loop is bounded in count and time.
#
# Addresses: IPv4 only from 198.18.0.0/15 (RFC 2544 benchmarking), IPv6 only
# from 2001:2::/48 (RFC 5180 benchmarking) and link-local.

PY=/usr/bin/python3
# ip, ethtool and ss live in /usr/sbin or /sbin on some systems.
PATH=$PATH:/usr/sbin:/sbin
case ${BASH_SOURCE[0]} in
*/*) WIRE_DIR=$(cd "${BASH_SOURCE[0]%/*}" && pwd) ;;
*) WIRE_DIR=$PWD ;;
esac
WIRE_ID=$$

WIRE_NETNS=()		# namespaces created by this run
WIRE_LINKS=()		# links created in the caller's namespace (until moved)
WIRE_BG=()		# background helpers (pids), coda-server not included
WIRE_PREFIXES=()	# DPDK --file-prefix values used
WIRE_LOGS=()		# logs printed in full when the test fails
WIRE_WORK=
CODA_BIN=
CODA_PID=
CODA_LOG=
CODA_N=0
CODA_PREFIX=		# the running coda-server's --file-prefix
# coda-server's EAL memory options. --no-huge needs no hugepages but keeps
# secondary processes out; the capture test uses hugepages (huge_reserve).
CODA_MEM=(--no-huge -m 512)
HUGE_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
HUGE_OLD=		# nr_hugepages before huge_reserve raised it; restored at exit
CODA_MAX_S=110		# hard limit on one coda-server run (meson's timeout is 120 s)
CODA_PORT=7000		# coda-server's listening port
PEER_PORT=7100		# the kernel listener's port for --connect

# The script's own messages go to fd 3, a copy of its stdout: a trap that
# fires inside a function whose output is redirected to a log still prints
# to the test's output. The long-running children (coda-server, clients,
# listener) do not get fd 3.
exec 3>&1
say() { printf 'wire: %s\n' "$*" >&3; }
check() { printf 'wire: check: %s\n' "$*" >&3; }
ok() { printf 'wire: ok: %s\n' "$*" >&3; }
# fail/skip exit the test; the EXIT trap prints the logs and cleans up.
# Call them only from the main shell, never inside $(...).
fail() {
	printf 'wire: FAIL: %s\n' "$*" >&3
	exit 1
}
skip() {
	printf 'wire: SKIP: %s\n' "$*" >&3
	exit 77
}

# to SECONDS CMD...: CMD under a time limit (KILL 2 s after TERM). It runs in
# the background and is waited for, so that a SIGTERM or SIGINT to this script
# runs the cleanup trap at once instead of after CMD (meson sends SIGKILL
# 0.5 s after its SIGTERM on a timeout).
to() {
	local s=$1 p st
	shift
	timeout -k 2 "$s" "$@" 3>&- &
	p=$!
	wait "$p"
	st=$?
	return "$st"
}
# In the peer (kernel) namespace, with a time limit.
in_peer() {
	local s=$1
	shift
	to "$s" ip netns exec "$PEER_NS" "$@"
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# bg_forget PID: PID has been waited for; the cleanup must not kill its
# number again (it may belong to another process by then).
bg_forget() {
	local p keep=()
	for p in "${WIRE_BG[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	WIRE_BG=("${keep[@]}")
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
wait_until() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------
# Setup, cleanup

wire_init() {
	[ "$(id -u)" -eq 0 ] || skip "not root: the wire tests create network namespaces and links"
	command -v ip >/dev/null 2>&1 || skip "no ip command (iproute2): ip netns unavailable"
	ip netns list >/dev/null 2>&1 || skip "ip netns is unavailable here"
	local c
	for c in timeout ss ping awk; do
		command -v "$c" >/dev/null 2>&1 ||
			fail "'$c' not found; install iproute2, iputils-ping, coreutils, gawk or mawk"
	done
	[ -x "$PY" ] || fail "$PY not found (Debian's python3 package)"
	WIRE_WORK=$(mktemp -d "/tmp/codaw-$WIRE_ID.XXXXXX") || fail "mktemp failed"
	trap wire_cleanup EXIT
	trap 'say "interrupted (SIGINT)"; exit 130' INT
	trap 'say "terminated (SIGTERM)"; exit 143' TERM
	wire_reap_stale
}

ns_add() {
	local ns=$1 err
	if ! err=$(to 10 ip netns add "$ns" 2>&1); then
		if [ "${#WIRE_NETNS[@]}" -eq 0 ]; then
			skip "cannot create a network namespace (ip netns add: $err)"
		fi
		fail "ip netns add $ns: $err"
	fi
	WIRE_NETNS+=("$ns")
	to 10 ip -n "$ns" link set lo up || fail "ip -n $ns link set lo up failed"
}

# sysctl_ns NS KEY VALUE: write /proc/sys/KEY inside namespace NS (no procps needed).
sysctl_ns() {
	local ns=$1 key=$2 val=$3
	to 10 ip netns exec "$ns" sh -c "echo $val > /proc/sys/${key//.//}" ||
		fail "cannot set $key=$val in namespace $ns"
}

mac_of() { # NS IF
	to 10 ip -n "$1" -o link show dev "$2" 2>/dev/null |
		sed -n 's/.*link\/ether \([0-9a-f:]\{17\}\).*/\1/p'
}

wire_cleanup() {
	local rc=$? p ns i pfx log grace=30
	trap - EXIT
	trap '' INT TERM
	exec 1>&3 2>&3
	# Interrupted (130, 143): no grace, meson's SIGKILL follows its SIGTERM in
	# 0.5 s. Namespaces go first, the logs last.
	[ "$rc" -gt 128 ] && grace=0
	if [ -n "$CODA_PID" ]; then
		kill -TERM "$CODA_PID" 2>/dev/null
		for ((i = 0; i < grace; i++)); do
			alive "$CODA_PID" || break
			sleep 0.1
		done
		kill -KILL -- "-$CODA_PID" 2>/dev/null
		kill -KILL "$CODA_PID" 2>/dev/null
		wait "$CODA_PID" 2>/dev/null
		CODA_PID=
	fi
	for p in "${WIRE_BG[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for ns in "${WIRE_NETNS[@]}"; do
		wire_ns_del "$ns"
	done
	for i in "${WIRE_LINKS[@]}"; do
		timeout 5 ip link del "$i" >/dev/null 2>&1
	done
	for pfx in "${WIRE_PREFIXES[@]}"; do
		[ -n "$pfx" ] || continue
		rm -rf "/var/run/dpdk/$pfx"
		huge_rm "$pfx"
	done
	# Only once the hugepage files are gone are their pages free again.
	if [ -n "$HUGE_OLD" ]; then
		timeout 30 sh -c "echo $HUGE_OLD > $HUGE_SYS/nr_hugepages" 2>/dev/null ||
			printf 'wire: cleanup: could not restore %s/nr_hugepages to %s\n' "$HUGE_SYS" "$HUGE_OLD"
		HUGE_OLD=
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for log in "${WIRE_LOGS[@]}"; do
			[ -f "$log" ] || continue
			printf '\n----- %s -----\n' "$(basename "$log")"
			cat "$log"
			printf -- '----- end of %s -----\n' "$(basename "$log")"
		done
		say "result: FAILED (status $rc)"
	elif [ "$rc" -eq 0 ]; then
		say "result: passed"
	fi
	[ -n "$WIRE_WORK" ] && rm -rf "$WIRE_WORK"
	exit "$rc"
}

# wire_ns_del NS: kill what runs inside NS (a namespace of this suite, so
# started by the run that made it) and delete NS.
wire_ns_del() {
	local ns=$1 p
	for p in $(timeout 5 ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	timeout 10 ip netns del "$ns" 2>/dev/null ||
		printf 'wire: cleanup: could not delete namespace %s\n' "$ns"
}

# wire_reap_stale: remove what an earlier run whose process is gone left
# behind (it was SIGKILLed, e.g. by meson after a timeout): its namespaces,
# links, DPDK runtime dirs and work files, all named after its pid.
wire_reap_stale() {
	local x id
	for x in $(timeout 5 ip netns list 2>/dev/null | awk '$1 ~ /^codaw-[dkt]-[0-9]+$/ { print $1 }'); do
		id=${x##*-}
		[ -d "/proc/$id" ] && continue
		say "removing namespace $x left by an earlier run (pid $id is gone)"
		wire_ns_del "$x"
	done
	for x in $(timeout 5 ip -o link show 2>/dev/null |
		awk -F': ' '{ sub(/@.*/, "", $2); if ($2 ~ /^c[dkt][0-9]+$/) print $2 }'); do
		id=${x:2}
		[ -d "/proc/$id" ] && continue
		say "removing link $x left by an earlier run (pid $id is gone)"
		timeout 5 ip link del "$x" >/dev/null 2>&1
	done
	for x in /var/run/dpdk/codaw[0-9]*-[0-9]* /tmp/codaw-[0-9]* \
		$(for p in $(huge_dirs); do echo "$p"/codaw[0-9]*-[0-9]*map_*; done); do
		[ -e "$x" ] || continue
		[[ ${x##*/} =~ ^codaw-?([0-9]+)[.-] ]] || continue
		id=${BASH_REMATCH[1]}
		[ -d "/proc/$id" ] && continue
		rm -rf "$x"
	done
}

# Topology 1: af_packet over a veth pair.
#   namespace D: veth cd<pid>, up, no address, IPv6 disabled (D's kernel stays
#                silent); coda-server runs here on net_af_packet0,iface=cd<pid>
#   namespace K: veth ck<pid>, 198.18.0.2/24 and 2001:2::2/64; the kernel peer
# Transmit checksum offload is turned off on both ends (see README.md: with it
# on, af_packet hands coda TCP frames with partial checksums and 64 KB GSO
# frames).
topo_af_packet() {
	TOPO=af_packet
	local nd=codaw-d-$WIRE_ID nk=codaw-k-$WIRE_ID
	IF_D=cd$WIRE_ID
	IF_K=ck$WIRE_ID
	command -v ethtool >/dev/null 2>&1 ||
		fail "ethtool not found (apt-get install ethtool): needed to turn off veth checksum offload"
	ns_add "$nd"
	ns_add "$nk"
	to 10 ip link add "$IF_D" type veth peer name "$IF_K" || fail "cannot create veth pair $IF_D/$IF_K"
	WIRE_LINKS+=("$IF_D")
	to 10 ip link set "$IF_D" netns "$nd" || fail "cannot move $IF_D to $nd"
	to 10 ip link set "$IF_K" netns "$nk" || fail "cannot move $IF_K to $nk"
	sysctl_ns "$nd" "net.ipv6.conf.$IF_D.disable_ipv6" 1
	sysctl_ns "$nk" "net.ipv6.conf.$IF_K.accept_dad" 0
	to 10 ip netns exec "$nd" ethtool -K "$IF_D" tx off >/dev/null ||
		fail "ethtool -K $IF_D tx off failed"
	to 10 ip netns exec "$nk" ethtool -K "$IF_K" tx off >/dev/null ||
		fail "ethtool -K $IF_K tx off failed"
	to 10 ip -n "$nk" addr add 198.18.0.2/24 dev "$IF_K" || fail "cannot add 198.18.0.2/24 to $IF_K"
	to 10 ip -n "$nk" -6 addr add 2001:2::2/64 dev "$IF_K" nodad || fail "cannot add 2001:2::2/64 to $IF_K"
	to 10 ip -n "$nk" link set "$IF_K" up || fail "cannot bring $IF_K up"
	to 10 ip -n "$nd" link set "$IF_D" up || fail "cannot bring $IF_D up"
	CODA_NS=$nd
	PEER_NS=$nk
	PEER_IF=$IF_K
	CODA4=198.18.0.1 PEER4=198.18.0.2 PLEN4=24
	CODA6=2001:2::1 PEER6=2001:2::2 PLEN6=64
	VDEV=--vdev=net_af_packet0,iface=$IF_D
	# af_packet: coda's MAC is the veth's.
	CODA_MAC=$(mac_of "$nd" "$IF_D")
	[ -n "$CODA_MAC" ] || fail "cannot read the MAC address of $IF_D"
	say "topology af_packet: ${nd}[$IF_D $CODA_MAC, coda $CODA4/$PLEN4 $CODA6/$PLEN6]" \
		"<-> ${nk}[$IF_K $PEER4/$PLEN4 $PEER6/$PLEN6]"
}

# Topology 2: DPDK tap. Namespace T holds both coda-server (net_tap0 creates
# the tap ct<pid> in T) and the kernel peer, which gets 198.18.1.2/24 and
# 2001:2:0:1::2/64 on the tap once coda-server is ready (topo_ready).
topo_tap() {
	TOPO=tap
	local nt=codaw-t-$WIRE_ID
	IF_T=ct$WIRE_ID
	[ -c /dev/net/tun ] || fail "/dev/net/tun missing: the tap PMD needs the tun driver"
	ns_add "$nt"
	# The tap is created later, by coda-server: no DAD on it.
	sysctl_ns "$nt" net.ipv6.conf.default.accept_dad 0
	CODA_NS=$nt
	PEER_NS=$nt
	PEER_IF=$IF_T
	CODA4=198.18.1.1 PEER4=198.18.1.2 PLEN4=24
	CODA6=2001:2:0:1::1 PEER6=2001:2:0:1::2 PLEN6=64
	VDEV=--vdev=net_tap0,iface=$IF_T
	CODA_MAC=
	say "topology tap: ${nt}[coda on tap $IF_T: $CODA4/$PLEN4 $CODA6/$PLEN6;" \
		"kernel $PEER4/$PLEN4 $PEER6/$PLEN6]"
}

# After coda-server is ready: the tap exists now; address it and bring it up.
topo_ready() {
	[ "$TOPO" = tap ] || return 0
	wait_until 5 to 5 ip -n "$PEER_NS" link show dev "$IF_T" >/dev/null 2>&1 ||
		fail "coda-server is ready but the tap $IF_T does not exist in $PEER_NS"
	to 10 ip -n "$PEER_NS" addr add "$PEER4/$PLEN4" dev "$IF_T" || fail "cannot add $PEER4 to $IF_T"
	to 10 ip -n "$PEER_NS" -6 addr add "$PEER6/$PLEN6" dev "$IF_T" nodad ||
		fail "cannot add $PEER6 to $IF_T"
	to 10 ip -n "$PEER_NS" link set "$IF_T" up || fail "cannot bring $IF_T up"
	# The tap PMD gives the kernel's tap its own MAC address: coda's.
	CODA_MAC=$(mac_of "$PEER_NS" "$IF_T")
	[ -n "$CODA_MAC" ] || fail "cannot read the MAC address of $IF_T"
	say "tap $IF_T up in $PEER_NS: $PEER4/$PLEN4 $PEER6/$PLEN6, MAC $CODA_MAC (coda's)"
}

# ---------------------------------------------------------------------------
# coda-server

# coda_start APP-OPTIONS...: start coda-server in its namespace with the
# topology's addresses and port, wait (at most 20 s) for "coda-server: ready".
coda_start() {
	local prefix i st
	CODA_N=$((CODA_N + 1))
	prefix=codaw$WIRE_ID-$CODA_N
	WIRE_PREFIXES+=("$prefix")
	CODA_LOG=$WIRE_WORK/coda-server-$CODA_N.log
	WIRE_LOGS+=("$CODA_LOG")
	CODA_PREFIX=$prefix
	local eal=(--no-pci "${CODA_MEM[@]}" "--file-prefix=$prefix" -l 0 "$VDEV")
	local app=(--addr "$CODA4/$PLEN4" --addr6 "$CODA6/$PLEN6" --port "$CODA_PORT" "$@")
	say "start: ip netns exec $CODA_NS $CODA_BIN ${eal[*]} -- ${app[*]}"
	: >"$CODA_LOG"
	# ip netns exec execs timeout, which runs coda-server in its own process
	# group (pgid CODA_PID), passes it our SIGTERM, and exits with its status.
	# If this script dies, timeout still ends coda-server after CODA_MAX_S.
	ip netns exec "$CODA_NS" timeout -k 15 "$CODA_MAX_S" "$CODA_BIN" "${eal[@]}" -- "${app[@]}" \
		>"$CODA_LOG" 2>&1 </dev/null 3>&- &
	CODA_PID=$!
	check "coda-server prints 'coda-server: ready' within 20 s"
	for ((i = 0; i < 200; i++)); do
		grep -q '^coda-server: ready' "$CODA_LOG" && break
		if ! alive "$CODA_PID"; then
			wait "$CODA_PID"
			st=$?
			CODA_PID=
			fail "coda-server exited with status $st before printing 'coda-server: ready'"
		fi
		sleep 0.1
	done
	[ "$i" -lt 200 ] || fail "no 'coda-server: ready' line within 20 s (coda-server still running;" \
		"if it printed it, stdout may be buffered: it must fflush(stdout) after that line)"
	ok "coda-server ready after ~$((i / 10)).$((i % 10)) s (pid $CODA_PID, log $(basename "$CODA_LOG"))"
	topo_ready
	# coda-server prints its port's MAC ("mac 02:AB:..."); it should be the one
	# the topology gives it. The neighbour checks expect the one it prints.
	local m
	m=$(sed -n 's/^coda-server: port .* mac \([0-9A-Fa-f:]\{17\}\).*/\1/p' "$CODA_LOG" | head -n1 |
		tr 'A-F' 'a-f')
	if [ -n "$m" ] && [ "$m" != "$CODA_MAC" ]; then
		say "note: coda-server reports MAC $m, the topology's is $CODA_MAC; expecting $m"
		CODA_MAC=$m
	fi
}

# coda_stop: SIGTERM; coda-server must exit with status 0 within 10 s and
# report as many mbufs in use as at start (status 3 means a leak).
coda_stop() {
	local i st line
	[ -n "$CODA_PID" ] || fail "coda_stop: coda-server is not running"
	check "on SIGTERM coda-server exits with status 0 within 10 s, no mbuf leak"
	alive "$CODA_PID" || say "coda-server had already exited before SIGTERM"
	kill -TERM "$CODA_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		alive "$CODA_PID" || break
		sleep 0.1
	done
	if alive "$CODA_PID"; then
		kill -KILL -- "-$CODA_PID" 2>/dev/null
		wait "$CODA_PID" 2>/dev/null
		CODA_PID=
		fail "coda-server did not exit within 10 s of SIGTERM (killed)"
	fi
	wait "$CODA_PID"
	st=$?
	CODA_PID=
	line=$(grep -m1 'coda-server: mbufs in use' "$CODA_LOG")
	case $st in
	0) ;;
	3) fail "coda-server exited with status 3: mbuf leak (${line:-no 'mbufs in use' line})" ;;
	124) fail "coda-server ran past the harness's $CODA_MAX_S s limit (timeout ended it)" ;;
	12[89] | 1[3-9][0-9]) fail "coda-server died of signal $((st - 128)) after SIGTERM (status $st)" ;;
	*) fail "coda-server exited with status $st after SIGTERM (expected 0)" ;;
	esac
	[ -n "$line" ] || fail "coda-server exited 0 but printed no 'coda-server: mbufs in use N, at start M' line"
	if [[ $line =~ mbufs\ in\ use\ ([0-9]+),\ at\ start\ ([0-9]+) ]] &&
		[ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ]; then
		fail "coda-server exited 0 but reports a leak: $line"
	fi
	ok "coda-server exited 0 after ~$((i / 10)).$((i % 10)) s (${line#coda-server: })"
	# Its final summary, for the record (not checked: its format is not fixed).
	grep -E '^coda-server: (worker |  )' "$CODA_LOG" | sed 's/^/  | /' >&3
}

# ---------------------------------------------------------------------------
# Kernel-side helpers

# client LOGNAME ARGS...: run tcp_client.py in the peer namespace (60 s max);
# its output goes to the test's output and to a log. Returns its status.
client() {
	local name=$1 st
	shift
	local log=$WIRE_WORK/$name.log
	WIRE_LOGS+=("$log")
	in_peer 90 "$PY" "$WIRE_DIR/tcp_client.py" "$@" >"$log" 2>&1
	st=$?
	sed 's/^/  | /' "$log"
	[ "$st" -eq 124 ] && echo "  | (killed by timeout after 90 s)"
	return "$st"
}

# listener_start FAMILY BYTES EXPECT_PEER: a kernel listener in the peer
# namespace on PEER_PORT for coda-server --connect; waits until it listens.
listener_start() {
	local fam=$1 bytes=$2 peer=$3
	LISTENER_LOG=$WIRE_WORK/listener-$fam-$CODA_N.log
	local ready=$WIRE_WORK/listener-$fam.ready
	WIRE_LOGS+=("$LISTENER_LOG")
	rm -f "$ready"
	timeout -k 2 60 ip netns exec "$PEER_NS" \
		"$PY" "$WIRE_DIR/tcp_client.py" listen --family "$fam" --port "$PEER_PORT" \
		--bytes "$bytes" --expect-peer "$peer" --accept-timeout 25 --timeout 15 \
		--ready-file "$ready" >"$LISTENER_LOG" 2>&1 3>&- &
	LISTENER_PID=$!
	WIRE_BG+=("$LISTENER_PID")
	wait_until 10 test -f "$ready" || fail "the kernel listener did not start listening within 10 s"
	say "kernel listener (IPv$fam, port $PEER_PORT, pid $LISTENER_PID) is listening"
}

# bg_reap PID SECONDS WHAT: wait at most SECONDS for our background process
# PID to end (then kill its group, and say so naming WHAT), reap it and
# forget it. Returns its exit status.
bg_reap() {
	local pid=$1 n=$(($2 * 10)) i st
	for ((i = 0; i < n; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		kill -KILL -- "-$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
		echo "  | ($3 was still running after $2 s: killed)"
	fi
	wait "$pid"
	st=$?
	bg_forget "$pid"
	return "$st"
}

# listener_wait SECONDS: the listener's status (it exits by itself).
listener_wait() {
	local st
	bg_reap "$LISTENER_PID" "$1" "the listener"
	st=$?
	sed 's/^/  | /' "$LISTENER_LOG"
	return "$st"
}

neigh_line() { # FAMILY ADDR
	in_peer 5 ip "-$1" neigh show to "$2" dev "$PEER_IF" 2>/dev/null | head -n1
}

# neigh_resolved FAMILY ADDR: the kernel has a usable entry (with a MAC) for ADDR.
neigh_resolved() {
	local l
	l=$(neigh_line "$1" "$2")
	[[ $l =~ lladdr\ [0-9a-f:]{17}\ (REACHABLE|STALE|DELAY|PROBE|PERMANENT) ]]
}

# kernel_conn_done LPORT REMOTE: every kernel socket LPORT -> REMOTE
# ("198.18.0.1:7000", "[2001:2::1]:7000") is in TIME-WAIT or gone, within 3 s.
kernel_conn_done() {
	local lport=$1 remote=$2 states i
	check "kernel side: the connection local port $lport -> $remote is in TIME-WAIT or gone (not FIN-WAIT-2, CLOSING, ...)"
	for ((i = 0; i < 30; i++)); do
		states=$(in_peer 5 ss -Htan | awk -v l="$lport" -v r="$remote" '
			{ n = split($4, a, ":"); if (a[n] == l && $5 == r) print $1 }' | sort -u | tr '\n' ' ')
		states=${states% }
		if [ -z "$states" ] || [ "$states" = TIME-WAIT ]; then
			ok "kernel socket $lport -> $remote: ${states:-gone}"
			return 0
		fi
		sleep 0.1
	done
	in_peer 5 ss -tanoi | sed 's/^/  | /'
	fail "kernel socket local port $lport -> $remote still in state '$states' after 3 s (expected TIME-WAIT or gone)"
}

addr_port() { # FAMILY ADDR PORT: "A:P" or "[A]:P"
	if [ "$1" = 6 ]; then echo "[$2]:$3"; else echo "$2:$3"; fi
}

# ---------------------------------------------------------------------------
# Hugepages (the capture test: a secondary process such as dpdk-dumpcap maps
# the primary's hugepage files, so coda-server cannot run with --no-huge)

# huge_dirs: the hugetlbfs mount points.
huge_dirs() {
	awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts 2>/dev/null
}

# huge_rm PREFIX: remove the hugepage files of PREFIX (EAL names them
# PREFIXmap_N, and leaves them when the process exits); none with --no-huge.
huge_rm() {
	local d
	for d in $(huge_dirs); do
		rm -f "$d/${1}map_"*
	done
}

# huge_clean PREFIX: after coda-server has exited, its hugepage files go.
huge_clean() {
	local d f left=
	huge_rm "$1"
	for d in $(huge_dirs); do
		for f in "$d/${1}map_"*; do
			[ -e "$f" ] && left+="$f "
		done
	done
	[ -z "$left" ] || fail "hugepage files of $1 still exist after rm: $left"
	ok "hugepage files of $1 removed"
}

# huge_avail: free 2 MiB hugepages not yet promised to a mapping.
huge_avail() {
	local free resv
	free=$(cat "$HUGE_SYS/free_hugepages" 2>/dev/null) || free=0
	resv=$(cat "$HUGE_SYS/resv_hugepages" 2>/dev/null) || resv=0
	echo $((free - resv))
}

# huge_reserve N: at least N free 2 MiB hugepages, raising nr_hugepages if
# needed (the old value is restored at exit); skip (77) if none can be had.
huge_reserve() {
	local need=$1 avail nr want
	[ -w "$HUGE_SYS/nr_hugepages" ] ||
		skip "no 2 MiB hugepages on this kernel ($HUGE_SYS/nr_hugepages missing or read-only)"
	[ -n "$(huge_dirs)" ] ||
		skip "no hugetlbfs mounted (e.g. mount -t hugetlbfs nodev /dev/hugepages)"
	avail=$(huge_avail)
	nr=$(cat "$HUGE_SYS/nr_hugepages")
	if [ "$avail" -lt "$need" ]; then
		want=$((nr + need - avail))
		say "$avail free 2 MiB hugepages, $need wanted: nr_hugepages $nr -> $want (restored at exit)"
		HUGE_OLD=$nr
		to 30 sh -c "echo $want > $HUGE_SYS/nr_hugepages" 2>/dev/null
		avail=$(huge_avail)
		[ "$avail" -ge "$need" ] ||
			skip "cannot have $need free 2 MiB hugepages: $avail free after writing $want to" \
				"$HUGE_SYS/nr_hugepages (not enough free memory?)"
	fi
	ok "$avail free 2 MiB hugepages (nr_hugepages $(cat "$HUGE_SYS/nr_hugepages")), $need wanted;" \
		"hugetlbfs at $(huge_dirs | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# Telemetry: dpdk-telemetry.py (Debian's dpdk-dev) on coda-server's socket,
# /var/run/dpdk/PREFIX/dpdk_telemetry.v2. The socket is a file, so the query
# runs from this (the root) namespace.

TEL_N=0

# tel_query CMD...: send the commands, in order, on one connection;
# dpdk-telemetry.py's output goes to TEL_OUT (and to the telemetry log,
# printed on failure). 1 when dpdk-telemetry.py fails.
tel_query() {
	local st
	TEL_N=$((TEL_N + 1))
	TEL_OUT=$WIRE_WORK/telemetry-$TEL_N.out
	if [ -z "${TEL_LOG:-}" ]; then
		TEL_LOG=$WIRE_WORK/telemetry.log
		WIRE_LOGS+=("$TEL_LOG")
	fi
	printf '%s\n' "$@" >"$TEL_OUT.in"
	# Not through to(): a background command's stdin would be /dev/null.
	timeout -k 2 10 dpdk-telemetry.py -f "$CODA_PREFIX" <"$TEL_OUT.in" >"$TEL_OUT" 2>&1 3>&- &
	wait "$!"
	st=$?
	{
		sed 's/^/> /' "$TEL_OUT.in"
		cat "$TEL_OUT"
		[ "$st" -eq 0 ] || printf '(dpdk-telemetry.py exited with status %s)\n' "$st"
	} >>"$TEL_LOG"
	return "$st"
}

# tel_expect CMD CHECK... [-- CMD CHECK...]...: send the commands on one
# connection and check each reply with tel_check.py (checks: KEY>N KEY>=N
# KEY==N KEY=TEXT KEY? PREFIX* null).
tel_expect() {
	local a out next=1 cmds=()
	for a in "$@"; do
		[ "$next" = 1 ] && cmds+=("$a")
		next=0
		[ "$a" = -- ] && next=1
	done
	tel_query "${cmds[@]}" || fail "dpdk-telemetry.py -f $CODA_PREFIX, commands ${cmds[*]:0:3}...:" \
		"failed: $(head -c 300 "$TEL_OUT")"
	if ! out=$("$PY" "$WIRE_DIR/tel_check.py" "$TEL_OUT" "$@" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/  | /' >&3
		# One command: its reply too. More: they are in the telemetry log.
		[ "${#cmds[@]}" -eq 1 ] && a=" (reply: $(head -c 400 "$TEL_OUT"))" || a=
		fail "telemetry: $(printf '%s\n' "$out" | sed -n 's/^tel_check: FAIL: //p' | head -n1)$a"
	fi
	printf '%s\n' "$out" | sed 's/^/  | /' >&3
}

# tel_wait SECONDS CMD CHECK...: like tel_expect, but query again (every
# 0.1 s, at most 100 times) until the checks pass or SECONDS have passed.
tel_wait() {
	local s=$1 cmd=$2 out i end
	shift 2
	end=$((SECONDS + s))
	for ((i = 0; i < 100; i++)); do
		tel_query "$cmd" || fail "dpdk-telemetry.py -f $CODA_PREFIX, command $cmd: failed:" \
			"$(head -c 300 "$TEL_OUT")"
		out=$("$PY" "$WIRE_DIR/tel_check.py" "$TEL_OUT" "$cmd" "$@" 2>&1) && break
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.1
	done
	printf '%s\n' "$out" | sed 's/^/  | /' >&3
	if [[ $out == *"FAIL: "* ]]; then
		fail "telemetry, after $((i + 1)) queries in ${s} s at most:" \
			"$(printf '%s\n' "$out" | sed -n 's/^tel_check: FAIL: //p' | head -n1)" \
			"(reply: $(head -c 400 "$TEL_OUT"))"
	fi
}

# tel_value CMD KEY: TEL_VALUE = the integer KEY of CMD's reply.
tel_value() {
	local cmd=$1 key=$2
	tel_query "$cmd" || fail "dpdk-telemetry.py -f $CODA_PREFIX, command $cmd: failed:" \
		"$(head -c 300 "$TEL_OUT")"
	TEL_VALUE=$("$PY" "$WIRE_DIR/tel_check.py" "$TEL_OUT" "$cmd" "print:$key" 2>&1)
	[[ $TEL_VALUE =~ ^[0-9]+$ ]] ||
		fail "telemetry $cmd: no integer $key: ${TEL_VALUE#tel_check: } (reply: $(head -c 400 "$TEL_OUT"))"
}

# ---------------------------------------------------------------------------
# A connection held open (tcp_client.py hold), for the telemetry test

# hold_start ADDR: connect to coda's port from the peer namespace, check a
# 1000-byte echo and keep the connection ESTABLISHED; HOLD_LPORT is its
# local port. At most 15 s.
hold_start() {
	local addr=$1 i st
	HOLD_LOG=$WIRE_WORK/client-hold.log
	HOLD_READY=$WIRE_WORK/hold.ready
	HOLD_RELEASE=$WIRE_WORK/hold.release
	WIRE_LOGS+=("$HOLD_LOG")
	rm -f "$HOLD_READY" "$HOLD_RELEASE"
	timeout -k 2 90 ip netns exec "$PEER_NS" \
		"$PY" "$WIRE_DIR/tcp_client.py" hold --host "$addr" --port "$CODA_PORT" --bytes 1000 \
		--timeout 15 --hold-timeout 60 --ready-file "$HOLD_READY" \
		--release-file "$HOLD_RELEASE" >"$HOLD_LOG" 2>&1 </dev/null 3>&- &
	HOLD_PID=$!
	WIRE_BG+=("$HOLD_PID")
	for ((i = 0; i < 150; i++)); do
		[ -s "$HOLD_READY" ] && break
		alive "$HOLD_PID" || break
		sleep 0.1
	done
	if [ ! -s "$HOLD_READY" ]; then
		alive "$HOLD_PID" && kill -KILL "$HOLD_PID" 2>/dev/null
		wait "$HOLD_PID"
		st=$?
		bg_forget "$HOLD_PID"
		sed 's/^/  | /' "$HOLD_LOG"
		fail "the client could not open and check its connection to $addr port $CODA_PORT" \
			"within 15 s (status $st; see its output above)"
	fi
	HOLD_LPORT=$(cat "$HOLD_READY")
	sed 's/^/  | /' "$HOLD_LOG"
	HOLD_SHOWN=$(wc -l <"$HOLD_LOG")
	say "the client (pid $HOLD_PID) holds its connection, local port $HOLD_LPORT -> $addr port $CODA_PORT"
}

# hold_finish: release the held connection: the client sends its FIN, reads
# coda's FIN (EOF) and closes. Its status (at most 20 s).
hold_finish() {
	local st
	: >"$HOLD_RELEASE"
	bg_reap "$HOLD_PID" 20 "the released client"
	st=$?
	tail -n "+$((HOLD_SHOWN + 1))" "$HOLD_LOG" | sed 's/^/  | /'
	return "$st"
}

# ---------------------------------------------------------------------------
# Capture: dpdk-dumpcap (Debian's dpdk-dev), a secondary process of
# coda-server, which calls rte_pdump_init() at start.

# capture_start FILE: dpdk-dumpcap on port 0 of the running coda-server, in
# its namespace, writing pcapng to FILE; waits (at most 20 s) until it
# captures (it prints "Packets captured:" once rte_pdump_enable returned).
capture_start() {
	local file=$1 i st hint=
	CAP_LOG=$WIRE_WORK/dumpcap-$CODA_N.log
	WIRE_LOGS+=("$CAP_LOG")
	: >"$CAP_LOG"
	# -p: leave the port's promiscuous mode alone. Bounded twice: its own
	# autostop after 60 s, timeout after 70 s.
	say "capture: ip netns exec $CODA_NS dpdk-dumpcap --file-prefix=$CODA_PREFIX -i 0 -p" \
		"-w $(basename "$file") -a duration:60"
	timeout -k 2 70 ip netns exec "$CODA_NS" dpdk-dumpcap "--file-prefix=$CODA_PREFIX" -i 0 -p \
		-w "$file" -a duration:60 >"$CAP_LOG" 2>&1 </dev/null 3>&- &
	CAP_PID=$!
	WIRE_BG+=("$CAP_PID")
	check "dpdk-dumpcap attaches to coda-server (a secondary process) and captures within 20 s"
	for ((i = 0; i < 200; i++)); do
		grep -q 'Packets captured:' "$CAP_LOG" && break
		alive "$CAP_PID" || break
		sleep 0.1
	done
	if ! grep -q 'Packets captured:' "$CAP_LOG"; then
		if alive "$CAP_PID"; then
			kill -KILL "$CAP_PID" 2>/dev/null
			wait "$CAP_PID"
			st="still running after 20 s: killed"
		else
			wait "$CAP_PID"
			st="exited with status $?"
		fi
		bg_forget "$CAP_PID"
		tr '\b' ' ' <"$CAP_LOG" | sed 's/^/  | /'
		grep -q 'Cannot get hugepage information' "$CAP_LOG" &&
			hint=": it found no hugepage memory of prefix $CODA_PREFIX (a primary with --no-huge?)"
		grep -q 'Packet dump enable failed' "$CAP_LOG" &&
			hint=": coda-server refused the capture (rte_pdump_enable)"
		grep -q 'Fail to recv reply for request .*mp_pdump' "$CAP_LOG" &&
			hint=": coda-server did not answer the mp_pdump request (no rte_pdump_init()?)"
		fail "dpdk-dumpcap did not start capturing ($st; its output above)$hint"
	fi
	ok "dpdk-dumpcap captures after ~$((i / 10)).$((i % 10)) s (pid $CAP_PID)"
}

# capture_stop: SIGINT; dpdk-dumpcap must exit 0 within 10 s (it disables
# the capture in coda-server and closes its file).
capture_stop() {
	local i st
	check "on SIGINT dpdk-dumpcap exits with status 0 within 10 s"
	kill -INT "$CAP_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		alive "$CAP_PID" || break
		sleep 0.1
	done
	if alive "$CAP_PID"; then
		kill -KILL -- "-$CAP_PID" 2>/dev/null
		kill -KILL "$CAP_PID" 2>/dev/null
		wait "$CAP_PID"
		bg_forget "$CAP_PID"
		tr '\b' ' ' <"$CAP_LOG" | sed 's/^/  | /'
		fail "dpdk-dumpcap did not exit within 10 s of SIGINT (killed)"
	fi
	wait "$CAP_PID"
	st=$?
	bg_forget "$CAP_PID"
	tr '\b' ' ' <"$CAP_LOG" | sed 's/^/  | /'
	[ "$st" -eq 0 ] || fail "dpdk-dumpcap exited with status $st after SIGINT (expected 0)"
	ok "dpdk-dumpcap exited 0"
}

# capture_has_fins FILE FWD BACK: the pcapng FILE (perhaps still being
# written) holds a FIN in both directions ("IP A.P > B.Q: Flags" prefixes).
capture_has_fins() {
	local out
	out=$(to 10 tcpdump -nn -r "$1" 2>/dev/null)
	grep -qE "^[0-9:.]+ $2 \[[^]]*F" <<<"$out" && grep -qE "^[0-9:.]+ $3 \[[^]]*F" <<<"$out"
}

# wire_main TOPOLOGY TEST CODA_SERVER: the main of a test script: check the
# arguments, set the namespaces and the topology up, and run the script's
# run_test TEST (which fails or returns). The cleanup trap does the rest.
wire_main() {
	[ $# -eq 3 ] || usage
	topo=$1 test=$2 CODA_BIN=$3
	case $topo in af_packet | tap) ;; *) usage ;; esac
	say "test $topo $test (coda-server: $CODA_BIN, pid $WIRE_ID)"
	wire_init
	[ -x "$CODA_BIN" ] || fail "coda-server not found or not executable: $CODA_BIN"
	"topo_$topo"
	run_test "$test"
	exit 0
}
