/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TIME-WAIT's decision function. tcp_timewait.h gives the order of the
 * checks, the policies and why; here each decision point quotes the RFC
 * sentence it implements, from the texts in ../shared/rfc (RFC 9293, 1122,
 * 1337, and RFC 1323 for RFC 7323, which keeps its rules R1 to R3 and adds
 * the RST exemption of R1, noted where it applies). RFC 5961 is quoted as
 * RFC 9293 quotes it; RFC 6191 §2 as published.
 *
 * Shape: guards first (window, timestamps, segment length), then one
 * branch per case, each ending in one of three small helpers that fill
 * the action: drop(), ack() (through the rate limit) or reopen().
 */

/* First, so that the build proves the private header compiles on its own. */
#include "tcp_timewait.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coda_seq.h"

static const char *const reason_names[TCP_TW_REASON__COUNT] = {
#define TCP_TW_REASON(NAME, name, desc) [TCP_TW_REASON_##NAME] = #name,
#include "tcp_tw_reason.def"
#undef TCP_TW_REASON
};

static const char *const reason_descs[TCP_TW_REASON__COUNT] = {
#define TCP_TW_REASON(NAME, name, desc) [TCP_TW_REASON_##NAME] = desc,
#include "tcp_tw_reason.def"
#undef TCP_TW_REASON
};

static const char *const verdict_names[TCP_TW_VERDICT__COUNT] = {
	[TCP_TW_DROP] = "drop",
	[TCP_TW_ACK] = "ack",
	[TCP_TW_REOPEN] = "reopen",
};

const char *
tcp_tw_reason_name(enum tcp_tw_reason r)
{
	/* Through unsigned int: an out-of-range negative value fails the test too. */
	if ((unsigned int)r >= TCP_TW_REASON__COUNT)
		return NULL;
	return reason_names[r];
}

const char *
tcp_tw_reason_desc(enum tcp_tw_reason r)
{
	if ((unsigned int)r >= TCP_TW_REASON__COUNT)
		return NULL;
	return reason_descs[r];
}

const char *
tcp_tw_verdict_name(enum tcp_tw_verdict v)
{
	if ((unsigned int)v >= TCP_TW_VERDICT__COUNT)
		return NULL;
	return verdict_names[v];
}

/* Send nothing. */
static void
drop(struct tcp_tw_action *out, enum tcp_tw_reason reason)
{
	out->verdict = TCP_TW_DROP;
	out->reason = reason;
}

/*
 * Send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the one segment TIME-WAIT ever
 * sends, unless @p limited and the entry sent a limited ACK less than
 * ack_interval_ms ago. last_ack_ms 0 reads as "never" (tcp_timewait.h).
 */
static void
ack(const struct tcp_tw_conf *c, struct coda_conntab_tw *tw, uint64_t now,
    struct tcp_tw_action *out, enum tcp_tw_reason reason, bool limited)
{
	out->reason = reason;
	if (limited && c->ack_interval_ms != 0) {
		/*
		 * RFC 9293 §3.10.7.4: "Note that RFC 5961 and Errata ID 4772
		 * [99] contain additional considerations for ACK throttling
		 * in an implementation." One per interval per entry (DESIGN.md
		 * §5). A last_ack_ms after now (a clock that went back) lets
		 * the ACK through: the difference wraps to a large value.
		 */
		if (tw->last_ack_ms != 0 && now - tw->last_ack_ms < c->ack_interval_ms) {
			out->verdict = TCP_TW_DROP;
			out->rate_limited = true;
			return;
		}
		if (tw->last_ack_ms != now) {
			tw->last_ack_ms = now;
			out->update = true;
		}
	}
	out->verdict = TCP_TW_ACK;
	out->ack_seq = tw->snd_nxt;
	out->ack_ack = tw->rcv_nxt;
	out->ack_wnd = tw->rcv_wnd;
	if (tw->ts_on) {
		/* RFC 7323 §3.2: once negotiated, every non-RST segment carries TSopt. */
		out->ack_ts = true;
		out->ack_tsecr = tw->ts_recent;
	}
}

