/* SPDX-License-Identifier: MIT */
/* The buffered control connection (transport/control-conn.h) on a real loop
 * and real sockets: AF_UNIX socket pairs, and TCP on loopback for
 * connecting. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/control-conn.h"
#include "util/clock.h"

#define MAX_SEEN 4096

struct rec {
	struct xport_ctl_conn conn;
	unsigned n_msgs;
	struct xport_ctl_msg msgs[MAX_SEEN];
	unsigned bad;
	int bad_err;
	unsigned closed;
	int closed_err;
	unsigned connected;
	bool finish_on_message;
	bool send_last_on_message;
};

static void on_message(void *data, const struct xport_ctl_msg *msg)
{
	struct rec *r = data;
	if (r->n_msgs < MAX_SEEN) {
		r->msgs[r->n_msgs] = *msg;
	}
	r->n_msgs++;
	if (r->finish_on_message) {
		xport_ctl_conn_finish(&r->conn);
	}
	if (r->send_last_on_message) {
		struct xport_ctl_msg bye = { .type = XPORT_CTL_BYE };
		assert_int_equal(xport_ctl_conn_send_last(&r->conn, &bye), 0);
	}
}

static void on_bad_message(void *data, int err)
{
	struct rec *r = data;
	r->bad++;
	r->bad_err = err;
}

static void on_closed(void *data, int err)
{
	struct rec *r = data;
	/* The conn is finished before it says so. */
	assert_false(xport_ctl_conn_is_open(&r->conn));
	r->closed++;
	r->closed_err = err;
}

static void on_connected(void *data)
{
	struct rec *r = data;
	r->connected++;
}

static const struct xport_ctl_conn_listener listener = {
	.message = on_message,
	.bad_message = on_bad_message,
	.closed = on_closed,
	.connected = on_connected,
};

struct fixture {
	struct zl_loop *loop;
	struct rec *rec;
	int peer; /* the other end of the pair, blocking */
};

