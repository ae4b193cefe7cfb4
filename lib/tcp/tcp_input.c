/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segment arrival, RFC 9293 §3.10.7, in its order: parse; find the
 * connection (a TCB, a TIME-WAIT entry, a listener, or nothing); then for
 * a synchronized TCB check the sequence number (with PAWS), RST, SYN, ACK,
 * then process the text and the FIN. RFC 5961's checks are in place of the
 * older rules: an RST must be exactly at RCV.NXT (in the window: challenge
 * ACK), a SYN in a synchronized state draws a challenge ACK, an ACK must
 * lie in [SND.UNA - MAX.SND.WND, SND.NXT]. Each rejected segment is
 * counted under its reason (tcp_private.h, TCP_FSM_DROPS).
 */

#include <errno.h>
#include <string.h>

#include "tcp_private.h"

#include "coda_prefetch.h"

/* --- options and windows ---------------------------------------------------- */

/* RFC 7323 §5.3 R1: PAWS, never for an RST (the issue and DESIGN.md). */
static bool
paws_reject(const struct tcb *t, const struct tcp_seg *seg, uint64_t now)
{
	if (!t->ts_ok || (seg->flags & TCP_RST) || !(seg->opts & TCP_OPT_TS))
		return false;
	/* TS.Recent older than 24 days is invalid (RFC 7323 §5.5). */
	if (now - t->ts_recent_ms > UINT64_C(24) * 86400 * 1000)
		return false;
	return (int32_t)(seg->tsval - t->ts_recent) < 0;
}

/* RFC 7323 §4.3: record TS.Recent from a segment that covers RCV.NXT (Last.ACK.sent ~ RCV.NXT). */
static void
ts_update(struct tcb *t, const struct tcp_seg *seg, uint64_t now)
{
	if (t->ts_ok && (seg->opts & TCP_OPT_TS) && coda_seq_leq(seg->seq, t->rcv_nxt) &&
	    (int32_t)(seg->tsval - t->ts_recent) >= 0) {
		t->ts_recent = seg->tsval;
		t->ts_recent_ms = now;
	}
}

/* The peer's window from a segment, scaled unless it is a SYN (RFC 7323 §2.2). */
static uint32_t
seg_wnd(const struct tcb *t, const struct tcp_seg *seg)
{
	if (seg->flags & TCP_SYN)
		return seg->wnd;
	return (uint32_t)seg->wnd << (t->ws_ok ? t->snd_wscale : 0);
}

/* Options of the peer's SYN or SYN-ACK: what both sides agreed on. */
static void
syn_options(struct coda_tcp_stack *s, struct tcb *t, const struct tcp_seg *seg, bool active)
{
	/* RFC 9293 §3.7.1: without the option, 536 for IPv4, 1220 for IPv6. */
	uint16_t mss = (seg->opts & TCP_OPT_MSS) ? seg->mss
			: t->key.family == AF_INET6 ? 1220 : 536;
	uint16_t ours = tcp_mss_local(s, t->key.family);

	t->mss = mss < ours ? mss : ours;
	/* Each option holds only if both sides sent it. */
	t->ts_ok = (active ? t->ts_ok : s->conf.timestamps) && (seg->opts & TCP_OPT_TS);
	t->ws_ok = (active ? t->ws_ok : s->conf.window_scaling) && (seg->opts & TCP_OPT_WS);
	t->sack_ok = (active ? t->sack_ok : s->conf.sack) && (seg->opts & TCP_OPT_SACKOK);
	t->snd_wscale = t->ws_ok ? seg->wscale : 0;
	if (!t->ws_ok)
		t->rcv_wscale = 0;
	if (t->ts_ok) {
		t->ts_recent = seg->tsval;
		t->ts_recent_ms = s->now;
		/*
		 * RFC 9293 §3.7.1: the data of a segment is at most the MSS less
		 * the TCP options it carries; every segment carries the 12 bytes of
		 * the timestamps option (RFC 7323 §3.2), so the IP packet stays
		 * within the MTU the MSS was derived from.
		 */
		t->mss -= TCP_OPTLEN_TS + 2; /* NOP, NOP, kind, length, TSval, TSecr */
	}
	/* RFC 5681 §3.1 initial window: 2 to 4 segments by MSS. */
	t->cwnd = t->mss > 2190 ? 2u * t->mss : t->mss > 1095 ? 3u * t->mss : 4u * t->mss;
	t->ssthresh = UINT32_MAX / 2;
}

/* Remember the peer's window: RFC 9293 §3.10.7.4 fifth step, SND.WL1/WL2 rule. */
static void
window_update(struct tcb *t, const struct tcp_seg *seg)
{
	if (coda_seq_lt(t->snd_wl1, seg->seq) ||
	    (t->snd_wl1 == seg->seq && coda_seq_leq(t->snd_wl2, seg->ack))) {
		t->snd_wnd = seg_wnd(t, seg);
		t->snd_wl1 = seg->seq;
		t->snd_wl2 = seg->ack;
		if (t->snd_wnd > t->max_snd_wnd)
			t->max_snd_wnd = t->snd_wnd;
	}
}

/* A rate-limited challenge ACK, RFC 5961 §7: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
static void
challenge_ack(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	if (!tcp_ack_rate_ok(s, t, true))
		return;
	s->st.tx_challenge_ack++;
	tcp_send_ack(s, t, now);
}

/* The ACK for an unacceptable segment: rate limited unless it carried data (CASES F10). */
static void
oow_ack(struct coda_tcp_stack *s, struct tcb *t, const struct tcp_seg *seg, uint64_t now)
{
	if (seg->payload_len == 0 && !tcp_ack_rate_ok(s, t, false))
		return;
	tcp_send_ack(s, t, now);
}

