/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control.c: the DUT control socket of DESIGN.md §8 (docs/control.md).
 *
 * A Unix stream socket; one client at a time (the next waits in the
 * backlog); one JSON object per line each way, parsed and written with
 * jansson. Every reply has "ok"; a failure has "error" (the errno name)
 * and "message" (a sentence). A malformed line gets EINVAL and the
 * connection stays usable.
 *
 * Handles: the client's sockets are numbered from 1 in the order they were
 * made. A listener exists on every worker and for every family the server
 * has an address of (a SYN lands on whichever worker RSS picks); accept
 * takes the first waiting connection of any of them. A connection handle
 * is (worker, socket). When the client closes or aborts a connection, its
 * socket number goes back to the stack, but the handle stays: status then
 * reports the connection as the table sees it (FIN-WAIT-2, TIME-WAIT, then
 * CLOSED) until the client disconnects; disconnecting closes every socket
 * the client still holds.
 *
 * Threads: control_poll() runs on the main lcore, which in coda-server is
 * also worker 0's: operations on worker 0 run directly, operations on the
 * others through coda_worker_call(). The per-worker marks of which sockets
 * are the client's are written by operations running on that worker and
 * read by control_event() on the same worker: no sharing.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_common.h>
#include <rte_lcore.h>

#include "control.h"

/* A request line, at most (a 256 KiB send in hex, and the rest). */
#define LINE_MAX_BYTES (600u * 1024)
/* The largest recv answered at once. */
#define RECV_MAX (256u * 1024)
/* How long an operation may wait for a worker other than the caller's. */
#define CALL_TIMEOUT_MS 2000

struct handle {
	bool used;
	bool listener;
	bool open;	  /* the stack socket is still the client's */
	bool aborted;	  /* closed by "abort" */
	uint16_t worker;
	int sock;	  /* connection */
	int *lsocks;	  /* listener: [worker * 2 + family index], -1 none */
	struct coda_conntab_key key;
	struct coda_tcp_info last; /* the last status seen while open */
};

struct control {
	int lfd, cfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *buf;
	size_t len;
	bool discarding; /* an over-long line: drop up to its newline */
	struct coda_worker *const *w;
	unsigned int nb;
	uint32_t nb_tcb;
	uint8_t **owned; /* [worker][socket]: the client's */
	struct handle *h;
	unsigned int nb_h;
	uint32_t cap_tw, cap_tw6; /* TIME-WAIT capacities at start */
	unsigned int main_lcore;
};

static int handle_close(struct control *c, struct handle *h, bool abort);

/* --- running on a worker ----------------------------------------------------- */

static int
run_on(struct control *c, unsigned int wi, int (*fn)(struct coda_worker *w, void *arg), void *arg)
{
	if (wi == 0 && rte_lcore_id() == c->main_lcore)
		return fn(c->w[0], arg); /* the caller is worker 0's thread */
	return coda_worker_call(c->w[wi], fn, arg, CALL_TIMEOUT_MS);
}

/* One operation's arguments and results, filled on the worker. */
struct op {
	struct control *c;
	unsigned int wi;
	int sock;
	int how;
	uint8_t family;
	uint16_t port; /* network order */
	uint32_t backlog;
	const void *buf;
	void *out;
	uint32_t len;
	struct coda_conntab_key key;
	struct coda_tcp_info info;
	enum coda_tcp_state state;
	uint64_t tw_left;
	int ret;
};

static void
own(struct op *o, int sock, uint8_t v)
{
	if (sock >= 0 && (uint32_t)sock < o->c->nb_tcb)
		o->c->owned[o->wi][sock] = v;
}

static int
w_listen(struct coda_worker *w, void *arg)
{
	struct op *o = arg;
	int s = coda_worker_listen(w, o->family, NULL, o->port, o->backlog);

	own(o, s, 1);
	return s;
}

/* A new connection socket @p s (or an error): the client's, described in o->info. */
static int
adopt(struct coda_worker *w, struct op *o, int s)
{
	if (s >= 0) {
		own(o, s, 1);
		(void)coda_tcp_info(coda_worker_tcp(w), s, &o->info);
	}
	return s;
}

static int
w_accept(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	return adopt(w, o, coda_worker_accept(w, o->sock));
}

