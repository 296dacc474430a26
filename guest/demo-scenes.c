/* SPDX-License-Identifier: MIT */
/* The scenes of `make demo` (see demo-scenes.h): flat-shaded 2D geometry,
 * batched into one vertex array and drawn with one call, plus a plasma
 * fragment shader for the movie. */
#include "demo-scenes.h"
#include "gles-scene.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define PI 3.14159265358979f
#define VERTS_MAX 65536u

struct rgba {
	float r, g, b, a;
};

static const struct rgba WHITE = { 0.92f, 0.94f, 0.97f, 1 };
static const struct rgba DIM = { 0.16f, 0.18f, 0.22f, 1 };

int demo_gl_init(struct demo_gl *d)
{
	static const char *flat_vs =
		"uniform vec2 size;\n"
		"attribute vec2 pos;\n"
		"attribute vec4 col;\n"
		"varying vec4 c;\n"
		"void main() {\n"
		"  c = col;\n"
		"  gl_Position = vec4(pos.x / size.x * 2.0 - 1.0, 1.0 - pos.y / size.y * 2.0, 0.0, 1.0);\n"
		"}\n";
	static const char *flat_fs =
		"precision mediump float;\n"
		"varying vec4 c;\n"
		"void main() { gl_FragColor = c; }\n";
	static const char *plasma_vs =
		"attribute vec2 pos;\n"
		"varying vec2 uv;\n"
		"void main() { uv = pos * vec2(1.6, 1.0); gl_Position = vec4(pos, 0.0, 1.0); }\n";
	static const char *plasma_fs =
		"precision mediump float;\n"
		"uniform float t;\n"
		"varying vec2 uv;\n"
		"void main() {\n"
		"  float v = sin(uv.x * 3.0 + t) + sin((uv.y * 4.0 - t * 0.7))\n"
		"          + sin(length(uv - vec2(sin(t * 0.3), cos(t * 0.4))) * 6.0 - t * 1.3);\n"
		"  gl_FragColor = vec4(0.5 + 0.5 * sin(v + vec3(0.0, 2.1, 4.2)) * vec3(0.9, 0.7, 1.0), 1.0);\n"
		"}\n";

	d->flat = gles_program(flat_vs, flat_fs, "demo-scenes");
	d->plasma = gles_program(plasma_vs, plasma_fs, "demo-scenes");
	if (!d->flat || !d->plasma) {
		return -EINVAL;
	}
	d->f_pos = glGetAttribLocation(d->flat, "pos");
	d->f_col = glGetAttribLocation(d->flat, "col");
	d->f_size = glGetUniformLocation(d->flat, "size");
	d->p_pos = glGetAttribLocation(d->plasma, "pos");
	d->p_time = glGetUniformLocation(d->plasma, "t");
	d->cap = VERTS_MAX;
	d->n = 0;
	d->v = malloc(sizeof(float) * 6 * d->cap);
	return d->v ? 0 : -ENOMEM;
}

void demo_gl_finish(struct demo_gl *d)
{
	if (d->flat) {
		glDeleteProgram(d->flat);
	}
	if (d->plasma) {
		glDeleteProgram(d->plasma);
	}
	free(d->v);
	d->v = NULL;
	d->flat = d->plasma = 0;
}

/* ---- the batch ---- */

static void vert(struct demo_gl *d, float x, float y, struct rgba c)
{
	float *p;

	if (d->n >= d->cap) {
		return; /* a scene bigger than the batch loses its last shapes, visibly */
	}
	p = &d->v[6 * d->n++];
	p[0] = x;
	p[1] = y;
	p[2] = c.r;
	p[3] = c.g;
	p[4] = c.b;
	p[5] = c.a;
}

static void tri(struct demo_gl *d, float x0, float y0, float x1, float y1, float x2, float y2,
	struct rgba c)
{
	vert(d, x0, y0, c);
	vert(d, x1, y1, c);
	vert(d, x2, y2, c);
}

