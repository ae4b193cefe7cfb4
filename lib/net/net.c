/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net.c: the life cycle of a struct coda_net, coda_net_input() (what to do
 * with a valid frame: ARP, ICMP, ND, or hand TCP back) and
 * coda_net_output_tcp().
 *
 * One exit per frame: every input path ends in `return` of its kind after
 * counting, or at `drop`, which counts the reason. Nothing here holds on to
 * the caller's frame after returning; a frame that must wait for ARP/ND is
 * copied into the pool (neigh.c).
 */

#include <errno.h>
#include <stdlib.h>

#include "net_private.h"

static const uint8_t all_nodes_mac[CODA_NET_MAC_LEN] = {0x33, 0x33, 0, 0, 0, 0x01};
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};

void
coda_net_conf_default(struct coda_net_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->nb_neigh = 256;
	c->nb_pending = 64;
	c->reachable_ms = 30000;
	c->retrans_ms = 1000;
	c->max_probes = 3;
}

static bool
conf_valid(const struct coda_net_conf *c)
{
	static const uint8_t zero[CODA_NET_MAC_LEN];

	return memcmp(c->mac, zero, CODA_NET_MAC_LEN) != 0 && (c->mac[0] & 1) == 0 &&
	       c->vlan_id <= 4094 && c->nb_ip4 <= CODA_NET_ADDR_MAX &&
	       c->nb_ip6 <= CODA_NET_ADDR_MAX && c->nb_neigh <= (1u << 20) &&
	       c->nb_pending > 0 && c->nb_pending <= UINT16_MAX && c->reachable_ms > 0 &&
	       c->retrans_ms > 0 && c->max_probes > 0 && c->max_probes < UINT8_MAX;
}

struct coda_net *
coda_net_create(const struct coda_net_conf *conf, coda_net_xmit_fn xmit, void *xmit_arg)
{
	struct coda_net *net;
	int err = EINVAL;

	if (conf == NULL || xmit == NULL || !conf_valid(conf))
		goto err;
	err = ENOMEM;
	net = calloc(1, sizeof(*net));
	if (net == NULL)
		goto err;
	net->conf = *conf;
	net->xmit = xmit;
	net->xmit_arg = xmit_arg;
	net->l2_len = conf->vlan_id != 0 ? ETH_HLEN + VLAN_HLEN : ETH_HLEN;
	net->pool = malloc((size_t)conf->nb_pending * CODA_NET_FRAME_MAX);
	net->pool_len = calloc(conf->nb_pending, sizeof(*net->pool_len));
	net->pool_free = calloc(conf->nb_pending, sizeof(*net->pool_free));
	if (net->pool == NULL || net->pool_len == NULL || net->pool_free == NULL ||
	    neigh_cache_init(&net->arp, AF_INET, conf->nb_neigh) != 0 ||
	    neigh_cache_init(&net->nd, AF_INET6, conf->nb_neigh) != 0)
		goto err_free;
	for (uint32_t i = 0; i < conf->nb_pending; i++)
		net->pool_free[i] = (uint16_t)(conf->nb_pending - 1 - i);
	net->nb_free = conf->nb_pending;
	return net;

err_free:
	coda_net_free(net);
err:
	errno = err;
	return NULL;
}

void
coda_net_free(struct coda_net *net)
{
	if (net == NULL)
		return;
	if (net->pool_free != NULL) {
		neigh_cache_fini(net, &net->arp);
		neigh_cache_fini(net, &net->nd);
	}
	free(net->arp.e);
	free(net->nd.e);
	free(net->pool);
	free(net->pool_len);
	free(net->pool_free);
	free(net);
}

const struct coda_net_stats *
coda_net_stats(const struct coda_net *net)
{
	return &net->stats;
}

void
net_xmit(struct coda_net *net, const uint8_t *frame, uint32_t len)
{
	net->stats.tx_frames++;
	net->xmit(net->xmit_arg, frame, len);
}

void
net_tx_drop(struct coda_net *net, enum coda_net_drop r)
{
	net->stats.tx_dropped++;
	net->stats.drops[r]++;
}

