/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/conntab.
 *
 * The reference model is the simplest one possible: keys are generated from
 * a dense key id (gen_key()), so the model is an array of the value each id
 * holds (or NONE). Random operation mixes are checked against it, bulk
 * lookups against single lookups, and coda_conntab_audit() checks the
 * table's own invariants (overflow counts, signatures, key arrays) along the
 * way. A reader thread checks the lock-free read side while the owner
 * mutates: values encode their key, so a torn or stale read shows.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "coda_conntab.h"
#include "test_rng.h"

#define NONE UINT32_MAX

static struct coda_conntab *
make_table(uint32_t nb_tcb, uint32_t nb_tw)
{
	struct coda_conntab_conf conf = { .nb_tcb = nb_tcb, .nb_tw = nb_tw, .seed = 42 };
	struct coda_conntab *t = coda_conntab_create(&conf);

	assert_non_null(t);
	return t;
}

/*
 * Key number `id`: a third IPv6, the rest IPv4, all towards one local
 * address and port, so keys differ only in the remote address's low bytes
 * and the remote port (many differ in a single bit). Benchmarking range
 * 198.18.0.0/15 and the documentation prefix 2001:db8::/32.
 */
static void
gen_key(struct coda_conntab_key *k, uint32_t id)
{
	uint8_t l6[16] = { 0x20, 0x01, 0x0d, 0xb8 }, r6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
	uint32_t host = id / 3;

	if (id % 3 == 0) {
		l6[15] = 1;
		r6[12] = (uint8_t)(host >> 24);
		r6[13] = (uint8_t)(host >> 16);
		r6[14] = (uint8_t)(host >> 8);
		r6[15] = (uint8_t)host;
		coda_conntab_key_v6(k, l6, htons(443), r6, htons((uint16_t)(id >> 20)));
	} else {
		coda_conntab_key_v4(k, htonl(0xc6120001), htons(443),
				    htonl(0xc6130000 + (id & 0xffff)), htons((uint16_t)(id >> 16)));
	}
}

static void
test_create_errors(void **state)
{
	struct coda_conntab_conf conf = { 0 };
	struct coda_conntab_stats st;
	struct coda_conntab *t;

	(void)state;
	errno = 0;
	assert_null(coda_conntab_create(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(coda_conntab_create(&conf));
	assert_int_equal(errno, EINVAL);
	conf.nb_tcb = CODA_CONNTAB_MAX_ENTRIES;
	conf.nb_tw = 1;
	errno = 0;
	assert_null(coda_conntab_create(&conf));
	assert_int_equal(errno, EINVAL);
	coda_conntab_free(NULL);

	/*
	 * Index memory: at most 9.6 bytes per entry of capacity, plus the
	 * rounding up to a prime bucket count (prime gaps below 2^32 are at
	 * most 336).
	 */
	t = make_table(1000000, 250000);
	coda_conntab_stats(t, &st);
	assert_true(st.index_bytes * 10 <=
		    (uint64_t)1250000 * CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY + 337 * 64 * 10);
	assert_true(st.index_bytes <= (uint64_t)1250000 * 20);
	assert_int_equal(st.key_bytes, (uint64_t)1250000 * sizeof(struct coda_conntab_key));
	assert_int_equal(coda_conntab_count(t), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

static void
test_insert_delete_errors(void **state)
{
	struct coda_conntab *t = make_table(16, 4);
	struct coda_conntab_key a, b, bad;
	uint32_t v;

	(void)state;
	gen_key(&a, 1);
	gen_key(&b, 2);
	bad = a;
	bad.family = 0;
	assert_int_equal(coda_conntab_insert(t, &bad, 0), -EINVAL);
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TCB(16)), -EINVAL);
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TW(4)), -EINVAL);
	assert_int_equal(coda_conntab_lookup(t, &a, &v), -ENOENT);
	assert_int_equal(coda_conntab_delete(t, &a, &v), -ENOENT);

	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TCB(3)), 0);
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TCB(3)), -EEXIST);
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TW(1)), -EEXIST);
	/* Index 3 is a's: another key may not take it, the TIME-WAIT index 3 is another index. */
	assert_int_equal(coda_conntab_insert(t, &b, CODA_CONNTAB_VALUE_TCB(3)), -EBUSY);
	assert_int_equal(coda_conntab_insert(t, &b, CODA_CONNTAB_VALUE_TW(3)), 0);
	assert_int_equal(coda_conntab_lookup(t, &a, &v), 0);
	assert_int_equal(v, CODA_CONNTAB_VALUE_TCB(3));
	assert_int_equal(coda_conntab_lookup(t, &b, &v), 0);
	assert_true(CODA_CONNTAB_IS_TW(v));
	assert_int_equal(CODA_CONNTAB_INDEX(v), 3);
	assert_int_equal(coda_conntab_count(t), 2);
	assert_int_equal(coda_conntab_audit(t), 0);

	v = 0;
	assert_int_equal(coda_conntab_delete(t, &a, &v), 0);
	assert_int_equal(v, CODA_CONNTAB_VALUE_TCB(3));
	assert_int_equal(coda_conntab_delete(t, &a, NULL), -ENOENT);
	assert_int_equal(coda_conntab_lookup(t, &a, &v), -ENOENT);
	/* The index is free again once its key is gone. */
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TCB(3)), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/* The value of a key in the model: TCB or TIME-WAIT index from the test's own free lists. */
struct model {
	uint32_t nkeys;
	uint32_t *val;	     /* per key id: its value, or NONE */
	uint32_t *free_tcb;  /* stacks of free indices */
	uint32_t *free_tw;
	uint32_t n_free_tcb;
	uint32_t n_free_tw;
	uint32_t present;
};

