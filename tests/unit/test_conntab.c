/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/conntab.
 *
 * The reference model is the simplest one possible: keys are generated from
 * a dense key id (gen_key()), so the model is an array of the value each id
 * holds (or NONE). Random operation mixes are checked against it, bulk
 * lookups against single lookups, and coda_conntab_audit() checks the
 * table's own invariants (overflow counts, signatures, key arrays, the
 * TIME-WAIT pools and their wheels) along the way. A reader thread checks
 * the lock-free read side while the owner mutates: TCB values and
 * TIME-WAIT entries encode their key, so a torn or stale read shows. The
 * TIME-WAIT clock is virtual: 2 MSL passes in microseconds.
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
#include "coda_wheel.h"
#include "test_rng.h"

#ifdef CODA_CONNTAB_RCU
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <rte_rcu_qsbr.h>
#pragma GCC diagnostic pop
#endif

#define NONE UINT32_MAX
/* TIME-WAIT times: a start far from 0, and 2 MSL of 60 s. */
#define T0 UINT64_C(100000000000)
#define TW_LEN UINT64_C(60000)
/* The latest a 60 s TIME-WAIT may end: level 4 of the wheel (coda_wheel.h). */
#define TW_LATE UINT64_C(4095)

static struct coda_conntab *
make_table_p(uint32_t nb_tcb, uint32_t nb_tw4, uint32_t nb_tw6, uint32_t policy)
{
	struct coda_conntab_conf conf = {.nb_tcb = nb_tcb,
					 .nb_tw = nb_tw4,
					 .nb_tw6 = nb_tw6,
					 .tw_policy = policy,
					 .seed = 42,
					 .now = T0};
	struct coda_conntab *t = coda_conntab_create(&conf);

	assert_non_null(t);
	return t;
}

/* nb_tw TIME-WAIT entries of each family, recycling the oldest when full. */
static struct coda_conntab *
make_table(uint32_t nb_tcb, uint32_t nb_tw)
{
	return make_table_p(nb_tcb, nb_tw, nb_tw, CODA_CONNTAB_TW_RECYCLE);
}

/* TIME-WAIT fields derived from n, so a reader can tell whose entry it sees. */
static void
tw_fields(struct coda_conntab_tw *tw, uint32_t n)
{
	memset(tw, 0, sizeof(*tw));
	tw->snd_nxt = n;
	tw->rcv_nxt = n ^ 0x5a5a5a5au;
	tw->ts_recent = n * 7u;
	tw->rcv_wnd = (uint16_t)(n * 3u);
	tw->rcv_wscale = (uint8_t)(n % 15);
	tw->ts_on = n % 2;
}

/* Put k into TIME-WAIT at T0 for 60 s with fields from n; the return code, the value in *v. */
static int
tw_in(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t n, uint32_t *v)
{
	struct coda_conntab_tw tw;

	tw_fields(&tw, n);
	return coda_conntab_tw_enter(t, k, &tw, T0, T0 + TW_LEN, v);
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

/* coda_conntab_generation() moves with every change of a key's value, and only then. */
static void
test_generation(void **state)
{
	struct coda_conntab *t = make_table_p(16, 1, 1, CODA_CONNTAB_TW_RECYCLE);
	struct coda_conntab_key a, b;
	uint32_t v, old;
	uint64_t g;

	(void)state;
	gen_key(&a, 1);
	gen_key(&b, 4);
	g = coda_conntab_generation(t);
	assert_int_equal(coda_conntab_insert(t, &a, 3), 0);
	assert_true(coda_conntab_generation(t) != g);
	g = coda_conntab_generation(t);
	assert_int_equal(coda_conntab_lookup(t, &a, &v), 0);
	assert_int_equal(coda_conntab_lookup(t, &b, &v), -ENOENT);
	assert_int_equal(coda_conntab_insert(t, &a, 4), -EEXIST);
	assert_true(coda_conntab_generation(t) == g); /* lookups and failures change nothing */
	assert_int_equal(coda_conntab_replace(t, &a, 5, &old), 0);
	assert_true(coda_conntab_generation(t) != g);
	g = coda_conntab_generation(t);
	assert_int_equal(tw_in(t, &a, 1, &v), 0); /* a TCB key goes to TIME-WAIT */
	assert_true(coda_conntab_generation(t) != g);
	g = coda_conntab_generation(t);
	assert_int_equal(tw_in(t, &b, 2, &v), 0); /* pool of 1: recycles a's entry */
	assert_true(coda_conntab_generation(t) != g);
	assert_int_equal(coda_conntab_lookup(t, &a, &v), -ENOENT);
	g = coda_conntab_generation(t);
	assert_int_equal(coda_conntab_tw_expire(t, T0 + TW_LEN + TW_LATE, 16), 1);
	assert_true(coda_conntab_generation(t) != g);
	g = coda_conntab_generation(t);
	assert_int_equal(coda_conntab_insert(t, &b, 7), 0);
	assert_int_equal(coda_conntab_delete(t, &b, &v), 0);
	assert_true(coda_conntab_generation(t) != g);
	coda_conntab_free(t);
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
	conf.nb_tw6 = 1;
	errno = 0;
	assert_null(coda_conntab_create(&conf));
	assert_int_equal(errno, EINVAL);
	conf.nb_tcb = 10;
	conf.tw_policy = 2;
	errno = 0;
	assert_null(coda_conntab_create(&conf));
	assert_int_equal(errno, EINVAL);
	coda_conntab_free(NULL);

	/*
	 * Index memory: at most 9.6 bytes per entry of capacity, plus the
	 * rounding up to a prime bucket count (prime gaps below 2^32 are at
	 * most 336).
	 */
	t = make_table(1000000, 125000);
	coda_conntab_stats(t, &st);
	assert_true(st.index_bytes * 10 <=
		    (uint64_t)1250000 * CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY + 337 * 64 * 10);
	assert_true(st.index_bytes <= (uint64_t)1250000 * 20);
	assert_int_equal(st.key_bytes, (uint64_t)1000000 * sizeof(struct coda_conntab_key));
	/*
	 * TIME-WAIT: an entry and its timer within the budget less the index
	 * share, plus per table two wheels' fixed part and the address list.
	 */
	assert_true(st.tw_bytes * 10 <=
		    (uint64_t)125000 * (CODA_CONNTAB_TW4_BYTES * 10 -
					CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY) +
			    (uint64_t)125000 * (CODA_CONNTAB_TW6_BYTES * 10 -
						CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY) +
			    3 * 65536 * 10);
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
	/* TIME-WAIT values are made by coda_conntab_tw_enter() only. */
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TW(1)), -EINVAL);
	assert_int_equal(coda_conntab_insert(t, &b, CODA_CONNTAB_VALUE_TW(0)), -EINVAL);
	/* Index 3 is a's: another key may not take it. */
	assert_int_equal(coda_conntab_insert(t, &b, CODA_CONNTAB_VALUE_TCB(3)), -EBUSY);
	assert_int_equal(tw_in(t, &b, 9, &v), 0);
	assert_true(CODA_CONNTAB_IS_TW(v));
	assert_int_equal(coda_conntab_lookup(t, &a, &v), 0);
	assert_int_equal(v, CODA_CONNTAB_VALUE_TCB(3));
	assert_int_equal(coda_conntab_lookup(t, &b, &v), 0);
	assert_true(CODA_CONNTAB_IS_TW(v));
	assert_true(CODA_CONNTAB_INDEX(v) < 8);
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

