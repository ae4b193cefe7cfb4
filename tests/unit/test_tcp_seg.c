/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/tcp's header parser, tcp_seg_parse(), and of the drop
 * reasons of tcp_drop.def.
 *
 * Segments are written byte by byte, in network order, as they would come
 * off the wire; the expected values are written next to them. Every parse
 * runs on three copies of the input, each in a buffer of exactly `len`
 * bytes: one from malloc(len), where ASan catches a read outside it, one
 * ending where an inaccessible page starts and one starting where an
 * inaccessible page ends, where any over- or under-read faults in every
 * build. The three must agree. Then two million random inputs (random
 * bytes, and mutations of random valid segments) check that the parser
 * always returns a verdict with self-consistent fields.
 */

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "tcp_seg.h"
#include "test_rng.h"

/* Longest segment the tests build: a full header and some payload. */
#define SEG_MAX 128

/* Three pages: inaccessible, usable, inaccessible. */
static uint8_t *guard_map;
static uint8_t *guard_page;
static size_t page_size;
/*
 * parse()'s malloc copy: freed by the next parse() or the teardown, so that
 * a failed assertion leaks nothing.
 */
static uint8_t *heap;

static int
setup_guard(void **state)
{
	void *m;

	(void)state;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	m = mmap(NULL, 3 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	guard_map = m;
	guard_page = guard_map + page_size;
	if (mprotect(guard_map, page_size, PROT_NONE) != 0 ||
	    mprotect(guard_page + page_size, page_size, PROT_NONE) != 0)
		return -1;
	return 0;
}

static int
teardown_guard(void **state)
{
	(void)state;
	free(heap);
	heap = NULL;
	return munmap(guard_map, 3 * page_size);
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * What must hold after a parse of @p len bytes at @p buf, whatever they
 * are: the verdict is in range and is the right one for the fixed part of
 * the header; on success every field is consistent with the bytes and with
 * the others.
 */
static void
check_consistent(const uint8_t *buf, uint32_t len, enum tcp_drop r, const struct tcp_seg *s)
{
	uint32_t doff_len;
	unsigned int i;

	assert_true((unsigned int)r < TCP_DROP__COUNT);
	assert_non_null(tcp_drop_name(r));
	if (len < 20) {
		assert_int_equal(r, TCP_DROP_TOO_SHORT);
		return;
	}
	doff_len = (uint32_t)(buf[12] >> 4) * 4;
	if (doff_len < 20) {
		assert_int_equal(r, TCP_DROP_DOFF_SMALL);
		return;
	}
	if (doff_len > len) {
		assert_int_equal(r, TCP_DROP_DOFF_PAST_END);
		return;
	}
	/* The fixed header is sound: only an option can be the reason now. */
	assert_true(r == TCP_DROP_NONE || r == TCP_DROP_OPT_TRUNCATED ||
		    r == TCP_DROP_OPT_LEN_BAD || r == TCP_DROP_MSS_ZERO);
	/* An option can only be wrong if there is room for one. */
	assert_true(doff_len > 20 || r == TCP_DROP_NONE);
	if (r != TCP_DROP_NONE)
		return;

	assert_int_equal(s->hdr_len, doff_len);
	assert_in_range(s->hdr_len, 20, 60);
	assert_true(s->hdr_len <= len);
	assert_int_equal(s->payload_len, len - s->hdr_len);
	assert_ptr_equal(s->payload, buf + s->hdr_len);
	assert_int_equal(s->sport, be16(buf));
	assert_int_equal(s->dport, be16(buf + 2));
	assert_int_equal(s->seq, be32(buf + 4));
	assert_int_equal(s->ack, be32(buf + 8));
	assert_int_equal(s->flags, buf[13]);
	assert_int_equal(s->wnd, be16(buf + 14));
	assert_int_equal(s->urp, be16(buf + 18));
	assert_int_equal(tcp_seg_len(s), s->payload_len + !!(buf[13] & 0x02) + !!(buf[13] & 0x01));

	assert_int_equal(s->opts & ~0x1fu, 0);
	assert_int_equal(s->notes & ~0x03u, 0);
	assert_true(s->wscale <= 14);
	assert_true(s->nb_sack <= 4);
	assert_int_equal(s->mss != 0, (s->opts & TCP_OPT_MSS) != 0);
	assert_int_equal(s->nb_sack != 0, (s->opts & TCP_OPT_SACK) != 0);
	if (!(s->opts & TCP_OPT_WS))
		assert_int_equal(s->wscale, 0);
	if (s->notes & TCP_SEG_NOTE_WSCALE_CLAMPED)
		assert_true((s->opts & TCP_OPT_WS) && s->wscale == 14);
	if (!(s->opts & TCP_OPT_TS))
		assert_true(s->tsval == 0 && s->tsecr == 0);
	for (i = s->nb_sack; i < 4; i++)
		assert_true(s->sack[i].start == 0 && s->sack[i].end == 0);
	/* Options are only parsed with room for one. */
	if (s->hdr_len == 20)
		assert_true(s->opts == 0 && s->notes == 0);
}

static void
assert_seg_same(const struct tcp_seg *a, const uint8_t *base_a, const struct tcp_seg *b,
		const uint8_t *base_b)
{
	unsigned int i;

	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->wnd, b->wnd);
	assert_int_equal(a->urp, b->urp);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->hdr_len, b->hdr_len);
	assert_int_equal(a->opts, b->opts);
	assert_int_equal(a->notes, b->notes);
	assert_int_equal(a->payload_len, b->payload_len);
	assert_int_equal(a->payload - base_a, b->payload - base_b);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->nb_sack, b->nb_sack);
	assert_int_equal(a->tsval, b->tsval);
	assert_int_equal(a->tsecr, b->tsecr);
	for (i = 0; i < TCP_SACK_MAX_BLOCKS; i++) {
		assert_int_equal(a->sack[i].start, b->sack[i].start);
		assert_int_equal(a->sack[i].end, b->sack[i].end);
	}
}

