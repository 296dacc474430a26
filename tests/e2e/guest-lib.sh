#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Helpers for the guest-*.sh e2e tests (sourced, not a test itself): start
# tools/guest-vm, wait for console lines, take QMP screendumps, clean up.
# Env: ZONAL_BUILD_DIR (default REPO/build), ZONAL_E2E_BOOT_TIMEOUT (s, default
# 180), ZONAL_E2E_KEEP=1 keeps the temp dir.
set -euo pipefail

GL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GL_BUILD=${ZONAL_BUILD_DIR:-$GL_REPO/build}
GL_BUILD=$(cd "$GL_BUILD" 2>/dev/null && pwd || echo "$GL_BUILD")
export ZONAL_BUILD_DIR=$GL_BUILD
GL_BOOT_TIMEOUT=${ZONAL_E2E_BOOT_TIMEOUT:-180}
GL_PIDS=()
GL_VM_PID=

gl_skip() { echo "SKIP: $*"; exit 77; }

gl_fail() {
	echo "FAIL: $*"
	local f
	for f in "$GL_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 40 lines) ----"
		tail -n 40 "$f"
	done
	exit 1
}

gl_cleanup() {
	local pid i
	for pid in "${GL_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${GL_PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "${ZONAL_E2E_KEEP:-0}" = 1 ]; then
		echo "kept $GL_TMP"
	else
		rm -rf "$GL_TMP"
	fi
}

# gl_init: skip without QEMU or the guest app; make the temp dir.
gl_init() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 || gl_skip "qemu-system-x86_64 not installed"
	[ -x "$GL_BUILD/guest/pattern" ] || gl_skip "$GL_BUILD/guest/pattern not built"
	GL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/zonal-guest-e2e.XXXXXX")
	trap gl_cleanup EXIT
	trap 'exit 1' INT TERM
}

# gl_start_vm [guest-vm args...]: console in $GL_TMP/console.log, QMP at $GL_TMP/qmp.sock
# The control port gpu-server (control=...:0) logged it listens on.
gl_server_port() { # log
	local port=""
	for _ in $(seq 100); do
		port=$(sed -n 's/.*control: listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$1" | head -1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || gl_fail "gpu-server did not say where it listens ($1)"
	echo "$port"
}

gl_start_vm() {
	GL_T0=$SECONDS
	"$GL_REPO/tools/guest-vm" --qmp "$GL_TMP/qmp.sock" --log "$GL_TMP/console.log" "$@" \
		>"$GL_TMP/guest-vm.log" 2>&1 &
	GL_VM_PID=$!
	GL_PIDS+=("$GL_VM_PID")
}

# gl_wait_console REGEX TIMEOUT: fails on guest errors, app exit, QEMU exit, timeout.
gl_wait_console() {
	local regex=$1 timeout=$2 start=$SECONDS
	while ! grep -qE "$regex" "$GL_TMP/console.log" 2>/dev/null; do
		grep -q "zonal-guest: ERROR" "$GL_TMP/console.log" 2>/dev/null && gl_fail "guest reported an error"
		grep -q "zonal-guest: app .* exited" "$GL_TMP/console.log" 2>/dev/null && gl_fail "guest app exited"
		kill -0 "$GL_VM_PID" 2>/dev/null || gl_fail "QEMU exited early"
		[ $((SECONDS - start)) -lt "$timeout" ] || gl_fail "no '$regex' on the console within $timeout s"
		sleep 0.2
	done
}

# gl_wait_pattern: boot, then pattern's mode-set line; prints timings.
gl_wait_pattern() {
	gl_wait_console "zonal-guest: userspace up" "$GL_BOOT_TIMEOUT"
	local t_user=$((SECONDS - GL_T0))
	gl_wait_console "pattern: .* mode .* crtc [0-9]+" 60
	grep -E "pattern: .* crtc" "$GL_TMP/console.log"
	echo "userspace after ${t_user} s, mode set after $((SECONDS - GL_T0)) s (wall clock, incl. preparation)"
}

# gl_screendump FILE ppm|png: one QMP session, stdlib only.
gl_screendump() {
	python3 - "$GL_TMP/qmp.sock" "$1" "$2" <<'PY'
import json, socket, sys
sock_path, filename, fmt = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sock_path)
f = s.makefile("rwb")
def cmd(name, **args):
	f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
	f.flush()
	while True:
		line = f.readline()
		if not line:
			sys.exit("QMP: connection closed")
		msg = json.loads(line)
		if "error" in msg:
			sys.exit(f"QMP {name}: {msg['error']}")
		if "return" in msg:  # skip asynchronous events
			return msg["return"]
json.loads(f.readline())  # greeting
cmd("qmp_capabilities")
cmd("screendump", filename=filename, format=fmt)
PY
}

# gl_check_moving_pattern: two dumps (PPM, then PNG) must both show the exact
# pattern with the square, at different places (the page flips run).
gl_check_moving_pattern() {
	local out_a out_b sq_a sq_b
	sleep 1
	gl_screendump "$GL_TMP/a.ppm" ppm || gl_fail "screendump (ppm)"
	sleep 0.5
	gl_screendump "$GL_TMP/b.png" png || gl_fail "screendump (png)"
	out_a=$("$GL_REPO/tools/check-pattern" --require-square "$GL_TMP/a.ppm" 2>&1) || gl_fail "a.ppm: $out_a"
	echo "$out_a"
	out_b=$("$GL_REPO/tools/check-pattern" --require-square "$GL_TMP/b.png" 2>&1) || gl_fail "b.png: $out_b"
	echo "$out_b"
	sq_a=$(sed -n 's/.*square at \(([0-9]*, [0-9]*)\).*/\1/p' <<<"$out_a")
	sq_b=$(sed -n 's/.*square at \(([0-9]*, [0-9]*)\).*/\1/p' <<<"$out_b")
	[ -n "$sq_a" ] && [ "$sq_a" != "$sq_b" ] ||
		gl_fail "the square did not move between dumps ($sq_a, $sq_b): no page flips?"
	GL_SQUARES="$sq_a -> $sq_b"
}

# gl_vnc_resize SOCKET W H: ask QEMU's VNC server (-vnc unix:SOCKET) for a new
# desktop size (RFB SetDesktopSize). QEMU passes it to virtio-gpu as the
# output's new preferred size and raises VIRTIO_GPU_EVENT_DISPLAY: a hotplug
# event in the guest.
gl_vnc_resize() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, struct, sys, time
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
def rx(n):
	b = b""
	while len(b) < n:
		c = s.recv(n - len(b))
		if not c:
			sys.exit("VNC: connection closed")
		b += c
	return b
rx(12)
s.sendall(b"RFB 003.008\n")
if 1 not in rx(rx(1)[0]):
	sys.exit("VNC: no 'None' security type")
s.sendall(b"\x01")
if rx(4) != b"\0\0\0\0":
	sys.exit("VNC: security handshake failed")
s.sendall(b"\x01")  # ClientInit: shared
rx(4 + 16)
rx(struct.unpack(">I", rx(4))[0])
# SetEncodings: raw, ExtendedDesktopSize (-308), DesktopSize (-223)
encs = (0, -308, -223)
s.sendall(struct.pack(">BBH", 2, 0, len(encs)) + b"".join(struct.pack(">i", e) for e in encs))
# SetDesktopSize with one screen covering it
s.sendall(struct.pack(">BBHHBB", 251, 0, w, h, 1, 0) + struct.pack(">IHHHHI", 0, 0, 0, w, h, 0))
time.sleep(1)  # let QEMU act before the connection goes
PY
}
