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

/*
 * Reassembly: segments past a hole are kept and ACKed at once with the
 * hole's edge; when the hole fills, everything is delivered in order and
 * acknowledged together.
 */
static void
test_out_of_order_reassembly(void **state)
{
	struct th t;
	struct coda_tcp_stats st;
	uint8_t got[4000], want[4000];
	uint32_t i;

	(void)state;
	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)('a' + (TH_TB_ISN + 1 + i) % 26);
	th_init(&t);
	th_estab_passive(&t);
	/* 1000..1999 and 3000..3999 first, then 0..999, then 2000..2999. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 1000, .ack = t.S, .len = 1000);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 3000, .ack = t.S, .len = 1000);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, got, sizeof(got), t.now), -EAGAIN);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S, .len = 1000);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 2000);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 2000, .ack = t.S, .len = 1000);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 4000);
	EXPECT_NOTHING(&t);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, got, sizeof(got), t.now), 4000);
	assert_memory_equal(got, want, 4000);
	/* A duplicate of old data: ACKed at once, nothing delivered twice. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 1000, .ack = t.S, .len = 1000);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 4000);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, got, sizeof(got), t.now), -EAGAIN);
	coda_tcp_stats(t.s, &st);
	assert_int_equal(st.drops[TCP_DROP__COUNT + 21], 2); /* out_of_order: kept */
	assert_string_equal(coda_tcp_drop_name(TCP_DROP__COUNT + 21), "out_of_order");
	/* A FIN after a hole is taken once the hole fills. */
	SEND(&t, .flags = TCP_ACK | TCP_FIN, .seq = t.R + 4500, .ack = t.S, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 4000);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 4000, .ack = t.S, .len = 500);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 4510);
	SEND(&t, .flags = TCP_ACK | TCP_FIN, .seq = t.R + 4500, .ack = t.S, .len = 10);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 4511);
	EXPECT_STATE(&t, CLOSE_WAIT);
	th_fini(&t);
}

static void
tweak_keepalive(struct coda_tcp_conf *c)
{
	c->keepalive_ms = 10000;
	c->keepalive_intvl_ms = 1000;
	c->keepalive_probes = 3;
}

/*
 * Keepalive (RFC 1122 4.2.3.6): nothing while the peer talks; after the
 * idle time a probe <SEQ=SND.UNA-1><ACK=RCV.NXT>; an answer resets it;
 * unanswered probes end the connection with TIMEOUT.
 */
static void
test_keepalive(void **state)
{
	struct th t;
	char b[4];

	(void)state;
	th_init_conf(&t, tweak_keepalive);
	th_estab_passive(&t);
	ADVANCE(&t, 9000);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S); /* the peer talks at 9 s */
	/*
	 * Never early; late by at most the wheel's granularity for the delay
	 * (512 ms for 10 s, 64 ms for 1 s: coda_wheel.h), hence the slack.
	 */
	ADVANCE(&t, 9999);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 600);
	/* The probe advertises the real window, like any segment. */
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S - 1, .ack = t.R, .len = 0, .win = t.W);
	EXPECT_NOTHING(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S); /* answered */
	ADVANCE(&t, 9999);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 600);
	EXPECT_SENT(&t, .seq = t.S - 1);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 1100);
	EXPECT_SENT(&t, .seq = t.S - 1);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 1100);
	EXPECT_SENT(&t, .seq = t.S - 1);
	EXPECT_STATE(&t, ESTABLISHED);
	ADVANCE(&t, 1100);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_TIMEOUT);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, 4, t.now), -ETIMEDOUT);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, 4, t.now), 0);
	CLOSE(&t);
	th_fini(&t);
}

