/* SPDX-License-Identifier: MIT */
/* gpu-server: the virtio-gpu device backend for every guest, the zone
 * compositor and the zone streams, on one single-threaded event loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "compositor/compositor.h"
#include "compositor/gl-compose.h"
#include "config.h"
#include "control.h"
#include "qemu-ui.h"
#include "gst-enc.h"
#include "sink.h"
#include "transport/control-proto.h"
#include "transport/psk.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "input-route.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/input.h"
#include "virtio-gpu/vhost-user.h"
#include "virtio-gpu/renderer.h"
#include "virtio-gpu/vtest.h"

struct server;

struct guest {
	struct server *server;
	unsigned index;
	const struct gs_guest_config *config;
	struct vgpu_device *dev;
	struct vgpu_vhost_user *vu;
	struct gs_qemu_ui *ui;           /* hotplug channel, or NULL */
	struct vgpu_input *input;        /* [guest] input=: its touchscreen, or NULL */
	struct vgpu_device_config dev_config;
	unsigned viewers[VGPU_MAX_SCANOUTS]; /* zone clients showing each scanout */
	/* vtest-app guests (no dev, no vu): our copy of the app's last frame,
	 * the stable image the zones compose from (the app's own memory goes
	 * when it disconnects). */
	pixman_image_t *vtest_frame;
};

struct server {
	struct gs_config config;
	struct zl_loop *loop;
	struct guest guests[GS_MAX_GUESTS];
	struct comp_zone *zones[GS_MAX_ZONES];
	struct gs_input_route input_routes[GS_MAX_ZONES];
	struct gs_control *control;
	struct zl_source *signal_src;
	int signal_fd;
	struct vgpu_renderer *renderer; /* NULL: no 3D (guests 2D, vtest off) */
	struct gs_sink *sinks[GS_MAX_ZONES]; /* [zone] sink= with codec=raw, or NULL */
	/* codec=h264|jpeg: the zone's one encoder, for its sink and its control
	 * clients; or NULL. */
	struct gs_gst_enc *encoders[GS_MAX_ZONES];
	struct zone_enc_ctx {
		struct server *s;
		unsigned zi;
	} enc_ctx[GS_MAX_ZONES];
	/* Zones compose with GL in the renderer's share group. */
	bool gl_compose;
	struct comp_gl_engine gl_engine;
	struct vgpu_vtest *vtest;
};

/* A zone changed: hand its new damage to the transport right away (latency
 * is the product: no batching timer on the frame path). */
static void zone_flush(struct server *s, unsigned zi)
{
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	uint64_t t_flush;
	if (comp_zone_take_damage(s->zones[zi], &damage, &t_flush)) {
		gs_control_zone_frame(s->control, zi, &damage, t_flush);
		if (s->sinks[zi]) {
			gs_sink_frame(s->sinks[zi], comp_zone_image(s->zones[zi]), t_flush);
		}
		if (s->encoders[zi] && (*s->config.zones[zi].sink ||
			gs_control_zone_has_clients(s->control, zi))) {
			gs_gst_enc_frame(s->encoders[zi], comp_zone_image(s->zones[zi]), t_flush, false,
				false);
		}
	}
	pixman_region32_fini(&damage);
}

static void on_scanout_update(void *data, const struct vgpu_scanout_update *u)
{
	struct guest *g = data;
	struct server *s = g->server;
	for (unsigned zi = 0; zi < s->config.n_zones; zi++) {
		/* The zone composes every change at once; it sends when the guest
		 * presents, carrying the damage of both halves of a page flip. */
		if (comp_zone_scanout_update(s->zones[zi], g->index, u) && u->present) {
			zone_flush(s, zi);
		}
	}
}

static void on_cursor_update(void *data, unsigned scanout, pixman_image_t *image,
	uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y)
{
	struct guest *g = data;
	struct server *s = g->server;
	for (unsigned zi = 0; zi < s->config.n_zones; zi++) {
		if (comp_zone_cursor_update(s->zones[zi], g->index, scanout, image, hot_x, hot_y,
			x, y)) {
			zone_flush(s, zi);
		}
	}
}

