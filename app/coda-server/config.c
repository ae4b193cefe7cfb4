/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c: coda-server's settings from the command line and an INI file.
 *
 * One table, settings[], describes every setting once: its INI section and
 * key, where it goes in struct server_conf, its type and range, and its
 * help line. The option is the key with '-' for '_' (msl_ms: --msl-ms).
 * Types: unsigned integers with a range, booleans (on|off, true|false,
 * yes|no, 1|0), and the rest through a parse function of their own
 * (addresses, mode, neighbours, peers, paths, the TIME-WAIT overflow
 * policy). Lists (neigh, connect) take one value per option, and in the
 * file several values on a line or the key repeated.
 *
 * Order: the defaults (coda_tcp_conf_default() for [tcp]), then the file
 * of --config, then the options in the order given, so the command line
 * overrides the file; a list given on the command line replaces the
 * file's. Then the checks that involve several settings. In the file, an
 * unknown section or key, a key given twice (lists aside) or a bad value
 * is an error naming the file, the section and the key.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>
#include <rte_common.h>
#include <rte_ether.h>

#include "coda_conntab.h"
#include "config.h"

#define PROG "coda-server"

enum kind {
	K_U16,
	K_U32,
	K_U64,
	K_BOOL,
	K_FN, /* parse() */
};

struct setting {
	const char *key;     /* INI key; the option is --key with '-' for '_' */
	const char *section; /* "server" or "tcp" */
	enum kind kind;
	size_t off;	     /* in struct server_conf (K_FN: unused) */
	uint64_t min, max;   /* integers: the range */
	/* K_FN: @return 0, -1 bad value, -E2BIG a list is full. */
	int (*parse)(struct server_conf *c, const char *v);
	void (*reset)(struct server_conf *c); /* lists: forget every entry */
	const char *arg;		      /* in the usage: "N", "on|off", ... */
	const char *help;		      /* K_FN: with its default */
};

/* --- parsing values ----------------------------------------------------------- */

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1; /* no sign, no space, not empty */
	errno = 0;
	*v = strtoull(s, &end, 10);
	return (errno != 0 || *end != '\0' || *v < min || *v > max) ? -1 : 0;
}

static int
parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};

	for (size_t i = 0; i < RTE_DIM(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

/* "A.B.C.D/LEN" or "ADDR/LEN". */
static int
parse_prefix(const char *s, int family, void *addr, unsigned int *len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	uint64_t l;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(family, buf, addr) != 1 ||
	    parse_u64(slash + 1, 0, family == AF_INET ? 32 : 128, &l) != 0)
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

static int
set_addr(struct server_conf *c, const char *v)
{
	uint32_t a;

	if (*v == '\0') {
		c->addr4 = 0; /* the file may say "none" */
		return 0;
	}
	if (parse_prefix(v, AF_INET, &a, &c->len4) != 0 || a == 0)
		return -1;
	c->addr4 = a;
	return 0;
}

static int
set_addr6(struct server_conf *c, const char *v)
{
	c->has_addr6 = false;
	if (*v == '\0')
		return 0;
	if (parse_prefix(v, AF_INET6, c->addr6, &c->len6) != 0)
		return -1;
	c->has_addr6 = true;
	return 0;
}

static int
set_mode(struct server_conf *c, const char *v)
{
	static const enum server_mode modes[] = {MODE_ECHO, MODE_DISCARD, MODE_SINK, MODE_HTTP};

	for (size_t i = 0; i < RTE_DIM(modes); i++)
		if (strcmp(v, mode_name(modes[i])) == 0) {
			c->mode.mode = modes[i];
			return 0;
		}
	return -1;
}

/* "IP=MAC". */
static int
set_neigh(struct server_conf *c, const char *v)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *eq = strchr(v, '=');
	struct server_neigh *n = &c->neigh[c->nb_neigh];

	if (c->nb_neigh == SERVER_MAX_NEIGH)
		return -E2BIG;
	if (eq == NULL || (size_t)(eq - v) >= sizeof(buf))
		return -1;
	memcpy(buf, v, (size_t)(eq - v));
	buf[eq - v] = '\0';
	if (parse_ip(buf, &n->family, n->addr) != 0 ||
	    rte_ether_unformat_addr(eq + 1, &n->mac) != 0)
		return -1;
	c->nb_neigh++;
	return 0;
}

static void
reset_neigh(struct server_conf *c)
{
	c->nb_neigh = 0;
}

/* "A.B.C.D:PORT" or "[ADDR]:PORT". */
static int
set_connect(struct server_conf *c, const char *v)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(v, ':');
	const char *a = v, *e = colon;
	struct server_peer *p = &c->connect[c->nb_connect];
	uint64_t port;

	if (c->nb_connect == SERVER_MAX_CONNECT)
		return -E2BIG;
	if (colon == NULL)
		return -1;
	if (*v == '[') {
		a = v + 1;
		if (colon == v || colon[-1] != ']')
			return -1;
		e = colon - 1;
	}
	if (e <= a || (size_t)(e - a) >= sizeof(buf))
		return -1;
	memcpy(buf, a, (size_t)(e - a));
	buf[e - a] = '\0';
	if (parse_ip(buf, &p->family, p->addr) != 0 || parse_u64(colon + 1, 1, 65535, &port) != 0)
		return -1;
	p->port = htons((uint16_t)port);
	c->nb_connect++;
	return 0;
}