static void
model_init(struct model *m, uint32_t nkeys, uint32_t nb_tcb, uint32_t nb_tw)
{
	m->nkeys = nkeys;
	m->val = malloc(nkeys * sizeof(*m->val));
	m->free_tcb = malloc(nb_tcb * sizeof(uint32_t));
	m->free_tw = malloc((nb_tw + 1) * sizeof(uint32_t));
	assert_non_null(m->val);
	assert_non_null(m->free_tcb);
	assert_non_null(m->free_tw);
	for (uint32_t i = 0; i < nkeys; i++)
		m->val[i] = NONE;
	for (uint32_t i = 0; i < nb_tcb; i++)
		m->free_tcb[i] = nb_tcb - 1 - i;
	for (uint32_t i = 0; i < nb_tw; i++)
		m->free_tw[i] = nb_tw - 1 - i;
	m->n_free_tcb = nb_tcb;
	m->n_free_tw = nb_tw;
	m->present = 0;
}

static void
model_fini(struct model *m)
{
	free(m->val);
	free(m->free_tcb);
	free(m->free_tw);
}

/* Check a burst of random key ids against the model, bulk and single. */
static void
check_bulk(struct coda_conntab *t, const struct model *m, unsigned int n)
{
	struct coda_conntab_key keys[CODA_CONNTAB_BURST_MAX];
	const struct coda_conntab_key *kp[CODA_CONNTAB_BURST_MAX] = { NULL };
	uint32_t ids[CODA_CONNTAB_BURST_MAX], values[CODA_CONNTAB_BURST_MAX], v;
	uint64_t mask = ~UINT64_C(0);
	unsigned int i, hits = 0;

	for (i = 0; i < n; i++) {
		ids[i] = (uint32_t)rnd_below(m->nkeys);
		gen_key(&keys[i], ids[i]);
		kp[i] = &keys[i];
	}
	hits = coda_conntab_lookup_bulk(t, kp, n, values, &mask);
	assert_int_equal(hits, (unsigned int)__builtin_popcountll(mask));
	for (i = 0; i < n; i++) {
		bool hit = (mask >> i) & 1;
		int rc = coda_conntab_lookup(t, &keys[i], &v);

		assert_int_equal(hit, m->val[ids[i]] != NONE);
		assert_int_equal(rc, hit ? 0 : -ENOENT);
		assert_int_equal(values[i], m->val[ids[i]]);
		if (hit)
			assert_int_equal(v, values[i]);
	}
	if (n < 64)
		assert_int_equal(mask >> n, 0);
}

/* Walk the table: every entry exactly once, each as the model has it. */
static void
check_walk(const struct coda_conntab *t, const struct model *m,
	   uint32_t (*id_of)(const struct coda_conntab_key *))
{
	struct coda_conntab_iter it;
	struct coda_conntab_key k;
	uint8_t *seen = calloc(m->nkeys, 1);
	uint32_t v, n = 0, id;

	assert_non_null(seen);
	coda_conntab_iter_init(t, &it);
	while (coda_conntab_iter_next(t, &it, &k, &v) == 0) {
		id = id_of(&k);
		assert_true(id < m->nkeys);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		assert_int_equal(m->val[id], v);
		n++;
	}
	assert_int_equal(n, m->present);
	assert_int_equal(coda_conntab_iter_next(t, &it, &k, &v), -ENOENT);
	free(seen);
}

/* Inverse of gen_key(), by reading the fields back. */
static uint32_t
gen_id(const struct coda_conntab_key *k)
{
	uint32_t host;

	if (k->family == AF_INET6) {
		host = (uint32_t)k->raddr[12] << 24 | (uint32_t)k->raddr[13] << 16 |
		       (uint32_t)k->raddr[14] << 8 | k->raddr[15];
		return host * 3;
	}
	host = (uint32_t)k->raddr[2] << 8 | k->raddr[3];
	return (uint32_t)ntohs(k->rport) << 16 | host;
}

