/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timers: every TCB timer is a coda_wheel timer, handle = TCB index x
 * TCP_TIMERS + kind (1 tick = 1 ms), and TIME-WAIT entries expire in the
 * connection table's own wheels.
 *
 *  - RTX: retransmission (RFC 6298: RTO from SRTT and RTTVAR, at least
 *    rto_min, doubled on each timeout up to rto_max, Karn's rule through
 *    timing only segments sent once); go back to SND.UNA and resend, SYN,
 *    data and FIN alike. After user_timeout_ms (syn_timeout_ms while
 *    opening) without progress the connection is given up: RFC 9293
 *    §3.10.8 USER TIMEOUT, "flush all queues, signal the user 'error:
 *    connection aborted due to user timeout'", no segment. With the
 *    TF_PERSIST flag it is the zero-window probe instead.
 *  - DELACK: the delayed ACK.
 *  - KEEP: keepalive, RFC 1122 4.2.3.6, when keepalive_ms is set: after
 *    that long without a segment from the peer, a probe <SEQ=SND.UNA-1>
 *    <ACK=RCV.NXT> every keepalive_intvl_ms; keepalive_probes unanswered
 *    ones end the connection (TIMEOUT). The timer is not re-armed per
 *    segment: it checks the time of the last one when it fires.
 *  - LINGER: close() with a linger time (coda_tcp_set_linger()): a
 *    connection whose data and FIN are not acknowledged by then is aborted.
 *  - FW2: an orphaned FIN-WAIT-2 connection is dropped after
 *    fin_wait2_timeout_ms (a half-closed one, still held by its
 *    application, never times out).
 */

#include <errno.h>

#include "tcp_private.h"

void tcp_send_probe(struct coda_tcp_stack *s, struct tcb *t, uint64_t now);

static inline uint32_t
handle(const struct coda_tcp_stack *s, const struct tcb *t, enum tcp_timer k)
{
	return tcp_idx(s, t) * TCP_TIMERS + (uint32_t)k;
}

void
tcp_timer_arm(struct coda_tcp_stack *s, struct tcb *t, enum tcp_timer k, uint64_t at)
{
	uint32_t none[1];

	/*
	 * A wheel's lateness is relative to the delay from its clock: if the
	 * caller has not run the timers for a while, bring the clock up to
	 * now first, through the ticks where nothing is due (a call that
	 * delivers nothing: max 0), so that a 200 ms timer armed after an
	 * hour's idle is not placed as an hour-long one.
	 */
	if (coda_wheel_clock(s->wheel) <= s->now)
		(void)coda_wheel_advance(s->wheel, s->now, none, 0);
	(void)coda_wheel_arm(s->wheel, handle(s, t, k), at);
}

void
tcp_timer_cancel(struct coda_tcp_stack *s, struct tcb *t, enum tcp_timer k)
{
	(void)coda_wheel_cancel(s->wheel, handle(s, t, k));
}

bool
tcp_timer_pending(const struct coda_tcp_stack *s, const struct tcb *t, enum tcp_timer k)
{
	return coda_wheel_pending(s->wheel, handle(s, t, k));
}

void
tcp_timers_cancel_all(struct coda_tcp_stack *s, struct tcb *t)
{
	for (unsigned int k = 0; k < TCP_TIMERS; k++)
		tcp_timer_cancel(s, t, (enum tcp_timer)k);
	t->flags &= ~TF_PERSIST;
}

