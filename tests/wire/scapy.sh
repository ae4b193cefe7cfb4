#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/wire/scapy.sh - coda-server against a scapy test bench that writes
# TCP segments by hand (same harness as wire.sh: lib.sh).
#
#   scapy.sh TOPOLOGY TEST CODA_SERVER
#       TOPOLOGY  af_packet or tap
#       TEST      scapy
#       CODA_SERVER  path to the coda-server executable
#
# Needs root and `ip netns`; exits 77 (skipped) without them. Exit status 0
# pass, 1 fail (the whole coda-server log is printed), 77 skip.
#
#   scapy   The af_packet topology, then K's veth loses every address and
#           IPv6 is disabled on it: K's kernel never answers (no RST to
#           coda's segments). coda-server --control SOCK --msl-ms 1000
#           --delayed-ack-ms 0 --neigh 198.18.0.2=<K's MAC> (no ARP needed).
#           scapy_tb.py runs in K: raw frames on the veth, coda's side
#           through the control socket. Cases named after CASES.md ids:
#           the handshake and a passive close (B1, B3), RSTs for no TCB
#           (E8, E7), RFC 5961 in ESTABLISHED (F1, F2, G1, F10), TIME-WAIT
#           (H4 with rfc1337 on and off, H2, H7), out-of-window data in
#           FIN-WAIT-2 and CLOSE-WAIT (G4), a retransmitted FIN in
#           CLOSE-WAIT (B7), out-of-window RSTs (F3), RST and SYN in
#           CLOSE-WAIT and FIN-WAIT-2 (F4, G1), a refused SYN in TIME-WAIT
#           (H8), TIME-WAIT expiry (H3), timestamps (TSecr echo, H9
#           reopen, PAWS), ACK and RST to the listener (E9); coda
#           connecting to the bench: RSTs in SYN-SENT (F6 dropped or
#           refused), an unacceptable ACK in SYN-SENT (E9); RST in
#           SYN-RECEIVED (F7); RST and out-of-window data in FIN-WAIT-1,
#           CLOSING and LAST-ACK (F4, G4) and in TIME-WAIT (H6).
#           On tap the bench runs in T on the tap itself: the tap's
#           addresses are flushed and IPv6 disabled once coda-server is
#           ready, and the bench uses its own MAC 02:00:c0:da:00:02 (the
#           tap has coda's), given to --neigh before the start.
#
# SCAPY_TB_CASES="ID ..." in the environment runs only those cases.
# Packages beyond README.md's: python3-scapy (Debian's, /usr/bin/python3).
set -uo pipefail

# shellcheck source=lib.sh
case ${BASH_SOURCE[0]} in
*/*) . "${BASH_SOURCE[0]%/*}/lib.sh" ;;
*) . ./lib.sh ;;
esac

usage() {
	sed -n '4,39p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

TB_PORT=7200		# coda's listener, opened through the control socket
TB_CLOSED_PORT=7999	# a port nothing listens on
TB_MSL_MS=1000
TB_TAP_MAC=02:00:c0:da:00:02	# the bench's MAC on tap (the tap itself has coda's)

t_scapy() {
	local mac log st p keep=() cases=()
	# SCAPY_TB_CASES="H2-fin-retransmit-time-wait ...": only these cases.
	read -ra cases <<<"${SCAPY_TB_CASES:-}"
	"$PY" -c 'import scapy.all' 2>/dev/null ||
		fail "scapy not importable by $PY (apt-get install python3-scapy)"
	CTL_SOCK=$WIRE_WORK/control.sock
	grep -qa -- '--control' "$CODA_BIN" ||
		fail "coda-server has no --control option (DESIGN.md section 8): $CODA_BIN"
	if [ "$TOPO" = af_packet ]; then
		# The bench's side: no address, no IPv6, so K's kernel stays silent.
		to 10 ip -n "$PEER_NS" addr flush dev "$PEER_IF" || fail "cannot flush the addresses of $PEER_IF"
		sysctl_ns "$PEER_NS" "net.ipv6.conf.$PEER_IF.disable_ipv6" 1
		mac=$(mac_of "$PEER_NS" "$PEER_IF")
		[ -n "$mac" ] || fail "cannot read the MAC address of $PEER_IF"
		coda_start --mode echo --control "$CTL_SOCK" --msl-ms "$TB_MSL_MS" --delayed-ack-ms 0 \
			--neigh "$PEER4=$mac"
	else
		# tap: the tap PMD gives the kernel's tap coda's own MAC, and the tap
		# exists only once coda-server runs. The bench takes a MAC of its own
		# (locally administered), known before the start: coda's frames to it
		# reach T's kernel as PACKET_OTHERHOST, which the bench's AF_PACKET
		# socket sees and the kernel's IP stack drops.
		mac=$TB_TAP_MAC
		coda_start --mode echo --control "$CTL_SOCK" --msl-ms "$TB_MSL_MS" --delayed-ack-ms 0 \
			--neigh "$PEER4=$mac"
		# topo_ready addressed the tap: take that back, so T's kernel stays silent.
		to 10 ip -n "$PEER_NS" addr flush dev "$PEER_IF" || fail "cannot flush the addresses of $PEER_IF"
		sysctl_ns "$PEER_NS" "net.ipv6.conf.$PEER_IF.disable_ipv6" 1
		to 10 ip -n "$PEER_NS" link set "$PEER_IF" up || fail "cannot bring $PEER_IF up"
	fi
	say "bench side: $PEER_IF in $PEER_NS, MAC $mac, no address"
	wait_until 5 test -S "$CTL_SOCK" ||
		fail "coda-server --control $CTL_SOCK is ready but there is no socket file at that path"
	check "scapy_tb.py: hand-written segments against coda's TCP, checked segment by segment"
	log=$WIRE_WORK/scapy_tb.log
	WIRE_LOGS+=("$log")
	in_peer 100 "$PY" "$WIRE_DIR/scapy_tb.py" --control "$CTL_SOCK" --iface "$PEER_IF" \
		--mac "$mac" --coda-mac "$CODA_MAC" --coda "$CODA4" --peer "$PEER4" \
		--port "$TB_PORT" --closed-port "$TB_CLOSED_PORT" --msl-ms "$TB_MSL_MS" \
		"${cases[@]}" >"$log" 2>&1
	st=$?
	sed 's/^/  | /' "$log"
	# Printed: the cleanup prints it again only if the run is interrupted.
	for p in "${WIRE_LOGS[@]}"; do
		[ "$p" = "$log" ] || keep+=("$p")
	done
	WIRE_LOGS=("${keep[@]}")
	[ "$st" -eq 124 ] && echo "  | (killed by timeout after 100 s)"
	[ "$st" -eq 0 ] || fail "scapy test bench: $(grep -c '^scapy_tb: FAIL' "$log") case(s) failed" \
		"(status $st; output above)"
	ok "scapy test bench: $(grep -E '^scapy_tb: [0-9]+ cases' "$log" | sed 's/^scapy_tb: //')"
	alive "$CODA_PID" || fail "coda-server died during the scapy test bench"
	coda_stop
	check "coda-server removed its control socket file at exit"
	[ ! -e "$CTL_SOCK" ] || fail "the control socket file $CTL_SOCK is still there after coda-server exited"
	ok "socket file removed"
}

run_test() {
	case $TOPO:$1 in
	af_packet:scapy | tap:scapy) t_scapy ;;
	*) fail "unknown test '$1'" ;;
	esac
}

wire_main "$@"
