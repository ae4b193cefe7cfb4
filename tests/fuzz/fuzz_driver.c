/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The deterministic driver of fuzz_tcp_input.c, for builds without
 * libFuzzer (gcc, clang, ASan+UBSan: the `fast` suite). It runs the target
 * over every file named on the command line (a directory: its files, in
 * name order), each in a child process so that every failing file is
 * named, then over generated inputs from a fixed seed:
 *
 *   - programs: well-formed record programs written by the scenario
 *     generator below (handshakes both ways, data, the closes, resets,
 *     timers, application calls on held and stale sockets, odd segments);
 *   - mutations: corpus files (but the crash-* reproducers) and earlier
 *     programs with bits flipped, bytes set, ranges inserted, deleted,
 *     duplicated or spliced;
 *   - random: bytes, sometimes after a default configuration.
 *
 * A failing corpus file is reported and the run goes on (exit status 1 at
 * the end). A failing generated input aborts the run, with the record that
 * failed, and is written to fuzz_tcp_input-crash.bin (or
 * $CODA_FUZZ_CRASH_FILE) in the working directory. Rerun an input with
 * CODA_FUZZ_TRACE=1 to read what happened (-n 0 FILE runs one file); the
 * same input always does the same thing. At the end it prints how many
 * inputs ran, how often each record type and each state was reached, and
 * exits 1 if some state was never reached (the harness no longer gets deep
 * enough to test anything).
 *
 *   fuzz_tcp_input [-n N] [-s SEED] [PATH...]
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tcp_seg.h"

#include "fuzz_tcp_input.h"

/* Generated inputs by default: about 4 s in a debugoptimized build, 35 s under ASan+UBSan. */
#define DEFAULT_RUNS 8000
#define GEN_MAX 4096
#define POOL 64
#define FILE_MAX (1u << 20)

static uint64_t rng_state;

/* xorshift64*: small, fast and the same everywhere. */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static uint32_t
rn(uint32_t n)
{
	return (uint32_t)((rnd() >> 16) % n);
}

/* A view of an input. */
struct buf {
	const uint8_t *b;
	size_t n;
};

/* A corpus file, read whole. */
struct file {
	char *name;
	uint8_t *b;
	size_t n;
	bool seed; /* a seed to mutate; not a crash-* reproducer, which only runs */
};

struct gen {
	uint8_t b[GEN_MAX];
	size_t n;
};

static void
put(struct gen *g, uint32_t v)
{
	if (g->n < GEN_MAX)
		g->b[g->n++] = (uint8_t)v;
}

static void
put16(struct gen *g, uint32_t v)
{
	put(g, v >> 8);
	put(g, v);
}

static void
put32(struct gen *g, uint32_t v)
{
	put16(g, v >> 16);
	put16(g, v);
}

static void
op(struct gen *g, enum fz_op o, unsigned int h)
{
	put(g, (h << 4) | (unsigned int)o);
}

/* --- programs ------------------------------------------------------------------ */

/* A small signed delta, mostly 0. */
static uint32_t
delta(void)
{
	static const int16_t d[] = {0, 0, 0, 0, 1, -1, 2, -2, 64, -64, 1000, -1000, 32767, -32768};

	return (uint32_t)(uint16_t)d[rn(sizeof(d) / sizeof(d[0]))];
}

