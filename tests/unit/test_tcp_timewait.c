/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/tcp's TIME-WAIT decision function, tcp_tw_input().
 *
 * Each test is one case or sub-case of ../shared/conformance/CASES.md
 * section H (or a rule it relies on: PAWS, the rate limit, the ACK check),
 * named after it, and reads like a trace: SEND() injects a segment into a
 * TIME-WAIT entry, EXPECT_*() checks what the function decided. Names
 * follow CASES.md: R = RCV.NXT (after the peer's FIN), S1 = SND.NXT (after
 * our FIN: CASES.md's "S+1"), W = RCV.WND in bytes, T = TS.Recent.
 *
 * Time is injected: t->now is the TIME-WAIT clock, in ms.
 *
 * A randomized test then throws 100k random segments at random entries
 * under random policies and checks the invariants every verdict must keep.
 */

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tcp_timewait.h"
#include "test_rng.h"

#define R UINT32_C(0x30000000)	/* RCV.NXT: the peer's FIN was at R - 1. */
#define S1 UINT32_C(0x10000001) /* SND.NXT: our FIN was at S1 - 1. */
#define WND 8192		/* The entry's window field. */
#define W ((uint32_t)WND)	/* RCV.WND in bytes, window scale 0. */
#define T UINT32_C(1000000)	/* TS.Recent. */
#define T0 UINT64_C(1000000000) /* TIME-WAIT clock when the entry was made, ms. */
#define MSL2 UINT64_C(60000)	/* 2 MSL, the default. */
#define DAY_MS (UINT64_C(24) * 60 * 60 * 1000)

/* One TIME-WAIT entry, its policies, the clock, and the last decision. */
struct tw_test {
	struct tcp_tw_conf conf;
	struct coda_conntab_tw tw;
	uint64_t now;
	struct tcp_tw_action act;
};

static struct tw_test fixture;

/* TIME-WAIT after A1 without timestamps: R, S1, W; default policies. */
static int
setup_tw(void **state)
{
	const struct tcp_tw_conf def = TCP_TW_CONF_DEFAULT;

	memset(&fixture, 0, sizeof(fixture));
	fixture.conf = def;
	fixture.tw.snd_nxt = S1;
	fixture.tw.rcv_nxt = R;
	fixture.tw.rcv_wnd = WND;
	fixture.now = T0;
	*state = &fixture;
	return 0;
}

/* The same with timestamps: TS.Recent = T, set when TIME-WAIT began. */
static int
setup_tw_ts(void **state)
{
	setup_tw(state);
	fixture.tw.ts_on = 1;
	fixture.tw.ts_recent = T;
	fixture.tw.ts_recent_ms = T0;
	return 0;
}

/* Inject a segment: SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1). */
#define SEND(t, ...)                                                                             \
	tcp_tw_input(&(t)->conf, &(t)->tw,                                                       \
		     &(const struct tcp_seg){.hdr_len = TCP_HDR_MIN_LEN, __VA_ARGS__}, (t)->now, \
		     &(t)->act)

/* A Timestamps option with TSval v, inside SEND(). */
#define TS(v) .opts = TCP_OPT_TS, .tsval = (v)

/* Expect > . seq=SND.NXT ack=RCV.NXT win=<entry's field>, for reason @p why. */
#define EXPECT_ACK(t, why)                                                                   \
	do {                                                                                 \
		assert_int_equal((t)->act.verdict, TCP_TW_ACK);                              \
		assert_int_equal((t)->act.reason, (why));                                    \
		assert_int_equal((t)->act.ack_seq, (t)->tw.snd_nxt);                         \
		assert_int_equal((t)->act.ack_ack, (t)->tw.rcv_nxt);                         \
		assert_int_equal((t)->act.ack_wnd, (t)->tw.rcv_wnd);                         \
		assert_int_equal((t)->act.ack_ts, (t)->tw.ts_on);                            \
		assert_int_equal((t)->act.ack_tsecr, (t)->tw.ts_on ? (t)->tw.ts_recent : 0); \
		assert_false((t)->act.kill);                                                 \
		assert_false((t)->act.rate_limited);                                         \
	} while (0)

/* Expect nothing sent, nothing suppressed, for reason @p why. */
#define EXPECT_DROP(t, why)                                      \
	do {                                                     \
		assert_int_equal((t)->act.verdict, TCP_TW_DROP); \
		assert_int_equal((t)->act.reason, (why));        \
		assert_int_equal((t)->act.ack_seq, 0);           \
		assert_int_equal((t)->act.ack_ack, 0);           \
		assert_false((t)->act.ack_ts);                   \
		assert_false((t)->act.rate_limited);             \
		assert_false((t)->act.restart);                  \
	} while (0)

/* Expect an ACK that was due for reason @p why but suppressed by the rate limit. */
#define EXPECT_LIMITED(t, why)                                   \
	do {                                                     \
		assert_int_equal((t)->act.verdict, TCP_TW_DROP); \
		assert_int_equal((t)->act.reason, (why));        \
		assert_true((t)->act.rate_limited);              \
		assert_false((t)->act.update);                   \
		assert_int_equal((t)->act.ack_seq, 0);           \
	} while (0)

/* Expect a reopen with the old SND.NXT as the ISS floor. */
#define EXPECT_REOPEN(t, with_ts)                                            \
	do {                                                                 \
		assert_int_equal((t)->act.verdict, TCP_TW_REOPEN);           \
		assert_int_equal((t)->act.reason, TCP_TW_REASON_SYN_REOPEN); \
		assert_int_equal((t)->act.iss_floor, (t)->tw.snd_nxt);       \
		assert_int_equal((t)->act.reopen_ts, (with_ts));             \
		assert_false((t)->act.restart);                              \
		assert_false((t)->act.kill);                                 \
		assert_false((t)->act.update);                               \
		assert_int_equal((t)->act.ack_seq, 0);                       \
	} while (0)

/* Expect the 2 MSL timer restarted from now. */
#define EXPECT_RESTART(t)                                                             \
	do {                                                                          \
		assert_true((t)->act.restart);                                        \
		assert_int_equal((t)->act.expiry, (t)->now + (t)->conf.twice_msl_ms); \
	} while (0)

/* Let more than the rate-limit interval pass. */
#define WAIT_INTERVAL(t) ((t)->now += (t)->conf.ack_interval_ms)

/* ---- H2: retransmitted FIN ------------------------------------------------------------------- */

static void
test_H2_retransmitted_fin_reacked_and_restarts(void **state)
{
	struct tw_test *t = *state;

	/* TIME-WAIT since T0; the peer lost our ACK and retransmits its FIN 5 s later. */
	t->now = T0 + 5000;
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1);
	/* > . seq=S1 ack=R: identical to the first ACK (ack of the FIN at R - 1). */
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	assert_int_equal(t->act.ack_seq, S1);
	assert_int_equal(t->act.ack_ack, R);
	assert_int_equal(t->act.ack_wnd, WND);
	/* TIME-WAIT now ends at T0 + 5 s + 2 MSL, not T0 + 2 MSL. */
	EXPECT_RESTART(t);
	assert_int_equal(t->act.expiry, T0 + 5000 + MSL2);
	/* Not a rate-limited ACK: the entry is unchanged. */
	assert_false(t->act.update);
	assert_int_equal(t->tw.last_ack_ms, 0);
}

static void
test_H2_retransmitted_fin_never_rate_limited(void **state)
{
	struct tw_test *t = *state;
	int i;

	/* A rate-limited ACK was just sent ... */
	t->tw.last_ack_ms = t->now;
	/* ... and the peer retransmits its FIN three times within a millisecond. */
	for (i = 0; i < 3; i++) {
		SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1);
		EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
		EXPECT_RESTART(t);
	}
}

