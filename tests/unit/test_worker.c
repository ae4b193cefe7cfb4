/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/worker: the poll loop between a DPDK port and
 * lib/net + lib/tcp, under an EAL this program starts itself.
 *
 * Ports are net_ring ports made with rte_eth_from_rings() over rings the
 * test owns, so it can wire two ports back to back (A's TX ring is B's RX
 * ring and the other way round) or read and write one port's rings
 * itself (crafted frames in, what the worker sends out). net_ring has no
 * RSS and no MAC of its own (all zero): coda_port_setup() gives it the
 * software fallback (one RX queue, one TX queue per worker as long as the
 * port has that many TX rings), and the workers get their MAC from
 * coda_worker_conf.net.mac. Workers are polled by coda_worker_poll() on
 * the test's thread, each side in turn, in loops bounded in time; the
 * worker's clock is the TSC.
 *
 * Every pool has no per-lcore cache, so rte_mempool_in_use_count() is
 * exact: each test ends by checking that every mbuf went back.
 *
 * EAL: no hugepages, no PCI, no shared files (--no-shconf under a file
 * prefix of our own: DPDK 22.11 refuses --in-memory with --no-huge), no
 * telemetry socket: unprivileged, and beside other DPDK tests in
 * parallel. Expected on stderr: nothing above the error log level.
 *
 * The tests:
 *   test_bad_conf             coda_worker_create() / _group() refuse bad input (EINVAL)
 *   test_telemetry            coda_worker_telemetry(): once, then -EALREADY
 *   test_b2b_ipv4/_ipv6[_mss1440]  two single-worker sides back to back: ARP or
 *                             ND through the rings, 1 MiB each way, events, close
 *                             reasons, TIME-WAIT, every mbuf back
 *   test_malformed            bad frames dropped under their own counters, RST for a
 *                             closed port (one mbuf, a chain, IPv6), a mixed burst,
 *                             a frame still buffered when the worker is freed
 *   test_burst_order          the frames of one burst are taken in arrival order
 *   test_fallback_ipv4/_ipv6/_one_txq  software RSS, 2 workers on one port: hand-off,
 *                             learn-only copies, active opens on the right worker,
 *                             frames inside the workers when they are freed
 *   test_fallback_learn_chain an ARP copy shared between workers as a chain
 *   test_call, test_call_free_pending  coda_worker_call(): result, timeout,
 *                             abandoned calls, a worker freed under a waiting caller
 *   test_snapshot_concurrent  coda_worker_snapshot() on another thread
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* DPDK 22.11's rte_ring_elem_pvt.h tests RTE_USE_C11_MEM_MODEL with #if (clang -Wundef). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <rte_arp.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "coda_worker.h"
/* Only to see how many entries wait in a worker's rings (calls, inbox, TX ring). */
#include "worker_private.h"
#pragma GCC diagnostic pop

/* Sockets per stack (TCB indices below this). */
#define NSOCK 256
/* Workers on one side, at most. */
#define MAXW 2
/* Mbufs per pool, ring slots. */
#define POOL_N 8191
#define RING_N 4096
/* Bytes A sends to B (and B echoes) in the back-to-back test. */
#define XFER (1u << 20)

#define NB_EV (CODA_TCP_EV_CLOSED + 1)

static unsigned int uniq; /* names of rings, ports, pools */

/* --- application events ---------------------------------------------------- */

struct evlog {
	unsigned int n[NSOCK][NB_EV];
	unsigned int after_closed; /* events on a socket after its CLOSED */
	unsigned int bad_sock;	   /* socket numbers out of range */
};

static void
on_event(struct coda_worker *w, int sock, enum coda_tcp_event ev, void *arg)
{
	struct evlog *l = arg;

	(void)w;
	if (sock < 0 || sock >= NSOCK || (unsigned int)ev >= NB_EV) {
		l->bad_sock++;
		return;
	}
	if (l->n[sock][CODA_TCP_EV_CLOSED] != 0)
		l->after_closed++;
	l->n[sock][ev]++;
}

/* --- sides: a port, its pool, its workers ---------------------------------- */

struct side {
	struct rte_mempool *pool;
	unsigned int baseline; /* pool's mbufs in use before the port was set up */
	/*
	 * Held for the whole test, so that the baseline is not 0: an mbuf
	 * freed twice then shows as one fewer in use (at 0 the count
	 * saturates and hides it).
	 */
	struct rte_mbuf *ballast[4];
	uint16_t port;
	bool port_up;
	struct rte_ring *rx;		/* the ring its RX queue reads (the test owns it) */
	struct rte_ring *tx;		/* the ring its TX queues write */
	struct coda_port_info info;
	unsigned int nw;
	unsigned int ntx; /* TX queues the port gets: nw, or 1 if it has fewer TX rings */
	struct coda_worker *w[MAXW];
	struct evlog *ev[MAXW];
	uint8_t mac[6];
	uint8_t ip4[4];
	uint8_t ip6[16];
	uint16_t mss; /* the stacks' MSS; 0: the default */
};

static struct coda_worker *act[2 * MAXW];
static unsigned int nact;

/*
 * What a test has made and not yet released, for test_cleanup() to
 * release after a failed assertion, so that one failure does not leave
 * ports, rings and pools behind for the tests after it.
 */
static struct side *live_sides[4];
static struct rte_ring *live_rings[4];

static uint64_t
ms_now(void)
{
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);
}

static void
sleep_ms(unsigned int ms)
{
	rte_delay_us_sleep(ms * 1000u);
}

static struct rte_ring *
ring_new(void)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), "tw_r%u", uniq++);
	r = rte_ring_create(name, RING_N, SOCKET_ID_ANY, 0);
	assert_non_null(r);
	for (unsigned int i = 0; i < RTE_DIM(live_rings); i++)
		if (live_rings[i] == NULL) {
			live_rings[i] = r;
			return r;
		}
	fail_msg("too many rings");
	return NULL;
}

/* Free a ring from ring_new() and the mbufs left in it. */
static void ring_release(struct rte_ring *r);


static struct rte_mempool *
pool_new(void)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *p;

	snprintf(name, sizeof(name), "tw_p%u", uniq++);
	/* No cache: rte_mempool_in_use_count() is exact. */
	p = rte_pktmbuf_pool_create(name, POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(p);
	return p;
}

static void
side_init(struct side *s, uint8_t last, unsigned int nw)
{
	memset(s, 0, sizeof(*s));
	s->nw = nw;
	s->ntx = nw;
	for (unsigned int i = 0; i <= RTE_DIM(live_sides); i++) {
		assert_true(i < RTE_DIM(live_sides));
		if (live_sides[i] == NULL) {
			live_sides[i] = s;
			break;
		}
	}
	s->pool = pool_new();
	assert_int_equal(rte_pktmbuf_alloc_bulk(s->pool, s->ballast, RTE_DIM(s->ballast)), 0);
	s->baseline = rte_mempool_in_use_count(s->pool);
	assert_int_equal(s->baseline, RTE_DIM(s->ballast));
	memcpy(s->mac, (const uint8_t[6]){0x02, 0, 0, 0, 0, last}, 6);
	memcpy(s->ip4, (const uint8_t[4]){198, 18, 0, last}, 4);
	assert_int_equal(inet_pton(AF_INET6, "2001:2::", s->ip6), 1);
	s->ip6[15] = last;
	for (unsigned int i = 0; i < nw; i++) {
		s->ev[i] = calloc(1, sizeof(*s->ev[i]));
		assert_non_null(s->ev[i]);
	}
}

/* A net_ring port reading @p rx and writing @p tx from each of its @p ntx TX queues. */
static void
side_port(struct side *s, struct rte_ring *rx, struct rte_ring *tx, unsigned int ntx)
{
	struct rte_ring *txq[MAXW];
	char name[32];
	int port;

	for (unsigned int i = 0; i < ntx; i++)
		txq[i] = tx;
	snprintf(name, sizeof(name), "tw%u", uniq++);
	port = rte_eth_from_rings(name, &rx, 1, txq, ntx, rte_socket_id());
	assert_true(port >= 0);
	s->port = (uint16_t)port;
	s->rx = rx;
	s->tx = tx;
}

static void
side_setup(struct side *s)
{
	struct coda_port_conf pc;

	coda_port_conf_default(&pc);
	pc.nb_queues = (uint16_t)s->nw;
	pc.nb_rxd = 512;
	pc.nb_txd = 512;
	assert_int_equal(coda_port_setup(s->port, &pc, &s->pool, 1, &s->info), 0);
	s->port_up = true;
	/* net_ring: no RSS, so the software fallback. */
	assert_false(s->info.rss);
	assert_int_equal(s->info.nb_queues, s->nw);
	assert_int_equal(s->info.nb_rx_queues, 1);
	assert_int_equal(s->info.nb_tx_queues, s->ntx);
}

static void
worker_conf(struct coda_worker_conf *c, struct side *s, unsigned int i)
{
	coda_worker_conf_default(c);
	c->index = (uint16_t)i;
	c->port_id = s->port;
	c->port = &s->info;
	c->pool = s->pool;
	c->tcp.nb_tcb = NSOCK;
	c->tcp.nb_tw = 1024;
	c->tcp.nb_tw6 = 1024;
	if (s->mss != 0)
		c->tcp.mss = s->mss;
	memcpy(c->net.mac, s->mac, 6);
	c->net.nb_ip4 = 1;
	memcpy(&c->net.ip4[0], s->ip4, 4);
	c->net.nb_ip6 = 1;
	memcpy(c->net.ip6[0], s->ip6, 16);
	c->event = on_event;
	c->event_arg = s->ev[i];
}

static void
side_workers(struct side *s)
{
	struct coda_worker_conf c;

	for (unsigned int i = 0; i < s->nw; i++) {
		worker_conf(&c, s, i);
		s->w[i] = coda_worker_create(&c);
		assert_non_null(s->w[i]);
		assert_int_equal(coda_worker_index(s->w[i]), i);
		assert_true(nact < RTE_DIM(act));
		act[nact++] = s->w[i];
	}
	if (s->nw > 1)
		assert_int_equal(coda_worker_group(s->w, s->nw), 0);
}

