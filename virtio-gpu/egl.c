/* SPDX-License-Identifier: MIT */
#include "egl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <epoxy/egl.h>
#include <fcntl.h>
#include <gbm.h>
#include <unistd.h>
#include <xf86drm.h>
#include <epoxy/gl.h>
#include <stdio.h>

#include "util/log.h"

struct vgpu_egl {
	EGLDisplay dpy;
	EGLContext root;
	int fd;                     /* the render node, or -1 */
	struct gbm_device *gbm;
	char renderer[128];
};

static bool has_ext(const char *list, const char *ext)
{
	size_t n = strlen(ext);
	for (const char *p = list; p && (p = strstr(p, ext)); p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
			return true;
		}
	}
	return false;
}

static EGLContext create_context(EGLDisplay dpy, EGLContext share, int major, int minor)
{
	/* The API is per thread: virglrenderer's fence thread creates its
	 * context from its own. */
	if (!eglBindAPI(EGL_OPENGL_API)) {
		return EGL_NO_CONTEXT;
	}
	const EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, major,
		EGL_CONTEXT_MINOR_VERSION, minor,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE,
	};
	return eglCreateContext(dpy, EGL_NO_CONFIG_KHR, share, attrs);
}

static EGLDisplay open_display(struct vgpu_egl *egl, const char *client, const char *node)
{
	if (!has_ext(client, "EGL_EXT_platform_base")) {
		zl_err("egl: no EGL_EXT_platform_base");
		return EGL_NO_DISPLAY;
	}
	/* The EXT entry point: libepoxy resolves it from client extensions,
	 * while the EGL 1.5 one needs a display to know the version. */
	if (!node) {
		if (!has_ext(client, "EGL_MESA_platform_surfaceless")) {
			zl_err("egl: no EGL_MESA_platform_surfaceless (Mesa's EGL is needed)");
			return EGL_NO_DISPLAY;
		}
		return eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY,
			NULL);
	}
	if (!has_ext(client, "EGL_KHR_platform_gbm") && !has_ext(client, "EGL_MESA_platform_gbm")) {
		zl_err("egl: render-node=%s: EGL has no GBM platform", node);
		return EGL_NO_DISPLAY;
	}
	egl->fd = open(node, O_RDWR | O_CLOEXEC);
	if (egl->fd < 0) {
		zl_log_errno(ZL_ERROR, "egl: render-node=%s", node);
		return EGL_NO_DISPLAY;
	}
	/* Mesa's GBM takes any fd and falls back to software on one that is
	 * no DRM device: a wrong path must not quietly mean llvmpipe. */
	if (drmGetNodeTypeFromFd(egl->fd) != DRM_NODE_RENDER) {
		zl_err("egl: render-node=%s: not a DRM render node (/dev/dri/renderD*)", node);
		return EGL_NO_DISPLAY;
	}
	egl->gbm = gbm_create_device(egl->fd);
	if (!egl->gbm) {
		zl_err("egl: render-node=%s: not a device GBM can use", node);
		return EGL_NO_DISPLAY;
	}
	return eglGetPlatformDisplayEXT(EGL_PLATFORM_GBM_KHR, egl->gbm, NULL);
}

static void close_node(struct vgpu_egl *egl)
{
	if (egl->gbm) {
		gbm_device_destroy(egl->gbm);
	}
	if (egl->fd >= 0) {
		close(egl->fd);
	}
}

struct vgpu_egl *vgpu_egl_create(const char *render_node)
{
	const char *client = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	struct vgpu_egl *egl = calloc(1, sizeof(*egl));
	if (!egl) {
		return NULL;
	}
	egl->fd = -1;
	egl->dpy = open_display(egl, client, render_node);
	const char *what = render_node ? render_node : "the surfaceless display";
	EGLint major, minor;
	if (egl->dpy == EGL_NO_DISPLAY) {
		goto err_free;
	}
	if (!eglInitialize(egl->dpy, &major, &minor)) {
		zl_err("egl: cannot initialise EGL on %s (0x%x)", what, eglGetError());
		goto err_free;
	}
	const char *exts = eglQueryString(egl->dpy, EGL_EXTENSIONS);
	if (!has_ext(exts, "EGL_KHR_no_config_context") ||
		!has_ext(exts, "EGL_KHR_surfaceless_context")) {
		zl_err("egl: the display lacks EGL_KHR_no_config_context or "
			"EGL_KHR_surfaceless_context");
		goto err_term;
	}
	egl->root = create_context(egl->dpy, EGL_NO_CONTEXT, 3, 3);
	if (egl->root == EGL_NO_CONTEXT) {
		zl_err("egl: no OpenGL 3.3 core context (0x%x)", eglGetError());
		goto err_term;
	}
	if (eglMakeCurrent(egl->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, egl->root)) {
		const char *name = (const char *)glGetString(GL_RENDERER);
		snprintf(egl->renderer, sizeof(egl->renderer), "%s", name ? name : "?");
		eglMakeCurrent(egl->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	}
	zl_info("egl: EGL %d.%d on %s (%s), GL renderer %s", major, minor,
		render_node ? render_node : "surfaceless", eglQueryString(egl->dpy, EGL_VENDOR),
		egl->renderer);
	return egl;

err_term:
	eglTerminate(egl->dpy);
err_free:
	close_node(egl);
	free(egl);
	return NULL;
}

void vgpu_egl_destroy(struct vgpu_egl *egl)
{
	if (!egl) {
		return;
	}
	eglMakeCurrent(egl->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(egl->dpy, egl->root);
	eglTerminate(egl->dpy);
	eglReleaseThread();
	close_node(egl);
	free(egl);
}

void *vgpu_egl_display(struct vgpu_egl *egl)
{
	return egl->dpy;
}

void *vgpu_egl_root(struct vgpu_egl *egl)
{
	return egl->root;
}

void *vgpu_egl_context_create(struct vgpu_egl *egl, int major, int minor)
{
	EGLContext ctx = create_context(egl->dpy, egl->root, major, minor);
	return ctx == EGL_NO_CONTEXT ? NULL : ctx;
}

void vgpu_egl_context_destroy(struct vgpu_egl *egl, void *ctx)
{
	if (ctx) {
		if (eglGetCurrentContext() == ctx) {
			eglMakeCurrent(egl->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
		}
		eglDestroyContext(egl->dpy, ctx);
	}
}

int vgpu_egl_make_current(struct vgpu_egl *egl, void *ctx)
{
	EGLContext c = ctx ? ctx : EGL_NO_CONTEXT;
	if (!eglMakeCurrent(egl->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, c)) {
		zl_err("egl: eglMakeCurrent failed (0x%x)", eglGetError());
		return -EIO;
	}
	return 0;
}

const char *vgpu_egl_renderer_name(struct vgpu_egl *egl)
{
	return egl->renderer;
}

bool vgpu_egl_is_software(struct vgpu_egl *egl)
{
	return strstr(egl->renderer, "llvmpipe") || strstr(egl->renderer, "softpipe") ||
		strstr(egl->renderer, "Software Rasterizer");
}