static void
test_H2_retransmitted_data_and_fin_reacked(void **state)
{
	struct tw_test *t = *state;

	/* With RFC 9293's MSL of 2 minutes this time: TIME-WAIT is 4 minutes. */
	t->conf.twice_msl_ms = 4 * 60 * 1000;
	/* The last 10 bytes and the FIN again: < FP. seq=R-11 len=10. */
	SEND(t, .flags = TCP_FIN | TCP_PSH | TCP_ACK, .seq = R - 11, .ack = S1, .payload_len = 10);
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	EXPECT_RESTART(t);
	assert_int_equal(t->act.expiry, T0 + 240000);
}

static void
test_H2_retransmitted_fin_ts_echoes_first_fin(void **state)
{
	struct tw_test *t = *state;

	/* The retransmission carries a newer TSval; the ACK still echoes T. */
	t->now = T0 + 1000;
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1, TS(T + 1000));
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	EXPECT_RESTART(t);
	assert_true(t->act.ack_ts);
	assert_int_equal(t->act.ack_tsecr, T);
	assert_false(t->act.update);
	assert_int_equal(t->tw.ts_recent, T);
}

static void
test_H2_retransmitted_fin_unacceptable_ack_no_restart(void **state)
{
	struct tw_test *t = *state;

	/* SEG.ACK beyond SND.NXT: not the peer's FIN; ACK (RFC 5961 §5.2), no restart. */
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1 + 1);
	EXPECT_ACK(t, TCP_TW_REASON_ACK_UNACCEPTABLE);
	assert_false(t->act.restart);
}

/* ---- H4: RST in TIME-WAIT -------------------------------------------------------------------- */

static void
test_H4_rst_exact_rfc1337_on(void **state)
{
	struct tw_test *t = *state;

	/* < R seq=R: ignored, no output, TIME-WAIT stays. */
	SEND(t, .flags = TCP_RST, .seq = R);
	EXPECT_DROP(t, TCP_TW_REASON_RST_IGNORED);
	assert_false(t->act.kill);
	assert_false(t->act.update);
	/* < R. too. */
	SEND(t, .flags = TCP_RST | TCP_ACK, .seq = R, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_RST_IGNORED);
	assert_false(t->act.kill);
	/* A later retransmitted FIN is still ACKed. */
	t->now += 1000;
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	EXPECT_RESTART(t);
}

static void
test_H4_rst_exact_rfc1337_off(void **state)
{
	struct tw_test *t = *state;

	t->conf.rfc1337 = false;
	/* < R seq=R: TIME-WAIT ends (CLOSED; the caller's no-TCB rule answers later segments). */
	SEND(t, .flags = TCP_RST, .seq = R);
	EXPECT_DROP(t, TCP_TW_REASON_RST_KILL);
	assert_true(t->act.kill);
	/* < R. seq=R likewise. */
	SEND(t, .flags = TCP_RST | TCP_ACK, .seq = R, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_RST_KILL);
	assert_true(t->act.kill);
}

static void
check_rst_in_window(struct tw_test *t)
{
	const uint32_t offs[] = {1, 2, W / 2, W - 1};
	unsigned int i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		SEND(t, .flags = TCP_RST, .seq = R + offs[i]);
		/* Ignored: no challenge ACK in TIME-WAIT, and no kill. */
		EXPECT_DROP(t, TCP_TW_REASON_RST_IN_WINDOW);
		assert_false(t->act.kill);
		assert_false(t->act.update);
	}
}

static void
test_H4_rst_in_window_rfc1337_on(void **state)
{
	check_rst_in_window(*state);
}

static void
test_H4_rst_in_window_rfc1337_off(void **state)
{
	struct tw_test *t = *state;

	t->conf.rfc1337 = false;
	check_rst_in_window(t);
}

static void
check_rst_out_of_window(struct tw_test *t)
{
	const uint32_t seqs[] = {R - 1, R - 2, R + W, R + W + 1, R + UINT32_C(0x80000000), R - W};
	unsigned int i;

	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		SEND(t, .flags = TCP_RST | TCP_ACK, .seq = seqs[i], .ack = S1);
		EXPECT_DROP(t, TCP_TW_REASON_RST_OUT_OF_WINDOW);
		assert_false(t->act.kill);
	}
}

static void
test_H4_rst_out_of_window_rfc1337_on(void **state)
{
	check_rst_out_of_window(*state);
}

static void
test_H4_rst_out_of_window_rfc1337_off(void **state)
{
	struct tw_test *t = *state;

	t->conf.rfc1337 = false;
	check_rst_out_of_window(t);
}

static void
test_H4_rst_no_paws_rfc1337_off(void **state)
{
	struct tw_test *t = *state;

	/* PAWS is never applied to an RST: an old TSval at R still ends TIME-WAIT ... */
	t->conf.rfc1337 = false;
	SEND(t, .flags = TCP_RST, .seq = R, TS(T - 100));
	EXPECT_DROP(t, TCP_TW_REASON_RST_KILL);
	assert_true(t->act.kill);
	/* ... and so does one without a Timestamps option. */
	SEND(t, .flags = TCP_RST, .seq = R);
	assert_true(t->act.kill);
	/* With RFC 1337 on, both are ignored, and TS.Recent is untouched. */
	t->conf.rfc1337 = true;
	SEND(t, .flags = TCP_RST, .seq = R, TS(T + 100));
	EXPECT_DROP(t, TCP_TW_REASON_RST_IGNORED);
	assert_false(t->act.update);
	assert_int_equal(t->tw.ts_recent, T);
}

static void
test_H4_rst_with_syn_is_an_rst(void **state)
{
	struct tw_test *t = *state;

	/* RST is checked before SYN (second step before fourth): no reopen, no ACK. */
	SEND(t, .flags = TCP_RST | TCP_SYN, .seq = R + 100000);
	EXPECT_DROP(t, TCP_TW_REASON_RST_OUT_OF_WINDOW);
	t->conf.rfc1337 = false;
	SEND(t, .flags = TCP_RST | TCP_SYN, .seq = R);
	EXPECT_DROP(t, TCP_TW_REASON_RST_KILL);
	assert_true(t->act.kill);
}

/* ---- H6: other segments in TIME-WAIT --------------------------------------------------------- */

static void
test_H6a_pure_ack_at_rcv_nxt_no_reply(void **state)
{
	struct tw_test *t = *state;

	/* < . seq=R ack=S1: nothing, and the timer is not restarted (Linux would). */
	t->now += 7000;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	assert_false(t->act.update);
	/* An older SEG.ACK is a duplicate too. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1 - 1);
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
}

static void
test_H6a_pure_ack_at_rcv_nxt_records_ts(void **state)
{
	struct tw_test *t = *state;

	/* RFC 7323 R3: SEG.SEQ = Last.ACK.sent, TSval >= TS.Recent: record it. */
	t->now = T0 + 3000;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T + 30));
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	assert_true(t->act.update);
	assert_int_equal(t->tw.ts_recent, T + 30);
	assert_int_equal(t->tw.ts_recent_ms, T0 + 3000);
	/* Equal TSval: still recorded (R3 has no "greater"). */
	t->now += 10;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T + 30));
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	assert_true(t->act.update);
	assert_int_equal(t->tw.ts_recent_ms, T0 + 3010);
}

static void
test_H6b_ack_right_of_rcv_nxt_acked(void **state)
{
	struct tw_test *t = *state;
	const uint32_t seqs[] = {R + 1, R + W / 2, R + W - 1};
	unsigned int i;

	/* In the window but past the peer's FIN: > . ack=R. */
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		WAIT_INTERVAL(t);
		SEND(t, .flags = TCP_ACK, .seq = seqs[i], .ack = S1);
		EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
		assert_false(t->act.restart);
		/* A rate-limited ACK: its time is recorded. */
		assert_true(t->act.update);
		assert_int_equal(t->tw.last_ack_ms, t->now);
	}
	/* R + W: outside the window (RFC 9293 Table 6; Linux accepts it silently). */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = R + W, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_false(t->act.restart);
}

