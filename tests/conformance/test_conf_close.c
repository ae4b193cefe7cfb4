/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conformance tests of connection termination: CASES.md sections A (active
 * close), B (passive close), C (simultaneous close), D (half-close), I (FIN
 * retransmission and closing timeouts), J (sequence-space edges at close)
 * and K (what the application is told). Each test is one case, or one
 * starting state of a case, named test_<case>_<segment or call>_<state>,
 * and reads like the trace in CASES.md: SEND() is the testbench (TB),
 * EXPECT_SENT() what the stack (DUT) must emit, EXPECT_STATE() the state
 * the connection table reports.
 *
 * Shorthands as in CASES.md §0 and tcp_harness.h: S = SND.NXT when the
 * case starts (our FIN occupies S), R = RCV.NXT (after the recipes that
 * take a peer FIN, R is already past it), W = RCV.WND.
 *
 * Timers: the wheel never fires early and fires at most 8/63 of the delay
 * late (coda_wheel.h), so a timer of d ms is checked as "nothing before d,
 * something by d + tol(d)". Before an RTT sample the RTO is rto_initial;
 * the handshake may give one (RFC 6298 allows it), after which the RTO is
 * rto_min; tests that time retransmissions exactly set both to 1000 ms.
 *
 * Policy choices pinned here (DESIGN.md §5, coda_tcp.h), each stated again
 * at its test:
 *   - B4: either ACK then FIN, or one FIN|ACK (both accepted, as CASES.md says).
 *   - B6: a duplicate ACK in LAST-ACK draws nothing (Linux; "can be ignored").
 *   - C1: the crossing FIN is answered by a pure ACK or a FIN|ACK (both).
 *   - D3: after shutdown(RD) data is still ACKed and dropped unread (coda_tcp.h).
 *   - I4: giving up at R2 (user_timeout_ms) sends nothing (RFC 9293 §3.10.8
 *     USER TIMEOUT: "delete the TCB"; Linux), not smoltcp's RST.
 *   - I5: at the orphaned FIN-WAIT-2 timeout either nothing or one RST
 *     seq=S+1 is sent (both accepted); the timer runs from close() or FIN-WAIT-2
 *     entry, whichever is later; a half-closed FIN-WAIT-2 never times out.
 *   - J1: a bare FIN with a zero receive window is accepted (Linux, smoltcp).
 *   - K2: data queued before an RST is read first, then -ECONNRESET, then 0.
 *   - K1/K3/I4: a pending error (-ECONNRESET, -ETIMEDOUT) is reported once per
 *     socket, by whichever of recv()/send() comes first (POSIX so_error);
 *     afterwards recv() gives 0 and send() -EPIPE.
 *   - A9: the TSval clock ticks once per ms (RFC 7323 §5.4 allows 1 ms to 1 s).
 */

#include <errno.h>

#include "tcp_harness.h"

/* ------------------------------------------------------------------ */
/* Helpers the harness lacks.                                          */

/* The most a wheel timer of @p d ms may fire late (coda_wheel.h: under 8/63 of d). */
static uint64_t
tol(uint64_t d)
{
	return d / 7 + 1;
}

/* Whether the DUT sent something not yet read. */
static bool
pending(const struct th *t)
{
	return t->rd_out != t->n_out;
}

/*
 * Let time pass, timer by timer, until the DUT sends something; fail if it
 * sends nothing within @p limit ms. Returns the ms that passed.
 */
static uint64_t
advance_until_sent(struct th *t, uint64_t limit, const char *file, int line)
{
	uint64_t start = t->now, next, step;

	while (!pending(t)) {
		next = coda_tcp_next_timer(t->s);
		if (next == UINT64_MAX || next > start + limit)
			fail_msg("%s:%d: the DUT sent nothing within %llu ms", file, line,
				 (unsigned long long)limit);
		step = next > t->now ? next - t->now : 1;
		ADVANCE(t, step);
	}
	return t->now - start;
}

#define ADVANCE_UNTIL_SENT(t, limit) advance_until_sent((t), (limit), __FILE__, __LINE__)

/* An ACK from the DUT, now or when its delayed-ACK timer fires. */
static struct th_out *
expect_ack_soon(struct th *t, uint32_t seq, uint32_t ack, int line)
{
	if (!pending(t))
		ADVANCE(t, t->conf.delayed_ack_ms);
	return EXPECT_SENT_AT(t, line, .flags = TCP_ACK, .seq = seq, .ack = ack);
}

#define EXPECT_ACK_SOON(t, seq, ack) expect_ack_soon((t), (seq), (ack), __LINE__)

/*
 * Let @p ms pass, timer by timer; every segment the DUT sends meanwhile
 * must be its FIN again (F. seq=@p seq ack=@p ack). Stops early once the
 * connection is in state @p stop (-1: never). Returns the FINs seen.
 */
static unsigned int
advance_fin_retx(struct th *t, uint64_t ms, uint32_t seq, uint32_t ack, int stop, const char *file,
		 int line)
{
	uint64_t end = t->now + ms, next, step;
	unsigned int n = 0;
	struct th_out *o;
	char fl[9];

	for (;;) {
		while ((o = th_next(t)) != NULL) {
			th_flags_str(o->seg.flags, fl);
			if (o->seg.flags != (TCP_FIN | TCP_ACK) || o->seg.seq != seq ||
			    o->seg.ack != ack || o->seg.payload_len != 0)
				fail_msg("%s:%d: at +%llu ms the DUT sent [%s] seq=%u ack=%u len=%u, "
					 "expected only its FIN again, F. seq=%u ack=%u",
					 file, line, (unsigned long long)(t->now), fl, o->seg.seq,
					 o->seg.ack, o->seg.payload_len, seq, ack);
			n++;
		}
		if (stop >= 0 && th_state(t) == (enum coda_tcp_state)stop)
			break;
		if (t->now >= end)
			break;
		next = coda_tcp_next_timer(t->s);
		if (next == UINT64_MAX || next > end)
			step = end - t->now;
		else
			step = next > t->now ? next - t->now : 1;
		ADVANCE(t, step);
	}
	return n;
}

#define ADVANCE_FIN_RETX(t, ms, seq, ack, stop)                                                \
	advance_fin_retx((t), (ms), (seq), (ack), (stop), __FILE__, __LINE__)

/* Events @p ev on @p sock among those recorded from index @p from on (kept, not consumed). */
static unsigned int
ev_count_since(const struct th *t, unsigned int from, int sock, enum coda_tcp_event ev)
{
	unsigned int i, n = 0;

	if (t->n_ev - from > TH_MAX_EV)
		from = t->n_ev - TH_MAX_EV;
	for (i = from; i != t->n_ev; i++)
		if (t->ev[i % TH_MAX_EV].sock == sock && t->ev[i % TH_MAX_EV].ev == ev)
			n++;
	return n;
}

static unsigned int
ev_count(const struct th *t, int sock, enum coda_tcp_event ev)
{
	return ev_count_since(t, 0, sock, ev);
}

/* The TB's payload pattern (tcp_harness.h): the byte at sequence number x is 'a' + x % 26. */
static void
assert_tb_pattern(const uint8_t *buf, uint32_t seq, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != (uint8_t)('a' + (seq + i) % 26))
			fail_msg("byte %u of data from seq %u: got 0x%02x, expected '%c'", i, seq,
				 buf[i], 'a' + (seq + i) % 26);
}

static int32_t
app_recv(struct th *t, void *buf, uint32_t len)
{
	return coda_tcp_recv(t->s, t->sock, buf, len, t->now);
}

static int32_t
app_send(struct th *t, const void *buf, uint32_t len)
{
	return coda_tcp_send(t->s, t->sock, buf, len, t->now);
}

/* Application data with a pattern of its own (distinct from the TB's). */
static uint8_t app_data[16384];

