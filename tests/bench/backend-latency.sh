#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zone-client's own cost per present backend at 1920x720@60: a vtest frame
# source (zone-source.py, a 32x32 block moving over a still gradient: small
# damage) -> gpu-server -> zone-client with -b headless, then -b wayland on
# weston's headless backend (pixman renderer). Reports, from the client's
# stats: CPU ms per frame shown (the whole process), receive -> present
# p50/p99 (last packet in -> on the panel), end-to-end p50/p99, frames shown
# and dropped (a compositor discarding frames counts). One
# `backend-result: {json}` line per backend.
# drm runs when the host has a KMS device with a connected connector
# (BENCH_DRM_DEVICE=/dev/dri/cardN, else the first card) and nothing else
# is its master (run from a text console, not under a desktop). Inside a
# TCG guest the numbers would be the emulator's: not measured there.
# Usage: backend-latency.sh GPU_SERVER ZONE_CLIENT [FRAMES]
set -euo pipefail
GS=$1 ZC=$2 FRAMES=${3:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
LIB_NAME=backend-latency
. "$HERE/../impair/server-lib.sh"
W=1920 H=720 FPS=60

run() { # backend
	local be=$1
	ZONE_SIZE=${W}x$H ZONE_FPS=$FPS START_SOURCE=0 GS_LOG="$T/gs-$be.log" start_server
	rm -f "$T/stats.json"
	local extra=()
	[ "$be" = drm ] && extra=(--device "$DRM_DEVICE")
	"$ZC" -s "127.0.0.1:$PORT" -z z -b "$be" "${extra[@]}" --stats "$T/stats.json" >"$T/zc-$be.log" 2>&1 &
	local zc=$!
	pids+=($zc)
	wait_for 30 grep -q "client joined" "$T/gs-$be.log" || fail "no client ($be)"
	timeout 300 python3 "$HERE/../impair/zone-source.py" "$T/vtest.sock" --size "${W}x$H" \
		--fps "$FPS" --frames "$FRAMES" >"$T/src.log" 2>&1 || fail "zone-source"
	sleep 1
	kill -TERM $zc
	wait $zc || fail "zone-client ($be) exited with $?"
	stop_server
	python3 - "$T/stats.json" "$be" "$FRAMES" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
r = {"backend": sys.argv[2], "width": 1920, "height": 720, "present_source": st["present_source"],
     "cpu_ms_per_frame": st["cpu_ms_per_frame"],
     "receive_to_present_p50_ms": st["receive_to_present_ms"]["p50"],
     "receive_to_present_p99_ms": st["receive_to_present_ms"]["p99"],
     "latency_p50_ms": st["latency_ms"]["p50"], "latency_p99_ms": st["latency_ms"]["p99"],
     "frames_presented": st["frames_presented"], "frames_dropped": st["frames_dropped"],
     "frames_sent": int(sys.argv[3])}
print("  %-9s %-16s cpu %6.3f ms/frame  receive->present p50 %6.2f p99 %6.2f ms  "
      "end-to-end p50 %6.2f p99 %6.2f ms  shown %d dropped %d of %d" % (
    r["backend"], r["present_source"], r["cpu_ms_per_frame"], r["receive_to_present_p50_ms"],
    r["receive_to_present_p99_ms"], r["latency_p50_ms"], r["latency_p99_ms"],
    r["frames_presented"], r["frames_dropped"], r["frames_sent"]))
print("backend-result: " + json.dumps(r))
PY
}

echo "zone-client per backend, ${W}x$H@$FPS, small damage, $FRAMES frames:"
run headless
if command -v weston >/dev/null && "$ZC" --help | grep -q wayland; then
	export XDG_RUNTIME_DIR=$T/xdg WAYLAND_DISPLAY=wayland-bench
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	weston --backend=headless-backend.so --use-pixman --width=$W --height=$H \
		--socket="$WAYLAND_DISPLAY" --idle-time=0 --no-config >"$T/weston.log" 2>&1 &
	weston=$!
	wait_for 30 test -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" || fail "weston did not start"
	run wayland
	kill $weston
	wait $weston 2>/dev/null || true
else
	echo "  wayland   skipped (no weston or no -b wayland)"
fi
DRM_DEVICE=${BENCH_DRM_DEVICE:-$(ls /dev/dri/card* 2>/dev/null | head -1)}
if [ -n "$DRM_DEVICE" ] && [ -e "$DRM_DEVICE" ] &&
	grep -qx connected /sys/class/drm/"$(basename "$DRM_DEVICE")"-*/status 2>/dev/null; then
	run drm
else
	echo "  drm       skipped (no KMS device with a connected connector here; tests/e2e/drm-panel.sh runs it in a guest)"
fi
