#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# codec=raw with sink=udp://: a stock GStreamer receiver (udpsrc !
# rtpvrawdepay) plays the zone, no control session. The frame source is a
# vtest client (tests/impair/zone-source.py); every frame GStreamer hands
# over must be one of the source's frames, bit for bit (or the black one
# before the source started), and the last one its final frame.
# Usage: raw-sink.sh GPU_SERVER
set -euo pipefail
GS=$1
HERE=$(cd "$(dirname "$0")" && pwd)
command -v gst-launch-1.0 >/dev/null || { echo "SKIP: no gst-launch-1.0 (gstreamer1.0-tools)"; exit 77; }
gst-inspect-1.0 rtpvrawdepay >/dev/null 2>&1 || { echo "SKIP: no rtpvrawdepay (gstreamer1.0-plugins-good)"; exit 77; }
LIB_NAME=raw
. "$HERE/../impair/test-lib.sh"
W=256 H=128
PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CPORT=$(free_port)
cat >"$T/gs.ini" <<EOT
[server]
control=127.0.0.1:$CPORT
vtest=$T/vtest.sock
[guest src]
vtest-app=zone-source
[zone z]
mode=${W}x${H}@60
layer=src:0 0,0 ${W}x${H}
codec=raw
sink=udp://127.0.0.1:$PORT
EOT
mkdir "$T/frames"
gst-launch-1.0 -e udpsrc port="$PORT" buffer-size=8000000 \
	caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,sampling=RGB,depth=(string)8,width=(string)$W,height=(string)$H,colorimetry=(string)SMPTE240M,payload=96" \
	! rtpvrawdepay ! video/x-raw,format=RGB ! multifilesink location="$T/frames/f-%05d.rgb" \
	>"$T/gst.log" 2>&1 &
gst=$!
pids+=($gst)
"$GS" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
gs=$!
pids+=($gs)
for _ in $(seq 100); do [ -S "$T/vtest.sock" ] && break; sleep 0.1; done
if [ ! -S "$T/vtest.sock" ]; then
	grep -q "vtest is off" "$T/gpu-server.log" && { echo "SKIP: no renderer here"; exit 77; }
	fail "gpu-server did not start"
fi
wait_for 30 udp_bound "$PORT" || fail "the GStreamer receiver did not bind UDP $PORT"
timeout 60 python3 "$HERE/../impair/zone-source.py" "$T/vtest.sock" --size "${W}x${H}" \
	--frames 90 >"$T/source.log" 2>&1 || fail "zone-source failed"
wait_for 10 files_settled "$T/frames" || true # then the check says what is missing
kill -INT $gst
wait $gst || true
kill -TERM $gs
wait $gs || fail "gpu-server exited with $?"
pids=()
grep -q "sink: RFC 4175 RGB ${W}x${H}" "$T/gpu-server.log" || fail "no sink"

python3 - "$T/frames" $W $H <<'PY' || fail "frame check"
import os, struct, sys
d, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def xrgb_to_rgb(v):
    return bytes(((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff))
# The source's frames, as tests/impair/zone-source.py draws them.
bg = bytearray()
for y in range(h):
    for x in range(w):
        bg += xrgb_to_rgb((x * 255 // w) << 16 | (y * 255 // h) << 8 | 0x40)
def frame(k, last):
    if last:
        return xrgb_to_rgb(0x3c5a78) * (w * h)
    f = bytearray(bg)
    bx = (4 * k) % (w - 32)
    c = xrgb_to_rgb(((k * 37) & 0xff) << 16 | ((k * 91) & 0xff) << 8 | (k & 0xff))
    for y in range(min(32, h)):
        o = (y * w + bx) * 3
        f[o:o + 32 * 3] = c * 32
    return bytes(f)
known = {frame(k, False): k for k in range(89)}
known[frame(89, True)] = "final"
known[bytes(w * h * 3)] = "black"
files = sorted(os.listdir(d))
seen = []
for name in files:
    data = open(os.path.join(d, name), "rb").read()
    if data not in known:
        sys.exit("%s: not a frame of the source (%d bytes)" % (name, len(data)))
    seen.append(known[data])
numbered = [k for k in seen if isinstance(k, int)]
print("GStreamer gave %d frames: %d distinct source frames, first %s, last %s" %
      (len(seen), len(set(numbered)), seen[0] if seen else None, seen[-1] if seen else None))
if len(set(numbered)) < 60:
    sys.exit("only %d of 89 source frames arrived" % len(set(numbered)))
if numbered != sorted(numbered):
    sys.exit("frames out of order")
if seen[-1] != "final":
    sys.exit("the last frame is not the source's last")
PY
echo PASS
