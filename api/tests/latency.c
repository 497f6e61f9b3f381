/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-api-latency: request latency of a running API server, one request
 * at a time on one keep-alive connection (as an orchestrator drives it).
 *
 *   ignis-api-latency --api-sock PATH [--requests N] [--warmup N] [METHOD PATH [BODY]]
 *
 * Default request: GET /. Prints p50/p90/p99/max/mean in microseconds; each
 * sample is the time from sending a request to having read its whole
 * response. Exits 1 if any response is not 2xx. Works against ignis,
 * Firecracker or api-test-server alike.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/client.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted @v. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);

	return (double)v[rank ? rank - 1 : 0] / 1000.0;
}

static int one(struct api_client *cl, const char *method, const char *path, const char *body)
{
	struct api_client_response resp;
	int ret = api_client_request(cl, method, path, body, &resp);

	if (ret) {
		fprintf(stderr, "ignis-api-latency: %s %s: %s\n", method, path, strerror(-ret));
		return -1;
	}
	ret = resp.status >= 200 && resp.status < 300 ? 0 : -1;
	if (ret)
		fprintf(stderr, "ignis-api-latency: %s %s: %d %s\n", method, path, resp.status,
			resp.body ? resp.body : "");
	api_client_response_release(&resp);
	return ret;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *method = "GET", *path = "/", *body = NULL;
	long requests = 10000, warmup = 200;
	struct api_client cl;
	uint64_t *samples, total = 0;
	int pos = 0, ret;

	const char **positional[] = { &method, &path, &body };
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--api-sock") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
			requests = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			warmup = strtol(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && pos < 3)
			*positional[pos++] = argv[i];
		else
			bad = 1;
	}
	if (bad || !sock || requests < 1 || warmup < 0) {
		fprintf(stderr, "usage: ignis-api-latency --api-sock PATH [--requests N] "
				"[--warmup N] [METHOD PATH [BODY]]\n");
		return 2;
	}
	ret = api_client_connect(&cl, sock, 10000);
	if (ret) {
		fprintf(stderr, "ignis-api-latency: %s: %s\n", sock, strerror(-ret));
		return 2;
	}
	samples = calloc((size_t)requests, sizeof(*samples));
	if (!samples)
		return 2;
	for (long i = 0; i < warmup; i++)
		if (one(&cl, method, path, body))
			return 1;
	for (long i = 0; i < requests; i++) {
		uint64_t t0 = now_ns();

		if (one(&cl, method, path, body))
			return 1;
		samples[i] = now_ns() - t0;
		total += samples[i];
	}
	api_client_close(&cl);
	qsort(samples, (size_t)requests, sizeof(*samples), cmp_u64);
	printf("%s %s: %ld requests on one connection: p50 %.1f us, p90 %.1f us, p99 %.1f us, "
	       "max %.1f us, mean %.1f us\n",
	       method, path, requests, pct_us(samples, (size_t)requests, 50),
	       pct_us(samples, (size_t)requests, 90), pct_us(samples, (size_t)requests, 99),
	       (double)samples[requests - 1] / 1000.0, (double)total / (double)requests / 1000.0);
	free(samples);
	return 0;
}