static void
reset_connect(struct server_conf *c)
{
	c->nb_connect = 0;
}

static int
set_control(struct server_conf *c, const char *v)
{
	if (strlen(v) >= sizeof(c->control))
		return -1;
	strcpy(c->control, v);
	return 0;
}

static int
set_offload(struct server_conf *c, const char *v)
{
	bool b;

	if (parse_bool(v, &b) != 0)
		return -1;
	c->no_offload = !b;
	return 0;
}

static int
set_rss(struct server_conf *c, const char *v)
{
	bool b;

	if (parse_bool(v, &b) != 0)
		return -1;
	c->no_rss = !b;
	return 0;
}

static int
set_tw_overflow(struct server_conf *c, const char *v)
{
	if (strcmp(v, "recycle") == 0)
		c->tcp.tw_policy = CODA_CONNTAB_TW_RECYCLE;
	else if (strcmp(v, "skip") == 0)
		c->tcp.tw_policy = CODA_CONNTAB_TW_SKIP;
	else
		return -1;
	return 0;
}

/* --- the settings ----------------------------------------------------------------- */

/* Milliseconds and counts that the stack keeps in 32 bits and doubles at most. */
#define MS_MAX (UINT32_MAX / 2)
/* Sockets: below lib/conntab's 2^29 TCB entries and lib/wheel's 2^31 timers (5 a socket). */
#define SOCKETS_MAX (UINT32_C(1) << 28)

#define SRV_INT(k, f, kind, lo, hi, arg, help)                                                    \
	{k, "server", kind, offsetof(struct server_conf, f), lo, hi, NULL, NULL, arg, help}
#define SRV_FN(k, fn, reset, arg, help) {k, "server", K_FN, 0, 0, 0, fn, reset, arg, help}
#define TCP_INT(k, f, lo, hi, help)                                                               \
	{k, "tcp", K_U32, offsetof(struct server_conf, tcp.f), lo, hi, NULL, NULL, "N", help}
#define TCP_BOOL(k, f, help)                                                                      \
	{k, "tcp", K_BOOL, offsetof(struct server_conf, tcp.f), 0, 0, NULL, NULL, "on|off", help}

