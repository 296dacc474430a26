/* SPDX-License-Identifier: MIT */
#ifndef ZL_LOOP_H
#define ZL_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/* A single-threaded epoll event loop. Everything on the frame path blocks
 * here on fds (sockets, eventfds, timerfds); nothing polls or sleeps.
 *
 * Sources may be removed from inside any callback, including their own:
 * removal is deferred until the current dispatch round ends. */

struct zl_loop;
struct zl_source;

/* events: EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR as reported by epoll. */
typedef void (*zl_fd_func)(void *data, int fd, uint32_t events);
typedef void (*zl_timer_func)(void *data);

struct zl_loop *zl_loop_create(void);
/* Every source must have been removed first. Accepts NULL. */
void zl_loop_destroy(struct zl_loop *loop);

/* Watches fd (not owned: the caller closes it after removing the source). */
struct zl_source *zl_loop_add_fd(struct zl_loop *loop, int fd, uint32_t events,
	zl_fd_func func, void *data);
int zl_source_fd_update(struct zl_source *src, uint32_t events);

/* A timerfd-backed timer, disarmed until zl_source_timer_arm(). */
struct zl_source *zl_loop_add_timer(struct zl_loop *loop, zl_timer_func func, void *data);
/* Fires after delay_ns, then every interval_ns (0: once). delay_ns 0 disarms. */
int zl_source_timer_arm(struct zl_source *src, uint64_t delay_ns, uint64_t interval_ns);

/* Accepts NULL. */
void zl_source_remove(struct zl_source *src);

/* Waits up to timeout_ms (-1: forever) and dispatches ready sources.
 * Returns the number dispatched or a negative errno. */
int zl_loop_dispatch(struct zl_loop *loop, int timeout_ms);
/* Dispatches until zl_loop_quit(). Returns 0 or a negative errno. */
int zl_loop_run(struct zl_loop *loop);
void zl_loop_quit(struct zl_loop *loop);

#endif
