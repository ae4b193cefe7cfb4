/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coda-server: a TCP endpoint on a DPDK port (echo, discard, sink).
 *
 *   coda-server [EAL options] -- --addr A.B.C.D/LEN [--addr6 ADDR/LEN]
 *       --port P [--mode echo|discard|sink] [--neigh IP=MAC]...
 *       [--connect IP:PORT]... [--msl-ms N] [--stats-ms N] [--no-offload]
 *       [--no-rss]
 *
 * One worker per EAL lcore (the main lcore runs worker 0 and prints the
 * live statistics), all on the first ethdev port. SIGINT or SIGTERM stops
 * it: a final summary, the port stopped, every mbuf back in the pool
 * (exit status 3 otherwise). docs/server.md documents it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
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

#include "server.h"

#define MAX_NEIGH 16
#define MAX_CONNECT 16
#define EXIT_LEAK 3

struct peer {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port; /* network order */
};

struct neigh {
	uint8_t family;
	uint8_t addr[16];
	struct rte_ether_addr mac;
};

static struct {
	uint32_t addr4;	  /* network order; 0: none */
	unsigned int len4;
	bool has_addr6;
	uint8_t addr6[16];
	unsigned int len6;
	uint16_t port;	  /* host order */
	enum server_mode mode;
	struct neigh neigh[MAX_NEIGH];
	unsigned int nb_neigh;
	struct peer connect[MAX_CONNECT];
	unsigned int nb_connect;
	uint32_t msl_ms;
	uint32_t stats_ms;
	bool no_offload, no_rss;
} opt = {.mode = MODE_ECHO, .stats_ms = 1000};

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- --addr A.B.C.D/LEN [--addr6 ADDR/LEN] --port P\n"
		"       [--mode echo|discard|sink] [--neigh IP=MAC]... [--connect IP:PORT]...\n"
		"       [--msl-ms N] [--stats-ms N] [--no-offload] [--no-rss]\n"
		"  --addr       our IPv4 address and prefix length (peers are on link)\n"
		"  --addr6      our IPv6 address and prefix length\n"
		"  --port       TCP port to listen on\n"
		"  --mode       echo (default): echo until the peer's FIN, then FIN;\n"
		"               discard: read and drop; sink: never read (RST at close)\n"
		"  --neigh      static neighbour, IPv4 or IPv6 (repeatable)\n"
		"  --connect    open a connection at start ([ADDR]:PORT for IPv6) and\n"
		"               serve it in the mode (repeatable)\n"
		"  --msl-ms     MSL in ms (TIME-WAIT lasts 2 MSL) [30000]\n"
		"  --stats-ms   live statistics period, 0 for none [1000]\n"
		"  --no-offload checksums in software even if the NIC offers them\n"
		"  --no-rss     software flow placement even if the NIC has RSS\n",
		prog);
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return (errno != 0 || end == s || *end != '\0' || *v > max) ? -1 : 0;
}

/* "A.B.C.D/LEN" or "ADDR/LEN". */
static int
parse_prefix(const char *s, int family, void *addr, unsigned int *len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	unsigned long l;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(family, buf, addr) != 1 ||
	    parse_uint(slash + 1, family == AF_INET ? 32 : 128, &l) != 0)
		return -1;
	*len = (unsigned int)l;
	return 0;
}