/* Mbufs left in a ring the test owns: freed, and their number returned. */
static unsigned int
ring_drain(struct rte_ring *r)
{
	unsigned int n = 0;
	void *m;

	if (r == NULL)
		return 0;
	while (rte_ring_dequeue(r, &m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

static void
ring_release(struct rte_ring *r)
{
	for (unsigned int i = 0; i < RTE_DIM(live_rings); i++)
		if (live_rings[i] == r)
			live_rings[i] = NULL;
	ring_drain(r);
	rte_ring_free(r);
}

/* Workers freed, port stopped and closed; then every mbuf is back in the pool. */
static void
side_down(struct side *s)
{
	for (unsigned int i = 0; i < s->nw; i++) {
		for (unsigned int j = 0; j < nact; j++)
			if (act[j] == s->w[i])
				act[j] = act[--nact];
		coda_worker_free(s->w[i]);
		s->w[i] = NULL;
	}
	if (s->port_up)
		coda_port_stop(s->port);
	s->port_up = false;
}

static void
side_fini(struct side *s)
{
	for (unsigned int i = 0; i < RTE_DIM(live_sides); i++)
		if (live_sides[i] == s)
			live_sides[i] = NULL;
	for (unsigned int i = 0; i < s->nw; i++)
		free(s->ev[i]);
	rte_pktmbuf_free_bulk(s->ballast, RTE_DIM(s->ballast));
	rte_mempool_free(s->pool);
}

static unsigned int
poll_all(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nact; i++)
		n += coda_worker_poll(act[i]);
	return n;
}

/* Poll until three passes in a row receive nothing (buffers flushed, rings empty). */
static void
settle(void)
{
	uint64_t end = ms_now() + 2000;
	unsigned int idle = 0;

	while (idle < 3 && ms_now() < end)
		idle = poll_all() == 0 ? idle + 1 : 0;
	assert_true(idle >= 3);
}

typedef bool (*cond_fn)(void *arg);

static bool
poll_until(cond_fn cond, void *arg, unsigned int ms)
{
	uint64_t end = ms_now() + ms;

	while (!cond(arg)) {
		if (ms_now() >= end)
			return false;
		poll_all();
	}
	return true;
}

/* A snapshot at least one full pass old: after SNAP_MS (10 ms) more, one more pass. */
static void
fresh_snap(struct coda_worker *w, struct coda_worker_snapshot *snap)
{
	sleep_ms(12);
	coda_worker_poll(w);
	coda_worker_snapshot(w, snap);
}

/* --- frames ----------------------------------------------------------------- */

static uint32_t
frame_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return RTE_ETHER_HDR_LEN;
}

/* A TCP segment with @p dlen bytes of payload, no options, checksums right. */
static uint32_t
frame_tcp_data(uint8_t *f, int family, const uint8_t *dmac, const uint8_t *smac,
	       const uint8_t *sip, const uint8_t *dip, uint16_t sport, uint16_t dport,
	       uint32_t seq, uint32_t ack, uint8_t flags, const void *data, uint32_t dlen)
{
	uint32_t off = frame_eth(f, dmac, smac,
				 family == AF_INET ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
	struct rte_tcp_hdr th;

	memset(&th, 0, sizeof(th));
	th.src_port = htons(sport);
	th.dst_port = htons(dport);
	th.sent_seq = htonl(seq);
	th.recv_ack = htonl(ack);
	th.data_off = 5 << 4;
	th.tcp_flags = flags;
	th.rx_win = htons(65535);
	if (family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + off);
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = 0x45;
		ip->total_length = htons((uint16_t)(sizeof(*ip) + sizeof(th) + dlen));
		ip->fragment_offset = htons(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		memcpy(&ip->src_addr, sip, 4);
		memcpy(&ip->dst_addr, dip, 4);
		*t = th;
		if (dlen != 0)
			memcpy(t + 1, data, dlen);
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		return off + sizeof(*ip) + sizeof(th) + dlen;
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(f + off);
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow = htonl(6u << 28);
		ip->payload_len = htons((uint16_t)(sizeof(th) + dlen));
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, sip, 16);
		memcpy(ip->dst_addr, dip, 16);
		*t = th;
		if (dlen != 0)
			memcpy(t + 1, data, dlen);
		t->cksum = rte_ipv6_udptcp_cksum(ip, t);
		return off + sizeof(*ip) + sizeof(th) + dlen;
	}
}

static uint32_t
frame_tcp(uint8_t *f, int family, const uint8_t *dmac, const uint8_t *smac, const uint8_t *sip,
	  const uint8_t *dip, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
	  uint8_t flags)
{
	return frame_tcp_data(f, family, dmac, smac, sip, dip, sport, dport, seq, ack, flags, NULL,
			      0);
}

/* An ARP request from (smac, sip) for tip, broadcast. */
static uint32_t
frame_arp_request(uint8_t *f, const uint8_t *smac, const uint8_t *sip, const uint8_t *tip)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint32_t off = frame_eth(f, bcast, smac, RTE_ETHER_TYPE_ARP);
	uint8_t *a = f + off;

	a[0] = 0, a[1] = 1;	/* Ethernet */
	a[2] = 0x08, a[3] = 0;	/* IPv4 */
	a[4] = 6, a[5] = 4;
	a[6] = 0, a[7] = 1;	/* request */
	memcpy(a + 8, smac, 6);
	memcpy(a + 14, sip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tip, 4);
	return off + 28;
}

static struct rte_mbuf *
mbuf_of(struct rte_mempool *p, const uint8_t *f, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p);
	char *d;

	assert_non_null(m);
	d = rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(d);
	memcpy(d, f, len);
	return m;
}

/* A chain of two segments: the first @p split bytes, then the rest. */
static struct rte_mbuf *
mbuf_chain_of(struct rte_mempool *p, const uint8_t *f, uint32_t len, uint32_t split)
{
	struct rte_mbuf *a = mbuf_of(p, f, split), *b = mbuf_of(p, f + split, len - split);

	assert_int_equal(rte_pktmbuf_chain(a, b), 0);
	assert_int_equal(a->nb_segs, 2);
	assert_int_equal(a->pkt_len, len);
	return a;
}

static void
inject(struct rte_ring *r, struct rte_mbuf *m)
{
	assert_int_equal(rte_ring_enqueue(r, m), 0);
}

/* --- test 1: two single-worker sides back to back --------------------------- */

static uint8_t pattern[XFER];

static void
pattern_init(void)
{
	uint32_t x = 0x12345678;

	for (uint32_t i = 0; i < XFER; i++) {
		x = x * 1103515245u + 12345u;
		pattern[i] = (uint8_t)(x >> 16);
	}
}

struct b2b {
	struct side *a, *b;
	int family;
	int lsock, sa, sb;
	const void *ipa, *ipb;
};

static bool
b2b_connected(void *arg)
{
	struct b2b *t = arg;

	return t->a->ev[0]->n[t->sa][CODA_TCP_EV_CONNECTED] != 0 &&
	       t->b->ev[0]->n[t->lsock][CODA_TCP_EV_ACCEPTED] != 0;
}

static void
check_neigh(struct coda_worker *w, int family, const void *ip, const uint8_t *mac)
{
	struct coda_net_neigh_info ni;

	assert_int_equal(coda_net_neigh_get(coda_worker_net(w), family, ip, coda_worker_now(w), &ni),
			 0);
	assert_true(ni.state == CODA_NET_NEIGH_REACHABLE || ni.state == CODA_NET_NEIGH_STALE);
	assert_memory_equal(ni.mac, mac, 6);
	assert_int_equal(ni.queued, 0);
}

/*
 * A connects to B (lport 0) through the rings, ARP or ND resolving both
 * ways, sends 1 MiB; B echoes every byte; A shuts down writing, B does
 * when it has echoed all and read the EOF. Both see their events and end
 * NORMAL; A, the active closer, holds the connection in TIME-WAIT. Then
 * every mbuf of both pools is back, once the workers are freed and the
 * ports stopped.
 */