/* --- passive open ------------------------------------------------------------ */

/* A SYN to listener l: a SYN-RECEIVED TCB (RFC 9293 §3.10.7.2 third check). */
static struct tcb *
passive_open(struct coda_tcp_stack *s, struct tcb *l, const struct coda_conntab_key *k,
	     const struct tcp_seg *seg, uint64_t now, uint32_t iss)
{
	struct tcb *t;

	if (l->pending >= l->backlog) {
		tcp_drop(s, TCP_FD_BACKLOG);
		return NULL;
	}
	t = tcp_new_tcb(s);
	if (t == NULL) {
		tcp_drop(s, TCP_FD_NO_SOCKET);
		return NULL;
	}
	t->key = *k;
	t->flags |= TF_PASSIVE;
	if (tcp_bufs_alloc(s, t) != 0 || coda_conntab_insert(s->ct, k, tcp_idx(s, t)) != 0) {
		tcp_close_tcb(s, t, TCP_EV_ABORT, CODA_TCP_CLOSE_ABORTED, 0);
		tcp_drop(s, TCP_FD_NO_SOCKET);
		return NULL;
	}
	t->flags |= TF_IN_TABLE;
	t->parent = tcp_idx(s, l);
	l->pending++;
	/* "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ, ... ISS should be selected." */
	t->irs = seg->seq;
	t->rcv_nxt = seg->seq + 1;
	t->rcv_adv = t->rcv_nxt;
	t->iss = iss;
	t->snd_una = t->snd_nxt = t->snd_max = iss;
	t->recover = iss; /* RFC 6582 §3.2: "initialized to the initial send sequence number" */
	t->snd_data = iss + 1;
	t->ts_offset = tcp_ts_offset(s, k);
	syn_options(s, t, seg, false);
	t->rcv_wscale = t->ws_ok ? tcp_rcv_wscale(s->conf.rcv_buf) : 0;
	t->snd_wnd = seg->wnd; /* a SYN's window is not scaled */
	t->max_snd_wnd = t->snd_wnd;
	t->snd_wl1 = seg->seq;
	t->snd_wl2 = iss;
	t->rtx_start = now;
	tcp_set_state(s, t, TCP_EV_RCV_SYN);
	s->st.opened_passive++;
	tcp_output(s, t, now); /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
	return t;
}

/* --- TIME-WAIT ---------------------------------------------------------------- */

static void
tw_input(struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint32_t v,
	 const struct tcp_seg *seg, uint64_t now)
{
	struct coda_conntab_tw tw;
	struct tcp_tw_action a;
	int l;

	if (coda_conntab_tw_get(s->ct, v, now, &tw) != 0)
		return;
	tcp_tw_input(&s->twc, &tw, seg, now, &a);
	if (a.update)
		(void)coda_conntab_tw_update(s->ct, k, &tw, now);
	if (a.restart)
		(void)coda_conntab_tw_restart(s->ct, v, a.expiry);
	if (a.kill) {
		/* RFC 793 mode: an RST at RCV.NXT ends TIME-WAIT. */
		(void)coda_conntab_delete(s->ct, k, NULL);
		return;
	}
	switch (a.verdict) {
	case TCP_TW_ACK:
		s->st.tw_acks++;
		tcp_send_raw(s, k, a.ack_seq, a.ack_ack, TCP_ACK, a.ack_wnd, a.ack_ts,
			     (uint32_t)now + tcp_ts_offset(s, k), a.ack_tsecr);
		return;
	case TCP_TW_REOPEN:
		/* RFC 1122 4.2.2.13 / RFC 6191: a new incarnation, its ISS after the old SND.NXT. */
		l = tcp_listener_find(s, k);
		if (l < 0) {
			tcp_drop(s, TCP_FD_TW_NO_LISTENER);
			return;
		}
		(void)coda_conntab_delete(s->ct, k, NULL);
		if (passive_open(s, &s->tcb[l], k, seg, now,
				 tcp_tw_iss(tcp_isn(s, k, now), a.iss_floor)) != NULL)
			s->st.tw_reopened++;
		return;
	default:
		tcp_drop(s, TCP_FD_TW_DROP);
		return;
	}
}

/* --- SYN-SENT ------------------------------------------------------------------ */

