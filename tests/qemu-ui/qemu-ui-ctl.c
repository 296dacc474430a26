/* SPDX-License-Identifier: MIT */
/* Drives gs_qemu_ui by hand and from the e2e scripts:
 *
 *   qemu-ui-ctl [-t SECONDS] ADDRESS STEP...
 *     ADDRESS  qmp:PATH | vnc:PATH[,PATH1...]   (see gpu-server/qemu-ui.h)
 *     STEP     N:WxH   scanout N connected with a WxH panel
 *              N:off   scanout N disconnected
 *              wait:MS let MS milliseconds pass
 *
 * Each event step waits until QEMU has answered both requests of the event
 * before the next step runs. Exits 0 when every request was accepted, 1 on a
 * refusal or when SECONDS (default 60) pass first, 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu-server/qemu-ui.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"

static int usage(void)
{
	fprintf(stderr, "usage: qemu-ui-ctl [-t SECONDS] qmp:PATH|vnc:PATH[,PATH...] "
		"N:WxH|N:off|wait:MS...\n");
	return 2;
}

static uint64_t replies(const struct gs_qemu_ui *ui)
{
	struct gs_qemu_ui_stats st;
	gs_qemu_ui_get_stats(ui, &st);
	return st.requests_acked + st.requests_failed;
}

int main(int argc, char **argv)
{
	zl_log_init(ZL_INFO);
	double timeout_s = 60;
	int argi = 1;
	if (argi + 1 < argc && strcmp(argv[argi], "-t") == 0) {
		timeout_s = atof(argv[argi + 1]);
		argi += 2;
	}
	if (argi + 2 > argc || timeout_s <= 0) {
		return usage();
	}
	const char *address = argv[argi++];

	struct zl_loop *loop = zl_loop_create();
	if (!loop) {
		return 1;
	}
	struct gs_qemu_ui *ui = gs_qemu_ui_create(loop, address, "ctl");
	if (!ui) {
		zl_loop_destroy(loop);
		return 2;
	}

	int rc = 0;
	uint64_t deadline = zl_now_ns() + (uint64_t)(timeout_s * 1e9);
	uint64_t want_replies = 0;
	for (; argi < argc && rc == 0; argi++) {
		const char *step = argv[argi];
		unsigned scanout, w = 0, h = 0, ms;
		char tail, word[16];
		bool connected;
		if (sscanf(step, "wait:%u%c", &ms, &tail) == 1) {
			uint64_t until = zl_now_ns() + (uint64_t)ms * 1000000ull;
			while (zl_now_ns() < until) {
				zl_loop_dispatch(loop, 10);
			}
			continue;
		}
		if (sscanf(step, "%u:%ux%u%c", &scanout, &w, &h, &tail) == 3) {
			connected = true;
		} else if (sscanf(step, "%u:%15s", &scanout, word) == 2 && strcmp(word, "off") == 0) {
			connected = false;
		} else {
			rc = usage();
			break;
		}
		int r = gs_qemu_ui_display_event(ui, scanout, connected, w, h);
		if (r < 0) {
			fprintf(stderr, "qemu-ui-ctl: %s: %s\n", step, strerror(-r));
			rc = 2;
			break;
		}
		/* Two requests per event: the decoy and the target. */
		want_replies += 2;
		while (replies(ui) < want_replies) {
			if (zl_now_ns() > deadline) {
				fprintf(stderr, "qemu-ui-ctl: %s: no answer from QEMU in time\n", step);
				rc = 1;
				break;
			}
			zl_loop_dispatch(loop, 20);
		}
		struct gs_qemu_ui_stats st;
		gs_qemu_ui_get_stats(ui, &st);
		if (st.requests_failed > 0) {
			fprintf(stderr, "qemu-ui-ctl: %s: QEMU refused the event\n", step);
			rc = 1;
		} else if (rc == 0) {
			printf("qemu-ui-ctl: %s: accepted\n", step);
			fflush(stdout);
		}
	}

	gs_qemu_ui_destroy(ui);
	zl_loop_destroy(loop);
	return rc;
}