static void
test_H6b_ack_left_of_rcv_nxt_acked(void **state)
{
	struct tw_test *t = *state;

	/* < . seq=R-1: an old duplicate, not acceptable: > . ack=R. */
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_false(t->act.restart);
	assert_int_equal(t->tw.last_ack_ms, t->now);
}

static void
test_H6c_data_at_rcv_nxt_acked_text_ignored(void **state)
{
	struct tw_test *t = *state;

	/* < P. seq=R len=100: > . ack=R (the text is not taken: RCV.NXT stays). */
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = R, .ack = S1, .payload_len = 100);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	assert_int_equal(t->act.ack_ack, R);
	assert_int_equal(t->tw.rcv_nxt, R);
	assert_false(t->act.restart);
	/* An ACK for text is never rate-limited: the same again at once is ACKed. */
	assert_false(t->act.update);
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = R, .ack = S1, .payload_len = 100);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
}

static void
test_H6d_fin_ack_at_edges_acked(void **state)
{
	struct tw_test *t = *state;
	const struct {
		uint32_t seq;
		enum tcp_tw_reason why;
		bool restart;
	} cases[] = {
		{R - 1, TCP_TW_REASON_FIN_RETRANSMIT, true},
		{R, TCP_TW_REASON_AFTER_FIN, false},
		{R + 1, TCP_TW_REASON_AFTER_FIN, false},
		{R + W - 1, TCP_TW_REASON_AFTER_FIN, false},
		{R + W, TCP_TW_REASON_OUT_OF_WINDOW, false},
	};
	unsigned int i;

	/* < F. at R-1, R, R+1, R+W-1, R+W: > . ack=R each time, none rate-limited. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = cases[i].seq, .ack = S1);
		EXPECT_ACK(t, cases[i].why);
		/* Only the retransmission of the peer's FIN (at R - 1) restarts 2 MSL. */
		assert_int_equal(t->act.restart, cases[i].restart);
	}
}

static void
test_H6d_fin_without_ack_dropped(void **state)
{
	struct tw_test *t = *state;
	const uint32_t seqs[] = {R - 1, R, R + 1, R + W};
	unsigned int i;

	/* < F at any sequence number: dropped, no reply, no restart. */
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		SEND(t, .flags = TCP_FIN, .seq = seqs[i]);
		EXPECT_DROP(t, TCP_TW_REASON_NO_ACK_FLAG);
	}
	/* < - seq=R len=1000 (no flags), < FPU: likewise. */
	SEND(t, .flags = 0, .seq = R, .payload_len = 1000);
	EXPECT_DROP(t, TCP_TW_REASON_NO_ACK_FLAG);
	SEND(t, .flags = TCP_FIN | TCP_PSH | TCP_URG, .seq = R - 1);
	EXPECT_DROP(t, TCP_TW_REASON_NO_ACK_FLAG);
}

static void
test_H6_ack_beyond_snd_nxt_acked(void **state)
{
	struct tw_test *t = *state;

	/* RFC 5961 §5.2: SEG.ACK > SND.NXT: discard and ACK. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1 + 1);
	EXPECT_ACK(t, TCP_TW_REASON_ACK_UNACCEPTABLE);
	assert_false(t->act.restart);
	/* SEG.ACK below SND.NXT - MAX.SND.WND: likewise. */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1 - TCP_TW_MAX_SND_WND - 1);
	EXPECT_ACK(t, TCP_TW_REASON_ACK_UNACCEPTABLE);
	/* At the lower bound it is a plain duplicate. */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1 - TCP_TW_MAX_SND_WND);
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	/* Data with an unacceptable SEG.ACK: ACKed, not rate-limited, text ignored. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1 + 5, .payload_len = 10);
	EXPECT_ACK(t, TCP_TW_REASON_ACK_UNACCEPTABLE);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1 + 5, .payload_len = 10);
	EXPECT_ACK(t, TCP_TW_REASON_ACK_UNACCEPTABLE);
}

static void
test_H6_rate_limit_500ms(void **state)
{
	struct tw_test *t = *state;

	/* First out-of-window ACK: sent, its time recorded (update). */
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_true(t->act.update);
	assert_int_equal(t->tw.last_ack_ms, T0);
	/* A second one 1 ms and 499 ms later: suppressed, nothing changes. */
	t->now = T0 + 1;
	SEND(t, .flags = TCP_ACK, .seq = R + 1, .ack = S1);
	EXPECT_LIMITED(t, TCP_TW_REASON_AFTER_FIN);
	t->now = T0 + 499;
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_LIMITED(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_int_equal(t->tw.last_ack_ms, T0);
	/* 500 ms after the first: sent, and the interval starts again. */
	t->now = T0 + 500;
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_true(t->act.update);
	assert_int_equal(t->tw.last_ack_ms, T0 + 500);
	t->now = T0 + 999;
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_LIMITED(t, TCP_TW_REASON_OUT_OF_WINDOW);
}

static void
test_H6_rate_limit_shared_by_syn_and_ack(void **state)
{
	struct tw_test *t = *state;

	/* One budget per entry: a challenge ACK to a SYN uses it up for the next pure ACK. */
	SEND(t, .flags = TCP_SYN, .seq = R - 1000);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
	t->now += 100;
	SEND(t, .flags = TCP_ACK, .seq = R + 5, .ack = S1);
	EXPECT_LIMITED(t, TCP_TW_REASON_AFTER_FIN);
}

static void
test_H6_rate_limit_off(void **state)
{
	struct tw_test *t = *state;
	int i;

	/* ack_interval_ms 0: every ACK goes out, last_ack_ms untouched. */
	t->conf.ack_interval_ms = 0;
	for (i = 0; i < 3; i++) {
		SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
		EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
		assert_false(t->act.update);
	}
	assert_int_equal(t->tw.last_ack_ms, 0);
}

