#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench "scaling": the cost per frame as the work grows, 1 to 4 zones x
# 1 to 3 guests. Each guest is a vtest frame source (zone-source.py: a
# 640x360 display, a 32x32 block moving, 30 presents a second); every zone
# shows all guests side by side ((640*G)x360, tiles) to its own headless
# zone-client. After WARMUP s, SECONDS_RUN s are measured: frames the
# clients showed, gpu-server's CPU per guest frame and per zone frame, the
# clients' CPU per frame and their latency (guest present to client
# present; the worst zone's p50 and p99). One `scaling-result: {json}` line
# per point.
# usage: scaling.sh GPU_SERVER ZONE_CLIENT OUT_DIR
set -euo pipefail
GS=$1 ZC=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE_PY="$HERE/../impair/zone-source.py"
ZONES=${SCALING_ZONES:-1 2 3 4}
GUESTS=${SCALING_GUESTS:-1 2 3}
WARMUP=${SCALING_WARMUP:-2} SECONDS_RUN=${SCALING_SECONDS:-6}
FPS=30 GW=640 GH=360
mkdir -p "$OUT"
LIB_NAME=scaling
. "$(dirname "$0")/bench-lib.sh"
joined() { [ "$(grep -c 'client joined' "$1")" -ge "$2" ]; }

point() { # zones guests
	local nz=$1 ng=$2 d=$OUT/z$1-g$2
	rm -rf "$d"
	mkdir -p "$d"
	{
		echo "[server]"
		echo "control=127.0.0.1:0"
		echo "vtest=$d/vtest.sock"
		for g in $(seq "$ng"); do
			printf '[guest g%d]\nvtest-app=zs-%d\n' "$g" "$g"
		done
		for z in $(seq "$nz"); do
			printf '[zone z%d]\nmode=%dx%d@%d\n' "$z" $((GW * ng)) $GH $FPS
			for g in $(seq "$ng"); do
				printf 'layer=g%d:0 %d,0 %dx%d\n' "$g" $((GW * (g - 1))) $GW $GH
			done
		done
	} >"$d/gs.ini"
	"$GS" -c "$d/gs.ini" >"$d/gpu-server.log" 2>&1 &
	local gs=$!
	pids+=($gs)
	wait_for 20 grep -q "gpu-server ready" "$d/gpu-server.log" || fail "gpu-server did not start ($d)"
	grep -q "vtest is off" "$d/gpu-server.log" && { echo "SKIP: no renderer"; exit 77; }
	local port
	port=$(sed -n 's/.*control: listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$d/gpu-server.log" | head -1)
	local zcs=()
	for z in $(seq "$nz"); do
		"$ZC" -s "127.0.0.1:$port" -z "z$z" -b headless --stats "$d/stats-z$z.json" \
			>"$d/zc-z$z.log" 2>&1 &
		zcs+=($!)
		pids+=($!)
	done
	wait_for 20 joined "$d/gpu-server.log" "$nz" || fail "zone clients did not join ($d)"
	for g in $(seq "$ng"); do
		python3 "$SOURCE_PY" "$d/vtest.sock" --name "zs-$g" --size ${GW}x$GH --fps $FPS \
			--frames $(((WARMUP + SECONDS_RUN + 5) * FPS)) >"$d/src-$g.log" 2>&1 &
		pids+=($!)
	done
	sleep "$WARMUP"
	local g0 z0=0 g1 z1=0
	g0=$(ticks $gs)
	for p in "${zcs[@]}"; do z0=$((z0 + $(ticks "$p"))); kill -USR1 "$p"; done
	sleep 0.3
	for z in $(seq "$nz"); do cp "$d/stats-z$z.json" "$d/stats0-z$z.json"; done
	sleep "$SECONDS_RUN"
	g1=$(ticks $gs)
	for p in "${zcs[@]}"; do z1=$((z1 + $(ticks "$p"))); kill -USR1 "$p"; done
	sleep 0.3
	stop_all
	/usr/bin/python3 - "$d" "$nz" "$ng" "$(((g1 - g0) * 1000 / TCK))" "$(((z1 - z0) * 1000 / TCK))" \
		"$SECONDS_RUN" "$FPS" <<'PY'
import json, sys
d, nz, ng = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
gs_ms, zc_ms, secs, fps = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
shown, p50, p99, nbytes = 0, 0.0, 0.0, 0
for z in range(1, nz + 1):
    s0 = json.load(open("%s/stats0-z%d.json" % (d, z)))
    s1 = json.load(open("%s/stats-z%d.json" % (d, z)))
    shown += s1["frames_presented"] - s0["frames_presented"]
    nbytes += s1["bytes_received"] - s0["bytes_received"]
    assert s1["crc_mismatches"] == 0, "crc mismatches in zone %d" % z
    p50 = max(p50, s1["latency_ms"]["p50"])
    p99 = max(p99, s1["latency_ms"]["p99"])
guest_frames = ng * fps * secs
print("scaling-result: " + json.dumps({"zones": nz, "guests": ng,
    "zone_size": "%dx360" % (640 * ng),
    "zone_fps": round(shown / secs / nz, 1),
    "gpu_server_ms_per_guest_frame": round(gs_ms / guest_frames, 3),
    "gpu_server_ms_per_zone_frame": round(gs_ms / shown, 3) if shown else None,
    "zone_client_ms_per_frame": round(zc_ms / shown, 3) if shown else None,
    "bytes_per_zone_frame": round(nbytes / shown) if shown else None,
    "latency_p50_ms": p50, "latency_p99_ms": p99}))
PY
}

for nz in $ZONES; do
	for ng in $GUESTS; do
		echo "scaling: $nz zone(s) x $ng guest(s)" >&2
		point "$nz" "$ng"
	done
done
