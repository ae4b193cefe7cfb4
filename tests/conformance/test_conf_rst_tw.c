/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conformance, CASES.md sections E (abort and RST generation), F (RST
 * reception), G (SYN, ACK and data checks in synchronized states) and H
 * (TIME-WAIT), end to end through one stack: segments in, exact segments
 * out, states from the connection table, and what the application sees
 * (return values of recv/send, events, close reasons).
 *
 * Shorthands as in CASES.md §0 and tcp_harness.h: S = the DUT's SND.NXT when
 * the case starts (in FIN-WAIT-1/2, CLOSING, LAST-ACK and TIME-WAIT our FIN
 * occupies S, so SND.NXT is S + 1), R = the DUT's RCV.NXT, W = its RCV.WND.
 * W is taken from the window the DUT last advertised (w_from_wire()), not
 * from coda_tcp_info(), so the window-edge probes stay exact;
 * test_F2_rst_in_window_established checks that the two agree.
 *
 * Policies pinned here (DESIGN.md §5, coda_tcp.h, tcp_timewait.h defaults):
 *   - RST on close() with unread data: on (rst_on_unread_close) (E1).
 *   - An RST we send may carry ACK or not (RFC form has none, Linux sets it);
 *     an RST answering a segment with no TCB follows RFC 9293 §3.10.7.1
 *     exactly (E8, E9).
 *   - Challenge ACKs and other rate-limited ACKs: one per connection per
 *     challenge_ack_interval_ms [500]; ACKs to data-bearing segments are
 *     never limited (F10, H6).
 *   - A pure ACK at exactly RCV.NXT + RCV.WND is unacceptable (RFC 9293
 *     table, as tcp_tw_input() does in TIME-WAIT) and draws an ACK; Linux
 *     accepts it (G4).
 *   - RFC 1337 on: an RST at RCV.NXT in TIME-WAIT is ignored; off: it ends
 *     TIME-WAIT (H4).
 *   - SYN reopen from TIME-WAIT on, judged by RFC 6191 (H7, H9); a refused
 *     SYN gets a rate-limited challenge ACK, never a SYN-ACK (H8).
 *   - The 2 MSL timer restarts on a retransmitted FIN only (H2).
 *   - connect() to a 4-tuple in TIME-WAIT: -EADDRINUSE (H12).
 *   - TIME-WAIT pool full: RECYCLE the oldest (default) or SKIP, counted (H14).
 *   - After a reset the application reads queued data first, then
 *     -ECONNRESET once, then 0 (coda_tcp.h, Linux; F11/K2).
 *
 * Not covered: E10 (non-zero linger close): coda_tcp.h has no linger API
 * (close() never blocks), so there is nothing to test in-process.
 */

#include "tcp_harness.h"

#include <errno.h>

#include "coda_seq.h"

/* ------------------------------------------------------------------ */
/* Helpers local to this file.                                         */

static void
expect_state_at(struct th *t, enum coda_tcp_state st, const char *what, int line)
{
	enum coda_tcp_state got = th_state(t);

	if (got != st)
		fail_msg("%s:%d: %s: state %s, expected %s", __FILE__, line, what,
			 coda_tcp_state_name(got), coda_tcp_state_name(st));
}

/*
 * An RST at @p seq. The ACK bit is optional (RFC 9293 §3.10.5 sends
 * <SEQ=SND.NXT><CTL=RST>, Linux R.); when set, SEG.ACK must be @p ack.
 */
static struct th_out *
expect_rst_at(struct th *t, uint32_t seq, uint32_t ack, int line)
{
	struct th_out *o = EXPECT_SENT_AT(t, line, .seq = seq);

	if ((o->seg.flags & ~TCP_ACK) != TCP_RST)
		fail_msg("%s:%d: expected an RST, flags 0x%02x", __FILE__, line, o->seg.flags);
	if ((o->seg.flags & TCP_ACK) && o->seg.ack != ack)
		fail_msg("%s:%d: RST with ACK: ack=%u, expected %u", __FILE__, line, o->seg.ack,
			 ack);
	return o;
}

#define EXPECT_RST(t, seq, ack) expect_rst_at((t), (seq), (ack), __LINE__)

/* A challenge ACK (RFC 5961): > . seq=SND.NXT ack=RCV.NXT, nothing else; @p what names the probe. */
static void
expect_challenge_ack(struct th *t, uint32_t snd_nxt, uint32_t rcv_nxt, const char *what, int line)
{
	struct th_out *o = th_next(t);

	if (o == NULL)
		fail_msg("%s:%d: %s: expected > . seq=%u ack=%u, the DUT sent nothing", __FILE__,
			 line, what, snd_nxt, rcv_nxt);
	if (o->seg.flags != TCP_ACK || o->seg.seq != snd_nxt || o->seg.ack != rcv_nxt ||
	    o->seg.payload_len != 0)
		fail_msg("%s:%d: %s: sent flags 0x%02x seq=%u ack=%u len=%u, expected > . seq=%u "
			 "ack=%u",
			 __FILE__, line, what, o->seg.flags, o->seg.seq, o->seg.ack,
			 o->seg.payload_len, snd_nxt, rcv_nxt);
}

#define EXPECT_CHALLENGE_ACK(t, snd, rcv) expect_challenge_ack((t), (snd), (rcv), "", __LINE__)

static void
expect_nothing_what(struct th *t, const char *what, int line)
{
	struct th_out *o = th_next(t);

	if (o != NULL)
		fail_msg("%s:%d: %s: expected nothing, the DUT sent flags 0x%02x seq=%u ack=%u "
			 "len=%u",
			 __FILE__, line, what, o->seg.flags, o->seg.seq, o->seg.ack,
			 o->seg.payload_len);
}

/* Whether event @p ev for @p sock is pending, without consuming anything. */
static bool
ev_pending(const struct th *t, int sock, enum coda_tcp_event ev)
{
	unsigned int i;

	for (i = t->rd_ev; i != t->n_ev; i++)
		if (t->ev[i % TH_MAX_EV].sock == sock && t->ev[i % TH_MAX_EV].ev == ev)
			return true;
	return false;
}

static struct coda_tcp_stats
stats(struct th *t)
{
	struct coda_tcp_stats st;

	coda_tcp_stats(t->s, &st);
	return st;
}

static struct coda_conntab_stats
tab_stats(struct th *t)
{
	struct coda_conntab_stats st;

	coda_conntab_stats(coda_tcp_conntab(t->s), &st);
	return st;
}

static int32_t
app_recv(struct th *t, uint32_t len)
{
	static uint8_t buf[TH_MAX_PAYLOAD];

	assert_true(len <= sizeof(buf));
	return coda_tcp_recv(t->s, t->sock, buf, len, t->now);
}

static int32_t
app_send(struct th *t, uint32_t len)
{
	static uint8_t buf[TH_MAX_PAYLOAD];

	assert_true(len <= sizeof(buf));
	memset(buf, 'x', len);
	return coda_tcp_send(t->s, t->sock, buf, len, t->now);
}

/*
 * An ACK from the DUT, at once or when its delayed-ACK timer fires
 * (RFC 9293 §3.8.6.3 lets it wait for a lone segment).
 */
static void
expect_ack_soon(struct th *t, uint32_t seq, uint32_t ack, int line)
{
	if (t->rd_out == t->n_out)
		th_advance(t, t->conf.delayed_ack_ms);
	EXPECT_SENT_AT(t, line, .flags = TCP_ACK, .seq = seq, .ack = ack);
}

/* The TB sends @p len bytes at R (with @p extra flags), acknowledging @p ack; the DUT ACKs them. */
static void
tb_data_at(struct th *t, uint32_t len, uint8_t extra, uint32_t ack, int line)
{
	uint32_t fin = (extra & TCP_FIN) != 0;

	SEND(t, .flags = TCP_PSH | TCP_ACK | extra, .seq = t->R, .ack = ack, .len = len);
	expect_ack_soon(t, ack, t->R + len + fin, line);
	t->R += len + fin;
}

#define TB_DATA(t, len, extra, ack) tb_data_at((t), (len), (extra), (ack), __LINE__)

/*
 * A segment from the TB built here, for ports and fields the harness does
 * not cover: another TB port, a port with no listener, the urgent pointer.
 */
struct raw_in {
	uint16_t sport, dport; /* host byte order */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win, urp;
	uint32_t len;
};

static struct coda_conntab_key
key_for(uint16_t dport, uint16_t sport)
{
	struct coda_conntab_key k;

	coda_conntab_key_v4(&k, htonl(TH_DUT_ADDR), htons(dport), htonl(TH_TB_ADDR), htons(sport));
	return k;
}

static void
raw_send(struct th *t, const struct raw_in *in)
{
	static uint8_t buf[TCP_HDR_MIN_LEN + 2048];
	struct coda_conntab_key k = key_for(in->dport, in->sport);
	uint32_t i;

	assert_true(in->len <= sizeof(buf) - TCP_HDR_MIN_LEN);
	memset(buf, 0, TCP_HDR_MIN_LEN);
	buf[0] = (uint8_t)(in->sport >> 8);
	buf[1] = (uint8_t)in->sport;
	buf[2] = (uint8_t)(in->dport >> 8);
	buf[3] = (uint8_t)in->dport;
	for (i = 0; i < 4; i++) {
		buf[4 + i] = (uint8_t)(in->seq >> (24 - 8 * i));
		buf[8 + i] = (uint8_t)(in->ack >> (24 - 8 * i));
	}
	buf[12] = (TCP_HDR_MIN_LEN / 4) << 4;
	buf[13] = in->flags;
	buf[14] = (uint8_t)(in->win >> 8);
	buf[15] = (uint8_t)in->win;
	buf[18] = (uint8_t)(in->urp >> 8);
	buf[19] = (uint8_t)in->urp;
	for (i = 0; i < in->len; i++)
		buf[TCP_HDR_MIN_LEN + i] = (uint8_t)('a' + (in->seq + i) % 26);
	coda_tcp_input(t->s, &k, buf, TCP_HDR_MIN_LEN + in->len, t->now);
}

#define RAW(t, ...)                                                                             \
	raw_send((t), &(struct raw_in){.sport = TH_TB_PORT, .dport = TH_DUT_PORT, .win = 65535, \
				       __VA_ARGS__})

/* A port of the DUT with no listener and no connection. */
#define NO_PORT 81

