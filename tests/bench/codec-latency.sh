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
# Also CPU ms per frame of both ends (gpu-server from /proc, zone-client
# from its stats) and an idle workload (one frame, then 3 s of nothing:
# bytes and CPU per frame interval).
# Usage: codec-latency.sh GPU_SERVER ZONE_CLIENT [FRAMES]
# Environment: CODECS (default: tiles raw h264 jpeg), WORKLOADS (default:
# small-damage full-frame), SIZE (1920x1080), FPS (30), ZONE_EXTRA: more
# [zone] lines (max-bitrate=...).
set -euo pipefail
GS=$1 ZC=$2 FRAMES=${3:-90}
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE_PY="$HERE/../impair/zone-source.py"
LIB_NAME=codec-latency
. "$HERE/../impair/server-lib.sh"
SIZE=${SIZE:-1920x1080}
W=${SIZE%x*} H=${SIZE#*x} FPS=${FPS:-30}
TCK=$(getconf CLK_TCK)
IDLE_S=3

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
	local extra=() frames=$FRAMES
	[ "$work" = full-frame ] && extra=(--full)
	[ "$work" = idle ] && frames=1
	timeout 300 python3 "$SOURCE_PY" "$T/vtest.sock" --size "${W}x$H" --fps "$FPS" --frames "$frames" \
		"${extra[@]}" >"$T/src.log" 2>&1 || fail "zone-source"
	local intervals=$FRAMES
	if [ "$work" = idle ]; then
		# Nothing changes from here: what does that cost?
		local c0
		sleep 1
		c0=$(awk '{print $14 + $15}' /proc/$GSPID/stat)
		kill -USR1 $zc # a stats snapshot: the idle part is what follows
		wait_for 10 test -s "$T/stats.json" || fail "no stats snapshot"
		cp "$T/stats.json" "$T/stats0.json"
		sleep $IDLE_S
		echo "$c0" >"$T/idle-cpu0"
		intervals=$((IDLE_S * FPS))
	else
		sleep 1
	fi
	awk '{print $14 + $15}' /proc/$GSPID/stat >"$T/gs-cpu"
	kill -TERM $zc
	wait $zc || fail "zone-client exited with $?"
	stop_server
	python3 - "$T" "$codec" "$work" "$intervals" "$W" "$H" "$TCK" <<'PY'
import json, os, sys
T, codec, work, n_int, w, h, tck = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
st = json.load(open(T + "/stats.json"))
lat = st["latency_ms"]
gs_ms = int(open(T + "/gs-cpu").read()) * 1000.0 / tck
client_ms = st["cpu_ms"]
if work == "idle":
    # The idle part alone: both ends since the snapshot after the last frame.
    s0 = json.load(open(T + "/stats0.json"))
    gs_ms -= int(open(T + "/idle-cpu0").read()) * 1000.0 / tck
    client_ms -= s0["cpu_ms"]
    per = n_int
    bytes_per = (st["bytes_received"] - s0["bytes_received"]) / per
else:
    per = max(st["frames_presented"], 1)
    bytes_per = st["bytes_received"] / per
cpu = (gs_ms + client_ms) / per
r = {"codec": codec, "workload": work, "width": w, "height": h,
     "latency_p50_ms": lat["p50"] if work != "idle" else None,
     "latency_p99_ms": lat["p99"] if work != "idle" else None,
     "bytes_per_frame": round(bytes_per), "cpu_ms_per_frame": round(cpu, 3),
     "frames_presented": st["frames_presented"], "frames_sent": n_int,
     "frames_dropped": st["frames_dropped"]}
print("  %-6s %-12s p50 %7.2f ms  p99 %7.2f ms  %9d B/frame  cpu %6.2f ms/frame  shown %d/%d" % (
    codec, work, r["latency_p50_ms"] or 0, r["latency_p99_ms"] or 0, r["bytes_per_frame"],
    r["cpu_ms_per_frame"], r["frames_presented"], r["frames_sent"]))
print("codec-latency: " + json.dumps(r))
PY
}

echo "end-to-end latency per codec, ${W}x$H@$FPS, $FRAMES frames (flush -> present):"
for codec in ${CODECS:-tiles raw h264 jpeg}; do
	for work in ${WORKLOADS:-small-damage full-frame}; do
		run "$codec" "$work"
	done
done