/* A rectangle whose top and bottom edges have their own colours. */
static void rect2(struct demo_gl *d, float x, float y, float w, float h, struct rgba top,
	struct rgba bottom)
{
	vert(d, x, y, top);
	vert(d, x + w, y, top);
	vert(d, x, y + h, bottom);
	vert(d, x + w, y, top);
	vert(d, x + w, y + h, bottom);
	vert(d, x, y + h, bottom);
}

static void rect(struct demo_gl *d, float x, float y, float w, float h, struct rgba c)
{
	rect2(d, x, y, w, h, c, c);
}

static void line(struct demo_gl *d, float x0, float y0, float x1, float y1, float width,
	struct rgba c)
{
	float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
	float nx, ny;

	if (len <= 0) {
		return;
	}
	nx = -dy / len * width / 2;
	ny = dx / len * width / 2;
	tri(d, x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, c);
	tri(d, x0 + nx, y0 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny, c);
}

/* The ring between radii r0 and r1 from angle a0 to a1 (radians,
 * counter-clockwise on screen, 0 pointing right). */
static void arc(struct demo_gl *d, float cx, float cy, float r0, float r1, float a0, float a1,
	struct rgba c)
{
	int segs = (int)(fabsf(a1 - a0) / (2 * PI) * 72) + 2;

	for (int i = 0; i < segs; i++) {
		float b0 = a0 + (a1 - a0) * (float)i / (float)segs;
		float b1 = a0 + (a1 - a0) * (float)(i + 1) / (float)segs;
		float c0 = cosf(b0), s0 = -sinf(b0), c1 = cosf(b1), s1 = -sinf(b1);

		tri(d, cx + r0 * c0, cy + r0 * s0, cx + r1 * c0, cy + r1 * s0, cx + r1 * c1, cy + r1 * s1, c);
		if (r0 > 0) {
			tri(d, cx + r0 * c0, cy + r0 * s0, cx + r1 * c1, cy + r1 * s1, cx + r0 * c1,
				cy + r0 * s1, c);
		}
	}
}

static void disc(struct demo_gl *d, float cx, float cy, float r, struct rgba c)
{
	arc(d, cx, cy, 0, r, 0, 2 * PI, c);
}

/* A seven-segment digit, h tall, h/2 wide, top-left at (x, y). */
static void digit(struct demo_gl *d, float x, float y, float h, int n, struct rgba on)
{
	/* segments a..g as bits 0..6 */
	static const unsigned char seg[10] = { 0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f };
	float w = h / 2, t = h / 9, m = y + h / 2 - t / 2;
	unsigned s = seg[(unsigned)n % 10];

	struct {
		float x, y, w, h;
	} r[7] = {
		{ x + t, y, w - 2 * t, t },          /* a */
		{ x + w - t, y + t, t, h / 2 - t * 1.5f }, /* b */
		{ x + w - t, m + t, t, h / 2 - t * 1.5f }, /* c */
		{ x + t, y + h - t, w - 2 * t, t },  /* d */
		{ x, m + t, t, h / 2 - t * 1.5f },   /* e */
		{ x, y + t, t, h / 2 - t * 1.5f },   /* f */
		{ x + t, m, w - 2 * t, t },          /* g */
	};
	for (int i = 0; i < 7; i++) {
		rect(d, r[i].x, r[i].y, r[i].w, r[i].h, (s >> i) & 1 ? on : DIM);
	}
}

/* A right-aligned number of 'digits' digits ending at x_right. */
static void number(struct demo_gl *d, float x_right, float y, float h, unsigned v, int digits,
	struct rgba on)
{
	float step = h * 0.62f;

	for (int i = 0; i < digits; i++) {
		digit(d, x_right - step * (float)(i + 1), y, h, (int)(v % 10), on);
		v /= 10;
	}
}