static int
w_connect(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	return adopt(w, o, coda_worker_connect(w, o->key.family, o->key.laddr, o->key.raddr,
					       o->key.rport, o->key.lport));
}

static int
w_send(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	return coda_worker_send(w, o->sock, o->buf, o->len);
}

static int
w_recv(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	return coda_worker_recv(w, o->sock, o->out, o->len);
}

static int
w_shutdown(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	return coda_worker_shutdown(w, o->sock, o->how);
}

/* close (how 0) or abort (how 1) a socket; its info first. */
static int
w_close(struct coda_worker *w, void *arg)
{
	struct op *o = arg;
	int ret;

	(void)coda_tcp_info(coda_worker_tcp(w), o->sock, &o->info);
	ret = o->how ? coda_worker_abort(w, o->sock) : coda_worker_close(w, o->sock);
	if (ret == 0)
		own(o, o->sock, 0);
	/* A close with unread data resets the connection (RFC 1122 4.2.2.13): aborted. */
	o->ret = o->how || (o->info.readable > 0 &&
			    coda_tcp_conf_get(coda_worker_tcp(w))->rst_on_unread_close);
	return ret;
}

static int
w_info(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	return coda_tcp_info(coda_worker_tcp(w), o->sock, &o->info);
}

static int
w_lookup(struct coda_worker *w, void *arg)
{
	struct op *o = arg;

	o->state = coda_tcp_lookup(coda_worker_tcp(w), &o->key, coda_worker_now(w), &o->tw_left);
	return 0;
}

static int
w_reconfigure(struct coda_worker *w, void *arg)
{
	const struct coda_tcp_conf *conf = ((struct op *)arg)->buf;

	return coda_tcp_reconfigure(coda_worker_tcp(w), conf);
}

/* --- replies ------------------------------------------------------------------ */

static void
reply(struct control *c, json_t *r)
{
	char *s = json_dumps(r, JSON_COMPACT);
	size_t n, off = 0;

	json_decref(r);
	if (s == NULL)
		return;
	n = strlen(s);
	s[n++] = '\n'; /* over the terminating NUL: the line is sent by length */
	while (off < n && c->cfd >= 0) {
		ssize_t k = send(c->cfd, s + off, n - off, MSG_NOSIGNAL);

		if (k <= 0) {
			close(c->cfd);
			c->cfd = -1;
			break;
		}
		off += (size_t)k;
	}
	free(s);
}

static json_t *
ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* A failure: @p err a positive errno. */
static json_t *
fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *
fail(int err, const char *fmt, ...)
{
	const char *name = strerrorname_np(err);
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s,s:s}", "ok", 0, "error", name != NULL ? name : "EIO",
			 "message", msg);
}

/* A stack call's negative errno as a reply. */
static json_t *
fail_rc(int rc, const char *what)
{
	return fail(-rc, "%s: %s", what, strerror(-rc));
}

/* --- requests: helpers -------------------------------------------------------- */

static struct handle *
handle_new(struct control *c, unsigned int *id)
{
	struct handle *h = realloc(c->h, (c->nb_h + 1) * sizeof(*h));

	if (h == NULL)
		return NULL;
	c->h = h;
	h = &c->h[c->nb_h];
	memset(h, 0, sizeof(*h));
	h->used = true;
	h->sock = -1;
	*id = ++c->nb_h;
	return h;
}

/* A handle for connection socket @p s that an operation @p o just made on its worker. */
static struct handle *
conn_handle(struct control *c, const struct op *o, int s, unsigned int *id)
{
	struct handle *h = handle_new(c, id);

	if (h == NULL)
		return NULL;
	h->open = true;
	h->worker = (uint16_t)o->wi;
	h->sock = s;
	h->key = o->info.key;
	h->last = o->info;
	return h;
}

/* The handle named by "sock", or NULL with *err set. */
static struct handle *
handle_get(struct control *c, json_t *req, json_t **err)
{
	json_t *v = json_object_get(req, "sock");
	json_int_t id;

	if (!json_is_integer(v)) {
		*err = fail(EINVAL, "\"sock\" must be an integer");
		return NULL;
	}
	id = json_integer_value(v);
	if (id < 1 || id > (json_int_t)c->nb_h || !c->h[id - 1].used) {
		*err = fail(EBADF, "no socket %" JSON_INTEGER_FORMAT, id);
		return NULL;
	}
	return &c->h[id - 1];
}

