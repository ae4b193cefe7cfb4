/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_WHEEL_LAZY_H
#define CODA_WHEEL_LAZY_H

/**
 * @file
 * lazy_wheel: a benchmark-only prototype of slot arrays with lazy cancel, in
 * its plainest form, kept so that coda-perf-wheel can measure the layouts
 * side by side (the wheel's issue asked to "measure and choose"). coda_wheel
 * itself ended up with this family of layout, refined (16-bit state words,
 * a live count per slot that frees a slot's chunks as soon as its last timer
 * goes, a smaller pool, prefetching on drain); this prototype has none of
 * those refinements and so measures what they buy. The other candidate, the
 * intrusive doubly-linked list, is wheel_list.h.
 *
 * Geometry: exactly coda_wheel.h's. 9 levels of 64 slots, granularity 8^n
 * ticks, non-cascading; a timer goes into the lowest level whose 64 slots
 * reach it (delay <= 63 at level 0, delay <= 63 * 8^n at level n) and into
 * the slot whose time is its expiry rounded up to that level's granularity.
 *
 * Layout: a slot is an array of 32-bit handles grown in
 * chunks of 16 handles (one cache line) taken from a preallocated pool of
 * ceil(1.5 * N / 16) + 9 * 64 chunks. Each timer has one 32-bit state word:
 * armed bit plus the number of the slot it currently belongs to. Cancel only
 * clears the armed bit; re-arm to another slot rewrites the state word and
 * appends a new entry. The old entries become stale: when a slot is drained,
 * an entry fires only if the timer's state word still names this slot, so
 * stale entries are skipped. When the pool runs out, every slot is compacted
 * (stale and duplicate entries dropped); the compactions are counted.
 * After a compaction at most N entries remain, so at least N / 32 chunks are
 * free again: compaction is amortised O(1) per arm.
 *
 * Known debt: prototype quality. No stats beyond compactions, no
 * next_expiry(), no huge-page placement of its own (the caller provides the
 * memory through lazy_wheel_init()).
 *
 * Thread safety: none; one lcore per wheel.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest delay accepted, in ticks (as CODA_WHEEL_MAX_DELAY). */
#define LAZY_WHEEL_MAX_DELAY (UINT64_C(63) << 24)

/** Largest number of timers (the state word keeps 2 bits for flags). */
#define LAZY_WHEEL_MAX_TIMERS UINT32_C(0x3fffffff)

struct lazy_wheel;

/** Bytes needed for @p nb_timers timers; 0 if @p nb_timers is 0 or too large. */
size_t lazy_wheel_memsize(uint32_t nb_timers);

/**
 * Build a wheel in @p mem (64-byte aligned, at least lazy_wheel_memsize()
 * bytes). The first tick processed is @p now.
 *
 * @return the wheel, or NULL with errno EINVAL.
 */
struct lazy_wheel *lazy_wheel_init(void *mem, size_t size, uint32_t nb_timers, uint64_t now);

/** Allocate (aligned_alloc) and build a wheel; NULL with errno EINVAL or ENOMEM. */
struct lazy_wheel *lazy_wheel_create(uint32_t nb_timers, uint64_t now);

/** Free a wheel from lazy_wheel_create(). NULL is allowed. */
void lazy_wheel_free(struct lazy_wheel *w);

/**
 * Arm or move timer @p h to fire at tick @p expiry (an expiry before the
 * clock is treated as the clock).
 *
 * @return 0; -EINVAL if @p h is out of range; -ERANGE beyond
 *         LAZY_WHEEL_MAX_DELAY; -ENOSPC if the pool is full even after a
 *         compaction (cannot happen with at most N timers pending).
 */
int lazy_wheel_arm(struct lazy_wheel *w, uint32_t h, uint64_t expiry);

/** Cancel @p h. @return 0 if it was pending, -ENOENT if not, -EINVAL out of range. */
int lazy_wheel_cancel(struct lazy_wheel *w, uint32_t h);

/** Whether @p h is pending. */
bool lazy_wheel_pending(const struct lazy_wheel *w, uint32_t h);

/**
 * Process every tick up to @p now and write at most @p max expired handles
 * into @p expired. Returns @p max when more may be due (call again).
 */
unsigned int lazy_wheel_advance(struct lazy_wheel *w, uint64_t now, uint32_t *expired,
				unsigned int max);

/**
 * Whether advancing to @p now would deliver or skip something (a slot with
 * entries, live or stale, is due).
 */
bool lazy_wheel_due(const struct lazy_wheel *w, uint64_t now);

/** The clock: every tick before it has been processed. */
uint64_t lazy_wheel_clock(const struct lazy_wheel *w);

/** Pending timers. */
uint32_t lazy_wheel_count(const struct lazy_wheel *w);

/** Compactions so far. */
uint64_t lazy_wheel_compactions(const struct lazy_wheel *w);

#ifdef __cplusplus
}
#endif

#endif /* CODA_WHEEL_LAZY_H */
