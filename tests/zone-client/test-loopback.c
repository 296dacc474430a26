/* SPDX-License-Identifier: MIT */
/* The real zone-client binary against a test gpu-server made of the real
 * gs_control (gpu-server/control.c) with a synthetic zone image that
 * changes every frame, on loopback. No QEMU, no compositor: the zone image
 * is drawn here.
 *
 *   test-loopback ZONE_CLIENT MODE
 *
 * Modes: basic, unknown-zone, reconnect, heartbeat, server-gone,
 * server-down, garbage-server, bad-clients, loss, ipv6. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu-server/control.h"
#include "transport/control-proto.h"
#include "transport/net.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "zone-client/snapshot.h"

#define W 400
#define H 300
#define RECT_W 40
#define RECT_H 30
#define NOISE_X 128 /* one tile of incompressible content */
#define NOISE_Y 64
#define NOISE_SIZE 64
#define FRAME_NS 5000000ull /* 200 frames/s: quick tests */
#define MAX_FRAMES_KEPT 100000

static const char *zone_client;
static char tmpdir[256];
static int failures;
static bool skipped; /* the mode cannot run here (exit 77) */

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
			failures++; \
		} \
	} while (0)

/* --- the synthetic zone image --- */

static uint32_t bg(uint32_t x, uint32_t y)
{
	return 0xff000000u | ((x / 8) * 5 & 0xff) << 16 | ((y / 8) * 3 & 0xff) << 8 | 0x40;
}

static uint32_t hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352du;
	v ^= v >> 15;
	v *= 0x846ca68bu;
	v ^= v >> 16;
	return v;
}

static void rect_of(uint32_t k, int *x, int *y, uint32_t *color)
{
	*x = (int)((k * 7) % (W - RECT_W));
	*y = (int)((k * 3) % (H - RECT_H));
	*color = 0xff000000u | (hash32(k) & 0xffffff);
}

static uint32_t noise(uint32_t x, uint32_t y, uint32_t k)
{
	return 0xff000000u | (hash32(x * 7919 + y * 104729 + k * 1299709) & 0xffffff);
}

/* Frame k of the zone, exactly. */
static uint32_t gen_pixel(uint32_t k, uint32_t x, uint32_t y)
{
	int rx, ry;
	uint32_t color;
	rect_of(k, &rx, &ry, &color);
	if ((int)x >= rx && (int)x < rx + RECT_W && (int)y >= ry && (int)y < ry + RECT_H) {
		return color;
	}
	if (x >= NOISE_X && x < NOISE_X + NOISE_SIZE && y >= NOISE_Y && y < NOISE_Y + NOISE_SIZE) {
		return noise(x, y, k);
	}
	return bg(x, y);
}

static void draw_region(pixman_image_t *img, uint32_t k, int x1, int y1, int x2, int y2)
{
	uint32_t *d = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	for (int y = y1; y < y2; y++) {
		for (int x = x1; x < x2; x++) {
			d[y * stride + x] = gen_pixel(k, (uint32_t)x, (uint32_t)y);
		}
	}
}

/* Is img (RGB from a PNG, X ignored) frame k? */
static bool image_is_frame(pixman_image_t *img, uint32_t k)
{
	if (pixman_image_get_width(img) != W || pixman_image_get_height(img) != H) {
		return false;
	}
	const uint32_t *d = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	for (uint32_t y = 0; y < H; y++) {
		for (uint32_t x = 0; x < W; x++) {
			if ((d[y * stride + x] ^ gen_pixel(k, x, y)) & 0xffffff) {
				return false;
			}
		}
	}
	return true;
}

/* --- the test server --- */

struct server {
	struct zl_loop *loop;
	struct gs_control *ctl;
	pixman_image_t *img;
	pixman_image_t *other_img;
	uint32_t k; /* frame now in img */
	struct zl_source *frame_timer;
	bool animate;
	unsigned joined, left;
	uint32_t k_at_join[16];
};

static void on_joined(void *data, unsigned zone, const struct gs_control_panel *panel)
{
	struct server *s = data;
	if (s->joined < 16) {
		s->k_at_join[s->joined] = s->k;
	}
	s->joined++;
}

static void on_left(void *data, unsigned zone)
{
	struct server *s = data;
	s->left++;
}

static const struct gs_control_listener listener = {
	.client_joined = on_joined,
	.client_left = on_left,
};

