/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port.c: bring up one ethdev port (coda_port.h) and predict, in software,
 * the RX queue its RSS gives a flow.
 *
 * Setup, in order: validate; stop the port (an earlier setup may have
 * started it); decide from rte_eth_dev_info what the port can do (RSS,
 * TX queues, checksum offloads) into a local struct coda_port_info;
 * configure, set the MTU, set up the queues, start; then, with RSS,
 * program the redirection table and check the key. A PMD that refuses the
 * table (or reports another key) gets the software fallback instead: stop,
 * configure again with one RX queue, start again. Every error path ends at
 * `err`, which leaves the port stopped; the caller's info is written only
 * on success.
 *
 * The redirection table is written after start: every PMD accepts it then
 * (some refuse it before), and until it is written the PMD's default table
 * is the same round robin (i % nb_rx_queues) in every PMD we know of; the
 * workers do not poll yet anyway.
 *
 * The hash: Toeplitz over the input Microsoft's RSS specification defines
 * for TCP (what every NIC hashes): source address, destination address,
 * source port, destination port, in network byte order. We feed it as a
 * received packet has it: the remote side (raddr, rport) as the source,
 * the local side as the destination. With the key 0x6d5a repeated the
 * order does not matter (swapping the addresses shifts the input by 32
 * bits, swapping the ports by 16, and the key repeats every 16 bits), so
 * the segment we send, the one we receive and the key of the connection
 * all hash alike; the order only matters for other keys, as in the
 * known-answer tests.
 */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_thash.h>

#include "coda_port.h"

/* TCP must be hashed on both families for coda_port_rss_queue() to hold. */
#define RSS_TCP (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP)
/* What we ask for: TCP by ports, the rest of IP (ICMP, fragments) by addresses. */
#define RSS_HF (RSS_TCP | RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6)
/*
 * Bytes of key the hash reads: an IPv6 TCP input is 36 bytes, and the
 * Toeplitz window slides 32 bits past its end. Also the key length when
 * the PMD gives none.
 */
#define KEY_LEN 40
/* Entries of the software redirection table (at least, see sw_fallback()). */
#define SW_RETA_SIZE 128u
#define LINK_POLL_MS 10