/* An open connection handle, or NULL with *err set. */
static struct handle *
conn_get(struct control *c, json_t *req, json_t **err)
{
	struct handle *h = handle_get(c, req, err);

	if (h != NULL && (h->listener || !h->open)) {
		*err = fail(h->listener ? ENOTCONN : EBADF, "socket is %s",
			    h->listener ? "a listener" : "closed");
		return NULL;
	}
	return h;
}

static int
int_field(json_t *req, const char *name, json_int_t lo, json_int_t hi, json_int_t *v)
{
	json_t *f = json_object_get(req, name);

	if (!json_is_integer(f))
		return -1;
	*v = json_integer_value(f);
	return *v < lo || *v > hi ? -1 : 0;
}

static void
addr_str(uint8_t family, const uint8_t *a, uint16_t port, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family, a, ip, sizeof(ip));
	snprintf(out, cap, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, ntohs(port));
}

static int
parse_ip(const char *s, uint8_t *family, uint8_t *a)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int
hex_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* --- requests ----------------------------------------------------------------- */

static json_t *
op_listen(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	json_int_t port, backlog = 128;
	struct handle *h;
	unsigned int id;
	int n = 0;

	if (int_field(req, "port", 1, 65535, &port) != 0)
		return fail(EINVAL, "\"port\" must be an integer from 1 to 65535");
	if (json_object_get(req, "backlog") != NULL &&
	    int_field(req, "backlog", 1, 65535, &backlog) != 0)
		return fail(EINVAL, "\"backlog\" must be an integer from 1 to 65535");
	h = handle_new(c, &id);
	if (h == NULL || (h->lsocks = malloc(2 * c->nb * sizeof(int))) == NULL)
		return fail(ENOMEM, "out of memory");
	for (unsigned int i = 0; i < 2 * c->nb; i++)
		h->lsocks[i] = -1;
	h->listener = true;
	h->open = true;
	o.port = htons((uint16_t)port);
	o.backlog = (uint32_t)backlog;
	for (unsigned int i = 0; i < c->nb; i++) {
		const struct coda_net_conf *nc = coda_worker_net_conf(c->w[i]);

		for (int f = 0; f < 2; f++) {
			int s = -1;

			if ((f == 0 && nc->nb_ip4 > 0) || (f == 1 && nc->nb_ip6 > 0)) {
				o.wi = i;
				o.family = f == 0 ? AF_INET : AF_INET6;
				s = run_on(c, i, w_listen, &o);
				if (s < 0) {
					/* All or nothing: the ones made go again. */
					(void)handle_close(c, h, false);
					h->used = false;
					return fail_rc(s, "listen");
				}
				n++;
			}
			h->lsocks[i * 2 + f] = s;
		}
	}
	if (n == 0) {
		h->used = false;
		return fail(EADDRNOTAVAIL, "the server has no address");
	}
	return json_pack("{s:b,s:i}", "ok", 1, "sock", (json_int_t)id);
}

static json_t *
op_accept(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	struct handle *l, *h;
	json_t *err;
	unsigned int id;
	char peer[64];

	l = handle_get(c, req, &err);
	if (l == NULL)
		return err;
	if (!l->listener || !l->open)
		return fail(EINVAL, "socket is not listening");
	for (unsigned int i = 0; i < 2 * c->nb; i++) {
		int s;

		if (l->lsocks[i] < 0)
			continue;
		o.wi = i / 2;
		o.sock = l->lsocks[i];
		s = run_on(c, o.wi, w_accept, &o);
		if (s == -EAGAIN)
			continue;
		if (s < 0)
			return fail_rc(s, "accept");
		h = conn_handle(c, &o, s, &id);
		if (h == NULL)
			return fail(ENOMEM, "out of memory");
		addr_str(h->key.family, h->key.raddr, h->key.rport, peer, sizeof(peer));
		return json_pack("{s:b,s:i,s:s}", "ok", 1, "sock", (json_int_t)id, "peer", peer);
	}
	return fail(EAGAIN, "no connection waits");
}

