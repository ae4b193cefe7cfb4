/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * build.c: every frame lib/net sends, written byte by byte.
 *
 * Policies (coda_net.h): IPv4 TTL 64, DF, ID 0, no options; IPv6 hop limit
 * 64 (255 for ND), traffic class and flow label 0, no extension headers;
 * the VLAN tag of conf.vlan_id, priority 0. Builders write into a caller's
 * buffer and return the frame length; their sizes are fixed, except
 * the TCP frame and the echo reply, which are checked against CODA_NET_MTU.
 */

#include "net_private.h"

uint32_t
net_put_eth(const struct coda_net *net, uint8_t *f, const uint8_t *dst, uint16_t ethertype)
{
	memcpy(f, dst, CODA_NET_MAC_LEN);
	memcpy(f + 6, net->conf.mac, CODA_NET_MAC_LEN);
	if (net->conf.vlan_id == 0) {
		put16(f + 12, ethertype);
		return ETH_HLEN;
	}
	put16(f + 12, ETHERTYPE_VLAN);
	put16(f + 14, net->conf.vlan_id);
	put16(f + 16, ethertype);
	return ETH_HLEN + VLAN_HLEN;
}

/* An IPv4 header without options; @p src and @p dst 4 bytes, network order. */
static void
put_ip4(uint8_t *ip, uint8_t proto, const uint8_t *src, const uint8_t *dst, uint32_t l4_len,
	bool cksum)
{
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(IP4_HLEN + l4_len));
	put16(ip + 4, 0);      /* ID: 0, RFC 6864 §4.1 (atomic datagram) */
	put16(ip + 6, 0x4000); /* DF, offset 0 */
	ip[8] = NET_TTL;
	ip[9] = proto;
	put16(ip + 10, 0);
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	if (cksum)
		cksum_store(ip + 10, (uint16_t)~cksum_raw(ip, IP4_HLEN));
}

