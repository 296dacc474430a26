/* SPDX-License-Identifier: MIT */
/* gs_qemu_ui against fake QEMU ends in this process: an RFB server, a QMP
 * server and a D-Bus peer on unix sockets. A real QEMU cannot run in the
 * unit suite; tests/qemu-ui/hotplug-*.sh drive real QEMU guests. The fakes
 * check the exact bytes the client sends, and throw well-formed chatter and
 * garbage at it. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpu-server/qemu-ui.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"

struct fixture {
	struct zl_loop *loop;
	char dir[64];
	char path[96];
	int listen_fd;
	int peer; /* the fake server's end of the accepted connection */
	struct gs_qemu_ui *ui;
};

static void pump(struct fixture *f, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		zl_loop_dispatch(f->loop, 0);
	}
}

static void listen_on(struct fixture *f)
{
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->loop = zl_loop_create();
	assert_non_null(f->loop);
	snprintf(f->dir, sizeof(f->dir), "/tmp/qemu-ui-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	f->listen_fd = -1;
	f->peer = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	gs_qemu_ui_destroy(f->ui);
	if (f->peer >= 0) {
		close(f->peer);
	}
	if (f->listen_fd >= 0) {
		close(f->listen_fd);
	}
	unlink(f->path);
	rmdir(f->dir);
	zl_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Accepts the client's connection, running its loop (reconnect timer)
 * until it shows up. */
static void server_accept(struct fixture *f)
{
	uint64_t end = zl_now_ns() + 3000000000ull;
	for (;;) {
		struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1) {
			break;
		}
		assert_true(zl_now_ns() < end);
		zl_loop_dispatch(f->loop, 10);
	}
	if (f->peer >= 0) {
		close(f->peer);
	}
	f->peer = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->peer >= 0);
}

