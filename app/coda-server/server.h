/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_SERVER_H
#define CODA_SERVER_H

/* coda-server internals: the modes (mode.c) and what main.c gives them. */

#include <stdbool.h>
#include <stdint.h>

#include "coda_worker.h"

/* What the server does with a connection. */
enum server_mode {
	MODE_ECHO,    /* echo until the peer's FIN, then FIN */
	MODE_DISCARD, /* read and drop; FIN after the peer's */
	MODE_SINK,    /* never read: close after the peer's FIN sends RST (unread data) */
};

/* Per-worker state of the modes. */
struct mode_ctx {
	enum server_mode mode;
	int lsock4, lsock6;	   /* listening sockets, -1 if none */
	uint32_t nb_socks;	   /* entries of conns[] (the stack's socket count) */
	struct mode_conn *conns;   /* by socket number */
	uint64_t accepted;	   /* connections taken from a listener */
	uint64_t connected;	   /* active opens completed */
	uint64_t bytes_in, bytes_out;
};

/* coda_worker_event_fn of every mode; @p arg is the worker's struct mode_ctx. */
void mode_event(struct coda_worker *w, int sock, enum coda_tcp_event ev, void *arg);

/* Make @p ctx for a stack of @p nb_socks sockets. @return 0 or -ENOMEM. */
int mode_init(struct mode_ctx *ctx, enum server_mode mode, uint32_t nb_socks);

/* Take over socket @p sock of an active open (events follow as for an accepted one). */
void mode_adopt(struct mode_ctx *ctx, int sock);

/* Free @p ctx's memory (the sockets are the stack's). */
void mode_fini(struct mode_ctx *ctx);

#endif /* CODA_SERVER_H */
