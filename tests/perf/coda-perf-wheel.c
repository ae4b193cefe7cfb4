/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coda-perf-wheel: coda_wheel beside DPDK's rte_timer, and beside the two
 * wheel layouts that were candidates for it, in one run.
 *
 *   coda-perf-wheel [EAL args] -- [--sizes 1000000,4000000] [--repeat 3]
 *                   [--json FILE] [--seed S]
 *
 * A benchmark, not a test (STYLE.md): it prints figures and ratios and
 * asserts no timing goal. It does check correctness as it goes (every arm
 * and cancel succeeds, every timer fires exactly once) and exits non-zero
 * when something is wrong, because a figure from a broken run means nothing.
 *
 * Implementations, all measured in the same process on the same inputs:
 *   coda_wheel        lib/wheel (the subject)
 *   rte_timer         DPDK's skip-list timers, one struct rte_timer per timer
 *   lazy-slot-array   tests/perf/wheel_lazy.c, slot arrays with lazy cancel,
 *                     plain (coda_wheel's layout family without its refinements)
 *   intrusive-list    tests/perf/wheel_list.c, per-slot doubly-linked lists
 *                     of 32-bit links, the layout coda_wheel did not choose
 *
 * For each N in --sizes, handles are used in random orders (Fisher-Yates
 * permutations: real TIME-WAIT handles come from a free list, not in
 * sequence). Three different permutations are used: A to arm, B to re-arm,
 * C to cancel. Delays are drawn once per N and shared by every
 * implementation. One repeat of one implementation is the sequence below,
 * starting from N idle timers; each timed phase reports its wall time
 * (CLOCK_MONOTONIC) divided by the operations it timed:
 *
 *   1. arm, random delay   arm all N in order A, delays uniform in
 *                          1 .. 120000 ms (0 -> N pending)
 *   2. re-arm pending      move all N, in order B, to new uniform delays
 *                          (rte_timer: only the first N/2 of order B, see
 *                          below), N pending throughout
 *   2b. re-arm later       move all N, in order C, 1 s past where phase 2
 *                          put them: what TCP does to its retransmission
 *                          and keepalive timers on every ACK (rte_timer:
 *                          the first N/2 of order C)
 *   2c. the same, in bursts all N another 1 s later, ARM_BURST (32) at a time
 *                          through the wheel's burst call where it has one
 *                          (coda_wheel_arm_burst()), else one by one (as
 *                          in 6)
 *   3. cancel              cancel all N in order C (N -> 0 pending)
 *   4. arm, same delay     arm all N in order A with 60000 ms, the TIME-WAIT
 *                          pattern (0 -> N pending)
 *   -  (untimed) set up the expiry phase, see 5.
 *   5. expire              time until all N have fired, per fired timer;
 *                          this includes what the phases before left
 *                          behind (stale entries of lazy cancels, deferred
 *                          re-arms that coda_wheel moves when their old
 *                          slot comes due)
 *   5b. expire, armed once the same on a re-initialised wheel whose N timers
 *                          were armed once (untimed), as TIME-WAIT entries
 *                          are: expiry alone. rte_timer's timers are armed
 *                          once in its phase 5 already, so its figure
 *                          serves as the baseline of both.
 *   6. arm from empty      on a re-initialised wheel, arm all N in order A
 *      in bursts           with 60000 ms, ARM_BURST (32) at a time: the
 *                          wheel's burst call where it has one (coda_wheel:
 *                          coda_wheel_arm_burst(), which prefetches the
 *                          state words of the burst first), else its single
 *                          arm in a loop (the prototypes, and rte_timer from
 *                          idle, which has no burst call)
 *   7. memory              bytes per pending timer (not timed; better=lower)
 *
 * The wheels run under a virtual clock of 1 tick per ms, at tick 0 during
 * phases 1-4. rte_timer reads the TSC itself (rte_get_timer_cycles()), so
 * its delays are the same millisecond values converted to timer cycles.
 *
 * Expiry, the one phase that cannot be identical:
 *   - wheels: all N re-armed (untimed) to uniform delays 1 .. 120000 ticks,
 *     then the clock steps 1 tick per call: now = 1, 2, ... with one
 *     coda_wheel_advance(now, buf, 256) (or the prototype's) per step until
 *     N have fired. This includes the cost of stepping through every idle
 *     tick (about 124000 calls), as a datapath would.
 *   - rte_timer: all N re-armed (untimed), in arming order, to delays of
 *     1 + i cycles, so they are all due a few milliseconds later; the
 *     benchmark waits until the last is due, then times rte_timer_manage()
 *     calls until N callbacks have run. This is the most favourable case
 *     for rte_timer (one manage call splits off the whole expired list and
 *     runs it, no idle polling is timed) and the same random memory order
 *     as the wheels (list order = arming order = permutation A).
 *   Both sides do the same work per fired timer: count it and add its
 *   handle to a checksum (the callback for rte_timer, a loop over the
 *   returned handles for the wheels).
 *
 * Re-arm, the one phase that is sampled: rte_timer re-arms only the first
 * half of order B. Its cost per operation has no amortised part (each reset
 * is a skip-list delete and insert, N pending throughout) and it is the
 * longest phase of the run (about 7 us an operation at 4M, 30 s a pass),
 * so half a pass estimates it as well and keeps the default run near 3
 * minutes. The slot-array wheels must do the whole pass: every re-arm to
 * another slot leaves a stale entry, and their cost includes the
 * compactions that these entries trigger every few hundred thousand
 * re-arms (printed per phase), which a shorter pass would under-sample.
 *
 * Fairness: every structure lives in memory from bench_alloc_prefault()
 * (2 MiB aligned, MADV_HUGEPAGE, every page touched before timing); the
 * struct rte_timer array is allocated the same way. Every operation is a
 * real call into another translation unit (or DPDK's library); the wheels'
 * calls are not inlined into the timed loops. The implementations take
 * turns within each repeat; the reported figure is the median of
 * --repeat runs. Nothing is pinned beyond the EAL's -l. Memory: rte_timer
 * is sizeof(struct rte_timer) per timer, the caller-owned struct each timer
 * needs (its per-lcore list heads are not counted); the wheels are
 * *_memsize(N) / N, everything included.
 *
 * Before measuring, every wheel (coda_wheel included) runs a self-check of
 * some 40000 random operations against a reference model of the contract in
 * coda_wheel.h: never early, at most one granule of its level late, each
 * timer exactly once, a cancelled timer never, error codes as documented.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_timer.h>

#include "bench.h"
#include "coda_wheel.h"
#include "wheel_lazy.h"
#include "wheel_list.h"
#include "wheel_proto.h"

#ifndef BENCH_BUILD_INFO
#define BENCH_BUILD_INFO "unknown build"
#endif

#define PROG "coda-perf-wheel"
#define fail(...) bench_fail(PROG, __VA_ARGS__)
#define MAX_SIZES 8
#define MAX_REPEAT 15
#define BATCH 256
/* Phase 6: timers armed per burst call. */
#define ARM_BURST 32
#define SAME_DELAY_MS 60000u
#define MAX_DELAY_MS 120000u
/* Phase 2b: how much later each timer is moved. */
#define LATER_MS 1000u
#define SELF_CHECK_TIMERS 4096u
#define SELF_CHECK_OPS 40000u

enum op {
	OP_ARM_SAME,
	OP_ARM_RANDOM,
	OP_CANCEL,
	OP_REARM,
	OP_REARM_LATER,
	OP_REARM_LATER_BURST,
	OP_EXPIRE,
	OP_EXPIRE_FRESH,
	OP_ARM_BURST,
	OP_MEMORY,
	NB_OP,
};

static const char *const op_metric[NB_OP] = {
	[OP_ARM_SAME] = "arm, same delay 60 s",
	[OP_ARM_RANDOM] = "arm, random delay 1 ms..120 s",
	[OP_CANCEL] = "cancel pending",
	[OP_REARM] = "re-arm pending, random delay",
	[OP_REARM_LATER] = "re-arm pending, 1 s later (the RTO pattern)",
	[OP_REARM_LATER_BURST] = "re-arm pending, 1 s later, bursts of 32",
	[OP_EXPIRE] = "expire, per fired timer",
	[OP_EXPIRE_FRESH] = "expire, timers armed once",
	[OP_ARM_BURST] = "arm, same delay 60 s, from empty, bursts of 32",
	[OP_MEMORY] = "memory per pending timer",
};

static const char *const op_unit[NB_OP] = {
	[OP_ARM_SAME] = "ns/op",
	[OP_ARM_RANDOM] = "ns/op",
	[OP_CANCEL] = "ns/op",
	[OP_REARM] = "ns/op",
	[OP_REARM_LATER] = "ns/op",
	[OP_REARM_LATER_BURST] = "ns/op",
	[OP_EXPIRE] = "ns/timer",
	[OP_EXPIRE_FRESH] = "ns/timer",
	[OP_ARM_BURST] = "ns/op",
	[OP_MEMORY] = "B/timer",
};

enum impl {
	IMPL_CODA,
	IMPL_RTE,
	IMPL_LAZY,
	IMPL_LIST,
	NB_IMPL,
};

static const char *const impl_name[NB_IMPL] = {
	[IMPL_CODA] = "coda_wheel",
	[IMPL_RTE] = "rte_timer",
	[IMPL_LAZY] = "lazy-slot-array",
	[IMPL_LIST] = "intrusive-list",
};

/* The inputs of one size, shared by every implementation. */
struct workload {
	uint32_t n;
	uint32_t *arm_order;    /* permutation A */
	uint32_t *rearm_order;  /* permutation B */
	uint32_t *cancel_order; /* permutation C */
	uint32_t *d_arm;        /* ms, 1 .. MAX_DELAY_MS, by position */
	uint32_t *d_rearm;
	uint32_t *d_later; /* by position in order C: the delay of phase 2 + LATER_MS */
	uint32_t *d_expire;
	uint64_t same_expiry[ARM_BURST]; /* SAME_DELAY_MS, for burst calls */
	uint32_t buf[BATCH];
};

/* A wheel behind one table of functions (coda_wheel and the prototypes). */
struct wheel_ops {
	const char *name;
	size_t (*memsize)(uint32_t n);
	void *(*init)(void *mem, size_t size, uint32_t n, uint64_t now);
	int (*arm)(void *w, uint32_t h, uint64_t expiry);
	int (*cancel)(void *w, uint32_t h);
	bool (*pending)(const void *w, uint32_t h);
	unsigned int (*advance)(void *w, uint64_t now, uint32_t *out, unsigned int max);
	bool (*due)(const void *w, uint64_t now);
	uint64_t (*clock)(const void *w);
	uint32_t (*count)(const void *w);
	uint64_t (*compactions)(const void *w); /* NULL where there is none */
	/* Arm n timers at once; NULL: the benchmark calls arm() n times. */
	unsigned int (*arm_burst)(void *w, const uint32_t *h, const uint64_t *expiry,
				  unsigned int n);
};

/* coda_wheel */
static size_t
coda_memsize(uint32_t n)
{
	return coda_wheel_memsize(n);
}

static void *
coda_init(void *mem, size_t size, uint32_t n, uint64_t now)
{
	return coda_wheel_init(mem, size, n, now);
}

static int
coda_arm(void *w, uint32_t h, uint64_t e)
{
	return coda_wheel_arm(w, h, e);
}

static int
coda_cancel(void *w, uint32_t h)
{
	return coda_wheel_cancel(w, h);
}

static bool
coda_pending(const void *w, uint32_t h)
{
	return coda_wheel_pending(w, h);
}

static unsigned int
coda_advance(void *w, uint64_t now, uint32_t *out, unsigned int max)
{
	return coda_wheel_advance(w, now, out, max);
}

static bool
coda_due(const void *w, uint64_t now)
{
	return coda_wheel_due(w, now);
}

static uint64_t
coda_clock(const void *w)
{
	return coda_wheel_clock(w);
}

static uint32_t
coda_count(const void *w)
{
	return coda_wheel_count(w);
}

static uint64_t
coda_compactions(const void *w)
{
	struct coda_wheel_stats st;

	coda_wheel_stats(w, &st);
	return st.compactions;
}

static unsigned int
coda_arm_burst(void *w, const uint32_t *h, const uint64_t *expiry, unsigned int n)
{
	return coda_wheel_arm_burst(w, h, expiry, n);
}

static const struct wheel_ops coda_ops = {
	.name = "coda_wheel",
	.arm_burst = coda_arm_burst,
	.memsize = coda_memsize,
	.init = coda_init,
	.arm = coda_arm,
	.cancel = coda_cancel,
	.pending = coda_pending,
	.advance = coda_advance,
	.due = coda_due,
	.clock = coda_clock,
	.count = coda_count,
	.compactions = coda_compactions,
};

/* lazy-slot-array */
static size_t
lazy_memsize(uint32_t n)
{
	return lazy_wheel_memsize(n);
}

static void *
lazy_init(void *mem, size_t size, uint32_t n, uint64_t now)
{
	return lazy_wheel_init(mem, size, n, now);
}

static int
lazy_arm(void *w, uint32_t h, uint64_t e)
{
	return lazy_wheel_arm(w, h, e);
}

static int
lazy_cancel(void *w, uint32_t h)
{
	return lazy_wheel_cancel(w, h);
}

static bool
lazy_pending(const void *w, uint32_t h)
{
	return lazy_wheel_pending(w, h);
}

static unsigned int
lazy_advance(void *w, uint64_t now, uint32_t *out, unsigned int max)
{
	return lazy_wheel_advance(w, now, out, max);
}

static bool
lazy_due(const void *w, uint64_t now)
{
	return lazy_wheel_due(w, now);
}

static uint64_t
lazy_clock(const void *w)
{
	return lazy_wheel_clock(w);
}

static uint32_t
lazy_count(const void *w)
{
	return lazy_wheel_count(w);
}

static uint64_t
lazy_compactions(const void *w)
{
	return lazy_wheel_compactions(w);
}

static const struct wheel_ops lazy_ops = {
	.name = "lazy-slot-array",
	.memsize = lazy_memsize,
	.init = lazy_init,
	.arm = lazy_arm,
	.cancel = lazy_cancel,
	.pending = lazy_pending,
	.advance = lazy_advance,
	.due = lazy_due,
	.clock = lazy_clock,
	.count = lazy_count,
	.compactions = lazy_compactions,
};

/* intrusive-list */
static size_t
list_memsize(uint32_t n)
{
	return list_wheel_memsize(n);
}

static void *
list_init(void *mem, size_t size, uint32_t n, uint64_t now)
{
	return list_wheel_init(mem, size, n, now);
}

static int
list_arm(void *w, uint32_t h, uint64_t e)
{
	return list_wheel_arm(w, h, e);
}

static int
list_cancel(void *w, uint32_t h)
{
	return list_wheel_cancel(w, h);
}

static bool
list_pending(const void *w, uint32_t h)
{
	return list_wheel_pending(w, h);
}

static unsigned int
list_advance(void *w, uint64_t now, uint32_t *out, unsigned int max)
{
	return list_wheel_advance(w, now, out, max);
}

static bool
list_due(const void *w, uint64_t now)
{
	return list_wheel_due(w, now);
}

static uint64_t
list_clock(const void *w)
{
	return list_wheel_clock(w);
}

static uint32_t
list_count(const void *w)
{
	return list_wheel_count(w);
}

static const struct wheel_ops list_ops = {
	.name = "intrusive-list",
	.memsize = list_memsize,
	.init = list_init,
	.arm = list_arm,
	.cancel = list_cancel,
	.pending = list_pending,
	.advance = list_advance,
	.due = list_due,
	.clock = list_clock,
	.count = list_count,
	.compactions = NULL,
};

/*
 * Self-check: random operations on a small wheel against a reference model
 * of coda_wheel.h's contract. The deadline of a timer is its expiry (or the
 * clock, when the expiry has passed) plus its level's granularity minus
 * one, the level given by the delay from the wheel's clock when it was
 * armed.
 */
struct ref_timer {
	bool armed;
	uint64_t expiry;
	uint64_t deadline;
};

struct checker {
	const struct wheel_ops *ops;
	void *w;
	struct ref_timer *ref;
	uint32_t n;
	uint32_t live;
	struct bench_rng rng;
};

static int
check_arm(struct checker *c, uint32_t h, uint64_t expiry)
{
	uint64_t clk = c->ops->clock(c->w), e = expiry;
	struct ref_timer *r = &c->ref[h];
	int ret = c->ops->arm(c->w, h, expiry);

	if (ret != 0)
		return fail(c->ops->name, "arm(%u, %" PRIu64 ") at clock %" PRIu64 " returned %d",
			    h, expiry, clk, ret);
	if (e < clk)
		e = clk;
	if (!r->armed)
		c->live++;
	r->armed = true;
	r->expiry = expiry;
	r->deadline = e + (UINT64_C(1) << (proto_level_of(e - clk) * PROTO_CLK_SHIFT)) - 1;
	return 0;
}

static int
check_cancel(struct checker *c, uint32_t h)
{
	struct ref_timer *r = &c->ref[h];
	int ret = c->ops->cancel(c->w, h), want = r->armed ? 0 : -ENOENT;

	if (ret != want)
		return fail(c->ops->name, "cancel(%u) returned %d, expected %d", h, ret, want);
	if (r->armed)
		c->live--;
	r->armed = false;
	return 0;
}

/* A random delay from a mix that reaches every level, and sometimes the past. */
static uint64_t
random_expiry(struct checker *c)
{
	uint64_t clk = c->ops->clock(c->w);
	uint32_t k = bench_rng_below(&c->rng, 100);

	if (k < 30)
		return clk + bench_rng_below(&c->rng, 64);
	if (k < 55)
		return clk + bench_rng_below(&c->rng, 600);
	if (k < 75)
		return clk + bench_rng_below(&c->rng, 5000);
	if (k < 90)
		return clk + bench_rng_below(&c->rng, 300000);
	if (k < 95)
		return clk + bench_rng_next(&c->rng) % (PROTO_MAX_DELAY + 1);
	return clk > 100 ? clk - bench_rng_below(&c->rng, 100) : clk;
}

/*
 * Advance to now until nothing is due, checking each delivery, then
 * lateness. With @p meddle, arm and cancel between the calls of one tick.
 */
static int
check_advance(struct checker *c, uint64_t now, bool meddle)
{
	uint32_t buf[64];
	unsigned int calls = 0;
	uint32_t h;

	do {
		unsigned int max = 1 + bench_rng_below(&c->rng, 64), k, i;

		k = c->ops->advance(c->w, now, buf, max);
		if (k > max)
			return fail(c->ops->name, "advance returned %u > max %u", k, max);
		for (i = 0; i < k; i++) {
			struct ref_timer *r = &c->ref[buf[i]];

			if (buf[i] >= c->n || !r->armed)
				return fail(c->ops->name,
					    "advance(%" PRIu64 ") delivered %u, which is not pending",
					    now, buf[i]);
			if (r->expiry > now)
				return fail(c->ops->name,
					    "timer %u fired early: expiry %" PRIu64 ", now %" PRIu64,
					    buf[i], r->expiry, now);
			r->armed = false;
			c->live--;
		}
		if (++calls > 10000000)
			return fail(c->ops->name, "advance(%" PRIu64 ") makes no progress", now);
		/* Between two calls of one tick: re-arm something due now, or cancel. */
		if (meddle && k > 0 && bench_rng_below(&c->rng, 4) == 0 &&
		    check_arm(c, buf[0], now - bench_rng_below(&c->rng, 3)) < 0)
			return -1;
		if (meddle && bench_rng_below(&c->rng, 8) == 0 &&
		    check_cancel(c, bench_rng_below(&c->rng, c->n)) < 0)
			return -1;
	} while (c->ops->due(c->w, now));
	for (h = 0; h < c->n; h++)
		if (c->ref[h].armed && c->ref[h].deadline <= now)
			return fail(c->ops->name,
				    "timer %u not fired by now %" PRIu64 " (expiry %" PRIu64
				    ", deadline %" PRIu64 ")",
				    h, now, c->ref[h].expiry, c->ref[h].deadline);
	if (c->ops->count(c->w) != c->live)
		return fail(c->ops->name, "count %u, expected %u", c->ops->count(c->w), c->live);
	return 0;
}

static int
self_check(const struct wheel_ops *ops, uint64_t seed)
{
	const uint32_t n = SELF_CHECK_TIMERS;
	size_t size = ops->memsize(n);
	struct checker c = {.ops = ops, .n = n};
	uint64_t now = 999, clk;
	void *mem = NULL;
	uint32_t i, h;
	int ret = -1;

	bench_rng_seed(&c.rng, seed);
	c.ref = calloc(n, sizeof(*c.ref));
	mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
	if (c.ref == NULL || mem == NULL) {
		fail(ops->name, "self-check: out of memory");
		goto out;
	}
	c.w = ops->init(mem, size, n, now + 1);
	if (c.w == NULL) {
		fail(ops->name, "self-check: init failed: %s", strerror(errno));
		goto out;
	}
	/* Documented errors. */
	if (ops->arm(c.w, n, now) != -EINVAL || ops->cancel(c.w, n) != -EINVAL ||
	    ops->pending(c.w, n) || ops->cancel(c.w, 0) != -ENOENT) {
		fail(ops->name, "self-check: wrong error code for a bad handle or idle timer");
		goto out;
	}
	clk = ops->clock(c.w);
	if (ops->arm(c.w, 1, clk + 2 * PROTO_MAX_DELAY) != -ERANGE || ops->pending(c.w, 1)) {
		fail(ops->name, "self-check: an expiry beyond reach was not refused (-ERANGE)");
		goto out;
	}
	if (check_arm(&c, 1, clk + PROTO_MAX_DELAY) < 0)
		goto out;
	/*
	 * Churn: every timer armed far away, then moved four times, so that
	 * stale entries overflow a slot-array pool and force compactions.
	 */
	for (i = 0; i < 5 * n; i++) {
		h = i % n;
		if (check_arm(&c, h, clk + 40000 + bench_rng_below(&c.rng, 4000000)) < 0)
			goto out;
	}
	for (i = 0; i < SELF_CHECK_OPS; i++) {
		uint32_t k = bench_rng_below(&c.rng, 100);

		h = bench_rng_below(&c.rng, n);
		if (k < 45) {
			if (check_arm(&c, h, random_expiry(&c)) < 0)
				goto out;
		} else if (k < 70) {
			if (check_cancel(&c, h) < 0)
				goto out;
		} else if (k < 80) {
			if (ops->pending(c.w, h) != c.ref[h].armed) {
				fail(ops->name, "pending(%u) is %d, expected %d", h,
				     ops->pending(c.w, h), c.ref[h].armed);
				goto out;
			}
		} else {
			uint32_t s = bench_rng_below(&c.rng, 100);
			uint64_t step = s < 70   ? 1 + bench_rng_below(&c.rng, 64)
					: s < 90 ? 1 + bench_rng_below(&c.rng, 5000)
						 : 1 + bench_rng_below(&c.rng, 2000000);

			now += step;
			if (check_advance(&c, now, true) < 0)
				goto out;
		}
	}
	/* Far enough that everything left must have fired. */
	now += PROTO_MAX_DELAY + (UINT64_C(1) << 24) + 1;
	if (check_advance(&c, now, false) < 0)
		goto out;
	if (c.live != 0 || ops->count(c.w) != 0) {
		for (h = 0; h < n; h++)
			if (c.ref[h].armed)
				break;
		fail(ops->name,
		     "self-check: %u timers never fired (wheel count %u; timer %u, expiry %" PRIu64
		     ", deadline %" PRIu64 ", now %" PRIu64 ")",
		     c.live, ops->count(c.w), h, h < n ? c.ref[h].expiry : 0,
		     h < n ? c.ref[h].deadline : 0, now);
		goto out;
	}
	printf("self-check %-16s ok (%u timers, %u random ops", ops->name, n, SELF_CHECK_OPS);
	if (ops->compactions != NULL)
		printf(", %" PRIu64 " compactions", ops->compactions(c.w));
	printf(")\n");
	ret = 0;
out:
	free(mem);
	free(c.ref);
	return ret;
}

/*
 * Phase 5's loop: a virtual clock of 1 ms ticks from tick 1, one advance
 * per tick (idle ticks included, as a datapath would), until wl->n timers
 * have fired or the clock passes limit. Counts them into *fired and adds
 * their handles into *sum; returns the tick it stopped at.
 */
static inline __attribute__((always_inline)) uint64_t
expire_all(const struct wheel_ops *ops, void *w, struct workload *wl, uint64_t limit,
	   uint64_t *fired, uint64_t *sum)
{
	uint64_t now;

	for (now = 1; *fired < wl->n && now <= limit; now++) {
		unsigned int k = ops->advance(w, now, wl->buf, BATCH), j;

		*fired += k;
		for (j = 0; j < k; j++)
			*sum += wl->buf[j];
	}
	return now;
}

/*
 * One repeat of phases 1-6 on a wheel, into ns[]. Inlined into one function
 * per wheel so that the calls through ops become direct calls.
 */
static inline __attribute__((always_inline)) int
wheel_repeat(const struct wheel_ops *ops, void *mem, size_t size, struct workload *wl,
	     double ns[NB_OP], uint64_t compactions[NB_OP])
{
	const uint32_t n = wl->n;
	const uint64_t want_sum = (uint64_t)n * (n - 1) / 2;
	uint64_t t0, fired = 0, sum = 0, now, limit;
	unsigned int errs = 0;
	uint32_t i;
	void *w = ops->init(mem, size, n, 0);

	if (w == NULL)
		return fail(ops->name, "init(%u) failed", n);
#define PHASE_END(op, ops_done)                                                                    \
	do {                                                                                       \
		ns[op] = (double)(bench_now_ns() - t0) / (ops_done);                               \
		compactions[op] = ops->compactions != NULL ? ops->compactions(w) : 0;              \
	} while (0)

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += ops->arm(w, wl->arm_order[i], wl->d_arm[i]) != 0;
	PHASE_END(OP_ARM_RANDOM, n);
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "arm: %u errors, %u pending of %u", errs, ops->count(w), n);

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += ops->arm(w, wl->rearm_order[i], wl->d_rearm[i]) != 0;
	PHASE_END(OP_REARM, n);
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "re-arm: %u errors, %u pending of %u", errs, ops->count(w),
			    n);

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += ops->arm(w, wl->cancel_order[i], wl->d_later[i]) != 0;
	PHASE_END(OP_REARM_LATER, n);
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "re-arm later: %u errors, %u pending of %u", errs,
			    ops->count(w), n);

	t0 = bench_now_ns();
	for (i = 0; i < n; i += ARM_BURST) {
		unsigned int k = n - i < ARM_BURST ? n - i : ARM_BURST, j;
		uint64_t e[ARM_BURST];

		for (j = 0; j < k; j++)
			e[j] = (uint64_t)wl->d_later[i + j] + LATER_MS;
		if (ops->arm_burst != NULL) {
			errs += k - ops->arm_burst(w, &wl->cancel_order[i], e, k);
		} else {
			for (j = 0; j < k; j++)
				errs += ops->arm(w, wl->cancel_order[i + j], e[j]) != 0;
		}
	}
	PHASE_END(OP_REARM_LATER_BURST, n);
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "re-arm later in bursts: %u errors, %u pending of %u", errs,
			    ops->count(w), n);

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += ops->cancel(w, wl->cancel_order[i]) != 0;
	PHASE_END(OP_CANCEL, n);
	if (errs != 0 || ops->count(w) != 0)
		return fail(ops->name, "cancel: %u errors, %u still pending", errs, ops->count(w));

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += ops->arm(w, wl->arm_order[i], SAME_DELAY_MS) != 0;
	PHASE_END(OP_ARM_SAME, n);
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "arm same: %u errors, %u pending of %u", errs,
			    ops->count(w), n);

	/* Untimed: spread the expiries for phase 5. */
	for (i = 0; i < n; i++)
		errs += ops->arm(w, wl->arm_order[i], wl->d_expire[i]) != 0;
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "expiry set-up: %u errors", errs);

	limit = 2 * (uint64_t)MAX_DELAY_MS + n;
	t0 = bench_now_ns();
	now = expire_all(ops, w, wl, limit, &fired, &sum);
	PHASE_END(OP_EXPIRE, n);
	if (fired != n || sum != want_sum || ops->count(w) != 0)
		return fail(ops->name,
			    "expire: %" PRIu64 " fired of %u by tick %" PRIu64
			    ", handle checksum %s, %u still pending",
			    fired, n, now, sum == want_sum ? "ok" : "WRONG", ops->count(w));

	/*
	 * 5b. The same expiry on a fresh wheel whose timers were armed once
	 * (untimed), as TIME-WAIT entries are: no leftovers of the phases
	 * before (stale entries of lazy cancels, deferred re-arms to move).
	 */
	w = ops->init(mem, size, n, 0);
	if (w == NULL)
		return fail(ops->name, "re-init(%u) failed", n);
	for (i = 0; i < n; i++)
		errs += ops->arm(w, wl->arm_order[i], wl->d_expire[i]) != 0;
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "fresh expiry set-up: %u errors", errs);
	fired = sum = 0;
	t0 = bench_now_ns();
	expire_all(ops, w, wl, limit, &fired, &sum);
	PHASE_END(OP_EXPIRE_FRESH, n);
	if (fired != n || sum != want_sum || ops->count(w) != 0)
		return fail(ops->name, "fresh expire: %" PRIu64 " fired of %u", fired, n);

	/*
	 * 6. Arm all N with the same delay on a fresh wheel (untimed init), in
	 * bursts of ARM_BURST as a datapath that collects its timer work over
	 * an rx burst would: the wheel's burst call where it has one, else
	 * its single arm in a loop.
	 */
	w = ops->init(mem, size, n, 0);
	if (w == NULL)
		return fail(ops->name, "re-init(%u) failed", n);
	t0 = bench_now_ns();
	for (i = 0; i < n; i += ARM_BURST) {
		unsigned int k = n - i < ARM_BURST ? n - i : ARM_BURST, j;

		if (ops->arm_burst != NULL) {
			errs += k - ops->arm_burst(w, &wl->arm_order[i], wl->same_expiry, k);
		} else {
			for (j = 0; j < k; j++)
				errs += ops->arm(w, wl->arm_order[i + j], SAME_DELAY_MS) != 0;
		}
	}
	PHASE_END(OP_ARM_BURST, n);
