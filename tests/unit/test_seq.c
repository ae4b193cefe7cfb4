/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/seq: serial comparison modulo 2^32 around the three
 * places it can go wrong (0, 2^31 and 2^32 - 1), the range tests at their
 * edges, and every row of RFC 9293's segment acceptability table (Table 6,
 * §3.10.7.4), each on both sides of its boundaries and across the wrap.
 * A random check compares the library with a 64-bit reference that unwraps
 * the numbers explicitly.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coda_seq.h"
#include "test_rng.h"

#define HALF UINT32_C(0x80000000)
#define TOP UINT32_C(0xffffffff)

/* Points where modular arithmetic bites, and their neighbours. */
static const uint32_t edges[] = {0, 1, 2, HALF - 2, HALF - 1, HALF, HALF + 1, TOP - 1, TOP};

static void
test_order_wraps(void **state)
{
	(void)state;

	/* 2^32 - 1 comes just before 0, and 0 just after it. */
	assert_true(coda_seq_lt(TOP, 0));
	assert_true(coda_seq_gt(0, TOP));
	assert_true(coda_seq_leq(TOP, 0));
	assert_true(coda_seq_geq(0, TOP));
	assert_false(coda_seq_gt(TOP, 0));
	assert_false(coda_seq_lt(0, TOP));

	/* Less than 2^31 ahead is after; 2^31 - 1 is the farthest. */
	assert_true(coda_seq_lt(0, HALF - 1));
	assert_true(coda_seq_gt(HALF - 1, 0));
	assert_true(coda_seq_lt(TOP, HALF - 2));
	assert_true(coda_seq_lt(HALF, TOP));
	assert_true(coda_seq_lt(HALF - 1, HALF));
	assert_true(coda_seq_lt(HALF + 1, 0));

	/* More than 2^31 ahead reads as behind. */
	assert_true(coda_seq_gt(0, HALF + 1));
	assert_true(coda_seq_lt(HALF + 1, 0));

	/* Exactly 2^31 apart: no order, both read as "before" (documented). */
	assert_true(coda_seq_lt(0, HALF));
	assert_true(coda_seq_lt(HALF, 0));
}

static void
test_order_consistent_at_edges(void **state)
{
	unsigned int i, j;
	uint32_t a, b;

	(void)state;
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		for (j = 0; j < sizeof(edges) / sizeof(edges[0]); j++) {
			a = edges[i];
			b = edges[j];
			assert_int_equal(coda_seq_leq(a, b), coda_seq_lt(a, b) || a == b);
			assert_int_equal(coda_seq_geq(a, b), coda_seq_gt(a, b) || a == b);
			if (a == b) {
				assert_false(coda_seq_lt(a, b));
				assert_true(coda_seq_leq(a, b));
			}
			if (a - b == HALF)
				continue; /* no order there */
			assert_int_equal(coda_seq_gt(a, b), coda_seq_lt(b, a));
			assert_int_equal(coda_seq_geq(a, b), coda_seq_leq(b, a));
			assert_int_equal(coda_seq_lt(a, b) + coda_seq_gt(a, b) + (a == b), 1);
			assert_int_equal(coda_seq_max(a, b), coda_seq_lt(a, b) ? b : a);
			assert_int_equal(coda_seq_min(a, b), coda_seq_lt(a, b) ? a : b);
			/* One step forward is always after. */
			assert_true(coda_seq_lt(a, a + 1));
			assert_true(coda_seq_gt(a + 1, a));
		}
	}
}

static void
test_max_min(void **state)
{
	(void)state;
	assert_int_equal(coda_seq_max(TOP, 0), 0);
	assert_int_equal(coda_seq_max(0, TOP), 0);
	assert_int_equal(coda_seq_min(TOP, 0), TOP);
	assert_int_equal(coda_seq_min(0, TOP), TOP);
	assert_int_equal(coda_seq_max(5, 7), 7);
	assert_int_equal(coda_seq_min(5, 7), 5);
	assert_int_equal(coda_seq_max(HALF - 1, HALF), HALF);
	assert_int_equal(coda_seq_min(HALF - 1, HALF), HALF - 1);
	assert_int_equal(coda_seq_max(42, 42), 42);
	assert_int_equal(coda_seq_min(42, 42), 42);
}