/* close() of a listener: children it has not handed out are reset (CASES note 16). */
static void
test_listener_close_resets_children(void **state)
{
	struct th t;
	struct th_out *o;
	struct coda_conntab_key k2;
	struct coda_tcp_stats st;

	(void)state;
	th_init(&t);
	/* One child established, not accepted; a second one still in SYN-RECEIVED. */
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK);
	SEND(&t, .flags = TCP_ACK, .seq = TH_TB_ISN + 1, .ack = o->seg.seq + 1);
	EXPECT_STATE(&t, ESTABLISHED);
	k2 = t.key;
	coda_conntab_key_v4(&t.key, htonl(TH_DUT_ADDR), htons(TH_DUT_PORT), htonl(TH_TB_ADDR),
			    htons(TH_TB_PORT + 1));
	SEND(&t, .flags = TCP_SYN, .seq = 777, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = 778);
	EXPECT_STATE(&t, SYN_RECEIVED);
	assert_int_equal(coda_tcp_close(t.s, t.lsock, t.now), 0);
	/* Each gets an RST (order: the accept queue first). */
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .ack = TH_TB_ISN + 1);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .ack = 778);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	t.key = k2;
	EXPECT_STATE(&t, CLOSED);
	/* The port is free: a SYN now draws an RST (no listener). */
	SEND(&t, .flags = TCP_SYN, .seq = 5);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .ack = 6);
	coda_tcp_stats(t.s, &st);
	assert_int_equal(st.closed[CODA_TCP_CLOSE_ABORTED], 2);
	assert_int_equal(st.states[CODA_TCP_S_LISTEN], 0);
	th_fini(&t);
}

/*
 * Several listeners, on other ports and on one exact address, closed in
 * another order than opened: a SYN finds exactly the listeners still open
 * (the exact address before "any"), a closed port answers RST, a closed
 * port can be listened on again, and the audit agrees at every step.
 */
static void
test_many_listeners(void **state)
{
	struct th t;
	int ls[6], exact;
	uint32_t dut = htonl(TH_DUT_ADDR);
	unsigned int i;

	(void)state;
	th_init(&t);
	for (i = 0; i < 6; i++) {
		ls[i] = coda_tcp_listen(t.s, AF_INET, NULL, htons(8000 + i), 4);
		assert_true(ls[i] >= 0);
	}
	/* The same port once more, on the exact address: allowed, and preferred. */
	exact = coda_tcp_listen(t.s, AF_INET, (const uint8_t *)&dut, htons(8002), 4);
	assert_true(exact >= 0);
	assert_int_equal(coda_tcp_listen(t.s, AF_INET, (const uint8_t *)&dut, htons(8002), 4),
			 -EADDRINUSE);
	assert_int_equal(coda_tcp_listen(t.s, AF_INET, NULL, htons(8004), 4), -EADDRINUSE);
	assert_int_equal(coda_tcp_audit(t.s), 0);
	assert_int_equal(coda_tcp_close(t.s, ls[1], t.now), 0);
	assert_int_equal(coda_tcp_close(t.s, ls[4], t.now), 0);
	assert_int_equal(coda_tcp_close(t.s, ls[0], t.now), 0);
	assert_int_equal(coda_tcp_audit(t.s), 0);
	for (i = 0; i < 6; i++) {
		bool open = i == 2 || i == 3 || i == 5;

		coda_conntab_key_v4(&t.key, dut, htons(8000 + i), htonl(TH_TB_ADDR),
				    htons(TH_TB_PORT + i));
		SEND(&t, .flags = TCP_SYN, .seq = 100 * i, .mss = 1460);
		if (open) {
			EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = 100 * i + 1);
			EXPECT_STATE(&t, SYN_RECEIVED);
		} else {
			EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .ack = 100 * i + 1);
		}
	}
	/* Port 8002's child belongs to the exact-address listener: closing it resets the child. */
	assert_int_equal(coda_tcp_close(t.s, exact, t.now), 0);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .ack = 201);
	/* A closed port can be listened on again. */
	ls[4] = coda_tcp_listen(t.s, AF_INET, NULL, htons(8004), 4);
	assert_true(ls[4] >= 0);
	assert_int_equal(coda_tcp_audit(t.s), 0);
	coda_conntab_key_v4(&t.key, dut, htons(8004), htonl(TH_TB_ADDR), htons(TH_TB_PORT + 40));
	SEND(&t, .flags = TCP_SYN, .seq = 4000, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = 4001);
	/* The exact address wins whichever was opened first: closing it resets its child. */
	for (i = 0; i < 2; i++) {
		int any_first = -1, ex;

		if (i == 0)
			any_first = coda_tcp_listen(t.s, AF_INET, NULL, htons(8010 + i), 4);
		ex = coda_tcp_listen(t.s, AF_INET, (const uint8_t *)&dut, htons(8010 + i), 4);
		if (i == 1)
			any_first = coda_tcp_listen(t.s, AF_INET, NULL, htons(8010 + i), 4);
		assert_true(any_first >= 0 && ex >= 0);
		coda_conntab_key_v4(&t.key, dut, htons(8010 + i), htonl(TH_TB_ADDR),
				    htons(TH_TB_PORT + 50 + i));
		SEND(&t, .flags = TCP_SYN, .seq = 5000, .mss = 1460);
		EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = 5001);
		assert_int_equal(coda_tcp_close(t.s, ex, t.now), 0);
		EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .ack = 5001);
		EXPECT_NOTHING(&t);
	}
	assert_int_equal(coda_tcp_audit(t.s), 0);
	th_fini(&t);
}

