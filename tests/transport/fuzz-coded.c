/* SPDX-License-Identifier: MIT */
/* Coded frame headers (transport/coded.h): whatever the bytes, the parser
 * returns a bitstream inside the buffer, of the size a raw frame needs,
 * only when the CRC (of header and bitstream) matches. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/coded.h"
#include "transport/control-proto.h"
#include "transport/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy) {
		return 0;
	}
	memcpy(copy, data, size);
	/* Half the inputs get a valid CRC, so the checks after it run too. */
	if (size > XPORT_CODED_HDR_SIZE && (size & 1)) {
		uint32_t crc = xport_crc32c(xport_crc32c(xport_crc32c(0, copy, 8), copy + 12, 4),
			copy + XPORT_CODED_HDR_SIZE, size - XPORT_CODED_HDR_SIZE);
		copy[8] = (uint8_t)(crc >> 24);
		copy[9] = (uint8_t)(crc >> 16);
		copy[10] = (uint8_t)(crc >> 8);
		copy[11] = (uint8_t)crc;
	}
	struct xport_coded_header h;
	const uint8_t *bs;
	size_t n;
	if (xport_coded_parse(copy, size, &h, &bs, &n) == 0) {
		if (bs != copy + XPORT_CODED_HDR_SIZE || n != size - XPORT_CODED_HDR_SIZE || n == 0 ||
			(h.codec == XPORT_CODEC_RAW && n != (size_t)h.width * h.height * 3) ||
			xport_crc32c(xport_crc32c(xport_crc32c(0, copy, 8), copy + 12, 4), bs, n) != h.crc) {
			abort();
		}
	}
	free(copy);
	return 0;
}