/* The next segment went to the TB at @p sport from our port @p dport. */
static struct th_out *
expect_to_port(struct th *t, uint16_t dport, uint16_t sport, int line)
{
	struct th_out *o;

	if (t->rd_out == t->n_out)
		fail_msg("%s:%d: expected a segment, the DUT sent nothing", __FILE__, line);
	o = &t->out[t->rd_out % TH_MAX_OUT];
	if (o->key.lport != htons(dport) || o->key.rport != htons(sport))
		fail_msg("%s:%d: segment sent on ports %u -> %u, expected %u -> %u", __FILE__, line,
			 ntohs(o->key.lport), ntohs(o->key.rport), dport, sport);
	return o;
}

/* The TB's segments with the Timestamps option of a connection that uses them. */
#define SEND_TS(t, ...)                                                                         \
	SEND(t, .ts = true, .tsval = (t)->tb_tsval, .tsecr = (t)->dut_tsval, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Starting states (fixtures), for the cases repeated across states.   */

struct fx {
	const char *name;
	void (*enter)(struct th *t);
	enum coda_tcp_state state;
	bool fin_sent; /* our FIN went out at S: SND.NXT = S + 1 */
	bool attached; /* the application still holds the socket */
};

static void
enter_estab(struct th *t)
{
	th_estab_passive(t);
}

static void
enter_fin_wait_1(struct th *t)
{
	th_fin_wait_1(t, false);
}

static void
enter_fin_wait_1_orphan(struct th *t)
{
	th_fin_wait_1(t, true);
}

static void
enter_fin_wait_2(struct th *t)
{
	th_fin_wait_2(t, false);
}

static void
enter_fin_wait_2_orphan(struct th *t)
{
	th_fin_wait_2(t, true);
}

static void
enter_close_wait(struct th *t)
{
	th_close_wait(t);
}

static void
enter_closing(struct th *t)
{
	th_closing(t, false);
}

static void
enter_closing_orphan(struct th *t)
{
	th_closing(t, true);
}

static void
enter_last_ack_orphan(struct th *t)
{
	th_last_ack(t);
}

/* LAST-ACK with the application still attached: CLOSE-WAIT + shutdown(WR) → > F. seq=S. */
static void
enter_last_ack(struct th *t)
{
	th_close_wait(t);
	SHUTDOWN(t, WR);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
}

static const struct fx FX_ESTAB = {"ESTABLISHED", enter_estab, CODA_TCP_S_ESTABLISHED, false,
				   true};
static const struct fx FX_FW1 = {"FIN-WAIT-1 (shutdown)", enter_fin_wait_1,
				 CODA_TCP_S_FIN_WAIT_1, true, true};
static const struct fx FX_FW1_ORPHAN = {"FIN-WAIT-1 (orphan)", enter_fin_wait_1_orphan,
					CODA_TCP_S_FIN_WAIT_1, true, false};
static const struct fx FX_FW2 = {"FIN-WAIT-2 (half-closed)", enter_fin_wait_2,
				 CODA_TCP_S_FIN_WAIT_2, true, true};
static const struct fx FX_FW2_ORPHAN = {"FIN-WAIT-2 (orphan)", enter_fin_wait_2_orphan,
					CODA_TCP_S_FIN_WAIT_2, true, false};
static const struct fx FX_CW = {"CLOSE-WAIT", enter_close_wait, CODA_TCP_S_CLOSE_WAIT, false,
				true};
static const struct fx FX_CLOSING = {"CLOSING (shutdown)", enter_closing, CODA_TCP_S_CLOSING,
				     true, true};
static const struct fx FX_CLOSING_ORPHAN = {"CLOSING (orphan)", enter_closing_orphan,
					    CODA_TCP_S_CLOSING, true, false};
static const struct fx FX_LA = {"LAST-ACK (shutdown)", enter_last_ack, CODA_TCP_S_LAST_ACK,
				true, true};
static const struct fx FX_LA_ORPHAN = {"LAST-ACK (orphan)", enter_last_ack_orphan,
				       CODA_TCP_S_LAST_ACK, true, false};

/*
 * W as the DUT advertised it in its last segment (no window scaling is
 * negotiated in these fixtures): RCV.WND by definition, and what the
 * sequence check must use. The harness takes W from coda_tcp_info(), which
 * test_F2_rst_in_window_established checks against this.
 */
static void
w_from_wire(struct th *t)
{
	assert_true(t->n_out > 0);
	t->W = t->out[(t->n_out - 1) % TH_MAX_OUT].seg.wnd;
}

static void
enter(struct th *t, const struct fx *f)
{
	f->enter(t);
	w_from_wire(t);
}

static uint32_t
snd_nxt(const struct th *t, const struct fx *f)
{
	return t->S + (f->fin_sent ? 1 : 0);
}

/*
 * TIME-WAIT by an active close (A1), keeping what th_time_wait() throws
 * away: the socket number the application had, and the first ACK of the
 * peer's FIN. Afterwards S is our FIN, R = RCV.NXT (the peer's FIN at R-1).
 */
struct tw_fx {
	int old_sock;
	struct tcp_seg first_ack;
	uint64_t t0; /* when TIME-WAIT began */
};

static void
enter_time_wait(struct th *t, struct tw_fx *tw)
{
	struct th_out *o;

	th_estab_passive(t);
	tw->old_sock = t->sock;
	CLOSE(t);
	t->sock = -1;
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	o = EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	tw->first_ack = o->seg;
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	tw->t0 = t->now;
	t->R++;
}

/* The same with timestamps on the connection: TS.Recent is the TB's t->tb_tsval. */
static void
enter_time_wait_ts(struct th *t)
{
	th_estab_passive_opts(t, true, -1);
	assert_true(t->ts);
	CLOSE(t);
	t->sock = -1;
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R, .ts = 1);
	SEND_TS(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
	SEND_TS(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1, .ts = 1,
		    .tsecr = t->tb_tsval);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	t->R++;
}

static uint64_t
tw_left(struct th *t)
{
	uint64_t left = 0;

	assert_int_equal(coda_tcp_lookup(t->s, &t->key, t->now, &left), CODA_TCP_S_TIME_WAIT);
	return left;
}

static uint64_t
twice_msl(const struct th *t)
{
	return 2 * (uint64_t)t->conf.msl_ms;
}

/*
 * The timing wheel fires a timer up to 8/63 of its delay late (coda_wheel.h),
 * never early: a TIME-WAIT of 2 MSL ends within 2 MSL + this.
 */
static uint64_t
tw_slack(const struct th *t)
{
	return twice_msl(t) / 7 + 1;
}

static uint32_t
interval(const struct th *t)
{
	return t->conf.challenge_ack_interval_ms;
}

/*
 * Let the ACK rate limiter forget the last ACK: one interval, plus the
 * 8 ms to which the TIME-WAIT store rounds its times.
 */
static void
next_interval(struct th *t)
{
	th_advance(t, interval(t) + 8);
}

/* ------------------------------------------------------------------ */
/* E. Abort and RST generation                                         */

/*
 * E1: close() with unread data sends RST, not FIN (RFC 1122 4.2.2.13,
 * RFC 2525 §2.17); TCB deleted, no TIME-WAIT.
 */
static void
test_E1_close_with_unread_data_sends_rst_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	TB_DATA(&t, 100, 0, t.S);
	EXPECT_NOTHING(&t);
	CLOSE(&t);
	EXPECT_RST(&t, t.S, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tw_entered, 0);
	assert_int_equal(stats(&t).closed[CODA_TCP_CLOSE_ABORTED], 1);
	/* No FIN and no retransmission of anything later. */
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	/* The TCB is gone: the peer's next segment meets the CLOSED rule. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E1 in CLOSE-WAIT: the peer's FIN came after data the application never read. */
static void
test_E1_close_with_unread_data_sends_rst_close_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	TB_DATA(&t, 100, TCP_FIN, t.S);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSE_WAIT);
	CLOSE(&t);
	EXPECT_RST(&t, t.S, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tw_entered, 0);
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

static void
no_rst_on_unread_close(struct coda_tcp_conf *c)
{
	c->rst_on_unread_close = false;
}

/* E1's policy switch: with rst_on_unread_close off, close() sends the FIN after all. */
static void
test_E1_close_with_unread_data_policy_off_sends_fin(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, no_rst_on_unread_close);
	th_estab_passive(&t);
	w_from_wire(&t);
	TB_DATA(&t, 100, 0, t.S);
	CLOSE(&t);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.S, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, FIN_WAIT_1);
	th_fini(&t);
}

/*
 * E2: everything was read; the peer retransmits the same bytes with its FIN
 * (< F. seq=R-1000 len=1000): duplicate data is not unread data, and the
 * FIN is none either, so close() sends a FIN.
 */
static void
test_E2_close_after_reading_all_sends_fin(void **state)
{
	struct th t;
	uint32_t r0;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	r0 = t.R;
	TB_DATA(&t, 1000, 0, t.S);
	assert_int_equal(app_recv(&t, 2000), 1000);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = r0, .ack = t.S, .len = 1000);
	expect_ack_soon(&t, t.S, r0 + 1001, __LINE__);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSE_WAIT);
	CLOSE(&t);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.S, .ack = r0 + 1001);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, LAST_ACK);
	assert_int_equal(stats(&t).tx_rst, 0);
	th_fini(&t);
}

/* E3: new data after close() in an orphaned FIN-WAIT-2: RST (RFC 1122 4.2.2.13), TCB deleted. */
static void
test_E3_data_after_close_fin_wait_2(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_fin_wait_2(&t, true);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S + 1, .len = 10);
	EXPECT_RST(&t, t.S + 1, t.R + 10);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tw_entered, 0);
	/* Gone: the next segment meets the CLOSED rule. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 10, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S + 1);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E3 in an orphaned FIN-WAIT-1 (our FIN not yet acknowledged). */
static void
test_E3_data_after_close_fin_wait_1(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_fin_wait_1(&t, true);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S, .len = 10);
	EXPECT_RST(&t, t.S + 1, t.R + 10);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	/* No FIN retransmission after the TCB is gone. */
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E3's exception: a half-closed FIN-WAIT-2 (shutdown(WR)) receives data normally (D1). */
static void
test_E3_data_half_closed_fin_wait_2_is_acked(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_fin_wait_2(&t, false);
	TB_DATA(&t, 10, 0, t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, FIN_WAIT_2);
	assert_int_equal(app_recv(&t, 100), 10);
	assert_int_equal(stats(&t).tx_rst, 0);
	th_fini(&t);
}

