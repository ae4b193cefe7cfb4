/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Back-to-back lifecycles: two coda_tcp stacks wired to each other through
 * an in-process link, under one virtual clock, run thousands of random
 * connection lifecycles with every close pattern, and every one must end
 * as TCP says it ends.
 *
 * The pieces:
 *
 *  - Two stacks: A, the client (198.18.0.1), and B, the server
 *    (198.18.0.2, listening on a random port). Each is made for one
 *    lifecycle with a random configuration (timestamps, window scaling,
 *    SACK-permitted, delayed ACK, MSS, buffer sizes); MSL and the largest
 *    RTO are chosen so that TIME-WAIT outlasts FIN retransmissions (see
 *    MSL_MS).
 *  - The link: each stack's tx callback copies the segment into a queue
 *    towards the other side with a delivery time now + delay, the delay
 *    drawn per segment in [dmin, dmax]; a segment is lost with probability
 *    loss, and duplicated (the copy with its own delay) with probability
 *    dup. Settings "clean" and "loss1" keep each direction in order (a
 *    segment is never delivered before one sent earlier); "rough" does
 *    not, so the random delays reorder segments. The receiver's key is the
 *    sender's with local and remote swapped.
 *  - The loop: the clock jumps to the next thing due (a segment to
 *    deliver, a timer of either stack, an application wake-up); due
 *    segments are delivered (coda_tcp_input), coda_tcp_timers() runs on
 *    both stacks, then both "applications" act: connect, accept, send a
 *    known pseudo-random stream in random chunks with random pauses, read
 *    and check every byte, and close as the pattern says. Both stacks are
 *    audited (coda_tcp_audit()) at every step. Every loop is bounded: in
 *    steps, and in virtual time (10 minutes per lifecycle); a lifecycle
 *    in which nothing is scheduled any more but is not over is stuck, and
 *    fails at once.
 *  - The patterns and what each must give (reason on A, reason on B):
 *      client_close  A closes once it has all of B's data; B closes on EOF.
 *                    NORMAL, NORMAL; A enters TIME-WAIT, B does not.
 *      server_close  the mirror image.
 *      simultaneous  both close in the same step once each has all of the
 *                    other's data. NORMAL, NORMAL; both enter TIME-WAIT.
 *      abort_client  B streams without end; A reads k >= 1 bytes and
 *                    aborts. ABORTED, RESET.
 *      abort_server  A streams without end; B reads k bytes and aborts.
 *                    RESET, ABORTED.
 *      half_close    A sends its data and shuts down writing; B reads to
 *                    EOF, then goes on sending for a while (part of its
 *                    stream is held back until the EOF), then closes.
 *                    NORMAL, NORMAL; A enters TIME-WAIT.
 *      unread_close  one side (random) reads k bytes of the other's endless
 *                    stream, waits until unread data is there and closes:
 *                    RST (RFC 1122 4.2.2.13). ABORTED on the closer, RESET
 *                    on the other.
 *    Each side of a graceful pattern closes either with close() (the
 *    connection goes on as an orphan) or with shutdown(WR), holding the
 *    socket until it reads CLOSED, then close(). The other side of an
 *    abort streams without end so that it always has something in flight:
 *    a lost RST is then answered by the next one its retransmission draws
 *    (RFC 9293 3.10.7.1), as on a real network.
 *  - Checks: the reason of every connection, from the stack's counters
 *    (coda_tcp_stats.closed[], by delta: exactly one connection ended on
 *    each side) and, where the application still held the socket, from
 *    coda_tcp_info() when it read CLOSED; exactly one CLOSED event then,
 *    and no event on a socket the application closed; every byte read is
 *    the next byte of the peer's stream (so exactly once, in order); in the
 *    graceful patterns each side read the whole of the other's stream; the
 *    TIME-WAIT entries made; the segments each stack counts as received
 *    are those the link delivered. After the lifecycle and 2 MSL more:
 *    both stacks pass coda_tcp_audit(), their state gauges are 0 but for
 *    the listener, their connection tables are empty, and no timer is
 *    pending (coda_tcp_next_timer() == UINT64_MAX).
 *
 * Reproduce: every lifecycle is a function of (pattern, link, seed); a
 * failure prints them and the segment trace (time, direction, flags,
 * sequence numbers relative to each side's ISS, length, window, fate).
 *   CODA_B2B_REPRO=pattern:link:seed   run that one lifecycle, print its trace
 *   CODA_B2B_SEED=n                    base seed of the random runs
 *   CODA_B2B_SCALE=percent             lifecycles per test (100: the default)
 *   CODA_B2B_TRACE=n                   trace lines printed on failure [300]
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coda_conntab.h"
#include "coda_tcp.h"
#include "tcp_seg.h"

#define ADDR_A 0xc6120001u /* 198.18.0.1, the client */
#define ADDR_B 0xc6120002u /* 198.18.0.2, the server */
#define SIDE_A 0
#define SIDE_B 1
#define NEVER UINT64_MAX
#define ENDLESS UINT64_MAX /* a stream without end */

/*
 * TIME-WAIT must outlast the peer's retransmissions of its FIN (LAST-ACK),
 * or the retransmitted FIN of a lost final ACK meets no TIME-WAIT and draws
 * an RST: right by TCP, but not the end the pattern expects. So MSL stays
 * 30 s (TIME-WAIT 60 s) and the RTO is capped at 10 s: the FIN would have to
 * be lost six times in a row. Virtual time costs nothing.
 */
#define MSL_MS 30000
#define RTO_MAX_MS 10000
#define LIFE_MS (UINT64_C(10) * 60 * 1000) /* virtual time a lifecycle may take */
#define LIFE_STEPS 4000000u		   /* loop steps a lifecycle may take */
#define PKT_MAX 1600			   /* largest segment: 60 + MSS 1460 and room */
#define POOL_PKTS 8192			   /* segments in flight, both ways */
#define TRACE_RECS (1u << 16)		   /* trace ring */
#define CHUNK_MAX 16384			   /* largest send() or recv() of the applications */
#define LIVES_DEFAULT 120		   /* lifecycles per test */

/* --- random numbers: splitmix64, one generator per lifecycle ---------------- */

struct rng {
	uint64_t s;
};

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rng_next(struct rng *r)
{
	return mix64(r->s += UINT64_C(0x9e3779b97f4a7c15));
}

static uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return n == 0 ? 0 : rng_next(r) % n;
}

static bool
rng_ppm(struct rng *r, uint32_t ppm)
{
	return rng_below(r, 1000000) < ppm;
}

/* Byte @p off of stream @p id: what the sender sends and the receiver expects. */
static void
stream_fill(uint64_t id, uint64_t off, uint8_t *p, uint32_t n)
{
	uint64_t w = mix64(id ^ ((off >> 3) * UINT64_C(0x9e3779b97f4a7c15)));

	for (uint32_t i = 0; i < n; i++, off++) {
		if ((off & 7) == 0 && i > 0)
			w = mix64(id ^ ((off >> 3) * UINT64_C(0x9e3779b97f4a7c15)));
		p[i] = (uint8_t)(w >> ((off & 7) * 8));
	}
}

/* --- settings ------------------------------------------------------------------ */

struct link_conf {
	const char *name;
	uint32_t loss_ppm, dup_ppm;
	uint32_t dmin, dmax; /* one-way delay, ms */
	bool fifo;	     /* keep each direction in order */
};

enum link_kind { LINK_CLEAN, LINK_LOSS1, LINK_ROUGH, LINK__COUNT };

static const struct link_conf links[LINK__COUNT] = {
	[LINK_CLEAN] = {"clean", 0, 0, 1, 10, true},
	[LINK_LOSS1] = {"loss1", 10000, 0, 1, 10, true},
	[LINK_ROUGH] = {"rough", 50000, 20000, 1, 30, false},
};

enum pattern {
	P_CLIENT_CLOSE,
	P_SERVER_CLOSE,
	P_SIMULTANEOUS,
	P_ABORT_CLIENT,
	P_ABORT_SERVER,
	P_HALF_CLOSE,
	P_UNREAD_CLOSE,
	P__COUNT
};

static const char *const pattern_names[P__COUNT] = {
	[P_CLIENT_CLOSE] = "client_close", [P_SERVER_CLOSE] = "server_close",
	[P_SIMULTANEOUS] = "simultaneous", [P_ABORT_CLIENT] = "abort_client",
	[P_ABORT_SERVER] = "abort_server", [P_HALF_CLOSE] = "half_close",
	[P_UNREAD_CLOSE] = "unread_close",
};

/* How a side of a graceful pattern ends: close(), or shutdown(WR) then close() on CLOSED. */
enum end_mode { END_CLOSE, END_SHUT };

/* --- the trace ------------------------------------------------------------------- */

enum tr_kind { TR_TX, TR_RX, TR_APP, TR_EV };
enum tr_fate { FATE_QUEUED, FATE_LOST, FATE_DUP };