static void
test_between(void **state)
{
	(void)state;

	/* Plain range, both edges included. */
	assert_true(coda_seq_between(10, 10, 20));
	assert_true(coda_seq_between(20, 10, 20));
	assert_true(coda_seq_between(15, 10, 20));
	assert_false(coda_seq_between(9, 10, 20));
	assert_false(coda_seq_between(21, 10, 20));

	/* One-number range. */
	assert_true(coda_seq_between(7, 7, 7));
	assert_false(coda_seq_between(6, 7, 7));
	assert_false(coda_seq_between(8, 7, 7));

	/* Across the wrap: TOP - 2 .. 3. */
	assert_true(coda_seq_between(TOP - 2, TOP - 2, 3));
	assert_true(coda_seq_between(TOP, TOP - 2, 3));
	assert_true(coda_seq_between(0, TOP - 2, 3));
	assert_true(coda_seq_between(3, TOP - 2, 3));
	assert_false(coda_seq_between(TOP - 3, TOP - 2, 3));
	assert_false(coda_seq_between(4, TOP - 2, 3));
	assert_false(coda_seq_between(HALF, TOP - 2, 3));

	/* Around 2^31. */
	assert_true(coda_seq_between(HALF, HALF - 1, HALF + 1));
	assert_false(coda_seq_between(HALF + 2, HALF - 1, HALF + 1));

	/* Spans of 2^31 and more stay exact (the arc from lo forward to hi). */
	assert_true(coda_seq_between(HALF, 0, HALF));
	assert_true(coda_seq_between(HALF - 1, 0, HALF));
	assert_false(coda_seq_between(HALF + 1, 0, HALF));
	assert_true(coda_seq_between(TOP - 1, 0, TOP - 1));
	assert_false(coda_seq_between(TOP, 0, TOP - 1));
	assert_true(coda_seq_between(TOP, 0, TOP));
	assert_true(coda_seq_between(123, 1, 0)); /* the whole space */
}

static void
test_in_window(void **state)
{
	(void)state;

	/* Half open: start in, start + len out. */
	assert_true(coda_seq_in_window(100, 100, 10));
	assert_true(coda_seq_in_window(109, 100, 10));
	assert_false(coda_seq_in_window(110, 100, 10));
	assert_false(coda_seq_in_window(99, 100, 10));

	/* An empty window holds nothing, not even its start. */
	assert_false(coda_seq_in_window(100, 100, 0));
	assert_false(coda_seq_in_window(0, 0, 0));
	assert_false(coda_seq_in_window(TOP, TOP, 0));

	/* One-number window. */
	assert_true(coda_seq_in_window(TOP, TOP, 1));
	assert_false(coda_seq_in_window(0, TOP, 1));
	assert_false(coda_seq_in_window(TOP - 1, TOP, 1));

	/* Across the wrap: TOP - 1 .. 1. */
	assert_true(coda_seq_in_window(TOP - 1, TOP - 1, 4));
	assert_true(coda_seq_in_window(TOP, TOP - 1, 4));
	assert_true(coda_seq_in_window(0, TOP - 1, 4));
	assert_true(coda_seq_in_window(1, TOP - 1, 4));
	assert_false(coda_seq_in_window(2, TOP - 1, 4));
	assert_false(coda_seq_in_window(TOP - 2, TOP - 1, 4));

	/* Around 2^31, and the largest scaled window (RFC 7323: below 2^30). */
	assert_true(coda_seq_in_window(HALF, HALF - 1, 2));
	assert_false(coda_seq_in_window(HALF + 1, HALF - 1, 2));
	assert_true(
		coda_seq_in_window(TOP - 1 + (UINT32_C(1) << 30) - 1, TOP - 1, UINT32_C(1) << 30));
	assert_false(coda_seq_in_window(TOP - 1 + (UINT32_C(1) << 30), TOP - 1, UINT32_C(1) << 30));

	/* Windows of 2^31 and more stay exact (the serial order would not). */
	assert_true(coda_seq_in_window(HALF + 9, 0, HALF + 10));
	assert_false(coda_seq_in_window(HALF + 10, 0, HALF + 10));
	assert_true(coda_seq_in_window(TOP - 1, 7, TOP));
	assert_false(coda_seq_in_window(6, 7, TOP));

	/* Same as between(start, start + len - 1) for len > 0. */
	assert_int_equal(coda_seq_in_window(5, TOP - 3, 9), coda_seq_between(5, TOP - 3, 4));
	assert_int_equal(coda_seq_in_window(4, TOP - 3, 9), coda_seq_between(4, TOP - 3, 4));
}

