/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_TCP_HARNESS_H
#define CODA_TCP_HARNESS_H

/*
 * The in-process conformance harness (DESIGN.md §9 tier 2): one stack (the
 * DUT) under a virtual clock, a crafted peer (the testbench, TB) that
 * injects segments, and every segment the DUT sends captured and parsed
 * back with the stack's own parser. Tests read like traces:
 *
 *   th_estab_passive(t);
 *   CLOSE(t);
 *   EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
 *   SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
 *   EXPECT_NOTHING(t);
 *   EXPECT_STATE(t, FIN_WAIT_2);
 *
 * Shorthands of CASES.md, kept up to date by the fixtures: t->S is the
 * DUT's SND.NXT when the case starts (so its FIN occupies S), t->R the
 * DUT's RCV.NXT (the TB's next sequence number), t->W its receive window.
 *
 * Addresses: DUT 198.18.0.1:80 (listening), TB 198.18.0.2:40000
 * (benchmarking range, RFC 2544). Everything is EAL-free.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coda_tcp.h"
#include "tcp_seg.h"

/*
 * SEND() and EXPECT_SENT() give defaults first and the caller's fields
 * after them in one designated initialiser: a later initialiser of the
 * same field wins (C11 6.7.9), which is what we want here.
 */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define TH_MAX_OUT 256
#define TH_MAX_EV 256
#define TH_MAX_PAYLOAD 65536
/* "Any value" in an expectation. */
#define TH_ANY INT64_C(-1)

#define TH_DUT_ADDR 0xc6120001u /* 198.18.0.1 */
#define TH_TB_ADDR 0xc6120002u	/* 198.18.0.2 */
#define TH_DUT_PORT 80
#define TH_TB_PORT 40000
/* The TB's initial sequence number and its timestamp clock start. */
#define TH_TB_ISN 0x10000000u
#define TH_TB_TS 5000u

/* One segment the DUT sent. */
struct th_out {
	struct coda_conntab_key key;
	struct tcp_seg seg;
	uint32_t len;
	uint8_t bytes[TCP_HDR_MAX_LEN + 2048];
};

struct th_ev {
	int sock;
	enum coda_tcp_event ev;
};

struct th {
	struct coda_tcp_stack *s;
	struct coda_tcp_conf conf;
	uint64_t now;
	struct coda_conntab_key key; /* the connection from the DUT's side */
	struct th_out *out;	      /* captured segments, a ring */
	unsigned int n_out, rd_out;
	struct th_ev ev[TH_MAX_EV];
	unsigned int n_ev, rd_ev;
	int lsock; /* the DUT's listener on port 80 */
	int sock;  /* the connection's socket at the application, -1 when none */
	/* CASES.md shorthands, set by the fixtures. */
	uint32_t S, R, W;
	uint32_t iss; /* the DUT's ISS */
	uint32_t tb_tsval; /* the TB's next TSval (advanced by th_advance) */
	uint32_t dut_tsval; /* the last TSval the DUT sent */
	bool ts; /* timestamps negotiated in the fixture */
	/* Called after each event is recorded: an application acting in its callback. */
	void (*on_event)(struct th *t, int sock, enum coda_tcp_event ev);
};

/* A segment from the TB. Unset fields: win 65535, no options, no payload. */
struct th_in {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint32_t len;	     /* payload bytes (content: 'a' + offset % 26, or data) */
	const void *data;    /* payload, or NULL for the pattern */
	bool ts;	     /* Timestamps option, tsval/tsecr below */
	uint32_t tsval, tsecr;
	uint16_t mss;	     /* MSS option when non-zero */
	int wscale;	     /* Window scale option when >= 0 */
	bool sackok;	     /* SACK-permitted option */
};

/* What a sent segment must be: TH_ANY for "don't care". */
struct th_exp {
	int64_t flags, seq, ack, win, len;
	int64_t ts;	/* 1: TSopt present, 0: absent */
	int64_t tsecr;
	int64_t mss;	/* MSS option value, 0: absent */
};

static void
th_tx(void *arg, const struct coda_conntab_key *k, const void *tcp, uint32_t len)
{
	struct th *t = arg;
	struct th_out *o;
	enum tcp_drop rc;

	assert_true(t->n_out - t->rd_out < TH_MAX_OUT);
	assert_true(len <= sizeof(o->bytes));
	o = &t->out[t->n_out++ % TH_MAX_OUT];
	o->key = *k;
	o->len = len;
	memcpy(o->bytes, tcp, len);
	rc = tcp_seg_parse(o->bytes, len, &o->seg);
	if (rc != TCP_DROP_NONE)
		fail_msg("the DUT sent a segment its own parser drops: %s", tcp_drop_name(rc));
	if (o->seg.opts & TCP_OPT_TS)
		t->dut_tsval = o->seg.tsval;
}