/* Answer a SYN that did not reopen: challenge ACK or silence, per the policy. */
static void
refuse_syn(const struct tcp_tw_conf *c, struct coda_conntab_tw *tw, uint64_t now,
	   struct tcp_tw_action *out, enum tcp_tw_reason reason)
{
	if (c->syn_challenge_ack) {
		/*
		 * RFC 9293 fourth step: "RFC 5961 recommends that in these
		 * synchronized states, if the SYN bit is set, irrespective of
		 * the sequence number, TCP endpoints MUST send a "challenge
		 * ACK" to the remote peer". Rate-limited: "RFC 5961 and
		 * Errata ID 4772 [99] contain additional ACK throttling notes".
		 */
		ack(c, tw, now, out, reason, true);
		return;
	}
	/*
	 * RFC 6191 §2: "Otherwise, silently drop the incoming SYN segment,
	 * thus leaving the previous incarnation of the connection in the
	 * TIME-WAIT state."
	 */
	drop(out, reason);
}

/*
 * Whether the SYN shows a new incarnation (RFC 6191 §2). @p ts_valid: the
 * entry used timestamps and TS.Recent is still valid; the SYN passed PAWS.
 * Sets *@p use_ts when the judgement assumed that the new incarnation uses
 * timestamps.
 */
static bool
syn_is_new(const struct tcp_tw_conf *c, const struct coda_conntab_tw *tw, const struct tcp_seg *seg,
	   bool ts_valid, bool *use_ts)
{
	/* "If TCP Timestamps would be enabled for the new incarnation of the connection". */
	const bool ts_new = (seg->opts & TCP_OPT_TS) != 0 && c->timestamps;
	/*
	 * "the Sequence Number of the incoming SYN segment is greater than
	 * the last sequence number seen on the previous incarnation": the
	 * last one seen is the FIN's, RCV.NXT - 1. coda asks for more than
	 * RCV.NXT, one stricter, as CASES.md H8 pins (a SYN at RCV.NXT is
	 * refused) and Linux and FreeBSD do.
	 */
	const bool seq_new = coda_seq_gt(seg->seq, tw->rcv_nxt);

	*use_ts = false;
	if (tw->ts_on && ts_valid) {
		/* "If the previous incarnation of the connection used Timestamps, then:" */
		if (!ts_new)
			/*
			 * "If TCP Timestamps would not be enabled for the new
			 * incarnation of the connection, but the Sequence
			 * Number of the incoming SYN segment is greater than
			 * the last sequence number seen ..., honor".
			 */
			return seq_new;
		*use_ts = true;
		/*
		 * "and the timestamp contained in the incoming SYN segment is
		 * greater than the last timestamp seen on the previous
		 * incarnation ..., honor the connection request", and "is
		 * equal to the last timestamp seen ..., and the Sequence Number
		 * of the incoming SYN segment is greater than the last
		 * sequence number seen".
		 */
		return coda_seq_gt(seg->tsval, tw->ts_recent) ||
		       (seg->tsval == tw->ts_recent && seq_new);
	}
	if (!tw->ts_on && ts_new) {
		/*
		 * "If the previous incarnation of the connection did not use
		 * Timestamps, then: If TCP Timestamps would be enabled for the
		 * new incarnation of the connection, honor the incoming
		 * connection request": old segments of that incarnation carry
		 * no TSopt, and the new one drops those (RFC 7323 §3.2).
		 */
		*use_ts = true;
		return true;
	}
	/*
	 * The entry used timestamps but TS.Recent is no longer valid (24
	 * days, never within 2 MSL in practice): the timestamps prove
	 * nothing either way, so judge by the sequence number alone, as
	 * RFC 1122 4.2.2.13 and RFC 6191's timestamp-less branches do.
	 */
	return seq_new;
}

