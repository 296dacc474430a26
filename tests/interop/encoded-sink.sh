#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# codec=h264 and codec=jpeg with sink=udp://: stock GStreamer receivers
# (rtph264depay ! avdec_h264, rtpjpegdepay ! jpegdec) play the zone. The
# codecs are lossy, so frames are compared with the source's within a
# tolerance: the last decoded frame must be the source's final one (every
# channel within 12 of it over 99 % of the pixels), and the moving block of
# the frames before must be where the source drew it.
# Usage: encoded-sink.sh GPU_SERVER CODEC
set -euo pipefail
GS=$1 CODEC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
command -v gst-launch-1.0 >/dev/null || { echo "SKIP: no gst-launch-1.0"; exit 77; }
case $CODEC in
h264) DEC="rtph264depay ! avdec_h264"; CAPS="encoding-name=H264,payload=96"; NEED="avdec_h264 x264enc" ;;
jpeg) DEC="rtpjpegdepay ! jpegdec"; CAPS="encoding-name=JPEG,payload=26"; NEED="jpegdec jpegenc" ;;
*) echo "codec?"; exit 2 ;;
esac
for e in $NEED; do gst-inspect-1.0 "$e" >/dev/null 2>&1 || { echo "SKIP: no $e"; exit 77; }; done
LIB_NAME=$CODEC
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
codec=$CODEC
sink=udp://127.0.0.1:$PORT
max-bitrate=4000
EOT
mkdir "$T/frames"
# shellcheck disable=SC2086
gst-launch-1.0 -e udpsrc port="$PORT" buffer-size=8000000 \
	caps="application/x-rtp,media=video,clock-rate=90000,$CAPS" ! $DEC ! videoconvert ! \
	video/x-raw,format=RGB ! multifilesink location="$T/frames/f-%05d.rgb" >"$T/gst.log" 2>&1 &
gst=$!
pids+=($gst)
"$GS" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
gs=$!
pids+=($gs)
for _ in $(seq 100); do [ -S "$T/vtest.sock" ] && break; sleep 0.1; done
[ -S "$T/vtest.sock" ] || { grep -q "vtest is off" "$T/gpu-server.log" && { echo "SKIP: no renderer"; exit 77; }; fail "gpu-server"; }
grep -q "zone z: sink: " "$T/gpu-server.log" || fail "no $CODEC sink"
wait_for 30 udp_bound "$PORT" || fail "the GStreamer receiver did not bind UDP $PORT"
timeout 60 python3 "$HERE/../impair/zone-source.py" "$T/vtest.sock" --size "${W}x${H}" \
	--frames 90 >"$T/source.log" 2>&1 || fail "zone-source failed"
wait_for 10 files_settled "$T/frames" || true # then the check says what is missing
kill -INT $gst
wait $gst || true
kill -TERM $gs
wait $gs || fail "gpu-server exited with $?"
pids=()
python3 - "$T/frames" $W $H <<'PY' || fail "frame check"
import os, sys
d, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files = sorted(os.listdir(d))
if len(files) < 45:
    sys.exit("only %d frames decoded" % len(files))
final = bytes((0x3c, 0x5a, 0x78))
last = open(os.path.join(d, files[-1]), "rb").read()
if len(last) != w * h * 3:
    sys.exit("frame of %d bytes" % len(last))
near = sum(1 for i in range(0, len(last), 3)
           if all(abs(last[i + c] - final[c]) <= 12 for c in range(3)))
if near < 0.99 * w * h:
    sys.exit("last frame: only %d of %d pixels near the final colour" % (near, w * h))
# In the frames before, the source's block (32x32, drawn over a gradient)
# shows where its blue differs clearly from the gradient's 0x40 (frames
# whose block happens to be blue-ish do not count).
blocks = 0
for name in files[:-1]:
    f = open(os.path.join(d, name), "rb").read()
    row = [f[(8 * w + x) * 3 + 2] for x in range(w)]  # blue channel, row 8
    if any(abs(b - 0x40) > 40 for b in row):
        blocks += 1
print("%d frames decoded by GStreamer; the last is the source's final one (%.1f %% of "
      "pixels within 12); the block stands out of the gradient in %d" %
      (len(files), 100.0 * near / (w * h), blocks))
if blocks < 20:
    sys.exit("the source's block is missing from the frames")
PY
echo PASS
