/* SPDX-License-Identifier: MIT */
/* The GL renderer of a zone: compositor.c keeps geometry and damage; this
 * file makes the pixels, through the zone's impl hooks.
 *
 * The frame lives in an RGBA8UI texture of the zone's size, rows top-down
 * (zone row y is framebuffer row y), bytes laid out as the x8r8g8b8 zone
 * image, so a readback is one glReadPixels per damaged box into that image.
 *
 * A layer is one draw, scissored to the part of a damaged box it covers; its
 * fragment shader computes the very integers pixman computes: a 1:1 layer
 * copies texels; a scaled one samples at pixman's 16.16 positions and
 * interpolates with pixman's 7-bit bilinear weights, truncating as pixman
 * does; the cursor is sampled the same way (transparent outside) and
 * composed OVER with pixman's rounding. So a GL zone's frame equals a pixman
 * zone's bit for bit (tests/compositor/test-comp-gl.c holds it to that).
 *
 * Sources with a GL texture (a virgl resource) are sampled where they lie.
 * Others (2D guests, vtest frames) are uploaded: the scanout rectangle into
 * a texture of the source, then only its damage. */
#include "compositor/gl-compose.h"
#include "compositor/compositor-private.h"

#include <stdlib.h>

#include <epoxy/gl.h>

#include "util/log.h"

struct gl_source {
	GLuint upload;          /* our copy of an image source; 0: none yet */
	uint32_t upload_w, upload_h;
	GLuint cursor;
	/* What the layers sample: gl_texture or upload. */
	GLuint tex;
	bool ok;                /* tex holds the scanout rectangle */
	GLint origin_x, origin_y; /* texel of the rectangle's top-left */
	GLint flip_h;           /* 0, or the texture height when its rows are bottom-up */
};

struct gl_program {
	GLuint id;
	/* -1 where the program has no such uniform (glUniform ignores it). */
	GLint layer, src_origin, src_size, flip_h, scaled, scale;
	GLint cursor, cursor_pos, cursor_box;
};

enum { PROG_COPY, PROG_EXACT, N_PROGS };

struct gl_zone {
	const struct comp_gl_engine *engine;
	/* copy: a 1:1 layer without cursor (the common case; cheap enough
	 * for llvmpipe); exact: everything, in pixman's integer math. */
	struct gl_program progs[N_PROGS];
	GLuint vao, sampler, fbo, frame;
	struct gl_source sources[COMP_MAX_LAYERS];
};

static const char *vs_src =
	"#version 330 core\n"
	"void main() {\n"
	"	vec2 p = vec2(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID & 2) * 2 - 1));\n"
	"	gl_Position = vec4(p, 0.0, 1.0);\n"
	"}\n";

/* 1:1: texels as they are (unorm8 to float and back is exact). */
static const char *fs_copy_src =
	"#version 330 core\n"
	"uniform sampler2D u_src;\n"
	"uniform ivec2 u_layer, u_src_origin;\n"
	"uniform int u_flip_h;\n"
	"out vec4 o;\n"
	"void main() {\n"
	"	ivec2 t = u_src_origin + ivec2(gl_FragCoord.xy) - u_layer;\n"
	"	if (u_flip_h > 0) t.y = u_flip_h - 1 - t.y;\n"
	"	o = vec4(texelFetch(u_src, t, 0).rgb, 1.0);\n"
	"}\n";

/* Integer math throughout; uint where pixman's int32 arithmetic may wrap in
 * intermediate products (the results fit, see compositor.c). */
