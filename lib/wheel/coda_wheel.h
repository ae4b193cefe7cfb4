/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_WHEEL_H
#define CODA_WHEEL_H

/**
 * @file
 * coda_wheel: a per-core hierarchical timing wheel for millions of timers.
 *
 * What: every timer of a coda worker (retransmission, delayed ACK, persist,
 * keepalive, FIN-WAIT-2, and millions of TIME-WAIT entries) lives in one
 * wheel owned by that worker's lcore. A timer is named by a 32-bit handle in
 * [0, nb_timers) that indexes the caller's own storage (a TCB pool, the
 * TIME-WAIT store); the wheel never allocates per timer and stores no
 * pointers.
 *
 * Time: the wheel has no clock. The caller passes absolute times in ticks
 * (whatever unit it chooses: coda's worker uses one tick per millisecond).
 * Nothing here reads a clock, so tests run under a virtual clock.
 *
 * Design: the non-cascading hierarchical wheel of Linux's kernel/time/timer.c.
 * CODA_WHEEL_LEVELS levels of 64 slots; the granularity of level n is 8^n
 * ticks. A timer goes into the lowest level whose 64 slots reach its expiry,
 * into the slot whose start time is its expiry rounded up to that level's
 * granularity, and never moves again until it fires. So a timer never fires
 * early, and fires at most (granularity - 1) ticks late:
 *
 *  level  granularity  delays placed here       latest firing after expiry
 *  -----  -----------  -----------------------  --------------------------
 *    0              1  0 .. 63                  0 (exact)
 *    1              8  64 .. 504                7
 *    2             64  505 .. 4032              63
 *    3            512  4033 .. 32256            511
 *    4           4096  32257 .. 258048          4095
 *    5          32768  258049 .. 2064384        32767
 *    6         262144  2064385 .. 16515072      262143
 *    7        2097152  16515073 .. 132120576    2097151
 *    8       16777216  132120577 .. 1056964608  16777215
 *
 * (Delays in ticks from the wheel's clock: level n takes delays up to
 * 63 x 8^n.) Relative lateness is below 8/63 (12.7%) of the delay
 * at every level above 0. At 1 ms per tick a 60 s TIME-WAIT lands on level
 * 4 and fires between 60.000 s and 64.095 s after it was armed. The longest
 * delay accepted is CODA_WHEEL_MAX_DELAY (about 12.2 days at 1 ms per tick).
 *
 * Storage: slot arrays of 32-bit handles with lazy cancel. Each timer has
 * one 16-bit state word (idle, or the slot it is armed for); each slot is a
 * FIFO of handles in 64-byte chunks from a pool preallocated for all timers
 * plus a quarter more. Cancel clears the state word and leaves a stale entry
 * that is skipped later. Re-arming later only rewrites the state word; the
 * entry moves when its old slot comes due. Memory is 2 + 1.25 x (4 + 4/16)
 * = 7.3 bytes per timer plus about 48 KiB per wheel, whether or not the
 * timers are pending. While the pool runs low, arming sweeps stale entries
 * out a step at a time (coda_wheel_stats.sweeps); only if it runs out anyway
 * does one call compact every slot in a full pass
 * (coda_wheel_stats.compactions). See docs/wheel.md for the measured
 * comparison with an intrusive doubly-linked list that led to this layout.
 *
 * Cost: arm, re-arm and cancel are O(1) (amortized, counting the sweep).
 * coda_wheel_advance() delivers at most `max` expired handles per call and
 * examines at most 4 x max + 64 slot entries, so a million timers expiring
 * on the same tick cannot stall a datapath loop; the rest are delivered by
 * the next calls, in the same tick. Ticks with no occupied slot are skipped through
 * the bitmaps: an idle advance over any span of time costs a few dozen
 * instructions.
 *
 * Thread safety: none. A wheel belongs to one lcore; only that lcore may call
 * any function on it. Read-only helpers (coda_wheel_pending(),
 * coda_wheel_count()) give no consistency guarantee to other threads.
 *
 * Errors: constructors return NULL and set errno (the library is EAL-free, so
 * it does not use rte_errno); other functions return 0 or a negative errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** log2 of the slots per level. */
