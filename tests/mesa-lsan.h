/* SPDX-License-Identifier: MIT */
/* For tests that run Mesa (EGL surfaceless) under LeakSanitizer. */
#ifndef TESTS_MESA_LSAN_H
#define TESTS_MESA_LSAN_H

#include <dlfcn.h>

/* Mesa's driver leaks a little at exit, from a module EGL has unloaded by
 * then, which LeakSanitizer cannot name. Keeping it loaded lets
 * tests/lsan.supp name (and suppress) it and only it. DRI_DIR comes from
 * meson (Debian's multiarch directory). */
static inline void test_keep_mesa_loaded(void)
{
	dlopen("libgallium_dri.so", RTLD_LAZY | RTLD_NODELETE);
	dlopen(DRI_DIR "/swrast_dri.so", RTLD_LAZY | RTLD_NODELETE);
}

#endif
