/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CODA_TCP_PRIVATE_H
#define CODA_TCP_PRIVATE_H

/*
 * lib/tcp internals shared by tcp_stack.c (API, TCB life cycle),
 * tcp_input.c (segment arrival, RFC 9293 §3.10.7), tcp_output.c (segment
 * building and sending) and tcp_timer.c (the wheel's timers).
 *
 * Sequence space of a TCB: ISS (our SYN), then data bytes, then our FIN.
 * The send ring holds the bytes from snd_data (the sequence number of its
 * first byte: the oldest unacknowledged data byte) on, unsent ones
 * included. snd_nxt goes back to snd_una on a retransmission timeout (go
 * back N); snd_max is the highest sequence number sent. The receive ring
 * holds bytes received in order and not read yet.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coda_conntab.h"
#include "coda_seq.h"
#include "coda_tcp.h"
#include "coda_wheel.h"
#include "tcp_seg.h"
#include "tcp_timewait.h"

#define NIL UINT32_MAX
/* Out-of-order ranges kept per connection (bounded reassembly). */
#define TCP_OOO_MAX 4

/* Timers of a TCB: wheel handle = index * TCP_TIMERS + kind. */
enum tcp_timer {
	TCP_T_RTX,    /* retransmission, SYN/SYN-ACK/FIN included; zero-window probe */
	TCP_T_DELACK, /* delayed ACK */
	TCP_T_FW2,    /* orphaned FIN-WAIT-2 */
	TCP_T_KEEP,   /* keepalive (RFC 1122 4.2.3.6), when configured */
	TCP_T_LINGER, /* close() with a linger time: abort if not done by then */
	TCP_TIMERS
};

/* Drop and accounting reasons of the state machine, after the parser's (tcp_drop.def). */
#define TCP_FSM_DROPS(X)                                                                       \
	X(NO_TCB, no_tcb, "no connection and no listener: answered by RST (RFC 9293 3.10.7.1)")  \
	X(RST_NO_TCB, rst_no_tcb, "RST with no connection: discarded")                         \
	X(LISTEN_RST, listen_rst, "RST to a listener: ignored")                                \
	X(LISTEN_ACK, listen_ack, "ACK to a listener: answered by RST")                        \
	X(LISTEN_OTHER, listen_other, "neither SYN, ACK nor RST to a listener")                \
	X(BACKLOG, backlog, "SYN to a listener whose backlog is full")                         \
	X(NO_SOCKET, no_socket, "SYN with no free socket")                                     \
	X(SYN_SENT_BAD_ACK, syn_sent_bad_ack, "SYN-SENT: unacceptable ACK (answered by RST)")  \
	X(SYN_SENT_RST, syn_sent_rst, "SYN-SENT: RST without an acceptable ACK")               \
	X(SYN_SENT_OTHER, syn_sent_other, "SYN-SENT: neither SYN nor RST")                     \
	X(PAWS, paws, "timestamp older than TS.Recent (RFC 7323 PAWS)")                        \
	X(NO_TS, no_ts, "no timestamp on a connection that uses them (RFC 7323 3.2)")          \
	X(OUT_OF_WINDOW, out_of_window, "segment outside the receive window")                  \
	X(RST_IN_WINDOW, rst_in_window, "RST in the window but not at RCV.NXT (RFC 5961)")     \
	X(SYN_SYNCHRONIZED, syn_synchronized, "SYN in a synchronized state (RFC 5961 4)")      \
	X(NO_ACK, no_ack, "segment without ACK in a synchronized state")                       \
	X(ACK_UNSENT, ack_unsent, "ACK of data not sent yet (RFC 5961 5.2)")                   \
	X(ACK_TOO_OLD, ack_too_old, "ACK older than SND.UNA - MAX.SND.WND (RFC 5961 5.2)")     \
	X(SYN_RCVD_BAD_ACK, syn_rcvd_bad_ack, "SYN-RECEIVED: unacceptable ACK (answered by RST)") \
	X(DATA_AFTER_FIN, data_after_fin, "text after the peer's FIN: ignored")                \
	X(DATA_AFTER_CLOSE, data_after_close, "new data after close(): answered by RST")       \
	X(OUT_OF_ORDER, out_of_order, "data past a hole: kept for reassembly (answered by an ACK)") \
	X(OOO_FULL, ooo_full, "data past a hole that could not be kept (ranges or buffer full)") \
	X(RCV_BUF_FULL, rcv_buf_full, "data beyond the receive buffer")                        \
	X(TW_DROP, tw_drop, "TIME-WAIT: dropped (see the TIME-WAIT reason counters)")          \
	X(TW_NO_LISTENER, tw_no_listener, "TIME-WAIT: reopening SYN with no listener")