/* A SEG record with fields drawn at random, leaning towards acceptable ones. */
static void
gen_seg(struct gen *g, unsigned int slot)
{
	static const uint8_t flags[] = {
		TCP_ACK,	   TCP_ACK,	      TCP_ACK | TCP_PSH, TCP_SYN, TCP_SYN | TCP_ACK,
		TCP_FIN | TCP_ACK, TCP_RST,	      TCP_RST | TCP_ACK, TCP_FIN, 0,
		TCP_SYN | TCP_FIN, TCP_ACK | TCP_URG, TCP_ACK | TCP_ECE | TCP_CWR};
	uint8_t mode, more;

	/* One draw per statement: the order of operands is unspecified, and runs must repeat. */
	if (rn(4) == 0) {
		mode = (uint8_t)rnd();
	} else {
		mode = (uint8_t)(rnd() & 0xf0);
		if (rn(3) == 0)
			mode |= (uint8_t)(rnd() & 15);
	}
	more = (uint8_t)(rn(4) == 0 ? rnd() & 0x0f : 0);

	op(g, FZ_OP_SEG, slot);
	put(g, rn(5) == 0 ? (uint32_t)rnd() : flags[rn(sizeof(flags))]);
	put(g, mode);
	put(g, more);
	for (unsigned int i = 0; i < 2; i++) {
		if (((mode >> (2 * i)) & 3) == 2)
			put32(g, (uint32_t)rnd());
		else
			put16(g, delta());
	}
	put16(g, rn(3) == 0 ? (uint32_t)rnd() : 65535);
	put(g, rn(3) == 0 ? rn(256) : rn(4) == 0 ? 0 : rn(200));
	if (mode & FZ_M_TS)
		put(g, rn(2) ? 0 : (uint32_t)rnd());
	if (mode & FZ_M_MSS)
		put16(g, rn(2) ? 1460 : (uint32_t)rnd());
	if (mode & FZ_M_WS)
		put(g, rn(16));
	if (more & FZ_X_SACK) {
		uint32_t n = rn(4) + 1;

		put(g, n - 1);
		for (uint32_t i = 0; i < 2 * n; i++)
			put(g, rn(8));
	}
	if (more & FZ_X_RAWOPT) {
		uint32_t n = rn(12);

		put(g, n);
		for (uint32_t i = 0; i < n; i++)
			put(g, rn(3) == 0 ? rn(10) : (uint32_t)rnd());
	}
	if (more & FZ_X_URG)
		put16(g, (uint32_t)rnd());
	if (more & FZ_X_DOFF)
		put(g, rn(16));
}

static void
reply(struct gen *g, unsigned int slot, unsigned int kind, unsigned int len64)
{
	op(g, FZ_OP_REPLY, slot);
	put(g, kind | (len64 << 3));
}

/* A socket byte: mostly one the application holds, sometimes any number. */
static uint32_t
sockb(void)
{
	return rn(8) == 0 ? 0xf0 | rn(16) : rn(8);
}

static void
gen_config(struct gen *g)
{
	if (rn(3) == 0) {
		for (unsigned int i = 0; i < FZ_CONF_BYTES; i++)
			put(g, 0);
		return;
	}
	put(g, rn(2) ? (uint32_t)rnd() : rnd() & 0x81);
	put(g, rn(2) ? (uint32_t)rnd() : rnd() & 0x3c);
	put(g, rn(2) ? (uint32_t)rnd() : rnd() & 0x55);
	put(g, (uint32_t)rnd());
	put(g, rn(2) ? (uint32_t)rnd() : 0);
	put(g, (uint32_t)rnd());
}

