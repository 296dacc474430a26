/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpu-server/config.h"

static void test_architecture_example(void **state)
{
	static const char ini[] =
		"[server]\n"
		"control=127.0.0.1:7300          ; TCP control listener\n"
		"\n"
		"[guest cluster]\n"
		"vhost-user=/run/zonal/cluster.sock   ; QEMU: -device vhost-user-gpu-pci\n"
		"\n"
		"[zone cockpit]\n"
		"mode=1920x720@60\n"
		"layer=cluster:0 0,0 1280x720    ; GUEST:SCANOUT X,Y WxH\n"
		"layer=ivi:0 1280,0 640x720      ; later layers are on top\n"
		"codec=tiles\n"
		"\n"
		"[guest ivi]\n"
		"vhost-user=/run/zonal/ivi.sock\n"
		"qemu-ui=qmp:/run/zonal/ivi.qmp\n"
		"quota-mb=64\n"
		"\n"
		"[zone rear-left]\n"
		"mode=1280x800\n"
		"layer=ivi:1 0,0 1280x800\n"
		"mtu=9000\n";
	struct gs_config cfg;
	char err[256] = "";
	assert_int_equal(gs_config_parse(&cfg, ini, err, sizeof(err)), 0);
	assert_string_equal(cfg.control, "127.0.0.1:7300");
	assert_int_equal(cfg.n_guests, 2);
	assert_string_equal(cfg.guests[0].name, "cluster");
	assert_string_equal(cfg.guests[0].vhost_user, "/run/zonal/cluster.sock");
	assert_int_equal(cfg.guests[1].quota_bytes, 64ull << 20);
	assert_string_equal(cfg.guests[0].qemu_ui, "");
	assert_string_equal(cfg.guests[1].qemu_ui, "qmp:/run/zonal/ivi.qmp");
	assert_int_equal(cfg.n_zones, 2);
	const struct gs_zone_config *z = &cfg.zones[0];
	assert_string_equal(z->name, "cockpit");
	assert_int_equal(z->width, 1920);
	assert_int_equal(z->height, 720);
	assert_int_equal(z->refresh_hz, 60);
	assert_int_equal(z->mtu, 1500);
	assert_int_equal(z->n_layers, 2);
	assert_int_equal(z->layers[1].guest, 1); /* ivi, declared after the zone */
	assert_int_equal(z->layers[1].x, 1280);
	assert_int_equal(z->layers[1].width, 640);
	assert_int_equal(cfg.zones[1].refresh_hz, 60);
	assert_int_equal(cfg.zones[1].layers[0].scanout, 1);
	assert_int_equal(cfg.zones[1].mtu, 9000);
}

static void expect_error(const char *ini, const char *needle)
{
	struct gs_config cfg;
	char err[256] = "";
	assert_true(gs_config_parse(&cfg, ini, err, sizeof(err)) < 0);
	if (!strstr(err, needle)) {
		fail_msg("error '%s' does not mention '%s'", err, needle);
	}
}

static void test_errors(void **state)
{
	const char *guest = "[guest a]\nvhost-user=/tmp/a\n";
	char buf[512];
	expect_error("[bogus]\nx=1\n", "line 2: unknown section");
	expect_error("[server]\nfoo=1\n", "unknown key 'foo'");
	expect_error("[guest a]\n", "no [zone");
	snprintf(buf, sizeof(buf), "%s[zone z]\nmode=0x720\nlayer=a:0 0,0 1x1\n", guest);
	expect_error(buf, "line 4: mode=0x720");
	snprintf(buf, sizeof(buf), "%s[zone z]\nmode=100x100\nlayer=b:0 0,0 10x10\n", guest);
	expect_error(buf, "line 5: layer names unknown guest 'b'");
	snprintf(buf, sizeof(buf), "%s[zone z]\nmode=100x100\nlayer=a:16 0,0 10x10\n", guest);
	expect_error(buf, "scanout 0..15");
	snprintf(buf, sizeof(buf), "%s[zone z]\nmode=100x100\nlayer=a:0 0,0 0x10\n", guest);
	expect_error(buf, "layer=");
	snprintf(buf, sizeof(buf), "%s[zone z]\nmode=100x100\n", guest);
	expect_error(buf, "has no layer");
	snprintf(buf, sizeof(buf), "%s[zone z]\nmode=100x100\nlayer=a:0 0,0 1x1\nmtu=100\n", guest);
	expect_error(buf, "mtu=100");
	expect_error("[guest a]\nquota-mb=1\n[zone z]\nmode=1x1\nlayer=a:0 0,0 1x1\n",
		"either vhost-user=PATH");
	expect_error("[guest a b]\nvhost-user=x\n", "bad name");
	expect_error("[guest a]\nqemu-ui=/tmp/q\n", "expected qmp:PATH");
}

