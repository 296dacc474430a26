#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zone-client -b wayland on a real compositor: weston 10's headless backend
# (pixman renderer, --debug for its screenshooter), 640x480, desktop shell.
# A vtest frame source (zone-source.py) feeds a 320x240 zone through
# gpu-server; zone-client shows it fullscreen. Checks:
#  - weston's own screenshot, taken while the source holds frame PAUSE_AT,
#    shows that frame fullscreen: scaled 2x by wp_viewporter, the moving
#    block where the frame has it, in its colour, the gradient around it;
#  - the stats say present_source "wp_presentation" with latencies, and
#    frames shown; SIGTERM writes them and exits 0;
#  - the compositor dying ends zone-client with an error (exit 1, a log line,
#    stats written), not a hang or a crash.
# Not tested: xdg_toplevel.close (weston's desktop shell closes windows
# only on user input); it ends the session cleanly, exit 0.
# Usage: weston.sh GPU_SERVER ZONE_CLIENT
set -euo pipefail
GS=$1 ZC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
command -v weston >/dev/null && command -v weston-screenshooter >/dev/null ||
	{ echo "SKIP: no weston (Debian: weston)"; exit 77; }
"$ZC" --help | grep -q "wayland" || { echo "SKIP: zone-client built without Wayland"; exit 77; }
LIB_NAME=weston
. "$HERE/../impair/server-lib.sh"
export XDG_RUNTIME_DIR=$T/xdg
mkdir -m 700 "$XDG_RUNTIME_DIR"
export WAYLAND_DISPLAY=wayland-zonal
ZW=320 ZH=240 PAUSE_AT=40

start_weston() {
	rm -f "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY"
	weston --backend=headless-backend.so --use-pixman --debug --width=640 --height=480 \
		--socket="$WAYLAND_DISPLAY" --idle-time=0 --no-config >"$T/weston.log" 2>&1 &
	WESTON=$!
	pids+=($WESTON)
	wait_for 30 test -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" || fail "weston did not start"
}

start_weston
ZONE_SIZE=${ZW}x$ZH START_SOURCE=0 start_server

"$ZC" -s "127.0.0.1:$PORT" -z z -b wayland --stats "$T/stats.json" -o "$T/out" \
	--present-log "$T/presents.txt" -v >"$T/zone-client.log" 2>&1 &
zc=$!
pids+=($zc)
wait_for 30 grep -q "client joined" "$T/gpu-server.log" || fail "zone-client did not join"
python3 "$HERE/../impair/zone-source.py" "$T/vtest.sock" --size "${ZW}x$ZH" --frames 90 \
	--pause-at $PAUSE_AT --pause 4 --log "$T/source.txt" >"$T/source.log" 2>&1 &
src=$!
pids+=($src)
# The source holds frame PAUSE_AT for 4 s: screenshot it then.
wait_for 60 grep -q "^$PAUSE_AT " "$T/source.txt" || fail "the source did not get to frame $PAUSE_AT"
sleep 0.5
(cd "$T" && weston-screenshooter) >"$T/shot.log" 2>&1 || fail "weston-screenshooter failed"
shot=$(ls "$T"/wayland-screenshot-*.png | head -1)
wait $src || fail "zone-source failed"
kill -TERM $zc
wait $zc || fail "zone-client exited with $? after SIGTERM"

python3 - "$shot" "$T/stats.json" "$HERE/../../tools" $ZW $ZH $PAUSE_AT <<'PY' || fail "checks"
import json, sys
sys.path.insert(0, sys.argv[3])
from zonal_image import read_image
img = read_image(sys.argv[1])
st = json.load(open(sys.argv[2]))
W, H, k = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
print("screenshot %dx%d; client: %d frames shown, %d dropped, present_source %s, latency p50 %s "
      "p99 %s ms" % (img.width, img.height, st["frames_presented"], st["frames_dropped"],
      st["present_source"], st["latency_ms"]["p50"], st["latency_ms"]["p99"]))
ok = True
def bad(m):
    global ok
    ok = False
    print("FAIL: " + m)
if (img.width, img.height) != (640, 480):
    bad("the screenshot is %dx%d, want 640x480" % (img.width, img.height))
if st["present_source"] != "wp_presentation":
    bad("present_source %r" % st["present_source"])
if st["frames_presented"] < 30 or st["latency_ms"]["samples"] < 30:
    bad("too few frames shown with a present time")
# zone-source's frame k: gradient (x*255//W, y*255//H, 0x40) with a 32x32
# block at bx = 4k mod (W-32) in colour ((k*37)&255, (k*91)&255, k&255);
# on screen everything is twice as large.
bx = (4 * k) % (W - 32)
block = ((k * 37) & 255, (k * 91) & 255, k & 255)
def near(a, b, tol):
    return all(abs(p - q) <= tol for p, q in zip(a, b))
# Inside the block, away from its edges (bilinear scaling blends edges).
for sx, sy in [(bx + 4, 4), (bx + 16, 16), (bx + 28, 28)]:
    p = img.pixel(2 * sx, 2 * sy)
    if not near(p, block, 0):
        bad("block pixel (%d,%d) on screen is %s, want %s" % (2 * sx, 2 * sy, p, block))
# The gradient, away from the block.
for sx, sy in [(W - 20, 60), (10, H - 10), (W // 2, H // 2), (W - 5, H - 5)]:
    want = (sx * 255 // W, sy * 255 // H, 0x40)
    p = img.pixel(2 * sx, 2 * sy)
    if not near(p, want, 3):
        bad("gradient pixel (%d,%d) on screen is %s, want ~%s" % (2 * sx, 2 * sy, p, want))
if ok:
    print("weston shows frame %d fullscreen, scaled 2x: block at x=%d in %s, gradient right" %
          (k, bx, block))
sys.exit(0 if ok else 1)
PY

# The compositor going away is an error: zone-client says so and exits
# non-zero, with its stats.
"$ZC" -s "127.0.0.1:$PORT" -z z -b wayland -v --stats "$T/stats2.json" >"$T/zone-client2.log" 2>&1 &
zc=$!
pids+=($zc)
wait_for 30 grep -q "joined zone" "$T/zone-client2.log" || fail "second client did not join"
kill -KILL $WESTON
wait $WESTON 2>/dev/null || true
rc=0
timeout 10 tail --pid=$zc -f /dev/null || fail "zone-client hangs after the compositor died"
wait $zc || rc=$?
[ $rc -ne 0 ] || fail "zone-client exited 0 after losing its compositor"
grep -q "compositor" "$T/zone-client2.log" || fail "no word about the compositor in the log"
[ -s "$T/stats2.json" ] || fail "no stats after losing the compositor"
echo "compositor lost: zone-client exited $rc: $(grep -o 'panel: .*' "$T/zone-client2.log" | head -1)"
stop_server
echo PASS