static void on_frame(void *data)
{
	struct server *s = data;
	if (!s->animate || !s->ctl) {
		return;
	}
	int ox, oy, nx, ny;
	uint32_t color;
	rect_of(s->k, &ox, &oy, &color);
	s->k++;
	rect_of(s->k, &nx, &ny, &color);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, ox, oy, RECT_W, RECT_H);
	pixman_region32_union_rect(&damage, &damage, nx, ny, RECT_W, RECT_H);
	pixman_region32_union_rect(&damage, &damage, NOISE_X, NOISE_Y, NOISE_SIZE, NOISE_SIZE);
	int n;
	const pixman_box32_t *b = pixman_region32_rectangles(&damage, &n);
	for (int i = 0; i < n; i++) {
		draw_region(s->img, s->k, b[i].x1, b[i].y1, b[i].x2, b[i].y2);
	}
	gs_control_zone_frame(s->ctl, 0, &damage, zl_now_ns());
	pixman_region32_fini(&damage);
}

static void server_init_at(struct server *s, const char *listen)
{
	memset(s, 0, sizeof(*s));
	s->loop = zl_loop_create();
	s->img = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, NULL, 0);
	s->other_img = pixman_image_create_bits(PIXMAN_x8r8g8b8, 64, 64, NULL, 0);
	draw_region(s->img, 0, 0, 0, W, H);
	struct gs_zone_desc zones[] = {
		{ .name = "test", .width = W, .height = H, .refresh_hz = 200, .image = s->img,
			.priority = -1, .dscp = -1, .pace_pct = 25 },
		{ .name = "other", .width = 64, .height = 64, .refresh_hz = 60,
			.image = s->other_img, .priority = -1, .dscp = -1, .pace_pct = 25 },
	};
	s->ctl = gs_control_create(s->loop, listen, zones, 2, &listener, s);
	if (!s->ctl) {
		fprintf(stderr, "FAIL: gs_control_create\n");
		exit(1);
	}
	s->frame_timer = zl_loop_add_timer(s->loop, on_frame, s);
	zl_source_timer_arm(s->frame_timer, FRAME_NS, FRAME_NS);
	s->animate = true;
}

static void server_init(struct server *s)
{
	server_init_at(s, "127.0.0.1:0");
}

static void server_finish(struct server *s)
{
	zl_source_remove(s->frame_timer);
	gs_control_destroy(s->ctl);
	/* Let the loop reap removed sources. */
	zl_loop_dispatch(s->loop, 0);
	zl_loop_destroy(s->loop);
	pixman_image_unref(s->img);
	pixman_image_unref(s->other_img);
}

/* --- child processes --- */

struct child {
	pid_t pid;
	bool exited;
	int status;
	char log[512];
};

static void spawn(struct child *c, const char *name, const char *const *args)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->log, sizeof(c->log), "%s/%s.log", tmpdir, name);
	const char *argv[32];
	unsigned n = 0;
	argv[n++] = zone_client;
	for (; args[n - 1] && n < 31; n++) {
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	c->pid = fork();
	if (c->pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* The child must not inherit our blocked signals. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(zone_client, (char *const *)argv);
		_exit(127);
	}
}

static bool child_poll(struct child *c)
{
	if (!c->exited && c->pid > 0) {
		int st;
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->exited = true;
			c->status = st;
		}
	}
	return c->exited;
}

static void child_kill(struct child *c, int sig)
{
	if (!c->exited && c->pid > 0) {
		kill(c->pid, sig);
	}
}

static int child_exit_code(const struct child *c)
{
	return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 128 + WTERMSIG(c->status);
}

static void dump_log(const struct child *c)
{
	FILE *f = fopen(c->log, "r");
	if (!f) {
		return;
	}
	fprintf(stderr, "----- %s -----\n", c->log);
	char line[512];
	unsigned n = 0;
	while (fgets(line, sizeof(line), f) && n++ < 60) {
		fputs(line, stderr);
	}
	fclose(f);
}

static bool log_contains(const struct child *c, const char *needle)
{
	FILE *f = fopen(c->log, "r");
	if (!f) {
		return false;
	}
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		found = strstr(line, needle) != NULL;
	}
	fclose(f);
	return found;
}

/* Runs the loop until cond() or timeout; returns cond(). */
static bool run_until(struct server *s, bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
	uint64_t end = zl_now_ns() + timeout_ms * 1000000ull;
	while (!cond(arg)) {
		if (zl_now_ns() > end) {
			return false;
		}
		zl_loop_dispatch(s->loop, 5);
	}
	return true;
}

static bool cond_child_exited(void *arg)
{
	return child_poll(arg);
}

