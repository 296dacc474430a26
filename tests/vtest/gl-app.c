/* SPDX-License-Identifier: MIT */
/* A host GL app for the vtest tests: EGL surfaceless + GLES2 into an FBO.
 * It clears to known colours, reads pixels back and checks them, prints
 * GL_RENDERER and frames/s. Run with GALLIUM_DRIVER=virpipe it renders
 * through a vtest server. Each frame's time (draw + read back, the app's
 * end-to-end cost through the server) is measured: frame_ms p50/p99/max.
 * Exit 0 on success, 1 on a wrong pixel, 77 if EGL is unusable.
 * Usage: gl-app [FRAMES] [WIDTH HEIGHT] */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	int frames = argc > 1 ? atoi(argv[1]) : 60;
	int w = argc > 3 ? atoi(argv[2]) : 256, h = argc > 3 ? atoi(argv[3]) : 256;
	if (frames < 1 || w < 1 || h < 1 || w > 4096 || h > 4096) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_dpy =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (!get_dpy) {
		fprintf(stderr, "no eglGetPlatformDisplayEXT\n");
		return 77;
	}
	EGLDisplay dpy = get_dpy(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
	if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, NULL, NULL)) {
		fprintf(stderr, "no surfaceless EGL display\n");
		return 77;
	}
	eglBindAPI(EGL_OPENGL_ES_API);
	static const EGLint cfg_attr[] = { EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT,
		EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_NONE };
	EGLConfig cfg;
	EGLint n = 0;
	if (!eglChooseConfig(dpy, cfg_attr, &cfg, 1, &n) || n < 1) {
		fprintf(stderr, "no EGL config\n");
		return 77;
	}
	static const EGLint ctx_attr[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	EGLContext ctx = eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, ctx_attr);
	if (ctx == EGL_NO_CONTEXT || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
		fprintf(stderr, "no GLES2 context\n");
		return 77;
	}
	printf("GL_RENDERER=%s\n", (const char *)glGetString(GL_RENDERER));

	/* An RGBA8 texture as the colour buffer (GLES2 renderbuffers are at
	 * most RGBA4 without an extension). */
	GLuint fb, tex;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
	glGenFramebuffers(1, &fb);
	glBindFramebuffer(GL_FRAMEBUFFER, fb);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
		fprintf(stderr, "FBO incomplete\n");
		return 1;
	}
	glViewport(0, 0, w, h);

	static const float colours[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
	unsigned char *px = malloc((size_t)w * h * 4);
	double *frame_s = calloc((size_t)frames, sizeof(double));
	if (!px || !frame_s) {
		return 1;
	}
	int bad = 0, done = 0;
	double t0 = now_s();
	for (int f = 0; f < frames && !bad; f++) {
		double tf = now_s();
		const float *c = colours[f % 3];
		glClearColor(c[0], c[1], c[2], 1);
		glClear(GL_COLOR_BUFFER_BIT);
		/* A scissored quarter in white, to check geometry too. */
		glEnable(GL_SCISSOR_TEST);
		glScissor(0, 0, w / 2, h / 2);
		glClearColor(1, 1, 1, 1);
		glClear(GL_COLOR_BUFFER_BIT);
		glDisable(GL_SCISSOR_TEST);
		/* The frame's "present": read it all back, as a compositor would. */
		glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px);
		for (int y = 0; y < h && !bad; y += h / 4 ? h / 4 : 1) {
			for (int x = 0; x < w; x += w / 4 ? w / 4 : 1) {
				const unsigned char *p = px + ((size_t)y * w + x) * 4;
				int white = x < w / 2 && y < h / 2;
				unsigned char want[4] = { white ? 255 : (unsigned char)(c[0] * 255),
					white ? 255 : (unsigned char)(c[1] * 255),
					white ? 255 : (unsigned char)(c[2] * 255), 255 };
				if (memcmp(p, want, 4) != 0) {
					fprintf(stderr, "frame %d pixel %d,%d: %u %u %u %u, want %u %u %u %u\n",
						f, x, y, p[0], p[1], p[2], p[3],
						want[0], want[1], want[2], want[3]);
					bad = 1;
					break;
				}
			}
		}
		frame_s[done++] = now_s() - tf;
	}
	double dt = now_s() - t0;
	qsort(frame_s, (size_t)done, sizeof(double), cmp_double);
	printf("frames=%d size=%dx%d time=%.3fs fps=%.1f frame_ms_p50=%.3f frame_ms_p99=%.3f "
		"frame_ms_max=%.3f %s\n", frames, w, h, dt, frames / dt,
		1e3 * frame_s[done / 2], 1e3 * frame_s[(done * 99) / 100 < done ? (done * 99) / 100 : done - 1],
		1e3 * frame_s[done - 1], bad ? "FAIL" : "OK");
	free(frame_s);
	free(px);
	glDeleteTextures(1, &tex);
	glDeleteFramebuffers(1, &fb);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	eglTerminate(dpy);
	return bad;
}
