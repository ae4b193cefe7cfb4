/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coda_prefetch.h: software prefetches that the compiler keeps.
 *
 * GCC treats __builtin_prefetch() as free of side effects. Its early
 * pure-const analysis therefore finds a helper whose only work is loads and
 * prefetches "pure" or "const", and since such a helper returns nothing,
 * drops every call to it before it would be inlined. gcc 12 deleted that
 * way the calls to every prefetch helper in lib/wheel (the burst calls'
 * prefetch of the state words, through coda_wheel_prefetch(), and the
 * look-ahead of expiry and compaction) and, in lib/conntab, the prefetch
 * of the key entries in the bulk lookup's passes and in the TIME-WAIT
 * expiry's batches: at -O3, 1 prefetch instruction was left in wheel.c
 * where there are 61 now, and 5 in conntab.c where there are 11; at -O2
 * (the default build), 1 of 14 and 4 of 8. A volatile asm is never pure
 * or const, so on x86-64 and AArch64 these helpers emit the instruction
 * themselves (DPDK's rte_prefetch0() is written the same way; these
 * libraries do not depend on DPDK). Elsewhere they fall back to the
 * builtin. Keep the calls in functions that do other work too (as static
 * inline helpers are, once inlined): that is what the test below checks.
 *
 * tests/unit/test_prefetch.sh disassembles both libraries built at -O3 and
 * fails when a hot path that should prefetch does not.
 */
#ifndef CODA_PREFETCH_H
#define CODA_PREFETCH_H

/** Bring the cache line holding @p p towards the core, to be read. */
static inline void
coda_prefetch(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const volatile char *)p));
#elif defined(__aarch64__)
	__asm__ volatile("prfm pldl1keep, %0" : : "Q"(*(const volatile char *)p));
#else
	__builtin_prefetch(p, 0, 3);
#endif
}

/**
 * The same for a line about to be written. On x86-64 this is prefetcht0
 * too, as GCC emits for __builtin_prefetch(p, 1) without -mprfchw:
 * PREFETCHW is not in the baseline instruction set.
 */
static inline void
coda_prefetch_w(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const volatile char *)p));
#elif defined(__aarch64__)
	__asm__ volatile("prfm pstl1keep, %0" : : "Q"(*(const volatile char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

#endif /* CODA_PREFETCH_H */