static int
parse_ip(const char *s, uint8_t *family, uint8_t *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* "IP=MAC". */
static int
parse_neigh(const char *s, struct neigh *n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *eq = strchr(s, '=');

	if (eq == NULL || (size_t)(eq - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(eq - s));
	buf[eq - s] = '\0';
	if (parse_ip(buf, &n->family, n->addr) != 0)
		return -1;
	return rte_ether_unformat_addr(eq + 1, &n->mac);
}

/* "A.B.C.D:PORT" or "[ADDR]:PORT". */
static int
parse_peer(const char *s, struct peer *p)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(s, ':');
	const char *a = s, *e = colon;
	unsigned long port;

	if (colon == NULL)
		return -1;
	if (*s == '[') {
		a = s + 1;
		if (colon == s || colon[-1] != ']')
			return -1;
		e = colon - 1;
	}
	if (e <= a || (size_t)(e - a) >= sizeof(buf))
		return -1;
	memcpy(buf, a, (size_t)(e - a));
	buf[e - a] = '\0';
	if (parse_ip(buf, &p->family, p->addr) != 0 || parse_uint(colon + 1, 65535, &port) != 0 ||
	    port == 0)
		return -1;
	p->port = htons((uint16_t)port);
	return 0;
}

static int
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"addr", required_argument, NULL, 'a'},	 {"addr6", required_argument, NULL, '6'},
		{"port", required_argument, NULL, 'p'},	 {"mode", required_argument, NULL, 'm'},
		{"neigh", required_argument, NULL, 'n'}, {"connect", required_argument, NULL, 'c'},
		{"msl-ms", required_argument, NULL, 'M'}, {"stats-ms", required_argument, NULL, 's'},
		{"no-offload", no_argument, NULL, 'O'},	 {"no-rss", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},	 {NULL, 0, NULL, 0},
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (parse_prefix(optarg, AF_INET, &opt.addr4, &opt.len4) != 0)
				goto bad;
			break;
		case '6':
			if (parse_prefix(optarg, AF_INET6, opt.addr6, &opt.len6) != 0)
				goto bad;
			opt.has_addr6 = true;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &v) != 0 || v == 0)
				goto bad;
			opt.port = (uint16_t)v;
			break;
		case 'm':
			if (strcmp(optarg, "echo") == 0)
				opt.mode = MODE_ECHO;
			else if (strcmp(optarg, "discard") == 0)
				opt.mode = MODE_DISCARD;
			else if (strcmp(optarg, "sink") == 0)
				opt.mode = MODE_SINK;
			else
				goto bad;
			break;
		case 'n':
			if (opt.nb_neigh == MAX_NEIGH || parse_neigh(optarg, &opt.neigh[opt.nb_neigh]) != 0)
				goto bad;
			opt.nb_neigh++;
			break;
		case 'c':
			if (opt.nb_connect == MAX_CONNECT ||
			    parse_peer(optarg, &opt.connect[opt.nb_connect]) != 0)
				goto bad;
			opt.nb_connect++;
			break;
		case 'M':
			if (parse_uint(optarg, UINT32_MAX / 2, &v) != 0 || v == 0)
				goto bad;
			opt.msl_ms = (uint32_t)v;
			break;
		case 's':
			if (parse_uint(optarg, UINT32_MAX, &v) != 0)
				goto bad;
			opt.stats_ms = (uint32_t)v;
			break;
		case 'O':
			opt.no_offload = true;
			break;
		case 'R':
			opt.no_rss = true;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "coda-server: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (opt.addr4 == 0 && !opt.has_addr6) {
		fprintf(stderr, "coda-server: --addr or --addr6 is required\n");
		return -1;
	}
	if (opt.port == 0) {
		fprintf(stderr, "coda-server: --port is required\n");
		return -1;
	}
	return 0;
bad:
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (o->val == c)
			fprintf(stderr, "coda-server: --%s: bad value '%s'\n", o->name, optarg);
	return -1;
}

/* --- workers ------------------------------------------------------------- */

static struct coda_worker *workers[RTE_MAX_LCORE];
static struct mode_ctx ctxs[RTE_MAX_LCORE];
static unsigned int lcores[RTE_MAX_LCORE];
static unsigned int nb_workers;

