/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry.c: the /coda/... commands of rte_telemetry (DESIGN.md §7).
 *
 * They run on DPDK's telemetry thread. Counters come from each worker's
 * snapshot (coda_worker_snapshot(): a sequence lock, no stop of the
 * worker); /coda/conn, which needs the worker's table, runs a lookup on
 * the owning worker through coda_worker_call(). Dictionary keys use only
 * letters, digits and '_' (state names: "FIN_WAIT_2").
 *
 * Every command takes an optional worker index ("/coda/stats,1"); without
 * it the figures are summed over all workers.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "worker_private.h"

/* How long /coda/conn waits for the owning worker. */
#define CONN_TIMEOUT_MS 500

static struct coda_worker *const *tel_workers;
static unsigned int tel_nb;

/* The workers a command covers: [*lo, *hi). -EINVAL for a bad index. */
static int
tel_range(const char *params, unsigned int *lo, unsigned int *hi)
{
	char *end;
	unsigned long i;

	*lo = 0;
	*hi = tel_nb;
	if (params == NULL || *params == '\0')
		return 0;
	errno = 0;
	i = strtoul(params, &end, 10);
	if (errno != 0 || *end != '\0' || i >= tel_nb)
		return -EINVAL;
	*lo = (unsigned int)i;
	*hi = (unsigned int)i + 1;
	return 0;
}

#define ADD(d, name, v) rte_tel_data_add_dict_u64(d, name, v)

/* What every counter command starts with: its workers' summed snapshot, an empty dictionary. */
static int
tel_begin(const char *params, struct rte_tel_data *d, union worker_snap *s, unsigned int *nb)
{
	unsigned int lo, hi;

	if (tel_range(params, &lo, &hi) != 0)
		return -EINVAL;
	coda_worker_snapshot_sum(tel_workers + lo, hi - lo, &s->s);
	rte_tel_data_start_dict(d);
	if (nb != NULL)
		*nb = hi - lo;
	return 0;
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct coda_worker_stats *w;
	const struct coda_tcp_stats *t;
	const struct coda_net_stats *n;
	union worker_snap s;
	unsigned int nb;

	(void)cmd;
	if (tel_begin(params, d, &s, &nb) != 0)
		return -EINVAL;
	w = &s.s.worker;
	t = &s.s.tcp;
	n = &s.s.net;
	ADD(d, "workers", nb);
	ADD(d, "rx_packets", w->rx_packets);
	ADD(d, "rx_bursts", w->rx_bursts);
	ADD(d, "rx_inbox", w->rx_inbox);
	ADD(d, "rx_learn", w->rx_learn);
	ADD(d, "rx_handoff", w->rx_handoff);
	ADD(d, "tx_packets", w->tx_packets);
	ADD(d, "tx_dropped", w->tx_dropped);
	ADD(d, "tx_nombuf", w->tx_nombuf);
	ADD(d, "mbufs_in_use", s.s.mbufs_in_use);
	ADD(d, "net_rx_frames", n->rx_frames);
	ADD(d, "net_rx_tcp", n->rx_tcp);
	ADD(d, "net_rx_arp", n->rx_arp);
	ADD(d, "net_rx_icmp", n->rx_icmp);
	ADD(d, "net_rx_dropped", n->rx_dropped);
	ADD(d, "net_tx_frames", n->tx_frames);
	ADD(d, "net_tx_arp_request", n->tx_arp_request);
	ADD(d, "net_tx_arp_reply", n->tx_arp_reply);
	ADD(d, "net_tx_ns", n->tx_ns);
	ADD(d, "net_tx_na", n->tx_na);
	ADD(d, "net_tx_echo_reply", n->tx_echo_reply);
	ADD(d, "net_tx_dropped", n->tx_dropped);
	ADD(d, "tcp_rx_segments", t->rx_segments);
	ADD(d, "tcp_rx_dropped", t->rx_dropped);
	ADD(d, "tcp_tx_segments", t->tx_segments);
	ADD(d, "tcp_tx_rst", t->tx_rst);
	ADD(d, "tcp_tx_challenge_ack", t->tx_challenge_ack);
	ADD(d, "tcp_challenge_ack_limited", t->challenge_ack_limited);
	ADD(d, "tcp_retransmits", t->retransmits);
	ADD(d, "tcp_opened_active", t->opened_active);
	ADD(d, "tcp_opened_passive", t->opened_passive);
	for (int r = CODA_TCP_CLOSE_NORMAL; r <= CODA_TCP_CLOSE_ABORTED; r++) {
		char name[64];

		snprintf(name, sizeof(name), "tcp_closed_%s", coda_tcp_close_reason_name(r));
		ADD(d, name, t->closed[r]);
	}
	ADD(d, "tcp_established", t->states[CODA_TCP_S_ESTABLISHED]);
	ADD(d, "tcp_time_wait", t->states[CODA_TCP_S_TIME_WAIT]);
	return 0;
}

/* "FIN-WAIT-2" → "FIN_WAIT_2". */
static void
key_name(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = src[i] == '-' ? '_' : src[i];
	dst[i] = '\0';
}

static int
tel_states(const char *cmd, const char *params, struct rte_tel_data *d)
{
	union worker_snap s;

	(void)cmd;
	if (tel_begin(params, d, &s, NULL) != 0)
		return -EINVAL;
	for (int i = 0; i < CODA_TCP_S__COUNT; i++) {
		char name[32];

		key_name(name, sizeof(name), coda_tcp_state_name(i));
		ADD(d, name, s.s.tcp.states[i]);
	}
	return 0;
}