static int setup_pair(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->loop = zl_loop_create();
	f->rec = calloc(1, sizeof(*f->rec));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(xport_ctl_conn_init(&f->rec->conn, f->loop, sv[0], 0, &listener, f->rec),
		0);
	f->peer = sv[1];
	/* A read that would wait for ever fails the test instead. */
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(f->peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*state = f;
	return 0;
}

static int teardown_pair(void **state)
{
	struct fixture *f = *state;
	xport_ctl_conn_finish(&f->rec->conn);
	xport_ctl_conn_finish(&f->rec->conn); /* idempotent */
	if (f->peer >= 0) {
		close(f->peer);
	}
	zl_loop_dispatch(f->loop, 0); /* reaps removed sources */
	zl_loop_destroy(f->loop);
	free(f->rec);
	free(f);
	return 0;
}

static void dispatch(struct fixture *f)
{
	/* Everything ready now, a few rounds (reads are budgeted per round). */
	for (int i = 0; i < 8; i++) {
		zl_loop_dispatch(f->loop, 0);
	}
}

static size_t encode(const struct xport_ctl_msg *m, uint8_t *buf, size_t cap)
{
	size_t len;
	assert_int_equal(xport_ctl_encode(m, buf, cap, &len), 0);
	return len;
}

static struct xport_ctl_msg heartbeat(uint32_t seq)
{
	struct xport_ctl_msg m = { .type = XPORT_CTL_HEARTBEAT };
	m.heartbeat.seq = seq;
	m.heartbeat.t_send_ns = 1000ull * seq;
	return m;
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* Reads what the conn sent: exactly one whole message. */
static struct xport_ctl_msg read_msg(int fd)
{
	uint8_t buf[XPORT_CTL_MAX_MSG + 16];
	ssize_t n = read(fd, buf, sizeof(buf));
	assert_true(n > 0);
	struct xport_ctl_msg m;
	size_t used;
	assert_int_equal(xport_ctl_parse(buf, (size_t)n, &m, &used), 0);
	assert_int_equal(used, (size_t)n);
	return m;
}

/* The peer hangs up: the conn says closed(0), once. */
static void hang_up(struct fixture *f)
{
	close(f->peer);
	f->peer = -1;
	dispatch(f);
	assert_int_equal(f->rec->closed, 1);
	assert_int_equal(f->rec->closed_err, 0);
	assert_false(xport_ctl_conn_is_open(&f->rec->conn));
}

/* Messages come out whole however the bytes are cut: one byte at a time
 * (each message exactly when its last byte arrives), and several at once. */
static void test_framing(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->rec;
	uint8_t buf[3 * XPORT_CTL_MAX_MSG];
	size_t ends[3], len = 0;
	struct xport_ctl_msg hello = { .type = XPORT_CTL_HELLO };
	hello.hello = (struct xport_ctl_hello){ .version = 1, .panel_width = 1920, .media_port = 5004 };
	strcpy(hello.hello.zone, "cockpit");
	len += encode(&hello, buf + len, sizeof(buf) - len);
	ends[0] = len;
	struct xport_ctl_msg hb = heartbeat(7);
	len += encode(&hb, buf + len, sizeof(buf) - len);
	ends[1] = len;
	struct xport_ctl_msg bye = { .type = XPORT_CTL_BYE };
	bye.bye.reason = XPORT_CTL_BYE_SHUTDOWN;
	len += encode(&bye, buf + len, sizeof(buf) - len);
	ends[2] = len;

	uint64_t rx0 = r->conn.last_rx_ns;
	unsigned want = 0;
	for (size_t i = 0; i < len; i++) {
		write_all(f->peer, buf + i, 1);
		dispatch(f);
		if (want < 3 && i + 1 == ends[want]) {
			want++;
		}
		assert_int_equal(r->n_msgs, want);
	}
	assert_true(r->conn.last_rx_ns > rx0);
	assert_int_equal(r->msgs[0].type, XPORT_CTL_HELLO);
	assert_string_equal(r->msgs[0].hello.zone, "cockpit");
	assert_int_equal(r->msgs[0].hello.panel_width, 1920);
	assert_int_equal(r->msgs[1].type, XPORT_CTL_HEARTBEAT);
	assert_int_equal(r->msgs[1].heartbeat.seq, 7);
	assert_int_equal(r->msgs[2].type, XPORT_CTL_BYE);
	assert_int_equal(r->msgs[2].bye.reason, XPORT_CTL_BYE_SHUTDOWN);

	/* All three in one write, then a message cut in two. */
	write_all(f->peer, buf, len);
	write_all(f->peer, buf, 5);
	dispatch(f);
	assert_int_equal(r->n_msgs, 6);
	assert_int_equal(r->msgs[5].type, XPORT_CTL_BYE);
	write_all(f->peer, buf + 5, ends[0] - 5);
	dispatch(f);
	assert_int_equal(r->n_msgs, 7);
	assert_int_equal(r->msgs[6].type, XPORT_CTL_HELLO);
	/* A maximal message fills the input buffer exactly. */
	uint8_t big[XPORT_CTL_MAX_MSG];
	memset(big, 0, sizeof(big));
	size_t hl = encode(&hb, big, sizeof(big));
	big[0] = (uint8_t)(XPORT_CTL_MAX_PAYLOAD & 0xff);
	big[1] = (uint8_t)(XPORT_CTL_MAX_PAYLOAD >> 8);
	assert_true(hl < sizeof(big));
	write_all(f->peer, big, sizeof(big));
	dispatch(f);
	assert_int_equal(r->n_msgs, 8);
	assert_int_equal(r->msgs[7].heartbeat.seq, 7);
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->closed, 0);

	hang_up(f);
	assert_int_equal(xport_ctl_conn_send(&r->conn, &hb), -EPIPE);
}

/* Bytes that are no message: one bad_message with the parser's error, and
 * nothing after them is parsed, even valid messages. */
static void check_bad(struct fixture *f, const uint8_t *junk, size_t len, int err)
{
	struct rec *r = f->rec;
	uint8_t buf[XPORT_CTL_MAX_MSG];
	struct xport_ctl_msg hb = heartbeat(1);
	size_t hl = encode(&hb, buf, sizeof(buf));
	write_all(f->peer, buf, hl);
	write_all(f->peer, junk, len);
	write_all(f->peer, buf, hl);
	dispatch(f);
	assert_int_equal(r->n_msgs, 1);
	assert_int_equal(r->bad, 1);
	assert_int_equal(r->bad_err, err);
	write_all(f->peer, buf, hl);
	dispatch(f);
	assert_int_equal(r->n_msgs, 1);
	assert_int_equal(r->bad, 1);
	assert_true(xport_ctl_conn_is_open(&r->conn));
	hang_up(f);
}

static void test_bad_http(void **state)
{
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	check_bad(*state, (const uint8_t *)http, strlen(http), -EMSGSIZE);
}

static void test_bad_type(void **state)
{
	const uint8_t junk[8] = { 4, 0, 0, 0, 99, 0, 1, 0 };
	check_bad(*state, junk, sizeof(junk), -EPROTO);
}

/* An oversized length is refused from the header alone: the conn does not
 * wait for a payload it would not buffer. */
static void test_bad_oversized(void **state)
{
	struct fixture *f = *state;
	const uint8_t hdr[8] = { 0xff, 0xff, 0, 0, XPORT_CTL_HEARTBEAT, 0, 1, 0 };
	write_all(f->peer, hdr, sizeof(hdr));
	dispatch(f);
	assert_int_equal(f->rec->bad, 1);
	assert_int_equal(f->rec->bad_err, -EMSGSIZE);
}

/* A peer that does not read: the socket fills, the conn buffers and watches
 * EPOLLOUT, then refuses more (-ENOBUFS); once the peer reads, everything
 * arrives in order. */
static void test_backpressure(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->rec;
	int small = 4096;
	setsockopt(r->conn.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	uint32_t sent = 0;
	int rc = 0;
	while (sent < 100000) {
		struct xport_ctl_msg hb = heartbeat(sent + 1);
		rc = xport_ctl_conn_send(&r->conn, &hb);
		if (rc < 0) {
			break;
		}
		sent++;
	}
	assert_int_equal(rc, -ENOBUFS);
	assert_true(xport_ctl_conn_pending(&r->conn) > 0);
	assert_true(r->conn.want_out);
	assert_true(xport_ctl_conn_pending(&r->conn) <= XPORT_CTL_CONN_OUT_CAP);

	/* Read everything, letting the loop flush as room appears. */
	assert_int_equal(fcntl(f->peer, F_SETFL, O_NONBLOCK), 0);
	static uint8_t in[1 << 20];
	size_t in_len = 0;
	uint32_t got = 0;
	uint64_t end = zl_now_ns() + 5000000000ull;
	while (got < sent && zl_now_ns() < end) {
		zl_loop_dispatch(f->loop, 1);
		ssize_t n = read(f->peer, in + in_len, sizeof(in) - in_len);
		if (n > 0) {
			in_len += (size_t)n;
		}
		size_t off = 0, used;
		struct xport_ctl_msg m;
		while (xport_ctl_parse(in + off, in_len - off, &m, &used) == 0) {
			assert_int_equal(m.type, XPORT_CTL_HEARTBEAT);
			assert_int_equal(m.heartbeat.seq, ++got);
			off += used;
		}
		memmove(in, in + off, in_len - off);
		in_len -= off;
	}
	assert_int_equal(got, sent);
	assert_int_equal(xport_ctl_conn_pending(&r->conn), 0);
	dispatch(f);
	assert_false(r->conn.want_out);
	assert_int_equal(r->closed, 0);
	/* Room again. */
	struct xport_ctl_msg hb = heartbeat(sent + 1);
	assert_int_equal(xport_ctl_conn_send(&r->conn, &hb), 0);
}

/* send_last: the message goes out, then EOF (write side shut down); what the
 * peer still sends is discarded; its close ends the conn with closed(0). */
static void test_send_last(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->rec;
	struct xport_ctl_msg err = { .type = XPORT_CTL_ERROR };
	err.error.code = XPORT_CTL_ERR_PROTOCOL;
	strcpy(err.error.text, "go away");
	assert_int_equal(xport_ctl_conn_send_last(&r->conn, &err), 0);
	struct xport_ctl_msg hb = heartbeat(1);
	assert_int_equal(xport_ctl_conn_send(&r->conn, &hb), -EPIPE);
	assert_int_equal(xport_ctl_conn_send_last(&r->conn, &hb), -EPIPE);
	struct xport_ctl_msg m = read_msg(f->peer);
	assert_int_equal(m.type, XPORT_CTL_ERROR);
	assert_string_equal(m.error.text, "go away");
	uint8_t buf[XPORT_CTL_MAX_MSG];
	assert_int_equal(read(f->peer, buf, sizeof(buf)), 0); /* EOF */
	/* Messages and junk alike are discarded now. */
	size_t hl = encode(&hb, buf, sizeof(buf));
	for (int i = 0; i < 100; i++) {
		write_all(f->peer, buf, hl);
		write_all(f->peer, (const uint8_t *)"junk", 4);
	}
	dispatch(f);
	assert_int_equal(r->n_msgs, 0);
	assert_int_equal(r->bad, 0);
	assert_true(xport_ctl_conn_is_open(&r->conn));
	hang_up(f);
}

/* A callback may finish the conn or send its last message: no message after
 * that one is delivered. */
static void test_stop_in_callback(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->rec;
	uint8_t buf[4 * XPORT_CTL_MAX_MSG];
	size_t len = 0;
	for (uint32_t i = 1; i <= 4; i++) {
		struct xport_ctl_msg hb = heartbeat(i);
		len += encode(&hb, buf + len, sizeof(buf) - len);
	}
	r->send_last_on_message = true;
	write_all(f->peer, buf, len);
	dispatch(f);
	assert_int_equal(r->n_msgs, 1);
	assert_int_equal(read_msg(f->peer).type, XPORT_CTL_BYE);

	r->send_last_on_message = false;
	r->finish_on_message = true;
	write_all(f->peer, buf, len);
	dispatch(f);
	assert_int_equal(r->n_msgs, 1); /* still discarding */
	xport_ctl_conn_finish(&r->conn);

	/* A fresh conn whose callback finishes it. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	memset(r, 0, sizeof(*r));
	r->finish_on_message = true;
	assert_int_equal(xport_ctl_conn_init(&r->conn, f->loop, sv[0], 0, &listener, r), 0);
	close(f->peer);
	f->peer = sv[1];
	write_all(f->peer, buf, len);
	dispatch(f);
	assert_int_equal(r->n_msgs, 1);
	assert_int_equal(r->closed, 0);
	assert_false(xport_ctl_conn_is_open(&r->conn));
}

static int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static int start_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	assert_true(r == 0 || errno == EINPROGRESS);
	return fd;
}

/* A connecting conn says connected(), then sends; one whose connect fails
 * says closed() with the error. */
static void test_connect(void **state)
{
	struct zl_loop *loop = zl_loop_create();
	struct rec *r = calloc(1, sizeof(*r));
	uint16_t port;
	int lfd = listen_loopback(&port);
	assert_int_equal(xport_ctl_conn_init(&r->conn, loop, start_connect(port),
		XPORT_CTL_CONN_CONNECTING, &listener, r), 0);
	struct xport_ctl_msg hb = heartbeat(3);
	assert_int_equal(xport_ctl_conn_send(&r->conn, &hb), -EPIPE);
	for (int i = 0; i < 100 && !r->connected; i++) {
		zl_loop_dispatch(loop, 10);
	}
	assert_int_equal(r->connected, 1);
	assert_int_equal(xport_ctl_conn_send(&r->conn, &hb), 0);
	int afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	struct xport_ctl_msg m = read_msg(afd);
	assert_int_equal(m.type, XPORT_CTL_HEARTBEAT);
	assert_int_equal(m.heartbeat.seq, 3);
	/* And back. */
	uint8_t buf[XPORT_CTL_MAX_MSG];
	write_all(afd, buf, encode(&m, buf, sizeof(buf)));
	for (int i = 0; i < 100 && !r->n_msgs; i++) {
		zl_loop_dispatch(loop, 10);
	}
	assert_int_equal(r->n_msgs, 1);
	close(afd);
	xport_ctl_conn_finish(&r->conn);

	/* Nobody listens any more. */
	close(lfd);
	memset(r, 0, sizeof(*r));
	assert_int_equal(xport_ctl_conn_init(&r->conn, loop, start_connect(port),
		XPORT_CTL_CONN_CONNECTING, &listener, r), 0);
	for (int i = 0; i < 100 && !r->closed; i++) {
		zl_loop_dispatch(loop, 10);
	}
	assert_int_equal(r->closed, 1);
	assert_int_equal(r->closed_err, -ECONNREFUSED);
	assert_int_equal(r->connected, 0);
	zl_loop_dispatch(loop, 0);
	zl_loop_destroy(loop);
	free(r);
}

static void test_misc(void **state)
{
	/* finish on a never-initialised (zeroed) conn does nothing. */
	struct xport_ctl_conn zero;
	memset(&zero, 0, sizeof(zero));
	xport_ctl_conn_finish(&zero);
	assert_false(xport_ctl_conn_is_open(&zero));
	struct xport_ctl_msg hb = heartbeat(1);
	assert_int_equal(xport_ctl_conn_send(&zero, &hb), -EPIPE);

	struct fixture *f;
	setup_pair((void **)&f);
	struct xport_ctl_msg bad = { .type = 0 };
	assert_int_equal(xport_ctl_conn_send(&f->rec->conn, &bad), -EINVAL);
	/* The peer is gone: sending fails with the socket's error. */
	close(f->peer);
	f->peer = -1;
	int rc = 0;
	for (int i = 0; i < 4 && rc == 0; i++) {
		rc = xport_ctl_conn_send(&f->rec->conn, &hb);
	}
	assert_int_equal(rc, -EPIPE);
	teardown_pair((void **)&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_framing, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_bad_http, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_bad_type, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_bad_oversized, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_backpressure, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_send_last, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_stop_in_callback, setup_pair, teardown_pair),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_misc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