static json_t *
op_connect(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	const char *addr = json_string_value(json_object_get(req, "addr"));
	const struct coda_net_conf *nc = coda_worker_net_conf(c->w[0]);
	json_int_t port, sport = 0;
	unsigned int id;
	int s;

	if (addr == NULL || parse_ip(addr, &o.key.family, o.key.raddr) != 0)
		return fail(EINVAL, "\"addr\" must be an IPv4 or IPv6 address");
	if (int_field(req, "port", 1, 65535, &port) != 0)
		return fail(EINVAL, "\"port\" must be an integer from 1 to 65535");
	if (json_object_get(req, "sport") != NULL && !json_is_null(json_object_get(req, "sport")) &&
	    int_field(req, "sport", 1, 65535, &sport) != 0)
		return fail(EINVAL, "\"sport\" must be an integer from 1 to 65535");
	if (o.key.family == AF_INET && nc->nb_ip4 > 0)
		memcpy(o.key.laddr, &nc->ip4[0], 4);
	else if (o.key.family == AF_INET6 && nc->nb_ip6 > 0)
		memcpy(o.key.laddr, nc->ip6[0], 16);
	else
		return fail(EADDRNOTAVAIL, "the server has no address of that family");
	o.key.rport = htons((uint16_t)port);
	o.key.lport = htons((uint16_t)sport);
	/* A given source port: the worker its flow hashes to; else worker 0 picks one of its own. */
	o.wi = sport != 0 ? coda_worker_flow_owner(c->w[0], &o.key) : 0;
	s = run_on(c, o.wi, w_connect, &o);
	if (s < 0)
		return fail_rc(s, "connect");
	if (conn_handle(c, &o, s, &id) == NULL)
		return fail(ENOMEM, "out of memory");
	return json_pack("{s:b,s:i}", "ok", 1, "sock", (json_int_t)id);
}

