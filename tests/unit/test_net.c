/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/net (coda_net.h): the receive validator, the frame
 * builders, ARP and ND with their caches and wait queues, and the echo
 * responders, EAL-free under a virtual clock.
 *
 * Frames are written here byte by byte with this file's own one's-
 * complement sum (RFC 1071, big-endian words, nothing from DPDK), so a
 * checksum bug in lib/net cannot cancel out. Every frame given to lib/net
 * is first copied into a malloc() of exactly its length, so ASan catches
 * any read past its end. Every drop reason of net_drop.def must be produced
 * by some test; the last test checks that.
 *
 * Addresses: 198.18.0.0/15 and 2001:db8::/32 only.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coda_net.h"
#include "test_rng.h"

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t our4[4] = {198, 18, 0, 1};
static const uint8_t peer4[4] = {198, 18, 0, 2};
static const uint8_t our6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t peer6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* Which drop reasons some test produced (checked by the last test). */
static bool seen[CODA_NET_DROP__COUNT];

/* The frames lib/net sent. */
#define CAP_MAX 64
static struct {
	uint32_t n;
	uint32_t len[CAP_MAX];
	uint8_t f[CAP_MAX][CODA_NET_FRAME_MAX];
} cap;

static void
xmit(void *arg, const void *frame, uint32_t len)
{
	(void)arg;
	assert_true(len <= CODA_NET_FRAME_MAX);
	if (cap.n < CAP_MAX) {
		memcpy(cap.f[cap.n], frame, len);
		cap.len[cap.n] = len;
	}
	cap.n++;
}

/* A copy of exactly the frame's length: freed by the next call or the teardown. */
static uint8_t *heap;

static int
teardown(void **state)
{
	(void)state;
	free(heap);
	heap = NULL;
	return 0;
}

static const uint8_t *
exact_copy(const uint8_t *f, size_t len)
{
	free(heap);
	heap = malloc(len ? len : 1);
	assert_non_null(heap);
	memcpy(heap, f, len);
	return heap;
}

static struct coda_net *
mknet_conf(bool peer, uint16_t vlan, uint32_t nb_neigh, uint32_t nb_pending)
{
	struct coda_net_conf c;
	struct coda_net *net;

	coda_net_conf_default(&c);
	memcpy(c.mac, peer ? peer_mac : our_mac, 6);
	c.vlan_id = vlan;
	c.nb_ip4 = 1;
	memcpy(&c.ip4[0], peer ? peer4 : our4, 4);
	c.nb_ip6 = 1;
	memcpy(c.ip6[0], peer ? peer6 : our6, 16);
	if (nb_neigh)
		c.nb_neigh = nb_neigh;
	if (nb_pending)
		c.nb_pending = nb_pending;
	net = coda_net_create(&c, xmit, NULL);
	assert_non_null(net);
	cap.n = 0;
	return net;
}

static struct coda_net *
mknet(void)
{
	return mknet_conf(false, 0, 0, 0);
}

/* Record the reasons @p net counted, and free it. */
static void
done(struct coda_net *net)
{
	const struct coda_net_stats *st = coda_net_stats(net);

	for (int i = 1; i < CODA_NET_DROP__COUNT; i++)
		if (st->drops[i] != 0)
			seen[i] = true;
	coda_net_free(net);
}

static enum coda_net_drop
parse(const struct coda_net *net, const uint8_t *f, size_t len, struct coda_net_rx *rx)
{
	enum coda_net_drop r = coda_net_parse(net, exact_copy(f, len), (uint32_t)len, rx);

	assert_true((unsigned int)r < CODA_NET_DROP__COUNT);
	seen[r] = true;
	return r;
}

static enum coda_net_rx_kind
input(struct coda_net *net, const uint8_t *f, size_t len, uint64_t now)
{
	struct coda_net_rx rx;

	return coda_net_input(net, exact_copy(f, len), (uint32_t)len, 0, now, &rx);
}

/* ---- this file's own wire writer and checksum ---- */

static void
w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
r16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
sum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	return s;
}

static uint16_t
fold_not(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Sum of the pseudo-header: IPv4 if @p alen is 4, IPv6 if 16. */
static uint32_t
pseudo(size_t alen, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t len)
{
	uint32_t s = sum(sum(0, src, alen), dst, alen);

	return s + proto + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
}

static size_t
t_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, int vid, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (vid < 0) {
		w16(f + 12, type);
		return 14;
	}
	w16(f + 12, 0x8100);
	w16(f + 14, (uint16_t)vid);
	w16(f + 16, type);
	return 18;
}

static void
t_ip4_cksum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;

	w16(ip + 10, 0);
	w16(ip + 10, fold_not(sum(0, ip, ihl)));
}

static size_t
t_ip4(uint8_t *ip, uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t l4_len)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	w16(ip + 2, (uint16_t)(20 + l4_len));
	w16(ip + 4, 0x1234);
	w16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	t_ip4_cksum(ip);
	return 20;
}

static size_t
t_ip6(uint8_t *ip, uint8_t nh, uint8_t hlim, const uint8_t *src, const uint8_t *dst, size_t plen)
{
	memset(ip, 0, 40);
	ip[0] = 0x60;
	w16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	return 40;
}

/* A TCP segment, 40000 -> 80, ACK, with @p payload bytes; checksum 0. */
static size_t
t_tcp(uint8_t *t, size_t payload)
{
	memset(t, 0, 20);
	w16(t, 40000);
	w16(t + 2, 80);
	t[4] = 0x11, t[5] = 0x22, t[6] = 0x33, t[7] = 0x44;
	t[11] = 0x99;
	t[12] = 5 << 4;
	t[13] = 0x10;
	w16(t + 14, 65535);
	for (size_t i = 0; i < payload; i++)
		t[20 + i] = (uint8_t)('a' + i % 26);
	return 20 + payload;
}

/* L4 checksum at @p l4 + @p off: with a pseudo-header unless @p alen is 0 (ICMP). */
static void
t_l4_cksum(size_t alen, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t *l4,
	   size_t len, size_t off)
{
	uint32_t s = alen ? pseudo(alen, src, dst, proto, len) : 0;

	w16(l4 + off, 0);
	w16(l4 + off, fold_not(sum(s, l4, len)));
}

/* peer -> us, IPv4 TCP with 10 bytes of payload. */
static size_t
mk_tcp4(uint8_t *f)
{
	size_t l2 = t_eth(f, our_mac, peer_mac, -1, 0x0800);
	size_t n = t_tcp(f + l2 + 20, 10);

	t_ip4(f + l2, 6, peer4, our4, n);
	t_l4_cksum(4, peer4, our4, 6, f + l2 + 20, n, 16);
	return l2 + 20 + n;
}

/*
 * peer -> us, IPv6 TCP (10 bytes of payload) after @p n_ext 8-byte
 * extension headers of the types in @p ext (a Routing header gets
 * segments left @p segleft).
 */
