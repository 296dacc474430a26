#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The production path: a Linux guest on vhost-user-gpu-pci served by
# gpu-server, QEMU with its D-Bus display, gs_qemu_ui (qemu-ui-ctl) asking for
# VIRTIO_GPU_EVENT_DISPLAY. The guest must take the event and fetch display
# info again, now from gpu-server's device model: its DRM debug log shows one
# more "output 0: ..." answer, and the connector keeps the mode the layer
# offers (nothing in gpu-server changed it).
. "$(dirname "$0")/lib-hotplug.sh"

hp_init
server=$HP_BUILD/gpu-server/gpu-server
[ -x "$server" ] || skip "gpu-server not built"
hp_has_display dbus || skip "QEMU has no D-Bus display (package qemu-system-modules-opengl)"
hp_prepare_guest

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$HP_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:$port

[guest g0]
vhost-user=$HP_TMP/g0.sock
; QEMU's D-Bus display refuses a virgl device without a GL context (a DRM
; render node), which this machine lacks: the guest is 2D here.
gl=off

[zone z]
mode=1024x600@60
layer=g0:0 0,0 1024x600
INI
"$server" -c "$HP_TMP/zonal.ini" >"$HP_TMP/gpu-server.log" 2>&1 &
HP_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
	grep -q 'gpu-server ready' "$HP_TMP/gpu-server.log" && break
	sleep 0.1
done
grep -q 'gpu-server ready' "$HP_TMP/gpu-server.log" || die "gpu-server did not start"

HP_APPEND="loglevel=8 zonal.drmdebug=1" hp_start_qemu guest \
	-machine q35,memory-backend=mem -object memory-backend-memfd,id=mem,size=256M,share=on \
	-chardev "socket,id=gpu,path=$HP_TMP/g0.sock" \
	-device vhost-user-gpu-pci,chardev=gpu,max_outputs=1 \
	-display dbus,p2p=yes -qmp "unix:$HP_TMP/qmp.sock,server=on,wait=off"
hp_wait_state "Virtual-1=connected:1024x600" 180

answers() { tr -d '\r' <"$HP_LOG" | grep -c 'get_display_info_cb.*output 0:' || true; }
qmp="qmp:$HP_TMP/qmp.sock"
for step in 0:1024x600 0:off; do
	before=$(answers)
	t0=$(now_ms)
	"$HP_CTL" -t 30 "$qmp" "$step" >>"$HP_TMP/ctl.log" 2>&1 || die "qemu-ui-ctl $step failed"
	for ((i = 0; i < 300; i++)); do
		[ "$(answers)" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(answers)" -gt "$before" ] || die "the guest did not fetch display info after $step"
	echo "$step: the guest asked gpu-server for display info again after $(($(now_ms) - t0)) ms:" \
		"$(tr -d '\r' <"$HP_LOG" | grep 'get_display_info_cb.*output 0:' | tail -n 1 | sed 's/.*\] //')"
	# gpu-server's model still offers the layer: QEMU's size is only a trigger.
	[ "$(hp_state)" = "Virtual-1=connected:1024x600" ] || die "connector is '$(hp_state)'"
done
echo "PASS"