static json_t *
op_send(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	const char *hex = json_string_value(json_object_get(req, "hex"));
	struct handle *h;
	json_t *err;
	uint8_t *b;
	size_t n;
	int r;

	h = conn_get(c, req, &err);
	if (h == NULL)
		return err;
	if (hex == NULL || strlen(hex) % 2 != 0)
		return fail(EINVAL, "\"hex\" must be a string of an even number of hex digits");
	n = strlen(hex) / 2;
	b = malloc(n ? n : 1);
	if (b == NULL)
		return fail(ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(hex[2 * i]), lo = hex_val(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return fail(EINVAL, "\"hex\" has a character that is not a hex digit");
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	o.wi = h->worker;
	o.sock = h->sock;
	o.buf = b;
	o.len = (uint32_t)n;
	r = run_on(c, o.wi, w_send, &o);
	free(b);
	if (r < 0)
		return fail_rc(r, "send");
	return json_pack("{s:b,s:i}", "ok", 1, "n", (json_int_t)r);
}

static json_t *
op_recv(struct control *c, json_t *req)
{
	static const char digits[] = "0123456789abcdef";
	struct op o = {.c = c};
	json_int_t max = 65536;
	struct handle *h;
	json_t *err, *r;
	uint8_t *b;
	char *hex;
	int n;

	h = conn_get(c, req, &err);
	if (h == NULL)
		return err;
	if (json_object_get(req, "max") != NULL && int_field(req, "max", 0, INT32_MAX, &max) != 0)
		return fail(EINVAL, "\"max\" must be a non-negative integer");
	if (max > (json_int_t)RECV_MAX)
		max = RECV_MAX;
	b = malloc((size_t)max + 1);
	hex = malloc(2 * (size_t)max + 1);
	if (b == NULL || hex == NULL) {
		free(b);
		free(hex);
		return fail(ENOMEM, "out of memory");
	}
	o.wi = h->worker;
	o.sock = h->sock;
	o.out = b;
	o.len = (uint32_t)max;
	n = run_on(c, o.wi, w_recv, &o);
	if (n < 0) {
		free(b);
		free(hex);
		return fail_rc(n, "recv");
	}
	for (int i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = '\0';
	r = json_pack("{s:b,s:s,s:b}", "ok", 1, "hex", hex, "eof", n == 0 && max > 0);
	free(b);
	free(hex);
	return r;
}

static json_t *
op_shutdown(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	const char *how = json_string_value(json_object_get(req, "how"));
	struct handle *h;
	json_t *err;
	int r;

	h = conn_get(c, req, &err);
	if (h == NULL)
		return err;
	if (how != NULL && strcmp(how, "rd") == 0)
		o.how = CODA_TCP_SHUT_RD;
	else if (how != NULL && strcmp(how, "wr") == 0)
		o.how = CODA_TCP_SHUT_WR;
	else if (how != NULL && strcmp(how, "rdwr") == 0)
		o.how = CODA_TCP_SHUT_RDWR;
	else
		return fail(EINVAL, "\"how\" must be \"rd\", \"wr\" or \"rdwr\"");
	o.wi = h->worker;
	o.sock = h->sock;
	r = run_on(c, o.wi, w_shutdown, &o);
	return r < 0 ? fail_rc(r, "shutdown") : ok();
}

/* Close (abort false) or abort a handle's sockets: a listener's on every worker. */
static int
handle_close(struct control *c, struct handle *h, bool abort)
{
	struct op o = {.c = c, .how = abort};
	int r = 0;

	if (!h->open)
		return -EBADF;
	if (h->listener) {
		for (unsigned int i = 0; i < 2 * c->nb; i++) {
			if (h->lsocks[i] < 0)
				continue;
			o.wi = i / 2;
			o.sock = h->lsocks[i];
			(void)run_on(c, o.wi, w_close, &o);
			h->lsocks[i] = -1;
		}
		h->open = false;
		return 0;
	}
	o.wi = h->worker;
	o.sock = h->sock;
	r = run_on(c, o.wi, w_close, &o);
	if (r == 0) {
		h->last = o.info;
		h->open = false;
		h->aborted = o.ret != 0;
	}
	return r;
}

static json_t *
op_close(struct control *c, json_t *req, bool abort)
{
	struct handle *h;
	json_t *err;
	int r;

	h = handle_get(c, req, &err);
	if (h == NULL)
		return err;
	r = handle_close(c, h, abort);
	return r < 0 ? fail_rc(r, abort ? "abort" : "close") : ok();
}

static json_t *
op_status(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	const char *reason = NULL;
	struct handle *h;
	json_t *err;

	h = handle_get(c, req, &err);
	if (h == NULL)
		return err;
	if (h->listener)
		return json_pack("{s:b,s:s,s:n}", "ok", 1, "state", h->open ? "LISTEN" : "CLOSED",
				 "close_reason");
	o.wi = h->worker;
	if (h->open) {
		o.sock = h->sock;
		if (run_on(c, o.wi, w_info, &o) == 0)
			h->last = o.info;
		o.state = h->last.state;
		if (h->last.close_reason != CODA_TCP_CLOSE_NONE)
			reason = coda_tcp_close_reason_name(h->last.close_reason);
	} else {
		/*
		 * Closed by the client: the table tells how far the connection
		 * got. Its reason: aborted, or what it was when closed, or, once
		 * it is over (TIME-WAIT, CLOSED) after a graceful close, normal.
		 */
		o.key = h->key;
		(void)run_on(c, o.wi, w_lookup, &o);
		if (h->aborted)
			reason = "aborted";
		else if (h->last.close_reason != CODA_TCP_CLOSE_NONE)
			reason = coda_tcp_close_reason_name(h->last.close_reason);
		else if (o.state == CODA_TCP_S_CLOSED || o.state == CODA_TCP_S_TIME_WAIT)
			reason = "normal";
	}
	return json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:o}", "ok", 1, "state",
			 coda_tcp_state_name(o.state), "snd_una", (json_int_t)h->last.snd_una,
			 "snd_nxt", (json_int_t)h->last.snd_nxt, "rcv_nxt",
			 (json_int_t)h->last.rcv_nxt, "rcv_wnd", (json_int_t)h->last.rcv_wnd,
			 "close_reason", reason != NULL ? json_string(reason) : json_null());
}

static json_t *
op_lookup(struct control *c, json_t *req)
{
	struct op o = {.c = c};
	const char *la = json_string_value(json_object_get(req, "laddr"));
	const char *ra = json_string_value(json_object_get(req, "raddr"));
	json_int_t lport, rport;
	uint8_t f2;

	if (la == NULL || ra == NULL || parse_ip(la, &o.key.family, o.key.laddr) != 0 ||
	    parse_ip(ra, &f2, o.key.raddr) != 0 || f2 != o.key.family)
		return fail(EINVAL, "\"laddr\" and \"raddr\" must be addresses of one family");
	if (int_field(req, "lport", 1, 65535, &lport) != 0 ||
	    int_field(req, "rport", 1, 65535, &rport) != 0)
		return fail(EINVAL, "\"lport\" and \"rport\" must be integers from 1 to 65535");
	o.key.lport = htons((uint16_t)lport);
	o.key.rport = htons((uint16_t)rport);
	o.wi = coda_worker_flow_owner(c->w[0], &o.key);
	(void)run_on(c, o.wi, w_lookup, &o);
	if (o.state == CODA_TCP_S_TIME_WAIT)
		return json_pack("{s:b,s:s,s:I}", "ok", 1, "state", "TIME-WAIT", "expires_in_ms",
				 (json_int_t)o.tw_left);
	return json_pack("{s:b,s:s}", "ok", 1, "state", coda_tcp_state_name(o.state));
}

static json_t *
op_stats(struct control *c)
{
	json_t *cnt = json_object();
	struct coda_worker_snapshot sum;
	char name[96];

	coda_worker_snapshot_sum(c->w, c->nb, &sum);
#define PUT(n, v) json_object_set_new(cnt, n, json_integer((json_int_t)(v)))
	PUT("rx_packets", sum.worker.rx_packets);
	PUT("tx_packets", sum.worker.tx_packets);
	PUT("tx_dropped", sum.worker.tx_dropped);
	PUT("tx_nombuf", sum.worker.tx_nombuf);
	PUT("net_rx_frames", sum.net.rx_frames);
	PUT("net_rx_dropped", sum.net.rx_dropped);
	PUT("tcp_rx_segments", sum.tcp.rx_segments);
	PUT("tcp_rx_dropped", sum.tcp.rx_dropped);
	PUT("tcp_tx_segments", sum.tcp.tx_segments);
	PUT("tcp_tx_rst", sum.tcp.tx_rst);
	PUT("tcp_tx_challenge_ack", sum.tcp.tx_challenge_ack);
	PUT("tcp_challenge_ack_limited", sum.tcp.challenge_ack_limited);
	PUT("tcp_retransmits", sum.tcp.retransmits);
	PUT("tcp_opened_active", sum.tcp.opened_active);
	PUT("tcp_opened_passive", sum.tcp.opened_passive);
	PUT("tcp_tw_entered", sum.tcp.tw_entered);
	PUT("tcp_tw_reopened", sum.tcp.tw_reopened);
	PUT("tcp_tw_acks", sum.tcp.tw_acks);
	PUT("tw_expired", sum.conntab.tw_expired);
	PUT("tw_recycled", sum.conntab.tw_recycled);
	PUT("tw_overflow", sum.conntab.tw_skipped);
	for (int r = CODA_TCP_CLOSE_NORMAL; r <= CODA_TCP_CLOSE_ABORTED; r++) {
		snprintf(name, sizeof(name), "tcp_closed_%s", coda_tcp_close_reason_name(r));
		PUT(name, sum.tcp.closed[r]);
	}
	for (int st = 0; st < CODA_TCP_S__COUNT; st++) {
		snprintf(name, sizeof(name), "state_%s", coda_tcp_state_name(st));
		PUT(name, sum.tcp.states[st]);
	}
	for (int r = 1; r < CODA_NET_DROP__COUNT; r++) {
		snprintf(name, sizeof(name), "drop_net_%s", coda_net_drop_name(r));
		PUT(name, sum.net.drops[r]);
	}
	for (unsigned int r = 1; r < 64 && coda_tcp_drop_name(r) != NULL; r++) { /* 0 is "none" */
		snprintf(name, sizeof(name), "drop_tcp_%s", coda_tcp_drop_name(r));
		PUT(name, sum.tcp.drops[r]);
	}
#undef PUT
	return json_pack("{s:b,s:o}", "ok", 1, "counters", cnt);
}

/* A config key: where it goes in struct coda_tcp_conf, and how. */
struct conf_key {
	const char *name;
	size_t off;
	char type; /* 'u': uint32_t ms or count, 'b': bool */
};

#define CK(n, f, t) {n, offsetof(struct coda_tcp_conf, f), t}
static const struct conf_key conf_keys[] = {
	CK("msl_ms", msl_ms, 'u'),
	CK("fin_wait2_timeout_ms", fin_wait2_timeout_ms, 'u'),
	CK("rfc1337", rfc1337, 'b'),
	CK("tw_reopen", tw_reopen, 'b'),
	CK("rst_on_unread_close", rst_on_unread_close, 'b'),
	CK("challenge_ack_interval_ms", challenge_ack_interval_ms, 'u'),
	CK("rto_min_ms", rto_min_ms, 'u'),
	CK("timestamps", timestamps, 'b'),
	CK("window_scaling", window_scaling, 'b'),
	CK("sack", sack, 'b'),
	CK("delayed_ack_ms", delayed_ack_ms, 'u'),
	CK("tw_capacity", nb_tw, 'u'),
};
#undef CK

static json_t *
op_config(struct control *c, json_t *req)
{
	json_t *set = json_object_get(req, "set"), *v;
	struct coda_tcp_conf conf;
	struct op o = {.c = c, .buf = &conf};
	const char *k;

	if (!json_is_object(set))
		return fail(EINVAL, "\"set\" must be an object");
	conf = *coda_tcp_conf_get(coda_worker_tcp(c->w[0]));
	json_object_foreach(set, k, v) {
		const struct conf_key *ck = NULL;

		for (size_t i = 0; i < RTE_DIM(conf_keys); i++)
			if (strcmp(conf_keys[i].name, k) == 0)
				ck = &conf_keys[i];
		if (ck == NULL)
			return fail(EINVAL, "unknown key \"%s\"", k);
		if (ck->type == 'b') {
			if (!json_is_boolean(v))
				return fail(EINVAL, "\"%s\" must be true or false", k);
			*(bool *)((char *)&conf + ck->off) = json_is_true(v);
		} else {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > UINT32_MAX / 2)
				return fail(EINVAL, "\"%s\" must be a non-negative integer", k);
			*(uint32_t *)((char *)&conf + ck->off) = (uint32_t)json_integer_value(v);
		}
	}
	/* TIME-WAIT capacity: both families, each at most what it was created with. */
	if (json_object_get(set, "tw_capacity") != NULL) {
		if (conf.nb_tw > c->cap_tw)
			return fail(EINVAL, "\"tw_capacity\" is at most %u (--tw-capacity at start)",
				    c->cap_tw);
		conf.nb_tw6 = conf.nb_tw < c->cap_tw6 ? conf.nb_tw : c->cap_tw6;
	}
	/* A higher minimum RTO carries the initial and maximum ones with it. */
	if (conf.rto_initial_ms < conf.rto_min_ms)
		conf.rto_initial_ms = conf.rto_min_ms;
	if (conf.rto_max_ms < conf.rto_initial_ms)
		conf.rto_max_ms = conf.rto_initial_ms;
	for (unsigned int i = 0; i < c->nb; i++) {
		int r;

		o.wi = i;
		r = run_on(c, i, w_reconfigure, &o);
		if (r < 0)
			return fail(-r, "the stack refused the configuration: %s", strerror(-r));
	}
	return ok();
}

