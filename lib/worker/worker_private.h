/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef WORKER_PRIVATE_H
#define WORKER_PRIVATE_H

/* Internals shared by worker.c (the loop and API) and telemetry.c. */

#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "coda_worker.h"

/* The snapshot as 64-bit words, copied with relaxed atomics under the sequence lock. */
union worker_snap {
	struct coda_worker_snapshot s;
	uint64_t w[sizeof(struct coda_worker_snapshot) / sizeof(uint64_t)];
};
static_assert(sizeof(struct coda_worker_snapshot) % sizeof(uint64_t) == 0,
	      "the snapshot is copied as 64-bit words");

/*
 * The TCP segments of one burst, looked up in the table together
 * (coda_tcp_input_burst()); their mbufs are freed once processed.
 */
struct rx_batch {
	unsigned int n;
	struct coda_conntab_key keys[256];
	struct coda_tcp_rx segs[256];
	struct rte_mbuf *mbufs[256];
};

struct coda_worker {
	/* Read on every pass. */
	struct coda_tcp_stack *tcp;
	struct coda_net *net;
	uint64_t now;		/* ms since creation, as of this pass */
	uint64_t tsc;		/* the TSC this pass read */
	uint16_t port_id;
	uint16_t rxq;		/* its RX queue when it polls the port */
	uint16_t txq;		/* its TX queue, when it has one */
	uint16_t burst;
	bool polls_port;	/* it polls an RX queue of the port */
	bool dispatches;	/* software RSS: it hands TCP segments to their owners */
	bool own_txq;		/* it has a TX queue; else frames go to worker 0's txring */
	bool tx_offload;	/* frames with TCP carry NIC checksum requests */
	bool rx_ip_cksum, rx_l4_cksum;
	unsigned int index;
	struct rte_eth_dev_tx_buffer *txb;
	uint64_t tx_oldest;	/* TSC of the oldest frame in txb (valid when txb->length) */
	uint64_t drain_tsc;	/* tx_drain_us in TSC cycles */
	struct rte_mempool *pool;
	struct rte_ring *inbox;	/* mbufs from other workers; bit 0 set: learn-only copy */
	struct rte_ring *txring; /* worker 0: frames from workers without a TX queue */
	struct rte_ring *calls;	/* struct worker_call pointers */
	struct coda_worker **peers; /* all workers of the port, by index */
	unsigned int nb_peers;
	struct coda_worker_stats st;

	/* Control and slow path. */
	struct coda_port_info port;
	struct coda_worker_conf conf;
	struct coda_net_conf net_conf; /* as lib/net got it: the port's MAC and offload filled in */
	uint64_t tsc0;		/* TSC at creation */
	uint64_t tsc_per_ms;
	uint64_t next_net_tick;	/* ms */
	uint64_t next_snap;	/* ms */
	uint32_t stop;		/* set by coda_worker_stop() (atomic) */
	uint16_t eph_next;	/* next ephemeral port to try */
	uint32_t snap_seq;	/* odd while the worker writes snap */
	union worker_snap snap;
	uint8_t frame[CODA_NET_FRAME_MAX]; /* a multi-segment frame, made contiguous */
	struct rx_batch batch;
} __rte_cache_aligned;

/* Publish a snapshot now (the worker's thread, or before it runs). */
void worker_snapshot_take(struct coda_worker *w);

#endif /* WORKER_PRIVATE_H */
