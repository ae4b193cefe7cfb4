/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh.c: the neighbour caches (ARP for IPv4, ND for IPv6) and the frames
 * that wait for them.
 *
 * Layout: nb_neigh entries of 64 bytes in 8-way buckets; an address hashes
 * to one bucket and lives in one of its ways, so a lookup compares at most
 * 8 addresses and nothing ever moves. A new neighbour takes a free way, or
 * evicts the REACHABLE/STALE way confirmed longest ago (smallest
 * expire_ms); INCOMPLETE ways (a request in flight, maybe frames waiting)
 * and static ones are never evicted, and a bucket full of them refuses the
 * newcomer (neigh_full). The hash is a multiply-fold with a fixed
 * constant: an on-link attacker who wants to fill a bucket can, and then
 * costs us only that bucket's newcomers.
 *
 * States (a reduced RFC 4861 §7.3.2 machine, the same for ARP):
 *
 *   (none) --miss: request sent--------------> INCOMPLETE
 *   INCOMPLETE --reply / solicited NA--------> REACHABLE   frames sent
 *   INCOMPLETE --request / NS / unsolicited--> STALE       frames sent
 *   INCOMPLETE --max_probes unanswered-------> (none)      frames dropped
 *   REACHABLE --reachable_ms later-----------> STALE       (on read: no timer)
 *   STALE --reply / solicited NA-------------> REACHABLE
 *   STALE --used-----------------------------> STALE       DELAY: 5 s, then one unicast
 *                                                          request per retrans_ms in use
 *
 * Known debt against RFC 4861: DELAY and PROBE are folded into STALE
 * (next_probe_ms), and a STALE entry stays usable however many probes go
 * unanswered (RFC 4861 deletes it after MAX_UNICAST_SOLICIT); requests are
 * sent from the first configured address when the timer sends them.
 *
 * Wait queues: up to CODA_NET_NEIGH_QUEUE frames per INCOMPLETE entry, in
 * slots of a pool of nb_pending frames taken from a free stack; a frame
 * beyond the queue's bound is dropped (neigh_queue_full), as is one when
 * the pool is empty (neigh_pool_empty). A frame is queued whole, with its
 * destination MAC still to fill; resolution writes the MAC and sends the
 * queue, oldest first.
 */

#include <errno.h>
#include <stdlib.h>

#include "net_private.h"

/* RFC 4861 §10 DELAY_FIRST_PROBE_TIME: a STALE entry in use waits this long before a probe. */
#define NEIGH_DELAY_MS 5000

static uint32_t
neigh_hash(const uint8_t *a, uint8_t alen)
{
	uint64_t x, y = 0;

	if (alen == 4) {
		uint32_t v;

		memcpy(&v, a, 4);
		x = v;
	} else {
		memcpy(&x, a, 8);
		memcpy(&y, a + 8, 8);
	}
	x = (x ^ (y << 29 | y >> 35)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 32);
}

int
neigh_cache_init(struct neigh_cache *c, uint8_t family, uint32_t nb)
{
	uint32_t n = CODA_NET_NEIGH_WAYS;

	while (n < nb)
		n <<= 1;
	c->e = calloc(n, sizeof(*c->e));
	if (c->e == NULL)
		return -ENOMEM;
	c->bucket_mask = n / CODA_NET_NEIGH_WAYS - 1;
	c->family = family;
	c->alen = family == AF_INET ? 4 : 16;
	return 0;
}

static void
pool_put(struct coda_net *net, uint16_t slot)
{
	net->pool_free[net->nb_free++] = slot;
}

/* Drop the frames waiting on @p e; @p counted: under neigh_unresolved. */
static void
neigh_drop_queue(struct coda_net *net, struct neigh_entry *e, bool counted)
{
	for (uint32_t i = 0; i < e->nb_q; i++) {
		pool_put(net, e->q[i]);
		if (counted)
			net_tx_drop(net, CODA_NET_DROP_NEIGH_UNRESOLVED);
	}
	e->nb_q = 0;
}

