/* SPDX-License-Identifier: MIT */
/* Feeds QEMU-side bytes to gs_qemu_ui through its feed seam. The first byte
 * picks the transport (even: RFB, odd: QMP then D-Bus), the second how the
 * rest is cut into reads; the client's own writes go to a socketpair nobody
 * reads, so getfd's SCM_RIGHTS and every reply path run for real. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gpu-server/qemu-ui.h"
#include "util/log.h"
#include "util/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		zl_log_init(ZL_SILENT);
		quiet = true;
	}
	if (size < 2) {
		return 0;
	}
	bool qmp = data[0] & 1;
	size_t chunk = data[1] ? data[1] : size;
	data += 2;
	size -= 2;

	struct zl_loop *loop = zl_loop_create();
	int sv[2];
	if (!loop || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		zl_loop_destroy(loop);
		return 0;
	}
	struct gs_qemu_ui *ui = gs_qemu_ui_create_with_fd(loop,
		qmp ? "qmp:/nonexistent/zonal-fuzz" : "vnc:/nonexistent/zonal-fuzz", "fuzz", sv[0]);
	if (ui) {
		/* Queued events go out as soon as a handshake completes. */
		gs_qemu_ui_display_event(ui, 0, true, 1024, 768);
		gs_qemu_ui_display_event(ui, 1, false, 0, 0);
		while (size > 0) {
			size_t n = size < chunk ? size : chunk;
			if (gs_qemu_ui_feed(ui, data, n) < 0) {
				break;
			}
			gs_qemu_ui_display_event(ui, 0, n & 1, 640, 480);
			data += n;
			size -= n;
		}
		gs_qemu_ui_destroy(ui);
	}
	close(sv[1]);
	zl_loop_destroy(loop);
	return 0;
}
