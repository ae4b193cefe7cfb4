/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_tcp_input: the fuzz target of lib/tcp's segment input path
 * (DESIGN.md §9, tier 5). One input is a small program that drives one
 * stack under a virtual clock, so that coverage-guided mutation reaches
 * every state (established, half-closed, TIME-WAIT reopened ...) and not
 * just the header parser.
 *
 * The program. Bytes past the end of the input read as 0, and the program
 * stops after the record they cut short.
 *
 *   config, FZ_CONF_BYTES bytes (all zero: coda_tcp_conf_default()'s values,
 *   16 sockets, 64 + 64 TIME-WAIT entries, 256 KiB buffers):
 *     c0  bits turn defaults off: 0 timestamps, 1 window scaling, 2 SACK,
 *         3 RFC 1337, 4 TIME-WAIT reopen, 5 RST on unread close, 6 TIME-WAIT
 *         overflow policy SKIP (on), 7 delayed ACK (0 ms)
 *     c1  0-1 MSS {1460, 536, 64, 9000}; 2-3 receive buffer, 4-5 send buffer
 *         {256 KiB, 4 KiB, the MSS, 64 KiB} (at least the MSS); 6-7 sockets
 *         {16, 8, 3, 2}
 *     c2  0-1 MSL {30 s, 1 s, 10 ms, 1 ms}; 2-3 orphan FIN-WAIT-2 timeout
 *         {60 s, 1 s, 10 ms, 1 ms}; 4-5 RTO min/initial/max {200/1000/60000,
 *         1/1/1000, 10/100/200, 1/3000/120000}; 6-7 user/SYN timeout
 *         {100/180 s, 1/1 s, 10/50 ms, 1/1 ms}
 *     c3  0-1 TIME-WAIT entries per family {64, 1, 2, 0}; 2-3 keepalive
 *         {off, 1 s/200 ms x2, 10 ms/10 ms x1, 2 h/75 s x9}; 4-5 challenge
 *         ACK limits {500 ms + 1000/s, none, 1 ms + 1/s, 100 s + 1/s}; 6-7
 *         clock at start {1000000, 0, 2^32 - 1000, 2^31 - 500}
 *     c4  bits flip the [POLICY] switches: 0 tw_syn_challenge_ack, 1
 *         user_timeout_rst, 2 last_ack_dup_ack_reply, 3 shut_rd_data_rst, 4
 *         accept_at_window_edge, 5 zero_window_fin, 6 rst_flushes_rcv
 *     c5  0-1 the peers' initial sequence numbers {0x10000000, 0,
 *         0x7fffff00, 0xffffff00} (+ slot x 2^24); 2-7 the stack's seed
 *
 *   then at most FZ_MAX_RECORDS records, each an opcode byte (low nibble:
 *   enum fz_op; high nibble h: its argument, h & 7 usually a slot, i.e. one
 *   of the 4-tuples below) and its fields, integers big-endian:
 *     SEG      flags, mode (FZ_SEQ_* | FZ_ACK_* << 2 | FZ_M_*), more
 *              (FZ_X_*), seq (int16, or uint32 when absolute), ack (likewise),
 *              window (uint16), payload length code (n < 200: n bytes; else
 *              (n - 199) KiB), then the fields the mode and more bits ask for
 *     RAW      length n, then n bytes given to coda_tcp_input() as they are
 *     ADVANCE  n: n < 128 ms; n < 192: (n - 127) x 100 ms; else (n - 191) x 5 s
 *     LISTEN   h: 1 port 8080 (else 80), 2 IPv6, 4 a local address (else
 *              any), 8 ... an address no slot uses; then the backlog % 5
 *     CONNECT  h & 7 the slot; a byte whose bit 0 asks for an ephemeral port
 *     ACCEPT, SEND, RECV, SHUTDOWN, CLOSE, ABORT, LINGER: a socket byte (b <
 *              0xf0: the (b % n)-th socket the application holds; else the
 *              number (b & 15) - 3, held or not), then for SEND and RECV a
 *              length code (n < 128: n bytes; else (n - 127) KiB), for
 *              SHUTDOWN how (% 5: 0 and 4 are invalid), for LINGER a byte
 *              (bit 7 on, bits 0-6 x 10 ms)
 *     REPLY    h & 7 the slot; a byte: FZ_REPLY_* in bits 0-2, payload of
 *              bits 3-7 x 64 bytes: the peer's plausible next segment
 *              (seq = what the stack acknowledged, ack = all it sent, its
 *              timestamps echoed, SYN options like Linux's)
 *     QUERY    h & 7 the slot: coda_tcp_lookup(), coda_tcp_next_timer(),
 *              coda_tcp_timers() at the same time
 *     DUP      h & 7 the slot: the last SEG, RAW or REPLY bytes again, to it;
 *              h & 8: twice, in one coda_tcp_input_burst()
 *     ADV_NEXT the clock to the next timer + h - 1 ms (h = 0: just before)
 *
 * Slots (benchmarking addresses, RFC 2544 and RFC 5180): slot i < 6 is
 * 198.18.0.1:{80, 8080 for odd i} <-> 198.19.0.(2 + i):(40000 + i); slots
 * 6 and 7 the same ports between 2001:2::1 and 2001:2::(2 + i). The target
 * remembers per slot what the stack last sent (SEG.SEQ, the highest
 * sequence number sent, SEG.ACK, ISS, TSval), so that a few bytes make a
 * segment the stack accepts.
 *
 * What makes an input fail (abort(), so libFuzzer keeps it): a sanitizer
 * report; a segment the stack sends that its own parser drops, that
 * carries more than the MSS, or whose ports are not its 4-tuple's; payload
 * the stack sends or delivers that is not the bytes the application or
 * the peer put at that sequence number (payload is a pattern of the
 * sequence number; a slot that got raw bytes is not checked); an event for
 * a socket the application does not hold, or after its CLOSED; a socket
 * handed out twice; a TIME-WAIT entry with more than 2 MSL (and the
 * wheel's lateness) left; a
 * call on a socket the application holds answering -EBADF, or one on a
 * socket it does not hold answering anything else; an error code the API
 * does not document; a timer still due after the timers ran; and after any
 * record, coda_tcp_audit() failing (checked after each of the first 32
 * records, then every 8th: see fz_check()) or coda_tcp_info() disagreeing
 * with the buffers. At the end every socket is closed and the clock runs for
 * longer than any timeout: then no connection and no TIME-WAIT entry may
 * be left (no leak), and coda_tcp_audit() must pass once more.
 *
 * Bounds: FZ_MAX_RECORDS records, FZ_MAX_VTIME ms of virtual time in the
 * program, FZ_MAX_STEPS timer runs per clock advance.
 *
 * CODA_FUZZ_TRACE=1 in the environment prints the program as it runs, with
 * what the stack sent and told the application: the way to read a crash.
 * CODA_FUZZ_AUDIT=all audits after every record.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coda_seq.h"
#include "coda_tcp.h"
#include "tcp_seg.h"

#include "fuzz_tcp_input.h"

#define FZ_MAX_RECORDS 512
#define FZ_MAX_VTIME (UINT64_C(3600) * 1000)
#define FZ_MAX_STEPS 20000
#define FZ_MAX_SOCKS 64
#define FZ_PAYLOAD_MAX (56 * 1024)
#define FZ_APP_MAX (128 * 1024)
#define FZ_OPT_MAX (TCP_HDR_MAX_LEN - TCP_HDR_MIN_LEN)
#define FZ_AUDIT_ALL 32
#define FZ_AUDIT_EVERY 8

struct fz_totals fz_totals;

static const char *const op_names[] = {
#define FZ_OP_NAME(name, desc) #name,
	FZ_RECORDS(FZ_OP_NAME)
#undef FZ_OP_NAME
};

const char *
fz_op_name(unsigned int op)
{
	return op < FZ_OP__COUNT ? op_names[op] : NULL;
}

static const char *const ev_names[] = {"ACCEPTED", "CONNECTED", "READABLE",
				       "WRITABLE", "PEER_FIN",	"CLOSED"};

/* What the target knows of one 4-tuple: the stack's side and the peer's. */
struct fz_peer {
	struct coda_conntab_key key;
	bool heard;	  /* the stack sent a segment other than an RST on it */
	bool have_iss;	  /* ... and a SYN, so st_iss is its ISS */
	bool st_ts;	  /* its last segment carried timestamps */
	bool st_ack_ok;	  /* st_ack is from this connection (no SYN without ACK since) */
	uint32_t st_seq;  /* its last SEG.SEQ (RSTs aside) */
	uint32_t st_end;  /* its highest SEG.SEQ + SEG.LEN since its SYN */
	uint32_t st_ack;  /* its last SEG.ACK */
	uint32_t st_iss;  /* its last SYN's sequence number */
	uint32_t st_tsval; /* its last TSval */
	uint32_t p_nxt;	  /* the peer's next sequence number */
	uint32_t p_ts;	  /* the peer's timestamp clock: TSval = now + p_ts */
	bool tainted;	  /* got payload that is not the pattern: no content check */
};

/* A socket the application holds. */
struct fz_sock {
	int sock;
	bool listener;
	bool closed;	 /* CLOSED was signalled */
	uint64_t rd, wr; /* bytes received and queued: the stream offsets */
};

struct fz {
	struct coda_tcp_stack *s;
	struct coda_tcp_conf conf;
	uint64_t now, t0, vtime;
	unsigned int rec; /* the record running */
	bool trace;
	bool audit_all;
	struct fz_peer peer[FZ_SLOTS];
	struct fz_sock sock[FZ_MAX_SOCKS];
	unsigned int nb_sock;
	uint32_t seen_states; /* bit per enum coda_tcp_state seen in this input */
	/* The last segment injected, for DUP. */
	uint8_t last[TCP_HDR_MAX_LEN + FZ_PAYLOAD_MAX];
	uint32_t last_len;
	bool last_tainted;
	uint8_t app[FZ_APP_MAX];
};

static struct fz fz;

static void __attribute__((noreturn, format(printf, 1, 2)))
fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_tcp_input: record #%u, t=+%llu ms: ", fz.rec,
		(unsigned long long)(fz.now - fz.t0));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void __attribute__((format(printf, 1, 2)))
fz_trace(const char *fmt, ...)
{
	va_list ap;

	if (!fz.trace)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Payload is a function of its sequence number (peer) or stream offset (application). */
static inline uint8_t
pat_peer(uint32_t seq)
{
	return (uint8_t)((seq * UINT32_C(2654435761)) >> 24);
}

static inline uint8_t
pat_app(uint32_t off)
{
	return (uint8_t)(((off ^ UINT32_C(0xa5a5a5a5)) * UINT32_C(2246822519)) >> 24);
}

static void
flags_str(uint8_t f, char *buf)
{
	static const char names[] = "FSRPAUEC";
	unsigned int i, n = 0;

	for (i = 0; i < 8; i++)
		if (f & (1u << i))
			buf[n++] = names[i];
	if (n == 0)
		buf[n++] = '.';
	buf[n] = '\0';
}

/* --- the input ------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t n, off;
	bool eof;
};

static uint8_t
rd_u8(struct rd *r)
{
	if (r->off < r->n)
		return r->p[r->off++];
	r->eof = true;
	return 0;
}

static uint16_t
rd_u16(struct rd *r)
{
	uint16_t v = (uint16_t)(rd_u8(r) << 8);

	return (uint16_t)(v | rd_u8(r));
}

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v = (uint32_t)rd_u16(r) << 16;

	return v | rd_u16(r);
}

/* --- slots and sockets ------------------------------------------------------ */

static void
slot_key(unsigned int i, struct coda_conntab_key *k)
{
	uint16_t lport = htons((i & 1) ? 8080 : 80), rport = htons((uint16_t)(40000 + i));

	if (i < 6) {
		coda_conntab_key_v4(k, htonl(UINT32_C(0xc6120001)), lport,
				    htonl(UINT32_C(0xc6130002) + i), rport);
	} else {
		uint8_t l[16] = {0x20, 0x01, 0x00, 0x02}, r[16] = {0x20, 0x01, 0x00, 0x02};

		l[15] = 1;
		r[15] = (uint8_t)(2 + i);
		coda_conntab_key_v6(k, l, lport, r, rport);
	}
}

static int
slot_of(const struct coda_conntab_key *k)
{
	for (unsigned int i = 0; i < FZ_SLOTS; i++)
		if (coda_conntab_key_equal(&fz.peer[i].key, k))
			return (int)i;
	return -1;
}

static int
sock_find(int sock)
{
	for (unsigned int i = 0; i < fz.nb_sock; i++)
		if (fz.sock[i].sock == sock)
			return (int)i;
	return -1;
}

static void
sock_add(int sock, bool listener)
{
	if (sock_find(sock) >= 0)
		fz_fail("socket %d handed out while the application still holds it", sock);
	if (fz.nb_sock == FZ_MAX_SOCKS)
		fz_fail("more than %d sockets held", FZ_MAX_SOCKS);
	fz.sock[fz.nb_sock].sock = sock;
	fz.sock[fz.nb_sock].listener = listener;
	fz.sock[fz.nb_sock].closed = false;
	fz.sock[fz.nb_sock].rd = 0;
	fz.sock[fz.nb_sock].wr = 0;
	fz.nb_sock++;
}

static void
sock_del(int sock)
{
	int i = sock_find(sock);

	if (i >= 0)
		fz.sock[i] = fz.sock[--fz.nb_sock];
}

/* The socket a record names: held (by index) or any number. */
static int
pick_sock(struct rd *r)
{
	uint8_t b = rd_u8(r);

	if (b >= 0xf0 || fz.nb_sock == 0)
		return (int)(b & 0x0f) - 3;
	return fz.sock[b % fz.nb_sock].sock;
}

/* An API result: documented errors only, and -EBADF exactly for sockets not held. */
static void
check_rc(const char *call, int sock, int64_t rc, const int *errs)
{
	bool held = sock_find(sock) >= 0;

	if (rc >= 0) {
		if (!held)
			fz_fail("%s(%d) = %lld on a socket the application does not hold", call, sock,
				(long long)rc);
		return;
	}
	if (rc == -EBADF) {
		if (held)
			fz_fail("%s(%d) = -EBADF on a socket the application holds", call, sock);
		return;
	}
	if (!held)
		fz_fail("%s(%d) = %lld on a socket the application does not hold (-EBADF expected)",
			call, sock, (long long)rc);
	for (; *errs != 0; errs++)
		if (rc == -*errs)
			return;
	fz_fail("%s(%d) = %lld: not an error it documents", call, sock, (long long)rc);
}

/* --- the stack's callbacks ---------------------------------------------------- */

static void
fz_tx(void *arg, const struct coda_conntab_key *k, const void *tcp, uint32_t len)
{
	struct tcp_seg seg;
	enum tcp_drop rc;
	struct fz_peer *p;
	uint32_t slen;
	char fl[9];
	int i;

	(void)arg;
	fz_totals.tx_segments++;
	rc = tcp_seg_parse(tcp, len, &seg);
	if (rc != TCP_DROP_NONE)
		fz_fail("the stack sent %u bytes that its own parser drops: %s", len,
			tcp_drop_name(rc));
	flags_str(seg.flags, fl);
	fz_trace("    > +%llu %s:%u [%s] seq=%u ack=%u win=%u len=%u%s%s\n",
		 (unsigned long long)(fz.now - fz.t0), k->family == AF_INET ? "v4" : "v6",
		 ntohs(k->rport), fl, seg.seq, seg.ack, seg.wnd,
		 seg.payload_len, (seg.opts & TCP_OPT_TS) ? " ts" : "",
		 (seg.opts & TCP_OPT_MSS) ? " mss" : "");
	if (k->family != AF_INET && k->family != AF_INET6)
		fz_fail("the stack sent a segment for address family %u", k->family);
	if (seg.sport != ntohs(k->lport) || seg.dport != ntohs(k->rport))
		fz_fail("the stack sent ports %u > %u for the 4-tuple of ports %u > %u", seg.sport,
			seg.dport, ntohs(k->lport), ntohs(k->rport));
	if (seg.payload_len > fz.conf.mss)
		fz_fail("the stack sent %u bytes of payload, MSS %u", seg.payload_len, fz.conf.mss);
	i = slot_of(k);
	if (i < 0)
		return; /* an ephemeral 4-tuple whose slot was reused since */
	p = &fz.peer[i];
	if (seg.flags & TCP_ACK) {
		p->st_ack = seg.ack;
		p->st_ack_ok = true;
	} else if (seg.flags & TCP_SYN) {
		p->st_ack_ok = false; /* an active open: nothing of the peer's is known */
	}
	if (seg.flags & TCP_RST)
		return;
	slen = tcp_seg_len(&seg);
	if (seg.flags & TCP_SYN) {
		p->st_iss = seg.seq;
		p->have_iss = true;
		p->st_end = seg.seq + slen;
	} else if (!p->heard || coda_seq_gt(seg.seq + slen, p->st_end)) {
		p->st_end = seg.seq + slen;
	}
	p->st_seq = seg.seq;
	p->st_ts = (seg.opts & TCP_OPT_TS) != 0;
	if (p->st_ts)
		p->st_tsval = seg.tsval;
	p->heard = true;
	/* Its payload: the application's bytes at their stream offset from ISS + 1. */
	if (p->have_iss && seg.payload_len > 0 && !(seg.flags & TCP_SYN)) {
		for (uint32_t j = 0; j < seg.payload_len; j++) {
			uint32_t off = seg.seq + j - (p->st_iss + 1);

			if (seg.payload[j] != pat_app(off))
				fz_fail("the stack sent byte 0x%02x at seq %u (stream offset %u), "
					"the application wrote 0x%02x there",
					seg.payload[j], seg.seq + j, off, pat_app(off));
		}
		fz_totals.bytes_checked += seg.payload_len;
	}
}

static void
fz_event(void *arg, int sock, enum coda_tcp_event ev)
{
	int i;

	(void)arg;
	if ((unsigned int)ev > CODA_TCP_EV_CLOSED)
		fz_fail("event %d for socket %d: no such event", (int)ev, sock);
	fz_totals.events[ev]++;
	fz_trace("    event +%llu %s on socket %d\n", (unsigned long long)(fz.now - fz.t0),
		 ev_names[ev], sock);
	i = sock_find(sock);
	if (i < 0)
		fz_fail("event %s for socket %d, which the application does not hold",
			ev_names[ev], sock);
	if (fz.sock[i].closed)
		fz_fail("event %s for socket %d after its CLOSED", ev_names[ev], sock);
	if (ev == CODA_TCP_EV_CLOSED)
		fz.sock[i].closed = true;
}

/* --- the clock ---------------------------------------------------------------- */

/* Run the timers due now; afterwards none may be due any more. */
static void
fz_timers(void)
{
	coda_tcp_timers(fz.s, fz.now);
	if (coda_tcp_next_timer(fz.s) <= fz.now) {
		coda_tcp_timers(fz.s, fz.now);
		if (coda_tcp_next_timer(fz.s) <= fz.now)
			fz_fail("a timer is still due (at %llu) after the timers ran twice at %llu",
				(unsigned long long)coda_tcp_next_timer(fz.s),
				(unsigned long long)fz.now);
	}
}

/* Let the clock run to @p end, running the timers at each expiry on the way. */
static void
fz_run_until(uint64_t end, unsigned int max_steps)
{
	unsigned int steps = 0;
	uint64_t next;

	while ((next = coda_tcp_next_timer(fz.s)) <= end && steps++ < max_steps) {
		if (next > fz.now)
			fz.now = next;
		fz_timers();
	}
	if (end > fz.now)
		fz.now = end;
	fz_timers();
}

static void
fz_advance(uint64_t ms)
{
	if (ms > FZ_MAX_VTIME - fz.vtime)
		ms = FZ_MAX_VTIME - fz.vtime;
	fz.vtime += ms;
	fz_run_until(fz.now + ms, FZ_MAX_STEPS);
}

/* --- segments from the peer ------------------------------------------------------ */

/* A segment's fields before it is written. */
struct fz_seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd, urp;
	uint8_t opt[FZ_OPT_MAX];
	uint32_t optlen;
	uint32_t len;	 /* payload bytes: pat_peer() of their sequence numbers */
	int doff;	 /* data offset forced (0..15), or -1 */
};

/* Append option bytes if they fit. */
static void
opt_add(struct fz_seg *g, const uint8_t *o, uint32_t n)
{
	if (g->optlen + n > FZ_OPT_MAX)
		return;
	memcpy(g->opt + g->optlen, o, n);
	g->optlen += n;
}

static void
opt_ts(struct fz_seg *g, uint32_t tsval, uint32_t tsecr)
{
	uint8_t o[12] = {TCP_OPTKIND_NOP, TCP_OPTKIND_NOP, TCP_OPTKIND_TS, TCP_OPTLEN_TS};

	for (unsigned int i = 0; i < 4; i++) {
		o[4 + i] = (uint8_t)(tsval >> (24 - 8 * i));
		o[8 + i] = (uint8_t)(tsecr >> (24 - 8 * i));
	}
	opt_add(g, o, sizeof(o));
}

static void
opt_mss(struct fz_seg *g, uint16_t mss)
{
	const uint8_t o[4] = {TCP_OPTKIND_MSS, TCP_OPTLEN_MSS, (uint8_t)(mss >> 8), (uint8_t)mss};

	opt_add(g, o, sizeof(o));
}

static void
opt_ws(struct fz_seg *g, uint8_t shift)
{
	const uint8_t o[4] = {TCP_OPTKIND_NOP, TCP_OPTKIND_WS, TCP_OPTLEN_WS, shift};

	opt_add(g, o, sizeof(o));
}

static void
opt_sackok(struct fz_seg *g)
{
	static const uint8_t o[4] = {TCP_OPTKIND_NOP, TCP_OPTKIND_NOP, TCP_OPTKIND_SACKOK,
				     TCP_OPTLEN_SACKOK};

	opt_add(g, o, sizeof(o));
}

/* Hand the bytes to the stack as received on @p slot's 4-tuple. */
static void
fz_deliver(unsigned int slot, const uint8_t *b, uint32_t len, bool tainted)
{
	if (b != fz.last) {
		memcpy(fz.last, b, len);
		fz.last_len = len;
		fz.last_tainted = tainted;
	}
	if (tainted)
		fz.peer[slot].tainted = true;
	coda_tcp_input(fz.s, &fz.peer[slot].key, b, len, fz.now);
}

/*
 * The last segment twice in one coda_tcp_input_burst(): the first copy may
 * change the table (a SYN, a FIN into TIME-WAIT, an RST), which the second
 * must see.
 */
static void
fz_deliver_twice(unsigned int slot)
{
	const struct coda_tcp_rx rx[2] = {
		{&fz.peer[slot].key, fz.last, fz.last_len},
		{&fz.peer[slot].key, fz.last, fz.last_len},
	};

	if (fz.last_tainted)
		fz.peer[slot].tainted = true;
	coda_tcp_input_burst(fz.s, rx, 2, fz.now);
}

/* Write @p g as the peer of @p slot would send it, and deliver it. */
static void
fz_inject(unsigned int slot, const struct fz_seg *g)
{
	static uint8_t b[TCP_HDR_MAX_LEN + FZ_PAYLOAD_MAX];
	struct fz_peer *p = &fz.peer[slot];
	uint32_t hl, i, first = g->seq + ((g->flags & TCP_SYN) != 0), end;
	char fl[9];

	memset(b, 0, TCP_HDR_MAX_LEN);
	memcpy(b + TCP_HDR_MIN_LEN, g->opt, g->optlen);
	hl = (TCP_HDR_MIN_LEN + g->optlen + 3) & ~3u;
	memcpy(b, &p->key.rport, 2);
	memcpy(b + 2, &p->key.lport, 2);
	for (i = 0; i < 4; i++) {
		b[4 + i] = (uint8_t)(g->seq >> (24 - 8 * i));
		b[8 + i] = (uint8_t)(g->ack >> (24 - 8 * i));
	}
	b[12] = (uint8_t)(((g->doff >= 0 ? (uint32_t)g->doff : hl / 4) & 0x0f) << 4);
	b[13] = g->flags;
	b[14] = (uint8_t)(g->wnd >> 8);
	b[15] = (uint8_t)g->wnd;
	b[18] = (uint8_t)(g->urp >> 8);
	b[19] = (uint8_t)g->urp;
	for (i = 0; i < g->len; i++)
		b[hl + i] = pat_peer(first + i);
	end = first + g->len + ((g->flags & TCP_FIN) != 0);
	if (coda_seq_gt(end, p->p_nxt))
		p->p_nxt = end;
	flags_str(g->flags, fl);
	fz_trace("    < slot %u [%s] seq=%u ack=%u win=%u len=%u opts=%u%s\n", slot, fl, g->seq,
		 g->ack, g->wnd, g->len, g->optlen, g->doff >= 0 ? " doff forced" : "");
	fz_deliver(slot, b, hl + g->len, g->doff >= 0);
}

static uint32_t
len_code(uint8_t n, uint32_t small, uint32_t unit, uint32_t max)
{
	uint32_t l = n < small ? n : (uint32_t)(n - small + 1) * unit;

	return l < max ? l : max;
}

static void
rec_seg(struct rd *r, unsigned int slot)
{
	struct fz_peer *p = &fz.peer[slot];
	struct fz_seg g = {.doff = -1};
	uint8_t mode, more, n;

	g.flags = rd_u8(r);
	mode = rd_u8(r);
	more = rd_u8(r);
	switch (mode & 3) {
	case FZ_SEQ_STACK_ACK:
		g.seq = (p->st_ack_ok ? p->st_ack : p->p_nxt) + (uint32_t)(int16_t)rd_u16(r);
		break;
	case FZ_SEQ_PEER_NXT:
		g.seq = p->p_nxt + (uint32_t)(int16_t)rd_u16(r);
		break;
	case FZ_SEQ_ABS:
		g.seq = rd_u32(r);
		break;
	default:
		g.seq = (p->st_ack_ok ? p->st_ack : p->p_nxt) + (uint32_t)(int16_t)rd_u16(r) * 1024u;
		break;
	}
	switch ((mode >> 2) & 3) {
	case FZ_ACK_STACK_END:
		g.ack = p->st_end + (uint32_t)(int16_t)rd_u16(r);
		break;
	case FZ_ACK_STACK_SEQ:
		g.ack = p->st_seq + (uint32_t)(int16_t)rd_u16(r);
		break;
	case FZ_ACK_ABS:
		g.ack = rd_u32(r);
		break;
	default:
		g.ack = p->st_iss + (uint32_t)(int16_t)rd_u16(r);
		break;
	}
	g.wnd = rd_u16(r);
	n = rd_u8(r);
	g.len = len_code(n, 200, 1024, FZ_PAYLOAD_MAX);
	if (mode & FZ_M_TS) {
		int8_t d = (int8_t)rd_u8(r);

		opt_ts(&g, (uint32_t)(fz.now - fz.t0) + p->p_ts + (uint32_t)(int32_t)d,
		       p->st_tsval);
	}
	if (mode & FZ_M_MSS)
		opt_mss(&g, rd_u16(r));
	if (mode & FZ_M_WS)
		opt_ws(&g, rd_u8(r));
	if (mode & FZ_M_SACKOK)
		opt_sackok(&g);
	if (more & FZ_X_SACK) {
		uint8_t o[2 + 8 * TCP_SACK_MAX_BLOCKS] = {TCP_OPTKIND_SACK};
		uint32_t nb = rd_u8(r) % TCP_SACK_MAX_BLOCKS + 1;

		o[1] = (uint8_t)(2 + 8 * nb);
		for (uint32_t i = 0; i < nb; i++) {
			uint32_t start = p->st_end - (uint32_t)rd_u8(r) * 64;
			uint32_t end = start + (uint32_t)rd_u8(r) * 64;

			for (unsigned int j = 0; j < 4; j++) {
				o[2 + 8 * i + j] = (uint8_t)(start >> (24 - 8 * j));
				o[6 + 8 * i + j] = (uint8_t)(end >> (24 - 8 * j));
			}
		}
		opt_add(&g, (const uint8_t[2]){TCP_OPTKIND_NOP, TCP_OPTKIND_NOP}, 2);
		opt_add(&g, o, 2 + 8 * nb);
	}
	if (more & FZ_X_RAWOPT) {
		uint8_t o[FZ_OPT_MAX];
		uint32_t nb = rd_u8(r) % (FZ_OPT_MAX + 1);

		for (uint32_t i = 0; i < nb; i++)
			o[i] = rd_u8(r);
		if (nb > FZ_OPT_MAX - g.optlen)
			nb = FZ_OPT_MAX - g.optlen;
		opt_add(&g, o, nb);
	}
	if (more & FZ_X_URG)
		g.urp = rd_u16(r);
	if (more & FZ_X_DOFF)
		g.doff = rd_u8(r) & 0x0f;
	fz_inject(slot, &g);
}

static void
rec_reply(struct rd *r, unsigned int slot)
{
	static const uint8_t kind_flags[8] = {
		[FZ_REPLY_ACK] = TCP_ACK,
		[FZ_REPLY_SYN] = TCP_SYN,
		[FZ_REPLY_SYNACK] = TCP_SYN | TCP_ACK,
		[FZ_REPLY_FIN] = TCP_FIN | TCP_ACK,
		[FZ_REPLY_RST] = TCP_RST,
		[FZ_REPLY_RSTACK] = TCP_RST | TCP_ACK,
		[FZ_REPLY_DATA] = TCP_PSH | TCP_ACK,
		[FZ_REPLY_DATAFIN] = TCP_FIN | TCP_PSH | TCP_ACK,
	};
	struct fz_peer *p = &fz.peer[slot];
	struct fz_seg g = {.doff = -1, .wnd = 65535};
	uint8_t b = rd_u8(r), kind = b & 7;

	g.flags = kind_flags[kind];
	/* A SYN opens: the peer's own sequence number; everything else answers the stack. */
	g.seq = (g.flags & TCP_SYN) || !p->st_ack_ok ? p->p_nxt : p->st_ack;
	g.ack = (g.flags & TCP_ACK) ? p->st_end : 0;
	if (kind == FZ_REPLY_DATA || kind == FZ_REPLY_DATAFIN)
		g.len = (uint32_t)(b >> 3) * 64;
	if (g.flags & TCP_SYN) {
		opt_mss(&g, 1460);
		opt_sackok(&g);
		opt_ts(&g, (uint32_t)(fz.now - fz.t0) + p->p_ts,
		       (g.flags & TCP_ACK) && p->st_ts ? p->st_tsval : 0);
		opt_ws(&g, 7);
	} else if (!p->heard || p->st_ts) {
		opt_ts(&g, (uint32_t)(fz.now - fz.t0) + p->p_ts, p->st_tsval);
	}
	fz_inject(slot, &g);
}

static void
rec_raw(struct rd *r, unsigned int slot)
{
	static uint8_t b[256];
	uint32_t n = rd_u8(r), i;

	for (i = 0; i < n && r->off < r->n; i++)
		b[i] = rd_u8(r);
	fz_trace("    < slot %u raw %u bytes\n", slot, i);
	fz_deliver(slot, b, i, true);
}

/* --- the application ------------------------------------------------------------ */

static void
rec_listen(struct rd *r, unsigned int h)
{
	static const int errs[] = {EINVAL, EADDRINUSE, ENOBUFS, 0};
	uint8_t addr[16] = {0}, family = (h & 2) ? AF_INET6 : AF_INET;
	uint16_t port = htons((h & 1) ? 8080 : 80);
	uint32_t backlog = rd_u8(r) % 5;
	int rc;

	if (family == AF_INET) {
		addr[0] = 198;
		addr[1] = 18;
		addr[3] = (h & 8) ? 9 : 1;
	} else {
		addr[0] = 0x20;
		addr[1] = 0x01;
		addr[3] = 0x02;
		addr[15] = (h & 8) ? 9 : 1;
	}
	rc = coda_tcp_listen(fz.s, family, (h & 4) ? addr : NULL, port, backlog);
	fz_trace("    listen(%s, %s, %u, %u) = %d\n", family == AF_INET ? "v4" : "v6",
		 (h & 4) ? ((h & 8) ? "other" : "local") : "any", ntohs(port), backlog, rc);
	if (rc >= 0) {
		sock_add(rc, true);
		return;
	}
	for (const int *e = errs; *e != 0; e++)
		if (rc == -*e)
			return;
	fz_fail("listen() = %d: not an error it documents", rc);
}

static void
rec_connect(struct rd *r, unsigned int slot)
{
	static const int errs[] = {EINVAL, EADDRINUSE, ENOBUFS, EADDRNOTAVAIL, 0};
	struct coda_conntab_key k = fz.peer[slot].key;
	struct coda_tcp_info info;
	bool eph = rd_u8(r) & 1;
	int rc;

	if (eph)
		k.lport = 0;
	rc = coda_tcp_connect(fz.s, &k, fz.now);
	fz_trace("    connect(slot %u%s) = %d\n", slot, eph ? ", ephemeral port" : "", rc);
	if (rc < 0) {
		for (const int *e = errs; *e != 0; e++)
			if (rc == -*e)
				return;
		fz_fail("connect() = %d: not an error it documents", rc);
	}
	sock_add(rc, false);
	if (coda_tcp_info(fz.s, rc, &info) != 0)
		fz_fail("connect() = %d, and coda_tcp_info() does not know it", rc);
	if (eph) {
		/*
		 * The SYN went to a key the slot did not name: the slot takes it
		 * and learns the SYN from the connection's own numbers.
		 */
		struct fz_peer *p = &fz.peer[slot];

		p->key = info.key;
		p->heard = true;
		p->have_iss = true;
		p->st_iss = p->st_seq = info.iss;
		p->st_end = info.snd_nxt;
		p->st_ack = 0;
		p->st_ack_ok = false;
		p->st_ts = fz.conf.timestamps;
		p->tainted = false;
	}
}

static void
rec_accept(struct rd *r)
{
	int ls = pick_sock(r), rc = coda_tcp_accept(fz.s, ls);

	fz_trace("    accept(%d) = %d\n", ls, rc);
	if (rc >= 0) {
		if (sock_find(ls) < 0 || !fz.sock[sock_find(ls)].listener)
			fz_fail("accept(%d) = %d on a socket that is not a held listener", ls, rc);
		sock_add(rc, false);
		return;
	}
	if (rc != -EAGAIN && rc != -EINVAL)
		fz_fail("accept(%d) = %d: not an error it documents", ls, rc);
	if (rc == -EAGAIN && (sock_find(ls) < 0 || !fz.sock[sock_find(ls)].listener))
		fz_fail("accept(%d) = -EAGAIN on a socket that is not a held listener", ls);
}

static void
rec_send(struct rd *r)
{
	static const int errs[] = {EAGAIN,     EPIPE,	     ENOTCONN,	ECONNRESET,
				   ETIMEDOUT, ECONNREFUSED, 0};
	int sock = pick_sock(r), i = sock_find(sock);
	uint32_t len = len_code(rd_u8(r), 128, 1024, FZ_APP_MAX), j;
	uint64_t off = i >= 0 ? fz.sock[i].wr : 0;
	int32_t rc;

	for (j = 0; j < len; j++)
		fz.app[j] = pat_app((uint32_t)(off + j));
	rc = coda_tcp_send(fz.s, sock, fz.app, len, fz.now);
	fz_trace("    send(%d, %u) = %d\n", sock, len, rc);
	check_rc("send", sock, rc, errs);
	if (rc > (int32_t)len)
		fz_fail("send(%d, %u) = %d: more than asked", sock, len, rc);
	if (rc > 0)
		fz.sock[sock_find(sock)].wr += (uint64_t)rc;
}

static void
rec_recv(struct rd *r)
{
	static const int errs[] = {EAGAIN, ENOTCONN, ECONNRESET, ETIMEDOUT, ECONNREFUSED, EPIPE, 0};
	int sock = pick_sock(r), i;
	uint32_t len = len_code(rd_u8(r), 128, 1024, FZ_APP_MAX);
	struct coda_tcp_info info;
	int32_t rc;
	int slot;

	rc = coda_tcp_recv(fz.s, sock, fz.app, len, fz.now);
	fz_trace("    recv(%d, %u) = %d\n", sock, len, rc);
	check_rc("recv", sock, rc, errs);
	if (rc > (int32_t)len)
		fz_fail("recv(%d, %u) = %d: more than asked", sock, len, rc);
	if (rc <= 0)
		return;
	i = sock_find(sock);
	if (fz.sock[i].listener)
		fz_fail("recv(%d) = %d on a listening socket", sock, rc);
	if (coda_tcp_info(fz.s, sock, &info) != 0)
		fz_fail("coda_tcp_info(%d) fails on a held socket", sock);
	slot = slot_of(&info.key);
	/* Byte k of the stream is the peer's sequence number IRS + 1 + k. */
	if (slot >= 0 && !fz.peer[slot].tainted) {
		for (int32_t j = 0; j < rc; j++) {
			uint32_t seq = info.irs + 1 + (uint32_t)(fz.sock[i].rd + (uint64_t)j);

			if (fz.app[j] != pat_peer(seq))
				fz_fail("recv(%d) gave byte 0x%02x at stream offset %llu (seq %u), "
					"the peer sent 0x%02x there",
					sock, fz.app[j],
					(unsigned long long)(fz.sock[i].rd + (uint64_t)j), seq,
					pat_peer(seq));
		}
		fz_totals.bytes_checked += (uint64_t)rc;
	}
	fz.sock[i].rd += (uint64_t)rc;
}

static void
rec_shutdown(struct rd *r)
{
	static const int errs[] = {EINVAL, ENOTCONN, 0};
	int sock = pick_sock(r), how = rd_u8(r) % 5, rc;

	rc = coda_tcp_shutdown(fz.s, sock, how, fz.now);
	fz_trace("    shutdown(%d, %d) = %d\n", sock, how, rc);
	if (rc == -EINVAL && (how < CODA_TCP_SHUT_RD || how > CODA_TCP_SHUT_RDWR) &&
	    sock_find(sock) < 0)
		return; /* which check comes first is not documented */
	check_rc("shutdown", sock, rc, errs);
}

static void
rec_close(struct rd *r, bool abort_it)
{
	static const int errs[] = {0};
	int sock = pick_sock(r), rc;

	rc = abort_it ? coda_tcp_abort(fz.s, sock, fz.now) : coda_tcp_close(fz.s, sock, fz.now);
	fz_trace("    %s(%d) = %d\n", abort_it ? "abort" : "close", sock, rc);
	check_rc(abort_it ? "abort" : "close", sock, rc, errs);
	if (rc == 0)
		sock_del(sock);
}

static void
rec_linger(struct rd *r)
{
	static const int errs[] = {EINVAL, 0};
	int sock = pick_sock(r), rc, i;
	uint8_t b = rd_u8(r);

	rc = coda_tcp_set_linger(fz.s, sock, (b & 0x80) != 0, (uint32_t)(b & 0x7f) * 10);
	fz_trace("    set_linger(%d, %s, %u) = %d\n", sock, (b & 0x80) ? "on" : "off",
		 (b & 0x7f) * 10, rc);
	check_rc("set_linger", sock, rc, errs);
	i = sock_find(sock);
	if (rc == -EINVAL && !fz.sock[i].listener)
		fz_fail("set_linger(%d) = -EINVAL on a socket that is not listening", sock);
}

static void
rec_query(unsigned int slot)
{
	uint64_t left = 0, next;
	enum coda_tcp_state st = coda_tcp_lookup(fz.s, &fz.peer[slot].key, fz.now, &left);

	if ((unsigned int)st >= CODA_TCP_S__COUNT || st == CODA_TCP_S_LISTEN)
		fz_fail("coda_tcp_lookup(slot %u) = %d", slot, (int)st);
	/* 2 MSL, plus the wheel's lateness: under 8/63 of the delay (coda_wheel.h). */
	if (st == CODA_TCP_S_TIME_WAIT && left * 63 > 2 * (uint64_t)fz.conf.msl_ms * 71)
		fz_fail("TIME-WAIT with %llu ms left, more than 2 MSL and the wheel's lateness",
			(unsigned long long)left);
	if (st != CODA_TCP_S_TIME_WAIT && left != 0)
		fz_fail("coda_tcp_lookup() = %s with %llu ms of TIME-WAIT left",
			coda_tcp_state_name(st), (unsigned long long)left);
	next = coda_tcp_next_timer(fz.s);
	if (next < fz.now)
		fz_fail("the next timer is in the past: %llu < %llu", (unsigned long long)next,
			(unsigned long long)fz.now);
	fz_trace("    lookup(slot %u) = %s, next timer %+lld ms\n", slot, coda_tcp_state_name(st),
		 next == UINT64_MAX ? -1LL : (long long)(next - fz.now));
	fz_timers();
}

/* --- consistency after every record ------------------------------------------------ */

/*
 * coda_tcp_audit() walks the whole wheel, two thirds of the time of a run:
 * after each of the first FZ_AUDIT_ALL records, then after every
 * FZ_AUDIT_EVERY-th, and at the end (CODA_FUZZ_AUDIT=all: after every one,
 * to find where a long input went wrong).
 */
static void
fz_check(bool audit)
{
	struct coda_tcp_stats st;
	uint64_t total = 0;

	if ((audit || fz.audit_all || fz.rec < FZ_AUDIT_ALL || fz.rec % FZ_AUDIT_EVERY == 0) &&
	    coda_tcp_audit(fz.s) != 0)
		fz_fail("coda_tcp_audit() failed");
	for (unsigned int i = 0; i < fz.nb_sock; i++) {
		struct coda_tcp_info info;
		int sock = fz.sock[i].sock;

		if (coda_tcp_info(fz.s, sock, &info) != 0)
			fz_fail("the application holds socket %d, coda_tcp_info() does not know it",
				sock);
		if ((unsigned int)info.state >= CODA_TCP_S__COUNT ||
		    (unsigned int)info.close_reason > CODA_TCP_CLOSE_ABORTED)
			fz_fail("socket %d: state %d, close reason %d", sock, (int)info.state,
				(int)info.close_reason);
		if (fz.sock[i].listener != (info.state == CODA_TCP_S_LISTEN))
			fz_fail("socket %d: state %s, listener %d", sock,
				coda_tcp_state_name(info.state), fz.sock[i].listener);
		if (info.readable > fz.conf.rcv_buf || info.unsent > fz.conf.snd_buf)
			fz_fail("socket %d: %u bytes readable, %u unsent, buffers %u and %u", sock,
				info.readable, info.unsent, fz.conf.rcv_buf, fz.conf.snd_buf);
		if (info.state != CODA_TCP_S_LISTEN && info.state != CODA_TCP_S_CLOSED &&
		    coda_seq_gt(info.snd_una, info.snd_nxt))
			fz_fail("socket %d (%s): SND.UNA %u after SND.NXT %u", sock,
				coda_tcp_state_name(info.state), info.snd_una, info.snd_nxt);
		if (info.state == CODA_TCP_S_CLOSED && info.close_reason == CODA_TCP_CLOSE_NONE)
			fz_fail("socket %d: CLOSED without a reason", sock);
	}
	coda_tcp_stats(fz.s, &st);
	for (unsigned int i = 0; i < CODA_TCP_S__COUNT; i++) {
		if (st.states[i] != 0)
			fz.seen_states |= 1u << i;
		if (i != CODA_TCP_S_TIME_WAIT)
			total += st.states[i];
	}
	if (total > fz.conf.nb_tcb)
		fz_fail("%llu sockets in use, %u exist", (unsigned long long)total, fz.conf.nb_tcb);
	if (st.states[CODA_TCP_S_TIME_WAIT] > (uint64_t)fz.conf.nb_tw + fz.conf.nb_tw6)
		fz_fail("%llu TIME-WAIT entries, %u exist",
			(unsigned long long)st.states[CODA_TCP_S_TIME_WAIT],
			fz.conf.nb_tw + fz.conf.nb_tw6);
}

/*
 * The end: the application closes everything and the peers fall silent.
 * After longer than any timeout nothing may be left.
 */
static void
fz_drain(void)
{
	struct coda_tcp_stats st;
	uint64_t ms;

	while (fz.nb_sock > 0) {
		int sock = fz.sock[fz.nb_sock - 1].sock;
		int rc = coda_tcp_close(fz.s, sock, fz.now);

		fz_trace("    close(%d) = %d (drain)\n", sock, rc);
		if (rc != 0)
			fz_fail("close(%d) = %d on a held socket, at the end", sock, rc);
		fz.nb_sock--;
	}
	fz_check(true);
	/* Twice the longest chain of timeouts: room for the wheels' lateness (under 13 %). */
	ms = 2 * ((uint64_t)fz.conf.syn_timeout_ms + fz.conf.user_timeout_ms +
		  fz.conf.fin_wait2_timeout_ms + 2 * (uint64_t)fz.conf.msl_ms +
		  fz.conf.keepalive_ms +
		  (uint64_t)fz.conf.keepalive_intvl_ms * (fz.conf.keepalive_probes + 1) +
		  2 * (uint64_t)fz.conf.rto_max_ms + 1000);
	fz_trace("[drain] %llu ms\n", (unsigned long long)ms);
	fz_run_until(fz.now + ms, 1000000);
	fz_check(true);
	coda_tcp_stats(fz.s, &st);
	for (unsigned int i = 0; i < CODA_TCP_S__COUNT; i++)
		if (st.states[i] != 0)
			fz_fail("leak: every socket closed and %llu ms without a segment, yet "
				"%llu connection(s) in state %s",
				(unsigned long long)ms, (unsigned long long)st.states[i],
				coda_tcp_state_name((enum coda_tcp_state)i));
	fz_totals.drained++;
}

/* --- configuration -------------------------------------------------------------------- */

static void
fz_configure(struct rd *r, struct coda_tcp_conf *c)
{
	static const uint16_t mss[4] = {1460, 536, 64, 9000};
	static const uint32_t buf[4] = {262144, 4096, 0, 65536};
	static const uint32_t nb_tcb[4] = {16, 8, 3, 2};
	static const uint32_t msl[4] = {30000, 1000, 10, 1};
	static const uint32_t fw2[4] = {60000, 1000, 10, 1};
	static const uint32_t rto[4][3] = {
		{200, 1000, 60000}, {1, 1, 1000}, {10, 100, 200}, {1, 3000, 120000}};
	static const uint32_t uto[4][2] = {{100000, 180000}, {1000, 1000}, {10, 50}, {1, 1}};
	static const uint32_t nb_tw[4] = {64, 1, 2, 0};
	static const uint32_t keep[4][3] = {{0, 75000, 9}, {1000, 200, 2}, {10, 10, 1},
					    {7200000, 75000, 9}};
	static const uint32_t chack[4][2] = {{500, 1000}, {0, 0}, {1, 1}, {100000, 1}};
	static const uint64_t t0[4] = {1000000, 0, (UINT64_C(1) << 32) - 1000,
				       (UINT64_C(1) << 31) - 500};
	static const uint32_t isn[4] = {0x10000000, 0, 0x7fffff00, 0xffffff00};
	uint8_t b[FZ_CONF_BYTES];

	for (unsigned int i = 0; i < FZ_CONF_BYTES; i++)
		b[i] = rd_u8(r);
	coda_tcp_conf_default(c);
	c->timestamps = !(b[0] & 0x01);
	c->window_scaling = !(b[0] & 0x02);
	c->sack = !(b[0] & 0x04);
	c->rfc1337 = !(b[0] & 0x08);
	c->tw_reopen = !(b[0] & 0x10);
	c->rst_on_unread_close = !(b[0] & 0x20);
	c->tw_policy = (b[0] & 0x40) ? CODA_CONNTAB_TW_SKIP : CODA_CONNTAB_TW_RECYCLE;
	if (b[0] & 0x80)
		c->delayed_ack_ms = 0;
	c->mss = mss[b[1] & 3];
	c->rcv_buf = buf[(b[1] >> 2) & 3] > c->mss ? buf[(b[1] >> 2) & 3] : c->mss;
	c->snd_buf = buf[(b[1] >> 4) & 3] > c->mss ? buf[(b[1] >> 4) & 3] : c->mss;
	c->nb_tcb = nb_tcb[b[1] >> 6];
	c->msl_ms = msl[b[2] & 3];
	c->fin_wait2_timeout_ms = fw2[(b[2] >> 2) & 3];
	c->rto_min_ms = rto[(b[2] >> 4) & 3][0];
	c->rto_initial_ms = rto[(b[2] >> 4) & 3][1];
	c->rto_max_ms = rto[(b[2] >> 4) & 3][2];
	c->user_timeout_ms = uto[b[2] >> 6][0];
	c->syn_timeout_ms = uto[b[2] >> 6][1];
	c->nb_tw = nb_tw[b[3] & 3];
	c->nb_tw6 = nb_tw[b[3] & 3];
	c->keepalive_ms = keep[(b[3] >> 2) & 3][0];
	c->keepalive_intvl_ms = keep[(b[3] >> 2) & 3][1];
	c->keepalive_probes = keep[(b[3] >> 2) & 3][2];
	c->challenge_ack_interval_ms = chack[(b[3] >> 4) & 3][0];
	c->challenge_ack_per_s = chack[(b[3] >> 4) & 3][1];
	fz.t0 = t0[b[3] >> 6];
	c->tw_syn_challenge_ack ^= (b[4] & 0x01) != 0;
	c->user_timeout_rst ^= (b[4] & 0x02) != 0;
	c->last_ack_dup_ack_reply ^= (b[4] & 0x04) != 0;
	c->shut_rd_data_rst ^= (b[4] & 0x08) != 0;
	c->accept_at_window_edge ^= (b[4] & 0x10) != 0;
	c->zero_window_fin ^= (b[4] & 0x20) != 0;
	c->rst_flushes_rcv ^= (b[4] & 0x40) != 0;
	/* Never all zero: that would draw a random key, and a run must repeat. */
	c->seed[0] = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)(b[5] >> 2);
	c->seed[1] = UINT64_C(0xc0da);
	for (unsigned int i = 0; i < FZ_SLOTS; i++) {
		memset(&fz.peer[i], 0, sizeof(fz.peer[i]));
		slot_key(i, &fz.peer[i].key);
		fz.peer[i].p_nxt = isn[b[5] & 3] + (uint32_t)i * 0x01000000u;
		fz.peer[i].p_ts = 0x1000u * (i + 1);
	}
}

