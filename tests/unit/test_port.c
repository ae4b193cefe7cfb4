/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/port.
 *
 * The hash is checked three ways: against the known answers of
 * Microsoft's RSS verification suite (the key 6d5a56da..., the packet's
 * source fed as the connection's remote side); against DPDK's own
 * Toeplitz fed the way rte_thash.h documents it (rte_thash_load_v6_addrs(),
 * rte_convert_rss_key(), rte_softrss_be()) for random flows and keys; and
 * for symmetry and spread under the 0x6d5a key.
 *
 * Setup runs on virtual ports, under an EAL this program starts itself
 * (no hugepages, no PCI, no shared files under a file prefix of its own:
 * unprivileged, and beside other tests in parallel): net_null, which
 * advertises RSS (a RETA of 128, takes a key by rss_hash_update and
 * reports it back, but hashes nothing), and net_ring, which has no RSS, so
 * both the hardware and the software paths are taken. A PMD refusing the
 * RETA is simulated by fault injection (below). No PMD here has checksum
 * offloads: those are checked only as far as "info says what dev_info
 * offers". Expected on stderr: DPDK's complaints about the bad MTUs and
 * port ids the tests pass, and net_ring's about its rings when probed
 * again.
 */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_thash.h>

#include "coda_port.h"
#include "test_rng.h"

#define NULL_DEV "net_null0"
#define RING_DEV "net_ring0"

static struct rte_mempool *pool;

/*
 * Fault injection. The test links lib/port statically and DPDK
 * dynamically, so these definitions take the place of DPDK's for
 * lib/port's calls; they forward to DPDK's (dlsym(RTLD_NEXT)) unless a
 * test asks them to fail.
 */
static int reta_error;		/* What rte_eth_dev_rss_reta_update() returns; 0: DPDK's answer. */
static int configure_left = -1; /* rte_eth_dev_configure() calls that pass before -EIO; -1: all. */

int
rte_eth_dev_rss_reta_update(uint16_t port_id, struct rte_eth_rss_reta_entry64 *reta_conf,
			    uint16_t reta_size)
{
	int (*real)(uint16_t, struct rte_eth_rss_reta_entry64 *, uint16_t);

	if (reta_error != 0)
		return reta_error;
	real = (int (*)(uint16_t, struct rte_eth_rss_reta_entry64 *, uint16_t))dlsym(
		RTLD_NEXT, "rte_eth_dev_rss_reta_update");
	assert_non_null(real);
	return real(port_id, reta_conf, reta_size);
}

int
rte_eth_dev_configure(uint16_t port_id, uint16_t nb_rx_q, uint16_t nb_tx_q,
		      const struct rte_eth_conf *dev_conf)
{
	int (*real)(uint16_t, uint16_t, uint16_t, const struct rte_eth_conf *);

	if (configure_left == 0)
		return -EIO;
	if (configure_left > 0)
		configure_left--;
	real = (int (*)(uint16_t, uint16_t, uint16_t, const struct rte_eth_conf *))dlsym(
		RTLD_NEXT, "rte_eth_dev_configure");
	assert_non_null(real);
	return real(port_id, nb_rx_q, nb_tx_q, dev_conf);
}

/* Microsoft's verification key. */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* An info for the hash alone: @p key (40 bytes), or the 0x6d5a key when NULL. */
static void
hash_info(struct coda_port_info *pi, const uint8_t *key, uint16_t nb_queues, uint16_t reta_size)
{
	memset(pi, 0, sizeof(*pi));
	pi->nb_queues = nb_queues;
	pi->reta_size = reta_size;
	pi->rss_key_len = 40;
	for (unsigned int i = 0; i < sizeof(pi->rss_key); i++)
		pi->rss_key[i] = key != NULL && i < 40 ? key[i] : (i % 2 == 0 ? 0x6d : 0x5a);
}

/* A connection key from the packet's view: it came from @p src to us at @p dst. */
static void
key_v4_pkt(struct coda_conntab_key *k, const char *src, uint16_t sport, const char *dst,
	   uint16_t dport)
{
	uint32_t s, d;

	assert_int_equal(inet_pton(AF_INET, src, &s), 1);
	assert_int_equal(inet_pton(AF_INET, dst, &d), 1);
	coda_conntab_key_v4(k, d, rte_cpu_to_be_16(dport), s, rte_cpu_to_be_16(sport));
}