static void
tweak_short_timeouts(struct coda_tcp_conf *c)
{
	c->syn_timeout_ms = 10000;
	c->user_timeout_ms = 10000;
}

/* SYN unanswered: retransmitted with backoff (RFC 6298), then TIMEOUT (R2), nothing more sent. */
static void
test_syn_timeout(void **state)
{
	struct th t;
	unsigned int syns = 0;
	struct th_out *o;
	char b[4];

	(void)state;
	th_init_conf(&t, tweak_short_timeouts);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	assert_true(t.sock >= 0);
	ADVANCE(&t, 20000);
	while ((o = th_next(&t)) != NULL) {
		assert_int_equal(o->seg.flags, TCP_SYN);
		syns++;
	}
	/* 0, 1, 3, 7 s (+ lateness): four, then the fifth would be past 10 s. */
	assert_int_equal(syns, 4);
	EXPECT_STATE(&t, CLOSED);
	assert_true(th_saw_event(&t, t.sock, CODA_TCP_EV_CLOSED));
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_TIMEOUT);
	assert_int_equal(coda_tcp_send(t.s, t.sock, b, 1, t.now), -ETIMEDOUT);
	assert_int_equal(coda_tcp_send(t.s, t.sock, b, 1, t.now), -EPIPE);
	CLOSE(&t);
	th_fini(&t);
}

/* A SYN,ACK nobody acknowledges: retransmitted, then the child is dropped silently. */
static void
test_syn_ack_timeout(void **state)
{
	struct th t;
	unsigned int n = 0;
	struct th_out *o;

	(void)state;
	th_init_conf(&t, tweak_short_timeouts);
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	ADVANCE(&t, 20000);
	while ((o = th_next(&t)) != NULL) {
		assert_int_equal(o->seg.flags, TCP_SYN | TCP_ACK);
		n++;
	}
	assert_true(n >= 4);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(coda_tcp_accept(t.s, t.lsock), -EAGAIN);
	th_fini(&t);
}

/* Simultaneous open, then close() in SYN-RECEIVED: FIN-WAIT-1 with a FIN (RFC 9293 §3.10.4). */
static void
test_close_syn_received(void **state)
{
	struct th t;
	struct th_out *o;

	(void)state;
	th_init(&t);
	t.sock = coda_tcp_connect(t.s, &t.key, t.now);
	o = EXPECT_SENT(&t, .flags = TCP_SYN);
	t.iss = o->seg.seq;
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .seq = t.iss, .ack = TH_TB_ISN + 1);
	EXPECT_STATE(&t, SYN_RECEIVED);
	CLOSE(&t);
	EXPECT_STATE(&t, FIN_WAIT_1);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.iss + 1, .ack = TH_TB_ISN + 1);
	/* The peer's ACK of SYN and FIN together: FIN-WAIT-2. */
	SEND(&t, .flags = TCP_ACK, .seq = TH_TB_ISN + 1, .ack = t.iss + 2);
	EXPECT_STATE(&t, FIN_WAIT_2);
	th_fini(&t);
}

