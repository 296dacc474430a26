/* SPDX-License-Identifier: MIT */
#ifndef ZC_SNAPSHOT_H
#define ZC_SNAPSHOT_H

#include <pixman.h>

/* Writes image (x8r8g8b8) as an 8-bit RGB PNG at path, atomically: into
 * "path.tmp" first, then renamed, so a reader never sees half a file.
 * Returns 0 or a negative errno. */
int zc_snapshot_write_png(pixman_image_t *image, const char *path);

/* Reads an 8-bit RGB or RGBA PNG into a new x8r8g8b8 image (X = 0xff;
 * caller unrefs). For tests and tools. Returns NULL on error. */
pixman_image_t *zc_snapshot_read_png(const char *path);

#endif