/* E4: abort() in a synchronized state: > R(.) seq=SND.NXT, no TIME-WAIT, TCB deleted. */
static void
abort_sends_rst(const struct fx *f)
{
	struct th t;
	uint32_t snd;

	th_init(&t);
	enter(&t, f);
	snd = snd_nxt(&t, f);
	ABORT(&t);
	EXPECT_RST(&t, snd, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tw_entered, 0);
	assert_int_equal(stats(&t).closed[CODA_TCP_CLOSE_ABORTED], 1);
	/* The socket is no longer the application's. */
	assert_int_equal(app_send(&t, 1), -EBADF);
	/* Nothing is retransmitted (a FIN in FIN-WAIT-1). */
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	/* The TCB is gone. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = snd);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = snd);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

static void
test_E4_abort_established(void **state)
{
	(void)state;
	abort_sends_rst(&FX_ESTAB);
}

static void
test_E4_abort_fin_wait_1(void **state)
{
	(void)state;
	abort_sends_rst(&FX_FW1);
}

static void
test_E4_abort_fin_wait_2(void **state)
{
	(void)state;
	abort_sends_rst(&FX_FW2);
}

static void
test_E4_abort_close_wait(void **state)
{
	(void)state;
	abort_sends_rst(&FX_CW);
}

/* E4: abort() flushes the retransmission queue: unacknowledged data is never resent. */
static void
test_E4_abort_flushes_unacked_data_established(void **state)
{
	struct th t;
	struct th_out *o;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	assert_int_equal(app_send(&t, 100), 100);
	o = EXPECT_SENT(&t, .seq = t.S, .ack = t.R, .len = 100);
	assert_int_equal(o->seg.flags & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST), TCP_ACK);
	EXPECT_NOTHING(&t);
	ABORT(&t);
	EXPECT_RST(&t, t.S + 100, t.R);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 30000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

/* E4: abort() flushes the send queue: data held back by a zero window is never sent. */
static void
test_E4_abort_flushes_unsent_data_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S, .win = 0);
	EXPECT_NOTHING(&t);
	assert_int_equal(app_send(&t, 100), 100);
	/* RFC 9293 §3.8.6.1: the first zero-window probe waits an RTO. */
	EXPECT_NOTHING(&t);
	ABORT(&t);
	EXPECT_RST(&t, t.S, t.R);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 30000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

/* E4: with timestamps negotiated, the abort's RST carries TSopt (packetdrill reset_tsval.pkt). */
static void
test_E4_abort_rst_carries_timestamps_established(void **state)
{
	struct th t;
	struct th_out *o;

	(void)state;
	th_init(&t);
	th_estab_passive_opts(&t, true, -1);
	assert_true(t.ts);
	ABORT(&t);
	o = EXPECT_RST(&t, t.S, t.R);
	assert_true(o->seg.opts & TCP_OPT_TS);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

/* E5: abort() in CLOSING, LAST-ACK, TIME-WAIT: "ok", delete the TCB, send nothing (§3.10.5). */
static void
abort_sends_nothing(const struct fx *f)
{
	struct th t;

	th_init(&t);
	enter(&t, f);
	ABORT(&t);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tw_entered, 0);
	/* Our FIN is not retransmitted any more. */
	ADVANCE(&t, 30000);
	EXPECT_NOTHING(&t);
	/* The TCB is gone: the peer's ACK of our FIN meets the CLOSED rule. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S + 1);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

static void
test_E5_abort_sends_nothing_closing(void **state)
{
	(void)state;
	abort_sends_nothing(&FX_CLOSING);
}

static void
test_E5_abort_sends_nothing_last_ack(void **state)
{
	(void)state;
	abort_sends_nothing(&FX_LA);
}

/* E5 in TIME-WAIT: reached by shutdown(WR), so the application still holds the socket. */
static void
test_E5_abort_sends_nothing_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_fin_wait_2(&t, false);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	t.R++;
	/*
	 * RFC 9293 §3.10.5, ABORT in TIME-WAIT: "Respond with "ok" and delete
	 * the TCB, enter CLOSED state"; coda_tcp.h: "nothing in ... TIME-WAIT;
	 * no TIME-WAIT". (Linux keeps its TIME-WAIT minisocket here, because
	 * its application socket is already CLOSE: an open question for a
	 * stack built the same way.)
	 */
	ABORT(&t);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	/* A retransmitted FIN now meets the CLOSED rule instead of TIME-WAIT's ACK. */
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S + 1);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E5 in SYN-SENT: delete the TCB, nothing sent; a late SYN-ACK gets the CLOSED-state RST. */
static void
test_E5_abort_sends_nothing_syn_sent(void **state)
{
	struct th t;
	struct th_out *o;
	uint32_t iss;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	iss = o->seg.seq;
	EXPECT_STATE(&t, SYN_SENT);
	ABORT(&t);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	/* No SYN retransmission. */
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_SYN | TCP_ACK, .seq = TH_TB_ISN, .ack = iss + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = iss + 1);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E7: an RST is never answered, whatever its sequence number: CLOSED (no TCB, no listener). */
static void
test_E7_rst_not_answered_closed(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_RST, .seq = 12345);
	EXPECT_NOTHING(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_RST | TCP_ACK, .seq = 12345, .ack = 777);
	EXPECT_NOTHING(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = 0);
	EXPECT_NOTHING(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_RST | TCP_PSH | TCP_ACK, .seq = 99, .ack = 5,
	    .len = 10);
	EXPECT_NOTHING(&t);
	assert_int_equal(stats(&t).tx_rst, 0);
	th_fini(&t);
}

static void
test_E7_rst_not_answered_listen(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	SEND(&t, .flags = TCP_RST, .seq = 12345);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = 12345, .ack = 777);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

static void
test_E7_rst_not_answered_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W + 100);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R - 100, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R + 0x40000000u, .ack = t.S + 1000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

static void
test_E7_rst_not_answered_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W + 100);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R - 100, .ack = t.S);
	EXPECT_NOTHING(&t);
	/* An unacceptable ACK field does not make an RST answerable either. */
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R - 100, .ack = t.S + 1000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

/* E8: no TCB, ACK bit on: > R seq=SEG.ACK, no ACK bit (RFC 9293 §3.10.7.1). */
static void
test_E8_ack_no_tcb(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_ACK, .seq = 1000, .ack = 2000);
	expect_to_port(&t, NO_PORT, TH_TB_PORT, __LINE__);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = 2000);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E8: no TCB, SYN: > R. seq=0 ack=SEG.SEQ+1. */
static void
test_E8_syn_no_tcb(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_SYN, .seq = 1000);
	expect_to_port(&t, NO_PORT, TH_TB_PORT, __LINE__);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = 1001);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E8: no TCB, FIN without ACK: > R. seq=0 ack=SEG.SEQ+SEG.LEN (the FIN counts). */
static void
test_E8_fin_no_tcb(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_FIN, .seq = 1000);
	expect_to_port(&t, NO_PORT, TH_TB_PORT, __LINE__);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = 1001);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E8: no TCB, data with ACK: > R seq=SEG.ACK. */
static void
test_E8_data_no_tcb(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	RAW(&t, .dport = NO_PORT, .flags = TCP_PSH | TCP_ACK, .seq = 1000, .ack = 2000, .len = 100);
	expect_to_port(&t, NO_PORT, TH_TB_PORT, __LINE__);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = 2000);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E8: no TCB, data without any flag: > R. seq=0 ack=SEG.SEQ+SEG.LEN. */
static void
test_E8_data_no_ack_no_tcb(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	RAW(&t, .dport = NO_PORT, .flags = 0, .seq = 1000, .len = 100);
	expect_to_port(&t, NO_PORT, TH_TB_PORT, __LINE__);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = 1100);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E8 after B3: LAST-ACK → CLOSED deletes the TCB; the next segment gets > R seq=SEG.ACK. */
static void
test_E8_ack_after_last_ack_closed(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_last_ack(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S + 1);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* E9: SYN-SENT, ACK of something never sent (or of nothing): > R seq=SEG.ACK; stay SYN-SENT. */
static void
test_E9_bad_ack_syn_sent(void **state)
{
	struct th t;
	struct th_out *o;
	uint32_t iss;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	iss = o->seg.seq;
	/* SEG.ACK > SND.NXT. */
	SEND(&t, .flags = TCP_ACK, .seq = TH_TB_ISN, .ack = iss + 1000);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = iss + 1000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_SENT);
	/* SEG.ACK =< ISS, on a SYN-ACK. */
	SEND(&t, .flags = TCP_SYN | TCP_ACK, .seq = TH_TB_ISN, .ack = iss);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = iss);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_SENT);
	/* The connection still opens. */
	SEND(&t, .flags = TCP_SYN | TCP_ACK, .seq = TH_TB_ISN, .ack = iss + 1, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = iss + 1, .ack = TH_TB_ISN + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CONNECTED));
	th_fini(&t);
}

/* E9: LISTEN, any ACK is bad: > R seq=SEG.ACK (§3.10.7.2); the listener is unharmed. */
static void
test_E9_ack_listen(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	SEND(&t, .flags = TCP_ACK, .seq = 5000, .ack = 7000);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = 7000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_false(ev_pending(&t, t.lsock, CODA_TCP_EV_ACCEPTED));
	th_estab_passive(&t);
	w_from_wire(&t);
	th_fini(&t);
}