static void
test_H6_rate_limit_data_exempt(void **state)
{
	struct tw_test *t = *state;

	/* A limited ACK went out just now ... */
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	/* ... yet old data (out of window) and data beyond the FIN are still ACKed (F10). */
	SEND(t, .flags = TCP_ACK, .seq = R - 100, .ack = S1, .payload_len = 50);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_false(t->act.update);
	SEND(t, .flags = TCP_ACK, .seq = R + W + 10, .ack = S1, .payload_len = 50);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	SEND(t, .flags = TCP_ACK | TCP_FIN, .seq = R + 3, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	/* The pure ACK is still limited. */
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_LIMITED(t, TCP_TW_REASON_OUT_OF_WINDOW);
}

static void
test_H6_rate_limit_clock_from_zero(void **state)
{
	struct tw_test *t = *state;

	/* A virtual clock starting at 0: last_ack_ms 0 means "none yet", not "at 0". */
	t->now = 100;
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_int_equal(t->tw.last_ack_ms, 100);
	t->now = 599;
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_LIMITED(t, TCP_TW_REASON_OUT_OF_WINDOW);
}

static void
test_H6_zero_window(void **state)
{
	struct tw_test *t = *state;

	/* RCV.WND 0: only SEG.SEQ = RCV.NXT with no length is acceptable. */
	t->tw.rcv_wnd = 0;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, .payload_len = 1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	assert_int_equal(t->act.ack_wnd, 0);
	SEND(t, .flags = TCP_ACK, .seq = R + 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	/* The retransmitted FIN is still recognised. */
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	EXPECT_RESTART(t);
	/* An RST anywhere but R is out of the (empty) window. */
	SEND(t, .flags = TCP_RST, .seq = R + 1);
	EXPECT_DROP(t, TCP_TW_REASON_RST_OUT_OF_WINDOW);
}

/* ---- H7, H8: SYN in TIME-WAIT without timestamps --------------------------------------------- */

static void
test_H7_syn_above_rcv_nxt_reopens(void **state)
{
	struct tw_test *t = *state;
	uint32_t iss;

	/* < S seq=R+100000: reopen, with an ISS after the old SND.NXT. */
	SEND(t, .flags = TCP_SYN, .seq = R + 100000);
	EXPECT_REOPEN(t, false);
	assert_int_equal(t->act.iss_floor, S1);
	/* SEG.SEQ = R + 1 is enough. */
	SEND(t, .flags = TCP_SYN, .seq = R + 1);
	EXPECT_REOPEN(t, false);
	/* With ECN setup flags and data (TFO-like): still a connection request. */
	SEND(t, .flags = TCP_SYN | TCP_ECE | TCP_CWR, .seq = R + 5, .payload_len = 20);
	EXPECT_REOPEN(t, false);
	/* The ISS rule: "larger than the largest sequence number it used". */
	assert_false(tcp_tw_iss_ok(S1 - 1, S1));
	assert_false(tcp_tw_iss_ok(S1, S1));
	assert_true(tcp_tw_iss_ok(S1 + 1, S1));
	assert_true(tcp_tw_iss_ok(S1 + UINT32_C(0x7fffffff), S1));
	assert_false(tcp_tw_iss_ok(S1 + UINT32_C(0x80000000), S1));
	/* An ISN clock value behind the floor is replaced by floor + 65537. */
	iss = tcp_tw_iss(S1 - 5, S1);
	assert_int_equal(iss, S1 + 65537);
	assert_true(tcp_tw_iss_ok(iss, S1));
	assert_int_equal(tcp_tw_iss(S1 + 7, S1), S1 + 7);
}

static void
test_H7_syn_reopen_off_refused(void **state)
{
	struct tw_test *t = *state;

	/* The same SYN with reopening disabled: a challenge ACK, never a SYN-ACK. */
	t->conf.reopen = false;
	SEND(t, .flags = TCP_SYN, .seq = R + 100000);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_REOPEN_OFF);
	assert_false(t->act.restart);
	/* Or nothing, with the RFC 6191 policy. */
	t->conf.syn_challenge_ack = false;
	SEND(t, .flags = TCP_SYN, .seq = R + 100000);
	EXPECT_DROP(t, TCP_TW_REASON_SYN_REOPEN_OFF);
}

static void
test_H8_syn_not_above_rcv_nxt_challenge_ack(void **state)
{
	struct tw_test *t = *state;
	const uint32_t seqs[] = {R - 1000, R - 1, R};
	unsigned int i;

	/* < S seq=R-1000, R-1, R: TIME-WAIT kept, > . seq=S1 ack=R (rate-limited). */
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		WAIT_INTERVAL(t);
		SEND(t, .flags = TCP_SYN, .seq = seqs[i]);
		EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
		assert_int_equal(t->act.ack_seq, S1);
		assert_int_equal(t->act.ack_ack, R);
		assert_false(t->act.restart);
		assert_true(t->act.update);
		assert_int_equal(t->tw.last_ack_ms, t->now);
	}
}

static void
test_H8_syn_not_above_rcv_nxt_silent_drop(void **state)
{
	struct tw_test *t = *state;
	const uint32_t seqs[] = {R - 1000, R - 1, R};
	unsigned int i;

	/* RFC 6191 policy: silently drop; the rate-limit clock is untouched. */
	t->conf.syn_challenge_ack = false;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		SEND(t, .flags = TCP_SYN, .seq = seqs[i]);
		EXPECT_DROP(t, TCP_TW_REASON_SYN_OLD);
		assert_false(t->act.update);
	}
	assert_int_equal(t->tw.last_ack_ms, 0);
}

static void
test_H8_syn_challenge_ack_rate_limited(void **state)
{
	struct tw_test *t = *state;

	/* Three SYNs back to back (F10): one challenge ACK. */
	SEND(t, .flags = TCP_SYN, .seq = R - 1);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
	SEND(t, .flags = TCP_SYN, .seq = R - 2);
	EXPECT_LIMITED(t, TCP_TW_REASON_SYN_OLD);
	t->now += 200;
	SEND(t, .flags = TCP_SYN, .seq = R - 3);
	EXPECT_LIMITED(t, TCP_TW_REASON_SYN_OLD);
	/* After the interval, one more. */
	t->now += 300;
	SEND(t, .flags = TCP_SYN, .seq = R - 3);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
}

static void
test_H8_syn_ack_refused(void **state)
{
	struct tw_test *t = *state;

	/* < S. seq=R+100000: not a connection request, whatever its sequence number. */
	SEND(t, .flags = TCP_SYN | TCP_ACK, .seq = R + 100000, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_ACK);
	assert_false(t->act.restart);
}

/* ---- H9: SYN in TIME-WAIT with timestamps (RFC 6191) ----------------------------------------- */

static void
test_H9a_syn_newer_tsval_lower_seq_reopens(void **state)
{
	struct tw_test *t = *state;

	/* < S seq=R-1000 <TS val=T+1000>: accepted despite the lower sequence number. */
	SEND(t, .flags = TCP_SYN, .seq = R - 1000, TS(T + 1000));
	EXPECT_REOPEN(t, true);
}

static void
test_H9b_syn_equal_tsval_higher_seq_reopens(void **state)
{
	struct tw_test *t = *state;

	SEND(t, .flags = TCP_SYN, .seq = R + 1, TS(T));
	EXPECT_REOPEN(t, true);
}

static void
test_H9c_syn_without_ts_higher_seq_reopens(void **state)
{
	struct tw_test *t = *state;

	/* No TSopt: the new incarnation will not use timestamps; the sequence number decides. */
	SEND(t, .flags = TCP_SYN, .seq = R + 100);
	EXPECT_REOPEN(t, false);
	SEND(t, .flags = TCP_SYN, .seq = R - 100);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
}

static void
test_H9d_syn_older_tsval_refused(void **state)
{
	struct tw_test *t = *state;

	/* TSval < T, even with SEG.SEQ > R: PAWS, TIME-WAIT kept, never a SYN-ACK. */
	SEND(t, .flags = TCP_SYN, .seq = R + 100000, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_PAWS);
	assert_false(t->act.restart);
	t->conf.syn_challenge_ack = false;
	SEND(t, .flags = TCP_SYN, .seq = R + 100000, TS(T - 1000));
	EXPECT_DROP(t, TCP_TW_REASON_SYN_PAWS);
}

static void
test_H9e_syn_equal_tsval_lower_seq_refused(void **state)
{
	struct tw_test *t = *state;

	SEND(t, .flags = TCP_SYN, .seq = R, TS(T));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_SYN, .seq = R - 1000, TS(T));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
}

static void
test_H9_syn_ts_when_new_incarnation_without_ts(void **state)
{
	struct tw_test *t = *state;

	/* The stack would not enable timestamps: only the sequence number counts ... */
	t->conf.timestamps = false;
	SEND(t, .flags = TCP_SYN, .seq = R - 1000, TS(T + 1000));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
	SEND(t, .flags = TCP_SYN, .seq = R + 1000, TS(T + 1000));
	EXPECT_REOPEN(t, false);
	/* ... but an older TSval still marks an old duplicate. */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_SYN, .seq = R + 1000, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_PAWS);
}

static void
test_H9_syn_ts_after_incarnation_without_ts(void **state)
{
	struct tw_test *t = *state;

	/* Previous incarnation without timestamps, SYN with TSopt: RFC 6191 honours it. */
	SEND(t, .flags = TCP_SYN, .seq = R - 1000, TS(5));
	EXPECT_REOPEN(t, true);
	/* Unless the stack would not use timestamps: then the sequence number decides. */
	t->conf.timestamps = false;
	SEND(t, .flags = TCP_SYN, .seq = R - 1000, TS(5));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
}

