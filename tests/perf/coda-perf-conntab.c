/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coda-perf-conntab: coda_conntab beside DPDK's rte_hash, in one run.
 *
 *   coda-perf-conntab [EAL args] -- [--sizes 1000000,10000000] [--load 0.85]
 *                     [--repeat 3] [--burst 32] [--json FILE] [--seed S] [--ipv6]
 *                     [--tw 10000000]
 *
 * A benchmark, not a test (STYLE.md): it prints figures and ratios and
 * asserts no timing goal. It does check correctness as it goes (every
 * insert succeeds, every hit returns its value, every miss misses, every
 * delete finds its key, the counts match) and exits non-zero when something
 * is wrong, because a figure from a broken run means nothing.
 *
 * Implementations, measured in the same process on the same keys:
 *   coda_conntab  lib/conntab (the subject), capacity nb_tcb = N, nb_tw = 0:
 *                 1.2 slots per entry of capacity, so N entries fill the
 *                 index to about 83%.
 *   rte_hash      DPDK's cuckoo hash in its best configuration for this use:
 *                 key_len 40 (struct coda_conntab_key), hash_func
 *                 rte_hash_crc (SSE4.2 CRC32, seeded through
 *                 hash_func_init_val), extra_flag RW_CONCURRENCY_LF |
 *                 EXT_TABLE (lock-free readers like coda_conntab's; the
 *                 extendable buckets make every insert up to `entries`
 *                 succeed), entries = N / --load (rte_hash rounds its
 *                 buckets up to a power of two), SOCKET_ID_ANY; values
 *                 stored as the data pointer (rte_hash_add_key_data).
 *
 * Keys: 3N distinct IPv4 4-tuples, both addresses in 198.18.0.0/15, ports
 * random: key i takes its bits from a bijective 64-bit mix of (i + a
 * seeded offset), so distinct i give distinct keys by construction (with
 * --ipv6: IPv6 4-tuples in 2001:db8::/32, the same way; both tables hash
 * and compare all 40 bytes whatever the family, so expect the same). Keys
 * 0 .. N-1 are inserted with value i (the TCB index); keys N .. 2N-1 are
 * never inserted (the misses); keys 2N .. 3N-1 replace the first N for a
 * while in the churn phase.
 *
 * Each timed phase reads its keys from a stream array already laid out in
 * the phase's order (built untimed from a fresh Fisher-Yates permutation of
 * the keys, one per phase and repeat), as packets would arrive: the stream
 * is read sequentially, the table is accessed at random. Both
 * implementations run each phase on the same stream, one after the other.
 * Phases of one repeat, each reporting wall time (CLOCK_MONOTONIC) / keys:
 *
 *   1. insert      N keys into the empty table, value = the key's index
 *                  (coda_conntab_insert; rte_hash_add_key_data)
 *   2. burst hits  all N keys in bursts of --burst
 *                  (coda_conntab_lookup_bulk; rte_hash_lookup_bulk_data),
 *                  every value checked; also reported as Mkeys/s
 *   3. burst miss  N keys never inserted, same bursts, every one must miss
 *   4. single hit  all N keys one call each (coda_conntab_lookup;
 *                  rte_hash_lookup_data), every value checked
 *   5. delete      all N keys (coda_conntab_delete; rte_hash_del_key plus
 *                  rte_hash_free_key_with_position, which RW_CONCURRENCY_LF
 *                  requires to recycle the key slot: its caller pays it
 *                  after a grace period, coda_conntab frees at once)
 *   5a. SYN pattern   all N keys again, in bursts of --burst, each burst
 *                  looked up first (all must miss), then each key inserted
 *                  (the datapath's order: a SYN is looked up with its rx
 *                  burst, then its connection inserted); ns per key, both
 *                  calls timed
 *   5b. close pattern all N keys in bursts, looked up (all must hit), then
 *                  each deleted (a segment that ends its connection); the
 *                  table is empty again
 *   5c. churn      the N keys inserted again, untimed; then, in a random
 *                  order, each key deleted and a key never used before
 *                  (keys 2N .. 3N-1) inserted with its value, then the
 *                  other way round: ns per (delete, insert) pair, 2N
 *                  pairs. The table holds the same keys and values after,
 *                  in the places churn gives them: a table filled once has
 *                  fewer keys past their home bucket than one that has
 *                  turned its connections over.
 *   5d. burst hits after churn, in 5c's order, every value checked
 *   5e. burst misses after churn, keys N .. 2N-1; then the table is
 *                  emptied, untimed
 *
 * The reported figure is the median of --repeat repeats. Each table is
 * created once per size and emptied by phase 5, so every repeat starts
 * from an empty table that has been used before.
 *
 * Memory, not timed (better = lower):
 *   6. index bytes per entry, keys excluded: coda_conntab's stats
 *      index_bytes / N (the buckets; its 40-byte key array is left out).
 *      rte_hash has no memsize call in 22.11: its figure is the bytes the
 *      EAL heap allocated for it (rte_malloc_get_socket_stats, summed over
 *      sockets, delta around rte_hash_create) minus 40 bytes per key slot
 *      (entries + 1 slots, the key bytes of its key store), over N. What is
 *      left is its buckets, extendable buckets, rings and the 8-byte data
 *      pointer of each key slot.
 *   7. resident memory, all in: the growth of the process's resident set
 *      (/proc/self/statm) from before creating the table to after
 *      inserting N keys (the first repeat's phase 1), in MB (10^6 bytes),
 *      keys included for both. rte_hash is created only after
 *      coda_conntab's first fill, so neither figure holds the other. The
 *      EAL's memory is untouched until used (--no-huge: anonymous memory;
 *      the EAL's malloc does not write what it hands out), and each size's
 *      rte_hash is kept until the end, so no rte_hash reuses pages another
 *      one touched. coda_conntab touches its whole allocation at creation.
 *
 * Memory floor, printed after each size's table, not reported (nothing is
 * there to compare it with; memory_floor() has the details): what a burst
 * lookup of the same stream, in the same bursts, cannot go below on this
 * machine, for a table whose hit reads one random cache line of an index
 * as large as coda_conntab's, and for one whose hit reads that line and
 * then a second one it names in an array as large as the key array (as
 * coda_conntab's does). It hashes and reads lines, nothing else, and prints
 * the least of FLOOR_PASSES passes.
 *
 * Fairness: coda_conntab allocates with aligned_alloc and asks for
 * transparent huge pages (MADV_HUGEPAGE). Under --no-huge the EAL's memory
 * is plain anonymous memory on 4 KiB pages, so this program asks for
 * transparent huge pages on every EAL memory segment list too, before any
 * table exists; with real hugepages (enough for the sizes) nothing is
 * needed. Every operation is a real call into another translation unit or
 * DPDK's library. Both sides do the same work per key around the call: take
 * the next key from the stream and compare the value with the expected one.
 *
 * TIME-WAIT store (--tw N, 0 to skip; once, after the sizes): N IPv4
 * connections towards one local address enter TIME-WAIT, then all expire.
 *   coda_conntab   a table of nb_tw = N (nb_tcb = 1): coda_conntab_tw_enter()
 *                  with `now` stepping through one minute of virtual time
 *                  (ms) as the N enter, expiry now + 60 s; then the clock
 *                  jumps past the last expiry and coda_conntab_tw_expire()
 *                  (256 a call) ends them all (key deleted, entry freed).
 *   baseline       what a DPDK user would build from DPDK's parts: rte_hash
 *                  as above (key -> entry) and, per entry, a struct
 *                  rte_timer beside the same struct coda_conntab_tw state,
 *                  in one calloc'd array. Enter = rte_hash_add_key_data +
 *                  rte_timer_reset(60 s ... here 1 + i cycles, see below,
 *                  SINGLE). Expire: rte_timer_manage() until all N callbacks
 *                  ran, each deleting its key from the rte_hash (and freeing
 *                  the key slot). rte_timer runs on the TSC, so its timers
 *                  are set 1 + i cycles ahead (all due once the fill ends,
 *                  in entering order: the same order as coda's) instead of
 *                  60 s: its arming cost is the same for any delay in the
 *                  same order.
 *   Reported: ns per entry to enter and to expire, and the resident memory
 *   of N entries all in (RSS growth from before creating the structures to
 *   after the last entered, in MB) and per entry (bytes), measured with
 *   the connection keys generated on the fly (no key array in the RSS).
 *   Both sides check every return code and end with empty structures.
 *
 * Before measuring, coda_conntab runs a self-check of some 20000 random
 * operations (insert, delete, replace, single and bulk lookup) against a
 * trivial model, with coda_conntab_audit() at the end.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
/*
 * rte_hash.h pulls in rte_ring_elem_pvt.h, which tests GCC_VERSION with #if
 * where only gcc defines it: clang's -Wundef (this project's warnings) fails
 * on DPDK 22.11's header, not on this file.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <rte_hash.h>
#pragma GCC diagnostic pop
#include <rte_hash_crc.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>
#include <rte_timer.h>

#include "bench.h"
#include "coda_conntab.h"

#ifndef BENCH_BUILD_INFO
#define BENCH_BUILD_INFO "unknown build"
#endif

#define PROG "coda-perf-conntab"
#define fail(...) bench_fail(PROG, __VA_ARGS__)
#define MAX_SIZES 8
#define MAX_REPEAT 15
#define KEY_LEN ((uint32_t)sizeof(struct coda_conntab_key))
#define SELF_CHECK_KEYS 1024u
#define SELF_CHECK_OPS 20000u
#define MB 1e6

enum op {
	OP_INSERT,
	OP_BURST_HIT,
	OP_BURST_HIT_RATE,
	OP_BURST_MISS,
	OP_SINGLE_HIT,
	OP_DELETE,
	OP_INSERT_AFTER_LOOKUP,
	OP_DELETE_AFTER_LOOKUP,
	OP_CHURN,
	OP_BURST_HIT_CHURNED,
	OP_BURST_MISS_CHURNED,
	OP_INDEX_BYTES,
	OP_RESIDENT,
	NB_OP,
};

/* The timed phases come first; OP_BURST_HIT_RATE is derived from OP_BURST_HIT. */
#define NB_TIMED (OP_BURST_MISS_CHURNED + 1)

static const char *const op_metric[NB_OP] = {
	[OP_INSERT] = "insert into empty table",
	[OP_BURST_HIT] = "burst lookup, hits",
	[OP_BURST_HIT_RATE] = "burst lookup, hits, rate",
	[OP_BURST_MISS] = "burst lookup, misses",
	[OP_SINGLE_HIT] = "single lookup, hits",
	[OP_DELETE] = "delete all",
	[OP_INSERT_AFTER_LOOKUP] = "burst lookup (misses) then insert, the SYN pattern",
	[OP_DELETE_AFTER_LOOKUP] = "burst lookup (hits) then delete, the close pattern",
	[OP_CHURN] = "churn: delete a key, insert a new one",
	[OP_BURST_HIT_CHURNED] = "burst lookup, hits, after churn",
	[OP_BURST_MISS_CHURNED] = "burst lookup, misses, after churn",
	[OP_INDEX_BYTES] = "index bytes per entry, 40-B keys excluded",
	[OP_RESIDENT] = "resident memory, all in (RSS delta)",
};

static const char *const op_unit[NB_OP] = {
	[OP_INSERT] = "ns/op",
	[OP_BURST_HIT] = "ns/key",
	[OP_BURST_HIT_RATE] = "Mkeys/s",
	[OP_BURST_MISS] = "ns/key",
	[OP_SINGLE_HIT] = "ns/op",
	[OP_DELETE] = "ns/op",
	[OP_INSERT_AFTER_LOOKUP] = "ns/key",
	[OP_DELETE_AFTER_LOOKUP] = "ns/key",
	[OP_CHURN] = "ns/pair",
	[OP_BURST_HIT_CHURNED] = "ns/key",
	[OP_BURST_MISS_CHURNED] = "ns/key",
	[OP_INDEX_BYTES] = "B/entry",
	[OP_RESIDENT] = "MB",
};

enum impl {
	IMPL_CODA,
	IMPL_RTE,
	NB_IMPL,
};

static const char *const impl_name[NB_IMPL] = {
	[IMPL_CODA] = "coda_conntab",
	[IMPL_RTE] = "rte_hash",
};

struct options {
	uint32_t sizes[MAX_SIZES];
	unsigned int nb_sizes;
	double load;
	unsigned int repeat;
	unsigned int burst;
	const char *json;
	uint64_t seed;
	bool ipv6;
	uint32_t tw;
};

/* The keys of one size and the stream of one phase, shared by both sides. */
struct workload {
	uint32_t n;
	struct coda_conntab_key *keys; /* 2N: hits 0 .. N-1, misses N .. 2N-1 */
	struct coda_conntab_key *stream; /* N keys in the phase's order */
	uint32_t *want;			 /* the value expected for stream[j] */
	uint32_t *perm;
};

/* The rte_hash tables, kept until the end (see "resident memory" above); the last for TIME-WAIT. */
static struct rte_hash *rte_tables[MAX_SIZES];

/* Resident set size in bytes (second field of /proc/self/statm). */
static uint64_t
rss_bytes(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Bytes allocated from the EAL heaps, all sockets. */
static uint64_t
eal_heap_bytes(void)
{
	struct rte_malloc_socket_stats st;
	unsigned int i;
	uint64_t sum = 0;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static int
madvise_msl(const struct rte_memseg_list *msl, void *arg)
{
	unsigned int *count = arg;

	if (msl->external || msl->base_va == NULL || msl->len == 0)
		return 0;
#ifdef MADV_HUGEPAGE
	if (madvise(msl->base_va, msl->len, MADV_HUGEPAGE) == 0)
		(*count)++;
#endif
	return 0;
}

/* The splitmix64 finaliser: a bijection of 64-bit words. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/*
 * Key i: 64 bits of mix64(offset + i), distinct for distinct i, spread over
 * 17 host bits of each address in 198.18.0.0/15, 16 bits of the remote port
 * and 14 of the local port (its top 2 bits are random, which keeps keys
 * distinct).
 */
static void
make_key(struct coda_conntab_key *k, uint64_t offset, uint64_t i, struct bench_rng *rng)
{
	uint64_t x = mix64(offset + i);
	uint64_t y = bench_rng_next(rng);
	uint32_t base = UINT32_C(198) << 24 | UINT32_C(18) << 16;
	uint32_t la = base | (uint32_t)(x & 0x1ffff);
	uint32_t ra = base | (uint32_t)((x >> 17) & 0x1ffff);
	uint16_t rp = (uint16_t)(x >> 34);
	uint16_t lp = (uint16_t)(((x >> 50) & 0x3fff) | ((y >> 62) << 14));

	coda_conntab_key_v4(k, htonl(la), htons(lp), htonl(ra), htons(rp));
}

/*
 * IPv6 key i (--ipv6): both addresses in 2001:db8::/32, the remote one's
 * low 64 bits mix64(offset + i) (distinct), the rest and the ports random.
 */
static void
make_key_v6(struct coda_conntab_key *k, uint64_t offset, uint64_t i, struct bench_rng *rng)
{
	uint8_t la[16] = {0x20, 0x01, 0x0d, 0xb8}, ra[16] = {0x20, 0x01, 0x0d, 0xb8};
	uint64_t x = mix64(offset + i), y = bench_rng_next(rng), z = bench_rng_next(rng);
	uint32_t lp = (uint32_t)z, rp = (uint32_t)(z >> 16), r32 = (uint32_t)(z >> 32);

	memcpy(la + 4, &r32, 4);
	memcpy(la + 8, &y, 8);
	memcpy(ra + 4, &r32, 4);
	memcpy(ra + 8, &x, 8);
	coda_conntab_key_v6(k, la, (uint16_t)lp, ra, (uint16_t)rp);
}

static void
workload_free(struct workload *wl)
{
	bench_free(wl->keys);
	bench_free(wl->stream);
	bench_free(wl->want);
	bench_free(wl->perm);
	memset(wl, 0, sizeof(*wl));
}

static int
workload_make(struct workload *wl, uint32_t n, bool ipv6, struct bench_rng *rng)
{
	uint64_t offset = bench_rng_next(rng);
	uint64_t i;

	memset(wl, 0, sizeof(*wl));
	wl->n = n;
	wl->keys = bench_alloc_prefault(3 * (size_t)n * sizeof(*wl->keys));
	wl->stream = bench_alloc_prefault((size_t)n * sizeof(*wl->stream));
	wl->want = bench_alloc_prefault((size_t)n * sizeof(*wl->want));
	wl->perm = bench_alloc_prefault((size_t)n * sizeof(*wl->perm));
	if (wl->keys == NULL || wl->stream == NULL || wl->want == NULL || wl->perm == NULL) {
		workload_free(wl);
		return fail("workload", "cannot allocate the keys for N=%u", n);
	}
	for (i = 0; i < 3 * (uint64_t)n; i++)
		(ipv6 ? make_key_v6 : make_key)(&wl->keys[i], offset, i, rng);
	return 0;
}

/* Lay out the stream: keys first + perm[j] in a fresh random order. */
static void
stream_make(struct workload *wl, uint32_t first, struct bench_rng *rng)
{
	uint32_t j;

	bench_permutation_u32(wl->perm, wl->n, rng);
	for (j = 0; j < wl->n; j++) {
		wl->stream[j] = wl->keys[first + wl->perm[j]];
		wl->want[j] = wl->perm[j];
	}
}

/*
 * rte_hash's delete as its lock-free mode requires it: the key, then its
 * key slot (which RW_CONCURRENCY_LF leaves to the caller).
 */
static inline bool
rte_delete(struct rte_hash *rh, const void *key)
{
	int32_t pos = rte_hash_del_key(rh, key);

	return pos >= 0 && rte_hash_free_key_with_position(rh, pos) == 0;
}

/* Insert k with value v, and delete k, in either table (the churn and its untimed fill). */
static inline bool
table_insert(enum impl im, void *table, const struct coda_conntab_key *k, uint32_t v)
{
	return im == IMPL_CODA ? coda_conntab_insert(table, k, v) == 0
			       : rte_hash_add_key_data(table, k, (void *)(uintptr_t)v) == 0;
}

static inline bool
table_delete(enum impl im, void *table, const struct coda_conntab_key *k)
{
	return im == IMPL_CODA ? coda_conntab_delete(table, k, NULL) == 0 : rte_delete(table, k);
}

/* One timed phase of one implementation over the current stream; ns per key. */
static int
run_phase(enum impl im, enum op op, void *table, const struct workload *wl, unsigned int burst,
	  double *ns)
{
	const struct coda_conntab_key *kp[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint32_t vals[RTE_HASH_LOOKUP_BULK_MAX];
	struct coda_conntab *ct = table;
	struct rte_hash *rh = table;
	uint32_t n = wl->n, j, bad = 0, hits = 0;
	uint64_t t0, t1, mask;
	unsigned int b, m;
	int rc;

	/* The churn starts from a full table, filled untimed from its stream. */
	if (op == OP_CHURN)
		for (j = 0; j < n; j++)
			bad += !table_insert(im, table, &wl->stream[j], wl->want[j]);
	t0 = bench_now_ns();
	switch (op) {
	case OP_INSERT:
		if (im == IMPL_CODA) {
			for (j = 0; j < n; j++)
				bad += coda_conntab_insert(ct, &wl->stream[j],
							   CODA_CONNTAB_VALUE_TCB(wl->want[j])) != 0;
		} else {
			for (j = 0; j < n; j++)
				bad += rte_hash_add_key_data(rh, &wl->stream[j],
							     (void *)(uintptr_t)wl->want[j]) != 0;
		}
		break;
	case OP_BURST_HIT:
	case OP_BURST_MISS:
	case OP_BURST_HIT_CHURNED:
	case OP_BURST_MISS_CHURNED: {
		bool hit = op == OP_BURST_HIT || op == OP_BURST_HIT_CHURNED;

		for (j = 0; j < n; j += m) {
			m = n - j < burst ? n - j : burst;
			for (b = 0; b < m; b++)
				kp[b] = &wl->stream[j + b];
			if (im == IMPL_CODA) {
				hits += coda_conntab_lookup_bulk(ct, kp, m, vals, &mask);
				if (hit)
					for (b = 0; b < m; b++)
						bad += vals[b] != wl->want[j + b];
			} else {
				rc = rte_hash_lookup_bulk_data(rh, (const void **)kp, m, &mask,
							       data);
				if (rc < 0) {
					bad++;
					mask = 0;
				}
				hits += rc > 0 ? (uint32_t)rc : 0;
				if (hit)
					for (b = 0; b < m; b++)
						bad += (uint32_t)(uintptr_t)data[b] !=
						       wl->want[j + b];
			}
			bad += hit ? mask != (m == 64 ? UINT64_MAX : (UINT64_C(1) << m) - 1)
				   : mask != 0;
		}
		break;
	}
	case OP_CHURN:
		/*
		 * Every key replaced by a new one (its TCB index reused), then
		 * back: the table holds the same keys and values after, in the
		 * places a table under churn gives them.
		 */
		for (b = 0; b < 2; b++) {
			for (j = 0; j < n; j++) {
				const struct coda_conntab_key *out = &wl->stream[j];
				const struct coda_conntab_key *in = &wl->keys[2 * (size_t)n + wl->perm[j]];

				if (b == 1) {
					out = in;
					in = &wl->stream[j];
				}
				if (im == IMPL_CODA) {
					uint32_t v;

					bad += coda_conntab_delete(ct, out, &v) != 0 || v != wl->want[j];
				} else {
					bad += !rte_delete(rh, out);
				}
				bad += !table_insert(im, table, in, wl->want[j]);
			}
		}
		break;
	case OP_SINGLE_HIT:
		if (im == IMPL_CODA) {
			for (j = 0; j < n; j++) {
				uint32_t v;

				bad += coda_conntab_lookup(ct, &wl->stream[j], &v) != 0 ||
				       v != wl->want[j];
			}
		} else {
			for (j = 0; j < n; j++) {
				void *v;

				bad += rte_hash_lookup_data(rh, &wl->stream[j], &v) < 0 ||
				       (uint32_t)(uintptr_t)v != wl->want[j];
			}
		}
		break;
	case OP_DELETE:
		if (im == IMPL_CODA) {
			for (j = 0; j < n; j++) {
				uint32_t v;

				bad += coda_conntab_delete(ct, &wl->stream[j], &v) != 0 ||
				       v != wl->want[j];
			}
		} else {
			for (j = 0; j < n; j++)
				bad += !rte_delete(rh, &wl->stream[j]);
		}
		break;
	case OP_INSERT_AFTER_LOOKUP:
	case OP_DELETE_AFTER_LOOKUP:
		/*
		 * What the datapath does with a burst: look every key up, then
		 * insert the new ones (SYNs) or delete the ones that close,
		 * while their lines are still in cache. Both calls timed.
		 */
		for (j = 0; j < n; j += m) {
			bool ins = op == OP_INSERT_AFTER_LOOKUP;

			m = n - j < burst ? n - j : burst;
			for (b = 0; b < m; b++)
				kp[b] = &wl->stream[j + b];
			if (im == IMPL_CODA) {
				hits = coda_conntab_lookup_bulk(ct, kp, m, vals, &mask);
				bad += hits != (ins ? 0 : m);
				for (b = 0; b < m; b++) {
					uint32_t v;

					if (ins)
						bad += coda_conntab_insert(ct, kp[b],
									   wl->want[j + b]) != 0;
					else
						bad += coda_conntab_delete(ct, kp[b], &v) != 0 ||
						       v != wl->want[j + b];
				}
			} else {
				rc = rte_hash_lookup_bulk_data(rh, (const void **)kp, m, &mask,
							       data);
				bad += rc != (int)(ins ? 0 : m);
				for (b = 0; b < m; b++)
					bad += ins ? rte_hash_add_key_data(
							     rh, kp[b],
							     (void *)(uintptr_t)wl->want[j + b]) != 0
						   : !rte_delete(rh, kp[b]);
			}
		}
		break;
	default:
		return fail(impl_name[im], "not a timed phase: %d", (int)op);
	}
	t1 = bench_now_ns();
	/* The last phase of a repeat empties the table again, untimed (keys 0 .. N-1). */
	if (op == OP_BURST_MISS_CHURNED)
		for (j = 0; j < n; j++)
			bad += !table_delete(im, table, &wl->keys[j]);
	if (bad != 0)
		return fail(impl_name[im], "%s, N=%u: %u keys went wrong", op_metric[op], n, bad);
	if (((op == OP_BURST_HIT || op == OP_BURST_HIT_CHURNED) && hits != n) ||
	    ((op == OP_BURST_MISS || op == OP_BURST_MISS_CHURNED) && hits != 0))
		return fail(impl_name[im], "%s, N=%u: %u hits", op_metric[op], n, hits);
	/* The churn replaces every key twice: 2N pairs. */
	*ns = (double)(t1 - t0) / (op == OP_CHURN ? 2.0 * n : n);
	return 0;
}

static uint32_t
table_count(enum impl im, void *table)
{
	if (im == IMPL_CODA)
		return coda_conntab_count(table);
	return (uint32_t)rte_hash_count(table);
}

/*
 * Self-check of coda_conntab: random operations on a small table against a
 * model (which key holds which value). Key k may take value TCB(k), so TCB
 * indices never clash, or go into TIME-WAIT (the table picks the entry;
 * the model records it); every outcome is known in advance.
 */
static int
self_check(uint64_t seed)
{
	struct coda_conntab_conf conf = {.nb_tcb = SELF_CHECK_KEYS,
					 .nb_tw = SELF_CHECK_KEYS,
					 .nb_tw6 = SELF_CHECK_KEYS,
					 .seed = seed};
	struct coda_conntab_tw tw = {.snd_nxt = 1, .rcv_nxt = 2};
	struct coda_conntab_key *keys;
	const struct coda_conntab_key *kp[CODA_CONNTAB_BURST_MAX];
	uint32_t model[SELF_CHECK_KEYS], vals[CODA_CONNTAB_BURST_MAX], v, want, count = 0;
	struct coda_conntab *t;
	struct bench_rng rng;
	uint64_t mask;
	unsigned int i, b, k, nb, hits;
	int rc, ret = -1;

	bench_rng_seed(&rng, seed ^ UINT64_C(0x5e1fc4ec));
	keys = calloc(SELF_CHECK_KEYS, sizeof(*keys));
	t = coda_conntab_create(&conf);
	if (keys == NULL || t == NULL) {
		fail("self-check", "cannot create a table");
		goto out;
	}
	for (k = 0; k < SELF_CHECK_KEYS; k++) {
		make_key(&keys[k], seed, k, &rng);
		model[k] = CODA_CONNTAB_NONE;
	}
	for (i = 0; i < SELF_CHECK_OPS; i++) {
		k = bench_rng_below(&rng, SELF_CHECK_KEYS);
		want = CODA_CONNTAB_VALUE_TCB(k);
		switch (bench_rng_below(&rng, 6)) {
		case 0:
			/* Into TIME-WAIT, from a TCB or from nothing. */
			rc = coda_conntab_tw_enter(t, &keys[k], &tw, 0, 60000, &v);
			if (rc != (model[k] != CODA_CONNTAB_NONE && CODA_CONNTAB_IS_TW(model[k]) ?
					   -EEXIST :
					   0) ||
			    (rc == 0 && !CODA_CONNTAB_IS_TW(v)))
				goto bad;
			if (rc == 0) {
				count += model[k] == CODA_CONNTAB_NONE;
				model[k] = v;
			}
			break;
		case 1:
			rc = coda_conntab_insert(t, &keys[k], want);
			if (rc != (model[k] == CODA_CONNTAB_NONE ? 0 : -EEXIST))
				goto bad;
			if (rc == 0) {
				model[k] = want;
				count++;
			}
			break;
		case 2:
			v = 0;
			rc = coda_conntab_delete(t, &keys[k], &v);
			if (rc != (model[k] == CODA_CONNTAB_NONE ? -ENOENT : 0) ||
			    (rc == 0 && v != model[k]))
				goto bad;
			if (rc == 0) {
				model[k] = CODA_CONNTAB_NONE;
				count--;
			}
			break;
		case 3:
			rc = coda_conntab_replace(t, &keys[k], want, &v);
			if (rc != (model[k] == CODA_CONNTAB_NONE ? -ENOENT : 0) ||
			    (rc == 0 && v != model[k]))
				goto bad;
			if (rc == 0)
				model[k] = want;
			break;
		default:
			nb = 1 + bench_rng_below(&rng, CODA_CONNTAB_BURST_MAX);
			for (b = 0; b < nb; b++)
				kp[b] = &keys[bench_rng_below(&rng, SELF_CHECK_KEYS)];
			hits = coda_conntab_lookup_bulk(t, kp, nb, vals, &mask);
			for (b = 0; b < nb; b++) {
				uint32_t m = model[kp[b] - keys];

				if (vals[b] != m || !!(mask >> b & 1) != (m != CODA_CONNTAB_NONE))
					goto bad;
				hits -= m != CODA_CONNTAB_NONE;
			}
			if (hits != 0 || (nb < 64 && mask >> nb != 0))
				goto bad;
			rc = coda_conntab_lookup(t, &keys[k], &v);
			if (rc != (model[k] == CODA_CONNTAB_NONE ? -ENOENT : 0) ||
			    (rc == 0 && v != model[k]))
				goto bad;
			break;
		}
		if (coda_conntab_count(t) != count)
			goto bad;
	}
	if (coda_conntab_audit(t) != 0) {
		fail("self-check", "coda_conntab_audit failed after %u operations", i);
		goto out;
	}
	printf("self-check: coda_conntab, %u random operations on %u keys against a model: ok\n",
	       SELF_CHECK_OPS, SELF_CHECK_KEYS);
	ret = 0;
	goto out;
bad:
	fail("self-check", "operation %u on key %u disagrees with the model (count %u/%u)", i, k,
	     coda_conntab_count(t), count);
out:
	coda_conntab_free(t);
	free(keys);
	return ret;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL args] -- [--sizes N[,N...]] [--load L] [--repeat R] "
		"[--burst B] [--json FILE] [--seed S] [--ipv6]\n"
		"  --sizes   entries per measurement (default 1000000,10000000)\n"
		"  --load    rte_hash entries = N / L (default 0.85)\n"
		"  --repeat  runs per figure, the median is reported (default 3, at most %d)\n"
		"  --burst   keys per bulk lookup (default 32, at most %d)\n"
		"  --json    also write the results as DESIGN.md section 10 JSON\n"
		"  --seed    PRNG seed (default 1)\n"
		"  --ipv6    IPv6 keys instead of IPv4\n"
		"  --tw      TIME-WAIT entries for the TIME-WAIT phase (default 10000000, 0: skip)\n",
		prog, MAX_REPEAT, RTE_HASH_LOOKUP_BULK_MAX);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"sizes", required_argument, NULL, 's'},
		{"load", required_argument, NULL, 'l'},
		{"repeat", required_argument, NULL, 'r'},
		{"burst", required_argument, NULL, 'b'},
		{"json", required_argument, NULL, 'j'},
		{"seed", required_argument, NULL, 'S'},
		{"ipv6", no_argument, NULL, '6'},
		{"tw", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long ul;
	int c, k;
	char *end;

	o->sizes[0] = 1000000;
	o->sizes[1] = 10000000;
	o->nb_sizes = 2;
	o->load = 0.85;
	o->repeat = 3;
	o->burst = 32;
	o->json = NULL;
	o->seed = 1;
	o->ipv6 = false;
	o->tw = 10000000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			k = bench_parse_u32_list(optarg, o->sizes, MAX_SIZES - 1);
			if (k < 0)
				return fail("options", "bad --sizes '%s'", optarg);
			o->nb_sizes = (unsigned int)k;
			break;
		case 'l':
			o->load = strtod(optarg, &end);
			if (*end != '\0' || !(o->load >= 0.1 && o->load <= 1.0))
				return fail("options", "bad --load '%s' (0.1 .. 1)", optarg);
			break;
		case 'r':
			ul = strtoul(optarg, &end, 10);
			if (*end != '\0' || ul < 1 || ul > MAX_REPEAT)
				return fail("options", "bad --repeat '%s'", optarg);
			o->repeat = (unsigned int)ul;
			break;
		case 'b':
			ul = strtoul(optarg, &end, 10);
			if (*end != '\0' || ul < 1 || ul > RTE_HASH_LOOKUP_BULK_MAX ||
			    ul > CODA_CONNTAB_BURST_MAX)
				return fail("options", "bad --burst '%s'", optarg);
			o->burst = (unsigned int)ul;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'S':
			o->seed = strtoull(optarg, &end, 0);
			if (*end != '\0')
				return fail("options", "bad --seed '%s'", optarg);
			break;
		case '6':
			o->ipv6 = true;
			break;
		case 'w':
			ul = strtoul(optarg, &end, 10);
			if (*end != '\0' || ul > CODA_CONNTAB_MAX_ENTRIES / 2)
				return fail("options", "bad --tw '%s'", optarg);
			o->tw = (uint32_t)ul;
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

/* The rte_hash of the idx-th size (see the head of this file for the parameters). */
static struct rte_hash *
rte_create(unsigned int idx, uint32_t n, const struct options *o, uint64_t *entries)
{
	struct rte_hash_parameters hp = {0};
	char name[RTE_HASH_NAMESIZE];
	uint64_t e = (uint64_t)((double)n / o->load + 0.5);

	if (e > UINT32_MAX / 2)
		e = UINT32_MAX / 2;
	snprintf(name, sizeof(name), "pc%u", idx);
	hp.name = name;
	hp.entries = (uint32_t)e;
	hp.key_len = KEY_LEN;
	hp.hash_func = rte_hash_crc;
	hp.hash_func_init_val = (uint32_t)mix64(o->seed ^ n);
	hp.socket_id = SOCKET_ID_ANY;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	*entries = e;
	rte_tables[idx] = rte_hash_create(&hp);
	if (rte_tables[idx] == NULL)
		fail("rte_hash", "cannot create %" PRIu64 " entries: %s (more EAL memory, -m?)", e,
		     rte_strerror(rte_errno));
	return rte_tables[idx];
}

/* Entries in a table after timed phase op of a repeat (the phases run in enum order). */
static uint32_t
phase_count(unsigned int op, uint32_t n)
{
	return op == OP_DELETE || op == OP_DELETE_AFTER_LOOKUP || op == OP_BURST_MISS_CHURNED ? 0 : n;
}

/* Where the floor's reads go, so that the compiler keeps them. */
static volatile uint64_t floor_sink;
/* Passes of each floor measurement; the least is printed (see memory_floor()). */
#define FLOOR_PASSES 3

/* A line of an array of `lines` lines, from 32 bits of x (multiply-shift, no division). */
static inline size_t
floor_line(uint64_t x, size_t lines)
{
	return (size_t)(((x & UINT32_MAX) * lines) >> 32) * (RTE_CACHE_LINE_SIZE / sizeof(uint64_t));
}

/* Hash the next burst of the stream from key j and prefetch each key's line of a1. */
static inline uint32_t
floor_burst(const struct workload *wl, const struct coda_conntab *ct, uint32_t j,
	    unsigned int burst, const uint64_t *a1, size_t n1, size_t *at)
{
	uint32_t b, m = wl->n - j < burst ? wl->n - j : burst;

	for (b = 0; b < m; b++) {
		at[b] = floor_line(coda_conntab_hash(ct, &wl->stream[j + b]), n1);
		rte_prefetch0(&a1[at[b]]);
	}
	return m;
}

/*
 * What this machine allows a burst lookup at this size, measured in the
 * same run. It is printed, not reported: nothing is there to compare it
 * with. Per key of the stream, in bursts of --burst as the lookups run:
 * the key's hash (coda_conntab_hash(), a call) and one random cache line of
 * an array as large as coda_conntab's index; the burst's lines are all
 * prefetched, then each is read. That is the least any table whose hit
 * reads one line can take here (*one). Then the same with a second line per
 * key, in an array as large as the key array, at a place the first line
 * names, a burst's second lines all prefetched in turn: the least for a hit
 * that reads a bucket and then the key it names, as coda_conntab's does
 * (*two). Neither compares a key, checks a value or probes further. Each
 * runs FLOOR_PASSES times over the stream and the least time counts: a
 * floor, so the pass least disturbed by the rest of the machine. Returns
 * -1, having printed why, when it cannot have its arrays: the figure is
 * only printed, so the benchmark goes on without it.
 */
static int
memory_floor(const struct workload *wl, const struct coda_conntab *ct, size_t index_bytes,
	     size_t key_bytes, unsigned int burst, double *one, double *two)
{
	size_t n1 = index_bytes / RTE_CACHE_LINE_SIZE, n2 = key_bytes / RTE_CACHE_LINE_SIZE;
	uint64_t *a1 = bench_alloc_prefault(index_bytes);
	uint64_t *a2 = bench_alloc_prefault(key_bytes);
	size_t at[RTE_HASH_LOOKUP_BULK_MAX], i;
	uint64_t sum = 0, t0;
	uint32_t j, m, b;
	unsigned int pass;
	int ret = -1;

	if (a1 == NULL || a2 == NULL || n1 == 0 || n2 == 0 || n1 > UINT32_MAX ||
	    n2 > UINT32_MAX) {
		printf("N=%u memory floor: skipped, cannot allocate %zu + %zu bytes\n", wl->n,
		       index_bytes, key_bytes);
		goto out;
	}
	/* Each line of the first array names a random line of the second. */
	for (i = 0; i < n1; i++)
		a1[i * (RTE_CACHE_LINE_SIZE / sizeof(uint64_t))] =
			floor_line(coda_conntab_hash(ct, &wl->keys[i % wl->n]) >> 32, n2);
	*one = *two = HUGE_VAL;
	for (pass = 0; pass < FLOOR_PASSES; pass++) {
		t0 = bench_now_ns();
		for (j = 0; j < wl->n; j += m) {
			m = floor_burst(wl, ct, j, burst, a1, n1, at);
			for (b = 0; b < m; b++)
				sum += a1[at[b] + 1];
		}
		*one = fmin(*one, (double)(bench_now_ns() - t0) / wl->n);
		t0 = bench_now_ns();
		for (j = 0; j < wl->n; j += m) {
			m = floor_burst(wl, ct, j, burst, a1, n1, at);
			for (b = 0; b < m; b++) {
				at[b] = a1[at[b]];
				rte_prefetch0(&a2[at[b]]);
			}
			for (b = 0; b < m; b++)
				sum += a2[at[b] + 1];
		}
		*two = fmin(*two, (double)(bench_now_ns() - t0) / wl->n);
	}
	floor_sink = sum;
	ret = 0;
out:
	bench_free(a1);
	bench_free(a2);
	return ret;
}

/* Measure one size (the idx-th); append its results to the report. */
static int
bench_size(unsigned int idx, const struct options *o, struct bench_rng *rng,
	   struct bench_report *rep)
{
	uint32_t n = o->sizes[idx];
	double samples[NB_IMPL][NB_TIMED][MAX_REPEAT], fig[NB_IMPL][NB_OP];
	struct coda_conntab_conf conf = {.nb_tcb = n, .nb_tw = 0, .seed = o->seed ^ n};
	struct coda_conntab_stats st;
	struct coda_conntab *ct = NULL;
	struct rte_hash *rh;
	void *table[NB_IMPL];
	struct workload wl;
	uint64_t rss0[NB_IMPL] = {0}, rss1[NB_IMPL] = {0}, heap0, heap_rte = 0, entries = 0;
	double floor1, floor2;
	uint64_t t0 = bench_now_ns();
	unsigned int r, op, im;
	int ret = -1;

	if (workload_make(&wl, n, o->ipv6, rng) < 0)
		return -1;

	rss0[IMPL_CODA] = rss_bytes();
	ct = coda_conntab_create(&conf);
	if (ct == NULL) {
		fail("coda_conntab", "cannot create N=%u: %s", n, strerror(errno));
		goto out;
	}

	table[IMPL_CODA] = ct;
	table[IMPL_RTE] = NULL;

	for (r = 0; r < o->repeat; r++) {
		for (op = 0; op < NB_TIMED; op++) {
			if (op == OP_BURST_HIT_RATE)
				continue;
			/*
			 * Churn and its lookups keep one stream: the churn's
			 * replacement keys follow its order (wl.perm).
			 */
			if (op != OP_BURST_HIT_CHURNED && op != OP_BURST_MISS_CHURNED)
				stream_make(&wl, op == OP_BURST_MISS ? n : 0, rng);
			else if (op == OP_BURST_MISS_CHURNED)
				stream_make(&wl, n, rng);
			for (im = 0; im < NB_IMPL; im++) {
				/*
				 * rte_hash is created after coda_conntab's first
				 * insert, so that each resident figure is the growth
				 * over its own creation and fill only.
				 */
				if (im == IMPL_RTE && table[IMPL_RTE] == NULL) {
					heap0 = eal_heap_bytes();
					rss0[IMPL_RTE] = rss_bytes();
					rh = rte_create(idx, n, o, &entries);
					if (rh == NULL)
						goto out;
					heap_rte = eal_heap_bytes() - heap0;
					table[IMPL_RTE] = rh;
				}
				if (run_phase((enum impl)im, (enum op)op, table[im], &wl, o->burst,
					      &samples[im][op][r]) < 0)
					goto out;
				if (op == OP_INSERT && r == 0)
					rss1[im] = rss_bytes();
				if (table_count((enum impl)im, table[im]) != phase_count(op, n)) {
					fail(impl_name[im], "%s, N=%u: %u entries, expected %u",
					     op_metric[op], n, table_count((enum impl)im, table[im]),
					     phase_count(op, n));
					goto out;
				}
				if (im == IMPL_CODA && op == OP_INSERT && r == 0)
					coda_conntab_stats(ct, &st);
			}
		}
	}
	if (coda_conntab_audit(ct) != 0) {
		fail("coda_conntab", "audit failed after N=%u", n);
		goto out;
	}
	for (im = 0; im < NB_IMPL; im++) {
		for (op = 0; op < NB_TIMED; op++)
			if (op != OP_BURST_HIT_RATE)
				fig[im][op] = bench_median(samples[im][op], o->repeat);
		fig[im][OP_BURST_HIT_RATE] = 1e3 / fig[im][OP_BURST_HIT];
	}
	fig[IMPL_CODA][OP_INDEX_BYTES] = (double)st.index_bytes / n;
	fig[IMPL_RTE][OP_INDEX_BYTES] =
		((double)heap_rte - (double)KEY_LEN * (double)(entries + 1)) / n;
	fig[IMPL_CODA][OP_RESIDENT] = (double)(rss1[IMPL_CODA] - rss0[IMPL_CODA]) / MB;
	fig[IMPL_RTE][OP_RESIDENT] = (double)(rss1[IMPL_RTE] - rss0[IMPL_RTE]) / MB;
	for (op = 0; op < NB_OP; op++) {
		char metric[128];

		snprintf(metric, sizeof(metric), "%s, N=%u%s", op_metric[op], n,
			 o->ipv6 ? ", IPv6" : "");
		if (bench_report_add(rep, metric, op_unit[op], fig[IMPL_CODA][op],
				     impl_name[IMPL_RTE], fig[IMPL_RTE][op],
				     op == OP_BURST_HIT_RATE ? BENCH_HIGHER : BENCH_LOWER) < 0) {
			fail("report", "figure for '%s' is not positive (%g vs %g)", metric,
			     fig[IMPL_CODA][op], fig[IMPL_RTE][op]);
			goto out;
		}
	}
	if (memory_floor(&wl, ct, st.index_bytes, st.key_bytes, o->burst, &floor1, &floor2) == 0)
		printf("N=%u memory floor of a burst lookup, bursts of %u: hash + 1 random line of "
		       "%.1f MB %.1f ns/key; + a 2nd line, of %.1f MB, that the 1st names %.1f "
		       "ns/key\n",
		       n, o->burst, (double)st.index_bytes / MB, floor1, (double)st.key_bytes / MB,
		       floor2);
	printf("N=%u measured in %.1f s; coda_conntab: %" PRIu64 " buckets, %.1f%% slot load, "
	       "longest probe %" PRIu64 ", index %.1f MB + keys %.1f MB; rte_hash: %" PRIu64
	       " entries asked, %.1f MB from the EAL heap\n",
	       n, (double)(bench_now_ns() - t0) / 1e9, st.buckets,
	       100.0 * n / ((double)st.buckets * CODA_CONNTAB_BUCKET_SLOTS), st.max_probe,
	       (double)st.index_bytes / MB, (double)st.key_bytes / MB, entries,
	       (double)heap_rte / MB);
	fflush(stdout);
	ret = 0;
out:
	coda_conntab_free(ct);
	workload_free(&wl);
	return ret;
}

/* --- TIME-WAIT store ---------------------------------------------------- */

/*
 * TIME-WAIT connection i (i < 2^33): local 198.18.0.1:443, remote
 * 198.18.0.0/15 (17 bits) and a port (16 bits) from a bijection of i over
 * 33 bits, so distinct i give distinct keys without storing them.
 */
static void
tw_key(struct coda_conntab_key *k, uint64_t seed, uint64_t i)
{
	const uint64_t mask = (UINT64_C(1) << 33) - 1;
	uint64_t x = (i * UINT64_C(0x9e3779b97) + seed) & mask;

	x ^= x >> 17;
	x = (x * UINT64_C(0x1d8e4e27d)) & mask;
	x ^= x >> 16;
	coda_conntab_key_v4(k, htonl(0xc6120001), htons(443),
			    htonl(0xc6120000 | (uint32_t)(x >> 16)), htons((uint16_t)x));
}

/* The baseline's TIME-WAIT entry: what a DPDK user would keep beside rte_hash. */
struct base_tw {
	struct rte_timer tim;
	struct coda_conntab_tw st;
	uint32_t i;
};

struct base_ctx {
	struct rte_hash *h;
	uint64_t seed;
	uint64_t fired;
	uint64_t errors;
};

static struct base_ctx base_ctx;

/* Expiry: the entry's key leaves the table (rte_timer callback). */
static void
base_expired(struct rte_timer *tim, void *arg)
{
	struct base_tw *e = arg;
	struct coda_conntab_key k;

	(void)tim;
	tw_key(&k, base_ctx.seed, e->i);
	if (!rte_delete(base_ctx.h, &k))
		base_ctx.errors++;
	base_ctx.fired++;
}

static int
bench_tw(const struct options *o, struct bench_report *rep)
{
	enum { TW_MS = 60000, EXPIRE_BATCH = 256 };
	const uint32_t n = o->tw;
	const uint64_t t_start = UINT64_C(1) << 40;
	struct coda_conntab_conf conf = {.nb_tcb = 1, .nb_tw = n, .seed = o->seed ^ 0x77, .now = t_start};
	struct coda_conntab_tw tw = {.rcv_wnd = 65535, .rcv_wscale = 7, .ts_on = 1};
	struct coda_conntab_key k;
	struct coda_conntab_stats st;
	struct coda_conntab *ct = NULL;
	struct base_tw *arr = NULL;
	struct rte_hash *rh = NULL;
	double fig[2][4];
	uint64_t rss0, rss1, t0, now = t_start, entries, ended = 0, errs = 0;
	unsigned int lcore = rte_lcore_id();
	uint32_t i, v;
	int ret = -1;

	/* coda_conntab */
	rss0 = rss_bytes();
	ct = coda_conntab_create(&conf);
	if (ct == NULL)
		return fail("coda_conntab", "cannot create a TIME-WAIT table of %u: %s", n,
			    strerror(errno));
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		now = t_start + (uint64_t)i * TW_MS / n;
		tw_key(&k, o->seed, i);
		tw.snd_nxt = i;
		tw.rcv_nxt = ~i;
		tw.ts_recent = i;
		tw.ts_recent_ms = now;
		errs += coda_conntab_tw_enter(ct, &k, &tw, now, now + TW_MS, &v) != 0;
	}
	fig[0][0] = (double)(bench_now_ns() - t0) / n;
	rss1 = rss_bytes();
	fig[0][2] = (double)(rss1 - rss0) / MB;
	fig[0][3] = (double)(rss1 - rss0) / n;
	coda_conntab_stats(ct, &st);
	if (errs != 0 || st.entries_tw != n || coda_conntab_audit(ct) != 0) {
		fail("coda_conntab", "TIME-WAIT fill: %" PRIu64 " errors, %" PRIu64 " entries of %u",
		     errs, st.entries_tw, n);
		goto out;
	}
	now = t_start + 2 * TW_MS + 5000;
	t0 = bench_now_ns();
	while (coda_conntab_tw_due(ct, now))
		ended += coda_conntab_tw_expire(ct, now, EXPIRE_BATCH);
	fig[0][1] = (double)(bench_now_ns() - t0) / n;
	if (ended != n || coda_conntab_count(ct) != 0 || coda_conntab_audit(ct) != 0) {
		fail("coda_conntab", "TIME-WAIT expiry: %" PRIu64 " ended of %u, %u left", ended, n,
		     coda_conntab_count(ct));
		goto out;
	}
	coda_conntab_free(ct);
	ct = NULL;

	/* rte_hash + rte_timer */
	rss0 = rss_bytes();
	rh = rte_create(MAX_SIZES - 1, n, o, &entries);
	arr = calloc(n, sizeof(*arr));
	if (rh == NULL || arr == NULL) {
		fail("baseline", "cannot allocate %u TIME-WAIT entries", n);
		goto out;
	}
	base_ctx.h = rh;
	base_ctx.seed = o->seed;
	base_ctx.fired = base_ctx.errors = 0;
	errs = 0;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		struct base_tw *e = &arr[i];

		now = t_start + (uint64_t)i * TW_MS / n;
		tw_key(&k, o->seed, i);
		e->i = i;
		e->st = tw;
		e->st.snd_nxt = i;
		e->st.rcv_nxt = ~i;
		e->st.ts_recent = i;
		e->st.ts_recent_ms = now;
		errs += rte_hash_add_key_data(rh, &k, e) != 0;
		rte_timer_init(&e->tim);
		errs += rte_timer_reset(&e->tim, 1 + (uint64_t)i, SINGLE, lcore, base_expired, e) !=
			0;
	}
	fig[1][0] = (double)(bench_now_ns() - t0) / n;
	rss1 = rss_bytes();
	fig[1][2] = (double)(rss1 - rss0) / MB;
	fig[1][3] = (double)(rss1 - rss0) / n;
	if (errs != 0 || rte_hash_count(rh) != (int32_t)n) {
		fail("baseline", "TIME-WAIT fill: %" PRIu64 " errors", errs);
		goto out;
	}
	t0 = rte_get_timer_cycles() + n + 2;
	while (rte_get_timer_cycles() <= t0)
		rte_pause();
	t0 = bench_now_ns();
	while (base_ctx.fired < n && bench_now_ns() - t0 < UINT64_C(120000000000))
		rte_timer_manage();
	fig[1][1] = (double)(bench_now_ns() - t0) / n;
	if (base_ctx.fired != n || base_ctx.errors != 0 || rte_hash_count(rh) != 0) {
		fail("baseline", "TIME-WAIT expiry: %" PRIu64 " fired of %u, %" PRIu64 " errors",
		     base_ctx.fired, n, base_ctx.errors);
		goto out;
	}
	{
		static const char *const metric[4] = {
			"TIME-WAIT enter (table + timer)",
			"TIME-WAIT expire (timer + table delete)",
			"TIME-WAIT resident memory, all in (RSS delta)",
			"TIME-WAIT bytes per entry, all in (RSS delta / N)",
		};
		static const char *const unit[4] = {"ns/op", "ns/op", "MB", "B/entry"};

		for (i = 0; i < 4; i++) {
			char m[128];

			snprintf(m, sizeof(m), "%s, N=%u", metric[i], n);
			if (bench_report_add(rep, m, unit[i], fig[0][i], "rte_hash+rte_timer",
					     fig[1][i], BENCH_LOWER) < 0) {
				fail("report", "figure for '%s' is not positive (%g vs %g)", m,
				     fig[0][i], fig[1][i]);
				goto out;
			}
		}
	}
	printf("TIME-WAIT N=%u: coda_conntab %.1f B/entry all in; rte_hash+rte_timer %.1f "
	       "B/entry (struct rte_timer %zu B, state %zu B)\n",
	       n, fig[0][3], fig[1][3], sizeof(struct rte_timer), sizeof(struct coda_conntab_tw));
	fflush(stdout);
	ret = 0;
out:
	coda_conntab_free(ct);
	free(arr);
	return ret;
}

static void
print_header(const struct options *o, unsigned int thp_lists)
{
	char machine[256], date[64];
	time_t t = time(NULL);
	unsigned int i;

	bench_machine(machine, sizeof(machine));
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	printf(PROG "  %s  machine: %s\n", date, machine);
	printf("N =");
	for (i = 0; i < o->nb_sizes; i++)
		printf("%s%u", i ? "," : " ", o->sizes[i]);
	printf("  %s keys  repeat %u (median)  burst %u  rte_hash load %.2f  seed %" PRIu64
	       "\n",
	       o->ipv6 ? "IPv6" : "IPv4", o->repeat, o->burst, o->load, o->seed);
	printf("rte_hash: hash rte_hash_crc, RW_CONCURRENCY_LF | EXT_TABLE; EAL memory: %s\n",
	       rte_eal_has_hugepages() ? "hugepages"
				       : thp_lists ? "--no-huge, transparent huge pages requested"
						   : "--no-huge, 4 KiB pages");
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
	struct bench_report rep;
	struct options o;
	struct bench_rng rng;
	unsigned int i, thp_lists = 0;
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
	if (rte_timer_subsystem_init() < 0) {
		fail("rte_timer", "cannot init: %s", rte_strerror(rte_errno));
		goto out;
	}
	/* Same page size request as coda_conntab's own allocation (see "Fairness"). */
	if (!rte_eal_has_hugepages())
		rte_memseg_list_walk(madvise_msl, &thp_lists);
	print_header(&o, thp_lists);
	if (self_check(o.seed) < 0)
		goto out;
	bench_rng_seed(&rng, o.seed);
	for (i = 0; i < o.nb_sizes; i++)
		if (bench_size(i, &o, &rng, &rep) < 0)
			goto out;
	if (o.tw > 0 && bench_tw(&o, &rep) < 0)
		goto out;
	if (bench_report_finish(&rep, PROG, "coda_conntab", o.json) < 0)
		goto out;
	ret = 0;
out:
	bench_report_free(&rep);
	for (i = 0; i < MAX_SIZES; i++)
		rte_hash_free(rte_tables[i]);
	rte_timer_subsystem_finalize();
	bench_eal_cleanup();
	return ret;
}