/* E9: LISTEN, a SYN-ACK: > R seq=SEG.ACK. */
static void
test_E9_syn_ack_listen(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	SEND(&t, .flags = TCP_SYN | TCP_ACK, .seq = 5000, .ack = 7000);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = 7000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	th_estab_passive(&t);
	w_from_wire(&t);
	th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* F. RST reception and validation                                     */

/* F1: exact RST in ESTABLISHED: no reply, CLOSED, the application told "reset". */
static void
test_F1_rst_exact_established(void **state)
{
	struct th t;
	struct coda_tcp_info info;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	info = th_info(&t);
	assert_int_equal(info.state, CODA_TCP_S_CLOSED);
	assert_int_equal(info.close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(info.error, -ECONNRESET);
	assert_int_equal(stats(&t).closed[CODA_TCP_CLOSE_RESET], 1);
	assert_int_equal(stats(&t).tw_entered, 0);
	/* "reported once": then end of stream. */
	assert_int_equal(app_recv(&t, 100), -ECONNRESET);
	assert_int_equal(app_recv(&t, 100), 0);
	/* Closing a reset socket sends nothing. */
	CLOSE(&t);
	t.sock = -1;
	EXPECT_NOTHING(&t);
	/* No TCB: the CLOSED rule. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* F1 with the ACK bit on the RST (< R. seq=R ack=S), reported through send(). */
static void
test_F1_rst_ack_exact_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R, .ack = t.S);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_RESET);
	/* coda_tcp.h: -ECONNRESET once, then -EPIPE. */
	assert_int_equal(app_send(&t, 10), -ECONNRESET);
	assert_int_equal(app_send(&t, 10), -EPIPE);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/*
 * F2: RST in the window but not at RCV.NXT: challenge ACK > . seq=S ack=R,
 * stay ESTABLISHED (RFC 5961 §3.2); then the exact RST works.
 */
static void
test_F2_rst_in_window_established(void **state)
{
	struct th t;
	struct th_out *o;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 1);
	o = EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(app_recv(&t, 100), -EAGAIN);
	/*
	 * W (coda_tcp_info().rcv_wnd, CASES.md: "DUT RCV.WND") must be the
	 * window the DUT advertises and judges sequence numbers by: without
	 * window scaling, the window field of its ACK.
	 */
	assert_int_equal(t.W, o->seg.wnd);
	/* The right edge, after the rate-limit interval. */
	next_interval(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W - 1);
	EXPECT_CHALLENGE_ACK(&t, t.S, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	assert_int_equal(stats(&t).tx_challenge_ack, 2);
	/* The reply the challenge asks for: an RST at exactly RCV.NXT. */
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_RESET);
	th_fini(&t);
}

/* F3: RST outside the window: silently dropped, no challenge ACK, no state change. */
static void
test_F3_rst_out_of_window_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R - 1);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R + 0x40000000u, .ack = t.S);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R - 0x40000000u);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	assert_int_equal(stats(&t).tx_challenge_ack, 0);
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_NONE);
	th_fini(&t);
}

/* F4: the RST matrix in the closing states. Exact: CLOSED, nothing sent. */
static void
rst_exact(const struct fx *f)
{
	struct th t;

	th_init(&t);
	enter(&t, f);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, CODA_TCP_S_CLOSED, f->name, __LINE__);
	assert_int_equal(stats(&t).closed[CODA_TCP_CLOSE_RESET], 1);
	assert_int_equal(stats(&t).tw_entered, 0);
	if (f->attached) {
		assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
		assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_RESET);
	}
	/* Nothing is retransmitted afterwards (our FIN, where it was outstanding). */
	ADVANCE(&t, 30000);
	expect_nothing_what(&t, f->name, __LINE__);
	th_fini(&t);
}

/* In the window, not exact: challenge ACK, no state change; the exact RST then works. */
static void
rst_in_window(const struct fx *f)
{
	struct th t;

	th_init(&t);
	enter(&t, f);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 1);
	expect_challenge_ack(&t, snd_nxt(&t, f), t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, f->state, f->name, __LINE__);
	if (f->attached)
		assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_CLOSED));
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, CODA_TCP_S_CLOSED, f->name, __LINE__);
	th_fini(&t);
}

/* Outside the window, left and right: dropped silently. */
static void
rst_out_of_window(const struct fx *f)
{
	struct th t;

	th_init(&t);
	enter(&t, f);
	SEND(&t, .flags = TCP_RST, .seq = t.R - 1);
	expect_nothing_what(&t, f->name, __LINE__);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W);
	expect_nothing_what(&t, f->name, __LINE__);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R + 0x40000000u, .ack = snd_nxt(&t, f));
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, f->state, f->name, __LINE__);
	assert_int_equal(stats(&t).tx_challenge_ack, 0);
	if (f->attached)
		assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_CLOSED));
	th_fini(&t);
}

#define F4_TESTS(suffix, fixture)                                                               \
	static void test_F4_rst_exact_##suffix(void **state)                                    \
	{                                                                                       \
		(void)state;                                                                    \
		rst_exact(&(fixture));                                                          \
	}                                                                                       \
	static void test_F4_rst_in_window_##suffix(void **state)                                \
	{                                                                                       \
		(void)state;                                                                    \
		rst_in_window(&(fixture));                                                      \
	}                                                                                       \
	static void test_F4_rst_out_of_window_##suffix(void **state)                            \
	{                                                                                       \
		(void)state;                                                                    \
		rst_out_of_window(&(fixture));                                                  \
	}

F4_TESTS(fin_wait_1, FX_FW1)
F4_TESTS(fin_wait_1_orphan, FX_FW1_ORPHAN)
F4_TESTS(fin_wait_2, FX_FW2)
F4_TESTS(fin_wait_2_orphan, FX_FW2_ORPHAN)
F4_TESTS(close_wait, FX_CW)
F4_TESTS(closing, FX_CLOSING)
F4_TESTS(closing_orphan, FX_CLOSING_ORPHAN)
F4_TESTS(last_ack, FX_LA)
F4_TESTS(last_ack_orphan, FX_LA_ORPHAN)

#define F4_UNIT_TESTS(suffix)                                                                   \
	cmocka_unit_test(test_F4_rst_exact_##suffix),                                           \
		cmocka_unit_test(test_F4_rst_in_window_##suffix),                               \
		cmocka_unit_test(test_F4_rst_out_of_window_##suffix)

/*
 * F6: RST in SYN-SENT. Without ACK, or with an ACK that does not
 * acknowledge our SYN: dropped (RFC 9293 §3.10.7.3); the open goes on.
 */
static void
test_F6_rst_bad_ack_syn_sent(void **state)
{
	struct th t;
	struct th_out *o;
	uint32_t iss;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	iss = o->seg.seq;
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = iss);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_SENT);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = iss + 2);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_SENT);
	SEND(&t, .flags = TCP_RST, .seq = TH_TB_ISN);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_SENT);
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_CLOSED));
	SEND(&t, .flags = TCP_SYN | TCP_ACK, .seq = TH_TB_ISN, .ack = iss + 1, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = iss + 1, .ack = TH_TB_ISN + 1);
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

/* F6: < R. ack=ISS+1 in SYN-SENT: CLOSED, "connection refused". */
static void
test_F6_rst_ack_of_syn_refuses_syn_sent(void **state)
{
	struct th t;
	struct th_out *o;
	struct coda_tcp_info info;
	uint32_t iss;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	iss = o->seg.seq;
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = iss + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	info = th_info(&t);
	assert_int_equal(info.close_reason, CODA_TCP_CLOSE_REFUSED);
	assert_int_equal(info.error, -ECONNREFUSED);
	assert_int_equal(stats(&t).closed[CODA_TCP_CLOSE_REFUSED], 1);
	assert_int_equal(app_recv(&t, 10), -ECONNREFUSED);
	/* No SYN retransmission. */
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* F7 passive: RST in SYN-RECEIVED returns to LISTEN silently; the half-open TCB is gone. */
static void
test_F7_rst_syn_received_passive(void **state)
{
	struct th t;
	struct th_out *o;
	uint32_t iss;

	(void)state;
	th_init(&t);
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = TH_TB_ISN + 1);
	iss = o->seg.seq;
	EXPECT_STATE(&t, SYN_RECEIVED);
	SEND(&t, .flags = TCP_RST, .seq = TH_TB_ISN + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	/* No SYN-ACK retransmission. */
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	/* The handshake's ACK now finds no TCB (the listener answers any ACK with RST). */
	SEND(&t, .flags = TCP_ACK, .seq = TH_TB_ISN + 1, .ack = iss + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = iss + 1);
	EXPECT_NOTHING(&t);
	assert_false(ev_pending(&t, t.lsock, CODA_TCP_EV_ACCEPTED));
	assert_int_equal(coda_tcp_accept(t.s, t.lsock), -EAGAIN);
	/* Still listening. */
	th_estab_passive(&t);
	w_from_wire(&t);
	th_fini(&t);
}

/* F7 active (simultaneous open): SYN-SENT → < S → SYN-RECEIVED → < R: CLOSED, refused. */
static void
test_F7_rst_syn_received_active(void **state)
{
	struct th t;
	struct th_out *o;
	uint32_t iss;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	iss = o->seg.seq;
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .seq = iss, .ack = TH_TB_ISN + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_RECEIVED);
	SEND(&t, .flags = TCP_RST, .seq = TH_TB_ISN + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_REFUSED);
	assert_int_equal(app_recv(&t, 10), -ECONNREFUSED);
	ADVANCE(&t, 10000);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* F8: RST and SYN|RST to a listener: ignored; the next SYN still completes a handshake. */
static void
test_F8_rst_listen(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	SEND(&t, .flags = TCP_RST, .seq = TH_TB_ISN);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = TH_TB_ISN, .ack = 12345);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_SYN | TCP_RST, .seq = TH_TB_ISN);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tx_rst, 0);
	assert_false(ev_pending(&t, t.lsock, CODA_TCP_EV_ACCEPTED));
	th_estab_passive(&t);
	w_from_wire(&t);
	th_fini(&t);
}

/*
 * F10: challenge ACKs are rate-limited, one per challenge_ack_interval_ms:
 * three in-window RSTs back to back draw one; after the interval, one more.
 */
static void
test_F10_challenge_ack_rate_limited_rst_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 1);
	EXPECT_CHALLENGE_ACK(&t, t.S, t.R);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 2);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 3);
	EXPECT_NOTHING(&t);
	assert_int_equal(stats(&t).tx_challenge_ack, 1);
	assert_int_equal(stats(&t).challenge_ack_limited, 2);
	ADVANCE(&t, interval(&t) / 2);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 4);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, interval(&t) - interval(&t) / 2);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 5);
	EXPECT_CHALLENGE_ACK(&t, t.S, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

/* F10 with SYNs (RFC 5961 §4): the same limit. */
static void
test_F10_challenge_ack_rate_limited_syn_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R + 10);
	EXPECT_CHALLENGE_ACK(&t, t.S, t.R);
	SEND(&t, .flags = TCP_SYN, .seq = t.R + 20);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 20);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R + 30);
	EXPECT_CHALLENGE_ACK(&t, t.S, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

/* F10: ACKs to data-bearing out-of-window segments are not throttled, even right after a challenge. */
static void
test_F10_out_of_window_data_not_rate_limited_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 1);
	EXPECT_CHALLENGE_ACK(&t, t.S, t.R);
	/* Old, fully duplicate data: a duplicate ACK each time. */
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R - 10, .ack = t.S, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .ack = t.R);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R - 10, .ack = t.S, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .ack = t.R);
	/* Data beyond the window. */
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R + t.W, .ack = t.S, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .ack = t.R);
	EXPECT_NOTHING(&t);
	assert_int_equal(app_recv(&t, 100), -EAGAIN);
	th_fini(&t);
}

