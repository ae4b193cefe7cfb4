/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hierarchical timing wheel (geometry and guarantees: coda_wheel.h;
 * the measured choice of this layout: docs/wheel.md).
 *
 * Layout: slot arrays of 32-bit handles with lazy cancel.
 *
 *  - state[h], 16 bits per timer: 0 when idle, else 1 + the slot it is armed
 *    for (low 14 bits), a "deferred" bit and a compaction epoch mark. It is
 *    the only per-timer word, and the truth: an entry of h in slot s fires
 *    only while state[h] names s.
 *  - Each slot is a FIFO of handles kept in a chain of 16-entry chunks
 *    (64 bytes, one cache line) taken from one preallocated pool. Arming
 *    appends h to its slot's tail chunk; cancelling only clears state[h],
 *    leaving a stale entry behind. A slot's bit in its level's bitmap is
 *    set while it holds entries.
 *  - Re-arming to a later slot (the common case: a retransmission or idle
 *    timer pushed back) only rewrites state[h] with the deferred bit: the
 *    entry stays where it is, and when its slot comes due the drain moves
 *    it to the slot that state[h] names (or fires it, if that slot's time
 *    has come too). Re-arming to an earlier slot appends a new entry and
 *    leaves the old one stale.
 *
 * Why: cancel is one load and one store of the state word, and nothing
 * else it touches depends on the value loaded, so consecutive operations on
 * random handles overlap in the CPU instead of queueing on cache misses (a
 * per-slot live count, tried first, made every cancel wait for the one
 * before it). Expiry reads chunks sequentially and prefetches the state
 * words of the next chunk. The intrusive doubly-linked list we measured
 * against needs three dependent random cache lines per cancel
 * (docs/wheel.md has the numbers).
 *
 * Stale entries die when their slot is drained: each costs one skipped
 * read then. While the pool runs low, arming also sweeps them out a step at
 * a time (sweep_step()); should the pool run out all the same (duplicates of
 * one timer in one slot, which only a full pass can tell apart), one call
 * compacts every slot (compact()). Both are counted in the stats.
 *
 * The wheel's clock `clk` is the next tick to process: every slot whose time
 * is before clk has been drained. Within tick clk levels are drained in
 * order; `lvl` is the next level to look at, so a call that stops at its
 * batch cap resumes exactly where it left off. Timers armed for a tick that
 * is already past, or for tick clk once its level-0 slot has been drained,
 * go to one extra "due" slot that every advance drains first.
 *
 * Placement invariant (what makes "never early" and the bitmap skip work):
 * a timer at level n sits in the slot of time T = ceil(E / g) * g, where E
 * is its expiry and g = 8^n, and T lies in [B, B + 63 g] with B the first
 * multiple of g at or after clk. Those 64 slot times have 64 distinct slot
 * indices, so a slot never mixes two rotations, and the next occupied slot
 * of a level is found with one rotate and one count-trailing-zeros.
 */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coda_prefetch.h"
#include "coda_wheel.h"

#define LVL_MASK (CODA_WHEEL_LVL_SIZE - 1)
#define NB_SLOTS (CODA_WHEEL_LEVELS * CODA_WHEEL_LVL_SIZE)
/* The due slot: one more slot after the last level's. */
#define DUE_SLOT NB_SLOTS
#define NIL UINT32_MAX
#define CHUNK_ENTRIES 16
#define CACHE_LINE 64
#define HUGE_PAGE (UINT64_C(2) << 20)
/* The epoch mark in state[]: compaction flips it on the first entry it keeps of a timer. */
#define STATE_EPOCH UINT16_C(0x8000)
/* The entry of this timer sits in an earlier slot than the one its tag names. */
#define STATE_DEFER UINT16_C(0x4000)
#define STATE_TAG UINT16_C(0x3fff)
/* Entries examined per advance call: 4 per handle the caller has room for, plus this. */
#define SCAN_EXTRA 64

static_assert(NB_SLOTS + 1 <= STATE_TAG, "slot tags must fit below the flag bits");
static_assert(CODA_WHEEL_LVL_SIZE == 64, "one 64-bit bitmap word per level");
static_assert(CHUNK_ENTRIES * sizeof(uint32_t) == CACHE_LINE, "a chunk is one cache line");

struct wheel_slot {
	uint32_t head;	    /* first chunk, NIL when the slot holds no entry */
	uint32_t tail;	    /* last chunk */
	uint16_t head_off;  /* next entry to read in the head chunk */
	uint16_t tail_fill; /* entries written in the tail chunk */
	uint32_t chunks;    /* chunks in the chain */
};

struct coda_wheel {
	/* First cache line: read on every arm, cancel and advance. */
	uint64_t clk;		/* next tick to process */
	uint32_t lvl;		/* next level to drain at tick clk */
	uint32_t nb_timers;
	uint32_t count;		/* pending timers */
	uint32_t free_chunk;	/* head of the free chunk list, NIL when empty */
	uint16_t *state;	/* nb_timers words */
	uint32_t *entries;	/* nb_chunks * CHUNK_ENTRIES handles */
	uint32_t *chunk_next;	/* nb_chunks links: slot chains and the free list */
	uint32_t nb_chunks;
	uint32_t nb_free;	/* chunks on the free list */
	uint16_t epoch;		/* 0 or STATE_EPOCH: the mark of every live timer */
	uint16_t pad;
	/* The slot of the last future expiry armed, valid while the clock stays. */
	uint64_t memo_expiry;
	uint64_t memo_clk;
	uint32_t memo_slot;
	/* The incremental sweep (sweep_step()): slot, read and write cursors. */
	uint32_t sweep_slot;	/* NIL when none is under way */
	uint32_t sweep_next;	/* next slot to sweep, round robin */
	uint32_t sweep_rc, sweep_wc;
	uint16_t sweep_roff, sweep_woff;
	uint32_t sweep_low;	/* sweep while fewer chunks than this are free */
	/* Occupied slots per level; word CODA_WHEEL_LEVELS has bit 0 for the due slot. */
	uint64_t occupied[CODA_WHEEL_LEVELS + 1];
	struct coda_wheel_stats stats; /* `pending` filled from count on read */
	struct wheel_slot slots[NB_SLOTS + 1];
} __attribute__((aligned(CACHE_LINE)));

