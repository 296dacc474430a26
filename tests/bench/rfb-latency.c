/* SPDX-License-Identifier: MIT */
/*
 * rfb-latency: the measuring end of make bench's qemu-vnc peer, and the
 * guest-flip clock of both systems in that comparison.
 *
 *   rfb-latency --markers SOCK [--vnc SOCK|tcp:PORT] --skip S --seconds N --out JSON
 *               [--marker-log FILE]
 *
 * --markers: a Unix socket QEMU serves for the guest's second serial port
 * (-chardev socket,server=on), on which guest/pattern -m writes "F<n>" as
 * each flip is queued. Each line is timestamped (CLOCK_MONOTONIC) as it
 * arrives: the guest's flip on the host's clock, with no clock shared with
 * the guest. --marker-log writes them ("n t_ns" per line) for a caller that
 * matches them with another client's present times.
 *
 * --vnc: an RFB 3.8 client of QEMU's VNC server (security None, shared,
 * 32-bit true colour, DesktopSize, and Zlib (default) or Raw with
 * --encoding raw; QEMU's zlib is what a viewer on a network would pick
 * among what this client decodes), asking for the next
 * incremental update as soon as one is complete, as a viewer would. After
 * each complete FramebufferUpdate it reads the frame number pattern -m drew
 * (24 16x16 blocks at the top left) from its copy of the framebuffer; the
 * first update showing frame n gives latency(n) = update time - marker(n).
 *
 * The window starts S seconds after the first marker and lasts N seconds;
 * JSON: guest frames flipped and shown, latency p50/p90/p99/max (ms) of the
 * shown ones, bytes received per guest frame and per second, the client's
 * CPU. Over TCP (--vnc tcp:PORT, on 127.0.0.1) also "wire_bytes": what the
 * link carries both ways at the IP layer: the RFB bytes each way, plus 52
 * bytes (IPv4, TCP with timestamps) for every segment: the server's as a
 * 1500-byte MTU cuts each update (ceil(bytes / 1448)), the client's
 * (requests and ACKs) as its TCP_INFO counts them.
 * Exit 0, 1 on a protocol or socket error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_SEQ (1u << 20)
#define MARK_BITS 24
#define MARK_BLOCK 16
#define MAX_DIM 8192

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
		((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* Marker arrival and first-shown times per guest frame number; 0: none. */
static _Atomic uint64_t marker_t[MAX_SEQ];
static uint64_t shown_t[MAX_SEQ];
static _Atomic uint64_t first_marker_ns;
static _Atomic bool stop;

/* Connects a stream socket to a, trying for 10 s (start-up: QEMU may not
 * listen yet); what names a for the error. */
static int connect_retry(const struct sockaddr *a, socklen_t len, const char *what)
{
	int fd;

	for (int i = 0; i < 100; i++) {
		fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, a, len) == 0) {
			return fd;
		}
		if (fd >= 0) {
			close(fd);
		}
		usleep(100000);
	}
	fprintf(stderr, "rfb-latency: connect %s: %s\n", what, strerror(errno));
	return -1;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "rfb-latency: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	return connect_retry((struct sockaddr *)&a, sizeof(a), path);
}

static int connect_tcp(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return connect_retry((struct sockaddr *)&a, sizeof(a), port);
}

/* Segments this end sent (TCP_INFO); false if the kernel would not say. */
static bool tcp_segs_out(int fd, uint64_t *segs)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
		len < offsetof(struct tcp_info, tcpi_segs_out) + sizeof(ti.tcpi_segs_out)) {
		fprintf(stderr, "rfb-latency: TCP_INFO: %s; no wire bytes\n", strerror(errno));
		return false;
	}
	*segs = ti.tcpi_segs_out;
	return true;
}

#define TCP_IP_HDR 52 /* IPv4 20 + TCP 20 + timestamps 12 */
#define ETH_MSS 1448  /* a 1500-byte MTU with timestamps */

struct marker_ctx {
	int fd;
	FILE *log;
};