enum tcp_fsm_drop {
	TCP_FSM_DROP_BASE = TCP_DROP__COUNT - 1,
#define TCP_FSM_DROP_ENUM(NAME, name, desc) TCP_FD_##NAME,
	TCP_FSM_DROPS(TCP_FSM_DROP_ENUM)
#undef TCP_FSM_DROP_ENUM
	TCP_FD__END
};

/* TCB flags. */
#define TF_USED 0x0001	    /* index allocated */
#define TF_LISTENER 0x0002  /* a listening socket */
#define TF_APP 0x0004	    /* the application holds the socket */
#define TF_IN_TABLE 0x0008  /* its key is in the connection table */
#define TF_FIN_QUEUED 0x0010 /* the application is done sending: FIN after the data */
#define TF_FIN_SENT 0x0020  /* our FIN has a sequence number (snd_fin) */
#define TF_PEER_FIN 0x0040  /* the peer's FIN was received */
#define TF_SHUT_RD 0x0080   /* shutdown(RD): received data is dropped unread */
#define TF_PASSIVE 0x0100   /* opened by a SYN to a listener */
#define TF_ACCEPTQ 0x0200   /* established, waiting in its listener's accept queue */
#define TF_ACK_NOW 0x0400   /* an ACK must go out with the next output */
#define TF_ERR_TOLD 0x0800  /* the pending error was returned once */
#define TF_EOF_TOLD 0x1000  /* PEER_FIN was signalled */
#define TF_WRITABLE 0x2000  /* a send was short: signal WRITABLE when room returns */
#define TF_PERSIST 0x4000   /* the RTX timer is the zero-window probe */
#define TF_IN_TW 0x8000	    /* its connection went on in a TIME-WAIT entry of the table */
#define TF_ORPHAN 0x10000   /* closed by the application; the connection finishes alone */
#define TF_LINGER 0x20000   /* coda_tcp_set_linger(on): linger_ms applies at close() */
#define TF_EV_QUEUED 0x40000 /* in the stack's event queue (ev_pend has bits) */
#define TF_OUT_DEFER 0x80000 /* sent to from a callback: output when the callback returns */

struct tcp_ring {
	uint8_t *buf;
	uint32_t size, head, len; /* bytes [head, head + len) modulo size */
};

struct tcb {
	struct coda_conntab_key key;
	uint32_t flags;
	uint8_t state;
	uint8_t backoff;    /* retransmission timeouts in a row */
	uint8_t snd_wscale; /* the peer's shift, applied to its window */
	uint8_t rcv_wscale; /* ours, applied to the window we advertise */
	uint8_t dupacks;
	uint8_t close_reason;
	bool ws_ok, ts_ok, sack_ok;
	int err; /* pending error for the application, negative errno */
	uint32_t iss, irs;
	uint32_t snd_una, snd_nxt, snd_max, snd_data, snd_fin;
	uint32_t snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint32_t rcv_nxt, rcv_adv; /* rcv_adv: right edge of the window we advertised */
	uint32_t cwnd, ssthresh, recover;
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_ms;
	uint16_t mss; /* our send MSS */
	uint32_t srtt8, rttvar4, rto; /* RFC 6298, ms, scaled as in the RFC's Jacobson form */
	uint32_t rtt_seq;	      /* timing this sequence number, when rtt_time != 0 */
	uint64_t rtt_time;
	uint64_t rtx_start;  /* when the oldest unacknowledged segment was first sent (R2) */
	uint64_t last_oow_ms; /* last rate-limited ACK (RFC 5961 challenge, out of window) */
	uint64_t last_rx;     /* when the last segment arrived (keepalive) */
	uint8_t kprobes;      /* keepalive probes sent without an answer */
	uint32_t linger_ms;   /* with TF_LINGER */
	uint8_t ev_pend;      /* events held back during a segment: 1 << enum coda_tcp_event */
	struct tcp_ring snd, rcv;
	/*
	 * Out-of-order data, already in the receive ring at its place past the
	 * in-order bytes: up to TCP_OOO_MAX sequence ranges [start, end).
	 */
	uint8_t nb_ooo;
	struct {
		uint32_t start, end;
	} ooo[4];
	/* Listener: accept queue and counts. Child: its listener. */
	uint32_t parent;
	uint32_t aq_next, aq_head, aq_tail;
	uint32_t backlog, pending;
};