/*
 * RFC 826 "Packet Reception", with states: the sender is merged into an
 * existing entry whoever the target; a request for one of our addresses
 * also creates it (STALE, as Linux does: a request proves the address, not
 * two-way reachability); a reply to us confirms it (REACHABLE). Unsolicited
 * replies create nothing. Static entries and our own addresses are never
 * learnt; neither is a sender with address 0 (an RFC 5227 probe) or a
 * multicast MAC.
 */
static enum coda_net_drop
arp_input(struct coda_net *net, const struct coda_net_rx *rx, uint64_t now, bool reply)
{
	const uint8_t *p = rx->l4, *sha = p + 8, *spa = p + 14, *tpa = p + 24;
	uint16_t op = get16(p + 6);
	bool for_us = net_ip4_ours(net, tpa);
	struct neigh_entry *e;
	uint32_t len;

	net->stats.rx_arp++;
	if (memcmp(spa, "\0\0\0\0", 4) != 0 && (sha[0] & 1) == 0 && !net_ip4_ours(net, spa)) {
		e = neigh_find(&net->arp, spa, now);
		if (e == NULL && for_us && op == RTE_ARP_OP_REQUEST)
			e = neigh_insert(net, &net->arp, spa);
		if (e != NULL && e->state != CODA_NET_NEIGH_STATIC) {
			if (for_us && op == RTE_ARP_OP_REPLY)
				neigh_update(net, e, sha, CODA_NET_NEIGH_REACHABLE, now);
			else if (e->state == CODA_NET_NEIGH_INCOMPLETE ||
				 memcmp(e->mac, sha, CODA_NET_MAC_LEN) != 0)
				neigh_update(net, e, sha, CODA_NET_NEIGH_STALE, now);
		}
	}
	if (!for_us)
		return CODA_NET_DROP_NOT_FOR_US;
	if (op == RTE_ARP_OP_REQUEST && reply) {
		len = net_build_arp(net, net->ctlbuf, RTE_ARP_OP_REPLY, sha, tpa, sha, spa);
		net->stats.tx_arp_reply++;
		net_xmit(net, net->ctlbuf, len);
	}
	return CODA_NET_DROP_NONE;
}

static enum coda_net_drop
echo_reply(struct coda_net *net, const uint8_t *frame, const struct coda_net_rx *rx)
{
	uint32_t len = net_build_echo_reply(net, net->txbuf, frame, rx);

	if (len == 0)
		return CODA_NET_DROP_TX_TOO_BIG;
	net->stats.tx_echo_reply++;
	net_xmit(net, net->txbuf, len);
	return CODA_NET_DROP_NONE;
}

/*
 * RFC 4861 §7.1.1/§7.1.2 checks common to NS and NA, and the walk of their
 * options (§4.6: every option's length is non-zero and within the
 * message). Returns the link-layer address option of kind @p want, NULL if
 * none, via @p ll; false if the message is invalid.
 */
static bool
nd_valid(const struct coda_net_rx *rx, uint8_t want, const uint8_t **ll)
{
	const uint8_t *m = rx->l4;
	uint32_t off = ND_LEN;

	*ll = NULL;
	if (rx->ttl != ND_HOP_LIMIT || m[1] != 0 || rx->l4_len < ND_LEN || m[8] == 0xff)
		return false;
	while (off < rx->l4_len) {
		uint32_t olen;

		if (rx->l4_len - off < 2)
			return false;
		olen = (uint32_t)m[off + 1] * 8;
		if (olen == 0 || olen > rx->l4_len - off)
			return false;
		if (m[off] == want && olen == ND_OPT_LL_LEN)
			*ll = m + off + 2;
		off += olen;
	}
	return true;
}