static void on_cursor_move(void *data, unsigned scanout, uint32_t x, uint32_t y)
{
	struct guest *g = data;
	struct server *s = g->server;
	for (unsigned zi = 0; zi < s->config.n_zones; zi++) {
		if (comp_zone_cursor_move(s->zones[zi], g->index, scanout, x, y)) {
			zone_flush(s, zi);
		}
	}
}

static void on_request_done(void *data, uint64_t cookie)
{
	struct guest *g = data;
	vgpu_vhost_user_complete(g->vu, cookie);
}

static const struct vgpu_listener device_listener = {
	.request_done = on_request_done,
	.scanout_update = on_scanout_update,
	.cursor_update = on_cursor_update,
	.cursor_move = on_cursor_move,
};

static void on_guest_connected(void *data)
{
	struct guest *g = data;
	zl_info("guest %s: frontend connected", g->config->name);
}

static void on_guest_disconnected(void *data)
{
	struct guest *g = data;
	zl_info("guest %s: frontend disconnected; its resources are gone", g->config->name);
}

static const struct vgpu_vhost_user_listener vu_listener = {
	.connected = on_guest_connected,
	.disconnected = on_guest_disconnected,
};

/* A guest's connector is connected while some zone client shows it. The
 * device model answers the guest's GET_DISPLAY_INFO, so it changes first;
 * then QEMU's UI layer raises VIRTIO_GPU_EVENT_DISPLAY (docs/hotplug.md). */
static void zone_viewers_changed(struct server *s, unsigned zi, int delta)
{
	const struct gs_zone_config *z = &s->config.zones[zi];
	for (unsigned li = 0; li < z->n_layers; li++) {
		const struct comp_layer_config *l = &z->layers[li];
		struct guest *g = &s->guests[l->guest];
		unsigned *n = &g->viewers[l->scanout];
		if (delta < 0 && *n == 0) {
			continue;
		}
		*n += (unsigned)delta;
		bool connected = *n > 0;
		if (!g->ui || (delta > 0 ? *n != 1 : *n != 0)) {
			continue;
		}
		const struct vgpu_scanout_config *sc = &g->dev_config.scanouts[l->scanout];
		vgpu_device_set_scanout_enabled(g->dev, l->scanout, connected);
		int r = gs_qemu_ui_display_event(g->ui, l->scanout, connected, sc->width, sc->height);
		if (r < 0) {
			zl_warn("guest %s scanout %u: cannot raise the display event: %s",
				g->config->name, l->scanout, strerror(-r));
		} else {
			zl_info("guest %s scanout %u: connector %s", g->config->name, l->scanout,
				connected ? "connected" : "disconnected");
		}
	}
}

/* A zone client's panel (its EDID): the guests shown on it get its name
 * and their share of its physical size in their EDIDs (a layer covering
 * half the zone is half the panel), before the display event of the join
 * makes them read it. */
static void apply_panel(struct server *s, unsigned zi, const struct gs_control_panel *panel)
{
	struct vgpu_edid_info info;
	if (!panel->edid_len) {
		return;
	}
	if (vgpu_edid_parse(panel->edid, panel->edid_len, &info) < 0) {
		zl_warn("zone %s: the client's panel EDID is malformed; ignored",
			s->config.zones[zi].name);
		return;
	}
	const struct gs_zone_config *z = &s->config.zones[zi];
	zl_info("zone %s: panel \"%s\" (%s %04x), %ux%u mm, preferred %ux%u", z->name, info.name,
		info.manufacturer, info.product, info.width_mm, info.height_mm, info.pref_width,
		info.pref_height);
	for (unsigned li = 0; li < z->n_layers; li++) {
		const struct comp_layer_config *l = &z->layers[li];
		struct guest *g = &s->guests[l->guest];
		if (!g->dev) {
			continue;
		}
		uint32_t w_mm = (uint32_t)((uint64_t)info.width_mm * l->width / z->width);
		uint32_t h_mm = (uint32_t)((uint64_t)info.height_mm * l->height / z->height);
		vgpu_device_set_scanout_panel(g->dev, l->scanout, info.name[0] ? info.name : "zone panel",
			w_mm, h_mm);
		zl_info("guest %s scanout %u: EDID \"%s\", %ux%u mm", g->config->name, l->scanout,
			info.name, w_mm, h_mm);
	}
}

