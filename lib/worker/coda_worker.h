/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_WORKER_H
#define CODA_WORKER_H

/**
 * @file
 * coda_worker: one poll-mode worker per lcore, and the application API.
 *
 * A worker owns, for its lcore alone: a TCP stack (lib/tcp: its connection
 * table, TIME-WAIT store and timing wheel), a network layer (lib/net: ARP
 * and ND caches), one RX and one TX queue of a port (lib/port), a TX
 * buffer and its counters. One pass of the loop (coda_worker_poll()):
 *
 *     now = TSC, once
 *     rx_burst (its queue, or frames other workers handed it) →
 *       lib/net parses and validates (named drop counters), answers ARP,
 *       ND and ping → TCP segments to coda_tcp_input() → application
 *       events (callbacks) → segments out through lib/net into mbufs in
 *       the TX buffer
 *     calls posted by other threads (coda_worker_call())
 *     timers due (TCP wheel; neighbour retries every 100 ms)
 *     TX buffer flushed when full, when its oldest frame is tx_drain_us
 *     old, or when the RX queue was empty
 *
 * Flow placement: with hardware RSS (coda_port_info.rss) each worker polls
 * its own RX queue. Without it, worker 0 polls the port's single RX queue
 * and hands every TCP segment to its owner, coda_port_rss_queue(), over the
 * owner's inbox ring (the same symmetric hash the NIC would use). ARP and
 * ICMPv6 frames received by one worker are also given, as read-only
 * copies, to every other worker, whose neighbour caches learn from them
 * without answering. Active opens choose a source port whose flow hashes
 * to the worker's own queue and is not in TIME-WAIT.
 *
 * Frames are copied between mbufs and lib/net's byte buffers; every mbuf
 * taken from a pool goes back to it on every path (counted drops free
 * theirs).
 *
 * Thread safety: everything but coda_worker_call(), coda_worker_stop(),
 * coda_worker_snapshot() and the telemetry commands runs on the worker's
 * lcore only (from its callbacks, or from a function given to
 * coda_worker_call()), or before the loop starts.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "coda_conntab.h"
#include "coda_net.h"
#include "coda_port.h"
#include "coda_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct coda_worker;

/** An application event on socket @p sock (lib/tcp's events). */
typedef void (*coda_worker_event_fn)(struct coda_worker *w, int sock, enum coda_tcp_event ev,
				     void *arg);

/** Configuration of one worker; coda_worker_conf_default() fills the defaults in brackets. */
struct coda_worker_conf {
	uint16_t index;			    /**< Worker number: its RX/TX queue [0]. */
	uint16_t port_id;		    /**< The port [0]. */
	const struct coda_port_info *port;  /**< The port as coda_port_setup() left it. */
	struct rte_mempool *pool;	    /**< Mbufs for frames sent (and its RX queue). */
	struct coda_tcp_conf tcp;	    /**< The stack [coda_tcp_conf_default()]. */
	/**
	 * The network layer [coda_net_conf_default()]; mac is taken from the
	 * port unless set here (non-zero), tx_cksum_offload from the port's
	 * offloads.
	 */
	struct coda_net_conf net;
	uint16_t burst;		/**< Frames per RX burst and per TX batch [32], at most 256. */
	uint32_t tx_drain_us;	/**< Oldest a buffered frame may get before a flush [100]. */
	uint32_t inbox_size;	/**< Slots of the inbox and call rings, a power of 2 [1024]. */
	/** First and last source port tried by an active open [49152, 65535]. */
	uint16_t ephemeral_lo, ephemeral_hi;
	coda_worker_event_fn event; /**< Application events [NULL: none]. */
	void *event_arg;
};

/** Fill @p c with the defaults. */
void coda_worker_conf_default(struct coda_worker_conf *c);

/** What a worker counts besides lib/tcp and lib/net (monotonic). */
struct coda_worker_stats {
	uint64_t loops;		 /**< Passes of the loop. */
	uint64_t rx_packets;	 /**< Frames taken from its RX queue. */
	uint64_t rx_bursts;	 /**< ... bursts that returned frames. */
	uint64_t rx_inbox;	 /**< Frames taken from its inbox (handed over by worker 0). */
	uint64_t rx_learn;	 /**< ARP/ICMPv6 copies from other workers, learnt from. */
	uint64_t rx_handoff;	 /**< Frames handed to another worker's inbox. */
	uint64_t rx_handoff_full; /**< ... dropped: that inbox was full. */
	uint64_t rx_too_long;	 /**< Frames dropped: longer than CODA_NET_FRAME_MAX. */
	uint64_t tx_packets;	 /**< Frames the PMD took. */
	uint64_t tx_dropped;	 /**< Frames the PMD refused (TX ring full), freed. */
	uint64_t tx_nombuf;	 /**< Frames not sent: the pool was empty. */
	uint64_t calls;		 /**< Functions run for coda_worker_call(). */
	uint64_t calls_abandoned; /**< ... whose caller had given up waiting. */
};

/**
 * Make a worker. Call on any thread before it runs; its clock starts now.
 *
 * @return it, or NULL with rte_errno: EINVAL (no port info or pool, index
 *         not below the port's queue count, burst 0 or above 256,
 *         inbox_size not a power of 2, ephemeral_lo above ephemeral_hi),
 *         ENOMEM, or what coda_tcp_create() / coda_net_create() set.
 */
struct coda_worker *coda_worker_create(const struct coda_worker_conf *conf);

