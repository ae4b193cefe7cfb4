/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_CONNTAB_H
#define CODA_CONNTAB_H

/**
 * @file
 * coda_conntab: the per-core connection table, keyed by the TCP 4-tuple.
 *
 * What: every segment a worker receives is looked up here by its 4-tuple
 * (IPv4 or IPv6). A hit gives a 32-bit value: the index of a TCB in the
 * worker's TCB pool, or (type bit CODA_CONNTAB_TW set) the index of a
 * compact TIME-WAIT entry. One table per lcore; that lcore is its only
 * writer. Other threads (telemetry, CLI dumps) may look up and walk it
 * without locks.
 *
 * Design: open addressing in 64-byte buckets of 8 slots, each slot a 16-bit
 * signature and a 32-bit value; double hashing from bucket to bucket over a
 * prime number of buckets, with a per-bucket overflow count in the manner
 * of folly's F14 tables:
 *
 *   struct bucket (one cache line):
 *     uint32 seq       even: stable; odd: the owner is changing this bucket
 *     uint32 ovf       entries whose probe passed through this bucket: it
 *                      was on their probe sequence before their slot
 *     uint16 sig[8]    0: free slot; else bits 48..63 of the hash (0 -> 1)
 *     uint32 val[8]    the value
 *     uint64 pass      a filter: 32 two-bit counters of the entries counted
 *                      in ovf, by bits 32..36 of their hash (a counter at 3
 *                      stays there until ovf is 0, which clears them all)
 *
 * A key's home bucket is picked by the low 32 bits of a 64-bit hash
 * (multiply-shift range reduction, so the bucket count need not be a power
 * of two), its probe step by the high 32 bits, its signature by the top
 * 16. Insert takes the first free slot along the key's probe sequence and
 * bumps `ovf` and its counter in `pass` in every bucket it passed; delete
 * clears the slot and takes those counts back; replace changes a value in
 * place. A lookup stops at the first bucket where its counter is 0, so a
 * miss normally reads one bucket even where entries pass (with k of them,
 * about k in 32 misses go on), and there are no tombstones to pile up
 * under churn. Entries never move
 * once placed: a reader walking the table sees every entry that stays in it
 * throughout the walk exactly once, and a lookup of a key that stays in the
 * table throughout cannot miss it.
 *
 * Why not bucketized cuckoo (rte_hash): cuckoo displacement moves entries
 * under concurrent readers, which then need a table-wide change counter and
 * retries, and each lookup miss reads two buckets. Probing over 8-slot
 * buckets reads one line per lookup in the common case and moves nothing.
 * Why not linear probing over buckets: it clusters; at 83% load we measured
 * longest probes of 40 to 64 buckets (1M entries), against 11 to 16 (1M to
 * 4M entries) with the per-key step. The longest probe is in the stats.
 *
 * Keys: a signature hit is always confirmed by comparing the full key (40
 * bytes: ports, family, both addresses), which lives in a key array owned by
 * the table and indexed by the TCB index, or in the TIME-WAIT entry (see
 * "TIME-WAIT store"). So two flows are never confused, whatever their
 * hashes: IPv6 keys that differ in one bit, or an IPv4 and an IPv6 key with
 * the same bytes (the family is part of the key). The key array also marks
 * which TCB indices are in use, so inserting a second key under an index
 * that is taken fails (-EBUSY) instead of corrupting the table.
 *
 * Hash: a keyed multiply-fold hash over the key's five 64-bit words (three
 * 64x64->128 multiplies, two of them independent), seeded per table. The
 * 4-tuple comes from the network: pass a random seed, or a peer that can
 * predict the hash can build long probes (hash flooding).
 *
 * Memory: the index has 1.2 slots per entry of capacity (nb_tcb + nb_tw +
 * nb_tw6), rounded up to a prime number of buckets (a few hundred buckets at
 * most), i.e. 9.6 bytes of index per entry at full capacity (83% load),
 * plus 40 bytes of key per TCB index (the key array), plus the TIME-WAIT
 * pools below.
 *
 * Cost: lookup, insert, delete and replace read one bucket and one key
 * entry in the common case (a key entry spans two cache lines for 3 indices
 * in 8; a signature collision costs one more key entry, with probability
 * about 8/65536 per bucket read). coda_conntab_lookup_bulk() works on the
 * whole burst in passes: the first hashes every key and prefetches its
 * home bucket; each later pass takes every unresolved key one cache line
 * further (bucket scanned: prefetch the key entry of its candidate, or the
 * next bucket of its probe; key entry arrived: compare) and prefetches
 * what it needs next. So the misses of a pass are all in flight together,
 * and a hit costs three passes.
 *
 * Thread safety: one writer, the owning lcore, calls every function except
 * those marked "any thread". Readers on other threads use
 * coda_conntab_reader_lookup() and the iterator: each bucket is read under
 * its sequence counter (a seqlock: the writer makes it odd, changes the
 * bucket and the key array, makes it even again; a reader retries while it
 * is odd or changed). The writer never waits and never uses an atomic
 * read-modify-write; a reader may retry while the writer changes the bucket
 * it reads (it waits for the writer, not for other readers). What a reader
 * returns (key, value) was in the table together at one instant. The
 * memory-ordering argument is written at each barrier in conntab.c.
 * The table does not protect what a value names (a TCB being freed and
 * reused): see "Reclamation" below.
 *
 * Errors: constructors return NULL and set errno (the library is EAL-free,
 * so it does not use rte_errno); other functions return 0 or a negative errno.
 *
 * Reclamation: the table frees no memory while it lives, and a value's
 * index reused for another key is covered by the seqlock (the argument in
 * conntab.c), so the table itself needs no grace period. What a TCB value
 * names must not be reused while a reader may still dereference it: see
 * "Reclamation of TCB indices" below.
 *
 * TIME-WAIT store: a TIME-WAIT value names an entry in one of two pools of
 * the table (IPv4 and IPv6, each its own capacity), made only by
 * coda_conntab_tw_enter() and freed by expiry, recycling, delete or
 * replace. An entry keeps the connection's key compactly (the remote
 * address and ports, and the local address as an index into a per-table
 * list of up to CODA_CONNTAB_TW_LADDR_MAX local addresses: a host has few)
 * and exactly what TIME-WAIT needs to answer a segment (struct
 * coda_conntab_tw). Its 2 MSL timer is a coda_wheel timer in the pool's own
 * wheel, whose handle is the entry's index; the TIME-WAIT clock counts
 * milliseconds. All in, an IPv4 entry costs its 28 bytes, 9.6 bytes of
 * index and at most 8 bytes of wheel: at most CODA_CONNTAB_TW4_BYTES (48)
 * bytes, static_assert'ed; an IPv6 entry stores the full remote address
 * (40 bytes, at most 58 all in), so two flows are never confused. Entering
 * TIME-WAIT when the pool is full applies the table's policy
 * (coda_conntab_conf.tw_policy), counted: recycle the entry closest to
 * expiry (the oldest, TIME-WAIT lengths being equal), or keep no TIME-WAIT
 * for the new one.
 *
 * Reclamation of TCB indices: a reader that found a TCB value may go on to
 * read the TCB after the owner deleted the key. With a QSBR variable
 * (coda_conntab_conf.qsbr, from DPDK's rte_rcu), coda_conntab_tcb_free()
 * keeps a freed index from coda_conntab_tcb_alloc() until every reader
 * registered with that variable has reported a quiescent state since, so a
 * TCB is never reused under a reader. The owner never waits for readers:
 * an index still held back is simply not handed out yet. Readers never
 * need QSBR for TIME-WAIT entries: coda_conntab_reader_tw() copies an
 * entry under its bucket's sequence counter.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Slots per bucket. */