/*
 * Parse the @p len bytes at @p bytes from three buffers of exactly @p len
 * bytes (see the file comment), check that they agree and that the result
 * is consistent. On success seg->payload points into @p bytes.
 */
static enum tcp_drop
parse(const uint8_t *bytes, uint32_t len, struct tcp_seg *seg)
{
	struct tcp_seg s_end, s_start;
	enum tcp_drop r, r_end, r_start;
	uint8_t *at_end, *at_start;

	assert_true(len <= page_size);
	free(heap);
	heap = malloc(len); /* NULL is fine for 0 bytes: the parser reads nothing then */
	assert_true(heap != NULL || len == 0);
	at_end = guard_page + page_size - len;
	at_start = guard_page;
	if (len > 0) {
		memcpy(heap, bytes, len);
		memcpy(at_end, bytes, len);
		memcpy(at_start, bytes, len);
	}

	r = tcp_seg_parse(heap, len, seg);
	check_consistent(heap, len, r, seg);
	r_end = tcp_seg_parse(at_end, len, &s_end);
	check_consistent(at_end, len, r_end, &s_end);
	r_start = tcp_seg_parse(at_start, len, &s_start);
	check_consistent(at_start, len, r_start, &s_start);
	assert_int_equal(r_end, r);
	assert_int_equal(r_start, r);
	if (r == TCP_DROP_NONE) {
		assert_seg_same(seg, heap, &s_end, at_end);
		assert_seg_same(seg, heap, &s_start, at_start);
		seg->payload = bytes + (seg->payload - heap);
	}
	free(heap);
	heap = NULL;
	return r;
}

/*
 * The header every hand-built segment starts from: 0x1234 -> 0x0050 (port
 * 80), seq 0x89abcdef, ack 0x01234567, ACK, window 0xfedc, checksum 0
 * (never checked here), urgent pointer 0x0102.
 */
static const uint8_t base_hdr[20] = {
	0x12, 0x34, 0x00, 0x50, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
	0x45, 0x67, 0x50, 0x10, 0xfe, 0xdc, 0x00, 0x00, 0x01, 0x02,
};

/*
 * Write the base header, @p optlen option bytes (a multiple of 4: the data
 * offset is set to cover them exactly) and @p payload_len payload bytes
 * 0xa0, 0xa1, ... into @p b. @return the segment length.
 */
