#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zone-client -b drm on a real KMS device: inside a tools/guest-vm guest
# whose panel is QEMU's own virtio-gpu-pci (640x480), zone-client receives a
# 320x240 zone from a gpu-server on the host (QEMU user networking: the host
# is 10.0.2.2; media come back through a forwarded UDP port, --advertise)
# and scans it out with atomic page flips. The host fed the zone from a
# vtest frame source (zone-source.py) that holds frame PAUSE_AT for a while;
# QEMU's screendump of the guest's display, taken then, must show that frame
# scaled 2x (the moving block where it belongs, in its colour; the gradient).
# Then the panel's input: QEMU's virtio tablet and keyboard in the guest are
# the panel's devices; zone-client reads them with libinput and sends them to
# gpu-server, which must route them at the right zone coordinates.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/guest-lib.sh"
command -v qemu-system-x86_64 >/dev/null 2>&1 || gl_skip "qemu-system-x86_64 not installed"
[ -x "$GL_BUILD/zone-client/zone-client" ] || gl_skip "zone-client not built"
"$GL_BUILD/zone-client/zone-client" --help | grep -q "drm" || gl_skip "zone-client without -b drm"
GL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/zonal-drm-panel.XXXXXX")
trap gl_cleanup EXIT
trap 'exit 1' INT TERM
T=$GL_TMP
ZW=320 ZH=240 PAUSE_AT=30
free_port() { python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_${1:-STREAM}); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
HOST_UDP=$(free_port DGRAM)

cat >"$T/gs.ini" <<EOT
[server]
control=127.0.0.1:0
vtest=$T/vtest.sock
; the guest's media arrive through QEMU's NAT: it says where (no key here)
advertise=open
[guest src]
vtest-app=zone-source
[zone z]
mode=${ZW}x${ZH}@30
layer=src:0 0,0 ${ZW}x$ZH
EOT
ZONAL_DEBUG=input "$GL_BUILD/gpu-server/gpu-server" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
GL_PIDS+=($!)
for _ in $(seq 300); do [ -S "$T/vtest.sock" ] && break; sleep 0.1; done
[ -S "$T/vtest.sock" ] || { grep -q "vtest is off" "$T/gpu-server.log" && gl_skip "no renderer"; gl_fail "gpu-server did not start"; }
PORT=$(gl_server_port "$T/gpu-server.log")

# zone-client in the guest: the panel is QEMU's virtio-gpu; UDP 5004 in the
# guest is HOST_UDP on the host's loopback.
gl_start_vm --gpu virtio-gpu-pci --res 640x480 --app zone-client \
	--app-args "-s 10.0.2.2:$PORT -z z -b drm --connector Virtual-1 --media-port 5004 --advertise 127.0.0.1:$HOST_UDP -v" \
	--qemu-arg=-netdev --qemu-arg="user,id=n0,hostfwd=udp:127.0.0.1:$HOST_UDP-:5004" \
	--qemu-arg=-device --qemu-arg=virtio-net-pci,netdev=n0 \
	--qemu-arg=-device --qemu-arg=virtio-tablet-pci --qemu-arg=-device --qemu-arg=virtio-keyboard-pci
gl_wait_console "zonal-guest: userspace up" "$GL_BOOT_TIMEOUT"
gl_wait_console "zonal-guest: network up" 60
gl_wait_console "drm: Virtual-1 640x480" 120
grep -E "drm: Virtual-1" "$T/console.log"
for _ in $(seq 600); do grep -q "client joined" "$T/gpu-server.log" && break; sleep 0.1; done
grep -q "client joined" "$T/gpu-server.log" || gl_fail "the guest's zone-client did not join"

python3 "$GL_REPO/tests/impair/zone-source.py" "$T/vtest.sock" --size "${ZW}x$ZH" --fps 30 \
	--frames 60 --pause-at $PAUSE_AT --pause 20 --log "$T/source.txt" >"$T/source.log" 2>&1 &
src=$!
GL_PIDS+=($src)
for _ in $(seq 600); do grep -q "^$PAUSE_AT " "$T/source.txt" 2>/dev/null && break; sleep 0.1; done
grep -q "^$PAUSE_AT " "$T/source.txt" || gl_fail "the source did not get to frame $PAUSE_AT"
# The guest (TCG) takes a moment to receive, flip and show it: try a few dumps.
ok=0
for i in $(seq 15); do
	sleep 1
	gl_screendump "$T/screen.png" png
	if python3 - "$T/screen.png" "$GL_REPO/tools" $ZW $ZH $PAUSE_AT <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from zonal_image import read_image