void
neigh_cache_fini(struct coda_net *net, struct neigh_cache *c)
{
	if (c->e == NULL)
		return;
	for (uint32_t i = 0; i < (c->bucket_mask + 1) * CODA_NET_NEIGH_WAYS; i++)
		neigh_drop_queue(net, &c->e[i], false);
	free(c->e);
	c->e = NULL;
}

static struct neigh_entry *
bucket_of(const struct neigh_cache *c, const uint8_t *addr)
{
	return &c->e[(neigh_hash(addr, c->alen) & c->bucket_mask) * CODA_NET_NEIGH_WAYS];
}

struct neigh_entry *
neigh_lookup(const struct neigh_cache *c, const uint8_t *addr)
{
	struct neigh_entry *b = bucket_of(c, addr);

	for (uint32_t i = 0; i < CODA_NET_NEIGH_WAYS; i++)
		if (b[i].state != CODA_NET_NEIGH_NONE && memcmp(b[i].addr, addr, c->alen) == 0)
			return &b[i];
	return NULL;
}

struct neigh_entry *
neigh_find(struct neigh_cache *c, const uint8_t *addr, uint64_t now)
{
	struct neigh_entry *e = neigh_lookup(c, addr);

	/* REACHABLE ages into STALE on read: no timer needed. */
	if (e != NULL && e->state == CODA_NET_NEIGH_REACHABLE && now >= e->expire_ms)
		e->state = CODA_NET_NEIGH_STALE;
	return e;
}

struct neigh_entry *
neigh_insert(struct coda_net *net, struct neigh_cache *c, const uint8_t *addr)
{
	struct neigh_entry *b = bucket_of(c, addr), *v = NULL;

	for (uint32_t i = 0; i < CODA_NET_NEIGH_WAYS; i++) {
		struct neigh_entry *e = &b[i];

		if (e->state == CODA_NET_NEIGH_NONE) {
			v = e;
			break;
		}
		if (e->state == CODA_NET_NEIGH_INCOMPLETE || e->state == CODA_NET_NEIGH_STATIC)
			continue;
		if (v == NULL || e->expire_ms < v->expire_ms)
			v = e;
	}
	if (v == NULL)
		return NULL;
	if (v->state != CODA_NET_NEIGH_NONE)
		net->stats.neigh_evicted++;
	memset(v, 0, sizeof(*v));
	memcpy(v->addr, addr, c->alen);
	v->state = CODA_NET_NEIGH_INCOMPLETE;
	return v;
}

void
neigh_update(struct coda_net *net, struct neigh_entry *e, const uint8_t *mac,
	     enum coda_net_neigh_state state, uint64_t now)
{
	if (e->state == CODA_NET_NEIGH_INCOMPLETE)
		net->stats.neigh_resolved++;
	memcpy(e->mac, mac, CODA_NET_MAC_LEN);
	if (state == CODA_NET_NEIGH_REACHABLE) {
		e->probes = 0;
		e->next_probe_ms = 0;
		e->expire_ms = now + net->conf.reachable_ms;
	} else if (e->state != state) {
		/* Entered STALE (or STATIC) now: its age, for eviction, starts here. */
		e->expire_ms = now;
		e->next_probe_ms = 0; /* no DELAY running */
	}
	e->state = (uint8_t)state;
	for (uint32_t i = 0; i < e->nb_q; i++) {
		uint8_t *f = net->pool + (size_t)e->q[i] * CODA_NET_FRAME_MAX;

		memcpy(f, mac, CODA_NET_MAC_LEN);
		net_xmit(net, f, net->pool_len[e->q[i]]);
		pool_put(net, e->q[i]);
	}
	e->nb_q = 0;
}

