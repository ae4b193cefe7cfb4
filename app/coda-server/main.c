/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coda-server: a TCP endpoint on a DPDK port (echo, discard, sink, http),
 * with the DUT control socket of DESIGN.md section 8.
 *
 *   coda-server [EAL options] -- [--config FILE] --addr A.B.C.D/LEN
 *       [--addr6 ADDR/LEN] --port P [--mode echo|discard|sink|http]
 *       [--control PATH] [--neigh IP=MAC]... [--connect IP:PORT]...
 *       [--close-after BYTES] [--http-body BYTES] [TCP policies ...]
 *
 * Settings: config.c (options and INI file). One worker per EAL lcore,
 * all on the first ethdev port; the main lcore runs worker 0, serves the
 * control socket and prints the live statistics. SIGINT or SIGTERM stops
 * it: the control socket is closed while the workers still run, then a
 * final summary, the port stopped, every mbuf back in the pool (exit
 * status 3 otherwise). docs/server.md documents it.
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "config.h"
#include "server.h"
#include "control.h"

#define EXIT_LEAK 3

static struct server_conf conf;
static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* --- workers ------------------------------------------------------------- */

static struct coda_worker *workers[RTE_MAX_LCORE];
static struct mode_ctx ctxs[RTE_MAX_LCORE];
static unsigned int lcores[RTE_MAX_LCORE];
static unsigned int nb_workers;

/*
 * The control socket, or NULL. Set before the other workers are launched;
 * read by every worker's event callback; cleared (then the workers
 * quiesced) before it is freed at exit.
 */
static struct control *ctl;

/* Every worker's event callback: the control socket's sockets first, then the mode's. */
static void
server_event(struct coda_worker *w, int sock, enum coda_tcp_event ev, void *arg)
{
	struct control *c = __atomic_load_n(&ctl, __ATOMIC_ACQUIRE);

	if (c != NULL && control_event(c, w, sock, ev))
		return;
	mode_event(w, sock, ev, arg);
}

/* Listen, add the static neighbours: on the worker's thread, before traffic. */
static int
worker_start(struct coda_worker *w, struct mode_ctx *ctx)
{
	struct coda_net *net = coda_worker_net(w);
	int s;

	for (unsigned int i = 0; i < conf.nb_neigh; i++) {
		s = coda_net_neigh_add(net, conf.neigh[i].family, conf.neigh[i].addr,
				       conf.neigh[i].mac.addr_bytes, coda_worker_now(w));
		if (s < 0) {
			fprintf(stderr, "coda-server: --neigh %u: %s\n", i, strerror(-s));
			return s;
		}
	}
	if (conf.addr4 != 0) {
		s = coda_worker_listen(w, AF_INET, &conf.addr4, htons(conf.port), 1024);
		if (s < 0)
			return s;
		ctx->lsock4 = s;
	}
	if (conf.has_addr6) {
		s = coda_worker_listen(w, AF_INET6, conf.addr6, htons(conf.port), 1024);
		if (s < 0)
			return s;
		ctx->lsock6 = s;
	}
	return 0;
}

/* --connect: active opens from worker 0 (their flows hash back to it). */
static void
connect_peers(struct coda_worker *w, struct mode_ctx *ctx)
{
	for (unsigned int i = 0; i < conf.nb_connect; i++) {
		const struct server_peer *p = &conf.connect[i];
		const void *laddr = p->family == AF_INET ? (const void *)&conf.addr4 : conf.addr6;
		int s;

		if ((p->family == AF_INET && conf.addr4 == 0) ||
		    (p->family == AF_INET6 && !conf.has_addr6)) {
			fprintf(stderr, "coda-server: --connect %u: no local address of its family\n", i);
			continue;
		}
		s = coda_worker_connect(w, p->family, laddr, p->addr, p->port, 0);
		if (s < 0) {
			fprintf(stderr, "coda-server: --connect %u: %s\n", i, strerror(-s));
			continue;
		}
		mode_adopt(ctx, s);
	}
}

static int
quiesce(struct coda_worker *w, void *arg)
{
	(void)w;
	(void)arg;
	return 0;
}