static size_t
align_up(size_t x)
{
	return (x + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

/*
 * Chunks for n timers: enough for every timer plus a quarter more of stale
 * entries, plus one partly filled chunk per slot. Compaction leaves at most
 * n / 16 + one per slot in use, so it always frees at least n / 64 chunks.
 */
static uint32_t
chunks_for(uint32_t n)
{
	uint64_t entries = (uint64_t)n + n / 4;

	return (uint32_t)((entries + CHUNK_ENTRIES - 1) / CHUNK_ENTRIES) + NB_SLOTS + 2;
}

size_t
coda_wheel_memsize(uint32_t nb_timers)
{
	size_t chunks;

	if (nb_timers == 0 || nb_timers > CODA_WHEEL_MAX_TIMERS)
		return 0;
	chunks = chunks_for(nb_timers);
	return align_up(sizeof(struct coda_wheel)) +
	       align_up(chunks * CHUNK_ENTRIES * sizeof(uint32_t)) +
	       align_up(chunks * sizeof(uint32_t)) +
	       align_up((size_t)nb_timers * sizeof(uint16_t));
}

struct coda_wheel *
coda_wheel_init(void *mem, size_t size, uint32_t nb_timers, uint64_t now)
{
	struct coda_wheel *w = mem;
	size_t need = coda_wheel_memsize(nb_timers);
	char *p;
	uint32_t c, s;

	if (mem == NULL || ((uintptr_t)mem & (CACHE_LINE - 1)) != 0 || need == 0 || size < need) {
		errno = EINVAL;
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->clk = now;
	/*
	 * No memo yet. It reads as "expiry 0 at clock UINT64_MAX", which a
	 * wheel at the end of time can meet: the due slot is right for it.
	 */
	w->memo_clk = UINT64_MAX;
	w->memo_slot = DUE_SLOT;
	w->sweep_slot = NIL;
	w->nb_timers = nb_timers;
	w->nb_chunks = chunks_for(nb_timers);
	p = (char *)mem + align_up(sizeof(struct coda_wheel));
	w->entries = (uint32_t *)p;
	p += align_up((size_t)w->nb_chunks * CHUNK_ENTRIES * sizeof(uint32_t));
	w->chunk_next = (uint32_t *)p;
	p += align_up((size_t)w->nb_chunks * sizeof(uint32_t));
	w->state = (uint16_t *)p;
	memset(w->state, 0, (size_t)nb_timers * sizeof(uint16_t));
	/* Touch the entry pool now rather than on the datapath. */
	memset(w->entries, 0xff, (size_t)w->nb_chunks * CHUNK_ENTRIES * sizeof(uint32_t));
	for (c = 0; c < w->nb_chunks; c++)
		w->chunk_next[c] = c + 1 < w->nb_chunks ? c + 1 : NIL;
	w->free_chunk = 0;
	w->nb_free = w->nb_chunks;
	w->sweep_low = w->nb_chunks / 4;
	for (s = 0; s <= NB_SLOTS; s++) {
		w->slots[s].head = w->slots[s].tail = NIL;
		w->slots[s].tail_fill = CHUNK_ENTRIES; /* empty reads as full */
	}
	return w;
}

struct coda_wheel *
coda_wheel_create(uint32_t nb_timers, uint64_t now)
{
	size_t need = coda_wheel_memsize(nb_timers);
	size_t align = CACHE_LINE;
	void *mem = NULL;
	struct coda_wheel *w;

	if (need == 0) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * State words are touched at random: ask for transparent huge pages
	 * so that this is not also a TLB miss each time. Only advisory.
	 */
	if (need >= 2 * HUGE_PAGE)
		align = HUGE_PAGE;
	if (posix_memalign(&mem, align, need) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (align == HUGE_PAGE)
		(void)madvise(mem, need, MADV_HUGEPAGE);
	w = coda_wheel_init(mem, need, nb_timers, now);
	if (w == NULL)
		goto err;
	return w;
err:
	free(mem);
	return NULL;
}

void
coda_wheel_free(struct coda_wheel *w)
{
	free(w);
}

static inline void
occupied_set(struct coda_wheel *w, uint32_t slot)
{
	w->occupied[slot / CODA_WHEEL_LVL_SIZE] |= UINT64_C(1) << (slot % CODA_WHEEL_LVL_SIZE);
}

static inline void
occupied_clear(struct coda_wheel *w, uint32_t slot)
{
	w->occupied[slot / CODA_WHEEL_LVL_SIZE] &= ~(UINT64_C(1) << (slot % CODA_WHEEL_LVL_SIZE));
}

/*
 * The time of a slot's next turn. Every slot a live state names lies within
 * its level's 64 slot times from the first boundary at or after clk (the
 * placement invariant), so the index alone tells the time. The due slot's
 * time is 0: always due.
 */
static inline uint64_t
slot_time(const struct coda_wheel *w, uint32_t slot)
{
	unsigned int shift = slot / CODA_WHEEL_LVL_SIZE * CODA_WHEEL_LVL_CLK_SHIFT;
	uint64_t p;

	if (slot == DUE_SLOT)
		return 0;
	p = (w->clk >> shift) + ((w->clk & ((UINT64_C(1) << shift) - 1)) != 0);
	return (p + ((slot - p) & LVL_MASK)) << shift;
}

/* Give a slot's whole chain back to the pool: O(1). */
static inline void
slot_release(struct coda_wheel *w, struct wheel_slot *sl)
{
	if (sl->head != NIL) {
		w->chunk_next[sl->tail] = w->free_chunk;
		w->free_chunk = sl->head;
		w->nb_free += sl->chunks;
		sl->chunks = 0;
		sl->head = sl->tail = NIL;
		sl->tail_fill = CHUNK_ENTRIES;
	}
}

/* Prefetch timer h's state word (any h: stale entries may hold NIL). */
static inline void
prefetch_state(const struct coda_wheel *w, uint32_t h)
{
	if (h < w->nb_timers)
		coda_prefetch_w(&w->state[h]);
}

/* Prefetch the state words of the handles in chunk c (the next one to scan). */
static inline void
prefetch_chunk(const struct coda_wheel *w, uint32_t c)
{
	const uint32_t *e = &w->entries[(size_t)c * CHUNK_ENTRIES];
	unsigned int i;

	for (i = 0; i < CHUNK_ENTRIES; i++)
		prefetch_state(w, e[i]);
}

/*
 * Before reading chunk c of a slot, prefetch ahead along its chain, which
 * runs through the pool in allocation order, not memory order: the state
 * words of the handles in the chunk three on (48 entries, about one memory
 * latency of work on a slow machine), the chunk four on, whose handles the
 * next step needs, and that chunk's link, so that walking the chain never
 * waits either. On the slot's first chunk in a call, start the pipeline.
 * Entries past a tail's fill are stale handles or NIL: a wasted prefetch at
 * worst.
 */
static inline void
prefetch_ahead(const struct coda_wheel *w, uint32_t c, bool first)
{
	uint32_t ahead[4], k, n = c;

	for (k = 0; k < 4; k++) {
		n = n != NIL ? w->chunk_next[n] : NIL;
		ahead[k] = n;
	}
	if (first) {
		prefetch_chunk(w, c);
		for (k = 0; k < 2; k++)
			if (ahead[k] != NIL)
				prefetch_chunk(w, ahead[k]);
		if (ahead[2] != NIL)
			coda_prefetch(&w->entries[(size_t)ahead[2] * CHUNK_ENTRIES]);
	}
	if (ahead[3] != NIL) {
		coda_prefetch(&w->entries[(size_t)ahead[3] * CHUNK_ENTRIES]);
		coda_prefetch(&w->chunk_next[ahead[3]]);
	}
	if (ahead[2] != NIL)
		prefetch_chunk(w, ahead[2]);
}

/*
 * Whether an entry of h found in slot s is h's entry: h is armed for s, or
 * h was re-armed later and s comes due no later than its new slot (its
 * entry will move there). Anything else is stale.
 */
static inline bool
entry_live(const struct coda_wheel *w, uint32_t s, uint32_t h)
{
	uint16_t st = w->state[h];

	if (st & STATE_DEFER)
		return slot_time(w, s) <= slot_time(w, (st & STATE_TAG) - 1u);
	return (st & STATE_TAG) == s + 1;
}

/*
 * Rewrite every slot in place keeping, for each live timer, one entry: in
 * the slot its state names, or for a deferred timer in a slot due no later
 * than the one it names; free the chunks that empties. Run only when the
 * pool is exhausted. Every live timer carries the current epoch mark; the
 * first entry kept of it gets the other one, so any further entry of the
 * same timer is recognised and dropped. Afterwards the entries in use are
 * exactly the live timers, all marked with the new epoch.
 */
static __attribute__((noinline, cold)) void
compact(struct coda_wheel *w)
{
	uint16_t fresh = w->epoch ^ STATE_EPOCH;
	uint32_t s;

	for (s = 0; s <= NB_SLOTS; s++) {
		struct wheel_slot *sl = &w->slots[s];
		uint32_t rc = sl->head, wc = sl->head;
		unsigned int roff = sl->head_off, woff = 0;

		if (rc == NIL)
			continue;
		while (rc != NIL) {
			unsigned int end = rc == sl->tail ? sl->tail_fill : CHUNK_ENTRIES;
			uint32_t next = w->chunk_next[rc];

			prefetch_ahead(w, rc, rc == sl->head);
			for (; roff < end; roff++) {
				uint32_t h = w->entries[(size_t)rc * CHUNK_ENTRIES + roff];

				uint16_t st = w->state[h];

				/* Stale, or a second entry of a timer already kept. */
				if (st == 0 || (st & STATE_EPOCH) != w->epoch || !entry_live(w, s, h))
					continue;
				w->state[h] = (uint16_t)((st & ~STATE_EPOCH) | fresh);
				if (woff == CHUNK_ENTRIES) {
					wc = w->chunk_next[wc];
					woff = 0;
				}
				w->entries[(size_t)wc * CHUNK_ENTRIES + woff++] = h;
			}
			rc = next;
			roff = 0;
		}
		if (woff == 0) {
			/* Nothing live left here. */
			slot_release(w, sl);
			occupied_clear(w, s);
			continue;
		}
		/* Chunks after the new tail go back to the pool. */
		if (wc != sl->tail) {
			uint32_t c, kept = 1;

			for (c = sl->head; c != wc; c = w->chunk_next[c])
				kept++;
			w->nb_free += sl->chunks - kept;
			sl->chunks = kept;
			w->chunk_next[sl->tail] = w->free_chunk;
			w->free_chunk = w->chunk_next[wc];
		}
		w->chunk_next[wc] = NIL;
		sl->tail = wc;
		sl->head_off = 0;
		sl->tail_fill = (uint16_t)woff;
	}
	w->epoch = fresh;
	w->sweep_slot = NIL; /* its cursors point into chains just rewritten */
	w->stats.compactions++;
}

static inline uint32_t
chunk_alloc(struct coda_wheel *w)
{
	uint32_t c = w->free_chunk;

	w->free_chunk = w->chunk_next[c];
	w->chunk_next[c] = NIL;
	w->nb_free--;
	return c;
}

/*
 * Prefetch, for writing, the next two chunks the pool will hand out, and
 * the link of the second. Without it, the first entry written to a new
 * chunk missed the cache, and the stores after it (x86 commits stores in
 * order) queued behind that miss until the store buffer filled and
 * arming stopped: at 4M timers arming in bursts from empty took 15 ns
 * instead of 11 (docs/wheel.md). The head's link was prefetched by the
 * call before, as the second's is here.
 */
static inline void
prefetch_pool_head(const struct coda_wheel *w)
{
	uint32_t c = w->free_chunk;

	if (c == NIL)
		return;
	coda_prefetch_w(&w->entries[(size_t)c * CHUNK_ENTRIES]);
	c = w->chunk_next[c];
	if (c == NIL)
		return;
	coda_prefetch_w(&w->entries[(size_t)c * CHUNK_ENTRIES]);
	coda_prefetch(&w->chunk_next[c]);
}

/* Give a slot whose tail chunk is full (or that has none) a new tail chunk. */
static __attribute__((noinline)) void
slot_grow(struct coda_wheel *w, uint32_t slot)
{
	struct wheel_slot *sl = &w->slots[slot];
	uint32_t c;

	if (w->free_chunk == NIL) {
		compact(w);
		/* It may have made room in this very slot's tail chunk. */
		if (sl->head != NIL && sl->tail_fill < CHUNK_ENTRIES)
			return;
	}
	/* After a compaction the pool is not empty (see chunks_for()). */
	c = chunk_alloc(w);
	if (sl->head == NIL) {
		sl->head = c;
		sl->head_off = 0;
		occupied_set(w, slot);
	} else {
		w->chunk_next[sl->tail] = c;
	}
	sl->tail = c;
	sl->tail_fill = 0;
	sl->chunks++;
	prefetch_pool_head(w);
}

/*
 * The incremental sweep: while the pool runs low, every chunk that arming
 * takes pays for SWEEP_PER_CHUNK entries of in-place compaction, one slot
 * after another, so that stale entries are reclaimed a little at a time
 * instead of in one full compact(). Rate: 8 entries read per entry
 * appended, which keeps up as long as more than one entry in 8 is stale.
 * It runs only when worth_sweeping() says so; compact() stays the rare
 * fallback.
 *
 * A sweep of slot s reads from (rc, roff) and writes the live entries back
 * at (wc, woff), never ahead of the read. Invariant: wc == rc, or
 * chunk_next[wc] == rc, because each chunk the read leaves behind, other
 * than wc, is unlinked and freed at once. So the chain stays whole at every
 * step: between the cursors it only holds copies of entries already kept
 * or dropped, which a drain reading them treats like any stale entry (the
 * state word decides; a second copy of a live entry is stale once the first
 * fired). A drain of s, or a compaction, simply abandons the sweep. Unlike
 * compact(), the sweep does not drop duplicate entries of one timer in one
 * slot (they look alike); compact() does.
 */
#define SWEEP_PER_CHUNK (8 * CHUNK_ENTRIES)

/*
 * Prefetch the state words of the next `budget` entries the sweep will read
 * in its slot, along the chain, so that the step's liveness tests do not
 * wait for them one by one. Walking the chain reads its links first.
 */
static void
sweep_prefetch(const struct coda_wheel *w, unsigned int budget)
{
	const struct wheel_slot *sl = &w->slots[w->sweep_slot];
	uint32_t c = w->sweep_rc;
	unsigned int off = w->sweep_roff;

	while (budget > 0) {
		unsigned int end = c == sl->tail ? sl->tail_fill : CHUNK_ENTRIES;

		for (; off < end && budget > 0; off++, budget--)
			prefetch_state(w, w->entries[(size_t)c * CHUNK_ENTRIES + off]);
		if (c == sl->tail)
			return;
		c = w->chunk_next[c];
		off = 0;
	}
}

static void
sweep_step(struct coda_wheel *w, unsigned int budget)
{
	bool ahead = false;

	while (budget > 0) {
		struct wheel_slot *sl;
		unsigned int end;
		uint32_t s, next;

		if (w->sweep_slot == NIL) {
			unsigned int k;

			/* Next slot with entries; the due slot drains at every advance anyway. */
			for (k = 0; k < NB_SLOTS; k++) {
				s = w->sweep_next;
				w->sweep_next = (s + 1) % NB_SLOTS;
				if (w->slots[s].head != NIL)
					break;
			}
			if (k == NB_SLOTS)
				return;
			sl = &w->slots[s];
			w->sweep_slot = s;
			w->sweep_rc = w->sweep_wc = sl->head;
			w->sweep_roff = w->sweep_woff = sl->head_off;
			budget--;
		}
		if (!ahead) {
			sweep_prefetch(w, budget);
			ahead = true;
		}
		s = w->sweep_slot;
		sl = &w->slots[s];
		end = w->sweep_rc == sl->tail ? sl->tail_fill : CHUNK_ENTRIES;
		for (; w->sweep_roff < end && budget > 0; w->sweep_roff++, budget--) {
			uint32_t h = w->entries[(size_t)w->sweep_rc * CHUNK_ENTRIES + w->sweep_roff];

			if (!entry_live(w, s, h))
				continue;
			if (w->sweep_woff == CHUNK_ENTRIES) {
				w->sweep_wc = w->chunk_next[w->sweep_wc];
				w->sweep_woff = 0;
			}
			w->entries[(size_t)w->sweep_wc * CHUNK_ENTRIES + w->sweep_woff++] = h;
		}
		if (w->sweep_roff < end)
			return; /* out of budget: resume here */
		if (w->sweep_rc == sl->tail) {
			/* Read to the end: the written part is the slot now. */
			if (w->sweep_wc == sl->head && w->sweep_woff == sl->head_off) {
				slot_release(w, sl);
				occupied_clear(w, s);
			} else {
				if (w->sweep_rc != w->sweep_wc) {
					w->chunk_next[w->sweep_rc] = w->free_chunk;
					w->free_chunk = w->sweep_rc;
					w->nb_free++;
					sl->chunks--;
				}
				w->chunk_next[w->sweep_wc] = NIL;
				sl->tail = w->sweep_wc;
				sl->tail_fill = w->sweep_woff;
			}
			w->sweep_slot = NIL;
			w->stats.sweeps++;
			ahead = false; /* the next slot's entries are not prefetched yet */
			continue;
		}
		next = w->chunk_next[w->sweep_rc];
		if (w->sweep_rc != w->sweep_wc) {
			/* Every entry of this chunk is kept further back, or stale: free it. */
			w->chunk_next[w->sweep_wc] = next;
			w->chunk_next[w->sweep_rc] = w->free_chunk;
			w->free_chunk = w->sweep_rc;
			w->nb_free++;
			sl->chunks--;
		}
		w->sweep_rc = next;
		w->sweep_roff = 0;
	}
}

/*
 * Append h to a slot's FIFO, make state[h] name the slot and count one
 * more timer pending (a caller re-arming a pending timer has taken it off
 * the count first). An empty slot reads as a full one, so the common case
 * is one test and two stores. Kept free of calls so that the compiler
 * needs no saved registers on that path.
 */
static inline void
slot_append(struct coda_wheel *w, uint32_t slot, uint32_t h)
{
	struct wheel_slot *sl = &w->slots[slot];

	if (__builtin_expect(sl->tail_fill == CHUNK_ENTRIES, 0))
		slot_grow(w, slot);
	w->entries[(size_t)sl->tail * CHUNK_ENTRIES + sl->tail_fill++] = h;
	w->state[h] = (uint16_t)(slot + 1) | w->epoch;
	w->count++;
	w->stats.armed++;
}

/*
 * Whether to run a sweep step now that the pool is low. Yes when a step can
 * pay for itself: at least one entry in 8 of those the chunks in use could
 * hold is stale (every pending timer has an entry, so chunks in use times
 * CHUNK_ENTRIES, less the pending count, bounds the stale entries from
 * above, counting each slot's unfilled head and tail as stale). And yes
 * when the free chunks could not pay for a whole pass over the entries in
 * use at SWEEP_PER_CHUNK entries per chunk taken: stale entries too few to
 * matter by their share may sit in the slots the pass reaches last, and a
 * sweep that starts later could not reach them before the pool ran out
 * (the compaction that tests/unit/test_wheel.c's test_sweep_starts_in_time
 * catches). Filling a wheel to capacity with nothing stale meets neither:
 * without this test it swept the last quarter of its chunks over and over,
 * finding nothing to drop, at eight state words read per entry appended.
 */
static inline bool
worth_sweeping(const struct coda_wheel *w)
{
	uint64_t held = (uint64_t)(w->nb_chunks - w->nb_free) * CHUNK_ENTRIES;

	return (held - w->count) * 8 >= held || (uint64_t)w->nb_free * SWEEP_PER_CHUNK < held;
}

/*
 * The rare half of arming: a new chunk first, with a step of the sweep
 * while the pool runs low (which may make room in this very slot), or a
 * compaction if it is empty.
 */
static __attribute__((noinline)) int
arm_grow(struct coda_wheel *w, uint32_t slot, uint32_t h)
{
	if (w->nb_free < w->sweep_low && worth_sweeping(w))
		sweep_step(w, SWEEP_PER_CHUNK);
	slot_append(w, slot, h);
	return 0;
}

/* ceil(x / 2^shift) without overflow. */
static inline uint64_t
ceil_shift(uint64_t x, unsigned int shift)
{
	return (x >> shift) + ((x & ((UINT64_C(1) << shift) - 1)) != 0);
}

/*
 * The level for a delay of 64 .. CODA_WHEEL_MAX_DELAY ticks: the lowest n
 * with delta <= 63 * 8^n. Such an n is at least ceil((b - 6) / 3) for a
 * delay of b bits (63 * 8^n < 2^(6 + 3n)), and that first guess is off by
 * at most one.
 */
static inline unsigned int
level_of(uint64_t delta)
{
	unsigned int b = 64 - (unsigned int)__builtin_clzll(delta);
	unsigned int lvl = (b - 4) / CODA_WHEEL_LVL_CLK_SHIFT;

	return lvl + (delta > (uint64_t)(CODA_WHEEL_LVL_SIZE - 1) << (lvl * CODA_WHEEL_LVL_CLK_SHIFT));
}

static inline __attribute__((always_inline)) int
arm_one(struct coda_wheel *w, uint32_t h, uint64_t expiry)
{
	uint64_t clk = w->clk;
	uint32_t slot;
	uint16_t old;

	if (h >= w->nb_timers)
		return -EINVAL;
	if (expiry == w->memo_expiry && clk == w->memo_clk) {
		/* Same expiry as the last arm at this clock (TIME-WAIT in a burst). */
		slot = w->memo_slot;
	} else if (expiry > clk) {
		uint64_t delta = expiry - clk;

		if (delta < CODA_WHEEL_LVL_SIZE) {
			slot = (uint32_t)(expiry & LVL_MASK);
		} else {
			unsigned int lvl;

			if (delta > CODA_WHEEL_MAX_DELAY)
				return -ERANGE;
			/*
			 * Slot time ceil(E / g) * g: never early. It is at most
			 * ceil(delta / g) <= 63 slots past the level's next
			 * boundary, so within this rotation of the level.
			 */
			lvl = level_of(delta);
			slot = lvl * CODA_WHEEL_LVL_SIZE +
			       (uint32_t)(ceil_shift(expiry, lvl * CODA_WHEEL_LVL_CLK_SHIFT) & LVL_MASK);
		}
		w->memo_expiry = expiry;
		w->memo_clk = clk;
		w->memo_slot = slot;
	} else if (expiry == clk && w->lvl == 0) {
		/* Tick clk's level-0 slot is still to be drained. */
		slot = (uint32_t)(clk & LVL_MASK);
	} else {
		/* Already due, and past its level-0 slot: drained first by the next advance. */
		slot = DUE_SLOT;
	}
	old = w->state[h];
	if (old != 0) {
		uint32_t was = (old & STATE_TAG) - 1u;

		if (was == slot) {
			/* Already for that slot (same expiry, or the same granule). */
			w->stats.rearmed++;
			w->stats.armed++;
			return 0;
		}
		if (slot_time(w, slot) >= slot_time(w, was)) {
			/*
			 * Later: its entry (in `was`, or for a deferred timer in
			 * a slot due no later) is moved when that slot comes due.
			 */
			w->state[h] = (uint16_t)(slot + 1) | STATE_DEFER | w->epoch;
			w->stats.rearmed++;
			w->stats.armed++;
			return 0;
		}
		/*
		 * Earlier: the append below counts it pending again. Adjusted
		 * here, in a branch, rather than as an add of (old == 0) there:
		 * that add waits for the state word's cache miss, and the next
		 * arm's update of the count waits for that one, so that arms
		 * one by one queue on each other's misses.
		 */
		w->count--;
		w->stats.rearmed++;
	}
	/*
	 * Earlier, or idle: a new entry; any old one goes stale. Should the
	 * append compact, it may keep that old entry: stale all the same once
	 * state[h] names the new slot without the deferred bit.
	 */
	if (__builtin_expect(w->slots[slot].tail_fill == CHUNK_ENTRIES, 0))
		return arm_grow(w, slot, h);
	slot_append(w, slot, h);
	return 0;
}

int
coda_wheel_arm(struct coda_wheel *w, uint32_t h, uint64_t expiry)
{
	return arm_one(w, h, expiry);
}

/*
 * The burst calls work in groups: prefetch the state words of a whole group,
 * then arm (or cancel) its timers, so that the group's misses are in flight
 * together. Against prefetching 8 places ahead, both with prefetches that
 * survive the compiler (coda_prefetch.h), a same-process A/B at 4M timers
 * in bursts of 32 gave arm 18.7-19.8 against 20.2-21.9 ns and cancel
 * 11.6-14.1 against 14.4-14.8 ns (docs/wheel.md).
 */
#define BURST_GROUP 32

/* Inline, not through coda_wheel_prefetch(), which -fPIC makes a call. */
static inline void
prefetch_states(const struct coda_wheel *w, const uint32_t *h, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		prefetch_state(w, h[i]);
}

/*
 * The common run of a burst, taken without arm_one(): idle timers armed for
 * the expiry of the previous arm at this clock (so for its slot, the memo),
 * while that slot's tail chunk has room. The tail, its fill, the tag and
 * the counts stay in registers; arm_one() keeps them in the wheel, which
 * each entry stored through a uint32_t pointer might alias, so the
 * compiler reloads and stores them on every arm. Returns how many of
 * h[i .. end) it armed, from i on; arm_one() takes the one it stopped at
 * (another expiry, a pending timer, a bad handle, a full chunk).
 */
static inline unsigned int
arm_memo_run(struct coda_wheel *w, const uint32_t *h, const uint64_t *expiry, unsigned int i,
	     unsigned int end)
{
	struct wheel_slot *sl = &w->slots[w->memo_slot];
	unsigned int fill = sl->tail_fill, start = i;
	uint64_t e = w->memo_expiry;
	uint16_t tag, *state = w->state;
	uint32_t *tail, nb = w->nb_timers;

	/* An empty slot reads as a full one: no tail to write to. */
	if (w->memo_clk != w->clk || fill == CHUNK_ENTRIES)
		return 0;
	tail = &w->entries[(size_t)sl->tail * CHUNK_ENTRIES];
	tag = (uint16_t)(w->memo_slot + 1) | w->epoch;
	for (; i < end && fill < CHUNK_ENTRIES; i++) {
		uint32_t x = h[i];

		if (x >= nb || expiry[i] != e || state[x] != 0)
			break;
		tail[fill++] = x;
		state[x] = tag;
	}
	if (i > start) {
		sl->tail_fill = (uint16_t)fill;
		w->count += i - start;
		w->stats.armed += i - start;
	}
	return i - start;
}

unsigned int
coda_wheel_arm_burst(struct coda_wheel *w, const uint32_t *h, const uint64_t *expiry,
		     unsigned int n)
{
	unsigned int i, g, run, ok = 0;

	for (g = 0; g < n; g += BURST_GROUP) {
		unsigned int end = n - g < BURST_GROUP ? n : g + BURST_GROUP;

		prefetch_states(w, h + g, end - g);
		for (i = g; i < end; i++) {
			/* Try a run only where one may start: cheap to rule out. */
			if (i > 0 && expiry[i] == expiry[i - 1]) {
				run = arm_memo_run(w, h, expiry, i, end);
				ok += run;
				i += run;
				if (i == end)
					break;
			}
			ok += arm_one(w, h[i], expiry[i]) == 0;
		}
	}
	return ok;
}

int
coda_wheel_cancel(struct coda_wheel *w, uint32_t h)
{
	uint32_t old;

	if (h >= w->nb_timers)
		return -EINVAL;
	old = w->state[h];
	if (old == 0)
		return -ENOENT;
	/* Lazy: the entry stays in its slot and is skipped when met. */
	w->state[h] = 0;
	w->count--;
	w->stats.cancelled++;
	return 0;
}

unsigned int
coda_wheel_cancel_burst(struct coda_wheel *w, const uint32_t *h, unsigned int n)
{
	unsigned int i, g, ok = 0;

	for (g = 0; g < n; g += BURST_GROUP) {
		unsigned int end = n - g < BURST_GROUP ? n : g + BURST_GROUP;

		prefetch_states(w, h + g, end - g);
		for (i = g; i < end; i++)
			ok += coda_wheel_cancel(w, h[i]) == 0;
	}
	return ok;
}

bool
coda_wheel_pending(const struct coda_wheel *w, uint32_t h)
{
	return h < w->nb_timers && w->state[h] != 0;
}

/*
 * Move a deferred timer's entry to the slot it now belongs to. False when
 * that needs a chunk and the pool is empty: the caller stops, and the next
 * advance compacts before it drains again.
 */
static inline bool
move_entry(struct coda_wheel *w, uint32_t to, uint32_t h)
{
	struct wheel_slot *sl = &w->slots[to];

	if (sl->tail_fill == CHUNK_ENTRIES) {
		if (w->free_chunk == NIL)
			return false;
		slot_grow(w, to);
	}
	w->entries[(size_t)sl->tail * CHUNK_ENTRIES + sl->tail_fill++] = h;
	w->state[h] = (uint16_t)(to + 1) | w->epoch;
	w->stats.moved++;
	return true;
}

/*
 * Deliver live timers of one slot into out[], at most `room` of them and
 * examining at most *budget entries; deferred timers met on the way go to
 * their slot, or out too if that slot's time is <= now. Returns the number
 * delivered; the slot goes back to the pool once every entry in it has been
 * read.
 */
static unsigned int
drain_slot(struct coda_wheel *w, uint32_t slot, uint64_t now, uint32_t *out, unsigned int room,
	   unsigned int *budget)
{
	struct wheel_slot *sl = &w->slots[slot];
	uint16_t live = (uint16_t)(slot + 1) | w->epoch;
	uint32_t c = sl->head;
	unsigned int off = sl->head_off, n = 0, seen = 0;

	/* A sweep of this slot would keep cursors into chunks we free: drop it. */
	if (w->sweep_slot == slot)
		w->sweep_slot = NIL;

	for (;;) {
		unsigned int end = c == sl->tail ? sl->tail_fill : CHUNK_ENTRIES;

		if (off == 0 || c == sl->head)
			prefetch_ahead(w, c, c == sl->head);
		for (; off < end && n < room && seen < *budget; off++) {
			uint32_t h = w->entries[(size_t)c * CHUNK_ENTRIES + off];
			uint16_t st = w->state[h];

			seen++;
			if (st != live) {
				uint32_t to;

				if (!(st & STATE_DEFER))
					continue; /* cancelled, or armed elsewhere since */
				to = (st & STATE_TAG) - 1u;
				if (slot_time(w, to) > now) {
					if (!move_entry(w, to, h))
						goto stop;
					continue;
				}
				/* Pushed back, but to a slot whose time has come too. */
			}
			w->state[h] = 0;
			out[n++] = h;
		}
		if (off < end || c == sl->tail)
			break; /* out of room or budget, or the slot is read to its end */
		/* Chunk consumed: back to the pool. */
		{
			uint32_t next = w->chunk_next[c];

			w->chunk_next[c] = w->free_chunk;
			w->free_chunk = c;
			w->nb_free++;
			sl->chunks--;
			c = next;
			off = 0;
		}
	}
stop:
	/* The chunks before c went back to the pool above; c is the new head. */
	sl->head = c;
	sl->head_off = (uint16_t)off;
	if (c == sl->tail && off == sl->tail_fill) {
		slot_release(w, sl);
		occupied_clear(w, slot);
	}
	*budget -= seen;
	w->count -= n;
	w->stats.fired += n;
	return n;
}

/*
 * The first tick in [from, limit) at which some level has an occupied slot,
 * or limit. By the placement invariant every occupied slot of level n has a
 * time in [B, B + 63 g], B = ceil(from / g) * g, so rotating the level's
 * bitmap to B's index puts the next occupied slot at the lowest set bit.
 */
static uint64_t
next_tick(const struct coda_wheel *w, uint64_t from, uint64_t limit)
{
	uint64_t best = limit;
	unsigned int lvl;

	for (lvl = 0; lvl < CODA_WHEEL_LEVELS; lvl++) {
		uint64_t bits = w->occupied[lvl];
		unsigned int shift = lvl * CODA_WHEEL_LVL_CLK_SHIFT;
		uint64_t p, t;
		unsigned int idx;

		if (bits == 0)
			continue;
		p = ceil_shift(from, shift);
		idx = (unsigned int)(p & LVL_MASK);
		if (idx != 0)
			bits = (bits >> idx) | (bits << (CODA_WHEEL_LVL_SIZE - idx));
		t = (p + (uint64_t)__builtin_ctzll(bits)) << shift;
		if (t < best)
			best = t;
	}
	return best;
}

unsigned int
coda_wheel_advance(struct coda_wheel *w, uint64_t now, uint32_t *expired, unsigned int max)
{
	unsigned int budget = max < (UINT32_MAX - SCAN_EXTRA) / 4 ? 4 * max + SCAN_EXTRA : UINT32_MAX;
	unsigned int n = 0;

	/* The clock stops one short of the end of time: clk == now + 1 must not wrap. */
	if (now == UINT64_MAX)
		now--;
	/* A drain stopped by an empty pool (to move a deferred timer) left this to us. */
	if (w->free_chunk == NIL)
		compact(w);
	/* Timers armed for a tick already being processed go first. */
	if (w->slots[DUE_SLOT].head != NIL) {
		n = drain_slot(w, DUE_SLOT, now, expired, max, &budget);
		if (w->slots[DUE_SLOT].head != NIL)
			return n;
	}
	while (w->clk <= now) {
		uint64_t clk = w->clk;

		for (; w->lvl < CODA_WHEEL_LEVELS; w->lvl++) {
			unsigned int lvl = w->lvl;
			unsigned int shift = lvl * CODA_WHEEL_LVL_CLK_SHIFT;
			uint32_t idx;

			/* Level n has a slot boundary only every 8^n ticks; so do the ones above it. */
			if (clk & ((UINT64_C(1) << shift) - 1))
				break;
			idx = (uint32_t)((clk >> shift) & LVL_MASK);
			if (!(w->occupied[lvl] & (UINT64_C(1) << idx)))
				continue;
			n += drain_slot(w, lvl * CODA_WHEEL_LVL_SIZE + idx, now, expired + n, max - n,
					&budget);
			if (w->occupied[lvl] & (UINT64_C(1) << idx))
				return n; /* cap or scan budget reached: resume here */
		}
		/* Tick clk is done: jump over the ticks where nothing is due. */
		w->lvl = 0;
		w->clk = next_tick(w, clk + 1, now + 1);
	}
	return n;
}

uint64_t
coda_wheel_expiry(const struct coda_wheel *w, uint32_t h)
{
	uint16_t st;
	uint64_t t;

	if (h >= w->nb_timers || (st = w->state[h]) == 0)
		return UINT64_MAX;
	t = slot_time(w, (st & STATE_TAG) - 1u);
	return t > w->clk ? t : w->clk;
}

/*
 * The occupied slot with the earliest time, and that time; NIL when none.
 * The due slot comes first. Otherwise the lowest set bit of each level's
 * bitmap, rotated to the level's first boundary at or after clk, is that
 * level's earliest slot (the placement invariant, as in next_tick()).
 */
static uint32_t
earliest_slot(const struct coda_wheel *w, uint64_t *when)
{
	uint64_t best = UINT64_MAX;
	uint32_t slot = NIL;
	unsigned int lvl;

	if (w->slots[DUE_SLOT].head != NIL) {
		*when = w->clk;
		return DUE_SLOT;
	}
	for (lvl = 0; lvl < CODA_WHEEL_LEVELS; lvl++) {
		uint64_t bits = w->occupied[lvl];
		unsigned int shift = lvl * CODA_WHEEL_LVL_CLK_SHIFT;
		unsigned int idx, k;
		uint64_t p, t;

		if (bits == 0)
			continue;
		p = ceil_shift(w->clk, shift);
		idx = (unsigned int)(p & LVL_MASK);
		if (idx != 0)
			bits = (bits >> idx) | (bits << (CODA_WHEEL_LVL_SIZE - idx));
		k = (unsigned int)__builtin_ctzll(bits);
		t = (p + k) << shift;
		if (t < best) {
			best = t;
			slot = lvl * CODA_WHEEL_LVL_SIZE + ((idx + k) & LVL_MASK);
		}
	}
	*when = best;
	return slot;
}

unsigned int
coda_wheel_take_earliest(struct coda_wheel *w, uint32_t *out, unsigned int max)
{
	unsigned int budget = max < (UINT32_MAX - SCAN_EXTRA) / 4 ? 4 * max + SCAN_EXTRA : UINT32_MAX;
	unsigned int n = 0, got;
	uint64_t when;
	uint32_t slot;

	if (w->free_chunk == NIL)
		compact(w);
	while (n < max && budget > 0 && (slot = earliest_slot(w, &when)) != NIL) {
		/*
		 * Drain it as if its time had come: a timer re-armed to a slot
		 * of the same time is due with it; one re-armed later moves.
		 */
		got = drain_slot(w, slot, when, out + n, max - n, &budget);
		n += got;
		w->stats.taken += got;
		if (w->slots[slot].head != NIL)
			break; /* out of room or budget, or the pool ran dry for a move */
	}
	return n;
}

/* The time of the first occupied slot, cancelled entries included. */
static uint64_t
first_slot_time(const struct coda_wheel *w)
{
	if (w->slots[DUE_SLOT].head != NIL)
		return w->clk > 0 ? w->clk - 1 : 0;
	return next_tick(w, w->clk, UINT64_MAX);
}

bool
coda_wheel_due(const struct coda_wheel *w, uint64_t now)
{
	/*
	 * Slot-based: true also for a slot holding only cancelled entries,
	 * so that a caller looping while it is true also gives their chunks
	 * back (each advance call's work stays bounded).
	 */
	return first_slot_time(w) <= now;
}

uint64_t
coda_wheel_next_expiry(const struct coda_wheel *w)
{
	/* Slots may still hold cancelled entries (lazy cancel): nothing pending is nothing due. */
	if (w->count == 0)
		return UINT64_MAX;
	return first_slot_time(w);
}

uint64_t
coda_wheel_clock(const struct coda_wheel *w)
{
	return w->clk;
}

uint32_t
coda_wheel_count(const struct coda_wheel *w)
{
	return w->count;
}

uint32_t
coda_wheel_capacity(const struct coda_wheel *w)
{
	return w->nb_timers;
}

void
coda_wheel_stats(const struct coda_wheel *w, struct coda_wheel_stats *st)
{
	*st = w->stats;
	st->pending = w->count;
	st->pool_chunks = w->nb_chunks;
	st->pool_free = w->nb_free;
}

void
coda_wheel_prefetch(const struct coda_wheel *w, uint32_t h)
{
	prefetch_state(w, h);
}

int
coda_wheel_audit(const struct coda_wheel *w)
{
	uint64_t used = 0, free_len = 0, occupied_bits = 0;
	uint32_t s, c, lvl;

	for (s = 0; s <= NB_SLOTS; s++) {
		const struct wheel_slot *sl = &w->slots[s];
		bool bit = (w->occupied[s / CODA_WHEEL_LVL_SIZE] >> (s % CODA_WHEEL_LVL_SIZE)) & 1;
		uint32_t n = 1;

		if (sl->head == NIL) {
			if (bit || sl->tail != NIL || sl->chunks != 0 || sl->tail_fill != CHUNK_ENTRIES)
				return -EFAULT;
			continue;
		}
		if (!bit || sl->tail_fill > CHUNK_ENTRIES || sl->head_off > CHUNK_ENTRIES)
			return -EFAULT;
		occupied_bits++;
		for (c = sl->head; c != sl->tail; c = w->chunk_next[c]) {
			if (c >= w->nb_chunks || n > w->nb_chunks)
				return -EFAULT; /* off the pool, or a cycle */
			n++;
		}
		if (w->chunk_next[c] != NIL || n != sl->chunks)
			return -EFAULT;
		if (sl->head == sl->tail && sl->head_off > sl->tail_fill)
			return -EFAULT;
		used += n;
	}
	for (lvl = 0; lvl <= CODA_WHEEL_LEVELS; lvl++)
		occupied_bits -= (uint64_t)__builtin_popcountll(w->occupied[lvl]);
	for (c = w->free_chunk; c != NIL; c = w->chunk_next[c]) {
		if (c >= w->nb_chunks || free_len > w->nb_chunks)
			return -EFAULT;
		free_len++;
	}
	if (occupied_bits != 0 || free_len != w->nb_free || used + free_len != w->nb_chunks)
		return -EFAULT;
	if (w->sweep_slot != NIL) {
		/* A sweep under way: its cursors on its slot's chain, write at or before read. */
		const struct wheel_slot *sl = &w->slots[w->sweep_slot];

		if (w->sweep_slot >= NB_SLOTS || sl->head == NIL)
			return -EFAULT;
		for (c = sl->head; c != w->sweep_wc; c = w->chunk_next[c])
			if (c == sl->tail)
				return -EFAULT;
		if (c != w->sweep_rc && w->chunk_next[c] != w->sweep_rc)
			return -EFAULT;
		if (c == w->sweep_rc && w->sweep_woff > w->sweep_roff)
			return -EFAULT;
	}
	return 0;
}