#define CODA_CONNTAB_BUCKET_SLOTS 8
/** Largest nb_tcb + nb_tw of one table. */
#define CODA_CONNTAB_MAX_ENTRIES (UINT32_C(1) << 30)
/** Largest burst for coda_conntab_lookup_bulk() (bits of its hit mask). */
#define CODA_CONNTAB_BURST_MAX 64
/** Upper bound of index bytes per entry of capacity (1.2 slots of 8 bytes), in tenths of a byte. */
#define CODA_CONNTAB_INDEX_DECIBYTES_PER_ENTRY 96

/** Type bit of a value: set for a TIME-WAIT entry index, clear for a TCB index. */
#define CODA_CONNTAB_TW UINT32_C(0x80000000)
/** A value naming TCB index @p i. */
#define CODA_CONNTAB_VALUE_TCB(i) ((uint32_t)(i))
/** A value naming TIME-WAIT entry index @p i. */
#define CODA_CONNTAB_VALUE_TW(i) ((uint32_t)(i) | CODA_CONNTAB_TW)
/** Whether value @p v names a TIME-WAIT entry. */
#define CODA_CONNTAB_IS_TW(v) (((v) & CODA_CONNTAB_TW) != 0)
/** The index (TCB or TIME-WAIT) in value @p v. */
#define CODA_CONNTAB_INDEX(v) ((v) & ~CODA_CONNTAB_TW)
/** Most local addresses, IPv4 and IPv6 together, that one table's TIME-WAIT entries name. */
#define CODA_CONNTAB_TW_LADDR_MAX 2047
/** Bytes of an IPv4 TIME-WAIT entry all in (entry, index slot, timer), at most (static_assert). */
#define CODA_CONNTAB_TW4_BYTES 48
/** Bytes of an IPv6 TIME-WAIT entry all in, at most (it keeps both full addresses). */
#define CODA_CONNTAB_TW6_BYTES 58
/** Never a value in the table: written for the misses of coda_conntab_lookup_bulk(). */
#define CODA_CONNTAB_NONE UINT32_MAX