#undef PHASE_END
	if (errs != 0 || ops->count(w) != n)
		return fail(ops->name, "arm in bursts: %u errors, %u pending of %u", errs,
			    ops->count(w), n);
	return 0;
}

static int
run_coda(void *mem, size_t size, struct workload *wl, double ns[NB_OP], uint64_t c[NB_OP])
{
	return wheel_repeat(&coda_ops, mem, size, wl, ns, c);
}

static int
run_lazy(void *mem, size_t size, struct workload *wl, double ns[NB_OP], uint64_t c[NB_OP])
{
	return wheel_repeat(&lazy_ops, mem, size, wl, ns, c);
}

static int
run_list(void *mem, size_t size, struct workload *wl, double ns[NB_OP], uint64_t c[NB_OP])
{
	return wheel_repeat(&list_ops, mem, size, wl, ns, c);
}

/* rte_timer */
struct fire_count {
	uint64_t fired;
	uint64_t sum;
	struct rte_timer *base;
};

static void
on_timer(struct rte_timer *tim, void *arg)
{
	struct fire_count *fc = arg;

	fc->fired++;
	fc->sum += (uint64_t)(tim - fc->base);
}

static int
run_rte(struct rte_timer *tims, struct workload *wl, double ns[NB_OP])
{
	const uint32_t n = wl->n;
	const uint64_t want_sum = (uint64_t)n * (n - 1) / 2;
	const uint64_t hz = rte_get_timer_hz(), per_ms = hz / 1000;
	const unsigned int lcore = rte_lcore_id();
	const uint32_t nr = n / 2 > 0 ? n / 2 : 1;
	struct fire_count fc = {.base = tims};
	uint64_t t0, last, spins = 0;
	unsigned int errs = 0;
	uint32_t i;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += rte_timer_reset(&tims[wl->arm_order[i]], wl->d_arm[i] * per_ms, SINGLE,
					lcore, on_timer, &fc) != 0;
	ns[OP_ARM_RANDOM] = (double)(bench_now_ns() - t0) / n;
	if (errs != 0)
		return fail("rte_timer", "arm: %u errors", errs);

	t0 = bench_now_ns();
	for (i = 0; i < nr; i++)
		errs += rte_timer_reset(&tims[wl->rearm_order[i]], wl->d_rearm[i] * per_ms, SINGLE,
					lcore, on_timer, &fc) != 0;
	ns[OP_REARM] = (double)(bench_now_ns() - t0) / nr;
	if (errs != 0)
		return fail("rte_timer", "re-arm: %u errors", errs);

	/* 2b, then 2c another LATER_MS later: no burst call, so one by one both times. */
	for (unsigned int k = 0; k < 2; k++) {
		t0 = bench_now_ns();
		for (i = 0; i < nr; i++)
			errs += rte_timer_reset(&tims[wl->cancel_order[i]],
						((uint64_t)wl->d_later[i] + k * LATER_MS) * per_ms,
						SINGLE, lcore, on_timer, &fc) != 0;
		ns[k == 0 ? OP_REARM_LATER : OP_REARM_LATER_BURST] =
			(double)(bench_now_ns() - t0) / nr;
		if (errs != 0)
			return fail("rte_timer", "re-arm later: %u errors", errs);
	}

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += rte_timer_stop(&tims[wl->cancel_order[i]]) != 0;
	ns[OP_CANCEL] = (double)(bench_now_ns() - t0) / n;
	if (errs != 0)
		return fail("rte_timer", "cancel: %u errors", errs);

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += rte_timer_reset(&tims[wl->arm_order[i]], SAME_DELAY_MS * per_ms, SINGLE,
					lcore, on_timer, &fc) != 0;
	ns[OP_ARM_SAME] = (double)(bench_now_ns() - t0) / n;
	if (errs != 0)
		return fail("rte_timer", "arm same: %u errors", errs);

	/*
	 * Untimed: re-arm in arming order to 1 + i cycles, so that the list
	 * order is permutation A and all are due within milliseconds.
	 */
	for (i = 0; i < n; i++)
		errs += rte_timer_reset(&tims[wl->arm_order[i]], 1 + (uint64_t)i, SINGLE, lcore,
					on_timer, &fc) != 0;
	if (errs != 0)
		return fail("rte_timer", "expiry set-up: %u errors", errs);
	last = rte_get_timer_cycles() + n + 1;
	while (rte_get_timer_cycles() <= last)
		rte_pause();

	t0 = bench_now_ns();
	while (fc.fired < n) {
		rte_timer_manage();
		if ((++spins & 1023) == 0 && bench_now_ns() - t0 > UINT64_C(60000000000))
			break;
	}
	ns[OP_EXPIRE] = (double)(bench_now_ns() - t0) / n;
	/* Its timers were armed once either way: the same figure serves 5b. */
	ns[OP_EXPIRE_FRESH] = ns[OP_EXPIRE];
	if (fc.fired != n || fc.sum != want_sum)
		return fail("rte_timer", "expire: %" PRIu64 " callbacks of %u, checksum %s",
			    fc.fired, n, fc.sum == want_sum ? "ok" : "WRONG");
	for (i = 0; i < n; i++)
		errs += rte_timer_pending(&tims[i]) != 0;
	if (errs != 0)
		return fail("rte_timer", "expire: %u timers still pending", errs);

	/* 6. From idle, arm all with the same delay: no burst call, so one by one. */
	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		errs += rte_timer_reset(&tims[wl->arm_order[i]], SAME_DELAY_MS * per_ms, SINGLE,
					lcore, on_timer, &fc) != 0;
	ns[OP_ARM_BURST] = (double)(bench_now_ns() - t0) / n;
	/* Untimed: back to idle for the next repeat. */
	for (i = 0; i < n; i++)
		errs += rte_timer_stop(&tims[i]) != 0;
	if (errs != 0)
		return fail("rte_timer", "arm from idle: %u errors", errs);
	return 0;
}