static void
gen_program(struct gen *g)
{
	unsigned int slot = rn(FZ_SLOTS), steps = 1 + rn(48);

	g->n = 0;
	gen_config(g);
	if (rn(4) != 0) {
		op(g, FZ_OP_LISTEN, (slot & 1) | (slot >= 6 ? 2 : 0) | (rn(4) == 0 ? 4 : 0));
		put(g, 1 + rn(4));
	}
	while (steps-- > 0) {
		uint32_t c = rn(100);

		if (rn(10) == 0)
			slot = rn(FZ_SLOTS);
		if (c < 12) {
			reply(g, slot, FZ_REPLY_SYN, 0);
			if (rn(4) == 0) {
				op(g, FZ_OP_ADVANCE, 0);
				put(g, rn(256));
			}
			reply(g, slot, FZ_REPLY_ACK, 0);
			op(g, FZ_OP_ACCEPT, 0);
			put(g, sockb());
		} else if (c < 18) {
			op(g, FZ_OP_CONNECT, slot);
			put(g, rn(4) == 0);
			if (rn(4) != 0)
				reply(g, slot, rn(8) == 0 ? FZ_REPLY_SYN : FZ_REPLY_SYNACK, 0);
		} else if (c < 30) {
			unsigned int kind = rn(5) == 0 ? FZ_REPLY_DATAFIN : FZ_REPLY_DATA;

			reply(g, slot, kind, rn(32));
		} else if (c < 38) {
			reply(g, slot, FZ_REPLY_ACK, 0);
		} else if (c < 42) {
			reply(g, slot, FZ_REPLY_FIN, 0);
		} else if (c < 44) {
			/* A FIN that does not acknowledge ours yet: CLOSING after our FIN. */
			op(g, FZ_OP_SEG, slot);
			put(g, TCP_FIN | TCP_ACK);
			put(g, FZ_M_TS | (FZ_SEQ_STACK_ACK) | (FZ_ACK_STACK_END << 2));
			put(g, 0);
			put16(g, 0);
			put16(g, 0xffff); /* ack: one short of everything sent */
			put16(g, 65535);
			put(g, 0);
			put(g, 0);
		} else if (c < 46) {
			reply(g, slot, rn(2) ? FZ_REPLY_RST : FZ_REPLY_RSTACK, 0);
		} else if (c < 52) {
			op(g, FZ_OP_SEND, 0);
			put(g, sockb());
			put(g, rn(3) == 0 ? (uint32_t)rnd() : rn(128));
		} else if (c < 58) {
			op(g, FZ_OP_RECV, 0);
			put(g, sockb());
			put(g, (uint32_t)rnd());
		} else if (c < 61) {
			op(g, FZ_OP_SHUTDOWN, 0);
			put(g, sockb());
			put(g, rn(5));
		} else if (c < 65) {
			op(g, FZ_OP_CLOSE, 0);
			put(g, sockb());
			if (rn(2)) /* the peer acknowledges the FIN, then sends its own */
				reply(g, slot, FZ_REPLY_ACK, 0);
			if (rn(2))
				reply(g, slot, FZ_REPLY_FIN, 0);
		} else if (c < 67) {
			op(g, FZ_OP_ABORT, 0);
			put(g, sockb());
		} else if (c < 69) {
			op(g, FZ_OP_LINGER, 0);
			put(g, sockb());
			put(g, (uint32_t)rnd());
		} else if (c < 77) {
			op(g, FZ_OP_ADVANCE, 0);
			put(g, rn(3) == 0 ? (uint32_t)rnd() : rn(128));
		} else if (c < 80) {
			op(g, FZ_OP_ADV_NEXT, rn(16));
		} else if (c < 90) {
			gen_seg(g, slot);
		} else if (c < 93) {
			uint32_t n = rn(64);

			op(g, FZ_OP_RAW, slot);
			put(g, n);
			for (uint32_t i = 0; i < n; i++)
				put(g, (uint32_t)rnd());
		} else if (c < 96) {
			op(g, FZ_OP_DUP, slot);
		} else if (c < 98) {
			op(g, FZ_OP_QUERY, slot);
		} else {
			for (uint32_t i = rn(8) + 1; i > 0; i--)
				put(g, (uint32_t)rnd());
		}
	}
}

/* --- mutations ------------------------------------------------------------------- */

static void
gen_mutate(struct gen *g, const struct buf *base, const struct buf *other)
{
	static const uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x40};
	unsigned int k = 1 + rn(8);

	g->n = base->n < GEN_MAX ? base->n : GEN_MAX;
	memcpy(g->b, base->b, g->n);
	while (k-- > 0) {
		size_t at = g->n > 0 ? rn((uint32_t)g->n) : 0, len = 1 + rn(16);

		switch (rn(7)) {
		case 0:
			if (g->n > 0)
				g->b[at] ^= (uint8_t)(1u << rn(8));
			break;
		case 1:
			if (g->n > 0)
				g->b[at] = rn(2) ? (uint8_t)rnd() : interesting[rn(sizeof(interesting))];
			break;
		case 2: /* insert */
			if (g->n + len <= GEN_MAX) {
				memmove(g->b + at + len, g->b + at, g->n - at);
				for (size_t i = 0; i < len; i++)
					g->b[at + i] = (uint8_t)rnd();
				g->n += len;
			}
			break;
		case 3: /* delete */
			if (at + len <= g->n) {
				memmove(g->b + at, g->b + at + len, g->n - at - len);
				g->n -= len;
			}
			break;
		case 4: { /* duplicate a range somewhere */
			size_t to = g->n > 0 ? rn((uint32_t)g->n) : 0;

			if (at + len <= g->n && g->n + len <= GEN_MAX) {
				uint8_t tmp[16];

				memcpy(tmp, g->b + at, len);
				memmove(g->b + to + len, g->b + to, g->n - to);
				memcpy(g->b + to, tmp, len);
				g->n += len;
			}
			break;
		}
		case 5: /* splice: the tail of another input */
			if (other->n > 0) {
				size_t from = rn((uint32_t)other->n), n = other->n - from;

				if (at + n > GEN_MAX)
					n = GEN_MAX - at;
				memcpy(g->b + at, other->b + from, n);
				g->n = at + n;
			}
			break;
		default: /* truncate */
			if (g->n > FZ_CONF_BYTES)
				g->n = FZ_CONF_BYTES + rn((uint32_t)(g->n - FZ_CONF_BYTES));
			break;
		}
	}
}