/**
 * A connection's key, from the local endpoint's point of view. Build it
 * with coda_conntab_key_v4() or coda_conntab_key_v6(): they zero the
 * padding and the unused address bytes, which the table compares and hashes
 * as five 64-bit words.
 */
struct coda_conntab_key {
	union {
		struct {
			uint16_t lport;	   /**< Local port, network byte order. */
			uint16_t rport;	   /**< Remote port, network byte order. */
			uint8_t family;	   /**< AF_INET or AF_INET6; 0 never. */
			uint8_t pad[3];	   /**< Zero. */
			uint8_t laddr[16]; /**< Local address; IPv4 in bytes 0..3, rest zero. */
			uint8_t raddr[16]; /**< Remote address, likewise. */
		};
		uint64_t w[5]; /**< The same bytes as words: what is hashed and compared. */
	};
};

/** Build an IPv4 key. Addresses and ports in network byte order. */
static inline void
coda_conntab_key_v4(struct coda_conntab_key *k, uint32_t laddr, uint16_t lport, uint32_t raddr,
		    uint16_t rport)
{
	memset(k, 0, sizeof(*k));
	k->family = AF_INET;
	k->lport = lport;
	k->rport = rport;
	memcpy(k->laddr, &laddr, sizeof(laddr));
	memcpy(k->raddr, &raddr, sizeof(raddr));
}

/** Build an IPv6 key. Addresses (16 bytes each) and ports in network byte order. */
static inline void
coda_conntab_key_v6(struct coda_conntab_key *k, const uint8_t *laddr, uint16_t lport,
		    const uint8_t *raddr, uint16_t rport)
{
	memset(k, 0, sizeof(*k));
	k->family = AF_INET6;
	k->lport = lport;
	k->rport = rport;
	memcpy(k->laddr, laddr, 16);
	memcpy(k->raddr, raddr, 16);
}