static void flush(struct demo_gl *d)
{
	if (!d->n) {
		return;
	}
	glUseProgram(d->flat);
	glUniform2f(d->f_size, d->w, d->h);
	glBindBuffer(GL_ARRAY_BUFFER, 0);
	glVertexAttribPointer((GLuint)d->f_pos, 2, GL_FLOAT, GL_FALSE, 6 * sizeof(float), d->v);
	glVertexAttribPointer((GLuint)d->f_col, 4, GL_FLOAT, GL_FALSE, 6 * sizeof(float), d->v + 2);
	glEnableVertexAttribArray((GLuint)d->f_pos);
	glEnableVertexAttribArray((GLuint)d->f_col);
	glDrawArrays(GL_TRIANGLES, 0, (GLsizei)d->n);
	glDisableVertexAttribArray((GLuint)d->f_pos);
	glDisableVertexAttribArray((GLuint)d->f_col);
	d->n = 0;
}

static struct rgba mix(struct rgba a, struct rgba b, float k)
{
	return (struct rgba){ a.r + (b.r - a.r) * k, a.g + (b.g - a.g) * k, a.b + (b.b - a.b) * k,
		a.a + (b.a - a.a) * k };
}

static float fract(float x)
{
	return x - floorf(x);
}

/* ---- cluster ---- */

/* A round gauge: value v in [0,1] sweeps 270 degrees clockwise from the bottom left. */
static void gauge(struct demo_gl *d, float cx, float cy, float r, float v, float red_from,
	struct rgba lit)
{
	const float a0 = 1.25f * PI, sweep = 1.5f * PI;
	float av = a0 - sweep * v;

	arc(d, cx, cy, r * 0.97f, r, a0 - sweep, a0, (struct rgba){ 0.30f, 0.33f, 0.38f, 1 });
	arc(d, cx, cy, r * 0.86f, r * 0.93f, a0 - sweep, a0, (struct rgba){ 0.08f, 0.10f, 0.13f, 1 });
	arc(d, cx, cy, r * 0.86f, r * 0.93f, a0 - sweep * red_from, a0 - sweep,
		(struct rgba){ 0.35f, 0.05f, 0.05f, 1 });
	arc(d, cx, cy, r * 0.86f, r * 0.93f, av, a0, lit);
	for (int i = 0; i <= 50; i++) {
		float a = a0 - sweep * (float)i / 50, c = cosf(a), s = -sinf(a);
		bool major = i % 5 == 0;
		float ri = major ? r * 0.74f : r * 0.80f;

		line(d, cx + ri * c, cy + ri * s, cx + r * 0.84f * c, cy + r * 0.84f * s, major ? 4 : 2,
			major ? WHITE : (struct rgba){ 0.5f, 0.55f, 0.6f, 1 });
	}
	/* the needle: a long thin triangle and a short tail */
	{
		float c = cosf(av), s = -sinf(av), nx = -s, ny = c, bw = r * 0.035f;

		tri(d, cx + nx * bw, cy + ny * bw, cx + c * r * 0.9f, cy + s * r * 0.9f, cx - nx * bw,
			cy - ny * bw, (struct rgba){ 1.0f, 0.32f, 0.08f, 1 });
		tri(d, cx + nx * bw, cy + ny * bw, cx - nx * bw, cy - ny * bw, cx - c * r * 0.15f,
			cy - s * r * 0.15f, (struct rgba){ 0.8f, 0.25f, 0.06f, 1 });
	}
	disc(d, cx, cy, r * 0.09f, (struct rgba){ 0.22f, 0.24f, 0.28f, 1 });
	disc(d, cx, cy, r * 0.05f, (struct rgba){ 0.05f, 0.05f, 0.06f, 1 });
}