/*
 * Close the control socket while the workers still run (it closes the
 * client's sockets on them; worker 0's directly, this being its thread).
 * First no callback may reach it any more: ctl is cleared, and a call
 * run by each other worker between two bursts proves that none is still
 * inside control_event() with the old pointer.
 */
static void
control_stop(void)
{
	struct control *c = ctl;

	if (c == NULL)
		return;
	__atomic_store_n(&ctl, NULL, __ATOMIC_RELEASE);
	for (unsigned int i = 1; i < nb_workers; i++)
		(void)coda_worker_call(workers[i], quiesce, NULL, 1000);
	control_close(c);
}

/* --- statistics ----------------------------------------------------------- */

/* One worker's counters, or their sum, for the live statistics. */
struct totals {
	uint64_t rx, tx, opened, est, tw, drops;
};

static void
totals_add(struct totals *t, const struct coda_worker_snapshot *s)
{
	t->rx += s->worker.rx_packets;
	t->tx += s->worker.tx_packets;
	t->opened += s->tcp.opened_active + s->tcp.opened_passive;
	t->est += s->tcp.states[CODA_TCP_S_ESTABLISHED];
	t->tw += s->tcp.states[CODA_TCP_S_TIME_WAIT];
	t->drops += s->net.rx_dropped + s->net.tx_dropped + s->tcp.rx_dropped +
		    s->worker.rx_too_long + s->worker.rx_handoff_full + s->worker.tx_dropped +
		    s->worker.tx_nombuf;
}

/* @p t[i]: worker i's counters; @p t[nb_workers]: their sum. */
static void
totals_get(struct totals *t)
{
	memset(t, 0, sizeof(*t) * (nb_workers + 1));
	for (unsigned int i = 0; i < nb_workers; i++) {
		struct coda_worker_snapshot s;

		coda_worker_snapshot(workers[i], &s);
		totals_add(&t[i], &s);
		totals_add(&t[nb_workers], &s);
	}
}

static void
stats_line(const char *who, const struct totals *now, const struct totals *prev, double sec)
{
	printf("coda-server: stats %s: rx %.0f pps, tx %.0f pps, %.0f conn/s, established %" PRIu64
	       ", time-wait %" PRIu64 ", drops %" PRIu64 "\n",
	       who, (double)(now->rx - prev->rx) / sec, (double)(now->tx - prev->tx) / sec,
	       (double)(now->opened - prev->opened) / sec, now->est, now->tw, now->drops);
}

/* One line per worker (port 0, its queue, its lcore), and their sum when there are several. */
static void
stats_print(const struct totals *now, const struct totals *prev, uint64_t ms)
{
	double sec = (double)(ms != 0 ? ms : 1) / 1000.0;
	char who[64];

	for (unsigned int i = 0; i < nb_workers; i++) {
		snprintf(who, sizeof(who), "port 0 queue %u lcore %u", i, lcores[i]);
		stats_line(who, &now[i], &prev[i], sec);
	}
	if (nb_workers > 1) {
		snprintf(who, sizeof(who), "port 0 total (%u workers)", nb_workers);
		stats_line(who, &now[nb_workers], &prev[nb_workers], sec);
	}
	fflush(stdout);
}

