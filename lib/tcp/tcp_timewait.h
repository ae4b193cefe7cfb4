/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_TCP_TIMEWAIT_H
#define CODA_TCP_TIMEWAIT_H

/**
 * @file
 * TIME-WAIT: what to do with a segment that reaches a connection in
 * TIME-WAIT, as one pure function over the compact entry that
 * lib/conntab keeps (struct coda_conntab_tw).
 *
 * What: tcp_tw_input() looks at a parsed segment and the entry and returns
 * a verdict: DROP (nothing to send), ACK (send the ACK described in the
 * action), or REOPEN (a SYN that may start a new incarnation: build a
 * SYN-RECEIVED TCB in place of the entry, with an ISS that passes
 * tcp_tw_iss_ok()). Beside the verdict the action says whether to restart
 * the 2 MSL timer, whether to end TIME-WAIT now, whether the entry changed
 * and must be written back, and why (enum tcp_tw_reason, one counter
 * each). The caller does every I/O: sending, coda_conntab_tw_restart(),
 * coda_conntab_tw_update(), coda_conntab_delete() or _replace().
 *
 * There is no RST verdict: RFC 9293 §3.10.7.4 never has TIME-WAIT send a
 * reset (its one case, a security/compartment mismatch in the third step,
 * concerns the IP security option, which coda does not implement), and
 * RFC 5961 and RFC 6191 replaced RFC 793's reset for an in-window SYN.
 * A segment that arrives after TIME-WAIT ended (kill, or expiry) meets the
 * CLOSED-state rule of RFC 9293 §3.10.7.1 in the caller.
 *
 * Order: RFC 9293 §3.10.7.4 ("First, check sequence number ... Second,
 * check the RST bit ... Fourth, check the SYN bit ... Fifth, check the ACK
 * field ... Seventh, process the segment text ... Eighth, check the FIN
 * bit"), with three documented moves, each because the RFCs ask for it:
 *
 *   1. RST first. Its handling does not depend on the sequence check's
 *      reply ("unless the RST bit is set, if so drop the segment and
 *      return"): an RST is never answered, and PAWS is not applied to it
 *      (RFC 7323 §5.3 R1 exempts segments with the RST bit).
 *   2. SYN next, before the sequence check: "Note that for the TIME-WAIT
 *      state, there is an improved algorithm described in [40] [RFC 6191]
 *      for handling incoming SYN segments that utilizes timestamps rather
 *      than relying on the sequence number check described here." A SYN
 *      that may reopen usually lies beyond the window, and the sequence
 *      check would only ACK it.
 *   3. The fifth step's "if the ACK bit is off, drop the segment and
 *      return", and RFC 7323 §3.2 (a connection that used timestamps
 *      silently drops a non-RST segment without them), before the sequence
 *      check: after the handshake every segment of the connection carries
 *      an ACK ("Once a connection is established, this is always sent",
 *      RFC 9293 §3.1), so an ACK-less one is not the peer's, and answering
 *      it would only reflect traffic. CASES.md G5, H6: "FIN without ACK:
 *      dropped".
 *
 * Then PAWS (RFC 7323 §5.3 R1, before R2 "If the segment is outside the
 * window, reject it"), the sequence check, the ACK check, and TIME-WAIT's
 * own cases.
 *
 * Policies (struct tcp_tw_conf; defaults per DESIGN.md §5 in brackets):
 *
 *   - RST at RCV.NXT [ignored, RFC 1337 F1]; with rfc1337 off it ends
 *     TIME-WAIT (RFC 9293 second step, Linux's default). A non-exact RST,
 *     in the window or not, is ignored in both modes, with no challenge
 *     ACK (CASES.md H4): the peer's sequence space ended at its FIN, so an
 *     RST it sends now, from an abort or in answer to our ACK, carries
 *     exactly RCV.NXT; a challenge ACK could only serve someone else.
 *   - SYN reopen [on]: RFC 1122 4.2.2.13 / RFC 9293 MAY-2, judged by
 *     RFC 6191 (SHLD-4). Set reopen false where no listener would take the
 *     SYN: the caller may keep one conf per case.
 *   - A refused SYN [challenge ACK, RFC 5961 §4 as quoted in RFC 9293's
 *     fourth step, rate-limited]; syn_challenge_ack false gives RFC 6191's
 *     "silently drop". Never a SYN-ACK. The ACK lets a peer whose new SYN
 *     lost the RFC 6191 test learn that the old connection's state still
 *     holds the 4-tuple: it answers with an RST at RCV.NXT, which ends
 *     TIME-WAIT when rfc1337 is off (how Linux resolves it); with rfc1337
 *     on that RST is ignored, and the ACK costs one segment per interval.
 *   - The 2 MSL timer restarts on a retransmission of the peer's FIN only
 *     (RFC 9293 fifth and eighth steps). Linux restarts it on any segment
 *     with ACK that reaches TIME-WAIT (CASES.md "Where Linux deviates" 1);
 *     coda does not, so a peer (or anyone who can guess the 4-tuple and
 *     an acceptable sequence number) cannot hold an entry forever with
 *     pure ACKs. A FIN at or beyond RCV.NXT is not "a retransmission of the
 *     remote FIN" (that FIN sat at RCV.NXT - 1), so it is ACKed without a
 *     restart.
 *   - ACK rate limit [1 per 500 ms per entry, ack_interval_ms; 0: none]:
 *     "RFC 5961 and Errata ID 4772 [99] contain additional considerations
 *     for ACK throttling". It applies to every ACK this function asks for
 *     except those that answer text or a FIN (a SYN's excepted: it is
 *     limited whatever it carries): a peer retransmitting data
 *     or its FIN needs the ACK to stop retransmitting (CASES.md F10: "Data-
 *     bearing out-of-window segments must still be ACKed (not throttled)").
 *     So the re-ACK of a retransmitted FIN (CASES.md H2) is never limited,
 *     and SYNs, RSTs (never answered anyway) and pure ACKs are. The global
 *     cap of DESIGN.md §5 is the caller's: it sees every ACK verdict.
 *
 * Reading the entry's times: last_ack_ms 0 means "no limited ACK sent
 * yet", so that a virtual clock starting at 0 does not suppress the first
 * one (enter TIME-WAIT with last_ack_ms 0). lib/conntab keeps last_ack_ms
 * in 8 ms units, rounded down, so an interval may read up to 8 ms longer
 * than it was; ts_recent_ms to the minute, rounded down, so TS.Recent may
 * read up to a minute older than it is (24 days then end up to a minute
 * early). Both err towards answering and accepting, never towards
 * silence.
 *
 * Known debt: RFC 1122 4.2.2.13 condition (2), "returns to TIME-WAIT
 * state if the SYN turns out to be an old duplicate", is the caller's: it
 * may keep a copy of the entry until the reopened handshake completes. Like
 * Linux (CASES.md "Where Linux deviates" 4), the first caller does not.
 * The lower bound of the RFC 5961 ACK check uses the largest window that
 * RFC 7323 allows for MAX.SND.WND, which RFC 9293 permits ("or may be
 * hard-coded to a maximum permissible window value"): the entry does not
 * keep the peer's largest window.
 *
 * Cost: a few dozen ALU operations and branches; no memory beyond the
 * three structs passed in.
 *
 * Thread safety: pure; no I/O, no clock reads (the caller passes now_ms,
 * on the TIME-WAIT clock of lib/conntab), no globals.
 */

