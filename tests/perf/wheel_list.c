/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * list_wheel: per-slot intrusive doubly-linked lists of 32-bit links. A
 * benchmark baseline for coda_wheel (see wheel_list.h); not used by coda.
 *
 * Memory, one block: struct list_wheel (576 slot heads, 9 bitmaps), then
 * struct list_node node[N].
 */

#include <errno.h>
#include <string.h>

#include "wheel_list.h"
#include "wheel_proto.h"

#define NIL UINT32_MAX       /* next: end of list; head: empty slot */
#define LIST_IDLE UINT32_MAX /* prev: not pending */
#define PREV_HEAD (UINT32_C(1) << 31)

struct list_node {
	uint32_t next;
	uint32_t prev; /* a handle, PREV_HEAD | slot for a list head, or LIST_IDLE */
};

struct list_wheel {
	uint64_t clock;
	uint32_t nb_timers;
	uint32_t count;
	struct list_node *node;
	uint64_t bitmap[PROTO_LEVELS];
	uint32_t head[PROTO_NB_SLOTS];
} __attribute__((aligned(64)));

static size_t
align64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

size_t
list_wheel_memsize(uint32_t n)
{
	if (n == 0 || n > LIST_WHEEL_MAX_TIMERS)
		return 0;
	return align64(sizeof(struct list_wheel)) + (size_t)n * sizeof(struct list_node);
}

struct list_wheel *
list_wheel_init(void *mem, size_t size, uint32_t n, uint64_t now)
{
	struct list_wheel *w = mem;
	size_t need = list_wheel_memsize(n);
	uint32_t i;

	if (mem == NULL || ((uintptr_t)mem & 63) || need == 0 || size < need) {
		errno = EINVAL;
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->clock = now;
	w->nb_timers = n;
	w->node = (struct list_node *)((uint8_t *)mem + align64(sizeof(*w)));
	for (i = 0; i < n; i++) {
		w->node[i].next = NIL;
		w->node[i].prev = LIST_IDLE;
	}
	for (i = 0; i < PROTO_NB_SLOTS; i++)
		w->head[i] = NIL;
	return w;
}

/* Unlink pending timer h: the node and both neighbours are written. */
static inline void
unlink_node(struct list_wheel *w, uint32_t h)
{
	struct list_node *x = &w->node[h];
	uint32_t p = x->prev, n = x->next;

	if (n != NIL)
		w->node[n].prev = p;
	if (p & PREV_HEAD) {
		uint32_t s = p & ~PREV_HEAD;

		w->head[s] = n;
		if (n == NIL)
			w->bitmap[s >> PROTO_LVL_BITS] &= ~(UINT64_C(1) << (s & PROTO_LVL_MASK));
	} else {
		w->node[p].next = n;
	}
	x->prev = LIST_IDLE;
}

static inline void
push(struct list_wheel *w, uint32_t s, uint32_t h)
{
	struct list_node *x = &w->node[h];
	uint32_t n = w->head[s];

	x->next = n;
	x->prev = PREV_HEAD | s;
	if (n != NIL)
		w->node[n].prev = h;
	else
		w->bitmap[s >> PROTO_LVL_BITS] |= UINT64_C(1) << (s & PROTO_LVL_MASK);
	w->head[s] = h;
}

int
list_wheel_arm(struct list_wheel *w, uint32_t h, uint64_t expiry)
{
	int slot;

	if (h >= w->nb_timers)
		return -EINVAL;
	slot = proto_slot_of(w->clock, expiry);
	if (slot < 0)
		return -ERANGE;
	if (w->node[h].prev != LIST_IDLE)
		unlink_node(w, h);
	else
		w->count++;
	push(w, (uint32_t)slot, h);
	return 0;
}

int
list_wheel_cancel(struct list_wheel *w, uint32_t h)
{
	if (h >= w->nb_timers)
		return -EINVAL;
	if (w->node[h].prev == LIST_IDLE)
		return -ENOENT;
	unlink_node(w, h);
	w->count--;
	return 0;
}

bool
list_wheel_pending(const struct list_wheel *w, uint32_t h)
{
	return h < w->nb_timers && w->node[h].prev != LIST_IDLE;
}

/* Pop up to max timers from the head of slot s. */
static unsigned int
drain(struct list_wheel *w, uint32_t s, uint32_t *out, unsigned int max)
{
	unsigned int n = 0;
	uint32_t h = w->head[s];

	while (n < max && h != NIL) {
		uint32_t nx = w->node[h].next;

		w->node[h].prev = LIST_IDLE;
		out[n++] = h;
		h = nx;
	}
	w->head[s] = h;
	if (h != NIL)
		w->node[h].prev = PREV_HEAD | s;
	else
		w->bitmap[s >> PROTO_LVL_BITS] &= ~(UINT64_C(1) << (s & PROTO_LVL_MASK));
	w->count -= n;
	return n;
}

unsigned int
list_wheel_advance(struct list_wheel *w, uint64_t now, uint32_t *expired, unsigned int max)
{
	unsigned int n = 0;

	while (w->clock <= now) {
		uint64_t t = w->clock, nt;
		unsigned int lvl;

		for (lvl = 0; lvl < PROTO_LEVELS; lvl++) {
			unsigned int sh = lvl * PROTO_CLK_SHIFT;
			uint32_t idx;

			if (t & ((UINT64_C(1) << sh) - 1))
				break; /* Not a slot boundary here, nor above. */
			idx = (uint32_t)((t >> sh) & PROTO_LVL_MASK);
			if (!(w->bitmap[lvl] & (UINT64_C(1) << idx)))
				continue;
			n += drain(w, lvl * PROTO_LVL_SIZE + idx, expired + n, max - n);
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
list_wheel_due(const struct list_wheel *w, uint64_t now)
{
	return w->clock <= now && proto_next_event(w->bitmap, w->clock) <= now;
}

uint64_t
list_wheel_clock(const struct list_wheel *w)
{
	return w->clock;
}

uint32_t
list_wheel_count(const struct list_wheel *w)
{
	return w->count;
}
