/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_BENCH_H
#define CODA_BENCH_H

/**
 * @file
 * Helpers shared by the coda-perf-* benchmark programs (tests/perf/).
 *
 * What: a monotonic nanosecond clock, a list of results that is printed as
 * a human table and written as the JSON of DESIGN.md §10, a small PRNG, a
 * Fisher-Yates shuffle, a median, and page-prefaulted allocations.
 *
 * Result convention (DESIGN.md §10): every figure has a baseline measured in
 * the same run; `ratio` is baseline/coda when lower is better and
 * coda/baseline when higher is better, so ratio > 1 always means coda is
 * better.
 *
 * Nothing here needs the EAL; a benchmark may use these helpers with or
 * without it. Not thread-safe: one report and one PRNG per thread.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Which direction of a figure is better. */
enum bench_better {
	BENCH_LOWER,  /**< Lower is better (ns/op, bytes). */
	BENCH_HIGHER, /**< Higher is better (ops/s, Mpps). */
};

/** One figure beside its baseline. */
struct bench_result {
	char metric[128];       /**< What is measured, with its parameters. */
	char unit[24];          /**< "ns/op", "B/timer", ... */
	double coda;            /**< coda's figure. */
	char baseline_name[32]; /**< What coda is compared with ("rte_timer"). */
	double baseline;        /**< The baseline's figure, same run. */
	enum bench_better better;
};

/** The results of one benchmark program. */
struct bench_report {
	char bench[64];              /**< Program name, e.g. "coda-perf-wheel". */
	struct bench_result *results;
	unsigned int nb_results;
	unsigned int capacity;
};

/** Monotonic clock (CLOCK_MONOTONIC) in nanoseconds. */
uint64_t bench_now_ns(void);

/** Start an empty report named @p bench. */
void bench_report_init(struct bench_report *r, const char *bench);

/** Free the results of @p r (the struct itself is the caller's). */
void bench_report_free(struct bench_report *r);

/**
 * Append a result.
 *
 * @return 0; -EINVAL if a figure is not finite and > 0 (a ratio could not be
 *         formed); -ENOMEM.
 */
int bench_report_add(struct bench_report *r, const char *metric, const char *unit, double coda,
		     const char *baseline_name, double baseline, enum bench_better better);

/** The ratio of @p res: > 1 means coda is better. */
double bench_result_ratio(const struct bench_result *res);

/** Print @p r as a table (metric, unit, coda, baseline name, baseline, ratio, better). */
void bench_report_print(const struct bench_report *r, FILE *f);

/**
 * Write @p r as DESIGN.md §10 JSON into @p path.
 *
 * @return 0 or a negative errno (-EIO when jansson cannot write the file).
 */
int bench_report_write_json(const struct bench_report *r, const char *path);

/**
 * "<nproc> x <model name>" from sysconf() and /proc/cpuinfo, into @p buf.
 * The model is "unknown CPU" where /proc/cpuinfo names none.
 */
void bench_machine(char *buf, size_t len);

/** One step of splitmix64 (also a good 64-bit mixer for seeding). */
uint64_t bench_splitmix64(uint64_t *state);

/** xoshiro256** state. */
struct bench_rng {
	uint64_t s[4];
};

/** Seed @p rng from @p seed (through splitmix64). */
void bench_rng_seed(struct bench_rng *rng, uint64_t seed);

/** Next 64 random bits (xoshiro256**). */
static inline uint64_t
bench_rng_next(struct bench_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t x = s[1] * 5;
	uint64_t result = ((x << 7) | (x >> 57)) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/**
 * A uniform integer in [0, @p bound) (Lemire's multiply-shift; the bias is
 * below bound / 2^32, irrelevant for benchmarks). @p bound must be > 0.
 */
static inline uint32_t
bench_rng_below(struct bench_rng *rng, uint32_t bound)
{
	return (uint32_t)(((bench_rng_next(rng) >> 32) * (uint64_t)bound) >> 32);
}

/** Fisher-Yates shuffle of @p a[0 .. n). */
void bench_shuffle_u32(uint32_t *a, size_t n, struct bench_rng *rng);

/** Fill @p a with a random permutation of 0 .. n-1. */
void bench_permutation_u32(uint32_t *a, size_t n, struct bench_rng *rng);

/** Median of @p v[0 .. n) (sorts @p v in place); 0 when n is 0. */
double bench_median(double *v, unsigned int n);

/**
 * Allocate @p size bytes, 2 MiB aligned, ask for transparent huge pages
 * (madvise; ignored where unsupported), and touch every page so that no page
 * fault lands inside a timed loop. The memory is zeroed.
 *
 * @return the memory, or NULL with errno set.
 */
void *bench_alloc_prefault(size_t size);

/** Free memory from bench_alloc_prefault(). NULL is allowed. */
void bench_free(void *p);

/**
 * Parse a comma-separated list of positive integers ("1000000,4000000").
 *
 * @return the number parsed (1 .. @p max), or -EINVAL.
 */
int bench_parse_u32_list(const char *s, uint32_t *out, unsigned int max);

#ifdef __cplusplus
}
#endif

/**
 * Print "prog: who: message" on stderr; return -1, for `return bench_fail(...)`.
 * Programs wrap it as `#define fail(...) bench_fail(PROG, __VA_ARGS__)`.
 */
int bench_fail(const char *prog, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * The end of every coda-perf program's run: the ratio legend naming
 * @p subject, the table on stdout, and the JSON to @p json when not NULL.
 *
 * @return 0, or -1 (with a message on stderr) when the JSON cannot be written.
 */
int bench_report_finish(const struct bench_report *r, const char *prog, const char *subject,
			const char *json);

/**
 * rte_eal_cleanup(), then remove the EAL's runtime directory, which
 * --no-shconf leaves empty.
 */
void bench_eal_cleanup(void);

#endif /* CODA_BENCH_H */