struct count_cond {
	unsigned *counter;
	unsigned target;
};

static bool cond_count(void *arg)
{
	struct count_cond *c = arg;
	return *c->counter >= c->target;
}

static bool cond_never(void *arg)
{
	return false;
}

static void run_for(struct server *s, uint64_t ms)
{
	run_until(s, cond_never, NULL, ms);
}

/* --- stats file --- */

/* The start of the file as a string (empty if it cannot be read). */
static bool read_text(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f) {
		return false;
	}
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return true;
}

/* Where the value of "key" starts in the JSON text, or NULL. */
static const char *json_value(const char *text, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	const char *p = strstr(text, pat);
	return p ? p + strlen(pat) : NULL;
}

static double stats_get_f(const char *path, const char *key)
{
	char buf[8192];
	const char *v = read_text(path, buf, sizeof(buf)) ? json_value(buf, key) : NULL;
	return v ? atof(v) : -1;
}

static long long stats_get(const char *path, const char *key)
{
	char buf[8192];
	const char *v = read_text(path, buf, sizeof(buf)) ? json_value(buf, key) : NULL;
	return v ? atoll(v) : -1;
}

static bool file_has(const char *path, const char *needle)
{
	char buf[8192];
	return read_text(path, buf, sizeof(buf)) && strstr(buf, needle) != NULL;
}

/* Which frame k in [from, to] is the PNG? -1 if none. */
static long find_frame(const char *png, uint32_t from, uint32_t to)
{
	pixman_image_t *img = zc_snapshot_read_png(png);
	if (!img) {
		return -2;
	}
	long found = -1;
	for (uint32_t k = to + 1; k-- > from;) {
		if (image_is_frame(img, k)) {
			found = k;
			break;
		}
	}
	pixman_image_unref(img);
	return found;
}

static bool use_ipv6;