/*
 * The value of a key in the model. TCB indices come from the test's own
 * free list; TIME-WAIT indices are the table's choice, checked to be in
 * the key's family's range and held by one key at a time.
 */
struct model {
	uint32_t nkeys;
	uint32_t *val;	    /* per key id: its value, or NONE */
	uint32_t *free_tcb; /* stack of free TCB indices */
	uint32_t n_free_tcb;
	uint32_t *tw_owner; /* per TIME-WAIT index: key id + 1, or 0 */
	uint32_t tw_cap[2], tw_used[2]; /* IPv4, IPv6 */
	uint32_t present;
};

static void
model_init(struct model *m, uint32_t nkeys, uint32_t nb_tcb, uint32_t nb_tw4, uint32_t nb_tw6)
{
	m->nkeys = nkeys;
	m->val = malloc(nkeys * sizeof(*m->val));
	m->free_tcb = malloc((nb_tcb + 1) * sizeof(uint32_t));
	m->tw_owner = calloc((size_t)nb_tw4 + nb_tw6 + 1, sizeof(uint32_t));
	assert_non_null(m->val);
	assert_non_null(m->free_tcb);
	assert_non_null(m->tw_owner);
	for (uint32_t i = 0; i < nkeys; i++)
		m->val[i] = NONE;
	for (uint32_t i = 0; i < nb_tcb; i++)
		m->free_tcb[i] = nb_tcb - 1 - i;
	m->n_free_tcb = nb_tcb;
	m->tw_cap[0] = nb_tw4;
	m->tw_cap[1] = nb_tw6;
	m->tw_used[0] = m->tw_used[1] = 0;
	m->present = 0;
}

static void
model_fini(struct model *m)
{
	free(m->val);
	free(m->free_tcb);
	free(m->tw_owner);
}

/* The model forgets value v (the key's entry was deleted, replaced or skipped). */
static void
model_release(struct model *m, uint32_t v)
{
	if (CODA_CONNTAB_IS_TW(v)) {
		uint32_t i = CODA_CONNTAB_INDEX(v);

		assert_true(m->tw_owner[i] != 0);
		m->tw_owner[i] = 0;
		m->tw_used[i >= m->tw_cap[0]]--;
	} else {
		m->free_tcb[m->n_free_tcb++] = v;
	}
}