static uint32_t
build(uint8_t *b, const uint8_t *opts, uint32_t optlen, uint32_t payload_len)
{
	uint32_t i;

	assert_true(optlen % 4 == 0 && optlen <= 40);
	assert_true(20 + optlen + payload_len <= SEG_MAX);
	memcpy(b, base_hdr, 20);
	b[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	if (optlen > 0)
		memcpy(b + 20, opts, optlen);
	for (i = 0; i < payload_len; i++)
		b[20 + optlen + i] = (uint8_t)(0xa0 + i);
	return 20 + optlen + payload_len;
}

static enum tcp_drop
parse_opts_payload(struct tcp_seg *seg, const uint8_t *opts, uint32_t optlen, uint32_t payload_len)
{
	static uint8_t b[SEG_MAX];

	return parse(b, build(b, opts, optlen, payload_len), seg);
}

/* Parse a segment with the option bytes given (a multiple of 4) and no payload. */
#define OPTS(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define PARSE_OPTS(seg, ...) parse_opts_payload(seg, OPTS(__VA_ARGS__), 0)

/* ------------------------------------------------------------------ */

static void
test_drop_names(void **state)
{
	static const struct {
		enum tcp_drop r;
		const char *upper;
	} defs[] = {
#define TCP_DROP(NAME, name, desc) {TCP_DROP_##NAME, #NAME},
#include "tcp_drop.def"
#undef TCP_DROP
	};
	char lower[64];
	unsigned int i, j, k;

	(void)state;
	assert_int_equal(sizeof(defs) / sizeof(defs[0]), TCP_DROP__COUNT - 1);
	assert_int_equal(TCP_DROP_NONE, 0);
	assert_string_equal(tcp_drop_name(TCP_DROP_NONE), "none");
	assert_non_null(tcp_drop_desc(TCP_DROP_NONE));
	assert_string_equal(tcp_drop_name(TCP_DROP_TOO_SHORT), "too_short");
	assert_string_equal(tcp_drop_name(TCP_DROP_MSS_ZERO), "mss_zero");
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		assert_int_equal(defs[i].r, i + 1);
		/* The second column of tcp_drop.def is the first in lowercase. */
		for (k = 0; defs[i].upper[k] != '\0' && k < sizeof(lower) - 1; k++)
			lower[k] = (char)tolower((unsigned char)defs[i].upper[k]);
		lower[k] = '\0';
		assert_string_equal(tcp_drop_name(defs[i].r), lower);
		assert_non_null(tcp_drop_desc(defs[i].r));
		assert_true(strlen(tcp_drop_desc(defs[i].r)) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(tcp_drop_name(defs[i].r), tcp_drop_name(defs[j].r));
	}
	assert_null(tcp_drop_name(TCP_DROP__COUNT));
	assert_null(tcp_drop_name((enum tcp_drop)1000));
	assert_null(tcp_drop_name((enum tcp_drop)(-1)));
	assert_null(tcp_drop_desc(TCP_DROP__COUNT));
	assert_null(tcp_drop_desc((enum tcp_drop)(-1)));
}

/* A 20-byte header with payload: every fixed field, and no option. */
static void
test_plain_header(void **state)
{
	uint8_t b[SEG_MAX];
	struct tcp_seg s;
	uint32_t len;

	(void)state;
	len = build(b, NULL, 0, 5);
	b[12] |= 0x0f; /* reserved bits: ignored */
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
	assert_int_equal(s.sport, 0x1234);
	assert_int_equal(s.dport, 80);
	assert_int_equal(s.seq, 0x89abcdef);
	assert_int_equal(s.ack, 0x01234567);
	assert_int_equal(s.flags, TCP_ACK);
	assert_int_equal(s.wnd, 0xfedc);
	assert_int_equal(s.urp, 0x0102);
	assert_int_equal(s.hdr_len, 20);
	assert_int_equal(s.payload_len, 5);
	assert_ptr_equal(s.payload, b + 20);
	assert_int_equal(s.payload[0], 0xa0);
	assert_int_equal(s.opts, 0);
	assert_int_equal(s.notes, 0);
	assert_int_equal(s.mss, 0);
	assert_int_equal(s.wscale, 0);
	assert_int_equal(s.nb_sack, 0);
	assert_int_equal(tcp_seg_len(&s), 5);

	/* Exactly 20 bytes: no payload, the payload pointer one past the end. */
	len = build(b, NULL, 0, 0);
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
	assert_int_equal(s.payload_len, 0);
	assert_ptr_equal(s.payload, b + 20);
}

/* Each flag bit lands on its own define; SEG.LEN counts SYN and FIN. */
static void
test_flags_and_seg_len(void **state)
{
	static const uint8_t bits[8] = {TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH,
					TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR};
	uint8_t b[SEG_MAX];
	struct tcp_seg s;
	uint32_t len;
	unsigned int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		assert_int_equal(bits[i], 1u << i);
		len = build(b, NULL, 0, 3);
		b[13] = (uint8_t)(1u << i);
		assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
		assert_int_equal(s.flags, bits[i]);
		assert_int_equal(tcp_seg_len(&s), 3 + (bits[i] == TCP_SYN || bits[i] == TCP_FIN));
	}
	len = build(b, NULL, 0, 0);
	b[13] = TCP_SYN | TCP_FIN | TCP_ACK;
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
	assert_int_equal(tcp_seg_len(&s), 2);
	b[13] = 0xff;
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
	assert_int_equal(s.flags, 0xff);
	assert_int_equal(tcp_seg_len(&s), 2);
	b[13] = TCP_ACK;
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
	assert_int_equal(tcp_seg_len(&s), 0);
}

/* Every option coda knows, in one header, with a payload after it. */
/* The option bytes below are laid out by hand, one option a line. */
/* clang-format off */
static void
test_all_options(void **state)
{
	struct tcp_seg s;

	(void)state;
	assert_int_equal(parse_opts_payload(&s, OPTS(
		0x02, 0x04, 0x05, 0xb4,		/* MSS 1460 */
		0x01,				/* NOP */
		0x03, 0x03, 0x07,		/* WS 7 */
		0x04, 0x02,			/* SACK-permitted */
		0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* TS */
		0x05, 0x0a, 0x00, 0x00, 0x10, 0x00, 0xff, 0xff, 0xff, 0xf0, /* SACK, 1 block */
		0x01, 0x00),			/* NOP, EOL */
		7), TCP_DROP_NONE);
	assert_int_equal(s.hdr_len, 52);
	assert_int_equal(s.payload_len, 7);
	assert_int_equal(s.payload[0], 0xa0);
	assert_int_equal(s.opts,
			 TCP_OPT_MSS | TCP_OPT_WS | TCP_OPT_SACKOK | TCP_OPT_TS | TCP_OPT_SACK);
	assert_int_equal(s.notes, 0);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.wscale, 7);
	assert_int_equal(s.tsval, 0x11223344);
	assert_int_equal(s.tsecr, 0x55667788);
	assert_int_equal(s.nb_sack, 1);
	assert_int_equal(s.sack[0].start, 0x00001000);
	assert_int_equal(s.sack[0].end, 0xfffffff0);
	/* The fixed header is unaffected by the options. */
	assert_int_equal(s.seq, 0x89abcdef);
	assert_int_equal(s.wnd, 0xfedc);

	/* A Linux SYN: MSS, SACK-permitted, TS, NOP, WS. */
	assert_int_equal(PARSE_OPTS(&s,
		0x02, 0x04, 0x23, 0x28,
		0x04, 0x02,
		0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x01,
		0x03, 0x03, 0x0e), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_MSS | TCP_OPT_SACKOK | TCP_OPT_TS | TCP_OPT_WS);
	assert_int_equal(s.mss, 9000);
	assert_int_equal(s.wscale, 14);
	assert_int_equal(s.notes, 0); /* 14 is in range: no clamp */
	assert_int_equal(s.tsval, 1);
	assert_int_equal(s.tsecr, 0);
	assert_int_equal(s.nb_sack, 0);

	/* Four SACK blocks, the most there is room for. */
	assert_int_equal(PARSE_OPTS(&s,
		0x01, 0x01,
		0x05, 0x22,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
		0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06,
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_SACK);
	assert_int_equal(s.nb_sack, 4);
	assert_int_equal(s.sack[0].start, 1);
	assert_int_equal(s.sack[0].end, 2);
	assert_int_equal(s.sack[1].start, 3);
	assert_int_equal(s.sack[1].end, 4);
	assert_int_equal(s.sack[2].start, 5);
	assert_int_equal(s.sack[2].end, 6);
	assert_int_equal(s.sack[3].start, 0xffffffff);
	assert_int_equal(s.sack[3].end, 0);
}
/* clang-format on */