static size_t
mk_tcp6x(uint8_t *f, const uint8_t *ext, int n_ext, uint8_t segleft)
{
	size_t l2 = t_eth(f, our_mac, peer_mac, -1, 0x86dd);
	uint8_t *ip = f + l2, *p = ip + 40;
	size_t n;

	for (int i = 0; i < n_ext; i++, p += 8) {
		memset(p, 0, 8);
		p[0] = i + 1 < n_ext ? ext[i + 1] : 6;
		if (ext[i] == 43)
			p[3] = segleft;
	}
	n = t_tcp(p, 10);
	t_l4_cksum(16, peer6, our6, 6, p, n, 16);
	t_ip6(ip, n_ext ? ext[0] : 6, 64, peer6, our6, (size_t)n_ext * 8 + n);
	return l2 + 40 + (size_t)n_ext * 8 + n;
}

static size_t
mk_tcp6(uint8_t *f)
{
	return mk_tcp6x(f, NULL, 0, 0);
}

/* An ARP packet from the peer; @p tpa the target. */
static size_t
mk_arp(uint8_t *f, uint16_t op, const uint8_t *dst_mac, const uint8_t *sha, const uint8_t *spa,
       const uint8_t *tha, const uint8_t *tpa)
{
	size_t l2 = t_eth(f, dst_mac, sha, -1, 0x0806);
	uint8_t *a = f + l2;

	w16(a, 1);
	w16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	w16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	return l2 + 28;
}

static void
expect_key4(const struct coda_conntab_key *k, const uint8_t *l, uint16_t lport, const uint8_t *r,
	    uint16_t rport)
{
	struct coda_conntab_key e;
	uint32_t l4, r4;

	memcpy(&l4, l, 4);
	memcpy(&r4, r, 4);
	coda_conntab_key_v4(&e, l4, htons(lport), r4, htons(rport));
	assert_true(coda_conntab_key_equal(k, &e));
}

static void
expect_key6(const struct coda_conntab_key *k, const uint8_t *l, uint16_t lport, const uint8_t *r,
	    uint16_t rport)
{
	struct coda_conntab_key e;

	coda_conntab_key_v6(&e, l, htons(lport), r, htons(rport));
	assert_true(coda_conntab_key_equal(k, &e));
}

/* ---- names ---- */

static void
test_drop_names(void **state)
{
	static const struct {
		enum coda_net_drop r;
		const char *upper, *lower;
	} defs[] = {
#define CODA_NET_DROP(NAME, name, desc) {CODA_NET_DROP_##NAME, #NAME, #name},
#include "net_drop.def"
#undef CODA_NET_DROP
	};
	char low[64];

	(void)state;
	assert_string_equal(coda_net_drop_name(CODA_NET_DROP_NONE), "none");
	assert_int_equal(sizeof(defs) / sizeof(defs[0]), CODA_NET_DROP__COUNT - 1);
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		size_t j;

		for (j = 0; defs[i].upper[j] != '\0' && j + 1 < sizeof(low); j++)
			low[j] = (char)tolower((unsigned char)defs[i].upper[j]);
		low[j] = '\0';
		assert_string_equal(low, defs[i].lower);
		assert_string_equal(coda_net_drop_name(defs[i].r), defs[i].lower);
		assert_non_null(coda_net_drop_desc(defs[i].r));
	}
	assert_null(coda_net_drop_name(CODA_NET_DROP__COUNT));
	assert_null(coda_net_drop_desc((enum coda_net_drop)-1));
}

static void
test_create_errors(void **state)
{
	struct coda_net_conf c;

	(void)state;
	coda_net_conf_default(&c);
	errno = 0;
	assert_null(coda_net_create(&c, xmit, NULL)); /* MAC zero */
	assert_int_equal(errno, EINVAL);
	memcpy(c.mac, our_mac, 6);
	assert_null(coda_net_create(&c, NULL, NULL));
	c.vlan_id = 4095;
	assert_null(coda_net_create(&c, xmit, NULL));
	c.vlan_id = 0;
	c.nb_ip4 = CODA_NET_ADDR_MAX + 1;
	assert_null(coda_net_create(&c, xmit, NULL));
	c.nb_ip4 = 0;
	c.nb_pending = 0;
	assert_null(coda_net_create(&c, xmit, NULL));
	coda_net_free(NULL);
}

/* ---- parsing well-formed frames ---- */

static void
test_parse_tcp4(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len = mk_tcp4(f);

	(void)state;
	/* Ethernet padding after the IP datagram is ignored. */
	memset(f + len, 0xee, 8);
	assert_int_equal(parse(net, f, len + 8, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.kind, CODA_NET_RX_TCP);
	assert_int_equal(rx.family, AF_INET);
	assert_int_equal(rx.l3_off, 14);
	assert_int_equal(rx.l4_off, 34);
	assert_int_equal(rx.l4_len, 30);
	assert_ptr_equal(rx.l4, heap + 34);
	assert_int_equal(rx.ttl, 64);
	assert_int_equal(rx.vlan_tci, 0);
	assert_memory_equal(rx.l4, f + 34, 30);
	expect_key4(&rx.key, our4, 80, peer4, 40000);
	done(net);
}

static void
test_parse_tcp6(void **state)
{
	static const uint8_t ext[3] = {0, 60, 43}; /* Hop-by-Hop, Destination, Routing */
	struct coda_net *net = mknet();
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len = mk_tcp6(f);

	(void)state;
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.kind, CODA_NET_RX_TCP);
	assert_int_equal(rx.family, AF_INET6);
	assert_int_equal(rx.l3_off, 14);
	assert_int_equal(rx.l4_off, 54);
	assert_int_equal(rx.l4_len, 30);
	assert_ptr_equal(rx.l4, heap + 54);
	assert_int_equal(rx.flags, 0);
	expect_key6(&rx.key, our6, 80, peer6, 40000);

	/* Skippable extension headers, segments left 0. */
	len = mk_tcp6x(f, ext, 3, 0);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.l4_off, 54 + 24);
	assert_int_equal(rx.l4_len, 30);
	expect_key6(&rx.key, our6, 80, peer6, 40000);
	done(net);
}

