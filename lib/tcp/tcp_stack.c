/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack: creation, the application API (DESIGN.md §6), the TCB life
 * cycle (allocation, the one state-change choke point, closing, entering
 * TIME-WAIT), listeners, ISN and timestamp clocks, counters.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tcp_private.h"

static const char *const state_names[CODA_TCP_S__COUNT] = {
#define STATE_NAME(name, str) [CODA_TCP_S_##name] = str,
	CODA_TCP_STATES(STATE_NAME)
#undef STATE_NAME
};

static const char *const fsm_drop_names[] = {
#define FSM_DROP_NAME(NAME, name, desc) #name,
	TCP_FSM_DROPS(FSM_DROP_NAME)
#undef FSM_DROP_NAME
};

static_assert(TCP_FD__END <= 64, "drop reasons fit coda_tcp_stats.drops");

const char *
coda_tcp_state_name(enum coda_tcp_state st)
{
	return (unsigned int)st < CODA_TCP_S__COUNT ? state_names[st] : NULL;
}

const char *
coda_tcp_close_reason_name(enum coda_tcp_close_reason r)
{
	static const char *const n[] = {"none", "normal", "reset", "refused", "timeout", "aborted"};

	return (unsigned int)r <= CODA_TCP_CLOSE_ABORTED ? n[r] : NULL;
}

const char *
coda_tcp_drop_name(unsigned int i)
{
	if (i == 0)
		return "none";
	if (i < TCP_DROP__COUNT)
		return tcp_drop_name((enum tcp_drop)i);
	if (i < TCP_FD__END)
		return fsm_drop_names[i - TCP_DROP__COUNT];
	return NULL;
}

void
tcp_drop(struct coda_tcp_stack *s, unsigned int reason)
{
	s->st.rx_dropped++;
	if (reason < 64)
		s->st.drops[reason]++;
}

void
coda_tcp_conf_default(struct coda_tcp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->nb_tcb = 65536;
	c->nb_tw = 65536;
	c->nb_tw6 = 16384;
	c->tw_policy = CODA_CONNTAB_TW_RECYCLE;
	c->msl_ms = 30000;
	c->fin_wait2_timeout_ms = 60000;
	c->rto_min_ms = 200;
	c->rto_initial_ms = 1000;
	c->rto_max_ms = 60000;
	c->user_timeout_ms = 100000;
	c->syn_timeout_ms = 180000;
	c->delayed_ack_ms = 40;
	c->keepalive_ms = 0;
	c->keepalive_intvl_ms = 75000;
	c->keepalive_probes = 9;
	c->challenge_ack_interval_ms = 500;
	c->challenge_ack_per_s = 1000;
	c->rcv_buf = 262144;
	c->snd_buf = 262144;
	c->mss = 1460;
	c->rfc1337 = true;
	c->tw_reopen = true;
	c->rst_on_unread_close = true;
	c->timestamps = true;
	c->window_scaling = true;
	c->sack = true;
	c->tw_syn_challenge_ack = true;
	c->user_timeout_rst = false;
	c->last_ack_dup_ack_reply = false;
	c->shut_rd_data_rst = false;
	c->accept_at_window_edge = false;
	c->zero_window_fin = true;
	c->rst_flushes_rcv = false;
}

/* --- keyed hash (SipHash-2-4) for ISNs and timestamp offsets ---------------- */

