/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/wheel under a virtual clock.
 *
 * The guarantee under test (coda_wheel.h): a timer armed at clock C for
 * expiry E is delivered by the first advance whose `now` reaches its slot
 * time, never while now < E, and never later than E + g - 1 where g is the
 * granularity of the lowest level whose 64 slots reach E from C. The helper
 * ref_level() recomputes that level independently of the library, and a
 * reference model (an array of expiries) checks random operation mixes.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coda_wheel.h"
#include "test_rng.h"

#define NOT_ARMED UINT64_MAX

static uint64_t
ceil_div(uint64_t x, uint64_t g)
{
	return x / g + (x % g != 0);
}

/* The level a timer armed at clock clk for expiry e must land on (the header's table). */
static unsigned int
ref_level(uint64_t clk, uint64_t e)
{
	unsigned int n;

	if (e <= clk)
		return 0;
	for (n = 0; n < CODA_WHEEL_LEVELS; n++)
		if (e - clk <= (CODA_WHEEL_LVL_SIZE - 1) * CODA_WHEEL_GRAN(n))
			return n;
	return CODA_WHEEL_LEVELS;
}

/* Latest tick at which a timer armed at clk for expiry e may fire. */
static uint64_t
ref_latest(uint64_t clk, uint64_t e)
{
	if (e <= clk)
		return clk;
	return e + CODA_WHEEL_GRAN(ref_level(clk, e)) - 1;
}

/* Advance to `now` with an unlimited batch; return the number delivered. */
static unsigned int
advance_all(struct coda_wheel *w, uint64_t now, uint32_t *out, unsigned int room)
{
	unsigned int total = 0, n;

	do {
		n = coda_wheel_advance(w, now, out + total, room - total);
		total += n;
	} while ((n > 0 || coda_wheel_due(w, now)) && total < room);
	return total;
}