static void
test_parse_vlan(void **state)
{
	struct coda_net *net = mknet(), *tagged = mknet_conf(false, 100, 0, 0);
	struct coda_net_rx rx;
	uint8_t f[256], g[256];
	size_t len = mk_tcp4(f);

	(void)state;
	/* The same frame with a tag inserted after the MACs. */
	memcpy(g, f, 12);
	w16(g + 12, 0x8100);
	w16(g + 14, 0x2000 | 100); /* PCP 1, VID 100 */
	memcpy(g + 16, f + 12, len - 12);
	assert_int_equal(parse(tagged, g, len + 4, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.l3_off, 18);
	assert_int_equal(rx.l4_off, 38);
	assert_int_equal(rx.vlan_tci, 0x2000 | 100);
	expect_key4(&rx.key, our4, 80, peer4, 40000);
	/* Untagged to the tagged configuration; tagged to the untagged one. */
	assert_int_equal(parse(tagged, f, len, &rx), CODA_NET_DROP_VLAN);
	assert_int_equal(parse(net, g, len + 4, &rx), CODA_NET_DROP_VLAN);
	/* Another VID. */
	w16(g + 14, 101);
	assert_int_equal(parse(tagged, g, len + 4, &rx), CODA_NET_DROP_VLAN);
	/* A priority tag (VID 0) is untagged for VLAN purposes. */
	w16(g + 14, 0x6000);
	assert_int_equal(parse(net, g, len + 4, &rx), CODA_NET_DROP_NONE);
	/* Stacked tags, and QinQ. */
	w16(g + 14, 100);
	w16(g + 16, 0x8100);
	assert_int_equal(parse(tagged, g, len + 4, &rx), CODA_NET_DROP_VLAN);
	w16(g + 12, 0x88a8);
	assert_int_equal(parse(net, g, len + 4, &rx), CODA_NET_DROP_VLAN);
	/* Tag cut short. */
	w16(g + 12, 0x8100);
	assert_int_equal(parse(tagged, g, 17, &rx), CODA_NET_DROP_TOO_SHORT);
	done(net);
	done(tagged);
}

/* ---- one frame per drop reason ---- */

static void
test_drop_reasons_eth_arp(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len;

	(void)state;
	len = mk_tcp4(f);
	assert_int_equal(parse(net, f, 0, &rx), CODA_NET_DROP_TOO_SHORT);
	assert_int_equal(parse(net, f, 13, &rx), CODA_NET_DROP_TOO_SHORT);
	assert_int_equal(parse(net, f, 14 + 19, &rx), CODA_NET_DROP_TOO_SHORT);
	f[5] = 0x09;
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NOT_OUR_MAC);
	f[5] = 0x01;
	w16(f + 12, 0x88cc); /* LLDP */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_ETHER_TYPE);
	w16(f + 12, 0x86dd); /* an IPv4 packet under the IPv6 type */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_IP_VERSION);

	len = mk_arp(f, 1, bcast_mac, peer_mac, peer4, (const uint8_t[6]){0}, our4);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.kind, CODA_NET_RX_ARP);
	expect_key4(&rx.key, our4, 0, peer4, 0);
	assert_int_equal(parse(net, f, len - 1, &rx), CODA_NET_DROP_TOO_SHORT);
	w16(f + 14 + 6, 3); /* RARP request */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_ARP);
	w16(f + 14 + 6, 1);
	w16(f + 14, 6); /* IEEE 802 hardware */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_ARP);
	done(net);
}

/* Mutate the IPv4 TCP frame's IP header with @p fix, recompute its checksum, parse. */
static enum coda_net_drop
ip4_case(struct coda_net *net, size_t off, uint8_t val, bool fix_cksum)
{
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len = mk_tcp4(f);

	f[14 + off] = val;
	if (fix_cksum)
		t_ip4_cksum(f + 14);
	return parse(net, f, len, &rx);
}

static void
test_drop_reasons_ip4(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len;

	(void)state;
	assert_int_equal(ip4_case(net, 0, 0x55, false), CODA_NET_DROP_BAD_IP_VERSION);
	assert_int_equal(ip4_case(net, 0, 0x44, false), CODA_NET_DROP_BAD_IHL);
	assert_int_equal(ip4_case(net, 0, 0x4f, false), CODA_NET_DROP_BAD_IHL); /* 60 > 50 bytes */
	assert_int_equal(ip4_case(net, 3, 19, true), CODA_NET_DROP_BAD_IP_LEN);
	assert_int_equal(ip4_case(net, 3, 51, true), CODA_NET_DROP_BAD_IP_LEN);
	assert_int_equal(ip4_case(net, 10, 0x55, false), CODA_NET_DROP_BAD_IP_CKSUM);
	assert_int_equal(ip4_case(net, 6, 0x20, true), CODA_NET_DROP_FRAGMENT); /* MF */
	assert_int_equal(ip4_case(net, 7, 0x01, true), CODA_NET_DROP_FRAGMENT); /* offset 8 */
	assert_int_equal(ip4_case(net, 6, 0xc0, true), CODA_NET_DROP_NONE); /* reserved bit: ignored */
	assert_int_equal(ip4_case(net, 12, 224, true), CODA_NET_DROP_BAD_SRC_ADDR);
	assert_int_equal(ip4_case(net, 12, 127, true), CODA_NET_DROP_BAD_SRC_ADDR);
	assert_int_equal(ip4_case(net, 12, 0, true), CODA_NET_DROP_BAD_SRC_ADDR);
	assert_int_equal(ip4_case(net, 19, 99, true), CODA_NET_DROP_NOT_FOR_US);
	assert_int_equal(ip4_case(net, 19, 255, true), CODA_NET_DROP_NOT_FOR_US);
	assert_int_equal(ip4_case(net, 9, 17, true), CODA_NET_DROP_UNSUPPORTED_PROTO); /* UDP */

	/* TCP of 19 bytes, checksums right. */
	len = t_eth(f, our_mac, peer_mac, -1, 0x0800);
	t_tcp(f + 34, 0);
	t_ip4(f + 14, 6, peer4, our4, 19);
	t_l4_cksum(4, peer4, our4, 6, f + 34, 19, 16);
	assert_int_equal(parse(net, f, 34 + 19, &rx), CODA_NET_DROP_L4_TOO_SHORT);
	/* ICMP of 7 bytes. */
	t_ip4(f + 14, 1, peer4, our4, 7);
	assert_int_equal(parse(net, f, 34 + 7, &rx), CODA_NET_DROP_L4_TOO_SHORT);

	/* IP options are skipped: IHL 6 with a 4-byte NOP option list. */
	len = mk_tcp4(f);
	memmove(f + 38, f + 34, len - 34);
	f[14] = 0x46;
	memset(f + 34, 1, 4);
	w16(f + 16, (uint16_t)(len - 14 + 4));
	t_ip4_cksum(f + 14);
	assert_int_equal(parse(net, f, len + 4, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.l4_off, 38);
	expect_key4(&rx.key, our4, 80, peer4, 40000);
	done(net);
}

static void
test_drop_reasons_ip6(void **state)
{
	static const uint8_t frag[1] = {44}, rt[1] = {43}, five[5] = {60, 60, 60, 60, 60},
			     hbh2[2] = {60, 0}, esp[1] = {50};
	struct coda_net *net = mknet();
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len;

	(void)state;
	len = mk_tcp6(f);
	f[14] = 0x40;
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_IP_VERSION);
	len = mk_tcp6(f);
	assert_int_equal(parse(net, f, 14 + 39, &rx), CODA_NET_DROP_TOO_SHORT);
	assert_int_equal(parse(net, f, len - 1, &rx), CODA_NET_DROP_BAD_IP_LEN);
	f[14 + 8] = 0xff;
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_SRC_ADDR);
	len = mk_tcp6(f);
	memset(f + 14 + 8, 0, 16); /* :: is for DAD (ICMPv6) only; pseudo-header changes too */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_SRC_ADDR);
	len = mk_tcp6(f);
	f[14 + 39] = 0x99;
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NOT_FOR_US);

	len = mk_tcp6x(f, frag, 1, 0);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_FRAGMENT);
	len = mk_tcp6x(f, rt, 1, 1);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_IPV6_ROUTING);
	len = mk_tcp6x(f, five, 5, 0);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_IPV6_EXT_TOO_LONG);
	len = mk_tcp6x(f, five, 4, 0); /* four are fine */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NONE);
	len = mk_tcp6x(f, hbh2, 2, 0); /* Hop-by-Hop second */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_IPV6_EXT_TOO_LONG);
	len = mk_tcp6x(f, five, 1, 0);
	f[14 + 40 + 1] = 200; /* 1608 bytes claimed */
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_IPV6_EXT_TOO_LONG);
	len = mk_tcp6x(f, esp, 1, 0);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_UNSUPPORTED_PROTO);
	len = mk_tcp6(f);
	f[14 + 6] = 17;
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_UNSUPPORTED_PROTO);
	/* TCP to the all-nodes group. */
	len = mk_tcp6(f);
	memcpy(f + 14 + 24, (const uint8_t[16]){0xff, 0x02, [15] = 1}, 16);
	t_l4_cksum(16, peer6, f + 14 + 24, 6, f + 54, len - 54, 16);
	assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NOT_FOR_US);
	done(net);
}