static void
app_data_init(void)
{
	uint32_t i;

	for (i = 0; i < sizeof(app_data); i++)
		app_data[i] = (uint8_t)(i * 7 + 3);
}

/*
 * The TB's receiver: app_data[0 .. n) sent from sequence number base, then
 * (if the app closed) a FIN at base + n.
 */
struct rx {
	uint32_t base; /* sequence number of app_data[0] */
	uint32_t n;    /* bytes the application sent */
	uint32_t nxt;  /* next sequence number the TB expects */
	uint32_t ack;  /* the ack field every segment must carry */
	bool fin;      /* the FIN has arrived */
};

/*
 * Take every segment the DUT sent: each in order (no gap, no overlap), with
 * the application's bytes, the FIN only right after the last byte (RFC 9293
 * §3.10.4: "Queue this until all preceding SENDs have been segmentized").
 */
static void
rx_take(struct th *t, struct rx *r, const char *file, int line)
{
	struct th_out *o;
	uint8_t f;
	char fl[9];

	while ((o = th_next(t)) != NULL) {
		f = o->seg.flags & (uint8_t)~TCP_PSH;
		th_flags_str(o->seg.flags, fl);
		if ((f != TCP_ACK && f != (TCP_ACK | TCP_FIN)) || o->seg.seq != r->nxt ||
		    o->seg.ack != r->ack || r->fin)
			fail_msg("%s:%d: the DUT sent [%s] seq=%u ack=%u len=%u; expected data or "
				 "FIN at seq=%u ack=%u%s",
				 file, line, fl, o->seg.seq, o->seg.ack, o->seg.payload_len, r->nxt,
				 r->ack, r->fin ? " (after its FIN: nothing)" : "");
		if (o->seg.seq - r->base + o->seg.payload_len > r->n)
			fail_msg("%s:%d: segment seq=%u len=%u runs past the %u bytes sent", file,
				 line, o->seg.seq, o->seg.payload_len, r->n);
		if (memcmp(o->seg.payload, app_data + (o->seg.seq - r->base),
			   o->seg.payload_len) != 0)
			fail_msg("%s:%d: segment seq=%u len=%u does not carry the bytes the "
				 "application sent",
				 file, line, o->seg.seq, o->seg.payload_len);
		r->nxt += o->seg.payload_len;
		if (f & TCP_FIN) {
			if (r->nxt != r->base + r->n)
				fail_msg("%s:%d: FIN at seq=%u before all data (the last byte is "
					 "at %u)",
					 file, line, r->nxt, r->base + r->n - 1);
			r->fin = true;
		}
	}
}

#define RX_TAKE(t, r) rx_take((t), (r), __FILE__, __LINE__)

/*
 * Take segments, ACKing each flight (and letting timers run when the DUT
 * waits), until all the data and, if @p want_fin, the FIN have arrived.
 * The FIN itself is not ACKed here.
 */
static void
rx_all(struct th *t, struct rx *r, bool want_fin, const char *file, int line)
{
	unsigned int rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		rx_take(t, r, file, line);
		if (want_fin ? r->fin : r->nxt == r->base + r->n)
			return;
		SEND(t, .flags = TCP_ACK, .seq = r->ack, .ack = r->nxt);
		if (!pending(t))
			advance_until_sent(t, t->conf.rto_max_ms * 2, file, line);
	}
	fail_msg("%s:%d: the transfer did not end", file, line);
}

#define RX_ALL(t, r, want_fin) rx_all((t), (r), (want_fin), __FILE__, __LINE__)

/*
 * The connection is in TIME-WAIT with a full 2 MSL ahead; nothing is sent
 * while it lasts or when it ends, and it ends no earlier than 2 MSL.
 */
static void
expect_time_wait_2msl(struct th *t, const char *file, int line)
{
	uint64_t msl2 = 2 * (uint64_t)t->conf.msl_ms, left = 0;
	enum coda_tcp_state st;

	st = coda_tcp_lookup(t->s, &t->key, t->now, &left);
	if (st != CODA_TCP_S_TIME_WAIT)
		fail_msg("%s:%d: state %s, expected TIME-WAIT", file, line, coda_tcp_state_name(st));
	/* coda_tcp_lookup() tells when the wheel will end it: 2 MSL, rounded up to its granularity. */
	if (left < msl2 || left > msl2 + tol(msl2))
		fail_msg("%s:%d: TIME-WAIT ends in %llu ms, expected 2 MSL = %llu ms", file, line,
			 (unsigned long long)left, (unsigned long long)msl2);
	ADVANCE(t, msl2 - 1);
	th_expect_nothing(t, file, line);
	st = th_state(t);
	if (st != CODA_TCP_S_TIME_WAIT)
		fail_msg("%s:%d: state %s 1 ms before 2 MSL, expected TIME-WAIT", file, line,
			 coda_tcp_state_name(st));
	ADVANCE(t, 1 + tol(msl2));
	th_expect_nothing(t, file, line);
	st = th_state(t);
	if (st != CODA_TCP_S_CLOSED)
		fail_msg("%s:%d: state %s after 2 MSL, expected CLOSED", file, line,
			 coda_tcp_state_name(st));
}

#define EXPECT_TIME_WAIT_2MSL(t) expect_time_wait_2msl((t), __FILE__, __LINE__)

/* The DUT answers a segment for a connection it no longer has with <SEQ=SEG.ACK><CTL=RST>. */
#define EXPECT_NO_TCB(t, seq_, ack_)                                                            \
	do {                                                                                    \
		SEND(t, .flags = TCP_ACK, .seq = (seq_), .ack = (ack_));                        \
		EXPECT_SENT(t, .flags = TCP_RST, .seq = (ack_));                                \
		EXPECT_NOTHING(t);                                                              \
	} while (0)

static struct coda_tcp_stats
stats(struct th *t)
{
	struct coda_tcp_stats st;

	coda_tcp_stats(t->s, &st);
	return st;
}

/* LAST-ACK with the application still attached: CLOSE-WAIT + shutdown(WR) → > F. seq=S. */
static void
last_ack_attached(struct th *t)
{
	th_close_wait(t);
	SHUTDOWN(t, WR);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
}

/* TIME-WAIT with the application still attached: half-closed FIN-WAIT-2 + < F. (R past the FIN). */
static void
time_wait_attached(struct th *t)
{
	th_fin_wait_2(t, false);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	t->R++;
}

/* Exact retransmission timing: the RTO is 1000 ms with or without an RTT sample. */
static void
tweak_rto_1s(struct coda_tcp_conf *c)
{
	c->rto_min_ms = 1000;
	c->rto_initial_ms = 1000;
}

/* ------------------------------------------------------------------ */
/* A. Active close                                                     */

/* A1: close() → > F.; < . ack=S+1 → FIN-WAIT-2; < F. → > . and TIME-WAIT for 2 MSL. */
static void
test_A1_four_way_active_close(void **state)
{
	struct th th, *t = &th;
	struct coda_tcp_info info;
	int sock;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	sock = t->sock;
	CLOSE(t);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	/* close() gave the socket back: the connection goes on alone (H12). */
	assert_int_equal(coda_tcp_info(t->s, sock, &info), -EBADF);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);

	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	assert_int_equal(stats(t).tw_entered, 1);
	EXPECT_TIME_WAIT_2MSL(t);
	th_fini(t);
}

/* A1 from an active open: the side that connected closes first the same way. */
static void
test_A1_four_way_active_close_connected(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_estab_active(t);
	CLOSE(t);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_TIME_WAIT_2MSL(t);
	th_fini(t);
}

/*
 * A2: send(2 full segments) then close() at once: data, then the FIN at
 * S+N (alone or as FP.); all of it retransmitted until ACKed; < . ack=S+N
 * keeps FIN-WAIT-1, < . ack=S+N+1 → FIN-WAIT-2.
 */