static void
b2b_run(int family, uint16_t mss)
{
	static uint8_t bbuf[65536], abuf[65536];
	static struct side A, B; /* static: test_cleanup() may find it after a failed assertion */
	struct b2b t = {.a = &A, .b = &B, .family = family};
	struct coda_tcp_info ia, ib;
	struct coda_worker_snapshot sa_snap, sb_snap;
	const struct coda_net_stats *na, *nb;
	struct rte_ring *ab, *ba;
	uint32_t a_sent = 0, a_got = 0, b_got = 0, b_pend = 0, b_off = 0;
	bool a_shut = false, b_eof = false, b_shut = false, a_eof = false;
	uint64_t left = 0, t0, end, last_move, moved = 0;
	int32_t r;

	side_init(&A, 1, 1);
	side_init(&B, 2, 1);
	A.mss = B.mss = mss;
	ab = ring_new();
	ba = ring_new();
	side_port(&A, ba, ab, 1);
	side_port(&B, ab, ba, 1);
	side_setup(&A);
	side_setup(&B);
	side_workers(&A);
	side_workers(&B);
	t.ipa = family == AF_INET ? (const void *)A.ip4 : (const void *)A.ip6;
	t.ipb = family == AF_INET ? (const void *)B.ip4 : (const void *)B.ip6;

	t.lsock = coda_worker_listen(B.w[0], (uint8_t)family, NULL, htons(5001), 16);
	assert_true(t.lsock >= 0);
	t.sa = coda_worker_connect(A.w[0], (uint8_t)family, t.ipa, t.ipb, htons(5001), 0);
	assert_true(t.sa >= 0 && t.sa < NSOCK);
	assert_true(poll_until(b2b_connected, &t, 3000));
	t.sb = coda_worker_accept(B.w[0], t.lsock);
	assert_true(t.sb >= 0 && t.sb < NSOCK);
	assert_int_equal(coda_worker_accept(B.w[0], t.lsock), -EAGAIN);

	/* The neighbours, resolved through the rings. */
	na = coda_net_stats(coda_worker_net(A.w[0]));
	nb = coda_net_stats(coda_worker_net(B.w[0]));
	if (family == AF_INET) {
		assert_true(na->tx_arp_request >= 1);
		assert_true(nb->tx_arp_reply >= 1);
		assert_true(na->rx_arp >= 1 && nb->rx_arp >= 1);
	} else {
		assert_true(na->tx_ns >= 1);
		assert_true(nb->tx_na >= 1);
	}
	assert_true(na->neigh_resolved >= 1);
	check_neigh(A.w[0], family, t.ipb, B.mac);
	check_neigh(B.w[0], family, t.ipa, A.mac);

	/* Both ends name the same connection. */
	assert_int_equal(coda_tcp_info(coda_worker_tcp(A.w[0]), t.sa, &ia), 0);
	assert_int_equal(coda_tcp_info(coda_worker_tcp(B.w[0]), t.sb, &ib), 0);
	assert_int_equal(ia.state, CODA_TCP_S_ESTABLISHED);
	assert_int_equal(ib.state, CODA_TCP_S_ESTABLISHED);
	assert_int_equal(ia.key.family, family);
	assert_memory_equal(ia.key.laddr, t.ipa, family == AF_INET ? 4 : 16);
	assert_memory_equal(ia.key.raddr, t.ipb, family == AF_INET ? 4 : 16);
	assert_int_equal(ia.key.rport, htons(5001));
	assert_in_range(ntohs(ia.key.lport), 49152, 65535);
	assert_int_equal(ib.key.rport, ia.key.lport);
	assert_int_equal(ib.key.lport, ia.key.rport);
	assert_memory_equal(ib.key.raddr, t.ipa, family == AF_INET ? 4 : 16);

	/* 1 MiB each way. */
	t0 = ms_now();
	end = t0 + 10000;
	last_move = t0;
	while (ms_now() < end) {
		/* Give up after 2 s without a byte moving. */
		if (a_sent + b_got + a_got != moved) {
			moved = a_sent + b_got + a_got;
			last_move = ms_now();
		} else if (ms_now() - last_move > 2000) {
			break;
		}
		if (a_sent < XFER) {
			r = coda_worker_send(A.w[0], t.sa, pattern + a_sent,
					     RTE_MIN(XFER - a_sent, 65536u));
			if (r != -EAGAIN) {
				assert_true(r > 0);
				a_sent += (uint32_t)r;
			}
		} else if (!a_shut) {
			assert_int_equal(coda_worker_shutdown(A.w[0], t.sa, CODA_TCP_SHUT_WR), 0);
			a_shut = true;
		}
		poll_all();
		if (b_pend == 0 && !b_eof) {
			r = coda_worker_recv(B.w[0], t.sb, bbuf, sizeof(bbuf));
			if (r == 0) {
				b_eof = true;
			} else if (r != -EAGAIN) {
				assert_true(r > 0);
				assert_true(b_got + (uint32_t)r <= XFER);
				assert_memory_equal(bbuf, pattern + b_got, (size_t)r);
				b_got += (uint32_t)r;
				b_pend = (uint32_t)r;
				b_off = 0;
			}
		}
		if (b_pend != 0) {
			r = coda_worker_send(B.w[0], t.sb, bbuf + b_off, b_pend);
			if (r != -EAGAIN) {
				assert_true(r > 0);
				b_off += (uint32_t)r;
				b_pend -= (uint32_t)r;
			}
		}
		if (b_eof && b_pend == 0 && !b_shut) {
			assert_int_equal(coda_worker_shutdown(B.w[0], t.sb, CODA_TCP_SHUT_WR), 0);
			b_shut = true;
		}
		if (!a_eof) {
			r = coda_worker_recv(A.w[0], t.sa, abuf, sizeof(abuf));
			if (r == 0) {
				a_eof = true;
			} else if (r != -EAGAIN) {
				assert_true(r > 0);
				assert_true(a_got + (uint32_t)r <= XFER);
				assert_memory_equal(abuf, pattern + a_got, (size_t)r);
				a_got += (uint32_t)r;
			}
		}
		if (a_eof && A.ev[0]->n[t.sa][CODA_TCP_EV_CLOSED] != 0 &&
		    B.ev[0]->n[t.sb][CODA_TCP_EV_CLOSED] != 0)
			break;
	}
	print_message("v%d: 2 x %u bytes in %" PRIu64 " ms\n", family == AF_INET ? 4 : 6, XFER,
		      ms_now() - t0);
	assert_int_equal(a_sent, XFER);
	assert_int_equal(b_got, XFER);
	assert_int_equal(a_got, XFER);
	assert_true(b_eof && a_eof);

	/* Events: each once where once is right, none after CLOSED. */
	assert_int_equal(A.ev[0]->n[t.sa][CODA_TCP_EV_CONNECTED], 1);
	assert_true(A.ev[0]->n[t.sa][CODA_TCP_EV_READABLE] >= 1);
	assert_int_equal(A.ev[0]->n[t.sa][CODA_TCP_EV_PEER_FIN], 1);
	assert_int_equal(A.ev[0]->n[t.sa][CODA_TCP_EV_CLOSED], 1);
	assert_int_equal(A.ev[0]->n[t.sa][CODA_TCP_EV_ACCEPTED], 0);
	assert_int_equal(B.ev[0]->n[t.lsock][CODA_TCP_EV_ACCEPTED], 1);
	assert_true(B.ev[0]->n[t.sb][CODA_TCP_EV_READABLE] >= 1);
	assert_int_equal(B.ev[0]->n[t.sb][CODA_TCP_EV_PEER_FIN], 1);
	assert_int_equal(B.ev[0]->n[t.sb][CODA_TCP_EV_CLOSED], 1);
	assert_int_equal(A.ev[0]->after_closed + B.ev[0]->after_closed, 0);
	assert_int_equal(A.ev[0]->bad_sock + B.ev[0]->bad_sock, 0);

	/* Both ended NORMAL; A holds TIME-WAIT, B nothing. */
	assert_int_equal(coda_tcp_info(coda_worker_tcp(A.w[0]), t.sa, &ia), 0);
	assert_int_equal(coda_tcp_info(coda_worker_tcp(B.w[0]), t.sb, &ib), 0);
	assert_int_equal(ia.state, CODA_TCP_S_CLOSED);
	assert_int_equal(ia.close_reason, CODA_TCP_CLOSE_NORMAL);
	assert_true(ia.peer_fin);
	assert_int_equal(ib.state, CODA_TCP_S_CLOSED);
	assert_int_equal(ib.close_reason, CODA_TCP_CLOSE_NORMAL);
	assert_int_equal(coda_tcp_lookup(coda_worker_tcp(A.w[0]), &ia.key, coda_worker_now(A.w[0]),
					 &left),
			 CODA_TCP_S_TIME_WAIT);
	/* 2 MSL (60 s), late by at most the wheel's granularity there (coda_wheel.h: 4095 ms). */
	assert_in_range(left, 50000, 60000 + 4095);
	assert_int_equal(coda_tcp_lookup(coda_worker_tcp(B.w[0]), &ib.key, coda_worker_now(B.w[0]),
					 &left),
			 CODA_TCP_S_CLOSED);
	assert_int_equal(coda_worker_close(A.w[0], t.sa), 0);
	assert_int_equal(coda_worker_close(B.w[0], t.sb), 0);
	assert_int_equal(coda_worker_close(A.w[0], t.sa), -EBADF);
	assert_int_equal(coda_worker_close(B.w[0], t.lsock), 0);
	/* Closing the socket did not end TIME-WAIT. */
	assert_int_equal(coda_tcp_lookup(coda_worker_tcp(A.w[0]), &ia.key, coda_worker_now(A.w[0]),
					 &left),
			 CODA_TCP_S_TIME_WAIT);
	settle();

	/* Counters: nothing refused, nothing short of mbufs, nothing handed off. */
	fresh_snap(A.w[0], &sa_snap);
	fresh_snap(B.w[0], &sb_snap);
	assert_int_equal(sa_snap.worker.tx_dropped + sb_snap.worker.tx_dropped, 0);
	assert_int_equal(sa_snap.worker.tx_nombuf + sb_snap.worker.tx_nombuf, 0);
	assert_int_equal(sa_snap.worker.rx_too_long + sb_snap.worker.rx_too_long, 0);
	assert_int_equal(sa_snap.worker.rx_handoff + sa_snap.worker.rx_inbox, 0);
	assert_true(sa_snap.worker.rx_packets > XFER / 1460 / 2);
	assert_int_equal(sa_snap.worker.rx_packets, sa_snap.net.rx_frames);
	assert_int_equal(sb_snap.worker.rx_packets, sb_snap.net.rx_frames);
	/* What A sent, B received: the rings lose nothing. */
	assert_int_equal(sa_snap.worker.tx_packets, sb_snap.worker.rx_packets);
	assert_int_equal(sb_snap.worker.tx_packets, sa_snap.worker.rx_packets);
	assert_int_equal(sa_snap.net.rx_dropped + sb_snap.net.rx_dropped, 0);
	assert_true(sa_snap.tcp.closed[CODA_TCP_CLOSE_NORMAL] >= 1);
	assert_true(sb_snap.tcp.closed[CODA_TCP_CLOSE_NORMAL] >= 1);
	assert_int_equal(sa_snap.tcp.tw_entered, 1);
	assert_int_equal(sa_snap.tcp.opened_active, 1);
	assert_int_equal(sb_snap.tcp.opened_passive, 1);
	print_message("v%d: A rx %" PRIu64 " tx %" PRIu64 " retransmits %" PRIu64
		      "; B rx %" PRIu64 " tx %" PRIu64 " retransmits %" PRIu64 "\n",
		      family == AF_INET ? 4 : 6, sa_snap.worker.rx_packets,
		      sa_snap.worker.tx_packets, sa_snap.tcp.retransmits,
		      sb_snap.worker.rx_packets, sb_snap.worker.tx_packets,
		      sb_snap.tcp.retransmits);
	/* All the frames came back: what is in use now is only in flight (none). */
	assert_int_equal(sa_snap.mbufs_in_use, A.baseline);
	assert_int_equal(sb_snap.mbufs_in_use, B.baseline);

	/* Test 2, part 1: no mbuf leaks once workers and ports are gone. */
	assert_int_equal(rte_ring_count(ab) + rte_ring_count(ba), 0);
	side_down(&A);
	side_down(&B);
	assert_int_equal(ring_drain(ab) + ring_drain(ba), 0);
	assert_int_equal(rte_mempool_in_use_count(A.pool), A.baseline);
	assert_int_equal(rte_mempool_in_use_count(B.pool), B.baseline);
	ring_release(ab);
	ring_release(ba);
	side_fini(&A);
	side_fini(&B);
}

