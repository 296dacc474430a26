/* SPDX-License-Identifier: MIT */
#include "gpu.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* A small EDID 1.4 generator: one base block whose preferred detailed timing
 * is WxH@Hz with CVT reduced blanking (v1), the monitor name, and range
 * limits. A mode the base block cannot express (wider or taller than 4095,
 * or a pixel clock above 655.35 MHz) goes into a DisplayID 1.3 extension as
 * a type I timing marked preferred, and the base block then carries the
 * same mode scaled down by an integer factor, so both Linux's DRM and
 * edid-decode see a valid base block and the real mode. */

#define EDID_BLOCK 128

/* CVT reduced blanking v1 constants (VESA CVT 1.2, section 3.4). */
#define RB_H_BLANK 160
#define RB_H_SYNC 32
#define RB_H_FRONT 48
#define RB_V_FRONT 3
#define RB_MIN_V_BACK 6
#define RB_MIN_VBLANK_US 460
#define MIN_CLOCK_HZ 10000000u

/* We pretend the panel has 96 pixels per inch for its physical size. */
#define PX_TO_MM(px) ((uint32_t)(((uint64_t)(px) * 254 + 480) / 960))

struct timing {
	uint32_t clock_10khz;
	uint32_t hactive, hblank, hfront, hsync;
	uint32_t vactive, vblank, vfront, vsync;
};

static uint32_t cvt_vsync_lines(uint32_t w, uint32_t h)
{
	/* CVT codes the aspect ratio in the vsync width. */
	uint64_t w64 = w, h64 = h;
	if (w64 * 3 == h64 * 4) {
		return 4;
	}
	if (w64 * 9 == h64 * 16) {
		return 5;
	}
	if (w64 * 10 == h64 * 16) {
		return 6;
	}
	if (w64 * 4 == h64 * 5 || w64 * 9 == h64 * 15) {
		return 7;
	}
	return 10;
}

static void cvt_rb(uint32_t w, uint32_t h, uint32_t hz, struct timing *t)
{
	uint32_t vsync = cvt_vsync_lines(w, h);
	/* Estimated line period in microseconds, then enough blank lines to
	 * give the panel its minimum vertical blanking time. */
	double h_period_us = (1000000.0 / hz - RB_MIN_VBLANK_US) / h;
	uint32_t vbi = (uint32_t)(RB_MIN_VBLANK_US / h_period_us) + 1;
	uint32_t min_vbi = RB_V_FRONT + vsync + RB_MIN_V_BACK;
	if (vbi < min_vbi) {
		vbi = min_vbi;
	}
	uint64_t hblank = RB_H_BLANK;
	uint64_t htotal = (uint64_t)w + hblank;
	uint64_t vtotal = (uint64_t)h + vbi;
	/* Sinks (and edid-decode) take a DTD clock below 10 MHz for garbage:
	 * tiny modes get longer blanking, horizontal first, as far as the
	 * DTD's 12-bit fields allow. */
	uint64_t min_px = (MIN_CLOCK_HZ + hz - 1) / hz; /* pixels per frame */
	if (htotal * vtotal < min_px) {
		htotal = (min_px + vtotal - 1) / vtotal;
		if (htotal - w > 0xfff) {
			htotal = (uint64_t)w + 0xfff;
		}
		hblank = htotal - w;
	}
	if (htotal * vtotal < min_px) {
		vtotal = (min_px + htotal - 1) / htotal;
		if (vtotal - h > 0xfff) {
			vtotal = (uint64_t)h + 0xfff;
		}
		vbi = (uint32_t)(vtotal - h);
	}
	/* CVT rounds the clock down to 0.25 MHz; the DTD can say 10 kHz, and
	 * rounding to that keeps the refresh rate closer to the one asked. */
	uint64_t clock_hz = htotal * vtotal * hz;
	uint64_t clock = (clock_hz + 5000) / 10000;

	t->clock_10khz = clock > UINT32_MAX ? UINT32_MAX : (uint32_t)(clock ? clock : 1);
	t->hactive = w;
	t->hblank = (uint32_t)hblank;
	t->hfront = RB_H_FRONT;
	t->hsync = RB_H_SYNC;
	t->vactive = h;
	t->vblank = vbi;
	t->vfront = RB_V_FRONT;
	t->vsync = vsync;
}

