/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_TCP_H
#define CODA_TCP_H

/**
 * @file
 * coda_tcp: one lcore's TCP endpoint, segments in and segments out.
 *
 * What: the RFC 9293 state machine with termination done right (RFC 5961
 * checks, RFC 1337, RFC 6191, RST on close with unread data, TIME-WAIT in
 * the compact store of lib/conntab), and the data transfer a proxy needs.
 * A stack knows no ports, no EAL and no clock: the caller passes each
 * received TCP segment (header and payload, checksum already verified by
 * the IP layer) with its 4-tuple, passes `now` in milliseconds to every
 * call, and gets every segment to send through a callback, as bytes (TCP
 * header with options, then payload; checksum field 0, for the IP layer or
 * the NIC to fill). So it runs in-process under a virtual clock in tests.
 * A call first runs the timers due by its `now` if the caller has not run
 * them (the outermost call only: not from inside coda_tcp_timers() or an
 * event callback).
 *
 * Design: a TCB per connection in a preallocated pool, indexed by the
 * connection table (lib/conntab); all timers in one coda_wheel (handle =
 * TCB index x 5 + kind); TIME-WAIT entries in the table's
 * compact store, decided by tcp_tw_input() (tcp_timewait.h). Segment
 * arrival follows RFC 9293 §3.10.7 in order: validate (sequence
 * acceptability, RST, SYN, ACK, text, FIN) then act; every state change
 * goes through one choke point that keeps per-state gauges.
 *
 * Application API (DESIGN.md §6): sockets are small integers (the TCB
 * index). Calls never block; events come through a callback: ACCEPTED (on
 * a listening socket: a connection waits in coda_tcp_accept()), CONNECTED,
 * READABLE, WRITABLE, PEER_FIN, CLOSED. Every connection ends with a
 * reason (struct coda_tcp_info.close_reason): NORMAL, RESET, REFUSED,
 * TIMEOUT, ABORTED. Errors are negative errno values with their POSIX
 * meanings (-EAGAIN, -EPIPE, -ECONNRESET, -ENOTCONN, -ECONNREFUSED,
 * -ETIMEDOUT, -EINVAL, -ENOBUFS, -EADDRINUSE).
 *
 * A socket lives until the application has closed (or aborted) it and the
 * protocol is done with it; after close() the connection may go on alone
 * (an orphan: FIN retransmission, FIN-WAIT-2, then TIME-WAIT in the
 * table), and its socket number is not valid for the application any more.
 * A socket the protocol has finished with (reset, timed out) stays in
 * state CLOSED, with its reason, until the application closes it.
 *
 * Thread safety: none. A stack belongs to one lcore.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coda_conntab.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The states, in RFC 9293 spelling: X(name, "display string"). */
#define CODA_TCP_STATES(X)                                                                    \
	X(CLOSED, "CLOSED")                                                                    \
	X(LISTEN, "LISTEN")                                                                    \
	X(SYN_SENT, "SYN-SENT")                                                                \
	X(SYN_RECEIVED, "SYN-RECEIVED")                                                        \
	X(ESTABLISHED, "ESTABLISHED")                                                          \
	X(FIN_WAIT_1, "FIN-WAIT-1")                                                            \
	X(FIN_WAIT_2, "FIN-WAIT-2")                                                            \
	X(CLOSE_WAIT, "CLOSE-WAIT")                                                            \
	X(CLOSING, "CLOSING")                                                                  \
	X(LAST_ACK, "LAST-ACK")                                                                \
	X(TIME_WAIT, "TIME-WAIT")

/** A connection's state. */
enum coda_tcp_state {
#define CODA_TCP_STATE_ENUM(name, str) CODA_TCP_S_##name,
	CODA_TCP_STATES(CODA_TCP_STATE_ENUM)
#undef CODA_TCP_STATE_ENUM
	CODA_TCP_S__COUNT
};

/** The RFC spelling of a state ("FIN-WAIT-2"), or NULL out of range. */
const char *coda_tcp_state_name(enum coda_tcp_state s);