static json_t *
dispatch(struct control *c, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr), *r;
	const char *op;

	if (req == NULL)
		return fail(EINVAL, "not JSON: %s", jerr.text);
	op = json_string_value(json_object_get(req, "op"));
	if (!json_is_object(req) || op == NULL)
		r = fail(EINVAL, "a request is an object with an \"op\" string");
	else if (strcmp(op, "config") == 0)
		r = op_config(c, req);
	else if (strcmp(op, "listen") == 0)
		r = op_listen(c, req);
	else if (strcmp(op, "accept") == 0)
		r = op_accept(c, req);
	else if (strcmp(op, "connect") == 0)
		r = op_connect(c, req);
	else if (strcmp(op, "send") == 0)
		r = op_send(c, req);
	else if (strcmp(op, "recv") == 0)
		r = op_recv(c, req);
	else if (strcmp(op, "shutdown") == 0)
		r = op_shutdown(c, req);
	else if (strcmp(op, "close") == 0)
		r = op_close(c, req, false);
	else if (strcmp(op, "abort") == 0)
		r = op_close(c, req, true);
	else if (strcmp(op, "status") == 0)
		r = op_status(c, req);
	else if (strcmp(op, "lookup") == 0)
		r = op_lookup(c, req);
	else if (strcmp(op, "stats") == 0)
		r = op_stats(c);
	else
		r = fail(EINVAL, "unknown op \"%s\"", op);
	json_decref(req);
	return r;
}