static const struct setting settings[] = {
	SRV_FN("addr", set_addr, NULL, "A.B.C.D/LEN",
	       "our IPv4 address and prefix length (every peer is on link)"),
	SRV_FN("addr6", set_addr6, NULL, "ADDR/LEN", "our IPv6 address and prefix length"),
	SRV_INT("port", port, K_U16, 1, 65535, "P", "TCP port to listen on (required)"),
	SRV_FN("mode", set_mode, NULL, "MODE",
	       "echo | discard | sink | http: what is done with a connection [echo]"),
	SRV_FN("neigh", set_neigh, reset_neigh, "IP=MAC",
	       "a static ARP/ND entry (repeatable, at most 16)"),
	SRV_FN("connect", set_connect, reset_connect, "IP:PORT",
	       "open a connection at start ([ADDR]:PORT for IPv6), served in the mode "
	       "(repeatable, at most 16)"),
	SRV_FN("control", set_control, NULL, "PATH",
	       "the control socket (DESIGN.md section 8) on this Unix socket path [none]"),
	SRV_INT("stats_ms", stats_ms, K_U32, 0, UINT32_MAX, "N",
		"live statistics period in ms, 0 for none"),
	SRV_FN("offload", set_offload, NULL, "on|off",
	       "checksum offloads when the NIC has them (--no-offload: off) [on]"),
	SRV_FN("rss", set_rss, NULL, "on|off",
	       "the NIC's RSS when it has it; off: software flow placement (--no-rss) [on]"),
	SRV_INT("close_after", mode.close_after, K_U64, 0, UINT64_MAX, "BYTES",
		"echo, discard: the server closes first after echoing (reading) this many bytes "
		"of a connection; 0: never"),
	SRV_INT("http_body", mode.http_body, K_U64, 0, UINT64_C(1) << 40, "BYTES",
		"http: body bytes of every response"),
	SRV_INT("http_max_request", mode.http_max_request, K_U32, 256, 1u << 20, "BYTES",
		"http: longest request head (request line and header fields); longer: 400"),
	SRV_INT("http_keepalive", mode.http_keepalive, K_BOOL, 0, 0, "on|off",
		"http: persistent connections; off: close after every response"),

	{"sockets", "tcp", K_U32, offsetof(struct server_conf, tcp.nb_tcb), 1, SOCKETS_MAX, NULL,
	 NULL, "N", "sockets (connections and listeners) per worker"},
	TCP_INT("tw_capacity", nb_tw, 0, CODA_CONNTAB_MAX_ENTRIES / 2,
		"IPv4 TIME-WAIT entries per worker (see tw_overflow)"),
	TCP_INT("tw6_capacity", nb_tw6, 0, CODA_CONNTAB_MAX_ENTRIES / 2,
		"IPv6 TIME-WAIT entries per worker"),
	{"tw_overflow", "tcp", K_FN, 0, 0, 0, set_tw_overflow, NULL, "recycle|skip",
	 "a full TIME-WAIT store: recycle the entry closest to expiry, or skip TIME-WAIT for "
	 "the new one (both counted) [recycle]"},
	TCP_INT("msl_ms", msl_ms, 1, MS_MAX, "MSL in ms; TIME-WAIT lasts 2 MSL"),
	TCP_INT("fin_wait2_timeout_ms", fin_wait2_timeout_ms, 1, MS_MAX,
		"lifetime of an orphaned FIN-WAIT-2 connection"),
	TCP_INT("rto_min_ms", rto_min_ms, 1, MS_MAX,
		"least retransmission timeout (the initial and largest follow it up if not set)"),
	TCP_INT("rto_initial_ms", rto_initial_ms, 1, MS_MAX,
		"retransmission timeout before an RTT sample (RFC 6298)"),
	TCP_INT("rto_max_ms", rto_max_ms, 1, MS_MAX, "largest backed-off retransmission timeout"),
	TCP_INT("user_timeout_ms", user_timeout_ms, 1, MS_MAX,
		"give a connection up when a segment stays unacknowledged this long"),
	TCP_INT("syn_timeout_ms", syn_timeout_ms, 1, MS_MAX,
		"give an opening connection up after this long"),
	TCP_INT("delayed_ack_ms", delayed_ack_ms, 0, MS_MAX, "delayed ACK; 0: ACK at once"),
	TCP_INT("keepalive_ms", keepalive_ms, 0, MS_MAX,
		"keepalive probes after this long idle; 0: off"),
	TCP_INT("keepalive_intvl_ms", keepalive_intvl_ms, 1, MS_MAX,
		"between unanswered keepalive probes"),
	TCP_INT("keepalive_probes", keepalive_probes, 1, MS_MAX,
		"unanswered keepalive probes before the connection times out"),
	TCP_INT("challenge_ack_interval_ms", challenge_ack_interval_ms, 0, MS_MAX,
		"RFC 5961 challenge ACKs: at most one per connection per this"),
	TCP_INT("challenge_ack_per_s", challenge_ack_per_s, 0, MS_MAX,
		"... and at most this many a second per worker; 0: no global cap"),
	TCP_INT("rcv_buf", rcv_buf, 64, 1u << 30, "receive buffer per connection, bytes"),
	TCP_INT("snd_buf", snd_buf, 64, 1u << 30, "send buffer per connection, bytes"),
	{"mss", "tcp", K_U16, offsetof(struct server_conf, tcp.mss), 64, 65535, NULL, NULL, "N",
	 "MSS announced and used at most (IPv4; IPv6 20 bytes less)"},
	TCP_BOOL("rfc1337", rfc1337, "ignore RST in TIME-WAIT (RFC 1337)"),
	TCP_BOOL("tw_reopen", tw_reopen, "accept a SYN that may reopen from TIME-WAIT"),
	TCP_BOOL("rst_on_unread_close", rst_on_unread_close,
		 "close() with unread data sends RST (RFC 1122 4.2.2.13)"),
	TCP_BOOL("timestamps", timestamps, "RFC 7323 timestamps"),
	TCP_BOOL("window_scaling", window_scaling, "RFC 7323 window scaling"),
	TCP_BOOL("sack", sack, "offer and accept SACK-permitted"),
	TCP_BOOL("tw_syn_challenge_ack", tw_syn_challenge_ack,
		 "a SYN refused in TIME-WAIT gets a challenge ACK; off: dropped"),
	TCP_BOOL("user_timeout_rst", user_timeout_rst, "send RST when the user timeout gives up"),
	TCP_BOOL("last_ack_dup_ack_reply", last_ack_dup_ack_reply,
		 "answer a duplicate ACK in LAST-ACK (rate limited)"),
	TCP_BOOL("shut_rd_data_rst", shut_rd_data_rst,
		 "data after shutdown(RD) resets the connection; off: ACKed and dropped"),
	TCP_BOOL("accept_at_window_edge", accept_at_window_edge,
		 "accept a segment without data at RCV.NXT+RCV.WND"),
	TCP_BOOL("zero_window_fin", zero_window_fin, "accept a bare FIN with a zero window"),
	TCP_BOOL("rst_flushes_rcv", rst_flushes_rcv, "an RST discards data not read yet"),
};