static void
syn_sent_input(struct coda_tcp_stack *s, struct tcb *t, struct tcp_seg *seg, uint64_t now)
{
	bool ack_ok = false;

	/* First: the ACK bit. "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set ...)" */
	if (seg->flags & TCP_ACK) {
		if (coda_seq_leq(seg->ack, t->iss) || coda_seq_gt(seg->ack, t->snd_nxt)) {
			if (!(seg->flags & TCP_RST))
				tcp_send_raw(s, &t->key, seg->ack, 0, TCP_RST, 0, false, 0, 0);
			tcp_drop(s, TCP_FD_SYN_SENT_BAD_ACK);
			return;
		}
		ack_ok = coda_seq_lt(t->snd_una, seg->ack) && coda_seq_leq(seg->ack, t->snd_nxt);
	}
	/* Second: RST. "If the ACK was acceptable, then signal to the user 'error: connection reset', drop the segment, enter CLOSED state, delete TCB. Otherwise (no ACK), drop the segment and return." */
	if (seg->flags & TCP_RST) {
		if (!ack_ok) {
			tcp_drop(s, TCP_FD_SYN_SENT_RST);
			return;
		}
		tcp_close_tcb(s, t, TCP_EV_RCV_RST, CODA_TCP_CLOSE_REFUSED, -ECONNREFUSED);
		return;
	}
	/* Fourth: SYN. */
	if (!(seg->flags & TCP_SYN)) {
		tcp_drop(s, TCP_FD_SYN_SENT_OTHER);
		return;
	}
	t->irs = seg->seq;
	t->rcv_nxt = seg->seq + 1;
	t->rcv_adv = t->rcv_nxt;
	syn_options(s, t, seg, true);
	if (ack_ok) {
		/* "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it." */
		t->snd_una = seg->ack;
		t->snd_data = seg->ack;
		t->snd_wnd = seg->wnd; /* a SYN's window is not scaled */
		t->max_snd_wnd = t->snd_wnd;
		t->snd_wl1 = seg->seq;
		t->snd_wl2 = seg->ack;
		/* An RTT sample from the SYN, unless it was retransmitted (Karn). */
		if (t->ts_ok && (seg->opts & TCP_OPT_TS) && seg->tsecr != 0)
			tcp_rtt_sample(s, t, (uint32_t)(tcp_tsval(t, now) - seg->tsecr));
		else if (t->backoff == 0)
			tcp_rtt_sample(s, t, (uint32_t)(now - t->rtx_start));
		t->backoff = 0;
		t->rtx_start = 0;
		tcp_timer_cancel(s, t, TCP_T_RTX);
		tcp_set_state(s, t, TCP_EV_RCV_SYN_ACK);
		t->flags |= TF_ACK_NOW;
		tcp_output(s, t, now);
		tcp_event(s, t, CODA_TCP_EV_CONNECTED);
		return;
	}
	/* Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." */
	tcp_set_state(s, t, TCP_EV_RCV_SYN);
	t->snd_wnd = seg->wnd;
	t->snd_wl1 = seg->seq;
	t->snd_nxt = t->iss;
	tcp_timer_cancel(s, t, TCP_T_RTX);
	tcp_output(s, t, now);
}

/* --- synchronized states --------------------------------------------------------- */

/* Our FIN is acknowledged. */
static bool
fin_acked(const struct tcb *t)
{
	return (t->flags & TF_FIN_SENT) && coda_seq_gt(t->snd_una, t->snd_fin);
}

/*
 * RFC 5681 / 6582 on a new ACK and on duplicates. Returns true when the
 * segment at SND.UNA must be sent again now: the third duplicate ACK (fast
 * retransmit), or a partial ACK during recovery (the next hole). Only that
 * one segment is resent; going back N here would answer each duplicate ACK
 * with a window of duplicates, and those with more duplicate ACKs.
 */
static bool
cc_on_ack(struct tcb *t, uint32_t acked, bool dup, uint32_t ack)
{
	if (dup) {
		if (++t->dupacks == 3 && coda_seq_gt(ack, t->recover - 1)) {
			/* Fast retransmit (RFC 6582 §3.2 step 2). */
			uint32_t flight = t->snd_max - t->snd_una;

			t->ssthresh = flight / 2 > 2u * t->mss ? flight / 2 : 2u * t->mss;
			t->recover = t->snd_max;
			t->cwnd = t->ssthresh + 3u * t->mss;
			return true;
		}
		if (t->dupacks > 3)
			t->cwnd += t->mss; /* each further duplicate: a segment has left */
		return false;
	}
	if (t->dupacks >= 3) {
		if (coda_seq_geq(ack, t->recover)) {
			t->cwnd = t->ssthresh; /* full ACK: leave fast recovery (step 3) */
			t->dupacks = 0;
			return false;
		}
		/* Partial ACK (step 4): resend the next hole, deflate by the amount acked. */
		t->cwnd = t->cwnd > acked ? t->cwnd - acked + t->mss : t->mss;
		return true;
	}
	t->dupacks = 0;
	if (t->cwnd < t->ssthresh)
		t->cwnd += acked < t->mss ? acked : t->mss; /* slow start */
	else
		t->cwnd += (uint32_t)((uint64_t)t->mss * t->mss / (t->cwnd ? t->cwnd : 1)) + 1;
	return false;
}

/* SND.UNA moves to ack: free acknowledged data, RTT, timers. */
static void
ack_advance(struct coda_tcp_stack *s, struct tcb *t, const struct tcp_seg *seg, uint64_t now)
{
	uint32_t acked = seg->ack - t->snd_una;
	uint32_t data_end = t->snd_data + (t->snd.buf != NULL ? t->snd.len : 0);
	uint32_t upto = coda_seq_lt(seg->ack, data_end) ? seg->ack : data_end;

	if (t->snd.buf != NULL && coda_seq_gt(upto, t->snd_data)) {
		uint32_t n = upto - t->snd_data;

		t->snd.head = (t->snd.head + n) % t->snd.size;
		t->snd.len -= n;
		t->snd_data = upto;
	}
	/* RTT: from the echoed timestamp, or the timed segment (Karn: only if sent once). */
	if (t->ts_ok && (seg->opts & TCP_OPT_TS) && seg->tsecr != 0)
		tcp_rtt_sample(s, t, (uint32_t)(tcp_tsval(t, now) - seg->tsecr));
	else if (t->rtt_time != 0 && coda_seq_gt(seg->ack, t->rtt_seq))
		tcp_rtt_sample(s, t, (uint32_t)(now - t->rtt_time));
	if (t->rtt_time != 0 && coda_seq_gt(seg->ack, t->rtt_seq))
		t->rtt_time = 0;
	t->snd_una = seg->ack;
	if (coda_seq_lt(t->snd_nxt, t->snd_una))
		t->snd_nxt = t->snd_una;
	t->backoff = 0;
	if (cc_on_ack(t, acked, false, seg->ack) && t->snd_una != t->snd_max)
		tcp_retransmit_one(s, t, now);
	/* RFC 6298 (5.2)/(5.3): stop the timer when all is acknowledged, else restart it. */
	if (t->snd_una == t->snd_max) {
		tcp_timer_cancel(s, t, TCP_T_RTX);
		t->rtx_start = 0;
	} else {
		tcp_timer_arm(s, t, TCP_T_RTX, now + t->rto);
		t->rtx_start = now;
	}
	if ((t->flags & TF_WRITABLE) && t->snd.buf != NULL && ring_free(&t->snd) > 0 &&
	    (t->flags & TF_APP)) {
		t->flags &= ~TF_WRITABLE;
		tcp_event(s, t, CODA_TCP_EV_WRITABLE);
	}
}

