#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end latency per codec over a control session, the whole system:
# a vtest frame source (zone-source.py) -> gpu-server (compose, encode,
# packetize, pace) -> loopback -> zone-client (reassemble, verify, decode,
# present headless). For tiles, raw, h264 and jpeg at 1920x1080, 30 Hz,
# a small-damage workload (a 32x32 block moves) and a full-frame one (every
# pixel changes). Prints a table and one `codec-latency: {json}` line per
# run (latency from the guest's flush to the present; bytes per frame on
# the wire; frames shown of those sent).
# Usage: codec-latency.sh GPU_SERVER ZONE_CLIENT [FRAMES]
# CODECS (environment): which (default: tiles raw h264 jpeg); ZONE_EXTRA: more
# [zone] lines (max-bitrate=...).
set -euo pipefail
GS=$1 ZC=$2 FRAMES=${3:-90}
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE_PY="$HERE/../impair/zone-source.py"
LIB_NAME=codec-latency
. "$HERE/../impair/server-lib.sh"
W=1920 H=1080 FPS=30

run() { # codec workload
	local codec=$1 work=$2
	ZONE_SIZE=${W}x$H ZONE_FPS=$FPS START_SOURCE=0 GS_LOG="$T/gs-$codec-$work.log" \
		ZONE_EXTRA="codec=$codec
${ZONE_EXTRA:-}" start_server
	rm -f "$T/stats.json"
	"$ZC" -s "127.0.0.1:$PORT" -z z --stats "$T/stats.json" >"$T/zc-$codec-$work.log" 2>&1 &
	local zc=$!
	pids+=($zc)
	wait_for 30 grep -q "client joined" "$T/gs-$codec-$work.log" || fail "no client"
	local extra=()
	[ "$work" = full-frame ] && extra=(--full)
	timeout 300 python3 "$SOURCE_PY" "$T/vtest.sock" --size "${W}x$H" --fps "$FPS" --frames "$FRAMES" \
		"${extra[@]}" >"$T/src.log" 2>&1 || fail "zone-source"
	sleep 1
	kill -TERM $zc
	wait $zc || fail "zone-client exited with $?"
	stop_server
	python3 - "$T/stats.json" "$codec" "$work" "$FRAMES" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
lat = st["latency_ms"]
n = max(st["frames_presented"], 1)
r = {"codec": sys.argv[2], "workload": sys.argv[3], "width": 1920, "height": 1080,
     "latency_p50_ms": lat["p50"], "latency_p99_ms": lat["p99"],
     "bytes_per_frame": round(st["bytes_received"] / n),
     "frames_presented": st["frames_presented"], "frames_sent": int(sys.argv[4]),
     "frames_dropped": st["frames_dropped"]}
print("  %-6s %-12s p50 %7.2f ms  p99 %7.2f ms  %9d B/frame  shown %d/%d" % (
    r["codec"], r["workload"], r["latency_p50_ms"] or 0, r["latency_p99_ms"] or 0,
    r["bytes_per_frame"], r["frames_presented"], r["frames_sent"]))
print("codec-latency: " + json.dumps(r))
PY
}

echo "end-to-end latency per codec, ${W}x$H@$FPS, $FRAMES frames (flush -> present):"
for codec in ${CODECS:-tiles raw h264 jpeg}; do
	for work in small-damage full-frame; do
		run "$codec" "$work"
	done
done
