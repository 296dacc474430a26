/* SPDX-License-Identifier: MIT */
#include "snapshot.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* libpng reports errors by longjmp; everything it may leave half-done is
 * cleaned up after the jump target. Locals changed after setjmp are
 * volatile. */
static int write_file(pixman_image_t *image, FILE *f)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png) {
		return -ENOMEM;
	}
	png_infop info = png_create_info_struct(png);
	uint32_t w = (uint32_t)pixman_image_get_width(image);
	uint32_t h = (uint32_t)pixman_image_get_height(image);
	uint8_t *volatile row = NULL;
	if (!info || setjmp(png_jmpbuf(png))) {
		free(row);
		png_destroy_write_struct(&png, &info);
		return -EIO;
	}
	row = malloc((size_t)w * 3);
	if (!row) {
		png_destroy_write_struct(&png, &info);
		return -ENOMEM;
	}
	png_init_io(png, f);
	/* Speed over size: these are test and debug artefacts. */
	png_set_compression_level(png, 1);
	png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	const uint8_t *data = (const uint8_t *)pixman_image_get_data(image);
	size_t stride = (size_t)pixman_image_get_stride(image);
	for (uint32_t y = 0; y < h; y++) {
		const uint32_t *src = (const uint32_t *)(data + y * stride);
		for (uint32_t x = 0; x < w; x++) {
			row[3 * x] = (uint8_t)(src[x] >> 16);
			row[3 * x + 1] = (uint8_t)(src[x] >> 8);
			row[3 * x + 2] = (uint8_t)src[x];
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	free(row);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int zc_snapshot_write_png(pixman_image_t *image, const char *path)
{
	size_t n = strlen(path) + 5;
	char *tmp = malloc(n);
	if (!tmp) {
		return -ENOMEM;
	}
	snprintf(tmp, n, "%s.tmp", path);
	int r;
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		r = -errno;
		zl_log_errno(ZL_ERROR, "cannot create %s", tmp);
		goto out;
	}
	r = write_file(image, f);
	if (fflush(f) != 0 && r == 0) {
		r = -errno;
	}
	if (fclose(f) != 0 && r == 0) {
		r = -errno;
	}
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
	}
	if (r < 0) {
		zl_err("cannot write %s: %s", path, strerror(-r));
		unlink(tmp);
	}
out:
	free(tmp);
	return r;
}

pixman_image_t *zc_snapshot_read_png(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		return NULL;
	}
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	pixman_image_t *volatile image = NULL;
	uint8_t *volatile row = NULL;
	if (!png || !info || setjmp(png_jmpbuf(png))) {
		goto fail;
	}
	png_init_io(png, f);
	png_read_info(png, info);
	uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	int type = png_get_color_type(png, info);
	if (png_get_bit_depth(png, info) != 8 ||
		(type != PNG_COLOR_TYPE_RGB && type != PNG_COLOR_TYPE_RGBA) || w > 16384 || h > 16384) {
		goto fail;
	}
	if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) {
		goto fail;
	}
	unsigned ch = type == PNG_COLOR_TYPE_RGBA ? 4 : 3;
	image = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w, (int)h, NULL, 0);
	row = malloc((size_t)w * ch);
	if (!image || !row) {
		goto fail;
	}
	uint8_t *data = (uint8_t *)pixman_image_get_data(image);
	size_t stride = (size_t)pixman_image_get_stride(image);
	for (uint32_t y = 0; y < h; y++) {
		png_read_row(png, row, NULL);
		uint32_t *dst = (uint32_t *)(data + y * stride);
		for (uint32_t x = 0; x < w; x++) {
			dst[x] = 0xff000000u | (uint32_t)row[ch * x] << 16 |
				(uint32_t)row[ch * x + 1] << 8 | row[ch * x + 2];
		}
	}
	free(row);
	png_destroy_read_struct(&png, &info, NULL);
	fclose(f);
	return image;
fail:
	free(row);
	if (image) {
		pixman_image_unref(image);
	}
	png_destroy_read_struct(&png, &info, NULL);
	fclose(f);
	return NULL;
}