/* --- the entry point -------------------------------------------------------------------- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int trace = -1, audit_all;
	struct rd r = {.p = data, .n = size};

	if (trace < 0) {
		const char *e = getenv("CODA_FUZZ_TRACE"), *a = getenv("CODA_FUZZ_AUDIT");

		trace = e != NULL && *e != '\0' && strcmp(e, "0") != 0;
		audit_all = a != NULL && strcmp(a, "all") == 0;
	}
	fz.audit_all = audit_all != 0;
	memset(&fz.peer, 0, sizeof(fz.peer));
	fz.trace = trace != 0;
	fz.nb_sock = 0;
	fz.rec = 0;
	fz.vtime = 0;
	fz.seen_states = 0;
	fz.last_len = 0;
	fz.last_tainted = false;
	fz_totals.inputs++;
	fz_configure(&r, &fz.conf);
	fz.now = fz.t0;
	fz.s = coda_tcp_create(&fz.conf, fz.now, fz_tx, NULL, fz_event, NULL);
	if (fz.s == NULL) {
		fz_totals.no_stack++;
		return 0;
	}
	fz_trace("[config] mss %u rcv_buf %u snd_buf %u nb_tcb %u nb_tw %u msl %u ts %d ws %d "
		 "sack %d t0 %llu\n",
		 fz.conf.mss, fz.conf.rcv_buf, fz.conf.snd_buf, fz.conf.nb_tcb, fz.conf.nb_tw,
		 fz.conf.msl_ms, fz.conf.timestamps, fz.conf.window_scaling, fz.conf.sack,
		 (unsigned long long)fz.t0);
	for (fz.rec = 0; fz.rec < FZ_MAX_RECORDS && r.off < r.n; fz.rec++) {
		uint8_t b = rd_u8(&r);
		unsigned int op = b & 0x0f, h = b >> 4, slot = h & 7;

		fz_totals.records[op]++;
		fz_trace("[#%u t=+%llu] %s %u\n", fz.rec, (unsigned long long)(fz.now - fz.t0),
			 op_names[op], h);
		switch ((enum fz_op)op) {
		case FZ_OP_SEG:
			rec_seg(&r, slot);
			break;
		case FZ_OP_RAW:
			rec_raw(&r, slot);
			break;
		case FZ_OP_ADVANCE: {
			uint8_t n = rd_u8(&r);

			fz_advance(n < 128 ? n : n < 192 ? (uint64_t)(n - 127) * 100 :
							   (uint64_t)(n - 191) * 5000);
			break;
		}
		case FZ_OP_LISTEN:
			rec_listen(&r, h);
			break;
		case FZ_OP_CONNECT:
			rec_connect(&r, slot);
			break;
		case FZ_OP_ACCEPT:
			rec_accept(&r);
			break;
		case FZ_OP_SEND:
			rec_send(&r);
			break;
		case FZ_OP_RECV:
			rec_recv(&r);
			break;
		case FZ_OP_SHUTDOWN:
			rec_shutdown(&r);
			break;
		case FZ_OP_CLOSE:
			rec_close(&r, false);
			break;
		case FZ_OP_ABORT:
			rec_close(&r, true);
			break;
		case FZ_OP_REPLY:
			rec_reply(&r, slot);
			break;
		case FZ_OP_QUERY:
			rec_query(slot);
			break;
		case FZ_OP_LINGER:
			rec_linger(&r);
			break;
		case FZ_OP_DUP:
			fz_trace("    < slot %u the last segment again, %u bytes%s\n", slot,
				 fz.last_len, (h & 8) ? ", twice in one burst" : "");
			if (fz.last_len > 0 && (h & 8))
				fz_deliver_twice(slot);
			else if (fz.last_len > 0)
				fz_deliver(slot, fz.last, fz.last_len, fz.last_tainted);
			break;
		case FZ_OP_ADV_NEXT: {
			uint64_t next = coda_tcp_next_timer(fz.s);

			if (next != UINT64_MAX && next + h > fz.now + 1)
				fz_advance(next + h - 1 - fz.now);
			else
				fz_timers();
			break;
		}
		default:
			break;
		}
		fz_check(false);
	}
	fz_drain();
	for (unsigned int i = 0; i < CODA_TCP_S__COUNT; i++)
		if (fz.seen_states & (1u << i))
			fz_totals.states[i]++;
	coda_tcp_free(fz.s);
	fz.s = NULL;
	return 0;
}
