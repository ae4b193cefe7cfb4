/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_PORT_H
#define CODA_PORT_H

/**
 * @file
 * coda_port: bring up one DPDK ethdev port for coda's per-core workers.
 *
 * One RX/TX queue pair per worker. Where the PMD offers RSS on TCP, it is
 * configured with a symmetric Toeplitz key (the 16-bit pattern 0x6d5a
 * repeated: swapping source and destination address and port gives the
 * same hash) and a redirection table filled round robin (entry i → queue
 * i % nb_queues), so both directions of a flow land on the same queue and
 * coda_port_rss_queue() predicts that queue for an active open.
 *
 * Software fallback, when the PMD has no RSS (net_af_packet, net_tap,
 * net_ring ...) or fewer RX queues than workers: the port gets one RX
 * queue; info.rss is false and coda_port_rss_queue() computes the same
 * symmetric hash in software (rte_softrss()) over a round-robin table of
 * 128 entries (of the next power of 2 when there are more workers), which
 * lib/worker uses to hand each segment to its owner over an rte_ring. TX
 * queues are one per worker when the PMD has that many, else one
 * (info.nb_tx_queues says).
 *
 * Checksum offloads (IPv4 header, TCP; receive and transmit) are enabled
 * when the PMD offers them and reported in info; what is not offered is
 * done in software by lib/net.
 *
 * Thread safety: control path, call from one thread, before the workers
 * poll (setup) or after they stopped (stop).
 */

#include <stdbool.h>
#include <stdint.h>

#include "coda_conntab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Only pointers to it here: the header compiles without DPDK's include path. */
struct rte_mempool;

/** Longest RSS key handled (bytes); DPDK PMDs use 40 or 52. */
#define CODA_PORT_RSS_KEY_MAX 64
/** Largest redirection table handled. */
#define CODA_PORT_RETA_MAX 512

/** What to configure; coda_port_conf_default() fills the defaults in brackets. */
struct coda_port_conf {
	uint16_t nb_queues; /**< Workers, hence RX/TX queue pairs wanted [1]. */
	uint16_t nb_rxd;    /**< RX descriptors per queue [1024], clamped to the PMD's limits. */
	uint16_t nb_txd;    /**< TX descriptors per queue [1024], clamped likewise. */
	uint16_t mtu;	    /**< IP MTU to set [1500]; 0: leave the port's. */
	bool promiscuous;   /**< Receive every unicast MAC [false]. */
	bool no_rss;	    /**< Never use the PMD's RSS: the software fallback [false]. */
	bool no_offload;    /**< Never use checksum offloads [false]. */
};

/** What the port ended up with. */
struct coda_port_info {
	uint16_t port_id;
	uint16_t nb_queues;	/**< Workers (conf.nb_queues). */
	uint16_t nb_rx_queues;	/**< RX queues configured: nb_queues with RSS, else 1. */
	uint16_t nb_tx_queues;	/**< TX queues configured: nb_queues, or 1 if the PMD has fewer. */
	bool rss;		/**< Hardware symmetric RSS spreads RX over nb_rx_queues. */
	bool rx_ip_cksum;	/**< The NIC checks IPv4 header checksums (mbuf ol_flags). */
	bool rx_l4_cksum;	/**< The NIC checks TCP checksums. */
	bool tx_ip_cksum;	/**< The NIC fills IPv4 header checksums (RTE_MBUF_F_TX_IP_CKSUM). */
	bool tx_l4_cksum;	/**< The NIC fills TCP checksums (RTE_MBUF_F_TX_TCP_CKSUM). */
	uint8_t mac[6];		/**< The port's MAC address. */
	uint16_t mtu;		/**< Its MTU after setup. */
	uint8_t rss_key_len;	/**< Bytes of rss_key. */
	uint8_t rss_key[CODA_PORT_RSS_KEY_MAX]; /**< The symmetric key (also used in software). */
	uint16_t reta_size;	/**< Entries of the redirection table (a power of 2). */
	char driver[32];	/**< The PMD's name ("net_af_packet"). */
};

/** Fill @p c with the defaults. */
void coda_port_conf_default(struct coda_port_conf *c);

/**
 * Configure and start port @p port_id: queues per the fallback rules
 * above, every RX queue taking mbufs from @p pools[q] (or @p pools[0] for
 * all when nb_pools is 1), offloads, MTU, promiscuous mode. A port that an
 * earlier setup left started is stopped and configured again.
 *
 * Hardware RSS needs all of: TCP over IPv4 and over IPv6 among the PMD's
 * hash types, nb_queues RX queues, a redirection table of a power of 2
 * entries, at least nb_queues and at most CODA_PORT_RETA_MAX, and a key of
 * 40 to CODA_PORT_RSS_KEY_MAX bytes; then the PMD must take the table
 * (and report back the key, where it reports keys). Otherwise the
 * software fallback.
 *
 * @return 0 and @p info filled; a negative errno: -EINVAL (bad port, a
 *         NULL argument, 0 queues or more than CODA_PORT_RETA_MAX, nb_pools
 *         neither 1 nor the queue count, a NULL pool), -ENOTSUP (the PMD
 *         refuses the MTU), or the error of the ethdev call that failed
 *         (rte_eth_dev_stop(), _info_get(), _configure(),
 *         rte_eth_rx/tx_queue_setup(), rte_eth_dev_start(),
 *         rte_eth_promiscuous_enable() ...). On error the port is left
 *         stopped and @p info untouched.
 */
int coda_port_setup(uint16_t port_id, const struct coda_port_conf *conf,
		    struct rte_mempool *const *pools, unsigned int nb_pools,
		    struct coda_port_info *info);

/**
 * The queue (worker) that receives the flow @p k, from either side: the
 * symmetric Toeplitz hash of its addresses and ports, looked up in the
 * round-robin redirection table. Equal to what the NIC does when info.rss,
 * and to what the software fallback does otherwise.
 */
uint16_t coda_port_rss_queue(const struct coda_port_info *info, const struct coda_conntab_key *k);

/** The symmetric Toeplitz hash of @p k (same for both directions). */
uint32_t coda_port_rss_hash(const struct coda_port_info *info, const struct coda_conntab_key *k);

/** Link status. */
struct coda_port_link {
	bool up;
	bool full_duplex;
	uint32_t speed_mbps; /**< 0 when unknown. */
};

/**
 * Wait until the link is up, at most @p timeout_ms (polled every 10 ms).
 * @return 0 (up), -ETIMEDOUT (still down; @p link filled), or a negative
 *         errno from rte_eth_link_get_nowait().
 */
int coda_port_wait_link(uint16_t port_id, uint32_t timeout_ms, struct coda_port_link *link);

/**
 * Stop and close the port; mbufs held by its queues go back to their pools.
 * rte_eth_dev_close() also releases the port: its id is no longer valid,
 * and setting it up again takes probing the device again (rte_dev_probe(),
 * rte_eal_hotplug_add()).
 */
void coda_port_stop(uint16_t port_id);

#ifdef __cplusplus
}
#endif

#endif /* CODA_PORT_H */
