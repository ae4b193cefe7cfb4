/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/tcp's application API (coda_tcp.h): configuration and
 * argument errors, socket numbers, listeners, accept, connect's checks,
 * per-call errors after the connection ended, counters and the audit. The
 * protocol itself is tested case by case in tests/conformance/.
 */

#include "tcp_harness.h"

static void
tweak_bad_mss(struct coda_tcp_conf *c)
{
	c->mss = 10;
}

static void
test_create_errors(void **state)
{
	struct coda_tcp_conf c;

	(void)state;
	coda_tcp_conf_default(&c);
	c.nb_tcb = 0;
	errno = 0;
	assert_null(coda_tcp_create(&c, 0, th_tx, NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	coda_tcp_conf_default(&c);
	tweak_bad_mss(&c);
	assert_null(coda_tcp_create(&c, 0, th_tx, NULL, NULL, NULL));
	coda_tcp_conf_default(&c);
	c.rcv_buf = 100;
	assert_null(coda_tcp_create(&c, 0, th_tx, NULL, NULL, NULL));
	coda_tcp_conf_default(&c);
	c.tw_policy = 7;
	assert_null(coda_tcp_create(&c, 0, th_tx, NULL, NULL, NULL));
	coda_tcp_conf_default(&c);
	assert_null(coda_tcp_create(&c, 0, NULL, NULL, NULL, NULL));
	assert_null(coda_tcp_create(NULL, 0, th_tx, NULL, NULL, NULL));
	coda_tcp_free(NULL);
	assert_string_equal(coda_tcp_state_name(CODA_TCP_S_FIN_WAIT_2), "FIN-WAIT-2");
	assert_string_equal(coda_tcp_state_name(CODA_TCP_S_TIME_WAIT), "TIME-WAIT");
	assert_null(coda_tcp_state_name(CODA_TCP_S__COUNT));
	assert_string_equal(coda_tcp_close_reason_name(CODA_TCP_CLOSE_REFUSED), "refused");
	assert_string_equal(coda_tcp_drop_name(1), "too_short");
	assert_non_null(coda_tcp_drop_name(TCP_DROP__COUNT));
}

static void
test_socket_errors(void **state)
{
	struct th t;
	struct coda_tcp_info info;
	char b[4];

	(void)state;
	th_init(&t);
	assert_int_equal(coda_tcp_send(t.s, 63, b, 4, t.now), -EBADF);
	assert_int_equal(coda_tcp_recv(t.s, -1, b, 4, t.now), -EBADF);
	assert_int_equal(coda_tcp_close(t.s, 1000, t.now), -EBADF);
	assert_int_equal(coda_tcp_abort(t.s, 5, t.now), -EBADF);
	assert_int_equal(coda_tcp_info(t.s, 5, &info), -EBADF);
	assert_int_equal(coda_tcp_shutdown(t.s, t.lsock, 9, t.now), -EINVAL);
	assert_int_equal(coda_tcp_shutdown(t.s, t.lsock, CODA_TCP_SHUT_WR, t.now), -ENOTCONN);
	assert_int_equal(coda_tcp_send(t.s, t.lsock, b, 4, t.now), -ENOTCONN);
	assert_int_equal(coda_tcp_recv(t.s, t.lsock, b, 4, t.now), -ENOTCONN);
	assert_int_equal(coda_tcp_accept(t.s, t.lsock), -EAGAIN);
	assert_int_equal(coda_tcp_accept(t.s, 40), -EINVAL);
	assert_int_equal(coda_tcp_listen(t.s, AF_INET, NULL, htons(TH_DUT_PORT), 4), -EADDRINUSE);
	assert_int_equal(coda_tcp_listen(t.s, 3, NULL, htons(81), 4), -EINVAL);
	assert_int_equal(coda_tcp_listen(t.s, AF_INET, NULL, 0, 4), -EINVAL);
	assert_int_equal(coda_tcp_listen(t.s, AF_INET, NULL, htons(81), 0), -EINVAL);
	/* A connection before it is established: -ENOTCONN. */
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	EXPECT_SENT(&t, .flags = TCP_SYN, .mss = 1460);
	assert_int_equal(coda_tcp_send(t.s, t.sock, b, 4, t.now), -ENOTCONN);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, 4, t.now), -ENOTCONN);
	/* The same 4-tuple again: in use. */
	assert_int_equal(coda_tcp_connect(t.s, &t.key, t.now), -EADDRINUSE);
	CLOSE(&t);
	EXPECT_NOTHING(&t);
	assert_int_equal(coda_tcp_close(t.s, t.sock, t.now), -EBADF);
	th_fini(&t);
}

/* connect() to a 4-tuple in TIME-WAIT is refused (CASES H12), and allowed once it expired. */
static void
test_connect_time_wait_tuple(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_time_wait(&t);
	assert_int_equal(coda_tcp_connect(t.s, &t.key, t.now), -EADDRINUSE);
	ADVANCE(&t, 2 * t.conf.msl_ms + 5000);
	EXPECT_STATE(&t, CLOSED);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	EXPECT_SENT(&t, .flags = TCP_SYN);
	th_fini(&t);
}

