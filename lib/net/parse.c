/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse.c: coda_net_parse(), the receive-side validator, and the names of
 * the drop reasons.
 *
 * One function per layer; each returns a drop reason or hands on to the
 * next. The order of the checks is the order of coda_net.h's list, which is
 * the order of the bytes: a frame too short for a header is dropped before
 * any field of that header is read, so every read below is inside
 * [frame, frame + len). Lengths are 32-bit and every sum is compared
 * against the bytes left before it is used as an offset.
 *
 * Cost: a TCP frame costs the header reads, a scan of our addresses
 * (CODA_NET_ADDR_MAX at most) and one pass of rte_raw_cksum() over the
 * segment, which the NIC's RX checksum offload will make unnecessary
 * (lib/port).
 */

#include "net_private.h"

static const char *const drop_names[CODA_NET_DROP__COUNT] = {
	[CODA_NET_DROP_NONE] = "none",
#define CODA_NET_DROP(NAME, name, desc) [CODA_NET_DROP_##NAME] = #name,
#include "net_drop.def"
#undef CODA_NET_DROP
};

static const char *const drop_descs[CODA_NET_DROP__COUNT] = {
	[CODA_NET_DROP_NONE] = "not dropped",
#define CODA_NET_DROP(NAME, name, desc) [CODA_NET_DROP_##NAME] = desc,
#include "net_drop.def"
#undef CODA_NET_DROP
};

const char *
coda_net_drop_name(enum coda_net_drop r)
{
	/* Through unsigned int: a negative value is out of range too. */
	if ((unsigned int)r >= CODA_NET_DROP__COUNT)
		return NULL;
	return drop_names[r];
}

const char *
coda_net_drop_desc(enum coda_net_drop r)
{
	if ((unsigned int)r >= CODA_NET_DROP__COUNT)
		return NULL;
	return drop_descs[r];
}

/* Whether IPv4 address a (network byte order, 4 bytes) is one of ours. */
bool
net_ip4_ours(const struct coda_net *net, const uint8_t *a)
{
	uint32_t v;

	memcpy(&v, a, 4);
	for (uint32_t i = 0; i < net->conf.nb_ip4; i++)
		if (net->conf.ip4[i] == v)
			return true;
	return false;
}

/* Whether IPv6 address a (16 bytes) is one of ours. */
bool
net_ip6_ours(const struct coda_net *net, const uint8_t *a)
{
	for (uint32_t i = 0; i < net->conf.nb_ip6; i++)
		if (memcmp(net->conf.ip6[i], a, 16) == 0)
			return true;
	return false;
}

/* Multicast groups an IPv6 host must receive for ND: all-nodes, and our solicited-node groups. */
static bool
ip6_is_our_group(const struct coda_net *net, const uint8_t *a)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};

	if (memcmp(a, all_nodes, 16) == 0)
		return true;
	for (uint32_t i = 0; i < net->conf.nb_ip6; i++)
		if (ip6_is_snm_of(a, net->conf.ip6[i]))
			return true;
	return false;
}

/*
 * RFC 1122 §3.2.1.3 and RFC 5735: sources no host may use. 0/8 ("this
 * network", 0.0.0.0 included: a host that knows no address cannot open
 * TCP), 127/8 off the loopback, 224/4 multicast, 240/4 class E and the
 * limited broadcast.
 */