static void server_send(struct fixture *f, const void *buf, size_t n)
{
	assert_int_equal(send(f->peer, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads up to n bytes the client writes within a second, running its loop. */
static size_t server_read(struct fixture *f, int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	uint64_t end = zl_now_ns() + 1000000000ull;
	while (got < n && zl_now_ns() < end) {
		zl_loop_dispatch(f->loop, 5);
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
		} else if (r == 0) {
			break;
		}
	}
	return got;
}

static void server_expect(struct fixture *f, const void *want, size_t n)
{
	uint8_t got[512];
	assert_true(n <= sizeof(got));
	assert_int_equal(server_read(f, f->peer, got, n), n);
	assert_memory_equal(got, want, n);
}

/* True when the client closed its end (after pumping its loop). */
static bool server_sees_eof(struct fixture *f, int fd)
{
	uint64_t end = zl_now_ns() + 1000000000ull;
	while (zl_now_ns() < end) {
		zl_loop_dispatch(f->loop, 5);
		uint8_t b[256];
		ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (r == 0) {
			return true;
		}
	}
	return false;
}

static struct gs_qemu_ui_stats stats(struct fixture *f)
{
	struct gs_qemu_ui_stats st;
	gs_qemu_ui_get_stats(f->ui, &st);
	return st;
}

/* ---- RFB ------------------------------------------------------------- */

static const uint8_t server_init[] = {
	0x05, 0x00, 0x03, 0x20, /* 1280x800 */
	32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0, /* pixel format */
	0, 0, 0, 4, 'Q', 'E', 'M', 'U',
};

static const uint8_t set_encodings[] = {
	2, 0, 0, 2,
	0xff, 0xff, 0xfe, 0xcc, /* -308 ExtendedDesktopSize */
	0xff, 0xff, 0xff, 0x21, /* -223 DesktopSize */
};

static void rfb_handshake(struct fixture *f)
{
	server_send(f, "RFB 003.008\n", 12);
	server_expect(f, "RFB 003.008\n", 12);
	server_send(f, "\x02\x02\x01", 3); /* VNC auth, None */
	server_expect(f, "\x01", 1);
	server_send(f, "\0\0\0\0", 4);
	server_expect(f, "\x01", 1); /* ClientInit: shared */
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));
	server_send(f, server_init, sizeof(server_init));
	server_expect(f, set_encodings, sizeof(set_encodings));
	assert_true(gs_qemu_ui_is_ready(f->ui, 0));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void set_desktop_size(uint8_t *p, uint16_t w, uint16_t h)
{
	memset(p, 0, 24);
	p[0] = 251;
	put16(p + 2, w);
	put16(p + 4, h);
	p[6] = 1;
	put16(p + 16, w);
	put16(p + 18, h);
}

/* QEMU's answer to SetDesktopSize: one ExtendedDesktopSize rectangle. */
static void send_resize_reply(struct fixture *f, uint16_t reason, uint16_t status)
{
	uint8_t m[4 + 12 + 4 + 16] = { 0, 0, 0, 1 };
	put16(m + 4, reason);
	put16(m + 6, status);
	put16(m + 8, 1024);
	put16(m + 10, 768);
	memcpy(m + 12, "\xff\xff\xfe\xcc", 4);
	m[16] = 1;
	server_send(f, m, sizeof(m));
}

static void test_rfb_handshake_and_events(void **state)
{
	struct fixture *f = *state;
	listen_on(f);
	char address[160];
	snprintf(address, sizeof(address), "vnc:%s", f->path);
	f->ui = gs_qemu_ui_create(f->loop, address, "test");
	assert_non_null(f->ui);
	server_accept(f);
	rfb_handshake(f);

	uint8_t want[48];
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, true, 1024, 768), 0);
	set_desktop_size(want, 1024, 767);
	set_desktop_size(want + 24, 1024, 768);
	server_expect(f, want, sizeof(want));
	send_resize_reply(f, 1, 4);
	send_resize_reply(f, 1, 4);
	pump(f, 3);
	assert_int_equal(stats(f).requests_acked, 2);

	/* The same state again still makes an event: the decoy differs. */
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, true, 1024, 768), 0);
	server_expect(f, want, sizeof(want));

	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, false, 0, 0), 0);
	set_desktop_size(want, 0, 1);
	set_desktop_size(want + 24, 0, 0);
	server_expect(f, want, sizeof(want));

	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, true, 640, 1), 0);
	set_desktop_size(want, 640, 2);
	set_desktop_size(want + 24, 640, 1);
	server_expect(f, want, sizeof(want));

	/* A console without ui_info: QEMU says "invalid screen layout". */
	send_resize_reply(f, 1, 3);
	pump(f, 3);
	struct gs_qemu_ui_stats st = stats(f);
	assert_int_equal(st.requests_failed, 1);
	assert_int_equal(st.events_sent, 4);
	assert_int_equal(st.sessions, 1);
	assert_true(gs_qemu_ui_is_ready(f->ui, 0));
}

static void test_rfb_queued_until_qemu_appears(void **state)
{
	struct fixture *f = *state;
	char address[160];
	snprintf(address, sizeof(address), "vnc:%s", f->path);
	f->ui = gs_qemu_ui_create(f->loop, address, "test");
	assert_non_null(f->ui);
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));
	/* Only the latest request per scanout is kept. */
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, true, 800, 600), 0);
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, false, 0, 0), 0);
	pump(f, 3);

	listen_on(f); /* QEMU starts */
	server_accept(f);
	server_send(f, "RFB 003.008\n", 12);
	server_expect(f, "RFB 003.008\n", 12);
	server_send(f, "\x01\x01", 2);
	server_expect(f, "\x01", 1);
	server_send(f, "\0\0\0\0", 4);
	server_expect(f, "\x01", 1);
	server_send(f, server_init, sizeof(server_init));
	uint8_t want[sizeof(set_encodings) + 48];
	memcpy(want, set_encodings, sizeof(set_encodings));
	set_desktop_size(want + sizeof(set_encodings), 0, 1);
	set_desktop_size(want + sizeof(set_encodings) + 24, 0, 0);
	server_expect(f, want, sizeof(want));
	assert_int_equal(stats(f).events_sent, 1);

	/* QEMU restarts: the client comes back by itself. */
	close(f->peer);
	f->peer = -1;
	pump(f, 3);
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));
	server_accept(f);
	rfb_handshake(f);
	assert_int_equal(stats(f).sessions, 2);
}