enum app_op {
	OP_CONNECT,
	OP_ACCEPT,
	OP_SEND,
	OP_RECV,
	OP_EOF,
	OP_ERR,
	OP_SHUT_WR,
	OP_CLOSE,
	OP_ABORT,
	OP_SAW_CLOSED,
};

static const char *const op_names[] = {
	[OP_CONNECT] = "connect()",   [OP_ACCEPT] = "accept()",  [OP_SEND] = "send()",
	[OP_RECV] = "recv()",	      [OP_EOF] = "recv() EOF",	 [OP_ERR] = "error",
	[OP_SHUT_WR] = "shutdown(WR)", [OP_CLOSE] = "close()",	 [OP_ABORT] = "abort()",
	[OP_SAW_CLOSED] = "state CLOSED, reason",
};

static const char *const ev_names[] = {
	[CODA_TCP_EV_ACCEPTED] = "ACCEPTED", [CODA_TCP_EV_CONNECTED] = "CONNECTED",
	[CODA_TCP_EV_READABLE] = "READABLE", [CODA_TCP_EV_WRITABLE] = "WRITABLE",
	[CODA_TCP_EV_PEER_FIN] = "PEER_FIN", [CODA_TCP_EV_CLOSED] = "CLOSED",
};

struct tr_rec {
	uint64_t t;
	uint8_t kind; /* enum tr_kind */
	uint8_t side; /* the sender (TX), the receiver (RX), the actor */
	uint8_t flags;
	uint8_t fate;
	uint32_t seq, ack, len;
	uint16_t wnd;
	int32_t op;  /* enum app_op, or the event */
	int64_t arg; /* bytes, errno, reason; TX: the delivery time of the first copy */
};

/* --- one lifecycle --------------------------------------------------------------- */

struct pkt {
	uint64_t at, serial;
	uint32_t len;
	uint8_t to; /* receiving side */
	struct coda_conntab_key key; /* the receiver's view */
	uint8_t bytes[PKT_MAX];
};

struct b2b;

struct side {
	struct b2b *b;
	int idx;
	struct coda_tcp_conf conf;
	struct coda_tcp_stack *s;
	struct coda_tcp_stats st0; /* counters when the lifecycle began */
	int lsock; /* B: the listener */
	int sock;  /* the application's socket, -1 before connect/accept */
	bool released; /* the application closed or aborted its socket */
	bool acted;    /* the application did its pattern's closing call */
	enum end_mode mode;
	/* Sending: the stream, how much is queued, pauses. */
	uint64_t stream_id;
	uint64_t tx_len, tx_off, tx_hold; /* bytes from tx_hold on wait for the peer's EOF */
	uint64_t next_send_at;
	uint32_t think_ms;
	bool blocked; /* a short send: waits for WRITABLE */
	bool send_done_err;
	/* Reading: how much was read and checked, pauses. */
	uint64_t rx_off, rx_stop; /* read no further than rx_stop */
	uint64_t next_read_at;
	uint32_t read_think_ms;
	bool eof;
	int err_seen; /* the -ECONNRESET / -ETIMEDOUT recv returned */
	/* What the application was told. */
	unsigned int ev_count[CODA_TCP_EV_CLOSED + 1];
	bool saw_closed; /* read state CLOSED with coda_tcp_info() */
	enum coda_tcp_close_reason reason_seen;
	uint64_t wake;
	uint64_t delivered; /* segments the link gave this side */
	uint32_t iss;
	bool iss_known;
};

struct b2b {
	enum pattern pat;
	enum link_kind lk;
	const struct link_conf *link;
	uint64_t seed;
	struct rng r;
	uint64_t now, t0;
	uint16_t port; /* B's, network order */
	uint32_t msl_ms; /* both stacks' MSL */
	uint64_t k;    /* abort/unread patterns: bytes read before the act */
	int closer;    /* unread_close: who closes */
	bool burst;    /* deliver with coda_tcp_input_burst() (seed bit 7), else coda_tcp_input() */
	struct side side[2];
	/* The link: a binary heap of pool slots by (at, serial). */
	struct pkt *pool;
	uint32_t *heap, nheap;
	uint32_t *freel, nfree;
	uint64_t serial;
	uint64_t last_at[2];
	/* Trace ring. */
	struct tr_rec *tr;
	uint64_t ntr;
	/* Outcome. */
	bool failed;
	char msg[1024];
	uint64_t steps;
	uint64_t tx_segs, lost, dups;
};

static struct b2b *cur; /* for the SIGABRT handler */
static unsigned int trace_lines = 300;
/*
 * Work-arounds of known stack bugs, off by default, so that a run can look
 * past them for others (see the regression tests at the end):
 * CODA_B2B_ACCEPT_IN_EVENT=1 accepts inside the ACCEPTED event, before the
 * rest of the segment is processed; CODA_B2B_LAX_TIMERS=1 lets the clock
 * run through timer wake-ups left after the end (they must send nothing)
 * before it checks that none is pending; CODA_B2B_NO_ZERO_WINDOW=1 keeps
 * receive windows open (no zero-window probes).
 */
static bool accept_in_event;
static bool lax_timers;
/* CODA_B2B_NO_ZERO_WINDOW=1: big receive buffers and readers without pauses. */
static bool no_zero_window;

static void b2b_print(const struct b2b *b, FILE *f, uint64_t lines);