static void
key_v6_pkt(struct coda_conntab_key *k, const char *src, uint16_t sport, const char *dst,
	   uint16_t dport)
{
	uint8_t s[16], d[16];

	assert_int_equal(inet_pton(AF_INET6, src, s), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, d), 1);
	coda_conntab_key_v6(k, d, rte_cpu_to_be_16(dport), s, rte_cpu_to_be_16(sport));
}

/* The same connection seen from the other end. */
static void
swap_key(struct coda_conntab_key *r, const struct coda_conntab_key *k)
{
	*r = *k;
	r->lport = k->rport;
	r->rport = k->lport;
	memcpy(r->laddr, k->raddr, 16);
	memcpy(r->raddr, k->laddr, 16);
}

static void
random_key(struct coda_conntab_key *k, bool v6)
{
	uint8_t a[16], b[16];
	uint64_t x;

	for (unsigned int i = 0; i < 16; i += 8) {
		x = rnd();
		memcpy(a + i, &x, 8);
		x = rnd();
		memcpy(b + i, &x, 8);
	}
	x = rnd();
	if (v6)
		coda_conntab_key_v6(k, a, (uint16_t)x, b, (uint16_t)(x >> 16));
	else
		coda_conntab_key_v4(k, (uint32_t)(x >> 32), (uint16_t)x, (uint32_t)(x >> 8),
				    (uint16_t)(x >> 16));
}

static uint16_t
port_of(const char *name)
{
	uint16_t id;

	assert_int_equal(rte_eth_dev_get_port_by_name(name, &id), 0);
	return id;
}

static int
setup_port(uint16_t port, const struct coda_port_conf *c, struct coda_port_info *pi)
{
	struct rte_mempool *pools[] = {pool};

	return coda_port_setup(port, c, pools, 1, pi);
}

/* The info of a port set up for @p nb workers (and stopped again). */
static void
port_info(const char *name, uint16_t nb, struct coda_port_info *pi)
{
	struct coda_port_conf c;
	uint16_t port = port_of(name);

	coda_port_conf_default(&c);
	c.nb_queues = nb;
	assert_int_equal(setup_port(port, &c, pi), 0);
	assert_int_equal(rte_eth_dev_stop(port), 0);
}

/* Microsoft's "Verifying the RSS Hash Calculation", IPv4 with TCP. */
static void
test_toeplitz_ms_ipv4(void **state)
{
	static const struct {
		const char *src, *dst;
		uint16_t sport, dport;
		uint32_t hash;
	} v[] = {
		{"66.9.149.187", "161.142.100.80", 2794, 1766, 0x51ccc178},
		{"199.92.111.2", "65.69.140.83", 14230, 4739, 0xc626b0ea},
		{"24.19.198.95", "12.22.207.184", 12898, 38024, 0x5c2b394a},
		{"38.27.205.30", "209.142.163.6", 48228, 2217, 0xafc7327f},
		{"153.39.163.191", "202.188.127.2", 44251, 1303, 0x10e828a2},
	};
	struct coda_port_info pi;
	struct coda_conntab_key k;

	(void)state;
	hash_info(&pi, ms_key, 1, 128);
	for (unsigned int i = 0; i < RTE_DIM(v); i++) {
		key_v4_pkt(&k, v[i].src, v[i].sport, v[i].dst, v[i].dport);
		assert_int_equal(coda_port_rss_hash(&pi, &k), v[i].hash);
	}
}