/* F11: the application is told how the connection ended, per state. */
static void
test_F11_reset_reported_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_RESET);
	/* Never a plain EOF before the error (K1). */
	assert_int_equal(app_recv(&t, 10), -ECONNRESET);
	assert_int_equal(app_recv(&t, 10), 0);
	th_fini(&t);
}

static void
reset_reported_half_closed(const struct fx *f)
{
	struct th t;
	struct coda_tcp_info info;

	th_init(&t);
	enter(&t, f);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	expect_state_at(&t, CODA_TCP_S_CLOSED, f->name, __LINE__);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	info = th_info(&t);
	assert_int_equal(info.close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(info.error, -ECONNRESET);
	assert_int_equal(app_recv(&t, 10), -ECONNRESET);
	assert_int_equal(app_recv(&t, 10), 0);
	th_fini(&t);
}

static void
test_F11_reset_reported_fin_wait_1(void **state)
{
	(void)state;
	reset_reported_half_closed(&FX_FW1);
}

static void
test_F11_reset_reported_fin_wait_2(void **state)
{
	(void)state;
	reset_reported_half_closed(&FX_FW2);
}

/*
 * F11 in CLOSING and LAST-ACK reached by shutdown(WR): the still-attached
 * application must see ECONNRESET (FreeBSD r308745), as its pending error;
 * recv() had EOF already (K3: 0 is allowed there), send() had EPIPE.
 */
static void
reset_reported_closing(const struct fx *f)
{
	struct th t;
	struct coda_tcp_info info;
	int32_t rc;

	th_init(&t);
	enter(&t, f);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	expect_state_at(&t, CODA_TCP_S_CLOSED, f->name, __LINE__);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	info = th_info(&t);
	assert_int_equal(info.close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(info.error, -ECONNRESET);
	rc = app_send(&t, 10);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	assert_int_equal(app_send(&t, 10), -EPIPE);
	th_fini(&t);
}

static void
test_F11_reset_reported_closing(void **state)
{
	(void)state;
	reset_reported_closing(&FX_CLOSING);
}

static void
test_F11_reset_reported_last_ack(void **state)
{
	(void)state;
	reset_reported_closing(&FX_LA);
}

/*
 * F11 in CLOSE-WAIT: the reason is RESET. Which errno the calls give is
 * open (Linux: EPIPE on send, 0 on recv; coda_tcp.h: -ECONNRESET once):
 * either, but never success, and never a -EAGAIN that would have the
 * application wait for nothing.
 */
static void
test_F11_reset_reported_close_wait(void **state)
{
	struct th t;
	int32_t rc;

	(void)state;
	th_init(&t);
	th_close_wait(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_RESET);
	rc = app_send(&t, 10);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	assert_int_equal(app_send(&t, 10), -EPIPE);
	rc = app_recv(&t, 10);
	assert_true(rc == -ECONNRESET || rc == 0);
	assert_int_equal(app_recv(&t, 10), 0);
	th_fini(&t);
}

/* F11 in SYN-SENT: refused (F6). */
static void
test_F11_refused_reported_syn_sent(void **state)
{
	struct th t;
	struct th_out *o;
	int32_t rc;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = 0, .ack = o->seg.seq + 1);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_CONNECTED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_REFUSED);
	rc = app_send(&t, 10);
	assert_int_equal(rc, -ECONNREFUSED);
	assert_int_equal(app_send(&t, 10), -EPIPE);
	th_fini(&t);
}

/*
 * F11 / K2: data queued before the RST [POLICY, coda_tcp.h]: read first,
 * then -ECONNRESET once, then 0.
 */
static void
test_F11_data_before_reset_read_first_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	TB_DATA(&t, 5, 0, t.S);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(app_recv(&t, 100), 5);
	assert_int_equal(app_recv(&t, 100), -ECONNRESET);
	assert_int_equal(app_recv(&t, 100), 0);
	th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* G. SYN / ACK / data checks in synchronized and closing states       */

/*
 * G1: a SYN in a synchronized state, at any sequence number, draws a
 * challenge ACK > . seq=SND.NXT ack=RCV.NXT; no state change (RFC 5961
 * §4.2). Each probe on a fresh DUT, so the rate limit plays no part.
 */
static void
syn_challenged(const struct fx *f)
{
	static const char *const what[] = {"SYN at R-1", "SYN at R", "SYN at R+W-1",
					   "SYN at R+W", "SYN at R+2^30"};
	unsigned int i;

	for (i = 0; i < 5; i++) {
		struct th t;
		uint32_t seq;
		char label[96];

		th_init(&t);
		enter(&t, f);
		seq = i == 0 ? t.R - 1 : i == 1 ? t.R : i == 2 ? t.R + t.W - 1 : i == 3 ? t.R + t.W
										       : t.R + 0x40000000u;
		snprintf(label, sizeof(label), "%s, %s", f->name, what[i]);
		SEND(&t, .flags = TCP_SYN, .seq = seq);
		expect_challenge_ack(&t, snd_nxt(&t, f), t.R, label, __LINE__);
		expect_nothing_what(&t, label, __LINE__);
		expect_state_at(&t, f->state, label, __LINE__);
		assert_int_equal(stats(&t).tx_rst, 0);
		th_fini(&t);
	}
}

#define G1_TEST(suffix, fixture)                                                                \
	static void test_G1_syn_##suffix(void **state)                                          \
	{                                                                                       \
		(void)state;                                                                    \
		syn_challenged(&(fixture));                                                     \
	}

G1_TEST(established, FX_ESTAB)
G1_TEST(fin_wait_1, FX_FW1)
G1_TEST(fin_wait_2, FX_FW2)
G1_TEST(fin_wait_2_orphan, FX_FW2_ORPHAN)
G1_TEST(close_wait, FX_CW)
G1_TEST(closing, FX_CLOSING)
G1_TEST(last_ack, FX_LA_ORPHAN)

/*
 * G3: ACK acceptability (RFC 5961 §5.2, RFC 9293 fifth step): SEG.ACK
 * beyond SND.NXT, or below SND.UNA - MAX.SND.WND, is discarded (its data
 * too) with an ACK; SEG.ACK = SND.NXT is fine and a pure ACK draws nothing.
 */
static void
ack_acceptability(const struct fx *f)
{
	struct th t;
	uint32_t snd;

	th_init(&t);
	enter(&t, f);
	snd = snd_nxt(&t, f);
	/* Acknowledges one octet never sent. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = snd + 1);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	next_interval(&t);
	/* Data with an ACK of the unsent: dropped with the segment. */
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = snd + 2, .len = 10);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	next_interval(&t);
	/*
	 * Too old: below SND.UNA - MAX.SND.WND, whether MAX.SND.WND is the
	 * peer's largest window or the largest RFC 7323 allows.
	 */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = snd - 0x60000000u);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	next_interval(&t);
	/* Acceptable and acknowledging nothing new: no reply. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = snd);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, f->state, f->name, __LINE__);
	/* The 10 bytes were not taken: RCV.NXT is still R. */
	if (f->state != CODA_TCP_S_CLOSE_WAIT)
		assert_int_equal(app_recv(&t, 100), -EAGAIN);
	assert_int_equal(th_info(&t).rcv_nxt, t.R);
	th_fini(&t);
}

static void
test_G3_ack_acceptability_established(void **state)
{
	(void)state;
	ack_acceptability(&FX_ESTAB);
}

static void
test_G3_ack_acceptability_close_wait(void **state)
{
	(void)state;
	ack_acceptability(&FX_CW);
}

static void
test_G3_ack_acceptability_fin_wait_2(void **state)
{
	(void)state;
	ack_acceptability(&FX_FW2);
}

/*
 * G4: out-of-window segments get > . seq=SND.NXT ack=RCV.NXT and are
 * dropped: data at or beyond RCV.NXT+RCV.WND, old duplicate data; and
 * [POLICY, RFC 9293 table as tcp_tw_input() reads it] a pure ACK at
 * exactly RCV.NXT+RCV.WND.
 */
static void
out_of_window(const struct fx *f)
{
	struct th t;
	uint32_t snd;

	th_init(&t);
	enter(&t, f);
	snd = snd_nxt(&t, f);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R + t.W, .ack = snd, .len = 10);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	next_interval(&t);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R + t.W + 1000, .ack = snd, .len = 10);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	next_interval(&t);
	/* Old data, all below RCV.NXT (in CLOSE-WAIT: before the peer's FIN). */
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R - 11, .ack = snd, .len = 10);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	next_interval(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + t.W, .ack = snd);
	expect_challenge_ack(&t, snd, t.R, f->name, __LINE__);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, f->state, f->name, __LINE__);
	if (f->state != CODA_TCP_S_CLOSE_WAIT)
		assert_int_equal(app_recv(&t, 100), -EAGAIN);
	assert_int_equal(th_info(&t).rcv_nxt, t.R);
	th_fini(&t);
}

static void
test_G4_out_of_window_established(void **state)
{
	(void)state;
	out_of_window(&FX_ESTAB);
}

static void
test_G4_out_of_window_close_wait(void **state)
{
	(void)state;
	out_of_window(&FX_CW);
}

static void
test_G4_out_of_window_fin_wait_2(void **state)
{
	(void)state;
	out_of_window(&FX_FW2);
}

/* G5: segments without the ACK bit are dropped: no reply, no state change, nothing queued. */
static void
test_G5_no_ack_flag_established(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_FIN, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	SEND(&t, .flags = 0, .seq = t.R, .len = 1000);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_PSH, .seq = t.R, .len = 100);
	EXPECT_NOTHING(&t);
	/* No delayed ACK was armed for them either. */
	ADVANCE(&t, 1000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_PEER_FIN));
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_READABLE));
	assert_int_equal(app_recv(&t, 2000), -EAGAIN);
	assert_int_equal(th_info(&t).rcv_nxt, t.R);
	/* RCV.NXT did not move: data at R is new. */
	TB_DATA(&t, 10, 0, t.S);
	assert_int_equal(app_recv(&t, 100), 10);
	th_fini(&t);
}