struct coda_tcp_stack {
	struct coda_tcp_conf conf;
	struct coda_conntab *ct;
	struct coda_wheel *wheel;
	struct tcb *tcb;
	uint32_t *lsn;	 /* the listening sockets' indices, in listen order */
	uint32_t nb_lsn; /* ... how many */
	coda_tcp_tx_fn tx;
	void *tx_arg;
	coda_tcp_event_fn ev;
	void *ev_arg;
	struct tcp_tw_conf twc;
	uint64_t now;
	uint64_t chack_sec;   /* second of the global challenge-ACK count */
	uint32_t chack_count; /* challenge ACKs sent in that second */
	uint16_t next_port;   /* ephemeral port search start */
	uint32_t cap_tw, cap_tw6; /* TIME-WAIT capacities at creation (conf.nb_tw* may be lower) */
	uint32_t depth;	      /* > 0 inside coda_tcp_timers() or an application callback */
	bool in_input;	      /* inside coda_tcp_input(): events wait in evq */
	uint8_t nb_evq;
	uint32_t evq[8];      /* TCBs with events held back, in the order they got them */
	uint32_t outq[16];    /* TCBs sent to from a callback, output when it returns */
	uint32_t nb_outq;
	struct coda_tcp_stats st;
	uint8_t out[TCP_HDR_MAX_LEN + 65536]; /* segment being built */
};

/*
 * The events of the state machine: what moves a connection from one state
 * to another. The transition table in tcp_stack.c maps (state, event) to
 * the next state; docs/fsm.md is generated from it. RST reception is an
 * event here for the table's completeness, but the decision whether an RST
 * is accepted stays in tcp_input.c (RFC 5961, RFC 1337).
 */
#define TCP_FSM_EVENTS(X)                                                                      \
	X(LISTEN, "listen()")                                                                  \
	X(CONNECT, "connect(): SYN sent")                                                      \
	X(RCV_SYN, "SYN received")                                                             \
	X(RCV_SYN_ACK, "SYN,ACK of our SYN received")                                          \
	X(RCV_ACK_OF_SYN, "ACK of our SYN received")                                           \
	X(CLOSE, "close() or shutdown(WR)")                                                    \
	X(RCV_FIN, "FIN received")                                                             \
	X(RCV_FIN_ACK, "FIN received that also acknowledges our FIN")                          \
	X(RCV_ACK_OF_FIN, "ACK of our FIN received")                                           \
	X(RCV_RST, "acceptable RST received")                                                  \
	X(ABORT, "abort(), close() with unread data or linger 0, data after close(), linger time over") \
	X(TIMEOUT, "user timeout, orphaned FIN-WAIT-2 timeout, keepalive")                     \
	X(TW_EXPIRE, "2 MSL timer")

enum tcp_fsm_event {
#define TCP_FSM_EVENT_ENUM(name, desc) TCP_EV_##name,
	TCP_FSM_EVENTS(TCP_FSM_EVENT_ENUM)
#undef TCP_FSM_EVENT_ENUM
	TCP_EV__COUNT
};

/* One cell of the transition table. */
struct tcp_fsm_cell {
	uint8_t ok;	  /* the transition exists */
	uint8_t next;	  /* enum coda_tcp_state */
	const char *why;  /* the RFC's words, or the policy */
	const char *test; /* a test that takes it */
};

/* The table (read-only; for docs/fsm.md and its test). */
const struct tcp_fsm_cell *tcp_fsm_cell(enum coda_tcp_state st, enum tcp_fsm_event ev);
const char *tcp_fsm_event_name(enum tcp_fsm_event ev);
const char *tcp_fsm_event_desc(enum tcp_fsm_event ev);
/* Write docs/fsm.md's text into buf (at most len bytes, NUL-terminated); the length it needs. */
size_t tcp_fsm_markdown(char *buf, size_t len);

/* tcp_stack.c */
enum coda_tcp_state tcp_set_state(struct coda_tcp_stack *s, struct tcb *t,
				  enum tcp_fsm_event ev);
void tcp_close_tcb(struct coda_tcp_stack *s, struct tcb *t, enum tcp_fsm_event ev,
		   enum coda_tcp_close_reason why, int err);
int tcp_enter_time_wait(struct coda_tcp_stack *s, struct tcb *t);
struct tcb *tcp_new_tcb(struct coda_tcp_stack *s);
void tcp_event(struct coda_tcp_stack *s, struct tcb *t, enum coda_tcp_event ev);
uint32_t tcp_isn(const struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint64_t now);
uint32_t tcp_ts_offset(const struct coda_tcp_stack *s, const struct coda_conntab_key *k);
int tcp_bufs_alloc(struct coda_tcp_stack *s, struct tcb *t);
int tcp_listener_find(const struct coda_tcp_stack *s, const struct coda_conntab_key *k);
void tcp_drop(struct coda_tcp_stack *s, unsigned int reason);
bool tcp_ack_rate_ok(struct coda_tcp_stack *s, struct tcb *t, bool challenge);
void tcp_catch_up(struct coda_tcp_stack *s, uint64_t now);

