#!/bin/sh
# SPDX-License-Identifier: MIT
# A vtest client as a zone source ([guest NAME] vtest-app=): a zone client
# is connected, then the client named by vtest-app= presents its display
# target (present-client.py: TRANSFER_PUT2 of a pattern, TRANSFER_GET2 back,
# as Mesa's flush_frontbuffer does, then a partial swap of a sub-box), and
# the zone client must receive both, CRC-verified, in the layer. A present by
# a client no guest names changes nothing. Then glxgears on Xvfb as a real
# app. Runs in a private mount namespace (ns-lib.sh).
# Usage: vtest-zone-source.sh GPU_SERVER ZONE_CLIENT
set -u
. "$(dirname "$0")/ns-lib.sh"
ns_enter "$@"
GS=$(ns_path "$1")
ZC=$(ns_path "$2")
SELF_DIR=$NS_SRC/tests/vtest
SRC_DIR=$NS_SRC
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The app's 64x32 frame sits at 16,8 in a 96x48 zone; the rest is black.
cat > /tmp/gs.ini <<EOT
[server]
control=127.0.0.1:$PORT
vtest=/tmp/.virgl_test
[guest app]
vtest-app=present-client
[zone z]
mode=96x48
layer=app:0 16,8 64x32
[guest gears]
vtest-app=glxgears
[zone g]
mode=300x300
layer=gears:0 0,0 300x300
EOT
ZONAL_DEBUG=vtest "$GS" -c /tmp/gs.ini > /tmp/gs.log 2>&1 &
gs=$!
ns_wait_vtest $gs /tmp/gs.log
# Python prelude of both checks: img (the zone client's last.png through
# tools/check-pattern's PNG reader) and st (its stats).
LOAD='import importlib.machinery, importlib.util, json, sys
loader = importlib.machinery.SourceFileLoader("cp", sys.argv[3])
cp = importlib.util.module_from_spec(importlib.util.spec_from_loader("cp", loader))
loader.exec_module(cp)
img = cp.read_image(sys.argv[1])
st = json.load(open(sys.argv[2]))'
# Frame 1 is the zone's key frame (black), frame 2 the app's present, frame 3
# its partial swap.
timeout 60 "$ZC" -s "127.0.0.1:$PORT" -z z -b headless -o /tmp/out -n 3 --stats /tmp/stats.json \
	> /tmp/zc.log 2>&1 &
zc=$!
i=0
while [ $i -lt 300 ] && ! grep -q "zone z: client joined" /tmp/gs.log; do sleep 0.1; i=$((i + 1)); done
grep -q "zone z: client joined" /tmp/gs.log ||
	{ echo "FAIL: the zone client did not join"; cat /tmp/zc.log /tmp/gs.log; exit 1; }
timeout 60 python3 "$SELF_DIR/present-client.py" /tmp/.virgl_test || { echo "FAIL: present-client"; cat /tmp/gs.log; exit 1; }
wait $zc
zcrc=$?

# An unmodified GL app: glxgears on Xvfb with Mesa's virpipe driver; its
# swaps (flush_frontbuffer) are the zone's frames.
gears=skip
if command -v Xvfb >/dev/null && command -v glxgears >/dev/null; then
	mkdir -p /tmp/.X11-unix
	# -displayfd: Xvfb picks a free display (abstract X sockets are shared
	# outside our mount namespace) and writes its number once it accepts
	# clients; starting glxgears before that fails on slow machines.
	Xvfb -displayfd 3 -screen 0 640x480x24 3> /tmp/xvfb.disp > /tmp/xvfb.log 2>&1 &
	xv=$!
	i=0
	while [ $i -lt 200 ] && ! grep -q '[0-9]' /tmp/xvfb.disp 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
	disp=$(tr -dc 0-9 < /tmp/xvfb.disp)
	[ -n "$disp" ] || { echo "FAIL: Xvfb did not start"; cat /tmp/xvfb.log; exit 1; }
	timeout 60 "$ZC" -s "127.0.0.1:$PORT" -z g -b headless -o /tmp/out-g -n 10 \
		--stats /tmp/stats-g.json > /tmp/zc-g.log 2>&1 &
	zcg=$!
	i=0
	while [ $i -lt 300 ] && [ "$(grep -c 'client joined' /tmp/gs.log)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(grep -c 'client joined' /tmp/gs.log)" -ge 2 ] ||
		{ echo "FAIL: the glxgears zone client did not join"; cat /tmp/zc-g.log /tmp/gs.log; exit 1; }
	DISPLAY=":$disp" LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=virpipe timeout 30 glxgears -info \
		> /tmp/gears.log 2>&1 &
	gp=$!
	wait $zcg
	gears=$?
	kill $gp $xv 2>/dev/null
	wait $gp $xv 2>/dev/null
	grep -q "GL_RENDERER *= virgl" /tmp/gears.log || { echo "FAIL: glxgears not on virgl"; cat /tmp/gears.log; exit 1; }
	[ $gears -eq 0 ] || { echo "FAIL: glxgears zone client rc=$gears"; cat /tmp/zc-g.log /tmp/gs.log; exit 1; }