/* A socket of type bound to 127.0.0.1, port picked by the kernel. */
static int loopback_socket(int type, uint16_t *port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static void port_arg(char *buf, size_t cap, uint16_t port)
{
	snprintf(buf, cap, use_ipv6 ? "[::1]:%u" : "127.0.0.1:%u", port);
}

/* Runs a client for n frames on zone "test" and checks everything. */
static void run_and_check(struct server *s, const char *name, uint16_t port, unsigned n,
	bool dump, bool expect_loss)
{
	char addr[64], frames[16], out[300], stats[300];
	port_arg(addr, sizeof(addr), port);
	snprintf(frames, sizeof(frames), "%u", n);
	snprintf(out, sizeof(out), "%s/%s-out", tmpdir, name);
	snprintf(stats, sizeof(stats), "%s/%s-stats.json", tmpdir, name);
	const char *args[] = { "-s", addr, "-z", "test", "-b", "headless", "-o", out, "-n", frames,
		"--stats", stats, "--mode", "400x300@200", dump ? "--dump-all" : "-v", NULL };
	unsigned joined_before = s->joined;
	struct child c;
	spawn(&c, name, args);
	bool ok = run_until(s, cond_child_exited, &c, 60000);
	CHECK(ok, "%s: client did not finish in time", name);
	if (!ok) {
		child_kill(&c, SIGKILL);
		run_until(s, cond_child_exited, &c, 5000);
		dump_log(&c);
		return;
	}
	CHECK(child_exit_code(&c) == 0, "%s: exit code %d", name, child_exit_code(&c));
	CHECK(s->joined == joined_before + 1, "%s: joined %u times", name, s->joined - joined_before);
	uint32_t k_join = s->k_at_join[joined_before < 16 ? joined_before : 15];

	long long presented = stats_get(stats, "frames_presented");
	long long crc = stats_get(stats, "crc_mismatches");
	long long dropped = stats_get(stats, "frames_dropped");
	long long plis = stats_get(stats, "refresh_requests");
	/* The latency's samples (receive_to_present_ms has its own). */
	char sbuf[8192];
	const char *lat = read_text(stats, sbuf, sizeof(sbuf)) ? strstr(sbuf, "\"latency_ms\"") : NULL;
	const char *sv = lat ? json_value(lat, "samples") : NULL;
	long long samples = sv ? atoll(sv) : -1;
	CHECK(presented == n, "%s: frames_presented %lld, want %u", name, presented, n);
	CHECK(crc == 0, "%s: crc_mismatches %lld", name, crc);
	CHECK(samples > 0 && samples < n, "%s: latency samples %lld", name, samples);
	CHECK(file_has(stats, "\"present_source\": \"copy\""), "%s: present_source", name);
	CHECK(file_has(stats, "\"clock\": \"same-host-monotonic\""), "%s: clock", name);
	CHECK(file_has(stats, "\"p99\": "), "%s: latency p99", name);
	if (expect_loss) {
		/* Lost packets are asked for again (NACK); what cannot be
		 * repaired that way takes a key frame (PLI). */
		long long nacks = stats_get(stats, "nack_requests");
		CHECK(nacks > 0, "%s: lossy link but no NACKs (dropped %lld, PLIs %lld)", name,
			dropped, plis);
	}

	char last[400];
	snprintf(last, sizeof(last), "%s/last.png", out);
	long k = find_frame(last, k_join, s->k);
	CHECK(k >= 0, "%s: last.png is none of the server's frames %u..%u (%ld)", name, k_join,
		s->k, k);
	if (dropped == 0) {
		/* Nothing lost: frame 1 was the join's key frame of frame k_join,
		 * every later one the next frame. */
		CHECK(k == (long)(k_join + n - 1), "%s: last.png is frame %ld, want %u", name, k,
			k_join + n - 1);
	}
	if (dump) {
		char path[400];
		snprintf(path, sizeof(path), "%s/frame-%06u.png", out, n);
		CHECK(find_frame(path, k_join, s->k) == k, "%s: last dump != last.png", name);
		snprintf(path, sizeof(path), "%s/frame-%06u.png", out, 1);
		CHECK(find_frame(path, k_join, k_join) == (long)k_join,
			"%s: first dump is not the join frame", name);
		snprintf(path, sizeof(path), "%s/frame-%06u.png", out, n + 1);
		CHECK(access(path, F_OK) != 0, "%s: more dumps than frames", name);
	}
	printf("%s: %lld frames shown, %lld dropped, %lld PLIs, last = frame %ld (joined at %u), "
		"latency p50 %.2f p99 %.2f max %.2f ms\n", name, presented, dropped, plis, k, k_join,
		stats_get_f(stats, "p50"), stats_get_f(stats, "p99"), stats_get_f(stats, "max"));
	if (failures) {
		dump_log(&c);
	}
}

/* --- modes --- */

static void test_basic(void)
{
	struct server s;
	server_init(&s);
	uint16_t port = gs_control_port(s.ctl);
	run_and_check(&s, "basic", port, 120, true, false);
	/* The client said BYE: the server saw it leave. */
	struct count_cond left = { &s.left, 1 };
	CHECK(run_until(&s, cond_count, &left, 2000), "client_left not called");
	struct gs_control_zone_stats st;
	gs_control_get_zone_stats(s.ctl, 0, &st);
	CHECK(st.clients == 0 && st.frames >= 120 && st.key_frames >= 1, "zone stats: clients %u "
		"frames %llu keys %llu", st.clients, (unsigned long long)st.frames,
		(unsigned long long)st.key_frames);
	server_finish(&s);
}

/* The same over IPv6 loopback (skipped where there is none). */
static void test_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0) {
		close(fd);
	}
	if (!ok) {
		printf("SKIP: no IPv6 loopback\n");
		skipped = true;
		return;
	}
	use_ipv6 = true;
	struct server s;
	server_init_at(&s, "[::1]:0");
	run_and_check(&s, "ipv6", gs_control_port(s.ctl), 60, false, false);
	server_finish(&s);
}

/* Starts a client of zone (plain, or with extra arguments) on the server. */
static void spawn_client(struct child *c, const char *name, uint16_t port, const char *zone,
	const char *const *extra)
{
	char addr[64];
	port_arg(addr, sizeof(addr), port);
	const char *args[16] = { "-s", addr, "-z", zone };
	unsigned n = 4;
	for (; extra && *extra && n < 15; extra++) {
		args[n++] = *extra;
	}
	args[n] = NULL;
	spawn(c, name, args);
}

/* Starts a client of zone "test" and waits until the server saw it join. */
static void spawn_joined(struct server *s, struct child *c, const char *name,
	const char *const *extra)
{
	struct count_cond joined = { &s->joined, s->joined + 1 };
	spawn_client(c, name, gs_control_port(s->ctl), "test", extra);
	CHECK(run_until(s, cond_count, &joined, 10000), "%s: client never joined", name);
}

/* The client must give up by itself, with exit code 1 and a log line
 * saying why. */