static void
test_A2_fin_follows_queued_data_established(void **state)
{
	struct th th, *t = &th;
	const uint32_t n = 2 * 1460;
	struct rx r;
	struct th_out *o;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	assert_int_equal(app_send(t, app_data, n), n);
	CLOSE(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	/* Two full segments fit any initial window (RFC 5681: IW >= 2 SMSS). */
	r = (struct rx){.base = t->S, .n = n, .nxt = t->S, .ack = t->R};
	RX_TAKE(t, &r);
	assert_true(r.fin);

	/* Nothing ACKed: the RTO resends the oldest segment, and only it (cwnd = LW = 1 SMSS). */
	ADVANCE_UNTIL_SENT(t, t->conf.rto_initial_ms + tol(t->conf.rto_initial_ms));
	o = EXPECT_SENT(t, .seq = t->S, .ack = t->R, .len = 1460);
	assert_int_equal(o->seg.flags & ~TCP_PSH, TCP_ACK);
	assert_memory_equal(o->seg.payload, app_data, 1460);
	EXPECT_NOTHING(t);

	/* All data ACKed, not the FIN: still FIN-WAIT-1, and the FIN comes again. */
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n);
	EXPECT_STATE(t, FIN_WAIT_1);
	if (!pending(t))
		ADVANCE_UNTIL_SENT(t, 4 * t->conf.rto_initial_ms);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S + n, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 10000);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/*
 * A3: the TB's window is 6 bytes; send(12) and close(): only 6 bytes go
 * out and no FIN; when the window opens, the other 6 and the FIN.
 */
static void
test_A3_fin_held_back_by_window_established(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;
	struct rx r;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	/* A window update (RFC 9293 §3.10.7.4: SND.WL1 = SEG.SEQ, SND.WL2 =< SEG.ACK). */
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S, .win = 6);
	EXPECT_NOTHING(t);

	assert_int_equal(app_send(t, app_data, 12), 12);
	o = EXPECT_SENT(t, .seq = t->S, .ack = t->R, .len = 6);
	assert_int_equal(o->seg.flags & ~TCP_PSH, TCP_ACK);
	assert_memory_equal(o->seg.payload, app_data, 6);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t); /* the FIN waits behind 6 unsent bytes */
	EXPECT_STATE(t, FIN_WAIT_1);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 6, .win = 1000);
	r = (struct rx){.base = t->S, .n = 12, .nxt = t->S + 6, .ack = t->R};
	RX_TAKE(t, &r);
	assert_int_equal(r.nxt, t->S + 12);
	assert_true(r.fin);
	EXPECT_STATE(t, FIN_WAIT_1);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 12, .win = 1000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 13, .win = 1000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	th_fini(t);
}

/*
 * A4: data+FIN outstanding, FIN at S+N. < . ack=S+N (not the FIN) → stay
 * FIN-WAIT-1, the FIN is retransmitted on RTO (the timer restarted by the
 * ACK, RFC 6298 5.3); < . ack=S+N+1 → FIN-WAIT-2.
 */
static void
test_A4_partial_ack_fin_wait_1(void **state)
{
	struct th th, *t = &th;
	const uint32_t n = 100;
	struct rx r;
	uint64_t e;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	assert_int_equal(app_send(t, app_data, n), n);
	CLOSE(t);
	r = (struct rx){.base = t->S, .n = n, .nxt = t->S, .ack = t->R};
	RX_TAKE(t, &r);
	assert_true(r.fin);
	EXPECT_STATE(t, FIN_WAIT_1);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);

	e = ADVANCE_UNTIL_SENT(t, t->conf.rto_initial_ms + tol(t->conf.rto_initial_ms));
	assert_true(e >= t->conf.rto_min_ms);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S + n, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	th_fini(t);
}

/* A5: < F. seq=R ack=S+1 in FIN-WAIT-1 (acks our FIN, carries theirs) → > . and TIME-WAIT. */
static void
test_A5_fin_ack_fin_wait_1(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_fin_wait_1(t, true);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	EXPECT_TIME_WAIT_2MSL(t);
	th_fini(t);
}

/*
 * A5 half-closed: the application still holds the socket. It sees EOF,
 * send() fails with EPIPE, and the connection ends NORMAL.
 */
static void
test_A5_fin_ack_fin_wait_1_half_closed(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_fin_wait_1(t, false);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	EXPECT_NOTHING(t);
	assert_true(th_info(t).close_reason == CODA_TCP_CLOSE_NONE ||
		    th_info(t).close_reason == CODA_TCP_CLOSE_NORMAL);

	EXPECT_TIME_WAIT_2MSL(t);
	assert_int_equal(th_info(t).state, CODA_TCP_S_CLOSED);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_NORMAL);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	CLOSE(t);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/* A7: shutdown(WR) and close() again in FIN-WAIT-1 emit no second FIN; the first is retransmitted. */
static void
test_A7_close_again_fin_wait_1(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_rto_1s);
	th_fin_wait_1(t, false);
	assert_int_equal(coda_tcp_shutdown(t->s, t->sock, CODA_TCP_SHUT_WR, t->now), 0);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	/* The retransmission is the same FIN at S, never a new one at S+1. */
	ADVANCE_UNTIL_SENT(t, 1000 + tol(1000));
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	th_fini(t);
}

/* A7 in FIN-WAIT-2 (half-closed): shutdown(WR) and close() send nothing, ever. */
static void
test_A7_close_again_fin_wait_2(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_fin_wait_2(t, false);
	assert_int_equal(coda_tcp_shutdown(t->s, t->sock, CODA_TCP_SHUT_WR, t->now), 0);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 10000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	th_fini(t);
}

/* A7 in CLOSING: no second FIN; the retransmission is the FIN at S; < . ack=S+1 → TIME-WAIT. */
static void
test_A7_close_again_closing(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_rto_1s);
	th_closing(t, false);
	assert_int_equal(coda_tcp_shutdown(t->s, t->sock, CODA_TCP_SHUT_WR, t->now), 0);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);
	ADVANCE_UNTIL_SENT(t, 1000 + tol(1000));
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/* A7 in LAST-ACK: no second FIN; the retransmission is the FIN at S; < . ack=S+1 → CLOSED. */
static void
test_A7_close_again_last_ack(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_rto_1s);
	last_ack_attached(t);
	assert_int_equal(coda_tcp_shutdown(t->s, t->sock, CODA_TCP_SHUT_WR, t->now), 0);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	ADVANCE_UNTIL_SENT(t, 1000 + tol(1000));
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/*
 * A7 in TIME-WAIT (application attached): shutdown(WR) returns ok or
 * "not connected", close() ok; nothing is sent and TIME-WAIT stays.
 */
