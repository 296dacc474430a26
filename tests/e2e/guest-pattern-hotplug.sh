#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2e: pattern follows a display change. On QEMU's own virtio-gpu-pci, a VNC
# SetDesktopSize changes the output's preferred mode and raises
# VIRTIO_GPU_EVENT_DISPLAY; the guest kernel sends a hotplug uevent and
# pattern must switch to the new mode. The screendump must then show the
# pattern exactly at the new size.
#
# Usage: guest-pattern-hotplug.sh [BUILD_DIR]
# Exit: 0 pass, 1 fail, 77 skip (no QEMU, or pattern not built).
[ $# -eq 0 ] || export ZONAL_BUILD_DIR=$1
source "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
gl_init

gl_start_vm --gpu virtio-gpu-pci --res 1024x768 --qemu-arg=-vnc --qemu-arg="unix:$GL_TMP/vnc.sock"
gl_wait_pattern
grep -qE "pattern: .* mode 1024x768 .* crtc" "$GL_TMP/console.log" || gl_fail "pattern did not start at 1024x768"

gl_vnc_resize "$GL_TMP/vnc.sock" 800 600 || gl_fail "VNC resize request"
gl_wait_console "pattern: .* mode 800x600 .* crtc [0-9]+" 30
grep -E "pattern: (hotplug|.*stopping|.* mode 800x600)" "$GL_TMP/console.log"
gl_check_moving_pattern
for f in a.ppm b.png; do
	"$GL_REPO/tools/check-pattern" "$GL_TMP/$f" | grep -q "(800x600)" || gl_fail "$f is not 800x600"
done
echo "PASS: pattern switched 1024x768 -> 800x600 on hotplug; bars exact, square moved $GL_SQUARES"