static void expect_client_fails(struct server *s, struct child *c, const char *why)
{
	CHECK(run_until(s, cond_child_exited, c, 10000), "client did not exit");
	CHECK(child_exit_code(c) == 1, "exit code %d", child_exit_code(c));
	CHECK(log_contains(c, why), "no clear message (want '%s')", why);
	if (failures) {
		dump_log(c);
	}
}

/* Kills c and waits for it to be gone. */
static void child_stop(struct server *s, struct child *c, int sig)
{
	child_kill(c, sig);
	run_until(s, cond_child_exited, c, 5000);
}

static void test_unknown_zone(void)
{
	struct server s;
	server_init(&s);
	struct child c;
	spawn_client(&c, "unknown", gs_control_port(s.ctl), "nope", NULL);
	expect_client_fails(&s, &c, "unknown zone 'nope'");
	CHECK(s.joined == 0 && s.left == 0, "joined %u left %u", s.joined, s.left);
	/* Nothing else affected: a good client still works. */
	run_and_check(&s, "after-unknown", gs_control_port(s.ctl), 20, false, false);
	server_finish(&s);
}

static void test_reconnect(void)
{
	struct server s;
	server_init(&s);
	struct child a;
	spawn_joined(&s, &a, "victim", NULL);
	run_for(&s, 300);
	/* No BYE, no chance to clean up: the kernel closes its socket. */
	child_stop(&s, &a, SIGKILL);
	struct count_cond left = { &s.left, 1 };
	uint64_t t0 = zl_now_ns();
	CHECK(run_until(&s, cond_count, &left, 2000), "killed client not dropped");
	printf("reconnect: killed client dropped after %.1f ms\n", (zl_now_ns() - t0) / 1e6);
	run_and_check(&s, "reconnected", gs_control_port(s.ctl), 60, false, false);
	server_finish(&s);
}

static void test_heartbeat(void)
{
	struct server s;
	server_init(&s);
	struct child a;
	spawn_joined(&s, &a, "frozen", NULL);
	run_for(&s, 200);
	/* Alive but silent: only the heartbeat timeout can notice. */
	child_kill(&a, SIGSTOP);
	uint64_t t0 = zl_now_ns();
	struct count_cond left = { &s.left, 1 };
	bool dropped = run_until(&s, cond_count, &left, 6000);
	double ms = (zl_now_ns() - t0) / 1e6;
	CHECK(dropped, "frozen client not dropped");
	CHECK(ms > 2000 && ms < 4500, "dropped after %.0f ms, want ~3000", ms);
	printf("heartbeat: frozen client dropped after %.0f ms\n", ms);
	child_kill(&a, SIGKILL);
	child_stop(&s, &a, SIGCONT);
	run_and_check(&s, "after-freeze", gs_control_port(s.ctl), 20, false, false);
	server_finish(&s);
}

static void test_server_gone(void)
{
	struct server s;
	server_init(&s);
	char out[300], stats[300];
	snprintf(out, sizeof(out), "%s/gone-out", tmpdir);
	snprintf(stats, sizeof(stats), "%s/gone-stats.json", tmpdir);
	const char *extra[] = { "-o", out, "--stats", stats, NULL };
	struct child a;
	spawn_joined(&s, &a, "orphan", extra);
	run_for(&s, 300);
	gs_control_destroy(s.ctl);
	s.ctl = NULL;
	expect_client_fails(&s, &a, "closed the connection");
	CHECK(stats_get(stats, "frames_presented") > 0, "no stats written");
	char last[400];
	snprintf(last, sizeof(last), "%s/last.png", out);
	CHECK(find_frame(last, 0, s.k) >= 0, "last.png not a server frame");
	server_finish(&s);
}

static void test_server_down(void)
{
	/* A port nobody listens on. */
	uint16_t port;
	close(loopback_socket(SOCK_STREAM, &port));
	struct server s;
	server_init(&s);
	struct child c;
	spawn_client(&c, "down", port, "test", NULL);
	expect_client_fails(&s, &c, "cannot connect");
	server_finish(&s);
}

static void test_garbage_server(void)
{
	uint16_t port;
	int lfd = loopback_socket(SOCK_STREAM | SOCK_NONBLOCK, &port);
	listen(lfd, 4);
	struct server s;
	server_init(&s);
	struct child c;
	spawn_client(&c, "garbage", port, "test", NULL);
	int cfd = -1;
	uint64_t end = zl_now_ns() + 5000000000ull;
	while (cfd < 0 && zl_now_ns() < end) {
		cfd = accept(lfd, NULL, NULL);
		if (cfd < 0) {
			usleep(5000);
		}
	}
	CHECK(cfd >= 0, "client never connected");
	const char *junk = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	if (cfd >= 0) {
		CHECK(write(cfd, junk, strlen(junk)) > 0, "write");
	}
	expect_client_fails(&s, &c, "garbage on the control connection");
	if (cfd >= 0) {
		close(cfd);
	}
	close(lfd);
	server_finish(&s);
}

