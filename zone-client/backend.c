/* SPDX-License-Identifier: MIT */
#include "backend.h"

#include <stdio.h>
#include <string.h>

static const struct zc_backend_impl *const backends[] = {
	&zc_backend_headless,
#ifdef ZC_HAVE_WAYLAND
	&zc_backend_wayland,
#endif
#ifdef ZC_HAVE_DRM
	&zc_backend_drm,
#endif
};

const struct zc_backend_impl *zc_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(backends[i]->name, name) == 0) {
			return backends[i];
		}
	}
	return NULL;
}

const char *zc_backend_names(void)
{
	static char names[64];
	if (!names[0]) {
		for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
			size_t l = strlen(names);
			snprintf(names + l, sizeof(names) - l, "%s%s", i ? ", " : "", backends[i]->name);
		}
	}
	return names;
}