#define NB_SETTINGS RTE_DIM(settings)

/* Options that are no setting of their own. */
enum {
	OPT_HELP = 'h',
	OPT_CONFIG = 'C',
	OPT_NO_OFFLOAD = 'O',
	OPT_NO_RSS = 'R',
	OPT_SETTING = 256, /* + index in settings[] */
};

static const struct setting *
setting_find(const char *section, const char *key)
{
	for (size_t i = 0; i < NB_SETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0 &&
		    (section == NULL || strcmp(settings[i].section, section) == 0))
			return &settings[i];
	return NULL;
}

/* --key for @p key. */
static const char *
option_name(const char *key, char *buf, size_t n)
{
	size_t i;

	for (i = 0; key[i] != '\0' && i + 1 < n; i++)
		buf[i] = key[i] == '_' ? '-' : key[i];
	buf[i] = '\0';
	return buf;
}

/* What a value of @p s must be, for messages. */
static void
expected(const struct setting *s, char *buf, size_t n)
{
	switch (s->kind) {
	case K_BOOL:
		snprintf(buf, n, "on or off");
		break;
	case K_FN:
		snprintf(buf, n, "%s", s->arg);
		break;
	default:
		snprintf(buf, n, "an integer from %" PRIu64 " to %" PRIu64, s->min, s->max);
		break;
	}
}

/* The value of a non-K_FN setting in @p c, as text. */
static void
format_value(const struct setting *s, const struct server_conf *c, char *buf, size_t n)
{
	const char *p = (const char *)c + s->off;

	switch (s->kind) {
	case K_U16:
		snprintf(buf, n, "%u", *(const uint16_t *)(const void *)p);
		break;
	case K_U32:
		snprintf(buf, n, "%" PRIu32, *(const uint32_t *)(const void *)p);
		break;
	case K_U64:
		snprintf(buf, n, "%" PRIu64, *(const uint64_t *)(const void *)p);
		break;
	case K_BOOL:
		snprintf(buf, n, "%s", *(const bool *)p ? "on" : "off");
		break;
	case K_FN:
		buf[0] = '\0';
		break;
	}
}

/*
 * Set @p s from text @p v; @p where names the source for messages
 * ("--msl-ms", "FILE: [tcp] msl_ms"). @return 0 or -1 (reported).
 */
