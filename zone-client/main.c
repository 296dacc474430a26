/* SPDX-License-Identifier: MIT */
/* zone-client: connects to gpu-server, receives one zone's stream, verifies
 * every frame and presents it (see session.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "session.h"
#include "snapshot.h"
#include "stats.h"
#include "transport/control-proto.h"
#include "transport/net.h"
#include "transport/psk.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zone-client -s HOST[:PORT] -z ZONE [-b BACKEND] [-o DIR] [-n FRAMES]\n"
		"                   [--dump-all] [--stats FILE] [--present-log FILE] [--mode WxH@HZ]\n"
		"                   [--stale-ms MS] [--key-file FILE] [--clock auto|same-host|ntp|ptp]\n"
		"                   [--media-port PORT] [--advertise HOST:PORT] [--window]\n"
		"                   [--output-name NAME] [--device PATH] [--connector NAME]\n"
		"                   [--inject EVENTS] [-v]\n"
		"  -s, --server HOST[:PORT]  gpu-server control address (port %u by default)\n"
		"  -z, --zone ZONE           the zone to show\n"
		"  -b, --backend NAME        present backend: %s (default headless)\n"
		"  -o, --output DIR          write DIR/last.png when exiting\n"
		"  -n, --frames N            exit 0 after N frames shown\n"
		"      --dump-all            also write DIR/frame-NNNNNN.png for every frame shown\n"
		"      --advertise HOST:PORT where the server should send media (a NAT's or a relay's\n"
		"                            address, forwarding to --media-port); the server must\n"
		"                            allow it ([server] advertise=, needs key-file= by default)\n"
		"      --clock MODE          the server's timestamps: same-host (one clock), ntp (the\n"
		"                            heartbeats' offset estimate), auto (default: same-host\n"
		"                            when the server is on this host), ptp (both CLOCK_TAIs\n"
		"                            PTP-synchronised, [server] clock=ptp: exact)\n"
		"      --key-file FILE       prove this pre-shared key (hex) to the server and require\n"
		"                            its proof: [server] key-file= of the same key\n"
		"      --stale-ms MS         the zone is stale after MS ms without a good frame while\n"
		"                            the server has newer ones or is silent (default 100)\n"
		"      --present-log FILE    one line per frame shown: frame id, present time, the\n"
		"                            server's flush time (ns, CLOCK_MONOTONIC), key, refresh\n"
		"                            (NNNNNN counts from 1)\n"
		"      --stats FILE          write statistics as JSON when exiting (and on SIGUSR1)\n"
		"      --mode WxH@HZ         the panel's mode, told to the server\n"
		"      --media-port PORT     local UDP port for RTP/RTCP (default: any)\n"
		"      --window              wayland: a window, not fullscreen\n"
		"      --output-name NAME    wayland: fullscreen on this output (wl_output name)\n"
		"      --device PATH         drm: the KMS device (default: the first /dev/dri/card*)\n"
		"      --connector NAME      drm: the connector, e.g. HDMI-A-1, Virtual-1 (default:\n"
		"                            the first connected one)\n"
		"      --inject EVENTS       tests: once the first frame is shown, act as the panel's\n"
		"                            user: down:X,Y;move:X,Y;up;key:CODE (zone pixels, evdev\n"
		"                            codes), one every 30 ms\n"
		"  -v, --verbose             more log (twice: debug)\n",
		XPORT_CTL_DEFAULT_PORT, zc_backend_names());
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		return -EINVAL;
	}
	*v = x;
	return 0;
}

static int parse_mode(const char *s, uint32_t *w, uint32_t *h, uint32_t *hz)
{
	unsigned a, b, c = 0;
	char tail;
	int n = sscanf(s, "%ux%u@%u%c", &a, &b, &c, &tail);
	if ((n != 3 && !(n == 2 && !strchr(s, '@'))) || a == 0 || b == 0 || a > 16384 ||
		b > 16384 || c > 1000) {
		return -EINVAL;
	}
	*w = a;
	*h = b;
	*hz = c;
	return 0;
}

/* mkdir -p */
static int make_dir(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		return -ENAMETOOLONG;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
				return -errno;
			}
			*p = '/';
		}
	}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
		return -errno;
	}
	return 0;
}

