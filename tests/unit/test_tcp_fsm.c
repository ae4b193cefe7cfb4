/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The transition table of lib/tcp and its documentation:
 *  - docs/fsm.md is exactly what tcp_fsm_markdown() generates from the
 *    table (regenerate with `test_tcp_fsm --write docs/fsm.md`);
 *  - every cell names a test, and that test exists in tests/unit/ or
 *    tests/conformance/ (the source directories are given as arguments);
 *  - the table itself is sane: every state but CLOSED can reach CLOSED,
 *    every cell's next state is a state.
 *
 * usage: test_tcp_fsm DOCS_FSM_MD SRCDIR... | test_tcp_fsm --write FILE
 */

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcp_private.h"

static const char *doc_path;
static char **src_dirs;
static int nb_src_dirs;

static char *
generate(size_t *len)
{
	size_t n = tcp_fsm_markdown(NULL, 0);
	char *buf = malloc(n + 1);

	assert_non_null(buf);
	assert_int_equal(tcp_fsm_markdown(buf, n + 1), n);
	*len = n;
	return buf;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
test_doc_is_generated_from_table(void **state)
{
	size_t glen, flen = 0;
	char *gen = generate(&glen), *file;

	(void)state;
	file = slurp(doc_path, &flen);
	if (file == NULL)
		fail_msg("cannot read %s", doc_path);
	if (flen != glen || memcmp(file, gen, glen) != 0)
		fail_msg("%s differs from the transition table: regenerate it with "
			 "`test_tcp_fsm --write %s`",
			 doc_path, doc_path);
	free(file);
	free(gen);
}

/* Whether a C file in one of the source directories defines function `name` (at a line start). */
static bool
test_defined(const char *name)
{
	char pat[256];

	snprintf(pat, sizeof(pat), "\n%s(", name);
	for (int d = 0; d < nb_src_dirs; d++) {
		DIR *dir = opendir(src_dirs[d]);
		struct dirent *e;

		assert_non_null(dir);
		while ((e = readdir(dir)) != NULL) {
			size_t l = strlen(e->d_name), len;
			char path[1024], *text;
			bool found;

			if (l < 3 || strcmp(e->d_name + l - 2, ".c") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", src_dirs[d], e->d_name);
			text = slurp(path, &len);
			if (text == NULL)
				continue;
			found = strstr(text, pat) != NULL;
			free(text);
			if (found) {
				closedir(dir);
				return true;
			}
		}
		closedir(dir);
	}
	return false;
}

static void
test_every_cell_has_an_existing_test(void **state)
{
	unsigned int st, ev, cells = 0;

	(void)state;
	for (st = 0; st < CODA_TCP_S__COUNT; st++)
		for (ev = 0; ev < TCP_EV__COUNT; ev++) {
			const struct tcp_fsm_cell *c = tcp_fsm_cell(st, ev);

			if (!c->ok)
				continue;
			cells++;
			assert_non_null(c->test);
			assert_non_null(c->why);
			assert_true(c->next < CODA_TCP_S__COUNT);
			if (!test_defined(c->test))
				fail_msg("%s x %s names %s, which no test source defines",
					 coda_tcp_state_name(st), tcp_fsm_event_name(ev), c->test);
		}
	print_message("%u transitions, each with its test\n", cells);
	assert_true(cells >= 40);
}

/* From every state, some path of transitions leads to CLOSED. */
static void
test_every_state_can_close(void **state)
{
	bool reach[CODA_TCP_S__COUNT] = {false}, changed = true;
	unsigned int st, ev;

	(void)state;
	reach[CODA_TCP_S_CLOSED] = true;
	while (changed) {
		changed = false;
		for (st = 0; st < CODA_TCP_S__COUNT; st++)
			for (ev = 0; ev < TCP_EV__COUNT && !reach[st]; ev++) {
				const struct tcp_fsm_cell *c = tcp_fsm_cell(st, ev);

				if (c->ok && reach[c->next]) {
					reach[st] = true;
					changed = true;
				}
			}
	}
	for (st = 0; st < CODA_TCP_S__COUNT; st++)
		if (!reach[st])
			fail_msg("%s cannot reach CLOSED", coda_tcp_state_name(st));
	assert_null(tcp_fsm_cell(CODA_TCP_S__COUNT, 0));
	assert_null(tcp_fsm_event_name(TCP_EV__COUNT));
	assert_string_equal(tcp_fsm_event_name(TCP_EV_RCV_FIN), "RCV_FIN");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_is_generated_from_table),
		cmocka_unit_test(test_every_cell_has_an_existing_test),
		cmocka_unit_test(test_every_state_can_close),
	};

	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		size_t len;
		char *gen = generate(&len);
		FILE *f = fopen(argv[2], "wb");

		if (f == NULL || fwrite(gen, 1, len, f) != len || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", argv[2]);
			return 1;
		}
		free(gen);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: %s DOCS_FSM_MD SRCDIR... | %s --write FILE\n", argv[0],
			argv[0]);
		return 2;
	}
	doc_path = argv[1];
	src_dirs = argv + 2;
	nb_src_dirs = argc - 2;
	return cmocka_run_group_tests_name("tcp_fsm", tests, NULL, NULL);
}