static void *marker_thread(void *data)
{
	struct marker_ctx *m = data;
	char buf[4096], line[64];
	size_t ll = 0;
	uint64_t t_line = 0;

	while (!atomic_load(&stop)) {
		ssize_t n = read(m->fd, buf, sizeof(buf));
		uint64_t t = now_ns();

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];

			if (c == '\n' || c == '\r') {
				line[ll] = 0;
				if (ll > 1 && line[0] == 'F') {
					char *end;
					unsigned long long seq = strtoull(line + 1, &end, 10);

					if (*end == 0 && seq < MAX_SEQ && !atomic_load(&marker_t[seq])) {
						atomic_store(&marker_t[seq], t_line);
						uint64_t zero = 0;
						atomic_compare_exchange_strong(&first_marker_ns, &zero, t_line);
						if (m->log) {
							fprintf(m->log, "%llu %" PRIu64 "\n", seq, t_line);
						}
					}
				}
				ll = 0;
			} else if (ll + 1 < sizeof(line)) {
				/* The line's time is its first byte's: a serial port
				 * sends the rest one character time after another. */
				if (ll == 0) {
					t_line = t;
				}
				line[ll++] = c;
			}
		}
	}
	return NULL;
}

/* ---- RFB ---- */

struct rfb {
	int fd;
	uint32_t w, h;
	uint8_t *fb; /* w * h * 4, B G R X */
	uint64_t bytes, sent;
	bool tcp;
	bool resized; /* since the last request: ask for all of it */
	bool zlib;
	z_stream zs; /* one stream for the connection (RFB Zlib encoding) */
	uint8_t *zin, *zout;
	size_t zin_cap, zout_cap;
};

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need > *cap) {
		uint8_t *n = realloc(*p, need);

		if (!n) {
			return -1;
		}
		*p = n;
		*cap = need;
	}
	return 0;
}

/* Reads exactly n bytes (the socket has a receive timeout: a timeout
 * between messages is reported as 0, inside one it keeps waiting). */
static int rd(struct rfb *r, void *p, size_t n, bool at_message_start)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = recv(r->fd, (uint8_t *)p + got, n - got, 0);

		if (k > 0) {
			got += (size_t)k;
			r->bytes += (uint64_t)k;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (at_message_start && got == 0) {
				return 0;
			}
			if (atomic_load(&stop)) {
				return -1;
			}
			continue;
		}
		fprintf(stderr, "rfb-latency: VNC connection %s\n", k == 0 ? "closed" : strerror(errno));
		return -1;
	}
	return 1;
}