static void __attribute__((format(printf, 3, 4)))
b2b_fail(struct b2b *b, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	b->failed = true;
	n = snprintf(b->msg, sizeof(b->msg), "line %d, t=+%" PRIu64 " ms: ", line, b->now - b->t0);
	va_start(ap, fmt);
	vsnprintf(b->msg + n, sizeof(b->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

#define CHECK(b, cond, ...)                                                                     \
	do {                                                                                    \
		if (!(cond))                                                                    \
			b2b_fail((b), __LINE__, __VA_ARGS__);                                   \
	} while (0)

static void
tr_add(struct b2b *b, const struct tr_rec *r)
{
	b->tr[b->ntr++ % TRACE_RECS] = *r;
}

static void
tr_app(struct b2b *b, int side, enum app_op op, int64_t arg)
{
	tr_add(b, &(struct tr_rec){.t = b->now, .kind = TR_APP, .side = (uint8_t)side,
				   .op = (int32_t)op, .arg = arg});
}

/* --- the link ---------------------------------------------------------------------- */

static bool
pkt_before(const struct b2b *b, uint32_t x, uint32_t y)
{
	const struct pkt *p = &b->pool[x], *q = &b->pool[y];

	return p->at < q->at || (p->at == q->at && p->serial < q->serial);
}

static void
heap_push(struct b2b *b, uint32_t slot)
{
	uint32_t i = b->nheap++;

	b->heap[i] = slot;
	while (i > 0 && pkt_before(b, b->heap[i], b->heap[(i - 1) / 2])) {
		uint32_t p = (i - 1) / 2, tmp = b->heap[p];

		b->heap[p] = b->heap[i];
		b->heap[i] = tmp;
		i = p;
	}
}

static uint32_t
heap_pop(struct b2b *b)
{
	uint32_t top = b->heap[0], i = 0;

	b->heap[0] = b->heap[--b->nheap];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i, tmp;

		if (l < b->nheap && pkt_before(b, b->heap[l], b->heap[m]))
			m = l;
		if (r < b->nheap && pkt_before(b, b->heap[r], b->heap[m]))
			m = r;
		if (m == i)
			break;
		tmp = b->heap[m];
		b->heap[m] = b->heap[i];
		b->heap[i] = tmp;
		i = m;
	}
	return top;
}

static uint64_t
link_next(const struct b2b *b)
{
	return b->nheap > 0 ? b->pool[b->heap[0]].at : NEVER;
}

/* Put one copy of a segment on the wire towards side @p to; return its delivery time. */
static uint64_t
link_put(struct b2b *b, int to, const struct coda_conntab_key *k, const void *tcp, uint32_t len)
{
	const struct link_conf *lc = b->link;
	uint64_t at = b->now + lc->dmin + rng_below(&b->r, lc->dmax - lc->dmin + 1);
	struct pkt *p;
	uint32_t slot;

	if (lc->fifo && at < b->last_at[to])
		at = b->last_at[to];
	b->last_at[to] = at;
	if (b->nfree == 0) {
		b2b_fail(b, __LINE__, "more than %u segments in flight: a storm", POOL_PKTS);
		return at;
	}
	slot = b->freel[--b->nfree];
	p = &b->pool[slot];
	p->at = at;
	p->serial = b->serial++;
	p->len = len;
	p->to = (uint8_t)to;
	/* The receiver's key: the sender's with local and remote swapped. */
	memset(&p->key, 0, sizeof(p->key));
	p->key.family = k->family;
	p->key.lport = k->rport;
	p->key.rport = k->lport;
	memcpy(p->key.laddr, k->raddr, sizeof(p->key.laddr));
	memcpy(p->key.raddr, k->laddr, sizeof(p->key.raddr));
	memcpy(p->bytes, tcp, len);
	heap_push(b, slot);
	return at;
}

static void
b2b_tx(void *arg, const struct coda_conntab_key *k, const void *tcp, uint32_t len)
{
	struct side *sd = arg;
	struct b2b *b = sd->b;
	int to = 1 - sd->idx;
	uint32_t la, ra;
	struct tcp_seg seg;
	struct tr_rec r = {.t = b->now, .kind = TR_TX, .side = (uint8_t)sd->idx};

	b->tx_segs++;
	if (tcp_seg_parse(tcp, len, &seg) != TCP_DROP_NONE) {
		b2b_fail(b, __LINE__, "%c sent a segment its own parser drops (len %u)",
			 'A' + sd->idx, len);
		return;
	}
	memcpy(&la, k->laddr, 4);
	memcpy(&ra, k->raddr, 4);
	CHECK(b, k->family == AF_INET && ntohl(la) == (sd->idx == SIDE_A ? ADDR_A : ADDR_B) &&
			 ntohl(ra) == (sd->idx == SIDE_A ? ADDR_B : ADDR_A) &&
			 k->lport == htons(seg.sport) && k->rport == htons(seg.dport),
	      "%c sent on a key that is not its connection", 'A' + sd->idx);
	CHECK(b, len <= PKT_MAX, "%c sent a segment of %u bytes", 'A' + sd->idx, len);
	if (b->failed)
		return;
	if ((seg.flags & TCP_SYN) && !sd->iss_known) {
		sd->iss = seg.seq;
		sd->iss_known = true;
	}
	r.flags = seg.flags;
	r.seq = seg.seq;
	r.ack = seg.ack;
	r.len = seg.payload_len;
	r.wnd = seg.wnd;
	if (rng_ppm(&b->r, b->link->loss_ppm)) {
		b->lost++;
		r.fate = FATE_LOST;
		tr_add(b, &r);
		return;
	}
	r.fate = FATE_QUEUED;
	r.arg = (int64_t)link_put(b, to, k, tcp, len);
	if (rng_ppm(&b->r, b->link->dup_ppm)) {
		b->dups++;
		tr_add(b, &r);
		r.fate = FATE_DUP;
		r.arg = (int64_t)link_put(b, to, k, tcp, len);
	}
	tr_add(b, &r);
}

/* Give side @p to the burst gathered in @p rx (slots in @p slots), then free the slots. */
static void
link_burst(struct b2b *b, int to, const struct coda_tcp_rx *rx, const uint32_t *slots,
	   unsigned int n)
{
	coda_tcp_input_burst(b->side[to].s, rx, n, b->now);
	for (unsigned int i = 0; i < n; i++)
		b->freel[b->nfree++] = slots[i];
}

/*
 * Deliver every segment due by now: one by one, or (b->burst) as bursts of
 * consecutive segments to the same side, the way a worker's rx burst does.
 */
static void
link_deliver(struct b2b *b)
{
	struct coda_tcp_rx rx[32];
	uint32_t slots[32];
	unsigned int n, nb = 0;
	int bto = -1;

	for (n = 0; n < 2 * POOL_PKTS && !b->failed && link_next(b) <= b->now; n++) {
		uint32_t slot = heap_pop(b);
		struct pkt *p = &b->pool[slot];
		struct side *to = &b->side[p->to];
		struct tcp_seg seg;

		if (nb > 0 && (nb == 32 || p->to != bto)) {
			link_burst(b, bto, rx, slots, nb);
			nb = 0;
		}
		(void)tcp_seg_parse(p->bytes, p->len, &seg);
		tr_add(b, &(struct tr_rec){.t = b->now, .kind = TR_RX, .side = p->to,
					   .flags = seg.flags, .seq = seg.seq, .ack = seg.ack,
					   .len = seg.payload_len, .wnd = seg.wnd});
		to->delivered++;
		if (b->burst) {
			rx[nb] = (struct coda_tcp_rx){.key = &p->key, .tcp = p->bytes, .len = p->len};
			slots[nb++] = slot;
			bto = p->to;
			continue;
		}
		coda_tcp_input(to->s, &p->key, p->bytes, p->len, b->now);
		b->freel[b->nfree++] = slot;
	}
	if (nb > 0)
		link_burst(b, bto, rx, slots, nb);
}

/* --- the applications ------------------------------------------------------------------ */

static void
b2b_event(void *arg, int sock, enum coda_tcp_event ev)
{
	struct side *sd = arg;
	struct b2b *b = sd->b;

	tr_add(b, &(struct tr_rec){.t = b->now, .kind = TR_EV, .side = (uint8_t)sd->idx,
				   .op = (int32_t)ev, .arg = sock});
	CHECK(b, (unsigned int)ev <= CODA_TCP_EV_CLOSED, "%c: event %d out of range",
	      'A' + sd->idx, ev);
	if (b->failed)
		return;
	if (sd->idx == SIDE_B && sock == sd->lsock) {
		CHECK(b, ev == CODA_TCP_EV_ACCEPTED, "B: event %s on the listener", ev_names[ev]);
		if (accept_in_event && sd->sock < 0) {
			int rc = coda_tcp_accept(sd->s, sd->lsock);

			tr_app(b, sd->idx, OP_ACCEPT, rc);
			CHECK(b, rc >= 0, "B: accept() returned %d", rc);
			sd->sock = rc;
		}
		return;
	}
	CHECK(b, ev != CODA_TCP_EV_ACCEPTED, "%c: ACCEPTED on socket %d, not a listener",
	      'A' + sd->idx, sock);
	CHECK(b, sock == sd->sock && !sd->released,
	      "%c: event %s on socket %d, which the application does not hold (it holds %d%s)",
	      'A' + sd->idx, ev_names[ev], sock, sd->sock, sd->released ? ", closed" : "");
	if (b->failed)
		return;
	sd->ev_count[ev]++;
	if (ev == CODA_TCP_EV_WRITABLE)
		sd->blocked = false;
}

/* Read what there is (up to rx_stop) and check it against the peer's stream. */
static void
app_read(struct b2b *b, struct side *sd)
{
	static uint8_t buf[CHUNK_MAX], want[CHUNK_MAX];
	const struct side *peer = &b->side[1 - sd->idx];
	uint64_t got = 0;
	unsigned int i;

	if (sd->read_think_ms > 0 && b->now < sd->next_read_at)
		return;
	for (i = 0; i < 1024 && !b->failed && sd->rx_off < sd->rx_stop; i++) {
		uint64_t lim = sd->rx_stop - sd->rx_off;
		uint32_t n = 1 + (uint32_t)rng_below(&b->r, CHUNK_MAX);
		int32_t rc;

		if (n > lim)
			n = (uint32_t)lim;
		rc = coda_tcp_recv(sd->s, sd->sock, buf, n, b->now);
		if (rc > 0) {
			CHECK(b, (uint32_t)rc <= n, "%c: recv() returned %d for %u bytes",
			      'A' + sd->idx, rc, n);
			CHECK(b, sd->rx_off + (uint64_t)rc <= peer->tx_off,
			      "%c: read %" PRIu64 " bytes, the peer queued only %" PRIu64,
			      'A' + sd->idx, sd->rx_off + (uint64_t)rc, peer->tx_off);
			CHECK(b, !sd->eof, "%c: data after EOF", 'A' + sd->idx);
			stream_fill(peer->stream_id, sd->rx_off, want, (uint32_t)rc);
			if (!b->failed && memcmp(buf, want, (size_t)rc) != 0) {
				uint32_t j = 0;

				while (buf[j] == want[j])
					j++;
				b2b_fail(b, __LINE__,
					 "%c: byte %" PRIu64 " of the stream from %c is wrong "
					 "(0x%02x, expected 0x%02x): data lost, duplicated or "
					 "out of order",
					 'A' + sd->idx, sd->rx_off + j, 'B' - sd->idx, buf[j],
					 want[j]);
			}
			sd->rx_off += (uint64_t)rc;
			got += (uint64_t)rc;
			continue;
		}
		if (rc == 0) {
			if (!sd->eof)
				tr_app(b, sd->idx, OP_EOF, 0);
			sd->eof = true;
			break;
		}
		if (rc == -EAGAIN)
			break;
		if (rc == -ECONNRESET || rc == -ETIMEDOUT) {
			CHECK(b, sd->err_seen == 0, "%c: recv() returned %d twice", 'A' + sd->idx,
			      rc);
			sd->err_seen = rc;
			tr_app(b, sd->idx, OP_ERR, rc);
			continue;
		}
		b2b_fail(b, __LINE__, "%c: recv() returned %d", 'A' + sd->idx, rc);
	}
	if (got > 0)
		tr_app(b, sd->idx, OP_RECV, (int64_t)got);
	if (sd->read_think_ms > 0)
		sd->next_read_at = b->now + rng_below(&b->r, sd->read_think_ms + 1);
}

/* Queue the next chunks of our stream as the pauses and the buffer allow. */
static void
app_send(struct b2b *b, struct side *sd, const struct coda_tcp_info *in)
{
	static uint8_t buf[CHUNK_MAX];
	unsigned int i;

	if (sd->acted || sd->blocked || sd->send_done_err || b->now < sd->next_send_at)
		return;
	if (in->state != CODA_TCP_S_ESTABLISHED && in->state != CODA_TCP_S_CLOSE_WAIT)
		return;
	for (i = 0; i < 64 && !b->failed && sd->tx_off < sd->tx_len; i++) {
		uint64_t lim = sd->tx_len - sd->tx_off;
		uint32_t n = 1 + (uint32_t)rng_below(&b->r, CHUNK_MAX);
		int32_t rc;

		if (!sd->eof) {
			if (sd->tx_off >= sd->tx_hold)
				break; /* the rest waits for the peer's EOF */
			if (lim > sd->tx_hold - sd->tx_off)
				lim = sd->tx_hold - sd->tx_off;
		}
		if (n > lim)
			n = (uint32_t)lim;
		stream_fill(sd->stream_id, sd->tx_off, buf, n);
		rc = coda_tcp_send(sd->s, sd->sock, buf, n, b->now);
		if (rc > 0) {
			CHECK(b, (uint32_t)rc <= n, "%c: send() returned %d for %u bytes",
			      'A' + sd->idx, rc, n);
			sd->tx_off += (uint64_t)rc;
			tr_app(b, sd->idx, OP_SEND, rc);
			if ((uint32_t)rc < n) {
				sd->blocked = true; /* "fewer when the buffer is full, then WRITABLE follows" */
				break;
			}
			if (sd->think_ms > 0) {
				sd->next_send_at = b->now + rng_below(&b->r, sd->think_ms + 1);
				if (sd->next_send_at > b->now)
					break;
			}
			continue;
		}
		if (rc == -EAGAIN) {
			sd->blocked = true;
			break;
		}
		/* The connection is gone under us (an abort pattern): stop sending. */
		CHECK(b, rc == -ECONNRESET || rc == -EPIPE || rc == -ETIMEDOUT,
		      "%c: send() returned %d in %s", 'A' + sd->idx, rc,
		      coda_tcp_state_name(in->state));
		tr_app(b, sd->idx, OP_ERR, rc);
		sd->send_done_err = true;
		break;
	}
}

static void
app_close(struct b2b *b, struct side *sd)
{
	int rc = coda_tcp_close(sd->s, sd->sock, b->now);

	tr_app(b, sd->idx, OP_CLOSE, rc);
	CHECK(b, rc == 0, "%c: close() returned %d", 'A' + sd->idx, rc);
	sd->released = true;
}

/* The pattern's closing call of a graceful side: close(), or shutdown(WR) and wait. */
static void
app_end(struct b2b *b, struct side *sd)
{
	sd->acted = true;
	if (sd->mode == END_CLOSE) {
		app_close(b, sd);
	} else {
		int rc = coda_tcp_shutdown(sd->s, sd->sock, CODA_TCP_SHUT_WR, b->now);

		tr_app(b, sd->idx, OP_SHUT_WR, rc);
		CHECK(b, rc == 0, "%c: shutdown(WR) returned %d", 'A' + sd->idx, rc);
	}
}

static void
app_abort(struct b2b *b, struct side *sd)
{
	int rc = coda_tcp_abort(sd->s, sd->sock, b->now);

	tr_app(b, sd->idx, OP_ABORT, rc);
	CHECK(b, rc == 0, "%c: abort() returned %d", 'A' + sd->idx, rc);
	sd->acted = true;
	sd->released = true;
}

/* Whether side @p sd is connected, has queued its stream and read all of the peer's. */
static bool
all_done(const struct b2b *b, const struct side *sd)
{
	struct coda_tcp_info in;

	return sd->sock >= 0 && !sd->released && sd->tx_off == sd->tx_len &&
	       sd->rx_off == b->side[1 - sd->idx].tx_len &&
	       coda_tcp_info(sd->s, sd->sock, &in) == 0 &&
	       (in.state == CODA_TCP_S_ESTABLISHED || in.state == CODA_TCP_S_CLOSE_WAIT);
}

/* One side's application: accept, read, send; the end of the connection. */
static void
app_step(struct b2b *b, struct side *sd)
{
	struct coda_tcp_info in;

	sd->wake = NEVER;
	if (sd->released || b->failed)
		return;
	if (sd->sock < 0) {
		int rc;

		if (sd->idx != SIDE_B)
			return;
		rc = coda_tcp_accept(sd->s, sd->lsock);
		if (rc == -EAGAIN)
			return;
		tr_app(b, sd->idx, OP_ACCEPT, rc);
		CHECK(b, rc >= 0, "B: accept() returned %d", rc);
		if (rc < 0)
			return;
		sd->sock = rc;
	}
	if (coda_tcp_info(sd->s, sd->sock, &in) != 0) {
		b2b_fail(b, __LINE__, "%c: coda_tcp_info() fails on the socket it holds",
			 'A' + sd->idx);
		return;
	}
	/* recv() is -ENOTCONN before the connection is established. */
	if (in.state == CODA_TCP_S_SYN_SENT || in.state == CODA_TCP_S_SYN_RECEIVED)
		return;
	app_read(b, sd);
	if (in.state == CODA_TCP_S_CLOSED) {
		/* Over: note how, read what is left (data before a reset is read first), close. */
		if (!sd->saw_closed) {
			sd->saw_closed = true;
			sd->reason_seen = in.close_reason;
			tr_app(b, sd->idx, OP_SAW_CLOSED, in.close_reason);
			CHECK(b, in.close_reason != CODA_TCP_CLOSE_NONE,
			      "%c: state CLOSED with no reason", 'A' + sd->idx);
		}
		if (sd->rx_off < sd->rx_stop && !sd->eof && sd->read_think_ms > 0 &&
		    in.readable > 0) {
			sd->wake = sd->next_read_at;
			return;
		}
		if (sd->rx_off < sd->rx_stop && !sd->eof && !b->failed) {
			sd->read_think_ms = 0;
			app_read(b, sd);
			CHECK(b, sd->eof || sd->rx_off == sd->rx_stop,
			      "%c: recv() on a CLOSED socket neither ends nor gives data",
			      'A' + sd->idx);
		}
		app_close(b, sd);
		return;
	}
	app_send(b, sd, &in);
	if (!sd->blocked && !sd->send_done_err && sd->tx_off < sd->tx_len && !sd->acted &&
	    (sd->tx_off < sd->tx_hold || sd->eof))
		sd->wake = sd->next_send_at > b->now ? sd->next_send_at : b->now + 1;
	if (sd->read_think_ms > 0 && sd->rx_off < sd->rx_stop) {
		(void)coda_tcp_info(sd->s, sd->sock, &in);
		/* Data, or the end of the stream, waits for the reader's next turn. */
		if ((in.readable > 0 || (in.peer_fin && !sd->eof)) && sd->next_read_at < sd->wake)
			sd->wake = sd->next_read_at > b->now ? sd->next_read_at : b->now + 1;
	}
}

/* The patterns' closing decisions, for both sides at once (simultaneous close needs both). */
static void
pattern_step(struct b2b *b)
{
	struct side *a = &b->side[SIDE_A], *s = &b->side[SIDE_B];
	struct coda_tcp_info in;

	if (b->failed)
		return;
	switch (b->pat) {
	case P_CLIENT_CLOSE:
		if (!a->acted && all_done(b, a))
			app_end(b, a);
		if (!s->acted && s->sock >= 0 && !s->released && s->eof && s->tx_off == s->tx_len)
			app_end(b, s);
		break;
	case P_SERVER_CLOSE:
		if (!s->acted && all_done(b, s))
			app_end(b, s);
		if (!a->acted && !a->released && a->eof && a->tx_off == a->tx_len)
			app_end(b, a);
		break;
	case P_SIMULTANEOUS:
		if (!a->acted && !s->acted && all_done(b, a) && all_done(b, s) && !a->released &&
		    !s->released) {
			app_end(b, a);
			app_end(b, s);
		}
		break;
	case P_ABORT_CLIENT:
		if (!a->acted && !a->released && a->rx_off >= b->k)
			app_abort(b, a);
		break;
	case P_ABORT_SERVER:
		if (!s->acted && s->sock >= 0 && !s->released && s->rx_off >= b->k)
			app_abort(b, s);
		break;
	case P_HALF_CLOSE:
		if (!a->acted && !a->released && a->tx_off == a->tx_len &&
		    coda_tcp_info(a->s, a->sock, &in) == 0 && in.state == CODA_TCP_S_ESTABLISHED)
			app_end(b, a); /* END_SHUT */
		if (!s->acted && s->sock >= 0 && !s->released && s->eof && s->tx_off == s->tx_len)
			app_end(b, s);
		break;
	case P_UNREAD_CLOSE: {
		struct side *c = &b->side[b->closer];

		if (!c->acted && c->sock >= 0 && !c->released && c->rx_off >= b->k &&
		    coda_tcp_info(c->s, c->sock, &in) == 0 && in.readable > 0 &&
		    in.state == CODA_TCP_S_ESTABLISHED) {
			c->acted = true;
			app_close(b, c); /* with unread data: RST */
		}
		break;
	}
	default:
		break;
	}
}

/* --- set up, run, check ------------------------------------------------------------------- */

static uint64_t
rand_len(struct rng *r)
{
	switch (rng_below(r, 8)) {
	case 0:
		return 0;
	case 1:
	case 2:
		return 1 + rng_below(r, 1000);
	case 3:
	case 4:
	case 5:
		return 1000 + rng_below(r, 30000);
	case 6:
		return 30000 + rng_below(r, 100000);
	default:
		return 130000 + rng_below(r, 200000);
	}
}

static void
rand_conf(struct rng *r, struct coda_tcp_conf *c, uint32_t msl_ms)
{
	static const uint32_t bufs[] = {4096, 16384, 65536, 262144};

	coda_tcp_conf_default(c);
	c->nb_tcb = 16;
	c->nb_tw = 16;
	c->nb_tw6 = 16;
	c->msl_ms = msl_ms;
	c->rto_max_ms = RTO_MAX_MS;
	c->timestamps = rng_below(r, 4) != 0;
	c->window_scaling = rng_below(r, 4) != 0;
	c->sack = rng_below(r, 2) != 0;
	c->delayed_ack_ms = rng_below(r, 3) == 0 ? 0 : 40;
	c->mss = rng_below(r, 4) == 0 ? 536 : 1460;
	c->rcv_buf = bufs[rng_below(r, 4)];
	c->snd_buf = bufs[rng_below(r, 4)];
	c->seed[0] = rng_next(r);
	c->seed[1] = rng_next(r);
}

static const uint32_t thinks[] = {0, 0, 2, 20, 200};

static bool
b2b_init(struct b2b *b, enum pattern pat, enum link_kind lk, uint64_t seed, uint32_t msl_ms)
{
	struct coda_tcp_stack *st;
	struct side *a = &b->side[SIDE_A], *s = &b->side[SIDE_B];
	struct pkt *pool = b->pool;
	uint32_t *heap = b->heap, *freel = b->freel;
	struct tr_rec *tr = b->tr;
	struct coda_conntab_key k;

	memset(b, 0, sizeof(*b));
	b->pool = pool;
	b->heap = heap;
	b->freel = freel;
	b->tr = tr;
	for (uint32_t i = 0; i < POOL_PKTS; i++)
		b->freel[i] = POOL_PKTS - 1 - i;
	b->nfree = POOL_PKTS;
	b->pat = pat;
	b->lk = lk;
	b->link = &links[lk];
	b->seed = seed;
	b->burst = (seed >> 7) & 1;
	b->msl_ms = msl_ms;
	b->r.s = mix64(seed ^ ((uint64_t)pat << 56) ^ ((uint64_t)lk << 48));
	b->t0 = b->now = 1000000 + rng_below(&b->r, UINT64_C(1) << 40);
	b->port = htons((uint16_t)(1024 + rng_below(&b->r, 40000)));
	for (int i = 0; i < 2; i++) {
		struct side *sd = &b->side[i];

		sd->b = b;
		sd->idx = i;
		sd->sock = -1;
		sd->lsock = -1;
		rand_conf(&b->r, &sd->conf, msl_ms);
		sd->mode = rng_below(&b->r, 2) ? END_SHUT : END_CLOSE;
		sd->stream_id = rng_next(&b->r);
		sd->tx_len = rand_len(&b->r);
		sd->tx_hold = ENDLESS;
		sd->rx_stop = ENDLESS;
		sd->think_ms = thinks[rng_below(&b->r, 5)];
		sd->read_think_ms = rng_below(&b->r, 4) == 0 ? thinks[rng_below(&b->r, 5)] : 0;
		if (no_zero_window) {
			sd->read_think_ms = 0;
			sd->conf.rcv_buf = 262144;
		}
		st = coda_tcp_create(&sd->conf, b->now, b2b_tx, sd, b2b_event, sd);
		if (st == NULL)
			return false;
		sd->s = st;
	}
	switch (pat) {
	case P_ABORT_CLIENT:
		s->tx_len = ENDLESS;
		b->k = 1 + rng_below(&b->r, 150000);
		a->rx_stop = b->k;
		break;
	case P_ABORT_SERVER:
		a->tx_len = ENDLESS;
		b->k = rng_below(&b->r, 150000);
		s->rx_stop = b->k;
		break;
	case P_HALF_CLOSE:
		a->mode = END_SHUT;
		s->tx_hold = rng_below(&b->r, s->tx_len + 1);
		if (s->think_ms == 0)
			s->think_ms = 20; /* "keeps sending for a while" */
		break;
	case P_UNREAD_CLOSE:
		b->closer = (int)rng_below(&b->r, 2);
		b->side[1 - b->closer].tx_len = ENDLESS;
		b->k = rng_below(&b->r, 150000);
		b->side[b->closer].rx_stop = b->k;
		break;
	default:
		break;
	}
	s->lsock = coda_tcp_listen(s->s, AF_INET, NULL, b->port, 8);
	if (s->lsock < 0)
		return false;
	coda_tcp_stats(a->s, &a->st0);
	coda_tcp_stats(s->s, &s->st0);
	coda_conntab_key_v4(&k, htonl(ADDR_A), 0, htonl(ADDR_B), b->port);
	a->sock = coda_tcp_connect(a->s, &k, b->now);
	tr_app(b, SIDE_A, OP_CONNECT, a->sock);
	CHECK(b, a->sock >= 0, "A: connect() returned %d", a->sock);
	return true;
}

static void
b2b_fini(struct b2b *b)
{
	coda_tcp_free(b->side[SIDE_A].s);
	coda_tcp_free(b->side[SIDE_B].s);
	b->side[SIDE_A].s = b->side[SIDE_B].s = NULL;
}

/* No connection TCB left on either side (listener and TIME-WAIT entries aside). */
static bool
no_tcb_left(const struct b2b *b)
{
	for (int i = 0; i < 2; i++) {
		struct coda_tcp_stats st;

		coda_tcp_stats(b->side[i].s, &st);
		for (unsigned int k = 0; k < CODA_TCP_S__COUNT; k++)
			if (k != CODA_TCP_S_LISTEN && k != CODA_TCP_S_TIME_WAIT && st.states[k] != 0)
				return false;
	}
	return true;
}

static void
b2b_run(struct b2b *b)
{
	uint64_t drain_until = NEVER;

	for (b->steps = 0; !b->failed; b->steps++) {
		uint64_t next = link_next(b), t;

		if (drain_until == NEVER && b->side[SIDE_A].released && b->side[SIDE_B].released &&
		    b->nheap == 0 && no_tcb_left(b))
			/* TIME-WAIT, the wheel's lateness (below 8/63 of a delay), and a second. */
			drain_until = b->now + 2 * b->msl_ms + 2 * b->msl_ms * 8 / 63 + 1000;
		for (int i = 0; i < 2; i++) {
			t = coda_tcp_next_timer(b->side[i].s);
			next = t < next ? t : next;
			next = b->side[i].wake < next ? b->side[i].wake : next;
		}
		if (drain_until != NEVER && (next == NEVER || next > drain_until)) {
			b->now = drain_until;
			coda_tcp_timers(b->side[SIDE_A].s, b->now);
			coda_tcp_timers(b->side[SIDE_B].s, b->now);
			for (unsigned int n = 0; lax_timers && n < 64; n++) {
				uint64_t segs = b->tx_segs;

				next = coda_tcp_next_timer(b->side[SIDE_A].s);
				t = coda_tcp_next_timer(b->side[SIDE_B].s);
				next = t < next ? t : next;
				if (next == NEVER || next - b->t0 > 2 * LIFE_MS)
					break;
				b->now = next > b->now ? next : b->now;
				coda_tcp_timers(b->side[SIDE_A].s, b->now);
				coda_tcp_timers(b->side[SIDE_B].s, b->now);
				CHECK(b, b->tx_segs == segs, "a timer sent a segment after the end");
			}
			return;
		}
		if (next == NEVER) {
			char what[2][64];

			for (int i = 0; i < 2; i++) {
				const struct side *sd = &b->side[i];
				struct coda_tcp_info in;

				if (sd->released)
					snprintf(what[i], sizeof(what[i]), "closed by the application");
				else if (sd->sock < 0)
					snprintf(what[i], sizeof(what[i]), "nothing to accept");
				else if (coda_tcp_info(sd->s, sd->sock, &in) == 0)
					snprintf(what[i], sizeof(what[i]), "%s, reason %s",
						 coda_tcp_state_name(in.state),
						 coda_tcp_close_reason_name(in.close_reason));
				else
					snprintf(what[i], sizeof(what[i]), "socket lost");
			}
			b2b_fail(b, __LINE__,
				 "stuck: no segment in flight, no timer, no application waiting, "
				 "and the lifecycle is not over (A: %s; B: %s)",
				 what[0], what[1]);
			return;
		}
		if (next > b->now)
			b->now = next;
		if (b->now - b->t0 > LIFE_MS) {
			b2b_fail(b, __LINE__, "not over after %" PRIu64 " ms of virtual time",
				 LIFE_MS);
			return;
		}
		if (b->steps >= LIFE_STEPS) {
			b2b_fail(b, __LINE__, "not over after %u steps", LIFE_STEPS);
			return;
		}
		link_deliver(b);
		coda_tcp_timers(b->side[SIDE_A].s, b->now);
		coda_tcp_timers(b->side[SIDE_B].s, b->now);
		app_step(b, &b->side[SIDE_A]);
		app_step(b, &b->side[SIDE_B]);
		pattern_step(b);
		/* A call in pattern_step may have changed what the applications wait for. */
		app_step(b, &b->side[SIDE_A]);
		app_step(b, &b->side[SIDE_B]);
		CHECK(b, coda_tcp_audit(b->side[SIDE_A].s) == 0, "A: coda_tcp_audit() fails");
		CHECK(b, coda_tcp_audit(b->side[SIDE_B].s) == 0, "B: coda_tcp_audit() fails");
	}
}

/* What the pattern says: the reasons, and whether each side enters TIME-WAIT (-1: either). */
static void
expected(const struct b2b *b, enum coda_tcp_close_reason why[2], int tw[2])
{
	why[0] = why[1] = CODA_TCP_CLOSE_NORMAL;
	tw[0] = tw[1] = 0;
	switch (b->pat) {
	case P_CLIENT_CLOSE:
	case P_HALF_CLOSE:
		tw[SIDE_A] = 1;
		break;
	case P_SERVER_CLOSE:
		tw[SIDE_B] = 1;
		break;
	case P_SIMULTANEOUS:
		tw[SIDE_A] = tw[SIDE_B] = 1;
		break;
	case P_ABORT_CLIENT:
		why[SIDE_A] = CODA_TCP_CLOSE_ABORTED;
		why[SIDE_B] = CODA_TCP_CLOSE_RESET;
		break;
	case P_ABORT_SERVER:
		why[SIDE_A] = CODA_TCP_CLOSE_RESET;
		why[SIDE_B] = CODA_TCP_CLOSE_ABORTED;
		break;
	case P_UNREAD_CLOSE:
		why[b->closer] = CODA_TCP_CLOSE_ABORTED;
		why[1 - b->closer] = CODA_TCP_CLOSE_RESET;
		break;
	default:
		break;
	}
}

static void
b2b_check(struct b2b *b)
{
	enum coda_tcp_close_reason why[2];
	int tw[2];

	expected(b, why, tw);
	for (int i = 0; i < 2 && !b->failed; i++) {
		const struct side *sd = &b->side[i], *peer = &b->side[1 - i];
		char c = (char)('A' + i);
		struct coda_tcp_stats st;
		uint64_t ended = 0, opened;
		char got[160];
		int n = 0;

		coda_tcp_stats(sd->s, &st);
		for (unsigned int r = 0; r <= CODA_TCP_CLOSE_ABORTED; r++) {
			uint64_t d = st.closed[r] - sd->st0.closed[r];

			ended += d;
			if (d > 0)
				n += snprintf(got + n, sizeof(got) - (size_t)n, " %s x%" PRIu64,
					      coda_tcp_close_reason_name(r), d);
		}
		if (n == 0)
			snprintf(got, sizeof(got), " none");
		opened = (st.opened_active - sd->st0.opened_active) +
			 (st.opened_passive - sd->st0.opened_passive);
		/*
		 * A late duplicate of A's SYN can open a second connection on B
		 * once the first is gone (an old duplicate, RFC 9293 3.5); it must
		 * end too, whatever its reason.
		 */
		CHECK(b, ended == opened, "%c: %" PRIu64 " connections opened, %" PRIu64 " ended:%s",
		      c, opened, ended, got);
		CHECK(b, st.closed[why[i]] - sd->st0.closed[why[i]] >= 1 && (opened > 1 || ended == 1),
		      "%c: the connection ended with%s, expected %s", c, got,
		      coda_tcp_close_reason_name(why[i]));
		if (sd->saw_closed)
			CHECK(b, sd->reason_seen == why[i],
			      "%c: the application read close reason %s, expected %s", c,
			      coda_tcp_close_reason_name(sd->reason_seen),
			      coda_tcp_close_reason_name(why[i]));
		CHECK(b, sd->ev_count[CODA_TCP_EV_CLOSED] == (sd->saw_closed ? 1u : 0u),
		      "%c: %u CLOSED events, the application %s state CLOSED", c,
		      sd->ev_count[CODA_TCP_EV_CLOSED], sd->saw_closed ? "read" : "never read");
		CHECK(b, sd->ev_count[CODA_TCP_EV_PEER_FIN] <= 1, "%c: %u PEER_FIN events", c,
		      sd->ev_count[CODA_TCP_EV_PEER_FIN]);
		CHECK(b, sd->ev_count[CODA_TCP_EV_CONNECTED] == (i == SIDE_A ? 1u : 0u),
		      "%c: %u CONNECTED events", c, sd->ev_count[CODA_TCP_EV_CONNECTED]);
		if (b->pat == P_CLIENT_CLOSE || b->pat == P_SERVER_CLOSE ||
		    b->pat == P_SIMULTANEOUS || b->pat == P_HALF_CLOSE) {
			CHECK(b, sd->rx_off == peer->tx_len,
			      "%c: read %" PRIu64 " bytes of the %" PRIu64 " the peer sent", c,
			      sd->rx_off, peer->tx_len);
			CHECK(b, tw[i] < 0 || st.tw_entered - sd->st0.tw_entered == (uint64_t)tw[i],
			      "%c: %" PRIu64 " TIME-WAIT entries made, expected %d", c,
			      st.tw_entered - sd->st0.tw_entered, tw[i]);
		} else {
			CHECK(b, st.tw_entered == sd->st0.tw_entered, "%c: TIME-WAIT after an abort",
			      c);
		}
		CHECK(b, st.rx_segments - sd->st0.rx_segments == sd->delivered,
		      "%c: %" PRIu64 " segments received by the stack, the link delivered %" PRIu64,
		      c, st.rx_segments - sd->st0.rx_segments, sd->delivered);
		/* Nothing left behind. */
		CHECK(b, coda_tcp_audit(sd->s) == 0, "%c: coda_tcp_audit() fails at the end", c);
		for (unsigned int k = 0; k < CODA_TCP_S__COUNT; k++)
			CHECK(b, st.states[k] == (k == CODA_TCP_S_LISTEN && i == SIDE_B ? 1u : 0u),
			      "%c: %" PRIu64 " in state %s after 2 MSL", c, st.states[k],
			      coda_tcp_state_name((enum coda_tcp_state)k));
		CHECK(b, coda_conntab_count(coda_tcp_conntab(sd->s)) == 0,
		      "%c: %u entries in the connection table after 2 MSL", c,
		      coda_conntab_count(coda_tcp_conntab(sd->s)));
		CHECK(b, coda_tcp_next_timer(sd->s) == NEVER,
		      "%c: a timer is still pending (next at +%" PRId64 " ms)", c,
		      (int64_t)(coda_tcp_next_timer(sd->s) - b->now));
	}
}

/* --- printing ------------------------------------------------------------------------------ */

static void
flags_str(uint8_t f, char *buf)
{
	static const char names[] = "FSRPAUEC";
	unsigned int n = 0;

	for (unsigned int i = 0; i < 8; i++)
		if (f & (1u << i))
			buf[n++] = names[i];
	buf[n] = '\0';
}

static void
conf_str(const struct coda_tcp_conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "ts=%d ws=%d sack=%d delack=%u mss=%u rcvbuf=%u sndbuf=%u",
		 c->timestamps, c->window_scaling, c->sack, c->delayed_ack_ms, c->mss, c->rcv_buf,
		 c->snd_buf);
}

static void
len_str(uint64_t v, char *buf, size_t len)
{
	if (v == ENDLESS)
		snprintf(buf, len, "endless");
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void
b2b_print(const struct b2b *b, FILE *f, uint64_t lines)
{
	char ca[128], cb[128], la[32], lb[32], hold[32];
	uint64_t first = b->ntr > lines ? b->ntr - lines : 0;

	if (first < b->ntr - (b->ntr < TRACE_RECS ? b->ntr : TRACE_RECS))
		first = b->ntr - TRACE_RECS;
	conf_str(&b->side[SIDE_A].conf, ca, sizeof(ca));
	conf_str(&b->side[SIDE_B].conf, cb, sizeof(cb));
	len_str(b->side[SIDE_A].tx_len, la, sizeof(la));
	len_str(b->side[SIDE_B].tx_len, lb, sizeof(lb));
	len_str(b->side[SIDE_B].tx_hold, hold, sizeof(hold));
	fprintf(f, "# lifecycle %s:%s:%" PRIu64 " (reproduce: CODA_B2B_REPRO=%s:%s:%" PRIu64 ")\n",
		pattern_names[b->pat], b->link->name, b->seed, pattern_names[b->pat],
		b->link->name, b->seed);
	fprintf(f, "#   link: loss %u ppm, dup %u ppm, delay %u..%u ms, %s\n", b->link->loss_ppm,
		b->link->dup_ppm, b->link->dmin, b->link->dmax,
		b->link->fifo ? "in order" : "reordering");
	fprintf(f, "#   A (client 198.18.0.1): %s; sends %s bytes; end %s; think %u ms, read think %u ms\n",
		ca, la, b->side[SIDE_A].mode == END_CLOSE ? "close()" : "shutdown(WR)",
		b->side[SIDE_A].think_ms, b->side[SIDE_A].read_think_ms);
	fprintf(f, "#   B (server 198.18.0.2:%u): %s; sends %s bytes (held until EOF from %s); end %s; think %u ms, read think %u ms\n",
		ntohs(b->port), cb, lb, hold,
		b->side[SIDE_B].mode == END_CLOSE ? "close()" : "shutdown(WR)",
		b->side[SIDE_B].think_ms, b->side[SIDE_B].read_think_ms);
	if (b->pat == P_ABORT_CLIENT || b->pat == P_ABORT_SERVER || b->pat == P_UNREAD_CLOSE)
		fprintf(f, "#   k = %" PRIu64 " bytes read before the act%s%c\n", b->k,
			b->pat == P_UNREAD_CLOSE ? "; closer " : "",
			b->pat == P_UNREAD_CLOSE ? 'A' + b->closer : ' ');
	fprintf(f, "#   ISS A %u, ISS B %u; seq/ack below are relative to them (tcpdump style)\n",
		b->side[SIDE_A].iss, b->side[SIDE_B].iss);
	fprintf(f, "#   %" PRIu64 " steps, %" PRIu64 " segments sent, %" PRIu64 " lost, %" PRIu64
		   " duplicated; %" PRIu64 " trace records, the last %" PRIu64 " follow\n",
		b->steps, b->tx_segs, b->lost, b->dups, b->ntr, b->ntr - first);
	for (uint64_t i = first; i < b->ntr; i++) {
		const struct tr_rec *r = &b->tr[i % TRACE_RECS];
		const struct side *from, *to;
		char fl[9];

		fprintf(f, "%9.3f ", (double)(r->t - b->t0) / 1000.0);
		switch (r->kind) {
		case TR_TX:
		case TR_RX:
			from = &b->side[r->kind == TR_TX ? r->side : 1 - r->side];
			to = &b->side[1 - (from - b->side)];
			flags_str(r->flags, fl);
			fprintf(f, "%s %c>%c [%-3s] seq=%u ack=%u len=%u win=%u", r->kind == TR_TX ? "tx" : "rx",
				'A' + (int)(from - b->side), 'A' + (int)(to - b->side), fl,
				r->seq - from->iss, (r->flags & TCP_ACK) ? r->ack - to->iss : 0,
				r->len, r->wnd);
			if (r->kind == TR_TX)
				fprintf(f, "%s", r->fate == FATE_LOST ? "  LOST" :
						 r->fate == FATE_DUP  ? "  DUPLICATE" :
									"");
			if (r->kind == TR_TX && r->fate != FATE_LOST)
				fprintf(f, "  (arrives %.3f)", (double)((uint64_t)r->arg - b->t0) / 1000.0);
			fprintf(f, "\n");
			break;
		case TR_APP:
			fprintf(f, "app %c %s", 'A' + r->side, op_names[r->op]);
			if (r->op == OP_SAW_CLOSED)
				fprintf(f, " %s\n",
					coda_tcp_close_reason_name((enum coda_tcp_close_reason)r->arg));
			else if (r->op == OP_EOF)
				fprintf(f, "\n");
			else
				fprintf(f, " = %" PRId64 "\n", r->arg);
			break;
		default:
			fprintf(f, "event %c %s on socket %" PRId64 "\n", 'A' + r->side,
				ev_names[r->op], r->arg);
			break;
		}
	}
	fflush(f);
}

static void
on_abort(int sig)
{
	(void)sig;
	if (cur != NULL) {
		fprintf(stderr, "# SIGABRT in the lifecycle below (an assertion of the stack?)\n");
		b2b_print(cur, stderr, trace_lines);
	}
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
}

/* --- the tests ------------------------------------------------------------------------------ */

static struct b2b *
b2b_alloc(void)
{
	struct b2b *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->pool = calloc(POOL_PKTS, sizeof(*b->pool));
	b->heap = calloc(POOL_PKTS, sizeof(*b->heap));
	b->freel = calloc(POOL_PKTS, sizeof(*b->freel));
	b->tr = calloc(TRACE_RECS, sizeof(*b->tr));
	assert_true(b->pool != NULL && b->heap != NULL && b->freel != NULL && b->tr != NULL);
	return b;
}

static void
b2b_release(struct b2b *b)
{
	free(b->pool);
	free(b->heap);
	free(b->freel);
	free(b->tr);
	free(b);
}

/* One lifecycle; true if it ended as it must. */
static bool
lifecycle(struct b2b *b, enum pattern pat, enum link_kind lk, uint64_t seed, uint32_t msl_ms)
{
	bool ok;

	cur = b;
	if (!b2b_init(b, pat, lk, seed, msl_ms)) {
		b2b_fail(b, __LINE__, "cannot make the stacks");
	} else {
		b2b_run(b);
		if (!b->failed)
			b2b_check(b);
	}
	ok = !b->failed;
	b2b_fini(b);
	cur = NULL;
	return ok;
}

static uint64_t
env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : def;
}

static unsigned int
lives_per_test(void)
{
	uint64_t n = LIVES_DEFAULT;

#ifdef __SANITIZE_ADDRESS__
	n /= 4; /* ASan: the same coverage per pattern, a quarter of the lifecycles */
#endif
	n = n * env_u64("CODA_B2B_SCALE", 100) / 100;
	return n > 0 ? (unsigned int)n : 1;
}

/*
 * Failures by kind: the message without its line, time and numbers, so that
 * one bug seen with many seeds counts as one kind.
 */
static void
kind_add(void *arr, unsigned int *n, unsigned int max, const char *msg, uint64_t seed)
{
	struct {
		char what[160];
		unsigned int n;
		uint64_t seed;
	} *k = arr;
	char w[160];
	size_t j = 0;
	const char *p = strstr(msg, "ms: ");

	p = p != NULL ? p + 4 : msg;
	for (; *p != '\0' && j < sizeof(w) - 1; p++)
		if (*p < '0' || *p > '9' || j == 0 || w[j - 1] != '#')
			w[j++] = (*p >= '0' && *p <= '9') ? '#' : *p;
	w[j] = '\0';
	for (unsigned int i = 0; i < *n; i++)
		if (strcmp(k[i].what, w) == 0) {
			k[i].n++;
			return;
		}
	if (*n == max)
		return;
	memcpy(k[*n].what, w, sizeof(w));
	k[*n].n = 1;
	k[*n].seed = seed;
	(*n)++;
}

static void
run_many(enum pattern pat, enum link_kind lk)
{
	struct b2b *b = b2b_alloc();
	uint64_t base = env_u64("CODA_B2B_SEED", 1);
	unsigned int n = lives_per_test(), failed = 0;
	uint64_t segs = 0, lost = 0, vtime = 0;
	char seeds[256] = "";
	size_t sl = 0;
	struct {
		char what[160];
		unsigned int n;
		uint64_t seed;
	} kinds[16];
	unsigned int nkinds = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t seed = base * 1000000 + i;

		if (!lifecycle(b, pat, lk, seed, MSL_MS)) {
			if (failed == 0) {
				fprintf(stderr, "# FAILED: %s\n", b->msg);
				b2b_print(b, stderr, trace_lines);
			} else if (failed < 16) {
				fprintf(stderr, "# FAILED %s:%s:%" PRIu64 ": %s\n", pattern_names[pat],
					links[lk].name, seed, b->msg);
			}
			kind_add(kinds, &nkinds, 16, b->msg, seed);
			if (failed < 8 && sl < sizeof(seeds) - 32)
				sl += (size_t)snprintf(seeds + sl, sizeof(seeds) - sl, " %" PRIu64, seed);
			failed++;
		}
		segs += b->tx_segs;
		lost += b->lost;
		vtime += b->now - b->t0;
	}
	print_message("%s over %s: %u lifecycles, %u failed; %" PRIu64 " segments (%" PRIu64
		      " lost), %.1f s virtual time\n",
		      pattern_names[pat], links[lk].name, n, failed, segs, lost, (double)vtime / 1000.0);
	for (unsigned int i = 0; i < nkinds; i++)
		print_message("  %u x %s (first seed %" PRIu64 ")\n", kinds[i].n, kinds[i].what,
			      kinds[i].seed);
	b2b_release(b);
	if (failed > 0)
		fail_msg("%u of %u %s lifecycles over %s failed; seeds:%s", failed, n,
			 pattern_names[pat], links[lk].name, seeds);
}