static const char *fs_src =
	"#version 330 core\n"
	"uniform sampler2D u_src;\n"
	"uniform sampler2D u_cursor_tex;\n"
	"uniform ivec2 u_layer, u_src_origin, u_src_size, u_scale, u_cursor_pos;\n"
	"uniform int u_flip_h;\n"
	"uniform bool u_scaled, u_cursor;\n"
	"uniform ivec4 u_cursor_box;\n"
	"out vec4 o;\n"
	"uvec4 src_texel(ivec2 p) {\n"
	"	p = clamp(p, ivec2(0), u_src_size - 1); /* PAD repeat */\n"
	"	ivec2 t = u_src_origin + p;\n"
	"	if (u_flip_h > 0) t.y = u_flip_h - 1 - t.y;\n"
	"	return uvec4(round(texelFetch(u_src, t, 0) * 255.0));\n"
	"}\n"
	"uvec4 cursor_texel(ivec2 p) {\n"
	"	if (any(lessThan(p, ivec2(0))) || any(greaterThanEqual(p, ivec2(64))))\n"
	"		return uvec4(0u); /* NONE repeat: transparent */\n"
	"	return uvec4(round(texelFetch(u_cursor_tex, p, 0) * 255.0));\n"
	"}\n"
	/* pixman_fixed_to_bilinear_weight() and bilinear_interpolation() with
	 * BILINEAR_INTERPOLATION_BITS 7. */
	"uvec4 lerp2(uvec4 tl, uvec4 tr, uvec4 bl, uvec4 br, ivec2 p) {\n"
	"	uint wx = uint((p.x >> 9) & 0x7f) << 1, wy = uint((p.y >> 9) & 0x7f) << 1;\n"
	"	return (tl * ((256u - wx) * (256u - wy)) + tr * (wx * (256u - wy)) +\n"
	"		bl * ((256u - wx) * wy) + br * (wx * wy)) >> 16;\n"
	"}\n"
	/* pixman_transform_point_3d() of pixel centre d + 1/2 under a pure
	 * scale, rounded, minus the half pixel bilinear filtering takes off. */
	"ivec2 sample_pos(ivec2 d) {\n"
	"	uvec2 s = uvec2(u_scale);\n"
	"	return ivec2(s * uvec2(d) + ((s + 1u) >> 1) - 0x8000u);\n"
	"}\n"
	"uvec4 src_bilinear(ivec2 p) {\n"
	"	ivec2 i = p >> 16;\n"
	"	return lerp2(src_texel(i), src_texel(i + ivec2(1, 0)),\n"
	"		src_texel(i + ivec2(0, 1)), src_texel(i + ivec2(1, 1)), p);\n"
	"}\n"
	"uvec4 cursor_bilinear(ivec2 p) {\n"
	"	ivec2 i = p >> 16;\n"
	"	return lerp2(cursor_texel(i), cursor_texel(i + ivec2(1, 0)),\n"
	"		cursor_texel(i + ivec2(0, 1)), cursor_texel(i + ivec2(1, 1)), p);\n"
	"}\n"
	"void main() {\n"
	"	ivec2 z = ivec2(gl_FragCoord.xy);\n"
	"	ivec2 d = z - u_layer;\n"
	"	uvec4 c = u_scaled ? src_bilinear(sample_pos(d)) : src_texel(d);\n"
	"	if (u_cursor && all(greaterThanEqual(z, u_cursor_box.xy)) &&\n"
	"			all(lessThan(z, u_cursor_box.zw))) {\n"
	"		uvec4 k = u_scaled ? cursor_bilinear(sample_pos(d) - u_cursor_pos * 65536)\n"
	"			: cursor_texel(d - u_cursor_pos);\n"
	/* OVER, premultiplied: k + c * (255 - k.a) / 255 as pixman's
	 * UN8x4_MUL_UN8_ADD_UN8x4 rounds and saturates. */
	"		uvec4 t = c * (255u - k.a) + 0x80u;\n"
	"		t = (t + (t >> 8)) >> 8;\n"
	"		c = min(k + t, uvec4(255u));\n"
	"	}\n"
	"	o = vec4(vec3(c.rgb) / 255.0, 1.0); /* exact: unorm8 rounds back to c */\n"
	"}\n";

static GLuint compile(GLenum type, const char *src)
{
	GLuint sh = glCreateShader(type);
	glShaderSource(sh, 1, &src, NULL);
	glCompileShader(sh);
	GLint ok = 0;
	glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		char log[1024] = "";
		glGetShaderInfoLog(sh, sizeof(log), NULL, log);
		zl_err("gl-compose: shader refused: %s", log);
		glDeleteShader(sh);
		return 0;
	}
	return sh;
}