/*
 * Two million random inserts, deletes, replaces and lookups (single, reader
 * and bulk) over a key space 1.5 times the capacity, filled to capacity
 * (-ENOSPC) first, then churned at about half load, then drained, against
 * the model; audit and full walks along the way.
 */
static void
test_random_against_model(void **state)
{
	const uint32_t nb_tcb = 60000, nb_tw = 20000, nkeys = 3 * (nb_tcb + nb_tw) / 2;
	const unsigned int ops = 2000000;
	struct coda_conntab *t = make_table(nb_tcb, nb_tw);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	uint64_t enospc = 0, inserts = 0, deletes = 0, replaces = 0, lookups = 0, hits = 0;
	struct model m;
	uint32_t id, v, r;
	unsigned int op;
	int rc;

	(void)state;
	model_init(&m, nkeys, nb_tcb, nb_tw);
	/* gen_key()'s IPv4 ids must round-trip through gen_id() for the walk check. */
	for (id = 0; id < nkeys; id++) {
		gen_key(&k, id);
		if (k.family == AF_INET)
			assert_int_equal(gen_id(&k), id);
	}
	for (op = 0; op < ops; op++) {
		id = (uint32_t)rnd_below(nkeys);
		gen_key(&k, id);
		r = (uint32_t)rnd_below(100);
		/*
		 * Phases: fill up to capacity (70% inserts), churn at about
		 * half load (20% inserts, 10% replaces, 45% deletes), drain
		 * (deletes instead of inserts and replaces).
		 */
		if (op < ops / 4)
			r = r < 70 ? 0 : r;
		else if (op > 3 * (ops / 4))
			r = r < 30 ? 30 : r;
		if (r < 20) {
			bool tw = rnd_below(4) == 0;
			uint32_t *n_free = tw ? &m.n_free_tw : &m.n_free_tcb;
			uint32_t *fl = tw ? m.free_tw : m.free_tcb;

			if (m.val[id] != NONE) {
				v = tw ? CODA_CONNTAB_VALUE_TW(0) : 0;
				assert_int_equal(coda_conntab_insert(t, &k, v), -EEXIST);
			} else if (*n_free == 0) {
				/* Full for this type: any index is refused, and counted. */
				v = tw ? CODA_CONNTAB_VALUE_TW(rnd_below(nb_tw)) :
					 CODA_CONNTAB_VALUE_TCB(rnd_below(nb_tcb));
				assert_int_equal(coda_conntab_insert(t, &k, v), -ENOSPC);
				enospc++;
			} else {
				uint32_t idx = fl[--*n_free];

				v = tw ? CODA_CONNTAB_VALUE_TW(idx) : CODA_CONNTAB_VALUE_TCB(idx);
				assert_int_equal(coda_conntab_insert(t, &k, v), 0);
				m.val[id] = v;
				m.present++;
				inserts++;
			}
		} else if (r < 30) {
			/* Replace: a new index, of a random type (TCB <-> TIME-WAIT). */
			bool tw = rnd_below(2) == 0;
			uint32_t *n_free = tw ? &m.n_free_tw : &m.n_free_tcb;
			uint32_t *fl = tw ? m.free_tw : m.free_tcb;
			uint32_t old = NONE, nv;

			if (m.val[id] == NONE) {
				assert_int_equal(coda_conntab_replace(t, &k, 0, &old), -ENOENT);
				assert_int_equal(old, NONE);
			} else if (*n_free == 0) {
				nv = tw ? CODA_CONNTAB_VALUE_TW(0) : CODA_CONNTAB_VALUE_TCB(0);
				rc = coda_conntab_replace(t, &k, nv, &old);
				if (tw != CODA_CONNTAB_IS_TW(m.val[id])) {
					assert_int_equal(rc, -ENOSPC);
					enospc++;
				} else {
					/* Same type, all taken: only its own index is free. */
					assert_int_equal(rc, nv == m.val[id] ? 0 : -EBUSY);
					replaces += rc == 0;
				}
			} else {
				uint32_t idx = fl[--*n_free];

				nv = tw ? CODA_CONNTAB_VALUE_TW(idx) : CODA_CONNTAB_VALUE_TCB(idx);
				assert_int_equal(coda_conntab_replace(t, &k, nv, &old), 0);
				assert_int_equal(old, m.val[id]);
				if (CODA_CONNTAB_IS_TW(old))
					m.free_tw[m.n_free_tw++] = CODA_CONNTAB_INDEX(old);
				else
					m.free_tcb[m.n_free_tcb++] = old;
				m.val[id] = nv;
				replaces++;
			}
		} else if (r < 75) {
			rc = coda_conntab_delete(t, &k, &v);
			if (m.val[id] == NONE) {
				assert_int_equal(rc, -ENOENT);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(v, m.val[id]);
				if (CODA_CONNTAB_IS_TW(v))
					m.free_tw[m.n_free_tw++] = CODA_CONNTAB_INDEX(v);
				else
					m.free_tcb[m.n_free_tcb++] = v;
				m.val[id] = NONE;
				m.present--;
				deletes++;
			}
		} else if (r < 98) {
			rc = coda_conntab_lookup(t, &k, &v);
			lookups++;
			if (m.val[id] == NONE) {
				assert_int_equal(rc, -ENOENT);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(v, m.val[id]);
				hits++;
			}
			assert_int_equal(coda_conntab_reader_lookup(t, &k, &v), rc);
			if (rc == 0)
				assert_int_equal(v, m.val[id]);
		} else {
			check_bulk(t, &m, 1 + (unsigned int)rnd_below(CODA_CONNTAB_BURST_MAX));
		}
		if (op % 250000 == 0) {
			assert_int_equal(coda_conntab_audit(t), 0);
			check_walk(t, &m, gen_id);
		}
		assert_int_equal(coda_conntab_count(t), m.present);
	}
	assert_int_equal(coda_conntab_audit(t), 0);
	check_walk(t, &m, gen_id);
	coda_conntab_stats(t, &st);
	assert_true(enospc > 1000); /* the capacity path was exercised */
	assert_int_equal(st.enospc, enospc);
	assert_int_equal(st.inserts, inserts);
	assert_int_equal(st.deletes, deletes);
	assert_int_equal(st.replaces, replaces);
	assert_true(replaces > 10000);
	assert_true(st.lookups >= lookups);
	assert_true(st.hits >= hits);
	assert_int_equal(st.entries_tcb + st.entries_tw, m.present);
	print_message("random: %" PRIu64 " inserts, %" PRIu64 " deletes, %" PRIu64
		      " replaces, %" PRIu64 " -ENOSPC, max probe %" PRIu64 " buckets\n",
		      inserts, deletes, replaces, enospc, st.max_probe);
	model_fini(&m);
	coda_conntab_free(t);
}

