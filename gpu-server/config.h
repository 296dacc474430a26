/* SPDX-License-Identifier: MIT */
#ifndef GS_CONFIG_H
#define GS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compositor/compositor.h"

/* gpu-server's configuration: an INI file in the style of weston.ini (see
 * docs/config.md). Parsing is strict: an unknown section or key, a bad value,
 * or a layer naming an unknown guest is an error with the line number. */

#define GS_MAX_GUESTS 16
#define GS_MAX_ZONES 16
#define GS_NAME_MAX 64
#define GS_PACE_DEFAULT 25 /* % of the frame interval a frame's packets spread over */

struct gs_guest_config {
	char name[GS_NAME_MAX];
	char vhost_user[PATH_MAX];  /* socket path gpu-server listens on */
	/* input=: a vhost-user-input device's socket: the panel's touches and
	 * keys on this guest's layers (QEMU -device vhost-user-input-pci). */
	char input[PATH_MAX];
	uint64_t quota_bytes;       /* host memory bound for its resources */
	/* Where to reach QEMU's UI layer to raise connector hotplug events
	 * ("qmp:PATH" or "vnc:PATH[,PATH...]", docs/hotplug.md); empty: none,
	 * and the guest's connectors stay connected. */
	char qemu_ui[PATH_MAX];
	bool no_gl;                 /* gl=off: a 2D-only device (no VIRGL feature) */
	/* vtest-app=: instead of a QEMU guest, the vtest client with this
	 * process name is the source of scanout 0 (needs [server] vtest=). */
	char vtest_app[GS_NAME_MAX];
};

struct gs_zone_config {
	char name[GS_NAME_MAX];
	uint32_t width, height, refresh_hz;
	uint32_t mtu;
	/* The vehicle network (docs/tsn.md). -1: leave the socket's default. */
	int priority;               /* SO_PRIORITY 0..7 (-> VLAN PCP by egress map) */
	int dscp;                   /* IP DSCP 0..63 */
	uint32_t pace_pct;          /* spread a frame over this % of the frame interval */
	bool txtime;                /* SO_TXTIME launch times (CLOCK_TAI, for ETF) */
	enum gs_codec { GS_CODEC_TILES, GS_CODEC_RAW, GS_CODEC_H264, GS_CODEC_JPEG } codec;
	uint32_t max_kbps;          /* h264's bitrate; 0: 8000 */
	char sink[256];             /* udp://HOST:PORT; empty: none */
	unsigned n_layers;
	struct comp_layer_config layers[COMP_MAX_LAYERS]; /* .guest indexes guests[] */
};

enum gs_compose {
	GS_COMPOSE_AUTO,   /* GL when the renderer runs, else pixman */
	GS_COMPOSE_GL,     /* GL, or the server does not start */
	GS_COMPOSE_PIXMAN,
};

struct gs_config {
	char control[128];          /* ADDR:PORT of the TCP control listener */
	enum gs_compose compose;    /* how zone frames are made */
	/* Clients advertising where media should go (zone-client --advertise):
	 * never, authenticated ones (key-file=) only, or anyone. */
	enum gs_advertise { GS_ADVERTISE_AUTH, GS_ADVERTISE_OFF, GS_ADVERTISE_OPEN } advertise;
	/* Unix socket for Mesa's vtest protocol (host GL apps under
	 * GALLIUM_DRIVER=virpipe); empty: no vtest server. */
	char vtest[108];
	/* clock=ptp: this host's CLOCK_TAI is PTP-synchronised (heartbeats say
	 * so, and clients that are too get the clock offset exactly). */
	bool clock_ptp;
	/* The pre-shared key clients must prove (transport/psk.h); empty: none. */
	char key_file[PATH_MAX];
	/* A DRM render node to render on (GBM); empty: EGL surfaceless. */
	char render_node[PATH_MAX];
	unsigned n_guests;
	struct gs_guest_config guests[GS_MAX_GUESTS];
	unsigned n_zones;
	struct gs_zone_config zones[GS_MAX_ZONES];
};

/* Parse a file / a string. On error returns a negative errno and writes a
 * one-line message ("FILE:LINE: ...") into err. */
int gs_config_load(struct gs_config *cfg, const char *path, char *err, size_t err_len);
int gs_config_parse(struct gs_config *cfg, const char *text, char *err, size_t err_len);

/* Value parsers, exposed for tests. Return 0 or -EINVAL. */
int gs_parse_mode(const char *s, uint32_t *w, uint32_t *h, uint32_t *hz);
/* 0..63, or -EINVAL. Numbers, or EF, VA, CS0..CS7, AF11..AF43. */
int gs_parse_dscp(const char *s);
int gs_parse_layer(const char *s, char *guest, size_t guest_len, unsigned *scanout,
	int32_t *x, int32_t *y, uint32_t *w, uint32_t *h);

#endif
