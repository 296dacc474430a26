/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DIM 16384
#define MAX_MTU 9000
#define MIN_MTU 576

/* Layers name guests by name; guests may be declared after the zones that
 * show them, so names are resolved once the whole file is read. */
struct pending_layer {
	char guest[GS_NAME_MAX];
	int line;
};

struct parse_state {
	struct gs_config *cfg;
	const char *text;   /* rest of the input, for string_reader() */
	struct pending_layer layer_guest[GS_MAX_ZONES][COMP_MAX_LAYERS];
	char *err;
	size_t err_len;
	int line;
	bool failed;
};

static int fail(struct parse_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parse_state *st, const char *fmt, ...)
{
	if (!st->failed) {
		int n = snprintf(st->err, st->err_len, "line %d: ", st->line);
		va_list ap;
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < st->err_len) {
			vsnprintf(st->err + n, st->err_len - n, fmt, ap);
		}
		va_end(ap);
		st->failed = true;
	}
	return 0; /* stop inih */
}

int gs_parse_dscp(const char *s)
{
	static const struct {
		const char *name;
		int v;
	} names[] = {
		{ "EF", 46 }, { "VA", 44 },
		{ "AF11", 10 }, { "AF12", 12 }, { "AF13", 14 }, { "AF21", 18 }, { "AF22", 20 },
		{ "AF23", 22 }, { "AF31", 26 }, { "AF32", 28 }, { "AF33", 30 }, { "AF41", 34 },
		{ "AF42", 36 }, { "AF43", 38 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			return names[i].v;
		}
	}
	if ((s[0] == 'C' || s[0] == 'c') && (s[1] == 'S' || s[1] == 's') && s[2] >= '0' &&
		s[2] <= '7' && s[3] == 0) {
		return (s[2] - '0') * 8;
	}
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > 63 || *s < '0' || *s > '9') {
		return -EINVAL;
	}
	return (int)v;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	if (!s || *s < '0' || *s > '9') {
		return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max) {
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Reads an unsigned decimal prefix; *s advances past it. */
static int take_u32(const char **s, uint32_t max, uint32_t *out)
{
	const char *p = *s;
	if (*p < '0' || *p > '9') {
		return -EINVAL;
	}
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max) {
			return -EINVAL;
		}
		p++;
	}
	*out = (uint32_t)v;
	*s = p;
	return 0;
}

static int take_i32(const char **s, int32_t min, int32_t max, int32_t *out)
{
	bool neg = **s == '-';
	if (neg) {
		(*s)++;
	}
	uint32_t v;
	if (take_u32(s, neg ? (uint32_t)(-(int64_t)min) : (uint32_t)max, &v) < 0) {
		return -EINVAL;
	}
	*out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return 0;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	return s;
}

int gs_parse_mode(const char *s, uint32_t *w, uint32_t *h, uint32_t *hz)
{
	uint32_t rw, rh, rhz = 60;
	if (take_u32(&s, MAX_DIM, &rw) < 0 || *s++ != 'x' || take_u32(&s, MAX_DIM, &rh) < 0) {
		return -EINVAL;
	}
	if (*s == '@') {
		s++;
		if (take_u32(&s, 1000, &rhz) < 0) {
			return -EINVAL;
		}
	}
	if (*skip_ws(s) || rw == 0 || rh == 0 || rhz == 0) {
		return -EINVAL;
	}
	*w = rw;
	*h = rh;
	*hz = rhz;
	return 0;
}

