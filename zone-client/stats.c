/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/clock.h"

/* One hour at 60 Hz. */
#define MAX_SAMPLES (60 * 3600)

void zc_stats_init(struct zc_stats *s)
{
	memset(s, 0, sizeof(*s));
}

const char *const zc_stage_names[ZC_STAGE_COUNT] = {
	"compose", "encode", "send", "network", "decode", "present",
};

void zc_stats_finish(struct zc_stats *s)
{
	free(s->latency.v);
	free(s->receive_to_present.v);
	memset(&s->latency, 0, sizeof(s->latency));
	memset(&s->receive_to_present, 0, sizeof(s->receive_to_present));
	for (unsigned i = 0; i < ZC_STAGE_COUNT; i++) {
		free(s->stages[i].v);
		memset(&s->stages[i], 0, sizeof(s->stages[i]));
	}
}

void zc_samples_add(struct zc_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		if (s->cap >= MAX_SAMPLES) {
			return;
		}
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *n = realloc(s->v, cap * sizeof(*n));
		if (!n) {
			return;
		}
		s->v = n;
		s->cap = cap;
	}
	s->v[s->n++] = ns;
}

void zc_stats_add_latency(struct zc_stats *s, uint64_t ns)
{
	zc_samples_add(&s->latency, ns);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

uint64_t zc_samples_percentile(struct zc_samples *s, double pct)
{
	if (s->n == 0) {
		return 0;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	/* Nearest rank: the smallest sample with at least pct% at or below. */
	double rank = ceil(pct / 100.0 * (double)s->n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	if (i >= s->n) {
		i = s->n - 1;
	}
	return s->v[i];
}

uint64_t zc_stats_percentile(struct zc_stats *s, double pct)
{
	return zc_samples_percentile(&s->latency, pct);
}

/* "name": {"p50": ..., "p90": ..., "p99": ..., "max": ..., "samples": N}; with
 * cdf, also "cdf": [p0, p5, ..., p100] (for tools/latency-report). */
static void write_samples(FILE *f, const char *name, struct zc_samples *s, bool cdf)
{
	double ms = 1e-6;
	fprintf(f, "\"%s\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f, "
		"\"samples\": %zu", name, (double)zc_samples_percentile(s, 50) * ms,
		(double)zc_samples_percentile(s, 90) * ms, (double)zc_samples_percentile(s, 99) * ms,
		(double)zc_samples_percentile(s, 100) * ms, s->n);
	if (cdf) {
		fprintf(f, ", \"cdf\": [");
		for (int p = 0; p <= 100; p += 5) {
			fprintf(f, "%s%.3f", p ? ", " : "", (double)zc_samples_percentile(s, p) * ms);
		}
		fprintf(f, "]");
	}
	fprintf(f, "}");
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
	/* When these numbers were taken (CLOCK_MONOTONIC): two snapshots
	 * bound a window a caller can match with other clocks' events. */
	fprintf(f, "  \"t_ns\": %llu,\n", (unsigned long long)zl_now_ns());
	fprintf(f, "  \"frames_presented\": %llu,\n", (unsigned long long)s->frames_presented);
	fprintf(f, "  \"frames_dropped\": %llu,\n", (unsigned long long)s->frames_dropped);
	fprintf(f, "  \"crc_mismatches\": %llu,\n", (unsigned long long)s->crc_mismatches);
	fprintf(f, "  \"key_frames\": %llu,\n", (unsigned long long)s->key_frames);
	fprintf(f, "  \"bytes_received\": %llu,\n", (unsigned long long)s->bytes_received);
	fprintf(f, "  \"packets_received\": %llu,\n", (unsigned long long)s->packets_received);
	fprintf(f, "  \"bytes_sent\": %llu,\n", (unsigned long long)s->bytes_sent);
	fprintf(f, "  \"packets_sent\": %llu,\n", (unsigned long long)s->packets_sent);
	fprintf(f, "  \"packets_rejected\": %llu,\n", (unsigned long long)s->packets_rejected);
	fprintf(f, "  \"refresh_requests\": %llu,\n", (unsigned long long)s->refresh_requests);
	fprintf(f, "  \"nack_requests\": %llu,\n", (unsigned long long)s->nack_requests);
	fprintf(f, "  \"srtp_rejected\": %llu,\n", (unsigned long long)s->srtp_rejected);
	fprintf(f, "  \"inputs_sent\": %llu,\n", (unsigned long long)s->inputs_sent);
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
	/* The whole process (GStreamer's decoder threads too), per frame shown. */
	struct rusage ru;
	double cpu_ms = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
	}
	fprintf(f, "  \"cpu_ms\": %.1f,\n  \"cpu_ms_per_frame\": %.3f,\n", cpu_ms,
		s->frames_presented ? cpu_ms / (double)s->frames_presented : 0.0);
	fprintf(f, "  ");
	write_samples(f, "receive_to_present_ms", &s->receive_to_present, false);
	fprintf(f, ",\n  \"stages_ms\": {\n");
	for (unsigned i = 0; i < ZC_STAGE_COUNT; i++) {
		fprintf(f, "    ");
		write_samples(f, zc_stage_names[i], &s->stages[i], false);
		fprintf(f, "%s\n", i + 1 < ZC_STAGE_COUNT ? "," : "");
	}
	fprintf(f, "  },\n  ");
	write_samples(f, "latency_ms", &s->latency, true);
	fprintf(f, "\n}\n");
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