static void
test_drop_too_short(void **state)
{
	uint8_t b[SEG_MAX];
	struct tcp_seg s;
	uint32_t len;

	(void)state;
	build(b, NULL, 0, 0);
	for (len = 0; len < 20; len++)
		assert_int_equal(parse(b, len, &s), TCP_DROP_TOO_SHORT);
	assert_int_equal(tcp_seg_parse(NULL, 0, &s), TCP_DROP_TOO_SHORT);
	assert_int_equal(parse(b, 20, &s), TCP_DROP_NONE);
}

static void
test_drop_doff_small(void **state)
{
	uint8_t b[SEG_MAX];
	struct tcp_seg s;
	uint32_t len;
	unsigned int doff;

	(void)state;
	len = build(b, NULL, 0, 40);
	for (doff = 0; doff < 5; doff++) {
		b[12] = (uint8_t)(doff << 4);
		assert_int_equal(parse(b, len, &s), TCP_DROP_DOFF_SMALL);
		b[12] = (uint8_t)(doff << 4 | 0x0f); /* reserved bits do not count */
		assert_int_equal(parse(b, len, &s), TCP_DROP_DOFF_SMALL);
	}
	b[12] = 5 << 4;
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
}

static void
test_drop_doff_past_end(void **state)
{
	uint8_t b[SEG_MAX];
	struct tcp_seg s;
	uint32_t len;

	(void)state;
	/* Data offset 6 (24 bytes): 20 to 23 bytes are too few, 24 do. */
	build(b, OPTS(0x01, 0x01, 0x01, 0x01), 0);
	for (len = 20; len < 24; len++)
		assert_int_equal(parse(b, len, &s), TCP_DROP_DOFF_PAST_END);
	assert_int_equal(parse(b, 24, &s), TCP_DROP_NONE);
	assert_int_equal(s.payload_len, 0);

	/* Data offset 15 (60 bytes) in 59 and in 20. */
	build(b, NULL, 0, 60);
	b[12] = 0xf0;
	assert_int_equal(parse(b, 59, &s), TCP_DROP_DOFF_PAST_END);
	assert_int_equal(parse(b, 20, &s), TCP_DROP_DOFF_PAST_END);
}

/* The option bytes below are laid out by hand, one option a line. */
/* clang-format off */
static void
test_drop_opt_truncated(void **state)
{
	struct tcp_seg s;

	(void)state;
	/* The kind is the last byte of the header: no room for its length. */
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x01, 0x02), TCP_DROP_OPT_TRUNCATED);
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x01, 0x1e), TCP_DROP_OPT_TRUNCATED);
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x01, 0x08),
			 TCP_DROP_OPT_TRUNCATED);

	/*
	 * The body runs past the header, one byte: MSS at option offset 1 of 4.
	 * The payload follows, so the byte exists, but it is not the header's.
	 */
	assert_int_equal(parse_opts_payload(&s, OPTS(0x01, 0x02, 0x04, 0x05), 8),
			 TCP_DROP_OPT_TRUNCATED);
	/* Timestamps needing 10 bytes with 8 left. */
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x01, 0x01,
				    0x08, 0x0a, 0, 0, 0, 0, 0, 0), TCP_DROP_OPT_TRUNCATED);
	/* Unknown kinds too: length 8 with 4 left, length 255. */
	assert_int_equal(PARSE_OPTS(&s, 0x1e, 0x08, 0x00, 0x00), TCP_DROP_OPT_TRUNCATED);
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0xfd, 0xff), TCP_DROP_OPT_TRUNCATED);
	/* SACK with 4 blocks (34 bytes) starting at option offset 8 of 40. */
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
				    0x05, 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 TCP_DROP_OPT_TRUNCATED);
}
/* clang-format on */