static bool
ip4_src_bad(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

/* Ports and addresses as on the wire: the key wants network byte order. */
static void
key_tcp(struct coda_net_rx *rx, int family, const uint8_t *src, const uint8_t *dst)
{
	uint16_t sport, dport;
	uint32_t s4, d4;

	memcpy(&sport, rx->l4, 2);
	memcpy(&dport, rx->l4 + 2, 2);
	if (family == AF_INET) {
		memcpy(&s4, src, 4);
		memcpy(&d4, dst, 4);
		coda_conntab_key_v4(&rx->key, d4, dport, s4, sport);
	} else {
		coda_conntab_key_v6(&rx->key, dst, dport, src, sport);
	}
}

/* RFC 826 packet format, Ethernet and IPv4 only. */
static enum coda_net_drop
parse_arp(const uint8_t *p, uint32_t rem, struct coda_net_rx *rx)
{
	uint16_t op;
	uint32_t spa, tpa;

	if (rem < ARP_LEN)
		return CODA_NET_DROP_TOO_SHORT;
	op = get16(p + 6);
	if (get16(p) != 1 || get16(p + 2) != ETHERTYPE_IPV4 || p[4] != CODA_NET_MAC_LEN ||
	    p[5] != 4 || (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY))
		return CODA_NET_DROP_BAD_ARP;
	memcpy(&spa, p + 14, 4);
	memcpy(&tpa, p + 24, 4);
	coda_conntab_key_v4(&rx->key, tpa, 0, spa, 0);
	rx->kind = CODA_NET_RX_ARP;
	rx->family = AF_INET;
	rx->l4 = p;
	rx->l4_len = ARP_LEN;
	return CODA_NET_DROP_NONE;
}

/* The upper layer, once IP has found it (rx->l4, rx->l4_len): length, checksum, key. */
static enum coda_net_drop
parse_l4(struct coda_net_rx *rx, int family, uint8_t proto, const uint8_t *src,
	 const uint8_t *dst, unsigned int flags)
{
	bool hw_ok = (flags & CODA_NET_IN_L4_CKSUM_GOOD) != 0;

	uint16_t sum;

	if (proto == IPPROTO_TCP) {
		if (rx->flags & CODA_NET_RX_F_MCAST)
			return CODA_NET_DROP_NOT_FOR_US; /* RFC 1122 §4.2.3.10 */
		if (rx->l4_len < TCP_HLEN)
			return CODA_NET_DROP_L4_TOO_SHORT;
		sum = hw_ok ? 0xffff
			    : cksum_add(cksum_pseudo(family, src, dst, proto, rx->l4_len),
					cksum_raw(rx->l4, rx->l4_len));
		if (sum != 0xffff)
			return CODA_NET_DROP_BAD_L4_CKSUM;
		key_tcp(rx, family, src, dst);
		rx->kind = CODA_NET_RX_TCP;
		return CODA_NET_DROP_NONE;
	}
	/* ICMP (IPv4) has no pseudo-header, RFC 792; ICMPv6 has, RFC 4443 §2.3. */
	if (rx->l4_len < ICMP_HLEN)
		return CODA_NET_DROP_L4_TOO_SHORT;
	sum = 0xffff;
	if (!hw_ok) {
		sum = cksum_raw(rx->l4, rx->l4_len);
		if (family == AF_INET6)
			sum = cksum_add(sum, cksum_pseudo(family, src, dst, proto, rx->l4_len));
	}
	if (sum != 0xffff)
		return CODA_NET_DROP_BAD_L4_CKSUM;
	if (family == AF_INET) {
		uint32_t s4, d4;

		memcpy(&s4, src, 4);
		memcpy(&d4, dst, 4);
		coda_conntab_key_v4(&rx->key, d4, 0, s4, 0);
		rx->kind = CODA_NET_RX_ICMP;
	} else {
		coda_conntab_key_v6(&rx->key, dst, 0, src, 0);
		rx->kind = CODA_NET_RX_ICMP6;
	}
	return CODA_NET_DROP_NONE;
}

/* RFC 791 §3.1, RFC 1122 §3.2.1. */
static enum coda_net_drop
parse_ip4(const struct coda_net *net, const uint8_t *p, uint32_t rem, struct coda_net_rx *rx,
	  unsigned int flags)
{
	uint32_t ihl, tot;

	if (rem < IP4_HLEN)
		return CODA_NET_DROP_TOO_SHORT;
	if (p[0] >> 4 != 4)
		return CODA_NET_DROP_BAD_IP_VERSION;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if (ihl < IP4_HLEN || ihl > rem)
		return CODA_NET_DROP_BAD_IHL;
	tot = get16(p + 2);
	if (tot < ihl || tot > rem)
		return CODA_NET_DROP_BAD_IP_LEN;
	/* A correct header, its checksum included, sums to 0xffff (RFC 1071). */
	if (!(flags & CODA_NET_IN_IP_CKSUM_GOOD) && cksum_raw(p, ihl) != 0xffff)
		return CODA_NET_DROP_BAD_IP_CKSUM;
	/* MF (0x2000) or a fragment offset: no reassembly here. Bit 0x8000 is reserved, ignored. */
	if (get16(p + 6) & 0x3fff)
		return CODA_NET_DROP_FRAGMENT;
	if (ip4_src_bad(p + 12))
		return CODA_NET_DROP_BAD_SRC_ADDR;
	if (!net_ip4_ours(net, p + 16))
		return CODA_NET_DROP_NOT_FOR_US;
	if (p[9] != IPPROTO_TCP && p[9] != IPPROTO_ICMP)
		return CODA_NET_DROP_UNSUPPORTED_PROTO;
	rx->family = AF_INET;
	rx->ttl = p[8];
	rx->l4_off = (uint16_t)(rx->l3_off + ihl);
	rx->l4 = p + ihl;
	rx->l4_len = tot - ihl;
	return parse_l4(rx, AF_INET, p[9], p + 12, p + 16, flags);
}

/*
 * RFC 8200 §4: walk the extension headers a host may meet before TCP or
 * ICMPv6. Hop-by-Hop only first (§4.1), Destination Options and Routing
 * anywhere; a Routing header with segments left is for a router to act on
 * (§4.4), so a host drops it. At most CODA_NET_IPV6_EXT_MAX headers: a
 * chain that long is an attack, not a use.
 */
static enum coda_net_drop
parse_ip6(const struct coda_net *net, const uint8_t *p, uint32_t rem, struct coda_net_rx *rx,
	  unsigned int flags)
{
	static const uint8_t unspec[16];
	uint32_t end, off = IP6_HLEN;
	uint8_t nh;
	bool src_unspec;

	if (rem < IP6_HLEN)
		return CODA_NET_DROP_TOO_SHORT;
	if (p[0] >> 4 != 6)
		return CODA_NET_DROP_BAD_IP_VERSION;
	end = IP6_HLEN + get16(p + 4);
	if (end > rem)
		return CODA_NET_DROP_BAD_IP_LEN;
	src_unspec = memcmp(p + 8, unspec, 16) == 0;
	/* Multicast (ff00::/8) or loopback (::1) sources, RFC 4291 §2.5.3 and §2.7. */
	if (p[8] == 0xff || (memcmp(p + 8, unspec, 15) == 0 && p[23] == 1))
		return CODA_NET_DROP_BAD_SRC_ADDR;
	if (!net_ip6_ours(net, p + 24)) {
		if (!ip6_is_our_group(net, p + 24))
			return CODA_NET_DROP_NOT_FOR_US;
		rx->flags |= CODA_NET_RX_F_MCAST;
	}
	nh = p[6];
	for (unsigned int n = 0;; n++) {
		uint32_t elen;

		if (nh == IPPROTO_TCP || nh == IPPROTO_ICMPV6)
			break;
		if (nh == IPPROTO_FRAGMENT)
			return CODA_NET_DROP_FRAGMENT;
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_DSTOPTS && nh != IPPROTO_ROUTING)
			return CODA_NET_DROP_UNSUPPORTED_PROTO;
		if (n == CODA_NET_IPV6_EXT_MAX || (nh == IPPROTO_HOPOPTS && n != 0) ||
		    end - off < 8)
			return CODA_NET_DROP_IPV6_EXT_TOO_LONG;
		elen = ((uint32_t)p[off + 1] + 1) * 8;
		if (elen > end - off)
			return CODA_NET_DROP_IPV6_EXT_TOO_LONG;
		if (nh == IPPROTO_ROUTING && p[off + 3] != 0)
			return CODA_NET_DROP_IPV6_ROUTING;
		nh = p[off];
		off += elen;
	}
	/* The unspecified source is for Duplicate Address Detection only (RFC 4862 §5.4). */
	if (src_unspec && nh != IPPROTO_ICMPV6)
		return CODA_NET_DROP_BAD_SRC_ADDR;
	rx->family = AF_INET6;
	rx->ttl = p[7];
	rx->l4_off = (uint16_t)(rx->l3_off + off);
	rx->l4 = p + off;
	rx->l4_len = end - off;
	return parse_l4(rx, AF_INET6, nh, p + 8, p + 24, flags);
}