#include <stdbool.h>
#include <stdint.h>

#include "coda_conntab.h"
#include "coda_seq.h"
#include "tcp_seg.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What to do with a segment that reached a TIME-WAIT entry. */
enum tcp_tw_verdict {
	TCP_TW_DROP = 0,      /**< Send nothing (see kill for an RST that ended TIME-WAIT). */
	TCP_TW_ACK,	      /**< Send the ACK in tcp_tw_action.ack_*, then drop the segment. */
	TCP_TW_REOPEN,	      /**< Replace the entry by a SYN-RECEIVED TCB for this SYN. */
	TCP_TW_VERDICT__COUNT /**< Number of verdicts. */
};

/** Why: one per line of tcp_tw_reason.def, in its order. */
enum tcp_tw_reason {
#define TCP_TW_REASON(NAME, name, desc) TCP_TW_REASON_##NAME,
#include "tcp_tw_reason.def"
#undef TCP_TW_REASON
	TCP_TW_REASON__COUNT /**< Number of reasons. */
};

/** TIME-WAIT policies, per worker or per listener; DESIGN.md §5 defaults in brackets. */
struct tcp_tw_conf {
	/** RFC 1337 F1: ignore an RST at RCV.NXT [true]; false: it ends TIME-WAIT (kill). */
	bool rfc1337;
	/** Accept a SYN that passes RFC 6191's test (REOPEN) [true]; false: refuse it. */
	bool reopen;
	/** Answer a refused SYN with a rate-limited challenge ACK [true]; false: drop it. */
	bool syn_challenge_ack;
	/**
	 * Whether a new incarnation would use timestamps when the SYN offers
	 * them (the stack's timestamps policy) [true]: RFC 6191 judges a SYN
	 * differently "If TCP Timestamps would be enabled for the new
	 * incarnation of the connection".
	 */
	bool timestamps;
	/** Least time between two rate-limited ACKs of one entry, ms [500]; 0: no limit. */
	uint32_t ack_interval_ms;
	/** TIME-WAIT length, 2 MSL, ms [60000]: tcp_tw_action.expiry on a restart. */
	uint64_t twice_msl_ms;
};

