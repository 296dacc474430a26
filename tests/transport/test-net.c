/* SPDX-License-Identifier: MIT */
/* The vehicle-network socket options: SO_PRIORITY and DSCP as the kernel
 * reports them back, DSCP as a receiver sees it in the IP header, SO_TXTIME
 * with a launch time per datagram (delivered here: loopback has no ETF
 * qdisc, so launch times are not enforced and nothing is reported late). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/net.h"

static int udp_bound(struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	socklen_t len = sizeof(*a);
	getsockname(fd, (struct sockaddr *)a, &len);
	return fd;
}

static void test_qos(void **state)
{
	(void)state;
	struct sockaddr_in ra, sa;
	int rx = udp_bound(&ra), tx = udp_bound(&sa);
	assert_int_equal(xport_net_set_qos(tx, AF_INET, 5, 46), 0);
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(getsockopt(tx, SOL_SOCKET, SO_PRIORITY, &v, &len), 0);
	assert_int_equal(v, 5);
	len = sizeof(v);
	assert_int_equal(getsockopt(tx, IPPROTO_IP, IP_TOS, &v, &len), 0);
	assert_int_equal(v, 46 << 2);
	/* -1 leaves them alone. */
	assert_int_equal(xport_net_set_qos(tx, AF_INET, -1, -1), 0);
	len = sizeof(v);
	getsockopt(tx, SOL_SOCKET, SO_PRIORITY, &v, &len);
	assert_int_equal(v, 5);
	/* The receiver sees the DSCP in the datagram's IP header. */
	int on = 1;
	assert_int_equal(setsockopt(rx, IPPROTO_IP, IP_RECVTOS, &on, sizeof(on)), 0);
	assert_int_equal(sendto(tx, "x", 1, 0, (struct sockaddr *)&ra, sizeof(ra)), 1);
	char data[8];
	union {
		char buf[64];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf) };
	assert_int_equal(recvmsg(rx, &mh, 0), 1);
	int tos = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) {
			tos = *(unsigned char *)CMSG_DATA(cm);
		}
	}
	assert_int_equal(tos >> 2, 46);
	close(rx);
	close(tx);
}

static void test_txtime(void **state)
{
	(void)state;
	struct sockaddr_in ra, sa;
	int rx = udp_bound(&ra), tx = udp_bound(&sa);
	int r = xport_net_enable_txtime(tx);
	if (r == -ENOPROTOOPT || r == -EINVAL) {
		skip(); /* a kernel before 4.19 */
	}
	assert_int_equal(r, 0);
	union {
		char buf[XPORT_NET_TXTIME_CMSG_SPACE];
		struct cmsghdr align;
	} ctl;
	struct timespec ts;
	clock_gettime(CLOCK_TAI, &ts);
	xport_net_txtime_cmsg(ctl.buf, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
		500000);
	struct iovec iov = { "txtime", 6 };
	struct msghdr mh = { .msg_name = &ra, .msg_namelen = sizeof(ra), .msg_iov = &iov,
		.msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	assert_int_equal(sendmsg(tx, &mh, 0), 6);
	char data[8];
	assert_int_equal(recv(rx, data, sizeof(data), 0), 6);
	assert_memory_equal(data, "txtime", 6);
	assert_int_equal(xport_net_read_txtime_errors(tx), 0);
	close(rx);
	close(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qos),
		cmocka_unit_test(test_txtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