/* Any single flipped bit of a TCP segment, IPv4 or IPv6, fails the checksum. */
static void
test_cksum_bit_flips(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_rx rx;
	uint8_t f[256];

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		size_t len = v6 ? mk_tcp6(f) : mk_tcp4(f), l4 = v6 ? 54 : 34;

		assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_NONE);
		for (size_t bit = l4 * 8; bit < len * 8; bit++) {
			f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(parse(net, f, len, &rx), CODA_NET_DROP_BAD_L4_CKSUM);
			f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* And any bit of the IPv4 header gives some drop. */
		for (size_t bit = 14 * 8; !v6 && bit < l4 * 8; bit++) {
			f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_not_equal(parse(net, f, len, &rx), CODA_NET_DROP_NONE);
			f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	done(net);
}

/*
 * coda_net_input() flags: checksums the NIC verified are not checked again
 * (and only those); a learn-only copy learns neighbours and answers nothing.
 */
static size_t mk_ns(uint8_t *f, const uint8_t *src, const uint8_t *target, uint8_t hlim);

static void
test_input_flags(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_neigh_info ni;
	struct coda_net_rx rx;
	uint8_t f[256];
	size_t len;

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		len = v6 ? mk_tcp6(f) : mk_tcp4(f);
		f[len - 1] ^= 0x40; /* TCP checksum now wrong */
		assert_int_equal(coda_net_input(net, f, (uint32_t)len, 0, 1, &rx), CODA_NET_RX_NONE);
		assert_int_equal(coda_net_input(net, f, (uint32_t)len, CODA_NET_IN_IP_CKSUM_GOOD, 1, &rx),
				 CODA_NET_RX_NONE);
		assert_int_equal(coda_net_input(net, f, (uint32_t)len, CODA_NET_IN_L4_CKSUM_GOOD, 1, &rx),
				 CODA_NET_RX_TCP);
		assert_int_equal(rx.l4_len, 30);
	}
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_BAD_L4_CKSUM], 4);
	/* The IPv4 header checksum, likewise. */
	len = mk_tcp4(f);
	f[14 + 10] ^= 1;
	assert_int_equal(coda_net_input(net, f, (uint32_t)len, CODA_NET_IN_L4_CKSUM_GOOD, 1, &rx),
			 CODA_NET_RX_NONE);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_BAD_IP_CKSUM], 1);
	assert_int_equal(coda_net_input(net, f, (uint32_t)len, CODA_NET_IN_IP_CKSUM_GOOD, 1, &rx),
			 CODA_NET_RX_TCP);

	/* Learn-only ARP request for us: the asker is learnt, no reply. */
	cap.n = 0;
	len = mk_arp(f, 1, bcast_mac, peer_mac, peer4, (const uint8_t[6]){0}, our4);
	assert_int_equal(coda_net_input(net, f, (uint32_t)len, CODA_NET_IN_LEARN_ONLY, 2, &rx),
			 CODA_NET_RX_ARP);
	assert_int_equal(cap.n, 0);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 2, &ni), 0);
	assert_memory_equal(ni.mac, peer_mac, 6);
	assert_int_equal(coda_net_stats(net)->tx_arp_reply, 0);
	/* Learn-only NS: learnt, no NA. */
	len = mk_ns(f, peer6, our6, 255);
	assert_int_equal(coda_net_input(net, f, (uint32_t)len, CODA_NET_IN_LEARN_ONLY, 3, &rx),
			 CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 0);
	assert_int_equal(coda_net_neigh_get(net, AF_INET6, peer6, 3, &ni), 0);
	assert_memory_equal(ni.mac, peer_mac, 6);
	/* The same frames without the flag are answered. */
	assert_int_equal(coda_net_input(net, f, (uint32_t)len, 0, 3, &rx), CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 1);
	done(net);
}

/* ---- building ---- */

static void
test_build_roundtrip(void **state)
{
	struct coda_net *net = mknet(), *peer = mknet_conf(true, 0, 0, 0);
	struct coda_conntab_key k;
	struct coda_net_rx rx;
	uint8_t seg[120], buf[CODA_NET_FRAME_MAX];
	uint32_t len, s4, d4;
	size_t n = t_tcp(seg, 100);

	(void)state;
	seg[12] = 6 << 4; /* an MSS option */
	seg[20] = 2, seg[21] = 4, seg[22] = 0x05, seg[23] = 0xb4;
	memcpy(&s4, our4, 4);
	memcpy(&d4, peer4, 4);
	for (int v6 = 0; v6 <= 1; v6++) {
		/* The segment's ports: 40000 (ours) -> 80. */
		if (v6)
			coda_conntab_key_v6(&k, our6, htons(40000), peer6, htons(80));
		else
			coda_conntab_key_v4(&k, s4, htons(40000), d4, htons(80));
		len = coda_net_build_tcp(net, peer_mac, &k, seg, (uint32_t)n, buf, sizeof(buf), 0);
		assert_int_equal(len, 14 + (v6 ? 40 : 20) + n);
		/* Parsed by the peer: the key from its side, the same TCP bytes. */
		assert_int_equal(parse(peer, buf, len, &rx), CODA_NET_DROP_NONE);
		assert_int_equal(rx.kind, CODA_NET_RX_TCP);
		if (v6)
			expect_key6(&rx.key, peer6, 80, our6, 40000);
		else
			expect_key4(&rx.key, peer4, 80, our4, 40000);
		assert_int_equal(rx.l4_len, n);
		assert_memory_equal(rx.l4, seg, 16);
		assert_memory_equal(rx.l4 + 18, seg + 18, n - 18);
		assert_memory_equal(buf, peer_mac, 6);
		assert_memory_equal(buf + 6, our_mac, 6);
		if (!v6) {
			/* TTL 64, DF, ID 0, header checksum by this file's sum. */
			assert_int_equal(buf[22], 64);
			assert_int_equal(r16(buf + 20), 0x4000);
			assert_int_equal(r16(buf + 18), 0);
			assert_int_equal(fold_not(sum(0, buf + 14, 20)), 0);
		} else {
			assert_int_equal(buf[14 + 7], 64);
		}
		/* Offload: IPv4 header checksum 0, TCP field = the pseudo-header sum. */
		len = coda_net_build_tcp(net, peer_mac, &k, seg, (uint32_t)n, buf, sizeof(buf),
					 CODA_NET_TX_CKSUM_OFFLOAD);
		assert_int_equal(r16(buf + 14 + (v6 ? 40 : 20) + 16),
				 (uint16_t)~fold_not(v6 ? pseudo(16, our6, peer6, 6, n)
							: pseudo(4, our4, peer4, 6, n)));
		if (!v6)
			assert_int_equal(r16(buf + 24), 0);
	}
	/* Does not fit. */
	assert_int_equal(coda_net_build_tcp(net, peer_mac, &k, seg, (uint32_t)n, buf, 100, 0), 0);
	k.family = 0;
	assert_int_equal(coda_net_build_tcp(net, peer_mac, &k, seg, (uint32_t)n, buf, sizeof(buf), 0),
			 0);
	done(net);
	done(peer);
}