#define CODA_WHEEL_LVL_BITS 6
/** Slots per level. */
#define CODA_WHEEL_LVL_SIZE (1u << CODA_WHEEL_LVL_BITS)
/** log2 of the granularity ratio between two adjacent levels. */
#define CODA_WHEEL_LVL_CLK_SHIFT 3
/** Number of levels. */
#define CODA_WHEEL_LEVELS 9
/** Granularity of level @p n, in ticks. */
#define CODA_WHEEL_GRAN(n) (UINT64_C(1) << ((n) * CODA_WHEEL_LVL_CLK_SHIFT))
/** Longest delay, in ticks from the wheel's clock, that coda_wheel_arm() accepts. */
#define CODA_WHEEL_MAX_DELAY ((uint64_t)(CODA_WHEEL_LVL_SIZE - 1) * CODA_WHEEL_GRAN(CODA_WHEEL_LEVELS - 1))
/** Largest number of timers one wheel can hold (handles are below it). */
#define CODA_WHEEL_MAX_TIMERS UINT32_C(0x7fffffff)
/** Upper bound of wheel memory per timer, in bytes, past the fixed part (see coda_wheel_memsize()). */
#define CODA_WHEEL_BYTES_PER_TIMER 8

struct coda_wheel;

/** Counters of one wheel (monotonic, except `pending`). */
struct coda_wheel_stats {
	uint64_t armed;     /**< coda_wheel_arm() calls that placed a timer. */
	uint64_t rearmed;   /**< ... of those, on a timer that was pending. */
	uint64_t cancelled; /**< coda_wheel_cancel() calls on a pending timer. */
	uint64_t fired;     /**< Handles delivered by coda_wheel_advance(). */
	uint64_t moved;     /**< Timers re-armed later, moved when their old slot came due. */
	uint64_t sweeps;    /**< Slots swept of stale entries, a step at a time, as the pool ran low. */
	uint64_t compactions; /**< Times stale entries filled the pool anyway: a full pass. */
	uint64_t pending;   /**< Timers pending now. */
	uint64_t pool_chunks; /**< Slot-entry chunks (16 handles each) in the pool. */
	uint64_t pool_free; /**< ... of those, free now. */
	uint64_t taken;	    /**< Handles taken before their time by coda_wheel_take_earliest(). */
};

/**
 * Bytes needed for a wheel of @p nb_timers timers (for coda_wheel_init()).
 *
 * @return the size, or 0 if @p nb_timers is 0 or above CODA_WHEEL_MAX_TIMERS.
 */
size_t coda_wheel_memsize(uint32_t nb_timers);

/**
 * Build a wheel inside caller memory (for instance rte_zmalloc_socket() on
 * the worker's NUMA node, or hugepages).
 *
 * @param mem        at least coda_wheel_memsize(nb_timers) bytes, 64-byte aligned.
 * @param size       bytes available at @p mem.
 * @param nb_timers  handles will be in [0, nb_timers).
 * @param now        the wheel's clock starts here; the first tick processed is @p now.
 * @return the wheel (== @p mem), or NULL with errno EINVAL (NULL or misaligned
 *         @p mem, @p size too small, @p nb_timers 0 or too large).
 */
struct coda_wheel *coda_wheel_init(void *mem, size_t size, uint32_t nb_timers, uint64_t now);

/**
 * Allocate and build a wheel (aligned_alloc; transparent huge pages
 * requested where the kernel offers them).
 *
 * @return the wheel, or NULL with errno EINVAL (as coda_wheel_init()) or ENOMEM.
 */
struct coda_wheel *coda_wheel_create(uint32_t nb_timers, uint64_t now);

/** Free a wheel from coda_wheel_create(). NULL is allowed. */
void coda_wheel_free(struct coda_wheel *w);

/**
 * Arm timer @p h to fire at tick @p expiry, or move it there if it is already
 * pending (even if it is already due and not yet delivered).
 *
 * The timer fires in the first coda_wheel_advance() whose `now` is at or
 * after @p expiry, at most the lateness of its level (see the table above)
 * after @p expiry. An @p expiry at or before the wheel's clock fires in the
 * next coda_wheel_advance().
 *
 * @return 0; -EINVAL if @p h is out of range; -ERANGE if @p expiry is more
 *         than CODA_WHEEL_MAX_DELAY ticks after the wheel's clock. On error
 *         the timer is left unchanged.
 */
int coda_wheel_arm(struct coda_wheel *w, uint32_t h, uint64_t expiry);

/**
 * Cancel timer @p h. After this it will not be delivered, even if it was
 * already due.
 *
 * @return 0 if it was pending; -ENOENT if it was not; -EINVAL if @p h is out of range.
 */
int coda_wheel_cancel(struct coda_wheel *w, uint32_t h);

/**
 * Arm @p n timers, h[i] for expiry[i], as coda_wheel_arm() would one by one,
 * prefetching the state words of each group of 32 timers before arming
 * them: the way a datapath that collects its timer work over an rx burst
 * should call it.
 *
 * @return how many were armed; the others (bad handle, expiry out of reach)
 *         are left unchanged.
 */
