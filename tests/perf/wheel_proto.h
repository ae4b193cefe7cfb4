/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_WHEEL_PROTO_H
#define CODA_WHEEL_PROTO_H

/*
 * Geometry shared by the two benchmark-only wheel prototypes (wheel_lazy.c,
 * wheel_list.c): the same levels, granularities and placement rule as
 * coda_wheel.h, so that only the slot layout differs between them and
 * coda_wheel.
 *
 * Placement: a delay d (ticks from the clock) goes to the lowest level n with
 * d <= 63 * 8^n (level 0: d <= 63), into the slot of time
 * T = ceil(E / 8^n) * 8^n. Then T - clock <= d + 8^n - 1 < 64 * 8^n, so the
 * pending slot times of a level are 64 consecutive multiples of 8^n from the
 * clock on and have distinct indices: a slot never mixes two rotations, and
 * the next occupied slot of a level is one rotate and one ctz away.
 */

#include <stdint.h>

#define PROTO_LVL_BITS 6
#define PROTO_LVL_SIZE (1u << PROTO_LVL_BITS)
#define PROTO_LVL_MASK (PROTO_LVL_SIZE - 1)
#define PROTO_CLK_SHIFT 3
#define PROTO_LEVELS 9
#define PROTO_NB_SLOTS (PROTO_LEVELS * PROTO_LVL_SIZE)
#define PROTO_MAX_DELAY ((uint64_t)PROTO_LVL_MASK << ((PROTO_LEVELS - 1) * PROTO_CLK_SHIFT))

/* The level of delay d: the lowest n with d <= 63 * 8^n. */
static inline unsigned int
proto_level_of(uint64_t d)
{
	unsigned int bl, lvl;

	if (d < PROTO_LVL_SIZE)
		return 0;
	/* d < 2^bl <= 64 * 8^lvl; one level more when d > 63 * 8^lvl. */
	bl = 64 - (unsigned int)__builtin_clzll(d);
	lvl = (bl - PROTO_LVL_BITS + PROTO_CLK_SHIFT - 1) / PROTO_CLK_SHIFT;
	return lvl + (d > ((uint64_t)PROTO_LVL_MASK << (lvl * PROTO_CLK_SHIFT)));
}

/*
 * The slot (level * 64 + index) for an expiry at least the clock, or -1
 * beyond PROTO_MAX_DELAY.
 */
static inline int
proto_slot_of(uint64_t clock, uint64_t expiry)
{
	uint64_t d, t;
	unsigned int lvl, sh;

	if (expiry < clock)
		expiry = clock;
	d = expiry - clock;
	if (d > PROTO_MAX_DELAY)
		return -1;
	lvl = proto_level_of(d);
	sh = lvl * PROTO_CLK_SHIFT;
	t = (expiry + (UINT64_C(1) << sh) - 1) >> sh;
	return (int)(lvl * PROTO_LVL_SIZE + (uint32_t)(t & PROTO_LVL_MASK));
}

/* The first tick >= c at which some level has an occupied slot, or UINT64_MAX. */
static inline uint64_t
proto_next_event(const uint64_t bitmap[PROTO_LEVELS], uint64_t c)
{
	uint64_t best = UINT64_MAX;
	unsigned int lvl;

	for (lvl = 0; lvl < PROTO_LEVELS; lvl++) {
		unsigned int sh = lvl * PROTO_CLK_SHIFT, r;
		uint64_t bm = bitmap[lvl], first, t;

		if (bm == 0)
			continue;
		first = (c >> sh) + ((c & ((UINT64_C(1) << sh) - 1)) != 0);
		r = (unsigned int)(first & PROTO_LVL_MASK);
		if (r)
			bm = (bm >> r) | (bm << (PROTO_LVL_SIZE - r));
		t = (first + (uint64_t)__builtin_ctzll(bm)) << sh;
		if (t < best)
			best = t;
	}
	return best;
}

#endif /* CODA_WHEEL_PROTO_H */