static void
put_ip6(uint8_t *ip, uint8_t proto, uint8_t hlim, const uint8_t *src, const uint8_t *dst,
	uint32_t l4_len)
{
	put32(ip, 0x60000000);
	put16(ip + 4, (uint16_t)l4_len);
	ip[6] = proto;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

uint32_t
coda_net_build_tcp(const struct coda_net *net, const uint8_t *dst_mac,
		   const struct coda_conntab_key *k, const void *tcp, uint32_t len, void *buf,
		   uint32_t cap, unsigned int flags)
{
	bool offload = (flags & CODA_NET_TX_CKSUM_OFFLOAD) != 0;
	uint8_t *f = buf, *ip, *th;
	uint32_t l2 = net->l2_len, l3, total;
	uint16_t psum;

	if (k->family == AF_INET)
		l3 = IP4_HLEN;
	else if (k->family == AF_INET6)
		l3 = IP6_HLEN;
	else
		return 0;
	if (len < TCP_HLEN || len > CODA_NET_MTU - l3)
		return 0;
	total = l2 + l3 + len;
	if (total > cap)
		return 0;
	net_put_eth(net, f, dst_mac, k->family == AF_INET ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
	ip = f + l2;
	th = ip + l3;
	if (k->family == AF_INET)
		put_ip4(ip, IPPROTO_TCP, k->laddr, k->raddr, len, !offload);
	else
		put_ip6(ip, IPPROTO_TCP, NET_TTL, k->laddr, k->raddr, len);
	memcpy(th, tcp, len);
	psum = cksum_pseudo(k->family, k->laddr, k->raddr, IPPROTO_TCP, len);
	if (offload) {
		/* The NIC adds the segment to the pseudo-header sum and complements. */
		cksum_store(th + 16, psum);
	} else {
		put16(th + 16, 0);
		cksum_store(th + 16, (uint16_t)~cksum_add(psum, cksum_raw(th, len)));
	}
	return total;
}

/* RFC 826. @p spa and @p tpa 4 bytes each; @p tha NULL for zeros (a request). */
uint32_t
net_build_arp(const struct coda_net *net, uint8_t *f, uint16_t op, const uint8_t *dst_mac,
	      const uint8_t *spa, const uint8_t *tha, const uint8_t *tpa)
{
	uint32_t l2 = net_put_eth(net, f, dst_mac, ETHERTYPE_ARP);
	uint8_t *a = f + l2;

	put16(a, 1); /* Ethernet */
	put16(a + 2, ETHERTYPE_IPV4);
	a[4] = CODA_NET_MAC_LEN;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, net->conf.mac, CODA_NET_MAC_LEN);
	memcpy(a + 14, spa, 4);
	if (tha != NULL)
		memcpy(a + 18, tha, CODA_NET_MAC_LEN);
	else
		memset(a + 18, 0, CODA_NET_MAC_LEN);
	memcpy(a + 24, tpa, 4);
	return l2 + ARP_LEN;
}

/* Close an ND message: its ICMPv6 checksum. */
static void
nd_cksum(uint8_t *ip, uint8_t *icmp, uint32_t len)
{
	uint16_t sum;

	put16(icmp + 2, 0);
	sum = cksum_add(cksum_pseudo(AF_INET6, ip + 8, ip + 24, IPPROTO_ICMPV6, len),
			cksum_raw(icmp, len));
	cksum_store(icmp + 2, (uint16_t)~sum);
}

/*
 * RFC 4861 §4.3 and §7.2.2: a multicast NS for @p target, from @p src,
 * to the target's solicited-node group, with our link-layer address.
 */
uint32_t
net_build_ns(const struct coda_net *net, uint8_t *f, const uint8_t *src, const uint8_t *target,
	     const uint8_t *dst_mac)
{
	const uint32_t len = ND_LEN + ND_OPT_LL_LEN;
	uint8_t mac[CODA_NET_MAC_LEN] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
	uint8_t dst[16];
	uint32_t l2 = net_put_eth(net, f, dst_mac != NULL ? dst_mac : mac, ETHERTYPE_IPV6);
	uint8_t *ip = f + l2, *m = ip + IP6_HLEN;

	/* To the solicited-node group, or unicast to the target when its MAC is known (§7.2.2). */
	if (dst_mac != NULL)
		memcpy(dst, target, 16);
	else
		ip6_snm(dst, target);
	put_ip6(ip, IPPROTO_ICMPV6, ND_HOP_LIMIT, src, dst, len);
	m[0] = ND_NS;
	m[1] = 0;
	memset(m + 4, 0, 4);
	memcpy(m + 8, target, 16);
	m[24] = ND_OPT_SLLA;
	m[25] = 1; /* units of 8 bytes */
	memcpy(m + 26, net->conf.mac, CODA_NET_MAC_LEN);
	nd_cksum(ip, m, len);
	return l2 + IP6_HLEN + len;
}

/* RFC 4861 §4.4 and §7.2.4: an NA for our @p target, with our link-layer address. */
uint32_t
net_build_na(const struct coda_net *net, uint8_t *f, const uint8_t *dst_mac, const uint8_t *dst,
	     const uint8_t *target, uint8_t flags)
{
	const uint32_t len = ND_LEN + ND_OPT_LL_LEN;
	uint32_t l2 = net_put_eth(net, f, dst_mac, ETHERTYPE_IPV6);
	uint8_t *ip = f + l2, *m = ip + IP6_HLEN;

	put_ip6(ip, IPPROTO_ICMPV6, ND_HOP_LIMIT, target, dst, len);
	m[0] = ND_NA;
	m[1] = 0;
	m[4] = flags;
	m[5] = m[6] = m[7] = 0;
	memcpy(m + 8, target, 16);
	m[24] = ND_OPT_TLLA;
	m[25] = 1;
	memcpy(m + 26, net->conf.mac, CODA_NET_MAC_LEN);
	nd_cksum(ip, m, len);
	return l2 + IP6_HLEN + len;
}

/*
 * RFC 792 (type 0) and RFC 4443 §4.2 (type 129): the request's ICMP body
 * (identifier, sequence, data) back to its source, from the address it was
 * sent to. The request's IPv4 options and IPv6 extension headers are not
 * returned (RFC 1122 §3.2.2.6 would have some options echoed: known debt).
 * Returns 0 if the reply's IP packet would exceed CODA_NET_MTU.
 */
uint32_t
net_build_echo_reply(const struct coda_net *net, uint8_t *f, const uint8_t *req,
		     const struct coda_net_rx *rx)
{
	uint32_t l3 = rx->family == AF_INET ? IP4_HLEN : IP6_HLEN;
	uint32_t l2, n = rx->l4_len;
	uint8_t *ip, *m;
	uint16_t sum;

	if (n > CODA_NET_MTU - l3)
		return 0;
	/* To the MAC it came from: no neighbour lookup for a reply. */
	l2 = net_put_eth(net, f, req + 6, rx->family == AF_INET ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
	ip = f + l2;
	m = ip + l3;
	memcpy(m, rx->l4, n);
	put16(m + 2, 0);
	if (rx->family == AF_INET) {
		put_ip4(ip, IPPROTO_ICMP, rx->key.laddr, rx->key.raddr, n, true);
		m[0] = RTE_IP_ICMP_ECHO_REPLY;
		m[1] = 0;
		sum = cksum_raw(m, n);
	} else {
		put_ip6(ip, IPPROTO_ICMPV6, NET_TTL, rx->key.laddr, rx->key.raddr, n);
		m[0] = ICMP6_ECHO_REPLY;
		m[1] = 0;
		sum = cksum_add(cksum_pseudo(AF_INET6, ip + 8, ip + 24, IPPROTO_ICMPV6, n),
				cksum_raw(m, n));
	}
	cksum_store(m + 2, (uint16_t)~sum);
	return l2 + l3 + n;
}
