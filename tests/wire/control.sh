#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/wire/control.sh - coda-server's control socket, close patterns and
# half-close, against the Linux kernel (same harness as wire.sh: lib.sh).
#
#   control.sh TOPOLOGY TEST CODA_SERVER
#       TOPOLOGY  af_packet | tap
#       TEST      control-ops close-patterns nc-halfclose wrk
#       CODA_SERVER  path to the coda-server executable
#
# Needs root and `ip netns`; exits 77 (skipped) without them. Exit status 0
# pass, 1 fail (the whole coda-server log is printed), 77 skip. See README.md
# for the harness (topologies, names, cleanup, time limits).
#
#   control-ops     coda-server --control SOCK; control_test.py ops runs in
#                   the kernel's namespace: every operation of DESIGN.md
#                   section 8 once (config, stats, malformed lines, unknown
#                   handles, listen/accept/recv/send/status, the passive
#                   close CLOSE-WAIT -> LAST-ACK -> CLOSED "normal", connect
#                   with and without sport, shutdown, abort -> ECONNRESET and
#                   "aborted", lookup of coda's TIME-WAIT entry and of a
#                   tuple never used). The socket file must be gone at exit.
#   close-patterns  --msl-ms 500; control_test.py close: 8 close patterns,
#                   each with what both applications see, which side holds
#                   TIME-WAIT (coda: lookup; Linux: ss), coda's TIME-WAIT
#                   ending after 2 MSL and within 2 MSL + 7 % (+0.5 s), and
#                   the FIN/RST sequence in a tcpdump capture.
#   nc-halfclose    --mode echo: `printf DATA | nc -N` (and 65 KB, IPv4 and
#                   IPv6) prints DATA back and exits 0: it saw coda's FIN.
#   wrk             --mode http: wrk -t1 -c8 -d10s, requests served, no
#                   socket errors, no non-2xx/3xx responses.
#
# Packages beyond README.md's: netcat-openbsd (nc -N), wrk, tcpdump.
set -uo pipefail