fi
kill $gs
wait $gs
gsrc=$?
if [ $zcrc -ne 0 ] || [ $gsrc -ne 0 ]; then
	echo "FAIL: zone-client rc=$zcrc gpu-server rc=$gsrc"; cat /tmp/zc.log /tmp/gs.log; exit 1
fi
grep -q "guest app: the vtest app 'present-client' on scanout 0 (64x32)" /tmp/gs.log ||
	{ echo "FAIL: no vtest-app guest"; cat /tmp/gs.log; exit 1; }
python3 - /tmp/out/last.png /tmp/stats.json "$SRC_DIR/tools/check-pattern" "$LOAD" <<'PY' || { cat /tmp/gs.log; exit 1; }
import sys
exec(sys.argv[4])
assert st["frames_presented"] == 3 and st["crc_mismatches"] == 0, st
assert (img.width, img.height) == (96, 48), (img.width, img.height)
bad = 0
for y in range(48):
    for x in range(96):
        want = (0x11, 0x22, 0x33) if 16 <= x < 80 and 8 <= y < 40 else (0, 0, 0)
        if 16 + 8 <= x < 16 + 8 + 16 and 8 + 4 <= y < 8 + 4 + 8:
            want = (0x44, 0x55, 0x66)  # the partial swap's box
        if tuple(img.pixel(x, y)) != want:
            bad += 1
            if bad < 5:
                print("pixel %d,%d = %s, want %s" % (x, y, img.pixel(x, y), want))
if bad:
    sys.exit("FAIL: %d wrong pixels" % bad)
print("zone shows the app's frame: 64x32 of 112233 at 16,8, its partial swap 16x8 of 445566 "
      "at 24,12; latency p50 %s ms" % st["latency_ms"]["p50"])
PY
if [ "$gears" = skip ]; then
	echo "glxgears part skipped (no Xvfb or glxgears)"
else
	python3 - /tmp/out-g/last.png /tmp/stats-g.json "$SRC_DIR/tools/check-pattern" "$LOAD" <<'PY' || exit 1
import sys
exec(sys.argv[4])
assert st["frames_presented"] == 10 and st["crc_mismatches"] == 0, st
# glxgears: a red gear lower left, a green one right, a blue one on top.
def count(x0, y0, x1, y1, pred):
    return sum(1 for y in range(y0, y1) for x in range(x0, x1) if pred(img.pixel(x, y)))
red = count(0, 150, 150, 300, lambda p: p[0] > 120 and p[1] < 60 and p[2] < 60)
green = count(150, 100, 300, 250, lambda p: p[1] > 120 and p[0] < 60 and p[2] < 60)
blue = count(50, 0, 200, 120, lambda p: p[2] > 120 and p[0] < 60 and p[1] < 60)
print("glxgears through gpu-server: red %d green %d blue %d pixels where the gears belong; latency p50 %s ms"
      % (red, green, blue, st["latency_ms"]["p50"]))
if min(red, green, blue) < 500:
    sys.exit("FAIL: the gears are not where glxgears draws them")
PY
fi
echo PASS