/* Every server message QEMU may send, delivered a byte at a time. */
static void test_rfb_server_messages(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	snprintf(f->path, sizeof(f->path), "%s/none", f->dir);
	char address[160];
	snprintf(address, sizeof(address), "vnc:%s", f->path);
	f->ui = gs_qemu_ui_create_with_fd(f->loop, address, "test", sv[0]);
	assert_non_null(f->ui);
	rfb_handshake(f);

	static const uint8_t chatter[] = {
		2, /* Bell */
		1, 0, 0, 0, 0, 2, /* SetColourMapEntries: 2 colours */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		3, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', /* ServerCutText */
		3, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, /* extended clipboard, 8 bytes */
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 9, /* FramebufferUpdate, 9 rectangles */
		0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, /* raw 2x1 @ 32 bpp */
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 1, /* CopyRect */
		0, 1, 0, 2,
		0, 0, 0, 0, 5, 0, 3, 0, 0xff, 0xff, 0xff, 0x21, /* DesktopSize 1280x768 */
		0, 0, 0, 0, 0, 8, 0, 1, 0xff, 0xff, 0xff, 0x11, /* Cursor 8x1 */
		1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
		5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 0xff,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb, /* LED state */
		7,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xff, /* PointerTypeChange */
		0, 0, 0, 0, 0, 1, 0, 1, 0xff, 0xff, 0xfe, 0xc6, /* alpha cursor 1x1 */
		0, 0, 0, 0, 9, 9, 9, 9,
		0, 0, 0, 0, 4, 0, 3, 0, 0xff, 0xff, 0xfe, 0xcc, /* EDS by the server */
		2, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0, 0, 0,
		0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0x57, 0x4d, 0x56, 0x69, /* WMVi: now 16 bpp */
		16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0,
		0, 0, 0xff, 0xff, /* FramebufferUpdate, "many" rectangles */
		0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, /* raw 1x2 @ 16 bpp */
		1, 2, 3, 4,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x20, /* LastRect */
		255, 1, 0, 1, /* QEMU audio begin */
		255, 1, 0, 2, 0, 0, 0, 3, 1, 2, 3, /* QEMU audio data */
		255, 1, 0, 0, /* QEMU audio end */
		250, 0, 1, 0, /* xvp */
		150, /* EndOfContinuousUpdates */
	};
	for (size_t i = 0; i < sizeof(chatter); i++) {
		server_send(f, chatter + i, 1);
		pump(f, 1);
	}
	send_resize_reply(f, 1, 4);
	pump(f, 3);
	struct gs_qemu_ui_stats st = stats(f);
	assert_int_equal(st.protocol_errors, 0);
	assert_int_equal(st.requests_acked, 1);
	assert_true(gs_qemu_ui_is_ready(f->ui, 0));
}

static void test_rfb_garbage_then_reconnect(void **state)
{
	struct fixture *f = *state;
	listen_on(f);
	char address[160];
	snprintf(address, sizeof(address), "vnc:%s", f->path);
	f->ui = gs_qemu_ui_create(f->loop, address, "test");
	server_accept(f);
	rfb_handshake(f);

	/* An encoding we never asked for: its length is unknowable. */
	static const uint8_t bad[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 16 };
	server_send(f, bad, sizeof(bad));
	assert_true(server_sees_eof(f, f->peer));
	assert_int_equal(stats(f).protocol_errors, 1);
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));
	/* An event while down waits for the next session. */
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, true, 1920, 720), 0);

	server_accept(f);
	rfb_handshake(f);
	uint8_t want[48];
	set_desktop_size(want, 1920, 719);
	set_desktop_size(want + 24, 1920, 720);
	server_expect(f, want, sizeof(want));

	/* Unknown message type. */
	server_send(f, "\x07", 1);
	assert_true(server_sees_eof(f, f->peer));
	assert_int_equal(stats(f).protocol_errors, 2);
}