/* --- the socket ---------------------------------------------------------------- */

/* The client left: every socket it still holds is closed, its handles go. */
static void
client_gone(struct control *c)
{
	if (c->cfd >= 0)
		close(c->cfd);
	c->cfd = -1;
	for (unsigned int i = 0; i < c->nb_h; i++) {
		if (c->h[i].used && c->h[i].open)
			(void)handle_close(c, &c->h[i], false);
		free(c->h[i].lsocks);
	}
	free(c->h);
	c->h = NULL;
	c->nb_h = 0;
	c->len = 0;
	c->discarding = false;
}

void
control_poll(struct control *c)
{
	char *nl;
	ssize_t k;

	if (c->cfd < 0) {
		c->cfd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c->cfd < 0)
			return;
	}
	k = recv(c->cfd, c->buf + c->len, LINE_MAX_BYTES - c->len, MSG_DONTWAIT);
	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		client_gone(c);
		return;
	}
	if (k < 0)
		return;
	c->len += (size_t)k;
	while (c->cfd >= 0 && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t n = (size_t)(nl - c->buf) + 1;

		*nl = '\0';
		if (c->discarding)
			c->discarding = false;
		else
			reply(c, dispatch(c, c->buf));
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
	}
	if (c->len == LINE_MAX_BYTES) {
		/* No newline in a full buffer: refuse the line, drop to its end. */
		reply(c, fail(EINVAL, "line longer than %u bytes", LINE_MAX_BYTES));
		c->len = 0;
		c->discarding = true;
	}
}

