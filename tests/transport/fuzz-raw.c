/* SPDX-License-Identifier: MIT */
/* RFC 4175 payload parsing (transport/rfc4175.h): whatever the packet says,
 * segments stay inside the frame and the packet. Input: u16le width,
 * u16le height (each 1..512), then the RTP payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rfc4175.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct frame {
	uint32_t w, h;
	uint8_t *px;
};

static void seg(void *data, uint32_t line, uint32_t offset, const uint8_t *px, size_t n)
{
	struct frame *f = data;
	if (line >= f->h || offset > f->w || n > f->w - offset) {
		abort();
	}
	memcpy(f->px + ((size_t)line * f->w + offset) * 3, px, n * 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4) {
		return 0;
	}
	struct frame f = { 1 + (data[0] | data[1] << 8) % 512, 1 + (data[2] | data[3] << 8) % 512,
		NULL };
	f.px = malloc((size_t)f.w * f.h * 3);
	if (!f.px) {
		return 0;
	}
	uint8_t *copy = malloc(size - 4 ? size - 4 : 1);
	if (copy) {
		memcpy(copy, data + 4, size - 4);
		uint16_t esn;
		xport_raw_parse(copy, size - 4, f.w, f.h, &esn, seg, &f);
		free(copy);
	}
	free(f.px);
	return 0;
}
