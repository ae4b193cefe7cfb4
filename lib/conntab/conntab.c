/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-core connection table (design, sizing and guarantees:
 * coda_conntab.h).
 *
 * Layout: one allocation holding the table header, the buckets (one cache
 * line each) and the two key arrays (TCB keys, TIME-WAIT keys; 40 bytes a
 * key, indexed by the value's index).
 *
 *  - A slot is free when its signature is 0. Signatures are kept as two
 *    64-bit words of four 16-bit lanes, so a bucket is matched against a
 *    signature with a few SWAR operations and read by a concurrent reader
 *    with two atomic loads; slot s is lane s % 4 of word s / 4.
 *  - ovf of bucket j counts the entries whose probe sequence (home, then
 *    steps of step_of(hash), modulo the prime bucket count) passed j before
 *    reaching their slot. A lookup goes on past a bucket only while its ovf
 *    is not 0: no tombstones, no moves.
 *  - A key array entry is in use while its family is not 0; delete clears
 *    the family word, so the index is free for another key.
 *
 * Concurrency: the owner is the only writer. Every store that a concurrent
 * reader may observe (seq, ovf, signature words, values, key words) is an
 * atomic store, relaxed unless it publishes; readers load those words with
 * atomic loads. The owner's own reads are plain: it never races with
 * itself. A change to a bucket, and to the key entries its slots name, is
 * enclosed in bucket_begin() / bucket_end() (the seqlock writer side); the
 * argument for each barrier is at the barrier. There is no atomic
 * read-modify-write anywhere: the owner reads seq, ovf and the counters
 * with plain loads and stores the new values.
 */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coda_conntab.h"

#define CACHE_LINE 64
#define HUGE_PAGE (UINT64_C(2) << 20)
#define SLOTS CODA_CONNTAB_BUCKET_SLOTS
#define NIL UINT32_MAX
#define PF_DIST CODA_CONNTAB_PREFETCH_DIST
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
	uint64_t unused;
} __attribute__((aligned(CACHE_LINE)));

static_assert(sizeof(struct bucket) == CACHE_LINE, "a bucket is one cache line");
static_assert(sizeof(struct coda_conntab_key) == 40, "a key is five 64-bit words");
static_assert(SLOTS == 8, "two signature words of four lanes");
static_assert(CODA_CONNTAB_BURST_MAX <= 64, "the hit mask is 64 bits");
/* 1.2 slots of 8 bytes (a 64-byte bucket holds 8) per entry of capacity. */
static_assert(CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY == 12 * CACHE_LINE / SLOTS,
	      "index bytes per entry as documented");