#define B2B_TEST(pat, lk, name)                                                                 \
	static void test_##name(void **state)                                                   \
	{                                                                                       \
		(void)state;                                                                    \
		run_many(pat, lk);                                                              \
	}

#define B2B_TESTS(pat, name)                                                                    \
	B2B_TEST(pat, LINK_CLEAN, name##_clean)                                                 \
	B2B_TEST(pat, LINK_LOSS1, name##_loss1)                                                 \
	B2B_TEST(pat, LINK_ROUGH, name##_rough)

B2B_TESTS(P_CLIENT_CLOSE, client_close)
B2B_TESTS(P_SERVER_CLOSE, server_close)
B2B_TESTS(P_SIMULTANEOUS, simultaneous)
B2B_TESTS(P_ABORT_CLIENT, abort_client)
B2B_TESTS(P_ABORT_SERVER, abort_server)
B2B_TESTS(P_HALF_CLOSE, half_close)
B2B_TESTS(P_UNREAD_CLOSE, unread_close)

#define B2B_UNIT(name)                                                                          \
	cmocka_unit_test(test_##name##_clean), cmocka_unit_test(test_##name##_loss1),           \
		cmocka_unit_test(test_##name##_rough)

/*
 * Regression tests: the smallest lifecycles found that broke the stack, one
 * per bug, each with what it showed (the trace: CODA_B2B_REPRO=... with the
 * same CODA_B2B_* settings). Each ran red against the stack that had the bug.
 */
struct repro_case {
	enum pattern pat;
	enum link_kind lk;
	uint64_t seed;
	uint32_t msl_ms;
	bool accept_in_event, no_zero_window;
};

static void
run_repro(const struct repro_case *rc)
{
	struct b2b *b = b2b_alloc();
	bool saved_aie = accept_in_event, saved_nzw = no_zero_window, ok;

	accept_in_event = rc->accept_in_event;
	no_zero_window = rc->no_zero_window;
	ok = lifecycle(b, rc->pat, rc->lk, rc->seed, rc->msl_ms != 0 ? rc->msl_ms : MSL_MS);
	accept_in_event = saved_aie;
	no_zero_window = saved_nzw;
	if (!ok) {
		fprintf(stderr, "# FAILED: %s\n", b->msg);
		b2b_print(b, stderr, trace_lines);
	}
	b2b_release(b);
	if (!ok)
		fail_msg("%s:%s:%" PRIu64 " failed", pattern_names[rc->pat], links[rc->lk].name,
			 rc->seed);
}

/*
 * Data in the segment after the handshake's ACK reached an established
 * connection that waited in the accept queue, and was taken for "new data
 * after close()" (RFC 1122 4.2.2.13): RST, and the connection was dropped
 * before the application could accept it. Data may arrive before accept().
 */
static void
test_repro_data_before_accept(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_CLIENT_CLOSE, LINK_CLEAN, 117, 0, false, false});
}

/*
 * A timer left behind: after B's orphan went FIN-WAIT-2 (FIN-WAIT-2 timer
 * armed, 60 s) and then TIME-WAIT (timer cancelled), and TIME-WAIT expired
 * (MSL 1 s), coda_tcp_next_timer() still says +60 s: the wheel cancels
 * lazily and coda_wheel_next_expiry() reports the cancelled entry's slot,
 * although no timer is pending (coda_tcp_next_timer(): "UINT64_MAX if none").
 */
static void
test_repro_next_timer_after_cancel(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_SERVER_CLOSE, LINK_CLEAN, 181, 1000, false, false});
}

/*
 * After retransmission timeouts on both sides (go back to SND.UNA), each
 * side sent its ACKs with SEQ = the rewound SND.NXT, below the peer's
 * RCV.NXT: unacceptable (RFC 9293 3.10.7.4, first check), so their ACK
 * fields were never processed, and both retransmitted data the other had
 * long acknowledged until the user timeout (TIMEOUT on both, not ABORTED
 * and RESET). BSD sends a data-less segment with SND.MAX for this reason.
 */
static void
test_repro_ack_seq_after_rto(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_ABORT_CLIENT, LINK_LOSS1, 1090, 0, true, true});
}