img = read_image(sys.argv[1])
W, H, k = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bx = (4 * k) % (W - 32)
block = ((k * 37) & 255, (k * 91) & 255, k & 255)
def near(a, b, tol):
    return all(abs(p - q) <= tol for p, q in zip(a, b))
bad = []
if (img.width, img.height) != (640, 480):
    bad.append("size %dx%d" % (img.width, img.height))
else:
    for sx, sy in [(bx + 4, 4), (bx + 16, 16), (bx + 28, 28)]:
        if not near(img.pixel(2 * sx, 2 * sy), block, 0):
            bad.append("block (%d,%d) %s want %s" % (2 * sx, 2 * sy, img.pixel(2 * sx, 2 * sy), block))
    for sx, sy in [(W - 20, 60), (10, H - 10), (W // 2, H // 2), (W - 5, H - 5)]:
        want = (sx * 255 // W, sy * 255 // H, 0x40)
        if not near(img.pixel(2 * sx, 2 * sy), want, 3):
            bad.append("gradient (%d,%d) %s want ~%s" % (2 * sx, 2 * sy, img.pixel(2 * sx, 2 * sy), want))
if bad:
    print("not yet: " + "; ".join(bad[:3]))
    sys.exit(1)
print("the guest's panel shows frame %d scaled 2x: block at x=%d in %s, gradient right" % (k, bx, block))
PY
	then ok=1; break; fi
done
[ $ok = 1 ] || gl_fail "the guest's scanout never showed frame $PAUSE_AT"
grep -q "zonal-guest: ERROR" "$T/console.log" && gl_fail "guest error"
# The panel's EDID (QEMU's virtio-gpu gives one) reached the server in HELLO.
grep -E 'zone z: panel ".*" \([A-Z?]{3} [0-9a-f]{4}\), [0-9]+x[0-9]+ mm, preferred 640x480' \
	"$T/gpu-server.log" || gl_fail "the panel's EDID did not reach gpu-server"

# The panel's input: a tablet click at (1/4, 1/2) of the panel, then the key A.
if grep -q "evdev: [1-9][0-9]* input device" "$T/console.log"; then
	python3 - "$T/qmp.sock" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if "error" in m:
            sys.exit("QMP %s: %s" % (name, m["error"]))
        if "return" in m:
            return
json.loads(f.readline())
cmd("qmp_capabilities")
abs_ev = lambda axis, v: {"type": "abs", "data": {"axis": axis, "value": v}}
btn = lambda down: {"type": "btn", "data": {"down": down, "button": "left"}}
key = lambda down: {"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": "a"}}}
cmd("input-send-event", events=[abs_ev("x", 8192), abs_ev("y", 16384)])
time.sleep(0.3)
cmd("input-send-event", events=[btn(True)])
time.sleep(0.3)
cmd("input-send-event", events=[btn(False)])
time.sleep(0.3)
cmd("input-send-event", events=[key(True)])
time.sleep(0.3)
cmd("input-send-event", events=[key(False)])
PY
	for _ in $(seq 100); do grep -q "event 6 at" "$T/gpu-server.log" && break; sleep 0.2; done
	python3 - "$T/gpu-server.log" <<'PY' || gl_fail "the panel's input did not arrive as sent"
import re, sys
log = open(sys.argv[1]).read()
ev = [(int(k), float(x), float(y), int(c), int(v)) for k, x, y, c, v in
      re.findall(r"zone z: event (\d+) at (-?[\d.]+),(-?[\d.]+) -> guest \S+ scanout \d+ \(\d+,\d+\) code (\d+) (\d+)", log)]
print("server got:", ev)
moves = [e for e in ev if e[0] == 4]
buttons = [(e[3], e[4]) for e in ev if e[0] == 5]
keys = [(e[3], e[4]) for e in ev if e[0] == 6]
ok = moves and abs(moves[-1][1] - 80) <= 1 and abs(moves[-1][2] - 120) <= 1
ok = ok and buttons == [(0x110, 1), (0x110, 0)] and keys == [(30, 1), (30, 0)]
if not ok:
    sys.exit("FAIL: want a move to ~80,120, BTN_LEFT press/release, KEY_A press/release")
print("the panel's tablet and keyboard reached gpu-server: move to %.1f,%.1f, click, key A" %
      moves[-1][1:3])
PY
else
	grep -E "evdev|input device" "$T/console.log" || true
	gl_fail "zone-client found no input device in the guest"
fi
echo PASS
