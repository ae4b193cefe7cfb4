/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_SEQ_H
#define CODA_SEQ_H

/**
 * @file
 * coda_seq: TCP sequence-number arithmetic modulo 2^32.
 *
 * What: the comparisons and window tests that RFC 9293 §3.4 defines on
 * 32-bit sequence numbers. "The reader should be aware that sequence numbers
 * wrap around ... all arithmetic dealing with sequence numbers must be
 * performed modulo 2**32." Every function here is pure, static inline and
 * EAL-free; the header needs nothing but <stdbool.h> and <stdint.h>.
 *
 * Design: ordering is serial-number arithmetic. a is before b when the signed
 * 32-bit difference (int32_t)(a - b) is negative: a - b is computed in
 * uint32_t (wrapping, so defined for every input), and its conversion to
 * int32_t is the two's-complement reinterpretation on every compiler coda
 * builds with (C11 leaves it implementation-defined; gcc and clang document
 * it as modulo 2^32). So the order is meaningful for numbers less than 2^31
 * apart, which TCP guarantees for everything it compares (windows are below
 * 2^30, RFC 7323 §2.3). Numbers exactly 2^31 apart have no order: the
 * difference is INT32_MIN either way, so coda_seq_lt(a, b) and
 * coda_seq_lt(b, a) are both true there. TCP never compares numbers that far
 * apart.
 *
 * Ranges: coda_seq_between() and coda_seq_in_window() do not use the order;
 * they measure the forward distance from the left edge in uint32_t, so they
 * are exact for every span below 2^32, including spans of 2^31 or more.
 *
 * Cost: one to four ALU operations each, no branches beyond what the
 * compiler chooses for coda_seq_acceptable().
 *
 * Thread safety: pure functions of their arguments.
 *
 * Errors: none; every function is total.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @return true if @p a is strictly before @p b in sequence space (a < b). */
static inline bool
coda_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/** @return true if @p a is before or equal to @p b in sequence space (a =< b). */
static inline bool
coda_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/** @return true if @p a is strictly after @p b in sequence space (a > b). */
static inline bool
coda_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/** @return true if @p a is after or equal to @p b in sequence space (a >= b). */
static inline bool
coda_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/** @return the later of @p a and @p b in sequence space (@p a if equal). */
static inline uint32_t
coda_seq_max(uint32_t a, uint32_t b)
{
	return coda_seq_lt(a, b) ? b : a;
}

/** @return the earlier of @p a and @p b in sequence space (@p a if equal). */
static inline uint32_t
coda_seq_min(uint32_t a, uint32_t b)
{
	return coda_seq_gt(a, b) ? b : a;
}

/**
 * Closed range test: lo =< seq =< hi in sequence space.
 *
 * The range is the arc that starts at @p lo and runs forward to @p hi, so
 * hi - lo (mod 2^32) + 1 numbers are in it; @p lo == @p hi holds one number.
 * For hi - lo below 2^31 this equals coda_seq_leq(lo, seq) &&
 * coda_seq_leq(seq, hi); beyond that it stays exact where the serial order
 * does not.
 *
 * @return true if @p seq lies on the arc from @p lo to @p hi, both included.
 */
static inline bool
coda_seq_between(uint32_t seq, uint32_t lo, uint32_t hi)
{
	return seq - lo <= hi - lo;
}

/**
 * Half-open window test: start =< seq < start + len in sequence space.
 *
 * This is the test RFC 9293 writes as "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND".
 * An empty window (@p len 0) contains nothing.
 *
 * @return true if @p seq is one of the @p len numbers from @p start on.
 */
static inline bool
coda_seq_in_window(uint32_t seq, uint32_t start, uint32_t len)
{
	return seq - start < len;
}

/**
 * Segment acceptability, RFC 9293 §3.10.7.4 ("Otherwise" branch, first check),
 * exactly as its Table 6 gives it:
 *
 *   +---------+---------+--------------------------------------+
 *   | Segment | Receive | Test                                 |
 *   | Length  | Window  |                                      |
 *   +---------+---------+--------------------------------------+
 *   | 0       | 0       | SEG.SEQ = RCV.NXT                    |
 *   | 0       | >0      | RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND |
 *   | >0      | 0       | not acceptable                       |
 *   | >0      | >0      | RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND |
 *   |         |         | or                                   |
 *   |         |         | RCV.NXT =< SEG.SEQ+SEG.LEN-1 <       |
 *   |         |         | RCV.NXT+RCV.WND                      |
 *   +---------+---------+--------------------------------------+
 *
 * SEG.LEN counts SYN and FIN as one each (see tcp_seg_len() in lib/tcp).
 * Nothing here makes the allowances the RFC adds in prose ("If the RCV.WND
 * is zero, no segments will be acceptable, but special allowance should be
 * made to accept valid ACKs, URGs, and RSTs"): the caller does.
 *
 * Known limit, as in the table: a segment that starts before RCV.NXT and
 * ends at or past RCV.NXT+RCV.WND (it covers the whole window) has neither
 * its first nor its last octet in the window, so the table, and this
 * function, refuse it although it carries acceptable octets.
 *
 * @param seg_seq  SEG.SEQ.
 * @param seg_len  SEG.LEN (payload octets plus one for SYN, one for FIN).
 * @param rcv_nxt  RCV.NXT.
 * @param rcv_wnd  RCV.WND, already scaled (below 2^30 by RFC 7323).
 * @return true if the table accepts the segment.
 */
static inline bool
coda_seq_acceptable(uint32_t seg_seq, uint32_t seg_len, uint32_t rcv_nxt, uint32_t rcv_wnd)
{
	if (seg_len == 0) {
		if (rcv_wnd == 0)
			return seg_seq == rcv_nxt;
		return coda_seq_in_window(seg_seq, rcv_nxt, rcv_wnd);
	}
	if (rcv_wnd == 0)
		return false;
	return coda_seq_in_window(seg_seq, rcv_nxt, rcv_wnd) ||
	       coda_seq_in_window(seg_seq + seg_len - 1, rcv_nxt, rcv_wnd);
}

#ifdef __cplusplus
}
#endif

#endif /* CODA_SEQ_H */