/* The option bytes below are laid out by hand, one option a line. */
/* clang-format off */
static void
test_drop_opt_len_bad(void **state)
{
	struct tcp_seg s;

	(void)state;
	/* Lengths 0 and 1 cannot be walked, known kind or not. */
	assert_int_equal(PARSE_OPTS(&s, 0x1e, 0x00, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x1e, 0x01, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x00, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x05, 0x01), TCP_DROP_OPT_LEN_BAD);

	/* MSS: 4 only. */
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x03, 0x05, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x05, 0x05, 0xb4, 0x00, 0x01, 0x01, 0x01),
			 TCP_DROP_OPT_LEN_BAD);
	/* Window scale: 3 only. */
	assert_int_equal(PARSE_OPTS(&s, 0x03, 0x02, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x03, 0x04, 0x07, 0x00), TCP_DROP_OPT_LEN_BAD);
	/* SACK-permitted: 2 only. */
	assert_int_equal(PARSE_OPTS(&s, 0x04, 0x03, 0x00, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x04, 0x04, 0x00, 0x00), TCP_DROP_OPT_LEN_BAD);
	/* Timestamps: 10 only. */
	assert_int_equal(PARSE_OPTS(&s, 0x08, 0x08, 0, 0, 0, 0, 0, 0), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x08, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 TCP_DROP_OPT_LEN_BAD);
	/* SACK: 10, 18, 26, 34. Not 2 (no block), 9, 11, 17, nor 42 (5 blocks). */
	assert_int_equal(PARSE_OPTS(&s, 0x05, 0x02, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x05, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x01),
			 TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x05, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01),
			 TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x05, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 0, 0, 0, 0x01, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);
	assert_int_equal(PARSE_OPTS(&s, 0x05, 0x2a, 0x01, 0x01), TCP_DROP_OPT_LEN_BAD);

	/* A wrong length is reported as such even where the option would not fit. */
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x02, 0x06), TCP_DROP_OPT_LEN_BAD);

	/* After a good option: the parse goes on to the bad one. */
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x05, 0xb4, 0x03, 0x02, 0x01, 0x01),
			 TCP_DROP_OPT_LEN_BAD);
}
/* clang-format on */

static void
test_drop_mss_zero(void **state)
{
	struct tcp_seg s;

	(void)state;
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x00, 0x00), TCP_DROP_MSS_ZERO);
	/* Also when a valid MSS came first (the later one wins, and it is 0). */
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x05, 0xb4, 0x02, 0x04, 0x00, 0x00),
			 TCP_DROP_MSS_ZERO);
	/* And when a valid one comes after: a zero MSS is never accepted. */
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4),
			 TCP_DROP_MSS_ZERO);
	/* The smallest and largest accepted. */
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x00, 0x01), TCP_DROP_NONE);
	assert_int_equal(s.mss, 1);
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0xff, 0xff), TCP_DROP_NONE);
	assert_int_equal(s.mss, 65535);
}

/* RFC 7323 §2.3: above 14, "MUST use 14 instead"; accepted, noted. */
static void
test_wscale_clamp(void **state)
{
	static const struct {
		uint8_t wire, want;
		bool clamped;
	} cases[] = {
		{0, 0, false},	{1, 1, false},	{13, 13, false}, {14, 14, false},
		{15, 14, true}, {16, 14, true}, {128, 14, true}, {255, 14, true},
	};
	struct tcp_seg s;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(PARSE_OPTS(&s, 0x01, 0x03, 0x03, cases[i].wire), TCP_DROP_NONE);
		assert_int_equal(s.opts, TCP_OPT_WS);
		assert_int_equal(s.wscale, cases[i].want);
		assert_int_equal((s.notes & TCP_SEG_NOTE_WSCALE_CLAMPED) != 0, cases[i].clamped);
		assert_int_equal(s.notes & TCP_SEG_NOTE_OPT_DUP, 0);
	}
}

/* A kind that occurs twice: the later occurrence wins, and the duplicate is noted. */
/* The option bytes below are laid out by hand, one option a line. */
/* clang-format off */
static void
test_duplicate_options(void **state)
{
	struct tcp_seg s;

	(void)state;
	assert_int_equal(PARSE_OPTS(&s, 0x02, 0x04, 0x03, 0xe8, 0x02, 0x04, 0x05, 0xb4),
			 TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_MSS);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.notes, TCP_SEG_NOTE_OPT_DUP);

	/* A clamped WS, then one in range: 3, and no clamp note. */
	assert_int_equal(PARSE_OPTS(&s, 0x03, 0x03, 0x0f, 0x03, 0x03, 0x03, 0x01, 0x01),
			 TCP_DROP_NONE);
	assert_int_equal(s.wscale, 3);
	assert_int_equal(s.notes, TCP_SEG_NOTE_OPT_DUP);
	/* The other way round: 14, clamped. */
	assert_int_equal(PARSE_OPTS(&s, 0x03, 0x03, 0x03, 0x03, 0x03, 0xff, 0x01, 0x01),
			 TCP_DROP_NONE);
	assert_int_equal(s.wscale, 14);
	assert_int_equal(s.notes, TCP_SEG_NOTE_OPT_DUP | TCP_SEG_NOTE_WSCALE_CLAMPED);

	/* Timestamps. */
	assert_int_equal(PARSE_OPTS(&s, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2,
				    0x08, 0x0a, 0, 0, 0, 3, 0, 0, 0, 4), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_TS);
	assert_int_equal(s.tsval, 3);
	assert_int_equal(s.tsecr, 4);
	assert_int_equal(s.notes, TCP_SEG_NOTE_OPT_DUP);

	/* SACK: two blocks, then one. The later option replaces all the blocks. */
	assert_int_equal(PARSE_OPTS(&s,
		0x05, 0x12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		0x05, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_SACK);
	assert_int_equal(s.nb_sack, 1);
	assert_int_equal(s.sack[0].start, 5);
	assert_int_equal(s.sack[0].end, 6);
	assert_int_equal(s.sack[1].start, 0);
	assert_int_equal(s.sack[1].end, 0);
	assert_int_equal(s.notes, TCP_SEG_NOTE_OPT_DUP);

	/* SACK-permitted twice: present, noted. */
	assert_int_equal(PARSE_OPTS(&s, 0x04, 0x02, 0x04, 0x02), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_SACKOK);
	assert_int_equal(s.notes, TCP_SEG_NOTE_OPT_DUP);

	/* Unknown kinds and NOPs repeated are no duplicate of note. */
	assert_int_equal(PARSE_OPTS(&s, 0x1e, 0x02, 0x1e, 0x02, 0x01, 0x01, 0x01, 0x01),
			 TCP_DROP_NONE);
	assert_int_equal(s.opts, 0);
	assert_int_equal(s.notes, 0);
}
/* clang-format on */