static void
test_H9_syn_ts_recent_older_than_24_days(void **state)
{
	struct tw_test *t = *state;

	/* TS.Recent set exactly 24 days ago: still valid, PAWS refuses an older TSval. */
	t->now = T0 + 24 * DAY_MS;
	SEND(t, .flags = TCP_SYN, .seq = R + 10, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_PAWS);
	/* One ms more and it is invalid: no PAWS, the sequence number alone decides. */
	t->now += 1;
	SEND(t, .flags = TCP_SYN, .seq = R + 10, TS(T - 1));
	EXPECT_REOPEN(t, false);
	SEND(t, .flags = TCP_SYN, .seq = R - 10, TS(T + 1000));
	EXPECT_LIMITED(t, TCP_TW_REASON_SYN_OLD);
}

static void
test_H9_syn_tsval_wraps(void **state)
{
	struct tw_test *t = *state;

	/* TS.Recent just below 2^32; 0x10 is newer, 0xffffff00 older. */
	t->tw.ts_recent = UINT32_C(0xfffffff0);
	SEND(t, .flags = TCP_SYN, .seq = R - 10, TS(0x10));
	EXPECT_REOPEN(t, true);
	SEND(t, .flags = TCP_SYN, .seq = R + 10, TS(UINT32_C(0xffffff00)));
	EXPECT_ACK(t, TCP_TW_REASON_SYN_PAWS);
}

/* ---- H13: text after the FIN ----------------------------------------------------------------- */

static void
test_H13_data_after_fin_ignored(void **state)
{
	struct tw_test *t = *state;

	/* < P. seq=R+1 len=10: text ignored, > . ack=R (H6c), URG too. */
	SEND(t, .flags = TCP_PSH | TCP_ACK, .seq = R + 1, .ack = S1, .payload_len = 10);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	assert_int_equal(t->act.ack_ack, R);
	assert_false(t->act.restart);
	SEND(t, .flags = TCP_URG | TCP_ACK, .seq = R, .ack = S1, .urp = 5, .payload_len = 10);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	assert_int_equal(t->tw.rcv_nxt, R);
}

/* ---- PAWS and the Timestamps option (RFC 7323) ----------------------------------------------- */

static void
test_PAWS_old_tsval_acked_and_dropped(void **state)
{
	struct tw_test *t = *state;

	/* < . seq=R <TS val=T-1>: not acceptable: > . ack=R <TS ecr=T>, rate-limited. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_PAWS);
	assert_int_equal(t->act.ack_tsecr, T);
	assert_int_equal(t->tw.ts_recent, T);
	assert_false(t->act.restart);
	assert_int_equal(t->tw.last_ack_ms, t->now);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T - 1));
	EXPECT_LIMITED(t, TCP_TW_REASON_PAWS);
	/* Data with an old TSval: ACKed regardless of the limit, text dropped. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, .payload_len = 10, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_PAWS);
}

static void
test_PAWS_old_tsval_fin_no_restart(void **state)
{
	struct tw_test *t = *state;

	/* An old duplicate of the peer's FIN (older TSval): ACKed, but no restart. */
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_PAWS);
	assert_false(t->act.restart);
}

static void
test_PAWS_24_day_rule(void **state)
{
	struct tw_test *t = *state;

	/* TS.Recent exactly 24 days old: still valid, PAWS applies. */
	t->now = T0 + 24 * DAY_MS;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T - 1));
	EXPECT_ACK(t, TCP_TW_REASON_PAWS);
	/* One ms older: invalid, the segment is accepted and R3 records its TSval. */
	t->now = T0 + 24 * DAY_MS + 1;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T - 1));
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	assert_true(t->act.update);
	assert_int_equal(t->tw.ts_recent, T - 1);
	assert_int_equal(t->tw.ts_recent_ms, t->now);
	/* Valid again from now on. */
	t->now += 1;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(T - 2));
	EXPECT_LIMITED(t, TCP_TW_REASON_PAWS);
}

static void
test_PAWS_tsval_wraps(void **state)
{
	struct tw_test *t = *state;

	/* TS.Recent near 2^32: a TSval just past 0 is newer, accepted and recorded. */
	t->tw.ts_recent = UINT32_C(0xfffffff0);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(5));
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	assert_int_equal(t->tw.ts_recent, 5);
	/* Now 0xfffffff0 is the older one. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(UINT32_C(0xfffffff0)));
	EXPECT_ACK(t, TCP_TW_REASON_PAWS);
}

static void
test_PAWS_ts_missing_dropped(void **state)
{
	struct tw_test *t = *state;

	/* Timestamps in use, a non-RST segment without them: silently dropped (RFC 7323 §3.2). */
	SEND(t, .flags = TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_TS_MISSING);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_TS_MISSING);
	assert_int_equal(t->tw.last_ack_ms, 0);
}

static void
test_PAWS_ts_ignored_when_not_in_use(void **state)
{
	struct tw_test *t = *state;

	/* The entry did not use timestamps: a TSopt is ignored, never echoed or recorded. */
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, TS(1));
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	assert_false(t->act.update);
	assert_int_equal(t->tw.ts_recent, 0);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R - 1, .ack = S1, TS(1));
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	assert_false(t->act.ack_ts);
}

static void
test_PAWS_data_at_rcv_nxt_records_ts(void **state)
{
	struct tw_test *t = *state;

	/* Acceptable text at R with a newer TSval: recorded (R3), and the ACK echoes it. */
	t->now = T0 + 50;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = S1, .payload_len = 10, TS(T + 7));
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	assert_true(t->act.update);
	assert_int_equal(t->tw.ts_recent, T + 7);
	assert_int_equal(t->act.ack_tsecr, T + 7);
	/* Past R (SEG.SEQ > Last.ACK.sent): not recorded. */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = R + 1, .ack = S1, TS(T + 9));
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	assert_int_equal(t->tw.ts_recent, T + 7);
}

/* ---- Sequence numbers across 2^32, window scaling -------------------------------------------- */

static void
test_wrap_rcv_nxt_near_2_32(void **state)
{
	struct tw_test *t = *state;
	const uint32_t r = UINT32_C(0xfffffff6); /* RCV.NXT = 2^32 - 10; the window wraps. */

	t->tw.rcv_nxt = r;
	t->tw.rcv_wnd = 100;
	/* The retransmitted FIN at 2^32 - 11. */
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = r - 1, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	EXPECT_RESTART(t);
	/* Empty segment at 20 past RCV.NXT (sequence number 10): in the window. */
	SEND(t, .flags = TCP_ACK, .seq = UINT32_C(10), .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	/* Data from RCV.NXT across 0. */
	SEND(t, .flags = TCP_ACK, .seq = r, .ack = S1, .payload_len = 50);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	/* 90 past RCV.NXT is the last in the window, 90 the first out. */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = UINT32_C(89), .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = UINT32_C(90), .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	/* RSTs: exact, in the window past 0, out of it. */
	SEND(t, .flags = TCP_RST, .seq = r);
	EXPECT_DROP(t, TCP_TW_REASON_RST_IGNORED);
	SEND(t, .flags = TCP_RST, .seq = UINT32_C(5));
	EXPECT_DROP(t, TCP_TW_REASON_RST_IN_WINDOW);
	SEND(t, .flags = TCP_RST, .seq = UINT32_C(90));
	EXPECT_DROP(t, TCP_TW_REASON_RST_OUT_OF_WINDOW);
	/* A SYN at sequence number 100 is after RCV.NXT: reopen; one at r - 1 is not. */
	SEND(t, .flags = TCP_SYN, .seq = UINT32_C(100));
	EXPECT_REOPEN(t, false);
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_SYN, .seq = r - 1);
	EXPECT_ACK(t, TCP_TW_REASON_SYN_OLD);
}

static void
test_wrap_rcv_nxt_zero(void **state)
{
	struct tw_test *t = *state;

	/* The peer's FIN took 2^32 - 1; RCV.NXT wrapped to 0. */
	t->tw.rcv_nxt = 0;
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = UINT32_MAX, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_FIN_RETRANSMIT);
	EXPECT_RESTART(t);
	SEND(t, .flags = TCP_ACK, .seq = 0, .ack = S1);
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	SEND(t, .flags = TCP_ACK, .seq = UINT32_MAX, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
}