static GLuint link_program(const char *fs_text)
{
	GLuint vs = compile(GL_VERTEX_SHADER, vs_src);
	GLuint fs = compile(GL_FRAGMENT_SHADER, fs_text);
	GLuint prog = 0;
	if (vs && fs) {
		prog = glCreateProgram();
		glAttachShader(prog, vs);
		glAttachShader(prog, fs);
		glLinkProgram(prog);
		GLint ok = 0;
		glGetProgramiv(prog, GL_LINK_STATUS, &ok);
		if (!ok) {
			char log[1024] = "";
			glGetProgramInfoLog(prog, sizeof(log), NULL, log);
			zl_err("gl-compose: program refused: %s", log);
			glDeleteProgram(prog);
			prog = 0;
		}
	}
	glDeleteShader(vs);
	glDeleteShader(fs);
	return prog;
}

static struct gl_zone *gz_of(struct comp_zone *zone)
{
	return zone->impl_data;
}

static bool begin(struct gl_zone *gz)
{
	if (gz->engine->begin(gz->engine->data) < 0) {
		zl_err("gl-compose: no GL context; the frame is not updated");
		return false;
	}
	return true;
}

static void end(struct gl_zone *gz)
{
	gz->engine->end(gz->engine->data);
}

/* GL's format and type for the bytes of a 32-bit pixman format. */
static bool upload_format(pixman_format_code_t f, GLenum *format, GLenum *type)
{
	switch (f) {
	case PIXMAN_a8r8g8b8:
	case PIXMAN_x8r8g8b8:
		*format = GL_BGRA;
		*type = GL_UNSIGNED_INT_8_8_8_8_REV;
		return true;
	case PIXMAN_a8b8g8r8:
	case PIXMAN_x8b8g8r8:
		*format = GL_RGBA;
		*type = GL_UNSIGNED_INT_8_8_8_8_REV;
		return true;
	case PIXMAN_b8g8r8a8:
	case PIXMAN_b8g8r8x8:
		*format = GL_BGRA;
		*type = GL_UNSIGNED_INT_8_8_8_8;
		return true;
	case PIXMAN_r8g8b8a8:
	case PIXMAN_r8g8b8x8:
		*format = GL_RGBA;
		*type = GL_UNSIGNED_INT_8_8_8_8;
		return true;
	default:
		return false;
	}
}

/* Uploads box b (scanout coordinates, within it) of s's image. */
static void upload_box(struct gl_source *g, const struct comp_source *s, const pixman_box32_t *b)
{
	GLenum format, type;
	if (!upload_format(pixman_image_get_format(s->image), &format, &type)) {
		return;
	}
	const uint8_t *bits = (const uint8_t *)pixman_image_get_data(s->image);
	int stride = pixman_image_get_stride(s->image);
	bits += (size_t)(s->src_y + (uint32_t)b->y1) * (size_t)stride +
		(size_t)(s->src_x + (uint32_t)b->x1) * 4;
	glBindTexture(GL_TEXTURE_2D, g->upload);
	glPixelStorei(GL_UNPACK_ROW_LENGTH, stride / 4);
	glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
	glTexSubImage2D(GL_TEXTURE_2D, 0, b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1,
		format, type, bits);
	glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
}

/* Forgets earlier errors (bounded: a lost context reports one forever). */
static void clear_errors(void)
{
	for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; i++) {
	}
}

/* Can the scanout rectangle be sampled from s's GL texture? */
static bool check_texture(struct gl_source *g, const struct comp_source *s)
{
	clear_errors();
	if (!glIsTexture(s->gl_texture)) {
		return false;
	}
	glBindTexture(GL_TEXTURE_2D, s->gl_texture);
	if (glGetError() != GL_NO_ERROR) {
		return false; /* another target: not a 2D texture */
	}
	GLint w = 0, h = 0;
	glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_WIDTH, &w);
	glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_HEIGHT, &h);
	if ((uint64_t)s->src_x + s->src_w > (uint64_t)w ||
		(uint64_t)s->src_y + s->src_h > (uint64_t)h) {
		return false;
	}
	g->tex = s->gl_texture;
	g->origin_x = (GLint)s->src_x;
	g->origin_y = (GLint)s->src_y;
	/* virglrenderer's Y_0_TOP resources hold the image in GL's
	 * orientation: its top row is the texture's last. */
	g->flip_h = s->gl_y0_top ? h : 0;
	return true;
}

