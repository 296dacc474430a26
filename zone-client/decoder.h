/* SPDX-License-Identifier: MIT */
#ifndef ZC_DECODER_H
#define ZC_DECODER_H

/* The lossy codecs' decoder (h264: avdec_h264, slice threads only, so no
 * frame of delay, and output-corrupt=false; jpeg: jpegdec), GStreamer doing
 * the work on its own thread: the session's loop hands it whole,
 * CRC-checked frames (transport/coded.h) and gets each decoded picture back
 * on the loop. A picture comes back only if the decoder decoded it without
 * error; on an error the decoder says so (the session waits for a key
 * frame) and starts over clean. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/loop.h"

struct zc_decoder;

struct zc_decoder_listener {
	/* Frame frame_id decoded: width x height BGRx (x8r8g8b8) pixels,
	 * stride bytes apart, valid during the call. */
	void (*decoded)(void *data, uint32_t frame_id, const uint8_t *pixels, size_t stride);
	/* The decoder failed (message for a log): frames handed in since the
	 * last key frame are lost; it takes key frames again. */
	void (*failed)(void *data, const char *message);
};

/* Is GStreamer there with the codec's decoder? false (logs why) if not. */
bool zc_decoder_available(uint8_t codec);

/* codec: XPORT_CODEC_H264 or XPORT_CODEC_JPEG. NULL (logs why) on failure. */
struct zc_decoder *zc_decoder_create(struct zl_loop *loop, uint8_t codec, uint32_t width,
	uint32_t height, const struct zc_decoder_listener *listener, void *data);
/* Accepts NULL. */
void zc_decoder_destroy(struct zc_decoder *d);

/* Decodes one frame's bitstream (copied). Returns 0 or -ENOMEM/-EPIPE. */
int zc_decoder_push(struct zc_decoder *d, const uint8_t *bitstream, size_t len,
	uint32_t frame_id);

/* Frames handed in and not yet back (decoded or failed). */
unsigned zc_decoder_in_flight(const struct zc_decoder *d);

#endif