static bool fits_dtd(const struct timing *t)
{
	return t->clock_10khz <= 0xffff && t->hactive <= 0xfff && t->vactive <= 0xfff &&
		t->vblank <= 0xfff;
}

static void put_dtd(uint8_t *d, const struct timing *t, uint32_t w_mm, uint32_t h_mm)
{
	if (w_mm > 0xfff) {
		w_mm = 0xfff;
	}
	if (h_mm > 0xfff) {
		h_mm = 0xfff;
	}
	d[0] = t->clock_10khz & 0xff;
	d[1] = (t->clock_10khz >> 8) & 0xff;
	d[2] = t->hactive & 0xff;
	d[3] = t->hblank & 0xff;
	d[4] = (uint8_t)(((t->hactive >> 8) & 0xf) << 4 | ((t->hblank >> 8) & 0xf));
	d[5] = t->vactive & 0xff;
	d[6] = t->vblank & 0xff;
	d[7] = (uint8_t)(((t->vactive >> 8) & 0xf) << 4 | ((t->vblank >> 8) & 0xf));
	d[8] = t->hfront & 0xff;
	d[9] = t->hsync & 0xff;
	d[10] = (uint8_t)((t->vfront & 0xf) << 4 | (t->vsync & 0xf));
	d[11] = (uint8_t)(((t->hfront >> 8) & 3) << 6 | ((t->hsync >> 8) & 3) << 4 |
		((t->vfront >> 4) & 3) << 2 | ((t->vsync >> 4) & 3));
	d[12] = w_mm & 0xff;
	d[13] = h_mm & 0xff;
	d[14] = (uint8_t)(((w_mm >> 8) & 0xf) << 4 | ((h_mm >> 8) & 0xf));
	d[15] = 0;
	d[16] = 0;
	/* Digital separate sync; reduced blanking wants +hsync, -vsync. */
	d[17] = 0x18 | 0x02;
}

static void put_name(uint8_t *d, const char *name)
{
	memset(d, 0, 5);
	d[3] = 0xfc;
	size_t i = 0;
	for (; name && name[i] && i < 13; i++) {
		unsigned char c = (unsigned char)name[i];
		/* Descriptor strings are printable ASCII ending in a newline. */
		d[5 + i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	if (i < 13) {
		d[5 + i++] = 0x0a;
	}
	for (; i < 13; i++) {
		d[5 + i] = 0x20;
	}
}

static uint8_t clamp_u8(uint64_t v, uint8_t lo)
{
	return v < lo ? lo : v > 255 ? 255 : (uint8_t)v;
}

static void put_range_limits(uint8_t *d, uint32_t hz, const struct timing *const *ts, unsigned n)
{
	/* The line rate (kHz) and pixel clock every listed timing needs. */
	uint64_t hmin = UINT64_MAX, hmax = 0, clock_max = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct timing *t = ts[i];
		uint64_t htotal = (uint64_t)t->hactive + t->hblank;
		uint64_t hz10k = t->clock_10khz; /* 10 kHz units */
		uint64_t khz_lo = hz10k * 10 / htotal;
		uint64_t khz_hi = (hz10k * 10 + htotal - 1) / htotal;
		hmin = khz_lo < hmin ? khz_lo : hmin;
		hmax = khz_hi > hmax ? khz_hi : hmax;
		clock_max = hz10k > clock_max ? hz10k : clock_max;
	}
	memset(d, 0, 18);
	d[3] = 0xfd;
	uint8_t flags = 0;
	/* Line rates above 255 kHz use the +255 offsets (EDID 1.4). */
	if (hmax > 255) {
		flags |= 0x08;
		hmax -= 255;
		if (hmin > 255) {
			flags |= 0x04;
			hmin -= 255;
		}
	}
	d[4] = flags;
	d[5] = clamp_u8(hz > 1 ? hz - 1 : 1, 1);
	d[6] = clamp_u8((uint64_t)hz + 1, 1);
	d[7] = clamp_u8(hmin, 1);
	d[8] = clamp_u8(hmax, 1);
	/* Max pixel clock in 10 MHz units, rounded up. */
	d[9] = clamp_u8((clock_max + 999) / 1000, 1);
	d[10] = 0x01; /* range limits only: no GTF/CVT formula support claimed */
	d[11] = 0x0a;
	memset(d + 12, 0x20, 6);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum = (uint8_t)(sum + p[i]);
	}
	return (uint8_t)(0x100 - sum);
}