static void source_changed(struct comp_zone *zone, struct comp_source *s)
{
	struct gl_zone *gz = gz_of(zone);
	struct gl_source *g = &gz->sources[s - zone->sources];
	g->ok = false;
	g->tex = 0;
	if (!s->image || !begin(gz)) {
		return;
	}
	if (s->gl_texture) {
		g->ok = check_texture(g, s);
		if (!g->ok) {
			zl_warn("zone %s: guest %u scanout %u: texture %u cannot show the "
				"rectangle %u,%u %ux%u; showing black", zone->name, s->guest,
				s->scanout, s->gl_texture, s->src_x, s->src_y, s->src_w, s->src_h);
		}
	} else {
		GLenum format, type;
		GLint max = 0;
		glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max);
		if ((int64_t)s->src_w > max || (int64_t)s->src_h > max) {
			zl_warn("zone %s: guest %u scanout %u: %ux%u is larger than GL textures "
				"(%d); showing black", zone->name, s->guest, s->scanout, s->src_w,
				s->src_h, max);
		} else if (upload_format(pixman_image_get_format(s->image), &format, &type)) {
			if (!g->upload) {
				glGenTextures(1, &g->upload);
			}
			if (g->upload_w != s->src_w || g->upload_h != s->src_h) {
				clear_errors();
				glBindTexture(GL_TEXTURE_2D, g->upload);
				glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)s->src_w,
					(GLsizei)s->src_h, 0, GL_BGRA, GL_UNSIGNED_BYTE, NULL);
				bool made = glGetError() == GL_NO_ERROR;
				g->upload_w = made ? s->src_w : 0;
				g->upload_h = made ? s->src_h : 0;
				if (!made) {
					zl_err("zone %s: no memory for a %ux%u texture; showing black",
						zone->name, s->src_w, s->src_h);
					end(gz);
					return;
				}
			}
			pixman_box32_t all = { 0, 0, (int32_t)s->src_w, (int32_t)s->src_h };
			upload_box(g, s, &all);
			g->tex = g->upload;
			g->origin_x = g->origin_y = 0;
			g->flip_h = 0;
			g->ok = true;
		}
	}
	end(gz);
}

static void source_damaged(struct comp_zone *zone, struct comp_source *s, const pixman_box32_t *b)
{
	struct gl_zone *gz = gz_of(zone);
	struct gl_source *g = &gz->sources[s - zone->sources];
	if (!g->ok || g->tex != g->upload || !begin(gz)) {
		return; /* a texture source: already on the GPU */
	}
	upload_box(g, s, b);
	end(gz);
}

static void cursor_changed(struct comp_zone *zone, struct comp_source *s)
{
	struct gl_zone *gz = gz_of(zone);
	struct gl_source *g = &gz->sources[s - zone->sources];
	if (!begin(gz)) {
		return;
	}
	if (!g->cursor) {
		glGenTextures(1, &g->cursor);
		glBindTexture(GL_TEXTURE_2D, g->cursor);
		glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, COMP_CURSOR_SIZE, COMP_CURSOR_SIZE, 0,
			GL_BGRA, GL_UNSIGNED_BYTE, NULL);
	}
	glBindTexture(GL_TEXTURE_2D, g->cursor);
	glPixelStorei(GL_UNPACK_ROW_LENGTH, pixman_image_get_stride(s->cursor) / 4);
	glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, COMP_CURSOR_SIZE, COMP_CURSOR_SIZE,
		GL_BGRA, GL_UNSIGNED_INT_8_8_8_8_REV, pixman_image_get_data(s->cursor));
	glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
	end(gz);
}

static void scissor(const pixman_box32_t *b)
{
	glScissor(b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1);
}

static void fill_black(const pixman_box32_t *b)
{
	static const GLfloat black[4] = { 0, 0, 0, 1 };
	scissor(b);
	glClearBufferfv(GL_COLOR, 0, black);
}

