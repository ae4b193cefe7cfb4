/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and sending segments: the header and its options (MSS, window
 * scale and SACK-permitted on SYNs; timestamps on every segment once
 * negotiated, RFC 7323 §3.2, RSTs included), the send loop of a TCB
 * (SYN, data within the peer's window and the congestion window, FIN
 * after the last byte), ACKs and RSTs.
 */

#include <string.h>

#include "tcp_private.h"

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* What one segment carries besides its flags and numbers. */
struct seg_opts {
	uint16_t mss;	  /* SYN: MSS option, 0 for none */
	int wscale;	  /* SYN: window scale option, -1 for none */
	bool sackok;	  /* SYN: SACK-permitted */
	bool ts;	  /* Timestamps option */
	uint32_t tsval, tsecr;
};

/* Write the header (and options) for @p k into s->out; return its length. */
static uint32_t
build_header(struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint32_t seq,
	     uint32_t ack, uint8_t flags, uint16_t wnd, const struct seg_opts *o)
{
	uint8_t *h = s->out, *p = h + 20;
	uint32_t hl;

	memset(h, 0, 20);
	memcpy(h, &k->lport, 2); /* network byte order already */
	memcpy(h + 2, &k->rport, 2);
	put32(h + 4, seq);
	put32(h + 8, ack);
	h[13] = flags;
	put16(h + 14, wnd);
	if (o->mss != 0) {
		p[0] = TCP_OPTKIND_MSS;
		p[1] = TCP_OPTLEN_MSS;
		put16(p + 2, o->mss);
		p += 4;
	}
	if (o->sackok) {
		p[0] = TCP_OPTKIND_NOP;
		p[1] = TCP_OPTKIND_NOP;
		p[2] = TCP_OPTKIND_SACKOK;
		p[3] = TCP_OPTLEN_SACKOK;
		p += 4;
	}
	if (o->ts) {
		p[0] = TCP_OPTKIND_NOP;
		p[1] = TCP_OPTKIND_NOP;
		p[2] = TCP_OPTKIND_TS;
		p[3] = TCP_OPTLEN_TS;
		put32(p + 4, o->tsval);
		put32(p + 8, o->tsecr);
		p += 12;
	}
	if (o->wscale >= 0) {
		p[0] = TCP_OPTKIND_NOP;
		p[1] = TCP_OPTKIND_WS;
		p[2] = TCP_OPTLEN_WS;
		p[3] = (uint8_t)o->wscale;
		p += 4;
	}
	hl = (uint32_t)(p - h);
	h[12] = (uint8_t)((hl / 4) << 4);
	return hl;
}

static void
emit(struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint32_t len, uint8_t flags)
{
	s->st.tx_segments++;
	if (flags & TCP_RST)
		s->st.tx_rst++;
	s->tx(s->tx_arg, k, s->out, len);
}

uint32_t
tcp_tsval(const struct tcb *t, uint64_t now)
{
	return (uint32_t)now + t->ts_offset;
}

/*
 * The receive window we can offer: the free room of the receive buffer,
 * never moving the right edge we advertised back to the left (RFC 9293
 * §3.8.6.2.2, do not shrink the window).
 */
uint32_t
tcp_rcv_wnd(const struct tcb *t)
{
	uint32_t room = t->rcv.buf != NULL ? ring_free(&t->rcv) : 0;
	uint32_t adv = coda_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t max = UINT32_C(65535) << (t->ws_ok ? t->rcv_wscale : 0);

	/* What the window field can say, rounded down to the scale's unit. */
	if (room > max)
		room = max;
	room &= ~((UINT32_C(1) << (t->ws_ok ? t->rcv_wscale : 0)) - 1);
	return room > adv ? room : adv;
}

/* The window field of a (non-SYN) segment of t now: tcp_rcv_wnd() scaled down. */
uint16_t
tcp_wnd_value(const struct tcb *t)
{
	uint32_t f = tcp_rcv_wnd(t) >> (t->ws_ok ? t->rcv_wscale : 0);

	return (uint16_t)(f > 65535 ? 65535 : f);
}

/* The window field for a segment of t now, and the new right edge it advertises. */
static uint16_t
wnd_field(struct tcb *t)
{
	uint8_t sh = t->ws_ok ? t->rcv_wscale : 0;
	uint32_t f = tcp_wnd_value(t);

	if (t->state != CODA_TCP_S_SYN_SENT && t->state != CODA_TCP_S_CLOSED &&
	    coda_seq_gt(t->rcv_nxt + (f << sh), t->rcv_adv))
		t->rcv_adv = t->rcv_nxt + (f << sh);
	return (uint16_t)f;
}

void
tcp_send_raw(struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint32_t seq,
	     uint32_t ack, uint8_t flags, uint16_t wnd, bool ts, uint32_t tsval, uint32_t tsecr)
{
	struct seg_opts o = {.wscale = -1, .ts = ts, .tsval = tsval, .tsecr = tsecr};
	uint32_t hl = build_header(s, k, seq, ack, flags, wnd, &o);

	emit(s, k, hl, flags);
}

