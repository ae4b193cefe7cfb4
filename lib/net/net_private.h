/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_NET_PRIVATE_H
#define CODA_NET_PRIVATE_H

/**
 * @file
 * net_private: what the .c files of lib/net share. Not installed.
 *
 * Wire access: every header field is read and written a byte at a time
 * (get16/put16 ...), never through a struct pointer into the frame, so a
 * frame at any alignment is fine and UBSan has nothing to say. DPDK's
 * protocol headers give the constants (EtherTypes, ARP operations, ICMP
 * types); its rte_ip.h gives the one's-complement sum (rte_raw_cksum(),
 * header-only, memcpy-based, needs no EAL). The pseudo-headers are summed
 * here, because rte_ipv6_udptcp_cksum_verify() takes the upper-layer length
 * from the IPv6 payload length, which is wrong when extension headers come
 * first (RFC 8200 §8.1).
 *
 * Neighbour caches (neigh.c): struct neigh_cache, one per family.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "coda_net.h"

/*
 * rte_ip.h pulls rte_mbuf.h and with it rte_ring_elem_pvt.h, which tests
 * RTE_USE_C11_MEM_MODEL with #if where only gcc defines it: clang's
 * -Wundef (this project's warnings) fails on DPDK 22.11's header.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#pragma GCC diagnostic pop

/* Wire sizes and offsets. */
#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ARP_LEN 28
#define IP4_HLEN 20
#define IP6_HLEN 40
#define ICMP_HLEN 8
#define TCP_HLEN 20
#define ND_LEN 24	  /* NS/NA without options: type .. target */
#define ND_OPT_LL_LEN 8	  /* a link-layer address option, Ethernet */
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_IPV6 0x86dd

/* ICMPv6 types, RFC 4443 and RFC 4861. */
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_NA_F_ROUTER 0x80
#define ND_NA_F_SOLICITED 0x40
#define ND_NA_F_OVERRIDE 0x20

/* Header policies (coda_net.h). */
#define NET_TTL 64
#define ND_HOP_LIMIT 255

static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * One's-complement sums. rte_raw_cksum() loads 16-bit words in host order
 * and returns the folded, uncomplemented sum; one's-complement addition is
 * byte-order independent (RFC 1071 §2(B)), so a sum stored back with
 * memcpy() lands in network order. cksum_add() adds two such sums.
 */
static inline uint16_t
cksum_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;

	return (uint16_t)((s & 0xffff) + (s >> 16));
}

static inline uint16_t
cksum_raw(const void *p, size_t len)
{
	return rte_raw_cksum(p, len);
}

/* Store a host-order-loaded sum (see above) into the checksum field at p. */
static inline void
cksum_store(uint8_t *p, uint16_t sum)
{
	memcpy(p, &sum, sizeof(sum));
}

/*
 * The pseudo-header sum, RFC 9293 §3.1 (IPv4) and RFC 8200 §8.1 (IPv6):
 * addresses of @p family's length at src and dst, @p proto, upper-layer
 * length @p len. Uncomplemented.
 */
static inline uint16_t
cksum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len)
{
	uint8_t ph[40];

	if (family == AF_INET) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[8] = 0;
		ph[9] = proto;
		put16(ph + 10, (uint16_t)len);
		return cksum_raw(ph, 12);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	put32(ph + 32, len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = proto;
	return cksum_raw(ph, 40);
}

/* Whether the 16-byte IPv6 address is the solicited-node group of @p a, RFC 4291 §2.7.1. */
static inline bool
ip6_is_snm_of(const uint8_t *g, const uint8_t *a)
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};

	return memcmp(g, pfx, 13) == 0 && memcmp(g + 13, a + 13, 3) == 0;
}

/* Write the solicited-node group of @p a to @p g. */
static inline void
ip6_snm(uint8_t *g, const uint8_t *a)
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};

	memcpy(g, pfx, 13);
	memcpy(g + 13, a + 13, 3);
}

