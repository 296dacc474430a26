/* SPDX-License-Identifier: MIT */
/* The project's GL scene (guest/gles-scene.c) on the host: EGL surfaceless +
 * GLES2 into an FBO, one frame, written as a PNG the right way up (what a
 * panel would show). With GALLIUM_DRIVER=virpipe it renders through a vtest
 * server (gpu-server), else on the host's own Mesa (llvmpipe): that is how
 * the stored references are made (tests/reference/README.md).
 *
 * usage: render-scene WIDTH HEIGHT FRAME OUT.png
 *        render-scene --demo cluster|media|movie WIDTH HEIGHT SECONDS OUT.png
 * The second form draws one of `make demo`'s scenes (guest/demo-scenes.c)
 * at that time. Prints GL_RENDERER. Exit 0, 1 on failure, 77 without EGL surfaceless. */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

#include "guest/demo-scenes.h"
#include "guest/gles-scene.h"
#include <string.h>

static int write_png(const char *path, const unsigned char *rgba, int w, int h)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info || setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		fclose(f);
		return -1;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGBA,
		PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	/* GL's row 0 is the bottom one. */
	for (int y = h - 1; y >= 0; y--) {
		png_write_row(png, rgba + (size_t)y * (size_t)w * 4);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int demo = -1;
	double t = 0;
	const char *out;

	if (argc == 7 && strcmp(argv[1], "--demo") == 0) {
		static const char *names[] = { "cluster", "media", "movie" };

		for (int i = 0; i < 3; i++) {
			if (strcmp(argv[2], names[i]) == 0) {
				demo = i;
			}
		}
		t = strtod(argv[5], NULL);
		out = argv[6];
		argv += 2; /* WIDTH HEIGHT where the first form has them */
	} else if (argc == 5) {
		out = argv[4];
	} else {
		argc = 0;
	}
	if (argc == 0 || (argc == 7 && demo < 0)) {
		fprintf(stderr, "usage: render-scene WIDTH HEIGHT FRAME OUT.png\n"
				"       render-scene --demo cluster|media|movie WIDTH HEIGHT SECONDS OUT.png\n");
		return 2;
	}
	int w = atoi(argv[1]), h = atoi(argv[2]);
	uint64_t frame = strtoull(argv[3], NULL, 0);
	if (w < 8 || h < 1 || w > 4096 || h > 4096) {
		fprintf(stderr, "render-scene: size out of range\n");
		return 2;
	}
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_dpy =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	EGLDisplay dpy = get_dpy ?
		get_dpy(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL) : EGL_NO_DISPLAY;
	if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, NULL, NULL)) {
		fprintf(stderr, "render-scene: no surfaceless EGL display\n");
		return 77;
	}
	eglBindAPI(EGL_OPENGL_ES_API);
	static const EGLint cfg_attr[] = { EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT,
		EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_NONE };
	EGLConfig cfg;
	EGLint n = 0;
	static const EGLint ctx_attr[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	EGLContext ctx = EGL_NO_CONTEXT;
	if (eglChooseConfig(dpy, cfg_attr, &cfg, 1, &n) && n > 0) {
		ctx = eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, ctx_attr);
	}
	if (ctx == EGL_NO_CONTEXT || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
		fprintf(stderr, "render-scene: no GLES2 context\n");
		return 77;
	}
	printf("GL_RENDERER=%s\n", (const char *)glGetString(GL_RENDERER));

	int ret = 1;
	GLuint tex, fb;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
	glGenFramebuffers(1, &fb);
	glBindFramebuffer(GL_FRAMEBUFFER, fb);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
	struct gles_scene scene = { 0 };
	unsigned char *px = malloc((size_t)w * (size_t)h * 4);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
		fprintf(stderr, "render-scene: FBO incomplete\n");
	} else if (px && demo >= 0) {
		struct demo_gl dgl = { 0 };

		if (demo_gl_init(&dgl) == 0) {
			demo_draw(&dgl, (enum demo_scene)demo, w, h, t);
			glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px);
			if (glGetError() != GL_NO_ERROR) {
				fprintf(stderr, "render-scene: GL error\n");
			} else if (write_png(out, px, w, h) == 0) {
				ret = 0;
			}
		}
		demo_gl_finish(&dgl);
	} else if (px && gles_scene_init(&scene) == 0) {
		gles_scene_draw(&scene, w, h, frame);
		glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px);
		if (glGetError() != GL_NO_ERROR) {
			fprintf(stderr, "render-scene: GL error\n");
		} else if (write_png(out, px, w, h) == 0) {
			ret = 0;
		}
	}
	gles_scene_finish(&scene);
	free(px);
	glDeleteFramebuffers(1, &fb);
	glDeleteTextures(1, &tex);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	eglTerminate(dpy);
	return ret;
}