/*
 * RST for a segment that has no connection, RFC 9293 §3.10.7.1: "If the
 * ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 * <CTL=RST,ACK>. If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>." An RST is
 * never answered.
 */
void
tcp_send_rst_for(struct coda_tcp_stack *s, const struct coda_conntab_key *k,
		 const struct tcp_seg *seg)
{
	if (seg->flags & TCP_RST)
		return;
	if (seg->flags & TCP_ACK)
		tcp_send_raw(s, k, seg->ack, 0, TCP_RST, 0, false, 0, 0);
	else
		tcp_send_raw(s, k, 0, seg->seq + tcp_seg_len(seg), TCP_RST | TCP_ACK, 0, false, 0,
			     0);
}

/* RST of a connection we abort: <SEQ=SND.NXT><CTL=RST>, with ACK = RCV.NXT, and TSopt if negotiated. */
void
tcp_send_rst_tcb(struct coda_tcp_stack *s, struct tcb *t, uint64_t now, bool with_ack)
{
	/* SND.MAX for the same reason as tcp_send_ack(): the peer's RCV.NXT, RFC 5961's exact match. */
	tcp_send_raw(s, &t->key, tcp_snd_max(t), with_ack ? t->rcv_nxt : 0,
		     (uint8_t)(TCP_RST | (with_ack ? TCP_ACK : 0)), 0, t->ts_ok, tcp_tsval(t, now),
		     t->ts_recent);
}

/* Send one segment of t: [seq, seq + len) of data (from the send ring), with flags. */
static void
send_seg(struct coda_tcp_stack *s, struct tcb *t, uint32_t seq, uint32_t len, uint8_t flags,
	 uint64_t now)
{
	struct seg_opts o = {.wscale = -1};
	uint32_t hl;
	uint16_t wnd;

	if (flags & TCP_SYN) {
		o.mss = tcp_mss_local(s, t->key.family);
		if (t->ws_ok)
			o.wscale = t->rcv_wscale;
		o.sackok = t->sack_ok;
	}
	o.ts = t->ts_ok;
	o.tsval = tcp_tsval(t, now);
	o.tsecr = (flags & TCP_ACK) ? t->ts_recent : 0;
	/* The window field of a SYN is never scaled (RFC 7323 §2.2). */
	if (flags & TCP_SYN) {
		uint32_t w = t->rcv.buf != NULL ? ring_free(&t->rcv) : s->conf.rcv_buf;

		wnd = (uint16_t)(w > 65535 ? 65535 : w);
		if (t->state == CODA_TCP_S_SYN_RECEIVED)
			t->rcv_adv = t->rcv_nxt + wnd;
	} else {
		wnd = wnd_field(t);
	}
	hl = build_header(s, &t->key, seq, (flags & TCP_ACK) ? t->rcv_nxt : 0, flags, wnd, &o);
	if (len > 0)
		ring_get(&t->snd, seq - t->snd_data, s->out + hl, len);
	if (flags & TCP_ACK) {
		t->flags &= ~TF_ACK_NOW;
		tcp_timer_cancel(s, t, TCP_T_DELACK);
	}
	emit(s, &t->key, hl + len, flags);
}

/*
 * A pure ACK carries the highest sequence number sent (SND.MAX), not
 * SND.NXT: after a retransmission timeout SND.NXT goes back to SND.UNA
 * while the peer may have everything up to SND.MAX already, and would
 * judge an ACK numbered below its RCV.NXT unacceptable and drop it, its
 * acknowledgment with it (both sides going back at once would then never
 * hear each other).
 */
void
tcp_send_ack(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	send_seg(s, t, tcp_snd_max(t), 0, TCP_ACK, now);
}

/* Send the segment at SND.UNA again (fast retransmit, NewReno partial ACK); SND.NXT stays. */
void
tcp_retransmit_one(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	uint32_t seq = t->snd_una, off, avail, n;
	uint8_t flags = TCP_ACK;

	if (t->snd.buf == NULL || coda_seq_lt(seq, t->snd_data))
		return;
	off = seq - t->snd_data;
	avail = off <= t->snd.len ? t->snd.len - off : 0;
	/* Only what was sent before: new data waits for the window like any (RFC 5681 §3.2). */
	if (avail > t->snd_max - seq)
		avail = t->snd_max - seq;
	n = avail < t->mss ? avail : t->mss;
	if ((t->flags & TF_FIN_SENT) && seq + n == t->snd_fin)
		flags |= TCP_FIN;
	if (n == 0 && !(flags & TCP_FIN))
		return;
	t->rtt_time = 0; /* Karn */
	s->st.retransmits++;
	send_seg(s, t, seq, n, flags, now);
}