static void
test_b2b_ipv4(void **state)
{
	(void)state;
	b2b_run(AF_INET, 0);
}

/* IPv6 with the stack's default MSS (1460, made for IPv4: 20 bytes too many for IPv6). */
static void
test_b2b_ipv6(void **state)
{
	(void)state;
	b2b_run(AF_INET6, 0);
}

/* IPv6 with an MSS that fits a 1500-byte IPv6 packet: the rest of the path. */
static void
test_b2b_ipv6_mss1440(void **state)
{
	(void)state;
	b2b_run(AF_INET6, 1440);
}

/* --- test 2: malformed frames ---------------------------------------------- */

/*
 * One worker on a port whose rings the test holds: frames in through
 * lone.rx, what it sends out of lone.tx.
 */
struct lone {
	struct side s;
	uint8_t peer_mac[6];
	uint8_t peer_ip4[4];
	uint8_t peer_ip6[16];
};

static void
lone_up(struct lone *l)
{
	struct side *s = &l->s;

	side_init(s, 1, 1);
	side_port(s, ring_new(), ring_new(), 1);
	side_setup(s);
	side_workers(s);
	memcpy(l->peer_mac, (const uint8_t[6]){0x02, 0, 0, 0, 0, 0x02}, 6);
	memcpy(l->peer_ip4, (const uint8_t[4]){198, 18, 0, 2}, 4);
	memcpy(l->peer_ip6, s->ip6, 16);
	l->peer_ip6[15] = 2;
}

static void
lone_static_neigh(struct lone *l)
{
	struct coda_worker *w = l->s.w[0];

	assert_int_equal(coda_net_neigh_add(coda_worker_net(w), AF_INET, l->peer_ip4, l->peer_mac,
					    coda_worker_now(w)),
			 0);
	assert_int_equal(coda_net_neigh_add(coda_worker_net(w), AF_INET6, l->peer_ip6, l->peer_mac,
					    coda_worker_now(w)),
			 0);
}

static void
lone_down(struct lone *l)
{
	struct side *s = &l->s;

	side_down(s);
	ring_drain(s->rx);
	ring_drain(s->tx);
	assert_int_equal(rte_mempool_in_use_count(s->pool), s->baseline);
	ring_release(s->rx);
	ring_release(s->tx);
	side_fini(s);
}

/* Pseudo-header sum + the segment's, folded: 0xffff when the checksum is right. */
static uint16_t
l4_sum(uint16_t phdr, const void *l4, uint32_t len)
{
	uint32_t s = (uint32_t)phdr + rte_raw_cksum(l4, len);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The next frame the worker sent: an RST from its (sport) to the peer's (dport), ACKing seq + 1. */
static void
expect_rst(struct lone *l, int family, uint16_t sport, uint16_t dport, uint32_t seq)
{
	const struct side *s = &l->s;
	const struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	const uint8_t *f;
	void *obj = NULL;

	assert_int_equal(rte_ring_dequeue(s->tx, &obj), 0);
	m = obj;
	assert_int_equal(m->nb_segs, 1);
	f = rte_pktmbuf_mtod(m, const uint8_t *);
	assert_memory_equal(f, l->peer_mac, 6);
	assert_memory_equal(f + 6, s->mac, 6);
	if (family == AF_INET) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);

		assert_int_equal(m->pkt_len, 14 + 20 + 20);
		assert_int_equal(f[12] << 8 | f[13], RTE_ETHER_TYPE_IPV4);
		assert_memory_equal(&ip->src_addr, s->ip4, 4);
		assert_memory_equal(&ip->dst_addr, l->peer_ip4, 4);
		assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
		/* Checksums right: the header sums to 0xffff, the segment too. */
		assert_int_equal(rte_ipv4_cksum(ip), 0);
		th = (const struct rte_tcp_hdr *)(ip + 1);
		assert_int_equal(l4_sum(rte_ipv4_phdr_cksum(ip, 0), th, 20), 0xffff);
	} else {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(f + 14);

		assert_int_equal(m->pkt_len, 14 + 40 + 20);
		assert_int_equal(f[12] << 8 | f[13], RTE_ETHER_TYPE_IPV6);
		assert_memory_equal(ip->src_addr, s->ip6, 16);
		assert_memory_equal(ip->dst_addr, l->peer_ip6, 16);
		th = (const struct rte_tcp_hdr *)(ip + 1);
		assert_int_equal(l4_sum(rte_ipv6_phdr_cksum(ip, 0), th, 20), 0xffff);
	}
	assert_int_equal(ntohs(th->src_port), sport);
	assert_int_equal(ntohs(th->dst_port), dport);
	assert_true(th->tcp_flags & RTE_TCP_RST_FLAG);
	assert_true(th->tcp_flags & RTE_TCP_ACK_FLAG);
	assert_int_equal(ntohl(th->recv_ack), seq + 1);
	rte_pktmbuf_free(m);
}

/* A pass of the worker over what was injected, and one more so the TX buffer goes out. */
static void
lone_poll(struct lone *l)
{
	uint64_t end = ms_now() + 2000;

	while (rte_ring_count(l->s.rx) != 0 && ms_now() < end)
		coda_worker_poll(l->s.w[0]);
	assert_int_equal(rte_ring_count(l->s.rx), 0);
	coda_worker_poll(l->s.w[0]);
	coda_worker_poll(l->s.w[0]);
}

/* A malformed-frame kind: how to spoil a good SYN, and where it is counted. */
enum bad_kind {
	BAD_TOO_SHORT,
	BAD_ETHER_TYPE,
	BAD_IP_CKSUM,
	BAD_TCP_CKSUM,
	BAD_FRAGMENT,
	BAD_NOT_OUR_MAC,
	BAD_NOT_OUR_IP,
	BAD_V6_CKSUM,
	BAD_V6_FRAGMENT,
	BAD_TOO_LONG,	/* a chain longer than CODA_NET_FRAME_MAX: worker's rx_too_long */
	BAD__COUNT
};

static const int bad_reason[BAD__COUNT] = {
	[BAD_TOO_SHORT] = CODA_NET_DROP_TOO_SHORT,
	[BAD_ETHER_TYPE] = CODA_NET_DROP_BAD_ETHER_TYPE,
	[BAD_IP_CKSUM] = CODA_NET_DROP_BAD_IP_CKSUM,
	[BAD_TCP_CKSUM] = CODA_NET_DROP_BAD_L4_CKSUM,
	[BAD_FRAGMENT] = CODA_NET_DROP_FRAGMENT,
	[BAD_NOT_OUR_MAC] = CODA_NET_DROP_NOT_OUR_MAC,
	[BAD_NOT_OUR_IP] = CODA_NET_DROP_NOT_FOR_US,
	[BAD_V6_CKSUM] = CODA_NET_DROP_BAD_L4_CKSUM,
	[BAD_V6_FRAGMENT] = CODA_NET_DROP_FRAGMENT,
	[BAD_TOO_LONG] = CODA_NET_DROP_NONE,
};

static struct rte_mbuf *
bad_frame(struct lone *l, enum bad_kind k)
{
	uint8_t f[4096] __rte_aligned(8);
	const struct side *s = &l->s;
	struct rte_ipv4_hdr *ip4 = (struct rte_ipv4_hdr *)(f + 14);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(f + 14);
	uint32_t len;
	int fam = k == BAD_V6_CKSUM || k == BAD_V6_FRAGMENT ? AF_INET6 : AF_INET;
	const uint8_t *sip = fam == AF_INET ? l->peer_ip4 : l->peer_ip6;
	const uint8_t *dip = fam == AF_INET ? s->ip4 : s->ip6;

	len = frame_tcp(f, fam, s->mac, l->peer_mac, sip, dip, 40000, 80, 1000, 0,
			RTE_TCP_SYN_FLAG);
	switch (k) {
	case BAD_TOO_SHORT:
		len = 10;
		break;
	case BAD_ETHER_TYPE:
		f[12] = 0x88, f[13] = 0xb5;
		break;
	case BAD_IP_CKSUM:
		ip4->hdr_checksum ^= 0x0101;
		break;
	case BAD_TCP_CKSUM:
	case BAD_V6_CKSUM:
		f[len - 1] ^= 0x40; /* the urgent pointer: only the checksum notices */
		break;
	case BAD_FRAGMENT:
		ip4->fragment_offset = htons(RTE_IPV4_HDR_MF_FLAG);
		ip4->hdr_checksum = 0;
		ip4->hdr_checksum = rte_ipv4_cksum(ip4);
		break;
	case BAD_NOT_OUR_MAC:
		f[5] = 0x99;
		break;
	case BAD_NOT_OUR_IP: {
		uint8_t other[4] = {198, 18, 0, 77};

		len = frame_tcp(f, AF_INET, s->mac, l->peer_mac, sip, other, 40000, 80, 1000, 0,
				RTE_TCP_SYN_FLAG);
		break;
	}
	case BAD_V6_FRAGMENT: {
		/* A Fragment header (44) before TCP: 8 more bytes. */
		uint8_t tcp[20];

		memcpy(tcp, f + 14 + 40, 20);
		ip6->proto = 44;
		ip6->payload_len = htons(8 + 20);
		memset(f + 14 + 40, 0, 8);
		f[14 + 40] = IPPROTO_TCP;
		f[14 + 40 + 3] = 1; /* offset 0, M set */
		memcpy(f + 14 + 48, tcp, 20);
		len += 8;
		break;
	}
	case BAD_TOO_LONG:
		/* 2000 bytes in two segments; nothing past the headers matters. */
		memset(f + len, 0xa5, 2000 - len);
		return mbuf_chain_of(s->pool, f, 2000, 1000);
	default:
		break;
	}
	return mbuf_of(s->pool, f, len);
}