static int
setting_apply(struct server_conf *c, const struct setting *s, const char *v, const char *where)
{
	char *p = (char *)c + s->off;
	char exp[160];
	uint64_t x;
	bool b;
	int r = 0;

	switch (s->kind) {
	case K_U16:
	case K_U32:
	case K_U64:
		r = parse_u64(v, s->min, s->max, &x);
		if (r != 0)
			break;
		if (s->kind == K_U16)
			*(uint16_t *)(void *)p = (uint16_t)x;
		else if (s->kind == K_U32)
			*(uint32_t *)(void *)p = (uint32_t)x;
		else
			*(uint64_t *)(void *)p = x;
		break;
	case K_BOOL:
		r = parse_bool(v, &b);
		if (r == 0)
			*(bool *)p = b;
		break;
	case K_FN:
		r = s->parse(c, v);
		break;
	}
	if (r == -E2BIG) {
		fprintf(stderr, PROG ": %s: too many entries ('%s' is one too many)\n", where, v);
		return -1;
	}
	if (r != 0) {
		expected(s, exp, sizeof(exp));
		fprintf(stderr, PROG ": %s: bad value '%s' (expected %s)\n", where, v, exp);
		return -1;
	}
	return 0;
}

/* The defaults (config/server.ini lists them). */
static void
conf_default(struct server_conf *c)
{
	memset(c, 0, sizeof(*c));
	coda_tcp_conf_default(&c->tcp);
	c->stats_ms = 1000;
	c->mode.mode = MODE_ECHO;
	c->mode.http_body = 64;
	c->mode.http_max_request = 8192;
	c->mode.http_keepalive = true;
}

static void
usage(const char *prog)
{
	struct server_conf d;
	char opt[64], val[32];

	conf_default(&d);
	fprintf(stderr,
		"usage: %s [EAL options] -- [--config FILE] --addr A.B.C.D/LEN [--addr6 ADDR/LEN]\n"
		"       --port P [options]\n"
		"  --config FILE        read settings from an INI file (config/server.ini);\n"
		"                       the options below override it\n"
		"  --no-offload         same as --offload off\n"
		"  --no-rss             same as --rss off\n"
		"  --help               this text\n",
		prog);
	for (size_t i = 0; i < NB_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		char left[96];

		if (i == 0 || strcmp(s->section, settings[i - 1].section) != 0)
			fprintf(stderr, "[%s]\n", s->section);
		snprintf(left, sizeof(left), "--%s %s", option_name(s->key, opt, sizeof(opt)),
			 s->arg);
		format_value(s, &d, val, sizeof(val));
		if (s->kind == K_FN || strcmp(s->key, "port") == 0)
			fprintf(stderr, "  %-30s %s\n", left, s->help);
		else
			fprintf(stderr, "  %-30s %s [%s]\n", left, s->help, val);
	}
	fprintf(stderr, "Every option is also a key of the INI file: --msl-ms N is msl_ms = N "
			"in [tcp].\n");
}

/* --- the INI file ------------------------------------------------------------------- */

/*
 * Check the lines of @p f the way rte_cfgfile_load() reads them, for what
 * it would skip or refuse without a word: a line that is neither a
 * [section] nor key = value (a typo such as "msl_ms 100" would be
 * ignored), a key before any section, a key or value it would truncate.
 * @return 0, or -1 with the line named.
 */
static int
lint_file(FILE *f, const char *path)
{
	char line[CFG_NAME_LEN + CFG_VALUE_LEN + 4];
	bool section = false;
	int no = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		char *p = line, *semi, *eq;

		no++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			fprintf(stderr, PROG ": %s:%d: line longer than %zu characters\n", path, no,
				sizeof(line) - 2);
			return -1;
		}
		/* A comment runs from ';' (not "\;") to the end of the line. */
		semi = strchr(line, ';');
		if (semi != NULL && (semi == line || semi[-1] != '\\'))
			*semi = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' ||
				   p[len - 1] == '\r'))
			p[--len] = '\0';
		if (len == 0)
			continue;
		if (*p == '[') {
			section = true; /* rte_cfgfile checks the ']' */
			continue;
		}
		eq = strchr(p, '=');
		if (eq == NULL || eq == p) {
			fprintf(stderr, PROG ": %s:%d: '%s' is not [section] or key = value%s\n",
				path, no, p, *p == '#' ? " (comments start with ';')" : "");
			return -1;
		}
		if (!section) {
			fprintf(stderr, PROG ": %s:%d: '%s' comes before any [section]\n", path, no,
				p);
			return -1;
		}
		if ((size_t)(eq - p) >= CFG_NAME_LEN || strlen(eq + 1) >= CFG_VALUE_LEN) {
			fprintf(stderr,
				PROG ": %s:%d: key or value too long (at most %d, %d characters)\n",
				path, no, CFG_NAME_LEN - 1, CFG_VALUE_LEN - 1);
			return -1;
		}
	}
	return 0;
}