/** Whether two keys (built by the helpers above) name the same connection. */
static inline bool
coda_conntab_key_equal(const struct coda_conntab_key *a, const struct coda_conntab_key *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3]) | (a->w[4] ^ b->w[4])) == 0;
}

/** What a full TIME-WAIT pool does when one more connection enters TIME-WAIT. */
enum coda_conntab_tw_policy {
	/** Recycle the entry closest to expiry (the default; coda_conntab_stats.tw_recycled). */
	CODA_CONNTAB_TW_RECYCLE = 0,
	/** Keep no TIME-WAIT for the new connection (coda_conntab_stats.tw_skipped). */
	CODA_CONNTAB_TW_SKIP = 1,
};

struct rte_rcu_qsbr;

/** How a table is sized and seeded. */
struct coda_conntab_conf {
	uint32_t nb_tcb; /**< TCB indices are in [0, nb_tcb): at most that many TCB entries. */
	/** IPv4 TIME-WAIT entries: TIME-WAIT indices [0, nb_tw). */
	uint32_t nb_tw;
	/** IPv6 TIME-WAIT entries: TIME-WAIT indices [nb_tw, nb_tw + nb_tw6). */
	uint32_t nb_tw6;
	/** enum coda_conntab_tw_policy. */
	uint32_t tw_policy;
	uint64_t seed; /**< Hash seed: pass a random one (see "Hash" above). */
	/** The TIME-WAIT clock (milliseconds) at creation: the start of its wheels. */
	uint64_t now;
	/**
	 * Optional: readers' QSBR variable (rte_rcu_qsbr_init()'d by the
	 * caller), to hold back freed TCB indices (see "Reclamation of TCB
	 * indices"). NULL: freed indices are reused at once.
	 */
	struct rte_rcu_qsbr *qsbr;
};

/** Counters of one table, written by the owner only (see coda_conntab_stats()). */
struct coda_conntab_stats {
	uint64_t inserts;     /**< Successful inserts (not counting TIME-WAIT entries entered). */
	uint64_t deletes;     /**< Successful deletes, of either type. */
	uint64_t replaces;    /**< Successful replaces. */
	uint64_t lookups;     /**< Keys looked up by the owner (single and bulk). */
	uint64_t hits;	      /**< ... of those, found. */
	uint64_t enospc;      /**< Inserts and replaces refused with -ENOSPC: no room for a TCB. */
	uint64_t entries_tcb; /**< TCB entries now. */
	uint64_t entries_tw;  /**< TIME-WAIT entries now (both families). */
	uint64_t max_probe;   /**< Longest probe ever placed: buckets past the home bucket. */
	uint64_t buckets;     /**< Buckets in the index. */
	uint64_t index_bytes; /**< Bytes of the index (buckets). */
	uint64_t key_bytes;   /**< Bytes of the TCB key array. */
	uint64_t tw_bytes;    /**< Bytes of the TIME-WAIT pools, their wheels and the address list. */
	uint64_t tw_entered;  /**< Connections that entered TIME-WAIT. */
	uint64_t tw_expired;  /**< TIME-WAIT entries ended by their timer. */
	uint64_t tw_recycled; /**< ... ended early to make room (policy RECYCLE). */
	uint64_t tw_skipped;  /**< Connections that got no TIME-WAIT: policy SKIP, or see below. */
	uint64_t tw_skipped_laddr; /**< ... of those, because the local address list was full. */
	uint64_t tw_removed;  /**< TIME-WAIT entries deleted or replaced by the owner (RST, reopen). */
	uint64_t tw_laddrs;   /**< Local addresses in the list. */
	uint64_t tcb_alloc_fail; /**< coda_conntab_tcb_alloc() calls that found no index. */
	uint64_t tcb_deferred;   /**< Freed TCB indices waiting for a grace period now. */
};

/**
 * What a TIME-WAIT entry keeps: what RFC 9293, 1122, 1337, 6191 and 7323
 * need to answer a segment in TIME-WAIT, and nothing else. Times are on the
 * TIME-WAIT clock (milliseconds, the `now` passed to these functions); the
 * entry keeps them coarsely (see each field), so coda_conntab_tw_get() may
 * return a time slightly before the one entered.
 */