/** What the application is told (coda_tcp_event_fn). */
enum coda_tcp_event {
	/** On a listening socket: a connection is established and waits in coda_tcp_accept(). */
	CODA_TCP_EV_ACCEPTED,
	/** An active open completed. */
	CODA_TCP_EV_CONNECTED,
	/** Data can be read. */
	CODA_TCP_EV_READABLE,
	/** Room in the send buffer again after a send was short. */
	CODA_TCP_EV_WRITABLE,
	/** The peer's FIN arrived: after the data before it, coda_tcp_recv() returns 0. */
	CODA_TCP_EV_PEER_FIN,
	/** The connection is over (see coda_tcp_info.close_reason); the socket stays until closed. */
	CODA_TCP_EV_CLOSED,
};

/** How a connection ended. */
enum coda_tcp_close_reason {
	CODA_TCP_CLOSE_NONE = 0, /**< Not ended (yet). */
	CODA_TCP_CLOSE_NORMAL,	 /**< FINs exchanged and acknowledged. */
	CODA_TCP_CLOSE_RESET,	 /**< The peer reset it. */
	CODA_TCP_CLOSE_REFUSED,	 /**< The peer refused the connection (RST in SYN-SENT). */
	CODA_TCP_CLOSE_TIMEOUT,	 /**< Retransmissions or FIN-WAIT-2 timed out. */
	CODA_TCP_CLOSE_ABORTED,	 /**< Aborted locally (coda_tcp_abort(), or close() with unread data). */
};

/** The lowercase name of a close reason ("normal", "reset", ...); "none" for NONE. */
const char *coda_tcp_close_reason_name(enum coda_tcp_close_reason r);

/** coda_tcp_shutdown() directions. */
#define CODA_TCP_SHUT_RD 1
#define CODA_TCP_SHUT_WR 2
#define CODA_TCP_SHUT_RDWR 3

/** Configuration of a stack; coda_tcp_conf_default() fills DESIGN.md §5's defaults. */
struct coda_tcp_conf {
	uint32_t nb_tcb;	  /**< Sockets (connections and listeners) [65536]. */
	uint32_t nb_tw;		  /**< IPv4 TIME-WAIT entries [65536]. */
	uint32_t nb_tw6;	  /**< IPv6 TIME-WAIT entries [16384]. */
	uint32_t tw_policy;	  /**< enum coda_conntab_tw_policy [RECYCLE]. */
	uint32_t msl_ms;	  /**< MSL; TIME-WAIT lasts 2 MSL [30000]. */
	uint32_t fin_wait2_timeout_ms; /**< Orphaned FIN-WAIT-2 lifetime [60000]. */
	uint32_t rto_min_ms;	  /**< Least retransmission timeout [200]. */
	uint32_t rto_initial_ms;  /**< Before any RTT sample, RFC 6298 [1000]. */
	uint32_t rto_max_ms;	  /**< Largest backed-off timeout [60000]. */
	/** R2: give up a connection whose segment went unacknowledged this long [100000]. */
	uint32_t user_timeout_ms;
	/** R2 for a SYN: give up an opening connection after this long [180000]. */
	uint32_t syn_timeout_ms;
	uint32_t delayed_ack_ms;  /**< Delayed ACK [40]; 0: ACK every segment at once. */
	/** Keepalive (RFC 1122 4.2.3.6): probe after this long idle [0: off; RFC: at least 2 h]. */
	uint32_t keepalive_ms;
	uint32_t keepalive_intvl_ms; /**< Between unanswered probes [75000]. */
	uint32_t keepalive_probes;   /**< Unanswered probes before TIMEOUT [9]. */
	/** RFC 5961 challenge ACKs and other rate-limited ACKs: at most one per connection per this [500]. */
	uint32_t challenge_ack_interval_ms;
	/** ... and at most this many per second for the whole stack [1000]; 0: no global cap. */
	uint32_t challenge_ack_per_s;
	uint32_t rcv_buf;	  /**< Receive buffer per connection, bytes [262144]. */
	uint32_t snd_buf;	  /**< Send buffer per connection, bytes [262144]. */
	/** MSS we announce and use at most, IPv4 [1460]; IPv6 connections use 20 bytes less. */
	uint16_t mss;
	bool rfc1337;		  /**< Ignore RST in TIME-WAIT, RFC 1337 [true]. */
	bool tw_reopen;		  /**< Accept a SYN that may reopen from TIME-WAIT [true]. */
	bool rst_on_unread_close; /**< close() with unread data sends RST, RFC 1122 [true]. */
	bool timestamps;	  /**< RFC 7323 timestamps [true]. */
	bool window_scaling;	  /**< RFC 7323 window scaling [true]. */
	bool sack;		  /**< Offer and accept SACK-permitted [true] (parsed, no SACK recovery yet). */
	/*
	 * The [POLICY] cases of CASES.md without a field above (docs/tcp.md
	 * gives each one's reasoning):
	 */
	/** H8: a SYN refused in TIME-WAIT gets a rate-limited challenge ACK [true]; false: dropped (RFC 6191). */
	bool tw_syn_challenge_ack;
	/** I4: giving up after the user timeout sends <SEQ=SND.NXT><CTL=RST> [false: nothing, RFC 9293 §3.10.8]. */
	bool user_timeout_rst;
	/** B6: a duplicate ACK in LAST-ACK gets a (rate-limited) challenge ACK [false: silence, RFC "can be ignored"]. */
	bool last_ack_dup_ack_reply;
	/** D3: data arriving after shutdown(RD) resets the connection [false: ACKed and dropped, as Linux]. */
	bool shut_rd_data_rst;
	/** G4: a segment without data exactly at RCV.NXT+RCV.WND is accepted [false: unacceptable, RFC 9293 Table 6]. */
	bool accept_at_window_edge;
	/** J1: a bare FIN at RCV.NXT with a zero window is accepted [true, as Linux and smoltcp]. */
	bool zero_window_fin;
	/** K2: an RST discards received data not read yet [false: it is read first, then the error]. */
	bool rst_flushes_rcv;
	/** Secret key of the ISN function and the table's hash; all zero: taken from getrandom(). */
	uint64_t seed[2];
};