static void
summary(void)
{
	for (unsigned int i = 0; i < nb_workers; i++) {
		struct coda_worker_snapshot s;

		coda_worker_snapshot(workers[i], &s);
		printf("coda-server: worker %u (lcore %u): rx %" PRIu64 " tx %" PRIu64
		       " tx_dropped %" PRIu64 " tx_nombuf %" PRIu64 "\n",
		       i, lcores[i], s.worker.rx_packets, s.worker.tx_packets, s.worker.tx_dropped,
		       s.worker.tx_nombuf);
		printf("coda-server:   connections: accepted %" PRIu64 " connected %" PRIu64
		       " bytes in %" PRIu64 " out %" PRIu64 "\n",
		       ctxs[i].accepted, ctxs[i].connected, ctxs[i].bytes_in, ctxs[i].bytes_out);
		if (conf.mode.mode == MODE_HTTP)
			printf("coda-server:   http: requests %" PRIu64 " errors %" PRIu64 "\n",
			       ctxs[i].http_requests, ctxs[i].http_errors);
		printf("coda-server:   closed: normal %" PRIu64 " reset %" PRIu64 " refused %" PRIu64
		       " timeout %" PRIu64 " aborted %" PRIu64 "; time-wait %" PRIu64 "\n",
		       s.tcp.closed[CODA_TCP_CLOSE_NORMAL], s.tcp.closed[CODA_TCP_CLOSE_RESET],
		       s.tcp.closed[CODA_TCP_CLOSE_REFUSED], s.tcp.closed[CODA_TCP_CLOSE_TIMEOUT],
		       s.tcp.closed[CODA_TCP_CLOSE_ABORTED], s.tcp.states[CODA_TCP_S_TIME_WAIT]);
		printf("coda-server:   net: rx %" PRIu64 " dropped %" PRIu64 "; tcp: rx %" PRIu64
		       " dropped %" PRIu64 " tx %" PRIu64 " rst %" PRIu64 "\n",
		       s.net.rx_frames, s.net.rx_dropped, s.tcp.rx_segments, s.tcp.rx_dropped,
		       s.tcp.tx_segments, s.tcp.tx_rst);
		for (int r = 1; r < CODA_NET_DROP__COUNT; r++)
			if (s.net.drops[r] != 0)
				printf("coda-server:   drop net.%s %" PRIu64 "\n", coda_net_drop_name(r),
				       s.net.drops[r]);
		for (unsigned int r = 0; coda_tcp_drop_name(r) != NULL && r < 64; r++)
			if (s.tcp.drops[r] != 0)
				printf("coda-server:   drop tcp.%s %" PRIu64 "\n", coda_tcp_drop_name(r),
				       s.tcp.drops[r]);
	}
}