/* Data sent in CLOSE-WAIT never acknowledged: retransmitted, then TIMEOUT after user_timeout_ms. */
static void
test_user_timeout_close_wait(void **state)
{
	struct th t;
	char b[4];

	(void)state;
	th_init_conf(&t, tweak_short_timeouts);
	th_close_wait(&t);
	assert_int_equal(coda_tcp_send(t.s, t.sock, "data", 4, t.now), 4);
	EXPECT_SENT(&t, .seq = t.S, .len = 4);
	ADVANCE(&t, 9000);
	EXPECT_STATE(&t, CLOSE_WAIT);
	ADVANCE(&t, 20000);
	EXPECT_STATE(&t, CLOSED);
	assert_int_equal(th_info(&t).close_reason, CODA_TCP_CLOSE_TIMEOUT);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, 4, t.now), -ETIMEDOUT);
	CLOSE(&t);
	th_fini(&t);
}

/* Data to a connection the application has not accepted yet is queued, not answered by RST. */
static void
test_data_before_accept(void **state)
{
	struct th t;
	struct th_out *o;
	char b[100];

	(void)state;
	th_init(&t);
	SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460);
	o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK);
	t.S = o->seg.seq + 1;
	t.R = TH_TB_ISN + 1;
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
	SEND(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.R, .ack = t.S, .len = 100);
	ADVANCE(&t, 100);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 100);
	EXPECT_NOTHING(&t);
	t.sock = coda_tcp_accept(t.s, t.lsock);
	assert_true(t.sock >= 0);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, sizeof(b), t.now), 100);
	th_fini(&t);
}

/*
 * RFC 9293 §3.7.1: a segment's data is at most the MSS less its TCP
 * options. With timestamps on every segment, 1460 - 12 = 1448 bytes, so
 * the IP packet fits the 1500-byte MTU the peer's MSS was derived from.
 */
static void
test_mss_less_timestamp_option(void **state)
{
	static char data[4000];
	struct th t;
	struct th_out *o;

	(void)state;
	for (int ts = 0; ts <= 1; ts++) {
		th_init(&t);
		th_estab_passive_opts(&t, ts, -1);
		assert_int_equal(coda_tcp_send(t.s, t.sock, data, sizeof(data), t.now),
				 (int32_t)sizeof(data));
		o = EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .len = ts ? 1448 : 1460);
		assert_int_equal(o->seg.payload_len, ts ? 1448 : 1460);
		assert_int_equal(o->len - o->seg.payload_len, ts ? 32 : 20);
		th_fini(&t);
	}
}

/*
 * IPv6: the MSS announced is 20 bytes below the IPv4 one (1440: a 40-byte
 * IPv6 header in the same 1500-byte MTU), and a SYN without the option
 * means 1220 (RFC 9293 §3.7.1), so full segments fit a 1280-byte path.
 */
static void
test_mss_ipv6(void **state)
{
	static const uint8_t dut6[16] = {0x20, 0x01, 0x00, 0x02, [15] = 1};
	static const uint8_t tb6[16] = {0x20, 0x01, 0x00, 0x02, [15] = 2};
	static char data[4000];
	struct th t;
	struct th_out *o;

	(void)state;
	for (int opt = 0; opt <= 1; opt++) {
		th_init(&t);
		t.lsock = coda_tcp_listen(t.s, AF_INET6, NULL, htons(TH_DUT_PORT), 16);
		assert_true(t.lsock >= 0);
		coda_conntab_key_v6(&t.key, dut6, htons(TH_DUT_PORT), tb6, htons(TH_TB_PORT));
		SEND(&t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = opt ? 1460 : 0);
		o = EXPECT_SENT(&t, .flags = TCP_SYN | TCP_ACK, .ack = TH_TB_ISN + 1, .mss = 1440);
		t.S = o->seg.seq + 1;
		t.R = TH_TB_ISN + 1;
		SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
		t.sock = coda_tcp_accept(t.s, t.lsock);
		assert_true(t.sock >= 0);
		assert_int_equal(coda_tcp_send(t.s, t.sock, data, sizeof(data), t.now),
				 (int32_t)sizeof(data));
		EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .len = opt ? 1440 : 1220);
		th_fini(&t);
	}
}

/*
 * coda_tcp_reconfigure(): a new MSL applies to the next TIME-WAIT; a lower
 * TIME-WAIT count ends the entries over it at once; capacities fixed at
 * creation are refused.
 */