/* Draws layer l (and its cursor) into b, which lies within l->vis. */
static void draw_layer(struct comp_zone *zone, const struct comp_layer *l, const pixman_box32_t *b)
{
	struct gl_zone *gz = gz_of(zone);
	const struct comp_source *s = l->src;
	const struct gl_source *g = &gz->sources[s - zone->sources];
	if (!l->shown || !g->ok) {
		fill_black(b);
		return;
	}
	pixman_box32_t cb, c;
	bool cursor = g->cursor && comp_layer_cursor_box(l, &cb) && comp_box_intersect(&c, &cb, b);
	const struct gl_program *p = &gz->progs[l->scaled || cursor ? PROG_EXACT : PROG_COPY];
	glUseProgram(p->id);
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(GL_TEXTURE_2D, g->tex);
	glUniform2i(p->layer, l->cfg.x, l->cfg.y);
	glUniform2i(p->src_origin, g->origin_x, g->origin_y);
	glUniform2i(p->src_size, (GLint)s->src_w, (GLint)s->src_h);
	glUniform1i(p->flip_h, g->flip_h);
	glUniform1i(p->scaled, l->scaled);
	glUniform2i(p->scale, l->scale_x, l->scale_y);
	glUniform1i(p->cursor, cursor);
	if (cursor) {
		glActiveTexture(GL_TEXTURE1);
		glBindTexture(GL_TEXTURE_2D, g->cursor);
		glUniform2i(p->cursor_pos, (GLint)((int64_t)s->cursor_x - s->hot_x),
			(GLint)((int64_t)s->cursor_y - s->hot_y));
		glUniform4i(p->cursor_box, c.x1, c.y1, c.x2, c.y2);
	}
	scissor(b);
	glDrawArrays(GL_TRIANGLES, 0, 3);
}

/* As compose_box() in compositor.c: black where no layer covers the box
 * whole, then the layers from the topmost that does. */
static void compose_box(struct comp_zone *zone, const pixman_box32_t *b)
{
	bool covered;
	unsigned first = comp_first_layer(zone, b, &covered);
	if (!covered) {
		fill_black(b);
	}
	for (unsigned i = first; i < zone->config.n_layers; i++) {
		pixman_box32_t c;
		if (comp_box_intersect(&c, &zone->layers[i].vis, b)) {
			draw_layer(zone, &zone->layers[i], &c);
		}
	}
}

static void bind_state(struct gl_zone *gz, const struct comp_zone *zone)
{
	glBindFramebuffer(GL_FRAMEBUFFER, gz->fbo);
	glViewport(0, 0, (GLsizei)zone->config.width, (GLsizei)zone->config.height);
	glEnable(GL_SCISSOR_TEST);
	glDisable(GL_BLEND);
	glBindVertexArray(gz->vao);
	glBindSampler(0, gz->sampler);
	glBindSampler(1, gz->sampler);
}

static void compose(struct comp_zone *zone, const pixman_region32_t *r)
{
	struct gl_zone *gz = gz_of(zone);
	if (!begin(gz)) {
		return;
	}
	bind_state(gz, zone);
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles((pixman_region32_t *)r, &n);
	for (int i = 0; i < n; i++) {
		compose_box(zone, &boxes[i]);
	}
	/* Submitted now: the readback comes when the frame is taken. */
	glFlush();
	end(gz);
}

static void read_frame(struct comp_zone *zone, const pixman_region32_t *r)
{
	struct gl_zone *gz = gz_of(zone);
	if (!begin(gz)) {
		return;
	}
	glBindFramebuffer(GL_READ_FRAMEBUFFER, gz->fbo);
	glReadBuffer(GL_COLOR_ATTACHMENT0);
	glPixelStorei(GL_PACK_ROW_LENGTH, zone->stride);
	glPixelStorei(GL_PACK_ALIGNMENT, 4);
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles((pixman_region32_t *)r, &n);
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &boxes[i];
		glReadPixels(b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1, GL_BGRA,
			GL_UNSIGNED_INT_8_8_8_8_REV, zone->bits + (size_t)b->y1 * (size_t)zone->stride + b->x1);
	}
	glPixelStorei(GL_PACK_ROW_LENGTH, 0);
	end(gz);
}

