#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2e: the test guest over vhost-user-gpu, served by QEMU's REFERENCE backend
# (the vhost-user-gpu program from Debian's qemu-system-gui), not ours: proves
# tools/guest-vm's vhost-user path and the guest independently of gpu-server.
# QEMU's console shows the scanout, so QMP screendumps are checked exactly.
#
# Usage: guest-pattern-vhost-user-ref.sh [BUILD_DIR]
# Env: ZONAL_VHOST_USER_GPU=PATH of the reference backend (default: searched).
# Exit: 0 pass, 1 fail, 77 skip (no QEMU, pattern or reference backend).
[ $# -eq 0 ] || export ZONAL_BUILD_DIR=$1
source "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
gl_init

ref=${ZONAL_VHOST_USER_GPU:-}
if [ -z "$ref" ]; then
	for p in /usr/lib/qemu/vhost-user-gpu /usr/libexec/vhost-user-gpu /usr/libexec/qemu/vhost-user-gpu; do
		[ -x "$p" ] && ref=$p && break
	done
fi
[ -n "$ref" ] && [ -x "$ref" ] || gl_skip "QEMU's vhost-user-gpu not found (Debian qemu-system-gui; or set ZONAL_VHOST_USER_GPU)"

"$ref" -s "$GL_TMP/gpu.sock" >"$GL_TMP/vhost-user-gpu.log" 2>&1 &
GL_PIDS+=("$!")
gl_start_vm --vhost-user "$GL_TMP/gpu.sock"
gl_wait_pattern
gl_check_moving_pattern
kill -0 "$GL_VM_PID" 2>/dev/null || gl_fail "QEMU died"
echo "PASS: pattern over vhost-user ($ref): bars exact, square moved $GL_SQUARES"