static void on_client_joined(void *data, unsigned zi, const struct gs_control_panel *panel)
{
	struct server *s = data;
	zl_info("zone %s: client joined", s->config.zones[zi].name);
	apply_panel(s, zi, panel);
	zone_viewers_changed(s, zi, +1);
}

static void on_client_left(void *data, unsigned zi)
{
	struct server *s = data;
	zl_info("zone %s: client left", s->config.zones[zi].name);
	zone_viewers_changed(s, zi, -1);
}

static void on_encode_key(void *data, unsigned zi)
{
	struct server *s = data;
	if (s->encoders[zi]) {
		gs_gst_enc_frame(s->encoders[zi], comp_zone_image(s->zones[zi]), zl_now_ns(), true,
			true);
	}
}

static void on_encoded(void *data, const uint8_t *bytes, size_t len, bool key,
	uint64_t capture_ns, uint64_t pushed_ns, bool refresh)
{
	struct zone_enc_ctx *e = data;
	gs_control_zone_encoded(e->s->control, e->zi, bytes, len, key, capture_ns, pushed_ns,
		refresh);
}

/* A zone client's panel: to the guest under the event, as that guest's
 * touchscreen and keyboard (input-route.h). */
static void on_input(void *data, unsigned zi, const struct xport_ctl_input *ev)
{
	struct server *s = data;
	struct gs_input_target t;
	enum gs_input_action a = gs_input_route(&s->input_routes[zi],
		comp_zone_config(s->zones[zi]), ev, VGPU_INPUT_ABS_MAX, &t);
	if (a == GS_INPUT_NONE || t.guest >= s->config.n_guests) {
		return;
	}
	struct guest *g = &s->guests[t.guest];
	zl_dbg("input", "zone %s: event %u at %.1f,%.1f -> guest %s scanout %u (%u,%u) code %u %u",
		s->config.zones[zi].name, ev->kind, ev->x / 256.0, ev->y / 256.0, g->config->name,
		t.scanout, t.x, t.y, t.code, t.pressed);
	if (!g->input) {
		return; /* the guest has no input device */
	}
	switch (a) {
	case GS_INPUT_TOUCH_DOWN:
		vgpu_input_touch(g->input, t.x, t.y, true, false);
		break;
	case GS_INPUT_TOUCH_MOTION:
		vgpu_input_touch(g->input, t.x, t.y, false, false);
		break;
	case GS_INPUT_TOUCH_UP:
		vgpu_input_touch(g->input, t.x, t.y, false, true);
		break;
	case GS_INPUT_KEY:
		vgpu_input_key(g->input, t.code, t.pressed);
		break;
	default:
		break;
	}
}

static const struct gs_control_listener control_listener = {
	.client_joined = on_client_joined,
	.client_left = on_client_left,
	.encode_key = on_encode_key,
	.input = on_input,
};

static void on_signal(void *data, int fd, uint32_t events)
{
	struct server *s = data;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		zl_info("signal %u: shutting down", si.ssi_signo);
	}
	zl_loop_quit(s->loop);
}

/* The scanouts a guest offers are the layers that show them: the first layer
 * showing (guest, scanout) sets the mode the guest is offered; other layers
 * showing it scale. */
static void guest_device_config(const struct gs_config *cfg, unsigned gi,
	struct vgpu_device_config *dc)
{
	memset(dc, 0, sizeof(*dc));
	dc->name = cfg->guests[gi].name;
	dc->quota_bytes = cfg->guests[gi].quota_bytes;
	dc->num_scanouts = 1;
	for (unsigned zi = 0; zi < cfg->n_zones; zi++) {
		const struct gs_zone_config *z = &cfg->zones[zi];
		for (unsigned li = 0; li < z->n_layers; li++) {
			const struct comp_layer_config *l = &z->layers[li];
			if (l->guest != gi) {
				continue;
			}
			struct vgpu_scanout_config *sc = &dc->scanouts[l->scanout];
			if (!sc->enabled) {
				sc->width = l->width;
				sc->height = l->height;
				sc->refresh_hz = z->refresh_hz;
				/* With a hotplug channel to QEMU, a connector is
				 * connected while a zone client shows it. Without one,
				 * connected from the start: stock QEMU's vhost-user-gpu
				 * drops backend config-change messages, so the guest
				 * could never learn of a later connect (docs/hotplug.md). */
				sc->enabled = !*cfg->guests[gi].qemu_ui;
			} else if (sc->width != l->width || sc->height != l->height) {
				zl_info("guest %s scanout %u: zone %s shows it at %ux%u, scaled from %ux%u",
					dc->name, l->scanout, z->name, l->width, l->height,
					sc->width, sc->height);
			}
			if (l->scanout + 1 > dc->num_scanouts) {
				dc->num_scanouts = l->scanout + 1;
			}
		}
	}
}

