/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lazy_wheel: slot arrays of handles with lazy cancellation. A benchmark
 * baseline for coda_wheel (see wheel_lazy.h for the design); not used by
 * coda itself.
 *
 * Memory, one block:
 *   struct lazy_wheel          header, 576 slot descriptors, 9 bitmaps
 *   uint32_t state[N]          ARMED | slot number, 0 when idle
 *   uint32_t next[C]           chunk links (slot chains, free stack)
 *   uint32_t chunk[C][16]      the entries, one cache line per chunk
 *
 * A slot is a chain of chunks from head to tail; entries are appended at
 * the tail and drained from the head (head_pos counts the ones consumed), so
 * a drain can stop when the caller's array is full and resume later, and a
 * timer armed into the slot being drained is found by the same drain.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wheel_lazy.h"
#include "wheel_proto.h"

#define LVL_BITS PROTO_LVL_BITS
#define LVL_SIZE PROTO_LVL_SIZE
#define LVL_MASK PROTO_LVL_MASK
#define CLK_SHIFT PROTO_CLK_SHIFT
#define LEVELS PROTO_LEVELS
#define NB_SLOTS PROTO_NB_SLOTS
#define CHUNK_ENTRIES 16
#define NIL UINT32_MAX

#define ST_ARMED (UINT32_C(1) << 31)
#define ST_KEEP (UINT32_C(1) << 30) /* Only during a compaction. */
#define ST_SLOT_MASK UINT32_C(0x3ff)

struct lazy_slot {
	uint32_t head;
	uint32_t tail;
	uint8_t head_pos;  /* Entries of the head chunk already drained. */
	uint8_t tail_fill; /* Entries used in the tail chunk. */
};

struct lazy_wheel {
	uint64_t clock;
	uint64_t compactions;
	uint32_t nb_timers;
	uint32_t nb_chunks;
	uint32_t count;
	uint32_t free_head;
	uint32_t *state;
	uint32_t *next;
	uint32_t (*chunk)[CHUNK_ENTRIES];
	void *alloc; /* Set by lazy_wheel_create(). */
	uint64_t bitmap[LEVELS];
	struct lazy_slot slots[NB_SLOTS];
} __attribute__((aligned(64)));

static size_t
align64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

static uint32_t
chunks_for(uint32_t n)
{
	/* ceil(1.5 * n / 16) + one spare chunk per slot. */
	return (uint32_t)(((uint64_t)n * 3 + 31) / 32) + NB_SLOTS;
}

size_t
lazy_wheel_memsize(uint32_t n)
{
	uint32_t c;

	if (n == 0 || n > LAZY_WHEEL_MAX_TIMERS)
		return 0;
	c = chunks_for(n);
	return align64(sizeof(struct lazy_wheel)) + align64((size_t)n * 4) +
	       align64((size_t)c * 4) + (size_t)c * CHUNK_ENTRIES * 4;
}