/* A local port of 0 is chosen by the stack, and each connect gets its own. */
static void
test_connect_ephemeral_port(void **state)
{
	struct th t;
	struct coda_conntab_key k = {0};
	struct coda_tcp_info i1, i2;
	int s1, s2;

	(void)state;
	th_init(&t);
	coda_conntab_key_v4(&k, htonl(TH_DUT_ADDR), 0, htonl(TH_TB_ADDR), htons(TH_TB_PORT));
	s1 = coda_tcp_connect(t.s, &k, t.now);
	s2 = coda_tcp_connect(t.s, &k, t.now);
	assert_true(s1 >= 0 && s2 >= 0 && s1 != s2);
	assert_int_equal(coda_tcp_info(t.s, s1, &i1), 0);
	assert_int_equal(coda_tcp_info(t.s, s2, &i2), 0);
	assert_true(i1.key.lport != 0 && i2.key.lport != 0 && i1.key.lport != i2.key.lport);
	assert_int_equal(i1.state, CODA_TCP_S_SYN_SENT);
	/* Different 4-tuples, different ISNs (RFC 6528). */
	assert_true(i1.iss != i2.iss);
	th_fini(&t);
}

/* Socket pool exhaustion: -ENOBUFS, counted SYN drops, and nothing leaks. */
static void
tweak_tiny(struct coda_tcp_conf *c)
{
	c->nb_tcb = 3;
}

static void
test_socket_exhaustion(void **state)
{
	struct th t;
	struct coda_tcp_stats st;
	struct coda_conntab_key k;

	(void)state;
	th_init_conf(&t, tweak_tiny);
	/* The listener holds one socket; two connections fill the rest. */
	coda_conntab_key_v4(&k, htonl(TH_DUT_ADDR), htons(1000), htonl(TH_TB_ADDR), htons(1));
	assert_true(coda_tcp_connect(t.s, &k, t.now) >= 0);
	k.lport = htons(1001);
	assert_true(coda_tcp_connect(t.s, &k, t.now) >= 0);
	k.lport = htons(1002);
	assert_int_equal(coda_tcp_connect(t.s, &k, t.now), -ENOBUFS);
	th_flush(&t);
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN);
	EXPECT_NOTHING(&t);
	coda_tcp_stats(t.s, &st);
	assert_int_equal(st.drops[TCP_DROP__COUNT + 6], 1); /* no_socket */
	assert_string_equal(coda_tcp_drop_name(TCP_DROP__COUNT + 6), "no_socket");
	assert_int_equal(st.states[CODA_TCP_S_SYN_SENT], 2);
	assert_int_equal(st.states[CODA_TCP_S_LISTEN], 1);
	th_fini(&t);
}

/* Malformed segments are dropped under their parser reason; nothing is sent. */
static void
test_malformed_dropped_and_counted(void **state)
{
	struct th t;
	struct coda_tcp_stats st;
	uint8_t bad[20] = {0};

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	coda_tcp_input(t.s, &t.key, bad, 10, t.now);
	bad[12] = 4 << 4; /* data offset 4 */
	coda_tcp_input(t.s, &t.key, bad, 20, t.now);
	EXPECT_NOTHING(&t);
	coda_tcp_stats(t.s, &st);
	assert_int_equal(st.drops[TCP_DROP_TOO_SHORT], 1);
	assert_int_equal(st.drops[TCP_DROP_DOFF_SMALL], 1);
	assert_true(st.rx_dropped >= 2);
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

/* Data both ways, with the send buffer's limit and WRITABLE. */
static void
tweak_small_buf(struct coda_tcp_conf *c)
{
	c->snd_buf = 3000;
	c->rcv_buf = 3000;
}

static void
test_data_and_buffers(void **state)
{
	struct th t;
	uint8_t big[5000], got[5000];
	struct th_out *o;
	struct coda_tcp_info info;

	(void)state;
	memset(big, 'x', sizeof(big));
	th_init_conf(&t, tweak_small_buf);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_send(t.s, t.sock, big, 5000, t.now), 3000);
	o = EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .len = 1460);
	(void)o;
	EXPECT_SENT(&t, .seq = t.S + 1460, .len = 1460);
	EXPECT_SENT(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.S + 2920, .len = 80);
	assert_int_equal(coda_tcp_send(t.s, t.sock, big, 10, t.now), -EAGAIN);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 2920);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_WRITABLE));
	assert_int_equal(coda_tcp_send(t.s, t.sock, big, 5000, t.now), 2920);
	/* Receive: the window advertised shrinks as data waits unread. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 2920, .len = 1000);
	ADVANCE(&t, 100);
	th_flush(&t);
	assert_int_equal(coda_tcp_info(t.s, t.sock, &info), 0);
	assert_int_equal(info.readable, 1000);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, got, sizeof(got), t.now), 1000);
	assert_memory_equal(got, "abcdefghij", 0);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, got, sizeof(got), t.now), -EAGAIN);
	th_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_socket_errors),
		cmocka_unit_test(test_connect_time_wait_tuple),
		cmocka_unit_test(test_connect_ephemeral_port),
		cmocka_unit_test(test_socket_exhaustion),
		cmocka_unit_test(test_malformed_dropped_and_counted),
		cmocka_unit_test(test_data_and_buffers),
	};

	return cmocka_run_group_tests_name("tcp_api", tests, NULL, NULL);
}