/* The model takes TIME-WAIT value v for key id (of family fam), checking the table's choice. */
static void
model_take_tw(struct model *m, uint32_t id, unsigned int fam, uint32_t v)
{
	uint32_t i = CODA_CONNTAB_INDEX(v);

	assert_true(CODA_CONNTAB_IS_TW(v));
	if (fam == 0)
		assert_true(i < m->tw_cap[0]);
	else
		assert_true(i >= m->tw_cap[0] && i < m->tw_cap[0] + m->tw_cap[1]);
	assert_int_equal(m->tw_owner[i], 0);
	m->tw_owner[i] = id + 1;
	m->tw_used[fam]++;
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
 * Two million random inserts, TIME-WAIT entries, deletes, replaces and
 * lookups (single, reader and bulk) over a key space 1.5 times the
 * capacity, filled to capacity (-ENOSPC, and TIME-WAIT skipped by policy)
 * first, then churned at about half load, then drained, against the model;
 * audit and full walks along the way.
 */
static void
test_random_against_model(void **state)
{
	const uint32_t nb_tcb = 60000, nb_tw4 = 14000, nb_tw6 = 7000;
	const uint32_t nkeys = 3 * (nb_tcb + nb_tw4 + nb_tw6) / 2;
	const unsigned int ops = 2000000;
	struct coda_conntab *t = make_table_p(nb_tcb, nb_tw4, nb_tw6, CODA_CONNTAB_TW_SKIP);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	struct coda_conntab_tw tw, want;
	uint64_t enospc = 0, inserts = 0, deletes = 0, replaces = 0, lookups = 0, hits = 0;
	uint64_t entered = 0, skipped = 0, removed = 0;
	struct model m;
	uint32_t id, v, r;
	unsigned int op, fam;
	int rc;

	(void)state;
	model_init(&m, nkeys, nb_tcb, nb_tw4, nb_tw6);
	/* gen_key()'s IPv4 ids must round-trip through gen_id() for the walk check. */
	for (id = 0; id < nkeys; id++) {
		gen_key(&k, id);
		if (k.family == AF_INET)
			assert_int_equal(gen_id(&k), id);
	}
	for (op = 0; op < ops; op++) {
		id = (uint32_t)rnd_below(nkeys);
		gen_key(&k, id);
		fam = k.family == AF_INET6;
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
		if (r < 20 && rnd_below(4) == 0) {
			/* Into TIME-WAIT: from a TCB, or a key not in the table. */
			rc = tw_in(t, &k, id, &v);
			if (m.val[id] != NONE && CODA_CONNTAB_IS_TW(m.val[id])) {
				assert_int_equal(rc, -EEXIST);
			} else if (m.tw_used[fam] == m.tw_cap[fam]) {
				/* Policy SKIP: no TIME-WAIT, and the key leaves the table. */
				assert_int_equal(rc, -ENOSPC);
				skipped++;
				if (m.val[id] != NONE) {
					model_release(&m, m.val[id]);
					m.val[id] = NONE;
					m.present--;
					deletes++;
				}
			} else {
				assert_int_equal(rc, 0);
				model_take_tw(&m, id, fam, v);
				if (m.val[id] != NONE)
					model_release(&m, m.val[id]);
				else
					m.present++;
				m.val[id] = v;
				entered++;
			}
		} else if (r < 20) {
			if (m.val[id] != NONE) {
				assert_int_equal(coda_conntab_insert(t, &k, 0), -EEXIST);
			} else if (m.n_free_tcb == 0) {
				/* Full: any index is refused, and counted. */
				v = CODA_CONNTAB_VALUE_TCB(rnd_below(nb_tcb));
				assert_int_equal(coda_conntab_insert(t, &k, v), -ENOSPC);
				enospc++;
			} else {
				v = m.free_tcb[--m.n_free_tcb];
				assert_int_equal(coda_conntab_insert(t, &k, v), 0);
				m.val[id] = v;
				m.present++;
				inserts++;
			}
		} else if (r < 30) {
			/* Replace with a new TCB index: from a TCB, or out of TIME-WAIT. */
			uint32_t old = NONE, nv;

			if (rnd_below(8) == 0) {
				assert_int_equal(coda_conntab_replace(t, &k, CODA_CONNTAB_VALUE_TW(0),
								      &old),
						 -EINVAL);
			} else if (m.val[id] == NONE) {
				assert_int_equal(coda_conntab_replace(t, &k, 0, &old), -ENOENT);
				assert_int_equal(old, NONE);
			} else if (m.n_free_tcb == 0) {
				nv = CODA_CONNTAB_VALUE_TCB(0);
				rc = coda_conntab_replace(t, &k, nv, &old);
				if (CODA_CONNTAB_IS_TW(m.val[id])) {
					assert_int_equal(rc, -ENOSPC);
					enospc++;
				} else {
					/* All taken: only its own index is free. */
					assert_int_equal(rc, nv == m.val[id] ? 0 : -EBUSY);
					replaces += rc == 0;
				}
			} else {
				nv = m.free_tcb[--m.n_free_tcb];
				assert_int_equal(coda_conntab_replace(t, &k, nv, &old), 0);
				assert_int_equal(old, m.val[id]);
				removed += CODA_CONNTAB_IS_TW(old);
				model_release(&m, old);
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
				removed += CODA_CONNTAB_IS_TW(v);
				model_release(&m, v);
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
			assert_int_equal(coda_conntab_reader_tw(t, &k, T0, &v, &tw), rc);
			if (rc == 0)
				assert_int_equal(v, m.val[id]);
			if (rc == 0 && CODA_CONNTAB_IS_TW(v)) {
				/* The entry keeps what went in, for the reader and the owner alike. */
				tw_fields(&want, id);
				assert_int_equal(tw.snd_nxt, want.snd_nxt);
				assert_int_equal(tw.rcv_nxt, want.rcv_nxt);
				assert_int_equal(tw.ts_recent, want.ts_recent);
				assert_int_equal(tw.rcv_wnd, want.rcv_wnd);
				assert_int_equal(tw.rcv_wscale, want.rcv_wscale);
				assert_int_equal(tw.ts_on, want.ts_on);
				assert_int_equal(coda_conntab_tw_get(t, v, T0, &want), 0);
				assert_memory_equal(&tw, &want, sizeof(tw));
			}
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
	assert_true(skipped > 1000); /* and the TIME-WAIT policy */
	assert_int_equal(st.enospc, enospc);
	assert_int_equal(st.inserts, inserts);
	assert_int_equal(st.deletes, deletes);
	assert_int_equal(st.replaces, replaces);
	assert_int_equal(st.tw_entered, entered);
	assert_int_equal(st.tw_skipped, skipped);
	assert_int_equal(st.tw_removed, removed);
	assert_int_equal(st.tw_recycled, 0);
	assert_true(replaces > 10000);
	assert_true(st.lookups >= lookups);
	assert_true(st.hits >= hits);
	assert_int_equal(st.entries_tcb + st.entries_tw, m.present);
	assert_int_equal(st.entries_tw, m.tw_used[0] + m.tw_used[1]);
	print_message("random: %" PRIu64 " inserts, %" PRIu64 " into TIME-WAIT, %" PRIu64
		      " deletes, %" PRIu64 " replaces, %" PRIu64 " -ENOSPC, %" PRIu64
		      " skipped, max probe %" PRIu64 " buckets\n",
		      inserts, entered, deletes, replaces, enospc, skipped, st.max_probe);
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
	model_init(&m, nkeys, nb, nb, nb);
	/* Every other key id present: half TCB, half TIME-WAIT. */
	for (uint32_t id = 0; id < nkeys; id += 2) {
		uint32_t v = CODA_CONNTAB_VALUE_TCB(id / 4);

		gen_key(&k, id);
		if ((id / 2) % 2)
			assert_int_equal(tw_in(t, &k, id, &v), 0);
		else
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

/*
 * Replace moves a key between TCB indices in place, and out of TIME-WAIT
 * back to a TCB (a SYN reopening the connection), freeing the entry.
 */
static void
test_replace(void **state)
{
	struct coda_conntab *t = make_table(8, 1);
	struct coda_conntab_stats st;
	struct coda_conntab_tw tw;
	struct coda_conntab_key a, b, c, k;
	uint32_t old = NONE, tv, tc, i;

	(void)state;
	gen_key(&a, 1);
	gen_key(&b, 2);
	gen_key(&c, 4);
	assert_int_equal(coda_conntab_replace(t, &a, 0, &old), -ENOENT);
	assert_int_equal(coda_conntab_insert(t, &a, CODA_CONNTAB_VALUE_TCB(5)), 0);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TW(0), NULL), -EINVAL);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(8), NULL), -EINVAL);
	/* Into TIME-WAIT: the TCB index is free afterwards. */
	assert_int_equal(tw_in(t, &a, 1, &tv), 0);
	expect_lookup(t, &a, 0, tv);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.entries_tcb, 0);
	assert_int_equal(st.entries_tw, 1);
	assert_int_equal(st.tw_entered, 1);
	assert_int_equal(coda_conntab_insert(t, &b, CODA_CONNTAB_VALUE_TCB(5)), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	/* Back to a TCB: not index 5 (b's); index 6 is free. */
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(5), NULL), -EBUSY);
	expect_lookup(t, &a, 0, tv);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(6), &old), 0);
	assert_int_equal(old, tv);
	/* The entry and its timer are gone. */
	assert_int_equal(coda_conntab_tw_get(t, tv, T0, &tw), -ENOENT);
	assert_int_equal(coda_conntab_tw_expiry(t, tv), UINT64_MAX);
	assert_int_equal(coda_conntab_tw_restart(t, tv, T0 + 1), -ENOENT);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_removed, 1);
	assert_int_equal(st.entries_tw, 0);
	/* Same value: no change; another index: the key moves. */
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(6), NULL), 0);
	assert_int_equal(coda_conntab_replace(t, &a, CODA_CONNTAB_VALUE_TCB(7), NULL), 0);
	assert_int_equal(coda_conntab_insert(t, &c, CODA_CONNTAB_VALUE_TCB(6)), 0);
	expect_lookup(t, &a, 0, CODA_CONNTAB_VALUE_TCB(7));
	expect_lookup(t, &b, 0, CODA_CONNTAB_VALUE_TCB(5));
	expect_lookup(t, &c, 0, CODA_CONNTAB_VALUE_TCB(6));
	/* c into TIME-WAIT (its entry is the one a had), then every TCB index taken ... */
	assert_int_equal(tw_in(t, &c, 4, &tc), 0);
	assert_int_equal(tw_in(t, &c, 4, NULL), -EEXIST);
	for (i = 0; i < 8; i++) {
		if (i == 5 || i == 7)
			continue;
		gen_key(&k, 100 + i);
		assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TCB(i)), 0);
	}
	/* ... so it cannot come back to a TCB, and nothing changes. */
	assert_int_equal(coda_conntab_replace(t, &c, CODA_CONNTAB_VALUE_TCB(6), NULL), -ENOSPC);
	expect_lookup(t, &c, 0, tc);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 1);
	assert_int_equal(st.entries_tcb, 8);
	assert_int_equal(st.entries_tw, 1);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/* Fill to capacity: the next insert is -ENOSPC and counted; a delete makes room. */
