/* SPDX-License-Identifier: MIT */
#ifndef XPORT_CONTROL_CONN_H
#define XPORT_CONTROL_CONN_H

/* One control connection (control-proto.h) on a zl_loop, as both ends use
 * it: a non-blocking TCP socket, an out buffer that is flushed as far as the
 * socket takes and waits for EPOLLOUT for the rest, and an in buffer cut
 * into messages. The peer is hostile: a message's length is checked before
 * its payload is awaited, so at most one maximal message is ever buffered,
 * and bytes that are no message stop the parsing for good.
 *
 * Callbacks run from the loop. Any of them may call xport_ctl_conn_finish()
 * or xport_ctl_conn_send_last() (the conn's memory must stay valid until the
 * callback returns); the conn then touches neither the socket nor the
 * callbacks again. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control-proto.h"
#include "util/loop.h"

/* Room for a few messages: only a peer that stopped reading fills it. */
#define XPORT_CTL_CONN_OUT_CAP 4096

struct xport_ctl_conn_listener {
	/* A whole, well-formed message arrived. */
	void (*message)(void *data, const struct xport_ctl_msg *msg);
	/* Bytes that are no message: err is xport_ctl_parse()'s (-EMSGSIZE,
	 * -EPROTO, -EBADMSG). Nothing after them is parsed; answer with
	 * xport_ctl_conn_send_last() or finish the conn. */
	void (*bad_message)(void *data, int err);
	/* The peer closed (err 0), the connection failed (a negative errno), or,
	 * for a conn that was connecting, the connect failed. The conn is
	 * already finished. */
	void (*closed)(void *data, int err);
	/* Only for XPORT_CTL_CONN_CONNECTING: the connect completed. */
	void (*connected)(void *data);
};

enum xport_ctl_conn_flags {
	/* fd is a socket whose non-blocking connect() is in progress. */
	XPORT_CTL_CONN_CONNECTING = 1 << 0,
};

/* Embedded in its owner; fields are the conn's own, read-only outside. */
struct xport_ctl_conn {
	int fd; /* -1 once finished */
	struct zl_source *src; /* NULL: not initialised, or finished */
	const struct xport_ctl_conn_listener *listener;
	void *data;
	bool connecting;
	bool want_out;   /* EPOLLOUT is being watched */
	bool last_sent;  /* send_last(): no more sending, input discarded */
	bool write_shut;
	bool stopped;    /* bad input: nothing more is parsed */
	uint64_t last_rx_ns; /* CLOCK_MONOTONIC of the last bytes received (or init) */
	uint8_t in[XPORT_CTL_MAX_MSG];
	size_t in_len;
	uint8_t out[XPORT_CTL_CONN_OUT_CAP];
	size_t out_len;
};

/* Takes ownership of fd (a connected or connecting, non-blocking stream
 * socket) and watches it on loop. On failure fd is closed. Returns 0 or
 * -ENOMEM. */
int xport_ctl_conn_init(struct xport_ctl_conn *conn, struct zl_loop *loop, int fd,
	uint32_t flags, const struct xport_ctl_conn_listener *listener, void *data);
/* Stops watching and closes the socket. Idempotent, and a no-op on a
 * zero-filled conn that was never initialised. */
void xport_ctl_conn_finish(struct xport_ctl_conn *conn);

/* Queues msg and writes as much as the socket takes; the rest goes out on
 * EPOLLOUT. Returns 0, -ENOBUFS when the peer does not read (the buffer is
 * full), -EPIPE when the conn is finished, connecting or past send_last, the
 * encoder's -EINVAL, or the socket's negative errno (the connection is
 * dead: finish it). */
int xport_ctl_conn_send(struct xport_ctl_conn *conn, const struct xport_ctl_msg *msg);
/* Sends msg as the last message: once it is out, the write side is shut
 * down, and whatever the peer still sends is read and discarded until it
 * closes (closed() then says 0) or the owner finishes the conn, so a reset
 * cannot destroy the message on its way. Same returns as send. */
int xport_ctl_conn_send_last(struct xport_ctl_conn *conn, const struct xport_ctl_msg *msg);

/* Bytes queued and not yet written. */
size_t xport_ctl_conn_pending(const struct xport_ctl_conn *conn);
/* Neither finished nor closed by the peer. */
bool xport_ctl_conn_is_open(const struct xport_ctl_conn *conn);

#endif
