#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the GL guest app (gles-pattern: Mesa's virgl driver
# in a QEMU guest, GBM/KMS page flips at the mode's 60 Hz) rendering through
# gpu-server's virglrenderer into one 1024x600 zone, zone-client headless on
# loopback. Prints one JSON result: the app's frames per second (its own
# count of flips over the run) and the zone latency (client present − server
# read of the guest's RESOURCE_FLUSH, same clock), with zones composed by
# COMPOSE (pixman or gl).
# Usage: gles-pattern.sh [FRAMES]   (env COMPOSE=pixman|gl, default pixman)
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init >&2
FRAMES=${1:-600}
COMPOSE=${COMPOSE:-pixman}
[ -x "$E2E_BUILD/guest/gles-pattern" ] || skip "gles-pattern not built"
cat >"$E2E_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:0
compose=$COMPOSE
[guest g0]
vhost-user=$E2E_TMP/g0.sock
[zone z]
mode=1024x600@60
layer=g0:0 0,0 1024x600
INI
e2e_start_server "$E2E_TMP/zonal.ini"
e2e_read_port
e2e_start_guest g0 "$E2E_TMP/g0.sock" --app gles-pattern --app-args "-s 2"
log=$E2E_TMP/guest-g0.log
e2e_wait_for "grep -q 'gles-pattern: .* connector .* mode ' '$log' 2>/dev/null" 240 "gles-pattern" >&2
grep -q "GL_RENDERER: virgl (" "$log" || die "the guest does not render through virgl"
timeout 600 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z z -b headless -n "$FRAMES" \
	--stats "$E2E_TMP/stats.json" >"$E2E_TMP/zone-client.log" 2>&1 || die "zone-client failed"
python3 - "$E2E_TMP/stats.json" "$log" "$COMPOSE" <<'PY'
import json, re, statistics, sys
s = json.load(open(sys.argv[1]))
# "gles-pattern: Virtual-1: 1234 flips, 59.8 fps, 0 late", every 2 s: the
# median over the run, the first (start-up) left out.
fps = [float(m) for m in re.findall(r"flips, ([\d.]+) fps", open(sys.argv[2]).read())]
l = s["latency_ms"]
print(json.dumps({
	"system": "virtio-zonal-tiles", "workload": "gles-pattern-1024x600-compose-" + sys.argv[3],
	"frames": s["frames_presented"],
	"fps": statistics.median(fps[1:] or fps) if fps else None,
	"latency_p50_ms": l["p50"], "latency_p99_ms": l["p99"], "latency_max_ms": l["max"],
	"bytes_per_frame": round(s["bytes_received"] / max(1, s["frames_presented"])),
	"crc_mismatches": s["crc_mismatches"],
}))
PY
