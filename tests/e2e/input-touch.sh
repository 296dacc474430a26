#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The panel's input reaches the right guest, as evdev events inside it.
# Zone z (640x480) shows guest g on its left half and guest h on its right
# half. g is a real QEMU guest with gpu-server's vhost-user-input device
# (-device vhost-user-input-pci) running input-check, which prints every
# evdev event of the "virtio-zonal input" device. zone-client -b wayland,
# fullscreen on weston's headless backend (which has no input devices of
# its own), injects through its input path, as the panel's user: a touch on g's half dragged towards h's and
# lifted, a touch on h's half, a key (focus: h, touched last), then a tap on
# g's half and a key (focus: g). g must see exactly its two touches (in its
# own scanout coordinates, 0..32767 over its layer) and the second key: not
# h's touch, not the key meant for h.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/guest-lib.sh"
command -v qemu-system-x86_64 >/dev/null 2>&1 || gl_skip "qemu-system-x86_64 not installed"
[ -x "$GL_BUILD/guest/input-check" ] || gl_skip "guest app input-check not built"
GL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/zonal-input.XXXXXX")
trap gl_cleanup EXIT
trap 'exit 1' INT TERM
T=$GL_TMP
BACKEND=headless
if command -v weston >/dev/null && "$GL_BUILD/zone-client/zone-client" --help | grep -q wayland; then
	BACKEND=wayland
	export XDG_RUNTIME_DIR=$T/xdg WAYLAND_DISPLAY=wayland-zonal
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	weston --backend=headless-backend.so --use-pixman --width=640 --height=480 \
		--socket="$WAYLAND_DISPLAY" --idle-time=0 --no-config >"$T/weston.log" 2>&1 &
	GL_PIDS+=($!)
	for _ in $(seq 300); do [ -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" ] && break; sleep 0.1; done
	[ -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" ] || gl_fail "weston did not start"
fi
echo "zone-client -b $BACKEND"

cat >"$T/gs.ini" <<EOT
[server]
control=127.0.0.1:0
[guest g]
vhost-user=$T/gpu-g.sock
input=$T/input-g.sock
[guest h]
vhost-user=$T/gpu-h.sock
input=$T/input-h.sock
[zone z]
mode=640x480@30
layer=g:0 0,0 320x480
layer=h:0 320,0 320x480
EOT
ZONAL_DEBUG=input "$GL_BUILD/gpu-server/gpu-server" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
GL_PIDS+=($!)
for _ in $(seq 300); do [ -S "$T/input-g.sock" ] && break; sleep 0.1; done
[ -S "$T/input-g.sock" ] || gl_fail "gpu-server did not start"
PORT=$(gl_server_port "$T/gpu-server.log")

# 18 events expected in g (see below); 120 s at most.
gl_start_vm --gpu virtio-gpu-pci --input "$T/input-g.sock" --app input-check --app-args "18 120"
gl_wait_console "zonal-guest: userspace up" "$GL_BOOT_TIMEOUT"
gl_wait_console "input-check: device " 60
grep "input-check: device" "$T/console.log"
grep -q "guest g: input device connected" "$T/gpu-server.log" || gl_fail "QEMU did not connect the input device"

"$GL_BUILD/zone-client/zone-client" -s "127.0.0.1:$PORT" -z z -b $BACKEND -n 1000000 --stats "$T/stats.json" \
	--inject "down:160,240;move:200,240;up;down:480,100;up;key:30;down:100,100;up;key:31" \
	-v >"$T/zone-client.log" 2>&1 &
zc=$!
GL_PIDS+=($zc)
for _ in $(seq 600); do
	grep -q "zonal-guest: app input-check exited" "$T/console.log" && break
	kill -0 "$GL_VM_PID" 2>/dev/null || gl_fail "QEMU exited"
	sleep 0.2
done
grep -q "zonal-guest: app input-check exited with status 0" "$T/console.log" ||
	gl_fail "input-check did not get its 18 events"
sleep 1 # anything more that arrives is an error too
kill -TERM $zc
wait $zc || gl_fail "zone-client exited with $?"

python3 - "$T/console.log" "$T/gpu-server.log" <<'PY' || gl_fail "events"
import re, sys
got = [tuple(int(v) for v in m) for m in
       re.findall(r"input-check: event type (\d+) code (\d+) value (-?\d+)", open(sys.argv[1]).read())]
MAX = 32767
def nx(px, w=320):  # zone x in g's layer (0..319) to g's 0..MAX, as gpu-server maps it
    return px * 256 * MAX // (w * 256 - 256)
def ny(py, h=480):
    return py * 256 * MAX // (h * 256 - 256)
EV_SYN, EV_KEY, EV_ABS, ABS_X, ABS_Y, BTN_TOUCH = 0, 1, 3, 0, 1, 330
syn = (EV_SYN, 0, 0)
want = [
    # touch on g at 160,240 ...
    (EV_ABS, ABS_X, nx(160)), (EV_ABS, ABS_Y, ny(240)), (EV_KEY, BTN_TOUCH, 1), syn,
    # ... dragged to 200,240 (y unchanged: evdev sends only x) ...
    (EV_ABS, ABS_X, nx(200)), syn,
    # ... lifted there
    (EV_KEY, BTN_TOUCH, 0), syn,
    # (h's touch and the key meant for h: nothing here)
    # tap on g at 100,100, then key 31 (focus g)
    (EV_ABS, ABS_X, nx(100)), (EV_ABS, ABS_Y, ny(100)), (EV_KEY, BTN_TOUCH, 1), syn,
    (EV_KEY, BTN_TOUCH, 0), syn,
    (EV_KEY, 31, 1), syn, (EV_KEY, 31, 0), syn,
]
print("guest g got %d events" % len(got))
if got != want:
    print("FAIL: got  %s\n      want %s" % (got, want))
    sys.exit(1)
log = open(sys.argv[2]).read()
if "-> guest h" not in log:
    print("FAIL: the server never routed h's touch to h")
    sys.exit(1)
print("g saw exactly its touches (x %d -> %d, y %d) and its key; h's touch and key went to h"
      % (nx(160), nx(200), ny(240)))
PY
echo PASS