/* "GUEST:SCANOUT X,Y WxH" */
int gs_parse_layer(const char *s, char *guest, size_t guest_len, unsigned *scanout,
	int32_t *x, int32_t *y, uint32_t *w, uint32_t *h)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= guest_len) {
		return -EINVAL;
	}
	size_t n = (size_t)(colon - s);
	memcpy(guest, s, n);
	guest[n] = '\0';
	const char *p = colon + 1;
	uint32_t sc, rw, rh;
	int32_t rx, ry;
	if (take_u32(&p, 15, &sc) < 0) {
		return -EINVAL;
	}
	p = skip_ws(p);
	if (take_i32(&p, -MAX_DIM, MAX_DIM, &rx) < 0 || *p++ != ',' ||
		take_i32(&p, -MAX_DIM, MAX_DIM, &ry) < 0) {
		return -EINVAL;
	}
	p = skip_ws(p);
	if (take_u32(&p, MAX_DIM, &rw) < 0 || *p++ != 'x' || take_u32(&p, MAX_DIM, &rh) < 0) {
		return -EINVAL;
	}
	if (*skip_ws(p) || rw == 0 || rh == 0) {
		return -EINVAL;
	}
	*scanout = sc;
	*x = rx;
	*y = ry;
	*w = rw;
	*h = rh;
	return 0;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) >= GS_NAME_MAX) {
		return false;
	}
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '_' || c == '.')) {
			return false;
		}
	}
	return true;
}