static void
gen_random(struct gen *g)
{
	size_t n = rn(512);

	g->n = 0;
	if (rn(2))
		for (unsigned int i = 0; i < FZ_CONF_BYTES; i++)
			put(g, 0);
	while (g->n < n)
		put(g, (uint32_t)rnd());
}

/* --- corpus files ------------------------------------------------------------------ */

static struct file *corpus;
static size_t nb_corpus, nb_seeds;
static size_t *seeds; /* indices of the seeds in corpus[] */

static void
load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct file b;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	b.b = malloc(FILE_MAX);
	if (b.b == NULL)
		abort();
	b.n = fread(b.b, 1, FILE_MAX, f);
	fclose(f);
	b.name = strdup(path);
	if (b.name == NULL)
		abort();
	b.seed = strncmp(strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path, "crash-", 6) != 0;
	corpus = realloc(corpus, (nb_corpus + 1) * sizeof(*corpus));
	if (corpus == NULL)
		abort();
	if (b.seed) {
		seeds = realloc(seeds, (nb_seeds + 1) * sizeof(*seeds));
		if (seeds == NULL)
			abort();
		seeds[nb_seeds++] = nb_corpus;
	}
	corpus[nb_corpus++] = b;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
load_path(const char *path)
{
	struct stat sb;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	DIR *d;

	if (stat(path, &sb) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode)) {
		load_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		char full[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (names == NULL || (names[n] = strdup(full)) == NULL)
			abort();
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp); /* readdir's order is the filesystem's */
	for (size_t i = 0; i < n; i++) {
		load_file(names[i]);
		free(names[i]);
	}
	free(names);
}

/* --- a failing input is kept ---------------------------------------------------------- */

/* The input running, and where it goes if the target aborts. */
static const uint8_t *cur;
static size_t cur_len;
static const char *crash_path = "fuzz_tcp_input-crash.bin";

