#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2e: the test guest and its `pattern` app on QEMU's OWN virtio-gpu-pci (no
# virtio-zonal backend involved). Boots tools/guest-vm --gpu virtio-gpu-pci,
# waits until pattern has set a mode, takes QMP screendumps (PPM and PNG) and
# checks the 8 bars exactly with tools/check-pattern; two dumps a moment apart
# must show the white square at different places (the page flips run).
#
# Usage: guest-pattern-qemu-gpu.sh [BUILD_DIR]   (or ZONAL_BUILD_DIR=...)
# Exit: 0 pass, 1 fail, 77 skip (no QEMU, or pattern not built).
[ $# -eq 0 ] || export ZONAL_BUILD_DIR=$1
source "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
gl_init

gl_start_vm --gpu virtio-gpu-pci --res 1024x768
gl_wait_pattern
grep -qE "pattern: .* mode 1024x768 .* crtc" "$GL_TMP/console.log" || gl_fail "pattern did not use the offered 1024x768"
gl_check_moving_pattern

# Negative control: the checker must reject a picture that is not the pattern.
python3 - "$GL_TMP/a.ppm" "$GL_TMP/bad.ppm" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[-3 * 1000] ^= 0x01  # one bit of one pixel in the last row
open(sys.argv[2], "wb").write(data)
PY
if "$GL_REPO/tools/check-pattern" -q "$GL_TMP/bad.ppm" >/dev/null 2>&1; then
	gl_fail "check-pattern accepted a corrupted image"
fi
kill -0 "$GL_VM_PID" 2>/dev/null || gl_fail "QEMU died"
echo "PASS: pattern on virtio-gpu-pci: bars exact, square moved $GL_SQUARES"
