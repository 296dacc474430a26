/* SPDX-License-Identifier: MIT */
/* The project's GL scene (see gles-scene.h). GLES2 only, no window system:
 * the caller makes a context current. */
#include "gles-scene.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* RGB, left to right; guest/pattern.c and tools/check-pattern have the same table. */
static const float bar_colours[8][3] = {
	{ 1, 1, 1 }, /* white */
	{ 1, 1, 0 }, /* yellow */
	{ 0, 1, 1 }, /* cyan */
	{ 0, 1, 0 }, /* green */
	{ 1, 0, 1 }, /* magenta */
	{ 1, 0, 0 }, /* red */
	{ 0, 0, 1 }, /* blue */
	{ 0, 0, 0 }, /* black */
};

static GLuint compile(GLenum type, const char *src, const char *who)
{
	GLuint s = glCreateShader(type);
	GLint ok = 0;

	glShaderSource(s, 1, &src, NULL);
	glCompileShader(s);
	glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		char log[512] = "";

		glGetShaderInfoLog(s, sizeof(log), NULL, log);
		fprintf(stderr, "%s: shader compile failed: %s\n", who, log);
		glDeleteShader(s);
		return 0;
	}
	return s;
}

GLuint gles_program(const char *vs, const char *fs, const char *who)
{
	GLuint v = compile(GL_VERTEX_SHADER, vs, who), f = compile(GL_FRAGMENT_SHADER, fs, who), p = 0;
	GLint ok = 0;

	if (v && f) {
		p = glCreateProgram();
		glAttachShader(p, v);
		glAttachShader(p, f);
		glLinkProgram(p);
		glGetProgramiv(p, GL_LINK_STATUS, &ok);
		if (!ok) {
			fprintf(stderr, "%s: program link failed\n", who);
			glDeleteProgram(p);
			p = 0;
		}
	}
	if (v) {
		glDeleteShader(v);
	}
	if (f) {
		glDeleteShader(f);
	}
	return p;
}

int gles_scene_init(struct gles_scene *app)
{
	static const char *vs =
		"uniform mat4 mvp;\n"
		"uniform mat3 nrot;\n"
		"attribute vec3 pos;\n"
		"attribute vec3 normal;\n"
		"varying float light;\n"
		"void main() {\n"
		"  vec3 n = normalize(nrot * normal);\n"
		"  light = 0.25 + 0.75 * max(dot(n, normalize(vec3(0.4, 0.6, 1.0))), 0.0);\n"
		"  gl_Position = mvp * vec4(pos, 1.0);\n"
		"}\n";
	static const char *fs =
		"precision mediump float;\n"
		"varying float light;\n"
		"void main() { gl_FragColor = vec4(vec3(1.0, 0.55, 0.1) * light, 1.0); }\n";
	app->prog = gles_program(vs, fs, "gles-scene");
	if (!app->prog) {
		return -EINVAL;
	}
	app->u_mvp = glGetUniformLocation(app->prog, "mvp");
	app->u_normal_rot = glGetUniformLocation(app->prog, "nrot");
	app->a_pos = glGetAttribLocation(app->prog, "pos");
	app->a_normal = glGetAttribLocation(app->prog, "normal");
	return 0;
}

/* Column-major 4x4: out = a * b */
static void mat_mul(float *out, const float *a, const float *b)
{
	float r[16];

	for (int c = 0; c < 4; c++) {
		for (int row = 0; row < 4; row++) {
			float s = 0;

			for (int k = 0; k < 4; k++) {
				s += a[k * 4 + row] * b[c * 4 + k];
			}
			r[c * 4 + row] = s;
		}
	}
	memcpy(out, r, sizeof(r));
}

