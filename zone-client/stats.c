/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One hour at 60 Hz. */
#define MAX_SAMPLES (60 * 3600)

void zc_stats_init(struct zc_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void zc_stats_finish(struct zc_stats *s)
{
	free(s->latency);
	s->latency = NULL;
	s->n_latency = s->cap_latency = 0;
}

void zc_stats_add_latency(struct zc_stats *s, uint64_t ns)
{
	if (s->n_latency == s->cap_latency) {
		if (s->cap_latency >= MAX_SAMPLES) {
			return;
		}
		size_t cap = s->cap_latency ? s->cap_latency * 2 : 1024;
		uint64_t *n = realloc(s->latency, cap * sizeof(*n));
		if (!n) {
			return;
		}
		s->latency = n;
		s->cap_latency = cap;
	}
	s->latency[s->n_latency++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

uint64_t zc_stats_percentile(struct zc_stats *s, double pct)
{
	if (s->n_latency == 0) {
		return 0;
	}
	qsort(s->latency, s->n_latency, sizeof(*s->latency), cmp_u64);
	/* Nearest rank: the smallest sample with at least pct% at or below. */
	double rank = ceil(pct / 100.0 * (double)s->n_latency);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	if (i >= s->n_latency) {
		i = s->n_latency - 1;
	}
	return s->latency[i];
}

static void json_string(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
		} else if (*p < 0x20) {
			fprintf(f, "\\u%04x", *p);
		} else {
			fputc(*p, f);
		}
	}
	fputc('"', f);
}

int zc_stats_write_json(struct zc_stats *s, const struct zc_stats_info *info, FILE *f)
{
	double ms = 1e-6;
	fprintf(f, "{\n  \"zone\": ");
	json_string(f, info->zone ? info->zone : "");
	fprintf(f, ",\n  \"width\": %u,\n  \"height\": %u,\n", info->width, info->height);
	fprintf(f, "  \"frames_presented\": %llu,\n", (unsigned long long)s->frames_presented);
	fprintf(f, "  \"frames_dropped\": %llu,\n", (unsigned long long)s->frames_dropped);
	fprintf(f, "  \"crc_mismatches\": %llu,\n", (unsigned long long)s->crc_mismatches);
	fprintf(f, "  \"key_frames\": %llu,\n", (unsigned long long)s->key_frames);
	fprintf(f, "  \"bytes_received\": %llu,\n", (unsigned long long)s->bytes_received);
	fprintf(f, "  \"packets_received\": %llu,\n", (unsigned long long)s->packets_received);
	fprintf(f, "  \"packets_rejected\": %llu,\n", (unsigned long long)s->packets_rejected);
	fprintf(f, "  \"refresh_requests\": %llu,\n", (unsigned long long)s->refresh_requests);
	fprintf(f, "  \"nack_requests\": %llu,\n", (unsigned long long)s->nack_requests);
	fprintf(f, "  \"srtp_rejected\": %llu,\n", (unsigned long long)s->srtp_rejected);
	fprintf(f, "  \"stale\": {\"events\": %llu, \"total_ms\": %.3f, \"max_ms\": %.3f, "
		"\"now\": %s},\n", (unsigned long long)s->stale_events,
		(double)s->stale_ns_total * ms, (double)s->stale_ns_max * ms,
		s->stale_now ? "true" : "false");
	fprintf(f, "  \"present_source\": ");
	json_string(f, info->present_source ? info->present_source : "");
	fprintf(f, ",\n  \"clock\": \"%s\",\n", s->clock_ptp ? "ptp-tai" :
		s->clock_ntp ? "ntp-offset" : "same-host-monotonic");
	fprintf(f, "  \"clock_offset_ms\": %.3f,\n  \"rtt_ms\": %.3f,\n",
		(double)s->clock_offset_ns * ms, (double)s->rtt_ns * ms);
	uint64_t p50 = zc_stats_percentile(s, 50), p90 = zc_stats_percentile(s, 90);
	uint64_t p99 = zc_stats_percentile(s, 99), max = zc_stats_percentile(s, 100);
	fprintf(f, "  \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
		"\"max\": %.3f, \"samples\": %zu}\n}\n",
		(double)p50 * ms, (double)p90 * ms, (double)p99 * ms, (double)max * ms, s->n_latency);
	return ferror(f) ? -EIO : 0;
}

int zc_stats_write_file(struct zc_stats *s, const struct zc_stats_info *info, const char *path)
{
	size_t n = strlen(path) + 5;
	char *tmp = malloc(n);
	if (!tmp) {
		return -ENOMEM;
	}
	snprintf(tmp, n, "%s.tmp", path);
	int r = 0;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		r = -errno;
		goto out;
	}
	r = zc_stats_write_json(s, info, f);
	if (fclose(f) != 0 && r == 0) {
		r = -errno;
	}
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
	}
	if (r < 0) {
		unlink(tmp);
	}
out:
	free(tmp);
	return r;
}