bool
control_event(struct control *c, struct coda_worker *w, int sock, enum coda_tcp_event ev)
{
	unsigned int wi = coda_worker_index(w);

	(void)ev;
	return c != NULL && wi < c->nb && sock >= 0 && (uint32_t)sock < c->nb_tcb &&
	       c->owned[wi][sock] != 0;
}

struct control *
control_open(const char *path, struct coda_worker *const *workers, unsigned int nb_workers)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const struct coda_tcp_conf *tc;
	struct control *c;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "coda-server: --control: path longer than %zu bytes\n",
			sizeof(sa.sun_path) - 1);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->lfd = c->cfd = -1;
	c->w = workers;
	c->nb = nb_workers;
	c->main_lcore = rte_get_main_lcore();
	tc = coda_tcp_conf_get(coda_worker_tcp(workers[0]));
	c->nb_tcb = tc->nb_tcb;
	c->cap_tw = tc->nb_tw;
	c->cap_tw6 = tc->nb_tw6;
	c->buf = malloc(LINE_MAX_BYTES + 1);
	c->owned = calloc(nb_workers, sizeof(*c->owned));
	if (c->buf == NULL || c->owned == NULL)
		goto err;
	for (unsigned int i = 0; i < nb_workers; i++) {
		c->owned[i] = calloc(c->nb_tcb, 1);
		if (c->owned[i] == NULL)
			goto err;
	}
	strcpy(sa.sun_path, path);
	strcpy(c->path, path);
	(void)unlink(path);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(c->lfd, 4) != 0) {
		fprintf(stderr, "coda-server: --control %s: %s\n", path, strerror(errno));
		goto err;
	}
	return c;
err:
	control_close(c);
	return NULL;
}

void
control_close(struct control *c)
{
	if (c == NULL)
		return;
	client_gone(c);
	if (c->lfd >= 0) {
		close(c->lfd);
		(void)unlink(c->path);
	}
	for (unsigned int i = 0; c->owned != NULL && i < c->nb; i++)
		free(c->owned[i]);
	free(c->owned);
	free(c->buf);
	free(c);
}
