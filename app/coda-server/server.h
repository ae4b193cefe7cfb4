/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_SERVER_H
#define CODA_SERVER_H

/*
 * coda-server internals: the modes (mode.c, http.c) and what main.c gives
 * them. Everything here runs on one worker's lcore, on its own struct
 * mode_ctx: nothing is shared between workers.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "coda_worker.h"

/* What the server does with a connection. */
enum server_mode {
	MODE_ECHO,    /* echo until the peer's FIN, then FIN */
	MODE_DISCARD, /* read and drop; FIN after the peer's */
	MODE_SINK,    /* never read: close after the peer's FIN sends RST (unread data) */
	MODE_HTTP,    /* HTTP/1.1: 200 with a fixed body to every request (http.c) */
};

/* The mode and its settings (struct server_conf.mode; docs/server.md). */
struct mode_conf {
	enum server_mode mode;
	/* echo, discard: the server closes first once this many bytes went through; 0: never. */
	uint64_t close_after;
	uint64_t http_body;	   /* http: body bytes of every 200 response */
	uint32_t http_max_request; /* http: request line and headers, bytes at most */
	bool http_keepalive;	   /* http: false: close after every response */
};

/* One connection of a mode, by socket number. */
struct mode_conn {
	bool open;	   /* ours to close */
	bool closing;	   /* http: close once the response is out */
	bool lingering;	   /* http: FIN sent, reading to the peer's FIN before close() */
	uint32_t off, len; /* echo: bytes waiting in buf[off, off + len); http: request bytes */
	/* echo: its buffer; http: the request bytes, then the response head (at first use) */
	uint8_t *buf;
	uint64_t done;	   /* close_after: bytes echoed or read; http: bytes dropped lingering */
	/* http: the response being sent: its head (in buf, after the request), then the body */
	uint16_t head_off, head_len;
	uint64_t body_left;
	uint64_t body_off; /* body bytes sent so far (its pattern's phase) */
	uint64_t skip;	   /* http: request body bytes still to read and drop */
};

/* Per-worker state of the modes. */
struct mode_ctx {
	struct mode_conf conf;
	int lsock4, lsock6;	   /* listening sockets, -1 if none */
	uint32_t nb_socks;	   /* entries of conns[] (the stack's socket count) */
	struct mode_conn *conns;   /* by socket number */
	uint64_t accepted;	   /* connections taken from a listener */
	uint64_t connected;	   /* active opens completed */
	uint64_t bytes_in, bytes_out;
	uint64_t http_requests;	   /* answered 200 */
	uint64_t http_errors;	   /* answered 4xx/5xx (then closed) */
	time_t date_at;		   /* http: the second date[] was made for */
	char date[40];		   /* http: "Date: ..." value (IMF-fixdate) */
};

/* coda_worker_event_fn of every mode; @p arg is the worker's struct mode_ctx. */
void mode_event(struct coda_worker *w, int sock, enum coda_tcp_event ev, void *arg);

/* Make @p ctx for a stack of @p nb_socks sockets. @return 0 or -ENOMEM. */
int mode_init(struct mode_ctx *ctx, const struct mode_conf *conf, uint32_t nb_socks);

/* Take over socket @p sock of an active open (events follow as for an accepted one). */
void mode_adopt(struct mode_ctx *ctx, int sock);

/* Free @p ctx's memory (the sockets are the stack's). */
void mode_fini(struct mode_ctx *ctx);

/* Forget connection @p sock's state and close() the socket (mode.c, for http.c too). */
void mode_conn_close(struct coda_worker *w, struct mode_ctx *ctx, int sock);

/* http mode: serve connection @p sock after any event but CLOSED (http.c). */
void http_run(struct coda_worker *w, struct mode_ctx *ctx, int sock, struct mode_conn *c);

/* The name of a mode ("echo" ...). */
const char *mode_name(enum server_mode m);

#endif /* CODA_SERVER_H */
