/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-core connection table (design, sizing and guarantees:
 * coda_conntab.h).
 *
 * Layout: one allocation holding the table header, the buckets (one cache
 * line each), the TCB key array (40 bytes a key, indexed by TCB index), the
 * two TIME-WAIT pools (IPv4 and IPv6 entries) and the local address list
 * their entries name; each pool's wheel and the TCB index allocator are
 * allocated beside it.
 *
 *  - A slot is free when its signature is 0. Signatures are kept as two
 *    64-bit words of four 16-bit lanes, so a bucket is matched against a
 *    signature with a few SWAR operations and read by a concurrent reader
 *    with two atomic loads; slot s is lane s % 4 of word s / 4.
 *  - ovf of bucket j counts the entries whose probe sequence (home, then
 *    steps of step_of(hash), modulo the prime bucket count) passed j before
 *    reaching their slot, and pass, a filter of 32 two-bit counters, counts
 *    them by bits of their hash (pass_may()). A lookup goes on past a bucket
 *    only while its counter there is not 0: no tombstones, no moves.
 *  - A key array entry is in use while its family is not 0; delete clears
 *    the family word, so the index is free for another key. A TIME-WAIT
 *    entry is in use while its timer is pending in its pool's wheel.
 *  - A TIME-WAIT entry is its remote address (4 or 16 bytes) followed by
 *    struct tw_state. Both pools keep free entries on a list linked through
 *    tw_state.snd_nxt; entries past `fresh` were never used.
 *
 * Concurrency: the owner is the only writer. Every store that a concurrent
 * reader may observe (seq, ovf, pass, signature words, values, key words) is an
 * atomic store, relaxed unless it publishes; readers load those words with
 * atomic loads. The owner's own reads are plain: it never races with
 * itself. A change to a bucket, and to the key entries its slots name, is
 * enclosed in bucket_begin() / bucket_end() (the seqlock writer side); the
 * argument for each barrier is at the barrier. There is no atomic
 * read-modify-write anywhere: the owner reads seq, ovf and the counters
 * with plain loads and stores the new values. (Starting a QSBR grace
 * period for freed TCB indices is one atomic add inside rte_rcu, once per
 * coda_conntab_tcb_reclaim() call that has something to start.)
 *
 * The same seqlock covers TIME-WAIT entries: an entry's fields are written
 * only inside a change of the bucket whose slot names it (entering,
 * coda_conntab_tw_update()), or after the change that removed it from the
 * table (the free-list link, the next key's fields). A reader that copies
 * an entry and then sees its bucket unchanged copied what the entry held
 * while the slot named it.
 */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coda_conntab.h"
#include "coda_prefetch.h"
#include "coda_wheel.h"

#ifdef CODA_CONNTAB_RCU
#include <rte_rcu_qsbr.h>
#endif

#define CACHE_LINE 64
#define HUGE_PAGE (UINT64_C(2) << 20)
#define SLOTS CODA_CONNTAB_BUCKET_SLOTS
#define NIL UINT32_MAX
/* Bit 15 clear in every 16-bit lane, and lane-wise ones. */
#define LANES_LOW UINT64_C(0x7fff7fff7fff7fff)
#define LANES_ONE UINT64_C(0x0001000100010001)

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* Owner-only counters: read by other threads, so stored atomically, never RMW. */
#define STAT_ADD(t, f, n) STORE(&(t)->st.f, (t)->st.f + (n))

struct bucket {
	uint32_t seq;	  /* even: stable; odd: the owner is changing the bucket */
	uint32_t ovf;	  /* entries probing past this bucket */
	uint64_t sigw[2]; /* eight 16-bit signatures, 0 when the slot is free */
	uint32_t val[SLOTS];
	uint64_t pass;	  /* 32 two-bit counters of the entries in ovf (pass_may()) */
} __attribute__((aligned(CACHE_LINE)));

static_assert(sizeof(struct bucket) == CACHE_LINE, "a bucket is one cache line");
static_assert(sizeof(struct coda_conntab_key) == 40, "a key is five 64-bit words");
static_assert(SLOTS == 8, "two signature words of four lanes");
static_assert(CODA_CONNTAB_BURST_MAX <= 64, "the hit mask is 64 bits");
/* 1.2 slots of 8 bytes (a 64-byte bucket holds 8) per entry of capacity. */
static_assert(CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY == 12 * CACHE_LINE / SLOTS,
	      "index bytes per entry as documented");

/*
 * What a TIME-WAIT entry keeps after its remote address: 24 bytes. The
 * local address is an index into the table's address list: a host has a
 * few local addresses, and 16 bytes of them in every entry would not fit
 * the budget.
 */
struct tw_state {
	uint16_t lport, rport; /* network byte order, as in the key */
	uint32_t snd_nxt;      /* while the entry is free: the next free entry */
	uint32_t rcv_nxt;
	uint32_t ts_recent;
	uint16_t ts_min;    /* TS.Recent's time: TIME-WAIT clock minutes, mod 2^16 */
	uint16_t rcv_wnd;
	uint16_t ack_stamp; /* last rate-limited ACK: 8 ms units, mod 2^16 */
	uint16_t lflags;    /* local address index | rcv_wscale << 11 | ts_on << 15 */
};

struct tw4 {
	uint32_t raddr;
	struct tw_state s;
};

struct tw6 {
	uint32_t raddr[4];
	struct tw_state s;
};

#define TW_LADDR_MASK UINT16_C(0x07ff)
#define TW_WSCALE_SHIFT 11
#define TW_WSCALE_MASK UINT16_C(0x7800)
#define TW_TS_ON UINT16_C(0x8000)
#define MS_PER_MIN 60000
#define ACK_STAMP_SHIFT 3
/* Ages kept: TS.Recent up to 30 days (RFC 7323 needs 24), ACK times up to 2^16 units. */
#define TS_AGE_MAX_MIN (30u * 24 * 60)
#define ACK_AGE_MAX (UINT64_C(0xffff) << ACK_STAMP_SHIFT)
/* Slots of the local address list's hash: twice its capacity, a power of two. */
#define LADDR_HASH_SLOTS 4096
/* Entries recycled per call: one, found within take_earliest()'s bounded work. */
#define TW_EXPIRE_BATCH 64

static_assert(sizeof(struct tw_state) == 24, "the TIME-WAIT state is 24 bytes");
static_assert(sizeof(struct tw4) == 28, "an IPv4 TIME-WAIT entry is 28 bytes");
static_assert(sizeof(struct tw6) == 40, "an IPv6 TIME-WAIT entry is 40 bytes");
static_assert(CODA_CONNTAB_TW_LADDR_MAX <= TW_LADDR_MASK, "address indices fit their bits");
static_assert(2 * CODA_CONNTAB_TW_LADDR_MAX < LADDR_HASH_SLOTS, "the address hash stays half empty");
/*
 * The budget of a TIME-WAIT entry, all in (coda_conntab.h), in tenths of a
 * byte: the entry, its share of the index (1.2 slots), and its timer (at
 * most CODA_WHEEL_BYTES_PER_TIMER in the pool's wheel).
 */
static_assert(sizeof(struct tw4) * 10 + CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY +
			      CODA_WHEEL_BYTES_PER_TIMER * 10 <=
		      CODA_CONNTAB_TW4_BYTES * 10,
	      "an IPv4 TIME-WAIT entry fits 48 bytes all in");
static_assert(sizeof(struct tw6) * 10 + CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY +
			      CODA_WHEEL_BYTES_PER_TIMER * 10 <=
		      CODA_CONNTAB_TW6_BYTES * 10,
	      "an IPv6 TIME-WAIT entry fits its bound all in");

/* One family's TIME-WAIT entries and their timers. */
struct tw_pool {
	char *mem;		 /* nb entries of esize bytes */
	struct coda_wheel *wheel; /* timer handle == entry index */
	uint32_t esize;		 /* sizeof(struct tw4) or sizeof(struct tw6) */
	uint32_t alen;		 /* remote address bytes: 4 or 16 */
	uint32_t nb;		 /* capacity */
	uint32_t limit;		 /* entries it may hold now, <= nb (coda_conntab_tw_limit()) */
	uint32_t cnt;		 /* entries in use */
	uint32_t base;		 /* TIME-WAIT index of entry 0 */
	uint32_t fresh;		 /* entries [fresh, nb) were never used */
	uint32_t free_head;	 /* free list, NIL when empty */
	uint8_t family;
};

/* The local addresses TIME-WAIT entries name: append-only, readers index it. */
struct laddr_list {
	uint64_t addr[CODA_CONNTAB_TW_LADDR_MAX][2];
	uint16_t slot[LADDR_HASH_SLOTS]; /* 0: empty; else index + 1 (owner only) */
	uint32_t n;
};

/* TCB index allocation, and freed indices waiting for readers (QSBR). */
struct tcb_alloc {
	uint32_t *stack;     /* freed indices, nb_free of them */
	uint32_t nb_free;
	uint32_t fresh;	     /* indices [fresh, nb_tcb) were never handed out */
	uint8_t *used;	     /* per index: 1 from alloc to free */
	uint32_t *limbo;     /* ring of freed indices, in order of freeing */
	uint64_t *token;     /* ... and the grace period each waits for */
	uint32_t head;	     /* oldest waiting (monotonic, modulo nb_tcb) */
	uint32_t started;    /* [head, started) have a token */
	uint32_t tail;	     /* [started, tail) wait for one */
	uint64_t done;	     /* a token known to be complete */
	struct rte_rcu_qsbr *qsbr;
};

struct coda_conntab {
	/* First cache line: read by every operation. */
	struct bucket *buckets;
	struct coda_conntab_key *keys_tcb;
	struct laddr_list *laddr;
	uint32_t nb_buckets;
	uint32_t nb_tcb;
	uint32_t nb_tw;	  /* both pools */
	uint32_t cnt_tcb; /* TCB entries now */
	uint32_t cnt_tw;  /* TIME-WAIT entries now */
	uint16_t tw_policy;
	uint16_t tw_turn; /* which pool coda_conntab_tw_expire() serves first */
	uint64_t sec[4];  /* hash secrets, from the seed */
	struct tw_pool tw[2]; /* IPv4, IPv6 */
	struct tcb_alloc ta;
	/* Counters. */
	struct coda_conntab_stats st __attribute__((aligned(CACHE_LINE)));
} __attribute__((aligned(CACHE_LINE)));

static size_t
align_up(size_t x)
{
	return (x + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* 64x64 -> 128 multiply, folded: every input bit reaches the middle output bits. */
static inline uint64_t
fold(uint64_t a, uint64_t b)
{
	__extension__ unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/*
 * The key's five words keyed by four secrets. The two first multiplies are
 * independent; a word equal to its secret only zeroes one factor of a
 * product whose other factor still depends on the seed and the key.
 */
static inline uint64_t
key_hash(const struct coda_conntab *t, const struct coda_conntab_key *k)
{
	uint64_t a = fold(k->w[0] ^ t->sec[0], k->w[1] ^ t->sec[1]);
	uint64_t b = fold(k->w[2] ^ t->sec[2], k->w[3] ^ t->sec[3]);

	return fold(a ^ k->w[4] ^ t->sec[1], b ^ t->sec[0]);
}

/* Home bucket: the low 32 bits scaled to [0, nb_buckets) (multiply-shift). */
static inline uint32_t
home_of(const struct coda_conntab *t, uint64_t h)
{
	return (uint32_t)(((h & UINT32_MAX) * t->nb_buckets) >> 32);
}

/* Signature: the top 16 bits, never 0 (0 marks a free slot). */
static inline uint64_t
sig_of(uint64_t h)
{
	uint64_t s = h >> 48;

	return s + (s == 0);
}

/*
 * Probe step: bits 32..63 scaled to [1, nb_buckets - 1] (1 when there are
 * fewer than 3 buckets). The bucket count is prime, so every step visits
 * every bucket in nb_buckets moves. Keys with the same home bucket mostly
 * have different steps: no primary clustering, which plain linear probing
 * showed at this load (probes of 40 to 60 buckets at 83% in 1M entries).
 */
static inline uint32_t
step_of(const struct coda_conntab *t, uint64_t h)
{
	return 1 + (uint32_t)(((h >> 32) * (t->nb_buckets - 1)) >> 32);
}

/*
 * The pass filter: 32 two-bit counters in a bucket's `pass` word. A key's
 * counter is chosen by bits 32..36 of its hash, which neither the home
 * (bits 0..31), the signature (48..63) nor, but for rounding, the step (the
 * top of 32..63) depends on. An entry adds one to its counter in every
 * bucket its probe passes, in the change that counts it in ovf, and takes
 * it back when it leaves; a counter that reached 3 stays there (it no
 * longer knows how many it counts) until the bucket's ovf is 0 again,
 * which clears the whole word. So a counter of 0 means no entry with that
 * counter passes, and a key not found in a bucket where its counter is 0
 * is missing: the probe stops there even when ovf is not 0.
 */
static inline unsigned int
pass_shift(uint64_t h)
{
	return 2 * (unsigned int)((h >> 32) & 31);
}

/* Whether an entry with hash h may pass a bucket whose filter is `pass`. */
static inline bool
pass_may(uint64_t pass, uint64_t h)
{
	return ((pass >> pass_shift(h)) & 3) != 0;
}

/* `pass` with h's counter one up, unless it is at 3. */
static inline uint64_t
pass_add(uint64_t pass, uint64_t h)
{
	unsigned int sh = pass_shift(h);

	return ((pass >> sh) & 3) == 3 ? pass : pass + (UINT64_C(1) << sh);
}

/* `pass` with h's counter one down, unless it is at 3 (or, corrupted, 0). */
static inline uint64_t
pass_sub(uint64_t pass, uint64_t h)
{
	unsigned int sh = pass_shift(h);
	uint64_t c = (pass >> sh) & 3;

	return c == 3 || c == 0 ? pass : pass - (UINT64_C(1) << sh);
}

static inline uint32_t
next_bucket(const struct coda_conntab *t, uint32_t bi, uint32_t step)
{
	bi += step;
	return bi >= t->nb_buckets ? bi - t->nb_buckets : bi;
}

/* Smallest prime at or above n (n itself when below 3: see step_of()). */
static uint32_t
prime_at_least(uint32_t n)
{
	uint32_t d;

	if (n < 3)
		return n;
	for (n |= 1;; n += 2) {
		for (d = 3; d <= n / d; d += 2)
			if (n % d == 0)
				break;
		if (d > n / d)
			return n;
	}
}

/*
 * Slots of a bucket whose signature is sig, as a mask of 8 bits. Per word,
 * x has a zero lane where the signature matches; ((x & low) + low) sets
 * bit 15 of every lane whose low 15 bits are not all zero, without carry
 * between lanes; or-ing x adds lanes whose bit 15 is set; the complement
 * leaves bit 15 exactly in the zero lanes.
 */
static inline uint32_t
word_match(uint64_t w, uint64_t sig)
{
	uint64_t x = w ^ (sig * LANES_ONE);
	uint64_t m = ~(((x & LANES_LOW) + LANES_LOW) | x | LANES_LOW) >> 15;

	return (uint32_t)((m | m >> 15 | m >> 30 | m >> 45) & 0xf);
}

static inline uint32_t
match_mask(uint64_t w0, uint64_t w1, uint64_t sig)
{
	return word_match(w0, sig) | word_match(w1, sig) << 4;
}

static inline uint64_t
lane_set(uint64_t w, uint32_t slot, uint64_t sig)
{
	unsigned int sh = 16 * (slot % 4);

	return (w & ~(UINT64_C(0xffff) << sh)) | sig << sh;
}

/* The pool of TIME-WAIT index i (below t->nb_tw), and the entry's number in it. */
static inline const struct tw_pool *
tw_pool_of(const struct coda_conntab *t, uint32_t i, uint32_t *e)
{
	const struct tw_pool *p = &t->tw[i >= t->tw[0].nb];

	*e = i - p->base;
	return p;
}

static inline char *
tw_entry(const struct tw_pool *p, uint32_t e)
{
	return p->mem + (size_t)e * p->esize;
}

static inline struct tw_state *
tw_state_of(const struct tw_pool *p, uint32_t e)
{
	return (struct tw_state *)(tw_entry(p, e) + p->alen);
}

/* Owner: whether TIME-WAIT index i holds key k. */
static inline bool
tw_key_equal(const struct coda_conntab *t, uint32_t i, const struct coda_conntab_key *k)
{
	uint32_t e;
	const struct tw_pool *p = tw_pool_of(t, i, &e);
	const char *ent = tw_entry(p, e);
	const struct tw_state *s = (const struct tw_state *)(ent + p->alen);

	return k->family == p->family && s->lport == k->lport && s->rport == k->rport &&
	       memcmp(ent, k->raddr, p->alen) == 0 &&
	       memcmp(t->laddr->addr[s->lflags & TW_LADDR_MASK], k->laddr, 16) == 0;
}

/* Owner: whether value v (stored by the owner, so in range) holds key k. */
static inline bool
val_key_equal(const struct coda_conntab *t, uint32_t v, const struct coda_conntab_key *k)
{
	if (CODA_CONNTAB_IS_TW(v))
		return tw_key_equal(t, CODA_CONNTAB_INDEX(v), k);
	return coda_conntab_key_equal(&t->keys_tcb[v], k);
}

/* Owner: the key kept by TIME-WAIT entry e of pool p. */
static void
tw_key(const struct coda_conntab *t, const struct tw_pool *p, uint32_t e,
       struct coda_conntab_key *k)
{
	const struct tw_state *s = tw_state_of(p, e);

	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->lport = s->lport;
	k->rport = s->rport;
	memcpy(k->raddr, tw_entry(p, e), p->alen);
	memcpy(k->laddr, t->laddr->addr[s->lflags & TW_LADDR_MASK], 16);
}

/*
 * Prefetch what comparing a key with value v reads: a TCB key (40 bytes at
 * a 40-byte stride, so 3 in 8 straddle two lines) or a TIME-WAIT entry
 * (28 or 40 bytes): both ends, one line or two.
 */
static inline void
prefetch_entry(const struct coda_conntab *t, uint32_t v)
{
	const char *a;
	size_t len;

	if (CODA_CONNTAB_IS_TW(v)) {
		uint32_t e;
		const struct tw_pool *p = tw_pool_of(t, CODA_CONNTAB_INDEX(v), &e);

		a = tw_entry(p, e);
		len = p->esize;
	} else {
		a = (const char *)&t->keys_tcb[v];
		len = sizeof(struct coda_conntab_key);
	}
	coda_prefetch(a);
	coda_prefetch(a + len - 1);
}

/*
 * Reader: load the key of value v, and for a TIME-WAIT value its state,
 * with atomic loads. The value may come from a torn bucket (the caller's
 * reader_end() will fail): every value ever stored is in range, but check
 * anyway rather than trust a racy read with an address. False when out of
 * range.
 */
static bool
reader_key_load(const struct coda_conntab *t, uint32_t v, struct coda_conntab_key *k,
		struct tw_state *st)
{
	uint32_t i = CODA_CONNTAB_INDEX(v), e, j, x;
	const struct tw_pool *p;
	const struct tw_state *s;
	const uint32_t *ra;
	uint64_t la[2];
	uint16_t lf;

	if (!CODA_CONNTAB_IS_TW(v)) {
		if (i >= t->nb_tcb)
			return false;
		for (j = 0; j < 5; j++)
			k->w[j] = LOAD(&t->keys_tcb[i].w[j]);
		return true;
	}
	if (i >= t->nb_tw)
		return false;
	p = tw_pool_of(t, i, &e);
	ra = (const uint32_t *)(const void *)tw_entry(p, e);
	s = tw_state_of(p, e);
	lf = LOAD(&s->lflags);
	if ((lf & TW_LADDR_MASK) >= CODA_CONNTAB_TW_LADDR_MAX)
		return false;
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->lport = LOAD(&s->lport);
	k->rport = LOAD(&s->rport);
	for (j = 0; j < p->alen / 4; j++) {
		x = LOAD(&ra[j]);
		memcpy(k->raddr + 4 * j, &x, 4);
	}
	la[0] = LOAD(&t->laddr->addr[lf & TW_LADDR_MASK][0]);
	la[1] = LOAD(&t->laddr->addr[lf & TW_LADDR_MASK][1]);
	memcpy(k->laddr, la, 16);
	if (st != NULL) {
		st->lport = k->lport;
		st->rport = k->rport;
		st->snd_nxt = LOAD(&s->snd_nxt);
		st->rcv_nxt = LOAD(&s->rcv_nxt);
		st->ts_recent = LOAD(&s->ts_recent);
		st->ts_min = LOAD(&s->ts_min);
		st->rcv_wnd = LOAD(&s->rcv_wnd);
		st->ack_stamp = LOAD(&s->ack_stamp);
		st->lflags = lf;
	}
	return true;
}

/* Writer side of the seqlock: open a change of bucket b. */
static inline void
bucket_begin(struct bucket *b)
{
	STORE(&b->seq, b->seq + 1);
	/*
	 * Release fence: orders the odd seq store above before every store
	 * that follows (this bucket's words, key entries, and any later
	 * change). A reader that reads one of those stores and then issues
	 * the acquire fence of reader_end() synchronizes with this fence, so
	 * its reload of seq sees this odd value or a later one: it retries.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Writer side of the seqlock: close the change of bucket b. */
static inline void
bucket_end(struct bucket *b)
{
	/*
	 * Release store: orders every store of the change before the even
	 * seq. A reader whose acquire load in reader_begin() reads this value
	 * sees the whole change (and the key entries written before it).
	 */
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE);
}

/* Reader side: wait for bucket b to be stable and return its seq. */
static inline uint32_t
reader_begin(const struct bucket *b)
{
	uint32_t s;

	/*
	 * Acquire load: pairs with the release store of bucket_end(); the
	 * relaxed reads that follow see at least the change that wrote s.
	 */
	while ((s = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE)) & 1)
		cpu_relax();
	return s;
}

/* Reader side: whether what was read since reader_begin() returned s is consistent. */
static inline bool
reader_end(const struct bucket *b, uint32_t s)
{
	/*
	 * Acquire fence: orders the relaxed reads of the bucket and key words
	 * above before the seq reload below. Pairs with the release fence of
	 * bucket_begin(): if any of those reads saw a store of a change that
	 * began after s, the reload sees that change's odd seq (or later).
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&b->seq, __ATOMIC_RELAXED) == s;
}

static void
tw_pool_init(struct tw_pool *p, char *mem, uint32_t nb, uint32_t base, int family)
{
	p->mem = mem;
	p->nb = nb;
	p->limit = nb;
	p->base = base;
	p->family = (uint8_t)family;
	p->esize = family == AF_INET ? sizeof(struct tw4) : sizeof(struct tw6);
	p->alen = family == AF_INET ? 4 : 16;
	p->free_head = NIL;
}

struct coda_conntab *
coda_conntab_create(const struct coda_conntab_conf *conf)
{
	struct coda_conntab *t = NULL;
	uint64_t total, slots, seed;
	size_t hdr, bkt, ktcb, lal, tw4, tw6, need, align = CACHE_LINE;
	void *mem = NULL;
	char *p;
	int err = EINVAL;

	if (conf == NULL)
		goto err;
	total = (uint64_t)conf->nb_tcb + conf->nb_tw + conf->nb_tw6;
	if (total == 0 || total > CODA_CONNTAB_MAX_ENTRIES ||
	    (conf->tw_policy != CODA_CONNTAB_TW_RECYCLE && conf->tw_policy != CODA_CONNTAB_TW_SKIP))
		goto err;
#ifndef CODA_CONNTAB_RCU
	if (conf->qsbr != NULL)
		goto err;
#endif
	/* 1.2 slots per entry: at most 83% load when full (see the header). */
	slots = total + total / 5;
	hdr = align_up(sizeof(*t));
	bkt = (size_t)prime_at_least((uint32_t)((slots + SLOTS - 1) / SLOTS)) *
	      sizeof(struct bucket);
	ktcb = align_up((size_t)conf->nb_tcb * sizeof(struct coda_conntab_key));
	lal = align_up(sizeof(struct laddr_list));
	tw4 = align_up((size_t)conf->nb_tw * sizeof(struct tw4));
	tw6 = align_up((size_t)conf->nb_tw6 * sizeof(struct tw6));
	need = hdr + bkt + ktcb + lal + tw4 + tw6;
	/* Buckets and entries are read at random: huge pages save a TLB miss. Advisory. */
	if (need >= 2 * HUGE_PAGE) {
		align = HUGE_PAGE;
		need = (need + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	}
	err = ENOMEM;
	if (posix_memalign(&mem, align, need) != 0)
		goto err;
	if (align == HUGE_PAGE)
		(void)madvise(mem, need, MADV_HUGEPAGE);
	/* Zero everything: every seq even, every slot free, every key unused; pages touched now. */
	memset(mem, 0, need);
	t = mem;
	p = (char *)mem + hdr;
	t->buckets = (struct bucket *)(void *)p;
	t->nb_buckets = (uint32_t)(bkt / sizeof(struct bucket));
	p += bkt;
	t->keys_tcb = (struct coda_conntab_key *)(void *)p;
	p += ktcb;
	t->laddr = (struct laddr_list *)(void *)p;
	p += lal;
	tw_pool_init(&t->tw[0], p, conf->nb_tw, 0, AF_INET);
	p += tw4;
	tw_pool_init(&t->tw[1], p, conf->nb_tw6, conf->nb_tw, AF_INET6);
	t->nb_tcb = conf->nb_tcb;
	t->nb_tw = conf->nb_tw + conf->nb_tw6;
	t->tw_policy = (uint16_t)conf->tw_policy;
	for (unsigned int i = 0; i < 2; i++)
		if (t->tw[i].nb > 0 &&
		    (t->tw[i].wheel = coda_wheel_create(t->tw[i].nb, conf->now)) == NULL)
			goto err;
	/*
	 * TCB indices: a stack of freed ones, then those never used. Neither
	 * array is written here, so a table whose caller allocates its own
	 * indices never makes them resident.
	 */
	t->ta.qsbr = conf->qsbr;
	t->ta.stack = malloc(((size_t)conf->nb_tcb + 1) * sizeof(uint32_t));
	t->ta.used = calloc((size_t)conf->nb_tcb + 1, 1);
	if (t->ta.stack == NULL || t->ta.used == NULL)
		goto err;
	if (conf->qsbr != NULL) {
		t->ta.limbo = malloc(((size_t)conf->nb_tcb + 1) * sizeof(uint32_t));
		t->ta.token = malloc(((size_t)conf->nb_tcb + 1) * sizeof(uint64_t));
		if (t->ta.limbo == NULL || t->ta.token == NULL)
			goto err;
	}
	seed = conf->seed;
	for (unsigned int i = 0; i < 4; i++)
		t->sec[i] = splitmix64(&seed) | 1;
	t->st.buckets = t->nb_buckets;
	t->st.index_bytes = bkt;
	t->st.key_bytes = ktcb;
	t->st.tw_bytes = lal + tw4 + tw6;
	for (unsigned int i = 0; i < 2; i++)
		if (t->tw[i].nb > 0)
			t->st.tw_bytes += coda_wheel_memsize(t->tw[i].nb);
	return t;
err:
	coda_conntab_free(t);
	errno = err;
	return NULL;
}

void
coda_conntab_free(struct coda_conntab *t)
{
	if (t == NULL)
		return;
	coda_wheel_free(t->tw[0].wheel);
	coda_wheel_free(t->tw[1].wheel);
	free(t->ta.stack);
	free(t->ta.used);
	free(t->ta.limbo);
	free(t->ta.token);
	free(t);
}

uint64_t
coda_conntab_hash(const struct coda_conntab *t, const struct coda_conntab_key *k)
{
	return key_hash(t, k);
}

/* Owner lookup with the hash already computed. */
static inline int
lookup_hashed(const struct coda_conntab *t, const struct coda_conntab_key *k, uint64_t h,
	      uint32_t *value)
{
	uint64_t sig = sig_of(h);
	uint32_t bi = home_of(t, h);
	uint32_t d, m, v;

	for (d = 0; d < t->nb_buckets; d++) {
		const struct bucket *b = &t->buckets[bi];

		for (m = match_mask(b->sigw[0], b->sigw[1], sig); m != 0; m &= m - 1) {
			v = b->val[__builtin_ctz(m)];
			if (val_key_equal(t, v, k)) {
				*value = v;
				return 0;
			}
		}
		if (!pass_may(b->pass, h))
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return -ENOENT;
}

/*
 * Owner: find the bucket and slot of k (hash h); with k NULL, of the entry
 * whose value is v on that probe (a TIME-WAIT index is in the table once,
 * so its value alone names it and no key is compared).
 */
static int
find_slot(const struct coda_conntab *t, const struct coda_conntab_key *k, uint64_t h,
	  uint32_t v, uint32_t *bucket, uint32_t *slot)
{
	uint64_t sig = sig_of(h);
	uint32_t bi = home_of(t, h), d, m, s;
	const struct bucket *b;

	for (d = 0; d < t->nb_buckets; d++) {
		b = &t->buckets[bi];
		for (m = match_mask(b->sigw[0], b->sigw[1], sig); m != 0; m &= m - 1) {
			s = (uint32_t)__builtin_ctz(m);
			if (k != NULL ? val_key_equal(t, b->val[s], k) : b->val[s] == v) {
				*bucket = bi;
				*slot = s;
				return 0;
			}
		}
		if (!pass_may(b->pass, h))
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return -ENOENT;
}

/* Where an insert of k (hash h, not in the table) goes: the first free slot on its probe. */
struct place {
	uint32_t bucket, slot, dist;
};

/*
 * One pass: look for k while the overflow counts say it may be further on,
 * and for the first free slot. There are fewer entries than slots, so a
 * free slot exists; the bound only guards against a corrupted table.
 */
static int
probe_insert(const struct coda_conntab *t, const struct coda_conntab_key *k, uint64_t h,
	     struct place *pl)
{
	uint64_t sig = sig_of(h);
	uint32_t bi = home_of(t, h), d, m;
	bool matching = true;
	const struct bucket *b;

	pl->bucket = NIL;
	for (d = 0; d < t->nb_buckets; d++) {
		b = &t->buckets[bi];
		if (matching) {
			for (m = match_mask(b->sigw[0], b->sigw[1], sig); m != 0; m &= m - 1)
				if (val_key_equal(t, b->val[__builtin_ctz(m)], k))
					return -EEXIST;
			matching = pass_may(b->pass, h);
		}
		if (pl->bucket == NIL) {
			m = match_mask(b->sigw[0], b->sigw[1], 0);
			if (m != 0) {
				pl->bucket = bi;
				pl->slot = (uint32_t)__builtin_ctz(m);
				pl->dist = d;
			}
		}
		if (!matching && pl->bucket != NIL)
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return 0;
}

/* Minutes of the TIME-WAIT clock that a TS.Recent time is kept as (see struct coda_conntab_tw). */
static uint16_t
ts_stamp(uint64_t ts, uint64_t now)
{
	const uint64_t max_age = (uint64_t)TS_AGE_MAX_MIN * MS_PER_MIN;

	if (ts > now)
		ts = now;
	if (now - ts > max_age)
		ts = now - max_age;
	return (uint16_t)(ts / MS_PER_MIN);
}

/* The time back from a stamp: the last minute at or before now that matches it. */
static uint64_t
ts_time(uint16_t m, uint64_t now)
{
	uint64_t nm = now / MS_PER_MIN;
	uint16_t d = (uint16_t)(nm - m);

	return nm >= d ? (nm - d) * MS_PER_MIN : 0;
}

static uint16_t
ack_stamp(uint64_t a, uint64_t now)
{
	if (a > now)
		a = now;
	/* So that now's unit minus the stamp's stays below 2^16. */
	if (now - a > ACK_AGE_MAX - (UINT64_C(2) << ACK_STAMP_SHIFT))
		a = now - (ACK_AGE_MAX - (UINT64_C(2) << ACK_STAMP_SHIFT));
	return (uint16_t)(a >> ACK_STAMP_SHIFT);
}

static uint64_t
ack_time(uint16_t a, uint64_t now)
{
	uint64_t nu = now >> ACK_STAMP_SHIFT;
	uint16_t d = (uint16_t)(nu - a);

	return nu >= d ? (nu - d) << ACK_STAMP_SHIFT : 0;
}

/* Write what an entry keeps, but its key (atomic stores: readers may be copying it). */
static void
tw_write_state(struct tw_state *s, const struct coda_conntab_tw *tw, uint64_t now, uint16_t li)
{
	STORE(&s->snd_nxt, tw->snd_nxt);
	STORE(&s->rcv_nxt, tw->rcv_nxt);
	STORE(&s->ts_recent, tw->ts_recent);
	STORE(&s->ts_min, ts_stamp(tw->ts_recent_ms, now));
	STORE(&s->rcv_wnd, tw->rcv_wnd);
	STORE(&s->ack_stamp, ack_stamp(tw->last_ack_ms, now));
	STORE(&s->lflags, (uint16_t)(li | (uint16_t)(tw->rcv_wscale << TW_WSCALE_SHIFT) |
				     (tw->ts_on ? TW_TS_ON : 0)));
}

static void
tw_read_state(const struct tw_state *s, uint64_t now, struct coda_conntab_tw *tw)
{
	tw->snd_nxt = s->snd_nxt;
	tw->rcv_nxt = s->rcv_nxt;
	tw->ts_recent = s->ts_recent;
	tw->rcv_wnd = s->rcv_wnd;
	tw->rcv_wscale = (uint8_t)((s->lflags & TW_WSCALE_MASK) >> TW_WSCALE_SHIFT);
	tw->ts_on = (s->lflags & TW_TS_ON) != 0;
	tw->ts_recent_ms = ts_time(s->ts_min, now);
	tw->last_ack_ms = ack_time(s->ack_stamp, now);
}

/* What a TIME-WAIT entry is filled with when its key is published. */
struct tw_fill {
	const struct coda_conntab_tw *tw;
	uint64_t now;
	uint16_t li;
};

/* Write value v's entry for key k: a TCB key, or a TIME-WAIT entry from f. */
static void
entry_write(struct coda_conntab *t, uint32_t v, const struct coda_conntab_key *k,
	    const struct tw_fill *f)
{
	uint32_t i, e, x;

	if (!CODA_CONNTAB_IS_TW(v)) {
		struct coda_conntab_key *ke = &t->keys_tcb[v];

		/* Word 0 last: it carries the in-use family. */
		for (i = 4; i > 0; i--)
			STORE(&ke->w[i], k->w[i]);
		STORE(&ke->w[0], k->w[0]);
		return;
	}
	{
		const struct tw_pool *p = tw_pool_of(t, CODA_CONNTAB_INDEX(v), &e);
		uint32_t *ra = (uint32_t *)(void *)tw_entry(p, e);
		struct tw_state *s = tw_state_of(p, e);

		for (i = 0; i < p->alen / 4; i++) {
			memcpy(&x, k->raddr + 4 * i, 4);
			STORE(&ra[i], x);
		}
		STORE(&s->lport, k->lport);
		STORE(&s->rport, k->rport);
		tw_write_state(s, f->tw, f->now, f->li);
	}
}

/*
 * Publish k with value v at the place found by probe_insert(): count the
 * entry in the buckets it passes before it is visible, so a reader that
 * finds it in its slot can also reach it from its home; then one change of
 * its bucket writes the entry, the value and the signature.
 */
static void
insert_at(struct coda_conntab *t, const struct coda_conntab_key *k, uint64_t h,
	  const struct place *pl, uint32_t v, const struct tw_fill *f)
{
	struct bucket *b;
	uint32_t bi;

	for (bi = home_of(t, h); bi != pl->bucket; bi = next_bucket(t, bi, step_of(t, h))) {
		b = &t->buckets[bi];
		bucket_begin(b);
		STORE(&b->ovf, b->ovf + 1);
		STORE(&b->pass, pass_add(b->pass, h));
		bucket_end(b);
	}
	b = &t->buckets[pl->bucket];
	bucket_begin(b);
	entry_write(t, v, k, f);
	STORE(&b->val[pl->slot], v);
	STORE(&b->sigw[pl->slot / 4], lane_set(b->sigw[pl->slot / 4], pl->slot, sig_of(h)));
	bucket_end(b);
	if (CODA_CONNTAB_IS_TW(v))
		STORE(&t->cnt_tw, t->cnt_tw + 1);
	else
		STORE(&t->cnt_tcb, t->cnt_tcb + 1);
	if (pl->dist > t->st.max_probe)
		STORE(&t->st.max_probe, pl->dist);
}

int
coda_conntab_insert(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t value)
{
	struct place pl;
	uint64_t h;
	int rc;

	if ((k->family != AF_INET && k->family != AF_INET6) || CODA_CONNTAB_IS_TW(value) ||
	    value >= t->nb_tcb)
		return -EINVAL;
	coda_prefetch_w(&t->keys_tcb[value]);
	h = key_hash(t, k);
	rc = probe_insert(t, k, h, &pl);
	if (rc != 0)
		return rc;
	if (t->cnt_tcb == t->nb_tcb) {
		STAT_ADD(t, enospc, 1);
		return -ENOSPC;
	}
	if (t->keys_tcb[value].family != 0)
		return -EBUSY;
	if (pl.bucket == NIL)
		return -EFAULT; /* unreachable: fewer entries than slots */
	insert_at(t, k, h, &pl, value, NULL);
	STAT_ADD(t, inserts, 1);
	return 0;
}

/* Free TIME-WAIT entry e of pool p: its timer, and the entry onto the free list. */
static void
tw_release(struct tw_pool *p, uint32_t e)
{
	(void)coda_wheel_cancel(p->wheel, e); /* -ENOENT when it fired or was taken */
	STORE(&tw_state_of(p, e)->snd_nxt, p->free_head);
	p->free_head = e;
	p->cnt--;
}

/*
 * Remove the entry in slot s of bucket bi, whose key has hash h, and free
 * what its value named. Returns the value.
 */
static uint32_t
remove_at(struct coda_conntab *t, uint64_t h, uint32_t bi, uint32_t s)
{
	struct bucket *b = &t->buckets[bi];
	uint32_t v = b->val[s], home = home_of(t, h), e;

	bucket_begin(b);
	STORE(&b->sigw[s / 4], lane_set(b->sigw[s / 4], s, 0));
	/*
	 * Free the index inside this bucket's change: a reader that read the
	 * slot before it was cleared and now reads the key entry or
	 * TIME-WAIT entry (or what is stored there next, later in program
	 * order: the free-list link, the next key) fails its reader_end() on
	 * this bucket.
	 */
	if (CODA_CONNTAB_IS_TW(v)) {
		struct tw_pool *p =
			&t->tw[(uintptr_t)(tw_pool_of(t, CODA_CONNTAB_INDEX(v), &e) - t->tw)];

		tw_release(p, e);
		STORE(&t->cnt_tw, t->cnt_tw - 1);
	} else {
		STORE(&t->keys_tcb[v].w[0], 0);
		STORE(&t->cnt_tcb, t->cnt_tcb - 1);
	}
	bucket_end(b);
	/* The entry no longer probes past the buckets before its slot. */
	for (; home != bi; home = next_bucket(t, home, step_of(t, h))) {
		b = &t->buckets[home];
		bucket_begin(b);
		STORE(&b->ovf, b->ovf - 1);
		/* With nothing passing any more, a counter at 3 is stale too. */
		STORE(&b->pass, b->ovf == 0 ? 0 : pass_sub(b->pass, h));
		bucket_end(b);
	}
	return v;
}

int
coda_conntab_delete(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t *value)
{
	uint64_t h = key_hash(t, k);
	uint32_t bi, s, v;

	if (find_slot(t, k, h, 0, &bi, &s) != 0)
		return -ENOENT;
	v = remove_at(t, h, bi, s);
	STAT_ADD(t, deletes, 1);
	if (CODA_CONNTAB_IS_TW(v))
		STAT_ADD(t, tw_removed, 1);
	if (value != NULL)
		*value = v;
	return 0;
}

int
coda_conntab_replace(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t value,
		     uint32_t *old)
{
	uint32_t bi, s, v, e;
	struct coda_conntab_key *ke_new;
	struct bucket *b;

	if (CODA_CONNTAB_IS_TW(value) || value >= t->nb_tcb)
		return -EINVAL;
	if (find_slot(t, k, key_hash(t, k), 0, &bi, &s) != 0)
		return -ENOENT;
	b = &t->buckets[bi];
	v = b->val[s];
	ke_new = &t->keys_tcb[value];
	if (CODA_CONNTAB_IS_TW(v) && t->cnt_tcb == t->nb_tcb) {
		STAT_ADD(t, enospc, 1);
		return -ENOSPC;
	}
	if (v != value && ke_new->family != 0)
		return -EBUSY;
	/*
	 * One change of the bucket: the key moves to the new index and the
	 * value switches, so a reader sees the old pair or the new one, never
	 * neither. Writing the new key entry inside this change is safe for
	 * readers still holding a stale slot that named the new index: the
	 * delete that freed it bumped that slot's bucket earlier in program
	 * order (the argument at bucket_begin()).
	 */
	bucket_begin(b);
	if (v != value) {
		entry_write(t, value, k, NULL);
		if (CODA_CONNTAB_IS_TW(v)) {
			struct tw_pool *p =
				&t->tw[(uintptr_t)(tw_pool_of(t, CODA_CONNTAB_INDEX(v), &e) - t->tw)];

			tw_release(p, e);
		} else {
			STORE(&t->keys_tcb[v].w[0], 0);
		}
	}
	STORE(&b->val[s], value);
	bucket_end(b);
	if (CODA_CONNTAB_IS_TW(v)) {
		STORE(&t->cnt_tcb, t->cnt_tcb + 1);
		STORE(&t->cnt_tw, t->cnt_tw - 1);
		STAT_ADD(t, tw_removed, 1);
	}
	STAT_ADD(t, replaces, 1);
	if (old != NULL)
		*old = v;
	return 0;
}

int
coda_conntab_lookup(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t *value)
{
	int rc = lookup_hashed(t, k, key_hash(t, k), value);

	STAT_ADD(t, lookups, 1);
	if (rc == 0)
		STAT_ADD(t, hits, 1);
	return rc;
}

uint64_t
coda_conntab_generation(const struct coda_conntab *t)
{
	/* Every change of a key's value counts in one of these (owner's own fields). */
	return t->st.inserts + t->st.deletes + t->st.replaces + t->st.tw_entered +
	       t->st.tw_expired + t->st.tw_recycled;
}

/* A bulk key's candidate mask before its current bucket has been scanned. */
#define BULK_UNSCANNED UINT32_MAX

unsigned int
coda_conntab_lookup_bulk(struct coda_conntab *t, const struct coda_conntab_key *const *keys,
			 unsigned int n, uint32_t *values, uint64_t *hit_mask)
{
	uint64_t h[CODA_CONNTAB_BURST_MAX];
	uint32_t bi[CODA_CONNTAB_BURST_MAX], cand[CODA_CONNTAB_BURST_MAX];
	uint32_t dist[CODA_CONNTAB_BURST_MAX];
	uint64_t pend, todo, mask = 0;
	const struct bucket *b;
	unsigned int i, hits;
	uint32_t v;

	if (n > CODA_CONNTAB_BURST_MAX)
		return 0;
	/*
	 * Passes over the whole burst, each taking every unresolved key one
	 * cache line further and prefetching the line it needs next, so that
	 * the misses of one pass are all in flight together (as many as the
	 * core has fill buffers). A pipeline a few keys deep, or a per-key
	 * lookup after the prefetches, keeps only a few in flight: its
	 * data-dependent branches stop the core from running ahead.
	 * Pass 1 hashes every key and prefetches its home bucket. In later
	 * passes a key whose bucket arrived is matched against it: a
	 * candidate slot means prefetch the entry it names; none means the
	 * key is missing if its counter in the bucket's pass filter is 0,
	 * else prefetch the next bucket of its probe. A key whose entry
	 * arrived is compared: equal is a hit; else the next candidate of the
	 * same bucket. A hit takes three passes, a miss that its home
	 * bucket's filter stops two.
	 */
	for (i = 0; i < n; i++) {
		h[i] = key_hash(t, keys[i]);
		bi[i] = home_of(t, h[i]);
		cand[i] = BULK_UNSCANNED;
		dist[i] = 0;
		values[i] = CODA_CONNTAB_NONE;
		coda_prefetch(&t->buckets[bi[i]]);
	}
	pend = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
	while (pend != 0) {
		for (todo = pend; todo != 0; todo &= todo - 1) {
			i = (unsigned int)__builtin_ctzll(todo);
			b = &t->buckets[bi[i]];
			if (cand[i] == BULK_UNSCANNED) {
				cand[i] = match_mask(b->sigw[0], b->sigw[1], sig_of(h[i]));
			} else {
				v = b->val[__builtin_ctz(cand[i])];
				if (val_key_equal(t, v, keys[i])) {
					values[i] = v;
					mask |= UINT64_C(1) << i;
					pend &= ~(UINT64_C(1) << i);
					continue;
				}
				cand[i] &= cand[i] - 1;
			}
			if (cand[i] != 0) {
				prefetch_entry(t, b->val[__builtin_ctz(cand[i])]);
				continue;
			}
			if (!pass_may(b->pass, h[i]) || ++dist[i] >= t->nb_buckets) {
				pend &= ~(UINT64_C(1) << i);
				continue;
			}
			bi[i] = next_bucket(t, bi[i], step_of(t, h[i]));
			cand[i] = BULK_UNSCANNED;
			coda_prefetch(&t->buckets[bi[i]]);
		}
	}
	hits = (unsigned int)__builtin_popcountll(mask);
	STAT_ADD(t, lookups, n);
	STAT_ADD(t, hits, hits);
	*hit_mask = mask;
	return hits;
}

/*
 * Reader lookup; for a TIME-WAIT value also the entry's state, copied in
 * the same consistent read of the bucket.
 */
static int
reader_find(const struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t *value,
	    struct tw_state *st)
{
	uint64_t h = key_hash(t, k), sig = sig_of(h);
	uint32_t bi = home_of(t, h), d, m, s, v = 0;
	uint64_t pass;
	struct coda_conntab_key kk;
	bool found;

	/*
	 * Each bucket is read consistently on its own; entries never move,
	 * and an entry counts in the pass filter of every bucket its probe
	 * passed before its slot for as long as it is in the table (counted
	 * before it is published, taken back after it is gone), so a key
	 * present throughout is reached (coda_conntab_reader_lookup() in the
	 * header). The filter read with a bucket is consistent with that
	 * bucket's slots.
	 */
	for (d = 0; d < t->nb_buckets; d++) {
		const struct bucket *b = &t->buckets[bi];

		do {
			s = reader_begin(b);
			found = false;
			pass = LOAD(&b->pass);
			m = match_mask(LOAD(&b->sigw[0]), LOAD(&b->sigw[1]), sig);
			for (; m != 0; m &= m - 1) {
				v = LOAD(&b->val[__builtin_ctz(m)]);
				if (reader_key_load(t, v, &kk, st) && coda_conntab_key_equal(&kk, k)) {
					found = true;
					break;
				}
			}
		} while (!reader_end(b, s));
		if (found) {
			*value = v;
			return 0;
		}
		if (!pass_may(pass, h))
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return -ENOENT;
}

int
coda_conntab_reader_lookup(const struct coda_conntab *t, const struct coda_conntab_key *k,
			   uint32_t *value)
{
	return reader_find(t, k, value, NULL);
}

int
coda_conntab_reader_tw(const struct coda_conntab *t, const struct coda_conntab_key *k,
		       uint64_t now, uint32_t *value, struct coda_conntab_tw *tw)
{
	struct tw_state st = {0}; /* filled by reader_find() when it returns a TIME-WAIT value */
	int rc = reader_find(t, k, value, &st);

	if (rc == 0 && tw != NULL && CODA_CONNTAB_IS_TW(*value))
		tw_read_state(&st, now, tw);
	return rc;
}

void
coda_conntab_iter_init(const struct coda_conntab *t, struct coda_conntab_iter *it)
{
	(void)t;
	it->bucket = 0;
	it->pos = 0;
	it->n = 0;
}

/* Copy the occupied slots of bucket bi, and their keys, consistently. */
static void
snapshot_bucket(const struct coda_conntab *t, uint32_t bi, struct coda_conntab_iter *it)
{
	const struct bucket *b = &t->buckets[bi];
	uint32_t s, seq, m, v;

	do {
		seq = reader_begin(b);
		it->n = 0;
		m = ~match_mask(LOAD(&b->sigw[0]), LOAD(&b->sigw[1]), 0) & 0xff;
		for (; m != 0; m &= m - 1) {
			s = (uint32_t)__builtin_ctz(m);
			v = LOAD(&b->val[s]);
			if (!reader_key_load(t, v, &it->key[it->n], NULL))
				continue; /* torn: reader_end() fails */
			it->val[it->n++] = v;
		}
	} while (!reader_end(b, seq));
	it->pos = 0;
}

int
coda_conntab_iter_next(const struct coda_conntab *t, struct coda_conntab_iter *it,
		       struct coda_conntab_key *key, uint32_t *value)
{
	while (it->pos == it->n) {
		if (it->bucket >= t->nb_buckets)
			return -ENOENT;
		snapshot_bucket(t, it->bucket++, it);
	}
	*key = it->key[it->pos];
	*value = it->val[it->pos++];
	return 0;
}

/* --- TIME-WAIT store ---------------------------------------------------- */

/* The index of local address a in the list, adding it if new. -ENOSPC when the list is full. */
static int
laddr_index(struct coda_conntab *t, const uint8_t *addr, uint16_t *idx)
{
	struct laddr_list *l = t->laddr;
	uint64_t a[2];
	uint32_t i, j;

	memcpy(a, addr, 16);
	j = (uint32_t)fold(a[0] ^ t->sec[2], a[1] ^ t->sec[3]) & (LADDR_HASH_SLOTS - 1);
	for (; l->slot[j] != 0; j = (j + 1) & (LADDR_HASH_SLOTS - 1)) {
		i = l->slot[j] - 1u;
		if (l->addr[i][0] == a[0] && l->addr[i][1] == a[1]) {
			*idx = (uint16_t)i;
			return 0;
		}
	}
	if (l->n == CODA_CONNTAB_TW_LADDR_MAX)
		return -ENOSPC;
	/* Written before any entry names it; that entry's bucket_end() publishes both. */
	i = l->n;
	STORE(&l->addr[i][0], a[0]);
	STORE(&l->addr[i][1], a[1]);
	l->slot[j] = (uint16_t)(i + 1);
	l->n = i + 1;
	STAT_ADD(t, tw_laddrs, 1);
	*idx = (uint16_t)i;
	return 0;
}

/* A free entry of pool p, or false when it is full. */
static bool
tw_take(struct tw_pool *p, uint32_t *e)
{
	if (p->cnt >= p->limit)
		return false;
	if (p->free_head != NIL) {
		*e = p->free_head;
		p->free_head = tw_state_of(p, *e)->snd_nxt;
	} else if (p->fresh < p->nb) {
		*e = p->fresh++;
	} else {
		return false;
	}
	p->cnt++;
	return true;
}

/*
 * End the n TIME-WAIT entries due[] of pool p, whose timers have fired or
 * were taken: their keys leave the table. In three passes, so that the
 * cache misses of a batch (the up to TW_EXPIRE_BATCH entries a wheel hands
 * back together) overlap: prefetch every entry (and its timer's state word,
 * which releasing it reads); hash every key and prefetch its home bucket;
 * then find each slot by its value, which is unique, so the key is not
 * compared again, and remove it.
 */
static void
tw_end(struct coda_conntab *t, struct tw_pool *p, const uint32_t *due, unsigned int n)
{
	struct coda_conntab_key k;
	uint64_t h[TW_EXPIRE_BATCH];
	uint32_t bi, s, i;

	for (i = 0; i < n; i++) {
		prefetch_entry(t, CODA_CONNTAB_VALUE_TW(p->base + due[i]));
		coda_wheel_prefetch(p->wheel, due[i]);
	}
	for (i = 0; i < n; i++) {
		tw_key(t, p, due[i], &k);
		h[i] = key_hash(t, &k);
		coda_prefetch(&t->buckets[home_of(t, h[i])]);
	}
	for (i = 0; i < n; i++) {
		if (find_slot(t, NULL, h[i], CODA_CONNTAB_VALUE_TW(p->base + due[i]), &bi, &s) == 0)
			(void)remove_at(t, h[i], bi, s);
		else
			/* Unreachable (an entry in use is in the table); free it rather than leak it. */
			tw_release(p, due[i]);
	}
}

int
coda_conntab_tw_enter(struct coda_conntab *t, const struct coda_conntab_key *k,
		      const struct coda_conntab_tw *tw, uint64_t now, uint64_t expiry,
		      uint32_t *value)
{
	struct tw_fill f = {.tw = tw, .now = now};
	uint32_t bi = NIL, s = 0, e, v, old;
	struct tw_pool *p;
	struct place pl;
	struct bucket *b;
	uint64_t h, clk;
	bool found;

	if ((k->family != AF_INET && k->family != AF_INET6) || tw->rcv_wscale > 14)
		return -EINVAL;
	p = &t->tw[k->family == AF_INET6];
	h = key_hash(t, k);
	found = find_slot(t, k, h, 0, &bi, &s) == 0;
	if (found && CODA_CONNTAB_IS_TW(t->buckets[bi].val[s]))
		return -EEXIST;
	if (p->limit == 0)
		goto skip;
	/*
	 * Bring the pool's clock up to now through ticks where nothing is
	 * due (delivering nothing), so the entry's lateness is that of 2 MSL
	 * from now, not from whenever the caller last expired entries.
	 */
	if (coda_wheel_clock(p->wheel) <= now) {
		uint32_t none[1];

		(void)coda_wheel_advance(p->wheel, now, none, 0);
	}
	clk = coda_wheel_clock(p->wheel);
	if (expiry > clk && expiry - clk > CODA_WHEEL_MAX_DELAY)
		return -ERANGE;
	if (laddr_index(t, k->laddr, &f.li) != 0) {
		STAT_ADD(t, tw_skipped_laddr, 1);
		goto skip;
	}
	if (!tw_take(p, &e)) {
		/*
		 * Full. RECYCLE: end the entry closest to expiry (all entries
		 * wait the same 2 MSL, so the oldest) and take it. Its key may
		 * share a bucket with k; entries never move, so k's slot
		 * found above stays valid.
		 */
		if (t->tw_policy != CODA_CONNTAB_TW_RECYCLE ||
		    coda_wheel_take_earliest(p->wheel, &e, 1) != 1)
			goto skip;
		tw_end(t, p, &e, 1);
		STAT_ADD(t, tw_recycled, 1);
		if (!tw_take(p, &e))
			return -EFAULT; /* unreachable: tw_end() freed one */
	}
	(void)coda_wheel_arm(p->wheel, e, expiry); /* in range: checked above */
	v = CODA_CONNTAB_VALUE_TW(p->base + e);
	if (found) {
		/*
		 * In place, TCB index to TIME-WAIT entry, in one change of the
		 * bucket: a reader sees the TCB value or the TIME-WAIT one.
		 */
		b = &t->buckets[bi];
		old = b->val[s];
		bucket_begin(b);
		entry_write(t, v, k, &f);
		STORE(&b->val[s], v);
		STORE(&t->keys_tcb[old].w[0], 0);
		bucket_end(b);
		STORE(&t->cnt_tcb, t->cnt_tcb - 1);
		STORE(&t->cnt_tw, t->cnt_tw + 1);
	} else {
		/* Not in the table (checked above), and a slot is always free. */
		if (probe_insert(t, k, h, &pl) != 0 || pl.bucket == NIL) {
			/* Unreachable but for a corrupted table: give the entry back. */
			tw_release(p, e);
			return -EFAULT;
		}
		insert_at(t, k, h, &pl, v, &f);
	}
	STAT_ADD(t, tw_entered, 1);
	if (value != NULL)
		*value = v;
	return 0;
skip:
	/* No TIME-WAIT kept: the connection leaves the table all the same. */
	if (found) {
		(void)remove_at(t, h, bi, s);
		STAT_ADD(t, deletes, 1);
	}
	STAT_ADD(t, tw_skipped, 1);
	return -ENOSPC;
}

/* Pool and entry of a TIME-WAIT value in use; NULL if it is not one. */
static struct tw_pool *
tw_in_use(const struct coda_conntab *t, uint32_t v, uint32_t *e, int *err)
{
	const struct tw_pool *p;

	if (!CODA_CONNTAB_IS_TW(v) || CODA_CONNTAB_INDEX(v) >= t->nb_tw) {
		*err = -EINVAL;
		return NULL;
	}
	p = tw_pool_of(t, CODA_CONNTAB_INDEX(v), e);
	if (!coda_wheel_pending(p->wheel, *e)) {
		*err = -ENOENT;
		return NULL;
	}
	return (struct tw_pool *)(uintptr_t)p;
}

int
coda_conntab_tw_get(const struct coda_conntab *t, uint32_t value, uint64_t now,
		    struct coda_conntab_tw *tw)
{
	const struct tw_pool *p;
	uint32_t e;
	int err;

	if ((p = tw_in_use(t, value, &e, &err)) == NULL)
		return err;
	tw_read_state(tw_state_of(p, e), now, tw);
	return 0;
}

int
coda_conntab_tw_update(struct coda_conntab *t, const struct coda_conntab_key *k,
		       const struct coda_conntab_tw *tw, uint64_t now)
{
	uint32_t bi, s, v, e;
	const struct tw_pool *p;
	struct tw_state *st;
	struct bucket *b;

	if (tw->rcv_wscale > 14)
		return -EINVAL;
	if (find_slot(t, k, key_hash(t, k), 0, &bi, &s) != 0)
		return -ENOENT;
	b = &t->buckets[bi];
	v = b->val[s];
	if (!CODA_CONNTAB_IS_TW(v))
		return -ENOENT;
	p = tw_pool_of(t, CODA_CONNTAB_INDEX(v), &e);
	st = tw_state_of(p, e);
	/* Inside a change of the entry's bucket: readers copy all old fields or all new ones. */
	bucket_begin(b);
	tw_write_state(st, tw, now, st->lflags & TW_LADDR_MASK);
	bucket_end(b);
	return 0;
}

int
coda_conntab_tw_restart(struct coda_conntab *t, uint32_t value, uint64_t expiry)
{
	struct tw_pool *p;
	uint32_t e;
	int err;

	if ((p = tw_in_use(t, value, &e, &err)) == NULL)
		return err;
	return coda_wheel_arm(p->wheel, e, expiry);
}

int
coda_conntab_tw_limit(struct coda_conntab *t, int family, uint32_t limit)
{
	struct tw_pool *p;
	uint32_t e;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	p = &t->tw[family == AF_INET6];
	if (limit > p->nb)
		return -EINVAL;
	p->limit = limit;
	/* Over the new limit: the entries closest to expiry end now, as a full pool recycles. */
	while (p->cnt > limit && coda_wheel_take_earliest(p->wheel, &e, 1) == 1) {
		tw_end(t, p, &e, 1);
		STAT_ADD(t, tw_recycled, 1);
	}
	return 0;
}

uint64_t
coda_conntab_tw_expiry(const struct coda_conntab *t, uint32_t value)
{
	const struct tw_pool *p;
	uint32_t e;
	int err;

	if ((p = tw_in_use(t, value, &e, &err)) == NULL)
		return UINT64_MAX;
	return coda_wheel_expiry(p->wheel, e);
}

unsigned int
coda_conntab_tw_expire(struct coda_conntab *t, uint64_t now, unsigned int max)
{
	uint32_t due[TW_EXPIRE_BATCH];
	unsigned int total = 0, n, i;

	/* The pools take turns at going first, so a busy one cannot hold the other back. */
	t->tw_turn ^= 1;
	for (i = 0; i < 2; i++) {
		struct tw_pool *p = &t->tw[i ^ t->tw_turn];

		if (p->nb == 0)
			continue;
		do {
			n = max - total < TW_EXPIRE_BATCH ? max - total : TW_EXPIRE_BATCH;
			n = coda_wheel_advance(p->wheel, now, due, n);
			tw_end(t, p, due, n);
			total += n;
		} while (n > 0 && total < max);
	}
	STAT_ADD(t, tw_expired, total);
	return total;
}

uint64_t
coda_conntab_tw_next_expiry(const struct coda_conntab *t)
{
	uint64_t a = t->tw[0].nb > 0 ? coda_wheel_next_expiry(t->tw[0].wheel) : UINT64_MAX;
	uint64_t b = t->tw[1].nb > 0 ? coda_wheel_next_expiry(t->tw[1].wheel) : UINT64_MAX;

	return a < b ? a : b;
}

bool
coda_conntab_tw_due(const struct coda_conntab *t, uint64_t now)
{
	return (t->tw[0].nb > 0 && coda_wheel_due(t->tw[0].wheel, now)) ||
	       (t->tw[1].nb > 0 && coda_wheel_due(t->tw[1].wheel, now));
}

/* --- TCB indices --------------------------------------------------------- */

int
coda_conntab_tcb_alloc(struct coda_conntab *t, uint32_t *idx)
{
	struct tcb_alloc *a = &t->ta;

	if (a->nb_free > 0 || coda_conntab_tcb_reclaim(t) > 0) {
		*idx = a->stack[--a->nb_free]; /* the most recently freed: warm in cache */
	} else if (a->fresh < t->nb_tcb) {
		*idx = a->fresh++;
	} else {
		STAT_ADD(t, tcb_alloc_fail, 1);
		return -ENOSPC;
	}
	a->used[*idx] = 1;
	return 0;
}

int
coda_conntab_tcb_free(struct coda_conntab *t, uint32_t idx)
{
	struct tcb_alloc *a = &t->ta;

	if (idx >= t->nb_tcb || !a->used[idx])
		return -EINVAL;
	if (t->keys_tcb[idx].family != 0)
		return -EBUSY;
	a->used[idx] = 0;
	if (a->qsbr == NULL) {
		a->stack[a->nb_free++] = idx;
		return 0;
	}
	/* Held back until a grace period started after this point is over. */
	a->limbo[a->tail % t->nb_tcb] = idx;
	a->tail++;
	STAT_ADD(t, tcb_deferred, 1);
	return 0;
}

unsigned int
coda_conntab_tcb_reclaim(struct coda_conntab *t)
{
#ifdef CODA_CONNTAB_RCU
	struct tcb_alloc *a = &t->ta;
	unsigned int n = 0;
	uint64_t tok;
	uint32_t i;

	if (a->qsbr == NULL)
		return 0;
	/*
	 * Indices freed since the last call share one new token: a reader
	 * that may still hold one of them had it before this start, so once
	 * every reader has reported quiescent after it, none holds it.
	 */
	if (a->started != a->tail) {
		tok = rte_rcu_qsbr_start(a->qsbr);
		for (i = a->started; i != a->tail; i++)
			a->token[i % t->nb_tcb] = tok;
		a->started = a->tail;
	}
	while (a->head != a->started) {
		tok = a->token[a->head % t->nb_tcb];
		if (tok > a->done) {
			if (rte_rcu_qsbr_check(a->qsbr, tok, false) != 1)
				break;
			a->done = tok;
		}
		a->stack[a->nb_free++] = a->limbo[a->head % t->nb_tcb];
		a->head++;
		n++;
	}
	if (n > 0)
		STORE(&t->st.tcb_deferred, t->st.tcb_deferred - n);
	return n;
#else
	(void)t;
	return 0;
#endif
}

/* --- counters and audit -------------------------------------------------- */

uint32_t
coda_conntab_count(const struct coda_conntab *t)
{
	return LOAD(&t->cnt_tcb) + LOAD(&t->cnt_tw);
}

void
coda_conntab_stats(const struct coda_conntab *t, struct coda_conntab_stats *st)
{
	st->inserts = LOAD(&t->st.inserts);
	st->deletes = LOAD(&t->st.deletes);
	st->replaces = LOAD(&t->st.replaces);
	st->lookups = LOAD(&t->st.lookups);
	st->hits = LOAD(&t->st.hits);
	st->enospc = LOAD(&t->st.enospc);
	st->entries_tcb = LOAD(&t->cnt_tcb);
	st->entries_tw = LOAD(&t->cnt_tw);
	st->max_probe = LOAD(&t->st.max_probe);
	st->buckets = t->st.buckets;
	st->index_bytes = t->st.index_bytes;
	st->key_bytes = t->st.key_bytes;
	st->tw_bytes = t->st.tw_bytes;
	st->tw_entered = LOAD(&t->st.tw_entered);
	st->tw_expired = LOAD(&t->st.tw_expired);
	st->tw_recycled = LOAD(&t->st.tw_recycled);
	st->tw_skipped = LOAD(&t->st.tw_skipped);
	st->tw_skipped_laddr = LOAD(&t->st.tw_skipped_laddr);
	st->tw_removed = LOAD(&t->st.tw_removed);
	st->tw_laddrs = LOAD(&t->st.tw_laddrs);
	st->tcb_alloc_fail = LOAD(&t->st.tcb_alloc_fail);
	st->tcb_deferred = LOAD(&t->st.tcb_deferred);
}

static uint64_t
keys_in_use(const struct coda_conntab_key *keys, uint32_t n)
{
	uint64_t c = 0;

	for (uint32_t i = 0; i < n; i++)
		c += keys[i].family != 0;
	return c;
}

/* A pool's entries in use, free and never used add up, and match its wheel. */
static bool
tw_pool_consistent(const struct tw_pool *p)
{
	uint64_t nfree = 0;
	uint32_t e;

	if (p->nb == 0)
		return p->cnt == 0;
	for (e = p->free_head; e != NIL; e = tw_state_of(p, e)->snd_nxt) {
		if (e >= p->fresh || ++nfree > p->nb || coda_wheel_pending(p->wheel, e))
			return false;
	}
	return p->cnt == coda_wheel_count(p->wheel) && p->cnt + nfree == p->fresh &&
	       coda_wheel_audit(p->wheel) == 0;
}

int
coda_conntab_audit(const struct coda_conntab *t)
{
	uint32_t *ovf = calloc(t->nb_buckets, sizeof(*ovf));
	uint64_t *pass = calloc(t->nb_buckets, sizeof(*pass));
	uint64_t n_tcb = 0, n_tw = 0, h;
	struct coda_conntab_key key;
	const struct bucket *b;
	uint32_t bi, s, v, j, d, e;
	int rc = -EFAULT;

	if (ovf == NULL || pass == NULL) {
		free(ovf);
		free(pass);
		return -ENOMEM;
	}
	for (bi = 0; bi < t->nb_buckets; bi++) {
		b = &t->buckets[bi];
		if (b->seq & 1)
			goto err;
		for (s = 0; s < SLOTS; s++) {
			uint64_t sig = (b->sigw[s / 4] >> (16 * (s % 4))) & 0xffff;

			if (sig == 0)
				continue;
			v = b->val[s];
			if (!reader_key_load(t, v, &key, NULL) ||
			    (key.family != AF_INET && key.family != AF_INET6))
				goto err;
			if (CODA_CONNTAB_IS_TW(v)) {
				const struct tw_pool *p = tw_pool_of(t, CODA_CONNTAB_INDEX(v), &e);

				if (!coda_wheel_pending(p->wheel, e) ||
				    (tw_state_of(p, e)->lflags & TW_LADDR_MASK) >= t->laddr->n)
					goto err;
			}
			h = key_hash(t, &key);
			if (sig_of(h) != sig)
				goto err;
			for (j = home_of(t, h), d = 0; j != bi; d++) {
				if (d == t->nb_buckets)
					goto err;
				ovf[j]++;
				pass[j] = pass_add(pass[j], h);
				j = next_bucket(t, j, step_of(t, h));
			}
			if (CODA_CONNTAB_IS_TW(v))
				n_tw++;
			else
				n_tcb++;
		}
	}
	/* Each filter counter exact, or at 3 for 3 or more (or stale ones). */
	for (bi = 0; bi < t->nb_buckets; bi++) {
		uint64_t have = t->buckets[bi].pass;

		if (ovf[bi] != t->buckets[bi].ovf || (ovf[bi] == 0 && have != 0))
			goto err;
		for (s = 0; s < 64; s += 2)
			if (((have >> s) & 3) != 3 && ((have >> s) & 3) != ((pass[bi] >> s) & 3))
				goto err;
	}
	/*
	 * Each slot's entry in use, and as many entries in use as slots: no
	 * index is named twice.
	 */
	if (n_tcb != t->cnt_tcb || n_tw != t->cnt_tw ||
	    keys_in_use(t->keys_tcb, t->nb_tcb) != n_tcb ||
	    t->tw[0].cnt + t->tw[1].cnt != n_tw || !tw_pool_consistent(&t->tw[0]) ||
	    !tw_pool_consistent(&t->tw[1]))
		goto err;
	rc = 0;
err:
	free(ovf);
	free(pass);
	return rc;
}
