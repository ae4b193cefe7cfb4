/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The [POLICY] cases of CASES.md, each with its switch turned away from
 * the default (the defaults are tested in test_conf_close.c and
 * test_conf_rst_tw.c): the alternative behaviour must hold too. The
 * switches and their defaults are documented in docs/tcp.md.
 */

#include "tcp_harness.h"

static void
tweak_h8(struct coda_tcp_conf *c)
{
	c->tw_syn_challenge_ack = false;
}

/* H8 with the switch off: a SYN at or below RCV.NXT in TIME-WAIT is dropped silently (RFC 6191). */
static void
test_H8_syn_refused_dropped_policy(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, tweak_h8);
	th_time_wait(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R - 1000);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_SYN, .seq = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, TIME_WAIT);
	/* Still a TIME-WAIT that answers a retransmitted FIN. */
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R - 1, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	th_fini(&t);
}

static void
tweak_i4(struct coda_tcp_conf *c)
{
	c->user_timeout_rst = true;
	c->user_timeout_ms = 5000;
}

/* I4 with the switch on: giving up in FIN-WAIT-1 sends <SEQ=SND.NXT><CTL=RST> (smoltcp's form). */
static void
test_I4_user_timeout_rst_policy(void **state)
{
	struct th t;
	struct th_out *o;
	bool rst = false;

	(void)state;
	th_init_conf(&t, tweak_i4);
	th_fin_wait_1(&t, true);
	ADVANCE(&t, 12000);
	while ((o = th_next(&t)) != NULL) {
		if (o->seg.flags & TCP_RST) {
			assert_int_equal(o->seg.flags, TCP_RST);
			assert_int_equal(o->seg.seq, t.S + 1);
			rst = true;
		} else {
			assert_false(rst); /* nothing after the RST */
			assert_int_equal(o->seg.flags, TCP_FIN | TCP_ACK);
		}
	}
	assert_true(rst);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

static void
tweak_b6(struct coda_tcp_conf *c)
{
	c->last_ack_dup_ack_reply = true;
}

/* B6 with the switch on: a duplicate ACK in LAST-ACK draws a challenge ACK, rate limited. */
static void
test_B6_dup_ack_last_ack_reply_policy(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, tweak_b6);
	th_last_ack(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 1, .ack = t.R);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
	EXPECT_NOTHING(&t); /* within 500 ms */
	EXPECT_STATE(&t, LAST_ACK);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

static void
tweak_d3(struct coda_tcp_conf *c)
{
	c->shut_rd_data_rst = true;
}

/* D3 with the switch on: data after shutdown(RD) resets the connection ("half-duplex"). */
static void
test_D3_data_after_shutdown_rd_rst_policy(void **state)
{
	struct th t;
	char b[8];

	(void)state;
	th_init_conf(&t, tweak_d3);
	th_estab_passive(&t);
	SHUTDOWN(&t, RD);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.R, .ack = t.S, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = t.S);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_ABORTED);
	assert_int_equal(coda_tcp_send(t.s, t.sock, b, 1, t.now), -ECONNRESET);
	CLOSE(&t);
	th_fini(&t);
}

static void
tweak_g4(struct coda_tcp_conf *c)
{
	c->accept_at_window_edge = true;
}

/* G4 with the switch on: a pure ACK at exactly RCV.NXT+RCV.WND is accepted without reply (Linux). */
static void
test_G4_ack_at_window_edge_accepted_policy(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, tweak_g4);
	th_estab_passive(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + t.W, .ack = t.S);
	EXPECT_NOTHING(&t);
	/* One past it is still refused, with an ACK. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R + t.W + 1, .ack = t.S);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .ack = t.R);
	th_fini(&t);
}

static void
tweak_j1(struct coda_tcp_conf *c)
{
	c->zero_window_fin = false;
	c->rcv_buf = 2000;
	c->mss = 1000;
}

/* J1 with the switch off: the strict table: a FIN with a zero window is unacceptable, answered by ACK. */
static void
test_J1_fin_zero_window_refused_policy(void **state)
{
	struct th t;

	(void)state;
	th_init_conf(&t, tweak_j1);
	th_estab_passive(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S, .len = 1000);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 1000, .ack = t.S, .len = 1000);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 2000, .win = 0);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R + 2000, .ack = t.S);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 2000);
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

static void
tweak_k2(struct coda_tcp_conf *c)
{
	c->rst_flushes_rcv = true;
}