static int
tel_tw(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct coda_conntab_stats *c;
	union worker_snap s;

	(void)cmd;
	if (tel_begin(params, d, &s, NULL) != 0)
		return -EINVAL;
	c = &s.s.conntab;
	ADD(d, "capacity", s.s.tw_capacity);
	ADD(d, "occupancy", c->entries_tw);
	ADD(d, "entered", c->tw_entered);
	ADD(d, "expired", c->tw_expired);
	ADD(d, "recycled", c->tw_recycled);
	ADD(d, "overflow", c->tw_skipped);
	ADD(d, "removed", c->tw_removed);
	ADD(d, "reopened", s.s.tcp.tw_reopened);
	ADD(d, "acks", s.s.tcp.tw_acks);
	ADD(d, "bytes", c->tw_bytes);
	return 0;
}

static int
tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	union worker_snap s;
	char name[96];

	(void)cmd;
	if (tel_begin(params, d, &s, NULL) != 0)
		return -EINVAL;
	ADD(d, "worker_rx_too_long", s.s.worker.rx_too_long);
	ADD(d, "worker_rx_handoff_full", s.s.worker.rx_handoff_full);
	ADD(d, "worker_tx_dropped", s.s.worker.tx_dropped);
	ADD(d, "worker_tx_nombuf", s.s.worker.tx_nombuf);
	for (int r = 1; r < CODA_NET_DROP__COUNT; r++) {
		snprintf(name, sizeof(name), "net_%s", coda_net_drop_name(r));
		ADD(d, name, s.s.net.drops[r]);
	}
	/* From 1: reason 0 is "none". */
	for (unsigned int i = 1; coda_tcp_drop_name(i) != NULL && i < RTE_DIM(s.s.tcp.drops); i++) {
		snprintf(name, sizeof(name), "tcp_%s", coda_tcp_drop_name(i));
		ADD(d, name, s.s.tcp.drops[i]);
	}
	return 0;
}

/* A lookup run on the owning worker. */
struct conn_query {
	struct coda_conntab_key key;
	enum coda_tcp_state state;
	uint64_t tw_left_ms;
};

static int
conn_lookup(struct coda_worker *w, void *arg)
{
	struct conn_query *q = arg;

	q->state = coda_tcp_lookup(coda_worker_tcp(w), &q->key, coda_worker_now(w), &q->tw_left_ms);
	return 0;
}

static int
parse_addr(const char *s, struct coda_conntab_key *k, uint8_t *addr)
{
	uint8_t family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;

	if (k->family != 0 && k->family != family)
		return -EINVAL;
	k->family = family;
	return inet_pton(family, s, addr) == 1 ? 0 : -EINVAL;
}

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 65535 || !isdigit((unsigned char)*s))
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}

/* "/coda/conn,LADDR,LPORT,RADDR,RPORT": one connection, from coda's side. */
static int
tel_conn(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct conn_query q;
	char buf[256], *f[4], *save = NULL;
	unsigned int n = 0;
	uint16_t owner;
	int ret;

	(void)cmd;
	if (params == NULL || strlen(params) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, params);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (n == RTE_DIM(f))
			return -EINVAL;
		f[n++] = t;
	}
	memset(&q, 0, sizeof(q));
	if (n != 4 || parse_addr(f[0], &q.key, q.key.laddr) != 0 ||
	    parse_port(f[1], &q.key.lport) != 0 || parse_addr(f[2], &q.key, q.key.raddr) != 0 ||
	    parse_port(f[3], &q.key.rport) != 0)
		return -EINVAL;
	owner = coda_port_rss_queue(&tel_workers[0]->port, &q.key);
	if (owner >= tel_nb)
		return -EINVAL;
	ret = coda_worker_call(tel_workers[owner], conn_lookup, &q, CONN_TIMEOUT_MS);
	if (ret < 0)
		return ret;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "state", coda_tcp_state_name(q.state));
	ADD(d, "worker", owner);
	if (q.state == CODA_TCP_S_TIME_WAIT)
		ADD(d, "expires_in_ms", q.tw_left_ms);
	return 0;
}

int
coda_worker_telemetry(struct coda_worker *const *all, unsigned int n)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{"/coda/stats", tel_stats,
		 "Packet, connection and mbuf counters, summed or of one worker. Parameter: worker index (optional)"},
		{"/coda/states", tel_states,
		 "Connections in each TCP state. Parameter: worker index (optional)"},
		{"/coda/tw", tel_tw,
		 "TIME-WAIT capacity, occupancy, expired, recycled, overflow. Parameter: worker index (optional)"},
		{"/coda/drops", tel_drops,
		 "Every drop counter by reason. Parameter: worker index (optional)"},
		{"/coda/conn", tel_conn,
		 "State of one connection. Parameters: LADDR,LPORT,RADDR,RPORT (coda's side first)"},
	};
	int ret;

	if (tel_workers != NULL)
		return -EALREADY;
	if (n == 0 || all == NULL)
		return -EINVAL;
	tel_workers = all;
	tel_nb = n;
	for (size_t i = 0; i < RTE_DIM(cmds); i++) {
		ret = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help);
		if (ret != 0)
			return ret;
	}
	return 0;
}