/* Raw control connections that misbehave: each gets an ERROR with the
 * right code and is closed; a good client meanwhile is not affected. */
static int raw_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct raw_expect {
	int fd;
	uint8_t buf[4096];
	size_t len;
	bool eof;
};

static bool cond_raw_eof(void *arg)
{
	struct raw_expect *r = arg;
	ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		r->eof = true;
	} else if (n > 0) {
		r->len += (size_t)n;
	}
	return r->eof;
}

static void expect_error(struct server *s, const char *what, const uint8_t *msg, size_t len,
	uint32_t code)
{
	struct raw_expect r = { .fd = raw_connect(gs_control_port(s->ctl)) };
	CHECK(r.fd >= 0, "%s: connect", what);
	if (r.fd < 0) {
		return;
	}
	CHECK(write(r.fd, msg, len) == (ssize_t)len, "%s: write", what);
	CHECK(run_until(s, cond_raw_eof, &r, 3000), "%s: connection not closed", what);
	struct xport_ctl_msg m;
	size_t used;
	int rc = xport_ctl_parse(r.buf, r.len, &m, &used);
	CHECK(rc == 0 && m.type == XPORT_CTL_ERROR && m.error.code == code,
		"%s: want ERROR %u, got rc %d type %u code %u", what, code, rc, m.type, m.error.code);
	if (rc == 0 && m.type == XPORT_CTL_ERROR) {
		printf("bad-clients: %s -> ERROR %u \"%s\"\n", what, m.error.code, m.error.text);
	}
	close(r.fd);
}

static void test_bad_clients(void)
{
	struct server s;
	server_init(&s);
	struct child good;
	spawn_joined(&s, &good, "bystander", NULL);

	uint8_t buf[XPORT_CTL_MAX_MSG];
	size_t len;
	struct xport_ctl_msg m = { .type = XPORT_CTL_HELLO };
	m.hello = (struct xport_ctl_hello){ .version = 0, .media_port = 9 };
	strcpy(m.hello.zone, "test");
	xport_ctl_encode(&m, buf, sizeof(buf), &len);
	expect_error(&s, "version 0", buf, len, XPORT_CTL_ERR_BAD_VERSION);

	m.hello.version = 1;
	strcpy(m.hello.zone, "missing");
	xport_ctl_encode(&m, buf, sizeof(buf), &len);
	expect_error(&s, "unknown zone", buf, len, XPORT_CTL_ERR_UNKNOWN_ZONE);

	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	expect_error(&s, "http", (const uint8_t *)http, strlen(http), XPORT_CTL_ERR_MALFORMED);

	m = (struct xport_ctl_msg){ .type = XPORT_CTL_HEARTBEAT };
	xport_ctl_encode(&m, buf, sizeof(buf), &len);
	expect_error(&s, "heartbeat before hello", buf, len, XPORT_CTL_ERR_PROTOCOL);

	/* Valid HELLO, then a WELCOME (a server's message) from the client. */
	m = (struct xport_ctl_msg){ .type = XPORT_CTL_HELLO };
	m.hello = (struct xport_ctl_hello){ .version = 1, .media_port = 9 };
	strcpy(m.hello.zone, "other");
	xport_ctl_encode(&m, buf, sizeof(buf), &len);
	struct xport_ctl_msg w = { .type = XPORT_CTL_WELCOME };
	w.welcome = (struct xport_ctl_welcome){ .version = 1, .media_port = 1, .ext_frame_id = 1,
		.ext_capture = 2 };
	size_t wlen;
	xport_ctl_encode(&w, buf + len, sizeof(buf) - len, &wlen);
	/* Skip the WELCOME the server sends first. */
	struct raw_expect r = { .fd = raw_connect(gs_control_port(s.ctl)) };
	CHECK(write(r.fd, buf, len + wlen) == (ssize_t)(len + wlen), "write");
	CHECK(run_until(&s, cond_raw_eof, &r, 3000), "welcome-from-client: not closed");
	struct xport_ctl_msg got;
	size_t used;
	CHECK(xport_ctl_parse(r.buf, r.len, &got, &used) == 0 && got.type == XPORT_CTL_WELCOME,
		"welcome-from-client: no WELCOME first");
	CHECK(xport_ctl_parse(r.buf + used, r.len - used, &got, &used) == 0 &&
		got.type == XPORT_CTL_ERROR && got.error.code == XPORT_CTL_ERR_PROTOCOL,
		"welcome-from-client: no ERROR");
	close(r.fd);

	/* Oversized header. */
	uint8_t big[8] = { 0xff, 0xff, 0, 0, 1, 0, 1, 0 };
	expect_error(&s, "oversized", big, sizeof(big), XPORT_CTL_ERR_MALFORMED);

	/* The bystander kept receiving throughout. */
	CHECK(s.joined == 2 && s.left == 1, "joined %u left %u", s.joined, s.left);
	CHECK(!child_poll(&good), "bystander died");
	child_kill(&good, SIGTERM);
	CHECK(run_until(&s, cond_child_exited, &good, 5000), "bystander ignores SIGTERM");
	CHECK(child_exit_code(&good) == 0, "bystander exit %d", child_exit_code(&good));
	if (failures) {
		dump_log(&good);
	}
	server_finish(&s);
}