/* Bulk lookup equals single lookups, hits and misses in the same burst, every burst size. */
static void
test_bulk_equals_single(void **state)
{
	const uint32_t nb = 5000, nkeys = 10000;
	struct coda_conntab *t = make_table(nb, nb);
	struct coda_conntab_key k, ks[CODA_CONNTAB_BURST_MAX + 1];
	const struct coda_conntab_key *kp[CODA_CONNTAB_BURST_MAX + 1];
	uint32_t values[CODA_CONNTAB_BURST_MAX + 1];
	uint64_t mask = 0;
	struct model m;
	unsigned int n, rep;

	(void)state;
	model_init(&m, nkeys, nb, nb);
	/* Every other key id present: half TCB, half TIME-WAIT. */
	for (uint32_t id = 0; id < nkeys; id += 2) {
		uint32_t v = (id / 2) % 2 ? CODA_CONNTAB_VALUE_TW(id / 4) :
					    CODA_CONNTAB_VALUE_TCB(id / 4);

		gen_key(&k, id);
		assert_int_equal(coda_conntab_insert(t, &k, v), 0);
		m.val[id] = v;
		m.present++;
	}
	for (n = 0; n <= CODA_CONNTAB_BURST_MAX; n++)
		for (rep = 0; rep < 50; rep++)
			check_bulk(t, &m, n);
	/* The same key several times in one burst. */
	gen_key(&ks[0], 2);
	for (n = 0; n < 16; n++) {
		ks[n] = ks[0];
		kp[n] = &ks[n];
	}
	assert_int_equal(coda_conntab_lookup_bulk(t, kp, 16, values, &mask), 16);
	assert_int_equal(mask, 0xffff);
	for (n = 0; n < 16; n++)
		assert_int_equal(values[n], m.val[2]);
	/* Too large a burst: nothing done. */
	for (n = 0; n <= CODA_CONNTAB_BURST_MAX; n++)
		kp[n] = &ks[0];
	mask = 12345;
	assert_int_equal(coda_conntab_lookup_bulk(t, kp, CODA_CONNTAB_BURST_MAX + 1, values, &mask),
			 0);
	assert_int_equal(mask, 12345);
	model_fini(&m);
	coda_conntab_free(t);
}

static void
expect_lookup(struct coda_conntab *t, const struct coda_conntab_key *k, int rc, uint32_t want)
{
	const struct coda_conntab_key *kp[1] = { k };
	uint32_t v = NONE, vb = 0;
	uint64_t mask = 0;

	assert_int_equal(coda_conntab_lookup(t, k, &v), rc);
	if (rc == 0)
		assert_int_equal(v, want);
	v = NONE;
	assert_int_equal(coda_conntab_reader_lookup(t, k, &v), rc);
	if (rc == 0)
		assert_int_equal(v, want);
	assert_int_equal(coda_conntab_lookup_bulk(t, kp, 1, &vb, &mask), rc == 0);
	assert_int_equal(vb, rc == 0 ? want : CODA_CONNTAB_NONE);
}