static void
test_wrap_snd_nxt_near_2_32(void **state)
{
	struct tw_test *t = *state;

	/* SND.NXT = 2: SEG.ACK 2 is ours, 3 is beyond, 2^32 - 16 a duplicate. */
	t->tw.snd_nxt = 2;
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = 2);
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = UINT32_C(0xfffffff0));
	EXPECT_DROP(t, TCP_TW_REASON_DUP_ACK);
	SEND(t, .flags = TCP_ACK, .seq = R, .ack = 3);
	EXPECT_ACK(t, TCP_TW_REASON_ACK_UNACCEPTABLE);
	assert_int_equal(t->act.ack_seq, 2);
	/* Reopen: the ISS floor is 2; 2^32 - 5 is behind it, 7 after it. */
	SEND(t, .flags = TCP_SYN, .seq = R + 1);
	EXPECT_REOPEN(t, false);
	assert_int_equal(t->act.iss_floor, 2);
	assert_false(tcp_tw_iss_ok(UINT32_C(0xfffffffb), 2));
	assert_true(tcp_tw_iss_ok(7, 2));
	assert_int_equal(tcp_tw_iss(UINT32_C(0xfffffffb), 2), 2 + 65537);
	/* A floor near 2^32: 0 is after it; the fallback ISS wraps and is after it too. */
	assert_true(tcp_tw_iss_ok(0, UINT32_C(0xfffffff0)));
	assert_int_equal(tcp_tw_iss(0, UINT32_C(0xfffffff0)), 0);
	assert_int_equal(tcp_tw_iss(UINT32_C(0xffff0000), UINT32_C(0xfffffff0)), UINT32_C(0xfff1));
	assert_true(tcp_tw_iss_ok(UINT32_C(0xfff1), UINT32_C(0xfffffff0)));
}

static void
test_wscale7_window(void **state)
{
	struct tw_test *t = *state;

	/* Window field 512 with shift 7: RCV.WND = 65536 bytes; the ACK carries 512. */
	t->tw.rcv_wnd = 512;
	t->tw.rcv_wscale = 7;
	SEND(t, .flags = TCP_ACK, .seq = R + 65535, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	assert_int_equal(t->act.ack_wnd, 512);
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = R + 65536, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_OUT_OF_WINDOW);
	/* Unscaled, 512 bytes would have made R + 512 out of the window. */
	WAIT_INTERVAL(t);
	SEND(t, .flags = TCP_ACK, .seq = R + 512, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
	SEND(t, .flags = TCP_RST, .seq = R + 65535);
	EXPECT_DROP(t, TCP_TW_REASON_RST_IN_WINDOW);
	SEND(t, .flags = TCP_RST, .seq = R + 65536);
	EXPECT_DROP(t, TCP_TW_REASON_RST_OUT_OF_WINDOW);
	/* A FIN at the right edge, scaled. */
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = R + 65535, .ack = S1);
	EXPECT_ACK(t, TCP_TW_REASON_AFTER_FIN);
}

static void
test_wscale14_largest_window(void **state)
{
	struct tw_test *t = *state;
	const uint32_t w = UINT32_C(65535) << 14;

	t->tw.rcv_wnd = 65535;
	t->tw.rcv_wscale = 14;
	SEND(t, .flags = TCP_RST, .seq = R + w - 1);
	EXPECT_DROP(t, TCP_TW_REASON_RST_IN_WINDOW);
	SEND(t, .flags = TCP_RST, .seq = R + w);
	EXPECT_DROP(t, TCP_TW_REASON_RST_OUT_OF_WINDOW);
	/* A SYN far inside that window but after RCV.NXT still reopens. */
	SEND(t, .flags = TCP_SYN, .seq = R + w / 2);
	EXPECT_REOPEN(t, false);
}

/* ---- Names ----------------------------------------------------------------------------------- */

static void
test_reason_names(void **state)
{
	static const struct {
		enum tcp_tw_reason r;
		const char *upper;
	} defs[] = {
#define TCP_TW_REASON(NAME, name, desc) {TCP_TW_REASON_##NAME, #NAME},
#include "tcp_tw_reason.def"
#undef TCP_TW_REASON
	};
	char lower[64];
	unsigned int i, j, k;

	(void)state;
	assert_int_equal(sizeof(defs) / sizeof(defs[0]), TCP_TW_REASON__COUNT);
	assert_string_equal(tcp_tw_reason_name(TCP_TW_REASON_FIN_RETRANSMIT), "fin_retransmit");
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		assert_int_equal(defs[i].r, i);
		/* The second column of tcp_tw_reason.def is the first in lowercase. */
		for (k = 0; defs[i].upper[k] != '\0' && k < sizeof(lower) - 1; k++)
			lower[k] = (char)tolower((unsigned char)defs[i].upper[k]);
		lower[k] = '\0';
		assert_string_equal(tcp_tw_reason_name(defs[i].r), lower);
		assert_non_null(tcp_tw_reason_desc(defs[i].r));
		assert_true(strlen(tcp_tw_reason_desc(defs[i].r)) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(tcp_tw_reason_name(defs[i].r),
						tcp_tw_reason_name(defs[j].r));
	}
	assert_null(tcp_tw_reason_name(TCP_TW_REASON__COUNT));
	assert_null(tcp_tw_reason_name((enum tcp_tw_reason)(-1)));
	assert_null(tcp_tw_reason_desc(TCP_TW_REASON__COUNT));
	assert_string_equal(tcp_tw_verdict_name(TCP_TW_DROP), "drop");
	assert_string_equal(tcp_tw_verdict_name(TCP_TW_ACK), "ack");
	assert_string_equal(tcp_tw_verdict_name(TCP_TW_REOPEN), "reopen");
	assert_null(tcp_tw_verdict_name(TCP_TW_VERDICT__COUNT));
	assert_null(tcp_tw_verdict_name((enum tcp_tw_verdict)(-1)));
}

/* ---- Randomized invariants ------------------------------------------------------------------- */

/* A sequence number near @p base: the edges that matter, or anywhere. */
static uint32_t
rnd_near(uint32_t base, uint32_t wnd)
{
	switch (rnd_below(8)) {
	case 0:
		return base + (uint32_t)rnd_below(5) - 2;
	case 1:
		return base + wnd + (uint32_t)rnd_below(3) - 1;
	case 2:
		return base + (uint32_t)rnd_below((uint64_t)wnd + 2);
	case 3:
		return base - (uint32_t)rnd_below(100000);
	case 4:
		return base + (uint32_t)rnd_below(UINT64_C(1) << 31);
	default:
		return (uint32_t)rnd();
	}
}