static void
test_capacity(void **state)
{
	const uint32_t nb_tcb = 1000, nb_tw = 100;
	struct coda_conntab *t = make_table_p(nb_tcb, nb_tw, nb_tw, CODA_CONNTAB_TW_SKIP);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	uint32_t twv[2 * 100], twid[2 * 100], i, id, v, n4 = 0, n6 = 0;

	(void)state;
	for (i = 0; i < nb_tcb; i++) {
		gen_key(&k, i);
		assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TCB(i)), 0);
	}
	gen_key(&k, nb_tcb);
	assert_int_equal(coda_conntab_insert(t, &k, CODA_CONNTAB_VALUE_TCB(0)), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 1);
	/* TIME-WAIT has its own capacity, per family: still room there. */
	for (id = nb_tcb; n4 < nb_tw || n6 < nb_tw; id++) {
		gen_key(&k, id);
		if (k.family == AF_INET ? n4 == nb_tw : n6 == nb_tw)
			continue;
		twid[n4 + n6] = id;
		assert_int_equal(tw_in(t, &k, id, &twv[n4 + n6]), 0);
		if (k.family == AF_INET)
			n4++;
		else
			n6++;
	}
	gen_key(&k, id);
	assert_int_equal(tw_in(t, &k, id, &v), -ENOSPC);
	assert_int_equal(coda_conntab_lookup(t, &k, &v), -ENOENT);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 1);
	assert_int_equal(st.tw_skipped, 1);
	assert_int_equal(st.entries_tcb, nb_tcb);
	assert_int_equal(st.entries_tw, 2 * nb_tw);
	assert_int_equal(coda_conntab_count(t), nb_tcb + 2 * nb_tw);
	assert_int_equal(coda_conntab_audit(t), 0);
	/* Every entry still found at full load. */
	for (i = 0; i < nb_tcb; i++) {
		gen_key(&k, i);
		assert_int_equal(coda_conntab_lookup(t, &k, &v), 0);
		assert_int_equal(v, CODA_CONNTAB_VALUE_TCB(i));
	}
	for (i = 0; i < 2 * nb_tw; i++) {
		gen_key(&k, twid[i]);
		assert_int_equal(coda_conntab_lookup(t, &k, &v), 0);
		assert_int_equal(v, twv[i]);
	}
	/* Delete one, and the refused key goes in under the freed index. */
	gen_key(&k, 500);
	assert_int_equal(coda_conntab_delete(t, &k, &v), 0);
	gen_key(&k, id + 1);
	assert_int_equal(coda_conntab_insert(t, &k, v), 0);
	assert_int_equal(coda_conntab_insert(t, &k, v), -EEXIST);
	gen_key(&k, id + 2);
	assert_int_equal(coda_conntab_insert(t, &k, 0), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.enospc, 2);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);

	/* The smallest table: one TCB, no TIME-WAIT: the TCB leaves the table all the same. */
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
	assert_int_equal(tw_in(t, &k, 7, &v), -ENOSPC);
	assert_int_equal(coda_conntab_lookup(t, &k, &v), -ENOENT);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_skipped, 1);
	assert_int_equal(st.entries_tcb, 0);
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
	struct coda_conntab_key a, b_r, b_l, b_r2, v4, v6;
	uint32_t tv, va, vb;

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
	assert_int_equal(tw_in(t, &b_l, 3, &tv), 0);
	expect_lookup(t, &a, 0, 1);
	expect_lookup(t, &b_r, 0, 2);
	expect_lookup(t, &b_l, 0, tv);
	assert_int_equal(coda_conntab_delete(t, &a, NULL), 0);
	expect_lookup(t, &a, -ENOENT, 0);
	expect_lookup(t, &b_r, 0, 2);
	expect_lookup(t, &b_l, 0, tv);
	/* TIME-WAIT entries keep the full IPv6 address: the last bit still tells them apart. */
	assert_int_equal(tw_in(t, &a, 4, &va), 0);
	assert_true(va != tv);
	expect_lookup(t, &a, 0, va);
	expect_lookup(t, &b_l, 0, tv);
	coda_conntab_key_v6(&b_r2, b6, htons(80), b6, htons(1234)); /* both last bits */
	expect_lookup(t, &b_r2, -ENOENT, 0);
	assert_int_equal(tw_in(t, &b_r2, 5, &vb), 0);
	expect_lookup(t, &b_r2, 0, vb);
	expect_lookup(t, &b_l, 0, tv);
	assert_int_equal(coda_conntab_delete(t, &a, NULL), 0);
	assert_int_equal(coda_conntab_delete(t, &b_r2, NULL), 0);
	assert_int_equal(coda_conntab_audit(t), 0);

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
 * test; the upper half of them (the flip keys) go into TIME-WAIT and back
 * to their TCB value (coda_conntab_tw_enter(), coda_conntab_replace()).
 * Indices [STABLE, TOTAL) are reused over and over by the owner for new
 * keys (generation g of index i): even ones as TCB values, odd ones as
 * TIME-WAIT entries. A TCB value is its key's index; a TIME-WAIT entry
 * keeps its key's index in snd_nxt and rcv_nxt, and a phase that the
 * owner keeps changing (coda_conntab_tw_update()) in two fields that must
 * agree. So the reader can check every answer: a stable key is always
 * found (flip keys too: never neither value), any hit carries its own
 * key's index, a TIME-WAIT copy is never torn, and a walk returns every
 * stable key exactly once with agreeing pairs.
 */
#define RD_STABLE 2048u
#define RD_TOTAL 8192u
#define RD_FLIP (RD_STABLE / 2)
#define RD_SECONDS 1.5

