#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench "pattern": one QEMU guest running `pattern` (2D) on gpu-server,
# one zone, one headless zone-client for FRAMES frames (what `make demo`
# was at first). Writes OUT/stats.json and OUT/last.png.
# usage: pattern-guest.sh OUT_DIR FRAMES
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${ZONAL_BUILD_DIR:-$SRC/build}
OUT=$1
FRAMES=$2
W=1600 H=600
rm -rf "$OUT"
mkdir -p "$OUT"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$OUT/zonal.ini" <<INI
[server]
control=127.0.0.1:$port

[guest demo]
vhost-user=$OUT/demo.sock

[zone panel]
mode=${W}x${H}@60
layer=demo:0 0,0 ${W}x${H}
INI

echo "pattern-guest: gpu-server with one guest, zone 'panel' ${W}x${H} (config: $OUT/zonal.ini)"
"$BUILD/gpu-server/gpu-server" -c "$OUT/zonal.ini" >"$OUT/gpu-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$OUT/demo.sock" ] && break; sleep 0.1; done
[ -S "$OUT/demo.sock" ] || { echo "pattern-guest: gpu-server did not start; see $OUT/gpu-server.log" >&2; exit 1; }

echo "pattern-guest: booting the guest (QEMU, vhost-user-gpu-pci; log: $OUT/guest.log)"
"$SRC/tools/guest-vm" --vhost-user "$OUT/demo.sock" --app pattern --log "$OUT/guest.log" \
	>"$OUT/guest-vm.log" 2>&1 &
pids+=($!)

echo "pattern-guest: zone-client (headless) receiving $FRAMES frames"
if ! timeout 300 "$BUILD/zone-client/zone-client" -s "127.0.0.1:$port" -z panel -b headless \
	-o "$OUT" -n "$FRAMES" --stats "$OUT/stats.json" 2>"$OUT/zone-client.log"; then
	echo "pattern-guest: zone-client failed; logs in $OUT" >&2
	tail -5 "$OUT/zone-client.log" >&2
	exit 1
fi
python3 - "$OUT/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
l = s["latency_ms"]
print("pattern-guest: %d frames presented, %d dropped, %d CRC mismatches; latency p50 %.2f ms, p99 %.2f ms"
      % (s["frames_presented"], s["frames_dropped"], s["crc_mismatches"], l["p50"], l["p99"]))
PY
echo "pattern-guest: last frame: $OUT/last.png"
echo "pattern-guest: stats:      $OUT/stats.json"