enum coda_net_drop
net_parse(const struct coda_net *net, const void *frame, uint32_t len, unsigned int flags,
	  struct coda_net_rx *rx)
{
	static const uint8_t bcast[CODA_NET_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t *f = frame;
	uint32_t off = ETH_HLEN;
	uint16_t type;

	memset(rx, 0, sizeof(*rx));
	if (len < ETH_HLEN)
		return CODA_NET_DROP_TOO_SHORT;
	if (memcmp(f, net->conf.mac, CODA_NET_MAC_LEN) != 0 &&
	    memcmp(f, bcast, CODA_NET_MAC_LEN) != 0 && !(f[0] == 0x33 && f[1] == 0x33))
		return CODA_NET_DROP_NOT_OUR_MAC;
	type = get16(f + 12);
	if (type == ETHERTYPE_VLAN) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return CODA_NET_DROP_TOO_SHORT;
		rx->vlan_tci = get16(f + 14);
		/* VID 0 is a priority tag: untagged as far as VLANs go (802.1Q §9.6). */
		if ((rx->vlan_tci & 0x0fff) != net->conf.vlan_id)
			return CODA_NET_DROP_VLAN;
		type = get16(f + 16);
		off += VLAN_HLEN;
		if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ)
			return CODA_NET_DROP_VLAN;
	} else if (type == ETHERTYPE_QINQ || net->conf.vlan_id != 0) {
		return CODA_NET_DROP_VLAN;
	}
	rx->l3_off = (uint16_t)off;
	rx->l4_off = (uint16_t)off;
	switch (type) {
	case ETHERTYPE_ARP:
		return parse_arp(f + off, len - off, rx);
	case ETHERTYPE_IPV4:
		return parse_ip4(net, f + off, len - off, rx, flags);
	case ETHERTYPE_IPV6:
		return parse_ip6(net, f + off, len - off, rx, flags);
	default:
		return CODA_NET_DROP_BAD_ETHER_TYPE;
	}
}

enum coda_net_drop
coda_net_parse(const struct coda_net *net, const void *frame, uint32_t len, struct coda_net_rx *rx)
{
	return net_parse(net, frame, len, 0, rx);
}
