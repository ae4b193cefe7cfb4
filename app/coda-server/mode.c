/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mode.c: what coda-server does with a connection (echo, discard, sink),
 * driven by the worker's events.
 *
 * echo: read, send back; bytes the send buffer refused wait in a per
 * connection buffer until WRITABLE. At end of stream (recv() returns 0,
 * after the peer's FIN) and with nothing left to send, close(): our FIN.
 * The peer may have shut down its write side only (half-close): it still
 * gets every byte back before the FIN.
 * discard: read and drop; close() at end of stream.
 * sink: never read; at the peer's FIN close() with the data unread, which
 * sends RST (RFC 1122 4.2.2.13).
 * Whatever the mode, CLOSED (reset, timeout ...) closes the socket to free it.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define ECHO_BUF 16384

struct mode_conn {
	bool open;	/* ours to close */
	bool eof;	/* recv() returned 0 */
	uint32_t off, len; /* echo bytes waiting in buf[off, off + len) */
	uint8_t *buf;
};

int
mode_init(struct mode_ctx *ctx, enum server_mode mode, uint32_t nb_socks)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->mode = mode;
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

static void
conn_close(struct coda_worker *w, struct mode_ctx *ctx, int sock)
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

/* Send what waits; true when nothing is left. */
static bool
echo_flush(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c)
{
	while (c->len != 0) {
		int32_t n = coda_worker_send(w, sock, c->buf + c->off, c->len);

		if (n <= 0)
			return n != -EAGAIN; /* an error: nothing more will go */
		ctx->bytes_out += (uint32_t)n;
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
			conn_close(w, ctx, sock);
			return;
		}
	}
	for (;;) {
		int32_t n;

		if (!echo_flush(w, ctx, sock, c))
			return; /* wait for WRITABLE */
		n = coda_worker_recv(w, sock, c->buf, ECHO_BUF);
		if (n > 0) {
			ctx->bytes_in += (uint32_t)n;
			c->len = (uint32_t)n;
			continue;
		}
		if (n == -EAGAIN)
			return;
		/* 0: end of stream; an error: the connection is over. */
		c->eof = true;
		conn_close(w, ctx, sock);
		return;
	}
}

static void
discard_run(struct coda_worker *w, struct mode_ctx *ctx, int sock)
{
	uint8_t buf[ECHO_BUF];

	for (;;) {
		int32_t n = coda_worker_recv(w, sock, buf, sizeof(buf));

		if (n > 0) {
			ctx->bytes_in += (uint32_t)n;
			continue;
		}
		if (n != -EAGAIN)
			conn_close(w, ctx, sock);
		return;
	}
}

static void
conn_event(struct coda_worker *w, struct mode_ctx *ctx, int sock, enum coda_tcp_event ev)
{
	struct mode_conn *c = conn_of(ctx, sock);

	if (c == NULL)
		return;
	if (ev == CODA_TCP_EV_CLOSED && ctx->mode == MODE_SINK) {
		conn_close(w, ctx, sock);
		return;
	}
	switch (ctx->mode) {
	case MODE_ECHO:
		echo_run(w, ctx, sock, c);
		break;
	case MODE_DISCARD:
		discard_run(w, ctx, sock);
		break;
	case MODE_SINK:
		if (ev == CODA_TCP_EV_PEER_FIN)
			conn_close(w, ctx, sock); /* unread data: RST */
		break;
	}
	/* A connection that ended (reset, timed out) and was not closed above. */
	c = conn_of(ctx, sock);
	if (c != NULL && ev == CODA_TCP_EV_CLOSED)
		conn_close(w, ctx, sock);
}

void
mode_event(struct coda_worker *w, int sock, enum coda_tcp_event ev, void *arg)
{
	struct mode_ctx *ctx = arg;

	if (ev == CODA_TCP_EV_ACCEPTED) {
		int s;

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