struct rd_ctx {
	struct coda_conntab *t;
	int done;	     /* set by the owner when it stops */
	uint64_t lookups;
	uint64_t tw_seen;
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

/* Whether index i may be in TIME-WAIT: a flip key, or an odd churn index. */
static bool
rd_tw_ok(uint32_t i)
{
	return (i >= RD_FLIP && i < RD_STABLE) || (i >= RD_STABLE && i < RD_TOTAL && i % 2);
}

/* The TIME-WAIT fields of index i in phase ph. */
static void
rd_tw(struct coda_conntab_tw *tw, uint32_t i, uint32_t ph)
{
	memset(tw, 0, sizeof(*tw));
	tw->snd_nxt = i;
	tw->rcv_nxt = i ^ ph;
	tw->ts_recent = ph;
	tw->rcv_wnd = (uint16_t)(ph ^ 0x1234u);
	tw->rcv_wscale = (uint8_t)(ph % 15);
	tw->ts_on = 1;
}

static bool
rd_ok(uint32_t i, uint32_t v, const struct coda_conntab_tw *tw)
{
	if (!CODA_CONNTAB_IS_TW(v))
		return v == CODA_CONNTAB_VALUE_TCB(i);
	if (!rd_tw_ok(i))
		return false;
	/* Fields written first, in the middle and last by the owner agree on one phase. */
	return tw == NULL ||
	       (tw->snd_nxt == i && tw->rcv_nxt == (i ^ tw->ts_recent) &&
		tw->rcv_wnd == (uint16_t)(tw->ts_recent ^ 0x1234u) &&
		tw->rcv_wscale == tw->ts_recent % 15 && tw->ts_on == 1);
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
	struct coda_conntab_tw tw;
	uint8_t *seen = malloc(RD_TOTAL);
	uint32_t i, v, n;

	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		for (n = 0; n < 1000; n++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			i = (uint32_t)(s >> 33) % RD_TOTAL;
			rd_key(&k, i, i < RD_STABLE ? 0 : (uint32_t)(s >> 20) % 8);
			if (coda_conntab_reader_tw(c->t, &k, T0, &v, &tw) == 0) {
				if (!rd_ok(i, v, &tw))
					rd_fail(c, "lookup: wrong value or torn entry", i, v);
				c->tw_seen += CODA_CONNTAB_IS_TW(v);
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
			if (i >= RD_TOTAL || !rd_ok(i, v, NULL)) {
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
	struct coda_conntab_tw tw;
	struct coda_conntab_stats st;
	uint32_t gen[RD_TOTAL] = { 0 };
	bool in[RD_TOTAL] = { false }, flipped[RD_STABLE] = { false };
	uint64_t ops = 0;
	pthread_t th;
	double end;
	uint32_t i;

	(void)state;
	/*
	 * 42% of the slots in use at the start, about 26% while the churn
	 * keys come and go: some probes cross buckets, so overflow counts and
	 * pass filters change under the reader.
	 */
	c.t = make_table_p(RD_TOTAL, RD_TOTAL / 2, RD_TOTAL / 2, CODA_CONNTAB_TW_SKIP);
	for (i = 0; i < RD_TOTAL; i++) {
		rd_key(&k, i, 0);
		if (i >= RD_STABLE && i % 2) {
			rd_tw(&tw, i, 0);
			assert_int_equal(coda_conntab_tw_enter(c.t, &k, &tw, T0, T0 + TW_LEN, NULL),
					 0);
		} else {
			assert_int_equal(coda_conntab_insert(c.t, &k, CODA_CONNTAB_VALUE_TCB(i)), 0);
		}
		in[i] = true;
	}
	assert_int_equal(pthread_create(&th, NULL, reader_main, &c), 0);
	end = now_s() + RD_SECONDS;
	while (ops < 200000000 && (ops % 4096 != 0 || now_s() < end)) {
		uint32_t r = (uint32_t)rnd_below(8);

		ops++;
		if (r < 2) {
			/* Flip a stable key into TIME-WAIT, or back to its TCB value. */
			i = RD_FLIP + (uint32_t)rnd_below(RD_STABLE - RD_FLIP);
			rd_key(&k, i, 0);
			flipped[i] = !flipped[i];
			if (flipped[i]) {
				rd_tw(&tw, i, (uint32_t)rnd());
				assert_int_equal(
					coda_conntab_tw_enter(c.t, &k, &tw, T0, T0 + TW_LEN, NULL), 0);
			} else {
				assert_int_equal(
					coda_conntab_replace(c.t, &k, CODA_CONNTAB_VALUE_TCB(i), NULL),
					0);
			}
			continue;
		}
		i = RD_STABLE + (uint32_t)rnd_below(RD_TOTAL - RD_STABLE);
		rd_key(&k, i, gen[i]);
		if (r < 6 && in[i] && i % 2) {
			/* Change a TIME-WAIT entry's phase in place. */
			rd_tw(&tw, i, (uint32_t)rnd());
			assert_int_equal(coda_conntab_tw_update(c.t, &k, &tw, T0), 0);
			continue;
		}
		/* Toggle: delete generation g, or put generation g + 1 under the same index. */
		if (in[i]) {
			assert_int_equal(coda_conntab_delete(c.t, &k, NULL), 0);
			gen[i] = (gen[i] + 1) % 8;
		} else if (i % 2) {
			rd_tw(&tw, i, (uint32_t)rnd());
			assert_int_equal(coda_conntab_tw_enter(c.t, &k, &tw, T0, T0 + TW_LEN, NULL),
					 0);
		} else {
			assert_int_equal(coda_conntab_insert(c.t, &k, CODA_CONNTAB_VALUE_TCB(i)), 0);
		}
		in[i] = !in[i];
	}
	__atomic_store_n(&c.done, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("reader: %" PRIu64 " owner ops, %" PRIu64 " reader lookups (%" PRIu64
		      " in TIME-WAIT), %" PRIu64 " walks, %" PRIu64 " errors%s%s\n",
		      ops, c.lookups, c.tw_seen, c.walks, c.errors, c.errors ? ": " : "",
		      c.first_error);
	assert_int_equal(c.errors, 0);
	assert_true(c.walks > 0);
	assert_true(c.tw_seen > 0);
	assert_int_equal(coda_conntab_audit(c.t), 0);
	coda_conntab_stats(c.t, &st);
	assert_int_equal(st.tw_skipped, 0);
	coda_conntab_free(c.t);
}

/*
 * What goes into TIME-WAIT comes back out (times to their documented
 * resolution), the entry ends at the time coda_conntab_tw_expiry() names
 * and not before, a restart pushes that back, and errors change nothing.
 */
static void
test_tw_enter_fields_and_expiry(void **state)
{
	struct coda_conntab *t = make_table(4, 4);
	struct coda_conntab_stats st;
	struct coda_conntab_tw tw, got;
	struct coda_conntab_key a, b;
	uint64_t when, later;
	uint32_t v, vb, x;

	(void)state;
	gen_key(&a, 1);
	gen_key(&b, 3); /* IPv6 */
	memset(&tw, 0, sizeof(tw));
	tw.snd_nxt = 0xfffffff0u;
	tw.rcv_nxt = 12345;
	tw.ts_recent = 0x80000001u;
	tw.rcv_wnd = 65535;
	tw.rcv_wscale = 14;
	tw.ts_on = 1;
	tw.ts_recent_ms = T0 - 3 * 86400000ull - 59999; /* 3 days and 59.999 s ago */
	tw.last_ack_ms = T0 - 1003;
	/* Errors first: nothing changes. */
	tw.rcv_wscale = 15;
	assert_int_equal(coda_conntab_tw_enter(t, &a, &tw, T0, T0 + TW_LEN, &v), -EINVAL);
	tw.rcv_wscale = 14;
	assert_int_equal(coda_conntab_tw_enter(t, &a, &tw, T0, T0 + CODA_WHEEL_MAX_DELAY + 10, &v),
			 -ERANGE);
	assert_int_equal(coda_conntab_count(t), 0);
	assert_int_equal(coda_conntab_insert(t, &a, 2), 0);
	assert_int_equal(coda_conntab_tw_enter(t, &a, &tw, T0, T0 + TW_LEN, &v), 0);
	assert_int_equal(coda_conntab_tw_enter(t, &a, &tw, T0, T0 + TW_LEN, NULL), -EEXIST);
	assert_int_equal(coda_conntab_tw_get(t, 2, T0, &got), -EINVAL);
	assert_int_equal(coda_conntab_tw_get(t, CODA_CONNTAB_VALUE_TW(8), T0, &got), -EINVAL);
	assert_int_equal(coda_conntab_tw_get(t, v, T0 + 5000, &got), 0);
	assert_int_equal(got.snd_nxt, tw.snd_nxt);
	assert_int_equal(got.rcv_nxt, tw.rcv_nxt);
	assert_int_equal(got.ts_recent, tw.ts_recent);
	assert_int_equal(got.rcv_wnd, tw.rcv_wnd);
	assert_int_equal(got.rcv_wscale, 14);
	assert_int_equal(got.ts_on, 1);
	/* To the minute and to 8 ms, rounded down. */
	assert_true(got.ts_recent_ms <= tw.ts_recent_ms && got.ts_recent_ms + 60000 > tw.ts_recent_ms);
	assert_true(got.last_ack_ms <= tw.last_ack_ms && got.last_ack_ms + 8 > tw.last_ack_ms);
	/* Ages beyond what the entry keeps: TS.Recent at 30 days, an ACK at about 524 s. */
	tw.ts_recent_ms = 0;
	tw.last_ack_ms = 0;
	assert_int_equal(coda_conntab_tw_update(t, &a, &tw, T0), 0);
	assert_int_equal(coda_conntab_tw_get(t, v, T0, &got), 0);
	assert_true(T0 - got.ts_recent_ms >= 30 * 86400000ull &&
		    T0 - got.ts_recent_ms < 30 * 86400000ull + 60000);
	assert_true(T0 - got.last_ack_ms >= 520000 && T0 - got.last_ack_ms <= 524288);
	/* In the future: now. */
	tw.ts_recent_ms = T0 + 100000;
	tw.last_ack_ms = T0 + 100000;
	assert_int_equal(coda_conntab_tw_update(t, &a, &tw, T0), 0);
	assert_int_equal(coda_conntab_tw_get(t, v, T0, &got), 0);
	assert_true(got.ts_recent_ms <= T0 && got.ts_recent_ms + 60000 > T0);
	assert_true(got.last_ack_ms <= T0 && got.last_ack_ms + 8 > T0);
	tw.rcv_wscale = 15;
	assert_int_equal(coda_conntab_tw_update(t, &a, &tw, T0), -EINVAL);
	tw.rcv_wscale = 0;
	assert_int_equal(coda_conntab_tw_update(t, &b, &tw, T0), -ENOENT);
	assert_int_equal(coda_conntab_insert(t, &b, 1), 0);
	assert_int_equal(coda_conntab_tw_update(t, &b, &tw, T0), -ENOENT); /* a TCB */
	/* The TCB index a had is free again. */
	assert_int_equal(coda_conntab_delete(t, &b, NULL), 0);
	assert_int_equal(coda_conntab_insert(t, &b, 2), 0);
	assert_int_equal(coda_conntab_delete(t, &b, NULL), 0);

	/* Expiry: within the wheel's lateness, never early; the next expiry says when. */
	when = coda_conntab_tw_expiry(t, v);
	assert_int_equal(coda_conntab_tw_next_expiry(t), when);
	assert_true(when >= T0 + TW_LEN && when <= T0 + TW_LEN + TW_LATE);
	assert_false(coda_conntab_tw_due(t, when - 1));
	assert_int_equal(coda_conntab_tw_expire(t, when - 1, 100), 0);
	assert_int_equal(coda_conntab_lookup(t, &a, &x), 0);
	/* A retransmitted FIN at when - 1 restarts 2 MSL from there. */
	assert_int_equal(coda_conntab_tw_restart(t, v, when - 1 + TW_LEN), 0);
	assert_int_equal(coda_conntab_tw_restart(t, v, when + CODA_WHEEL_MAX_DELAY + 1), -ERANGE);
	assert_int_equal(coda_conntab_tw_restart(t, 3, when), -EINVAL);
	later = coda_conntab_tw_expiry(t, v);
	assert_true(later >= when - 1 + TW_LEN && later <= when - 1 + TW_LEN + TW_LATE);
	assert_int_equal(coda_conntab_tw_expire(t, when, 100), 0);
	assert_int_equal(coda_conntab_tw_expire(t, later - 1, 100), 0);
	assert_int_equal(coda_conntab_lookup(t, &a, &x), 0);
	/* An IPv6 entry beside it, due earlier. */
	assert_int_equal(tw_in(t, &b, 3, &vb), 0);
	assert_int_equal(coda_conntab_tw_restart(t, vb, later - 1000), 0);
	assert_true(coda_conntab_tw_due(t, later));
	/* Both due; one per call (the pools take turns), then the other. */
	assert_int_equal(coda_conntab_tw_expire(t, later, 1), 1);
	assert_int_equal((coda_conntab_lookup(t, &a, &x) == 0) + (coda_conntab_lookup(t, &b, &x) == 0),
			 1);
	assert_int_equal(coda_conntab_tw_expire(t, later, 100), 1);
	assert_int_equal(coda_conntab_lookup(t, &b, &x), -ENOENT);
	/* Gone: the key, the entry, the timer; counted; and the key may come back. */
	assert_int_equal(coda_conntab_lookup(t, &a, &x), -ENOENT);
	assert_int_equal(coda_conntab_tw_get(t, v, later, &got), -ENOENT);
	assert_int_equal(coda_conntab_tw_expiry(t, v), UINT64_MAX);
	assert_false(coda_conntab_tw_due(t, UINT64_MAX - 1));
	assert_int_equal(coda_conntab_tw_next_expiry(t), UINT64_MAX);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_entered, 2);
	assert_int_equal(st.tw_expired, 2);
	assert_int_equal(st.entries_tw, 0);
	assert_int_equal(st.tw_laddrs, 2);
	assert_int_equal(coda_conntab_audit(t), 0);
	assert_int_equal(coda_conntab_insert(t, &a, 0), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/*
 * A full pool: RECYCLE ends the entry closest to expiry (the oldest; one
 * pushed back by a restart is no longer the oldest) and keeps the new one;
 * SKIP keeps none. Both counted, neither leaks.
 */
static void
test_tw_overflow_policies(void **state)
{
	enum { N = 64 };
	struct coda_conntab *t = make_table_p(N, N, 0, CODA_CONNTAB_TW_RECYCLE);
	struct coda_conntab_stats st;
	struct coda_conntab_tw tw;
	struct coda_conntab_key k;
	uint32_t val[N + 8], i, v, id;

	(void)state;
	tw_fields(&tw, 0);
	/* N IPv4 entries (ids not a multiple of 3), entry i at T0 + i seconds. */
	for (i = 0, id = 1; i < N + 8; id++) {
		if (id % 3 == 0)
			continue;
		gen_key(&k, id);
		if (i < N)
			assert_int_equal(coda_conntab_tw_enter(t, &k, &tw, T0, T0 + TW_LEN + i * 1000,
							       &val[i]),
					 0);
		i++;
	}
	/* Restart entry 0 (a retransmitted FIN): entry 1 is now the oldest. */
	assert_int_equal(coda_conntab_tw_restart(t, val[0], T0 + TW_LEN + 2 * N * 1000), 0);
	for (i = N, id = 1; id < 1000; id++) {
		if (id % 3 == 0)
			continue;
		if (i-- > 0)
			continue;
		break;
	}
	/* Keys N .. N + 7 in turn: each recycles the oldest, entries 1 .. 8. */
	for (i = 0, id = 1; i < N + 8; id++) {
		if (id % 3 == 0)
			continue;
		if (i >= N) {
			gen_key(&k, id);
			assert_int_equal(coda_conntab_tw_enter(t, &k, &tw, T0, T0 + TW_LEN + 100000,
							       &v),
					 0);
			assert_int_equal(coda_conntab_lookup(t, &k, &val[i]), 0);
		}
		i++;
	}
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_recycled, 8);
	assert_int_equal(st.tw_skipped, 0);
	assert_int_equal(st.entries_tw, N);
	for (i = 0, id = 1; i < N + 8; id++) {
		if (id % 3 == 0)
			continue;
		gen_key(&k, id);
		/* Entries 1 .. 8 were recycled; 0 (restarted) and the rest stay. */
		assert_int_equal(coda_conntab_lookup(t, &k, &v), i >= 1 && i <= 8 ? -ENOENT : 0);
		i++;
	}
	assert_int_equal(coda_conntab_audit(t), 0);
	/* A pool of capacity 0 (IPv6 here) keeps nothing, under either policy. */
	gen_key(&k, 3);
	assert_int_equal(coda_conntab_insert(t, &k, 0), 0);
	assert_int_equal(coda_conntab_tw_enter(t, &k, &tw, T0, T0 + TW_LEN, &v), -ENOSPC);
	assert_int_equal(coda_conntab_lookup(t, &k, &v), -ENOENT);
	/* Everything expires in the end; nothing left behind. */
	while (coda_conntab_tw_due(t, T0 + 10000000))
		(void)coda_conntab_tw_expire(t, T0 + 10000000, 7);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.entries_tw, 0);
	assert_int_equal(st.tw_expired, N);
	assert_int_equal(st.tw_skipped, 1);
	assert_int_equal(coda_conntab_count(t), 0);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);

	/* SKIP: full means no TIME-WAIT for the newcomer; the old ones stay. */
	t = make_table_p(N, N, N, CODA_CONNTAB_TW_SKIP);
	for (id = 1, i = 0; i < N; id++) {
		if (id % 3 == 0)
			continue;
		gen_key(&k, id);
		assert_int_equal(tw_in(t, &k, id, &v), 0);
		i++;
	}
	gen_key(&k, 1000); /* IPv4 */
	assert_int_equal(coda_conntab_insert(t, &k, 5), 0);
	assert_int_equal(tw_in(t, &k, 1000, &v), -ENOSPC);
	assert_int_equal(coda_conntab_lookup(t, &k, &v), -ENOENT);
	/* The TCB index is free: the connection left the table. */
	assert_int_equal(coda_conntab_insert(t, &k, 5), 0);
	gen_key(&k, 999); /* IPv6: its own pool has room */
	assert_int_equal(tw_in(t, &k, 999, &v), 0);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_skipped, 1);
	assert_int_equal(st.tw_recycled, 0);
	assert_int_equal(st.entries_tw, N + 1);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/* More local addresses than the list holds: counted skips, never a wrong key. */
static void
test_tw_laddr_list_full(void **state)
{
	const uint32_t n = CODA_CONNTAB_TW_LADDR_MAX + 10;
	struct coda_conntab *t = make_table_p(1, n, 0, CODA_CONNTAB_TW_SKIP);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	uint32_t i, v;

	(void)state;
	for (i = 0; i < n; i++) {
		coda_conntab_key_v4(&k, htonl(0xc6120000 + i), htons(80), htonl(0xc6130001),
				    htons(1000));
		assert_int_equal(tw_in(t, &k, i, &v), i < CODA_CONNTAB_TW_LADDR_MAX ? 0 : -ENOSPC);
	}
	/* A known address still works. */
	coda_conntab_key_v4(&k, htonl(0xc6120000 + 5), htons(80), htonl(0xc6130002), htons(1000));
	assert_int_equal(tw_in(t, &k, 5, &v), 0);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_laddrs, CODA_CONNTAB_TW_LADDR_MAX);
	assert_int_equal(st.tw_skipped, 10);
	assert_int_equal(st.tw_skipped_laddr, 10);
	for (i = 0; i < n; i++) {
		coda_conntab_key_v4(&k, htonl(0xc6120000 + i), htons(80), htonl(0xc6130001),
				    htons(1000));
		assert_int_equal(coda_conntab_reader_lookup(t, &k, &v),
				 i < CODA_CONNTAB_TW_LADDR_MAX ? 0 : -ENOENT);
	}
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/*
 * TIME-WAIT entries keep the local address as an index: two keys that
 * differ only in it, with the same signature in the same (only) bucket,
 * found by brute force, are told apart by that index's address.
 */
static void
test_tw_signature_collision_laddr(void **state)
{
	struct coda_conntab *t = make_table_p(1, 4, 0, CODA_CONNTAB_TW_SKIP);
	struct coda_conntab_stats st;
	struct coda_conntab_key a, b;
	uint32_t i, va, vb, v;
	uint64_t sa;

	(void)state;
	coda_conntab_stats(t, &st);
	assert_int_equal(st.buckets, 1);
	coda_conntab_key_v4(&a, htonl(0xc6120001), htons(80), htonl(0xc6130001), htons(1000));
	sa = coda_conntab_hash(t, &a) >> 48;
	for (i = 2;; i++) {
		assert_true(i < (UINT32_C(1) << 24));
		coda_conntab_key_v4(&b, htonl(0xc6120000 + i), htons(80), htonl(0xc6130001),
				    htons(1000));
		if ((coda_conntab_hash(t, &b) >> 48) == sa && sa != 0)
			break;
	}
	assert_int_equal(tw_in(t, &a, 1, &va), 0);
	expect_lookup(t, &b, -ENOENT, 0);
	assert_int_equal(coda_conntab_delete(t, &b, NULL), -ENOENT);
	assert_int_equal(tw_in(t, &b, 2, &vb), 0);
	expect_lookup(t, &a, 0, va);
	expect_lookup(t, &b, 0, vb);
	assert_int_equal(coda_conntab_delete(t, &a, &v), 0);
	assert_int_equal(v, va);
	expect_lookup(t, &a, -ENOENT, 0);
	expect_lookup(t, &b, 0, vb);
	assert_int_equal(coda_conntab_audit(t), 0);
	coda_conntab_free(t);
}

/*
 * A million TIME-WAIT entries entering over 60 s of virtual time, a tenth
 * of them restarted once, expired in 10 ms steps with a small batch: each
 * ends no earlier than its expiry and within the wheel's lateness, and the
 * table drains to empty.
 */
static void
test_tw_million_expire_on_time(void **state)
{
	enum { N = 1000000, STEP = 10 };
	struct coda_conntab *t = make_table_p(1, N, 0, CODA_CONNTAB_TW_SKIP);
	uint64_t *expiry = malloc(N * sizeof(*expiry)), now = T0, end;
	struct coda_conntab_stats st;
	struct coda_conntab_iter it;
	struct coda_conntab_key k;
	uint32_t i, v, ended = 0, walked;

	(void)state;
	assert_non_null(expiry);
	for (i = 0; i < N; i++) {
		struct coda_conntab_tw tw;

		now = T0 + (uint64_t)i * 60000 / N;
		coda_conntab_key_v4(&k, htonl(0xc6120001), htons(80), htonl(0xc6130000 + i),
				    htons((uint16_t)(1024 + i % 50000)));
		tw_fields(&tw, i);
		assert_int_equal(coda_conntab_tw_enter(t, &k, &tw, now, now + TW_LEN, &v), 0);
		assert_int_equal(CODA_CONNTAB_INDEX(v), i); /* a fresh pool hands out 0, 1, ... */
		expiry[i] = now + TW_LEN;
		if (i % 10 == 0) {
			expiry[i] = now + TW_LEN + 30000;
			assert_int_equal(coda_conntab_tw_restart(t, v, expiry[i]), 0);
		}
		if (i % (N / 8) == 0)
			(void)coda_conntab_tw_expire(t, now, 256);
	}
	coda_conntab_stats(t, &st);
	assert_int_equal(st.entries_tw, N);
	assert_int_equal(coda_conntab_audit(t), 0);
	end = now + 2 * TW_LEN;
	for (; now <= end && ended < N; now += STEP) {
		uint32_t before = coda_conntab_count(t), n = 0;

		while (coda_conntab_tw_due(t, now))
			n += coda_conntab_tw_expire(t, now, 256);
		assert_int_equal(coda_conntab_count(t), before - n);
		ended += n;
		/* Spot checks: an entry never ends early, nor later than its lateness. */
		for (i = (uint32_t)(now % 997); i < N; i += 997) {
			uint64_t late = expiry[i] - (expiry[i] - TW_LEN - 30000 * (i % 10 == 0));
			uint64_t bound = expiry[i] + (late > 63 * 512 ? TW_LATE : 511);

			coda_conntab_key_v4(&k, htonl(0xc6120001), htons(80),
					    htonl(0xc6130000 + i), htons((uint16_t)(1024 + i % 50000)));
			if (now < expiry[i])
				assert_int_equal(coda_conntab_lookup(t, &k, &v), 0);
			else if (now >= bound)
				assert_int_equal(coda_conntab_lookup(t, &k, &v), -ENOENT);
		}
	}
	assert_int_equal(ended, N);
	assert_int_equal(coda_conntab_count(t), 0);
	coda_conntab_iter_init(t, &it);
	for (walked = 0; coda_conntab_iter_next(t, &it, &k, &v) == 0;)
		walked++;
	assert_int_equal(walked, 0);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tw_expired, N);
	assert_int_equal(st.tw_entered, N);
	assert_int_equal(coda_conntab_audit(t), 0);
	free(expiry);
	coda_conntab_free(t);
}

/* TCB indices: handed out once, back after free, checked; with QSBR, only after a grace period. */
static void
test_tcb_alloc(void **state)
{
	struct coda_conntab *t = make_table(4, 0);
	struct coda_conntab_stats st;
	struct coda_conntab_key k;
	uint32_t idx[4], x, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(coda_conntab_tcb_alloc(t, &idx[i]), 0);
		assert_int_equal(idx[i], i);
	}
	assert_int_equal(coda_conntab_tcb_alloc(t, &x), -ENOSPC);
	coda_conntab_stats(t, &st);
	assert_int_equal(st.tcb_alloc_fail, 1);
	gen_key(&k, 1);
	assert_int_equal(coda_conntab_insert(t, &k, idx[2]), 0);
	assert_int_equal(coda_conntab_tcb_free(t, idx[2]), -EBUSY);
	assert_int_equal(coda_conntab_delete(t, &k, NULL), 0);
	assert_int_equal(coda_conntab_tcb_free(t, idx[2]), 0);
	assert_int_equal(coda_conntab_tcb_free(t, idx[2]), -EINVAL);
	assert_int_equal(coda_conntab_tcb_free(t, 4), -EINVAL);
	assert_int_equal(coda_conntab_tcb_reclaim(t), 0);
	assert_int_equal(coda_conntab_tcb_alloc(t, &x), 0);
	assert_int_equal(x, idx[2]);
	coda_conntab_free(t);

#ifdef CODA_CONNTAB_RCU
	{
		size_t sz = rte_rcu_qsbr_get_memsize(2);
		struct rte_rcu_qsbr *q = NULL;
		struct coda_conntab_conf conf = {.nb_tcb = 4, .seed = 1, .now = T0};

		assert_int_equal(posix_memalign((void **)&q, 64, sz), 0);
		assert_int_equal(rte_rcu_qsbr_init(q, 2), 0);
		/* One reader thread, online: it holds whatever it looked up until quiescent. */
		assert_int_equal(rte_rcu_qsbr_thread_register(q, 1), 0);
		rte_rcu_qsbr_thread_online(q, 1);
		conf.qsbr = q;
		t = coda_conntab_create(&conf);
		assert_non_null(t);
		for (i = 0; i < 4; i++)
			assert_int_equal(coda_conntab_tcb_alloc(t, &idx[i]), 0);
		assert_int_equal(coda_conntab_tcb_free(t, idx[1]), 0);
		coda_conntab_stats(t, &st);
		assert_int_equal(st.tcb_deferred, 1);
		/* The reader has not been quiescent since: index 1 stays held back. */
		assert_int_equal(coda_conntab_tcb_alloc(t, &x), -ENOSPC);
		assert_int_equal(coda_conntab_tcb_reclaim(t), 0);
		assert_int_equal(coda_conntab_tcb_alloc(t, &x), -ENOSPC);
		/* Freed after the grace period started: waits for the next one. */
		assert_int_equal(coda_conntab_tcb_free(t, idx[3]), 0);
		rte_rcu_qsbr_quiescent(q, 1);
		assert_int_equal(coda_conntab_tcb_alloc(t, &x), 0);
		assert_int_equal(x, idx[1]);
		assert_int_equal(coda_conntab_tcb_alloc(t, &x), -ENOSPC);
		rte_rcu_qsbr_quiescent(q, 1);
		assert_int_equal(coda_conntab_tcb_reclaim(t), 1);
		coda_conntab_stats(t, &st);
		assert_int_equal(st.tcb_deferred, 0);
		assert_int_equal(coda_conntab_tcb_alloc(t, &x), 0);
		assert_int_equal(x, idx[3]);
		/* A reader offline holds nothing: frees come back at the next reclaim. */
		rte_rcu_qsbr_thread_offline(q, 1);
		assert_int_equal(coda_conntab_tcb_free(t, idx[0]), 0);
		assert_int_equal(coda_conntab_tcb_alloc(t, &x), 0);
		assert_int_equal(x, idx[0]);
		coda_conntab_free(t);
		free(q);
	}
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_insert_delete_errors),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_bulk_equals_single),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_ipv6_last_bit_and_families),
		cmocka_unit_test(test_signature_collision),
		cmocka_unit_test(test_overflow_chains),
		cmocka_unit_test(test_reader_thread),
		cmocka_unit_test(test_tw_enter_fields_and_expiry),
		cmocka_unit_test(test_tw_overflow_policies),
		cmocka_unit_test(test_tw_laddr_list_full),
		cmocka_unit_test(test_tw_signature_collision_laddr),
		cmocka_unit_test(test_tw_million_expire_on_time),
		cmocka_unit_test(test_tcb_alloc),
	};

	return cmocka_run_group_tests_name("conntab", tests, NULL, NULL);
}