/* G5 in a half-closed FIN-WAIT-2: a FIN without ACK does not lead to TIME-WAIT. */
static void
test_G5_no_ack_flag_fin_wait_2(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_fin_wait_2(&t, false);
	SEND(&t, .flags = TCP_FIN, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, FIN_WAIT_2);
	assert_false(ev_pending(&t, t.sock, CODA_TCP_EV_PEER_FIN));
	assert_int_equal(app_recv(&t, 100), -EAGAIN);
	th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* H. TIME-WAIT                                                         */

/* H1: after a four-way close (A1) TIME-WAIT lasts 2 MSL and is not cut short. */
static void
test_H1_time_wait_lasts_2msl(void **state)
{
	struct th t;
	uint64_t left;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	left = tw_left(&t);
	assert_true(left >= twice_msl(&t));
	assert_true(left <= twice_msl(&t) + tw_slack(&t));
	ADVANCE(&t, twice_msl(&t) - 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	ADVANCE(&t, tw_slack(&t) + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).states[CODA_TCP_S_TIME_WAIT], 0);
	th_fini(&t);
}

static void
short_msl(struct coda_tcp_conf *c)
{
	c->msl_ms = 2000;
}

/* H1: MSL is configurable; TIME-WAIT follows it (here 2 s, so 4 s). */
static void
test_H1_time_wait_follows_configured_msl(void **state)
{
	struct th t;
	uint64_t left;

	(void)state;
	th_init_conf(&t, short_msl);
	th_time_wait(&t);
	w_from_wire(&t);
	left = tw_left(&t);
	assert_true(left >= 4000);
	assert_true(left <= 4000 + tw_slack(&t));
	ADVANCE(&t, 3999);
	EXPECT_STATE(&t, TIME_WAIT);
	ADVANCE(&t, tw_slack(&t) + 1);
	EXPECT_STATE(&t, CLOSED);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/*
 * H2: a retransmitted FIN in TIME-WAIT is ACKed exactly like the first time
 * and restarts the 2 MSL timer (RFC 9293 §3.10.7.4 fifth step).
 */
static void
test_H2_fin_retransmit_time_wait(void **state)
{
	struct th t;
	struct tw_fx tw;
	struct th_out *o;
	const uint64_t delta = 20000;

	(void)state;
	th_init(&t);
	enter_time_wait(&t, &tw);
	ADVANCE(&t, delta);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	o = EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	assert_int_equal(o->seg.wnd, tw.first_ack.wnd);
	EXPECT_NOTHING(&t);
	assert_true(tw_left(&t) >= twice_msl(&t));
	/* Past the first expiry (with the wheel's slack), before the second. */
	ADVANCE(&t, twice_msl(&t) - 1);
	assert_true(t.now > tw.t0 + twice_msl(&t) + tw_slack(&t));
	EXPECT_STATE(&t, TIME_WAIT);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, tw_slack(&t) + 1);
	EXPECT_STATE(&t, CLOSED);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* H2: the re-ACK of a retransmitted FIN is never rate-limited (tcp_timewait.h). */
static void
test_H2_fin_retransmit_ack_not_rate_limited_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/* H2 / tcp_timewait.h: a pure ACK does not restart 2 MSL (Linux's restart on any ACK is not taken). */
static void
test_H2_pure_ack_does_not_restart_time_wait(void **state)
{
	struct th t;
	struct tw_fx tw;

	(void)state;
	th_init(&t);
	enter_time_wait(&t, &tw);
	ADVANCE(&t, 20000);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	assert_true(tw_left(&t) <= twice_msl(&t) - 20000 + tw_slack(&t));
	ADVANCE(&t, twice_msl(&t) - 20000 + tw_slack(&t) + 1);
	EXPECT_STATE(&t, CLOSED);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/*
 * H3: at 2 MSL the entry goes without a segment; the next segment meets the
 * CLOSED rule, and the 4-tuple takes a new connection (even a SYN that
 * TIME-WAIT would have refused).
 */
static void
test_H3_time_wait_expiry(void **state)
{
	struct th t;
	uint32_t r, s;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	r = t.R;
	s = t.S;
	ADVANCE(&t, twice_msl(&t) + tw_slack(&t));
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	SEND(&t, .flags = TCP_ACK, .seq = r, .ack = s + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = s + 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_SYN, .seq = r - 5000, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = r - 4999);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_RECEIVED);
	th_fini(&t);
}

/* H4 [POLICY, default RFC 1337 on]: an exact RST in TIME-WAIT is ignored; the FIN is still ACKed. */
static void
test_H4_rst_exact_ignored_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	assert_true(t.conf.rfc1337);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

static void
rfc1337_off(struct coda_tcp_conf *c)
{
	c->rfc1337 = false;
}

/* H4, RFC 793 mode (rfc1337 off): the exact RST ends TIME-WAIT; then the CLOSED rule. */
static void
test_H4_rst_exact_kills_rfc1337_off_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, rfc1337_off);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_RST, .seq = t.S + 1);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* H4: non-exact RSTs, in the window or out, are ignored in both modes, without a challenge ACK. */
static void
rst_not_exact_time_wait(void (*tweak)(struct coda_tcp_conf *))
{
	struct th t;

	th_init_conf(&t, tweak);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W - 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R - 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST, .seq = t.R + t.W);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_RST | TCP_ACK, .seq = t.R + 0x40000000u, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

static void
test_H4_rst_not_exact_ignored_time_wait(void **state)
{
	(void)state;
	rst_not_exact_time_wait(NULL);
}

static void
test_H4_rst_not_exact_ignored_rfc1337_off_time_wait(void **state)
{
	(void)state;
	rst_not_exact_time_wait(rfc1337_off);
}

/* H6a: a pure ACK at exactly RCV.NXT (the peer's ACK of our FIN again): no reply. */
static void
test_H6_pure_ack_at_rcv_nxt_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/* H6b: an ACK at R+1 .. R+W, or at R-1: > . seq=S+1 ack=R (one per rate-limit interval). */
static void
test_H6_ack_not_at_rcv_nxt_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + t.W / 2, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + t.W, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/* H6c: data at R: > . seq=S+1 ack=R, the text ignored. */
static void
test_H6_data_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S + 1, .len = 100);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	/* Not taken: the same data is answered with the same ACK. */
	next_interval(&t);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S + 1, .len = 100);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* H6d: FIN|ACK at R-1, R, R+1, R+W-1, R+W: > . seq=S+1 ack=R each. */
static void
test_H6_fin_ack_time_wait(void **state)
{
	struct th t;
	unsigned int i;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	for (i = 0; i < 5; i++) {
		static const char *const what[] = {"FIN at R-1", "FIN at R", "FIN at R+1",
						   "FIN at R+W-1", "FIN at R+W"};
		uint32_t seq = i == 0 ? t.R - 1 : i == 1 ? t.R : i == 2 ? t.R + 1
						 : i == 3 ? t.R + t.W - 1 : t.R + t.W;

		SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = seq, .ack = t.S + 1);
		expect_challenge_ack(&t, t.S + 1, t.R, what[i], __LINE__);
		expect_nothing_what(&t, what[i], __LINE__);
		expect_state_at(&t, CODA_TCP_S_TIME_WAIT, what[i], __LINE__);
		next_interval(&t);
	}
	th_fini(&t);
}

/* H6: a FIN without ACK in TIME-WAIT is dropped (freebsd rcv-fin-time-wait). */
static void
test_H6_fin_without_ack_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_FIN, .seq = t.R - 1);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_FIN, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/* H6: the ACKs to pure ACKs are rate-limited like F10: one per interval. */
static void
test_H6_ack_replies_rate_limited_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 2, .ack = t.S + 1);
	SEND(&t, .flags = TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, interval(&t) / 2);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 3, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	/* The store keeps the time in 8 ms units: allow for that after the interval. */
	ADVANCE(&t, interval(&t) - interval(&t) / 2 + 8);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 4, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/* H6: ACKs to data are not rate-limited, even right after a limited one. */
static void
test_H6_data_replies_not_rate_limited_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S + 1, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S + 1, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/*
 * H7: a SYN in TIME-WAIT with SEG.SEQ > RCV.NXT (no timestamps) reopens
 * [POLICY tw_reopen on]: SYN-ACK with an ISS after the old SND.NXT; the
 * entry becomes SYN-RECEIVED and the handshake completes.
 */
static void
test_H7_syn_above_rcv_nxt_reopens_time_wait(void **state)
{
	struct th t;
	struct th_out *o;
	uint32_t iss, syn;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	syn = t.R + 100000;
	SEND(&t, .flags = TCP_SYN, .seq = syn, .mss = 1460);
	o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = syn + 1);
	iss = o->seg.seq;
	EXPECT_NOTHING(&t);
	/* RFC 1122 4.2.2.13 (1): the new ISS is above the old SND.NXT (S + 1). */
	assert_true(coda_seq_gt(iss, t.S + 1));
	EXPECT_STATE(&t, SYN_RECEIVED);
	assert_int_equal(stats(&t).tw_reopened, 1);
	SEND(&t, .flags = TCP_ACK, .seq = syn + 1, .ack = iss + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, ESTABLISHED);
	assert_true(th_saw_event(&t, t.lsock, CODA_TCP_EV_ACCEPTED));
	t.sock = coda_tcp_accept(t.s, t.lsock);
	assert_true(t.sock >= 0);
	assert_int_equal(th_info(&t).irs, syn);
	th_fini(&t);
}

static void
no_tw_reopen(struct coda_tcp_conf *c)
{
	c->tw_reopen = false;
}

/* H7 with tw_reopen off: the same SYN is refused like H8 (challenge ACK), TIME-WAIT kept. */
static void
test_H7_syn_reopen_disabled_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, no_tw_reopen);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R + 100000, .mss = 1460);
	EXPECT_CHALLENGE_ACK(&t, t.S + 1, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	assert_int_equal(stats(&t).tw_reopened, 0);
	th_fini(&t);
}

/*
 * H8: a SYN with SEG.SEQ <= RCV.NXT (no timestamps) is refused; TIME-WAIT
 * kept. [POLICY, tcp_timewait.h default]: a rate-limited challenge ACK
 * > . seq=S+1 ack=R (RFC 5961 §4), never a SYN-ACK.
 */
