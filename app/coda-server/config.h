/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_SERVER_CONFIG_H
#define CODA_SERVER_CONFIG_H

/*
 * coda-server's settings: the options after the EAL's "--" (getopt_long)
 * and the INI file of --config (rte_cfgfile), one table for both
 * (config.c), so that every setting has an option --some-key and a key
 * some_key in its section, [server] or [tcp]. The options override the
 * file. config/server.ini lists every key at its default; docs/server.md
 * documents them.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "coda_tcp.h"
#include "server.h"

#define SERVER_MAX_NEIGH 16
#define SERVER_MAX_CONNECT 16
#define SERVER_PATH_MAX 256

/* --connect: a peer to open a connection to at start. */
struct server_peer {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port; /* network order */
};

/* --neigh: a static ARP/ND entry. */
struct server_neigh {
	uint8_t family;
	uint8_t addr[16];
	struct rte_ether_addr mac;
};

struct server_conf {
	uint32_t addr4; /* network order; 0: none */
	unsigned int len4;
	bool has_addr6;
	uint8_t addr6[16];
	unsigned int len6;
	uint16_t port; /* host order */
	struct server_neigh neigh[SERVER_MAX_NEIGH];
	unsigned int nb_neigh;
	struct server_peer connect[SERVER_MAX_CONNECT];
	unsigned int nb_connect;
	char control[SERVER_PATH_MAX]; /* the control socket's path; "" none */
	uint32_t stats_ms;	       /* live statistics period; 0: none */
	bool no_offload, no_rss;
	struct mode_conf mode;
	struct coda_tcp_conf tcp; /* for every worker's stack */
};

/*
 * Fill @p c: the defaults, then the file of --config if one is given, then
 * the other options of @p argv (what follows the EAL's arguments; argv[0]
 * is the program). A bad option, value, file, section or key is reported
 * on stderr, naming it.
 *
 * @return 0; 1 after --help (the usage is printed); -1 on an error.
 */
int server_conf_parse(struct server_conf *c, int argc, char **argv);

#endif /* CODA_SERVER_CONFIG_H */