/*
 * a and b are different flows: with a in the table b is not found (nor
 * deleted); with both, each maps to its own value; with a gone, b stays.
 * va and vb are free TCB indices of t.
 */
static void
expect_distinct(struct coda_conntab *t, const struct coda_conntab_key *a,
		const struct coda_conntab_key *b, uint32_t va, uint32_t vb)
{
	assert_int_equal(coda_conntab_insert(t, a, va), 0);
	expect_lookup(t, b, -ENOENT, 0);
	assert_int_equal(coda_conntab_delete(t, b, NULL), -ENOENT);
	assert_int_equal(coda_conntab_insert(t, b, vb), 0);
	expect_lookup(t, a, 0, va);
	expect_lookup(t, b, 0, vb);
	assert_int_equal(coda_conntab_delete(t, a, NULL), 0);
	expect_lookup(t, a, -ENOENT, 0);
	expect_lookup(t, b, 0, vb);
	assert_int_equal(coda_conntab_audit(t), 0);
}

/* Replace moves a key between TCB and TIME-WAIT indices in place. */
static void
test_replace(void **state)
{
	struct coda_conntab *t = make_table(8, 1);
	struct coda_conntab_stats st;
	struct coda_conntab_key a, b, c;
	uint32_t old = NONE;

	(void)state;
	gen_key(&a, 1);
	gen_key(&b, 2);
	gen_key(&c, 3);
	assert_int_equal(coda_conntab_replace(t, &a, 0, &old), -ENOENT);
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TCB(5)), 0);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TW(1), NULL), -EINVAL);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(8), NULL), -EINVAL);
	/* TCB -> TIME-WAIT: the TCB index is free afterwards. */
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TW(0), &old), 0);
	assert_int_equal(old, CODA_CONNTAB_VALUE_TCB(5));
	expect_lookup(t, &a, 0, CODA_CONNTAB_VALUE_TW(0));
	coda_conntab_stats(t, &st);
	assert_int_equal(st.entries_tcb, 0);
	assert_int_equal(st.entries_tw, 1);
	assert_int_equal(st.replaces, 1);
	assert_int_equal(coda_conntab_insert(t, &b, CODA_CONNTAB_VALUE_TCB(5)), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	/* TIME-WAIT is full (one entry): c cannot move there, and nothing changes. */
	assert_int_equal(coda_conntab_replace(t, &b, CODA_CONNTAB_VALUE_TW(0), NULL), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 1);
	expect_lookup(t, &b, 0, CODA_CONNTAB_VALUE_TCB(5));
	/* Back to a TCB: not index 5 (b's), index 6 is free. */
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(5), NULL), -EBUSY);
	expect_lookup(t, &a, 0, CODA_CONNTAB_VALUE_TW(0));
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(6), &old), 0);
	assert_int_equal(old, CODA_CONNTAB_VALUE_TW(0));
	/* Same value: no change; same type, another index: the key moves. */
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(6), NULL), 0);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(7), NULL), 0);
	assert_int_equal(coda_conntab_insert(t, &c, CODA_CONNTAB_VALUE_TCB(6)), 0);
	assert_int_equal(coda_conntab_insert(t, &c, CODA_CONNTAB_VALUE_TW(0)), -EEXIST);
	expect_lookup(t, &a, 0, CODA_CONNTAB_VALUE_TCB(7));
	expect_lookup(t, &b, 0, CODA_CONNTAB_VALUE_TCB(5));
	expect_lookup(t, &c, 0, CODA_CONNTAB_VALUE_TCB(6));
	coda_conntab_stats(t, &st);
	assert_int_equal(st.entries_tcb, 3);
	assert_int_equal(st.entries_tw, 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/* Fill to capacity: the next insert is -ENOSPC and counted; a delete makes room. */
static void
test_capacity(void **state)
{
	const uint32_t nb_tcb = 1000, nb_tw = 100;
	struct coda_conntab *t = make_table(nb_tcb, nb_tw);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	uint32_t i, v;

	(void)state;
	for (i = 0; i < nb_tcb; i++) {
		gen_key(&k, i);
		assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TCB(i)), 0);
	}
	gen_key(&k, nb_tcb);
	assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TCB(0)), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 1);
	/* TIME-WAIT has its own capacity: still room there. */
	for (i = 0; i < nb_tw; i++) {
		gen_key(&k, nb_tcb + i);
		assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TW(i)), 0);
	}
	gen_key(&k, nb_tcb + nb_tw);
	assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TW(0)), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 2);
	assert_int_equal(st.entries_tcb, nb_tcb);
	assert_int_equal(st.entries_tw, nb_tw);
	assert_int_equal(coda_conntab_count(t), nb_tcb + nb_tw);
	assert_int_equal(coda_conntab_audit(t), 0);
	/* Every entry still found at full load. */
	for (i = 0; i < nb_tcb + nb_tw; i++) {
		gen_key(&k, i);
		assert_int_equal(coda_conntab_lookup(t, &k, &v), 0);
		assert_int_equal(v, i < nb_tcb ? CODA_CONNTAB_VALUE_TCB(i) :
						 CODA_CONNTAB_VALUE_TW(i - nb_tcb));
	}
	/* Delete one, and the refused key goes in under the freed index. */
	gen_key(&k, 500);
	assert_int_equal(coda_conntab_delete(t, &k, &v), 0);
	gen_key(&k, nb_tcb + nb_tw + 1);
	assert_int_equal(coda_conntab_insert(t, &k, v), 0);
	assert_int_equal(coda_conntab_insert(t, &k, v), -EEXIST);
	gen_key(&k, nb_tcb + nb_tw + 2);
	assert_int_equal(coda_conntab_insert(t, &k, 0), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 3);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);

	/* The smallest table: one TCB, no TIME-WAIT. */
	t = make_table(1, 0);
	gen_key(&k, 7);
	assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TW(0)), -EINVAL);
	assert_int_equal(coda_conntab_insert(t, &k, 0), 0);
	gen_key(&k, 8);
	assert_int_equal(coda_conntab_insert(t, &k, 0), -ENOSPC);
	assert_int_equal(coda_conntab_reader_lookup(t, &k, &v), -ENOENT);
	gen_key(&k, 7);
	assert_int_equal(coda_conntab_reader_lookup(t, &k, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/* IPv6 keys differing only in the last bit of one address, and IPv4 vs IPv6 with the same bytes. */
static void
test_ipv6_last_bit_and_families(void **state)
{
	struct coda_conntab *t = make_table(64, 64);
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
	uint8_t b6[16], c6[16] = { 0xc6, 0x12, 0, 1 };
	struct coda_conntab_key a, b_r, b_l, v4, v6;

	(void)state;
	memcpy(b6, a6, 16);
	b6[15] ^= 1;
	coda_conntab_key_v6(&a, a6, htons(80), a6, htons(1234));
	coda_conntab_key_v6(&b_r, a6, htons(80), b6, htons(1234)); /* remote's last bit */
	coda_conntab_key_v6(&b_l, b6, htons(80), a6, htons(1234)); /* local's last bit */
	assert_int_equal(coda_conntab_insert(t, &a, 1), 0);
	expect_lookup(t, &a, 0, 1);
	expect_lookup(t, &b_r, -ENOENT, 0);
	expect_lookup(t, &b_l, -ENOENT, 0);
	assert_int_equal(coda_conntab_delete(t, &b_r, NULL), -ENOENT);
	assert_int_equal(coda_conntab_insert(t, &b_r, 2), 0);
	assert_int_equal(coda_conntab_insert(t, &b_l, CODA_CONNTAB_VALUE_TW(3)), 0);
	expect_lookup(t, &a, 0, 1);
	expect_lookup(t, &b_r, 0, 2);
	expect_lookup(t, &b_l, 0, CODA_CONNTAB_VALUE_TW(3));
	assert_int_equal(coda_conntab_delete(t, &a, NULL), 0);
	expect_lookup(t, &a, -ENOENT, 0);
	expect_lookup(t, &b_r, 0, 2);
	expect_lookup(t, &b_l, 0, CODA_CONNTAB_VALUE_TW(3));

	/* 198.18.0.1 as IPv4 and as the IPv6 address c612:1:: (same leading bytes, rest zero). */
	coda_conntab_key_v4(&v4, htonl(0xc6120001), htons(80), htonl(0xc6120001), htons(1234));
	coda_conntab_key_v6(&v6, c6, htons(80), c6, htons(1234));
	assert_memory_equal(v4.laddr, v6.laddr, 16);
	assert_memory_equal(v4.raddr, v6.raddr, 16);
	expect_distinct(t, &v4, &v6, 10, 11);
	coda_conntab_free(t);
}

/*
 * Two different keys with the same signature in the same (only) bucket:
 * found by brute force through coda_conntab_hash(). Only the full-key
 * compare tells them apart.
 */
static void
test_signature_collision(void **state)
{
	struct coda_conntab *t = make_table(4, 0);
	struct coda_conntab_stats st;
	struct coda_conntab_key a, b;
	uint64_t ha, sa, sb;
	uint32_t id;

	(void)state;
	coda_conntab_stats(t, &st);
	assert_int_equal(st.buckets, 1);
	gen_key(&a, 0);
	ha = coda_conntab_hash(t, &a);
	sa = ha >> 48;
	for (id = 3;; id += 3) {
		assert_true(id < (UINT32_C(1) << 26));
		gen_key(&b, id); /* IPv6, like a */
		sb = coda_conntab_hash(t, &b) >> 48;
		if (sb == sa && sa != 0)
			break;
	}
	assert_int_equal(b.family, AF_INET6);
	assert_false(coda_conntab_key_equal(&a, &b));
	expect_distinct(t, &a, &b, 1, 2);
	coda_conntab_free(t);
}

/* Probes that cross buckets: many keys in a small table, deleted in random order. */
static void
test_overflow_chains(void **state)
{
	const uint32_t n = 4000;
	struct coda_conntab *t = make_table(n, 0);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	uint32_t *order = malloc(n * sizeof(*order)), i, j, tmp, v;

	(void)state;
	assert_non_null(order);
	for (i = 0; i < n; i++) {
		gen_key(&k, i);
		assert_int_equal(coda_conntab_insert(t, &k, i), 0);
		order[i] = i;
	}
	coda_conntab_stats(t, &st);
	assert_true(st.max_probe >= 1); /* at 83% load some probe crossed a bucket */
	for (i = n - 1; i > 0; i--) {
		j = (uint32_t)rnd_below(i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < n; i++) {
		gen_key(&k, order[i]);
		assert_int_equal(coda_conntab_delete(t, &k, &v), 0);
		assert_int_equal(v, order[i]);
		if (i % 500 == 0) {
			assert_int_equal(coda_conntab_audit(t), 0);
			for (j = i + 1; j < n; j++) {
				gen_key(&k, order[j]);
				assert_int_equal(coda_conntab_lookup(t, &k, &v), 0);
				assert_int_equal(v, order[j]);
			}
		}
	}
	assert_int_equal(coda_conntab_count(t), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	free(order);
	coda_conntab_free(t);
}

/*
 * Concurrent reader. Indices [0, STABLE) hold fixed keys for the whole
 * test; the upper half of them (the flip keys) switch between a TCB value
 * and a TIME-WAIT value by coda_conntab_replace(). Indices [STABLE, TOTAL)
 * are reused over and over by the owner for new keys (generation g of
 * index i), half as TIME-WAIT values. A key encodes its index and
 * generation, a value its index, so the reader can check every answer: a
 * stable key is always found (flip keys too: never neither value) with one
 * of its values; any other hit has the value of its key's index; a walk
 * returns every stable key exactly once, and every pair it returns agrees.
 */
#define RD_STABLE 2048u
#define RD_TOTAL 8192u
#define RD_SECONDS 1.5

struct rd_ctx {
	struct coda_conntab *t;
	int done;	     /* set by the owner when it stops */
	uint64_t lookups;
	uint64_t walks;
	uint64_t errors;
	char first_error[128];
};

static void
rd_key(struct coda_conntab_key *k, uint32_t i, uint32_t g)
{
	uint8_t l6[16] = { 0x20, 0x01, 0x0d, 0xb8 }, r6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2 };

	if (i % 2) {
		r6[12] = (uint8_t)(i >> 24);
		r6[13] = (uint8_t)(i >> 16);
		r6[14] = (uint8_t)(i >> 8);
		r6[15] = (uint8_t)i;
		coda_conntab_key_v6(k, l6, htons(443), r6, htons((uint16_t)g));
	} else {
		coda_conntab_key_v4(k, htonl(0xc6120001), htons(443), htonl(0xc6130000 + i),
				    htons((uint16_t)g));
	}
}

static uint32_t
rd_index(const struct coda_conntab_key *k)
{
	if (k->family == AF_INET6)
		return (uint32_t)k->raddr[12] << 24 | (uint32_t)k->raddr[13] << 16 |
		       (uint32_t)k->raddr[14] << 8 | k->raddr[15];
	return ((uint32_t)k->raddr[0] << 24 | (uint32_t)k->raddr[1] << 16 |
		(uint32_t)k->raddr[2] << 8 | k->raddr[3]) - 0xc6130000;
}

/* The value of index i: odd churn indices as TIME-WAIT entries, numbered from 0. */
#define RD_NB_TW ((RD_TOTAL - RD_STABLE) / 2)
#define RD_FLIP (RD_STABLE / 2)
static uint32_t
rd_value(uint32_t i)
{
	return i >= RD_STABLE && i % 2 ? CODA_CONNTAB_VALUE_TW((i - RD_STABLE) / 2) :
					 CODA_CONNTAB_VALUE_TCB(i);
}

/* The TIME-WAIT value of flip key i, after the churn indices' ones. */
static uint32_t
rd_flip_value(uint32_t i)
{
	return CODA_CONNTAB_VALUE_TW(RD_NB_TW + i - RD_FLIP);
}

static bool
rd_ok(uint32_t i, uint32_t v)
{
	return v == rd_value(i) || (i >= RD_FLIP && i < RD_STABLE && v == rd_flip_value(i));
}

static void
rd_fail(struct rd_ctx *c, const char *what, uint32_t i, uint32_t v)
{
	if (c->errors++ == 0)
		snprintf(c->first_error, sizeof(c->first_error), "%s: index %u value %#x", what, i,
			 v);
}

static void *
reader_main(void *arg)
{
	struct rd_ctx *c = arg;
	uint64_t s = 0x1234567;
	struct coda_conntab_iter it;
	struct coda_conntab_key k;
	uint8_t *seen = malloc(RD_TOTAL);
	uint32_t i, v, n;

	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		for (n = 0; n < 1000; n++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			i = (uint32_t)(s >> 33) % RD_TOTAL;
			rd_key(&k, i, i < RD_STABLE ? 0 : (uint32_t)(s >> 20) % 8);
			if (coda_conntab_reader_lookup(c->t, &k, &v) == 0) {
				if (!rd_ok(i, v))
					rd_fail(c, "lookup: wrong value", i, v);
			} else if (i < RD_STABLE) {
				rd_fail(c, "lookup: stable key missed", i, 0);
			}
			c->lookups++;
		}
		memset(seen, 0, RD_TOTAL);
		coda_conntab_iter_init(c->t, &it);
		n = 0;
		while (coda_conntab_iter_next(c->t, &it, &k, &v) == 0) {
			i = rd_index(&k);
			if (i >= RD_TOTAL || !rd_ok(i, v)) {
				rd_fail(c, "walk: key and value disagree", i, v);
				continue;
			}
			/*
			 * A churn index may show twice: generation g deleted
			 * after the walk passed it, g + 1 inserted ahead.
			 */
			if (i < RD_STABLE && seen[i]++)
				rd_fail(c, "walk: stable key seen twice", i, v);
			n += i < RD_STABLE;
		}
		if (n != RD_STABLE)
			rd_fail(c, "walk: stable keys seen", n, 0);
		c->walks++;
	}
	free(seen);
	return NULL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
test_reader_thread(void **state)
{
	struct rd_ctx c = { 0 };
	struct coda_conntab_key k;
	uint32_t gen[RD_TOTAL] = { 0 };
	bool in[RD_TOTAL] = { false }, flipped[RD_STABLE] = { false };
	uint64_t ops = 0;
	pthread_t th;
	double end;
	uint32_t i, v;

	(void)state;
	/* About 60% load: some probes cross buckets, so ovf counts change under the reader. */
	c.t = make_table(RD_TOTAL, RD_NB_TW + RD_STABLE - RD_FLIP);
	for (i = 0; i < RD_TOTAL; i++) {
		rd_key(&k, i, 0);
		assert_int_equal(coda_conntab_insert(c.t, &k, rd_value(i)), 0);
		in[i] = true;
	}
	assert_int_equal(pthread_create(&th, NULL, reader_main, &c), 0);
	end = now_s() + RD_SECONDS;
	while (ops < 200000000 && (ops % 4096 != 0 || now_s() < end)) {
		ops++;
		if (rnd_below(4) == 0) {
			/* Flip a stable key between its TCB and its TIME-WAIT value. */
			i = RD_FLIP + (uint32_t)rnd_below(RD_STABLE - RD_FLIP);
			rd_key(&k, i, 0);
			flipped[i] = !flipped[i];
			v = flipped[i] ? rd_flip_value(i) : rd_value(i);
			assert_int_equal(coda_conntab_replace(c.t, &k, v, NULL), 0);
			continue;
		}
		i = RD_STABLE + (uint32_t)rnd_below(RD_TOTAL - RD_STABLE);
		/* Toggle: delete generation g, or insert generation g + 1 under the same index. */
		if (in[i]) {
			rd_key(&k, i, gen[i]);
			assert_int_equal(coda_conntab_delete(c.t, &k, NULL), 0);
			gen[i] = (gen[i] + 1) % 8;
		} else {
			rd_key(&k, i, gen[i]);
			assert_int_equal(coda_conntab_insert(c.t, &k, rd_value(i)), 0);
		}
		in[i] = !in[i];
	}
	__atomic_store_n(&c.done, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("reader: %" PRIu64 " owner ops, %" PRIu64 " reader lookups, %" PRIu64
		      " walks, %" PRIu64 " errors%s%s\n",
		      ops, c.lookups, c.walks, c.errors, c.errors ? ": " : "", c.first_error);
	assert_int_equal(c.errors, 0);
	assert_true(c.walks > 0);
	assert_true(c.lookups > 0);
	assert_int_equal(coda_conntab_audit(c.t), 0);
	coda_conntab_free(c.t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_insert_delete_errors),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_bulk_equals_single),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_ipv6_last_bit_and_families),
		cmocka_unit_test(test_signature_collision),
		cmocka_unit_test(test_overflow_chains),
		cmocka_unit_test(test_reader_thread),
	};

	return cmocka_run_group_tests_name("conntab", tests, NULL, NULL);
}