/* Apply --config @p path. @p in_file: settings the file set (out). @return 0 or -1. */
static int
load_file(struct server_conf *c, const char *path, bool *in_file)
{
	struct rte_cfgfile *cf;
	struct rte_cfgfile_entry *e = NULL;
	char where[CFG_NAME_LEN * 2 + SERVER_PATH_MAX + 16];
	int nsec, ret = -1;
	FILE *f;

	/* rte_cfgfile says nothing of why it could not open a file: we do. */
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, PROG ": --config %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = lint_file(f, path);
	fclose(f);
	if (ret != 0)
		return -1;
	ret = -1;
	cf = rte_cfgfile_load(path, CFG_FLAG_EMPTY_VALUES);
	if (cf == NULL) {
		fprintf(stderr, PROG ": --config %s: not a valid INI file (see above)\n", path);
		return -1;
	}
	nsec = rte_cfgfile_num_sections(cf, "", 0);
	for (int i = 0; i < nsec; i++) {
		char sec[CFG_NAME_LEN];
		int n = rte_cfgfile_section_num_entries_by_index(cf, sec, i);

		if (strcmp(sec, "server") != 0 && strcmp(sec, "tcp") != 0) {
			fprintf(stderr,
				PROG ": %s: unknown section [%s] (sections: [server], [tcp])\n",
				path, sec);
			goto out;
		}
		if (n <= 0)
			continue;
		free(e);
		e = calloc((size_t)n, sizeof(*e));
		if (e == NULL || rte_cfgfile_section_entries_by_index(cf, i, sec, e, n) != n) {
			fprintf(stderr, PROG ": %s: cannot read section [%s]\n", path, sec);
			goto out;
		}
		for (int j = 0; j < n; j++) {
			const struct setting *s = setting_find(sec, e[j].name);
			size_t k;

			if (s == NULL) {
				s = setting_find(NULL, e[j].name);
				fprintf(stderr,
					PROG ": %s: unknown key '%s' in section [%s]%s%s%s\n",
					path, e[j].name, sec, s != NULL ? " (it belongs in [" : "",
					s != NULL ? s->section : "", s != NULL ? "])" : "");
				goto out;
			}
			k = (size_t)(s - settings);
			snprintf(where, sizeof(where), "%s: [%s] %s", path, sec, s->key);
			if (in_file[k] && s->reset == NULL) {
				fprintf(stderr, PROG ": %s: given twice\n", where);
				goto out;
			}
			in_file[k] = true;
			if (s->reset != NULL) {
				/* A list: values separated by spaces (or the key repeated). */
				char *save = NULL, *tok;

				for (tok = strtok_r(e[j].value, " \t", &save); tok != NULL;
				     tok = strtok_r(NULL, " \t", &save))
					if (setting_apply(c, s, tok, where) != 0)
						goto out;
			} else if (setting_apply(c, s, e[j].value, where) != 0) {
				goto out;
			}
		}
	}
	ret = 0;
out:
	free(e);
	rte_cfgfile_close(cf);
	return ret;
}

/* --- checks across settings ------------------------------------------------------- */

static bool
was_set(const bool *set, const char *key)
{
	const struct setting *s = setting_find(NULL, key);

	return s != NULL && set[s - settings];
}