static void put_le16(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void put_le16_minus1(uint8_t *p, uint32_t v)
{
	put_le16(p, v - 1);
}

/* DisplayID 1.3 data blocks: a 3-byte header, then the payload. */
static uint8_t *put_dispid_block(uint8_t *p, uint8_t tag, uint8_t len)
{
	p[0] = tag;
	p[1] = 0;   /* revision */
	p[2] = len;
	return p + 3;
}

static void put_displayid(uint8_t *b, const struct timing *t, uint32_t w_mm, uint32_t h_mm)
{
	memset(b, 0, EDID_BLOCK);
	b[0] = 0x70;           /* DisplayID extension tag */
	uint8_t *s = b + 1;    /* the DisplayID section */
	s[0] = 0x13;           /* DisplayID 1.3 */
	s[2] = 0x03;           /* product type: standalone display device */
	s[3] = 0;              /* no extension sections */
	uint8_t *p = s + 4;

	/* Product identification: must come first in a base section. */
	uint8_t *d = put_dispid_block(p, 0x00, 12);
	memcpy(d, "ZNL", 3);
	put_le16(d + 3, 1);    /* product code, as in the base block */
	d[10] = 2024 - 2000;   /* d[9] week 0: unspecified; d[11] no name */
	p = d + 12;

	/* Display parameters: size in 0.1 mm, native pixels. */
	d = put_dispid_block(p, 0x01, 12);
	put_le16(d, w_mm * 10 > 0xffff ? 0xffff : w_mm * 10);
	put_le16(d + 2, h_mm * 10 > 0xffff ? 0xffff : h_mm * 10);
	put_le16(d + 4, t->hactive > 0xffff ? 0xffff : t->hactive);
	put_le16(d + 6, t->vactive > 0xffff ? 0xffff : t->vactive);
	d[8] = 0;              /* no special features */
	d[9] = 120;            /* gamma 2.2 */
	/* Aspect ratio as (long side / short side - 1) * 100. */
	uint64_t lo = t->hactive < t->vactive ? t->hactive : t->vactive;
	uint64_t hi = t->hactive < t->vactive ? t->vactive : t->hactive;
	uint64_t ar = (hi * 100 + lo / 2) / lo - 100;
	d[10] = ar > 254 ? 254 : (uint8_t)ar;
	d[11] = 0x77;          /* 8 bits per colour, native and overall */
	p = d + 12;

	/* Display interface: digital, 8 bits per colour RGB. */
	d = put_dispid_block(p, 0x0f, 10);
	d[0] = 0xa4;           /* DisplayPort, four lanes */
	d[2] = 0x02;           /* RGB at 8 bpc */
	p = d + 10;

	/* The mode itself: type I detailed timing, marked preferred. */
	d = put_dispid_block(p, 0x03, 20);
	uint32_t clock = t->clock_10khz - 1;
	d[0] = clock & 0xff;
	d[1] = (clock >> 8) & 0xff;
	d[2] = (clock >> 16) & 0xff;
	d[3] = 0x80 | 0x08;    /* preferred, aspect ratio left undefined */
	put_le16_minus1(d + 4, t->hactive);
	put_le16_minus1(d + 6, t->hblank);
	put_le16_minus1(d + 8, t->hfront);
	d[9] |= 0x80;          /* +hsync */
	put_le16_minus1(d + 10, t->hsync);
	put_le16_minus1(d + 12, t->vactive);
	put_le16_minus1(d + 14, t->vblank);
	put_le16_minus1(d + 16, t->vfront); /* -vsync: bit 15 clear */
	put_le16_minus1(d + 18, t->vsync);
	p = d + 20;

	s[1] = (uint8_t)(p - (s + 4));
	/* Section checksum covers its 4 header bytes, payload and itself. */
	size_t section_len = 4 + s[1];
	s[section_len] = checksum(s, section_len);
	b[EDID_BLOCK - 1] = checksum(b, EDID_BLOCK - 1);
}

int vgpu_edid_generate(uint8_t *buf, size_t len, uint32_t width, uint32_t height,
	uint32_t refresh_hz, const char *name)
{
	return vgpu_edid_generate_mm(buf, len, width, height, refresh_hz, name, 0, 0);
}

int vgpu_edid_generate_mm(uint8_t *buf, size_t len, uint32_t width, uint32_t height,
	uint32_t refresh_hz, const char *name, uint32_t size_w_mm, uint32_t size_h_mm)
{
	if (refresh_hz == 0) {
		refresh_hz = 60;
	}
	/* DisplayID type I timings hold 16-bit sizes; range limits 8-bit rates. */
	if (!buf || width == 0 || height == 0 || width > 0x10000 || height > 0x10000 ||
			refresh_hz > 250) {
		return -EINVAL;
	}

	struct timing mode, base;
	cvt_rb(width, height, refresh_hz, &mode);
	base = mode;
	bool extension = !fits_dtd(&mode);
	if (extension) {
		/* The smallest integer downscale the base block can express. */
		for (uint32_t k = 2;; k++) {
			cvt_rb((width + k - 1) / k, (height + k - 1) / k, refresh_hz, &base);
			if (fits_dtd(&base)) {
				break;
			}
		}
		if (mode.clock_10khz > 0xffffff) {
			return -EINVAL;
		}
	}
	size_t total = extension ? 2 * EDID_BLOCK : EDID_BLOCK;
	if (len < total) {
		return -ENOSPC;
	}

	uint8_t *b = buf;
	memset(b, 0, EDID_BLOCK);
	static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	memcpy(b, header, sizeof(header));
	/* Manufacturer "ZNL": three 5-bit letters, big-endian. */
	uint16_t mfg = (uint16_t)(('Z' - '@') << 10 | ('N' - '@') << 5 | ('L' - '@'));
	b[8] = mfg >> 8;
	b[9] = mfg & 0xff;
	b[10] = 0x01;          /* product code */
	b[11] = 0x00;
	b[16] = 0;             /* week unspecified */
	b[17] = 2024 - 1990;   /* year of manufacture */
	b[18] = 1;             /* EDID 1.4 */
	b[19] = 4;
	b[20] = 0x80 | 0x20;   /* digital input, 8 bits per colour */
	uint32_t w_mm = size_w_mm && size_h_mm ? size_w_mm : PX_TO_MM(width);
	uint32_t h_mm = size_w_mm && size_h_mm ? size_h_mm : PX_TO_MM(height);
	if (w_mm < 100 || h_mm < 100 || w_mm > 2550 || h_mm > 2550) {
		/* Not expressible in whole cm up to 255: say "unknown" rather
		 * than a wrong aspect ratio. */
		w_mm = h_mm = 0;
	}
	b[21] = (uint8_t)((w_mm + 5) / 10);
	b[22] = (uint8_t)((h_mm + 5) / 10);
	b[23] = 120;           /* gamma 2.2 */
	/* RGB 4:4:4, sRGB default colour space, preferred timing is native. */
	b[24] = 0x04 | 0x02;
	/* sRGB chromaticity, 10-bit fractions of 1024. */
	static const uint16_t chroma[8] = {
		655, 338,  /* red   0.640 0.330 */
		307, 614,  /* green 0.300 0.600 */
		154, 61,   /* blue  0.150 0.060 */
		320, 337,  /* white 0.3127 0.3290 (D65) */
	};
	b[25] = (uint8_t)((chroma[0] & 3) << 6 | (chroma[1] & 3) << 4 |
		(chroma[2] & 3) << 2 | (chroma[3] & 3));
	b[26] = (uint8_t)((chroma[4] & 3) << 6 | (chroma[5] & 3) << 4 |
		(chroma[6] & 3) << 2 | (chroma[7] & 3));
	for (int i = 0; i < 8; i++) {
		b[27 + i] = (uint8_t)(chroma[i] >> 2);
	}
	/* No established timings (35..37 stay 0); standard timings unused. */
	for (int i = 38; i < 54; i++) {
		b[i] = 0x01;
	}
	put_dtd(b + 54, &base, w_mm, h_mm);
	put_name(b + 72, name && name[0] ? name : "virtio-zonal");
	const struct timing *ts[2] = { &base, &mode };
	put_range_limits(b + 90, refresh_hz, ts, extension ? 2 : 1);
	/* Dummy descriptor. */
	b[108 + 3] = 0x10;
	b[126] = extension ? 1 : 0;
	b[127] = checksum(b, EDID_BLOCK - 1);

	if (extension) {
		put_displayid(buf + EDID_BLOCK, &mode, w_mm, h_mm);
	}
	return (int)total;
}

int vgpu_edid_parse(const uint8_t *edid, size_t len, struct vgpu_edid_info *info)
{
	static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	memset(info, 0, sizeof(*info));
	if (len < EDID_BLOCK || len % EDID_BLOCK || memcmp(edid, header, sizeof(header)) != 0 ||
		checksum(edid, EDID_BLOCK - 1) != edid[EDID_BLOCK - 1]) {
		return -EBADMSG;
	}
	uint16_t mfg = (uint16_t)(edid[8] << 8 | edid[9]);
	for (int i = 0; i < 3; i++) {
		unsigned c = (mfg >> (10 - 5 * i)) & 0x1f;
		info->manufacturer[i] = c >= 1 && c <= 26 ? (char)('@' + c) : '?';
	}
	info->product = (uint16_t)(edid[10] | edid[11] << 8);
	info->width_mm = edid[21] * 10u;
	info->height_mm = edid[22] * 10u;
	/* Four 18-byte descriptors: the first detailed timing is the
	 * preferred mode (and has the size in mm); 0xFC is the name. */
	for (int d = 0; d < 4; d++) {
		const uint8_t *p = edid + 54 + 18 * d;
		uint16_t clock = (uint16_t)(p[0] | p[1] << 8);
		if (clock != 0) {
			if (info->pref_width == 0) {
				info->pref_width = p[2] | (uint32_t)(p[4] & 0xf0) << 4;
				info->pref_height = p[5] | (uint32_t)(p[7] & 0xf0) << 4;
				uint32_t wmm = p[12] | (uint32_t)(p[14] & 0xf0) << 4;
				uint32_t hmm = p[13] | (uint32_t)(p[14] & 0x0f) << 8;
				if (wmm && hmm) {
					info->width_mm = wmm;
					info->height_mm = hmm;
				}
			}
		} else if (p[3] == 0xfc) {
			size_t n = 0;
			for (; n < 13 && p[5 + n] != '\n'; n++) {
				uint8_t c = p[5 + n];
				info->name[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
			}
			info->name[n] = '\0';
		}
	}
	return 0;
}