struct coda_conntab_tw {
	uint32_t snd_nxt;   /**< SND.NXT: after our FIN. */
	uint32_t rcv_nxt;   /**< RCV.NXT: after the peer's FIN. */
	uint32_t ts_recent; /**< TS.Recent, when ts_on. */
	uint16_t rcv_wnd;   /**< Our window field: RCV.WND >> rcv_wscale. */
	uint8_t rcv_wscale; /**< Our window scale shift, 0 .. 14 (0 without window scaling). */
	uint8_t ts_on;	    /**< 1 if timestamps were in use on the connection, else 0. */
	/**
	 * When TS.Recent was last set (its age decides RFC 7323's 24-day
	 * rule). Kept to the minute, rounded down; an age above 30 days is
	 * kept as 30 days.
	 */
	uint64_t ts_recent_ms;
	/**
	 * When we last sent a rate-limited ACK from this entry (RFC 5961
	 * challenge ACKs, ACKs to out-of-window segments). Kept in 8 ms
	 * units, rounded down, for 524 s: an older time is kept as 524 s ago,
	 * and one that stays unchanged past that reads modulo 524 s.
	 */
	uint64_t last_ack_ms;
};

/** A reader's position in a walk over the table (coda_conntab_iter_next()). */
struct coda_conntab_iter {
	uint32_t bucket; /**< Next bucket to read. */
	uint32_t pos;	 /**< Next snapshot entry to return. */
	uint32_t n;	 /**< Entries in the snapshot. */
	/** Snapshot of one bucket: values ... */
	uint32_t val[CODA_CONNTAB_BUCKET_SLOTS];
	/** ... and their keys. */
	struct coda_conntab_key key[CODA_CONNTAB_BUCKET_SLOTS];
};

struct coda_conntab;

/**
 * Allocate a table (aligned_alloc; transparent huge pages requested where
 * the kernel offers them). Every page is touched here, not on the datapath.
 *
 * @return the table, or NULL with errno EINVAL (@p conf NULL, nb_tcb + nb_tw
 *         + nb_tw6 0 or above CODA_CONNTAB_MAX_ENTRIES, an unknown
 *         tw_policy, or a qsbr variable in a build without DPDK's rcu) or
 *         ENOMEM.
 */
struct coda_conntab *coda_conntab_create(const struct coda_conntab_conf *conf);

/** Free a table. NULL is allowed. No reader may be using it. */
void coda_conntab_free(struct coda_conntab *t);

/**
 * The table's 64-bit hash of @p k (its seed applied): the low 32 bits pick
 * the home bucket, the top 16 the signature. Any thread.
 */
uint64_t coda_conntab_hash(const struct coda_conntab *t, const struct coda_conntab_key *k);

/**
 * Insert @p k with value @p value. The table keeps a copy of the key under
 * the value's index until the entry is deleted.
 *
 * Errors are checked in the order listed.
 *
 * @return 0; -EINVAL if @p value is a TIME-WAIT value (those are made by
 *         coda_conntab_tw_enter()), its index is not below nb_tcb, or the
 *         key's family is neither AF_INET nor AF_INET6; -EEXIST if @p k is
 *         already in the table (unchanged); -ENOSPC if the table holds
 *         nb_tcb TCB entries, counted in coda_conntab_stats.enospc; -EBUSY
 *         if another key holds the value's index.
 */
int coda_conntab_insert(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t value);

/**
 * Delete @p k. Its value's index is free for another key afterwards (for
 * the table; other threads may still hold the value, see "Reclamation"
 * above). A TIME-WAIT entry is ended: its timer cancelled, the entry
 * freed, counted in coda_conntab_stats.tw_removed (RFC 793 mode: an RST
 * ends TIME-WAIT).
 *
 * @param value  where to write the value the key had; may be NULL.
 * @return 0; -ENOENT if @p k is not in the table.
 */