/* Kinds the parser does not know are skipped by their length, whatever it is. */
/* The option bytes below are laid out by hand, one option a line. */
/* clang-format off */
static void
test_unknown_options_skipped(void **state)
{
	struct tcp_seg s;

	(void)state;
	assert_int_equal(PARSE_OPTS(&s,
		0x1e, 0x02,					/* kind 30, empty */
		0xfd, 0x06, 0xde, 0xad, 0xbe, 0xef,		/* kind 253 (experiment), 4 bytes */
		0x13, 0x12, 0x05, 0x0a, 0x02, 0x00, 0x08, 0x01,	/* kind 19 (MD5), 16 bytes */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* that look like options */
		0x00, 0x00,
		0x02, 0x04, 0x05, 0xb4,				/* MSS 1460 */
		0x22, 0x03, 0x07,				/* kind 34 (TFO), 1 byte */
		0x01, 0x01, 0x01),				/* NOPs */
		TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_MSS);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.nb_sack, 0);
	assert_int_equal(s.notes, 0);

	/* Kinds 6, 7 (RFC 1072 echo) and 255: unknown here. */
	assert_int_equal(PARSE_OPTS(&s, 0x06, 0x06, 0, 0, 0, 0, 0x07, 0x06, 0, 0, 0, 0,
				    0xff, 0x02, 0x03, 0x03, 0x09, 0x01, 0x01, 0x01), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_WS);
	assert_int_equal(s.wscale, 9);
}
/* clang-format on */

/* End of Option List: nothing after it is read. */
static void
test_eol_stops(void **state)
{
	struct tcp_seg s;

	(void)state;
	/* First byte: no option at all; what follows would be a bad length. */
	assert_int_equal(PARSE_OPTS(&s, 0x00, 0x02, 0x00, 0x00), TCP_DROP_NONE);
	assert_int_equal(s.opts, 0);
	/* A valid MSS after EOL is not reported either. */
	assert_int_equal(PARSE_OPTS(&s, 0x03, 0x03, 0x05, 0x00, 0x02, 0x04, 0x05, 0xb4),
			 TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_WS);
	assert_int_equal(s.mss, 0);
	/* Nor a truncated one, nor a zero MSS. */
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x00, 0x08, 0x0a), TCP_DROP_NONE);
	assert_int_equal(PARSE_OPTS(&s, 0x00, 0x01, 0x01, 0x01, 0x02, 0x04, 0x00, 0x00),
			 TCP_DROP_NONE);
	assert_int_equal(s.opts, 0);
	/* EOL as the last byte. */
	assert_int_equal(PARSE_OPTS(&s, 0x04, 0x02, 0x01, 0x00), TCP_DROP_NONE);
	assert_int_equal(s.opts, TCP_OPT_SACKOK);
}

/* Options ending exactly on the header's last byte, then payload that looks like options. */
/* The option bytes below are laid out by hand, one option a line. */
/* clang-format off */
static void
test_options_fill_header(void **state)
{
	static const uint8_t mss_then_payload[] = {0x02, 0x04, 0x05, 0xb4};
	uint8_t b[SEG_MAX];
	struct tcp_seg s;
	uint32_t len;

	(void)state;
	/* 4 bytes: MSS. The payload holds a zero MSS that must not be parsed. */
	len = build(b, mss_then_payload, 4, 4);
	b[24] = 0x02;
	b[25] = 0x04;
	b[26] = 0x00;
	b[27] = 0x00;
	assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
	assert_int_equal(s.hdr_len, 24);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.payload_len, 4);
	assert_ptr_equal(s.payload, b + 24);

	/* 40 bytes: MSS, TS, SACK with 3 blocks (4 + 10 + 26). */
	assert_int_equal(parse_opts_payload(&s, OPTS(
		0x02, 0x04, 0x05, 0xb4,
		0x08, 0x0a, 0, 0, 0, 9, 0, 0, 0, 8,
		0x05, 0x1a, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		0, 0, 0, 5, 0, 0, 0, 6), 3), TCP_DROP_NONE);
	assert_int_equal(s.hdr_len, 60);
	assert_int_equal(s.payload_len, 3);
	assert_int_equal(s.opts, TCP_OPT_MSS | TCP_OPT_TS | TCP_OPT_SACK);
	assert_int_equal(s.nb_sack, 3);
	assert_int_equal(s.sack[2].start, 5);
	assert_int_equal(s.sack[2].end, 6);

	/* 40 bytes, ending in a 4-block SACK; nothing after it in the segment. */
	assert_int_equal(PARSE_OPTS(&s,
		0x01, 0x04, 0x02, 0x03, 0x03, 0x02,
		0x05, 0x22, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8), TCP_DROP_NONE);
	assert_int_equal(s.hdr_len, 60);
	assert_int_equal(s.payload_len, 0);
	assert_int_equal(s.opts, TCP_OPT_SACKOK | TCP_OPT_WS | TCP_OPT_SACK);
	assert_int_equal(s.wscale, 2);
	assert_int_equal(s.nb_sack, 4);
	assert_int_equal(s.sack[3].end, 8);

	/* An unknown option ending on the last byte. */
	assert_int_equal(PARSE_OPTS(&s, 0x01, 0x01, 0x1e, 0x06, 0, 0, 0, 0), TCP_DROP_NONE);
	/* A NOP as the last byte. */
	assert_int_equal(PARSE_OPTS(&s, 0x03, 0x03, 0x01, 0x01), TCP_DROP_NONE);
	assert_int_equal(s.wscale, 1);
}
/* clang-format on */