/*
 * A zero-window probe carried the next byte at SND.NXT without counting it
 * as sent (SND.NXT and SND.MAX unchanged). The peer's window had opened,
 * it took the byte and acknowledged it; from then on every segment of the
 * peer acknowledged "data not sent yet" (RFC 5961 5.2) and was dropped with
 * its data: the connection wedged until the user timeout.
 */
static void
test_repro_zero_window_probe(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_ABORT_SERVER, LINK_LOSS1, 335, 0, false, false});
}

/*
 * Fast retransmit went back N (SND.NXT = SND.UNA, the whole window again)
 * with the window inflated per duplicate ACK; each resent duplicate drew
 * another duplicate ACK from the receiver: more than 8192 segments in
 * flight within 0.2 s. RFC 5681 3.2 and RFC 6582 3.2 retransmit the one
 * segment at SND.UNA.
 */
static void
test_repro_fast_retransmit_storm(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_UNREAD_CLOSE, LINK_LOSS1, 692, 0, true, true});
}

/*
 * Fast retransmit (tcp_retransmit_one()) sent a full MSS from SND.UNA when
 * less had been sent: 152 bytes beyond SND.MAX, and beyond the peer's
 * window, with SND.MAX left as it was. The peer took them (its window had
 * opened) and acknowledged them; B then dropped every segment of A as an
 * ACK of data not sent yet (RFC 5961 5.2), until the user timeout.
 */