static void
test_A7_close_again_time_wait(void **state)
{
	struct th th, *t = &th;
	int rc;

	(void)state;
	th_init(t);
	time_wait_attached(t);
	rc = coda_tcp_shutdown(t->s, t->sock, CODA_TCP_SHUT_WR, t->now);
	assert_true(rc == 0 || rc == -ENOTCONN);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	ADVANCE(t, 1000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/* A7 after close(): the handle is gone, a second close()/shutdown() is -EBADF and sends nothing. */
static void
test_A7_close_again_orphan(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	CLOSE(t);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	assert_int_equal(coda_tcp_close(t->s, t->sock, t->now), -EBADF);
	assert_int_equal(coda_tcp_shutdown(t->s, t->sock, CODA_TCP_SHUT_WR, t->now), -EBADF);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_STATE(t, FIN_WAIT_2);
	assert_int_equal(coda_tcp_close(t->s, t->sock, t->now), -EBADF);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	th_fini(t);
}

/*
 * A8: close() in SYN-SENT sends no RST and deletes the TCB (no SYN
 * retransmission either); a later < S. ack=ISS+1 → > R seq=ISS+1.
 */
static void
test_A8_close_syn_sent(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;
	uint32_t iss;

	(void)state;
	th_init(t);
	t->sock = coda_tcp_connect(t->s, &t->key, t->now);
	assert_true(t->sock >= 0);
	o = EXPECT_SENT(t, .flags = TCP_SYN);
	iss = o->seg.seq;
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, SYN_SENT);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(stats(t).tx_rst, 0);
	ADVANCE(t, 3 * t->conf.rto_initial_ms);
	EXPECT_NOTHING(t);

	SEND(t, .flags = TCP_SYN | TCP_ACK, .seq = TH_TB_ISN, .ack = iss + 1, .mss = 1460);
	EXPECT_SENT(t, .flags = TCP_RST, .seq = iss + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/*
 * A9: timestamps negotiated, idle 1 s, close(): the FIN's TSval is fresh
 * (advanced by the 1 s, at coda's 1 ms per tick) and TSecr = TS.Recent.
 */
static void
test_A9_fin_timestamps_established(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;
	uint32_t ts_recent, dut_ts0, fin_ts;

	(void)state;
	th_init(t);
	th_estab_passive_opts(t, true, -1);
	assert_true(t->ts);
	ts_recent = t->tb_tsval; /* the TSval of the TB's last segment (the handshake ACK) */
	dut_ts0 = t->dut_tsval;	 /* the SYN-ACK's */
	ADVANCE(t, 1000);
	EXPECT_NOTHING(t);
	CLOSE(t);
	o = EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R, .ts = 1,
			.tsecr = ts_recent);
	fin_ts = o->seg.tsval;
	assert_int_equal(fin_ts - dut_ts0, 1000);
	EXPECT_NOTHING(t);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1, .ts = true, .tsval = t->tb_tsval,
	     .tsecr = fin_ts);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 10);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1, .ts = true,
	     .tsval = t->tb_tsval, .tsecr = fin_ts);
	o = EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1, .ts = 1,
			.tsecr = t->tb_tsval);
	assert_int_equal(o->seg.tsval - dut_ts0, 1010);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/* ------------------------------------------------------------------ */
/* B. Passive close                                                    */

/*
 * B1: < F. seq=R in ESTABLISHED → > . ack=R+1 at once (no delayed-ACK
 * stall), CLOSE-WAIT; the app is told (PEER_FIN) and reads EOF.
 */
static void
test_B1_fin_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_true(th_info(t).peer_fin);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/* B1 with data before the FIN: read() returns the data, then EOF; readable + peer-closed events. */
static void
test_B1_fin_after_data_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[256];
	struct th_out *o;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_ACK | TCP_PSH, .seq = t->R, .ack = t->S, .len = 100);
	/* The data may wait for the delayed ACK; the FIN must not. */
	o = th_next(t);
	if (o != NULL) {
		assert_int_equal(o->seg.flags, TCP_ACK);
		assert_int_equal(o->seg.ack, t->R + 100);
	}
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R + 100, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 101);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_true(ev_count(t, t->sock, CODA_TCP_EV_READABLE) >= 1);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_int_equal(th_info(t).readable, 100);

	assert_int_equal(app_recv(t, buf, sizeof(buf)), 100);
	assert_tb_pattern(buf, t->R, 100);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	th_fini(t);
}

/* B2: < FP. seq=R len=1000 → > . ack=R+1001; the app reads 1000 bytes, then EOF. */
static void
test_B2_fin_with_data_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[2048];

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_FIN | TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S, .len = 1000);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 1001);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 1000);
	assert_tb_pattern(buf, t->R, 1000);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	th_fini(t);
}

/*
 * B3: CLOSE-WAIT + close() → > F. (LAST-ACK); < . ack=S+1 → CLOSED with no
 * TIME-WAIT on the passive side; a later segment meets the no-TCB rule.
 */
static void
test_B3_ack_last_ack(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_last_ack(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(stats(t).tw_entered, 0);
	assert_int_equal(stats(t).closed[CODA_TCP_CLOSE_NORMAL], 1);
	ADVANCE(t, 5000);
	EXPECT_NOTHING(t);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
	th_fini(t);
}

/* B3 with the app attached (shutdown(WR) in CLOSE-WAIT): it is told CLOSED, reason NORMAL. */
static void
test_B3_ack_last_ack_attached(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	last_ack_attached(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(stats(t).tw_entered, 0);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	assert_int_equal(th_info(t).state, CODA_TCP_S_CLOSED);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_NORMAL);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
	th_fini(t);
}

/*
 * B4: < F. and close() at once (within the delayed-ACK window). Accepted:
 * > . ack=R+1 then > F. seq=S ack=R+1, or one > F. seq=S ack=R+1. The EOF
 * the app never read is no unread data: a FIN, not an RST. < . ack=S+1 →
 * CLOSED without TIME-WAIT.
 */
static void
test_B4_fin_then_close_established(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	CLOSE(t);
	o = EXPECT_SENT(t, .seq = t->S, .ack = t->R + 1);
	if (o->seg.flags == TCP_ACK)
		EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R + 1);
	else
		assert_int_equal(o->seg.flags, TCP_FIN | TCP_ACK);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	SEND(t, .flags = TCP_ACK, .seq = t->R + 1, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(stats(t).tw_entered, 0);
	assert_int_equal(stats(t).tx_rst, 0);
	th_fini(t);
}

/* B5: send(3) in CLOSE-WAIT → > P. seq=S ack=R len=3 (PSH: RFC 1122 4.2.2.2, last buffered segment). */
static void
test_B5_send_close_wait(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;

	(void)state;
	th_init(t);
	th_close_wait(t);
	assert_int_equal(app_send(t, "abc", 3), 3);
	o = EXPECT_SENT(t, .flags = TCP_PSH | TCP_ACK, .seq = t->S, .ack = t->R, .len = 3);
	assert_memory_equal(o->seg.payload, "abc", 3);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 3);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_int_equal(th_info(t).snd_una, t->S + 3);
	th_fini(t);
}

/*
 * B6: < . seq=R ack=S (a duplicate, not covering our FIN) in LAST-ACK:
 * stay LAST-ACK. Policy: silence ("can be ignored", Linux), no challenge
 * ACK. The FIN then comes again on RTO.
 */
