#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/wire/http.sh - coda-server's http mode, --close-after and --config on
# the wire, against the Linux kernel (curl, Python sockets).
#
#   http.sh TOPOLOGY TEST CODA_SERVER
#       TOPOLOGY  af_packet | tap
#       TEST      http-keepalive http-close http-requests close-after ini
#       CODA_SERVER  path to the coda-server executable
#
# The topologies, coda_start/coda_stop and the cleanup are lib.sh's (see
# README.md). Needs root and `ip netns` (else 77, skipped) and curl.
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

# --- helpers ----------------------------------------------------------------

# http_check LOGNAME ARGS...: http_check.py in the peer namespace (90 s max),
# its output shown and logged. Returns its status.
http_check() {
	local name=$1 st
	shift
	local log=$WIRE_WORK/$name.log
	WIRE_LOGS+=("$log")
	in_peer 90 "$PY" "$WIRE_DIR/http_check.py" "$@" >"$log" 2>&1
	st=$?
	sed 's/^/  | /' "$log"
	return "$st"
}

# curl_run LOGNAME CURL-ARGS...: curl in the peer namespace (20 s max),
# verbose; stderr (the -v trace) to LOGNAME.err, stdout to LOGNAME.out.
curl_run() {
	local name=$1 st
	shift
	CURL_ERR=$WIRE_WORK/$name.err
	CURL_OUT=$WIRE_WORK/$name.out
	WIRE_LOGS+=("$CURL_ERR")
	in_peer 20 curl -v -sS --noproxy '*' --max-time 15 "$@" >"$CURL_OUT" 2>"$CURL_ERR"
	st=$?
	grep -E '^(\*|<|>)' "$CURL_ERR" | grep -v '^\* *Trying\|^> *$\|^< *$' | sed 's/^/  | /'
	return "$st"
}

