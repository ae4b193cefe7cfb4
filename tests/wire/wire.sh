#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/wire/wire.sh - coda-server on the wire, against the Linux kernel.
#
#   wire.sh TOPOLOGY TEST CODA_SERVER
#       TOPOLOGY  af_packet | tap
#       TEST      arp nd ping tcp4 tcp6 connect4 connect6 discard4 discard6
#                 telemetry capture
#       CODA_SERVER  path to the coda-server executable (or to
#                 fake_coda_server.py, af_packet only: the harness self-test)
#   wire.sh harness
#       self-test of this harness with the kernel standing in for coda-server
#
# Needs root and `ip netns`; exits 77 (skipped) without them. Exit status 0
# pass, 1 fail (the whole coda-server log is printed), 77 skip. See README.md.
set -uo pipefail

# shellcheck source=lib.sh
case ${BASH_SOURCE[0]} in
*/*) . "${BASH_SOURCE[0]%/*}/lib.sh" ;;
*) . ./lib.sh ;;
esac

usage() {
	sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

# --- tests ------------------------------------------------------------------

# ARP (FAMILY 4) or ND (FAMILY 6), both directions.
t_neigh() {
	local fam=$1 what addr peer
	if [ "$fam" = 4 ]; then
		what=ARP addr=$CODA4 peer=$PEER4
	else
		what=ND addr=$CODA6 peer=$PEER6
	fi

	say "== $what, kernel -> coda: the kernel resolves $addr"
	coda_start --mode echo
	to 10 ip -n "$PEER_NS" "-$fam" neigh flush dev "$PEER_IF" >/dev/null 2>&1
	check "the kernel has no neighbour entry for $addr before any traffic"
	[ -z "$(neigh_line "$fam" "$addr")" ] ||
		fail "the kernel already has a neighbour entry for $addr: $(neigh_line "$fam" "$addr")"
	ok "no entry"
	say "traffic: ping -$fam -c 1 $addr (its answer does not matter here)"
	in_peer 10 ping "-$fam" -c 1 -W 3 -n "$addr" >/dev/null 2>&1
	check "the kernel's $what request for $addr was answered: entry with a MAC address"
	if ! wait_until 3 neigh_resolved "$fam" "$addr"; then
		fail "no $what answer from coda for $addr: kernel entry '$(neigh_line "$fam" "$addr")'" \
			"(INCOMPLETE/FAILED means coda never answered the kernel's request)"
	fi
	local l
	l=$(neigh_line "$fam" "$addr")
	check "the entry holds coda's MAC $CODA_MAC"
	[[ $l == *"lladdr $CODA_MAC "* ]] || fail "kernel entry for $addr is '$l', expected lladdr $CODA_MAC"
	ok "$l"
	coda_stop

	say "== $what, coda -> kernel: coda resolves $peer itself (--connect, no --neigh)"
	listener_start "$fam" 1024 "$addr"
	to 10 ip -n "$PEER_NS" "-$fam" neigh flush dev "$PEER_IF" >/dev/null 2>&1
	coda_start --mode echo --connect "$(addr_port "$fam" "$peer" "$PEER_PORT")"
	check "coda connects to the kernel listener on $peer port $PEER_PORT within 25 s and echoes 1 KB"
	listener_wait 42 || fail "coda's --connect to $(addr_port "$fam" "$peer" "$PEER_PORT") failed" \
		"(see the listener's output above: no connection means coda did not resolve $peer" \
		"with $what or did not send its SYN)"
	ok "coda resolved $peer and connected"
	coda_stop
}

t_ping() {
	local fam addr out sum
	coda_start --mode echo
	for fam in 4 6; do
		if [ "$fam" = 4 ]; then addr=$CODA4; else addr=$CODA6; fi
		check "ping -$fam -c 3 $addr: 3 replies, no duplicates"
		out=$(in_peer 20 ping "-$fam" -c 3 -i 0.2 -W 3 -n "$addr" 2>&1)
		printf '%s\n' "$out" | sed 's/^/  | /'
		sum=$(printf '%s\n' "$out" | grep 'packets transmitted')
		[[ $sum == *" 3 received"* ]] || fail "ping -$fam $addr: expected 3 replies, got: ${sum:-no summary line}"
		[[ $sum == *duplicates* ]] && fail "ping -$fam $addr: duplicate replies ($sum): more than one host answers"
		ok "ping -$fam $addr: $sum"
	done
	coda_stop
}

# TCP echo (100 KB) or discard (1 MB) with a Linux client.
t_client() {
	local mode=$1 fam=$2 bytes addr lport
	if [ "$fam" = 4 ]; then addr=$CODA4; else addr=$CODA6; fi
	if [ "$mode" = echo ]; then bytes=102400; else bytes=1048576; fi
	coda_start --mode "$mode"
	if [ "$mode" = echo ]; then
		check "TCP echo over IPv$fam: connect to $addr port $CODA_PORT, send $bytes random bytes," \
			"shutdown(SHUT_WR), read to EOF, the same bytes come back"
	else
		check "TCP discard over IPv$fam: connect to $addr port $CODA_PORT, send $bytes bytes," \
			"shutdown(SHUT_WR), EOF comes back with no data"
	fi
	client "client-$mode$fam" "$mode" --host "$addr" --port "$CODA_PORT" --bytes "$bytes" \
		--timeout 60 || fail "TCP $mode over IPv$fam failed (see the client's output above)"
	ok "TCP $mode over IPv$fam"
	lport=$(sed -n 's/^tcp_client: local-port \([0-9]*\)$/\1/p' "$WIRE_WORK/client-$mode$fam.log")
	[ -n "$lport" ] || fail "the client printed no local port"
	kernel_conn_done "$lport" "$(addr_port "$fam" "$addr" "$CODA_PORT")"
	coda_stop
}

# coda-server --connect to a kernel listener: 10 KB echoed.
t_connect() {
	local fam=$1 addr peer cport
	if [ "$fam" = 4 ]; then
		addr=$CODA4 peer=$PEER4
	else
		addr=$CODA6 peer=$PEER6
	fi
	listener_start "$fam" 10240 "$addr"
	coda_start --mode echo --connect "$(addr_port "$fam" "$peer" "$PEER_PORT")"
	check "coda connects to $(addr_port "$fam" "$peer" "$PEER_PORT"); the listener sends 10 KB," \
		"coda echoes them, the listener checks, shuts down its write side and reads EOF"
	listener_wait 42 || fail "--connect over IPv$fam failed (see the listener's output above)"
	ok "--connect over IPv$fam: 10 KB echoed, EOF"
	cport=$(sed -n 's/^tcp_client: peer-port \([0-9]*\)$/\1/p' "$LISTENER_LOG")
	[ -n "$cport" ] || fail "the listener printed no peer port"
	kernel_conn_done "$PEER_PORT" "$(addr_port "$fam" "$addr" "$cport")"
	coda_stop
}

# coda's telemetry (/coda/...) with dpdk-telemetry.py while a Linux client
# holds a connection, after it closes, after bad frames and bad parameters.
# Commands that need no wait go several to one dpdk-telemetry.py run.
t_telemetry() {
	local tuple c d0 long bad
	command -v dpdk-telemetry.py >/dev/null 2>&1 ||
		fail "dpdk-telemetry.py not found (Debian package dpdk-dev)"
	coda_start --mode echo
	say "== a Linux client holds an ESTABLISHED connection to $CODA4 port $CODA_PORT"
	hold_start "$CODA4"
	tuple=$CODA4,$CODA_PORT,$PEER4,$HOLD_LPORT
	check "/coda/stats: rx_packets > 0, tcp_opened_passive >= 1, tcp_established == 1;" \
		"/coda/stats,0 (worker 0 alone) the same;" \
		"/coda/states: ESTABLISHED == 1, LISTEN == 2 (the IPv4 and IPv6 listeners);" \
		"/coda/conn,$tuple: state ESTABLISHED, worker 0"
	tel_expect /coda/stats 'rx_packets>0' 'tcp_opened_passive>=1' 'tcp_established==1' \
		-- /coda/stats,0 'workers==1' 'rx_packets>0' 'tcp_established==1' \
		-- /coda/states 'ESTABLISHED==1' 'LISTEN==2' \
		-- "/coda/conn,$tuple" state=ESTABLISHED 'worker==0'

	say "== the client sends its FIN; coda's echo answers with its own (LAST-ACK), then CLOSED"
	hold_finish || fail "the client's close failed (see its output above)"
	ok "the client read coda's FIN (EOF) and closed"
	kernel_conn_done "$HOLD_LPORT" "$(addr_port 4 "$CODA4" "$CODA_PORT")"
	check "/coda/conn,$tuple: state CLOSED within 3 s (LAST-ACK ended by the client's ACK)"
	tel_wait 3 "/coda/conn,$tuple" state=CLOSED 'worker==0'
	check "/coda/stats: tcp_closed_normal >= 1, tcp_established == 0;" \
		"/coda/states: ESTABLISHED == 0, LAST_ACK == 0, LISTEN == 2;" \
		"/coda/tw: capacity > 0, occupancy, expired, recycled, overflow, and occupancy == 0" \
		"(coda closed second: no TIME-WAIT on its side);" \
		"/coda/conn for an IPv6 connection coda never had: CLOSED"
	tel_expect /coda/stats 'tcp_closed_normal>=1' 'tcp_established==0' \
		-- /coda/states 'ESTABLISHED==0' 'LAST_ACK==0' 'LISTEN==2' \
		-- /coda/tw 'capacity>0' 'occupancy==0' 'expired?' 'recycled?' 'overflow?' \
		-- "/coda/conn,$CODA6,$CODA_PORT,$PEER6,1" state=CLOSED

	say "== drops: UDP, which coda does not speak"
	check "/coda/drops: keys net_*, tcp_*, worker_*, net_unsupported_proto"
	tel_expect /coda/drops 'net_*' 'tcp_*' 'worker_*' 'net_unsupported_proto?'
	tel_value /coda/drops net_unsupported_proto
	d0=$TEL_VALUE
	say "traffic: 2 UDP datagrams $PEER4 -> $CODA4 port 9 (coda speaks no UDP: net_unsupported_proto)"
	in_peer 10 "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2):
    s.sendto(b"coda wire test: not TCP", (sys.argv[1], 9))' "$CODA4" ||
		fail "could not send UDP datagrams to $CODA4 from $PEER_NS"
	check "/coda/drops: net_unsupported_proto goes from $d0 to >= $((d0 + 2)) within 3 s"
	tel_wait 3 /coda/drops "net_unsupported_proto>=$((d0 + 2))"

	say "== bad parameters: each gets an error reply (null); coda-server keeps answering"
	long=$(printf '1%.0s' {1..300})
	bad=()
	for c in /coda/conn,foo /coda/conn "/coda/conn,$CODA4,$CODA_PORT,$PEER4" \
		"/coda/conn,$CODA4,$CODA_PORT,$PEER4,$HOLD_LPORT,1" "/coda/conn,$CODA4,0,$PEER4,1" \
		"/coda/conn,$CODA4,70000,$PEER4,1" "/coda/conn,$CODA4,$CODA_PORT,$PEER6,1" \
		"/coda/conn,$CODA4,-1,$PEER4,1" "/coda/conn,,,," "/coda/conn,$long" \
		/coda/stats,1 /coda/stats,x /coda/states,-1 /coda/tw,99999999999999999999 /coda/drops,0x0; do
		bad+=("$c" null --)
	done
	check "$((${#bad[@]} / 3)) bad parameters, /coda/conn,foo first: null (an error) each, in one connection"
	tel_expect "${bad[@]}" /coda/stats 'rx_packets>0' 'tcp_closed_normal>=1'
	alive "$CODA_PID" || fail "coda-server died after the bad parameters"
	check "/coda/stats still answers after the bad parameters, on a new connection"
	tel_expect /coda/stats 'rx_packets>0' 'tcp_closed_normal>=1'
	coda_stop
}

# dpdk-dumpcap attached to coda-server captures one TCP connection.
t_capture() {
	local cap=$WIRE_WORK/capture.pcapng lport out fwd back n_syn n_synack
	command -v dpdk-dumpcap >/dev/null 2>&1 || fail "dpdk-dumpcap not found (Debian package dpdk-dev)"
	command -v tcpdump >/dev/null 2>&1 || fail "tcpdump not found (apt-get install tcpdump)"
	# 128 pages for coda-server (-m 256), the rest for dpdk-dumpcap and spare.
	huge_reserve 256
	CODA_MEM=(-m 256)
	coda_start --mode echo
	capture_start "$cap"
	check "TCP echo over IPv4 while capturing: 2000 bytes, shutdown(SHUT_WR), EOF"
	client client-capture echo --host "$CODA4" --port "$CODA_PORT" --bytes 2000 --timeout 30 ||
		fail "TCP echo while capturing failed (see the client's output above)"
	lport=$(sed -n 's/^tcp_client: local-port \([0-9]*\)$/\1/p' "$WIRE_WORK/client-capture.log")
	[ -n "$lport" ] || fail "the client printed no local port"
	kernel_conn_done "$lport" "$(addr_port 4 "$CODA4" "$CODA_PORT")"
	fwd="IP $PEER4.$lport > $CODA4.$CODA_PORT: Flags"
	back="IP $CODA4.$CODA_PORT > $PEER4.$lport: Flags"
	# dpdk-dumpcap drops what is still in its ring when it stops: wait (at
	# most 5 s) until both FINs are in the file.
	wait_until 5 capture_has_fins "$cap" "$fwd" "$back" ||
		say "note: the capture does not hold both FINs yet after 5 s"
	capture_stop
	out=$(to 10 tcpdump -nn -r "$cap" 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/  | /'
		fail "tcpdump -nn -r $(basename "$cap") failed"
	}
	printf '%s\n' "$out" | grep -F -e "$PEER4.$lport " -e "$CODA4.$CODA_PORT " | sed 's/^/  | /'
	n_syn=$(grep -nE "^[0-9:.]+ $fwd \[S\]," <<<"$out" | head -n1 | cut -d: -f1)
	n_synack=$(grep -nE "^[0-9:.]+ $back \[S\.\]," <<<"$out" | head -n1 | cut -d: -f1)
	check "the capture holds the SYN $PEER4.$lport > $CODA4.$CODA_PORT"
	[ -n "$n_syn" ] || fail "no SYN from $PEER4 port $lport to $CODA4 port $CODA_PORT in the capture"
	ok "SYN (packet $n_syn)"
	check "the capture holds the SYN-ACK $CODA4.$CODA_PORT > $PEER4.$lport, after the SYN"
	[ -n "$n_synack" ] || fail "no SYN-ACK from $CODA4 port $CODA_PORT to $PEER4 port $lport in the capture"
	[ "$n_synack" -gt "$n_syn" ] || fail "the SYN-ACK (packet $n_synack) precedes the SYN (packet $n_syn)"
	ok "SYN-ACK (packet $n_synack)"
	check "the capture holds a FIN each way"
	grep -qE "^[0-9:.]+ $fwd \[[^]]*F" <<<"$out" ||
		fail "no FIN from $PEER4 port $lport to $CODA4 port $CODA_PORT in the capture"
	grep -qE "^[0-9:.]+ $back \[[^]]*F" <<<"$out" ||
		fail "no FIN from $CODA4 port $CODA_PORT to $PEER4 port $lport in the capture"
	ok "FIN from the client and FIN from coda"
	check "coda-server still serves once dpdk-dumpcap has detached"
	client client-after echo --host "$CODA4" --port "$CODA_PORT" --bytes 2000 --timeout 30 ||
		fail "TCP echo after the capture failed (see the client's output above)"
	ok "TCP echo after the capture"
	coda_stop
	huge_clean "$CODA_PREFIX"
}

run_test() {
	case $1 in
	arp) t_neigh 4 ;;
	nd) t_neigh 6 ;;
	ping) t_ping ;;
	tcp4) t_client echo 4 ;;
	tcp6) t_client echo 6 ;;
	discard4) t_client discard 4 ;;
	discard6) t_client discard 6 ;;
	connect4) t_connect 4 ;;
	connect6) t_connect 6 ;;
	telemetry) t_telemetry ;;
	capture) t_capture ;;
	*) fail "unknown test '$1'" ;;
	esac
	# A hook for the harness self-test: fail (or hang) after the test, with
	# everything still set up, to check the cleanup.
	case ${WIRE_SELFTEST_FAULT:-} in
	fail)
		coda_start --mode echo
		fail "deliberate failure (WIRE_SELFTEST_FAULT=fail)"
		;;
	hang)
		coda_start --mode echo
		: >"${WIRE_SELFTEST_MARK:?}"
		say "hanging until signalled (WIRE_SELFTEST_FAULT=hang)"
		sleep 60 &
		WIRE_BG+=("$!")
		wait "$!"
		fail "not signalled within 60 s"
		;;
	esac
}

# --- the harness self-test ----------------------------------------------------

# leftovers PID: what a run with that pid left behind (empty when clean).
leftovers() {
	local id=$1 d
	timeout 5 ip netns list 2>/dev/null | awk -v s="-$id" '$1 ~ s"$" { print "namespace " $1 }'
	timeout 5 ip -o link show 2>/dev/null | awk -F': ' -v a="cd$id" -v b="ck$id" -v c="ct$id" '
		{ sub(/@.*/, "", $2); if ($2 == a || $2 == b || $2 == c) print "link " $2 }'
	ls -d /var/run/dpdk/codaw"$id"-* 2>/dev/null | sed 's/^/dpdk runtime dir /'
	ls -d /tmp/codaw-"$id".* 2>/dev/null | sed 's/^/work dir /'
	for d in $(huge_dirs); do
		ls -d "$d"/codaw"$id"-*map_* 2>/dev/null | sed 's/^/hugepage file /'
	done
}