static void test_rfb_refusals(void **state)
{
	struct fixture *f = *state;
	listen_on(f);
	char address[160];
	snprintf(address, sizeof(address), "vnc:%s", f->path);
	f->ui = gs_qemu_ui_create(f->loop, address, "test");

	/* Too old. */
	server_accept(f);
	server_send(f, "RFB 003.003\n", 12);
	assert_true(server_sees_eof(f, f->peer));
	/* Not RFB at all. */
	server_accept(f);
	server_send(f, "HTTP/1.1 200", 12);
	assert_true(server_sees_eof(f, f->peer));
	/* Password required. */
	server_accept(f);
	server_send(f, "RFB 003.008\n", 12);
	server_expect(f, "RFB 003.008\n", 12);
	server_send(f, "\x01\x02", 2);
	assert_true(server_sees_eof(f, f->peer));
	/* No security types, with a reason. */
	server_accept(f);
	server_send(f, "RFB 003.008\n", 12);
	server_expect(f, "RFB 003.008\n", 12);
	server_send(f, "\x00\x00\x00\x00\x04nope", 9);
	assert_true(server_sees_eof(f, f->peer));
	/* Security failed. */
	server_accept(f);
	server_send(f, "RFB 003.008\n", 12);
	server_expect(f, "RFB 003.008\n", 12);
	server_send(f, "\x01\x01", 2);
	server_expect(f, "\x01", 1);
	server_send(f, "\x00\x00\x00\x01\x00\x00\x00\x03" "bad", 11);
	assert_true(server_sees_eof(f, f->peer));
	/* Bad pixel format. */
	server_accept(f);
	server_send(f, "RFB 003.008\n", 12);
	server_expect(f, "RFB 003.008\n", 12);
	server_send(f, "\x01\x01", 2);
	server_expect(f, "\x01", 1);
	server_send(f, "\0\0\0\0", 4);
	server_expect(f, "\x01", 1);
	uint8_t init[sizeof(server_init)];
	memcpy(init, server_init, sizeof(init));
	init[4] = 24;
	server_send(f, init, sizeof(init));
	assert_true(server_sees_eof(f, f->peer));

	assert_int_equal(stats(f).sessions, 0);
	assert_int_equal(stats(f).protocol_errors, 6);
}

/* ---- QMP + D-Bus ----------------------------------------------------- */

/* SetUIInfo(0, 0, 1, 0, 1024, 768) on Console_1, serial 1, as QEMU 10.0.2
 * accepted it (generated independently in Python). */
static const uint8_t set_ui_info_1[156] = {
	0x6c, 0x01, 0x00, 0x01, 0x14, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x74, 0x00, 0x00, 0x00, 0x01, 0x01, 0x6f, 0x00, 0x1c, 0x00, 0x00, 0x00,
	0x2f, 0x6f, 0x72, 0x67, 0x2f, 0x71, 0x65, 0x6d, 0x75, 0x2f, 0x44, 0x69,
	0x73, 0x70, 0x6c, 0x61, 0x79, 0x31, 0x2f, 0x43, 0x6f, 0x6e, 0x73, 0x6f,
	0x6c, 0x65, 0x5f, 0x31, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x73, 0x00,
	0x19, 0x00, 0x00, 0x00, 0x6f, 0x72, 0x67, 0x2e, 0x71, 0x65, 0x6d, 0x75,
	0x2e, 0x44, 0x69, 0x73, 0x70, 0x6c, 0x61, 0x79, 0x31, 0x2e, 0x43, 0x6f,
	0x6e, 0x73, 0x6f, 0x6c, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x01, 0x73, 0x00, 0x09, 0x00, 0x00, 0x00, 0x53, 0x65, 0x74, 0x55,
	0x49, 0x49, 0x6e, 0x66, 0x6f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x08, 0x01, 0x67, 0x00, 0x06, 0x71, 0x71, 0x69, 0x69, 0x75, 0x75, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
};