static void
test_B6_dup_ack_last_ack(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_last_ack(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	ADVANCE_UNTIL_SENT(t, t->conf.rto_initial_ms + tol(t->conf.rto_initial_ms));
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/* B7: the peer's FIN again in CLOSE-WAIT (seq=R-1, below RCV.NXT) → > . seq=S ack=R. */
static void
test_B7_old_fin_close_wait(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_close_wait(t);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R - 1, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	th_fini(t);
}

/* B7 in LAST-ACK: the old FIN → > . seq=SND.NXT=S+1 ack=R; still LAST-ACK. */
static void
test_B7_old_fin_last_ack(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_last_ack(t);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R - 1, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/* ------------------------------------------------------------------ */
/* C. Simultaneous close                                               */

/*
 * The crossing FIN < F. seq=R ack=S in FIN-WAIT-1: accepted answers are a
 * pure ACK > . seq=S+1 ack=R+1 (Linux) or our FIN again > F. seq=S
 * ack=R+1 (FreeBSD).
 */
static void
expect_ack_of_crossing_fin(struct th *t, int line)
{
	struct th_out *o = EXPECT_SENT_AT(t, line, .ack = t->R + 1);

	if (o->seg.flags == TCP_ACK && o->seg.seq == t->S + 1)
		return;
	if (o->seg.flags == (TCP_FIN | TCP_ACK) && o->seg.seq == t->S)
		return;
	fail_msg("%s:%d: the crossing FIN drew flags 0x%02x seq=%u; expected . seq=%u or F. "
		 "seq=%u",
		 __FILE__, line, o->seg.flags, o->seg.seq, t->S + 1, t->S);
}

/* C1: FINs cross → CLOSING; < . ack=S+1 → TIME-WAIT for 2 MSL. */
static void
test_C1_fin_fin_wait_1(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_fin_wait_1(t, true);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	expect_ack_of_crossing_fin(t, __LINE__);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);
	SEND(t, .flags = TCP_ACK, .seq = t->R + 1, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	EXPECT_TIME_WAIT_2MSL(t);
	th_fini(t);
}

/* C1 half-closed: the app sees EOF in CLOSING, and NORMAL once it is over. */
static void
test_C1_fin_fin_wait_1_half_closed(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_fin_wait_1(t, false);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	expect_ack_of_crossing_fin(t, __LINE__);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	SEND(t, .flags = TCP_ACK, .seq = t->R + 1, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_TIME_WAIT_2MSL(t);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_NORMAL);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	th_fini(t);
}

/*
 * C3: CLOSING, the TB silent → > F. seq=S retransmitted (same seq) on
 * RTO; < . ack=S (does not cover the FIN) → ignored, stay CLOSING; the FIN
 * keeps coming until < . ack=S+1 → TIME-WAIT.
 */
static void
test_C3_old_ack_closing(void **state)
{
	struct th th, *t = &th;
	uint64_t e;

	(void)state;
	th_init(t);
	th_closing(t, true);
	e = ADVANCE_UNTIL_SENT(t, t->conf.rto_initial_ms + tol(t->conf.rto_initial_ms));
	assert_true(e >= t->conf.rto_min_ms);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);

	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);

	ADVANCE_UNTIL_SENT(t, 4 * t->conf.rto_initial_ms);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/* ------------------------------------------------------------------ */
/* D. Half-close                                                       */

/*
 * D1: shutdown(WR) → FIN-WAIT-2 (half-closed); data still flows in and is
 * ACKed and read; send() is -EPIPE; the peer's FIN → > . and TIME-WAIT.
 */
static void
test_D1_data_fin_wait_2_half_closed(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[2048];

	(void)state;
	th_init(t);
	th_fin_wait_2(t, false);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1, .len = 1000);
	EXPECT_ACK_SOON(t, t->S + 1, t->R + 1000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	assert_true(ev_count(t, t->sock, CODA_TCP_EV_READABLE) >= 1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 1000);
	assert_tb_pattern(buf, t->R, 1000);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	EXPECT_NOTHING(t);

	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R + 1000, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1001);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	EXPECT_TIME_WAIT_2MSL(t);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_NORMAL);
	th_fini(t);
}

/* D1 in FIN-WAIT-1 (our FIN not yet ACKed): data is ACKed (seq=S+1) and read. */
static void
test_D1_data_fin_wait_1_half_closed(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[2048];

	(void)state;
	th_init(t);
	th_fin_wait_1(t, false);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S, .len = 1000);
	EXPECT_ACK_SOON(t, t->S + 1, t->R + 1000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 1000);
	assert_tb_pattern(buf, t->R, 1000);

	SEND(t, .flags = TCP_ACK, .seq = t->R + 1000, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R + 1000, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1001);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/*
 * D2: in CLOSE-WAIT the app sends 10 KB across several segments; the TB
 * ACKs; sends never fail; then close() → the FIN right after the last byte.
 */
static void
test_D2_send_close_wait(void **state)
{
	struct th th, *t = &th;
	const uint32_t n = 10240;
	struct rx r;

	(void)state;
	th_init(t);
	th_close_wait(t);
	assert_int_equal(app_send(t, app_data, n), n);
	r = (struct rx){.base = t->S, .n = n, .nxt = t->S, .ack = t->R};
	RX_ALL(t, &r, false);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_int_equal(th_info(t).error, 0);
	assert_int_equal(th_info(t).snd_una, t->S + n);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 0);

	CLOSE(t);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S + n, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/* D2 with close() right after send(): the FIN follows the 10 KB, never before. */
static void
test_D2_send_then_close_close_wait(void **state)
{
	struct th th, *t = &th;
	const uint32_t n = 10240;
	struct rx r;

	(void)state;
	th_init(t);
	th_close_wait(t);
	assert_int_equal(app_send(t, app_data, n), n);
	CLOSE(t);
	/*
	 * RFC 9293 §3.10.4 CLOSE-WAIT: "Queue this request until all preceding
	 * SENDs have been segmentized; then send a FIN segment, enter LAST-ACK
	 * state". Linux enters LAST-ACK at once; either is fine.
	 */
	assert_true(th_state(t) == CODA_TCP_S_CLOSE_WAIT || th_state(t) == CODA_TCP_S_LAST_ACK);
	r = (struct rx){.base = t->S, .n = n, .nxt = t->S, .ack = t->R};
	RX_ALL(t, &r, true);
	EXPECT_STATE(t, LAST_ACK);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/*
 * D3: shutdown(RD) sends nothing and read() returns 0; writing still
 * works. Policy (coda_tcp.h): later data is still ACKed and dropped unread
 * (Linux too ACKs it; no RST).
 */
static void
test_D3_data_after_shutdown_rd_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[256];
	struct th_out *o;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SHUTDOWN(t, RD);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, ESTABLISHED);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);

	assert_int_equal(app_send(t, "hello", 5), 5);
	o = EXPECT_SENT(t, .flags = TCP_PSH | TCP_ACK, .seq = t->S, .ack = t->R, .len = 5);
	assert_memory_equal(o->seg.payload, "hello", 5);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 5);
	EXPECT_NOTHING(t);

	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S + 5, .len = 100);
	EXPECT_ACK_SOON(t, t->S + 5, t->R + 100);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, ESTABLISHED);
	assert_int_equal(th_info(t).readable, 0);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(stats(t).tx_rst, 0);
	th_fini(t);
}

/*
 * D4: shutdown(RDWR) → > F. seq=S; read() = 0; write() = -EPIPE; close()
 * sends nothing new; < F. → > . and TIME-WAIT.
 */
static void
test_D4_shutdown_rdwr_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SHUTDOWN(t, RDWR);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_TIME_WAIT_2MSL(t);
	th_fini(t);
}

/* ------------------------------------------------------------------ */
/* I. FIN retransmission and closing timeouts                          */

/*
 * I1: no ACK for the FIN → the same FIN at RTO (nothing before 1000 ms),
 * then backed off (2 s, 4 s: RFC 6298 5.5); < . ack=S+1 stops it.
 */
static void
test_I1_fin_retransmit_backoff_fin_wait_1(void **state)
{
	struct th th, *t = &th;
	uint64_t e, rto = 1000;
	int i;

	(void)state;
	th_init_conf(t, tweak_rto_1s);
	th_fin_wait_1(t, true);
	for (i = 0; i < 3; i++, rto *= 2) {
		e = ADVANCE_UNTIL_SENT(t, rto + tol(rto));
		if (e < rto)
			fail_msg("retransmission %d after %llu ms, before the RTO of %llu ms", i + 1,
				 (unsigned long long)e, (unsigned long long)rto);
		EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
		EXPECT_NOTHING(t);
		EXPECT_STATE(t, FIN_WAIT_1);
	}
	assert_true(stats(t).retransmits >= 3);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 30000);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/* I1: the retransmitted FIN carries the current ACK (data arrived meanwhile, half-closed). */
static void
test_I1_fin_retransmit_current_ack_fin_wait_1(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[64];

	(void)state;
	th_init_conf(t, tweak_rto_1s);
	th_fin_wait_1(t, false);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S, .len = 10);
	EXPECT_ACK_SOON(t, t->S + 1, t->R + 10);
	EXPECT_NOTHING(t);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 10);
	ADVANCE_UNTIL_SENT(t, 1000 + tol(1000));
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R + 10);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R + 10, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	th_fini(t);
}