struct app {
	struct zl_loop *loop;
	bool signalled;
	struct zc_session *session;
	const char *stats_path;
};

static int write_stats(struct zc_session *session, const char *path)
{
	struct zc_stats_info info;
	zc_session_stats_info(session, &info);
	return zc_stats_write_file(zc_session_stats(session), &info, path);
}

static void on_signal(void *data, int fd, uint32_t events)
{
	struct app *app = data;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si)) {
		return;
	}
	if (si.ssi_signo == SIGUSR1) {
		/* A snapshot of the stats, and on we go. */
		if (app->stats_path && app->session) {
			int r = write_stats(app->session, app->stats_path);
			zl_info("SIGUSR1: stats written to %s%s", app->stats_path, r < 0 ? " (failed)" : "");
		}
		return;
	}
	zl_info("signal %u: writing results and exiting", si.ssi_signo);
	app->signalled = true;
	zl_loop_quit(app->loop);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "zone", required_argument, NULL, 'z' },
		{ "backend", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "frames", required_argument, NULL, 'n' },
		{ "dump-all", no_argument, NULL, 'D' },
		{ "stats", required_argument, NULL, 'S' },
		{ "present-log", required_argument, NULL, 'P' },
		{ "stale-ms", required_argument, NULL, 'T' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "clock", required_argument, NULL, 'C' },
		{ "advertise", required_argument, NULL, 'A' },
		{ "mode", required_argument, NULL, 'm' },
		{ "media-port", required_argument, NULL, 'p' },
		{ "window", no_argument, NULL, 'W' },
		{ "device", required_argument, NULL, 'd' },
		{ "connector", required_argument, NULL, 'c' },
		{ "inject", required_argument, NULL, 'I' },
		{ "output-name", required_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *server = NULL, *out_dir = NULL, *stats_path = NULL;
	const char *backend_name = "headless";
	bool dump_all = false;
	int verbose = 0;
	struct zc_session_config cfg = { 0 };
	static struct xport_psk psk;
	int c;
	while ((c = getopt_long(argc, argv, "s:z:b:o:n:vh", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'z':
			cfg.zone = optarg;
			break;
		case 'b':
			backend_name = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'n':
			if (parse_u64(optarg, &cfg.max_frames) < 0 || cfg.max_frames == 0) {
				fprintf(stderr, "zone-client: -n wants a positive number, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'D':
			dump_all = true;
			break;
		case 'S':
			stats_path = optarg;
			break;
		case 'A':
			cfg.advertise = optarg;
			break;
		case 'C':
			if (strcmp(optarg, "auto") == 0) {
				cfg.clock = ZC_CLOCK_AUTO;
			} else if (strcmp(optarg, "same-host") == 0) {
				cfg.clock = ZC_CLOCK_SAME_HOST;
			} else if (strcmp(optarg, "ntp") == 0) {
				cfg.clock = ZC_CLOCK_NTP;
			} else if (strcmp(optarg, "ptp") == 0) {
				cfg.clock = ZC_CLOCK_PTP;
			} else {
				fprintf(stderr, "zone-client: --clock wants auto, same-host, ntp or ptp\n");
				return 2;
			}
			break;
		case 'K': {
			char err[512];
			int r = xport_psk_load(optarg, &psk, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, "zone-client: --key-file %s\n", err);
				return 2;
			}
			if (*err) {
				fprintf(stderr, "zone-client: warning: %s\n", err);
			}
			cfg.psk = &psk;
			break;
		}
		case 'T':
			if (parse_u64(optarg, &v) < 0 || v < ZC_STALE_MS_MIN || v > 60000) {
				fprintf(stderr, "zone-client: --stale-ms wants %u..60000, not '%s'\n",
					ZC_STALE_MS_MIN, optarg);
				return 2;
			}
			cfg.stale_ms = (uint32_t)v;
			break;
		case 'P':
			cfg.present_log = fopen(optarg, "w");
			if (!cfg.present_log) {
				fprintf(stderr, "zone-client: cannot write %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			setvbuf(cfg.present_log, NULL, _IOLBF, 0);
			break;
		case 'm':
			if (parse_mode(optarg, &cfg.panel_width, &cfg.panel_height, &cfg.panel_refresh) < 0) {
				fprintf(stderr, "zone-client: --mode wants WxH@HZ, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			if (parse_u64(optarg, &v) < 0 || v > 65535) {
				fprintf(stderr, "zone-client: bad --media-port '%s'\n", optarg);
				return 2;
			}
			cfg.media_port = (uint16_t)v;
			break;
		case 'W':
			cfg.backend_options.window = true;
			break;
		case 'O':
			cfg.backend_options.output_name = optarg;
			break;
		case 'd':
			cfg.backend_options.device = optarg;
			break;
		case 'c':
			cfg.backend_options.connector = optarg;
			break;
		case 'I':
			cfg.inject = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !server || !cfg.zone) {
		usage(stderr);
		return 2;
	}
	if (!xport_ctl_name_valid(cfg.zone, strlen(cfg.zone))) {
		fprintf(stderr, "zone-client: '%s' is not a zone name (1..%u of A-Z a-z 0-9 . _ -)\n",
			cfg.zone, XPORT_CTL_NAME_MAX);
		return 2;
	}
	cfg.backend = zc_backend_find(backend_name);
	if (!cfg.backend) {
		fprintf(stderr, "zone-client: unknown backend '%s' (have: %s)\n", backend_name,
			zc_backend_names());
		return 2;
	}
	if (dump_all && !out_dir) {
		fprintf(stderr, "zone-client: --dump-all needs -o DIR\n");
		return 2;
	}
	char host[256];
	if (xport_net_split_hostport(server, host, sizeof(host), &cfg.port,
		XPORT_CTL_DEFAULT_PORT) < 0 || cfg.port == 0 || !host[0]) {
		fprintf(stderr, "zone-client: bad server address '%s' (HOST[:PORT])\n", server);
		return 2;
	}
	cfg.host = host;
	if (out_dir) {
		int r = make_dir(out_dir);
		if (r < 0) {
			fprintf(stderr, "zone-client: cannot create %s: %s\n", out_dir, strerror(-r));
			return 1;
		}
		if (dump_all) {
			cfg.dump_dir = out_dir;
		}
	}
	zl_log_init(verbose >= 2 ? ZL_DEBUG : verbose == 1 ? ZL_INFO : ZL_WARN);
	zl_clock_init_from_env();

	struct app app = { 0 };
	int status = 1;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	app.loop = zl_loop_create();
	struct zl_source *sig_src = NULL;
	struct zc_session *session = NULL;
	if (sfd < 0 || !app.loop) {
		fprintf(stderr, "zone-client: cannot set up the event loop\n");
		goto out;
	}
	sig_src = zl_loop_add_fd(app.loop, sfd, EPOLLIN, on_signal, &app);
	session = zc_session_create(app.loop, &cfg);
	app.session = session;
	app.stats_path = stats_path;
	if (!session) {
		fprintf(stderr, "zone-client: out of memory\n");
		goto out;
	}
	if (zc_session_status(session) == 0 && zl_loop_run(app.loop) < 0) {
		fprintf(stderr, "zone-client: event loop failed\n");
		goto out;
	}
	if (app.signalled) {
		zc_session_bye(session);
	}

	/* Results are written however the session ended. */
	status = 0;
	if (out_dir) {
		pixman_image_t *img = zc_session_snapshot(session);
		char path[4096];
		snprintf(path, sizeof(path), "%s/last.png", out_dir);
		if (img && zc_snapshot_write_png(img, path) < 0) {
			status = 1;
		}
	}
	if (stats_path) {
		int r = write_stats(session, stats_path);
		if (r < 0) {
			fprintf(stderr, "zone-client: cannot write %s: %s\n", stats_path, strerror(-r));
			status = 1;
		}
	}
	if (!app.signalled && zc_session_status(session) < 0) {
		fprintf(stderr, "zone-client: %s\n", zc_session_error(session));
		status = 1;
	}
out:
	zc_session_destroy(session);
	zl_source_remove(sig_src);
	if (sfd >= 0) {
		close(sfd);
	}
	zl_loop_destroy(app.loop);
	if (cfg.present_log && fclose(cfg.present_log) != 0) {
		status = 1;
	}
	return status;
}