static void test_vtest_key(void **state)
{
	struct gs_config cfg;
	char err[256] = "";
	const char *ini = "[server]\nvtest=/run/vz/vtest.sock\n"
		"[guest a]\nvhost-user=/tmp/a\n[zone z]\nmode=10x10\nlayer=a:0 0,0 10x10\n";
	assert_int_equal(gs_config_parse(&cfg, ini, err, sizeof(err)), 0);
	assert_string_equal(cfg.vtest, "/run/vz/vtest.sock");
	ini = "[guest a]\nvhost-user=/tmp/a\n[zone z]\nmode=10x10\nlayer=a:0 0,0 10x10\n";
	assert_int_equal(gs_config_parse(&cfg, ini, err, sizeof(err)), 0);
	assert_string_equal(cfg.vtest, "");
	char buf[400];
	char path[200];
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	snprintf(buf, sizeof(buf), "[server]\nvtest=%s\n", path);
	expect_error(buf, "vtest=");
	expect_error("[server]\nvtest=\n", "vtest=");

	/* vtest-app: a host GL app as a guest's scanout 0. */
	ini = "[server]\nvtest=/tmp/v\n[guest app]\nvtest-app=glmark2\n"
		"[zone z]\nmode=10x10\nlayer=app:0 0,0 10x10\n";
	assert_int_equal(gs_config_parse(&cfg, ini, err, sizeof(err)), 0);
	assert_string_equal(cfg.guests[0].vtest_app, "glmark2");
	assert_string_equal(cfg.guests[0].vhost_user, "");
	expect_error("[guest app]\nvtest-app=x\n[zone z]\nmode=10x10\nlayer=app:0 0,0 10x10\n",
		"needs [server] vtest=");
	expect_error("[server]\nvtest=/tmp/v\n[guest app]\nvtest-app=x\nvhost-user=/tmp/a\n"
		"[zone z]\nmode=10x10\nlayer=app:0 0,0 10x10\n", "not both");
	expect_error("[server]\nvtest=/tmp/v\n[guest app]\nvtest-app=x\n"
		"[zone z]\nmode=10x10\nlayer=app:1 0,0 10x10\n", "scanout 0 only");
	expect_error("[server]\nvtest=/tmp/v\n[guest app]\nvtest-app=\n"
		"[zone z]\nmode=10x10\nlayer=app:0 0,0 10x10\n", "vtest-app");
}

static void test_compose_key(void **state)
{
	struct gs_config cfg;
	char err[256] = "";
	const char *tail = "[guest a]\nvhost-user=/tmp/a\n[zone z]\nmode=10x10\nlayer=a:0 0,0 10x10\n";
	char buf[256];
	static const struct { const char *v; enum gs_compose want; } ok[] = {
		{ "auto", GS_COMPOSE_AUTO }, { "gl", GS_COMPOSE_GL }, { "pixman", GS_COMPOSE_PIXMAN },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), "[server]\ncompose=%s\n%s", ok[i].v, tail);
		assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
		assert_int_equal(cfg.compose, ok[i].want);
	}
	assert_int_equal(gs_config_parse(&cfg, tail, err, sizeof(err)), 0);
	assert_int_equal(cfg.compose, GS_COMPOSE_AUTO);
	expect_error("[server]\ncompose=vulkan\n", "compose=vulkan: expected auto, gl or pixman");
	assert_int_equal(cfg.advertise, GS_ADVERTISE_AUTH);
	snprintf(buf, sizeof(buf), "[server]\nadvertise=open\nkey-file=/etc/zonal.key\n%s", tail);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_int_equal(cfg.advertise, GS_ADVERTISE_OPEN);
	assert_string_equal(cfg.key_file, "/etc/zonal.key");
	expect_error("[server]\nadvertise=yes\n", "advertise=yes: expected auth, off or open");
	snprintf(buf, sizeof(buf), "[server]\nclock=ptp\n%s", tail);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_true(cfg.clock_ptp);
	expect_error("[server]\nclock=gps\n", "clock=gps: expected ptp or free");
	snprintf(buf, sizeof(buf), "[server]\nrender-node=/dev/dri/renderD128\n%s", tail);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_string_equal(cfg.render_node, "/dev/dri/renderD128");
	expect_error("[server]\nrender-node=\n", "render-node=: expected a device path");
}