static void telltale(struct demo_gl *d, int kind, float x, float y, float s, bool on)
{
	static const struct rgba colour[6] = {
		{ 0.1f, 0.9f, 0.3f, 1 }, { 0.1f, 0.9f, 0.3f, 1 }, { 0.2f, 0.45f, 1.0f, 1 },
		{ 1.0f, 0.7f, 0.0f, 1 }, { 0.95f, 0.15f, 0.1f, 1 }, { 0.95f, 0.15f, 0.1f, 1 },
	};
	struct rgba c = on ? colour[kind] : DIM;

	switch (kind) {
	case 0: /* left turn */
		tri(d, x - s / 2, y, x, y - s / 2, x, y + s / 2, c);
		rect(d, x, y - s / 6, s / 2, s / 3, c);
		break;
	case 1: /* right turn */
		tri(d, x + s / 2, y, x, y + s / 2, x, y - s / 2, c);
		rect(d, x - s / 2, y - s / 6, s / 2, s / 3, c);
		break;
	case 2: /* high beam */
		arc(d, x - s / 8, y, 0, s / 3, -PI / 2, PI / 2, c);
		for (int i = -2; i <= 2; i++) {
			line(d, x - s / 4, y + (float)i * s / 7, x - s / 2, y + (float)i * s / 7, s / 14, c);
		}
		break;
	case 3: /* engine */
		rect(d, x - s / 2.5f, y - s / 4, s * 0.8f, s / 2, c);
		rect(d, x - s / 5, y - s / 2.4f, s / 2.5f, s / 6, c);
		break;
	case 4: /* battery */
		rect(d, x - s / 2, y - s / 3, s, s * 0.66f, c);
		rect(d, x - s / 3, y - s / 2.3f, s / 6, s / 10, c);
		rect(d, x + s / 6, y - s / 2.3f, s / 6, s / 10, c);
		break;
	default: /* seat belt: a warning triangle */
		tri(d, x, y - s / 2, x + s / 2, y + s / 2.4f, x - s / 2, y + s / 2.4f, c);
		rect(d, x - s / 24, y - s / 6, s / 12, s / 3.5f, (struct rgba){ 0, 0, 0, 1 });
		break;
	}
}

static void draw_cluster(struct demo_gl *d, float w, float h, double t)
{
	float r = fminf(w * 0.19f, h * 0.40f);
	float lx = w * 0.27f, rx = w * 0.73f, cy = h * 0.55f;
	float speed = 0.45f + 0.32f * sinf((float)t * 0.55f) + 0.08f * sinf((float)t * 1.9f);
	float gear_phase = fract((float)t * 0.3f);
	unsigned gear = 1 + (unsigned)(t * 0.3) % 6;
	float rpm = 0.25f + 0.55f * gear_phase + 0.02f * sinf((float)t * 9.0f);
	bool blink = fract((float)t * 1.4f) < 0.5f;
	float fuel = 0.75f - 0.5f * fract((float)t / 90.0f), temp = 0.55f + 0.1f * sinf((float)t * 0.2f);

	rect2(d, 0, 0, w, h, (struct rgba){ 0.04f, 0.06f, 0.11f, 1 }, (struct rgba){ 0.0f, 0.0f, 0.02f, 1 });
	gauge(d, lx, cy, r, speed, 0.85f, (struct rgba){ 0.1f, 0.6f, 1.0f, 1 });
	gauge(d, rx, cy, r, rpm, 0.78f, (struct rgba){ 0.2f, 0.85f, 0.6f, 1 });
	number(d, lx + r * 0.28f, cy + r * 0.28f, r * 0.24f, (unsigned)(speed * 220), 3, WHITE);
	number(d, rx + r * 0.07f, cy + r * 0.28f, r * 0.24f, gear, 1, (struct rgba){ 1.0f, 0.7f, 0.1f, 1 });
	/* fuel and temperature between the gauges */
	for (int i = 0; i < 2; i++) {
		float bx = w * 0.5f + (i ? w * 0.018f : -w * 0.018f) - 9, by = cy - r * 0.6f, bh = r * 1.2f;
		float level = i ? temp : fuel;

		rect(d, bx, by, 18, bh, DIM);
		rect(d, bx + 3, by + bh * (1 - level), 12, bh * level,
			i ? mix((struct rgba){ 0.2f, 0.6f, 1, 1 }, (struct rgba){ 1, 0.2f, 0.1f, 1 }, temp) :
			    (struct rgba){ 0.9f, 0.9f, 0.9f, 1 });
	}
	/* the tell-tales: turn signals blink, the others come and go */
	for (int i = 0; i < 6; i++) {
		float x = w * 0.5f + ((float)i - 2.5f) * h * 0.09f, y = h * 0.09f;
		bool on = i == 0 ? blink && fract((float)t / 12) < 0.5f :
			  i == 1 ? blink && fract((float)t / 12) >= 0.5f :
				   fract((float)t / 7.0f + (float)i * 0.23f) < 0.3f;

		telltale(d, i, x, y, h * 0.06f, on);
	}
	/* the odometer line under the gauges */
	number(d, w * 0.5f + h * 0.12f, h * 0.90f, h * 0.05f, 12000 + (unsigned)(t * 0.8), 6,
		(struct rgba){ 0.6f, 0.65f, 0.7f, 1 });
	flush(d);
}