/* RFC 4861 §7.2.3-§7.2.4: learn the soliciting node, answer for our target. */
static enum coda_net_drop
ns_input(struct coda_net *net, const uint8_t *frame, const struct coda_net_rx *rx, uint64_t now,
	 bool reply)
{
	static const uint8_t unspec[16];
	const uint8_t *target = rx->l4 + 8, *src = rx->key.raddr, *sll;
	bool dad = memcmp(src, unspec, 16) == 0;
	struct neigh_entry *e;
	uint32_t len;

	if (!nd_valid(rx, ND_OPT_SLLA, &sll) ||
	    (dad && (sll != NULL || !ip6_is_snm_of(rx->key.laddr, target))))
		return CODA_NET_DROP_BAD_ND;
	if (!net_ip6_ours(net, target))
		return CODA_NET_DROP_NOT_FOR_US;
	if (sll != NULL && (sll[0] & 1) == 0) {
		e = neigh_find(&net->nd, src, now);
		if (e == NULL)
			e = neigh_insert(net, &net->nd, src);
		if (e != NULL && e->state != CODA_NET_NEIGH_STATIC &&
		    (e->state == CODA_NET_NEIGH_INCOMPLETE ||
		     memcmp(e->mac, sll, CODA_NET_MAC_LEN) != 0))
			neigh_update(net, e, sll, CODA_NET_NEIGH_STALE, now);
	}
	if (!reply)
		return CODA_NET_DROP_NONE;
	if (dad)
		/* §7.2.4: to all-nodes, Solicited clear. */
		len = net_build_na(net, net->ctlbuf, all_nodes_mac, all_nodes, target,
				   ND_NA_F_OVERRIDE);
	else
		len = net_build_na(net, net->ctlbuf, sll != NULL ? sll : frame + 6, src, target,
				   ND_NA_F_SOLICITED | ND_NA_F_OVERRIDE);
	net->stats.tx_na++;
	net_xmit(net, net->ctlbuf, len);
	return CODA_NET_DROP_NONE;
}

/*
 * RFC 4861 §7.2.5: an NA updates an entry that exists and creates none.
 * Solicited means reachable; Override lets a new MAC replace a known one.
 */
static enum coda_net_drop
na_input(struct coda_net *net, const struct coda_net_rx *rx, uint64_t now)
{
	const uint8_t *m = rx->l4, *target = m + 8, *tll;
	bool solicited = (m[4] & ND_NA_F_SOLICITED) != 0, override = (m[4] & ND_NA_F_OVERRIDE) != 0;
	enum coda_net_neigh_state st = solicited ? CODA_NET_NEIGH_REACHABLE : CODA_NET_NEIGH_STALE;
	struct neigh_entry *e;

	if (!nd_valid(rx, ND_OPT_TLLA, &tll) || (solicited && (rx->flags & CODA_NET_RX_F_MCAST)))
		return CODA_NET_DROP_BAD_ND;
	e = neigh_find(&net->nd, target, now);
	if (e == NULL || e->state == CODA_NET_NEIGH_STATIC)
		return CODA_NET_DROP_NONE;
	if (tll != NULL && (tll[0] & 1) != 0)
		tll = NULL;
	if (e->state == CODA_NET_NEIGH_INCOMPLETE) {
		if (tll != NULL)
			neigh_update(net, e, tll, st, now);
	} else if (tll == NULL || memcmp(e->mac, tll, CODA_NET_MAC_LEN) == 0) {
		if (solicited)
			neigh_update(net, e, e->mac, CODA_NET_NEIGH_REACHABLE, now);
	} else if (override) {
		neigh_update(net, e, tll, st, now);
	} else if (e->state == CODA_NET_NEIGH_REACHABLE) {
		e->state = CODA_NET_NEIGH_STALE; /* another MAC claims it: doubt ours */
		e->expire_ms = now;
	}
	return CODA_NET_DROP_NONE;
}