static void
net_drops(struct coda_worker *w, uint64_t *d)
{
	memcpy(d, coda_net_stats(coda_worker_net(w))->drops, sizeof(uint64_t) * CODA_NET_DROP__COUNT);
}

/*
 * Each kind of bad frame alone: dropped, under its own counter only, no
 * segment reaches TCP, nothing sent. Then a good SYN to a closed port (in
 * one mbuf, in a chain, over IPv6): the RST comes out. Then a burst of
 * them all mixed. The pool's count comes back to where it started.
 */
static void
test_malformed(void **state)
{
	uint8_t f[256] __rte_aligned(8);
	uint64_t before[CODA_NET_DROP__COUNT], after[CODA_NET_DROP__COUNT];
	struct coda_worker_snapshot s0, s1;
	struct coda_tcp_stats ts0, ts1;
	static struct lone L; /* static: test_cleanup() may find it after a failed assertion */
	struct coda_worker *w;
	uint32_t len;

	(void)state;
	lone_up(&L);
	w = L.s.w[0];
	lone_static_neigh(&L);
	coda_worker_poll(w);

	for (int k = 0; k < BAD__COUNT; k++) {
		fresh_snap(w, &s0);
		net_drops(w, before);
		coda_tcp_stats(coda_worker_tcp(w), &ts0);
		inject(L.s.rx, bad_frame(&L, (enum bad_kind)k));
		lone_poll(&L);
		fresh_snap(w, &s1);
		net_drops(w, after);
		coda_tcp_stats(coda_worker_tcp(w), &ts1);
		print_message("bad frame %d: reason %s\n", k,
			      coda_net_drop_name((enum coda_net_drop)bad_reason[k]));
		assert_int_equal(s1.worker.rx_packets, s0.worker.rx_packets + 1);
		for (int r = 1; r < CODA_NET_DROP__COUNT; r++)
			assert_int_equal(after[r], before[r] + (r == bad_reason[k]));
		if (k == BAD_TOO_LONG) {
			assert_int_equal(s1.worker.rx_too_long, s0.worker.rx_too_long + 1);
			assert_int_equal(s1.net.rx_frames, s0.net.rx_frames);
		} else {
			assert_int_equal(s1.worker.rx_too_long, s0.worker.rx_too_long);
			assert_int_equal(s1.net.rx_frames, s0.net.rx_frames + 1);
			assert_int_equal(s1.net.rx_dropped, s0.net.rx_dropped + 1);
		}
		assert_int_equal(ts1.rx_segments, ts0.rx_segments);
		assert_int_equal(rte_ring_count(L.s.tx), 0);
		assert_int_equal(rte_mempool_in_use_count(L.s.pool), L.s.baseline);
	}

	/* TCP to a closed port: an RST. In one mbuf ... */
	coda_tcp_stats(coda_worker_tcp(w), &ts0);
	len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40000, 9, 7777, 0,
			RTE_TCP_SYN_FLAG);
	inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	lone_poll(&L);
	expect_rst(&L, AF_INET, 9, 40000, 7777);
	/* ... in a chain of two (the worker copies it out) ... */
	len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40001, 9, 8888, 0,
			RTE_TCP_SYN_FLAG);
	inject(L.s.rx, mbuf_chain_of(L.s.pool, f, len, 31));
	lone_poll(&L);
	expect_rst(&L, AF_INET, 9, 40001, 8888);
	/* ... and over IPv6. */
	len = frame_tcp(f, AF_INET6, L.s.mac, L.peer_mac, L.peer_ip6, L.s.ip6, 40002, 9, 9999, 0,
			RTE_TCP_SYN_FLAG);
	inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	lone_poll(&L);
	expect_rst(&L, AF_INET6, 9, 40002, 9999);
	assert_int_equal(rte_ring_count(L.s.tx), 0);
	coda_tcp_stats(coda_worker_tcp(w), &ts1);
	assert_int_equal(ts1.tx_rst, ts0.tx_rst + 3);
	assert_int_equal(rte_mempool_in_use_count(L.s.pool), L.s.baseline);

	/* A burst of everything, 20 of each kind, mixed, and 20 SYNs to the closed port. */
	fresh_snap(w, &s0);
	net_drops(w, before);
	for (int i = 0; i < 20; i++) {
		for (int k = 0; k < BAD__COUNT; k++)
			inject(L.s.rx, bad_frame(&L, (enum bad_kind)k));
		len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4,
				(uint16_t)(41000 + i), 9, 100, 0, RTE_TCP_SYN_FLAG);
		inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	}
	lone_poll(&L);
	fresh_snap(w, &s1);
	net_drops(w, after);
	assert_int_equal(s1.worker.rx_packets, s0.worker.rx_packets + 20 * (BAD__COUNT + 1));
	assert_int_equal(s1.worker.rx_too_long, s0.worker.rx_too_long + 20);
	for (int r = 1; r < CODA_NET_DROP__COUNT; r++) {
		uint64_t want = 0;

		for (int k = 0; k < BAD__COUNT; k++)
			want += bad_reason[k] == r ? 20 : 0;
		assert_int_equal(after[r], before[r] + want);
	}
	assert_int_equal(s1.tcp.tx_rst, s0.tcp.tx_rst + 20);
	assert_int_equal(rte_ring_count(L.s.tx), 20);
	assert_int_equal(s1.worker.tx_packets, s0.worker.tx_packets + 20);
	assert_int_equal(ring_drain(L.s.tx), 20);
	assert_int_equal(rte_mempool_in_use_count(L.s.pool), L.s.baseline);

	/* An RST still in the TX buffer (one busy pass: no flush) when the worker is freed. */
	len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40003, 9, 1, 0,
			RTE_TCP_SYN_FLAG);
	inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	fresh_snap(w, &s0);
	assert_int_equal(rte_ring_count(L.s.rx), 0);
	assert_int_equal(rte_ring_count(L.s.tx), 0);
	assert_int_equal(s0.tcp.tx_rst, s1.tcp.tx_rst + 1);
	assert_int_equal(rte_mempool_in_use_count(L.s.pool), L.s.baseline + 1);
	lone_down(&L);
}

/* The next frame the worker sent, a TCP segment to the peer: its flags, seq and ack. */
static uint8_t
next_seg(struct lone *l, uint32_t *seq, uint32_t *ack)
{
	const struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	uint8_t flags;
	void *obj = NULL;

	assert_int_equal(rte_ring_dequeue(l->s.tx, &obj), 0);
	m = obj;
	assert_int_equal(rte_pktmbuf_mtod(m, const uint8_t *)[12] << 8 |
				 rte_pktmbuf_mtod(m, const uint8_t *)[13],
			 RTE_ETHER_TYPE_IPV4);
	th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, 14 + 20);
	*seq = ntohl(th->sent_seq);
	*ack = ntohl(th->recv_ack);
	flags = th->tcp_flags;
	rte_pktmbuf_free(m);
	return flags;
}

/*
 * The frames of one burst are taken in the order they arrived, whatever
 * their mbuf layout: on an established connection (handshake crafted
 * here), one burst brings 5 bytes of data in one mbuf, then an RST right
 * after them in a chain of two mbufs. In that order the application
 * reads the 5 bytes, then the reset (rst_flushes_rcv is off); an RST taken
 * first would reset the connection and drop the data.
 */
