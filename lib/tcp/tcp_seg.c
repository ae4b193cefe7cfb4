/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP header parser and the drop-reason names. See tcp_seg.h for what is
 * checked, in which order, and why.
 *
 * Every multi-byte field is assembled from byte loads (load_be16/32), never
 * through a cast pointer: the header may sit at any alignment in an mbuf,
 * and the unit tests run under UBSan. Compilers turn these loads into one
 * load and a byte swap.
 */

/* First, so that the build proves the private header compiles on its own. */
#include "tcp_seg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static const char *const drop_names[TCP_DROP__COUNT] = {
	[TCP_DROP_NONE] = "none",
#define TCP_DROP(NAME, name, desc) [TCP_DROP_##NAME] = #name,
#include "tcp_drop.def"
#undef TCP_DROP
};

static const char *const drop_descs[TCP_DROP__COUNT] = {
	[TCP_DROP_NONE] = "not dropped",
#define TCP_DROP(NAME, name, desc) [TCP_DROP_##NAME] = desc,
#include "tcp_drop.def"
#undef TCP_DROP
};

const char *
tcp_drop_name(enum tcp_drop r)
{
	/* Through unsigned int: an out-of-range negative value fails the test too. */
	if ((unsigned int)r >= TCP_DROP__COUNT)
		return NULL;
	return drop_names[r];
}

const char *
tcp_drop_desc(enum tcp_drop r)
{
	if ((unsigned int)r >= TCP_DROP__COUNT)
		return NULL;
	return drop_descs[r];
}

static inline uint16_t
load_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Is @p olen a valid length for a known option @p kind? Unknown kinds: any length. */
static bool
opt_len_ok(uint8_t kind, uint8_t olen)
{
	switch (kind) {
	case TCP_OPTKIND_MSS:
		return olen == TCP_OPTLEN_MSS;
	case TCP_OPTKIND_WS:
		return olen == TCP_OPTLEN_WS;
	case TCP_OPTKIND_SACKOK:
		return olen == TCP_OPTLEN_SACKOK;
	case TCP_OPTKIND_TS:
		return olen == TCP_OPTLEN_TS;
	case TCP_OPTKIND_SACK:
		/* RFC 2018 §3: "specifies n blocks will have a length of 8*n+2 bytes". */
		return olen >= 2 + 8 && olen <= 2 + 8 * TCP_SACK_MAX_BLOCKS && (olen - 2) % 8 == 0;
	default:
		return true;
	}
}

/* Mark option @p bit present; a second occurrence of a kind is noted (the later one wins). */
static inline void
opt_seen(struct tcp_seg *seg, uint8_t bit)
{
	if (seg->opts & bit)
		seg->notes |= TCP_SEG_NOTE_OPT_DUP;
	seg->opts |= bit;
}

/*
 * Walk the @p size option bytes at @p o (the header past its first 20 bytes).
 * Invariant of the loop: off < size, so o[off] is inside the header; the
 * length byte and the body are checked against size - off before any read.
 */
static enum tcp_drop
parse_options(const uint8_t *o, uint32_t size, struct tcp_seg *seg)
{
	uint32_t off = 0;
	uint32_t i, n;
	uint8_t kind, olen;
	const uint8_t *body;

	while (off < size) {
		kind = o[off];
		if (kind == TCP_OPTKIND_EOL)
			break;
		if (kind == TCP_OPTKIND_NOP) {
			off++;
			continue;
		}
		if (size - off < 2)
			return TCP_DROP_OPT_TRUNCATED;
		olen = o[off + 1];
		if (olen < 2 || !opt_len_ok(kind, olen))
			return TCP_DROP_OPT_LEN_BAD;
		if (olen > size - off)
			return TCP_DROP_OPT_TRUNCATED;
		body = o + off + 2;

		switch (kind) {
		case TCP_OPTKIND_MSS:
			seg->mss = load_be16(body);
			if (seg->mss == 0)
				return TCP_DROP_MSS_ZERO;
			opt_seen(seg, TCP_OPT_MSS);
			break;
		case TCP_OPTKIND_WS:
			/* RFC 7323 §2.3: "MUST use 14 instead of the specified value". */
			opt_seen(seg, TCP_OPT_WS);
			if (body[0] > TCP_WSCALE_MAX) {
				seg->wscale = TCP_WSCALE_MAX;
				seg->notes |= TCP_SEG_NOTE_WSCALE_CLAMPED;
			} else {
				seg->wscale = body[0];
				seg->notes &= (uint8_t)~TCP_SEG_NOTE_WSCALE_CLAMPED;
			}
			break;
		case TCP_OPTKIND_SACKOK:
			opt_seen(seg, TCP_OPT_SACKOK);
			break;
		case TCP_OPTKIND_TS:
			opt_seen(seg, TCP_OPT_TS);
			seg->tsval = load_be32(body);
			seg->tsecr = load_be32(body + 4);
			break;
		case TCP_OPTKIND_SACK:
			/* A later SACK option replaces the earlier blocks. */
			opt_seen(seg, TCP_OPT_SACK);
			n = (uint32_t)(olen - 2) / 8;
			for (i = 0; i < n; i++) {
				seg->sack[i].start = load_be32(body + 8 * i);
				seg->sack[i].end = load_be32(body + 8 * i + 4);
			}
			for (; i < TCP_SACK_MAX_BLOCKS; i++) {
				seg->sack[i].start = 0;
				seg->sack[i].end = 0;
			}
			seg->nb_sack = (uint8_t)n;
			break;
		default:
			/* Unknown, or known and unused here: skipped by its length. */
			break;
		}
		off += olen;
	}
	return TCP_DROP_NONE;
}

enum tcp_drop
tcp_seg_parse(const void *tcp_hdr, uint32_t len, struct tcp_seg *seg)
{
	const uint8_t *h = tcp_hdr;
	uint32_t hdr_len;
	uint32_t i;

	if (len < TCP_HDR_MIN_LEN)
		return TCP_DROP_TOO_SHORT;
	hdr_len = (uint32_t)(h[12] >> 4) * 4;
	if (hdr_len < TCP_HDR_MIN_LEN)
		return TCP_DROP_DOFF_SMALL;
	if (hdr_len > len)
		return TCP_DROP_DOFF_PAST_END;

	seg->sport = load_be16(h);
	seg->dport = load_be16(h + 2);
	seg->seq = load_be32(h + 4);
	seg->ack = load_be32(h + 8);
	seg->flags = h[13];
	seg->wnd = load_be16(h + 14);
	seg->urp = load_be16(h + 18);
	seg->hdr_len = (uint8_t)hdr_len;
	seg->payload = h + hdr_len;
	seg->payload_len = len - hdr_len;

	seg->opts = 0;
	seg->notes = 0;
	seg->mss = 0;
	seg->wscale = 0;
	seg->nb_sack = 0;
	seg->tsval = 0;
	seg->tsecr = 0;
	for (i = 0; i < TCP_SACK_MAX_BLOCKS; i++) {
		seg->sack[i].start = 0;
		seg->sack[i].end = 0;
	}

	if (hdr_len == TCP_HDR_MIN_LEN)
		return TCP_DROP_NONE;
	return parse_options(h + TCP_HDR_MIN_LEN, hdr_len - TCP_HDR_MIN_LEN, seg);
}