/* --- a lossy proxy between server and client --- */

struct proxy {
	struct server *s;
	int lfd, up_tcp, down_tcp;
	int udp_up;   /* faces the server */
	int udp_down; /* faces the client */
	uint16_t server_media_port, client_media_port;
	struct zl_source *srcs[5];
	uint8_t buf_up[8192], buf_down[8192]; /* control bytes, each direction */
	size_t len_up, len_down;
	uint32_t rng;
	uint8_t held[2048];
	size_t held_len;
	unsigned dropped, duplicated, reordered, forwarded;
};

static uint32_t prng(struct proxy *p)
{
	p->rng = p->rng * 1664525u + 1013904223u;
	return p->rng >> 8;
}

static void send_local(int fd, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a));
}

/* Relays whole control messages from buf to fd, rewriting media ports. */
static void relay_ctl(struct proxy *p, uint8_t *buf, size_t *len, int to_fd)
{
	size_t off = 0;
	for (;;) {
		struct xport_ctl_msg m;
		size_t used;
		if (xport_ctl_parse(buf + off, *len - off, &m, &used) < 0) {
			break;
		}
		if (m.type == XPORT_CTL_HELLO) {
			p->client_media_port = m.hello.media_port;
			m.hello.media_port = local_port(p->udp_up);
		} else if (m.type == XPORT_CTL_WELCOME) {
			p->server_media_port = m.welcome.media_port;
			m.welcome.media_port = local_port(p->udp_down);
		}
		uint8_t out[XPORT_CTL_MAX_MSG];
		size_t olen;
		if (xport_ctl_encode(&m, out, sizeof(out), &olen) == 0) {
			CHECK(write(to_fd, out, olen) == (ssize_t)olen, "proxy write");
		}
		off += used;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
}

static void on_proxy_tcp(void *data, int fd, uint32_t events)
{
	struct proxy *p = data;
	bool up = fd == p->down_tcp; /* from the client, towards the server */
	uint8_t *buf = up ? p->buf_up : p->buf_down;
	size_t *len = up ? &p->len_up : &p->len_down;
	ssize_t n = recv(fd, buf + *len, 8192 - *len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			/* Either side closing closes the other. */
			shutdown(up ? p->up_tcp : p->down_tcp, SHUT_RDWR);
			zl_source_remove(p->srcs[up ? 1 : 2]);
			p->srcs[up ? 1 : 2] = NULL;
		}
		return;
	}
	*len += (size_t)n;
	relay_ctl(p, buf, len, up ? p->up_tcp : p->down_tcp);
}

static void on_proxy_udp(void *data, int fd, uint32_t events)
{
	struct proxy *p = data;
	uint8_t buf[2048];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			return;
		}
		if (fd == p->udp_down) {
			/* RTCP from the client: pass through. */
			send_local(p->udp_up, p->server_media_port, buf, (size_t)n);
			continue;
		}
		uint32_t r = prng(p) % 1000;
		if (r < 10) {
			p->dropped++;
			continue;
		}
		send_local(p->udp_down, p->client_media_port, buf, (size_t)n);
		p->forwarded++;
		if (r < 20) {
			send_local(p->udp_down, p->client_media_port, buf, (size_t)n);
			p->duplicated++;
		} else if (r < 30 && p->held_len == 0) {
			/* Send this one again later, out of order (a late duplicate). */
			memcpy(p->held, buf, (size_t)n);
			p->held_len = (size_t)n;
		} else if (p->held_len) {
			send_local(p->udp_down, p->client_media_port, p->held, p->held_len);
			p->held_len = 0;
			p->reordered++;
		}
	}
}