/* ---- media panel ---- */

static void draw_media(struct demo_gl *d, float w, float h, double t)
{
	float art = fminf(w * 0.62f, h * 0.45f), ax = (w - art) / 2, ay = h * 0.07f;
	float hue = (float)t * 0.15f;
	struct rgba c0 = { 0.5f + 0.5f * sinf(hue), 0.3f, 0.5f + 0.5f * cosf(hue), 1 };
	struct rgba c1 = { 0.2f, 0.5f + 0.5f * sinf(hue + 2), 0.6f, 1 };
	float rcx = ax + art / 2, rcy = ay + art / 2, rr = art * 0.36f;
	float progress = fract((float)t / 40.0f);

	rect2(d, 0, 0, w, h, (struct rgba){ 0.12f, 0.05f, 0.18f, 1 }, (struct rgba){ 0.02f, 0.01f, 0.04f, 1 });
	rect2(d, ax, ay, art, art, c0, c1);
	/* the record turns: grooves as alternating sectors */
	for (int i = 0; i < 12; i++) {
		float a = (float)i * PI / 6 - (float)t * 1.2f;

		arc(d, rcx, rcy, rr * 0.25f, rr, a, a + PI / 6,
			i % 2 ? (struct rgba){ 0.05f, 0.05f, 0.06f, 1 } : (struct rgba){ 0.12f, 0.12f, 0.14f, 1 });
	}
	disc(d, rcx, rcy, rr * 0.25f, (struct rgba){ 0.9f, 0.35f, 0.2f, 1 });
	disc(d, rcx, rcy, rr * 0.04f, (struct rgba){ 0, 0, 0, 1 });
	/* title and artist as bars */
	rect(d, w * 0.15f, ay + art + h * 0.05f, w * 0.7f, h * 0.025f, WHITE);
	rect(d, w * 0.25f, ay + art + h * 0.095f, w * 0.5f, h * 0.018f, (struct rgba){ 0.6f, 0.55f, 0.7f, 1 });
	/* progress */
	{
		float py = ay + art + h * 0.16f, px = w * 0.1f, pw = w * 0.8f;

		rect(d, px, py, pw, 6, DIM);
		rect(d, px, py, pw * progress, 6, (struct rgba){ 0.95f, 0.4f, 0.6f, 1 });
		disc(d, px + pw * progress, py + 3, 9, WHITE);
	}
	/* transport buttons */
	{
		float by = ay + art + h * 0.25f, s = h * 0.045f;

		tri(d, w * 0.3f, by, w * 0.3f + s, by - s, w * 0.3f + s, by + s, WHITE);
		rect(d, w * 0.3f - s * 0.3f, by - s, s * 0.25f, 2 * s, WHITE);
		disc(d, w * 0.5f, by, s * 1.4f, (struct rgba){ 0.95f, 0.4f, 0.6f, 1 });
		rect(d, w * 0.5f - s * 0.45f, by - s * 0.6f, s * 0.3f, s * 1.2f, WHITE);
		rect(d, w * 0.5f + s * 0.15f, by - s * 0.6f, s * 0.3f, s * 1.2f, WHITE);
		tri(d, w * 0.7f, by, w * 0.7f - s, by - s, w * 0.7f - s, by + s, WHITE);
		rect(d, w * 0.7f + s * 0.05f, by - s, s * 0.25f, 2 * s, WHITE);
	}
	/* spectrum */
	for (int i = 0; i < 16; i++) {
		float bw = w * 0.8f / 16, x = w * 0.1f + (float)i * bw;
		float level = 0.15f + 0.85f * fabsf(sinf((float)t * (2.1f + 0.37f * (float)i) + (float)i) *
							  cosf((float)t * 0.7f + (float)i * 0.5f));
		float bh = h * 0.16f * level, base = h * 0.97f;

		rect2(d, x + 2, base - bh, bw - 4, bh, (struct rgba){ 0.95f, 0.4f, 0.6f, 1 },
			(struct rgba){ 0.3f, 0.2f, 0.9f, 1 });
	}
	flush(d);
}