static void
th_event(void *arg, int sock, enum coda_tcp_event ev)
{
	struct th *t = arg;

	assert_true(t->n_ev - t->rd_ev < TH_MAX_EV);
	t->ev[t->n_ev % TH_MAX_EV].sock = sock;
	t->ev[t->n_ev % TH_MAX_EV].ev = ev;
	t->n_ev++;
	if (t->on_event != NULL)
		t->on_event(t, sock, ev);
}

/* A DUT with the default configuration changed by @p tweak (may be NULL), listening on port 80. */
static inline void
th_init_conf(struct th *t, void (*tweak)(struct coda_tcp_conf *))
{
	memset(t, 0, sizeof(*t));
	t->out = calloc(TH_MAX_OUT, sizeof(*t->out));
	assert_non_null(t->out);
	coda_tcp_conf_default(&t->conf);
	t->conf.nb_tcb = 64;
	t->conf.nb_tw = 64;
	t->conf.nb_tw6 = 16;
	t->conf.seed[0] = 0x1234;
	t->conf.seed[1] = 0x5678;
	if (tweak != NULL)
		tweak(&t->conf);
	t->now = 1000000;
	t->s = coda_tcp_create(&t->conf, t->now, th_tx, t, th_event, t);
	assert_non_null(t->s);
	coda_conntab_key_v4(&t->key, htonl(TH_DUT_ADDR), htons(TH_DUT_PORT), htonl(TH_TB_ADDR),
			    htons(TH_TB_PORT));
	t->lsock = coda_tcp_listen(t->s, AF_INET, NULL, htons(TH_DUT_PORT), 16);
	assert_true(t->lsock >= 0);
	t->sock = -1;
	t->tb_tsval = TH_TB_TS;
}

static inline void
th_init(struct th *t)
{
	th_init_conf(t, NULL);
}

/* Everything consistent, then freed. */
static inline void
th_fini(struct th *t)
{
	assert_int_equal(coda_tcp_audit(t->s), 0);
	coda_tcp_free(t->s);
	free(t->out);
}

/* Build the TB's segment and give it to the DUT. */
static inline void
th_send(struct th *t, const struct th_in *in)
{
	static uint8_t buf[TCP_HDR_MAX_LEN + TH_MAX_PAYLOAD];
	uint32_t hl = 20, i;
	uint8_t *o;

	assert_true(in->len <= TH_MAX_PAYLOAD);
	memset(buf, 0, TCP_HDR_MAX_LEN);
	o = buf + 20;
	if (in->mss != 0) {
		o[0] = TCP_OPTKIND_MSS;
		o[1] = 4;
		o[2] = (uint8_t)(in->mss >> 8);
		o[3] = (uint8_t)in->mss;
		o += 4;
	}
	if (in->wscale >= 0 && in->wscale < 256 && (in->flags & TCP_SYN)) {
		o[0] = TCP_OPTKIND_NOP;
		o[1] = TCP_OPTKIND_WS;
		o[2] = 3;
		o[3] = (uint8_t)in->wscale;
		o += 4;
	}
	if (in->sackok) {
		o[0] = TCP_OPTKIND_NOP;
		o[1] = TCP_OPTKIND_NOP;
		o[2] = TCP_OPTKIND_SACKOK;
		o[3] = 2;
		o += 4;
	}
	if (in->ts) {
		o[0] = TCP_OPTKIND_NOP;
		o[1] = TCP_OPTKIND_NOP;
		o[2] = TCP_OPTKIND_TS;
		o[3] = 10;
		for (i = 0; i < 4; i++) {
			o[4 + i] = (uint8_t)(in->tsval >> (24 - 8 * i));
			o[8 + i] = (uint8_t)(in->tsecr >> (24 - 8 * i));
		}
		o += 12;
	}
	hl = (uint32_t)(o - buf);
	buf[0] = (uint8_t)(TH_TB_PORT >> 8);
	buf[1] = (uint8_t)TH_TB_PORT;
	buf[2] = (uint8_t)(TH_DUT_PORT >> 8);
	buf[3] = (uint8_t)TH_DUT_PORT;
	for (i = 0; i < 4; i++) {
		buf[4 + i] = (uint8_t)(in->seq >> (24 - 8 * i));
		buf[8 + i] = (uint8_t)(in->ack >> (24 - 8 * i));
	}
	buf[12] = (uint8_t)((hl / 4) << 4);
	buf[13] = in->flags;
	buf[14] = (uint8_t)(in->win >> 8);
	buf[15] = (uint8_t)in->win;
	for (i = 0; i < in->len; i++)
		buf[hl + i] = in->data != NULL ? ((const uint8_t *)in->data)[i]
					       : (uint8_t)('a' + (in->seq + i) % 26);
	coda_tcp_input(t->s, &t->key, buf, hl + in->len, t->now);
}