static struct guest *vtest_app_guest(struct server *s, const char *process_name)
{
	for (unsigned gi = 0; gi < s->config.n_guests; gi++) {
		if (*s->config.guests[gi].vtest_app &&
				strcmp(s->config.guests[gi].vtest_app, process_name) == 0) {
			return &s->guests[gi];
		}
	}
	return NULL;
}

/* A vtest client presented its window (Mesa read its display target back
 * on swap). If a guest section names the app (vtest-app=), the frame is
 * that guest's scanout 0: copy the damage into our frame and present it
 * as a flush of a QEMU guest would. */
static void on_vtest_present(void *data, const struct vgpu_vtest_present *p)
{
	struct server *s = data;
	struct guest *g = vtest_app_guest(s, p->process_name);
	uint64_t t_ns = zl_now_ns();
	int w = (int)p->width, h = (int)p->height;
	const uint32_t *px = (const uint32_t *)(const void *)pixman_image_get_data(p->image);
	zl_dbg("vtest", "vtest %s: present %dx%d damage %d,%d-%d,%d px0=%08x%s", p->process_name,
		w, h, p->damage.x1, p->damage.y1, p->damage.x2, p->damage.y2, px[0],
		g ? "" : " (no guest shows this app)");
	if (!g) {
		return;
	}
	pixman_box32_t damage = p->damage;
	if (!g->vtest_frame || pixman_image_get_width(g->vtest_frame) != w ||
			pixman_image_get_height(g->vtest_frame) != h) {
		/* A new size: a new image, all of it damaged (the zone
		 * re-composes the layer whole on a new image anyway); black
		 * where a first partial swap left it unknown. */
		pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
		if (!img) {
			zl_warn("guest %s: no memory for a %dx%d frame", g->config->name, w, h);
			return;
		}
		if (g->vtest_frame) {
			pixman_image_unref(g->vtest_frame);
		}
		g->vtest_frame = img;
		damage = (pixman_box32_t){ 0, 0, w, h };
	}
	pixman_image_composite32(PIXMAN_OP_SRC, p->image, NULL, g->vtest_frame,
		0, 0, 0, 0, p->damage.x1, p->damage.y1,
		p->damage.x2 - p->damage.x1, p->damage.y2 - p->damage.y1);
	struct vgpu_scanout_update u = {
		.scanout_id = 0,
		.image = g->vtest_frame,
		.src_w = (uint32_t)w,
		.src_h = (uint32_t)h,
		.damage = &damage,
		.n_damage = 1,
		.t_flush_ns = t_ns,
		.present = true,
	};
	on_scanout_update(g, &u);
}

static const struct vgpu_vtest_listener vtest_listener = {
	.present = on_vtest_present,
};

static int gl_begin(void *data)
{
	struct server *s = data;
	return vgpu_renderer_gl_begin(s->renderer);
}

static void gl_end(void *data)
{
	struct server *s = data;
	vgpu_renderer_gl_end(s->renderer);
}

/* 3D is optional: when virglrenderer or EGL cannot start, the server still
 * serves its guests in 2D, with vtest off. Only started when something
 * wants it: a guest with GL (the default) or vtest=. */
static void server_init_renderer(struct server *s)
{
	bool want = *s->config.vtest || s->config.compose == GS_COMPOSE_GL ||
		*s->config.render_node;
	for (unsigned gi = 0; gi < s->config.n_guests; gi++) {
		want |= !s->config.guests[gi].no_gl;
	}
	if (!want) {
		return;
	}
	struct vgpu_renderer_config rc = {
		.render_node = *s->config.render_node ? s->config.render_node : NULL,
	};
	s->renderer = vgpu_renderer_create(s->loop, &rc);
	if (!s->renderer) {
		zl_warn("no renderer: guests get a 2D device%s", *s->config.vtest ?
			", vtest is off" : "");
	}
}