/* ---- movie ---- */

static void draw_movie(struct demo_gl *d, float w, float h, double t)
{
	static const float quad[8] = { -1, -1, 1, -1, -1, 1, 1, 1 };
	float bx = (0.5f + 0.4f * sinf((float)t * 0.7f)) * w, by = (0.45f + 0.3f * cosf((float)t * 0.9f)) * h;

	glUseProgram(d->plasma);
	glUniform1f(d->p_time, (float)t);
	glBindBuffer(GL_ARRAY_BUFFER, 0);
	glVertexAttribPointer((GLuint)d->p_pos, 2, GL_FLOAT, GL_FALSE, 0, quad);
	glEnableVertexAttribArray((GLuint)d->p_pos);
	glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
	glDisableVertexAttribArray((GLuint)d->p_pos);
	/* a bouncing ball and the player bar over the picture */
	disc(d, bx, by, h * 0.08f, (struct rgba){ 1, 1, 1, 1 });
	disc(d, bx - h * 0.02f, by - h * 0.02f, h * 0.03f, (struct rgba){ 0.85f, 0.9f, 1, 1 });
	rect2(d, 0, h * 0.86f, w, h * 0.14f, (struct rgba){ 0, 0, 0, 1 }, (struct rgba){ 0.05f, 0.05f, 0.08f, 1 });
	rect(d, w * 0.05f, h * 0.92f, w * 0.9f, 6, DIM);
	rect(d, w * 0.05f, h * 0.92f, w * 0.9f * fract((float)t / 60), 6, (struct rgba){ 0.2f, 0.7f, 1, 1 });
	number(d, w * 0.95f, h * 0.875f, h * 0.035f, (unsigned)t % 60 + (unsigned)t / 60 * 100, 4, WHITE);
	flush(d);
}

void demo_draw(struct demo_gl *d, enum demo_scene scene, int w, int h, double t)
{
	d->w = (float)w;
	d->h = (float)h;
	d->n = 0;
	glViewport(0, 0, w, h);
	glDisable(GL_SCISSOR_TEST);
	glDisable(GL_CULL_FACE);
	glDisable(GL_DEPTH_TEST);
	glDisable(GL_BLEND);
	switch (scene) {
	case DEMO_CLUSTER:
		draw_cluster(d, (float)w, (float)h, t);
		break;
	case DEMO_MEDIA:
		draw_media(d, (float)w, (float)h, t);
		break;
	case DEMO_MOVIE:
		draw_movie(d, (float)w, (float)h, t);
		break;
	}
}