/** The defaults of struct tcp_tw_conf, DESIGN.md §5 (MSL 30 s). */
#define TCP_TW_CONF_DEFAULT                                                                     \
	{                                                                                       \
		.rfc1337 = true, .reopen = true, .syn_challenge_ack = true, .timestamps = true, \
		.ack_interval_ms = 500, .twice_msl_ms = 60000,                                  \
	}

/**
 * The RFC 5961 §5.2 lower bound on SEG.ACK uses MAX.SND.WND = the largest
 * window RFC 7323 allows (65535 << 14): TIME-WAIT does not keep the peer's.
 */
#define TCP_TW_MAX_SND_WND (UINT32_C(65535) << TCP_WSCALE_MAX)

/**
 * RFC 1323 §4.2.3: TS.Recent is invalid once the connection "is idle for
 * more than 24 days" (RFC 7323 §5.5 keeps the rule), in ms.
 */
#define TCP_TW_PAWS_IDLE_MS (UINT64_C(24) * 24 * 60 * 60 * 1000)

/**
 * Distance from the old SND.NXT to the ISS that tcp_tw_iss() falls back
 * to: one largest unscaled window plus two, clear of anything the
 * previous incarnation sent (the gap Linux leaves, CASES.md H7).
 */
#define TCP_TW_ISS_GAP (UINT32_C(65535) + 2)

/** What tcp_tw_input() decided. Fields that do not apply to the verdict are 0. */
struct tcp_tw_action {
	enum tcp_tw_verdict verdict;
	enum tcp_tw_reason reason; /**< Why; count it. */
	/** Restart the 2 MSL timer: coda_conntab_tw_restart(value, expiry). */
	bool restart;
	/** End TIME-WAIT now (an RST at RCV.NXT with rfc1337 off): delete the entry. */
	bool kill;
	/** The entry changed (ts_recent, ts_recent_ms, last_ack_ms): write it back. */
	bool update;
	/** An ACK was due but the rate limit suppressed it (verdict DROP). */
	bool rate_limited;
	/** TCP_TW_ACK: carry a Timestamps option (TSval from the caller's clock, TSecr below). */
	bool ack_ts;
	/**
	 * TCP_TW_REOPEN: RFC 6191 judged the SYN as one whose new incarnation
	 * uses timestamps (the SYN offered them and conf.timestamps): the
	 * SYN-ACK must carry the Timestamps option.
	 */
	bool reopen_ts;
	uint16_t ack_wnd;   /**< TCP_TW_ACK: window field, RCV.WND >> rcv_wscale (the entry's). */
	uint32_t ack_seq;   /**< TCP_TW_ACK: SEG.SEQ = SND.NXT. */
	uint32_t ack_ack;   /**< TCP_TW_ACK: SEG.ACK = RCV.NXT. */
	uint32_t ack_tsecr; /**< TCP_TW_ACK with ack_ts: TSecr = TS.Recent. */
	/**
	 * TCP_TW_REOPEN: the new ISS must lie after this in sequence space
	 * (tcp_tw_iss_ok()): the old SND.NXT.
	 */
	uint32_t iss_floor;
	/** With restart: the new end of TIME-WAIT, now_ms + twice_msl_ms. */
	uint64_t expiry;
};