/* I2: LAST-ACK, the final ACK lost → > F. seq=S again; < . ack=S+1 → CLOSED; later data → > R. */
static void
test_I2_fin_retransmit_last_ack(void **state)
{
	struct th th, *t = &th;
	uint64_t e;

	(void)state;
	th_init(t);
	th_last_ack(t);
	e = ADVANCE_UNTIL_SENT(t, t->conf.rto_initial_ms + tol(t->conf.rto_initial_ms));
	assert_true(e >= t->conf.rto_min_ms);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S + 1, .len = 10);
	EXPECT_SENT(t, .flags = TCP_RST, .seq = t->S + 1);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/*
 * I3: two segments and the FIN lost. RTO → the first segment only
 * (cwnd = 1 SMSS, RFC 5681 §3.1); a partial ACK restarts the timer (RFC
 * 6298 5.3) and the rest and the FIN follow (at once, or no earlier than
 * an RTO after that ACK), possibly as FP.
 */
static void
test_I3_data_fin_retransmit_partial_ack_fin_wait_1(void **state)
{
	struct th th, *t = &th;
	const uint32_t n = 2 * 1460;
	struct th_out *o;
	struct rx r;
	uint64_t e;

	(void)state;
	th_init_conf(t, tweak_rto_1s);
	th_estab_passive(t);
	assert_int_equal(app_send(t, app_data, n), n);
	CLOSE(t);
	r = (struct rx){.base = t->S, .n = n, .nxt = t->S, .ack = t->R};
	RX_TAKE(t, &r);
	assert_true(r.fin);

	e = ADVANCE_UNTIL_SENT(t, 1000 + tol(1000));
	assert_true(e >= 1000);
	o = EXPECT_SENT(t, .seq = t->S, .ack = t->R, .len = 1460);
	assert_int_equal(o->seg.flags & ~TCP_PSH, TCP_ACK);
	EXPECT_NOTHING(t);

	/* The backed-off RTO (2 s) would fire 500 ms after this ACK if it were not restarted. */
	ADVANCE(t, 1500);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1460);
	if (!pending(t)) {
		e = ADVANCE_UNTIL_SENT(t, 4000 + tol(4000));
		if (e < t->conf.rto_min_ms)
			fail_msg("retransmission %llu ms after a partial ACK: timer not restarted",
				 (unsigned long long)e);
	}
	r = (struct rx){.base = t->S, .n = n, .nxt = t->S + 1460, .ack = t->R};
	RX_ALL(t, &r, true);
	EXPECT_STATE(t, FIN_WAIT_1);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + n + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 10000);
	EXPECT_NOTHING(t);
	th_fini(t);
}

#define I4_R2 10000u

static void
tweak_user_timeout(struct coda_tcp_conf *c)
{
	c->user_timeout_ms = I4_R2;
}

/*
 * I4: the TB silent; the FIN is retransmitted until R2 (user_timeout_ms)
 * and the connection gives up no earlier than R2 and no later than the
 * retransmission after it. Policy: it vanishes silently (RFC 9293 §3.10.8
 * USER TIMEOUT: "flush all queues ... delete the TCB"; Linux
 * TCP_USER_TIMEOUT), no RST. Any later segment meets the no-TCB rule.
 */
static void
give_up_silently(struct th *t, uint32_t fin_seq, uint32_t ack, enum coda_tcp_state st)
{
	uint64_t t0 = t->now;
	unsigned int n;

	n = ADVANCE_FIN_RETX(t, I4_R2 - 1, fin_seq, ack, -1);
	assert_true(n >= 1);
	if (th_state(t) != st)
		fail_msg("state %s before R2 passed, expected %s", coda_tcp_state_name(th_state(t)),
			 coda_tcp_state_name(st));
	ADVANCE_FIN_RETX(t, I4_R2 + 1 + tol(2 * I4_R2), fin_seq, ack, CODA_TCP_S_CLOSED);
	EXPECT_STATE(t, CLOSED);
	assert_true(t->now - t0 >= I4_R2);
	ADVANCE(t, 1000);
	EXPECT_NOTHING(t);
	assert_int_equal(stats(t).tx_rst, 0);
	assert_int_equal(stats(t).closed[CODA_TCP_CLOSE_TIMEOUT], 1);
}

static void
test_I4_user_timeout_fin_wait_1(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_user_timeout);
	th_fin_wait_1(t, true);
	give_up_silently(t, t->S, t->R, CODA_TCP_S_FIN_WAIT_1);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
	th_fini(t);
}

/* I4 with the app attached (shutdown(WR)): CLOSED event, TIMEOUT, -ETIMEDOUT once. */
static void
test_I4_user_timeout_fin_wait_1_half_closed(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init_conf(t, tweak_user_timeout);
	th_fin_wait_1(t, false);
	give_up_silently(t, t->S, t->R, CODA_TCP_S_FIN_WAIT_1);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	assert_int_equal(th_info(t).state, CODA_TCP_S_CLOSED);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_TIMEOUT);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
	th_fini(t);
}

static void
test_I4_user_timeout_closing(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_user_timeout);
	th_closing(t, true);
	give_up_silently(t, t->S, t->R, CODA_TCP_S_CLOSING);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
	th_fini(t);
}

static void
test_I4_user_timeout_last_ack(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_user_timeout);
	th_last_ack(t);
	give_up_silently(t, t->S, t->R, CODA_TCP_S_LAST_ACK);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
	th_fini(t);
}

#define I5_FW2 2000u

static void
tweak_fin_wait2(struct coda_tcp_conf *c)
{
	c->fin_wait2_timeout_ms = I5_FW2;
}

/*
 * The orphaned FIN-WAIT-2 ends @p timeout ms from now (not earlier, not
 * much later). At the end the DUT may send nothing or one RST seq=S+1
 * (both accepted); afterwards < . ack=S+1 → > R seq=S+1.
 */
static void
expect_fin_wait_2_ends(struct th *t, uint64_t timeout)
{
	struct th_out *o;

	ADVANCE(t, timeout - 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 1 + tol(timeout));
	EXPECT_STATE(t, CLOSED);
	o = th_next(t);
	if (o != NULL) {
		assert_true((o->seg.flags & ~TCP_ACK) == TCP_RST);
		assert_int_equal(o->seg.seq, t->S + 1);
	}
	EXPECT_NOTHING(t);
	assert_int_equal(stats(t).closed[CODA_TCP_CLOSE_TIMEOUT], 1);
	assert_int_equal(stats(t).tw_entered, 0);
	EXPECT_NO_TCB(t, t->R, t->S + 1);
}

/* I5: orphaned FIN-WAIT-2 (close()), timeout 2 s: gone after it. */
static void
test_I5_timeout_fin_wait_2_orphan(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_fin_wait2);
	th_fin_wait_2(t, true);
	expect_fin_wait_2_ends(t, I5_FW2);
	th_fini(t);
}

/* I5 with the default timeout: 60 s (DESIGN.md §5, Linux tcp_fin_timeout). */
static void
test_I5_default_timeout_fin_wait_2_orphan(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	assert_int_equal(t->conf.fin_wait2_timeout_ms, 60000);
	th_fin_wait_2(t, true);
	expect_fin_wait_2_ends(t, 60000);
	th_fini(t);
}