static void
on_abort(int sig)
{
	static const char msg1[] = "fuzz_tcp_input: the failing input is in ";
	static const char msg2[] = "; rerun it with CODA_FUZZ_TRACE=1 fuzz_tcp_input -n 0 FILE\n";
	int fd = cur != NULL ? open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;

	if (fd >= 0) {
		if (write(fd, cur, cur_len) < 0 || close(fd) != 0)
			_exit(3);
		if (write(2, msg1, sizeof(msg1) - 1) < 0 ||
		    write(2, crash_path, strlen(crash_path)) < 0 ||
		    write(2, msg2, sizeof(msg2) - 1) < 0)
			_exit(3);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
run(const uint8_t *b, size_t n)
{
	cur = b;
	cur_len = n;
	LLVMFuzzerTestOneInput(b, n);
}

/*
 * A corpus file runs in a child of its own, so that every failing one is
 * named (the seed corpus holds the reproducers of known bugs) and the run
 * goes on. Returns whether it passed.
 */
static bool
run_file(const struct file *f)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		cur = NULL; /* the input is a file already */
		LLVMFuzzerTestOneInput(f->b, f->n);
		exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(2);
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	fflush(stdout);
	fprintf(stderr, "fuzz_tcp_input: FAILED: %s (%s %d)\n", f->name,
		WIFSIGNALED(status) ? "signal" : "exit status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return false;
}

/* --- main ----------------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	static struct gen g, pool[POOL];
	uint64_t runs = DEFAULT_RUNS, seed = 0xc0da5eed, n_prog = 0, n_mut = 0, n_rand = 0;
	struct timespec t0, t1;
	unsigned int missing = 0, failed = 0;
	double secs;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			runs = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [-n N] [-s SEED] [PATH...]\n", argv[0]);
			return 2;
		} else
			load_path(argv[i]);
	}
	if (getenv("CODA_FUZZ_CRASH_FILE") != NULL)
		crash_path = getenv("CODA_FUZZ_CRASH_FILE");
	signal(SIGABRT, on_abort);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t k = 0; k < nb_corpus; k++)
		failed += !run_file(&corpus[k]);
	rng_state = seed != 0 ? seed : 1;
	for (uint64_t k = 0; k < runs; k++) {
		uint32_t c = rn(100);

		if (c < 45) {
			gen_program(&g);
			pool[k % POOL] = g;
			n_prog++;
		} else if (c < 80 && (k > 0 || nb_seeds > 0)) {
			struct buf base, other;
			const struct gen *pb = &pool[rn(POOL)], *po = &pool[rn(POOL)];

			if (nb_seeds > 0 && rn(3) == 0) {
				const struct file *f = &corpus[seeds[rn((uint32_t)nb_seeds)]];

				base.b = f->b;
				base.n = f->n;
			} else {
				base.b = pb->b;
				base.n = pb->n;
			}
			other.b = po->b;
			other.n = po->n;
			gen_mutate(&g, &base, &other);
			n_mut++;
		} else {
			gen_random(&g);
			n_rand++;
		}
		run(g.b, g.n);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("fuzz_tcp_input: %llu inputs in %.1f s: %zu corpus files (%u failed), %llu "
	       "programs, %llu mutations, %llu random (seed %#llx)\n",
	       (unsigned long long)(fz_totals.inputs + nb_corpus), secs, nb_corpus, failed,
	       (unsigned long long)n_prog, (unsigned long long)n_mut, (unsigned long long)n_rand,
	       (unsigned long long)seed);
	printf("  (the counts below are the generated inputs'; corpus files run in children)\n");
	printf("  records run:");
	for (unsigned int k = 0; k < FZ_OP__COUNT; k++)
		printf(" %s %llu", fz_op_name(k), (unsigned long long)fz_totals.records[k]);
	printf("\n  inputs that reached each state:");
	for (unsigned int k = 0; k < CODA_TCP_S__COUNT; k++) {
		printf(" %s %llu", coda_tcp_state_name((enum coda_tcp_state)k),
		       (unsigned long long)fz_totals.states[k]);
		if (fz_totals.states[k] == 0)
			missing++;
	}
	printf("\n  events: ACCEPTED %llu CONNECTED %llu READABLE %llu WRITABLE %llu "
	       "PEER_FIN %llu CLOSED %llu\n",
	       (unsigned long long)fz_totals.events[CODA_TCP_EV_ACCEPTED],
	       (unsigned long long)fz_totals.events[CODA_TCP_EV_CONNECTED],
	       (unsigned long long)fz_totals.events[CODA_TCP_EV_READABLE],
	       (unsigned long long)fz_totals.events[CODA_TCP_EV_WRITABLE],
	       (unsigned long long)fz_totals.events[CODA_TCP_EV_PEER_FIN],
	       (unsigned long long)fz_totals.events[CODA_TCP_EV_CLOSED]);
	printf("  segments sent %llu, payload bytes checked %llu, configurations refused %llu, "
	       "drained clean %llu\n",
	       (unsigned long long)fz_totals.tx_segments,
	       (unsigned long long)fz_totals.bytes_checked, (unsigned long long)fz_totals.no_stack,
	       (unsigned long long)fz_totals.drained);
	for (size_t k = 0; k < nb_corpus; k++) {
		free(corpus[k].b);
		free(corpus[k].name);
	}
	free(corpus);
	free(seeds);
	if (failed > 0) {
		printf("fuzz_tcp_input: %u corpus file(s) failed (see above)\n", failed);
		return 1;
	}
	if (missing > 0 && runs >= 1000) {
		printf("fuzz_tcp_input: %u state(s) never reached: the generator no longer gets "
		       "deep enough\n",
		       missing);
		return 1;
	}
	return 0;
}
