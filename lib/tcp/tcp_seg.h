/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_TCP_SEG_H
#define CODA_TCP_SEG_H

/**
 * @file
 * tcp_seg: the TCP header parser, and the drop reasons of lib/tcp.
 *
 * Private to lib/tcp (and its unit tests): not an installed header.
 *
 * What: tcp_seg_parse() turns the bytes of one received TCP segment (header
 * plus payload, as the IP layer delivers them) into a struct tcp_seg in host
 * byte order, or into the reason to drop it. It checks the header's
 * structure and nothing else: no checksum (the IP layer verifies it, or the
 * NIC did), no flag combinations, no sequence numbers, no state. Which
 * options mean anything in which segment (for instance RFC 7323 §2.2: "A
 * Window Scale option in a segment without a <SYN> bit MUST be ignored") is
 * the state machine's business; the parser reports every well-formed option it
 * finds, whatever the flags.
 *
 * Options, RFC 9293 §3.1 and §3.2: End of Option List (kind 0) ends the
 * parse, and whatever follows it in the header is padding, never read. No-
 * Operation (kind 1) is one byte and is skipped. Every other kind has a
 * length byte that counts the kind and length bytes too. Checks, in this
 * order, each giving its drop reason:
 *
 *   - no room for the length byte in the header    TCP_DROP_OPT_TRUNCATED
 *   - length 0 or 1 (the option cannot be walked)  TCP_DROP_OPT_LEN_BAD
 *   - a known kind with the wrong length:          TCP_DROP_OPT_LEN_BAD
 *       MSS 4, Window Scale 3, SACK-permitted 2, Timestamps 10,
 *       SACK 2 + 8k with 1 <= k <= 4
 *   - the option runs past the header              TCP_DROP_OPT_TRUNCATED
 *   - MSS with the value 0                         TCP_DROP_MSS_ZERO
 *
 * Unknown kinds with a sane length are skipped by it, RFC 9293 §3.2: "A TCP
 * implementation MUST (MUST-6) ignore without error any TCP Option it does
 * not implement, assuming that the option has a length field." A bad length
 * is a drop; the same section asks implementations to "be prepared to
 * handle an illegal option length (e.g., zero)", and a segment whose
 * options cannot be walked cannot be trusted either.
 *
 * Duplicates: when a kind occurs twice, the later occurrence wins, as in
 * Linux's tcp_parse_options(): its values replace the earlier ones (a later
 * SACK option replaces all the earlier blocks), and TCP_SEG_NOTE_OPT_DUP is
 * set so the duplicate can be counted. RFC 9293 does not say which wins.
 *
 * Window scale above 14: not a drop. RFC 7323 §2.3: "If a Window Scale
 * option is received with a shift.cnt value larger than 14, the TCP SHOULD
 * log the error but MUST use 14 instead of the specified value." So the
 * parser stores 14 and sets TCP_SEG_NOTE_WSCALE_CLAMPED; the caller counts
 * the note (that is the "log"). The note describes the Window Scale option
 * that won: a later in-range one clears it.
 *
 * MSS 0: a drop. A peer that announces it can receive no payload at all is
 * broken or hostile; accepting it would have us send zero-byte segments.
 *
 * Reserved bits: the four bits between the data offset and CWR (byte 12,
 * low nibble) are ignored, as RFC 9293 §3.1 asks ("Must be zero in generated
 * segments and must be ignored in received segments ...").
 *
 * Memory safety: the parser reads only bytes in [tcp_hdr, tcp_hdr + len),
 * and of the header only the first hdr_len; it reads them one byte at a
 * time, so any alignment is fine. Every input, of any length and content,
 * gives a defined result (the unit tests feed it two million random ones
 * under ASan and UBSan).
 *
 * Cost: one pass over the header; the payload is never read. A header
 * without options is a dozen byte loads.
 *
 * Thread safety: tcp_seg_parse() writes only *seg; the name functions read
 * constant tables. Any thread may call any function.
 *
 * Errors: datapath style. tcp_seg_parse() never fails; it returns a verdict,
 * TCP_DROP_NONE or the reason to drop (see the table above).
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Drop reasons: TCP_DROP_NONE, then one per line of tcp_drop.def. */
enum tcp_drop {
	TCP_DROP_NONE = 0, /**< Not dropped. */
#define TCP_DROP(NAME, name, desc) TCP_DROP_##NAME,
#include "tcp_drop.def"
#undef TCP_DROP
	TCP_DROP__COUNT /**< Number of values, TCP_DROP_NONE included. */
};

/** TCP header flags (byte 13 of the header), RFC 9293 §3.1 and RFC 3168. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/** Length of a TCP header without options, in bytes. */
#define TCP_HDR_MIN_LEN 20
/** Longest TCP header (data offset 15), in bytes. */
#define TCP_HDR_MAX_LEN 60

/** Option kinds (IANA "TCP Option Kind Numbers"). */
#define TCP_OPTKIND_EOL 0
#define TCP_OPTKIND_NOP 1
#define TCP_OPTKIND_MSS 2
#define TCP_OPTKIND_WS 3
#define TCP_OPTKIND_SACKOK 4
#define TCP_OPTKIND_SACK 5
#define TCP_OPTKIND_TS 8

/** Option lengths (the fixed ones; SACK is 2 + 8 per block). */
#define TCP_OPTLEN_MSS 4
#define TCP_OPTLEN_WS 3
#define TCP_OPTLEN_SACKOK 2
#define TCP_OPTLEN_TS 10