/* The same suite, IPv6 with TCP. */
static void
test_toeplitz_ms_ipv6(void **state)
{
	static const struct {
		const char *src, *dst;
		uint16_t sport, dport;
		uint32_t hash;
	} v[] = {
		{"3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x40207d3d},
		{"3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0xdde51bbf},
		{"3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024,
		 0x02d1feef},
	};
	struct coda_port_info pi;
	struct coda_conntab_key k;

	(void)state;
	hash_info(&pi, ms_key, 1, 128);
	for (unsigned int i = 0; i < RTE_DIM(v); i++) {
		key_v6_pkt(&k, v[i].src, v[i].sport, v[i].dst, v[i].dport);
		assert_int_equal(coda_port_rss_hash(&pi, &k), v[i].hash);
	}
}

/*
 * DPDK's Toeplitz fed as rte_thash.h says, from the packet's headers (the
 * remote side is the source), with its converted key and rte_softrss_be().
 */
static uint32_t
dpdk_hash(const uint8_t *key, const struct coda_conntab_key *k)
{
	union rte_thash_tuple t;
	uint32_t ckey[40 / 4], ikey[40 / 4];
	struct rte_ipv6_hdr ip6;

	memset(&t, 0, sizeof(t));
	memcpy(ikey, key, sizeof(ikey));
	rte_convert_rss_key(ikey, ckey, sizeof(ckey));
	if (k->family == AF_INET6) {
		memset(&ip6, 0, sizeof(ip6));
		memcpy(ip6.src_addr, k->raddr, 16);
		memcpy(ip6.dst_addr, k->laddr, 16);
		rte_thash_load_v6_addrs(&ip6, &t);
		t.v6.sport = rte_be_to_cpu_16(k->rport);
		t.v6.dport = rte_be_to_cpu_16(k->lport);
		return rte_softrss_be((uint32_t *)&t, RTE_THASH_V6_L4_LEN, (const uint8_t *)ckey);
	}
	t.v4.src_addr = rte_be_to_cpu_32(*(const rte_be32_t *)(const void *)k->raddr);
	t.v4.dst_addr = rte_be_to_cpu_32(*(const rte_be32_t *)(const void *)k->laddr);
	t.v4.sport = rte_be_to_cpu_16(k->rport);
	t.v4.dport = rte_be_to_cpu_16(k->lport);
	return rte_softrss_be((uint32_t *)&t, RTE_THASH_V4_L4_LEN, (const uint8_t *)ckey);
}

static void
test_toeplitz_matches_dpdk(void **state)
{
	struct coda_port_info pi;
	struct coda_conntab_key k;
	uint8_t key[40];

	(void)state;
	for (unsigned int i = 0; i < 2000; i++) {
		for (unsigned int j = 0; j < sizeof(key); j++)
			key[j] = (uint8_t)rnd();
		hash_info(&pi, key, 1, 128);
		random_key(&k, i % 2 == 1);
		assert_int_equal(coda_port_rss_hash(&pi, &k), dpdk_hash(key, &k));
	}
	/* And the Microsoft vector through DPDK, to tie the two together. */
	key_v4_pkt(&k, "66.9.149.187", 2794, "161.142.100.80", 1766);
	assert_int_equal(dpdk_hash(ms_key, &k), 0x51ccc178);
}

/*
 * Both directions of a flow hash alike under the key setup gives, and land
 * on one queue: software RSS (net_ring) and hardware RSS (net_null).
 */
static void
test_symmetric(void **state)
{
	static const char *const dev[] = {RING_DEV, NULL_DEV};
	struct coda_port_info pi;
	struct coda_conntab_key k, r;

	(void)state;
	for (unsigned int d = 0; d < RTE_DIM(dev); d++) {
		port_info(dev[d], 4, &pi);
		assert_int_equal(pi.rss, d == 1);
		for (unsigned int i = 0; i < 20000; i++) {
			random_key(&k, i % 2 == 1);
			swap_key(&r, &k);
			assert_int_equal(coda_port_rss_hash(&pi, &k),
					 coda_port_rss_hash(&pi, &r));
			assert_int_equal(coda_port_rss_queue(&pi, &k),
					 coda_port_rss_queue(&pi, &r));
		}
	}
	/* Not by accident: Microsoft's key is not symmetric. */
	hash_info(&pi, ms_key, 4, 128);
	key_v4_pkt(&k, "66.9.149.187", 2794, "161.142.100.80", 1766);
	swap_key(&r, &k);
	assert_int_not_equal(coda_port_rss_hash(&pi, &k), coda_port_rss_hash(&pi, &r));
}

/* The queue is entry hash mod reta_size of the table i -> i mod nb_queues. */
static void
test_queue_rule(void **state)
{
	static const uint16_t nbq[] = {1, 3, 4, 7, 128};
	static const uint16_t reta[] = {64, 128, 512};
	struct coda_port_info pi;
	struct coda_conntab_key k;
	uint32_t h;

	(void)state;
	for (unsigned int q = 0; q < RTE_DIM(nbq); q++) {
		for (unsigned int r = 0; r < RTE_DIM(reta); r++) {
			hash_info(&pi, NULL, nbq[q], reta[r]);
			for (unsigned int i = 0; i < 500; i++) {
				random_key(&k, i % 2 == 1);
				h = coda_port_rss_hash(&pi, &k);
				assert_int_equal(coda_port_rss_queue(&pi, &k),
						 (h % reta[r]) % nbq[q]);
			}
		}
	}
}

/* 10000 random flows over 4 queues: each within 25% of 2500, per family. */
static void
test_spread(void **state)
{
	struct coda_port_info pi;
	struct coda_conntab_key k;
	unsigned int n[4];

	(void)state;
	port_info(RING_DEV, 4, &pi);
	for (int v6 = 0; v6 <= 1; v6++) {
		memset(n, 0, sizeof(n));
		for (unsigned int i = 0; i < 10000; i++) {
			random_key(&k, v6);
			n[coda_port_rss_queue(&pi, &k)]++;
		}
		for (unsigned int q = 0; q < 4; q++) {
			print_message("v%d queue %u: %u flows\n", v6 ? 6 : 4, q, n[q]);
			assert_in_range(n[q], 1875, 3125);
		}
	}
}

/*
 * coda_port_stop() released the port: probe the virtual device again.
 * net_ring's close leaves its rings behind, so its probe first fails to
 * create them ("RING: Cannot reserve memory") and then attaches to them.
 */
static uint16_t
reprobe(const char *name)
{
	assert_int_equal(rte_eal_hotplug_remove("vdev", name), 0);
	assert_int_equal(rte_eal_hotplug_add("vdev", name, ""), 0);
	return port_of(name);
}

static bool
link_up(uint16_t port)
{
	struct rte_eth_link l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(rte_eth_link_get_nowait(port, &l), 0);
	return l.link_status == RTE_ETH_LINK_UP;
}

/* What setup reported is what the port is, and follows the header's rules. */
static void
check_info(const struct coda_port_info *pi, uint16_t port, const struct coda_port_conf *c)
{
	uint64_t tcp = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP;
	struct rte_eth_dev_info dev;
	struct rte_ether_addr mac;
	uint16_t nb = c->nb_queues, mtu, sw_reta;
	bool rss;

	assert_int_equal(rte_eth_dev_info_get(port, &dev), 0);
	rss = !c->no_rss && (dev.flow_type_rss_offloads & tcp) == tcp &&
	      dev.max_rx_queues >= nb && rte_is_power_of_2(dev.reta_size) &&
	      dev.reta_size >= nb && dev.reta_size <= CODA_PORT_RETA_MAX &&
	      (dev.hash_key_size == 0 || dev.hash_key_size >= 40);
	assert_int_equal(pi->port_id, port);
	assert_int_equal(pi->nb_queues, nb);
	assert_int_equal(pi->rss, rss);
	assert_int_equal(pi->nb_rx_queues, rss ? nb : 1);
	assert_int_equal(pi->nb_tx_queues, dev.max_tx_queues >= nb ? nb : 1);
	/* What the port was configured with. */
	assert_int_equal(dev.nb_rx_queues, pi->nb_rx_queues);
	assert_int_equal(dev.nb_tx_queues, pi->nb_tx_queues);
	sw_reta = (uint16_t)RTE_MAX(128u, rte_align32pow2(nb));
	assert_int_equal(pi->reta_size, rss ? dev.reta_size : sw_reta);
	assert_true(rte_is_power_of_2(pi->reta_size));
	assert_int_equal(pi->rss_key_len, rss && dev.hash_key_size != 0 ? dev.hash_key_size : 40);
	for (unsigned int i = 0; i < pi->rss_key_len; i++)
		assert_int_equal(pi->rss_key[i], i % 2 == 0 ? 0x6d : 0x5a);
	assert_int_equal(pi->rx_ip_cksum,
			 !c->no_offload && (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM));
	assert_int_equal(pi->rx_l4_cksum,
			 !c->no_offload && (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM));
	assert_int_equal(pi->tx_ip_cksum,
			 !c->no_offload && (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM));
	assert_int_equal(pi->tx_l4_cksum,
			 !c->no_offload && (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM));
	assert_int_equal(rte_eth_macaddr_get(port, &mac), 0);
	assert_memory_equal(pi->mac, mac.addr_bytes, 6);
	assert_int_equal(rte_eth_dev_get_mtu(port, &mtu), 0);
	assert_int_equal(pi->mtu, mtu);
	if (c->mtu != 0)
		assert_int_equal(pi->mtu, c->mtu);
	assert_string_equal(pi->driver, dev.driver_name);
	if (c->promiscuous)
		assert_int_equal(rte_eth_promiscuous_get(port), 1);
	assert_true(link_up(port));
	if (rss) {
		struct rte_eth_rss_reta_entry64 reta[CODA_PORT_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
		uint8_t key[CODA_PORT_RSS_KEY_MAX];
		struct rte_eth_rss_conf rc = {.rss_key = key, .rss_key_len = sizeof(key)};

		memset(reta, 0, sizeof(reta));
		for (unsigned int i = 0; i < pi->reta_size; i++)
			reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= UINT64_C(1)
								  << (i % RTE_ETH_RETA_GROUP_SIZE);
		assert_int_equal(rte_eth_dev_rss_reta_query(port, reta, pi->reta_size), 0);
		for (unsigned int i = 0; i < pi->reta_size; i++)
			assert_int_equal(reta[i / RTE_ETH_RETA_GROUP_SIZE]
						 .reta[i % RTE_ETH_RETA_GROUP_SIZE],
					 i % nb);
		assert_int_equal(rte_eth_dev_rss_hash_conf_get(port, &rc), 0);
		assert_memory_equal(key, pi->rss_key, pi->rss_key_len);
		assert_int_equal(rc.rss_hf & tcp, tcp);
	}
}

/*
 * net_null: RSS, one RX queue per worker, the table and key programmed;
 * then stop (the port is released), probe it again, set it up again.
 */
static void
test_setup_null(void **state)
{
	static const uint8_t zero[6];
	struct coda_port_info pi;
	struct coda_port_conf c;
	struct coda_port_link l;
	uint16_t port = port_of(NULL_DEV);

	(void)state;
	coda_port_conf_default(&c);
	c.nb_queues = 4;
	c.promiscuous = true;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	print_message("%s: rss %d rx %u tx %u reta %u key %u mtu %u\n", pi.driver, pi.rss,
		      pi.nb_rx_queues, pi.nb_tx_queues, pi.reta_size, pi.rss_key_len, pi.mtu);
	assert_string_equal(pi.driver, "net_null");
	assert_true(pi.rss);
	assert_int_equal(pi.nb_rx_queues, 4);
	assert_int_equal(pi.nb_tx_queues, 4);
	assert_int_equal(pi.mtu, 1500);
	assert_memory_not_equal(pi.mac, zero, 6);
	check_info(&pi, port, &c);
	assert_int_equal(coda_port_wait_link(port, 1000, &l), 0);
	assert_true(l.up);

	/* Setting up a started port again: it is stopped and reconfigured. */
	c.nb_queues = 2;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);

	coda_port_stop(port);
	assert_false(rte_eth_dev_is_valid_port(port));
	port = reprobe(NULL_DEV);
	coda_port_conf_default(&c);
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_true(pi.rss);
	assert_int_equal(coda_port_wait_link(port, 1000, &l), 0);
	coda_port_stop(port);
	reprobe(NULL_DEV);
}

/*
 * net_ring: no RSS, so one RX queue whatever the workers; its 16 TX
 * queues are enough for one per worker. Its MAC is all zeros (and it
 * cannot set one): info says so.
 */
static void
test_setup_ring(void **state)
{
	struct coda_port_info pi;
	struct coda_port_conf c;
	struct coda_port_link l;
	struct coda_conntab_key k;
	uint16_t port = port_of(RING_DEV);

	(void)state;
	coda_port_conf_default(&c);
	c.nb_queues = 4;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	print_message("%s: rss %d rx %u tx %u reta %u key %u mtu %u\n", pi.driver, pi.rss,
		      pi.nb_rx_queues, pi.nb_tx_queues, pi.reta_size, pi.rss_key_len, pi.mtu);
	assert_string_equal(pi.driver, "net_ring");
	assert_false(pi.rss);
	assert_int_equal(pi.nb_rx_queues, 1);
	assert_int_equal(pi.nb_tx_queues, 4);
	assert_int_equal(pi.reta_size, 128);
	assert_int_equal(pi.mtu, 1500);
	check_info(&pi, port, &c);
	assert_int_equal(coda_port_wait_link(port, 1000, &l), 0);
	assert_true(l.up);
	/* Promiscuous mode (net_ring starts in it, but can leave it). */
	assert_int_equal(rte_eth_promiscuous_disable(port), 0);
	assert_int_equal(setup_port(port, &c, &pi), 0);
	assert_int_equal(rte_eth_promiscuous_get(port), 0);
	c.promiscuous = true;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(rte_eth_promiscuous_get(port), 1);
	/* The software hash still names a worker. */
	for (unsigned int i = 0; i < 1000; i++) {
		random_key(&k, i % 2 == 1);
		assert_in_range(coda_port_rss_queue(&pi, &k), 0, 3);
	}

	coda_port_stop(port);
	port = reprobe(RING_DEV);
	coda_port_conf_default(&c);
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	coda_port_stop(port);
	reprobe(RING_DEV);
}

/*
 * More workers than the software table has entries: a larger table, every
 * worker reached; more workers than a PMD's RSS table or TX queues.
 */
static void
test_setup_many_workers(void **state)
{
	struct coda_port_info pi;
	struct coda_port_conf c;
	struct coda_conntab_key k;
	unsigned int n[200] = {0};
	uint16_t port = port_of(RING_DEV);

	(void)state;
	coda_port_conf_default(&c);
	c.nb_queues = 200;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(pi.reta_size, 256);
	for (unsigned int i = 0; i < 40000; i++) {
		random_key(&k, i % 2 == 1);
		n[coda_port_rss_queue(&pi, &k)]++;
	}
	for (unsigned int q = 0; q < 200; q++)
		assert_true(n[q] > 0);
	/* net_null's RSS table has 128 entries: too few for 200 workers. */
	assert_int_equal(setup_port(port_of(NULL_DEV), &c, &pi), 0);
	check_info(&pi, port_of(NULL_DEV), &c);
	assert_false(pi.rss);
	assert_int_equal(pi.nb_tx_queues, 200);
	assert_int_equal(rte_eth_dev_stop(port_of(NULL_DEV)), 0);
	/* net_ring has 16 TX queues: one per worker up to 16 workers, else one. */
	c.nb_queues = 16;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(pi.nb_tx_queues, 16);
	c.nb_queues = 17;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(pi.nb_tx_queues, 1);
	/* The largest worker count. */
	c.nb_queues = CODA_PORT_RETA_MAX;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(pi.reta_size, CODA_PORT_RETA_MAX);
	assert_int_equal(rte_eth_dev_stop(port), 0);
}

/* no_rss and no_offload, per-queue pools, the MTU. */
static void
test_setup_options(void **state)
{
	struct rte_mempool *pools[4] = {pool, pool, pool, pool};
	struct coda_port_info pi;
	struct coda_port_conf c;
	uint16_t port = port_of(NULL_DEV), ring = port_of(RING_DEV), mtu;

	(void)state;
	coda_port_conf_default(&c);
	c.nb_queues = 4;
	c.no_rss = true;
	c.no_offload = true;
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), 0);
	check_info(&pi, port, &c);
	assert_false(pi.rss);
	assert_int_equal(pi.nb_rx_queues, 1);
	assert_int_equal(pi.nb_tx_queues, 4);
	assert_int_equal(pi.reta_size, 128);

	/* net_null takes any MTU in its range; 0 leaves it as it is. */
	c.no_rss = false;
	c.mtu = 9000;
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), 0);
	check_info(&pi, port, &c);
	assert_true(pi.rss);
	assert_int_equal(pi.mtu, 9000);
	c.mtu = 0;
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(pi.mtu, 9000);
	c.mtu = 1500;
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(pi.mtu, 1500);

	/* Below its minimum (-EINVAL from ethdev): refused, port stopped, info untouched. */
	c.mtu = 40;
	memset(&pi, 0xa5, sizeof(pi));
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), -ENOTSUP);
	assert_false(link_up(port));
	for (unsigned int i = 0; i < sizeof(pi); i++)
		assert_int_equal(((const uint8_t *)&pi)[i], 0xa5);
	assert_int_equal(rte_eth_dev_get_mtu(port, &mtu), 0);
	assert_int_equal(mtu, 1500);
	/* net_ring sets no MTU at all (-ENOTSUP), but keeps its own. */
	c.mtu = 9000;
	assert_int_equal(coda_port_setup(ring, &c, pools, 4, &pi), -ENOTSUP);
	assert_false(link_up(ring));
	c.mtu = 1500;
	assert_int_equal(coda_port_setup(ring, &c, pools, 4, &pi), 0);
	check_info(&pi, ring, &c);
	assert_int_equal(rte_eth_dev_stop(ring), 0);
	/* And the refused port comes back. */
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), 0);
	check_info(&pi, port, &c);
	assert_int_equal(rte_eth_dev_stop(port), 0);
}