static int
check(struct server_conf *c, const bool *set)
{
	struct coda_tcp_conf *t = &c->tcp;

	if (c->addr4 == 0 && !c->has_addr6) {
		fprintf(stderr, PROG ": --addr or --addr6 (addr, addr6 in [server]) is required\n");
		return -1;
	}
	if (c->port == 0) {
		fprintf(stderr, PROG ": --port (port in [server]) is required\n");
		return -1;
	}
	if (c->mode.close_after != 0 && c->mode.mode != MODE_ECHO &&
	    c->mode.mode != MODE_DISCARD) {
		fprintf(stderr, PROG ": --close-after: only for --mode echo or discard (not %s)\n",
			mode_name(c->mode.mode));
		return -1;
	}
	/* A higher minimum RTO carries the initial and largest ones up, unless they were set. */
	if (t->rto_initial_ms < t->rto_min_ms && !was_set(set, "rto_initial_ms"))
		t->rto_initial_ms = t->rto_min_ms;
	if (t->rto_max_ms < t->rto_initial_ms && !was_set(set, "rto_max_ms"))
		t->rto_max_ms = t->rto_initial_ms;
	if (t->rto_initial_ms < t->rto_min_ms || t->rto_max_ms < t->rto_initial_ms) {
		fprintf(stderr,
			PROG ": rto_min_ms %" PRIu32 " <= rto_initial_ms %" PRIu32
			" <= rto_max_ms %" PRIu32 " does not hold\n",
			t->rto_min_ms, t->rto_initial_ms, t->rto_max_ms);
		return -1;
	}
	if (t->rcv_buf < t->mss || t->snd_buf < t->mss) {
		fprintf(stderr,
			PROG ": rcv_buf %" PRIu32 " and snd_buf %" PRIu32
			" must be at least the mss %u\n",
			t->rcv_buf, t->snd_buf, t->mss);
		return -1;
	}
	if ((uint64_t)t->nb_tcb + t->nb_tw + t->nb_tw6 > CODA_CONNTAB_MAX_ENTRIES) {
		fprintf(stderr,
			PROG ": sockets + tw_capacity + tw6_capacity is above %" PRIu32
			" (the connection table's limit)\n",
			CODA_CONNTAB_MAX_ENTRIES);
		return -1;
	}
	return 0;
}

/* --- the command line ------------------------------------------------------------- */

int
server_conf_parse(struct server_conf *c, int argc, char **argv)
{
	/* Every setting's option, then the others (static: getopt_long() keeps the names). */
	static char names[NB_SETTINGS][CFG_NAME_LEN];
	struct option longopts[NB_SETTINGS + 5];
	bool in_file[NB_SETTINGS] = {false}, set[NB_SETTINGS] = {false};
	bool cli_list[NB_SETTINGS] = {false};
	struct {
		int opt;
		const char *arg;
	} *given;
	unsigned int nb_given = 0;
	const char *config = NULL;
	int opt, ret = -1;

	conf_default(c);
	for (size_t i = 0; i < NB_SETTINGS; i++) {
		option_name(settings[i].key, names[i], sizeof(names[i]));
		longopts[i] = (struct option){names[i], required_argument, NULL,
					      OPT_SETTING + (int)i};
	}
	longopts[NB_SETTINGS + 0] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	longopts[NB_SETTINGS + 1] = (struct option){"no-offload", no_argument, NULL,
						    OPT_NO_OFFLOAD};
	longopts[NB_SETTINGS + 2] = (struct option){"no-rss", no_argument, NULL, OPT_NO_RSS};
	longopts[NB_SETTINGS + 3] = (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[NB_SETTINGS + 4] = (struct option){NULL, 0, NULL, 0};

	/* The options are applied after the file: collected first, in order. */
	given = calloc((size_t)argc + 1, sizeof(*given));
	if (given == NULL)
		return -1;
	optind = 0; /* glibc: start afresh (the EAL ran getopt before us) */
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			usage(argv[0]);
			ret = 1;
			goto out;
		case OPT_CONFIG:
			config = optarg;
			break;
		case '?':
		case ':':
			fprintf(stderr, PROG ": see --help\n");
			goto out;
		default:
			given[nb_given].opt = opt;
			given[nb_given].arg = optarg;
			nb_given++;
			break;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (config != NULL && load_file(c, config, in_file) != 0)
		goto out;
	memcpy(set, in_file, sizeof(set));
	for (unsigned int i = 0; i < nb_given; i++) {
		const struct setting *s;
		const char *v = given[i].arg;
		char where[CFG_NAME_LEN + 4];
		size_t k;

		if (given[i].opt == OPT_NO_OFFLOAD) {
			c->no_offload = true;
			continue;
		}
		if (given[i].opt == OPT_NO_RSS) {
			c->no_rss = true;
			continue;
		}
		k = (size_t)(given[i].opt - OPT_SETTING);
		s = &settings[k];
		/* A list on the command line replaces the file's. */
		if (s->reset != NULL && !cli_list[k]) {
			s->reset(c);
			cli_list[k] = true;
		}
		set[k] = true;
		snprintf(where, sizeof(where), "--%s", names[k]);
		if (setting_apply(c, s, v, where) != 0)
			goto out;
	}
	ret = check(c, set);
out:
	free(given);
	return ret;
}