/** Bits of tcp_seg.opts: which options were present (and well-formed). */
#define TCP_OPT_MSS 0x01    /**< Maximum Segment Size, RFC 9293 §3.7.1. */
#define TCP_OPT_WS 0x02	    /**< Window Scale, RFC 7323 §2. */
#define TCP_OPT_SACKOK 0x04 /**< SACK-permitted, RFC 2018 §2. */
#define TCP_OPT_TS 0x08	    /**< Timestamps, RFC 7323 §3. */
#define TCP_OPT_SACK 0x10   /**< SACK blocks, RFC 2018 §3. */

/** Bits of tcp_seg.notes: accepted, but worth counting. */
#define TCP_SEG_NOTE_WSCALE_CLAMPED 0x01 /**< Window Scale above 14, stored as 14. */
#define TCP_SEG_NOTE_OPT_DUP 0x02	 /**< Some option kind occurred twice; the later won. */

/** Largest window shift count, RFC 7323 §2.3. */
#define TCP_WSCALE_MAX 14
/** Most SACK blocks an option can carry (2 + 8 x 4 = 34 of 40 option bytes). */
#define TCP_SACK_MAX_BLOCKS 4

/** One SACK block, RFC 2018 §3: the octets from start up to, not including, end. */
struct tcp_sack_block {
	uint32_t start; /**< Left edge: first sequence number of the block. */
	uint32_t end;	/**< Right edge: the sequence number just past the block. */
};

/**
 * A parsed TCP segment, every field in host byte order. Valid only when
 * tcp_seg_parse() returned TCP_DROP_NONE. Option fields whose bit is clear
 * in `opts` are 0.
 */
struct tcp_seg {
	uint32_t seq;		/**< SEG.SEQ. */
	uint32_t ack;		/**< SEG.ACK (whatever the ACK flag says). */
	uint16_t sport;		/**< Source port. */
	uint16_t dport;		/**< Destination port. */
	uint16_t wnd;		/**< SEG.WND as on the wire, not scaled. */
	uint16_t urp;		/**< Urgent pointer as on the wire. */
	uint8_t flags;		/**< TCP_FIN ... TCP_CWR. */
	uint8_t hdr_len;	/**< Header length in bytes, 20 to 60. */
	uint8_t opts;		/**< TCP_OPT_* of the options present. */
	uint8_t notes;		/**< TCP_SEG_NOTE_*. */
	uint32_t payload_len;	/**< len - hdr_len. */
	const uint8_t *payload; /**< tcp_hdr + hdr_len (one past the end if no payload). */
	uint16_t mss;		/**< MSS option value (never 0 when present). */
	uint8_t wscale;		/**< Window Scale shift count, at most TCP_WSCALE_MAX. */
	uint8_t nb_sack;	/**< SACK blocks in sack[], 1 to 4 when TCP_OPT_SACK. */
	uint32_t tsval;		/**< Timestamps option TSval. */
	uint32_t tsecr;		/**< Timestamps option TSecr. */
	struct tcp_sack_block sack[TCP_SACK_MAX_BLOCKS]; /**< SACK blocks, in option order. */
};

/**
 * Parse the TCP header at @p tcp_hdr.
 *
 * @param tcp_hdr  the first byte of the TCP header; any alignment. May be
 *                 NULL if @p len is 0.
 * @param len      the TCP segment length from the IP layer: header plus
 *                 payload, in bytes. Nothing at or past tcp_hdr + len is read.
 * @param seg      filled in; on a drop its contents are unspecified.
 * @return TCP_DROP_NONE, or why the segment must be dropped:
 *         TCP_DROP_TOO_SHORT      @p len below 20;
 *         TCP_DROP_DOFF_SMALL     data offset below 5 (header below 20 bytes);
 *         TCP_DROP_DOFF_PAST_END  header longer than @p len;
 *         TCP_DROP_OPT_TRUNCATED  an option's length byte or body runs past the header;
 *         TCP_DROP_OPT_LEN_BAD    an option length of 0 or 1, or wrong for its kind;
 *         TCP_DROP_MSS_ZERO       an MSS option with the value 0.
 *         Window Scale above 14 is no drop: see TCP_SEG_NOTE_WSCALE_CLAMPED.
 */
enum tcp_drop tcp_seg_parse(const void *tcp_hdr, uint32_t len, struct tcp_seg *seg);

/**
 * SEG.LEN, RFC 9293 §3.4: "the number of octets occupied by the data in the
 * segment (counting SYN and FIN)".
 *
 * @return payload_len, plus 1 for SYN, plus 1 for FIN.
 */
static inline uint32_t
tcp_seg_len(const struct tcp_seg *s)
{
	return s->payload_len + ((s->flags & TCP_SYN) != 0) + ((s->flags & TCP_FIN) != 0);
}

/**
 * Display name of a drop reason: its tcp_drop.def name in lowercase
 * ("too_short"), or "none" for TCP_DROP_NONE.
 *
 * @return a constant string, or NULL if @p r is not below TCP_DROP__COUNT.
 */
const char *tcp_drop_name(enum tcp_drop r);

/**
 * One-line description of a drop reason, from tcp_drop.def ("not dropped"
 * for TCP_DROP_NONE).
 *
 * @return a constant string, or NULL if @p r is not below TCP_DROP__COUNT.
 */
const char *tcp_drop_desc(enum tcp_drop r);

#ifdef __cplusplus
}
#endif

#endif /* CODA_TCP_SEG_H */