/*
 * A PMD that offers RSS but refuses the table: the software fallback, on
 * a port configured again with one RX queue; and when that configuration
 * fails too, its error, the port stopped.
 */
static void
test_setup_reta_refused(void **state)
{
	struct rte_eth_dev_info dev;
	struct coda_port_info pi, before;
	struct coda_port_conf c;
	struct coda_port_link l;
	uint16_t port = port_of(NULL_DEV);

	(void)state;
	coda_port_conf_default(&c);
	c.nb_queues = 4;
	reta_error = -ENOTSUP;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	assert_false(pi.rss);
	assert_int_equal(pi.nb_rx_queues, 1);
	assert_int_equal(pi.nb_tx_queues, 4);
	assert_int_equal(pi.reta_size, 128);
	assert_int_equal(pi.rss_key_len, 40);
	assert_int_equal(rte_eth_dev_info_get(port, &dev), 0);
	assert_int_equal(dev.nb_rx_queues, 1);
	assert_int_equal(coda_port_wait_link(port, 1000, &l), 0);

	configure_left = 1;
	memset(&pi, 0x3c, sizeof(pi));
	before = pi;
	assert_int_equal(setup_port(port, &c, &pi), -EIO);
	assert_int_equal(configure_left, 0);
	assert_false(link_up(port));
	assert_memory_equal(&pi, &before, sizeof(pi));
	reta_error = 0;
	configure_left = -1;
	assert_int_equal(setup_port(port, &c, &pi), 0);
	check_info(&pi, port, &c);
	assert_true(pi.rss);
	assert_int_equal(rte_eth_dev_stop(port), 0);
}

