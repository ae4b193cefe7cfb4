/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * worker.c: the per-lcore poll loop of coda_worker.h and the application
 * API on the worker's clock.
 *
 * The clock: the TSC is read once per pass and turned into milliseconds
 * since creation; every call below the worker (lib/tcp, lib/net) gets that
 * `now` and reads no clock itself (DESIGN.md §3).
 *
 * Frames between lib/net and the port: lib/net works on byte buffers, so a
 * received mbuf is parsed in place (or copied once if it has several
 * segments) and freed after its segment has been processed; a frame to
 * send is copied into a fresh mbuf from the worker's pool and put in the
 * TX buffer. Each mbuf has exactly one owner at a time, and every path
 * that does not hand it to the PMD or to another worker's ring frees it.
 */

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "worker_private.h"

/* Neighbour timers (ARP/NS retries) need no finer grain than this. */
#define NET_TICK_MS 100
/* The counters' snapshot for other threads is refreshed this often. */
#define SNAP_MS 10
/* Bit 0 of an mbuf pointer in an inbox: a learn-only ARP/ND copy (mbufs are cache aligned). */
#define INBOX_LEARN ((uintptr_t)1)

/* A function a thread asked the worker to run (coda_worker_call()). */
struct worker_call {
	int (*fn)(struct coda_worker *w, void *arg);
	void *arg;
	int ret;
	uint32_t state; /* CALL_* (atomic) */
};
enum { CALL_PENDING, CALL_RUNNING, CALL_DONE, CALL_ABANDONED };

void
coda_worker_conf_default(struct coda_worker_conf *c)
{
	memset(c, 0, sizeof(*c));
	coda_tcp_conf_default(&c->tcp);
	coda_net_conf_default(&c->net);
	c->burst = 32;
	c->tx_drain_us = 100;
	c->inbox_size = 1024;
	c->ephemeral_lo = 49152;
	c->ephemeral_hi = 65535;
}

static uint64_t
clock_ms(const struct coda_worker *w, uint64_t tsc)
{
	return (tsc - w->tsc0) / w->tsc_per_ms;
}

/* --- transmit ------------------------------------------------------------- */

/* What the PMD would not take: freed and counted, never lost silently. */
static void
tx_unsent(struct rte_mbuf **pkts, uint16_t n, void *arg)
{
	struct coda_worker *w = arg;

	w->st.tx_dropped += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

static void
tx_flush(struct coda_worker *w)
{
	if (w->txb != NULL && w->txb->length != 0)
		w->st.tx_packets += rte_eth_tx_buffer_flush(w->port_id, w->txq, w->txb);
}

/*
 * With checksum offload lib/net leaves the IPv4 header checksum 0 and the
 * pseudo-header sum in the TCP checksum of every TCP frame it builds
 * (coda_net_build_tcp()); the NIC needs the header lengths and the
 * request flags. lib/net builds no IPv6 extension headers.
 */
static void
tx_offload_flags(struct rte_mbuf *m, const uint8_t *f, uint32_t len)
{
	uint32_t l2 = RTE_ETHER_HDR_LEN;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == RTE_ETHER_TYPE_VLAN) {
		l2 += 4;
		type = (uint16_t)(f[16] << 8 | f[17]);
	}
	if (type == RTE_ETHER_TYPE_IPV4 && len >= l2 + 20 && f[l2 + 9] == IPPROTO_TCP) {
		m->l2_len = l2;
		m->l3_len = (f[l2] & 0x0f) * 4u;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
	} else if (type == RTE_ETHER_TYPE_IPV6 && len >= l2 + 40 && f[l2 + 6] == IPPROTO_TCP) {
		m->l2_len = l2;
		m->l3_len = 40;
		m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
	}
}

static void
tx_mbuf(struct coda_worker *w, struct rte_mbuf *m)
{
	if (!w->own_txq) {
		/* No TX queue of its own: worker 0 sends it. */
		if (rte_ring_mp_enqueue(w->peers[0]->txring, m) != 0) {
			w->st.tx_dropped++;
			rte_pktmbuf_free(m);
		}
		return;
	}
	if (w->txb->length == 0)
		w->tx_oldest = w->tsc;
	/* Sends the whole buffer when this frame fills it; tx_unsent() gets what the PMD refused. */
	w->st.tx_packets += rte_eth_tx_buffer(w->port_id, w->txq, w->txb, m);
}

