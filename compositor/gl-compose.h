/* SPDX-License-Identifier: MIT */
#ifndef COMP_GL_COMPOSE_H
#define COMP_GL_COMPOSE_H

#include "compositor/compositor.h"

/* Zones composed on the GPU (see compositor.h for what they promise). The
 * engine is where the GL context comes from: begin makes current a desktop
 * GL 3.3 core context of the share group holding the scanouts' textures
 * (gpu-server: the renderer's, vgpu_renderer_gl_begin), end releases it.
 * Every GL call of a zone sits between the two. */
struct comp_gl_engine {
	int (*begin)(void *data); /* 0 or negative errno */
	void (*end)(void *data);
	void *data;
};

/* Like comp_zone_create(). The engine is borrowed and must outlive the zone.
 * NULL (and logs why) if the config is invalid or GL objects cannot be made
 * (no context, shaders refused). */
struct comp_zone *comp_zone_create_gl(const struct comp_zone_config *config,
	const struct comp_gl_engine *engine);

#endif