#define SEND(t, ...) th_send((t), &(struct th_in){.win = 65535, .wscale = -1, __VA_ARGS__})

/* The next segment the DUT sent, or NULL. */
static inline struct th_out *
th_next(struct th *t)
{
	if (t->rd_out == t->n_out)
		return NULL;
	return &t->out[t->rd_out++ % TH_MAX_OUT];
}

static inline void
th_flags_str(uint8_t f, char *buf)
{
	static const char names[] = "FSRPAUEC";
	unsigned int i, n = 0;

	for (i = 0; i < 8; i++)
		if (f & (1u << i))
			buf[n++] = names[i];
	buf[n] = '\0';
}

/* Check the next sent segment against @p e; return it for more checks. */
static inline struct th_out *
th_expect_sent(struct th *t, const char *file, int line, const struct th_exp *e)
{
	struct th_out *o = th_next(t);
	char fl[9], want[9];

	if (o == NULL)
		fail_msg("%s:%d: expected a segment, the DUT sent nothing", file, line);
	th_flags_str(o->seg.flags, fl);
	th_flags_str((uint8_t)e->flags, want);
#define TH_CHECK(cond, fmt, ...)                                                                \
	do {                                                                                    \
		if (!(cond))                                                                    \
			fail_msg("%s:%d: sent [%s] seq=%u ack=%u win=%u len=%u: " fmt, file, line, \
				 fl, o->seg.seq, o->seg.ack, o->seg.wnd, o->seg.payload_len,    \
				 __VA_ARGS__);                                                  \
	} while (0)
	TH_CHECK(e->flags == TH_ANY || o->seg.flags == (uint8_t)e->flags, "flags, expected [%s]",
		 want);
	TH_CHECK(e->seq == TH_ANY || o->seg.seq == (uint32_t)e->seq, "seq, expected %u",
		 (uint32_t)e->seq);
	TH_CHECK(e->ack == TH_ANY || o->seg.ack == (uint32_t)e->ack, "ack, expected %u",
		 (uint32_t)e->ack);
	TH_CHECK(e->win == TH_ANY || o->seg.wnd == (uint16_t)e->win, "window, expected %u",
		 (uint32_t)e->win);
	TH_CHECK(e->len == TH_ANY || o->seg.payload_len == (uint32_t)e->len, "len, expected %u",
		 (uint32_t)e->len);
	TH_CHECK(e->ts == TH_ANY || !!(o->seg.opts & TCP_OPT_TS) == !!e->ts, "TSopt %s",
		 e->ts ? "expected" : "not expected");
	TH_CHECK(e->tsecr == TH_ANY || ((o->seg.opts & TCP_OPT_TS) && o->seg.tsecr == (uint32_t)e->tsecr),
		 "TSecr, expected %u", (uint32_t)e->tsecr);
	TH_CHECK(e->mss == TH_ANY || (e->mss == 0 ? !(o->seg.opts & TCP_OPT_MSS)
						  : ((o->seg.opts & TCP_OPT_MSS) && o->seg.mss == e->mss)),
		 "MSS option, expected %u", (uint32_t)e->mss);
#undef TH_CHECK
	return o;
}

/* EXPECT_SENT() reporting line @p line (for helpers that check on their caller's behalf). */
#define EXPECT_SENT_AT(t, line, ...)                                                           \
	th_expect_sent((t), __FILE__, (line),                                                  \
		       &(struct th_exp){.flags = TH_ANY,                                       \
					.seq = TH_ANY,                                         \
					.ack = TH_ANY,                                         \
					.win = TH_ANY,                                         \
					.len = 0,                                              \
					.ts = TH_ANY,                                          \
					.tsecr = TH_ANY,                                       \
					.mss = TH_ANY,                                         \
					__VA_ARGS__})

#define EXPECT_SENT(t, ...) EXPECT_SENT_AT((t), __LINE__, __VA_ARGS__)