static void
test_H8_syn_at_or_below_rcv_nxt_refused_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 1000, .mss = 1460);
	EXPECT_CHALLENGE_ACK(&t, t.S + 1, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	next_interval(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R, .mss = 1460);
	EXPECT_CHALLENGE_ACK(&t, t.S + 1, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	next_interval(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 1, .mss = 1460);
	EXPECT_CHALLENGE_ACK(&t, t.S + 1, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	assert_int_equal(stats(&t).tw_reopened, 0);
	th_fini(&t);
}

/* H8: the challenge ACKs to refused SYNs are rate-limited. */
static void
test_H8_syn_challenge_rate_limited_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 1000);
	EXPECT_CHALLENGE_ACK(&t, t.S + 1, t.R);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 1000);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 2000);
	EXPECT_NOTHING(&t);
	next_interval(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 1000);
	EXPECT_CHALLENGE_ACK(&t, t.S + 1, t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/*
 * H9: SYN in TIME-WAIT when the old connection used timestamps (RFC 6191),
 * TS.Recent = T (the TB's TSval throughout the close).
 */
static void
syn_ts_accepted(uint32_t seq_off, bool ts, uint32_t tsval_off)
{
	struct th t;
	struct th_out *o;
	uint32_t T, syn;

	th_init(&t);
	enter_time_wait_ts(&t);
	T = t.tb_tsval;
	syn = t.R + seq_off;
	SEND(&t, .flags = TCP_SYN, .seq = syn, .mss = 1460, .ts = ts, .tsval = T + tsval_off);
	if (ts)
		o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = syn + 1, .ts = 1,
				.tsecr = T + tsval_off);
	else
		o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = syn + 1, .ts = 0);
	EXPECT_NOTHING(&t);
	assert_true(coda_seq_gt(o->seg.seq, t.S + 1));
	EXPECT_STATE(&t, SYN_RECEIVED);
	th_fini(&t);
}

static void
syn_ts_refused(uint32_t seq_off, uint32_t tsval_off)
{
	struct th t;
	uint32_t T;

	th_init(&t);
	enter_time_wait_ts(&t);
	T = t.tb_tsval;
	SEND(&t, .flags = TCP_SYN, .seq = t.R + seq_off, .mss = 1460, .ts = true,
	     .tsval = T + tsval_off);
	/* The challenge ACK of a timestamped connection carries TSecr = TS.Recent. */
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R, .ts = 1, .tsecr = T);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	assert_int_equal(stats(&t).tw_reopened, 0);
	th_fini(&t);
}

/* H9a: a newer TSval reopens, even with a lower sequence number. */
static void
test_H9_syn_newer_tsval_lower_seq_reopens_time_wait(void **state)
{
	(void)state;
	syn_ts_accepted((uint32_t)-1000, true, 1000);
}

/* H9b: TSval = T and SEG.SEQ > RCV.NXT reopens. */
static void
test_H9_syn_equal_tsval_higher_seq_reopens_time_wait(void **state)
{
	(void)state;
	syn_ts_accepted(100000, true, 0);
}

/* H9c: no timestamps on the SYN, SEG.SEQ > RCV.NXT: reopens (without timestamps). */
static void
test_H9_syn_without_ts_higher_seq_reopens_time_wait(void **state)
{
	(void)state;
	syn_ts_accepted(100000, false, 0);
}

/* H9d: TSval < T (PAWS) is refused whatever the sequence number. */
static void
test_H9_syn_older_tsval_refused_time_wait(void **state)
{
	(void)state;
	syn_ts_refused(100000, (uint32_t)-1);
}

/* H9e: TSval = T and SEG.SEQ <= RCV.NXT: no evidence, refused. */
static void
test_H9_syn_equal_tsval_lower_seq_refused_time_wait(void **state)
{
	(void)state;
	syn_ts_refused((uint32_t)-1000, 0);
}

/* H11: who lingers. The active closer (A1) ends in TIME-WAIT. */
static void
test_H11_active_close_lingers(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	assert_int_equal(stats(&t).tw_entered, 1);
	assert_int_equal(stats(&t).states[CODA_TCP_S_TIME_WAIT], 1);
	th_fini(&t);
}

/* H11: A5, the peer answers our FIN with one FIN|ACK: TIME-WAIT directly. */
static void
test_H11_three_way_close_lingers(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_fin_wait_1(&t, true);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	assert_int_equal(stats(&t).tw_entered, 1);
	th_fini(&t);
}

/* H11: C1, simultaneous close: CLOSING, then TIME-WAIT. */
static void
test_H11_simultaneous_close_lingers(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_closing(&t, true);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	assert_int_equal(stats(&t).tw_entered, 1);
	th_fini(&t);
}

/* H11: the passive closer (B3) goes LAST-ACK → CLOSED with no TIME-WAIT. */
static void
test_H11_passive_close_does_not_linger(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_last_ack(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(stats(&t).tw_entered, 0);
	assert_int_equal(stats(&t).states[CODA_TCP_S_TIME_WAIT], 0);
	assert_int_equal(stats(&t).closed[CODA_TCP_CLOSE_NORMAL], 1);
	th_fini(&t);
}

/*
 * H12: TIME-WAIT is invisible to the application (its socket is gone) but
 * holds the 4-tuple: the DUT still answers, and connect() to the same
 * 4-tuple fails with -EADDRINUSE [POLICY, coda_tcp.h] until 2 MSL is over.
 */
static void
test_H12_time_wait_holds_4tuple(void **state)
{
	struct th t;
	struct tw_fx tw;
	struct coda_tcp_info info;
	int sock;

	(void)state;
	th_init(&t);
	enter_time_wait(&t, &tw);
	assert_int_equal(coda_tcp_info(t.s, tw.old_sock, &info), -EBADF);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	assert_int_equal(coda_tcp_connect(t.s, &t.key, t.now), -EADDRINUSE);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	ADVANCE(&t, twice_msl(&t) + tw_slack(&t));
	EXPECT_STATE(&t, CLOSED);
	sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(sock >= 0);
	EXPECT_SENT(&t, .flags = TCP_SYN);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, SYN_SENT);
	th_fini(&t);
}

/*
 * H13: data after the peer's FIN is ignored (RFC 9293 seventh step: "This
 * should not occur since a FIN has been received ... Ignore the segment
 * text"); by the RFC's steps no segment goes out either.
 */
static void
data_after_fin_ignored(const struct fx *f)
{
	struct th t;
	uint32_t snd;

	th_init(&t);
	enter(&t, f);
	/* Not covering our FIN, so CLOSING and LAST-ACK stay where they are. */
	snd = t.S;
	SEND(&t, .flags = TCP_PSH | TCP_ACK, .seq = t.R, .ack = snd, .len = 10);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, f->state, f->name, __LINE__);
	RAW(&t, .flags = TCP_URG | TCP_PSH | TCP_ACK, .seq = t.R, .ack = snd, .len = 10, .urp = 5);
	expect_nothing_what(&t, f->name, __LINE__);
	expect_state_at(&t, f->state, f->name, __LINE__);
	if (f->attached) {
		struct coda_tcp_info info = th_info(&t);

		assert_int_equal(info.rcv_nxt, t.R);
		assert_int_equal(info.readable, 0);
		assert_int_equal(app_recv(&t, 100), 0);
	}
	th_fini(&t);
}

static void
test_H13_data_after_fin_close_wait(void **state)
{
	(void)state;
	data_after_fin_ignored(&FX_CW);
}

static void
test_H13_data_after_fin_closing(void **state)
{
	(void)state;
	data_after_fin_ignored(&FX_CLOSING);
}

static void
test_H13_data_after_fin_last_ack(void **state)
{
	(void)state;
	data_after_fin_ignored(&FX_LA);
}

/* H13 in TIME-WAIT: the text is ignored and answered with an ACK (H6c), URG too. */
static void
test_H13_data_after_fin_time_wait(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	w_from_wire(&t);
	RAW(&t, .flags = TCP_URG | TCP_PSH | TCP_ACK, .seq = t.R, .ack = t.S + 1, .len = 10,
	    .urp = 5);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

/*
 * H14: TIME-WAIT pool exhaustion. A connection from TB port @p port, opened
 * passively and closed actively to its end: returns its key.
 */
static struct coda_conntab_key
active_close_from(struct th *t, uint16_t port)
{
	struct coda_conntab_key k = key_for(TH_DUT_PORT, port);
	struct th_out *o;
	uint32_t iss;
	uint64_t left;
	int sock;

	RAW(t, .sport = port, .flags = TCP_SYN, .seq = TH_TB_ISN);
	expect_to_port(t, TH_DUT_PORT, port, __LINE__);
	o = EXPECT_SENT(t, .flags = TCP_SYN | TCP_ACK, .ack = TH_TB_ISN + 1);
	iss = o->seg.seq;
	RAW(t, .sport = port, .flags = TCP_ACK, .seq = TH_TB_ISN + 1, .ack = iss + 1);
	EXPECT_NOTHING(t);
	assert_true(th_saw_event(t, t->lsock, CODA_TCP_EV_ACCEPTED));
	sock = coda_tcp_accept(t->s, t->lsock);
	assert_true(sock >= 0);
	assert_int_equal(coda_tcp_close(t->s, sock, t->now), 0);
	expect_to_port(t, TH_DUT_PORT, port, __LINE__);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = iss + 1, .ack = TH_TB_ISN + 1);
	RAW(t, .sport = port, .flags = TCP_ACK, .seq = TH_TB_ISN + 1, .ack = iss + 2);
	EXPECT_NOTHING(t);
	assert_int_equal(coda_tcp_lookup(t->s, &k, t->now, &left), CODA_TCP_S_FIN_WAIT_2);
	RAW(t, .sport = port, .flags = TCP_FIN | TCP_ACK, .seq = TH_TB_ISN + 1, .ack = iss + 2);
	/* The close completes whatever the pool holds: the peer's FIN is ACKed. */
	expect_to_port(t, TH_DUT_PORT, port, __LINE__);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = iss + 2, .ack = TH_TB_ISN + 2);
	EXPECT_NOTHING(t);
	return k;
}

static void
tiny_tw_recycle(struct coda_tcp_conf *c)
{
	c->nb_tw = 2;
	c->tw_policy = CODA_CONNTAB_TW_RECYCLE;
}

static void
tiny_tw_skip(struct coda_tcp_conf *c)
{
	c->nb_tw = 2;
	c->tw_policy = CODA_CONNTAB_TW_SKIP;
}

static enum coda_tcp_state
lookup(struct th *t, const struct coda_conntab_key *k)
{
	uint64_t left;

	return coda_tcp_lookup(t->s, k, t->now, &left);
}

/*
 * H14 [POLICY RECYCLE, the default]: a third connection entering TIME-WAIT
 * in a pool of two recycles the oldest entry, counted.
 */