static void
test_burst_order(void **state)
{
	uint8_t f[256] __rte_aligned(8), got[16];
	struct coda_tcp_info ti;
	struct coda_worker *w;
	static struct lone L; /* static: test_cleanup() may find it after a failed assertion */
	uint32_t len, iss, ack, x;
	int ls, s;

	(void)state;
	lone_up(&L);
	w = L.s.w[0];
	lone_static_neigh(&L);
	ls = coda_worker_listen(w, AF_INET, NULL, htons(80), 4);
	assert_true(ls >= 0);
	len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40000, 80, 1000, 0,
			RTE_TCP_SYN_FLAG);
	inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	lone_poll(&L);
	assert_int_equal(next_seg(&L, &iss, &ack), RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(ack, 1001);
	len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40000, 80, 1001,
			iss + 1, RTE_TCP_ACK_FLAG);
	inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	lone_poll(&L);
	assert_int_equal(L.s.ev[0]->n[ls][CODA_TCP_EV_ACCEPTED], 1);
	s = coda_worker_accept(w, ls);
	assert_true(s >= 0);

	/* One burst: the data (one mbuf), then the RST at the next sequence number (a chain). */
	len = frame_tcp_data(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40000, 80, 1001,
			     iss + 1, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, "hello", 5);
	inject(L.s.rx, mbuf_of(L.s.pool, f, len));
	len = frame_tcp(f, AF_INET, L.s.mac, L.peer_mac, L.peer_ip4, L.s.ip4, 40000, 80, 1006, 0,
			RTE_TCP_RST_FLAG);
	inject(L.s.rx, mbuf_chain_of(L.s.pool, f, len, 40));
	assert_int_equal(coda_worker_poll(w), 2);
	lone_poll(&L);
	assert_int_equal(coda_tcp_info(coda_worker_tcp(w), s, &ti), 0);
	print_message("after the burst: %s, reason %s, %u readable\n", coda_tcp_state_name(ti.state),
		      coda_tcp_close_reason_name(ti.close_reason), ti.readable);
	assert_int_equal(ti.state, CODA_TCP_S_CLOSED);
	assert_int_equal(ti.close_reason, CODA_TCP_CLOSE_RESET);
	assert_int_equal(coda_worker_recv(w, s, got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(coda_worker_recv(w, s, got, sizeof(got)), -ECONNRESET);
	assert_int_equal(coda_worker_close(w, s), 0);
	assert_int_equal(coda_worker_close(w, ls), 0);
	/* What it sent meanwhile (the ACK of the data, if any) goes back to the pool. */
	while (rte_ring_count(L.s.tx) != 0)
		(void)next_seg(&L, &x, &ack);
	lone_down(&L);
}

/* --- test 3: software fallback, two workers on one port --------------------- */

struct fb {
	struct side C, D; /* C: 2 workers on one port; D: its 1-worker peer */
	struct rte_ring *cd, *dc;
};

static void
fb_up(struct fb *t, unsigned int ntx)
{
	side_init(&t->C, 1, 2);
	side_init(&t->D, 2, 1);
	t->C.ntx = ntx;
	t->cd = ring_new(); /* C's TX queues (1 or 2) → D's RX */
	t->dc = ring_new(); /* D's TX → C's single RX queue */
	side_port(&t->C, t->dc, t->cd, ntx);
	side_port(&t->D, t->cd, t->dc, 1);
	side_setup(&t->C);
	side_setup(&t->D);
	assert_int_equal(t->C.info.reta_size, 128);
	side_workers(&t->C);
	side_workers(&t->D);
}

/* @p quiet: settle first, and nothing may be left on the wire. */
static void
fb_down(struct fb *t, bool quiet)
{
	if (quiet) {
		settle();
		assert_int_equal(rte_ring_count(t->cd) + rte_ring_count(t->dc), 0);
	}
	side_down(&t->C);
	side_down(&t->D);
	if (quiet)
		assert_int_equal(ring_drain(t->cd) + ring_drain(t->dc), 0);
	else
		ring_drain(t->cd), ring_drain(t->dc);
	assert_int_equal(rte_mempool_in_use_count(t->C.pool), t->C.baseline);
	assert_int_equal(rte_mempool_in_use_count(t->D.pool), t->D.baseline);
	ring_release(t->cd);
	ring_release(t->dc);
	side_fini(&t->C);
	side_fini(&t->D);
}

#define FB_CONNS 32

struct fb_conns {
	struct fb *t;
	int lsock[MAXW];
	int d[FB_CONNS];
	unsigned int n;
};

static bool
fb_all_connected(void *arg)
{
	struct fb_conns *c = arg;
	unsigned int acc = 0;

	for (unsigned int i = 0; i < c->n; i++)
		if (c->t->D.ev[0]->n[c->d[i]][CODA_TCP_EV_CONNECTED] == 0)
			return false;
	for (unsigned int i = 0; i < MAXW; i++)
		acc += c->t->C.ev[i]->n[c->lsock[i]][CODA_TCP_EV_ACCEPTED];
	return acc >= c->n;
}

struct fb_active {
	struct side *s;
	unsigned int wi;
	int sock[8];
	unsigned int n;
};

static bool
fb_active_connected(void *arg)
{
	struct fb_active *a = arg;

	for (unsigned int i = 0; i < a->n; i++)
		if (a->s->ev[a->wi]->n[a->sock[i]][CODA_TCP_EV_CONNECTED] == 0)
			return false;
	return true;
}

/* A SYN from D to C's closed port 9, from a source port whose flow worker @p owner owns. */
static struct rte_mbuf *
fb_syn_to(struct fb *t, int family, unsigned int owner, uint16_t *sport)
{
	uint8_t f[128] __rte_aligned(8);
	struct coda_conntab_key k;
	uint16_t p;
	uint32_t len;

	for (p = 30000;; p++) {
		if (family == AF_INET) {
			uint32_t c4, d4;

			memcpy(&c4, t->C.ip4, 4);
			memcpy(&d4, t->D.ip4, 4);
			coda_conntab_key_v4(&k, c4, htons(9), d4, htons(p));
		} else {
			coda_conntab_key_v6(&k, t->C.ip6, htons(9), t->D.ip6, htons(p));
		}
		if (coda_port_rss_queue(&t->C.info, &k) == owner)
			break;
	}
	*sport = p;
	len = frame_tcp(f, family, t->C.mac, t->D.mac, family == AF_INET ? t->D.ip4 : t->D.ip6,
			family == AF_INET ? t->C.ip4 : t->C.ip6, p, 9, 5555, 0, RTE_TCP_SYN_FLAG);
	return mbuf_of(t->D.pool, f, len);
}

/*
 * Frames still inside C's workers when they are freed: a segment handed
 * to worker 1 and an ARP copy in its inbox, worker 0's ARP reply in its TX
 * buffer; with one TX queue, worker 1 has answered the SYN instead, and
 * its RST waits in worker 0's TX ring. coda_worker_free() gives them all
 * back.
 */
static void
fb_free_busy(struct fb *t, int family)
{
	uint8_t f[64] __rte_aligned(8);
	uint16_t sport;
	uint32_t len = frame_arp_request(f, t->D.mac, t->D.ip4, t->C.ip4);

	inject(t->dc, fb_syn_to(t, family, 1, &sport));
	inject(t->dc, mbuf_of(t->D.pool, f, len));
	coda_worker_poll(t->C.w[0]);
	assert_int_equal(rte_ring_count(t->C.w[1]->inbox), 2);
	if (t->C.ntx == 1) {
		/* Worker 1 answers the SYN with an RST, through worker 0's TX ring. */
		coda_worker_poll(t->C.w[1]);
		assert_int_equal(rte_ring_count(t->C.w[1]->inbox), 0);
		assert_true(rte_ring_count(t->C.w[0]->txring) >= 1);
	}
	assert_int_equal(rte_ring_count(t->dc), 0);
	fb_down(t, false);
}

/*
 * D opens 32 connections to C (both C workers listen): worker 0 polls the
 * port and hands every segment of a flow coda_port_rss_queue() gives to
 * worker 1 over its inbox; worker 1 learns D's address from the copies of
 * the ARP or ND frames worker 0 received. Data goes through on all of
 * them. Then active opens from each C worker pick ports whose flows come
 * back to it, and complete.
 */
static void
fallback_run(int family, unsigned int ntx)
{
	static uint8_t buf[4096];
	static struct fb t; /* static: test_cleanup() may find it after a failed assertion */
	struct fb_conns cc = {.t = &t};
	struct coda_worker_snapshot s0, s1, sd;
	struct coda_tcp_info ti;
	unsigned int per[MAXW] = {0}, got = 0, active = 0;
	const void *ipc, *ipd;
	uint64_t end;
	int lsd;

	fb_up(&t, ntx);
	ipc = family == AF_INET ? (const void *)t.C.ip4 : (const void *)t.C.ip6;
	ipd = family == AF_INET ? (const void *)t.D.ip4 : (const void *)t.D.ip6;
	for (unsigned int i = 0; i < MAXW; i++) {
		cc.lsock[i] = coda_worker_listen(t.C.w[i], (uint8_t)family, ipc, htons(6000), 64);
		assert_true(cc.lsock[i] >= 0);
	}
	/* One first, to resolve the neighbours, then the rest at once. */
	cc.d[0] = coda_worker_connect(t.D.w[0], (uint8_t)family, ipd, ipc, htons(6000), 0);
	assert_true(cc.d[0] >= 0);
	cc.n = 1;
	assert_true(poll_until(fb_all_connected, &cc, 3000));
	for (; cc.n < FB_CONNS; cc.n++) {
		cc.d[cc.n] = coda_worker_connect(t.D.w[0], (uint8_t)family, ipd, ipc, htons(6000), 0);
		assert_true(cc.d[cc.n] >= 0 && cc.d[cc.n] < NSOCK);
	}
	assert_true(poll_until(fb_all_connected, &cc, 5000));

	/* Each C worker accepts what it got: flows of its own queue only. */
	for (unsigned int i = 0; i < MAXW; i++) {
		int s;

		while ((s = coda_worker_accept(t.C.w[i], cc.lsock[i])) >= 0) {
			assert_int_equal(coda_tcp_info(coda_worker_tcp(t.C.w[i]), s, &ti), 0);
			assert_int_equal(ti.state, CODA_TCP_S_ESTABLISHED);
			assert_int_equal(coda_port_rss_queue(&t.C.info, &ti.key), i);
			per[i]++;
		}
		assert_int_equal(s, -EAGAIN);
	}
	print_message("v%d: worker 0 took %u connections, worker 1 %u\n",
		      family == AF_INET ? 4 : 6, per[0], per[1]);
	assert_int_equal(per[0] + per[1], FB_CONNS);
	assert_true(per[0] > 0);
	assert_true(per[1] > 0);

	/* 1000 bytes on each, read on the C side. */
	for (unsigned int i = 0; i < cc.n; i++)
		assert_int_equal(coda_worker_send(t.D.w[0], cc.d[i], pattern + i, 1000), 1000);
	end = ms_now() + 5000;
	while (got < FB_CONNS * 1000 && ms_now() < end) {
		poll_all();
		for (unsigned int i = 0; i < MAXW; i++)
			for (int s = 0; s < NSOCK; s++) {
				int32_t r;

				if (t.C.ev[i]->n[s][CODA_TCP_EV_READABLE] == 0 ||
				    s == cc.lsock[i])
					continue;
				r = coda_worker_recv(t.C.w[i], s, buf, sizeof(buf));
				if (r > 0)
					got += (uint32_t)r;
			}
	}
	assert_int_equal(got, FB_CONNS * 1000);

	/* The hand-off, counted. */
	settle();
	fresh_snap(t.C.w[0], &s0);
	fresh_snap(t.C.w[1], &s1);
	print_message("v%d: w0 rx %" PRIu64 " handoff %" PRIu64 "; w1 inbox %" PRIu64
		      " learn %" PRIu64 "\n",
		      family == AF_INET ? 4 : 6, s0.worker.rx_packets, s0.worker.rx_handoff,
		      s1.worker.rx_inbox, s1.worker.rx_learn);
	assert_true(s0.worker.rx_handoff > 0);
	assert_int_equal(s0.worker.rx_handoff_full, 0);
	assert_int_equal(s1.worker.rx_inbox, s0.worker.rx_handoff);
	assert_int_equal(s1.worker.rx_packets, 0); /* worker 1 does not poll the port */
	assert_int_equal(s0.worker.rx_inbox, 0);
	assert_true(s1.worker.rx_learn > 0);
	assert_int_equal(s0.worker.rx_learn, 0);
	assert_int_equal(s0.tcp.opened_passive, per[0]);
	assert_int_equal(s1.tcp.opened_passive, per[1]);
	assert_int_equal(s0.worker.tx_dropped + s1.worker.tx_dropped, 0);
	/* Worker 1 learnt D from the copies (it sent no request of its own). */
	check_neigh(t.C.w[1], family, ipd, t.D.mac);
	check_neigh(t.C.w[0], family, ipd, t.D.mac);
	if (family == AF_INET)
		assert_int_equal(s1.net.tx_arp_reply, 0);
	else
		assert_int_equal(s1.net.tx_na, 0);

	/* Active opens from each C worker: ports that come back to it. */
	lsd = coda_worker_listen(t.D.w[0], (uint8_t)family, NULL, htons(7000), 64);
	assert_true(lsd >= 0);
	for (unsigned int wi = 0; wi < MAXW; wi++) {
		struct fb_active a = {.s = &t.C, .wi = wi};

		for (a.n = 0; a.n < 4; a.n++) {
			a.sock[a.n] = coda_worker_connect(t.C.w[wi], (uint8_t)family, ipc, ipd,
							  htons(7000), 0);
			assert_true(a.sock[a.n] >= 0);
			assert_int_equal(coda_tcp_info(coda_worker_tcp(t.C.w[wi]), a.sock[a.n], &ti),
					 0);
			assert_int_equal(coda_port_rss_queue(&t.C.info, &ti.key), wi);
			assert_in_range(ntohs(ti.key.lport), 49152, 65535);
		}
		assert_true(poll_until(fb_active_connected, &a, 3000));
		for (unsigned int i = 0; i < a.n; i++) {
			assert_int_equal(coda_tcp_info(coda_worker_tcp(t.C.w[wi]), a.sock[i], &ti), 0);
			assert_int_equal(ti.state, CODA_TCP_S_ESTABLISHED);
		}
		active += a.n;
	}
	settle();
	{
		int s, n = 0;

		while ((s = coda_worker_accept(t.D.w[0], lsd)) >= 0)
			n++;
		assert_int_equal(n, (int)active);
	}
	fresh_snap(t.D.w[0], &sd);
	assert_int_equal(sd.tcp.opened_passive, active);
	fresh_snap(t.C.w[1], &s1);
	assert_int_equal(s1.tcp.opened_active, 4);
	if (ntx == 1)
		assert_int_equal(s1.worker.tx_packets, 0); /* worker 0 sends its frames */
	fb_free_busy(&t, family);
}

static void
test_fallback_ipv4(void **state)
{
	(void)state;
	fallback_run(AF_INET, 2);
}

static void
test_fallback_ipv6(void **state)
{
	(void)state;
	fallback_run(AF_INET6, 2);
}

/* The port has one TX queue for two workers: worker 1 sends through worker 0. */
static void
test_fallback_one_txq(void **state)
{
	(void)state;
	fallback_run(AF_INET, 1);
}

/*
 * An ARP request that arrives as a chain of two mbufs on the 2-worker
 * port: worker 0 answers it and gives worker 1 a read-only copy to learn
 * from. Both learn the sender; every segment goes back to the pool once,
 * after both are done with it.
 */
static void
test_fallback_learn_chain(void **state)
{
	uint8_t f[128] __rte_aligned(8);
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x33}, ip[4] = {198, 18, 0, 33};
	struct coda_worker_snapshot s1;
	static struct fb t; /* static: test_cleanup() may find it after a failed assertion */
	uint32_t len;

	(void)state;
	fb_up(&t, 2);
	len = frame_arp_request(f, mac, ip, t.C.ip4);
	/* Ethernet padding to 60 bytes, as on a wire. */
	memset(f + len, 0, 60 - len);
	len = 60;
	inject(t.dc, mbuf_chain_of(t.D.pool, f, len, 30));
	for (int i = 0; i < 10; i++)
		poll_all();
	settle();
	check_neigh(t.C.w[0], AF_INET, ip, mac);
	check_neigh(t.C.w[1], AF_INET, ip, mac);
	fresh_snap(t.C.w[1], &s1);
	assert_int_equal(s1.worker.rx_learn, 1);
	/* The reply went to D's ring: D dropped it (not for D's address), freed it. */
	assert_int_equal(rte_ring_count(t.cd), 0);
	print_message("D's pool: %u in use (baseline %u); C's: %u (baseline %u)\n",
		      rte_mempool_in_use_count(t.D.pool), t.D.baseline,
		      rte_mempool_in_use_count(t.C.pool), t.C.baseline);
	assert_int_equal(rte_mempool_in_use_count(t.D.pool), t.D.baseline);
	assert_int_equal(rte_mempool_in_use_count(t.C.pool), t.C.baseline);
	fb_down(&t, true);
}