static int wr(struct rfb *r, const void *p, size_t n)
{
	return send(r->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int rfb_resize(struct rfb *r, uint32_t w, uint32_t h)
{
	if (w == 0 || h == 0 || w > MAX_DIM || h > MAX_DIM) {
		fprintf(stderr, "rfb-latency: bad framebuffer size %ux%u\n", w, h);
		return -1;
	}
	free(r->fb);
	r->fb = calloc((size_t)w * h, 4);
	r->w = w;
	r->h = h;
	return r->fb ? 0 : -1;
}

static int rfb_request(struct rfb *r, bool incremental)
{
	if (r->resized) {
		incremental = false;
		r->resized = false;
	}
	uint8_t m[10] = { 3, incremental, 0, 0, 0, 0, (uint8_t)(r->w >> 8), (uint8_t)r->w,
		(uint8_t)(r->h >> 8), (uint8_t)r->h };

	r->sent += sizeof(m);
	return wr(r, m, sizeof(m));
}

static int rfb_handshake(struct rfb *r)
{
	uint8_t b[64];
	uint32_t name_len;

	if (rd(r, b, 12, false) < 0 || memcmp(b, "RFB 003.", 8) != 0) {
		fprintf(stderr, "rfb-latency: not an RFB server\n");
		return -1;
	}
	if (wr(r, "RFB 003.008\n", 12) < 0 || rd(r, b, 1, false) < 0) {
		return -1;
	}
	uint8_t n = b[0];
	bool none = false;

	if (n == 0 || rd(r, b, n, false) < 0) {
		fprintf(stderr, "rfb-latency: server refused the connection\n");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		none |= b[i] == 1;
	}
	if (!none) {
		fprintf(stderr, "rfb-latency: server wants authentication (QEMU -vnc without password)\n");
		return -1;
	}
	b[0] = 1;
	if (wr(r, b, 1) < 0 || rd(r, b, 4, false) < 0 || be32(b) != 0) {
		fprintf(stderr, "rfb-latency: security handshake failed\n");
		return -1;
	}
	b[0] = 1; /* shared */
	if (wr(r, b, 1) < 0 || rd(r, b, 24, false) < 0) {
		return -1;
	}
	if (rfb_resize(r, be16(b), be16(b + 2)) < 0) {
		return -1;
	}
	name_len = be32(b + 20);
	while (name_len > 0) {
		size_t k = name_len < sizeof(b) ? name_len : sizeof(b);

		if (rd(r, b, k, false) < 0) {
			return -1;
		}
		name_len -= (uint32_t)k;
	}
	/* SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 8 bits each, R<<16 G<<8 B */
	static const uint8_t pf[20] = { 0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0 };
	/* SetEncodings: [Zlib,] Raw, DesktopSize */
	static const uint8_t enc_raw[12] = { 2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21 };
	static const uint8_t enc_zlib[16] = { 2, 0, 0, 3, 0, 0, 0, 6, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21 };

	if (wr(r, pf, sizeof(pf)) < 0 || (r->zlib ? wr(r, enc_zlib, sizeof(enc_zlib)) :
							   wr(r, enc_raw, sizeof(enc_raw))) < 0) {
		return -1;
	}
	return rfb_request(r, false);
}

/* The frame number pattern -m drew, or -1 if the blocks are not clean. */
static long read_marker(const struct rfb *r)
{
	long v = 0;

	if (r->w < MARK_BITS * MARK_BLOCK || r->h < MARK_BLOCK) {
		return -1;
	}
	for (int i = 0; i < MARK_BITS; i++) {
		const uint8_t *p = r->fb + ((size_t)(MARK_BLOCK / 2) * r->w + (size_t)(i * MARK_BLOCK + MARK_BLOCK / 2)) * 4;
		int g = p[1];

		if (g > 64 && g < 192) {
			return -1;
		}
		v = v << 1 | (g >= 192);
	}
	return v;
}

/* One server message. 1: a complete FramebufferUpdate, 0: something else
 * or a timeout, -1: error. */
static int rfb_message(struct rfb *r)
{
	uint8_t b[16];
	int ret = rd(r, b, 1, true);

	if (ret <= 0) {
		return ret;
	}
	switch (b[0]) {
	case 0: { /* FramebufferUpdate */
		if (rd(r, b, 3, false) < 0) {
			return -1;
		}
		unsigned nrects = be16(b + 1);

		for (unsigned i = 0; i < nrects; i++) {
			if (rd(r, b, 12, false) < 0) {
				return -1;
			}
			uint32_t x = be16(b), y = be16(b + 2), w = be16(b + 4), h = be16(b + 6);
			int32_t enc = (int32_t)be32(b + 8);

			if (enc == -223) {
				if (rfb_resize(r, w, h) < 0) {
					return -1;
				}
				r->resized = true;
				continue;
			}
			if (enc == 6 && r->zlib && x + w <= r->w && y + h <= r->h) {
				size_t raw = (size_t)w * h * 4;

				if (rd(r, b, 4, false) < 0) {
					return -1;
				}
				/* More than deflate can make of the rectangle: not a server's. */
				size_t zlen = be32(b);
				if (zlen > raw + raw / 8 + 1024) {
					fprintf(stderr, "rfb-latency: zlib rect %ux%u of %zu bytes\n", w, h, zlen);
					return -1;
				}
				if (grow(&r->zin, &r->zin_cap, zlen + 1) < 0 ||
					grow(&r->zout, &r->zout_cap, raw + 1) < 0 || rd(r, r->zin, zlen, false) < 0) {
					return -1;
				}
				r->zs.next_in = r->zin;
				r->zs.avail_in = (uInt)zlen;
				r->zs.next_out = r->zout;
				r->zs.avail_out = (uInt)raw;
				int zr = inflate(&r->zs, Z_SYNC_FLUSH);

				if ((zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) ||
					r->zs.avail_out != 0 || r->zs.avail_in != 0) {
					fprintf(stderr, "rfb-latency: zlib rect %ux%u: inflate %d, %u left\n", w, h,
						zr, r->zs.avail_out);
					return -1;
				}
				for (uint32_t row = 0; row < h; row++) {
					memcpy(r->fb + ((size_t)(y + row) * r->w + x) * 4, r->zout + (size_t)row * w * 4,
						(size_t)w * 4);
				}
				continue;
			}
			if (enc != 0 || x + w > r->w || y + h > r->h) {
				fprintf(stderr, "rfb-latency: rect %ux%u+%u+%u encoding %d outside %ux%u\n", w,
					h, x, y, enc, r->w, r->h);
				return -1;
			}
			for (uint32_t row = 0; row < h; row++) {
				if (rd(r, r->fb + ((size_t)(y + row) * r->w + x) * 4, (size_t)w * 4, false) < 0) {
					return -1;
				}
			}
		}
		return 1;
	}
	case 1: { /* SetColourMapEntries: not with true colour, skip it */
		if (rd(r, b, 5, false) < 0) {
			return -1;
		}
		size_t n = (size_t)be16(b + 3) * 6;
		uint8_t skip[6];

		while (n > 0) {
			if (rd(r, skip, 6, false) < 0) {
				return -1;
			}
			n -= 6;
		}
		return 0;
	}
	case 2: /* Bell */
		return 0;
	case 3: { /* ServerCutText */
		if (rd(r, b, 7, false) < 0) {
			return -1;
		}
		uint32_t n = be32(b + 3);
		uint8_t skip[256];

		while (n > 0) {
			uint32_t k = n < sizeof(skip) ? n : sizeof(skip);

			if (rd(r, skip, k, false) < 0) {
				return -1;
			}
			n -= k;
		}
		return 0;
	}
	default:
		fprintf(stderr, "rfb-latency: unknown server message %u\n", b[0]);
		return -1;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double p)
{
	if (n == 0) {
		return 0;
	}
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return (double)v[i < n ? i : n - 1] / 1e6;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "markers", required_argument, NULL, 'm' },
		{ "vnc", required_argument, NULL, 'v' },
		{ "skip", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "marker-log", required_argument, NULL, 'l' },
		{ "encoding", required_argument, NULL, 'e' },
		{ 0 },
	};
	const char *markers = NULL, *vnc = NULL, *out = NULL, *marker_log = NULL;
	double skip = 2, seconds = 10;
	struct rfb r = { .fd = -1, .zlib = true };
	struct marker_ctx mc = { .fd = -1 };
	pthread_t th;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			markers = optarg;
			break;
		case 'v':
			vnc = optarg;
			break;
		case 's':
			skip = strtod(optarg, NULL);
			break;
		case 'n':
			seconds = strtod(optarg, NULL);
			break;
		case 'o':
			out = optarg;
			break;
		case 'l':
			marker_log = optarg;
			break;
		case 'e':
			r.zlib = strcmp(optarg, "raw") != 0;
			break;
		default:
			fprintf(stderr, "usage: rfb-latency --markers SOCK [--vnc SOCK] [--skip S] "
					"[--seconds N] [--out JSON] [--marker-log FILE] [--encoding zlib|raw]\n");
			return 2;
		}
	}
	if (!markers || seconds <= 0) {
		fprintf(stderr, "rfb-latency: --markers and --seconds > 0 are needed\n");
		return 2;
	}
	mc.fd = connect_unix(markers);
	if (mc.fd < 0) {
		return 1;
	}
	if (marker_log && !(mc.log = fopen(marker_log, "w"))) {
		perror(marker_log);
		return 1;
	}
	if (mc.log) {
		setvbuf(mc.log, NULL, _IOLBF, 0);
	}
	if (pthread_create(&th, NULL, marker_thread, &mc) != 0) {
		return 1;
	}
	if (vnc) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

		if (inflateInit(&r.zs) != Z_OK) {
			goto out;
		}
		r.tcp = strncmp(vnc, "tcp:", 4) == 0;
		r.fd = r.tcp ? connect_tcp(vnc + 4) : connect_unix(vnc);
		if (r.fd < 0) {
			goto out;
		}
		setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (rfb_handshake(&r) < 0) {
			goto out;
		}
	}

	/* Wait for the guest's first frame, then the warm-up. */
	uint64_t t_wait = now_ns();

	while (!atomic_load(&first_marker_ns)) {
		if (now_ns() - t_wait > 300ull * 1000000000ull) {
			fprintf(stderr, "rfb-latency: no marker from the guest in 300 s\n");
			goto out;
		}
		if (r.fd >= 0) {
			int m = rfb_message(&r);

			if (m < 0 || (m == 1 && rfb_request(&r, true) < 0)) {
				goto out;
			}
		} else {
			usleep(100000);
		}
	}
	uint64_t t0 = atomic_load(&first_marker_ns) + (uint64_t)(skip * 1e9);
	uint64_t t1 = t0 + (uint64_t)(seconds * 1e9);
	uint64_t bytes0 = 0, cpu0 = 0, updates = 0, bytes = 0, cpu = 0;
	uint64_t sent0 = 0, sent = 0, segs_out0 = 0, segs_out = 0, segs_in = 0;
	bool in_window = false, done = false;
	long last = -1;

	/* Bytes and CPU count in the window; updates are read 0.5 s past it,
	 * so that the window's last frames can still be seen. */
	for (;;) {
		uint64_t t = now_ns();

		if (!in_window && !done && t >= t0) {
			in_window = true;
			bytes0 = r.bytes;
			sent0 = r.sent;
			r.tcp = r.tcp && tcp_segs_out(r.fd, &segs_out0);
			cpu0 = cpu_ns();
		}
		if (!done && t >= t1) {
			done = true;
			in_window = false;
			cpu = cpu_ns() - cpu0;
			bytes = r.bytes - bytes0;
			sent = r.sent - sent0;
			r.tcp = r.tcp && tcp_segs_out(r.fd, &segs_out);
			segs_out -= segs_out0;
		}
		if (t >= t1 + 500000000ull) {
			break;
		}
		if (r.fd < 0) {
			usleep(50000);
			continue;
		}
		uint64_t before = r.bytes;
		int m = rfb_message(&r);

		if (m < 0) {
			goto out;
		}
		if (m == 1 && in_window) {
			segs_in += (r.bytes - before + ETH_MSS - 1) / ETH_MSS;
		}
		if (m == 1) {
			uint64_t tu = now_ns();
			long seq = read_marker(&r);

			if (rfb_request(&r, true) < 0) {
				goto out;
			}
			if (in_window) {
				updates++;
			}
			if (seq >= 0 && seq != last && (unsigned long)seq < MAX_SEQ && !shown_t[seq]) {
				shown_t[seq] = tu;
			}
			last = seq;
		}
	}
	atomic_store(&stop, true);

	/* Guest frames flipped in the window, and the latency of those shown. */
	uint64_t *lat = malloc(sizeof(uint64_t) * MAX_SEQ);
	size_t flipped = 0, shown = 0;

	for (unsigned s = 0; lat && s < MAX_SEQ; s++) {
		uint64_t tm = atomic_load(&marker_t[s]);

		if (!tm || tm < t0 || tm >= t1) {
			continue;
		}
		flipped++;
		if (shown_t[s] && shown_t[s] >= tm) {
			lat[shown++] = shown_t[s] - tm;
		}
	}
	if (!lat) {
		goto out;
	}
	qsort(lat, shown, sizeof(uint64_t), cmp_u64);
	FILE *f = out ? fopen(out, "w") : stdout;

	if (!f) {
		perror(out);
		free(lat);
		goto out;
	}
	fprintf(f,
		"{\"seconds\": %.1f, \"guest_frames\": %zu, \"frames_shown\": %zu, \"updates\": %" PRIu64
		", \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}"
		", \"bytes\": %" PRIu64 ", \"bytes_per_frame\": %.1f, \"bytes_per_second\": %.1f"
		", \"client_cpu_ms\": %.3f, \"t0_ns\": %" PRIu64 ", \"t1_ns\": %" PRIu64
		", \"wire_bytes\": %.0f}\n",
		seconds, flipped, shown, updates, pct_ms(lat, shown, 50), pct_ms(lat, shown, 90),
		pct_ms(lat, shown, 99), pct_ms(lat, shown, 100), bytes,
		flipped ? (double)bytes / (double)flipped : 0.0, (double)bytes / seconds, (double)cpu / 1e6,
		t0, t1, r.tcp ? (double)(bytes + sent + (segs_in + segs_out) * TCP_IP_HDR) : -1.0);
	if (f != stdout) {
		fclose(f);
	}
	free(lat);
	ret = 0;
out:
	atomic_store(&stop, true);
	if (mc.fd >= 0) {
		shutdown(mc.fd, SHUT_RDWR);
	}
	pthread_join(th, NULL);
	if (mc.fd >= 0) {
		close(mc.fd);
	}
	if (mc.log) {
		fclose(mc.log);
	}
	if (r.fd >= 0) {
		close(r.fd);
	}
	free(r.fb);
	free(r.zin);
	free(r.zout);
	if (vnc) {
		inflateEnd(&r.zs);
	}
	return ret;
}