/*
 * Keep [seq, seq + n) received past a hole: copy it to its place in the
 * receive ring (the ring's tail is RCV.NXT, so sequence x lives at tail +
 * (x - RCV.NXT) whatever is read meanwhile) and merge its range into the
 * list. False if nothing could be kept.
 */
static bool
ooo_store(struct tcb *t, uint32_t seq, const uint8_t *p, uint32_t n)
{
	uint32_t off, room, i, start, end;

	if (t->rcv.buf == NULL || (t->flags & TF_SHUT_RD))
		return false;
	off = seq - t->rcv_nxt;
	room = ring_free(&t->rcv);
	if (off >= room)
		return false;
	if (n > room - off)
		n = room - off;
	start = seq;
	end = seq + n;
	/* Merge with every range it touches; keep the list sorted by start. */
	for (i = 0; i < t->nb_ooo;) {
		if (coda_seq_leq(t->ooo[i].start, end) && coda_seq_leq(start, t->ooo[i].end)) {
			if (coda_seq_lt(t->ooo[i].start, start))
				start = t->ooo[i].start;
			if (coda_seq_gt(t->ooo[i].end, end))
				end = t->ooo[i].end;
			t->ooo[i] = t->ooo[--t->nb_ooo];
			continue;
		}
		i++;
	}
	if (t->nb_ooo == TCP_OOO_MAX)
		return false;
	t->ooo[t->nb_ooo].start = start;
	t->ooo[t->nb_ooo].end = end;
	t->nb_ooo++;
	ring_put(&t->rcv, t->rcv.len + off, p, n);
	return true;
}

/* After RCV.NXT moved: take in every kept range it reached. True if one was. */
static bool
ooo_join(struct tcb *t)
{
	bool joined = false, again = true;
	uint32_t i;

	while (again) {
		again = false;
		for (i = 0; i < t->nb_ooo; i++) {
			if (coda_seq_gt(t->ooo[i].start, t->rcv_nxt))
				continue;
			if (coda_seq_gt(t->ooo[i].end, t->rcv_nxt)) {
				t->rcv.len += t->ooo[i].end - t->rcv_nxt;
				t->rcv_nxt = t->ooo[i].end;
				joined = true;
			}
			t->ooo[i] = t->ooo[--t->nb_ooo];
			again = true;
			break;
		}
	}
	return joined;
}

/* Queue in-order text (seventh step). Returns false if the connection was reset for it. */
static bool
text_input(struct coda_tcp_stack *s, struct tcb *t, struct tcp_seg *seg, uint64_t now)
{
	uint32_t n = seg->payload_len, room;
	const uint8_t *p = seg->payload;

	if (n == 0)
		return true;
	switch (t->state) {
	case CODA_TCP_S_ESTABLISHED:
	case CODA_TCP_S_FIN_WAIT_1:
	case CODA_TCP_S_FIN_WAIT_2:
		break;
	default:
		/* CLOSE-WAIT, CLOSING, LAST-ACK: "This should not occur since a FIN has been received from the remote side. Ignore the segment text." */
		tcp_drop(s, TCP_FD_DATA_AFTER_FIN);
		return true;
	}
	/*
	 * RFC 1122 4.2.2.13: "if new data is received after CLOSE is called,
	 * its TCP SHOULD send a RST to show that data was lost" (CASES E3).
	 */
	if ((t->flags & TF_ORPHAN) && coda_seq_gt(seg->seq + n, t->rcv_nxt)) {
		tcp_drop(s, TCP_FD_DATA_AFTER_CLOSE);
		tcp_send_rst_tcb(s, t, now, false);
		tcp_close_tcb(s, t, TCP_EV_ABORT, CODA_TCP_CLOSE_ABORTED, 0);
		return false;
	}
	/* Trim what we already have (the left edge). */
	if (coda_seq_lt(seg->seq, t->rcv_nxt)) {
		uint32_t d = t->rcv_nxt - seg->seq;

		if (d >= n) {
			t->flags |= TF_ACK_NOW; /* a duplicate: ACK it at once */
			return true;
		}
		p += d;
		n -= d;
		seg->seq = t->rcv_nxt;
	}
	if (seg->seq != t->rcv_nxt) {
		/*
		 * Past a hole: kept for reassembly where it fits, and an
		 * immediate ACK tells the sender of the hole (RFC 5681 §4.2,
		 * "an immediate ACK SHOULD be generated when an out-of-order
		 * segment arrives").
		 */
		if (ooo_store(t, seg->seq, p, n))
			s->st.drops[TCP_FD_OUT_OF_ORDER]++;
		else
			tcp_drop(s, TCP_FD_OOO_FULL);
		t->flags |= TF_ACK_NOW;
		return true;
	}
	room = t->rcv.buf != NULL ? ring_free(&t->rcv) : 0;
	if (t->flags & TF_SHUT_RD) {
		/* CASES D3 [POLICY]: RFC 1122 lets a half-duplex close reset on data; Linux ACKs it. */
		if (s->conf.shut_rd_data_rst && (t->flags & TF_APP)) {
			tcp_send_rst_tcb(s, t, now, true);
			tcp_close_tcb(s, t, TCP_EV_ABORT, CODA_TCP_CLOSE_ABORTED, -ECONNRESET);
			return false;
		}
		room = n; /* acknowledged and dropped unread */
	}
	if (n > room) {
		tcp_drop(s, TCP_FD_RCV_BUF_FULL);
		n = room;
		t->flags |= TF_ACK_NOW;
	}
	if (n == 0)
		return true;
	if (!(t->flags & TF_SHUT_RD)) {
		ring_put(&t->rcv, t->rcv.len, p, n);
		t->rcv.len += n;
	}
	t->rcv_nxt += n;
	seg->payload_len = n; /* what was taken (the FIN check below needs the end) */
	seg->payload = p;
	if (t->nb_ooo > 0 && ooo_join(t)) {
		/* A hole filled: the FIN check must not take this segment's end for the stream's. */
		seg->payload_len = t->rcv_nxt - seg->seq;
		t->flags |= TF_ACK_NOW;
	}
	/* Delayed ACK: at most every second full segment waits (RFC 1122 4.2.3.2). */
	if (s->conf.delayed_ack_ms == 0 || tcp_timer_pending(s, t, TCP_T_DELACK) ||
	    n >= 2u * t->mss)
		t->flags |= TF_ACK_NOW;
	else
		tcp_timer_arm(s, t, TCP_T_DELACK, now + s->conf.delayed_ack_ms);
	if ((t->flags & TF_APP) && !(t->flags & TF_SHUT_RD))
		tcp_event(s, t, CODA_TCP_EV_READABLE);
	return true;
}