static inline uint64_t
rotl(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                               \
	do {                                                                                   \
		v0 += v1;                                                                      \
		v1 = rotl(v1, 13);                                                             \
		v1 ^= v0;                                                                      \
		v0 = rotl(v0, 32);                                                             \
		v2 += v3;                                                                      \
		v3 = rotl(v3, 16);                                                             \
		v3 ^= v2;                                                                      \
		v0 += v3;                                                                      \
		v3 = rotl(v3, 21);                                                             \
		v3 ^= v0;                                                                      \
		v2 += v1;                                                                      \
		v1 = rotl(v1, 17);                                                             \
		v1 ^= v2;                                                                      \
		v2 = rotl(v2, 32);                                                             \
	} while (0)

/* SipHash-2-4 of n 64-bit words (the 40-byte key is 5). */
static uint64_t
siphash_words(const uint64_t key[2], const uint64_t *w, unsigned int n)
{
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ key[0];
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ key[1];
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ key[0];
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ key[1];
	uint64_t b = (uint64_t)(n * 8) << 56;
	unsigned int i;

	for (i = 0; i < n; i++) {
		v3 ^= w[i];
		SIPROUND;
		SIPROUND;
		v0 ^= w[i];
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4-microsecond timer (250 ticks a millisecond here), F
 * SipHash-2-4 keyed by the stack's random seed.
 */
uint32_t
tcp_isn(const struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint64_t now)
{
	return (uint32_t)(now * 250) + (uint32_t)siphash_words(s->conf.seed, k->w, 5);
}

/* RFC 7323 §5.4 recommends a random offset per connection for TSval. */
uint32_t
tcp_ts_offset(const struct coda_tcp_stack *s, const struct coda_conntab_key *k)
{
	const uint64_t key2[2] = {s->conf.seed[1], s->conf.seed[0]};

	return (uint32_t)siphash_words(key2, k->w, 5);
}

/* --- creation ------------------------------------------------------------- */

static bool
conf_ok(const struct coda_tcp_conf *c)
{
	return c->nb_tcb > 0 && c->nb_tcb <= CODA_CONNTAB_MAX_ENTRIES / 2 &&
	       (uint64_t)c->nb_tcb * TCP_TIMERS <= CODA_WHEEL_MAX_TIMERS && c->mss >= 64 &&
	       c->rcv_buf >= c->mss && c->snd_buf >= c->mss && c->rcv_buf <= (1u << 30) &&
	       c->snd_buf <= (1u << 30) && c->msl_ms > 0 && c->rto_min_ms > 0 &&
	       c->rto_initial_ms >= c->rto_min_ms && c->rto_max_ms >= c->rto_initial_ms &&
	       c->user_timeout_ms > 0 && c->syn_timeout_ms > 0 && c->fin_wait2_timeout_ms > 0 &&
	       (c->keepalive_ms == 0 || (c->keepalive_intvl_ms > 0 && c->keepalive_probes > 0)) &&
	       (c->tw_policy == CODA_CONNTAB_TW_RECYCLE || c->tw_policy == CODA_CONNTAB_TW_SKIP);
}

/* TIME-WAIT's decision inputs, from the configuration. */
static void
tw_conf_set(struct coda_tcp_stack *s)
{
	s->twc.rfc1337 = s->conf.rfc1337;
	s->twc.reopen = s->conf.tw_reopen;
	s->twc.syn_challenge_ack = s->conf.tw_syn_challenge_ack;
	s->twc.timestamps = s->conf.timestamps;
	s->twc.ack_interval_ms = s->conf.challenge_ack_interval_ms;
	s->twc.twice_msl_ms = 2 * (uint64_t)s->conf.msl_ms;
}

const struct coda_tcp_conf *
coda_tcp_conf_get(const struct coda_tcp_stack *s)
{
	return &s->conf;
}

int
coda_tcp_reconfigure(struct coda_tcp_stack *s, const struct coda_tcp_conf *conf)
{
	struct coda_tcp_conf c = *conf;
	int ret;

	if (!conf_ok(&c) || c.nb_tw > s->cap_tw || c.nb_tw6 > s->cap_tw6)
		return -EINVAL;
	if (c.nb_tcb != s->conf.nb_tcb || c.tw_policy != s->conf.tw_policy)
		return -EBUSY;
	ret = coda_conntab_tw_limit(s->ct, AF_INET, c.nb_tw);
	if (ret == 0)
		ret = coda_conntab_tw_limit(s->ct, AF_INET6, c.nb_tw6);
	if (ret != 0)
		return ret;
	memcpy(c.seed, s->conf.seed, sizeof(c.seed)); /* ISNs and the table hash keep their key */
	s->conf = c;
	tw_conf_set(s);
	return 0;
}

struct coda_tcp_stack *
coda_tcp_create(const struct coda_tcp_conf *conf, uint64_t now, coda_tcp_tx_fn tx, void *tx_arg,
		coda_tcp_event_fn ev, void *ev_arg)
{
	struct coda_conntab_conf cc = {0};
	struct coda_tcp_stack *s = NULL;
	int err = EINVAL;

	if (conf == NULL || tx == NULL || !conf_ok(conf))
		goto err;
	err = ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto err;
	s->conf = *conf;
	/* RFC 6528: the ISN function's key is secret and random per start. */
	if (conf->seed[0] == 0 && conf->seed[1] == 0 &&
	    getrandom(s->conf.seed, sizeof(s->conf.seed), 0) != (ssize_t)sizeof(s->conf.seed)) {
		err = errno != 0 ? errno : EIO;
		goto err;
	}
	s->tx = tx;
	s->tx_arg = tx_arg;
	s->ev = ev;
	s->ev_arg = ev_arg;
	s->now = now;
	s->next_port = 49152;
	cc.nb_tcb = conf->nb_tcb;
	cc.nb_tw = conf->nb_tw;
	cc.nb_tw6 = conf->nb_tw6;
	cc.tw_policy = conf->tw_policy;
	cc.seed = s->conf.seed[0] ^ rotl(s->conf.seed[1], 17);
	cc.now = now;
	s->ct = coda_conntab_create(&cc);
	s->wheel = coda_wheel_create(conf->nb_tcb * TCP_TIMERS, now);
	s->tcb = calloc(conf->nb_tcb, sizeof(*s->tcb));
	s->lsn = calloc(conf->nb_tcb, sizeof(*s->lsn));
	if (s->ct == NULL || s->wheel == NULL || s->tcb == NULL || s->lsn == NULL)
		goto err;
	s->cap_tw = conf->nb_tw;
	s->cap_tw6 = conf->nb_tw6;
	tw_conf_set(s);
	return s;
err:
	coda_tcp_free(s);
	errno = err;
	return NULL;
}

static void
ring_free_buf(struct tcp_ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void
coda_tcp_free(struct coda_tcp_stack *s)
{
	if (s == NULL)
		return;
	if (s->tcb != NULL)
		for (uint32_t i = 0; i < s->conf.nb_tcb; i++) {
			ring_free_buf(&s->tcb[i].snd);
			ring_free_buf(&s->tcb[i].rcv);
		}
	free(s->tcb);
	free(s->lsn);
	coda_wheel_free(s->wheel);
	coda_conntab_free(s->ct);
	free(s);
}

/* --- TCB life cycle -------------------------------------------------------- */

struct tcb *
tcp_new_tcb(struct coda_tcp_stack *s)
{
	uint32_t idx;
	struct tcb *t;

	if (coda_conntab_tcb_alloc(s->ct, &idx) != 0)
		return NULL;
	t = &s->tcb[idx];
	memset(t, 0, sizeof(*t));
	t->flags = TF_USED;
	t->state = CODA_TCP_S_CLOSED;
	t->parent = t->aq_next = t->aq_head = t->aq_tail = NIL;
	t->rto = s->conf.rto_initial_ms;
	s->st.states[CODA_TCP_S_CLOSED]++;
	return t;
}

int
tcp_bufs_alloc(struct coda_tcp_stack *s, struct tcb *t)
{
	if (t->snd.buf == NULL) {
		t->snd.buf = malloc(s->conf.snd_buf);
		t->snd.size = s->conf.snd_buf;
	}
	if (t->rcv.buf == NULL) {
		t->rcv.buf = malloc(s->conf.rcv_buf);
		t->rcv.size = s->conf.rcv_buf;
	}
	return t->snd.buf != NULL && t->rcv.buf != NULL ? 0 : -ENOMEM;
}

/* Give the TCB back: out of the table, timers off, buffers freed, index freed. */
static void
tcb_release(struct coda_tcp_stack *s, struct tcb *t)
{
	uint32_t idx = tcp_idx(s, t);

	if (t->flags & TF_IN_TABLE) {
		(void)coda_conntab_delete(s->ct, &t->key, NULL);
		t->flags &= ~TF_IN_TABLE;
	}
	tcp_timers_cancel_all(s, t);
	ring_free_buf(&t->snd);
	ring_free_buf(&t->rcv);
	s->st.states[t->state]--;
	t->flags = 0;
	t->ev_pend = 0; /* a held-back event dies with the TCB */
	(void)coda_conntab_tcb_free(s->ct, idx);
}

/*
 * Output for the sockets an application callback sent to, once it returns.
 * Sending at once would split a response from the close() that follows it
 * in the same callback: the data in one segment, the FIN in the next, and a
 * peer that closes as soon as it has the data would close first (a
 * simultaneous close, TIME-WAIT on both sides). Deferred, the data and the
 * FIN leave together, and two sends make one segment where they fit.
 */
static void
output_flush(struct coda_tcp_stack *s)
{
	while (s->nb_outq > 0) {
		struct tcb *t = &s->tcb[s->outq[--s->nb_outq]];

		/* Not if the socket was released meanwhile (its flags were reset). */
		if (t->flags & TF_OUT_DEFER) {
			t->flags &= ~TF_OUT_DEFER;
			tcp_output(s, t, s->now);
		}
	}
}

/* Whether t's output can wait for the callback to return (else: now). */
static bool
output_defer(struct coda_tcp_stack *s, struct tcb *t)
{
	if (s->depth == 0)
		return false;
	if (t->flags & TF_OUT_DEFER)
		return true;
	if (s->nb_outq == sizeof(s->outq) / sizeof(s->outq[0]))
		return false;
	s->outq[s->nb_outq++] = tcp_idx(s, t);
	t->flags |= TF_OUT_DEFER;
	return true;
}

static void
event_now(struct coda_tcp_stack *s, struct tcb *t, enum coda_tcp_event ev)
{
	if (s->ev != NULL) {
		s->depth++;
		s->ev(s->ev_arg, (int)tcp_idx(s, t), ev);
		s->depth--;
		output_flush(s);
	}
}

/*
 * Events that a segment causes are held back until the whole segment has
 * been processed (tcp_event_flush()): the application then sees the state
 * the segment left, and whatever it does in its callback (recv, close,
 * abort) cannot change a connection under the code still working on it.
 * Example: data, then the FIN, in one segment: READABLE and PEER_FIN come
 * in CLOSE-WAIT, so a close() from the callback goes to LAST-ACK, not to
 * FIN-WAIT-1 with the FIN still to be processed.
 */
void
tcp_event(struct coda_tcp_stack *s, struct tcb *t, enum coda_tcp_event ev)
{
	if (!s->in_input) {
		event_now(s, t, ev);
		return;
	}
	if (!(t->flags & TF_EV_QUEUED)) {
		if (s->nb_evq == sizeof(s->evq) / sizeof(s->evq[0])) {
			event_now(s, t, ev); /* cannot happen: a segment touches a TCB and its listener */
			return;
		}
		s->evq[s->nb_evq++] = tcp_idx(s, t);
		t->flags |= TF_EV_QUEUED;
	}
	t->ev_pend |= (uint8_t)(1u << ev);
}

void
tcp_event_flush(struct coda_tcp_stack *s)
{
	uint32_t q[sizeof(s->evq) / sizeof(s->evq[0])];
	unsigned int n = s->nb_evq;

	/* A copy: a callback may process a segment of its own, with its own queue. */
	memcpy(q, s->evq, n * sizeof(q[0]));
	s->nb_evq = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct tcb *t = &s->tcb[q[i]];
		uint8_t pend = t->ev_pend;

		t->ev_pend = 0;
		t->flags &= ~TF_EV_QUEUED;
		/* In the order the API promises; a callback may close or abort the socket meanwhile. */
		for (int ev = CODA_TCP_EV_ACCEPTED; ev <= CODA_TCP_EV_CLOSED; ev++)
			if ((pend & (1u << ev)) && (t->flags & (TF_USED | TF_APP)) == (TF_USED | TF_APP))
				event_now(s, t, (enum coda_tcp_event)ev);
	}
}

/*
 * Run the timers due by @p now before an application call or a segment is
 * processed at @p now, when the caller has not run them (each call's `now`
 * is the truth: what was due before it has happened). Only from the
 * outermost call: inside coda_tcp_timers() or an event callback, the
 * state being worked on must not change under the caller.
 */
void
tcp_catch_up(struct coda_tcp_stack *s, uint64_t now)
{
	s->now = now;
	if (s->depth == 0 &&
	    (coda_wheel_due(s->wheel, now) || coda_conntab_tw_due(s->ct, now)))
		coda_tcp_timers(s, now);
}

/*
 * The transition table: (state, event) -> next state, with the RFC's words
 * or the policy behind each cell, and a test that takes it. docs/fsm.md is
 * generated from this table (tcp_fsm_markdown(); tests/unit/test_tcp_fsm.c
 * checks that it is up to date and that every test named exists). A pair
 * not in the table cannot happen: tcp_set_state() asserts it.
 *
 * TIME-WAIT rows: a connection in TIME-WAIT is an entry of the connection
 * table, not a TCB (docs/conntab.md); its transitions are carried out
 * there (expiry, an RST with RFC 1337 off, a reopening SYN, abort) and are
 * listed here for the whole picture.
 */
#define S(x) CODA_TCP_S_##x
#define E(x) TCP_EV_##x
#define CELL(next_, why_, test_) {.ok = 1, .next = S(next_), .why = why_, .test = test_}
static const struct tcp_fsm_cell fsm[CODA_TCP_S__COUNT][TCP_EV__COUNT] = {
	[S(CLOSED)] = {
		[E(LISTEN)] = CELL(LISTEN, "OPEN, passive (RFC 9293 3.10.1)", "test_F8_rst_listen"),
		[E(CONNECT)] = CELL(SYN_SENT, "OPEN, active: send SYN (3.10.1)", "test_A8_close_syn_sent"),
		/* The child a listener makes for a SYN starts CLOSED and goes here at once. */
		[E(RCV_SYN)] = CELL(SYN_RECEIVED, "SYN to a listener: send SYN,ACK (3.10.7.2)",
				    "test_J3_fin_syn_received"),
	},
	[S(LISTEN)] = {
		[E(CLOSE)] = CELL(CLOSED, "CLOSE: delete the TCB; children not accepted are reset",
				  "test_listener_close_resets_children"),
	},
	[S(SYN_SENT)] = {
		[E(RCV_SYN_ACK)] = CELL(ESTABLISHED, "our SYN ACKed: send ACK (3.10.7.3)",
					"test_A1_four_way_active_close_connected"),
		[E(RCV_SYN)] = CELL(SYN_RECEIVED, "simultaneous open: send SYN,ACK (3.10.7.3)",
				    "test_F7_rst_syn_received_active"),
		[E(RCV_RST)] = CELL(CLOSED, "RST with an acceptable ACK: refused (3.10.7.3)",
				    "test_F6_rst_ack_of_syn_refuses_syn_sent"),
		[E(CLOSE)] = CELL(CLOSED, "CLOSE: delete the TCB, no RST (3.10.4, CASES A8)",
				  "test_A8_close_syn_sent"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: delete the TCB, nothing sent (3.10.5)",
				  "test_E5_abort_sends_nothing_syn_sent"),
		[E(TIMEOUT)] = CELL(CLOSED, "SYN unanswered for syn_timeout_ms (R2)",
				    "test_syn_timeout"),
	},
	[S(SYN_RECEIVED)] = {
		[E(RCV_ACK_OF_SYN)] = CELL(ESTABLISHED, "our SYN ACKed (3.10.7.4 fifth step)",
					   "test_A1_four_way_active_close"),
		[E(CLOSE)] = CELL(FIN_WAIT_1, "CLOSE: send FIN when all is sent (3.10.4)",
				  "test_close_syn_received"),
		[E(RCV_FIN)] = CELL(CLOSE_WAIT, "FIN: handshake completed by FIN,ACK (CASES J3)",
				    "test_J3_fin_syn_received"),
		[E(RCV_RST)] = CELL(CLOSED, "RST: passive back to LISTEN (the child goes), active refused",
				    "test_F7_rst_syn_received_passive"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: send RST (3.10.5); a listener's close resets its children",
				  "test_listener_close_resets_children"),
		[E(TIMEOUT)] = CELL(CLOSED, "SYN,ACK unanswered for syn_timeout_ms", "test_syn_ack_timeout"),
	},
	[S(ESTABLISHED)] = {
		[E(CLOSE)] = CELL(FIN_WAIT_1, "CLOSE: FIN after the queued data (3.10.4)",
				  "test_A1_four_way_active_close"),
		[E(RCV_FIN)] = CELL(CLOSE_WAIT, "FIN: ACK it, signal 'connection closing' (3.10.7.4)",
				    "test_B1_fin_established"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT: reset (RFC 5961 3.2)",
				    "test_F1_rst_exact_established"),
		[E(ABORT)] = CELL(CLOSED, "ABORT, or close() with unread data: send RST (3.10.5, RFC 1122)",
				  "test_E4_abort_established"),
		[E(TIMEOUT)] = CELL(CLOSED, "user timeout (R2) or keepalive", "test_keepalive"),
	},
	[S(FIN_WAIT_1)] = {
		[E(RCV_ACK_OF_FIN)] = CELL(FIN_WAIT_2, "our FIN ACKed (3.10.7.4 fifth step)",
					   "test_A1_four_way_active_close"),
		[E(RCV_FIN)] = CELL(CLOSING, "FIN, ours not ACKed: simultaneous close (eighth step)",
				    "test_C1_fin_fin_wait_1"),
		[E(RCV_FIN_ACK)] = CELL(TIME_WAIT, "FIN that ACKs ours: three-way close (eighth step)",
					"test_A5_fin_ack_fin_wait_1"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT: reset", "test_F11_reset_reported_fin_wait_1"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: send RST; new data after close(): RST (RFC 1122)",
				  "test_E3_data_after_close_fin_wait_1"),
		[E(TIMEOUT)] = CELL(CLOSED, "FIN unacknowledged for user_timeout_ms (R2)",
				    "test_I4_user_timeout_fin_wait_1"),
	},
	[S(FIN_WAIT_2)] = {
		[E(RCV_FIN)] = CELL(TIME_WAIT, "FIN: ACK it, enter TIME-WAIT (eighth step)",
				    "test_A1_four_way_active_close"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT: reset", "test_F11_reset_reported_fin_wait_2"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: send RST; new data after close(): RST",
				  "test_E3_data_after_close_fin_wait_2"),
		[E(TIMEOUT)] = CELL(CLOSED, "orphaned for fin_wait2_timeout_ms (a half-closed one never)",
				    "test_I5_timeout_fin_wait_2_orphan"),
	},
	[S(CLOSE_WAIT)] = {
		[E(CLOSE)] = CELL(LAST_ACK, "CLOSE: FIN after the queued data (3.10.4)",
				  "test_B3_ack_last_ack"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT: reset (EPIPE, CASES F11)",
				    "test_F11_reset_reported_close_wait"),
		[E(ABORT)] = CELL(CLOSED, "ABORT, or close() with unread data: send RST",
				  "test_E4_abort_close_wait"),
		[E(TIMEOUT)] = CELL(CLOSED, "data unacknowledged for user_timeout_ms (R2)",
				    "test_user_timeout_close_wait"),
	},
	[S(CLOSING)] = {
		[E(RCV_ACK_OF_FIN)] = CELL(TIME_WAIT, "our FIN ACKed (fifth step)", "test_C1_fin_fin_wait_1"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT: CLOSED", "test_F11_reset_reported_closing"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: delete the TCB, nothing sent (3.10.5)",
				  "test_E5_abort_sends_nothing_closing"),
		[E(TIMEOUT)] = CELL(CLOSED, "FIN unacknowledged for user_timeout_ms",
				    "test_I4_user_timeout_closing"),
	},
	[S(LAST_ACK)] = {
		[E(RCV_ACK_OF_FIN)] = CELL(CLOSED, "our FIN ACKed: delete the TCB, no TIME-WAIT",
					   "test_B3_ack_last_ack"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT: CLOSED", "test_F11_reset_reported_last_ack"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: delete the TCB, nothing sent (3.10.5)",
				  "test_E5_abort_sends_nothing_last_ack"),
		[E(TIMEOUT)] = CELL(CLOSED, "FIN unacknowledged for user_timeout_ms",
				    "test_I4_user_timeout_last_ack"),
	},
	[S(TIME_WAIT)] = {
		[E(TW_EXPIRE)] = CELL(CLOSED, "2 MSL passed: delete the entry, nothing sent (3.10.8)",
				      "test_H3_time_wait_expiry"),
		[E(RCV_RST)] = CELL(CLOSED, "RST at RCV.NXT with RFC 1337 off (on: ignored)",
				    "test_H4_rst_exact_kills_rfc1337_off_time_wait"),
		[E(RCV_SYN)] = CELL(SYN_RECEIVED, "SYN passing RFC 6191: a new incarnation (RFC 1122)",
				    "test_H7_syn_above_rcv_nxt_reopens_time_wait"),
		[E(ABORT)] = CELL(CLOSED, "ABORT: delete the entry, nothing sent (3.10.5)",
				  "test_E5_abort_sends_nothing_time_wait"),
	},
};
#undef CELL
#undef E
#undef S

static const char *const fsm_event_names[TCP_EV__COUNT] = {
#define EV_NAME(name, desc) #name,
	TCP_FSM_EVENTS(EV_NAME)
#undef EV_NAME
};

static const char *const fsm_event_descs[TCP_EV__COUNT] = {
#define EV_DESC(name, desc) desc,
	TCP_FSM_EVENTS(EV_DESC)
#undef EV_DESC
};

const struct tcp_fsm_cell *
tcp_fsm_cell(enum coda_tcp_state st, enum tcp_fsm_event ev)
{
	if ((unsigned int)st >= CODA_TCP_S__COUNT || (unsigned int)ev >= TCP_EV__COUNT)
		return NULL;
	return &fsm[st][ev];
}

const char *
tcp_fsm_event_name(enum tcp_fsm_event ev)
{
	return (unsigned int)ev < TCP_EV__COUNT ? fsm_event_names[ev] : NULL;
}

const char *
tcp_fsm_event_desc(enum tcp_fsm_event ev)
{
	return (unsigned int)ev < TCP_EV__COUNT ? fsm_event_descs[ev] : NULL;
}

/* Append to a bounded buffer, counting what would have been written. */
struct mdbuf {
	char *p;
	size_t len, n;
};

static void __attribute__((format(printf, 2, 3)))
md(struct mdbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(b->n < b->len ? b->p + b->n : NULL, b->n < b->len ? b->len - b->n : 0, fmt,
		      ap);
	va_end(ap);
	if (k > 0)
		b->n += (size_t)k;
}

size_t
tcp_fsm_markdown(char *buf, size_t len)
{
	struct mdbuf b = {.p = buf, .len = len, .n = 0};
	unsigned int st, ev;

	if (len > 0)
		buf[0] = '\0';
	md(&b, "# The TCP state machine\n\n"
	       "Generated from the transition table in `lib/tcp/tcp_stack.c` by\n"
	       "`tcp_fsm_markdown()`; `tests/unit/test_tcp_fsm.c` fails when this file and\n"
	       "the table differ, or when a test named here does not exist. To regenerate:\n"
	       "`build/gcc/tests/unit/test_tcp_fsm --write docs/fsm.md`.\n\n"
	       "Every state change of a TCB goes through `tcp_set_state(tcb, event)`, which\n"
	       "looks the pair up here and asserts that it exists. Segment processing follows\n"
	       "RFC 9293 §3.10.7 (validate, then act); these events are what it concludes.\n"
	       "TIME-WAIT is an entry of the connection table, not a TCB: its row is carried\n"
	       "out there (docs/conntab.md).\n\n## Events\n\n| event | what |\n|---|---|\n");
	for (ev = 0; ev < TCP_EV__COUNT; ev++)
		md(&b, "| %s | %s |\n", fsm_event_names[ev], fsm_event_descs[ev]);
	md(&b, "\n## Matrix: next state\n\n| state |");
	for (ev = 0; ev < TCP_EV__COUNT; ev++)
		md(&b, " %s |", fsm_event_names[ev]);
	md(&b, "\n|---|");
	for (ev = 0; ev < TCP_EV__COUNT; ev++)
		md(&b, "---|");
	md(&b, "\n");
	for (st = 0; st < CODA_TCP_S__COUNT; st++) {
		md(&b, "| %s |", state_names[st]);
		for (ev = 0; ev < TCP_EV__COUNT; ev++)
			md(&b, " %s |", fsm[st][ev].ok ? state_names[fsm[st][ev].next] : "");
		md(&b, "\n");
	}
	md(&b, "\nAn empty cell cannot happen (for RST and SYN segments the stack answers per\n"
	       "RFC 5961 without a state change: challenge ACK, or drop).\n\n"
	       "## Cells, why, and the test that covers each\n\n"
	       "| state | event | next | why | test |\n|---|---|---|---|---|\n");
	for (st = 0; st < CODA_TCP_S__COUNT; st++)
		for (ev = 0; ev < TCP_EV__COUNT; ev++)
			if (fsm[st][ev].ok)
				md(&b, "| %s | %s | %s | %s | `%s` |\n", state_names[st],
				   fsm_event_names[ev], state_names[fsm[st][ev].next], fsm[st][ev].why,
				   fsm[st][ev].test);
	return b.n;
}

/* Change state without a table check: TIME-WAIT handing over to the table. */
static void
set_state_raw(struct coda_tcp_stack *s, struct tcb *t, enum coda_tcp_state to)
{
	s->st.states[t->state]--;
	s->st.states[to]++;
	t->state = (uint8_t)to;
}

/*
 * The one place a TCB changes state: the table says where event @p ev
 * takes it, and asserts the pair exists; the per-state gauges follow.
 * TIME-WAIT is left to tcp_enter_time_wait(), which hands the connection
 * to the table.
 */
enum coda_tcp_state
tcp_set_state(struct coda_tcp_stack *s, struct tcb *t, enum tcp_fsm_event ev)
{
	const struct tcp_fsm_cell *c = &fsm[t->state][ev];

	assert(c->ok);
	if (!c->ok)
		return (enum coda_tcp_state)t->state;
	if (c->next == CODA_TCP_S_TIME_WAIT)
		return CODA_TCP_S_TIME_WAIT;
	set_state_raw(s, t, (enum coda_tcp_state)c->next);
	if (c->next == CODA_TCP_S_ESTABLISHED && s->conf.keepalive_ms != 0) {
		t->last_rx = s->now;
		tcp_timer_arm(s, t, TCP_T_KEEP, s->now + s->conf.keepalive_ms);
	}
	return (enum coda_tcp_state)c->next;
}

/*
 * The connection is over: it leaves the table; the application, if it
 * still holds the socket, is told (CLOSED, and the error for its next
 * call); otherwise the TCB is freed.
 */
void
tcp_close_tcb(struct coda_tcp_stack *s, struct tcb *t, enum tcp_fsm_event ev,
	      enum coda_tcp_close_reason why, int err)
{
	bool was_listed = (t->flags & TF_IN_TABLE) != 0;

	if (t->state != CODA_TCP_S_CLOSED)
		tcp_set_state(s, t, ev);
	if (t->close_reason == CODA_TCP_CLOSE_NONE) {
		t->close_reason = (uint8_t)why;
		s->st.closed[why]++;
	}
	if (was_listed) {
		(void)coda_conntab_delete(s->ct, &t->key, NULL);
		t->flags &= ~TF_IN_TABLE;
	}
	tcp_timers_cancel_all(s, t);
	/* A child not accepted yet: out of its listener's counts. */
	if (t->parent != NIL && !(t->flags & TF_APP)) {
		struct tcb *l = &s->tcb[t->parent];

		if (t->flags & TF_ACCEPTQ) {
			uint32_t *pp = &l->aq_head, prev = NIL;

			while (*pp != NIL && *pp != tcp_idx(s, t)) {
				prev = *pp;
				pp = &s->tcb[*pp].aq_next;
			}
			if (*pp != NIL) {
				*pp = t->aq_next;
				if (l->aq_tail == tcp_idx(s, t))
					l->aq_tail = prev;
			}
			t->flags &= ~TF_ACCEPTQ;
		}
		l->pending--;
		t->parent = NIL;
	}
	if (t->flags & TF_APP) {
		t->err = err;
		ring_free_buf(&t->snd);
		tcp_event(s, t, CODA_TCP_EV_CLOSED);
		return;
	}
	tcb_release(s, t);
}

/*
 * Enter TIME-WAIT (RFC 9293: the active closer waits 2 MSL): the TCB's
 * key moves to a compact entry of the table, the TCB's buffers and timers
 * go. The application, if it still holds the socket (a shutdown(WR) then
 * the peer's FIN), keeps a socket in state CLOSED with reason NORMAL (and
 * its unread data) until it closes it; the table answers for TIME-WAIT.
 */
int
tcp_enter_time_wait(struct coda_tcp_stack *s, struct tcb *t)
{
	struct coda_conntab_tw tw = {0};
	uint64_t now = s->now;
	int rc;

	tw.snd_nxt = tcp_snd_max(t);
	tw.rcv_nxt = t->rcv_nxt;
	tw.rcv_wscale = t->ws_ok ? t->rcv_wscale : 0;
	tw.rcv_wnd = tcp_wnd_value(t);
	tw.ts_on = t->ts_ok;
	tw.ts_recent = t->ts_recent;
	tw.ts_recent_ms = t->ts_recent_ms;
	tw.last_ack_ms = t->last_oow_ms;
	tcp_timers_cancel_all(s, t);
	rc = coda_conntab_tw_enter(s->ct, &t->key, &tw, now, now + s->twc.twice_msl_ms, NULL);
	/*
	 * The key is gone from the table either way (-ENOSPC: no TIME-WAIT
	 * kept, counted by the table). The TCB itself is done: TIME-WAIT is
	 * the entry's from now on (the TIME-WAIT gauge counts entries).
	 */
	t->flags &= ~TF_IN_TABLE;
	if (rc == 0) {
		s->st.tw_entered++;
		t->flags |= TF_IN_TW;
	}
	set_state_raw(s, t, CODA_TCP_S_CLOSED);
	if (t->close_reason == CODA_TCP_CLOSE_NONE) {
		t->close_reason = CODA_TCP_CLOSE_NORMAL;
		s->st.closed[CODA_TCP_CLOSE_NORMAL]++;
	}
	if (t->flags & TF_APP) {
		ring_free_buf(&t->snd);
		tcp_event(s, t, CODA_TCP_EV_CLOSED);
		return rc;
	}
	tcb_release(s, t);
	return rc;
}

/* --- listeners ------------------------------------------------------------- */

/*
 * The listening socket for k's local port and address (exact address first,
 * then any). Every segment that finds no connection asks, so it looks only
 * at the listeners: scanning every TCB, as it once did, cost a pass over the
 * whole pool per SYN (and per stray segment), 23 s to open 100000
 * connections.
 */
int
tcp_listener_find(const struct coda_tcp_stack *s, const struct coda_conntab_key *k)
{
	int any = -1;

	for (uint32_t j = 0; j < s->nb_lsn; j++) {
		uint32_t i = s->lsn[j];
		const struct tcb *l = &s->tcb[i];

		if (l->key.lport != k->lport || l->key.family != k->family)
			continue;
		if (memcmp(l->key.laddr, k->laddr, 16) == 0)
			return (int)i;
		if (any < 0 && l->key.raddr[0] == 1) /* marks "any address" */
			any = (int)i;
	}
	return any;
}

int
coda_tcp_listen(struct coda_tcp_stack *s, uint8_t family, const uint8_t *laddr, uint16_t port,
		uint32_t backlog)
{
	struct coda_conntab_key k;
	struct tcb *t;

	if ((family != AF_INET && family != AF_INET6) || port == 0 || backlog == 0)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	k.family = family;
	k.lport = port;
	if (laddr != NULL)
		memcpy(k.laddr, laddr, family == AF_INET ? 4 : 16);
	for (uint32_t j = 0; j < s->nb_lsn; j++) {
		const struct tcb *l = &s->tcb[s->lsn[j]];

		if (l->key.lport == port && l->key.family == family &&
		    (memcmp(l->key.laddr, k.laddr, 16) == 0))
			return -EADDRINUSE;
	}
	t = tcp_new_tcb(s);
	if (t == NULL)
		return -ENOBUFS;
	k.raddr[0] = laddr == NULL; /* "any address" mark (raddr is unused for listeners) */
	t->key = k;
	t->flags |= TF_LISTENER | TF_APP;
	t->backlog = backlog;
	tcp_set_state(s, t, TCP_EV_LISTEN);
	s->lsn[s->nb_lsn++] = tcp_idx(s, t);
	return (int)tcp_idx(s, t);
}

int
coda_tcp_accept(struct coda_tcp_stack *s, int lsock)
{
	struct tcb *l, *c;
	uint32_t ci;

	if (lsock < 0 || (uint32_t)lsock >= s->conf.nb_tcb)
		return -EINVAL;
	l = &s->tcb[lsock];
	if (!(l->flags & TF_LISTENER))
		return -EINVAL;
	if (l->aq_head == NIL)
		return -EAGAIN;
	ci = l->aq_head;
	c = &s->tcb[ci];
	l->aq_head = c->aq_next;
	if (l->aq_head == NIL)
		l->aq_tail = NIL;
	l->pending--;
	c->aq_next = NIL;
	c->parent = NIL;
	c->flags = (c->flags & ~TF_ACCEPTQ) | TF_APP;
	return (int)ci;
}

/* --- the application's calls ----------------------------------------------- */

/* The TCB of an open socket of the application, or NULL. */
static struct tcb *
app_tcb(const struct coda_tcp_stack *s, int sock)
{
	struct tcb *t;

	if (sock < 0 || (uint32_t)sock >= s->conf.nb_tcb)
		return NULL;
	t = &s->tcb[sock];
	return (t->flags & (TF_USED | TF_APP)) == (TF_USED | TF_APP) ? t : NULL;
}

static bool
port_free(const struct coda_tcp_stack *s, const struct coda_conntab_key *k)
{
	uint32_t v;

	return coda_conntab_lookup(s->ct, k, &v) != 0;
}

int
coda_tcp_connect(struct coda_tcp_stack *s, const struct coda_conntab_key *key, uint64_t now)
{
	struct coda_conntab_key k = *key;
	struct tcb *t;
	uint32_t v;
	int rc;

	tcp_catch_up(s, now);
	if ((k.family != AF_INET && k.family != AF_INET6) || k.rport == 0)
		return -EINVAL;
	if (k.lport == 0) {
		unsigned int tries;

		for (tries = 0; tries < 16384; tries++) {
			k.lport = htons(s->next_port);
			s->next_port = s->next_port == 65535 ? 49152 : s->next_port + 1;
			if (port_free(s, &k))
				break;
		}
		if (tries == 16384)
			return -EADDRNOTAVAIL;
	}
	/* RFC 9293 §3.9.1.4 / CASES H12: a 4-tuple in use or in TIME-WAIT is refused. */
	if (coda_conntab_lookup(s->ct, &k, &v) == 0)
		return -EADDRINUSE;
	t = tcp_new_tcb(s);
	if (t == NULL)
		return -ENOBUFS;
	t->key = k;
	t->flags |= TF_APP;
	if (tcp_bufs_alloc(s, t) != 0 || coda_conntab_insert(s->ct, &k, tcp_idx(s, t)) != 0) {
		tcb_release(s, t);
		return -ENOBUFS;
	}
	t->flags |= TF_IN_TABLE;
	t->iss = tcp_isn(s, &k, now);
	t->snd_una = t->snd_nxt = t->snd_max = t->iss;
	t->recover = t->iss; /* RFC 6582 §3.2 */
	t->snd_data = t->iss + 1;
	t->ts_offset = tcp_ts_offset(s, &k);
	t->ts_ok = s->conf.timestamps; /* offered; kept only if the SYN-ACK agrees */
	t->ws_ok = s->conf.window_scaling;
	t->sack_ok = s->conf.sack;
	t->mss = 536;
	t->rcv_wscale = t->ws_ok ? tcp_rcv_wscale(s->conf.rcv_buf) : 0;
	t->rtx_start = now;
	tcp_set_state(s, t, TCP_EV_CONNECT);
	s->st.opened_active++;
	tcp_output(s, t, now);
	rc = (int)tcp_idx(s, t);
	return rc;
}

static void
ring_write(struct tcp_ring *r, const uint8_t *p, uint32_t n)
{
	ring_put(r, r->len, p, n);
	r->len += n;
}

static void
ring_read(struct tcp_ring *r, uint8_t *p, uint32_t n)
{
	if (p != NULL)
		ring_get(r, 0, p, n);
	r->head = (r->head + n) % r->size;
	r->len -= n;
}

/* The error to report once, then the steady answer. */
static int
pending_error(struct tcb *t, int steady)
{
	if (t->err != 0 && !(t->flags & TF_ERR_TOLD)) {
		t->flags |= TF_ERR_TOLD;
		return t->err;
	}
	return steady;
}

int32_t
coda_tcp_send(struct coda_tcp_stack *s, int sock, const void *buf, uint32_t len, uint64_t now)
{
	struct tcb *t = app_tcb(s, sock);
	uint32_t n;

	tcp_catch_up(s, now);
	t = app_tcb(s, sock);
	if (t == NULL)
		return -EBADF;
	if (t->flags & TF_LISTENER)
		return -ENOTCONN;
	switch (t->state) {
	case CODA_TCP_S_ESTABLISHED:
	case CODA_TCP_S_CLOSE_WAIT:
		break;
	case CODA_TCP_S_SYN_SENT:
	case CODA_TCP_S_SYN_RECEIVED:
		return -ENOTCONN;
	case CODA_TCP_S_CLOSED:
		return pending_error(t, -EPIPE);
	default:
		return -EPIPE; /* FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT: "connection closing" */
	}
	if (t->flags & TF_FIN_QUEUED)
		return -EPIPE;
	n = ring_free(&t->snd);
	if (n > len)
		n = len;
	if (n == 0) {
		t->flags |= TF_WRITABLE;
		return -EAGAIN;
	}
	ring_write(&t->snd, buf, n);
	if (n < len)
		t->flags |= TF_WRITABLE;
	if (!output_defer(s, t))
		tcp_output(s, t, now);
	return (int32_t)n;
}

int32_t
coda_tcp_recv(struct coda_tcp_stack *s, int sock, void *buf, uint32_t len, uint64_t now)
{
	struct tcb *t = app_tcb(s, sock);
	uint32_t n, before;

	tcp_catch_up(s, now);
	t = app_tcb(s, sock);
	if (t == NULL)
		return -EBADF;
	if (t->flags & TF_LISTENER)
		return -ENOTCONN;
	if (t->state == CODA_TCP_S_SYN_SENT || t->state == CODA_TCP_S_SYN_RECEIVED)
		return -ENOTCONN;
	/* Data received before a reset or a timeout is still read first (CASES K2). */
	n = t->rcv.buf != NULL ? t->rcv.len : 0;
	if (n > len)
		n = len;
	if (n > 0 && !(t->flags & TF_SHUT_RD)) {
		before = tcp_rcv_wnd(t);
		ring_read(&t->rcv, buf, n);
		/* A window update when the window had closed to below an MSS and reopens. */
		if (t->state != CODA_TCP_S_CLOSED && before < t->mss && tcp_rcv_wnd(t) >= t->mss) {
			t->flags |= TF_ACK_NOW;
			tcp_output(s, t, now);
		}
		return (int32_t)n;
	}
	/* A reset in CLOSE-WAIT reads as the EOF already seen (Linux; CASES F11). */
	if (t->state == CODA_TCP_S_CLOSED && t->err != 0 && t->err != -EPIPE)
		return pending_error(t, 0);
	if ((t->flags & (TF_PEER_FIN | TF_SHUT_RD)) || t->state == CODA_TCP_S_CLOSED)
		return 0;
	return -EAGAIN;
}

/* Queue our FIN: RFC 9293 §3.10.4 CLOSE, and shutdown(WR). */
static void
queue_fin(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	if (t->flags & TF_FIN_QUEUED)
		return; /* no second FIN (CASES A7) */
	t->flags |= TF_FIN_QUEUED;
	switch (t->state) {
	case CODA_TCP_S_SYN_RECEIVED:
	case CODA_TCP_S_ESTABLISHED:
		/* "In any case, enter FIN-WAIT-1 state." */
		tcp_set_state(s, t, TCP_EV_CLOSE);
		break;
	case CODA_TCP_S_CLOSE_WAIT:
		/* "Queue this request until all preceding SENDs have been segmentized; then send a FIN segment, enter LAST-ACK state." */
		tcp_set_state(s, t, TCP_EV_CLOSE);
		break;
	default:
		return;
	}
	tcp_output(s, t, now);
}

int
coda_tcp_shutdown(struct coda_tcp_stack *s, int sock, int how, uint64_t now)
{
	struct tcb *t = app_tcb(s, sock);

	tcp_catch_up(s, now);
	t = app_tcb(s, sock);
	if (t == NULL)
		return -EBADF;
	if (how < CODA_TCP_SHUT_RD || how > CODA_TCP_SHUT_RDWR)
		return -EINVAL;
	if ((t->flags & TF_LISTENER) || t->state == CODA_TCP_S_SYN_SENT)
		return -ENOTCONN;
	if (how & CODA_TCP_SHUT_RD) {
		/* No wire effect; unread data is discarded, later data acknowledged and dropped. */
		t->flags |= TF_SHUT_RD;
		if (t->rcv.buf != NULL)
			ring_read(&t->rcv, NULL, t->rcv.len);
	}
	if (how & CODA_TCP_SHUT_WR)
		queue_fin(s, t, now);
	return 0;
}

/* Send RST and forget the connection: abort, or close with unread data. */
static void
abort_tcb(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	switch (t->state) {
	case CODA_TCP_S_SYN_RECEIVED:
	case CODA_TCP_S_ESTABLISHED:
	case CODA_TCP_S_FIN_WAIT_1:
	case CODA_TCP_S_FIN_WAIT_2:
	case CODA_TCP_S_CLOSE_WAIT:
		/* RFC 9293 §3.10.5: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>". */
		tcp_send_rst_tcb(s, t, now, true);
		break;
	default:
		/* SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT: "Respond with ok and delete the TCB". */
		break;
	}
	t->flags &= ~TF_APP;
	tcp_close_tcb(s, t, TCP_EV_ABORT, CODA_TCP_CLOSE_ABORTED, 0);
}

int
coda_tcp_close(struct coda_tcp_stack *s, int sock, uint64_t now)
{
	struct tcb *t = app_tcb(s, sock);

	tcp_catch_up(s, now);
	t = app_tcb(s, sock);
	if (t == NULL)
		return -EBADF;
	if (t->flags & TF_LISTENER) {
		/* Established children not accepted yet are reset (Linux, CASES note 16). */
		while (t->aq_head != NIL) {
			struct tcb *c = &s->tcb[t->aq_head];

			abort_tcb(s, c, now);
		}
		for (uint32_t i = 0; i < s->conf.nb_tcb; i++)
			if ((s->tcb[i].flags & TF_USED) && s->tcb[i].parent == (uint32_t)sock)
				abort_tcb(s, &s->tcb[i], now);
		for (uint32_t j = 0; j < s->nb_lsn; j++)
			if (s->lsn[j] == (uint32_t)sock) {
				s->lsn[j] = s->lsn[--s->nb_lsn];
				break;
			}
		t->flags &= ~(TF_APP | TF_LISTENER);
		tcp_set_state(s, t, TCP_EV_CLOSE);
		tcb_release(s, t);
		return 0;
	}
	switch (t->state) {
	case CODA_TCP_S_CLOSED:
		t->flags &= ~TF_APP;
		tcb_release(s, t);
		return 0;
	case CODA_TCP_S_TIME_WAIT:
		t->flags &= ~TF_APP;
		tcb_release(s, t);
		return 0;
	case CODA_TCP_S_SYN_SENT:
		/* RFC 9293 §3.10.4: "Delete the TCB"; no RST (CASES A8). */
		t->flags &= ~TF_APP;
		tcp_close_tcb(s, t, TCP_EV_CLOSE, CODA_TCP_CLOSE_ABORTED, 0);
		return 0;
	default:
		break;
	}
	/* SO_LINGER {1, 0}: close() is an abort. */
	if ((t->flags & TF_LINGER) && t->linger_ms == 0) {
		abort_tcb(s, t, now);
		return 0;
	}
	/*
	 * RFC 1122 §4.2.2.13: "If such a host issues a CLOSE call while
	 * received data is still pending in TCP, or if new data is received
	 * after CLOSE is called, its TCP SHOULD send a RST to show that data
	 * was lost."
	 */
	if (s->conf.rst_on_unread_close && t->rcv.buf != NULL && t->rcv.len > 0 &&
	    !(t->flags & TF_SHUT_RD)) {
		abort_tcb(s, t, now);
		return 0;
	}
	t->flags &= ~TF_APP;
	t->flags |= TF_SHUT_RD | TF_ORPHAN;
	queue_fin(s, t, now);
	if ((t->flags & TF_LINGER) && t->state != CODA_TCP_S_CLOSED)
		tcp_timer_arm(s, t, TCP_T_LINGER, now + t->linger_ms);
	/* Already in FIN-WAIT-2 after a shutdown(WR): the orphan timeout starts now. */
	if (t->state == CODA_TCP_S_FIN_WAIT_2)
		tcp_timer_arm(s, t, TCP_T_FW2, now + s->conf.fin_wait2_timeout_ms);
	return 0;
}

int
coda_tcp_abort(struct coda_tcp_stack *s, int sock, uint64_t now)
{
	struct tcb *t = app_tcb(s, sock);

	tcp_catch_up(s, now);
	t = app_tcb(s, sock);
	if (t == NULL)
		return -EBADF;
	/*
	 * RFC 9293 §3.10.5 ABORT in TIME-WAIT: "Respond with ok and delete
	 * the TCB": a connection that went on in a TIME-WAIT entry while the
	 * application held the socket loses the entry too (no segment).
	 */
	if ((t->flags & TF_IN_TW) && t->state == CODA_TCP_S_CLOSED) {
		uint32_t v;

		if (coda_conntab_lookup(s->ct, &t->key, &v) == 0 && CODA_CONNTAB_IS_TW(v))
			(void)coda_conntab_delete(s->ct, &t->key, NULL);
	}
	if ((t->flags & TF_LISTENER) || t->state == CODA_TCP_S_CLOSED ||
	    t->state == CODA_TCP_S_TIME_WAIT)
		return coda_tcp_close(s, sock, now);
	abort_tcb(s, t, now);
	return 0;
}

int
coda_tcp_set_linger(struct coda_tcp_stack *s, int sock, bool on, uint32_t ms)
{
	struct tcb *t = app_tcb(s, sock);

	if (t == NULL)
		return -EBADF;
	if (t->flags & TF_LISTENER)
		return -EINVAL;
	if (on)
		t->flags |= TF_LINGER;
	else
		t->flags &= ~TF_LINGER;
	t->linger_ms = ms;
	return 0;
}

int
coda_tcp_info(const struct coda_tcp_stack *s, int sock, struct coda_tcp_info *info)
{
	const struct tcb *t = app_tcb(s, sock);

	if (t == NULL)
		return -EBADF;
	memset(info, 0, sizeof(*info));
	info->state = (enum coda_tcp_state)t->state;
	info->close_reason = (enum coda_tcp_close_reason)t->close_reason;
	info->error = (t->flags & TF_ERR_TOLD) ? 0 : t->err;
	info->snd_una = t->snd_una;
	info->snd_nxt = t->snd_nxt;
	info->rcv_nxt = t->rcv_nxt;
	info->rcv_wnd = t->rcv.buf != NULL ? tcp_rcv_wnd(t) : 0;
	info->iss = t->iss;
	info->irs = t->irs;
	info->readable = t->rcv.buf != NULL && !(t->flags & TF_SHUT_RD) ? t->rcv.len : 0;
	info->unsent = t->snd.buf != NULL ? t->snd.len - (t->snd_nxt - t->snd_data > t->snd.len ?
								  t->snd.len :
								  t->snd_nxt - t->snd_data) :
					  0;
	info->peer_fin = (t->flags & TF_PEER_FIN) != 0;
	info->orphan = false;
	info->key = t->key;
	return 0;
}

enum coda_tcp_state
coda_tcp_lookup(const struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint64_t now,
		uint64_t *tw_left_ms)
{
	uint32_t v;
	uint64_t end;

	*tw_left_ms = 0;
	if (coda_conntab_lookup(s->ct, k, &v) != 0)
		return CODA_TCP_S_CLOSED;
	if (CODA_CONNTAB_IS_TW(v)) {
		end = coda_conntab_tw_expiry(s->ct, v);
		*tw_left_ms = end > now ? end - now : 0;
		return CODA_TCP_S_TIME_WAIT;
	}
	return (enum coda_tcp_state)s->tcb[v].state;
}

void
coda_tcp_stats(const struct coda_tcp_stack *s, struct coda_tcp_stats *st)
{
	struct coda_conntab_stats cs;

	*st = s->st;
	coda_conntab_stats(s->ct, &cs);
	st->states[CODA_TCP_S_TIME_WAIT] = cs.entries_tw;
}

const struct coda_conntab *
coda_tcp_conntab(const struct coda_tcp_stack *s)
{
	return s->ct;
}

int
coda_tcp_audit(const struct coda_tcp_stack *s)
{
	uint64_t per_state[CODA_TCP_S__COUNT] = {0};
	uint32_t v, listeners = 0;

	if (coda_conntab_audit(s->ct) != 0 || coda_wheel_audit(s->wheel) != 0)
		return -EFAULT;
	/* The listener list names each listening socket once. */
	for (uint32_t j = 0; j < s->nb_lsn; j++) {
		if (s->lsn[j] >= s->conf.nb_tcb || !(s->tcb[s->lsn[j]].flags & TF_LISTENER))
			return -EFAULT;
		for (uint32_t i = 0; i < j; i++)
			if (s->lsn[i] == s->lsn[j])
				return -EFAULT;
	}
	for (uint32_t i = 0; i < s->conf.nb_tcb; i++) {
		const struct tcb *t = &s->tcb[i];

		if (!(t->flags & TF_USED)) {
			for (unsigned int k = 0; k < TCP_TIMERS; k++)
				if (coda_wheel_pending(s->wheel, i * TCP_TIMERS + k))
					return -EFAULT;
			continue;
		}
		per_state[t->state]++;
		listeners += (t->flags & TF_LISTENER) != 0;
		if (t->flags & TF_IN_TABLE) {
			if (coda_conntab_lookup(s->ct, &t->key, &v) != 0 || v != i)
				return -EFAULT;
		} else if (t->state != CODA_TCP_S_CLOSED && t->state != CODA_TCP_S_LISTEN) {
			return -EFAULT;
		}
		/* A connection nobody will close must still be in progress. */
		if (!(t->flags & TF_APP) && t->state == CODA_TCP_S_CLOSED)
			return -EFAULT;
		if (t->state == CODA_TCP_S_CLOSED)
			for (unsigned int k = 0; k < TCP_TIMERS; k++)
				if (tcp_timer_pending(s, t, (enum tcp_timer)k))
					return -EFAULT;
		if (t->snd.buf != NULL && coda_seq_gt(t->snd_una, t->snd_nxt))
			return -EFAULT;
	}
	if (listeners != s->nb_lsn)
		return -EFAULT;
	for (unsigned int k = 0; k < CODA_TCP_S__COUNT; k++)
		if (k != CODA_TCP_S_TIME_WAIT && per_state[k] != s->st.states[k])
			return -EFAULT;
	return 0;
}

/*
 * Rate limit of the ACKs a connection sends to segments it refuses (RFC
 * 5961 §7 challenge ACKs, out-of-window segments without data): one per
 * challenge_ack_interval_ms per connection, and for challenge ACKs at most
 * challenge_ack_per_s a second for the whole stack.
 */
bool
tcp_ack_rate_ok(struct coda_tcp_stack *s, struct tcb *t, bool challenge)
{
	uint64_t now = s->now;

	if (s->conf.challenge_ack_interval_ms != 0 && t->last_oow_ms != 0 &&
	    now - t->last_oow_ms < s->conf.challenge_ack_interval_ms) {
		s->st.challenge_ack_limited++;
		return false;
	}
	if (challenge && s->conf.challenge_ack_per_s != 0) {
		if (now / 1000 != s->chack_sec) {
			s->chack_sec = now / 1000;
			s->chack_count = 0;
		}
		if (s->chack_count >= s->conf.challenge_ack_per_s) {
			s->st.challenge_ack_limited++;
			return false;
		}
		s->chack_count++;
	}
	t->last_oow_ms = now != 0 ? now : 1;
	return true;
}
