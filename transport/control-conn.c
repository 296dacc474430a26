/* SPDX-License-Identifier: MIT */
#include "control-conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"

/* Reads per wake-up before other sources get a turn (epoll is
 * level-triggered: the rest is read on the next round). Enough for a burst
 * of messages; a peer flooding a lingering connection cannot starve the
 * loop. */
#define READ_BUDGET 64

static void update_events(struct xport_ctl_conn *conn)
{
	bool want = conn->connecting || conn->out_len > 0;
	if (want != conn->want_out && conn->src) {
		zl_source_fd_update(conn->src, (conn->connecting ? 0 : EPOLLIN) |
			(want ? EPOLLOUT : 0));
		conn->want_out = want;
	}
}

/* Writes what is buffered. Returns 0 or a negative errno (connection dead). */
static int flush(struct xport_ctl_conn *conn)
{
	while (conn->out_len > 0) {
		ssize_t n = send(conn->fd, conn->out, conn->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			return -errno;
		}
		memmove(conn->out, conn->out + n, conn->out_len - (size_t)n);
		conn->out_len -= (size_t)n;
	}
	update_events(conn);
	if (conn->out_len == 0 && conn->last_sent && !conn->write_shut) {
		/* The last message is out: tell the peer we are done, keep reading
		 * until it closes. */
		shutdown(conn->fd, SHUT_WR);
		conn->write_shut = true;
	}
	return 0;
}

static int queue(struct xport_ctl_conn *conn, const struct xport_ctl_msg *msg)
{
	if (!conn->src || conn->connecting || conn->last_sent) {
		return -EPIPE;
	}
	size_t len;
	int r = xport_ctl_encode(msg, conn->out + conn->out_len,
		sizeof(conn->out) - conn->out_len, &len);
	if (r < 0) {
		/* Only a peer that stopped reading fills the buffer. */
		return r == -ENOSPC ? -ENOBUFS : r;
	}
	conn->out_len += len;
	return 0;
}

int xport_ctl_conn_send(struct xport_ctl_conn *conn, const struct xport_ctl_msg *msg)
{
	int r = queue(conn, msg);
	return r < 0 ? r : flush(conn);
}

int xport_ctl_conn_send_last(struct xport_ctl_conn *conn, const struct xport_ctl_msg *msg)
{
	int r = queue(conn, msg);
	if (r < 0) {
		return r;
	}
	conn->last_sent = true;
	/* Whatever was read and not parsed no longer matters. */
	conn->in_len = 0;
	return flush(conn);
}

static void closed(struct xport_ctl_conn *conn, int err)
{
	xport_ctl_conn_finish(conn);
	if (conn->listener->closed) {
		conn->listener->closed(conn->data, err);
	}
}

/* Cuts the input into messages for the listener, until the input runs out
 * or a callback finished the conn, sent its last message or the input
 * turned out bad. */
static void parse_input(struct xport_ctl_conn *conn)
{
	size_t off = 0;
	while (conn->src && !conn->last_sent) {
		struct xport_ctl_msg msg;
		size_t used;
		int r = xport_ctl_parse(conn->in + off, conn->in_len - off, &msg, &used);
		if (r == -EAGAIN) {
			break;
		}
		if (r < 0) {
			conn->stopped = true;
			conn->in_len = 0;
			conn->listener->bad_message(conn->data, r);
			return;
		}
		off += used;
		conn->listener->message(conn->data, &msg);
	}
	if (!conn->src || conn->last_sent) {
		conn->in_len = 0;
		return;
	}
	memmove(conn->in, conn->in + off, conn->in_len - off);
	conn->in_len -= off;
}

static void read_input(struct xport_ctl_conn *conn)
{
	for (unsigned i = 0; i < READ_BUDGET; i++) {
		uint8_t discard[512];
		bool discarding = conn->last_sent || conn->stopped;
		uint8_t *dst = discarding ? discard : conn->in + conn->in_len;
		/* Never 0: in holds less than one whole message after parsing (a
		 * maximal one is parsed as soon as it is complete). */
		size_t room = discarding ? sizeof(discard) : sizeof(conn->in) - conn->in_len;
		ssize_t n = recv(conn->fd, dst, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		if (n <= 0) {
			closed(conn, n == 0 ? 0 : -errno);
			return;
		}
		conn->last_rx_ns = zl_now_ns();
		if (discarding) {
			continue;
		}
		conn->in_len += (size_t)n;
		parse_input(conn);
		if (!conn->src) {
			return;
		}
	}
}

static void on_fd(void *data, int fd, uint32_t events)
{
	struct xport_ctl_conn *conn = data;
	if (conn->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
			err = errno;
		}
		if (err) {
			closed(conn, -err);
			return;
		}
		conn->connecting = false;
		conn->last_rx_ns = zl_now_ns();
		update_events(conn);
		if (conn->listener->connected) {
			conn->listener->connected(conn->data);
		}
		return;
	}
	if (events & EPOLLOUT) {
		int r = flush(conn);
		if (r < 0) {
			closed(conn, r);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		read_input(conn);
	}
}

int xport_ctl_conn_init(struct xport_ctl_conn *conn, struct zl_loop *loop, int fd,
	uint32_t flags, const struct xport_ctl_conn_listener *listener, void *data)
{
	memset(conn, 0, sizeof(*conn));
	conn->fd = fd;
	conn->listener = listener;
	conn->data = data;
	conn->connecting = flags & XPORT_CTL_CONN_CONNECTING;
	conn->want_out = conn->connecting;
	conn->last_rx_ns = zl_now_ns();
	conn->src = zl_loop_add_fd(loop, fd, conn->connecting ? EPOLLOUT : EPOLLIN, on_fd, conn);
	if (!conn->src) {
		close(fd);
		conn->fd = -1;
		return -ENOMEM;
	}
	return 0;
}

void xport_ctl_conn_finish(struct xport_ctl_conn *conn)
{
	if (!conn->src) {
		return;
	}
	zl_source_remove(conn->src);
	conn->src = NULL;
	close(conn->fd);
	conn->fd = -1;
	conn->in_len = 0;
	conn->out_len = 0;
}

size_t xport_ctl_conn_pending(const struct xport_ctl_conn *conn)
{
	return conn->out_len;
}

bool xport_ctl_conn_is_open(const struct xport_ctl_conn *conn)
{
	return conn->src != NULL;
}