# body_file N FILE: coda's http body of N bytes (a 64-byte line, repeated).
body_file() {
	"$PY" -c 'import sys
l = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n"
n = int(sys.argv[1])
open(sys.argv[2], "wb").write((l * (n // 64 + 1))[:n])' "$1" "$2"
}

# check_body FILE N WHAT: FILE is coda's body of N bytes.
check_body() {
	local f=$1 n=$2 what=$3 size
	[ -f "$WIRE_WORK/expected-$n" ] || body_file "$n" "$WIRE_WORK/expected-$n"
	size=$(stat -c %s "$f" 2>/dev/null) || size=missing
	[ "$size" = "$n" ] || fail "$what: the body has $size bytes, expected $n"
	cmp -s "$f" "$WIRE_WORK/expected-$n" || fail "$what: the $n body bytes are not coda's pattern"
	ok "$what: body of $n bytes, coda's pattern"
}

# coda_tw: TIME-WAIT entries coda holds, from its last live statistics line
# (coda_start with --stats-ms); empty if none yet.
coda_tw() {
	grep '^coda-server: stats port 0 queue 0 ' "$CODA_LOG" | tail -n1 |
		sed -n 's/.*, time-wait \([0-9]*\),.*/\1/p'
}
coda_tw_is() { [ "$(coda_tw)" = "$1" ]; }

# expect_coda_tw N: within 3 s coda's statistics show N TIME-WAIT entries.
expect_coda_tw() {
	check "coda holds $1 connection(s) in TIME-WAIT (its live statistics, within 3 s)"
	wait_until 3 coda_tw_is "$1" ||
		fail "coda's statistics show time-wait '$(coda_tw)', expected $1 (coda did not close first?)"
	ok "coda: time-wait $1"
}

# kernel_conn_gone LPORT REMOTE: the kernel's socket LPORT -> REMOTE is gone
# within 3 s and never seen in TIME-WAIT: the kernel closed second, so coda,
# which closed first, holds the TIME-WAIT.
kernel_conn_gone() {
	local lport=$1 remote=$2 states i
	check "kernel side: the connection local port $lport -> $remote ends without TIME-WAIT" \
		"(gone within 3 s: coda closed first)"
	for ((i = 0; i < 30; i++)); do
		states=$(in_peer 5 ss -Htan | awk -v l="$lport" -v r="$remote" '
			{ n = split($4, a, ":"); if (a[n] == l && $5 == r) print $1 }' | sort -u | tr '\n' ' ')
		states=${states% }
		[[ " $states " == *" TIME-WAIT "* ]] && {
			in_peer 5 ss -tano state time-wait | sed 's/^/  | /'
			fail "the kernel's socket $lport -> $remote is in TIME-WAIT: the kernel closed first, not coda"
		}
		if [ -z "$states" ]; then
			ok "kernel socket $lport -> $remote: gone, no TIME-WAIT"
			return 0
		fi
		sleep 0.1
	done
	in_peer 5 ss -tano | sed 's/^/  | /'
	fail "the kernel's socket $lport -> $remote is still in '$states' after 3 s (expected gone)"
}

need_curl() {
	command -v curl >/dev/null 2>&1 || fail "curl not found (apt-get install curl)"
}

url() { # FAMILY PATH
	if [ "$1" = 6 ]; then echo "http://[$CODA6]:$CODA_PORT$2"; else echo "http://$CODA4:$CODA_PORT$2"; fi
}

# --- tests ------------------------------------------------------------------

# Two URLs in one curl: one connection, kept alive and reused, both bodies right.
t_http_keepalive() {
	local fam n=1000 trying
	need_curl
	coda_start --mode http --http-body "$n"
	for fam in 4 6; do
		check "IPv$fam: curl fetches $(url "$fam" /a) and /b on one connection (keep-alive):" \
			"'Re-using existing connection', one connect, 200 and $n body bytes each"
		curl_run "curl-keepalive$fam" -g -o "$WIRE_WORK/a$fam" -o "$WIRE_WORK/b$fam" \
			-w '%{http_code} %{num_connects}\n' "$(url "$fam" /a)" "$(url "$fam" /b)" ||
			fail "curl over IPv$fam failed (status $?; its trace above)"
		grep -q 'Re-using existing connection' "$CURL_ERR" ||
			fail "IPv$fam: curl did not reuse the connection for the second URL (no keep-alive)"
		trying=$(grep -c '^\* *Trying ' "$CURL_ERR")
		[ "$trying" = 1 ] || fail "IPv$fam: curl connected $trying times, expected once"
		grep -qi '^< Connection: close' "$CURL_ERR" &&
			fail "IPv$fam: coda answered Connection: close to an HTTP/1.1 request without it"
		[ "$(tr '\n' ' ' <"$CURL_OUT")" = "200 1 200 0 " ] ||
			fail "IPv$fam: curl's status and connects per URL: '$(tr '\n' ' ' <"$CURL_OUT")'," \
				"expected '200 1 200 0'"
		ok "IPv$fam: two responses 200 on one connection"
		check_body "$WIRE_WORK/a$fam" "$n" "IPv$fam /a"
		check_body "$WIRE_WORK/b$fam" "$n" "IPv$fam /b"
	done
	coda_stop
}

# Connection: close (and HTTP/1.0): coda closes first and holds the TIME-WAIT.
t_http_close() {
	local lport n=64 tw=0 what
	need_curl
	coda_start --mode http --stats-ms 100
	for what in close http1.0; do
		if [ "$what" = close ]; then
			check "curl -H 'Connection: close': 200, $n body bytes, coda answers Connection: close"
			curl_run curl-close -H 'Connection: close' -o "$WIRE_WORK/close.body" \
				-w '%{local_port}\n' "$(url 4 /)" || fail "curl failed (status $?; its trace above)"
		else
			check "curl --http1.0 (no keep-alive): 200, $n body bytes, coda answers Connection: close"
			curl_run curl-http10 --http1.0 -o "$WIRE_WORK/close.body" \
				-w '%{local_port}\n' "$(url 4 /)" || fail "curl failed (status $?; its trace above)"
		fi
		grep -qi '^< Connection: close' "$CURL_ERR" ||
			fail "coda's response has no 'Connection: close' header"
		check_body "$WIRE_WORK/close.body" "$n" "$what"
		lport=$(head -n1 "$CURL_OUT")
		[[ $lport =~ ^[0-9]+$ ]] || fail "curl printed no local port ('$lport')"
		kernel_conn_gone "$lport" "$CODA4:$CODA_PORT"
		tw=$((tw + 1))
		expect_coda_tw "$tw"
	done
	coda_stop
}

# Raw requests: pipelining, HEAD, bodies, HTTP/1.0, the errors; a body larger
# than the send buffer (262144) makes every response wait for WRITABLE.
t_http_requests() {
	local n=300000
	coda_start --mode http --http-body "$n"
	check "raw HTTP/1.1 requests (http_check.py requests, body $n bytes)"
	http_check http-requests requests --host "$CODA4" --port "$CODA_PORT" --body "$n" ||
		fail "the raw HTTP requests failed (see above)"
	ok "pipelining, HEAD, bodies, HTTP/1.0, errors"
	check "the same over IPv6, body 64 bytes and --http-max-request 1024"
	coda_stop
	coda_start --mode http --http-max-request 1024
	http_check http-requests6 requests --host "$CODA6" --port "$CODA_PORT" --body 64 \
		--max-request 1024 || fail "the raw HTTP requests over IPv6 failed (see above)"
	ok "IPv6"
	coda_stop
}

# --close-after: coda closes first (echo: after echoing; discard: after reading).
t_close_after() {
	local mode lport n=50000 tw
	for mode in echo discard; do
		coda_start --mode "$mode" --close-after "$n" --stats-ms 100
		check "--mode $mode --close-after $n: the client sends $n bytes and does not shut down;" \
			"coda sends its FIN first"
		http_check "close-after-$mode" close-after --host "$CODA4" --port "$CODA_PORT" \
			--bytes "$n" --mode "$mode" || fail "--close-after with $mode failed (see above)"
		lport=$(sed -n 's/^http_check: local-port \([0-9]*\)$/\1/p' "$WIRE_WORK/close-after-$mode.log")
		[ -n "$lport" ] || fail "the client printed no local port"
		kernel_conn_gone "$lport" "$CODA4:$CODA_PORT"
		expect_coda_tw 1
		coda_stop
	done
	check "--close-after with --mode http is refused (exit 1, naming the option)"
	coda_refused close-after --mode http --close-after 10 -- '--close-after'
	# Without --close-after the client's connection never ends: the check above can fail.
	coda_start --mode echo --stats-ms 100
	check "without --close-after, coda does not close first (the client gives up, EOF never comes)"
	http_check close-after-none close-after --host "$CODA4" --port "$CODA_PORT" --bytes 1000 \
		--mode echo --timeout 2 && fail "coda closed a connection without --close-after"
	ok "no FIN from coda without --close-after"
	coda_stop
}

# coda_refused NAME APP-ARGS... -- TEXT: coda-server with the topology's EAL
# options, its --addr and --port, and APP-ARGS exits 1 at once, printing TEXT.
coda_refused() {
	local name=$1 args=() st out
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	CODA_N=$((CODA_N + 1))
	local prefix=codaw$WIRE_ID-$CODA_N
	WIRE_PREFIXES+=("$prefix")
	out=$WIRE_WORK/refused-$name.log
	WIRE_LOGS+=("$out")
	to 20 ip netns exec "$CODA_NS" "$CODA_BIN" --no-pci "${CODA_MEM[@]}" "--file-prefix=$prefix" \
		-l 0 "$VDEV" -- --addr "$CODA4/$PLEN4" --port "$CODA_PORT" "${args[@]}" >"$out" 2>&1 </dev/null
	st=$?
	sed 's/^/  | /' "$out"
	[ "$st" = 1 ] || fail "coda-server ${args[*]}: exit status $st, expected 1"
	grep -qF -- "$2" "$out" || fail "coda-server ${args[*]}: no message with '$2'"
	ok "exit 1: $(grep -F -- "$2" "$out" | head -n1)"
}

# --config FILE: the INI file sets what the options do, the options override it.
t_ini() {
	local ini=$WIRE_WORK/server.ini shipped=$WIRE_DIR/../../config/server.ini key missing=
	# coda_start always gives --addr, --addr6 and --port: a wrapper drops them
	# so that they come from the file alone.
	local real=$CODA_BIN wrap=$WIRE_WORK/coda-from-file
	cat >"$wrap" <<EOF
#!/bin/bash
# coda_start's command line less --addr, --addr6, --port: the INI file has them.
a=()
while [ \$# -gt 0 ]; do
	case \$1 in --addr | --addr6 | --port) shift 2 ;; *) a+=("\$1"); shift ;; esac
done
exec "$real" "\${a[@]}"
EOF
	chmod +x "$wrap"
	cat >"$ini" <<EOF
; coda-server settings for the wire test
[server]
addr = $CODA4/$PLEN4   ; the topology's
addr6 = $CODA6/$PLEN6
port = $CODA_PORT
mode = discard
stats_ms = 500
[tcp]
msl_ms = 1000
rfc1337 = on
delayed_ack_ms = 0
EOF
	say "the INI file: $(grep -v '^;' "$ini" | tr '\n' ' ')"
	CODA_BIN=$wrap
	coda_start --config "$ini"
	CODA_BIN=$real
	check "coda-server --config FILE alone (no --addr, --port): it serves discard on port $CODA_PORT" \
		"at $CODA4 and $CODA6, as the file says"
	client ini-discard4 discard --host "$CODA4" --port "$CODA_PORT" --bytes 100000 --timeout 30 ||
		fail "discard over IPv4 with the settings from the file failed"
	client ini-discard6 discard --host "$CODA6" --port "$CODA_PORT" --bytes 100000 --timeout 30 ||
		fail "discard over IPv6 with the settings from the file failed"
	grep -q '^coda-server: mode discard on port '"$CODA_PORT" "$CODA_LOG" ||
		fail "coda-server does not report 'mode discard on port $CODA_PORT'"
	ok "the file's addresses, port and mode are in force"
	coda_stop

	check "options override the file: --config FILE --mode echo serves echo"
	coda_start --config "$ini" --mode echo
	client ini-echo echo --host "$CODA4" --port "$CODA_PORT" --bytes 10000 --timeout 30 ||
		fail "echo with --mode echo over a file saying discard failed"
	ok "--mode echo overrides mode = discard"
	coda_stop

	check "the shipped config/server.ini is accepted and lists every key of --help"
	[ -f "$shipped" ] || fail "$shipped not found"
	coda_start --config "$shipped"
	coda_stop
	WIRE_PREFIXES+=("codaw$WIRE_ID-help")
	to 20 "$CODA_BIN" --no-pci --no-huge -m 64 "--file-prefix=codaw$WIRE_ID-help" --no-telemetry \
		-l 0 -- --help >"$WIRE_WORK/help.txt" 2>&1
	for key in $(sed -n 's/^  --\([a-z0-9-]*\) [^ ].*/\1/p' "$WIRE_WORK/help.txt" | tr - _); do
		case $key in config | no_offload | no_rss | help) continue ;; esac
		grep -qE "^;?$key =" "$shipped" || missing+="$key "
	done
	[ -n "$(sed -n 's/^  --\([a-z0-9-]*\) [^ ].*/\1/p' "$WIRE_WORK/help.txt")" ] ||
		fail "coda-server --help lists no option"
	[ -z "$missing" ] || fail "config/server.ini lacks the keys: $missing"
	ok "every key is in config/server.ini"

	printf '[server]\nport = 7000\nbogus_key = 1\n' >"$WIRE_WORK/unknown-key.ini"
	check "an unknown key stops coda-server (exit 1, the key named)"
	coda_refused unknown-key --config "$WIRE_WORK/unknown-key.ini" -- "unknown key 'bogus_key'"
	printf '[server]\nport = 7000\n[bogus]\nx = 1\n' >"$WIRE_WORK/unknown-section.ini"
	check "an unknown section stops coda-server (exit 1, the section named)"
	coda_refused unknown-section --config "$WIRE_WORK/unknown-section.ini" -- "unknown section [bogus]"
	printf '[tcp]\nmsl_ms = soon\n' >"$WIRE_WORK/bad-value.ini"
	check "a bad value stops coda-server (exit 1, key and value named)"
	coda_refused bad-value --config "$WIRE_WORK/bad-value.ini" -- "[tcp] msl_ms: bad value 'soon'"
	printf '[tcp]\nmsl_ms 100\n' >"$WIRE_WORK/no-equals.ini"
	check "a line that is not key = value stops coda-server (exit 1, the line named)"
	coda_refused no-equals --config "$WIRE_WORK/no-equals.ini" -- "no-equals.ini:2: 'msl_ms 100'"
}

run_test() {
	case $1 in
	http-keepalive) t_http_keepalive ;;
	http-close) t_http_close ;;
	http-requests) t_http_requests ;;
	close-after) t_close_after ;;
	ini) t_ini ;;
	*) fail "unknown test '$1'" ;;
	esac
}

# --- main -------------------------------------------------------------------

wire_main "$@"
