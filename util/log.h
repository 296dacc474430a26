/* SPDX-License-Identifier: MIT */
#ifndef ZL_LOG_H
#define ZL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* One logger for every module. Library code logs through these macros and
 * never printf()s. Output goes to stderr as "[LEVEL] [file:line] message".
 *
 * Debug scopes: ZONAL_DEBUG=vhost,gpu,comp,xport,client (or "all") enables
 * zl_dbg(SCOPE, ...) lines for those scopes. */

enum zl_log_level {
	ZL_SILENT = 0,
	ZL_ERROR = 1,
	ZL_WARN = 2,
	ZL_INFO = 3,
	ZL_DEBUG = 4,
	ZL_DEBUG_SCOPED = 5, /* internal: zl_dbg() lines, printed whatever the level */
};

void zl_log_init(enum zl_log_level level);
void zl_log_set_level(enum zl_log_level level);
enum zl_log_level zl_log_get_level(void);
bool zl_log_scope_enabled(const char *scope);

void zl_log_(enum zl_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void zl_vlog_(enum zl_log_level level, const char *file, int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#define zl_log(level, ...) zl_log_(level, __FILE__, __LINE__, __VA_ARGS__)
#define zl_err(...) zl_log(ZL_ERROR, __VA_ARGS__)
#define zl_warn(...) zl_log(ZL_WARN, __VA_ARGS__)
#define zl_info(...) zl_log(ZL_INFO, __VA_ARGS__)
/* Appends ": strerror(errno)". */
#define zl_log_errno(level, fmt, ...) \
	zl_log(level, fmt ": %s", ##__VA_ARGS__, zl_strerror_saved())
#define zl_dbg(scope, ...) \
	do { \
		if (zl_log_scope_enabled(scope)) { \
			zl_log(ZL_DEBUG_SCOPED, __VA_ARGS__); \
		} \
	} while (0)

/* strerror(errno), evaluated before the log call can clobber errno. */
const char *zl_strerror_saved(void);

#endif