/* Eighth step: the FIN. */
static void
fin_input(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	/* "Advance RCV.NXT over the FIN, and send an acknowledgment for the FIN." */
	t->rcv_nxt++;
	t->flags |= TF_PEER_FIN | TF_ACK_NOW;
	tcp_timer_cancel(s, t, TCP_T_DELACK);
	/* "signal the user 'connection closing'": end of stream after the data (CASES K1). */
	if ((t->flags & TF_APP) && !(t->flags & TF_EOF_TOLD)) {
		t->flags |= TF_EOF_TOLD;
		tcp_event(s, t, CODA_TCP_EV_PEER_FIN);
	}
	switch (t->state) {
	case CODA_TCP_S_SYN_RECEIVED:
	case CODA_TCP_S_ESTABLISHED:
		tcp_set_state(s, t, TCP_EV_RCV_FIN);
		break;
	case CODA_TCP_S_FIN_WAIT_1:
		/* "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT ...; otherwise, enter the CLOSING state." */
		if (fin_acked(t)) {
			tcp_send_ack(s, t, now);
			tcp_set_state(s, t, TCP_EV_RCV_FIN_ACK);
			tcp_enter_time_wait(s, t);
			return;
		}
		tcp_set_state(s, t, TCP_EV_RCV_FIN);
		break;
	case CODA_TCP_S_FIN_WAIT_2:
		/* "Enter the TIME-WAIT state. Start the time-wait timer, turn off the other timers." */
		tcp_send_ack(s, t, now);
		tcp_set_state(s, t, TCP_EV_RCV_FIN);
		tcp_enter_time_wait(s, t);
		return;
	default:
		/* CLOSE-WAIT, CLOSING, LAST-ACK: "Remain in the ... state." (a retransmitted FIN is below RCV.NXT, see the first step) */
		t->rcv_nxt--;
		break;
	}
	tcp_output(s, t, now);
}

/* Second step: an RST at RCV.NXT ends the connection; elsewhere in the window: challenge ACK. */
static void
rst_input(struct coda_tcp_stack *s, struct tcb *t, const struct tcp_seg *seg, uint64_t now)
{
	/* RFC 5961 §3.2 / RFC 9293: "If the RST bit is set and the sequence number exactly matches the next expected sequence value (RCV.NXT), then TCP MUST reset the connection" */
	if (seg->seq != t->rcv_nxt) {
		tcp_drop(s, TCP_FD_RST_IN_WINDOW);
		challenge_ack(s, t, now);
		return;
	}
	switch (t->state) {
	case CODA_TCP_S_SYN_RECEIVED:
		/* "If this connection was initiated with a passive OPEN, then return this connection to the LISTEN state" (the listener stays; the child goes). Active: refused. */
		if (t->flags & TF_PASSIVE) {
			tcp_close_tcb(s, t, TCP_EV_RCV_RST, CODA_TCP_CLOSE_RESET, 0);
			return;
		}
		tcp_close_tcb(s, t, TCP_EV_RCV_RST, CODA_TCP_CLOSE_REFUSED, -ECONNREFUSED);
		return;
	case CODA_TCP_S_CLOSE_WAIT:
		/* Linux/CASES F11: EPIPE in CLOSE-WAIT (EOF was seen already). */
		tcp_close_tcb(s, t, TCP_EV_RCV_RST, CODA_TCP_CLOSE_RESET, -EPIPE);
		return;
	default:
		/* "any outstanding RECEIVEs and SEND should receive 'reset' responses ... enter the CLOSED state, delete the TCB" */
		/* CASES K2 [POLICY]: "All segment queues should be flushed" if so configured. */
		if (s->conf.rst_flushes_rcv && t->rcv.buf != NULL)
			t->rcv.len = 0;
		tcp_close_tcb(s, t, TCP_EV_RCV_RST, CODA_TCP_CLOSE_RESET, -ECONNRESET);
		return;
	}
}

/*
 * Validation of a segment to a synchronized TCB (or SYN-RECEIVED), one
 * function per concern in RFC 9293 §3.10.7.4 order. Each returns a verdict
 * and sends nothing: go on, or drop under a reason with an answer (none, an
 * ACK, a rate-limited challenge ACK, an RST <SEQ=SEG.ACK>, our SYN-ACK
 * again). seg_reject() carries the answer out.
 */
