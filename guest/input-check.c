/* SPDX-License-Identifier: MIT */
/* input-check: the guest side of the input tests. Waits for the evdev
 * device named "virtio-zonal input" (gpu-server's vhost-user-input device),
 * prints what it says it has, then every event it delivers, one console
 * line each, until COUNT events (argument 1, default 64) or TIMEOUT seconds
 * (argument 2, default 60) pass:
 *   input-check: device /dev/input/eventN "virtio-zonal input" abs x 0..32767 y 0..32767
 *   input-check: event type T code C value V
 * Exit status: 0 when COUNT events came, 1 on timeout or error. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WANT "virtio-zonal input"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int find_device(char *path, size_t len)
{
	DIR *d = opendir("/dev/input");
	if (!d) {
		return -1;
	}
	struct dirent *e;
	int fd = -1;
	while (fd < 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, "event", 5) != 0) {
			continue;
		}
		snprintf(path, len, "/dev/input/%s", e->d_name);
		int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		char name[128] = "";
		if (f >= 0 && ioctl(f, EVIOCGNAME(sizeof(name)), name) >= 0 && strcmp(name, WANT) == 0) {
			fd = f;
		} else if (f >= 0) {
			close(f);
		}
	}
	closedir(d);
	return fd;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
	double timeout = argc > 2 ? strtod(argv[2], NULL) : 60;
	double end = now() + timeout;
	char path[300];
	int fd = -1;
	/* devtmpfs makes the node once virtio_input and evdev are loaded. */
	while ((fd = find_device(path, sizeof(path))) < 0) {
		if (now() > end) {
			printf("input-check: ERROR: no \"%s\" device in /dev/input\n", WANT);
			return 1;
		}
		usleep(100000);
	}
	struct input_absinfo ax = { 0 }, ay = { 0 };
	ioctl(fd, EVIOCGABS(ABS_X), &ax);
	ioctl(fd, EVIOCGABS(ABS_Y), &ay);
	printf("input-check: device %s \"%s\" abs x %d..%d y %d..%d\n", path, WANT, ax.minimum,
		ax.maximum, ay.minimum, ay.maximum);
	fflush(stdout);
	long seen = 0;
	while (seen < count) {
		double left = end - now();
		if (left <= 0) {
			printf("input-check: ERROR: %ld of %ld events within %.0f s\n", seen, count, timeout);
			return 1;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) {
			continue;
		}
		struct input_event ev[64];
		ssize_t n = read(fd, ev, sizeof(ev));
		for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(ev[0]) && seen < count; i++) {
			printf("input-check: event type %u code %u value %d\n", ev[i].type, ev[i].code,
				ev[i].value);
			seen++;
		}
		fflush(stdout);
	}
	return 0;
}
