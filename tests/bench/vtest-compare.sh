#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark (not a test): a host GL app (tests/vtest/gl-app: draw + read back
# each frame, as a compositor-less app presenting would) under Mesa's virpipe
# through gpu-server's vtest server and through virgl_test_server, the same
# frames and sizes, rounds interleaved. Prints one JSON result per system and
# size on stdout (frames per second, per-frame time p50/p99: the app's
# end-to-end latency through the server), medians over the rounds.
# Usage: vtest-compare.sh GPU_SERVER GL_APP [FRAMES] [ROUNDS]
set -u
. "$(dirname "$0")/../vtest/ns-lib.sh"
ns_enter "$@"
GS=$(ns_path "$1")
APP=$(ns_path "$2")
FRAMES=${3:-600}
ROUNDS=${4:-3}
command -v virgl_test_server >/dev/null || { echo "SKIP: no virgl_test_server" >&2; exit 77; }

cat > /tmp/gs.ini <<EOT
[server]
control=127.0.0.1:0
vtest=/tmp/.virgl_test
[guest a]
vhost-user=/tmp/a.sock
[zone z]
mode=64x64
layer=a:0 0,0 64x64
EOT

# run SYSTEM W H: one run of the app against a fresh server; prints its line.
run() {
	rm -f /tmp/.virgl_test
	if [ "$1" = gpu-server ]; then
		"$GS" -c /tmp/gs.ini > /tmp/server.log 2>&1 &
	else
		virgl_test_server --use-egl-surfaceless > /tmp/server.log 2>&1 &
	fi
	pid=$!
	ns_wait_vtest $pid /tmp/server.log >&2
	GALLIUM_DRIVER=virpipe timeout 120 "$APP" "$FRAMES" "$2" "$3" 2>/dev/null | grep "^frames="
	kill $pid
	wait $pid 2>/dev/null
}

for size in ${SIZES:-256x256 1024x600 1920x1080}; do
	w=${size%x*} h=${size#*x}
	: > /tmp/runs
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		for sys in gpu-server virgl_test_server; do
			echo "$sys $(run $sys "$w" "$h")" >> /tmp/runs
		done
		r=$((r + 1))
	done
	python3 - "$size" "$FRAMES" /tmp/runs <<'PY'
import json, re, statistics, sys
size, frames = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(sys.argv[3]):
	sysname, rest = line.split(" ", 1)
	m = dict(re.findall(r"(\w+)=([\d.]+)", rest))
	if "FAIL" in rest or "fps" not in m:
		print("bad run: " + line.strip(), file=sys.stderr)
		sys.exit(1)
	runs.setdefault(sysname, []).append(m)
for sysname in ("gpu-server", "virgl_test_server"):
	ms = runs[sysname]
	med = lambda k: statistics.median(float(m[k]) for m in ms)
	print(json.dumps({
		"system": "virtio-zonal-vtest" if sysname == "gpu-server" else "virgl_test_server",
		"workload": "gl-app-" + size, "frames": frames, "rounds": len(ms),
		"fps": round(med("fps"), 1),
		"latency_p50_ms": round(med("frame_ms_p50"), 3),
		"latency_p99_ms": round(med("frame_ms_p99"), 3),
	}))
PY
done
