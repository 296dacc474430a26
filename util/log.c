/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum zl_log_level log_level = ZL_INFO;
static const char *debug_scopes;
static bool debug_scopes_read;

void zl_log_init(enum zl_log_level level)
{
	log_level = level;
	const char *env = getenv("ZONAL_LOG_LEVEL");
	if (env) {
		log_level = (enum zl_log_level)atoi(env);
	}
}

void zl_log_set_level(enum zl_log_level level)
{
	log_level = level;
}

enum zl_log_level zl_log_get_level(void)
{
	return log_level;
}

bool zl_log_scope_enabled(const char *scope)
{
	if (!debug_scopes_read) {
		debug_scopes = getenv("ZONAL_DEBUG");
		debug_scopes_read = true;
	}
	if (!debug_scopes || !scope) {
		return false;
	}
	if (strcmp(debug_scopes, "all") == 0) {
		return true;
	}
	size_t n = strlen(scope);
	for (const char *p = debug_scopes; (p = strstr(p, scope)); p += n) {
		bool start = p == debug_scopes || p[-1] == ',';
		bool end = p[n] == '\0' || p[n] == ',';
		if (start && end) {
			return true;
		}
	}
	return false;
}

const char *zl_strerror_saved(void)
{
	return strerror(errno);
}

static const char *level_name[] = {
	[ZL_SILENT] = "", [ZL_ERROR] = "ERROR", [ZL_WARN] = "WARN",
	[ZL_INFO] = "INFO", [ZL_DEBUG] = "DEBUG",
};

void zl_vlog_(enum zl_log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	if (level > log_level && level != ZL_DEBUG_SCOPED) {
		return;
	}
	int saved = errno;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%ld.%03ld [%s] [%s:%d] ", (long)ts.tv_sec,
		ts.tv_nsec / 1000000, level_name[level < ZL_DEBUG ? level : ZL_DEBUG], base, line);
	if (n < 0) {
		n = 0;
	}
	if ((size_t)n < sizeof(buf)) {
		vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	}
	fprintf(stderr, "%s\n", buf);
	errno = saved;
}

void zl_log_(enum zl_log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	zl_vlog_(level, file, line, fmt, ap);
	va_end(ap);
}