void
neigh_solicit(struct coda_net *net, const struct neigh_cache *c, struct neigh_entry *e,
	      const uint8_t *src, uint64_t now, bool unicast)
{
	static const uint8_t bcast[CODA_NET_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint32_t len;

	/* A refresh of a known MAC goes to it alone (RFC 1122 2.3.2.1, RFC 4861 §7.3.3 PROBE). */
	if (c->family == AF_INET) {
		len = net_build_arp(net, net->ctlbuf, RTE_ARP_OP_REQUEST, unicast ? e->mac : bcast,
				    src, NULL, e->addr);
		net->stats.tx_arp_request++;
	} else {
		len = net_build_ns(net, net->ctlbuf, src, e->addr, unicast ? e->mac : NULL);
		net->stats.tx_ns++;
	}
	net_xmit(net, net->ctlbuf, len);
	if (e->probes < UINT8_MAX)
		e->probes++;
	e->next_probe_ms = now + net->conf.retrans_ms;
	if (e->state == CODA_NET_NEIGH_INCOMPLETE)
		e->expire_ms = now + net->conf.retrans_ms;
}

enum coda_net_tx_result
neigh_send(struct coda_net *net, int family, const uint8_t *addr, const uint8_t *src,
	   uint8_t *frame, uint32_t len, uint64_t now)
{
	struct neigh_cache *c = family == AF_INET ? &net->arp : &net->nd;
	struct neigh_entry *e = neigh_find(c, addr, now);
	uint16_t slot;

	if (e != NULL && e->state != CODA_NET_NEIGH_INCOMPLETE) {
		memcpy(frame, e->mac, CODA_NET_MAC_LEN);
		net_xmit(net, frame, len);
		/*
		 * RFC 4861 §7.3.3: a STALE entry in use waits DELAY_FIRST_PROBE_TIME
		 * (5 s) for a confirmation, then is probed by unicast every
		 * retrans_ms while it is used. A neighbour just learnt from its own
		 * request is thus not asked again during a short exchange.
		 */
		if (e->state == CODA_NET_NEIGH_STALE) {
			if (e->next_probe_ms == 0)
				e->next_probe_ms = now + NEIGH_DELAY_MS;
			else if (now >= e->next_probe_ms)
				neigh_solicit(net, c, e, src, now, true);
		}
		return CODA_NET_TX_SENT;
	}
	if (e == NULL) {
		e = neigh_insert(net, c, addr);
		if (e == NULL) {
			net_tx_drop(net, CODA_NET_DROP_NEIGH_FULL);
			return CODA_NET_TX_DROPPED;
		}
		neigh_solicit(net, c, e, src, now, false);
	}
	if (e->nb_q == CODA_NET_NEIGH_QUEUE) {
		net_tx_drop(net, CODA_NET_DROP_NEIGH_QUEUE_FULL);
		return CODA_NET_TX_DROPPED;
	}
	if (net->nb_free == 0) {
		net_tx_drop(net, CODA_NET_DROP_NEIGH_POOL_EMPTY);
		return CODA_NET_TX_DROPPED;
	}
	slot = net->pool_free[--net->nb_free];
	memcpy(net->pool + (size_t)slot * CODA_NET_FRAME_MAX, frame, len);
	net->pool_len[slot] = len;
	e->q[e->nb_q++] = slot;
	net->stats.neigh_queued++;
	return CODA_NET_TX_QUEUED;
}

void
neigh_tick(struct coda_net *net, struct neigh_cache *c, uint64_t now)
{
	const uint8_t *src;

	if (c->family == AF_INET) {
		if (net->conf.nb_ip4 == 0)
			return;
		src = (const uint8_t *)&net->conf.ip4[0];
	} else {
		if (net->conf.nb_ip6 == 0)
			return;
		src = net->conf.ip6[0];
	}
	for (uint32_t i = 0; i < (c->bucket_mask + 1) * CODA_NET_NEIGH_WAYS; i++) {
		struct neigh_entry *e = &c->e[i];

		if (e->state == CODA_NET_NEIGH_REACHABLE && now >= e->expire_ms) {
			e->state = CODA_NET_NEIGH_STALE;
			continue;
		}
		if (e->state != CODA_NET_NEIGH_INCOMPLETE || now < e->expire_ms)
			continue;
		if (e->probes >= net->conf.max_probes) {
			/* RFC 4861 §7.3.3: give up; what waited is lost. */
			neigh_drop_queue(net, e, true);
			memset(e, 0, sizeof(*e));
			continue;
		}
		neigh_solicit(net, c, e, src, now, false);
	}
}