/* Nothing left pending and every chunk back in the pool: no leak. */
static void
assert_drained(struct coda_wheel *w)
{
	struct coda_wheel_stats st;

	coda_wheel_stats(w, &st);
	assert_int_equal(coda_wheel_audit(w), 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(coda_wheel_count(w), 0);
	assert_int_equal(st.pool_free, st.pool_chunks);
	assert_int_equal(coda_wheel_next_expiry(w), UINT64_MAX);
}

static void
test_create_errors(void **state)
{
	size_t size = coda_wheel_memsize(4) + 64;
	char *buf = aligned_alloc(64, size + 64 - size % 64);
	struct coda_wheel *w;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(coda_wheel_memsize(0), 0);
	assert_int_equal(coda_wheel_memsize(CODA_WHEEL_MAX_TIMERS + 1u), 0);
	/* At most 8 bytes per timer beyond a fixed part, and all in from a million on. */
	assert_true(coda_wheel_memsize(2000000) - coda_wheel_memsize(1000000) <=
		    1000000 * CODA_WHEEL_BYTES_PER_TIMER);
	assert_true(coda_wheel_memsize(1000000) <= UINT64_C(1000000) * CODA_WHEEL_BYTES_PER_TIMER);
	assert_true(coda_wheel_memsize(10000000) <= UINT64_C(10000000) * CODA_WHEEL_BYTES_PER_TIMER);

	errno = 0;
	assert_null(coda_wheel_init(NULL, size, 4, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(coda_wheel_init(buf + 8, size - 8, 4, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(coda_wheel_init(buf, coda_wheel_memsize(4) - 1, 4, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(coda_wheel_init(buf, size, 0, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(coda_wheel_create(0, 0));
	assert_int_equal(errno, EINVAL);

	w = coda_wheel_init(buf, coda_wheel_memsize(4), 4, 77);
	assert_ptr_equal(w, buf);
	assert_int_equal(coda_wheel_capacity(w), 4);
	assert_int_equal(coda_wheel_count(w), 0);
	assert_int_equal(coda_wheel_clock(w), 77);
	assert_int_equal(coda_wheel_next_expiry(w), UINT64_MAX);
	coda_wheel_free(NULL);
	free(buf);
}

static void
test_arm_cancel_errors(void **state)
{
	struct coda_wheel *w = coda_wheel_create(8, 1000);
	struct coda_wheel_stats st;
	uint32_t out[8];

	(void)state;
	assert_non_null(w);
	assert_int_equal(coda_wheel_arm(w, 8, 1001), -EINVAL);
	assert_int_equal(coda_wheel_cancel(w, 8), -EINVAL);
	assert_false(coda_wheel_pending(w, 8));
	assert_int_equal(coda_wheel_cancel(w, 3), -ENOENT);

	/* Beyond reach: refused, and an armed timer is left where it was. */
	assert_int_equal(coda_wheel_arm(w, 3, 1000 + 500), 0);
	assert_int_equal(coda_wheel_arm(w, 3, 1000 + 2 * CODA_WHEEL_MAX_DELAY), -ERANGE);
	assert_true(coda_wheel_pending(w, 3));
	assert_int_equal(coda_wheel_arm(w, 4, 1000 + 2 * CODA_WHEEL_MAX_DELAY), -ERANGE);
	assert_false(coda_wheel_pending(w, 4));
	assert_int_equal(coda_wheel_arm(w, 4, 1000 + CODA_WHEEL_MAX_DELAY + 1), -ERANGE);
	/* The documented maximum is accepted. */
	assert_int_equal(coda_wheel_arm(w, 5, 1000 + CODA_WHEEL_MAX_DELAY), 0);
	assert_int_equal(coda_wheel_count(w), 2);

	assert_int_equal(advance_all(w, 1500 - 1, out, 8), 0);
	assert_int_equal(advance_all(w, 1500 + 7, out, 8), 1); /* level 1: up to 7 late */
	assert_int_equal(out[0], 3);
	assert_int_equal(coda_wheel_cancel(w, 3), -ENOENT);
	assert_int_equal(coda_wheel_cancel(w, 5), 0);
	assert_int_equal(coda_wheel_cancel(w, 5), -ENOENT);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.armed, 2);
	assert_int_equal(st.fired, 1);
	assert_int_equal(st.cancelled, 1);
	assert_int_equal(st.pending, 0);
	coda_wheel_free(w);
}

/* Level 0 is exact: a delay of 0..63 fires on its tick, not one before. */
static void
test_level0_exact(void **state)
{
	struct coda_wheel *w = coda_wheel_create(64, 5);
	uint32_t out[64];
	uint64_t t;
	unsigned int d;

	(void)state;
	for (d = 0; d < 64; d++)
		assert_int_equal(coda_wheel_arm(w, d, 5 + d), 0);
	for (t = 5; t < 5 + 64; t++) {
		assert_int_equal(coda_wheel_advance(w, t, out, 64), 1);
		assert_int_equal(out[0], t - 5);
		assert_false(coda_wheel_pending(w, out[0]));
	}
	assert_int_equal(coda_wheel_count(w), 0);
	coda_wheel_free(w);
}

/*
 * Never early, and late by at most the level's granularity minus one, at
 * every level, from clocks at every alignment. next_expiry() names the tick;
 * advancing to the tick before it delivers nothing.
 */
static void
test_lateness_bound_every_level(void **state)
{
	uint32_t out[4];
	unsigned int lvl, i;

	(void)state;
	for (lvl = 0; lvl < CODA_WHEEL_LEVELS; lvl++) {
		for (i = 0; i < 400; i++) {
			uint64_t clk = rnd_below(UINT64_C(1) << 40);
			uint64_t lo = lvl == 0 ? 0 : 63 * CODA_WHEEL_GRAN(lvl - 1) + 1;
			uint64_t hi = 63 * CODA_WHEEL_GRAN(lvl);
			uint64_t e = clk + lo + rnd_below(hi - lo + 1);
			struct coda_wheel *w = coda_wheel_create(1, clk);
			uint64_t fire;

			assert_int_equal(coda_wheel_arm(w, 0, e), 0);
			assert_int_equal(ref_level(clk, e), lvl);
			fire = coda_wheel_next_expiry(w);
			assert_true(fire >= e);
			assert_true(fire <= ref_latest(clk, e));
			if (lvl > 0)
				/* Relative lateness below 8/63. */
				assert_true((fire - e) * 63 < (e - clk) * 8);
			if (fire > clk)
				assert_int_equal(coda_wheel_advance(w, fire - 1, out, 4), 0);
			assert_true(coda_wheel_pending(w, 0));
			assert_int_equal(coda_wheel_advance(w, fire, out, 4), 1);
			assert_int_equal(out[0], 0);
			coda_wheel_free(w);
		}
	}
}

/* The same, stepping the clock one tick at a time through level 0..2 delays. */
static void
test_never_early_stepping(void **state)
{
	enum { N = 512 };
	struct coda_wheel *w = coda_wheel_create(N, 1);
	uint64_t expiry[N];
	uint32_t out[N];
	unsigned int i, fired = 0;
	uint64_t t;

	(void)state;
	for (i = 0; i < N; i++) {
		expiry[i] = 1 + rnd_below(4000);
		assert_int_equal(coda_wheel_arm(w, i, expiry[i]), 0);
	}
	for (t = 1; t <= 4000 + 64; t++) {
		unsigned int n = coda_wheel_advance(w, t, out, N), k;

		for (k = 0; k < n; k++) {
			assert_true(t >= expiry[out[k]]);
			assert_true(t <= ref_latest(1, expiry[out[k]]));
			expiry[out[k]] = NOT_ARMED;
		}
		fired += n;
	}
	assert_int_equal(fired, N);
	for (i = 0; i < N; i++)
		assert_int_equal(expiry[i], NOT_ARMED);
	coda_wheel_free(w);
}

/*
 * Slots are delivered in time order: over one big jump, the slot time of
 * each delivered timer never decreases, and level-0 timers come out in
 * expiry order.
 */
static void
test_ordering(void **state)
{
	enum { N = 20000 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	uint64_t *slot_time = calloc(N, sizeof(*slot_time));
	uint32_t *out = calloc(N, sizeof(*out));
	uint64_t last = 0;
	unsigned int i, n;

	(void)state;
	for (i = 0; i < N; i++) {
		uint64_t e = 1 + rnd_below(300000);
		uint64_t g = CODA_WHEEL_GRAN(ref_level(0, e));

		slot_time[i] = ceil_div(e, g) * g;
		assert_int_equal(coda_wheel_arm(w, i, e), 0);
	}
	/* Small batches, to check that resuming keeps the order too. */
	n = 0;
	for (;;) {
		unsigned int k = coda_wheel_advance(w, 400000, out + n, 7);

		if (k == 0)
			break;
		n += k;
	}
	assert_int_equal(n, N);
	for (i = 0; i < N; i++) {
		assert_true(slot_time[out[i]] >= last);
		/* Within one slot, in the order armed (handle order here). */
		if (i > 0 && slot_time[out[i]] == last)
			assert_true(out[i] > out[i - 1]);
		last = slot_time[out[i]];
	}
	free(slot_time);
	free(out);
	coda_wheel_free(w);
}

/* Cancel and re-arm inside one tick, and across levels, before it fires. */
static void
test_cancel_rearm_same_tick_and_across_levels(void **state)
{
	struct coda_wheel *w = coda_wheel_create(4, 100);
	uint32_t out[4];

	(void)state;
	/* Arm then cancel in the same tick: nothing fires. */
	assert_int_equal(coda_wheel_arm(w, 0, 100), 0);
	assert_int_equal(coda_wheel_cancel(w, 0), 0);
	assert_int_equal(coda_wheel_advance(w, 100, out, 4), 0);

	/* Level 0 -> level 5 -> level 2 -> level 1: only the last arm counts. */
	assert_int_equal(coda_wheel_arm(w, 1, 110), 0);
	assert_int_equal(coda_wheel_arm(w, 1, 100 + 1000000), 0);
	assert_int_equal(coda_wheel_arm(w, 1, 100 + 3000), 0);
	assert_int_equal(coda_wheel_arm(w, 1, 100 + 200), 0);
	assert_int_equal(coda_wheel_count(w), 1);
	assert_int_equal(advance_all(w, 299, out, 4), 0);
	assert_int_equal(advance_all(w, 300 + 7, out, 4), 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(advance_all(w, 2000000, out, 4), 0);

	/* Re-arm to an earlier time from a high level: fires early enough. */
	assert_int_equal(coda_wheel_arm(w, 2, 2000000 + 500000), 0);
	assert_int_equal(coda_wheel_arm(w, 2, 2000000 + 5), 0);
	assert_int_equal(advance_all(w, 2000000 + 5, out, 4), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(advance_all(w, 3000000, out, 4), 0);
	coda_wheel_free(w);
}

/* Unlinking heads, middles and tails of one slot's list. */
static void
test_cancel_positions_in_slot(void **state)
{
	enum { N = 6 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	uint32_t out[N];
	unsigned int i, n, seen = 0;

	(void)state;
	for (i = 0; i < N; i++)
		assert_int_equal(coda_wheel_arm(w, i, 50), 0);
	/* Inserted at the head: 5 is the head, 0 the tail. */
	assert_int_equal(coda_wheel_cancel(w, 5), 0); /* head */
	assert_int_equal(coda_wheel_cancel(w, 0), 0); /* tail */
	assert_int_equal(coda_wheel_cancel(w, 2), 0); /* middle */
	n = advance_all(w, 50, out, N);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		seen |= 1u << out[i];
	assert_int_equal(seen, (1u << 1) | (1u << 3) | (1u << 4));
	assert_int_equal(coda_wheel_next_expiry(w), UINT64_MAX);
	coda_wheel_free(w);
}

/*
 * The batch cap: a million timers due on one tick come out at most `max` per
 * call, all at the same `now`, each exactly once.
 */
static void
test_batch_cap(void **state)
{
	enum { N = 1000000, MAX = 256 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	uint8_t *seen = calloc(N, 1);
	uint32_t out[MAX];
	unsigned int calls = 0, total = 0, n, i;

	(void)state;
	for (i = 0; i < N; i++)
		assert_int_equal(coda_wheel_arm(w, i, 60000), 0);
	assert_int_equal(coda_wheel_advance(w, 59999, out, MAX), 0);
	while ((n = coda_wheel_advance(w, 60000 + 4095, out, MAX)) > 0) {
		/* No cancelled entry in the way: every call but the last is full. */
		assert_true(n == MAX || n == N % MAX);
		for (i = 0; i < n; i++) {
			assert_int_equal(seen[out[i]], 0);
			seen[out[i]] = 1;
		}
		total += n;
		calls++;
	}
	assert_int_equal(total, N);
	assert_int_equal(calls, (N + MAX - 1) / MAX);
	assert_int_equal(coda_wheel_count(w), 0);
	free(seen);
	coda_wheel_free(w);
}

/*
 * Between two capped calls the caller may cancel timers that are due but
 * not yet delivered, and arm new ones for the tick being drained or earlier:
 * the cancelled never come out, the new ones come out in this same tick.
 */
static void
test_changes_between_capped_calls(void **state)
{
	enum { N = 200 };
	struct coda_wheel *w = coda_wheel_create(N + 4, 0);
	uint32_t out[N + 4];
	uint8_t seen[N + 4] = {0};
	unsigned int i, n, total;
	bool armed_mid_level1 = false;

	(void)state;
	/* 100 on level 0 for tick 63, 100 on level 1 for tick 64. */
	for (i = 0; i < 100; i++)
		assert_int_equal(coda_wheel_arm(w, i, 63), 0);
	for (i = 100; i < N; i++)
		assert_int_equal(coda_wheel_arm(w, i, 64), 0);
	n = coda_wheel_advance(w, 64, out, 10);
	assert_int_equal(n, 10);
	total = n;
	for (i = 0; i < n; i++)
		seen[out[i]] = 1;
	/* Cancel ten not yet delivered. */
	for (i = 0, n = 0; i < N && n < 10; i++)
		if (!seen[i] && coda_wheel_cancel(w, i) == 0) {
			seen[i] = 2;
			n++;
		}
	assert_int_equal(n, 10);
	/* Arm for the past, for the tick being processed, and for the next one. */
	assert_int_equal(coda_wheel_arm(w, N, 10), 0);
	assert_int_equal(coda_wheel_arm(w, N + 1, coda_wheel_clock(w)), 0);
	assert_int_equal(coda_wheel_arm(w, N + 2, 65), 0);
	while ((n = coda_wheel_advance(w, 64, out, 10)) > 0) {
		for (i = 0; i < n; i++) {
			assert_int_equal(seen[out[i]], 0);
			assert_true(out[i] != N + 2);
			seen[out[i]] = 1;
		}
		total += n;
		/* Stopped inside tick 64's level-1 slot: arm for tick 64 itself. */
		if (!armed_mid_level1 && coda_wheel_clock(w) == 64 && total < N) {
			assert_int_equal(coda_wheel_arm(w, N + 3, 64), 0);
			armed_mid_level1 = true;
		}
	}
	assert_true(armed_mid_level1);
	assert_int_equal(seen[N + 3], 1);
	assert_int_equal(total, N - 10 + 3);
	assert_true(coda_wheel_pending(w, N + 2));
	assert_int_equal(coda_wheel_advance(w, 65, out, 10), 1);
	assert_int_equal(out[0], N + 2);
	coda_wheel_free(w);
}

/* A timer re-armed as it is delivered (periodic use) keeps its bounds. */
static void
test_periodic_rearm(void **state)
{
	enum { N = 64 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	uint64_t expiry[N], armed_at[N], period[N];
	uint32_t out[N];
	unsigned int i, fired = 0;
	uint64_t t;

	(void)state;
	for (i = 0; i < N; i++) {
		period[i] = 1 + rnd_below(i < 32 ? 100 : 5000);
		expiry[i] = period[i];
		armed_at[i] = 0;
		assert_int_equal(coda_wheel_arm(w, i, expiry[i]), 0);
	}
	for (t = 1; t <= 200000; t += 1 + rnd_below(3)) {
		unsigned int n = coda_wheel_advance(w, t, out, N), k;

		for (k = 0; k < n; k++) {
			uint32_t h = out[k];

			assert_true(t >= expiry[h]);
			assert_true(t <= ref_latest(armed_at[h], expiry[h]) + 2);
			armed_at[h] = coda_wheel_clock(w);
			expiry[h] = t + period[h];
			assert_int_equal(coda_wheel_arm(w, h, expiry[h]), 0);
		}
		fired += n;
	}
	assert_true(fired > 200000 / 5000 * N / 2);
	assert_int_equal(coda_wheel_count(w), N);
	coda_wheel_free(w);
}

/*
 * Clock boundaries: across 2^32, 2^48 and near the top of the 64-bit range,
 * and through many rotations of every level, timers keep their bounds.
 */
static void
test_clock_wraparound(void **state)
{
	static const uint64_t starts[] = {
		(UINT64_C(1) << 32) - 7,
		(UINT64_C(1) << 48) - 3,
		UINT64_MAX - (UINT64_C(1) << 40),
		UINT64_MAX - (UINT64_C(1) << 40) + 12345,
	};
	uint32_t out[16];
	unsigned int s, i;

	(void)state;
	for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		struct coda_wheel *w = coda_wheel_create(16, starts[s]);

		for (i = 0; i < 200; i++) {
			uint64_t clk = coda_wheel_clock(w);
			uint64_t e = clk + rnd_below(UINT64_C(1) << rnd_below(31));
			uint64_t fire, lat = ref_latest(clk, e);

			assert_int_equal(coda_wheel_arm(w, i % 16, e), 0);
			fire = coda_wheel_next_expiry(w);
			assert_true(fire >= e && fire <= lat);
			if (fire > clk)
				assert_int_equal(coda_wheel_advance(w, fire - 1, out, 16), 0);
			assert_int_equal(coda_wheel_advance(w, fire, out, 16), 1);
			assert_int_equal(out[0], i % 16);
		}
		coda_wheel_free(w);
	}
}

/*
 * A wheel created at the end of time: a timer armed for a past tick is due
 * at once. The memo of the last expiry armed starts as "expiry 0 at clock
 * UINT64_MAX", so before it named the due slot this arm took it and went
 * to level 0's slot 0, which that clock never reaches: it never fired.
 */
static void
test_arm_at_the_end_of_time(void **state)
{
	struct coda_wheel *w = coda_wheel_create(4, UINT64_MAX);
	uint64_t e[2] = {0, 0};
	uint32_t out[4], h[2] = {2, 3};

	(void)state;
	assert_int_equal(coda_wheel_arm(w, 1, 0), 0);
	assert_int_equal(coda_wheel_arm_burst(w, h, e, 2), 2);
	assert_int_equal(coda_wheel_advance(w, UINT64_MAX, out, 4), 3);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 3);
	assert_drained(w);
	coda_wheel_free(w);
}

/* An idle wheel jumps over any span; a far timer still fires on time. */
static void
test_idle_jump(void **state)
{
	struct coda_wheel *w = coda_wheel_create(2, 0);
	uint32_t out[2];
	uint64_t e = CODA_WHEEL_MAX_DELAY;

	(void)state;
	assert_int_equal(coda_wheel_advance(w, UINT64_C(1) << 40, out, 2), 0);
	assert_int_equal(coda_wheel_clock(w), (UINT64_C(1) << 40) + 1);
	e += coda_wheel_clock(w);
	assert_int_equal(coda_wheel_arm(w, 1, e), 0);
	assert_int_equal(coda_wheel_advance(w, e - 1, out, 2), 0);
	assert_int_equal(advance_all(w, e + CODA_WHEEL_GRAN(CODA_WHEEL_LEVELS - 1), out, 2), 1);
	/* UINT64_MAX as now is clamped, not wrapped. */
	assert_int_equal(coda_wheel_advance(w, UINT64_MAX, out, 2), 0);
	assert_int_equal(coda_wheel_clock(w), UINT64_MAX);
	coda_wheel_free(w);
}

/*
 * Random mixes of arm, re-arm, cancel and capped advances checked against a
 * model that keeps each timer's expiry and latest allowed firing tick.
 */
static void
test_random_against_model(void **state)
{
	enum { N = 1024, ROUNDS = 600000 };
	struct coda_wheel *w = coda_wheel_create(N, 1000);
	uint64_t *expiry = malloc(N * sizeof(*expiry));
	uint64_t *latest = malloc(N * sizeof(*latest));
	uint32_t out[64];
	uint64_t now = 1000;
	unsigned int i, r, pending = 0;

	(void)state;
	for (i = 0; i < N; i++)
		expiry[i] = NOT_ARMED;
	for (r = 0; r < ROUNDS; r++) {
		uint64_t op = rnd_below(100);
		uint32_t h = (uint32_t)rnd_below(N);

		if (op < 45) {
			uint64_t clk = coda_wheel_clock(w);
			uint64_t range = UINT64_C(1) << rnd_below(20);
			uint64_t e = now + rnd_below(range) - (rnd_below(8) == 0 ? rnd_below(3) : 0);

			/* A third of the arms share a few expiries: slots many chunks long. */
			if (op < 15)
				e = (now / 4096 + 1 + rnd_below(3)) * 4096;

			assert_int_equal(coda_wheel_arm(w, h, e), 0);
			if (expiry[h] == NOT_ARMED)
				pending++;
			expiry[h] = e;
			latest[h] = ref_latest(clk, e);
		} else if (op < 60) {
			int rc = coda_wheel_cancel(w, h);

			assert_int_equal(rc, expiry[h] == NOT_ARMED ? -ENOENT : 0);
			if (rc == 0)
				pending--;
			expiry[h] = NOT_ARMED;
		} else {
			unsigned int n, k, max = 1 + (unsigned int)rnd_below(64);

			now += rnd_below(op < 95 ? 4 : 5000);
			n = coda_wheel_advance(w, now, out, max);
			assert_true(n <= max);
			for (k = 0; k < n; k++) {
				h = out[k];
				assert_true(expiry[h] != NOT_ARMED);
				/* Never early. */
				assert_true(expiry[h] <= now);
				expiry[h] = NOT_ARMED;
				pending--;
			}
			if (!coda_wheel_due(w, now)) {
				/* All that was due got out: nothing overdue stays pending. */
				for (i = 0; i < N; i++)
					if (expiry[i] != NOT_ARMED)
						assert_true(latest[i] > now);
			}
		}
		assert_int_equal(coda_wheel_count(w), pending);
		if (r % 4096 == 0) {
			for (i = 0; i < N; i++)
				assert_int_equal(coda_wheel_pending(w, i), expiry[i] != NOT_ARMED);
			assert_int_equal(coda_wheel_audit(w), 0);
		}
	}
	/* Everything left fires by its latest tick, and the pool comes back whole. */
	now += 2 * CODA_WHEEL_GRAN(6);
	while (coda_wheel_advance(w, now, out, 64) > 0 || coda_wheel_due(w, now))
		;
	assert_drained(w);
	free(expiry);
	free(latest);
	coda_wheel_free(w);
}

/*
 * Bounded work: a slot holding ten thousand cancelled timers ahead of one
 * live timer is scanned at most 4 x max + 64 entries per call; the live one
 * comes out after enough calls, and coda_wheel_due() says so meanwhile.
 */
static void
test_scan_budget_over_cancelled(void **state)
{
	enum { N = 10001 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	uint32_t out[1];
	unsigned int i, calls = 0, n = 0;

	(void)state;
	for (i = 0; i < N; i++)
		assert_int_equal(coda_wheel_arm(w, i, 40), 0);
	for (i = 0; i < N - 1; i++)
		assert_int_equal(coda_wheel_cancel(w, i), 0);
	assert_int_equal(coda_wheel_advance(w, 40, out, 1), 0);
	assert_true(coda_wheel_due(w, 40));
	calls = 1;
	while (n == 0 && calls < N) {
		n = coda_wheel_advance(w, 40, out, 1);
		calls++;
	}
	assert_int_equal(n, 1);
	assert_int_equal(out[0], N - 1);
	/* 68 entries per call with max == 1. */
	assert_int_equal(calls, (N + 67) / 68);
	assert_false(coda_wheel_due(w, 40));
	coda_wheel_free(w);
}

/*
 * Re-arming far timers back and forth between two slots that each keep a
 * live timer leaves stale entries that fill the pool; compaction sweeps
 * them, and every timer still fires once, for the last time it was given.
 */
static void
test_compaction_under_rearm_churn(void **state)
{
	enum { N = 5000, PIN_A = N, PIN_B = N + 1 };
	struct coda_wheel *w = coda_wheel_create(N + 2, 0);
	struct coda_wheel_stats st;
	uint8_t *seen = calloc(N + 2, 1);
	uint32_t out[256];
	unsigned int i, r, n, total = 0;

	(void)state;
	/* Level 5 (granularity 32768): slot times 327680 and 360448. */
	assert_int_equal(coda_wheel_arm(w, PIN_A, 300000), 0);
	assert_int_equal(coda_wheel_arm(w, PIN_B, 360000), 0);
	for (r = 0; r < 40; r++)
		for (i = 0; i < N; i++)
			assert_int_equal(coda_wheel_arm(w, i, r % 2 ? 360000 : 300000), 0);
	for (i = 0; i < N; i += 2)
		assert_int_equal(coda_wheel_arm(w, i, 300000), 0);
	coda_wheel_stats(w, &st);
	assert_true(st.compactions > 0);
	assert_int_equal(coda_wheel_count(w), N + 2);
	assert_int_equal(advance_all(w, 299999, out, 256), 0);
	while ((n = coda_wheel_advance(w, 300000 + 32767, out, 256)) > 0 ||
	       coda_wheel_due(w, 300000 + 32767))
		for (i = 0; i < n; i++) {
			assert_true(out[i] == PIN_A || out[i] % 2 == 0);
			assert_int_equal(seen[out[i]]++, 0);
			total++;
		}
	assert_int_equal(total, N / 2 + 1);
	while ((n = coda_wheel_advance(w, 360000 + 32767, out, 256)) > 0 ||
	       coda_wheel_due(w, 360000 + 32767))
		for (i = 0; i < n; i++) {
			assert_true(out[i] == PIN_B || out[i] % 2 == 1);
			assert_int_equal(seen[out[i]]++, 0);
			total++;
		}
	assert_int_equal(total, N + 2);
	assert_drained(w);
	free(seen);
	coda_wheel_free(w);
}

/*
 * Re-arming a pending timer later only rewrites its state: it is moved when
 * its old slot comes due, and fires at the new time only. Pushed back to a
 * slot due at the same tick as the old one (a lower level), it fires there.
 * Pulled earlier, it fires at the earlier time only.
 */
static void
test_rearm_later_is_deferred(void **state)
{
	struct coda_wheel *w = coda_wheel_create(8, 0);
	struct coda_wheel_stats st;
	uint32_t out[8];

	(void)state;
	assert_int_equal(coda_wheel_arm(w, 0, 10), 0);
	assert_int_equal(coda_wheel_arm(w, 0, 40), 0);	/* later: deferred */
	assert_int_equal(coda_wheel_arm(w, 0, 50), 0);	/* later again */
	assert_int_equal(coda_wheel_arm(w, 1, 3000), 0);	/* level 2, slot time 3008 */
	assert_int_equal(coda_wheel_arm(w, 1, 2000000), 0); /* pushed far */
	assert_int_equal(coda_wheel_arm(w, 2, 600), 0);	/* level 2, slot time 640 */
	assert_int_equal(coda_wheel_arm(w, 2, 620), 0);	/* same slot: nothing moves */
	assert_int_equal(coda_wheel_arm(w, 3, 700), 0);	/* level 2, slot time 704 */
	assert_int_equal(coda_wheel_arm(w, 3, 100), 0);	/* earlier: new entry */
	assert_int_equal(coda_wheel_count(w), 4);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.moved, 0);

	assert_int_equal(advance_all(w, 49, out, 8), 0);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.moved, 1); /* timer 0 left slot 10 for slot 50 */
	assert_int_equal(advance_all(w, 50, out, 8), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(advance_all(w, 100 + 7, out, 8), 1);
	assert_int_equal(out[0], 3);
	assert_int_equal(advance_all(w, 640, out, 8), 1);
	assert_int_equal(out[0], 2);
	/* Timer 3's old entry (slot time 704) is stale; timer 1 moves at 3008. */
	assert_int_equal(advance_all(w, 1999999, out, 8), 0);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.moved, 2);
	assert_int_equal(advance_all(w, 2000000 + 262143, out, 8), 1);
	assert_int_equal(out[0], 1);
	assert_drained(w);

	/* Old slot at level 2 (time 512), new one at level 0 due the same tick. */
	assert_int_equal(coda_wheel_arm(w, 4, coda_wheel_clock(w) + 500), 0);
	assert_int_equal(coda_wheel_arm(w, 4, coda_wheel_next_expiry(w)), 0);
	assert_int_equal(advance_all(w, coda_wheel_next_expiry(w), out, 8), 1);
	assert_int_equal(out[0], 4);
	assert_drained(w);
	coda_wheel_free(w);
}

/*
 * Fill the pool with entries that look live to the incremental sweep, so
 * that only a full compaction can reclaim them: timer h goes back and forth
 * between a slot (tick 90112) and a later one (102400). Each move later is
 * deferred (its entry stays), each move back appends a duplicate beside it,
 * and h is never idle, so every duplicate still names a slot h may fire
 * in. Stops when `free_left` chunks are free, or (free_left == 0) at the
 * first compaction. h is left armed for the earlier slot.
 */
static void
burn_pool(struct coda_wheel *w, uint32_t h, uint64_t free_left)
{
	struct coda_wheel_stats st;
	unsigned int cycles = 0;

	assert_int_equal(coda_wheel_arm(w, h, 90000), 0);
	for (;;) {
		coda_wheel_stats(w, &st);
		if (free_left > 0 ? st.pool_free == free_left : st.compactions > 0)
			break;
		assert_int_equal(coda_wheel_arm(w, h, 100000), 0);
		assert_int_equal(coda_wheel_arm(w, h, 90000), 0);
		assert_true(++cycles < 1000000);
	}
	assert_true(cycles > 16);
}

/*
 * Deferred timers whose old slot comes due when the pool runs out while
 * moving them: the drain stops before the move it cannot make, the next
 * advance compacts and goes on, and each timer still fires at its new time.
 */
static void
test_deferred_move_with_empty_pool(void **state)
{
	struct coda_wheel *w = coda_wheel_create(8, 0);
	struct coda_wheel_stats st;
	uint32_t out[8];
	uint64_t compactions;

	(void)state;
	assert_int_equal(coda_wheel_arm(w, 0, 10), 0);
	assert_int_equal(coda_wheel_arm(w, 0, 40), 0); /* deferred to an empty slot */
	assert_int_equal(coda_wheel_arm(w, 2, 10), 0);
	assert_int_equal(coda_wheel_arm(w, 2, 41), 0); /* and another */
	burn_pool(w, 1, 1);
	coda_wheel_stats(w, &st);
	compactions = st.compactions;
	assert_int_equal(compactions, 0);

	assert_int_equal(coda_wheel_advance(w, 10, out, 8), 0);
	assert_true(coda_wheel_due(w, 10)); /* stopped short of the second move */
	coda_wheel_stats(w, &st);
	assert_int_equal(st.moved, 1);
	assert_int_equal(st.pool_free, 0);
	assert_int_equal(st.compactions, compactions);
	assert_int_equal(coda_wheel_advance(w, 10, out, 8), 0);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.compactions, compactions + 1);
	assert_int_equal(st.moved, 2);
	assert_true(st.pool_free > 0);
	assert_false(coda_wheel_due(w, 10));
	assert_int_equal(advance_all(w, 39, out, 8), 0);
	assert_int_equal(advance_all(w, 40, out, 8), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(advance_all(w, 41, out, 8), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(coda_wheel_cancel(w, 1), 0);
	assert_int_equal(advance_all(w, 200000, out, 8), 0);
	assert_drained(w);
	coda_wheel_free(w);
}

/*
 * Compaction keeps, of a deferred timer's entries, one that comes due no
 * later than its new slot: here a stale entry in a later slot is visited
 * first (lower slot index) and must be dropped, or the timer fires late.
 */
static void
test_compaction_keeps_the_right_deferred_entry(void **state)
{
	struct coda_wheel *w = coda_wheel_create(8, 60);
	uint32_t out[8];

	(void)state;
	/* Level-0 slot indices at clock 60: time 69 -> 5, 62 -> 62, 65 -> 1. */
	assert_int_equal(coda_wheel_arm(w, 0, 69), 0);
	assert_int_equal(coda_wheel_cancel(w, 0), 0); /* stale entry, time 69 */
	assert_int_equal(coda_wheel_arm(w, 0, 62), 0); /* its entry, time 62 */
	assert_int_equal(coda_wheel_arm(w, 0, 65), 0); /* deferred to time 65 */
	burn_pool(w, 1, 0);
	assert_int_equal(coda_wheel_cancel(w, 1), 0);
	assert_int_equal(advance_all(w, 64, out, 8), 0);
	assert_int_equal(advance_all(w, 65, out, 8), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(advance_all(w, 200000, out, 8), 0);
	assert_drained(w);
	coda_wheel_free(w);
}

/*
 * Timers cancelled and re-armed into a new far slot, round after round: the
 * stale entries they leave would fill the pool twice over, and the
 * incremental sweep reclaims them as arming goes, with no full compaction.
 * Every timer still fires once, at its last expiry.
 */
static void
test_sweep_reclaims_without_compaction(void **state)
{
	enum { N = 20000, ROUNDS = 20 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	struct coda_wheel_stats st;
	uint32_t out[256];
	unsigned int i, r, n, fired = 0;
	uint64_t now, e = 0;

	(void)state;
	for (r = 0; r < ROUNDS; r++) {
		/* Level 5 (granularity 32768), a new slot each round. */
		e = 327680 + (uint64_t)r * 32768;
		for (i = 0; i < N; i++) {
			if (r > 0)
				assert_int_equal(coda_wheel_cancel(w, i), 0);
			assert_int_equal(coda_wheel_arm(w, i, e), 0);
		}
		assert_int_equal(coda_wheel_audit(w), 0);
	}
	coda_wheel_stats(w, &st);
	assert_true(st.sweeps > 0);
	assert_int_equal(st.compactions, 0);
	for (now = 0; now < e && fired == 0; now += 4096)
		while ((n = coda_wheel_advance(w, now, out, 256)) > 0 || coda_wheel_due(w, now))
			fired += n;
	assert_int_equal(fired, 0);
	while ((n = coda_wheel_advance(w, e, out, 256)) > 0 || coda_wheel_due(w, e))
		fired += n;
	assert_int_equal(fired, N);
	assert_drained(w);
	coda_wheel_free(w);
}

/*
 * A wheel filled to capacity from empty holds no stale entry, so however low
 * the pool runs, arming must not sweep (each step would read 128 state
 * words for nothing): once with one delay (TIME-WAIT), once with delays
 * spread over many slots. With a quarter of the timers cancelled and
 * re-armed later, round after round, the stale entries make sweeping worth
 * it again, and it keeps up without a full compaction.
 */
static void
test_fill_without_stale_never_sweeps(void **state)
{
	enum { N = 200000 }; /* enough for the pool to go below its watermark */
	struct coda_wheel *w;
	struct coda_wheel_stats st;
	unsigned int i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		w = coda_wheel_create(N, 0);
		for (i = 0; i < N; i++)
			assert_int_equal(coda_wheel_arm(w, i, k == 0 ? 60000 : 1 + rnd_below(120000)), 0);
		coda_wheel_stats(w, &st);
		assert_true(st.pool_free < st.pool_chunks / 4); /* below the sweep's watermark */
		assert_int_equal(st.sweeps, 0);
		assert_int_equal(st.compactions, 0);
		assert_int_equal(coda_wheel_audit(w), 0);
		coda_wheel_free(w);
	}
	/* Stale entries: a quarter of the timers cancelled and re-armed, round after round. */
	w = coda_wheel_create(N, 0);
	for (i = 0; i < N; i++)
		assert_int_equal(coda_wheel_arm(w, i, 60000), 0);
	for (k = 0; k < 8; k++)
		for (i = 0; i < N / 4; i++) {
			assert_int_equal(coda_wheel_cancel(w, i), 0);
			assert_int_equal(coda_wheel_arm(w, i, 70000 + 5000 * k), 0);
		}
	coda_wheel_stats(w, &st);
	assert_true(st.sweeps > 0);
	assert_int_equal(st.compactions, 0);
	assert_int_equal(coda_wheel_audit(w), 0);
	coda_wheel_free(w);
}

/*
 * Stale entries that are too few to be worth a sweep by their share, but
 * sit in slots the sweep reaches last: a full wheel must still start
 * sweeping early enough to finish a pass before the pool runs out, rather
 * than stop for a compaction. 4M timers: with fewer, the spare chunk per
 * slot hides the case. (Found in review: the first rule, "sweep only when
 * an eighth is stale", compacted here.)
 */
static void
test_sweep_starts_in_time(void **state)
{
	enum { N = 4000000, FAR = N / 10 * 7 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	struct coda_wheel_stats st;
	unsigned int i;

	(void)state;
	for (i = 0; i < FAR; i++)
		assert_int_equal(coda_wheel_arm(w, i, 64 + rnd_below(4000 - 64)), 0);
	for (; i < N; i++)
		assert_int_equal(coda_wheel_arm(w, i, 3000000), 0);
	for (i = FAR; i < N; i++) {
		assert_int_equal(coda_wheel_cancel(w, i), 0);
		assert_int_equal(coda_wheel_arm(w, i, 2000000), 0);
	}
	coda_wheel_stats(w, &st);
	assert_int_equal(st.compactions, 0);
	assert_true(st.sweeps > 0);
	assert_int_equal(coda_wheel_audit(w), 0);
	coda_wheel_free(w);
}

/*
 * A slot drained while a sweep is half-way through it: the drain frees the
 * chunks under the sweep's cursors, so the sweep must let go of the slot,
 * and later sweep steps must not touch it.
 */
static void
test_drain_during_sweep(void **state)
{
	enum { N = 4000, BURN = N - 1 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	struct coda_wheel_stats st;
	uint32_t out[256];
	unsigned int i, n, fired = 0;

	(void)state;
	/* Slot time 3008 (level 2): 3000 live timers, which a sweep keeps. */
	for (i = 0; i < 3000; i++)
		assert_int_equal(coda_wheel_arm(w, i, 3000), 0);
	/*
	 * Below the sweep's watermark, with entries it cannot reclaim: the
	 * last eight chunks taken each ran a sweep step, all on slot 3008.
	 */
	coda_wheel_stats(w, &st);
	burn_pool(w, BURN, st.pool_chunks / 4 - 8);
	/* One new chunk: one sweep step, which starts on slot 3008 (the lowest). */
	for (i = 3000; i < 3016; i++)
		assert_int_equal(coda_wheel_arm(w, i, 5000), 0);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.sweeps, 0); /* 9 x 128 entries of 3000: not done */
	/* Drain that slot under the sweep. */
	while ((n = coda_wheel_advance(w, 3008, out, 256)) > 0 || coda_wheel_due(w, 3008)) {
		for (i = 0; i < n; i++)
			assert_true(out[i] < 3000);
		fired += n;
	}
	assert_int_equal(fired, 3000);
	assert_int_equal(coda_wheel_audit(w), 0);
	/* More chunks, more sweep steps: none may go back to the drained slot. */
	for (i = 3016; i < 3600; i++) {
		assert_int_equal(coda_wheel_arm(w, i, 6000 + i), 0);
		if (i % 16 == 0)
			assert_int_equal(coda_wheel_audit(w), 0);
	}
	assert_int_equal(coda_wheel_cancel(w, BURN), 0);
	while ((n = coda_wheel_advance(w, 200000, out, 256)) > 0 || coda_wheel_due(w, 200000))
		for (i = 0; i < n; i++) {
			assert_true(out[i] >= 3000 && out[i] < 3600);
			fired++;
		}
	assert_int_equal(fired, 3000 + 600);
	assert_drained(w);
	coda_wheel_free(w);
}

/*
 * The burst calls do what the single calls do, one by one, and count what
 * they did: bad handles and expiries out of reach are skipped and leave
 * their timer unchanged. Prefetching changes nothing. With `runs`, the
 * expiries come in runs of one of a few values, as TIME-WAIT arms do, so
 * that the burst call's run of memoised arms (arm_memo_run()) meets its
 * every way out: another expiry, a timer already pending or armed twice in
 * one burst, a bad handle, a full tail chunk, and a memo taken at an
 * older clock for an expiry that has passed since.
 */
static void
bursts_against_single_calls(bool runs)
{
	enum { N = 1000, B = 64 };
	/*
	 * b in zeroed memory of its own: the padding after its state words
	 * reads 0 there, so a burst that took handle N for a valid one would
	 * arm it, and be seen to.
	 */
	size_t size = coda_wheel_memsize(N);
	void *mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
	struct coda_wheel *a = coda_wheel_create(N, 0);
	struct coda_wheel *b;
	struct coda_wheel_stats sa, sb;
	uint32_t h[B], out_a[N], out_b[N];
	uint64_t e[B], now = 0, last = 1, rearmed = 0;
	unsigned int i, r, ok, na, nb;
	bool was;

	assert_non_null(mem);
	memset(mem, 0, size);
	b = coda_wheel_init(mem, size, N, 0);
	assert_non_null(b);
	for (r = 0; r < 400; r++) {
		unsigned int n = (unsigned int)rnd_below(B + 1);

		for (i = 0, ok = 0; i < n; i++) {
			h[i] = (uint32_t)rnd_below(N + N / 50); /* a few out of range */
			if (runs && rnd_below(32) == 0)
				h[i] = N; /* the first out of range, inside a run */
			if (rnd_below(50) == 0)
				e[i] = now + 2 * CODA_WHEEL_MAX_DELAY;
			else if (!runs)
				e[i] = now + 1 + rnd_below(200000);
			else if (i == 0 && rnd_below(3) == 0)
				e[i] = last; /* the last round's: memoised at an older clock, maybe past */
			else if (i == 0 || rnd_below(8) == 0)
				e[i] = last = now + 1 + 1000 * rnd_below(3);
			else
				e[i] = last;
			coda_wheel_prefetch(a, h[i]);
			was = coda_wheel_pending(a, h[i]);
			if (coda_wheel_arm(a, h[i], e[i]) == 0) {
				ok++;
				rearmed += was;
			}
		}
		assert_int_equal(coda_wheel_arm_burst(b, h, e, n), ok);
		n = (unsigned int)rnd_below(B / 4 + 1);
		for (i = 0, ok = 0; i < n; i++) {
			h[i] = (uint32_t)rnd_below(N + N / 50);
			ok += coda_wheel_cancel(a, h[i]) == 0;
		}
		assert_int_equal(coda_wheel_cancel_burst(b, h, n), ok);
		assert_int_equal(coda_wheel_count(a), coda_wheel_count(b));
		for (i = 0; i < N; i++)
			assert_int_equal(coda_wheel_pending(a, i), coda_wheel_pending(b, i));
		if (runs && rnd_below(4) == 0) {
			/* The clock moves: the memo of both is stale now. */
			now += 1 + rnd_below(900);
			na = advance_all(a, now, out_a, N);
			nb = advance_all(b, now, out_b, N);
			assert_int_equal(na, nb);
			for (i = 0; i < na; i++)
				assert_int_equal(out_a[i], out_b[i]);
		}
	}
	coda_wheel_stats(a, &sa);
	coda_wheel_stats(b, &sb);
	assert_true(sa.armed == sb.armed && sa.rearmed == sb.rearmed && sa.pending == sb.pending);
	assert_true(sa.rearmed == rearmed); /* counted apart from the wheels */
	assert_true(sa.cancelled == sb.cancelled && sa.fired == sb.fired);
	assert_int_equal(coda_wheel_audit(b), 0);
	/* Same timers fire at the same ticks. */
	for (now++; now <= last + 200000 + 4096; now += 97) {
		na = advance_all(a, now, out_a, N);
		nb = advance_all(b, now, out_b, N);
		assert_int_equal(na, nb);
		for (i = 0; i < na; i++)
			assert_int_equal(out_a[i], out_b[i]);
	}
	assert_int_equal(coda_wheel_arm_burst(a, h, e, 0), 0);
	assert_drained(a);
	assert_drained(b);
	coda_wheel_free(a);
	free(mem);
}

static void
test_bursts_equal_single_calls(void **state)
{
	(void)state;
	bursts_against_single_calls(false);
	bursts_against_single_calls(true);
}

/*
 * A burst armed after an odd number of compactions, when every live timer
 * carries the epoch mark: the burst's run of memoised arms must mark its
 * timers too, or the next compaction or drain takes them for stale. Timers
 * moved back and forth between two slots leave duplicates that only a
 * compaction removes, so arming them round after round forces those.
 */
static void
test_burst_after_compaction(void **state)
{
	enum { N = 5000, NI = 64, IDLE0 = N };
	struct coda_wheel *w = coda_wheel_create(N + NI, 0);
	struct coda_wheel_stats st;
	uint32_t h[NI], out[256];
	uint64_t e[NI];
	unsigned int i, r, n, fired = 0;

	(void)state;
	for (r = 0; r < 1000; r++) {
		for (i = 0; i < N; i++)
			assert_int_equal(coda_wheel_arm(w, i, r % 2 ? 360000 : 300000), 0);
		coda_wheel_stats(w, &st);
		if (st.compactions % 2 == 1)
			break;
	}
	assert_true(st.compactions % 2 == 1);
	for (i = 0; i < NI; i++) {
		h[i] = IDLE0 + i;
		e[i] = 50;
	}
	assert_int_equal(coda_wheel_arm_burst(w, h, e, NI), NI);
	assert_int_equal(coda_wheel_audit(w), 0);
	while ((n = coda_wheel_advance(w, 60, out, 256)) > 0 || coda_wheel_due(w, 60))
		for (i = 0; i < n; i++) {
			assert_true(out[i] >= IDLE0);
			fired++;
		}
	assert_int_equal(fired, NI);
	assert_int_equal(coda_wheel_count(w), N);
	coda_wheel_free(w);
}

/*
 * Ten million pending timers: all armed, a third cancelled, the rest fire
 * exactly once each, none early, none left behind.
 */
static void
test_ten_million_pending(void **state)
{
	enum { N = 10000000, MAX = 4096 };
	struct coda_wheel *w = coda_wheel_create(N, 0);
	uint32_t *expiry = malloc((size_t)N * sizeof(*expiry));
	uint32_t *out = malloc(MAX * sizeof(*out));
	struct coda_wheel_stats st;
	uint64_t now = 0;
	unsigned int i, n, fired = 0, cancelled = 0;

	(void)state;
	assert_non_null(w);
	for (i = 0; i < N; i++) {
		expiry[i] = 1 + (uint32_t)rnd_below(120000);
		assert_int_equal(coda_wheel_arm(w, i, expiry[i]), 0);
	}
	assert_int_equal(coda_wheel_count(w), N);
	for (i = 0; i < N; i += 3) {
		assert_int_equal(coda_wheel_cancel(w, i), 0);
		expiry[i] = 0;
		cancelled++;
	}
	while (coda_wheel_count(w) > 0 && now < 200000) {
		now += 100;
		while ((n = coda_wheel_advance(w, now, out, MAX)) > 0 || coda_wheel_due(w, now)) {
			unsigned int k;

			for (k = 0; k < n; k++) {
				assert_true(expiry[out[k]] != 0);
				assert_true(expiry[out[k]] <= now);
				expiry[out[k]] = 0;
			}
			fired += n;
		}
	}
	assert_int_equal(fired, N - cancelled);
	assert_int_equal(coda_wheel_count(w), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(expiry[i], 0);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.fired, N - cancelled);
	assert_int_equal(st.cancelled, cancelled);
	assert_drained(w);
	free(out);
	free(expiry);
	coda_wheel_free(w);
}

/*
 * coda_wheel_expiry() names the tick that delivers a timer, within its
 * lateness bound; coda_wheel_take_earliest() takes timers in that order
 * without moving the clock, moves re-armed ones instead of taking them,
 * and leaves the rest to fire normally.
 */
static void
test_expiry_and_take_earliest(void **state)
{
	enum { N = 3000, C = 1000 };
	struct coda_wheel *w = coda_wheel_create(N, C);
	uint64_t *want = malloc(N * sizeof(*want)), *at = malloc(N * sizeof(*at));
	uint64_t *armc = malloc(N * sizeof(*armc));
	uint32_t out[16], *big = malloc(N * sizeof(*big));
	uint64_t last = 0, e;
	unsigned int i, n, k, taken = 0, rounds = 0, pending;
	struct coda_wheel_stats st;

	(void)state;
	assert_non_null(w);
	assert_int_equal(coda_wheel_expiry(w, 0), UINT64_MAX);
	assert_int_equal(coda_wheel_expiry(w, N), UINT64_MAX);
	/*
	 * Two phases of arming at two clocks, so that a lower level's slots
	 * may come due after a higher level's: half with delays of 64 to 5000
	 * at C, the rest with 0 to 3000 after the clock moved to C + 4000.
	 */
	for (i = 0; i < N / 2; i++) {
		want[i] = C + 64 + rnd_below(5000 - 64);
		armc[i] = C;
		assert_int_equal(coda_wheel_arm(w, i, want[i]), 0);
	}
	n = advance_all(w, C + 4000, big, N);
	for (k = 0; k < n; k++)
		want[big[k]] = UINT64_MAX;
	for (; i < N; i++) {
		want[i] = C + 4000 + rnd_below(3000);
		armc[i] = coda_wheel_clock(w);
		assert_int_equal(coda_wheel_arm(w, i, want[i]), 0);
	}
	/* Some re-armed later (deferred), some earlier (a few into the due slot), some cancelled. */
	for (i = 0; i < N; i += 5) {
		if (want[i] == UINT64_MAX)
			continue;
		want[i] += 1 + rnd_below(20000);
		armc[i] = coda_wheel_clock(w);
		assert_int_equal(coda_wheel_arm(w, i, want[i]), 0);
	}
	for (i = 1; i < N; i += 7) {
		if (want[i] == UINT64_MAX)
			continue;
		want[i] = C + 3990 + rnd_below(want[i] - (C + 3990) + 1);
		armc[i] = coda_wheel_clock(w);
		assert_int_equal(coda_wheel_arm(w, i, want[i]), 0);
	}
	for (i = 2; i < N; i += 11) {
		if (want[i] == UINT64_MAX)
			continue;
		assert_int_equal(coda_wheel_cancel(w, i), 0);
		want[i] = UINT64_MAX;
	}
	pending = coda_wheel_count(w);
	for (i = 0; i < N; i++) {
		at[i] = coda_wheel_expiry(w, i);
		if (want[i] == UINT64_MAX) {
			assert_int_equal(at[i], UINT64_MAX);
			continue;
		}
		assert_true(at[i] >= want[i] || (want[i] < C + 4000 && at[i] == C + 4001));
		assert_true(at[i] <= ref_latest(armc[i], want[i]));
	}
	/* Take a third of them, a few at a time: earliest first, clock still. */
	while (taken < pending / 3 && rounds++ < 10 * N) {
		uint64_t min = UINT64_MAX;

		n = coda_wheel_take_earliest(w, out, 1 + (unsigned int)rnd_below(16));
		/* Nothing left behind is due before what was taken. */
		for (i = 0; i < N; i++)
			if (coda_wheel_pending(w, i) && coda_wheel_expiry(w, i) < min)
				min = coda_wheel_expiry(w, i);
		for (k = 0; k < n; k++) {
			e = at[out[k]];
			assert_true(e != UINT64_MAX);
			assert_true(e <= min);
			assert_true(e >= last);
			assert_false(coda_wheel_pending(w, out[k]));
			last = e;
			at[out[k]] = UINT64_MAX;
		}
		taken += n;
	}
	assert_true(taken >= pending / 3);
	assert_int_equal(coda_wheel_clock(w), C + 4001);
	assert_int_equal(coda_wheel_count(w), pending - taken);
	assert_int_equal(coda_wheel_audit(w), 0);
	coda_wheel_stats(w, &st);
	assert_int_equal(st.taken, taken);
	/* The rest fire at exactly the tick coda_wheel_expiry() named, not one before. */
	for (i = 0; i < N; i++) {
		if (at[i] == UINT64_MAX || !coda_wheel_pending(w, i))
			continue;
		n = advance_all(w, at[i] - 1, big, N);
		for (k = 0; k < n; k++) {
			assert_true(at[big[k]] <= at[i] - 1);
			at[big[k]] = UINT64_MAX;
		}
		assert_true(coda_wheel_pending(w, i));
		n = advance_all(w, at[i], big, N);
		for (k = 0; k < n; k++) {
			assert_true(at[big[k]] <= at[i]);
			at[big[k]] = UINT64_MAX;
		}
		assert_false(coda_wheel_pending(w, i));
	}
	for (i = 0; i < N; i++)
		assert_int_equal(at[i], UINT64_MAX);
	assert_drained(w);
	free(want);
	free(at);
	free(armc);
	free(big);
	coda_wheel_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_arm_cancel_errors),
		cmocka_unit_test(test_level0_exact),
		cmocka_unit_test(test_lateness_bound_every_level),
		cmocka_unit_test(test_never_early_stepping),
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_cancel_rearm_same_tick_and_across_levels),
		cmocka_unit_test(test_cancel_positions_in_slot),
		cmocka_unit_test(test_batch_cap),
		cmocka_unit_test(test_changes_between_capped_calls),
		cmocka_unit_test(test_periodic_rearm),
		cmocka_unit_test(test_clock_wraparound),
		cmocka_unit_test(test_arm_at_the_end_of_time),
		cmocka_unit_test(test_idle_jump),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_scan_budget_over_cancelled),
		cmocka_unit_test(test_rearm_later_is_deferred),
		cmocka_unit_test(test_deferred_move_with_empty_pool),
		cmocka_unit_test(test_compaction_keeps_the_right_deferred_entry),
		cmocka_unit_test(test_sweep_reclaims_without_compaction),
		cmocka_unit_test(test_fill_without_stale_never_sweeps),
		cmocka_unit_test(test_sweep_starts_in_time),
		cmocka_unit_test(test_drain_during_sweep),
		cmocka_unit_test(test_bursts_equal_single_calls),
		cmocka_unit_test(test_burst_after_compaction),
		cmocka_unit_test(test_compaction_under_rearm_churn),
		cmocka_unit_test(test_expiry_and_take_earliest),
		cmocka_unit_test(test_ten_million_pending),
	};

	return cmocka_run_group_tests_name("wheel", tests, NULL, NULL);
}
