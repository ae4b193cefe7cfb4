/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the coda-perf-* benchmarks: clock, results (table and
 * DESIGN.md §10 JSON), PRNG, shuffles, prefaulted memory. See bench.h.
 */

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_eal.h>

#include "bench.h"

#define HUGE_2M (UINT64_C(2) << 20)

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

void
bench_report_init(struct bench_report *r, const char *bench)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->bench, sizeof(r->bench), "%s", bench);
}

void
bench_report_free(struct bench_report *r)
{
	free(r->results);
	r->results = NULL;
	r->nb_results = 0;
	r->capacity = 0;
}

static int
figure_ok(double x)
{
	return isfinite(x) && x > 0;
}

int
bench_report_add(struct bench_report *r, const char *metric, const char *unit, double coda,
		 const char *baseline_name, double baseline, enum bench_better better)
{
	struct bench_result *res;

	if (!figure_ok(coda) || !figure_ok(baseline))
		return -EINVAL;
	if (r->nb_results == r->capacity) {
		unsigned int cap = r->capacity ? r->capacity * 2 : 16;

		res = realloc(r->results, cap * sizeof(*res));
		if (res == NULL)
			return -ENOMEM;
		r->results = res;
		r->capacity = cap;
	}
	res = &r->results[r->nb_results++];
	memset(res, 0, sizeof(*res));
	snprintf(res->metric, sizeof(res->metric), "%s", metric);
	snprintf(res->unit, sizeof(res->unit), "%s", unit);
	snprintf(res->baseline_name, sizeof(res->baseline_name), "%s", baseline_name);
	res->coda = coda;
	res->baseline = baseline;
	res->better = better;
	return 0;
}

double
bench_result_ratio(const struct bench_result *res)
{
	if (res->better == BENCH_LOWER)
		return res->baseline / res->coda;
	return res->coda / res->baseline;
}

static const char *
better_name(enum bench_better b)
{
	return b == BENCH_LOWER ? "lower" : "higher";
}

void
bench_report_print(const struct bench_report *r, FILE *f)
{
	int wm = (int)strlen("metric"), wb = (int)strlen("baseline name");
	unsigned int i;

	for (i = 0; i < r->nb_results; i++) {
		int l = (int)strlen(r->results[i].metric);
		int b = (int)strlen(r->results[i].baseline_name);

		wm = l > wm ? l : wm;
		wb = b > wb ? b : wb;
	}
	fprintf(f, "%-*s  %-8s  %12s  %-*s  %12s  %8s  %s\n", wm, "metric", "unit", "coda", wb,
		"baseline name", "baseline", "ratio", "better");
	for (i = 0; i < r->nb_results; i++) {
		const struct bench_result *res = &r->results[i];

		fprintf(f, "%-*s  %-8s  %12.2f  %-*s  %12.2f  %8.2f  %s\n", wm, res->metric, res->unit,
			res->coda, wb, res->baseline_name, res->baseline, bench_result_ratio(res),
			better_name(res->better));
	}
}

int
bench_report_write_json(const struct bench_report *r, const char *path)
{
	char machine[256];
	json_t *root, *arr;
	unsigned int i;
	int ret = -ENOMEM;

	bench_machine(machine, sizeof(machine));
	root = json_object();
	arr = json_array();
	if (root == NULL || arr == NULL)
		goto err;
	if (json_object_set_new(root, "bench", json_string(r->bench)) ||
	    json_object_set_new(root, "machine", json_string(machine)))
		goto err;
	for (i = 0; i < r->nb_results; i++) {
		const struct bench_result *res = &r->results[i];
		json_t *o = json_pack("{s:s, s:s, s:f, s:s, s:f, s:f, s:s}", "metric", res->metric,
				      "unit", res->unit, "coda", res->coda, "baseline_name",
				      res->baseline_name, "baseline", res->baseline, "ratio",
				      bench_result_ratio(res), "better", better_name(res->better));

		if (o == NULL || json_array_append_new(arr, o))
			goto err;
	}
	if (json_object_set_new(root, "results", arr)) {
		arr = NULL; /* json_object_set_new() released it. */
		goto err;
	}
	arr = NULL;
	ret = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? -EIO : 0;
err:
	json_decref(arr);
	json_decref(root);
	return ret;
}

void
bench_machine(char *buf, size_t len)
{
	char line[512], model[256] = "unknown CPU";
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon, *v, *end;

		if (strncmp(line, "model name", 10) != 0 || (colon = strchr(line, ':')) == NULL)
			continue;
		for (v = colon + 1; isspace((unsigned char)*v); v++)
			;
		end = v + strlen(v);
		while (end > v && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*v != '\0')
			snprintf(model, sizeof(model), "%s", v);
		break;
	}
	if (f != NULL)
		fclose(f);
	snprintf(buf, len, "%ld x %s", nproc > 0 ? nproc : 1, model);
}

uint64_t
bench_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
bench_rng_seed(struct bench_rng *rng, uint64_t seed)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		rng->s[i] = bench_splitmix64(&seed);
}

void
bench_shuffle_u32(uint32_t *a, size_t n, struct bench_rng *rng)
{
	size_t i;

	/* Fisher-Yates: a[i] swaps with a uniform a[j], j in [0, i]. */
	for (i = n; i > 1; i--) {
		size_t j = (size_t)(((bench_rng_next(rng) >> 32) * (uint64_t)i) >> 32);
		uint32_t t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

void
bench_permutation_u32(uint32_t *a, size_t n, struct bench_rng *rng)
{
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = (uint32_t)i;
	bench_shuffle_u32(a, n, rng);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
bench_median(double *v, unsigned int n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void *
bench_alloc_prefault(size_t size)
{
	size_t rounded = (size + HUGE_2M - 1) & ~(HUGE_2M - 1);
	void *p;

	if (rounded == 0)
		rounded = HUGE_2M;
	p = aligned_alloc(HUGE_2M, rounded);
	if (p == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
	/* Writing every byte faults every page in now, not in a timed loop. */
	memset(p, 0, rounded);
	return p;
}

void
bench_free(void *p)
{
	free(p);
}

int
bench_parse_u32_list(const char *s, uint32_t *out, unsigned int max)
{
	unsigned int n = 0;

	while (*s != '\0') {
		unsigned long long v;
		char *end;

		if (n == max || !isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || v == 0 || v > UINT32_MAX)
			return -EINVAL;
		out[n++] = (uint32_t)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -EINVAL;
	}
	return n > 0 ? (int)n : -EINVAL;
}

int
bench_fail(const char *prog, const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", prog, who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

int
bench_report_finish(const struct bench_report *r, const char *prog, const char *subject,
		    const char *json)
{
	printf("\nratio > 1: %s is better (baseline / coda for lower-is-better)\n", subject);
	bench_report_print(r, stdout);
	if (json != NULL) {
		int e = bench_report_write_json(r, json);

		if (e < 0) {
			fprintf(stderr, "%s: cannot write %s: %s\n", prog, json, strerror(-e));
			return -1;
		}
	}
	return 0;
}

void
bench_eal_cleanup(void)
{
	char rundir[PATH_MAX];

	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	/* With --no-shconf the EAL leaves its runtime directory empty: remove it. */
	if (rundir[0] != '\0')
		(void)rmdir(rundir);
}
