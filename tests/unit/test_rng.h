/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_TEST_RNG_H
#define CODA_TEST_RNG_H

/*
 * The unit tests' random numbers: splitmix64 from a fixed seed, so that a
 * failure reproduces run after run. One generator per test program.
 */

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform enough below n for tests (n far below 2^64). */
static inline uint64_t
rnd_below(uint64_t n)
{
	return rnd() % n;
}

#endif /* CODA_TEST_RNG_H */