/**
 * Tell every worker of a port about the others (inbox hand-off, ARP/ND
 * copies). Call once, after creating all of them, before any runs.
 * @return 0; -EINVAL (@p n is 0, above RTE_MAX_LCORE, or a worker's index
 *         is not its position in @p all).
 */
int coda_worker_group(struct coda_worker *const *all, unsigned int n);

/** Free a worker that is not running (frames in its rings are freed). NULL is allowed. */
void coda_worker_free(struct coda_worker *w);

/** One pass of the loop. @return frames received in it. */
unsigned int coda_worker_poll(struct coda_worker *w);

/** Poll until coda_worker_stop(); signature of lcore_function_t. @return 0. */
int coda_worker_run(void *w);

/** Ask coda_worker_run() to return (any thread). */
void coda_worker_stop(struct coda_worker *w);

/**
 * Run @p fn(w, arg) on the worker's lcore, between two bursts, and wait for
 * it (any thread but the worker's). The way other threads (control socket,
 * telemetry) reach a worker's sockets.
 *
 * @return fn's result; -ETIMEDOUT if the worker did not run it within
 *         @p timeout_ms (it then never will); -ENOBUFS (call ring full);
 *         -ENOMEM.
 */
int coda_worker_call(struct coda_worker *w, int (*fn)(struct coda_worker *w, void *arg),
		     void *arg, uint32_t timeout_ms);

/** The worker's clock (ms since creation), as of its last pass (or creation). */
uint64_t coda_worker_now(const struct coda_worker *w);

/** Its index (RX/TX queue). */
unsigned int coda_worker_index(const struct coda_worker *w);

/** Its TCP stack (for coda_tcp_* calls not wrapped below; pass coda_worker_now()). */
struct coda_tcp_stack *coda_worker_tcp(struct coda_worker *w);

/** Its network layer (neighbours: coda_net_neigh_add()). */
struct coda_net *coda_worker_net(struct coda_worker *w);

/**
 * The worker (index) that owns flow @p k on @p w's port: where its segments
 * arrive (coda_port_rss_queue()). A connect() with a given source port must
 * run there.
 */
unsigned int coda_worker_flow_owner(const struct coda_worker *w, const struct coda_conntab_key *k);

/** The network layer's configuration as in force: addresses, MAC, offload. */
const struct coda_net_conf *coda_worker_net_conf(const struct coda_worker *w);

/*
 * The application API (DESIGN.md §6): lib/tcp's calls on the worker's
 * clock. Results and errors are those of the coda_tcp_* call named.
 */

/** coda_tcp_listen(); @p laddr 4 or 16 bytes, or NULL for any. */
int coda_worker_listen(struct coda_worker *w, uint8_t family, const void *laddr, uint16_t port,
		       uint32_t backlog);
/** coda_tcp_accept(). */
int coda_worker_accept(struct coda_worker *w, int lsock);
/**
 * Active open from @p laddr to @p raddr : @p rport (ports in network byte
 * order). @p lport 0: a port in [ephemeral_lo, ephemeral_hi] whose flow
 * lands on this worker's queue and is not in use or in TIME-WAIT, tried
 * from a random start. coda_tcp_connect()'s errors, and -EADDRNOTAVAIL
 * when no port qualifies.
 */
int coda_worker_connect(struct coda_worker *w, uint8_t family, const void *laddr,
			const void *raddr, uint16_t rport, uint16_t lport);
int32_t coda_worker_send(struct coda_worker *w, int sock, const void *buf, uint32_t len);
int32_t coda_worker_recv(struct coda_worker *w, int sock, void *buf, uint32_t len);
int coda_worker_shutdown(struct coda_worker *w, int sock, int how);
int coda_worker_close(struct coda_worker *w, int sock);
int coda_worker_abort(struct coda_worker *w, int sock);

/**
 * A copy of the worker's counters, taken by the worker at most every 10 ms
 * and readable from any thread without stopping it (a sequence lock the
 * worker writes and readers retry on).
 */
struct coda_worker_snapshot {
	uint64_t now;	/**< The worker's clock when it was taken. */
	struct coda_worker_stats worker;
	struct coda_tcp_stats tcp;
	struct coda_net_stats net;
	struct coda_conntab_stats conntab; /**< Its table: TIME-WAIT occupancy, expiry, recycling. */
	uint64_t tw_capacity;  /**< TIME-WAIT entries it may hold (IPv4 + IPv6). */
	uint64_t mbufs_in_use; /**< Of its pool (rte_mempool_in_use_count()). */
};

/** Copy the last snapshot of @p w (any thread). */
void coda_worker_snapshot(const struct coda_worker *w, struct coda_worker_snapshot *snap);

/**
 * The snapshots of @p n workers summed (every field is a counter or a
 * gauge), any thread; mbufs_in_use counts each pool once.
 */
void coda_worker_snapshot_sum(struct coda_worker *const *w, unsigned int n,
			      struct coda_worker_snapshot *sum);

/**
 * Register the telemetry commands /coda/stats, /coda/states, /coda/tw,
 * /coda/drops and /coda/conn for these workers (docs/architecture.md lists
 * their output). Once per process; the workers must outlive the process's
 * use of telemetry.
 * @return 0; -EALREADY (called before); a negative errno from
 *         rte_telemetry_register_cmd().
 */
int coda_worker_telemetry(struct coda_worker *const *all, unsigned int n);

#ifdef __cplusplus
}
#endif

#endif /* CODA_WORKER_H */