static void
test_H14_tw_pool_full_recycles_oldest(void **state)
{
	struct th t;
	struct coda_conntab_key a, b, c;

	(void)state;
	th_init_conf(&t, tiny_tw_recycle);
	a = active_close_from(&t, 40001);
	assert_int_equal(lookup(&t, &a), CODA_TCP_S_TIME_WAIT);
	/* More than the wheel's granularity apart, so "oldest" is unambiguous. */
	ADVANCE(&t, 10000);
	b = active_close_from(&t, 40002);
	ADVANCE(&t, 10000);
	c = active_close_from(&t, 40003);
	assert_int_equal(lookup(&t, &a), CODA_TCP_S_CLOSED);
	assert_int_equal(lookup(&t, &b), CODA_TCP_S_TIME_WAIT);
	assert_int_equal(lookup(&t, &c), CODA_TCP_S_TIME_WAIT);
	assert_int_equal(tab_stats(&t).tw_recycled, 1);
	assert_int_equal(stats(&t).states[CODA_TCP_S_TIME_WAIT], 2);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* H14 [POLICY SKIP]: with the pool full, the new connection closes without TIME-WAIT, counted. */
static void
test_H14_tw_pool_full_skips(void **state)
{
	struct th t;
	struct coda_conntab_key a, b, c;

	(void)state;
	th_init_conf(&t, tiny_tw_skip);
	a = active_close_from(&t, 40001);
	b = active_close_from(&t, 40002);
	c = active_close_from(&t, 40003);
	assert_int_equal(lookup(&t, &a), CODA_TCP_S_TIME_WAIT);
	assert_int_equal(lookup(&t, &b), CODA_TCP_S_TIME_WAIT);
	assert_int_equal(lookup(&t, &c), CODA_TCP_S_CLOSED);
	assert_int_equal(tab_stats(&t).tw_skipped, 1);
	assert_int_equal(stats(&t).states[CODA_TCP_S_TIME_WAIT], 2);
	/* Nothing leaked: both entries still expire. */
	ADVANCE(&t, twice_msl(&t) + tw_slack(&t));
	assert_int_equal(lookup(&t, &a), CODA_TCP_S_CLOSED);
	assert_int_equal(lookup(&t, &b), CODA_TCP_S_CLOSED);
	assert_int_equal(stats(&t).states[CODA_TCP_S_TIME_WAIT], 0);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* E */
		cmocka_unit_test(test_E1_close_with_unread_data_sends_rst_established),
		cmocka_unit_test(test_E1_close_with_unread_data_sends_rst_close_wait),
		cmocka_unit_test(test_E1_close_with_unread_data_policy_off_sends_fin),
		cmocka_unit_test(test_E2_close_after_reading_all_sends_fin),
		cmocka_unit_test(test_E3_data_after_close_fin_wait_2),
		cmocka_unit_test(test_E3_data_after_close_fin_wait_1),
		cmocka_unit_test(test_E3_data_half_closed_fin_wait_2_is_acked),
		cmocka_unit_test(test_E4_abort_established),
		cmocka_unit_test(test_E4_abort_fin_wait_1),
		cmocka_unit_test(test_E4_abort_fin_wait_2),
		cmocka_unit_test(test_E4_abort_close_wait),
		cmocka_unit_test(test_E4_abort_flushes_unacked_data_established),
		cmocka_unit_test(test_E4_abort_flushes_unsent_data_established),
		cmocka_unit_test(test_E4_abort_rst_carries_timestamps_established),
		cmocka_unit_test(test_E5_abort_sends_nothing_closing),
		cmocka_unit_test(test_E5_abort_sends_nothing_last_ack),
		cmocka_unit_test(test_E5_abort_sends_nothing_time_wait),
		cmocka_unit_test(test_E5_abort_sends_nothing_syn_sent),
		cmocka_unit_test(test_E7_rst_not_answered_closed),
		cmocka_unit_test(test_E7_rst_not_answered_listen),
		cmocka_unit_test(test_E7_rst_not_answered_time_wait),
		cmocka_unit_test(test_E7_rst_not_answered_established),
		cmocka_unit_test(test_E8_ack_no_tcb),
		cmocka_unit_test(test_E8_syn_no_tcb),
		cmocka_unit_test(test_E8_fin_no_tcb),
		cmocka_unit_test(test_E8_data_no_tcb),
		cmocka_unit_test(test_E8_data_no_ack_no_tcb),
		cmocka_unit_test(test_E8_ack_after_last_ack_closed),
		cmocka_unit_test(test_E9_bad_ack_syn_sent),
		cmocka_unit_test(test_E9_ack_listen),
		cmocka_unit_test(test_E9_syn_ack_listen),
		/* F */
		cmocka_unit_test(test_F1_rst_exact_established),
		cmocka_unit_test(test_F1_rst_ack_exact_established),
		cmocka_unit_test(test_F2_rst_in_window_established),
		cmocka_unit_test(test_F3_rst_out_of_window_established),
		F4_UNIT_TESTS(fin_wait_1),
		F4_UNIT_TESTS(fin_wait_1_orphan),
		F4_UNIT_TESTS(fin_wait_2),
		F4_UNIT_TESTS(fin_wait_2_orphan),
		F4_UNIT_TESTS(close_wait),
		F4_UNIT_TESTS(closing),
		F4_UNIT_TESTS(closing_orphan),
		F4_UNIT_TESTS(last_ack),
		F4_UNIT_TESTS(last_ack_orphan),
		cmocka_unit_test(test_F6_rst_bad_ack_syn_sent),
		cmocka_unit_test(test_F6_rst_ack_of_syn_refuses_syn_sent),
		cmocka_unit_test(test_F7_rst_syn_received_passive),
		cmocka_unit_test(test_F7_rst_syn_received_active),
		cmocka_unit_test(test_F8_rst_listen),
		cmocka_unit_test(test_F10_challenge_ack_rate_limited_rst_established),
		cmocka_unit_test(test_F10_challenge_ack_rate_limited_syn_established),
		cmocka_unit_test(test_F10_out_of_window_data_not_rate_limited_established),
		cmocka_unit_test(test_F11_reset_reported_established),
		cmocka_unit_test(test_F11_reset_reported_fin_wait_1),
		cmocka_unit_test(test_F11_reset_reported_fin_wait_2),
		cmocka_unit_test(test_F11_reset_reported_closing),
		cmocka_unit_test(test_F11_reset_reported_last_ack),
		cmocka_unit_test(test_F11_reset_reported_close_wait),
		cmocka_unit_test(test_F11_refused_reported_syn_sent),
		cmocka_unit_test(test_F11_data_before_reset_read_first_established),
		/* G */
		cmocka_unit_test(test_G1_syn_established),
		cmocka_unit_test(test_G1_syn_fin_wait_1),
		cmocka_unit_test(test_G1_syn_fin_wait_2),
		cmocka_unit_test(test_G1_syn_fin_wait_2_orphan),
		cmocka_unit_test(test_G1_syn_close_wait),
		cmocka_unit_test(test_G1_syn_closing),
		cmocka_unit_test(test_G1_syn_last_ack),
		cmocka_unit_test(test_G3_ack_acceptability_established),
		cmocka_unit_test(test_G3_ack_acceptability_close_wait),
		cmocka_unit_test(test_G3_ack_acceptability_fin_wait_2),
		cmocka_unit_test(test_G4_out_of_window_established),
		cmocka_unit_test(test_G4_out_of_window_close_wait),
		cmocka_unit_test(test_G4_out_of_window_fin_wait_2),
		cmocka_unit_test(test_G5_no_ack_flag_established),
		cmocka_unit_test(test_G5_no_ack_flag_fin_wait_2),
		/* H */
		cmocka_unit_test(test_H1_time_wait_lasts_2msl),
		cmocka_unit_test(test_H1_time_wait_follows_configured_msl),
		cmocka_unit_test(test_H2_fin_retransmit_time_wait),
		cmocka_unit_test(test_H2_fin_retransmit_ack_not_rate_limited_time_wait),
		cmocka_unit_test(test_H2_pure_ack_does_not_restart_time_wait),
		cmocka_unit_test(test_H3_time_wait_expiry),
		cmocka_unit_test(test_H4_rst_exact_ignored_time_wait),
		cmocka_unit_test(test_H4_rst_exact_kills_rfc1337_off_time_wait),
		cmocka_unit_test(test_H4_rst_not_exact_ignored_time_wait),
		cmocka_unit_test(test_H4_rst_not_exact_ignored_rfc1337_off_time_wait),
		cmocka_unit_test(test_H6_pure_ack_at_rcv_nxt_time_wait),
		cmocka_unit_test(test_H6_ack_not_at_rcv_nxt_time_wait),
		cmocka_unit_test(test_H6_data_time_wait),
		cmocka_unit_test(test_H6_fin_ack_time_wait),
		cmocka_unit_test(test_H6_fin_without_ack_time_wait),
		cmocka_unit_test(test_H6_ack_replies_rate_limited_time_wait),
		cmocka_unit_test(test_H6_data_replies_not_rate_limited_time_wait),
		cmocka_unit_test(test_H7_syn_above_rcv_nxt_reopens_time_wait),
		cmocka_unit_test(test_H7_syn_reopen_disabled_time_wait),
		cmocka_unit_test(test_H8_syn_at_or_below_rcv_nxt_refused_time_wait),
		cmocka_unit_test(test_H8_syn_challenge_rate_limited_time_wait),
		cmocka_unit_test(test_H9_syn_newer_tsval_lower_seq_reopens_time_wait),
		cmocka_unit_test(test_H9_syn_equal_tsval_higher_seq_reopens_time_wait),
		cmocka_unit_test(test_H9_syn_without_ts_higher_seq_reopens_time_wait),
		cmocka_unit_test(test_H9_syn_older_tsval_refused_time_wait),
		cmocka_unit_test(test_H9_syn_equal_tsval_lower_seq_refused_time_wait),
		cmocka_unit_test(test_H11_active_close_lingers),
		cmocka_unit_test(test_H11_three_way_close_lingers),
		cmocka_unit_test(test_H11_simultaneous_close_lingers),
		cmocka_unit_test(test_H11_passive_close_does_not_linger),
		cmocka_unit_test(test_H12_time_wait_holds_4tuple),
		cmocka_unit_test(test_H13_data_after_fin_close_wait),
		cmocka_unit_test(test_H13_data_after_fin_closing),
		cmocka_unit_test(test_H13_data_after_fin_last_ack),
		cmocka_unit_test(test_H13_data_after_fin_time_wait),
		cmocka_unit_test(test_H14_tw_pool_full_recycles_oldest),
		cmocka_unit_test(test_H14_tw_pool_full_skips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