static const char qmp_greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, "
	"\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";
static const char qmp_caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
static const char qmp_getfd[] = "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"zonal-dbus\"}}\n";
static const char qmp_add_client[] = "{\"execute\":\"add_client\",\"arguments\":"
	"{\"protocol\":\"@dbus-display\",\"fdname\":\"zonal-dbus\"}}\n";
static const char qmp_return[] = "{\"return\": {}}\r\n";

/* Reads the getfd command and the descriptor that travels with it. */
static int server_recv_getfd(struct fixture *f)
{
	char buf[sizeof(qmp_getfd)] = "";
	int fd = -1;
	uint64_t end = zl_now_ns() + 1000000000ull;
	size_t got = 0;
	while (got < sizeof(qmp_getfd) - 1 && zl_now_ns() < end) {
		zl_loop_dispatch(f->loop, 5);
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctrl;
		struct iovec iov = { .iov_base = buf + got, .iov_len = sizeof(qmp_getfd) - 1 - got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctrl.b, .msg_controllen = sizeof(ctrl.b) };
		ssize_t r = recvmsg(f->peer, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r <= 0) {
			continue;
		}
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			assert_int_equal(fd, -1);
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		}
		got += (size_t)r;
	}
	assert_int_equal(got, sizeof(qmp_getfd) - 1);
	assert_memory_equal(buf, qmp_getfd, got);
	assert_true(fd >= 0);
	return fd;
}

/* Runs the QMP part and D-Bus authentication; returns QEMU's D-Bus end. */
static int qmp_dbus_handshake(struct fixture *f)
{
	server_send(f, qmp_greeting, sizeof(qmp_greeting) - 1);
	server_expect(f, qmp_caps, sizeof(qmp_caps) - 1);
	static const char event[] = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
		"\"event\": \"NIC_RX_FILTER_CHANGED\", \"data\": {\"path\": \"/x\"}}\r\n";
	server_send(f, event, sizeof(event) - 1);
	server_send(f, qmp_return, sizeof(qmp_return) - 1);
	int dbus = server_recv_getfd(f);
	server_send(f, qmp_return, sizeof(qmp_return) - 1);
	server_expect(f, qmp_add_client, sizeof(qmp_add_client) - 1);
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));
	server_send(f, qmp_return, sizeof(qmp_return) - 1);
	/* QMP is let go once the D-Bus peer exists. */
	assert_true(server_sees_eof(f, f->peer));

	char want[96];
	char uid[16];
	int n = snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	int len = snprintf(want, sizeof(want), "%cAUTH EXTERNAL ", '\0');
	for (int i = 0; i < n; i++) {
		len += snprintf(want + len, sizeof(want) - (size_t)len, "%02x", (unsigned char)uid[i]);
	}
	len += snprintf(want + len, sizeof(want) - (size_t)len, "\r\n");
	uint8_t got[96];
	assert_int_equal(server_read(f, dbus, got, (size_t)len), len);
	assert_memory_equal(got, want, (size_t)len);
	static const char ok[] = "OK 301b2471604397998b31f9fc6b065b91\r\n";
	assert_int_equal(send(dbus, ok, sizeof(ok) - 1, MSG_NOSIGNAL), sizeof(ok) - 1);
	assert_int_equal(server_read(f, dbus, got, 7), 7);
	assert_memory_equal(got, "BEGIN\r\n", 7);
	assert_true(gs_qemu_ui_is_ready(f->ui, 0));
	assert_true(gs_qemu_ui_is_ready(f->ui, 15));
	return dbus;
}