static void server_init_vtest(struct server *s)
{
	if (!*s->config.vtest || !s->renderer) {
		return;
	}
	s->vtest = vgpu_vtest_create(s->loop, s->config.vtest, s->renderer, &vtest_listener, s);
	if (!s->vtest) {
		zl_warn("vtest=%s: cannot listen, vtest is off", s->config.vtest);
	}
}

static int server_init(struct server *s)
{
	struct gs_config *cfg = &s->config;
	s->signal_fd = -1;
	s->loop = zl_loop_create();
	if (!s->loop) {
		return -ENOMEM;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->signal_fd < 0) {
		zl_log_errno(ZL_ERROR, "signalfd");
		return -errno;
	}
	s->signal_src = zl_loop_add_fd(s->loop, s->signal_fd, EPOLLIN, on_signal, s);

	server_init_renderer(s);
	if (*cfg->render_node && !s->renderer) {
		zl_err("render-node=%s: cannot render there (see above)", cfg->render_node);
		return -ENODEV;
	}
	if (cfg->compose == GS_COMPOSE_GL && !s->renderer) {
		zl_err("compose=gl: no GL (see above); compose=auto falls back to pixman");
		return -ENODEV;
	}
	/* auto: GL on a GPU. On llvmpipe pixman composes 20-60x faster than
	 * GL does (bench-compose vs bench-compose --gl), and reading each 3D
	 * scanout's damage back costs less than that. */
	s->gl_compose = s->renderer && (cfg->compose == GS_COMPOSE_GL ||
		(cfg->compose == GS_COMPOSE_AUTO && !vgpu_renderer_gl_is_software(s->renderer)));
	s->gl_engine = (struct comp_gl_engine){ gl_begin, gl_end, s };

	struct gs_zone_desc zone_desc[GS_MAX_ZONES];
	for (unsigned zi = 0; zi < cfg->n_zones; zi++) {
		const struct gs_zone_config *z = &cfg->zones[zi];
		struct comp_zone_config cz = {
			.name = z->name,
			.width = z->width,
			.height = z->height,
			.refresh_hz = z->refresh_hz,
			.n_layers = z->n_layers,
		};
		memcpy(cz.layers, z->layers, sizeof(cz.layers));
		gs_input_route_init(&s->input_routes[zi]);
		s->zones[zi] = s->gl_compose ? comp_zone_create_gl(&cz, &s->gl_engine) :
			comp_zone_create(&cz);
		if (!s->zones[zi]) {
			zl_err("zone %s: cannot create its %ux%u frame", z->name, z->width, z->height);
			return -ENOMEM;
		}
		zone_desc[zi] = (struct gs_zone_desc){
			.name = z->name,
			.width = z->width,
			.height = z->height,
			.refresh_hz = z->refresh_hz,
			.mtu = z->mtu,
			.priority = z->priority,
			.dscp = z->dscp,
			.pace_pct = z->pace_pct,
			.txtime = z->txtime,
			.codec = z->codec == GS_CODEC_RAW ? XPORT_CODEC_RAW : z->codec == GS_CODEC_H264 ?
				XPORT_CODEC_H264 : z->codec == GS_CODEC_JPEG ? XPORT_CODEC_JPEG :
				XPORT_CODEC_TILES,
			.image = comp_zone_image(s->zones[zi]),
		};
	}

	for (unsigned zi = 0; zi < cfg->n_zones; zi++) {
		const struct gs_zone_config *z = &cfg->zones[zi];
		if (!*z->sink && z->codec != GS_CODEC_H264 && z->codec != GS_CODEC_JPEG) {
			continue;
		}
		struct gs_sink_config sc = {
			.zone = z->name, .url = z->sink, .width = z->width, .height = z->height,
			.refresh_hz = z->refresh_hz, .mtu = z->mtu, .priority = z->priority,
			.dscp = z->dscp, .pace_pct = z->pace_pct, .txtime = z->txtime,
		};
		if (z->codec == GS_CODEC_RAW) {
			/* Control clients get raw frames from the control itself. */
			s->sinks[zi] = gs_sink_create(s->loop, &sc);
			if (!s->sinks[zi]) {
				return -EINVAL;
			}
			/* The first frame now: a receiver has something to show. */
			gs_sink_frame(s->sinks[zi], comp_zone_image(s->zones[zi]), zl_now_ns());
			continue;
		}
		s->enc_ctx[zi] = (struct zone_enc_ctx){ s, zi };
		struct gs_gst_enc_config ec = {
			.zone = z->name, .width = z->width, .height = z->height,
			.refresh_hz = z->refresh_hz,
			.codec = z->codec == GS_CODEC_H264 ? GS_GST_H264 : GS_GST_JPEG,
			.max_kbps = z->max_kbps,
			.sink = *z->sink ? &sc : NULL,
			.encoded = on_encoded,
			.data = &s->enc_ctx[zi],
		};
		s->encoders[zi] = gs_gst_enc_create(s->loop, &ec);
		if (!s->encoders[zi]) {
			return -EINVAL;
		}
		if (*z->sink) {
			/* The first frame now: a receiver has something to show. */
			gs_gst_enc_frame(s->encoders[zi], comp_zone_image(s->zones[zi]), zl_now_ns(),
				true, false);
		}
	}

	s->control = gs_control_create(s->loop, cfg->control, zone_desc, cfg->n_zones,
		&control_listener, s);
	if (!s->control) {
		zl_err("control listener %s: cannot start", cfg->control);
		return -EADDRNOTAVAIL;
	}
	gs_control_set_clock_ptp(s->control, cfg->clock_ptp);
	gs_control_set_advertise(s->control, cfg->advertise == GS_ADVERTISE_OFF ?
		GS_CONTROL_ADVERTISE_OFF : cfg->advertise == GS_ADVERTISE_OPEN ?
		GS_CONTROL_ADVERTISE_OPEN : GS_CONTROL_ADVERTISE_AUTH);
	if (*cfg->key_file) {
		struct xport_psk psk;
		char err[512];
		int r = xport_psk_load(cfg->key_file, &psk, err, sizeof(err));
		if (r < 0) {
			zl_err("key-file: %s", err);
			return r;
		}
		if (*err) {
			zl_warn("key-file: %s", err);
		}
		gs_control_set_psk(s->control, &psk);
		OPENSSL_cleanse(&psk, sizeof(psk));
		zl_info("zone clients must prove the key of %s", cfg->key_file);
	} else {
		zl_warn("no [server] key-file=: zone clients are not authenticated; anyone who "
			"reaches %s may watch every zone", cfg->control);
	}

	zl_info("zones composed with %s", s->gl_compose ? "GL (scanout textures sampled "
		"in the renderer's share group)" : s->renderer && cfg->compose == GS_COMPOSE_AUTO ?
		"pixman (GL is a software rasterizer; compose=gl uses it anyway)" : "pixman");
	for (unsigned gi = 0; gi < cfg->n_guests; gi++) {
		struct guest *g = &s->guests[gi];
		g->server = s;
		g->index = gi;
		g->config = &cfg->guests[gi];
		struct vgpu_device_config *dc = &g->dev_config;
		guest_device_config(cfg, gi, dc);
		if (*g->config->vtest_app) {
			zl_info("guest %s: the vtest app '%s' on scanout 0 (%ux%u)", g->config->name,
				g->config->vtest_app, dc->scanouts[0].width, dc->scanouts[0].height);
			continue;
		}
		dc->renderer = g->config->no_gl ? NULL : s->renderer;
		dc->gl_scanouts = s->gl_compose;
		g->dev = vgpu_device_create(dc, &device_listener, g);
		if (!g->dev) {
			zl_err("guest %s: cannot create its device", g->config->name);
			return -ENOMEM;
		}
		g->vu = vgpu_vhost_user_create(s->loop, g->config->vhost_user, g->dev, &vu_listener, g);
		if (!g->vu) {
			zl_err("guest %s: cannot listen on %s", g->config->name, g->config->vhost_user);
			return -EADDRNOTAVAIL;
		}
		if (*g->config->input) {
			g->input = vgpu_input_create(s->loop, g->config->input, g->config->name);
			if (!g->input) {
				zl_err("guest %s: cannot listen on input=%s", g->config->name,
					g->config->input);
				return -EADDRNOTAVAIL;
			}
		}
		if (*g->config->qemu_ui) {
			g->ui = gs_qemu_ui_create(s->loop, g->config->qemu_ui, g->config->name);
			if (!g->ui) {
				zl_err("guest %s: bad qemu-ui=%s", g->config->name, g->config->qemu_ui);
				return -EINVAL;
			}
		}
		zl_info("guest %s: vhost-user-gpu on %s (%u scanout%s, %s)%s%s", g->config->name,
			g->config->vhost_user, dc->num_scanouts, dc->num_scanouts > 1 ? "s" : "",
			dc->renderer ? "virgl 3D" : "2D",
			g->ui ? ", hotplug via " : "", g->ui ? g->config->qemu_ui : "");
	}
	server_init_vtest(s);
	return 0;
}

