/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FUZZ_TCP_INPUT_H
#define FUZZ_TCP_INPUT_H

/*
 * The fuzz target of lib/tcp (DESIGN.md §9, tier 5) and what its
 * deterministic driver needs to write programs for it: the encoding of the
 * record program (described in full at the top of fuzz_tcp_input.c) and
 * the counters the target keeps across inputs.
 */

#include <stddef.h>
#include <stdint.h>

#include "coda_tcp.h"

/* libFuzzer's entry point: run one input as a record program. Always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes of configuration before the first record. */
#define FZ_CONF_BYTES 6

/* Record opcodes: the low nibble of a record's first byte; the high nibble is its argument. */
#define FZ_RECORDS(X)                                                                           \
	X(SEG, "segment built from fields")                                                    \
	X(RAW, "raw bytes as a segment")                                                       \
	X(ADVANCE, "advance the clock")                                                        \
	X(LISTEN, "listen()")                                                                  \
	X(CONNECT, "connect()")                                                                \
	X(ACCEPT, "accept()")                                                                  \
	X(SEND, "send()")                                                                      \
	X(RECV, "recv()")                                                                      \
	X(SHUTDOWN, "shutdown()")                                                              \
	X(CLOSE, "close()")                                                                    \
	X(ABORT, "abort()")                                                                    \
	X(REPLY, "peer's canned reply")                                                        \
	X(QUERY, "lookup(), next_timer(), timers() at the same time")                          \
	X(LINGER, "set_linger()")                                                              \
	X(DUP, "the last injected segment again")                                              \
	X(ADV_NEXT, "advance to the next timer")

enum fz_op {
#define FZ_OP_ENUM(name, desc) FZ_OP_##name,
	FZ_RECORDS(FZ_OP_ENUM)
#undef FZ_OP_ENUM
	FZ_OP__COUNT
};

/* SEG: the mode byte. */
#define FZ_SEQ_STACK_ACK 0 /* seq = the stack's last SEG.ACK + int16 */
#define FZ_SEQ_PEER_NXT 1  /* seq = the peer's own next sequence number + int16 */
#define FZ_SEQ_ABS 2	   /* seq = uint32 */
#define FZ_SEQ_FAR 3	   /* seq = the stack's last SEG.ACK + int16 x 1024 */
#define FZ_ACK_STACK_END 0 /* ack = end of what the stack sent + int16 */
#define FZ_ACK_STACK_SEQ 1 /* ack = the stack's last SEG.SEQ + int16 */
#define FZ_ACK_ABS 2	   /* ack = uint32 */
#define FZ_ACK_STACK_ISS 3 /* ack = the stack's ISS + int16 */
#define FZ_M_TS 0x10	   /* Timestamps option (int8 TSval delta follows) */
#define FZ_M_MSS 0x20	   /* MSS option (uint16 follows) */
#define FZ_M_WS 0x40	   /* Window Scale option (uint8 follows) */
#define FZ_M_SACKOK 0x80   /* SACK-permitted option */
/* SEG: the "more" byte. */
#define FZ_X_SACK 0x01	 /* SACK option: uint8 n, then n x (uint8, uint8) */
#define FZ_X_RAWOPT 0x02 /* raw option bytes: uint8 n, then n bytes */
#define FZ_X_URG 0x04	 /* urgent pointer: uint16 */
#define FZ_X_DOFF 0x08	 /* data offset forced: uint8 (low nibble) */

/* REPLY kinds (low 3 bits of its byte; the high 5 bits x 64 are the payload length). */
#define FZ_REPLY_ACK 0
#define FZ_REPLY_SYN 1
#define FZ_REPLY_SYNACK 2
#define FZ_REPLY_FIN 3
#define FZ_REPLY_RST 4
#define FZ_REPLY_RSTACK 5
#define FZ_REPLY_DATA 6
#define FZ_REPLY_DATAFIN 7

/* Slots: the 4-tuples a program talks about (the high nibble's low 3 bits pick one). */
#define FZ_SLOTS 8

/* What the target counted over every input it ran (the driver prints them). */
struct fz_totals {
	uint64_t inputs;
	uint64_t no_stack; /* inputs whose configuration coda_tcp_create() refused */
	uint64_t records[FZ_OP__COUNT];
	uint64_t tx_segments;
	uint64_t events[CODA_TCP_EV_CLOSED + 1];
	/* Inputs in which some connection was seen in each state (TIME-WAIT: an entry). */
	uint64_t states[CODA_TCP_S__COUNT];
	uint64_t bytes_checked; /* received and sent payload bytes checked against their pattern */
	uint64_t drained;	/* inputs whose final drain left nothing behind */
};

extern struct fz_totals fz_totals;

/* The name of record opcode @p op (NULL past the last). */
const char *fz_op_name(unsigned int op);

#endif /* FUZZ_TCP_INPUT_H */