/** Fill @p c with the defaults above and seed 0 (a random one is drawn at creation). */
void coda_tcp_conf_default(struct coda_tcp_conf *c);

/**
 * Send one segment. @p k is the connection from our side (laddr/lport are
 * ours, raddr/rport the peer's), @p tcp the TCP header with options
 * followed by the payload, @p len bytes in all; the checksum field is 0.
 * The bytes are valid during the call only.
 */
typedef void (*coda_tcp_tx_fn)(void *arg, const struct coda_conntab_key *k, const void *tcp,
			       uint32_t len);

/** Tell the application about socket @p sock. */
typedef void (*coda_tcp_event_fn)(void *arg, int sock, enum coda_tcp_event ev);

/** What the stack counts (monotonic except the gauges). */
struct coda_tcp_stats {
	uint64_t rx_segments;	  /**< Segments given to coda_tcp_input(). */
	uint64_t tx_segments;	  /**< Segments sent. */
	uint64_t rx_dropped;	  /**< ... dropped, each also under its reason in drops[]. */
	uint64_t tx_rst;	  /**< RSTs sent. */
	uint64_t tx_challenge_ack; /**< RFC 5961 challenge ACKs sent. */
	uint64_t challenge_ack_limited; /**< ... suppressed by the rate limits. */
	uint64_t retransmits;	  /**< Segments retransmitted on timeout. */
	uint64_t opened_active;	  /**< Connections opened by connect() (SYN sent). */
	uint64_t opened_passive;  /**< Connections opened by a SYN to a listener. */
	uint64_t closed[CODA_TCP_CLOSE_ABORTED + 1]; /**< Connections ended, by reason. */
	uint64_t tw_entered;	  /**< Connections that entered TIME-WAIT. */
	uint64_t tw_reopened;	  /**< TIME-WAIT entries replaced by a new connection. */
	uint64_t tw_acks;	  /**< ACKs sent from TIME-WAIT. */
	uint64_t states[CODA_TCP_S__COUNT]; /**< Gauge: TCBs in each state (TIME-WAIT: entries). */
	/** Drops by reason: names from coda_tcp_drop_name(). */
	uint64_t drops[64];
};

/** The name of drop reason @p i of coda_tcp_stats.drops, or NULL past the last. */
const char *coda_tcp_drop_name(unsigned int i);

/** A socket's state, for the application and the control socket. */
struct coda_tcp_info {
	enum coda_tcp_state state;
	enum coda_tcp_close_reason close_reason;
	int error;	    /**< Pending error (negative errno) or 0. */
	uint32_t snd_una, snd_nxt, rcv_nxt, rcv_wnd;
	uint32_t iss, irs;
	uint32_t readable;  /**< Bytes coda_tcp_recv() would return now. */
	uint32_t unsent;    /**< Bytes queued, not sent yet. */
	bool peer_fin;	    /**< The peer's FIN arrived (EOF after the data). */
	bool orphan;	    /**< The application has closed it. */
	struct coda_conntab_key key; /**< The connection (ours first). */
};