/* ---- ARP ---- */

static void
test_arp_reply_bytes(void **state)
{
	static const uint8_t want[42] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06, /* Ethernet */
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,		     /* reply */
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,			     /* us */
		0x02, 0, 0, 0, 0, 0x02, 198, 18, 0, 2,			     /* the asker */
	};
	struct coda_net *net = mknet();
	struct coda_net_neigh_info ni;
	uint8_t f[64];
	size_t len;

	(void)state;
	len = mk_arp(f, 1, bcast_mac, peer_mac, peer4, (const uint8_t[6]){0}, our4);
	assert_int_equal(input(net, f, len, 5), CODA_NET_RX_ARP);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.len[0], 42);
	assert_memory_equal(cap.f[0], want, 42);
	/* The asker is learnt, STALE (a request proves no two-way reachability). */
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 5, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_STALE);
	assert_memory_equal(ni.mac, peer_mac, 6);

	/* A request for another host: not answered, counted. */
	cap.n = 0;
	len = mk_arp(f, 1, bcast_mac, peer_mac, peer4, (const uint8_t[6]){0},
		     (const uint8_t[4]){198, 18, 0, 77});
	assert_int_equal(input(net, f, len, 6), CODA_NET_RX_NONE);
	assert_int_equal(cap.n, 0);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_NOT_FOR_US], 1);
	done(net);
}

/* A TCP segment to @p dst through coda_net_output_tcp(). */
static enum coda_net_tx_result
send_tcp(struct coda_net *net, const uint8_t *dst, size_t alen, uint8_t tag, uint64_t now)
{
	struct coda_conntab_key k;
	uint8_t seg[40];
	uint32_t s4, d4;

	t_tcp(seg, 20);
	seg[20] = tag;
	if (alen == 4) {
		memcpy(&s4, our4, 4);
		memcpy(&d4, dst, 4);
		coda_conntab_key_v4(&k, s4, htons(80), d4, htons(40000));
	} else {
		coda_conntab_key_v6(&k, our6, htons(80), dst, htons(40000));
	}
	return coda_net_output_tcp(net, &k, seg, 40, now);
}

static void
test_arp_resolve_queue(void **state)
{
	struct coda_net *net = mknet(), *peer = mknet_conf(true, 0, 0, 0);
	struct coda_net_neigh_info ni;
	struct coda_net_rx rx;
	uint8_t f[64];
	size_t len;

	(void)state;
	assert_int_equal(send_tcp(net, peer4, 4, 0, 100), CODA_NET_TX_QUEUED);
	/* One broadcast request, from our address, for the peer. */
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.len[0], 42);
	assert_memory_equal(cap.f[0], bcast_mac, 6);
	assert_int_equal(r16(cap.f[0] + 20), 1);
	assert_memory_equal(cap.f[0] + 28, our4, 4);
	assert_memory_equal(cap.f[0] + 38, peer4, 4);
	/* The bound: 4 frames wait, the 5th is dropped. */
	for (uint8_t i = 1; i < CODA_NET_NEIGH_QUEUE; i++)
		assert_int_equal(send_tcp(net, peer4, 4, i, 100 + i), CODA_NET_TX_QUEUED);
	assert_int_equal(send_tcp(net, peer4, 4, 9, 110), CODA_NET_TX_DROPPED);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_NEIGH_QUEUE_FULL], 1);
	assert_int_equal(cap.n, 1); /* no second request before retrans_ms */
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 110, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_INCOMPLETE);
	assert_int_equal(ni.queued, 4);

	/* The reply: the four frames leave in order, to the peer's MAC, valid for it. */
	len = mk_arp(f, 2, our_mac, peer_mac, peer4, our_mac, our4);
	cap.n = 0;
	assert_int_equal(input(net, f, len, 200), CODA_NET_RX_ARP);
	assert_int_equal(cap.n, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_memory_equal(cap.f[i], peer_mac, 6);
		assert_int_equal(parse(peer, cap.f[i], cap.len[i], &rx), CODA_NET_DROP_NONE);
		assert_int_equal(rx.l4[20], i);
	}
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 200, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_REACHABLE);
	assert_int_equal(ni.queued, 0);
	assert_int_equal(coda_net_stats(net)->neigh_resolved, 1);
	/* Now straight out. */
	cap.n = 0;
	assert_int_equal(send_tcp(net, peer4, 4, 7, 300), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 1);
	done(net);
	done(peer);
}