enum seg_answer {
	ANS_NONE,	   /* drop silently */
	ANS_ACK,	   /* <SEQ=SND.NXT><ACK=RCV.NXT>, rate limited unless it carried data */
	ANS_CHALLENGE,	   /* RFC 5961 challenge ACK, rate limited */
	ANS_RST_SEG_ACK,   /* <SEQ=SEG.ACK><CTL=RST> */
	ANS_SYN_ACK_AGAIN, /* our SYN-ACK was lost: send it again */
};

struct seg_verdict {
	bool ok;		/* go on */
	enum seg_answer answer; /* when not ok */
	unsigned int reason;	/* drop counter, when not ok */
};

#define VERDICT_OK ((struct seg_verdict){.ok = true})
#define VERDICT_DROP(why, ans) ((struct seg_verdict){.ok = false, .answer = (ans), .reason = (why)})

/* Timestamps: RFC 7323 §3.2 (none on a connection that uses them) and PAWS (§5.3 R1). */
static struct seg_verdict
check_timestamps(const struct tcb *t, const struct tcp_seg *seg, uint64_t now)
{
	if (t->ts_ok && !(seg->opts & TCP_OPT_TS) && !(seg->flags & TCP_RST) &&
	    t->state != CODA_TCP_S_SYN_RECEIVED)
		return VERDICT_DROP(TCP_FD_NO_TS, ANS_NONE);
	/* "If ... SEG.TSval < TS.Recent ... the segment is not acceptable: send an ACK, drop" */
	if (paws_reject(t, seg, now))
		return VERDICT_DROP(TCP_FD_PAWS, ANS_ACK);
	return VERDICT_OK;
}

/* First: sequence acceptability, RFC 9293 Table 6, with the J1 and G4 policies. */
static struct seg_verdict
check_sequence(const struct coda_tcp_stack *s, const struct tcb *t, const struct tcp_seg *seg)
{
	uint32_t slen = tcp_seg_len(seg);
	uint32_t wnd = coda_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;

	if (coda_seq_acceptable(seg->seq, slen, t->rcv_nxt, wnd))
		return VERDICT_OK;
	/* CASES J1 [POLICY]: a bare FIN at RCV.NXT with a zero window: the FIN needs no buffer. */
	if (wnd == 0 && s->conf.zero_window_fin && (seg->flags & TCP_FIN) &&
	    seg->payload_len == 0 && seg->seq == t->rcv_nxt)
		return VERDICT_OK;
	/* CASES G4 [POLICY]: Linux takes a segment without data at exactly RCV.NXT+RCV.WND. */
	if (s->conf.accept_at_window_edge && slen == 0 && wnd > 0 && seg->seq == t->rcv_nxt + wnd)
		return VERDICT_OK;
	/* "If an incoming segment is not acceptable, an acknowledgment should be sent in reply (unless the RST bit is set, if so drop the segment and return)" */
	return VERDICT_DROP(TCP_FD_OUT_OF_WINDOW, (seg->flags & TCP_RST) ? ANS_NONE : ANS_ACK);
}

/* Fourth: SYN. RFC 5961 §4: a challenge ACK "irrespective of the sequence number". */
static struct seg_verdict
check_syn(const struct tcb *t, const struct tcp_seg *seg)
{
	if (!(seg->flags & TCP_SYN))
		return VERDICT_OK;
	if (t->state == CODA_TCP_S_SYN_RECEIVED && (t->flags & TF_PASSIVE) && seg->seq == t->irs)
		return VERDICT_DROP(TCP_FD_SYN_SYNCHRONIZED, ANS_SYN_ACK_AGAIN);
	return VERDICT_DROP(TCP_FD_SYN_SYNCHRONIZED, ANS_CHALLENGE);
}

/* Fifth: ACK: present, and acceptable (SYN-RECEIVED: RFC 9293; otherwise RFC 5961 §5.2). */
static struct seg_verdict
check_ack(const struct tcb *t, const struct tcp_seg *seg)
{
	/* "if the ACK bit is off, drop the segment and return" */
	if (!(seg->flags & TCP_ACK))
		return VERDICT_DROP(TCP_FD_NO_ACK, ANS_NONE);
	if (t->state == CODA_TCP_S_SYN_RECEIVED) {
		/* "If SND.UNA < SEG.ACK =< SND.NXT ...; If the segment acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>" */
		if (!(coda_seq_lt(t->snd_una, seg->ack) && coda_seq_leq(seg->ack, t->snd_nxt)))
			return VERDICT_DROP(TCP_FD_SYN_RCVD_BAD_ACK, ANS_RST_SEG_ACK);
		return VERDICT_OK;
	}
	/* Acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT; otherwise "send an ACK, drop". */
	if (coda_seq_gt(seg->ack, t->snd_max))
		return VERDICT_DROP(TCP_FD_ACK_UNSENT, ANS_CHALLENGE);
	if (coda_seq_lt(seg->ack, t->snd_una - (t->max_snd_wnd ? t->max_snd_wnd : 65535)))
		return VERDICT_DROP(TCP_FD_ACK_TOO_OLD, ANS_CHALLENGE);
	return VERDICT_OK;
}

/* Carry out a rejection: count it, send its answer. */
static void
seg_reject(struct coda_tcp_stack *s, struct tcb *t, const struct tcp_seg *seg,
	   struct seg_verdict v, uint64_t now)
{
	tcp_drop(s, v.reason);
	switch (v.answer) {
	case ANS_ACK:
		oow_ack(s, t, seg, now);
		break;
	case ANS_CHALLENGE:
		challenge_ack(s, t, now);
		break;
	case ANS_RST_SEG_ACK:
		tcp_send_raw(s, &t->key, seg->ack, 0, TCP_RST, 0, false, 0, 0);
		break;
	case ANS_SYN_ACK_AGAIN:
		t->snd_nxt = t->iss;
		tcp_output(s, t, now);
		break;
	default:
		break;
	}
}