/* RFC 6298 §2: update SRTT, RTTVAR and RTO from one measurement (ms). */
void
tcp_rtt_sample(struct coda_tcp_stack *s, struct tcb *t, uint32_t rtt)
{
	uint32_t rto;

	if (t->srtt8 == 0) {
		/* (2.2) SRTT <- R, RTTVAR <- R/2. */
		t->srtt8 = rtt << 3;
		t->rttvar4 = rtt << 1;
	} else {
		/* (2.3) RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'. */
		int32_t delta = (int32_t)rtt - (int32_t)(t->srtt8 >> 3);

		if (delta < 0)
			delta = -delta;
		t->rttvar4 = t->rttvar4 - (t->rttvar4 >> 2) + (uint32_t)delta;
		t->srtt8 = t->srtt8 - (t->srtt8 >> 3) + rtt;
	}
	/* RTO <- SRTT + max(G, K*RTTVAR), G = 1 ms; (2.4) at least rto_min; (2.5) a maximum. */
	rto = (t->srtt8 >> 3) + (t->rttvar4 > 1 ? t->rttvar4 : 1);
	if (rto < s->conf.rto_min_ms)
		rto = s->conf.rto_min_ms;
	if (rto > s->conf.rto_max_ms)
		rto = s->conf.rto_max_ms;
	t->rto = rto;
}

/* The user timeout (R2) is over: end the connection, TIMEOUT. */
static void
give_up(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	/* CASES I4 [POLICY]: silent (RFC 9293 §3.10.8, Linux) or an RST (smoltcp). */
	if (s->conf.user_timeout_rst)
		tcp_send_rst_tcb(s, t, now, false);
	tcp_close_tcb(s, t, TCP_EV_TIMEOUT, CODA_TCP_CLOSE_TIMEOUT, -ETIMEDOUT);
}

static void
on_rtx(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	uint64_t limit;
	uint32_t flight;

	if (t->flags & TF_PERSIST) {
		/*
		 * Zero-window probe; back off like a retransmission. Probes that
		 * are answered (an ACK, even with a zero window) keep the
		 * connection (RFC 9293 §3.8.6.1); unanswered ones run into the
		 * user timeout like any retransmission.
		 */
		if (t->rtx_start != 0 && now - t->rtx_start >= s->conf.user_timeout_ms) {
			give_up(s, t, now);
			return;
		}
		t->flags &= ~TF_PERSIST;
		tcp_send_probe(s, t, now);
		if (t->backoff < 16)
			t->backoff++;
		t->rto = t->rto * 2 > s->conf.rto_max_ms ? s->conf.rto_max_ms : t->rto * 2;
		t->flags |= TF_PERSIST;
		tcp_timer_arm(s, t, TCP_T_RTX, now + t->rto);
		return;
	}
	if (t->snd_una == t->snd_max)
		return; /* nothing in flight any more */
	limit = t->state == CODA_TCP_S_SYN_SENT || t->state == CODA_TCP_S_SYN_RECEIVED ?
			s->conf.syn_timeout_ms :
			s->conf.user_timeout_ms;
	if (now - t->rtx_start >= limit) {
		if (t->state == CODA_TCP_S_SYN_RECEIVED && (t->flags & TF_PASSIVE) &&
		    !(t->flags & TF_APP)) {
			tcp_close_tcb(s, t, TCP_EV_TIMEOUT, CODA_TCP_CLOSE_TIMEOUT, 0);
			return;
		}
		give_up(s, t, now);
		return;
	}
	/* RFC 6298 (5.5)-(5.7): back off, go back to SND.UNA; RFC 5681 (4): ssthresh, cwnd. */
	flight = t->snd_max - t->snd_una;
	t->ssthresh = flight / 2 > 2u * t->mss ? flight / 2 : 2u * t->mss;
	t->cwnd = t->mss;
	t->dupacks = 0;
	t->recover = t->snd_max;
	if (t->backoff < 16)
		t->backoff++;
	t->rto = t->rto * 2 > s->conf.rto_max_ms ? s->conf.rto_max_ms : t->rto * 2;
	t->rtt_time = 0; /* Karn: no sample from a retransmitted segment */
	t->snd_nxt = t->snd_una;
	s->st.retransmits++;
	tcp_timer_cancel(s, t, TCP_T_RTX);
	tcp_output(s, t, now);
	if (!tcp_timer_pending(s, t, TCP_T_RTX))
		tcp_timer_arm(s, t, TCP_T_RTX, now + t->rto);
}