/* ------------------------------------------------------------------ */
/* Random inputs. */

#define NB_RANDOM 1000000
#define NB_MUTATED 1000000

/*
 * Write a random valid segment into @p b (room for SEG_MAX bytes): random
 * fixed fields, options in random order (duplicates, unknown kinds, NOP and
 * EOL padding included), a random payload. Fill @p exp with what the parser
 * must return, applying the options in order as the parser documents
 * (later wins). @return the length.
 */
static uint32_t
gen_valid(uint8_t *b, struct tcp_seg *exp)
{
	uint8_t o[40];
	uint32_t n = 0, i, k, olen, plen;
	unsigned int nb, j;
	uint8_t v;

	memset(exp, 0, sizeof(*exp));
	nb = (unsigned int)rnd_below(9);
	for (j = 0; j < nb; j++) {
		switch (rnd_below(8)) {
		case 0:
			if (n + 1 > 40)
				break;
			o[n++] = 0x01;
			break;
		case 1:
			if (n + 4 > 40)
				break;
			o[n] = 0x02;
			o[n + 1] = 0x04;
			if (rnd_below(4) == 0) {
				/* One bit set: one flip away from a zero MSS. */
				o[n + 2] = 0;
				o[n + 3] = (uint8_t)(1u << rnd_below(8));
			} else {
				v = (uint8_t)rnd();
				o[n + 2] = v;
				o[n + 3] = (uint8_t)(rnd() | (v == 0)); /* never 0 */
			}
			if (exp->opts & TCP_OPT_MSS)
				exp->notes |= TCP_SEG_NOTE_OPT_DUP;
			exp->opts |= TCP_OPT_MSS;
			exp->mss = be16(o + n + 2);
			n += 4;
			break;
		case 2:
			if (n + 3 > 40)
				break;
			v = rnd_below(2) ? (uint8_t)rnd_below(15) : (uint8_t)rnd();
			o[n] = 0x03;
			o[n + 1] = 0x03;
			o[n + 2] = v;
			if (exp->opts & TCP_OPT_WS)
				exp->notes |= TCP_SEG_NOTE_OPT_DUP;
			exp->opts |= TCP_OPT_WS;
			exp->wscale = v > 14 ? 14 : v;
			if (v > 14)
				exp->notes |= TCP_SEG_NOTE_WSCALE_CLAMPED;
			else
				exp->notes &= (uint8_t)~TCP_SEG_NOTE_WSCALE_CLAMPED;
			n += 3;
			break;
		case 3:
			if (n + 2 > 40)
				break;
			o[n] = 0x04;
			o[n + 1] = 0x02;
			if (exp->opts & TCP_OPT_SACKOK)
				exp->notes |= TCP_SEG_NOTE_OPT_DUP;
			exp->opts |= TCP_OPT_SACKOK;
			n += 2;
			break;
		case 4:
			if (n + 10 > 40)
				break;
			o[n] = 0x08;
			o[n + 1] = 0x0a;
			for (i = 2; i < 10; i++)
				o[n + i] = (uint8_t)rnd();
			if (exp->opts & TCP_OPT_TS)
				exp->notes |= TCP_SEG_NOTE_OPT_DUP;
			exp->opts |= TCP_OPT_TS;
			exp->tsval = be32(o + n + 2);
			exp->tsecr = be32(o + n + 6);
			n += 10;
			break;
		case 5:
			k = 1 + (uint32_t)rnd_below(4);
			olen = 2 + 8 * k;
			if (n + olen > 40)
				break;
			o[n] = 0x05;
			o[n + 1] = (uint8_t)olen;
			for (i = 2; i < olen; i++)
				o[n + i] = (uint8_t)rnd();
			if (exp->opts & TCP_OPT_SACK)
				exp->notes |= TCP_SEG_NOTE_OPT_DUP;
			exp->opts |= TCP_OPT_SACK;
			memset(exp->sack, 0, sizeof(exp->sack));
			for (i = 0; i < k; i++) {
				exp->sack[i].start = be32(o + n + 2 + 8 * i);
				exp->sack[i].end = be32(o + n + 6 + 8 * i);
			}
			exp->nb_sack = (uint8_t)k;
			n += olen;
			break;
		default:
			/* An unknown kind (never 0..5 or 8), any sane length that fits. */
			do
				v = (uint8_t)rnd();
			while (v <= 5 || v == 8);
			if (n + 2 > 40)
				break;
			olen = 2 + (uint32_t)rnd_below(40 - n - 1);
			o[n] = v;
			o[n + 1] = (uint8_t)olen;
			for (i = 2; i < olen; i++)
				o[n + i] = (uint8_t)rnd();
			n += olen;
			break;
		}
	}
	/* Pad to a multiple of 4: NOPs, or EOL and garbage. */
	if (n < 40 && rnd_below(4) == 0) {
		o[n++] = 0x00;
		while (n % 4 != 0)
			o[n++] = (uint8_t)rnd();
	}
	while (n % 4 != 0)
		o[n++] = 0x01;

	plen = (uint32_t)rnd_below(41);
	for (i = 0; i < 20; i++)
		b[i] = (uint8_t)rnd();
	memcpy(b + 20, o, n);
	b[12] = (uint8_t)(((20 + n) / 4) << 4 | (b[12] & 0x0f));
	for (i = 0; i < plen; i++)
		b[20 + n + i] = (uint8_t)rnd();

	exp->sport = be16(b);
	exp->dport = be16(b + 2);
	exp->seq = be32(b + 4);
	exp->ack = be32(b + 8);
	exp->flags = b[13];
	exp->wnd = be16(b + 14);
	exp->urp = be16(b + 18);
	exp->hdr_len = (uint8_t)(20 + n);
	exp->payload_len = plen;
	exp->payload = b + 20 + n;
	return 20 + n + plen;
}

