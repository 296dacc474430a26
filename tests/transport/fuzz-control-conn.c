/* SPDX-License-Identifier: MIT */
/* The buffered control connection reading hostile bytes: the input is cut
 * into chunks that arrive one by one on a real socket pair, and the
 * listener sometimes ends the conversation from inside a callback (send
 * its last message, or finish). No message may be delivered after bad
 * input, after send_last or after finish; anything else aborts.
 *
 * Input: byte 0 picks the callback behaviour, then chunks of 1 length byte
 * (1..64) and that many bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/control-conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct xport_ctl_conn conn;
	uint8_t mode;
	unsigned messages;
	bool ended; /* bad input, send_last or finish: nothing more may come */
	bool closed;
};

static void on_message(void *data, const struct xport_ctl_msg *msg)
{
	struct state *st = data;
	if (st->ended || st->closed || msg->type == 0 || msg->type >= XPORT_CTL_TYPE_COUNT) {
		abort();
	}
	st->messages++;
	/* The message after which the conversation ends (modes 1, 2). */
	unsigned last = 1u + (st->mode >> 4);
	if ((st->mode & 3) == 1 && st->messages == last) {
		struct xport_ctl_msg err = { .type = XPORT_CTL_ERROR };
		if (xport_ctl_conn_send_last(&st->conn, &err) == 0) {
			st->ended = true;
		}
	} else if ((st->mode & 3) == 2 && st->messages == last) {
		xport_ctl_conn_finish(&st->conn);
		st->ended = true;
	} else if (st->mode & 4) {
		/* Answer everything: exercises the out buffer. */
		xport_ctl_conn_send(&st->conn, msg);
	}
}

static void on_bad_message(void *data, int err)
{
	struct state *st = data;
	if (st->ended || st->closed || err >= 0) {
		abort();
	}
	st->ended = true;
}

static void on_closed(void *data, int err)
{
	struct state *st = data;
	if (st->closed || xport_ctl_conn_is_open(&st->conn)) {
		abort();
	}
	st->closed = true;
}

static const struct xport_ctl_conn_listener listener = {
	.message = on_message,
	.bad_message = on_bad_message,
	.closed = on_closed,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	struct zl_loop *loop = zl_loop_create();
	int sv[2];
	if (!loop || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		abort();
	}
	/* The conn holds its buffers (some 5 KiB): on the heap. */
	struct state *st = calloc(1, sizeof(*st));
	st->mode = data[0];
	if (xport_ctl_conn_init(&st->conn, loop, sv[0], 0, &listener, st) < 0) {
		abort();
	}
	size_t off = 1;
	while (off < size) {
		size_t n = 1 + data[off++] % 64;
		if (n > size - off) {
			n = size - off;
		}
		/* Fails (EPIPE) once the conn was finished: nothing more to feed. */
		if (n > 0 && send(sv[1], data + off, n, MSG_NOSIGNAL) != (ssize_t)n) {
			break;
		}
		off += n;
		zl_loop_dispatch(loop, 0);
	}
	/* The peer hangs up; the conn notices unless it already ended. A few
	 * rounds at most (one wake-up reads a bounded amount; seen once on a
	 * loaded CI machine: four rounds were not enough, not reproducible). */
	close(sv[1]);
	for (int i = 0; i < 64 && !st->closed && xport_ctl_conn_is_open(&st->conn); i++) {
		zl_loop_dispatch(loop, i < 4 ? 0 : 10);
	}
	if (!st->closed && xport_ctl_conn_is_open(&st->conn)) {
		abort();
	}
	xport_ctl_conn_finish(&st->conn);
	zl_loop_dispatch(loop, 0);
	zl_loop_destroy(loop);
	free(st);
	return 0;
}