/* SYN-RECEIVED and an acceptable ACK: ESTABLISHED, then to the listener's accept queue. */
static void
syn_received_acked(struct coda_tcp_stack *s, struct tcb *t, const struct tcp_seg *seg)
{
	/* An RTT sample from the SYN-ACK, unless it was retransmitted (Karn). */
	if (t->ts_ok && (seg->opts & TCP_OPT_TS) && seg->tsecr != 0)
		tcp_rtt_sample(s, t, (uint32_t)(tcp_tsval(t, s->now) - seg->tsecr));
	else if (t->backoff == 0 && t->rtx_start != 0)
		tcp_rtt_sample(s, t, (uint32_t)(s->now - t->rtx_start));
	t->snd_una = seg->ack;
	t->snd_data = seg->ack;
	t->snd_wnd = seg_wnd(t, seg);
	t->max_snd_wnd = t->snd_wnd;
	t->snd_wl1 = seg->seq;
	t->snd_wl2 = seg->ack;
	t->backoff = 0;
	t->rtx_start = 0;
	tcp_timer_cancel(s, t, TCP_T_RTX);
	tcp_set_state(s, t, TCP_EV_RCV_ACK_OF_SYN);
	if (t->parent != NIL) {
		struct tcb *l = &s->tcb[t->parent];

		t->flags |= TF_ACCEPTQ;
		t->aq_next = NIL;
		if (l->aq_tail == NIL)
			l->aq_head = tcp_idx(s, t);
		else
			s->tcb[l->aq_tail].aq_next = tcp_idx(s, t);
		l->aq_tail = tcp_idx(s, t);
		tcp_event(s, l, CODA_TCP_EV_ACCEPTED);
	} else if (t->flags & TF_APP) {
		tcp_event(s, t, CODA_TCP_EV_CONNECTED);
	}
}

/*
 * A segment for a TCB: validate (timestamps, sequence, RST, SYN, ACK),
 * then act: the ACK's effects, the closing states' transitions, the text,
 * the FIN. Each transition is an event of the table (tcp_set_state()).
 */
void
tcp_input_tcb(struct coda_tcp_stack *s, struct tcb *t, struct tcp_seg *seg, uint64_t now)
{
	struct seg_verdict v;

	if (t->state == CODA_TCP_S_SYN_SENT) {
		syn_sent_input(s, t, seg, now);
		return;
	}
	v = check_timestamps(t, seg, now);
	if (v.ok)
		v = check_sequence(s, t, seg);
	if (!v.ok) {
		seg_reject(s, t, seg, v, now);
		return;
	}
	/* Second: RST (RFC 5961: exact, or a challenge ACK; never PAWS). */
	if (seg->flags & TCP_RST) {
		rst_input(s, t, seg, now);
		return;
	}
	v = check_syn(t, seg);
	if (v.ok)
		v = check_ack(t, seg);
	if (!v.ok) {
		seg_reject(s, t, seg, v, now);
		return;
	}
	/* Act on the ACK. */
	if (t->state == CODA_TCP_S_SYN_RECEIVED) {
		syn_received_acked(s, t, seg);
	} else {
		if (coda_seq_gt(seg->ack, t->snd_una)) {
			ack_advance(s, t, seg, now);
		} else if (seg->ack == t->snd_una && seg->payload_len == 0 &&
			   !(seg->flags & TCP_FIN) && t->snd_una != t->snd_max &&
			   seg_wnd(t, seg) == t->snd_wnd) {
			if (cc_on_ack(t, 0, true, seg->ack))
				tcp_retransmit_one(s, t, now);
		}
		window_update(t, seg);
	}
	ts_update(t, seg, now);
	/* The closing states' ACK processing. */
	switch (t->state) {
	case CODA_TCP_S_FIN_WAIT_1:
		/* "if the FIN segment is now acknowledged, then enter FIN-WAIT-2 and continue processing" */
		if (fin_acked(t)) {
			tcp_set_state(s, t, TCP_EV_RCV_ACK_OF_FIN);
			if (t->flags & TF_ORPHAN)
				tcp_timer_arm(s, t, TCP_T_FW2, now + s->conf.fin_wait2_timeout_ms);
		}
		break;
	case CODA_TCP_S_CLOSING:
		/* "if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise, ignore the segment" */
		if (fin_acked(t)) {
			tcp_set_state(s, t, TCP_EV_RCV_ACK_OF_FIN);
			tcp_enter_time_wait(s, t);
			return;
		}
		tcp_output(s, t, now); /* data and FIN the window now lets out */
		return;
	case CODA_TCP_S_LAST_ACK:
		/* "The only thing that can arrive in this state is an acknowledgment of our FIN. If our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return." */
		if (fin_acked(t)) {
			tcp_close_tcb(s, t, TCP_EV_RCV_ACK_OF_FIN, CODA_TCP_CLOSE_NORMAL, 0);
			return;
		}
		/* CASES B6 [POLICY]: a duplicate ACK "can be ignored"; smoltcp challenge-ACKs it. */
		if (s->conf.last_ack_dup_ack_reply && seg->ack == t->snd_una &&
		    seg->payload_len == 0 && !(seg->flags & TCP_FIN))
			challenge_ack(s, t, now);
		tcp_output(s, t, now); /* queued data and the FIN, as the window opens */
		return;
	default:
		break;
	}
	/* Seventh: the text; then eighth: the FIN (only once everything before it is in). */
	if (!text_input(s, t, seg, now))
		return;
	if ((seg->flags & TCP_FIN) && seg->seq + seg->payload_len == t->rcv_nxt &&
	    !(t->flags & TF_PEER_FIN)) {
		fin_input(s, t, now);
		return;
	}
	tcp_output(s, t, now);
}