/* The DUT sent nothing (more). */
static inline void
th_expect_nothing(struct th *t, const char *file, int line)
{
	struct th_out *o = th_next(t);
	char fl[9];

	if (o != NULL) {
		th_flags_str(o->seg.flags, fl);
		fail_msg("%s:%d: expected nothing, the DUT sent [%s] seq=%u ack=%u len=%u", file,
			 line, fl, o->seg.seq, o->seg.ack, o->seg.payload_len);
	}
}

#define EXPECT_NOTHING(t) th_expect_nothing((t), __FILE__, __LINE__)

/* The connection's state as the table sees it (orphans and TIME-WAIT included). */
static inline enum coda_tcp_state
th_state(struct th *t)
{
	uint64_t left;

	return coda_tcp_lookup(t->s, &t->key, t->now, &left);
}

#define EXPECT_STATE(t, st)                                                                     \
	do {                                                                                    \
		enum coda_tcp_state th_got_ = th_state(t);                                      \
		if (th_got_ != CODA_TCP_S_##st)                                                 \
			fail_msg("%s:%d: state %s, expected %s", __FILE__, __LINE__,            \
				 coda_tcp_state_name(th_got_),                                  \
				 coda_tcp_state_name(CODA_TCP_S_##st));                         \
	} while (0)

/* Let @p ms of virtual time pass, running the timers at every millisecond boundary they need. */
static inline void
th_advance(struct th *t, uint64_t ms)
{
	uint64_t end = t->now + ms, next;

	while ((next = coda_tcp_next_timer(t->s)) <= end) {
		t->now = next > t->now ? next : t->now;
		coda_tcp_timers(t->s, t->now);
		if (coda_tcp_next_timer(t->s) <= t->now)
			coda_tcp_timers(t->s, t->now);
		if (coda_tcp_next_timer(t->s) <= t->now)
			break; /* the stack would loop: let the test see it */
	}
	t->tb_tsval += (uint32_t)ms;
	t->now = end;
	coda_tcp_timers(t->s, t->now);
}

#define ADVANCE(t, ms) th_advance((t), (ms))

/* The next event, checked; fails if there is none or it differs. */
static inline void
th_expect_event(struct th *t, const char *file, int line, int sock, enum coda_tcp_event ev)
{
	struct th_ev *e;

	if (t->rd_ev == t->n_ev)
		fail_msg("%s:%d: expected event %d on socket %d, got none", file, line, ev, sock);
	e = &t->ev[t->rd_ev++ % TH_MAX_EV];
	if (e->sock != sock || e->ev != ev)
		fail_msg("%s:%d: event %d on socket %d, expected %d on %d", file, line, e->ev,
			 e->sock, ev, sock);
}

#define EXPECT_EVENT(t, sock, ev) th_expect_event((t), __FILE__, __LINE__, (sock), CODA_TCP_EV_##ev)

/* Whether event @p ev for @p sock is among those not yet read (and consume up to it). */
static inline bool
th_saw_event(struct th *t, int sock, enum coda_tcp_event ev)
{
	while (t->rd_ev != t->n_ev) {
		struct th_ev *e = &t->ev[t->rd_ev++ % TH_MAX_EV];

		if (e->sock == sock && e->ev == ev)
			return true;
	}
	return false;
}

/* Forget captured segments and events. */
static inline void
th_flush(struct th *t)
{
	t->rd_out = t->n_out;
	t->rd_ev = t->n_ev;
}

static inline struct coda_tcp_info
th_info(struct th *t)
{
	struct coda_tcp_info info;

	assert_int_equal(coda_tcp_info(t->s, t->sock, &info), 0);
	return info;
}

#define CLOSE(t) assert_int_equal(coda_tcp_close((t)->s, (t)->sock, (t)->now), 0)
#define ABORT(t) assert_int_equal(coda_tcp_abort((t)->s, (t)->sock, (t)->now), 0)
#define SHUTDOWN(t, how)                                                                        \
	assert_int_equal(coda_tcp_shutdown((t)->s, (t)->sock, CODA_TCP_SHUT_##how, (t)->now), 0)

/* ------------------------------------------------------------------ */
/* State recipes (CASES.md §0), each also an assertion.                */

/*
 * ESTAB-passive: < S, > S., < ., accept(). With @p ts the TB offers
 * timestamps (and the DUT must agree); no window scaling unless @p ws >= 0.
 */
static inline void
th_estab_passive_opts(struct th *t, bool ts, int ws)
{
	struct th_out *o;

	SEND(t, .flags = TCP_SYN, .seq = TH_TB_ISN, .mss = 1460, .ts = ts, .tsval = t->tb_tsval,
	     .wscale = ws);
	o = EXPECT_SENT(t, .flags = TCP_SYN | TCP_ACK, .ack = TH_TB_ISN + 1);
	t->iss = o->seg.seq;
	t->ts = ts && t->conf.timestamps;
	EXPECT_NOTHING(t);
	SEND(t, .flags = TCP_ACK, .seq = TH_TB_ISN + 1, .ack = t->iss + 1, .ts = t->ts,
	     .tsval = t->tb_tsval, .tsecr = t->dut_tsval);
	EXPECT_NOTHING(t);
	assert_true(th_saw_event(t, t->lsock, CODA_TCP_EV_ACCEPTED));
	t->sock = coda_tcp_accept(t->s, t->lsock);
	assert_true(t->sock >= 0);
	EXPECT_STATE(t, ESTABLISHED);
	t->S = t->iss + 1;
	t->R = TH_TB_ISN + 1;
	t->W = th_info(t).rcv_wnd;
	th_flush(t);
}

static inline void
th_estab_passive(struct th *t)
{
	th_estab_passive_opts(t, false, -1);
}

/* ESTAB-active: connect(), > S, < S., > . */
static inline void
th_estab_active(struct th *t)
{
	struct th_out *o;

	t->sock = coda_tcp_connect(t->s, &t->key, t->now);
	assert_true(t->sock >= 0);
	o = EXPECT_SENT(t, .flags = TCP_SYN);
	t->iss = o->seg.seq;
	EXPECT_STATE(t, SYN_SENT);
	SEND(t, .flags = TCP_SYN | TCP_ACK, .seq = TH_TB_ISN, .ack = t->iss + 1, .mss = 1460);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->iss + 1, .ack = TH_TB_ISN + 1);
	EXPECT_NOTHING(t);
	assert_true(th_saw_event(t, t->sock, CODA_TCP_EV_CONNECTED));
	EXPECT_STATE(t, ESTABLISHED);
	t->S = t->iss + 1;
	t->R = TH_TB_ISN + 1;
	t->W = th_info(t).rcv_wnd;
	th_flush(t);
}

/* FIN-WAIT-1: ESTAB + close() (orphan) or shutdown(WR) → > F. seq=S, not acknowledged. */
static inline void
th_fin_wait_1(struct th *t, bool orphan)
{
	th_estab_passive(t);
	if (orphan)
		CLOSE(t);
	else
		SHUTDOWN(t, WR);
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_1);
	if (orphan)
		t->sock = -1;
}

/* FIN-WAIT-2: FIN-WAIT-1 + < . ack=S+1. */
static inline void
th_fin_wait_2(struct th *t, bool orphan)
{
	th_fin_wait_1(t, orphan);
	SEND(t, .flags = TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, FIN_WAIT_2);
}

/* CLOSE-WAIT: ESTAB + < F. seq=R → > . ack=R+1. Afterwards R = RCV.NXT (after the FIN). */
static inline void
th_close_wait(struct th *t)
{
	th_estab_passive(t);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSE_WAIT);
	t->R++;
}

/* LAST-ACK: CLOSE-WAIT + close() → > F. seq=S. */
static inline void
th_last_ack(struct th *t)
{
	th_close_wait(t);
	assert_int_equal(coda_tcp_recv(t->s, t->sock, (char[8]){0}, 8, t->now), 0);
	CLOSE(t);
	t->sock = -1;
	EXPECT_SENT(t, .flags = TCP_FIN | TCP_ACK, .seq = t->S, .ack = t->R);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, LAST_ACK);
}

/*
 * CLOSING: FIN-WAIT-1 + < F. seq=R ack=S (the peer's FIN does not cover
 * ours). Afterwards S is our FIN, R = RCV.NXT.
 */
static inline void
th_closing(struct th *t, bool orphan)
{
	th_fin_wait_1(t, orphan);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S);
	EXPECT_SENT(t, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, CLOSING);
	t->R++;
}

/*
 * TIME-WAIT: FIN-WAIT-2 (orphan) + < F. seq=R ack=S+1 → > . seq=S+1 ack=R+1.
 * Afterwards, as in CASES.md H: S is our FIN (SND.NXT = S+1), R = RCV.NXT
 * (the peer's FIN was R-1).
 */
static inline void
th_time_wait(struct th *t)
{
	th_fin_wait_2(t, true);
	SEND(t, .flags = TCP_FIN | TCP_ACK, .seq = t->R, .ack = t->S + 1);
	EXPECT_SENT(t, .flags = TCP_ACK, .seq = t->S + 1, .ack = t->R + 1);
	EXPECT_NOTHING(t);
	EXPECT_STATE(t, TIME_WAIT);
	t->R++;
}

#endif /* CODA_TCP_HARNESS_H */