static void draw_cube(struct gles_scene *app, int x0, int bw, int h, uint64_t frame)
{
	/* 6 faces x 2 triangles, counter-clockwise from outside: pos, normal */
	static const float face_n[6][3] = {
		{ 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 },
	};
	float verts[36 * 6];
	int nv = 0;
	float a = (float)frame * 0.05f, b = (float)frame * 0.031f;
	float ca = cosf(a), sa = sinf(a), cb = cosf(b), sb = sinf(b);
	float rot_y[16] = { ca, 0, -sa, 0, 0, 1, 0, 0, sa, 0, ca, 0, 0, 0, 0, 1 };
	float rot_x[16] = { 1, 0, 0, 0, 0, cb, sb, 0, 0, -sb, cb, 0, 0, 0, 0, 1 };
	float model[16], mvp[16], nrot[9];
	float aspect = (float)bw / (float)(h > 0 ? h : 1);
	float n = 1.0f, fr = 10.0f, t = 0.5f;
	/* The whole cube fits the narrower side of the (tall, thin) black bar. */
	float sx = aspect >= 1 ? n / (t * aspect) : n / t;
	float sy = aspect >= 1 ? n / t : n * aspect / t;
	float proj[16] = {
		sx, 0, 0, 0,
		0, sy, 0, 0,
		0, 0, -(fr + n) / (fr - n), -1,
		0, 0, -2 * fr * n / (fr - n), 0,
	};
	float view[16] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, -4.0f, 1 };

	for (int f = 0; f < 6; f++) {
		const float *fn = face_n[f];
		/* two axes spanning the face, u x v = n so the winding is CCW */
		float u[3], v[3];
		int ax = fn[0] != 0 ? 0 : fn[1] != 0 ? 1 : 2;
		int ua = (ax + 1) % 3, va = (ax + 2) % 3;
		float sgn = fn[ax];
		static const int corner[6][2] = { { -1, -1 }, { 1, -1 }, { 1, 1 }, { -1, -1 }, { 1, 1 }, { -1, 1 } };

		memset(u, 0, sizeof(u));
		memset(v, 0, sizeof(v));
		u[ua] = 1;
		v[va] = sgn;
		for (int k = 0; k < 6; k++) {
			float *p = &verts[nv * 6];

			for (int i = 0; i < 3; i++) {
				p[i] = fn[i] + (float)corner[k][0] * u[i] + (float)corner[k][1] * v[i];
				p[3 + i] = fn[i];
			}
			nv++;
		}
	}

	mat_mul(model, rot_y, rot_x);
	mat_mul(mvp, view, model);
	mat_mul(mvp, proj, mvp);
	for (int c = 0; c < 3; c++) {
		for (int r = 0; r < 3; r++) {
			nrot[c * 3 + r] = model[c * 4 + r];
		}
	}

	glViewport(x0, 0, bw, h);
	glEnable(GL_CULL_FACE);
	glCullFace(GL_BACK);
	glFrontFace(GL_CCW);
	glUseProgram(app->prog);
	glUniformMatrix4fv(app->u_mvp, 1, GL_FALSE, mvp);
	glUniformMatrix3fv(app->u_normal_rot, 1, GL_FALSE, nrot);
	glBindBuffer(GL_ARRAY_BUFFER, 0);
	glVertexAttribPointer((GLuint)app->a_pos, 3, GL_FLOAT, GL_FALSE, 6 * sizeof(float), verts);
	glVertexAttribPointer((GLuint)app->a_normal, 3, GL_FLOAT, GL_FALSE, 6 * sizeof(float), verts + 3);
	glEnableVertexAttribArray((GLuint)app->a_pos);
	glEnableVertexAttribArray((GLuint)app->a_normal);
	glDrawArrays(GL_TRIANGLES, 0, nv);
	glDisableVertexAttribArray((GLuint)app->a_pos);
	glDisableVertexAttribArray((GLuint)app->a_normal);
}

void gles_scene_draw(struct gles_scene *app, int w, int h, uint64_t frame)
{

	glDisable(GL_DITHER); /* exact colours */
	glEnable(GL_SCISSOR_TEST);
	for (int i = 0; i < 8; i++) {
		int x0 = i * w / 8, x1 = (i + 1) * w / 8;

		glScissor(x0, 0, x1 - x0, h);
		glClearColor(bar_colours[i][0], bar_colours[i][1], bar_colours[i][2], 1.0f);
		glClear(GL_COLOR_BUFFER_BIT);
	}
	/* The scissor stays on the black bar: the cube cannot touch another bar. */
	draw_cube(app, 7 * w / 8, w - 7 * w / 8, h, frame);
}

void gles_scene_finish(struct gles_scene *app)
{
	if (app->prog) {
		glDeleteProgram(app->prog);
		app->prog = 0;
	}
}