int coda_conntab_delete(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t *value);

/**
 * Give @p k the value @p value in place: a TCB index for another, or a
 * TIME-WAIT entry for a TCB index (a SYN that reopens the connection,
 * RFC 9293 §3.10.7.4; the entry is ended as by coda_conntab_delete()). A
 * concurrent reader finds @p k with the old value or the new one, never
 * neither (a delete and an insert would leave a gap). The key entry moves
 * to the new value's index; the old index is free afterwards. A TCB enters
 * TIME-WAIT through coda_conntab_tw_enter(), not here.
 *
 * Errors are checked in the order listed.
 *
 * @param old  where to write the previous value; may be NULL.
 * @return 0; -EINVAL if @p value is a TIME-WAIT value or its index is not
 *         below nb_tcb; -ENOENT if @p k is not in the table; -ENOSPC if @p k
 *         was in TIME-WAIT and the table holds nb_tcb TCB entries (counted
 *         in coda_conntab_stats.enospc); -EBUSY if another key holds the new
 *         index. On error nothing changes.
 */
int coda_conntab_replace(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t value,
			 uint32_t *old);

/**
 * Look up @p k (owner only: counted in the stats, no reader protocol).
 *
 * @return 0 and the value in @p value; -ENOENT if @p k is not in the table.
 */
int coda_conntab_lookup(struct coda_conntab *t, const struct coda_conntab_key *k, uint32_t *value);

/**
 * Look up @p n keys (at most CODA_CONNTAB_BURST_MAX) in passes over the
 * burst, with prefetching (see "Cost" above; owner only). values[i] gets
 * the value of keys[i], or CODA_CONNTAB_NONE on a miss; bit i of
 * @p hit_mask is set on a hit (bits n..63 clear).
 *
 * @return the number of hits; 0 with nothing written if @p n is above
 *         CODA_CONNTAB_BURST_MAX.
 */
unsigned int coda_conntab_lookup_bulk(struct coda_conntab *t,
				      const struct coda_conntab_key *const *keys, unsigned int n,
				      uint32_t *values, uint64_t *hit_mask);

/**
 * Hold at most @p limit TIME-WAIT entries of @p family from now on (at most
 * the capacity it was created with): a lower limit ends the entries closest
 * to expiry at once (counted as recycled), and the overflow policy applies
 * at the limit as it does at capacity. For a run-time "tw_capacity" setting.
 *
 * @return 0; -EINVAL (bad family, @p limit above the capacity).
 */
int coda_conntab_tw_limit(struct coda_conntab *t, int family, uint32_t limit);

/**
 * A number that changes whenever any key's value changes (insert, delete,
 * replace, TIME-WAIT entered, expired or recycled), owner only: values
 * from coda_conntab_lookup_bulk() still hold while it is unchanged.
 */
uint64_t coda_conntab_generation(const struct coda_conntab *t);

/**
 * Look up @p k from any thread, concurrently with the owner's changes
 * (not counted in the stats). A key in the table for the whole call is
 * found; a key absent for the whole call is not; a key inserted or deleted
 * meanwhile may be either. A value returned was @p k's at one instant.
 *
 * @return 0 and the value in @p value; -ENOENT if @p k is not in the table.
 */
int coda_conntab_reader_lookup(const struct coda_conntab *t, const struct coda_conntab_key *k,
			       uint32_t *value);

/** Start a walk over the table (any thread). */
void coda_conntab_iter_init(const struct coda_conntab *t, struct coda_conntab_iter *it);

/**
 * The next entry of a walk (any thread, concurrently with the owner). Every
 * entry in the table for the whole walk is returned exactly once; entries
 * inserted or deleted meanwhile may or may not be. Each (key, value)
 * returned was in the table together at one instant. No order.
 *
 * @return 0 with the entry in @p key and @p value; -ENOENT when the walk is over.
 */