/* A method return or error for `serial`, little- or big-endian. */
static size_t dbus_reply(uint8_t *m, bool big, uint8_t type, uint32_t serial,
	const char *error_name, const char *error_text)
{
	size_t n = 0;
	uint8_t *body_len_at, *fields_len_at;
#define U32(v) do { uint32_t v_ = (v); \
		if (big) { m[n] = (uint8_t)(v_ >> 24); m[n + 1] = (uint8_t)(v_ >> 16); \
			m[n + 2] = (uint8_t)(v_ >> 8); m[n + 3] = (uint8_t)v_; } \
		else { m[n] = (uint8_t)v_; m[n + 1] = (uint8_t)(v_ >> 8); \
			m[n + 2] = (uint8_t)(v_ >> 16); m[n + 3] = (uint8_t)(v_ >> 24); } \
		n += 4; } while (0)
#define PAD(a) do { while (n % (a)) m[n++] = 0; } while (0)
	m[n++] = big ? 'B' : 'l';
	m[n++] = type;
	m[n++] = 1; /* NO_REPLY_EXPECTED */
	m[n++] = 1;
	body_len_at = m + n;
	U32(0);
	U32(1000 + serial);
	fields_len_at = m + n;
	U32(0);
	size_t fields = n;
	m[n++] = 5; m[n++] = 1; m[n++] = 'u'; m[n++] = 0;
	U32(serial);
	if (error_name) {
		PAD(8);
		m[n++] = 4; m[n++] = 1; m[n++] = 's'; m[n++] = 0;
		U32((uint32_t)strlen(error_name));
		memcpy(m + n, error_name, strlen(error_name) + 1);
		n += strlen(error_name) + 1;
		PAD(8);
		m[n++] = 8; m[n++] = 1; m[n++] = 'g'; m[n++] = 0;
		m[n++] = 1; m[n++] = 's'; m[n++] = 0;
	}
	size_t fields_len = n - fields;
	PAD(8);
	size_t body = n;
	if (error_text) {
		U32((uint32_t)strlen(error_text));
		memcpy(m + n, error_text, strlen(error_text) + 1);
		n += strlen(error_text) + 1;
	}
	size_t save = n;
	n = (size_t)(body_len_at - m);
	U32((uint32_t)(save - body));
	n = (size_t)(fields_len_at - m);
	U32((uint32_t)fields_len);
	n = save;
#undef U32
#undef PAD
	return n;
}