/* I5: half-closed FIN-WAIT-2 (shutdown(WR), app attached) never times out (RFC: FW2 forever). */
static void
test_I5_no_timeout_fin_wait_2_half_closed(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[64];

	(void)state;
	th_init_conf(t, tweak_fin_wait2);
	th_fin_wait_2(t, false);
	ADVANCE(t, 20 * I5_FW2);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	ADVANCE(t, 200000);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S + 1, .len = 10);
	EXPECT_ACK_SOON(t, t->S + 1, t->R + 10);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 10);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R + 10, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 11);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/*
 * I5: a half-closed FIN-WAIT-2 that the app then closes becomes an orphan;
 * its timeout runs from close(), not from the FIN-WAIT-2 entry (Linux
 * tcp_close(): the FIN-WAIT-2 timer is armed there).
 */
static void
test_I5_timeout_from_close_fin_wait_2(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init_conf(t, tweak_fin_wait2);
	th_fin_wait_2(t, false);
	ADVANCE(t, 5 * I5_FW2);
	EXPECT_STATE(t, FIN_WAIT_2);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	expect_fin_wait_2_ends(t, I5_FW2);
	th_fini(t);
}

/*
 * I6: close() in FIN-WAIT-2 with nothing left to send returns "ok" at once
 * while the TCB stays: the peer's FIN is still ACKed and leads to TIME-WAIT.
 */
static void
test_I6_close_fin_wait_2(void **state)
{
	struct th th, *t = &th;
	struct coda_tcp_info info;
	int sock;

	(void)state;
	th_init(t);
	th_fin_wait_2(t, false);
	sock = t->sock;
	assert_int_equal(th_info(t).unsent, 0);
	assert_int_equal(th_info(t).snd_una, t->S + 1);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	assert_int_equal(coda_tcp_info(t->s, sock, &info), -EBADF);
	ADVANCE(t, 1000);
	EXPECT_STATE(t, FIN_WAIT_2);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

/* ------------------------------------------------------------------ */
/* J. Sequence-space edges at close                                    */

static void
tweak_small_rcv_buf(struct coda_tcp_conf *c)
{
	c->rcv_buf = 4096;
}

/*
 * J1: the receive buffer full (W = 0, the app not reading); < F. seq=R →
 * policy: accepted, > . ack=R+1 win=0, CLOSE-WAIT (Linux, smoltcp). The
 * FIN again (now old) is re-ACKed. The app then reads everything and EOF.
 */
static void
test_J1_fin_zero_window_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[8192];
	struct th_out *o, *last = NULL;
	uint32_t w, off, chunk;

	(void)state;
	th_init_conf(t, tweak_small_rcv_buf);
	th_estab_passive(t);
	w = t->W;
	assert_true(w > 0 && w <= sizeof(buf));
	for (off = 0; off < w; off += chunk) {
		chunk = w - off < 1000 ? w - off : 1000;
		SEND(t, .flags = TCP_ACK, .seq = t->R + off, .ack = t->S, .len = chunk);
	}
	ADVANCE(t, t->conf.delayed_ack_ms);
	while ((o = th_next(t)) != NULL)
		last = o;
	assert_non_null(last);
	assert_int_equal(last->seg.flags, TCP_ACK);
	assert_int_equal(last->seg.ack, t->R + w);
	assert_int_equal(last->seg.wnd, 0);
	assert_int_equal(th_info(t).rcv_wnd, 0);
	t->R += w;

	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 1, .win = 0);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);

	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 1, .win = 0);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);

	assert_int_equal(app_recv(t, buf, sizeof(buf)), w);
	assert_tb_pattern(buf, t->R - w, w);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	th_fini(t);
}

/*
 * J3: < S → > S.; < F. seq=IRS+1 ack=ISS+1 completes the handshake and
 * closes → > . ack=IRS+2, CLOSE-WAIT; accept() returns it and read() = 0.
 */
static void
test_J3_fin_syn_received(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;
	uint8_t buf[16];
	uint32_t iss;

	(void)state;
	th_init(t);
	SEND(t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	o = EXPECT_SENT(t, .flags = TCP_SYN | TCP_ACK, .ack = TH_TB_ISN + 1);
	iss = o->seg.seq;
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, SYN_RECEIVED);

	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = TH_TB_ISN + 1, .ack = iss + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = iss + 1, .ack = TH_TB_ISN + 2);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	assert_true(ev_count(t, t->lsock, CODA_TCP_EV_ACCEPTED) >= 1);
	t->sock = coda_tcp_accept(t->s, t->lsock);
	assert_true(t->sock >= 0);
	assert_int_equal(th_info(t).state, CODA_TCP_S_CLOSE_WAIT);
	assert_true(th_info(t).peer_fin);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);

	CLOSE(t);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = iss + 1, .ack = TH_TB_ISN + 2);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	SEND(t, .flags = TCP_ACK, .seq = TH_TB_ISN + 2, .ack = iss + 2);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	th_fini(t);
}

/* ------------------------------------------------------------------ */
/* K. Application notification                                         */

/*
 * K1: data, then the peer's FIN: the data, then exactly one EOF (PEER_FIN
 * once, read() = 0 from then on), even when the FIN comes again; sending
 * is still allowed; the connection is not over (no CLOSED, reason NONE).
 */
static void
test_K1_fin_is_eof_once_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[64];
	struct th_out *o;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S, .len = 10);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R + 10, .ack = t->S);
	o = th_next(t);
	if (o != NULL && o->seg.ack == t->R + 10)
		o = th_next(t); /* the data's own ACK, if it was not delayed */
	assert_non_null(o);
	assert_int_equal(o->seg.flags, TCP_ACK);
	assert_int_equal(o->seg.ack, t->R + 11);
	EXPECT_NOTHING(t);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);

	/* The FIN again: re-ACKed, but no second EOF indication. */
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R + 10, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 11);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 1);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 0);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_NONE);

	assert_int_equal(app_recv(t, buf, sizeof(buf)), 10);
	assert_tb_pattern(buf, t->R, 10);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "ok", 2), 2);
	EXPECT_SENT(t, .flags = TCP_PSH | TCP_ACK, .seq = t->S, .ack = t->R + 11, .len = 2);
	th_fini(t);
}

/*
 * K1: after an exact RST (F1) the app gets an error, never a plain EOF
 * first: recv() = -ECONNRESET once, then 0; send() -EPIPE; CLOSED, RESET.
 */
static void
test_K1_rst_is_error_not_eof_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_RST, .seq = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_PEER_FIN), 0);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	assert_int_equal(th_info(t).state, CODA_TCP_S_CLOSED);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	CLOSE(t);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/*
 * K2: < P. len=5, ACKed, not read; < R seq=R+5. Policy (coda_tcp.h, Linux,
 * smoltcp): read() gives the 5 bytes, then -ECONNRESET, then 0.
 */
static void
test_K2_rst_with_queued_data_established(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[64];

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S, .len = 5);
	EXPECT_ACK_SOON(t, t->S, t->R + 5);
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_RST, .seq = t->R + 5);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 5);
	assert_tb_pattern(buf, t->R, 5);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	ADVANCE(t, 5000);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/* K2: close() of a reset socket with unread data sends nothing (an RST is never answered). */
static void
test_K2_close_after_rst_with_queued_data(void **state)
{
	struct th th, *t = &th;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = t->R, .ack = t->S, .len = 5);
	EXPECT_ACK_SOON(t, t->S, t->R + 5);
	SEND(t, .flags = TCP_RST, .seq = t->R + 5);
	EXPECT_NOTHING(t);
	CLOSE(t);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(stats(t).tx_rst, 0);
	th_fini(t);
}