static void delete_objects(struct gl_zone *gz)
{
	for (unsigned i = 0; i < COMP_MAX_LAYERS; i++) {
		glDeleteTextures(1, &gz->sources[i].upload);
		glDeleteTextures(1, &gz->sources[i].cursor);
	}
	glDeleteFramebuffers(1, &gz->fbo);
	glDeleteTextures(1, &gz->frame);
	glDeleteSamplers(1, &gz->sampler);
	glDeleteVertexArrays(1, &gz->vao);
	for (int i = 0; i < N_PROGS; i++) {
		glDeleteProgram(gz->progs[i].id);
	}
}

static void destroy(struct comp_zone *zone)
{
	struct gl_zone *gz = gz_of(zone);
	if (begin(gz)) {
		delete_objects(gz);
		end(gz);
	}
	free(gz);
}

static const struct comp_zone_impl gl_impl = {
	.source_changed = source_changed,
	.source_damaged = source_damaged,
	.cursor_changed = cursor_changed,
	.compose = compose,
	.read = read_frame,
	.destroy = destroy,
};

static bool create_objects(struct gl_zone *gz, const struct comp_zone_config *c)
{
	for (int i = 0; i < N_PROGS; i++) {
		struct gl_program *p = &gz->progs[i];
		p->id = link_program(i == PROG_COPY ? fs_copy_src : fs_src);
		if (!p->id) {
			return false;
		}
		glUseProgram(p->id);
		glUniform1i(glGetUniformLocation(p->id, "u_src"), 0);
		glUniform1i(glGetUniformLocation(p->id, "u_cursor_tex"), 1);
		p->layer = glGetUniformLocation(p->id, "u_layer");
		p->src_origin = glGetUniformLocation(p->id, "u_src_origin");
		p->src_size = glGetUniformLocation(p->id, "u_src_size");
		p->flip_h = glGetUniformLocation(p->id, "u_flip_h");
		p->scaled = glGetUniformLocation(p->id, "u_scaled");
		p->scale = glGetUniformLocation(p->id, "u_scale");
		p->cursor = glGetUniformLocation(p->id, "u_cursor");
		p->cursor_pos = glGetUniformLocation(p->id, "u_cursor_pos");
		p->cursor_box = glGetUniformLocation(p->id, "u_cursor_box");
	}
	glGenVertexArrays(1, &gz->vao);
	/* texelFetch only, but completeness depends on the filter: the
	 * sampler object keeps virgl's textures' own parameters untouched. */
	glGenSamplers(1, &gz->sampler);
	glSamplerParameteri(gz->sampler, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
	glSamplerParameteri(gz->sampler, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
	glGenTextures(1, &gz->frame);
	glBindTexture(GL_TEXTURE_2D, gz->frame);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)c->width, (GLsizei)c->height, 0,
		GL_BGRA, GL_UNSIGNED_BYTE, NULL);
	glGenFramebuffers(1, &gz->fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, gz->fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, gz->frame, 0);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
		zl_err("gl-compose: %ux%u frame buffer incomplete", c->width, c->height);
		return false;
	}
	pixman_box32_t all = { 0, 0, (int32_t)c->width, (int32_t)c->height };
	glEnable(GL_SCISSOR_TEST);
	fill_black(&all);
	return glGetError() == GL_NO_ERROR;
}

struct comp_zone *comp_zone_create_gl(const struct comp_zone_config *config,
	const struct comp_gl_engine *engine)
{
	struct comp_zone *zone = comp_zone_create(config);
	if (!zone) {
		return NULL;
	}
	struct gl_zone *gz = calloc(1, sizeof(*gz));
	if (!gz) {
		goto err_zone;
	}
	gz->engine = engine;
	if (!begin(gz)) {
		goto err_gz;
	}
	clear_errors();
	if (!create_objects(gz, config)) {
		zl_err("zone %s: cannot set up GL composition", zone->name);
		delete_objects(gz);
		end(gz);
		goto err_gz;
	}
	end(gz);
	comp_zone_set_impl(zone, &gl_impl, gz);
	return zone;

err_gz:
	free(gz);
err_zone:
	comp_zone_destroy(zone);
	return NULL;
}