/* --- test 4: coda_worker_call() ------------------------------------------- */

struct call_arg {
	struct coda_worker *w;
	int value;
	int ret;
	uint32_t timeout_ms;
	uint32_t done;	 /* atomic: the caller returned */
	uint32_t ran;	 /* atomic: fn ran */
	pthread_t ran_on;
	struct coda_worker *ran_with;
};

static int
call_fn(struct coda_worker *w, void *arg)
{
	struct call_arg *a = arg;

	a->ran_on = pthread_self();
	a->ran_with = w;
	__atomic_add_fetch(&a->ran, 1, __ATOMIC_RELAXED);
	return a->value + 1;
}

static void *
caller(void *arg)
{
	struct call_arg *a = arg;

	a->ret = coda_worker_call(a->w, call_fn, a, a->timeout_ms);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool
call_done(void *arg)
{
	struct call_arg *a = arg;

	return __atomic_load_n(&a->done, __ATOMIC_ACQUIRE) != 0;
}

/*
 * A call from another thread runs on the polling thread and its result
 * comes back. A call to a worker that does not poll times out after its
 * 50 ms; the worker frees it on its next pass, without running it.
 */
static void
test_call(void **state)
{
	struct call_arg a = {.value = 41, .timeout_ms = 5000};
	struct call_arg b = {.value = 7, .timeout_ms = 50};
	struct coda_worker_snapshot snap;
	static struct lone L; /* static: test_cleanup() may find it after a failed assertion */
	pthread_t th;
	uint64_t t0;

	(void)state;
	lone_up(&L);
	a.w = b.w = L.s.w[0];
	assert_int_equal(pthread_create(&th, NULL, caller, &a), 0);
	assert_true(poll_until(call_done, &a, 5000));
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.ret, 42);
	assert_int_equal(a.ran, 1);
	assert_true(pthread_equal(a.ran_on, pthread_self()));
	assert_ptr_equal(a.ran_with, L.s.w[0]);
	fresh_snap(L.s.w[0], &snap);
	assert_int_equal(snap.worker.calls, 1);
	assert_int_equal(snap.worker.calls_abandoned, 0);

	/* Nobody polls: the caller gives up after 50 ms. */
	assert_int_equal(pthread_create(&th, NULL, caller, &b), 0);
	t0 = ms_now();
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("timed out after %" PRIu64 " ms\n", ms_now() - t0);
	assert_int_equal(b.ret, -ETIMEDOUT);
	assert_true(ms_now() - t0 >= 49);
	assert_true(ms_now() - t0 < 2000);
	assert_int_equal(b.ran, 0);
	/* The next pass frees it unrun (ASan: no leak). */
	fresh_snap(L.s.w[0], &snap);
	assert_int_equal(b.ran, 0);
	assert_int_equal(snap.worker.calls, 1);
	assert_int_equal(snap.worker.calls_abandoned, 1);

	lone_down(&L);
}

static bool
calls_queued(void *arg)
{
	const struct coda_worker *w = arg;

	return rte_ring_count(w->calls) != 0;
}

/*
 * A worker freed while a caller still waits on a call it never ran (the
 * case coda_worker_free() handles: "their callers time out and leave them
 * to us"): the caller must still return -ETIMEDOUT after its timeout,
 * and the call must not leak.
 */
static void
test_call_free_pending(void **state)
{
	struct call_arg a = {.value = 1, .timeout_ms = 100};
	struct timespec ts;
	static struct lone L; /* static: test_cleanup() may find it after a failed assertion */
	pthread_t th;
	int rc;

	(void)state;
	lone_up(&L);
	a.w = L.s.w[0];
	assert_int_equal(pthread_create(&th, NULL, caller, &a), 0);
	{
		uint64_t end = ms_now() + 2000;

		while (!calls_queued(L.s.w[0]) && ms_now() < end)
			sleep_ms(1);
		assert_true(calls_queued(L.s.w[0]));
	}
	/* Not polled: freed with the call still in its ring and its caller waiting. */
	lone_down(&L);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 3;
	rc = pthread_timedjoin_np(th, NULL, &ts);
	if (rc != 0) {
		pthread_cancel(th);
		pthread_join(th, NULL);
		fail_msg("coda_worker_call() still waiting 3 s after its 100 ms timeout: "
			 "coda_worker_free() marked its call ABANDONED and the caller never returns");
	}
	assert_int_equal(a.ret, -ETIMEDOUT);
	assert_int_equal(a.ran, 0);
}

/* --- test 5: snapshots from another thread -------------------------------- */

struct snap_reader {
	const struct coda_worker *w;
	uint32_t stop;
	uint64_t reads, changes;
	uint64_t bad_order, bad_sum;
	struct coda_worker_snapshot last;
};