/* K3: an RST in SYN-SENT: "connection refused" (REFUSED, -ECONNREFUSED). */
static void
test_K3_rst_syn_sent(void **state)
{
	struct th th, *t = &th;
	struct th_out *o;
	uint8_t buf[16];
	uint32_t iss;

	(void)state;
	th_init(t);
	t->sock = coda_tcp_connect(t->s, &t->key, t->now);
	assert_true(t->sock >= 0);
	o = EXPECT_SENT(t, .flags = TCP_SYN);
	iss = o->seg.seq;
	assert_int_equal(app_send(t, "x", 1), -ENOTCONN);
	SEND(t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = iss + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CONNECTED), 0);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_REFUSED);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), -ECONNREFUSED);
	ADVANCE(t, 3 * t->conf.rto_initial_ms);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/*
 * K3: an RST in CLOSE-WAIT: reason RESET. The error may read as Linux
 * gives it (send -EPIPE, recv 0: EOF was already seen) or as -ECONNRESET
 * once; never success.
 */
static void
test_K3_rst_close_wait(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];
	int32_t rc;

	(void)state;
	th_init(t);
	th_close_wait(t);
	SEND(t, .flags = TCP_RST, .seq = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(ev_count(t, t->sock, CODA_TCP_EV_CLOSED), 1);
	assert_int_equal(th_info(t).close_reason, CODA_TCP_CLOSE_RESET);
	rc = app_send(t, "x", 1);
	assert_true(rc == -EPIPE || rc == -ECONNRESET);
	rc = app_recv(t, buf, sizeof(buf));
	assert_true(rc == 0 || rc == -ECONNRESET);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	EXPECT_NOTHING(t);
	th_fini(t);
}

/*
 * K3: a local abort is no error to the application itself: the handle is
 * gone (-EBADF), no event arrives for it, the reason is counted ABORTED.
 */
static void
test_K3_abort_established(void **state)
{
	struct th th, *t = &th;
	struct coda_tcp_info info;
	uint8_t buf[16];
	unsigned int ev0;
	struct th_out *o;

	(void)state;
	th_init(t);
	th_estab_passive(t);
	ev0 = t->n_ev;
	ABORT(t);
	o = EXPECT_SENT(t, .seq = t->S);
	assert_true((o->seg.flags & ~TCP_ACK) == TCP_RST);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSED);
	assert_int_equal(t->n_ev - ev0, 0);
	assert_int_equal(coda_tcp_info(t->s, t->sock, &info), -EBADF);
	assert_int_equal(coda_tcp_recv(t->s, t->sock, buf, sizeof(buf), t->now), -EBADF);
	assert_int_equal(stats(t).closed[CODA_TCP_CLOSE_ABORTED], 1);
	assert_int_equal(stats(t).tw_entered, 0);
	th_fini(t);
}

/* K3: send() after shutdown(WR) is -EPIPE ("connection closing"), every time; reading goes on. */
static void
test_K3_send_after_shutdown_wr(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_estab_passive(t);
	SHUTDOWN(t, WR);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), -EAGAIN);
	EXPECT_NOTHING(t);
	assert_int_equal(th_info(t).error, 0);
	th_fini(t);
}

/* K3: recv() in CLOSING is 0 ("connection closing"). */
static void
test_K3_recv_closing(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	th_closing(t, false);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);
	th_fini(t);
}

/* K3: recv() in LAST-ACK is 0. */
static void
test_K3_recv_last_ack(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	last_ack_attached(t);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
	th_fini(t);
}

/* K3: recv() in TIME-WAIT is 0. */
static void
test_K3_recv_time_wait(void **state)
{
	struct th th, *t = &th;
	uint8_t buf[16];

	(void)state;
	th_init(t);
	time_wait_attached(t);
	assert_int_equal(app_recv(t, buf, sizeof(buf)), 0);
	assert_int_equal(app_send(t, "x", 1), -EPIPE);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	th_fini(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_A1_four_way_active_close),
		cmocka_unit_test(test_A1_four_way_active_close_connected),
		cmocka_unit_test(test_A2_fin_follows_queued_data_established),
		cmocka_unit_test(test_A3_fin_held_back_by_window_established),
		cmocka_unit_test(test_A4_partial_ack_fin_wait_1),
		cmocka_unit_test(test_A5_fin_ack_fin_wait_1),
		cmocka_unit_test(test_A5_fin_ack_fin_wait_1_half_closed),
		cmocka_unit_test(test_A7_close_again_fin_wait_1),
		cmocka_unit_test(test_A7_close_again_fin_wait_2),
		cmocka_unit_test(test_A7_close_again_closing),
		cmocka_unit_test(test_A7_close_again_last_ack),
		cmocka_unit_test(test_A7_close_again_time_wait),
		cmocka_unit_test(test_A7_close_again_orphan),
		cmocka_unit_test(test_A8_close_syn_sent),
		cmocka_unit_test(test_A9_fin_timestamps_established),
		cmocka_unit_test(test_B1_fin_established),
		cmocka_unit_test(test_B1_fin_after_data_established),
		cmocka_unit_test(test_B2_fin_with_data_established),
		cmocka_unit_test(test_B3_ack_last_ack),
		cmocka_unit_test(test_B3_ack_last_ack_attached),
		cmocka_unit_test(test_B4_fin_then_close_established),
		cmocka_unit_test(test_B5_send_close_wait),
		cmocka_unit_test(test_B6_dup_ack_last_ack),
		cmocka_unit_test(test_B7_old_fin_close_wait),
		cmocka_unit_test(test_B7_old_fin_last_ack),
		cmocka_unit_test(test_C1_fin_fin_wait_1),
		cmocka_unit_test(test_C1_fin_fin_wait_1_half_closed),
		cmocka_unit_test(test_C3_old_ack_closing),
		cmocka_unit_test(test_D1_data_fin_wait_2_half_closed),
		cmocka_unit_test(test_D1_data_fin_wait_1_half_closed),
		cmocka_unit_test(test_D2_send_close_wait),
		cmocka_unit_test(test_D2_send_then_close_close_wait),
		cmocka_unit_test(test_D3_data_after_shutdown_rd_established),
		cmocka_unit_test(test_D4_shutdown_rdwr_established),
		cmocka_unit_test(test_I1_fin_retransmit_backoff_fin_wait_1),
		cmocka_unit_test(test_I1_fin_retransmit_current_ack_fin_wait_1),
		cmocka_unit_test(test_I2_fin_retransmit_last_ack),
		cmocka_unit_test(test_I3_data_fin_retransmit_partial_ack_fin_wait_1),
		cmocka_unit_test(test_I4_user_timeout_fin_wait_1),
		cmocka_unit_test(test_I4_user_timeout_fin_wait_1_half_closed),
		cmocka_unit_test(test_I4_user_timeout_closing),
		cmocka_unit_test(test_I4_user_timeout_last_ack),
		cmocka_unit_test(test_I5_timeout_fin_wait_2_orphan),
		cmocka_unit_test(test_I5_default_timeout_fin_wait_2_orphan),
		cmocka_unit_test(test_I5_no_timeout_fin_wait_2_half_closed),
		cmocka_unit_test(test_I5_timeout_from_close_fin_wait_2),
		cmocka_unit_test(test_I6_close_fin_wait_2),
		cmocka_unit_test(test_J1_fin_zero_window_established),
		cmocka_unit_test(test_J3_fin_syn_received),
		cmocka_unit_test(test_K1_fin_is_eof_once_established),
		cmocka_unit_test(test_K1_rst_is_error_not_eof_established),
		cmocka_unit_test(test_K2_rst_with_queued_data_established),
		cmocka_unit_test(test_K2_close_after_rst_with_queued_data),
		cmocka_unit_test(test_K3_rst_syn_sent),
		cmocka_unit_test(test_K3_rst_close_wait),
		cmocka_unit_test(test_K3_abort_established),
		cmocka_unit_test(test_K3_send_after_shutdown_wr),
		cmocka_unit_test(test_K3_recv_closing),
		cmocka_unit_test(test_K3_recv_last_ack),
		cmocka_unit_test(test_K3_recv_time_wait),
	};

	app_data_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