static void
on_keepalive(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	if (s->conf.keepalive_ms == 0 || t->state == CODA_TCP_S_CLOSED)
		return;
	/*
	 * Not while data is in flight (the retransmissions probe the path,
	 * and the user timeout ends it), as Linux does; RFC 1122 4.2.3.6 asks
	 * for probes on an idle connection.
	 */
	if (now - t->last_rx < s->conf.keepalive_ms || t->snd_una != t->snd_max) {
		t->kprobes = 0;
		tcp_timer_arm(s, t, TCP_T_KEEP,
			      (now - t->last_rx < s->conf.keepalive_ms ? t->last_rx : now) +
				      s->conf.keepalive_ms);
		return;
	}
	if (t->kprobes >= s->conf.keepalive_probes) {
		tcp_close_tcb(s, t, TCP_EV_TIMEOUT, CODA_TCP_CLOSE_TIMEOUT, -ETIMEDOUT);
		return;
	}
	t->kprobes++;
	tcp_send_raw(s, &t->key, t->snd_una - 1, t->rcv_nxt, TCP_ACK, tcp_wnd_value(t), t->ts_ok,
		     tcp_tsval(t, now), t->ts_recent);
	tcp_timer_arm(s, t, TCP_T_KEEP, now + s->conf.keepalive_intvl_ms);
}

static void
on_timer(struct coda_tcp_stack *s, uint32_t h, uint64_t now)
{
	struct tcb *t = &s->tcb[h / TCP_TIMERS];

	/*
	 * One advance delivers a batch: an earlier timer of the batch may
	 * have ended this connection (keepalive, user timeout) after the
	 * wheel handed this one out. A closed TCB has no timers.
	 */
	if (!(t->flags & TF_USED) || t->state == CODA_TCP_S_CLOSED)
		return;
	switch ((enum tcp_timer)(h % TCP_TIMERS)) {
	case TCP_T_RTX:
		on_rtx(s, t, now);
		break;
	case TCP_T_DELACK:
		if (t->state != CODA_TCP_S_CLOSED)
			tcp_send_ack(s, t, now);
		break;
	case TCP_T_KEEP:
		on_keepalive(s, t, now);
		break;
	case TCP_T_LINGER:
		/*
		 * The linger time is over: if data or the FIN are still not
		 * acknowledged (FIN-WAIT-1, CLOSING, LAST-ACK), abort.
		 */
		if (t->state == CODA_TCP_S_FIN_WAIT_1 || t->state == CODA_TCP_S_CLOSING ||
		    t->state == CODA_TCP_S_LAST_ACK) {
			tcp_send_rst_tcb(s, t, now, true);
			tcp_close_tcb(s, t, TCP_EV_ABORT, CODA_TCP_CLOSE_ABORTED, 0);
		}
		break;
	case TCP_T_FW2:
		/* Orphaned FIN-WAIT-2 for too long: drop it silently (Linux tcp_fin_timeout). */
		if (t->state == CODA_TCP_S_FIN_WAIT_2 && (t->flags & TF_ORPHAN))
			tcp_close_tcb(s, t, TCP_EV_TIMEOUT, CODA_TCP_CLOSE_TIMEOUT, 0);
		break;
	default:
		break;
	}
}

void
coda_tcp_timers(struct coda_tcp_stack *s, uint64_t now)
{
	uint32_t due[64];
	unsigned int n, i, rounds;

	s->now = now;
	s->depth++;
	for (rounds = 0; rounds < 1024; rounds++) {
		n = coda_wheel_advance(s->wheel, now, due, 64);
		for (i = 0; i < n; i++)
			on_timer(s, due[i], now);
		if (n == 0 && !coda_wheel_due(s->wheel, now))
			break;
	}
	for (rounds = 0; rounds < 1024 && coda_conntab_tw_due(s->ct, now); rounds++)
		(void)coda_conntab_tw_expire(s->ct, now, 256);
	s->depth--;
}

uint64_t
coda_tcp_next_timer(const struct coda_tcp_stack *s)
{
	uint64_t a = coda_wheel_next_expiry(s->wheel);
	uint64_t b = coda_conntab_tw_next_expiry(s->ct);

	return a < b ? a : b;
}
