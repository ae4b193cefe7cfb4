/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mode.c: what coda-server does with a connection (echo, discard, sink;
 * http is in http.c), driven by the worker's events.
 *
 * echo: read, send back; bytes the send buffer refused wait in a per
 * connection buffer until WRITABLE. At end of stream (recv() returns 0,
 * after the peer's FIN) and with nothing left to send, close(): our FIN.
 * The peer may have shut down its write side only (half-close): it still
 * gets every byte back before the FIN.
 * discard: read and drop; close() at end of stream.
 * sink: never read; at the peer's FIN close() with the data unread, which
 * sends RST (RFC 1122 4.2.2.13).
 * close_after (echo, discard): the server closes first, once it has echoed
 * (echo) or read (discard) that many bytes; it reads no further, so bytes
 * the peer sent beyond them are unread at close() and make it an RST.
 * Whatever the mode, CLOSED (reset, timeout ...) closes the socket to free it.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define ECHO_BUF 16384

const char *
mode_name(enum server_mode m)
{
	switch (m) {
	case MODE_ECHO:
		return "echo";
	case MODE_DISCARD:
		return "discard";
	case MODE_SINK:
		return "sink";
	case MODE_HTTP:
		return "http";
	}
	return "?";
}

int
mode_init(struct mode_ctx *ctx, const struct mode_conf *conf, uint32_t nb_socks)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = *conf;
	ctx->lsock4 = -1;
	ctx->lsock6 = -1;
	ctx->nb_socks = nb_socks;
	ctx->conns = calloc(nb_socks, sizeof(*ctx->conns));
	return ctx->conns == NULL ? -ENOMEM : 0;
}

void
mode_fini(struct mode_ctx *ctx)
{
	for (uint32_t i = 0; ctx->conns != NULL && i < ctx->nb_socks; i++)
		free(ctx->conns[i].buf);
	free(ctx->conns);
	ctx->conns = NULL;
}

static struct mode_conn *
conn_of(struct mode_ctx *ctx, int sock)
{
	if (sock < 0 || (uint32_t)sock >= ctx->nb_socks || !ctx->conns[sock].open)
		return NULL;
	return &ctx->conns[sock];
}

void
mode_conn_close(struct coda_worker *w, struct mode_ctx *ctx, int sock)
{
	struct mode_conn *c = &ctx->conns[sock];

	free(c->buf);
	memset(c, 0, sizeof(*c));
	(void)coda_worker_close(w, sock);
}

void
mode_adopt(struct mode_ctx *ctx, int sock)
{
	if (sock >= 0 && (uint32_t)sock < ctx->nb_socks) {
		memset(&ctx->conns[sock], 0, sizeof(ctx->conns[sock]));
		ctx->conns[sock].open = true;
	}
}

/* Bytes to read at most now: @p room, less once close_after is near. */
static uint32_t
read_budget(const struct mode_ctx *ctx, const struct mode_conn *c, uint32_t room)
{
	uint64_t left;

	if (ctx->conf.close_after == 0)
		return room;
	left = ctx->conf.close_after - c->done;
	return left < room ? (uint32_t)left : room;
}

/* Send what waits; true when nothing is left. */
static bool
echo_flush(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	while (c->len != 0) {
		int32_t n = coda_worker_send(w, sock, c->buf + c->off, c->len);

		if (n <= 0)
			return n != -EAGAIN; /* an error: nothing more will go */
		ctx->bytes_out += (uint32_t)n;
		c->done += (uint32_t)n;
		c->off += (uint32_t)n;
		c->len -= (uint32_t)n;
	}
	c->off = 0;
	return true;
}

static void
echo_run(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	if (c->buf == NULL) {
		c->buf = malloc(ECHO_BUF);
		if (c->buf == NULL) {
			mode_conn_close(w, ctx, sock);
			return;
		}
	}
	for (;;) {
		int32_t n;

		if (!echo_flush(w, ctx, sock, c))
			return; /* wait for WRITABLE */
		/* Everything read was echoed: with close_after reached, we close first. */
		if (ctx->conf.close_after != 0 && c->done >= ctx->conf.close_after) {
			mode_conn_close(w, ctx, sock);
			return;
		}
		n = coda_worker_recv(w, sock, c->buf, read_budget(ctx, c, ECHO_BUF));
		if (n > 0) {
			ctx->bytes_in += (uint32_t)n;
			c->len = (uint32_t)n;
			continue;
		}
		if (n == -EAGAIN)
			return;
		/* 0: end of stream; an error: the connection is over. */
		mode_conn_close(w, ctx, sock);
		return;
	}
}

static void
discard_run(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	uint8_t buf[ECHO_BUF];

	for (;;) {
		int32_t n;

		if (ctx->conf.close_after != 0 && c->done >= ctx->conf.close_after) {
			mode_conn_close(w, ctx, sock); /* we close first */
			return;
		}
		n = coda_worker_recv(w, sock, buf, read_budget(ctx, c, sizeof(buf)));
		if (n > 0) {
			ctx->bytes_in += (uint32_t)n;
			c->done += (uint32_t)n;
			continue;
		}
		if (n != -EAGAIN)
			mode_conn_close(w, ctx, sock);
		return;
	}
}

static void
conn_event(struct coda_worker *w, struct mode_ctx *ctx, int sock, enum coda_tcp_event ev)
{
	struct mode_conn *c = conn_of(ctx, sock);

	if (c == NULL)
		return;
	if (ev == CODA_TCP_EV_CLOSED && ctx->conf.mode == MODE_SINK) {
		mode_conn_close(w, ctx, sock);
		return;
	}
	switch (ctx->conf.mode) {
	case MODE_ECHO:
		echo_run(w, ctx, sock, c);
		break;
	case MODE_DISCARD:
		discard_run(w, ctx, sock, c);
		break;
	case MODE_SINK:
		if (ev == CODA_TCP_EV_PEER_FIN)
			mode_conn_close(w, ctx, sock); /* unread data: RST */
		break;
	case MODE_HTTP:
		http_run(w, ctx, sock, c);
		break;
	}
	/* A connection that ended (reset, timed out) and was not closed above. */
	c = conn_of(ctx, sock);
	if (c != NULL && ev == CODA_TCP_EV_CLOSED)
		mode_conn_close(w, ctx, sock);
}

void
mode_event(struct coda_worker *w, int sock, enum coda_tcp_event ev, void *arg)
{
	struct mode_ctx *ctx = arg;

	if (ev == CODA_TCP_EV_ACCEPTED) {
		int s;

		/* Our listeners only: another one (the control socket's) is not ours to drain. */
		if (sock != ctx->lsock4 && sock != ctx->lsock6)
			return;
		while ((s = coda_worker_accept(w, sock)) >= 0) {
			struct coda_tcp_info info;

			ctx->accepted++;
			mode_adopt(ctx, s);
			/* Data, or the FIN, may have come before accept(): their events went unheard. */
			if (coda_tcp_info(coda_worker_tcp(w), s, &info) == 0 && info.peer_fin)
				conn_event(w, ctx, s, CODA_TCP_EV_PEER_FIN);
			else
				conn_event(w, ctx, s, CODA_TCP_EV_READABLE);
		}
		return;
	}
	if (ev == CODA_TCP_EV_CONNECTED)
		ctx->connected++;
	conn_event(w, ctx, sock, ev);
}