static void
test_setup_bad_input(void **state)
{
	struct rte_mempool *pools[4] = {pool, pool, NULL, pool};
	struct coda_port_info pi, before;
	struct coda_port_conf c;
	uint16_t port = port_of(RING_DEV), unused = 0;

	(void)state;
	while (rte_eth_dev_is_valid_port(unused))
		unused++;
	coda_port_conf_default(&c);
	memset(&pi, 0x5a, sizeof(pi));
	before = pi;
	assert_int_equal(coda_port_setup(unused, &c, pools, 1, &pi), -EINVAL);
	assert_int_equal(coda_port_setup(RTE_MAX_ETHPORTS, &c, pools, 1, &pi), -EINVAL);
	assert_int_equal(coda_port_setup(UINT16_MAX, &c, pools, 1, &pi), -EINVAL);
	assert_int_equal(coda_port_setup(port, NULL, pools, 1, &pi), -EINVAL);
	assert_int_equal(coda_port_setup(port, &c, NULL, 1, &pi), -EINVAL);
	assert_int_equal(coda_port_setup(port, &c, pools, 1, NULL), -EINVAL);
	assert_int_equal(coda_port_setup(port, &c, pools, 0, &pi), -EINVAL);
	c.nb_queues = 0;
	assert_int_equal(coda_port_setup(port, &c, pools, 1, &pi), -EINVAL);
	c.nb_queues = CODA_PORT_RETA_MAX + 1;
	assert_int_equal(coda_port_setup(port, &c, pools, 1, &pi), -EINVAL);
	c.nb_queues = 4;
	assert_int_equal(coda_port_setup(port, &c, pools, 2, &pi), -EINVAL);
	assert_int_equal(coda_port_setup(port, &c, pools, 5, &pi), -EINVAL);
	/* A NULL pool among them. */
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), -EINVAL);
	assert_memory_equal(&pi, &before, sizeof(pi));
	/* The same with pools that are all there. */
	pools[2] = pool;
	assert_int_equal(coda_port_setup(port, &c, pools, 4, &pi), 0);
	assert_int_equal(rte_eth_dev_stop(port), 0);
}