static void test_qmp_dbus_events(void **state)
{
	struct fixture *f = *state;
	listen_on(f);
	char address[160];
	snprintf(address, sizeof(address), "qmp:%s", f->path);
	f->ui = gs_qemu_ui_create(f->loop, address, "test");
	assert_non_null(f->ui);
	/* Queued before the session is up. */
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 1, true, 1024, 768), 0);
	server_accept(f);
	int dbus = qmp_dbus_handshake(f);

	uint8_t got[2 * sizeof(set_ui_info_1)];
	assert_int_equal(server_read(f, dbus, got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, set_ui_info_1, sizeof(set_ui_info_1));
	uint8_t want[sizeof(set_ui_info_1)];
	memcpy(want, set_ui_info_1, sizeof(want));
	want[8] = 2; /* serial */
	want[140] = 0; /* xoff: the target after the decoy */
	assert_memory_equal(got + sizeof(set_ui_info_1), want, sizeof(want));

	/* A signal we did not ask for, then both replies, one big-endian. */
	static const uint8_t signal_msg[] = {
		'l', 4, 1, 1, 4, 0, 0, 0, 9, 0, 0, 0, 0x0f, 0, 0, 0,
		1, 1, 'o', 0, 6, 0, 0, 0, '/', 'a', '/', 'b', '/', 'c', 0, 0,
		0xde, 0xad, 0xbe, 0xef,
	};
	uint8_t m[256];
	assert_int_equal(send(dbus, signal_msg, sizeof(signal_msg), MSG_NOSIGNAL),
		(ssize_t)sizeof(signal_msg));
	size_t n = dbus_reply(m, false, 2, 1, NULL, NULL);
	assert_int_equal(send(dbus, m, n, MSG_NOSIGNAL), (ssize_t)n);
	n = dbus_reply(m, true, 2, 2, NULL, NULL);
	assert_int_equal(send(dbus, m, n, MSG_NOSIGNAL), (ssize_t)n);
	/* A reply to nothing we sent is ignored. */
	n = dbus_reply(m, false, 2, 77, NULL, NULL);
	assert_int_equal(send(dbus, m, n, MSG_NOSIGNAL), (ssize_t)n);
	pump(f, 5);
	struct gs_qemu_ui_stats st = stats(f);
	assert_int_equal(st.requests_acked, 2);
	assert_int_equal(st.events_sent, 1);

	/* Disconnect scanout 0: two calls on Console_0, sizes 0x0. */
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 0, false, 0, 0), 0);
	assert_int_equal(server_read(f, dbus, got, sizeof(got)), sizeof(got));
	static const char console0[] = "/org/qemu/Display1/Console_0";
	assert_memory_equal(got + 24, console0, sizeof(console0));
	assert_int_equal(got[8], 3);
	assert_int_equal(got[sizeof(set_ui_info_1) + 8], 4);
	static const uint8_t zero8[8] = { 0 };
	assert_memory_equal(got + 148, zero8, 8);
	assert_memory_equal(got + sizeof(set_ui_info_1) + 148, zero8, 8);

	/* QEMU refuses one (e.g. no such console), with a message. */
	n = dbus_reply(m, false, 3, 3, "org.freedesktop.DBus.Error.UnknownObject", "No such object");
	assert_int_equal(send(dbus, m, n, MSG_NOSIGNAL), (ssize_t)n);
	n = dbus_reply(m, true, 3, 4, "org.qemu.Display1.Error.Unsupported", NULL);
	assert_int_equal(send(dbus, m, n, MSG_NOSIGNAL), (ssize_t)n);
	pump(f, 5);
	st = stats(f);
	assert_int_equal(st.requests_failed, 2);
	assert_int_equal(st.protocol_errors, 0);
	assert_true(gs_qemu_ui_is_ready(f->ui, 0));

	assert_int_equal(gs_qemu_ui_display_event(f->ui, 16, true, 1, 1), -EINVAL);

	/* Garbage on the D-Bus socket drops the session; QMP is tried again. */
	assert_int_equal(send(dbus, "GARBAGE!GARBAGE!", 16, MSG_NOSIGNAL), 16);
	assert_true(server_sees_eof(f, dbus));
	close(dbus);
	assert_int_equal(stats(f).protocol_errors, 1);
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));
	server_accept(f);
	server_send(f, qmp_greeting, sizeof(qmp_greeting) - 1);
	server_expect(f, qmp_caps, sizeof(qmp_caps) - 1);
}