static int find_guest(const struct gs_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_guests; i++) {
		if (strcmp(cfg->guests[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static int find_zone(const struct gs_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		if (strcmp(cfg->zones[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* inih calls this for each key; a section is created on its first key.
 * Debian's inih has no line numbers in the handler, so string_reader() counts
 * lines itself (st->line is the line inih is parsing). */
static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct gs_config *cfg = st->cfg;
	int lineno = st->line;

	if (!name) {
		return 1;
	}
	if (strcmp(section, "server") == 0) {
		if (strcmp(name, "control") == 0) {
			if (strlen(value) >= sizeof(cfg->control) || !strchr(value, ':')) {
				return fail(st, "control=%s: expected ADDR:PORT", value);
			}
			snprintf(cfg->control, sizeof(cfg->control), "%s", value);
			return 1;
		}
		if (strcmp(name, "vtest") == 0) {
			/* A unix socket path: sun_path holds 108 bytes with the NUL. */
			if (!*value || strlen(value) >= sizeof(cfg->vtest)) {
				return fail(st, "vtest=%s: expected a socket path shorter than %zu",
					value, sizeof(cfg->vtest));
			}
			snprintf(cfg->vtest, sizeof(cfg->vtest), "%s", value);
			return 1;
		}
		if (strcmp(name, "clock") == 0) {
			if (strcmp(value, "ptp") != 0 && strcmp(value, "free") != 0) {
				return fail(st, "clock=%s: expected ptp or free", value);
			}
			cfg->clock_ptp = strcmp(value, "ptp") == 0;
			return 1;
		}
		if (strcmp(name, "advertise") == 0) {
			if (strcmp(value, "auth") == 0) {
				cfg->advertise = GS_ADVERTISE_AUTH;
			} else if (strcmp(value, "off") == 0) {
				cfg->advertise = GS_ADVERTISE_OFF;
			} else if (strcmp(value, "open") == 0) {
				cfg->advertise = GS_ADVERTISE_OPEN;
			} else {
				return fail(st, "advertise=%s: expected auth, off or open", value);
			}
			return 1;
		}
		if (strcmp(name, "key-file") == 0) {
			if (!*value || strlen(value) >= sizeof(cfg->key_file)) {
				return fail(st, "key-file=%s: expected a file path", value);
			}
			snprintf(cfg->key_file, sizeof(cfg->key_file), "%s", value);
			return 1;
		}
		if (strcmp(name, "render-node") == 0) {
			if (!*value || strlen(value) >= sizeof(cfg->render_node)) {
				return fail(st, "render-node=%s: expected a device path", value);
			}
			snprintf(cfg->render_node, sizeof(cfg->render_node), "%s", value);
			return 1;
		}
		if (strcmp(name, "compose") == 0) {
			if (strcmp(value, "auto") == 0) {
				cfg->compose = GS_COMPOSE_AUTO;
			} else if (strcmp(value, "gl") == 0) {
				cfg->compose = GS_COMPOSE_GL;
			} else if (strcmp(value, "pixman") == 0) {
				cfg->compose = GS_COMPOSE_PIXMAN;
			} else {
				return fail(st, "compose=%s: expected auto, gl or pixman", value);
			}
			return 1;
		}
		return fail(st, "[server]: unknown key '%s'", name);
	}

	const char *sp = strchr(section, ' ');
	if (!sp) {
		return fail(st, "unknown section [%s]", section);
	}
	size_t kind_len = (size_t)(sp - section);
	const char *obj = skip_ws(sp);
	if (!valid_name(obj)) {
		return fail(st, "[%s]: bad name (letters, digits, '-', '_', '.'; < %d chars)",
			section, GS_NAME_MAX);
	}

	if (kind_len == 5 && strncmp(section, "guest", 5) == 0) {
		int gi = find_guest(cfg, obj);
		if (gi < 0) {
			if (cfg->n_guests == GS_MAX_GUESTS) {
				return fail(st, "too many guests (max %d)", GS_MAX_GUESTS);
			}
			gi = (int)cfg->n_guests++;
			snprintf(cfg->guests[gi].name, GS_NAME_MAX, "%s", obj);
		}
		struct gs_guest_config *g = &cfg->guests[gi];
		if (strcmp(name, "vhost-user") == 0) {
			if (!*value || strlen(value) >= sizeof(g->vhost_user)) {
				return fail(st, "vhost-user: bad path");
			}
			snprintf(g->vhost_user, sizeof(g->vhost_user), "%s", value);
			return 1;
		}
		if (strcmp(name, "input") == 0) {
			if (!*value || strlen(value) >= sizeof(g->input)) {
				return fail(st, "input: bad path");
			}
			snprintf(g->input, sizeof(g->input), "%s", value);
			return 1;
		}
		if (strcmp(name, "qemu-ui") == 0) {
			if (strncmp(value, "qmp:", 4) != 0 && strncmp(value, "vnc:", 4) != 0) {
				return fail(st, "qemu-ui=%s: expected qmp:PATH or vnc:PATH[,PATH...]",
					value);
			}
			if (strlen(value) < 5 || strlen(value) >= sizeof(g->qemu_ui)) {
				return fail(st, "qemu-ui: bad path");
			}
			snprintf(g->qemu_ui, sizeof(g->qemu_ui), "%s", value);
			return 1;
		}
		if (strcmp(name, "vtest-app") == 0) {
			size_t n = strlen(value);
			if (n == 0 || n >= sizeof(g->vtest_app)) {
				return fail(st, "vtest-app: expected a process name of 1..%d bytes",
					GS_NAME_MAX - 1);
			}
			snprintf(g->vtest_app, sizeof(g->vtest_app), "%s", value);
			return 1;
		}
		if (strcmp(name, "gl") == 0) {
			if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
				return fail(st, "gl=%s: expected on or off", value);
			}
			g->no_gl = strcmp(value, "off") == 0;
			return 1;
		}
		if (strcmp(name, "quota-mb") == 0) {
			uint32_t mb;
			if (parse_u32(value, 65536, &mb) < 0 || mb == 0) {
				return fail(st, "quota-mb=%s: expected 1..65536", value);
			}
			g->quota_bytes = (uint64_t)mb << 20;
			return 1;
		}
		return fail(st, "[guest %s]: unknown key '%s'", obj, name);
	}

	if (kind_len == 4 && strncmp(section, "zone", 4) == 0) {
		int zi = find_zone(cfg, obj);
		if (zi < 0) {
			if (cfg->n_zones == GS_MAX_ZONES) {
				return fail(st, "too many zones (max %d)", GS_MAX_ZONES);
			}
			zi = (int)cfg->n_zones++;
			snprintf(cfg->zones[zi].name, GS_NAME_MAX, "%s", obj);
			cfg->zones[zi].priority = -1;
			cfg->zones[zi].dscp = -1;
			cfg->zones[zi].pace_pct = GS_PACE_DEFAULT;
		}
		struct gs_zone_config *z = &cfg->zones[zi];
		if (strcmp(name, "mode") == 0) {
			if (gs_parse_mode(value, &z->width, &z->height, &z->refresh_hz) < 0) {
				return fail(st, "mode=%s: expected WxH[@HZ]", value);
			}
			return 1;
		}
		if (strcmp(name, "layer") == 0) {
			if (z->n_layers == COMP_MAX_LAYERS) {
				return fail(st, "[zone %s]: too many layers (max %d)", obj, COMP_MAX_LAYERS);
			}
			struct comp_layer_config *l = &z->layers[z->n_layers];
			struct pending_layer *pl = &st->layer_guest[zi][z->n_layers];
			if (gs_parse_layer(value, pl->guest, sizeof(pl->guest), &l->scanout, &l->x, &l->y,
				&l->width, &l->height) < 0) {
				return fail(st, "layer=%s: expected GUEST:SCANOUT X,Y WxH (scanout 0..15)",
					value);
			}
			pl->line = lineno;
			z->n_layers++;
			return 1;
		}
		if (strcmp(name, "mtu") == 0) {
			if (parse_u32(value, MAX_MTU, &z->mtu) < 0 || z->mtu < MIN_MTU) {
				return fail(st, "mtu=%s: expected %d..%d", value, MIN_MTU, MAX_MTU);
			}
			return 1;
		}
		if (strcmp(name, "priority") == 0) {
			uint32_t v;
			if (parse_u32(value, 7, &v) < 0) {
				return fail(st, "priority=%s: expected 0..7 (SO_PRIORITY)", value);
			}
			z->priority = (int)v;
			return 1;
		}
		if (strcmp(name, "dscp") == 0) {
			int v = gs_parse_dscp(value);
			if (v < 0) {
				return fail(st, "dscp=%s: expected 0..63 or a name (EF, CS0..CS7, "
					"AF11..AF43)", value);
			}
			z->dscp = v;
			return 1;
		}
		if (strcmp(name, "pace") == 0) {
			if (parse_u32(value, 100, &z->pace_pct) < 0) {
				return fail(st, "pace=%s: expected 0..100 (%% of the frame interval)", value);
			}
			return 1;
		}
		if (strcmp(name, "txtime") == 0) {
			if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
				return fail(st, "txtime=%s: expected on or off", value);
			}
			z->txtime = strcmp(value, "on") == 0;
			return 1;
		}
		if (strcmp(name, "codec") == 0) {
			if (strcmp(value, "tiles") == 0) {
				z->codec = GS_CODEC_TILES;
			} else if (strcmp(value, "raw") == 0) {
				z->codec = GS_CODEC_RAW;
			} else if (strcmp(value, "h264") == 0) {
				z->codec = GS_CODEC_H264;
			} else if (strcmp(value, "jpeg") == 0) {
				z->codec = GS_CODEC_JPEG;
			} else {
				return fail(st, "codec=%s: expected tiles, raw, h264 or jpeg", value);
			}
			return 1;
		}
		if (strcmp(name, "max-bitrate") == 0) {
			if (parse_u32(value, 1000000, &z->max_kbps) < 0 || z->max_kbps < 100) {
				return fail(st, "max-bitrate=%s: expected 100..1000000 (kbit/s)", value);
			}
			return 1;
		}
		if (strcmp(name, "sink") == 0) {
			if (strncmp(value, "udp://", 6) != 0 || strlen(value) >= sizeof(z->sink) ||
				!strchr(value + 6, ':')) {
				return fail(st, "sink=%s: expected udp://HOST:PORT", value);
			}
			snprintf(z->sink, sizeof(z->sink), "%s", value);
			return 1;
		}
		return fail(st, "[zone %s]: unknown key '%s'", obj, name);
	}
	return fail(st, "unknown section [%s]", section);
}

static int finish(struct parse_state *st)
{
	struct gs_config *cfg = st->cfg;
	if (!*cfg->control) {
		snprintf(cfg->control, sizeof(cfg->control), "127.0.0.1:7300");
	}
	st->line = 0;
	for (unsigned gi = 0; gi < cfg->n_guests; gi++) {
		struct gs_guest_config *g = &cfg->guests[gi];
		if (!*g->vhost_user == !*g->vtest_app) {
			fail(st, "[guest %s] needs either vhost-user=PATH (a QEMU guest) or "
				"vtest-app=NAME (a host GL app), not %s", g->name,
				*g->vhost_user ? "both" : "neither");
			return -EINVAL;
		}
		if (*g->vtest_app && !*cfg->vtest) {
			fail(st, "[guest %s] vtest-app= needs [server] vtest=PATH", g->name);
			return -EINVAL;
		}
		if (*g->vtest_app && *g->qemu_ui) {
			fail(st, "[guest %s] qemu-ui= is for QEMU guests, not vtest-app=", g->name);
			return -EINVAL;
		}
	}
	if (cfg->n_zones == 0) {
		fail(st, "no [zone NAME] section");
		return -EINVAL;
	}
	for (unsigned zi = 0; zi < cfg->n_zones; zi++) {
		struct gs_zone_config *z = &cfg->zones[zi];
		if (z->width == 0) {
			fail(st, "[zone %s] has no mode=WxH@HZ", z->name);
			return -EINVAL;
		}
		if (z->n_layers == 0) {
			fail(st, "[zone %s] has no layer=", z->name);
			return -EINVAL;
		}
		if (z->mtu == 0) {
			z->mtu = 1500;
		}
		if (*z->sink && z->codec == GS_CODEC_TILES) {
			fail(st, "[zone %s] sink= needs codec=raw, h264 or jpeg (a standard "
				"payload)", z->name);
			return -EINVAL;
		}
		for (unsigned li = 0; li < z->n_layers; li++) {
			struct pending_layer *pl = &st->layer_guest[zi][li];
			int gi = find_guest(cfg, pl->guest);
			if (gi < 0) {
				st->line = pl->line;
				fail(st, "layer names unknown guest '%s'", pl->guest);
				return -EINVAL;
			}
			z->layers[li].guest = (unsigned)gi;
			if (*cfg->guests[gi].vtest_app && z->layers[li].scanout != 0) {
				st->line = pl->line;
				fail(st, "guest '%s' is a vtest app: it has scanout 0 only", pl->guest);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static char *string_reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	if (!*st->text || num < 2) {
		return NULL;
	}
	int i = 0;
	while (i < num - 1 && st->text[i]) {
		char c = st->text[i++];
		if (c == '\n') {
			break;
		}
	}
	memcpy(str, st->text, (size_t)i);
	str[i] = '\0';
	st->text += i;
	st->line++;
	return str;
}

int gs_config_parse(struct gs_config *cfg, const char *text, char *err, size_t err_len)
{
	memset(cfg, 0, sizeof(*cfg));
	struct parse_state *st = calloc(1, sizeof(*st));
	if (!st) {
		return -ENOMEM;
	}
	st->cfg = cfg;
	st->err = err;
	st->err_len = err_len;
	st->text = text;
	int r = ini_parse_stream(string_reader, st, handler, st);
	int ret;
	if (st->failed) {
		ret = -EINVAL;
	} else if (r != 0) {
		st->line = r;
		fail(st, "syntax error");
		ret = -EINVAL;
	} else {
		ret = finish(st);
	}
	free(st);
	return ret;
}

int gs_config_load(struct gs_config *cfg, const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	char *text = NULL;
	size_t len = 0;
	char buf[4096];
	size_t n;
	int ret = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n > (1u << 20)) {
			snprintf(err, err_len, "%s: larger than 1 MiB", path);
			ret = -EFBIG;
			goto out;
		}
		char *nt = realloc(text, len + n + 1);
		if (!nt) {
			ret = -ENOMEM;
			goto out;
		}
		text = nt;
		memcpy(text + len, buf, n);
		len += n;
	}
	if (!text) {
		text = strdup("");
		if (!text) {
			ret = -ENOMEM;
			goto out;
		}
	}
	text[len] = '\0';
	char inner[256];
	ret = gs_config_parse(cfg, text, inner, sizeof(inner));
	if (ret < 0) {
		snprintf(err, err_len, "%s: %s", path, inner);
	}
out:
	free(text);
	fclose(f);
	return ret;
}