/* Arm the retransmission timer if something is in flight and it is not running. */
static void
rtx_arm(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	if (!tcp_timer_pending(s, t, TCP_T_RTX) || (t->flags & TF_PERSIST)) {
		t->flags &= ~TF_PERSIST;
		tcp_timer_arm(s, t, TCP_T_RTX, now + t->rto);
	}
}

/*
 * Send what can be sent: the SYN (or SYN-ACK) if it is due, data within
 * min(SND.WND, cwnd) in MSS-sized segments, our FIN once the application
 * is done and every byte has gone, and an ACK if one is owed and nothing
 * else carried it.
 */
void
tcp_output(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	uint8_t flags;
	uint32_t seq, off, avail, wnd, usable, n;
	bool fin;

	s->now = now;
	if (t->state == CODA_TCP_S_SYN_SENT || t->state == CODA_TCP_S_SYN_RECEIVED) {
		if (t->snd_nxt == t->iss) {
			flags = t->state == CODA_TCP_S_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
			send_seg(s, t, t->iss, 0, flags, now);
			t->snd_nxt = t->iss + 1;
			if (coda_seq_gt(t->snd_nxt, t->snd_max))
				t->snd_max = t->snd_nxt;
			rtx_arm(s, t, now);
			return;
		}
		if (t->state == CODA_TCP_S_SYN_SENT)
			return;
	}
	if (t->snd.buf == NULL) {
		if (t->flags & TF_ACK_NOW)
			tcp_send_ack(s, t, now);
		return;
	}
	for (;;) {
		seq = t->snd_nxt;
		off = seq - t->snd_data;
		avail = off <= t->snd.len ? t->snd.len - off : 0;
		wnd = t->snd_wnd < t->cwnd ? t->snd_wnd : t->cwnd;
		usable = coda_seq_lt(seq, t->snd_una + wnd) ? t->snd_una + wnd - seq : 0;
		n = avail < usable ? avail : usable;
		if (n > t->mss)
			n = t->mss;
		/*
		 * Our FIN goes with (or after) the last byte: "Queue this until
		 * all preceding SENDs have been segmentized" (RFC 9293 §3.10.4).
		 * It needs no window of its own, but waits while data is held
		 * back by one (CASES A3).
		 */
		fin = (t->flags & TF_FIN_QUEUED) && n == avail && off <= t->snd.len &&
		      (t->state == CODA_TCP_S_FIN_WAIT_1 || t->state == CODA_TCP_S_LAST_ACK ||
		       t->state == CODA_TCP_S_CLOSING) &&
		      (!(t->flags & TF_FIN_SENT) || coda_seq_leq(seq + n, t->snd_fin));
		if (n == 0 && !fin)
			break;
		flags = TCP_ACK;
		if (n > 0 && n == avail)
			flags |= TCP_PSH;
		if (fin)
			flags |= TCP_FIN;
		if (n > 0 && t->rtt_time == 0 && seq == t->snd_max) {
			t->rtt_seq = seq;
			t->rtt_time = now;
		}
		if (t->snd_una == t->snd_nxt && t->rtx_start == 0)
			t->rtx_start = now;
		send_seg(s, t, seq, n, flags, now);
		t->snd_nxt = seq + n + fin;
		if (fin && !(t->flags & TF_FIN_SENT)) {
			t->flags |= TF_FIN_SENT;
			t->snd_fin = seq + n;
		}
		if (coda_seq_gt(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
		rtx_arm(s, t, now);
		if (fin)
			break;
	}
	/* Zero window with data waiting and nothing in flight: probe it (RFC 9293 §3.8.6.1). */
	if (t->snd_wnd == 0 && t->snd_una == t->snd_nxt && t->snd_nxt - t->snd_data < t->snd.len &&
	    !tcp_timer_pending(s, t, TCP_T_RTX)) {
		t->flags |= TF_PERSIST;
		tcp_timer_arm(s, t, TCP_T_RTX, now + t->rto);
	}
	if (t->flags & TF_ACK_NOW)
		tcp_send_ack(s, t, now);
}

/* The zero-window probe: one byte beyond the window (RFC 9293 §3.8.6.1). */
void tcp_send_probe(struct coda_tcp_stack *s, struct tcb *t, uint64_t now);

void
tcp_send_probe(struct coda_tcp_stack *s, struct tcb *t, uint64_t now)
{
	uint32_t off;

	/* The probe byte is data like any other: sent, counted in SND.NXT and SND.MAX, ACKed. */
	t->snd_nxt = t->snd_una;
	off = t->snd_nxt - t->snd_data;
	if (off < t->snd.len) {
		if (t->rtx_start == 0)
			t->rtx_start = now; /* the user timeout counts from the first unanswered byte */
		send_seg(s, t, t->snd_nxt, 1, TCP_ACK, now);
		t->snd_nxt++;
		if (coda_seq_gt(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
	} else {
		tcp_send_ack(s, t, now);
	}
}