static void on_proxy_accept(void *data, int fd, uint32_t events)
{
	struct proxy *p = data;
	p->down_tcp = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	p->up_tcp = raw_connect(gs_control_port(p->s->ctl));
	CHECK(p->down_tcp >= 0 && p->up_tcp >= 0, "proxy connections");
	p->srcs[1] = zl_loop_add_fd(p->s->loop, p->down_tcp, EPOLLIN, on_proxy_tcp, p);
	p->srcs[2] = zl_loop_add_fd(p->s->loop, p->up_tcp, EPOLLIN, on_proxy_tcp, p);
}

static int udp_socket(void)
{
	uint16_t port;
	int fd = loopback_socket(SOCK_DGRAM | SOCK_NONBLOCK, &port);
	int size = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return fd;
}

static void test_loss(void)
{
	struct server s;
	server_init(&s);
	struct proxy p = { .s = &s, .down_tcp = -1, .up_tcp = -1, .rng = 12345 };
	uint16_t port;
	p.lfd = loopback_socket(SOCK_STREAM | SOCK_NONBLOCK, &port);
	listen(p.lfd, 1);
	p.udp_up = udp_socket();
	p.udp_down = udp_socket();
	p.srcs[0] = zl_loop_add_fd(s.loop, p.lfd, EPOLLIN, on_proxy_accept, &p);
	p.srcs[3] = zl_loop_add_fd(s.loop, p.udp_up, EPOLLIN, on_proxy_udp, &p);
	p.srcs[4] = zl_loop_add_fd(s.loop, p.udp_down, EPOLLIN, on_proxy_udp, &p);

	run_and_check(&s, "loss", port, 150, false, true);
	printf("loss: proxy dropped %u, duplicated %u, reordered %u of %u packets\n", p.dropped,
		p.duplicated, p.reordered, p.forwarded);
	struct gs_control_zone_stats st;
	gs_control_get_zone_stats(s.ctl, 0, &st);
	printf("loss: server: %llu packets NACKed, %llu sent again, %llu PLIs\n",
		(unsigned long long)st.nacked, (unsigned long long)st.retransmitted,
		(unsigned long long)st.plis);
	CHECK(st.nacked > 0 && st.retransmitted > 0, "server saw %llu NACKed packets, sent %llu again",
		(unsigned long long)st.nacked, (unsigned long long)st.retransmitted);
	for (unsigned i = 0; i < 5; i++) {
		zl_source_remove(p.srcs[i]);
	}
	close(p.lfd);
	close(p.udp_up);
	close(p.udp_down);
	if (p.up_tcp >= 0) {
		close(p.up_tcp);
	}
	if (p.down_tcp >= 0) {
		close(p.down_tcp);
	}
	server_finish(&s);
}

static const struct {
	const char *name;
	void (*run)(void);
} modes[] = {
	{ "basic", test_basic },
	{ "unknown-zone", test_unknown_zone },
	{ "reconnect", test_reconnect },
	{ "heartbeat", test_heartbeat },
	{ "server-gone", test_server_gone },
	{ "server-down", test_server_down },
	{ "garbage-server", test_garbage_server },
	{ "bad-clients", test_bad_clients },
	{ "loss", test_loss },
	{ "ipv6", test_ipv6 },
};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ZONE_CLIENT MODE\n", argv[0]);
		return 2;
	}
	const char *mode = argv[2];
	void (*run)(void) = NULL;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(mode, modes[i].name) == 0) {
			run = modes[i].run;
		}
	}
	if (!run) {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	zone_client = argv[1];
	if (access(zone_client, X_OK) != 0) {
		fprintf(stderr, "SKIP: %s not built\n", zone_client);
		return 77;
	}
	zl_log_init(getenv("ZONAL_DEBUG") ? ZL_DEBUG : ZL_WARN);
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zc-test-%s-XXXXXX", mode);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("work dir: %s\n", tmpdir);
	run();
	if (failures == 0 && !getenv("ZC_TEST_KEEP")) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0) {
			fprintf(stderr, "could not remove %s\n", tmpdir);
		}
	}
	if (skipped) {
		return 77;
	}
	printf("%s: %s\n", mode, failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