static void
test_reconfigure(void **state)
{
	struct coda_tcp_conf c;
	struct coda_conntab_stats cs;
	struct th t;
	uint64_t left;

	(void)state;
	th_init(&t);
	c = *coda_tcp_conf_get(t.s);
	assert_int_equal(c.msl_ms, 30000);
	c.msl_ms = 1000;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), 0);
	assert_int_equal(coda_tcp_conf_get(t.s)->msl_ms, 1000);
	th_time_wait(&t);
	assert_int_equal(coda_tcp_lookup(t.s, &t.key, t.now, &left), CODA_TCP_S_TIME_WAIT);
	assert_true(left <= 2000 + 200 && left > 1000);
	/* Down to no TIME-WAIT: the entry ends now, as a recycled one. */
	c.nb_tw = 0;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), 0);
	EXPECT_STATE(&t, CLOSED);
	coda_conntab_stats(coda_tcp_conntab(t.s), &cs);
	assert_int_equal(cs.tw_recycled, 1);
	assert_int_equal(cs.entries_tw, 0);
	/* Fixed at creation, or beyond it. */
	c.nb_tw = t.conf.nb_tw + 1;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), -EINVAL);
	c.nb_tw = t.conf.nb_tw;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), 0);
	c.nb_tcb++;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), -EBUSY);
	c.nb_tcb--;
	c.tw_policy = CODA_CONNTAB_TW_SKIP;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), -EBUSY);
	c.tw_policy = CODA_CONNTAB_TW_RECYCLE;
	c.msl_ms = 0;
	assert_int_equal(coda_tcp_reconfigure(t.s, &c), -EINVAL);
	assert_int_equal(coda_tcp_conf_get(t.s)->msl_ms, 1000); /* unchanged by a refusal */
	th_fini(&t);
}

/* An echo-like application: read everything; at end of stream, close(). */
static void
close_at_eof(struct th *t, int sock, enum coda_tcp_event ev)
{
	char b[256];
	int32_t n;

	if (sock != t->sock || (ev != CODA_TCP_EV_READABLE && ev != CODA_TCP_EV_PEER_FIN))
		return;
	while ((n = coda_tcp_recv(t->s, sock, b, sizeof(b), t->now)) > 0)
		;
	if (n == 0) {
		assert_int_equal(coda_tcp_close(t->s, sock, t->now), 0);
		t->sock = -1;
	}
}

/*
 * Data and FIN in one segment, and an application that closes from its
 * callback once it reads end of stream: the events come after the whole
 * segment is processed, so the close happens in CLOSE-WAIT and goes to
 * LAST-ACK (passive close, no TIME-WAIT here), not to FIN-WAIT-1 and then
 * CLOSING/TIME-WAIT as if both sides had closed at once.
 */
static void
test_events_after_segment_close_in_callback(void **state)
{
	struct th t;
	int sock;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	sock = t.sock;
	t.on_event = close_at_eof;
	SEND(&t, .flags = TCP_ACK | TCP_PSH | TCP_FIN, .seq = t.R, .ack = t.S, .len = 10);
	EXPECT_EVENT(&t, sock, READABLE);
	assert_int_equal(t.sock, -1); /* closed from the callback */
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .ack = t.R + 11);
	EXPECT_SENT(&t, .flags = TCP_FIN | TCP_ACK, .seq = t.S, .ack = t.R + 11);
	EXPECT_STATE(&t, LAST_ACK);
	SEND(&t, .flags = TCP_ACK, .seq = t.R + 11, .ack = t.S + 1);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

static void
respond_and_close(struct th *t, int sock, enum coda_tcp_event ev)
{
	char b[64];

	if (sock == t->sock && ev == CODA_TCP_EV_READABLE) {
		assert_int_equal(coda_tcp_recv(t->s, sock, b, sizeof(b), t->now), 10);
		assert_int_equal(coda_tcp_send(t->s, sock, "0123", 4, t->now), 4);
		assert_int_equal(coda_tcp_send(t->s, sock, "456789", 6, t->now), 6);
		assert_int_equal(coda_tcp_close(t->s, sock, t->now), 0);
		t->sock = -1;
	}
}

/*
 * A server that answers a request and closes, all from the callback of the
 * request (an HTTP server with "Connection: close"): the response and the
 * FIN leave in one segment, the two sends together. Sent at once, the
 * response would go alone and the FIN after it, and a client that closes
 * as soon as it has the response could close first (both sides would end
 * in TIME-WAIT); a busy core made that happen in the wire tests.
 */
