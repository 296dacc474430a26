/* SPDX-License-Identifier: MIT */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

struct zl_source {
	struct zl_loop *loop;
	int fd;
	bool is_timer;
	bool removed;
	zl_fd_func fd_func;
	zl_timer_func timer_func;
	void *data;
	struct zl_source *next_dead;
};

struct zl_loop {
	int epfd;
	bool quit;
	struct zl_source *dead;
};

struct zl_loop *zl_loop_create(void)
{
	struct zl_loop *loop = calloc(1, sizeof(*loop));
	if (!loop) {
		return NULL;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		zl_log_errno(ZL_ERROR, "epoll_create1");
		free(loop);
		return NULL;
	}
	return loop;
}

static void reap(struct zl_loop *loop)
{
	while (loop->dead) {
		struct zl_source *s = loop->dead;
		loop->dead = s->next_dead;
		free(s);
	}
}

void zl_loop_destroy(struct zl_loop *loop)
{
	if (!loop) {
		return;
	}
	reap(loop);
	close(loop->epfd);
	free(loop);
}

static struct zl_source *add(struct zl_loop *loop, int fd, uint32_t events)
{
	struct zl_source *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->loop = loop;
	s->fd = fd;
	struct epoll_event ev = { .events = events, .data.ptr = s };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		zl_log_errno(ZL_ERROR, "epoll_ctl add fd %d", fd);
		free(s);
		return NULL;
	}
	return s;
}

struct zl_source *zl_loop_add_fd(struct zl_loop *loop, int fd, uint32_t events,
	zl_fd_func func, void *data)
{
	struct zl_source *s = add(loop, fd, events);
	if (s) {
		s->fd_func = func;
		s->data = data;
	}
	return s;
}

int zl_source_fd_update(struct zl_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };
	if (epoll_ctl(src->loop->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

struct zl_source *zl_loop_add_timer(struct zl_loop *loop, zl_timer_func func, void *data)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		zl_log_errno(ZL_ERROR, "timerfd_create");
		return NULL;
	}
	struct zl_source *s = add(loop, fd, EPOLLIN);
	if (!s) {
		close(fd);
		return NULL;
	}
	s->is_timer = true;
	s->timer_func = func;
	s->data = data;
	return s;
}

int zl_source_timer_arm(struct zl_source *src, uint64_t delay_ns, uint64_t interval_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = delay_ns / 1000000000ull, .tv_nsec = delay_ns % 1000000000ull },
		.it_interval = { .tv_sec = interval_ns / 1000000000ull,
			.tv_nsec = interval_ns % 1000000000ull },
	};
	if (timerfd_settime(src->fd, 0, &its, NULL) < 0) {
		return -errno;
	}
	return 0;
}

void zl_source_remove(struct zl_source *src)
{
	if (!src || src->removed) {
		return;
	}
	epoll_ctl(src->loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	if (src->is_timer) {
		close(src->fd);
	}
	src->removed = true;
	src->next_dead = src->loop->dead;
	src->loop->dead = src;
}

int zl_loop_dispatch(struct zl_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
	if (n < 0) {
		return errno == EINTR ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		struct zl_source *s = evs[i].data.ptr;
		if (s->removed) {
			continue;
		}
		if (s->is_timer) {
			uint64_t expirations;
			if (read(s->fd, &expirations, sizeof(expirations)) != sizeof(expirations)) {
				continue;
			}
			s->timer_func(s->data);
		} else {
			s->fd_func(s->data, s->fd, evs[i].events);
		}
	}
	reap(loop);
	return n;
}

int zl_loop_run(struct zl_loop *loop)
{
	loop->quit = false;
	while (!loop->quit) {
		int r = zl_loop_dispatch(loop, -1);
		if (r < 0) {
			return r;
		}
	}
	return 0;
}

void zl_loop_quit(struct zl_loop *loop)
{
	loop->quit = true;
}