static void
test_wait_link(void **state)
{
	struct coda_port_info pi;
	struct coda_port_conf c;
	struct coda_port_link l;
	uint16_t port = port_of(RING_DEV), unused = 0;
	uint64_t t0;

	(void)state;
	coda_port_conf_default(&c);
	assert_int_equal(setup_port(port, &c, &pi), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(coda_port_wait_link(port, 1000, &l), 0);
	assert_true(l.up);
	/* Down: waits its time out, then says so. */
	assert_int_equal(rte_eth_dev_stop(port), 0);
	t0 = rte_get_timer_cycles();
	l.up = true;
	assert_int_equal(coda_port_wait_link(port, 50, &l), -ETIMEDOUT);
	assert_false(l.up);
	assert_true(rte_get_timer_cycles() - t0 >= rte_get_timer_hz() * 50 / 1000);
	assert_true(rte_get_timer_cycles() - t0 < rte_get_timer_hz());
	assert_int_equal(coda_port_wait_link(port, 0, &l), -ETIMEDOUT);
	while (rte_eth_dev_is_valid_port(unused))
		unused++;
	assert_true(coda_port_wait_link(unused, 10, &l) < 0);
}

/*
 * No hugepages, so no --in-memory (DPDK 22.11 takes --no-huge for legacy
 * memory, which --in-memory refuses): no shared files instead, under a
 * file prefix of our own, so tests beside us collide with nothing.
 */
static int
group_setup(void **state)
{
	char prefix[64];
	char *argv[] = {
		(char *)(uintptr_t) "test_port",
		(char *)(uintptr_t) "--no-pci",
		(char *)(uintptr_t) "--no-huge",
		(char *)(uintptr_t) "-m",
		(char *)(uintptr_t) "256",
		(char *)(uintptr_t) "--no-shconf",
		prefix,
		(char *)(uintptr_t) "--no-telemetry",
		(char *)(uintptr_t) "--log-level=error",
		(char *)(uintptr_t) "--vdev=" NULL_DEV,
		(char *)(uintptr_t) "--vdev=" RING_DEV,
	};

	(void)state;
	snprintf(prefix, sizeof(prefix), "--file-prefix=coda-test-port-%ld", (long)getpid());
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	pool = rte_pktmbuf_pool_create("test_port", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char dir[PATH_MAX];
	uint16_t port;

	(void)state;
	RTE_ETH_FOREACH_DEV(port)
		coda_port_stop(port);
	rte_mempool_free(pool);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	/* The runtime directory EAL made for our prefix, empty with --no-shconf. */
	rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toeplitz_ms_ipv4),
		cmocka_unit_test(test_toeplitz_ms_ipv6),
		cmocka_unit_test(test_toeplitz_matches_dpdk),
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_queue_rule),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_setup_null),
		cmocka_unit_test(test_setup_ring),
		cmocka_unit_test(test_setup_many_workers),
		cmocka_unit_test(test_setup_options),
		cmocka_unit_test(test_setup_reta_refused),
		cmocka_unit_test(test_setup_bad_input),
		cmocka_unit_test(test_wait_link),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
