/* SPDX-License-Identifier: MIT */
#include "gst-handoff.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

#define MAX_QUEUE 16

struct zl_gst_handoff {
	struct zl_gst_handoff_listener listener;
	void *data;
	GstElement *pipeline;
	int fd;
	struct zl_source *src;
	pthread_mutex_t lock;
	/* Under lock. */
	GstSample *queue[MAX_QUEUE];
	unsigned n, max;
	uint64_t dropped;
	bool error, fatal;
	char message[256];
};

static void wake(struct zl_gst_handoff *h)
{
	uint64_t one = 1;
	if (write(h->fd, &one, sizeof(one)) < 0) {
		/* The counter is non-zero already: the loop will look. */
	}
}

/* Streaming thread. */
static GstFlowReturn on_new_sample(GstAppSink *sink, gpointer data)
{
	struct zl_gst_handoff *h = data;
	GstSample *sample = gst_app_sink_pull_sample(sink);
	if (!sample) {
		return GST_FLOW_EOS;
	}
	GstSample *old = NULL;
	pthread_mutex_lock(&h->lock);
	if (h->n == h->max) {
		old = h->queue[0];
		memmove(h->queue, h->queue + 1, (h->n - 1) * sizeof(h->queue[0]));
		h->n--;
		h->dropped++;
	}
	h->queue[h->n++] = sample;
	pthread_mutex_unlock(&h->lock);
	if (old) {
		gst_sample_unref(old);
	}
	wake(h);
	return GST_FLOW_OK;
}

/* Any thread that posts. */
static GstBusSyncReply on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	(void)bus;
	struct zl_gst_handoff *h = data;
	GstMessageType t = GST_MESSAGE_TYPE(msg);
	if (t != GST_MESSAGE_ERROR && t != GST_MESSAGE_WARNING) {
		return GST_BUS_DROP;
	}
	GError *err = NULL;
	if (t == GST_MESSAGE_ERROR) {
		gst_message_parse_error(msg, &err, NULL);
	} else {
		gst_message_parse_warning(msg, &err, NULL);
	}
	pthread_mutex_lock(&h->lock);
	h->error = true;
	h->fatal |= t == GST_MESSAGE_ERROR;
	snprintf(h->message, sizeof(h->message), "%s: %s",
		GST_MESSAGE_SRC(msg) ? GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)) : "?",
		err ? err->message : "?");
	pthread_mutex_unlock(&h->lock);
	g_clear_error(&err);
	wake(h);
	return GST_BUS_DROP;
}

static void on_wake(void *data, int fd, uint32_t events)
{
	(void)events;
	struct zl_gst_handoff *h = data;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing new. */
	}
	pthread_mutex_lock(&h->lock);
	bool error = h->error, fatal = h->fatal;
	char message[sizeof(h->message)];
	memcpy(message, h->message, sizeof(message));
	h->error = h->fatal = false;
	pthread_mutex_unlock(&h->lock);
	if (error && h->listener.error) {
		h->listener.error(h->data, fatal, message);
	}
	for (;;) {
		GstSample *sample = NULL;
		pthread_mutex_lock(&h->lock);
		if (h->n) {
			sample = h->queue[0];
			memmove(h->queue, h->queue + 1, (h->n - 1) * sizeof(h->queue[0]));
			h->n--;
		}
		pthread_mutex_unlock(&h->lock);
		if (!sample) {
			return;
		}
		h->listener.sample(h->data, sample);
	}
}

struct zl_gst_handoff *zl_gst_handoff_create(struct zl_loop *loop, GstElement *pipeline,
	GstAppSink *sink, unsigned max, const struct zl_gst_handoff_listener *listener,
	void *data)
{
	struct zl_gst_handoff *h = calloc(1, sizeof(*h));
	if (!h) {
		return NULL;
	}
	h->listener = *listener;
	h->data = data;
	h->max = max < 1 ? 1 : max > MAX_QUEUE ? MAX_QUEUE : max;
	pthread_mutex_init(&h->lock, NULL);
	h->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->src = h->fd >= 0 ? zl_loop_add_fd(loop, h->fd, EPOLLIN, on_wake, h) : NULL;
	if (!h->src) {
		zl_log_errno(ZL_ERROR, "GStreamer handoff: eventfd");
		zl_gst_handoff_destroy(h);
		return NULL;
	}
	h->pipeline = gst_object_ref(pipeline);
	GstBus *bus = gst_element_get_bus(pipeline);
	gst_bus_set_sync_handler(bus, on_bus, h, NULL);
	gst_object_unref(bus);
	if (sink) {
		GstAppSinkCallbacks cb = { .new_sample = on_new_sample };
		gst_app_sink_set_callbacks(sink, &cb, h, NULL);
	}
	return h;
}

void zl_gst_handoff_destroy(struct zl_gst_handoff *h)
{
	if (!h) {
		return;
	}
	if (h->pipeline) {
		GstBus *bus = gst_element_get_bus(h->pipeline);
		gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
		gst_object_unref(bus);
		gst_object_unref(h->pipeline);
	}
	for (unsigned i = 0; i < h->n; i++) {
		gst_sample_unref(h->queue[i]);
	}
	zl_source_remove(h->src);
	if (h->fd >= 0) {
		close(h->fd);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

uint64_t zl_gst_handoff_dropped(const struct zl_gst_handoff *h)
{
	return __atomic_load_n(&h->dropped, __ATOMIC_RELAXED);
}

bool zl_gst_require(const char *who, const char *const *elements, const char *hint)
{
	GError *err = NULL;
	if (!gst_init_check(NULL, NULL, &err)) {
		zl_err("%s: GStreamer: %s", who, err ? err->message : "cannot initialise");
		g_clear_error(&err);
		return false;
	}
	for (const char *const *e = elements; *e; e++) {
		GstElementFactory *f = gst_element_factory_find(*e);
		if (!f) {
			zl_err("%s: GStreamer has no %s (Debian: %s)", who, *e, hint);
			return false;
		}
		gst_object_unref(f);
	}
	return true;
}