/* K2 with the switch on: RFC 9293 "All segment queues should be flushed": the error comes first. */
static void
test_K2_rst_flushes_queued_data_policy(void **state)
{
	struct th t;
	char b[8];

	(void)state;
	th_init_conf(&t, tweak_k2);
	th_estab_passive(&t);
	SEND(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.R, .ack = t.S, .len = 5);
	SEND(&t, .flags = TCP_RST, .seq = t.R + 5);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, sizeof(b), t.now), -ECONNRESET);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, sizeof(b), t.now), 0);
	CLOSE(&t);
	th_fini(&t);
}

static void
tweak_zero_seed(struct coda_tcp_conf *c)
{
	c->seed[0] = 0;
	c->seed[1] = 0;
}

/* RFC 6528: with no seed given, the ISN key is random per start: two stacks pick different ISNs. */
static void
test_isn_key_random_per_start(void **state)
{
	struct th a, b;
	struct th_out *oa, *ob;

	(void)state;
	th_init_conf(&a, tweak_zero_seed);
	th_init_conf(&b, tweak_zero_seed);
	SEND(&a, .flags = TCP_SYN, .seq = TH_TB_ISN);
	SEND(&b, .flags = TCP_SYN, .seq = TH_TB_ISN);
	oa = EXPECT_SENT(&a, .flags = TCP_SYN | TCP_ACK);
	ob = EXPECT_SENT(&b, .flags = TCP_SYN | TCP_ACK);
	assert_true(oa->seg.seq != ob->seg.seq);
	th_fini(&a);
	th_fini(&b);
}

/* E10, SO_LINGER {1, 0}: close() sends RST at once, nothing else, no TIME-WAIT. */
static void
test_E10_linger_zero_close_sends_rst(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_set_linger(t.s, t.sock, true, 0), 0);
	assert_int_equal(coda_tcp_send(t.s, t.sock, "abc", 3, t.now), 3);
	EXPECT_SENT(&t, .seq = t.S, .len = 3);
	CLOSE(&t);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = t.S + 3, .ack = t.R);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(coda_tcp_set_linger(t.s, t.lsock, true, 0), -EINVAL);
	assert_int_equal(coda_tcp_set_linger(t.s, 60, true, 0), -EBADF);
	th_fini(&t);
}

/* E10, shutdown(RDWR) then close() with linger {1, 0}: the FIN, then the RST (gVisor's case). */
static void
test_E10_shutdown_then_linger_zero_close(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	SHUTDOWN(&t, RDWR);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.S);
	assert_int_equal(coda_tcp_set_linger(t.s, t.sock, true, 0), 0);
	CLOSE(&t);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = t.S + 1);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

/* E10, linger {1, 3 s}: data and FIN go; unacknowledged after 3 s, the connection is aborted. */
static void
test_E10_linger_timeout_aborts(void **state)
{
	struct th t;
	struct th_out *o;
	bool rst = false;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_set_linger(t.s, t.sock, true, 3000), 0);
	assert_int_equal(coda_tcp_send(t.s, t.sock, "abc", 3, t.now), 3);
	CLOSE(&t);
	EXPECT_SENT(&t, .seq = t.S, .len = 3);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.S + 3);
	ADVANCE(&t, 2900);
	EXPECT_STATE(&t, FIN_WAIT_1);
	ADVANCE(&t, 1000);
	while ((o = th_next(&t)) != NULL)
		if (o->seg.flags & TCP_RST) {
			assert_int_equal(o->seg.seq, t.S + 4);
			rst = true;
		}
	assert_true(rst);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

/* E10, linger {1, 3 s} and everything acknowledged in time: a normal close, TIME-WAIT after it. */
static void
test_E10_linger_done_in_time(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_set_linger(t.s, t.sock, true, 3000), 0);
	CLOSE(&t);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.S);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1);
	ADVANCE(&t, 5000);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, FIN_WAIT_2);
	SEND(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.R, .ack = t.S + 1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 1);
	EXPECT_STATE(&t, TIME_WAIT);
	th_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_H8_syn_refused_dropped_policy),
		cmocka_unit_test(test_I4_user_timeout_rst_policy),
		cmocka_unit_test(test_B6_dup_ack_last_ack_reply_policy),
		cmocka_unit_test(test_D3_data_after_shutdown_rd_rst_policy),
		cmocka_unit_test(test_G4_ack_at_window_edge_accepted_policy),
		cmocka_unit_test(test_J1_fin_zero_window_refused_policy),
		cmocka_unit_test(test_K2_rst_flushes_queued_data_policy),
		cmocka_unit_test(test_isn_key_random_per_start),
		cmocka_unit_test(test_E10_linger_zero_close_sends_rst),
		cmocka_unit_test(test_E10_shutdown_then_linger_zero_close),
		cmocka_unit_test(test_E10_linger_timeout_aborts),
		cmocka_unit_test(test_E10_linger_done_in_time),
	};

	return cmocka_run_group_tests_name("conf_policy", tests, NULL, NULL);
}