/* lib/net's transmit callback: one frame, copied into an mbuf. */
static void
net_xmit(void *arg, const void *frame, uint32_t len)
{
	struct coda_worker *w = arg;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	char *p;

	if (m == NULL) {
		w->st.tx_nombuf++;
		return;
	}
	p = rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL) { /* the pool's data room is smaller than a frame */
		w->st.tx_nombuf++;
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(p, frame, len);
	if (w->tx_offload)
		tx_offload_flags(m, frame, len);
	tx_mbuf(w, m);
}

/* lib/tcp's transmit callback: through lib/net's neighbour cache. */
static void
tcp_xmit(void *arg, const struct coda_conntab_key *k, const void *tcp, uint32_t len)
{
	struct coda_worker *w = arg;

	(void)coda_net_output_tcp(w->net, k, tcp, len, w->now);
}

static void
tcp_event(void *arg, int sock, enum coda_tcp_event ev)
{
	struct coda_worker *w = arg;

	if (w->conf.event != NULL)
		w->conf.event(w, sock, ev, w->conf.event_arg);
}

/* --- receive -------------------------------------------------------------- */

/* The frame's bytes, contiguous: in place, or copied into w->frame. NULL: too long. */
static const uint8_t *
rx_bytes(struct coda_worker *w, struct rte_mbuf *m)
{
	if (m->nb_segs == 1)
		return rte_pktmbuf_mtod(m, const uint8_t *);
	if (m->pkt_len > sizeof(w->frame))
		return NULL;
	return rte_pktmbuf_read(m, 0, m->pkt_len, w->frame);
}

