/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_SERVER_CONTROL_H
#define CODA_SERVER_CONTROL_H

/*
 * The DUT control socket of DESIGN.md §8 (docs/control.md): a Unix stream
 * socket, one client at a time, one JSON object per line each way
 * (jansson). Sockets it opens (listen, accept, connect) belong to the
 * client, not to the server's mode: their events are the control socket's.
 *
 * Threads: control_poll() runs on the main lcore (non-blocking: it serves
 * what has arrived and returns); the operations run on the workers through
 * coda_worker_call(). control_event() runs on a worker, from the server's
 * event callback.
 */

#include <stdbool.h>

#include "coda_worker.h"

struct control;

/*
 * Listen on @p path (an existing socket file is replaced). @p workers are
 * the server's, by index. @return the control socket, or NULL with a message
 * on stderr.
 */
struct control *control_open(const char *path, struct coda_worker *const *workers,
			     unsigned int nb_workers);

/* Accept a client, read and answer its complete lines; never blocks. */
void control_poll(struct control *c);

/*
 * Called by the server's event callback first, on the worker's lcore:
 * true if @p sock on worker @p w is a control socket (the event is then
 * the control socket's business and the mode must not act on it).
 */
bool control_event(struct control *c, struct coda_worker *w, int sock, enum coda_tcp_event ev);

/* Close the client's sockets (on the workers), the socket file, and free. NULL is allowed. */
void control_close(struct control *c);

#endif /* CODA_SERVER_CONTROL_H */
