/* SPDX-License-Identifier: MIT */
#ifndef XPORT_NET_H
#define XPORT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Socket address helpers shared by gpu-server and zone-client. */

#define XPORT_NET_ADDR_STRLEN 64 /* "[v6 address]:port" with room to spare */

/* Splits "HOST:PORT", "[V6HOST]:PORT" or "HOST" (then *port = default_port)
 * into host (NUL-terminated, at most host_cap - 1 bytes) and port.
 * Returns 0 or -EINVAL. */
int xport_net_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port,
	uint16_t default_port);

/* Resolves host (a name or numeric address; passive: "" or "*" is the
 * wildcard) to its first usable address. Blocks in getaddrinfo(): call at
 * start-up only. Returns 0 or -ENOENT. */
int xport_net_resolve(const char *host, uint16_t port, bool passive, int socktype,
	struct sockaddr_storage *ss, socklen_t *len);

/* "1.2.3.4:5" or "[::1]:5" into buf (XPORT_NET_ADDR_STRLEN); returns buf. */
const char *xport_net_addr_str(const struct sockaddr *sa, char *buf, size_t cap);

uint16_t xport_net_get_port(const struct sockaddr *sa);
void xport_net_set_port(struct sockaddr *sa, uint16_t port);
/* Same IP address (ports ignored)? */
bool xport_net_same_ip(const struct sockaddr *a, const struct sockaddr *b);
/* Same IP address and port? */
bool xport_net_same_addr(const struct sockaddr *a, const struct sockaddr *b);
socklen_t xport_net_addr_len(const struct sockaddr *sa);

/* Raises a socket buffer (SO_RCVBUF/SO_SNDBUF) to bytes, beyond the sysctl
 * limit when we may (SO_*BUFFORCE). Best effort. */
void xport_net_set_buffer(int fd, int optname, int bytes);

/* The vehicle network's traffic classes on a UDP socket of family
 * (AF_INET, AF_INET6): SO_PRIORITY priority 0..7 (the interface's egress
 * map turns it into the VLAN PCP; TSN qdiscs pick the traffic class from
 * it) and the IP DSCP 0..63; -1 leaves either as it is. 0 or -errno. */
int xport_net_set_qos(int fd, int family, int priority, int dscp);
/* SO_TXTIME on CLOCK_TAI with deadline mode off and error reports on: each
 * datagram then carries its launch time (xport_net_txtime_cmsg) for an ETF
 * qdisc, which reports the ones it dropped as late on the error queue.
 * 0 or -errno (kernels before 4.19). */
int xport_net_enable_txtime(int fd);
/* A launch time for a datagram handed over now: CLOCK_TAI plus the slack
 * an ETF qdisc needs (XPORT_NET_TXTIME_AHEAD_NS). */
#define XPORT_NET_TXTIME_AHEAD_NS 500000ull
uint64_t xport_net_launch_time(void);
/* Room for and the writer of an SCM_TXTIME control message. */
#define XPORT_NET_TXTIME_CMSG_SPACE 24 /* CMSG_SPACE(sizeof(uint64_t)) on Linux */
void xport_net_txtime_cmsg(void *buf, uint64_t launch_tai_ns);
/* Reads the socket's error queue; returns how many datagrams a TXTIME
 * qdisc reported dropped (missed their launch time or bad parameters). */
unsigned xport_net_read_txtime_errors(int fd);

#endif