static void
test_repro_fast_retransmit_past_snd_max(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_SIMULTANEOUS, LINK_ROUGH, 7000032, 0, false, false});
}

/*
 * A's zero-window probe (byte 10337, now counted in SND.NXT) was lost; A
 * went on sending when the window opened, and its first retransmission
 * timeout ended the connection at once with TIMEOUT, 0.97 s into it: the
 * probe left the R2 clock (rtx_start) at 0, so now - rtx_start passed the
 * 100 s user timeout.
 */
static void
test_repro_user_timeout_after_probe(void **state)
{
	(void)state;
	run_repro(&(struct repro_case){P_SERVER_CLOSE, LINK_ROUGH, 7000244, 0, false, false});
}

/* CODA_B2B_REPRO=pattern:link:seed: one lifecycle, its whole trace. */
static int
repro(const char *spec)
{
	char pat[32], lk[32];
	unsigned long long seed;
	uint64_t scan = env_u64("CODA_B2B_SCAN", 0);
	uint32_t msl_ms = (uint32_t)env_u64("CODA_B2B_MSL", MSL_MS);
	int p = -1, l = -1;
	struct b2b *b;
	bool ok;

	if (sscanf(spec, "%31[^:]:%31[^:]:%llu", pat, lk, &seed) != 3) {
		fprintf(stderr, "CODA_B2B_REPRO=pattern:link:seed\n");
		return 2;
	}
	for (int i = 0; i < P__COUNT; i++)
		if (strcmp(pat, pattern_names[i]) == 0)
			p = i;
	for (int i = 0; i < LINK__COUNT; i++)
		if (strcmp(lk, links[i].name) == 0)
			l = i;
	if (p < 0 || l < 0) {
		fprintf(stderr, "unknown pattern or link\n");
		return 2;
	}
	b = b2b_alloc();
	if (scan > 0) {
		/* Print every failure of seeds seed .. seed + scan - 1, with its segment count. */
		for (uint64_t i = 0; i < scan; i++)
			if (!lifecycle(b, (enum pattern)p, (enum link_kind)l, seed + i, msl_ms))
				printf("%llu %" PRIu64 " %s\n", seed + i, b->tx_segs, b->msg);
		b2b_release(b);
		return 0;
	}
	ok = lifecycle(b, (enum pattern)p, (enum link_kind)l, seed, msl_ms);
	b2b_print(b, stdout, env_u64("CODA_B2B_TRACE", TRACE_RECS));
	printf("# %s%s\n", ok ? "PASSED" : "FAILED: ", ok ? "" : b->msg);
	b2b_release(b);
	return ok ? 0 : 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		B2B_UNIT(client_close), B2B_UNIT(server_close), B2B_UNIT(simultaneous),
		B2B_UNIT(abort_client), B2B_UNIT(abort_server), B2B_UNIT(half_close),
		B2B_UNIT(unread_close),
		cmocka_unit_test(test_repro_data_before_accept),
		cmocka_unit_test(test_repro_next_timer_after_cancel),
		cmocka_unit_test(test_repro_ack_seq_after_rto),
		cmocka_unit_test(test_repro_zero_window_probe),
		cmocka_unit_test(test_repro_fast_retransmit_storm),
		cmocka_unit_test(test_repro_fast_retransmit_past_snd_max),
		cmocka_unit_test(test_repro_user_timeout_after_probe),
	};
	const char *spec = getenv("CODA_B2B_REPRO");

	trace_lines = (unsigned int)env_u64("CODA_B2B_TRACE", 300);
	accept_in_event = env_u64("CODA_B2B_ACCEPT_IN_EVENT", 0) != 0;
	lax_timers = env_u64("CODA_B2B_LAX_TIMERS", 0) != 0;
	no_zero_window = env_u64("CODA_B2B_NO_ZERO_WINDOW", 0) != 0;
	signal(SIGABRT, on_abort);
	if (spec != NULL && *spec != '\0')
		return repro(spec);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