struct coda_tcp_stack;

/**
 * Make a stack. @p now is the clock at start (ms).
 *
 * @return the stack, or NULL with errno EINVAL (bad configuration: a
 *         capacity of 0 sockets, MSS below 64, buffers below the MSS or
 *         above 1 GiB, a timeout of 0), ENOMEM, or the errno of
 *         getrandom() when the seed is zero and no randomness is available.
 */
struct coda_tcp_stack *coda_tcp_create(const struct coda_tcp_conf *conf, uint64_t now,
				       coda_tcp_tx_fn tx, void *tx_arg, coda_tcp_event_fn ev,
				       void *ev_arg);

/**
 * Change a running stack's configuration. Policies, timeouts, buffer sizes,
 * MSS and options apply to what happens from now on (a connection keeps
 * the options it negotiated); nb_tw and nb_tw6 may go down, or back up to
 * the capacity the stack was created with (entries over a lower limit end
 * at once, counted as recycled). The seed is kept.
 *
 * @return 0; -EINVAL (a value coda_tcp_create() would refuse, or a
 *         TIME-WAIT count above the capacity); -EBUSY (nb_tcb or tw_policy
 *         changed: fixed at creation).
 */
int coda_tcp_reconfigure(struct coda_tcp_stack *s, const struct coda_tcp_conf *conf);

/** The configuration in force (the seed as drawn at creation). */
const struct coda_tcp_conf *coda_tcp_conf_get(const struct coda_tcp_stack *s);

/** Free a stack and everything in it (no segment is sent). NULL is allowed. */
void coda_tcp_free(struct coda_tcp_stack *s);

/**
 * Process one received segment: @p k is its 4-tuple from our side
 * (laddr/lport = the segment's destination), @p tcp its TCP header and
 * payload, @p len bytes. Never fails: a bad segment is dropped and counted.
 */
void coda_tcp_input(struct coda_tcp_stack *s, const struct coda_conntab_key *k, const void *tcp,
		    uint32_t len, uint64_t now);

/** One received segment of a burst (coda_tcp_input_burst()). */
struct coda_tcp_rx {
	const struct coda_conntab_key *key; /**< Its 4-tuple from our side. */
	const void *tcp;		    /**< TCP header and payload. */
	uint32_t len;			    /**< Bytes at @p tcp. */
};

/**
 * Process @p n received segments, in order, as n calls of coda_tcp_input()
 * would, with one pipelined table lookup for the burst (prefetching every
 * key's bucket before the first segment is processed). Each segment's
 * events come before the next segment is processed.
 */
void coda_tcp_input_burst(struct coda_tcp_stack *s, const struct coda_tcp_rx *rx, unsigned int n,
			  uint64_t now);

/** Run the timers due at @p now (retransmission, delayed ACK, FIN-WAIT-2, TIME-WAIT ...). */
void coda_tcp_timers(struct coda_tcp_stack *s, uint64_t now);

/** The earliest time a timer is due (UINT64_MAX if none): a caller may sleep until then. */
uint64_t coda_tcp_next_timer(const struct coda_tcp_stack *s);

/**
 * Listen on @p port (network byte order) of local address @p laddr (16
 * bytes as in struct coda_conntab_key, or NULL for any address of
 * @p family).
 *
 * @return the listening socket; -EINVAL (bad family or port 0, backlog 0);
 *         -EADDRINUSE (already listened on); -ENOBUFS (no free socket).
 */
int coda_tcp_listen(struct coda_tcp_stack *s, uint8_t family, const uint8_t *laddr,
		    uint16_t port, uint32_t backlog);

/**
 * Take an established connection from listening socket @p lsock.
 *
 * @return its socket; -EAGAIN if none waits; -EINVAL if @p lsock is not listening.
 */
int coda_tcp_accept(struct coda_tcp_stack *s, int lsock);

/**
 * Open a connection to @p k's remote end from its local address and port
 * (a port of 0 is chosen by the stack). Sends the SYN at once.
 *
 * @return the socket (CONNECTED or CLOSED with REFUSED/TIMEOUT follows);
 *         -EINVAL (bad key); -EADDRINUSE (the 4-tuple is in use, or in
 *         TIME-WAIT); -ENOBUFS (no free socket); -EADDRNOTAVAIL (no free
 *         local port).
 */