int coda_conntab_iter_next(const struct coda_conntab *t, struct coda_conntab_iter *it,
			   struct coda_conntab_key *key, uint32_t *value);

/**
 * Put connection @p k into TIME-WAIT until @p expiry (usually now + 2 MSL):
 * take an entry of @p k's family, fill it from @p tw, arm its timer, and
 * make @p k name it (in place of its TCB index if it had one, which is free
 * afterwards; a reader sees the TCB value or the TIME-WAIT one, never
 * neither). When the pool is full the policy applies: RECYCLE ends the
 * entry closest to expiry first (coda_conntab_stats.tw_recycled); SKIP
 * keeps no TIME-WAIT.
 *
 * Errors are checked in the order listed; on -EINVAL, -EEXIST and -ERANGE
 * nothing changes.
 *
 * @param now    the TIME-WAIT clock (ms), for the coarse times of @p tw.
 * @param value  where to write the TIME-WAIT value; may be NULL.
 * @return 0; -EINVAL if the key's family is neither AF_INET nor AF_INET6 or
 *         rcv_wscale is above 14; -EEXIST if @p k is already in TIME-WAIT
 *         (restart it with coda_conntab_tw_restart() instead); -ERANGE if
 *         @p expiry is more than CODA_WHEEL_MAX_DELAY ms past the pool's
 *         clock; -ENOSPC if no TIME-WAIT was kept (policy SKIP with the pool
 *         full, a pool of capacity 0, nothing to recycle within one call's
 *         bounded work, or the local address list full): @p k is then no
 *         longer in the table, counted in coda_conntab_stats.tw_skipped.
 */
int coda_conntab_tw_enter(struct coda_conntab *t, const struct coda_conntab_key *k,
			  const struct coda_conntab_tw *tw, uint64_t now, uint64_t expiry,
			  uint32_t *value);

/**
 * Read TIME-WAIT entry @p value (owner only; other threads use
 * coda_conntab_reader_tw()).
 *
 * @param now  the TIME-WAIT clock (ms), to rebuild the coarse times.
 * @return 0; -EINVAL if @p value is not a TIME-WAIT value in range;
 *         -ENOENT if that entry is not in use.
 */
int coda_conntab_tw_get(const struct coda_conntab *t, uint32_t value, uint64_t now,
			struct coda_conntab_tw *tw);

/**
 * Change what TIME-WAIT entry of @p k keeps (owner only), for instance
 * TS.Recent on an acceptable segment, or last_ack_ms after a rate-limited
 * ACK. Readers see the old fields or the new ones, never a mix.
 *
 * @return 0; -EINVAL if rcv_wscale is above 14; -ENOENT if @p k is not in
 *         TIME-WAIT.
 */
int coda_conntab_tw_update(struct coda_conntab *t, const struct coda_conntab_key *k,
			   const struct coda_conntab_tw *tw, uint64_t now);

/**
 * Restart TIME-WAIT entry @p value's timer to end at @p expiry (a
 * retransmitted FIN restarts 2 MSL, RFC 9293 §3.10.7.4). Owner only.
 *
 * @return 0; -EINVAL if @p value is not a TIME-WAIT value in range; -ENOENT
 *         if the entry is not in use; -ERANGE if @p expiry is out of the
 *         wheel's reach (the timer is left as it was).
 */
int coda_conntab_tw_restart(struct coda_conntab *t, uint32_t value, uint64_t expiry);

/**
 * When TIME-WAIT entry @p value ends: the millisecond at which
 * coda_conntab_tw_expire() will end it, at most the wheel's lateness after
 * the expiry asked for (coda_wheel.h: under 12.7 %, 4.1 s for 60 s).
 * Owner only.
 *
 * @return that time; UINT64_MAX if @p value is not a TIME-WAIT entry in use.
 */
uint64_t coda_conntab_tw_expiry(const struct coda_conntab *t, uint32_t value);