harness() {
	local fake=$WIRE_DIR/fake_coda_server.py t rc cpid left mark i
	say "harness self-test: the kernel of the DPDK-side namespace stands in for coda-server" \
		"(fake_coda_server.py), af_packet topology"
	[ "$(id -u)" -eq 0 ] || skip "not root: the wire tests create network namespaces and links"
	command -v ip >/dev/null 2>&1 && ip netns list >/dev/null 2>&1 || skip "ip netns is unavailable here"
	trap 'rm -f "/tmp/codaw-$WIRE_ID-fail.log" "/tmp/codaw-$WIRE_ID-hang.log" "/tmp/codaw-$WIRE_ID-hang.mark"' EXIT
	for t in arp nd ping tcp4 tcp6 connect4 connect6 discard4 discard6; do
		say "---- af_packet $t (fake coda-server)"
		bash "$0" af_packet "$t" "$fake" 2>&1 | sed 's/^/  /'
		rc=${PIPESTATUS[0]}
		[ "$rc" -eq 77 ] && skip "af_packet $t skipped"
		[ "$rc" -eq 0 ] || fail "af_packet $t against the kernel stand-in failed (status $rc):" \
			"the harness or the machine is broken, not coda-server"
		ok "af_packet $t against the kernel stand-in"
	done

	say "---- a failing test cleans up after itself"
	WIRE_SELFTEST_FAULT=fail bash "$0" af_packet tcp4 "$fake" >"/tmp/codaw-$WIRE_ID-fail.log" 2>&1 &
	cpid=$!
	wait "$cpid"
	rc=$?
	sed 's/^/  /' "/tmp/codaw-$WIRE_ID-fail.log"
	check "the deliberately failing run exits 1 and prints the coda-server log"
	[ "$rc" -eq 1 ] || fail "the deliberately failing run exited $rc, expected 1"
	grep -q -- '^----- coda-server-[0-9]*\.log -----$' "/tmp/codaw-$WIRE_ID-fail.log" ||
		fail "the failing run did not print the coda-server log"
	rm -f "/tmp/codaw-$WIRE_ID-fail.log"
	check "nothing of run $cpid is left (namespaces, links, DPDK runtime dirs, work dir)"
	left=$(leftovers "$cpid")
	[ -z "$left" ] || fail "the failed run $cpid left: $left"
	ok "clean after a failure"

	say "---- a test interrupted by SIGTERM cleans up after itself"
	mark=/tmp/codaw-$WIRE_ID-hang.mark
	rm -f "$mark"
	WIRE_SELFTEST_FAULT=hang WIRE_SELFTEST_MARK=$mark bash "$0" af_packet ping "$fake" \
		>"/tmp/codaw-$WIRE_ID-hang.log" 2>&1 &
	cpid=$!
	for ((i = 0; i < 300; i++)); do
		[ -f "$mark" ] && break
		alive "$cpid" || break
		sleep 0.1
	done
	[ -f "$mark" ] || { cat "/tmp/codaw-$WIRE_ID-hang.log"; fail "the hanging run never reached its hang"; }
	kill -TERM "$cpid"
	for ((i = 0; i < 200; i++)); do
		alive "$cpid" || break
		sleep 0.1
	done
	alive "$cpid" && { kill -KILL "$cpid"; fail "the run did not end within 20 s of SIGTERM"; }
	wait "$cpid"
	rc=$?
	sed 's/^/  /' "/tmp/codaw-$WIRE_ID-hang.log"
	rm -f "$mark" "/tmp/codaw-$WIRE_ID-hang.log"
	check "the interrupted run exits 143 and leaves nothing behind"
	[ "$rc" -eq 143 ] || fail "the interrupted run exited $rc, expected 143"
	left=$(leftovers "$cpid")
	[ -z "$left" ] || fail "the interrupted run $cpid left: $left"
	ok "clean after SIGTERM"
	say "result: passed"
}

# --- main -------------------------------------------------------------------

[ $# -ge 1 ] || usage
if [ "$1" = harness ]; then
	harness
	exit 0
fi
wire_main "$@"