static void
random_case(struct tcp_tw_conf *c, struct coda_conntab_tw *tw, struct tcp_seg *s, uint64_t *now)
{
	static const uint8_t wscales[] = {0, 0, 1, 7, 14};
	static const uint32_t wrap_bases[] = {0,
					      1,
					      UINT32_C(0x7fffffff),
					      UINT32_C(0x80000000),
					      UINT32_C(0xffffffff),
					      UINT32_C(0xfffffff0)};
	uint32_t wnd;

	c->rfc1337 = rnd_below(2);
	c->reopen = rnd_below(4) != 0;
	c->syn_challenge_ack = rnd_below(2);
	c->timestamps = rnd_below(4) != 0;
	c->ack_interval_ms =
		rnd_below(4) == 0 ? 0 : (rnd_below(2) ? 500 : (uint32_t)rnd_below(5000));
	c->twice_msl_ms = rnd_below(2) ? 60000 : 1 + rnd_below(240000);

	/* From 1: at 0 an ACK's time reads as "none yet", which the checks below do not model. */
	*now = 1 + (rnd_below(4) == 0 ? rnd_below(2000) : rnd_below(UINT64_C(1) << 40));
	memset(tw, 0, sizeof(*tw));
	tw->snd_nxt = rnd_below(4) == 0 ? wrap_bases[rnd_below(6)] : (uint32_t)rnd();
	tw->rcv_nxt = rnd_below(4) == 0 ? wrap_bases[rnd_below(6)] : (uint32_t)rnd();
	tw->rcv_wnd = rnd_below(8) == 0 ? 0 : (uint16_t)rnd();
	tw->rcv_wscale = wscales[rnd_below(5)];
	tw->ts_on = rnd_below(2);
	if (tw->ts_on) {
		tw->ts_recent = rnd_below(4) == 0 ? wrap_bases[rnd_below(6)] : (uint32_t)rnd();
		tw->ts_recent_ms =
			*now - (rnd_below(8) == 0 ? rnd_below(*now + 1)
						  : rnd_below(*now < 120000 ? *now + 1 : 120000));
	}
	tw->last_ack_ms = rnd_below(3) == 0 ? 0 : *now - rnd_below(*now < 2000 ? *now + 1 : 2000);

	wnd = (uint32_t)tw->rcv_wnd << tw->rcv_wscale;
	memset(s, 0, sizeof(*s));
	s->hdr_len = TCP_HDR_MIN_LEN;
	/* Mostly one of the flag sets that matter, sometimes any byte. */
	switch (rnd_below(8)) {
	case 0:
		s->flags = TCP_ACK;
		break;
	case 1:
		s->flags = TCP_FIN | TCP_ACK;
		break;
	case 2:
		s->flags = TCP_SYN;
		break;
	case 3:
		s->flags = TCP_RST | (rnd_below(2) ? TCP_ACK : 0);
		break;
	default:
		s->flags = (uint8_t)rnd();
		break;
	}
	s->seq = rnd_near(tw->rcv_nxt, wnd);
	if ((s->flags & TCP_FIN) && rnd_below(3) == 0)
		s->seq = tw->rcv_nxt - 1;
	s->ack = rnd_below(4) == 0 ? (uint32_t)rnd() : tw->snd_nxt - (uint32_t)rnd_below(3);
	s->payload_len = rnd_below(2) ? 0 : (uint32_t)rnd_below(1500);
	if (rnd_below(3) != 0) {
		s->opts = TCP_OPT_TS;
		s->tsval =
			rnd_below(2) ? (uint32_t)rnd() : tw->ts_recent + (uint32_t)rnd_below(5) - 2;
	}
}