static void
test_callback_response_and_fin_together(void **state)
{
	struct th t;
	struct th_out *o;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	t.on_event = respond_and_close;
	SEND(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.R, .ack = t.S, .len = 10);
	assert_int_equal(t.sock, -1);
	o = EXPECT_SENT(&t, .seq = t.S, .ack = t.R + 10, .len = 10);
	assert_true(o->seg.flags & TCP_FIN);
	assert_int_equal(memcmp(o->bytes + o->len - 10, "0123456789", 10), 0);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, FIN_WAIT_1);
	th_fini(&t);
}

static void
abort_on_readable(struct th *t, int sock, enum coda_tcp_event ev)
{
	if (sock == t->sock && ev == CODA_TCP_EV_READABLE) {
		assert_int_equal(coda_tcp_abort(t->s, sock, t->now), 0);
		t->sock = -1;
	}
}

/*
 * An abort from the callback of a segment that also carries a FIN: the
 * segment is ACKed (FIN included: it was processed whole), then the RST,
 * nothing after it and nothing touched on the freed connection.
 */
static void
test_events_after_segment_abort_in_callback(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	t.on_event = abort_on_readable;
	SEND(&t, .flags = TCP_ACK | TCP_PSH | TCP_FIN, .seq = t.R, .ack = t.S, .len = 10);
	assert_int_equal(t.sock, -1);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 11);
	EXPECT_SENT(&t, .flags = TCP_RST | TCP_ACK, .seq = t.S);
	EXPECT_NOTHING(&t);
	EXPECT_STATE(&t, CLOSED);
	th_fini(&t);
}

/*
 * Zero window: a probe byte after the RTO; once the peer takes it and opens
 * its window, the rest follows (the probe byte counts as sent: its ACK is
 * not an ACK of unsent data).
 */
static void
test_zero_window_probe(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S, .win = 0);
	assert_int_equal(coda_tcp_send(t.s, t.sock, "0123456789", 10, t.now), 10);
	EXPECT_NOTHING(&t);
	/* RTO 200 ms from the handshake's RTT sample (0 ms, raised to rto_min). */
	ADVANCE(&t, 199);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 20);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .len = 1);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 1, .win = 100);
	EXPECT_SENT(&t, .seq = t.S + 1, .len = 9);
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 10, .win = 100);
	EXPECT_NOTHING(&t);
	assert_int_equal(th_info(&t).snd_una, t.S + 10);
	th_fini(&t);
}

/* Three duplicate ACKs resend the one segment at SND.UNA (fast retransmit), not the window. */
static void
test_fast_retransmit_one_segment(void **state)
{
	struct th t;
	uint8_t data[4380];
	unsigned int i;

	(void)state;
	memset(data, 'd', sizeof(data));
	th_init(&t);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_send(t.s, t.sock, data, sizeof(data), t.now), (int)sizeof(data));
	for (i = 0; i < 3; i++)
		EXPECT_SENT(&t, .seq = t.S + 1460 * i, .len = 1460);
	for (i = 0; i < 3; i++)
		SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S, .len = 1460);
	EXPECT_NOTHING(&t);
	/* The ACK of everything ends recovery; nothing else is resent. */
	SEND(&t, .flags = TCP_ACK, .seq = t.R, .ack = t.S + 4380);
	EXPECT_NOTHING(&t);
	th_fini(&t);
}

/* After a timeout sends SND.NXT back, a pure ACK still carries the highest sequence number sent. */
static void
test_ack_after_timeout_carries_snd_max(void **state)
{
	struct th t;
	uint8_t data[2920];

	(void)state;
	memset(data, 'd', sizeof(data));
	th_init(&t);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_send(t.s, t.sock, data, sizeof(data), t.now), (int)sizeof(data));
	EXPECT_SENT(&t, .seq = t.S, .len = 1460);
	EXPECT_SENT(&t, .seq = t.S + 1460, .len = 1460);
	ADVANCE(&t, 220); /* RTO 200 ms */
	EXPECT_SENT(&t, .seq = t.S, .len = 1460); /* go back: the first segment again */
	/* Data from the peer now: its ACK must say seq = S + 2920, not S + 1460. */
	SEND(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.R, .ack = t.S, .len = 10);
	ADVANCE(&t, 50);
	EXPECT_SENT(&t, .flags = TCP_ACK, .seq = t.S + 2920, .ack = t.R + 10, .len = 0);
	th_fini(&t);
}