unsigned int coda_wheel_arm_burst(struct coda_wheel *w, const uint32_t *h,
				  const uint64_t *expiry, unsigned int n);

/**
 * Cancel @p n timers as coda_wheel_cancel() would, with prefetching.
 *
 * @return how many were pending (and are now cancelled).
 */
unsigned int coda_wheel_cancel_burst(struct coda_wheel *w, const uint32_t *h, unsigned int n);

/** Prefetch what arming or cancelling timer @p h will touch (its state word). */
void coda_wheel_prefetch(const struct coda_wheel *w, uint32_t h);

/** Whether timer @p h is pending (armed, not yet delivered). False when out of range. */
bool coda_wheel_pending(const struct coda_wheel *w, uint32_t h);

/**
 * Move the wheel's clock to @p now and deliver expired timers.
 *
 * Writes at most @p max handles of expired timers into @p expired and
 * returns how many; each delivered timer is no longer pending (the caller
 * may re-arm it at once). The work of one call is bounded: it examines at
 * most 4 x @p max + 64 slot entries (live or cancelled). So more timers may
 * still be due when it returns, even fewer than @p max: a datapath simply
 * calls it once per loop iteration; a caller that wants everything due now
 * calls it while coda_wheel_due() says so. Slots are delivered in time
 * order, and timers within one slot in the order they were armed. A
 * @p now earlier than the clock delivers only what was already due.
 *
 * @return the number of handles written, 0 .. @p max.
 */
unsigned int coda_wheel_advance(struct coda_wheel *w, uint64_t now, uint32_t *expired,
				unsigned int max);

/**
 * Whether a slot is due at @p now: after coda_wheel_advance(w, now, ...),
 * true means more work is waiting (due timers, or cancelled entries whose
 * chunks the next calls give back), so a caller that wants everything
 * done calls advance again while it is true.
 */
bool coda_wheel_due(const struct coda_wheel *w, uint64_t now);

/**
 * The earliest tick at which a pending timer may fire (its slot's time), or
 * UINT64_MAX when none is pending. A worker may sleep, or skip advancing,
 * until then. (A slot holding only cancelled timers may make it earlier
 * than the first real expiry while other timers are pending: an early
 * wake-up, never a late one.)
 */
uint64_t coda_wheel_next_expiry(const struct coda_wheel *w);

/**
 * The tick of the slot pending timer @p h sits in (for a re-armed timer, the
 * slot it was re-armed for): the first coda_wheel_advance() whose `now` is
 * at or after it delivers the timer. It is at or after the timer's expiry
 * by at most the lateness of its level; a timer already due reads as the
 * clock.
 *
 * @return the tick, or UINT64_MAX if @p h is not pending or out of range.
 */
uint64_t coda_wheel_expiry(const struct coda_wheel *w, uint32_t h);

/**
 * Take up to @p max pending timers before their time, earliest slot first,
 * in the order coda_wheel_advance() would deliver them, without moving the
 * clock: for a caller that must free the entries closest to expiry now (a
 * full TIME-WAIT table recycling its oldest entry). Like advance, it
 * examines at most 4 x @p max + 64 slot entries, so it may return fewer
 * than @p max (even 0) while timers are pending; a re-armed timer met on
 * the way is moved to its slot, not taken. Counted in
 * coda_wheel_stats.taken and .fired.
 *
 * @return the number of handles written into @p out, 0 .. @p max.
 */
unsigned int coda_wheel_take_earliest(struct coda_wheel *w, uint32_t *out, unsigned int max);

/** The wheel's clock: every tick before it has been processed. */
uint64_t coda_wheel_clock(const struct coda_wheel *w);

/** Number of pending timers. */
uint32_t coda_wheel_count(const struct coda_wheel *w);

/** Number of timers (handles) the wheel was built for. */
uint32_t coda_wheel_capacity(const struct coda_wheel *w);

/**
 * Check the wheel's internal structure: every slot's chunk chain ends at its
 * tail with the count it records, the bitmaps match the slots, every chunk
 * is either in exactly one chain or on the free list, and a sweep under way
 * has its cursors on its slot's chain. O(pool size):
 * for tests and debugging, not the datapath.
 *
 * @return 0 when consistent; -EFAULT when not (a bug, or memory overwritten).
 */
int coda_wheel_audit(const struct coda_wheel *w);

/** Copy the wheel's counters into @p st. */
void coda_wheel_stats(const struct coda_wheel *w, struct coda_wheel_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* CODA_WHEEL_H */