/* Table 6, row 1: SEG.LEN 0, RCV.WND 0: SEG.SEQ = RCV.NXT. */
static void
test_acceptable_len0_wnd0(void **state)
{
	(void)state;
	assert_true(coda_seq_acceptable(1000, 0, 1000, 0));
	assert_false(coda_seq_acceptable(999, 0, 1000, 0));
	assert_false(coda_seq_acceptable(1001, 0, 1000, 0));
	assert_true(coda_seq_acceptable(TOP, 0, TOP, 0));
	assert_false(coda_seq_acceptable(0, 0, TOP, 0));
	assert_true(coda_seq_acceptable(0, 0, 0, 0));
	assert_false(coda_seq_acceptable(TOP, 0, 0, 0));
}

/* Table 6, row 2: SEG.LEN 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND. */
static void
test_acceptable_len0_wnd(void **state)
{
	(void)state;
	assert_true(coda_seq_acceptable(1000, 0, 1000, 100));
	assert_true(coda_seq_acceptable(1099, 0, 1000, 100));
	assert_false(coda_seq_acceptable(1100, 0, 1000, 100));
	assert_false(coda_seq_acceptable(999, 0, 1000, 100));
	/* Window of one. */
	assert_true(coda_seq_acceptable(1000, 0, 1000, 1));
	assert_false(coda_seq_acceptable(1001, 0, 1000, 1));
	/* Across the wrap: window TOP - 9 .. 9. */
	assert_true(coda_seq_acceptable(TOP - 9, 0, TOP - 9, 20));
	assert_true(coda_seq_acceptable(0, 0, TOP - 9, 20));
	assert_true(coda_seq_acceptable(9, 0, TOP - 9, 20));
	assert_false(coda_seq_acceptable(10, 0, TOP - 9, 20));
	assert_false(coda_seq_acceptable(TOP - 10, 0, TOP - 9, 20));
}

/* Table 6, row 3: SEG.LEN > 0, RCV.WND 0: not acceptable, even at RCV.NXT. */
static void
test_acceptable_len_wnd0(void **state)
{
	(void)state;
	assert_false(coda_seq_acceptable(1000, 1, 1000, 0));
	assert_false(coda_seq_acceptable(1000, 1460, 1000, 0));
	assert_false(coda_seq_acceptable(999, 2, 1000, 0));
	assert_false(coda_seq_acceptable(TOP, 1, TOP, 0));
	assert_false(coda_seq_acceptable(0, TOP, 0, 0));
}

/*
 * Table 6, row 4: SEG.LEN > 0, RCV.WND > 0: first octet in the window, or
 * last octet (SEG.SEQ + SEG.LEN - 1) in the window.
 */