/*
 * A timer armed after a long time without coda_tcp_timers() calls is placed
 * by its delay from now, not from the wheel's stale clock: a 200 ms
 * retransmission after an hour's idle fires within its level's lateness
 * (the stack runs the timers due by `now` before it processes a call).
 */
static void
test_timer_after_long_idle(void **state)
{
	struct th t;

	(void)state;
	th_init(&t);
	th_estab_passive(&t);
	t.now += 3600000; /* an hour passes; nobody runs the timers */
	t.tb_tsval += 3600000;
	assert_int_equal(coda_tcp_send(t.s, t.sock, "x", 1, t.now), 1);
	EXPECT_SENT(&t, .seq = t.S, .len = 1);
	/* RTO 200 ms (the handshake's sample): level 1 of the wheel, at most 7 ms late. */
	ADVANCE(&t, 199);
	EXPECT_NOTHING(&t);
	ADVANCE(&t, 8);
	EXPECT_SENT(&t, .seq = t.S, .len = 1);
	th_fini(&t);
}

/* No keepalive probe while data is unacknowledged: the retransmissions probe the path. */
static void
test_keepalive_not_while_data_in_flight(void **state)
{
	struct th t;
	struct th_out *o;

	(void)state;
	th_init_conf(&t, tweak_keepalive);
	th_estab_passive(&t);
	assert_int_equal(coda_tcp_send(t.s, t.sock, "data", 4, t.now), 4);
	ADVANCE(&t, 15000);
	while ((o = th_next(&t)) != NULL) {
		assert_int_equal(o->seg.seq, t.S); /* retransmissions only */
		assert_int_equal(o->seg.payload_len, 4);
	}
	EXPECT_STATE(&t, ESTABLISHED);
	th_fini(&t);
}

/*
 * With window scaling, the window field is the free receive buffer shifted
 * by our scale (RFC 7323 §2.3): 1000 unread bytes of 262144 with a shift of
 * 3 (the least that covers 262144 in 16 bits) advertise (262144 - 1000) >> 3.
 */
static void
test_window_field_scaled(void **state)
{
	struct th t;
	char b[1000];

	(void)state;
	th_init(&t);
	th_estab_passive_opts(&t, false, 7);
	SEND(&t, .flags = TCP_ACK | TCP_PSH, .seq = t.R, .ack = t.S, .len = 1000);
	ADVANCE(&t, 100);
	EXPECT_SENT(&t, .flags = TCP_ACK, .ack = t.R + 1000, .win = (262144 - 1000) >> 3);
	assert_int_equal(th_info(&t).rcv_wnd, 262144 - 1000);
	assert_int_equal(coda_tcp_recv(t.s, t.sock, b, sizeof(b), t.now), 1000);
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
		cmocka_unit_test(test_out_of_order_reassembly),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_listener_close_resets_children),
		cmocka_unit_test(test_many_listeners),
		cmocka_unit_test(test_callback_response_and_fin_together),
		cmocka_unit_test(test_syn_timeout),
		cmocka_unit_test(test_syn_ack_timeout),
		cmocka_unit_test(test_close_syn_received),
		cmocka_unit_test(test_user_timeout_close_wait),
		cmocka_unit_test(test_data_before_accept),
		cmocka_unit_test(test_mss_less_timestamp_option),
		cmocka_unit_test(test_mss_ipv6),
		cmocka_unit_test(test_reconfigure),
		cmocka_unit_test(test_events_after_segment_close_in_callback),
		cmocka_unit_test(test_events_after_segment_abort_in_callback),
		cmocka_unit_test(test_zero_window_probe),
		cmocka_unit_test(test_fast_retransmit_one_segment),
		cmocka_unit_test(test_ack_after_timeout_carries_snd_max),
		cmocka_unit_test(test_timer_after_long_idle),
		cmocka_unit_test(test_keepalive_not_while_data_in_flight),
		cmocka_unit_test(test_window_field_scaled),
	};

	return cmocka_run_group_tests_name("tcp_api", tests, NULL, NULL);
}