/* What each zone's media did, once, at exit: for the log an operator reads. */
static void log_zone_stats(struct server *s)
{
	for (unsigned zi = 0; s->control && zi < s->config.n_zones; zi++) {
		struct gs_control_zone_stats st;
		if (gs_control_get_zone_stats(s->control, zi, &st) < 0) {
			continue;
		}
		zl_info("zone %s: %llu frames (%llu key, %llu refreshes), %llu packets, %llu bytes; "
			"%llu PLIs, %llu packets NACKed (%llu sent again), %llu client queue drops, "
			"%llu SRTCP rejected, %llu late (txtime)", s->config.zones[zi].name,
			(unsigned long long)st.frames, (unsigned long long)st.key_frames,
			(unsigned long long)st.refreshes, (unsigned long long)st.packets,
			(unsigned long long)st.bytes, (unsigned long long)st.plis,
			(unsigned long long)st.nacked, (unsigned long long)st.retransmitted,
			(unsigned long long)st.queue_drops, (unsigned long long)st.srtp_rejected,
			(unsigned long long)st.txtime_dropped);
	}
}

static void server_finish(struct server *s)
{
	log_zone_stats(s);
	vgpu_vtest_destroy(s->vtest);
	for (unsigned gi = 0; gi < GS_MAX_GUESTS; gi++) {
		gs_qemu_ui_destroy(s->guests[gi].ui);
		vgpu_vhost_user_destroy(s->guests[gi].vu);
		vgpu_input_destroy(s->guests[gi].input);
		vgpu_device_destroy(s->guests[gi].dev);
		if (s->guests[gi].vtest_frame) {
			pixman_image_unref(s->guests[gi].vtest_frame);
		}
	}
	gs_control_destroy(s->control);
	/* GL zones delete their GL objects in the renderer's context. */
	for (unsigned zi = 0; zi < GS_MAX_ZONES; zi++) {
		gs_sink_destroy(s->sinks[zi]);
		gs_gst_enc_destroy(s->encoders[zi]);
		comp_zone_destroy(s->zones[zi]);
	}
	/* After the devices and vtest: they hold its clients. */
	vgpu_renderer_destroy(s->renderer);
	zl_source_remove(s->signal_src);
	if (s->signal_fd >= 0) {
		close(s->signal_fd);
	}
	zl_loop_destroy(s->loop);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gpu-server -c CONFIG.ini [-v]\n"
		"  -c, --config FILE   zones, guests and server settings (docs/config.md)\n"
		"  -v, --verbose       debug logging (ZONAL_DEBUG=vhost,gpu,comp,xport for more)\n"
		"  -h, --help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL;
	enum zl_log_level level = ZL_INFO;
	int c;
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'v':
			level = ZL_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	zl_log_init(level);

	struct server *s = calloc(1, sizeof(*s));
	if (!s) {
		return 1;
	}
	char err[512];
	if (gs_config_load(&s->config, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "gpu-server: %s\n", err);
		free(s);
		return 1;
	}
	int ret = server_init(s);
	if (ret == 0) {
		zl_info("gpu-server ready: %u guest(s), %u zone(s), control on %s",
			s->config.n_guests, s->config.n_zones, s->config.control);
		ret = zl_loop_run(s->loop);
	}
	server_finish(s);
	free(s);
	return ret < 0 ? 1 : 0;
}