static void test_network_keys(void **state)
{
	struct gs_config cfg;
	char err[256] = "";
	const char *head = "[guest a]\nvhost-user=/tmp/a\n[zone z]\nmode=10x10\nlayer=a:0 0,0 10x10\n";
	assert_int_equal(gs_config_parse(&cfg, head, err, sizeof(err)), 0);
	assert_int_equal(cfg.zones[0].priority, -1);
	assert_int_equal(cfg.zones[0].dscp, -1);
	assert_int_equal(cfg.zones[0].pace_pct, GS_PACE_DEFAULT);
	assert_false(cfg.zones[0].txtime);
	char buf[512];
	snprintf(buf, sizeof(buf), "%spriority=5\ndscp=EF\npace=0\ntxtime=on\n", head);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_int_equal(cfg.zones[0].priority, 5);
	assert_int_equal(cfg.zones[0].dscp, 46);
	assert_int_equal(cfg.zones[0].pace_pct, 0);
	assert_true(cfg.zones[0].txtime);
	assert_int_equal(gs_parse_dscp("AF41"), 34);
	assert_int_equal(gs_parse_dscp("cs5"), 40);
	assert_int_equal(gs_parse_dscp("63"), 63);
	assert_int_equal(gs_parse_dscp("64"), -EINVAL);
	assert_int_equal(gs_parse_dscp("-1"), -EINVAL);
	assert_int_equal(gs_parse_dscp("CS8"), -EINVAL);
	assert_int_equal(gs_parse_dscp(""), -EINVAL);
	expect_error("[zone z]\npriority=8\n", "priority=8: expected 0..7");
	expect_error("[zone z]\ndscp=BE1\n", "dscp=BE1: expected 0..63");
	expect_error("[zone z]\npace=101\n", "pace=101: expected 0..100");
	expect_error("[zone z]\ntxtime=yes\n", "txtime=yes: expected on or off");

	snprintf(buf, sizeof(buf), "%scodec=raw\nsink=udp://239.1.2.3:5004\n", head);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_int_equal(cfg.zones[0].codec, GS_CODEC_RAW);
	assert_string_equal(cfg.zones[0].sink, "udp://239.1.2.3:5004");
	/* Without a sink: for the control session's clients. */
	snprintf(buf, sizeof(buf), "%scodec=jpeg\n", head);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_int_equal(cfg.zones[0].codec, GS_CODEC_JPEG);
	assert_string_equal(cfg.zones[0].sink, "");
	snprintf(buf, sizeof(buf), "%ssink=udp://h:1\n", head);
	expect_error(buf, "sink= needs codec=raw, h264 or jpeg");
	expect_error("[zone z]\nsink=tcp://h:1\n", "sink=tcp://h:1: expected udp://HOST:PORT");
	expect_error("[zone z]\ncodec=vp8\n", "codec=vp8: expected tiles, raw, h264 or jpeg");
	snprintf(buf, sizeof(buf), "%scodec=h264\nsink=udp://h:1\nmax-bitrate=4000\n", head);
	assert_int_equal(gs_config_parse(&cfg, buf, err, sizeof(err)), 0);
	assert_int_equal(cfg.zones[0].codec, GS_CODEC_H264);
	assert_int_equal(cfg.zones[0].max_kbps, 4000);
	expect_error("[zone z]\nmax-bitrate=10\n", "max-bitrate=10: expected 100..1000000");
}

static void test_value_parsers(void **state)
{
	uint32_t w, h, hz;
	assert_int_equal(gs_parse_mode("1600x600@30", &w, &h, &hz), 0);
	assert_int_equal(w, 1600);
	assert_int_equal(hz, 30);
	assert_int_equal(gs_parse_mode("99999999999999999999x1", &w, &h, &hz), -EINVAL);
	assert_int_equal(gs_parse_mode("16385x1", &w, &h, &hz), -EINVAL);
	assert_int_equal(gs_parse_mode("10x10@", &w, &h, &hz), -EINVAL);
	assert_int_equal(gs_parse_mode("10x10junk", &w, &h, &hz), -EINVAL);
	char g[8];
	unsigned sc;
	int32_t x, y;
	assert_int_equal(gs_parse_layer("g:3 -5,7 10x20", g, sizeof(g), &sc, &x, &y, &w, &h), 0);
	assert_string_equal(g, "g");
	assert_int_equal(sc, 3);
	assert_int_equal(x, -5);
	assert_int_equal(y, 7);
	assert_int_equal(h, 20);
	assert_int_equal(gs_parse_layer("toolongname:0 0,0 1x1", g, sizeof(g), &sc, &x, &y, &w, &h),
		-EINVAL);
	assert_int_equal(gs_parse_layer(":0 0,0 1x1", g, sizeof(g), &sc, &x, &y, &w, &h), -EINVAL);
	assert_int_equal(gs_parse_layer("g:0 0 1x1", g, sizeof(g), &sc, &x, &y, &w, &h), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_architecture_example),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_compose_key),
		cmocka_unit_test(test_network_keys),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_vtest_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