/* --- entry point ------------------------------------------------------------------ */

/* @p hint: @p k's value from a bulk lookup still valid, CODA_CONNTAB_NONE for a miss; NULL: look up. */
static void
segment_input(struct coda_tcp_stack *s, const struct coda_conntab_key *k, const void *tcp,
	      uint32_t len, uint64_t now, const uint32_t *hint)
{
	struct tcp_seg seg;
	enum tcp_drop rc;
	uint32_t v;
	bool found;
	int l;

	s->st.rx_segments++;
	rc = tcp_seg_parse(tcp, len, &seg);
	if (rc != TCP_DROP_NONE) {
		tcp_drop(s, (unsigned int)rc);
		return;
	}
	if (hint != NULL) {
		v = *hint;
		found = v != CODA_CONNTAB_NONE;
	} else {
		found = coda_conntab_lookup(s->ct, k, &v) == 0;
	}
	if (found) {
		if (CODA_CONNTAB_IS_TW(v)) {
			tw_input(s, k, v, &seg, now);
			return;
		}
		s->tcb[v].last_rx = now;
		tcp_input_tcb(s, &s->tcb[v], &seg, now);
		return;
	}
	l = tcp_listener_find(s, k);
	if (l < 0) {
		/* CLOSED (no TCB), RFC 9293 §3.10.7.1: "An incoming segment containing a RST is discarded." */
		tcp_drop(s, (seg.flags & TCP_RST) ? TCP_FD_RST_NO_TCB : TCP_FD_NO_TCB);
		tcp_send_rst_for(s, k, &seg);
		return;
	}
	/* LISTEN, RFC 9293 §3.10.7.2. First: "An incoming RST segment could not be valid ... it should be ignored." */
	if (seg.flags & TCP_RST) {
		tcp_drop(s, TCP_FD_LISTEN_RST);
		return;
	}
	/* Second: "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state. An acceptable reset segment should be formed for any arriving ACK-bearing segment. The RST should be formatted as follows: <SEQ=SEG.ACK><CTL=RST>" */
	if (seg.flags & TCP_ACK) {
		tcp_drop(s, TCP_FD_LISTEN_ACK);
		tcp_send_raw(s, k, seg.ack, 0, TCP_RST, 0, false, 0, 0);
		return;
	}
	/* Third: SYN. */
	if (seg.flags & TCP_SYN) {
		(void)passive_open(s, &s->tcb[l], k, &seg, now, tcp_isn(s, k, now));
		return;
	}
	/* Fourth: "Any other control or text-bearing segment (not containing SYN) must have an ACK and thus would have been discarded by the ACK processing." */
	tcp_drop(s, TCP_FD_LISTEN_OTHER);
}

void
coda_tcp_input(struct coda_tcp_stack *s, const struct coda_conntab_key *k, const void *tcp,
	       uint32_t len, uint64_t now)
{
	bool outer = !s->in_input;

	tcp_catch_up(s, now);
	/* The application hears about this segment once it is processed (tcp_event()). */
	s->in_input = true;
	segment_input(s, k, tcp, len, now, NULL);
	if (outer) {
		s->in_input = false;
		tcp_event_flush(s);
	}
}

/* Prefetch TCB idx, all its lines, and the state words of its timers. */
static inline void
prefetch_tcb(const struct coda_tcp_stack *s, uint32_t idx)
{
	const char *p = (const char *)&s->tcb[idx];

	for (size_t o = 0; o < sizeof(struct tcb); o += 64)
		coda_prefetch(p + o);
	coda_prefetch(p + sizeof(struct tcb) - 1);
	coda_wheel_prefetch(s->wheel, idx * TCP_TIMERS);
}

/*
 * A burst: one pipelined lookup of every key (DESIGN.md §3), then the
 * segments in order, each one's events after it. A segment (or an
 * application callback) that changes the table (a new connection,
 * TIME-WAIT, a close) makes the later values stale: from then on each
 * segment is looked up alone, as coda_tcp_input() does.
 */
void
coda_tcp_input_burst(struct coda_tcp_stack *s, const struct coda_tcp_rx *rx, unsigned int n,
		     uint64_t now)
{
	const struct coda_conntab_key *keys[CODA_CONNTAB_BURST_MAX];
	uint32_t values[CODA_CONNTAB_BURST_MAX];
	bool outer = !s->in_input;

	tcp_catch_up(s, now);
	while (n > 0) {
		unsigned int m = n < CODA_CONNTAB_BURST_MAX ? n : CODA_CONNTAB_BURST_MAX;
		uint64_t hits, gen;

		for (unsigned int i = 0; i < m; i++)
			keys[i] = rx[i].key;
		(void)coda_conntab_lookup_bulk(s->ct, keys, m, values, &hits);
		/*
		 * Every connection the burst hit: its TCB and its timers'
		 * state words are on their way while the segments before it
		 * are processed (TIME-WAIT entries came in with the lookup).
		 */
		for (uint64_t h = hits; h != 0; h &= h - 1) {
			uint32_t v = values[__builtin_ctzll(h)];

			if (!CODA_CONNTAB_IS_TW(v))
				prefetch_tcb(s, v);
		}
		gen = coda_conntab_generation(s->ct);
		for (unsigned int i = 0; i < m; i++) {
			bool fresh = coda_conntab_generation(s->ct) == gen;

			/* Each segment's events before the next, as with coda_tcp_input(). */
			s->in_input = true;
			segment_input(s, rx[i].key, rx[i].tcp, rx[i].len, now,
				      fresh ? &values[i] : NULL);
			if (outer) {
				s->in_input = false;
				tcp_event_flush(s);
			}
		}
		rx += m;
		n -= m;
	}
}