/* Log type "coda.port", at NOTICE unless --log-level says otherwise. */
RTE_LOG_REGISTER(coda_port_logtype, coda.port, NOTICE);
#define PORT_LOG(level, fmt, ...)                                                                  \
	rte_log(RTE_LOG_##level, coda_port_logtype, "coda_port: " fmt "\n", __VA_ARGS__)

/* The words of union rte_thash_tuple that rte_softrss() reads for TCP. */
static_assert(RTE_THASH_V4_L4_LEN == 3, "IPv4 TCP input: 2 addresses and the ports");
static_assert(RTE_THASH_V6_L4_LEN == 9, "IPv6 TCP input: 2 addresses and the ports");
static_assert(KEY_LEN <= CODA_PORT_RSS_KEY_MAX, "the key fits the info");
static_assert(CODA_PORT_RETA_MAX % RTE_ETH_RETA_GROUP_SIZE == 0, "whole RETA groups");

void
coda_port_conf_default(struct coda_port_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->nb_queues = 1;
	c->nb_rxd = 1024;
	c->nb_txd = 1024;
	c->mtu = 1500;
}

static bool
args_valid(uint16_t port_id, const struct coda_port_conf *conf, struct rte_mempool *const *pools,
	   unsigned int nb_pools, const struct coda_port_info *info)
{
	if (conf == NULL || pools == NULL || info == NULL || !rte_eth_dev_is_valid_port(port_id) ||
	    conf->nb_queues == 0 || conf->nb_queues > CODA_PORT_RETA_MAX ||
	    (nb_pools != 1 && nb_pools != conf->nb_queues))
		return false;
	for (unsigned int i = 0; i < nb_pools; i++)
		if (pools[i] == NULL)
			return false;
	return true;
}

/* Whether the PMD can do our symmetric RSS (coda_port_setup()'s conditions). */
static bool
rss_capable(const struct rte_eth_dev_info *dev, uint16_t nb_queues)
{
	return (dev->flow_type_rss_offloads & RSS_TCP) == RSS_TCP &&
	       dev->max_rx_queues >= nb_queues && rte_is_power_of_2(dev->reta_size) &&
	       dev->reta_size >= nb_queues && dev->reta_size <= CODA_PORT_RETA_MAX &&
	       (dev->hash_key_size == 0 ||
		(dev->hash_key_size >= KEY_LEN && dev->hash_key_size <= CODA_PORT_RSS_KEY_MAX));
}

/* One RX queue, the hash and the round-robin table in software. */
static void
sw_fallback(struct coda_port_info *pi)
{
	pi->rss = false;
	pi->nb_rx_queues = 1;
	pi->rss_key_len = KEY_LEN;
	/* Every worker needs an entry: more than 128 of them take a larger table. */
	pi->reta_size = (uint16_t)RTE_MAX(SW_RETA_SIZE, rte_align32pow2(pi->nb_queues));
}

/* What the port will be, from what it offers and what is asked. */
static void
plan(struct coda_port_info *pi, uint16_t port_id, const struct coda_port_conf *conf,
     const struct rte_eth_dev_info *dev)
{
	uint16_t nb = conf->nb_queues;

	memset(pi, 0, sizeof(*pi));
	pi->port_id = port_id;
	pi->nb_queues = nb;
	pi->nb_tx_queues = dev->max_tx_queues >= nb ? nb : 1;
	for (unsigned int i = 0; i < CODA_PORT_RSS_KEY_MAX; i += 2) {
		pi->rss_key[i] = 0x6d;
		pi->rss_key[i + 1] = 0x5a;
	}
	if (!conf->no_rss && rss_capable(dev, nb)) {
		pi->rss = true;
		pi->nb_rx_queues = nb;
		pi->rss_key_len = dev->hash_key_size != 0 ? (uint8_t)dev->hash_key_size : KEY_LEN;
		pi->reta_size = dev->reta_size;
	} else {
		sw_fallback(pi);
	}
	if (!conf->no_offload) {
		pi->rx_ip_cksum = (dev->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
		pi->rx_l4_cksum = (dev->rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
		pi->tx_ip_cksum = (dev->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
		pi->tx_l4_cksum = (dev->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
	}
	snprintf(pi->driver, sizeof(pi->driver), "%s",
		 dev->driver_name != NULL ? dev->driver_name : "");
}

/*
 * Configure the (stopped) port as @p pi says, set its MTU, set up its
 * queues. @p mtu is the port's MTU before: rte_eth_dev_configure() would
 * otherwise reset it to 1500.
 */
static int
configure(const struct coda_port_info *pi, const struct coda_port_conf *conf,
	  struct rte_mempool *const *pools, unsigned int nb_pools,
	  const struct rte_eth_dev_info *dev, uint16_t mtu)
{
	struct rte_eth_conf ec = {0};
	struct rte_eth_rxconf rxc = dev->default_rxconf;
	struct rte_eth_txconf txc = dev->default_txconf;
	uint16_t nb_rxd = conf->nb_rxd, nb_txd = conf->nb_txd, q;
	int socket = rte_eth_dev_socket_id(pi->port_id);
	int ret;

	ec.rxmode.mtu = mtu;
	if (pi->rss) {
		ec.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		ec.rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)pi->rss_key;
		ec.rx_adv_conf.rss_conf.rss_key_len = pi->rss_key_len;
		ec.rx_adv_conf.rss_conf.rss_hf = RSS_HF & dev->flow_type_rss_offloads;
	}
	if (pi->rx_ip_cksum)
		ec.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	if (pi->rx_l4_cksum)
		ec.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	if (pi->tx_ip_cksum)
		ec.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	if (pi->tx_l4_cksum)
		ec.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	ret = rte_eth_dev_configure(pi->port_id, pi->nb_rx_queues, pi->nb_tx_queues, &ec);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(pi->port_id, &nb_rxd, &nb_txd);
	if (ret != 0)
		return ret;
	if (conf->mtu != 0 && conf->mtu != mtu) {
		ret = rte_eth_dev_set_mtu(pi->port_id, conf->mtu);
		if (ret == -ENOTSUP || ret == -EINVAL) {
			PORT_LOG(ERR, "port %u (%s) refuses MTU %u", pi->port_id, pi->driver,
				 conf->mtu);
			return -ENOTSUP;
		}
		if (ret != 0)
			return ret;
	}
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	/* Per-queue offloads: the port's, so nothing else (no MBUF_FAST_FREE). */
	rxc.offloads = ec.rxmode.offloads;
	txc.offloads = ec.txmode.offloads;
	for (q = 0; q < pi->nb_rx_queues; q++) {
		ret = rte_eth_rx_queue_setup(pi->port_id, q, nb_rxd, (unsigned int)socket, &rxc,
					     pools[nb_pools == 1 ? 0 : q]);
		if (ret != 0)
			return ret;
	}
	for (q = 0; q < pi->nb_tx_queues; q++) {
		ret = rte_eth_tx_queue_setup(pi->port_id, q, nb_txd, (unsigned int)socket, &txc);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Ports this library started: stopped before a new setup, and only those (no ethdev warning). */
static bool started[RTE_MAX_ETHPORTS];

static int
port_halt(uint16_t port_id)
{
	int ret;

	if (port_id >= RTE_MAX_ETHPORTS || !started[port_id])
		return 0;
	ret = rte_eth_dev_stop(port_id);
	if (ret == 0)
		started[port_id] = false;
	return ret;
}

/* Configure and start the stopped port as @p pi says, keeping its MTU unless conf sets one. */
static int
bring_up(const struct coda_port_info *pi, const struct coda_port_conf *conf,
	 struct rte_mempool *const *pools, unsigned int nb_pools,
	 const struct rte_eth_dev_info *dev)
{
	uint16_t mtu;
	int ret = rte_eth_dev_get_mtu(pi->port_id, &mtu);

	if (ret != 0)
		return ret;
	ret = configure(pi, conf, pools, nb_pools, dev, mtu);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_start(pi->port_id);
	started[pi->port_id] = ret == 0;
	return ret;
}

/* Whether the port reports our key; -ENOTSUP where it reports none. */
static int
key_check(const struct coda_port_info *pi)
{
	uint8_t key[CODA_PORT_RSS_KEY_MAX];
	struct rte_eth_rss_conf rc = {.rss_key = key, .rss_key_len = sizeof(key)};
	int ret = rte_eth_dev_rss_hash_conf_get(pi->port_id, &rc);

	if (ret != 0)
		return ret;
	return memcmp(key, pi->rss_key, pi->rss_key_len) == 0 ? 0 : -EIO;
}

/*
 * Program the round-robin redirection table into the started port and
 * check that the port hashes with our key, where it says which key it
 * uses: a PMD that kept its own key at configure time (net_null) is given
 * ours again with rte_eth_dev_rss_hash_update(). Returns 0, or the PMD's
 * error (-EIO: it reports another key still).
 */
static int
rss_program(const struct coda_port_info *pi, uint64_t rss_hf)
{
	struct rte_eth_rss_reta_entry64 reta[CODA_PORT_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_conf rc = {
		.rss_key = (uint8_t *)(uintptr_t)pi->rss_key,
		.rss_key_len = pi->rss_key_len,
		.rss_hf = rss_hf,
	};
	int ret;

	memset(reta, 0, sizeof(reta));
	for (uint16_t i = 0; i < pi->reta_size; i++) {
		struct rte_eth_rss_reta_entry64 *g = &reta[i / RTE_ETH_RETA_GROUP_SIZE];

		g->mask |= UINT64_C(1) << (i % RTE_ETH_RETA_GROUP_SIZE);
		g->reta[i % RTE_ETH_RETA_GROUP_SIZE] = (uint16_t)(i % pi->nb_queues);
	}
	ret = rte_eth_dev_rss_reta_update(pi->port_id, reta, pi->reta_size);
	if (ret != 0)
		return ret;
	ret = key_check(pi);
	if (ret != -EIO)
		return ret == -ENOTSUP ? 0 : ret;
	ret = rte_eth_dev_rss_hash_update(pi->port_id, &rc);
	if (ret != 0)
		return ret;
	ret = key_check(pi);
	return ret == -ENOTSUP ? 0 : ret;
}

int
coda_port_setup(uint16_t port_id, const struct coda_port_conf *conf,
		struct rte_mempool *const *pools, unsigned int nb_pools,
		struct coda_port_info *info)
{
	struct rte_eth_dev_info dev;
	struct rte_ether_addr mac;
	struct coda_port_info pi;
	int ret;

	if (!args_valid(port_id, conf, pools, nb_pools, info))
		return -EINVAL;
	ret = port_halt(port_id);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_info_get(port_id, &dev);
	if (ret != 0)
		goto err;
	plan(&pi, port_id, conf, &dev);
	ret = bring_up(&pi, conf, pools, nb_pools, &dev);
	if (ret != 0)
		goto err;
	if (pi.rss) {
		ret = rss_program(&pi, RSS_HF & dev.flow_type_rss_offloads);
		if (ret != 0) {
			/*
			 * Configured again with one RX queue; an MTU set
			 * above stays (rte_eth_dev_set_mtu() keeps it in the
			 * port's configuration).
			 */
			PORT_LOG(WARNING, "port %u (%s): RSS refused (%d), software RSS instead",
				 port_id, pi.driver, ret);
			(void)port_halt(port_id);
			sw_fallback(&pi);
			ret = bring_up(&pi, conf, pools, nb_pools, &dev);
			if (ret != 0)
				goto err;
		}
	}
	if (conf->promiscuous) {
		ret = rte_eth_promiscuous_enable(port_id);
		if (ret != 0)
			goto err;
	}
	ret = rte_eth_macaddr_get(port_id, &mac);
	if (ret != 0)
		goto err;
	memcpy(pi.mac, mac.addr_bytes, sizeof(pi.mac));
	ret = rte_eth_dev_get_mtu(port_id, &pi.mtu);
	if (ret != 0)
		goto err;
	*info = pi;
	return 0;

err:
	(void)port_halt(port_id);
	return ret;
}

/* A big-endian word of an address, in host byte order. */
static inline uint32_t
word(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/*
 * The input is built as the words of union rte_thash_tuple (host byte
 * order: the addresses word by word, as rte_thash_load_v6_addrs() loads
 * them, then the source port in the high half of a word and the
 * destination port in the low one), but in a uint32_t array, which is what
 * rte_softrss() reads. It reads the key by 32-bit words too: the key is
 * copied out of the info, where it is not aligned.
 */
uint32_t
coda_port_rss_hash(const struct coda_port_info *info, const struct coda_conntab_key *k)
{
	uint32_t in[RTE_THASH_V6_L4_LEN], key[KEY_LEN / 4];
	uint32_t ports = (uint32_t)rte_be_to_cpu_16(k->rport) << 16 | rte_be_to_cpu_16(k->lport);

	memcpy(key, info->rss_key, sizeof(key));
	if (k->family == AF_INET6) {
		for (unsigned int i = 0; i < 4; i++) {
			in[i] = word(k->raddr + 4 * i);
			in[4 + i] = word(k->laddr + 4 * i);
		}
		in[8] = ports;
		return rte_softrss(in, RTE_THASH_V6_L4_LEN, (const uint8_t *)key);
	}
	in[0] = word(k->raddr);
	in[1] = word(k->laddr);
	in[2] = ports;
	return rte_softrss(in, RTE_THASH_V4_L4_LEN, (const uint8_t *)key);
}

uint16_t
coda_port_rss_queue(const struct coda_port_info *info, const struct coda_conntab_key *k)
{
	uint32_t h = coda_port_rss_hash(info, k);

	/* Entry h mod reta_size of a table whose entry i is i mod nb_queues. */
	return (uint16_t)((h & (info->reta_size - 1u)) % info->nb_queues);
}

int
coda_port_wait_link(uint16_t port_id, uint32_t timeout_ms, struct coda_port_link *link)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * timeout_ms / 1000;
	struct rte_eth_link l;
	int ret;

	for (;;) {
		memset(&l, 0, sizeof(l));
		ret = rte_eth_link_get_nowait(port_id, &l);
		if (ret != 0)
			return ret;
		link->up = l.link_status == RTE_ETH_LINK_UP;
		link->full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
		link->speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
		if (link->up)
			return 0;
		if (rte_get_timer_cycles() >= end)
			return -ETIMEDOUT;
		rte_delay_us_sleep(LINK_POLL_MS * 1000);
	}
}

void
coda_port_stop(uint16_t port_id)
{
	int ret = port_halt(port_id);

	if (ret != 0)
		PORT_LOG(WARNING, "port %u: stop: %d", port_id, ret);
	ret = rte_eth_dev_close(port_id);
	if (ret != 0)
		PORT_LOG(WARNING, "port %u: close: %d", port_id, ret);
}