void
tcp_tw_input(const struct tcp_tw_conf *c, struct coda_conntab_tw *tw, const struct tcp_seg *seg,
	     uint64_t now_ms, struct tcp_tw_action *out)
{
	const uint8_t fl = seg->flags;
	const uint32_t rcv_nxt = tw->rcv_nxt;
	const unsigned int wscale =
		tw->rcv_wscale <= TCP_WSCALE_MAX ? tw->rcv_wscale : TCP_WSCALE_MAX;
	/* RCV.WND in bytes: the entry keeps the window field, RCV.WND >> Rcv.Wind.Shift. */
	const uint32_t rcv_wnd = (uint32_t)tw->rcv_wnd << wscale;
	const uint32_t seg_len = tcp_seg_len(seg);
	const bool has_ts = (seg->opts & TCP_OPT_TS) != 0;
	/* Text or a FIN: the peer retransmits it until ACKed, so its ACK is never limited. */
	const bool occupies = seg->payload_len != 0 || (fl & TCP_FIN) != 0;
	uint64_t ts_age;
	bool ts_valid, paws_fail, acceptable, use_ts;

	memset(out, 0, sizeof(*out));

	/*
	 * RFC 1323 §4.2.3: "We therefore require that an implementation of
	 * PAWS include a mechanism to "invalidate" the TS.Recent value when a
	 * connection is idle for more than 24 days." TS.Recent's age counts
	 * from when it was last set (ts_recent_ms).
	 */
	ts_age = now_ms >= tw->ts_recent_ms ? now_ms - tw->ts_recent_ms : 0;
	ts_valid = tw->ts_on && ts_age <= TCP_TW_PAWS_IDLE_MS;
	/*
	 * RFC 1323 R1: "If there is a Timestamps option in the arriving
	 * segment and SEG.TSval < TS.Recent and if TS.Recent is valid (see
	 * later discussion), then treat the arriving segment as not
	 * acceptable". Timestamps compare modulo 2^32 like sequence numbers.
	 */
	paws_fail = ts_valid && has_ts && coda_seq_lt(seg->tsval, tw->ts_recent);

	if (fl & TCP_RST) {
		/*
		 * RFC 9293 first step: "If an incoming segment is not
		 * acceptable, an acknowledgment should be sent in reply
		 * (unless the RST bit is set, if so drop the segment and
		 * return)". No PAWS: RFC 7323 (not in ../shared/rfc, so not
		 * quoted) recommends that an RST be acceptable regardless of
		 * its timestamp, and its R1 leaves RST segments out.
		 */
		if (seg->seq == rcv_nxt) {
			/*
			 * RFC 5961 check 2, RFC 9293 second step: "If the RST
			 * bit is set and the sequence number exactly matches
			 * the next expected sequence number (RCV.NXT), then TCP
			 * endpoints MUST reset the connection in the manner
			 * prescribed below according to the connection state."
			 */
			if (c->rfc1337) {
				/*
				 * RFC 1337 §3: "(F1) Ignore RST segments in
				 * TIME-WAIT state. ... since allowing time for
				 * old duplicate segments to die is one of
				 * TIME-WAIT state's functions, the state should
				 * not be truncated by a RST segment."
				 */
				drop(out, TCP_TW_REASON_RST_IGNORED);
				return;
			}
			/*
			 * RFC 9293 second step, TIME-WAIT STATE: "If the RST
			 * bit is set, then enter the CLOSED state, delete the
			 * TCB, and return."
			 */
			out->kill = true;
			drop(out, TCP_TW_REASON_RST_KILL);
			return;
		}
		if (coda_seq_in_window(seg->seq, rcv_nxt, rcv_wnd)) {
			/*
			 * RFC 5961 check 3 would send a challenge ACK ("TCP
			 * endpoints MUST send an acknowledgment"). Not in
			 * TIME-WAIT (CASES.md H4, FreeBSD, Linux): the peer's
			 * sequence space ended at its FIN, so any RST it
			 * still sends carries exactly RCV.NXT.
			 */
			drop(out, TCP_TW_REASON_RST_IN_WINDOW);
			return;
		}
		/*
		 * RFC 5961 check 1: "If the RST bit is set and the sequence
		 * number is outside the current receive window, silently drop
		 * the segment."
		 */
		drop(out, TCP_TW_REASON_RST_OUT_OF_WINDOW);
		return;
	}

	if (fl & TCP_SYN) {
		/*
		 * RFC 9293 first step: "Note that for the TIME-WAIT state,
		 * there is an improved algorithm described in [40] for
		 * handling incoming SYN segments that utilizes timestamps
		 * rather than relying on the sequence number check described
		 * here." Fourth step, TIME-WAIT: "new connections can be
		 * accepted if the Timestamp Option is used and meets
		 * expectations (per [40])."
		 */
		if (fl & TCP_ACK) {
			/* A SYN-ACK requests no connection; RFC 5961 §4 applies as is. */
			refuse_syn(c, tw, now_ms, out, TCP_TW_REASON_SYN_ACK);
			return;
		}
		if (paws_fail) {
			/*
			 * RFC 1323 R1 ("treat the arriving segment as not
			 * acceptable"): an older TSval marks an old duplicate,
			 * whatever its sequence number (CASES.md H9 d).
			 */
			refuse_syn(c, tw, now_ms, out, TCP_TW_REASON_SYN_PAWS);
			return;
		}
		if (!syn_is_new(c, tw, seg, ts_valid, &use_ts)) {
			refuse_syn(c, tw, now_ms, out, TCP_TW_REASON_SYN_OLD);
			return;
		}
		if (!c->reopen) {
			refuse_syn(c, tw, now_ms, out, TCP_TW_REASON_SYN_REOPEN_OFF);
			return;
		}
		/*
		 * RFC 1122 4.2.2.13: "it MAY accept a new SYN from the remote
		 * TCP to reopen the connection directly from TIME-WAIT state,
		 * if it: (1) assigns its initial sequence number for the new
		 * connection to be larger than the largest sequence number it
		 * used on the previous connection incarnation". The caller
		 * checks its ISS with tcp_tw_iss_ok(iss, iss_floor).
		 */
		out->verdict = TCP_TW_REOPEN;
		out->reason = TCP_TW_REASON_SYN_REOPEN;
		out->iss_floor = tw->snd_nxt;
		out->reopen_ts = use_ts;
		return;
	}

	if ((fl & TCP_ACK) == 0) {
		/*
		 * RFC 9293 fifth step: "if the ACK bit is off, drop the
		 * segment and return". Taken before the sequence check, so
		 * that an ACK-less segment draws no ACK from it either: "Once
		 * a connection is established, this is always sent" (§3.1).
		 */
		drop(out, TCP_TW_REASON_NO_ACK_FLAG);
		return;
	}

	if (tw->ts_on && !has_ts) {
		/*
		 * RFC 7323 §3.2: once timestamps are in use, a non-RST segment
		 * without a TSopt SHOULD be silently dropped.
		 */
		drop(out, TCP_TW_REASON_TS_MISSING);
		return;
	}

	if (paws_fail) {
		/*
		 * RFC 1323 R1: "then treat the arriving segment as not
		 * acceptable: Send an acknowledgement in reply as specified in
		 * RFC-793 page 69 and drop the segment."
		 */
		ack(c, tw, now_ms, out, TCP_TW_REASON_PAWS, !occupies);
		return;
	}

	acceptable = coda_seq_acceptable(seg->seq, seg_len, rcv_nxt, rcv_wnd);

	/*
	 * RFC 9293 fifth step, TIME-WAIT STATE: "The only thing that can
	 * arrive in this state is a retransmission of the remote FIN." That
	 * FIN occupied RCV.NXT - 1, so it ends at RCV.NXT, before the window:
	 * Table 6 refuses it, although the RFC means it to be ACKed and to
	 * restart the timer. It is recognised here, ahead of the first
	 * step's reply to an unacceptable segment.
	 */
	if ((fl & TCP_FIN) && seg->seq + seg_len == rcv_nxt) {
		/*
		 * Fifth step ACK check first (RFC 5961 §5.2, below): a FIN
		 * whose SEG.ACK is unacceptable gets the ACK but no restart.
		 */
		if (!coda_seq_between(seg->ack, tw->snd_nxt - TCP_TW_MAX_SND_WND, tw->snd_nxt)) {
			ack(c, tw, now_ms, out, TCP_TW_REASON_ACK_UNACCEPTABLE, false);
			return;
		}
		/*
		 * "Acknowledge it, and restart the 2 MSL timeout." Eighth
		 * step, TIME-WAIT STATE: "Remain in the TIME-WAIT state.
		 * Restart the 2 MSL time-wait timeout." No TS.Recent update:
		 * it lies before Last.ACK.sent's window (RFC 1323 R2 rejects it
		 * before R3), so the ACK echoes the TSval of the FIN that
		 * advanced RCV.NXT.
		 */
		out->restart = true;
		out->expiry = now_ms + c->twice_msl_ms;
		ack(c, tw, now_ms, out, TCP_TW_REASON_FIN_RETRANSMIT, false);
		return;
	}

	if (!acceptable) {
		/*
		 * RFC 9293 first step: "If an incoming segment is not
		 * acceptable, an acknowledgment should be sent in reply ...
		 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> After sending the
		 * acknowledgment, drop the unacceptable segment and return."
		 */
		ack(c, tw, now_ms, out, TCP_TW_REASON_OUT_OF_WINDOW, !occupies);
		return;
	}

	/*
	 * RFC 9293 fifth step: "TCP stacks that implement RFC 5961 MUST add
	 * an input check that the ACK value is acceptable only if it is in
	 * the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All
	 * incoming segments whose ACK value doesn't satisfy the above
	 * condition MUST be discarded and an ACK sent back." In TIME-WAIT
	 * SND.UNA = SND.NXT (our FIN is acknowledged), and "MAX.SND.WND ...
	 * may be hard-coded to a maximum permissible window value".
	 */
	if (!coda_seq_between(seg->ack, tw->snd_nxt - TCP_TW_MAX_SND_WND, tw->snd_nxt)) {
		ack(c, tw, now_ms, out, TCP_TW_REASON_ACK_UNACCEPTABLE, !occupies);
		return;
	}

	if (tw->ts_on && has_ts && seg->seq == rcv_nxt) {
		/*
		 * RFC 1323 R3: "If an arriving segment satisfies: SEG.SEQ <=
		 * Last.ACK.sent (see Section 3.4), then record its timestamp
		 * in TS.Recent." Last.ACK.sent is RCV.NXT, and an acceptable
		 * segment starts there or later. It passed R1 (TSval >=
		 * TS.Recent), or TS.Recent is invalid: "If TS.Recent is found
		 * to be invalid, then the segment is accepted, regardless of
		 * the failure of the timestamp check, and rule R3 updates
		 * TS.Recent with the TSval from the new segment."
		 */
		if (tw->ts_recent != seg->tsval || tw->ts_recent_ms != now_ms) {
			tw->ts_recent = seg->tsval;
			tw->ts_recent_ms = now_ms;
			out->update = true;
		}
	}

	if (seg_len == 0 && seg->seq == rcv_nxt) {
		/*
		 * RFC 9293 fifth step, ESTABLISHED: "If the ACK is a duplicate
		 * (SEG.ACK =< SND.UNA), it can be ignored." The peer's ACK of
		 * our FIN, or a copy: nothing to acknowledge, no restart
		 * (CASES.md H6 a).
		 */
		drop(out, TCP_TW_REASON_DUP_ACK);
		return;
	}

	/*
	 * Acceptable, yet past the peer's FIN: text, a FIN, or an empty
	 * segment beyond RCV.NXT. Seventh step, TIME-WAIT STATE: "This should
	 * not occur since a FIN has been received from the remote side.
	 * Ignore the segment text." The fifth step's "Acknowledge it" is the
	 * reply, without the restart, which belongs to the retransmitted FIN
	 * (tcp_timewait.h): CASES.md H6 b to d, H13.
	 */
	ack(c, tw, now_ms, out, TCP_TW_REASON_AFTER_FIN, !occupies);
}