static void
test_neigh_expiry(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_neigh_info ni;
	const uint8_t other[4] = {198, 18, 0, 3};
	uint8_t f[64];
	size_t len;

	(void)state;
	/* Resolve at t = 1000: REACHABLE until 31000. */
	send_tcp(net, peer4, 4, 0, 1000);
	len = mk_arp(f, 2, our_mac, peer_mac, peer4, our_mac, our4);
	input(net, f, len, 1000);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 30999, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_REACHABLE);
	assert_int_equal(ni.expire_ms, 31000);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 31000, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_STALE);
	/*
	 * STALE in use: 5 s of DELAY from its first use, then a unicast
	 * request to the known MAC at most once per retrans_ms.
	 */
	cap.n = 0;
	assert_int_equal(send_tcp(net, peer4, 4, 1, 31000), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 1); /* the segment only: DELAY starts */
	assert_int_equal(send_tcp(net, peer4, 4, 2, 35999), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 2);
	assert_int_equal(send_tcp(net, peer4, 4, 3, 36000), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 4); /* the segment, then a request */
	assert_int_equal(r16(cap.f[3] + 12), 0x0806);
	assert_memory_equal(cap.f[3], peer_mac, 6); /* unicast */
	assert_int_equal(r16(cap.f[3] + 14 + 6), 1); /* a request */
	assert_int_equal(send_tcp(net, peer4, 4, 4, 36500), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 5);
	assert_int_equal(send_tcp(net, peer4, 4, 5, 37000), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 7);
	/* A reply confirms it again. */
	input(net, f, len, 37001);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 37001, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_REACHABLE);
	assert_int_equal(ni.probes, 0);

	/* An unanswered neighbour: requests at 0, 1000, 2000 (max_probes 3), then given up. */
	cap.n = 0;
	assert_int_equal(send_tcp(net, other, 4, 0, 40000), CODA_NET_TX_QUEUED);
	assert_int_equal(send_tcp(net, other, 4, 1, 40001), CODA_NET_TX_QUEUED);
	coda_net_tick(net, 40999);
	assert_int_equal(cap.n, 1);
	coda_net_tick(net, 41000);
	assert_int_equal(cap.n, 2);
	coda_net_tick(net, 42000);
	assert_int_equal(cap.n, 3);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, other, 42000, &ni), 0);
	assert_int_equal(ni.probes, 3);
	coda_net_tick(net, 43000);
	assert_int_equal(cap.n, 3);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, other, 43000, &ni), -ENOENT);
	assert_int_equal(ni.state, CODA_NET_NEIGH_NONE);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_NEIGH_UNRESOLVED], 2);
	/* The tick also ages REACHABLE entries. */
	coda_net_tick(net, 70000);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 70000, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_STALE);
	done(net);
}

static void
test_neigh_static_full_pool(void **state)
{
	struct coda_net *net = mknet_conf(false, 0, 8, 2); /* one bucket, two pool slots */
	struct coda_net_neigh_info ni;
	uint8_t a[4] = {198, 18, 1, 0}, f[64];
	size_t len;

	(void)state;
	/* A static neighbour: sent at once, never learnt over. */
	assert_int_equal(coda_net_neigh_add(net, AF_INET, peer4, peer_mac, 0), 0);
	assert_int_equal(send_tcp(net, peer4, 4, 0, 0), CODA_NET_TX_SENT);
	len = mk_arp(f, 2, our_mac, (const uint8_t[6]){0x02, 9, 9, 9, 9, 9}, peer4, our_mac, our4);
	input(net, f, len, 1);
	assert_int_equal(coda_net_neigh_get(net, AF_INET, peer4, 1000000, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_STATIC);
	assert_memory_equal(ni.mac, peer_mac, 6);
	assert_int_equal(coda_net_neigh_add(net, AF_INET, peer4, bcast_mac, 0), -EINVAL);
	assert_int_equal(coda_net_neigh_add(net, 99, peer4, peer_mac, 0), -EINVAL);

	/* Pool of 2: the third waiting frame finds no slot. */
	a[3] = 10;
	assert_int_equal(send_tcp(net, a, 4, 0, 0), CODA_NET_TX_QUEUED);
	a[3] = 11;
	assert_int_equal(send_tcp(net, a, 4, 0, 0), CODA_NET_TX_QUEUED);
	a[3] = 12;
	assert_int_equal(send_tcp(net, a, 4, 0, 0), CODA_NET_TX_DROPPED);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_NEIGH_POOL_EMPTY], 1);
	/* One bucket of 8: static + 7 INCOMPLETE, the next neighbour finds no room. */
	for (a[3] = 13; a[3] < 17; a[3]++)
		send_tcp(net, a, 4, 0, 0);
	assert_int_equal(send_tcp(net, a, 4, 0, 0), CODA_NET_TX_DROPPED);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_NEIGH_FULL], 1);
	/* Too big for a frame. */
	{
		struct coda_conntab_key k;
		static uint8_t big[1500];
		uint32_t s4, d4;

		memcpy(&s4, our4, 4);
		memcpy(&d4, peer4, 4);
		coda_conntab_key_v4(&k, s4, htons(80), d4, htons(40000));
		t_tcp(big, 0);
		assert_int_equal(coda_net_output_tcp(net, &k, big, 1481, 0), CODA_NET_TX_DROPPED);
		assert_int_equal(coda_net_output_tcp(net, &k, big, 1480, 0), CODA_NET_TX_SENT);
		assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_TX_TOO_BIG], 1);
	}
	done(net);
}

/* ---- ICMP ---- */

static void
test_icmp_echo4(void **state)
{
	struct coda_net *net = mknet();
	uint8_t f[256], want[256];
	size_t n = 8 + 56, len;

	(void)state;
	len = t_eth(f, our_mac, peer_mac, -1, 0x0800);
	t_ip4(f + 14, 1, peer4, our4, n);
	f[14 + 8] = 3; /* a TTL that must not be copied */
	t_ip4_cksum(f + 14);
	memset(f + 34, 0, n);
	f[34] = 8;
	w16(f + 34 + 4, 0xbeef);
	w16(f + 34 + 6, 7);
	for (size_t i = 8; i < n; i++)
		f[34 + i] = (uint8_t)i;
	t_l4_cksum(0, NULL, NULL, 1, f + 34, n, 2);
	len += 20 + n;

	/* The expected reply, written out. */
	t_eth(want, peer_mac, our_mac, -1, 0x0800);
	memset(want + 14, 0, 20);
	want[14] = 0x45;
	w16(want + 16, (uint16_t)(20 + n));
	w16(want + 20, 0x4000);
	want[22] = 64;
	want[23] = 1;
	memcpy(want + 26, our4, 4);
	memcpy(want + 30, peer4, 4);
	w16(want + 24, fold_not(sum(0, want + 14, 20)));
	memcpy(want + 34, f + 34, n);
	want[34] = 0;
	t_l4_cksum(0, NULL, NULL, 1, want + 34, n, 2);

	assert_int_equal(input(net, f, len, 0), CODA_NET_RX_ICMP);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.len[0], len);
	assert_memory_equal(cap.f[0], want, len);
	assert_int_equal(coda_net_stats(net)->tx_echo_reply, 1);

	/* Anything else ICMP is counted, not answered. */
	cap.n = 0;
	f[34] = 3; /* destination unreachable */
	t_l4_cksum(0, NULL, NULL, 1, f + 34, n, 2);
	assert_int_equal(input(net, f, len, 0), CODA_NET_RX_NONE);
	assert_int_equal(cap.n, 0);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_ICMP_UNHANDLED], 1);
	/* A bad ICMP checksum. */
	f[40] ^= 1;
	assert_int_equal(input(net, f, len, 0), CODA_NET_RX_NONE);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_BAD_L4_CKSUM], 1);
	done(net);
}