/* --- main ----------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	static struct totals prev[RTE_MAX_LCORE + 1], cur[RTE_MAX_LCORE + 1];
	struct coda_port_conf pc;
	struct coda_port_info info;
	struct coda_port_link link;
	struct rte_mempool *pool;
	uint64_t tsc_hz, next_stats, last_stats, next_ctl;
	unsigned int lc, in_use_start, in_use_end;
	uint16_t port_id;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "coda-server: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	ret = server_conf_parse(&conf, argc, argv);
	if (ret != 0) {
		rte_eal_cleanup();
		return ret < 0 ? 1 : 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* dpdk-dumpcap attaches as a secondary process; without one (--in-memory) it cannot. */
	if (rte_pdump_init() != 0)
		fprintf(stderr, "coda-server: capture unavailable (rte_pdump_init: %s)\n",
			rte_strerror(rte_errno));

	port_id = 0;
	if (!rte_eth_dev_is_valid_port(port_id)) {
		fprintf(stderr, "coda-server: no port: give one with the EAL (--vdev, -a)\n");
		rte_eal_cleanup();
		return 1;
	}
	RTE_LCORE_FOREACH(lc) {
		lcores[nb_workers++] = lc;
	}
	pool = rte_pktmbuf_pool_create("coda_mbufs", 8191 + 2048 * nb_workers, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "coda-server: mbuf pool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	in_use_start = rte_mempool_in_use_count(pool);
	coda_port_conf_default(&pc);
	pc.nb_queues = (uint16_t)nb_workers;
	pc.no_offload = conf.no_offload;
	pc.no_rss = conf.no_rss;
	ret = coda_port_setup(port_id, &pc, &pool, 1, &info);
	if (ret < 0) {
		fprintf(stderr, "coda-server: port %u: %s\n", port_id, strerror(-ret));
		goto out;
	}
	if (coda_port_wait_link(port_id, 5000, &link) != 0)
		fprintf(stderr, "coda-server: port %u: link down, going on\n", port_id);

	for (unsigned int i = 0; i < nb_workers; i++) {
		struct coda_worker_conf wc;

		coda_worker_conf_default(&wc);
		wc.index = (uint16_t)i;
		wc.port_id = port_id;
		wc.port = &info;
		wc.pool = pool;
		wc.tcp = conf.tcp;
		if (conf.addr4 != 0) {
			wc.net.nb_ip4 = 1;
			wc.net.ip4[0] = conf.addr4;
		}
		if (conf.has_addr6) {
			wc.net.nb_ip6 = 1;
			memcpy(wc.net.ip6[0], conf.addr6, 16);
		}
		if (mode_init(&ctxs[i], &conf.mode, wc.tcp.nb_tcb) != 0) {
			fprintf(stderr, "coda-server: out of memory\n");
			ret = -ENOMEM;
			goto out;
		}
		wc.event = server_event;
		wc.event_arg = &ctxs[i];
		workers[i] = coda_worker_create(&wc);
		if (workers[i] == NULL) {
			fprintf(stderr, "coda-server: worker %u: %s\n", i, rte_strerror(rte_errno));
			ret = -rte_errno;
			goto out;
		}
		ret = worker_start(workers[i], &ctxs[i]);
		if (ret < 0) {
			fprintf(stderr, "coda-server: worker %u: listen: %s\n", i, strerror(-ret));
			goto out;
		}
	}
	ret = coda_worker_group(workers, nb_workers);
	if (ret < 0)
		goto out;
	ret = coda_worker_telemetry(workers, nb_workers);
	if (ret < 0)
		fprintf(stderr, "coda-server: telemetry: %s\n", strerror(-ret));
	if (conf.control[0] != '\0') {
		ctl = control_open(conf.control, workers, nb_workers);
		if (ctl == NULL) {
			ret = -EINVAL; /* control_open() said why */
			goto out;
		}
	}

	printf("coda-server: port %u (%s) mac " RTE_ETHER_ADDR_PRT_FMT
	       ", %u worker(s), rss %s, offloads rx %s tx %s, link %s\n",
	       port_id, info.driver, info.mac[0], info.mac[1], info.mac[2], info.mac[3],
	       info.mac[4], info.mac[5], nb_workers, info.rss ? "hardware" : "software",
	       info.rx_l4_cksum ? "on" : "off", info.tx_l4_cksum ? "on" : "off",
	       link.up ? "up" : "down");
	printf("coda-server: mode %s on port %u%s%s\n", mode_name(conf.mode.mode), conf.port,
	       conf.control[0] != '\0' ? ", control socket " : "", conf.control);
	printf("coda-server: ready\n");
	fflush(stdout);

	for (unsigned int i = 1; i < nb_workers; i++)
		rte_eal_remote_launch(coda_worker_run, workers[i], lcores[i]);
	coda_worker_poll(workers[0]);
	connect_peers(workers[0], &ctxs[0]);

	tsc_hz = rte_get_tsc_hz();
	last_stats = rte_get_tsc_cycles();
	next_stats = last_stats + conf.stats_ms * tsc_hz / 1000;
	next_ctl = last_stats;
	totals_get(prev);
	while (!quit) {
		uint64_t t;

		coda_worker_poll(workers[0]);
		t = rte_get_tsc_cycles();
		/* Non-blocking, a system call or two: once a millisecond, not every pass. */
		if (ctl != NULL && t >= next_ctl) {
			control_poll(ctl);
			next_ctl = t + tsc_hz / 1000;
		}
		if (conf.stats_ms == 0 || t < next_stats)
			continue;
		totals_get(cur);
		stats_print(cur, prev, (t - last_stats) * 1000 / tsc_hz);
		memcpy(prev, cur, sizeof(cur[0]) * (nb_workers + 1));
		last_stats = t;
		next_stats = t + conf.stats_ms * tsc_hz / 1000;
	}
	control_stop();
	for (unsigned int i = 1; i < nb_workers; i++)
		coda_worker_stop(workers[i]);
	rte_eal_mp_wait_lcore();
	coda_worker_stop(workers[0]);
	coda_worker_run(workers[0]); /* returns at once: flushes and takes the last snapshot */
	summary();
	ret = 0;
out:
	for (unsigned int i = 0; i < nb_workers; i++) {
		coda_worker_free(workers[i]);
		mode_fini(&ctxs[i]);
	}
	if (rte_eth_dev_is_valid_port(port_id))
		coda_port_stop(port_id);
	in_use_end = rte_mempool_in_use_count(pool);
	printf("coda-server: mbufs in use %u, at start %u\n", in_use_end, in_use_start);
	fflush(stdout);
	rte_pdump_uninit();
	rte_mempool_free(pool);
	rte_eal_cleanup();
	if (ret < 0)
		return 1;
	return in_use_end != in_use_start ? EXIT_LEAK : 0;
}
