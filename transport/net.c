/* SPDX-License-Identifier: MIT */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

int xport_net_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port,
	uint16_t default_port)
{
	const char *h = s, *colon;
	size_t hlen;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close) {
			return -EINVAL;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close[1] != '\0') {
			return -EINVAL;
		}
	} else {
		colon = strrchr(s, ':');
		/* More than one colon without brackets: a bare IPv6 address. */
		if (colon && strchr(s, ':') != colon) {
			colon = NULL;
		}
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hlen >= host_cap) {
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!colon) {
		*port = default_port;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || p > 65535) {
		return -EINVAL;
	}
	*port = (uint16_t)p;
	return 0;
}

int xport_net_resolve(const char *host, uint16_t port, bool passive, int socktype,
	struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = socktype,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : AI_ADDRCONFIG),
	};
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	const char *node = host;
	if (passive && (host[0] == '\0' || strcmp(host, "*") == 0)) {
		node = NULL;
	}
	struct addrinfo *res = NULL;
	if (getaddrinfo(node, service, &hints, &res) != 0 || !res) {
		return -ENOENT;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

const char *xport_net_addr_str(const struct sockaddr *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, cap, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, cap, "(family %d)", sa->sa_family);
	}
	return buf;
}

uint16_t xport_net_get_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	}
	if (sa->sa_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	return 0;
}

void xport_net_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET) {
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	} else if (sa->sa_family == AF_INET6) {
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
	}
}

bool xport_net_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family) {
		return false;
	}
	if (a->sa_family == AF_INET) {
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
			((const struct sockaddr_in *)b)->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			&((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
	}
	return false;
}

bool xport_net_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	return xport_net_same_ip(a, b) && xport_net_get_port(a) == xport_net_get_port(b);
}

socklen_t xport_net_addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

void xport_net_set_buffer(int fd, int optname, int bytes)
{
	int force = optname == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(bytes)) == 0) {
		return;
	}
	setsockopt(fd, SOL_SOCKET, optname, &bytes, sizeof(bytes));
}

int xport_net_set_qos(int fd, int family, int priority, int dscp)
{
	/* DSCP first: setting IP_TOS also sets the socket's priority (from the
	 * TOS), which an explicit priority then overrides. */
	if (dscp >= 0) {
		int tos = dscp << 2; /* ECN bits stay 0 */
		int r = family == AF_INET6 ?
			setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)) :
			setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		if (r < 0) {
			return -errno;
		}
	}
	if (priority >= 0 &&
		setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &priority, sizeof(priority)) < 0) {
		return -errno;
	}
	return 0;
}

int xport_net_enable_txtime(int fd)
{
	struct sock_txtime t = {
		.clockid = CLOCK_TAI,
		.flags = SOF_TXTIME_REPORT_ERRORS,
	};
	return setsockopt(fd, SOL_SOCKET, SO_TXTIME, &t, sizeof(t)) < 0 ? -errno : 0;
}

uint64_t xport_net_launch_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + XPORT_NET_TXTIME_AHEAD_NS;
}

void xport_net_txtime_cmsg(void *buf, uint64_t launch_tai_ns)
{
	struct cmsghdr *cm = buf;
	memset(buf, 0, XPORT_NET_TXTIME_CMSG_SPACE);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_TXTIME;
	cm->cmsg_len = CMSG_LEN(sizeof(uint64_t));
	memcpy(CMSG_DATA(cm), &launch_tai_ns, sizeof(uint64_t));
}

unsigned xport_net_read_txtime_errors(int fd)
{
	unsigned dropped = 0;
	for (int budget = 0; budget < 256; budget++) {
		uint8_t data[64];
		union {
			char buf[256];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { data, sizeof(data) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			break;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err))) {
				continue;
			}
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			if (ee.ee_origin == SO_EE_ORIGIN_TXTIME) {
				dropped++;
			}
		}
	}
	return dropped;
}

_Static_assert(XPORT_NET_TXTIME_CMSG_SPACE == CMSG_SPACE(sizeof(uint64_t)),
	"XPORT_NET_TXTIME_CMSG_SPACE");