struct coda_conntab {
	/* First cache line: read by every operation. */
	struct bucket *buckets;
	struct coda_conntab_key *keys_tcb;
	struct coda_conntab_key *keys_tw;
	uint32_t nb_buckets;
	uint32_t nb_tcb;
	uint32_t nb_tw;
	uint32_t cnt_tcb; /* TCB entries now */
	uint32_t cnt_tw;  /* TIME-WAIT entries now */
	uint32_t pad;
	uint64_t sec[4];  /* hash secrets, from the seed */
	/* Second line on: counters. */
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

/* The key entry of a value; the owner only stores valid values. */
static inline struct coda_conntab_key *
key_of(const struct coda_conntab *t, uint32_t v)
{
	return CODA_CONNTAB_IS_TW(v) ? &t->keys_tw[CODA_CONNTAB_INDEX(v)] :
				       &t->keys_tcb[CODA_CONNTAB_INDEX(v)];
}

/*
 * The same for a reader, which may read a value from a torn bucket (it will
 * retry): every value ever stored is in range, but check anyway rather than
 * trust a racy read with an address.
 */
static inline const struct coda_conntab_key *
key_of_checked(const struct coda_conntab *t, uint32_t v)
{
	uint32_t i = CODA_CONNTAB_INDEX(v);

	if (CODA_CONNTAB_IS_TW(v))
		return i < t->nb_tw ? &t->keys_tw[i] : NULL;
	return i < t->nb_tcb ? &t->keys_tcb[i] : NULL;
}

static inline bool
key_equal_atomic(const struct coda_conntab_key *stored, const struct coda_conntab_key *k)
{
	return ((LOAD(&stored->w[0]) ^ k->w[0]) | (LOAD(&stored->w[1]) ^ k->w[1]) |
		(LOAD(&stored->w[2]) ^ k->w[2]) | (LOAD(&stored->w[3]) ^ k->w[3]) |
		(LOAD(&stored->w[4]) ^ k->w[4])) == 0;
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

struct coda_conntab *
coda_conntab_create(const struct coda_conntab_conf *conf)
{
	struct coda_conntab *t;
	uint64_t total, slots, seed;
	size_t hdr, bkt, ktcb, ktw, need, align = CACHE_LINE;
	void *mem = NULL;
	char *p;

	if (conf == NULL) {
		errno = EINVAL;
		return NULL;
	}
	total = (uint64_t)conf->nb_tcb + conf->nb_tw;
	if (total == 0 || total > CODA_CONNTAB_MAX_ENTRIES) {
		errno = EINVAL;
		return NULL;
	}
	/* 1.2 slots per entry: at most 83% load when full (see the header). */
	slots = total + total / 5;
	hdr = align_up(sizeof(*t));
	bkt = (size_t)prime_at_least((uint32_t)((slots + SLOTS - 1) / SLOTS)) *
	      sizeof(struct bucket);
	ktcb = align_up((size_t)conf->nb_tcb * sizeof(struct coda_conntab_key));
	ktw = align_up((size_t)conf->nb_tw * sizeof(struct coda_conntab_key));
	need = hdr + bkt + ktcb + ktw;
	/* Buckets and keys are read at random: huge pages save a TLB miss. Advisory. */
	if (need >= 2 * HUGE_PAGE) {
		align = HUGE_PAGE;
		need = (need + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	}
	if (posix_memalign(&mem, align, need) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (align == HUGE_PAGE)
		(void)madvise(mem, need, MADV_HUGEPAGE);
	/* Zero everything: every seq even, every slot free, every key unused; pages touched now. */
	memset(mem, 0, need);
	t = mem;
	p = (char *)mem + hdr;
	t->buckets = (struct bucket *)p;
	t->nb_buckets = (uint32_t)(bkt / sizeof(struct bucket));
	p += bkt;
	t->keys_tcb = (struct coda_conntab_key *)p;
	p += ktcb;
	t->keys_tw = (struct coda_conntab_key *)p;
	t->nb_tcb = conf->nb_tcb;
	t->nb_tw = conf->nb_tw;
	seed = conf->seed;
	for (unsigned int i = 0; i < 4; i++)
		t->sec[i] = splitmix64(&seed) | 1;
	t->st.buckets = t->nb_buckets;
	t->st.index_bytes = bkt;
	t->st.key_bytes = ktcb + ktw;
	return t;
}

void
coda_conntab_free(struct coda_conntab *t)
{
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
			if (coda_conntab_key_equal(key_of(t, v), k)) {
				*value = v;
				return 0;
			}
		}
		if (b->ovf == 0)
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return -ENOENT;
}

/*
 * Prefetch a key entry: 40 bytes at a 40-byte stride, so 3 in 8 of them
 * straddle two cache lines; ask for both ends (one line or two).
 */
static inline void
prefetch_key_entry(const struct coda_conntab_key *ke)
{
	__builtin_prefetch(ke, 0);
	__builtin_prefetch((const char *)ke + sizeof(*ke) - 1, 0);
}

int
coda_conntab_insert(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t value)
{
	uint32_t idx = CODA_CONNTAB_INDEX(value);
	bool tw = CODA_CONNTAB_IS_TW(value);
	struct coda_conntab_key *ke;
	uint32_t bi, home, d, m, free_b = NIL, free_s = 0, free_d = 0, i;
	bool matching = true;
	uint64_t h, sig;
	struct bucket *b;

	if ((k->family != AF_INET && k->family != AF_INET6) || idx >= (tw ? t->nb_tw : t->nb_tcb))
		return -EINVAL;
	ke = key_of(t, value);
	__builtin_prefetch(ke, 1);
	__builtin_prefetch((const char *)ke + sizeof(*ke) - 1, 1);
	h = key_hash(t, k);
	sig = sig_of(h);
	home = bi = home_of(t, h);
	/*
	 * One pass: look for the key while the overflow counts say it may be
	 * further on, and for the first free slot. Fewer entries than slots,
	 * so a free slot exists; the bound only guards against a corrupted
	 * table.
	 */
	for (d = 0; d < t->nb_buckets; d++) {
		b = &t->buckets[bi];
		if (matching) {
			for (m = match_mask(b->sigw[0], b->sigw[1], sig); m != 0; m &= m - 1)
				if (coda_conntab_key_equal(key_of(t, b->val[__builtin_ctz(m)]), k))
					return -EEXIST;
			matching = b->ovf != 0;
		}
		if (free_b == NIL) {
			m = match_mask(b->sigw[0], b->sigw[1], 0);
			if (m != 0) {
				free_b = bi;
				free_s = (uint32_t)__builtin_ctz(m);
				free_d = d;
			}
		}
		if (!matching && free_b != NIL)
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	if ((tw ? t->cnt_tw : t->cnt_tcb) == (tw ? t->nb_tw : t->nb_tcb)) {
		STAT_ADD(t, enospc, 1);
		return -ENOSPC;
	}
	if (ke->family != 0)
		return -EBUSY;
	if (free_b == NIL)
		return -EFAULT; /* unreachable: fewer entries than slots */

	/*
	 * Count the entry in the buckets it passes before it is visible, so a
	 * reader that finds it in its slot can also reach it from its home.
	 */
	for (bi = home; bi != free_b; bi = next_bucket(t, bi, step_of(t, h))) {
		b = &t->buckets[bi];
		bucket_begin(b);
		STORE(&b->ovf, b->ovf + 1);
		bucket_end(b);
	}
	b = &t->buckets[free_b];
	bucket_begin(b);
	/* The key entry first (word 0 last, it carries the in-use family). */
	for (i = 4; i > 0; i--)
		STORE(&ke->w[i], k->w[i]);
	STORE(&ke->w[0], k->w[0]);
	STORE(&b->val[free_s], value);
	STORE(&b->sigw[free_s / 4], lane_set(b->sigw[free_s / 4], free_s, sig));
	bucket_end(b);

	if (tw)
		STORE(&t->cnt_tw, t->cnt_tw + 1);
	else
		STORE(&t->cnt_tcb, t->cnt_tcb + 1);
	STAT_ADD(t, inserts, 1);
	if (free_d > t->st.max_probe)
		STORE(&t->st.max_probe, free_d);
	return 0;
}

/* Owner: find the bucket and slot of k (hash h). */
static int
find_slot(const struct coda_conntab *t, const struct coda_conntab_key *k, uint64_t h,
	  uint32_t *bucket, uint32_t *slot)
{
	uint64_t sig = sig_of(h);
	uint32_t bi = home_of(t, h), d, m, s;
	const struct bucket *b;

	for (d = 0; d < t->nb_buckets; d++) {
		b = &t->buckets[bi];
		for (m = match_mask(b->sigw[0], b->sigw[1], sig); m != 0; m &= m - 1) {
			s = (uint32_t)__builtin_ctz(m);
			if (coda_conntab_key_equal(key_of(t, b->val[s]), k)) {
				*bucket = bi;
				*slot = s;
				return 0;
			}
		}
		if (b->ovf == 0)
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return -ENOENT;
}

int
coda_conntab_delete(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t *value)
{
	uint64_t h = key_hash(t, k);
	uint32_t home = home_of(t, h), bi, s, v;
	struct coda_conntab_key *ke;
	struct bucket *b;

	if (find_slot(t, k, h, &bi, &s) != 0)
		return -ENOENT;
	b = &t->buckets[bi];
	v = b->val[s];
	ke = key_of(t, v);
	bucket_begin(b);
	STORE(&b->sigw[s / 4], lane_set(b->sigw[s / 4], s, 0));
	/*
	 * Free the index. Inside this bucket's change: a reader that read
	 * the slot before it was cleared and now reads this key entry (or the
	 * next key stored under the index, later in program order) fails its
	 * reader_end() on this bucket.
	 */
	STORE(&ke->w[0], 0);
	bucket_end(b);
	/* The entry no longer probes past the buckets before its slot. */
	for (; home != bi; home = next_bucket(t, home, step_of(t, h))) {
		b = &t->buckets[home];
		bucket_begin(b);
		STORE(&b->ovf, b->ovf - 1);
		bucket_end(b);
	}
	if (CODA_CONNTAB_IS_TW(v))
		STORE(&t->cnt_tw, t->cnt_tw - 1);
	else
		STORE(&t->cnt_tcb, t->cnt_tcb - 1);
	STAT_ADD(t, deletes, 1);
	if (value != NULL)
		*value = v;
	return 0;
}

int
coda_conntab_replace(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t value,
		     uint32_t *old)
{
	uint32_t idx = CODA_CONNTAB_INDEX(value), bi, s, v, i;
	bool tw = CODA_CONNTAB_IS_TW(value);
	struct coda_conntab_key *ke, *ke_new;
	struct bucket *b;

	if (idx >= (tw ? t->nb_tw : t->nb_tcb))
		return -EINVAL;
	if (find_slot(t, k, key_hash(t, k), &bi, &s) != 0)
		return -ENOENT;
	b = &t->buckets[bi];
	v = b->val[s];
	ke = key_of(t, v);
	ke_new = key_of(t, value);
	if (tw != CODA_CONNTAB_IS_TW(v) &&
	    (tw ? t->cnt_tw : t->cnt_tcb) == (tw ? t->nb_tw : t->nb_tcb)) {
		STAT_ADD(t, enospc, 1);
		return -ENOSPC;
	}
	if (ke_new != ke && ke_new->family != 0)
		return -EBUSY;
	/*
	 * One change of the bucket: the key entry moves to the new index and
	 * the value switches, so a reader sees the old pair or the new one,
	 * never neither. Writing the new key entry inside this change is safe
	 * for readers still holding a stale slot that named the new index:
	 * the delete that freed it bumped that slot's bucket earlier in
	 * program order (the argument at bucket_begin()).
	 */
	bucket_begin(b);
	if (ke_new != ke) {
		for (i = 4; i > 0; i--)
			STORE(&ke_new->w[i], k->w[i]);
		STORE(&ke_new->w[0], k->w[0]);
		STORE(&ke->w[0], 0);
	}
	STORE(&b->val[s], value);
	bucket_end(b);
	if (tw && !CODA_CONNTAB_IS_TW(v)) {
		STORE(&t->cnt_tw, t->cnt_tw + 1);
		STORE(&t->cnt_tcb, t->cnt_tcb - 1);
	} else if (!tw && CODA_CONNTAB_IS_TW(v)) {
		STORE(&t->cnt_tcb, t->cnt_tcb + 1);
		STORE(&t->cnt_tw, t->cnt_tw - 1);
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

/* Bulk stage 2: scan the home bucket (prefetched) and prefetch the first candidate's key. */
static inline void
prefetch_key(const struct coda_conntab *t, uint64_t h)
{
	const struct bucket *b = &t->buckets[home_of(t, h)];
	uint32_t m = match_mask(b->sigw[0], b->sigw[1], sig_of(h));

	if (m != 0)
		prefetch_key_entry(key_of(t, b->val[__builtin_ctz(m)]));
}

unsigned int
coda_conntab_lookup_bulk(struct coda_conntab *t, const struct coda_conntab_key *const *keys,
			 unsigned int n, uint32_t *values, uint64_t *hit_mask)
{
	uint64_t h[CODA_CONNTAB_BURST_MAX];
	uint64_t mask = 0;
	unsigned int i, j, hits;

	if (n > CODA_CONNTAB_BURST_MAX)
		return 0;
	/*
	 * Three stages PF_DIST keys apart, so each cache miss has two stages
	 * of other keys' work to hide behind: (1) hash key i and prefetch its
	 * home bucket; (2) match the signature of key i - D in its bucket and
	 * prefetch the key entry it names; (3) resolve key i - 2D (both lines
	 * in cache now; a second candidate or a longer probe just reads on).
	 */
	for (i = 0; i < n + 2 * PF_DIST; i++) {
		if (i < n) {
			h[i] = key_hash(t, keys[i]);
			__builtin_prefetch(&t->buckets[home_of(t, h[i])], 0);
		}
		if (i >= PF_DIST && i - PF_DIST < n)
			prefetch_key(t, h[i - PF_DIST]);
		if (i >= 2 * PF_DIST && i - 2 * PF_DIST < n) {
			j = i - 2 * PF_DIST;
			if (lookup_hashed(t, keys[j], h[j], &values[j]) == 0)
				mask |= UINT64_C(1) << j;
			else
				values[j] = CODA_CONNTAB_NONE;
		}
	}
	hits = (unsigned int)__builtin_popcountll(mask);
	STAT_ADD(t, lookups, n);
	STAT_ADD(t, hits, hits);
	*hit_mask = mask;
	return hits;
}

int
coda_conntab_reader_lookup(const struct coda_conntab *t, const struct coda_conntab_key *k,
			   uint32_t *value)
{
	uint64_t h = key_hash(t, k), sig = sig_of(h);
	uint32_t bi = home_of(t, h), d, m, s, v = 0, ovf;
	const struct coda_conntab_key *ke;
	bool found;

	/*
	 * Each bucket is read consistently on its own; entries never move,
	 * and an entry counts in the ovf of every bucket its probe passed
	 * before its slot for as long as it is in the table, so a key present
	 * throughout is reached (coda_conntab_reader_lookup() in the header).
	 * The ovf read with a bucket is consistent with that bucket's slots.
	 */
	for (d = 0; d < t->nb_buckets; d++) {
		const struct bucket *b = &t->buckets[bi];

		do {
			s = reader_begin(b);
			found = false;
			ovf = LOAD(&b->ovf);
			m = match_mask(LOAD(&b->sigw[0]), LOAD(&b->sigw[1]), sig);
			for (; m != 0; m &= m - 1) {
				v = LOAD(&b->val[__builtin_ctz(m)]);
				ke = key_of_checked(t, v);
				if (ke != NULL && key_equal_atomic(ke, k)) {
					found = true;
					break;
				}
			}
		} while (!reader_end(b, s));
		if (found) {
			*value = v;
			return 0;
		}
		if (ovf == 0)
			break;
		bi = next_bucket(t, bi, step_of(t, h));
	}
	return -ENOENT;
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
	const struct coda_conntab_key *ke;
	uint32_t s, seq, m, v, w;

	do {
		seq = reader_begin(b);
		it->n = 0;
		m = ~match_mask(LOAD(&b->sigw[0]), LOAD(&b->sigw[1]), 0) & 0xff;
		for (; m != 0; m &= m - 1) {
			s = (uint32_t)__builtin_ctz(m);
			v = LOAD(&b->val[s]);
			ke = key_of_checked(t, v);
			if (ke == NULL)
				continue; /* torn: reader_end() fails */
			for (w = 0; w < 5; w++)
				it->key[it->n].w[w] = LOAD(&ke->w[w]);
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
}

static uint64_t
keys_in_use(const struct coda_conntab_key *keys, uint32_t n)
{
	uint64_t c = 0;

	for (uint32_t i = 0; i < n; i++)
		c += keys[i].family != 0;
	return c;
}

int
coda_conntab_audit(const struct coda_conntab *t)
{
	uint32_t *ovf = calloc(t->nb_buckets, sizeof(*ovf));
	uint64_t n_tcb = 0, n_tw = 0, h;
	const struct coda_conntab_key *ke;
	const struct bucket *b;
	uint32_t bi, s, v, j, d;
	int rc = -EFAULT;

	if (ovf == NULL)
		return -ENOMEM;
	for (bi = 0; bi < t->nb_buckets; bi++) {
		b = &t->buckets[bi];
		if (b->seq & 1)
			goto err;
		for (s = 0; s < SLOTS; s++) {
			uint64_t sig = (b->sigw[s / 4] >> (16 * (s % 4))) & 0xffff;

			if (sig == 0)
				continue;
			v = b->val[s];
			ke = key_of_checked(t, v);
			if (ke == NULL || (ke->family != AF_INET && ke->family != AF_INET6))
				goto err;
			h = key_hash(t, ke);
			if (sig_of(h) != sig)
				goto err;
			for (j = home_of(t, h), d = 0; j != bi; d++) {
				if (d == t->nb_buckets)
					goto err;
				ovf[j]++;
				j = next_bucket(t, j, step_of(t, h));
			}
			if (CODA_CONNTAB_IS_TW(v))
				n_tw++;
			else
				n_tcb++;
		}
	}
	for (bi = 0; bi < t->nb_buckets; bi++)
		if (ovf[bi] != t->buckets[bi].ovf)
			goto err;
	/* Each slot's key in use, as many keys in use as slots: no index is named twice. */
	if (n_tcb != t->cnt_tcb || n_tw != t->cnt_tw ||
	    keys_in_use(t->keys_tcb, t->nb_tcb) != n_tcb ||
	    keys_in_use(t->keys_tw, t->nb_tw) != n_tw)
		goto err;
	rc = 0;
err:
	free(ovf);
	return rc;
}