static void
test_icmp_echo6(void **state)
{
	struct coda_net *net = mknet();
	uint8_t f[256], want[256];
	size_t n = 8 + 33, len;

	(void)state;
	len = t_eth(f, our_mac, peer_mac, -1, 0x86dd);
	t_ip6(f + 14, 58, 7, peer6, our6, n);
	memset(f + 54, 0, n);
	f[54] = 128;
	w16(f + 54 + 4, 0x1234);
	w16(f + 54 + 6, 1);
	for (size_t i = 8; i < n; i++)
		f[54 + i] = (uint8_t)(0xa0 + i);
	t_l4_cksum(16, peer6, our6, 58, f + 54, n, 2);
	len += 40 + n;

	t_eth(want, peer_mac, our_mac, -1, 0x86dd);
	t_ip6(want + 14, 58, 64, our6, peer6, n);
	memcpy(want + 54, f + 54, n);
	want[54] = 129;
	t_l4_cksum(16, our6, peer6, 58, want + 54, n, 2);

	assert_int_equal(input(net, f, len, 0), CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.len[0], len);
	assert_memory_equal(cap.f[0], want, len);
	/* Echo to the all-nodes group: not answered. */
	cap.n = 0;
	memcpy(f + 14 + 24, (const uint8_t[16]){0xff, 0x02, [15] = 1}, 16);
	f[0] = 0x33, f[1] = 0x33;
	t_l4_cksum(16, peer6, f + 38, 58, f + 54, n, 2);
	assert_int_equal(input(net, f, len, 0), CODA_NET_RX_NONE);
	assert_int_equal(cap.n, 0);
	done(net);
}

/* ---- Neighbour Discovery ---- */

/* An NS for @p target from @p src (NULL: ::, DAD) to its solicited-node group, with SLLA unless DAD. */
static size_t
mk_ns(uint8_t *f, const uint8_t *src, const uint8_t *target, uint8_t hlim)
{
	static const uint8_t unspec[16];
	uint8_t dst[16] = {0xff, 0x02, [11] = 1, [12] = 0xff};
	uint8_t mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
	size_t n = src ? 32 : 24;
	uint8_t *m = f + 54;

	memcpy(dst + 13, target + 13, 3);
	t_eth(f, mac, peer_mac, -1, 0x86dd);
	t_ip6(f + 14, 58, hlim, src ? src : unspec, dst, n);
	memset(m, 0, n);
	m[0] = 135;
	memcpy(m + 8, target, 16);
	if (src) {
		m[24] = 1;
		m[25] = 1;
		memcpy(m + 26, peer_mac, 6);
	}
	t_l4_cksum(16, src ? src : unspec, dst, 58, m, n, 2);
	return 54 + n;
}

static void
test_ns_na(void **state)
{
	struct coda_net *net = mknet();
	struct coda_net_neigh_info ni;
	uint8_t f[256], want[128];
	size_t len;

	(void)state;
	len = mk_ns(f, peer6, our6, 255);
	/* The NA, written out: to the asker, Solicited and Override, our MAC in TLLA. */
	t_eth(want, peer_mac, our_mac, -1, 0x86dd);
	t_ip6(want + 14, 58, 255, our6, peer6, 32);
	memset(want + 54, 0, 32);
	want[54] = 136;
	want[58] = 0x60;
	memcpy(want + 62, our6, 16);
	want[78] = 2;
	want[79] = 1;
	memcpy(want + 80, our_mac, 6);
	t_l4_cksum(16, our6, peer6, 58, want + 54, 32, 2);

	assert_int_equal(input(net, f, len, 10), CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.len[0], 86);
	assert_memory_equal(cap.f[0], want, 86);
	assert_int_equal(coda_net_neigh_get(net, AF_INET6, peer6, 10, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_STALE);
	assert_memory_equal(ni.mac, peer_mac, 6);
	/* Used: no NS during the 5 s DELAY, then a unicast one to the peer (RFC 4861 §7.3.3). */
	cap.n = 0;
	assert_int_equal(send_tcp(net, peer6, 16, 1, 10), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 1);
	assert_int_equal(send_tcp(net, peer6, 16, 2, 5010), CODA_NET_TX_SENT);
	assert_int_equal(cap.n, 3);
	assert_memory_equal(cap.f[2], peer_mac, 6);
	assert_memory_equal(cap.f[2] + 14 + 24, peer6, 16); /* IPv6 destination: the target */
	assert_int_equal(cap.f[2][54], 135);		       /* NS */
	assert_memory_equal(cap.f[2] + 54 + 8, peer6, 16);
	cap.n = 0;

	/* DAD: answered to all-nodes without Solicited. */
	cap.n = 0;
	len = mk_ns(f, NULL, our6, 255);
	assert_int_equal(input(net, f, len, 11), CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 1);
	assert_memory_equal(cap.f[0], ((const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}), 6);
	assert_int_equal(cap.f[0][14 + 24], 0xff);
	assert_int_equal(cap.f[0][58], 0x20);

	/* Hop limit not 255: forged from off-link. */
	cap.n = 0;
	len = mk_ns(f, peer6, our6, 64);
	assert_int_equal(input(net, f, len, 12), CODA_NET_RX_NONE);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_BAD_ND], 1);
	/* An option of length 0. */
	len = mk_ns(f, peer6, our6, 255);
	f[54 + 25] = 0;
	t_l4_cksum(16, peer6, f + 38, 58, f + 54, 32, 2);
	assert_int_equal(input(net, f, len, 12), CODA_NET_RX_NONE);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_BAD_ND], 2);
	/* For someone else's address (same solicited-node group is not ours, so: not for us). */
	len = mk_ns(f, peer6, (const uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, 1, [15] = 1}, 255);
	assert_int_equal(input(net, f, len, 12), CODA_NET_RX_NONE);
	assert_int_equal(coda_net_stats(net)->drops[CODA_NET_DROP_NOT_FOR_US], 1);
	assert_int_equal(cap.n, 0);
	done(net);
}