/**
 * Decide what to do with segment @p seg, received for the connection whose
 * TIME-WAIT entry is @p tw, at @p now_ms.
 *
 * In order (each step's RFC sentence is quoted at its code):
 *   RST: at RCV.NXT, ignored (rfc1337) or kill; elsewhere ignored. Never
 *   answered.
 *   SYN: REOPEN when RFC 6191 finds evidence of a new incarnation (below)
 *   and conf.reopen; otherwise refused: challenge ACK (rate-limited) or
 *   DROP per conf.syn_challenge_ack. Evidence, with TS.Recent = T:
 *     - SYN with ACK: none (not a connection request).
 *     - entry ts_on, T valid, SYN TSval < T: none (PAWS), whatever SEG.SEQ.
 *     - entry ts_on, T valid, SYN offers TS and conf.timestamps: TSval > T,
 *       or TSval = T and SEG.SEQ > RCV.NXT.
 *     - entry without ts_on, SYN offers TS and conf.timestamps: yes (RFC
 *       6191: "If TCP Timestamps would be enabled for the new incarnation
 *       of the connection, honor the incoming connection request").
 *     - otherwise: SEG.SEQ > RCV.NXT.
 *   No ACK bit: DROP. Entry ts_on, no TS option: DROP.
 *   PAWS (entry ts_on, TS.Recent valid, TSval < TS.Recent): ACK.
 *   Not acceptable by RFC 9293 Table 6 (RCV.WND = rcv_wnd << rcv_wscale),
 *   unless it is the retransmitted FIN: ACK.
 *   SEG.ACK outside [SND.NXT - TCP_TW_MAX_SND_WND, SND.NXT]: ACK.
 *   Retransmitted FIN (FIN set, SEG.SEQ + SEG.LEN = RCV.NXT): ACK and
 *   restart.
 *   Zero-length at RCV.NXT: DROP (a duplicate ACK).
 *   Anything else acceptable (text, FIN, or a sequence number past the
 *   peer's FIN): ACK.
 * A challenge ACK to a SYN, and any other ACK that does not answer text
 * or a FIN, is subject to the rate limit: DROP with rate_limited when the entry sent one less than
 * ack_interval_ms ago; when sent, last_ack_ms = now_ms (update). An
 * acceptable segment at RCV.NXT with a TSval not older than TS.Recent
 * (or with TS.Recent invalid) sets TS.Recent = TSval and ts_recent_ms =
 * now_ms (update; RFC 7323 §4.3 / RFC 1323 R3, Last.ACK.sent being
 * RCV.NXT in TIME-WAIT).
 *
 * @param c       the policies; not NULL.
 * @param tw      the entry; read, and changed in place when @p out->update.
 * @param seg     the segment (tcp_seg_parse() returned TCP_DROP_NONE).
 * @param now_ms  the TIME-WAIT clock, ms.
 * @param out     filled completely: the verdict, the flags, the reason.
 * Never fails: every input gives a verdict.
 */
void tcp_tw_input(const struct tcp_tw_conf *c, struct coda_conntab_tw *tw,
		  const struct tcp_seg *seg, uint64_t now_ms, struct tcp_tw_action *out);

/**
 * RFC 1122 4.2.2.13 condition (1) for a reopen: "assigns its initial
 * sequence number for the new connection to be larger than the largest
 * sequence number it used on the previous connection incarnation". The
 * largest one used is the FIN's, SND.NXT - 1; coda asks for ISS > SND.NXT
 * (CASES.md H7), in serial order, so less than 2^31 ahead.
 *
 * @param iss    the candidate ISS (from the ISN clock, RFC 9293 §3.4.1).
 * @param floor  tcp_tw_action.iss_floor.
 * @return true if @p iss may start the new incarnation.
 */
static inline bool
tcp_tw_iss_ok(uint32_t iss, uint32_t floor)
{
	return coda_seq_gt(iss, floor);
}

/**
 * The ISS of a reopened connection: @p clock_iss, the one the ISN
 * generator gave, when tcp_tw_iss_ok() accepts it; else @p floor +
 * TCP_TW_ISS_GAP.
 *
 * @return an ISS for which tcp_tw_iss_ok(iss, floor) is true.
 */
static inline uint32_t
tcp_tw_iss(uint32_t clock_iss, uint32_t floor)
{
	return tcp_tw_iss_ok(clock_iss, floor) ? clock_iss : floor + TCP_TW_ISS_GAP;
}

/**
 * Display name of a reason: its tcp_tw_reason.def name ("fin_retransmit").
 *
 * @return a constant string, or NULL if @p r is not below TCP_TW_REASON__COUNT.
 */
const char *tcp_tw_reason_name(enum tcp_tw_reason r);

/**
 * One-line description of a reason, from tcp_tw_reason.def.
 *
 * @return a constant string, or NULL if @p r is not below TCP_TW_REASON__COUNT.
 */
const char *tcp_tw_reason_desc(enum tcp_tw_reason r);

/**
 * Display name of a verdict: "drop", "ack" or "reopen".
 *
 * @return a constant string, or NULL if @p v is not below TCP_TW_VERDICT__COUNT.
 */
const char *tcp_tw_verdict_name(enum tcp_tw_verdict v);

#ifdef __cplusplus
}
#endif

#endif /* CODA_TCP_TIMEWAIT_H */