static void *
snap_reader(void *arg)
{
	struct snap_reader *r = arg;
	struct coda_worker_snapshot prev, s;

	coda_worker_snapshot(r->w, &prev);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		coda_worker_snapshot(r->w, &s);
		r->reads++;
		if (s.now < prev.now || s.worker.loops < prev.worker.loops ||
		    s.worker.rx_packets < prev.worker.rx_packets ||
		    s.worker.tx_packets < prev.worker.tx_packets ||
		    s.net.rx_frames < prev.net.rx_frames || s.net.rx_arp < prev.net.rx_arp ||
		    s.net.tx_arp_reply < prev.net.tx_arp_reply)
			r->bad_order++;
		/* One snapshot is one moment: its counters agree with each other. */
		if (s.worker.rx_packets != s.net.rx_frames + s.worker.rx_too_long ||
		    s.net.rx_arp != s.net.tx_arp_reply || s.net.rx_arp != s.net.rx_frames ||
		    s.worker.tx_packets > s.net.tx_frames || s.mbufs_in_use > POOL_N)
			r->bad_sum++;
		if (s.worker.loops != prev.worker.loops)
			r->changes++;
		prev = s;
	}
	r->last = prev;
	return NULL;
}

/*
 * Snapshots read on another thread while the worker polls and answers a
 * stream of ARP requests: each counter only grows, the clock never goes
 * back, and within one snapshot the counters agree (every frame received
 * was an ARP request and got its reply).
 */
static void
test_snapshot_concurrent(void **state)
{
	uint8_t f[64] __rte_aligned(8);
	struct snap_reader r = {0};
	struct coda_worker_snapshot fin;
	static struct lone L; /* static: test_cleanup() may find it after a failed assertion */
	pthread_t th;
	uint64_t end, sent = 0;
	uint32_t len;

	(void)state;
	lone_up(&L);
	r.w = L.s.w[0];
	len = frame_arp_request(f, L.peer_mac, L.peer_ip4, L.s.ip4);
	assert_int_equal(pthread_create(&th, NULL, snap_reader, &r), 0);
	end = ms_now() + 400;
	while (ms_now() < end) {
		for (int i = 0; i < 4; i++) {
			inject(L.s.rx, mbuf_of(L.s.pool, f, len));
			sent++;
		}
		coda_worker_poll(L.s.w[0]);
		coda_worker_poll(L.s.w[0]);
		ring_drain(L.s.tx);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	lone_poll(&L);
	ring_drain(L.s.tx);
	fresh_snap(L.s.w[0], &fin);
	print_message("%" PRIu64 " reads, %" PRIu64 " changes, %" PRIu64 " frames\n", r.reads,
		      r.changes, sent);
	assert_int_equal(r.bad_order, 0);
	assert_int_equal(r.bad_sum, 0);
	assert_true(r.changes >= 10); /* 400 ms, a snapshot every 10 ms */
	assert_true(r.last.worker.rx_packets <= fin.worker.rx_packets);
	assert_int_equal(fin.worker.rx_packets, sent);
	assert_int_equal(fin.net.tx_arp_reply, sent);
	assert_true(fin.now >= r.last.now);
	assert_int_equal(fin.mbufs_in_use, L.s.baseline);
	lone_down(&L);
}

/* --- test 6: bad configuration ---------------------------------------------- */

static void
expect_einval(const struct coda_worker_conf *c)
{
	struct coda_worker *w;

	rte_errno = 0;
	w = coda_worker_create(c);
	assert_null(w);
	assert_int_equal(rte_errno, EINVAL);
}

static void
test_bad_conf(void **state)
{
	struct coda_port_info pi;
	struct coda_worker_conf c, good;
	struct rte_mempool *pool = pool_new();
	struct coda_worker *w[2], *rev[2], *hole[2];
	struct side s;

	(void)state;
	/* A port as setup leaves a 2-worker net_ring port; create needs no ethdev. */
	memset(&pi, 0, sizeof(pi));
	pi.port_id = 77;
	pi.nb_queues = 2;
	pi.nb_rx_queues = 1;
	pi.nb_tx_queues = 2;
	pi.reta_size = 128;
	pi.rss_key_len = 40;
	for (int i = 0; i < 40; i += 2)
		pi.rss_key[i] = 0x6d, pi.rss_key[i + 1] = 0x5a;
	pi.mtu = 1500;
	memset(&s, 0, sizeof(s));
	s.port = 77;
	s.pool = pool;
	s.info = pi;
	memcpy(s.mac, (const uint8_t[6]){0x02, 0, 0, 0, 0, 7}, 6);
	memcpy(s.ip4, (const uint8_t[4]){198, 18, 0, 7}, 4);
	s.ip6[0] = 0x20, s.ip6[1] = 0x01, s.ip6[15] = 7;
	worker_conf(&good, &s, 0);
	good.event = NULL;

	c = good, c.port = NULL;
	expect_einval(&c);
	c = good, c.pool = NULL;
	expect_einval(&c);
	c = good, c.index = 2;
	expect_einval(&c);
	c = good, c.index = 300;
	expect_einval(&c);
	c = good, c.burst = 0;
	expect_einval(&c);
	c = good, c.burst = 257;
	expect_einval(&c);
	c = good, c.burst = 300;
	expect_einval(&c);
	c = good, c.inbox_size = 1000;
	expect_einval(&c);
	c = good, c.inbox_size = 0;
	expect_einval(&c);
	c = good, c.ephemeral_lo = 50000, c.ephemeral_hi = 49999;
	expect_einval(&c);
	/* A bad network configuration comes back as lib/net's EINVAL. */
	c = good, c.net.retrans_ms = 0;
	expect_einval(&c);
	/* The limits themselves are fine. */
	c = good, c.burst = 256, c.inbox_size = 2;
	w[0] = coda_worker_create(&c);
	assert_non_null(w[0]);
	coda_worker_free(w[0]);
	c = good, c.burst = 1, c.ephemeral_lo = c.ephemeral_hi = 50000;
	w[0] = coda_worker_create(&c);
	assert_non_null(w[0]);
	coda_worker_free(w[0]);
	coda_worker_free(NULL);

	/* Groups: every worker at its index. */
	w[0] = coda_worker_create(&good);
	c = good, c.index = 1;
	w[1] = coda_worker_create(&c);
	assert_non_null(w[0]);
	assert_non_null(w[1]);
	rev[0] = w[1], rev[1] = w[0];
	hole[0] = w[0], hole[1] = NULL;
	assert_int_equal(coda_worker_group(w, 0), -EINVAL);
	assert_int_equal(coda_worker_group(rev, 2), -EINVAL);
	assert_int_equal(coda_worker_group(hole, 2), -EINVAL);
	assert_int_equal(coda_worker_group(&w[1], 1), -EINVAL);
	assert_int_equal(coda_worker_group(w, RTE_MAX_LCORE + 1), -EINVAL);
	assert_int_equal(coda_worker_group(w, 2), 0);
	/* Once more is harmless (no leak under ASan). */
	assert_int_equal(coda_worker_group(w, 2), 0);
	coda_worker_free(w[0]);
	coda_worker_free(w[1]);
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
	rte_mempool_free(pool);
}

/* --- test 7: telemetry registration ----------------------------------------- */

static struct coda_worker *tel_all[1];

static void
test_telemetry(void **state)
{
	static struct lone L; /* static: test_cleanup() may find it after a failed assertion */

	(void)state;
	lone_up(&L);
	tel_all[0] = L.s.w[0];
	/* Nothing to register for: refused, and nothing latched. */
	assert_true(coda_worker_telemetry(NULL, 0) < 0);
	assert_true(coda_worker_telemetry(tel_all, 0) < 0);
	assert_int_equal(coda_worker_telemetry(tel_all, 1), 0);
	assert_int_equal(coda_worker_telemetry(tel_all, 1), -EALREADY);
	assert_int_equal(coda_worker_telemetry(NULL, 0), -EALREADY);
	/* No telemetry socket here (--no-telemetry): nobody calls the commands. */
	lone_down(&L);
	tel_all[0] = NULL;
}

/* After a failed assertion: release what the test left (no checks). */
static int
test_cleanup(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(live_sides); i++) {
		struct side *s = live_sides[i];

		if (s == NULL)
			continue;
		side_down(s);
		for (unsigned int j = 0; j < RTE_DIM(live_rings); j++)
			ring_drain(live_rings[j]);
		side_fini(s);
	}
	for (unsigned int i = 0; i < RTE_DIM(live_rings); i++)
		if (live_rings[i] != NULL)
			ring_release(live_rings[i]);
	nact = 0;
	return 0;
}

#define T(f) cmocka_unit_test_teardown(f, test_cleanup)

int
main(void)
{
	char prefix[64], dir[PATH_MAX];
	char *argv[] = {
		(char *)(uintptr_t) "test_worker",
		(char *)(uintptr_t) "--no-pci",
		(char *)(uintptr_t) "--no-huge",
		(char *)(uintptr_t) "-m",
		(char *)(uintptr_t) "512",
		(char *)(uintptr_t) "--no-shconf",
		prefix,
		(char *)(uintptr_t) "--no-telemetry",
		(char *)(uintptr_t) "--log-level=error",
		(char *)(uintptr_t) "-l",
		(char *)(uintptr_t) "0",
	};
	const struct CMUnitTest tests[] = {
		T(test_bad_conf),
		T(test_telemetry),
		T(test_b2b_ipv4),
		T(test_b2b_ipv6),
		T(test_b2b_ipv6_mss1440),
		T(test_malformed),
		T(test_burst_order),
		T(test_fallback_ipv4),
		T(test_fallback_ipv6),
		T(test_fallback_one_txq),
		T(test_fallback_learn_chain),
		T(test_call),
		T(test_call_free_pending),
		T(test_snapshot_concurrent),
	};
	int ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=coda-test-worker-%ld", (long)getpid());
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	pattern_init();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	/* The runtime directory EAL made for our prefix, empty with --no-shconf. */
	rmdir(dir);
	return ret;
}