/* One neighbour. 64 bytes. */
struct neigh_entry {
	uint8_t addr[16];		    /* IPv4 in bytes 0..3, rest zero */
	uint64_t expire_ms;		    /* REACHABLE: turns STALE; INCOMPLETE: next request */
	uint64_t next_probe_ms;		    /* STALE: 0, or no refresh request before this */
	uint16_t q[CODA_NET_NEIGH_QUEUE];   /* pool slots of waiting frames, oldest first */
	uint8_t mac[CODA_NET_MAC_LEN];
	uint8_t state;			    /* enum coda_net_neigh_state; NONE = free */
	uint8_t probes;			    /* requests since the last confirmation */
	uint8_t nb_q;			    /* entries of q[] in use */
	uint8_t pad[7];
};

/* One family's cache: nb_buckets x CODA_NET_NEIGH_WAYS entries. */
struct neigh_cache {
	struct neigh_entry *e;
	uint32_t bucket_mask;
	uint8_t family;
	uint8_t alen; /* 4 or 16 */
};

struct coda_net {
	struct coda_net_conf conf;
	coda_net_xmit_fn xmit;
	void *xmit_arg;
	uint32_t l2_len; /* 14, or 18 with a VLAN tag */
	struct neigh_cache arp;
	struct neigh_cache nd;
	/* The pending-frame pool: nb_pending slots of CODA_NET_FRAME_MAX bytes. */
	uint8_t *pool;
	uint32_t *pool_len;  /* frame length per slot */
	uint16_t *pool_free; /* stack of free slots */
	uint32_t nb_free;
	struct coda_net_stats stats;
	uint8_t txbuf[CODA_NET_FRAME_MAX]; /* TCP frames and echo replies before xmit */
	uint8_t ctlbuf[128];		   /* ARP, NS, NA: never the frame in txbuf */
};

/* build.c: frame builders; each returns the frame length (0: does not fit). */
uint32_t net_put_eth(const struct coda_net *net, uint8_t *f, const uint8_t *dst,
		     uint16_t ethertype);
uint32_t net_build_arp(const struct coda_net *net, uint8_t *f, uint16_t op, const uint8_t *dst_mac,
		       const uint8_t *spa, const uint8_t *tha, const uint8_t *tpa);
uint32_t net_build_ns(const struct coda_net *net, uint8_t *f, const uint8_t *src,
		      const uint8_t *target, const uint8_t *dst_mac);
uint32_t net_build_na(const struct coda_net *net, uint8_t *f, const uint8_t *dst_mac,
		      const uint8_t *dst, const uint8_t *target, uint8_t flags);
uint32_t net_build_echo_reply(const struct coda_net *net, uint8_t *f, const uint8_t *req,
			      const struct coda_net_rx *rx);

/* neigh.c */
int neigh_cache_init(struct neigh_cache *c, uint8_t family, uint32_t nb);
void neigh_cache_fini(struct coda_net *net, struct neigh_cache *c);
struct neigh_entry *neigh_lookup(const struct neigh_cache *c, const uint8_t *addr);
struct neigh_entry *neigh_find(struct neigh_cache *c, const uint8_t *addr, uint64_t now);
struct neigh_entry *neigh_insert(struct coda_net *net, struct neigh_cache *c,
				 const uint8_t *addr);
void neigh_update(struct coda_net *net, struct neigh_entry *e, const uint8_t *mac,
		  enum coda_net_neigh_state state, uint64_t now);
void neigh_solicit(struct coda_net *net, const struct neigh_cache *c, struct neigh_entry *e,
		   const uint8_t *src, uint64_t now, bool unicast);
enum coda_net_tx_result neigh_send(struct coda_net *net, int family, const uint8_t *addr,
				   const uint8_t *src, uint8_t *frame, uint32_t len, uint64_t now);
void neigh_tick(struct coda_net *net, struct neigh_cache *c, uint64_t now);

/* net.c */
void net_xmit(struct coda_net *net, const uint8_t *frame, uint32_t len);
void net_tx_drop(struct coda_net *net, enum coda_net_drop r);

/* parse.c: whether an address is one of the configured local addresses. */
bool net_ip4_ours(const struct coda_net *net, const uint8_t *a);
enum coda_net_drop net_parse(const struct coda_net *net, const void *frame, uint32_t len,
			     unsigned int flags, struct coda_net_rx *rx);
bool net_ip6_ours(const struct coda_net *net, const uint8_t *a);

#endif /* CODA_NET_PRIVATE_H */
