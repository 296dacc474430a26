/* SPDX-License-Identifier: MIT */
/* A stand-alone vhost-user-gpu backend for trying the transport against real
 * QEMU: one vgpu_device (1 scanout, 1024x768) served on a socket, every event
 * logged, stats printed at exit.
 *
 *   vu-backend [-v] [--exit-on-disconnect] SOCKET
 *   qemu-system-x86_64 ... -chardev socket,id=c,path=SOCKET \
 *       -device vhost-user-gpu-pci,chardev=c
 *
 * -v logs every vhost-user message (ZONAL_DEBUG=vhost,gpu does the same and
 * more). SIGINT/SIGTERM end it; the last line on stdout is
 *   vu-backend: connections=N messages=N bad_messages=N ... */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/vhost-user.h"

struct backend {
	struct zl_loop *loop;
	struct vgpu_vhost_user *vu;
	bool exit_on_disconnect;
	unsigned updates, disables, cursor;
};

static void on_scanout(void *data, const struct vgpu_scanout_update *u)
{
	struct backend *b = data;
	if (!u->image) {
		b->disables++;
		zl_info("scanout %u disabled", u->scanout_id);
		return;
	}
	b->updates++;
	if (b->updates <= 10 || b->updates % 100 == 0) {
		zl_info("scanout %u update #%u: %ux%u+%u+%u of a %dx%d resource, %d rects%s",
			u->scanout_id, b->updates, u->src_w, u->src_h, u->src_x, u->src_y,
			pixman_image_get_width(u->image), pixman_image_get_height(u->image),
			u->n_damage, b->updates == 10 ? " (logging every 100th from now)" : "");
	}
}

static void on_cursor_update(void *data, unsigned sid, pixman_image_t *image,
	uint32_t hx, uint32_t hy, uint32_t x, uint32_t y)
{
	struct backend *b = data;
	b->cursor++;
	zl_info("cursor %s on scanout %u at %u,%u", image ? "shape" : "hidden", sid, x, y);
}

static void on_cursor_move(void *data, unsigned sid, uint32_t x, uint32_t y)
{
	struct backend *b = data;
	b->cursor++;
}

static const struct vgpu_listener dev_listener = {
	.scanout_update = on_scanout,
	.cursor_update = on_cursor_update,
	.cursor_move = on_cursor_move,
};

static void on_connected(void *data)
{
	zl_info("frontend connected");
}

static void on_disconnected(void *data)
{
	struct backend *b = data;
	zl_info("frontend disconnected");
	if (b->exit_on_disconnect) {
		zl_loop_quit(b->loop);
	}
}

static const struct vgpu_vhost_user_listener vu_listener = {
	.connected = on_connected,
	.disconnected = on_disconnected,
};

static void on_signal(void *data, int fd, uint32_t events)
{
	struct backend *b = data;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		zl_info("signal %u: exiting", si.ssi_signo);
	}
	zl_loop_quit(b->loop);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-v] [--exit-on-disconnect] SOCKET\n"
		"       %s --print-capabilities\n", argv0, argv0);
}

int main(int argc, char **argv)
{
	struct backend b = { 0 };
	const char *path = NULL;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "--exit-on-disconnect") == 0) {
			b.exit_on_disconnect = true;
		} else if (strcmp(argv[i], "--print-capabilities") == 0) {
			/* vhost-user.rst backend conventions. */
			printf("{\n  \"type\": \"gpu\",\n  \"features\": []\n}\n");
			return 0;
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (!path) {
		usage(argv[0]);
		return 2;
	}
	if (verbose) {
		setenv("ZONAL_DEBUG", "vhost", 0);
	}
	zl_log_init(verbose ? ZL_DEBUG : ZL_INFO);

	int ret = 1;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	struct vgpu_device_config cfg = {
		.name = "vu-backend",
		.num_scanouts = 1,
		.scanouts = { { .width = 1024, .height = 768, .refresh_hz = 60, .enabled = true } },
	};
	b.loop = zl_loop_create();
	struct vgpu_device *dev = vgpu_device_create(&cfg, &dev_listener, &b);
	struct zl_source *sig_src = NULL;
	if (!b.loop || !dev || sfd < 0) {
		fprintf(stderr, "vu-backend: setup failed\n");
		goto out;
	}
	sig_src = zl_loop_add_fd(b.loop, sfd, EPOLLIN, on_signal, &b);
	b.vu = vgpu_vhost_user_create(b.loop, path, dev, &vu_listener, &b);
	if (!b.vu || !sig_src) {
		goto out;
	}
	int r = zl_loop_run(b.loop);
	if (r < 0) {
		zl_err("loop: %s", strerror(-r));
		goto out;
	}
	ret = 0;
out:
	if (b.vu) {
		struct vgpu_vhost_user_stats s;
		vgpu_vhost_user_get_stats(b.vu, &s);
		printf("vu-backend: connections=%llu messages=%llu bad_messages=%llu kicks=%llu "
			"calls=%llu ctrl_requests=%llu cursor_requests=%llu bad_chains=%llu "
			"device_resets=%llu display_features=%#llx scanout_updates=%u broken=%d\n",
			(unsigned long long)s.connections, (unsigned long long)s.messages,
			(unsigned long long)s.bad_messages, (unsigned long long)s.kicks,
			(unsigned long long)s.calls, (unsigned long long)s.ctrl_requests,
			(unsigned long long)s.cursor_requests, (unsigned long long)s.bad_chains,
			(unsigned long long)s.device_resets, (unsigned long long)s.display_features,
			b.updates, s.broken);
		fflush(stdout);
	}
	vgpu_vhost_user_destroy(b.vu);
	zl_source_remove(sig_src);
	vgpu_device_destroy(dev);
	zl_loop_destroy(b.loop);
	if (sfd >= 0) {
		close(sfd);
	}
	return ret;
}