enum coda_net_rx_kind
coda_net_input(struct coda_net *net, const void *frame, uint32_t len, unsigned int flags,
	       uint64_t now, struct coda_net_rx *rx)
{
	bool reply = (flags & CODA_NET_IN_LEARN_ONLY) == 0;
	enum coda_net_drop r;

	net->stats.rx_frames++;
	r = net_parse(net, frame, len, flags, rx);
	if (r != CODA_NET_DROP_NONE)
		goto drop;
	switch (rx->kind) {
	case CODA_NET_RX_TCP:
		net->stats.rx_tcp++;
		return CODA_NET_RX_TCP;
	case CODA_NET_RX_ARP:
		r = arp_input(net, rx, now, reply);
		break;
	case CODA_NET_RX_ICMP:
		net->stats.rx_icmp++;
		if (!reply)
			r = CODA_NET_DROP_NONE;
		else if (rx->l4[0] == RTE_IP_ICMP_ECHO_REQUEST && rx->l4[1] == 0)
			r = echo_reply(net, frame, rx);
		else
			r = CODA_NET_DROP_ICMP_UNHANDLED;
		break;
	default: /* CODA_NET_RX_ICMP6 */
		net->stats.rx_icmp++;
		if (rx->l4[0] == ICMP6_ECHO_REQUEST && rx->l4[1] == 0 &&
		    !(rx->flags & CODA_NET_RX_F_MCAST))
			r = reply ? echo_reply(net, frame, rx) : CODA_NET_DROP_NONE;
		else if (rx->l4[0] == ND_NS)
			r = ns_input(net, frame, rx, now, reply);
		else if (rx->l4[0] == ND_NA)
			r = na_input(net, rx, now);
		else
			r = CODA_NET_DROP_ICMP_UNHANDLED;
		break;
	}
	if (r != CODA_NET_DROP_NONE)
		goto drop;
	return (enum coda_net_rx_kind)rx->kind;
drop:
	net->stats.rx_dropped++;
	net->stats.drops[r]++;
	rx->kind = CODA_NET_RX_NONE;
	return CODA_NET_RX_NONE;
}

enum coda_net_tx_result
coda_net_output_tcp(struct coda_net *net, const struct coda_conntab_key *k, const void *tcp,
		    uint32_t len, uint64_t now)
{
	static const uint8_t unknown[CODA_NET_MAC_LEN];
	uint32_t flen;

	flen = coda_net_build_tcp(net, unknown, k, tcp, len, net->txbuf, sizeof(net->txbuf),
				  net->conf.tx_cksum_offload ? CODA_NET_TX_CKSUM_OFFLOAD : 0);
	if (flen == 0) {
		net_tx_drop(net, CODA_NET_DROP_TX_TOO_BIG);
		return CODA_NET_TX_DROPPED;
	}
	net->stats.tx_tcp++;
	return neigh_send(net, k->family, k->raddr, k->laddr, net->txbuf, flen, now);
}

void
coda_net_tick(struct coda_net *net, uint64_t now)
{
	neigh_tick(net, &net->arp, now);
	neigh_tick(net, &net->nd, now);
}

int
coda_net_neigh_add(struct coda_net *net, int family, const void *addr, const uint8_t *mac,
		   uint64_t now)
{
	struct neigh_cache *c;
	uint8_t a[16] = {0};
	struct neigh_entry *e;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	c = family == AF_INET ? &net->arp : &net->nd;
	if ((mac[0] & 1) != 0)
		return -EINVAL;
	memcpy(a, addr, c->alen);
	e = neigh_find(c, a, now);
	if (e == NULL)
		e = neigh_insert(net, c, a);
	if (e == NULL)
		return -ENOSPC;
	neigh_update(net, e, mac, CODA_NET_NEIGH_STATIC, now);
	return 0;
}

int
coda_net_neigh_get(const struct coda_net *net, int family, const void *addr, uint64_t now,
		   struct coda_net_neigh_info *info)
{
	const struct neigh_cache *c;
	uint8_t a[16] = {0};
	const struct neigh_entry *e;

	memset(info, 0, sizeof(*info));
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	c = family == AF_INET ? &net->arp : &net->nd;
	memcpy(a, addr, c->alen);
	e = neigh_lookup(c, a);
	if (e == NULL)
		return -ENOENT;
	info->state = (enum coda_net_neigh_state)e->state;
	/* What neigh_find() would make of it at @p now, without writing. */
	if (info->state == CODA_NET_NEIGH_REACHABLE && now >= e->expire_ms)
		info->state = CODA_NET_NEIGH_STALE;
	memcpy(info->mac, e->mac, CODA_NET_MAC_LEN);
	info->probes = e->probes;
	info->queued = e->nb_q;
	info->expire_ms = e->expire_ms;
	return 0;
}