/* Listen, add the static neighbours: on the worker's thread, before traffic. */
static int
worker_start(struct coda_worker *w, struct mode_ctx *ctx)
{
	struct coda_net *net = coda_worker_net(w);
	int s;

	for (unsigned int i = 0; i < opt.nb_neigh; i++) {
		s = coda_net_neigh_add(net, opt.neigh[i].family, opt.neigh[i].addr,
				       opt.neigh[i].mac.addr_bytes, coda_worker_now(w));
		if (s < 0) {
			fprintf(stderr, "coda-server: --neigh %u: %s\n", i, strerror(-s));
			return s;
		}
	}
	if (opt.addr4 != 0) {
		s = coda_worker_listen(w, AF_INET, &opt.addr4, htons(opt.port), 1024);
		if (s < 0)
			return s;
		ctx->lsock4 = s;
	}
	if (opt.has_addr6) {
		s = coda_worker_listen(w, AF_INET6, opt.addr6, htons(opt.port), 1024);
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
	for (unsigned int i = 0; i < opt.nb_connect; i++) {
		const struct peer *p = &opt.connect[i];
		const void *laddr = p->family == AF_INET ? (const void *)&opt.addr4 : opt.addr6;
		int s;

		if ((p->family == AF_INET && opt.addr4 == 0) ||
		    (p->family == AF_INET6 && !opt.has_addr6)) {
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

/* --- statistics ----------------------------------------------------------- */

struct totals {
	uint64_t rx, tx, opened, est, tw, drops;
};

static void
totals_get(struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < nb_workers; i++) {
		struct coda_worker_snapshot s;

		coda_worker_snapshot(workers[i], &s);
		t->rx += s.worker.rx_packets;
		t->tx += s.worker.tx_packets;
		t->opened += s.tcp.opened_active + s.tcp.opened_passive;
		t->est += s.tcp.states[CODA_TCP_S_ESTABLISHED];
		t->tw += s.tcp.states[CODA_TCP_S_TIME_WAIT];
		t->drops += s.net.rx_dropped + s.net.tx_dropped + s.tcp.rx_dropped +
			    s.worker.rx_too_long + s.worker.rx_handoff_full + s.worker.tx_dropped +
			    s.worker.tx_nombuf;
	}
}

static void
stats_line(const struct totals *now, const struct totals *prev, uint64_t ms)
{
	double sec = (double)ms / 1000.0;

	printf("coda-server: rx %.0f pps, tx %.0f pps, %.0f conn/s, established %" PRIu64
	       ", time-wait %" PRIu64 ", drops %" PRIu64 "\n",
	       (double)(now->rx - prev->rx) / sec, (double)(now->tx - prev->tx) / sec,
	       (double)(now->opened - prev->opened) / sec, now->est, now->tw, now->drops);
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
	struct coda_port_conf pc;
	struct coda_port_info info;
	struct coda_port_link link;
	struct rte_mempool *pool;
	struct totals prev, cur;
	uint64_t tsc_hz, next_stats, last_stats;
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
	if (parse_args(argc, argv) != 0) {
		rte_eal_cleanup();
		return 1;
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
	pc.no_offload = opt.no_offload;
	pc.no_rss = opt.no_rss;
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
		if (opt.msl_ms != 0)
			wc.tcp.msl_ms = opt.msl_ms;
		if (opt.addr4 != 0) {
			wc.net.nb_ip4 = 1;
			wc.net.ip4[0] = opt.addr4;
		}
		if (opt.has_addr6) {
			wc.net.nb_ip6 = 1;
			memcpy(wc.net.ip6[0], opt.addr6, 16);
		}
		if (mode_init(&ctxs[i], opt.mode, wc.tcp.nb_tcb) != 0) {
			fprintf(stderr, "coda-server: out of memory\n");
			ret = -ENOMEM;
			goto out;
		}
		wc.event = mode_event;
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

	printf("coda-server: port %u (%s) mac " RTE_ETHER_ADDR_PRT_FMT
	       ", %u worker(s), rss %s, offloads rx %s tx %s, link %s\n",
	       port_id, info.driver, info.mac[0], info.mac[1], info.mac[2], info.mac[3],
	       info.mac[4], info.mac[5], nb_workers, info.rss ? "hardware" : "software",
	       info.rx_l4_cksum ? "on" : "off", info.tx_l4_cksum ? "on" : "off",
	       link.up ? "up" : "down");
	printf("coda-server: ready\n");
	fflush(stdout);

	for (unsigned int i = 1; i < nb_workers; i++)
		rte_eal_remote_launch(coda_worker_run, workers[i], lcores[i]);
	coda_worker_poll(workers[0]);
	connect_peers(workers[0], &ctxs[0]);

	tsc_hz = rte_get_tsc_hz();
	last_stats = rte_get_tsc_cycles();
	next_stats = last_stats + opt.stats_ms * tsc_hz / 1000;
	totals_get(&prev);
	while (!quit) {
		uint64_t t;

		coda_worker_poll(workers[0]);
		if (opt.stats_ms == 0)
			continue;
		t = rte_get_tsc_cycles();
		if (t < next_stats)
			continue;
		totals_get(&cur);
		stats_line(&cur, &prev, (t - last_stats) * 1000 / tsc_hz);
		prev = cur;
		last_stats = t;
		next_stats = t + opt.stats_ms * tsc_hz / 1000;
	}
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
