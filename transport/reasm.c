/* SPDX-License-Identifier: MIT */
#include "reasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "media.h"

struct slot {
	bool used;
	bool failed;   /* a bad packet: absorbs the rest of its packets, then lost */
	uint32_t frame_id;
	bool key;
	uint64_t capture_ns;
	uint32_t rtp_ts;
	uint16_t count;
	uint16_t base_seq; /* seq - index, the same for every packet */
	uint32_t total;
	uint32_t frag;     /* fragment size; 0 until a packet tells it */
	unsigned received;
	uint8_t *have;     /* one bit per packet index */
	uint8_t *data;
	uint64_t first_ns, last_ns;
};

struct xport_reasm {
	struct xport_reasm_config config;
	struct slot slots[XPORT_REASM_SLOTS];
	/* Highest frame id delivered or given up: nothing at or below it is
	 * accepted again. */
	bool have_floor;
	uint32_t floor;
	uint64_t lost_unreported;
	struct xport_reasm_stats stats;
};

struct xport_reasm *xport_reasm_create(const struct xport_reasm_config *config)
{
	struct xport_reasm *r = calloc(1, sizeof(*r));
	if (!r) {
		return NULL;
	}
	r->config = *config;
	return r;
}

static void slot_free(struct slot *s)
{
	free(s->have);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

void xport_reasm_destroy(struct xport_reasm *r)
{
	if (!r) {
		return;
	}
	for (unsigned i = 0; i < XPORT_REASM_SLOTS; i++) {
		slot_free(&r->slots[i]);
	}
	free(r);
}

static void count_lost(struct xport_reasm *r, uint64_t n)
{
	r->stats.frames_lost += n;
	r->lost_unreported += n;
}

/* The floor moves to frame id `id`, which is being delivered or dropped;
 * ids skipped on the way were never seen and are lost too. */
static void advance_floor(struct xport_reasm *r, uint32_t id)
{
	if (r->have_floor) {
		int32_t gap = xport_serial32_diff(id, r->floor);
		if (gap > XPORT_REASM_RESYNC) {
			count_lost(r, 1); /* a jump: how many is unknown */
		} else if (gap > 1) {
			count_lost(r, (uint64_t)gap - 1);
		}
	}
	r->have_floor = true;
	r->floor = id;
}

static struct slot *oldest_slot(struct xport_reasm *r)
{
	struct slot *best = NULL;
	for (unsigned i = 0; i < XPORT_REASM_SLOTS; i++) {
		struct slot *s = &r->slots[i];
		if (s->used && (!best || xport_serial32_diff(s->frame_id, best->frame_id) < 0)) {
			best = s;
		}
	}
	return best;
}

/* Gives up slot s (the oldest in flight). */
static void drop_slot(struct xport_reasm *r, struct slot *s)
{
	advance_floor(r, s->frame_id);
	count_lost(r, 1);
	slot_free(s);
}

static struct slot *find_slot(struct xport_reasm *r, uint32_t frame_id)
{
	for (unsigned i = 0; i < XPORT_REASM_SLOTS; i++) {
		if (r->slots[i].used && r->slots[i].frame_id == frame_id) {
			return &r->slots[i];
		}
	}
	return NULL;
}

static struct slot *new_slot(struct xport_reasm *r, const struct xport_rtp_packet *p,
	const struct xport_media_phdr *h, uint64_t now_ns)
{
	struct slot *s = NULL;
	for (unsigned i = 0; i < XPORT_REASM_SLOTS && !s; i++) {
		if (!r->slots[i].used) {
			s = &r->slots[i];
		}
	}
	if (!s) {
		/* Full: the oldest frame gives way, unless the newcomer is older
		 * still (then the newcomer is the one not worth keeping). */
		struct slot *old = oldest_slot(r);
		if (xport_serial32_diff(p->frame_id, old->frame_id) < 0) {
			return NULL;
		}
		drop_slot(r, old);
		s = old;
	}
	s->data = malloc(h->total);
	s->have = calloc((size_t)h->count / 8 + 1, 1);
	if (!s->data || !s->have) {
		slot_free(s);
		return NULL;
	}
	s->used = true;
	s->frame_id = p->frame_id;
	s->key = h->flags & XPORT_MEDIA_FLAG_KEY;
	s->capture_ns = p->capture_ns;
	s->rtp_ts = p->ts;
	s->count = h->count;
	s->base_seq = (uint16_t)(p->seq - h->index);
	s->total = h->total;
	s->first_ns = now_ns;
	s->last_ns = now_ns;
	return s;
}

/* Does packet (h, n bytes of fragment) fit slot s and the fragment size? */
static bool fragment_consistent(struct slot *s, const struct xport_media_phdr *h, size_t n)
{
	bool last = h->index + 1u == s->count;
	uint64_t frag = s->frag;
	if (frag == 0) {
		/* Learn the fragment size from this packet. */
		if (!last) {
			frag = n;
		} else if (s->count == 1) {
			frag = s->total;
		} else {
			if (h->offset % (s->count - 1u) != 0) {
				return false;
			}
			frag = h->offset / (s->count - 1u);
		}
		/* count-1 full fragments plus a last one of 1..frag bytes. */
		if (frag == 0 || (uint64_t)(s->count - 1u) * frag >= s->total ||
			(uint64_t)s->count * frag < s->total) {
			return false;
		}
	}
	if ((uint64_t)h->offset != (uint64_t)h->index * frag) {
		return false;
	}
	if (last ? h->offset + n != s->total : n != frag) {
		return false;
	}
	s->frag = (uint32_t)frag;
	return true;
}

int xport_reasm_push(struct xport_reasm *r, const struct xport_rtp_packet *p, uint64_t now_ns)
{
	struct xport_media_phdr h;
	size_t n;
	if (p->ssrc != r->config.ssrc || p->pt != r->config.payload_type || !p->has_frame_id ||
		!p->has_capture || xport_media_phdr_parse(p->payload, p->payload_len, &h, &n) < 0) {
		r->stats.rejected++;
		return -EBADMSG;
	}
	const uint8_t *frag = p->payload + h.size;
	struct slot *s = find_slot(r, p->frame_id);
	if (!s) {
		int32_t behind = r->have_floor ? xport_serial32_diff(p->frame_id, r->floor) : 1;
		if (behind < -XPORT_REASM_RESYNC) {
			r->have_floor = false;
			r->stats.resyncs++;
		} else if (behind <= 0) {
			r->stats.late++;
			return 0;
		}
		if (h.total > r->config.max_frame_bytes || p->marker != (h.index + 1u == h.count)) {
			r->stats.rejected++;
			return -EBADMSG;
		}
		s = new_slot(r, p, &h, now_ns);
		if (!s) {
			r->stats.late++;
			return 0;
		}
	}
	if (s->failed) {
		r->stats.rejected++;
		return -EBADMSG;
	}
	bool key = h.flags & XPORT_MEDIA_FLAG_KEY;
	if (key != s->key || h.count != s->count || h.total != s->total || p->ts != s->rtp_ts ||
		p->capture_ns != s->capture_ns || (uint16_t)(p->seq - h.index) != s->base_seq ||
		p->marker != (h.index + 1u == h.count) || !fragment_consistent(s, &h, n)) {
		s->failed = true;
		r->stats.rejected++;
		return -EBADMSG;
	}
	uint8_t bit = (uint8_t)(1u << (h.index & 7));
	if (s->have[h.index / 8] & bit) {
		if (memcmp(s->data + h.offset, frag, n) != 0) {
			s->failed = true;
			r->stats.rejected++;
			return -EBADMSG;
		}
		r->stats.duplicates++;
		r->stats.packets++;
		r->stats.bytes += p->payload_len;
		return 0;
	}
	memcpy(s->data + h.offset, frag, n);
	s->have[h.index / 8] |= bit;
	s->received++;
	s->last_ns = now_ns;
	r->stats.packets++;
	r->stats.bytes += p->payload_len;
	return 0;
}

static bool slot_complete(const struct slot *s)
{
	return s->used && !s->failed && s->received == s->count;
}

bool xport_reasm_pop(struct xport_reasm *r, struct xport_reasm_frame *frame)
{
	for (;;) {
		struct slot *s = oldest_slot(r);
		if (!s) {
			return false;
		}
		if (s->failed) {
			drop_slot(r, s);
			continue;
		}
		if (slot_complete(s)) {
			*frame = (struct xport_reasm_frame){
				.frame_id = s->frame_id,
				.key = s->key,
				.capture_ns = s->capture_ns,
				.rtp_ts = s->rtp_ts,
				.first_ns = s->first_ns,
				.last_ns = s->last_ns,
				.n_packets = s->count,
				.data = s->data,
				.len = s->total,
			};
			s->data = NULL;
			advance_floor(r, s->frame_id);
			slot_free(s);
			r->stats.frames_complete++;
			return true;
		}
		/* The oldest is still incomplete: hold newer complete frames for
		 * it, but not beyond the reorder depth. */
		unsigned newer_complete = 0;
		for (unsigned i = 0; i < XPORT_REASM_SLOTS; i++) {
			if (&r->slots[i] != s && slot_complete(&r->slots[i])) {
				newer_complete++;
			}
		}
		if (newer_complete < XPORT_REASM_REORDER) {
			return false;
		}
		drop_slot(r, s);
	}
}

void xport_reasm_frame_finish(struct xport_reasm_frame *frame)
{
	free(frame->data);
	frame->data = NULL;
	frame->len = 0;
}

void xport_reasm_expire(struct xport_reasm *r, uint64_t now_ns, uint64_t timeout_ns)
{
	for (;;) {
		struct slot *s = oldest_slot(r);
		if (!s || slot_complete(s) || now_ns - s->last_ns < timeout_ns) {
			return;
		}
		drop_slot(r, s);
	}
}

bool xport_reasm_pending(const struct xport_reasm *r)
{
	for (unsigned i = 0; i < XPORT_REASM_SLOTS; i++) {
		if (r->slots[i].used) {
			return true;
		}
	}
	return false;
}

uint64_t xport_reasm_take_lost(struct xport_reasm *r)
{
	uint64_t n = r->lost_unreported;
	r->lost_unreported = 0;
	return n;
}

const struct xport_reasm_stats *xport_reasm_get_stats(const struct xport_reasm *r)
{
	return &r->stats;
}