static void
test_random_invariants(void **state)
{
	struct tcp_tw_conf c;
	struct coda_conntab_tw tw, before;
	struct tcp_seg s;
	struct tcp_tw_action a;
	uint64_t now;
	uint32_t len;
	bool limitable, newer_ts, ts_valid;
	unsigned long counts[TCP_TW_REASON__COUNT] = {0};
	unsigned long verdicts[TCP_TW_VERDICT__COUNT] = {0};
	unsigned long limited = 0, kills = 0, restarts = 0;
	int i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		random_case(&c, &tw, &s, &now);
		before = tw;
		memset(&a, 0xa5, sizeof(a)); /* The function must fill every field. */
		tcp_tw_input(&c, &tw, &s, now, &a);
		len = tcp_seg_len(&s);

		assert_true((unsigned int)a.verdict < TCP_TW_VERDICT__COUNT);
		assert_true((unsigned int)a.reason < TCP_TW_REASON__COUNT);
		verdicts[a.verdict]++;
		counts[a.reason]++;

		/* What the entry is never changes; only the three times and TS.Recent may. */
		assert_int_equal(tw.snd_nxt, before.snd_nxt);
		assert_int_equal(tw.rcv_nxt, before.rcv_nxt);
		assert_int_equal(tw.rcv_wnd, before.rcv_wnd);
		assert_int_equal(tw.rcv_wscale, before.rcv_wscale);
		assert_int_equal(tw.ts_on, before.ts_on);
		/* update says exactly whether the entry changed. */
		assert_int_equal(a.update, memcmp(&tw, &before, sizeof(tw)) != 0);

		/* The ACK fields: the entry's, and only with an ACK. */
		if (a.verdict == TCP_TW_ACK) {
			assert_int_equal(a.ack_seq, tw.snd_nxt);
			assert_int_equal(a.ack_ack, tw.rcv_nxt);
			assert_int_equal(a.ack_wnd, tw.rcv_wnd);
			assert_int_equal(a.ack_ts, tw.ts_on);
			assert_int_equal(a.ack_tsecr, tw.ts_on ? tw.ts_recent : 0);
			assert_false(a.rate_limited);
		} else {
			assert_int_equal(a.ack_seq, 0);
			assert_int_equal(a.ack_ack, 0);
			assert_int_equal(a.ack_wnd, 0);
			assert_false(a.ack_ts);
			assert_int_equal(a.ack_tsecr, 0);
		}

		/* An RST is never answered and never reopens. */
		if (s.flags & TCP_RST)
			assert_int_equal(a.verdict, TCP_TW_DROP);
		/* Without ACK, SYN or RST: silence. */
		if ((s.flags & (TCP_ACK | TCP_SYN | TCP_RST)) == 0)
			assert_int_equal(a.verdict, TCP_TW_DROP);

		/* kill: an RST at RCV.NXT with RFC 1337 off, nothing else. */
		if (a.kill) {
			kills++;
			assert_false(c.rfc1337);
			assert_true(s.flags & TCP_RST);
			assert_int_equal(s.seq, tw.rcv_nxt);
			assert_int_equal(a.verdict, TCP_TW_DROP);
			assert_int_equal(a.reason, TCP_TW_REASON_RST_KILL);
		}
		if (c.rfc1337)
			assert_false(a.kill);

		/* restart: only the retransmitted FIN, ACKed, 2 MSL from now. */
		assert_int_equal(a.restart, a.reason == TCP_TW_REASON_FIN_RETRANSMIT);
		if (a.restart) {
			restarts++;
			assert_int_equal(a.verdict, TCP_TW_ACK);
			assert_true(s.flags & TCP_FIN);
			assert_true(s.flags & TCP_ACK);
			assert_false(s.flags & (TCP_SYN | TCP_RST));
			assert_int_equal(s.seq + len, tw.rcv_nxt);
			assert_int_equal(a.expiry, now + c.twice_msl_ms);
		} else {
			assert_int_equal(a.expiry, 0);
		}

		/* REOPEN: a SYN without ACK/RST, allowed, with evidence of a new incarnation. */
		ts_valid = before.ts_on && now - before.ts_recent_ms <= TCP_TW_PAWS_IDLE_MS;
		newer_ts = (s.opts & TCP_OPT_TS) && c.timestamps &&
			   (!before.ts_on || (ts_valid && coda_seq_gt(s.tsval, before.ts_recent)));
		if (a.verdict == TCP_TW_REOPEN) {
			assert_int_equal(s.flags & (TCP_SYN | TCP_ACK | TCP_RST), TCP_SYN);
			assert_true(c.reopen);
			assert_int_equal(a.reason, TCP_TW_REASON_SYN_REOPEN);
			assert_int_equal(a.iss_floor, tw.snd_nxt);
			/* Never for SEG.SEQ =< RCV.NXT without a newer timestamp. */
			if (coda_seq_leq(s.seq, tw.rcv_nxt))
				assert_true(newer_ts);
			/* Never against PAWS. */
			if (ts_valid && (s.opts & TCP_OPT_TS))
				assert_false(coda_seq_lt(s.tsval, before.ts_recent));
			assert_false(a.update);
		} else {
			assert_int_equal(a.iss_floor, 0);
			assert_false(a.reopen_ts);
		}

		/*
		 * The rate limit: an ACK not answering text or a FIN (or any
		 * SYN) is limited; sending one records now, suppressing one
		 * needs a recent one.
		 */
		limitable = c.ack_interval_ms != 0 &&
			    ((s.flags & TCP_SYN) || (s.payload_len == 0 && !(s.flags & TCP_FIN)));
		if (a.verdict == TCP_TW_ACK && limitable) {
			assert_true(a.update);
			assert_int_equal(tw.last_ack_ms, now);
		} else {
			assert_int_equal(tw.last_ack_ms, before.last_ack_ms);
		}
		if (a.rate_limited) {
			limited++;
			assert_int_equal(a.verdict, TCP_TW_DROP);
			assert_true(limitable);
			assert_int_not_equal(before.last_ack_ms, 0);
			assert_true(now - before.last_ack_ms < c.ack_interval_ms);
		}
		if (a.verdict == TCP_TW_ACK && limitable && before.last_ack_ms != 0 &&
		    now >= before.last_ack_ms)
			assert_true(now - before.last_ack_ms >= c.ack_interval_ms);

		/* TS.Recent moves forward only (or replaces an invalid one), at RCV.NXT. */
		if (tw.ts_recent != before.ts_recent || tw.ts_recent_ms != before.ts_recent_ms) {
			assert_true(before.ts_on);
			assert_int_equal(s.seq, tw.rcv_nxt);
			assert_int_equal(tw.ts_recent, s.tsval);
			assert_int_equal(tw.ts_recent_ms, now);
			if (ts_valid)
				assert_true(coda_seq_geq(s.tsval, before.ts_recent));
		}
	}
	/* The generator reached every verdict and every reason. */
	for (i = 0; i < TCP_TW_VERDICT__COUNT; i++)
		assert_true(verdicts[i] > 0);
	for (i = 0; i < TCP_TW_REASON__COUNT; i++)
		assert_true(counts[i] > 0);
	assert_true(limited > 0 && kills > 0 && restarts > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* H2 */
		cmocka_unit_test_setup(test_H2_retransmitted_fin_reacked_and_restarts, setup_tw),
		cmocka_unit_test_setup(test_H2_retransmitted_fin_never_rate_limited, setup_tw),
		cmocka_unit_test_setup(test_H2_retransmitted_data_and_fin_reacked, setup_tw),
		cmocka_unit_test_setup(test_H2_retransmitted_fin_ts_echoes_first_fin, setup_tw_ts),
		cmocka_unit_test_setup(test_H2_retransmitted_fin_unacceptable_ack_no_restart,
				       setup_tw),
		/* H4 */
		cmocka_unit_test_setup(test_H4_rst_exact_rfc1337_on, setup_tw),
		cmocka_unit_test_setup(test_H4_rst_exact_rfc1337_off, setup_tw),
		cmocka_unit_test_setup(test_H4_rst_in_window_rfc1337_on, setup_tw),
		cmocka_unit_test_setup(test_H4_rst_in_window_rfc1337_off, setup_tw),
		cmocka_unit_test_setup(test_H4_rst_out_of_window_rfc1337_on, setup_tw),
		cmocka_unit_test_setup(test_H4_rst_out_of_window_rfc1337_off, setup_tw),
		cmocka_unit_test_setup(test_H4_rst_no_paws_rfc1337_off, setup_tw_ts),
		cmocka_unit_test_setup(test_H4_rst_with_syn_is_an_rst, setup_tw),
		/* H6 */
		cmocka_unit_test_setup(test_H6a_pure_ack_at_rcv_nxt_no_reply, setup_tw),
		cmocka_unit_test_setup(test_H6a_pure_ack_at_rcv_nxt_records_ts, setup_tw_ts),
		cmocka_unit_test_setup(test_H6b_ack_right_of_rcv_nxt_acked, setup_tw),
		cmocka_unit_test_setup(test_H6b_ack_left_of_rcv_nxt_acked, setup_tw),
		cmocka_unit_test_setup(test_H6c_data_at_rcv_nxt_acked_text_ignored, setup_tw),
		cmocka_unit_test_setup(test_H6d_fin_ack_at_edges_acked, setup_tw),
		cmocka_unit_test_setup(test_H6d_fin_without_ack_dropped, setup_tw),
		cmocka_unit_test_setup(test_H6_ack_beyond_snd_nxt_acked, setup_tw),
		cmocka_unit_test_setup(test_H6_rate_limit_500ms, setup_tw),
		cmocka_unit_test_setup(test_H6_rate_limit_shared_by_syn_and_ack, setup_tw),
		cmocka_unit_test_setup(test_H6_rate_limit_off, setup_tw),
		cmocka_unit_test_setup(test_H6_rate_limit_data_exempt, setup_tw),
		cmocka_unit_test_setup(test_H6_rate_limit_clock_from_zero, setup_tw),
		cmocka_unit_test_setup(test_H6_zero_window, setup_tw),
		/* H7, H8 */
		cmocka_unit_test_setup(test_H7_syn_above_rcv_nxt_reopens, setup_tw),
		cmocka_unit_test_setup(test_H7_syn_reopen_off_refused, setup_tw),
		cmocka_unit_test_setup(test_H8_syn_not_above_rcv_nxt_challenge_ack, setup_tw),
		cmocka_unit_test_setup(test_H8_syn_not_above_rcv_nxt_silent_drop, setup_tw),
		cmocka_unit_test_setup(test_H8_syn_challenge_ack_rate_limited, setup_tw),
		cmocka_unit_test_setup(test_H8_syn_ack_refused, setup_tw),
		/* H9 */
		cmocka_unit_test_setup(test_H9a_syn_newer_tsval_lower_seq_reopens, setup_tw_ts),
		cmocka_unit_test_setup(test_H9b_syn_equal_tsval_higher_seq_reopens, setup_tw_ts),
		cmocka_unit_test_setup(test_H9c_syn_without_ts_higher_seq_reopens, setup_tw_ts),
		cmocka_unit_test_setup(test_H9d_syn_older_tsval_refused, setup_tw_ts),
		cmocka_unit_test_setup(test_H9e_syn_equal_tsval_lower_seq_refused, setup_tw_ts),
		cmocka_unit_test_setup(test_H9_syn_ts_when_new_incarnation_without_ts, setup_tw_ts),
		cmocka_unit_test_setup(test_H9_syn_ts_after_incarnation_without_ts, setup_tw),
		cmocka_unit_test_setup(test_H9_syn_ts_recent_older_than_24_days, setup_tw_ts),
		cmocka_unit_test_setup(test_H9_syn_tsval_wraps, setup_tw_ts),
		/* H13 */
		cmocka_unit_test_setup(test_H13_data_after_fin_ignored, setup_tw),
		/* PAWS */
		cmocka_unit_test_setup(test_PAWS_old_tsval_acked_and_dropped, setup_tw_ts),
		cmocka_unit_test_setup(test_PAWS_old_tsval_fin_no_restart, setup_tw_ts),
		cmocka_unit_test_setup(test_PAWS_24_day_rule, setup_tw_ts),
		cmocka_unit_test_setup(test_PAWS_tsval_wraps, setup_tw_ts),
		cmocka_unit_test_setup(test_PAWS_ts_missing_dropped, setup_tw_ts),
		cmocka_unit_test_setup(test_PAWS_ts_ignored_when_not_in_use, setup_tw),
		cmocka_unit_test_setup(test_PAWS_data_at_rcv_nxt_records_ts, setup_tw_ts),
		/* Wrap-around and window scaling */
		cmocka_unit_test_setup(test_wrap_rcv_nxt_near_2_32, setup_tw),
		cmocka_unit_test_setup(test_wrap_rcv_nxt_zero, setup_tw),
		cmocka_unit_test_setup(test_wrap_snd_nxt_near_2_32, setup_tw),
		cmocka_unit_test_setup(test_wscale7_window, setup_tw),
		cmocka_unit_test_setup(test_wscale14_largest_window, setup_tw),
		/* Names and invariants */
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_random_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
