#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stage-by-stage latency: a vtest frame source -> gpu-server -> zone-client
# (tiles, and h264 so the decode stage is a real decoder), then
# tools/latency-report on both stats files. Checks: every stage has samples;
# each stage is non-negative and below the end-to-end maximum; the stage
# medians add up to no more than the end-to-end p99; the table and the PNG
# (gnuplot) come out.
# Usage: latency-report.sh GPU_SERVER ZONE_CLIENT
set -euo pipefail
GS=$1 ZC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
LIB_NAME=latency-report
. "$HERE/../impair/server-lib.sh"
REPORT="$HERE/../../tools/latency-report"
command -v gnuplot >/dev/null || { echo "SKIP: no gnuplot (Debian: gnuplot-nox)"; exit 77; }

for codec in tiles h264; do
	ZONE_SIZE=320x240 START_SOURCE=0 ZONE_EXTRA="codec=$codec" GS_LOG="$T/gs-$codec.log" start_server
	mkdir -p "$T/$codec"
	"$ZC" -s "127.0.0.1:$PORT" -z z --stats "$T/$codec/stats.json" >"$T/zc-$codec.log" 2>&1 &
	zc=$!
	pids+=($zc)
	wait_for 30 grep -q "client joined" "$T/gs-$codec.log" || fail "no client ($codec)"
	timeout 120 python3 "$LIB_DIR/zone-source.py" "$T/vtest.sock" --size 320x240 --frames 120 \
		>"$T/source.log" 2>&1 || fail "zone-source"
	sleep 0.5
	kill -TERM $zc
	wait $zc || fail "zone-client ($codec) exited with $?"
	stop_server
done
"$REPORT" "$T/tiles/stats.json" "$T/h264/stats.json" --png "$T/latency.png" >"$T/report.txt" 2>&1 ||
	{ cat "$T/report.txt"; fail "latency-report failed"; }
cat "$T/report.txt"
python3 - "$T" <<'PY' || fail "checks"
import json, sys
T = sys.argv[1]
ok = True
for codec in ("tiles", "h264"):
    st = json.load(open("%s/%s/stats.json" % (T, codec)))
    lat = st["latency_ms"]
    for name, s in st["stages_ms"].items():
        if s["samples"] < 30:
            print("FAIL: %s: stage %s has %d samples" % (codec, name, s["samples"]))
            ok = False
        if not (0 <= s["p50"] <= lat["max"] + 0.001):
            print("FAIL: %s: stage %s p50 %.3f outside 0..%.3f" % (codec, name, s["p50"], lat["max"]))
            ok = False
    total = sum(s["p50"] for s in st["stages_ms"].values())
    if total > lat["p99"] + 0.5:
        print("FAIL: %s: stage medians add up to %.3f ms, above the end-to-end p99 %.3f" %
              (codec, total, lat["p99"]))
        ok = False
    if len(lat.get("cdf", [])) != 21:
        print("FAIL: %s: no CDF in the stats" % codec)
        ok = False
png = open(T + "/latency.png", "rb").read(8)
if png != b"\x89PNG\r\n\x1a\n":
    print("FAIL: latency.png is not a PNG")
    ok = False
report = open(T + "/report.txt").read()
for word in ("compose", "encode", "send", "network", "decode", "present", "end to end"):
    if word not in report:
        print("FAIL: the table has no %s row" % word)
        ok = False
sys.exit(0 if ok else 1)
PY
echo PASS