static void test_qmp_without_dbus_display(void **state)
{
	struct fixture *f = *state;
	listen_on(f);
	char address[160];
	snprintf(address, sizeof(address), "qmp:%s", f->path);
	f->ui = gs_qemu_ui_create(f->loop, address, "test");
	server_accept(f);
	server_send(f, qmp_greeting, sizeof(qmp_greeting) - 1);
	server_expect(f, qmp_caps, sizeof(qmp_caps) - 1);
	server_send(f, qmp_return, sizeof(qmp_return) - 1);
	int dbus = server_recv_getfd(f);
	close(dbus);
	server_send(f, qmp_return, sizeof(qmp_return) - 1);
	server_expect(f, qmp_add_client, sizeof(qmp_add_client) - 1);
	static const char error[] = "{\"error\": {\"class\": \"GenericError\", "
		"\"desc\": \"dbus-display not enabled\"}}\r\n";
	server_send(f, error, sizeof(error) - 1);
	assert_true(server_sees_eof(f, f->peer));
	assert_false(gs_qemu_ui_is_ready(f->ui, 0));

	/* Not JSON. */
	server_accept(f);
	server_send(f, "hello\n", 6);
	assert_true(server_sees_eof(f, f->peer));
	/* A line longer than any QMP answer we wait for. */
	server_accept(f);
	char *big = malloc(10000);
	assert_non_null(big);
	memset(big, ' ', 10000);
	big[0] = '{';
	assert_int_equal(send(f->peer, big, 10000, MSG_NOSIGNAL), 10000);
	free(big);
	assert_true(server_sees_eof(f, f->peer));
	assert_int_equal(stats(f).sessions, 0);
}

/* ---- arguments and the feed seam --------------------------------------- */

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	char long_path[200];
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	assert_null(gs_qemu_ui_create(f->loop, "", "t"));
	assert_null(gs_qemu_ui_create(f->loop, "vnc:", "t"));
	assert_null(gs_qemu_ui_create(f->loop, "qmp:", "t"));
	assert_null(gs_qemu_ui_create(f->loop, "vnc:/a,,/b", "t"));
	assert_null(gs_qemu_ui_create(f->loop, long_path, "t"));
	assert_null(gs_qemu_ui_create(f->loop, "vnc:a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "t"));
	assert_null(gs_qemu_ui_create(NULL, "vnc:/a", "t"));
	gs_qemu_ui_destroy(NULL);

	char address[160];
	snprintf(address, sizeof(address), "vnc:%s/a,%s/b", f->dir, f->dir);
	f->ui = gs_qemu_ui_create(f->loop, address, NULL);
	assert_non_null(f->ui);
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 2, true, 10, 10), -EINVAL);
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 1, true, 0, 10), -EINVAL);
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 1, true, 10, 65536), -EINVAL);
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 1, true, 65535, 65535), 0);
	assert_int_equal(gs_qemu_ui_display_event(f->ui, 1, false, 99999, 0), 0);
	assert_false(gs_qemu_ui_is_ready(f->ui, 1));
	assert_false(gs_qemu_ui_is_ready(f->ui, 7));
	/* Nobody listens: the seam says so. */
	assert_int_equal(gs_qemu_ui_feed(f->ui, (const uint8_t *)"x", 1), -ENOTCONN);
}

static void test_feed_seam(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	char address[160];
	snprintf(address, sizeof(address), "%s/none", f->dir);
	f->ui = gs_qemu_ui_create_with_fd(f->loop, address, "feed", sv[0]);
	assert_non_null(f->ui);
	static const uint8_t hello[] = "RFB 003.008\n\x01\x01\0\0\0\0";
	assert_int_equal(gs_qemu_ui_feed(f->ui, hello, sizeof(hello) - 1), 0);
	assert_int_equal(gs_qemu_ui_feed(f->ui, server_init, sizeof(server_init)), 0);
	assert_true(gs_qemu_ui_is_ready(f->ui, 0));
	assert_int_equal(gs_qemu_ui_feed(f->ui, (const uint8_t *)"\x09", 1), -EPROTO);
	assert_int_equal(gs_qemu_ui_feed(f->ui, (const uint8_t *)"x", 1), -ENOTCONN);
}

int main(void)
{
	zl_log_init(ZL_SILENT);
	if (getenv("ZONAL_LOG_LEVEL")) {
		zl_log_init(ZL_INFO);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfb_handshake_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfb_queued_until_qemu_appears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfb_server_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfb_garbage_then_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfb_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_dbus_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_without_dbus_display, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_seam, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