# shellcheck source=lib.sh
case ${BASH_SOURCE[0]} in
*/*) . "${BASH_SOURCE[0]%/*}/lib.sh" ;;
*) . ./lib.sh ;;
esac

usage() {
	sed -n '4,31p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

CTL_PORT=7200		# the port coda listens on through the control socket
CTL_PEER_PORT=7300	# the kernel listener's port for "connect"
CTL_MSL_MS=500		# close-patterns: --msl-ms (TIME-WAIT about 1 s)

# ctl_run NAME ARGS...: control_test.py in the peer namespace (100 s max),
# output printed; its log is printed again by the cleanup only if the run is
# interrupted. Returns its status.
ctl_run() {
	local name=$1 st log p keep=()
	shift
	log=$WIRE_WORK/$name.log
	WIRE_LOGS+=("$log")
	in_peer 100 "$PY" "$WIRE_DIR/control_test.py" "$@" >"$log" 2>&1
	st=$?
	sed 's/^/  | /' "$log"
	[ "$st" -eq 124 ] && echo "  | (killed by timeout after 100 s)"
	CTL_FAIL=$(sed -n 's/^control_test: FAIL: //p' "$log" | head -n1)
	for p in "${WIRE_LOGS[@]}"; do
		[ "$p" = "$log" ] || keep+=("$p")
	done
	WIRE_LOGS=("${keep[@]}")
	return "$st"
}

# The control socket is a file in the work directory (removed at exit).
ctl_start() {
	grep -qa -- '--control' "$CODA_BIN" ||
		fail "coda-server has no --control option (DESIGN.md section 8): $CODA_BIN"
	CTL_SOCK=$WIRE_WORK/control.sock
	coda_start --mode echo --control "$CTL_SOCK" "$@"
	check "the control socket $CTL_SOCK exists once coda-server is ready"
	wait_until 5 test -S "$CTL_SOCK" ||
		fail "coda-server --control $CTL_SOCK is ready but there is no socket file at that path"
	ok "socket file present"
}

ctl_stop() {
	coda_stop
	check "coda-server removed its control socket file at exit (docs/control.md)"
	[ ! -e "$CTL_SOCK" ] || fail "the control socket file $CTL_SOCK is still there after coda-server exited"
	ok "socket file removed"
}

t_control_ops() {
	ctl_start
	check "control_test.py ops: every operation of DESIGN.md section 8 with the Linux kernel as peer"
	ctl_run control-ops ops --control "$CTL_SOCK" --coda "$CODA4" --peer "$PEER4" \
		--coda6 "$CODA6" --peer6 "$PEER6" --port "$CTL_PORT" --peer-port "$CTL_PEER_PORT" ||
		fail "control socket operations: ${CTL_FAIL:-see the output above}"
	ok "control socket operations"
	alive "$CODA_PID" || fail "coda-server died during the control test"
	ctl_stop
}

t_close_patterns() {
	command -v tcpdump >/dev/null 2>&1 || fail "tcpdump not found (apt-get install tcpdump)"
	ctl_start --msl-ms "$CTL_MSL_MS"
	check "control_test.py close: 8 close patterns, each side's result, TIME-WAIT side, FIN/RST capture"
	ctl_run close-patterns close --control "$CTL_SOCK" --coda "$CODA4" --peer "$PEER4" \
		--port "$CTL_PORT" --msl-ms "$CTL_MSL_MS" --iface "$PEER_IF" \
		--pcap "$WIRE_WORK/close-patterns.pcap" ||
		fail "close patterns: ${CTL_FAIL:-see the output above}"
	ok "close patterns"
	alive "$CODA_PID" || fail "coda-server died during the close patterns"
	ctl_stop
}

# kernel_conns_done REMOTE: every kernel socket to REMOTE is in TIME-WAIT or
# gone within 3 s.
kernel_conns_done() {
	local remote=$1 states i
	check "kernel side: every socket to $remote is in TIME-WAIT or gone within 3 s"
	for ((i = 0; i < 30; i++)); do
		states=$(in_peer 5 ss -Htan | awk -v r="$remote" '$5 == r { print $1 }' | sort -u | tr '\n' ' ')
		states=${states% }
		if [ -z "$states" ] || [ "$states" = TIME-WAIT ]; then
			ok "kernel sockets to $remote: ${states:-gone}"
			return 0
		fi
		sleep 0.1
	done
	in_peer 5 ss -tan | sed 's/^/  | /'
	fail "kernel sockets to $remote still in '$states' after 3 s (expected TIME-WAIT or gone)"
}

# nc_echo NAME ADDR INPUT: `nc -N ADDR PORT < INPUT` in the peer namespace
# prints INPUT back completely and exits 0 (it stops once it reads coda's
# FIN). nc -N shuts down its write side at the end of its input.
nc_echo() {
	local name=$1 addr=$2 in=$3 out=$WIRE_WORK/$1.out err=$WIRE_WORK/$1.err st n
	WIRE_LOGS+=("$err")
	n=$(wc -c <"$in")
	check "$name: nc -N $addr $CODA_PORT < $n bytes: the same $n bytes back, exit status 0 within 20 s"
	timeout -k 2 20 ip netns exec "$PEER_NS" nc -N "$addr" "$CODA_PORT" <"$in" >"$out" 2>"$err" 3>&- &
	wait "$!"
	st=$?
	[ "$st" -eq 124 ] && fail "$name: nc -N did not exit within 20 s (it got $(wc -c <"$out") of $n bytes;" \
		"no FIN from coda?)"
	[ "$st" -eq 0 ] || fail "$name: nc -N exited with status $st: $(head -c 300 "$err")"
	cmp -s "$in" "$out" || fail "$name: nc -N printed $(wc -c <"$out") bytes, not the $n it sent" \
		"($(cmp "$in" "$out" 2>&1 | head -n1))"
	ok "$name: $n bytes back, exit 0"
}

t_nc_halfclose() {
	local in=$WIRE_WORK/nc-small.in big=$WIRE_WORK/nc-big.in out st
	command -v nc >/dev/null 2>&1 || fail "nc not found (apt-get install netcat-openbsd)"
	[[ $(nc -h 2>&1) =~ [[:space:]]-N[[:space:]] ]] || fail "this nc has no -N (apt-get install netcat-openbsd)"
	coda_start --mode echo
	# printf DATA | nc -N, literally.
	check "printf 'hello coda\\n' | nc -N $CODA4 $CODA_PORT prints 'hello coda' and exits 0"
	{ printf 'hello coda\n' | timeout -k 2 20 ip netns exec "$PEER_NS" nc -N "$CODA4" "$CODA_PORT"; } \
		>"$in" 2>&1 3>&- &
	wait "$!"
	st=$?
	out=$(cat "$in")
	[ "$st" -eq 0 ] || fail "printf | nc -N exited with status $st (124: still running after 20 s); output '$out'"
	[ "$out" = "hello coda" ] || fail "printf 'hello coda\\n' | nc -N printed '$out'"
	ok "hello coda, exit 0"
	head -c 49152 /dev/urandom | base64 >"$big"
	nc_echo nc-big4 "$CODA4" "$big"
	kernel_conns_done "$(addr_port 4 "$CODA4" "$CODA_PORT")"
	printf 'over IPv6\n' >"$in"
	nc_echo nc-small6 "$CODA6" "$in"
	nc_echo nc-big6 "$CODA6" "$big"
	kernel_conns_done "$(addr_port 6 "$CODA6" "$CODA_PORT")"
	coda_stop
}

# wrk against --mode http for 10 s: requests served, no errors of any kind.
t_wrk() {
	local out
	command -v wrk >/dev/null 2>&1 || fail "wrk not found (apt-get install wrk)"
	coda_start --mode http
	check "wrk -t1 -c8 -d10s http://$CODA4:$CODA_PORT/: requests served, no socket errors, no non-2xx"
	out=$(in_peer 30 wrk -t1 -c8 -d10s --timeout 5s "http://$CODA4:$CODA_PORT/" 2>&1)
	printf '%s\n' "$out" | sed 's/^/  | /'
	grep -qE '^ *[0-9]+ requests in' <<<"$out" || fail "wrk printed no request count"
	grep -qE '^ *0 requests in' <<<"$out" && fail "wrk completed no request"
	grep -q 'Socket errors' <<<"$out" && fail "wrk reports socket errors: $(grep 'Socket errors' <<<"$out")"
	grep -q 'Non-2xx or 3xx' <<<"$out" && fail "wrk reports bad responses: $(grep 'Non-2xx' <<<"$out")"
	ok "wrk: $(grep -E 'requests in' <<<"$out" | sed 's/^ *//'), no errors"
	coda_stop
}

run_test() {
	case $1 in
	control-ops) t_control_ops ;;
	close-patterns) t_close_patterns ;;
	nc-halfclose) t_nc_halfclose ;;
	wrk) t_wrk ;;
	*) fail "unknown test '$1'" ;;
	esac
}

wire_main "$@"