struct lazy_wheel *
lazy_wheel_init(void *mem, size_t size, uint32_t n, uint64_t now)
{
	struct lazy_wheel *w = mem;
	size_t need = lazy_wheel_memsize(n);
	uint8_t *p;
	uint32_t i;

	if (mem == NULL || ((uintptr_t)mem & 63) || need == 0 || size < need) {
		errno = EINVAL;
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->clock = now;
	w->nb_timers = n;
	w->nb_chunks = chunks_for(n);
	p = (uint8_t *)mem + align64(sizeof(*w));
	w->state = (uint32_t *)p;
	p += align64((size_t)n * 4);
	w->next = (uint32_t *)p;
	p += align64((size_t)w->nb_chunks * 4);
	w->chunk = (uint32_t(*)[CHUNK_ENTRIES])p;
	memset(w->state, 0, (size_t)n * 4);
	for (i = 0; i < w->nb_chunks; i++)
		w->next[i] = i + 1 < w->nb_chunks ? i + 1 : NIL;
	w->free_head = 0;
	for (i = 0; i < NB_SLOTS; i++)
		w->slots[i].head = w->slots[i].tail = NIL;
	return w;
}

struct lazy_wheel *
lazy_wheel_create(uint32_t n, uint64_t now)
{
	size_t size = lazy_wheel_memsize(n);
	struct lazy_wheel *w;
	void *mem;

	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	mem = aligned_alloc(64, align64(size));
	if (mem == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	w = lazy_wheel_init(mem, size, n, now);
	if (w == NULL) {
		free(mem);
		return NULL;
	}
	w->alloc = mem;
	return w;
}

void
lazy_wheel_free(struct lazy_wheel *w)
{
	if (w != NULL)
		free(w->alloc);
}

static inline uint32_t
chunk_alloc(struct lazy_wheel *w)
{
	uint32_t c = w->free_head;

	if (c != NIL)
		w->free_head = w->next[c];
	return c;
}

static inline void
chunk_free(struct lazy_wheel *w, uint32_t c)
{
	w->next[c] = w->free_head;
	w->free_head = c;
}

/*
 * Drop stale entries from every slot, in place, and duplicates of a live
 * timer within one slot (a timer cancelled and re-armed into the same slot
 * has two entries). ST_KEEP marks the timers already kept.
 */
static void
compact(struct lazy_wheel *w)
{
	unsigned int lvl;
	uint32_t s;

	w->compactions++;
	for (s = 0; s < NB_SLOTS; s++) {
		struct lazy_slot *sl = &w->slots[s];
		uint32_t rc = sl->head, rp = sl->head_pos, wc = sl->head, wp = 0, c;

		if (rc == NIL)
			continue;
		for (;;) {
			uint32_t end = rc == sl->tail ? sl->tail_fill : CHUNK_ENTRIES;
			uint32_t h, st;

			if (rp == end) {
				if (rc == sl->tail)
					break;
				rc = w->next[rc];
				rp = 0;
				continue;
			}
			h = w->chunk[rc][rp++];
			st = w->state[h];
			if (st != (ST_ARMED | s))
				continue;
			w->state[h] = st | ST_KEEP;
			if (wp == CHUNK_ENTRIES) {
				wc = w->next[wc];
				wp = 0;
			}
			w->chunk[wc][wp++] = h;
		}
		if (wp == 0) {
			/* Nothing live: every chunk goes back, including the head. */
			for (c = sl->head; c != NIL;) {
				uint32_t nx = c == sl->tail ? NIL : w->next[c];

				chunk_free(w, c);
				c = nx;
			}
			sl->head = sl->tail = NIL;
			sl->head_pos = sl->tail_fill = 0;
			w->bitmap[s >> LVL_BITS] &= ~(UINT64_C(1) << (s & LVL_MASK));
			continue;
		}
		for (c = wc == sl->tail ? NIL : w->next[wc]; c != NIL;) {
			uint32_t nx = c == sl->tail ? NIL : w->next[c];

			chunk_free(w, c);
			c = nx;
		}
		sl->tail = wc;
		sl->tail_fill = (uint8_t)wp;
		sl->head_pos = 0;
	}
	/* Clear the marks: walk the kept entries. */
	for (lvl = 0; lvl < LEVELS; lvl++) {
		for (s = lvl * LVL_SIZE; s < (lvl + 1) * LVL_SIZE; s++) {
			struct lazy_slot *sl = &w->slots[s];
			uint32_t c;

			for (c = sl->head; c != NIL; c = c == sl->tail ? NIL : w->next[c]) {
				uint32_t end = c == sl->tail ? sl->tail_fill : CHUNK_ENTRIES, i;

				for (i = 0; i < end; i++)
					w->state[w->chunk[c][i]] &= ~ST_KEEP;
			}
		}
	}
}

static inline int
append(struct lazy_wheel *w, uint32_t s, uint32_t h)
{
	struct lazy_slot *sl = &w->slots[s];

	if (sl->tail == NIL || sl->tail_fill == CHUNK_ENTRIES) {
		uint32_t c = chunk_alloc(w);

		if (c == NIL) {
			compact(w);
			if (sl->tail != NIL && sl->tail_fill < CHUNK_ENTRIES)
				goto put;
			c = chunk_alloc(w);
			if (c == NIL)
				return -ENOSPC;
		}
		if (sl->tail == NIL) {
			sl->head = c;
			sl->head_pos = 0;
		} else {
			w->next[sl->tail] = c;
		}
		sl->tail = c;
		sl->tail_fill = 0;
	}
put:
	w->chunk[sl->tail][sl->tail_fill++] = h;
	return 0;
}

int
lazy_wheel_arm(struct lazy_wheel *w, uint32_t h, uint64_t expiry)
{
	uint32_t s, st, want;
	int slot;

	if (h >= w->nb_timers)
		return -EINVAL;
	slot = proto_slot_of(w->clock, expiry);
	if (slot < 0)
		return -ERANGE;
	s = (uint32_t)slot;
	want = ST_ARMED | s;
	st = w->state[h];
	if (st == want)
		return 0; /* Its live entry is already in that slot. */
	/* From here any older entry of h is stale. */
	w->state[h] = want;
	if (append(w, s, h) < 0) {
		w->state[h] = 0;
		w->count -= (st & ST_ARMED) != 0;
		return -ENOSPC;
	}
	w->count += (st & ST_ARMED) == 0;
	w->bitmap[s >> LVL_BITS] |= UINT64_C(1) << (s & LVL_MASK);
	return 0;
}

int
lazy_wheel_cancel(struct lazy_wheel *w, uint32_t h)
{
	if (h >= w->nb_timers)
		return -EINVAL;
	if (!(w->state[h] & ST_ARMED))
		return -ENOENT;
	w->state[h] = 0;
	w->count--;
	return 0;
}

bool
lazy_wheel_pending(const struct lazy_wheel *w, uint32_t h)
{
	return h < w->nb_timers && (w->state[h] & ST_ARMED);
}

/* Deliver live entries of slot s until it is empty or out is full. */
static unsigned int
drain(struct lazy_wheel *w, uint32_t s, uint32_t *out, unsigned int max)
{
	struct lazy_slot *sl = &w->slots[s];
	const uint32_t want = ST_ARMED | s;
	unsigned int n = 0;

	while (n < max) {
		uint32_t c = sl->head, h;

		if (c == sl->tail && sl->head_pos == sl->tail_fill) {
			chunk_free(w, c);
			sl->head = sl->tail = NIL;
			sl->head_pos = sl->tail_fill = 0;
			w->bitmap[s >> LVL_BITS] &= ~(UINT64_C(1) << (s & LVL_MASK));
			break;
		}
		if (sl->head_pos == CHUNK_ENTRIES) {
			sl->head = w->next[c];
			sl->head_pos = 0;
			chunk_free(w, c);
			continue;
		}
		h = w->chunk[c][sl->head_pos++];
		if (w->state[h] == want) {
			w->state[h] = 0;
			w->count--;
			out[n++] = h;
		}
	}
	return n;
}

unsigned int
lazy_wheel_advance(struct lazy_wheel *w, uint64_t now, uint32_t *expired, unsigned int max)
{
	unsigned int n = 0;

	while (w->clock <= now) {
		uint64_t t = w->clock, nt;
		unsigned int lvl;

		for (lvl = 0; lvl < LEVELS; lvl++) {
			unsigned int sh = lvl * CLK_SHIFT;
			uint32_t idx;

			if (t & ((UINT64_C(1) << sh) - 1))
				break; /* Not a slot boundary here, nor above. */
			idx = (uint32_t)((t >> sh) & LVL_MASK);
			if (!(w->bitmap[lvl] & (UINT64_C(1) << idx)))
				continue;
			n += drain(w, lvl * LVL_SIZE + idx, expired + n, max - n);
			if (w->bitmap[lvl] & (UINT64_C(1) << idx))
				return n; /* expired[] is full; resume this tick. */
		}
		nt = proto_next_event(w->bitmap, t + 1);
		if (nt > now) {
			w->clock = now + 1;
			break;
		}
		w->clock = nt;
	}
	return n;
}

bool
lazy_wheel_due(const struct lazy_wheel *w, uint64_t now)
{
	return w->clock <= now && proto_next_event(w->bitmap, w->clock) <= now;
}

uint64_t
lazy_wheel_clock(const struct lazy_wheel *w)
{
	return w->clock;
}

uint32_t
lazy_wheel_count(const struct lazy_wheel *w)
{
	return w->count;
}

uint64_t
lazy_wheel_compactions(const struct lazy_wheel *w)
{
	return w->compactions;
}