/*
 * The MSS we announce and send at most on a connection of @p family:
 * conf.mss is for IPv4; an IPv6 header is 20 bytes longer, so the same MTU
 * leaves 20 bytes less (RFC 8200 §5, RFC 9293 §3.7.1).
 */
static inline uint16_t
tcp_mss_local(const struct coda_tcp_stack *s, uint8_t family)
{
	return (uint16_t)(s->conf.mss - (family == AF_INET6 ? 20 : 0));
}
void tcp_event_flush(struct coda_tcp_stack *s);

static inline uint32_t
tcp_idx(const struct coda_tcp_stack *s, const struct tcb *t)
{
	return (uint32_t)(t - s->tcb);
}

static inline uint32_t
ring_free(const struct tcp_ring *r)
{
	return r->size - r->len;
}

/* Copy n bytes into ring r at offset off from its head, wrapping around. */
static inline void
ring_put(struct tcp_ring *r, uint32_t off, const uint8_t *p, uint32_t n)
{
	uint32_t pos = (r->head + off) % r->size, first = r->size - pos;

	if (first > n)
		first = n;
	memcpy(r->buf + pos, p, first);
	memcpy(r->buf, p + first, n - first);
}

/* Copy n bytes out of ring r from offset off from its head, wrapping around. */
static inline void
ring_get(const struct tcp_ring *r, uint32_t off, uint8_t *p, uint32_t n)
{
	uint32_t pos = (r->head + off) % r->size, first = r->size - pos;

	if (first > n)
		first = n;
	memcpy(p, r->buf + pos, first);
	memcpy(p + first, r->buf, n - first);
}

/*
 * The highest sequence number sent (SND.MAX): what pure ACKs, RSTs and a
 * TIME-WAIT entry carry, since SND.NXT goes back to SND.UNA on a timeout.
 */
static inline uint32_t
tcp_snd_max(const struct tcb *t)
{
	return coda_seq_gt(t->snd_max, t->snd_nxt) ? t->snd_max : t->snd_nxt;
}

/* Our window scale shift: the least that lets the window field cover the receive buffer. */
static inline uint8_t
tcp_rcv_wscale(uint32_t rcv_buf)
{
	uint8_t sh = 0;

	while (sh < 14 && (rcv_buf >> sh) > 65535)
		sh++;
	return sh;
}

/* tcp_output.c */
void tcp_output(struct coda_tcp_stack *s, struct tcb *t, uint64_t now);
void tcp_send_ack(struct coda_tcp_stack *s, struct tcb *t, uint64_t now);
void tcp_retransmit_one(struct coda_tcp_stack *s, struct tcb *t, uint64_t now);
void tcp_send_rst_for(struct coda_tcp_stack *s, const struct coda_conntab_key *k,
		      const struct tcp_seg *seg);
void tcp_send_rst_tcb(struct coda_tcp_stack *s, struct tcb *t, uint64_t now, bool with_ack);
void tcp_send_raw(struct coda_tcp_stack *s, const struct coda_conntab_key *k, uint32_t seq,
		  uint32_t ack, uint8_t flags, uint16_t wnd, bool ts, uint32_t tsval,
		  uint32_t tsecr);
uint32_t tcp_rcv_wnd(const struct tcb *t);
uint16_t tcp_wnd_value(const struct tcb *t);
uint32_t tcp_tsval(const struct tcb *t, uint64_t now);

/* tcp_timer.c */
void tcp_timer_arm(struct coda_tcp_stack *s, struct tcb *t, enum tcp_timer k, uint64_t at);
void tcp_timer_cancel(struct coda_tcp_stack *s, struct tcb *t, enum tcp_timer k);
bool tcp_timer_pending(const struct coda_tcp_stack *s, const struct tcb *t, enum tcp_timer k);
void tcp_timers_cancel_all(struct coda_tcp_stack *s, struct tcb *t);
void tcp_rtt_sample(struct coda_tcp_stack *s, struct tcb *t, uint32_t rtt);

/* tcp_input.c */
void tcp_input_tcb(struct coda_tcp_stack *s, struct tcb *t, struct tcp_seg *seg, uint64_t now);

#endif /* CODA_TCP_PRIVATE_H */