static void
test_acceptable_len_wnd(void **state)
{
	(void)state;
	/* Window 1000 .. 1099. */
	/* First octet in. */
	assert_true(coda_seq_acceptable(1000, 10, 1000, 100));
	assert_true(coda_seq_acceptable(1099, 10, 1000, 100));
	/* First octet out, last octet in (an old retransmission with new data). */
	assert_true(coda_seq_acceptable(990, 11, 1000, 100));  /* last = 1000 */
	assert_false(coda_seq_acceptable(990, 10, 1000, 100)); /* last = 999 */
	/* Starts at the right edge: both out. */
	assert_false(coda_seq_acceptable(1100, 1, 1000, 100));
	assert_false(coda_seq_acceptable(1100, 50, 1000, 100));
	/* Entirely old. */
	assert_false(coda_seq_acceptable(900, 100, 1000, 100));
	/* Covers the whole window: neither end in it; the table refuses it (documented). */
	assert_false(coda_seq_acceptable(990, 200, 1000, 100));
	/* Covers the window and ends on its last octet: accepted by the second test. */
	assert_true(coda_seq_acceptable(990, 110, 1000, 100));
	/* SEG.LEN 1, e.g. a bare SYN or FIN. */
	assert_true(coda_seq_acceptable(1000, 1, 1000, 1));
	assert_false(coda_seq_acceptable(1001, 1, 1000, 1));
	assert_false(coda_seq_acceptable(999, 1, 1000, 1));

	/* Across the wrap: window TOP - 4 .. 3. */
	assert_true(coda_seq_acceptable(TOP - 4, 3, TOP - 4, 9));
	assert_true(coda_seq_acceptable(TOP - 8, 5, TOP - 4, 9));  /* last = TOP - 4 */
	assert_false(coda_seq_acceptable(TOP - 8, 4, TOP - 4, 9)); /* last = TOP - 5 */
	assert_true(coda_seq_acceptable(3, 100, TOP - 4, 9));
	assert_false(coda_seq_acceptable(4, 1, TOP - 4, 9));
	/* The segment itself wraps: TOP - 1 .. 1, window 0 .. 9. */
	assert_true(coda_seq_acceptable(TOP - 1, 3, 0, 10));
	assert_false(coda_seq_acceptable(TOP - 1, 2, 0, 10));
}

/* Reference: unwrap every number to within 2^31 of rcv_nxt in 64 bits, then compare plainly. */
static int64_t
unwrap(uint32_t x, uint32_t ref)
{
	return (int64_t)ref + (int32_t)(x - ref);
}

static bool
ref_acceptable(uint32_t seq, uint32_t len, uint32_t nxt, uint32_t wnd)
{
	int64_t s = unwrap(seq, nxt);
	int64_t n = nxt;
	int64_t last = s + (int64_t)len - 1;

	if (len == 0 && wnd == 0)
		return s == n;
	if (len == 0)
		return n <= s && s < n + wnd;
	if (wnd == 0)
		return false;
	return (n <= s && s < n + wnd) || (n <= last && last < n + wnd);
}

static void
test_acceptable_random_against_reference(void **state)
{
	uint32_t nxt, seq, len, wnd;
	unsigned int i;

	(void)state;
	for (i = 0; i < 1000000; i++) {
		nxt = (uint32_t)rnd();
		if (i % 4 == 0)
			nxt = edges[rnd_below(sizeof(edges) / sizeof(edges[0]))] +
			      (uint32_t)rnd_below(5) - 2;
		/* Windows up to 2^30, segments up to 64 KiB, positions near the window. */
		wnd = rnd_below(4) == 0 ? 0
					: (uint32_t)rnd_below(rnd_below(2) ? 200 : (1u << 30) + 1);
		len = rnd_below(4) == 0 ? 0 : (uint32_t)rnd_below(65536);
		seq = nxt + (uint32_t)((int64_t)rnd_below(2 * (uint64_t)wnd + 2 * len + 400) -
				       (int64_t)len - 200);
		assert_int_equal(coda_seq_acceptable(seq, len, nxt, wnd),
				 ref_acceptable(seq, len, nxt, wnd));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_wraps),
		cmocka_unit_test(test_order_consistent_at_edges),
		cmocka_unit_test(test_max_min),
		cmocka_unit_test(test_between),
		cmocka_unit_test(test_in_window),
		cmocka_unit_test(test_acceptable_len0_wnd0),
		cmocka_unit_test(test_acceptable_len0_wnd),
		cmocka_unit_test(test_acceptable_len_wnd0),
		cmocka_unit_test(test_acceptable_len_wnd),
		cmocka_unit_test(test_acceptable_random_against_reference),
	};

	return cmocka_run_group_tests_name("seq", tests, NULL, NULL);
}