static void
workload_free(struct workload *wl)
{
	bench_free(wl->arm_order);
	bench_free(wl->rearm_order);
	bench_free(wl->cancel_order);
	bench_free(wl->d_arm);
	bench_free(wl->d_rearm);
	bench_free(wl->d_later);
	bench_free(wl->d_expire);
	memset(wl, 0, offsetof(struct workload, buf));
}

static int
workload_make(struct workload *wl, uint32_t n, struct bench_rng *rng)
{
	size_t sz = (size_t)n * sizeof(uint32_t);
	uint32_t i, *inv;

	wl->n = n;
	wl->arm_order = bench_alloc_prefault(sz);
	wl->rearm_order = bench_alloc_prefault(sz);
	wl->cancel_order = bench_alloc_prefault(sz);
	wl->d_arm = bench_alloc_prefault(sz);
	wl->d_rearm = bench_alloc_prefault(sz);
	wl->d_later = bench_alloc_prefault(sz);
	wl->d_expire = bench_alloc_prefault(sz);
	if (wl->arm_order == NULL || wl->rearm_order == NULL || wl->cancel_order == NULL ||
	    wl->d_arm == NULL || wl->d_rearm == NULL || wl->d_later == NULL ||
	    wl->d_expire == NULL) {
		workload_free(wl);
		return fail("workload", "out of memory for N=%u", n);
	}
	bench_permutation_u32(wl->arm_order, n, rng);
	memcpy(wl->rearm_order, wl->arm_order, sz);
	bench_shuffle_u32(wl->rearm_order, n, rng);
	memcpy(wl->cancel_order, wl->arm_order, sz);
	bench_shuffle_u32(wl->cancel_order, n, rng);
	for (i = 0; i < n; i++) {
		wl->d_arm[i] = 1 + bench_rng_below(rng, MAX_DELAY_MS);
		wl->d_rearm[i] = 1 + bench_rng_below(rng, MAX_DELAY_MS);
		wl->d_expire[i] = 1 + bench_rng_below(rng, MAX_DELAY_MS);
	}
	/* Phase 2b moves each timer, in order C, LATER_MS past where phase 2 put it. */
	inv = malloc(sz);
	if (inv == NULL) {
		workload_free(wl);
		return fail("workload", "out of memory for N=%u", n);
	}
	for (i = 0; i < n; i++)
		inv[wl->rearm_order[i]] = i; /* handle -> its position in order B */
	for (i = 0; i < n; i++)
		wl->d_later[i] = wl->d_rearm[inv[wl->cancel_order[i]]] + LATER_MS;
	free(inv);
	for (i = 0; i < ARM_BURST; i++)
		wl->same_expiry[i] = SAME_DELAY_MS;
	return 0;
}