int coda_tcp_connect(struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint64_t now);

/**
 * Queue up to @p len bytes for sending and send what the windows allow.
 *
 * @return the bytes queued (0 .. len; fewer when the buffer is full, then
 *         WRITABLE follows); -EAGAIN if none fit; -EPIPE after shutdown(WR)
 *         or close, or in a closing state; -ENOTCONN before the connection
 *         is established (SYN-SENT, SYN-RECEIVED) or on a listener;
 *         -ECONNRESET / -ETIMEDOUT once, after a reset or a timeout, then
 *         -EPIPE; -EBADF for a socket that is not open.
 */
int32_t coda_tcp_send(struct coda_tcp_stack *s, int sock, const void *buf, uint32_t len,
		      uint64_t now);

/**
 * Read up to @p len bytes.
 *
 * @return the bytes read; 0 at end of stream (the peer's FIN, after all its
 *         data; or after shutdown(RD)); -EAGAIN if nothing is there yet;
 *         -ECONNRESET / -ETIMEDOUT once after a reset or timeout (data
 *         received before it is still read first), then 0; -ENOTCONN before
 *         the connection is established; -EBADF for a socket not open.
 */
int32_t coda_tcp_recv(struct coda_tcp_stack *s, int sock, void *buf, uint32_t len, uint64_t now);

/**
 * Shut down reading (no wire effect; later data is still acknowledged and
 * dropped unread), writing (a FIN after the queued data), or both.
 *
 * @return 0; -EINVAL (bad @p how); -ENOTCONN (not connected); -EBADF.
 */
int coda_tcp_shutdown(struct coda_tcp_stack *s, int sock, int how, uint64_t now);

/**
 * Close the socket: gracefully (FIN after the queued data) or, with unread
 * received data and rst_on_unread_close, by RST (RFC 1122 4.2.2.13). The
 * socket number is invalid afterwards; the connection finishes alone.
 *
 * @return 0; -EBADF.
 */
int coda_tcp_close(struct coda_tcp_stack *s, int sock, uint64_t now);

/**
 * Abort (RFC 9293 §3.10.5): RST in a synchronized state, nothing in
 * SYN-SENT, CLOSING, LAST-ACK or TIME-WAIT; no TIME-WAIT; the socket is
 * invalid afterwards.
 *
 * @return 0; -EBADF.
 */
int coda_tcp_abort(struct coda_tcp_stack *s, int sock, uint64_t now);

/**
 * SO_LINGER for a non-blocking API (CASES E10 [POLICY]). With @p on and
 * @p ms 0, close() aborts: RST in a synchronized state, no TIME-WAIT
 * (SO_LINGER {1, 0}). With @p on and @p ms > 0, close() still returns at
 * once and sends the queued data and the FIN, but if they are not all
 * acknowledged within @p ms the connection is aborted with an RST (reason
 * ABORTED): a bound on how long a closing connection may linger. Off (the
 * default): close() is graceful with no bound but the user timeout.
 *
 * @return 0; -EBADF; -EINVAL for a listening socket.
 */
int coda_tcp_set_linger(struct coda_tcp_stack *s, int sock, bool on, uint32_t ms);

/** Describe socket @p sock. @return 0; -EBADF. */
int coda_tcp_info(const struct coda_tcp_stack *s, int sock, struct coda_tcp_info *info);

/**
 * The state of connection @p k from the table: a socket's state, or
 * TIME-WAIT with the milliseconds left in @p tw_left_ms, or CLOSED.
 */
enum coda_tcp_state coda_tcp_lookup(const struct coda_tcp_stack *s,
				    const struct coda_conntab_key *k, uint64_t now,
				    uint64_t *tw_left_ms);

/** Copy the stack's counters. */
void coda_tcp_stats(const struct coda_tcp_stack *s, struct coda_tcp_stats *st);

/** The stack's connection table (for telemetry; read with the reader calls). */
const struct coda_conntab *coda_tcp_conntab(const struct coda_tcp_stack *s);

/**
 * Check the stack's own consistency: every TCB in the table is in use and
 * named by its key, every socket's timers are those of its state, buffers
 * and sequence numbers agree. For tests.
 *
 * @return 0, or -EFAULT.
 */
int coda_tcp_audit(const struct coda_tcp_stack *s);

#ifdef __cplusplus
}
#endif

#endif /* CODA_TCP_H */
