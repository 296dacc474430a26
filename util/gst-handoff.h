/* SPDX-License-Identifier: MIT */
#ifndef ZL_GST_HANDOFF_H
#define ZL_GST_HANDOFF_H

/* From GStreamer's streaming threads to a zl_loop: the samples of an
 * appsink queue here (beyond `max`, the oldest is dropped: the newest frame
 * matters) and an eventfd wakes the loop, which gets them in order in
 * `sample`. Errors and warnings the pipeline posts on its bus reach the loop
 * the same way, in `error`. Everything the loop sees runs on the loop. */

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <stdbool.h>

#include "loop.h"

struct zl_gst_handoff;

struct zl_gst_handoff_listener {
	/* The sample is the listener's to unref. */
	void (*sample)(void *data, GstSample *sample);
	/* An element said ERROR (fatal: the pipeline needs a restart) or
	 * WARNING; message is for a log. May be NULL. */
	void (*error)(void *data, bool fatal, const char *message);
};

/* Takes over sink's callbacks (sink may be NULL: the bus only) and
 * pipeline's bus sync handler. NULL on failure (no eventfd). */
struct zl_gst_handoff *zl_gst_handoff_create(struct zl_loop *loop, GstElement *pipeline,
	GstAppSink *sink, unsigned max, const struct zl_gst_handoff_listener *listener,
	void *data);
/* Stop the pipeline (GST_STATE_NULL) first: no thread may still call in.
 * Accepts NULL. */
void zl_gst_handoff_destroy(struct zl_gst_handoff *h);

/* Samples dropped because the loop had `max` waiting. */
uint64_t zl_gst_handoff_dropped(const struct zl_gst_handoff *h);

/* Initialises GStreamer and checks it has every element named (NULL-
 * terminated); logs which is missing (and `hint`: the Debian packages) and
 * returns false if one is. */
bool zl_gst_require(const char *who, const char *const *elements, const char *hint);

#endif