struct options {
	uint32_t sizes[MAX_SIZES];
	unsigned int nb_sizes;
	unsigned int repeat;
	const char *json;
	uint64_t seed;
};

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL args] -- [--sizes N[,N...]] [--repeat R] [--json FILE] "
		"[--seed S]\n"
		"  --sizes   pending timers per measurement (default 1000000,4000000)\n"
		"  --repeat  runs per figure, the median is reported (default 3, at most %d)\n"
		"  --json    also write the results as DESIGN.md section 10 JSON\n"
		"  --seed    PRNG seed (default 1)\n",
		prog, MAX_REPEAT);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"sizes", required_argument, NULL, 's'},
		{"repeat", required_argument, NULL, 'r'},
		{"json", required_argument, NULL, 'j'},
		{"seed", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, k;
	char *end;

	o->sizes[0] = 1000000;
	o->sizes[1] = 4000000;
	o->nb_sizes = 2;
	o->repeat = 3;
	o->json = NULL;
	o->seed = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			k = bench_parse_u32_list(optarg, o->sizes, MAX_SIZES);
			if (k < 0)
				return fail("options", "bad --sizes '%s'", optarg);
			o->nb_sizes = (unsigned int)k;
			break;
		case 'r':
			o->repeat = (unsigned int)strtoul(optarg, &end, 10);
			if (*end != '\0' || o->repeat < 1 || o->repeat > MAX_REPEAT)
				return fail("options", "bad --repeat '%s'", optarg);
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'S':
			o->seed = strtoull(optarg, &end, 0);
			if (*end != '\0')
				return fail("options", "bad --seed '%s'", optarg);
			break;
		case 'h':
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind != argc)
		return fail("options", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Measure one size; append its results to the report. */
static int
bench_size(uint32_t n, const struct options *o, struct bench_rng *rng, struct bench_report *rep)
{
	const struct wheel_ops *const wheel_ops[NB_IMPL] = {
		[IMPL_CODA] = &coda_ops,
		[IMPL_LAZY] = &lazy_ops,
		[IMPL_LIST] = &list_ops,
	};
	double samples[NB_IMPL][NB_OP][MAX_REPEAT], fig[NB_IMPL][NB_OP];
	uint64_t compactions[NB_IMPL][NB_OP] = {{0}}, scratch[NB_OP];
	size_t size[NB_IMPL] = {0};
	void *mem[NB_IMPL] = {NULL};
	struct workload *wl;
	struct rte_timer *tims;
	unsigned int r, op, im;
	uint64_t t0 = bench_now_ns();
	uint32_t i;
	int ret = -1;

	wl = calloc(1, sizeof(*wl));
	if (wl == NULL || workload_make(wl, n, rng) < 0) {
		free(wl);
		return -1;
	}
	for (im = 0; im < NB_IMPL; im++) {
		if (wheel_ops[im] == NULL)
			continue;
		size[im] = wheel_ops[im]->memsize(n);
		mem[im] = size[im] ? bench_alloc_prefault(size[im]) : NULL;
		if (mem[im] == NULL) {
			fail(wheel_ops[im]->name, "cannot allocate %zu bytes for N=%u", size[im], n);
			goto out;
		}
	}
	size[IMPL_RTE] = (size_t)n * sizeof(struct rte_timer);
	tims = mem[IMPL_RTE] = bench_alloc_prefault(size[IMPL_RTE]);
	if (tims == NULL) {
		fail("rte_timer", "cannot allocate %zu bytes for N=%u", size[IMPL_RTE], n);
		goto out;
	}
	for (i = 0; i < n; i++)
		rte_timer_init(&tims[i]);

	for (r = 0; r < o->repeat; r++) {
		double ns[NB_OP] = {0};

		/* Take turns, so that a noisy moment hurts one repeat of each. */
		if (run_coda(mem[IMPL_CODA], size[IMPL_CODA], wl, ns,
			     r == 0 ? compactions[IMPL_CODA] : scratch) < 0)
			goto out;
		for (op = 0; op < OP_MEMORY; op++)
			samples[IMPL_CODA][op][r] = ns[op];
		if (run_rte(tims, wl, ns) < 0)
			goto out;
		for (op = 0; op < OP_MEMORY; op++)
			samples[IMPL_RTE][op][r] = ns[op];
		if (run_lazy(mem[IMPL_LAZY], size[IMPL_LAZY], wl, ns,
			     r == 0 ? compactions[IMPL_LAZY] : scratch) < 0)
			goto out;
		for (op = 0; op < OP_MEMORY; op++)
			samples[IMPL_LAZY][op][r] = ns[op];
		if (run_list(mem[IMPL_LIST], size[IMPL_LIST], wl, ns, compactions[IMPL_LIST]) < 0)
			goto out;
		for (op = 0; op < OP_MEMORY; op++)
			samples[IMPL_LIST][op][r] = ns[op];
	}
	for (im = 0; im < NB_IMPL; im++) {
		for (op = 0; op < OP_MEMORY; op++)
			fig[im][op] = bench_median(samples[im][op], o->repeat);
		fig[im][OP_MEMORY] = im == IMPL_RTE ? (double)sizeof(struct rte_timer)
						    : (double)size[im] / n;
	}
	for (op = 0; op < NB_OP; op++) {
		for (im = IMPL_RTE; im < NB_IMPL; im++) {
			char metric[128];

			snprintf(metric, sizeof(metric), "%s, N=%u", op_metric[op], n);
			if (bench_report_add(rep, metric, op_unit[op], fig[IMPL_CODA][op],
					     impl_name[im], fig[im][op], BENCH_LOWER) < 0) {
				fail("report", "figure for '%s' is not positive (%g vs %g)", metric,
				     fig[IMPL_CODA][op], fig[im][op]);
				goto out;
			}
		}
	}
	printf("N=%u measured in %.1f s; compactions in the first repeat (after arm random, "
	       "re-arm, cancel, arm same, expire): coda_wheel %" PRIu64 "/%" PRIu64 "/%" PRIu64
	       "/%" PRIu64 "/%" PRIu64 ", lazy-slot-array %" PRIu64 "/%" PRIu64 "/%" PRIu64
	       "/%" PRIu64 "/%" PRIu64 "\n",
	       n, (double)(bench_now_ns() - t0) / 1e9, compactions[IMPL_CODA][OP_ARM_RANDOM],
	       compactions[IMPL_CODA][OP_REARM], compactions[IMPL_CODA][OP_CANCEL],
	       compactions[IMPL_CODA][OP_ARM_SAME], compactions[IMPL_CODA][OP_EXPIRE],
	       compactions[IMPL_LAZY][OP_ARM_RANDOM], compactions[IMPL_LAZY][OP_REARM],
	       compactions[IMPL_LAZY][OP_CANCEL], compactions[IMPL_LAZY][OP_ARM_SAME],
	       compactions[IMPL_LAZY][OP_EXPIRE]);
	fflush(stdout);
	ret = 0;
out:
	for (im = 0; im < NB_IMPL; im++)
		bench_free(mem[im]);
	workload_free(wl);
	free(wl);
	return ret;
}

static void
print_header(const struct options *o)
{
	char machine[256], date[64];
	time_t t = time(NULL);
	unsigned int i;

	bench_machine(machine, sizeof(machine));
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	printf("coda-perf-wheel  %s  machine: %s\n", date, machine);
	printf("N =");
	for (i = 0; i < o->nb_sizes; i++)
		printf("%s%u", i ? "," : " ", o->sizes[i]);
	printf("  repeat %u (median)  seed %" PRIu64 "  timer hz %" PRIu64 "\n", o->repeat,
	       o->seed, rte_get_timer_hz());
	printf("build: %s, compiler %s%s\n", BENCH_BUILD_INFO, __VERSION__,
#ifdef __OPTIMIZE__
	       ""
#else
	       "  WARNING: not an optimised build, figures are meaningless"
#endif
	);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const struct wheel_ops *const checked[] = {&coda_ops, &lazy_ops, &list_ops};
	struct bench_report rep;
	struct options o;
	struct bench_rng rng;
	unsigned int i;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, PROG ": cannot init EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	bench_report_init(&rep, PROG);
	ret = 1;
	if (parse_options(argc, argv, &o) < 0)
		goto out;
	i = (unsigned int)-rte_timer_subsystem_init();
	if (i != 0 && i != EALREADY) {
		fprintf(stderr, PROG ": rte_timer_subsystem_init: %s\n", strerror((int)i));
		goto out;
	}
	print_header(&o);
	for (i = 0; i < RTE_DIM(checked); i++)
		if (self_check(checked[i], o.seed + i) < 0)
			goto out;
	bench_rng_seed(&rng, o.seed);
	for (i = 0; i < o.nb_sizes; i++)
		if (bench_size(o.sizes[i], &o, &rng, &rep) < 0)
			goto out;
	if (bench_report_finish(&rep, PROG, "coda_wheel", o.json) < 0)
		goto out;
	ret = 0;
out:
	bench_report_free(&rep);
	rte_timer_subsystem_finalize();
	bench_eal_cleanup();
	return ret;
}