/**
 * End the TIME-WAIT entries due at @p now (owner only): their keys leave
 * the table and the entries are free, counted in
 * coda_conntab_stats.tw_expired. At most @p max per call, and bounded work
 * per call as coda_wheel_advance(): call it once per loop iteration, or
 * while coda_conntab_tw_due() says more are due.
 *
 * @return the number of entries ended.
 */
unsigned int coda_conntab_tw_expire(struct coda_conntab *t, uint64_t now, unsigned int max);

/**
 * The earliest time (ms) at which coda_conntab_tw_expire() may end an
 * entry, UINT64_MAX when there is none. Owner only.
 */
uint64_t coda_conntab_tw_next_expiry(const struct coda_conntab *t);

/** Whether some TIME-WAIT entry is due at @p now. Owner only. */
bool coda_conntab_tw_due(const struct coda_conntab *t, uint64_t now);

/**
 * Look up @p k from any thread, as coda_conntab_reader_lookup(), and if it
 * is in TIME-WAIT copy its entry into @p tw, consistently with the value.
 *
 * @param now  the TIME-WAIT clock (ms), to rebuild the coarse times.
 * @param tw   filled when the value is a TIME-WAIT value; may be NULL.
 * @return 0 and the value in @p value; -ENOENT if @p k is not in the table.
 */
int coda_conntab_reader_tw(const struct coda_conntab *t, const struct coda_conntab_key *k,
			   uint64_t now, uint32_t *value, struct coda_conntab_tw *tw);

/**
 * Take a free TCB index (owner only). Indices freed less than a grace
 * period ago (with a QSBR variable) are not handed out. Allocation is
 * separate from insertion: insert the key with CODA_CONNTAB_VALUE_TCB(idx)
 * afterwards.
 *
 * @return 0 and the index in @p idx; -ENOSPC if none is free now (counted
 *         in coda_conntab_stats.tcb_alloc_fail).
 */
int coda_conntab_tcb_alloc(struct coda_conntab *t, uint32_t *idx);

/**
 * Give back TCB index @p idx (owner only) once no key names it. Without a
 * QSBR variable it is free at once; with one, after every reader online
 * has reported a quiescent state (see coda_conntab_tcb_reclaim()).
 *
 * @return 0; -EINVAL if @p idx is not below nb_tcb or not allocated;
 *         -EBUSY if a key in the table still names it.
 */
int coda_conntab_tcb_free(struct coda_conntab *t, uint32_t idx);

/**
 * Move TCB indices whose grace period is over back to the free list, and
 * start the grace period of those freed since the last call: one
 * rte_rcu_qsbr_start() (one atomic add) when something was freed, and a
 * check of the readers' counters. The owner calls it once per loop
 * iteration; coda_conntab_tcb_alloc() calls it too when it finds no index.
 * Nothing to do without a QSBR variable.
 *
 * @return the number of indices made free.
 */
unsigned int coda_conntab_tcb_reclaim(struct coda_conntab *t);

/** Entries in the table (TCB and TIME-WAIT). Exact for the owner; a recent value for others. */
uint32_t coda_conntab_count(const struct coda_conntab *t);

/**
 * Copy the table's counters into @p st. Any thread: each counter is read
 * atomically, but not all at one instant.
 */
void coda_conntab_stats(const struct coda_conntab *t, struct coda_conntab_stats *st);

/**
 * Check the table's structure: every slot's signature and home bucket agree
 * with its key's hash, every overflow count equals the entries probing past
 * its bucket, and every pass-filter counter below 3 counts them exactly (the
 * filter is 0 where the count is); the counts and the key arrays' in-use
 * marks match the slots.
 * O(capacity x probe length), owner only: for tests and debugging.
 *
 * @return 0 when consistent; -EFAULT when not; -ENOMEM if it could not get
 *         its scratch memory.
 */
int coda_conntab_audit(const struct coda_conntab *t);

#ifdef __cplusplus
}
#endif

#endif /* CODA_CONNTAB_H */