/* What the NIC already checked, as lib/net's input flags. */
static unsigned int
rx_hw_flags(const struct coda_worker *w, const struct rte_mbuf *m)
{
	unsigned int fl = 0;

	if (w->rx_ip_cksum &&
	    (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		fl |= CODA_NET_IN_IP_CKSUM_GOOD;
	if (w->rx_l4_cksum &&
	    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		fl |= CODA_NET_IN_L4_CKSUM_GOOD;
	return fl;
}

/*
 * An ARP or ICMPv6 frame this worker took: every other worker's neighbour
 * cache learns from it too (hardware RSS puts ARP on one queue, and each
 * worker resolves its own neighbours). The copies share the mbuf, read only.
 */
static void
rx_share(struct coda_worker *w, struct rte_mbuf *m)
{
	for (unsigned int i = 0; i < w->nb_peers; i++) {
		struct coda_worker *p = w->peers[i];

		if (p == w)
			continue;
		rte_pktmbuf_refcnt_update(m, 1); /* every segment of a chain */
		if (rte_ring_mp_enqueue(p->inbox, (void *)((uintptr_t)m | INBOX_LEARN)) != 0) {
			w->st.rx_handoff_full++;
			rte_pktmbuf_free(m);
		}
	}
}

static void
batch_run(struct coda_worker *w, struct rx_batch *b)
{
	if (b->n == 0)
		return;
	coda_tcp_input_burst(w->tcp, b->segs, b->n, w->now);
	rte_pktmbuf_free_bulk(b->mbufs, b->n);
	b->n = 0;
}

/*
 * One frame, whatever queue or ring it came from: ARP, ND and ICMP are
 * handled (and the mbuf freed) at once, a TCP segment joins @p b.
 */
static void
rx_frame(struct coda_worker *w, struct rte_mbuf *m, unsigned int flags, struct rx_batch *b)
{
	const uint8_t *f = rx_bytes(w, m);
	struct coda_net_rx rx;
	enum coda_net_rx_kind kind;

	if (f == NULL) {
		w->st.rx_too_long++;
		rte_pktmbuf_free(m);
		return;
	}
	if (w->dispatches && !(flags & CODA_NET_IN_LEARN_ONLY) &&
	    coda_net_parse(w->net, f, m->pkt_len, &rx) == CODA_NET_DROP_NONE) {
		/* Software RSS: verified here; the owner need not check the sums again. */
		flags |= CODA_NET_IN_IP_CKSUM_GOOD | CODA_NET_IN_L4_CKSUM_GOOD;
		if (rx.kind == CODA_NET_RX_TCP) {
			uint16_t q = coda_port_rss_queue(&w->port, &rx.key);

			if (q != w->index && q < w->nb_peers) {
				if (rte_ring_mp_enqueue(w->peers[q]->inbox, m) == 0) {
					w->st.rx_handoff++;
				} else {
					w->st.rx_handoff_full++;
					rte_pktmbuf_free(m);
				}
				return;
			}
		}
	}
	kind = coda_net_input(w->net, f, m->pkt_len, flags, w->now, &rx);
	if (kind == CODA_NET_RX_TCP && f == rte_pktmbuf_mtod(m, const uint8_t *)) {
		/* The segment points into the mbuf: it stays until the batch is done. */
		b->keys[b->n] = rx.key;
		b->segs[b->n] = (struct coda_tcp_rx){&b->keys[b->n], rx.l4, rx.l4_len};
		b->mbufs[b->n++] = m;
		return;
	}
	if (kind == CODA_NET_RX_TCP) {
		/* Made contiguous in w->frame: now, after the segments before it, before the next. */
		batch_run(w, b);
		coda_tcp_input(w->tcp, &rx.key, rx.l4, rx.l4_len, w->now);
	}
	else if ((kind == CODA_NET_RX_ARP || kind == CODA_NET_RX_ICMP6) &&
		 !(flags & CODA_NET_IN_LEARN_ONLY) && w->nb_peers > 1)
		rx_share(w, m);
	rte_pktmbuf_free(m);
}

static unsigned int
rx_port(struct coda_worker *w, struct rx_batch *b)
{
	struct rte_mbuf *pkts[256];
	uint16_t n = rte_eth_rx_burst(w->port_id, w->rxq, pkts, w->burst);

	if (n == 0)
		return 0;
	w->st.rx_bursts++;
	w->st.rx_packets += n;
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		rx_frame(w, pkts[i], rx_hw_flags(w, pkts[i]), b);
	}
	batch_run(w, b);
	return n;
}

static unsigned int
rx_inbox(struct coda_worker *w, struct rx_batch *b)
{
	void *objs[256];
	unsigned int n = rte_ring_sc_dequeue_burst(w->inbox, objs, w->burst, NULL);

	for (unsigned int i = 0; i < n; i++) {
		uintptr_t v = (uintptr_t)objs[i];
		struct rte_mbuf *m = (struct rte_mbuf *)(v & ~INBOX_LEARN);

		if (v & INBOX_LEARN) {
			w->st.rx_learn++;
			rx_frame(w, m, CODA_NET_IN_LEARN_ONLY, b);
		} else {
			/* Handed over by the dispatcher, which verified the checksums. */
			w->st.rx_inbox++;
			rx_frame(w, m, CODA_NET_IN_IP_CKSUM_GOOD | CODA_NET_IN_L4_CKSUM_GOOD, b);
		}
	}
	batch_run(w, b);
	return n;
}

/* Worker 0: frames from workers that have no TX queue. */
static void
tx_ring_drain(struct coda_worker *w)
{
	void *objs[256];
	unsigned int n = rte_ring_sc_dequeue_burst(w->txring, objs, w->burst, NULL);

	for (unsigned int i = 0; i < n; i++)
		tx_mbuf(w, objs[i]);
}

/* --- calls from other threads -------------------------------------------- */

static void
calls_run(struct coda_worker *w)
{
	void *objs[16];
	unsigned int n = rte_ring_sc_dequeue_burst(w->calls, objs, RTE_DIM(objs), NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct worker_call *c = objs[i];
		uint32_t expect = CALL_PENDING;

		/* The caller may have given up (CALL_ABANDONED): then the call is ours to free. */
		if (!__atomic_compare_exchange_n(&c->state, &expect, CALL_RUNNING, false,
						 __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
			w->st.calls_abandoned++;
			free(c);
			continue;
		}
		c->ret = c->fn(w, c->arg);
		w->st.calls++;
		/* Release: the caller reads ret and whatever fn wrote after it sees DONE. */
		__atomic_store_n(&c->state, CALL_DONE, __ATOMIC_RELEASE);
	}
}

int
coda_worker_call(struct coda_worker *w, int (*fn)(struct coda_worker *w, void *arg), void *arg,
		 uint32_t timeout_ms)
{
	struct worker_call *c = malloc(sizeof(*c));
	uint64_t deadline = rte_get_tsc_cycles() + (uint64_t)timeout_ms * w->tsc_per_ms;
	uint32_t expect = CALL_PENDING;
	int ret;

	if (c == NULL)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->ret = 0;
	c->state = CALL_PENDING;
	if (rte_ring_mp_enqueue(w->calls, c) != 0) {
		free(c);
		return -ENOBUFS;
	}
	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CALL_DONE) {
		if (rte_get_tsc_cycles() < deadline) {
			rte_delay_us_sleep(50);
			continue;
		}
		/* Give up unless the worker has started it: then wait for the end. */
		if (__atomic_compare_exchange_n(&c->state, &expect, CALL_ABANDONED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
			return -ETIMEDOUT; /* the worker frees it */
		if (expect == CALL_ABANDONED) {
			/* coda_worker_free() gave it up, unrun: it is ours to free. */
			free(c);
			return -ETIMEDOUT;
		}
		expect = CALL_PENDING;
		rte_delay_us_sleep(50);
	}
	ret = c->ret;
	free(c);
	return ret;
}

/* --- the loop ------------------------------------------------------------- */

unsigned int
coda_worker_poll(struct coda_worker *w)
{
	unsigned int n = 0;

	w->tsc = rte_rdtsc();
	w->now = clock_ms(w, w->tsc);
	w->st.loops++;
	if (w->polls_port)
		n = rx_port(w, &w->batch);
	n += rx_inbox(w, &w->batch);
	if (w->txring != NULL)
		tx_ring_drain(w);
	if (!rte_ring_empty(w->calls))
		calls_run(w);
	coda_tcp_timers(w->tcp, w->now);
	if (w->now >= w->next_net_tick) {
		coda_net_tick(w->net, w->now);
		w->next_net_tick = w->now + NET_TICK_MS;
	}
	/* Batch while busy; an idle pass, a full buffer or an old frame sends. */
	if (w->own_txq && w->txb->length != 0 && (n == 0 || w->tsc - w->tx_oldest >= w->drain_tsc))
		tx_flush(w);
	if (w->now >= w->next_snap) {
		worker_snapshot_take(w);
		w->next_snap = w->now + SNAP_MS;
	}
	return n;
}

int
coda_worker_run(void *arg)
{
	struct coda_worker *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
		coda_worker_poll(w);
	tx_flush(w);
	worker_snapshot_take(w);
	return 0;
}

void
coda_worker_stop(struct coda_worker *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
}

/* --- life cycle ----------------------------------------------------------- */

static bool
conf_valid(const struct coda_worker_conf *c)
{
	return c != NULL && c->port != NULL && c->pool != NULL &&
	       c->index < c->port->nb_queues && c->burst != 0 && c->burst <= 256 &&
	       rte_is_power_of_2(c->inbox_size) && c->inbox_size >= 2 &&
	       c->ephemeral_lo != 0 && c->ephemeral_lo <= c->ephemeral_hi;
}

static struct rte_ring *
ring_make(const char *what, const struct coda_worker_conf *c, unsigned int flags)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "coda_%s_%u_%u", what, c->port_id, c->index);
	return rte_ring_create(name, c->inbox_size, (int)rte_socket_id(), flags);
}

struct coda_worker *
coda_worker_create(const struct coda_worker_conf *conf)
{
	struct coda_worker *w;
	struct coda_net_conf nc;
	int err = ENOMEM;

	if (!conf_valid(conf)) {
		rte_errno = EINVAL;
		return NULL;
	}
	w = rte_zmalloc("coda_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (w == NULL)
		goto err;
	w->conf = *conf;
	w->port = *conf->port;
	w->index = conf->index;
	w->port_id = conf->port_id;
	w->pool = conf->pool;
	w->burst = conf->burst;
	w->tsc0 = rte_get_tsc_cycles();
	w->tsc = w->tsc0;
	w->tsc_per_ms = RTE_MAX(rte_get_tsc_hz() / 1000, (uint64_t)1);
	w->drain_tsc = (uint64_t)conf->tx_drain_us * w->tsc_per_ms / 1000;
	w->rxq = w->port.rss ? conf->index : 0;
	w->polls_port = w->port.rss || conf->index == 0;
	w->dispatches = !w->port.rss && conf->index == 0 && w->port.nb_queues > 1;
	w->own_txq = conf->index < w->port.nb_tx_queues;
	w->txq = w->own_txq ? conf->index : 0;
	w->rx_ip_cksum = w->port.rx_ip_cksum;
	w->rx_l4_cksum = w->port.rx_l4_cksum;
	w->eph_next = conf->ephemeral_lo;

	nc = conf->net;
	/* The port's MAC unless the caller set one (net_ring's is all zero and fixed). */
	if (rte_is_zero_ether_addr((const struct rte_ether_addr *)nc.mac))
		memcpy(nc.mac, w->port.mac, sizeof(nc.mac));
	nc.tx_cksum_offload = w->port.tx_ip_cksum && w->port.tx_l4_cksum;
	w->tx_offload = nc.tx_cksum_offload;
	w->net_conf = nc;
	w->net = coda_net_create(&nc, net_xmit, w);
	if (w->net == NULL) {
		err = errno;
		goto err;
	}
	w->tcp = coda_tcp_create(&conf->tcp, 0, tcp_xmit, w, tcp_event, w);
	if (w->tcp == NULL) {
		err = errno;
		goto err;
	}
	w->inbox = ring_make("in", conf, RING_F_SC_DEQ);
	w->calls = ring_make("call", conf, RING_F_SC_DEQ);
	if (w->inbox == NULL || w->calls == NULL) {
		err = rte_errno;
		goto err;
	}
	if (conf->index == 0 && w->port.nb_tx_queues < w->port.nb_queues) {
		w->txring = ring_make("tx", conf, RING_F_SC_DEQ);
		if (w->txring == NULL) {
			err = rte_errno;
			goto err;
		}
	}
	if (w->own_txq) {
		w->txb = rte_zmalloc("coda_txb", RTE_ETH_TX_BUFFER_SIZE(conf->burst), 0);
		if (w->txb == NULL)
			goto err;
		rte_eth_tx_buffer_init(w->txb, conf->burst);
		rte_eth_tx_buffer_set_err_callback(w->txb, tx_unsent, w);
	}
	{
		uint16_t r;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
			w->eph_next = (uint16_t)(conf->ephemeral_lo +
						 r % ((uint32_t)conf->ephemeral_hi -
						      conf->ephemeral_lo + 1));
	}
	worker_snapshot_take(w);
	return w;
err:
	coda_worker_free(w);
	rte_errno = err;
	return NULL;
}

int
coda_worker_group(struct coda_worker *const *all, unsigned int n)
{
	if (n == 0 || n > RTE_MAX_LCORE)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		if (all[i] == NULL || all[i]->index != i)
			return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		struct coda_worker **p = calloc(n, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		memcpy(p, all, n * sizeof(*p));
		free(all[i]->peers);
		all[i]->peers = p;
		all[i]->nb_peers = n;
	}
	return 0;
}

static void
ring_free_mbufs(struct rte_ring *r)
{
	void *obj;

	if (r == NULL)
		return;
	while (rte_ring_dequeue(r, &obj) == 0)
		rte_pktmbuf_free((struct rte_mbuf *)((uintptr_t)obj & ~INBOX_LEARN));
	rte_ring_free(r);
}

void
coda_worker_free(struct coda_worker *w)
{
	void *obj;

	if (w == NULL)
		return;
	if (w->txb != NULL) {
		/* Frames still buffered go back to the pool, unsent. */
		for (uint16_t i = 0; i < w->txb->length; i++)
			rte_pktmbuf_free(w->txb->pkts[i]);
		rte_free(w->txb);
	}
	ring_free_mbufs(w->inbox);
	ring_free_mbufs(w->txring);
	if (w->calls != NULL) {
		/* Nobody runs these now: their callers time out and leave them to us. */
		while (rte_ring_dequeue(w->calls, &obj) == 0) {
			uint32_t expect = CALL_PENDING;
			struct worker_call *c = obj;

			if (__atomic_compare_exchange_n(&c->state, &expect, CALL_ABANDONED, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				continue; /* its caller frees it when it times out */
			free(c);
		}
		rte_ring_free(w->calls);
	}
	coda_tcp_free(w->tcp);
	coda_net_free(w->net);
	free(w->peers);
	rte_free(w);
}

/* --- accessors and the API ------------------------------------------------ */

uint64_t
coda_worker_now(const struct coda_worker *w)
{
	return w->now;
}

unsigned int
coda_worker_index(const struct coda_worker *w)
{
	return w->index;
}

struct coda_tcp_stack *
coda_worker_tcp(struct coda_worker *w)
{
	return w->tcp;
}

struct coda_net *
coda_worker_net(struct coda_worker *w)
{
	return w->net;
}

unsigned int
coda_worker_flow_owner(const struct coda_worker *w, const struct coda_conntab_key *k)
{
	return coda_port_rss_queue(&w->port, k);
}

const struct coda_net_conf *
coda_worker_net_conf(const struct coda_worker *w)
{
	return &w->net_conf;
}

int
coda_worker_listen(struct coda_worker *w, uint8_t family, const void *laddr, uint16_t port,
		   uint32_t backlog)
{
	uint8_t a[16] = {0};

	if (laddr == NULL)
		return coda_tcp_listen(w->tcp, family, NULL, port, backlog);
	memcpy(a, laddr, family == AF_INET6 ? 16 : 4);
	return coda_tcp_listen(w->tcp, family, a, port, backlog);
}

int
coda_worker_accept(struct coda_worker *w, int lsock)
{
	return coda_tcp_accept(w->tcp, lsock);
}

static void
key_make(struct coda_conntab_key *k, uint8_t family, const void *laddr, uint16_t lport,
	 const void *raddr, uint16_t rport)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->lport = lport;
	k->rport = rport;
	memcpy(k->laddr, laddr, family == AF_INET6 ? 16 : 4);
	memcpy(k->raddr, raddr, family == AF_INET6 ? 16 : 4);
}

/*
 * An ephemeral port for an active open: its flow must come back to this
 * worker's queue (the symmetric hash the NIC, or the dispatcher, applies)
 * and must not be in use or in TIME-WAIT here. With n workers about one
 * port in n qualifies, so the walk from a rotating start is short.
 */
int
coda_worker_connect(struct coda_worker *w, uint8_t family, const void *laddr, const void *raddr,
		    uint16_t rport, uint16_t lport)
{
	uint32_t span = (uint32_t)w->conf.ephemeral_hi - w->conf.ephemeral_lo + 1;
	struct coda_conntab_key k;

	if ((family != AF_INET && family != AF_INET6) || laddr == NULL || raddr == NULL)
		return -EINVAL;
	if (lport != 0) {
		key_make(&k, family, laddr, lport, raddr, rport);
		return coda_tcp_connect(w->tcp, &k, w->now);
	}
	for (uint32_t i = 0; i < span; i++) {
		uint16_t p = w->eph_next;
		uint64_t left;

		w->eph_next = p == w->conf.ephemeral_hi ? w->conf.ephemeral_lo : (uint16_t)(p + 1);
		key_make(&k, family, laddr, rte_cpu_to_be_16(p), raddr, rport);
		if (coda_port_rss_queue(&w->port, &k) != w->index ||
		    coda_tcp_lookup(w->tcp, &k, w->now, &left) != CODA_TCP_S_CLOSED)
			continue;
		return coda_tcp_connect(w->tcp, &k, w->now);
	}
	return -EADDRNOTAVAIL;
}

int32_t
coda_worker_send(struct coda_worker *w, int sock, const void *buf, uint32_t len)
{
	return coda_tcp_send(w->tcp, sock, buf, len, w->now);
}

int32_t
coda_worker_recv(struct coda_worker *w, int sock, void *buf, uint32_t len)
{
	return coda_tcp_recv(w->tcp, sock, buf, len, w->now);
}

int
coda_worker_shutdown(struct coda_worker *w, int sock, int how)
{
	return coda_tcp_shutdown(w->tcp, sock, how, w->now);
}

int
coda_worker_close(struct coda_worker *w, int sock)
{
	return coda_tcp_close(w->tcp, sock, w->now);
}

int
coda_worker_abort(struct coda_worker *w, int sock)
{
	return coda_tcp_abort(w->tcp, sock, w->now);
}

/* --- the snapshot ---------------------------------------------------------- */

/*
 * A sequence lock with one writer (the worker) and no atomic
 * read-modify-write: the writer makes the sequence odd, writes, makes it
 * even again. A reader that saw the same even value before and after its
 * copy has a consistent copy. Words are copied with relaxed atomics so the
 * concurrent accesses are defined; the fences order them against the
 * sequence.
 */
void
worker_snapshot_take(struct coda_worker *w)
{
	union worker_snap s;
	uint32_t seq = w->snap_seq;

	memset(&s, 0, sizeof(s));
	s.s.now = w->now;
	s.s.worker = w->st;
	coda_tcp_stats(w->tcp, &s.s.tcp);
	s.s.net = *coda_net_stats(w->net);
	coda_conntab_stats(coda_tcp_conntab(w->tcp), &s.s.conntab);
	s.s.tw_capacity = (uint64_t)w->conf.tcp.nb_tw + w->conf.tcp.nb_tw6;
	s.s.mbufs_in_use = rte_mempool_in_use_count(w->pool);

	__atomic_store_n(&w->snap_seq, seq + 1, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_release); /* odd before the words */
	for (size_t i = 0; i < RTE_DIM(s.w); i++)
		__atomic_store_n(&w->snap.w[i], s.w[i], __ATOMIC_RELAXED);
	__atomic_store_n(&w->snap_seq, seq + 2, __ATOMIC_RELEASE); /* words before even */
}

void
coda_worker_snapshot(const struct coda_worker *w, struct coda_worker_snapshot *snap)
{
	union worker_snap s;
	uint32_t s1, s2;

	do {
		s1 = __atomic_load_n(&w->snap_seq, __ATOMIC_ACQUIRE); /* words after it */
		for (size_t i = 0; i < RTE_DIM(s.w); i++)
			s.w[i] = __atomic_load_n(&w->snap.w[i], __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire); /* words before s2 */
		s2 = __atomic_load_n(&w->snap_seq, __ATOMIC_RELAXED);
		if (s1 & 1)
			rte_pause();
	} while ((s1 & 1) || s1 != s2);
	*snap = s.s;
}

void
coda_worker_snapshot_sum(struct coda_worker *const *w, unsigned int n,
			 struct coda_worker_snapshot *sum)
{
	union worker_snap t;

	memset(&t, 0, sizeof(t));
	for (unsigned int i = 0; i < n; i++) {
		union worker_snap s;

		coda_worker_snapshot(w[i], &s.s);
		for (size_t j = 0; j < RTE_DIM(s.w); j++)
			t.w[j] += s.w[j];
	}
	/* Workers may share a pool: count each pool once. */
	t.s.mbufs_in_use = 0;
	for (unsigned int i = 0; i < n; i++) {
		bool seen = false;

		for (unsigned int j = 0; j < i; j++)
			seen |= w[j]->pool == w[i]->pool;
		if (!seen)
			t.s.mbufs_in_use += rte_mempool_in_use_count(w[i]->pool);
	}
	*sum = t.s;
}
