/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_WHEEL_LIST_H
#define CODA_WHEEL_LIST_H

/**
 * @file
 * list_wheel: a benchmark-only prototype of the intrusive doubly-linked list
 * layout, the candidate that coda_wheel did not choose, kept so that
 * coda-perf-wheel measures it beside coda_wheel in every run (the wheel's
 * issue asked to "measure and choose"; docs/wheel.md cites the result).
 *
 * Geometry: the same as coda_wheel.h and wheel_lazy.h (see wheel_proto.h).
 *
 * Layout: each timer is a node of two 32-bit links (8 bytes): next, and
 * prev, which holds the slot number with a flag bit when the node is the
 * head of its slot's list, and LIST_IDLE when the timer is not pending. Each
 * slot is a head index; each level has a 64-bit bitmap of non-empty slots.
 * Arm pushes at the head of the slot (re-arm unlinks first), cancel unlinks
 * in O(1), a drain pops from the head. Nothing is ever stale, no pool, no
 * compaction; the price is that unlinking touches the node and both of its
 * neighbours, three dependent random cache lines.
 *
 * Known debt: prototype quality, like wheel_lazy.h.
 *
 * Thread safety: none; one lcore per wheel.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest number of timers (the prev link keeps its top bit for a flag). */
#define LIST_WHEEL_MAX_TIMERS UINT32_C(0x7ffffffe)

struct list_wheel;

/** Bytes needed for @p nb_timers timers; 0 if @p nb_timers is 0 or too large. */
size_t list_wheel_memsize(uint32_t nb_timers);

/** Build a wheel in @p mem (64-byte aligned); NULL with errno EINVAL. */
struct list_wheel *list_wheel_init(void *mem, size_t size, uint32_t nb_timers, uint64_t now);

/** Arm or move @p h; 0, -EINVAL (handle), -ERANGE (beyond the top level). */
int list_wheel_arm(struct list_wheel *w, uint32_t h, uint64_t expiry);

/** Cancel @p h: 0 if it was pending, -ENOENT if not, -EINVAL out of range. */
int list_wheel_cancel(struct list_wheel *w, uint32_t h);

/** Whether @p h is pending. */
bool list_wheel_pending(const struct list_wheel *w, uint32_t h);

/** Process ticks up to @p now, delivering at most @p max expired handles. */
unsigned int list_wheel_advance(struct list_wheel *w, uint64_t now, uint32_t *expired,
				unsigned int max);

/** Whether a pending timer is due at @p now. */
bool list_wheel_due(const struct list_wheel *w, uint64_t now);

/** The clock: every tick before it has been processed. */
uint64_t list_wheel_clock(const struct list_wheel *w);

/** Pending timers. */
uint32_t list_wheel_count(const struct list_wheel *w);

#ifdef __cplusplus
}
#endif

#endif /* CODA_WHEEL_LIST_H */