static void
test_nd_resolve(void **state)
{
	struct coda_net *net = mknet(), *peer = mknet_conf(true, 0, 0, 0);
	struct coda_net_neigh_info ni;
	struct coda_net_rx rx;
	uint8_t ns[128], na[128];
	uint32_t ns_len, na_len;

	(void)state;
	assert_int_equal(send_tcp(net, peer6, 16, 0, 0), CODA_NET_TX_QUEUED);
	assert_int_equal(send_tcp(net, peer6, 16, 1, 0), CODA_NET_TX_QUEUED);
	assert_int_equal(cap.n, 1);
	assert_memory_equal(cap.f[0], ((const uint8_t[6]){0x33, 0x33, 0xff, 0, 0, 2}), 6);
	ns_len = cap.len[0];
	memcpy(ns, cap.f[0], ns_len);
	/* The peer takes our NS (checksum, hop limit, group) and answers it. */
	cap.n = 0;
	assert_int_equal(parse(peer, ns, ns_len, &rx), CODA_NET_DROP_NONE);
	assert_int_equal(rx.kind, CODA_NET_RX_ICMP6);
	assert_int_equal(rx.flags, CODA_NET_RX_F_MCAST);
	assert_int_equal(input(peer, ns, ns_len, 0), CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 1);
	na_len = cap.len[0];
	memcpy(na, cap.f[0], na_len);
	/* ... and the peer learnt us from the NS. */
	assert_int_equal(coda_net_neigh_get(peer, AF_INET6, our6, 0, &ni), 0);
	assert_memory_equal(ni.mac, our_mac, 6);
	/* Its NA resolves our entry: REACHABLE, both frames out. */
	cap.n = 0;
	assert_int_equal(input(net, na, na_len, 5), CODA_NET_RX_ICMP6);
	assert_int_equal(cap.n, 2);
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(parse(peer, cap.f[i], cap.len[i], &rx), CODA_NET_DROP_NONE);
		assert_int_equal(rx.kind, CODA_NET_RX_TCP);
		assert_int_equal(rx.l4[20], i);
	}
	assert_int_equal(coda_net_neigh_get(net, AF_INET6, peer6, 5, &ni), 0);
	assert_int_equal(ni.state, CODA_NET_NEIGH_REACHABLE);
	assert_memory_equal(ni.mac, peer_mac, 6);
	/* An unsolicited NA for an unknown target creates nothing. */
	na[54 + 4] = 0x20;
	memcpy(na + 54 + 8, (const uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, [15] = 9}, 16);
	t_l4_cksum(16, na + 22, na + 38, 58, na + 54, 32, 2);
	assert_int_equal(input(net, na, na_len, 6), CODA_NET_RX_ICMP6);
	assert_int_equal(coda_net_neigh_get(net, AF_INET6, na + 62, 6, &ni), -ENOENT);
	done(net);
	done(peer);
}

/* ---- robustness ---- */

static void
check_rx(const struct coda_net_rx *rx, const uint8_t *f, size_t len)
{
	assert_true(rx->kind >= CODA_NET_RX_ARP && rx->kind <= CODA_NET_RX_ICMP6);
	assert_true(rx->l3_off == 14 || rx->l3_off == 18);
	assert_true(rx->l4_off >= rx->l3_off && rx->l4_off <= len);
	assert_ptr_equal(rx->l4, f + rx->l4_off);
	assert_true(rx->l4_len <= len - rx->l4_off);
	assert_true(rx->family == AF_INET || rx->family == AF_INET6);
}

/*
 * 1,000,000 frames: random bytes behind a plausible Ethernet header, and
 * valid frames with a few bytes changed and their length cut or grown,
 * each in a buffer of exactly its length. Each is parsed (verdict in
 * range; a valid result stays inside the frame) and then input (ARP, ND
 * and echo replies run on garbage too, with no leak or over-read).
 */
static void
test_random_frames(void **state)
{
	static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x1234};
	struct coda_net *net = mknet(), *vnet = mknet_conf(false, 7, 0, 0);
	uint8_t seed[4][256], *f = malloc(1600);
	size_t seed_len[4];
	uint64_t valid = 0;
	static const uint8_t ext[2] = {0, 60};

	(void)state;
	assert_non_null(f);
	seed_len[0] = mk_tcp4(seed[0]);
	seed_len[1] = mk_tcp6x(seed[1], ext, 2, 0);
	seed_len[2] = mk_arp(seed[2], 1, bcast_mac, peer_mac, peer4, (const uint8_t[6]){0}, our4);
	seed_len[3] = mk_ns(seed[3], peer6, our6, 255);
	for (uint32_t i = 0; i < 1000000; i++) {
		struct coda_net *n = (i & 7) == 7 ? vnet : net;
		struct coda_net_rx rx;
		enum coda_net_drop r;
		size_t len;
		const uint8_t *c;

		if (i & 1) {
			len = rnd_below(1601);
			for (size_t j = 0; j < len; j += 8) {
				uint64_t x = rnd();

				memcpy(f + j, &x, len - j < 8 ? len - j : 8);
			}
			if (len >= 14 && rnd_below(4) != 0) {
				memcpy(f, our_mac, 6);
				w16(f + 12, types[rnd_below(6)]);
				if (len >= 18 && r16(f + 12) == 0x8100)
					w16(f + 16, types[rnd_below(3)]);
			}
		} else {
			uint32_t s = (uint32_t)rnd_below(4), muts = (uint32_t)rnd_below(4);

			len = seed_len[s];
			memcpy(f, seed[s], len);
			for (uint32_t m = 0; m < muts; m++)
				f[rnd_below(len)] = (uint8_t)rnd();
			switch (rnd_below(4)) {
			case 0:
				len = rnd_below(len + 1);
				break;
			case 1:
				for (size_t j = 0, extra = rnd_below(64); j < extra; j++)
					f[len++] = (uint8_t)rnd();
				break;
			default:
				break;
			}
		}
		c = exact_copy(f, len);
		r = coda_net_parse(n, c, (uint32_t)len, &rx);
		assert_true((unsigned int)r < CODA_NET_DROP__COUNT);
		if (r == CODA_NET_DROP_NONE) {
			check_rx(&rx, c, len);
			valid++;
		} else {
			seen[r] = true;
		}
		cap.n = 0;
		(void)coda_net_input(n, c, (uint32_t)len, 0, i, &rx);
		if ((i & 0xffff) == 0)
			coda_net_tick(n, i);
	}
	assert_true(valid > 1000);
	assert_int_equal(coda_net_stats(net)->rx_frames + coda_net_stats(vnet)->rx_frames,
			 1000000);
	free(f);
	done(net);
	done(vnet);
}

/* Every reason of net_drop.def came out of some test above. */
static void
test_every_reason_seen(void **state)
{
	(void)state;
	for (int i = 1; i < CODA_NET_DROP__COUNT; i++)
		if (!seen[i])
			fail_msg("no test produced drop reason %s",
				 coda_net_drop_name((enum coda_net_drop)i));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test_teardown(test_parse_tcp4, teardown),
		cmocka_unit_test_teardown(test_parse_tcp6, teardown),
		cmocka_unit_test_teardown(test_parse_vlan, teardown),
		cmocka_unit_test_teardown(test_drop_reasons_eth_arp, teardown),
		cmocka_unit_test_teardown(test_drop_reasons_ip4, teardown),
		cmocka_unit_test_teardown(test_drop_reasons_ip6, teardown),
		cmocka_unit_test_teardown(test_cksum_bit_flips, teardown),
		cmocka_unit_test_teardown(test_input_flags, teardown),
		cmocka_unit_test_teardown(test_build_roundtrip, teardown),
		cmocka_unit_test_teardown(test_arp_reply_bytes, teardown),
		cmocka_unit_test_teardown(test_arp_resolve_queue, teardown),
		cmocka_unit_test_teardown(test_neigh_expiry, teardown),
		cmocka_unit_test_teardown(test_neigh_static_full_pool, teardown),
		cmocka_unit_test_teardown(test_icmp_echo4, teardown),
		cmocka_unit_test_teardown(test_icmp_echo6, teardown),
		cmocka_unit_test_teardown(test_ns_na, teardown),
		cmocka_unit_test_teardown(test_nd_resolve, teardown),
		cmocka_unit_test_teardown(test_random_frames, teardown),
		cmocka_unit_test(test_every_reason_seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