static void
count_outcome(uint64_t *seen, enum tcp_drop r)
{
	assert_true((unsigned int)r < TCP_DROP__COUNT);
	seen[r]++;
}

static void
assert_every_outcome(const uint64_t *seen, const char *what)
{
	unsigned int r;

	for (r = 0; r < TCP_DROP__COUNT; r++) {
		if (seen[r] == 0)
			fail_msg("%s: no input gave %s", what, tcp_drop_name((enum tcp_drop)r));
	}
}

/*
 * Random byte strings of 0 to 80 bytes. Half are uniform; in the other half
 * the option area is drawn from the bytes that matter (kinds 0 to 5 and 8,
 * small lengths) and the data offset from those that fit, so that the
 * option walk, not only the fixed checks, sees random input.
 */
static void
test_random_bytes(void **state)
{
	static const uint8_t interesting[] = {0, 1, 2, 3, 4, 5, 8, 10, 18, 26, 34, 0x1e, 0xff};
	uint64_t seen[TCP_DROP__COUNT] = {0};
	uint8_t b[80];
	struct tcp_seg s;
	uint32_t len, i;
	unsigned int iter;

	(void)state;
	for (iter = 0; iter < NB_RANDOM; iter++) {
		len = (uint32_t)rnd_below(81);
		for (i = 0; i < len; i++)
			b[i] = (uint8_t)rnd();
		if (iter % 2 == 1 && len >= 20) {
			b[12] = (uint8_t)((5 + rnd_below((len > 60 ? 60 : len) / 4 - 4)) << 4);
			for (i = 20; i < len; i++)
				if (rnd_below(4) != 0)
					b[i] = interesting[rnd_below(sizeof(interesting))];
		}
		count_outcome(seen, parse(b, len, &s));
	}
	assert_every_outcome(seen, "random bytes");
}

/*
 * Random valid segments: each must parse to exactly the fields it was built
 * with. Then the same segment mutated (bit flips, a truncation, or both)
 * must still get a consistent verdict.
 */
static void
test_random_mutations(void **state)
{
	uint64_t seen[TCP_DROP__COUNT] = {0};
	uint8_t b[SEG_MAX];
	struct tcp_seg s, exp;
	uint32_t len, i, flips, mode;
	unsigned int iter;

	(void)state;
	for (iter = 0; iter < NB_MUTATED; iter++) {
		len = gen_valid(b, &exp);
		assert_int_equal(parse(b, len, &s), TCP_DROP_NONE);
		assert_seg_same(&s, b, &exp, b);
		mode = (uint32_t)rnd_below(4);
		if (mode != 1) {
			/* 1 to 4 bit flips, mostly in the header. */
			flips = 1 + (uint32_t)rnd_below(4);
			for (i = 0; i < flips; i++) {
				uint32_t at = (uint32_t)rnd_below(rnd_below(4) ? exp.hdr_len : len);

				b[at] ^= (uint8_t)(1u << rnd_below(8));
			}
		}
		if (mode != 0)
			len = (uint32_t)rnd_below(len + 1);
		count_outcome(seen, parse(b, len, &s));
	}
	assert_every_outcome(seen, "mutations");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_plain_header),
		cmocka_unit_test(test_flags_and_seg_len),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_drop_too_short),
		cmocka_unit_test(test_drop_doff_small),
		cmocka_unit_test(test_drop_doff_past_end),
		cmocka_unit_test(test_drop_opt_truncated),
		cmocka_unit_test(test_drop_opt_len_bad),
		cmocka_unit_test(test_drop_mss_zero),
		cmocka_unit_test(test_wscale_clamp),
		cmocka_unit_test(test_duplicate_options),
		cmocka_unit_test(test_unknown_options_skipped),
		cmocka_unit_test(test_eol_stops),
		cmocka_unit_test(test_options_fill_header),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_random_mutations),
	};

	return cmocka_run_group_tests_name("tcp_seg", tests, setup_guard, teardown_guard);
}
